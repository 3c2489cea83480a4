/* sink_sql_row: the values of a document as a row of a table, each checked
 * against its column's type so that no value is changed on the way in. */
#include "loader/error.h"
#include "sink_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Renders d as the shortest text that reads back as d. */
static void sql__double_text(double d, char *buf, size_t cap)
{
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      return;
  }
}

/* Renders ms since the epoch as ISO 8601 UTC with milliseconds. */
static void sql__date_text(int64_t ms, char *buf, size_t cap)
{
  int64_t secs = ms / 1000, frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs--;
  }
  time_t t = (time_t)secs;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) {
    snprintf(buf, cap, "%" PRId64, ms);
    return;
  }
  size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, cap - n, ".%03dZ", (int)frac);
}

static const char *sql__type_name(bson_type_t type)
{
  switch (type) {
  case BSON_TYPE_UTF8:
    return "text";
  case BSON_TYPE_DOUBLE:
    return "a double";
  case BSON_TYPE_DECIMAL128:
    return "a decimal128";
  case BSON_TYPE_BINARY:
    return "binary";
  case BSON_TYPE_OID:
    return "an ObjectId";
  case BSON_TYPE_ARRAY:
    return "an array";
  case BSON_TYPE_REGEX:
    return "a regex";
  case BSON_TYPE_CODE:
  case BSON_TYPE_CODEWSCOPE:
    return "JavaScript code";
  case BSON_TYPE_TIMESTAMP:
    return "a timestamp";
  case BSON_TYPE_SYMBOL:
    return "a symbol";
  case BSON_TYPE_DBPOINTER:
    return "a DBPointer";
  case BSON_TYPE_MINKEY:
  case BSON_TYPE_MAXKEY:
    return "a min/max key";
  case BSON_TYPE_UNDEFINED:
    return "undefined";
  default:
    return "a value";
  }
}

typedef struct sql_row_ctx {
  const sql_table_t *t; /* the table */
  sql_value_t *vals;    /* the row being filled */
  char *why;            /* where to say why a document does not fit */
  size_t cap;           /* bytes at why */
} sql_row_ctx_t;

/* Says that the value at it does not fit column c. */
static bool sql__misfit(sql_row_ctx_t *ctx, const sql_column_t *c,
                        const bson_iter_t *it)
{
  if (BSON_ITER_HOLDS_UTF8(it)) {
    uint32_t len;
    const char *s = bson_iter_utf8(it, &len);
    snprintf(ctx->why, ctx->cap,
             "value \"%.*s%s\" (text) does not fit column %s (%s)",
             (int)(len > 40 ? 40 : len), s, len > 40 ? "..." : "", c->name,
             sql_class_name(c->cls));
  } else {
    snprintf(ctx->why, ctx->cap, "%s value does not fit column %s (%s)",
             sql__type_name(bson_iter_type(it)), c->name,
             sql_class_name(c->cls));
  }
  return false;
}

/* Makes v the text rendered in v->buf. */
static bool sql__buf_text(sql_value_t *v)
{
  v->kind = SQLV_TEXT;
  v->p = v->buf;
  v->len = strlen(v->buf);
  return true;
}

/* An integer, a boolean or a date: a number, or its text in a text
 * column (true/false, ISO 8601 for a date). */
static bool sql__int_value(const sql_column_t *c, const bson_iter_t *it,
                           sql_value_t *v)
{
  bson_type_t type = bson_iter_type(it);
  int64_t x = type == BSON_TYPE_INT32   ? bson_iter_int32(it)
              : type == BSON_TYPE_INT64 ? bson_iter_int64(it)
              : type == BSON_TYPE_BOOL  ? (bson_iter_bool(it) ? 1 : 0)
                                        : bson_iter_date_time(it);
  if (c->cls != SQL_TEXT) {
    v->kind = SQLV_INT;
    v->i = x;
    return true;
  }
  if (type == BSON_TYPE_BOOL)
    snprintf(v->buf, sizeof v->buf, "%s", x ? "true" : "false");
  else if (type == BSON_TYPE_DATE_TIME)
    sql__date_text(x, v->buf, sizeof v->buf);
  else
    snprintf(v->buf, sizeof v->buf, "%" PRId64, x);
  return sql__buf_text(v);
}

/* A double: refused by an integer column, its text in a text column. */
static bool sql__double_value(sql_row_ctx_t *ctx, const sql_column_t *c,
                              const bson_iter_t *it, sql_value_t *v)
{
  double d = bson_iter_double(it);
  if (c->cls == SQL_INTEGER)
    return sql__misfit(ctx, c, it);
  if (c->cls != SQL_TEXT) {
    v->kind = SQLV_DOUBLE;
    v->d = d;
    return true;
  }
  sql__double_text(d, v->buf, sizeof v->buf);
  return sql__buf_text(v);
}

