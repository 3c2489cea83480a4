/* checkpoint: where each job of a load got to, so --resume can finish it.
 *
 * The checkpoint file records the plan of the load — the target (without
 * credentials), the database, every option that changes documents or where
 * records start, and every job: its collection, file, byte range and the
 * file's identity (size, modification time, a hash of its first 64 KiB) —
 * and, after every acknowledged batch, each job's mark: the byte offset and
 * physical line just past the last record dealt with, and its counts up to
 * there. It is rewritten whole, atomically (a temporary file, fsync, then
 * rename), so a crash leaves either the old or the new version.
 *
 * --resume reads it back and refuses (LOADER_ERROR_USAGE, naming what
 * changed) a command whose plan differs in anything; otherwise a finished
 * job is not run again and the others continue at their mark. */
#ifndef LOADER_CHECKPOINT_H
#define LOADER_CHECKPOINT_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/job_spec.h"
#include "loader/mark.h"

typedef struct checkpoint checkpoint_t;

/* Opens the checkpoint at path for jobs[0..n_jobs); settings holds the
 * plan's target, database and options, each a string (copied). With
 * resume, reads the file and compares its plan with this one; otherwise
 * starts afresh (the file is written by checkpoint_save() or the first
 * checkpoint_put()).
 * Returns NULL and fills error (LOADER_ERROR_USAGE) when the file cannot
 * be read, is not a checkpoint, or was made for another plan — the message
 * names the first difference. */
checkpoint_t *checkpoint_open(const char *path, const bson_t *settings,
                              const job_t *jobs, size_t n_jobs, bool resume,
                              bson_error_t *error);

/* Returns how many documents past its mark each job of the interrupted run
 * may have sent (its batches in flight), or 0 when the file does not say
 * (--resume; written by a loader that sent one batch at a time). */
uint64_t checkpoint_window(const checkpoint_t *cp);

/* Sets how many documents past its mark each job of this run may send
 * (the file keeps the interrupted run's window when it is larger). Call
 * before the jobs run. */
void checkpoint_set_window(checkpoint_t *cp, uint64_t docs);

/* Stores job's recorded mark in *mark and returns true, or returns false
 * when the job has none (start from the beginning). Thread-safe. */
bool checkpoint_get(checkpoint_t *cp, size_t job, mark_t *mark);

/* Takes mark for job when it is further than what the file recorded (a
 * SQL target committed it with its batch just before a crash). Call before
 * the jobs run. Returns whether it was taken. */
bool checkpoint_adopt(checkpoint_t *cp, size_t job, const mark_t *mark);

/* Returns the key under which job's mark is committed in the target: the
 * same for every run of the same plan, different for any other plan. */
const char *checkpoint_key(const checkpoint_t *cp, size_t job);

/* Returns true when the row of file at offset lies below its job's mark:
 * an interrupted run dealt with it and a resumed one will not meet it again
 * (for the rejects file's rewrite). Rows of files not in the plan stay. */
bool checkpoint_covers(void *cp, const char *file, uint64_t offset);

/* Records job's mark and rewrites the file. Thread-safe. Returns false and
 * fills error (naming the file and the OS error) when the file cannot be
 * written; the previous version of the file is then still in place. */
bool checkpoint_put(checkpoint_t *cp, size_t job, const mark_t *mark,
                    bson_error_t *error);

/* Writes the file as it stands (the plan, the window, the marks so far),
 * before the jobs run: a load stopped before its first mark still leaves
 * a checkpoint that --resume can take. Returns false and fills error as
 * checkpoint_put(). */
bool checkpoint_save(checkpoint_t *cp, bson_error_t *error);

/* Frees cp; NULL is a no-op. The file stays. */
void checkpoint_destroy(checkpoint_t *cp);

#endif
