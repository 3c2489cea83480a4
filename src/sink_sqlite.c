/* sink_sqlite: SQLite, embedded (sqlite:PATH, sqlite:DIR/, sqlite::memory:).
 *
 * A collection is a table, made on the first write from the first batch (see
 * sink_sql.h) or appended to. Every sink has its own connection; a batch is
 * one transaction (BEGIN IMMEDIATE ... COMMIT) of prepared multi-row
 * INSERTs, which sink_write() leaves open and sink_commit() commits, with
 * the job's mark in _loader_progress (in the table's file) when given one.
 *
 * Why writes are serialised here: SQLite lets one writer at a time into a
 * database file, whatever the number of connections. Workers that raced for
 * the file's write lock would spin in the busy handler and, once a batch took
 * longer than the busy timeout, fail with "database is locked". So the
 * factory keeps one mutex per database file and a sink holds it around each
 * batch transaction, from its write to its commit (and around the short
 * COUNT/DROP/CREATE statements):
 * documents are still parsed, built and checked in parallel, only the
 * transaction is taken in turn. WAL mode and a busy timeout remain for other
 * processes using the same file. Tables in different files (sqlite:DIR/ puts
 * each table in DIR/<table>.db) have different mutexes and are written fully
 * in parallel.
 *
 * A file's WAL checkpoints run on a thread of their own (see
 * sink_sqlite_file.c): a sink joins it when it opens, leaves it before its
 * connection closes, and waits before a BEGIN only when the WAL has grown
 * to its bound.
 *
 * sqlite::memory: is one shared-cache in-memory database that all sinks of
 * the factory see; the factory keeps a connection open so that it lives
 * between jobs. */
#include "loader/error.h"
#include "sink_sql.h"
#include "sink_sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows per multi-row INSERT, at most (and within the variable limit). */
#define SINK_SQLITE_MAX_ROWS 500

/* How SQLite's statements are spelt. */
static const sql_dialect_t sink_sqlite__dialect = {
    .name = "sqlite",
    .quote = '"',
    .type = sql_class_name,
    .create_suffix = "",
    .key_type = "TEXT",
};

typedef struct sink_sqlite {
  sql_sink_t base;          /* what every SQL sink holds (first) */
  sink_sqlite_factory_t *f; /* where it came from */
  sink_sqlite_file_t *file; /* its database file and that file's mutex */
  sqlite3 *db;              /* this sink's own connection */
  sqlite3_stmt *mark_store; /* cached REPLACE INTO _loader_progress */
  bool ckpt;                /* joined the file's checkpointer */
} sink_sqlite_t;

/* The sink whose sql_sink_t is b. */
static sink_sqlite_t *sink_sqlite__of(const sql_sink_t *b)
{
  return (sink_sqlite_t *)b;
}

/* Takes the file's mutex, unless this sink's open transaction holds it. */
static void sink_sqlite__lock(sql_sink_t *b)
{
  if (!b->in_txn)
    pthread_mutex_lock(&sink_sqlite__of(b)->file->lock);
}

static void sink_sqlite__unlock(sql_sink_t *b)
{
  if (!b->in_txn)
    pthread_mutex_unlock(&sink_sqlite__of(b)->file->lock);
}

static bool sink_sqlite__exec(sql_sink_t *b, const char *sql, const char *what,
                              bson_error_t *error)
{
  sqlite3 *db = sink_sqlite__of(b)->db;
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
    return true;
  sink_sqlite_error(db, what, error);
  return false;
}

/* Takes the file and begins a write transaction. */
static bool sink_sqlite__begin(sql_sink_t *b, bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  pthread_mutex_lock(&s->file->lock);
  if (s->ckpt)
    sink_sqlite_ckpt_bound(s->file);
  if (!sink_sqlite__exec(b, "BEGIN IMMEDIATE", b->table, error)) {
    pthread_mutex_unlock(&s->file->lock);
    return false;
  }
  b->in_txn = true;
  return true;
}

/* Ends the open transaction, with COMMIT when commit is true, else (or when
 * the COMMIT failed) with ROLLBACK, and releases the file. Returns false and
 * fills error when the COMMIT failed. */
static bool sink_sqlite__end(sql_sink_t *b, bool commit, bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  bool ok = !commit || sink_sqlite__exec(b, "COMMIT", b->table, error);
  if (!commit || !ok)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  b->in_txn = false;
  pthread_mutex_unlock(&s->file->lock);
  return ok;
}

