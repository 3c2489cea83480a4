/* types_date: values parsed against date layouts (types_layout.c compiles
 * them).
 *
 * date() and date_go() take Go's reference-time layout, as mongoimport does
 * ("2006-01-02T15:04:05Z07:00"); date_ms() takes a Java SimpleDateFormat
 * pattern ("yyyy-MM-dd'T'HH:mm:ss.SSSZ"). Both compile to the same tokens
 * once, when the type is parsed; types_parse_date() then walks a value
 * through the tokens, collecting the fields it names (types__when_t), checks
 * them and turns them into milliseconds since the epoch. Nothing here
 * allocates. */
#include "types_date.h"

#include <string.h>
#include <strings.h>

static const char *const types__months[] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
static const char *const types__wdays[] = {"Sunday",    "Monday",   "Tuesday",
                                           "Wednesday", "Thursday", "Friday",
                                           "Saturday"};

/* The value being parsed and how far it has been read. */
typedef struct types__cursor {
  const char *s; /* the value */
  size_t len;    /* its length */
  size_t i;      /* bytes read */
} types__cursor_t;

/* The fields a value has given so far, as written. */
typedef struct types__when {
  int year, month, day; /* calendar date */
  int hour, min, sec;   /* time of day, hour as written (see hour12) */
  int64_t nanos;        /* fraction of the second */
  int tz;               /* zone offset, seconds east of UTC */
  int pm;               /* -1: no AM/PM seen, 0: AM, 1: PM */
  bool hour12;          /* hour is on a 12-hour clock */
} types__when_t;

static bool types__digit_at(const types__cursor_t *c, size_t at)
{
  return at < c->len && c->s[at] >= '0' && c->s[at] <= '9';
}

/* Reads exactly width digits (width 0: 1 or 2 digits, as Go's "1"). */
static bool types__num(types__cursor_t *c, int width, int *out)
{
  int max = width ? width : 2;
  int v = 0, n = 0;
  while (n < max && types__digit_at(c, c->i)) {
    v = v * 10 + (c->s[c->i] - '0');
    c->i++;
    n++;
  }
  if (n == 0 || (width && n != width))
    return false;
  *out = v;
  return true;
}

/* Reads the digits of a fraction (the separator already read) into *nanos.
 * Returns how many digits there were; those past the ninth are read but
 * count for nothing. */
static size_t types__frac_digits(types__cursor_t *c, int64_t *nanos)
{
  size_t start = c->i;
  int64_t scale = 100000000;
  *nanos = 0;
  for (; types__digit_at(c, c->i); c->i++, scale /= 10)
    *nanos += (c->s[c->i] - '0') * scale;
  return c->i - start;
}

/* Matches one of names (full, or its first three letters when abbr),
 * case-insensitively; returns its index or -1. */
static int types__name(types__cursor_t *c, const char *const *names, int n,
                       bool abbr)
{
  for (int k = 0; k < n; k++) {
    size_t w = abbr ? 3 : strlen(names[k]);
    if (c->len - c->i >= w && strncasecmp(c->s + c->i, names[k], w) == 0) {
      c->i += w;
      return k;
    }
  }
  return -1;
}

/* Reads ":" when width (of a zone offset) has colons, then two digits. */
static bool types__tz_part(types__cursor_t *c, int width, int *out)
{
  if (width == 5 || width == 8) {
    if (c->i >= c->len || c->s[c->i] != ':')
      return false;
    c->i++;
  }
  return types__num(c, 2, out);
}

/* Reads a zone offset of width 2 (-07), 4 (-0700), 5 (-07:00), 6 (-070000)
 * or 8 (-07:00:00) into *seconds east of UTC. */
static bool types__tz(types__cursor_t *c, int width, int *seconds)
{
  if (c->i >= c->len || (c->s[c->i] != '+' && c->s[c->i] != '-'))
    return false;
  int sign = c->s[c->i++] == '-' ? -1 : 1;
  int h, m = 0, sec = 0;
  if (!types__num(c, 2, &h))
    return false;
  if (width >= 4 && !types__tz_part(c, width, &m))
    return false;
  if (width >= 6 && !types__tz_part(c, width, &sec))
    return false;
  if (h > 23 || m > 59 || sec > 59)
    return false;
  *seconds = sign * ((h * 60 + m) * 60 + sec);
  return true;
}

