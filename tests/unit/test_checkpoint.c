/* Unit tests of checkpoint: marks written and read back (--resume), the
 * refusals that name what changed (a setting, the jobs, a file), a write
 * that fails (a file size limit, a read-only directory, a directory in the
 * way) leaving the previous file in place, the keys, adopt and covers. */
#include "unit_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "loader/checkpoint.h"
#include "loader/error.h"

typedef struct cp_fx {
  char *dir;
  char *cp_path;   /* dir/load.ckpt */
  char *a, *b;     /* two input files */
  job_t jobs[3];   /* a in two parts, b whole */
  bson_t settings; /* target, db, an option */
} cp_fx_t;

static char *join(const char *dir, const char *name)
{
  size_t len = strlen(dir) + strlen(name) + 2;
  char *p = malloc(len);
  assert_non_null(p);
  snprintf(p, len, "%s/%s", dir, name);
  return p;
}

static void settings_init(bson_t *s, const char *db)
{
  bson_init(s);
  BSON_APPEND_UTF8(s, "target", "mongodb://h:27017/");
  BSON_APPEND_UTF8(s, "db", db);
  BSON_APPEND_UTF8(s, "--types", "zip:string");
}

static int cp_setup(void **state)
{
  /* bson_t wants 128-byte alignment, which calloc() does not give. */
  size_t size = (sizeof(cp_fx_t) + 127) / 128 * 128;
  cp_fx_t *fx = aligned_alloc(128, size);
  assert_non_null(fx);
  memset(fx, 0, size);
  fx->dir = uh_tmpdir();
  fx->cp_path = join(fx->dir, "load.ckpt");
  fx->a = uh_write_str(fx->dir, "a.csv", "id\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
  fx->b = uh_write_str(fx->dir, "b.csv", "x,y\n1,2\n");
  fx->jobs[0] = (job_t){.collection = "a",
                        .path = fx->a,
                        .start = 0,
                        .end = 11,
                        .index = 0,
                        .start_line = 1,
                        .part = 1,
                        .parts = 2};
  fx->jobs[1] = (job_t){.collection = "a",
                        .path = fx->a,
                        .start = 11,
                        .end = UINT64_MAX,
                        .index = 1,
                        .start_line = 6,
                        .part = 2,
                        .parts = 2};
  fx->jobs[2] = (job_t){.collection = "b",
                        .path = fx->b,
                        .end = UINT64_MAX,
                        .index = 2,
                        .start_line = 1};
  settings_init(&fx->settings, "x");
  *state = fx;
  return 0;
}

static int cp_teardown(void **state)
{
  cp_fx_t *fx = *state;
  chmod(fx->dir, 0700);
  uh_rmtree(fx->dir);
  bson_destroy(&fx->settings);
  free(fx->dir);
  free(fx->cp_path);
  free(fx->a);
  free(fx->b);
  free(fx);
  return 0;
}

static checkpoint_t *open_ok(cp_fx_t *fx, bool resume)
{
  bson_error_t error;
  checkpoint_t *cp =
      checkpoint_open(fx->cp_path, &fx->settings, fx->jobs, 3, resume, &error);
  if (!cp)
    fail_msg("checkpoint_open: %s", error.message);
  return cp;
}

/* Opens with resume and expects a refusal whose message holds each of the
 * NULL-terminated strings. */
static void expect_refusal(cp_fx_t *fx, const bson_t *settings,
                           const job_t *jobs, size_t n_jobs, ...)
{
  bson_error_t error;
  memset(&error, 0, sizeof error);
  checkpoint_t *cp =
      checkpoint_open(fx->cp_path, settings, jobs, n_jobs, true, &error);
  if (cp) {
    checkpoint_destroy(cp);
    fail_msg("--resume accepted a changed plan");
  }
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  va_list ap;
  va_start(ap, n_jobs);
  for (const char *s; (s = va_arg(ap, const char *));)
    if (!strstr(error.message, s))
      fail_msg("message does not name \"%s\": %s", s, error.message);
  va_end(ap);
}

static mark_t mark_n(uint64_t n, bool done)
{
  return (mark_t){.offset = 100 * n + 1,
                  .line = 10 * n + 2,
                  .processed = n + 3,
                  .inserted = n + 4,
                  .updated = n + 5,
                  .rejected = n + 6,
                  .prior = -1 - (int64_t)n,
                  .done = done};
}

static void assert_mark_equal(const mark_t *a, const mark_t *b)
{
  assert_int_equal(a->offset, b->offset);
  assert_int_equal(a->line, b->line);
  assert_int_equal(a->processed, b->processed);
  assert_int_equal(a->inserted, b->inserted);
  assert_int_equal(a->updated, b->updated);
  assert_int_equal(a->rejected, b->rejected);
  assert_int_equal(a->prior, b->prior);
  assert_int_equal(a->done, b->done);
}

/* A mark read back from the file equals the one put, done included (was a
 * bug: "done" was written as a bool and read back as a number, so a
 * finished job ran again from its end mark). */
static void assert_mark_read_back(const mark_t *a, const mark_t *b)
{
  assert_mark_equal(a, b);
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = malloc(1 << 16);
  assert_non_null(buf);
  *len = fread(buf, 1, (1 << 16) - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

static void test_round_trip(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  mark_t m;
  for (size_t j = 0; j < 3; j++)
    assert_false(checkpoint_get(cp, j, &m));
  /* Nothing is written before the first put. */
  assert_int_not_equal(access(fx->cp_path, F_OK), 0);
  bson_error_t error;
  mark_t m0 = mark_n(1, false), m2 = mark_n(7, true);
  assert_true(checkpoint_put(cp, 0, &m0, &error));
  assert_int_equal(access(fx->cp_path, F_OK), 0);
  mark_t m0b = mark_n(2, false);
  assert_true(checkpoint_put(cp, 0, &m0b, &error));
  assert_true(checkpoint_put(cp, 2, &m2, &error));
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_equal(&m, &m0b);
  checkpoint_destroy(cp);
  /* No temporary file left. */
  char *tmp = join(fx->dir, "load.ckpt.tmp");
  assert_int_not_equal(access(tmp, F_OK), 0);
  free(tmp);

  /* The file is JSON: version and plan. */
  size_t len = 0;
  char *text = slurp(fx->cp_path, &len);
  assert_non_null(text);
  bson_t doc;
  assert_true(bson_init_from_json(&doc, text, (ssize_t)len, &error));
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, &doc, "version"));
  assert_int_equal(bson_iter_as_int64(&it), 2);
  assert_true(bson_iter_init(&it, &doc));
  assert_true(bson_iter_find_descendant(&it, "plan.settings.--types", &it));
  assert_string_equal(bson_iter_utf8(&it, NULL), "zip:string");
  bson_destroy(&doc);
  free(text);

  cp = open_ok(fx, true);
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_read_back(&m, &m0b);
  assert_false(checkpoint_get(cp, 1, &m));
  assert_true(checkpoint_get(cp, 2, &m));
  assert_mark_read_back(&m, &m2);
  checkpoint_destroy(cp);

  /* Without --resume the file's marks are not taken (and the next put
   * replaces them). */
  cp = open_ok(fx, false);
  assert_false(checkpoint_get(cp, 0, &m));
  checkpoint_destroy(cp);
  checkpoint_destroy(NULL);
}

static void test_refusals_name_the_difference(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  bson_error_t error;
  mark_t m0 = mark_n(1, false);
  assert_true(checkpoint_put(cp, 0, &m0, &error));
  checkpoint_destroy(cp);

  /* A changed setting: its name, the old value and the new. */
  bson_t s;
  settings_init(&s, "y");
  expect_refusal(fx, &s, fx->jobs, 3, "db", "\"x\"", "\"y\"", NULL);
  bson_destroy(&s);
  /* A setting that was not there, and one that is gone. */
  bson_copy_to(&fx->settings, &s);
  BSON_APPEND_UTF8(&s, "--id-from", "line");
  expect_refusal(fx, &s, fx->jobs, 3, "--id-from", "\"line\"", NULL);
  bson_destroy(&s);
  bson_init(&s);
  BSON_APPEND_UTF8(&s, "target", "mongodb://h:27017/");
  BSON_APPEND_UTF8(&s, "db", "x");
  expect_refusal(fx, &s, fx->jobs, 3, "--types", "zip:string", NULL);
  bson_destroy(&s);

  /* A changed job range (another --split): the job, there and now. */
  job_t jobs[3];
  memcpy(jobs, fx->jobs, sizeof jobs);
  jobs[0].end = 15;
  jobs[1].start = 15;
  expect_refusal(fx, &fx->settings, jobs, 3, "jobs changed", fx->a,
                 "bytes 0-11", "bytes 0-15", NULL);
  /* Fewer jobs, more jobs, another collection. */
  expect_refusal(fx, &fx->settings, fx->jobs, 2, "jobs changed", "nothing",
                 NULL);
  memcpy(jobs, fx->jobs, sizeof jobs);
  jobs[2].collection = "c";
  expect_refusal(fx, &fx->settings, jobs, 3, "jobs changed", "into b", "into c",
                 NULL);

  /* A changed file: content (same size), then only its time. */
  struct stat st;
  assert_int_equal(stat(fx->b, &st), 0);
  free(uh_write_str(fx->dir, "b.csv", "x,y\n1,3\n"));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  assert_int_equal(utimensat(AT_FDCWD, fx->b, times, 0), 0);
  expect_refusal(fx, &fx->settings, fx->jobs, 3, fx->b, "changed", NULL);
  free(uh_write_str(fx->dir, "b.csv", "x,y\n1,2\n"));
  times[1].tv_nsec = (times[1].tv_nsec + 1) % 1000000000;
  assert_int_equal(utimensat(AT_FDCWD, fx->b, times, 0), 0);
  expect_refusal(fx, &fx->settings, fx->jobs, 3, fx->b, "changed", NULL);
  /* Put back as it was: accepted again. */
  times[1] = st.st_mtim;
  assert_int_equal(utimensat(AT_FDCWD, fx->b, times, 0), 0);
  cp = open_ok(fx, true);
  mark_t m;
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_equal(&m, &m0);
  checkpoint_destroy(cp);
}

static void test_refusals_of_files(void **state)
{
  cp_fx_t *fx = *state;
  bson_error_t error;
  /* --resume without a checkpoint file. */
  assert_null(
      checkpoint_open(fx->cp_path, &fx->settings, fx->jobs, 3, true, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_non_null(strstr(error.message, fx->cp_path));
  /* Not JSON; JSON that is no checkpoint; another version. */
  free(uh_write_str(fx->dir, "load.ckpt", "id,name\n1,2\n"));
  assert_null(
      checkpoint_open(fx->cp_path, &fx->settings, fx->jobs, 3, true, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_non_null(strstr(error.message, "not a checkpoint"));
  free(uh_write_str(fx->dir, "load.ckpt", "{\"version\": 2}\n"));
  assert_null(
      checkpoint_open(fx->cp_path, &fx->settings, fx->jobs, 3, true, &error));
  assert_non_null(strstr(error.message, "not a checkpoint"));
  free(uh_write_str(fx->dir, "load.ckpt", "{\"version\": 1, \"plan\": {}}\n"));
  assert_null(
      checkpoint_open(fx->cp_path, &fx->settings, fx->jobs, 3, true, &error));
  assert_non_null(strstr(error.message, "another version"));
  /* Standard input cannot be resumed; a missing input is named. */
  job_t in = {.collection = "s", .path = "-", .end = UINT64_MAX};
  assert_null(
      checkpoint_open(fx->cp_path, &fx->settings, &in, 1, false, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_non_null(strstr(error.message, "standard input"));
  char *gone = join(fx->dir, "gone.csv");
  in.path = gone;
  assert_null(
      checkpoint_open(fx->cp_path, &fx->settings, &in, 1, false, &error));
  assert_non_null(strstr(error.message, gone));
  free(gone);
}

/* Checks that a failing put returns false naming the file and the OS
 * error, and leaves the previous file (before) in place, no temporary. */
static void check_failed_put(cp_fx_t *fx, checkpoint_t *cp, const char *before,
                             const char *os_error)
{
  bson_error_t error;
  mark_t m = mark_n(9, true);
  assert_false(checkpoint_put(cp, 1, &m, &error));
  assert_int_equal(error.domain, LOADER_ERROR_IO);
  if (!strstr(error.message, fx->cp_path))
    fail_msg("the message does not name the file: %s", error.message);
  if (!strstr(error.message, os_error))
    fail_msg("the message does not say \"%s\": %s", os_error, error.message);
  size_t len = 0;
  char *after = slurp(fx->cp_path, &len);
  assert_non_null(after);
  assert_string_equal(after, before);
  free(after);
}

static void test_failed_put_keeps_previous(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  bson_error_t error;
  mark_t m0 = mark_n(1, false);
  assert_true(checkpoint_put(cp, 0, &m0, &error));
  size_t len = 0;
  char *before = slurp(fx->cp_path, &len);
  assert_non_null(before);
  char *tmp = join(fx->dir, "load.ckpt.tmp");

  /* A file size limit smaller than the checkpoint: write() fails with
   * EFBIG (SIGXFSZ ignored, as a process that handles it would). */
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = {.rlim_cur = len / 2, .rlim_max = old.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  check_failed_put(fx, cp, before, strerror(EFBIG));
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_not_equal(access(tmp, F_OK), 0); /* the half-written copy */

  /* A directory where the temporary file goes. */
  assert_int_equal(mkdir(tmp, 0700), 0);
  check_failed_put(fx, cp, before, strerror(EISDIR));
  assert_int_equal(rmdir(tmp), 0);

  /* A read-only directory (root writes anyway: then not tried). */
  if (geteuid() != 0) {
    assert_int_equal(chmod(fx->dir, 0500), 0);
    check_failed_put(fx, cp, before, strerror(EACCES));
    assert_int_equal(chmod(fx->dir, 0700), 0);
  }

  /* Writable again: the next put succeeds, with every mark. */
  mark_t m2 = mark_n(3, false);
  assert_true(checkpoint_put(cp, 2, &m2, &error));
  checkpoint_destroy(cp);
  cp = open_ok(fx, true);
  mark_t m;
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_read_back(&m, &m0);
  assert_true(checkpoint_get(cp, 2, &m));
  assert_mark_read_back(&m, &m2);
  checkpoint_destroy(cp);
  free(tmp);
  free(before);
}

static void test_keys(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *a = open_ok(fx, false);
  checkpoint_t *b = open_ok(fx, false);
  /* Equal plans, equal keys; each job its own. */
  for (size_t j = 0; j < 3; j++) {
    assert_string_equal(checkpoint_key(a, j), checkpoint_key(b, j));
    assert_true(strlen(checkpoint_key(a, j)) > 0);
    for (size_t k = 0; k < j; k++)
      assert_string_not_equal(checkpoint_key(a, j), checkpoint_key(a, k));
  }
  checkpoint_destroy(b);

  bson_error_t error;
  /* Another setting. */
  bson_t s;
  settings_init(&s, "y");
  b = checkpoint_open(fx->cp_path, &s, fx->jobs, 3, false, &error);
  assert_non_null(b);
  for (size_t j = 0; j < 3; j++)
    assert_string_not_equal(checkpoint_key(a, j), checkpoint_key(b, j));
  checkpoint_destroy(b);
  bson_destroy(&s);
  /* Another range. */
  job_t jobs[3];
  memcpy(jobs, fx->jobs, sizeof jobs);
  jobs[0].end = jobs[1].start = 13;
  b = checkpoint_open(fx->cp_path, &fx->settings, jobs, 3, false, &error);
  assert_non_null(b);
  for (size_t j = 0; j < 3; j++)
    assert_string_not_equal(checkpoint_key(a, j), checkpoint_key(b, j));
  checkpoint_destroy(b);
  /* Another file content. */
  free(uh_write_str(fx->dir, "b.csv", "x,y\n1,3\n"));
  b = open_ok(fx, false);
  for (size_t j = 0; j < 3; j++)
    assert_string_not_equal(checkpoint_key(a, j), checkpoint_key(b, j));
  checkpoint_destroy(b);
  checkpoint_destroy(a);
}

static void test_adopt(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  mark_t m, m1 = mark_n(1, false), m3 = mark_n(3, false), m2 = mark_n(2, true);
  /* No mark yet: taken. */
  assert_true(checkpoint_adopt(cp, 0, &m3));
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_equal(&m, &m3);
  /* Not further: not taken. */
  assert_false(checkpoint_adopt(cp, 0, &m1));
  assert_false(checkpoint_adopt(cp, 0, &m3));
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_equal(&m, &m3);
  /* Further: taken. */
  mark_t m4 = mark_n(4, true);
  assert_true(checkpoint_adopt(cp, 0, &m4));
  assert_true(checkpoint_get(cp, 0, &m));
  assert_mark_equal(&m, &m4);
  assert_true(checkpoint_adopt(cp, 1, &m2));
  assert_true(checkpoint_get(cp, 1, &m));
  assert_mark_equal(&m, &m2);
  assert_false(checkpoint_get(cp, 2, &m));
  checkpoint_destroy(cp);
}

static void test_covers(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  /* Nothing recorded: no row of a planned file is covered. */
  assert_false(checkpoint_covers(cp, fx->a, 0));
  assert_false(checkpoint_covers(cp, fx->b, 4));
  /* A file not in the plan: its rows stay. */
  assert_true(checkpoint_covers(cp, "/elsewhere.csv", 5));
  mark_t m = {.offset = 7, .line = 4};
  bson_error_t error;
  assert_true(checkpoint_put(cp, 0, &m, &error));
  mark_t done = {.offset = 8, .line = 3, .done = true};
  assert_true(checkpoint_put(cp, 2, &done, &error));
  /* Job 0 covers [0, 7) of a; job 1 (from 11) nothing. */
  assert_true(checkpoint_covers(cp, fx->a, 0));
  assert_true(checkpoint_covers(cp, fx->a, 6));
  assert_false(checkpoint_covers(cp, fx->a, 7));
  assert_false(checkpoint_covers(cp, fx->a, 10));
  assert_false(checkpoint_covers(cp, fx->a, 11));
  assert_false(checkpoint_covers(cp, fx->a, 19));
  /* A finished job covers its whole range. */
  assert_true(checkpoint_covers(cp, fx->b, 4));
  assert_true(checkpoint_covers(cp, fx->b, 1000));
  checkpoint_destroy(cp);
}

/* A finished job's mark says so after --resume (job_run skips it). */
static void test_done_survives_resume(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  bson_error_t error;
  mark_t done = mark_n(5, true);
  assert_true(checkpoint_put(cp, 2, &done, &error));
  checkpoint_destroy(cp);
  cp = open_ok(fx, true);
  mark_t m;
  assert_true(checkpoint_get(cp, 2, &m));
  assert_true(m.done);
  checkpoint_destroy(cp);
}

typedef struct putter {
  checkpoint_t *cp;
  size_t job;
  bool ok;
} putter_t;

static void *put_many(void *p)
{
  putter_t *t = p;
  t->ok = true;
  for (uint64_t n = 1; n <= 50; n++) {
    mark_t m = mark_n(n * 3 + t->job, n == 50);
    bson_error_t error;
    t->ok &= checkpoint_put(t->cp, t->job, &m, &error);
  }
  return NULL;
}

/* Three writers at once: the file ends with each one's last mark. */
static void test_concurrent_puts(void **state)
{
  cp_fx_t *fx = *state;
  checkpoint_t *cp = open_ok(fx, false);
  pthread_t t[3];
  putter_t p[3];
  for (size_t j = 0; j < 3; j++) {
    p[j] = (putter_t){.cp = cp, .job = j};
    assert_int_equal(pthread_create(&t[j], NULL, put_many, &p[j]), 0);
  }
  for (size_t j = 0; j < 3; j++) {
    pthread_join(t[j], NULL);
    assert_true(p[j].ok);
  }
  checkpoint_destroy(cp);
  cp = open_ok(fx, true);
  for (size_t j = 0; j < 3; j++) {
    mark_t m, want = mark_n(150 + j, true);
    assert_true(checkpoint_get(cp, j, &m));
    assert_mark_read_back(&m, &want);
  }
  checkpoint_destroy(cp);
}

int main(void)
{
#define C(f) cmocka_unit_test_setup_teardown(f, cp_setup, cp_teardown)
  const struct CMUnitTest tests[] = {
      C(test_round_trip),
      C(test_refusals_name_the_difference),
      C(test_refusals_of_files),
      C(test_failed_put_keeps_previous),
      C(test_keys),
      C(test_adopt),
      C(test_covers),
      C(test_concurrent_puts),
      C(test_done_survives_resume),
  };
  return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
