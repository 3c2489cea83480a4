/* sink_sqlite_file: the SQLite sink's factory: the URI (sqlite:PATH,
 * sqlite:DIR/, sqlite::memory:), the registry of database files with the
 * mutex their writers take in turn (see sink_sqlite.c for why), and the
 * connections. */
#include "loader/error.h"
#include "sink_sql.h"
#include "sink_sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a connection waits for a lock another process holds. */
#define SINK_SQLITE_BUSY_TIMEOUT_MS 30000
/* Frames (pages) committed to the WAL and not yet copied that ask for a
 * checkpoint: SQLite's own auto-checkpoint threshold. */
#define SINK_SQLITE_CKPT_FRAMES 1000
/* Frames in the WAL at which a writer waits for the checkpointer before
 * its next transaction (see sink_sqlite_ckpt_bound()). */
#define SINK_SQLITE_WAL_MAX 4000
#ifdef LOADER_TEST_HOOKS
/* The test-only hook (built only with -DLOADER_TEST_HOOKS=ON, never in a
 * binary to ship): milliseconds to sleep inside each batch transaction. */
#define SINK_SQLITE_DELAY_ENV "LOADER_TEST_SQLITE_DELAY_MS"
#endif

/* Fills error from the connection's last error. */
void sink_sqlite_error(sqlite3 *db, const char *what, bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK,
                 db ? (uint32_t)sqlite3_extended_errcode(db) : SQLITE_NOMEM,
                 "sqlite: %s: %s", what,
                 db ? sqlite3_errmsg(db) : "out of memory");
}

/* Returns the registry entry of path, adding it when new, or NULL when out
 * of memory. */
sink_sqlite_file_t *sink_sqlite_file(sink_sqlite_factory_t *f, const char *path)
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
      pthread_mutex_init(&e->ckpt.users_lock, NULL);
      pthread_mutex_init(&e->ckpt.m, NULL);
      pthread_cond_init(&e->ckpt.cv, NULL);
      e->next = f->files;
      f->files = e;
    }
  }
  pthread_mutex_unlock(&f->reg_lock);
  return e;
}

void sink_sqlite_factory_destroy(void *state)
{
  sink_sqlite_factory_t *f = state;
  if (!f)
    return;
  while (f->files) {
    sink_sqlite_file_t *e = f->files;
    f->files = e->next;
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->ckpt.users_lock);
    pthread_mutex_destroy(&e->ckpt.m);
    pthread_cond_destroy(&e->ckpt.cv);
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
void *sink_sqlite_factory_new(const sink_config_t *config, bson_error_t *error)
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
      sink_sqlite_error(f->keeper, "cannot open the memory database", error);
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
  sink_sqlite_factory_destroy(f);
  return NULL;
}

/* Opens a connection to path and sets it up: busy timeout, and for files
 * WAL mode (which stays with the file) and synchronous=NORMAL. */
sqlite3 *sink_sqlite_connect(sink_sqlite_factory_t *f, sink_sqlite_file_t *file,
                             bson_error_t *error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= f->mem_uri ? SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX
                      : SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(file->path, &db, flags, NULL) != SQLITE_OK) {
    char what[64 + 256];
    snprintf(what, sizeof what, "cannot open %.256s", file->path);
    sink_sqlite_error(db, what, error);
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
    sink_sqlite_error(db, what, error);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

/* The checkpointer: a PASSIVE checkpoint each time a pass is asked for,
 * until told to stop. A checkpoint that fails leaves the pages in the WAL,
 * committed all the same (SQLite's auto-checkpoint ignores its errors
 * too); the last close copies them. */
static void *sink_sqlite__ckpt_main(void *arg)
{
  sink_sqlite_ckpt_t *c = arg;
  pthread_mutex_lock(&c->m);
  for (;;) {
    while (!c->want && !c->stop)
      pthread_cond_wait(&c->cv, &c->m);
    if (c->stop)
      break;
    c->want = false;
    c->busy = true;
    pthread_mutex_unlock(&c->m);
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                       &log, &done);
    pthread_mutex_lock(&c->m);
    c->busy = false;
    c->passes++;
    if (rc == SQLITE_OK && done >= 0)
      c->done = done;
    pthread_cond_broadcast(&c->cv);
  }
  pthread_mutex_unlock(&c->m);
  return NULL;
}

