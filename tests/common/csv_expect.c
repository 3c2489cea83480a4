#include "csv_expect.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csvx_state {
  csvx_table_t *t;  /* the table being filled */
  csvx_row_t cur;   /* the record being read */
  bool have_header; /* the header was read */
  bool oom;         /* an allocation failed */
} csvx_state_t;

static void csvx__field(void *data, size_t len, void *p)
{
  csvx_state_t *s = p;
  char **f = realloc(s->cur.fields, (s->cur.n + 1) * sizeof *f);
  char *copy = malloc(len + 1);
  if (!f || !copy) {
    free(copy);
    if (f)
      s->cur.fields = f;
    s->oom = true;
    return;
  }
  if (len)
    memcpy(copy, data, len);
  copy[len] = '\0';
  s->cur.fields = f;
  s->cur.fields[s->cur.n++] = copy;
}

static void csvx__row(int c, void *p)
{
  (void)c;
  csvx_state_t *s = p;
  if (!s->have_header) {
    s->t->header = s->cur;
    s->have_header = true;
  } else {
    csvx_row_t *rows = realloc(s->t->rows, (s->t->n_rows + 1) * sizeof *rows);
    if (!rows) {
      s->oom = true;
      return;
    }
    s->t->rows = rows;
    s->t->rows[s->t->n_rows++] = s->cur;
  }
  s->cur = (csvx_row_t){0};
}

static int csvx__no_space(unsigned char c)
{
  (void)c;
  return 0;
}

bool csvx_load(const char *path, csvx_table_t *t)
{
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "csvx: cannot open %s\n", path);
    return false;
  }
  struct csv_parser p;
  csv_init(&p, 0);
  csv_set_space_func(&p, csvx__no_space);
  csvx_state_t s = {.t = t};
  char buf[65536];
  size_t n;
  bool first = true;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    size_t skip = 0;
    if (first && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
      skip = 3;
    first = false;
    csv_parse(&p, buf + skip, n - skip, csvx__field, csvx__row, &s);
  }
  csv_fini(&p, csvx__field, csvx__row, &s);
  csv_free(&p);
  fclose(f);
  if (s.oom) {
    fprintf(stderr, "csvx: out of memory reading %s\n", path);
    return false;
  }
  return true;
}

static void csvx__free_row(csvx_row_t *r)
{
  for (size_t i = 0; i < r->n; i++)
    free(r->fields[i]);
  free(r->fields);
}

void csvx_free(csvx_table_t *t)
{
  csvx__free_row(&t->header);
  for (size_t i = 0; i < t->n_rows; i++)
    csvx__free_row(&t->rows[i]);
  free(t->rows);
  memset(t, 0, sizeof *t);
}

int csvx_column(const csvx_table_t *t, const char *name)
{
  for (size_t i = 0; i < t->header.n; i++)
    if (strcmp(t->header.fields[i], name) == 0)
      return (int)i;
  return -1;
}

/* The loader's inference rules, written again from the README (not from
 * types.c): true/false; a canonical integer -?(0|[1-9][0-9]*) (not "-0")
 * as int32, int64 past it, a string past int64; a decimal
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? with a fraction or an
 * exponent as a double when finite; anything else a string. */
bson_type_t csvx_inferred_type(const char *text)
{
  if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
    return BSON_TYPE_BOOL;
  const char *p = text;
  if (*p == '-')
    p++;
  if (!(*p >= '0' && *p <= '9'))
    return BSON_TYPE_UTF8;
  const char *digits = p;
  while (*p >= '0' && *p <= '9')
    p++;
  if (*digits == '0' && p - digits > 1)
    return BSON_TYPE_UTF8; /* a leading zero: an identifier */
  if (!*p) {
    if (strcmp(text, "-0") == 0)
      return BSON_TYPE_UTF8;
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE)
      return BSON_TYPE_UTF8;
    return v >= INT32_MIN && v <= INT32_MAX ? BSON_TYPE_INT32 : BSON_TYPE_INT64;
  }
  bool frac_or_exp = false;
  if (*p == '.') {
    const char *f = ++p;
    while (*p >= '0' && *p <= '9')
      p++;
    if (p == f)
      return BSON_TYPE_UTF8;
    frac_or_exp = true;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-')
      p++;
    const char *e = p;
    while (*p >= '0' && *p <= '9')
      p++;
    if (p == e)
      return BSON_TYPE_UTF8;
    frac_or_exp = true;
  }
  if (*p || !frac_or_exp || !isfinite(strtod(text, NULL)))
    return BSON_TYPE_UTF8;
  return BSON_TYPE_DOUBLE;
}

