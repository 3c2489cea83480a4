/* The SQL sinks' transaction contract, through the sink API directly (no
 * job): sink_write() leaves its transaction open, sink_commit() commits it
 * together with the job's mark in _loader_progress, sink_close() without a
 * commit rolls it back, and sink_mark_get() reads the mark back.
 *
 *   test_sink_sql sqlite   file, directory (sqlite:DIR/) and memory targets
 *   test_sink_sql mysql    the mariadb_server fixture or $MYSQL_URI, in a
 *                          database of its own (t_sink_<pid>), dropped at
 *                          the end; skipped when no server can be had */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef LOADER_WITH_MYSQL
#include <mysql.h>
#endif
#ifdef LOADER_WITH_SQLITE
#include <sqlite3.h>
#endif

#include "loader/error.h"
#include "loader/sink.h"
#include "run_loader.h" /* read_file_text */

/* The target the tests run against. */
static struct {
  bool mysql;            /* MySQL rather than SQLite */
  char uri[1024];        /* the sink's URI */
  char db[64];           /* MySQL: the test's database */
  char sqlite_file[600]; /* SQLite, one file: its path; else "" */
  char sqlite_dir[600];  /* SQLite, sqlite:DIR/: the directory; else "" */
#ifdef LOADER_WITH_MYSQL
  MYSQL *conn; /* MySQL: for statements the sink has no call for */
#endif
  sink_factory_t *factory; /* made per group */
} g;

/* Runs sql in the database that holds table, outside the sink. Returns
 * false when the target cannot be reached from outside (memory). */
static bool raw_exec(const char *table, const char *sql)
{
#ifdef LOADER_WITH_MYSQL
  if (g.mysql) {
    if (mysql_query(g.conn, sql) != 0) {
      fprintf(stderr, "test: %s: %s\n", sql, mysql_error(g.conn));
      fail();
    }
    mysql_free_result(mysql_store_result(g.conn));
    return true;
  }
#endif
#ifdef LOADER_WITH_SQLITE
  char path[2200];
  if (g.sqlite_file[0])
    snprintf(path, sizeof path, "%s", g.sqlite_file);
  else if (g.sqlite_dir[0])
    snprintf(path, sizeof path, "%s/%s.db", g.sqlite_dir, table);
  else
    return false;
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "test: %s: %s\n", sql, msg);
    fail();
  }
  sqlite3_close(db);
  return true;
#else
  (void)table;
  (void)sql;
  return false;
#endif
}

static sink_t *open_sink(const char *table)
{
  bson_error_t error;
  sink_t *s = sink_open(g.factory, table, &error);
  if (!s)
    fprintf(stderr, "test: open %s: %s\n", table, error.message);
  assert_non_null(s);
  return s;
}

/* A sink on table, dropped first. */
static sink_t *fresh_sink(const char *table)
{
  bson_error_t error;
  sink_t *s = open_sink(table);
  assert_true(sink_drop(s, &error));
  return s;
}

/* Writes the documents {id: ids[i], name: "n<id>"} (or {id: [id]}, which
 * the sink refuses, when refused) and asserts the write succeeded. */
static void write_ids(sink_t *s, const int *ids, size_t n, bool refused,
                      sink_write_result_t *r)
{
  batch_t *b = batch_new(1000, 1 << 20, false);
  assert_non_null(b);
  for (size_t i = 0; i < n; i++) {
    bson_t *doc = batch_begin(b, i + 2, i * 10, NULL, 0);
    assert_non_null(doc);
    if (refused) {
      bson_t arr;
      assert_true(BSON_APPEND_ARRAY_BEGIN(doc, "id", &arr));
      assert_true(BSON_APPEND_INT32(&arr, "0", ids[i]));
      assert_true(bson_append_array_end(doc, &arr));
    } else {
      char name[32];
      snprintf(name, sizeof name, "n%d", ids[i]);
      assert_true(BSON_APPEND_INT32(doc, "id", ids[i]));
      assert_true(BSON_APPEND_UTF8(doc, "name", name));
    }
    batch_commit(b);
  }
  bson_error_t error;
  bool ok = sink_write(s, b, r, &error);
  if (!ok)
    fprintf(stderr, "test: write: %s\n", error.message);
  assert_true(ok);
  batch_destroy(b);
}

