/* sink_sql_row: the values of a document as a row of a table, each checked
 * against its column's type so that no value is changed on the way in. */
#include "loader/error.h"
#include "sink_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t sql_int_text(int64_t x, char *buf)
{
  char tmp[24];
  size_t n = 0;
  uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t len = 0;
  if (x < 0)
    buf[len++] = '-';
  while (n)
    buf[len++] = tmp[--n];
  buf[len] = '\0';
  return len;
}

/* Writes d as a decimal with at most 9 digits after the point when one
 * reads back as d: the integer i = d * 10^k and 10^k are exact doubles and
 * IEEE division rounds to nearest, so i / 10^k == d says that the decimal
 * i / 10^k, which strtod also rounds to nearest, is d. Returns its length,
 * or 0 when there is no such decimal (or d is zero, whose sign it would
 * lose). */
static size_t sql__decimal_text(double d, char *buf)
{
  static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4,
                               1e5, 1e6, 1e7, 1e8, 1e9};
  if (!(d > -1e15 && d < 1e15) || d == 0)
    return 0;
  for (int k = 0; k < (int)(sizeof p10 / sizeof p10[0]); k++) {
    double t = d * p10[k];
    if (!(t > -9e15 && t < 9e15))
      return 0;
    int64_t i = (int64_t)(t < 0 ? t - 0.5 : t + 0.5);
    if ((double)i / p10[k] != d)
      continue;
    char digits[24];
    size_t n = sql_int_text(i < 0 ? -i : i, digits), len = 0;
    if (i < 0)
      buf[len++] = '-';
    if (n <= (size_t)k) { /* 0.0ddd */
      buf[len++] = '0';
      buf[len++] = '.';
      for (size_t z = n; z < (size_t)k; z++)
        buf[len++] = '0';
      memcpy(buf + len, digits, n);
      len += n;
    } else {
      memcpy(buf + len, digits, n - (size_t)k);
      len += n - (size_t)k;
      if (k) {
        buf[len++] = '.';
        memcpy(buf + len, digits + n - (size_t)k, (size_t)k);
        len += (size_t)k;
      }
    }
    buf[len] = '\0';
    return len;
  }
  return 0;
}

size_t sql_double_text(double d, char *buf, size_t cap)
{
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  return strlen(buf);
}

