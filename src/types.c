/* types: column types, and text turned into typed BSON values.
 *
 * Date layouts. date() takes Go's reference-time layout, as mongoimport
 * does ("2006-01-02T15:04:05Z07:00"); date_ms() takes a Java
 * SimpleDateFormat pattern ("yyyy-MM-dd'T'HH:mm:ss.SSSZ"). Both compile to
 * the same tokens, and one matcher parses values against them. */
#include "loader/types.h"
#include "loader/error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a layout token matches. */
enum {
  TK_LIT,       /* one literal byte */
  TK_YEAR4,     /* 2006 / yyyy */
  TK_YEAR2,     /* 06 / yy: 1969-2068 as Go does */
  TK_MONTH,     /* 1 or 01 / M or MM (width 2: exactly two digits) */
  TK_MON_ABBR,  /* Jan / MMM */
  TK_MON_FULL,  /* January / MMMM */
  TK_DAY,       /* 2, 02, _2 / d, dd */
  TK_WDAY_ABBR, /* Mon / EEE (checked for form only) */
  TK_WDAY_FULL, /* Monday / EEEE */
  TK_HOUR24,    /* 15 / HH, H */
  TK_HOUR12,    /* 3, 03 / h, hh */
  TK_MIN,       /* 4, 04 / m, mm */
  TK_SEC,       /* 5, 05 / s, ss */
  TK_FRAC,      /* .000 / .999 (Go: the dot included) */
  TK_MILLIS,    /* SSS (Java: digits only) */
  TK_AMPM,      /* PM, pm / a */
  TK_TZ,        /* -0700, -07:00, -07 (width: 4, 5 or 2) */
  TK_TZ_Z,      /* Z0700, Z07:00, Z07: "Z" or an offset */
  TK_TZ_NAME,   /* MST: letters, taken as UTC */
};

static const char *const types__months[] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
static const char *const types__wdays[] = {"Sunday",    "Monday",   "Tuesday",
                                           "Wednesday", "Thursday", "Friday",
                                           "Saturday"};

static bool types__add(types_type_t *t, uint8_t kind, uint8_t width, char lit)
{
  if (t->n_tokens == TYPES_MAX_TOKENS)
    return false;
  t->tokens[t->n_tokens++] = (types_token_t){kind, width, lit};
  return true;
}

static bool types__starts(const char *s, size_t len, const char *word)
{
  size_t n = strlen(word);
  return len >= n && memcmp(s, word, n) == 0;
}

/* Compiles a Go layout. */
static bool types__compile_go(types_type_t *t, const char *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    const char *p = s + i;
    size_t rest = len - i;
    uint8_t kind = TK_LIT, width = 0;
    size_t used = 1;
#define GO(word, k, w)                                                         \
  else if (types__starts(p, rest, word))                                       \
  {                                                                            \
    kind = k;                                                                  \
    width = w;                                                                 \
    used = strlen(word);                                                       \
  }
    if (0) {
    }
    GO("January", TK_MON_FULL, 0)
    GO("Jan", TK_MON_ABBR, 0)
    GO("Monday", TK_WDAY_FULL, 0)
    GO("Mon", TK_WDAY_ABBR, 0)
    GO("MST", TK_TZ_NAME, 0)
    GO("2006", TK_YEAR4, 4)
    GO("01", TK_MONTH, 2)
    GO("02", TK_DAY, 2)
    GO("03", TK_HOUR12, 2)
    GO("04", TK_MIN, 2)
    GO("05", TK_SEC, 2)
    GO("06", TK_YEAR2, 2)
    GO("_2", TK_DAY, 0)
    GO("15", TK_HOUR24, 2)
    GO("1", TK_MONTH, 0)
    GO("2", TK_DAY, 0)
    GO("3", TK_HOUR12, 0)
    GO("4", TK_MIN, 0)
    GO("5", TK_SEC, 0)
    GO("PM", TK_AMPM, 0)
    GO("pm", TK_AMPM, 0)
    GO("Z07:00", TK_TZ_Z, 5)
    GO("Z0700", TK_TZ_Z, 4)
    GO("Z07", TK_TZ_Z, 2)
    GO("-07:00", TK_TZ, 5)
    GO("-0700", TK_TZ, 4)
    GO("-07", TK_TZ, 2)
#undef GO
    else if ((p[0] == '.' || p[0] == ',') && rest > 1 &&
             (p[1] == '0' || p[1] == '9'))
    {
      size_t n = 1;
      while (n < rest && p[n] == p[1])
        n++;
      kind = TK_FRAC;
      width = p[1] == '0' ? (uint8_t)(n - 1) : 0; /* 9s: any digits */
      used = n;
    }
    if (!types__add(t, kind, width, p[0]))
      return false;
    i += used;
  }
  return true;
}