/* Writes ids first .. first + n - 1. */
static void write_range(sink_t *s, int first, size_t n)
{
  int ids[64];
  assert_true(n <= 64);
  for (size_t i = 0; i < n; i++)
    ids[i] = first + (int)i;
  sink_write_result_t r = {0};
  write_ids(s, ids, n, false, &r);
  assert_int_equal(r.inserted, n);
  assert_int_equal(r.n_errors, 0);
  sink_write_result_cleanup(&r);
}

static int64_t count(sink_t *s)
{
  int64_t n = -1;
  bson_error_t error;
  assert_true(sink_count(s, &n, &error));
  return n;
}

static void commit(sink_t *s, const char *key, const mark_t *m)
{
  bson_error_t error;
  bool ok = sink_commit(s, key, m, &error);
  if (!ok)
    fprintf(stderr, "test: commit: %s\n", error.message);
  assert_true(ok);
}

/* Asserts the mark under key is *want (or that there is none: want NULL). */
static void assert_mark(sink_t *s, const char *key, const mark_t *want)
{
  mark_t m;
  memset(&m, 0xa5, sizeof m);
  bool found = true;
  bson_error_t error;
  bool ok = sink_mark_get(s, key, &m, &found, &error);
  if (!ok)
    fprintf(stderr, "test: mark_get: %s\n", error.message);
  assert_true(ok);
  assert_int_equal(found, want != NULL);
  if (!want)
    return;
  assert_int_equal(m.offset, want->offset);
  assert_int_equal(m.line, want->line);
  assert_int_equal(m.processed, want->processed);
  assert_int_equal(m.inserted, want->inserted);
  assert_int_equal(m.updated, want->updated);
  assert_int_equal(m.rejected, want->rejected);
  assert_int_equal(m.prior, want->prior);
  assert_int_equal(m.done, want->done);
}

/* A batch and its mark commit together; another connection sees both; a
 * second commit replaces the mark; other keys are apart. */
static void test_commit_and_read_back(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_read");
  assert_mark(s, "read:1", NULL);
  write_range(s, 0, 3);
  mark_t m1 = {.offset = 100, .line = 4, .processed = 3, .inserted = 3};
  commit(s, "read:1", &m1);
  assert_mark(s, "read:1", &m1);
  assert_int_equal(count(s), 3);

  sink_t *other = open_sink("t_read");
  assert_int_equal(count(other), 3);
  assert_mark(other, "read:1", &m1);
  assert_mark(other, "read:2", NULL);

  write_range(s, 3, 4);
  mark_t m2 = {.offset = UINT64_MAX - 1,
               .line = 9,
               .processed = 8,
               .inserted = 7,
               .updated = 2,
               .rejected = 1,
               .prior = -1,
               .done = true};
  commit(s, "read:1", &m2);
  assert_mark(other, "read:1", &m2);
  assert_int_equal(count(other), 7);
  sink_close(other);
  sink_close(s);
}

/* A write that is not committed is rolled back by close, and the mark stays
 * the last committed one. Until then the writer's own count sees its rows
 * (for MySQL, another connection does not). */
static void test_close_without_commit(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_abandon");
  write_range(s, 0, 2);
  mark_t m1 = {.offset = 20, .line = 3, .processed = 2, .inserted = 2};
  commit(s, "abandon", &m1);
  write_range(s, 2, 5);
  assert_int_equal(count(s), 7);
  if (g.mysql) { /* SQLite: another sink would wait for the file */
    sink_t *other = open_sink("t_abandon");
    assert_int_equal(count(other), 2);
    sink_close(other);
  }
  sink_close(s);

  s = open_sink("t_abandon"); /* SQLite: the file's lock was released */
  assert_int_equal(count(s), 2);
  assert_mark(s, "abandon", &m1);
  sink_close(s);
}

/* Without a key, the batch commits and no mark is stored. */
static void test_commit_without_key(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_nokey");
  write_range(s, 0, 3);
  commit(s, NULL, NULL);
  assert_mark(s, "nokey", NULL);
  commit(s, NULL, NULL); /* nothing open: nothing to do */
  sink_close(s);
  s = open_sink("t_nokey");
  assert_int_equal(count(s), 3);
  sink_close(s);
}

