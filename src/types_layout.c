/* types_layout: date layouts compiled into tokens, once, when a type is
 * parsed: Go's reference-time layouts for date() and date_go(), Java's
 * SimpleDateFormat patterns for date_ms(). types_date.c parses values
 * against the tokens. */
#include "types_date.h"
#include "loader/error.h"

#include <string.h>

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

/* Go's layout elements, longest first where one is a prefix of another. */
static const struct {
  const char *word; /* as written in the layout */
  uint8_t kind;     /* the token it compiles to */
  uint8_t width;    /* the token's width */
  char lit;         /* the token's lit */
} types__go_words[] = {
    {"January", TK_MON_FULL, 0, 0},
    {"Jan", TK_MON_ABBR, 0, 0},
    {"Monday", TK_WDAY_FULL, 0, 0},
    {"Mon", TK_WDAY_ABBR, 0, 0},
    {"MST", TK_TZ_NAME, 0, 0},
    {"2006", TK_YEAR4, 4, 0},
    {"01", TK_MONTH, 2, 0},
    {"02", TK_DAY, 2, 0},
    {"03", TK_HOUR12, 2, 0},
    {"04", TK_MIN, 2, 0},
    {"05", TK_SEC, 2, 0},
    {"06", TK_YEAR2, 2, 0},
    {"_2", TK_DAY, 0, 0},
    {"15", TK_HOUR24, 0, 0},
    {"1", TK_MONTH, 0, 0},
    {"2", TK_DAY, 0, 0},
    {"3", TK_HOUR12, 0, 0},
    {"4", TK_MIN, 0, 0},
    {"5", TK_SEC, 0, 0},
    {"PM", TK_AMPM, 0, 'P'},
    {"pm", TK_AMPM, 0, 'p'},
    {"Z07:00:00", TK_TZ_Z, 8, 0},
    {"Z07:00", TK_TZ_Z, 5, 0},
    {"Z070000", TK_TZ_Z, 6, 0},
    {"Z0700", TK_TZ_Z, 4, 0},
    {"Z07", TK_TZ_Z, 2, 0},
    {"-07:00:00", TK_TZ, 8, 0},
    {"-07:00", TK_TZ, 5, 0},
    {"-070000", TK_TZ, 6, 0},
    {"-0700", TK_TZ, 4, 0},
    {"-07", TK_TZ, 2, 0},
};

/* Compiles a Go layout. Returns false when it has too many elements. */
static bool types__compile_go(types_type_t *t, const char *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    const char *p = s + i;
    size_t rest = len - i;
    uint8_t kind = TK_LIT, width = 0;
    char lit = p[0];
    size_t used = 1;
    size_t n_words = sizeof types__go_words / sizeof types__go_words[0];
    size_t w;
    for (w = 0; w < n_words; w++)
      if (types__starts(p, rest, types__go_words[w].word))
        break;
    if (w < n_words) {
      kind = types__go_words[w].kind;
      width = types__go_words[w].width;
      lit = types__go_words[w].lit;
      used = strlen(types__go_words[w].word);
    } else if ((p[0] == '.' || p[0] == ',') && rest > 1 &&
               (p[1] == '0' || p[1] == '9')) {
      size_t n = 1;
      while (n < rest && p[n] == p[1])
        n++;
      kind = TK_FRAC;
      width = p[1] == '0' ? (uint8_t)(n - 1) : 0; /* 9s: any digits */
      used = n;
    }
    if (!types__add(t, kind, width, lit))
      return false;
    i += used;
  }
  return true;
}

/* Compiles a run of n (>= 1) Java pattern letters c. Returns 1 on success,
 * 0 when the layout is too long, -1 for a letter Java has but the loader
 * does not support. */
static int types__java_letters(types_type_t *t, char c, size_t n)
{
  uint8_t w = n >= 2 ? 2 : 0;
  bool ok = true;
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
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      return -1;
    for (size_t k = 0; k < n && ok; k++)
      ok = types__add(t, TK_LIT, 0, c);
  }
  return ok ? 1 : 0;
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
    int r = types__java_letters(t, c, n);
    if (r < 0) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "date_ms layout: unsupported pattern letter '%c'", c);
      return false;
    }
    if (r == 0)
      goto out_long;
    i += n;
  }
  return true;
out_long:
  bson_set_error(error, LOADER_ERROR_USAGE, 0, "date layout too long");
  return false;
}

bool types_date_compile(types_type_t *type, bool java, const char *layout,
                        size_t len, bson_error_t *error)
{
  type->java = java;
  if (java)
    return types__compile_java(type, layout, len, error);
  if (!types__compile_go(type, layout, len)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "date layout too long");
    return false;
  }
  return true;
}
