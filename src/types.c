/* types: column types, and text turned into typed BSON values: type specs
 * ("int32()", "date(2006-01-02)"), inference for untyped values, booleans,
 * numbers, binary (hex, base64). Date layouts and the date parser are in
 * types_date.c. */
#include "loader/types.h"
#include "loader/error.h"
#include "loader/util.h"
#include "types_date.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Oracle's TO_DATE format elements and the Go layout elements mongoimport
 * turns them into (its dateconv.FromOracle): the format is upper-cased,
 * then at each position the first of these that matches, in this order,
 * is replaced; any other byte stays as it is, and the result is read as a
 * Go layout. */
static const char *const types__oracle_words[][2] = {
    {"AM", "PM"},     {"DAY", "Monday"},     {"DY", "Mon"},
    {"DD", "02"},     {"HH12", "03"},        {"HH24", "15"},
    {"HH", "03"},     {"MI", "04"},          {"MONTH", "January"},
    {"MON", "Jan"},   {"MM", "01"},          {"SS", "05"},
    {"TZD", "MST"},   {"TZH:TZM", "-07:00"}, {"TZH", "-07"},
    {"YYYY", "2006"}, {"YY", "06"},
};

/* Compiles date_oracle(FORMAT): FORMAT rewritten into a Go layout as
 * mongoimport rewrites it, then compiled as date() compiles one. */
static bool types__oracle(types_type_t *type, const char *arg, size_t len,
                          bson_error_t *error)
{
  char upper[256], layout[512];
  size_t n = 0;
  if (len >= sizeof upper) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "date layout too long");
    return false;
  }
  for (size_t i = 0; i < len; i++)
    upper[i] = arg[i] >= 'a' && arg[i] <= 'z' ? (char)(arg[i] - 32) : arg[i];
  for (size_t i = 0; i < len;) {
    size_t w,
        n_words = sizeof types__oracle_words / sizeof *types__oracle_words;
    for (w = 0; w < n_words; w++) {
      size_t k = strlen(types__oracle_words[w][0]);
      if (len - i >= k && memcmp(upper + i, types__oracle_words[w][0], k) == 0)
        break;
    }
    const char *out = w < n_words ? types__oracle_words[w][1] : upper + i;
    size_t out_len = w < n_words ? strlen(out) : 1;
    memcpy(layout + n, out, out_len); /* at most 2 bytes out per byte in */
    n += out_len;
    i += w < n_words ? strlen(types__oracle_words[w][0]) : 1;
  }
  return types_date_compile(type, false, layout, n, error);
}

bool types_parse(const char *spec, size_t len, types_type_t *type,
                 bson_error_t *error)
{
  memset(type, 0, sizeof *type);
  const char *open = memchr(spec, '(', len);
  if (!open || spec[len - 1] != ')') {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "type \"%.*s\": expected NAME(ARG), e.g. int32()", (int)len,
                   spec);
    return false;
  }
  size_t name_len = (size_t)(open - spec);
  const char *arg = open + 1;
  size_t arg_len = len - name_len - 2;
  static const struct {
    const char *name;  /* as written */
    types_kind_t kind; /* what it is */
  } names[] = {
      {"auto", TYPES_AUTO},        {"string", TYPES_STRING},
      {"int32", TYPES_INT32},      {"int64", TYPES_INT64},
      {"double", TYPES_DOUBLE},    {"decimal", TYPES_DECIMAL},
      {"boolean", TYPES_BOOLEAN},  {"date", TYPES_DATE},
      {"date_go", TYPES_DATE},     {"date_ms", TYPES_DATE},
      {"date_oracle", TYPES_DATE}, {"binary", TYPES_BINARY_HEX},
  };
  size_t k;
  for (k = 0; k < sizeof names / sizeof names[0]; k++)
    if (strlen(names[k].name) == name_len &&
        memcmp(names[k].name, spec, name_len) == 0)
      break;
  if (k == sizeof names / sizeof names[0]) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "unknown type \"%.*s\" (known: auto, string, int32, "
                   "int64, double, decimal, boolean, date, date_go, "
                   "date_ms, date_oracle, binary)",
                   (int)name_len, spec);
    return false;
  }
  type->kind = names[k].kind;
  if (type->kind == TYPES_DATE) {
    if (arg_len == 0) {
      bool oracle = name_len == 11 && memcmp(spec, "date_oracle", 11) == 0;
      bool ms = name_len == 7 && memcmp(spec, "date_ms", 7) == 0;
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "%.*s() needs a layout, e.g. %.*s(%s)", (int)name_len,
                     spec, (int)name_len, spec,
                     oracle ? "YYYY-MM-DD"
                     : ms   ? "yyyy-MM-dd"
                            : "2006-01-02");
      return false;
    }
    if (name_len == 11 && memcmp(spec, "date_oracle", 11) == 0)
      return types__oracle(type, arg, arg_len, error);
    bool java = name_len == 7 && memcmp(spec, "date_ms", 7) == 0;
    return types_date_compile(type, java, arg, arg_len, error);
  }
  if (type->kind == TYPES_BINARY_HEX) {
    if (arg_len == 6 && memcmp(arg, "base64", 6) == 0)
      type->kind = TYPES_BINARY_BASE64;
    else if (arg_len == 6 && memcmp(arg, "base32", 6) == 0)
      type->kind = TYPES_BINARY_BASE32;
    else if (!(arg_len == 3 && memcmp(arg, "hex", 3) == 0)) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "binary() takes hex, base64 or base32, not \"%.*s\"",
                     (int)arg_len, arg);
      return false;
    }
    return true;
  }
  if (arg_len != 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "type %.*s() takes no argument", (int)name_len, spec);
    return false;
  }
  return true;
}

