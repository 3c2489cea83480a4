/* Command dispatch, shared helpers and the administrative commands:
 * handshake, ping, buildInfo, serverStatus, sessions, authentication
 * (auth.c does the work), create/drop, database and index management. */
#include "commands.h"

#include "bval.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The version this fixture reports, a 6.0-era server. */
#define MTS_VERSION "6.0.0"

/* ---- shared helpers --------------------------------------------------- */

bool cmd_docs_init(const cmd_ctx_t *ctx, const char *field, docs_iter_t *it,
                   bson_error_t *error)
{
  memset(it, 0, sizeof *it);
  for (size_t i = 0; i < ctx->req->nseqs; i++) {
    if (!strcmp(ctx->req->seqs[i].name, field)) {
      it->seq = &ctx->req->seqs[i];
      return true;
    }
  }
  bson_iter_t f;
  if (!bson_iter_init_find(&f, ctx->body, field)) {
    bson_set_error(error, MTS_ERR_DOMAIN, 40414,
                   "BSON field '%s.%s' is missing but a required field",
                   ctx->name, field);
    return false;
  }
  if (!BSON_ITER_HOLDS_ARRAY(&f) || !bson_iter_recurse(&f, &it->it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "BSON field '%s.%s' is the wrong type '%d', expected "
                   "type 'array'",
                   ctx->name, field, (int)bson_iter_type(&f));
    return false;
  }
  return true;
}

bool cmd_docs_next(docs_iter_t *it, const uint8_t **data, uint32_t *len,
                   bool *bad)
{
  *bad = false;
  if (it->seq)
    return docseq_next(it->seq, &it->pos, data, len);
  if (!bson_iter_next(&it->it))
    return false;
  if (!BSON_ITER_HOLDS_DOCUMENT(&it->it)) {
    *bad = true;
    return true;
  }
  bson_iter_document(&it->it, len, data);
  return true;
}

bool cmd_coll_name(const cmd_ctx_t *ctx, const char **name, bson_error_t *error)
{
  bson_iter_t it;
  if (!bson_iter_init(&it, ctx->body) || !bson_iter_next(&it) ||
      !BSON_ITER_HOLDS_UTF8(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_NAMESPACE,
                   "collection name has invalid type %s",
                   bson_iter_type(&it) == BSON_TYPE_EOD ? "missing"
                                                        : "non-string");
    return false;
  }
  *name = bson_iter_utf8(&it, NULL);
  return store_valid_names(ctx->db, *name, error);
}

bool cmd_opt_doc(const bson_t *body, const char *field, bson_t *out,
                 bool *present, bson_error_t *error)
{
  bson_iter_t it;
  *present = false;
  if (!bson_iter_init_find(&it, body, field) || BSON_ITER_HOLDS_NULL(&it))
    return true;
  if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "BSON field '%s' is the wrong type, expected type "
                   "'object'",
                   field);
    return false;
  }
  uint32_t len;
  const uint8_t *data;
  bson_iter_document(&it, &len, &data);
  bson_init_static(out, data, len);
  *present = true;
  return true;
}

bool cmd_opt_int64(const bson_t *body, const char *field, int64_t *out,
                   bson_error_t *error)
{
  bson_iter_t it;
  if (!bson_iter_init_find(&it, body, field) || BSON_ITER_HOLDS_NULL(&it))
    return true;
  if (!bval_as_int64(bson_iter_value(&it), out)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "BSON field '%s' is the wrong type, expected a number",
                   field);
    return false;
  }
  return true;
}

void cmd_array_append(bson_t *array, uint32_t *count, const bson_value_t *value)
{
  char buf[16];
  const char *key;
  size_t klen = bson_uint32_to_string(*count, &key, buf, sizeof buf);
  bson_append_value(array, key, (int)klen, value);
  (*count)++;
}

void cmd_array_append_doc(bson_t *array, uint32_t *count, const uint8_t *data,
                          uint32_t len)
{
  bson_value_t v = {.value_type = BSON_TYPE_DOCUMENT};
  v.value.v_doc.data = (uint8_t *)data;
  v.value.v_doc.data_len = len;
  cmd_array_append(array, count, &v);
}

