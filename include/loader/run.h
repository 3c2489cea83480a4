/* run: the same jobs, linearly on the calling thread or on a pool.
 *
 * run_linear() calls job_run() for each job in turn; run_parallel() gives
 * each job to a pool of workers. Both fill one job_result_t per job and time
 * the whole run, so the two can be set side by side. */
#ifndef LOADER_RUN_H
#define LOADER_RUN_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

#include "loader/job.h"

typedef enum run_mode { RUN_LINEAR, RUN_PARALLEL } run_mode_t;

/* One run of all the jobs. */
typedef struct run {
  run_mode_t mode;       /* linear or parallel */
  size_t workers;        /* threads that ran jobs (1 when linear) */
  double elapsed_s;      /* wall time of the whole run */
  size_t n_jobs;         /* jobs in the run */
  job_result_t *results; /* one per job, in job order (owned) */
  int64_t *coll_prior;   /* for the first job of a collection that several
                            jobs write: the collection's count before the
                            run; -1 otherwise (owned) */
  int64_t *coll_post;    /* and after the run (owned) */
  bool deleting;         /* --mode delete: every job's deleted and unmatched
                            are reported, zero or not */
  const struct indexes_outcome *indexes; /* the last run of an invocation
                                            with --index: the index phase
                                            after it (borrowed), or NULL */
} run_t;

/* Runs jobs[0..n_jobs) in mode with up to workers threads and fills *run
 * (run_cleanup() frees it). Returns false and fills error only when the run
 * could not start (no memory, no threads); failed jobs are in the results. */
bool run_jobs(const job_t *jobs, size_t n_jobs, run_mode_t mode, size_t workers,
              const job_env_t *env, run_t *run, bson_error_t *error);

/* Returns true when every job finished and no row was rejected. */
bool run_is_clean(const run_t *run);

/* Returns true when some batch of run landed without satisfying the write
 * concern (a writeConcernError). */
bool run_not_durable(const run_t *run);

/* Frees what run_jobs() allocated in run. */
void run_cleanup(run_t *run);

/* Returns "linear" or "parallel". */
const char *run_mode_name(run_mode_t mode);

#endif
