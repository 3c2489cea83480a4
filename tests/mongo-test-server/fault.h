/* Fault injection for reliability tests: --fault SPEC switches that fire on
 * the N-th (or every N-th) insert command the server receives, counted over
 * all connections. */
#ifndef MTS_FAULT_H
#define MTS_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a fault does to the insert it fires on. */
typedef enum {
  FAULT_NONE,        /* nothing: serve the insert */
  FAULT_DROP_BEFORE, /* close the connection without applying the insert */
  FAULT_DROP_AFTER,  /* apply the insert, then close without replying */
  FAULT_ERROR,       /* reply with an error code and apply nothing */
  FAULT_DELAY,       /* wait (code = milliseconds), then serve the insert:
                        past the client's socket timeout, the client gives
                        up while the insert still lands */
  FAULT_WC_ERROR,    /* apply the insert, reply ok: 1 with a
                        writeConcernError of that code */
  FAULT_NOT_PRIMARY  /* reply NotWritablePrimary (10107), apply nothing: a
                        primary that stepped down */
} fault_kind_t;

/* One parsed --fault switch. */
typedef struct {
  fault_kind_t kind; /* what happens */
  uint64_t n;        /* fires on insert number n (1-based), or every n-th */
  bool every;        /* every n-th insert rather than only the n-th */
  int code;          /* FAULT_ERROR, FAULT_WC_ERROR: the error code to
                        answer; FAULT_DELAY: the delay in milliseconds */
} fault_t;

/* All switches and the server-wide insert counter. */
typedef struct {
  fault_t *faults;              /* parsed switches, in command-line order */
  size_t nfaults;               /* number of switches */
  atomic_uint_fast64_t inserts; /* insert commands seen so far */
} fault_set_t;

/* Parses SPEC: drop-before-apply:N, drop-after-apply:N, not-primary:N,
 * error:N:CODE, wc-error:N:CODE, delay:N:MS, and the same with every:
 * before N (KIND:every:N, error:every:N:CODE...). Returns false with a
 * reason in why (why_len bytes) on a bad spec. */
bool fault_parse(const char *spec, fault_t *out, char *why, size_t why_len);

/* Counts one insert command and returns the first switch that fires on it
 * (filling *code for FAULT_ERROR, FAULT_WC_ERROR and FAULT_DELAY), or
 * FAULT_NONE. Thread-safe. */
fault_kind_t fault_on_insert(fault_set_t *set, int *code);

#endif
