/* Command dispatch, shared helpers and the administrative commands:
 * handshake, ping, buildInfo, serverStatus, sessions, authentication
 * (auth.c does the work), create/drop, database and index management. */
#include "commands.h"

#include "bval.h"
#include "errors.h"
#include "validate.h"

#include <errno.h>
#include <poll.h>
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

bool cmd_replayed(cmd_ctx_t *ctx)
{
  if (!ctx->replay)
    return false;
  bson_concat(ctx->reply, ctx->replay);
  ctx->replayed = true;
  return true;
}

/* ---- cluster time ----------------------------------------------------------
 * A replica set member or a router reports a logical clock: $clusterTime
 * and operationTime on every reply, lastWrite in hello. It is a Timestamp
 * (seconds, increment) that every write advances. */

/* Advances the clock for a write; secs and inc receive its time. */
static void clock_tick(server_t *s, uint32_t *secs, uint32_t *inc)
{
  uint32_t now = (uint32_t)time(NULL);
  pthread_mutex_lock(&s->clock_lock);
  if (now > s->clock_secs) {
    s->clock_secs = now;
    s->clock_inc = 1;
  } else {
    s->clock_inc++;
  }
  *secs = s->clock_secs;
  *inc = s->clock_inc;
  pthread_mutex_unlock(&s->clock_lock);
}

/* Reads the clock: the time of the newest write. */
static void clock_read(server_t *s, uint32_t *secs, uint32_t *inc)
{
  pthread_mutex_lock(&s->clock_lock);
  *secs = s->clock_secs;
  *inc = s->clock_inc;
  pthread_mutex_unlock(&s->clock_lock);
}

/* Appends $clusterTime {clusterTime, signature: {hash, keyId}} (an unsigned
 * one, as a member without keys sends) and operationTime. */
