/* sink_sql: BSON documents seen as rows, shared by the SQL sinks. */
#include "sink_sql.h"
#include "loader/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Longest dotted column name the loader builds. */
#define SQL_NAME_MAX 1024

bool sql_table_add(sql_table_t *t, const char *name, sql_class_t cls)
{
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    sql_column_t *c = realloc(t->cols, cap * sizeof *c);
    if (!c)
      return false;
    t->cols = c;
    t->cap = cap;
  }
  char *copy = strdup(name);
  if (!copy)
    return false;
  t->cols[t->n].name = copy;
  t->cols[t->n].cls = cls;
  t->n++;
  return true;
}

long sql_table_find(const sql_table_t *t, const char *name)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->cols[i].name, name) == 0)
      return (long)i;
  return -1;
}

void sql_table_clear(sql_table_t *t)
{
  for (size_t i = 0; i < t->n; i++)
    free(t->cols[i].name);
  free(t->cols);
  memset(t, 0, sizeof *t);
}

const char *sql_class_name(sql_class_t cls)
{
  switch (cls) {
  case SQL_INTEGER:
    return "INTEGER";
  case SQL_REAL:
    return "REAL";
  case SQL_BLOB:
    return "BLOB";
  case SQL_ANY:
    return "ANY";
  case SQL_NONE:
  case SQL_TEXT:
    break;
  }
  return "TEXT";
}

bool sql_docs_split(sql_docs_t *d, const batch_t *batch, bson_error_t *error)
{
  d->n = 0;
  size_t len;
  const uint8_t *data = batch_data(batch, &len);
  size_t want = batch_count(batch);
  if (want > d->cap) {
    bson_t *docs = realloc(d->docs, want * sizeof *docs);
    if (!docs) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    d->docs = docs;
    d->cap = want;
  }
  size_t pos = 0;
  while (pos + 4 <= len && d->n < want) {
    uint32_t doc_len;
    memcpy(&doc_len, data + pos, 4);
    doc_len = BSON_UINT32_FROM_LE(doc_len);
    if (doc_len < 5 || pos + doc_len > len ||
        !bson_init_static(&d->docs[d->n], data + pos, doc_len)) {
      bson_set_error(error, LOADER_ERROR_SINK, 0, "corrupt batch buffer");
      return false;
    }
    d->n++;
    pos += doc_len;
  }
  if (d->n != want) {
    bson_set_error(error, LOADER_ERROR_SINK, 0, "corrupt batch buffer");
    return false;
  }
  return true;
}

void sql_docs_cleanup(sql_docs_t *d)
{
  free(d->docs);
  memset(d, 0, sizeof *d);
}

/* Called for each leaf of a document with its dotted name; returns false to
 * stop the walk. */
typedef bool (*sql_leaf_fn)(void *ctx, const char *name, const bson_iter_t *it);

/* Walks the leaves of the document at it (depth > 0) or doc, building dotted
 * names in name[0..len). The top-level ObjectId _id (the loader's own) is
 * skipped. Returns false when fn stopped the walk or a name grew too long
 * (*too_long set). */
static bool sql__walk(bson_iter_t *it, char *name, size_t len, int depth,
                      sql_leaf_fn fn, void *ctx, bool *too_long)
{
  while (bson_iter_next(it)) {
    uint32_t klen = bson_iter_key_len(it);
    const char *key = bson_iter_key(it);
    if (depth == 0 && BSON_ITER_HOLDS_OID(it) && strcmp(key, "_id") == 0)
      continue;
    size_t n = len + (len ? 1 : 0) + klen;
    if (n >= SQL_NAME_MAX) {
      *too_long = true;
      return false;
    }
    if (len)
      name[len] = '.';
    memcpy(name + len + (len ? 1 : 0), key, klen);
    name[n] = '\0';
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
      bson_iter_t child;
      if (bson_iter_recurse(it, &child) &&
          !sql__walk(&child, name, n, depth + 1, fn, ctx, too_long))
        return false;
    } else if (!fn(ctx, name, it)) {
      return false;
    }
    name[len] = '\0';
  }
  return true;
}

