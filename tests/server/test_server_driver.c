/* mongo-test-server through the real driver (libmongoc): handshake, bulk
 * inserts, duplicate keys, counts, cursors, compression (zlib, zstd,
 * snappy, seen in serverStatus' counters), size limits,
 * concurrency and the CRUD a loader and its tests use. Runs against the
 * mongo_server fixture, or against $MONGODB_URI (a real mongod) when set;
 * checks that only the test server can pass are skipped there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_server.h"
#include "test_uri.h"

/* An empty filter: count_documents needs one. */
static bson_t match_all = BSON_INITIALIZER;

/* Per-test state: a client, and a database unique to this process. */
typedef struct {
  mongoc_client_t *client; /* connected client */
  char *uri;               /* the server's URI */
  char *db;                /* database the test may use; dropped after */
} fixture_t;

/* Connects a client to uri with extra URI options (may be NULL). */
static mongoc_client_t *client_for(const char *uri, const char *options)
{
  char *full = bson_strdup_printf("%s%s%s", uri, strchr(uri, '?') ? "&" : "?",
                                  options ? options : "appname=server-tests");
  bson_error_t error;
  mongoc_uri_t *u = mongoc_uri_new_with_error(full, &error);
  assert_non_null(u);
  mongoc_client_t *client = mongoc_client_new_from_uri(u);
  assert_non_null(client);
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  mongoc_uri_destroy(u);
  bson_free(full);
  return client;
}

static int setup(void **state)
{
  fixture_t *f = calloc(1, sizeof *f);
  f->uri = test_mongodb_uri();
  if (!f->uri) {
    free(f);
    return -1;
  }
  f->client = client_for(f->uri, NULL);
  f->db = test_db_name("srv");
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  mongoc_database_t *db = mongoc_client_get_database(f->client, f->db);
  mongoc_database_drop(db, NULL);
  mongoc_database_destroy(db);
  mongoc_client_destroy(f->client);
  free(f->uri);
  free(f->db);
  free(f);
  return 0;
}

/* The collection name of this test in the fixture's database. */
static mongoc_collection_t *coll(fixture_t *f, const char *name)
{
  return mongoc_client_get_collection(f->client, f->db, name);
}

/* Runs a command on db and returns whether it succeeded; reply is always
 * initialised. */
static bool run(fixture_t *f, const char *db, const bson_t *cmd, bson_t *reply,
                bson_error_t *error)
{
  return mongoc_client_command_simple(f->client, db, cmd, NULL, reply, error);
}

/* ---- handshake ---------------------------------------------------------- */

static void test_handshake(void **state)
{
  fixture_t *f = *state;
  bson_t reply;
  bson_error_t error;
  bson_iter_t it;
  bson_t *cmd = BCON_NEW("hello", BCON_INT32(1));
  assert_true(run(f, "admin", cmd, &reply, &error));
  assert_true(bson_iter_init_find(&it, &reply, "isWritablePrimary"));
  assert_true(bson_iter_as_bool(&it));
  assert_true(bson_iter_init_find(&it, &reply, "maxBsonObjectSize"));
  assert_int_equal(bson_iter_as_int64(&it), 16 * 1024 * 1024);
  assert_true(bson_iter_init_find(&it, &reply, "maxMessageSizeBytes"));
  assert_int_equal(bson_iter_as_int64(&it), 48000000);
  assert_true(bson_iter_init_find(&it, &reply, "maxWriteBatchSize"));
  assert_int_equal(bson_iter_as_int64(&it), 100000);
  assert_true(bson_iter_init_find(&it, &reply, "localTime"));
  assert_true(BSON_ITER_HOLDS_DATE_TIME(&it));
  assert_true(bson_iter_init_find(&it, &reply, "maxWireVersion"));
  assert_true(bson_iter_as_int64(&it) >= 13);
  assert_true(bson_iter_init_find(&it, &reply, "minWireVersion"));
  assert_true(bson_iter_init_find(&it, &reply, "connectionId"));
  assert_true(bson_iter_init_find(&it, &reply, "logicalSessionTimeoutMinutes"));
  assert_true(bson_iter_init_find(&it, &reply, "ok"));
  assert_true(bson_iter_as_double(&it) == 1.0);
  if (!test_server_external()) {
    assert_false(bson_iter_init_find(&it, &reply, "setName"));
    assert_false(bson_iter_init_find(&it, &reply, "msg"));
  }
  bson_destroy(&reply);
  bson_destroy(cmd);

  /* The legacy spelling answers with ismaster. */
  cmd = BCON_NEW("isMaster", BCON_INT32(1));
  assert_true(run(f, "admin", cmd, &reply, &error));
  assert_true(bson_iter_init_find(&it, &reply, "ismaster"));
  assert_true(bson_iter_as_bool(&it));
  bson_destroy(&reply);
  bson_destroy(cmd);

  /* The driver's own handshake (OP_QUERY isMaster) made it a standalone. */
  mongoc_server_description_t *sd =
      mongoc_client_select_server(f->client, true, NULL, &error);
  assert_non_null(sd);
  if (!test_server_external())
    assert_string_equal(mongoc_server_description_type(sd), "Standalone");
  mongoc_server_description_destroy(sd);

  cmd = BCON_NEW("ping", BCON_INT32(1));
  assert_true(run(f, "admin", cmd, &reply, &error));
  bson_destroy(&reply);
  bson_destroy(cmd);
  cmd = BCON_NEW("buildInfo", BCON_INT32(1));
  assert_true(run(f, "admin", cmd, &reply, &error));
  assert_true(bson_iter_init_find(&it, &reply, "version"));
  bson_destroy(&reply);
  bson_destroy(cmd);
}

