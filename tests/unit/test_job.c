/* Unit tests of job_run's writer thread, on a fake sink registered for
 * "test:" URIs (sink_register_test_ops, in this executable's own copy of
 * sink.c built with LOADER_TESTING; the null sink never starts the writer).
 *
 * The fake sink can fail a chosen batch (for good, or once with a
 * transient error), refuse one document of a batch, stall on a batch, or
 * raise the stop flag while stalled; with --inflight it can hold the first
 * batches until several are outstanding and answer them in reverse order,
 * or say documents are there already (duplicate _ids, as after a crash).
 * It counts the writes outstanding at once, the distinct batch buffers it
 * is handed (the parser fills one while the writers send --inflight K
 * others: never more than K + 1), checks that documents arrive once each
 * (and in file order with one writer), and keeps the marks it is asked to
 * commit. Then job_run's result (processed, inserted, rejected, retries,
 * error, prior, post) is checked against what the sink saw.
 *
 * Registered with a prepare step (fake_prep_ops: a sink whose writes are
 * one at a time, as SQL's), the job prepares the next batch on a second
 * writer while one writes: the fake checks that each write is of the batch
 * its sink prepared, keeps the documents a preparation refused, and can
 * fail a preparation. */
#include "unit_helpers.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "../../src/sink_impl.h"
#include "loader/error.h"
#include "loader/job.h"

#define ROWS 95
#define BATCH 10

/* What the fake sink is told to do and what it saw. */
typedef struct fake {
  pthread_mutex_t lock;
  /* told */
  size_t fail_batch;      /* 1-based write that fails for good, or 0 */
  size_t transient_batch; /* write that fails once, transiently, or 0 */
  size_t reject_batch;    /* write in which one document is refused */
  size_t reject_index;    /* which one */
  bool ordered;           /* the write stops at the refused document: the
                             ones after it do not land (result->stopped) */
  size_t stall_batch;     /* write that stalls stall_ms first */
  unsigned stall_ms;
  atomic_bool *stop_on_stall; /* raised during the stall, or NULL */
  size_t hold;                /* the first hold writes wait until hold are
                                 outstanding, then answer last first */
  size_t fail_late;           /* with hold: this held batch fails (after
                                 the later ones landed), or 0 */
  int64_t there_up_to;        /* documents with ids up to this are in the
                                 collection already (a crashed run's) */
  size_t prep_fail_batch;     /* preparation that fails, or 0 */
  size_t prep_reject_batch;   /* preparation that refuses a document */
  size_t prep_reject_index;   /* which one */
  /* saw */
  size_t writes;           /* write calls */
  size_t ok_writes;        /* writes that succeeded */
  atomic_int in_flight;    /* writes outstanding now */
  int max_in_flight;       /* most outstanding at once */
  const void *bufs[8];     /* distinct batch buffers handed to write */
  size_t n_bufs;           /* how many */
  int64_t next_id;         /* the id the next document must have */
  bool out_of_order;       /* a document came twice, or one was skipped */
  bool seen[ROWS + 2];     /* ids that landed */
  uint64_t marks[32];      /* offsets of the marks committed, in order */
  int64_t max_ahead;       /* most documents landed past the last mark */
  int64_t count;           /* documents "in the collection" */
  size_t opens, closes;    /* sinks opened and closed */
  size_t commits;          /* marks committed */
  mark_t last_mark;        /* the last one */
  bool transient_done;     /* the transient failure has happened */
  bool stalled;            /* the stall has happened */
  pthread_cond_t held;     /* signalled when a write is outstanding */
  size_t prepares;         /* prepare calls */
  unsigned prepared;       /* bit n: batch n was prepared */
  unsigned written;        /* bit n: a write of batch n was attempted */
  unsigned done;           /* bit n: a write of batch n returned */
  unsigned prepared_early; /* bit n: batch n was prepared before the write
                              of batch n - 1 returned */
  bool unprepared_write;   /* a write of a batch its sink had not prepared */
  bool lost_refusal;       /* a preparation's refused document was not in
                              the write's result */
} fake_t;

static fake_t fake;

