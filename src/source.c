/* source: the bytes of one input, read in fixed blocks.
 *
 * A regular file is read with read(2); a gzip file (recognised by its magic
 * bytes, whatever its name) is inflated on the fly with zlib's inflate(), in
 * blocks, so neither costs memory in proportion to its size; "-" is
 * standard input, inflated too when it starts with gzip's magic bytes.
 *
 * A gzip stream that is corrupt or ends early is an error at the inflated
 * offset where it broke, never a short end of file. Every byte inflated
 * before a break is delivered first (the records it completes are whole);
 * the read after it fails, so the record the break cuts is never taken as
 * complete. Concatenated members (`cat a.gz b.gz`) are read one after the
 * other, as gzip(1) does; zero bytes after the last member (tape padding)
 * are ignored, anything else there is an error. */
#include "loader/source.h"
#include "loader/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SOURCE_IN_SIZE (256u * 1024u)

struct source {
  int fd;                    /* the open file, read-only */
  bool is_stdin;             /* reading standard input: not closed */
  bool gzip;                 /* the bytes are inflated */
  z_stream zs;               /* zlib's state, when gzip */
  unsigned char *in;         /* compressed bytes read ahead (gzip), or the bytes
                                read to sniff standard input */
  size_t in_len;             /* bytes in `in` (plain standard input) */
  size_t in_pos;             /* bytes of `in` already delivered (plain stdin) */
  bool in_eof;               /* read() said end of file */
  bool member_done;          /* inflate() ended a member: another may follow */
  uint64_t size;             /* size of the whole file (compressed for gzip; 0
                                for standard input) */
  uint64_t start;            /* the inflated offset reading started at */
  uint64_t bytes_read;       /* bytes delivered since the start offset */
  uint64_t in_total;         /* compressed bytes read from the file */
  char broken[160];          /* why the stream broke, once it has: the next read
                                fails with it */
  _Atomic uint64_t position; /* how far into the file reading got
                                (compressed bytes for gzip), published by
                                the reading thread for progress */
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

/* read(2) that retries on EINTR. */
static ssize_t source__read_fd(int fd, void *buf, size_t cap)
{
  for (;;) {
    ssize_t got = read(fd, buf, cap);
    if (got >= 0 || errno != EINTR)
      return got;
  }
}

/* Refills zlib's input from the file. Returns false on a read error. */
static bool source__fill(source_t *src, bson_error_t *error)
{
  if (src->zs.avail_in > 0 || src->in_eof)
    return true;
  ssize_t got = source__read_fd(src->fd, src->in, SOURCE_IN_SIZE);
  if (got < 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "read: %s",
                   strerror(errno));
    return false;
  }
  src->in_eof = got == 0;
  src->in_total += (uint64_t)got;
  src->zs.next_in = src->in;
  src->zs.avail_in = (uInt)got;
  return true;
}

/* Starts inflating; the first `have` bytes of src->in are already read. */
static bool source__gzip_begin(source_t *src, size_t have)
{
  src->gzip = true;
  src->zs.next_in = src->in;
  src->zs.avail_in = (uInt)have;
  /* 15 + 16: a gzip wrapper (not zlib, not raw deflate). */
  return inflateInit2(&src->zs, 15 + 16) == Z_OK;
}

/* After the end of a member: another member follows, or only zero padding,
 * or the input has ended. Returns false with *why set for anything else. */
static bool source__next_member(source_t *src, bool *more, const char **why,
                                bson_error_t *error)
{
  *more = false;
  for (;;) {
    if (!source__fill(src, error))
      return false;
    if (src->zs.avail_in == 0)
      return true; /* the end */
    if (src->zs.next_in[0] == 0x1f) {
      if (inflateReset(&src->zs) != Z_OK) {
        *why = "cannot reset zlib";
        return false;
      }
      *more = true;
      return true;
    }
    while (src->zs.avail_in > 0 && src->zs.next_in[0] == 0) {
      src->zs.next_in++;
      src->zs.avail_in--;
    }
    if (src->zs.avail_in > 0) {
      *why = "data after the end of the gzip stream";
      return false;
    }
  }
}

/* Inflates up to cap bytes into buf. */
static bool source__inflate(source_t *src, char *buf, size_t cap, size_t *n,
                            bson_error_t *error)
{
  *n = 0;
  if (src->broken[0]) {
    bson_set_error(error, LOADER_ERROR_INPUT, EIO,
                   "gzip stream broken at inflated byte offset %" PRIu64 ": %s",
                   src->start + src->bytes_read, src->broken);
    return false;
  }
  src->zs.next_out = (Bytef *)buf;
  src->zs.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
  const char *why = NULL;
  while (src->zs.avail_out > 0) {
    if (src->member_done) {
      bool more;
      if (!source__next_member(src, &more, &why, error)) {
        if (!why)
          return false; /* a read error */
        break;
      }
      if (!more)
        break; /* the end of the input */
      src->member_done = false;
    }
    if (!source__fill(src, error))
      return false;
    int rc = inflate(&src->zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      src->member_done = true;
      continue;
    }
    if (rc == Z_OK)
      continue;
    if (rc == Z_BUF_ERROR && src->zs.avail_in == 0 && src->in_eof) {
      why = "unexpected end of file (the stream is truncated)";
      break;
    }
    if (rc == Z_BUF_ERROR)
      continue; /* no progress possible yet: more input */
    why = src->zs.msg ? src->zs.msg : "invalid compressed data";
    break;
  }
  *n = (size_t)((char *)src->zs.next_out - buf);
  if (why) {
    /* What was inflated before the break is delivered now; the next read
     * reports the break. */
    snprintf(src->broken, sizeof src->broken, "%s", why);
    if (*n == 0)
      return source__inflate(src, buf, cap, n, error);
  }
  return true;
}

