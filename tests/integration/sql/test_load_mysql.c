/* The loader end to end into MySQL/MariaDB: the server the mariadb_server
 * fixture started (tests/fixture/mariadb), or the one $MYSQL_URI names.
 * Every test runs the loader executable as a user would, reads back what
 * landed with libmariadb and compares it with the CSV value by value, and
 * checks the report's tuple (processed, prior, post). Each test process uses
 * its own database (t_sql_<pid>) and drops it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <mysql.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "run_loader.h"
#include "sql_check.h"
#include "test_server.h"

static char g_customers[1024]; /* data/customers.csv */
static char g_products[1024];  /* data/products.csv */
static char *g_uri;            /* the server, with the test's database */
static char g_db[64];          /* the test's database */
static MYSQL *g_conn;          /* for reading back */

/* Reads the server's URI: $MYSQL_URI, else the fixture's file. */
static char *server_uri(void)
{
  const char *env = getenv("MYSQL_URI");
  if (env && *env)
    return strdup(env);
  const char *path = getenv("LOADER_TEST_MYSQL_URI_FILE");
  char *text = path ? read_file_text(path) : NULL;
  if (!text || !*text) {
    fprintf(stderr,
            "test: no MYSQL_URI and no URI file from the "
            "mariadb_server fixture (%s)\n",
            path ? path : "unset");
    free(text);
    return NULL;
  }
  text[strcspn(text, "\r\n")] = '\0';
  return text;
}

/* Connects with the parts of mysql://user:pass@host:port/... (the tests'
 * own, simple parse: no escapes). */
static MYSQL *connect_uri(const char *uri)
{
  char user[128] = "", pass[128] = "", host[256] = "";
  unsigned port = 3306;
  const char *p = strstr(uri, "://");
  if (!p)
    return NULL;
  p += 3;
  const char *at = strrchr(p, '@');
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    size_t ulen = (size_t)((colon ? colon : at) - p);
    snprintf(user, sizeof user, "%.*s", (int)ulen, p);
    if (colon)
      snprintf(pass, sizeof pass, "%.*s", (int)(at - colon - 1), colon + 1);
    p = at + 1;
  }
  size_t hlen = strcspn(p, ":/?");
  snprintf(host, sizeof host, "%.*s", (int)hlen, p);
  if (p[hlen] == ':')
    port = (unsigned)strtoul(p + hlen + 1, NULL, 10);
  MYSQL *m = mysql_init(NULL);
  unsigned proto = MYSQL_PROTOCOL_TCP;
  mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(m, host, user, pass, NULL, port, NULL, 0)) {
    fprintf(stderr, "test: cannot connect: %s\n", mysql_error(m));
    mysql_close(m);
    return NULL;
  }
  return m;
}

static void query(const char *sql)
{
  if (mysql_query(g_conn, sql) != 0) {
    fprintf(stderr, "test: %s: %s\n", sql, mysql_error(g_conn));
    fail();
  }
  mysql_free_result(mysql_store_result(g_conn));
}

static int setup_all(void **state)
{
  (void)state;
  sample_path("customers.csv", g_customers, sizeof g_customers);
  sample_path("products.csv", g_products, sizeof g_products);
  g_uri = server_uri();
  if (!g_uri)
    return -1;
  g_conn = connect_uri(g_uri);
  if (!g_conn)
    return -1;
  snprintf(g_db, sizeof g_db, "t_sql_%ld", (long)getpid());
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", g_db);
  mysql_query(g_conn, sql);
  snprintf(sql, sizeof sql, "CREATE DATABASE %s CHARACTER SET utf8mb4", g_db);
  if (mysql_query(g_conn, sql) != 0 || mysql_select_db(g_conn, g_db) != 0) {
    fprintf(stderr, "test: %s: %s\n", sql, mysql_error(g_conn));
    return -1;
  }
  return 0;
}

static int teardown_all(void **state)
{
  (void)state;
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", g_db);
  mysql_query(g_conn, sql);
  mysql_close(g_conn);
  free(g_uri);
  return 0;
}

static int64_t count_rows(const char *table)
{
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM `%s`", table);
  assert_int_equal(mysql_query(g_conn, sql), 0);
  MYSQL_RES *res = mysql_store_result(g_conn);
  MYSQL_ROW row = mysql_fetch_row(res);
  int64_t n = strtoll(row[0], NULL, 10);
  mysql_free_result(res);
  return n;
}