typedef struct fake_sink {
  const batch_t *prepared; /* the batch it prepared last, until written */
} fake_sink_t;

static void *fake_factory_new(const sink_config_t *config, bson_error_t *error)
{
  (void)config;
  (void)error;
  return &fake;
}

static bool fake_factory_check(void *state, bson_error_t *error)
{
  (void)state;
  (void)error;
  return true;
}

static const char *fake_factory_db(const void *state)
{
  (void)state;
  return "fake";
}

static void fake_factory_destroy(void *state)
{
  (void)state;
}

static void *fake_open(void *state, const char *collection, bson_error_t *error)
{
  (void)state;
  (void)collection;
  (void)error;
  pthread_mutex_lock(&fake.lock);
  fake.opens++;
  pthread_mutex_unlock(&fake.lock);
  return calloc(1, sizeof(fake_sink_t));
}

static bool fake_count(void *sink, int64_t *count, bson_error_t *error)
{
  (void)sink;
  (void)error;
  pthread_mutex_lock(&fake.lock);
  *count = fake.count;
  pthread_mutex_unlock(&fake.lock);
  return true;
}

static bool fake_drop(void *sink, bson_error_t *error)
{
  (void)sink;
  (void)error;
  return true;
}

/* Returns the "id" of document i of batch, or -1. */
static int64_t fake_id(const batch_t *batch, size_t i)
{
  size_t len;
  const uint8_t *data = batch_data(batch, &len);
  bson_reader_t *r = bson_reader_new_from_data(data, len);
  const bson_t *doc;
  bool eof = false;
  int64_t id = -1;
  for (size_t n = 0; (doc = bson_reader_read(r, &eof)); n++) {
    bson_iter_t it;
    if (n == i && bson_iter_init_find(&it, doc, "id"))
      id = bson_iter_as_int64(&it);
  }
  bson_reader_destroy(r);
  return id;
}

/* Lands the documents of batch: each once (and, with one writer, in file
 * order); a document already there is refused as a duplicate _id. Returns
 * how many landed. */
static size_t fake_take(const batch_t *batch, sink_write_result_t *result)
{
  size_t landed = 0;
  for (size_t i = 0; i < batch_count(batch); i++) {
    int64_t id = fake_id(batch, i);
    if (fake.hold == 0 && id != fake.next_id)
      fake.out_of_order = true;
    fake.next_id = id + 1;
    if (id < 1 || id > ROWS || fake.seen[id]) {
      fake.out_of_order = true;
      continue;
    }
    if (id <= fake.there_up_to) {
      sink_result_add_error(result, i, 11000, "fake duplicate _id");
      result->errors[result->n_errors - 1].dup_on_id = true;
      continue;
    }
    fake.seen[id] = true;
    landed++;
  }
  return landed;
}

/* With hold: waits until hold writes are outstanding (at most a second),
 * then lets the later batches answer first. */
static void fake_hold(size_t batch_no)
{
  pthread_mutex_lock(&fake.lock);
  pthread_cond_broadcast(&fake.held);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 1;
  while (atomic_load(&fake.in_flight) < (int)fake.hold &&
         pthread_cond_timedwait(&fake.held, &fake.lock, &until) == 0)
    ;
  pthread_mutex_unlock(&fake.lock);
  usleep((unsigned)(fake.hold - batch_no) * 40000u);
}

/* Returns which batch of the file batch is, from its first id. */
static size_t fake_batch_no(const batch_t *batch)
{
  return (size_t)(fake_id(batch, 0) - 1) / BATCH + 1;
}

static bool fake_prepare(void *sink, const batch_t *batch,
                         sink_write_result_t *result, bson_error_t *error)
{
  fake_sink_t *s = sink;
  s->prepared = NULL;
  pthread_mutex_lock(&fake.lock);
  size_t batch_no = fake_batch_no(batch);
  fake.prepares++;
  fake.prepared |= 1u << batch_no;
  if (!(fake.done & (1u << (batch_no - 1))))
    fake.prepared_early |= 1u << batch_no;
  pthread_mutex_unlock(&fake.lock);
  if (batch_no == fake.prep_fail_batch) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "fake: batch %zu unprepared",
                   batch_no);
    return false;
  }
  if (batch_no == fake.prep_reject_batch)
    sink_result_add_error(result, fake.prep_reject_index, 1366,
                          "fake: does not fit");
  s->prepared = batch;
  return true;
}

