/* Nothing lost, nothing doubled: the loader against the test server's fault
 * switches (connections dropped before or after a batch is applied,
 * retryable errors), upsert and merge modes run twice, deterministic ids,
 * and a clean stop on SIGINT.
 *
 * After each faulty load, every row of the input must be in the collection
 * exactly once: the count is exact and no customer_id appears twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csv_expect.h"
#include "run_loader.h"
#include "test_server.h"
#include "test_uri.h"

/* The live server, this file's database, a client to read back. */
static test_env_t g_env;
#define g_uri g_env.uri
#define g_db g_env.db
#define g_client g_env.client

#define BIG_ROWS 100000

static char *g_big;           /* BIG_ROWS customers */
static char g_products[1024]; /* data/products.csv */

static int setup_all(void **state)
{
  (void)state;
  if (!test_env_setup(&g_env, "rel"))
    return -1;
  g_big = test_tmp_path("big.csv");
  if (!test_generate("customers", BIG_ROWS, 42, g_big))
    return -1;
  const char *src = getenv("LOADER_SOURCE_DIR");
  snprintf(g_products, sizeof g_products, "%s/data/products.csv",
           src ? src : ".");
  return 0;
}

static int teardown_all(void **state)
{
  (void)state;
  free(g_big);
  test_env_teardown(&g_env);
  return 0;
}

/* Asserts collection holds customer_id 1..rows, each exactly once. */
static void assert_each_once(mongoc_client_t *client, const char *db,
                             const char *coll_name, long rows)
{
  mongoc_collection_t *coll =
      mongoc_client_get_collection(client, db, coll_name);
  bson_t filter = BSON_INITIALIZER;
  bson_t *opts = BCON_NEW("projection", "{", "customer_id", BCON_INT32(1), "}");
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
  unsigned char *seen = calloc((size_t)rows + 1, 1);
  long n = 0;
  const bson_t *doc;
  while (mongoc_cursor_next(cur, &doc)) {
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, doc, "customer_id"));
    long id = (long)bson_iter_as_int64(&it);
    assert_true(id >= 1 && id <= rows);
    if (seen[id])
      fprintf(stderr, "customer_id %ld landed twice\n", id);
    assert_false(seen[id]);
    seen[id] = 1;
    n++;
  }
  bson_error_t error;
  assert_false(mongoc_cursor_error(cur, &error));
  assert_int_equal(n, rows);
  free(seen);
  mongoc_cursor_destroy(cur);
  bson_destroy(opts);
  bson_destroy(&filter);
  mongoc_collection_destroy(coll);
}

static int64_t report_int(const char *json_path, const char *path)
{
  char *text = read_file_text(json_path);
  assert_non_null(text);
  bson_t *doc = bson_new_from_json((const uint8_t *)text, -1, NULL);
  assert_non_null(doc);
  bson_iter_t it, found;
  assert_true(bson_iter_init(&it, doc));
  assert_true(bson_iter_find_descendant(&it, path, &found));
  int64_t v = bson_iter_as_int64(&found);
  bson_destroy(doc);
  free(text);
  return v;
}

/* Loads the big file into a private server started with fault, and checks
 * that every row landed exactly once. */