void cmd_append_write_error(bson_t *errors, uint32_t *count, uint32_t index,
                            const bson_error_t *error, const bson_t *info)
{
  bson_t e = BSON_INITIALIZER;
  BSON_APPEND_INT32(&e, "index", (int32_t)index);
  BSON_APPEND_INT32(&e, "code", (int32_t)error->code);
  if (info && !bson_empty(info))
    bson_concat(&e, info);
  BSON_APPEND_UTF8(&e, "errmsg", error->message);
  cmd_array_append_doc(errors, count, bson_get_data(&e), e.len);
  bson_destroy(&e);
}

/* True for fields every command may carry that the server accepts and
 * ignores: session, cluster time, read preference, write concern, API
 * version and the like. */
static bool is_generic_field(const char *name)
{
  static const char *const generic[] = {
      "$db",
      "lsid",
      "$clusterTime",
      "$readPreference",
      "txnNumber",
      "autocommit",
      "startTransaction",
      "writeConcern",
      "readConcern",
      "comment",
      "maxTimeMS",
      "apiVersion",
      "apiStrict",
      "apiDeprecationErrors",
      "$audit",
      "$client",
      "bypassDocumentValidation",
      "collation",
      "hint",
  };
  for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
    if (!strcmp(name, generic[i]))
      return true;
  return false;
}

/* ---- handshake and server information ---------------------------------- */

/* The authentication parts of hello: saslSupportedMechs for
 * "DB.USER" when that user exists (mongod omits it otherwise), and
 * speculativeAuthenticate, a saslStart carried in the handshake whose
 * reply is returned under the same name (omitted when it fails: the
 * client then authenticates the long way and sees the error). */
static void hello_auth(cmd_ctx_t *ctx)
{
  bson_iter_t it;
  if (bson_iter_init_find(&it, ctx->body, "saslSupportedMechs") &&
      BSON_ITER_HOLDS_UTF8(&it)) {
    const char *v = bson_iter_utf8(&it, NULL);
    const char *dot = strchr(v, '.');
    if (dot && dot - v == 5 && !strncmp(v, "admin", 5) &&
        auth_find_user(&ctx->srv->users, dot + 1)) {
      bson_t a;
      BSON_APPEND_ARRAY_BEGIN(ctx->reply, "saslSupportedMechs", &a);
      BSON_APPEND_UTF8(&a, "0", "SCRAM-SHA-1");
      BSON_APPEND_UTF8(&a, "1", "SCRAM-SHA-256");
      bson_append_array_end(ctx->reply, &a);
    }
  }
  bson_t spec;
  bool present;
  bson_error_t ignored;
  if (!cmd_opt_doc(ctx->body, "speculativeAuthenticate", &spec, &present,
                   &ignored) ||
      !present)
    return;
  const char *db = "admin";
  if (bson_iter_init_find(&it, &spec, "db") && BSON_ITER_HOLDS_UTF8(&it))
    db = bson_iter_utf8(&it, NULL);
  bson_t reply = BSON_INITIALIZER;
  if (bson_iter_init_find(&it, &spec, "saslStart") &&
      auth_sasl_start(&ctx->srv->users, &ctx->conn->auth, db, &spec, &reply,
                      &ignored))
    BSON_APPEND_DOCUMENT(ctx->reply, "speculativeAuthenticate", &reply);
  bson_destroy(&reply);
}

/* hello / isMaster / ismaster: describes a standalone server. Negotiates
 * compression: the client's compressors this server has (snappy, zlib,
 * zstd), in the client's order. */
