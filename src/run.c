/* run: the same jobs, linearly on the calling thread or on a pool. */
#include "loader/run.h"
#include "loader/error.h"
#include "loader/pool.h"
#include "loader/util.h"

#include <stdlib.h>
#include <string.h>

/* One job handed to a pool worker. */
typedef struct run_task {
  const job_t *job;     /* what to load */
  const job_env_t *env; /* shared settings */
  job_result_t *result; /* where the worker reports */
} run_task_t;

static void run__task(void *p)
{
  run_task_t *t = p;
  job_run(t->job, t->env, t->result);
}

/* Returns the index of the first job writing jobs[i]'s collection, and
 * whether any other job writes it too. */
static size_t run__first_of(const job_t *jobs, size_t n_jobs, size_t i,
                            bool *shared)
{
  size_t first = i;
  *shared = false;
  for (size_t j = 0; j < n_jobs; j++) {
    if (j == i || strcmp(jobs[j].collection, jobs[i].collection) != 0)
      continue;
    *shared = true;
    if (j < first)
      first = j;
  }
  return first;
}

/* Counts the collections several jobs write, into counts[first job]. The
 * per-job prior/post of such jobs overlap; the collection's own count
 * before and after the whole run is what the accounting is checked on. */
static void run__count_shared(const job_t *jobs, size_t n_jobs,
                              const job_env_t *env, int64_t *counts)
{
  for (size_t i = 0; i < n_jobs; i++) {
    bool shared;
    counts[i] = -1;
    if (run__first_of(jobs, n_jobs, i, &shared) != i || !shared)
      continue;
    bson_error_t error;
    sink_t *sink = sink_open(env->sinks, jobs[i].collection, &error);
    if (sink && !sink_count(sink, &counts[i], &error))
      counts[i] = -1;
    sink_close(sink);
  }
}

bool run_jobs(const job_t *jobs, size_t n_jobs, run_mode_t mode, size_t workers,
              const job_env_t *env, run_t *run, bson_error_t *error)
{
  bool ok = false;
  run_task_t *tasks = NULL;
  *run = (run_t){.mode = mode, .n_jobs = n_jobs};
  run->results = calloc(n_jobs ? n_jobs : 1, sizeof *run->results);
  run->coll_prior = calloc(n_jobs ? n_jobs : 1, sizeof *run->coll_prior);
  run->coll_post = calloc(n_jobs ? n_jobs : 1, sizeof *run->coll_post);
  if (!run->results || !run->coll_prior || !run->coll_post) {
    run_cleanup(run);
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  run__count_shared(jobs, n_jobs, env, run->coll_prior);
  double t0 = util_now();
  if (mode == RUN_LINEAR) {
    run->workers = 1;
    for (size_t i = 0; i < n_jobs; i++)
      job_run(&jobs[i], env, &run->results[i]);
    ok = true;
    goto out;
  }

  tasks = calloc(n_jobs ? n_jobs : 1, sizeof *tasks);
  if (!tasks) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  pool_t *pool = pool_new(workers, workers * 2, error);
  if (!pool)
    goto out;
  run->workers = pool_size(pool);
  for (size_t i = 0; i < n_jobs; i++) {
    tasks[i] = (run_task_t){&jobs[i], env, &run->results[i]};
    pool_submit(pool, run__task, &tasks[i]);
  }
  pool_destroy(pool);
  ok = true;

out:
  run->elapsed_s = util_now() - t0;
  if (ok)
    run__count_shared(jobs, n_jobs, env, run->coll_post);
  free(tasks);
  if (!ok)
    run_cleanup(run);
  return ok;
}

bool run_is_clean(const run_t *run)
{
  for (size_t i = 0; i < run->n_jobs; i++)
    if (!run->results[i].ok || run->results[i].rejected > 0)
      return false;
  return true;
}

bool run_not_durable(const run_t *run)
{
  for (size_t i = 0; i < run->n_jobs; i++)
    if (run->results[i].wc_errors > 0)
      return true;
  return false;
}

void run_cleanup(run_t *run)
{
  free(run->results);
  free(run->coll_prior);
  free(run->coll_post);
  run->results = NULL;
  run->coll_prior = run->coll_post = NULL;
  run->n_jobs = 0;
}

const char *run_mode_name(run_mode_t mode)
{
  return mode == RUN_LINEAR ? "linear" : "parallel";
}
