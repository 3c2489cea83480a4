/* job: one (collection, file) load, from bytes to the database.
 *
 * The stages:
 *   source (one read block) -> csv_reader (one record) -> doc_builder
 *   (one document, encoded into the batch) -> batch -> sink.
 * The first record of the file is the header; every later record becomes a
 * document or a rejected row.
 *
 * Two threads per job, so that parsing the next batch overlaps sending the
 * current one: the calling thread (the parser) fills a batch; when it is
 * full it hands it to the job's writer thread and fills the other one. The
 * writer sends it (with retries), counts what landed, records refused rows
 * and the checkpoint, clears it and hands it back. A job holds one block,
 * one record, one batch being filled and at most one in flight, whatever the
 * size of its file.
 *
 * Who touches what: the parser alone the reader, the source, the builder,
 * res->processed and parse_rejected; the writer alone the sink,
 * res->inserted, updated, retries and server_rejected; rejected rows,
 * failures and the hand-over under ctx->lock. The writer never reads the
 * parser's state: what it needs of it (where the batch ends, how many rows
 * the parser rejected before that, how far into the file) travels with the
 * batch in the hand-over.
 *
 * Exactly once: after the sink acknowledged a batch, the writer makes the
 * rejected rows durable (rejects_sync), commits the job's mark with the
 * batch (sink_commit: for SQL in the same transaction) and records it in
 * the checkpoint. A mark's offset is where the batch's last record ends, and
 * its rejected count covers exactly the rows rejected below that offset, so
 * a resumed run (which first drops the rejects above every mark) neither
 * loses nor repeats a row. */
#include "loader/job.h"
#include "loader/checkpoint.h"
#include "loader/mark.h"
#include "loader/json_reader.h"
#include "loader/error.h"
#include "loader/util.h"

#include <pthread.h>

#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

/* MongoDB's maxBsonObjectSize. */
#define JOB_MAX_DOC_BYTES (16u * 1024u * 1024u)

/* The state of one running job, passed to the record callback. */
typedef struct job_ctx {
  const job_t *job;         /* what is loaded */
  const job_env_t *env;     /* shared settings */
  job_result_t *res;        /* what is reported */
  sink_t *sink;             /* where documents go (the writer's) */
  batch_t *batch;           /* documents being gathered (the parser's) */
  batch_t *spare;           /* the other batch: in flight, or free */
  doc_spec_t *spec;         /* the compiled header, once read */
  docb_t *builder;          /* builds documents from records */
  sink_write_result_t wres; /* per-document errors of the last write */
  source_t *src;            /* the input, for progress (borrowed) */
  bool gzip;                /* the input is gzip: progress in compressed
                               bytes */
  bool failed;              /* the job stopped: res->error says why */
  uint64_t next_offset;     /* just past the last record dealt with */
  uint64_t next_line;       /* the physical line there */
  bool maybe_landed;        /* the next batch may hold documents an
                               interrupted run already wrote (--resume) */
  bson_context_t *oids;     /* ObjectIds for JSON documents without _id */
  uint32_t id_seed;         /* the file's identity, for --id-from line */
  pthread_mutex_t lock;     /* guards the fields below, res->rejected,
                               res->samples, res->error and failed */
  pthread_cond_t changed;   /* signalled when pending or quit change */
  pthread_t writer;         /* sends handed-over batches */
  bool writer_started;      /* the writer thread runs (else batches are
                               written inline: a dry run has nothing to
                               overlap) */
  bool quit;                /* the writer is to finish */
  batch_t *pending;         /* the batch handed to the writer, or NULL */
  uint64_t pend_offset;     /* the position after its last record */
  uint64_t pend_line;       /* the line there */
  uint64_t pend_processed;  /* records dealt with up to there */
  uint64_t pend_rejected;   /* rows the parser rejected up to there */
  uint64_t pend_position;   /* the source's position there (progress) */
  uint64_t parse_rejected;  /* rows the parser rejected in this run */
  uint64_t server_rejected; /* rows the target refused in this run */
  mark_t base;              /* the mark this run resumed from (zero when
                               it started afresh) */
  const char *mark_key;     /* the key of this job's mark in the target,
                               or NULL without --checkpoint */
} job_ctx_t;

/* Records why the job stops (the first reason wins) and returns false.
 * Either thread may call it. */
