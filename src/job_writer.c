/* job_writer: the writers' side of a job.
 *
 * Parsing overlaps writing: the parser fills a batch; when it is full it
 * hands it over here and fills a free one. Up to --inflight K writer
 * threads, each with its own sink (for MongoDB its own pooled client),
 * take the handed-over batches in order and send them (with retries), so
 * that K batches are on the wire at once: one input that cannot be split
 * (gzip, standard input, JSON) keeps a distant server busy. A job has K + 1
 * batches (K in flight, one filling), each bounded by count and bytes, so
 * its memory is one block, one record and K + 1 batches, whatever the size
 * of its file; -j N runs at most N (K + 1) loading threads, plus the
 * progress thread and libmongoc's monitors. A dry run writes inline:
 * there is nothing to overlap.
 *
 * Acknowledgements may come out of order; marks may not. Each batch keeps
 * what the parser knew when it handed it over (where its last record ends,
 * how many rows were processed and rejected below that) and what its write
 * did. Once written, batches are settled strictly in the order they were
 * handed over, by one writer at a time: its counts are folded into the
 * result and the job's mark moves past it. So the mark is always the end
 * of the contiguous prefix of acknowledged batches; a batch that failed
 * stops the mark for good (the job fails), and batches after it that
 * landed are counted as inserted but stay above the mark, to come back as
 * duplicate _ids when the load is resumed.
 *
 * Who touches what: the parser alone the reader, the source, the builder,
 * res->processed, parse_rejected and docs_handed; a writer alone the slot
 * it writes and its own sink; the settling writer (one at a time: the
 * settling flag) res->inserted, updated, retries, server_rejected and
 * broken; slot states, the sequence numbers, rejected rows, failures and
 * quit under ctx->lock, which no one holds during I/O. A writer never reads
 * the parser's state: what it needs travels in the slot.
 *
 * Exactly once: after the target acknowledged a batch, its refused rows
 * are in the rejects file; when it is settled, the rejects file is synced
 * (rejects_sync), the job's mark is committed with the batch (sink_commit:
 * for SQL in the same transaction) and recorded in the checkpoint. A
 * mark's offset is where the last settled batch's last record ends, and its
 * rejected count covers exactly the rows rejected below that offset, so a
 * resumed run (which first drops the rejects above every mark) neither
 * loses nor repeats a row. Targets whose writes are committed with the
 * mark (SQL), upsert, merge and delete (rows with the same key apply in
 * file order) and --stop-on-error (ordered writes: nothing may land after
 * the first refused row, which stops the job) run with one batch in
 * flight.
 *
 * Preparing ahead (ctx->ahead): with one batch in flight, a sink that can
 * do part of a write without the server (sink_prepare(): SQL rows made and
 * checked, MySQL's LOAD DATA text rendered) gets two writers and three
 * batches. A writer takes the next batch handed over, prepares it through
 * its own sink while the other writer's batch is on the server, then waits
 * for its turn: every batch before it written and settled. So writes and
 * settling stay one at a time, in order, each batch committed with its
 * mark in its own transaction before the next is sent, exactly as with one
 * writer; the server no longer waits for the loader's CPU between batches.
 * A batch that could not be prepared fails in its turn, as its write
 * would; after a failure nothing prepared is written. */
#include "job_impl.h"
#include "loader/checkpoint.h"
#include "loader/error.h"

#include <stdio.h>
#include <stdlib.h>
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