static void sink_sqlite__close(void *sink)
{
  sink_sqlite_t *s = sink;
  if (!s)
    return;
  sql_sink_cleanup(&s->base);
  sqlite3_finalize(s->mark_store);
  if (s->ckpt)
    sink_sqlite_ckpt_leave(s->file);
  sqlite3_close(s->db);
  free(s);
}

static const sql_driver_t sink_sqlite__driver;

static void *sink_sqlite__open(void *state, const char *collection,
                               bson_error_t *error)
{
  sink_sqlite_factory_t *f = state;
  sink_sqlite_t *s =
      sql_sink_new(sizeof *s, &sink_sqlite__driver, collection, error);
  if (!s)
    return NULL;
  char *path = sink_sqlite_path_of(f, collection);
  if (!path || !(s->file = sink_sqlite_file(f, path))) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out_fail;
  }
  s->f = f;
  s->base.delay_ms = f->delay_ms;
  s->db = sink_sqlite_connect(f, s->file, error);
  if (!s->db)
    goto out_fail;
  if (!f->mem_uri)
    s->ckpt = sink_sqlite_ckpt_join(f, s->file, s->db);
  free(path);
  return s;

out_fail:
  free(path);
  sink_sqlite__close(s);
  return NULL;
}

/* Runs sql, which returns at most one integer, into *value (left alone when
 * there is no row). */
static bool sink_sqlite__int(sink_sqlite_t *s, const char *sql, int64_t *value,
                             bson_error_t *error)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    sink_sqlite_error(s->db, s->base.table, error);
    return false;
  }
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    sink_sqlite_error(s->db, s->base.table, error);
    return false;
  }
  return true;
}

/* Returns whether table name exists (in *exists). Call with the file
 * lock. */
static bool sink_sqlite__exists(sink_sqlite_t *s, const char *name,
                                bool *exists, bson_error_t *error)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                         "AND name = ?",
                         -1, &st, NULL) != SQLITE_OK) {
    sink_sqlite_error(s->db, s->base.table, error);
    return false;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    sink_sqlite_error(s->db, s->base.table, error);
    return false;
  }
  *exists = rc == SQLITE_ROW;
  return true;
}

static bool sink_sqlite__count(void *sink, int64_t *count, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  bool ok = false, exists;
  *count = 0;
  sink_sqlite__lock(&s->base);
  if (!sink_sqlite__exists(s, s->base.table, &exists, error))
    goto out;
  if (exists) {
    sql_buf_t q = {0};
    if (!sql_buf_addz(&q, "SELECT COUNT(*) FROM ") ||
        !sql_buf_addz(&q, s->base.qtable.s)) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      sql_buf_free(&q);
      goto out;
    }
    ok = sink_sqlite__int(s, q.s, count, error);
    sql_buf_free(&q);
    goto out;
  }
  ok = true;
out:
  sink_sqlite__unlock(&s->base);
  return ok;
}

/* The class the loader checks values against, from a declared type, by
 * SQLite's affinity rules. A column without a type (BLOB affinity) takes
 * any value unchanged; NUMERIC affinity would turn text such as "007" into
 * 7, so it only takes numbers. */
static sql_class_t sink_sqlite__class(const char *decl)
{
  if (!decl || !*decl)
    return SQL_ANY;
  char up[128];
  size_t n = 0;
  for (; decl[n] && n < sizeof up - 1; n++)
    up[n] = (char)(decl[n] >= 'a' && decl[n] <= 'z' ? decl[n] - 32 : decl[n]);
  up[n] = '\0';
  if (strstr(up, "INT"))
    return SQL_INTEGER;
  if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
    return SQL_TEXT;
  if (strstr(up, "BLOB"))
    return SQL_ANY;
  return SQL_REAL; /* REAL, FLOAT, DOUBLE and NUMERIC affinity */
}

/* Loads the table's columns into b->cols; none when it does not exist. Call
 * with the file lock. */