/* Reads table back; each value typed by its column's type. */
static void read_table(const char *table, rb_table_t *t)
{
  memset(t, 0, sizeof *t);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT * FROM `%s`", table);
  assert_int_equal(mysql_query(g_conn, sql), 0);
  MYSQL_RES *res = mysql_store_result(g_conn);
  assert_non_null(res);
  unsigned n = mysql_num_fields(res);
  MYSQL_FIELD *fields = mysql_fetch_fields(res);
  for (unsigned c = 0; c < n; c++)
    assert_true(rb_add_column(t, fields[c].name));
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(res))) {
    unsigned long *lens = mysql_fetch_lengths(res);
    rb_value_t *out = rb_add_row(t);
    assert_non_null(out);
    for (unsigned c = 0; c < n; c++) {
      rb_value_t *v = &out[c];
      if (!row[c]) {
        v->kind = RB_NULL;
        continue;
      }
      switch (fields[c].type) {
      case MYSQL_TYPE_TINY:
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_LONGLONG:
        v->kind = RB_INT;
        v->i = strtoll(row[c], NULL, 10);
        break;
      case MYSQL_TYPE_DOUBLE:
      case MYSQL_TYPE_FLOAT:
        v->kind = RB_REAL;
        v->d = strtod(row[c], NULL);
        break;
      default:
        v->kind = RB_TEXT;
        v->len = lens[c];
        v->s = malloc(v->len + 1);
        memcpy(v->s, row[c], v->len);
        v->s[v->len] = '\0';
      }
    }
  }
  mysql_free_result(res);
}

static void assert_table_matches(const char *table, const char *csv,
                                 const char *key)
{
  rb_table_t t;
  read_table(table, &t);
  csvx_table_t x;
  assert_true(csvx_load(csv, &x));
  assert_int_equal(rb_compare_csv(&t, csv, key), (long)x.n_rows);
  assert_int_equal(count_rows(table), (int64_t)x.n_rows);
  csvx_free(&x);
  rb_free(&t);
}

/* The type of a column, lower case ("bigint", "longtext", ...). */
static char *column_type(const char *table, const char *col)
{
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE "
           "TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'",
           g_db, table, col);
  assert_int_equal(mysql_query(g_conn, sql), 0);
  MYSQL_RES *res = mysql_store_result(g_conn);
  MYSQL_ROW row = mysql_fetch_row(res);
  assert_non_null(row);
  char *type = strdup(row[0]);
  mysql_free_result(res);
  return type;
}

static void load_samples(const char *mode, int expect_runs)
{
  char *json = test_tmp_path("report.json");
  const char *args[] = {
      "--uri",         g_uri, "--db",      g_db,       "--drop", mode,
      "--report-json", json,  g_customers, g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_non_null(strstr(o.out, "customers"));
  if (expect_runs == 2)
    assert_non_null(strstr(o.out, "speedup:"));
  assert_null(strstr(o.out, "loaderpw"));
  assert_null(strstr(o.err, "loaderpw"));
  loader_output_free(&o);
  bson_t *r = report_load(json);
  for (int run = 0; run < expect_runs; run++) {
    report_assert_job(r, run, 0, "customers", 5000, 0, 5000);
    report_assert_job(r, run, 1, "products", 3000, 0, 3000);
  }
  bson_destroy(r);
  free(json);
  assert_table_matches("customers", g_customers, "customer_id");
  assert_table_matches("products", g_products, "sku");
  const char *want[][2] = {{"customer_id", "bigint"},
                           {"zip", "longtext"},
                           {"active", "bigint"},
                           {"balance", "double"}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char *type = column_type("customers", want[i][0]);
    assert_string_equal(type, want[i][1]);
    free(type);
  }
}

static void test_linear(void **state)
{
  (void)state;
  load_samples("--linear", 1);
}

static void test_parallel(void **state)
{
  (void)state;
  load_samples("--parallel", 1);
}

static void test_compare(void **state)
{
  (void)state;
  load_samples("--compare", 2);
}

/* Without --drop a second load appends (0 -> 3000 -> 6000); with --drop
 * the table starts again. */
static void test_prior_post_and_drop(void **state)
{
  (void)state;
  query("DROP TABLE IF EXISTS acc");
  char *json = test_tmp_path("acc.json");
  char in[1100];
  snprintf(in, sizeof in, "acc=%s", g_products);
  const char *args[] = {"--uri",         g_uri, "--db", g_db, "-q",
                        "--report-json", json,  in,     NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "acc", 3000, 0, 3000);
  bson_destroy(r);
  assert_int_equal(run_loader(args, NULL), 0);
  r = report_load(json);
  report_assert_job(r, 0, 0, "acc", 3000, 3000, 6000);
  bson_destroy(r);
  assert_int_equal(count_rows("acc"), 6000);
  const char *dargs[] = {"--uri",  g_uri,           "--db", g_db, "-q",
                         "--drop", "--report-json", json,   in,   NULL};
  assert_int_equal(run_loader(dargs, NULL), 0);
  r = report_load(json);
  report_assert_job(r, 0, 0, "acc", 3000, 0, 3000);
  bson_destroy(r);
  assert_table_matches("acc", g_products, "sku");
  free(json);
}

/* 8 jobs on 4 workers, one connection each: every file lands whole. */
static void test_eight_jobs(void **state)
{
  (void)state;
  const char *args[32] = {"--uri", g_uri, "--db", g_db,           "--drop",
                          "-j",    "4",   "-q",   "--batch-size", "100"};
  size_t n = 10;
  char *paths[8];
  char specs[8][1100];
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "m8_%d.csv", i);
    paths[i] = test_tmp_path(name);
    assert_true(test_generate(i % 2 ? "products" : "customers", 500 + 31 * i,
                              700 + i, paths[i]));
    snprintf(specs[i], sizeof specs[i], "m%d=%s", i, paths[i]);
    args[n++] = specs[i];
  }
  args[n] = NULL;
  assert_int_equal(run_loader(args, NULL), 0);
  for (int i = 0; i < 8; i++) {
    char table[8];
    snprintf(table, sizeof table, "m%d", i);
    assert_table_matches(table, paths[i], i % 2 ? "sku" : "customer_id");
    free(paths[i]);
  }
}

