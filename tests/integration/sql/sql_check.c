#include "sql_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_loader.h"

bool rb_add_column(rb_table_t *t, const char *name)
{
  char **n = realloc(t->names, (t->ncols + 1) * sizeof *n);
  if (!n)
    return false;
  t->names = n;
  t->names[t->ncols] = strdup(name);
  return t->names[t->ncols++] != NULL;
}

rb_value_t *rb_add_row(rb_table_t *t)
{
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    rb_value_t *v = realloc(t->vals, cap * t->ncols * sizeof *v);
    if (!v)
      return NULL;
    t->vals = v;
    t->cap = cap;
  }
  rb_value_t *row = &t->vals[t->nrows++ * t->ncols];
  memset(row, 0, t->ncols * sizeof *row);
  return row;
}

void rb_free(rb_table_t *t)
{
  for (size_t i = 0; i < t->nrows * t->ncols; i++)
    free(t->vals[i].s);
  for (size_t i = 0; i < t->ncols; i++)
    free(t->names[i]);
  free(t->vals);
  free(t->names);
  memset(t, 0, sizeof *t);
}

/* Whether text reads as exactly the integer x (canonical form), or as the
 * boolean x (true = 1). */
static bool rb__int_matches(int64_t x, const char *text)
{
  if (strcmp(text, "true") == 0)
    return x == 1;
  if (strcmp(text, "false") == 0)
    return x == 0;
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, x);
  return strcmp(buf, text) == 0;
}

static bool rb__real_matches(double d, const char *text)
{
  char *end;
  errno = 0;
  double want = strtod(text, &end);
  return *text && !*end && want == d;
}

/* Text stored as text must be the CSV text; a number the loader inferred and
 * stored in a TEXT column is its rendering, so it may differ in form only
 * (1.50 vs 1.5). */
static bool rb__text_matches(const char *s, size_t len, const char *text)
{
  if (len == strlen(text) && memcmp(s, text, len) == 0)
    return true;
  char *e1, *e2;
  double a = strtod(s, &e1), b = strtod(text, &e2);
  return *s && *text && !*e1 && !*e2 && a == b;
}

typedef struct rb_key {
  const char *text; /* key text */
  size_t row;       /* CSV row */
} rb_key_t;

static int rb__cmp(const void *a, const void *b)
{
  return strcmp(((const rb_key_t *)a)->text, ((const rb_key_t *)b)->text);
}

static void rb__text(const rb_value_t *v, char *buf, size_t cap)
{
  switch (v->kind) {
  case RB_INT:
    snprintf(buf, cap, "%" PRId64, v->i);
    break;
  case RB_REAL:
    snprintf(buf, cap, "%.17g", v->d);
    break;
  case RB_TEXT:
  case RB_BLOB:
    snprintf(buf, cap, "%s", v->s);
    break;
  default:
    snprintf(buf, cap, "NULL");
  }
}

long rb_compare_csv(const rb_table_t *t, const char *path, const char *key)
{
  csvx_table_t csv;
  if (!csvx_load(path, &csv))
    return -1;
  long result = -1;
  size_t *col_of = calloc(t->ncols + 1, sizeof *col_of);
  rb_key_t *keys = calloc(csv.n_rows + 1, sizeof *keys);
  bool *seen = calloc(csv.n_rows + 1, sizeof *seen);
  int key_csv = csvx_column(&csv, key);
  long key_tab = -1;
  if (t->ncols != csv.header.n) {
    fprintf(stderr, "sql_check: %zu columns, the CSV has %zu\n", t->ncols,
            csv.header.n);
    goto out;
  }
  for (size_t c = 0; c < t->ncols; c++) {
    int k = csvx_column(&csv, t->names[c]);
    if (k < 0) {
      fprintf(stderr, "sql_check: column %s is not in the CSV\n", t->names[c]);
      goto out;
    }
    col_of[c] = (size_t)k;
    if (k == key_csv)
      key_tab = (long)c;
  }
  if (key_csv < 0 || key_tab < 0) {
    fprintf(stderr, "sql_check: no key column %s\n", key);
    goto out;
  }
  for (size_t i = 0; i < csv.n_rows; i++)
    keys[i] = (rb_key_t){csv.rows[i].fields[key_csv], i};
  qsort(keys, csv.n_rows, sizeof *keys, rb__cmp);

  for (size_t r = 0; r < t->nrows; r++) {
    const rb_value_t *row = &t->vals[r * t->ncols];
    char ktext[512];
    rb__text(&row[key_tab], ktext, sizeof ktext);
    rb_key_t probe = {ktext, 0};
    rb_key_t *hit = bsearch(&probe, keys, csv.n_rows, sizeof *keys, rb__cmp);
    if (!hit) {
      fprintf(stderr, "sql_check: row %s=%s is not in the file\n", key, ktext);
      goto out;
    }
    if (seen[hit->row]) {
      fprintf(stderr, "sql_check: row %s=%s landed twice\n", key, ktext);
      goto out;
    }
    seen[hit->row] = true;
    const csvx_row_t *want = &csv.rows[hit->row];
    for (size_t c = 0; c < t->ncols; c++) {
      const rb_value_t *v = &row[c];
      const char *text = want->fields[col_of[c]];
      bool ok = false;
      switch (v->kind) {
      case RB_INT:
        ok = rb__int_matches(v->i, text);
        break;
      case RB_REAL:
        ok = rb__real_matches(v->d, text);
        break;
      case RB_TEXT:
      case RB_BLOB:
        ok = rb__text_matches(v->s, v->len, text);
        break;
      case RB_NULL:
        ok = false;
        break;
      }
      if (!ok) {
        char got[512];
        rb__text(v, got, sizeof got);
        fprintf(stderr,
                "sql_check: %s=%s column %s: got %s (kind %d), CSV "
                "has \"%s\"\n",
                key, ktext, t->names[c], got, (int)v->kind, text);
        goto out;
      }
    }
  }
  for (size_t i = 0; i < csv.n_rows; i++)
    if (!seen[i]) {
      fprintf(stderr, "sql_check: CSV row %s=%s did not land\n", key,
              csv.rows[i].fields[key_csv]);
      goto out;
    }
  result = (long)t->nrows;
out:
  free(col_of);
  free(keys);
  free(seen);
  csvx_free(&csv);
  return result;
}

void sample_path(const char *name, char *buf, size_t cap)
{
  const char *src = getenv("LOADER_SOURCE_DIR");
  snprintf(buf, cap, "%s/data/%s", src && *src ? src : ".", name);
}
