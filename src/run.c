/* run: the same jobs, linearly on the calling thread or on a pool. */
#include "loader/run.h"
#include "loader/error.h"
#include "loader/pool.h"
#include "loader/util.h"

#include <stdlib.h>

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

bool run_jobs(const job_t *jobs, size_t n_jobs, run_mode_t mode, size_t workers,
              const job_env_t *env, run_t *run, bson_error_t *error)
{
  bool ok = false;
  run_task_t *tasks = NULL;
  *run = (run_t){.mode = mode, .n_jobs = n_jobs};
  run->results = calloc(n_jobs ? n_jobs : 1, sizeof *run->results);
  if (!run->results) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
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

void run_cleanup(run_t *run)
{
  free(run->results);
  run->results = NULL;
  run->n_jobs = 0;
}

const char *run_mode_name(run_mode_t mode)
{
  return mode == RUN_LINEAR ? "linear" : "parallel";
}
