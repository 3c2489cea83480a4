/* The read commands: find, getMore, killCursors, count, distinct,
 * aggregate (the stages drivers use to count), listCollections and
 * listIndexes. Results are collected as referenced documents under the
 * collection's read lock, then sorted, projected and sent without it. */
#define _GNU_SOURCE /* qsort_r */
#include "commands.h"

#include "bval.h"
#include "errors.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Documents in a batch when the client names no batchSize (mongod's). */
#define DEFAULT_FIRST_BATCH 101

/* Most bytes of documents in one batch (mongod's reply limit). */
#define MAX_BATCH_BYTES MTS_MAX_BSON_SIZE

/* A growable array of referenced documents: a pipeline's working set. */
typedef struct {
  doc_t **docs; /* the documents, each holding one reference */
  size_t n;     /* number of documents */
} docvec_t;

/* Drops every reference and frees the array. */
static void docvec_clear(docvec_t *v)
{
  for (size_t i = 0; i < v->n; i++)
    doc_unref(v->docs[i]);
  free(v->docs);
  v->docs = NULL;
  v->n = 0;
}

/* Appends a new document built from bson; false on OOM. */
static bool docvec_push_bson(docvec_t *v, const bson_t *bson)
{
  doc_t **grown = realloc(v->docs, (v->n + 1) * sizeof *grown);
  doc_t *d = doc_from_bson(bson);
  if (grown)
    v->docs = grown;
  if (!grown || !d) {
    doc_unref(d);
    return false;
  }
  v->docs[v->n++] = d;
  return true;
}

/* Sets error to out-of-memory and returns false. */
static bool oom(bson_error_t *error)
{
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
  return false;
}

/* ---- projection ---------------------------------------------------------- */

/* Checks a projection: top-level fields with numeric or boolean values,
 * all inclusions or all exclusions (_id may differ). */
static bool projection_check(const bson_t *proj, bson_error_t *error)
{
  bson_iter_t it;
  int mode = -1; /* -1 unknown, 0 exclusion, 1 inclusion */
  bson_iter_init(&it, proj);
  while (bson_iter_next(&it)) {
    const char *key = bson_iter_key(&it);
    const bson_value_t *v = bson_iter_value(&it);
    if (!bval_is_number(v->value_type) && v->value_type != BSON_TYPE_BOOL) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                     "mongo-test-server supports only 0/1 projections, not "
                     "the one on '%s'",
                     key);
      return false;
    }
    if (strchr(key, '.') || key[0] == '$') {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                     "mongo-test-server does not support projecting '%s'", key);
      return false;
    }
    if (!strcmp(key, "_id"))
      continue;
    int m = bval_truthy(v) ? 1 : 0;
    if (mode >= 0 && m != mode) {
      bson_set_error(error, MTS_ERR_DOMAIN, 31254,
                     "Cannot do %s on field %s in %s projection",
                     m ? "inclusion" : "exclusion", key,
                     mode ? "inclusion" : "exclusion");
      return false;
    }
    mode = m;
  }
  return true;
}

/* Writes into out (initialised here) the document projected by proj,
 * fields in the document's order. */
static void projection_apply(const bson_t *proj, const uint8_t *data,
                             uint32_t len, bson_t *out)
{
  bson_iter_t it, p;
  bool inclusion = false, id_shown = true;
  bson_init(out);
  bson_iter_init(&p, proj);
  while (bson_iter_next(&p)) {
    if (!strcmp(bson_iter_key(&p), "_id"))
      id_shown = bval_truthy(bson_iter_value(&p));
    else
      inclusion = bval_truthy(bson_iter_value(&p));
  }
  if (!bson_iter_init_from_data(&it, data, len))
    return;
  while (bson_iter_next(&it)) {
    const char *key = bson_iter_key(&it);
    bool show;
    if (!strcmp(key, "_id"))
      show = id_shown;
    else if (bson_iter_init_find(&p, proj, key))
      show = bval_truthy(bson_iter_value(&p));
    else
      show = !inclusion;
    if (show)
      bson_append_iter(out, key, (int)bson_iter_key_len(&it), &it);
  }
}

/* ---- sorting ---------------------------------------------------------------
 */

/* One key of a sort specification. */
typedef struct {
  const char *path; /* dotted path, points into the spec */
  int dir;          /* 1 ascending, -1 descending */
} sort_key_t;

/* A parsed sort and the values it sorts on, for qsort_r. */
typedef struct {
  sort_key_t keys[MTS_MAX_INDEX_FIELDS]; /* the keys, in priority order */
  int nkeys;                             /* number of keys */
  bson_value_t *values; /* nkeys values per document, row-major */
} sort_t;

/* Parses {a: 1, b: -1} into s; $natural only reverses or keeps order. */
static bool sort_parse(const bson_t *spec, sort_t *s, int *natural,
                       bson_error_t *error)
{
  bson_iter_t it;
  memset(s, 0, sizeof *s);
  *natural = 0;
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    int64_t dir;
    if (!bval_as_int64(bson_iter_value(&it), &dir) || (dir != 1 && dir != -1)) {
      bson_set_error(error, MTS_ERR_DOMAIN, 15974,
                     "Illegal key in $sort specification: %s",
                     bson_iter_key(&it));
      return false;
    }
    if (!strcmp(bson_iter_key(&it), "$natural")) {
      *natural = (int)dir;
      continue;
    }
    if (s->nkeys == MTS_MAX_INDEX_FIELDS) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                     "too many sort keys");
      return false;
    }
    s->keys[s->nkeys].path = bson_iter_key(&it);
    s->keys[s->nkeys++].dir = (int)dir;
  }
  return true;
}

/* The value a document sorts by on one key: the field (null when missing)
 * or, for an array, its smallest (ascending) or largest element. */