static void append_cluster_time(bson_t *reply, uint32_t op_secs,
                                uint32_t op_inc, uint32_t secs, uint32_t inc)
{
  static const uint8_t zero_hash[20];
  bson_t ct, sig;
  BSON_APPEND_DOCUMENT_BEGIN(reply, "$clusterTime", &ct);
  BSON_APPEND_TIMESTAMP(&ct, "clusterTime", secs, inc);
  BSON_APPEND_DOCUMENT_BEGIN(&ct, "signature", &sig);
  BSON_APPEND_BINARY(&sig, "hash", BSON_SUBTYPE_BINARY, zero_hash,
                     sizeof zero_hash);
  BSON_APPEND_INT64(&sig, "keyId", 0);
  bson_append_document_end(&ct, &sig);
  bson_append_document_end(reply, &ct);
  BSON_APPEND_TIMESTAMP(reply, "operationTime", op_secs, op_inc);
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

/* An awaitable hello (the streaming protocol of drivers that saw a
 * topologyVersion): when the client's topologyVersion is the current one
 * (this process, counter 0: the topology never changes), the reply waits
 * maxAwaitTimeMS, or until the client sends something or hangs up, or the
 * server stops (shutdown wakes the socket). No lock is held. */
static void hello_await(cmd_ctx_t *ctx)
{
  bson_t tv;
  bool present;
  bson_error_t ignored;
  bson_iter_t it;
  int64_t wait_ms = -1, counter = -1;
  if (!cmd_opt_doc(ctx->body, "topologyVersion", &tv, &present, &ignored) ||
      !present ||
      !cmd_opt_int64(ctx->body, "maxAwaitTimeMS", &wait_ms, &ignored) ||
      wait_ms <= 0)
    return;
  if (!bson_iter_init_find(&it, &tv, "processId") ||
      !BSON_ITER_HOLDS_OID(&it) ||
      !bson_oid_equal(bson_iter_oid(&it), &ctx->srv->process_id) ||
      !cmd_opt_int64(&tv, "counter", &counter, &ignored) || counter != 0)
    return;
  struct pollfd p = {.fd = ctx->conn->fd, .events = POLLIN};
  if (wait_ms > 10 * 60 * 1000)
    wait_ms = 10 * 60 * 1000;
  while (poll(&p, 1, (int)wait_ms) < 0 && errno == EINTR)
    ;
}

/* The fields a one-member replica set's primary adds to hello, in mongod
 * 6.0's order; those before isWritablePrimary when before is true, the
 * others after. */
static void hello_repl_set(cmd_ctx_t *ctx, bool before)
{
  server_t *s = ctx->srv;
  bson_t *r = ctx->reply, a, lw, ot;
  if (before) {
    BSON_APPEND_ARRAY_BEGIN(r, "hosts", &a);
    BSON_APPEND_UTF8(&a, "0", s->host);
    bson_append_array_end(r, &a);
    BSON_APPEND_UTF8(r, "setName", s->repl_set);
    BSON_APPEND_INT32(r, "setVersion", 1);
    return;
  }
  /* Term 1's election id, as mongod makes it: 7fffffff then the term. */
  static const uint8_t election[12] = {0x7f, 0xff, 0xff, 0xff, 0, 0,
                                       0,    0,    0,    0,    0, 1};
  bson_oid_t eid;
  uint32_t secs, inc;
  memcpy(eid.bytes, election, sizeof eid.bytes);
  clock_read(s, &secs, &inc);
  BSON_APPEND_BOOL(r, "secondary", false);
  BSON_APPEND_UTF8(r, "primary", s->host);
  BSON_APPEND_UTF8(r, "me", s->host);
  BSON_APPEND_OID(r, "electionId", &eid);
  BSON_APPEND_DOCUMENT_BEGIN(r, "lastWrite", &lw);
  BSON_APPEND_DOCUMENT_BEGIN(&lw, "opTime", &ot);
  BSON_APPEND_TIMESTAMP(&ot, "ts", secs, inc);
  BSON_APPEND_INT64(&ot, "t", 1);
  bson_append_document_end(&lw, &ot);
  BSON_APPEND_DATE_TIME(&lw, "lastWriteDate", (int64_t)secs * 1000);
  BSON_APPEND_DOCUMENT_BEGIN(&lw, "majorityOpTime", &ot);
  BSON_APPEND_TIMESTAMP(&ot, "ts", secs, inc);
  BSON_APPEND_INT64(&ot, "t", 1);
  bson_append_document_end(&lw, &ot);
  BSON_APPEND_DATE_TIME(&lw, "majorityWriteDate", (int64_t)secs * 1000);
  bson_append_document_end(r, &lw);
}

/* hello / isMaster / ismaster: describes a standalone server, the primary
 * of a one-member replica set (--repl-set) or a mongos (--router).
 * Negotiates compression: the client's compressors this server has
 * (snappy, zlib, zstd), in the client's order. */
static bool cmd_hello(cmd_ctx_t *ctx, bson_error_t *error)
{
  (void)error;
  bson_iter_t it, arr;
  conn_t *conn = ctx->conn;
  server_mode_t mode = ctx->srv->mode;
  if (mode != MODE_STANDALONE)
    hello_await(ctx);
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
  if (mode != MODE_STANDALONE) {
    bson_t tv;
    BSON_APPEND_DOCUMENT_BEGIN(r, "topologyVersion", &tv);
    BSON_APPEND_OID(&tv, "processId", &ctx->srv->process_id);
    BSON_APPEND_INT64(&tv, "counter", 0);
    bson_append_document_end(r, &tv);
  }
  if (mode == MODE_REPL_SET)
    hello_repl_set(ctx, true);
  if (bson_iter_init_find(&it, ctx->body, "helloOk") &&
      bval_truthy(bson_iter_value(&it)))
    BSON_APPEND_BOOL(r, "helloOk", true);
  if (!strcmp(ctx->name, "hello"))
    BSON_APPEND_BOOL(r, "isWritablePrimary", true);
  else
    BSON_APPEND_BOOL(r, "ismaster", true);
  if (mode == MODE_REPL_SET)
    hello_repl_set(ctx, false);
  else if (mode == MODE_ROUTER)
    BSON_APPEND_UTF8(r, "msg", "isdbgrid");
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

/* serverStatus' opcounters, metrics.commands of the write commands and,
 * on a replica set, repl. */
static void status_counters(cmd_ctx_t *ctx)
{
  static const char *const opc[OPC_COUNT] = {"insert", "query",   "update",
                                             "delete", "getmore", "command"};
  static const char *const wcmd[WCMD_COUNT] = {"insert", "update", "delete"};
  server_t *s = ctx->srv;
  bson_t *r = ctx->reply, d, m, c, one;
  BSON_APPEND_DOCUMENT_BEGIN(r, "opcounters", &d);
  for (int i = 0; i < OPC_COUNT; i++)
    BSON_APPEND_INT64(&d, opc[i], atomic_load(&s->opcounters[i]));
  bson_append_document_end(r, &d);
  BSON_APPEND_DOCUMENT_BEGIN(r, "metrics", &m);
  BSON_APPEND_DOCUMENT_BEGIN(&m, "commands", &c);
  for (int i = 0; i < WCMD_COUNT; i++) {
    BSON_APPEND_DOCUMENT_BEGIN(&c, wcmd[i], &one);
    BSON_APPEND_INT64(&one, "failed", atomic_load(&s->write_cmds[i][1]));
    BSON_APPEND_INT64(&one, "total", atomic_load(&s->write_cmds[i][0]));
    bson_append_document_end(&c, &one);
  }
  bson_append_document_end(&m, &c);
  bson_append_document_end(r, &m);
  if (s->mode == MODE_REPL_SET) {
    bson_t a;
    BSON_APPEND_DOCUMENT_BEGIN(r, "repl", &d);
    BSON_APPEND_ARRAY_BEGIN(&d, "hosts", &a);
    BSON_APPEND_UTF8(&a, "0", s->host);
    bson_append_array_end(&d, &a);
    BSON_APPEND_UTF8(&d, "setName", s->repl_set);
    BSON_APPEND_INT32(&d, "setVersion", 1);
    BSON_APPEND_BOOL(&d, "isWritablePrimary", true);
    BSON_APPEND_BOOL(&d, "secondary", false);
    BSON_APPEND_UTF8(&d, "primary", s->host);
    BSON_APPEND_UTF8(&d, "me", s->host);
    bson_append_document_end(r, &d);
  }
}

/* serverStatus: the parts a test may look at: uptime, connections,
 * opcounters (insert counts documents as mongod does;
 * metrics.commands.insert.total counts insert commands), and the
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
  BSON_APPEND_UTF8(r, "host", s->host[0] ? s->host : "127.0.0.1");
  BSON_APPEND_UTF8(r, "version", MTS_VERSION);
  BSON_APPEND_UTF8(r, "process",
                   s->mode == MODE_ROUTER ? "mongos" : "mongo-test-server");
  BSON_APPEND_INT64(r, "pid", (int64_t)getpid());
  BSON_APPEND_DOUBLE(r, "uptime", (double)(up / 1000000));
  BSON_APPEND_INT64(r, "uptimeMillis", up / 1000);
  BSON_APPEND_DATE_TIME(r, "localTime", (int64_t)time(NULL) * 1000);
  BSON_APPEND_DOCUMENT_BEGIN(r, "connections", &c);
  BSON_APPEND_INT32(&c, "current", (int32_t)atomic_load(&s->conns_current));
  BSON_APPEND_INT32(&c, "available", 1000000);
  BSON_APPEND_INT32(&c, "totalCreated", (int32_t)atomic_load(&s->conns_total));
  bson_append_document_end(r, &c);
  status_counters(ctx);
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
  validator_t *v;
  if (!cmd_coll_name(ctx, &name, error) ||
      !validator_from_command(ctx->body, &v, error))
    return false;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, true, &created);
  if (!c) {
    validator_free(v);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return false;
  }
  if (!created) {
    validator_free(v);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_EXISTS,
                   "Collection %s already exists.", c->ns);
    coll_unref(c);
    return false;
  }
  bson_iter_t it;
  pthread_rwlock_wrlock(&c->lock);
  c->validator = v;
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
    if (!ctx->error_info)
      ctx->error_info = bson_new();
    if (!coll_create_index(c, &spec, &made, ctx->error_info, error))
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
    {"collMod", cmd_coll_mod},
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

/* ---- write concern and retryable writes --------------------------------- */

/* A command's writeConcern. */
typedef struct {
  bool given;       /* the command carried one */
  const char *mode; /* w as a string ("majority", a tag set), or NULL */
  int64_t w;        /* w as a number (1 when absent) */
  int j;            /* j: -1 absent, else 0 or 1 */
  int64_t wtimeout; /* wtimeout in milliseconds (0 when absent) */
} write_concern_t;

/* True for the commands that take a writeConcern (those that write). */
static bool takes_write_concern(const char *name)
{
  static const char *const names[] = {
      "insert",      "update",        "delete",       "create",
      "drop",        "collMod",       "dropDatabase", "createIndexes",
      "dropIndexes", "deleteIndexes",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(name, names[i]))
      return true;
  return false;
}

/* Which write command name is, as an index of server_t.write_cmds, or -1. */
static int write_cmd_index(const char *name)
{
  if (!strcmp(name, "insert"))
    return WCMD_INSERT;
  if (!strcmp(name, "update"))
    return WCMD_UPDATE;
  if (!strcmp(name, "delete"))
    return WCMD_DELETE;
  return -1;
}

/* Reads the command's writeConcern and checks it as mongod 6.0 does before
 * running the command: a malformed one is 9 FailedToParse; on a standalone
 * server, w above 1 or a w mode other than "majority" is 2 BadValue (the
 * command then does nothing). j and wtimeout are accepted everywhere. */
static bool parse_write_concern(const cmd_ctx_t *ctx, write_concern_t *wc,
                                bson_error_t *error)
{
  bson_iter_t it, f;
  memset(wc, 0, sizeof *wc);
  wc->w = 1;
  wc->j = -1;
  if (!bson_iter_init_find(&it, ctx->body, "writeConcern"))
    return true;
  if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                   "writeConcern must be an object");
    return false;
  }
  wc->given = true;
  while (bson_iter_next(&f)) {
    const char *key = bson_iter_key(&f);
    const bson_value_t *v = bson_iter_value(&f);
    if (!strcmp(key, "w")) {
      if (BSON_ITER_HOLDS_UTF8(&f)) {
        wc->mode = bson_iter_utf8(&f, NULL);
        if (!strcmp(wc->mode, "majority"))
          continue;
        if (ctx->srv->mode == MODE_STANDALONE) {
          bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                         "cannot use non-majority 'w' mode %s when a host is "
                         "not a member of a replica set",
                         wc->mode);
          return false;
        }
      } else if (!bval_as_int64(v, &wc->w) || wc->w < 0 || wc->w > 50) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                       "w has to be a non-negative number and not greater "
                       "than 50, or a string");
        return false;
      } else if (wc->w > 1 && ctx->srv->mode == MODE_STANDALONE) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                       "cannot use 'w' > 1 when a host is not replicated");
        return false;
      }
    } else if (!strcmp(key, "j") || !strcmp(key, "fsync")) {
      if (!BSON_ITER_HOLDS_BOOL(&f) && !BSON_ITER_HOLDS_NUMBER(&f)) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                       "%s must be a boolean", key);
        return false;
      }
      if (!strcmp(key, "j"))
        wc->j = bval_truthy(v) ? 1 : 0;
    } else if (!strcmp(key, "wtimeout") || !strcmp(key, "wTimeout")) {
      if (!bval_as_int64(v, &wc->wtimeout)) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                       "wtimeout must be a number");
        return false;
      }
    }
  }
  return true;
}

