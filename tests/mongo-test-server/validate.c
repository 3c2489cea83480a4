/* Collection validators: compiled from create and collMod, checked on every
 * insert and update (see validate.h). */
#include "validate.h"

#include "bval.h"
#include "errors.h"
#include "match.h"

#include <stdlib.h>
#include <string.h>

/* One top-level clause of the validator, compiled on its own, to say which
 * clauses a refused document did not satisfy. */
typedef struct {
  matcher_t *matcher; /* the clause alone */
  bson_t *spec;       /* {key: value}, as specified (a bson_t of its own:
                         an array of them would break its alignment) */
} clause_t;

struct validator {
  matcher_t *all;    /* the whole query */
  clause_t *clauses; /* its top-level clauses, in order */
  size_t n_clauses;  /* how many */
  bool off;          /* validationLevel "off" */
  bool moderate;     /* validationLevel "moderate" */
  bool warn;         /* validationAction "warn" */
};

void validator_free(validator_t *v)
{
  if (!v)
    return;
  matcher_destroy(v->all);
  for (size_t i = 0; i < v->n_clauses; i++) {
    matcher_destroy(v->clauses[i].matcher);
    bson_destroy(v->clauses[i].spec);
  }
  free(v->clauses);
  free(v);
}

/* Reads an optional string option of body that must be one of words;
 * sets *which to its index (unchanged when absent). */
static bool string_option(const bson_t *body, const char *field,
                          const char *const *words, size_t n_words, int *which,
                          bson_error_t *error)
{
  bson_iter_t it;
  if (!bson_iter_init_find(&it, body, field))
    return true;
  if (!BSON_ITER_HOLDS_UTF8(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "BSON field '%s' is the wrong type, expected type 'string'",
                   field);
    return false;
  }
  for (size_t i = 0; i < n_words; i++)
    if (!strcmp(bson_iter_utf8(&it, NULL), words[i])) {
      *which = (int)i;
      return true;
    }
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                 "Enumeration value '%s' for field '%s' is not a valid value.",
                 bson_iter_utf8(&it, NULL), field);
  return false;
}

bool validator_from_command(const bson_t *body, validator_t **out,
                            bson_error_t *error)
{
  static const char *const levels[] = {"strict", "moderate", "off"};
  static const char *const actions[] = {"error", "warn"};
  bson_t query;
  bson_iter_t it;
  bool present;
  int level = 0, action = 0;
  *out = NULL;
  if (!cmd_opt_doc(body, "validator", &query, &present, error) ||
      !string_option(body, "validationLevel", levels, 3, &level, error) ||
      !string_option(body, "validationAction", actions, 2, &action, error))
    return false;
  if (!present || bson_empty(&query))
    return true;
  if (bson_iter_init_find(&it, &query, "$jsonSchema") ||
      bson_iter_init_find(&it, &query, "$expr")) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                   "mongo-test-server does not support %s validators",
                   bson_iter_key(&it));
    return false;
  }
  validator_t *v = calloc(1, sizeof *v);
  uint32_t n = bson_count_keys(&query);
  if (!v || !(v->clauses = calloc(n, sizeof *v->clauses))) {
    free(v);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    return false;
  }
  v->off = level == 2;
  v->moderate = level == 1;
  v->warn = action == 1;
  if (!(v->all = matcher_new(&query, error)))
    goto fail;
  bson_iter_init(&it, &query);
  while (bson_iter_next(&it)) {
    clause_t *c = &v->clauses[v->n_clauses++];
    c->spec = bson_new();
    bson_append_iter(c->spec, bson_iter_key(&it), -1, &it);
    if (!(c->matcher = matcher_new(c->spec, error)))
      goto fail;
  }
  *out = v;
  return true;
fail:
  validator_free(v);
  return false;
}

/* Appends mongod's details of one unsatisfied clause: the operator, the
 * clause as specified, the reason and the value considered. */
static void append_details(bson_t *out, const clause_t *c, const bson_t *doc)
{
  bson_iter_t it, op;
  bson_iter_init(&it, c->spec);
  bson_iter_next(&it);
  const char *key = bson_iter_key(&it);
  const char *name = "$eq";
  if (key[0] == '$')
    name = key;
  else if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &op) &&
           bson_iter_next(&op) && bson_iter_key(&op)[0] == '$')
    name = bson_iter_key(&op);
  BSON_APPEND_UTF8(out, "operatorName", name);
  BSON_APPEND_DOCUMENT(out, "specifiedAs", c->spec);
  bson_value_t value;
  if (key[0] == '$') {
    BSON_APPEND_UTF8(out, "reason", "expression did not match");
  } else if (!bval_get_path(doc, key, &value)) {
    BSON_APPEND_UTF8(out, "reason",
                     strcmp(name, "$exists") == 0 ? "path does not exist"
                                                  : "field was missing");
  } else {
    BSON_APPEND_UTF8(out, "reason", "comparison failed");
    BSON_APPEND_VALUE(out, "consideredValue", &value);
  }
}

