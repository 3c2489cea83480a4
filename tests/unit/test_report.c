/* Unit tests of report: the text report, the JSON report (parsed back with
 * libbson) and the problems on stderr, from hand-made plans and runs written
 * into memory streams. */
#define _GNU_SOURCE 1

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mongoc/mongoc.h>

#include "loader/error.h"
#include "loader/report.h"

/* cmocka's assert_near() works in float; these are doubles. */
#define assert_near(a, b, eps)                                                 \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                               \
      fail_msg("%s = %.17g, want %.17g", #a, a_, b_);                          \
  } while (0)

/* Captures what fn writes to a FILE into a malloc'd string. */
typedef struct capture {
  char *text;
  size_t len;
  FILE *f;
} capture_t;

static FILE *cap_open(capture_t *c)
{
  c->text = NULL;
  c->len = 0;
  c->f = open_memstream(&c->text, &c->len);
  assert_non_null(c->f);
  return c->f;
}

static char *cap_close(capture_t *c)
{
  assert_int_equal(fclose(c->f), 0);
  return c->text;
}

/* The fixture: two jobs, two runs (linear, parallel) with the same
 * results. */
typedef struct fx {
  job_t jobs[2];
  plan_t plan;
  job_result_t res_lin[2];
  job_result_t res_par[2];
  run_t runs[2];
} fx_t;

static void fx_init(fx_t *fx)
{
  memset(fx, 0, sizeof *fx);
  fx->jobs[0] = (job_t){.collection = "customers",
                        .path = "data/customers.csv",
                        .end = UINT64_MAX,
                        .start_line = 1};
  fx->jobs[1] = (job_t){.collection = "products",
                        .path = "p.csv",
                        .end = UINT64_MAX,
                        .start_line = 1,
                        .index = 1};
  fx->plan = (plan_t){.jobs = fx->jobs, .n_jobs = 2};
  job_result_t a = {.processed = 1000,
                    .inserted = 1000,
                    .rejected = 0,
                    .bytes = 45678,
                    .prior = 0,
                    .post = 1000,
                    .elapsed_s = 1.5,
                    .ok = true};
  job_result_t b = {.processed = 500,
                    .inserted = 498,
                    .rejected = 2,
                    .bytes = 1234,
                    .prior = 10,
                    .post = 508,
                    .elapsed_s = 0.5,
                    .ok = true};
  fx->res_lin[0] = fx->res_par[0] = a;
  fx->res_lin[1] = fx->res_par[1] = b;
  fx->runs[0] = (run_t){.mode = RUN_LINEAR,
                        .workers = 1,
                        .elapsed_s = 2.0,
                        .n_jobs = 2,
                        .results = fx->res_lin};
  fx->runs[1] = (run_t){.mode = RUN_PARALLEL,
                        .workers = 4,
                        .elapsed_s = 0.5,
                        .n_jobs = 2,
                        .results = fx->res_par};
}

#define HEADER                                                                 \
  "collection  file                 processed  rejected       prior     "      \
  "   post  elapsed_s      rows/s  status\n"
#define ROW_CUSTOMERS                                                          \
  "customers   data/customers.csv        1000         0           0     "      \
  "   1000      1.500         666  ok\n"
#define ROW_PRODUCTS                                                           \
  "products    p.csv                      500         2          10     "      \
  "    508      0.500        1000  rejected rows\n"
#define ROW_TOTAL_LINEAR                                                       \
  "total                                 1500         2                 "      \
  "             2.000         750\n"
#define ROW_TOTAL_PARALLEL                                                     \
  "total                                 1500         2                 "      \
  "             0.500        3000\n"

static void test_text_one_run(void **state)
{
  (void)state;
  fx_t fx;
  fx_init(&fx);
  capture_t c;
  report_text(cap_open(&c), &fx.plan, fx.runs, 1, false);
  char *text = cap_close(&c);
  assert_string_equal(text,
                      "linear run: 2 jobs on 1 worker\n" HEADER ROW_CUSTOMERS
                          ROW_PRODUCTS ROW_TOTAL_LINEAR);
  free(text);

  /* The parallel run alone: plural workers, no compare table. */
  report_text(cap_open(&c), &fx.plan, &fx.runs[1], 1, false);
  text = cap_close(&c);
  assert_string_equal(text,
                      "parallel run: 2 jobs on 4 workers\n" HEADER ROW_CUSTOMERS
                          ROW_PRODUCTS ROW_TOTAL_PARALLEL);
  free(text);
}

