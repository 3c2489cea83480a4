/* sink: picks the implementation for a URI and forwards to it. */
#include "loader/sink.h"
#include "loader/error.h"
#include "sink_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink_factory {
  const sink_ops_t *ops;   /* the implementation */
  void *state;             /* its shared state */
  sink_mode_t mode;        /* insert, upsert, merge or delete */
  bool ordered;            /* --stop-on-error: ordered writes */
  sink_factory_t *checked; /* a checker's target (its ops and state are
                              the target's, not its own), or NULL */
  sink_check_fn check;     /* a checker's check, or NULL */
  void *check_ctx;         /* and what it is passed */
};

struct sink {
  const sink_ops_t *ops;   /* the implementation */
  void *state;             /* this sink's state */
  sink_check_fn check;     /* opened from a checker: what replaces writes */
  void *check_ctx;         /* and what it is passed */
  const batch_t *prepared; /* the batch sink_prepare() prepared last, until
                              a write takes it, or NULL */
};

/* The implementations this build has, by URI scheme prefix. */
static const struct {
  const char *prefix;    /* what the URI starts with */
  const sink_ops_t *ops; /* who handles it */
} sink__schemes[] = {
    {"mongodb://", &sink_mongo_ops}, {"mongodb+srv://", &sink_mongo_ops},
#ifdef LOADER_WITH_SQLITE
    {"sqlite:", &sink_sqlite_ops},
#endif
#ifdef LOADER_WITH_MYSQL
    {"mysql://", &sink_mysql_ops},   {"mariadb://", &sink_mysql_ops},
#endif
};

#ifdef LOADER_TESTING
/* The sink a unit test registered for "test:" URIs (see sink_impl.h). */
static const sink_ops_t *sink__test_ops;

void sink_register_test_ops(const sink_ops_t *ops)
{
  sink__test_ops = ops;
}
#endif

const char *sink_schemes(void)
{
  return "mongodb, mongodb+srv"
#ifdef LOADER_WITH_SQLITE
         ", sqlite"
#endif
#ifdef LOADER_WITH_MYSQL
         ", mysql, mariadb"
#endif
      ;
}

sink_factory_t *sink_factory_new(const sink_config_t *config,
                                 bson_error_t *error)
{
  const sink_ops_t *ops = NULL;
  if (config->dry_run) {
    ops = &sink_null_ops;
  } else {
    for (size_t i = 0; i < sizeof sink__schemes / sizeof sink__schemes[0]; i++)
      if (config->uri && strncmp(config->uri, sink__schemes[i].prefix,
                                 strlen(sink__schemes[i].prefix)) == 0)
        ops = sink__schemes[i].ops;
#ifdef LOADER_TESTING
    if (sink__test_ops && config->uri && strncmp(config->uri, "test:", 5) == 0)
      ops = sink__test_ops;
#endif
  }
  if (!ops) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "unsupported URI scheme (this build supports: %s)",
                   sink_schemes());
    return NULL;
  }
  if (config->write_concern && !ops->supports_write_concern &&
      !config->dry_run) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--write-concern is for MongoDB targets, not %s", ops->name);
    return NULL;
  }
  const char *refused =
      config->mode == SINK_MODE_DELETE && !ops->supports_delete
          ? "--mode delete"
      : config->ordered && !ops->supports_ordered ? "--stop-on-error"
      : config->bypass_validation && !ops->supports_bypass
          ? "--bypass-document-validation"
          : NULL;
  if (refused && !config->dry_run) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "%s is for MongoDB targets, not %s (yet)", refused,
                   ops->name);
    return NULL;
  }
  if (config->mode != SINK_MODE_INSERT && config->mode != SINK_MODE_DELETE &&
      !ops->supports_upsert) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--mode upsert/merge is not supported for %s targets",
                   ops->name);
    return NULL;
  }
  sink_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  f->ops = ops;
  f->mode = config->mode;
  f->ordered = config->ordered;
  f->state = ops->factory_new(config, error);
  if (!f->state) {
    free(f);
    return NULL;
  }
  return f;
}