/* The writeConcernError a one-member replica set (or a router in front of
 * one) answers to an applied write: 100 UnsatisfiableWriteConcern for w
 * above 1, 79 UnknownReplWriteConcern for a tag set. 0 when satisfied. */
static int unsatisfied_code(const server_t *srv, const write_concern_t *wc)
{
  if (srv->mode == MODE_STANDALONE)
    return 0; /* refused before running: parse_write_concern() */
  if (wc->mode && strcmp(wc->mode, "majority"))
    return ERR_UNKNOWN_REPL_WRITE_CONCERN;
  if (!wc->mode && wc->w > 1)
    return ERR_UNSATISFIABLE_WRITE_CONCERN;
  return 0;
}

/* Appends writeConcernError {code, codeName, errmsg, errInfo} in mongod
 * 6.0's shape: errInfo.writeConcern is the write concern used, with its
 * provenance; 64 WriteConcernFailed (a wtimeout) adds errInfo.wtimeout. */
static void append_wc_error(const server_t *srv, bson_t *reply,
                            const write_concern_t *wc, int code)
{
  bson_t e, info, w;
  BSON_APPEND_DOCUMENT_BEGIN(reply, "writeConcernError", &e);
  BSON_APPEND_INT32(&e, "code", code);
  BSON_APPEND_UTF8(&e, "codeName", errcode_name(code));
  if (code == ERR_WRITE_CONCERN_FAILED) {
    BSON_APPEND_UTF8(&e, "errmsg", "waiting for replication timed out");
  } else if (code == ERR_UNSATISFIABLE_WRITE_CONCERN) {
    BSON_APPEND_UTF8(&e, "errmsg", "Not enough data-bearing nodes");
  } else if (code == ERR_UNKNOWN_REPL_WRITE_CONCERN) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "No write concern mode named '%s' found in replica set "
             "configuration",
             wc->mode);
    BSON_APPEND_UTF8(&e, "errmsg", msg);
  } else {
    char msg[200];
    snprintf(msg, sizeof msg, "mongo-test-server: injected fault: %s",
             errcode_name(code));
    BSON_APPEND_UTF8(&e, "errmsg", msg);
  }
  BSON_APPEND_DOCUMENT_BEGIN(&e, "errInfo", &info);
  if (code == ERR_WRITE_CONCERN_FAILED)
    BSON_APPEND_BOOL(&info, "wtimeout", true);
  BSON_APPEND_DOCUMENT_BEGIN(&info, "writeConcern", &w);
  if (wc->mode)
    BSON_APPEND_UTF8(&w, "w", wc->mode);
  else if (!wc->given && srv->mode == MODE_REPL_SET)
    BSON_APPEND_UTF8(&w, "w", "majority"); /* 5.0+'s implicit default */
  else
    BSON_APPEND_INT32(&w, "w", (int32_t)wc->w);
  if (wc->j >= 0)
    BSON_APPEND_BOOL(&w, "j", wc->j == 1);
  BSON_APPEND_INT32(&w, "wtimeout", (int32_t)wc->wtimeout);
  BSON_APPEND_UTF8(&w, "provenance",
                   wc->given ? "clientSupplied" : "implicitDefault");
  bson_append_document_end(&info, &w);
  bson_append_document_end(&e, &info);
  bson_append_document_end(reply, &e);
}