static const char *csvx__type_name(bson_type_t t)
{
  switch (t) {
  case BSON_TYPE_UTF8:
    return "string";
  case BSON_TYPE_INT32:
    return "int32";
  case BSON_TYPE_INT64:
    return "int64";
  case BSON_TYPE_DOUBLE:
    return "double";
  case BSON_TYPE_BOOL:
    return "bool";
  default:
    return "another type";
  }
}

bool csvx_value_matches(const bson_iter_t *it, const char *text, char *why,
                        size_t cap)
{
  bson_type_t want = csvx_inferred_type(text);
  if (bson_iter_type(it) != want) {
    snprintf(why, cap, "\"%s\" stored as %s (0x%02x), inferred it is %s", text,
             csvx__type_name(bson_iter_type(it)), (unsigned)bson_iter_type(it),
             csvx__type_name(want));
    return false;
  }
  return csvx_value_equals(it, text, why, cap);
}

bool csvx_value_equals(const bson_iter_t *it, const char *text, char *why,
                       size_t cap)
{
  char buf[64];
  switch (bson_iter_type(it)) {
  case BSON_TYPE_UTF8: {
    uint32_t len;
    const char *s = bson_iter_utf8(it, &len);
    if (len == strlen(text) && memcmp(s, text, len) == 0)
      return true;
    snprintf(why, cap, "string \"%s\" != \"%s\"", s, text);
    return false;
  }
  case BSON_TYPE_INT32:
    snprintf(buf, sizeof buf, "%" PRId32, bson_iter_int32(it));
    break;
  case BSON_TYPE_INT64:
    snprintf(buf, sizeof buf, "%" PRId64, bson_iter_int64(it));
    break;
  case BSON_TYPE_BOOL:
    snprintf(buf, sizeof buf, "%s", bson_iter_bool(it) ? "true" : "false");
    break;
  case BSON_TYPE_DOUBLE: {
    char *end;
    double expect = strtod(text, &end);
    if (*text && !*end && expect == bson_iter_double(it))
      return true;
    snprintf(why, cap, "double %.17g != \"%s\"", bson_iter_double(it), text);
    return false;
  }
  default:
    snprintf(why, cap, "unexpected BSON type 0x%02x for \"%s\"",
             (unsigned)bson_iter_type(it), text);
    return false;
  }
  if (strcmp(buf, text) == 0)
    return true;
  snprintf(why, cap, "%s (as %s) != \"%s\"", buf,
           bson_iter_type(it) == BSON_TYPE_BOOL ? "bool" : "integer", text);
  return false;
}

/* Renders the value at it as text, for matching a document to its row. */
static void csvx__key_text(const bson_iter_t *it, char *buf, size_t cap)
{
  switch (bson_iter_type(it)) {
  case BSON_TYPE_UTF8:
    snprintf(buf, cap, "%s", bson_iter_utf8(it, NULL));
    break;
  case BSON_TYPE_INT32:
    snprintf(buf, cap, "%" PRId32, bson_iter_int32(it));
    break;
  case BSON_TYPE_INT64:
    snprintf(buf, cap, "%" PRId64, bson_iter_int64(it));
    break;
  default:
    snprintf(buf, cap, "?");
  }
}

typedef struct csvx_key {
  const char *text; /* key column text */
  size_t row;       /* row index */
} csvx_key_t;

