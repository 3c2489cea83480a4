/* job: one (collection, file) load, from bytes to the database.
 *
 * The stages, all on the calling thread:
 *   source (one read block) -> csv_reader (one record) -> doc_builder
 *   (one document, built in place in the batch) -> batch -> sink.
 * The first record of the file is the header; every later record becomes a
 * document or a rejected row. A full batch is written before the next record
 * is read, so a job holds one block, one record and one batch whatever the
 * size of its file. */
#include "loader/job.h"
#include "loader/error.h"
#include "loader/util.h"

#include <stdio.h>
#include <string.h>

/* MongoDB's maxBsonObjectSize. */
#define JOB_MAX_DOC_BYTES (16u * 1024u * 1024u)

/* The state of one running job, passed to the record callback. */
typedef struct job_ctx {
  const job_t *job;         /* what is loaded */
  const job_env_t *env;     /* shared settings */
  job_result_t *res;        /* what is reported */
  sink_t *sink;             /* where documents go */
  batch_t *batch;           /* documents being gathered */
  doc_spec_t *spec;         /* the compiled header, once read */
  docb_t *builder;          /* builds documents from records */
  sink_write_result_t wres; /* per-document errors of the last write */
  bool failed;              /* the job stopped: res->error says why */
} job_ctx_t;

static bool job__fail(job_ctx_t *ctx, uint32_t domain, const char *fmt,
                      const char *detail)
{
  bson_set_error(&ctx->res->error, domain, 0, fmt, detail);
  ctx->failed = true;
  return false;
}

/* Counts a rejected row, keeps the first few descriptions, writes it to the
 * rejects file. Returns false (the job stops) past --max-errors. */
static bool job__reject(job_ctx_t *ctx, uint64_t line, uint64_t offset,
                        size_t column, const char *reason, const char *raw,
                        size_t raw_len)
{
  job_result_t *res = ctx->res;
  res->rejected++;
  if (res->n_samples < JOB_REJECT_SAMPLES) {
    job_reject_t *s = &res->samples[res->n_samples++];
    s->line = line;
    s->column = column;
    size_t n = strnlen(reason, sizeof s->reason - 1); /* truncate */
    memcpy(s->reason, reason, n);
    s->reason[n] = '\0';
  }
  if (ctx->env->rejects)
    rejects_write(ctx->env->rejects, ctx->job->path, line, offset, column,
                  reason, raw, raw_len);
  if (res->rejected > ctx->env->max_errors) {
    char msg[64];
    snprintf(msg, sizeof msg, "%llu", (unsigned long long)ctx->env->max_errors);
    return job__fail(ctx, LOADER_ERROR_INPUT,
                     "stopped: more rows rejected than --max-errors %s", msg);
  }
  return true;
}

/* Writes the gathered batch. Documents the database refused become rejected
 * rows, traced to their lines; a failed batch fails the job. */
static bool job__flush(job_ctx_t *ctx)
{
  if (batch_count(ctx->batch) == 0)
    return true;
  bson_error_t error;
  bool ok = sink_write(ctx->sink, ctx->batch, &ctx->wres, &error);
  ctx->res->inserted += ctx->wres.inserted;
  if (!ok) {
    ctx->res->error = error;
    ctx->failed = true;
    return false;
  }
  bool ok_to_go_on = true;
  for (size_t i = 0; i < ctx->wres.n_errors; i++) {
    const sink_doc_error_t *e = &ctx->wres.errors[i];
    char reason[sizeof e->message + 48];
    snprintf(reason, sizeof reason, "refused by the server (code %d): %s",
             e->code, e->message);
    size_t raw_len;
    const char *raw = batch_raw(ctx->batch, e->index, &raw_len);
    ok_to_go_on &= job__reject(ctx, batch_line(ctx->batch, e->index),
                               batch_offset(ctx->batch, e->index), 0, reason,
                               raw, raw_len);
  }
  batch_clear(ctx->batch);
  return ok_to_go_on;
}

