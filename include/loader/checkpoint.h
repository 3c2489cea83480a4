/* checkpoint: where each job of a load got to, so --resume can finish it.
 *
 * The checkpoint file records, for every job, the identity of its input
 * (path, size, modification time, a hash of its first 64 KiB) and, after
 * every acknowledged batch, the byte offset and physical line just past the
 * last record that was dealt with, with the job's counts up to there. It is
 * rewritten whole, atomically (a temporary file, then rename), so a crash
 * leaves either the old or the new version, never half of one.
 *
 * --resume reads it back: a job whose input changed is refused, naming the
 * file; a finished job is not run again; the others continue where their
 * last acknowledged batch ended. */
#ifndef LOADER_CHECKPOINT_H
#define LOADER_CHECKPOINT_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/job.h"

/* One job's progress. */
typedef struct checkpoint_entry {
  uint64_t offset;    /* resume here: just past the last record dealt with */
  uint64_t line;      /* the physical line at offset */
  uint64_t processed; /* records dealt with up to offset */
  uint64_t inserted;  /* documents inserted up to offset */
  uint64_t updated;   /* documents updated up to offset */
  uint64_t rejected;  /* rows rejected up to offset */
  int64_t prior;      /* the collection's count before the first run */
  bool done;          /* the job finished */
} checkpoint_entry_t;

typedef struct checkpoint checkpoint_t;

/* Opens the checkpoint at path for jobs[0..n_jobs). With resume, reads it
 * and checks every input against its recorded identity; otherwise starts
 * afresh (the file is written at the first checkpoint_put()). Returns NULL
 * and fills error (LOADER_ERROR_USAGE) when the file cannot be read, was
 * made for other jobs, or an input changed since. */
checkpoint_t *checkpoint_open(const char *path, const job_t *jobs,
                              size_t n_jobs, bool resume, bson_error_t *error);

/* Stores job's recorded progress in *entry and returns true, or returns
 * false when the job has none (start from the beginning). */
bool checkpoint_get(checkpoint_t *cp, size_t job, checkpoint_entry_t *entry);

/* Records job's progress and rewrites the file. Thread-safe. Returns false
 * and fills error when the file cannot be written. */
bool checkpoint_put(checkpoint_t *cp, size_t job,
                    const checkpoint_entry_t *entry, bson_error_t *error);

/* Frees cp; NULL is a no-op. The file stays. */
void checkpoint_destroy(checkpoint_t *cp);

#endif