static void test_text_compare(void **state)
{
  (void)state;
  fx_t fx;
  fx_init(&fx);
  capture_t c;
  report_text(cap_open(&c), &fx.plan, fx.runs, 2, false);
  char *text = cap_close(&c);
  assert_string_equal(
      text, "linear run: 2 jobs on 1 worker\n" HEADER ROW_CUSTOMERS ROW_PRODUCTS
                ROW_TOTAL_LINEAR
            "\nparallel run: 2 jobs on 4 workers\n" HEADER ROW_CUSTOMERS
                ROW_PRODUCTS ROW_TOTAL_PARALLEL "\n"
            "compare         linear    parallel\n"
            "workers              1           4\n"
            "elapsed_s        2.000       0.500\n"
            "rows/s             750        3000\n"
            "speedup: 4.00x (linear elapsed / parallel elapsed)\n");
  free(text);
}

static void test_speedup(void **state)
{
  (void)state;
  fx_t fx;
  fx_init(&fx);
  assert_near(report_speedup(&fx.runs[0], &fx.runs[1]), 4.0, 1e-12);
  fx.runs[1].elapsed_s = 3.0;
  assert_near(report_speedup(&fx.runs[0], &fx.runs[1]), 2.0 / 3.0, 1e-12);
  fx.runs[1].elapsed_s = 0;
  assert_near(report_speedup(&fx.runs[0], &fx.runs[1]), 0, 0);
  assert_near(report_speedup(NULL, &fx.runs[1]), 0, 0);
  assert_near(report_speedup(&fx.runs[0], NULL), 0, 0);
}

static void test_text_grouped_unknown_and_failed(void **state)
{
  (void)state;
  job_t job = {
      .collection = "big", .path = "b.csv", .end = UINT64_MAX, .start_line = 1};
  plan_t plan = {.jobs = &job, .n_jobs = 1};
  job_result_t res = {.processed = 1234567,
                      .rejected = 1000,
                      .prior = -1,
                      .post = -1,
                      .elapsed_s = 1.0,
                      .ok = false};
  bson_set_error(&res.error, LOADER_ERROR_IO, 5, "read: Input/output error");
  run_t run = {.mode = RUN_PARALLEL,
               .workers = 2,
               .elapsed_s = 1.0,
               .n_jobs = 1,
               .results = &res};
  capture_t c;
  report_text(cap_open(&c), &plan, &run, 1, true);
  char *text = cap_close(&c);
  const char *want =
      "parallel run: 1 job on 2 workers\n"
      "collection  file    processed  rejected       prior        post  "
      "elapsed_s      rows/s  status\n"
      "big         b.csv   1,234,567     1,000           -           -      "
      "1.000   1,234,567  FAILED\n"
      "total               1,234,567     1,000                              "
      "1.000   1,234,567\n";
  assert_string_equal(text, want);
  free(text);

  /* Interrupted jobs say so. */
  bson_set_error(&res.error, LOADER_ERROR_INTERRUPTED, 0, "interrupted");
  report_text(cap_open(&c), &plan, &run, 1, false);
  text = cap_close(&c);
  assert_non_null(strstr(text, "  1234567      1000           -           -"
                               "      1.000     1234567  interrupted\n"));
  free(text);
}

/* Parses text as JSON into a bson_t (caller destroys). */
static bson_t *parse_json(const char *text)
{
  bson_error_t e;
  bson_t *doc = bson_new_from_json((const uint8_t *)text, -1, &e);
  if (!doc)
    fail_msg("invalid JSON (%s):\n%s", e.message, text);
  return doc;
}

static const char *get_str(const bson_t *doc, const char *path)
{
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, doc));
  if (!bson_iter_find_descendant(&it, path, &found))
    fail_msg("no %s", path);
  if (!BSON_ITER_HOLDS_UTF8(&found))
    fail_msg("%s is not a string", path);
  return bson_iter_utf8(&found, NULL);
}

