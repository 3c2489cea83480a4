/* Unit tests of run + job on the null sink (sink_config_t.dry_run): files
 * generated in a temporary directory, run linearly and on a pool; the
 * counts, the rejected rows and their lines, and the jobs that fail. */
#include "unit_helpers.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "loader/error.h"
#include "loader/job.h"
#include "loader/run.h"
#include "loader/sink.h"

typedef struct env_fx {
  sink_factory_t *sinks;
  csv_dialect_t dialect;
  doc_options_t doc;
  atomic_bool stop;
  job_env_t env;
  char *dir;
} env_fx_t;

static int env_setup(void **state)
{
  env_fx_t *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  sink_config_t cfg = {.dry_run = true, .workers = 8};
  bson_error_t e;
  fx->sinks = sink_factory_new(&cfg, &e);
  assert_non_null(fx->sinks);
  assert_true(sink_factory_check(fx->sinks, &e));
  csvr_dialect_default(&fx->dialect);
  docb_options_default(&fx->doc);
  atomic_init(&fx->stop, false);
  fx->env = (job_env_t){.sinks = fx->sinks,
                        .dialect = &fx->dialect,
                        .doc = &fx->doc,
                        .batch_docs = 100,
                        .batch_bytes = 1024 * 1024,
                        .stop = &fx->stop,
                        .rejects = NULL,
                        .max_errors = UINT64_MAX,
                        .fields = NULL};
  fx->dir = uh_tmpdir();
  *state = fx;
  return 0;
}

static int env_teardown(void **state)
{
  env_fx_t *fx = *state;
  sink_factory_destroy(fx->sinks);
  uh_rmtree(fx->dir);
  free(fx->dir);
  free(fx);
  return 0;
}

/* Writes a file "id,name,score" with rows data rows; returns its path and
 * size. */
static char *gen_file(const char *dir, const char *name, size_t rows,
                      size_t *size)
{
  size_t cap = 64 + rows * 48;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = (size_t)snprintf(text, cap, "id,name,score\n");
  for (size_t i = 0; i < rows; i++)
    n += (size_t)snprintf(text + n, cap - n, "%zu,\"name %zu, jr\",%zu.5\n", i,
                          i, i % 100);
  char *path = uh_write(dir, name, text, n);
  free(text);
  if (size)
    *size = n;
  return path;
}

static void check_clean_result(const job_result_t *r, uint64_t rows,
                               uint64_t bytes, int64_t prior)
{
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  assert_int_equal(r->processed, rows);
  assert_int_equal(r->inserted, rows);
  assert_int_equal(r->rejected, 0);
  assert_int_equal(r->n_samples, 0);
  assert_int_equal(r->bytes, bytes);
  /* The null sink counts per collection, as a database that started
   * empty. */
  assert_int_equal(r->prior, prior);
  assert_int_equal(r->post, prior + (int64_t)rows);
  /* A job that read a file took some time (the clock has nanoseconds). */
  assert_true(r->elapsed_s > 0);
}

static void run_files(env_fx_t *fx, run_mode_t mode, size_t workers,
                      size_t n_files, size_t base_rows)
{
  job_t *jobs = calloc(n_files, sizeof *jobs);
  char **paths = calloc(n_files, sizeof *paths);
  size_t *sizes = calloc(n_files, sizeof *sizes);
  char(*colls)[24] = calloc(n_files, sizeof *colls);
  assert_non_null(jobs);
  assert_non_null(colls);
  for (size_t i = 0; i < n_files; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%zu.csv", i);
    snprintf(colls[i], sizeof colls[i], "c%zu", i);
    paths[i] = gen_file(fx->dir, name, base_rows + i * 37, &sizes[i]);
    jobs[i] = (job_t){.collection = colls[i],
                      .path = paths[i],
                      .end = UINT64_MAX,
                      .start_line = 1};
  }
  run_t run;
  bson_error_t e;
  assert_true(run_jobs(jobs, n_files, mode, workers, &fx->env, &run, &e));
  assert_int_equal(run.mode, mode);
  assert_int_equal(run.n_jobs, n_files);
  assert_int_equal(run.workers, mode == RUN_LINEAR ? 1 : workers);
  for (size_t i = 0; i < n_files; i++)
    check_clean_result(&run.results[i], base_rows + i * 37, sizes[i], 0);
  /* The run's time holds its jobs': one after another, their sum; on a
   * pool, at least the longest. */
  double sum = 0, longest = 0;
  for (size_t i = 0; i < n_files; i++) {
    sum += run.results[i].elapsed_s;
    if (run.results[i].elapsed_s > longest)
      longest = run.results[i].elapsed_s;
  }
  assert_true(run.elapsed_s >= (mode == RUN_LINEAR ? sum : longest));
  /* No collection is shared: no collection-level counts. */
  for (size_t i = 0; i < n_files; i++) {
    assert_int_equal(run.coll_prior[i], -1);
    assert_int_equal(run.coll_post[i], -1);
  }
  assert_true(run_is_clean(&run));
  run_cleanup(&run);
  assert_null(run.results);
  for (size_t i = 0; i < n_files; i++)
    free(paths[i]);
  free(paths);
  free(sizes);
  free(jobs);
  free(colls);
}

