/* sink_mongo: MongoDB through libmongoc.
 *
 * The factory owns one mongoc_client_pool_t; every sink pops its own client
 * from it, so workers never share a connection or a lock on the hot path.
 * Batches go out as one unordered bulk write (inserts, replacements,
 * updates or deletes, by --mode): documents the server refuses one by one
 * (duplicate _id, validation) come back as writeErrors with their index in
 * the batch; a failure of the whole batch (connection lost, server error)
 * fails the write with the server's code. With --stop-on-error the bulk is
 * ordered: the server stops at the first refused document and the rest of
 * the batch is not sent (result->stopped). */
#include "loader/error.h"
#include "loader/util.h"
#include "sink_impl.h"

#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without these, a server that isn't there costs 30 s per attempt. */
#define SINK_MONGO_SELECTION_TIMEOUT_MS 5000
#define SINK_MONGO_CONNECT_TIMEOUT_MS 5000
/* Longest "$field" path an index's duplicate search groups by. */
#define SINK_MONGO_PATH_MAX 1100

typedef struct sink_mongo_factory {
  mongoc_uri_t *uri;          /* parsed target URI */
  mongoc_client_pool_t *pool; /* one client per open sink */
  char *db;                   /* database name */
  sink_mode_t mode;           /* insert, upsert or merge */
  char **upsert_fields;       /* fields that select the document to replace
                                 or update (owned) */
  size_t n_upsert_fields;     /* how many (at least 1: _id by default) */
  bool ordered;               /* ordered bulks (--stop-on-error) */
  bool bypass;                /* bypassDocumentValidation on every write */
} sink_mongo_factory_t;

typedef struct sink_mongo {
  sink_mongo_factory_t *factory; /* where the client came from */
  mongoc_client_t *client;       /* this sink's own client */
  mongoc_collection_t *coll;     /* the target collection */
  bson_t bulk_opts;              /* {ordered: false}, or true */
  bson_t insert_opts;            /* {validate: false}: documents were built
                                    and checked by the loader */
  bson_t upsert_opts;            /* {upsert: true, validate: false} */
  size_t *op_doc;                /* batch index of each bulk operation */
  size_t op_cap;                 /* entries allocated in op_doc */
  uint64_t *keys;                /* set of the upsert key hashes of the
                                    current bulk (open addressing) */
  size_t key_cap;                /* slots in keys, a power of two */
} sink_mongo_t;

static void sink_mongo__factory_destroy(void *state)
{
  sink_mongo_factory_t *f = state;
  if (!f)
    return;
  mongoc_client_pool_destroy(f->pool);
  mongoc_uri_destroy(f->uri);
  free(f->db);
  for (size_t i = 0; i < f->n_upsert_fields; i++)
    free(f->upsert_fields[i]);
  free(f->upsert_fields);
  free(f);
}

/* Removes from error's message what may be a secret of uri: libmongoc's
 * messages may quote parts of the URI, the password ('Password "%s" must
 * not have unescaped chars'), an option's value ('Deprecated option '%s=%s'
 * conflicts...') or a host cut out of a password ("Failed to resolve
 * ss@host" for "alice:p@ss@host") among them. */
static void sink_mongo__scrub(bson_error_t *error, const char *uri)
{
  char *safe = util_redact_message(error->message, uri);
  bson_strncpy(error->message, safe, sizeof error->message);
  explicit_bzero(safe, strlen(safe));
  free(safe);
}

/* Fills error, a usage error, from libmongoc's refusal of the URI. */
static void sink_mongo__uri_error(bson_error_t *error,
                                  const bson_error_t *uri_error,
                                  const char *uri)
{
  bson_set_error(error, LOADER_ERROR_USAGE, 0, "invalid URI: %s",
                 uri_error->message);
  sink_mongo__scrub(error, uri);
}

/* Reads one value of a write concern document: a number, true/false, or
 * a string (quoted with ' or ", or bare). Copies it to out (cap bytes)
 * and returns where it ends, or NULL when it does not end well. */
static const char *sink_mongo__wc_value(const char *p, char *out, size_t cap)
{
  size_t n = 0;
  if (*p == '\'' || *p == '"') {
    char q = *p++;
    while (*p && *p != q && n + 1 < cap)
      out[n++] = *p++;
    if (*p != q)
      return NULL;
    p++;
  } else {
    while (*p && !strchr(",}: ", *p) && n + 1 < cap)
      out[n++] = *p++;
  }
  out[n] = '\0';
  return n ? p : NULL;
}

/* Sets w on wc from a value: a number of members, "majority", or a tag
 * set's name. Returns false when it cannot be. */
static bool sink_mongo__wc_w(mongoc_write_concern_t *wc, const char *v)
{
  char *end;
  long w = strtol(v, &end, 10);
  if (*end == '\0') {
    /* w: 0 parses, to be refused with the reason once set. */
    if (w < 0 || w > 1000)
      return false;
    mongoc_write_concern_set_w(wc, (int32_t)w);
  } else if (strcmp(v, "majority") == 0) {
    int64_t wtimeout = mongoc_write_concern_get_wtimeout_int64(wc);
    mongoc_write_concern_set_wmajority(wc, 0);
    mongoc_write_concern_set_wtimeout_int64(wc, wtimeout);
  } else {
    mongoc_write_concern_set_wtag(wc, v);
  }
  return true;
}

