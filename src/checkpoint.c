/* checkpoint: where each job of a load got to, so --resume can finish it.
 *
 * The file is JSON written by libbson (relaxed extended JSON):
 *   {"version": 2,
 *    "plan": {"settings": {"target": ..., "db": ..., "--types": ..., ...},
 *             "jobs": [{"collection", "path", "start", "end", "size",
 *                       "mtime_ns", "head_hash"}, ...]},
 *    "window": N,
 *    "marks": [{"job", "offset", "line", "processed", "inserted",
 *               "updated", ["deleted", "unmatched",] "rejected", "prior",
 *               "done"}, ...]}
 * "end" is -1 for a job that reads to the end of its file. "window" is how
 * many documents past its mark a job may have sent (absent in files of
 * loaders that sent one batch at a time). */
#include "loader/checkpoint.h"
#include "loader/error.h"
#include "loader/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_VERSION 2
#define CHECKPOINT_HEAD_BYTES (64u * 1024u)

struct checkpoint {
  pthread_mutex_t lock; /* guards marks, has and the file */
  char *path;           /* the checkpoint file */
  char *tmp;            /* its temporary name while written */
  const job_t *jobs;    /* the jobs (borrowed) */
  size_t n_jobs;        /* how many */
  bson_t *plan;         /* this run's plan, as written to the file (a
                           pointer: bson_t wants 128-byte alignment) */
  char (*keys)[64];     /* each job's key in the target */
  mark_t *marks;        /* each job's mark */
  bool *has;            /* whether a job has a mark */
  uint64_t window_read; /* the interrupted run's window (--resume), or 0 */
  uint64_t window;      /* the window this run writes */
};

/* Appends the identity of the file at path (size, modification time, a
 * hash of its first 64 KiB) to doc. */
static bool checkpoint__identity(const char *path, bson_t *doc,
                                 bson_error_t *error)
{
  if (strcmp(path, "-") == 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--checkpoint: standard input cannot be resumed");
    return false;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", path,
                   strerror(errno));
    if (fd >= 0)
      close(fd);
    return false;
  }
  uint8_t *buf = malloc(CHECKPOINT_HEAD_BYTES);
  ssize_t n = buf ? read(fd, buf, CHECKPOINT_HEAD_BYTES) : -1;
  uint64_t h = util_hash64(buf, n > 0 ? (size_t)n : 0, UTIL_HASH64_SEED);
  free(buf);
  close(fd);
  BSON_APPEND_INT64(doc, "size", (int64_t)st.st_size);
  BSON_APPEND_INT64(doc, "mtime_ns",
                    (int64_t)st.st_mtim.tv_sec * 1000000000 +
                        (int64_t)st.st_mtim.tv_nsec);
  BSON_APPEND_INT64(doc, "head_hash", (int64_t)h);
  return true;
}

/* Builds the plan document: settings and every job with its identity. */
static bool checkpoint__plan(checkpoint_t *cp, const bson_t *settings,
                             bson_error_t *error)
{
  bson_t jobs, job;
  BSON_APPEND_DOCUMENT(cp->plan, "settings", settings);
  BSON_APPEND_ARRAY_BEGIN(cp->plan, "jobs", &jobs);
  for (size_t j = 0; j < cp->n_jobs; j++) {
    const job_t *jb = &cp->jobs[j];
    char key[24];
    const char *k;
    bson_uint32_to_string((uint32_t)j, &k, key, sizeof key);
    BSON_APPEND_DOCUMENT_BEGIN(&jobs, k, &job);
    BSON_APPEND_UTF8(&job, "collection", jb->collection);
    BSON_APPEND_UTF8(&job, "path", jb->path);
    BSON_APPEND_INT64(&job, "start", (int64_t)jb->start);
    BSON_APPEND_INT64(&job, "end",
                      jb->end == UINT64_MAX ? -1 : (int64_t)jb->end);
    bool ok = checkpoint__identity(jb->path, &job, error);
    bson_append_document_end(&jobs, &job);
    if (!ok) {
      bson_append_array_end(cp->plan, &jobs);
      return false;
    }
  }
  bson_append_array_end(cp->plan, &jobs);
  /* The keys: the plan's hash and the job's index. */
  uint64_t h =
      util_hash64(bson_get_data(cp->plan), cp->plan->len, UTIL_HASH64_SEED);
  for (size_t j = 0; j < cp->n_jobs; j++)
    snprintf(cp->keys[j], sizeof cp->keys[j], "plan-%016" PRIx64 "/job-%zu", h,
             j);
  return true;
}

