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
 * sqlite::memory: is one shared-cache in-memory database that all sinks of
 * the factory see; the factory keeps a connection open so that it lives
 * between jobs. */
#include "loader/error.h"
#include "sink_impl.h"
#include "sink_sql.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a connection waits for a lock another process holds. */
#define SINK_SQLITE_BUSY_TIMEOUT_MS 30000
/* Rows per multi-row INSERT, at most (and within the variable limit). */
#define SINK_SQLITE_MAX_ROWS 500
#ifdef LOADER_TEST_HOOKS
/* The test-only hook (built only with -DLOADER_TEST_HOOKS=ON, never in a
 * binary to ship): milliseconds to sleep inside each batch transaction. */
#define SINK_SQLITE_DELAY_ENV "LOADER_TEST_SQLITE_DELAY_MS"
#endif

/* How SQLite's statements are spelt. */
static const sql_dialect_t sink_sqlite__dialect = {
    .name = "sqlite",
    .quote = '"',
    .type = sql_class_name,
    .create_suffix = "",
    .key_type = "TEXT",
};

/* One database file and the mutex its writers take in turn. */
typedef struct sink_sqlite_file {
  char *path;                    /* what sqlite3_open_v2() is given */
  pthread_mutex_t lock;          /* held around each transaction */
  struct sink_sqlite_file *next; /* the next file of the registry */
} sink_sqlite_file_t;

typedef struct sink_sqlite_factory {
  char *path;                /* file or directory; NULL for memory */
  bool dir;                  /* one file per table under path */
  char *mem_uri;             /* shared-cache URI of the memory database */
  sqlite3 *keeper;           /* keeps the memory database alive */
  pthread_mutex_t reg_lock;  /* guards files */
  sink_sqlite_file_t *files; /* the registry: one entry per file */
  unsigned delay_ms;         /* test only: sleep inside each transaction
                                (0 without LOADER_TEST_HOOKS) */
} sink_sqlite_factory_t;

typedef struct sink_sqlite {
  sink_sqlite_factory_t *f; /* where it came from */
  sink_sqlite_file_t *file; /* its database file and that file's mutex */
  sqlite3 *db;              /* this sink's own connection */
  char *table;              /* table name */
  sql_buf_t qtable;         /* table name, quoted */
  sql_table_t cols;         /* the table's columns, once known */
  bool have_cols;           /* cols is loaded */
  sqlite3_stmt *multi;      /* cached multi-row INSERT */
  size_t multi_rows;        /* its rows */
  sqlite3_stmt *single;     /* cached one-row INSERT */
  sqlite3_stmt *mark_store; /* cached REPLACE INTO _loader_progress */
  bool in_txn;              /* a transaction is open: file->lock is held */
  sql_docs_t docs;          /* the batch's documents */
  sql_rows_t rows;          /* the batch's rows that fit the table */
} sink_sqlite_t;

/* Fills error from the connection's last error. */
static void sink_sqlite__error(sqlite3 *db, const char *what,
                               bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK,
                 db ? (uint32_t)sqlite3_extended_errcode(db) : SQLITE_NOMEM,
                 "sqlite: %s: %s", what,
                 db ? sqlite3_errmsg(db) : "out of memory");
}

/* Returns the registry entry of path, adding it when new, or NULL when out
 * of memory. */
static sink_sqlite_file_t *sink_sqlite__file(sink_sqlite_factory_t *f,
                                             const char *path)
{
  pthread_mutex_lock(&f->reg_lock);
  sink_sqlite_file_t *e = f->files;
  while (e && strcmp(e->path, path) != 0)
    e = e->next;
  if (!e) {
    e = calloc(1, sizeof *e);
    if (e && !(e->path = strdup(path))) {
      free(e);
      e = NULL;
    }
    if (e) {
      pthread_mutex_init(&e->lock, NULL);
      e->next = f->files;
      f->files = e;
    }
  }
  pthread_mutex_unlock(&f->reg_lock);
  return e;
}

static void sink_sqlite__factory_destroy(void *state)
{
  sink_sqlite_factory_t *f = state;
  if (!f)
    return;
  while (f->files) {
    sink_sqlite_file_t *e = f->files;
    f->files = e->next;
    pthread_mutex_destroy(&e->lock);
    free(e->path);
    free(e);
  }
  sqlite3_close(f->keeper);
  pthread_mutex_destroy(&f->reg_lock);
  free(f->path);
  free(f->mem_uri);
  free(f);
}

