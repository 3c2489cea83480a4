/* report: what the runs did, as text for people and JSON for scripts. */
#include "loader/report.h"
#include "loader/error.h"
#include "loader/indexes.h"
#include "loader/util.h"

#include <errno.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Formats n, grouped or not, into buf. */
static const char *report__num(uint64_t n, bool group, char *buf, size_t cap)
{
  if (group)
    return util_group_thousands(n, buf, cap);
  snprintf(buf, cap, "%" PRIu64, n);
  return buf;
}

static double report__rate(uint64_t rows, double seconds)
{
  return seconds > 0 ? (double)rows / seconds : 0;
}

/* Sums a run's processed rows. */
static uint64_t report__processed(const run_t *run)
{
  uint64_t n = 0;
  for (size_t i = 0; i < run->n_jobs; i++)
    n += run->results[i].processed;
  return n;
}

static const char *report__status(const job_result_t *r)
{
  if (!r->ok)
    return r->error.domain == LOADER_ERROR_INTERRUPTED ? "interrupted"
                                                       : "FAILED";
  if (r->rejected)
    return "rejected rows";
  return r->wc_errors ? "not durable" : "ok";
}

/* The file column: the path, and the part of a split file. */
static const char *report__file(const job_t *job, char *buf, size_t cap)
{
  if (!job->parts)
    return job->path;
  snprintf(buf, cap, "%s [%u/%u]", job->path, job->part, job->parts);
  return buf;
}

double report_speedup(const run_t *linear, const run_t *parallel)
{
  if (!linear || !parallel || parallel->elapsed_s <= 0)
    return 0;
  return linear->elapsed_s / parallel->elapsed_s;
}

/* Finds the linear and the parallel run among runs, if both are there. */
static void report__pair(const run_t *runs, size_t n_runs, const run_t **linear,
                         const run_t **parallel)
{
  *linear = *parallel = NULL;
  for (size_t i = 0; i < n_runs; i++) {
    if (runs[i].mode == RUN_LINEAR)
      *linear = &runs[i];
    else
      *parallel = &runs[i];
  }
}

/* What became of an index, as the reports say it. */
static const char *report__index_status(indexes_status_t status)
{
  static const char *const names[] = {[INDEXES_BUILT] = "built",
                                      [INDEXES_EXISTS] = "exists",
                                      [INDEXES_FAILED] = "failed",
                                      [INDEXES_SKIPPED] = "skipped"};
  return names[status];
}

/* The index phase (--index): one line per index and collection. */
static void report__indexes_text(FILE *out, const indexes_outcome_t *ix)
{
  int wc = (int)strlen("collection"), wn = (int)strlen("index");
  for (size_t i = 0; i < ix->n_items; i++) {
    int c = (int)strlen(ix->items[i].collection);
    int n = (int)strlen(ix->items[i].name);
    wc = c > wc ? c : wc;
    wn = n > wn ? n : wn;
  }
  fprintf(out, "\nindexes: %zu in %.3f s\n", ix->n_items, ix->elapsed_s);
  fprintf(out, "%-*s  %-*s  %-7s  %9s  %s\n", wc, "collection", wn, "index",
          "status", "elapsed_s", "spec");
  for (size_t i = 0; i < ix->n_items; i++) {
    const indexes_item_t *it = &ix->items[i];
    fprintf(out, "%-*s  %-*s  %-7s  %9.3f  %s\n", wc, it->collection, wn,
            it->name,
            it->status == INDEXES_FAILED ? "FAILED"
                                         : report__index_status(it->status),
            it->elapsed_s, it->spec);
  }
}

/* The problems of the index phase: each index not built, why, and for a
 * unique one its duplicate keys with their lines. */