static bool fake_write(void *sink, const batch_t *batch,
                       sink_write_result_t *result, bson_error_t *error)
{
  fake_sink_t *s = sink;
  bool prepared = s->prepared == batch;
  s->prepared = NULL;
  int now = atomic_fetch_add(&fake.in_flight, 1) + 1;
  pthread_mutex_lock(&fake.lock);
  size_t n = ++fake.writes;
  if (now > fake.max_in_flight)
    fake.max_in_flight = now;
  bool seen = false;
  for (size_t i = 0; i < fake.n_bufs; i++)
    seen |= fake.bufs[i] == (const void *)batch;
  if (!seen && fake.n_bufs < 8)
    fake.bufs[fake.n_bufs++] = batch;
  /* Which batch of the file, from its first id (retries send the same). */
  size_t batch_no = fake_batch_no(batch);
  fake.written |= 1u << batch_no;
  fake.unprepared_write |= fake.prepares > 0 && !prepared;
  bool stall = batch_no == fake.stall_batch && !fake.stalled;
  fake.stalled |= stall;
  (void)n;
  pthread_mutex_unlock(&fake.lock);

  bool ok = true;
  if (stall) {
    if (fake.stop_on_stall)
      atomic_store(fake.stop_on_stall, true);
    usleep(fake.stall_ms * 1000u);
  }
  if (batch_no <= fake.hold)
    fake_hold(batch_no);
  pthread_mutex_lock(&fake.lock);
  if (batch_no == fake.fail_batch || batch_no == fake.fail_late) {
    bson_set_error(error, LOADER_ERROR_SINK, 7, "fake: batch %zu refused",
                   batch_no);
    ok = false;
  } else if (batch_no == fake.transient_batch && !fake.transient_done) {
    fake.transient_done = true;
    bson_set_error(error, LOADER_ERROR_SINK, 42, "fake: connection lost");
    ok = false;
  } else {
    size_t landed = fake_take(batch, result);
    if (batch_no == fake.reject_batch) {
      sink_result_add_error(result, fake.reject_index, 11000,
                            "fake duplicate key");
      fake.seen[fake_id(batch, fake.reject_index)] = false;
      landed--;
      for (size_t i = fake.reject_index + 1;
           fake.ordered && i < batch_count(batch); i++) {
        fake.seen[fake_id(batch, i)] = false;
        landed--;
      }
      result->stopped = fake.ordered;
      result->stopped_at = fake.reject_index;
    }
    if (batch_no == fake.prep_reject_batch) {
      fake.lost_refusal |= result->n_errors != 1 ||
                           result->errors[0].index != fake.prep_reject_index;
      fake.seen[fake_id(batch, fake.prep_reject_index)] = false;
      landed--;
    }
    result->inserted = landed;
    fake.count += (int64_t)landed;
    int64_t ahead = fake.count - (int64_t)fake.last_mark.inserted;
    if (ahead > fake.max_ahead)
      fake.max_ahead = ahead;
    fake.ok_writes++;
  }
  fake.done |= 1u << batch_no;
  pthread_mutex_unlock(&fake.lock);
  atomic_fetch_sub(&fake.in_flight, 1);
  return ok;
}

static bool fake_commit(void *sink, const char *key, const mark_t *mark,
                        bson_error_t *error)
{
  (void)sink;
  (void)key;
  (void)error;
  pthread_mutex_lock(&fake.lock);
  if (fake.commits < 32)
    fake.marks[fake.commits] = mark->offset;
  fake.commits++;
  fake.last_mark = *mark;
  pthread_mutex_unlock(&fake.lock);
  return true;
}

static void fake_close(void *sink)
{
  pthread_mutex_lock(&fake.lock);
  fake.closes++;
  pthread_mutex_unlock(&fake.lock);
  free(sink);
}

