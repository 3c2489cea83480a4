/* indexes: --index, built after the load (see include/loader/indexes.h).
 *
 * The phase runs on the main thread once every job has finished: one sink
 * per collection, each index created in turn. When a unique index is
 * refused because rows share a key, the target is asked for the first
 * INDEXES_MAX_DUPS such keys (a grouping query: bounded by the target, not
 * by the loader), and each input file of that collection is read again,
 * streaming, with the load's own reader and document builder, to find the
 * lines whose documents hold them: memory is one record and those keys,
 * whatever the size of the files. Standard input cannot be read again:
 * its lines are then said to be unknown. */
#include "loader/indexes.h"
#include "loader/batch.h"
#include "loader/job.h"
#include "loader/error.h"
#include "loader/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest field name an index key may have. */
#define INDEXES_FIELD_MAX 1024
/* Longest index name the sinks take (sink_index_result_t.name). */
#define INDEXES_NAME_MAX (sizeof((sink_index_result_t *)0)->name - 1)

void indexes_spec_cleanup(indexes_spec_t *spec)
{
  for (size_t i = 0; i < spec->n_keys; i++)
    free(spec->keys[i].field);
  free(spec->keys);
  free(spec->name);
  free(spec->on);
  memset(spec, 0, sizeof *spec);
}

/* Parses one comma-separated element of a spec (len bytes at p) into
 * spec: an option word, or FIELD:1 / FIELD:-1. */
static bool indexes__element(const char *text, const char *p, size_t len,
                             indexes_spec_t *spec, bson_error_t *error)
{
  char **slot = NULL;
  size_t skip = 0;
  if (len == 6 && memcmp(p, "unique", 6) == 0) {
    spec->unique = true;
    return true;
  }
  if (len == 6 && memcmp(p, "sparse", 6) == 0) {
    spec->sparse = true;
    return true;
  }
  if (len >= 5 && memcmp(p, "name=", 5) == 0)
    slot = &spec->name, skip = 5;
  else if (len >= 3 && memcmp(p, "on=", 3) == 0)
    slot = &spec->on, skip = 3;
  if (slot) {
    if (*slot || len == skip)
      goto bad;
    if (slot == &spec->name && len - skip > INDEXES_NAME_MAX) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--index: name= longer than %zu bytes in \"%s\"",
                     (size_t)INDEXES_NAME_MAX, text);
      return false;
    }
    *slot = strndup(p + skip, len - skip);
    goto check_alloc;
  }
  const char *colon = NULL;
  for (const char *q = p; q < p + len; q++)
    if (*q == ':')
      colon = q;
  if (!colon || colon == p || (size_t)(colon - p) > INDEXES_FIELD_MAX)
    goto bad;
  size_t dlen = len - (size_t)(colon - p) - 1;
  int dir;
  if (dlen == 1 && colon[1] == '1')
    dir = 1;
  else if (dlen == 2 && colon[1] == '-' && colon[2] == '1')
    dir = -1;
  else
    goto bad;
  if (p[0] == '$') {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--index: a field may not start with '$' in \"%s\"", text);
    return false;
  }
  for (size_t i = 0; i < spec->n_keys; i++)
    if (strlen(spec->keys[i].field) == (size_t)(colon - p) &&
        memcmp(spec->keys[i].field, p, (size_t)(colon - p)) == 0) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--index: field \"%s\" given twice in \"%s\"",
                     spec->keys[i].field, text);
      return false;
    }
  sink_index_key_t *keys =
      realloc(spec->keys, (spec->n_keys + 1) * sizeof *keys);
  if (!keys)
    goto oom;
  spec->keys = keys;
  keys[spec->n_keys].direction = dir;
  keys[spec->n_keys].field = strndup(p, (size_t)(colon - p));
  slot = &keys[spec->n_keys++].field;
check_alloc:
  if (!*slot)
    goto oom;
  return true;
bad:
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "--index: expected FIELD:1 or FIELD:-1, unique, sparse, "
                 "name=NAME or on=COLLECTION, got \"%.*s\" in \"%s\"",
                 (int)len, p, text);
  return false;
oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
  return false;
}

bool indexes_spec_parse(const char *text, indexes_spec_t *spec,
                        bson_error_t *error)
{
  memset(spec, 0, sizeof *spec);
  for (const char *p = text;;) {
    size_t len = strcspn(p, ",");
    if (!indexes__element(text, p, len, spec, error))
      return false;
    if (!p[len])
      break;
    p += len + 1;
  }
  if (spec->n_keys == 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--index: no FIELD:1 or FIELD:-1 key in \"%s\"", text);
    return false;
  }
  return true;
}