static void test_unknown_command(void **state)
{
  fixture_t *f = *state;
  bson_t reply;
  bson_error_t error;
  bson_t *cmd = BCON_NEW("noSuchCommandHere", BCON_INT32(1));
  assert_false(run(f, f->db, cmd, &reply, &error));
  assert_int_equal(error.code, 59);
  assert_non_null(strstr(error.message, "noSuchCommandHere"));
  bson_destroy(&reply);
  bson_destroy(cmd);
}

/* ---- inserts ----------------------------------------------------------- */

/* Reads an int64 field of reply; -1 when absent. */
static int64_t field_int(const bson_t *reply, const char *path)
{
  bson_iter_t it, child;
  if (!bson_iter_init(&it, reply) ||
      !bson_iter_find_descendant(&it, path, &child))
    return -1;
  return bson_iter_as_int64(&child);
}

static void test_insert_many_100k(void **state)
{
  fixture_t *f = *state;
  enum { N = 100000 };
  bson_t **docs = calloc(N, sizeof *docs);
  for (int i = 0; i < N; i++)
    docs[i] = BCON_NEW("i", BCON_INT32(i), "name", BCON_UTF8("row"));
  mongoc_collection_t *c = coll(f, "many");
  bson_t reply;
  bson_error_t error;
  bool ok = mongoc_collection_insert_many(c, (const bson_t **)docs, N, NULL,
                                          &reply, &error);
  if (!ok)
    fail_msg("insert_many: %s", error.message);
  assert_int_equal(field_int(&reply, "insertedCount"), N);
  bson_destroy(&reply);
  assert_int_equal(mongoc_collection_count_documents(c, &match_all, NULL, NULL,
                                                     NULL, &error),
                   N);
  assert_int_equal(
      mongoc_collection_estimated_document_count(c, NULL, NULL, NULL, &error),
      N);
  /* Every document got an _id, and they are distinct. */
  bson_t *filter = BCON_NEW("i", BCON_INT32(N - 1));
  assert_int_equal(
      mongoc_collection_count_documents(c, filter, NULL, NULL, NULL, &error),
      1);
  bson_destroy(filter);
  for (int i = 0; i < N; i++)
    bson_destroy(docs[i]);
  free(docs);
  mongoc_collection_destroy(c);
}

/* Inserts documents {_id: ids[i]} with insert_many; returns the reply's
 * write errors' indexes in idx (up to max) and their count. */
static int insert_ids(mongoc_collection_t *c, const int *ids, int n,
                      bool ordered, int64_t *inserted, int *idx, int max,
                      bson_error_t *error)
{
  bson_t **docs = calloc((size_t)n, sizeof *docs);
  for (int i = 0; i < n; i++)
    docs[i] = BCON_NEW("_id", BCON_INT32(ids[i]), "v", BCON_INT32(i));
  bson_t *opts = BCON_NEW("ordered", BCON_BOOL(ordered));
  bson_t reply;
  mongoc_collection_insert_many(c, (const bson_t **)docs, (size_t)n, opts,
                                &reply, error);
  *inserted = field_int(&reply, "insertedCount");
  int nerr = 0;
  bson_iter_t it, errs;
  if (bson_iter_init_find(&it, &reply, "writeErrors") &&
      bson_iter_recurse(&it, &errs)) {
    while (bson_iter_next(&errs)) {
      bson_iter_t e;
      if (nerr < max && bson_iter_recurse(&errs, &e) &&
          bson_iter_find(&e, "index"))
        idx[nerr] = (int)bson_iter_as_int64(&e);
      bson_iter_recurse(&errs, &e);
      assert_true(bson_iter_find(&e, "code"));
      assert_int_equal(bson_iter_as_int64(&e), 11000);
      bson_iter_recurse(&errs, &e);
      assert_true(bson_iter_find(&e, "errmsg"));
      assert_non_null(strstr(bson_iter_utf8(&e, NULL), "E11000"));
      nerr++;
    }
  }
  bson_destroy(&reply);
  bson_destroy(opts);
  for (int i = 0; i < n; i++)
    bson_destroy(docs[i]);
  free(docs);
  return nerr;
}

static void test_duplicate_key_ordered(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "dup_ordered");
  const int ids[] = {0, 1, 2, 3, 4, 2, 6, 7};
  int idx[4];
  int64_t inserted;
  bson_error_t error;
  int nerr = insert_ids(c, ids, 8, true, &inserted, idx, 4, &error);
  assert_int_equal(nerr, 1);
  assert_int_equal(idx[0], 5);
  assert_int_equal(error.code, 11000);
  assert_int_equal(inserted, 5);
  assert_int_equal(mongoc_collection_count_documents(c, &match_all, NULL, NULL,
                                                     NULL, &error),
                   5);
  mongoc_collection_destroy(c);
}

