/* job: one (collection, file) load, from bytes to the database.
 *
 * job_run() opens the job's sink, counts what is there, picks up a
 * checkpointed mark, starts the writer (job_writer.c), reads the input
 * (job_records.c), commits the final mark and counts again. Either thread
 * may record a failure or a rejected row: those live here. */
#include "job_impl.h"
#include "loader/checkpoint.h"
#include "loader/error.h"
#include "loader/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Records why the job stops (the first reason wins) and returns false.
 * Either thread may call it. */
bool job_fail_with(job_ctx_t *ctx, const bson_error_t *error)
{
  pthread_mutex_lock(&ctx->lock);
  if (!ctx->failed) {
    ctx->res->error = *error;
    ctx->failed = true;
  }
  pthread_mutex_unlock(&ctx->lock);
  return false;
}

bool job_fail(job_ctx_t *ctx, uint32_t domain, const char *fmt,
              const char *detail)
{
  bson_error_t error;
  bson_set_error(&error, domain, 0, fmt, detail);
  return job_fail_with(ctx, &error);
}

/* Returns whether the job has failed. */
bool job_failed(job_ctx_t *ctx)
{
  pthread_mutex_lock(&ctx->lock);
  bool failed = ctx->failed;
  pthread_mutex_unlock(&ctx->lock);
  return failed;
}

/* Returns true, having failed the job, when its rejected rows are more
 * than --max-errors P% of the rows it has read: judged from
 * JOB_RATIO_MIN_ROWS rows on, or at its end whatever its size. */
static bool job__over_ratio(job_ctx_t *ctx, uint64_t processed,
                            uint64_t rejected, bool at_end)
{
  double ratio = ctx->env->max_errors_ratio;
  if (ratio <= 0 || processed == 0 ||
      (!at_end && processed < JOB_RATIO_MIN_ROWS) ||
      (double)rejected <= ratio * (double)processed)
    return false;
  char msg[160];
  snprintf(msg, sizeof msg,
           "%llu of %llu rows rejected, more than --max-errors %g%%",
           (unsigned long long)rejected, (unsigned long long)processed,
           ratio * 100);
  job_fail(ctx, LOADER_ERROR_INPUT, "stopped: %s", msg);
  return true;
}

/* Counts a rejected row, keeps the first few descriptions, writes it to the
 * rejects file. by_writer says which thread calls (and which counter
 * counts it). Returns false (the job stops) past --max-errors, or when the
 * rejects file cannot be written. */
bool job_reject(job_ctx_t *ctx, bool by_writer, uint64_t line, uint64_t offset,
                size_t column, const char *reason, const char *raw,
                size_t raw_len)
{
  job_result_t *res = ctx->res;
  if (!by_writer)
    ctx->parse_rejected++; /* the writer counts in the batch's slot */
  pthread_mutex_lock(&ctx->lock);
  res->rejected++;
  bool too_many = res->rejected > ctx->env->max_errors;
  uint64_t rejected = res->rejected;
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
    return job_fail_with(ctx, &error);
  if (!by_writer && job__over_ratio(ctx, res->processed, rejected, false))
    return false;
  if (too_many) {
    char msg[64];
    snprintf(msg, sizeof msg, "%llu", (unsigned long long)ctx->env->max_errors);
    return job_fail(ctx, LOADER_ERROR_INPUT,
                    "stopped: more rows rejected than --max-errors %s", msg);
  }
  return true;
}

/* Returns how far into its range the job is at offset, in the units of
 * the size the display knows: bytes of its range, or, for gzip, the
 * compressed bytes read (position, taken by the parser). */
uint64_t job_progress_bytes(const job_ctx_t *ctx, uint64_t offset,
                            uint64_t position)
{
  if (ctx->gzip)
    return position;
  return offset - ctx->job->start;
}

/* Returns where the parser's source is, for progress (the parser's side). */
uint64_t job_position(const job_ctx_t *ctx)
{
  return ctx->src ? source_position(ctx->src) : 0;
}

/* Returns a hash of the job's identity (collection, file, size, mtime), the
 * part of --id-from line ids that tells files apart: the loader's one hash
 * (util_hash64), folded to the 32 bits an ObjectId has room for. */
uint32_t job_identity(const job_t *job)
{
  struct stat st;
  char real[PATH_MAX];
  const char *path = realpath(job->path, real) ? real : job->path;
  uint64_t parts[3] = {0, 0, 0};
  if (stat(job->path, &st) == 0) {
    parts[0] = (uint64_t)st.st_size;
    parts[1] = (uint64_t)st.st_mtim.tv_sec;
    parts[2] = (uint64_t)st.st_mtim.tv_nsec;
  }
  /* Each string with its NUL, so "ab"+"c" and "a"+"bc" differ. */
  uint64_t h = util_hash64(job->collection, strlen(job->collection) + 1,
                           UTIL_HASH64_SEED);
  h = util_hash64(path, strlen(path) + 1, h);
  h = util_hash64(parts, sizeof parts, h);
  return (uint32_t)(h ^ h >> 32);
}

/* Picks up job's checkpointed mark, if any: the run continues after the
 * last acknowledged batch and the tuple covers the whole load, from the
 * first run's prior on. Returns whether there was one. */