static bool cmd_hello(cmd_ctx_t *ctx, bson_error_t *error)
{
  (void)error;
  bson_iter_t it, arr;
  conn_t *conn = ctx->conn;
  if (bson_iter_init_find(&it, ctx->body, "compression")) {
    conn->ncompressors = 0;
    if (BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
      while (bson_iter_next(&arr)) {
        int id = BSON_ITER_HOLDS_UTF8(&arr)
                     ? wire_compressor_id(bson_iter_utf8(&arr, NULL))
                     : -1;
        bool dup = false;
        for (uint8_t i = 0; i < conn->ncompressors; i++)
          dup = dup || conn->compressors[i] == id;
        if (id > 0 && !dup && conn->ncompressors < sizeof conn->compressors)
          conn->compressors[conn->ncompressors++] = (uint8_t)id;
      }
    }
  }
  bson_t *r = ctx->reply;
  if (bson_iter_init_find(&it, ctx->body, "helloOk") &&
      bval_truthy(bson_iter_value(&it)))
    BSON_APPEND_BOOL(r, "helloOk", true);
  if (!strcmp(ctx->name, "hello"))
    BSON_APPEND_BOOL(r, "isWritablePrimary", true);
  else
    BSON_APPEND_BOOL(r, "ismaster", true);
  BSON_APPEND_INT32(r, "maxBsonObjectSize", MTS_MAX_BSON_SIZE);
  BSON_APPEND_INT32(r, "maxMessageSizeBytes", MTS_MAX_MESSAGE_SIZE);
  BSON_APPEND_INT32(r, "maxWriteBatchSize", 100000);
  BSON_APPEND_DATE_TIME(r, "localTime", (int64_t)time(NULL) * 1000);
  BSON_APPEND_INT32(r, "logicalSessionTimeoutMinutes", 30);
  BSON_APPEND_INT32(r, "connectionId", (int32_t)ctx->conn->id);
  BSON_APPEND_INT32(r, "minWireVersion", MTS_MIN_WIRE_VERSION);
  BSON_APPEND_INT32(r, "maxWireVersion", MTS_MAX_WIRE_VERSION);
  BSON_APPEND_BOOL(r, "readOnly", false);
  if (conn->ncompressors) {
    bson_t c;
    uint32_t n = 0;
    BSON_APPEND_ARRAY_BEGIN(r, "compression", &c);
    for (uint8_t i = 0; i < conn->ncompressors; i++) {
      bson_value_t v = {.value_type = BSON_TYPE_UTF8};
      v.value.v_utf8.str = (char *)wire_compressor_name(conn->compressors[i]);
      v.value.v_utf8.len = (uint32_t)strlen(v.value.v_utf8.str);
      cmd_array_append(&c, &n, &v);
    }
    bson_append_array_end(r, &c);
  }
  hello_auth(ctx);
  return true;
}

/* ping: {ok: 1}. Also serves commands that need no answer but success. */
static bool cmd_ok(cmd_ctx_t *ctx, bson_error_t *error)
{
  (void)ctx;
  (void)error;
  return true;
}

/* buildInfo: the version this fixture imitates. */
static bool cmd_build_info(cmd_ctx_t *ctx, bson_error_t *error)
{
  (void)error;
  bson_t *r = ctx->reply, a;
  BSON_APPEND_UTF8(r, "version", MTS_VERSION);
  BSON_APPEND_UTF8(r, "gitVersion", "mongo-test-server");
  BSON_APPEND_ARRAY_BEGIN(r, "versionArray", &a);
  BSON_APPEND_INT32(&a, "0", 6);
  BSON_APPEND_INT32(&a, "1", 0);
  BSON_APPEND_INT32(&a, "2", 0);
  BSON_APPEND_INT32(&a, "3", 0);
  bson_append_array_end(r, &a);
  BSON_APPEND_INT32(r, "bits", 64);
  BSON_APPEND_BOOL(r, "debug", false);
  BSON_APPEND_INT32(r, "maxBsonObjectSize", MTS_MAX_BSON_SIZE);
  BSON_APPEND_ARRAY_BEGIN(r, "storageEngines", &a);
  BSON_APPEND_UTF8(&a, "0", "inMemory");
  bson_append_array_end(r, &a);
  return true;
}

/* serverStatus: the parts a test may look at: uptime, connections and the
 * compression counters of snappy, zlib and zstd (as mongod's
 * network.compression: compressor.bytesIn is reply bytes before
 * compression, bytesOut after; decompressor.bytesIn is compressed bytes
 * received, bytesOut their decompressed size). */