static void test_duplicate_key_unordered(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "dup_unordered");
  const int ids[] = {0, 1, 2, 1, 4, 5, 6, 5, 8};
  int idx[4];
  int64_t inserted;
  bson_error_t error;
  int nerr = insert_ids(c, ids, 9, false, &inserted, idx, 4, &error);
  assert_int_equal(nerr, 2);
  assert_int_equal(idx[0], 3);
  assert_int_equal(idx[1], 7);
  assert_int_equal(inserted, 7);
  assert_int_equal(mongoc_collection_count_documents(c, &match_all, NULL, NULL,
                                                     NULL, &error),
                   7);
  mongoc_collection_destroy(c);
}

static void test_duplicate_key_numeric_types(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "dup_numeric");
  bson_error_t error;
  bson_t reply;
  bson_t *a = BCON_NEW("_id", BCON_INT32(1));
  bson_t *b = BCON_NEW("_id", BCON_INT64(1));
  bson_t *d = BCON_NEW("_id", BCON_DOUBLE(1.0));
  assert_true(mongoc_collection_insert_one(c, a, NULL, NULL, &error));
  assert_false(mongoc_collection_insert_one(c, b, NULL, &reply, &error));
  assert_int_equal(error.code, 11000);
  bson_destroy(&reply);
  assert_false(mongoc_collection_insert_one(c, d, NULL, &reply, &error));
  assert_int_equal(error.code, 11000);
  /* mongod's message shape and the key it names. */
  assert_non_null(strstr(error.message, "dup key"));
  bson_iter_t it;
  assert_true(bson_iter_init(&it, &reply));
  assert_true(
      bson_iter_find_descendant(&it, "writeErrors.0.keyValue._id", &it));
  bson_destroy(&reply);
  bson_destroy(a);
  bson_destroy(b);
  bson_destroy(d);
  mongoc_collection_destroy(c);
}

static void test_document_too_large(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "big");
  bson_error_t error;
  size_t max = 16 * 1024 * 1024;
  /* {_id: 1, b: <binary>} sized to exactly max + 1 bytes. */
  size_t overhead = 4 + (1 + 4 + 4) + (1 + 2 + 4 + 1) + 1;
  size_t blen = max + 1 - overhead;
  uint8_t *payload = calloc(1, blen);
  bson_t *doc = bson_new();
  BSON_APPEND_INT32(doc, "_id", 1);
  BSON_APPEND_BINARY(doc, "b", BSON_SUBTYPE_BINARY, payload, (uint32_t)blen);
  assert_int_equal(doc->len, max + 1);
  assert_false(mongoc_collection_insert_one(c, doc, NULL, NULL, &error));
  bson_destroy(doc);

  /* Exactly the limit is fine. */
  doc = bson_new();
  BSON_APPEND_INT32(doc, "_id", 2);
  BSON_APPEND_BINARY(doc, "b", BSON_SUBTYPE_BINARY, payload,
                     (uint32_t)(blen - 1));
  assert_int_equal(doc->len, max);
  if (!mongoc_collection_insert_one(c, doc, NULL, NULL, &error))
    fail_msg("16 MiB document refused: %s", error.message);
  bson_destroy(doc);
  free(payload);
  bson_t *filter = BCON_NEW("_id", BCON_INT32(1));
  assert_int_equal(
      mongoc_collection_count_documents(c, filter, NULL, NULL, NULL, &error),
      0);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
}

/* ---- reads -------------------------------------------------------------- */

/* APM callback counting getMore commands. */
static void count_get_more(const mongoc_apm_command_started_t *event)
{
  int *n = mongoc_apm_command_started_get_context(event);
  if (!strcmp(mongoc_apm_command_started_get_command_name(event), "getMore"))
    (*n)++;
}

