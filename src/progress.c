/* progress: what the running jobs are doing, drawn for a person. */
#include "loader/progress.h"
#include "loader/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRESS_TTY_PERIOD_MS 250
#define PROGRESS_PLAIN_PERIOD_S 5.0

struct progress_slot {
  atomic_uint_fast64_t bytes;    /* bytes of the job's range read */
  atomic_uint_fast64_t rows;     /* rows processed */
  atomic_uint_fast64_t rejected; /* rows rejected */
  atomic_bool done;              /* the job finished */
  atomic_bool started;           /* the job has begun */
};

struct progress {
  progress_style_t style; /* how to draw */
  FILE *out;              /* where (stderr) */
  size_t n;               /* jobs */
  char **labels;          /* "collection file" per job (owned) */
  uint64_t *sizes;        /* bytes per job, 0 unknown (owned) */
  progress_slot_t *slots; /* counters, one per job (owned) */
  pthread_t thread;       /* the drawing thread */
  bool running;           /* the thread was started */
  atomic_bool stop;       /* tells the thread to finish */
  size_t drawn;           /* lines on screen to overwrite (TTY) */
  double t0;              /* when drawing started */
  double last_plain;      /* when the last plain lines were printed */
};

progress_t *progress_new(progress_style_t style, FILE *out, size_t n_jobs,
                         const char *const *labels, const uint64_t *sizes)
{
  if (style == PROGRESS_OFF || n_jobs == 0)
    return NULL;
  progress_t *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->style = style;
  p->out = out;
  p->n = n_jobs;
  p->labels = calloc(n_jobs, sizeof *p->labels);
  p->sizes = calloc(n_jobs, sizeof *p->sizes);
  p->slots = calloc(n_jobs, sizeof *p->slots);
  if (!p->labels || !p->sizes || !p->slots) {
    progress_stop(p);
    return NULL;
  }
  for (size_t i = 0; i < n_jobs; i++) {
    p->labels[i] = strdup(labels[i]);
    p->sizes[i] = sizes[i];
  }
  return p;
}

progress_slot_t *progress_slot(progress_t *p, size_t job)
{
  return p ? &p->slots[job] : NULL;
}

void progress_update(progress_slot_t *s, uint64_t bytes, uint64_t rows,
                     uint64_t rejected, bool done)
{
  if (!s)
    return;
  atomic_store_explicit(&s->bytes, bytes, memory_order_relaxed);
  atomic_store_explicit(&s->rows, rows, memory_order_relaxed);
  atomic_store_explicit(&s->rejected, rejected, memory_order_relaxed);
  atomic_store_explicit(&s->started, true, memory_order_relaxed);
  if (done)
    atomic_store_explicit(&s->done, true, memory_order_relaxed);
}

/* Formats one job's line into buf. */
static void progress__line(const progress_t *p, size_t i, double now, char *buf,
                           size_t cap)
{
  const progress_slot_t *s = &p->slots[i];
  uint64_t bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
  uint64_t rows = atomic_load_explicit(&s->rows, memory_order_relaxed);
  uint64_t rej = atomic_load_explicit(&s->rejected, memory_order_relaxed);
  bool done = atomic_load_explicit(&s->done, memory_order_relaxed);
  bool started = atomic_load_explicit(&s->started, memory_order_relaxed);
  double secs = now - p->t0;
  double rate = secs > 0 ? (double)rows / secs : 0;
  char r[32], rr[32];
  util_group_thousands(rows, r, sizeof r);
  util_group_thousands((uint64_t)rate, rr, sizeof rr);
  if (!started) {
    snprintf(buf, cap, "%s  waiting", p->labels[i]);
    return;
  }
  char pct[48] = "";
  char eta[32] = "";
  if (p->sizes[i] > 0) {
    double f = (double)bytes / (double)p->sizes[i];
    if (f > 1)
      f = 1;
    snprintf(pct, sizeof pct, "%5.1f%% of %.1f MB  ", f * 100,
             (double)p->sizes[i] / 1e6);
    if (!done && f > 0.01) {
      double left = secs * (1 - f) / f;
      snprintf(eta, sizeof eta, "  ETA %.0fs", left);
    }
  }
  snprintf(buf, cap, "%s  %s%s rows  %s rows/s  %llu rejected%s%s",
           p->labels[i], pct, r, rr, (unsigned long long)rej, eta,
           done ? "  done" : "");
}

static void progress__draw(progress_t *p, bool final)
{
  double now = util_now();
  char line[512];
  if (p->style == PROGRESS_PLAIN) {
    if (!final && now - p->last_plain < PROGRESS_PLAIN_PERIOD_S)
      return;
    p->last_plain = now;
    for (size_t i = 0; i < p->n; i++) {
      progress__line(p, i, now, line, sizeof line);
      fprintf(p->out, "loader: progress: %s\n", line);
    }
    fflush(p->out);
    return;
  }
  /* Back to the first line drawn, then each line over the old one. */
  if (p->drawn)
    fprintf(p->out, "\033[%zuA", p->drawn);
  for (size_t i = 0; i < p->n; i++) {
    progress__line(p, i, now, line, sizeof line);
    fprintf(p->out, "\r\033[K%s\n", line);
  }
  p->drawn = p->n;
  fflush(p->out);
}

static void *progress__thread(void *arg)
{
  progress_t *p = arg;
  while (!atomic_load(&p->stop)) {
    progress__draw(p, false);
    struct timespec ts = {0, PROGRESS_TTY_PERIOD_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

void progress_start(progress_t *p)
{
  if (!p)
    return;
  p->t0 = util_now();
  p->last_plain = p->t0;
  p->running = pthread_create(&p->thread, NULL, progress__thread, p) == 0;
}

void progress_stop(progress_t *p)
{
  if (!p)
    return;
  if (p->running) {
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    if (p->style == PROGRESS_TTY && p->drawn) {
      /* Clear what was drawn: the report takes its place. */
      fprintf(p->out, "\033[%zuA", p->drawn);
      for (size_t i = 0; i < p->drawn; i++)
        fprintf(p->out, "\r\033[K\n");
      fprintf(p->out, "\033[%zuA", p->drawn);
      fflush(p->out);
    } else if (p->style == PROGRESS_PLAIN) {
      progress__draw(p, true);
    }
  }
  for (size_t i = 0; p->labels && i < p->n; i++)
    free(p->labels[i]);
  free(p->labels);
  free(p->sizes);
  free(p->slots);
  free(p);
}