static void load_with_fault(const char *fault, const char *const *extra)
{
  const char *srv_args[] = {"--fault", fault, NULL};
  test_server_t srv;
  assert_true(test_server_spawn(srv_args, &srv));
  mongoc_client_t *client = mongoc_client_new(srv.uri);
  char *json = test_tmp_path("fault.json");
  char spec[1100];
  snprintf(spec, sizeof spec, "c=%s", g_big);
  /* Batches of 1000, so that the faults counted over inserts fire many
   * times, with the default batches in flight. */
  const char *args[24] = {"--uri",
                          srv.uri,
                          "--db",
                          "rel",
                          "--batch-size",
                          "1000",
                          "-q",
                          "--retry-max-wait",
                          "1",
                          "--report-json",
                          json};
  size_t n = 11;
  for (size_t i = 0; extra && extra[i]; i++)
    args[n++] = extra[i];
  args[n++] = spec;
  args[n] = NULL;
  loader_output_t o;
  int status = run_loader(args, &o);
  if (status != 0)
    fprintf(stderr, "fault %s: exit %d\n%s", fault, status, o.err);
  assert_int_equal(status, 0);
  loader_output_free(&o);
  assert_int_equal(report_int(json, "runs.0.jobs.0.processed"), BIG_ROWS);
  assert_int_equal(report_int(json, "runs.0.jobs.0.inserted"), BIG_ROWS);
  assert_int_equal(report_int(json, "runs.0.jobs.0.rejected"), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.post"), BIG_ROWS);
  assert_true(report_int(json, "runs.0.jobs.0.retries") >= 1);
  assert_each_once(client, "rel", "c", BIG_ROWS);
  mongoc_client_destroy(client);
  test_server_stop(&srv);
  free(json);
}

static void test_drop_before_apply(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  load_with_fault("drop-before-apply:5", NULL);
  load_with_fault("drop-before-apply:every:13", NULL);
}

static void test_drop_after_apply(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  /* The batch landed but the loader never heard: the retry's duplicate
   * _ids must count as inserted, not as rejects, and nothing doubles. */
  load_with_fault("drop-after-apply:3", NULL);
  load_with_fault("drop-after-apply:every:17", NULL);
  const char *line_ids[] = {"--id-from", "line", NULL};
  load_with_fault("drop-after-apply:every:7", line_ids);
}

static void test_retryable_errors(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  load_with_fault("error:2:91", NULL);           /* ShutdownInProgress */
  load_with_fault("error:every:11:189", NULL);   /* PrimarySteppedDown */
  load_with_fault("error:every:23:10107", NULL); /* NotWritablePrimary */
}

/* A reply delayed past the client's socket timeout: the client gives up
 * on a batch that still lands; the retry must not double it. */
static void test_delay_past_socket_timeout(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  const char *srv_args[] = {"--fault", "delay:every:20:1500", NULL};
  test_server_t srv;
  assert_true(test_server_spawn(srv_args, &srv));
  char uri[128];
  snprintf(uri, sizeof uri, "%s?socketTimeoutMS=400", srv.uri);
  char *json = test_tmp_path("delay.json");
  char spec[1100];
  snprintf(spec, sizeof spec, "c=%s", g_big);
  const char *args[] = {"--uri",
                        uri,
                        "--db",
                        "rel",
                        "--batch-size",
                        "1000",
                        "--retry-max-wait",
                        "1",
                        "-q",
                        "--report-json",
                        json,
                        spec,
                        NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.inserted"), BIG_ROWS);
  assert_true(report_int(json, "runs.0.jobs.0.retries") >= 1);
  /* The delayed inserts land after the client gave up: wait them out. */
  struct timespec ts = {2, 0};
  nanosleep(&ts, NULL);
  mongoc_client_t *client = mongoc_client_new(srv.uri);
  assert_each_once(client, "rel", "c", BIG_ROWS);
  mongoc_client_destroy(client);
  test_server_stop(&srv);
  free(json);
}

/* A non-retryable error is not retried: the job fails with the code. */
static void test_non_retryable_error(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  const char *srv_args[] = {"--fault", "error:2:2", NULL}; /* BadValue */
  test_server_t srv;
  assert_true(test_server_spawn(srv_args, &srv));
  const char *args[] = {"--uri", srv.uri, "--db", "rel", "-q", g_big, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "(error 2)"));
  assert_null(strstr(o.err, "retries"));
  loader_output_free(&o);
  test_server_stop(&srv);
}

/* Upsert and merge twice over the same file leave the collection as once. */
static void run_mode_twice(const char *mode, const char *coll)
{
  char *json = test_tmp_path("mode.json");
  char spec[1100];
  snprintf(spec, sizeof spec, "%s=%s", coll, g_products);
  const char *args[] = {
      "--uri", g_uri,           "--db", g_db, "--mode", mode, "--upsert-fields",
      "sku",   "--report-json", json,   "-q", spec,     NULL};
  mongoc_collection_t *c = mongoc_client_get_collection(g_client, g_db, coll);
  mongoc_collection_drop(c, NULL);
  assert_int_equal(run_loader(args, NULL), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.inserted"), 3000);
  assert_int_equal(report_int(json, "runs.0.jobs.0.updated"), 0);
  assert_int_equal(run_loader(args, NULL), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.inserted"), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.updated"), 3000);
  assert_int_equal(report_int(json, "runs.0.jobs.0.prior"), 3000);
  assert_int_equal(report_int(json, "runs.0.jobs.0.post"), 3000);
  csvx_table_t t;
  assert_true(csvx_load(g_products, &t));
  assert_int_equal(csvx_compare_collection(c, &t, "sku"), 3000);
  csvx_free(&t);
  mongoc_collection_destroy(c);
  free(json);
}

static void test_upsert_twice(void **state)
{
  (void)state;
  run_mode_twice("upsert", "ups");
}

static void test_merge_twice(void **state)
{
  (void)state;
  run_mode_twice("merge", "mrg");
}

/* Rows with the same upsert key in one batch apply in file order: the last
 * one wins, every time (the batch is split where a key repeats instead of
 * being sent unordered). */
static void test_upsert_repeated_keys_in_file_order(void **state)
{
  (void)state;
  char *path = test_tmp_path("repeat.csv");
  FILE *f = fopen(path, "w");
  fputs("k,v,w\n", f);
  for (int i = 1; i <= 300; i++)
    fprintf(f, "%c,%d,%d\n", 'a' + i % 3, i, i % 7);
  fclose(f);
  char spec[1100];
  snprintf(spec, sizeof spec, "repeat=%s", path);
  for (int round = 0; round < 5; round++) {
    const char *mode = round % 2 ? "merge" : "upsert";
    const char *args[] = {"--uri",  g_uri,    "--db", g_db,
                          "--drop", "--mode", mode,   "--upsert-fields",
                          "k",      "-q",     spec,   NULL};
    assert_int_equal(run_loader(args, NULL), 0);
    mongoc_collection_t *c =
        mongoc_client_get_collection(g_client, g_db, "repeat");
    bson_t filter = BSON_INITIALIZER;
    assert_int_equal(
        mongoc_collection_count_documents(c, &filter, NULL, NULL, NULL, NULL),
        3);
    /* The last rows of the file: a=300, c=299, b=298. */
    static const struct {
      const char *k; /* key */
      int v;         /* value of its last row */
    } last[] = {{"a", 300}, {"c", 299}, {"b", 298}};
    for (int i = 0; i < 3; i++) {
      bson_t *q = BCON_NEW("k", BCON_UTF8(last[i].k));
      mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, NULL, NULL);
      const bson_t *doc;
      assert_true(mongoc_cursor_next(cur, &doc));
      bson_iter_t it;
      assert_true(bson_iter_init_find(&it, doc, "v"));
      assert_int_equal(bson_iter_as_int64(&it), last[i].v);
      mongoc_cursor_destroy(cur);
      bson_destroy(q);
    }
    mongoc_collection_destroy(c);
  }
  free(path);
}

