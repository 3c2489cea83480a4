/* The write commands: insert, update, delete. Each reports per-statement
 * failures as writeErrors [{index, code, errmsg}], stops at the first with
 * ordered: true (the default), and carries on with ordered: false. A
 * collection's validator (validate.h) refuses inserted and updated
 * documents unless the command says bypassDocumentValidation. Documents
 * are prepared (validated, _id placed first) before the collection's write
 * lock is taken, so the lock covers only index checks and slot updates. */
#include "commands.h"

#include "bval.h"
#include "errors.h"
#include "update.h"
#include "validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads the optional "ordered" flag (default true). */
static bool is_ordered(const bson_t *body)
{
  bson_iter_t it;
  return !bson_iter_init_find(&it, body, "ordered") ||
         bval_truthy(bson_iter_value(&it));
}

/* Checks an _id as mongod does: no arrays, regexes or undefined. */
static bool check_id(const bson_value_t *id, bson_error_t *error)
{
  const char *what = id->value_type == BSON_TYPE_ARRAY       ? "array"
                     : id->value_type == BSON_TYPE_REGEX     ? "regex"
                     : id->value_type == BSON_TYPE_UNDEFINED ? "undefined"
                                                             : NULL;
  if (what) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_ID_FIELD,
                   "The '_id' value cannot be of type %s", what);
    return false;
  }
  return true;
}

/* Turns one received document into a storable one: size checked, _id
 * checked and first (generated when absent). Returns NULL with error set
 * when the document can't be stored. */
static doc_t *prepare_doc(const uint8_t *data, uint32_t len,
                          bson_error_t *error)
{
  bson_iter_t it;
  if (len > MTS_MAX_BSON_SIZE) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "object to insert too large. size in bytes: %u, max "
                   "size: %d",
                   len, MTS_MAX_BSON_SIZE);
    return NULL;
  }
  if (!bson_iter_init_from_data(&it, data, len)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_BSON, "invalid BSON");
    return NULL;
  }
  bool first = true, has_id = false;
  while (bson_iter_next(&it)) {
    if (!strcmp(bson_iter_key(&it), "_id")) {
      if (!check_id(bson_iter_value(&it), error))
        return NULL;
      if (first)
        return doc_new(data, len); /* the common case: no copy but one */
      has_id = true;
      break;
    }
    first = false;
  }
  doc_t *doc = NULL;
  if (!has_id) {
    /* No _id: write {_id: ObjectId, <the fields as received>} directly. */
    bson_oid_t oid;
    uint32_t total = len + 1 + 4 + 12;
    update_new_oid(&oid);
    doc = malloc(sizeof *doc + total);
    if (doc) {
      atomic_init(&doc->refs, 1);
      doc->len = total;
      doc->slot = 0;
      wire_write_i32(doc->data, (int32_t)total);
      doc->data[4] = BSON_TYPE_OID;
      memcpy(doc->data + 5, "_id", 4);
      memcpy(doc->data + 9, oid.bytes, 12);
      memcpy(doc->data + 21, data + 4, len - 4);
    }
  } else {
    bson_t view, moved;
    bson_init_static(&view, data, len);
    update_id_first(&view, &moved);
    doc = doc_from_bson(&moved);
    bson_destroy(&moved);
  }
  if (!doc)
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
  else if (doc->len > MTS_MAX_BSON_SIZE) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "object to insert too large. size in bytes: %u, max "
                   "size: %d",
                   doc->len, MTS_MAX_BSON_SIZE);
    doc_unref(doc);
    doc = NULL;
  }
  return doc;
}

/* Answers an insert with the fault switch's error, applying nothing. */
static bool fault_error(int code, bson_error_t *error)
{
  bson_set_error(error, MTS_ERR_DOMAIN, (uint32_t)code,
                 "mongo-test-server: injected fault: %s", errcode_name(code));
  return false;
}

