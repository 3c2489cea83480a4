/* Unit tests of pool: every task runs exactly once whatever the number of
 * threads and the queue's capacity, pool_wait() waits for all, and
 * pool_destroy() finishes what is queued. Each task writes only its own
 * slot; the main thread reads the slots after pool_wait()/pool_destroy(),
 * whose locking orders the accesses (clean under ThreadSanitizer). */
#define _GNU_SOURCE 1

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "loader/pool.h"

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

/* Task: increments its own counter. */
static void inc_task(void *arg)
{
  int *slot = arg;
  (*slot)++;
}

/* Submits n increments to pool and checks each ran exactly once. */
static void run_increments(pool_t *pool, size_t n, bool wait_first)
{
  int *slots = calloc(n, sizeof *slots);
  assert_non_null(slots);
  for (size_t i = 0; i < n; i++)
    assert_true(pool_submit(pool, inc_task, &slots[i]));
  if (wait_first)
    pool_wait(pool);
  else
    pool_destroy(pool);
  for (size_t i = 0; i < n; i++)
    if (slots[i] != 1)
      fail_msg("task %zu ran %d times", i, slots[i]);
  if (wait_first)
    pool_destroy(pool);
  free(slots);
}

static void test_many_tiny_tasks(void **state)
{
  (void)state;
  bson_error_t e;
  pool_t *pool = pool_new(4, 16, &e);
  assert_non_null(pool);
  assert_int_equal(pool_size(pool), 4);
  run_increments(pool, 10000, true);
}

static void test_capacity_one_eight_threads(void **state)
{
  (void)state;
  bson_error_t e;
  pool_t *pool = pool_new(8, 1, &e);
  assert_non_null(pool);
  assert_int_equal(pool_size(pool), 8);
  run_increments(pool, 5000, true);
}

static void test_one_thread_capacity_one(void **state)
{
  (void)state;
  bson_error_t e;
  pool_t *pool = pool_new(1, 1, &e);
  assert_non_null(pool);
  run_increments(pool, 2000, true);
}

static void test_sizes(void **state)
{
  (void)state;
  bson_error_t e;
  pool_t *pool = pool_new(0, 0, &e);
  assert_non_null(pool);
  assert_int_equal(pool_size(pool), 1);
  pool_destroy(pool);
  pool = pool_new(3, 100, &e);
  assert_non_null(pool);
  assert_int_equal(pool_size(pool), 3);
  pool_destroy(pool);
}

static void test_destroy_null_and_idle(void **state)
{
  (void)state;
  pool_destroy(NULL);
  bson_error_t e;
  pool_t *pool = pool_new(4, 4, &e);
  assert_non_null(pool);
  pool_wait(pool); /* nothing submitted: returns */
  pool_destroy(pool);
}

static void test_submit_null_fn(void **state)
{
  (void)state;
  bson_error_t e;
  pool_t *pool = pool_new(2, 2, &e);
  assert_false(pool_submit(pool, NULL, NULL));
  pool_destroy(pool);
}

/* Task: sleeps a little, then marks its slot. */
static void slow_task(void *arg)
{
  sleep_ms(2);
  int *slot = arg;
  (*slot)++;
}

static void test_destroy_runs_queued_tasks(void **state)
{
  (void)state;
  bson_error_t e;
  enum { N = 64 };
  int slots[N] = {0};
  pool_t *pool = pool_new(2, N, &e);
  assert_non_null(pool);
  for (size_t i = 0; i < N; i++)
    assert_true(pool_submit(pool, slow_task, &slots[i]));
  /* Most tasks are still queued here. */
  pool_destroy(pool);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(slots[i], 1);
}

static void test_destroy_without_wait_many(void **state)
{
  (void)state;
  bson_error_t e;
  pool_t *pool = pool_new(3, 8, &e);
  assert_non_null(pool);
  run_increments(pool, 3000, false);
}

/* A gate that holds tasks until opened. */
typedef struct gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool open;
  int order[16]; /* task ids in the order they ran (one worker) */
  int n_ran;
} gate_t;

typedef struct gated {
  gate_t *gate;
  int id;
} gated_t;

static void gated_task(void *arg)
{
  gated_t *t = arg;
  gate_t *g = t->gate;
  pthread_mutex_lock(&g->lock);
  while (!g->open)
    pthread_cond_wait(&g->cond, &g->lock);
  g->order[g->n_ran++] = t->id;
  pthread_mutex_unlock(&g->lock);
}

typedef struct producer {
  pool_t *pool;
  gated_t *tasks;
  int first, n;
  atomic_int submitted; /* how many pool_submit() calls have returned */
  bool all_ok;
} producer_t;

static void *producer_main(void *arg)
{
  producer_t *p = arg;
  p->all_ok = true;
  for (int i = p->first; i < p->first + p->n; i++) {
    if (!pool_submit(p->pool, gated_task, &p->tasks[i]))
      p->all_ok = false;
    atomic_fetch_add(&p->submitted, 1);
  }
  return NULL;
}

static void test_producer_blocks_on_full_queue(void **state)
{
  (void)state;
  bson_error_t e;
  gate_t g = {.lock = PTHREAD_MUTEX_INITIALIZER,
              .cond = PTHREAD_COND_INITIALIZER};
  gated_t tasks[6];
  for (int i = 0; i < 6; i++)
    tasks[i] = (gated_t){&g, i};
  /* One worker, room for one queued task. */
  pool_t *pool = pool_new(1, 1, &e);
  assert_non_null(pool);

  producer_t p = {.pool = pool, .tasks = tasks, .first = 0, .n = 6};
  atomic_init(&p.submitted, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, producer_main, &p), 0);
  /* Task 0 runs (held at the gate), task 1 fills the queue, the submit of
   * task 2 must block until the gate opens. */
  for (int i = 0; i < 200 && atomic_load(&p.submitted) < 2; i++)
    sleep_ms(5);
  assert_int_equal(atomic_load(&p.submitted), 2);
  sleep_ms(50);
  assert_int_equal(atomic_load(&p.submitted), 2);

  pthread_mutex_lock(&g.lock);
  g.open = true;
  pthread_mutex_unlock(&g.lock);
  pthread_cond_broadcast(&g.cond);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_true(p.all_ok);
  pool_wait(pool);
  pool_destroy(pool);
  /* One worker: FIFO order. */
  assert_int_equal(g.n_ran, 6);
  for (int i = 0; i < 6; i++)
    assert_int_equal(g.order[i], i);
}

/* pool_wait() returns only when queued and running tasks are done, round
 * after round on the same pool. */
static void test_wait_waits_for_running(void **state)
{
  (void)state;
  bson_error_t e;
  enum { N = 12 };
  int slots[N] = {0};
  pool_t *pool = pool_new(4, 2, &e);
  assert_non_null(pool);
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < N; i++)
      assert_true(pool_submit(pool, slow_task, &slots[i]));
    pool_wait(pool);
    for (size_t i = 0; i < N; i++)
      assert_int_equal(slots[i], round + 1);
  }
  pool_destroy(pool);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_tiny_tasks),
      cmocka_unit_test(test_capacity_one_eight_threads),
      cmocka_unit_test(test_one_thread_capacity_one),
      cmocka_unit_test(test_sizes),
      cmocka_unit_test(test_destroy_null_and_idle),
      cmocka_unit_test(test_submit_null_fn),
      cmocka_unit_test(test_destroy_runs_queued_tasks),
      cmocka_unit_test(test_destroy_without_wait_many),
      cmocka_unit_test(test_producer_blocks_on_full_queue),
      cmocka_unit_test(test_wait_waits_for_running),
  };
  return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
