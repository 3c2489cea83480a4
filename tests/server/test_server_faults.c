/* mongo-test-server's fault switches and command line, on private servers
 * started with test_server_spawn(): connections dropped before or after an
 * insert is applied, injected error codes with their labels, every-N
 * faults, reply delays, exit codes and a clean stop on SIGTERM. Fault
 * switches exist only in the test server: everything here is skipped when
 * MONGODB_URI points at a real one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_server.h"

/* An empty filter for count_documents. */
static bson_t match_all = BSON_INITIALIZER;

/* Skips the test when running against a real server. */
#define SKIP_IF_EXTERNAL()                                                     \
  do {                                                                         \
    if (test_server_external()) {                                              \
      fprintf(stderr, "skipped: MONGODB_URI is set and fault switches exist "  \
                      "only in mongo-test-server\n");                          \
      skip();                                                                  \
    }                                                                          \
  } while (0)

/* A client on server with retryable writes off: what the loader sees. */
static mongoc_client_t *client_on(const test_server_t *server)
{
  char uri[128];
  snprintf(uri, sizeof uri, "%s?retryWrites=false&appname=faults", server->uri);
  mongoc_client_t *client = mongoc_client_new(uri);
  assert_non_null(client);
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  return client;
}

/* Starts a private server with one or two --fault switches (spec2 may be
 * NULL). */
static void spawn_with(const char *spec, const char *spec2,
                       test_server_t *server)
{
  const char *args[] = {"--fault", spec, spec2 ? "--fault" : NULL, spec2, NULL};
  assert_true(test_server_spawn(args, server));
}

/* Inserts ten documents {_id: base + i} in one insert command. */
static bool insert_ten(mongoc_client_t *client, int base, bson_t *reply,
                       bson_error_t *error)
{
  mongoc_collection_t *c = mongoc_client_get_collection(client, "f", "c");
  bson_t *docs[10];
  for (int i = 0; i < 10; i++)
    docs[i] = BCON_NEW("_id", BCON_INT32(base + i));
  bool ok = mongoc_collection_insert_many(c, (const bson_t **)docs, 10, NULL,
                                          reply, error);
  for (int i = 0; i < 10; i++)
    bson_destroy(docs[i]);
  mongoc_collection_destroy(c);
  return ok;
}

/* Counts the documents, on a fresh client. */
static int64_t count_on(const test_server_t *server)
{
  mongoc_client_t *client = client_on(server);
  mongoc_collection_t *c = mongoc_client_get_collection(client, "f", "c");
  bson_error_t error;
  int64_t n = mongoc_collection_count_documents(c, &match_all, NULL, NULL, NULL,
                                                &error);
  if (n < 0)
    fail_msg("count: %s", error.message);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);
  return n;
}

static void test_drop_before_apply(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  spawn_with("drop-before-apply:2", NULL, &server);
  mongoc_client_t *client = client_on(&server);
  bson_error_t error;
  assert_true(insert_ten(client, 0, NULL, &error));
  assert_false(insert_ten(client, 100, NULL, &error));
  assert_int_equal(error.domain, MONGOC_ERROR_STREAM);
  mongoc_client_destroy(client);
  assert_int_equal(count_on(&server), 10); /* the second never landed */
  test_server_stop(&server);
}

static void test_drop_after_apply(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  spawn_with("drop-after-apply:1", NULL, &server);
  mongoc_client_t *client = client_on(&server);
  bson_error_t error;
  assert_false(insert_ten(client, 0, NULL, &error));
  assert_int_equal(error.domain, MONGOC_ERROR_STREAM);
  mongoc_client_destroy(client);
  assert_int_equal(count_on(&server), 10); /* it landed all the same */
  test_server_stop(&server);
}

static void test_error_code_and_label(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  spawn_with("error:1:91", NULL, &server);
  mongoc_client_t *client = client_on(&server);
  bson_error_t error;
  bson_t reply;
  assert_false(insert_ten(client, 0, &reply, &error));
  assert_int_equal(error.code, 91);
  bson_iter_t it, labels;
  assert_true(bson_iter_init_find(&it, &reply, "errorLabels"));
  assert_true(bson_iter_recurse(&it, &labels) && bson_iter_next(&labels));
  assert_string_equal(bson_iter_utf8(&labels, NULL), "RetryableWriteError");
  bson_destroy(&reply);
  /* Only the first insert fails; nothing of it was applied. */
  assert_true(insert_ten(client, 100, NULL, &error));
  mongoc_client_destroy(client);
  assert_int_equal(count_on(&server), 10);
  test_server_stop(&server);
}

static void test_every_n(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  spawn_with("error:every:2:189", "drop-before-apply:every:5", &server);
  mongoc_client_t *client = client_on(&server);
  bson_error_t error;
  int failed = 0;
  for (int i = 0; i < 6; i++) {
    if (!insert_ten(client, i * 100, NULL, &error)) {
      failed++;
      /* Inserts 2, 4, 6 get code 189; insert 5 loses its connection. */
      if (i == 4)
        assert_int_equal(error.domain, MONGOC_ERROR_STREAM);
      else
        assert_int_equal(error.code, 189);
      assert_true(i % 2 == 1 || i == 4);
    }
  }
  assert_int_equal(failed, 4);
  mongoc_client_destroy(client);
  assert_int_equal(count_on(&server), 20); /* inserts 1 and 3 */
  test_server_stop(&server);
}

