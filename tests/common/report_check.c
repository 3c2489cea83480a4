#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report_check.h"
#include "run_loader.h"

#include <stdio.h>
#include <stdlib.h>

bson_t *report_load(const char *path)
{
  char *text = read_file_text(path);
  assert_non_null(text);
  bson_error_t error;
  bson_t *doc = bson_new_from_json((const uint8_t *)text, -1, &error);
  if (!doc)
    fprintf(stderr, "bad JSON report (%s):\n%s\n", error.message, text);
  assert_non_null(doc);
  free(text);
  return doc;
}

int64_t report_int(const bson_t *report, const char *path)
{
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, report));
  if (!bson_iter_find_descendant(&it, path, &found)) {
    fprintf(stderr, "report has no %s\n", path);
    fail();
  }
  return bson_iter_as_int64(&found);
}

const char *report_str(const bson_t *report, const char *path)
{
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, report));
  if (!bson_iter_find_descendant(&it, path, &found) ||
      !BSON_ITER_HOLDS_UTF8(&found)) {
    fprintf(stderr, "report has no string %s\n", path);
    fail();
  }
  return bson_iter_utf8(&found, NULL);
}

bool report_has(const bson_t *report, const char *path)
{
  bson_iter_t it, found;
  return bson_iter_init(&it, report) &&
         bson_iter_find_descendant(&it, path, &found);
}

void report_assert_job(const bson_t *report, int run, int job, const char *coll,
                       int64_t processed, int64_t prior, int64_t post)
{
  char p[128];
  snprintf(p, sizeof p, "runs.%d.jobs.%d.collection", run, job);
  assert_string_equal(report_str(report, p), coll);
  snprintf(p, sizeof p, "runs.%d.jobs.%d.processed", run, job);
  assert_int_equal(report_int(report, p), processed);
  snprintf(p, sizeof p, "runs.%d.jobs.%d.prior", run, job);
  assert_int_equal(report_int(report, p), prior);
  snprintf(p, sizeof p, "runs.%d.jobs.%d.post", run, job);
  assert_int_equal(report_int(report, p), post);
  snprintf(p, sizeof p, "runs.%d.jobs.%d.inserted", run, job);
  assert_int_equal(report_int(report, p), post - prior);
  snprintf(p, sizeof p, "runs.%d.jobs.%d.rejected", run, job);
  assert_int_equal(report_int(report, p), processed - (post - prior));
}

char *write_tmp(const char *name, const char *text)
{
  char *path = test_tmp_path(name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}
