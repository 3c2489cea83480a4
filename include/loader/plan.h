/* plan: files and options turned into jobs.
 *
 * One job per (collection, file). Every input is checked before anything is
 * written: it must exist, be a regular file and be readable. */
#ifndef LOADER_PLAN_H
#define LOADER_PLAN_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

#include "loader/cli.h"
#include "loader/job_spec.h"

typedef struct plan {
  job_t *jobs;   /* the jobs, in command-line order (owned) */
  size_t n_jobs; /* how many */
} plan_t;

/* Builds the jobs for opts into *plan (plan_cleanup() frees it). Returns
 * false and fills error (LOADER_ERROR_USAGE, naming the file) when an input
 * is missing, unreadable or not a regular file. */
bool plan_build(const options_t *opts, plan_t *plan, bson_error_t *error);

/* Returns the workers to use: requested (0 = CPUs), at most n_jobs, at
 * least 1. */
size_t plan_workers(size_t requested, size_t n_jobs);

/* Frees what plan_build() allocated. */
void plan_cleanup(plan_t *plan);

#endif
