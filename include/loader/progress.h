/* progress: what the running jobs are doing, drawn for a person.
 *
 * Workers never print. Each job stores a few counters (bytes read, rows,
 * rejected rows) into its slot with relaxed atomic stores after every
 * batch; one thread of the progress module wakes a few times a second,
 * reads them, and redraws one line per job on stderr — or, in plain mode
 * (for CI logs), prints a line per job every few seconds. progress_stop()
 * clears the lines so the final report replaces them. */
#ifndef LOADER_PROGRESS_H
#define LOADER_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum progress_style {
  PROGRESS_OFF,   /* nothing */
  PROGRESS_TTY,   /* lines redrawn in place, a few times a second */
  PROGRESS_PLAIN, /* plain lines every few seconds */
} progress_style_t;

typedef struct progress progress_t;

/* One job's counters, written by its worker. */
typedef struct progress_slot progress_slot_t;

/* Creates the display for n_jobs jobs, labelled by labels[i], of sizes[i]
 * bytes (0: unknown). Returns NULL when style is PROGRESS_OFF or when out
 * of memory; every function accepts NULL and does nothing. */
progress_t *progress_new(progress_style_t style, FILE *out, size_t n_jobs,
                         const char *const *labels, const uint64_t *sizes);

/* Returns job's slot (NULL for a NULL progress). */
progress_slot_t *progress_slot(progress_t *progress, size_t job);

/* Records a job's counters. Thread-safe, lock-free. NULL is a no-op. */
void progress_update(progress_slot_t *slot, uint64_t bytes, uint64_t rows,
                     uint64_t rejected, bool done);

/* Starts drawing (a thread). */
void progress_start(progress_t *progress);

/* Stops drawing, clears the lines, frees the display. */
void progress_stop(progress_t *progress);

#endif
