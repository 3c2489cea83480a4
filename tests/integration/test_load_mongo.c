/* The loader end to end against a live MongoDB: the test server started by
 * the mongo_server fixture, or a real mongod when $MONGODB_URI is set.
 *
 * Every test runs the loader executable as a user would, then reads back
 * what landed with libmongoc and compares it with the CSV field by field,
 * and checks the report's tuple (processed, prior, post). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_expect.h"
#include "report_check.h"
#include "run_loader.h"
#include "test_server.h"
#include "test_uri.h"

/* The live server, this file's database, a client to read back. */
static test_env_t g_env;
#define g_uri g_env.uri
#define g_db g_env.db
#define g_client g_env.client

static char g_customers[1024]; /* data/customers.csv */
static char g_products[1024];  /* data/products.csv */

static int setup_all(void **state)
{
  (void)state;
  if (!test_env_setup(&g_env, "load"))
    return -1;
  const char *src = getenv("LOADER_SOURCE_DIR");
  snprintf(g_customers, sizeof g_customers, "%s/data/customers.csv",
           src ? src : ".");
  snprintf(g_products, sizeof g_products, "%s/data/products.csv",
           src ? src : ".");
  return 0;
}

static int teardown_all(void **state)
{
  (void)state;
  test_env_teardown(&g_env);
  return 0;
}

static int64_t count_docs(const char *coll_name)
{
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, coll_name);
  bson_t filter = BSON_INITIALIZER;
  bson_error_t error;
  int64_t n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL,
                                                &error);
  bson_destroy(&filter);
  mongoc_collection_destroy(coll);
  return n;
}

static void drop(const char *coll_name)
{
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, coll_name);
  mongoc_collection_drop(coll, NULL);
  mongoc_collection_destroy(coll);
}

/* Compares collection coll_name with the CSV at path, matching rows by
 * key; asserts every row landed exactly once and nothing else did. */
static void assert_collection_matches(const char *coll_name, const char *path,
                                      const char *key)
{
  csvx_table_t t;
  assert_true(csvx_load(path, &t));
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, coll_name);
  long compared = csvx_compare_collection(coll, &t, key);
  mongoc_collection_destroy(coll);
  assert_int_equal(compared, (long)t.n_rows);
  assert_int_equal(count_docs(coll_name), (int64_t)t.n_rows);
  csvx_free(&t);
}

/* Runs the loader on both sample files in mode ("--linear", "--parallel",
 * "--compare") with --drop, and checks what landed. */