static void sort_value(const doc_t *d, const sort_key_t *k, bson_value_t *out)
{
  bson_t view;
  bson_init_static(&view, d->data, d->len);
  if (!bval_get_path(&view, k->path, out)) {
    out->value_type = BSON_TYPE_NULL;
    return;
  }
  if (out->value_type != BSON_TYPE_ARRAY)
    return;
  bson_iter_t it;
  bool any = false;
  bson_value_t best = {.value_type = BSON_TYPE_UNDEFINED};
  if (bson_iter_init_from_data(&it, out->value.v_doc.data,
                               out->value.v_doc.data_len))
    while (bson_iter_next(&it)) {
      const bson_value_t *e = bson_iter_value(&it);
      if (!any || bval_compare(e, &best) * k->dir < 0)
        best = *e;
      any = true;
    }
  *out = best;
}

/* One row being sorted. */
typedef struct {
  doc_t *doc;   /* the document */
  size_t index; /* its position before sorting: keeps the sort stable */
} sort_row_t;

/* qsort_r comparator over sort rows. */
static int sort_cmp(const void *a, const void *b, void *arg)
{
  const sort_row_t *x = a, *y = b;
  const sort_t *s = arg;
  for (int k = 0; k < s->nkeys; k++) {
    int c = bval_compare(&s->values[x->index * (size_t)s->nkeys + (size_t)k],
                         &s->values[y->index * (size_t)s->nkeys + (size_t)k]);
    if (c)
      return c * s->keys[k].dir;
  }
  return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

/* Sorts v in place by spec; stable. */
static bool sort_docs(docvec_t *v, const bson_t *spec, bson_error_t *error)
{
  sort_t s;
  int natural;
  if (!sort_parse(spec, &s, &natural, error))
    return false;
  if (natural < 0)
    for (size_t i = 0; i < v->n / 2; i++) {
      doc_t *t = v->docs[i];
      v->docs[i] = v->docs[v->n - 1 - i];
      v->docs[v->n - 1 - i] = t;
    }
  if (!s.nkeys || v->n < 2)
    return true;
  sort_row_t *rows = malloc(v->n * sizeof *rows);
  s.values = malloc(v->n * (size_t)s.nkeys * sizeof *s.values);
  if (!rows || !s.values) {
    free(rows);
    free(s.values);
    return oom(error);
  }
  for (size_t i = 0; i < v->n; i++) {
    rows[i].doc = v->docs[i];
    rows[i].index = i;
    for (int k = 0; k < s.nkeys; k++)
      sort_value(v->docs[i], &s.keys[k],
                 &s.values[i * (size_t)s.nkeys + (size_t)k]);
  }
  qsort_r(rows, v->n, sizeof *rows, sort_cmp, &s);
  for (size_t i = 0; i < v->n; i++)
    v->docs[i] = rows[i].doc;
  free(rows);
  free(s.values);
  return true;
}

/* Keeps documents [skip, skip + limit) of v (limit 0: all the rest). */
static void skip_limit(docvec_t *v, int64_t skip, int64_t limit)
{
  size_t from = skip > 0 ? (size_t)skip : 0;
  if (v->n == 0)
    return;
  if (from > v->n)
    from = v->n;
  for (size_t i = 0; i < from; i++)
    doc_unref(v->docs[i]);
  memmove(v->docs, v->docs + from, (v->n - from) * sizeof *v->docs);
  v->n -= from;
  if (limit > 0 && (size_t)limit < v->n) {
    for (size_t i = (size_t)limit; i < v->n; i++)
      doc_unref(v->docs[i]);
    v->n = (size_t)limit;
  }
}

/* ---- cursors ----------------------------------------------------------------
 */

/* Moves up to max_count (<=0: no count limit) documents of cur into a
 * batch array, stopping before MAX_BATCH_BYTES once one is in. */
static void fill_batch(cursor_t *cur, int64_t max_count, bson_t *batch)
{
  uint32_t count = 0;
  size_t bytes = 0;
  while (cur->pos < cur->ndocs && (max_count <= 0 || count < max_count)) {
    doc_t *d = cur->docs[cur->pos];
    bson_t projected;
    const uint8_t *data = d->data;
    uint32_t len = d->len;
    if (cur->projection) {
      projection_apply(cur->projection, d->data, d->len, &projected);
      data = bson_get_data(&projected);
      len = projected.len;
    }
    bool fits = count == 0 || bytes + len <= MAX_BATCH_BYTES;
    if (fits) {
      cmd_array_append_doc(batch, &count, data, len);
      bytes += len;
    }
    if (cur->projection)
      bson_destroy(&projected);
    if (!fits)
      break;
    doc_unref(d);
    cur->docs[cur->pos++] = NULL;
  }
}

/* Appends {cursor: {<field>: batch, id, ns}} to reply. */
static void append_cursor(bson_t *reply, const char *field, const bson_t *batch,
                          int64_t id, const char *ns)
{
  bson_t c;
  BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &c);
  BSON_APPEND_ARRAY(&c, field, batch);
  BSON_APPEND_INT64(&c, "id", id);
  BSON_APPEND_UTF8(&c, "ns", ns);
  bson_append_document_end(reply, &c);
}

bool cmd_reply_cursor(cmd_ctx_t *ctx, const char *ns, doc_t **docs,
                      size_t ndocs, int64_t batch_size,
                      const bson_t *projection, bool single_batch,
                      bson_error_t *error)
{
  cursor_t *cur = calloc(1, sizeof *cur);
  if (cur)
    cur->ns = strdup(ns);
  if (!cur || !cur->ns) {
    for (size_t i = 0; i < ndocs; i++)
      doc_unref(docs[i]);
    free(docs);
    if (cur)
      free(cur);
    return oom(error);
  }
  cur->docs = docs;
  cur->ndocs = ndocs;
  if (projection)
    cur->projection = bson_copy(projection);
  bson_t batch = BSON_INITIALIZER;
  if (batch_size != 0)
    fill_batch(cur, batch_size < 0 ? DEFAULT_FIRST_BATCH : batch_size, &batch);
  int64_t id = 0;
  if (cur->pos < cur->ndocs && !single_batch) {
    store_cursor_add(ctx->srv->store, cur);
    id = cur->id; /* 0 if the store had no room and freed it */
  } else {
    cursor_free(cur);
  }
  append_cursor(ctx->reply, "firstBatch", &batch, id, ns);
  bson_destroy(&batch);
  return true;
}