/* Returns true when plan has a job loading collection. */
static bool indexes__in_plan(const plan_t *plan, const char *collection)
{
  for (size_t j = 0; j < plan->n_jobs; j++)
    if (strcmp(plan->jobs[j].collection, collection) == 0)
      return true;
  return false;
}

bool indexes_check(char *const *specs, size_t n_specs, const plan_t *plan,
                   bson_error_t *error)
{
  for (size_t i = 0; i < n_specs; i++) {
    indexes_spec_t spec;
    bool ok = indexes_spec_parse(specs[i], &spec, error);
    if (ok && spec.on && !indexes__in_plan(plan, spec.on)) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--index \"%s\": on=%s is not a collection of this load",
                     specs[i], spec.on);
      ok = false;
    }
    indexes_spec_cleanup(&spec);
    if (!ok)
      return false;
  }
  return true;
}

/* ---- lines of duplicate keys ------------------------------------------- */

/* Returns the number in v, as a double, when v is a number (booleans and
 * dates count: SQL targets store them as integers) or text that is one
 * whole number; false otherwise. */
static bool indexes__number(const bson_value_t *v, double *out)
{
  switch (v->value_type) {
  case BSON_TYPE_INT32:
    *out = v->value.v_int32;
    return true;
  case BSON_TYPE_INT64:
    *out = (double)v->value.v_int64;
    return true;
  case BSON_TYPE_DOUBLE:
    *out = v->value.v_double;
    return true;
  case BSON_TYPE_BOOL:
    *out = v->value.v_bool;
    return true;
  case BSON_TYPE_DATE_TIME:
    *out = (double)v->value.v_datetime;
    return true;
  default:
    return false;
  }
}

/* Returns whether v is an integer (int32 or int64), into *out. */
static bool indexes__integer(const bson_value_t *v, int64_t *out)
{
  if (v->value_type == BSON_TYPE_INT32)
    *out = v->value.v_int32;
  else if (v->value_type == BSON_TYPE_INT64)
    *out = v->value.v_int64;
  else
    return false;
  return true;
}

/* Whether two values are equal when their BSON encodings are. */
static bool indexes__same_bytes(const bson_value_t *a, const bson_value_t *b)
{
  if (a->value_type != b->value_type)
    return false;
  if (a->value_type == BSON_TYPE_UTF8)
    return a->value.v_utf8.len == b->value.v_utf8.len &&
           memcmp(a->value.v_utf8.str, b->value.v_utf8.str,
                  a->value.v_utf8.len) == 0;
  bson_t x = BSON_INITIALIZER, y = BSON_INITIALIZER;
  bson_append_value(&x, "v", 1, a);
  bson_append_value(&y, "v", 1, b);
  bool same = x.len == y.len &&
              memcmp(bson_get_data(&x), bson_get_data(&y), x.len) == 0;
  bson_destroy(&x);
  bson_destroy(&y);
  return same;
}

/* Returns true when the value an input document holds (in) is the value
 * the target returned (dup). typed (MongoDB): the key kept its BSON type,
 * and the index compares as MongoDB does: numbers by value across int32,
 * int64 and double, anything else only with its own type (1, true, "1"
 * and a date are different keys). Otherwise (SQL), the key is in its
 * column's type: numbers compare by value across types, booleans and
 * dates too (stored as integers), and text from the target compares with
 * the number, boolean or text the document held, as a text column stores
 * it (a boolean held as 1 by a column of a type the loader does not check
 * is not found). */
static bool indexes__same(const bson_value_t *in, const bson_value_t *dup,
                          bool typed)
{
  int64_t i, j;
  if (indexes__integer(in, &i) && indexes__integer(dup, &j))
    return i == j; /* exact past 2^53, where doubles are not */
  double a, b;
  bool numbers = indexes__number(in, &a) && indexes__number(dup, &b);
  if (typed) {
    bool plain = in->value_type != BSON_TYPE_BOOL &&
                 in->value_type != BSON_TYPE_DATE_TIME &&
                 dup->value_type != BSON_TYPE_BOOL &&
                 dup->value_type != BSON_TYPE_DATE_TIME;
    return numbers && plain ? a == b : indexes__same_bytes(in, dup);
  }
  if (numbers)
    return a == b;
  if (dup->value_type == BSON_TYPE_UTF8 && in->value_type != BSON_TYPE_UTF8) {
    /* A text column holds a boolean as true/false and an integer as its
     * digits (sink_sql_row.c): "1" is not true there. */
    const char *t = dup->value.v_utf8.str;
    char *end, digits[24];
    if (in->value_type == BSON_TYPE_BOOL)
      return strcmp(t, in->value.v_bool ? "true" : "false") == 0;
    if (indexes__integer(in, &i)) {
      snprintf(digits, sizeof digits, "%" PRId64, i);
      return strcmp(t, digits) == 0;
    }
    if (!indexes__number(in, &a) || !*t)
      return false;
    errno = 0;
    b = strtod(t, &end);
    return !*end && !errno && a == b;
  }
  return indexes__same_bytes(in, dup);
}

