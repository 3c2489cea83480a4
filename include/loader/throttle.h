/* throttle: --max-rate, one row budget shared by all workers.
 *
 * Virtual scheduling: every batch reserves its rows' share of time on one
 * shared clock (rows / rate seconds) and waits until its slot comes. The
 * lock is held only to move the clock, never while waiting. */
#ifndef LOADER_THROTTLE_H
#define LOADER_THROTTLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct throttle throttle_t;

/* Creates a throttle of rows_per_sec rows a second across all callers, or
 * returns NULL when out of memory. */
throttle_t *throttle_new(uint64_t rows_per_sec);

/* Waits until rows more rows may go, or until *stop is set. Thread-safe.
 * NULL is a throttle that never waits. */
void throttle_take(throttle_t *throttle, uint64_t rows, atomic_bool *stop);

/* Frees the throttle; NULL is a no-op. */
void throttle_destroy(throttle_t *throttle);

#endif