/* A batch whose every document the sink refuses opens no transaction; its
 * mark is still committed. */
static void test_mark_of_refused_batch(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_refused");
  write_range(s, 0, 2);
  commit(s, "refused", &(mark_t){.offset = 1});
  int ids[] = {7, 8, 9};
  sink_write_result_t r = {0};
  write_ids(s, ids, 3, true, &r);
  assert_int_equal(r.inserted, 0);
  assert_int_equal(r.n_errors, 3);
  sink_write_result_cleanup(&r);
  mark_t m = {.offset = 50, .processed = 5, .inserted = 2, .rejected = 3};
  commit(s, "refused", &m);
  assert_int_equal(count(s), 2);
  sink_close(s);
  s = open_sink("t_refused");
  assert_mark(s, "refused", &m);
  sink_close(s);
}

/* A second write before the first is committed fails and rolls both back;
 * drop is refused while a write is open. */
static void test_write_twice_without_commit(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_twice");
  write_range(s, 0, 1);
  commit(s, "twice", &(mark_t){.offset = 1});
  write_range(s, 1, 2);
  bson_error_t error;
  assert_false(sink_drop(s, &error));
  assert_non_null(strstr(error.message, "not committed"));
  batch_t *b = batch_new(10, 1 << 16, false);
  bson_t *doc = batch_begin(b, 1, 0, NULL, 0);
  assert_true(BSON_APPEND_INT32(doc, "id", 99));
  batch_commit(b);
  sink_write_result_t r = {0};
  assert_false(sink_write(s, b, &r, &error));
  assert_non_null(strstr(error.message, "not committed"));
  batch_destroy(b);
  sink_write_result_cleanup(&r);
  assert_int_equal(count(s), 1);
  commit(s, NULL, NULL);
  sink_close(s);
  s = open_sink("t_twice");
  assert_int_equal(count(s), 1);
  assert_mark(s, "twice", &(mark_t){.offset = 1});
  sink_close(s);
}

/* A key the progress table cannot hold fails the commit, which then rolls
 * the batch back. */
static void test_bad_key_rolls_back(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_badkey");
  write_range(s, 0, 2);
  commit(s, "badkey", &(mark_t){.offset = 2});
  char key[300];
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  bson_error_t error;
  write_range(s, 2, 2);
  assert_false(sink_commit(s, key, &(mark_t){.offset = 9}, &error));
  write_range(s, 2, 2);
  assert_false(sink_commit(s, "", &(mark_t){.offset = 9}, &error));
  assert_int_equal(count(s), 2);
  assert_mark(s, "badkey", &(mark_t){.offset = 2});
  sink_close(s);
}

/* The progress table is the loader's: no collection may be it. */
static void test_progress_table_is_reserved(void **state)
{
  (void)state;
  const char *names[] = {"_loader_progress", "_LOADER_Progress"};
  for (size_t i = 0; i < 2; i++) {
    bson_error_t error;
    assert_null(sink_open(g.factory, names[i], &error));
    assert_int_equal(error.domain, LOADER_ERROR_USAGE);
    assert_non_null(strstr(error.message, "loader's own table"));
  }
}

/* Dropping a table keeps the marks; its count never includes them. */
static void test_drop_keeps_marks(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_drop");
  write_range(s, 0, 2);
  commit(s, "drop", &(mark_t){.offset = 5, .done = true});
  bson_error_t error;
  assert_true(sink_drop(s, &error));
  assert_int_equal(count(s), 0);
  assert_mark(s, "drop", &(mark_t){.offset = 5, .done = true});
  write_range(s, 10, 1); /* recreated */
  commit(s, NULL, NULL);
  assert_int_equal(count(s), 1);
  sink_close(s);
}

/* The row-by-row fallback that isolates duplicates runs in the open
 * transaction: the refused rows are listed, the rest land at the commit,
 * and none of them without it. */