static void test_find_get_more_10k(void **state)
{
  fixture_t *f = *state;
  enum { N = 10000 };
  mongoc_collection_t *c = coll(f, "cursor");
  bson_error_t error;
  bson_t **docs = calloc(N, sizeof *docs);
  for (int i = 0; i < N; i++)
    docs[i] = BCON_NEW("_id", BCON_INT32(i), "sq", BCON_INT64((int64_t)i * i));
  assert_true(mongoc_collection_insert_many(c, (const bson_t **)docs, N, NULL,
                                            NULL, &error));
  for (int i = 0; i < N; i++)
    bson_destroy(docs[i]);
  free(docs);

  int get_mores = 0;
  mongoc_apm_callbacks_t *cbs = mongoc_apm_callbacks_new();
  mongoc_apm_set_command_started_cb(cbs, count_get_more);
  mongoc_client_set_apm_callbacks(f->client, cbs, &get_mores);

  bson_t *filter = bson_new();
  bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}");
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, opts, NULL);
  const bson_t *doc;
  int expect = 0;
  while (mongoc_cursor_next(cur, &doc)) {
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, doc, "_id"));
    assert_int_equal(bson_iter_int32(&it), expect);
    assert_true(bson_iter_init_find(&it, doc, "sq"));
    assert_int_equal(bson_iter_int64(&it), (int64_t)expect * expect);
    expect++;
  }
  if (mongoc_cursor_error(cur, &error))
    fail_msg("cursor: %s", error.message);
  assert_int_equal(expect, N);
  assert_true(get_mores >= 1);
  mongoc_cursor_destroy(cur);
  bson_destroy(opts);

  /* Natural order is insertion order on the test server. */
  if (!test_server_external()) {
    cur = mongoc_collection_find_with_opts(c, filter, NULL, NULL);
    expect = 0;
    while (mongoc_cursor_next(cur, &doc)) {
      bson_iter_t it;
      assert_true(bson_iter_init_find(&it, doc, "_id"));
      assert_int_equal(bson_iter_int32(&it), expect++);
    }
    assert_false(mongoc_cursor_error(cur, &error));
    assert_int_equal(expect, N);
    mongoc_cursor_destroy(cur);
  }

  /* Small batches, a limit, a filter on a range and a projection. */
  bson_destroy(filter);
  filter = BCON_NEW("_id", "{", "$gte", BCON_INT32(100), "}");
  opts = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit",
                  BCON_INT64(250), "batchSize", BCON_INT32(7), "projection",
                  "{", "sq", BCON_INT32(0), "}");
  cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
  expect = N - 1;
  int seen = 0;
  while (mongoc_cursor_next(cur, &doc)) {
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, doc, "_id"));
    assert_int_equal(bson_iter_int32(&it), expect--);
    assert_false(bson_iter_init_find(&it, doc, "sq"));
    seen++;
  }
  assert_false(mongoc_cursor_error(cur, &error));
  assert_int_equal(seen, 250);
  mongoc_cursor_destroy(cur);
  bson_destroy(opts);
  bson_destroy(filter);
  mongoc_client_set_apm_callbacks(f->client, NULL, NULL);
  mongoc_apm_callbacks_destroy(cbs);
  mongoc_collection_destroy(c);
}

static void test_count_and_filters(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "counting");
  bson_error_t error;
  enum { N = 1000 };
  bson_t **docs = calloc(N, sizeof *docs);
  for (int i = 0; i < N; i++)
    docs[i] = BCON_NEW("k", BCON_INT32(i % 10), "sub", "{", "tag",
                       BCON_UTF8(i % 2 ? "odd" : "even"), "}");
  assert_true(mongoc_collection_insert_many(c, (const bson_t **)docs, N, NULL,
                                            NULL, &error));
  for (int i = 0; i < N; i++)
    bson_destroy(docs[i]);
  free(docs);
  bson_t *q = BCON_NEW("k", BCON_INT32(3));
  assert_int_equal(
      mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &error), 100);
  bson_destroy(q);
  q = BCON_NEW("sub.tag", BCON_UTF8("odd"));
  assert_int_equal(
      mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &error), 500);
  bson_destroy(q);
  q = BCON_NEW("k", "{", "$in", "[", BCON_INT32(1), BCON_INT64(2), "]", "}");
  assert_int_equal(
      mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &error), 200);
  bson_t *opts = BCON_NEW("skip", BCON_INT64(50), "limit", BCON_INT64(100));
  assert_int_equal(
      mongoc_collection_count_documents(c, q, opts, NULL, NULL, &error), 100);
  bson_destroy(opts);
  bson_destroy(q);
  q = BCON_NEW("nope", BCON_INT32(1));
  assert_int_equal(
      mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &error), 0);
  bson_destroy(q);
  assert_int_equal(
      mongoc_collection_estimated_document_count(c, NULL, NULL, NULL, &error),
      N);
  mongoc_collection_destroy(c);

  /* Counting an absent collection is 0, not an error. */
  c = coll(f, "absent");
  assert_int_equal(mongoc_collection_count_documents(c, &match_all, NULL, NULL,
                                                     NULL, &error),
                   0);
  assert_int_equal(
      mongoc_collection_estimated_document_count(c, NULL, NULL, NULL, &error),
      0);
  mongoc_collection_destroy(c);
}

/* ---- updates, deletes, collections, indexes -------------------------- */