static void test_linear(void **state)
{
  run_files(*state, RUN_LINEAR, 1, 3, 250);
}

static void test_parallel(void **state)
{
  run_files(*state, RUN_PARALLEL, 3, 3, 250);
}

static void test_eight_jobs_two_workers(void **state)
{
  run_files(*state, RUN_PARALLEL, 2, 8, 120);
}

static void test_shared_collection(void **state)
{
  env_fx_t *fx = *state;
  /* Three files into one collection, one file into another. */
  static const size_t rows[] = {40, 7, 13, 5};
  const char *colls[] = {"shared", "other", "shared", "shared"};
  char *paths[4];
  job_t jobs[4];
  for (size_t i = 0; i < 4; i++) {
    char name[32];
    snprintf(name, sizeof name, "s%zu.csv", i);
    paths[i] = gen_file(fx->dir, name, rows[i], NULL);
    jobs[i] = (job_t){.collection = colls[i],
                      .path = paths[i],
                      .end = UINT64_MAX,
                      .index = i,
                      .start_line = 1};
  }
  run_t run;
  bson_error_t e;
  assert_true(run_jobs(jobs, 4, RUN_LINEAR, 1, &fx->env, &run, &e));
  /* Linear: each job sees what the ones before it wrote. */
  static const int64_t prior[] = {0, 0, 40, 53};
  for (size_t i = 0; i < 4; i++) {
    assert_true(run.results[i].ok);
    assert_int_equal(run.results[i].processed, rows[i]);
    assert_int_equal(run.results[i].inserted, rows[i]);
    assert_int_equal(run.results[i].prior, prior[i]);
    assert_int_equal(run.results[i].post, prior[i] + (int64_t)rows[i]);
  }
  /* The collection's own count, on its first job only. */
  assert_int_equal(run.coll_prior[0], 0);
  assert_int_equal(run.coll_post[0], 58);
  for (size_t i = 1; i < 4; i++) {
    assert_int_equal(run.coll_prior[i], -1);
    assert_int_equal(run.coll_post[i], -1);
  }
  run_cleanup(&run);

  /* Parallel, same factory: the collection starts at 58 now. */
  assert_true(run_jobs(jobs, 4, RUN_PARALLEL, 3, &fx->env, &run, &e));
  assert_int_equal(run.coll_prior[0], 58);
  assert_int_equal(run.coll_post[0], 116);
  assert_int_equal(run.results[1].prior, 7);
  assert_int_equal(run.results[1].post, 14);
  run_cleanup(&run);
  for (size_t i = 0; i < 4; i++)
    free(paths[i]);
}

static void test_batch_boundaries(void **state)
{
  env_fx_t *fx = *state;
  /* Exactly one batch, one more than a batch, a batch of one. */
  static const size_t rows[] = {100, 101, 1, 0};
  int64_t before = 0;
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    size_t size;
    char *path = gen_file(fx->dir, "b.csv", rows[k], &size);
    job_t job = {
        .collection = "b", .path = path, .end = UINT64_MAX, .start_line = 1};
    job_result_t res;
    job_run(&job, &fx->env, &res);
    /* The same collection each time: prior is what the jobs before left. */
    check_clean_result(&res, rows[k], size, before);
    before += (int64_t)rows[k];
    free(path);
  }
  fx->env.batch_docs = 1;
  size_t size;
  char *path = gen_file(fx->dir, "one.csv", 17, &size);
  job_t job = {
      .collection = "one", .path = path, .end = UINT64_MAX, .start_line = 1};
  job_result_t res;
  job_run(&job, &fx->env, &res);
  check_clean_result(&res, 17, size, 0);
  free(path);
}

