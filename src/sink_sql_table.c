/* sink_sql_table: the columns of a table, the documents of a batch, and
 * the walk over a document's leaves that both the derivation of a new
 * table's columns and the check against an existing table's columns use. */
#include "loader/error.h"
#include "sink_sql.h"

#include <stdlib.h>
#include <string.h>

bool sql_grow(void *itemsp, size_t *cap, size_t want, size_t size)
{
  if (want <= *cap)
    return true;
  size_t n = *cap ? *cap : 16;
  while (n < want)
    n *= 2;
  return sql_grow_exact(itemsp, cap, n, size);
}

bool sql_grow_exact(void *itemsp, size_t *cap, size_t want, size_t size)
{
  if (want <= *cap)
    return true;
  void *items;
  memcpy(&items, itemsp, sizeof items);
  void *p = realloc(items, want * size);
  if (!p)
    return false;
  memcpy(itemsp, &p, sizeof p);
  *cap = want;
  return true;
}

bool sql_table_add(sql_table_t *t, const char *name, sql_class_t cls)
{
  if (!sql_grow(&t->cols, &t->cap, t->n + 1, sizeof *t->cols))
    return false;
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
  return sql_table_find_from(t, name, 0);
}

long sql_table_find_from(const sql_table_t *t, const char *name, size_t hint)
{
  if (hint < t->n && strcmp(t->cols[hint].name, name) == 0)
    return (long)hint;
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
  if (!sql_grow_exact(&d->docs, &d->cap, want, sizeof *d->docs)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
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

bool sql_doc_walk(const bson_t *doc, sql_leaf_fn fn, void *ctx, bool *too_long)
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
    if (!sql_doc_walk(&docs->docs[i], fn, ctx, &too_long)) {
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
  size_t next;    /* the column after the last leaf's: tried first */
  bool oom;       /* an allocation failed */
} sql_derive_ctx_t;

static bool sql__derive_leaf(void *p, const char *name, const bson_iter_t *it)
{
  sql_derive_ctx_t *ctx = p;
  long i = sql_table_find_from(ctx->t, name, ctx->next);
  if (i < 0) {
    if (!sql_table_add(ctx->t, name, SQL_NONE)) {
      ctx->oom = true;
      return false;
    }
    i = (long)ctx->t->n - 1;
  }
  ctx->next = (size_t)i + 1;
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
  size_t next;          /* the column after the last leaf's: tried first */
  bool oom;             /* an allocation failed */
} sql_check_ctx_t;

static bool sql__check_leaf(void *p, const char *name, const bson_iter_t *it)
{
  (void)it;
  sql_check_ctx_t *ctx = p;
  long i = sql_table_find_from(ctx->t, name, ctx->next);
  if (i >= 0) {
    ctx->next = (size_t)i + 1;
    return true;
  }
  if (sql_table_find(&ctx->missing, name) >= 0)
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