bool sink_factory_check(sink_factory_t *f, bson_error_t *error)
{
  return f->ops->factory_check(f->state, error);
}

bool sink_factory_is_null(const sink_factory_t *f)
{
  return f->ops == &sink_null_ops;
}

unsigned sink_factory_inflight(const sink_factory_t *f, unsigned requested)
{
  /* Upserts, merges and deletes keep rows with the same key in file order;
   * an ordered load lets nothing land after the first refused row. */
  if (!f->ops->parallel_writes || f->mode != SINK_MODE_INSERT || f->ordered)
    return 1;
  return requested ? requested : 1;
}

bool sink_factory_can_prepare(const sink_factory_t *f)
{
  return f->ops->prepare && !f->check;
}

bool sink_factory_holds_writes(const sink_factory_t *f)
{
  /* Parallel writes stand on their own (sink_impl.h); a commit then only
   * records the mark. */
  return f->ops->commit && !f->ops->parallel_writes && !f->check;
}

const char *sink_factory_db(const sink_factory_t *f)
{
  return f->ops->factory_db(f->state);
}

void sink_factory_destroy(sink_factory_t *f)
{
  if (!f)
    return;
  if (!f->checked) /* a checker borrows its target's state */
    f->ops->factory_destroy(f->state);
  free(f);
}

sink_t *sink_open(sink_factory_t *f, const char *collection,
                  bson_error_t *error)
{
  sink_t *s = calloc(1, sizeof *s);
  if (!s) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  s->ops = f->ops;
  s->check = f->check;
  s->check_ctx = f->check_ctx;
  s->state = f->ops->open(f->state, collection, error);
  if (!s->state) {
    free(s);
    return NULL;
  }
  return s;
}

bool sink_count(sink_t *s, int64_t *count, bson_error_t *error)
{
  return s->ops->count(s->state, count, error);
}

bool sink_drop(sink_t *s, bson_error_t *error)
{
  return s->ops->drop(s->state, error);
}

/* Clears what a write or a preparation fills in result; keeps the
 * documents a preparation refused when keep_errors. */
static void sink__result_reset(sink_write_result_t *result, bool keep_errors)
{
  result->inserted = 0;
  result->updated = 0;
  result->deleted = 0;
  result->unmatched = 0;
  if (!keep_errors)
    result->n_errors = 0;
  result->wc_error = false;
  result->stopped = false;
}

bool sink_prepare(sink_t *s, const batch_t *batch, sink_write_result_t *result,
                  bson_error_t *error)
{
  s->prepared = NULL;
  if (s->check || !s->ops->prepare)
    return true;
  sink__result_reset(result, false);
  if (!s->ops->prepare(s->state, batch, result, error))
    return false;
  s->prepared = batch;
  return true;
}

bool sink_write(sink_t *s, const batch_t *batch, sink_write_result_t *result,
                bson_error_t *error)
{
  sink__result_reset(result, s->prepared == batch);
  s->prepared = NULL;
  if (s->check) {
    if (!s->check(s->check_ctx, s, batch, error))
      return false;
    result->inserted = batch_count(batch);
    return true;
  }
  if (s->ops->write(s->state, batch, result, error))
    return true;
  if (s->ops->commit) {
    /* A transactional target rolled the failed write back: nothing of it
     * is there. */
    result->inserted = 0;
    result->updated = 0;
    result->deleted = 0;
    result->unmatched = 0;
  }
  return false;
}

bool sink_commit(sink_t *s, const char *key, const mark_t *mark,
                 bson_error_t *error)
{
  return s->check || !s->ops->commit ||
         s->ops->commit(s->state, key, mark, error);
}

bool sink_mark_get(sink_t *s, const char *key, mark_t *mark, bool *found,
                   bson_error_t *error)
{
  *found = false;
  return !s->ops->mark_get ||
         s->ops->mark_get(s->state, key, mark, found, error);
}

bool sink_is_transient(const sink_t *s, const bson_error_t *error)
{
  return s->ops->is_transient && s->ops->is_transient(error);
}

void sink_close(sink_t *s)
{
  if (!s)
    return;
  s->ops->close(s->state);
  free(s);
}