bool cmd_insert(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  docs_iter_t docs;
  bool ordered = is_ordered(ctx->body);
  bool bypass = validator_bypassed(ctx->body);
  doc_t **prepared = NULL;
  bson_error_t *errs = NULL;
  size_t n = 0, cap = 0;
  bool ok = false;
  int code = 0;

  if (!cmd_coll_name(ctx, &name, error) ||
      !cmd_docs_init(ctx, "documents", &docs, error))
    return false;
  switch (fault_on_insert(&ctx->srv->faults, &code)) {
  case FAULT_DROP_BEFORE:
    ctx->drop_connection = true;
    return true;
  case FAULT_ERROR:
    return fault_error(code, error);
  case FAULT_DROP_AFTER:
    ctx->drop_connection = true;
    break;
  case FAULT_DELAY: {
    struct timespec ts = {code / 1000, (long)(code % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
      ;
    break;
  }
  case FAULT_WC_ERROR:
    ctx->wc_error = code;
    break;
  case FAULT_NOT_PRIMARY:
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_WRITABLE_PRIMARY,
                   "not primary");
    return false;
  case FAULT_NONE:
    break;
  }
  if (cmd_replayed(ctx))
    return true;
  ctx->applied = true;

  /* Prepare every document outside the lock; with ordered, stop at the
   * first that can't be stored. */
  const uint8_t *data;
  uint32_t len;
  bool bad, failed = false;
  while (!failed && cmd_docs_next(&docs, &data, &len, &bad)) {
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      doc_t **p = realloc(prepared, cap * sizeof *p);
      bson_error_t *e = realloc(errs, cap * sizeof *e);
      if (p)
        prepared = p;
      if (e)
        errs = e;
      if (!p || !e) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
        goto out;
      }
    }
    if (bad) {
      prepared[n] = NULL;
      bson_set_error(&errs[n], MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                     "BSON field 'insert.documents.%zu' is the wrong type, "
                     "expected type 'object'",
                     n);
    } else {
      prepared[n] = prepare_doc(data, len, &errs[n]);
    }
    failed = ordered && !prepared[n];
    n++;
  }

  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, true, NULL);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    goto out;
  }
  bson_t write_errors = BSON_INITIALIZER;
  uint32_t nerrors = 0;
  int32_t inserted = 0;
  pthread_rwlock_wrlock(&c->lock);
  for (size_t i = 0; i < n; i++) {
    bson_t info = BSON_INITIALIZER;
    bool stored = false;
    if (prepared[i] && (bypass || validator_check(c->validator, prepared[i],
                                                  NULL, &info, &errs[i]))) {
      stored = coll_insert(c, prepared[i], &info, &errs[i]);
      if (stored)
        prepared[i] = NULL; /* the collection owns it now */
    }
    if (stored) {
      inserted++;
    } else {
      cmd_append_write_error(&write_errors, &nerrors, (uint32_t)i, &errs[i],
                             &info);
    }
    bson_destroy(&info);
    if (!stored && ordered)
      break;
  }
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  /* As mongod: every document tried, the one an ordered insert stopped at
   * included. */
  atomic_fetch_add(&ctx->srv->opcounters[OPC_INSERT],
                   (int64_t)inserted + nerrors);
  BSON_APPEND_INT32(ctx->reply, "n", inserted);
  if (nerrors)
    BSON_APPEND_ARRAY(ctx->reply, "writeErrors", &write_errors);
  bson_destroy(&write_errors);
  ok = true;
out:
  for (size_t i = 0; i < n; i++)
    doc_unref(prepared[i]);
  free(prepared);
  free(errs);
  return ok;
}

/* Runs one update statement {q, u, upsert, multi} under the collection's
 * write lock, checking each resulting document against the collection's
 * validator unless bypass. Adds to *matched / *modified; fills upserted_id
 * (initialised by the caller) when it inserted. */
