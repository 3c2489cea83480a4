/* mongo-test-server as a cluster, through libmongoc 1.23, on private
 * servers: --repl-set (a one-member replica set's primary: replicaSet= URIs,
 * w=majority, writeConcernError 100 for w: 2, retryable writes answered
 * once), --router (several mongos in one seed list share the inserts), the
 * wc-error and not-primary faults, and the writeConcern checks of a
 * standalone server. Everything here needs the test server's switches and
 * is skipped when MONGODB_URI points at a real server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

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
      fprintf(stderr, "skipped: MONGODB_URI is set and --repl-set, --router "  \
                      "and faults exist only in mongo-test-server\n");         \
      skip();                                                                  \
    }                                                                          \
  } while (0)

/* A client on URI built from fmt (error API 2). */
static mongoc_client_t *client_for(const char *fmt, ...)
{
  char uri[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(uri, sizeof uri, fmt, ap);
  va_end(ap);
  mongoc_client_t *client = mongoc_client_new(uri);
  assert_non_null(client);
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  return client;
}

/* A client connected to server alone (directConnection). */
static mongoc_client_t *direct_client(const test_server_t *server)
{
  return client_for("mongodb://127.0.0.1:%d/?directConnection=true",
                    server->port);
}

/* The servers a test started and has not stopped, so that a failed
 * assertion (which leaves the test at once) leaves none running. */
static test_server_t live[8];

/* Starts a private server with the NULL-terminated arguments. */
static void spawn(const char *const *args, test_server_t *server)
{
  assert_true(test_server_spawn(args, server));
  for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
    if (!live[i].pid) {
      live[i] = *server;
      return;
    }
  }
  fail_msg("too many servers");
}

/* Stops a server spawn() started. */
static void stop(test_server_t *server)
{
  for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
    if (live[i].pid == server->pid)
      live[i].pid = 0;
  test_server_stop(server);
}

/* Stops what a test left running. */
static int teardown(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
    if (live[i].pid)
      test_server_stop(&live[i]);
  return 0;
}

/* Inserts documents {_id: base + i} (i < n) into db.c in one bulk
 * operation with write concern wc (NULL: the client's); returns what
 * mongoc_bulk_operation_execute returned. reply is always initialised. */
static uint32_t bulk_insert(mongoc_client_t *client, const char *db, int base,
                            int n, const mongoc_write_concern_t *wc,
                            bson_t *reply, bson_error_t *error)
{
  mongoc_collection_t *c = mongoc_client_get_collection(client, db, "c");
  bson_t opts = BSON_INITIALIZER;
  if (wc)
    assert_true(
        mongoc_write_concern_append((mongoc_write_concern_t *)wc, &opts));
  mongoc_bulk_operation_t *b =
      mongoc_collection_create_bulk_operation_with_opts(c, &opts);
  for (int i = 0; i < n; i++) {
    bson_t *doc = BCON_NEW("_id", BCON_INT32(base + i), "v", BCON_INT32(i));
    mongoc_bulk_operation_insert(b, doc);
    bson_destroy(doc);
  }
  uint32_t r = mongoc_bulk_operation_execute(b, reply, error);
  mongoc_bulk_operation_destroy(b);
  bson_destroy(&opts);
  mongoc_collection_destroy(c);
  return r;
}

/* Counts db.c's documents through client. */
static int64_t count_in(mongoc_client_t *client, const char *db)
{
  mongoc_collection_t *c = mongoc_client_get_collection(client, db, "c");
  bson_error_t error;
  int64_t n = mongoc_collection_count_documents(c, &match_all, NULL, NULL, NULL,
                                                &error);
  if (n < 0)
    fail_msg("count: %s", error.message);
  mongoc_collection_destroy(c);
  return n;
}

/* Counts db.c's documents on server alone. */
static int64_t count_on(const test_server_t *server, const char *db)
{
  mongoc_client_t *client = direct_client(server);
  int64_t n = count_in(client, db);
  mongoc_client_destroy(client);
  return n;
}

/* The integer at dotted path in doc; fails the test when absent. */
static int64_t int_at(const bson_t *doc, const char *path)
{
  bson_iter_t it, f;
  if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &f))
    fail_msg("no %s in the reply", path);
  return bson_iter_as_int64(&f);
}

/* The string at dotted path in doc, or NULL. */
static const char *str_at(const bson_t *doc, const char *path)
{
  bson_iter_t it, f;
  if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &f) ||
      !BSON_ITER_HOLDS_UTF8(&f))
    return NULL;
  return bson_iter_utf8(&f, NULL);
}

