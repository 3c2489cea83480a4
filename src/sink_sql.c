/* sink_sql: what the SQL sinks share as sinks. A batch's write (its
 * documents made rows, the table made or checked, one transaction of
 * multi-row INSERTs with the rows a statement refused found one by one, a
 * transaction retried when the database asks), the commit with the job's
 * mark, DROP TABLE: the same steps for SQLite and MySQL, each driving its
 * database through its sql_driver_t. The part of a write that needs no
 * database (documents split, rows made and checked, the driver's bulk
 * text) may be done ahead, by sql_sink_prepare(), while another sink
 * writes. */
#include "loader/error.h"
#include "sink_sql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Fills error for what (a write, a drop) asked of the sink of table while
 * its last write is not committed. */
static void sql__uncommitted_error(const sql_dialect_t *d, const char *table,
                                   const char *what, bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, 0,
                 "%s: %s: cannot %s: the last write is not committed", d->name,
                 table, what);
}

/* Finalizes the cached INSERTs, which name the table's columns. */
static void sql__forget_statements(sql_sink_t *s)
{
  if (s->multi)
    s->drv->finalize(s->multi);
  if (s->single)
    s->drv->finalize(s->single);
  s->multi = s->single = NULL;
  s->multi_rows = 0;
}

void sql_sink_cleanup(sql_sink_t *s)
{
  if (s->in_txn)
    s->drv->end(s, false, NULL);
  sql__forget_statements(s);
  free(s->table);
  sql_buf_free(&s->qtable);
  sql_table_clear(&s->cols);
  sql_docs_cleanup(&s->docs);
  sql_rows_free(&s->rows);
  free(s->canon_vals);
}

void *sql_sink_new(size_t size, const sql_driver_t *drv, const char *collection,
                   bson_error_t *error)
{
  if (!sql_table_name_check(drv->d, collection, error))
    return NULL;
  sql_sink_t *s = calloc(1, size);
  if (!s)
    goto out_oom;
  s->drv = drv;
  if (!(s->table = strdup(collection)) ||
      !sql_buf_ident(&s->qtable, collection, drv->d->quote))
    goto out_oom;
  return s;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  if (s)
    sql_sink_cleanup(s);
  free(s);
  return NULL;
}

/* Takes / releases what guards a statement outside a transaction. */
static void sql__lock(sql_sink_t *s)
{
  if (s->drv->lock)
    s->drv->lock(s);
}

static void sql__unlock(sql_sink_t *s)
{
  if (s->drv->unlock)
    s->drv->unlock(s);
}

void sql_sink_lock(sql_sink_t *s)
{
  sql__lock(s);
}

void sql_sink_unlock(sql_sink_t *s)
{
  sql__unlock(s);
}

/* Makes sure the table exists, creating it from the batch's documents, and
 * with check that the batch's fields are its columns. */
static bool sql__ensure_table(sql_sink_t *s, bool check, bson_error_t *error)
{
  const sql_driver_t *drv = s->drv;
  bool ok = false;
  sql_buf_t q = {0};
  sql__lock(s);
  if (!drv->load_columns(s, error))
    goto out;
  if (s->cols.n == 0) {
    if (!sql_create_stmt(&q, drv->d, s->table, s->qtable.s, &s->docs, error))
      goto out;
    char what[300];
    snprintf(what, sizeof what, "cannot create table %.200s", s->table);
    if (!drv->exec(s, q.s, what, error) || !drv->load_columns(s, error))
      goto out;
  }
  if (check && !sql_table_check(&s->cols, &s->docs, s->table, error))
    goto out;
  s->have_cols = true;
  ok = true;
out:
  sql__unlock(s);
  sql_buf_free(&q);
  return ok;
}

/* Inserts rows [first, first + k) of s->rows one at a time: the rows the
 * database refuses become per-document errors in result. Call in the
 * transaction. */
static sql_step_t sql__insert_each(sql_sink_t *s, size_t first, size_t k,
                                   uint64_t *landed,
                                   sink_write_result_t *result,
                                   bson_error_t *error)
{
  const sql_driver_t *drv = s->drv;
  if (!s->single && !(s->single = drv->prepare(s, 1, error)))
    return SQL_STEP_FAIL;
  for (size_t r = first; r < first + k; r++) {
    sql_refusal_t why;
    sql_step_t out = drv->run(s, s->single, r, 1, &why, error);
    if (out == SQL_STEP_OK) {
      (*landed)++;
    } else if (out != SQL_STEP_ROW) {
      return out;
    } else if (!sink_result_add_error(result, s->rows.good[r], why.code,
                                      why.message)) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return SQL_STEP_FAIL;
    }
  }
  return SQL_STEP_OK;
}

/* Makes s->multi the INSERT of k rows. */
static bool sql__prepare_multi(sql_sink_t *s, size_t k, bson_error_t *error)
{
  if (k == s->multi_rows)
    return true;
  if (s->multi)
    s->drv->finalize(s->multi);
  s->multi_rows = 0;
  if (!(s->multi = s->drv->prepare(s, k, error)))
    return false;
  s->multi_rows = k;
  return true;
}

/* One attempt at the batch's transaction: begins it and inserts s->rows,
 * counting in *landed the rows that went in. When it is done, the
 * transaction is left open for the commit; otherwise it is rolled back. */