static int64_t get_int(const bson_t *doc, const char *path)
{
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, doc));
  if (!bson_iter_find_descendant(&it, path, &found))
    fail_msg("no %s", path);
  if (!BSON_ITER_HOLDS_INT(&found))
    fail_msg("%s is not an integer", path);
  return bson_iter_as_int64(&found);
}

static double get_double(const bson_t *doc, const char *path)
{
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, doc));
  if (!bson_iter_find_descendant(&it, path, &found))
    fail_msg("no %s", path);
  if (!BSON_ITER_HOLDS_NUMBER(&found))
    fail_msg("%s is not a number", path);
  return bson_iter_as_double(&found);
}

static bool has(const bson_t *doc, const char *path)
{
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, doc));
  return bson_iter_find_descendant(&it, path, &found);
}

static void test_json_two_runs(void **state)
{
  (void)state;
  fx_t fx;
  fx_init(&fx);
  capture_t c;
  report_json(cap_open(&c), &fx.plan, fx.runs, 2);
  char *text = cap_close(&c);
  bson_t *doc = parse_json(text);
  assert_int_equal(bson_count_keys(doc), 2);
  assert_string_equal(get_str(doc, "runs.0.mode"), "linear");
  assert_string_equal(get_str(doc, "runs.1.mode"), "parallel");
  assert_int_equal(get_int(doc, "runs.0.workers"), 1);
  assert_int_equal(get_int(doc, "runs.1.workers"), 4);
  assert_near(get_double(doc, "runs.0.elapsed_s"), 2.0, 1e-9);
  assert_near(get_double(doc, "runs.1.elapsed_s"), 0.5, 1e-9);
  for (int r = 0; r < 2; r++) {
    char p[64];
#define AT(fmt) (snprintf(p, sizeof p, "runs.%d.jobs." fmt, r), p)
    assert_string_equal(get_str(doc, AT("0.collection")), "customers");
    assert_string_equal(get_str(doc, AT("0.file")), "data/customers.csv");
    assert_int_equal(get_int(doc, AT("0.processed")), 1000);
    assert_int_equal(get_int(doc, AT("0.prior")), 0);
    assert_int_equal(get_int(doc, AT("0.post")), 1000);
    assert_int_equal(get_int(doc, AT("0.inserted")), 1000);
    assert_int_equal(get_int(doc, AT("0.rejected")), 0);
    assert_int_equal(get_int(doc, AT("0.bytes")), 45678);
    assert_near(get_double(doc, AT("0.elapsed_s")), 1.5, 1e-9);
    assert_string_equal(get_str(doc, AT("1.collection")), "products");
    assert_string_equal(get_str(doc, AT("1.file")), "p.csv");
    assert_int_equal(get_int(doc, AT("1.processed")), 500);
    assert_int_equal(get_int(doc, AT("1.prior")), 10);
    assert_int_equal(get_int(doc, AT("1.post")), 508);
    assert_int_equal(get_int(doc, AT("1.inserted")), 498);
    assert_int_equal(get_int(doc, AT("1.rejected")), 2);
    assert_int_equal(get_int(doc, AT("1.bytes")), 1234);
    assert_false(has(doc, AT("2")));
#undef AT
  }
  assert_false(has(doc, "runs.2"));
  assert_near(get_double(doc, "speedup"), 4.0, 1e-9);
  bson_destroy(doc);
  free(text);
}

static void test_json_one_run_no_speedup(void **state)
{
  (void)state;
  fx_t fx;
  fx_init(&fx);
  capture_t c;
  report_json(cap_open(&c), &fx.plan, &fx.runs[1], 1);
  char *text = cap_close(&c);
  bson_t *doc = parse_json(text);
  assert_string_equal(get_str(doc, "runs.0.mode"), "parallel");
  assert_false(has(doc, "speedup"));
  assert_false(has(doc, "runs.1"));
  bson_destroy(doc);
  free(text);

  /* Two runs of the same mode are no comparison either. */
  fx.runs[0].mode = RUN_PARALLEL;
  report_json(cap_open(&c), &fx.plan, fx.runs, 2);
  text = cap_close(&c);
  doc = parse_json(text);
  assert_false(has(doc, "speedup"));
  bson_destroy(doc);
  free(text);
}