/* Matches a numeric date or time field: year, month, day, hour, minute. */
static bool types__match_number(const types_token_t *tk, types__cursor_t *c,
                                types__when_t *w)
{
  switch (tk->kind) {
  case TK_YEAR4:
    return types__num(c, 4, &w->year);
  case TK_YEAR2:
    if (!types__num(c, 2, &w->year))
      return false;
    w->year += w->year >= 69 ? 1900 : 2000;
    return true;
  case TK_MONTH:
    return types__num(c, tk->width, &w->month);
  case TK_DAY:
    if (tk->width == 0 && c->i < c->len && c->s[c->i] == ' ')
      c->i++; /* "_2": space-padded */
    return types__num(c, tk->width, &w->day);
  case TK_HOUR24:
    return types__num(c, tk->width, &w->hour);
  case TK_HOUR12:
    w->hour12 = true;
    return types__num(c, tk->width, &w->hour);
  case TK_MIN:
    return types__num(c, tk->width, &w->min);
  }
  return false;
}

/* Matches month and weekday names (a weekday is checked for form only).
 * Java's MMMM and EEEE take the short names too. */
static bool types__match_name(const types_token_t *tk, bool java,
                              types__cursor_t *c, types__when_t *w)
{
  bool month = tk->kind == TK_MON_ABBR || tk->kind == TK_MON_FULL;
  bool abbr = tk->kind == TK_MON_ABBR || tk->kind == TK_WDAY_ABBR;
  const char *const *names = month ? types__months : types__wdays;
  int n = month ? 12 : 7;
  int k = types__name(c, names, n, abbr);
  if (k < 0 && java && !abbr)
    k = types__name(c, names, n, true);
  if (month)
    w->month = k + 1;
  return k >= 0;
}

/* Returns true when a fraction token follows token k, past literals only
 * (Go's nextStdChunk). */
static bool types__fraction_follows(const types_type_t *t, size_t k)
{
  for (k++; k < t->n_tokens; k++) {
    uint8_t kind = t->tokens[k].kind;
    if (kind != TK_LIT)
      return kind == TK_FRAC || kind == TK_MILLIS;
  }
  return false;
}

/* Matches the seconds, token k of t. As in Go, a fraction after them ('.'
 * or ',') is accepted even when the layout has none there; Java has no such
 * rule. */
static bool types__match_seconds(const types_type_t *t, size_t k,
                                 types__cursor_t *c, types__when_t *w)
{
  if (!types__num(c, t->tokens[k].width, &w->sec))
    return false;
  if (!t->java && !types__fraction_follows(t, k) && c->i < c->len &&
      (c->s[c->i] == '.' || c->s[c->i] == ',') &&
      types__digit_at(c, c->i + 1)) {
    c->i++;
    types__frac_digits(c, &w->nanos);
  }
  return true;
}

/* Matches a fraction of a second: Go's .000 (exactly that many digits) and
 * .999 (optional, any digits up to nine), with '.' or ','; Java's SSS (the
 * digits alone, exactly that many). */
static bool types__match_fraction(const types_token_t *tk, types__cursor_t *c,
                                  types__when_t *w)
{
  if (tk->kind == TK_FRAC) {
    if (c->i >= c->len || (c->s[c->i] != '.' && c->s[c->i] != ',')) {
      return tk->width == 0; /* ".999": the fraction is optional */
    }
    c->i++;
  }
  size_t n = types__frac_digits(c, &w->nanos);
  return n > 0 && n <= 9 && (!tk->width || n == tk->width);
}

/* Matches AM or PM: in any case (Java), or in the case of the layout's
 * "PM" or "pm" (Go). */
static bool types__match_ampm(const types_token_t *tk, types__cursor_t *c,
                              types__when_t *w)
{
  if (c->len - c->i < 2)
    return false;
  const char *am = tk->lit == 'p' ? "am" : "AM";
  const char *pm = tk->lit == 'p' ? "pm" : "PM";
  const char *s = c->s + c->i;
  if (tk->lit ? memcmp(s, am, 2) == 0 : strncasecmp(s, am, 2) == 0)
    w->pm = 0;
  else if (tk->lit ? memcmp(s, pm, 2) == 0 : strncasecmp(s, pm, 2) == 0)
    w->pm = 1;
  else
    return false;
  c->i += 2;
  return true;
}

/* The length of a signed hour offset, "+3" to "-23" (not 0 or more than
 * 23), at s[0..n), or 0 (Go's parseSignedOffset). */
static size_t types__signed_hours(const char *s, size_t n)
{
  if (n == 0 || (s[0] != '+' && s[0] != '-'))
    return 0;
  size_t i = 1;
  int v = 0;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
    if (v <= 23)
      v = v * 10 + (s[i] - '0');
  return i > 1 && v <= 23 ? i : 0;
}

/* The length of the zone name at s[0..n), or 0 when there is none, by Go's
 * rules (parseTimeZone): "UTC"; "GMT" with an optional signed hour
 * ("GMT+3"); a signed hour alone ("+03"); "ChST" or "MeST"; three capital
 * letters, four or five ending in T, or "WITA". */