static void test_update_upsert_delete(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "upserts");
  bson_error_t error;
  bson_t reply;
  bson_t *sel = BCON_NEW("_id", BCON_UTF8("a"));
  bson_t *upd =
      BCON_NEW("$set", "{", "n", BCON_INT32(1), "deep.x", BCON_INT32(2), "}");
  bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
  assert_true(mongoc_collection_update_one(c, sel, upd, opts, &reply, &error));
  assert_int_equal(field_int(&reply, "upsertedCount"), 1);
  bson_destroy(&reply);
  assert_true(mongoc_collection_update_one(c, sel, upd, opts, &reply, &error));
  assert_int_equal(field_int(&reply, "matchedCount"), 1);
  assert_int_equal(field_int(&reply, "modifiedCount"), 0);
  bson_destroy(&reply);
  bson_destroy(upd);
  upd = BCON_NEW("$inc", "{", "n", BCON_INT32(5), "}");
  assert_true(mongoc_collection_update_one(c, sel, upd, opts, &reply, &error));
  assert_int_equal(field_int(&reply, "modifiedCount"), 1);
  bson_destroy(&reply);

  /* Replacement upsert keeps _id from the filter. */
  bson_t *sel2 = BCON_NEW("_id", BCON_UTF8("b"));
  bson_t *rep = BCON_NEW("name", BCON_UTF8("bee"), "n", BCON_INT32(7));
  assert_true(
      mongoc_collection_replace_one(c, sel2, rep, opts, &reply, &error));
  assert_int_equal(field_int(&reply, "upsertedCount"), 1);
  bson_destroy(&reply);

  mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, sel, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cur, &doc));
  assert_int_equal(field_int(doc, "n"), 6);
  assert_int_equal(field_int(doc, "deep.x"), 2);
  mongoc_cursor_destroy(cur);
  cur = mongoc_collection_find_with_opts(c, sel2, NULL, NULL);
  assert_true(mongoc_cursor_next(cur, &doc));
  bson_iter_t it;
  assert_true(bson_iter_init(&it, doc) && bson_iter_next(&it));
  assert_string_equal(bson_iter_key(&it), "_id");
  assert_true(bson_iter_next(&it));
  assert_string_equal(bson_iter_key(&it), "name");
  mongoc_cursor_destroy(cur);

  /* update_many over a filter, then deletes. */
  bson_t *all = bson_new();
  bson_t *mark = BCON_NEW("$set", "{", "seen", BCON_BOOL(true), "}");
  assert_true(
      mongoc_collection_update_many(c, all, mark, NULL, &reply, &error));
  assert_int_equal(field_int(&reply, "modifiedCount"), 2);
  bson_destroy(&reply);
  assert_true(mongoc_collection_delete_one(c, sel, NULL, &reply, &error));
  assert_int_equal(field_int(&reply, "deletedCount"), 1);
  bson_destroy(&reply);
  assert_true(mongoc_collection_delete_many(c, all, NULL, &reply, &error));
  assert_int_equal(field_int(&reply, "deletedCount"), 1);
  bson_destroy(&reply);
  assert_int_equal(mongoc_collection_count_documents(c, &match_all, NULL, NULL,
                                                     NULL, &error),
                   0);
  bson_destroy(all);
  bson_destroy(mark);
  bson_destroy(sel);
  bson_destroy(sel2);
  bson_destroy(rep);
  bson_destroy(upd);
  bson_destroy(opts);
  mongoc_collection_destroy(c);
}

static void test_collections_and_indexes(void **state)
{
  fixture_t *f = *state;
  bson_error_t error;
  bson_t reply;
  mongoc_database_t *db = mongoc_client_get_database(f->client, f->db);
  mongoc_collection_t *c =
      mongoc_database_create_collection(db, "made", NULL, &error);
  assert_non_null(c);
  /* Creating it again: 48 NamespaceExists. */
  mongoc_collection_t *again =
      mongoc_database_create_collection(db, "made", NULL, &error);
  assert_null(again);
  assert_int_equal(error.code, 48);

  /* A unique index is enforced on insert. */
  bson_t *create =
      BCON_NEW("createIndexes", BCON_UTF8("made"), "indexes", "[", "{", "key",
               "{", "email", BCON_INT32(1), "}", "name", BCON_UTF8("email_1"),
               "unique", BCON_BOOL(true), "}", "]");
  if (!mongoc_database_write_command_with_opts(db, create, NULL, &reply,
                                               &error))
    fail_msg("createIndexes: %s", error.message);
  bson_destroy(&reply);
  bson_t *d1 = BCON_NEW("email", BCON_UTF8("a@x"));
  bson_t *d2 = BCON_NEW("email", BCON_UTF8("a@x"));
  assert_true(mongoc_collection_insert_one(c, d1, NULL, NULL, &error));
  assert_false(mongoc_collection_insert_one(c, d2, NULL, NULL, &error));
  assert_int_equal(error.code, 11000);
  assert_non_null(strstr(error.message, "email_1"));

  /* listIndexes: _id_ and email_1. */
  mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
  const bson_t *doc;
  int n = 0;
  bool saw_email = false;
  while (mongoc_cursor_next(cur, &doc)) {
    bson_iter_t it;
    n++;
    if (bson_iter_init_find(&it, doc, "name") &&
        !strcmp(bson_iter_utf8(&it, NULL), "email_1"))
      saw_email = true;
  }
  assert_false(mongoc_cursor_error(cur, &error));
  assert_int_equal(n, 2);
  assert_true(saw_email);
  mongoc_cursor_destroy(cur);

  /* listCollections sees it. */
  char **names =
      mongoc_database_get_collection_names_with_opts(db, NULL, &error);
  assert_non_null(names);
  bool found = false;
  for (char **p = names; *p; p++)
    found = found || !strcmp(*p, "made");
  assert_true(found);
  bson_strfreev(names);

  /* drop, then drop again: 26 NamespaceNotFound. */
  assert_true(mongoc_collection_drop(c, &error));
  assert_false(mongoc_collection_drop(c, &error));
  assert_int_equal(error.code, 26);

  /* listDatabases works (on admin). */
  names = mongoc_client_get_database_names_with_opts(f->client, NULL, &error);
  assert_non_null(names);
  bson_strfreev(names);

  bson_destroy(create);
  bson_destroy(d1);
  bson_destroy(d2);
  mongoc_collection_destroy(c);
  mongoc_database_destroy(db);
}