static void test_json_escaping_and_errors(void **state)
{
  (void)state;
  const char *path = "dir\\we\"ird\tname\n.csv";
  job_t job = {
      .collection = "q\"c\\", .path = path, .end = UINT64_MAX, .start_line = 1};
  plan_t plan = {.jobs = &job, .n_jobs = 1};
  job_result_t res = {.processed = 3, .prior = -1, .post = -1, .ok = false};
  bson_set_error(&res.error, MONGOC_ERROR_SERVER, 11000,
                 "E11000 duplicate key: { _id: \"x\\y\" }\x01");
  run_t run = {.mode = RUN_LINEAR,
               .workers = 1,
               .elapsed_s = 0.25,
               .n_jobs = 1,
               .results = &res};
  capture_t c;
  report_json(cap_open(&c), &plan, &run, 1);
  char *text = cap_close(&c);
  bson_t *doc = parse_json(text);
  assert_string_equal(get_str(doc, "runs.0.jobs.0.file"), path);
  assert_string_equal(get_str(doc, "runs.0.jobs.0.collection"), "q\"c\\");
  assert_int_equal(get_int(doc, "runs.0.jobs.0.prior"), -1);
  assert_int_equal(get_int(doc, "runs.0.jobs.0.post"), -1);
  assert_string_equal(get_str(doc, "runs.0.jobs.0.error"),
                      "E11000 duplicate key: { _id: \"x\\y\" }\x01");
  assert_int_equal(get_int(doc, "runs.0.jobs.0.error_code"), 11000);
  bson_iter_t it, ok;
  assert_true(bson_iter_init(&it, doc));
  assert_true(bson_iter_find_descendant(&it, "runs.0.jobs.0.ok", &ok));
  assert_true(BSON_ITER_HOLDS_BOOL(&ok));
  assert_false(bson_iter_bool(&ok));
  bson_destroy(doc);
  free(text);
}

/* A file name that is not UTF-8 (Latin-1 on disk) keeps the report valid
 * JSON: its high bytes are written as '?'; UTF-8 names stay as they are. */
static void test_json_not_utf8(void **state)
{
  (void)state;
  job_t jobs[2] = {
      {.collection = "a", .path = "caf\xe9.csv", .end = UINT64_MAX},
      {.collection = "b", .path = "caf\xc3\xa9.csv", .end = UINT64_MAX}};
  plan_t plan = {.jobs = jobs, .n_jobs = 2};
  job_result_t res[2] = {{.prior = 0, .post = 0, .ok = true},
                         {.prior = 0, .post = 0, .ok = true}};
  run_t run = {.mode = RUN_LINEAR, .workers = 1, .n_jobs = 2, .results = res};
  capture_t c;
  report_json(cap_open(&c), &plan, &run, 1);
  char *text = cap_close(&c);
  bson_t *doc = parse_json(text);
  assert_string_equal(get_str(doc, "runs.0.jobs.0.file"), "caf?.csv");
  assert_string_equal(get_str(doc, "runs.0.jobs.1.file"), "caf\xc3\xa9.csv");
  bson_destroy(doc);
  free(text);
}

static void test_json_write_file(void **state)
{
  (void)state;
  fx_t fx;
  fx_init(&fx);
  char dir[] = "/tmp/loader-report-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/r.json", dir);
  bson_error_t e;
  assert_true(report_json_write(path, &fx.plan, fx.runs, 2, &e));
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  bson_t *doc = parse_json(buf);
  assert_string_equal(get_str(doc, "runs.1.mode"), "parallel");
  bson_destroy(doc);
  /* Written again over the old file. */
  assert_true(report_json_write(path, &fx.plan, fx.runs, 1, &e));
  assert_int_equal(remove(path), 0);
  /* A directory that does not exist. */
  snprintf(path, sizeof path, "%s/no/such/r.json", dir);
  assert_false(report_json_write(path, &fx.plan, fx.runs, 1, &e));
  assert_int_equal(e.domain, LOADER_ERROR_IO);
  assert_int_equal(rmdir(dir), 0);
}

