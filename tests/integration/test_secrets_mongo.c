/* No password is ever printed (issue 11, hole 8), and --password-file hands
 * the password to the driver without building it into a URI.
 *
 * The loader runs as a user would run it, with URIs that hold a password,
 * many of them malformed or pointing nowhere; nothing it prints on stdout
 * or stderr (progress lines included) nor its JSON report may hold any piece
 * of the password. Every password here is made of pieces that each carry
 * the marker "Q7", which nothing else contains, so a leak of any fragment
 * is seen. With --password-file the loader loads for real into a private
 * test server that requires SCRAM authentication of one user (--user), so a
 * wrong or mangled password fails the load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "report_check.h"
#include "run_loader.h"
#include "test_server.h"
#include "test_uri.h"

/* Every delimiter a URI parser cuts at, a space, and the marker. */
#define PASSWORD "Q7p@ss:w/rd?#Q7%&=Q7 ,;+Q7"
/* The same, percent-encoded for a URI. */
#define PASSWORD_PCT "Q7p%40ss%3Aw%2Frd%3F%23Q7%25%26%3DQ7%20%2C%3B%2BQ7"

static char g_products[1024]; /* data/products.csv */
static test_server_t g_srv;   /* private server with --user alice:PASSWORD */

static int setup_all(void **state)
{
  (void)state;
  char *p = test_source_path("data/products.csv");
  snprintf(g_products, sizeof g_products, "%s", p);
  free(p);
  if (test_server_external())
    return 0;
  const char *args[] = {"--user", "alice:" PASSWORD, NULL};
  return test_server_spawn(args, &g_srv) ? 0 : -1;
}

static int teardown_all(void **state)
{
  (void)state;
  test_server_stop(&g_srv);
  return 0;
}

/* Copies template into out (cap bytes) with its "PORT" replaced by port
 * (the templates hold '%' of their own). */
static void with_port(char *out, size_t cap, const char *template, int port)
{
  const char *at = strstr(template, "PORT");
  assert_non_null(at);
  int n = snprintf(out, cap, "%.*s%d%s", (int)(at - template), template, port,
                   at + 4);
  assert_true(n > 0 && (size_t)n < cap);
}

/* Fails when text (named what, for the message) holds the marker. */
static void assert_clean(const char *what, const char *text, const char *uri)
{
  if (text && strstr(text, "Q7"))
    fail_msg("--uri %s: %s shows the password:\n%s", uri, what, text);
}

/* Runs the loader with --uri uri, the extra arguments (NULL-terminated, at
 * most 8), --progress plain and --report-json on products.csv; checks that
 * it exits with want and that no output nor the report holds the marker.
 * Returns what it printed on stderr (caller frees). */
static char *run_clean(const char *uri, const char *const *extra, int want)
{
  char *json = test_tmp_path("secrets.json");
  unlink(json);
  const char *args[16] = {"--uri",         uri, "--progress", "plain",
                          "--report-json", json};
  size_t n = 6;
  for (size_t i = 0; extra && extra[i]; i++)
    args[n++] = extra[i];
  args[n++] = g_products;
  args[n] = NULL;
  loader_output_t o;
  int status = run_loader(args, &o);
  if (status != want)
    fail_msg("--uri %s: exit %d, want %d; stderr:\n%s", uri, status, want,
             o.err);
  assert_clean("stdout", o.out, uri);
  assert_clean("stderr", o.err, uri);
  char *report = read_file_text(json);
  assert_clean("the JSON report", report, uri);
  free(report);
  free(json);
  char *err = o.err;
  o.err = NULL;
  loader_output_free(&o);
  return err;
}

/* URIs that fail to parse, name no known scheme or point nowhere: each
 * holds a password with the marker in every piece; the loader says what is
 * wrong without any of it. */
