/* sink_null: --dry-run. Counts what it is given and writes nothing, so the
 * whole pipeline but the database can be run and measured. It keeps one
 * counter per collection, so prior and post read as they would on a
 * database that started empty. */
#include "loader/error.h"
#include "sink_impl.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One collection of the dry run: how many documents it would hold. */
typedef struct sink_null_coll {
  char *name;    /* collection name (owned) */
  int64_t count; /* documents "written" to it */
} sink_null_coll_t;

/* The factory: the collections of the run, so prior and post behave as
 * they would on a real database, also when several jobs share one. */
typedef struct sink_null_factory {
  pthread_mutex_t lock;    /* guards colls */
  sink_null_coll_t *colls; /* the collections seen */
  size_t n_colls;          /* how many */
  bool deletes;            /* --mode delete: nothing is there to delete */
} sink_null_factory_t;

/* One sink: its factory and its collection. */
typedef struct sink_null {
  sink_null_factory_t *factory; /* the run's collections */
  size_t coll;                  /* index of this sink's collection */
} sink_null_t;

static void *sink_null__factory_new(const sink_config_t *config,
                                    bson_error_t *error)
{
  sink_null_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  f->deletes = config->mode == SINK_MODE_DELETE;
  pthread_mutex_init(&f->lock, NULL);
  return f;
}

static bool sink_null__factory_check(void *state, bson_error_t *error)
{
  (void)state;
  (void)error;
  return true;
}

static const char *sink_null__factory_db(const void *state)
{
  (void)state;
  return "(dry run)";
}

static void sink_null__factory_destroy(void *state)
{
  sink_null_factory_t *f = state;
  for (size_t i = 0; i < f->n_colls; i++)
    free(f->colls[i].name);
  free(f->colls);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

static void *sink_null__open(void *state, const char *collection,
                             bson_error_t *error)
{
  sink_null_factory_t *f = state;
  sink_null_t *s = calloc(1, sizeof *s);
  if (!s)
    goto out_oom;
  s->factory = f;
  pthread_mutex_lock(&f->lock);
  size_t i;
  for (i = 0; i < f->n_colls; i++)
    if (strcmp(f->colls[i].name, collection) == 0)
      break;
  if (i == f->n_colls) {
    sink_null_coll_t *c = realloc(f->colls, (i + 1) * sizeof *c);
    char *name = c ? strdup(collection) : NULL;
    if (c)
      f->colls = c;
    if (!name) {
      pthread_mutex_unlock(&f->lock);
      free(s);
      goto out_oom;
    }
    f->colls[i] = (sink_null_coll_t){name, 0};
    f->n_colls++;
  }
  s->coll = i;
  pthread_mutex_unlock(&f->lock);
  return s;
out_oom:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return NULL;
}

/* Adds delta to the sink's collection (or resets it, when reset) and
 * returns the new count. */
static int64_t sink_null__add(sink_null_t *s, int64_t delta, bool reset)
{
  pthread_mutex_lock(&s->factory->lock);
  int64_t *count = &s->factory->colls[s->coll].count;
  *count = reset ? 0 : *count + delta;
  int64_t now = *count;
  pthread_mutex_unlock(&s->factory->lock);
  return now;
}

static bool sink_null__count(void *sink, int64_t *count, bson_error_t *error)
{
  (void)error;
  *count = sink_null__add(sink, 0, false);
  return true;
}

static bool sink_null__drop(void *sink, bson_error_t *error)
{
  (void)error;
  sink_null__add(sink, 0, true);
  return true;
}

static bool sink_null__write(void *sink, const batch_t *batch,
                             sink_write_result_t *result, bson_error_t *error)
{
  (void)error;
  sink_null_t *s = sink;
  if (s->factory->deletes) {
    result->unmatched = batch_count(batch); /* an empty database */
    return true;
  }
  result->inserted = batch_count(batch);
  sink_null__add(sink, (int64_t)batch_count(batch), false);
  return true;
}

static void sink_null__close(void *sink)
{
  free(sink);
}

const sink_ops_t sink_null_ops = {
    .name = "null",
    .factory_new = sink_null__factory_new,
    .factory_check = sink_null__factory_check,
    .factory_db = sink_null__factory_db,
    .factory_destroy = sink_null__factory_destroy,
    .open = sink_null__open,
    .count = sink_null__count,
    .drop = sink_null__drop,
    .write = sink_null__write,
    .close = sink_null__close,
    .supports_upsert = true,
    .supports_delete = true,
    .supports_ordered = true,
    .supports_bypass = true,
};