/* Returns the string value of key in doc, or "" when absent. */
static const char *checkpoint__str(const bson_t *doc, const char *key)
{
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, NULL);
  return "";
}

/* Returns the number value of key in doc, or 0 when absent. */
static int64_t checkpoint__i64(const bson_t *doc, const char *key)
{
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it))
    return bson_iter_as_int64(&it);
  return 0;
}

/* Returns the boolean value of key in doc, or false when absent. */
static bool checkpoint__bool(const bson_t *doc, const char *key)
{
  bson_iter_t it;
  return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

/* Opens the sub-document or array at key of doc into *sub. */
static bool checkpoint__sub(const bson_t *doc, const char *key, bson_t *sub)
{
  bson_iter_t it;
  uint32_t len;
  const uint8_t *data;
  if (!bson_iter_init_find(&it, doc, key) ||
      !(BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)))
    return false;
  if (BSON_ITER_HOLDS_DOCUMENT(&it))
    bson_iter_document(&it, &len, &data);
  else
    bson_iter_array(&it, &len, &data);
  return bson_init_static(sub, data, len);
}

/* Describes a job for a message: "customers.csv (bytes 0-1000)". */
static void checkpoint__describe(const bson_t *job, char *out, size_t cap)
{
  int64_t end = checkpoint__i64(job, "end");
  char range[64] = "";
  if (checkpoint__i64(job, "start") != 0 || end != -1)
    snprintf(range, sizeof range, " (bytes %" PRId64 "-%s)",
             checkpoint__i64(job, "start"),
             end == -1
                 ? "end"
                 : (snprintf(range + 40, 24, "%" PRId64, end), range + 40));
  snprintf(out, cap, "%s into %s%s", checkpoint__str(job, "path"),
           checkpoint__str(job, "collection"), range);
}

/* Compares the file's plan with this run's; fills error naming the first
 * difference. */
