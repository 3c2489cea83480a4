/* The loader end to end into SQLite (sqlite:PATH, sqlite:DIR/,
 * sqlite::memory:). Every test runs the loader executable as a user would,
 * reads back what landed with libsqlite3 and compares it with the CSV value
 * by value, and checks the report's tuple (processed, prior, post). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run_loader.h"
#include "sql_check.h"

static char g_customers[1024]; /* data/customers.csv */
static char g_products[1024];  /* data/products.csv */

static int setup_all(void **state)
{
  (void)state;
  sample_path("customers.csv", g_customers, sizeof g_customers);
  sample_path("products.csv", g_products, sizeof g_products);
  return 0;
}

/* A fresh database file under the test's temporary directory. */
static char *fresh_db(const char *name)
{
  char *path = test_tmp_path(name);
  char side[1200];
  remove(path);
  snprintf(side, sizeof side, "%s-wal", path);
  remove(side);
  snprintf(side, sizeof side, "%s-shm", path);
  remove(side);
  return path;
}

static char *uri_of(const char *path)
{
  size_t len = strlen(path) + 8;
  char *uri = malloc(len);
  snprintf(uri, len, "sqlite:%s", path);
  return uri;
}

static sqlite3 *open_db(const char *path)
{
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  return db;
}

static void exec_sql(const char *path, const char *sql)
{
  sqlite3 *db = open_db(path);
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s: %s\n", sql, err);
    fail();
  }
  sqlite3_close(db);
}

static int64_t count_rows(const char *path, const char *table)
{
  sqlite3 *db = open_db(path);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM \"%s\"", table);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* Reads table back with every value's storage class. */
static void read_table(const char *path, const char *table, rb_table_t *t)
{
  memset(t, 0, sizeof *t);
  sqlite3 *db = open_db(path);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  int n = sqlite3_column_count(st);
  for (int c = 0; c < n; c++)
    assert_true(rb_add_column(t, sqlite3_column_name(st, c)));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rb_value_t *row = rb_add_row(t);
    assert_non_null(row);
    for (int c = 0; c < n; c++) {
      rb_value_t *v = &row[c];
      switch (sqlite3_column_type(st, c)) {
      case SQLITE_INTEGER:
        v->kind = RB_INT;
        v->i = sqlite3_column_int64(st, c);
        break;
      case SQLITE_FLOAT:
        v->kind = RB_REAL;
        v->d = sqlite3_column_double(st, c);
        break;
      case SQLITE_TEXT:
      case SQLITE_BLOB:
        v->kind = sqlite3_column_type(st, c) == SQLITE_TEXT ? RB_TEXT : RB_BLOB;
        v->len = (size_t)sqlite3_column_bytes(st, c);
        v->s = malloc(v->len + 1);
        if (v->len)
          memcpy(v->s, sqlite3_column_blob(st, c), v->len);
        v->s[v->len] = '\0';
        break;
      default:
        v->kind = RB_NULL;
      }
    }
  }
  assert_int_equal(rc, SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static void assert_table_matches(const char *path, const char *table,
                                 const char *csv, const char *key)
{
  rb_table_t t;
  read_table(path, table, &t);
  csvx_table_t x;
  assert_true(csvx_load(csv, &x));
  assert_int_equal(rb_compare_csv(&t, csv, key), (long)x.n_rows);
  csvx_free(&x);
  rb_free(&t);
}

/* The declared type of column col of table. */
static char *column_type(const char *path, const char *table, const char *col)
{
  sqlite3 *db = open_db(path);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT type FROM pragma_table_info('%s') WHERE "
           "name = '%s'",
           table, col);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char *type = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return type;
}

/* Both sample files in mode, into a fresh file; the report and every value
 * checked. */