/* Parses --write-concern: "majority", "N", a tag, or a document of w, j
 * (or fsync) and wtimeout (or wtimeoutMS) as mongoimport takes it:
 * '{w: "majority", j: true, wtimeout: 5000}', keys and strings quoted or
 * not. Returns NULL and fills error (a usage error) otherwise. */
static mongoc_write_concern_t *sink_mongo__write_concern(const char *spec,
                                                         bson_error_t *error)
{
  mongoc_write_concern_t *wc = mongoc_write_concern_new();
  const char *p = spec;
  char key[32], val[128];
  while (*p == ' ')
    p++;
  if (*p != '{') {
    if (sink_mongo__wc_value(p, val, sizeof val) && sink_mongo__wc_w(wc, val))
      return wc;
    goto bad;
  }
  for (p++;;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == '}' && p[1] == '\0')
      return wc;
    if (!(p = sink_mongo__wc_value(p, key, sizeof key)))
      goto bad;
    while (*p == ' ')
      p++;
    if (*p++ != ':')
      goto bad;
    while (*p == ' ')
      p++;
    if (!(p = sink_mongo__wc_value(p, val, sizeof val)))
      goto bad;
    bool yes = strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
    bool no = strcmp(val, "false") == 0 || strcmp(val, "0") == 0;
    char *end;
    long long ms = strtoll(val, &end, 10);
    if (strcmp(key, "w") == 0) {
      if (!sink_mongo__wc_w(wc, val))
        goto bad;
    } else if ((strcmp(key, "j") == 0 || strcmp(key, "fsync") == 0) &&
               (yes || no)) {
      mongoc_write_concern_set_journal(wc, yes);
    } else if ((strcmp(key, "wtimeout") == 0 ||
                strcmp(key, "wtimeoutMS") == 0) &&
               *end == '\0' && ms >= 0) {
      mongoc_write_concern_set_wtimeout_int64(wc, ms);
    } else {
      goto bad;
    }
  }
bad:
  mongoc_write_concern_destroy(wc);
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "--write-concern: cannot use \"%s\" (majority, a number of "
                 "members, a tag, or '{w: N|majority, j: true|false, "
                 "wtimeout: MS}')",
                 spec);
  return NULL;
}

static void *sink_mongo__factory_new(const sink_config_t *config,
                                     bson_error_t *error)
{
  sink_mongo_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  bson_error_t uri_error;
  f->uri = mongoc_uri_new_with_error(config->uri, &uri_error);
  if (!f->uri) {
    sink_mongo__uri_error(error, &uri_error, config->uri);
    goto out_fail;
  }
  if (config->password) {
    /* --password-file: the password goes to the parsed URI, never into a
     * URI string. */
    const char *user = mongoc_uri_get_username(f->uri);
    if (!user || !*user || mongoc_uri_get_password(f->uri)) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--password-file: the URI must name a user and no "
                     "password (mongodb://USER@host/...)");
      goto out_fail;
    }
    if (!mongoc_uri_set_password(f->uri, config->password)) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--password-file: the password is not valid UTF-8");
      goto out_fail;
    }
  }
  if (mongoc_uri_get_option_as_int32(
          f->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, -1) == -1)
    mongoc_uri_set_option_as_int32(f->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                   SINK_MONGO_SELECTION_TIMEOUT_MS);
  if (mongoc_uri_get_option_as_int32(f->uri, MONGOC_URI_CONNECTTIMEOUTMS, -1) ==
      -1)
    mongoc_uri_set_option_as_int32(f->uri, MONGOC_URI_CONNECTTIMEOUTMS,
                                   SINK_MONGO_CONNECT_TIMEOUT_MS);
  if (!mongoc_uri_get_option_as_utf8(f->uri, MONGOC_URI_APPNAME, NULL))
    mongoc_uri_set_appname(f->uri, "loader");
  if (config->write_concern) {
    mongoc_write_concern_t *wc =
        sink_mongo__write_concern(config->write_concern, error);
    if (!wc)
      goto out_fail;
    mongoc_uri_set_write_concern(f->uri, wc);
    mongoc_write_concern_destroy(wc);
  }
  const mongoc_write_concern_t *wc = mongoc_uri_get_write_concern(f->uri);
  if (mongoc_write_concern_get_w(wc) == MONGOC_WRITE_CONCERN_W_UNACKNOWLEDGED) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "w=0 does not acknowledge writes: the loader could not "
                   "tell what landed (use w=1 or more)");
    goto out_fail;
  }

  const char *db = config->db;
  if (!db || !*db)
    db = mongoc_uri_get_database(f->uri);
  if (!db || !*db)
    db = "loader";
  f->db = strdup(db);
  f->mode = config->mode;
  f->ordered = config->ordered;
  f->bypass = config->bypass_validation;
  size_t n = config->n_upsert_fields ? config->n_upsert_fields : 1;
  f->upsert_fields = calloc(n, sizeof *f->upsert_fields);
  if (!f->db || !f->upsert_fields) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out_fail;
  }
  for (size_t i = 0; i < n; i++) {
    f->upsert_fields[i] =
        strdup(config->n_upsert_fields ? config->upsert_fields[i] : "_id");
    if (!f->upsert_fields[i]) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      goto out_fail;
    }
    f->n_upsert_fields = i + 1;
  }

  f->pool = mongoc_client_pool_new_with_error(f->uri, &uri_error);
  if (!f->pool) {
    sink_mongo__uri_error(error, &uri_error, config->uri);
    goto out_fail;
  }
  mongoc_client_pool_set_error_api(f->pool, MONGOC_ERROR_API_VERSION_2);
  uint32_t max = config->workers + 2;
  if (max < 100)
    max = 100;
  mongoc_client_pool_max_size(f->pool, max);
  return f;

