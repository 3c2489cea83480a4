/* Retryable writes: what mongod keeps per logical session so that a write
 * sent again with the same (lsid, txnNumber) — a driver retrying after a
 * lost reply — is answered with its first result instead of being applied
 * twice. Per session only the newest txnNumber and its reply are kept; at
 * most RETRY_MAX_SESSIONS sessions are remembered, the least recently used
 * idle one forgotten first. A session is checked out while one of its
 * writes runs, so a retry that arrives while the first attempt still runs
 * waits for it, as on mongod. */
#ifndef MTS_RETRY_H
#define MTS_RETRY_H

#include <bson/bson.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most sessions remembered at once. */
#define RETRY_MAX_SESSIONS 10000

/* One remembered session (opaque). */
typedef struct retry_session retry_session_t;

/* The sessions, by lsid. */
typedef struct {
  pthread_mutex_t lock;       /* guards everything below */
  retry_session_t **buckets;  /* hash chains; RETRY_BUCKETS of them */
  retry_session_t *lru_first; /* most recently used */
  retry_session_t *lru_last;  /* least recently used */
  size_t count;               /* sessions remembered */
} retry_table_t;

/* What to do with a write carrying a txnNumber. */
typedef enum {
  RETRY_RUN,    /* a new txnNumber, or the last attempt recorded nothing:
                   run it */
  RETRY_REPLAY, /* already run: answer with the recorded reply */
  RETRY_TOO_OLD /* a newer txnNumber already started: TransactionTooOld */
} retry_verdict_t;

/* Initialises an empty table; false on OOM. */
bool retry_init(retry_table_t *t);

/* Frees every session. No session may be checked out. */
void retry_cleanup(retry_table_t *t);

/* Checks out the session identified by lsid (its BSON bytes), creating it
 * when new; waits while another command has it. NULL on OOM. */
retry_session_t *retry_checkout(retry_table_t *t, const bson_t *lsid);

/* Returns a session retry_checkout() gave. */
void retry_checkin(retry_table_t *t, retry_session_t *s);

/* Decides what a write with txnNumber txn does on checked-out session s.
 * RETRY_REPLAY sets *reply to the recorded reply (valid until checkin);
 * RETRY_TOO_OLD sets *newest to the session's newest txnNumber. A RUN
 * makes txn the session's newest and forgets the previous reply. */
retry_verdict_t retry_begin(retry_session_t *s, int64_t txn,
                            const bson_t **reply, int64_t *newest);

/* Records reply as the result of txn (the session's newest). */
void retry_record(retry_session_t *s, int64_t txn, const bson_t *reply);

#endif