/* Appends errorLabels: ["RetryableWriteError"]. */
static void append_retryable_label(bson_t *reply)
{
  bson_t labels;
  BSON_APPEND_ARRAY_BEGIN(reply, "errorLabels", &labels);
  BSON_APPEND_UTF8(&labels, "0", "RetryableWriteError");
  bson_append_array_end(reply, &labels);
}

/* The hex of the lsid's id (a UUID), for messages; "?" otherwise. */
static void lsid_hex(const bson_t *lsid, char *out, size_t out_len)
{
  bson_iter_t it;
  bson_subtype_t sub;
  uint32_t len;
  const uint8_t *data;
  snprintf(out, out_len, "?");
  if (!bson_iter_init_find(&it, lsid, "id") || !BSON_ITER_HOLDS_BINARY(&it))
    return;
  bson_iter_binary(&it, &sub, &len, &data);
  for (uint32_t i = 0; i < len && 2 * i + 2 < out_len; i++)
    snprintf(out + 2 * i, 3, "%02x", data[i]);
}

/* For a write command carrying txnNumber (a retryable write): checks out
 * its session in *session and decides whether it runs or replays its
 * recorded reply (ctx->replay). Fails with 20 on a standalone server (as
 * mongod), 72 without an lsid, 225 when the session already started a
 * newer txnNumber. */
