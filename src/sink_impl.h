/* The table of functions behind sink.h; one per database. Private to the
 * sink_*.c files. */
#ifndef LOADER_SINK_IMPL_H
#define LOADER_SINK_IMPL_H

#include "loader/sink.h"

typedef struct sink_ops {
  const char *name; /* "mongodb", "null", ... */
  /* Creates the implementation's shared state from config. */
  void *(*factory_new)(const sink_config_t *config, bson_error_t *error);
  /* Checks the target is reachable. */
  bool (*factory_check)(void *state, bson_error_t *error);
  /* The database name used. */
  const char *(*factory_db)(const void *state);
  void (*factory_destroy)(void *state);
  /* Opens one sink; returns its state. */
  void *(*open)(void *state, const char *collection, bson_error_t *error);
  bool (*count)(void *sink, int64_t *count, bson_error_t *error);
  bool (*drop)(void *sink, bson_error_t *error);
  bool (*write)(void *sink, const batch_t *batch, sink_write_result_t *result,
                bson_error_t *error);
  /* Optional (NULL: none): the part of write that needs no server, done
   * ahead (sink_prepare()); write then skips it for the batch prepared
   * last. */
  bool (*prepare)(void *sink, const batch_t *batch, sink_write_result_t *result,
                  bson_error_t *error);
  /* Commits the last write with mark under key (key NULL: no mark); NULL
   * for sinks whose writes are durable when write returns. */
  bool (*commit)(void *sink, const char *key, const mark_t *mark,
                 bson_error_t *error);
  /* Reads the mark under key; NULL for sinks that keep none. */
  bool (*mark_get)(void *sink, const char *key, mark_t *mark, bool *found,
                   bson_error_t *error);
  void (*close)(void *sink);
  /* Whether an error of a failed write is worth a retry; NULL: never. */
  bool (*is_transient)(const bson_error_t *error);
  /* Whether SINK_MODE_UPSERT and SINK_MODE_MERGE are supported. */
  bool supports_upsert;
  /* Whether SINK_MODE_DELETE, ordered writes and bypassing document
   * validation are supported (sink_config_t.ordered, bypass_validation). */
  bool supports_delete;
  bool supports_ordered;
  bool supports_bypass;
  /* Whether a job's batches may be written over several sinks at once
   * (--inflight): each acknowledged write stands on its own, no mark is
   * committed with it. */
  bool parallel_writes;
  /* Whether sink_config_t.write_concern means something. */
  bool supports_write_concern;
  /* --verify (see sink.h): the canonical form of a built document and
   * of every stored one; NULL for sinks that cannot be read back. */
  bool (*canon)(void *sink, const bson_t *doc, const sink_feed_t *feed,
                bool *fits, bson_error_t *error);
  bool (*scan)(void *sink, unsigned part, unsigned parts,
               const sink_feed_t *feed, bson_error_t *error);
  /* Parts a scan is best read in at once (0: 1). */
  unsigned scan_parts;
  /* Looks documents up by _id; NULL when the target cannot. */
  bool (*find_ids)(void *sink, const bson_t *ids, sink_found_fn found,
                   void *ctx, bson_error_t *error);
  /* Creates an index (sink_index_create(), result->name already holds the
   * name to give it); NULL: indexes are not built (the null sink). */
  bool (*index_create)(void *sink, const sink_index_t *index,
                       sink_index_result_t *result, bson_error_t *error);
  /* Reads the duplicate keys of a unique index (sink_index_duplicates()). */
  bool (*index_duplicates)(void *sink, const sink_index_t *index, size_t max,
                           bson_t *dups, bson_error_t *error);
  /* Whether those keys keep the types the documents held (MongoDB: 1,
   * true and "1" are three keys) rather than a column's (SQL). */
  bool index_keys_typed;
} sink_ops_t;

extern const sink_ops_t sink_mongo_ops;
extern const sink_ops_t sink_null_ops;
#ifdef LOADER_WITH_SQLITE
extern const sink_ops_t sink_sqlite_ops;
#endif
#ifdef LOADER_WITH_MYSQL
extern const sink_ops_t sink_mysql_ops;
#endif

#ifdef LOADER_TESTING
/* Test builds only (tests/unit/test_job.c compiles its own copy of sink.c
 * with LOADER_TESTING; the loader_core library and the shipped binary
 * never have it): URIs starting with "test:" go to ops. NULL removes
 * them. */
void sink_register_test_ops(const sink_ops_t *ops);
#endif

/* Writes into buf (cap bytes) MongoDB's default name of index: each
 * key's field and direction, joined by '_' ("last_1_first_-1"). Returns
 * false when it does not fit. */
bool sink_index_default_name(const sink_index_t *index, char *buf, size_t cap);

/* Appends one per-document error to result. Returns false when out of
 * memory. */

bool sink_result_add_error(sink_write_result_t *result, size_t index,
                           int32_t code, const char *message);

#endif
