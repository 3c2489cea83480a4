/* rejects: the CSV file of rejected rows. */
#include "loader/rejects.h"
#include "loader/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rejects {
  pthread_mutex_t lock; /* one row at a time */
  FILE *file;           /* the temporary file */
  char *path;           /* where it ends up */
  char *tmp;            /* where it is written */
  uint64_t rows;        /* rows written */
  int error;            /* first errno of a failed write, or 0 */
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

rejects_t *rejects_open(const char *path, bool append, bson_error_t *error)
{
  rejects_t *r = calloc(1, sizeof *r);
  if (!r)
    goto out_oom;
  r->path = strdup(path);
  size_t len = strlen(path) + 32;
  r->tmp = malloc(len);
  if (!r->path || !r->tmp)
    goto out_oom;
  snprintf(r->tmp, len, "%s.partial", path);
  /* Resuming: go on with the rows of the interrupted run, whether it got
   * to rename its file into place or not. */
  struct stat st;
  bool exists = false;
  if (append) {
    if (lstat(r->tmp, &st) == 0)
      exists = true;
    else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
      exists = rename(path, r->tmp) == 0;
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
    unlink(r->tmp);
    goto out_oom;
  }
  pthread_mutex_init(&r->lock, NULL);
  if (!exists)
    fputs("file,line,offset,column,reason,record\n", r->file);
  return r;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
out_free:
  if (r) {
    free(r->path);
    free(r->tmp);
    free(r);
  }
  return NULL;
}

bool rejects_write(rejects_t *r, const char *file, uint64_t line,
                   uint64_t offset, size_t column, const char *reason,
                   const char *raw, size_t raw_len)
{
  char nums[96];
  if (column)
    snprintf(nums, sizeof nums, ",%" PRIu64 ",%" PRIu64 ",%zu,", line, offset,
             column);
  else
    snprintf(nums, sizeof nums, ",%" PRIu64 ",%" PRIu64 ",,", line, offset);
  pthread_mutex_lock(&r->lock);
  rejects__field(r->file, file, strlen(file));
  fputs(nums, r->file);
  rejects__field(r->file, reason, strlen(reason));
  fputc(',', r->file);
  rejects__field(r->file, raw, raw_len);
  fputc('\n', r->file);
  r->rows++;
  bool ok = !ferror(r->file);
  if (!ok && !r->error)
    r->error = errno ? errno : EIO;
  pthread_mutex_unlock(&r->lock);
  return ok;
}

bool rejects_flush(rejects_t *r)
{
  pthread_mutex_lock(&r->lock);
  bool ok = fflush(r->file) == 0;
  if (!ok && !r->error)
    r->error = errno;
  pthread_mutex_unlock(&r->lock);
  return ok;
}

bool rejects_close(rejects_t *r, bson_error_t *error)
{
  if (!r)
    return true;
  bool ok = true;
  if (fflush(r->file) != 0 || fsync(fileno(r->file)) != 0)
    r->error = r->error ? r->error : errno;
  if (fclose(r->file) != 0 && !r->error)
    r->error = errno;
  if (r->error) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)r->error,
                   "--rejects: writing %s: %s", r->tmp, strerror(r->error));
    unlink(r->tmp);
    ok = false;
  } else if (rename(r->tmp, r->path) != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "--rejects: %s: %s",
                   r->path, strerror(errno));
    unlink(r->tmp);
    ok = false;
  }
  pthread_mutex_destroy(&r->lock);
  free(r->path);
  free(r->tmp);
  free(r);
  return ok;
}
