/* mark: where a job got to, and its counts up to there.
 *
 * A mark is what --checkpoint records after each acknowledged batch and
 * what a SQL sink commits in the same transaction as the batch, so that a
 * resumed load starts exactly past the last batch that is in the target. */
#ifndef LOADER_MARK_H
#define LOADER_MARK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mark {
  uint64_t offset;    /* resume here: just past the last record dealt with */
  uint64_t line;      /* the physical line at offset */
  uint64_t processed; /* records dealt with up to offset */
  uint64_t inserted;  /* documents inserted up to offset */
  uint64_t updated;   /* documents updated up to offset */
  uint64_t deleted;   /* documents deleted up to offset (--mode delete) */
  uint64_t unmatched; /* rows that deleted nothing up to offset */
  uint64_t rejected;  /* rows rejected up to offset */
  int64_t prior;      /* the collection's count before the first run */
  bool done;          /* the job finished */
} mark_t;

#endif
