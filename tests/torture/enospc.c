/* enospc: an LD_PRELOAD shim that makes a disk look full for some files.
 *
 *   LOADER_ENOSPC_PATTERN  fnmatch(3) pattern of the paths concerned
 *                          (e.g. "*rejects*"); unset: the shim does nothing
 *   LOADER_ENOSPC_AFTER    bytes that may still be written to those paths,
 *                          counted over all of them in this process; every
 *                          write past that fails with ENOSPC (a write that
 *                          straddles the limit is cut short first, as a
 *                          real disk does)
 *   LOADER_ENOSPC_LOG      if set, a file where the shim notes each refusal
 *
 * Files are recognised when opened (open, open64, openat, openat64, creat,
 * fopen, fopen64, and the fortified __open_2 variants). write, writev,
 * pwrite and pwrite64 on their descriptors are counted. stdio does not go
 * through the exported write(), so a stream on such a file (fdopen, fopen)
 * is made a fopencookie() stream whose writes are counted the same way;
 * fileno() on it returns the real descriptor, so fsync(fileno(f)) works.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_STREAMS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char tracked[MAX_FDS];
static long long budget = -1; /* bytes left; -1: not configured yet */
static const char *pattern;
static struct {
  FILE *f;
  int fd;
} streams[MAX_STREAMS];

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static FILE *(*real_fdopen)(int, const char *);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static int (*real_fileno)(FILE *);
static int (*real_fclose)(FILE *);

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
#define LOOK(name) real_##name = dlsym(RTLD_NEXT, #name)
  LOOK(write);
  LOOK(writev);
  LOOK(pwrite);
  LOOK(pwrite64);
  LOOK(open);
  LOOK(open64);
  LOOK(openat);
  LOOK(openat64);
  LOOK(close);
  LOOK(fdopen);
  LOOK(fopen);
  LOOK(fopen64);
  LOOK(fileno);
  LOOK(fclose);
#undef LOOK
  pattern = getenv("LOADER_ENOSPC_PATTERN");
  const char *after = getenv("LOADER_ENOSPC_AFTER");
  budget = after ? atoll(after) : LLONG_MAX;
  if (budget < 0)
    budget = 0;
}

static void init(void)
{
  pthread_once(&once, init_once);
}

static void note(const char *what, int fd)
{
  const char *log = getenv("LOADER_ENOSPC_LOG");
  if (!log)
    return;
  int lfd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (lfd < 0)
    return;
  char buf[128];
  int n = snprintf(buf, sizeof buf, "%s fd %d: ENOSPC\n", what, fd);
  real_write(lfd, buf, (size_t)n);
  real_close(lfd);
}

static int matches(const char *path)
{
  return pattern && *pattern && path && fnmatch(pattern, path, 0) == 0;
}

static void track(int fd, const char *path)
{
  if (fd >= 0 && fd < MAX_FDS) {
    pthread_mutex_lock(&lock);
    tracked[fd] = (unsigned char)matches(path);
    pthread_mutex_unlock(&lock);
  }
}

static int is_tracked(int fd)
{
  return fd >= 0 && fd < MAX_FDS && tracked[fd];
}

/* How many of len bytes may go to fd: len, fewer, or -1 (ENOSPC). */
static ssize_t allow(int fd, size_t len, const char *what)
{
  if (!is_tracked(fd))
    return (ssize_t)len;
  pthread_mutex_lock(&lock);
  ssize_t n;
  if (len == 0) {
    n = 0;
  } else if (budget <= 0) {
    n = -1;
  } else {
    n = (long long)len <= budget ? (ssize_t)len : (ssize_t)budget;
  }
  pthread_mutex_unlock(&lock);
  if (n < 0)
    note(what, fd);
  return n;
}

static void spend(ssize_t n)
{
  if (n <= 0)
    return;
  pthread_mutex_lock(&lock);
  budget -= n;
  pthread_mutex_unlock(&lock);
}

ssize_t write(int fd, const void *buf, size_t len)
{
  init();
  ssize_t n = allow(fd, len, "write");
  if (n < 0) {
    errno = ENOSPC;
    return -1;
  }
  ssize_t got = real_write(fd, buf, (size_t)n);
  if (is_tracked(fd))
    spend(got);
  return got;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
  init();
  ssize_t n = allow(fd, len, "pwrite");
  if (n < 0) {
    errno = ENOSPC;
    return -1;
  }
  ssize_t got = real_pwrite(fd, buf, (size_t)n, off);
  if (is_tracked(fd))
    spend(got);
  return got;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
  init();
  ssize_t n = allow(fd, len, "pwrite64");
  if (n < 0) {
    errno = ENOSPC;
    return -1;
  }
  ssize_t got = real_pwrite64(fd, buf, (size_t)n, off);
  if (is_tracked(fd))
    spend(got);
  return got;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
  init();
  if (!is_tracked(fd))
    return real_writev(fd, iov, cnt);
  /* Write the pieces one by one through the counted write(). */
  ssize_t total = 0;
  for (int i = 0; i < cnt; i++) {
    ssize_t got = write(fd, iov[i].iov_base, iov[i].iov_len);
    if (got < 0)
      return total ? total : -1;
    total += got;
    if ((size_t)got < iov[i].iov_len)
      break;
  }
  return total;
}