static bool checkpoint__same_plan(const checkpoint_t *cp, const bson_t *old,
                                  bson_error_t *error)
{
  bson_t os, ns, oj, nj;
  if (!checkpoint__sub(old, "settings", &os) ||
      !checkpoint__sub(old, "jobs", &oj) ||
      !checkpoint__sub(cp->plan, "settings", &ns) ||
      !checkpoint__sub(cp->plan, "jobs", &nj)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume: %s has no plan: not a checkpoint", cp->path);
    return false;
  }
  /* Settings: every key of either side, compared as strings. */
  const bson_t *sides[2] = {&os, &ns};
  for (int side = 0; side < 2; side++) {
    bson_iter_t it;
    if (!bson_iter_init(&it, sides[side]))
      continue;
    while (bson_iter_next(&it)) {
      const char *key = bson_iter_key(&it);
      const char *was = checkpoint__str(&os, key);
      const char *now = checkpoint__str(&ns, key);
      if (strcmp(was, now) != 0) {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "--resume: %s changed since the checkpoint (was \"%s\", "
                       "now \"%s\"): resume with the same command, or load "
                       "again without --resume",
                       key, was, now);
        return false;
      }
    }
  }
  /* Jobs: the same ones, in the same order, on unchanged files. */
  bson_iter_t oi, ni;
  bool ohas = bson_iter_init(&oi, &oj) && bson_iter_next(&oi);
  bool nhas = bson_iter_init(&ni, &nj) && bson_iter_next(&ni);
  char a[512], b[512];
  for (; ohas || nhas; ohas = bson_iter_next(&oi), nhas = bson_iter_next(&ni)) {
    bson_t o = BSON_INITIALIZER, n = BSON_INITIALIZER;
    uint32_t len;
    const uint8_t *data;
    if (ohas && BSON_ITER_HOLDS_DOCUMENT(&oi)) {
      bson_iter_document(&oi, &len, &data);
      bson_init_static(&o, data, len);
    }
    if (nhas && BSON_ITER_HOLDS_DOCUMENT(&ni)) {
      bson_iter_document(&ni, &len, &data);
      bson_init_static(&n, data, len);
    }
    checkpoint__describe(&o, a, sizeof a);
    checkpoint__describe(&n, b, sizeof b);
    if (!ohas || !nhas || strcmp(a, b) != 0) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--resume: the jobs changed since the checkpoint (%s%s "
                     "there, %s%s now: --split, --part or the files differ): "
                     "resume with the same command, or load again without "
                     "--resume",
                     ohas ? a : "nothing", "", nhas ? b : "nothing", "");
      return false;
    }
    if (checkpoint__i64(&o, "size") != checkpoint__i64(&n, "size") ||
        checkpoint__i64(&o, "mtime_ns") != checkpoint__i64(&n, "mtime_ns") ||
        checkpoint__i64(&o, "head_hash") != checkpoint__i64(&n, "head_hash")) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--resume: %s changed since the checkpoint (size, time "
                     "or content): it cannot be resumed; load it again "
                     "without --resume",
                     checkpoint__str(&n, "path"));
      return false;
    }
  }
  return true;
}

/* Reads the checkpoint file: its plan must be this run's; its marks are
 * taken. */
static bool checkpoint__load(checkpoint_t *cp, bson_error_t *error)
{
  bson_json_reader_t *reader = bson_json_reader_new_from_file(cp->path, error);
  if (!reader) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno,
                   "--resume: %s: %s", cp->path, strerror(errno));
    return false;
  }
  bson_t doc = BSON_INITIALIZER;
  bson_error_t json_error;
  int rc = bson_json_reader_read(reader, &doc, &json_error);
  bson_json_reader_destroy(reader);
  bool ok = false;
  bson_t plan, marks;
  if (rc != 1) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume: %s is not a checkpoint: %s", cp->path,
                   rc < 0 ? json_error.message : "empty");
    goto out;
  }
  if (checkpoint__i64(&doc, "version") != CHECKPOINT_VERSION) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume: %s was written by another version of the "
                   "loader (format %" PRId64 ", this one reads %d): load "
                   "again without --resume",
                   cp->path, checkpoint__i64(&doc, "version"),
                   CHECKPOINT_VERSION);
    goto out;
  }
  if (!checkpoint__sub(&doc, "plan", &plan) ||
      !checkpoint__same_plan(cp, &plan, error))
    goto out;
  int64_t window = checkpoint__i64(&doc, "window");
  cp->window_read = cp->window = window > 0 ? (uint64_t)window : 0;
  bson_iter_t it;
  if (checkpoint__sub(&doc, "marks", &marks) && bson_iter_init(&it, &marks)) {
    while (bson_iter_next(&it)) {
      uint32_t len;
      const uint8_t *data;
      bson_t e;
      if (!BSON_ITER_HOLDS_DOCUMENT(&it))
        continue;
      bson_iter_document(&it, &len, &data);
      if (!bson_init_static(&e, data, len))
        continue;
      int64_t j = checkpoint__i64(&e, "job");
      if (j < 0 || (uint64_t)j >= cp->n_jobs)
        continue;
      cp->marks[j] =
          (mark_t){.offset = (uint64_t)checkpoint__i64(&e, "offset"),
                   .line = (uint64_t)checkpoint__i64(&e, "line"),
                   .processed = (uint64_t)checkpoint__i64(&e, "processed"),
                   .inserted = (uint64_t)checkpoint__i64(&e, "inserted"),
                   .updated = (uint64_t)checkpoint__i64(&e, "updated"),
                   .deleted = (uint64_t)checkpoint__i64(&e, "deleted"),
                   .unmatched = (uint64_t)checkpoint__i64(&e, "unmatched"),
                   .rejected = (uint64_t)checkpoint__i64(&e, "rejected"),
                   .prior = checkpoint__i64(&e, "prior"),
                   .done = checkpoint__bool(&e, "done")};
      cp->has[j] = true;
    }
  }
  ok = true;
