/* source: the bytes of one input, read in fixed blocks with read(2). */
#include "loader/source.h"
#include "loader/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct source {
  int fd;              /* the open file, read-only */
  uint64_t size;       /* size of the whole file */
  uint64_t bytes_read; /* bytes read since the start offset */
};

source_t *source_open(const char *path, uint64_t start, bson_error_t *error)
{
  source_t *src = calloc(1, sizeof *src);
  if (!src) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return NULL;
  }
  src->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (src->fd < 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s",
                   strerror(errno));
    goto out_free;
  }
  struct stat st;
  if (fstat(src->fd, &st) != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s",
                   strerror(errno));
    goto out_close;
  }
  if (!S_ISREG(st.st_mode)) {
    bson_set_error(error, LOADER_ERROR_IO, EINVAL, "not a regular file");
    goto out_close;
  }
  src->size = (uint64_t)st.st_size;
  if (start > 0 && lseek(src->fd, (off_t)start, SEEK_SET) < 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s",
                   strerror(errno));
    goto out_close;
  }
  (void)posix_fadvise(src->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return src;

out_close:
  close(src->fd);
out_free:
  free(src);
  return NULL;
}

bool source_read(source_t *src, char *buf, size_t cap, size_t *n,
                 bson_error_t *error)
{
  for (;;) {
    ssize_t got = read(src->fd, buf, cap);
    if (got >= 0) {
      *n = (size_t)got;
      src->bytes_read += (uint64_t)got;
      return true;
    }
    if (errno == EINTR)
      continue;
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "read: %s",
                   strerror(errno));
    return false;
  }
}

uint64_t source_size(const source_t *src)
{
  return src->size;
}

uint64_t source_bytes_read(const source_t *src)
{
  return src->bytes_read;
}

void source_close(source_t *src)
{
  if (!src)
    return;
  close(src->fd);
  free(src);
}