static void test_aggregate_count(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "agg");
  bson_error_t error;
  for (int i = 0; i < 30; i++) {
    bson_t *d = BCON_NEW("g", BCON_INT32(i % 3), "v", BCON_INT32(i));
    assert_true(mongoc_collection_insert_one(c, d, NULL, NULL, &error));
    bson_destroy(d);
  }
  bson_t *pipeline =
      BCON_NEW("pipeline", "[", "{", "$match", "{", "g", BCON_INT32(1), "}",
               "}", "{", "$group", "{", "_id", BCON_INT32(1), "n", "{", "$sum",
               BCON_INT32(1), "}", "}", "}", "]");
  mongoc_cursor_t *cur =
      mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cur, &doc));
  assert_int_equal(field_int(doc, "n"), 10);
  assert_false(mongoc_cursor_next(cur, &doc));
  assert_false(mongoc_cursor_error(cur, &error));
  mongoc_cursor_destroy(cur);
  bson_destroy(pipeline);

  pipeline = BCON_NEW("pipeline", "[", "{", "$group", "{", "_id", "$g", "total",
                      "{", "$sum", "$v", "}", "}", "}", "{", "$sort", "{",
                      "_id", BCON_INT32(1), "}", "}", "]");
  cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  int64_t totals[3] = {0};
  int groups = 0;
  while (mongoc_cursor_next(cur, &doc)) {
    totals[groups++ % 3] = field_int(doc, "total");
  }
  assert_false(mongoc_cursor_error(cur, &error));
  assert_int_equal(groups, 3);
  assert_int_equal(totals[0], 135);
  assert_int_equal(totals[1], 145);
  assert_int_equal(totals[2], 155);
  mongoc_cursor_destroy(cur);
  bson_destroy(pipeline);

  pipeline =
      BCON_NEW("pipeline", "[", "{", "$count", BCON_UTF8("all"), "}", "]");
  cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  assert_true(mongoc_cursor_next(cur, &doc));
  assert_int_equal(field_int(doc, "all"), 30);
  mongoc_cursor_destroy(cur);
  bson_destroy(pipeline);
  mongoc_collection_destroy(c);
}

/* A unique index built on documents already holding a duplicate key
 * fails with 11000 DuplicateKey, mongod 6.0's message ("Index build
 * failed: UUID: Collection NS ( UUID ) :: caused by :: E11000 ..." naming
 * the index and the key), keyPattern and keyValue, and builds nothing; $group
 * by an object of expressions (a compound key) finds the duplicates, a missing
 * field left out of the key, as mongod does (what --index reads after the
 * failure). */
static void test_unique_index_on_duplicates(void **state)
{
  fixture_t *f = *state;
  mongoc_collection_t *c = coll(f, "dups");
  mongoc_database_t *db = mongoc_client_get_database(f->client, f->db);
  bson_error_t error;
  bson_t reply;
  const int pairs[][2] = {{1, 1}, {1, 2}, {1, 1}, {2, 1}, {1, 1}};
  for (size_t i = 0; i < 5; i++) {
    bson_t *d =
        BCON_NEW("a", BCON_INT32(pairs[i][0]), "b", BCON_INT32(pairs[i][1]));
    assert_true(mongoc_collection_insert_one(c, d, NULL, NULL, &error));
    bson_destroy(d);
  }
  bson_t *only_a = BCON_NEW("a", BCON_INT32(3));
  assert_true(mongoc_collection_insert_one(c, only_a, NULL, NULL, &error));
  bson_destroy(only_a);
  bson_t *create =
      BCON_NEW("createIndexes", BCON_UTF8("dups"), "indexes", "[", "{", "key",
               "{", "a", BCON_INT32(1), "b", BCON_INT32(-1), "}", "name",
               BCON_UTF8("ab"), "unique", BCON_BOOL(true), "}", "]");
  assert_false(mongoc_database_write_command_with_opts(db, create, NULL, &reply,
                                                       &error));
  assert_int_equal(error.code, 11000);
  assert_non_null(strstr(error.message, "E11000 duplicate key error "
                                        "collection: "));
  assert_non_null(strstr(error.message, "index: ab dup key: { a: 1, b: 1 }"));
  assert_non_null(strstr(error.message, "Index build failed: "));
  assert_non_null(strstr(error.message, ": Collection "));
  assert_non_null(strstr(error.message, " :: caused by :: E11000"));
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, &reply, "codeName"));
  assert_string_equal(bson_iter_utf8(&it, NULL), "DuplicateKey");
  bson_t *pattern = BCON_NEW("a", BCON_INT32(1), "b", BCON_INT32(-1));
  bson_t *value = BCON_NEW("a", BCON_INT32(1), "b", BCON_INT32(1));
  bson_t got;
  uint32_t len;
  const uint8_t *data;
  assert_true(bson_iter_init_find(&it, &reply, "keyPattern"));
  bson_iter_document(&it, &len, &data);
  assert_true(bson_init_static(&got, data, len) && bson_equal(&got, pattern));
  assert_true(bson_iter_init_find(&it, &reply, "keyValue"));
  bson_iter_document(&it, &len, &data);
  assert_true(bson_init_static(&got, data, len) && bson_equal(&got, value));
  bson_destroy(pattern);
  bson_destroy(value);
  bson_destroy(&reply);
  bson_destroy(create);
  mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
  const bson_t *doc;
  int n_indexes = 0;
  while (mongoc_cursor_next(cur, &doc))
    n_indexes++;
  assert_int_equal(n_indexes, 1); /* _id_ alone */
  mongoc_cursor_destroy(cur);

  bson_t *pipeline = BCON_NEW(
      "pipeline", "[", "{", "$group", "{", "_id", "{", "x", "$a", "y", "$b",
      "}", "n", "{", "$sum", BCON_INT32(1), "}", "}", "}", "{", "$match", "{",
      "n", "{", "$gt", BCON_INT32(1), "}", "}", "}", "]");
  cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  assert_true(mongoc_cursor_next(cur, &doc));
  bson_t *want = BCON_NEW("_id", "{", "x", BCON_INT32(1), "y", BCON_INT32(1),
                          "}", "n", BCON_INT32(3));
  assert_true(bson_equal(doc, want));
  assert_false(mongoc_cursor_next(cur, &doc));
  assert_false(mongoc_cursor_error(cur, &error));
  mongoc_cursor_destroy(cur);
  bson_destroy(want);
  bson_destroy(pipeline);

  /* Every group, in first appearance: the one without b has no y. */
  pipeline = BCON_NEW("pipeline", "[", "{", "$group", "{", "_id", "{", "x",
                      "$a", "y", "$b", "}", "}", "}", "]");
  cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  int groups = 0;
  while (mongoc_cursor_next(cur, &doc))
    if (++groups == 4) {
      want = BCON_NEW("_id", "{", "x", BCON_INT32(3), "}");
      assert_true(bson_equal(doc, want));
      bson_destroy(want);
    }
  assert_false(mongoc_cursor_error(cur, &error));
  assert_int_equal(groups, 4);
  mongoc_cursor_destroy(cur);
  bson_destroy(pipeline);
  mongoc_database_destroy(db);
  mongoc_collection_destroy(c);
}

