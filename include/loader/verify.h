/* verify: --verify and --verify-only: what landed, read back and compared
 * with the input.
 *
 * Each job's input is read again and every document built again by the
 * same code as the load (job_run() against a checker sink, see
 * sink_factory_checker()), then compared with what the target holds, in
 * two ways:
 *
 *   by _id   (MongoDB, when ids are the same in every run: --id-from line
 *            or key columns): the built documents are looked up in batches
 *            (find {_id: {$in: [...]}}) and compared byte for byte;
 *   digest   (every target, when the collection held nothing before the
 *            load, or with --verify-only): an order-independent sum of a
 *            128-bit hash of each document's canonical form (MongoDB: its
 *            fields but _id; SQL: the row's values) per bucket, over the
 *            documents built and over the collection read back; buckets
 *            that differ are read again to name the rows (file and line)
 *            that are missing, changed or doubled.
 *
 * Jobs run on a pool of workers, each job with its --inflight readers;
 * the collections are read in parts (SQLite: ranges of rowids) by tasks of
 * their own on the same pool. Memory
 * is bounded: one batch per reader, fixed buckets per job and collection,
 * and at most VERIFY_MAX_ENTRIES rows per collection when naming them. */
#ifndef LOADER_VERIFY_H
#define LOADER_VERIFY_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/job.h"
#include "loader/plan.h"
#include "loader/run.h"
#include "loader/sink.h"

/* Readers of one collection read whole, at most (each a part: see
 * sink_scan()). */
#define VERIFY_SCAN_PARTS 4

/* Differences a job describes; the rest are only counted. */
#define VERIFY_MAX_DIFFS 10

/* Rows per collection that naming the differences may hold, each side
 * (at most 40 MiB in all); past it, differences are counted "or more". */
#define VERIFY_MAX_ENTRIES (1u << 18)

/* How a job was verified (bits). */
enum { VERIFY_BY_ID = 1, VERIFY_BY_DIGEST = 2 };

/* One difference, described for a person. */
typedef struct verify_diff {
  uint64_t line;  /* physical line of the row, or 0: a document of the
                     collection that no row of the input built */
  char what[224]; /* what is wrong */
} verify_diff_t;

/* What verifying one job found. */
typedef struct verify_job {
  unsigned methods;     /* VERIFY_BY_ID | VERIFY_BY_DIGEST; 0: not verified,
                           see why */
  char why[224];        /* why the job was not verified */
  uint64_t rows;        /* rows expected in the target: those the load
                           counts as inserted (--verify-only: built) */
  uint64_t verified;    /* of them, found exactly once as built */
  uint64_t differences; /* rows missing, changed or doubled */
  uint64_t refused;     /* rows the target refused during the load (not
                           expected there) */
  uint64_t extra;       /* documents of the collection no row built (on
                           the first job of each collection) */
  bool capped;          /* too many differences to name them all */
  double elapsed_s;     /* wall time of reading the input again */
  verify_diff_t diffs[VERIFY_MAX_DIFFS]; /* the first differences, by line */
  size_t n_diffs;                        /* entries used */
} verify_job_t;

/* What the verify phase found. */
typedef struct verify_report {
  verify_job_t *jobs; /* one per job of the plan, in its order (owned) */
  size_t n_jobs;      /* how many */
  size_t workers;     /* threads that verified */
  double elapsed_s;   /* wall time of the whole phase */
} verify_report_t;

/* What the verify phase works with. */
typedef struct verify_config {
  sink_factory_t *sinks;    /* the target */
  const plan_t *plan;       /* the jobs */
  const job_env_t *env;     /* how the load read and built (its sinks,
                               checkpoint, rejects and progress unused) */
  size_t workers;           /* threads */
  const job_result_t *load; /* the load's result per job, or NULL
                               (--verify-only: no load) */
  const run_t *run;         /* the load's run (its per-collection counts),
                               or NULL */
} verify_config_t;

/* Verifies every job of cfg->plan into *report (verify_report_cleanup()
 * frees it). Returns false and fills error only when the phase could not
 * start (no memory, no threads); what could not be verified is in the
 * report. */
bool verify_run(const verify_config_t *cfg, verify_report_t *report,
                bson_error_t *error);

/* Returns true when every job was verified and nothing differs. */
bool verify_is_clean(const verify_report_t *report);

/* Frees what verify_run() allocated. */
void verify_report_cleanup(verify_report_t *report);

#endif