static mode_t mode_arg(int flags, va_list ap)
{
  if (flags & (O_CREAT | O_TMPFILE))
    return (mode_t)va_arg(ap, int);
  return 0;
}

int open(const char *path, int flags, ...)
{
  init();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_open(path, flags, mode);
  track(fd, path);
  return fd;
}

int open64(const char *path, int flags, ...)
{
  init();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_open64(path, flags, mode);
  track(fd, path);
  return fd;
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
  return open(path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
  return open64(path, flags);
}

int openat(int dir, const char *path, int flags, ...)
{
  init();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_openat(dir, path, flags, mode);
  track(fd, path);
  return fd;
}

int openat64(int dir, const char *path, int flags, ...)
{
  init();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_openat64(dir, path, flags, mode);
  track(fd, path);
  return fd;
}

int creat(const char *path, mode_t mode)
{
  return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int close(int fd)
{
  init();
  if (fd >= 0 && fd < MAX_FDS) {
    pthread_mutex_lock(&lock);
    tracked[fd] = 0;
    pthread_mutex_unlock(&lock);
  }
  return real_close(fd);
}

/* --- stdio: streams on tracked descriptors write through a cookie ------- */

static ssize_t cookie_write(void *c, const char *buf, size_t len)
{
  int fd = (int)(intptr_t)c;
  size_t done = 0;
  while (done < len) {
    ssize_t got = write(fd, buf + done, len - done);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return done ? (ssize_t)done : -1;
    }
    done += (size_t)got;
  }
  return (ssize_t)done;
}

static ssize_t cookie_read(void *c, char *buf, size_t len)
{
  return read((int)(intptr_t)c, buf, len);
}

static int cookie_seek(void *c, off64_t *off, int whence)
{
  off64_t r = lseek64((int)(intptr_t)c, *off, whence);
  if (r < 0)
    return -1;
  *off = r;
  return 0;
}

static int cookie_close(void *c)
{
  return close((int)(intptr_t)c);
}

static FILE *wrap(int fd, const char *mode)
{
  cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek,
                              cookie_close};
  FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
  if (!f)
    return NULL;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (!streams[i].f) {
      streams[i].f = f;
      streams[i].fd = fd;
      break;
    }
  pthread_mutex_unlock(&lock);
  return f;
}

FILE *fdopen(int fd, const char *mode)
{
  init();
  if (is_tracked(fd) && strpbrk(mode, "wa+"))
    return wrap(fd, mode);
  return real_fdopen(fd, mode);
}

static int flags_of(const char *mode)
{
  int acc = strchr(mode, '+') ? O_RDWR : O_WRONLY;
  if (mode[0] == 'w')
    return acc | O_CREAT | O_TRUNC;
  if (mode[0] == 'a')
    return acc | O_CREAT | O_APPEND;
  return strchr(mode, '+') ? O_RDWR : O_RDONLY;
}

static FILE *open_stream(const char *path, const char *mode, int is64)
{
  init();
  if (!matches(path) || (mode[0] == 'r' && !strchr(mode, '+')))
    return is64 ? real_fopen64(path, mode) : real_fopen(path, mode);
  int flags = flags_of(mode) | O_CLOEXEC;
  if (strchr(mode, 'x'))
    flags |= O_EXCL;
  int fd = open(path, flags, 0666);
  if (fd < 0)
    return NULL;
  FILE *f = wrap(fd, mode);
  if (!f)
    real_close(fd);
  return f;
}

FILE *fopen(const char *path, const char *mode)
{
  return open_stream(path, mode, 0);
}

FILE *fopen64(const char *path, const char *mode)
{
  return open_stream(path, mode, 1);
}

int fileno(FILE *f)
{
  init();
  pthread_mutex_lock(&lock);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (streams[i].f == f) {
      int fd = streams[i].fd;
      pthread_mutex_unlock(&lock);
      return fd;
    }
  pthread_mutex_unlock(&lock);
  return real_fileno(f);
}

int fclose(FILE *f)
{
  init();
  pthread_mutex_lock(&lock);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (streams[i].f == f)
      streams[i].f = NULL;
  pthread_mutex_unlock(&lock);
  return real_fclose(f);
}