static void load_samples(const char *mode, int expect_runs)
{
  char *json = test_tmp_path("report.json");
  const char *args[] = {
      "--uri",         g_uri, "--db",      g_db,       "--drop", mode,
      "--report-json", json,  g_customers, g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_non_null(strstr(o.out, "customers"));
  assert_non_null(strstr(o.out, "products"));
  if (expect_runs == 2)
    assert_non_null(strstr(o.out, "speedup:"));
  loader_output_free(&o);

  bson_t *report = report_load(json);
  for (int r = 0; r < expect_runs; r++) {
    report_assert_job(report, r, 0, "customers", 5000, 0, 5000);
    report_assert_job(report, r, 1, "products", 3000, 0, 3000);
  }
  char p[32];
  snprintf(p, sizeof p, "runs.%d", expect_runs);
  assert_false(report_has(report, p));
  assert_int_equal(report_has(report, "speedup"), expect_runs == 2);
  if (expect_runs == 2) {
    assert_string_equal(report_str(report, "runs.0.mode"), "linear");
    assert_string_equal(report_str(report, "runs.1.mode"), "parallel");
    assert_int_equal(report_int(report, "runs.0.workers"), 1);
  }
  bson_destroy(report);
  free(json);

  assert_collection_matches("customers", g_customers, "customer_id");
  assert_collection_matches("products", g_products, "sku");
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

/* Types the loader infers for the sample files, checked on one document. */
static void test_inferred_types(void **state)
{
  (void)state;
  const char *args[] = {"--uri",  g_uri, "--db",      g_db,
                        "--drop", "-q",  g_customers, NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, "customers");
  bson_t *filter = BCON_NEW("customer_id", BCON_INT32(4));
  mongoc_cursor_t *cursor =
      mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cursor, &doc));
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, doc, "_id"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_OID);
  assert_true(bson_iter_init_find(&it, doc, "customer_id"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_INT32);
  assert_true(bson_iter_init_find(&it, doc, "zip"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_UTF8); /* leading zeros */
  assert_true(bson_iter_init_find(&it, doc, "phone"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_UTF8); /* leading + */
  assert_true(bson_iter_init_find(&it, doc, "active"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_BOOL);
  assert_true(bson_iter_init_find(&it, doc, "balance"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_DOUBLE);
  mongoc_cursor_destroy(cursor);
  bson_destroy(filter);
  mongoc_collection_destroy(coll);
}

/* The oracle checks types: its own inference rules, and a load that keeps
 * every value a string (--no-infer, as a build without inference would)
 * fails the comparison that a normal load passes. */
static void test_oracle_checks_types(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    bson_type_t type;
  } cases[] = {{"0", BSON_TYPE_INT32},
               {"-12", BSON_TYPE_INT32},
               {"2147483647", BSON_TYPE_INT32},
               {"2147483648", BSON_TYPE_INT64},
               {"-9223372036854775808", BSON_TYPE_INT64},
               {"9223372036854775808", BSON_TYPE_UTF8},
               {"-0", BSON_TYPE_UTF8},
               {"00501", BSON_TYPE_UTF8},
               {"+1", BSON_TYPE_UTF8},
               {"1.5", BSON_TYPE_DOUBLE},
               {"-0.25", BSON_TYPE_DOUBLE},
               {"1e3", BSON_TYPE_DOUBLE},
               {"0.5", BSON_TYPE_DOUBLE},
               {"1.", BSON_TYPE_UTF8},
               {".5", BSON_TYPE_UTF8},
               {"1e999", BSON_TYPE_UTF8},
               {"true", BSON_TYPE_BOOL},
               {"True", BSON_TYPE_UTF8},
               {"", BSON_TYPE_UTF8},
               {"2024-07-28", BSON_TYPE_UTF8}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (csvx_inferred_type(cases[i].text) != cases[i].type)
      fail_msg("csvx_inferred_type(\"%s\") = 0x%02x, want 0x%02x",
               cases[i].text, (unsigned)csvx_inferred_type(cases[i].text),
               (unsigned)cases[i].type);

  char spec[1100];
  snprintf(spec, sizeof spec, "noinfer=%s", g_customers);
  const char *args[] = {"--uri", g_uri,        "--db", g_db, "--drop",
                        "-q",    "--no-infer", spec,   NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  csvx_table_t t;
  assert_true(csvx_load(g_customers, &t));
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, "noinfer");
  assert_int_equal(csvx_compare_collection(coll, &t, "customer_id"), -1);
  assert_int_equal(csvx_compare_collection_strings(coll, &t, "customer_id"),
                   (long)t.n_rows);
  mongoc_collection_destroy(coll);
  csvx_free(&t);
}

/* Without --drop, a second load adds to the first: prior/post move
 * 0 -> N, then N -> 2N. */
static void test_accumulates_without_drop(void **state)
{
  (void)state;
  drop("acc");
  char *json = test_tmp_path("acc.json");
  char in[1100];
  snprintf(in, sizeof in, "acc=%s", g_products);
  const char *args[] = {"--uri",         g_uri, "--db", g_db, "-q",
                        "--report-json", json,  in,     NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  bson_t *r1 = report_load(json);
  report_assert_job(r1, 0, 0, "acc", 3000, 0, 3000);
  bson_destroy(r1);
  assert_int_equal(run_loader(args, NULL), 0);
  bson_t *r2 = report_load(json);
  report_assert_job(r2, 0, 0, "acc", 3000, 3000, 6000);
  bson_destroy(r2);
  assert_int_equal(count_docs("acc"), 6000);
  free(json);
}

/* 8 jobs on 2 workers: every file lands whole in its own collection. */
static void test_eight_jobs_two_workers(void **state)
{
  (void)state;
  const char *args[20] = {"--uri",  g_uri, "--db", g_db,
                          "--drop", "-j",  "2",    "-q"};
  size_t n = 8;
  char *paths[8];
  char specs[8][1100];
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "eight%d.csv", i);
    paths[i] = test_tmp_path(name);
    assert_true(test_generate(i % 2 ? "products" : "customers", 500 + 37 * i,
                              100 + i, paths[i]));
    snprintf(specs[i], sizeof specs[i], "e%d=%s", i, paths[i]);
    args[n++] = specs[i];
  }
  args[n] = NULL;
  assert_int_equal(run_loader(args, NULL), 0);
  for (int i = 0; i < 8; i++) {
    char coll[8];
    snprintf(coll, sizeof coll, "e%d", i);
    assert_collection_matches(coll, paths[i], i % 2 ? "sku" : "customer_id");
    free(paths[i]);
  }
}

/* A missing file is a usage error before anything is written. */
static void test_missing_file(void **state)
{
  (void)state;
  drop("products");
  const char *args[] = {
      "--uri", g_uri, "--db", g_db, g_products, "/nonexistent/nope.csv", NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 2);
  assert_non_null(strstr(o.err, "/nonexistent/nope.csv"));
  assert_non_null(strstr(o.err, "No such file"));
  loader_output_free(&o);
  assert_int_equal(count_docs("products"), 0);
}

/* A device is no file to load, and a directory without CSV files loads
 * nothing: both are usage errors before anything is written. */
static void test_not_a_file(void **state)
{
  (void)state;
  const char *args[] = {"--uri", g_uri, "--db", g_db, "/dev/null", NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 2);
  assert_non_null(strstr(o.err, "/dev/null: not a regular file"));
  loader_output_free(&o);
  char *dir = test_tmp_path("emptydir");
  assert_int_equal(mkdir(dir, 0700), 0);
  const char *args2[] = {"--uri", g_uri, "--db", g_db, dir, NULL};
  assert_int_equal(run_loader(args2, &o), 2);
  assert_non_null(
      strstr(o.err, "a directory with no .csv, .tsv or .json files"));
  loader_output_free(&o);
  free(dir);
}

/* A directory loads its CSV files (gzipped too) and standard input loads
 * as name=-: each compared with its file. */
static void test_directory_gzip_stdin(void **state)
{
  (void)state;
  char *dir = test_tmp_path("indir");
  assert_int_equal(mkdir(dir, 0700), 0);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "cp '%s' '%s/products.csv' && gzip -c '%s' > '%s/customers.csv.gz'"
           " && echo notes > '%s/readme.txt'",
           g_products, dir, g_customers, dir, dir);
  assert_int_equal(system(cmd), 0);
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--drop", dir, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_non_null(strstr(o.out, "customers.csv.gz"));
  loader_output_free(&o);
  assert_collection_matches("customers", g_customers, "customer_id");
  assert_collection_matches("products", g_products, "sku");

  /* stdin: the loader reads the products file through a pipe */
  snprintf(cmd, sizeof cmd,
           "'%s' --uri '%s' --db '%s' --drop -q piped=- < '%s'",
           getenv("LOADER_BIN"), g_uri, g_db, g_products);
  assert_int_equal(system(cmd), 0);
  assert_collection_matches("piped", g_products, "sku");
  free(dir);
}

/* An empty file fails its job (exit 1) while the others load. */
static void test_empty_file(void **state)
{
  (void)state;
  char *empty = write_tmp("empty.csv", "");
  char spec[1100];
  snprintf(spec, sizeof spec, "okp=%s", g_products);
  const char *args[] = {"--uri",  g_uri, "--db", g_db,
                        "--drop", empty, spec,   NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "empty.csv: empty file"));
  assert_non_null(strstr(o.out, "FAILED"));
  loader_output_free(&o);
  assert_collection_matches("okp", g_products, "sku");
  free(empty);
}

/* A header-only file loads nothing, says so, and is not an error. */
static void test_header_only(void **state)
{
  (void)state;
  char *path = write_tmp("hdr.csv", "a,b,c\n");
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--drop", path, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_non_null(strstr(o.err, "hdr.csv: warning: header only"));
  loader_output_free(&o);
  assert_int_equal(count_docs("hdr"), 0);
  free(path);
}

/* Rows with the wrong number of fields are rejected with their lines; the
 * others land; exit 1; the accounting closes. */
static void test_ragged_rows(void **state)
{
  (void)state;
  char *path = write_tmp("ragged.csv", "id,name\n"
                                       "1,a\n"
                                       "2,b,extra\n"
                                       "3,c\n"
                                       "4\n"
                                       "5,e\n");
  char *json = test_tmp_path("ragged.json");
  const char *args[] = {"--uri",         g_uri, "--db", g_db, "--drop",
                        "--report-json", json,  path,   NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "ragged.csv:3: expected 2 fields, found 3"));
  assert_non_null(strstr(o.err, "ragged.csv:5: expected 2 fields, found 1"));
  loader_output_free(&o);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "ragged", 5, 0, 3);
  assert_int_equal(report_int(r, "runs.0.jobs.0.rejected"), 2);
  bson_destroy(r);
  assert_int_equal(count_docs("ragged"), 3);
  free(json);
  free(path);
}