static bool job__fail_with(job_ctx_t *ctx, const bson_error_t *error)
{
  pthread_mutex_lock(&ctx->lock);
  if (!ctx->failed) {
    ctx->res->error = *error;
    ctx->failed = true;
  }
  pthread_mutex_unlock(&ctx->lock);
  return false;
}

static bool job__fail(job_ctx_t *ctx, uint32_t domain, const char *fmt,
                      const char *detail)
{
  bson_error_t error;
  bson_set_error(&error, domain, 0, fmt, detail);
  return job__fail_with(ctx, &error);
}

/* Returns whether the job has failed. */
static bool job__failed(job_ctx_t *ctx)
{
  pthread_mutex_lock(&ctx->lock);
  bool failed = ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  return failed;
}

/* Counts a rejected row, keeps the first few descriptions, writes it to the
 * rejects file. by_writer says which thread calls (and which counter
 * counts it). Returns false (the job stops) past --max-errors, or when the
 * rejects file cannot be written. */
static bool job__reject(job_ctx_t *ctx, bool by_writer, uint64_t line,
                        uint64_t offset, size_t column, const char *reason,
                        const char *raw, size_t raw_len)
{
  job_result_t *res = ctx->res;
  if (by_writer)
    ctx->server_rejected++;
  else
    ctx->parse_rejected++;
  pthread_mutex_lock(&ctx->lock);
  res->rejected++;
  bool too_many = res->rejected > ctx->env->max_errors;
  if (res->n_samples < JOB_REJECT_SAMPLES) {
    job_reject_t *s = &res->samples[res->n_samples++];
    s->line = line;
    s->column = column;
    size_t n = strnlen(reason, sizeof s->reason - 1); /* truncate */
    memcpy(s->reason, reason, n);
    s->reason[n] = '\0';
  }
  pthread_mutex_unlock(&ctx->lock);
  bson_error_t error;
  if (ctx->env->rejects &&
      !rejects_write(ctx->env->rejects, ctx->job->path, line, offset, column,
                     reason, raw, raw_len, &error))
    return job__fail_with(ctx, &error);
  if (too_many) {
    char msg[64];
    snprintf(msg, sizeof msg, "%llu", (unsigned long long)ctx->env->max_errors);
    return job__fail(ctx, LOADER_ERROR_INPUT,
                     "stopped: more rows rejected than --max-errors %s", msg);
  }
  return true;
}

/* Sleeps ms milliseconds, waking early when the run is asked to stop. */
static void job__backoff(const job_env_t *env, unsigned ms)
{
  while (ms > 0 && !atomic_load_explicit(env->stop, memory_order_relaxed)) {
    unsigned step = ms < 50 ? ms : 50;
    struct timespec ts = {0, (long)step * 1000000L};
    nanosleep(&ts, NULL);
    ms -= step;
  }
}

/* Returns how far into its range the job is at offset, in the units of
 * the size the display knows: bytes of its range, or, for gzip, the
 * compressed bytes read (position, taken by the parser). */
static uint64_t job__progress_bytes(const job_ctx_t *ctx, uint64_t offset,
                                    uint64_t position)
{
  if (ctx->gzip)
    return position;
  return offset - ctx->job->start;
}

/* Returns where the parser's source is, for progress (the parser's side). */
static uint64_t job__position(const job_ctx_t *ctx)
{
  return ctx->src ? source_position(ctx->src) : 0;
}

/* Makes the job's mark at offset durable (the writer's side, or the
 * parser's once the writer is idle): the rejected rows below it are synced
 * to the rejects file, the mark is committed with the batch just written
 * (SQL targets: in its transaction) and recorded in the checkpoint. The
 * counts are those below offset: processed and parse_rejected as the
 * parser handed them over, the rest as the writer has them. */
static bool job__commit(job_ctx_t *ctx, uint64_t offset, uint64_t line,
                        uint64_t processed, uint64_t parse_rejected, bool done)
{
  const job_env_t *env = ctx->env;
  const job_result_t *r = ctx->res;
  mark_t m = {.offset = offset,
              .line = line,
              .processed = processed,
              .inserted = r->inserted,
              .updated = r->updated,
              .rejected =
                  ctx->base.rejected + parse_rejected + ctx->server_rejected,
              .prior = r->prior,
              .done = done};
  bson_error_t error;
  if (env->checkpoint && env->rejects && !rejects_sync(env->rejects, &error))
    return job__fail_with(ctx, &error);
  if (!sink_commit(ctx->sink, ctx->mark_key, &m, &error))
    return job__fail_with(ctx, &error);
  if (env->checkpoint &&
      !checkpoint_put(env->checkpoint, ctx->job->index, &m, &error))
    return job__fail_with(ctx, &error);
  return true;
}