static void test_delay(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  const char *args[] = {"--delay-ms", "150", NULL};
  assert_true(test_server_spawn(args, &server));
  mongoc_client_t *client = client_on(&server);
  bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
  bson_error_t error;
  assert_true(
      mongoc_client_command_simple(client, "admin", ping, NULL, NULL, &error));
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_true(
      mongoc_client_command_simple(client, "admin", ping, NULL, NULL, &error));
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  assert_true(ms >= 140); /* a lower bound only: never flaky */
  bson_destroy(ping);
  mongoc_client_destroy(client);
  test_server_stop(&server);
}

/* Milliseconds since a. */
static long ms_since(const struct timespec *a)
{
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* One of the parallel clients of test_delay_every_reply. */
typedef struct {
  mongoc_client_t *client; /* its own client, handshake done */
  bool ok;                 /* both pings succeeded */
} pinger_t;

/* Sends two pings. */
static void *pinger_main(void *arg)
{
  pinger_t *p = arg;
  bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
  p->ok = true;
  for (int i = 0; i < 2; i++)
    p->ok = p->ok && mongoc_client_command_simple(p->client, "admin", ping,
                                                  NULL, NULL, NULL);
  bson_destroy(ping);
  return NULL;
}

/* --delay-ms delays every reply once: the handshake's as well as the
 * command's, each getMore, and never by holding a lock that would make
 * other connections wait their turn. */
static void test_delay_every_reply(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  enum { DELAY = 150, CLIENTS = 8 };
  test_server_t server;
  const char *args[] = {"--delay-ms", "150", NULL};
  assert_true(test_server_spawn(args, &server));

  /* A new client's first command: hello, then the command. */
  struct timespec a;
  clock_gettime(CLOCK_MONOTONIC, &a);
  mongoc_client_t *client = client_on(&server);
  assert_true(insert_ten(client, 0, NULL, NULL));
  assert_true(ms_since(&a) >= 2 * DELAY - 10);

  /* find + 4 getMores (batches of 2 over 10 documents): 5 replies. */
  mongoc_collection_t *c = mongoc_client_get_collection(client, "f", "c");
  bson_t *opts = BCON_NEW("batchSize", BCON_INT32(2));
  clock_gettime(CLOCK_MONOTONIC, &a);
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, &match_all, opts, NULL);
  const bson_t *doc;
  int n = 0;
  while (mongoc_cursor_next(cur, &doc))
    n++;
  long took = ms_since(&a);
  assert_int_equal(n, 10);
  assert_true(took >= 5 * DELAY - 10);
  assert_true(took < 7 * DELAY); /* once per reply, not twice */
  mongoc_cursor_destroy(cur);
  bson_destroy(opts);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);

  /* Eight clients, two pings each, at once: about two delays in all, far
   * below the sixteen a serialized server would take. */
  pinger_t p[CLIENTS];
  pthread_t tid[CLIENTS];
  bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
  for (int i = 0; i < CLIENTS; i++) {
    p[i].client = client_on(&server);
    assert_true(mongoc_client_command_simple(p[i].client, "admin", ping, NULL,
                                             NULL, NULL));
  }
  bson_destroy(ping);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < CLIENTS; i++)
    assert_int_equal(pthread_create(&tid[i], NULL, pinger_main, &p[i]), 0);
  for (int i = 0; i < CLIENTS; i++)
    pthread_join(tid[i], NULL);
  took = ms_since(&a);
  fprintf(stderr, "%d clients x 2 pings at %d ms a reply: %ld ms\n", CLIENTS,
          DELAY, took);
  assert_true(took >= 2 * DELAY - 10);
  assert_true(took < CLIENTS * DELAY);
  for (int i = 0; i < CLIENTS; i++) {
    assert_true(p[i].ok);
    mongoc_client_destroy(p[i].client);
  }
  test_server_stop(&server);
}

static void test_command_line(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  assert_non_null(getenv("LOADER_TEST_SERVER_BIN"));
  const char *help[] = {"--help", NULL};
  const char *bad_opt[] = {"--no-such-option", NULL};
  const char *bad_port[] = {"--port", "70000", NULL};
  const char *public[] = {"--bind", "0.0.0.0", NULL};
  const char *bad_fault[] = {"--fault", "drop-sometimes:3", NULL};
  const char *bad_code[] = {"--fault", "error:1", NULL};
  assert_int_equal(test_server_run(help), 0);
  assert_int_equal(test_server_run(bad_opt), 2);
  assert_int_equal(test_server_run(bad_port), 2);
  assert_int_equal(test_server_run(public), 2);
  assert_int_equal(test_server_run(bad_fault), 2);
  assert_int_equal(test_server_run(bad_code), 2);

  /* SIGTERM with a client connected: a clean exit 0. */
  test_server_t server;
  assert_true(test_server_spawn(NULL, &server));
  mongoc_client_t *client = client_on(&server);
  bson_error_t error;
  assert_true(insert_ten(client, 0, NULL, &error));
  kill(server.pid, SIGTERM);
  int status;
  assert_int_equal(waitpid(server.pid, &status, 0), server.pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  server.pid = 0;
  mongoc_client_destroy(client);
}

int main(void)
{
  mongoc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drop_before_apply),
      cmocka_unit_test(test_drop_after_apply),
      cmocka_unit_test(test_error_code_and_label),
      cmocka_unit_test(test_every_n),
      cmocka_unit_test(test_delay),
      cmocka_unit_test(test_delay_every_reply),
      cmocka_unit_test(test_command_line),
  };
  int failed = cmocka_run_group_tests_name("server_faults", tests, NULL, NULL);
  mongoc_cleanup();
  return failed;
}