out_fail:
  sink_mongo__factory_destroy(f);
  return NULL;
}

static bool sink_mongo__factory_check(void *state, bson_error_t *error)
{
  sink_mongo_factory_t *f = state;
  mongoc_client_t *client = mongoc_client_pool_pop(f->pool);
  bson_t ping = BSON_INITIALIZER;
  BSON_APPEND_INT32(&ping, "ping", 1);
  bool ok =
      mongoc_client_command_simple(client, "admin", &ping, NULL, NULL, error);
  bson_destroy(&ping);
  mongoc_client_pool_push(f->pool, client);
  if (!ok)
    sink_mongo__scrub(error, mongoc_uri_get_string(f->uri));
  return ok;
}

static const char *sink_mongo__factory_db(const void *state)
{
  return ((const sink_mongo_factory_t *)state)->db;
}

static void *sink_mongo__open(void *state, const char *collection,
                              bson_error_t *error)
{
  (void)error;
  sink_mongo_factory_t *f = state;
  sink_mongo_t *s = calloc(1, sizeof *s);
  if (!s) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  s->factory = f;
  s->client = mongoc_client_pool_pop(f->pool);
  s->coll = mongoc_client_get_collection(s->client, f->db, collection);
  bson_init(&s->bulk_opts);
  BSON_APPEND_BOOL(&s->bulk_opts, "ordered", f->ordered);
  bson_init(&s->insert_opts);
  BSON_APPEND_BOOL(&s->insert_opts, "validate", false);
  bson_init(&s->upsert_opts);
  BSON_APPEND_BOOL(&s->upsert_opts, "upsert", true);
  return s;
}

static bool sink_mongo__count(void *sink, int64_t *count, bson_error_t *error)
{
  sink_mongo_t *s = sink;
  bson_t filter = BSON_INITIALIZER;
  int64_t n = mongoc_collection_count_documents(s->coll, &filter, NULL, NULL,
                                                NULL, error);
  bson_destroy(&filter);
  if (n < 0) {
    sink_mongo__scrub(error, mongoc_uri_get_string(s->factory->uri));
    return false;
  }
  *count = n;
  return true;
}

static bool sink_mongo__drop(void *sink, bson_error_t *error)
{
  sink_mongo_t *s = sink;
  bson_error_t err;
  if (mongoc_collection_drop_with_opts(s->coll, NULL, &err))
    return true;
  /* 26 NamespaceNotFound: nothing to drop. */
  if (err.code == 26 || strstr(err.message, "ns not found"))
    return true;
  *error = err;
  sink_mongo__scrub(error, mongoc_uri_get_string(s->factory->uri));
  return false;
}

/* Returns true when error says the batch never got a complete answer: the
 * connection or the server, not the documents. */
static bool sink_mongo__is_transport(const bson_error_t *error)
{
  return error->domain == MONGOC_ERROR_STREAM ||
         error->domain == MONGOC_ERROR_SERVER_SELECTION ||
         error->domain == MONGOC_ERROR_PROTOCOL;
}

/* Returns true for the server codes a write may be retried after (the
 * retryable-writes specification's list, and stale routing): the server
 * was not primary, shutting down, unreachable, or timed out. Not 64
 * WriteConcernFailed nor 100 UnsatisfiableWriteConcern: the write was
 * applied, and asking again would not make it durable. */
static bool sink_mongo__retryable_code(uint32_t code)
{
  static const uint32_t codes[] = {6,     7,     89,    91,    189,
                                   262,   9001,  10107, 11600, 11602,
                                   13435, 13436, 63,    150,   10058};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (code == codes[i])
      return true;
  return false;
}

static bool sink_mongo__is_transient(const bson_error_t *error)
{
  if (sink_mongo__is_transport(error))
    return true;
  return (error->domain == MONGOC_ERROR_SERVER ||
          error->domain == MONGOC_ERROR_WRITE_CONCERN) &&
         sink_mongo__retryable_code(error->code);
}

/* Builds the selector of an upsert: the document's upsert fields. Returns
 * false, naming the field, when the document lacks one. */
static bool sink_mongo__selector(const sink_mongo_factory_t *f,
                                 const bson_t *doc, bson_t *selector,
                                 char *missing, size_t cap)
{
  for (size_t i = 0; i < f->n_upsert_fields; i++) {
    bson_iter_t it, found;
    if (!bson_iter_init(&it, doc) ||
        !bson_iter_find_descendant(&it, f->upsert_fields[i], &found)) {
      snprintf(missing, cap, "upsert field \"%s\" is missing",
               f->upsert_fields[i]);
      return false;
    }
    bson_append_value(selector, f->upsert_fields[i], -1,
                      bson_iter_value(&found));
  }
  return true;
}

/* Returns a new bulk operation on s's collection: ordered or not, and
 * bypassing document validation when asked (libmongoc then sends
 * bypassDocumentValidation: true with each of its insert, update and
 * delete commands). */