static bool sql__walk_doc(const bson_t *doc, sql_leaf_fn fn, void *ctx,
                          bool *too_long)
{
  char name[SQL_NAME_MAX];
  name[0] = '\0';
  *too_long = false;
  bson_iter_t it;
  if (!bson_iter_init(&it, doc))
    return true;
  return sql__walk(&it, name, 0, 0, fn, ctx, too_long);
}

/* Walks the leaves of every document of docs with fn, which fails only when
 * out of memory. Returns false and fills error when a name grew too long or
 * fn stopped the walk. */
static bool sql__walk_docs(const sql_docs_t *docs, sql_leaf_fn fn, void *ctx,
                           bson_error_t *error)
{
  for (size_t i = 0; i < docs->n; i++) {
    bool too_long;
    if (!sql__walk_doc(&docs->docs[i], fn, ctx, &too_long)) {
      if (too_long)
        bson_set_error(error, LOADER_ERROR_SINK, 0,
                       "a column name is longer than %d bytes",
                       SQL_NAME_MAX - 1);
      else
        bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
  }
  return true;
}

/* The class a value would make its column, or SQL_NONE (null, or a type SQL
 * has no place for: those documents are refused when written). */
static sql_class_t sql__natural(const bson_iter_t *it)
{
  switch (bson_iter_type(it)) {
  case BSON_TYPE_INT32:
  case BSON_TYPE_INT64:
  case BSON_TYPE_BOOL:
  case BSON_TYPE_DATE_TIME:
    return SQL_INTEGER;
  case BSON_TYPE_DOUBLE:
    return SQL_REAL;
  case BSON_TYPE_UTF8:
  case BSON_TYPE_DECIMAL128:
  case BSON_TYPE_OID:
    return SQL_TEXT;
  case BSON_TYPE_BINARY:
    return SQL_BLOB;
  default:
    return SQL_NONE;
  }
}

/* The narrowest class holding both a and b without changing a value. */
static sql_class_t sql__widen(sql_class_t a, sql_class_t b)
{
  if (a == SQL_NONE)
    return b;
  if (b == SQL_NONE || a == b)
    return a;
  if (a == SQL_BLOB || b == SQL_BLOB)
    return SQL_BLOB;
  if ((a == SQL_INTEGER && b == SQL_REAL) ||
      (a == SQL_REAL && b == SQL_INTEGER))
    return SQL_REAL;
  return SQL_TEXT;
}

typedef struct sql_derive_ctx {
  sql_table_t *t; /* the table being derived */
  bool oom;       /* an allocation failed */
} sql_derive_ctx_t;

static bool sql__derive_leaf(void *p, const char *name, const bson_iter_t *it)
{
  sql_derive_ctx_t *ctx = p;
  long i = sql_table_find(ctx->t, name);
  if (i < 0) {
    if (!sql_table_add(ctx->t, name, SQL_NONE)) {
      ctx->oom = true;
      return false;
    }
    i = (long)ctx->t->n - 1;
  }
  sql_column_t *c = &ctx->t->cols[i];
  c->cls = sql__widen(c->cls, sql__natural(it));
  return true;
}

bool sql_table_derive(sql_table_t *t, const sql_docs_t *docs,
                      bson_error_t *error)
{
  sql_derive_ctx_t ctx = {.t = t};
  if (!sql__walk_docs(docs, sql__derive_leaf, &ctx, error))
    return false;
  for (size_t i = 0; i < t->n; i++)
    if (t->cols[i].cls == SQL_NONE)
      t->cols[i].cls = SQL_TEXT;
  return true;
}

typedef struct sql_check_ctx {
  const sql_table_t *t; /* the existing table */
  sql_table_t missing;  /* leaves that are not columns */
  bool oom;             /* an allocation failed */
} sql_check_ctx_t;

static bool sql__check_leaf(void *p, const char *name, const bson_iter_t *it)
{
  (void)it;
  sql_check_ctx_t *ctx = p;
  if (sql_table_find(ctx->t, name) >= 0 ||
      sql_table_find(&ctx->missing, name) >= 0)
    return true;
  if (!sql_table_add(&ctx->missing, name, SQL_NONE)) {
    ctx->oom = true;
    return false;
  }
  return true;
}

/* Appends the names of t to b, comma-separated, up to about max bytes. */
static void sql__list(sql_buf_t *b, const sql_table_t *t, size_t max)
{
  for (size_t i = 0; i < t->n; i++) {
    if (b->len > max) {
      sql_buf_addz(b, ", ...");
      return;
    }
    if (i)
      sql_buf_addz(b, ", ");
    sql_buf_addz(b, t->cols[i].name);
  }
}

bool sql_table_check(const sql_table_t *t, const sql_docs_t *docs,
                     const char *table, bson_error_t *error)
{
  sql_check_ctx_t ctx = {.t = t};
  bool ok = false;
  if (!sql__walk_docs(docs, sql__check_leaf, &ctx, error))
    goto out;
  if (ctx.missing.n == 0) {
    ok = true;
    goto out;
  }
  sql_buf_t msg = {0};
  sql_buf_addz(&msg, "columns do not match: ");
  sql__list(&msg, &ctx.missing, 150);
  sql_buf_addz(&msg,
               ctx.missing.n == 1 ? " is not a column" : " are not columns");
  sql_buf_addz(&msg, " of the existing table ");
  sql_buf_addz(&msg, table);
  sql_buf_addz(&msg, " (");
  sql__list(&msg, t, 330);
  sql_buf_addz(&msg, "); use --drop, or load into another table");
  bson_set_error(error, LOADER_ERROR_SINK, 0, "%s",
                 msg.s ? msg.s : "columns do not match");
  sql_buf_free(&msg);
out:
  sql_table_clear(&ctx.missing);
  return ok;
}

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
  case BSON_TYPE_DATE_TIME: {
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
    v->kind = SQLV_TEXT;
    v->p = v->buf;
    v->len = strlen(v->buf);
    return true;
  }
  case BSON_TYPE_DOUBLE: {
    double d = bson_iter_double(it);
    if (c->cls == SQL_INTEGER)
      return sql__misfit(ctx, c, it);
    if (c->cls != SQL_TEXT) {
      v->kind = SQLV_DOUBLE;
      v->d = d;
      return true;
    }
    sql__double_text(d, v->buf, sizeof v->buf);
    v->kind = SQLV_TEXT;
    v->p = v->buf;
    v->len = strlen(v->buf);
    return true;
  }
  case BSON_TYPE_UTF8: {
    if (c->cls == SQL_INTEGER || c->cls == SQL_REAL)
      return sql__misfit(ctx, c, it);
    uint32_t len;
    v->p = bson_iter_utf8(it, &len);
    v->len = len;
    v->kind = SQLV_TEXT;
    return true;
  }
  case BSON_TYPE_DECIMAL128:
  case BSON_TYPE_OID: {
    if (c->cls == SQL_INTEGER || c->cls == SQL_REAL)
      return sql__misfit(ctx, c, it);
    if (type == BSON_TYPE_OID) {
      bson_oid_to_string(bson_iter_oid(it), v->buf);
    } else {
      bson_decimal128_t dec;
      bson_iter_decimal128(it, &dec);
      bson_decimal128_to_string(&dec, v->buf);
    }
    v->kind = SQLV_TEXT;
    v->p = v->buf;
    v->len = strlen(v->buf);
    return true;
  }
  case BSON_TYPE_BINARY: {
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
  if (sql__walk_doc(doc, sql__row_leaf, &ctx, &too_long))
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
  if (n * ncols > rows->vals_cap) {
    sql_value_t *v = realloc(rows->vals, n * ncols * sizeof *v);
    if (!v)
      goto out_oom;
    rows->vals = v;
    rows->vals_cap = n * ncols;
  }
  if (n > rows->good_cap) {
    size_t *g = realloc(rows->good, n * sizeof *g);
    if (!g)
      goto out_oom;
    rows->good = g;
    rows->good_cap = n;
  }
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

bool sql_buf_add(sql_buf_t *b, const char *text, size_t len)
{
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1)
      cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
      return false;
    b->s = s;
    b->cap = cap;
  }
  memcpy(b->s + b->len, text, len);
  b->len += len;
  b->s[b->len] = '\0';
  return true;
}