/* sqlite3_wal_hook(): called after each commit of a joined connection with
 * the WAL's frames; asks for a pass when enough are not yet copied. */
static int sink_sqlite__wal_hook(void *arg, sqlite3 *db, const char *name,
                                 int frames)
{
  (void)db;
  (void)name;
  sink_sqlite_ckpt_t *c = arg;
  pthread_mutex_lock(&c->m);
  if (frames < c->done) /* the WAL was written from its start again */
    c->done = 0;
  c->frames = frames;
  if (frames - c->done >= SINK_SQLITE_CKPT_FRAMES && !c->want) {
    c->want = true;
    pthread_cond_broadcast(&c->cv);
  }
  pthread_mutex_unlock(&c->m);
  return SQLITE_OK;
}

bool sink_sqlite_ckpt_join(sink_sqlite_factory_t *f, sink_sqlite_file_t *file,
                           sqlite3 *db)
{
  sink_sqlite_ckpt_t *c = &file->ckpt;
  bool ok = true;
  pthread_mutex_lock(&c->users_lock);
  if (c->users == 0) {
    bson_error_t ignored;
    sqlite3 *mine = sink_sqlite_connect(f, file, &ignored);
    pthread_mutex_lock(&c->m);
    c->db = mine;
    c->stop = c->want = c->busy = false;
    c->frames = c->done = 0;
    pthread_mutex_unlock(&c->m);
    ok = mine &&
         pthread_create(&c->thread, NULL, sink_sqlite__ckpt_main, c) == 0;
    if (!ok) {
      sqlite3_close(mine);
      c->db = NULL;
    }
  }
  if (ok) {
    c->users++;
    sqlite3_wal_hook(db, sink_sqlite__wal_hook, c);
  }
  pthread_mutex_unlock(&c->users_lock);
  return ok;
}

void sink_sqlite_ckpt_leave(sink_sqlite_file_t *file)
{
  sink_sqlite_ckpt_t *c = &file->ckpt;
  pthread_mutex_lock(&c->users_lock);
  if (--c->users == 0) {
    pthread_mutex_lock(&c->m);
    c->stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->m);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    c->db = NULL;
  }
  pthread_mutex_unlock(&c->users_lock);
}

void sink_sqlite_ckpt_bound(sink_sqlite_file_t *file)
{
  sink_sqlite_ckpt_t *c = &file->ckpt;
  pthread_mutex_lock(&c->m);
  if (c->frames >= SINK_SQLITE_WAL_MAX) {
    /* a pass that starts after this point: the writers wait for the file's
     * mutex, which the caller holds, so it copies every frame (unless a
     * reader in another process still needs some) */
    unsigned long until = c->passes + (c->busy ? 2 : 1);
    c->want = true;
    pthread_cond_broadcast(&c->cv);
    while (c->passes < until && !c->stop)
      pthread_cond_wait(&c->cv, &c->m);
    c->frames = 0;
  }
  pthread_mutex_unlock(&c->m);
}

/* Returns the file that holds table (a new string the caller frees). */
char *sink_sqlite_path_of(const sink_sqlite_factory_t *f, const char *table)
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
bool sink_sqlite_factory_check(void *state, bson_error_t *error)
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
  sink_sqlite_file_t *file = sink_sqlite_file(f, f->path);
  if (!file) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  sqlite3 *db = sink_sqlite_connect(f, file, error);
  if (!db)
    return false;
  bool ok = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
                         NULL) == SQLITE_OK;
  if (!ok)
    sink_sqlite_error(db, f->path, error);
  sqlite3_close(db);
  return ok;
}

const char *sink_sqlite_factory_db(const void *state)
{
  const sink_sqlite_factory_t *f = state;
  return f->mem_uri ? ":memory:" : f->path;
}