/* Returns true when a document error says the document is already there:
 * a duplicate key on _id alone (the sink reads that from the error's key
 * pattern, never from its text). */
static bool job__is_dup_id(const sink_doc_error_t *e)
{
  return e->code == 11000 && e->dup_on_id;
}

/* Writes batch (the writer's side). A transient failure (connection lost,
 * primary stepped down) is retried with exponential backoff on a fresh
 * connection; the batch's documents carry their _id from the first
 * attempt, so a document that landed before the failure comes back as a
 * duplicate _id on the retry and is counted as inserted, not rejected.
 * Documents the database refused become rejected rows, traced to their
 * lines; a batch that still fails fails the job. */
static bool job__write_batch(job_ctx_t *ctx, batch_t *batch, uint64_t offset,
                             uint64_t line, uint64_t processed,
                             uint64_t parse_rejected, uint64_t position)
{
  const job_env_t *env = ctx->env;
  bson_error_t error;
  unsigned attempt = 0;
  throttle_take(env->throttle, batch_count(batch), env->stop);
  while (!sink_write(ctx->sink, batch, &ctx->wres, &error)) {
    if (attempt >= env->retries || !sink_is_transient(ctx->sink, &error) ||
        atomic_load_explicit(env->stop, memory_order_relaxed)) {
      ctx->res->inserted += ctx->wres.inserted;
      ctx->res->updated += ctx->wres.updated;
      if (attempt > 0) {
        char msg[sizeof error.message];
        snprintf(msg, sizeof msg, "%s", error.message);
        bson_set_error(&error, error.domain, error.code,
                       "%s (after %u retries)", msg, attempt);
      }
      return job__fail_with(ctx, &error);
    }
    unsigned wait = 100u << (attempt < 16 ? attempt : 16);
    if (wait > env->retry_max_wait_ms)
      wait = env->retry_max_wait_ms;
    attempt++;
    ctx->res->retries++;
    job__backoff(env, wait);
    /* A fresh connection: close this client, pop another. */
    sink_close(ctx->sink);
    ctx->sink = sink_open(env->sinks, ctx->job->collection, &error);
    if (!ctx->sink)
      return job__fail_with(ctx, &error);
  }
  /* Counted below, once committed: the write's counts and errors hold
   * only if the commit succeeds. */
  uint64_t inserted = ctx->wres.inserted;
  uint64_t updated = ctx->wres.updated;
  bool ok_to_go_on = true;
  bool maybe_landed = attempt > 0 || ctx->maybe_landed;
  ctx->maybe_landed = false;
  for (size_t i = 0; i < ctx->wres.n_errors; i++) {
    const sink_doc_error_t *e = &ctx->wres.errors[i];
    if (maybe_landed && job__is_dup_id(e)) {
      inserted++; /* landed during a failed attempt: this load sent it */
      continue;
    }
    char reason[sizeof e->message + 48];
    snprintf(reason, sizeof reason, "refused by the server (code %d): %s",
             e->code, e->message);
    size_t raw_len;
    const char *raw = batch_raw(batch, e->index, &raw_len);
    ok_to_go_on &=
        job__reject(ctx, true, batch_line(batch, e->index),
                    batch_offset(batch, e->index), 0, reason, raw, raw_len);
  }
  ctx->res->inserted += inserted;
  ctx->res->updated += updated;
  if (!ok_to_go_on)
    return false; /* not committed: SQL targets roll the batch back */
  if (!job__commit(ctx, offset, line, processed, parse_rejected, false)) {
    ctx->res->inserted -= inserted; /* rolled back */
    ctx->res->updated -= updated;
    return false;
  }
  pthread_mutex_lock(&ctx->lock);
  uint64_t rejected = ctx->res->rejected;
  pthread_mutex_unlock(&ctx->lock);
  progress_update(progress_slot(env->progress, ctx->job->index),
                  job__progress_bytes(ctx, offset, position), processed,
                  rejected, false);
  return true;
}

/* The writer thread: writes each batch handed over, then hands it back
 * cleared. After a failure it only clears what it is given. */