static mongoc_bulk_operation_t *sink_mongo__bulk(sink_mongo_t *s)
{
  mongoc_bulk_operation_t *bulk =
      mongoc_collection_create_bulk_operation_with_opts(s->coll, &s->bulk_opts);
  if (s->factory->bypass)
    mongoc_bulk_operation_set_bypass_document_validation(bulk, true);
  return bulk;
}

/* Adds one document to the bulk operation, as the mode wants. Returns
 * false with error when libmongoc refuses it. */
static bool sink_mongo__add(sink_mongo_t *s, mongoc_bulk_operation_t *bulk,
                            const bson_t *doc, const bson_t *selector,
                            bson_error_t *error)
{
  switch (s->factory->mode) {
  case SINK_MODE_UPSERT:
    return mongoc_bulk_operation_replace_one_with_opts(bulk, selector, doc,
                                                       &s->upsert_opts, error);
  case SINK_MODE_MERGE: {
    bson_t update = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&update, "$set", doc);
    bool ok = mongoc_bulk_operation_update_one_with_opts(
        bulk, selector, &update, &s->upsert_opts, error);
    bson_destroy(&update);
    return ok;
  }
  case SINK_MODE_DELETE:
    /* As mongoimport: deleteOne with the upsert fields as the filter. */
    return mongoc_bulk_operation_remove_one_with_opts(bulk, selector, NULL,
                                                      error);
  default:
    return mongoc_bulk_operation_insert_with_opts(bulk, doc, &s->insert_opts,
                                                  error);
  }
}

/* Returns 1 when the key document at it (a duplicate-key error's
 * keyPattern or keyValue) names _id and nothing else, 0 otherwise. Servers
 * before 4.2 send neither: the error is then never taken for a duplicate
 * _id, and a retried document that did land is reported, not hidden. */
static int sink_mongo__key_is_id(const bson_iter_t *it)
{
  bson_iter_t key;
  if (!bson_iter_recurse(it, &key) || !bson_iter_next(&key))
    return 0;
  return strcmp(bson_iter_key(&key), "_id") == 0 && !bson_iter_next(&key);
}

/* Executes one bulk operation of n_ops operations (op_doc maps them to
 * batch indexes) and folds its reply into result: new documents, updated
 * ones, and per-document errors at their batch index. Returns false and
 * fills error when the bulk failed as a whole. Destroys bulk. */
static bool sink_mongo__execute(sink_mongo_t *s, mongoc_bulk_operation_t *bulk,
                                size_t n_ops, const size_t *op_doc,
                                sink_write_result_t *result,
                                bson_error_t *error)
{
  bson_t reply;
  bool ok = false;
  bool executed = mongoc_bulk_operation_execute(bulk, &reply, error) != 0;
  sink_mode_t mode = s->factory->mode;
  bool upsert = mode == SINK_MODE_UPSERT || mode == SINK_MODE_MERGE;
  bson_iter_t it, errs, one;
  uint64_t removed = 0;
  if (mode != SINK_MODE_DELETE &&
      bson_iter_init_find(&it, &reply, upsert ? "nUpserted" : "nInserted") &&
      BSON_ITER_HOLDS_NUMBER(&it))
    result->inserted += (uint64_t)bson_iter_as_int64(&it);
  if (upsert && bson_iter_init_find(&it, &reply, "nMatched") &&
      BSON_ITER_HOLDS_NUMBER(&it))
    result->updated += (uint64_t)bson_iter_as_int64(&it);
  if (mode == SINK_MODE_DELETE &&
      bson_iter_init_find(&it, &reply, "nRemoved") &&
      BSON_ITER_HOLDS_NUMBER(&it))
    removed = (uint64_t)bson_iter_as_int64(&it);
  result->deleted += removed;
  size_t errors_before = result->n_errors;
  size_t attempted = n_ops; /* an ordered bulk stops at its first error */
  if (bson_iter_init_find(&it, &reply, "writeErrors") &&
      BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &errs)) {
    while (bson_iter_next(&errs)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&errs) || !bson_iter_recurse(&errs, &one))
        continue;
      int64_t index = -1;
      int32_t code = 0;
      const char *msg = "";
      int on_id = -1; /* the duplicate key is _id alone: 1, another: 0 */
      while (bson_iter_next(&one)) {
        const char *key = bson_iter_key(&one);
        if (strcmp(key, "index") == 0 && BSON_ITER_HOLDS_NUMBER(&one))
          index = bson_iter_as_int64(&one);
        else if (strcmp(key, "code") == 0 && BSON_ITER_HOLDS_NUMBER(&one))
          code = (int32_t)bson_iter_as_int64(&one);
        else if (strcmp(key, "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&one))
          msg = bson_iter_utf8(&one, NULL);
        else if ((strcmp(key, "keyPattern") == 0 ||
                  (on_id < 0 && strcmp(key, "keyValue") == 0)) &&
                 BSON_ITER_HOLDS_DOCUMENT(&one))
          on_id = sink_mongo__key_is_id(&one);
      }
      if (index >= 0 && (size_t)index < n_ops) {
        if (!sink_result_add_error(result, op_doc[index], code, msg)) {
          bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
          goto out;
        }
        result->errors[result->n_errors - 1].dup_on_id =
            code == 11000 && on_id == 1;
        if (s->factory->ordered) {
          result->stopped = true;
          result->stopped_at = op_doc[index];
          attempted = (size_t)index + 1;
        }
      }
    }
  }
  /* The first writeConcernError: the writes were applied, but not as
   * durably as asked. One worth a retry (the primary stepped down, ...)
   * fails the write, to be sent again; any other is reported. */
  int32_t wc_code = 0;
  const char *wc_msg = NULL;
  if (bson_iter_init_find(&it, &reply, "writeConcernErrors") &&
      BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &errs) &&
      bson_iter_next(&errs) && BSON_ITER_HOLDS_DOCUMENT(&errs) &&
      bson_iter_recurse(&errs, &one)) {
    wc_msg = "";
    while (bson_iter_next(&one)) {
      if (strcmp(bson_iter_key(&one), "code") == 0 &&
          BSON_ITER_HOLDS_NUMBER(&one))
        wc_code = (int32_t)bson_iter_as_int64(&one);
      else if (strcmp(bson_iter_key(&one), "errmsg") == 0 &&
               BSON_ITER_HOLDS_UTF8(&one))
        wc_msg = bson_iter_utf8(&one, NULL);
    }
  }
  if (executed || sink_mongo__is_transport(error)) {
    ok = executed;
  } else if (wc_msg && sink_mongo__retryable_code((uint32_t)wc_code)) {
    bson_set_error(error, MONGOC_ERROR_WRITE_CONCERN, (uint32_t)wc_code,
                   "writeConcernError: %s", wc_msg);
  } else {
    /* Documents refused, or a write concern not satisfied: the rest of the
     * batch landed. Anything else failed the batch as a whole. */
    ok = result->n_errors > errors_before || wc_msg;
  }
  if (mode == SINK_MODE_DELETE && ok) {
    /* Deletes that removed nothing: nRemoved counts the others, and the
     * refused ones are listed. */
    uint64_t settled = removed + (result->n_errors - errors_before);
    result->unmatched += attempted > settled ? attempted - settled : 0;
  }
  if (ok && wc_msg && !result->wc_error) {
    result->wc_error = true;
    result->wc_code = wc_code;
    bson_strncpy(result->wc_message, wc_msg, sizeof result->wc_message);
  }