/* --id-from line: loading the same file again cannot double it. */
static void test_line_ids_idempotent(void **state)
{
  (void)state;
  char spec[1100];
  snprintf(spec, sizeof spec, "lineids=%s", g_products);
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--id-from",
                        "line",  "-q",  spec,   NULL};
  mongoc_collection_t *c =
      mongoc_client_get_collection(g_client, g_db, "lineids");
  mongoc_collection_drop(c, NULL);
  assert_int_equal(run_loader(args, NULL), 0);
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1); /* every row: duplicate _id */
  assert_non_null(strstr(o.err, "3000 rows rejected in all"));
  loader_output_free(&o);
  csvx_table_t t;
  assert_true(csvx_load(g_products, &t));
  assert_int_equal(csvx_compare_collection(c, &t, "sku"), 3000);
  csvx_free(&t);
  mongoc_collection_destroy(c);
}

/* --id-from COLUMN: _id is that column's value. */
static void test_id_from_column(void **state)
{
  (void)state;
  char spec[1100];
  snprintf(spec, sizeof spec, "byid=%s", g_products);
  const char *args[] = {"--uri",     g_uri, "--db", g_db, "--drop",
                        "--id-from", "sku", "-q",   spec, NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  mongoc_collection_t *c = mongoc_client_get_collection(g_client, g_db, "byid");
  bson_t *filter = BCON_NEW("_id", BCON_UTF8("SKU-000004"));
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cur, &doc));
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, doc, "sku"));
  assert_string_equal(bson_iter_utf8(&it, NULL), "SKU-000004");
  mongoc_cursor_destroy(cur);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
}

/* Returns the number of documents in rel.c on the server at uri. */
static int64_t count_rel_c(mongoc_client_t *client)
{
  mongoc_collection_t *c = mongoc_client_get_collection(client, "rel", "c");
  bson_t filter = BSON_INITIALIZER;
  int64_t n =
      mongoc_collection_count_documents(c, &filter, NULL, NULL, NULL, NULL);
  mongoc_collection_destroy(c);
  return n;
}

/* Waits for evidence that the load of pid is under way: at least rows
 * documents in rel.c and, when checkpoint is not NULL, the checkpoint
 * file (written after the first acknowledged batch). Polls; fails the test
 * when the loader exits first (a 60 s cap only keeps a broken build from
 * hanging: nothing here is timed). */