static void report__indexes_problems(FILE *err, const indexes_outcome_t *ix)
{
  bool skipped = false;
  for (size_t i = 0; i < ix->n_items; i++) {
    const indexes_item_t *it = &ix->items[i];
    skipped |= it->status == INDEXES_SKIPPED;
    if (it->status != INDEXES_FAILED)
      continue;
    const bson_error_t *e = &it->error;
    if (e->domain < LOADER_ERROR_USAGE && e->code != 0)
      fprintf(err,
              "loader: %s: index %s (--index '%s') not built: %s (error "
              "%u); the data is loaded\n",
              it->collection, it->name, it->spec, e->message, e->code);
    else
      fprintf(err,
              "loader: %s: index %s (--index '%s') not built: %s; the data "
              "is loaded\n",
              it->collection, it->name, it->spec, e->message);
    for (size_t d = 0; d < it->n_dups; d++) {
      const indexes_dup_t *dup = &it->dups[d];
      char *key = bson_as_relaxed_extended_json(dup->key, NULL);
      fprintf(err, "loader: %s: duplicate key %s (%" PRId64 " rows)",
              it->collection, key ? key : "?", dup->count);
      bson_free(key);
      for (size_t l = 0; l < dup->n_lines; l++)
        fprintf(err, "%s %s:%" PRIu64, l ? "," : " at", dup->lines[l].path,
                dup->lines[l].line);
      if (dup->more_lines)
        fprintf(err, " and %" PRIu64 " more", dup->more_lines);
      if (!dup->n_lines && !it->lines_unknown)
        fprintf(err, "; no line of the input holds it");
      fputc('\n', err);
    }
    if (it->lines_unknown)
      fprintf(err,
              "loader: %s: the lines of some duplicate keys are unknown (an "
              "input could not be read again)\n",
              it->collection);
  }
  if (skipped)
    fprintf(err, "loader: --index: no index built: the load did not finish\n");
}

void report_text(FILE *out, const plan_t *plan, const run_t *runs,
                 size_t n_runs, bool group)
{
  int wc = (int)strlen("collection");
  int wf = (int)strlen("file");
  char fb[1100];
  for (size_t i = 0; i < plan->n_jobs; i++) {
    int c = (int)strlen(plan->jobs[i].collection);
    int f = (int)strlen(report__file(&plan->jobs[i], fb, sizeof fb));
    wc = c > wc ? c : wc;
    wf = f > wf ? f : wf;
  }
  char a[32], b[32], c[32], d[32], e[32];
  for (size_t r = 0; r < n_runs; r++) {
    const run_t *run = &runs[r];
    fprintf(out, "%s%s run: %zu job%s on %zu worker%s\n", r ? "\n" : "",
            run_mode_name(run->mode), run->n_jobs, run->n_jobs == 1 ? "" : "s",
            run->workers, run->workers == 1 ? "" : "s");
    fprintf(out, "%-*s  %-*s  %10s  %8s  %10s  %10s  %9s  %10s  %s\n", wc,
            "collection", wf, "file", "processed", "rejected", "prior", "post",
            "elapsed_s", "rows/s", "status");
    uint64_t rejected = 0;
    for (size_t i = 0; i < run->n_jobs; i++) {
      const job_result_t *res = &run->results[i];
      const job_t *job = &plan->jobs[i];
      rejected += res->rejected;
      fprintf(
          out, "%-*s  %-*s  %10s  %8s  %10s  %10s  %9.3f  %10s  %s\n", wc,
          job->collection, wf, report__file(job, fb, sizeof fb),
          report__num(res->processed, group, a, sizeof a),
          report__num(res->rejected, group, b, sizeof b),
          res->prior < 0
              ? "-"
              : report__num((uint64_t)res->prior, group, c, sizeof c),
          res->post < 0 ? "-"
                        : report__num((uint64_t)res->post, group, d, sizeof d),
          res->elapsed_s,
          report__num((uint64_t)report__rate(res->processed, res->elapsed_s),
                      group, e, sizeof e),
          report__status(res));
    }
    uint64_t processed = report__processed(run);
    fprintf(out, "%-*s  %-*s  %10s  %8s  %10s  %10s  %9.3f  %10s\n", wc,
            "total", wf, "", report__num(processed, group, a, sizeof a),
            report__num(rejected, group, b, sizeof b), "", "", run->elapsed_s,
            report__num((uint64_t)report__rate(processed, run->elapsed_s),
                        group, e, sizeof e));
    for (size_t i = 0; i < run->n_jobs; i++) {
      const job_result_t *res = &run->results[i];
      if (run->deleting || res->deleted || res->unmatched)
        fprintf(out, "%s: deleted %s, matched nothing %s\n",
                report__file(&plan->jobs[i], fb, sizeof fb),
                report__num(res->deleted, group, a, sizeof a),
                report__num(res->unmatched, group, b, sizeof b));
    }
  }

  const run_t *linear, *parallel;
  report__pair(runs, n_runs, &linear, &parallel);
  if (linear && parallel) {
    fprintf(out, "\n%-10s  %10s  %10s\n", "compare", "linear", "parallel");
    fprintf(out, "%-10s  %10zu  %10zu\n", "workers", linear->workers,
            parallel->workers);
    fprintf(out, "%-10s  %10.3f  %10.3f\n", "elapsed_s", linear->elapsed_s,
            parallel->elapsed_s);
    fprintf(out, "%-10s  %10s  %10s\n", "rows/s",
            report__num((uint64_t)report__rate(report__processed(linear),
                                               linear->elapsed_s),
                        group, a, sizeof a),
            report__num((uint64_t)report__rate(report__processed(parallel),
                                               parallel->elapsed_s),
                        group, b, sizeof b));
    fprintf(out, "speedup: %.2fx (linear elapsed / parallel elapsed)\n",
            report_speedup(linear, parallel));
  }
  if (n_runs && runs[n_runs - 1].indexes)
    report__indexes_text(out, runs[n_runs - 1].indexes);
}