static void *job__writer(void *p)
{
  job_ctx_t *ctx = p;
  pthread_mutex_lock(&ctx->lock);
  for (;;) {
    while (!ctx->pending && !ctx->quit)
      pthread_cond_wait(&ctx->changed, &ctx->lock);
    if (!ctx->pending)
      break; /* quit, nothing left */
    batch_t *batch = ctx->pending;
    uint64_t offset = ctx->pend_offset, line = ctx->pend_line,
             processed = ctx->pend_processed, rejected = ctx->pend_rejected,
             position = ctx->pend_position;
    bool failed = ctx->failed;
    pthread_mutex_unlock(&ctx->lock);
    if (!failed)
      job__write_batch(ctx, batch, offset, line, processed, rejected, position);
    batch_clear(batch);
    pthread_mutex_lock(&ctx->lock);
    ctx->pending = NULL;
    pthread_cond_broadcast(&ctx->changed);
  }
  pthread_mutex_unlock(&ctx->lock);
  return NULL;
}

/* Waits until the writer has nothing in flight. Returns false when the job
 * has failed. */
static bool job__drain(job_ctx_t *ctx)
{
  pthread_mutex_lock(&ctx->lock);
  while (ctx->pending)
    pthread_cond_wait(&ctx->changed, &ctx->lock);
  bool ok = !ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  return ok;
}

/* Hands the gathered batch to the writer (the parser's side) and takes the
 * other one to fill: waits while the previous batch is still in flight.
 * Returns false when the job has failed. */
static bool job__flush(job_ctx_t *ctx)
{
  if (batch_count(ctx->batch) == 0)
    return !job__failed(ctx);
  if (!ctx->writer_started) {
    bool ok = job__write_batch(ctx, ctx->batch, ctx->next_offset,
                               ctx->next_line, ctx->res->processed,
                               ctx->parse_rejected, job__position(ctx));
    batch_clear(ctx->batch);
    return ok;
  }
  if (!job__drain(ctx))
    return false;
  pthread_mutex_lock(&ctx->lock);
  ctx->pending = ctx->batch;
  ctx->pend_offset = ctx->next_offset;
  ctx->pend_line = ctx->next_line;
  ctx->pend_processed = ctx->res->processed;
  ctx->pend_rejected = ctx->parse_rejected;
  ctx->pend_position = job__position(ctx);
  pthread_cond_broadcast(&ctx->changed);
  pthread_mutex_unlock(&ctx->lock);
  batch_t *next = ctx->spare;
  ctx->spare = ctx->batch;
  ctx->batch = next;
  return true;
}

/* Hands over what is left and waits for it to be written. */
static bool job__finish_writes(job_ctx_t *ctx)
{
  return job__flush(ctx) && job__drain(ctx);
}

/* Returns a hash of the job's identity (collection, file, size, mtime), the
 * part of --id-from line ids that tells files apart. FNV-1a, 32 bits. */
