/* mongo-test-server over TLS, through libmongoc, on private servers
 * started with --tls-cert/--tls-key (and --tls-ca). The certificates are
 * made at run time with the openssl command (a CA, a server certificate
 * for 127.0.0.1 it signed, a client certificate, and a second CA nobody
 * trusts); none is committed. Skipped when MONGODB_URI is set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_server.h"

static char g_dir[256];   /* temporary directory of the certificates */
static test_server_t g_s; /* the current test's server, stopped after it */

/* Stops the test's server, also when the test failed half-way. */
static int teardown(void **state)
{
  (void)state;
  test_server_stop(&g_s);
  return 0;
}

/* g_dir/name, in a static buffer (one of four in rotation). */
static const char *path(const char *name)
{
  static char bufs[4][512];
  static int next;
  char *b = bufs[next++ % 4];
  snprintf(b, sizeof bufs[0], "%s/%s", g_dir, name);
  return b;
}

/* Runs a shell command in g_dir; false when it fails. */
static bool sh(const char *cmd)
{
  char *full =
      bson_strdup_printf("cd '%s' && (%s) >/dev/null 2>&1", g_dir, cmd);
  int rc = system(full);
  if (rc != 0)
    fprintf(stderr, "failed (%d): %s\n", rc, cmd);
  bson_free(full);
  return rc == 0;
}

/* A key and a certificate request for subject, signed by the CA ca
 * (ca.pem, ca.key) with the extensions ext; name.pem is the certificate
 * and key together (what tlsCertificateKeyFile takes). */
static bool make_cert(const char *name, const char *subject, const char *ca,
                      const char *ext)
{
  char *cmd = bson_strdup_printf(
      "printf '%%s\\n' '%s' > %s.ext && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout %s.key -out %s.csr -subj '%s' && "
      "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial "
      "-days 2 -out %s.crt -extfile %s.ext && cat %s.crt %s.key > %s.pem",
      ext, name, name, name, subject, name, ca, ca, name, name, name, name,
      name);
  bool ok = sh(cmd);
  bson_free(cmd);
  return ok;
}

/* A self-signed CA: name.pem, name.key. */
static bool make_ca(const char *name)
{
  char *cmd = bson_strdup_printf(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -keyout %s.key -out %s.pem -days 2 -subj '/CN=loader test %s'",
      name, name, name);
  bool ok = sh(cmd);
  bson_free(cmd);
  return ok;
}