/* Reads cursor.batchSize of aggregate and list commands (-1 when absent);
 * error 9 for aggregate without a cursor document. */
static bool cursor_batch_size(const cmd_ctx_t *ctx, bool required,
                              int64_t *batch_size, bson_error_t *error)
{
  bson_t cursor;
  bool has;
  *batch_size = -1;
  if (!cmd_opt_doc(ctx->body, "cursor", &cursor, &has, error))
    return false;
  if (!has) {
    if (required) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "The 'cursor' option is required, except for aggregate "
                     "with the explain argument");
      return false;
    }
    return true;
  }
  if (!cmd_opt_int64(&cursor, "batchSize", batch_size, error))
    return false;
  if (*batch_size < -1) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "batchSize must be non-negative");
    return false;
  }
  return true;
}

/* Collects the documents of db.name matching m into v (empty when the
 * collection does not exist). limit 0: all. */
static bool collect(cmd_ctx_t *ctx, const char *name, const matcher_t *m,
                    size_t limit, docvec_t *v, bson_error_t *error)
{
  v->docs = NULL;
  v->n = 0;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (!c)
    return true;
  pthread_rwlock_rdlock(&c->lock);
  v->docs = coll_match(c, m, limit, true, &v->n);
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  return v->docs ? true : oom(error);
}

/* ---- find / getMore / killCursors --------------------------------------- */

bool cmd_find(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  bson_t filter, sort, proj;
  bool has_filter, has_sort, has_proj, single = false, ok = false;
  int64_t skip = 0, limit = 0, batch_size = -1;
  bson_iter_t it;
  matcher_t *m = NULL;
  docvec_t v = {0};

  if (!cmd_coll_name(ctx, &name, error) ||
      !cmd_opt_doc(ctx->body, "filter", &filter, &has_filter, error) ||
      !cmd_opt_doc(ctx->body, "sort", &sort, &has_sort, error) ||
      !cmd_opt_doc(ctx->body, "projection", &proj, &has_proj, error) ||
      !cmd_opt_int64(ctx->body, "skip", &skip, error) ||
      !cmd_opt_int64(ctx->body, "limit", &limit, error) ||
      !cmd_opt_int64(ctx->body, "batchSize", &batch_size, error))
    return false;
  if (skip < 0 || limit < 0 || (batch_size < 0 && batch_size != -1)) {
    bson_set_error(error, MTS_ERR_DOMAIN, 51024,
                   "skip, limit and batchSize must be non-negative");
    return false;
  }
  if (bson_iter_init_find(&it, ctx->body, "singleBatch"))
    single = bval_truthy(bson_iter_value(&it));
  if (has_proj && (bson_empty(&proj) || !projection_check(&proj, error))) {
    if (bson_empty(&proj))
      has_proj = false;
    else
      return false;
  }
  m = matcher_new(has_filter ? &filter : NULL, error);
  if (!m)
    return false;
  /* Without a sort the scan can stop once skip + limit documents match. */
  size_t want = !has_sort && limit ? (size_t)(skip + limit) : 0;
  if (!collect(ctx, name, m, want, &v, error))
    goto out;
  if (has_sort && !sort_docs(&v, &sort, error))
    goto out;
  skip_limit(&v, skip, limit);
  char *ns = bson_strdup_printf("%s.%s", ctx->db, name);
  ok = cmd_reply_cursor(ctx, ns, v.docs, v.n, batch_size,
                        has_proj ? &proj : NULL, single || limit == 1, error);
  v.docs = NULL;
  v.n = 0;
  bson_free(ns);
out:
  docvec_clear(&v);
  matcher_destroy(m);
  return ok;
}

bool cmd_get_more(cmd_ctx_t *ctx, bson_error_t *error)
{
  bson_iter_t it;
  int64_t id, batch_size = 0;
  if (!bson_iter_init(&it, ctx->body) || !bson_iter_next(&it) ||
      !BSON_ITER_HOLDS_INT64(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "BSON field 'getMore.getMore' is the wrong type, expected "
                   "type 'long'");
    return false;
  }
  id = bson_iter_int64(&it);
  if (!bson_iter_init_find(&it, ctx->body, "collection") ||
      !BSON_ITER_HOLDS_UTF8(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, 40414,
                   "BSON field 'getMore.collection' is missing but a "
                   "required field");
    return false;
  }
  if (!cmd_opt_int64(ctx->body, "batchSize", &batch_size, error))
    return false;
  cursor_t *cur = store_cursor_pin(ctx->srv->store, id);
  if (!cur) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_CURSOR_NOT_FOUND,
                   "cursor id %lld not found", (long long)id);
    return false;
  }
  bson_t batch = BSON_INITIALIZER;
  fill_batch(cur, batch_size, &batch);
  bool exhausted = cur->pos >= cur->ndocs;
  char *ns = strdup(cur->ns);
  store_cursor_unpin(ctx->srv->store, cur); /* frees it when exhausted */
  append_cursor(ctx->reply, "nextBatch", &batch, exhausted ? 0 : id,
                ns ? ns : "");
  free(ns);
  bson_destroy(&batch);
  return true;
}

