/* job_records: the parser's side of a job.
 *
 * The stages:
 *   source (one read block) -> csv_reader (one record) or json_reader (one
 *   object) -> doc_builder (one document, encoded into the batch) -> the
 *   writer (job_writer.c).
 * The first record of a CSV file is the header (or --fields names the
 * columns); every later record becomes a document or a rejected row. */
#include "job_impl.h"
#include "loader/error.h"
#include "loader/json_reader.h"

#include <stdio.h>
#include <string.h>

/* MongoDB's maxBsonObjectSize. */
#define JOB_MAX_DOC_BYTES (16u * 1024u * 1024u)

/* Compiles the header: the column names (the file's first record, or
 * --fields), or none for JSON. */
static bool job__header(job_ctx_t *ctx, const field_t *names, size_t n_names)
{
  bson_error_t error;
  ctx->spec = ctx->job->json
                  ? docb_spec_new_json(ctx->env->doc, &error)
                  : docb_spec_new(names, n_names, ctx->env->doc, &error);
  if (!ctx->spec)
    return job_fail_with(ctx, &error);
  ctx->builder = docb_new(ctx->spec);
  if (!ctx->builder)
    return job_fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  docb_set_id_seed(ctx->builder, job_identity(ctx->job));
  return true;
}

/* csv_reader callback: the header first, then one document per record. */
static bool job__on_record(void *p, const csv_record_t *rec)
{
  job_ctx_t *ctx = p;
  if (atomic_load_explicit(ctx->env->stop, memory_order_relaxed)) {
    /* A clean stop: what was read is written (and checkpointed) first. */
    if (ctx->spec && !job_finish_writes(ctx))
      return false;
    return job_fail(ctx, LOADER_ERROR_INTERRUPTED, "%s", "interrupted");
  }

  if (!ctx->spec) {
    ctx->next_offset = rec->end_offset;
    ctx->next_line = rec->end_line + 1;
    if (rec->problem)
      return job_fail(ctx, LOADER_ERROR_INPUT, "header: %s", rec->problem);
    return job__header(ctx, rec->fields, rec->n_fields);
  }

  ctx->res->processed++;
  ctx->next_offset = rec->end_offset;
  ctx->next_line = rec->end_line + 1;
  batch_bytes_t *out = batch_begin_bytes(ctx->batch, rec->line, rec->offset,
                                         rec->raw, rec->raw_len);
  if (!out)
    return job_fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  size_t start = out->len;
  doc_reject_t why;
  if (!docb_build_bytes(ctx->builder, rec, out, &why)) {
    batch_rollback(ctx->batch);
    if (!job_reject(ctx, false, rec->line, rec->offset, why.column, why.reason,
                    rec->raw, rec->raw_len))
      return false;
    if (why.stop) {
      char where[64];
      snprintf(where, sizeof where, "line %llu, column %zu",
               (unsigned long long)rec->line, why.column);
      return job_fail(ctx, LOADER_ERROR_INPUT,
                      "stopped at %s (--parse-grace stop)", where);
    }
    return true;
  }
  if (out->len - start > JOB_MAX_DOC_BYTES) {
    batch_rollback(ctx->batch);
    return job_reject(ctx, false, rec->line, rec->offset, 0,
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
      return job_fail_with(ctx, &error);
  }
  if (batch_is_full(ctx->batch))
    return job_flush(ctx);
  return true;
}

/* json_reader callback: one document per JSON object. */
static bool job__on_json(void *p, const json_value_t *v)
{
  job_ctx_t *ctx = p;
  if (atomic_load_explicit(ctx->env->stop, memory_order_relaxed)) {
    if (!job_finish_writes(ctx))
      return false;
    return job_fail(ctx, LOADER_ERROR_INTERRUPTED, "%s", "interrupted");
  }
  ctx->res->processed++;
  ctx->next_offset = v->end_offset;
  ctx->next_line = v->end_line;
  if (v->problem)
    return job_reject(ctx, false, v->line, v->offset, 0, v->problem, v->text,
                      v->len);
  bson_t parsed;
  bson_error_t err;
  if (!bson_init_from_json(&parsed, v->text, (ssize_t)v->len, &err)) {
    char reason[sizeof err.message + 16];
    snprintf(reason, sizeof reason, "invalid JSON: %s", err.message);
    return job_reject(ctx, false, v->line, v->offset, 0, reason, v->text,
                      v->len);
  }
  batch_bytes_t *out =
      batch_begin_bytes(ctx->batch, v->line, v->offset, v->text, v->len);
  if (!out) {
    bson_destroy(&parsed);
    return job_fail(ctx, LOADER_ERROR_IO, "%s", "out of memory");
  }
  size_t start = out->len;
  doc_reject_t why;
  bool ok = docb_build_json(ctx->builder, &parsed, v->line, out, &why);
  bson_destroy(&parsed);
  if (ok && out->len - start > JOB_MAX_DOC_BYTES) {
    snprintf(why.reason, sizeof why.reason, "document exceeds 16 MiB");
    ok = false;
  }
  if (!ok) {
    batch_rollback(ctx->batch);
    return job_reject(ctx, false, v->line, v->offset, 0, why.reason, v->text,
                      v->len);
  }
  batch_commit(ctx->batch);
  if (batch_is_full(ctx->batch))
    return job_flush(ctx);
  return true;
}

/* csv_reader callback that compiles the header and stops. */
static bool job__on_header(void *p, const csv_record_t *rec)
{
  job_ctx_t *ctx = p;
  if (rec->problem)
    job_fail(ctx, LOADER_ERROR_INPUT, "header: %s", rec->problem);
  else
    job__header(ctx, rec->fields, rec->n_fields);
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
    ok = ctx->spec != NULL || job_failed(ctx);
  if (!reader || !ok) {
    job_fail_with(ctx, &error); /* keeps an earlier reason */
    ok = false;
  }
  csvr_destroy(reader);
  source_close(src);
  return ok && !job_failed(ctx);
}

/* Opens the job's input at start for the parser. */
static source_t *job__open(job_ctx_t *ctx, uint64_t start)
{
  source_t *src = source_open(ctx->job->path, start, &ctx->res->error);
  ctx->src = src;
  ctx->gzip = src && source_inflates(src); /* no second open to sniff */
  return src;
}

/* The input broke (a truncated stream, a read error): the records read
 * before the break are whole and are written first; then the job fails. */
static bool job__broke(job_ctx_t *ctx, const bson_error_t *error)
{
  if (ctx->spec)
    job_finish_writes(ctx);
  return job_fail_with(ctx, error);
}

/* Closes the job's input; NULL is a no-op. */
static void job__close(job_ctx_t *ctx, source_t *src)
{
  if (src) {
    ctx->res->bytes = source_bytes_read(src);
    ctx->end_position = source_position(src);
  }
  ctx->src = NULL;
  source_close(src);
}

bool job_read_json(job_ctx_t *ctx, uint64_t start, uint64_t line)
{
  bool ok = false;
  job_result_t *res = ctx->res;
  if (!job__header(ctx, NULL, 0))
    return false;
  source_t *src = job__open(ctx, start);
  jsonr_t *reader =
      src ? jsonr_new(src, start, line, ctx->job->json_array && start > 0,
                      &res->error)
          : NULL;
  bson_error_t error;
  if (reader)
    ok = jsonr_read(reader, job__on_json, ctx, &error)
             ? job_finish_writes(ctx)
             : job__broke(ctx, &error);
  jsonr_destroy(reader);
  job__close(ctx, src);
  return ok;
}

bool job_read_csv(job_ctx_t *ctx, uint64_t start, uint64_t line)
{
  const job_env_t *env = ctx->env;
  job_result_t *res = ctx->res;
  bool ok = false;
  /* A part of a split file, or a resumed job: the header is at the top. */
  if (!env->fields && start > 0 && !job__read_header(ctx))
    return false;
  if (env->fields && !job__header(ctx, env->fields, env->n_fields))
    return false;
  source_t *src = job__open(ctx, start);
  csvr_t *reader =
      src ? csvr_new(src, env->dialect, start, line, ctx->job->end, &res->error)
          : NULL;
  if (!reader)
    goto out;
  bson_error_t error;
  if (!csvr_read(reader, job__on_record, ctx, &error)) {
    job__broke(ctx, &error);
    goto out;
  }
  if (!job_finish_writes(ctx))
    goto out;
  if (!ctx->spec) {
    bson_set_error(&res->error, LOADER_ERROR_INPUT, 0,
                   "empty file: no header line");
    goto out;
  }
  ctx->next_offset = csvr_offset(reader);
  ok = true;
out:
  if (reader)
    res->empty_lines = csvr_empty_lines(reader);
  csvr_destroy(reader);
  job__close(ctx, src);
  return ok;
}