bool types_split_suffix(const char *name, size_t len, size_t *base_len,
                        const char **spec, size_t *spec_len)
{
  if (len < 4 || name[len - 1] != ')')
    return false;
  /* The suffix is ".NAME(" followed by anything up to the final ')'; the
   * argument (a layout) may itself hold dots and parentheses, so look for
   * the first ".NAME(" whose NAME is a word. */
  for (size_t i = 0; i < len; i++) {
    if (name[i] != '.')
      continue;
    size_t j = i + 1;
    while (j < len && ((name[j] >= 'a' && name[j] <= 'z') ||
                       (name[j] >= '0' && name[j] <= '9') || name[j] == '_'))
      j++;
    if (j > i + 1 && j < len && name[j] == '(') {
      *base_len = i;
      *spec = name + i + 1;
      *spec_len = len - i - 1;
      return true;
    }
  }
  return false;
}

static bool types__append_mongoimport(bson_t *doc, const char *key, int klen,
                                      const char *s, size_t len);

/* Go's strconv.ParseBool. */
static int types__bool(const char *s, size_t len)
{
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (strlen(yes[i]) == len && memcmp(s, yes[i], len) == 0)
      return 1;
    if (strlen(no[i]) == len && memcmp(s, no[i], len) == 0)
      return 0;
  }
  return -1;
}

static bool types__grow(types_scratch_t *sc, size_t need)
{
  if (need <= sc->cap)
    return true;
  uint8_t *p = realloc(sc->buf, need);
  if (!p)
    return false;
  sc->buf = p;
  sc->cap = need;
  return true;
}

static int types__b64(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

/* Decodes hex or base64 into sc; returns the length or -1. */
static long types__decode(const types_type_t *t, const char *s, size_t len,
                          types_scratch_t *sc)
{
  if (!types__grow(sc, len + 1))
    return -1;
  size_t n = 0;
  if (t->kind == TYPES_BINARY_HEX) {
    if (len % 2)
      return -1;
    for (size_t i = 0; i < len; i += 2) {
      if (!util_hex_pair(s + i, &sc->buf[n++]))
        return -1;
    }
    return (long)n;
  }
  while (len > 0 && s[len - 1] == '=')
    len--;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = types__b64(s[i]);
    if (v < 0)
      return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      sc->buf[n++] = (uint8_t)(acc >> bits);
    }
  }
  if (bits >= 6)
    return -1;
  return (long)n;
}

