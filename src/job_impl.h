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

/* Where a batch is in its life (see job_writer.c). */
typedef enum job_slot_state {
  JOB_SLOT_FREE,     /* empty, ready to be filled */
  JOB_SLOT_FILLING,  /* the parser gathers documents in it */
  JOB_SLOT_QUEUED,   /* handed over, waiting for a writer */
  JOB_SLOT_PREPARED, /* taken by a writer that prepares it, or prepared it
                        and waits for its turn to write (ctx->ahead) */
  JOB_SLOT_WRITING,  /* a writer sends it */
  JOB_SLOT_WRITTEN,  /* sent (or given up), waiting to be settled in order */
} job_slot_state_t;

/* One batch and what travels with it: the parser's position after its
 * last record, filled at the hand-over, and what the write did. */
typedef struct job_slot {
  batch_t *batch;           /* the documents */
  job_slot_state_t state;   /* where it is (under ctx->lock) */
  uint64_t seq;             /* its place in the job's order of batches */
  uint64_t offset;          /* the position after its last record */
  uint64_t line;            /* the line there */
  uint64_t processed;       /* records dealt with up to there */
  uint64_t parse_rejected;  /* rows the parser rejected up to there */
  uint64_t position;        /* the source's position there (progress) */
  uint64_t first_doc;       /* documents this run handed over before it */
  bool ok;                  /* acknowledged and its refused rows recorded:
                               it may be committed */
  uint64_t inserted;        /* documents that landed */
  uint64_t updated;         /* documents that replaced existing ones */
  uint64_t deleted;         /* documents deleted (--mode delete) */
  uint64_t unmatched;       /* rows that deleted nothing */
  uint64_t stop_line;       /* the line of the refused row that stopped an
                               ordered write (--stop-on-error), or 0 */
  uint64_t server_rejected; /* documents the target refused */
  uint64_t retries;         /* attempts after transient failures */
  uint64_t wc_errors;       /* writes acknowledged with a writeConcernError */
  char wc_message[128];     /* the first one's message */
} job_slot_t;

/* One writer: its thread, the sink it writes through, its write results. */
typedef struct job_writer {
  struct job_ctx *ctx;      /* the job it writes for */
  pthread_t thread;         /* runs job__writer_main() */
  bool started;             /* the thread runs */
  sink_t **sink;            /* its sink: writer 0 shares ctx->sink (the
                               job's, also used for counts and the final
                               mark while the writers are idle); the
                               others open their own */
  sink_t *own;              /* the sink of writers after the first */
  sink_write_result_t wres; /* per-document errors of its last write (and
                               of its preparation) */
  bool prep_failed;         /* its batch could not be prepared (ctx->ahead):
                               its write fails with prep_error instead */
  bson_error_t prep_error;  /* why */
} job_writer_t;

/* The state of one running job: the parser's, the writers' and what
 * they share (see job_writer.c for who touches what). */
typedef struct job_ctx {
  const job_t *job;         /* what is loaded */
  const job_env_t *env;     /* shared settings */
  job_result_t *res;        /* what is reported */
  sink_t *sink;             /* where documents go */
  job_slot_t *slots;        /* --inflight + 1 batches */
  size_t n_slots;           /* how many */
  job_slot_t *filling;      /* the slot the parser fills */
  batch_t *batch;           /* its batch (the parser's) */
  doc_spec_t *spec;         /* the compiled header, once read */
  docb_t *builder;          /* builds documents from records */
  source_t *src;            /* the input, for progress (borrowed) */
  bool gzip;                /* the input is gzip: progress in compressed
                               bytes */
  bool failed;              /* the job stopped: res->error says why */
  uint64_t next_offset;     /* just past the last record dealt with */
  uint64_t next_line;       /* the physical line there */
  uint64_t docs_handed;     /* documents handed to the writers (parser) */
  uint64_t resume_window;   /* the first this many documents of a resumed
                               job may be ones the interrupted run wrote */
  pthread_mutex_t lock;     /* guards the slots' states, next_seq,
                               settle_seq, settling, quit, res->rejected,
                               res->samples, res->error and failed */
  pthread_cond_t changed;   /* signalled when a slot's state or quit
                               changes */
  job_writer_t *writers;    /* the writers (--inflight of them, or two
                               with ahead) */
  bool ahead;               /* one batch in flight, and the next one
                               prepared meanwhile by a second writer (see
                               job_writer.c) */
  size_t n_writers;         /* how many were set up */
  bool quit;                /* the writers are to finish */
  uint64_t next_seq;        /* the seq of the next batch handed over */
  uint64_t settle_seq;      /* the seq of the next batch to settle */
  bool settling;            /* a writer settles batches (one at a time) */
  bool broken;              /* a batch could not be committed: no mark
                               moves past it (the settling writer's) */
  uint64_t parse_rejected;  /* rows the parser rejected in this run */
  uint64_t server_rejected; /* rows the target refused in settled batches */
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

/* Sets up the job's batches (--inflight + 1; 3 with two writers that
 * prepare ahead) and its writers, and starts
 * their threads (not for a dry run: nothing to overlap, batches are then
 * written inline). Returns false and fills error when it cannot. */
bool job_writer_start(job_ctx_t *ctx, bson_error_t *error);

/* Lets the writers finish what they were handed (or clear it after a
 * failure) and joins them. A no-op when none was started. */
void job_writer_stop(job_ctx_t *ctx);

/* Frees the batches and the writers' own sinks (after job_writer_stop). */
void job_writer_free(job_ctx_t *ctx);

/* Hands the gathered batch to the writers (the parser's side) and takes a
 * free one to fill; waits while --inflight batches are still in flight.
 * Returns false when the job has failed. */
bool job_flush(job_ctx_t *ctx);

/* Hands over what is left and waits until it is written. Returns false
 * when the job has failed. */
bool job_finish_writes(job_ctx_t *ctx);

/* Makes the job's mark at offset durable: rejects synced, the mark
 * committed through sink with the batch just written, the checkpoint
 * recorded. Call from the settling writer, or from the parser once the
 * writers are idle. On failure, *committed (when not NULL) says whether
 * the sink's commit had happened. */
bool job_commit(job_ctx_t *ctx, sink_t *sink, uint64_t offset, uint64_t line,
                uint64_t processed, uint64_t parse_rejected, bool done,
                bool *committed);

/* --- job_records.c: the parser's side ----------------------------------- */

/* Reads the job's CSV range from start (line), header first: the file's
 * first record, --fields, or the top of the file for a later part. */
bool job_read_csv(job_ctx_t *ctx, uint64_t start, uint64_t line);

/* Reads the job's JSON input from start (line). */
bool job_read_json(job_ctx_t *ctx, uint64_t start, uint64_t line);

#endif