out:
  bson_destroy(&reply);
  mongoc_bulk_operation_destroy(bulk);
  return ok;
}

/* Returns a hash of an upsert selector, to notice a key repeated within a
 * batch. */
static uint64_t sink_mongo__key_hash(const bson_t *selector)
{
  return util_hash64(bson_get_data(selector), selector->len, UTIL_HASH64_SEED);
}

/* Adds h to the set in keys[0..cap) (cap a power of two, 0 marks an empty
 * slot). Returns false when h was there already. */
static bool sink_mongo__add_key(uint64_t *keys, size_t cap, uint64_t h)
{
  if (h == 0)
    h = 1;
  for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
    if (keys[i] == h)
      return false;
    if (keys[i] == 0) {
      keys[i] = h;
      return true;
    }
  }
}

/* Whether the write must go on after an ordered bulk stopped: the
 * document it stopped at is a duplicate _id of a batch that may have landed
 * before (result->replay), which the job counts as this load's own. */
static bool sink_mongo__go_on(const sink_write_result_t *result)
{
  return result->stopped && result->replay && result->n_errors > 0 &&
         result->errors[result->n_errors - 1].dup_on_id;
}

/* Writes the documents of batch from index from on: one bulk, and for
 * upserts, merges and deletes a new one wherever a key repeats, so that
 * rows with the same key apply in file order. Sets *next to the index to
 * go on from after an ordered bulk stopped at a duplicate _id of a replay
 * (sink_mongo__go_on), else to SIZE_MAX: done. */
