/* Small helpers shared by several modules. */
#include "loader/util.h"
#include "loader/error.h"

#include <ctype.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

double util_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t util_hash64(const void *data, size_t len, uint64_t h)
{
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

/* ---- secrets of a URI ----------------------------------------------------
 *
 * What may be secret in a target URI, read conservatively: over-redacting is
 * fine, under-redacting never is. A password may hold any character a user
 * forgot to percent-encode ('/', '?', '#', '@', ':'), so no delimiter after
 * "://" can be trusted to end the authority: the credentials run from
 * "://" (or the start, when there is none) to the LAST '@' of the whole
 * string, the user name is what comes before their first ':', and the
 * password all the rest. An option whose name says it holds a secret hides
 * everything from its value to the end of the string, as its value may hold
 * an unescaped '&' too. */

/* A half-open byte range [start, end) of a string. */
typedef struct util_span {
  size_t start;
  size_t end;
} util_span_t;

/* Growable list of spans. */
typedef struct util_spans {
  util_span_t *v;
  size_t n;
  size_t cap;
} util_spans_t;

bool util_utf8_valid(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    /* ASCII, eight bytes at a time. */
    while (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if (i == len)
      break;
    if (i + 8 > len && len >= 8) {
      /* Fewer than eight left: the last eight bytes hold them all. */
      uint64_t w;
      memcpy(&w, p + len - 8, 8);
      if (!(w & 0x8080808080808080ull))
        break;
    }
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    /* A lead byte: how many continuation bytes, and the range the first of
     * them must be in (which refuses overlong forms, surrogates and code
     * points past U+10FFFF; C0, C1 and F5..FF lead nothing). */
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F; /* no surrogates (U+D800..DFFF) */
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
    } else {
      return false;
    }
    if (len - i <= n || p[i + 1] < lo || p[i + 1] > hi)
      return false;
    for (size_t k = 2; k <= n; k++)
      if ((p[i + k] & 0xC0) != 0x80)
        return false;
    i += n + 1;
  }
  return true;
}

static void util__spans_add(util_spans_t *s, size_t start, size_t end)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    util_span_t *v = realloc(s->v, cap * sizeof *v);
    if (!v)
      abort();
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = (util_span_t){start, end};
}

