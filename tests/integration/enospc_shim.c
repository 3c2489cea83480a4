/* An LD_PRELOAD shim for tests: writes to a file whose path contains
 * $LOADER_ENOSPC_MATCH fail with ENOSPC once $LOADER_ENOSPC_AFTER bytes
 * (default 0) have been written to such files by the process.
 *
 * glibc's stdio writes through an internal write() that LD_PRELOAD cannot
 * reach, so a stream opened on a matching file (fopen, fdopen) is replaced
 * by an fopencookie() stream whose writes go through the same budget;
 * fileno() on it still answers the real descriptor (for fsync, fstat).
 * write, pwrite, writev and dprintf on a matching descriptor are caught
 * directly. Nothing else is changed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_llong g_used; /* bytes written to matching files so far */

/* Whether descriptor fd is open on a path containing the match string. */
static int shim_fd_matches(int fd)
{
  const char *match = getenv("LOADER_ENOSPC_MATCH");
  if (!match || !*match || fd < 0)
    return 0;
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0)
    return 0;
  target[n] = '\0';
  return strstr(target, match) != NULL;
}

/* How many of count bytes may still be written; 0 sets errno = ENOSPC. */
static size_t shim_allow(size_t count)
{
  const char *after = getenv("LOADER_ENOSPC_AFTER");
  long long budget = after ? atoll(after) : 0;
  long long used = atomic_load(&g_used);
  for (;;) {
    long long left = budget - used;
    if (left <= 0) {
      errno = ENOSPC;
      return 0;
    }
    size_t ok = (long long)count < left ? count : (size_t)left;
    if (atomic_compare_exchange_weak(&g_used, &used, used + (long long)ok))
      return ok;
  }
}

static ssize_t raw_write(int fd, const void *buf, size_t count)
{
  return syscall(SYS_write, fd, buf, count);
}

/* write() through the budget when fd matches. */
static ssize_t shim_write_fd(int fd, const void *buf, size_t count)
{
  if (count == 0 || !shim_fd_matches(fd))
    return raw_write(fd, buf, count);
  size_t ok = shim_allow(count);
  if (ok == 0)
    return -1;
  ssize_t w = raw_write(fd, buf, ok);
  if (w >= 0 && (size_t)w < ok)
    atomic_fetch_sub(&g_used, (long long)(ok - (size_t)w));
  return w;
}

ssize_t write(int fd, const void *buf, size_t count)
{
  return shim_write_fd(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
  if (count && shim_fd_matches(fd)) {
    size_t ok = shim_allow(count);
    if (ok == 0)
      return -1;
    count = ok;
  }
  return syscall(SYS_pwrite64, fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
  return pwrite(fd, buf, count, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
  if (!shim_fd_matches(fd))
    return syscall(SYS_writev, fd, iov, n);
  ssize_t total = 0;
  for (int i = 0; i < n; i++) {
    ssize_t w = shim_write_fd(fd, iov[i].iov_base, iov[i].iov_len);
    if (w < 0)
      return total ? total : -1;
    total += w;
    if ((size_t)w < iov[i].iov_len)
      break;
  }
  return total;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
  char *s = NULL;
  int len = vasprintf(&s, fmt, ap);
  if (len < 0)
    return -1;
  ssize_t w = shim_write_fd(fd, s, (size_t)len);
  free(s);
  return w == len ? len : -1;
}

int dprintf(int fd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = vdprintf(fd, fmt, ap);
  va_end(ap);
  return r;
}

/* Streams replaced by cookie streams, and their descriptors. */
#define SHIM_MAX_STREAMS 64
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  FILE *f;
  int fd;
} g_streams[SHIM_MAX_STREAMS];

static ssize_t cookie_read(void *c, char *buf, size_t size)
{
  return read((int)(intptr_t)c, buf, size);
}

/* As glibc writes a regular file: goes on after a short write, so that
 * the write that finds the disk full leaves errno = ENOSPC. A short count
 * sets the stream's error flag. */
static ssize_t cookie_write(void *c, const char *buf, size_t size)
{
  size_t done = 0;
  while (done < size) {
    ssize_t w = shim_write_fd((int)(intptr_t)c, buf + done, size - done);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    done += (size_t)w;
  }
  return (ssize_t)done;
}

static int cookie_seek(void *c, off64_t *off, int whence)
{
  off_t r = lseek((int)(intptr_t)c, (off_t)*off, whence);
  if (r < 0)
    return -1;
  *off = r;
  return 0;
}

static int cookie_close(void *c)
{
  int fd = (int)(intptr_t)c;
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < SHIM_MAX_STREAMS; i++)
    if (g_streams[i].f && g_streams[i].fd == fd)
      g_streams[i].f = NULL;
  pthread_mutex_unlock(&g_lock);
  return close(fd);
}

static FILE *shim_wrap(int fd, const char *mode)
{
  cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek,
                              cookie_close};
  FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
  if (!f)
    return NULL;
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < SHIM_MAX_STREAMS; i++)
    if (!g_streams[i].f) {
      g_streams[i].f = f;
      g_streams[i].fd = fd;
      break;
    }
  pthread_mutex_unlock(&g_lock);
  return f;
}

static int shim_mode_writes(const char *mode)
{
  return strpbrk(mode, "wa+") != NULL;
}

FILE *fdopen(int fd, const char *mode)
{
  if (shim_mode_writes(mode) && shim_fd_matches(fd))
    return shim_wrap(fd, mode);
  FILE *(*real)(int, const char *) =
      (FILE * (*)(int, const char *)) dlsym(RTLD_NEXT, "fdopen");
  return real(fd, mode);
}

static FILE *shim_fopen(const char *sym, const char *path, const char *mode)
{
  FILE *(*real)(const char *, const char *) =
      (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, sym);
  FILE *f = real(path, mode);
  const char *match = getenv("LOADER_ENOSPC_MATCH");
  if (!f || !match || !*match || !shim_mode_writes(mode) ||
      !strstr(path, match))
    return f;
  int fd = dup(fileno(f));
  fclose(f);
  return fd < 0 ? NULL : shim_wrap(fd, mode);
}

FILE *fopen(const char *path, const char *mode)
{
  return shim_fopen("fopen", path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
  return shim_fopen("fopen64", path, mode);
}

int fileno(FILE *f)
{
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < SHIM_MAX_STREAMS; i++)
    if (g_streams[i].f == f) {
      int fd = g_streams[i].fd;
      pthread_mutex_unlock(&g_lock);
      return fd;
    }
  pthread_mutex_unlock(&g_lock);
  int (*real)(FILE *) = (int (*)(FILE *))dlsym(RTLD_NEXT, "fileno");
  return real(f);
}