/* report_problems of one job with result res into a string. */
static char *problems_of(job_result_t *res, size_t n_runs)
{
  static job_t job = {.collection = "products",
                      .path = "p.csv",
                      .end = UINT64_MAX,
                      .start_line = 1};
  plan_t plan = {.jobs = &job, .n_jobs = 1};
  run_t runs[2] = {{.mode = RUN_LINEAR,
                    .workers = 1,
                    .elapsed_s = 1.0,
                    .n_jobs = 1,
                    .results = res},
                   {.mode = RUN_PARALLEL,
                    .workers = 2,
                    .elapsed_s = 1.0,
                    .n_jobs = 1,
                    .results = res}};
  capture_t c;
  report_problems(cap_open(&c), &plan, runs, n_runs);
  return cap_close(&c);
}

static void test_problems_samples_and_count(void **state)
{
  (void)state;
  job_result_t res = {.processed = 10,
                      .inserted = 3,
                      .rejected = 7,
                      .prior = 0,
                      .post = 3,
                      .ok = true,
                      .n_samples = 5};
  static const struct {
    uint64_t line;
    size_t column;
    const char *reason;
  } s[5] = {{2, 3, "column \"b\": invalid UTF-8"},
            {4, 0, "expected 2 fields, found 3"},
            {5, 1, "r5"},
            {9, 0, "unterminated quoted field"},
            {12, 2, "r12"}};
  for (size_t i = 0; i < 5; i++) {
    res.samples[i].line = s[i].line;
    res.samples[i].column = s[i].column;
    snprintf(res.samples[i].reason, sizeof res.samples[i].reason, "%s",
             s[i].reason);
  }
  char *text = problems_of(&res, 1);
  assert_string_equal(text, "loader: p.csv:2:3: column \"b\": invalid UTF-8\n"
                            "loader: p.csv:4: expected 2 fields, found 3\n"
                            "loader: p.csv:5:1: r5\n"
                            "loader: p.csv:9: unterminated quoted field\n"
                            "loader: p.csv:12:2: r12\n"
                            "loader: p.csv: 7 rows rejected in all\n");
  free(text);

  /* As many rejects as samples: no count line. */
  res.rejected = 2;
  res.n_samples = 2;
  res.inserted = 8;
  res.post = 8;
  text = problems_of(&res, 1);
  assert_string_equal(text, "loader: p.csv:2:3: column \"b\": invalid UTF-8\n"
                            "loader: p.csv:4: expected 2 fields, found 3\n");
  free(text);

  /* Two runs: each line says which. */
  text = problems_of(&res, 2);
  assert_string_equal(
      text, "loader: [linear] p.csv:2:3: column \"b\": invalid UTF-8\n"
            "loader: [linear] p.csv:4: expected 2 fields, found 3\n"
            "loader: [parallel] p.csv:2:3: column \"b\": invalid UTF-8\n"
            "loader: [parallel] p.csv:4: expected 2 fields, found 3\n");
  free(text);
}

static void test_problems_accounting(void **state)
{
  (void)state;
  job_result_t res = {
      .processed = 6, .inserted = 6, .prior = 10, .post = 15, .ok = true};
  char *text = problems_of(&res, 1);
  assert_string_equal(
      text, "loader: p.csv: accounting does not close: post - prior = 5 but "
            "6 inserted (did something else write to collection "
            "\"products\" during the load?)\n");
  free(text);

  /* Everything closes: nothing at all. */
  res.post = 16;
  text = problems_of(&res, 1);
  assert_string_equal(text, "");
  free(text);
}

/* --mode delete: processed = deleted + matched nothing + rejected and
 * post - prior = -deleted close; the JSON says both counts. */