/* Duplicate _id values are refused by the server: each is a rejected row
 * traced to its line, the rest land. */
static void test_duplicate_ids(void **state)
{
  (void)state;
  char *path = write_tmp("dups.csv", "_id,v\n"
                                     "1,a\n"
                                     "2,b\n"
                                     "1,c\n"
                                     "3,d\n"
                                     "2,e\n");
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--drop", path, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "dups.csv:4: refused by the server (code "
                                "11000)"));
  assert_non_null(strstr(o.err, "dups.csv:6: refused by the server (code "
                                "11000)"));
  loader_output_free(&o);
  assert_int_equal(count_docs("dups"), 3);
  free(path);
}

/* No server: exit 3, and the password in the URI is never printed. */
static void test_no_server(void **state)
{
  (void)state;
  char uri[256];
  snprintf(uri, sizeof uri,
           "mongodb://alice:s3cretpw@127.0.0.1:%d/?serverSelectionTimeoutMS="
           "1500",
           test_closed_port());
  const char *args[] = {"--uri", uri, g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 3);
  assert_non_null(strstr(o.err, "cannot connect"));
  assert_non_null(strstr(o.err, "alice:***@127.0.0.1"));
  assert_null(strstr(o.err, "s3cretpw"));
  assert_null(strstr(o.out, "s3cretpw"));
  loader_output_free(&o);
}