out:
  bson_destroy(&doc);
  return ok;
}

checkpoint_t *checkpoint_open(const char *path, const bson_t *settings,
                              const job_t *jobs, size_t n_jobs, bool resume,
                              bson_error_t *error)
{
  checkpoint_t *cp = calloc(1, sizeof *cp);
  if (!cp)
    goto out_oom;
  cp->plan = bson_new();
  cp->path = strdup(path);
  size_t len = strlen(path) + 8;
  cp->tmp = malloc(len);
  cp->keys = calloc(n_jobs + 1, sizeof *cp->keys);
  cp->marks = calloc(n_jobs + 1, sizeof *cp->marks);
  cp->has = calloc(n_jobs + 1, sizeof *cp->has);
  if (!cp->path || !cp->tmp || !cp->keys || !cp->marks || !cp->has)
    goto out_oom;
  snprintf(cp->tmp, len, "%s.tmp", path);
  cp->jobs = jobs;
  cp->n_jobs = n_jobs;
  pthread_mutex_init(&cp->lock, NULL);
  if (!checkpoint__plan(cp, settings, error))
    goto out_fail;
  if (resume && !checkpoint__load(cp, error))
    goto out_fail;
  return cp;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
out_fail:
  checkpoint_destroy(cp);
  return NULL;
}

uint64_t checkpoint_window(const checkpoint_t *cp)
{
  return cp->window_read;
}

void checkpoint_set_window(checkpoint_t *cp, uint64_t docs)
{
  /* A run resumed with fewer batches in flight may be interrupted before
   * its jobs pass the window of the run it resumed: keep the larger. */
  if (docs > cp->window_read)
    cp->window = docs;
}

bool checkpoint_get(checkpoint_t *cp, size_t job, mark_t *mark)
{
  pthread_mutex_lock(&cp->lock);
  bool has = cp->has[job];
  if (has)
    *mark = cp->marks[job];
  pthread_mutex_unlock(&cp->lock);
  return has;
}

bool checkpoint_adopt(checkpoint_t *cp, size_t job, const mark_t *mark)
{
  pthread_mutex_lock(&cp->lock);
  bool take = !cp->has[job] || mark->offset > cp->marks[job].offset;
  if (take) {
    bool done = cp->has[job] && cp->marks[job].done;
    cp->marks[job] = *mark;
    cp->marks[job].done = mark->done || done;
    cp->has[job] = true;
  }
  pthread_mutex_unlock(&cp->lock);
  return take;
}

const char *checkpoint_key(const checkpoint_t *cp, size_t job)
{
  return cp->keys[job];
}

bool checkpoint_covers(void *p, const char *file, uint64_t offset)
{
  checkpoint_t *cp = p;
  bool in_plan = false, covered = false;
  pthread_mutex_lock(&cp->lock);
  for (size_t j = 0; j < cp->n_jobs; j++) {
    const job_t *jb = &cp->jobs[j];
    if (strcmp(jb->path, file) != 0)
      continue;
    in_plan = true;
    if (offset >= jb->start && offset < jb->end)
      covered =
          cp->has[j] && (cp->marks[j].done || offset < cp->marks[j].offset);
  }
  pthread_mutex_unlock(&cp->lock);
  return covered || !in_plan;
}

/* Writes the file: the plan, the window and every job's mark. Under
 * cp->lock. */