static bool sink_sqlite__load_columns(sql_sink_t *b, bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  sql_table_clear(&b->cols);
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool ok = false;
  if (!sql_buf_addz(&q, "PRAGMA table_info(") ||
      !sql_buf_addz(&q, b->qtable.s) || !sql_buf_addz(&q, ")")) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  if (sqlite3_prepare_v2(s->db, q.s, -1, &st, NULL) != SQLITE_OK) {
    sink_sqlite_error(s->db, b->table, error);
    goto out;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *decl = (const char *)sqlite3_column_text(st, 2);
    if (!sql_table_add(&b->cols, name ? name : "", sink_sqlite__class(decl))) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      goto out;
    }
  }
  if (rc != SQLITE_DONE) {
    sink_sqlite_error(s->db, b->table, error);
    goto out;
  }
  ok = true;
out:
  sqlite3_finalize(st);
  sql_buf_free(&q);
  return ok;
}

/* Prepares INSERT INTO table (cols) VALUES (?, ...) x rows. */
static void *sink_sqlite__prepare(sql_sink_t *b, size_t rows,
                                  bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool mem =
      sql_insert_stmt(&q, &sink_sqlite__dialect, b->qtable.s, &b->cols, rows);
  if (!mem) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  } else if (sqlite3_prepare_v2(s->db, q.s, (int)q.len, &st, NULL) !=
             SQLITE_OK) {
    sink_sqlite_error(s->db, b->table, error);
    st = NULL;
  }
  sql_buf_free(&q);
  return st;
}

static void sink_sqlite__finalize(void *stmt)
{
  sqlite3_finalize(stmt);
}

/* Binds the n values at vals to st's parameters, in order. */
static void sink_sqlite__bind(sqlite3_stmt *st, const sql_value_t *vals,
                              size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const sql_value_t *v = &vals[i];
    int p = (int)i + 1;
    switch (v->kind) {
    case SQLV_NULL:
      sqlite3_bind_null(st, p);
      break;
    case SQLV_INT:
      sqlite3_bind_int64(st, p, v->i);
      break;
    case SQLV_DOUBLE:
      sqlite3_bind_double(st, p, v->d);
      break;
    case SQLV_TEXT:
      sqlite3_bind_text64(st, p, v->p, v->len, SQLITE_STATIC, SQLITE_UTF8);
      break;
    case SQLV_BLOB:
      if (v->len)
        sqlite3_bind_blob64(st, p, v->p, v->len, SQLITE_STATIC);
      else
        sqlite3_bind_zeroblob(st, p, 0);
      break;
    }
  }
}

/* As many rows as the statement's variables allow, at most
 * SINK_SQLITE_MAX_ROWS. */
static size_t sink_sqlite__chunk(const sql_sink_t *b, size_t first)
{
  int limit =
      sqlite3_limit(sink_sqlite__of(b)->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  size_t per = (size_t)(limit > 0 ? limit : 999) / b->cols.n;
  if (per > SINK_SQLITE_MAX_ROWS)
    per = SINK_SQLITE_MAX_ROWS;
  if (per == 0)
    per = 1;
  size_t rows = b->rows.n;
  return rows - first < per ? rows - first : per;
}

/* A constraint (a duplicate key, NOT NULL, CHECK) refuses a row; any other
 * error fails the batch. */
static sql_step_t sink_sqlite__run(sql_sink_t *b, void *stmt, size_t first,
                                   size_t k, sql_refusal_t *why,
                                   bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  sqlite3_stmt *st = stmt;
  sql_step_t out = SQL_STEP_OK;
  sink_sqlite__bind(st, &b->rows.vals[first * b->cols.n], k * b->cols.n);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    out = SQL_STEP_OK;
  } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    why->code = rc;
    snprintf(why->message, sizeof why->message, "%s", sqlite3_errmsg(s->db));
    out = SQL_STEP_ROW;
  } else {
    sink_sqlite_error(s->db, b->table, error);
    out = SQL_STEP_FAIL;
  }
  sqlite3_reset(st);
  return out;
}

/* Stores mark under key in the progress table, creating it when missing.
 * Call in the transaction. */