static void test_delete_accounting(void **state)
{
  (void)state;
  job_result_t res = {.processed = 10,
                      .deleted = 6,
                      .unmatched = 4,
                      .prior = 20,
                      .post = 14,
                      .ok = true};
  char *text = problems_of(&res, 1);
  assert_string_equal(text, ""); /* closes */
  free(text);
  res.post = 15; /* one fewer deleted than counted */
  res.unmatched = 3;
  text = problems_of(&res, 1);
  assert_string_equal(
      text, "loader: p.csv: accounting does not close: processed 10 != "
            "inserted 0 + updated 0 + deleted 6 + matched nothing 3 + "
            "rejected 0\n"
            "loader: p.csv: accounting does not close: post - prior = -5 but "
            "0 inserted and 6 deleted (did something else write to "
            "collection \"products\" during the load?)\n");
  free(text);

  /* After a retry, the gap has its reason. */
  res.unmatched = 4;
  res.retries = 1;
  text = problems_of(&res, 1);
  assert_string_equal(
      text, "loader: p.csv: accounting does not close: post - prior = -5 but "
            "0 inserted and 6 deleted (a retried or resumed delete counts "
            "what its first attempt deleted as matched nothing)\n");
  free(text);
  res.retries = 0;
  res.unmatched = 3;

  job_t job = {.collection = "c", .path = "d.csv", .end = UINT64_MAX};
  plan_t plan = {.jobs = &job, .n_jobs = 1};
  run_t run = {.mode = RUN_PARALLEL, .n_jobs = 1, .results = &res};
  capture_t c;
  report_json(cap_open(&c), &plan, &run, 1);
  text = cap_close(&c);
  bson_t *doc = parse_json(text);
  assert_int_equal(get_int(doc, "runs.0.jobs.0.deleted"), 6);
  assert_int_equal(get_int(doc, "runs.0.jobs.0.unmatched"), 3);
  assert_false(has(doc, "runs.0.jobs.0.stopped_at_line"));
  bson_destroy(doc);
  free(text);
  report_text(cap_open(&c), &plan, &run, 1, false);
  text = cap_close(&c);
  assert_non_null(strstr(text, "\nd.csv: deleted 6, matched nothing 3\n"));
  free(text);
}

/* --stop-on-error: the job failed, and still its accounting closes with
 * the rows read after the stop counted as not written. */
static void test_stop_on_error_accounting(void **state)
{
  (void)state;
  job_result_t res = {.processed = 30,
                      .inserted = 11,
                      .rejected = 1,
                      .unwritten = 18,
                      .stop_line = 13,
                      .prior = 0,
                      .post = 11,
                      .n_samples = 1,
                      .samples = {{.line = 13, .reason = "duplicate"}}};
  bson_set_error(&res.error, LOADER_ERROR_INPUT, 11000,
                 "stopped at line 13 (--stop-on-error): the server refused "
                 "it (code 11000)");
  char *text = problems_of(&res, 1);
  assert_string_equal(
      text, "loader: p.csv:13: duplicate\n"
            "loader: p.csv: stopped at line 13 (--stop-on-error): the server "
            "refused it (code 11000)\n"
            "loader: p.csv: 18 rows read after line 13 were not written "
            "(neither in the target nor in the rejects file)\n");
  free(text);
  res.unwritten = 17; /* a row lost: said */
  text = problems_of(&res, 1);
  assert_non_null(strstr(text, "processed 30 != inserted 11 + updated 0 + "
                               "rejected 1 + not written 17\n"));
  free(text);
  res.unwritten = 18;
  res.post = 12;
  text = problems_of(&res, 1);
  assert_non_null(strstr(text, "post - prior = 12 but 11 inserted"));
  free(text);
}

static void test_problems_header_only_and_failures(void **state)
{
  (void)state;
  job_result_t res = {.prior = 4, .post = 4, .ok = true};
  char *text = problems_of(&res, 1);
  assert_string_equal(text,
                      "loader: p.csv: warning: header only, no data rows\n");
  free(text);

  res = (job_result_t){.prior = -1, .post = -1, .ok = false};
  bson_set_error(&res.error, LOADER_ERROR_INPUT, 0,
                 "empty file: no header line");
  text = problems_of(&res, 1);
  assert_string_equal(text, "loader: p.csv: empty file: no header line\n");
  free(text);

  /* A server's error keeps its code. */
  bson_set_error(&res.error, MONGOC_ERROR_SERVER, 11000, "E11000 duplicate");
  text = problems_of(&res, 1);
  assert_string_equal(text, "loader: p.csv: E11000 duplicate (error 11000)\n");
  free(text);
}

