/* sink_sql_index: --index on SQL targets, once the load is over.
 *
 * CREATE [UNIQUE] INDEX name ON table (col ASC|DESC, ...): every key must
 * be a column of the table (dotted names are columns too: the loader
 * flattens nested documents), names are quoted, and an index of the same
 * name on the table leaves it as it is (createIndexes' semantics). A
 * unique index refused because rows share a key gets its first duplicate
 * keys from GROUP BY ... HAVING COUNT(*) > 1, bounded by LIMIT. Each
 * database plugs in its query, its index list and its key parts through
 * sql_driver_t. */
#include "loader/error.h"
#include "sink_sql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills error with "out of memory" and returns false. */
static bool sql_index__oom(bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
  return false;
}

/* Loads the table's columns and checks every key of index is one. */
static bool sql_index__columns(sql_sink_t *s, const sink_index_t *index,
                               bson_error_t *error)
{
  if (!s->drv->load_columns(s, error))
    return false;
  if (s->cols.n == 0) {
    bson_set_error(error, LOADER_ERROR_SINK, 0, "%s: table %s does not exist",
                   s->drv->d->name, s->table);
    return false;
  }
  for (size_t i = 0; i < index->n_keys; i++)
    if (sql_table_find(&s->cols, index->keys[i].field) < 0) {
      bson_set_error(error, LOADER_ERROR_SINK, 0,
                     "%s: table %s has no column \"%s\"", s->drv->d->name,
                     s->table, index->keys[i].field);
      return false;
    }
  return true;
}

/* Looks for an index called name in the table's index list. */
typedef struct sql_index_find {
  const char *name; /* the index looked for */
  size_t column;    /* the list's column holding names */
  bool found;       /* it is there */
} sql_index_find_t;

static bool sql_index__on_name(void *p, const char *const *vals, size_t n)
{
  sql_index_find_t *f = p;
  if (f->column < n && vals[f->column] && strcmp(vals[f->column], f->name) == 0)
    f->found = true;
  return !f->found;
}

bool sql_sink_index_create(void *sink, const sink_index_t *index,
                           sink_index_result_t *result, bson_error_t *error)
{
  sql_sink_t *s = sink;
  const sql_driver_t *drv = s->drv;
  char name[sizeof result->name];
  bool ok = false;
  sql_buf_t q = {0};
  if (!index->name) {
    /* SQLite's index names are per database: the table's name first. */
    int n = snprintf(name, sizeof name, "%s_%s", s->table, result->name);
    if (n < 0 || (size_t)n >= sizeof name) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "the index's default name is longer than %zu bytes: "
                     "give it one with name=NAME",
                     sizeof name - 1);
      return false;
    }
    memcpy(result->name, name, sizeof name);
  }
  sql_sink_lock(s);
  if (!sql_index__columns(s, index, error))
    goto out;
  sql_index_find_t find = {.name = result->name,
                           .column = drv->index_list_name};
  if (!sql_buf_addz(&q, drv->index_list) || !sql_buf_addz(&q, s->qtable.s) ||
      !sql_buf_addz(&q, drv->index_list_end)) {
    sql_index__oom(error);
    goto out;
  }
  if (!drv->query(s, q.s, sql_index__on_name, &find, error))
    goto out;
  if (find.found) {
    ok = true; /* there already: left as it is */
    goto out;
  }
  sql_buf_reset(&q);
  bool mem = sql_buf_addz(&q, index->unique ? "CREATE UNIQUE INDEX "
                                            : "CREATE INDEX ") &&
             sql_buf_ident(&q, result->name, drv->d->quote) &&
             sql_buf_addz(&q, " ON ") && sql_buf_addz(&q, s->qtable.s) &&
             sql_buf_addz(&q, " (");
  for (size_t i = 0; mem && i < index->n_keys; i++) {
    const char *col = index->keys[i].field;
    if (i && !sql_buf_addz(&q, ", "))
      mem = false;
    else if (drv->index_key) {
      if (!drv->index_key(s, col, index->n_keys, &q, error))
        goto out;
    } else if (!sql_buf_ident(&q, col, drv->d->quote))
      mem = false;
    if (mem &&
        !sql_buf_addz(&q, index->keys[i].direction < 0 ? " DESC" : " ASC"))
      mem = false;
  }
  if (!mem || !sql_buf_addz(&q, ")")) {
    sql_index__oom(error);
    goto out;
  }
  char what[300];
  snprintf(what, sizeof what, "cannot create index %.100s on %.150s",
           result->name, s->table);
  ok = drv->exec(s, q.s, what, error);
  if (ok)
    result->created = true;
  else
    result->duplicates =
        index->unique && (int32_t)error->code == drv->duplicate;
