/* sink_sql_read: --verify's side of the SQL sinks: the canonical form of a
 * row, made the same way from the values a built document would bind
 * (sql_sink_canon()) and from the values a database returns (its scan,
 * through sql_canon_put()). Values are taken by their column's class, as
 * the database stores them: an integer in a REAL column is a double; text
 * and blobs are bytes. */
#include "loader/error.h"
#include "sink_sql.h"

#include <stdlib.h>
#include <string.h>

/* The tags of the canonical form: one byte before each value. */
enum {
  SQL_CANON_NULL = 'n',
  SQL_CANON_INT = 'i',
  SQL_CANON_REAL = 'r',
  SQL_CANON_BYTES = 'b'
};

void sql_canon_put(const sink_feed_t *feed, sql_class_t cls, sql_kind_t kind,
                   int64_t i, double d, const void *p, size_t len)
{
  unsigned char tag;
  if (kind == SQLV_INT && cls == SQL_REAL) {
    kind = SQLV_DOUBLE;
    d = (double)i;
  }
  switch (kind) {
  case SQLV_NULL:
    tag = SQL_CANON_NULL;
    feed->bytes(feed->ctx, &tag, 1);
    return;
  case SQLV_INT:
    tag = SQL_CANON_INT;
    feed->bytes(feed->ctx, &tag, 1);
    feed->bytes(feed->ctx, &i, sizeof i);
    return;
  case SQLV_DOUBLE:
    tag = SQL_CANON_REAL;
    if (d == 0)
      d = 0; /* -0.0 and 0.0 are one value to a database */
    feed->bytes(feed->ctx, &tag, 1);
    feed->bytes(feed->ctx, &d, sizeof d);
    return;
  case SQLV_TEXT:
  case SQLV_BLOB:
    tag = SQL_CANON_BYTES;
    uint64_t n = len;
    feed->bytes(feed->ctx, &tag, 1);
    feed->bytes(feed->ctx, &n, sizeof n);
    if (len)
      feed->bytes(feed->ctx, p, len);
    return;
  }
}

bool sql_sink_columns(sql_sink_t *s, bson_error_t *error)
{
  if (s->have_cols)
    return true;
  if (s->drv->lock)
    s->drv->lock(s);
  bool ok = s->drv->load_columns(s, error);
  if (s->drv->unlock)
    s->drv->unlock(s);
  s->have_cols = ok && s->cols.n > 0;
  return ok;
}

bool sql_sink_canon(void *sink, const bson_t *doc, const sink_feed_t *feed,
                    bool *fits, bson_error_t *error)
{
  sql_sink_t *s = sink;
  *fits = false;
  if (!sql_sink_columns(s, error))
    return false;
  *fits = true;
  if (!s->have_cols)
    return true; /* no table: the row is not there (an empty form that no
                    stored row can match, as there are none) */
  size_t n = s->cols.n;
  if (!sql_grow_exact(&s->canon_vals, &s->canon_cap, n,
                      sizeof *s->canon_vals)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  char why[256];
  if (!sql_row_from_doc(&s->cols, doc, s->canon_vals, why, sizeof why)) {
    *fits = false; /* the target refuses it */
    return true;
  }
  for (size_t c = 0; c < n; c++) {
    const sql_value_t *v = &s->canon_vals[c];
    sql_canon_put(feed, s->cols.cols[c].cls, v->kind, v->i, v->d, v->p, v->len);
  }
  return true;
}

bool sql_select_stmt(sql_buf_t *b, const sql_dialect_t *d, const sql_table_t *t,
                     const char *lead, const char *qtable)
{
  bool ok = sql_buf_addz(b, "SELECT ") && sql_buf_addz(b, lead);
  for (size_t c = 0; ok && c < t->n; c++)
    ok = (c == 0 && !*lead ? true : sql_buf_addz(b, ", ")) &&
         sql_buf_ident(b, t->cols[c].name, d->quote);
  return ok && sql_buf_addz(b, " FROM ") && sql_buf_addz(b, qtable);
}

bool sql_scan_stmt(sql_sink_t *s, const char *lead, sql_buf_t *q,
                   bson_error_t *error)
{
  if (!sql_sink_columns(s, error))
    return false;
  if (!s->have_cols)
    return true;
  if (!sql_select_stmt(q, s->drv->d, &s->cols, lead, s->qtable.s)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  return true;
}