/* Compiles a Java SimpleDateFormat pattern. */
static bool types__compile_java(types_type_t *t, const char *s, size_t len,
                                bson_error_t *error)
{
  size_t i = 0;
  while (i < len) {
    char c = s[i];
    size_t n = 1;
    while (i + n < len && s[i + n] == c)
      n++;
    bool ok = true;
    if (c == '\'') {
      /* 'quoted text', '' is a quote */
      if (n >= 2 && n % 2 == 0) {
        for (size_t q = 0; q < n / 2 && ok; q++)
          ok = types__add(t, TK_LIT, 0, '\'');
        i += n;
        continue;
      }
      size_t j = i + 1;
      while (j < len && s[j] != '\'')
        ok = ok && types__add(t, TK_LIT, 0, s[j++]);
      if (j == len) {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "date_ms layout: unterminated quote");
        return false;
      }
      i = j + 1;
      if (!ok)
        goto out_long;
      continue;
    }
    uint8_t w = n >= 2 ? 2 : 0;
    switch (c) {
    case 'y':
      ok = types__add(t, n == 2 ? TK_YEAR2 : TK_YEAR4, n == 2 ? 2 : 4, 0);
      break;
    case 'M':
      ok = types__add(t,
                      n >= 4   ? TK_MON_FULL
                      : n == 3 ? TK_MON_ABBR
                               : TK_MONTH,
                      w, 0);
      break;
    case 'd':
      ok = types__add(t, TK_DAY, w, 0);
      break;
    case 'E':
      ok = types__add(t, n >= 4 ? TK_WDAY_FULL : TK_WDAY_ABBR, 0, 0);
      break;
    case 'H':
      ok = types__add(t, TK_HOUR24, w, 0);
      break;
    case 'h':
      ok = types__add(t, TK_HOUR12, w, 0);
      break;
    case 'm':
      ok = types__add(t, TK_MIN, w, 0);
      break;
    case 's':
      ok = types__add(t, TK_SEC, w, 0);
      break;
    case 'S':
      ok = types__add(t, TK_MILLIS, (uint8_t)(n > 9 ? 9 : n), 0);
      break;
    case 'a':
      ok = types__add(t, TK_AMPM, 0, 0);
      break;
    case 'Z':
      ok = types__add(t, TK_TZ, 4, 0);
      break;
    case 'X':
      ok = types__add(t, TK_TZ_Z, n == 1 ? 2 : n == 2 ? 4 : 5, 0);
      break;
    case 'z':
      ok = types__add(t, TK_TZ_NAME, 0, 0);
      break;
    default:
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "date_ms layout: unsupported pattern letter '%c'", c);
        return false;
      }
      for (size_t k = 0; k < n && ok; k++)
        ok = types__add(t, TK_LIT, 0, c);
    }
    if (!ok)
      goto out_long;
    i += n;
  }
  return true;
out_long:
  bson_set_error(error, LOADER_ERROR_USAGE, 0, "date layout too long");
  return false;
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
    if (name_len == 7 && memcmp(spec, "date_ms", 7) == 0)
      return types__compile_java(type, arg, arg_len, error);
    if (!types__compile_go(type, arg, arg_len)) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0, "date layout too long");
      return false;
    }
    return true;
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

/* Parses exactly width digits (width 0: 1 or 2 digits, as Go's "1") at
 * s[*i]. */
static bool types__num(const char *s, size_t len, size_t *i, int width,
                       int *out)
{
  int max = width ? width : 2;
  int v = 0, n = 0;
  while (*i < len && n < max && s[*i] >= '0' && s[*i] <= '9') {
    v = v * 10 + (s[*i] - '0');
    (*i)++;
    n++;
  }
  if (n == 0 || (width && n != width))
    return false;
  *out = v;
  return true;
}

/* Matches one of names (full, or its first three letters when abbr) at
 * s[*i], case-insensitively; returns its index or -1. */
static int types__name(const char *s, size_t len, size_t *i,
                       const char *const *names, int n, bool abbr)
{
  for (int k = 0; k < n; k++) {
    size_t w = abbr ? 3 : strlen(names[k]);
    if (len - *i >= w && strncasecmp(s + *i, names[k], w) == 0) {
      *i += w;
      return k;
    }
  }
  return -1;
}