/* Checks what libmongoc made of an insert of n documents answered with a
 * writeConcernError: the error, the documents applied, and the error's
 * code, codeName and errmsg as mongod writes them. */
static void assert_wc_error(const bson_t *reply, const bson_error_t *error,
                            int64_t n, int code, const char *name,
                            const char *msg)
{
  assert_int_equal(error->domain, MONGOC_ERROR_WRITE_CONCERN);
  assert_int_equal(error->code, code);
  assert_int_equal(int_at(reply, "nInserted"), n);
  assert_int_equal(int_at(reply, "writeConcernErrors.0.code"), code);
  assert_string_equal(str_at(reply, "writeConcernErrors.0.codeName"), name);
  assert_string_equal(str_at(reply, "writeConcernErrors.0.errmsg"), msg);
}

/* True when doc has a field at dotted path. */
static bool has(const bson_t *doc, const char *path)
{
  bson_iter_t it, f;
  return bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &f);
}

/* True when doc's errorLabels holds label. */
static bool has_label(const bson_t *doc, const char *label)
{
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, doc, "errorLabels") ||
      !bson_iter_recurse(&it, &arr))
    return false;
  while (bson_iter_next(&arr))
    if (BSON_ITER_HOLDS_UTF8(&arr) &&
        !strcmp(bson_iter_utf8(&arr, NULL), label))
      return true;
  return false;
}

/* Runs {name: 1} on admin through client into *reply. */
static void admin_command(mongoc_client_t *client, const char *name,
                          bson_t *reply)
{
  bson_t *cmd = BCON_NEW(name, BCON_INT32(1));
  bson_error_t error;
  if (!mongoc_client_command_simple(client, "admin", cmd, NULL, reply, &error))
    fail_msg("%s: %s", name, error.message);
  bson_destroy(cmd);
}

/* serverStatus of server alone. */
static void status_of(const test_server_t *server, bson_t *reply)
{
  mongoc_client_t *client = direct_client(server);
  admin_command(client, "serverStatus", reply);
  mongoc_client_destroy(client);
}

/* The type libmongoc gives the server it selects for a write. */
static void assert_selected_type(mongoc_client_t *client, const char *type)
{
  bson_error_t error;
  mongoc_server_description_t *sd =
      mongoc_client_select_server(client, true, NULL, &error);
  if (!sd)
    fail_msg("server selection: %s", error.message);
  assert_string_equal(mongoc_server_description_type(sd), type);
  mongoc_server_description_destroy(sd);
}