static bool fake_is_transient(const bson_error_t *error)
{
  return error->code == 42;
}

static const sink_ops_t fake_ops = {.name = "test",
                                    .factory_new = fake_factory_new,
                                    .factory_check = fake_factory_check,
                                    .factory_db = fake_factory_db,
                                    .factory_destroy = fake_factory_destroy,
                                    .open = fake_open,
                                    .count = fake_count,
                                    .drop = fake_drop,
                                    .write = fake_write,
                                    .commit = fake_commit,
                                    .mark_get = NULL,
                                    .close = fake_close,
                                    .is_transient = fake_is_transient,
                                    /* writes stand on their own, as
                                       MongoDB's: commit records marks */
                                    .parallel_writes = true,
                                    .supports_upsert = false};

/* The same sink with a prepare step. */
static const sink_ops_t fake_prep_ops = {.name = "test",
                                         .factory_new = fake_factory_new,
                                         .factory_check = fake_factory_check,
                                         .factory_db = fake_factory_db,
                                         .factory_destroy =
                                             fake_factory_destroy,
                                         .open = fake_open,
                                         .count = fake_count,
                                         .drop = fake_drop,
                                         .prepare = fake_prepare,
                                         .write = fake_write,
                                         .commit = fake_commit,
                                         .close = fake_close,
                                         .is_transient = fake_is_transient};

/* --- fixture ---------------------------------------------------------------
 */

typedef struct fx {
  char *dir;
  char *path;
  size_t size;
  uint64_t row_end[ROWS + 1]; /* offset just past row i (1-based) */
  sink_factory_t *sinks;
  csv_dialect_t dialect;
  doc_options_t doc;
  atomic_bool stop;
  job_env_t env;
  job_t job;
  job_result_t res;
} fx_t;

static int setup(void **state)
{
  fx_t *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  memset(&fake, 0, sizeof fake);
  pthread_mutex_init(&fake.lock, NULL);
  pthread_cond_init(&fake.held, NULL);
  atomic_init(&fake.in_flight, 0);
  fake.next_id = 1;
  sink_register_test_ops(&fake_ops);
  fx->dir = uh_tmpdir();
  char text[ROWS * 32 + 32];
  size_t n = (size_t)snprintf(text, sizeof text, "id,name\n");
  for (size_t i = 1; i <= ROWS; i++) {
    n +=
        (size_t)snprintf(text + n, sizeof text - n, "%zu,\"row\n%zu\"\n", i, i);
    fx->row_end[i] = n;
  }
  fx->size = n;
  fx->path = uh_write(fx->dir, "rows.csv", text, n);
  sink_config_t cfg = {.uri = "test:fake", .workers = 1};
  bson_error_t e;
  fx->sinks = sink_factory_new(&cfg, &e);
  if (!fx->sinks)
    fail_msg("sink_factory_new: %s", e.message);
  assert_false(sink_factory_is_null(fx->sinks));
  csvr_dialect_default(&fx->dialect);
  docb_options_default(&fx->doc);
  atomic_init(&fx->stop, false);
  fx->env = (job_env_t){.sinks = fx->sinks,
                        .dialect = &fx->dialect,
                        .doc = &fx->doc,
                        .batch_docs = BATCH,
                        .batch_bytes = 1 << 20,
                        .stop = &fx->stop,
                        .max_errors = UINT64_MAX,
                        .retries = 3,
                        .retry_max_wait_ms = 1};
  fx->job = (job_t){.collection = "rows",
                    .path = fx->path,
                    .end = UINT64_MAX,
                    .start_line = 1};
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  fx_t *fx = *state;
  sink_factory_destroy(fx->sinks);
  sink_register_test_ops(NULL);
  pthread_mutex_destroy(&fake.lock);
  pthread_cond_destroy(&fake.held);
  uh_rmtree(fx->dir);
  free(fx->dir);
  free(fx->path);
  free(fx);
  return 0;
}

/* What holds after every run: at most --inflight K writes at a time, K +
 * 1 batch buffers at most, every document once (in order with one
 * writer), marks only forward, every sink closed. */
