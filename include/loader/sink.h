/* sink: the only part of the loader that knows the database.
 *
 * A sink_factory_t is made once per run from the target URI and shared by
 * all workers (for MongoDB it holds the mongoc_client_pool_t); each job opens
 * its own sink_t from it (for MongoDB: pops its own client), counts, writes
 * batches and closes it. Everything above this interface speaks BSON.
 *
 * Implementations: sink_mongo.c (mongodb://, mongodb+srv://), sink_null.c
 * (--dry-run: counts and discards). */
#ifndef LOADER_SINK_H
#define LOADER_SINK_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/batch.h"
#include "loader/mark.h"

typedef struct sink_factory sink_factory_t;
typedef struct sink sink_t;

/* One document the database refused while the rest of its batch landed. */
typedef struct sink_doc_error {
  size_t index;      /* position of the document in its batch */
  int32_t code;      /* the database's error code (11000: duplicate key) */
  char message[256]; /* the database's message */
  bool dup_on_id;    /* a duplicate key on _id alone, read from the write
                        error's keyPattern (never from its message) */
} sink_doc_error_t;

/* What a batch write did. */
typedef struct sink_write_result {
  uint64_t inserted;        /* documents that landed as new documents */
  uint64_t updated;         /* documents that replaced or updated an
                               existing one (upsert and merge modes) */
  uint64_t deleted;         /* documents removed (delete mode) */
  uint64_t unmatched;       /* delete mode: documents sent whose filter
                               matched nothing (already gone, or never
                               there) */
  bool replay;              /* in (the caller sets it before each write,
                               sink_write() keeps it): the batch may have
                               landed before (a retry, a resumed window), so
                               an ordered write goes on past a duplicate
                               _id instead of stopping there */
  bool later;               /* in (the caller sets it before each write,
                               sink_write() keeps it): a batch after the
                               job's first, which was checked against an
                               existing SQL table's columns: a SQL sink
                               that has not read them yet takes them as
                               they are (a field that is not one is refused
                               per row) */
  bool stopped;             /* an ordered write stopped at its first refused
                               document (the last of errors): the documents
                               after it in the batch were not sent */
  size_t stopped_at;        /* the batch index it stopped at, if stopped */
  sink_doc_error_t *errors; /* documents refused, by index (owned; reused) */
  size_t n_errors;          /* how many */
  size_t cap_errors;        /* allocated entries of errors */
  bool wc_error;            /* the write was applied but its write concern
                               was not satisfied (a writeConcernError that
                               is not worth a retry): landed, not durable
                               as asked */
  int32_t wc_code;          /* the writeConcernError's code */
  char wc_message[128];     /* and its message */
} sink_write_result_t;

/* Frees the error list of a result. */
void sink_write_result_cleanup(sink_write_result_t *result);

/* Settings of a factory. */
/* How documents are written (--mode). */
typedef enum sink_mode {
  SINK_MODE_INSERT, /* insert; an existing _id is a duplicate-key error */
  SINK_MODE_UPSERT, /* replace the document matching the upsert fields, or
                       insert it */
  SINK_MODE_MERGE,  /* set the document's fields on the one matching the
                       upsert fields, or insert it */
  SINK_MODE_DELETE, /* delete one document matching the upsert fields */
} sink_mode_t;

typedef struct sink_config {
  const char *uri;      /* target URI; NULL with dry_run */
  const char *password; /* the user's password (--password-file), handed to
                           the driver as it is, never put into a URI
                           string; NULL: none, or the URI's own. The URI
                           must then name a user and no password. Only
                           read by sink_factory_new(): the caller may wipe
                           it once that returns */
  const char *db; /* database name, or NULL for the URI's, else "loader" */
  const char *write_concern; /* --write-concern (MongoDB), or NULL: the
                                URI's */
  bool dry_run;              /* use the null sink: no server, nothing written */
  unsigned workers;          /* how many sinks may be open at once */
  sink_mode_t mode;          /* insert, upsert or merge */
  const char *const *upsert_fields; /* fields that identify a document in
                                       upsert and merge modes (borrowed) */
  size_t n_upsert_fields;           /* how many; 0 means _id */
  bool ordered;           /* --stop-on-error: each batch is one ordered
                             write that stops at the first document refused
                             (MongoDB only) */
  bool bypass_validation; /* --bypass-document-validation: every write
                             command says bypassDocumentValidation: true
                             (MongoDB only) */
} sink_config_t;

/* Creates the factory for config's URI scheme. Returns NULL and fills error
 * for an unknown scheme or a malformed URI (LOADER_ERROR_USAGE). Does not
 * connect. */
sink_factory_t *sink_factory_new(const sink_config_t *config,
                                 bson_error_t *error);

/* Checks that the target can be reached and used (for MongoDB: a ping,
 * bounded by the server selection timeout). Returns false and fills error
 * otherwise. */
bool sink_factory_check(sink_factory_t *factory, bson_error_t *error);

/* Returns true when nothing is written (--dry-run): a write costs nothing
 * worth overlapping. */
