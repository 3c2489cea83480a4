/* job_writer: the writer's side of a job.
 *
 * Two threads per job, so that parsing the next batch overlaps sending the
 * current one. Unlike the pool's workers, which run one job each, a new
 * writer thread is started for each job, beside the thread that parses it:
 * the parser fills a batch; when it is full it hands it over here and fills
 * the other one. The writer sends it (with retries), counts what landed,
 * records refused rows, commits the job's mark, clears the batch and hands
 * it back. So a job holds one block, one record, one batch being filled and
 * at most one in flight, whatever the size of its file, and -j N runs at
 * most 2N loading threads (plus the progress thread and libmongoc's own
 * monitors). A dry run writes inline: there is nothing to overlap.
 *
 * Who touches what: the parser alone the reader, the source, the builder,
 * res->processed and parse_rejected; the writer alone the sink,
 * res->inserted, updated, retries and server_rejected; rejected rows,
 * failures and the hand-over (pending and the pend_* fields) under
 * ctx->lock, which no one holds during I/O. The writer never reads the
 * parser's state: what it needs of it (where the batch ends, how many rows
 * the parser rejected before that, how far into the file) travels with the
 * batch in the hand-over.
 *
 * Exactly once: after the sink acknowledged a batch, the writer makes the
 * rejected rows durable (rejects_sync), commits the job's mark with the
 * batch (sink_commit: for SQL in the same transaction) and records it in
 * the checkpoint. A mark's offset is where the batch's last record ends,
 * and its rejected count covers exactly the rows rejected below that
 * offset, so a resumed run (which first drops the rejects above every mark)
 * neither loses nor repeats a row. */
#include "job_impl.h"
#include "loader/checkpoint.h"
#include "loader/error.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* Makes the job's mark at offset durable (the writer's side, or the
 * parser's once the writer is idle): the rejected rows below it are synced
 * to the rejects file, the mark is committed with the batch just written
 * (SQL targets: in its transaction) and recorded in the checkpoint. The
 * counts are those below offset: processed and parse_rejected as the
 * parser handed them over, the rest as the writer has them. */
bool job_commit(job_ctx_t *ctx, uint64_t offset, uint64_t line,
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
    return job_fail_with(ctx, &error);
  if (!sink_commit(ctx->sink, ctx->mark_key, &m, &error))
    return job_fail_with(ctx, &error);
  if (env->checkpoint &&
      !checkpoint_put(env->checkpoint, ctx->job->index, &m, &error))
    return job_fail_with(ctx, &error);
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
      return job_fail_with(ctx, &error);
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
      return job_fail_with(ctx, &error);
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
        job_reject(ctx, true, batch_line(batch, e->index),
                   batch_offset(batch, e->index), 0, reason, raw, raw_len);
  }
  ctx->res->inserted += inserted;
  ctx->res->updated += updated;
  if (!ok_to_go_on)
    return false; /* not committed: SQL targets roll the batch back */
  if (!job_commit(ctx, offset, line, processed, parse_rejected, false)) {
    ctx->res->inserted -= inserted; /* rolled back */
    ctx->res->updated -= updated;
    return false;
  }
  pthread_mutex_lock(&ctx->lock);
  uint64_t rejected = ctx->res->rejected;
  pthread_mutex_unlock(&ctx->lock);
  progress_update(progress_slot(env->progress, ctx->job->index),
                  job_progress_bytes(ctx, offset, position), processed,
                  rejected, false);
  return true;
}

/* The writer thread: writes each batch handed over, then hands it back
 * cleared. After a failure it only clears what it is given. */
static void *job__writer_main(void *p)
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
bool job_flush(job_ctx_t *ctx)
{
  if (batch_count(ctx->batch) == 0)
    return !job_failed(ctx);
  if (!ctx->writer_started) {
    bool ok = job__write_batch(ctx, ctx->batch, ctx->next_offset,
                               ctx->next_line, ctx->res->processed,
                               ctx->parse_rejected, job_position(ctx));
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
  ctx->pend_position = job_position(ctx);
  pthread_cond_broadcast(&ctx->changed);
  pthread_mutex_unlock(&ctx->lock);
  batch_t *next = ctx->spare;
  ctx->spare = ctx->batch;
  ctx->batch = next;
  return true;
}

/* Hands over what is left and waits for it to be written. */
bool job_finish_writes(job_ctx_t *ctx)
{
  return job_flush(ctx) && job__drain(ctx);
}

bool job_writer_start(job_ctx_t *ctx, bson_error_t *error)
{
  if (sink_factory_is_null(ctx->env->sinks))
    return true;
  int rc = pthread_create(&ctx->writer, NULL, job__writer_main, ctx);
  if (rc != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)rc,
                   "cannot start the writer thread: %s", strerror(rc));
    return false;
  }
  ctx->writer_started = true;
  return true;
}

void job_writer_stop(job_ctx_t *ctx)
{
  if (!ctx->writer_started)
    return;
  /* Whatever is in flight is written (or cleared after a failure). Only
   * signalled when someone waits. */
  pthread_mutex_lock(&ctx->lock);
  ctx->quit = true;
  pthread_cond_broadcast(&ctx->changed);
  pthread_mutex_unlock(&ctx->lock);
  pthread_join(ctx->writer, NULL);
  ctx->writer_started = false;
}