bool sql_buf_addz(sql_buf_t *b, const char *text)
{
  return sql_buf_add(b, text, strlen(text));
}

bool sql_buf_ident(sql_buf_t *b, const char *name, char q)
{
  if (!sql_buf_add(b, &q, 1))
    return false;
  for (const char *p = name; *p; p++) {
    if (*p == q && !sql_buf_add(b, &q, 1))
      return false;
    if (!sql_buf_add(b, p, 1))
      return false;
  }
  return sql_buf_add(b, &q, 1);
}

bool sql_create_stmt(sql_buf_t *b, const sql_dialect_t *d, const char *table,
                     const char *qtable, const sql_docs_t *docs,
                     bson_error_t *error)
{
  sql_table_t t = {0};
  bool ok = false;
  if (!sql_table_derive(&t, docs, error))
    goto out;
  if (t.n == 0) {
    bson_set_error(error, LOADER_ERROR_SINK, 0,
                   "%s: cannot create table %s: no columns", d->name, table);
    goto out;
  }
  bool mem = sql_buf_addz(b, "CREATE TABLE IF NOT EXISTS ") &&
             sql_buf_addz(b, qtable) && sql_buf_addz(b, " (");
  for (size_t i = 0; mem && i < t.n; i++)
    mem = (i == 0 || sql_buf_addz(b, ", ")) &&
          sql_buf_ident(b, t.cols[i].name, d->quote) && sql_buf_addz(b, " ") &&
          sql_buf_addz(b, d->type(t.cols[i].cls));
  if (!mem || !sql_buf_addz(b, ")") || !sql_buf_addz(b, d->create_suffix)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  ok = true;
out:
  sql_table_clear(&t);
  return ok;
}

bool sql_insert_stmt(sql_buf_t *b, const sql_dialect_t *d, const char *qtable,
                     const sql_table_t *t, size_t rows)
{
  bool mem = sql_buf_addz(b, "INSERT INTO ") && sql_buf_addz(b, qtable) &&
             sql_buf_addz(b, " (");
  for (size_t i = 0; mem && i < t->n; i++)
    mem = (i == 0 || sql_buf_addz(b, ", ")) &&
          sql_buf_ident(b, t->cols[i].name, d->quote);
  mem = mem && sql_buf_addz(b, ") VALUES ");
  for (size_t r = 0; mem && r < rows; r++) {
    mem = sql_buf_addz(b, r ? ", (" : "(");
    for (size_t i = 0; mem && i < t->n; i++)
      mem = sql_buf_addz(b, i ? ", ?" : "?");
    mem = mem && sql_buf_addz(b, ")");
  }
  return mem;
}

/* The columns of the progress table: the key, then a mark_t's fields. */
static const char *const sql__mark_cols[1 + SQL_MARK_INTS] = {
    "key",     "offset",   "line",  "processed", "inserted",
    "updated", "rejected", "prior", "done",
};

bool sql_table_name_check(const sql_dialect_t *d, const char *table,
                          bson_error_t *error)
{
  if (strcasecmp(table, SQL_PROGRESS_TABLE) != 0)
    return true;
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "%s: %s is the loader's own table (the progress of its "
                 "loads); load into another table",
                 d->name, table);
  return false;
}