/* Decodes base32 as Go's base32.StdEncoding.DecodeString() does (what
 * mongoimport's binary(base32) calls): line breaks are dropped first; the
 * alphabet is A-Z 2-7, upper case only; the text comes in blocks of 8
 * characters, the last one padded with '=' to 8, and only 2, 4, 5 or 7
 * data characters may precede the padding; whatever follows the padded
 * block's 8 characters is ignored, as Go ignores it. Returns the length
 * decoded into sc, or -1. */
static long types__base32(const char *s, size_t len, types_scratch_t *sc)
{
  if (!types__grow(sc, len + 1))
    return -1;
  char *in = (char *)sc->buf; /* the text without line breaks, then the
                                 bytes decoded over it: they never overtake
                                 (5 bytes from each 8 characters) */
  size_t n_in = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] != '\r' && s[i] != '\n')
      in[n_in++] = s[i];
  size_t at = 0, out = 0;
  bool end = false;
  while (at < n_in && !end) {
    uint8_t v[8] = {0};
    size_t dlen = 8;
    for (size_t j = 0; j < 8;) {
      if (at == n_in)
        return -1; /* the last block is short of its padding */
      char c = in[at++];
      size_t left = n_in - at;
      if (c == '=' && j >= 2 && left < 8) {
        if (left + j < 7)
          return -1; /* not enough padding */
        for (size_t k = 0; k < 7 - j; k++)
          if (k < left && in[at + k] != '=')
            return -1;
        dlen = j;
        end = true;
        if (dlen == 1 || dlen == 3 || dlen == 6)
          return -1;
        break;
      }
      if (c >= 'A' && c <= 'Z')
        v[j] = (uint8_t)(c - 'A');
      else if (c >= '2' && c <= '7')
        v[j] = (uint8_t)(c - '2' + 26);
      else
        return -1;
      j++;
    }
    uint8_t b[5] = {
        (uint8_t)(v[0] << 3 | v[1] >> 2),
        (uint8_t)(v[1] << 6 | v[2] << 1 | v[3] >> 4),
        (uint8_t)(v[3] << 4 | v[4] >> 1),
        (uint8_t)(v[4] << 7 | v[5] << 2 | v[6] >> 3),
        (uint8_t)(v[6] << 5 | v[7]),
    };
    static const uint8_t bytes_of[9] = {0, 0, 1, 0, 2, 3, 0, 4, 5};
    for (size_t k = 0; k < bytes_of[dlen]; k++)
      sc->buf[out++] = b[k];
  }
  return (long)out;
}