static void test_bad_uri(void **state)
{
  (void)state;
  const char *args[] = {"--uri", "mongodb://", g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 2);
  assert_non_null(strstr(o.err, "invalid URI"));
  loader_output_free(&o);
  const char *args2[] = {"--uri", "ftp://x", g_products, NULL};
  assert_int_equal(run_loader(args2, &o), 2);
  assert_non_null(strstr(o.err, "unsupported URI scheme"));
  loader_output_free(&o);
}

static void test_usage_errors(void **state)
{
  (void)state;
  loader_output_t o;
  const char *a1[] = {"--no-such-option", g_products, NULL};
  assert_int_equal(run_loader(a1, &o), 2);
  assert_non_null(strstr(o.err, "unknown option --no-such-option"));
  loader_output_free(&o);
  const char *a2[] = {"--uri", g_uri, NULL};
  assert_int_equal(run_loader(a2, &o), 2);
  assert_non_null(strstr(o.err, "no input files"));
  loader_output_free(&o);
  const char *a3[] = {"--help", NULL};
  assert_int_equal(run_loader(a3, &o), 0);
  assert_non_null(strstr(o.out, "Exit codes:"));
  loader_output_free(&o);
}

/* --dry-run needs no server and reports what would have been loaded. */
static void test_dry_run_without_server(void **state)
{
  (void)state;
  char uri[64];
  snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d", test_closed_port());
  char *json = test_tmp_path("dry.json");
  const char *args[] = {
      "--uri", uri,         "--dry-run", "--compare", "--report-json",
      json,    g_customers, g_products,  NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 0);
  assert_non_null(strstr(o.out, "dry run"));
  loader_output_free(&o);
  bson_t *r = report_load(json);
  /* The dry run counts like an empty database: without --drop the
   * parallel run finds what the linear run "wrote". */
  report_assert_job(r, 0, 0, "customers", 5000, 0, 5000);
  report_assert_job(r, 0, 1, "products", 3000, 0, 3000);
  report_assert_job(r, 1, 0, "customers", 5000, 5000, 10000);
  report_assert_job(r, 1, 1, "products", 3000, 3000, 6000);
  bson_destroy(r);
  free(json);
}

/* A server error mid-load fails that job with the server's code; the other
 * job carries on; exit 1. Needs the test server's fault switch. */