bool sql_mark_key_check(const sql_dialect_t *d, const char *key,
                        bson_error_t *error)
{
  size_t len = strlen(key);
  if (len > 0 && len <= SQL_MARK_KEY_MAX)
    return true;
  bson_set_error(error, LOADER_ERROR_SINK, 0,
                 "%s: a progress key must be 1 to %d bytes (got %zu)", d->name,
                 SQL_MARK_KEY_MAX, len);
  return false;
}

/* Appends the progress table's columns from index first on, quoted, comma
 * separated; with typed, each with its declaration (CREATE TABLE). */
static bool sql__mark_cols_add(sql_buf_t *b, const sql_dialect_t *d,
                               size_t first, bool typed)
{
  bool mem = true;
  for (size_t i = first; mem && i < 1 + SQL_MARK_INTS; i++)
    mem = (i == first || sql_buf_addz(b, ", ")) &&
          sql_buf_ident(b, sql__mark_cols[i], d->quote) &&
          (!typed ||
           (sql_buf_addz(b, " ") &&
            sql_buf_addz(b, i ? d->type(SQL_INTEGER) : d->key_type) &&
            sql_buf_addz(b, i ? " NOT NULL" : " NOT NULL PRIMARY KEY")));
  return mem;
}

bool sql_progress_create_stmt(sql_buf_t *b, const sql_dialect_t *d)
{
  return sql_buf_addz(b, "CREATE TABLE IF NOT EXISTS ") &&
         sql_buf_ident(b, SQL_PROGRESS_TABLE, d->quote) &&
         sql_buf_addz(b, " (") && sql__mark_cols_add(b, d, 0, true) &&
         sql_buf_addz(b, ")") && sql_buf_addz(b, d->create_suffix);
}