bool types_append(bson_t *doc, const char *key, int key_len,
                  const types_type_t *t, const char *s, size_t len,
                  types_scratch_t *sc, char *why, size_t cap, bool *too_large)
{
  bool ok;
  *too_large = false;
  switch (t->kind) {
  case TYPES_AUTO:
    ok = types_append_inferred(doc, key, key_len, s, len);
    break;
  case TYPES_STRING:
    ok = bson_append_utf8(doc, key, key_len, s, (int)len);
    break;
  case TYPES_AUTO_MONGOIMPORT:
    ok = types__append_mongoimport(doc, key, key_len, s, len);
    break;
  case TYPES_INT32:
  case TYPES_INT64: {
    /* mongoimport's strconv.ParseInt(s, 10, 32 or 64): "+5" and "007" are
     * numbers; spaces, "1e3" and a value out of range are not. */
    int64_t v;
    if (!types_go_int(s, len, &v) ||
        (t->kind == TYPES_INT32 && (v < INT32_MIN || v > INT32_MAX))) {
      snprintf(why, cap, "\"%.*s\" is not an %s", (int)(len > 64 ? 64 : len), s,
               t->kind == TYPES_INT32 ? "int32" : "int64");
      return false;
    }
    ok = t->kind == TYPES_INT32
             ? bson_append_int32(doc, key, key_len, (int32_t)v)
             : bson_append_int64(doc, key, key_len, (int64_t)v);
    break;
  }
  case TYPES_DOUBLE: {
    double d;
    if (!types_go_float(s, len, &d)) {
      snprintf(why, cap, "\"%.*s\" is not a double", (int)(len > 64 ? 64 : len),
               s);
      return false;
    }
    ok = bson_append_double(doc, key, key_len, d);
    break;
  }
  case TYPES_DECIMAL: {
    bson_decimal128_t dec;
    if (!bson_decimal128_from_string_w_len(s, (int)len, &dec)) {
      snprintf(why, cap, "\"%.*s\" is not a decimal",
               (int)(len > 64 ? 64 : len), s);
      return false;
    }
    ok = bson_append_decimal128(doc, key, key_len, &dec);
    break;
  }
  case TYPES_BOOLEAN: {
    int b = types__bool(s, len);
    if (b < 0) {
      snprintf(why, cap, "\"%.*s\" is not a boolean",
               (int)(len > 64 ? 64 : len), s);
      return false;
    }
    ok = bson_append_bool(doc, key, key_len, b == 1);
    break;
  }
  case TYPES_DATE: {
    int64_t ms;
    if (!types_parse_date(t, s, len, &ms)) {
      snprintf(why, cap, "\"%.*s\" does not match the date layout",
               (int)(len > 64 ? 64 : len), s);
      return false;
    }
    ok = bson_append_date_time(doc, key, key_len, ms);
    break;
  }
  case TYPES_BINARY_HEX:
  case TYPES_BINARY_BASE64:
  case TYPES_BINARY_BASE32: {
    long n = t->kind == TYPES_BINARY_BASE32 ? types__base32(s, len, sc)
                                            : types__decode(t, s, len, sc);
    if (n < 0) {
      snprintf(why, cap, "\"%.*s\" is not %s", (int)(len > 64 ? 64 : len), s,
               t->kind == TYPES_BINARY_HEX      ? "hex"
               : t->kind == TYPES_BINARY_BASE64 ? "base64"
                                                : "base32");
      return false;
    }
    ok = bson_append_binary(doc, key, key_len, BSON_SUBTYPE_BINARY, sc->buf,
                            (uint32_t)n);
    break;
  }
  default:
    ok = false;
  }
  if (!ok) {
    *too_large = true;
    snprintf(why, cap, "document exceeds the maximum BSON size");
  }
  return ok;
}

/* Returns true when s[0..len) is a canonical decimal integer: an optional
 * '-', then "0" or a digit 1-9 followed by digits. "007", "+7" and "-0" are
 * not: they would not survive a round trip, so they stay strings. */
