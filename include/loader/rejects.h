/* rejects: the CSV file of rejected rows (--rejects PATH).
 *
 * One line per rejected row: file, line, offset, column, reason, record —
 * the physical line where the record starts, its byte offset, the 1-based
 * column (empty when the problem is not one column's) and the raw record as
 * it stood in the file, so it can be fixed and fed again. All workers write
 * to one rejects_t; each row is written whole under a lock. The file is
 * written as "PATH.partial" and renamed into place by rejects_close(), so a
 * reader never sees half of it; it never follows a symlink. */
#ifndef LOADER_REJECTS_H
#define LOADER_REJECTS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rejects rejects_t;

/* Creates "PATH.partial" and writes the header line; with append (--resume)
 * goes on with the rows an interrupted run left in PATH.partial or PATH.
 * Returns NULL and fills error (LOADER_ERROR_IO) when it cannot. */
rejects_t *rejects_open(const char *path, bool append, bson_error_t *error);

/* Pushes the rows written so far to the file (before a checkpoint says
 * they were dealt with). Thread-safe. */
bool rejects_flush(rejects_t *rejects);

/* Appends one rejected row. Thread-safe. column 0 leaves the column empty.
 * Returns false when the write failed (the first failure is kept and
 * reported by rejects_close()). */
bool rejects_write(rejects_t *rejects, const char *file, uint64_t line,
                   uint64_t offset, size_t column, const char *reason,
                   const char *raw, size_t raw_len);

/* Flushes, renames the file into place and frees rejects. Returns false
 * and fills error when any write or the rename failed (the temporary file is
 * then removed). NULL is a no-op that returns true. */
bool rejects_close(rejects_t *rejects, bson_error_t *error);

#endif