bool sink_factory_is_null(const sink_factory_t *factory);

/* Returns how many batches a job may have on the wire at once, at most
 * requested (--inflight): 1 for targets that commit each job's mark with
 * its writes (SQL), for upsert, merge and delete (rows with the same key
 * apply in file order) and for ordered writes (--stop-on-error: nothing
 * after the first refused row may land). */
unsigned sink_factory_inflight(const sink_factory_t *factory,
                               unsigned requested);

/* Returns true when the sinks of factory can prepare a batch ahead of its
 * write (sink_prepare()): SQL targets, whose rows are made and checked, and
 * for MySQL rendered as LOAD DATA text, without the server. A checker's
 * sinks cannot. */
bool sink_factory_can_prepare(const sink_factory_t *factory);

/* Returns the database name writes go to. */
const char *sink_factory_db(const sink_factory_t *factory);

/* Returns the schemes this build supports, e.g. "mongodb, sqlite". */
const char *sink_schemes(void);

/* Frees the factory; every sink opened from it must be closed first. NULL is
 * a no-op. */
void sink_factory_destroy(sink_factory_t *factory);

/* Opens a sink for collection. Thread-safe. Returns NULL and fills error
 * when no connection can be had. */
sink_t *sink_open(sink_factory_t *factory, const char *collection,
                  bson_error_t *error);

/* Stores the number of documents in the collection in *count. */
bool sink_count(sink_t *sink, int64_t *count, bson_error_t *error);

/* Drops the collection; a collection that does not exist is not an error. */
bool sink_drop(sink_t *sink, bson_error_t *error);

/* Writes the batch, unordered (ordered with sink_config_t.ordered: the
 * write stops at the first refused document, see result->stopped). In
 * delete mode each document deletes one document matching its upsert
 * fields. Documents the database refuses one by one
 * are listed in result (the rest landed) and the call returns true. Returns
 * false and fills error, with the server's code where there is one, when the
 * batch as a whole failed (connection lost, server error); result->inserted
 * then holds what the server acknowledged and kept, if anything (a SQL
 * target rolls a failed write back: nothing). SQL targets: what a
 * successful write did holds once sink_commit() succeeds. */
bool sink_write(sink_t *sink, const batch_t *batch, sink_write_result_t *result,
                bson_error_t *error);

/* Does the part of writing batch that needs no server, into the sink's own
 * memory (SQL: the batch's rows made and checked against the table's
 * columns, once the sink knows them; MySQL: rendered as LOAD DATA text),
 * and lists in result the documents the sink refuses by itself (a value
 * that does not fit its column). The next sink_write() on this sink of the
 * same batch, unchanged, with the same result, then does only the rest;
 * a write of another batch, or a sink_prepare() of another, drops the
 * preparation. Touches neither the server nor the target's state: any
 * number of sinks may prepare while another writes. Returns false and
 * fills error when the batch cannot be read or out of memory (nothing is
 * then prepared). Sinks that cannot prepare (see
 * sink_factory_can_prepare()) do nothing and return true. */
bool sink_prepare(sink_t *sink, const batch_t *batch,
                  sink_write_result_t *result, bson_error_t *error);

/* Makes what the last sink_write() did durable. SQL sinks: sink_write()
 * leaves its transaction open; this stores mark under key in the loader's
 * table (_loader_progress, in the same database as the rows) when key is
 * not NULL, and commits both together, so a batch is in the target if and
 * only if its mark is. MongoDB and the null sink: nothing to do. Returns
 * false and fills error when the commit failed (nothing of the batch is
 * then in the target). */
bool sink_commit(sink_t *sink, const char *key, const mark_t *mark,
                 bson_error_t *error);

/* Returns true when what sink_write() did is undone unless sink_commit()
 * follows (SQL targets; not a checker's sinks): a write the job does not
 * commit does not count. */
bool sink_factory_holds_writes(const sink_factory_t *factory);

/* Reads the mark committed under key: *found is false when there is none
 * (or the target keeps none: MongoDB, the null sink). Returns false and
 * fills error when the target cannot be read. */
bool sink_mark_get(sink_t *sink, const char *key, mark_t *mark, bool *found,
                   bson_error_t *error);

/* Returns true when error is worth retrying the batch for: the connection
 * dropped, the server was not primary or was shutting down, or the server
 * labelled the error retryable. */
bool sink_is_transient(const sink_t *sink, const bson_error_t *error);

/* Closes the sink (for MongoDB: pushes its client back; SQL: rolls back a
 * write that was not committed). NULL is a no-op. */
void sink_close(sink_t *sink);

/* --verify: reading back what landed ---------------------------------- */

/* Receives the canonical form of documents, in pieces: the bytes that say
 * what the target holds for a document, made the same way from a document
 * the loader built (sink_canon()) and from what the target holds
 * (sink_scan()), so that equal bytes mean an equal document or row. */
typedef struct sink_feed {
  void (*bytes)(void *ctx, const void *data, size_t len); /* one piece */
  bool (*end)(void *ctx, const char *label); /* sink_scan(): one stored
                                                document ended; label names
                                                it for a person ("" unless
                                                want_labels); false stops
                                                the scan */
  void *ctx;                                 /* passed to both */
  bool want_labels; /* sink_scan() names each document (costs time) */
} sink_feed_t;