static void test_repl_set_majority(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  const char *args[] = {"--repl-set", "rs0", NULL};
  spawn(args, &server);
  char me[64];
  snprintf(me, sizeof me, "127.0.0.1:%d", server.port);

  /* A replicaSet= URI finds the set and selects its primary. */
  mongoc_client_t *client =
      client_for("mongodb://127.0.0.1:%d/?replicaSet=rs0&w=majority&"
                 "serverSelectionTimeoutMS=5000",
                 server.port);
  assert_selected_type(client, "RSPrimary");

  /* hello as mongod 6.0's primary of a one-member set. */
  bson_t hello;
  admin_command(client, "hello", &hello);
  assert_string_equal(str_at(&hello, "setName"), "rs0");
  assert_string_equal(str_at(&hello, "hosts.0"), me);
  assert_false(has(&hello, "hosts.1"));
  assert_string_equal(str_at(&hello, "primary"), me);
  assert_string_equal(str_at(&hello, "me"), me);
  assert_int_equal(int_at(&hello, "setVersion"), 1);
  assert_int_equal(int_at(&hello, "topologyVersion.counter"), 0);
  assert_true(has(&hello, "topologyVersion.processId"));
  assert_true(has(&hello, "electionId"));
  assert_true(has(&hello, "lastWrite.opTime.ts"));
  assert_true(has(&hello, "lastWrite.majorityWriteDate"));
  assert_true(has(&hello, "$clusterTime.clusterTime"));
  assert_true(has(&hello, "operationTime"));
  assert_int_equal(int_at(&hello, "logicalSessionTimeoutMinutes"), 30);
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, &hello, "isWritablePrimary") &&
              bson_iter_as_bool(&it));
  assert_true(bson_iter_init_find(&it, &hello, "secondary") &&
              !bson_iter_as_bool(&it));
  assert_false(has(&hello, "msg"));
  bson_destroy(&hello);

  /* w=majority from the URI: applied, acknowledged, read back. */
  bson_t reply;
  bson_error_t error;
  if (!bulk_insert(client, "rs", 0, 100, NULL, &reply, &error))
    fail_msg("w=majority insert: %s", error.message);
  assert_int_equal(int_at(&reply, "nInserted"), 100);
  assert_false(has(&reply, "writeConcernErrors.0"));
  bson_destroy(&reply);
  mongoc_write_concern_t *wc = mongoc_write_concern_new();
  mongoc_write_concern_set_w(wc, 1);
  mongoc_write_concern_set_journal(wc, true);
  mongoc_write_concern_set_wtimeout_int64(wc, 5000);
  if (!bulk_insert(client, "rs", 100, 10, wc, &reply, &error))
    fail_msg("w: 1, j: true insert: %s", error.message);
  bson_destroy(&reply);
  mongoc_write_concern_destroy(wc);
  assert_int_equal(count_in(client, "rs"), 110);
  mongoc_collection_t *c = mongoc_client_get_collection(client, "rs", "c");
  bson_t *filter = BCON_NEW("_id", BCON_INT32(42));
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cur, &doc));
  assert_int_equal(int_at(doc, "v"), 42);
  assert_false(mongoc_cursor_next(cur, &doc));
  mongoc_cursor_destroy(cur);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);

  /* A pooled client streams hello (topologyVersion): it still works, and
   * SIGTERM ends the server quickly while a monitor's hello waits (the
   * short serverSelectionTimeoutMS: the pool's endSessions at the end
   * finds no server). */
  char text[128];
  snprintf(text, sizeof text,
           "mongodb://127.0.0.1:%d/?replicaSet=rs0&"
           "serverSelectionTimeoutMS=300",
           server.port);
  mongoc_uri_t *uri = mongoc_uri_new(text);
  mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  client = mongoc_client_pool_pop(pool);
  assert_int_equal(count_in(client, "rs"), 110);
  usleep(500 * 1000);
  /* The monitor's awaitable hello waits (maxAwaitTimeMS): a handful of
   * commands so far, not a hello loop. */
  bson_t status;
  status_of(&server, &status);
  assert_true(int_at(&status, "opcounters.command") < 40);
  bson_destroy(&status);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  stop(&server);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  assert_true(ms < 3000);
  mongoc_client_pool_push(pool, client);
  mongoc_client_pool_destroy(pool);
  mongoc_uri_destroy(uri);
}

static void test_repl_set_unsatisfiable_w(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  const char *args[] = {"--repl-set", "rs0", NULL};
  spawn(args, &server);
  mongoc_client_t *client =
      client_for("mongodb://127.0.0.1:%d/?replicaSet=rs0", server.port);
  mongoc_write_concern_t *wc = mongoc_write_concern_new();
  mongoc_write_concern_set_w(wc, 2);
  bson_t reply;
  bson_error_t error;

  /* w: 2 on one member: applied, and writeConcernError 100. */
  assert_int_equal(bulk_insert(client, "rs", 0, 10, wc, &reply, &error), 0);
  assert_wc_error(&reply, &error, 10, 100, "UnsatisfiableWriteConcern",
                  "Not enough data-bearing nodes");
  assert_int_equal(
      int_at(&reply, "writeConcernErrors.0.errInfo.writeConcern.w"), 2);
  assert_string_equal(
      str_at(&reply, "writeConcernErrors.0.errInfo.writeConcern.provenance"),
      "clientSupplied");
  assert_false(has(&reply, "writeErrors.0"));
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "rs"), 10);
  mongoc_client_destroy(client);
  stop(&server);

  /* A standalone server refuses w: 2 before running it (BadValue), as
   * mongod does; w: "majority" is fine there. */
  spawn(NULL, &server);
  client = client_for("mongodb://127.0.0.1:%d/", server.port);
  assert_int_equal(bulk_insert(client, "sa", 0, 10, wc, &reply, &error), 0);
  assert_int_equal(error.domain, MONGOC_ERROR_SERVER);
  assert_int_equal(error.code, 2);
  assert_int_equal(int_at(&reply, "nInserted"), 0);
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "sa"), 0);
  mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
  if (!bulk_insert(client, "sa", 0, 10, wc, &reply, &error))
    fail_msg("w: majority on a standalone: %s", error.message);
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "sa"), 10);
  mongoc_write_concern_destroy(wc);
  mongoc_client_destroy(client);
  stop(&server);
}