static size_t types__zone_name(const char *s, size_t n)
{
  if (n < 3)
    return 0;
  if (n >= 4 && (memcmp(s, "ChST", 4) == 0 || memcmp(s, "MeST", 4) == 0))
    return 4;
  if (memcmp(s, "UTC", 3) == 0)
    return 3;
  if (memcmp(s, "GMT", 3) == 0)
    return 3 + types__signed_hours(s + 3, n - 3);
  if (s[0] == '+' || s[0] == '-')
    return types__signed_hours(s, n);
  size_t upper = 0;
  while (upper < 6 && upper < n && s[upper] >= 'A' && s[upper] <= 'Z')
    upper++;
  if (upper == 3)
    return 3;
  if (upper == 4 && (s[3] == 'T' || memcmp(s, "WITA", 4) == 0))
    return 4;
  if (upper == 5 && s[4] == 'T')
    return 5;
  return 0;
}

/* Matches a zone: an offset, "Z" or an offset, or a name (taken as UTC, as
 * Go takes a name that is not the local zone's). */
static bool types__match_zone(const types_token_t *tk, types__cursor_t *c,
                              types__when_t *w)
{
  if (tk->kind == TK_TZ_NAME) {
    size_t n = types__zone_name(c->s + c->i, c->len - c->i);
    c->i += n;
    return n > 0;
  }
  if (tk->kind == TK_TZ_Z && c->i < c->len && c->s[c->i] == 'Z') {
    c->i++;
    w->tz = 0;
    return true;
  }
  return types__tz(c, tk->width, &w->tz);
}

/* Matches token k of t at the cursor. */
static bool types__match_token(const types_type_t *t, size_t k,
                               types__cursor_t *c, types__when_t *w)
{
  const types_token_t *tk = &t->tokens[k];
  switch (tk->kind) {
  case TK_LIT:
    if (c->i >= c->len || c->s[c->i] != tk->lit)
      return false;
    c->i++;
    return true;
  case TK_YEAR4:
  case TK_YEAR2:
  case TK_MONTH:
  case TK_DAY:
  case TK_HOUR24:
  case TK_HOUR12:
  case TK_MIN:
    return types__match_number(tk, c, w);
  case TK_MON_ABBR:
  case TK_MON_FULL:
  case TK_WDAY_ABBR:
  case TK_WDAY_FULL:
    return types__match_name(tk, t->java, c, w);
  case TK_SEC:
    return types__match_seconds(t, k, c, w);
  case TK_FRAC:
  case TK_MILLIS:
    return types__match_fraction(tk, c, w);
  case TK_AMPM:
    return types__match_ampm(tk, c, w);
  case TK_TZ:
  case TK_TZ_Z:
  case TK_TZ_NAME:
    return types__match_zone(tk, c, w);
  }
  return false;
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

/* Turns a 12-hour clock into the hour of the day. Go takes 0-12, and AM/PM
 * is optional ("3:04" alone is 03:04, "12:00" noon); Java takes 1-12, and no
 * AM/PM is AM ("12:00" is midnight). Returns false when the hour is out of
 * range. */
static bool types__resolve_hour12(types__when_t *w, bool java)
{
  if (!w->hour12)
    return true;
  if (w->hour < (java ? 1 : 0) || w->hour > 12)
    return false;
  if (java)
    w->hour = w->hour % 12 + (w->pm == 1 ? 12 : 0);
  else if (w->pm == 1 && w->hour < 12)
    w->hour += 12;
  else if (w->pm == 0 && w->hour == 12)
    w->hour = 0;
  return true;
}

/* Checks the fields (of a Java layout when java) and stores the instant
 * they name in *ms. */
static bool types__when_to_ms(types__when_t *w, bool java, int64_t *ms)
{
  if (!types__resolve_hour12(w, java))
    return false;
  if (w->month < 1 || w->month > 12 || w->day < 1 ||
      w->day > types__month_days(w->year, w->month) || w->hour > 23 ||
      w->min > 59 || w->sec > 59)
    return false;
  int64_t days = types__days(w->year, w->month, w->day);
  *ms = (((days * 24 + w->hour) * 60 + w->min) * 60 + w->sec - w->tz) * 1000LL +
        w->nanos / 1000000;
  return true;
}

bool types_parse_date(const types_type_t *t, const char *s, size_t len,
                      int64_t *ms)
{
  types__cursor_t c = {s, len, 0};
  /* What the layout does not give: Go's year is 0, Java's 1970. */
  types__when_t w = {
      .year = t->java ? 1970 : 0, .month = 1, .day = 1, .pm = -1};
  for (size_t k = 0; k < t->n_tokens; k++)
    if (!types__match_token(t, k, &c, &w))
      return false;
  return c.i == len && types__when_to_ms(&w, t->java, ms);
}