static bool sink_mongo__write_from(sink_mongo_t *s, const batch_t *batch,
                                   size_t from, size_t key_cap,
                                   sink_write_result_t *result,
                                   bson_error_t *error, size_t *next)
{
  size_t len;
  const uint8_t *data = batch_data(batch, &len);
  bool keyed = s->factory->mode != SINK_MODE_INSERT;
  *next = SIZE_MAX;
  if (keyed)
    memset(s->keys, 0, key_cap * sizeof *s->keys);
  mongoc_bulk_operation_t *bulk = sink_mongo__bulk(s);
  size_t n_ops = 0;
  size_t pos = 0;
  for (size_t i = 0; pos + 4 <= len; i++) {
    uint32_t doc_len;
    memcpy(&doc_len, data + pos, 4);
    doc_len = BSON_UINT32_FROM_LE(doc_len);
    bson_t doc;
    if (doc_len < 5 || pos + doc_len > len ||
        !bson_init_static(&doc, data + pos, doc_len)) {
      bson_set_error(error, LOADER_ERROR_SINK, 0, "corrupt batch buffer");
      mongoc_bulk_operation_destroy(bulk);
      return false;
    }
    pos += doc_len;
    if (i < from)
      continue;
    bson_t selector = BSON_INITIALIZER;
    if (keyed) {
      char missing[160];
      if (!sink_mongo__selector(s->factory, &doc, &selector, missing,
                                sizeof missing)) {
        bson_destroy(&selector);
        if (s->factory->ordered) {
          /* Ordered: what comes before it is sent, nothing after it. */
          bool sent =
              n_ops == 0 ||
              sink_mongo__execute(s, bulk, n_ops, s->op_doc, result, error);
          if (n_ops == 0)
            mongoc_bulk_operation_destroy(bulk);
          if (!sent)
            return false;
          if (result->stopped) {
            if (sink_mongo__go_on(result)) {
              result->stopped = false;
              *next = result->stopped_at + 1;
            }
            return true;
          }
          if (!sink_result_add_error(result, i, 0, missing))
            goto out_of_memory;
          result->stopped = true;
          result->stopped_at = i;
          return true;
        }
        if (!sink_result_add_error(result, i, 0, missing)) {
          mongoc_bulk_operation_destroy(bulk);
          goto out_of_memory;
        }
        continue;
      }
      uint64_t h = sink_mongo__key_hash(&selector);
      if (!sink_mongo__add_key(s->keys, key_cap, h)) {
        if (!sink_mongo__execute(s, bulk, n_ops, s->op_doc, result, error)) {
          bson_destroy(&selector);
          return false;
        }
        if (result->stopped) {
          bson_destroy(&selector);
          if (sink_mongo__go_on(result)) {
            result->stopped = false;
            *next = result->stopped_at + 1;
          }
          return true;
        }
        bulk = sink_mongo__bulk(s);
        n_ops = 0; /* op_doc and the key set restart with the new bulk */
        memset(s->keys, 0, key_cap * sizeof *s->keys);
        sink_mongo__add_key(s->keys, key_cap, h);
      }
    }
    bool added = sink_mongo__add(s, bulk, &doc, &selector, error);
    bson_destroy(&selector);
    if (!added) {
      mongoc_bulk_operation_destroy(bulk);
      return false;
    }
    s->op_doc[n_ops++] = i;
  }
  if (n_ops == 0) {
    mongoc_bulk_operation_destroy(bulk);
    return true;
  }
  if (!sink_mongo__execute(s, bulk, n_ops, s->op_doc, result, error))
    return false;
  if (sink_mongo__go_on(result)) {
    result->stopped = false;
    *next = result->stopped_at + 1;
  }
  return true;

out_of_memory:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return false;
}

static bool sink_mongo__write_batch(sink_mongo_t *s, const batch_t *batch,
                                    sink_write_result_t *result,
                                    bson_error_t *error)
{
  size_t n_docs = batch_count(batch);
  if (n_docs > s->op_cap) {
    size_t *p = realloc(s->op_doc, n_docs * sizeof *p);
    if (!p) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    s->op_doc = p;
    s->op_cap = n_docs;
  }
  bool keyed = s->factory->mode != SINK_MODE_INSERT;
  size_t key_cap = 16;
  while (keyed && key_cap < 2 * n_docs)
    key_cap *= 2;
  if (keyed && key_cap > s->key_cap) {
    uint64_t *k = realloc(s->keys, key_cap * sizeof *k);
    if (!k) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    s->keys = k;
    s->key_cap = key_cap;
  }
  for (size_t from = 0; from != SIZE_MAX;)
    if (!sink_mongo__write_from(s, batch, from, key_cap, result, error, &from))
      return false;
  return true;
}

static bool sink_mongo__write(void *sink, const batch_t *batch,
                              sink_write_result_t *result, bson_error_t *error)
{
  sink_mongo_t *s = sink;
  if (sink_mongo__write_batch(s, batch, result, error))
    return true;
  /* A lost connection names the hosts: libmongoc's reading of the URI may
   * have cut them out of a password. */
  sink_mongo__scrub(error, mongoc_uri_get_string(s->factory->uri));
  return false;
}

static void sink_mongo__close(void *sink)
{
  sink_mongo_t *s = sink;
  mongoc_collection_destroy(s->coll);
  mongoc_client_pool_push(s->factory->pool, s->client);
  bson_destroy(&s->bulk_opts);
  bson_destroy(&s->insert_opts);
  bson_destroy(&s->upsert_opts);
  free(s->op_doc);
  free(s->keys);
  free(s);
}

/* --verify: a document's canonical form is its fields but the top-level
 * _id, each as its raw BSON element (type, name, value), in order: the
 * bytes the server keeps as they were sent. */
static void sink_mongo__feed_doc(const bson_t *doc, const sink_feed_t *feed)
{
  bson_iter_t it;
  if (!bson_iter_init(&it, doc))
    return;
  const uint8_t *raw = bson_get_data(doc);
  while (bson_iter_next(&it)) {
    if (strcmp(bson_iter_key(&it), "_id") == 0)
      continue;
    feed->bytes(feed->ctx, raw + it.off, it.next_off - it.off);
  }
}

static bool sink_mongo__canon(void *sink, const bson_t *doc,
                              const sink_feed_t *feed, bool *fits,
                              bson_error_t *error)
{
  (void)sink;
  (void)error;
  sink_mongo__feed_doc(doc, feed);
  *fits = true;
  return true;
}

/* Writes "_id: VALUE" (relaxed extended JSON, cut short) of doc to out. */
static void sink_mongo__label(const bson_t *doc, char *out, size_t cap)
{
  bson_iter_t it;
  bson_t one = BSON_INITIALIZER;
  snprintf(out, cap, "a document without _id");
  if (bson_iter_init_find(&it, doc, "_id") &&
      bson_append_iter(&one, "_id", 3, &it)) {
    char *json = bson_as_relaxed_extended_json(&one, NULL);
    if (json)
      snprintf(out, cap, "%s", json);
    bson_free(json);
  }
  bson_destroy(&one);
}