/* Prints one job's error, with the server's code when there is one. */
static void report__job_error(FILE *err, const char *label, const job_t *job,
                              const job_result_t *res)
{
  const bson_error_t *e = &res->error;
  bool server = e->domain < LOADER_ERROR_USAGE && e->code != 0;
  if (server)
    fprintf(err, "loader: %s%s: %s (error %u)\n", label, job->path, e->message,
            e->code);
  else
    fprintf(err, "loader: %s%s: %s\n", label, job->path, e->message);
}

/* Returns true when another job writes job i's collection. */
static bool report__shared(const plan_t *plan, size_t i)
{
  for (size_t j = 0; j < plan->n_jobs; j++)
    if (j != i &&
        strcmp(plan->jobs[j].collection, plan->jobs[i].collection) == 0)
      return true;
  return false;
}

/* For the first job of a collection several jobs wrote: the collection's
 * count must have grown by what all of them inserted. */
static void report__check_collection(FILE *err, const char *label,
                                     const plan_t *plan, const run_t *run,
                                     size_t i)
{
  if (!run->coll_prior || run->coll_prior[i] < 0 || run->coll_post[i] < 0)
    return;
  int64_t net = 0; /* inserted - deleted */
  bool deletes = false;
  for (size_t j = 0; j < plan->n_jobs; j++) {
    if (strcmp(plan->jobs[j].collection, plan->jobs[i].collection) != 0)
      continue;
    if (!run->results[j].ok)
      return; /* a failed job is reported already */
    net += (int64_t)run->results[j].inserted - (int64_t)run->results[j].deleted;
    deletes |= run->results[j].deleted > 0;
  }
  int64_t grew = run->coll_post[i] - run->coll_prior[i];
  if (grew != net)
    fprintf(err,
            "loader: %scollection \"%s\": accounting does not close: it "
            "grew by %" PRId64 " but its jobs inserted %" PRId64
            "%s (did something else write to it during the load?)\n",
            label, plan->jobs[i].collection, grew, net,
            deletes ? " net of deletes" : "");
}