static void check_writer_invariants(const fx_t *fx)
{
  int k = fx->env.inflight > 1 ? (int)fx->env.inflight : 1;
  /* Preparing ahead: one writes, one prepares, the parser fills. */
  size_t bufs = fake.prepares ? 3 : (size_t)k + 1;
  assert_true(fake.max_in_flight >= 1 && fake.max_in_flight <= k);
  assert_true(fake.n_bufs >= 1 && fake.n_bufs <= bufs);
  assert_false(fake.unprepared_write);
  assert_false(fake.lost_refusal);
  assert_false(fake.out_of_order);
  assert_int_equal(fake.opens, fake.closes);
  assert_int_equal(atomic_load(&fake.in_flight), 0);
  for (size_t i = 1; i < fake.commits && i < 32; i++)
    assert_true(fake.marks[i] >= fake.marks[i - 1]);
  /* What a resumed run counts as possibly its own covers what landed. */
  assert_true(fake.max_ahead <= (int64_t)job_window(&fx->env));
}

static void test_all_batches_with_a_stall(void **state)
{
  fx_t *fx = *state;
  fake.stall_batch = 2;
  fake.stall_ms = 150;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  assert_int_equal(r->processed, ROWS);
  assert_int_equal(r->inserted, ROWS);
  assert_int_equal(r->rejected, 0);
  assert_int_equal(r->retries, 0);
  assert_int_equal(r->prior, 0);
  assert_int_equal(r->post, ROWS);
  assert_int_equal(fake.writes, (ROWS + BATCH - 1) / BATCH);
  /* The parser filled the next batch while the writer sent one. */
  assert_int_equal(fake.n_bufs, 2);
  assert_int_equal(fake.next_id, ROWS + 1);
  /* A mark per batch, then the final one: the end of the file, done. */
  assert_int_equal(fake.commits, fake.writes + 1);
  assert_int_equal(fake.last_mark.offset, fx->size);
  assert_int_equal(fake.last_mark.processed, ROWS);
  assert_int_equal(fake.last_mark.inserted, ROWS);
  assert_true(fake.last_mark.done);
  check_writer_invariants(fx);
}

/* A batch that fails: the job fails with the sink's error; the batches
 * before it are counted, it and the ones after it are never written, and
 * the last mark is just past the last batch that landed. The stall before
 * it lets the parser run ahead as far as it can. */
static void test_failed_batch(void **state)
{
  fx_t *fx = *state;
  fake.fail_batch = 3;
  fake.stall_batch = 3;
  fake.stall_ms = 100;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  assert_false(r->ok);
  assert_int_equal(r->error.domain, LOADER_ERROR_SINK);
  assert_non_null(strstr(r->error.message, "fake: batch 3 refused"));
  assert_int_equal(r->inserted, 2 * BATCH);
  assert_int_equal(r->rejected, 0);
  /* The parser read at most one batch past the one in flight. */
  assert_true(r->processed >= 3 * BATCH && r->processed <= 4 * BATCH);
  assert_int_equal(fake.writes, 3);
  assert_int_equal(fake.count, 2 * BATCH);
  assert_int_equal(fake.commits, 2);
  assert_int_equal(fake.last_mark.offset, fx->row_end[2 * BATCH]);
  assert_int_equal(fake.last_mark.line, 2 + 2 * 2 * BATCH);
  assert_int_equal(fake.last_mark.processed, 2 * BATCH);
  assert_false(fake.last_mark.done);
  assert_int_equal(r->prior, 0);
  check_writer_invariants(fx);
}

/* The last, short batch fails. */
static void test_failed_last_batch(void **state)
{
  fx_t *fx = *state;
  fake.fail_batch = (ROWS + BATCH - 1) / BATCH;
  job_run(&fx->job, &fx->env, &fx->res);
  assert_false(fx->res.ok);
  assert_int_equal(fx->res.processed, ROWS);
  assert_int_equal(fx->res.inserted, (fake.fail_batch - 1) * BATCH);
  assert_int_equal(fake.last_mark.processed, (fake.fail_batch - 1) * BATCH);
  check_writer_invariants(fx);
}

