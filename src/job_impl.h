/* job_impl: what the stages of a job share. Private to job*.c.
 *
 *   job.c          job_run(): setup, resume, the stages in order, teardown;
 *                  failures and rejected rows (either thread)
 *   job_records.c  the parser's side: CSV records and JSON objects become
 *                  documents in the batch being filled
 *   job_writer.c   the writer's side: the hand-over, writes with retries,
 *                  the duplicate-_id rule, the mark committed per batch */
#ifndef LOADER_JOB_IMPL_H
#define LOADER_JOB_IMPL_H

#include "loader/job.h"
#include "loader/mark.h"

#include <pthread.h>

/* The state of one running job: the parser's, the writer's and what
 * they share (see job_writer.c for who touches what). */
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
  uint64_t end_position;    /* the source's position when reading ended
                               (progress) */
} job_ctx_t;

/* --- job.c: failures and rejected rows (either thread) ----------------- */

/* Records why the job stops (the first reason wins) and returns false. */
bool job_fail_with(job_ctx_t *ctx, const bson_error_t *error);

/* job_fail_with() for a message made of fmt and one string detail. */
bool job_fail(job_ctx_t *ctx, uint32_t domain, const char *fmt,
              const char *detail);

/* Returns whether the job has failed. */
bool job_failed(job_ctx_t *ctx);

/* Counts a rejected row, keeps the first few descriptions, writes it to the
 * rejects file. by_writer says which thread calls (and which counter counts
 * it). Returns false (the job stops) past --max-errors, or when the rejects
 * file cannot be written. */
bool job_reject(job_ctx_t *ctx, bool by_writer, uint64_t line, uint64_t offset,
                size_t column, const char *reason, const char *raw,
                size_t raw_len);

/* Returns where the parser's source is, for progress (the parser's side). */
uint64_t job_position(const job_ctx_t *ctx);

/* Returns how far into its range the job is at offset, in the units of the
 * size the display knows: bytes of its range, or, for gzip, the compressed
 * bytes read (position, taken by the parser). */
uint64_t job_progress_bytes(const job_ctx_t *ctx, uint64_t offset,
                            uint64_t position);

/* Returns a hash of the job's identity (collection, file, size, mtime), the
 * part of --id-from line ids that tells files apart. */
uint32_t job_identity(const job_t *job);

/* --- job_writer.c: the writer's side ------------------------------------ */

/* Starts the writer thread (not for a dry run: nothing to overlap, batches
 * are then written inline). Returns false and fills error when it cannot. */
bool job_writer_start(job_ctx_t *ctx, bson_error_t *error);

/* Lets the writer finish what it was handed (or clear it after a failure)
 * and joins it. A no-op when it was not started. */
void job_writer_stop(job_ctx_t *ctx);

/* Hands the gathered batch to the writer (the parser's side) and takes the
 * other one to fill; waits while the previous one is still in flight.
 * Returns false when the job has failed. */
bool job_flush(job_ctx_t *ctx);

/* Hands over what is left and waits until it is written. Returns false
 * when the job has failed. */
bool job_finish_writes(job_ctx_t *ctx);

/* Makes the job's mark at offset durable: rejects synced, the mark
 * committed with the batch just written, the checkpoint recorded. Call from
 * the writer, or from the parser once the writer is idle. */
bool job_commit(job_ctx_t *ctx, uint64_t offset, uint64_t line,
                uint64_t processed, uint64_t parse_rejected, bool done);

/* --- job_records.c: the parser's side ----------------------------------- */

/* Reads the job's CSV range from start (line), header first: the file's
 * first record, --fields, or the top of the file for a later part. */
bool job_read_csv(job_ctx_t *ctx, uint64_t start, uint64_t line);

/* Reads the job's JSON input from start (line). */
bool job_read_json(job_ctx_t *ctx, uint64_t start, uint64_t line);

#endif
