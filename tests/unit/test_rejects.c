/* Unit tests for rejects: rows written exactly, the resume rewrite (rows
 * kept by the filter, spaces kept, a torn last row dropped), and a failing
 * write that stops every later write and deletes nothing. */
#include "unit_helpers.h"

#include "loader/rejects.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>

/* Reads the whole file at path (NULL when missing). */
static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static char *join(const char *dir, const char *name)
{
  size_t len = strlen(dir) + strlen(name) + 2;
  char *p = malloc(len);
  snprintf(p, len, "%s/%s", dir, name);
  return p;
}

#define HEADER "file,line,offset,column,reason,record\n"

/* Rows come out as RFC 4180 CSV, quoted only where needed, spaces kept. */
static void test_rows_written_exactly(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  char *path = join(dir, "r.csv");
  bson_error_t e;
  rejects_t *r = rejects_open(path, NULL, NULL, &e);
  assert_non_null(r);
  assert_true(rejects_write(r, "a.csv", 2, 10, 0, "bad", "1,\"x\"", 5, &e));
  assert_true(rejects_write(r, "a.csv", 3, 20, 2, "r", " ", 1, &e));
  assert_true(rejects_write(r, "a.csv", 4, 30, 0, "m", "a\nb", 3, &e));
  assert_true(rejects_sync(r, &e));
  assert_true(rejects_close(r, &e));
  char *text = slurp(path);
  assert_string_equal(text, HEADER "a.csv,2,10,,bad,\"1,\"\"x\"\"\"\n"
                                   "a.csv,3,20,2,r, \n"
                                   "a.csv,4,30,,m,\"a\nb\"\n");
  free(text);
  uh_rmtree(dir);
  free(path);
  free(dir);
}

/* Keeps rows below offset 25. */
static bool keep_below_25(void *ctx, const char *file, uint64_t offset)
{
  (void)ctx;
  (void)file;
  return offset < 25;
}

/* --resume: the interrupted run's PATH.partial is rewritten with the rows
 * the filter keeps, byte for byte (spaces included); a row cut short at the
 * end is dropped; new rows are appended after. */
static void test_resume_rewrite(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  char *path = join(dir, "r.csv");
  char *partial = uh_write_str(dir, "r.csv.partial",
                               HEADER "a.csv,2,10,,bad, x \n"
                                      "a.csv,3,20,,bad,\"y\n\"\"z\"\n"
                                      "a.csv,4,30,,late,w\n"
                                      "a.csv,5,12,,torn,\"half");
  bson_error_t e;
  rejects_t *r = rejects_open(path, keep_below_25, NULL, &e);
  assert_non_null(r);
  char *text = slurp(partial);
  assert_string_equal(text, HEADER "a.csv,2,10,,bad, x \n"
                                   "a.csv,3,20,,bad,\"y\n\"\"z\"\n");
  free(text);
  assert_true(rejects_write(r, "a.csv", 4, 30, 0, "late", "w", 1, &e));
  assert_true(rejects_close(r, &e));
  text = slurp(path);
  assert_string_equal(text, HEADER "a.csv,2,10,,bad, x \n"
                                   "a.csv,3,20,,bad,\"y\n\"\"z\"\n"
                                   "a.csv,4,30,,late,w\n");
  free(text);
  assert_null(slurp(partial)); /* renamed into place */
  uh_rmtree(dir);
  free(partial);
  free(path);
  free(dir);
}

/* A write that fails (the file may not grow: EFBIG, as ENOSPC would) fails
 * that row and every later one, names the file and the error, and the rows
 * written before stay in PATH.partial. */
static void test_failed_write_keeps_rows(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  char *path = join(dir, "r.csv");
  char *partial = join(dir, "r.csv.partial");
  bson_error_t e;
  rejects_t *r = rejects_open(path, NULL, NULL, &e);
  assert_non_null(r);
  assert_true(rejects_write(r, "a.csv", 2, 10, 0, "first", "1", 1, &e));
  assert_true(rejects_sync(r, &e));
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 200;
  signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  char big[8192];
  memset(big, 'x', sizeof big);
  bool ok = true;
  for (int i = 0; i < 8 && ok; i++)
    ok = rejects_write(r, "a.csv", 3, 20, 0, "big", big, sizeof big, &e) &&
         rejects_sync(r, &e);
  assert_false(ok);
  assert_non_null(strstr(e.message, partial));
  assert_non_null(strstr(e.message, strerror(EFBIG)));
  /* Every later write fails too. */
  assert_false(rejects_write(r, "a.csv", 4, 30, 0, "later", "z", 1, &e));
  assert_false(rejects_close(r, &e));
  setrlimit(RLIMIT_FSIZE, &old);
  assert_non_null(strstr(e.message, "kept"));
  char *text = slurp(partial);
  assert_non_null(text);
  assert_int_equal(strncmp(text, HEADER "a.csv,2,10,,first,1\n",
                           strlen(HEADER "a.csv,2,10,,first,1\n")),
                   0);
  free(text);
  assert_null(slurp(path));
  uh_rmtree(dir);
  free(partial);
  free(path);
  free(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_written_exactly),
      cmocka_unit_test(test_resume_rewrite),
      cmocka_unit_test(test_failed_write_keeps_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