static bool update_one_statement(coll_t *c, const bson_t *stmt, bool bypass,
                                 int64_t *matched, int64_t *modified,
                                 bson_t *upserted_id, bson_t *info,
                                 bson_error_t *error)
{
  bson_t q, u;
  bool has_q, has_u, upsert = false, multi = false, ok = false;
  bson_iter_t it;
  matcher_t *m = NULL;
  doc_t **hits = NULL;
  size_t nhits = 0;

  if (!cmd_opt_doc(stmt, "q", &q, &has_q, error))
    return false;
  if (bson_iter_init_find(&it, stmt, "u") && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                   "mongo-test-server does not support pipeline updates");
    return false;
  }
  if (!cmd_opt_doc(stmt, "u", &u, &has_u, error))
    return false;
  if (!has_q || !has_u) {
    bson_set_error(error, MTS_ERR_DOMAIN, 40414,
                   "BSON field 'update.updates.%s' is missing but a "
                   "required field",
                   has_q ? "u" : "q");
    return false;
  }
  if (bson_iter_init_find(&it, stmt, "upsert"))
    upsert = bval_truthy(bson_iter_value(&it));
  if (bson_iter_init_find(&it, stmt, "multi"))
    multi = bval_truthy(bson_iter_value(&it));
  if (multi && !update_is_operator(&u)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                   "multi update is not supported for replacement-style "
                   "update");
    return false;
  }
  m = matcher_new(&q, error);
  if (!m)
    return false;
  hits = coll_match(c, m, multi ? 0 : 1, false, &nhits);
  if (!hits) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < nhits; i++) {
    bson_t old, next;
    bson_init_static(&old, hits[i]->data, hits[i]->len);
    if (!update_apply(&old, &u, false, &next, error)) {
      bson_destroy(&next);
      goto out;
    }
    (*matched)++;
    if (next.len == old.len &&
        !memcmp(bson_get_data(&next), bson_get_data(&old), old.len)) {
      bson_destroy(&next);
      continue;
    }
    if (next.len > MTS_MAX_BSON_SIZE) {
      bson_set_error(error, MTS_ERR_DOMAIN, 17419,
                     "Resulting document after update is larger than %d",
                     MTS_MAX_BSON_SIZE);
      bson_destroy(&next);
      goto out;
    }
    doc_t *d = doc_from_bson(&next);
    bson_destroy(&next);
    if (!d ||
        !(bypass || validator_check(c->validator, d, hits[i], info, error)) ||
        !coll_replace(c, hits[i], d, info, error)) {
      if (!d)
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
      doc_unref(d);
      goto out;
    }
    (*modified)++;
  }
  if (nhits == 0 && upsert) {
    bson_t fresh;
    bson_iter_t id;
    if (!update_upsert_doc(m, &u, &fresh, error)) {
      bson_destroy(&fresh);
      goto out;
    }
    doc_t *d = NULL;
    if (bson_iter_init_find(&id, &fresh, "_id") &&
        check_id(bson_iter_value(&id), error))
      d = doc_from_bson(&fresh);
    if (d && (bypass || validator_check(c->validator, d, NULL, info, error)) &&
        coll_insert(c, d, info, error)) {
      bson_append_iter(upserted_id, "_id", 3, &id);
      d = NULL;
    } else {
      doc_unref(d);
      bson_destroy(&fresh);
      goto out;
    }
    bson_destroy(&fresh);
  }
  ok = true;
out:
  free(hits);
  matcher_destroy(m);
  return ok;
}