bool cmd_kill_cursors(cmd_ctx_t *ctx, bson_error_t *error)
{
  bson_iter_t it, ids;
  bson_t killed = BSON_INITIALIZER, missing = BSON_INITIALIZER;
  uint32_t nk = 0, nm = 0;
  if (!bson_iter_init_find(&it, ctx->body, "cursors") ||
      !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &ids)) {
    bson_set_error(error, MTS_ERR_DOMAIN, 40414,
                   "BSON field 'killCursors.cursors' is missing but a "
                   "required field");
    return false;
  }
  while (bson_iter_next(&ids)) {
    int64_t id;
    if (!bval_as_int64(bson_iter_value(&ids), &id))
      continue;
    if (store_cursor_kill(ctx->srv->store, id))
      cmd_array_append(&killed, &nk, bson_iter_value(&ids));
    else
      cmd_array_append(&missing, &nm, bson_iter_value(&ids));
  }
  bson_t empty = BSON_INITIALIZER;
  BSON_APPEND_ARRAY(ctx->reply, "cursorsKilled", &killed);
  BSON_APPEND_ARRAY(ctx->reply, "cursorsNotFound", &missing);
  BSON_APPEND_ARRAY(ctx->reply, "cursorsAlive", &empty);
  BSON_APPEND_ARRAY(ctx->reply, "cursorsUnknown", &empty);
  bson_destroy(&killed);
  bson_destroy(&missing);
  bson_destroy(&empty);
  return true;
}

/* ---- count / distinct ---------------------------------------------------- */

bool cmd_count(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  bson_t query;
  bool has_query;
  int64_t skip = 0, limit = 0, n = 0;
  if (!cmd_coll_name(ctx, &name, error) ||
      !cmd_opt_doc(ctx->body, "query", &query, &has_query, error) ||
      !cmd_opt_int64(ctx->body, "skip", &skip, error) ||
      !cmd_opt_int64(ctx->body, "limit", &limit, error))
    return false;
  if (skip < 0) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_BAD_VALUE,
                   "skip value is negative in count query");
    return false;
  }
  matcher_t *m = matcher_new(has_query ? &query : NULL, error);
  if (!m)
    return false;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (c) {
    pthread_rwlock_rdlock(&c->lock);
    if (matcher_is_empty(m)) {
      n = (int64_t)c->count;
    } else {
      size_t found;
      doc_t **hits = coll_match(c, m, 0, false, &found);
      n = (int64_t)found;
      free(hits);
    }
    pthread_rwlock_unlock(&c->lock);
    coll_unref(c);
  }
  matcher_destroy(m);
  n = n > skip ? n - skip : 0;
  if (limit < 0)
    limit = -limit;
  if (limit && n > limit)
    n = limit;
  if (n <= INT32_MAX)
    BSON_APPEND_INT32(ctx->reply, "n", (int32_t)n);
  else
    BSON_APPEND_INT64(ctx->reply, "n", n);
  return true;
}

/* qsort_r comparator over bson values. */
static int value_cmp(const void *a, const void *b, void *arg)
{
  (void)arg;
  return bval_compare(a, b);
}

bool cmd_distinct(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name, *key;
  bson_t query;
  bool has_query, ok = false;
  bson_iter_t it;
  docvec_t v = {0};
  bson_value_t *vals = NULL;
  size_t nvals = 0, cap = 0;
  if (!cmd_coll_name(ctx, &name, error) ||
      !cmd_opt_doc(ctx->body, "query", &query, &has_query, error))
    return false;
  if (!bson_iter_init_find(&it, ctx->body, "key") ||
      !BSON_ITER_HOLDS_UTF8(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, 40414,
                   "BSON field 'distinct.key' is missing but a required "
                   "field");
    return false;
  }
  key = bson_iter_utf8(&it, NULL);
  matcher_t *m = matcher_new(has_query ? &query : NULL, error);
  if (!m || !collect(ctx, name, m, 0, &v, error))
    goto out;
  for (size_t i = 0; i < v.n; i++) {
    bson_t view;
    bson_value_t val;
    bson_init_static(&view, v.docs[i]->data, v.docs[i]->len);
    if (!bval_get_path(&view, key, &val))
      continue;
    bson_iter_t ai;
    bool is_array = val.value_type == BSON_TYPE_ARRAY &&
                    bson_iter_init_from_data(&ai, val.value.v_doc.data,
                                             val.value.v_doc.data_len);
    while (is_array ? bson_iter_next(&ai) : true) {
      if (nvals == cap) {
        cap = cap ? cap * 2 : 64;
        bson_value_t *g = realloc(vals, cap * sizeof *g);
        if (!g) {
          oom(error);
          goto out;
        }
        vals = g;
      }
      vals[nvals++] = is_array ? *bson_iter_value(&ai) : val;
      if (!is_array)
        break;
    }
  }
  if (nvals)
    qsort_r(vals, nvals, sizeof *vals, value_cmp, NULL);
  bson_t arr;
  uint32_t count = 0;
  BSON_APPEND_ARRAY_BEGIN(ctx->reply, "values", &arr);
  for (size_t i = 0; i < nvals; i++)
    if (i == 0 || bval_compare(&vals[i - 1], &vals[i]))
      cmd_array_append(&arr, &count, &vals[i]);
  bson_append_array_end(ctx->reply, &arr);
  ok = true;
out:
  free(vals);
  docvec_clear(&v);
  matcher_destroy(m);
  return ok;
}

/* ---- aggregate ------------------------------------------------------------
 */

/* Evaluates a $group expression against doc: "$path" reads a field (false
 * when missing), anything else is a literal. Operator expressions are not
 * supported (error). */
static bool eval_expr(const bson_value_t *expr, const doc_t *doc,
                      bson_value_t *out, bool *present, bson_error_t *error)
{
  *present = true;
  if (expr->value_type == BSON_TYPE_UTF8 && expr->value.v_utf8.str[0] == '$') {
    const char *path = expr->value.v_utf8.str + 1;
    bson_t view;
    if (path[0] == '$') {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                     "mongo-test-server does not support variables (%s)",
                     expr->value.v_utf8.str);
      return false;
    }
    bson_init_static(&view, doc->data, doc->len);
    *present = bval_get_path(&view, path, out);
    return true;
  }
  bson_iter_t it;
  if (expr->value_type == BSON_TYPE_DOCUMENT &&
      bson_iter_init_from_data(&it, expr->value.v_doc.data,
                               expr->value.v_doc.data_len) &&
      bson_iter_next(&it) && bson_iter_key(&it)[0] == '$') {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                   "mongo-test-server does not support the expression %s",
                   bson_iter_key(&it));
    return false;
  }
  *out = *expr;
  return true;
}