/* Duplicate keys in a table made with a PRIMARY KEY: exactly the
 * duplicates are rejected, with their lines and 1062, also when they sit in
 * the same multi-row INSERT as good rows; the rest land; exit 1. */
static void test_duplicate_keys(void **state)
{
  (void)state;
  query("DROP TABLE IF EXISTS dups");
  query("CREATE TABLE dups (id BIGINT PRIMARY KEY, v VARCHAR(20))");
  char *csv = write_tmp("dups.csv", "id,v\n1,a\n2,b\n1,c\n3,d\n2,e\n4,f\n");
  char *json = test_tmp_path("dups.json");
  const char *args[] = {"--uri", g_uri,           "--db", g_db, "--batch-size",
                        "4",     "--report-json", json,   csv,  NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "dups.csv:4: refused by the server (code "
                                "1062)"));
  assert_non_null(strstr(o.err, "dups.csv:6: refused by the server (code "
                                "1062)"));
  assert_null(strstr(o.err, "dups.csv:2:"));
  loader_output_free(&o);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "dups", 6, 0, 4);
  assert_int_equal(report_int(r, "runs.0.jobs.0.rejected"), 2);
  bson_destroy(r);
  assert_int_equal(count_rows("dups"), 4);
  /* The first of each key landed, with its own value. */
  assert_int_equal(mysql_query(g_conn, "SELECT GROUP_CONCAT(v ORDER BY id) "
                                       "FROM dups"),
                   0);
  MYSQL_RES *res = mysql_store_result(g_conn);
  MYSQL_ROW row = mysql_fetch_row(res);
  assert_string_equal(row[0], "a,b,d,f");
  mysql_free_result(res);
  free(json);
  free(csv);
}

/* A table with other columns than the file's: a clear error. */
static void test_mismatched_columns(void **state)
{
  (void)state;
  query("DROP TABLE IF EXISTS mm");
  query("CREATE TABLE mm (a BIGINT, b LONGTEXT)");
  char *csv = write_tmp("mm.csv", "a,c\n1,x\n2,y\n");
  const char *args[] = {"--uri", g_uri, "--db", g_db, csv, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "columns do not match: c is not a column of "
                                "the existing table mm (a, b)"));
  loader_output_free(&o);
  assert_int_equal(count_rows("mm"), 0);
  free(csv);
}

/* A value the server would change is refused with its line and 1366. */
static void test_value_does_not_fit(void **state)
{
  (void)state;
  query("DROP TABLE IF EXISTS fit");
  query("CREATE TABLE fit (id INT, zip INT)");
  char *csv = write_tmp("fit.csv", "id,zip\n1,10001\n2,00501\n3,94105\n");
  const char *args[] = {"--uri", g_uri, "--db", g_db, csv, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "fit.csv:3: refused by the server (code "
                                "1366)"));
  loader_output_free(&o);
  assert_int_equal(count_rows("fit"), 2);
  free(csv);
}

