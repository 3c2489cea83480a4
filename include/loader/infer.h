/* infer: a schema preview (--infer). Reads a sample of each file and says,
 * per column, what the loader would store, how many values are empty,
 * where identifiers would lose leading zeros, the shortest and longest
 * value, and a ready-to-use --types argument. Writes nothing anywhere. */
#ifndef LOADER_INFER_H
#define LOADER_INFER_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdio.h>

#include "loader/cli.h"
#include "loader/plan.h"

/* Previews every job's file of plan, sampling opts->sample_rows records
 * each, and prints the result to out. Returns false and fills error when a
 * file cannot be read. */
bool infer_run(const options_t *opts, const plan_t *plan, FILE *out,
               bson_error_t *error);

#endif
