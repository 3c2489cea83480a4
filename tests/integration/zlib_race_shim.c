/* An LD_PRELOAD shim for issue 11, hole 9: reports when one thread calls
 * into zlib on a gzFile (gzoffset, gztell) while another thread is inside
 * gzread on the same gzFile, or after it was closed. zlib is not built with
 * ThreadSanitizer, so TSan cannot see that race; this shim can. gzread
 * lingers 1 ms inside (with the gzFile marked busy) to widen the window.
 * Each finding is one line on stderr starting "zlib_race_shim:". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SLOTS 64
static struct {
  _Atomic(void *) gz;
  atomic_int busy;   /* threads inside gzread */
  atomic_int closed; /* gzclose was called */
} g[SLOTS];
static atomic_int g_reported;

static int slot(void *gz)
{
  for (int i = 0; i < SLOTS; i++)
    if (atomic_load(&g[i].gz) == gz)
      return i;
  for (int i = 0; i < SLOTS; i++) {
    void *none = NULL;
    if (atomic_compare_exchange_strong(&g[i].gz, &none, gz)) {
      atomic_store(&g[i].busy, 0);
      atomic_store(&g[i].closed, 0);
      return i;
    }
  }
  return -1;
}

static void report(const char *what, void *gz)
{
  if (atomic_fetch_add(&g_reported, 1) < 5) {
    char line[200];
    int n = snprintf(line, sizeof line,
                     "zlib_race_shim: %s on gzFile %p (thread %lu)\n", what, gz,
                     (unsigned long)pthread_self());
    (void)!write(2, line, (size_t)n);
  }
}

int gzread(gzFile file, voidp buf, unsigned len)
{
  static int (*real)(gzFile, voidp, unsigned);
  if (!real)
    real = (int (*)(gzFile, voidp, unsigned))dlsym(RTLD_NEXT, "gzread");
  int s = slot(file);
  if (s >= 0)
    atomic_fetch_add(&g[s].busy, 1);
  struct timespec ts = {0, 1000000};
  nanosleep(&ts, NULL);
  int r = real(file, buf, len);
  if (s >= 0)
    atomic_fetch_sub(&g[s].busy, 1);
  return r;
}

static void check(void *gz, const char *what)
{
  int s = slot(gz);
  if (s < 0)
    return;
  if (atomic_load(&g[s].closed))
    report(what, gz);
  else if (atomic_load(&g[s].busy))
    report(what, gz);
}

#define WRAP_OFF(name, type)                                                   \
  type name(gzFile file)                                                       \
  {                                                                            \
    static type (*real)(gzFile);                                               \
    if (!real)                                                                 \
      real = (type(*)(gzFile))dlsym(RTLD_NEXT, #name);                         \
    check(file, #name " while another thread is inside gzread, or after "      \
                      "gzclose");                                              \
    return real(file);                                                         \
  }

WRAP_OFF(gzoffset, z_off_t)
WRAP_OFF(gzoffset64, z_off64_t)
WRAP_OFF(gztell, z_off_t)
WRAP_OFF(gztell64, z_off64_t)

int gzclose(gzFile file)
{
  static int (*real)(gzFile);
  if (!real)
    real = (int (*)(gzFile))dlsym(RTLD_NEXT, "gzclose");
  int s = slot(file);
  int r = real(file);
  if (s >= 0)
    atomic_store(&g[s].gz, NULL); /* the pointer may be reused */
  return r;
}