size_t sql_double_number_text(double d, char *buf, size_t cap)
{
  size_t n = cap >= 32 ? sql__decimal_text(d, buf) : 0;
  return n ? n : sql_double_text(d, buf, cap);
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
  size_t next;          /* the column after the last leaf's: tried first */
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
static bool sql__int_value(const sql_column_t *c, bson_type_t type, int64_t x,
                           sql_value_t *v)
{
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
    sql_int_text(x, v->buf);
  return sql__buf_text(v);
}

/* A double (which an integer column refuses): a number, or its text in a
 * text column. */
static bool sql__double_fits(const sql_column_t *c, double d, sql_value_t *v)
{
  if (c->cls != SQL_TEXT) {
    v->kind = SQLV_DOUBLE;
    v->d = d;
    return true;
  }
  sql_double_text(d, v->buf, sizeof v->buf);
  return sql__buf_text(v);
}

static bool sql__double_value(sql_row_ctx_t *ctx, const sql_column_t *c,
                              const bson_iter_t *it, sql_value_t *v)
{
  if (c->cls == SQL_INTEGER)
    return sql__misfit(ctx, c, it);
  return sql__double_fits(c, bson_iter_double(it), v);
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
  long i = sql_table_find_from(ctx->t, name, ctx->next);
  if (i < 0) {
    snprintf(ctx->why, ctx->cap, "field %s is not a column of the table", name);
    return false;
  }
  ctx->next = (size_t)i + 1;
  const sql_column_t *c = &ctx->t->cols[i];
  sql_value_t *v = &ctx->vals[i];
  bson_type_t type = bson_iter_type(it);
  switch (type) {
  case BSON_TYPE_NULL:
    v->kind = SQLV_NULL;
    return true;
  case BSON_TYPE_INT32:
    return sql__int_value(c, type, bson_iter_int32(it), v);
  case BSON_TYPE_INT64:
    return sql__int_value(c, type, bson_iter_int64(it), v);
  case BSON_TYPE_BOOL:
    return sql__int_value(c, type, bson_iter_bool(it) ? 1 : 0, v);
  case BSON_TYPE_DATE_TIME:
    return sql__int_value(c, type, bson_iter_date_time(it), v);
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

/* Reads a little-endian integer of 4 or 8 bytes at p. */
static int64_t sql__le(const uint8_t *p, size_t n)
{
  if (n == 4) {
    uint32_t x;
    memcpy(&x, p, 4);
    return (int64_t)(int32_t)BSON_UINT32_FROM_LE(x);
  }
  uint64_t x;
  memcpy(&x, p, 8);
  return (int64_t)BSON_UINT64_FROM_LE(x);
}

/* Whether the n bytes at a and b are the same (n > 0): a few word loads
 * where a byte loop over a column name would take one step a byte. */
static bool sql__same(const uint8_t *a, const char *b, size_t n)
{
  uint64_t x, y;
  uint32_t u, w;
  if (n >= 8) {
    for (; n > 8; a += 8, b += 8, n -= 8) {
      memcpy(&x, a, 8);
      memcpy(&y, b, 8);
      if (x != y)
        return false;
    }
    memcpy(&x, a + n - 8, 8); /* the last 8, overlapping */
    memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    memcpy(&u, a, 4);
    memcpy(&w, b, 4);
    if (u != w)
      return false;
    memcpy(&u, a + n - 4, 4);
    memcpy(&w, b + n - 4, 4);
    return u == w;
  }
  for (; n; a++, b++, n--)
    if (*a != (uint8_t)*b)
      return false;
  return true;
}

/* Returns the byte after the NUL of the key at p when the key is name (len
 * bytes before its NUL), else NULL; reads nothing at or past end. */
static const uint8_t *sql__key_is(const uint8_t *p, const uint8_t *end,
                                  const char *name, size_t len)
{
  if ((size_t)(end - p) <= len || !sql__same(p, name, len + 1))
    return NULL;
  return p + len + 1;
}

/* The fast path of sql_row_from_doc(), for what a flat file gives: fields
 * at the top level, in the table's column order (gaps allowed), with
 * nulls, integers, booleans, doubles and text that fit their columns. It
 * reads the document's bytes (the batch's own, built by the loader) instead
 * of walking it, matching each key against the column names from the one
 * after the last field's (no search), and fills vals. Returns false, with
 * nothing said, at the first thing it does not take: the walk then does the
 * whole document and says why it does not fit, if it does not. */
static bool sql__row_flat(const sql_table_t *t, const size_t *lens,
                          const bson_t *doc, sql_value_t *vals)
{
  const uint8_t *p = bson_get_data(doc); /* (doc itself may be unaligned) */
  const uint8_t *end = p + sql__le(p, 4) - 1;
  size_t col = 0;
  for (p += 4; p < end;) {
    bson_type_t type = (bson_type_t)*p++;
    const uint8_t *val = NULL;
    if (type == BSON_TYPE_OID && (val = sql__key_is(p, end, "_id", 3))) {
      p = val + 12; /* the loader's own _id */
      continue;
    }
    for (; col < t->n; col++) {
      const char *name = t->cols[col].name;
      if ((val = sql__key_is(p, end, name, lens ? lens[col] : strlen(name))))
        break;
    }
    if (col == t->n)
      return false;
    p = val;
    const sql_column_t *c = &t->cols[col];
    sql_value_t *v = &vals[col++];
    size_t left = (size_t)(end - p);
    switch (type) {
    case BSON_TYPE_NULL:
      v->kind = SQLV_NULL;
      break;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DATE_TIME: {
      size_t n = type == BSON_TYPE_INT32 ? 4 : 8;
      if (left < n || (type == BSON_TYPE_DATE_TIME && c->cls == SQL_TEXT))
        return false;
      if (c->cls != SQL_TEXT) {
        v->kind = SQLV_INT;
        v->i = sql__le(p, n);
      } else {
        sql__int_value(c, type, sql__le(p, n), v);
      }
      p += n;
      break;
    }
    case BSON_TYPE_BOOL:
      if (left < 1)
        return false;
      sql__int_value(c, type, *p++ ? 1 : 0, v);
      break;
    case BSON_TYPE_DOUBLE: {
      if (left < 8 || c->cls == SQL_INTEGER)
        return false;
      uint64_t bits = (uint64_t)sql__le(p, 8);
      double d;
      memcpy(&d, &bits, sizeof d);
      sql__double_fits(c, d, v);
      p += 8;
      break;
    }
    case BSON_TYPE_UTF8: {
      if (left < 5 || c->cls == SQL_INTEGER || c->cls == SQL_REAL)
        return false;
      int64_t n = sql__le(p, 4);
      if (n < 1 || (size_t)n > left - 4)
        return false;
      v->kind = SQLV_TEXT;
      v->p = (const char *)p + 4;
      v->len = (size_t)n - 1;
      p += 4 + (size_t)n;
      break;
    }
    default:
      return false;
    }
  }
  return true;
}

/* sql_row_from_doc(), with the lengths of the column names when lens is
 * not NULL. */
static bool sql__row(const sql_table_t *t, const size_t *lens,
                     const bson_t *doc, sql_value_t *vals, char *why,
                     size_t cap)
{
  for (size_t i = 0; i < t->n; i++)
    vals[i].kind = SQLV_NULL;
  if (sql__row_flat(t, lens, doc, vals))
    return true;
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

bool sql_row_from_doc(const sql_table_t *t, const bson_t *doc,
                      sql_value_t *vals, char *why, size_t cap)
{
  return sql__row(t, NULL, doc, vals, why, cap);
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
  size_t *lens = malloc(ncols * sizeof *lens);
  if (!lens && ncols)
    goto out_oom;
  for (size_t c = 0; c < ncols; c++)
    lens[c] = strlen(t->cols[c].name);
  size_t built = 0;
  for (size_t i = 0; i < n; i++) {
    char why[256];
    if (sql__row(t, lens, &docs->docs[i], &rows->vals[built * ncols], why,
                 sizeof why)) {
      rows->good[built++] = i;
    } else if (!sink_result_add_error(result, i, mismatch, why)) {
      free(lens);
      goto out_oom;
    }
  }
  free(lens);
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
