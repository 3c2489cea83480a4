/* mongo-test-server's authentication, through libmongoc, on a private
 * server started with --user: SCRAM-SHA-256, SCRAM-SHA-1 and the default
 * mechanism negotiation (saslSupportedMechs, speculative authentication)
 * load and read back; a wrong password is 18 AuthenticationFailed; a
 * connection without credentials gets 13 Unauthorized for everything but
 * the handshake. Skipped when MONGODB_URI points at a real server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_server.h"

/* The users: a plain one, one whose name needs SCRAM's escapes (',' and
 * '=') and whose password holds URI delimiters. */
#define ALICE "alice:s3cret"
#define ODD "o,d=d:p w@x/y"
#define ODD_URI "o%2Cd%3Dd:p%20w%40x%2Fy"

static test_server_t g_srv;

static int setup_all(void **state)
{
  (void)state;
  if (test_server_external())
    return 0;
  const char *args[] = {"--user", ALICE, "--user", ODD, NULL};
  return test_server_spawn(args, &g_srv) ? 0 : -1;
}

static int teardown_all(void **state)
{
  (void)state;
  test_server_stop(&g_srv);
  return 0;
}

#define SKIP_IF_EXTERNAL()                                                     \
  do {                                                                         \
    if (test_server_external()) {                                              \
      fprintf(stderr, "skipped: MONGODB_URI is set and these users exist "     \
                      "only in a private mongo-test-server\n");                \
      skip();                                                                  \
    }                                                                          \
  } while (0)

/* A client for "mongodb://CREDS@127.0.0.1:PORT/?OPTIONS" (creds may be
 * NULL), failing fast. */
static mongoc_client_t *client_with(const char *creds, const char *options)
{
  char *uri = bson_strdup_printf(
      "mongodb://%s%s127.0.0.1:%d/?serverSelectionTimeoutMS=2000%s%s",
      creds ? creds : "", creds ? "@" : "", g_srv.port, options ? "&" : "",
      options ? options : "");
  mongoc_client_t *client = mongoc_client_new(uri);
  assert_non_null(client);
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  bson_free(uri);
  return client;
}

/* Inserts 100 documents into auth.<coll> and reads them back. */
static void load_and_read_back(mongoc_client_t *client, const char *coll)
{
  mongoc_collection_t *c = mongoc_client_get_collection(client, "auth", coll);
  bson_error_t error;
  bson_t *docs[100];
  for (int i = 0; i < 100; i++)
    docs[i] = BCON_NEW("_id", BCON_INT32(i), "v", BCON_UTF8(coll));
  bool ok = mongoc_collection_insert_many(c, (const bson_t **)docs, 100, NULL,
                                          NULL, &error);
  for (int i = 0; i < 100; i++)
    bson_destroy(docs[i]);
  if (!ok)
    fail_msg("insert as %s: %s (%u.%u)", coll, error.message, error.domain,
             error.code);
  bson_t *q = BCON_NEW("v", BCON_UTF8(coll));
  int64_t n = mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &error);
  bson_destroy(q);
  if (n < 0)
    fail_msg("count: %s", error.message);
  assert_int_equal(n, 100);
  mongoc_collection_drop(c, NULL);
  mongoc_collection_destroy(c);
}

static void test_scram_sha_256(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  mongoc_client_t *client =
      client_with(ALICE, "authSource=admin&authMechanism=SCRAM-SHA-256");
  load_and_read_back(client, "sha256");
  mongoc_client_destroy(client);
}

static void test_scram_sha_1(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  mongoc_client_t *client =
      client_with(ALICE, "authSource=admin&authMechanism=SCRAM-SHA-1");
  load_and_read_back(client, "sha1");
  mongoc_client_destroy(client);
}

/* No mechanism named: the driver asks for saslSupportedMechs and
 * authenticates speculatively in the handshake. A name with ',' and '='
 * travels escaped. */
static void test_default_mechanism(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  mongoc_client_t *client = client_with(ALICE, NULL);
  load_and_read_back(client, "default");
  mongoc_client_destroy(client);
  client = client_with(ODD_URI, NULL);
  load_and_read_back(client, "odd256");
  mongoc_client_destroy(client);
  client = client_with(ODD_URI, "authMechanism=SCRAM-SHA-1");
  load_and_read_back(client, "odd1");
  mongoc_client_destroy(client);
}

/* PLAIN still works for the same users. */
static void test_plain(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  mongoc_client_t *client = client_with(ALICE, "authMechanism=PLAIN");
  load_and_read_back(client, "plain");
  mongoc_client_destroy(client);
}

/* Pings through client and returns the error. */
static bool ping(mongoc_client_t *client, bson_error_t *error)
{
  bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
  bool ok =
      mongoc_client_command_simple(client, "admin", cmd, NULL, NULL, error);
  bson_destroy(cmd);
  return ok;
}

/* A wrong password, an unknown user or the wrong authSource: the driver
 * reports the server's "Authentication failed." for every mechanism. */