static int util__span_cmp(const void *a, const void *b)
{
  const util_span_t *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static int util__hex(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool util_hex_pair(const char *s, uint8_t *byte)
{
  int hi = util__hex((unsigned char)s[0]);
  int lo = hi < 0 ? -1 : util__hex((unsigned char)s[1]);
  if (lo < 0)
    return false;
  *byte = (uint8_t)(hi << 4 | lo);
  return true;
}

/* Returns s[0..len) with %XX escapes decoded, newly allocated (a bad escape
 * stays as it is). */
static char *util__pct_decode(const char *s, size_t len)
{
  char *out = malloc(len + 1);
  if (!out)
    abort();
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t byte;
    if (s[i] == '%' && i + 2 < len && util_hex_pair(s + i + 1, &byte)) {
      out[n++] = (char)byte;
      i += 2;
    } else {
      out[n++] = s[i];
    }
  }
  out[n] = '\0';
  return out;
}

/* True when the option or property name s[0..len), percent-decoded, names a
 * secret: it contains "pass", "pwd", "token", "secret" or "credential",
 * case-insensitively (password, passphrase, AWS_SESSION_TOKEN,
 * tlsCertificateKeyFilePassword, sslClientCertificateKeyPassword...). */
static bool util__secret_name(const char *s, size_t len)
{
  static const char *const words[] = {"pass", "pwd", "token", "secret",
                                      "credential"};
  char *name = util__pct_decode(s, len);
  for (char *p = name; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  bool secret = false;
  for (size_t i = 0; i < sizeof words / sizeof *words && !secret; i++)
    secret = strstr(name, words[i]) != NULL;
  free(name);
  return secret;
}

/* Where uri's credentials are: *auth at their start, *at at the last '@'.
 * Returns false when uri has no '@' at all. */
static bool util__credentials(const char *uri, size_t *auth, size_t *at)
{
  const char *last = strrchr(uri, '@');
  if (!last)
    return false;
  const char *scheme_end = strstr(uri, "://");
  *auth = scheme_end && scheme_end < last ? (size_t)(scheme_end + 3 - uri) : 0;
  *at = (size_t)(last - uri);
  return true;
}

/* Fills spans with the parts of uri that may be secret, sorted and merged.
 * With likely, a secret option's value ends at the next '&', ';' or '#' (the
 * reading of a driver, and what it may print unquoted); else at the end of
 * uri (its value may hold them unescaped). */
static void util__secret_spans(const char *uri, bool likely,
                               util_spans_t *spans)
{
  size_t len = strlen(uri);
  size_t auth, at;
  if (util__credentials(uri, &auth, &at)) {
    const char *colon = memchr(uri + auth, ':', at - auth);
    if (colon)
      util__spans_add(spans, (size_t)(colon + 1 - uri), at);
  }
  /* Options: "?name=value", "&name=value", ";name=value", "#name=value". */
  for (size_t i = 0; i < len; i++) {
    if (!strchr("?&;#", uri[i]))
      continue;
    size_t k = i + 1;
    size_t klen = strcspn(uri + k, "=?&;#");
    if (uri[k + klen] != '=')
      continue;
    size_t v = k + klen + 1;
    if (util__secret_name(uri + k, klen)) {
      util__spans_add(spans, v, likely ? v + strcspn(uri + v, "&;#") : len);
      continue;
    }
    /* authMechanismProperties=NAME:VALUE,NAME:VALUE (AWS_SESSION_TOKEN). */
    char *name = util__pct_decode(uri + k, klen);
    bool props = strcasecmp(name, "authMechanismProperties") == 0;
    free(name);
    if (!props)
      continue;
    for (size_t p = v; p < len && !strchr("&;#", uri[p]);) {
      size_t plen = strcspn(uri + p, ":,&;#");
      if (uri[p + plen] == ':' && util__secret_name(uri + p, plen)) {
        size_t start = p + plen + 1;
        util__spans_add(spans, start,
                        likely ? start + strcspn(uri + start, ",&;#") : len);
        if (!likely)
          break;
      }
      p += plen;
      p += strcspn(uri + p, ",&;#");
      if (uri[p] == ',')
        p++;
    }
  }
  if (spans->n > 1) {
    qsort(spans->v, spans->n, sizeof *spans->v, util__span_cmp);
    size_t out = 0;
    for (size_t i = 1; i < spans->n; i++) {
      if (spans->v[i].start <= spans->v[out].end) {
        if (spans->v[i].end > spans->v[out].end)
          spans->v[out].end = spans->v[i].end;
      } else {
        spans->v[++out] = spans->v[i];
      }
    }
    spans->n = out + 1;
  }
}

char *util_redact_uri(const char *uri)
{
  if (!uri)
    return strdup("");
  util_spans_t spans = {0};
  util__secret_spans(uri, false, &spans);
  size_t len = strlen(uri);
  char *out = malloc(len + 3 * spans.n + 1);
  if (!out)
    abort();
  size_t n = 0, from = 0;
  for (size_t i = 0; i < spans.n; i++) {
    memcpy(out + n, uri + from, spans.v[i].start - from);
    n += spans.v[i].start - from;
    memcpy(out + n, "***", 3);
    n += 3;
    from = spans.v[i].end;
  }
  memcpy(out + n, uri + from, len - from);
  out[n + len - from] = '\0';
  free(spans.v);
  return out;
}

void util_scrub_uri(char *uri)
{
  if (!uri)
    return;
  util_spans_t spans = {0};
  util__secret_spans(uri, false, &spans);
  for (size_t i = 0; i < spans.n; i++)
    memset(uri + spans.v[i].start, '*', spans.v[i].end - spans.v[i].start);
  free(spans.v);
}

bool util_uri_names_user_only(const char *uri)
{
  const char *scheme_end = uri ? strstr(uri, "://") : NULL;
  if (!scheme_end)
    return false;
  const char *auth = scheme_end + 3;
  const char *end = auth + strcspn(auth, "/?#");
  const char *at = memchr(auth, '@', (size_t)(end - auth));
  return at && at > auth && !memchr(auth, ':', (size_t)(at - auth));
}

/* ---- secrets in messages ------------------------------------------------ */

/* Growable list of strings that must not be printed. */
typedef struct util_words {
  char **v;
  size_t n;
  size_t cap;
} util_words_t;

static void util__words_add(util_words_t *w, const char *s, size_t len)
{
  if (!len)
    return;
  for (size_t i = 0; i < w->n; i++)
    if (strlen(w->v[i]) == len && memcmp(w->v[i], s, len) == 0)
      return;
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 16;
    char **v = realloc(w->v, cap * sizeof *v);
    if (!v)
      abort();
    w->v = v;
    w->cap = cap;
  }
  w->v[w->n] = strndup(s, len);
  if (!w->v[w->n])
    abort();
  w->n++;
}

static void util__words_free(util_words_t *w)
{
  for (size_t i = 0; i < w->n; i++) {
    explicit_bzero(w->v[i], strlen(w->v[i]));
    free(w->v[i]);
  }
  free(w->v);
}

/* Adds s[0..len) to secrets, and its pieces between the characters a
 * parser may split a URI at to pieces (a driver may quote any of them). */
static void util__add_secret(util_words_t *secrets, util_words_t *pieces,
                             const char *s, size_t len)
{
  util__words_add(secrets, s, len);
  for (size_t i = 0; i < len;) {
    size_t plen = 0;
    while (i + plen < len && !strchr("@:/?#&;,=%+ \"'`", s[i + plen]))
      plen++;
    util__words_add(pieces, s + i, plen);
    i += plen + 1;
  }
}

/* True when s[0..len) contains word, case-insensitively. */
static bool util__contains(const char *s, size_t len, const char *word)
{
  size_t wlen = strlen(word);
  for (size_t i = 0; i + wlen <= len; i++)
    if (strncasecmp(s + i, word, wlen) == 0)
      return true;
  return false;
}

/* True when a and b[0..blen) share a run of at least min characters,
 * case-insensitively. */
static bool util__share_run(const char *a, const char *b, size_t blen,
                            size_t min)
{
  size_t alen = strlen(a);
  for (size_t i = 0; i + min <= alen; i++)
    for (size_t j = 0; j + min <= blen; j++)
      if (strncasecmp(a + i, b + j, min) == 0)
        return true;
  return false;
}

/* Returns a buffer for a rewrite of a text of len bytes: room for every
 * byte to become "***", and the NUL. Aborts when out of memory, as all the
 * redaction does (a message must never go out unredacted). */
static char *util__rewrite_new(size_t len)
{
  char *out = malloc(3 * len + 1);
  if (!out)
    abort();
  return out;
}

/* Appends s[0..len) to out at *n, or "***" in its place when secret. */
static void util__rewrite_put(char *out, size_t *n, const char *s, size_t len,
                              bool secret)
{
  if (secret) {
    s = "***";
    len = 3;
  }
  memcpy(out + *n, s, len);
  *n += len;
}

/* Ends a rewrite: terminates out at n and puts it in place of *text (len
 * bytes), wiped and freed. */
static void util__rewrite_end(char **text, size_t len, char *out, size_t n)
{
  out[n] = '\0';
  explicit_bzero(*text, len);
  free(*text);
  *text = out;
}

/* Replaces every occurrence of word in *text (case-insensitively) with
 * "***". */
static void util__replace_all(char **text, const char *word)
{
  size_t len = strlen(*text), wlen = strlen(word);
  if (!wlen || !util__contains(*text, len, word))
    return;
  char *out = util__rewrite_new(len);
  size_t n = 0;
  for (const char *p = *text; *p;) {
    if (strncasecmp(p, word, wlen) == 0) {
      util__rewrite_put(out, &n, p, wlen, true);
      p += wlen;
    } else {
      out[n++] = *p++;
    }
  }
  util__rewrite_end(text, len, out, n);
}

/* Replaces with "***" each run of *text between two quote characters q that
 * holds a piece of a secret or shares four characters with a secret. */
static void util__redact_quoted(char **text, char q,
                                const util_words_t *secrets,
                                const util_words_t *pieces)
{
  size_t len = strlen(*text);
  char *out = util__rewrite_new(len);
  size_t n = 0;
  const char *p = *text;
  for (const char *open; (open = strchr(p, q));) {
    const char *close = strchr(open + 1, q);
    if (!close)
      break;
    size_t rlen = (size_t)(close - open - 1);
    bool secret = false;
    for (size_t i = 0; i < pieces->n && !secret; i++)
      secret = util__contains(open + 1, rlen, pieces->v[i]);
    for (size_t i = 0; i < secrets->n && !secret; i++)
      secret = util__share_run(secrets->v[i], open + 1, rlen, 4);
    util__rewrite_put(out, &n, p, (size_t)(open + 1 - p), false);
    util__rewrite_put(out, &n, open + 1, rlen, secret);
    out[n++] = q;
    p = close + 1;
  }
  util__rewrite_put(out, &n, p, strlen(p), false);
  util__rewrite_end(text, len, out, n);
}

/* The characters URIs are split at. */
#define UTIL_URI_DELIMS "@:/?#&;,=%+"

/* The characters a message's words are cut at: white space, punctuation
 * and what URIs are split at. */
#define UTIL_WORD_DELIMS " \t\r\n@:/?#&;,=%+\"'`[](){}<>!*|\\$"

/* Replaces with "***" each word of *text (a run between UTIL_WORD_DELIMS)
 * that may be a fragment of a secret: a whole piece of one; four characters
 * or more found in one; or two or three found in one next to a character
 * URIs are split at ("ss@host", "%zz"), not just between spaces (a long
 * random token holds many short English words). */
static void util__redact_words(char **text, const util_words_t *secrets,
                               const util_words_t *pieces)
{
  size_t len = strlen(*text);
  char *out = util__rewrite_new(len);
  size_t n = 0;
  for (const char *p = *text; *p;) {
    size_t wlen = strcspn(p, UTIL_WORD_DELIMS);
    if (!wlen) {
      out[n++] = *p++;
      continue;
    }
    bool secret = false;
    for (size_t i = 0; i < pieces->n && !secret; i++)
      secret = strlen(pieces->v[i]) == wlen &&
               strncasecmp(pieces->v[i], p, wlen) == 0;
    bool cut = (p > *text && strchr(UTIL_URI_DELIMS, p[-1])) ||
               (p[wlen] && strchr(UTIL_URI_DELIMS, p[wlen]));
    if (wlen >= 4 || (wlen >= 2 && cut))
      for (size_t i = 0; i < secrets->n && !secret; i++)
        secret = util__share_run(secrets->v[i], p, wlen, wlen);
    util__rewrite_put(out, &n, p, wlen, secret);
    p += wlen;
  }
  util__rewrite_end(text, len, out, n);
}

char *util_redact_message(const char *message, const char *uri)
{
  char *text = strdup(message ? message : "");
  if (!text)
    abort();
  if (!uri)
    return text;
  /* likely: what a driver takes for a secret and may print anywhere;
   * all: also what util_redact_uri() hides for safety (the rest of the
   * URI after a secret option), which a driver would print quoted. */
  util_words_t likely = {0}, likely_pieces = {0}, all = {0}, all_pieces = {0};
  for (int pass = 0; pass < 2; pass++) {
    util_spans_t spans = {0};
    util__secret_spans(uri, pass == 0, &spans);
    util_words_t *secrets = pass == 0 ? &likely : &all;
    util_words_t *pieces = pass == 0 ? &likely_pieces : &all_pieces;
    for (size_t i = 0; i < spans.n; i++) {
      const char *s = uri + spans.v[i].start;
      size_t len = spans.v[i].end - spans.v[i].start;
      char *decoded = util__pct_decode(s, len);
      util__add_secret(secrets, pieces, s, len);
      util__add_secret(secrets, pieces, decoded, strlen(decoded));
      explicit_bzero(decoded, strlen(decoded));
      free(decoded);
    }
    free(spans.v);
  }

  /* Whole secrets, and long enough pieces of them, wherever they are. */
  for (size_t i = 0; i < all.n; i++)
    util__replace_all(&text, all.v[i]);
  for (size_t i = 0; i < likely.n; i++)
    util__replace_all(&text, likely.v[i]);
  for (size_t i = 0; i < likely_pieces.n; i++)
    if (strlen(likely_pieces.v[i]) >= 4)
      util__replace_all(&text, likely_pieces.v[i]);
  /* Shorter fragments: a driver prints what it cut out of the URI at its
   * delimiters ("Failed to resolve ss@host" for "alice:p@ss@host"). */
  util__redact_words(&text, &likely, &likely_pieces);
  /* What a library quotes comes from the URI (libmongoc: 'Password "%s"
   * must not have unescaped chars', 'Unsupported value for "%s": "%s"'...):
   * shorter pieces are caught there. */
  if (all.n)
    for (const char *q = "\"'`"; *q; q++)
      util__redact_quoted(&text, *q, &all, &all_pieces);
  util__words_free(&likely);
  util__words_free(&likely_pieces);
  util__words_free(&all);
  util__words_free(&all_pieces);
  return text;
}

char *util_collection_from_path(const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  /* "x.csv.gz": drop the compression suffix first, then the type. */
  if (len > 3 && strcmp(base + len - 3, ".gz") == 0)
    len -= 3;
  for (size_t i = len; i > 0; i--) {
    if (base[i - 1] == '.') {
      if (i - 1 > 0)
        len = i - 1;
      break;
    }
  }
  return strndup(base, len);
}

char *util_group_thousands(uint64_t n, char *buf, size_t cap)
{
  char digits[32];
  int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
  size_t out = 0;
  for (int i = 0; i < nd && out + 1 < cap; i++) {
    if (i > 0 && (nd - i) % 3 == 0 && out + 2 < cap)
      buf[out++] = ',';
    buf[out++] = digits[i];
  }
  if (cap)
    buf[out < cap ? out : cap - 1] = '\0';
  return buf;
}

bool loader_error_is_connection(const bson_error_t *error)
{
  if (error->domain == MONGOC_ERROR_SERVER_SELECTION ||
      error->domain == MONGOC_ERROR_STREAM)
    return true;
  if (error->domain == MONGOC_ERROR_CLIENT &&
      error->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
    return true;
  /* AuthenticationFailed (18) and Unauthorized (13) from the server. */
  if ((error->domain == MONGOC_ERROR_SERVER ||
       error->domain == MONGOC_ERROR_QUERY) &&
      (error->code == 18 || error->code == 13))
    return true;
  return false;
}
