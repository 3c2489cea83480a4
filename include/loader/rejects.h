/* rejects: the CSV file of rejected rows (--rejects PATH).
 *
 * One line per rejected row: file, line, offset, column, reason, record —
 * the physical line where the record starts, its byte offset, the 1-based
 * column (empty when the problem is not one column's) and the raw record as
 * it stood in the file, so it can be fixed and fed again. All workers write
 * to one rejects_t; each row is written whole under a lock. The file is
 * written as "PATH.partial" and renamed into place by rejects_close(), so a
 * reader never sees half of it; it never follows a symlink.
 *
 * Nothing written is ever deleted: after a failed write the file stays as
 * PATH.partial, with every row written before the failure.
 *
 * Exactly once across --resume: a job syncs the file (rejects_sync) before
 * each checkpoint, so every row below a checkpointed offset is on disk; a
 * resumed run rewrites the file keeping only those rows (rejects_open's
 * keep callback) and then writes the rest again as it meets them. */
#ifndef LOADER_REJECTS_H
#define LOADER_REJECTS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rejects rejects_t;

/* Decides whether a row of an interrupted run's rejects file stays: the
 * row of file at byte offset. ctx is rejects_open()'s keep_ctx. */
typedef bool (*rejects_keep_fn)(void *ctx, const char *file, uint64_t offset);

/* Creates "PATH.partial" and writes the header line. With keep (--resume),
 * goes on with the rows an interrupted run left in PATH.partial or PATH:
 * the file is first rewritten (atomically) with only the complete rows
 * keep() accepts; a row cut short by a crash is dropped. Returns NULL and
 * fills error (LOADER_ERROR_IO, naming the file) when it cannot; an
 * existing file is then left as it was. */
rejects_t *rejects_open(const char *path, rejects_keep_fn keep, void *keep_ctx,
                        bson_error_t *error);

/* Appends one rejected row. Thread-safe. column 0 leaves the column empty.
 * Returns false and fills error (naming the file and the OS error) when
 * the row could not be written; every later write then fails the same way
 * (the row may be partly in the file: a resumed run drops it). */
bool rejects_write(rejects_t *rejects, const char *file, uint64_t line,
                   uint64_t offset, size_t column, const char *reason,
                   const char *raw, size_t raw_len, bson_error_t *error);

/* Makes every row written so far durable (fflush and fsync), if any was
 * written since the last call. Thread-safe. Returns false and fills error
 * as rejects_write(). */
bool rejects_sync(rejects_t *rejects, bson_error_t *error);

/* Flushes, renames the file into place and frees rejects. Returns false
 * and fills error when any write or the rename failed; the rows written
 * are then kept in PATH.partial (the message says so). NULL is a no-op that
 * returns true. */
bool rejects_close(rejects_t *rejects, bson_error_t *error);

#endif