/* sqlite:PATH, sqlite://PATH (so sqlite:///abs/path works), sqlite::memory:.
 * A PATH ending in '/' or naming a directory is a directory: one file per
 * table. */
static void *sink_sqlite__factory_new(const sink_config_t *config,
                                      bson_error_t *error)
{
  const char *rest = config->uri + strlen("sqlite:");
  if (strncmp(rest, "//", 2) == 0)
    rest += 2;
  if (!*rest) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "invalid URI: sqlite:PATH needs a path (or :memory:)");
    return NULL;
  }
  if (!sqlite3_threadsafe()) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "this SQLite library was built without thread support");
    return NULL;
  }
  sink_sqlite_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&f->reg_lock, NULL);
#ifdef LOADER_TEST_HOOKS
  f->delay_ms = sql_test_delay_ms(SINK_SQLITE_DELAY_ENV);
#endif
  if (strcmp(rest, ":memory:") == 0) {
    char uri[128];
    snprintf(uri, sizeof uri, "file:loader_mem_%ld_%p?mode=memory&cache=shared",
             (long)getpid(), (void *)f);
    f->mem_uri = strdup(uri);
    if (!f->mem_uri ||
        sqlite3_open_v2(f->mem_uri, &f->keeper,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
      sink_sqlite__error(f->keeper, "cannot open the memory database", error);
      goto out_fail;
    }
    return f;
  }
  f->path = strdup(rest);
  if (!f->path) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out_fail;
  }
  struct stat st;
  size_t len = strlen(f->path);
  f->dir = f->path[len - 1] == '/' ||
           (stat(f->path, &st) == 0 && S_ISDIR(st.st_mode));
  while (f->dir && len > 1 && f->path[len - 1] == '/')
    f->path[--len] = '\0';
  return f;

out_fail:
  sink_sqlite__factory_destroy(f);
  return NULL;
}

/* Opens a connection to path and sets it up: busy timeout, and for files
 * WAL mode (which stays with the file) and synchronous=NORMAL. */
static sqlite3 *sink_sqlite__connect(sink_sqlite_factory_t *f,
                                     sink_sqlite_file_t *file,
                                     bson_error_t *error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= f->mem_uri ? SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX
                      : SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(file->path, &db, flags, NULL) != SQLITE_OK) {
    char what[64 + 256];
    snprintf(what, sizeof what, "cannot open %.256s", file->path);
    sink_sqlite__error(db, what, error);
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, SINK_SQLITE_BUSY_TIMEOUT_MS);
  if (f->mem_uri)
    return db;
  pthread_mutex_lock(&file->lock);
  int rc =
      sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                   NULL, NULL, NULL);
  pthread_mutex_unlock(&file->lock);
  if (rc != SQLITE_OK) {
    char what[64 + 256];
    snprintf(what, sizeof what, "cannot use %.256s", file->path);
    sink_sqlite__error(db, what, error);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

/* Returns the file that holds table (a new string the caller frees). */
static char *sink_sqlite__path_of(const sink_sqlite_factory_t *f,
                                  const char *table)
{
  if (f->mem_uri)
    return strdup(f->mem_uri);
  if (!f->dir)
    return strdup(f->path);
  size_t len = strlen(f->path) + strlen(table) + 5;
  char *p = malloc(len);
  if (p)
    snprintf(p, len, "%s/%s.db", f->path, table);
  return p;
}

/* The file (or directory) can be created and written. */
static bool sink_sqlite__factory_check(void *state, bson_error_t *error)
{
  sink_sqlite_factory_t *f = state;
  if (f->mem_uri)
    return true;
  if (f->dir) {
    if (mkdir(f->path, 0777) != 0 && access(f->path, W_OK) != 0) {
      bson_set_error(error, LOADER_ERROR_SINK, 0,
                     "sqlite: directory %s cannot be written", f->path);
      return false;
    }
    return true;
  }
  sink_sqlite_file_t *file = sink_sqlite__file(f, f->path);
  if (!file) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  sqlite3 *db = sink_sqlite__connect(f, file, error);
  if (!db)
    return false;
  bool ok = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
                         NULL) == SQLITE_OK;
  if (!ok)
    sink_sqlite__error(db, f->path, error);
  sqlite3_close(db);
  return ok;
}