/* ---- compression --------------------------------------------------------- */

/* Reads serverStatus' network.compression.<name>.<part>.<field>; -1 when
 * absent. */
static int64_t comp_counter(mongoc_client_t *client, const char *name,
                            const char *part, const char *field)
{
  bson_t reply;
  bson_error_t error;
  bson_t *cmd = BCON_NEW("serverStatus", BCON_INT32(1));
  int64_t n = -1;
  char path[128];
  snprintf(path, sizeof path, "network.compression.%s.%s.%s", name, part,
           field);
  if (mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error))
    n = field_int(&reply, path);
  bson_destroy(&reply);
  bson_destroy(cmd);
  return n;
}

/* The four counters of one compressor. */
typedef struct {
  int64_t v[4]; /* decompressor bytesIn/bytesOut, compressor bytesIn/Out */
} comp_counters_t;

static comp_counters_t comp_counters(mongoc_client_t *client, const char *name)
{
  comp_counters_t c;
  c.v[0] = comp_counter(client, name, "decompressor", "bytesIn");
  c.v[1] = comp_counter(client, name, "decompressor", "bytesOut");
  c.v[2] = comp_counter(client, name, "compressor", "bytesIn");
  c.v[3] = comp_counter(client, name, "compressor", "bytesOut");
  return c;
}

/* A client with compressors=name negotiates it, round-trips 2000
 * compressible documents, and the server's counters for that compressor
 * moved both ways (compressed less than plain). */
static void check_compression(fixture_t *f, const char *name)
{
  char *opt = bson_strdup_printf("compressors=%s", name);
  mongoc_client_t *client = client_for(f->uri, opt);
  bson_free(opt);
  bson_error_t error;
  comp_counters_t before = comp_counters(client, name);
  bool ours = before.v[0] >= 0; /* a real mongod may lack the section */

  /* The handshake negotiated it. */
  mongoc_server_description_t *sd =
      mongoc_client_select_server(client, true, NULL, &error);
  assert_non_null(sd);
  const bson_t *hello = mongoc_server_description_hello_response(sd);
  bson_iter_t it, arr;
  assert_true(bson_iter_init_find(&it, hello, "compression"));
  assert_true(bson_iter_recurse(&it, &arr));
  bool negotiated = false;
  while (bson_iter_next(&arr))
    negotiated = negotiated || !strcmp(bson_iter_utf8(&arr, NULL), name);
  if (!negotiated)
    fail_msg("the server did not negotiate %s", name);
  mongoc_server_description_destroy(sd);

  /* Data round-trips. */
  mongoc_collection_t *c = mongoc_client_get_collection(client, f->db, "zip");
  enum { N = 2000 };
  bson_t **docs = calloc(N, sizeof *docs);
  for (int i = 0; i < N; i++)
    docs[i] = BCON_NEW("_id", BCON_INT32(i), "text",
                       BCON_UTF8("compressible compressible compressible"));
  assert_true(mongoc_collection_insert_many(c, (const bson_t **)docs, N, NULL,
                                            NULL, &error));
  for (int i = 0; i < N; i++)
    bson_destroy(docs[i]);
  free(docs);
  bson_t *filter = bson_new();
  bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}");
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, opts, NULL);
  const bson_t *doc;
  int n = 0;
  while (mongoc_cursor_next(cur, &doc)) {
    assert_true(bson_iter_init_find(&it, doc, "text"));
    assert_string_equal(bson_iter_utf8(&it, NULL),
                        "compressible compressible compressible");
    assert_int_equal(field_int(doc, "_id"), n);
    n++;
  }
  assert_false(mongoc_cursor_error(cur, &error));
  assert_int_equal(n, N);
  mongoc_cursor_destroy(cur);

  /* The server really decompressed what we sent and compressed what it
   * answered, with that compressor. */
  comp_counters_t after = comp_counters(client, name);
  if (ours) {
    for (int i = 0; i < 4; i++)
      if (after.v[i] <= before.v[i])
        fail_msg("%s counter %d did not move (%lld)", name, i,
                 (long long)after.v[i]);
    assert_true(after.v[1] - before.v[1] > after.v[0] - before.v[0]);
    assert_true(after.v[2] - before.v[2] > after.v[3] - before.v[3]);
  }
  bson_destroy(opts);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);
}