static bool types__canonical_int(const char *s, size_t len)
{
  size_t i = 0;
  if (i < len && s[i] == '-')
    i++;
  if (i == len)
    return false;
  if (s[i] == '0')
    return i + 1 == len && i == 0;
  for (; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* Returns true when s[0..len) is -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? with a
 * fraction or an exponent, with its value in *out. The digits are gathered
 * in the same pass: at most 15 significant digits and a power of ten up to
 * 22 are both exact doubles, so one multiplication or division rounds
 * correctly, as strtod() would (Clinger's fast path); other values go
 * through strtod(). */
static bool types__decimal(const char *s, size_t len, double *out)
{
  static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  size_t i = 0;
  bool neg = i < len && s[i] == '-';
  i += neg;
  if (i == len || s[i] < '0' || s[i] > '9')
    return false;
  if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
    return false;
  uint64_t mant = 0; /* wraps past 19 digits, but is then not used */
  int digits = 0, exp10 = 0;
  bool frac_or_exp = false, slow = false;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
    mant = mant * 10 + (uint64_t)(s[i] - '0');
  if (i < len && s[i] == '.') {
    size_t first = ++i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++, exp10--)
      mant = mant * 10 + (uint64_t)(s[i] - '0');
    if (i == first)
      return false;
    frac_or_exp = true;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = i < len && s[i] == '-';
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t first = i;
    int e = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      if (e > 1000)
        slow = true; /* far beyond the fast path: strtod() says */
      else
        e = e * 10 + (s[i] - '0');
    }
    if (i == first)
      return false;
    exp10 += eneg ? -e : e;
    frac_or_exp = true;
  }
  if (i != len || !frac_or_exp)
    return false;
  if (slow || digits > 15 || exp10 < -22 || exp10 > 22) {
    *out = strtod(s, NULL);
    return true;
  }
  double d = (double)mant;
  d = exp10 < 0 ? d / pow10[-exp10] : d * pow10[exp10];
  *out = neg ? -d : d;
  return true;
}

types_inferred_t types_infer(const char *s, size_t len, int64_t *i, double *d)
{
  switch (s[0]) {
  case 't':
    if (len == 4 && memcmp(s, "true", 4) == 0) {
      *i = 1;
      return TYPES_INFERRED_BOOL;
    }
    break;
  case 'f':
    if (len == 5 && memcmp(s, "false", 5) == 0) {
      *i = 0;
      return TYPES_INFERRED_BOOL;
    }
    break;
  case '-':
  case '0':
  case '1':
  case '2':
  case '3':
  case '4':
  case '5':
  case '6':
  case '7':
  case '8':
  case '9': {
    bool neg = s[0] == '-';
    size_t k = neg;
    int64_t v = 0;
    if (len - neg <= 18 && k < len && (s[k] != '0' || len == 1)) {
      /* No leading zero, up to 18 characters after the sign: checked and
       * converted in one pass, as digits this few cannot overflow. */
      for (; k < len; k++) {
        unsigned digit = (unsigned)((unsigned char)s[k] - '0');
        if (digit > 9)
          break;
        v = v * 10 + digit;
      }
      if (k == len) {
        *i = neg ? -v : v;
        return *i >= INT32_MIN && *i <= INT32_MAX ? TYPES_INFERRED_INT32
                                                  : TYPES_INFERRED_INT64;
      }
      /* After the digits only a fraction or an exponent makes a number
       * ("2024-05-01" is text). */
      if (k > (size_t)neg && s[k] != '.' && s[k] != 'e' && s[k] != 'E')
        break;
    } else if (len <= 20 && types__canonical_int(s, len)) {
      errno = 0;
      v = strtoll(s, NULL, 10);
      if (errno != 0)
        break; /* beyond int64: kept as text rather than rounded */
      *i = v;
      return v >= INT32_MIN && v <= INT32_MAX ? TYPES_INFERRED_INT32
                                              : TYPES_INFERRED_INT64;
    }
    if (types__decimal(s, len, d) && isfinite(*d))
      return TYPES_INFERRED_DOUBLE;
    break;
  }
  default:
    break;
  }
  return TYPES_INFERRED_STRING;
}

/* Appends a value classified as kind (i or d its number). */
static bool types__append_kind(bson_t *doc, const char *key, int klen,
                               const char *s, size_t len, types_inferred_t kind,
                               int64_t i, double d)
{
  switch (kind) {
  case TYPES_INFERRED_BOOL:
    return bson_append_bool(doc, key, klen, i != 0);
  case TYPES_INFERRED_INT32:
    return bson_append_int32(doc, key, klen, (int32_t)i);
  case TYPES_INFERRED_INT64:
    return bson_append_int64(doc, key, klen, i);
  case TYPES_INFERRED_DOUBLE:
    return bson_append_double(doc, key, klen, d);
  case TYPES_INFERRED_STRING:
    break;
  }
  return bson_append_utf8(doc, key, klen, s, (int)len);
}

bool types_append_inferred(bson_t *doc, const char *key, int klen,
                           const char *s, size_t len)
{
  int64_t i = 0;
  double d = 0;
  types_inferred_t kind = types_infer(s, len, &i, &d);
  return types__append_kind(doc, key, klen, s, len, kind, i, d);
}

/* Appends text typed by mongoimport's rules (types_infer_mongoimport()). */
static bool types__append_mongoimport(bson_t *doc, const char *key, int klen,
                                      const char *s, size_t len)
{
  int64_t i = 0;
  double d = 0;
  types_inferred_t kind = types_infer_mongoimport(s, len, &i, &d);
  return types__append_kind(doc, key, klen, s, len, kind, i, d);
}

bool types_go_int(const char *s, size_t len, int64_t *out)
{
  size_t i = 0;
  bool neg = false;
  if (len > 0 && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == len)
    return false;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    uint64_t digit = (uint64_t)(s[i] - '0');
    if (v > (limit - digit) / 10)
      return false;
    v = v * 10 + digit;
  }
  *out = !neg ? (int64_t)v : v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
  return true;
}