void report_problems(FILE *err, const plan_t *plan, const run_t *runs,
                     size_t n_runs)
{
  for (size_t r = 0; r < n_runs; r++) {
    const run_t *run = &runs[r];
    char label[32] = "";
    if (n_runs > 1)
      snprintf(label, sizeof label, "[%s] ", run_mode_name(run->mode));
    for (size_t i = 0; i < run->n_jobs; i++) {
      const job_result_t *res = &run->results[i];
      const job_t *job = &plan->jobs[i];
      for (size_t s = 0; s < res->n_samples; s++) {
        const job_reject_t *rj = &res->samples[s];
        if (rj->column)
          fprintf(err, "loader: %s%s:%" PRIu64 ":%zu: %s\n", label, job->path,
                  rj->line, rj->column, rj->reason);
        else
          fprintf(err, "loader: %s%s:%" PRIu64 ": %s\n", label, job->path,
                  rj->line, rj->reason);
      }
      if (res->wc_errors)
        fprintf(err,
                "loader: %s%s: %" PRIu64 " batch%s landed without the write "
                "concern asked for (writeConcernError %s): the rows are "
                "there, but not durable as asked\n",
                label, job->path, res->wc_errors,
                res->wc_errors == 1 ? "" : "es", res->wc_message);
      if (res->rejected > res->n_samples)
        fprintf(err, "loader: %s%s: %" PRIu64 " rows rejected in all\n", label,
                job->path, res->rejected);
      if (!res->ok) {
        report__job_error(err, label, job, res);
        if (!res->stop_line)
          continue;
        /* --stop-on-error: exactly what landed before the stop is known. */
        fprintf(err,
                "loader: %s%s: %" PRIu64 " rows read after line %" PRIu64
                " were not written (neither in the target nor in the rejects "
                "file)\n",
                label, job->path, res->unwritten, res->stop_line);
      }
      uint64_t dealt = res->inserted + res->updated + res->deleted +
                       res->unmatched + res->rejected + res->unwritten;
      if (res->processed != dealt) {
        char deletes[96] = "", unwritten[48] = "";
        if (run->deleting || res->deleted || res->unmatched)
          snprintf(deletes, sizeof deletes,
                   " + deleted %" PRIu64 " + matched nothing %" PRIu64,
                   res->deleted, res->unmatched);
        if (res->unwritten)
          snprintf(unwritten, sizeof unwritten, " + not written %" PRIu64,
                   res->unwritten);
        fprintf(err,
                "loader: %s%s: accounting does not close: processed %" PRIu64
                " != inserted %" PRIu64 " + updated %" PRIu64
                "%s + rejected %" PRIu64 "%s\n",
                label, job->path, res->processed, res->inserted, res->updated,
                deletes, res->rejected, unwritten);
      }
      if (res->processed == 0 && !job->parts)
        fprintf(err, "loader: %s%s: warning: header only, no data rows\n",
                label, job->path);
      if (report__shared(plan, i)) {
        report__check_collection(err, label, plan, run, i);
        continue;
      }
      if (res->post - res->prior !=
          (int64_t)res->inserted - (int64_t)res->deleted) {
        char deleted[48] = "", why[320];
        if (res->deleted)
          snprintf(deleted, sizeof deleted, " and %" PRIu64 " deleted",
                   res->deleted);
        /* A delete sent again finds gone what its first attempt deleted:
         * counted as matched nothing, not deleted. */
        if ((run->deleting || res->deleted || res->unmatched) &&
            (res->retries || res->resumed))
          snprintf(why, sizeof why,
                   "a retried or resumed delete counts what its first "
                   "attempt deleted as matched nothing");
        else
          snprintf(why, sizeof why,
                   "did something else write to collection \"%s\" during "
                   "the load?",
                   job->collection);
        fprintf(err,
                "loader: %s%s: accounting does not close: post - prior = "
                "%" PRId64 " but %" PRIu64 " inserted%s (%s)\n",
                label, job->path, res->post - res->prior, res->inserted,
                deleted, why);
      }
    }
  }
  if (n_runs && runs[n_runs - 1].indexes)
    report__indexes_problems(err, runs[n_runs - 1].indexes);
}