static uint32_t job__identity(const job_t *job)
{
  uint32_t h = 2166136261u;
  struct stat st;
  char real[PATH_MAX];
  const char *path = realpath(job->path, real) ? real : job->path;
  uint64_t parts[3] = {0, 0, 0};
  if (stat(job->path, &st) == 0) {
    parts[0] = (uint64_t)st.st_size;
    parts[1] = (uint64_t)st.st_mtim.tv_sec;
    parts[2] = (uint64_t)st.st_mtim.tv_nsec;
  }
  const char *strs[2] = {job->collection, path};
  for (int s = 0; s < 2; s++)
    for (const char *p = strs[s];; p++) {
      h = (h ^ (uint8_t)*p) * 16777619u;
      if (!*p)
        break;
    }
  const uint8_t *b = (const uint8_t *)parts;
  for (size_t i = 0; i < sizeof parts; i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

/* Compiles the header (the file's first record, or --fields). */
static bool job__header(job_ctx_t *ctx, const csv_record_t *rec)
{
  if (rec->problem)
    return job__fail(ctx, LOADER_ERROR_INPUT, "header: %s", rec->problem);
  bson_error_t error;
  ctx->spec = docb_spec_new(rec, ctx->env->doc, &error);
  if (!ctx->spec)
    return job__fail_with(ctx, &error);
  ctx->builder = docb_new(ctx->spec);
  if (!ctx->builder)
    return job__fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  docb_set_id_seed(ctx->builder, job__identity(ctx->job));
  return true;
}

/* csv_reader callback: the header first, then one document per record. */
static bool job__on_record(void *p, const csv_record_t *rec)
{
  job_ctx_t *ctx = p;
  if (atomic_load_explicit(ctx->env->stop, memory_order_relaxed)) {
    /* A clean stop: what was read is written (and checkpointed) first. */
    if (ctx->spec && !job__finish_writes(ctx))
      return false;
    return job__fail(ctx, LOADER_ERROR_INTERRUPTED, "%s", "interrupted");
  }

  if (!ctx->spec) {
    ctx->next_offset = rec->end_offset;
    ctx->next_line = rec->end_line + 1;
    return job__header(ctx, rec);
  }

  ctx->res->processed++;
  ctx->next_offset = rec->end_offset;
  ctx->next_line = rec->end_line + 1;
  bson_t *doc =
      batch_begin(ctx->batch, rec->line, rec->offset, rec->raw, rec->raw_len);
  if (!doc)
    return job__fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  doc_reject_t why;
  if (!docb_build(ctx->builder, rec, doc, &why)) {
    batch_rollback(ctx->batch);
    if (!job__reject(ctx, false, rec->line, rec->offset, why.column, why.reason,
                     rec->raw, rec->raw_len))
      return false;
    if (why.stop) {
      char where[64];
      snprintf(where, sizeof where, "line %llu, column %zu",
               (unsigned long long)rec->line, why.column);
      return job__fail(ctx, LOADER_ERROR_INPUT,
                       "stopped at %s (--parse-grace stop)", where);
    }
    return true;
  }
  if (doc->len > JOB_MAX_DOC_BYTES) {
    batch_rollback(ctx->batch);
    return job__reject(ctx, false, rec->line, rec->offset, 0,
                       "document exceeds 16 MiB", rec->raw, rec->raw_len);
  }
  batch_commit(ctx->batch);
  if (why.skipped && ctx->env->rejects) {
    /* --parse-grace skip-field: the row loaded without some values; the
     * rejects file keeps them, the row is not counted as rejected. */
    char reason[sizeof why.reason + 64];
    snprintf(reason, sizeof reason, "loaded without %zu field%s: %s",
             why.skipped, why.skipped == 1 ? "" : "s", why.reason);
    bson_error_t error;
    if (!rejects_write(ctx->env->rejects, ctx->job->path, rec->line,
                       rec->offset, why.column, reason, rec->raw, rec->raw_len,
                       &error))
      return job__fail_with(ctx, &error);
  }
  if (batch_is_full(ctx->batch))
    return job__flush(ctx);
  return true;
}

/* Appends the _id a JSON document without one gets, as --id-from says:
 * a new ObjectId, the line's ObjectId, or the values of key fields. Returns
 * false with a reason when a key field is missing. */
static bool job__json_id(job_ctx_t *ctx, const bson_t *parsed, uint64_t line,
                         bson_t *doc, char *why, size_t cap)
{
  const doc_options_t *o = ctx->env->doc;
  bson_oid_t oid;
  if (o->id_from == DOCB_ID_OBJECTID) {
    bson_oid_init(&oid, ctx->oids);
    return bson_append_oid(doc, "_id", 3, &oid);
  }
  if (o->id_from == DOCB_ID_LINE) {
    docb_line_oid(ctx->id_seed, line, &oid);
    return bson_append_oid(doc, "_id", 3, &oid);
  }
  /* --id-from a[,b]: one field's value, or a document of several. */
  bool several = strchr(o->id_fields, ',') != NULL;
  bson_t sub;
  bson_t *into = doc;
  if (several) {
    bson_append_document_begin(doc, "_id", 3, &sub);
    into = &sub;
  }
  for (const char *p = o->id_fields;;) {
    size_t len = strcspn(p, ",");
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)len, p);
    bson_iter_t it, found;
    if (!bson_iter_init(&it, parsed) ||
        !bson_iter_find_descendant(&it, key, &found)) {
      snprintf(why, cap, "no field \"%s\" for _id (--id-from)", key);
      return false;
    }
    bson_append_value(into, several ? key : "_id", -1, bson_iter_value(&found));
    if (!p[len])
      break;
    p += len + 1;
  }
  if (several)
    bson_append_document_end(doc, &sub);
  return true;
}