static sql_step_t sql__attempt(sql_sink_t *s, uint64_t *landed,
                               sink_write_result_t *result, bson_error_t *error)
{
  const sql_driver_t *drv = s->drv;
  *landed = 0;
  if (!drv->begin(s, error))
    return SQL_STEP_FAIL;
  sql_step_t out = SQL_STEP_OK;
  for (size_t first = 0; out == SQL_STEP_OK && first < s->rows.n;) {
    size_t k = drv->chunk(s, first);
    sql_refusal_t why;
    if (!sql__prepare_multi(s, k, error)) {
      out = SQL_STEP_FAIL;
      break;
    }
    out = drv->run(s, s->multi, first, k, &why, error);
    if (out == SQL_STEP_OK)
      *landed += k;
    else if (out == SQL_STEP_ROW) /* undone as a whole: find the culprits */
      out = sql__insert_each(s, first, k, landed, result, error);
    first += k;
  }
  if (out != SQL_STEP_OK) {
    drv->end(s, false, NULL);
    *landed = 0;
  }
  return out;
}

/* One attempt at the batch's transaction through the driver's bulk path:
 * SQL_STEP_OK with every row in and the transaction open for the commit;
 * otherwise the transaction is rolled back, and SQL_STEP_ROW means the
 * rows are to go through sql__attempt(). */
static sql_step_t sql__attempt_bulk(sql_sink_t *s, uint64_t *landed,
                                    bson_error_t *error)
{
  const sql_driver_t *drv = s->drv;
  *landed = 0;
  if (!drv->begin(s, error))
    return SQL_STEP_FAIL;
  sql_step_t out = drv->bulk(s, error);
  if (out == SQL_STEP_OK)
    *landed = s->rows.n;
  else
    drv->end(s, false, NULL);
  return out;
}

/* Makes s->rows from s->docs against the table's columns (the documents
 * that do not fit go to result) and readies them for the driver's bulk
 * path. */
static bool sql__make_rows(sql_sink_t *s, sink_write_result_t *result,
                           bson_error_t *error)
{
  const sql_driver_t *drv = s->drv;
  if (!sql_rows_build(&s->rows, &s->cols, &s->docs, drv->mismatch, result,
                      error))
    return false;
  if (drv->bulk_prepare && !drv->bulk_prepare(s, error))
    return false;
  s->rows_ready = true;
  return true;
}

bool sql_sink_prepare(void *sink, const batch_t *batch,
                      sink_write_result_t *result, bson_error_t *error)
{
  sql_sink_t *s = sink;
  s->prepared = NULL;
  s->rows_ready = false;
  if (!sql_docs_split(&s->docs, batch, error))
    return false;
  /* Without the columns, rows wait for the write: the table is read (or
   * made from this batch) in its turn. */
  if (s->have_cols && !sql__make_rows(s, result, error))
    return false;
  s->prepared = batch;
  return true;
}

bool sql_sink_write(void *sink, const batch_t *batch,
                    sink_write_result_t *result, bson_error_t *error)
{
  sql_sink_t *s = sink;
  const sql_driver_t *drv = s->drv;
  if (s->in_txn) {
    sql__uncommitted_error(drv->d, s->table, "write", error);
    drv->end(s, false, NULL);
    return false;
  }
  bool prepared = s->prepared == batch;
  s->prepared = NULL;
  if (!prepared && !sql_sink_prepare(s, batch, result, error))
    return false;
  s->prepared = NULL;
  if (!s->have_cols && !sql__ensure_table(s, !result->later, error))
    return false;
  if (!s->rows_ready && !sql__make_rows(s, result, error))
    return false;
  s->rows_ready = false;
  if (s->rows.n == 0)
    return true;
  size_t kept = result->n_errors; /* the loader's own refusals */
  for (int attempt = 1;; attempt++) {
    uint64_t landed;
    sql_step_t out =
        drv->bulk ? sql__attempt_bulk(s, &landed, error) : SQL_STEP_ROW;
    if (out == SQL_STEP_ROW)
      out = sql__attempt(s, &landed, result, error);
    if (out == SQL_STEP_OK) {
      if (s->delay_ms)
        sql_sleep_ms(s->delay_ms);
      result->inserted = landed; /* they land when committed */
      return true;
    }
    if (out != SQL_STEP_RETRY || attempt >= drv->attempts)
      return false;
    result->n_errors = kept;
  }
}

bool sql_sink_commit(void *sink, const char *key, const mark_t *mark,
                     bson_error_t *error)
{
  sql_sink_t *s = sink;
  const sql_driver_t *drv = s->drv;
  bool in_txn = s->in_txn;
  if (key && !sql_mark_key_check(drv->d, key, error)) {
    if (in_txn)
      drv->end(s, false, NULL);
    return false;
  }
  if (!in_txn && (!key || !drv->begin(s, error)))
    return !key;
  if (key && !drv->store_mark(s, key, mark, error)) {
    drv->end(s, false, NULL);
    return false;
  }
  return drv->end(s, true, error);
}

bool sql_sink_drop(void *sink, bson_error_t *error)
{
  sql_sink_t *s = sink;
  if (s->in_txn) {
    sql__uncommitted_error(s->drv->d, s->table, "drop", error);
    return false;
  }
  sql__forget_statements(s);
  sql_table_clear(&s->cols);
  s->have_cols = false;
  s->prepared = NULL; /* its rows were made for the old columns */
  s->rows_ready = false;
  sql_buf_t q = {0};
  if (!sql_buf_addz(&q, "DROP TABLE IF EXISTS ") ||
      !sql_buf_addz(&q, s->qtable.s)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    sql_buf_free(&q);
    return false;
  }
  sql__lock(s);
  bool ok = s->drv->exec(s, q.s, s->table, error);
  sql__unlock(s);
  sql_buf_free(&q);
  return ok;
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