static bool checkpoint__write(checkpoint_t *cp, bson_error_t *error)
{
  bson_t doc = BSON_INITIALIZER, marks, e;
  BSON_APPEND_INT32(&doc, "version", CHECKPOINT_VERSION);
  BSON_APPEND_DOCUMENT(&doc, "plan", cp->plan);
  BSON_APPEND_INT64(&doc, "window", (int64_t)cp->window);
  BSON_APPEND_ARRAY_BEGIN(&doc, "marks", &marks);
  uint32_t n = 0;
  for (size_t j = 0; j < cp->n_jobs; j++) {
    if (!cp->has[j])
      continue;
    const mark_t *m = &cp->marks[j];
    char key[24];
    const char *k;
    bson_uint32_to_string(n++, &k, key, sizeof key);
    BSON_APPEND_DOCUMENT_BEGIN(&marks, k, &e);
    BSON_APPEND_INT64(&e, "job", (int64_t)j);
    BSON_APPEND_INT64(&e, "offset", (int64_t)m->offset);
    BSON_APPEND_INT64(&e, "line", (int64_t)m->line);
    BSON_APPEND_INT64(&e, "processed", (int64_t)m->processed);
    BSON_APPEND_INT64(&e, "inserted", (int64_t)m->inserted);
    BSON_APPEND_INT64(&e, "updated", (int64_t)m->updated);
    if (m->deleted || m->unmatched) { /* --mode delete only */
      BSON_APPEND_INT64(&e, "deleted", (int64_t)m->deleted);
      BSON_APPEND_INT64(&e, "unmatched", (int64_t)m->unmatched);
    }
    BSON_APPEND_INT64(&e, "rejected", (int64_t)m->rejected);
    BSON_APPEND_INT64(&e, "prior", m->prior);
    BSON_APPEND_BOOL(&e, "done", m->done);
    bson_append_document_end(&marks, &e);
  }
  bson_append_array_end(&doc, &marks);
  size_t len;
  char *json = bson_as_relaxed_extended_json(&doc, &len);
  bson_destroy(&doc);
  int fd = open(cp->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                0644);
  bool written = false;
  int err = errno;
  if (fd >= 0 && json) {
    written = true;
    for (size_t off = 0; off < len && written;) {
      ssize_t w = write(fd, json + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      written = w > 0;
      off += w > 0 ? (size_t)w : 0;
    }
    written = written && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    err = errno ? errno : EIO;
  }
  if (fd >= 0 && close(fd) != 0 && written) {
    written = false;
    err = errno;
  }
  bson_free(json);
  if (!written) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)err,
                   "--checkpoint: writing %s: %s", cp->tmp, strerror(err));
    if (fd >= 0)
      unlink(cp->tmp); /* a half-written copy; the checkpoint is intact */
    return false;
  }
  if (rename(cp->tmp, cp->path) != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "--checkpoint: %s: %s", cp->path, strerror(errno));
    return false;
  }
  return true;
}

bool checkpoint_put(checkpoint_t *cp, size_t job, const mark_t *mark,
                    bson_error_t *error)
{
  pthread_mutex_lock(&cp->lock);
  cp->marks[job] = *mark;
  cp->has[job] = true;
  bool ok = checkpoint__write(cp, error);
  pthread_mutex_unlock(&cp->lock);
  return ok;
}

bool checkpoint_save(checkpoint_t *cp, bson_error_t *error)
{
  pthread_mutex_lock(&cp->lock);
  bool ok = checkpoint__write(cp, error);
  pthread_mutex_unlock(&cp->lock);
  return ok;
}

void checkpoint_destroy(checkpoint_t *cp)
{
  if (!cp)
    return;
  if (cp->jobs)
    pthread_mutex_destroy(&cp->lock);
  if (cp->plan)
    bson_destroy(cp->plan);
  free(cp->path);
  free(cp->tmp);
  free(cp->keys);
  free(cp->marks);
  free(cp->has);
  free(cp);
}