static void test_server_error_mid_load(void **state)
{
  (void)state;
  if (getenv("MONGODB_URI") && *getenv("MONGODB_URI"))
    skip(); /* fault injection exists only in mongo-test-server */
  const char *extra[] = {"--fault", "error:every:3:8000", NULL};
  test_server_t srv;
  assert_true(test_server_spawn(extra, &srv));
  char *json = test_tmp_path("fault.json");
  /* customers: 5 batches of 1000 (the 3rd insert fails); products (a tiny
   * slice) gets the 1st or 2nd. */
  char *small = write_tmp("small.csv", "k,v\n1,a\n2,b\n");
  const char *args[] = {
      "--uri", srv.uri,         "--db", "faultdb", "--linear",  "--batch-size",
      "1000",  "--report-json", json,   small,     g_customers, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "customers.csv"));
  assert_non_null(strstr(o.err, "(error 8000)"));
  loader_output_free(&o);
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "small", 2, 0, 2);
  bson_destroy(r);
  test_server_stop(&srv);
  free(small);
  free(json);
}

/* Writes PRODUCTS rows of products with a ragged row inserted before
 * record `at`; returns the path and stores the ragged row's physical line
 * in *bad_line. Records hold newlines inside quotes, so the record start is
 * found by quote parity, as a user's editor would not. */
static char *write_split_input(long rows, long at, long *bad_line)
{
  char *gen = test_tmp_path("split_src.csv");
  assert_true(test_generate("products", rows, 11, gen));
  char *text = read_file_text(gen);
  assert_non_null(text);
  long records = 0, line = 1;
  bool quoted = false;
  char *p = text;
  for (; *p && records < at; p++) {
    if (*p == '"')
      quoted = !quoted;
    if (*p == '\n') {
      line++;
      if (!quoted)
        records++;
    }
  }
  *bad_line = line;
  char *path = test_tmp_path("split.csv");
  FILE *f = fopen(path, "w");
  fwrite(text, 1, (size_t)(p - text), f);
  fputs("BROKEN,ROW\n", f);
  fputs(p, f);
  fclose(f);
  free(text);
  free(gen);
  return path;
}

/* One big file split across workers: every row lands once, and the line
 * of a bad row deep in a later part is exact. */
static void test_split_one_big_file(void **state)
{
  (void)state;
  long bad_line;
  char *path = write_split_input(20000, 13000, &bad_line);
  char spec[1100];
  snprintf(spec, sizeof spec, "split=%s", path);
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--drop", "--split",
                        "4",     "-j",  "2",    spec, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  char want[1200];
  snprintf(want, sizeof want, "split.csv:%ld: expected 8 fields, found 2",
           bad_line);
  assert_non_null(strstr(o.err, want));
  assert_non_null(strstr(o.out, "[4/4]"));
  assert_null(strstr(o.err, "accounting does not close"));
  loader_output_free(&o);

  csvx_table_t t;
  assert_true(csvx_load(path, &t));
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, "split");
  assert_int_equal(csvx_compare_collection(coll, &t, "sku"),
                   (long)t.n_rows - 1);
  assert_int_equal(count_docs("split"), (int64_t)t.n_rows - 1);
  mongoc_collection_destroy(coll);

  /* --part i/n from three separate runs: the same rows, once each. */
  drop("parts");
  snprintf(spec, sizeof spec, "parts=%s", path);
  for (int i = 1; i <= 3; i++) {
    char part[16];
    snprintf(part, sizeof part, "%d/3", i);
    const char *pargs[] = {"--uri", g_uri, "--db", g_db, "--part",
                           part,    "-q",  spec,   NULL};
    run_loader(pargs, NULL);
  }
  coll = mongoc_client_get_collection(g_client, g_db, "parts");
  assert_int_equal(csvx_compare_collection(coll, &t, "sku"),
                   (long)t.n_rows - 1);
  mongoc_collection_destroy(coll);
  csvx_free(&t);
  free(path);
}

/* Writes t's rows as JSON objects of strings: one per line, or as one
 * pretty-printed array. */