static void load_samples(const char *mode, int expect_runs)
{
  char *db = fresh_db("samples.db");
  char *uri = uri_of(db);
  char *json = test_tmp_path("report.json");
  const char *args[] = {"--uri", uri,         "--drop",   mode, "--report-json",
                        json,    g_customers, g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_non_null(strstr(o.out, "customers"));
  if (expect_runs == 2)
    assert_non_null(strstr(o.out, "speedup:"));
  assert_null(strstr(o.err, "database is locked"));
  loader_output_free(&o);
  bson_t *r = report_load(json);
  for (int run = 0; run < expect_runs; run++) {
    report_assert_job(r, run, 0, "customers", 5000, 0, 5000);
    report_assert_job(r, run, 1, "products", 3000, 0, 3000);
  }
  bson_destroy(r);
  assert_table_matches(db, "customers", g_customers, "customer_id");
  assert_table_matches(db, "products", g_products, "sku");

  /* Typed columns from the values (zip has leading zeros: text). */
  const char *want[][2] = {{"customer_id", "INTEGER"},
                           {"zip", "TEXT"},
                           {"phone", "TEXT"},
                           {"active", "INTEGER"},
                           {"balance", "REAL"}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char *type = column_type(db, "customers", want[i][0]);
    assert_string_equal(type, want[i][1]);
    free(type);
  }
  free(json);
  free(uri);
  free(db);
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

/* The acceptance command: --compare without --drop into a fresh file; the
 * parallel run appends to what the linear run loaded. */
static void test_compare_accumulates(void **state)
{
  (void)state;
  char *db = fresh_db("demo.db");
  char *uri = uri_of(db);
  char *json = test_tmp_path("demo.json");
  const char *args[] = {"--uri", uri,         "--compare", "--report-json",
                        json,    g_customers, g_products,  NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "customers", 5000, 0, 5000);
  report_assert_job(r, 1, 0, "customers", 5000, 5000, 10000);
  report_assert_job(r, 0, 1, "products", 3000, 0, 3000);
  report_assert_job(r, 1, 1, "products", 3000, 3000, 6000);
  bson_destroy(r);
  assert_int_equal(count_rows(db, "customers"), 10000);
  free(json);
  free(uri);
  free(db);
}

/* Without --drop a second load appends (prior/post 0 -> 3000 -> 6000);
 * with --drop it starts again from 0. */
static void test_prior_post_and_drop(void **state)
{
  (void)state;
  char *db = fresh_db("acc.db");
  char *uri = uri_of(db);
  char *json = test_tmp_path("acc.json");
  char in[1100];
  snprintf(in, sizeof in, "acc=%s", g_products);
  const char *args[] = {"--uri", uri, "-q", "--report-json", json, in, NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "acc", 3000, 0, 3000);
  bson_destroy(r);
  assert_int_equal(run_loader(args, NULL), 0);
  r = report_load(json);
  report_assert_job(r, 0, 0, "acc", 3000, 3000, 6000);
  bson_destroy(r);
  assert_int_equal(count_rows(db, "acc"), 6000);

  const char *dargs[] = {"--uri",         uri,  "-q", "--drop",
                         "--report-json", json, in,   NULL};
  assert_int_equal(run_loader(dargs, NULL), 0);
  r = report_load(json);
  report_assert_job(r, 0, 0, "acc", 3000, 0, 3000);
  bson_destroy(r);
  assert_table_matches(db, "acc", g_products, "sku");
  free(json);
  free(uri);
  free(db);
}

/* 8 parallel jobs into one database file, each batch held open 15 ms inside
 * its transaction (LOADER_TEST_SQLITE_DELAY_MS): the loader takes the
 * commits in turn, so nothing fails with "database is locked" and the
 * counts are exact. */
static void test_eight_jobs_one_file_slow(void **state)
{
  (void)state;
#ifndef LOADER_TEST_HOOKS
  skip(); /* the loader was built without the test-only delay */
#endif
  char *db = fresh_db("eight.db");
  char *uri = uri_of(db);
  char *json = test_tmp_path("eight.json");
  const char *args[32] = {"--uri",        uri,  "--drop",        "-j", "8",
                          "--batch-size", "50", "--report-json", json};
  size_t n = 9;
  char *paths[8];
  char specs[8][1100];
  long rows[8];
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "eight%d.csv", i);
    paths[i] = test_tmp_path(name);
    rows[i] = 400 + 17 * i;
    assert_true(test_generate(i % 2 ? "products" : "customers", rows[i],
                              300 + i, paths[i]));
    snprintf(specs[i], sizeof specs[i], "e%d=%s", i, paths[i]);
    args[n++] = specs[i];
  }
  args[n] = NULL;
  setenv("LOADER_TEST_SQLITE_DELAY_MS", "15", 1);
  loader_output_t o;
  int status = run_loader(args, &o);
  unsetenv("LOADER_TEST_SQLITE_DELAY_MS");
  assert_null(strstr(o.err, "database is locked"));
  assert_int_equal(status, 0);
  loader_output_free(&o);
  bson_t *r = report_load(json);
  for (int i = 0; i < 8; i++) {
    char coll[8];
    snprintf(coll, sizeof coll, "e%d", i);
    report_assert_job(r, 0, i, coll, rows[i], 0, rows[i]);
    assert_int_equal(count_rows(db, coll), rows[i]);
    assert_table_matches(db, coll, paths[i], i % 2 ? "sku" : "customer_id");
    free(paths[i]);
  }
  assert_int_equal(report_int(r, "runs.0.workers"), 8);
  bson_destroy(r);
  free(json);
  free(uri);
  free(db);
}