bool sink_result_add_error(sink_write_result_t *r, size_t index, int32_t code,
                           const char *message)
{
  if (r->n_errors == r->cap_errors) {
    size_t cap = r->cap_errors ? r->cap_errors * 2 : 16;
    sink_doc_error_t *e = realloc(r->errors, cap * sizeof *e);
    if (!e)
      return false;
    r->errors = e;
    r->cap_errors = cap;
  }
  sink_doc_error_t *e = &r->errors[r->n_errors++];
  e->index = index;
  e->code = code;
  e->dup_on_id = false;
  snprintf(e->message, sizeof e->message, "%s", message ? message : "");
  return true;
}

void sink_write_result_cleanup(sink_write_result_t *r)
{
  free(r->errors);
  r->errors = NULL;
  r->n_errors = r->cap_errors = 0;
}

bool sink_canon(sink_t *s, const bson_t *doc, const sink_feed_t *feed,
                bool *fits, bson_error_t *error)
{
  *fits = false;
  if (!s->ops->canon) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--verify: %s targets cannot be read back", s->ops->name);
    return false;
  }
  return s->ops->canon(s->state, doc, feed, fits, error);
}

bool sink_scan(sink_t *s, unsigned part, unsigned parts,
               const sink_feed_t *feed, bson_error_t *error)
{
  if (!s->ops->scan) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--verify: %s targets cannot be read back", s->ops->name);
    return false;
  }
  return s->ops->scan(s->state, part, parts ? parts : 1, feed, error);
}

unsigned sink_scan_parts(const sink_t *s, unsigned max)
{
  unsigned n = s->ops->scan_parts ? s->ops->scan_parts : 1;
  return n < max ? n : max;
}

bool sink_can_find_ids(const sink_t *s)
{
  return s->ops->find_ids != NULL;
}

bool sink_find_ids(sink_t *s, const bson_t *ids, sink_found_fn found, void *ctx,
                   bson_error_t *error)
{
  if (!s->ops->find_ids) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--verify: %s targets have no _id to look up", s->ops->name);
    return false;
  }
  return s->ops->find_ids(s->state, ids, found, ctx, error);
}

sink_factory_t *sink_factory_checker(sink_factory_t *target,
                                     sink_check_fn check, void *ctx,
                                     bson_error_t *error)
{
  sink_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  *f = *target;
  f->checked = target;
  f->check = check;
  f->check_ctx = ctx;
  return f;
}

bool sink_index_default_name(const sink_index_t *index, char *buf, size_t cap)
{
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < index->n_keys; i++) {
    int n = snprintf(buf + at, cap - at, "%s%s_%d", i ? "_" : "",
                     index->keys[i].field, index->keys[i].direction);
    if (n < 0 || (size_t)n >= cap - at)
      return false;
    at += (size_t)n;
  }
  return true;
}

bool sink_index_create(sink_t *s, const sink_index_t *index,
                       sink_index_result_t *result, bson_error_t *error)
{
  memset(result, 0, sizeof *result);
  if (!s->ops->index_create) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "%s targets do not build indexes", s->ops->name);
    return false;
  }
  if (index->name) {
    if (strlen(index->name) >= sizeof result->name) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "index name longer than %zu bytes: \"%s\"",
                     sizeof result->name - 1, index->name);
      return false;
    }
    snprintf(result->name, sizeof result->name, "%s", index->name);
  } else if (!sink_index_default_name(index, result->name,
                                      sizeof result->name)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "the index's default name is longer than %zu bytes: give "
                   "it one with name=NAME",
                   sizeof result->name - 1);
    return false;
  }
  return s->ops->index_create(s->state, index, result, error);
}

bool sink_index_duplicates(sink_t *s, const sink_index_t *index, size_t max,
                           bson_t *dups, bson_error_t *error)
{
  if (!s->ops->index_duplicates) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "%s targets do not build indexes", s->ops->name);
    return false;
  }
  return s->ops->index_duplicates(s->state, index, max, dups, error);
}

bool sink_index_keys_typed(const sink_t *s)
{
  return s->ops->index_keys_typed;
}