/* No server: exit 3 (a hang is ctest's timeout, not a clock here); the
 * password is never printed. */
static void test_unreachable(void **state)
{
  (void)state;
  char uri[256];
  snprintf(uri, sizeof uri, "mysql://alice:s3cretpw@127.0.0.1:%d/x",
           test_closed_port());
  const char *args[] = {"--uri", uri, g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 3);
  assert_non_null(strstr(o.err, "cannot connect"));
  assert_null(strstr(o.err, "s3cretpw"));
  assert_null(strstr(o.out, "s3cretpw"));
  loader_output_free(&o);
}

/* A wrong password: exit 3 with the server's message, not the password. */
static void test_bad_password(void **state)
{
  (void)state;
  char *uri = strdup(g_uri);
  char *at = strrchr(uri, '@');
  char *colon = at ? strchr(strstr(uri, "://") + 3, ':') : NULL;
  if (!colon || colon > at) {
    free(uri);
    skip();
  }
  char bad[512];
  snprintf(bad, sizeof bad, "%.*s:wrongpw9%s", (int)(colon - uri), uri, at);
  const char *args[] = {"--uri", bad, g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 3);
  assert_non_null(strstr(o.err, "Access denied"));
  assert_null(strstr(o.err, "wrongpw9"));
  loader_output_free(&o);
  free(uri);
}

/* g_uri without its password, in a new string, and the password in *pw
 * (NULL when g_uri has none). */
static char *uri_without_password(char **pw)
{
  char *uri = strdup(g_uri);
  char *auth = strstr(uri, "://") + 3;
  char *at = strrchr(uri, '@');
  char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  *pw = colon ? strndup(colon + 1, (size_t)(at - colon - 1)) : NULL;
  if (colon)
    memmove(colon, at, strlen(at) + 1);
  return uri;
}

/* Fails when the text holds secret. */
static void assert_not_in(const char *text, const char *secret,
                          const char *what)
{
  if (text && strstr(text, secret))
    fail_msg("%s shows the password:\n%s", what, text);
}

/* --password-file: the password goes to mysql_real_connect() as it is; the
 * load works and neither output nor the report shows it. */
static void test_password_file(void **state)
{
  (void)state;
  char *pw;
  char *uri = uri_without_password(&pw);
  if (!pw || !*pw) {
    free(pw);
    free(uri);
    skip();
  }
  char text[256];
  snprintf(text, sizeof text, "%s\r\n", pw);
  char *file = write_tmp("pw", text);
  char *json = test_tmp_path("pw.json");
  const char *args[] = {
      "--uri", uri,        "--db",       g_db,    "--password-file",
      file,    "--drop",   "--progress", "plain", "--report-json",
      json,    g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_not_in(o.out, pw, "stdout");
  assert_not_in(o.err, pw, "stderr");
  loader_output_free(&o);
  char *report = read_file_text(json);
  assert_not_in(report, pw, "the JSON report");
  free(report);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "products", 3000, 0, 3000);
  bson_destroy(r);
  assert_table_matches("products", g_products, "sku");

  /* A wrong one: the server's "Access denied" (user@host, never the
   * password), exit 3. */
  char *wrong = write_tmp("pw-wrong", "Q7wr/ong\n");
  const char *bad[] = {"--uri",           uri,   "--db",     g_db,
                       "--password-file", wrong, g_products, NULL};
  assert_int_equal(run_loader(bad, &o), 3);
  assert_non_null(strstr(o.err, "Access denied"));
  assert_not_in(o.err, "Q7", "stderr");
  assert_not_in(o.err, pw, "stderr");
  loader_output_free(&o);

  /* The URI's own password and a file: a usage error. */
  const char *both[] = {"--uri",           g_uri, "--db",     g_db,
                        "--password-file", file,  g_products, NULL};
  assert_int_equal(run_loader(both, &o), 2);
  assert_non_null(strstr(o.err, "--password-file"));
  assert_not_in(o.err, pw, "stderr");
  loader_output_free(&o);
  free(wrong);
  free(json);
  free(file);
  free(pw);
  free(uri);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear),
      cmocka_unit_test(test_parallel),
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_prior_post_and_drop),
      cmocka_unit_test(test_eight_jobs),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_mismatched_columns),
      cmocka_unit_test(test_value_does_not_fit),
      cmocka_unit_test(test_unreachable),
      cmocka_unit_test(test_bad_password),
      cmocka_unit_test(test_password_file),
  };
  int failed = cmocka_run_group_tests(tests, setup_all, teardown_all);
  mysql_library_end();
  return failed;
}