out:
  sql_sink_unlock(s);
  sql_buf_free(&q);
  return ok;
}

/* Collects the rows of the duplicates query into dups. */
typedef struct sql_index_dups {
  const sql_sink_t *s;       /* the sink (its columns' classes) */
  const sink_index_t *index; /* the index */
  bson_t *dups;              /* where each key goes */
  size_t n;                  /* keys so far */
} sql_index_dups_t;

static bool sql_index__on_dup(void *p, const char *const *vals, size_t n)
{
  sql_index_dups_t *d = p;
  const sink_index_t *ix = d->index;
  if (n != ix->n_keys + 1)
    return false;
  char k[24];
  bson_t one, key;
  snprintf(k, sizeof k, "%zu", d->n++);
  bson_append_document_begin(d->dups, k, -1, &one);
  BSON_APPEND_DOCUMENT_BEGIN(&one, "key", &key);
  for (size_t i = 0; i < ix->n_keys; i++) {
    const char *f = ix->keys[i].field;
    long c = sql_table_find(&d->s->cols, f);
    sql_class_t cls = c < 0 ? SQL_ANY : d->s->cols.cols[c].cls;
    char *end;
    if (!vals[i]) {
      bson_append_null(&key, f, -1);
      continue;
    }
    errno = 0;
    if (cls == SQL_INTEGER) {
      long long v = strtoll(vals[i], &end, 10);
      if (!*end && !errno) {
        bson_append_int64(&key, f, -1, v);
        continue;
      }
    } else if (cls == SQL_REAL) {
      double v = strtod(vals[i], &end);
      if (!*end && !errno) {
        bson_append_double(&key, f, -1, v);
        continue;
      }
    }
    bson_append_utf8(&key, f, -1, vals[i], -1);
  }
  bson_append_document_end(&one, &key);
  BSON_APPEND_INT64(&one, "count",
                    vals[ix->n_keys] ? atoll(vals[ix->n_keys]) : 0);
  bson_append_document_end(d->dups, &one);
  return true;
}

bool sql_sink_index_duplicates(void *sink, const sink_index_t *index,
                               size_t max, bson_t *dups, bson_error_t *error)
{
  sql_sink_t *s = sink;
  const sql_driver_t *drv = s->drv;
  char q_quote = drv->d->quote;
  sql_buf_t q = {0}, cols = {0};
  bool ok = false, mem = true;
  sql_sink_lock(s);
  if (!sql_index__columns(s, index, error))
    goto out;
  for (size_t i = 0; mem && i < index->n_keys; i++)
    mem = (!i || sql_buf_addz(&cols, ", ")) &&
          sql_buf_ident(&cols, index->keys[i].field, q_quote);
  mem = mem && sql_buf_addz(&q, "SELECT ") && sql_buf_addz(&q, cols.s) &&
        sql_buf_addz(&q, ", COUNT(*) FROM ") && sql_buf_addz(&q, s->qtable.s) &&
        sql_buf_addz(&q, " WHERE ");
  for (size_t i = 0; mem && i < index->n_keys; i++)
    mem = (!i || sql_buf_addz(&q, " AND ")) &&
          sql_buf_ident(&q, index->keys[i].field, q_quote) &&
          sql_buf_addz(&q, " IS NOT NULL");
  char limit[64];
  snprintf(limit, sizeof limit, " HAVING COUNT(*) > 1 LIMIT %zu", max);
  mem = mem && sql_buf_addz(&q, " GROUP BY ") && sql_buf_addz(&q, cols.s) &&
        sql_buf_addz(&q, limit);
  if (!mem) {
    sql_index__oom(error);
    goto out;
  }
  sql_index_dups_t d = {.s = s, .index = index, .dups = dups};
  ok = drv->query(s, q.s, sql_index__on_dup, &d, error);
out:
  sql_sink_unlock(s);
  sql_buf_free(&q);
  sql_buf_free(&cols);
  return ok;
}