static void test_duplicates_in_open_transaction(void **state)
{
  (void)state;
  sink_t *s = fresh_sink("t_dup");
  if (!raw_exec("t_dup", g.mysql ? "CREATE TABLE t_dup (id BIGINT PRIMARY "
                                   "KEY, name LONGTEXT) ENGINE=InnoDB"
                                 : "CREATE TABLE t_dup (id INTEGER PRIMARY "
                                   "KEY, name TEXT)")) {
    sink_close(s);
    skip(); /* sqlite::memory: cannot be reached from outside */
  }
  int ids[] = {0, 1, 2, 2, 3, 3};
  sink_write_result_t r = {0};
  write_ids(s, ids, 6, false, &r);
  assert_int_equal(r.inserted, 4);
  assert_int_equal(r.n_errors, 2);
  assert_int_equal(r.errors[0].index, 3);
  assert_int_equal(r.errors[1].index, 5);
  commit(s, "dup", &(mark_t){.offset = 6, .inserted = 4, .rejected = 2});
  int again[] = {10, 11, 11, 0};
  write_ids(s, again, 4, false, &r);
  assert_int_equal(r.inserted, 2);
  assert_int_equal(r.n_errors, 2);
  sink_write_result_cleanup(&r);
  sink_close(s);
  s = open_sink("t_dup");
  assert_int_equal(count(s), 4);
  assert_mark(s, "dup", &(mark_t){.offset = 6, .inserted = 4, .rejected = 2});
  sink_close(s);
}

/* sqlite:DIR/ keeps the marks in each table's own file. */
static void test_marks_live_with_their_table(void **state)
{
  (void)state;
  sink_t *a = fresh_sink("t_home_a");
  write_range(a, 0, 1);
  commit(a, "home", &(mark_t){.offset = 3});
  sink_t *b = open_sink("t_home_b");
  assert_mark(b, "home", g.sqlite_dir[0] ? NULL : &(mark_t){.offset = 3});
  sink_close(b);
  sink_close(a);
}

/* A process killed (SIGKILL) between a write and its commit leaves exactly
 * what it committed: the rows and the mark of its last commit. */
static void test_kill_between_write_and_commit(void **state)
{
  (void)state;
  if (!g.mysql && !g.sqlite_file[0] && !g.sqlite_dir[0])
    skip(); /* sqlite::memory: dies with its process */
  sink_t *s = fresh_sink("t_kill");
  sink_close(s);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* its own factory: connections do not cross a fork */
    sink_config_t config = {
        .uri = g.uri, .db = g.mysql ? g.db : NULL, .workers = 1};
    bson_error_t error;
    sink_factory_t *f = sink_factory_new(&config, &error);
    s = f ? sink_open(f, "t_kill", &error) : NULL;
    if (!s)
      _exit(3);
    g.factory = f;
    write_range(s, 0, 3);
    commit(s, "kill", &(mark_t){.offset = 30, .processed = 3});
    write_range(s, 3, 4);
    raise(SIGKILL);
    _exit(4);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
  s = open_sink("t_kill");
  assert_int_equal(count(s), 3);
  assert_mark(s, "kill", &(mark_t){.offset = 30, .processed = 3});
  sink_close(s);
}

static int setup_group(void **state)
{
  (void)state;
  sink_config_t config = {
      .uri = g.uri, .db = g.mysql ? g.db : NULL, .workers = 4};
  bson_error_t error;
  g.factory = sink_factory_new(&config, &error);
  if (!g.factory || !sink_factory_check(g.factory, &error)) {
    fprintf(stderr, "test: %s: %s\n", g.uri, error.message);
    return -1;
  }
  return 0;
}

static int teardown_group(void **state)
{
  (void)state;
  sink_factory_destroy(g.factory);
  g.factory = NULL;
  return 0;
}

static int run_group(void)
{
  fprintf(stderr, "test: target %s\n", g.uri);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_commit_and_read_back),
      cmocka_unit_test(test_close_without_commit),
      cmocka_unit_test(test_commit_without_key),
      cmocka_unit_test(test_mark_of_refused_batch),
      cmocka_unit_test(test_write_twice_without_commit),
      cmocka_unit_test(test_bad_key_rolls_back),
      cmocka_unit_test(test_progress_table_is_reserved),
      cmocka_unit_test(test_drop_keeps_marks),
      cmocka_unit_test(test_duplicates_in_open_transaction),
      cmocka_unit_test(test_marks_live_with_their_table),
      cmocka_unit_test(test_kill_between_write_and_commit),
  };
  return cmocka_run_group_tests(tests, setup_group, teardown_group);
}