/* What a search for the lines of duplicate keys works on. */
typedef struct indexes_search {
  const indexes_spec_t *spec; /* the index */
  indexes_item_t *item;       /* its duplicate keys, whose lines are filled */
  const char *path;           /* the file being read */
  bool typed;                 /* the keys kept their BSON types (MongoDB) */
} indexes_search_t;

/* Adds line to the duplicate keys of doc's key, if doc holds one. */
static void indexes__match(indexes_search_t *s, const bson_t *doc,
                           uint64_t line)
{
  for (size_t d = 0; d < s->item->n_dups; d++) {
    indexes_dup_t *dup = &s->item->dups[d];
    bson_iter_t want;
    bool all = bson_iter_init(&want, dup->key);
    for (size_t k = 0; all && k < s->spec->n_keys; k++) {
      bson_iter_t it, found;
      /* A missing field is null to a MongoDB index. */
      const bson_value_t null = {.value_type = BSON_TYPE_NULL};
      all = bson_iter_next(&want) && bson_iter_init(&it, doc) &&
            indexes__same(
                bson_iter_find_descendant(&it, s->spec->keys[k].field, &found)
                    ? bson_iter_value(&found)
                    : &null,
                bson_iter_value(&want), s->typed);
    }
    if (!all)
      continue;
    if (dup->n_lines < INDEXES_MAX_LINES)
      dup->lines[dup->n_lines++] = (indexes_line_t){s->path, line};
    else
      dup->more_lines++;
  }
}

/* The checker's check (sink_factory_checker()): each document of the
 * batch the job built, with its line, against the duplicate keys. */
static bool indexes__check(void *ctx, sink_t *sink, const batch_t *batch,
                           bson_error_t *error)
{
  (void)sink;
  (void)error;
  size_t len, at = 0;
  const uint8_t *data = batch_data(batch, &len);
  for (size_t i = 0; i < batch_count(batch); i++) {
    uint32_t dl;
    bson_t doc;
    memcpy(&dl, data + at, 4);
    dl = BSON_UINT32_FROM_LE(dl);
    if (!bson_init_static(&doc, data + at, dl))
      break;
    indexes__match(ctx, &doc, batch_line(batch, i));
    at += dl;
  }
  return true;
}

/* Reads job's part of its file again, building its documents exactly as
 * the load did (job_run() against a checker, as --verify does), and adds
 * the lines of item's duplicate keys. */
static void indexes__search_job(const indexes_spec_t *spec,
                                indexes_item_t *item, const job_t *job,
                                const job_env_t *load_env, bool typed)
{
  indexes_search_t s = {
      .spec = spec, .item = item, .path = job->path, .typed = typed};
  bson_error_t error;
  sink_factory_t *checker =
      sink_factory_checker(load_env->sinks, indexes__check, &s, &error);
  if (!checker) {
    item->lines_unknown = true;
    return;
  }
  job_env_t env = job_env_rerun(load_env, checker);
  env.inflight = 1; /* one writer: the check updates item unlocked */
  job_result_t res;
  job_run(job, &env, &res);
  if (!res.ok)
    item->lines_unknown = true;
  free(checker);
}

/* Asks the target for the duplicate keys of a unique index that failed,
 * and finds their lines in the inputs of collection. */
