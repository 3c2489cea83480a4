/* source: the bytes of one input, read in fixed blocks.
 *
 * A regular file is read with read(2); a gzip file (recognised by its magic
 * bytes, whatever its name) is inflated on the fly with zlib, in blocks, so
 * neither costs memory in proportion to its size; "-" is standard input. */
#include "loader/source.h"
#include "loader/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct source {
  int fd;              /* the open file, read-only */
  gzFile gz;           /* the inflating reader of a gzip file, or NULL */
  uint64_t size;       /* size of the whole file (compressed for gzip; 0
                          for standard input) */
  uint64_t bytes_read; /* bytes delivered since the start offset */
  bool is_stdin;       /* reading standard input: not closed */
};

bool source_is_gzip(const char *path)
{
  if (strcmp(path, "-") == 0)
    return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  unsigned char magic[2];
  bool gz = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  close(fd);
  return gz;
}

source_t *source_open(const char *path, uint64_t start, bson_error_t *error)
{
  source_t *src = calloc(1, sizeof *src);
  if (!src) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return NULL;
  }
  if (strcmp(path, "-") == 0) {
    if (start > 0) {
      bson_set_error(error, LOADER_ERROR_IO, ESPIPE,
                     "standard input cannot be read from an offset");
      goto out_free;
    }
    src->fd = STDIN_FILENO;
    src->is_stdin = true;
    return src;
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
  unsigned char magic[2];
  if (pread(src->fd, magic, 2, 0) == 2 && magic[0] == 0x1f &&
      magic[1] == 0x8b) {
    int fd = dup(src->fd);
    src->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
    if (!src->gz) {
      if (fd >= 0)
        close(fd);
      bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "cannot open gzip");
      goto out_close;
    }
    gzbuffer(src->gz, 256 * 1024);
    /* Offsets are in inflated bytes; seeking inflates up to there. */
    if (start > 0 && gzseek(src->gz, (z_off_t)start, SEEK_SET) < 0) {
      bson_set_error(error, LOADER_ERROR_IO, EIO, "gzip: cannot seek");
      goto out_close;
    }
    return src;
  }
  if (start > 0 && lseek(src->fd, (off_t)start, SEEK_SET) < 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s",
                   strerror(errno));
    goto out_close;
  }
  (void)posix_fadvise(src->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return src;

out_close:
  if (src->gz)
    gzclose(src->gz);
  close(src->fd);
out_free:
  free(src);
  return NULL;
}

bool source_read(source_t *src, char *buf, size_t cap, size_t *n,
                 bson_error_t *error)
{
  if (src->gz) {
    int got = gzread(src->gz, buf, cap > INT32_MAX ? INT32_MAX : (unsigned)cap);
    if (got < 0) {
      int zerr;
      const char *msg = gzerror(src->gz, &zerr);
      bson_set_error(error, LOADER_ERROR_IO, EIO, "gzip: %s", msg);
      return false;
    }
    *n = (size_t)got;
    src->bytes_read += (uint64_t)got;
    return true;
  }
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

uint64_t source_position(const source_t *src)
{
  if (src->gz)
    return (uint64_t)gzoffset(src->gz);
  return src->bytes_read;
}

void source_close(source_t *src)
{
  if (!src)
    return;
  if (src->gz)
    gzclose(src->gz);
  if (!src->is_stdin)
    close(src->fd);
  free(src);
}