static bool retry_prepare(cmd_ctx_t *ctx, retry_session_t **session,
                          int64_t *txn, bson_error_t *error)
{
  bson_iter_t it;
  bson_t lsid;
  bool has_lsid;
  *session = NULL;
  if (!bson_iter_init_find(&it, ctx->body, "txnNumber"))
    return true;
  if (!BSON_ITER_HOLDS_INT64(&it) && !BSON_ITER_HOLDS_INT32(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "BSON field 'txnNumber' is the wrong type, expected type "
                   "'long'");
    return false;
  }
  *txn = bson_iter_as_int64(&it);
  if (ctx->srv->mode == MODE_STANDALONE) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_ILLEGAL_OPERATION,
                   "Transaction numbers are only allowed on a replica set "
                   "member or mongos");
    return false;
  }
  if (!cmd_opt_doc(ctx->body, "lsid", &lsid, &has_lsid, error))
    return false;
  if (!has_lsid) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_OPTIONS,
                   "Transaction number requires a session ID to also be "
                   "specified");
    return false;
  }
  *session = retry_checkout(&ctx->srv->retry, &lsid);
  if (!*session) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return false;
  }
  int64_t newest = 0;
  switch (retry_begin(*session, *txn, &ctx->replay, &newest)) {
  case RETRY_RUN:
  case RETRY_REPLAY:
    return true;
  case RETRY_TOO_OLD: {
    char hex[40];
    lsid_hex(&lsid, hex, sizeof hex);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TRANSACTION_TOO_OLD,
                   "Retryable write with txnNumber %lld is prohibited on "
                   "session %s because a newer retryable write with "
                   "txnNumber %lld has already started on this session.",
                   (long long)*txn, hex, (long long)newest);
    return false;
  }
  }
  return false;
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
  write_concern_t wc = {.w = 1, .j = -1};
  retry_session_t *session = NULL;
  int64_t txn = 0;
  int wcmd = -1;
  uint32_t op_secs = 0, op_inc = 0;

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
    fprintf(stderr, "mongo-test-server: conn%lld: %s.%s%s\n",
            (long long)conn->id, ctx.db, ctx.name,
            validator_bypassed(ctx.body) ? " bypassDocumentValidation" : "");
  /* opcounters: the write commands count their statements themselves. */
  wcmd = write_cmd_index(ctx.name);
  if (wcmd >= 0)
    atomic_fetch_add(&srv->write_cmds[wcmd][0], 1);
  else
    atomic_fetch_add(
        &srv->opcounters[!strcmp(ctx.name, "find")      ? OPC_QUERY
                         : !strcmp(ctx.name, "getMore") ? OPC_GETMORE
                                                        : OPC_COMMAND],
        1);
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
  if (takes_write_concern(ctx.name) && !parse_write_concern(&ctx, &wc, &error))
    goto out_reply;
  if (wcmd >= 0 && !retry_prepare(&ctx, &session, &txn, &error))
    goto out_reply;
  ok = handler(&ctx, &error);
  *drop = ctx.drop_connection;
  if (ok && takes_write_concern(ctx.name) && !ctx.replayed)
    clock_tick(srv, &op_secs, &op_inc);
  /* What a retry of this write will be answered: the reply as the command
   * built it, before write concern and cluster time. */
  if (ok && session && ctx.applied)
    retry_record(session, txn, reply);
  if (ok && !*drop && takes_write_concern(ctx.name)) {
    int code = ctx.wc_error ? ctx.wc_error : unsatisfied_code(srv, &wc);
    if (code) {
      append_wc_error(srv, reply, &wc, code);
      if (errcode_is_retryable(code))
        append_retryable_label(reply);
    }
  }