/* Runs insert {documents: ten without _id, lsid: {id: uuid}, txnNumber}
 * on rs.c and returns the reply with $clusterTime and operationTime left
 * out (they move with every write). */
static bool insert_with_txn(mongoc_client_t *client, const uint8_t uuid[16],
                            int64_t txn, bson_t *out, bson_error_t *error)
{
  bson_t *cmd = BCON_NEW("insert", BCON_UTF8("c"), "lsid", "{", "id",
                         BCON_BIN(BSON_SUBTYPE_UUID, uuid, 16), "}",
                         "txnNumber", BCON_INT64(txn));
  bson_t docs;
  BSON_APPEND_ARRAY_BEGIN(cmd, "documents", &docs);
  for (int i = 0; i < 10; i++) {
    char key[4];
    snprintf(key, sizeof key, "%d", i);
    bson_t *d = BCON_NEW("v", BCON_INT32(i));
    BSON_APPEND_DOCUMENT(&docs, key, d);
    bson_destroy(d);
  }
  bson_append_array_end(cmd, &docs);
  bson_t reply;
  bool ok =
      mongoc_client_command_simple(client, "rs", cmd, NULL, &reply, error);
  bson_init(out);
  bson_copy_to_excluding_noinit(&reply, out, "$clusterTime", "operationTime",
                                NULL);
  bson_destroy(&reply);
  bson_destroy(cmd);
  return ok;
}

static void test_retryable_write_applied_once(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  const char *args[] = {"--repl-set", "rs0", NULL};
  spawn(args, &server);
  mongoc_client_t *client =
      client_for("mongodb://127.0.0.1:%d/?replicaSet=rs0", server.port);
  static const uint8_t uuid[16] = {0x5e, 0x55, 0x10, 0x4e, 1, 2,  3,  4,
                                   5,    6,    7,    8,    9, 10, 11, 12};
  bson_t first, second, third;
  bson_error_t error;

  /* The same (lsid, txnNumber) twice, as a retry after a lost reply: the
   * documents (no _id: a second run would add ten more) land once and the
   * second reply is the first. */
  if (!insert_with_txn(client, uuid, 7, &first, &error))
    fail_msg("first: %s", error.message);
  assert_int_equal(int_at(&first, "n"), 10);
  if (!insert_with_txn(client, uuid, 7, &second, &error))
    fail_msg("retry: %s", error.message);
  assert_true(bson_equal(&first, &second));
  assert_int_equal(count_in(client, "rs"), 10);
  bson_t status;
  status_of(&server, &status);
  assert_int_equal(int_at(&status, "metrics.commands.insert.total"), 2);
  assert_int_equal(int_at(&status, "opcounters.insert"), 10);
  bson_destroy(&status);

  /* A new txnNumber runs; an older one is refused (225). */
  if (!insert_with_txn(client, uuid, 8, &third, &error))
    fail_msg("next txnNumber: %s", error.message);
  assert_int_equal(count_in(client, "rs"), 20);
  bson_destroy(&third);
  assert_false(insert_with_txn(client, uuid, 7, &third, &error));
  assert_int_equal(error.code, 225);
  bson_destroy(&third);
  assert_int_equal(count_in(client, "rs"), 20);

  /* libmongoc adds lsid and txnNumber itself on a replica set (retryWrites
   * is on by default): a reply lost after the insert was applied is
   * retried and answered from memory, so it lands once. */
  mongoc_client_destroy(client);
  stop(&server);
  const char *dropping[] = {"--repl-set", "rs0", "--fault",
                            "drop-after-apply:1", NULL};
  spawn(dropping, &server);
  client = client_for("mongodb://127.0.0.1:%d/?replicaSet=rs0", server.port);
  bson_t reply;
  if (!bulk_insert(client, "rs", 0, 10, NULL, &reply, &error))
    fail_msg("retried insert: %s", error.message);
  assert_int_equal(int_at(&reply, "nInserted"), 10);
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "rs"), 10);
  status_of(&server, &status);
  assert_int_equal(int_at(&status, "metrics.commands.insert.total"), 2);
  bson_destroy(&status);
  bson_destroy(&first);
  bson_destroy(&second);
  mongoc_client_destroy(client);
  stop(&server);

  /* A standalone server refuses a txnNumber (20 IllegalOperation). */
  spawn(NULL, &server);
  client = client_for("mongodb://127.0.0.1:%d/", server.port);
  assert_false(insert_with_txn(client, uuid, 1, &first, &error));
  assert_int_equal(error.code, 20);
  bson_destroy(&first);
  assert_int_equal(count_in(client, "rs"), 0);
  mongoc_client_destroy(client);
  stop(&server);
}