bool cmd_update(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  docs_iter_t stmts;
  bool ordered = is_ordered(ctx->body), bad;
  bool bypass = validator_bypassed(ctx->body);
  const uint8_t *data;
  uint32_t len, index = 0, nerrors = 0, nupserted = 0;
  int64_t matched = 0, modified = 0;
  bson_t write_errors = BSON_INITIALIZER, upserted = BSON_INITIALIZER;

  if (!cmd_coll_name(ctx, &name, error) ||
      !cmd_docs_init(ctx, "updates", &stmts, error))
    goto fail;
  if (cmd_replayed(ctx)) {
    bson_destroy(&write_errors);
    bson_destroy(&upserted);
    return true;
  }
  ctx->applied = true;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, true, NULL);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    goto fail;
  }
  while (cmd_docs_next(&stmts, &data, &len, &bad)) {
    bson_t stmt, id = BSON_INITIALIZER, info = BSON_INITIALIZER;
    bson_error_t err;
    bool done;
    if (bad) {
      bson_set_error(&err, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                     "update statements must be documents");
      done = false;
    } else {
      bson_init_static(&stmt, data, len);
      pthread_rwlock_wrlock(&c->lock);
      done = update_one_statement(c, &stmt, bypass, &matched, &modified, &id,
                                  &info, &err);
      pthread_rwlock_unlock(&c->lock);
    }
    if (done && !bson_empty(&id)) {
      bson_t up = BSON_INITIALIZER;
      BSON_APPEND_INT32(&up, "index", (int32_t)index);
      bson_concat(&up, &id);
      cmd_array_append_doc(&upserted, &nupserted, bson_get_data(&up), up.len);
      bson_destroy(&up);
    }
    if (!done)
      cmd_append_write_error(&write_errors, &nerrors, index, &err, &info);
    bson_destroy(&id);
    bson_destroy(&info);
    index++;
    if (!done && ordered)
      break;
  }
  coll_unref(c);
  atomic_fetch_add(&ctx->srv->opcounters[OPC_UPDATE], (int64_t)index);
  BSON_APPEND_INT32(ctx->reply, "n", (int32_t)(matched + nupserted));
  BSON_APPEND_INT32(ctx->reply, "nModified", (int32_t)modified);
  if (nupserted)
    BSON_APPEND_ARRAY(ctx->reply, "upserted", &upserted);
  if (nerrors)
    BSON_APPEND_ARRAY(ctx->reply, "writeErrors", &write_errors);
  bson_destroy(&write_errors);
  bson_destroy(&upserted);
  return true;
fail:
  bson_destroy(&write_errors);
  bson_destroy(&upserted);
  return false;
}

bool cmd_delete(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  docs_iter_t stmts;
  bool ordered = is_ordered(ctx->body), bad;
  const uint8_t *data;
  uint32_t len, index = 0, nerrors = 0;
  int64_t removed = 0;
  bson_t write_errors = BSON_INITIALIZER;

  if (!cmd_coll_name(ctx, &name, error) ||
      !cmd_docs_init(ctx, "deletes", &stmts, error)) {
    bson_destroy(&write_errors);
    return false;
  }
  if (cmd_replayed(ctx)) {
    bson_destroy(&write_errors);
    return true;
  }
  ctx->applied = true;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  while (cmd_docs_next(&stmts, &data, &len, &bad)) {
    bson_t stmt, q;
    bson_error_t err;
    bool has_q = false, done = false;
    int64_t limit = 0;
    matcher_t *m = NULL;
    if (bad) {
      bson_set_error(&err, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                     "delete statements must be documents");
      goto statement_done;
    }
    bson_init_static(&stmt, data, len);
    if (!cmd_opt_doc(&stmt, "q", &q, &has_q, &err) ||
        !cmd_opt_int64(&stmt, "limit", &limit, &err))
      goto statement_done;
    if (!has_q || (limit != 0 && limit != 1)) {
      bson_set_error(&err, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     has_q ? "The limit field in delete objects must be 0 "
                             "or 1. Got %lld"
                           : "BSON field 'delete.deletes.q' is missing but a "
                             "required field",
                     (long long)limit);
      goto statement_done;
    }
    m = matcher_new(&q, &err);
    if (!m)
      goto statement_done;
    done = true;
    if (c) {
      size_t n;
      pthread_rwlock_wrlock(&c->lock);
      doc_t **hits = coll_match(c, m, (size_t)limit, false, &n);
      if (hits) {
        for (size_t i = 0; i < n; i++)
          coll_remove(c, hits[i]);
        removed += (int64_t)n;
      } else {
        bson_set_error(&err, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
        done = false;
      }
      pthread_rwlock_unlock(&c->lock);
      free(hits);
    }
  statement_done:
    matcher_destroy(m);
    if (!done)
      cmd_append_write_error(&write_errors, &nerrors, index, &err, NULL);
    index++;
    if (!done && ordered)
      break;
  }
  coll_unref(c);
  atomic_fetch_add(&ctx->srv->opcounters[OPC_DELETE], (int64_t)index);
  BSON_APPEND_INT32(ctx->reply, "n", (int32_t)removed);
  if (nerrors)
    BSON_APPEND_ARRAY(ctx->reply, "writeErrors", &write_errors);
  bson_destroy(&write_errors);
  return true;
}