static char *write_json(const csvx_table_t *t, const char *name, bool array)
{
  char *path = test_tmp_path(name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  if (array)
    fputs("[\n", f);
  for (size_t r = 0; r < t->n_rows; r++) {
    bson_t doc = BSON_INITIALIZER;
    for (size_t c = 0; c < t->header.n; c++)
      BSON_APPEND_UTF8(&doc, t->header.fields[c], t->rows[r].fields[c]);
    char *json = bson_as_relaxed_extended_json(&doc, NULL);
    fprintf(f, array ? "  %s%s\n" : "%s%s\n", json,
            array && r + 1 < t->n_rows ? "," : "");
    bson_free(json);
    bson_destroy(&doc);
  }
  if (array)
    fputs("]\n", f);
  fclose(f);
  return path;
}

/* JSON input: newline-delimited and one array (gzipped too), each object
 * compared with the row it came from; a broken line is rejected with its
 * line and the rest loads. */
static void test_json_input(void **state)
{
  (void)state;
  csvx_table_t t;
  assert_true(csvx_load(g_products, &t));
  char *nd = write_json(&t, "p.ndjson", false);
  char *arr = write_json(&t, "p.json", true);
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s.gz'", arr, arr);
  assert_int_equal(system(cmd), 0);
  char s1[1100], s2[1100], s3[1100];
  snprintf(s1, sizeof s1, "jnd=%s", nd);
  snprintf(s2, sizeof s2, "jarr=%s", arr);
  snprintf(s3, sizeof s3, "jgz=%s.gz", arr);
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--drop",
                        "-q",    s1,    s2,     s3,   NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  const char *colls[] = {"jnd", "jarr", "jgz"};
  for (int i = 0; i < 3; i++) {
    mongoc_collection_t *c =
        mongoc_client_get_collection(g_client, g_db, colls[i]);
    /* The JSON holds every value as a string: strings land. */
    assert_int_equal(csvx_compare_collection_strings(c, &t, "sku"),
                     (long)t.n_rows);
    mongoc_collection_destroy(c);
  }

  /* A broken line between good ones. */
  char *bad = write_tmp("bad.ndjson", "{\"sku\": \"A\"}\n"
                                      "{\"sku\": \"B\",\n"
                                      "{\"sku\": \"C\", \"d\": {\"$date\": "
                                      "\"2024-01-02T00:00:00Z\"}}\n");
  char *rejects = test_tmp_path("json_rejects.csv");
  const char *bargs[] = {"--uri",     g_uri,   "--db", g_db, "--drop",
                         "--rejects", rejects, bad,    NULL};
  loader_output_t o;
  assert_int_equal(run_loader(bargs, &o), 1);
  assert_non_null(strstr(o.err, "bad.ndjson:2: malformed JSON line"));
  loader_output_free(&o);
  assert_int_equal(count_docs("bad"), 2);
  mongoc_collection_t *c = mongoc_client_get_collection(g_client, g_db, "bad");
  bson_t *filter = BCON_NEW("sku", BCON_UTF8("C"));
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cur, &doc));
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, doc, "d"));
  assert_int_equal(bson_iter_type(&it), BSON_TYPE_DATE_TIME);
  assert_int_equal(bson_iter_date_time(&it), 1704153600000);
  mongoc_cursor_destroy(cur);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
  char *text = read_file_text(rejects);
  assert_non_null(strstr(text, ",2,"));
  assert_non_null(strstr(text, "malformed JSON line"));
  free(text);
  free(rejects);
  free(bad);
  free(nd);
  free(arr);
  csvx_free(&t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear),
      cmocka_unit_test(test_parallel),
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_inferred_types),
      cmocka_unit_test(test_oracle_checks_types),
      cmocka_unit_test(test_accumulates_without_drop),
      cmocka_unit_test(test_eight_jobs_two_workers),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_not_a_file),
      cmocka_unit_test(test_directory_gzip_stdin),
      cmocka_unit_test(test_empty_file),
      cmocka_unit_test(test_header_only),
      cmocka_unit_test(test_ragged_rows),
      cmocka_unit_test(test_duplicate_ids),
      cmocka_unit_test(test_no_server),
      cmocka_unit_test(test_bad_uri),
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_dry_run_without_server),
      cmocka_unit_test(test_server_error_mid_load),
      cmocka_unit_test(test_split_one_big_file),
      cmocka_unit_test(test_json_input),
  };
  mongoc_init();
  int failed = cmocka_run_group_tests(tests, setup_all, teardown_all);
  mongoc_cleanup();
  return failed;
}