/* Writes s as a JSON string. */
static void report__json_str(FILE *out, const char *s)
{
  /* JSON is UTF-8: a file name or message that is not has its high bytes
   * written as '?' rather than making the whole report unreadable. */
  bool utf8 = bson_utf8_validate(s, strlen(s), false);
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (!utf8 && *p >= 0x80) {
      fputc('?', out);
      continue;
    }
    switch (*p) {
    case '"':
      fputs("\\\"", out);
      break;
    case '\\':
      fputs("\\\\", out);
      break;
    case '\n':
      fputs("\\n", out);
      break;
    case '\r':
      fputs("\\r", out);
      break;
    case '\t':
      fputs("\\t", out);
      break;
    default:
      if (*p < 0x20)
        fprintf(out, "\\u%04x", *p);
      else
        fputc(*p, out);
    }
  }
  fputc('"', out);
}

/* The index phase as "indexes": {"elapsed_s", "items": [...]}. */
static void report__indexes_json(FILE *out, const indexes_outcome_t *ix)
{
  fprintf(out, ",\n \"indexes\": {\"elapsed_s\": %.6f, \"items\": [",
          ix->elapsed_s);
  for (size_t i = 0; i < ix->n_items; i++) {
    const indexes_item_t *it = &ix->items[i];
    fputs(i ? ",\n   {\"collection\": " : "\n   {\"collection\": ", out);
    report__json_str(out, it->collection);
    fputs(", \"spec\": ", out);
    report__json_str(out, it->spec);
    fputs(", \"name\": ", out);
    report__json_str(out, it->name);
    fprintf(out, ", \"status\": \"%s\", \"elapsed_s\": %.6f",
            report__index_status(it->status), it->elapsed_s);
    if (it->status == INDEXES_FAILED) {
      fputs(", \"error\": ", out);
      report__json_str(out, it->error.message);
      fprintf(out, ", \"error_code\": %u, \"lines_unknown\": %s",
              it->error.code, it->lines_unknown ? "true" : "false");
      fputs(", \"duplicates\": [", out);
      for (size_t d = 0; d < it->n_dups; d++) {
        const indexes_dup_t *dup = &it->dups[d];
        char *key = bson_as_relaxed_extended_json(dup->key, NULL);
        fprintf(out, "%s{\"key\": %s, \"count\": %" PRId64 ", \"lines\": [",
                d ? ", " : "", key ? key : "null", dup->count);
        bson_free(key);
        for (size_t l = 0; l < dup->n_lines; l++) {
          fputs(l ? ", {\"file\": " : "{\"file\": ", out);
          report__json_str(out, dup->lines[l].path);
          fprintf(out, ", \"line\": %" PRIu64 "}", dup->lines[l].line);
        }
        fprintf(out, "], \"more_lines\": %" PRIu64 "}", dup->more_lines);
      }
      fputc(']', out);
    }
    fputc('}', out);
  }
  fputs("]}", out);
}

/* Opens job i's object in a JSON list: its collection, file and part. */
static void report__json_job_head(FILE *out, const plan_t *plan, size_t i)
{
  fputs(i ? ",\n    {\"collection\": " : "\n    {\"collection\": ", out);
  report__json_str(out, plan->jobs[i].collection);
  fputs(", \"file\": ", out);
  report__json_str(out, plan->jobs[i].path);
  if (plan->jobs[i].parts)
    fprintf(out, ", \"part\": %u, \"parts\": %u", plan->jobs[i].part,
            plan->jobs[i].parts);
}

static void report__json_verify(FILE *out, const plan_t *plan,
                                const verify_report_t *v);

