/* plan: files and options turned into jobs. */
#include "loader/plan.h"
#include "loader/error.h"
#include "loader/json_reader.h"
#include "loader/source.h"
#include "loader/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks that path can be loaded, before anything is written. */
static bool plan__check_file(const char *path, bson_error_t *error)
{
  if (strcmp(path, "-") == 0)
    return true; /* standard input */
  struct stat st;
  if (stat(path, &st) != 0) {
    int err = errno;
    if (strstr(path, "://")) {
      /* A URI given as a file: never echo what may hold a password. */
      char *shown = util_redact_uri(path);
      bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)err,
                     "%s: %s (a target URI goes after --uri)", shown,
                     strerror(err));
      free(shown);
      return false;
    }
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)err, "%s: %s", path,
                   strerror(err));
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

/* Files smaller than this are not split by --split auto. */
#define PLAN_AUTO_SPLIT_MIN (8u * 1024u * 1024u)

/* Appends a job to the plan. */
static bool plan__add(plan_t *plan, size_t *cap, const input_t *in,
                      csvr_cut_t from, csvr_cut_t to, unsigned part,
                      unsigned parts, bson_error_t *error)
{
  if (plan->n_jobs == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    job_t *jobs = realloc(plan->jobs, ncap * sizeof *jobs);
    if (!jobs) {
      bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
      return false;
    }
    plan->jobs = jobs;
    *cap = ncap;
  }
  size_t index = plan->n_jobs++;
  plan->jobs[index] = (job_t){.collection = in->collection,
                              .path = in->path,
                              .start = from.offset,
                              .end = to.offset,
                              .index = index,
                              .start_line = from.line,
                              .part = part,
                              .parts = parts};
  return true;
}

bool plan_build(const options_t *opts, plan_t *plan, bson_error_t *error)
{
  *plan = (plan_t){0};
  size_t cap = 0;
  size_t workers = plan_workers(opts->workers, SIZE_MAX);
  for (size_t i = 0; i < opts->n_inputs; i++) {
    const input_t *in = &opts->inputs[i];
    if (!plan__check_file(in->path, error))
      goto out_fail;
    struct stat st;
    uint64_t size = stat(in->path, &st) == 0 ? (uint64_t)st.st_size : 0;
    size_t parts = opts->part_of ? opts->part_of : opts->split;
    bool json =
        opts->input_type == CLI_INPUT_JSON ||
        (opts->input_type == CLI_INPUT_BY_NAME && jsonr_is_json_name(in->path));
    if (strcmp(in->path, "-") == 0 || source_is_gzip(in->path) || json) {
      /* A stream cannot be cut into byte ranges: one job reads it. With
       * --part, part 1 takes it whole. */
      if (opts->part > 1)
        continue;
      parts = 1;
    }
    if (!parts && opts->split_auto) {
      size_t per_file = (workers + opts->n_inputs - 1) / opts->n_inputs;
      parts = size >= PLAN_AUTO_SPLIT_MIN ? per_file : 1;
    }
    if (parts <= 1) {
      csvr_cut_t whole[2] = {{0, 1}, {UINT64_MAX, 0}};
      if (!plan__add(plan, &cap, in, whole[0], whole[1], 0, 0, error))
        goto out_fail;
      plan->jobs[plan->n_jobs - 1].json = json;
      plan->jobs[plan->n_jobs - 1].json_array =
          json && strcmp(in->path, "-") != 0 && jsonr_is_array(in->path);
      continue;
    }
    csvr_cut_t *cuts = calloc(parts + 1, sizeof *cuts);
    if (!cuts || !csvr_find_cuts(in->path, &opts->dialect, opts->n_fields == 0,
                                 size, parts, cuts, error)) {
      free(cuts);
      goto out_fail;
    }
    cuts[parts].offset = UINT64_MAX; /* the last part reads to the end */
    for (size_t k = 0; k < parts; k++) {
      if (opts->part && k + 1 != opts->part)
        continue;
      if (!plan__add(plan, &cap, in, cuts[k], cuts[k + 1], (unsigned)k + 1,
                     (unsigned)parts, error)) {
        free(cuts);
        goto out_fail;
      }
    }
    free(cuts);
  }
  return true;

out_fail:
  plan_cleanup(plan);
  return false;
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