/* Evaluates a $group _id: an object of expressions ({a: "$a", b: "$b"},
 * as for a compound key) becomes a document of their values, a missing
 * field left out, as mongod does; it is kept in made, which the caller
 * releases once the groups are done. Anything else is eval_expr(). */
static bool eval_id(const bson_value_t *expr, const doc_t *doc, docvec_t *made,
                    bson_value_t *out, bool *present, bson_error_t *error)
{
  bson_iter_t it;
  if (expr->value_type != BSON_TYPE_DOCUMENT ||
      !bson_iter_init_from_data(&it, expr->value.v_doc.data,
                                expr->value.v_doc.data_len) ||
      !bson_iter_next(&it) || bson_iter_key(&it)[0] == '$')
    return eval_expr(expr, doc, out, present, error);
  bson_t key = BSON_INITIALIZER;
  bson_iter_init_from_data(&it, expr->value.v_doc.data,
                           expr->value.v_doc.data_len);
  while (bson_iter_next(&it)) {
    bson_value_t v;
    bool here;
    if (!eval_expr(bson_iter_value(&it), doc, &v, &here, error)) {
      bson_destroy(&key);
      return false;
    }
    if (here)
      bson_append_value(&key, bson_iter_key(&it), -1, &v);
  }
  bool pushed = docvec_push_bson(made, &key);
  bson_destroy(&key);
  if (!pushed)
    return oom(error);
  const doc_t *d = made->docs[made->n - 1];
  out->value_type = BSON_TYPE_DOCUMENT;
  out->value.v_doc.data = (uint8_t *)d->data;
  out->value.v_doc.data_len = (uint32_t)d->len;
  *present = true;
  return true;
}

/* The accumulators $group supports. */
typedef enum {
  ACC_SUM,
  ACC_AVG,
  ACC_MIN,
  ACC_MAX,
  ACC_FIRST,
  ACC_LAST
} acc_op_t;

/* One output field of $group: {name: {$op: arg}}. */
typedef struct {
  const char *name; /* output field, points into the pipeline */
  acc_op_t op;      /* accumulator */
  bson_value_t arg; /* its argument expression */
} acc_spec_t;

/* One accumulator's running state in one group. */
typedef struct {
  int64_t isum;      /* integral sum while it fits */
  double dsum;       /* floating sum */
  bool has_double;   /* a double was added, or the integer sum overflowed */
  bool has_long;     /* an int64 was added */
  int64_t nnumbers;  /* numbers seen, for $avg */
  bson_value_t best; /* $min/$max/$first/$last: the value so far */
  bool has_best;     /* best is set */
} acc_state_t;

/* One group: its key and its accumulators' states. */
typedef struct {
  bson_value_t key;  /* the _id value (points into an input document) */
  acc_state_t *accs; /* one state per accumulator */
} group_t;

/* Folds one value into an accumulator. */
static void acc_add(acc_state_t *s, acc_op_t op, const bson_value_t *v,
                    bool present)
{
  switch (op) {
  case ACC_SUM:
  case ACC_AVG:
    if (!present || !bval_is_number(v->value_type))
      return;
    s->nnumbers++;
    if (v->value_type == BSON_TYPE_DOUBLE ||
        v->value_type == BSON_TYPE_DECIMAL128) {
      double d = 0;
      bval_as_double(v, &d);
      s->has_double = true;
      s->dsum += d;
    } else {
      int64_t l = 0;
      bval_as_int64(v, &l);
      if (v->value_type == BSON_TYPE_INT64)
        s->has_long = true;
      if (!s->has_double && __builtin_add_overflow(s->isum, l, &s->isum))
        s->has_double = true;
      s->dsum += (double)l;
    }
    return;
  case ACC_MIN:
  case ACC_MAX:
    if (!present || v->value_type == BSON_TYPE_NULL)
      return;
    if (!s->has_best ||
        bval_compare(v, &s->best) * (op == ACC_MIN ? 1 : -1) < 0)
      s->best = *v;
    s->has_best = true;
    return;
  case ACC_FIRST:
    if (!s->has_best) {
      if (present)
        s->best = *v;
      else
        s->best.value_type = BSON_TYPE_NULL;
      s->has_best = true;
    }
    return;
  case ACC_LAST:
    if (present)
      s->best = *v;
    else
      s->best.value_type = BSON_TYPE_NULL;
    s->has_best = true;
    return;
  }
}

/* Appends an accumulator's result under name. */
static void acc_result(bson_t *out, const char *name, const acc_state_t *s,
                       acc_op_t op)
{
  switch (op) {
  case ACC_SUM:
    if (s->has_double)
      BSON_APPEND_DOUBLE(out, name, s->dsum);
    else if (!s->has_long && s->isum >= INT32_MIN && s->isum <= INT32_MAX)
      BSON_APPEND_INT32(out, name, (int32_t)s->isum);
    else
      BSON_APPEND_INT64(out, name, s->isum);
    return;
  case ACC_AVG:
    if (s->nnumbers)
      BSON_APPEND_DOUBLE(out, name, s->dsum / (double)s->nnumbers);
    else
      BSON_APPEND_NULL(out, name);
    return;
  default:
    if (s->has_best)
      bson_append_value(out, name, -1, &s->best);
    else
      BSON_APPEND_NULL(out, name);
  }
}

/* Runs {$group: spec} over v, replacing its documents with one per group.
 * Group order is first appearance. */