static void test_split_file_parts(void **state)
{
  (void)state;
  job_t jobs[2] = {{.collection = "c",
                    .path = "big.csv",
                    .end = 100,
                    .start_line = 1,
                    .part = 1,
                    .parts = 2},
                   {.collection = "c",
                    .path = "big.csv",
                    .start = 100,
                    .end = UINT64_MAX,
                    .index = 1,
                    .start_line = 7,
                    .part = 2,
                    .parts = 2}};
  plan_t plan = {.jobs = jobs, .n_jobs = 2};
  job_result_t res[2] = {
      {.processed = 2, .inserted = 2, .prior = 0, .post = 2, .ok = true},
      {.processed = 3, .inserted = 3, .prior = 0, .post = 5, .ok = true}};
  int64_t cprior[2] = {0, -1}, cpost[2] = {5, -1};
  run_t run = {.mode = RUN_PARALLEL,
               .workers = 2,
               .elapsed_s = 1.0,
               .n_jobs = 2,
               .results = res,
               .coll_prior = cprior,
               .coll_post = cpost};
  capture_t c;
  report_text(cap_open(&c), &plan, &run, 1, false);
  char *text = cap_close(&c);
  assert_non_null(strstr(text, "\nc           big.csv [1/2]           2  "));
  assert_non_null(strstr(text, "\nc           big.csv [2/2]           3  "));
  free(text);

  report_json(cap_open(&c), &plan, &run, 1);
  text = cap_close(&c);
  bson_t *doc = parse_json(text);
  assert_string_equal(get_str(doc, "runs.0.jobs.1.file"), "big.csv");
  assert_int_equal(get_int(doc, "runs.0.jobs.1.part"), 2);
  assert_int_equal(get_int(doc, "runs.0.jobs.1.parts"), 2);
  assert_int_equal(get_int(doc, "runs.0.jobs.0.part"), 1);
  assert_int_equal(get_int(doc, "runs.0.jobs.0.updated"), 0);
  assert_int_equal(get_int(doc, "runs.0.jobs.0.retries"), 0);
  bson_destroy(doc);
  free(text);

  /* The shared collection grew by what its jobs inserted: nothing to say
   * (the jobs' own prior/post overlap and are not checked). */
  report_problems(cap_open(&c), &plan, &run, 1);
  text = cap_close(&c);
  assert_string_equal(text, "");
  free(text);

  /* It grew by more. */
  cpost[0] = 7;
  report_problems(cap_open(&c), &plan, &run, 1);
  text = cap_close(&c);
  assert_string_equal(
      text, "loader: collection \"c\": accounting does not close: it grew by "
            "7 but its jobs inserted 5 (did something else write to it "
            "during the load?)\n");
  free(text);

  /* A part with no rows is no "header only" warning. */
  cpost[0] = 2;
  res[1] = (job_result_t){.prior = 2, .post = 2, .ok = true};
  report_problems(cap_open(&c), &plan, &run, 1);
  text = cap_close(&c);
  assert_string_equal(text, "");
  free(text);
}

static void test_problems_processed_accounting(void **state)
{
  (void)state;
  /* processed must be inserted + updated + rejected. */
  job_result_t res = {.processed = 10,
                      .inserted = 6,
                      .updated = 1,
                      .rejected = 2,
                      .prior = 0,
                      .post = 6,
                      .ok = true,
                      .n_samples = 2};
  res.samples[0] = (job_reject_t){.line = 3, .column = 1, .reason = "a"};
  res.samples[1] = (job_reject_t){.line = 5, .column = 0, .reason = "b"};
  char *text = problems_of(&res, 1);
  assert_string_equal(text, "loader: p.csv:3:1: a\n"
                            "loader: p.csv:5: b\n"
                            "loader: p.csv: accounting does not close: "
                            "processed 10 != inserted 6 + updated 1 + "
                            "rejected 2\n");
  free(text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_one_run),
      cmocka_unit_test(test_text_compare),
      cmocka_unit_test(test_speedup),
      cmocka_unit_test(test_text_grouped_unknown_and_failed),
      cmocka_unit_test(test_json_two_runs),
      cmocka_unit_test(test_json_one_run_no_speedup),
      cmocka_unit_test(test_json_escaping_and_errors),
      cmocka_unit_test(test_json_write_file),
      cmocka_unit_test(test_json_not_utf8),
      cmocka_unit_test(test_problems_samples_and_count),
      cmocka_unit_test(test_problems_accounting),
      cmocka_unit_test(test_problems_header_only_and_failures),
      cmocka_unit_test(test_split_file_parts),
      cmocka_unit_test(test_problems_processed_accounting),
      cmocka_unit_test(test_delete_accounting),
      cmocka_unit_test(test_stop_on_error_accounting),
  };
  return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