bool validator_check(const validator_t *v, const doc_t *doc, const doc_t *old,
                     bson_t *info, bson_error_t *error)
{
  if (!v || v->off || v->warn || matcher_matches(v->all, doc->data, doc->len))
    return true;
  if (old && v->moderate && !matcher_matches(v->all, old->data, old->len))
    return true; /* moderate: it did not match before either */
  bson_t view, errinfo, details;
  bson_iter_t id;
  bson_init_static(&view, doc->data, doc->len);
  BSON_APPEND_DOCUMENT_BEGIN(info, "errInfo", &errinfo);
  if (bson_iter_init_find(&id, &view, "_id"))
    BSON_APPEND_VALUE(&errinfo, "failingDocumentId", bson_iter_value(&id));
  BSON_APPEND_DOCUMENT_BEGIN(&errinfo, "details", &details);
  if (v->n_clauses == 1) {
    append_details(&details, &v->clauses[0], &view);
  } else {
    bson_t list, one, inner;
    uint32_t n = 0;
    BSON_APPEND_UTF8(&details, "operatorName", "$and");
    BSON_APPEND_ARRAY_BEGIN(&details, "clausesNotSatisfied", &list);
    for (size_t i = 0; i < v->n_clauses; i++) {
      if (matcher_matches(v->clauses[i].matcher, doc->data, doc->len))
        continue;
      char key[16];
      const char *k;
      bson_uint32_to_string(n++, &k, key, sizeof key);
      BSON_APPEND_DOCUMENT_BEGIN(&list, k, &one);
      BSON_APPEND_INT32(&one, "index", (int32_t)i);
      BSON_APPEND_DOCUMENT_BEGIN(&one, "details", &inner);
      append_details(&inner, &v->clauses[i], &view);
      bson_append_document_end(&one, &inner);
      bson_append_document_end(&list, &one);
    }
    bson_append_array_end(&details, &list);
  }
  bson_append_document_end(&errinfo, &details);
  bson_append_document_end(info, &errinfo);
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_DOCUMENT_VALIDATION_FAILURE,
                 "Document failed validation");
  return false;
}

bool validator_bypassed(const bson_t *body)
{
  bson_iter_t it;
  return bson_iter_init_find(&it, body, "bypassDocumentValidation") &&
         bval_truthy(bson_iter_value(&it));
}

bool cmd_coll_mod(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  validator_t *v;
  if (!cmd_coll_name(ctx, &name, error) ||
      !validator_from_command(ctx->body, &v, error))
    return false;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (!c) {
    validator_free(v);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_NOT_FOUND,
                   "ns does not exist");
    return false;
  }
  /* The options listCollections shows: the validator settings replaced,
   * the rest kept. */
  static const char *const keys[] = {"validator", "validationLevel",
                                     "validationAction"};
  bson_t *options = bson_new();
  bson_iter_t it;
  pthread_rwlock_wrlock(&c->lock);
  bson_iter_init(&it, c->options);
  while (bson_iter_next(&it)) {
    bool replaced = false;
    for (size_t i = 0; i < 3; i++) {
      bson_iter_t given;
      replaced |= !strcmp(bson_iter_key(&it), keys[i]) &&
                  bson_iter_init_find(&given, ctx->body, keys[i]);
    }
    if (!replaced)
      bson_append_iter(options, bson_iter_key(&it), -1, &it);
  }
  for (size_t i = 0; i < 3; i++)
    if (bson_iter_init_find(&it, ctx->body, keys[i]))
      bson_append_iter(options, keys[i], -1, &it);
  bson_destroy(c->options);
  c->options = options;
  /* collMod with only a level or an action keeps the query. */
  if (!bson_iter_init_find(&it, ctx->body, "validator")) {
    bson_error_t ignored;
    validator_free(v);
    if (!validator_from_command(options, &v, &ignored))
      v = NULL;
  }
  validator_free(c->validator);
  c->validator = v;
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  return true;
}