static bool stage_group(docvec_t *v, const bson_value_t *spec,
                        bson_error_t *error)
{
  bson_iter_t it, op;
  bson_value_t id_expr = {.value_type = BSON_TYPE_EOD};
  acc_spec_t accs[64];
  size_t naccs = 0, ngroups = 0, cap = 0, tcap = 0;
  group_t *groups = NULL;
  size_t *table = NULL; /* open addressing: group index + 1, 0 empty */
  bool ok = false;
  docvec_t out = {0};
  docvec_t made = {0}; /* the keys eval_id() built */

  if (spec->value_type != BSON_TYPE_DOCUMENT ||
      !bson_iter_init_from_data(&it, spec->value.v_doc.data,
                                spec->value.v_doc.data_len))
    goto bad_spec;
  while (bson_iter_next(&it)) {
    const char *key = bson_iter_key(&it);
    if (!strcmp(key, "_id")) {
      id_expr = *bson_iter_value(&it);
      continue;
    }
    static const struct {
      const char *name; /* accumulator name */
      acc_op_t op;      /* its code */
    } known[] = {{"$sum", ACC_SUM},  {"$avg", ACC_AVG},     {"$min", ACC_MIN},
                 {"$max", ACC_MAX},  {"$first", ACC_FIRST}, {"$last", ACC_LAST},
                 {"$count", ACC_SUM}};
    if (naccs == sizeof accs / sizeof accs[0] ||
        !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &op) ||
        !bson_iter_next(&op))
      goto bad_spec;
    size_t k;
    for (k = 0; k < sizeof known / sizeof known[0]; k++)
      if (!strcmp(bson_iter_key(&op), known[k].name))
        break;
    if (k == sizeof known / sizeof known[0]) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_UNKNOWN_GROUP_OP,
                     "unknown group operator '%s'", bson_iter_key(&op));
      goto out;
    }
    accs[naccs].name = key;
    accs[naccs].op = known[k].op;
    if (!strcmp(known[k].name, "$count")) {
      /* {$count: {}} counts, as {$sum: 1}. */
      accs[naccs].arg.value_type = BSON_TYPE_INT32;
      accs[naccs].arg.value.v_int32 = 1;
    } else {
      accs[naccs].arg = *bson_iter_value(&op);
    }
    naccs++;
  }
  if (id_expr.value_type == BSON_TYPE_EOD) {
    bson_set_error(error, MTS_ERR_DOMAIN, 15955,
                   "a group specification must include an _id");
    goto out;
  }
  for (size_t i = 0; i < v->n; i++) {
    bson_value_t key, val;
    bool present;
    if (!eval_id(&id_expr, v->docs[i], &made, &key, &present, error))
      goto out;
    if (!present)
      key.value_type = BSON_TYPE_NULL;
    /* Find or add the group; the table stays under half full. */
    if ((ngroups + 1) * 2 > tcap) {
      size_t ncap = tcap ? tcap * 2 : 64;
      size_t *nt = calloc(ncap, sizeof *nt);
      if (!nt)
        goto oom;
      for (size_t g = 0; g < ngroups; g++) {
        size_t h = (size_t)bval_hash(&groups[g].key, 0) & (ncap - 1);
        while (nt[h])
          h = (h + 1) & (ncap - 1);
        nt[h] = g + 1;
      }
      free(table);
      table = nt;
      tcap = ncap;
    }
    size_t h = (size_t)bval_hash(&key, 0) & (tcap - 1);
    while (table[h] && bval_compare(&groups[table[h] - 1].key, &key))
      h = (h + 1) & (tcap - 1);
    if (!table[h]) {
      if (ngroups == cap) {
        cap = cap ? cap * 2 : 16;
        group_t *g = realloc(groups, cap * sizeof *g);
        if (!g)
          goto oom;
        groups = g;
      }
      groups[ngroups].key = key;
      groups[ngroups].accs = calloc(naccs ? naccs : 1, sizeof(acc_state_t));
      if (!groups[ngroups].accs)
        goto oom;
      table[h] = ++ngroups;
    }
    group_t *g = &groups[table[h] - 1];
    for (size_t a = 0; a < naccs; a++) {
      if (!eval_expr(&accs[a].arg, v->docs[i], &val, &present, error))
        goto out;
      acc_add(&g->accs[a], accs[a].op, &val, present);
    }
  }
  for (size_t g = 0; g < ngroups; g++) {
    bson_t d = BSON_INITIALIZER;
    bson_append_value(&d, "_id", 3, &groups[g].key);
    for (size_t a = 0; a < naccs; a++)
      acc_result(&d, accs[a].name, &groups[g].accs[a], accs[a].op);
    bool pushed = docvec_push_bson(&out, &d);
    bson_destroy(&d);
    if (!pushed)
      goto oom;
  }
  /* The group keys point into the input: release it only now. */
  docvec_clear(v);
  *v = out;
  out.docs = NULL;
  out.n = 0;
  ok = true;
  goto out;
bad_spec:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                 "a group's fields must be specified in an object");
  goto out;
oom:
  oom(error);
out:
  for (size_t g = 0; g < ngroups; g++)
    free(groups[g].accs);
  free(groups);
  free(table);
  docvec_clear(&out);
  docvec_clear(&made);
  return ok;
}

/* Runs {$collStats: spec} as the first stage: one document with the
 * collection's count and/or storage statistics. */