static bool cmd_server_status(cmd_ctx_t *ctx, bson_error_t *error)
{
  (void)error;
  server_t *s = ctx->srv;
  bson_t *r = ctx->reply, c, net, comp, z, part;
  int64_t up = bson_get_monotonic_time() - s->start_us;
  BSON_APPEND_UTF8(r, "host", "127.0.0.1");
  BSON_APPEND_UTF8(r, "version", MTS_VERSION);
  BSON_APPEND_UTF8(r, "process", "mongo-test-server");
  BSON_APPEND_INT64(r, "pid", (int64_t)getpid());
  BSON_APPEND_DOUBLE(r, "uptime", (double)(up / 1000000));
  BSON_APPEND_INT64(r, "uptimeMillis", up / 1000);
  BSON_APPEND_DATE_TIME(r, "localTime", (int64_t)time(NULL) * 1000);
  BSON_APPEND_DOCUMENT_BEGIN(r, "connections", &c);
  BSON_APPEND_INT32(&c, "current", (int32_t)atomic_load(&s->conns_current));
  BSON_APPEND_INT32(&c, "available", 1000000);
  BSON_APPEND_INT32(&c, "totalCreated", (int32_t)atomic_load(&s->conns_total));
  bson_append_document_end(r, &c);
  BSON_APPEND_DOCUMENT_BEGIN(r, "network", &net);
  BSON_APPEND_DOCUMENT_BEGIN(&net, "compression", &comp);
  for (int id = 1; id < COMPRESSOR_COUNT; id++) {
    atomic_int_fast64_t *st = s->comp_stats[id];
    BSON_APPEND_DOCUMENT_BEGIN(&comp, wire_compressor_name(id), &z);
    BSON_APPEND_DOCUMENT_BEGIN(&z, "compressor", &part);
    BSON_APPEND_INT64(&part, "bytesIn", atomic_load(&st[COMP_OUT_PLAIN]));
    BSON_APPEND_INT64(&part, "bytesOut", atomic_load(&st[COMP_OUT_COMP]));
    bson_append_document_end(&z, &part);
    BSON_APPEND_DOCUMENT_BEGIN(&z, "decompressor", &part);
    BSON_APPEND_INT64(&part, "bytesIn", atomic_load(&st[COMP_IN_COMP]));
    BSON_APPEND_INT64(&part, "bytesOut", atomic_load(&st[COMP_IN_PLAIN]));
    bson_append_document_end(&z, &part);
    bson_append_document_end(&comp, &z);
  }
  bson_append_document_end(&net, &comp);
  bson_append_document_end(r, &net);
  return true;
}

/* saslStart / saslContinue: SCRAM-SHA-1, SCRAM-SHA-256 and PLAIN for the
 * users of --user (auth.c). The legacy authenticate / getnonce fail with
 * 18, as MONGODB-CR does on a 6.0 server. */
static bool cmd_auth(cmd_ctx_t *ctx, bson_error_t *error)
{
  if (!strcmp(ctx->name, "saslStart"))
    return auth_sasl_start(&ctx->srv->users, &ctx->conn->auth, ctx->db,
                           ctx->body, ctx->reply, error);
  if (!strcmp(ctx->name, "saslContinue"))
    return auth_sasl_continue(&ctx->conn->auth, ctx->body, ctx->reply, error);
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_AUTH_FAILED,
                 "Authentication failed.");
  return false;
}

/* ---- collections and databases ------------------------------------------ */

/* create: makes an empty collection; 48 when it exists. Options are kept
 * for listCollections. */
static bool cmd_create(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  bool created;
  if (!cmd_coll_name(ctx, &name, error))
    return false;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, true, &created);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return false;
  }
  if (!created) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_EXISTS,
                   "Collection %s already exists.", c->ns);
    coll_unref(c);
    return false;
  }
  bson_iter_t it;
  pthread_rwlock_wrlock(&c->lock);
  bson_iter_init(&it, ctx->body);
  bson_iter_next(&it); /* the command name */
  while (bson_iter_next(&it))
    if (!is_generic_field(bson_iter_key(&it)))
      bson_append_iter(c->options, bson_iter_key(&it), -1, &it);
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  return true;
}

/* drop: removes a collection; 26 NamespaceNotFound when absent. */
static bool cmd_drop(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  if (!cmd_coll_name(ctx, &name, error))
    return false;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (!c || !store_drop_coll(ctx->srv->store, ctx->db, name)) {
    coll_unref(c);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_NOT_FOUND,
                   "ns not found");
    return false;
  }
  pthread_rwlock_rdlock(&c->lock);
  int32_t nindexes = (int32_t)c->nindexes;
  pthread_rwlock_unlock(&c->lock);
  BSON_APPEND_INT32(ctx->reply, "nIndexesWas", nindexes);
  BSON_APPEND_UTF8(ctx->reply, "ns", c->ns);
  coll_unref(c);
  return true;
}