/* Parses a zone offset of width 2 (-07), 4 (-0700) or 5 (-07:00). */
static bool types__tz(const char *s, size_t len, size_t *i, int width,
                      int *minutes)
{
  if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
    return false;
  int sign = s[(*i)++] == '-' ? -1 : 1;
  int h, m = 0;
  if (!types__num(s, len, i, 2, &h))
    return false;
  if (width == 5) {
    if (*i >= len || s[*i] != ':')
      return false;
    (*i)++;
  }
  if (width >= 4 && !types__num(s, len, i, 2, &m))
    return false;
  if (h > 23 || m > 59)
    return false;
  *minutes = sign * (h * 60 + m);
  return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t types__days(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int types__month_days(int y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

bool types_parse_date(const types_type_t *t, const char *s, size_t len,
                      int64_t *ms)
{
  int year = 1970, month = 1, day = 1, hour = 0, min = 0, sec = 0;
  int64_t nanos = 0;
  int tz = 0, pm = -1;
  bool hour12 = false;
  size_t i = 0;
  for (size_t k = 0; k < t->n_tokens; k++) {
    const types_token_t *tk = &t->tokens[k];
    switch (tk->kind) {
    case TK_LIT:
      if (i >= len || s[i] != tk->lit)
        return false;
      i++;
      break;
    case TK_YEAR4:
      if (!types__num(s, len, &i, 4, &year))
        return false;
      break;
    case TK_YEAR2:
      if (!types__num(s, len, &i, 2, &year))
        return false;
      year += year >= 69 ? 1900 : 2000;
      break;
    case TK_MONTH:
      if (!types__num(s, len, &i, tk->width, &month))
        return false;
      break;
    case TK_MON_ABBR:
    case TK_MON_FULL: {
      int m =
          types__name(s, len, &i, types__months, 12, tk->kind == TK_MON_ABBR);
      if (m < 0)
        return false;
      month = m + 1;
      break;
    }
    case TK_WDAY_ABBR:
    case TK_WDAY_FULL:
      if (types__name(s, len, &i, types__wdays, 7, tk->kind == TK_WDAY_ABBR) <
          0)
        return false;
      break;
    case TK_DAY:
      if (tk->width == 0 && i < len && s[i] == ' ')
        i++; /* "_2": space-padded */
      if (!types__num(s, len, &i, tk->width, &day))
        return false;
      break;
    case TK_HOUR24:
      if (!types__num(s, len, &i, tk->width, &hour))
        return false;
      break;
    case TK_HOUR12:
      if (!types__num(s, len, &i, tk->width, &hour))
        return false;
      hour12 = true;
      break;
    case TK_MIN:
      if (!types__num(s, len, &i, tk->width, &min))
        return false;
      break;
    case TK_SEC:
      if (!types__num(s, len, &i, tk->width, &sec))
        return false;
      /* As in Go, a fraction after the seconds is accepted even when the
       * layout has none. */
      if ((k + 1 == t->n_tokens || t->tokens[k + 1].kind != TK_FRAC) &&
          i + 1 < len && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
        int64_t scale = 100000000;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
          nanos += (s[i] - '0') * scale;
      }
      break;
    case TK_FRAC:
      if (i >= len || (s[i] != '.' && s[i] != ',')) {
        if (tk->width == 0)
          break; /* ".999": the fraction is optional */
        return false;
      }
      i++;
      /* fall through */
    case TK_MILLIS: {
      size_t start = i;
      int64_t scale = 100000000;
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        nanos += (s[i] - '0') * scale;
        scale /= 10;
        i++;
      }
      size_t n = i - start;
      if (n == 0 || n > 9 || (tk->width && n != tk->width))
        return false;
      break;
    }
    case TK_AMPM:
      if (len - i >= 2 && strncasecmp(s + i, "AM", 2) == 0)
        pm = 0;
      else if (len - i >= 2 && strncasecmp(s + i, "PM", 2) == 0)
        pm = 1;
      else
        return false;
      i += 2;
      break;
    case TK_TZ_Z:
      if (i < len && s[i] == 'Z') {
        i++;
        tz = 0;
        break;
      }
      /* fall through */
    case TK_TZ:
      if (!types__tz(s, len, &i, tk->width, &tz))
        return false;
      break;
    case TK_TZ_NAME:
      while (i < len && s[i] >= 'A' && s[i] <= 'Z')
        i++;
      break;
    }
  }
  if (i != len)
    return false;
  if (hour12) {
    if (hour < 1 || hour > 12 || pm < 0)
      return false;
    hour = hour % 12 + (pm ? 12 : 0);
  }
  if (month < 1 || month > 12 || day < 1 ||
      day > types__month_days(year, month) || hour > 23 || min > 59 || sec > 59)
    return false;
  int64_t days = types__days(year, month, day);
  *ms = ((days * 24 + hour) * 60 + min - tz) * 60000LL + sec * 1000LL +
        nanos / 1000000;
  return true;
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

static int types__hex(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
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
      int hi = types__hex(s[i]), lo = types__hex(s[i + 1]);
      if (hi < 0 || lo < 0)
        return -1;
      sc->buf[n++] = (uint8_t)(hi << 4 | lo);
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
