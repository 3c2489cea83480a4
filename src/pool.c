/* pool: a fixed set of pthreads taking tasks from one bounded queue.
 *
 * The pipeline. The main thread is the only producer: it submits one task
 * per job. The workers are the consumers: each takes the oldest task, runs
 * it to completion with no lock held, and takes the next. The queue is a
 * ring of fixed capacity, so a producer with many more jobs than workers
 * blocks in pool_submit() instead of queueing without bound (the jobs' own
 * memory, not the queue, is what is bounded by this: a queued task is a
 * pointer).
 *
 * Stopping. pool_destroy() waits until the queue is drained, then queues one
 * poison task per worker (a NULL function): a worker that takes one exits.
 * Every worker is joined before the pool is freed.
 *
 * Locking. One mutex guards the queue and the counters; two condition
 * variables say "not empty" (for workers) and "not full / all done" (for the
 * producer). No lock is held while a task runs, no two locks are ever held,
 * and signals are sent after unlocking. A task reports failure in its own
 * argument; the pool never fails because a task did. */
#include "loader/pool.h"
#include "loader/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_task {
  pool_task_fn fn; /* what to run; NULL is the poison task */
  void *arg;       /* its argument */
} pool_task_t;

struct pool {
  pthread_mutex_t lock;    /* guards everything below */
  pthread_cond_t has_task; /* signalled when a task is queued */
  pthread_cond_t has_room; /* signalled when a task is taken or finished */
  pool_task_t *ring;       /* the queue, capacity entries */
  size_t capacity;         /* size of ring */
  size_t head;             /* index of the oldest queued task */
  size_t queued;           /* tasks in the ring */
  size_t running;          /* tasks being run by workers */
  bool closing;            /* pool_destroy() has begun: no more submits */
  pthread_t *threads;      /* the workers */
  size_t n_threads;        /* how many were started */
};

/* Queues a task; the caller holds the lock and has checked for room. */
static void pool__push(pool_t *pool, pool_task_fn fn, void *arg)
{
  size_t tail = (pool->head + pool->queued) % pool->capacity;
  pool->ring[tail] = (pool_task_t){fn, arg};
  pool->queued++;
}

static void *pool__worker(void *p)
{
  pool_t *pool = p;
  for (;;) {
    pthread_mutex_lock(&pool->lock);
    while (pool->queued == 0)
      pthread_cond_wait(&pool->has_task, &pool->lock);
    pool_task_t task = pool->ring[pool->head];
    pool->head = (pool->head + 1) % pool->capacity;
    pool->queued--;
    if (task.fn)
      pool->running++;
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_broadcast(&pool->has_room);
    if (!task.fn)
      return NULL; /* poison */

    task.fn(task.arg);

    pthread_mutex_lock(&pool->lock);
    pool->running--;
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_broadcast(&pool->has_room);
  }
}

pool_t *pool_new(size_t n_threads, size_t queue_capacity, bson_error_t *error)
{
  if (n_threads == 0)
    n_threads = 1;
  if (queue_capacity < n_threads)
    queue_capacity = n_threads; /* room for every poison task */
  pool_t *pool = calloc(1, sizeof *pool);
  if (!pool)
    goto out_oom;
  pool->ring = calloc(queue_capacity, sizeof *pool->ring);
  pool->threads = calloc(n_threads, sizeof *pool->threads);
  if (!pool->ring || !pool->threads) {
    free(pool->ring);
    free(pool->threads);
    free(pool);
    goto out_oom;
  }
  pool->capacity = queue_capacity;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->has_task, NULL);
  pthread_cond_init(&pool->has_room, NULL);
  for (size_t i = 0; i < n_threads; i++) {
    int rc = pthread_create(&pool->threads[i], NULL, pool__worker, pool);
    if (rc != 0) {
      bson_set_error(error, LOADER_ERROR_IO, (uint32_t)rc,
                     "cannot start worker thread: %s", strerror(rc));
      pool_destroy(pool);
      return NULL;
    }
    pool->n_threads++;
  }
  return pool;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
  return NULL;
}

bool pool_submit(pool_t *pool, pool_task_fn fn, void *arg)
{
  if (!fn)
    return false;
  pthread_mutex_lock(&pool->lock);
  while (pool->queued == pool->capacity && !pool->closing)
    pthread_cond_wait(&pool->has_room, &pool->lock);
  if (pool->closing) {
    pthread_mutex_unlock(&pool->lock);
    return false;
  }
  pool__push(pool, fn, arg);
  pthread_mutex_unlock(&pool->lock);
  pthread_cond_signal(&pool->has_task);
  return true;
}

void pool_wait(pool_t *pool)
{
  pthread_mutex_lock(&pool->lock);
  while (pool->queued > 0 || pool->running > 0)
    pthread_cond_wait(&pool->has_room, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}

size_t pool_size(const pool_t *pool)
{
  return pool->n_threads;
}

void pool_destroy(pool_t *pool)
{
  if (!pool)
    return;
  pool_wait(pool);
  pthread_mutex_lock(&pool->lock);
  pool->closing = true;
  /* The queue is empty and capacity >= n_threads: the poison fits. */
  for (size_t i = 0; i < pool->n_threads; i++)
    pool__push(pool, NULL, NULL);
  pthread_mutex_unlock(&pool->lock);
  pthread_cond_broadcast(&pool->has_task);
  pthread_cond_broadcast(&pool->has_room);
  for (size_t i = 0; i < pool->n_threads; i++)
    pthread_join(pool->threads[i], NULL);
  pthread_cond_destroy(&pool->has_task);
  pthread_cond_destroy(&pool->has_room);
  pthread_mutex_destroy(&pool->lock);
  free(pool->ring);
  free(pool->threads);
  free(pool);
}
