/* sink_sqlite_impl: what the SQLite sink's two files share: the factory
 * (sink_sqlite_file.c: the URI, the registry of database files and their
 * mutexes, connections, each file's checkpointer) and the sink
 * (sink_sqlite.c). Private to them. */
#ifndef LOADER_SINK_SQLITE_IMPL_H
#define LOADER_SINK_SQLITE_IMPL_H

#include <pthread.h>
#include <sqlite3.h>

#include "sink_impl.h"

/* The checkpointer of a database file: a thread with its own connection
 * that copies the WAL's committed pages into the database file (PASSIVE
 * checkpoints, as SQLite's auto-checkpoint runs them) while the writers go
 * on, instead of each writer doing it inside its COMMIT. */
typedef struct sink_sqlite_ckpt {
  pthread_mutex_t users_lock; /* guards users, starting and stopping */
  unsigned users;             /* writer connections that rely on it */
  pthread_t thread;           /* the checkpointer, while users > 0 */
  sqlite3 *db;                /* its connection */
  pthread_mutex_t m;          /* guards the fields below */
  pthread_cond_t cv;          /* a pass asked for, a pass done, stop */
  bool stop;                  /* the last user is leaving */
  bool want;                  /* a pass is asked for */
  bool busy;                  /* a pass is under way */
  int frames;                 /* the WAL's frames after the last commit */
  int done;                   /* of those, copied by the last pass */
  unsigned long passes;       /* passes done */
} sink_sqlite_ckpt_t;

typedef struct sink_sqlite_file {
  char *path;                    /* what sqlite3_open_v2() is given */
  pthread_mutex_t lock;          /* held around each transaction */
  sink_sqlite_ckpt_t ckpt;       /* its checkpointer (files only) */
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

/* Fills error from the connection's last error ("sqlite: what: message",
 * its extended code); out of memory when db is NULL. */
void sink_sqlite_error(sqlite3 *db, const char *what, bson_error_t *error);

/* Returns the registry entry of path, adding it when new, or NULL when out
 * of memory. */
sink_sqlite_file_t *sink_sqlite_file(sink_sqlite_factory_t *f,
                                     const char *path);

/* Returns the file that holds table (a new string the caller frees), or
 * NULL when out of memory. */
char *sink_sqlite_path_of(const sink_sqlite_factory_t *f, const char *table);

/* Opens a connection to file and sets it up: busy timeout, and for files
 * WAL mode (which stays with the file) and synchronous=NORMAL. Returns NULL
 * and fills error when it cannot. */
sqlite3 *sink_sqlite_connect(sink_sqlite_factory_t *f, sink_sqlite_file_t *file,
                             bson_error_t *error);

/* Hands db's checkpoints to file's checkpointer, starting it for the
 * first user; db's own auto-checkpoint is then off. Returns false when the
 * checkpointer cannot start: db then keeps SQLite's auto-checkpoint. */
bool sink_sqlite_ckpt_join(sink_sqlite_factory_t *f, sink_sqlite_file_t *file,
                           sqlite3 *db);

/* Leaves the checkpointer (before closing the connection that joined):
 * the last user stops it and closes its connection, so that the user's own
 * close is the last one, which checkpoints what is left and removes the
 * WAL, as SQLite does. */
void sink_sqlite_ckpt_leave(sink_sqlite_file_t *file);

/* Keeps the WAL bounded: when it holds SINK_SQLITE_WAL_MAX frames or more,
 * waits until the checkpointer has copied them all, so that the
 * transaction about to begin writes the WAL from its start. Call with the
 * file's mutex, before BEGIN. */
void sink_sqlite_ckpt_bound(sink_sqlite_file_t *file);

/* sink_ops_t's factory functions (sqlite:PATH, sqlite:DIR/,
 * sqlite::memory:). */
void *sink_sqlite_factory_new(const sink_config_t *config, bson_error_t *error);
bool sink_sqlite_factory_check(void *state, bson_error_t *error);
const char *sink_sqlite_factory_db(const void *state);
void sink_sqlite_factory_destroy(void *state);

#endif