bool sql_progress_store_stmt(sql_buf_t *b, const sql_dialect_t *d)
{
  bool mem = sql_buf_addz(b, "REPLACE INTO ") &&
             sql_buf_ident(b, SQL_PROGRESS_TABLE, d->quote) &&
             sql_buf_addz(b, " (") && sql__mark_cols_add(b, d, 0, false) &&
             sql_buf_addz(b, ") VALUES (?");
  for (size_t i = 1; mem && i < 1 + SQL_MARK_INTS; i++)
    mem = sql_buf_addz(b, ", ?");
  return mem && sql_buf_addz(b, ")");
}

bool sql_progress_select_stmt(sql_buf_t *b, const sql_dialect_t *d)
{
  return sql_buf_addz(b, "SELECT ") && sql__mark_cols_add(b, d, 1, false) &&
         sql_buf_addz(b, " FROM ") &&
         sql_buf_ident(b, SQL_PROGRESS_TABLE, d->quote) &&
         sql_buf_addz(b, " WHERE ") &&
         sql_buf_ident(b, sql__mark_cols[0], d->quote) &&
         sql_buf_addz(b, " = ?");
}

void sql_mark_values(sql_value_t *vals, const char *key, const mark_t *mark)
{
  const int64_t ints[SQL_MARK_INTS] = {
      (int64_t)mark->offset,
      (int64_t)mark->line,
      (int64_t)mark->processed,
      (int64_t)mark->inserted,
      (int64_t)mark->updated,
      (int64_t)mark->rejected,
      mark->prior,
      mark->done ? 1 : 0,
  };
  vals[0].kind = SQLV_TEXT;
  vals[0].p = key;
  vals[0].len = strlen(key);
  for (size_t i = 0; i < SQL_MARK_INTS; i++) {
    vals[1 + i].kind = SQLV_INT;
    vals[1 + i].i = ints[i];
  }
}

void sql_mark_from_ints(mark_t *mark, const int64_t *ints)
{
  mark->offset = (uint64_t)ints[0];
  mark->line = (uint64_t)ints[1];
  mark->processed = (uint64_t)ints[2];
  mark->inserted = (uint64_t)ints[3];
  mark->updated = (uint64_t)ints[4];
  mark->rejected = (uint64_t)ints[5];
  mark->prior = ints[6];
  mark->done = ints[7] != 0;
}

bool sql_commit(const sql_txn_ops_t *ops, void *sink, bool in_txn,
                const char *key, const mark_t *mark, bson_error_t *error)
{
  if (key && !sql_mark_key_check(ops->d, key, error)) {
    if (in_txn)
      ops->end(sink, false, NULL);
    return false;
  }
  if (!in_txn && (!key || !ops->begin(sink, error)))
    return !key;
  if (key && !ops->store_mark(sink, key, mark, error)) {
    ops->end(sink, false, NULL);
    return false;
  }
  return ops->end(sink, true, error);
}

void sql_uncommitted_error(const sql_dialect_t *d, const char *table,
                           const char *what, bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, 0,
                 "%s: %s: cannot %s: the last write is not committed", d->name,
                 table, what);
}

void sql_buf_reset(sql_buf_t *b)
{
  b->len = 0;
  if (b->s)
    b->s[0] = '\0';
}

void sql_buf_free(sql_buf_t *b)
{
  free(b->s);
  memset(b, 0, sizeof *b);
}

#ifdef LOADER_TEST_HOOKS
unsigned sql_test_delay_ms(const char *name)
{
  const char *v = getenv(name);
  if (!v || !*v)
    return 0;
  char *end;
  errno = 0;
  unsigned long ms = strtoul(v, &end, 10);
  if (errno || *end || ms > 60000)
    return 0;
  return (unsigned)ms;
}
#endif

void sql_sleep_ms(unsigned ms)
{
  struct timespec ts = {.tv_sec = ms / 1000,
                        .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}
