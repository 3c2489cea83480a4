/* What the SQL integration tests share: a table read back from a database,
 * compared with the CSV it was loaded from, and the JSON report's tuple. */
#ifndef LOADER_TEST_SQL_CHECK_H
#define LOADER_TEST_SQL_CHECK_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_expect.h"
#include "report_check.h"

/* How a value came back. */
typedef enum rb_kind { RB_NULL, RB_INT, RB_REAL, RB_TEXT, RB_BLOB } rb_kind_t;

typedef struct rb_value {
  rb_kind_t kind; /* its storage class */
  int64_t i;      /* RB_INT */
  double d;       /* RB_REAL */
  char *s;        /* RB_TEXT / RB_BLOB, NUL-terminated (owned) */
  size_t len;     /* its length */
} rb_value_t;

/* A table read back: every row, every column. */
typedef struct rb_table {
  char **names;     /* column names (owned) */
  size_t ncols;     /* how many */
  rb_value_t *vals; /* nrows * ncols values, row by row (owned) */
  size_t nrows;     /* how many rows */
  size_t cap;       /* allocated rows */
} rb_table_t;

/* Adds a column name / starts a row; return false when out of memory. */
bool rb_add_column(rb_table_t *t, const char *name);
rb_value_t *rb_add_row(rb_table_t *t);

/* Frees the table. */
void rb_free(rb_table_t *t);

/* Compares a table read back with the CSV at path: the same columns, every
 * CSV row exactly once (matched by key), every value a faithful rendering
 * of its text (integers, reals, 0/1 for true/false, text). Returns the
 * number of rows compared, or -1 after printing the first difference. */
long rb_compare_csv(const rb_table_t *t, const char *path, const char *key);

/* data/<name> under the source tree, in a static buffer per call site. */
void sample_path(const char *name, char *buf, size_t cap);

#endif