static bool stage_coll_stats(cmd_ctx_t *ctx, const char *name,
                             const bson_value_t *spec, docvec_t *v,
                             bson_error_t *error)
{
  bson_iter_t it;
  bool want_count = false, want_storage = false;
  if (spec->value_type == BSON_TYPE_DOCUMENT &&
      bson_iter_init_from_data(&it, spec->value.v_doc.data,
                               spec->value.v_doc.data_len)) {
    want_count = bson_iter_find(&it, "count");
    bson_iter_init_from_data(&it, spec->value.v_doc.data,
                             spec->value.v_doc.data_len);
    want_storage = bson_iter_find(&it, "storageStats");
  }
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_NOT_FOUND,
                   "Unable to retrieve %s in $collStats stage :: caused by "
                   ":: Collection [%s.%s] not found.",
                   want_count ? "count" : "storageStats", ctx->db, name);
    return false;
  }
  pthread_rwlock_rdlock(&c->lock);
  int64_t count = (int64_t)c->count, size = (int64_t)c->bytes;
  int32_t nindexes = (int32_t)c->nindexes;
  pthread_rwlock_unlock(&c->lock);
  bson_t d = BSON_INITIALIZER, s;
  BSON_APPEND_UTF8(&d, "ns", c->ns);
  BSON_APPEND_UTF8(&d, "host", "127.0.0.1");
  BSON_APPEND_DATE_TIME(&d, "localTime", (int64_t)time(NULL) * 1000);
  if (want_storage) {
    BSON_APPEND_DOCUMENT_BEGIN(&d, "storageStats", &s);
    BSON_APPEND_INT64(&s, "size", size);
    BSON_APPEND_INT64(&s, "count", count);
    BSON_APPEND_INT64(&s, "avgObjSize", count ? size / count : 0);
    BSON_APPEND_INT64(&s, "storageSize", size);
    BSON_APPEND_INT32(&s, "nindexes", nindexes);
    bson_append_document_end(&d, &s);
  }
  if (want_count)
    BSON_APPEND_INT64(&d, "count", count);
  coll_unref(c);
  bool ok = docvec_push_bson(v, &d);
  bson_destroy(&d);
  return ok ? true : oom(error);
}

/* Replaces v's documents by their projection. */
static bool stage_project(docvec_t *v, const bson_value_t *spec,
                          bson_error_t *error)
{
  bson_t proj;
  if (spec->value_type != BSON_TYPE_DOCUMENT ||
      !bson_init_static(&proj, spec->value.v_doc.data,
                        spec->value.v_doc.data_len) ||
      bson_empty(&proj)) {
    bson_set_error(error, MTS_ERR_DOMAIN, 15969,
                   "$project specification must be an object");
    return false;
  }
  if (!projection_check(&proj, error))
    return false;
  for (size_t i = 0; i < v->n; i++) {
    bson_t out;
    projection_apply(&proj, v->docs[i]->data, v->docs[i]->len, &out);
    doc_t *d = doc_from_bson(&out);
    bson_destroy(&out);
    if (!d)
      return oom(error);
    doc_unref(v->docs[i]);
    v->docs[i] = d;
  }
  return true;
}

bool cmd_aggregate(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  bson_iter_t it, stages;
  int64_t batch_size;
  docvec_t v = {0};
  bool ok = false, loaded = false;

  if (!bson_iter_init(&it, ctx->body) || !bson_iter_next(&it) ||
      !BSON_ITER_HOLDS_UTF8(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NOT_IMPLEMENTED,
                   "mongo-test-server supports only collection aggregates");
    return false;
  }
  if (!cmd_coll_name(ctx, &name, error) ||
      !cursor_batch_size(ctx, true, &batch_size, error))
    return false;
  if (!bson_iter_init_find(&it, ctx->body, "pipeline") ||
      !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &stages)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_TYPE_MISMATCH,
                   "'pipeline' option must be specified as an array");
    return false;
  }
  for (int index = 0; bson_iter_next(&stages); index++) {
    bson_iter_t st;
    if (!BSON_ITER_HOLDS_DOCUMENT(&stages) ||
        !bson_iter_recurse(&stages, &st) || !bson_iter_next(&st)) {
      bson_set_error(error, MTS_ERR_DOMAIN, 40323,
                     "A pipeline stage specification object must contain "
                     "exactly one field.");
      goto out;
    }
    const char *stage = bson_iter_key(&st);
    const bson_value_t *spec = bson_iter_value(&st);
    if (!strcmp(stage, "$collStats")) {
      if (index != 0) {
        bson_set_error(error, MTS_ERR_DOMAIN, 40602,
                       "$collStats is only valid as the first stage in a "
                       "pipeline");
        goto out;
      }
      if (!stage_coll_stats(ctx, name, spec, &v, error))
        goto out;
      loaded = true;
      continue;
    }
    if (!strcmp(stage, "$match")) {
      bson_t filter;
      if (spec->value_type != BSON_TYPE_DOCUMENT) {
        bson_set_error(error, MTS_ERR_DOMAIN, 15959,
                       "the match filter must be an expression in an "
                       "object");
        goto out;
      }
      bson_init_static(&filter, spec->value.v_doc.data,
                       spec->value.v_doc.data_len);
      matcher_t *m = matcher_new(&filter, error);
      if (!m)
        goto out;
      if (!loaded) {
        /* The first $match filters while scanning the collection. */
        ok = collect(ctx, name, m, 0, &v, error);
        loaded = true;
      } else {
        size_t j = 0;
        for (size_t i = 0; i < v.n; i++) {
          if (matcher_matches(m, v.docs[i]->data, v.docs[i]->len))
            v.docs[j++] = v.docs[i];
          else
            doc_unref(v.docs[i]);
        }
        v.n = j;
        ok = true;
      }
      matcher_destroy(m);
      if (!ok)
        goto out;
      ok = false;
      continue;
    }
    if (!loaded) {
      matcher_t *all = matcher_new(NULL, error);
      bool got = all && collect(ctx, name, all, 0, &v, error);
      matcher_destroy(all);
      if (!got)
        goto out;
      loaded = true;
    }
    int64_t n;
    if (!strcmp(stage, "$skip") || !strcmp(stage, "$limit")) {
      if (!bval_as_int64(spec, &n) || n < 0 || (n == 0 && stage[1] == 'l')) {
        bson_set_error(error, MTS_ERR_DOMAIN, 15956,
                       "invalid argument to %s stage", stage);
        goto out;
      }
      if (stage[1] == 's')
        skip_limit(&v, n, 0);
      else
        skip_limit(&v, 0, n);
    } else if (!strcmp(stage, "$sort")) {
      bson_t sort;
      if (spec->value_type != BSON_TYPE_DOCUMENT) {
        bson_set_error(error, MTS_ERR_DOMAIN, 15973,
                       "the $sort key specification must be an object");
        goto out;
      }
      bson_init_static(&sort, spec->value.v_doc.data,
                       spec->value.v_doc.data_len);
      if (!sort_docs(&v, &sort, error))
        goto out;
    } else if (!strcmp(stage, "$count")) {
      if (spec->value_type != BSON_TYPE_UTF8 || !spec->value.v_utf8.len ||
          spec->value.v_utf8.str[0] == '$' ||
          strchr(spec->value.v_utf8.str, '.')) {
        bson_set_error(error, MTS_ERR_DOMAIN, 40156,
                       "the count field must be a non-empty string");
        goto out;
      }
      size_t count = v.n;
      docvec_clear(&v);
      if (count) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_INT32(&d, spec->value.v_utf8.str, (int32_t)count);
        bool pushed = docvec_push_bson(&v, &d);
        bson_destroy(&d);
        if (!pushed) {
          oom(error);
          goto out;
        }
      }
    } else if (!strcmp(stage, "$group")) {
      if (!stage_group(&v, spec, error))
        goto out;
    } else if (!strcmp(stage, "$project")) {
      if (!stage_project(&v, spec, error))
        goto out;
    } else {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_UNKNOWN_STAGE,
                     "Unrecognized pipeline stage name: '%s' (not supported "
                     "by mongo-test-server)",
                     stage);
      goto out;
    }
  }
  if (!loaded) {
    matcher_t *all = matcher_new(NULL, error);
    bool got = all && collect(ctx, name, all, 0, &v, error);
    matcher_destroy(all);
    if (!got)
      goto out;
  }
  char *ns = bson_strdup_printf("%s.%s", ctx->db, name);
  ok = cmd_reply_cursor(ctx, ns, v.docs, v.n, batch_size, NULL, false, error);
  bson_free(ns);
  v.docs = NULL;
  v.n = 0;