/* The JSON report, with the verify phase's when verify is not NULL. */
static void report__json(FILE *out, const plan_t *plan, const run_t *runs,
                         size_t n_runs, const verify_report_t *verify)
{
  fputs("{\"runs\": [", out);
  for (size_t r = 0; r < n_runs; r++) {
    const run_t *run = &runs[r];
    fprintf(out,
            "%s\n  {\"mode\": \"%s\", \"workers\": %zu, \"elapsed_s\": %.6f, "
            "\"jobs\": [",
            r ? "," : "", run_mode_name(run->mode), run->workers,
            run->elapsed_s);
    for (size_t i = 0; i < run->n_jobs; i++) {
      const job_result_t *res = &run->results[i];
      report__json_job_head(out, plan, i);
      fprintf(out,
              ", \"processed\": %" PRIu64 ", \"prior\": %" PRId64
              ", \"post\": %" PRId64 ", \"inserted\": %" PRIu64
              ", \"updated\": %" PRIu64 ", \"rejected\": %" PRIu64
              ", \"retries\": %" PRIu64 ", \"write_concern_errors\": %" PRIu64
              ", \"bytes\": %" PRIu64 ", \"elapsed_s\": %.6f, \"ok\": %s",
              res->processed, res->prior, res->post, res->inserted,
              res->updated, res->rejected, res->retries, res->wc_errors,
              res->bytes, res->elapsed_s, res->ok ? "true" : "false");
      if (run->deleting || res->deleted || res->unmatched)
        fprintf(out, ", \"deleted\": %" PRIu64 ", \"unmatched\": %" PRIu64,
                res->deleted, res->unmatched);
      if (res->stop_line)
        fprintf(out,
                ", \"stopped_at_line\": %" PRIu64 ", \"not_written\": %" PRIu64,
                res->stop_line, res->unwritten);
      if (!res->ok) {
        fputs(", \"error\": ", out);
        report__json_str(out, res->error.message);
        fprintf(out, ", \"error_code\": %u", res->error.code);
      }
      fputc('}', out);
    }
    fputs("]}", out);
  }
  fputs("\n]", out);
  const run_t *linear, *parallel;
  report__pair(runs, n_runs, &linear, &parallel);
  if (linear && parallel)
    fprintf(out, ",\n \"speedup\": %.4f", report_speedup(linear, parallel));
  if (n_runs && runs[n_runs - 1].indexes)
    report__indexes_json(out, runs[n_runs - 1].indexes);
  if (verify)
    report__json_verify(out, plan, verify);
  fputs("}\n", out);
}

void report_json(FILE *out, const plan_t *plan, const run_t *runs,
                 size_t n_runs)
{
  report__json(out, plan, runs, n_runs, NULL);
}

static bool report__json_write(const char *path, const plan_t *plan,
                               const run_t *runs, size_t n_runs,
                               const verify_report_t *verify,
                               bson_error_t *error)
{
  size_t len = strlen(path) + 32;
  char *tmp = malloc(len);
  if (!tmp) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return false;
  }
  snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
  bool ok = false;
  FILE *f = fopen(tmp, "wx");
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s: %s", tmp,
                   strerror(errno));
    goto out_free;
  }
  report__json(f, plan, runs, n_runs, verify);
  if (ferror(f) | (fclose(f) != 0)) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "%s: write failed: %s", tmp, strerror(errno));
    unlink(tmp);
    goto out_free;
  }
  if (rename(tmp, path) != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s: %s", path,
                   strerror(errno));
    unlink(tmp);
    goto out_free;
  }
  ok = true;
out_free:
  free(tmp);
  return ok;
}

bool report_json_write(const char *path, const plan_t *plan, const run_t *runs,
                       size_t n_runs, bson_error_t *error)
{
  return report__json_write(path, plan, runs, n_runs, NULL, error);
}

bool report_json_write_verify(const char *path, const plan_t *plan,
                              const run_t *runs, size_t n_runs,
                              const verify_report_t *verify,
                              bson_error_t *error)
{
  return report__json_write(path, plan, runs, n_runs, verify, error);
}

/* How a job was verified, in words. */
static const char *report__methods(unsigned methods)
{
  switch (methods) {
  case VERIFY_BY_ID:
    return "by _id";
  case VERIFY_BY_DIGEST:
    return "by digest";
  case VERIFY_BY_ID | VERIFY_BY_DIGEST:
    return "by _id and digest";
  default:
    return "not verified";
  }
}