/* dropDatabase: removes every collection of the database. */
static bool cmd_drop_database(cmd_ctx_t *ctx, bson_error_t *error)
{
  if (!store_valid_names(ctx->db, NULL, error))
    return false;
  store_drop_db(ctx->srv->store, ctx->db);
  BSON_APPEND_UTF8(ctx->reply, "dropped", ctx->db);
  return true;
}

/* listDatabases (admin only): databases with their sizes. */
static bool cmd_list_databases(cmd_ctx_t *ctx, bson_error_t *error)
{
  bson_t filter, arr;
  bool has_filter, name_only = false, ok = false;
  bson_iter_t it;
  matcher_t *m = NULL;
  size_t n = 0;
  coll_t **colls = NULL;
  uint32_t count = 0;
  int64_t total = 0;
  if (strcmp(ctx->db, "admin")) {
    bson_set_error(error, MTS_ERR_DOMAIN, 13,
                   "listDatabases may only be run against the admin "
                   "database.");
    return false;
  }
  if (!cmd_opt_doc(ctx->body, "filter", &filter, &has_filter, error))
    return false;
  if (bson_iter_init_find(&it, ctx->body, "nameOnly"))
    name_only = bval_truthy(bson_iter_value(&it));
  m = matcher_new(has_filter ? &filter : NULL, error);
  if (!m)
    return false;
  colls = store_list_colls(ctx->srv->store, NULL, &n);
  if (!colls)
    goto out;
  BSON_APPEND_ARRAY_BEGIN(ctx->reply, "databases", &arr);
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = !strcmp(colls[j]->db, colls[i]->db);
    if (seen)
      continue;
    int64_t size = 0;
    for (size_t j = i; j < n; j++) {
      if (strcmp(colls[j]->db, colls[i]->db))
        continue;
      pthread_rwlock_rdlock(&colls[j]->lock);
      size += (int64_t)colls[j]->bytes;
      pthread_rwlock_unlock(&colls[j]->lock);
    }
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&d, "name", colls[i]->db);
    if (!name_only) {
      BSON_APPEND_INT64(&d, "sizeOnDisk", size);
      BSON_APPEND_BOOL(&d, "empty", size == 0);
    }
    if (matcher_matches(m, bson_get_data(&d), d.len)) {
      cmd_array_append_doc(&arr, &count, bson_get_data(&d), d.len);
      total += size;
    }
    bson_destroy(&d);
  }
  bson_append_array_end(ctx->reply, &arr);
  if (!name_only) {
    BSON_APPEND_INT64(ctx->reply, "totalSize", total);
    BSON_APPEND_INT64(ctx->reply, "totalSizeMb", total / (1024 * 1024));
  }
  ok = true;
out:
  for (size_t i = 0; i < n; i++)
    coll_unref(colls[i]);
  free(colls);
  matcher_destroy(m);
  if (!ok)
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
  return ok;
}

/* collStats / dbStats: counts and sizes, for tools that ask. */
static bool cmd_stats(cmd_ctx_t *ctx, bson_error_t *error)
{
  bool db_level = !strcmp(ctx->name, "dbStats");
  const char *name = NULL;
  size_t n = 0;
  coll_t **colls;
  if (!db_level && !cmd_coll_name(ctx, &name, error))
    return false;
  colls = store_list_colls(ctx->srv->store, ctx->db, &n);
  int64_t objects = 0, size = 0, nindexes = 0, ncolls = 0;
  for (size_t i = 0; i < n; i++) {
    if (db_level || !strcmp(colls[i]->name, name)) {
      pthread_rwlock_rdlock(&colls[i]->lock);
      objects += (int64_t)colls[i]->count;
      size += (int64_t)colls[i]->bytes;
      nindexes += (int64_t)colls[i]->nindexes;
      pthread_rwlock_unlock(&colls[i]->lock);
      ncolls++;
    }
    coll_unref(colls[i]);
  }
  free(colls);
  if (db_level) {
    BSON_APPEND_UTF8(ctx->reply, "db", ctx->db);
    BSON_APPEND_INT64(ctx->reply, "collections", ncolls);
    BSON_APPEND_INT64(ctx->reply, "objects", objects);
    BSON_APPEND_INT64(ctx->reply, "dataSize", size);
  } else {
    char *ns = bson_strdup_printf("%s.%s", ctx->db, name);
    BSON_APPEND_UTF8(ctx->reply, "ns", ns);
    bson_free(ns);
    BSON_APPEND_INT64(ctx->reply, "count", objects);
    BSON_APPEND_INT64(ctx->reply, "size", size);
  }
  BSON_APPEND_INT64(ctx->reply, "avgObjSize", objects ? size / objects : 0);
  BSON_APPEND_INT64(ctx->reply, "storageSize", size);
  BSON_APPEND_INT64(ctx->reply, db_level ? "indexes" : "nindexes", nindexes);
  return true;
}

