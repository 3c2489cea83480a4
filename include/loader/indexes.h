/* indexes: --index, indexes built once the data is in.
 *
 * Each --index SPEC names the keys of one index and its options:
 *
 *   FIELD:1|-1[,FIELD:1|-1...][,unique][,sparse][,name=NAME][,on=COLLECTION]
 *
 * and applies to every collection (table) of the run, or only to the one
 * named by on=. After the load, indexes_build() creates each index on each
 * collection, one after another (createIndexes on MongoDB, CREATE [UNIQUE]
 * INDEX on SQL targets); an index of the same name already there is left
 * as it is. A unique index refused because rows share a key has its first
 * duplicate keys read back from the target and the input files read again,
 * streaming, to find the lines holding them. (Named indexes_* so as not to
 * clash with libc's index().) */
#ifndef LOADER_INDEXES_H
#define LOADER_INDEXES_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/job.h"
#include "loader/plan.h"
#include "loader/sink.h"

/* Duplicate keys reported per failed unique index, at most. */
#define INDEXES_MAX_DUPS 5
/* Lines reported per duplicate key, at most. */
#define INDEXES_MAX_LINES 8

/* One parsed --index. */
typedef struct indexes_spec {
  sink_index_key_t *keys; /* the keys, in order (fields owned) */
  size_t n_keys;          /* how many */
  bool unique;            /* unique */
  bool sparse;            /* sparse */
  char *name;             /* name=NAME, or NULL: the target's default */
  char *on;               /* on=COLLECTION, or NULL: every collection */
} indexes_spec_t;

/* Parses one --index SPEC into *spec (indexes_spec_cleanup() frees it,
 * also after a failure). Returns false and fills error (LOADER_ERROR_USAGE)
 * naming what is wrong. */
bool indexes_spec_parse(const char *text, indexes_spec_t *spec,
                        bson_error_t *error);

/* Frees what indexes_spec_parse() allocated. */
void indexes_spec_cleanup(indexes_spec_t *spec);

/* Where one duplicate key stands in an input file. */
typedef struct indexes_line {
  const char *path; /* the file (borrowed from the plan) */
  uint64_t line;    /* physical line of the record */
} indexes_line_t;

/* One key a unique index found more than once. */
typedef struct indexes_dup {
  bson_t *key;   /* {field: value, ...} as the target returned it (owned) */
  int64_t count; /* rows holding it, as the target counted them */
  indexes_line_t lines[INDEXES_MAX_LINES]; /* the first lines holding it */
  size_t n_lines;                          /* how many of them */
  uint64_t more_lines;                     /* lines found past those */
} indexes_dup_t;

/* What became of one index on one collection. */
typedef enum indexes_status {
  INDEXES_BUILT,   /* created now */
  INDEXES_EXISTS,  /* one of that name was there: nothing done */
  INDEXES_FAILED,  /* the target refused it (error) */
  INDEXES_SKIPPED, /* not tried: the load did not finish */
} indexes_status_t;

typedef struct indexes_item {
  const char *collection;  /* the collection (borrowed from the plan) */
  const char *spec;        /* the --index text (borrowed from options) */
  char name[128];          /* the index's name */
  indexes_status_t status; /* what became of it */
  double elapsed_s;        /* time spent on it, duplicates search included */
  bson_error_t error;      /* INDEXES_FAILED: why */
  indexes_dup_t dups[INDEXES_MAX_DUPS]; /* duplicate keys (unique) */
  size_t n_dups;                        /* how many */
  bool lines_unknown; /* some input could not be read again (standard
                         input): lines may be missing */
} indexes_item_t;

/* The index phase of a run. */
typedef struct indexes_outcome {
  indexes_item_t *items; /* one per index and collection (owned) */
  size_t n_items;        /* how many */
  double elapsed_s;      /* wall time of the whole phase */
} indexes_outcome_t;

/* Checks specs against plan before anything is written: each on= must
 * name a collection of the plan. Returns false and fills error
 * (LOADER_ERROR_USAGE). */
bool indexes_check(char *const *specs, size_t n_specs, const plan_t *plan,
                   bson_error_t *error);

/* Builds the indexes of specs on the collections of plan through the load's
 * env->sinks, in order; skip (the load did not finish) records each as
 * INDEXES_SKIPPED without a word to the target. To find the lines of
 * duplicate keys, runs the collection's jobs again with env against a
 * checker (sink_factory_checker()), so the documents are built exactly as
 * the load built them. Fills *out (indexes_outcome_cleanup() frees it).
 * Returns false only when out of memory; failed indexes are in out. */
bool indexes_build(char *const *specs, size_t n_specs, const plan_t *plan,
                   const job_env_t *env, bool skip, indexes_outcome_t *out,
                   bson_error_t *error);

/* Returns true when every index of out was built or already there. */
bool indexes_ok(const indexes_outcome_t *out);

/* Returns true when an index failed because the target could not be
 * reached. */
bool indexes_lost_connection(const indexes_outcome_t *out);

/* Frees what indexes_build() allocated; NULL is a no-op. */
void indexes_outcome_cleanup(indexes_outcome_t *out);

#endif