/* One refused document: a rejected row at its line, the rest landed. */
static void test_refused_document(void **state)
{
  fx_t *fx = *state;
  fake.reject_batch = 2;
  fake.reject_index = 3; /* row 14: lines 28-29 */
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  assert_int_equal(r->processed, ROWS);
  assert_int_equal(r->inserted, ROWS - 1);
  assert_int_equal(r->rejected, 1);
  assert_int_equal(r->n_samples, 1);
  assert_int_equal(r->samples[0].line, 28);
  assert_non_null(strstr(r->samples[0].reason, "code 11000"));
  assert_int_equal(r->post, ROWS - 1);
  assert_int_equal(fake.last_mark.rejected, 1);
  check_writer_invariants(fx);
}

/* --stop-on-error: the ordered write stops at the refused document (row
 * 14, line 28): rows 11-13 landed with it, the job stops there, no later
 * batch is written, no mark moves past batch 1, and the rows the parser had
 * read past the stop are counted as not written, so the accounting
 * closes. */
static void test_stop_on_error(void **state)
{
  fx_t *fx = *state;
  fake.reject_batch = 2;
  fake.reject_index = 3;
  fake.ordered = true;
  fx->env.stop_on_error = true;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  assert_false(r->ok);
  assert_non_null(strstr(r->error.message, "stopped at line 28"));
  assert_int_equal(r->error.code, 11000);
  assert_int_equal(r->stop_line, 28);
  assert_int_equal(r->inserted, BATCH + 3);
  assert_int_equal(r->rejected, 1);
  assert_true(r->processed >= 2 * BATCH && r->processed <= 3 * BATCH);
  assert_int_equal(r->unwritten, r->processed - (BATCH + 4));
  assert_int_equal(r->post - r->prior, (int64_t)r->inserted);
  assert_int_equal(fake.writes, 2);
  assert_int_equal(fake.count, BATCH + 3);
  assert_int_equal(fake.commits, 1);
  assert_int_equal(fake.last_mark.offset, fx->row_end[BATCH]);
  check_writer_invariants(fx);
}

/* Without --stop-on-error the same ordered stop is one rejected row and
 * the job goes on (the sink's rows after it are simply not there). */
static void test_ordered_stop_without_stop_on_error(void **state)
{
  fx_t *fx = *state;
  fake.reject_batch = 2;
  fake.reject_index = 3;
  fake.ordered = true;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  assert_true(r->ok);
  assert_int_equal(r->stop_line, 0);
  assert_int_equal(r->unwritten, 0);
  assert_int_equal(r->rejected, 1);
  assert_int_equal(fake.writes, (ROWS + BATCH - 1) / BATCH);
}

/* A transient failure is retried on a fresh sink; the batch lands once. */
static void test_transient_retry(void **state)
{
  fx_t *fx = *state;
  fake.transient_batch = 4;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  assert_int_equal(r->retries, 1);
  assert_int_equal(r->inserted, ROWS);
  assert_int_equal(fake.writes, (ROWS + BATCH - 1) / BATCH + 1);
  assert_int_equal(fake.opens, 2);
  check_writer_invariants(fx);
}

/* A transient failure that persists past --retries fails the job. */
static void test_retries_exhausted(void **state)
{
  fx_t *fx = *state;
  fx->env.retries = 0;
  fake.transient_batch = 2;
  job_run(&fx->job, &fx->env, &fx->res);
  assert_false(fx->res.ok);
  assert_non_null(strstr(fx->res.error.message, "connection lost"));
  assert_int_equal(fx->res.inserted, BATCH);
  assert_int_equal(fx->res.retries, 0);
  check_writer_invariants(fx);
}

/* The stop flag raised while a batch is in flight: what was read is
 * written, then the job says it was interrupted. */
static void test_stop_while_in_flight(void **state)
{
  fx_t *fx = *state;
  fake.stall_batch = 2;
  fake.stall_ms = 50;
  fake.stop_on_stall = &fx->stop;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  assert_false(r->ok);
  assert_int_equal(r->error.domain, LOADER_ERROR_INTERRUPTED);
  assert_true(r->processed < ROWS);
  assert_true(r->processed >= 2 * BATCH);
  /* Nothing read is lost: every record read was written. */
  assert_int_equal(r->inserted, r->processed);
  assert_int_equal(fake.count, (int64_t)r->processed);
  assert_int_equal(fake.last_mark.processed, r->processed);
  check_writer_invariants(fx);
}