static void test_bad_uris(void **state)
{
  (void)state;
  int port = test_closed_port();
  static const char *const templates[] = {
      /* unreachable, valid */
      "mongodb://alice:Q7pw@127.0.0.1:PORT/db?serverSelectionTimeoutMS=300",
      "mongodb://alice:" PASSWORD_PCT
      "@127.0.0.1:PORT/db?serverSelectionTimeoutMS=300",
      /* delimiters left in the password: the first '/' or '?' is not the
       * end of the credentials */
      "mongodb://alice:Q7pa/Q7ss@127.0.0.1:PORT/"
      "db?serverSelectionTimeoutMS=300",
      "mongodb://alice:Q7pa?Q7ss@127.0.0.1:PORT/"
      "db?serverSelectionTimeoutMS=300",
      "mongodb://alice:Q7pa#Q7ss@127.0.0.1:PORT/"
      "db?serverSelectionTimeoutMS=300",
      "mongodb://alice:Q7pa:Q7ss@127.0.0.1:PORT/"
      "db?serverSelectionTimeoutMS=300",
      "mongodb://alice:Q7p@Q7ss@127.0.0.1:PORT/db?serverSelectionTimeoutMS=300",
      "mongodb://alice:Q7p@Q7s/Q7s@127.0.0.1:PORT/db?serverSelectionTimeoutMS="
      "300",
      "mongodb://alice:" PASSWORD "@127.0.0.1:PORT/db?serverSelectionTimeoutMS="
      "300",
      "mongodb://alice:Q7%zzQ7@127.0.0.1:PORT/db",
      "mongodb://alice:Q7pw@127.0.0.1:PORT,127.0.0.2:1/db?replicaSet=rs&"
      "serverSelectionTimeoutMS=300",
      "mongodb+srv://alice:Q7pa/Q7ss@x.invalid:PORT/db",
      /* option secrets, and libmongoc quoting them back */
      "mongodb://127.0.0.1:PORT/?tls=true&tlsCertificateKeyFilePassword=Q7x&"
      "tlsCertificateKeyFile=/nonexistent",
      "mongodb://127.0.0.1:PORT/?sslClientCertificateKeyPassword=Q7a&"
      "tlsCertificateKeyFilePassword=Q7b",
      "mongodb://AKIA:Q7key@127.0.0.1:PORT/?authMechanism=MONGODB-AWS&"
      "authMechanismProperties=AWS_SESSION_TOKEN:Q7tok&"
      "serverSelectionTimeoutMS=300",
      /* not a MongoDB URI at all */
      "mysql://alice:Q7pa/Q7ss@127.0.0.1:PORT/db",
      "mysql://alice:Q7pa?Q7ss@127.0.0.1:PORT/db",
      "mariadb://alice:Q7pw@127.0.0.1:PORT/db?connectTimeout=2",
      "ftp://alice:Q7pw@127.0.0.1:PORT",
      "mongodb:/alice:Q7pw@127.0.0.1:PORT",
      "alice:Q7pw@127.0.0.1:PORT",
      "mongodb://alice:Q7pw@127.0.0.1:PORT/d b\"$",
  };
  for (size_t i = 0; i < sizeof templates / sizeof *templates; i++) {
    char uri[512];
    with_port(uri, sizeof uri, templates[i], port);
    char *json = test_tmp_path("secrets.json");
    const char *args[] = {"--uri",         uri,  "--progress", "plain",
                          "--report-json", json, g_products,   NULL};
    loader_output_t o;
    int status = run_loader(args, &o);
    if (status != 2 && status != 3)
      fail_msg("--uri %s: exit %d, want 2 or 3; stderr:\n%s", uri, status,
               o.err);
    assert_non_null(strstr(o.err, "loader: "));
    assert_clean("stdout", o.out, uri);
    assert_clean("stderr", o.err, uri);
    char *report = read_file_text(json);
    assert_clean("the JSON report", report, uri);
    free(report);
    free(json);
    loader_output_free(&o);
  }
}

/* The password as the first line of a file (CRLF), special characters and
 * all: the load works and nothing shows the password. */