#ifdef LOADER_WITH_SQLITE
static int run_sqlite(void)
{
  const char *base = getenv("TMPDIR");
  char dir[512], cmd[1200];
  snprintf(dir, sizeof dir, "%s/loader-sink-XXXXXX",
           base && *base ? base : "/tmp");
  if (!mkdtemp(dir) || snprintf(cmd, sizeof cmd, "%s/tables", dir) < 0 ||
      mkdir(cmd, 0777) != 0) {
    perror("test: temporary directory");
    return 1;
  }
  int failed = 0;
  snprintf(g.sqlite_file, sizeof g.sqlite_file, "%s/one.db", dir);
  snprintf(g.uri, sizeof g.uri, "sqlite:%s", g.sqlite_file);
  failed += run_group();
  g.sqlite_file[0] = '\0';
  snprintf(g.sqlite_dir, sizeof g.sqlite_dir, "%s/tables", dir);
  snprintf(g.uri, sizeof g.uri, "sqlite:%s/", g.sqlite_dir);
  failed += run_group();
  g.sqlite_dir[0] = '\0';
  snprintf(g.uri, sizeof g.uri, "sqlite::memory:");
  failed += run_group();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (failed == 0 && system(cmd) != 0)
    failed++;
  return failed;
}
#endif

#ifdef LOADER_WITH_MYSQL
/* mysql://user:pass@host:port/... split into its parts (no escapes: the
 * fixture's URI has none) and connected to. */
static MYSQL *mysql_connect_uri(const char *uri)
{
  char user[128] = "", pass[128] = "", host[256] = "";
  unsigned port = 3306;
  const char *p = strstr(uri, "://");
  const char *at = p ? strrchr(p + 3, '@') : NULL;
  if (!at)
    return NULL;
  int n = sscanf(p + 3, "%127[^:@]:%127[^@]", user, pass);
  if (n < 1 || sscanf(at + 1, "%255[^:/?]:%u", host, &port) < 1)
    return NULL;
  MYSQL *m = mysql_init(NULL);
  unsigned proto = MYSQL_PROTOCOL_TCP;
  mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
  if (!mysql_real_connect(m, host, user, pass, NULL, port, NULL, 0)) {
    fprintf(stderr, "test: cannot connect: %s\n", mysql_error(m));
    mysql_close(m);
    return NULL;
  }
  return m;
}

static int run_mysql(void)
{
  const char *env = getenv("MYSQL_URI");
  const char *file = getenv("LOADER_TEST_MYSQL_URI_FILE");
  char *text = env && *env ? strdup(env) : file ? read_file_text(file) : NULL;
  if (text)
    text[strcspn(text, "\r\n")] = '\0';
  g.conn = text && *text ? mysql_connect_uri(text) : NULL;
  if (!g.conn) {
    fprintf(stderr, "test: no MySQL/MariaDB server (MYSQL_URI, or the "
                    "mariadb_server fixture): skipped\n");
    free(text);
    return 0;
  }
  g.mysql = true;
  snprintf(g.uri, sizeof g.uri, "%s", text);
  free(text);
  snprintf(g.db, sizeof g.db, "t_sink_%ld", (long)getpid());
  char sql[160];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", g.db);
  mysql_query(g.conn, sql);
  snprintf(sql, sizeof sql, "CREATE DATABASE %s CHARACTER SET utf8mb4", g.db);
  int failed = 1;
  if (mysql_query(g.conn, sql) == 0 && mysql_select_db(g.conn, g.db) == 0)
    failed = run_group();
  else
    fprintf(stderr, "test: %s: %s\n", sql, mysql_error(g.conn));
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", g.db);
  mysql_query(g.conn, sql);
  mysql_close(g.conn);
  return failed;
}
#endif

int main(int argc, char **argv)
{
#ifdef LOADER_WITH_SQLITE
  if (argc == 2 && strcmp(argv[1], "sqlite") == 0)
    return run_sqlite();
#endif
#ifdef LOADER_WITH_MYSQL
  if (argc == 2 && strcmp(argv[1], "mysql") == 0)
    return run_mysql();
#endif
  fprintf(stderr, "usage: %s sqlite|mysql\n", argv[0]);
  return 2;
}