void report_verify_text(FILE *out, const plan_t *plan, const verify_report_t *v,
                        bool group)
{
  uint64_t rows = 0;
  for (size_t i = 0; i < v->n_jobs; i++)
    rows += v->jobs[i].rows;
  char a[32], b[32], fb[1100];
  fprintf(out, "\nverify: %zu job%s on %zu worker%s, %.3f s, %s rows/s\n",
          v->n_jobs, v->n_jobs == 1 ? "" : "s", v->workers,
          v->workers == 1 ? "" : "s", v->elapsed_s,
          report__num((uint64_t)report__rate(rows, v->elapsed_s), group, a,
                      sizeof a));
  for (size_t i = 0; i < v->n_jobs; i++) {
    const verify_job_t *r = &v->jobs[i];
    const job_t *job = &plan->jobs[i];
    fprintf(out, "%s  %s  ", job->collection, report__file(job, fb, sizeof fb));
    if (!r->methods) {
      fprintf(out, "not verified: %s\n", r->why);
      continue;
    }
    fprintf(out, "verified: %s of %s rows (%s)",
            report__num(r->verified, group, a, sizeof a),
            report__num(r->rows, group, b, sizeof b),
            report__methods(r->methods));
    if (r->refused)
      fprintf(out, "; %s refused by the target, not there",
              report__num(r->refused, group, a, sizeof a));
    if (r->extra)
      fprintf(out, "; %s document%s no row built",
              report__num(r->extra, group, a, sizeof a),
              r->extra == 1 ? "" : "s");
    fputc('\n', out);
  }
}

void report_verify_problems(FILE *err, const plan_t *plan,
                            const verify_report_t *v)
{
  for (size_t i = 0; i < v->n_jobs; i++) {
    const verify_job_t *r = &v->jobs[i];
    const job_t *job = &plan->jobs[i];
    if (!r->methods) {
      fprintf(err, "loader: %s: not verified: %s\n", job->path, r->why);
      continue;
    }
    for (size_t d = 0; d < r->n_diffs; d++) {
      if (r->diffs[d].line)
        fprintf(err, "loader: %s:%" PRIu64 ": verify: %s\n", job->path,
                r->diffs[d].line, r->diffs[d].what);
      else
        fprintf(err, "loader: collection \"%s\": verify: %s\n", job->collection,
                r->diffs[d].what);
    }
    uint64_t all = r->differences + r->extra;
    if (all > r->n_diffs || r->capped)
      fprintf(err,
              "loader: %s: verify: %" PRIu64 " differences%s, the first %zu "
              "shown\n",
              job->path, all, r->capped ? " or more" : "", r->n_diffs);
  }
}

static void report__json_verify(FILE *out, const plan_t *plan,
                                const verify_report_t *v)
{
  fprintf(out,
          ",\n \"verify\": {\"workers\": %zu, \"elapsed_s\": %.6f, "
          "\"ok\": %s, \"jobs\": [",
          v->workers, v->elapsed_s, verify_is_clean(v) ? "true" : "false");
  for (size_t i = 0; i < v->n_jobs; i++) {
    const verify_job_t *r = &v->jobs[i];
    report__json_job_head(out, plan, i);
    if (!r->methods) {
      fputs(", \"verified\": null, \"why\": ", out);
      report__json_str(out, r->why);
      fputc('}', out);
      continue;
    }
    fprintf(out,
            ", \"method\": \"%s\", \"rows\": %" PRIu64
            ", \"verified\": %" PRIu64 ", \"differences\": %" PRIu64
            ", \"refused\": %" PRIu64 ", \"extra\": %" PRIu64
            ", \"elapsed_s\": %.6f, \"first\": [",
            r->methods == VERIFY_BY_ID       ? "id"
            : r->methods == VERIFY_BY_DIGEST ? "digest"
                                             : "id+digest",
            r->rows, r->verified, r->differences, r->refused, r->extra,
            r->elapsed_s);
    for (size_t d = 0; d < r->n_diffs; d++) {
      fprintf(out, "%s{\"line\": %" PRIu64 ", \"what\": ", d ? ", " : "",
              r->diffs[d].line);
      report__json_str(out, r->diffs[d].what);
      fputc('}', out);
    }
    fputs("]}", out);
  }
  fputs("\n]}", out);
}
