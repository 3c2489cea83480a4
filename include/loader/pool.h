/* pool: a fixed set of pthreads taking tasks from one bounded queue.
 *
 * The pool knows nothing of CSV or databases: a task is a function and a
 * void * argument. pool_submit() blocks while the queue is full, so a
 * producer can never run ahead of the workers by more than the queue's
 * capacity. pool_destroy() lets the queued tasks finish, sends each worker a
 * poison task and joins them all. A task that fails records the failure in
 * its own argument; the pool carries on. */
#ifndef LOADER_POOL_H
#define LOADER_POOL_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

typedef void (*pool_task_fn)(void *arg);

typedef struct pool pool_t;

/* Starts n_threads workers (at least 1) over a queue of queue_capacity
 * tasks (at least 1). Returns NULL and fills error when a thread cannot be
 * started; the threads already started are stopped and joined. */
pool_t *pool_new(size_t n_threads, size_t queue_capacity, bson_error_t *error);

/* Queues fn(arg), blocking while the queue is full. Returns false when the
 * pool is shutting down (the task is not queued). */
bool pool_submit(pool_t *pool, pool_task_fn fn, void *arg);

/* Blocks until every task submitted so far has finished. */
void pool_wait(pool_t *pool);

/* Returns the number of worker threads. */
size_t pool_size(const pool_t *pool);

/* Finishes the queued tasks, stops and joins the workers, frees the pool.
 * NULL is a no-op. */
void pool_destroy(pool_t *pool);

#endif