static void indexes__find_duplicates(sink_t *sink, const sink_index_t *index,
                                     const indexes_spec_t *spec,
                                     indexes_item_t *item, const plan_t *plan,
                                     const job_env_t *env)
{
  bson_t dups = BSON_INITIALIZER;
  bson_error_t error;
  bson_iter_t it, one, f;
  if (!sink_index_duplicates(sink, index, INDEXES_MAX_DUPS, &dups, &error)) {
    /* The index's own error stays the one reported. */
    item->lines_unknown = true;
    bson_destroy(&dups);
    return;
  }
  bson_iter_init(&it, &dups);
  while (item->n_dups < INDEXES_MAX_DUPS && bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &one))
      continue;
    indexes_dup_t *d = &item->dups[item->n_dups];
    memset(d, 0, sizeof *d);
    while (bson_iter_next(&one)) {
      if (strcmp(bson_iter_key(&one), "count") == 0) {
        d->count = bson_iter_as_int64(&one);
      } else if (strcmp(bson_iter_key(&one), "key") == 0 &&
                 BSON_ITER_HOLDS_DOCUMENT(&one) &&
                 bson_iter_recurse(&one, &f)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&one, &len, &data);
        d->key = bson_new_from_data(data, len);
      }
    }
    if (d->key)
      item->n_dups++;
  }
  bson_destroy(&dups);
  if (!item->n_dups)
    return;
  /* Each job of the collection reads its own part of its file. */
  for (size_t j = 0; j < plan->n_jobs; j++) {
    const job_t *job = &plan->jobs[j];
    if (strcmp(job->collection, item->collection) != 0)
      continue;
    if (strcmp(job->path, "-") == 0)
      item->lines_unknown = true;
    else
      indexes__search_job(spec, item, job, env, sink_index_keys_typed(sink));
  }
}

/* Builds one index on one collection into item. */
static void indexes__one(const indexes_spec_t *spec, indexes_item_t *item,
                         const plan_t *plan, const job_env_t *env)
{
  double t0 = util_now();
  sink_index_t index = {.keys = spec->keys,
                        .n_keys = spec->n_keys,
                        .unique = spec->unique,
                        .sparse = spec->sparse,
                        .name = spec->name};
  sink_index_result_t result;
  sink_t *sink = sink_open(env->sinks, item->collection, &item->error);
  if (!sink) {
    item->status = INDEXES_FAILED;
    goto out;
  }
  bool ok = sink_index_create(sink, &index, &result, &item->error);
  /* A default name too long to make leaves result.name empty. */
  snprintf(item->name, sizeof item->name, "%s",
           result.name[0] ? result.name : "-");
  if (ok) {
    item->status = result.created ? INDEXES_BUILT : INDEXES_EXISTS;
  } else {
    item->status = INDEXES_FAILED;
    if (result.duplicates)
      indexes__find_duplicates(sink, &index, spec, item, plan, env);
  }
  sink_close(sink);
out:
  item->elapsed_s = util_now() - t0;
}

bool indexes_build(char *const *specs, size_t n_specs, const plan_t *plan,
                   const job_env_t *env, bool skip, indexes_outcome_t *out,
                   bson_error_t *error)
{
  memset(out, 0, sizeof *out);
  double t0 = util_now();
  size_t cap = n_specs * (plan->n_jobs ? plan->n_jobs : 1);
  out->items = calloc(cap ? cap : 1, sizeof *out->items);
  if (!out->items) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return false;
  }
  for (size_t i = 0; i < n_specs; i++) {
    indexes_spec_t spec;
    if (!indexes_spec_parse(specs[i], &spec, error)) {
      indexes_spec_cleanup(&spec);
      return false; /* checked when parsed: out of memory */
    }
    for (size_t j = 0; j < plan->n_jobs; j++) {
      const char *coll = plan->jobs[j].collection;
      bool seen = spec.on && strcmp(spec.on, coll) != 0;
      for (size_t k = 0; k < j && !seen; k++)
        seen = strcmp(plan->jobs[k].collection, coll) == 0;
      if (seen)
        continue;
      indexes_item_t *item = &out->items[out->n_items++];
      item->collection = coll;
      item->spec = specs[i];
      if (skip) {
        item->status = INDEXES_SKIPPED;
        snprintf(item->name, sizeof item->name, "%s",
                 spec.name ? spec.name : "-");
        continue;
      }
      indexes__one(&spec, item, plan, env);
    }
    indexes_spec_cleanup(&spec);
  }
  out->elapsed_s = util_now() - t0;
  return true;
}

bool indexes_ok(const indexes_outcome_t *out)
{
  for (size_t i = 0; i < out->n_items; i++)
    if (out->items[i].status == INDEXES_FAILED ||
        out->items[i].status == INDEXES_SKIPPED)
      return false;
  return true;
}

bool indexes_lost_connection(const indexes_outcome_t *out)
{
  for (size_t i = 0; i < out->n_items; i++)
    if (out->items[i].status == INDEXES_FAILED &&
        loader_error_is_connection(&out->items[i].error))
      return true;
  return false;
}

void indexes_outcome_cleanup(indexes_outcome_t *out)
{
  if (!out)
    return;
  for (size_t i = 0; i < out->n_items; i++)
    for (size_t d = 0; d < out->items[i].n_dups; d++)
      bson_destroy(out->items[i].dups[d].key);
  free(out->items);
  memset(out, 0, sizeof *out);
}