static void test_routers_share_inserts(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t r1, r2;
  const char *args[] = {"--router", NULL};
  spawn(args, &r1);
  spawn(args, &r2);
  /* localThresholdMS wide: both routers are always eligible. */
  mongoc_client_t *client =
      client_for("mongodb://127.0.0.1:%d,127.0.0.1:%d/?localThresholdMS=1000",
                 r1.port, r2.port);
  assert_selected_type(client, "Mongos");
  bson_t hello;
  admin_command(client, "hello", &hello);
  assert_string_equal(str_at(&hello, "msg"), "isdbgrid");
  assert_false(has(&hello, "setName"));
  assert_false(has(&hello, "hosts"));
  bson_destroy(&hello);

  /* 40 inserts of 25: libmongoc picks a router for each at random. */
  for (int i = 0; i < 40; i++) {
    bson_t reply;
    bson_error_t error;
    if (!bulk_insert(client, "routed", i * 25, 25, NULL, &reply, &error))
      fail_msg("insert %d: %s", i, error.message);
    bson_destroy(&reply);
  }
  mongoc_client_destroy(client);

  bson_t s1, s2;
  status_of(&r1, &s1);
  status_of(&r2, &s2);
  int64_t cmds1 = int_at(&s1, "metrics.commands.insert.total");
  int64_t cmds2 = int_at(&s2, "metrics.commands.insert.total");
  int64_t docs1 = int_at(&s1, "opcounters.insert");
  int64_t docs2 = int_at(&s2, "opcounters.insert");
  fprintf(stderr,
          "router 1: %lld inserts, %lld documents; router 2: %lld, "
          "%lld\n",
          (long long)cmds1, (long long)docs1, (long long)cmds2,
          (long long)docs2);
  assert_true(cmds1 > 0 && cmds2 > 0);
  assert_int_equal(cmds1 + cmds2, 40);
  assert_int_equal(docs1, cmds1 * 25);
  assert_int_equal(docs1 + docs2, 1000);
  assert_string_equal(str_at(&s1, "process"), "mongos");
  bson_destroy(&s1);
  bson_destroy(&s2);
  /* Each keeps its own documents; the sum is exact. */
  int64_t n1 = count_on(&r1, "routed"), n2 = count_on(&r2, "routed");
  assert_int_equal(n1, docs1);
  assert_int_equal(n1 + n2, 1000);
  stop(&r1);
  stop(&r2);
}

static void test_wc_error_fault(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  const char *args[] = {"--fault", "wc-error:1:64", "--fault",
                        "wc-error:every:3:100", NULL};
  spawn(args, &server);
  mongoc_client_t *client =
      client_for("mongodb://127.0.0.1:%d/?retryWrites=false", server.port);
  bson_t reply;
  bson_error_t error;

  /* Insert 1: applied, then WriteConcernFailed with errInfo.wtimeout. */
  assert_int_equal(bulk_insert(client, "wc", 0, 10, NULL, &reply, &error), 0);
  assert_wc_error(&reply, &error, 10, 64, "WriteConcernFailed",
                  "waiting for replication timed out");
  bson_iter_t it, f;
  assert_true(bson_iter_init(&it, &reply) &&
              bson_iter_find_descendant(
                  &it, "writeConcernErrors.0.errInfo.wtimeout", &f) &&
              bson_iter_as_bool(&f));
  assert_true(has(&reply, "writeConcernErrors.0.errInfo.writeConcern"));
  assert_false(has(&reply, "writeErrors.0"));
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "wc"), 10);

  /* Insert 2 is clean; insert 3 gets 100 UnsatisfiableWriteConcern. */
  assert_int_not_equal(bulk_insert(client, "wc", 100, 10, NULL, &reply, &error),
                       0);
  bson_destroy(&reply);
  assert_int_equal(bulk_insert(client, "wc", 200, 10, NULL, &reply, &error), 0);
  assert_wc_error(&reply, &error, 10, 100, "UnsatisfiableWriteConcern",
                  "Not enough data-bearing nodes");
  assert_false(has(&reply, "writeConcernErrors.0.errInfo.wtimeout"));
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "wc"), 30);
  mongoc_client_destroy(client);
  stop(&server);

  /* On a replica set, a retryable code (91) carries RetryableWriteError:
   * libmongoc retries with the same txnNumber and the insert, already
   * applied, is answered from memory: it lands once. */
  const char *rs_args[] = {"--repl-set", "rs0", "--fault", "wc-error:1:91",
                           NULL};
  spawn(rs_args, &server);
  client = client_for("mongodb://127.0.0.1:%d/?replicaSet=rs0", server.port);
  if (!bulk_insert(client, "wc", 0, 10, NULL, &reply, &error))
    fail_msg("retried after a retryable writeConcernError: %s", error.message);
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "wc"), 10);
  bson_t status;
  status_of(&server, &status);
  assert_int_equal(int_at(&status, "metrics.commands.insert.total"), 2);
  assert_int_equal(int_at(&status, "opcounters.insert"), 10);
  bson_destroy(&status);
  mongoc_client_destroy(client);
  stop(&server);
}