static int csvx__cmp_key(const void *a, const void *b)
{
  return strcmp(((const csvx_key_t *)a)->text, ((const csvx_key_t *)b)->text);
}

/* Compares coll with t; with strings, every value must be the field's text
 * as a string, else what inference makes of it. */
static long csvx__compare(mongoc_collection_t *coll, const csvx_table_t *t,
                          const char *key_column, bool strings)
{
  int key = csvx_column(t, key_column);
  if (key < 0) {
    fprintf(stderr, "csvx: no column %s\n", key_column);
    return -1;
  }
  csvx_key_t *keys = calloc(t->n_rows + 1, sizeof *keys);
  bool *seen = calloc(t->n_rows + 1, sizeof *seen);
  for (size_t i = 0; i < t->n_rows; i++)
    keys[i] = (csvx_key_t){t->rows[i].fields[key], i};
  qsort(keys, t->n_rows, sizeof *keys, csvx__cmp_key);

  long compared = -1;
  bson_t filter = BSON_INITIALIZER;
  mongoc_cursor_t *cursor =
      mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
  const bson_t *doc;
  long n = 0;
  while (mongoc_cursor_next(cursor, &doc)) {
    bson_iter_t it;
    char text[512];
    if (!bson_iter_init_find(&it, doc, key_column)) {
      fprintf(stderr, "csvx: a document has no %s\n", key_column);
      goto out;
    }
    csvx__key_text(&it, text, sizeof text);
    csvx_key_t probe = {text, 0};
    csvx_key_t *hit =
        bsearch(&probe, keys, t->n_rows, sizeof *keys, csvx__cmp_key);
    if (!hit) {
      fprintf(stderr, "csvx: document %s=%s is not in the file\n", key_column,
              text);
      goto out;
    }
    if (seen[hit->row]) {
      fprintf(stderr, "csvx: row %s=%s landed twice\n", key_column, text);
      goto out;
    }
    seen[hit->row] = true;
    const csvx_row_t *row = &t->rows[hit->row];
    size_t fields = 0;
    bool has_id = false;
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it)) {
      const char *k = bson_iter_key(&it);
      if (strcmp(k, "_id") == 0 && csvx_column(t, "_id") < 0) {
        has_id = true;
        continue;
      }
      int col = csvx_column(t, k);
      if (col < 0) {
        fprintf(stderr, "csvx: unexpected field %s in %s=%s\n", k, key_column,
                text);
        goto out;
      }
      char why[1024];
      bool ok;
      if (strings) {
        ok = BSON_ITER_HOLDS_UTF8(&it) &&
             csvx_value_equals(&it, row->fields[col], why, sizeof why);
        if (!BSON_ITER_HOLDS_UTF8(&it))
          snprintf(why, sizeof why, "\"%s\" not stored as a string",
                   row->fields[col]);
      } else {
        ok = csvx_value_matches(&it, row->fields[col], why, sizeof why);
      }
      if (!ok) {
        fprintf(stderr, "csvx: %s=%s field %s: %s\n", key_column, text, k, why);
        goto out;
      }
      fields++;
    }
    if (fields != t->header.n || (!has_id && csvx_column(t, "_id") < 0)) {
      fprintf(stderr, "csvx: %s=%s has %zu of %zu fields%s\n", key_column, text,
              fields, t->header.n, has_id ? "" : ", no _id");
      goto out;
    }
    n++;
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor, &error)) {
    fprintf(stderr, "csvx: find failed: %s\n", error.message);
    goto out;
  }
  compared = n;
out:
  mongoc_cursor_destroy(cursor);
  bson_destroy(&filter);
  free(keys);
  free(seen);
  return compared;
}

long csvx_compare_collection(mongoc_collection_t *coll, const csvx_table_t *t,
                             const char *key_column)
{
  return csvx__compare(coll, t, key_column, false);
}

long csvx_compare_collection_strings(mongoc_collection_t *coll,
                                     const csvx_table_t *t,
                                     const char *key_column)
{
  return csvx__compare(coll, t, key_column, true);
}