/* json_reader callback: one document per JSON object. */
static bool job__on_json(void *p, const json_value_t *v)
{
  job_ctx_t *ctx = p;
  if (atomic_load_explicit(ctx->env->stop, memory_order_relaxed)) {
    if (!job__finish_writes(ctx))
      return false;
    return job__fail(ctx, LOADER_ERROR_INTERRUPTED, "%s", "interrupted");
  }
  ctx->res->processed++;
  ctx->next_offset = v->end_offset;
  ctx->next_line = v->end_line;
  if (v->problem)
    return job__reject(ctx, false, v->line, v->offset, 0, v->problem, v->text,
                       v->len);
  bson_t parsed;
  bson_error_t err;
  if (!bson_init_from_json(&parsed, v->text, (ssize_t)v->len, &err)) {
    char reason[sizeof err.message + 16];
    snprintf(reason, sizeof reason, "invalid JSON: %s", err.message);
    return job__reject(ctx, false, v->line, v->offset, 0, reason, v->text,
                       v->len);
  }
  bson_t *doc = batch_begin(ctx->batch, v->line, v->offset, v->text, v->len);
  if (!doc) {
    bson_destroy(&parsed);
    return job__fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  }
  char why[300] = "";
  bool ok = true;
  if (ctx->env->doc->add_id && !bson_has_field(&parsed, "_id"))
    ok = job__json_id(ctx, &parsed, v->line, doc, why, sizeof why);
  if (ok && !bson_concat(doc, &parsed))
    ok = false;
  bson_destroy(&parsed);
  if (ok && doc->len > JOB_MAX_DOC_BYTES)
    ok = false;
  if (!ok && !why[0]) {
    snprintf(why, sizeof why, "document exceeds 16 MiB");
    ok = false;
  }
  if (!ok) {
    batch_rollback(ctx->batch);
    return job__reject(ctx, false, v->line, v->offset, 0, why, v->text, v->len);
  }
  batch_commit(ctx->batch);
  if (batch_is_full(ctx->batch))
    return job__flush(ctx);
  return true;
}

/* csv_reader callback that compiles the header and stops. */
static bool job__on_header(void *p, const csv_record_t *rec)
{
  job__header(p, rec);
  return false;
}

/* Reads just the header of the job's file (when resuming mid-file). */
static bool job__read_header(job_ctx_t *ctx)
{
  bool ok = false;
  bson_error_t error;
  source_t *src = source_open(ctx->job->path, 0, &error);
  csvr_t *reader =
      src ? csvr_new(src, ctx->env->dialect, 0, 1, UINT64_MAX, &error) : NULL;
  if (reader && csvr_read(reader, job__on_header, ctx, &error))
    ok = ctx->spec != NULL || job__failed(ctx);
  if (!reader || !ok) {
    job__fail_with(ctx, &error); /* keeps an earlier reason */
    ok = false;
  }
  csvr_destroy(reader);
  source_close(src);
  return ok && !job__failed(ctx);
}

/* Reads a JSON job from start: its own source and reader, the same batch,
 * sink and accounting as CSV. */
static bool job__run_json(job_ctx_t *ctx, uint64_t start, uint64_t line)
{
  bool ok = false;
  job_result_t *res = ctx->res;
  source_t *src = source_open(ctx->job->path, start, &res->error);
  jsonr_t *reader =
      src ? jsonr_new(src, start, line, ctx->job->json_array && start > 0,
                      &res->error)
          : NULL;
  if (!reader)
    goto out;
  ctx->src = src;
  ctx->gzip = source_is_gzip(ctx->job->path);
  bson_error_t error;
  if (!jsonr_read(reader, job__on_json, ctx, &error)) {
    job__fail_with(ctx, &error);
    goto out;
  }
  if (!job__finish_writes(ctx))
    goto out;
  ok = true;
out:
  if (src)
    res->bytes = source_bytes_read(src);
  ctx->src = NULL;
  jsonr_destroy(reader);
  source_close(src);
  return ok;
}