static const char *sink_sqlite__factory_db(const void *state)
{
  const sink_sqlite_factory_t *f = state;
  return f->mem_uri ? ":memory:" : f->path;
}

/* Takes the file's mutex, unless this sink's open transaction holds it. */
static void sink_sqlite__lock(sink_sqlite_t *s)
{
  if (!s->in_txn)
    pthread_mutex_lock(&s->file->lock);
}

static void sink_sqlite__unlock(sink_sqlite_t *s)
{
  if (!s->in_txn)
    pthread_mutex_unlock(&s->file->lock);
}

/* Takes the file and begins a write transaction. */
static bool sink_sqlite__begin(void *sink, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  pthread_mutex_lock(&s->file->lock);
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    sink_sqlite__error(s->db, s->table, error);
    pthread_mutex_unlock(&s->file->lock);
    return false;
  }
  s->in_txn = true;
  return true;
}

/* Ends the open transaction, with COMMIT when commit is true, else (or when
 * the COMMIT failed) with ROLLBACK, and releases the file. Returns false and
 * fills error when the COMMIT failed. */
static bool sink_sqlite__end(void *sink, bool commit, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  bool ok =
      !commit || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
  if (!ok)
    sink_sqlite__error(s->db, s->table, error);
  if (!commit || !ok)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->in_txn = false;
  pthread_mutex_unlock(&s->file->lock);
  return ok;
}

static void sink_sqlite__close(void *sink)
{
  sink_sqlite_t *s = sink;
  if (!s)
    return;
  if (s->in_txn)
    sink_sqlite__end(s, false, NULL);
  sqlite3_finalize(s->multi);
  sqlite3_finalize(s->single);
  sqlite3_finalize(s->mark_store);
  sqlite3_close(s->db);
  free(s->table);
  sql_buf_free(&s->qtable);
  sql_table_clear(&s->cols);
  sql_docs_cleanup(&s->docs);
  sql_rows_free(&s->rows);
  free(s);
}