/* Runs find(filter) on the sink's collection and calls fn for each
 * document; fn returns false to stop. */
static bool sink_mongo__each(sink_mongo_t *s, const bson_t *filter,
                             bool (*fn)(void *ctx, const bson_t *doc),
                             void *ctx, bson_error_t *error)
{
  bson_t opts = BSON_INITIALIZER;
  BSON_APPEND_INT32(&opts, "batchSize", 10000);
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(s->coll, filter, &opts, NULL);
  bson_destroy(&opts);
  const bson_t *doc;
  bool go_on = true;
  while (go_on && mongoc_cursor_next(cur, &doc))
    go_on = fn(ctx, doc);
  bool ok = !mongoc_cursor_error(cur, error);
  mongoc_cursor_destroy(cur);
  if (!ok)
    sink_mongo__scrub(error, mongoc_uri_get_string(s->factory->uri));
  return ok;
}

/* One stored document of a scan into its feed. */
static bool sink_mongo__scan_one(void *ctx, const bson_t *doc)
{
  const sink_feed_t *feed = ctx;
  char label[160] = "";
  sink_mongo__feed_doc(doc, feed);
  if (feed->want_labels)
    sink_mongo__label(doc, label, sizeof label);
  return feed->end(feed->ctx, label);
}

/* One reader per collection: a cursor the server streams. (Ranges of _id
 * read at once were tried: against the test server, which scans the
 * collection for every query, four readers took 3x as long as one.) */
static bool sink_mongo__scan(void *sink, unsigned part, unsigned parts,
                             const sink_feed_t *feed, bson_error_t *error)
{
  (void)parts;
  if (part > 0)
    return true;
  bson_t filter = BSON_INITIALIZER;
  bool ok = sink_mongo__each(sink, &filter, sink_mongo__scan_one, (void *)feed,
                             error);
  bson_destroy(&filter);
  return ok;
}

static bool sink_mongo__find_ids(void *sink, const bson_t *ids,
                                 sink_found_fn found, void *ctx,
                                 bson_error_t *error)
{
  bson_t filter = BSON_INITIALIZER, id, in;
  BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &id);
  BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
  bson_iter_t it;
  if (bson_iter_init(&it, ids))
    while (bson_iter_next(&it))
      bson_append_iter(&in, bson_iter_key(&it), -1, &it);
  bson_append_array_end(&id, &in);
  bson_append_document_end(&filter, &id);
  bool ok = sink_mongo__each(sink, &filter, found, ctx, error);
  bson_destroy(&filter);
  return ok;
}

/* Appends index's key pattern {field: direction, ...} to doc under name. */
static void sink_mongo__key_pattern(bson_t *doc, const char *name,
                                    const sink_index_t *index)
{
  bson_t key;
  bson_append_document_begin(doc, name, -1, &key);
  for (size_t i = 0; i < index->n_keys; i++)
    BSON_APPEND_INT32(&key, index->keys[i].field, index->keys[i].direction);
  bson_append_document_end(doc, &key);
}

/* createIndexes with one index; mongod answers an index that is already
 * there (same name, same keys and options) with "all indexes already
 * exist" and numIndexesAfter == numIndexesBefore. */
static bool sink_mongo__index_create(void *sink, const sink_index_t *index,
                                     sink_index_result_t *result,
                                     bson_error_t *error)
{
  sink_mongo_t *s = sink;
  bson_t cmd = BSON_INITIALIZER, list, spec, reply;
  BSON_APPEND_UTF8(&cmd, "createIndexes", mongoc_collection_get_name(s->coll));
  BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
  BSON_APPEND_DOCUMENT_BEGIN(&list, "0", &spec);
  sink_mongo__key_pattern(&spec, "key", index);
  BSON_APPEND_UTF8(&spec, "name", result->name);
  if (index->unique)
    BSON_APPEND_BOOL(&spec, "unique", true);
  if (index->sparse)
    BSON_APPEND_BOOL(&spec, "sparse", true);
  bson_append_document_end(&list, &spec);
  bson_append_array_end(&cmd, &list);
  bool ok = mongoc_collection_write_command_with_opts(s->coll, &cmd, NULL,
                                                      &reply, error);
  if (ok) {
    bson_iter_t before, after;
    result->created =
        !bson_iter_init_find(&before, &reply, "numIndexesBefore") ||
        !bson_iter_init_find(&after, &reply, "numIndexesAfter") ||
        bson_iter_as_int64(&after) > bson_iter_as_int64(&before);
  } else {
    result->duplicates = error->code == 11000;
    sink_mongo__scrub(error, mongoc_uri_get_string(s->factory->uri));
  }
  bson_destroy(&reply);
  bson_destroy(&cmd);
  return ok;
}

/* The keys of index held by more than one document: an aggregation
 * grouping by the key (on disk if need be), its first max groups of two or
 * more. A sparse index leaves out documents without any of its fields. */
