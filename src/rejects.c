/* rejects: the CSV file of rejected rows. */
#include "loader/rejects.h"
#include "loader/error.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REJECTS_HEADER "file,line,offset,column,reason,record\n"

struct rejects {
  pthread_mutex_t lock; /* one row at a time; guards everything below */
  FILE *file;           /* the temporary file */
  char *path;           /* where it ends up */
  char *tmp;            /* where it is written */
  uint64_t rows;        /* rows written */
  bool dirty;           /* rows written since the last sync */
  int error;            /* errno of the first failed write, or 0: then
                           every write fails */
};

/* Writes s[0..len) as one CSV field, quoted when it needs to be. */
static void rejects__field(FILE *f, const char *s, size_t len)
{
  bool quote = false;
  for (size_t i = 0; i < len && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!quote) {
    fwrite(s, 1, len, f);
    return;
  }
  fputc('"', f);
  const char *p = s;
  const char *end = s + len;
  while (p < end) {
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q) {
      fwrite(p, 1, (size_t)(end - p), f);
      break;
    }
    fwrite(p, 1, (size_t)(q + 1 - p), f);
    fputc('"', f);
    p = q + 1;
  }
  fputc('"', f);
}

/* Fills error for the first failed write. Caller holds r->lock. */
static bool rejects__failed(rejects_t *r, bson_error_t *error)
{
  if (error)
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)r->error,
                   "--rejects: writing %s: %s", r->tmp, strerror(r->error));
  return false;
}

/* --- rewriting an interrupted run's file (--resume) ---------------------- */

/* The state of one rewrite: the old file parsed with libcsv, the rows kept
 * written again, field by field, to the new one. */
typedef struct rejects_rewrite {
  FILE *out;            /* the new file */
  rejects_keep_fn keep; /* which rows stay */
  void *keep_ctx;       /* its context */
  char **fields;        /* the current row's fields (owned copies) */
  size_t *lens;         /* their lengths */
  size_t n;             /* fields in the current row */
  size_t cap;           /* entries allocated */
  uint64_t rows;        /* rows seen, the header included */
  bool oom;             /* an allocation failed */
} rejects_rewrite_t;

static void rejects__rw_field(void *data, size_t len, void *p)
{
  rejects_rewrite_t *w = p;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 8;
    char **f = realloc(w->fields, cap * sizeof *f);
    size_t *l = f ? realloc(w->lens, cap * sizeof *l) : NULL;
    if (!f || !l) {
      if (f)
        w->fields = f;
      w->oom = true;
      return;
    }
    w->fields = f;
    w->lens = l;
    w->cap = cap;
  }
  char *copy = malloc(len + 1);
  if (!copy) {
    w->oom = true;
    return;
  }
  if (len)
    memcpy(copy, data, len);
  copy[len] = '\0';
  w->fields[w->n] = copy;
  w->lens[w->n++] = len;
}

static void rejects__rw_clear(rejects_rewrite_t *w)
{
  for (size_t i = 0; i < w->n; i++)
    free(w->fields[i]);
  w->n = 0;
}

/* End of a row: c is the line end that closed it, or -1 at the end of the
 * file, where a row was cut short by a crash: it is dropped. */
static void rejects__rw_row(int c, void *p)
{
  rejects_rewrite_t *w = p;
  if (c >= 0 && w->rows++ > 0 && w->n == 6 && !w->oom) {
    char *end;
    uint64_t offset = strtoull(w->fields[2], &end, 10);
    if (*end == '\0' && w->keep(w->keep_ctx, w->fields[0], offset)) {
      for (size_t i = 0; i < 6; i++) {
        if (i)
          fputc(',', w->out);
        rejects__field(w->out, w->fields[i], w->lens[i]);
      }
      fputc('\n', w->out);
    }
  }
  rejects__rw_clear(w);
}

/* Rewrites the file at from into to with the rows keep() accepts. */
static bool rejects__rewrite(const char *from, const char *to,
                             rejects_keep_fn keep, void *keep_ctx,
                             bson_error_t *error)
{
  bool ok = false;
  FILE *in = fopen(from, "rb");
  int fd =
      open(to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  rejects_rewrite_t w = {.keep = keep, .keep_ctx = keep_ctx};
  w.out = fd >= 0 ? fdopen(fd, "w") : NULL;
  struct csv_parser parser;
  bool parser_ok = csv_init(&parser, 0) == 0;
  if (!in || !w.out || !parser_ok) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "--resume: rewriting %s: %s", from, strerror(errno));
    goto out;
  }
  fputs(REJECTS_HEADER, w.out);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    if (csv_parse(&parser, buf, n, rejects__rw_field, rejects__rw_row, &w) != n)
      break;
  csv_fini(&parser, rejects__rw_field, rejects__rw_row, &w);
  bool written = !ferror(in) && !w.oom && fflush(w.out) == 0 &&
                 fsync(fileno(w.out)) == 0 && !ferror(w.out);
  if (!written) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "--resume: rewriting %s: %s", from,
                   w.oom ? "out of memory" : strerror(errno));
    goto out;
  }
  ok = true;