static bool sink_sqlite__store_mark(sql_sink_t *b, const char *key,
                                    const mark_t *mark, bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  if (!s->mark_store) {
    sql_buf_t q = {0};
    bool mem = sql_progress_create_stmt(&q, &sink_sqlite__dialect);
    bool ok = mem && sqlite3_exec(s->db, q.s, NULL, NULL, NULL) == SQLITE_OK;
    sql_buf_reset(&q);
    mem = mem && sql_progress_store_stmt(&q, &sink_sqlite__dialect);
    ok = ok && mem &&
         sqlite3_prepare_v2(s->db, q.s, (int)q.len, &s->mark_store, NULL) ==
             SQLITE_OK;
    sql_buf_free(&q);
    if (!mem) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    if (!ok) {
      sink_sqlite_error(s->db, SQL_PROGRESS_TABLE, error);
      sqlite3_finalize(s->mark_store);
      s->mark_store = NULL;
      return false;
    }
  }
  sql_value_t vals[1 + SQL_MARK_INTS];
  sql_mark_values(vals, key, mark);
  sink_sqlite__bind(s->mark_store, vals, 1 + SQL_MARK_INTS);
  int rc = sqlite3_step(s->mark_store);
  sqlite3_reset(s->mark_store);
  sqlite3_clear_bindings(s->mark_store);
  if (rc != SQLITE_DONE) {
    sink_sqlite_error(s->db, SQL_PROGRESS_TABLE, error);
    return false;
  }
  return true;
}

static bool sink_sqlite__mark_get(void *sink, const char *key, mark_t *mark,
                                  bool *found, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool ok = false, exists;
  *found = false;
  sink_sqlite__lock(&s->base);
  if (!sink_sqlite__exists(s, SQL_PROGRESS_TABLE, &exists, error))
    goto out;
  if (!exists) {
    ok = true;
    goto out;
  }
  if (!sql_progress_select_stmt(&q, &sink_sqlite__dialect)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  if (sqlite3_prepare_v2(s->db, q.s, (int)q.len, &st, NULL) != SQLITE_OK) {
    sink_sqlite_error(s->db, SQL_PROGRESS_TABLE, error);
    goto out;
  }
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    int64_t ints[SQL_MARK_INTS];
    for (int i = 0; i < SQL_MARK_INTS; i++)
      ints[i] = sqlite3_column_int64(st, i);
    sql_mark_from_ints(mark, ints);
    *found = true;
  } else if (rc != SQLITE_DONE) {
    sink_sqlite_error(s->db, SQL_PROGRESS_TABLE, error);
    goto out;
  }
  ok = true;
out:
  sqlite3_finalize(st);
  sink_sqlite__unlock(&s->base);
  sql_buf_free(&q);
  return ok;
}