/* Compiles the header (the file's first record, or --fields). */
static bool job__header(job_ctx_t *ctx, const csv_record_t *rec)
{
  if (rec->problem)
    return job__fail(ctx, LOADER_ERROR_INPUT, "header: %s", rec->problem);
  bson_error_t error;
  ctx->spec = docb_spec_new(rec, ctx->env->doc, &error);
  if (!ctx->spec) {
    ctx->res->error = error;
    ctx->failed = true;
    return false;
  }
  ctx->builder = docb_new(ctx->spec);
  if (!ctx->builder)
    return job__fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  return true;
}

/* csv_reader callback: the header first, then one document per record. */
static bool job__on_record(void *p, const csv_record_t *rec)
{
  job_ctx_t *ctx = p;
  if (atomic_load_explicit(ctx->env->stop, memory_order_relaxed))
    return job__fail(ctx, LOADER_ERROR_INTERRUPTED, "%s", "interrupted");

  if (!ctx->spec)
    return job__header(ctx, rec);

  ctx->res->processed++;
  bson_t *doc =
      batch_begin(ctx->batch, rec->line, rec->offset, rec->raw, rec->raw_len);
  if (!doc)
    return job__fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  doc_reject_t why;
  if (!docb_build(ctx->builder, rec, doc, &why)) {
    batch_rollback(ctx->batch);
    if (!job__reject(ctx, rec->line, rec->offset, why.column, why.reason,
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
    return job__reject(ctx, rec->line, rec->offset, 0,
                       "document exceeds 16 MiB", rec->raw, rec->raw_len);
  }
  batch_commit(ctx->batch);
  if (why.skipped && ctx->env->rejects) {
    /* --parse-grace skip-field: the row loaded without some values; the
     * rejects file keeps them, the row is not counted as rejected. */
    char reason[sizeof why.reason + 64];
    snprintf(reason, sizeof reason, "loaded without %zu field%s: %s",
             why.skipped, why.skipped == 1 ? "" : "s", why.reason);
    rejects_write(ctx->env->rejects, ctx->job->path, rec->line, rec->offset,
                  why.column, reason, rec->raw, rec->raw_len);
  }
  if (batch_is_full(ctx->batch))
    return job__flush(ctx);
  return true;
}

void job_run(const job_t *job, const job_env_t *env, job_result_t *res)
{
  double t0 = util_now();
  memset(res, 0, sizeof *res);
  res->prior = res->post = -1;
  job_ctx_t ctx = {.job = job, .env = env, .res = res};
  source_t *src = NULL;
  csvr_t *reader = NULL;

  src = source_open(job->path, job->start, &res->error);
  if (!src)
    goto out;
  reader = csvr_new(src, env->dialect, job->start, 1, job->end, &res->error);
  if (!reader)
    goto out;
  ctx.batch =
      batch_new(env->batch_docs, env->batch_bytes, env->rejects != NULL);
  if (!ctx.batch) {
    bson_set_error(&res->error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  ctx.sink = sink_open(env->sinks, job->collection, &res->error);
  if (!ctx.sink)
    goto out;
  if (!sink_count(ctx.sink, &res->prior, &res->error))
    goto out;
  if (env->header && !job__header(&ctx, env->header))
    goto out;

  bson_error_t read_error;
  if (!csvr_read(reader, job__on_record, &ctx, &read_error)) {
    res->error = read_error;
    goto out;
  }
  if (ctx.failed || !job__flush(&ctx))
    goto out;
  if (!ctx.spec) {
    bson_set_error(&res->error, LOADER_ERROR_INPUT, 0,
                   "empty file: no header line");
    goto out;
  }
  if (!sink_count(ctx.sink, &res->post, &res->error))
    goto out;
  res->ok = true;

out:
  if (reader)
    res->empty_lines = csvr_empty_lines(reader);
  if (src)
    res->bytes = source_bytes_read(src);
  sink_close(ctx.sink);
  sink_write_result_cleanup(&ctx.wres);
  batch_destroy(ctx.batch);
  docb_destroy(ctx.builder);
  docb_spec_destroy(ctx.spec);
  csvr_destroy(reader);
  source_close(src);
  res->elapsed_s = util_now() - t0;
}
