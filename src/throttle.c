/* throttle: --max-rate, one row budget shared by all workers. */
#include "loader/throttle.h"
#include "loader/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct throttle {
  pthread_mutex_t lock; /* guards next */
  double rate;          /* rows a second */
  double next;          /* when the next row may go (util_now() clock) */
};

throttle_t *throttle_new(uint64_t rows_per_sec)
{
  throttle_t *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  pthread_mutex_init(&t->lock, NULL);
  t->rate = (double)rows_per_sec;
  t->next = util_now();
  return t;
}

void throttle_take(throttle_t *t, uint64_t rows, atomic_bool *stop)
{
  if (!t || rows == 0)
    return;
  double now = util_now();
  pthread_mutex_lock(&t->lock);
  /* A budget unused for a while is not saved up beyond one second. */
  if (t->next < now - 1.0)
    t->next = now - 1.0;
  double slot = t->next;
  t->next += (double)rows / t->rate;
  pthread_mutex_unlock(&t->lock);
  while (slot > now && !(stop && atomic_load(stop))) {
    double wait = slot - now;
    if (wait > 0.05)
      wait = 0.05; /* wake to notice a stop */
    struct timespec ts = {(time_t)wait,
                          (long)((wait - (double)(time_t)wait) * 1e9)};
    nanosleep(&ts, NULL);
    now = util_now();
  }
}

void throttle_destroy(throttle_t *t)
{
  if (!t)
    return;
  pthread_mutex_destroy(&t->lock);
  free(t);
}