out:
  rejects__rw_clear(&w);
  free(w.fields);
  free(w.lens);
  if (parser_ok)
    csv_free(&parser);
  if (in)
    fclose(in);
  if (w.out)
    fclose(w.out);
  else if (fd >= 0)
    close(fd);
  if (!ok && fd >= 0)
    unlink(to); /* ours: the old file is untouched */
  return ok;
}

rejects_t *rejects_open(const char *path, rejects_keep_fn keep, void *keep_ctx,
                        bson_error_t *error)
{
  rejects_t *r = calloc(1, sizeof *r);
  char *fresh = NULL;
  if (!r)
    goto out_oom;
  r->path = strdup(path);
  size_t len = strlen(path) + 32;
  r->tmp = malloc(len);
  fresh = malloc(len);
  if (!r->path || !r->tmp || !fresh)
    goto out_oom;
  snprintf(r->tmp, len, "%s.partial", path);
  snprintf(fresh, len, "%s.resume", path);
  /* Resuming: go on with the rows of the interrupted run, whether it got
   * to rename its file into place or not, less the rows past its
   * checkpoints (they are met and written again). */
  struct stat st;
  bool exists = false;
  if (keep) {
    const char *old = NULL;
    if (lstat(r->tmp, &st) == 0 && S_ISREG(st.st_mode))
      old = r->tmp;
    else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
      old = path;
    if (old) {
      if (!rejects__rewrite(old, fresh, keep, keep_ctx, error))
        goto out_free;
      if (rename(fresh, r->tmp) != 0) {
        bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                       "--rejects: %s: %s", r->tmp, strerror(errno));
        unlink(fresh);
        goto out_free;
      }
      if (old == path)
        unlink(path); /* its rows are all in PATH.partial now */
      exists = true;
    }
  }
  int fd = open(r->tmp,
                O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
                    (exists ? O_APPEND : O_TRUNC),
                0644);
  if (fd < 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "--rejects: %s: %s",
                   r->tmp, strerror(errno));
    goto out_free;
  }
  r->file = fdopen(fd, "w");
  if (!r->file) {
    close(fd);
    goto out_oom;
  }
  pthread_mutex_init(&r->lock, NULL);
  if (!exists)
    fputs(REJECTS_HEADER, r->file);
  r->dirty = true;
  free(fresh);
  return r;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
out_free:
  if (r) {
    free(r->path);
    free(r->tmp);
    free(r);
  }
  free(fresh);
  return NULL;
}

bool rejects_write(rejects_t *r, const char *file, uint64_t line,
                   uint64_t offset, size_t column, const char *reason,
                   const char *raw, size_t raw_len, bson_error_t *error)
{
  char nums[96];
  if (column)
    snprintf(nums, sizeof nums, ",%" PRIu64 ",%" PRIu64 ",%zu,", line, offset,
             column);
  else
    snprintf(nums, sizeof nums, ",%" PRIu64 ",%" PRIu64 ",,", line, offset);
  pthread_mutex_lock(&r->lock);
  if (r->error) {
    rejects__failed(r, error);
    pthread_mutex_unlock(&r->lock);
    return false;
  }
  errno = 0;
  rejects__field(r->file, file, strlen(file));
  fputs(nums, r->file);
  rejects__field(r->file, reason, strlen(reason));
  fputc(',', r->file);
  rejects__field(r->file, raw, raw_len);
  fputc('\n', r->file);
  r->rows++;
  r->dirty = true;
  bool ok = !ferror(r->file);
  if (!ok) {
    r->error = errno ? errno : EIO;
    rejects__failed(r, error);
  }
  pthread_mutex_unlock(&r->lock);
  return ok;
}

bool rejects_sync(rejects_t *r, bson_error_t *error)
{
  pthread_mutex_lock(&r->lock);
  if (!r->error && r->dirty) {
    if (fflush(r->file) != 0 || fsync(fileno(r->file)) != 0)
      r->error = errno ? errno : EIO;
    else
      r->dirty = false;
  }
  bool ok = !r->error || rejects__failed(r, error);
  pthread_mutex_unlock(&r->lock);
  return ok;
}

bool rejects_close(rejects_t *r, bson_error_t *error)
{
  if (!r)
    return true;
  bool ok = true;
  if (!r->error && (fflush(r->file) != 0 || fsync(fileno(r->file)) != 0))
    r->error = errno ? errno : EIO;
  if (fclose(r->file) != 0 && !r->error)
    r->error = errno ? errno : EIO;
  if (r->error) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)r->error,
                   "--rejects: writing %s: %s (the rows written before "
                   "the failure are kept there)",
                   r->tmp, strerror(r->error));
    ok = false;
  } else if (rename(r->tmp, r->path) != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "--rejects: %s: %s (the rows are kept in %s)", r->path,
                   strerror(errno), r->tmp);
    ok = false;
  }
  pthread_mutex_destroy(&r->lock);
  free(r->path);
  free(r->tmp);
  free(r);
  return ok;
}