static void test_not_primary_fault(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  test_server_t server;
  const char *args[] = {"--repl-set", "rs0", "--fault", "not-primary:1", NULL};
  spawn(args, &server);

  /* Without retryable writes the client sees the error itself. */
  mongoc_client_t *client = client_for(
      "mongodb://127.0.0.1:%d/?replicaSet=rs0&retryWrites=false", server.port);
  bson_t reply;
  bson_error_t error;
  assert_int_equal(bulk_insert(client, "np", 0, 10, NULL, &reply, &error), 0);
  assert_int_equal(error.domain, MONGOC_ERROR_SERVER);
  assert_int_equal(error.code, 10107);
  assert_int_equal(int_at(&reply, "nInserted"), 0);
  assert_true(has_label(&reply, "RetryableWriteError"));
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "np"), 0); /* nothing applied */
  mongoc_client_destroy(client);
  stop(&server);

  /* With them (the default), libmongoc rediscovers the primary and
   * retries once: the insert lands once. */
  spawn(args, &server);
  client = client_for("mongodb://127.0.0.1:%d/?replicaSet=rs0", server.port);
  if (!bulk_insert(client, "np", 0, 10, NULL, &reply, &error))
    fail_msg("retried after NotWritablePrimary: %s", error.message);
  bson_destroy(&reply);
  assert_int_equal(count_in(client, "np"), 10);
  bson_t status;
  status_of(&server, &status);
  assert_int_equal(int_at(&status, "metrics.commands.insert.total"), 2);
  assert_int_equal(int_at(&status, "metrics.commands.insert.failed"), 1);
  bson_destroy(&status);
  mongoc_client_destroy(client);
  stop(&server);
}

static void test_command_line(void **state)
{
  (void)state;
  SKIP_IF_EXTERNAL();
  assert_non_null(getenv("LOADER_TEST_SERVER_BIN"));
  const char *both[] = {"--repl-set", "rs0", "--router", NULL};
  const char *empty_name[] = {"--repl-set", "", NULL};
  const char *no_code[] = {"--fault", "wc-error:1", NULL};
  const char *every_no_code[] = {"--fault", "wc-error:every:2", NULL};
  const char *np_code[] = {"--fault", "not-primary:1:5", NULL};
  const char *np_zero[] = {"--fault", "not-primary:0", NULL};
  assert_int_equal(test_server_run(both), 2);
  assert_int_equal(test_server_run(empty_name), 2);
  assert_int_equal(test_server_run(no_code), 2);
  assert_int_equal(test_server_run(every_no_code), 2);
  assert_int_equal(test_server_run(np_code), 2);
  assert_int_equal(test_server_run(np_zero), 2);
}

int main(void)
{
  mongoc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_repl_set_majority, teardown),
      cmocka_unit_test_teardown(test_repl_set_unsatisfiable_w, teardown),
      cmocka_unit_test_teardown(test_retryable_write_applied_once, teardown),
      cmocka_unit_test_teardown(test_routers_share_inserts, teardown),
      cmocka_unit_test_teardown(test_wc_error_fault, teardown),
      cmocka_unit_test_teardown(test_not_primary_fault, teardown),
      cmocka_unit_test_teardown(test_command_line, teardown),
  };
  int failed = cmocka_run_group_tests_name("server_cluster", tests, NULL, NULL);
  mongoc_cleanup();
  return failed;
}
