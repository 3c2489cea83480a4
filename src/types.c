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
      {"auto", TYPES_AUTO},         {"string", TYPES_STRING},
      {"int32", TYPES_INT32},       {"int64", TYPES_INT64},
      {"double", TYPES_DOUBLE},     {"decimal", TYPES_DECIMAL},
      {"boolean", TYPES_BOOLEAN},   {"date", TYPES_DATE},
      {"date_go", TYPES_DATE},      {"date_ms", TYPES_DATE},
      {"binary", TYPES_BINARY_HEX},
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
                   "date_ms, binary)",
                   (int)name_len, spec);
    return false;
  }
  type->kind = names[k].kind;
  if (type->kind == TYPES_DATE) {
    if (arg_len == 0) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "%.*s() needs a layout, e.g. date(2006-01-02)",
                     (int)name_len, spec);
      return false;
    }
    bool java = name_len == 7 && memcmp(spec, "date_ms", 7) == 0;
    return types_date_compile(type, java, arg, arg_len, error);
  }
  if (type->kind == TYPES_BINARY_HEX) {
    if (arg_len == 6 && memcmp(arg, "base64", 6) == 0)
      type->kind = TYPES_BINARY_BASE64;
    else if (!(arg_len == 3 && memcmp(arg, "hex", 3) == 0)) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "binary() takes hex or base64, not \"%.*s\"", (int)arg_len,
                     arg);
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

bool types_append(bson_t *doc, const char *key, int key_len,
                  const types_type_t *t, const char *s, size_t len,
                  types_scratch_t *sc, char *why, size_t cap, bool *too_large)
{
  bool ok;
  char *end;
  *too_large = false;
  switch (t->kind) {
  case TYPES_AUTO:
    ok = types_append_inferred(doc, key, key_len, s, len);
    break;
  case TYPES_STRING:
    ok = bson_append_utf8(doc, key, key_len, s, (int)len);
    break;
  case TYPES_INT32:
  case TYPES_INT64: {
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end != s + len || len == 0 || s[0] == ' ' ||
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
    double d = strtod(s, &end);
    if (end != s + len || len == 0 || s[0] == ' ') {
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
  case TYPES_BINARY_BASE64: {
    long n = types__decode(t, s, len, sc);
    if (n < 0) {
      snprintf(why, cap, "\"%.*s\" is not %s", (int)(len > 64 ? 64 : len), s,
               t->kind == TYPES_BINARY_HEX ? "hex" : "base64");
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
 * fraction or an exponent. */
static bool types__decimal_text(const char *s, size_t len)
{
  size_t i = 0;
  bool frac_or_exp = false;
  if (i < len && s[i] == '-')
    i++;
  if (i == len || s[i] < '0' || s[i] > '9')
    return false;
  if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
    return false;
  while (i < len && s[i] >= '0' && s[i] <= '9')
    i++;
  if (i < len && s[i] == '.') {
    size_t digits = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == digits)
      return false;
    frac_or_exp = true;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t digits = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == digits)
      return false;
    frac_or_exp = true;
  }
  return i == len && frac_or_exp;
}

/* Converts a decimal already checked by types__decimal_text() when that
 * can be done exactly: at most 15 significant digits and a power of ten up
 * to 22 are both exact doubles, so one multiplication or division rounds
 * correctly, as strtod() would (Clinger's fast path). Returns false
 * otherwise, and the caller uses strtod(). */
static bool types__fast_double(const char *s, size_t len, double *out)
{
  static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  size_t i = 0;
  bool neg = s[0] == '-';
  i += neg;
  uint64_t mant = 0;
  int digits = 0, exp10 = 0;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
    mant = mant * 10 + (uint64_t)(s[i] - '0');
  if (i < len && s[i] == '.')
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++, exp10--)
      mant = mant * 10 + (uint64_t)(s[i] - '0');
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = s[i] == '-';
    i += s[i] == '-' || s[i] == '+';
    int e = 0;
    for (; i < len; i++) {
      if (e > 1000)
        return false;
      e = e * 10 + (s[i] - '0');
    }
    exp10 += eneg ? -e : e;
  }
  if (digits > 15 || exp10 < -22 || exp10 > 22)
    return false;
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
  case '9':
    if (len <= 20 && types__canonical_int(s, len)) {
      bool neg = s[0] == '-';
      size_t digits = len - neg;
      int64_t v = 0;
      if (digits <= 18) {
        /* Up to 18 digits cannot overflow: no strtoll() needed. */
        for (size_t k = neg; k < len; k++)
          v = v * 10 + (s[k] - '0');
        if (neg)
          v = -v;
      } else {
        errno = 0;
        v = strtoll(s, NULL, 10);
        if (errno != 0)
          break; /* beyond int64: kept as text rather than rounded */
      }
      *i = v;
      return v >= INT32_MIN && v <= INT32_MAX ? TYPES_INFERRED_INT32
                                              : TYPES_INFERRED_INT64;
    }
    if (types__decimal_text(s, len)) {
      if (!types__fast_double(s, len, d))
        *d = strtod(s, NULL);
      if (isfinite(*d))
        return TYPES_INFERRED_DOUBLE;
    }
    break;
  default:
    break;
  }
  return TYPES_INFERRED_STRING;
}

bool types_append_inferred(bson_t *doc, const char *key, int klen,
                           const char *s, size_t len)
{
  int64_t i;
  double d;
  switch (types_infer(s, len, &i, &d)) {
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