/* Feeds the canonical form of doc, as the loader built it, as the target
 * would hold it (MongoDB: its fields but _id; SQL: the row's values, by
 * the table's column types). *fits is false, and nothing is fed, when the
 * target would refuse it (SQL: a value that does not fit its column).
 * Returns false and fills error when the target cannot be read (SQL: the
 * table's columns). */
bool sink_canon(sink_t *sink, const bson_t *doc, const sink_feed_t *feed,
                bool *fits, bson_error_t *error);

/* Feeds the canonical form of every document of part part (0-based) of
 * parts of the collection, each followed by feed->end(), in the target's
 * order: each document is in exactly one part, so parts read at once by
 * several sinks cover the collection (SQLite: ranges of rowids; MongoDB and
 * MySQL give everything in part 0). Returns false and fills
 * error when the read failed. */
bool sink_scan(sink_t *sink, unsigned part, unsigned parts,
               const sink_feed_t *feed, bson_error_t *error);

/* Returns how many parts the target's scans are best read in at once, at
 * most max (SQLite: ranges of rowids; MongoDB and MySQL: 1). */
unsigned sink_scan_parts(const sink_t *sink, unsigned max);

/* Returns true when the target can look documents up by _id
 * (sink_find_ids()): MongoDB. */
bool sink_can_find_ids(const sink_t *sink);

/* Calls found(ctx, doc) for each document of the collection whose _id is
 * one of the values of the array ids, in any order; found returns false to
 * stop. Returns false and fills error when the read failed. */
typedef bool (*sink_found_fn)(void *ctx, const bson_t *doc);
bool sink_find_ids(sink_t *sink, const bson_t *ids, sink_found_fn found,
                   void *ctx, bson_error_t *error);

/* What a checker does with a batch in place of writing it (see
 * sink_factory_checker()): reads back through sink. Returns false and
 * fills error when it cannot (the job stops). */
typedef bool (*sink_check_fn)(void *ctx, sink_t *sink, const batch_t *batch,
                              bson_error_t *error);

/* Makes a factory whose sinks are target's, but whose sink_write() calls
 * check(ctx, sink, batch) instead of writing (and counts the batch as
 * inserted) and whose sink_commit() does nothing: a job run against it
 * builds its documents exactly as a load does and hands them to check.
 * target must outlive it. Returns NULL and fills error when out of
 * memory. */
sink_factory_t *sink_factory_checker(sink_factory_t *target,
                                     sink_check_fn check, void *ctx,
                                     bson_error_t *error);
/* One key of an index (--index). */
typedef struct sink_index_key {
  char *field;   /* dotted for a nested field; SQL: the column */
  int direction; /* 1 ascending, -1 descending */
} sink_index_key_t;

/* An index to build once the data is in. */
typedef struct sink_index {
  const sink_index_key_t *keys; /* in order (borrowed) */
  size_t n_keys;                /* how many, at least 1 */
  bool unique;                  /* two rows may not share a key */
  bool sparse;                  /* MongoDB: rows without the fields are left
                                   out; SQL: nothing (NULLs never clash) */
  const char *name;             /* its name, or NULL: the default */
} sink_index_t;

/* What sink_index_create() did. */
typedef struct sink_index_result {
  bool created;    /* built now; false: an index of that name was there,
                      left as it is */
  bool duplicates; /* (on failure) a unique index was refused because rows
                      share a key */
  char name[128];  /* the index's name: index->name, or the default
                      (MongoDB's "email_1_last_-1"; SQL targets put the
                      table's name and '_' before it, their index names
                      being per database in SQLite) */
} sink_index_result_t;

/* Creates index on the sink's collection, unless an index of that name is
 * there already (then nothing is done and result->created is false).
 * Returns false and fills error when the target refuses it (SQL: a field
 * that is not a column; a unique index on rows sharing a key sets
 * result->duplicates) or cannot be reached; the rows stay as they are. */
bool sink_index_create(sink_t *sink, const sink_index_t *index,
                       sink_index_result_t *result, bson_error_t *error);

/* Reads up to max keys of index held by more than one row, for a unique
 * index that could not be built. Fills dups with one document per key,
 * under "0", "1", ...: {key: {field: value, ...}, count: N} (SQL values
 * come back as the database gives them: integers, reals or text; NULLs,
 * which never clash, are left out). Returns false and fills error when
 * the target cannot be read. */
bool sink_index_duplicates(sink_t *sink, const sink_index_t *index, size_t max,
                           bson_t *dups, bson_error_t *error);

/* Whether the keys sink_index_duplicates() reads keep the BSON types the
 * documents held, as the index compares them (MongoDB: numbers compare by
 * value, but 1, true and "1" are three keys); false: SQL values, in their
 * column's type (a boolean is 1 or "true", a number may be text). */
bool sink_index_keys_typed(const sink_t *sink);

#endif