/* createIndexes: builds indexes (unique ones enforced from then on),
 * creating the collection when needed. */
static bool cmd_create_indexes(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  bool created_coll, ok = false;
  bson_iter_t it, arr;
  int created = 0;
  if (!cmd_coll_name(ctx, &name, error))
    return false;
  if (!bson_iter_init_find(&it, ctx->body, "indexes") ||
      !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "Must specify at least one index to create");
    return false;
  }
  coll_t *c =
      store_get_coll(ctx->srv->store, ctx->db, name, true, &created_coll);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return false;
  }
  pthread_rwlock_wrlock(&c->lock);
  int32_t before = (int32_t)c->nindexes;
  bool any = false;
  while (bson_iter_next(&arr)) {
    bson_t spec;
    uint32_t len;
    const uint8_t *data;
    bool made;
    any = true;
    if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                     "The field 'indexes' must be an array of objects");
      goto out_unlock;
    }
    bson_iter_document(&arr, &len, &data);
    bson_init_static(&spec, data, len);
    if (!coll_create_index(c, &spec, &made, error))
      goto out_unlock;
    created += made;
  }
  if (!any) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "Must specify at least one index to create");
    goto out_unlock;
  }
  BSON_APPEND_INT32(ctx->reply, "numIndexesBefore", before);
  BSON_APPEND_INT32(ctx->reply, "numIndexesAfter", (int32_t)c->nindexes);
  BSON_APPEND_BOOL(ctx->reply, "createdCollectionAutomatically", created_coll);
  if (!created)
    BSON_APPEND_UTF8(ctx->reply, "note", "all indexes already exist");
  ok = true;
out_unlock:
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  return ok;
}

/* dropIndexes: by name, "*", key pattern or array of names. */
static bool cmd_drop_indexes(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  bson_iter_t it;
  bool ok = true;
  if (!cmd_coll_name(ctx, &name, error))
    return false;
  if (!bson_iter_init_find(&it, ctx->body, "index")) {
    bson_set_error(error, MTS_ERR_DOMAIN, 40414,
                   "BSON field 'dropIndexes.index' is missing but a required "
                   "field");
    return false;
  }
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_NOT_FOUND,
                   "ns not found %s.%s", ctx->db, name);
    return false;
  }
  pthread_rwlock_wrlock(&c->lock);
  int32_t before = (int32_t)c->nindexes;
  if (BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t names;
    bson_iter_recurse(&it, &names);
    while (ok && bson_iter_next(&names))
      ok = coll_drop_index(c, bson_iter_value(&names), error);
  } else {
    ok = coll_drop_index(c, bson_iter_value(&it), error);
  }
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  if (ok)
    BSON_APPEND_INT32(ctx->reply, "nIndexesWas", before);
  return ok;
}

/* ---- dispatch -------------------------------------------------------------
 */

/* A command handler. */
typedef bool (*handler_t)(cmd_ctx_t *ctx, bson_error_t *error);

/* One entry of the command table. */
typedef struct {
  const char *name;  /* command name, case-sensitive as in mongod */
  handler_t handler; /* what runs it */
} command_t;

