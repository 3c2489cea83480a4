/* plan: files and options turned into jobs. */
#include "loader/plan.h"
#include "loader/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks that path can be loaded, before anything is written. */
static bool plan__check_file(const char *path, bson_error_t *error)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", path,
                   strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "%s: not a regular file",
                   path);
    return false;
  }
  if (access(path, R_OK) != 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", path,
                   strerror(errno));
    return false;
  }
  return true;
}

bool plan_build(const options_t *opts, plan_t *plan, bson_error_t *error)
{
  *plan = (plan_t){0};
  plan->jobs = calloc(opts->n_inputs ? opts->n_inputs : 1, sizeof *plan->jobs);
  if (!plan->jobs) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return false;
  }
  for (size_t i = 0; i < opts->n_inputs; i++) {
    const input_t *in = &opts->inputs[i];
    if (!plan__check_file(in->path, error)) {
      plan_cleanup(plan);
      return false;
    }
    size_t index = plan->n_jobs++;
    plan->jobs[index] = (job_t){.collection = in->collection,
                                .path = in->path,
                                .start = 0,
                                .end = UINT64_MAX,
                                .index = index};
  }
  return true;
}

size_t plan_workers(size_t requested, size_t n_jobs)
{
  size_t n = requested;
  if (n == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus > 0 ? (size_t)cpus : 1;
  }
  if (n > n_jobs)
    n = n_jobs;
  return n ? n : 1;
}

void plan_cleanup(plan_t *plan)
{
  free(plan->jobs);
  *plan = (plan_t){0};
}