/* --index: runs a query and hands each row over as text. */
static bool sink_sqlite__query(sql_sink_t *b, const char *sql,
                               sql_text_row_fn row, void *ctx,
                               bson_error_t *error)
{
  sink_sqlite_t *s = sink_sqlite__of(b);
  sqlite3_stmt *st = NULL;
  const char *vals[64];
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    sink_sqlite_error(s->db, b->table, error);
    return false;
  }
  size_t n = (size_t)sqlite3_column_count(st);
  int rc;
  while (n <= 64 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (size_t i = 0; i < n; i++)
      vals[i] = (const char *)sqlite3_column_text(st, (int)i);
    if (!row(ctx, vals, n)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  bool ok = n <= 64 && rc == SQLITE_DONE;
  if (!ok)
    sink_sqlite_error(s->db, b->table, error);
  sqlite3_finalize(st);
  return ok;
}

static const sql_driver_t sink_sqlite__driver = {
    .d = &sink_sqlite__dialect,
    .mismatch = SQLITE_MISMATCH,
    .attempts = 1,
    .lock = sink_sqlite__lock,
    .unlock = sink_sqlite__unlock,
    .exec = sink_sqlite__exec,
    .load_columns = sink_sqlite__load_columns,
    .prepare = sink_sqlite__prepare,
    .finalize = sink_sqlite__finalize,
    .chunk = sink_sqlite__chunk,
    .run = sink_sqlite__run,
    .begin = sink_sqlite__begin,
    .store_mark = sink_sqlite__store_mark,
    .end = sink_sqlite__end,
    .query = sink_sqlite__query,
    .index_list = "PRAGMA index_list(",
    .index_list_end = ")",
    .index_list_name = 1,
    .duplicate = SQLITE_CONSTRAINT_UNIQUE,
};

/* --verify: every row of one part of the table (a range of rowids), value
 * by value in canonical form, named by its rowid. Reads without the file's
 * mutex (a reader needs none). */
/* Appends " WHERE rowid BETWEEN a AND b" to q, rowids [a, b] being part
 * part of parts equal ranges from the table's least rowid to its greatest;
 * *none is set when the part holds no rowid. */
static bool sink_sqlite__part(sink_sqlite_t *s, unsigned part, unsigned parts,
                              sql_buf_t *q, bool *none, bson_error_t *error)
{
  int64_t lo = 0, hi = -1;
  char sql[64 + 2 * SQL_NAME_MAX];
  snprintf(sql, sizeof sql, "SELECT MIN(rowid) FROM %s", s->base.qtable.s);
  if (!sink_sqlite__int(s, sql, &lo, error))
    return false;
  snprintf(sql, sizeof sql, "SELECT MAX(rowid) FROM %s", s->base.qtable.s);
  if (!sink_sqlite__int(s, sql, &hi, error))
    return false;
  uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
  uint64_t width = span / parts + (span % parts != 0);
  uint64_t from = (uint64_t)lo + part * width;
  *none = hi < lo || part * width >= span;
  if (*none)
    return true;
  uint64_t to = part * width + width >= span ? (uint64_t)hi : from + width - 1;
  snprintf(sql, sizeof sql, " WHERE rowid BETWEEN %lld AND %lld",
           (long long)from, (long long)to);
  if (!sql_buf_addz(q, sql)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  return true;
}

static bool sink_sqlite__scan(void *sink, unsigned part, unsigned parts,
                              const sink_feed_t *feed, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  const sql_table_t *t = &s->base.cols;
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool ok = false, none = false;
  if (!sql_scan_stmt(&s->base, "rowid", &q, error))
    goto out;
  if (!q.len) {
    ok = true; /* no table */
    goto out;
  }
  if (!sink_sqlite__part(s, part, parts, &q, &none, error))
    goto out;
  if (none) {
    ok = true;
    goto out;
  }
  if (sqlite3_prepare_v2(s->db, q.s, (int)q.len, &st, NULL) != SQLITE_OK) {
    sink_sqlite_error(s->db, s->base.table, error);
    goto out;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (size_t c = 0; c < t->n; c++) {
      int col = (int)c + 1;
      sql_class_t cls = t->cols[c].cls;
      switch (sqlite3_column_type(st, col)) {
      case SQLITE_NULL:
        sql_canon_put(feed, cls, SQLV_NULL, 0, 0, NULL, 0);
        break;
      case SQLITE_INTEGER:
        sql_canon_put(feed, cls, SQLV_INT, sqlite3_column_int64(st, col), 0,
                      NULL, 0);
        break;
      case SQLITE_FLOAT:
        sql_canon_put(feed, cls, SQLV_DOUBLE, 0, sqlite3_column_double(st, col),
                      NULL, 0);
        break;
      case SQLITE_TEXT: {
        const void *p = sqlite3_column_text(st, col);
        sql_canon_put(feed, cls, SQLV_TEXT, 0, 0, p,
                      (size_t)sqlite3_column_bytes(st, col));
        break;
      }
      default: {
        const void *p = sqlite3_column_blob(st, col);
        sql_canon_put(feed, cls, SQLV_BLOB, 0, 0, p,
                      (size_t)sqlite3_column_bytes(st, col));
        break;
      }
      }
    }
    char label[48] = "";
    if (feed->want_labels)
      snprintf(label, sizeof label, "rowid %lld",
               (long long)sqlite3_column_int64(st, 0));
    if (!feed->end(feed->ctx, label)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  if (rc != SQLITE_DONE) {
    sink_sqlite_error(s->db, s->base.table, error);
    goto out;
  }
  ok = true;
out:
  sqlite3_finalize(st);
  sql_buf_free(&q);
  return ok;
}

const sink_ops_t sink_sqlite_ops = {
    .name = "sqlite",
    .factory_new = sink_sqlite_factory_new,
    .factory_check = sink_sqlite_factory_check,
    .factory_db = sink_sqlite_factory_db,
    .factory_destroy = sink_sqlite_factory_destroy,
    .open = sink_sqlite__open,
    .count = sink_sqlite__count,
    .drop = sql_sink_drop,
    .write = sql_sink_write,
    .commit = sql_sink_commit,
    .mark_get = sink_sqlite__mark_get,
    .close = sink_sqlite__close,
    .canon = sql_sink_canon,
    .scan = sink_sqlite__scan,
    .scan_parts = 4,
    .index_create = sql_sink_index_create,
    .index_duplicates = sql_sink_index_duplicates,
};