static void test_password_file_loads(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  char *pw = write_tmp("pw", PASSWORD "\r\nsecond line Q7\n");
  char uri[256];
  snprintf(uri, sizeof uri,
           "mongodb://alice@127.0.0.1:%d/t_secrets?authSource=admin",
           g_srv.port);
  const char *extra[] = {"--password-file", pw, "--drop", NULL};
  free(run_clean(uri, extra, 0));
  char *json = test_tmp_path("secrets.json");
  bson_t *r = report_load(json);
  report_assert_job(r, 0, 0, "products", 3000, 0, 3000);
  bson_destroy(r);
  free(json);

  /* What landed, read back through the driver. */
  char *as_alice =
      bson_strdup_printf("mongodb://alice:%s@127.0.0.1:%d/?authSource=admin",
                         PASSWORD_PCT, g_srv.port);
  mongoc_client_t *client = mongoc_client_new(as_alice);
  bson_free(as_alice);
  mongoc_collection_t *coll =
      mongoc_client_get_collection(client, "t_secrets", "products");
  bson_t filter = BSON_INITIALIZER;
  bson_error_t error;
  int64_t n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL,
                                                &error);
  bson_destroy(&filter);
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(client);
  assert_int_equal(n, 3000);

  /* The same password inline, percent-encoded: the same server takes it. */
  snprintf(uri, sizeof uri,
           "mongodb://alice:%s@127.0.0.1:%d/t_secrets?authSource=admin",
           PASSWORD_PCT, g_srv.port);
  const char *drop[] = {"--drop", NULL};
  free(run_clean(uri, drop, 0));
  free(pw);
}

/* A wrong password from the file: the server refuses it (exit 3), and
 * neither it nor the URI's is shown. */
static void test_password_file_wrong(void **state)
{
  (void)state;
  if (test_server_external())
    skip();
  char *pw = write_tmp("pw-wrong", "Q7wrong/Q7pw\n");
  char uri[256];
  snprintf(uri, sizeof uri,
           "mongodb://alice@127.0.0.1:%d/t_secrets?authSource=admin&"
           "serverSelectionTimeoutMS=2000",
           g_srv.port);
  const char *extra[] = {"--password-file", pw, NULL};
  char *err = run_clean(uri, extra, 3);
  assert_non_null(strstr(err, "Authentication failed"));
  free(err);
  /* Inline, and wrong. */
  snprintf(uri, sizeof uri,
           "mongodb://alice:Q7wr%%2FQ7ong@127.0.0.1:%d/t_secrets?authSource="
           "admin&serverSelectionTimeoutMS=2000",
           g_srv.port);
  err = run_clean(uri, NULL, 3);
  assert_non_null(strstr(err, "Authentication failed"));
  assert_non_null(strstr(err, "alice:***@127.0.0.1"));
  free(err);
  free(pw);
}

/* --password-file needs a URI that names a user and no password: else a
 * usage error (exit 2), without the password of either. */
static void test_password_file_usage(void **state)
{
  (void)state;
  char *pw = write_tmp("pw-usage", "Q7file\n");
  int port = test_closed_port();
  static const char *const templates[] = {
      "mongodb://alice:Q7old@127.0.0.1:PORT/db",
      "mongodb://alice:@127.0.0.1:PORT/db",
      "mongodb://127.0.0.1:PORT/db",
      "mongodb://@127.0.0.1:PORT/db",
      "mysql://alice:Q7old@127.0.0.1:PORT/db",
      "sqlite:///tmp/xPORT.db",
  };
  const char *extra[] = {"--password-file", pw, NULL};
  for (size_t i = 0; i < sizeof templates / sizeof *templates; i++) {
    char uri[256];
    with_port(uri, sizeof uri, templates[i], port);
    char *err = run_clean(uri, extra, 2);
    assert_non_null(strstr(err, "--password-file"));
    free(err);
  }
  /* A file that isn't there. */
  char uri[256];
  snprintf(uri, sizeof uri, "mongodb://alice@127.0.0.1:%d/db", port);
  const char *args[] = {"--uri",           uri,        "--password-file",
                        "/nonexistent/pw", g_products, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 2);
  assert_non_null(strstr(o.err, "No such file"));
  loader_output_free(&o);
  free(pw);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_uris),
      cmocka_unit_test(test_password_file_loads),
      cmocka_unit_test(test_password_file_wrong),
      cmocka_unit_test(test_password_file_usage),
  };
  mongoc_init();
  int failed = cmocka_run_group_tests(tests, setup_all, teardown_all);
  mongoc_cleanup();
  return failed;
}
