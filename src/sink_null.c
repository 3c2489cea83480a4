/* sink_null: --dry-run. Counts what it is given and writes nothing, so the
 * whole pipeline but the database can be run and measured. */
#include "loader/error.h"
#include "sink_impl.h"

#include <stdint.h>
#include <stdlib.h>

/* Shared state of the factory: none, one marker. */
static int sink_null__state;

/* One sink: what it was given, so that prior = 0 and post = what a real
 * collection would hold after this job. */
typedef struct sink_null {
  int64_t written; /* documents "written" through this sink */
} sink_null_t;
static void *sink_null__factory_new(const sink_config_t *config,
                                    bson_error_t *error)
{
  (void)config;
  (void)error;
  return &sink_null__state;
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
  (void)state;
}

static void *sink_null__open(void *state, const char *collection,
                             bson_error_t *error)
{
  (void)state;
  (void)collection;
  sink_null_t *s = calloc(1, sizeof *s);
  if (!s)
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return s;
}

static bool sink_null__count(void *sink, int64_t *count, bson_error_t *error)
{
  (void)error;
  *count = ((sink_null_t *)sink)->written;
  return true;
}

static bool sink_null__drop(void *sink, bson_error_t *error)
{
  (void)error;
  ((sink_null_t *)sink)->written = 0;
  return true;
}

static bool sink_null__write(void *sink, const batch_t *batch,
                             sink_write_result_t *result, bson_error_t *error)
{
  (void)error;
  result->inserted = batch_count(batch);
  ((sink_null_t *)sink)->written += (int64_t)batch_count(batch);
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
};