/* Three batches in flight, answered last first: all three are outstanding
 * at once, yet the marks follow the file (the first mark is the end of the
 * first batch, though the third was acknowledged first), and everything
 * lands once. */
static void test_inflight_out_of_order(void **state)
{
  fx_t *fx = *state;
  fx->env.inflight = 3;
  fake.hold = 3;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  assert_int_equal(fake.max_in_flight, 3);
  /* The third writer took the fourth batch before the first settled. */
  assert_int_equal(fake.max_ahead, 4 * BATCH);
  assert_int_equal(r->processed, ROWS);
  assert_int_equal(r->inserted, ROWS);
  assert_int_equal(fake.count, ROWS);
  assert_int_equal(fake.marks[0], fx->row_end[BATCH]);
  assert_int_equal(fake.marks[1], fx->row_end[2 * BATCH]);
  assert_int_equal(fake.marks[2], fx->row_end[3 * BATCH]);
  assert_int_equal(fake.commits, fake.writes + 1);
  assert_int_equal(fake.last_mark.offset, fx->size);
  assert_true(fake.last_mark.done);
  assert_int_equal(fake.n_bufs, 4);
  check_writer_invariants(fx);
}

/* The first of three batches in flight fails after the two later ones
 * landed: the job fails, the mark never passes the failed batch, and what
 * landed after it is still counted. */
static void test_inflight_failure_keeps_prefix(void **state)
{
  fx_t *fx = *state;
  fx->env.inflight = 3;
  fx->env.retries = 0;
  fake.hold = 3;
  fake.fail_late = 1;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  assert_false(r->ok);
  assert_non_null(strstr(r->error.message, "fake: batch 1 refused"));
  assert_int_equal(fake.commits, 0);
  /* Batches 2 and 3 landed; 4 may have, on the writer 3 freed. */
  assert_true(fake.count >= 2 * BATCH && fake.count <= 3 * BATCH);
  assert_int_equal(r->inserted, fake.count);
  check_writer_invariants(fx);
}

/* A resumed job whose interrupted run had sent its first three batches
 * (ids 1-30 are there) with a window of two batches: duplicate _ids in the
 * window count as this load's own; the ones past it are rejected rows. */
static void test_resume_window(void **state)
{
  fx_t *fx = *state;
  fx->env.resuming = true;
  fx->env.resume_window = 2 * BATCH;
  fake.there_up_to = 3 * BATCH;
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  assert_int_equal(r->processed, ROWS);
  assert_int_equal(r->inserted, ROWS - BATCH);
  assert_int_equal(r->rejected, BATCH);
  assert_int_equal(r->samples[0].line, 2 + 2 * 2 * BATCH);
  assert_int_equal(fake.count, ROWS - 3 * BATCH);
  check_writer_invariants(fx);
}

/* Makes fx's factory the fake with a prepare step. */
static void use_prepare(fx_t *fx)
{
  sink_factory_destroy(fx->sinks);
  sink_register_test_ops(&fake_prep_ops);
  sink_config_t cfg = {.uri = "test:fake", .workers = 1};
  bson_error_t e;
  fx->sinks = sink_factory_new(&cfg, &e);
  if (!fx->sinks)
    fail_msg("sink_factory_new: %s", e.message);
  assert_true(sink_factory_can_prepare(fx->sinks));
  fx->env.sinks = fx->sinks;
}

/* A sink that prepares: every batch is prepared on the sink that writes
 * it, the next one while a write is outstanding (batch 3 before batch
 * 2's stalled write returns), writes stay one at a time and in file order, a
 * document the preparation refused is a rejected row at its line, and a mark
 * follows each batch. */