/* Go's strconv underscoreOK(): '_' only between digits, or between a base
 * prefix and a digit. */
static bool types__go_underscores_ok(const char *s, size_t len)
{
  char saw = '^';
  size_t i = 0;
  bool hex = false;
  if (len >= 1 && (s[0] == '+' || s[0] == '-')) {
    s++;
    len--;
  }
  if (len >= 2 && s[0] == '0' &&
      (s[1] == 'x' || s[1] == 'X' || s[1] == 'b' || s[1] == 'B' ||
       s[1] == 'o' || s[1] == 'O')) {
    i = 2;
    saw = '0';
    hex = s[1] == 'x' || s[1] == 'X';
  }
  for (; i < len; i++) {
    char c = s[i];
    if ((c >= '0' && c <= '9') ||
        (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0')
        return false;
      saw = '_';
      continue;
    }
    if (saw == '_')
      return false;
    saw = '!';
  }
  return saw != '_';
}

/* Go's strconv special(): [+-]inf, [+-]infinity, nan, any case, as the
 * whole text. */
static bool types__go_special(const char *s, size_t len, double *out)
{
  double sign = 1;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    sign = s[0] == '-' ? -1 : 1;
    i = 1;
  } else if (len == 3 && strncasecmp(s, "nan", 3) == 0) {
    *out = NAN;
    return true;
  }
  if ((len - i == 3 && strncasecmp(s + i, "inf", 3) == 0) ||
      (len - i == 8 && strncasecmp(s + i, "infinity", 8) == 0)) {
    *out = sign * INFINITY;
    return true;
  }
  return false;
}

/* Checks the syntax of Go's strconv readFloat(): an optional sign; decimal
 * digits with at most one '.', and an optional e exponent; or "0x", hex
 * digits with at most one '.', and a p exponent, which is then required;
 * '_' as underscoreOK allows. */
static bool types__go_float_syntax(const char *s, size_t len, bool *underscores)
{
  size_t i = 0;
  bool hex = false, saw_digits = false, saw_dot = false;
  *underscores = false;
  if (i < len && (s[i] == '+' || s[i] == '-'))
    i++;
  if (i + 2 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    hex = true;
    i += 2;
  }
  for (; i < len; i++) {
    char c = s[i];
    if (c == '_') {
      *underscores = true;
    } else if (c == '.') {
      if (saw_dot)
        break;
      saw_dot = true;
    } else if ((c >= '0' && c <= '9') ||
               (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
      saw_digits = true;
    } else {
      break;
    }
  }
  if (!saw_digits)
    return false;
  char exp_char = hex ? 'p' : 'e';
  if (i < len && (s[i] == exp_char || s[i] == exp_char - 32)) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
      return false;
    for (; i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
      *underscores |= s[i] == '_';
  } else if (hex) {
    return false;
  }
  return i == len && (!*underscores || types__go_underscores_ok(s, len));
}

bool types_go_float(const char *s, size_t len, double *out)
{
  bool underscores;
  if (len == 0)
    return false;
  if (types__go_special(s, len, out))
    return true;
  if (!types__go_float_syntax(s, len, &underscores))
    return false;
  /* strtod() reads the same numbers, correctly rounded, from a copy that
   * is NUL-terminated and without the underscores. */
  char small[128];
  char *buf = len < sizeof small ? small : malloc(len + 1);
  if (!buf)
    return false;
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] != '_')
      buf[n++] = s[i];
  buf[n] = '\0';
  double d = strtod(buf, NULL);
  if (buf != small)
    free(buf);
  if (isinf(d))
    return false; /* out of range: Go's ErrRange */
  *out = d;
  return true;
}

types_inferred_t types_infer_mongoimport(const char *s, size_t len, int64_t *i,
                                         double *d)
{
  if (types_go_int(s, len, i))
    return *i >= INT32_MIN && *i <= INT32_MAX ? TYPES_INFERRED_INT32
                                              : TYPES_INFERRED_INT64;
  if (types_go_float(s, len, d))
    return TYPES_INFERRED_DOUBLE;
  return TYPES_INFERRED_STRING;
}