static void *sink_sqlite__open(void *state, const char *collection,
                               bson_error_t *error)
{
  sink_sqlite_factory_t *f = state;
  if (!sql_table_name_check(&sink_sqlite__dialect, collection, error))
    return NULL;
  sink_sqlite_t *s = calloc(1, sizeof *s);
  char *path = NULL;
  if (!s || !(s->table = strdup(collection)) ||
      !sql_buf_ident(&s->qtable, collection, sink_sqlite__dialect.quote) ||
      !(path = sink_sqlite__path_of(f, collection)) ||
      !(s->file = sink_sqlite__file(f, path))) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out_fail;
  }
  s->f = f;
  s->db = sink_sqlite__connect(f, s->file, error);
  if (!s->db)
    goto out_fail;
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
    sink_sqlite__error(s->db, s->table, error);
    return false;
  }
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    sink_sqlite__error(s->db, s->table, error);
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
    sink_sqlite__error(s->db, s->table, error);
    return false;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    sink_sqlite__error(s->db, s->table, error);
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
  sink_sqlite__lock(s);
  if (!sink_sqlite__exists(s, s->table, &exists, error))
    goto out;
  if (exists) {
    sql_buf_t q = {0};
    if (!sql_buf_addz(&q, "SELECT COUNT(*) FROM ") ||
        !sql_buf_addz(&q, s->qtable.s)) {
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
  sink_sqlite__unlock(s);
  return ok;
}

static bool sink_sqlite__drop(void *sink, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  if (s->in_txn) {
    sql_uncommitted_error(&sink_sqlite__dialect, s->table, "drop", error);
    return false;
  }
  sql_buf_t q = {0};
  if (!sql_buf_addz(&q, "DROP TABLE IF EXISTS ") ||
      !sql_buf_addz(&q, s->qtable.s)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    sql_buf_free(&q);
    return false;
  }
  pthread_mutex_lock(&s->file->lock);
  bool ok = sqlite3_exec(s->db, q.s, NULL, NULL, NULL) == SQLITE_OK;
  if (!ok)
    sink_sqlite__error(s->db, s->table, error);
  pthread_mutex_unlock(&s->file->lock);
  sql_buf_free(&q);
  sqlite3_finalize(s->multi);
  sqlite3_finalize(s->single);
  s->multi = s->single = NULL;
  sql_table_clear(&s->cols);
  s->have_cols = false;
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

/* Loads the table's columns into s->cols; none when it does not exist. Call
 * with the file lock. */
static bool sink_sqlite__load_columns(sink_sqlite_t *s, bson_error_t *error)
{
  sql_table_clear(&s->cols);
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool ok = false;
  if (!sql_buf_addz(&q, "PRAGMA table_info(") ||
      !sql_buf_addz(&q, s->qtable.s) || !sql_buf_addz(&q, ")")) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  if (sqlite3_prepare_v2(s->db, q.s, -1, &st, NULL) != SQLITE_OK) {
    sink_sqlite__error(s->db, s->table, error);
    goto out;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *decl = (const char *)sqlite3_column_text(st, 2);
    if (!sql_table_add(&s->cols, name ? name : "", sink_sqlite__class(decl))) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      goto out;
    }
  }
  if (rc != SQLITE_DONE) {
    sink_sqlite__error(s->db, s->table, error);
    goto out;
  }
  ok = true;
out:
  sqlite3_finalize(st);
  sql_buf_free(&q);
  return ok;
}

/* Makes sure the table exists, creating it from the batch's documents, and
 * that the batch's fields are its columns. */
static bool sink_sqlite__ensure_table(sink_sqlite_t *s, bson_error_t *error)
{
  bool ok = false;
  sql_buf_t q = {0};
  pthread_mutex_lock(&s->file->lock);
  if (!sink_sqlite__load_columns(s, error))
    goto out;
  if (s->cols.n == 0) {
    if (!sql_create_stmt(&q, &sink_sqlite__dialect, s->table, s->qtable.s,
                         &s->docs, error))
      goto out;
    if (sqlite3_exec(s->db, q.s, NULL, NULL, NULL) != SQLITE_OK) {
      char what[300];
      snprintf(what, sizeof what, "cannot create table %.200s", s->table);
      sink_sqlite__error(s->db, what, error);
      goto out;
    }
    if (!sink_sqlite__load_columns(s, error))
      goto out;
  }
  if (!sql_table_check(&s->cols, &s->docs, s->table, error))
    goto out;
  s->have_cols = true;
  ok = true;
out:
  pthread_mutex_unlock(&s->file->lock);
  sql_buf_free(&q);
  return ok;
}

/* Prepares INSERT INTO table (cols) VALUES (?, ...) x rows. */
static sqlite3_stmt *sink_sqlite__prepare(sink_sqlite_t *s, size_t rows,
                                          bson_error_t *error)
{
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool mem =
      sql_insert_stmt(&q, &sink_sqlite__dialect, s->qtable.s, &s->cols, rows);
  if (!mem) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  } else if (sqlite3_prepare_v2(s->db, q.s, (int)q.len, &st, NULL) !=
             SQLITE_OK) {
    sink_sqlite__error(s->db, s->table, error);
    st = NULL;
  }
  sql_buf_free(&q);
  return st;
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

/* Binds rows [first, first + rows) of s->rows.vals to st. */
static void sink_sqlite__bind_rows(sink_sqlite_t *s, sqlite3_stmt *st,
                                   size_t first, size_t rows)
{
  sink_sqlite__bind(st, &s->rows.vals[first * s->cols.n], rows * s->cols.n);
}

/* Inserts rows [first, first + rows) of s->rows.vals one at a time: constraint
 * failures become per-document errors. Call in the transaction. */
static bool sink_sqlite__insert_each(sink_sqlite_t *s, size_t first,
                                     size_t rows, uint64_t *landed,
                                     sink_write_result_t *result,
                                     bson_error_t *error)
{
  if (!s->single && !(s->single = sink_sqlite__prepare(s, 1, error)))
    return false;
  for (size_t r = first; r < first + rows; r++) {
    sqlite3_reset(s->single);
    sink_sqlite__bind_rows(s, s->single, r, 1);
    int rc = sqlite3_step(s->single);
    if (rc == SQLITE_DONE) {
      (*landed)++;
    } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      if (!sink_result_add_error(result, s->rows.good[r], rc,
                                 sqlite3_errmsg(s->db))) {
        bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
        return false;
      }
    } else {
      sink_sqlite__error(s->db, s->table, error);
      return false;
    }
  }
  sqlite3_reset(s->single);
  return true;
}