bool job_commit(job_ctx_t *ctx, sink_t *sink, uint64_t offset, uint64_t line,
                uint64_t processed, uint64_t parse_rejected, bool done,
                bool *committed)
{
  const job_env_t *env = ctx->env;
  const job_result_t *r = ctx->res;
  mark_t m = {.offset = offset,
              .line = line,
              .processed = processed,
              .inserted = r->inserted,
              .updated = r->updated,
              .deleted = r->deleted,
              .unmatched = r->unmatched,
              .rejected =
                  ctx->base.rejected + parse_rejected + ctx->server_rejected,
              .prior = r->prior,
              .done = done};
  bson_error_t error;
  if (env->checkpoint && env->rejects && !rejects_sync(env->rejects, &error))
    return job_fail_with(ctx, &error);
  if (!sink_commit(sink, ctx->mark_key, &m, &error))
    return job_fail_with(ctx, &error);
  if (committed)
    *committed = true;
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

/* --stop-on-error: the target refused the document at e (the ordered write
 * sent nothing after it): records its line and stops the job. Returns
 * false. */
static bool job__stop_on_error(job_ctx_t *ctx, job_slot_t *slot,
                               const sink_doc_error_t *e)
{
  slot->stop_line = batch_line(slot->batch, e->index);
  bson_error_t error;
  if (e->code)
    bson_set_error(&error, LOADER_ERROR_INPUT, (uint32_t)e->code,
                   "stopped at line %llu (--stop-on-error): the server "
                   "refused it (code %d)",
                   (unsigned long long)slot->stop_line, e->code);
  else /* the sink's own check: an upsert field missing */
    bson_set_error(&error, LOADER_ERROR_INPUT, 0,
                   "stopped at line %llu (--stop-on-error): %s",
                   (unsigned long long)slot->stop_line, e->message);
  return job_fail_with(ctx, &error);
}

/* A batch of a target that commits with the mark (SQL) that will never be
 * committed — the job stops, or settling it failed — is rolled back now,
 * on the thread that wrote it (SQLite's file mutex, taken by the write, is
 * that thread's), rather than counted, read by a count on this connection,
 * or left to the job's own close on the parser's thread. Closing a sink
 * rolls back what it did not commit; a fresh one takes its place for what
 * the job still does (its final count). */
static void job__roll_back(job_ctx_t *ctx, sink_t **sink)
{
  if (!sink_factory_holds_writes(ctx->env->sinks))
    return;
  bson_error_t error;
  sink_close(*sink);
  *sink = sink_open(ctx->env->sinks, ctx->job->collection, &error);
}

/* Sends slot's batch through w's sink. A transient failure (connection
 * lost, primary stepped down) is retried with exponential backoff on a
 * fresh connection; the batch's documents carry their _id from the first
 * attempt, so a document that landed before the failure comes back as a
 * duplicate _id on the retry and is counted as inserted, not rejected (so
 * is one in the first batches of a resumed job, which the interrupted run
 * may have sent). Documents the target refused become rejected rows,
 * traced to their lines. Fills the slot's counts; returns whether the
 * batch may be committed. */
static bool job__write(job_writer_t *w, job_slot_t *slot)
{
  job_ctx_t *ctx = w->ctx;
  const job_env_t *env = ctx->env;
  sink_write_result_t *wres = &w->wres;
  batch_t *batch = slot->batch;
  bson_error_t error;
  unsigned attempt = 0;
  throttle_take(env->throttle, batch_count(batch), env->stop);
  bool maybe_landed = slot->first_doc < ctx->resume_window;
  wres->later = slot->seq > 0; /* a sink's first write may be a later one */
  if (w->prep_failed)
    return job_fail_with(ctx, &w->prep_error);
  for (;;) {
    wres->replay = maybe_landed || attempt > 0;
    if (sink_write(*w->sink, batch, wres, &error))
      break;
    if (attempt >= env->retries || !sink_is_transient(*w->sink, &error) ||
        atomic_load_explicit(env->stop, memory_order_relaxed)) {
      slot->inserted = wres->inserted;
      slot->updated = wres->updated;
      slot->deleted = wres->deleted;
      slot->unmatched = wres->unmatched;
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
    slot->retries++;
    job__backoff(env, wait);
    /* A fresh connection: close this client, pop another. */
    sink_close(*w->sink);
    *w->sink = sink_open(env->sinks, ctx->job->collection, &error);
    if (!*w->sink)
      return job_fail_with(ctx, &error);
  }
  slot->inserted = wres->inserted;
  slot->updated = wres->updated;
  slot->deleted = wres->deleted;
  slot->unmatched = wres->unmatched;
  if (wres->wc_error) {
    slot->wc_errors++;
    snprintf(slot->wc_message, sizeof slot->wc_message, "code %d: %.100s",
             wres->wc_code, wres->wc_message);
  }
  maybe_landed = wres->replay;
  bool ok = true;
  const sink_doc_error_t *stop = NULL;
  for (size_t i = 0; i < wres->n_errors; i++) {
    const sink_doc_error_t *e = &wres->errors[i];
    if (maybe_landed && job__is_dup_id(e)) {
      slot->inserted++; /* landed earlier: this load sent it */
      continue;
    }
    char reason[sizeof e->message + 48];
    if (e->code) /* else the sink's own check (a key field missing) */
      snprintf(reason, sizeof reason, "refused by the server (code %d): %s",
               e->code, e->message);
    else
      snprintf(reason, sizeof reason, "%s", e->message);
    size_t raw_len;
    const char *raw = batch_raw(batch, e->index, &raw_len);
    slot->server_rejected++;
    ok &= job_reject(ctx, true, batch_line(batch, e->index),
                     batch_offset(batch, e->index), 0, reason, raw, raw_len);
    if (env->stop_on_error && !stop)
      stop = e;
  }
  if (stop)
    return job__stop_on_error(ctx, slot, stop);
  if (!ok) /* the job stops (--max-errors) with the batch's transaction open */
    job__roll_back(ctx, w->sink);
  return ok;
}

/* Takes back what a slot's write counted: it was rolled back. */
static void job__uncount(job_result_t *res, const job_slot_t *slot)
{
  res->inserted -= slot->inserted;
  res->updated -= slot->updated;
  res->deleted -= slot->deleted;
  res->unmatched -= slot->unmatched;
}

/* Folds a written slot into the job's result and, when every batch before
 * it was committed, commits the mark past it through sink. Only the
 * settling writer calls it, one slot at a time, in order. */
static void job__settle(job_ctx_t *ctx, sink_t **sink, job_slot_t *slot)
{
  job_result_t *res = ctx->res;
  res->inserted += slot->inserted;
  res->updated += slot->updated;
  res->deleted += slot->deleted;
  res->unmatched += slot->unmatched;
  res->retries += slot->retries;
  if (slot->stop_line && !res->stop_line)
    res->stop_line = slot->stop_line;
  if (slot->wc_errors && !res->wc_errors)
    snprintf(res->wc_message, sizeof res->wc_message, "%s", slot->wc_message);
  res->wc_errors += slot->wc_errors;
  ctx->server_rejected += slot->server_rejected;
  if (!slot->ok || ctx->broken) {
    ctx->broken = true; /* no mark moves past it */
    if (sink_factory_holds_writes(ctx->env->sinks))
      job__uncount(res, slot); /* never committed: rolled back */
    return;
  }
  bool committed = false;
  if (!job_commit(ctx, *sink, slot->offset, slot->line, slot->processed,
                  slot->parse_rejected, false, &committed)) {
    /* The rejects file could not be synced, the mark not committed or the
     * checkpoint not written. What the target committed stays counted (a
     * MongoDB write landed when it was acknowledged); a SQL batch whose
     * commit did not happen is rolled back and taken back. */
    if (!committed && sink_factory_holds_writes(ctx->env->sinks)) {
      job__roll_back(ctx, sink);
      job__uncount(res, slot);
    }
    ctx->broken = true;
    return;
  }
  pthread_mutex_lock(&ctx->lock);
  uint64_t rejected = res->rejected;
  pthread_mutex_unlock(&ctx->lock);
  progress_update(progress_slot(ctx->env->progress, ctx->job->index),
                  job_progress_bytes(ctx, slot->offset, slot->position),
                  slot->processed, rejected, false);
}

/* Returns the slot in state with the given seq, or NULL. Under ctx->lock. */
static job_slot_t *job__slot_at(job_ctx_t *ctx, job_slot_state_t state,
                                uint64_t seq)
{
  for (size_t i = 0; i < ctx->n_slots; i++)
    if (ctx->slots[i].state == state && ctx->slots[i].seq == seq)
      return &ctx->slots[i];
  return NULL;
}

/* Returns a free slot, or NULL. Under ctx->lock. */
static job_slot_t *job__free_slot(job_ctx_t *ctx)
{
  for (size_t i = 0; i < ctx->n_slots; i++)
    if (ctx->slots[i].state == JOB_SLOT_FREE)
      return &ctx->slots[i];
  return NULL;
}

/* Returns the queued slot handed over first, or NULL. Under ctx->lock. */
static job_slot_t *job__first_queued(job_ctx_t *ctx)
{
  job_slot_t *first = NULL;
  for (size_t i = 0; i < ctx->n_slots; i++) {
    job_slot_t *s = &ctx->slots[i];
    if (s->state == JOB_SLOT_QUEUED && (!first || s->seq < first->seq))
      first = s;
  }
  return first;
}

/* Settles the written slots that are next in order, unless another writer
 * does already; frees them for the parser. Called and returns under
 * ctx->lock. */
static void job__settle_ready(job_ctx_t *ctx, sink_t **sink)
{
  job_slot_t *slot;
  while (!ctx->settling &&
         (slot = job__slot_at(ctx, JOB_SLOT_WRITTEN, ctx->settle_seq))) {
    ctx->settling = true;
    pthread_mutex_unlock(&ctx->lock);
    job__settle(ctx, sink, slot);
    batch_clear(slot->batch);
    pthread_mutex_lock(&ctx->lock);
    slot->state = JOB_SLOT_FREE;
    ctx->settle_seq++;
    ctx->settling = false;
    pthread_cond_broadcast(&ctx->changed);
  }
}

/* Writes slot through w and settles what is ready (a writer thread, or the
 * parser when there is none). Called and returns under ctx->lock. */
static void job__write_and_settle(job_writer_t *w, job_slot_t *slot)
{
  job_ctx_t *ctx = w->ctx;
  slot->state = JOB_SLOT_WRITING;
  bool failed = ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  slot->ok = !failed && job__write(w, slot);
  pthread_mutex_lock(&ctx->lock);
  slot->state = JOB_SLOT_WRITTEN;
  job__settle_ready(ctx, w->sink);
}

/* ctx->ahead: prepares slot through w's sink (no server: rows made,
 * refused ones found, MySQL's LOAD DATA text rendered) while the batch
 * before it is written, then waits for its turn (every batch before it
 * written and settled) and writes and settles it. Nothing is prepared
 * after a failure, and a batch whose turn comes after one is not written.
 * Called and returns under ctx->lock. */
static void job__prepare_write_and_settle(job_writer_t *w, job_slot_t *slot)
{
  job_ctx_t *ctx = w->ctx;
  slot->state = JOB_SLOT_PREPARED;
  bool failed = ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  w->prep_failed =
      !failed && !sink_prepare(*w->sink, slot->batch, &w->wres, &w->prep_error);
  pthread_mutex_lock(&ctx->lock);
  while (ctx->settle_seq != slot->seq)
    pthread_cond_wait(&ctx->changed, &ctx->lock);
  job__write_and_settle(w, slot);
  w->prep_failed = false;
}

/* A writer thread: writes each batch handed over, in the order they came,
 * and settles them (with ctx->ahead, preparing each before its turn).
 * After a failure it only clears what it is given. */
static void *job__writer_main(void *p)
{
  job_writer_t *w = p;
  job_ctx_t *ctx = w->ctx;
  pthread_mutex_lock(&ctx->lock);
  for (;;) {
    job_slot_t *slot;
    while (!(slot = job__first_queued(ctx)) && !ctx->quit)
      pthread_cond_wait(&ctx->changed, &ctx->lock);
    if (!slot)
      break; /* quit, nothing left */
    if (ctx->ahead)
      job__prepare_write_and_settle(w, slot);
    else
      job__write_and_settle(w, slot);
  }
  pthread_mutex_unlock(&ctx->lock);
  return NULL;
}

/* Waits until every batch handed over is settled. Returns false when the
 * job has failed. */
static bool job__drain(job_ctx_t *ctx)
{
  pthread_mutex_lock(&ctx->lock);
  while (ctx->settle_seq != ctx->next_seq)
    pthread_cond_wait(&ctx->changed, &ctx->lock);
  bool ok = !ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  return ok;
}

bool job_flush(job_ctx_t *ctx)
{
  if (batch_count(ctx->batch) == 0)
    return !job_failed(ctx);
  job_slot_t *slot = ctx->filling;
  slot->offset = ctx->next_offset;
  slot->line = ctx->next_line;
  slot->processed = ctx->res->processed;
  slot->parse_rejected = ctx->parse_rejected;
  slot->position = job_position(ctx);
  slot->first_doc = ctx->docs_handed;
  slot->inserted = slot->updated = slot->server_rejected = 0;
  slot->deleted = slot->unmatched = slot->stop_line = 0;
  slot->retries = slot->wc_errors = 0;
  ctx->docs_handed += batch_count(ctx->batch);
  pthread_mutex_lock(&ctx->lock);
  slot->seq = ctx->next_seq++;
  slot->state = JOB_SLOT_QUEUED;
  if (!ctx->writers[0].started)
    job__write_and_settle(&ctx->writers[0], slot);
  else
    pthread_cond_broadcast(&ctx->changed);
  job_slot_t *next;
  while (!(next = job__free_slot(ctx)))
    pthread_cond_wait(&ctx->changed, &ctx->lock);
  next->state = JOB_SLOT_FILLING;
  bool ok = !ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  ctx->filling = next;
  ctx->batch = next->batch;
  return ok;
}

uint64_t job_window(const job_env_t *env)
{
  uint64_t batches = env->inflight > 1 ? env->inflight + 1u : 1u;
  return batches * env->batch_docs;
}

bool job_finish_writes(job_ctx_t *ctx)
{
  return job_flush(ctx) && job__drain(ctx);
}

bool job_writer_start(job_ctx_t *ctx, bson_error_t *error)
{
  const job_env_t *env = ctx->env;
  bool threads = !sink_factory_is_null(env->sinks);
  size_t k = threads && env->inflight > 1 ? env->inflight : 1;
  ctx->ahead = threads && k == 1 && sink_factory_can_prepare(env->sinks);
  if (ctx->ahead)
    k = 2; /* one writes, the other prepares the next batch */
  ctx->slots = calloc(k + 1, sizeof *ctx->slots);
  ctx->writers = calloc(k, sizeof *ctx->writers);
  if (!ctx->slots || !ctx->writers)
    goto out_of_memory;
  ctx->n_slots = k + 1;
  for (size_t i = 0; i < ctx->n_slots; i++) {
    ctx->slots[i].batch =
        batch_new(env->batch_docs, env->batch_bytes, env->rejects != NULL);
    if (!ctx->slots[i].batch)
      goto out_of_memory;
  }
  ctx->filling = &ctx->slots[0];
  ctx->filling->state = JOB_SLOT_FILLING;
  ctx->batch = ctx->filling->batch;
  for (size_t i = 0; i < k; i++) {
    job_writer_t *w = &ctx->writers[i];
    w->ctx = ctx;
    w->sink = &ctx->sink;
    if (i > 0) {
      w->own = sink_open(env->sinks, ctx->job->collection, error);
      if (!w->own)
        return false;
      w->sink = &w->own;
    }
    ctx->n_writers = i + 1;
  }
  for (size_t i = 0; threads && i < k; i++) {
    job_writer_t *w = &ctx->writers[i];
    int rc = pthread_create(&w->thread, NULL, job__writer_main, w);
    if (rc != 0) {
      bson_set_error(error, LOADER_ERROR_IO, (uint32_t)rc,
                     "cannot start a writer thread: %s", strerror(rc));
      return false;
    }
    w->started = true;
  }
  return true;

out_of_memory:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return false;
}

void job_writer_stop(job_ctx_t *ctx)
{
  /* Whatever is in flight is written (or cleared after a failure). */
  pthread_mutex_lock(&ctx->lock);
  ctx->quit = true;
  pthread_cond_broadcast(&ctx->changed);
  pthread_mutex_unlock(&ctx->lock);
  for (size_t i = 0; i < ctx->n_writers; i++) {
    if (ctx->writers[i].started)
      pthread_join(ctx->writers[i].thread, NULL);
    ctx->writers[i].started = false;
  }
}

void job_writer_free(job_ctx_t *ctx)
{
  for (size_t i = 0; i < ctx->n_writers; i++) {
    sink_close(ctx->writers[i].own);
    sink_write_result_cleanup(&ctx->writers[i].wres);
  }
  free(ctx->writers);
  ctx->writers = NULL;
  ctx->n_writers = 0;
  for (size_t i = 0; ctx->slots && i < ctx->n_slots; i++)
    batch_destroy(ctx->slots[i].batch);
  free(ctx->slots);
  ctx->slots = NULL;
  ctx->batch = NULL;
}