static const command_t commands[] = {
    {"hello", cmd_hello},
    {"isMaster", cmd_hello},
    {"ismaster", cmd_hello},
    {"ping", cmd_ok},
    {"buildInfo", cmd_build_info},
    {"buildinfo", cmd_build_info},
    {"serverStatus", cmd_server_status},
    {"endSessions", cmd_ok},
    {"killSessions", cmd_ok},
    {"refreshSessions", cmd_ok},
    {"startSession", cmd_ok},
    {"getLastError", cmd_ok},
    {"saslStart", cmd_auth},
    {"saslContinue", cmd_auth},
    {"authenticate", cmd_auth},
    {"getnonce", cmd_auth},
    {"insert", cmd_insert},
    {"update", cmd_update},
    {"delete", cmd_delete},
    {"find", cmd_find},
    {"getMore", cmd_get_more},
    {"killCursors", cmd_kill_cursors},
    {"count", cmd_count},
    {"distinct", cmd_distinct},
    {"aggregate", cmd_aggregate},
    {"create", cmd_create},
    {"drop", cmd_drop},
    {"dropDatabase", cmd_drop_database},
    {"listCollections", cmd_list_collections},
    {"listDatabases", cmd_list_databases},
    {"createIndexes", cmd_create_indexes},
    {"listIndexes", cmd_list_indexes},
    {"dropIndexes", cmd_drop_indexes},
    {"deleteIndexes", cmd_drop_indexes},
    {"collStats", cmd_stats},
    {"dbStats", cmd_stats},
};

/* True for the commands the legacy OP_QUERY path still serves (as mongod
 * 6.0 does: only the handshake). */
static bool legacy_allowed(const char *name)
{
  return !strcmp(name, "hello") || !strcmp(name, "isMaster") ||
         !strcmp(name, "ismaster");
}

void cmd_dispatch(server_t *srv, conn_t *conn, const request_t *req,
                  bson_t *reply, bool *drop)
{
  cmd_ctx_t ctx = {.srv = srv,
                   .conn = conn,
                   .req = req,
                   .body = &req->body,
                   .reply = reply,
                   .name = ""};
  bson_error_t error = {0};
  bson_iter_t it;
  handler_t handler = NULL;
  bool ok = false;

  *drop = false;
  if (bson_iter_init(&it, ctx.body) && bson_iter_next(&it))
    ctx.name = bson_iter_key(&it);
  if (req->opcode == OP_QUERY) {
    ctx.db = req->db;
    if (req->query_not_cmd || !legacy_allowed(ctx.name)) {
      bson_set_error(&error, MTS_ERR_DOMAIN, 352,
                     "Unsupported OP_QUERY command: %s. The client driver "
                     "may require an upgrade. For more details see "
                     "https://dochub.mongodb.org/core/legacy-opcode-removal",
                     ctx.name);
      goto out_reply;
    }
  } else if (bson_iter_init_find(&it, ctx.body, "$db") &&
             BSON_ITER_HOLDS_UTF8(&it)) {
    ctx.db = bson_iter_utf8(&it, NULL);
  } else {
    bson_set_error(&error, MTS_ERR_DOMAIN, ERR_OP_MSG_NO_DB,
                   "OP_MSG requests require a $db argument");
    goto out_reply;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (!strcmp(commands[i].name, ctx.name)) {
      handler = commands[i].handler;
      break;
    }
  }
  if (srv->verbose)
    fprintf(stderr, "mongo-test-server: conn%lld: %s.%s\n", (long long)conn->id,
            ctx.db, ctx.name);
  if (!handler) {
    bson_set_error(&error, MTS_ERR_DOMAIN, ERR_COMMAND_NOT_FOUND,
                   "no such command: '%s'", ctx.name);
    goto out_reply;
  }
  if (srv->users.n && !conn->auth.authenticated && !auth_exempt(ctx.name)) {
    bson_set_error(&error, MTS_ERR_DOMAIN, ERR_UNAUTHORIZED,
                   "Command %s requires authentication", ctx.name);
    goto out_reply;
  }
  ok = handler(&ctx, &error);
  *drop = ctx.drop_connection;

out_reply:
  if (ok) {
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    return;
  }
  /* Errors replace whatever the handler had started to build. */
  bson_reinit(reply);
  BSON_APPEND_DOUBLE(reply, "ok", 0.0);
  BSON_APPEND_UTF8(reply, "errmsg", error.message);
  BSON_APPEND_INT32(reply, "code", (int32_t)error.code);
  BSON_APPEND_UTF8(reply, "codeName", errcode_name((int)error.code));
  if (errcode_is_retryable((int)error.code)) {
    bson_t labels;
    BSON_APPEND_ARRAY_BEGIN(reply, "errorLabels", &labels);
    BSON_APPEND_UTF8(&labels, "0", "RetryableWriteError");
    bson_append_array_end(reply, &labels);
  }
  if (srv->verbose)
    fprintf(stderr, "mongo-test-server: conn%lld: error %u: %s\n",
            (long long)conn->id, error.code, error.message);
}