static void test_prepare_ahead(void **state)
{
  fx_t *fx = *state;
  use_prepare(fx);
  fake.stall_batch = 2;
  fake.stall_ms = 150;
  fake.prep_reject_batch = 4;
  fake.prep_reject_index = 2; /* row 33: lines 66-67 */
  job_run(&fx->job, &fx->env, &fx->res);
  const job_result_t *r = &fx->res;
  if (!r->ok)
    fail_msg("job failed: %s", r->error.message);
  size_t batches = (ROWS + BATCH - 1) / BATCH;
  assert_int_equal(r->processed, ROWS);
  assert_int_equal(r->inserted, ROWS - 1);
  assert_int_equal(r->rejected, 1);
  assert_int_equal(r->samples[0].line, 66);
  assert_non_null(strstr(r->samples[0].reason, "does not fit"));
  assert_int_equal(r->post - r->prior, (int64_t)r->inserted);
  assert_int_equal(fake.writes, batches);
  assert_int_equal(fake.prepares, batches);
  assert_int_equal(fake.max_in_flight, 1);
  assert_true(fake.prepared_early & (1u << 3));
  assert_int_equal(fake.opens, 2); /* the second writer's own sink */
  assert_int_equal(fake.commits, batches + 1);
  for (size_t i = 0; i < batches - 1; i++)
    assert_int_equal(fake.marks[i], fx->row_end[(i + 1) * BATCH]);
  assert_int_equal(fake.last_mark.offset, fx->size);
  assert_int_equal(fake.last_mark.rejected, 1);
  check_writer_invariants(fx);
}

/* A job preparing ahead failed at batch 3, which stopped it: batches 1
 * and 2 landed with their marks, nothing after them, and the message
 * says why. */
static void check_stopped_at_batch_3(const fx_t *fx, const char *why)
{
  const job_result_t *r = &fx->res;
  assert_false(r->ok);
  assert_non_null(strstr(r->error.message, why));
  assert_int_equal(r->inserted, 2 * BATCH);
  assert_int_equal(fake.count, 2 * BATCH);
  assert_int_equal(fake.commits, 2);
  assert_int_equal(fake.last_mark.offset, fx->row_end[2 * BATCH]);
  assert_int_equal(fake.last_mark.processed, 2 * BATCH);
  check_writer_invariants(fx);
}

/* Batch 3's write fails while batch 4 is prepared (before it returns):
 * batch 4 is never written, the mark stays past batch 2, and the
 * accounting closes. */
static void test_prepare_ahead_failure(void **state)
{
  fx_t *fx = *state;
  use_prepare(fx);
  fake.fail_batch = 3;
  fake.stall_batch = 3;
  fake.stall_ms = 150;
  job_run(&fx->job, &fx->env, &fx->res);
  assert_true(fake.prepared_early & (1u << 4));
  assert_int_equal(fake.written, (1u << 1) | (1u << 2) | (1u << 3));
  check_stopped_at_batch_3(fx, "fake: batch 3 refused");
}

/* Batch 3 cannot be prepared (while batch 2 is written): the failure comes
 * in batch 3's turn, so batch 2 lands and its mark is committed as it would
 * be without preparing ahead; nothing after batch 2 is written. */
static void test_prepare_failure_in_turn(void **state)
{
  fx_t *fx = *state;
  use_prepare(fx);
  fake.prep_fail_batch = 3;
  fake.stall_batch = 2;
  fake.stall_ms = 150;
  job_run(&fx->job, &fx->env, &fx->res);
  assert_true(fake.prepared_early & (1u << 3));
  assert_int_equal(fake.written, (1u << 1) | (1u << 2));
  check_stopped_at_batch_3(fx, "fake: batch 3 unprepared");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_all_batches_with_a_stall),
      T(test_failed_batch),
      T(test_failed_last_batch),
      T(test_refused_document),
      T(test_stop_on_error),
      T(test_ordered_stop_without_stop_on_error),
      T(test_transient_retry),
      T(test_retries_exhausted),
      T(test_stop_while_in_flight),
      T(test_inflight_out_of_order),
      T(test_inflight_failure_keeps_prefix),
      T(test_resume_window),
      T(test_prepare_ahead),
      T(test_prepare_ahead_failure),
      T(test_prepare_failure_in_turn),
  };
  return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