static int setup_all(void **state)
{
  (void)state;
  if (test_server_external())
    return 0;
  if (system("openssl version >/dev/null 2>&1") != 0) {
    fprintf(stderr, "the openssl command is needed (Debian: openssl)\n");
    return -1;
  }
  snprintf(g_dir, sizeof g_dir, "%s/mts-tls-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(g_dir))
    return -1;
  return make_ca("ca") && make_ca("other") &&
                 make_cert("server", "/CN=127.0.0.1", "ca",
                           "subjectAltName=IP:127.0.0.1,DNS:localhost") &&
                 make_cert("client", "/CN=loader-client", "ca",
                           "extendedKeyUsage=clientAuth")
             ? 0
             : -1;
}

static int teardown_all(void **state)
{
  (void)state;
  if (g_dir[0]) {
    char *cmd = bson_strdup_printf("rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", g_dir);
    bson_free(cmd);
  }
  return 0;
}

#define SKIP_IF_EXTERNAL()                                                     \
  do {                                                                         \
    if (test_server_external()) {                                              \
      fprintf(stderr, "skipped: MONGODB_URI is set; TLS is tested on "         \
                      "private mongo-test-servers\n");                         \
      skip();                                                                  \
    }                                                                          \
  } while (0)

/* Starts a TLS server (with --tls-ca when require_client_cert) plus extra
 * arguments (may be NULL). */
static void spawn_tls(bool require_client_cert, const char *extra,
                      const char *extra_value, test_server_t *s)
{
  const char *args[10] = {"--tls-cert", path("server.crt"), "--tls-key",
                          path("server.key")};
  int n = 4;
  if (require_client_cert) {
    args[n++] = "--tls-ca";
    args[n++] = path("ca.pem");
  }
  if (extra) {
    args[n++] = extra;
    args[n++] = extra_value;
  }
  args[n] = NULL;
  assert_true(test_server_spawn(args, s));
}

/* A client for "mongodb://[CREDS@]127.0.0.1:PORT/?OPTIONS". */
static mongoc_client_t *client_with(const test_server_t *s, const char *creds,
                                    const char *options)
{
  char *uri = bson_strdup_printf(
      "mongodb://%s%s127.0.0.1:%d/?serverSelectionTimeoutMS=2000&%s",
      creds ? creds : "", creds ? "@" : "", s->port, options);
  mongoc_client_t *client = mongoc_client_new(uri);
  if (!client)
    fail_msg("bad URI %s", uri);
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  bson_free(uri);
  return client;
}

/* Loads 100 documents and reads them back; false (error filled) when the
 * client cannot even reach the server. */
static bool load_and_read_back(mongoc_client_t *client, bson_error_t *error)
{
  bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
  bool reached =
      mongoc_client_command_simple(client, "admin", ping, NULL, NULL, error);
  bson_destroy(ping);
  if (!reached)
    return false;
  mongoc_collection_t *c = mongoc_client_get_collection(client, "tls", "c");
  mongoc_collection_drop(c, NULL);
  bson_t *docs[100];
  for (int i = 0; i < 100; i++)
    docs[i] = BCON_NEW("_id", BCON_INT32(i));
  bool ok = mongoc_collection_insert_many(c, (const bson_t **)docs, 100, NULL,
                                          NULL, error);
  for (int i = 0; i < 100; i++)
    bson_destroy(docs[i]);
  if (ok) {
    bson_t all = BSON_INITIALIZER;
    int64_t n =
        mongoc_collection_count_documents(c, &all, NULL, NULL, NULL, error);
    assert_int_equal(n, 100);
  }
  mongoc_collection_destroy(c);
  return ok;
}

/* tls=true with the CA that signed the server's certificate: loads. A
 * client without TLS fails (the server drops it, says why on stderr, and
 * keeps serving); so does a client trusting another CA. */
static void test_tls(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t *s = &g_s;
  bson_error_t error;
  spawn_tls(false, NULL, NULL, s);
  char *ca = bson_strdup_printf("tls=true&tlsCAFile=%s", path("ca.pem"));
  mongoc_client_t *client = client_with(s, NULL, ca);
  if (!load_and_read_back(client, &error))
    fail_msg("over TLS: %s", error.message);
  mongoc_client_destroy(client);

  fprintf(stderr, "expected: a TLS handshake failure (plain client)\n");
  client = client_with(s, NULL, "tls=false");
  assert_false(load_and_read_back(client, &error));
  fprintf(stderr, "plain client: %s\n", error.message);
  assert_int_equal(error.domain, MONGOC_ERROR_SERVER_SELECTION);
  assert_non_null(strstr(error.message, "connection closed"));
  mongoc_client_destroy(client);

  char *other = bson_strdup_printf("tls=true&tlsCAFile=%s", path("other.pem"));
  fprintf(stderr, "expected: a TLS handshake failure (untrusted CA)\n");
  client = client_with(s, NULL, other);
  assert_false(load_and_read_back(client, &error));
  fprintf(stderr, "untrusted CA: %s\n", error.message);
  assert_non_null(strstr(error.message, "TLS handshake failed"));
  mongoc_client_destroy(client);

  /* The server still serves TLS clients. */
  client = client_with(s, NULL, ca);
  if (!load_and_read_back(client, &error))
    fail_msg("over TLS, again: %s", error.message);
  mongoc_client_destroy(client);
  bson_free(other);
  bson_free(ca);
  test_server_stop(s);
}

/* --tls-ca: a client without a certificate is refused; one with a
 * certificate the CA signed loads. */
static void test_client_certificate(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t *s = &g_s;
  bson_error_t error;
  spawn_tls(true, NULL, NULL, s);
  char *opts = bson_strdup_printf("tls=true&tlsCAFile=%s", path("ca.pem"));
  fprintf(stderr, "expected: a TLS handshake failure (no client cert)\n");
  mongoc_client_t *client = client_with(s, NULL, opts);
  assert_false(load_and_read_back(client, &error));
  fprintf(stderr, "no client certificate: %s\n", error.message);
  mongoc_client_destroy(client);
  bson_free(opts);

  opts = bson_strdup_printf("tls=true&tlsCAFile=%s&tlsCertificateKeyFile=%s",
                            path("ca.pem"), path("client.pem"));
  client = client_with(s, NULL, opts);
  if (!load_and_read_back(client, &error))
    fail_msg("with a client certificate: %s", error.message);
  mongoc_client_destroy(client);
  bson_free(opts);
  test_server_stop(s);
}

/* What a real deployment asks: TLS and SCRAM-SHA-256 together. */
static void test_tls_with_scram(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t *s = &g_s;
  bson_error_t error;
  spawn_tls(false, "--user", "alice:s3cret", s);
  char *opts = bson_strdup_printf(
      "tls=true&tlsCAFile=%s&authSource=admin&authMechanism=SCRAM-SHA-256",
      path("ca.pem"));
  mongoc_client_t *client = client_with(s, "alice:s3cret", opts);
  if (!load_and_read_back(client, &error))
    fail_msg("TLS + SCRAM: %s", error.message);
  mongoc_client_destroy(client);
  client = client_with(s, "alice:wrong", opts);
  assert_false(load_and_read_back(client, &error));
  assert_non_null(strstr(error.message, "Authentication failed"));
  mongoc_client_destroy(client);
  bson_free(opts);
  test_server_stop(s);
}

/* Bad TLS options: a key without a certificate is a usage error; a file
 * that is not a certificate stops the start. */
static void test_bad_tls_options(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t s;
  const char *key_only[] = {"--tls-key", path("server.key"), NULL};
  fprintf(stderr, "expected: refusals of bad TLS options\n");
  assert_false(test_server_spawn(key_only, &s));
  const char *not_cert[] = {"--tls-cert", path("server.ext"), "--tls-key",
                            path("server.key"), NULL};
  assert_false(test_server_spawn(not_cert, &s));
  const char *wrong_key[] = {"--tls-cert", path("server.crt"), "--tls-key",
                             path("client.key"), NULL};
  assert_false(test_server_spawn(wrong_key, &s));
}

int main(void)
{
  mongoc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_tls, teardown),
      cmocka_unit_test_teardown(test_client_certificate, teardown),
      cmocka_unit_test_teardown(test_tls_with_scram, teardown),
      cmocka_unit_test(test_bad_tls_options),
  };
  int failed =
      cmocka_run_group_tests_name("server_tls", tests, setup_all, teardown_all);
  mongoc_cleanup();
  return failed;
}
