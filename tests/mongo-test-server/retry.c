/* Retryable writes' memory. See retry.h. */
#include "retry.h"

#include <stdlib.h>
#include <string.h>

/* Hash chains in a table (a power of two). */
#define RETRY_BUCKETS 4096

struct retry_session {
  uint64_t hash;          /* hash of key */
  uint8_t *key;           /* the lsid document's bytes */
  uint32_t keylen;        /* their length */
  int users;              /* checkouts and waiters; under the table lock */
  pthread_mutex_t run;    /* held while checked out */
  int64_t txn;            /* newest txnNumber started; -1 none */
  bson_t *reply;          /* its recorded reply, or NULL */
  retry_session_t *chain; /* next in its hash chain */
  retry_session_t *prev;  /* LRU list, towards lru_first */
  retry_session_t *next;  /* LRU list, towards lru_last */
};

/* FNV-1a over len bytes. */
static uint64_t hash_bytes(const uint8_t *p, size_t len)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

bool retry_init(retry_table_t *t)
{
  memset(t, 0, sizeof *t);
  t->buckets = calloc(RETRY_BUCKETS, sizeof *t->buckets);
  if (!t->buckets)
    return false;
  pthread_mutex_init(&t->lock, NULL);
  return true;
}

/* Frees one session. */
static void session_free(retry_session_t *s)
{
  pthread_mutex_destroy(&s->run);
  if (s->reply)
    bson_destroy(s->reply);
  free(s->key);
  free(s);
}

void retry_cleanup(retry_table_t *t)
{
  if (!t->buckets)
    return;
  for (retry_session_t *s = t->lru_first, *next; s; s = next) {
    next = s->next;
    session_free(s);
  }
  free(t->buckets);
  t->buckets = NULL;
  pthread_mutex_destroy(&t->lock);
}

/* Unlinks s from the LRU list. Under the table lock. */
static void lru_unlink(retry_table_t *t, retry_session_t *s)
{
  if (s->prev)
    s->prev->next = s->next;
  else
    t->lru_first = s->next;
  if (s->next)
    s->next->prev = s->prev;
  else
    t->lru_last = s->prev;
  s->prev = s->next = NULL;
}

/* Puts s first in the LRU list. Under the table lock. */
static void lru_push(retry_table_t *t, retry_session_t *s)
{
  s->prev = NULL;
  s->next = t->lru_first;
  if (t->lru_first)
    t->lru_first->prev = s;
  t->lru_first = s;
  if (!t->lru_last)
    t->lru_last = s;
}

/* Forgets idle sessions, least recently used first, until fewer than
 * RETRY_MAX_SESSIONS remain. Under the table lock. */
static void evict(retry_table_t *t)
{
  retry_session_t *s = t->lru_last;
  while (s && t->count >= RETRY_MAX_SESSIONS) {
    retry_session_t *prev = s->prev;
    if (s->users == 0) {
      retry_session_t **link = &t->buckets[s->hash & (RETRY_BUCKETS - 1)];
      while (*link != s)
        link = &(*link)->chain;
      *link = s->chain;
      lru_unlink(t, s);
      session_free(s);
      t->count--;
    }
    s = prev;
  }
}

retry_session_t *retry_checkout(retry_table_t *t, const bson_t *lsid)
{
  const uint8_t *key = bson_get_data(lsid);
  uint64_t h = hash_bytes(key, lsid->len);
  retry_session_t *s;
  pthread_mutex_lock(&t->lock);
  retry_session_t **bucket = &t->buckets[h & (RETRY_BUCKETS - 1)];
  for (s = *bucket; s; s = s->chain)
    if (s->hash == h && s->keylen == lsid->len &&
        !memcmp(s->key, key, lsid->len))
      break;
  if (s) {
    lru_unlink(t, s);
  } else {
    evict(t);
    s = calloc(1, sizeof *s);
    if (s)
      s->key = malloc(lsid->len);
    if (!s || !s->key) {
      free(s);
      pthread_mutex_unlock(&t->lock);
      return NULL;
    }
    memcpy(s->key, key, lsid->len);
    s->keylen = lsid->len;
    s->hash = h;
    s->txn = -1;
    pthread_mutex_init(&s->run, NULL);
    s->chain = *bucket;
    *bucket = s;
    t->count++;
  }
  lru_push(t, s);
  s->users++;
  pthread_mutex_unlock(&t->lock);
  pthread_mutex_lock(&s->run);
  return s;
}

void retry_checkin(retry_table_t *t, retry_session_t *s)
{
  pthread_mutex_unlock(&s->run);
  pthread_mutex_lock(&t->lock);
  s->users--;
  pthread_mutex_unlock(&t->lock);
}

retry_verdict_t retry_begin(retry_session_t *s, int64_t txn,
                            const bson_t **reply, int64_t *newest)
{
  if (txn < s->txn) {
    *newest = s->txn;
    return RETRY_TOO_OLD;
  }
  if (txn == s->txn && s->reply) {
    *reply = s->reply;
    return RETRY_REPLAY;
  }
  s->txn = txn;
  if (s->reply) {
    bson_destroy(s->reply);
    s->reply = NULL;
  }
  return RETRY_RUN;
}

void retry_record(retry_session_t *s, int64_t txn, const bson_t *reply)
{
  if (txn != s->txn)
    return;
  if (s->reply)
    bson_destroy(s->reply);
  s->reply = bson_copy(reply);
}