/* sqlite:DIR/ puts each table in its own file, written in parallel. */
static void test_directory_one_file_per_table(void **state)
{
  (void)state;
  char *dir = test_tmp_path("dbdir");
  char uri[1200];
  snprintf(uri, sizeof uri, "sqlite:%s/", dir);
  const char *args[] = {"--uri",      uri,         "--drop",   "-q",
                        "--parallel", g_customers, g_products, NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  char path[1300];
  snprintf(path, sizeof path, "%s/customers.db", dir);
  assert_table_matches(path, "customers", g_customers, "customer_id");
  snprintf(path, sizeof path, "%s/products.db", dir);
  assert_table_matches(path, "products", g_products, "sku");
  free(dir);
}

/* sqlite::memory: is one database for all workers and both runs. */
static void test_memory(void **state)
{
  (void)state;
  char *json = test_tmp_path("mem.json");
  const char *args[] = {"--uri",     "sqlite::memory:", "--compare",
                        "-q",        "--report-json",   json,
                        g_customers, g_products,        NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "customers", 5000, 0, 5000);
  report_assert_job(r, 1, 0, "customers", 5000, 5000, 10000);
  report_assert_job(r, 1, 1, "products", 3000, 3000, 6000);
  bson_destroy(r);
  free(json);
}

/* Appending to a table whose columns differ from the file's is a clear
 * error that names them; nothing is written. */
static void test_mismatched_columns(void **state)
{
  (void)state;
  char *db = fresh_db("mm.db");
  char *uri = uri_of(db);
  exec_sql(db, "CREATE TABLE mm (a INTEGER, b TEXT)");
  char *csv = write_tmp("mm.csv", "a,c\n1,x\n2,y\n");
  const char *args[] = {"--uri", uri, csv, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "columns do not match: c is not a column of "
                                "the existing table mm (a, b)"));
  loader_output_free(&o);
  assert_int_equal(count_rows(db, "mm"), 0);
  free(csv);
  free(uri);
  free(db);
}

/* A value its column would change ("00501" into INTEGER) is refused with
 * its line, never stored as 501; the rest land. */
static void test_value_does_not_fit(void **state)
{
  (void)state;
  char *db = fresh_db("fit.db");
  char *uri = uri_of(db);
  exec_sql(db, "CREATE TABLE fit (id INTEGER, zip INTEGER)");
  char *csv = write_tmp("fit.csv", "id,zip\n1,10001\n2,00501\n3,94105\n");
  const char *args[] = {"--uri", uri, csv, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "fit.csv:3:"));
  assert_non_null(strstr(
      o.err, "value \"00501\" (text) does not fit column zip (INTEGER)"));
  loader_output_free(&o);
  assert_int_equal(count_rows(db, "fit"), 2);
  free(csv);
  free(uri);
  free(db);
}

/* Rows a constraint refuses (a PRIMARY KEY made beforehand) are rejected
 * with their lines and SQLite's code; the rest land. */
static void test_unique_constraint(void **state)
{
  (void)state;
  char *db = fresh_db("uk.db");
  char *uri = uri_of(db);
  exec_sql(db, "CREATE TABLE uk (id INTEGER PRIMARY KEY, v TEXT)");
  char *csv = write_tmp("uk.csv", "id,v\n1,a\n2,b\n1,c\n3,d\n2,e\n");
  const char *args[] = {"--uri", uri, "--batch-size", "3", csv, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "uk.csv:4: refused by the server (code 1555)"));
  assert_non_null(strstr(o.err, "uk.csv:6: refused by the server (code 1555)"));
  loader_output_free(&o);
  assert_int_equal(count_rows(db, "uk"), 3);
  free(csv);
  free(uri);
  free(db);
}

/* A database that cannot be opened is exit 3; --version names the
 * schemes. */
static void test_unopenable_and_version(void **state)
{
  (void)state;
  const char *args[] = {"--uri", "sqlite:/nonexistent/dir/x.db", g_products,
                        NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 3);
  assert_non_null(strstr(o.err, "cannot connect"));
  loader_output_free(&o);
  const char *v[] = {"--version", NULL};
  assert_int_equal(run_loader(v, &o), 0);
  assert_non_null(strstr(o.out, "sqlite"));
  loader_output_free(&o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear),
      cmocka_unit_test(test_parallel),
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_compare_accumulates),
      cmocka_unit_test(test_prior_post_and_drop),
      cmocka_unit_test(test_eight_jobs_one_file_slow),
      cmocka_unit_test(test_directory_one_file_per_table),
      cmocka_unit_test(test_memory),
      cmocka_unit_test(test_mismatched_columns),
      cmocka_unit_test(test_value_does_not_fit),
      cmocka_unit_test(test_unique_constraint),
      cmocka_unit_test(test_unopenable_and_version),
  };
  return cmocka_run_group_tests(tests, setup_all, NULL);
}