static void test_rejected_rows(void **state)
{
  env_fx_t *fx = *state;
  const char *text = "a,b\n"               /* 1 */
                     "1,2\n"               /* 2 */
                     "3\n"                 /* 3: too few */
                     "4,\"x\ny\"\n"        /* 4-5 */
                     "5,6,7\n"             /* 6: too many */
                     "\n"                  /* 7: empty, skipped */
                     "8,\xff\n"            /* 8: invalid UTF-8, column 2 */
                     "9,10\n"              /* 9 */
                     "11,\"unterminated\n" /* 10: to the end */
                     "12,13\n";
  char *path = uh_write_str(fx->dir, "rej.csv", text);
  job_t job = {
      .collection = "rej", .path = path, .end = UINT64_MAX, .start_line = 1};
  for (int mode = 0; mode < 2; mode++) {
    run_t run;
    bson_error_t e;
    assert_true(run_jobs(&job, 1, mode ? RUN_PARALLEL : RUN_LINEAR, 2, &fx->env,
                         &run, &e));
    const job_result_t *r = &run.results[0];
    if (!r->ok)
      fail_msg("job failed: %s", r->error.message);
    assert_int_equal(r->processed, 7);
    assert_int_equal(r->inserted, 3);
    assert_int_equal(r->rejected, 4);
    assert_int_equal(r->empty_lines, 1);
    /* Both runs load the same collection. */
    assert_int_equal(r->prior, 3 * mode);
    assert_int_equal(r->post, 3 * mode + 3);
    assert_int_equal(r->bytes, strlen(text));
    assert_int_equal(r->n_samples, 4);
    assert_int_equal(r->samples[0].line, 3);
    assert_int_equal(r->samples[0].column, 0);
    assert_non_null(strstr(r->samples[0].reason, "expected 2 fields, found 1"));
    assert_int_equal(r->samples[1].line, 6);
    assert_non_null(strstr(r->samples[1].reason, "expected 2 fields, found 3"));
    assert_int_equal(r->samples[2].line, 8);
    assert_int_equal(r->samples[2].column, 2);
    assert_non_null(strstr(r->samples[2].reason, "invalid UTF-8"));
    assert_int_equal(r->samples[3].line, 10);
    assert_non_null(strstr(r->samples[3].reason, "unterminated"));
    assert_false(run_is_clean(&run));
    run_cleanup(&run);
  }
  free(path);
}

static void test_many_rejects_sampled(void **state)
{
  env_fx_t *fx = *state;
  /* 12 bad rows among 20: five samples, all counted. */
  char text[512];
  size_t n = (size_t)snprintf(text, sizeof text, "a,b\n");
  for (int i = 0; i < 20; i++)
    n += (size_t)snprintf(text + n, sizeof text - n,
                          i % 5 < 3 ? "%d\n" : "%d,x\n", i);
  char *path = uh_write(fx->dir, "many.csv", text, n);
  job_t job = {
      .collection = "m", .path = path, .end = UINT64_MAX, .start_line = 1};
  job_result_t res;
  job_run(&job, &fx->env, &res);
  assert_true(res.ok);
  assert_int_equal(res.processed, 20);
  assert_int_equal(res.rejected, 12);
  assert_int_equal(res.inserted, 8);
  assert_int_equal(res.n_samples, JOB_REJECT_SAMPLES);
  static const uint64_t lines[] = {2, 3, 4, 7, 8};
  for (size_t i = 0; i < JOB_REJECT_SAMPLES; i++)
    assert_int_equal(res.samples[i].line, lines[i]);
  free(path);
}