static void test_compression_zlib(void **state)
{
  check_compression(*state, "zlib");
}

/* zstd and snappy need a libmongoc built with them (Debian's is): without,
 * the driver drops the compressor from the URI and the test says so. */
static bool driver_has(const char *name)
{
  char *uri = bson_strdup_printf("mongodb://127.0.0.1/?compressors=%s", name);
  mongoc_uri_t *u = mongoc_uri_new(uri);
  bson_free(uri);
  const bson_t *comps = u ? mongoc_uri_get_compressors(u) : NULL;
  bool has = comps && bson_has_field(comps, name);
  mongoc_uri_destroy(u);
  if (!has)
    fprintf(stderr, "skipped: this libmongoc was built without %s\n", name);
  return has;
}

static void test_compression_zstd(void **state)
{
  if (!driver_has("zstd"))
    skip();
  check_compression(*state, "zstd");
}

static void test_compression_snappy(void **state)
{
  if (!driver_has("snappy"))
    skip();
  check_compression(*state, "snappy");
}

/* ---- concurrency ----------------------------------------------------------
 */

enum { WORKERS = 16, PER_WORKER = 2500, BATCH = 250 };

/* One concurrent inserter. */
typedef struct {
  mongoc_client_pool_t *pool; /* shared pool */
  const char *db;             /* database */
  int id;                     /* worker number, makes its _ids unique */
  bool ok;                    /* every insert succeeded */
} worker_t;

/* Inserts PER_WORKER documents in batches through a pooled client. */
static void *insert_worker(void *arg)
{
  worker_t *w = arg;
  mongoc_client_t *client = mongoc_client_pool_pop(w->pool);
  mongoc_collection_t *c =
      mongoc_client_get_collection(client, w->db, "shared");
  w->ok = true;
  for (int b = 0; b < PER_WORKER / BATCH && w->ok; b++) {
    bson_t *docs[BATCH];
    bson_error_t error;
    for (int i = 0; i < BATCH; i++)
      docs[i] = BCON_NEW("_id", BCON_INT32(w->id * PER_WORKER + b * BATCH + i),
                         "w", BCON_INT32(w->id));
    w->ok = mongoc_collection_insert_many(c, (const bson_t **)docs, BATCH, NULL,
                                          NULL, &error);
    if (!w->ok)
      fprintf(stderr, "worker %d: %s\n", w->id, error.message);
    for (int i = 0; i < BATCH; i++)
      bson_destroy(docs[i]);
  }
  mongoc_collection_destroy(c);
  mongoc_client_pool_push(w->pool, client);
  return NULL;
}

static void test_concurrent_clients(void **state)
{
  fixture_t *f = *state;
  mongoc_uri_t *uri = mongoc_uri_new(f->uri);
  mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, WORKERS);
  mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  pthread_t tids[WORKERS];
  worker_t workers[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    workers[i] = (worker_t){pool, f->db, i, false};
    assert_int_equal(pthread_create(&tids[i], NULL, insert_worker, &workers[i]),
                     0);
  }
  for (int i = 0; i < WORKERS; i++) {
    pthread_join(tids[i], NULL);
    assert_true(workers[i].ok);
  }
  mongoc_client_pool_destroy(pool);
  mongoc_uri_destroy(uri);

  mongoc_collection_t *c = coll(f, "shared");
  bson_error_t error;
  assert_int_equal(mongoc_collection_count_documents(c, &match_all, NULL, NULL,
                                                     NULL, &error),
                   WORKERS * PER_WORKER);
  for (int i = 0; i < WORKERS; i++) {
    bson_t *q = BCON_NEW("w", BCON_INT32(i));
    assert_int_equal(
        mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &error),
        PER_WORKER);
    bson_destroy(q);
  }
  mongoc_collection_destroy(c);
}

int main(void)
{
  mongoc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
      cmocka_unit_test_setup_teardown(test_insert_many_100k, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_key_ordered, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_key_unordered, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_key_numeric_types, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_document_too_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_find_get_more_10k, setup, teardown),
      cmocka_unit_test_setup_teardown(test_count_and_filters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_upsert_delete, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_collections_and_indexes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_aggregate_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unique_index_on_duplicates, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_compression_zlib, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compression_zstd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compression_snappy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
  };
  int failed = cmocka_run_group_tests_name("server_driver", tests, NULL, NULL);
  mongoc_cleanup();
  return failed;
}