static bool sink_sqlite__write(void *sink, const batch_t *batch,
                               sink_write_result_t *result, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  if (s->in_txn) {
    sql_uncommitted_error(&sink_sqlite__dialect, s->table, "write", error);
    sink_sqlite__end(s, false, NULL);
    return false;
  }
  if (!sql_docs_split(&s->docs, batch, error))
    return false;
  if (!s->have_cols && !sink_sqlite__ensure_table(s, error))
    return false;
  if (!sql_rows_build(&s->rows, &s->cols, &s->docs, SQLITE_MISMATCH, result,
                      error))
    return false;
  size_t rows = s->rows.n;
  if (rows == 0)
    return true;

  int limit = sqlite3_limit(s->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  size_t per = (size_t)(limit > 0 ? limit : 999) / s->cols.n;
  if (per > SINK_SQLITE_MAX_ROWS)
    per = SINK_SQLITE_MAX_ROWS;
  if (per == 0)
    per = 1;

  uint64_t landed = 0;
  if (!sink_sqlite__begin(s, error))
    return false;
  for (size_t first = 0; first < rows; first += per) {
    size_t k = rows - first < per ? rows - first : per;
    if (k != s->multi_rows) {
      sqlite3_finalize(s->multi);
      s->multi_rows = 0;
      if (!(s->multi = sink_sqlite__prepare(s, k, error)))
        goto out_rollback;
      s->multi_rows = k;
    }
    sink_sqlite__bind_rows(s, s->multi, first, k);
    int rc = sqlite3_step(s->multi);
    sqlite3_reset(s->multi);
    if (rc == SQLITE_DONE) {
      landed += k;
    } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      /* The statement was undone as a whole; find the rows at fault. */
      if (!sink_sqlite__insert_each(s, first, k, &landed, result, error))
        goto out_rollback;
    } else {
      sink_sqlite__error(s->db, s->table, error);
      goto out_rollback;
    }
  }
  if (s->f->delay_ms)
    sql_sleep_ms(s->f->delay_ms);
  result->inserted = landed; /* they land when committed */
  return true;

out_rollback:
  sink_sqlite__end(s, false, NULL);
  return false;
}

/* Stores mark under key in the progress table, creating it when missing.
 * Call in the transaction. */
static bool sink_sqlite__store_mark(void *sink, const char *key,
                                    const mark_t *mark, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
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
      sink_sqlite__error(s->db, SQL_PROGRESS_TABLE, error);
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
    sink_sqlite__error(s->db, SQL_PROGRESS_TABLE, error);
    return false;
  }
  return true;
}

static bool sink_sqlite__commit(void *sink, const char *key, const mark_t *mark,
                                bson_error_t *error)
{
  static const sql_txn_ops_t ops = {
      .d = &sink_sqlite__dialect,
      .begin = sink_sqlite__begin,
      .store_mark = sink_sqlite__store_mark,
      .end = sink_sqlite__end,
  };
  return sql_commit(&ops, sink, ((sink_sqlite_t *)sink)->in_txn, key, mark,
                    error);
}

static bool sink_sqlite__mark_get(void *sink, const char *key, mark_t *mark,
                                  bool *found, bson_error_t *error)
{
  sink_sqlite_t *s = sink;
  sql_buf_t q = {0};
  sqlite3_stmt *st = NULL;
  bool ok = false, exists;
  *found = false;
  sink_sqlite__lock(s);
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
    sink_sqlite__error(s->db, SQL_PROGRESS_TABLE, error);
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
    sink_sqlite__error(s->db, SQL_PROGRESS_TABLE, error);
    goto out;
  }
  ok = true;
out:
  sqlite3_finalize(st);
  sink_sqlite__unlock(s);
  sql_buf_free(&q);
  return ok;
}

const sink_ops_t sink_sqlite_ops = {
    .name = "sqlite",
    .factory_new = sink_sqlite__factory_new,
    .factory_check = sink_sqlite__factory_check,
    .factory_db = sink_sqlite__factory_db,
    .factory_destroy = sink_sqlite__factory_destroy,
    .open = sink_sqlite__open,
    .count = sink_sqlite__count,
    .drop = sink_sqlite__drop,
    .write = sink_sqlite__write,
    .commit = sink_sqlite__commit,
    .mark_get = sink_sqlite__mark_get,
    .close = sink_sqlite__close,
};
