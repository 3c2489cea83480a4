/* What the loader reported, read back by the integration tests: its JSON
 * report, and the tuple of one job; and small input files written on the
 * spot. Failures fail the calling cmocka test. */
#ifndef LOADER_TEST_REPORT_CHECK_H
#define LOADER_TEST_REPORT_CHECK_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

/* Reads the JSON report at path (bson_destroy() it). */
bson_t *report_load(const char *path);

/* The number / string at a dotted path of the report ("runs.0.jobs.1.post");
 * fails the test when it is absent. */
int64_t report_int(const bson_t *report, const char *path);
const char *report_str(const bson_t *report, const char *path);

/* Whether the report has a dotted path. */
bool report_has(const bson_t *report, const char *path);

/* Checks one job of a run: its collection, the tuple (processed, prior,
 * post), and that the accounting closes (inserted = post - prior, rejected =
 * processed - inserted). */
void report_assert_job(const bson_t *report, int run, int job, const char *coll,
                       int64_t processed, int64_t prior, int64_t post);

/* Writes text to a fresh file name under the test's temporary directory
 * and returns its path (caller frees). */
char *write_tmp(const char *name, const char *text);

#endif