out_reply:
  if (session)
    retry_checkin(&srv->retry, session);
  if (ok) {
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
  } else {
    /* Errors replace whatever the handler had started to build. */
    bson_reinit(reply);
    BSON_APPEND_DOUBLE(reply, "ok", 0.0);
    BSON_APPEND_UTF8(reply, "errmsg", error.message);
    BSON_APPEND_INT32(reply, "code", (int32_t)error.code);
    BSON_APPEND_UTF8(reply, "codeName", errcode_name((int)error.code));
    if (ctx.error_info)
      bson_concat(reply, ctx.error_info);
    if (errcode_is_retryable((int)error.code))
      append_retryable_label(reply);
    if (wcmd >= 0)
      atomic_fetch_add(&srv->write_cmds[wcmd][1], 1);
    if (srv->verbose)
      fprintf(stderr, "mongo-test-server: conn%lld: error %u: %s\n",
              (long long)conn->id, error.code, error.message);
  }
  if (srv->mode != MODE_STANDALONE) {
    uint32_t secs, inc;
    clock_read(srv, &secs, &inc);
    if (!op_secs) {
      op_secs = secs;
      op_inc = inc;
    }
    append_cluster_time(reply, op_secs, op_inc, secs, inc);
  }
  if (ctx.error_info)
    bson_destroy(ctx.error_info);
}