static void wait_under_way(const char *uri, pid_t pid, int64_t rows,
                           const char *checkpoint)
{
  mongoc_client_t *client = mongoc_client_new(uri);
  assert_non_null(client);
  for (long waited_ms = 0;; waited_ms += 2) {
    if (count_rel_c(client) >= rows &&
        (!checkpoint || access(checkpoint, F_OK) == 0))
      break;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
      fail_msg("the loader ended before the load was under way (%lld rows "
               "wanted in)",
               (long long)rows);
    if (waited_ms > 60000)
      fail_msg("the load did not get under way in 60 s");
    struct timespec ts = {0, 2 * 1000000L};
    nanosleep(&ts, NULL);
  }
  mongoc_client_destroy(client);
}

/* Proves that a kill landed mid-load: pid died of sig (it had not
 * finished), the checkpoint exists, and rel.c holds strictly between 0 and
 * all the rows. */
static void assert_killed_mid_load(const char *uri, int status, int sig,
                                   const char *checkpoint)
{
  if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
    fail_msg("the loader was not killed by signal %d (it finished first: "
             "status 0x%x)",
             sig, status);
  assert_int_equal(access(checkpoint, F_OK), 0);
  mongoc_client_t *client = mongoc_client_new(uri);
  int64_t n = count_rel_c(client);
  mongoc_client_destroy(client);
  if (!(n > 0 && n < BIG_ROWS))
    fail_msg("the kill did not land mid-load: %lld of %d rows in", (long long)n,
             BIG_ROWS);
}

/* SIGINT stops the load cleanly: exit 130, a partial report, and what
 * the report says landed is what is in the collection. */
static void test_sigint_stops_cleanly(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  const char *srv_args[] = {"--delay-ms", "20", NULL};
  test_server_t srv;
  assert_true(test_server_spawn(srv_args, &srv));
  char *json = test_tmp_path("int.json");
  char *out = test_tmp_path("int.out");
  char spec[1100];
  snprintf(spec, sizeof spec, "c=%s", g_big);
  const char *args[] = {"--uri", srv.uri,         "--db", "rel", "--batch-size",
                        "500",   "--report-json", json,   spec,  NULL};
  pid_t pid = spawn_loader(args, out);
  wait_under_way(srv.uri, pid, 1, NULL);
  kill(pid, SIGINT);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 130);
  char *text = read_file_text(out);
  assert_non_null(strstr(text, "interrupted"));
  free(text);
  int64_t inserted = report_int(json, "runs.0.jobs.0.inserted");
  assert_true(inserted > 0 && inserted < BIG_ROWS);
  mongoc_client_t *client = mongoc_client_new(srv.uri);
  mongoc_collection_t *c = mongoc_client_get_collection(client, "rel", "c");
  bson_t filter = BSON_INITIALIZER;
  assert_int_equal(
      mongoc_collection_count_documents(c, &filter, NULL, NULL, NULL, NULL),
      inserted);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);
  test_server_stop(&srv);
  free(json);
  free(out);
}

/* Starts the loader on the big file into srv with a checkpoint, and
 * returns its pid. Small batches at a capped rate make the load last about
 * a second, so a kill aimed at seven tenths of the rows lands before the
 * last batch even on a loaded machine (at the default 10,000 rows a batch
 * and 4 in flight, the rest of the file was on the wire by then). */
static pid_t start_checkpointed(const test_server_t *srv, const char *cp,
                                const char *rejects)
{
  static char spec[1100];
  snprintf(spec, sizeof spec, "c=%s", g_big);
  const char *args[] = {"--uri",        srv->uri, "--db",       "rel",
                        "--checkpoint", cp,       "--rejects",  rejects,
                        "--batch-size", "1000",   "--max-rate", "100000",
                        "-q",           spec,     NULL};
  return spawn_loader(args, NULL);
}

/* Resumes the checkpointed load; asserts it finishes and every row is in
 * the collection exactly once. */