/* Text, a decimal128 or an ObjectId: text, refused by number columns. */
static bool sql__text_value(sql_row_ctx_t *ctx, const sql_column_t *c,
                            const bson_iter_t *it, sql_value_t *v)
{
  if (c->cls == SQL_INTEGER || c->cls == SQL_REAL)
    return sql__misfit(ctx, c, it);
  if (BSON_ITER_HOLDS_UTF8(it)) {
    uint32_t len;
    v->p = bson_iter_utf8(it, &len);
    v->len = len;
    v->kind = SQLV_TEXT;
    return true;
  }
  if (BSON_ITER_HOLDS_OID(it)) {
    bson_oid_to_string(bson_iter_oid(it), v->buf);
  } else {
    bson_decimal128_t dec;
    bson_iter_decimal128(it, &dec);
    bson_decimal128_to_string(&dec, v->buf);
  }
  return sql__buf_text(v);
}

/* Binary: bytes, for blob columns and columns of types the loader does not
 * check. */
static bool sql__blob_value(sql_row_ctx_t *ctx, const sql_column_t *c,
                            const bson_iter_t *it, sql_value_t *v)
{
  if (c->cls != SQL_BLOB && c->cls != SQL_ANY)
    return sql__misfit(ctx, c, it);
  bson_subtype_t sub;
  uint32_t len;
  const uint8_t *bin;
  bson_iter_binary(it, &sub, &len, &bin);
  v->kind = SQLV_BLOB;
  v->p = (const char *)bin;
  v->len = len;
  return true;
}

/* Fills the value of the leaf name (at it) in ctx's row; says why and
 * returns false when it is not a column or does not fit its column. */
static bool sql__row_leaf(void *p, const char *name, const bson_iter_t *it)
{
  sql_row_ctx_t *ctx = p;
  long i = sql_table_find(ctx->t, name);
  if (i < 0) {
    snprintf(ctx->why, ctx->cap, "field %s is not a column of the table", name);
    return false;
  }
  const sql_column_t *c = &ctx->t->cols[i];
  sql_value_t *v = &ctx->vals[i];
  bson_type_t type = bson_iter_type(it);
  switch (type) {
  case BSON_TYPE_NULL:
    v->kind = SQLV_NULL;
    return true;
  case BSON_TYPE_INT32:
  case BSON_TYPE_INT64:
  case BSON_TYPE_BOOL:
  case BSON_TYPE_DATE_TIME:
    return sql__int_value(c, it, v);
  case BSON_TYPE_DOUBLE:
    return sql__double_value(ctx, c, it, v);
  case BSON_TYPE_UTF8:
  case BSON_TYPE_DECIMAL128:
  case BSON_TYPE_OID:
    return sql__text_value(ctx, c, it, v);
  case BSON_TYPE_BINARY:
    return sql__blob_value(ctx, c, it, v);
  default:
    snprintf(ctx->why, ctx->cap,
             "field %s holds %s (BSON type 0x%02x), which SQL cannot store",
             name, sql__type_name(type), (unsigned)type);
    return false;
  }
}

bool sql_row_from_doc(const sql_table_t *t, const bson_t *doc,
                      sql_value_t *vals, char *why, size_t cap)
{
  for (size_t i = 0; i < t->n; i++)
    vals[i].kind = SQLV_NULL;
  sql_row_ctx_t ctx = {.t = t, .vals = vals, .why = why, .cap = cap};
  bool too_long;
  if (sql_doc_walk(doc, sql__row_leaf, &ctx, &too_long))
    return true;
  if (too_long)
    snprintf(why, cap, "a field name is longer than %d bytes",
             SQL_NAME_MAX - 1);
  return false;
}

bool sql_rows_build(sql_rows_t *rows, const sql_table_t *t,
                    const sql_docs_t *docs, int32_t mismatch,
                    sink_write_result_t *result, bson_error_t *error)
{
  size_t ncols = t->n, n = docs->n;
  rows->n = 0;
  if (!sql_grow_exact(&rows->vals, &rows->vals_cap, n * ncols,
                      sizeof *rows->vals) ||
      !sql_grow_exact(&rows->good, &rows->good_cap, n, sizeof *rows->good))
    goto out_oom;
  size_t built = 0;
  for (size_t i = 0; i < n; i++) {
    char why[256];
    if (sql_row_from_doc(t, &docs->docs[i], &rows->vals[built * ncols], why,
                         sizeof why)) {
      rows->good[built++] = i;
    } else if (!sink_result_add_error(result, i, mismatch, why)) {
      goto out_oom;
    }
  }
  rows->n = built;
  return true;
out_oom:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return false;
}

void sql_rows_free(sql_rows_t *rows)
{
  free(rows->vals);
  free(rows->good);
  memset(rows, 0, sizeof *rows);
}