void job_run(const job_t *job, const job_env_t *env, job_result_t *res)
{
  double t0 = util_now();
  memset(res, 0, sizeof *res);
  res->prior = res->post = -1;
  job_ctx_t ctx = {.job = job, .env = env, .res = res};
  source_t *src = NULL;
  csvr_t *reader = NULL;
  uint64_t start = job->start;
  uint64_t line = job->start_line ? job->start_line : 1;
  mark_t cp;
  bool resumed =
      env->checkpoint && checkpoint_get(env->checkpoint, job->index, &cp);
  if (env->checkpoint)
    ctx.mark_key = checkpoint_key(env->checkpoint, job->index);
  ctx.next_offset = start;
  ctx.next_line = line;
  pthread_mutex_init(&ctx.lock, NULL);
  pthread_cond_init(&ctx.changed, NULL);

  ctx.batch =
      batch_new(env->batch_docs, env->batch_bytes, env->rejects != NULL);
  ctx.spare =
      batch_new(env->batch_docs, env->batch_bytes, env->rejects != NULL);
  if (!ctx.batch || !ctx.spare) {
    bson_set_error(&res->error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  ctx.sink = sink_open(env->sinks, job->collection, &res->error);
  if (!ctx.sink)
    goto out;
  if (!sink_count(ctx.sink, &res->prior, &res->error))
    goto out;
  if (!sink_factory_is_null(env->sinks)) {
    int rc = pthread_create(&ctx.writer, NULL, job__writer, &ctx);
    if (rc != 0) {
      bson_set_error(&res->error, LOADER_ERROR_IO, (uint32_t)rc,
                     "cannot start the writer thread: %s", strerror(rc));
      goto out;
    }
    ctx.writer_started = true;
  }
  if (resumed) {
    /* Continue after the last acknowledged batch; the tuple covers the
     * whole load, from the first run's prior on. */
    res->resumed = true;
    res->processed = cp.processed;
    res->inserted = cp.inserted;
    res->updated = cp.updated;
    res->rejected = cp.rejected;
    res->prior = cp.prior;
    ctx.base = cp;
    start = ctx.next_offset = cp.offset;
    line = ctx.next_line = cp.line;
    ctx.maybe_landed = true;
    if (cp.done)
      goto out_done;
  }
  if (job->json) {
    ctx.oids = bson_context_new(BSON_CONTEXT_NONE);
    ctx.id_seed = job__identity(job);
    if (!job__run_json(&ctx, start, line))
      goto out;
    goto out_finish;
  }
  /* A part of a split file, or a resumed job: the header is at the top. */
  if (!env->header && start > 0 && !job__read_header(&ctx))
    goto out;
  if (env->header && !job__header(&ctx, env->header))
    goto out;

  src = source_open(job->path, start, &res->error);
  if (!src)
    goto out;
  reader = csvr_new(src, env->dialect, start, line, job->end, &res->error);
  if (!reader)
    goto out;
  ctx.src = src;
  ctx.gzip = source_is_gzip(job->path);
  bson_error_t read_error;
  if (!csvr_read(reader, job__on_record, &ctx, &read_error)) {
    job__fail_with(&ctx, &read_error);
    goto out;
  }
  if (!job__finish_writes(&ctx))
    goto out;
  if (!ctx.spec) {
    bson_set_error(&res->error, LOADER_ERROR_INPUT, 0,
                   "empty file: no header line");
    goto out;
  }
  ctx.next_offset = csvr_offset(reader);
out_finish:
  if (!job__commit(&ctx, ctx.next_offset, ctx.next_line, res->processed,
                   ctx.parse_rejected, true))
    goto out;
out_done:
  if (!sink_count(ctx.sink, &res->post, &res->error))
    goto out;
  res->next_line = ctx.next_line;
  res->ok = true;

out:
  if (ctx.writer_started) {
    /* Whatever is in flight is written (or cleared after a failure). */
    pthread_mutex_lock(&ctx.lock);
    ctx.quit = true;
    pthread_cond_broadcast(&ctx.changed);
    pthread_mutex_unlock(&ctx.lock);
    pthread_join(ctx.writer, NULL);
  }
  if (!res->ok)
    res->next_line = ctx.next_line;
  progress_update(
      progress_slot(env->progress, job->index),
      job__progress_bytes(&ctx, ctx.next_offset, job__position(&ctx)),
      res->processed, res->rejected, true);
  if (reader)
    res->empty_lines = csvr_empty_lines(reader);
  if (src)
    res->bytes = source_bytes_read(src);
  sink_close(ctx.sink);
  sink_write_result_cleanup(&ctx.wres);
  batch_destroy(ctx.batch);
  batch_destroy(ctx.spare);
  docb_destroy(ctx.builder);
  docb_spec_destroy(ctx.spec);
  csvr_destroy(reader);
  source_close(src);
  if (ctx.oids)
    bson_context_destroy(ctx.oids);
  pthread_cond_destroy(&ctx.changed);
  pthread_mutex_destroy(&ctx.lock);
  res->elapsed_s = util_now() - t0;
}