out:
  docvec_clear(&v);
  return ok;
}

/* ---- listCollections / listIndexes ------------------------------------- */

bool cmd_list_collections(cmd_ctx_t *ctx, bson_error_t *error)
{
  bson_t filter;
  bool has_filter, name_only = false;
  bson_iter_t it;
  int64_t batch_size;
  size_t n = 0;
  docvec_t v = {0};
  bool ok = false;
  if (!store_valid_names(ctx->db, NULL, error) ||
      !cmd_opt_doc(ctx->body, "filter", &filter, &has_filter, error) ||
      !cursor_batch_size(ctx, false, &batch_size, error))
    return false;
  if (bson_iter_init_find(&it, ctx->body, "nameOnly"))
    name_only = bval_truthy(bson_iter_value(&it));
  matcher_t *m = matcher_new(has_filter ? &filter : NULL, error);
  if (!m)
    return false;
  coll_t **colls = store_list_colls(ctx->srv->store, ctx->db, &n);
  if (!colls) {
    oom(error);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    coll_t *c = colls[i];
    bson_t d = BSON_INITIALIZER, sub;
    BSON_APPEND_UTF8(&d, "name", c->name);
    BSON_APPEND_UTF8(&d, "type", "collection");
    if (!name_only) {
      pthread_rwlock_rdlock(&c->lock);
      BSON_APPEND_DOCUMENT(&d, "options", c->options);
      pthread_rwlock_unlock(&c->lock);
      uint8_t uuid[16] = {0};
      memcpy(uuid, c->uuid_seed.bytes, 12);
      uuid[6] = (uint8_t)((uuid[6] & 0x0F) | 0x40);
      uuid[8] = (uint8_t)((uuid[8] & 0x3F) | 0x80);
      BSON_APPEND_DOCUMENT_BEGIN(&d, "info", &sub);
      BSON_APPEND_BOOL(&sub, "readOnly", false);
      BSON_APPEND_BINARY(&sub, "uuid", BSON_SUBTYPE_UUID, uuid, 16);
      bson_append_document_end(&d, &sub);
      bson_t *id = BCON_NEW("v", BCON_INT32(2), "key", "{", "_id",
                            BCON_INT32(1), "}", "name", BCON_UTF8("_id_"));
      BSON_APPEND_DOCUMENT(&d, "idIndex", id);
      bson_destroy(id);
    }
    bool keep = matcher_matches(m, bson_get_data(&d), d.len);
    bool pushed = !keep || docvec_push_bson(&v, &d);
    bson_destroy(&d);
    if (!pushed) {
      oom(error);
      goto out;
    }
  }
  char *ns = bson_strdup_printf("%s.$cmd.listCollections", ctx->db);
  ok = cmd_reply_cursor(ctx, ns, v.docs, v.n, batch_size, NULL, false, error);
  bson_free(ns);
  v.docs = NULL;
  v.n = 0;
out:
  for (size_t i = 0; i < n; i++)
    coll_unref(colls[i]);
  free(colls);
  docvec_clear(&v);
  matcher_destroy(m);
  return ok;
}

bool cmd_list_indexes(cmd_ctx_t *ctx, bson_error_t *error)
{
  const char *name;
  int64_t batch_size;
  docvec_t v = {0};
  if (!cmd_coll_name(ctx, &name, error) ||
      !cursor_batch_size(ctx, false, &batch_size, error))
    return false;
  coll_t *c = store_get_coll(ctx->srv->store, ctx->db, name, false, NULL);
  if (!c) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_NAMESPACE_NOT_FOUND,
                   "ns does not exist: %s.%s", ctx->db, name);
    return false;
  }
  bool pushed = true;
  pthread_rwlock_rdlock(&c->lock);
  for (size_t i = 0; pushed && i < c->nindexes; i++)
    pushed = docvec_push_bson(&v, c->indexes[i]->spec);
  pthread_rwlock_unlock(&c->lock);
  coll_unref(c);
  if (!pushed) {
    docvec_clear(&v);
    return oom(error);
  }
  char *ns = bson_strdup_printf("%s.$cmd.listIndexes.%s", ctx->db, name);
  bool ok =
      cmd_reply_cursor(ctx, ns, v.docs, v.n, batch_size, NULL, false, error);
  bson_free(ns);
  return ok;
}
