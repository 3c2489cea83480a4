/* job: one (collection, file) load, from bytes to the database.
 *
 * job_run() wires the stages of one job: source -> csv_reader ->
 * doc_builder -> batch -> sink, and fills the job's result. It is the same
 * function whether the main thread calls it (linear) or a pool worker does
 * (parallel), which is what makes the comparison fair. It never prints:
 * everything it has to say goes into the result. */
#ifndef LOADER_JOB_H
#define LOADER_JOB_H

#include <bson/bson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "loader/csv_reader.h"
#include "loader/doc_builder.h"
#include "loader/job_spec.h"
#include "loader/rejects.h"
#include "loader/progress.h"
#include "loader/throttle.h"
#include "loader/sink.h"

/* How many rejected rows a job describes in its result; the rest are only
 * counted. */
#define JOB_REJECT_SAMPLES 5

/* --max-errors P% is judged once a job has read this many rows (before,
 * one bad row among the first few would be a large share), and at the end
 * of the job whatever its size. */
#define JOB_RATIO_MIN_ROWS 1000

/* One rejected row, described for a person. */
typedef struct job_reject {
  uint64_t line;    /* physical line where the record starts */
  size_t column;    /* 1-based column, or 0 */
  char reason[256]; /* why it was rejected */
} job_reject_t;

/* What one job did: the tuple (processed, prior, post, elapsed) and the
 * accounting around it. processed = inserted + updated + deleted +
 * unmatched + rejected (+ unwritten, after --stop-on-error stopped the job)
 * always; post - prior = inserted - deleted unless someone else wrote to the
 * collection meanwhile. */
typedef struct job_result {
  uint64_t processed;   /* data records read (the header not counted) */
  uint64_t inserted;    /* documents the database acknowledged */
  uint64_t updated;     /* documents that replaced or updated existing
                           ones (--mode upsert/merge) */
  uint64_t deleted;     /* documents deleted (--mode delete) */
  uint64_t unmatched;   /* --mode delete: rows whose upsert fields matched
                           no document */
  uint64_t unwritten;   /* --stop-on-error: rows read but not written
                           because the job stopped before them */
  uint64_t stop_line;   /* --stop-on-error: the line of the row whose
                           refusal stopped the job, or 0 */
  uint64_t retries;     /* batch writes retried after transient errors */
  uint64_t wc_errors;   /* batches the target applied without satisfying
                           the write concern (writeConcernError) */
  char wc_message[128]; /* the first one's code and message */
  uint64_t rejected;    /* records refused, by the loader or the database */
  uint64_t bytes;       /* input bytes read */
  uint64_t empty_lines; /* empty lines skipped */
  int64_t prior;        /* documents in the collection before, or -1 */
  int64_t post;         /* documents in the collection after, or -1 */
  double elapsed_s;     /* wall time of the job */
  uint64_t next_line;   /* where a --resume would continue: the line
                           after the last record dealt with */
  bool resumed;         /* the job continued a checkpointed one */
  bool ok;              /* false: the job stopped early, see error */
  bson_error_t error;   /* why the job stopped, when !ok */
  job_reject_t samples[JOB_REJECT_SAMPLES]; /* the first rejected rows */
  size_t n_samples;                         /* entries used in samples */
} job_result_t;

/* What every job of a run shares. */
typedef struct job_env {
  sink_factory_t *sinks;         /* where documents go */
  const csv_dialect_t *dialect;  /* how to read the files */
  const doc_options_t *doc;      /* how to build the documents */
  size_t batch_docs;             /* documents per batch */
  size_t batch_bytes;            /* bytes per batch */
  unsigned inflight;             /* batches a job may have on the wire at
                                    once (--inflight; 1 for targets and
                                    modes that need order) */
  uint64_t resume_window;        /* --resume: how many documents past its
                                    mark each job of the interrupted run may
                                    have sent (its --inflight batches) */
  atomic_bool *stop;             /* set when the run must stop (a signal) */
  rejects_t *rejects;            /* where rejected rows are written, or NULL */
  struct checkpoint *checkpoint; /* where progress is recorded, or NULL */
  bool resuming;                 /* --resume: any job's first batches may be
                                    ones the interrupted run sent before it
                                    could record a mark */
  throttle_t *throttle;          /* --max-rate, or NULL */
  progress_t *progress;          /* the progress display, or NULL */
  double max_errors_ratio;       /* a job stops when more than this fraction
                                    of the rows it has read are rejected
                                    (from JOB_RATIO_MIN_ROWS rows on, and at
                                    its end); 0: never */
  uint64_t max_errors;           /* a job stops when it has rejected more
                                    rows than this (UINT64_MAX: never) */
  bool stop_on_error;            /* --stop-on-error: the first row the
                                    target refuses stops the job (batches
                                    are ordered writes, one at a time) */
  unsigned retries;              /* retries of a batch after a transient
                                    error */
  unsigned retry_max_wait_ms;    /* cap of the exponential backoff */
  const field_t *fields;         /* column names given on the command line
                                    (--fields), or NULL: the first record of
                                    each file is its header */
  size_t n_fields;               /* how many */
} job_env_t;

/* Returns how many documents past its mark a job run with env may have
 * written when it is interrupted: those of every batch handed to its
 * writers and not yet settled. With one writer that is the batch being
 * written; with K, K + 1 batches (a writer whose batch was acknowledged
 * takes the next one before the first is settled). */
uint64_t job_window(const job_env_t *env);

/* Returns load's env made to run a job again against checker (see
 * sink_factory_checker()), as --verify and --index do after the load: the
 * same dialect, documents and batches, and nothing of the load's own
 * bookkeeping (no checkpoint or resume, rejects file, progress, rate limit,
 * error budget or stop on error). */
job_env_t job_env_rerun(const job_env_t *load, sink_factory_t *checker);

/* Runs job against env and fills *result. Never fails as a call: a job
 * that cannot finish says so in result->ok and result->error. */
void job_run(const job_t *job, const job_env_t *env, job_result_t *result);

#endif
