/* Helpers shared by the unit tests: a private temporary directory and files
 * written into it. Header-only (static inline) so each test stays one
 * executable. */
#ifndef LOADER_UNIT_HELPERS_H
#define LOADER_UNIT_HELPERS_H

#define _GNU_SOURCE 1

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); the caller frees the
 * returned path after uh_rmtree(). */
static inline char *uh_tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  if (!base || !*base)
    base = "/tmp";
  size_t len = strlen(base) + 32;
  char *dir = malloc(len);
  assert_non_null(dir);
  snprintf(dir, len, "%s/loader-unit-XXXXXX", base);
  assert_non_null(mkdtemp(dir));
  return dir;
}

/* Writes len bytes of data to dir/name and returns the path (malloc'd). */
static inline char *uh_write(const char *dir, const char *name,
                             const void *data, size_t len)
{
  size_t plen = strlen(dir) + strlen(name) + 2;
  char *path = malloc(plen);
  assert_non_null(path);
  snprintf(path, plen, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (len)
    assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  return path;
}

/* Writes a NUL-terminated string to dir/name. */
static inline char *uh_write_str(const char *dir, const char *name,
                                 const char *text)
{
  return uh_write(dir, name, text, strlen(text));
}

static inline int uh__rm(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes dir and everything in it. */
static inline void uh_rmtree(const char *dir)
{
  (void)nftw(dir, uh__rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