static void test_wrong_password(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  static const char *const cases[][2] = {
      {"alice:wrong", "authMechanism=SCRAM-SHA-256"},
      {"alice:wrong", "authMechanism=SCRAM-SHA-1"},
      {"alice:wrong", NULL},
      {"alice:wrong", "authMechanism=PLAIN"},
      {"bob:s3cret", NULL},
      {ALICE, "authSource=test"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mongoc_client_t *client = client_with(cases[i][0], cases[i][1]);
    bson_error_t error;
    assert_false(ping(client, &error));
    if (!strstr(error.message, "Authentication failed"))
      fail_msg("case %zu: %s", i, error.message);
    mongoc_client_destroy(client);
  }
}

/* The server's own answer to a failed conversation: 18
 * AuthenticationFailed, on a connection that has no credentials. */
static void test_auth_failed_code(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  mongoc_client_t *client = client_with(NULL, NULL);
  bson_t reply;
  bson_error_t error;
  /* PLAIN with a wrong password. */
  static const char plain[] = "\0alice\0wrong";
  bson_t *cmd = BCON_NEW(
      "saslStart", BCON_INT32(1), "mechanism", BCON_UTF8("PLAIN"), "payload",
      BCON_BIN(BSON_SUBTYPE_BINARY, (const uint8_t *)plain, sizeof plain - 1));
  assert_false(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  assert_int_equal(error.code, 18);
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, &reply, "codeName"));
  assert_string_equal(bson_iter_utf8(&it, NULL), "AuthenticationFailed");
  bson_destroy(&reply);
  bson_destroy(cmd);
  /* SCRAM for a user that does not exist. */
  static const char first[] = "n,,n=nobody,r=abcdefghijklmnop";
  cmd = BCON_NEW(
      "saslStart", BCON_INT32(1), "mechanism", BCON_UTF8("SCRAM-SHA-256"),
      "payload",
      BCON_BIN(BSON_SUBTYPE_BINARY, (const uint8_t *)first, sizeof first - 1));
  assert_false(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  assert_int_equal(error.code, 18);
  bson_destroy(&reply);
  bson_destroy(cmd);
  /* A mechanism the server does not offer. */
  cmd = BCON_NEW("saslStart", BCON_INT32(1), "mechanism", BCON_UTF8("GSSAPI"),
                 "payload",
                 BCON_BIN(BSON_SUBTYPE_BINARY, (const uint8_t *)"", 0));
  assert_false(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  assert_int_equal(error.code, 334);
  bson_destroy(&reply);
  bson_destroy(cmd);
  /* saslContinue without a conversation. */
  cmd = BCON_NEW("saslContinue", BCON_INT32(1), "conversationId", BCON_INT32(1),
                 "payload",
                 BCON_BIN(BSON_SUBTYPE_BINARY, (const uint8_t *)"", 0));
  assert_false(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  /* (libmongoc reports code 17 as 59, a legacy mapping: the reply has
   * the server's own.) */
  assert_true(bson_iter_init_find(&it, &reply, "code"));
  assert_int_equal(bson_iter_int32(&it), 17);
  bson_destroy(&reply);
  bson_destroy(cmd);
  mongoc_client_destroy(client);
}

/* No credentials: the handshake and ping work; anything else is 13
 * Unauthorized. saslSupportedMechs answers for a known user only. */
static void test_unauthenticated(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  mongoc_client_t *client = client_with(NULL, NULL);
  bson_t reply;
  bson_error_t error;
  assert_true(ping(client, &error));

  bson_t *cmd = BCON_NEW("hello", BCON_INT32(1), "saslSupportedMechs",
                         BCON_UTF8("admin.alice"));
  assert_true(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  bson_iter_t it, arr;
  assert_true(bson_iter_init_find(&it, &reply, "saslSupportedMechs"));
  assert_true(bson_iter_recurse(&it, &arr));
  int n = 0;
  bool sha256 = false;
  while (bson_iter_next(&arr)) {
    n++;
    sha256 = sha256 || !strcmp(bson_iter_utf8(&arr, NULL), "SCRAM-SHA-256");
  }
  assert_int_equal(n, 2);
  assert_true(sha256);
  bson_destroy(&reply);
  bson_destroy(cmd);
  cmd = BCON_NEW("hello", BCON_INT32(1), "saslSupportedMechs",
                 BCON_UTF8("admin.nobody"));
  assert_true(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  assert_false(bson_iter_init_find(&it, &reply, "saslSupportedMechs"));
  bson_destroy(&reply);
  bson_destroy(cmd);

  mongoc_collection_t *c = mongoc_client_get_collection(client, "auth", "x");
  bson_t *doc = BCON_NEW("_id", BCON_INT32(1));
  assert_false(mongoc_collection_insert_one(c, doc, NULL, NULL, &error));
  assert_int_equal(error.code, 13);
  bson_destroy(doc);
  mongoc_collection_destroy(c);
  cmd = BCON_NEW("find", BCON_UTF8("x"));
  assert_false(
      mongoc_client_command_simple(client, "auth", cmd, NULL, &reply, &error));
  assert_int_equal(error.code, 13);
  assert_true(bson_iter_init_find(&it, &reply, "codeName"));
  assert_string_equal(bson_iter_utf8(&it, NULL), "Unauthorized");
  bson_destroy(&reply);
  bson_destroy(cmd);

  cmd = BCON_NEW("listDatabases", BCON_INT32(1));
  assert_false(
      mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error));
  assert_int_equal(error.code, 13);
  bson_destroy(&reply);
  bson_destroy(cmd);
  mongoc_client_destroy(client);
}

/* A bad --user is refused with exit 2. */
static void test_bad_user_option(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  static const char *const bad[] = {"nopassword", ":pw", "a:\tb"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *args[] = {"--user", bad[i], NULL};
    test_server_t s;
    fprintf(stderr, "expected: a refusal of --user %s\n", bad[i]);
    assert_false(test_server_spawn(args, &s));
  }
}

int main(void)
{
  mongoc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scram_sha_256),
      cmocka_unit_test(test_scram_sha_1),
      cmocka_unit_test(test_default_mechanism),
      cmocka_unit_test(test_plain),
      cmocka_unit_test(test_wrong_password),
      cmocka_unit_test(test_auth_failed_code),
      cmocka_unit_test(test_unauthenticated),
      cmocka_unit_test(test_bad_user_option),
  };
  int failed = cmocka_run_group_tests_name("server_auth", tests, setup_all,
                                           teardown_all);
  mongoc_cleanup();
  return failed;
}