static bool sink_mongo__index_duplicates(void *sink, const sink_index_t *index,
                                         size_t max, bson_t *dups,
                                         bson_error_t *error)
{
  sink_mongo_t *s = sink;
  bson_t pipeline = BSON_INITIALIZER, stage, op, id, arr, cond, exists, gt;
  char key[24], path[SINK_MONGO_PATH_MAX];
  size_t n_stages = 0;
  BSON_APPEND_ARRAY_BEGIN(&pipeline, "pipeline", &arr);
  if (index->sparse) {
    snprintf(key, sizeof key, "%zu", n_stages++);
    bson_t any;
    bson_append_document_begin(&arr, key, -1, &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &op);
    BSON_APPEND_ARRAY_BEGIN(&op, "$or", &any);
    for (size_t i = 0; i < index->n_keys; i++) {
      char k[24];
      snprintf(k, sizeof k, "%zu", i);
      bson_append_document_begin(&any, k, -1, &cond);
      bson_append_document_begin(&cond, index->keys[i].field, -1, &exists);
      BSON_APPEND_BOOL(&exists, "$exists", true);
      bson_append_document_end(&cond, &exists);
      bson_append_document_end(&any, &cond);
    }
    bson_append_array_end(&op, &any);
    bson_append_document_end(&stage, &op);
    bson_append_document_end(&arr, &stage);
  }
  snprintf(key, sizeof key, "%zu", n_stages++);
  bson_append_document_begin(&arr, key, -1, &stage);
  BSON_APPEND_DOCUMENT_BEGIN(&stage, "$group", &op);
  BSON_APPEND_DOCUMENT_BEGIN(&op, "_id", &id);
  for (size_t i = 0; i < index->n_keys; i++) {
    char k[24];
    snprintf(k, sizeof k, "k%zu", i);
    snprintf(path, sizeof path, "$%s", index->keys[i].field);
    BSON_APPEND_UTF8(&id, k, path);
  }
  bson_append_document_end(&op, &id);
  BSON_APPEND_DOCUMENT_BEGIN(&op, "n", &cond);
  BSON_APPEND_INT32(&cond, "$sum", 1);
  bson_append_document_end(&op, &cond);
  bson_append_document_end(&stage, &op);
  bson_append_document_end(&arr, &stage);
  snprintf(key, sizeof key, "%zu", n_stages++);
  bson_append_document_begin(&arr, key, -1, &stage);
  BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &op);
  BSON_APPEND_DOCUMENT_BEGIN(&op, "n", &gt);
  BSON_APPEND_INT32(&gt, "$gt", 1);
  bson_append_document_end(&op, &gt);
  bson_append_document_end(&stage, &op);
  bson_append_document_end(&arr, &stage);
  snprintf(key, sizeof key, "%zu", n_stages++);
  bson_append_document_begin(&arr, key, -1, &stage);
  BSON_APPEND_INT64(&stage, "$limit", (int64_t)max);
  bson_append_document_end(&arr, &stage);
  bson_append_array_end(&pipeline, &arr);

  bson_t opts = BSON_INITIALIZER;
  BSON_APPEND_BOOL(&opts, "allowDiskUse", true);
  mongoc_cursor_t *cursor = mongoc_collection_aggregate(
      s->coll, MONGOC_QUERY_NONE, &pipeline, &opts, NULL);
  const bson_t *doc;
  size_t n = 0;
  while (mongoc_cursor_next(cursor, &doc)) {
    bson_t one, kv;
    bson_iter_t it, g;
    snprintf(key, sizeof key, "%zu", n++);
    bson_append_document_begin(dups, key, -1, &one);
    BSON_APPEND_DOCUMENT_BEGIN(&one, "key", &kv);
    for (size_t i = 0; i < index->n_keys; i++) {
      char k[24];
      snprintf(k, sizeof k, "k%zu", i);
      if (bson_iter_init_find(&it, doc, "_id") &&
          BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &g) &&
          bson_iter_find(&g, k))
        bson_append_value(&kv, index->keys[i].field, -1, bson_iter_value(&g));
      else
        bson_append_null(&kv, index->keys[i].field, -1); /* missing */
    }
    bson_append_document_end(&one, &kv);
    BSON_APPEND_INT64(
        &one, "count",
        bson_iter_init_find(&it, doc, "n") ? bson_iter_as_int64(&it) : 0);
    bson_append_document_end(dups, &one);
  }
  bool ok = !mongoc_cursor_error(cursor, error);
  if (!ok)
    sink_mongo__scrub(error, mongoc_uri_get_string(s->factory->uri));
  mongoc_cursor_destroy(cursor);
  bson_destroy(&opts);
  bson_destroy(&pipeline);
  return ok;
}

const sink_ops_t sink_mongo_ops = {
    .name = "mongodb",
    .factory_new = sink_mongo__factory_new,
    .factory_check = sink_mongo__factory_check,
    .factory_db = sink_mongo__factory_db,
    .factory_destroy = sink_mongo__factory_destroy,
    .open = sink_mongo__open,
    .count = sink_mongo__count,
    .drop = sink_mongo__drop,
    .write = sink_mongo__write,
    .close = sink_mongo__close,
    .is_transient = sink_mongo__is_transient,
    .supports_upsert = true,
    .supports_delete = true,
    .supports_ordered = true,
    .supports_bypass = true,
    .parallel_writes = true,
    .supports_write_concern = true,
    .canon = sink_mongo__canon,
    .scan = sink_mongo__scan,
    .find_ids = sink_mongo__find_ids,
    .index_create = sink_mongo__index_create,
    .index_duplicates = sink_mongo__index_duplicates,
    .index_keys_typed = true,
};