static void test_empty_and_header_only(void **state)
{
  env_fx_t *fx = *state;
  char *empty = uh_write_str(fx->dir, "empty.csv", "");
  char *blank = uh_write_str(fx->dir, "blank.csv", "\n\r\n\n");
  char *header = uh_write_str(fx->dir, "header.csv", "a,b,c\n");
  char *header_nonl = uh_write_str(fx->dir, "header2.csv", "a,b,c");
  job_t jobs[4] = {
      {.collection = "e", .path = empty, .end = UINT64_MAX, .start_line = 1},
      {.collection = "bl", .path = blank, .end = UINT64_MAX, .start_line = 1},
      {.collection = "h", .path = header, .end = UINT64_MAX, .start_line = 1},
      {.collection = "h2",
       .path = header_nonl,
       .end = UINT64_MAX,
       .start_line = 1}};
  run_t run;
  bson_error_t e;
  assert_true(run_jobs(jobs, 4, RUN_PARALLEL, 2, &fx->env, &run, &e));
  assert_false(run.results[0].ok);
  assert_int_equal(run.results[0].error.domain, LOADER_ERROR_INPUT);
  assert_non_null(strstr(run.results[0].error.message, "empty file"));
  assert_int_equal(run.results[0].processed, 0);
  assert_false(run.results[1].ok);
  assert_non_null(strstr(run.results[1].error.message, "empty file"));
  assert_int_equal(run.results[1].empty_lines, 3);
  for (int i = 2; i < 4; i++) {
    const job_result_t *r = &run.results[i];
    if (!r->ok)
      fail_msg("header-only job failed: %s", r->error.message);
    assert_int_equal(r->processed, 0);
    assert_int_equal(r->inserted, 0);
    assert_int_equal(r->rejected, 0);
    assert_int_equal(r->prior, 0);
    assert_int_equal(r->post, 0);
  }
  assert_false(run_is_clean(&run));
  run_cleanup(&run);
  free(empty);
  free(blank);
  free(header);
  free(header_nonl);
}

static void test_failing_jobs(void **state)
{
  env_fx_t *fx = *state;
  char missing[512];
  snprintf(missing, sizeof missing, "%s/missing.csv", fx->dir);
  char *bad_header = uh_write_str(fx->dir, "dup.csv", "a,b,a\n1,2,3\n");
  char *good = gen_file(fx->dir, "good.csv", 10, NULL);
  job_t jobs[3] = {
      {.collection = "m", .path = missing, .end = UINT64_MAX, .start_line = 1},
      {.collection = "d",
       .path = bad_header,
       .end = UINT64_MAX,
       .start_line = 1},
      {.collection = "g", .path = good, .end = UINT64_MAX, .start_line = 1}};
  run_t run;
  bson_error_t e;
  assert_true(run_jobs(jobs, 3, RUN_LINEAR, 1, &fx->env, &run, &e));
  assert_false(run.results[0].ok);
  assert_int_equal(run.results[0].error.domain, LOADER_ERROR_IO);
  assert_false(run.results[1].ok);
  assert_int_equal(run.results[1].error.domain, LOADER_ERROR_INPUT);
  assert_non_null(strstr(run.results[1].error.message, "columns 1 and 3"));
  /* One job failing does not stop the others. */
  assert_true(run.results[2].ok);
  assert_int_equal(run.results[2].processed, 10);
  assert_false(run_is_clean(&run));
  run_cleanup(&run);
  free(bad_header);
  free(good);
}

static void test_stop_flag(void **state)
{
  env_fx_t *fx = *state;
  char *path = gen_file(fx->dir, "s.csv", 50, NULL);
  job_t job = {
      .collection = "s", .path = path, .end = UINT64_MAX, .start_line = 1};
  atomic_store(&fx->stop, true);
  job_result_t res;
  job_run(&job, &fx->env, &res);
  assert_false(res.ok);
  assert_int_equal(res.error.domain, LOADER_ERROR_INTERRUPTED);
  assert_int_equal(res.inserted, 0);
  free(path);
}

static void test_zero_jobs(void **state)
{
  env_fx_t *fx = *state;
  run_t run;
  bson_error_t e;
  for (int mode = 0; mode < 2; mode++) {
    assert_true(run_jobs(NULL, 0, mode ? RUN_PARALLEL : RUN_LINEAR, 2, &fx->env,
                         &run, &e));
    assert_int_equal(run.n_jobs, 0);
    assert_true(run_is_clean(&run));
    run_cleanup(&run);
  }
}

static void test_mode_names(void **state)
{
  (void)state;
  assert_string_equal(run_mode_name(RUN_LINEAR), "linear");
  assert_string_equal(run_mode_name(RUN_PARALLEL), "parallel");
}

#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_linear),
      T(test_parallel),
      T(test_eight_jobs_two_workers),
      T(test_shared_collection),
      T(test_batch_boundaries),
      T(test_rejected_rows),
      T(test_many_rejects_sampled),
      T(test_empty_and_header_only),
      T(test_failing_jobs),
      T(test_stop_flag),
      T(test_zero_jobs),
      cmocka_unit_test(test_mode_names),
  };
  return cmocka_run_group_tests_name("run", tests, NULL, NULL);
}