static bool job__resume(job_ctx_t *ctx, uint64_t *start, uint64_t *line)
{
  const job_env_t *env = ctx->env;
  job_result_t *res = ctx->res;
  mark_t m;
  /* The interrupted run may have written this job's next batches (or its
   * first, before it had a mark) and died before recording them: they come
   * back as duplicate _ids, which count as this load's own. */
  ctx->resume_window = env->resuming ? env->resume_window : 0;
  if (!env->checkpoint || !checkpoint_get(env->checkpoint, ctx->job->index, &m))
    return false;
  res->resumed = true;
  res->processed = m.processed;
  res->inserted = m.inserted;
  res->updated = m.updated;
  res->deleted = m.deleted;
  res->unmatched = m.unmatched;
  res->rejected = m.rejected;
  res->prior = m.prior;
  ctx->base = m;
  *start = ctx->next_offset = m.offset;
  *line = ctx->next_line = m.line;
  return true;
}

/* Records a job's first mark in the checkpoint before it sends anything:
 * where it starts, nothing dealt with yet, and the count before it
 * (prior), so that a run interrupted before its first batch settled is
 * resumed with the right prior. Only the file: a SQL target commits marks
 * with batches. */
static bool job__start_mark(job_ctx_t *ctx, uint64_t start, uint64_t line)
{
  if (!ctx->env->checkpoint)
    return true;
  mark_t m = {.offset = start, .line = line, .prior = ctx->res->prior};
  bson_error_t error;
  if (!checkpoint_put(ctx->env->checkpoint, ctx->job->index, &m, &error))
    return job_fail_with(ctx, &error);
  return true;
}

job_env_t job_env_rerun(const job_env_t *load, sink_factory_t *checker)
{
  job_env_t env = *load;
  env.sinks = checker;
  env.checkpoint = NULL;
  env.resuming = false;
  env.rejects = NULL;
  env.progress = NULL;
  env.throttle = NULL;
  env.max_errors = UINT64_MAX;
  env.max_errors_ratio = 0;
  env.stop_on_error = false;
  return env;
}

void job_run(const job_t *job, const job_env_t *env, job_result_t *res)
{
  double t0 = util_now();
  memset(res, 0, sizeof *res);
  res->prior = res->post = -1;
  job_ctx_t ctx = {.job = job, .env = env, .res = res};
  uint64_t start = job->start;
  uint64_t line = job->start_line ? job->start_line : 1;
  if (env->checkpoint)
    ctx.mark_key = checkpoint_key(env->checkpoint, job->index);
  ctx.next_offset = start;
  ctx.next_line = line;
  pthread_mutex_init(&ctx.lock, NULL);
  pthread_cond_init(&ctx.changed, NULL);

  ctx.sink = sink_open(env->sinks, job->collection, &res->error);
  if (!ctx.sink || !sink_count(ctx.sink, &res->prior, &res->error) ||
      !job_writer_start(&ctx, &res->error))
    goto out;
  if (job__resume(&ctx, &start, &line)) {
    if (ctx.base.done)
      goto out_done;
  } else if (!job__start_mark(&ctx, start, line)) {
    goto out;
  }
  if (!(job->json ? job_read_json(&ctx, start, line)
                  : job_read_csv(&ctx, start, line)))
    goto out;
  pthread_mutex_lock(&ctx.lock);
  uint64_t rejected = res->rejected;
  pthread_mutex_unlock(&ctx.lock);
  if (job__over_ratio(&ctx, res->processed, rejected, true))
    goto out;
  if (!job_commit(&ctx, ctx.sink, ctx.next_offset, ctx.next_line,
                  res->processed, ctx.parse_rejected, true, NULL))
    goto out;
out_done:
  if (!sink_count(ctx.sink, &res->post, &res->error))
    goto out;
  res->next_line = ctx.next_line;
  res->ok = true;

out:
  job_writer_stop(&ctx);
  if (!res->ok) {
    res->next_line = ctx.next_line;
    /* The input failed, not the target: count what is there, so the report
     * can check what was inserted. */
    if (ctx.sink && res->post < 0 &&
        (res->error.domain == LOADER_ERROR_INPUT ||
         res->error.domain == LOADER_ERROR_IO ||
         res->error.domain == LOADER_ERROR_INTERRUPTED))
      sink_count(ctx.sink, &res->post, &(bson_error_t){0});
  }
  if (res->stop_line) {
    /* --stop-on-error: rows read past the refused one were not written. */
    uint64_t dealt = res->inserted + res->updated + res->deleted +
                     res->unmatched + res->rejected;
    res->unwritten = res->processed > dealt ? res->processed - dealt : 0;
  }
  progress_update(progress_slot(env->progress, job->index),
                  job_progress_bytes(&ctx, ctx.next_offset, ctx.end_position),
                  res->processed, res->rejected, true);
  job_writer_free(&ctx);
  sink_close(ctx.sink);
  docb_destroy(ctx.builder);
  docb_spec_destroy(ctx.spec);
  pthread_cond_destroy(&ctx.changed);
  pthread_mutex_destroy(&ctx.lock);
  res->elapsed_s = util_now() - t0;
}