/* Skips the first start inflated bytes (resuming a gzip job). */
static bool source__skip(source_t *src, uint64_t start, bson_error_t *error)
{
  char *scratch = malloc(SOURCE_IN_SIZE);
  if (!scratch) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return false;
  }
  bool ok = true;
  for (uint64_t left = start; left > 0 && ok;) {
    size_t want = left < SOURCE_IN_SIZE ? (size_t)left : SOURCE_IN_SIZE;
    size_t got;
    ok = source__inflate(src, scratch, want, &got, error);
    if (ok && got == 0) {
      bson_set_error(error, LOADER_ERROR_INPUT, EIO,
                     "gzip stream shorter than the offset %" PRIu64, start);
      ok = false;
    }
    left -= ok ? got : 0;
  }
  free(scratch);
  return ok;
}

source_t *source_open(const char *path, uint64_t start, bson_error_t *error)
{
  source_t *src = calloc(1, sizeof *src);
  if (!src || !(src->in = malloc(SOURCE_IN_SIZE))) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    goto out_free;
  }
  if (strcmp(path, "-") == 0) {
    if (start > 0) {
      bson_set_error(error, LOADER_ERROR_IO, ESPIPE,
                     "standard input cannot be read from an offset");
      goto out_free;
    }
    src->fd = STDIN_FILENO;
    src->is_stdin = true;
    /* A pipe cannot be peeked at: read its first bytes and decide. */
    size_t have = 0;
    while (have < 2) {
      ssize_t got =
          source__read_fd(src->fd, src->in + have, SOURCE_IN_SIZE - have);
      if (got < 0) {
        bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "read: %s",
                       strerror(errno));
        goto out_free;
      }
      if (got == 0) {
        src->in_eof = true;
        break;
      }
      have += (size_t)got;
    }
    src->in_total = have;
    if (have >= 2 && src->in[0] == 0x1f && src->in[1] == 0x8b) {
      if (!source__gzip_begin(src, have))
        goto out_zlib;
    } else {
      src->in_len = have;
    }
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
    if (!source__gzip_begin(src, 0)) {
      close(src->fd);
      goto out_zlib;
    }
    /* Offsets are in inflated bytes: inflate up to there. */
    if (start > 0 && !source__skip(src, start, error))
      goto out_close;
    src->start = start;
    src->bytes_read = 0;
    return src;
  }
  if (start > 0 && lseek(src->fd, (off_t)start, SEEK_SET) < 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "%s",
                   strerror(errno));
    goto out_close;
  }
  src->start = start;
  (void)posix_fadvise(src->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return src;

out_zlib:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "cannot start zlib");
  goto out_free;
out_close:
  if (src->gzip)
    inflateEnd(&src->zs);
  close(src->fd);
out_free:
  if (src)
    free(src->in);
  free(src);
  return NULL;
}

bool source_read(source_t *src, char *buf, size_t cap, size_t *n,
                 bson_error_t *error)
{
  if (src->gzip) {
    if (!source__inflate(src, buf, cap, n, error))
      return false;
    src->bytes_read += *n;
    atomic_store_explicit(&src->position, src->in_total - src->zs.avail_in,
                          memory_order_relaxed);
    return true;
  }
  if (src->in_pos < src->in_len) {
    /* The bytes read from standard input to sniff it. */
    size_t take = src->in_len - src->in_pos;
    *n = take < cap ? take : cap;
    memcpy(buf, src->in + src->in_pos, *n);
    src->in_pos += *n;
  } else if (src->is_stdin && src->in_eof) {
    *n = 0;
  } else {
    ssize_t got = source__read_fd(src->fd, buf, cap);
    if (got < 0) {
      bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno, "read: %s",
                     strerror(errno));
      return false;
    }
    *n = (size_t)got;
  }
  src->bytes_read += *n;
  atomic_store_explicit(&src->position, src->bytes_read, memory_order_relaxed);
  return true;
}

bool source_inflates(const source_t *src)
{
  return src->gzip;
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
  return atomic_load_explicit(&src->position, memory_order_relaxed);
}

void source_close(source_t *src)
{
  if (!src)
    return;
  if (src->gzip)
    inflateEnd(&src->zs);
  if (!src->is_stdin)
    close(src->fd);
  free(src->in);
  free(src);
}
