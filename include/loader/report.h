/* report: what the runs did, as text for people and JSON for scripts.
 *
 * The text report has one line per job (collection, file, processed, prior,
 * post, elapsed, rows/s), a total line per run and, for two runs, a table
 * of both and the speedup; with --index, a table of the indexes built after
 * the last run (run_t.indexes), whose failures report_problems() lists with
 * their duplicate keys and lines. The JSON report is documented in the
 * README. */
#ifndef LOADER_REPORT_H
#define LOADER_REPORT_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdio.h>

#include "loader/plan.h"
#include "loader/run.h"
#include "loader/verify.h"

/* Writes the text report of runs[0..n_runs) for plan's jobs to out;
 * numbers get thousands separators when group is true (a terminal). */
void report_text(FILE *out, const plan_t *plan, const run_t *runs,
                 size_t n_runs, bool group);

/* Writes the problems of runs to err, as "loader: FILE:LINE:COLUMN:
 * reason" lines (a few per job, then a count), job failures, and broken
 * invariants (post - prior != inserted). */
void report_problems(FILE *err, const plan_t *plan, const run_t *runs,
                     size_t n_runs);

/* Writes the JSON report to out: {"runs": [...]} and, for a linear and a
 * parallel run, "speedup". */
void report_json(FILE *out, const plan_t *plan, const run_t *runs,
                 size_t n_runs);

/* Writes the JSON report to path (atomically: a temporary file, then
 * rename). Returns false and fills error when it cannot. */
bool report_json_write(const char *path, const plan_t *plan, const run_t *runs,
                       size_t n_runs, bson_error_t *error);

/* Returns the speedup of parallel over linear: linear elapsed / parallel
 * elapsed, or 0 when not measurable. */
double report_speedup(const run_t *linear, const run_t *parallel);

/* --verify: as report_json_write(), with the verify phase's findings
 * ("verify": {...}, see the README) when verify is not NULL. */
bool report_json_write_verify(const char *path, const plan_t *plan,
                              const run_t *runs, size_t n_runs,
                              const verify_report_t *verify,
                              bson_error_t *error);

/* Writes the verify phase's lines to out: one per job, "verified: N of M
 * rows (how)" or "not verified: why". */
void report_verify_text(FILE *out, const plan_t *plan,
                        const verify_report_t *verify, bool group);

/* Writes what verify found wrong to err: "loader: FILE:LINE: verify: what"
 * lines (the first few per job, then a count), and why a job was not
 * verified. */
void report_verify_problems(FILE *err, const plan_t *plan,
                            const verify_report_t *verify);

#endif