static void resume_and_check(const test_server_t *srv, const char *cp,
                             const char *rejects)
{
  char spec[1100];
  snprintf(spec, sizeof spec, "c=%s", g_big);
  char *json = test_tmp_path("resume.json");
  const char *args[] = {"--uri",        srv->uri, "--db",          "rel",
                        "--checkpoint", cp,       "--resume",      "--rejects",
                        rejects,        "-q",     "--report-json", json,
                        spec,           NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.processed"), BIG_ROWS);
  assert_int_equal(report_int(json, "runs.0.jobs.0.inserted"), BIG_ROWS);
  assert_int_equal(report_int(json, "runs.0.jobs.0.prior"), 0);
  assert_int_equal(report_int(json, "runs.0.jobs.0.post"), BIG_ROWS);
  mongoc_client_t *client = mongoc_client_new(srv->uri);
  assert_each_once(client, "rel", "c", BIG_ROWS);
  mongoc_client_destroy(client);
  /* The rejects file is complete and in place: its header only. */
  char *text = read_file_text(rejects);
  assert_non_null(text);
  assert_string_equal(text, "file,line,offset,column,reason,record\n");
  free(text);
  free(json);
}

/* kill -9 at several points of a long load (once a tenth, four tenths and
 * seven tenths of the rows are in: proved mid-load), then --resume: the
 * count is exact and nothing doubles. */
static void test_kill_then_resume(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  static const int64_t at_rows[] = {BIG_ROWS / 10, BIG_ROWS * 4 / 10,
                                    BIG_ROWS * 7 / 10};
  for (size_t i = 0; i < sizeof at_rows / sizeof at_rows[0]; i++) {
    const char *srv_args[] = {"--delay-ms", "3", NULL};
    test_server_t srv;
    assert_true(test_server_spawn(srv_args, &srv));
    char *cp = test_tmp_path("kill.checkpoint");
    char *rejects = test_tmp_path("kill.rejects.csv");
    unlink(cp);
    unlink(rejects);
    pid_t pid = start_checkpointed(&srv, cp, rejects);
    wait_under_way(srv.uri, pid, at_rows[i], cp);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_killed_mid_load(srv.uri, status, SIGKILL, cp);
    resume_and_check(&srv, cp, rejects);
    test_server_stop(&srv);
    free(cp);
    free(rejects);
  }
}

/* SIGINT writes the checkpoint; --resume finishes the load. */
static void test_sigint_then_resume(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  const char *srv_args[] = {"--delay-ms", "3", NULL};
  test_server_t srv;
  assert_true(test_server_spawn(srv_args, &srv));
  char *cp = test_tmp_path("int.checkpoint");
  char *rejects = test_tmp_path("int.rejects.csv");
  unlink(cp);
  unlink(rejects);
  pid_t pid = start_checkpointed(&srv, cp, rejects);
  wait_under_way(srv.uri, pid, 1, cp);
  kill(pid, SIGINT);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 130);
  /* Stopped mid-load, with its checkpoint. */
  assert_int_equal(access(cp, F_OK), 0);
  mongoc_client_t *client = mongoc_client_new(srv.uri);
  int64_t n = count_rel_c(client);
  mongoc_client_destroy(client);
  assert_true(n > 0 && n < BIG_ROWS);
  resume_and_check(&srv, cp, rejects);
  test_server_stop(&srv);
  free(cp);
  free(rejects);
}

/* A file changed since the checkpoint refuses to resume, naming it. */
static void test_changed_file_refuses_resume(void **state)
{
  (void)state;
  char *path = test_tmp_path("changing.csv");
  assert_true(test_generate("products", 300, 5, path));
  char *cp = test_tmp_path("changing.checkpoint");
  char spec[1100];
  snprintf(spec, sizeof spec, "chg=%s", path);
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--checkpoint",
                        cp,      "-q",  spec,   NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  FILE *f = fopen(path, "a");
  fputs("SKU-999999,x,y,1.0,1,1.0,,2024-01-01T00:00:00Z\n", f);
  fclose(f);
  const char *again[] = {"--uri", g_uri,      "--db", g_db, "--checkpoint",
                         cp,      "--resume", "-q",   spec, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(again, &o), 2);
  assert_non_null(strstr(o.err, "changing.csv changed since the checkpoint"));
  loader_output_free(&o);
  free(cp);
  free(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drop_before_apply),
      cmocka_unit_test(test_drop_after_apply),
      cmocka_unit_test(test_retryable_errors),
      cmocka_unit_test(test_delay_past_socket_timeout),
      cmocka_unit_test(test_non_retryable_error),
      cmocka_unit_test(test_upsert_twice),
      cmocka_unit_test(test_merge_twice),
      cmocka_unit_test(test_upsert_repeated_keys_in_file_order),
      cmocka_unit_test(test_line_ids_idempotent),
      cmocka_unit_test(test_id_from_column),
      cmocka_unit_test(test_sigint_stops_cleanly),
      cmocka_unit_test(test_kill_then_resume),
      cmocka_unit_test(test_sigint_then_resume),
      cmocka_unit_test(test_changed_file_refuses_resume),
  };
  mongoc_init();
  int failed = cmocka_run_group_tests(tests, setup_all, teardown_all);
  mongoc_cleanup();
  return failed;
}
