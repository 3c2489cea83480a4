/* Unit tests of source: plain files from an offset; gzip whole, truncated,
 * corrupt, in concatenated members, with zero padding or garbage after the
 * last member, and resumed from an inflated offset; standard input (a pipe
 * or a file put on fd 0 with dup2), plain and gzip.
 *
 * The oracle for a broken gzip stream is zlib itself, run here over the
 * whole broken input at once: the source must deliver exactly the bytes
 * zlib can inflate before the break, all of them, before the read that
 * fails, and that failure must name the inflated offset where it broke. */
#include "unit_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <zlib.h>

#include "loader/error.h"
#include "loader/source.h"

/* --- data ------------------------------------------------------------------
 */

/* Text that compresses about 2:1, so that ~1 MB of it spans several of
 * the source's 256 KiB input blocks. */
static char *make_text(size_t len, uint32_t seed)
{
  char *t = malloc(len);
  assert_non_null(t);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    t[i] = i % 41 == 40 ? '\n' : "0123456789abcdef,"[(x >> 16) % 17];
  }
  return t;
}

/* Gzips data into a malloc'd buffer (one member). */
static unsigned char *gz_mem(const char *data, size_t len, size_t *out_len)
{
  z_stream zs = {0};
  assert_int_equal(
      deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&zs, (uLong)len) + 64;
  unsigned char *out = malloc(cap);
  assert_non_null(out);
  zs.next_in = (Bytef *)data;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  *out_len = zs.total_out;
  deflateEnd(&zs);
  return out;
}

/* What zlib inflates from the (broken) gzip bytes gz before it stops,
 * fed all at once: the count, the bytes in *out (malloc'd, when out is not
 * NULL) and inflate's last return code in *rc. */
static size_t zlib_inflatable(const unsigned char *gz, size_t len,
                              size_t max_out, int *rc, char **out)
{
  z_stream zs = {0};
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  char *buf = malloc(max_out + 1);
  assert_non_null(buf);
  zs.next_in = (Bytef *)gz;
  zs.avail_in = (uInt)len;
  zs.next_out = (Bytef *)buf;
  zs.avail_out = (uInt)max_out + 1;
  do
    *rc = inflate(&zs, Z_NO_FLUSH);
  while (*rc == Z_OK);
  size_t n = zs.total_out;
  inflateEnd(&zs);
  if (out)
    *out = buf;
  else
    free(buf);
  return n;
}

/* --- reading ---------------------------------------------------------------
 */

typedef struct got {
  char *data;         /* everything delivered */
  size_t len;         /* how much */
  bool ok;            /* reading reached the end without an error */
  bson_error_t error; /* the error, when !ok */
  size_t reads;       /* source_read() calls that delivered bytes */
} got_t;

/* Reads src to its end (or its error) cap bytes at a time; checks
 * source_bytes_read() and that source_position() never goes back or past
 * the file's size. */
static void read_all(source_t *src, size_t cap, got_t *g)
{
  memset(g, 0, sizeof *g);
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t have = 0;
  uint64_t pos = 0;
  for (;;) {
    size_t n = 12345;
    if (!source_read(src, buf, cap, &n, &g->error)) {
      /* A failing read delivers nothing, and keeps failing. */
      size_t again;
      bson_error_t e2;
      assert_false(source_read(src, buf, cap, &again, &e2));
      assert_int_equal(e2.domain, g->error.domain);
      break;
    }
    assert_true(n <= cap);
    if (n == 0) {
      g->ok = true;
      break;
    }
    g->reads++;
    if (g->len + n > have) {
      have = (g->len + n) * 2;
      g->data = realloc(g->data, have);
      assert_non_null(g->data);
    }
    memcpy(g->data + g->len, buf, n);
    g->len += n;
    assert_int_equal(source_bytes_read(src), g->len);
    uint64_t p = source_position(src);
    assert_true(p >= pos);
    if (source_size(src))
      assert_true(p <= source_size(src));
    pos = p;
  }
  free(buf);
}

static void got_free(got_t *g)
{
  free(g->data);
  memset(g, 0, sizeof *g);
}

/* Opens path at start and reads it all. */
static void open_read(const char *path, uint64_t start, size_t cap, got_t *g)
{
  bson_error_t error;
  source_t *src = source_open(path, start, &error);
  if (!src)
    fail_msg("source_open %s @%" PRIu64 ": %s", path, start, error.message);
  read_all(src, cap, g);
  source_close(src);
}

/* Returns the inflated offset an error message names, or -1. */
static int64_t named_offset(const char *msg)
{
  const char *p = strstr(msg, "inflated byte offset ");
  if (!p)
    return -1;
  return strtoll(p + strlen("inflated byte offset "), NULL, 10);
}

/* --- plain files -----------------------------------------------------------
 */

static void test_plain_from_offsets(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  size_t len = 700 * 1024;
  char *text = make_text(len, 1);
  char *path = uh_write(dir, "p.csv", text, len);
  uint64_t starts[] = {0, 1, 4095, 4096, 256 * 1024, len - 1, len, len + 10};
  size_t caps[] = {1, 7, 4096, 1 << 20};
  for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
    size_t cap = caps[i % 4];
    if (cap == 1 && starts[i] < len - 5000)
      cap = 3; /* not a million one-byte reads */
    got_t g;
    open_read(path, starts[i], cap, &g);
    assert_true(g.ok);
    size_t want = starts[i] < len ? len - (size_t)starts[i] : 0;
    assert_int_equal(g.len, want);
    if (want)
      assert_memory_equal(g.data, text + starts[i], want);
    got_free(&g);
  }
  bson_error_t error;
  source_t *src = source_open(path, 100, &error);
  assert_non_null(src);
  assert_int_equal(source_size(src), len);
  assert_int_equal(source_bytes_read(src), 0);
  assert_int_equal(source_position(src), 0);
  got_t g;
  read_all(src, 65536, &g);
  /* A plain source's position counts from its start offset. */
  assert_int_equal(source_position(src), len - 100);
  source_close(src);
  got_free(&g);
  assert_false(source_is_gzip(path));

  /* An empty file. */
  char *empty = uh_write(dir, "e.csv", "", 0);
  open_read(empty, 0, 16, &g);
  assert_true(g.ok);
  assert_int_equal(g.len, 0);
  assert_false(source_is_gzip(empty));
  /* One byte that starts gzip's magic is not gzip. */
  char *one = uh_write(dir, "one", "\x1f", 1);
  assert_false(source_is_gzip(one));
  open_read(one, 0, 16, &g);
  assert_int_equal(g.len, 1);
  got_free(&g);
  free(one);
  free(empty);
  free(path);
  free(text);
  uh_rmtree(dir);
  free(dir);
}

static void test_open_errors(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  bson_error_t error;
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/none", dir);
  assert_null(source_open(missing, 0, &error));
  assert_int_equal(error.domain, LOADER_ERROR_IO);
  assert_int_equal(error.code, ENOENT);
  /* The message does not repeat the path (the caller adds it). */
  assert_null(strstr(error.message, missing));
  assert_false(source_is_gzip(missing));
  assert_null(source_open(dir, 0, &error));
  assert_non_null(strstr(error.message, "not a regular file"));
  assert_false(source_is_gzip("-"));
  uh_rmtree(dir);
  free(dir);
}

/* --- gzip ------------------------------------------------------------------
 */

typedef struct gz_fx {
  char *dir;
  char *text;
  size_t len;
  unsigned char *gz;
  size_t gz_len;
} gz_fx_t;

static int gz_setup(void **state)
{
  gz_fx_t *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  fx->dir = uh_tmpdir();
  fx->len = 1100 * 1024;
  fx->text = make_text(fx->len, 7);
  fx->gz = gz_mem(fx->text, fx->len, &fx->gz_len);
  /* More than one of the source's 256 KiB input blocks. */
  assert_true(fx->gz_len > 300 * 1024);
  *state = fx;
  return 0;
}

static int gz_teardown(void **state)
{
  gz_fx_t *fx = *state;
  uh_rmtree(fx->dir);
  free(fx->dir);
  free(fx->text);
  free(fx->gz);
  free(fx);
  return 0;
}

static void test_gzip_whole(void **state)
{
  gz_fx_t *fx = *state;
  char *path = uh_write(fx->dir, "w.csv.gz", fx->gz, fx->gz_len);
  assert_true(source_is_gzip(path));
  size_t caps[] = {1000, 65536, 300 * 1024, 4u << 20};
  for (size_t i = 0; i < 4; i++) {
    bson_error_t error;
    source_t *src = source_open(path, 0, &error);
    assert_non_null(src);
    assert_int_equal(source_size(src), fx->gz_len);
    got_t g;
    read_all(src, caps[i], &g);
    if (!g.ok)
      fail_msg("%s", g.error.message);
    assert_int_equal(g.len, fx->len);
    assert_memory_equal(g.data, fx->text, fx->len);
    /* Progress is in compressed bytes, and reaches the end. */
    assert_int_equal(source_position(src), fx->gz_len);
    source_close(src);
    got_free(&g);
  }
  /* A name that says nothing: the magic bytes decide. */
  char *plain_name = uh_write(fx->dir, "data.csv", fx->gz, fx->gz_len);
  got_t g;
  open_read(plain_name, 0, 65536, &g);
  assert_true(g.ok);
  assert_int_equal(g.len, fx->len);
  got_free(&g);
  /* The gzip of nothing. */
  size_t el;
  unsigned char *egz = gz_mem("", 0, &el);
  char *epath = uh_write(fx->dir, "e.gz", egz, el);
  open_read(epath, 0, 100, &g);
  assert_true(g.ok);
  assert_int_equal(g.len, 0);
  free(epath);
  free(egz);
  free(plain_name);
  free(path);
}

/* Checks a broken gzip file: the bytes zlib can inflate are all delivered
 * (from start), then a read fails (LOADER_ERROR_INPUT) naming that offset
 * and, when given, why. When the deflate data is intact, those bytes are a
 * prefix of the text; corrupt data may inflate to other bytes before zlib
 * notices, and those are zlib's. */
static void check_broken(gz_fx_t *fx, const unsigned char *gz, size_t gz_len,
                         size_t text_len, uint64_t start, const char *why)
{
  int rc;
  char *want;
  size_t can = zlib_inflatable(gz, gz_len, text_len + 1024, &rc, &want);
  assert_int_not_equal(rc, Z_STREAM_END);
  char *path = uh_write(fx->dir, "broken.gz", gz, gz_len);
  size_t caps[] = {777, 65536, 2u << 20};
  for (size_t i = 0; i < 3; i++) {
    got_t g;
    bson_error_t error;
    source_t *src = source_open(path, start, &error);
    if (!src) {
      /* Broken before start: said when opening. */
      assert_true(start > can);
      assert_int_equal(error.domain, LOADER_ERROR_INPUT);
      break;
    }
    read_all(src, caps[i], &g);
    source_close(src);
    assert_false(g.ok);
    assert_int_equal(g.error.domain, LOADER_ERROR_INPUT);
    if (g.len + start != can)
      fail_msg("read %zu bytes from %" PRIu64 " (cap %zu), zlib inflates "
               "%zu: %s",
               g.len, start, caps[i], can, g.error.message);
    if (g.len)
      assert_memory_equal(g.data, want + start, g.len);
    if (named_offset(g.error.message) != (int64_t)can)
      fail_msg("error names another offset than %zu: %s", can, g.error.message);
    if (why && !strstr(g.error.message, why))
      fail_msg("error does not say \"%s\": %s", why, g.error.message);
    got_free(&g);
  }
  free(want);
  free(path);
}

static void test_gzip_truncated(void **state)
{
  gz_fx_t *fx = *state;
  /* Cut anywhere: in the header, in the deflate data (in the first input
   * block, at its edge, later), in the trailer. */
  size_t cuts[] = {5,
                   10,
                   11,
                   1000,
                   256 * 1024 - 1,
                   256 * 1024,
                   256 * 1024 + 1,
                   fx->gz_len / 2 + 3,
                   fx->gz_len - 8,
                   fx->gz_len - 4,
                   fx->gz_len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    int rc;
    char *got;
    size_t can = zlib_inflatable(fx->gz, cuts[i], fx->len, &rc, &got);
    /* A cut stream inflates to a prefix of the text. */
    assert_memory_equal(got, fx->text, can);
    free(got);
    check_broken(fx, fx->gz, cuts[i], fx->len, 0, "truncated");
    /* Resumed before the break: the same break. */
    if (can > 1000)
      check_broken(fx, fx->gz, cuts[i], fx->len, can / 3, "truncated");
  }
}

static void test_gzip_corrupt(void **state)
{
  gz_fx_t *fx = *state;
  unsigned char *bad = malloc(fx->gz_len);
  assert_non_null(bad);
  /* A flipped byte in the deflate data, early and late. */
  size_t flips[] = {40, 256 * 1024 + 17, fx->gz_len - 200};
  for (size_t i = 0; i < 3; i++) {
    memcpy(bad, fx->gz, fx->gz_len);
    bad[flips[i]] ^= 0x55;
    check_broken(fx, bad, fx->gz_len, fx->len, 0, NULL);
  }
  /* The CRC in the trailer: every byte inflates, the check fails. */
  memcpy(bad, fx->gz, fx->gz_len);
  bad[fx->gz_len - 6] ^= 1;
  int rc;
  assert_int_equal(zlib_inflatable(bad, fx->gz_len, fx->len, &rc, NULL),
                   fx->len);
  check_broken(fx, bad, fx->gz_len, fx->len, 0, "check");
  /* The length in the trailer. */
  memcpy(bad, fx->gz, fx->gz_len);
  bad[fx->gz_len - 1] ^= 1;
  check_broken(fx, bad, fx->gz_len, fx->len, 0, NULL);
  free(bad);
}

static void test_gzip_members_and_trailers(void **state)
{
  gz_fx_t *fx = *state;
  /* `cat a.gz b.gz c.gz`, one of them empty: read one after the other. */
  size_t la, lb, le;
  size_t half = fx->len / 2;
  unsigned char *a = gz_mem(fx->text, half, &la);
  unsigned char *e = gz_mem("", 0, &le);
  unsigned char *b = gz_mem(fx->text + half, fx->len - half, &lb);
  size_t total = la + le + lb + 4096 + 16;
  unsigned char *cat = malloc(total);
  assert_non_null(cat);
  memcpy(cat, a, la);
  memcpy(cat + la, e, le);
  memcpy(cat + la + le, b, lb);
  size_t n = la + le + lb;
  char *path = uh_write(fx->dir, "cat.gz", cat, n);
  got_t g;
  open_read(path, 0, 100000, &g);
  if (!g.ok)
    fail_msg("%s", g.error.message);
  assert_int_equal(g.len, fx->len);
  assert_memory_equal(g.data, fx->text, fx->len);
  got_free(&g);
  /* Resumed in the second member. */
  free(path);
  path = uh_write(fx->dir, "cat.gz", cat, n);
  open_read(path, half + 12345, 100000, &g);
  assert_true(g.ok);
  assert_int_equal(g.len, fx->len - half - 12345);
  assert_memory_equal(g.data, fx->text + half + 12345, g.len);
  got_free(&g);
  free(path);

  /* Zero padding after the last member (tape blocks): ignored. */
  memset(cat + n, 0, 4096);
  path = uh_write(fx->dir, "pad.gz", cat, n + 4096);
  open_read(path, 0, 100000, &g);
  if (!g.ok)
    fail_msg("%s", g.error.message);
  assert_int_equal(g.len, fx->len);
  got_free(&g);
  free(path);

  /* Anything else there: every byte of the members, then an error. */
  memcpy(cat + n + 100, "garbage", 7);
  path = uh_write(fx->dir, "junk.gz", cat, n + 107);
  open_read(path, 0, 100000, &g);
  assert_false(g.ok);
  assert_int_equal(g.error.domain, LOADER_ERROR_INPUT);
  assert_int_equal(g.len, fx->len);
  assert_memory_equal(g.data, fx->text, fx->len);
  assert_non_null(strstr(g.error.message, "after the end"));
  assert_int_equal(named_offset(g.error.message), (int64_t)fx->len);
  got_free(&g);
  free(path);
  free(cat);
  free(a);
  free(b);
  free(e);
}

static void test_gzip_resume_offsets(void **state)
{
  gz_fx_t *fx = *state;
  char *path = uh_write(fx->dir, "r.csv.gz", fx->gz, fx->gz_len);
  uint64_t starts[] = {1,           4096,   256 * 1024, 256 * 1024 + 1,
                       fx->len - 1, fx->len};
  for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
    bson_error_t error;
    source_t *src = source_open(path, starts[i], &error);
    assert_non_null(src);
    /* Counted from the start offset. */
    assert_int_equal(source_bytes_read(src), 0);
    got_t g;
    read_all(src, 50000, &g);
    source_close(src);
    assert_true(g.ok);
    assert_int_equal(g.len, fx->len - starts[i]);
    if (g.len)
      assert_memory_equal(g.data, fx->text + starts[i], g.len);
    got_free(&g);
  }
  /* Past the end of the inflated data. */
  bson_error_t error;
  assert_null(source_open(path, fx->len + 1, &error));
  assert_int_equal(error.domain, LOADER_ERROR_INPUT);
  assert_non_null(strstr(error.message, "shorter"));
  free(path);
}

/* --- standard input --------------------------------------------------------
 */

typedef struct feeder {
  int fd;
  const char *data;
  size_t len;
  size_t first; /* bytes of the first write (then the rest in chunks) */
} feeder_t;

static void *feed(void *p)
{
  feeder_t *f = p;
  size_t off = 0;
  while (off < f->len) {
    size_t chunk = off == 0 ? f->first : 4093;
    if (chunk > f->len - off)
      chunk = f->len - off;
    ssize_t w = write(f->fd, f->data + off, chunk);
    if (w <= 0)
      break;
    off += (size_t)w;
    if (off == f->first)
      usleep(20000); /* the reader sees the first bytes alone */
  }
  close(f->fd);
  return NULL;
}

/* Puts a pipe fed with data on fd 0, reads "-" with cap, and restores fd 0. */
static void read_stdin_pipe(const void *data, size_t len, size_t first,
                            size_t cap, got_t *g)
{
  int saved = dup(STDIN_FILENO);
  assert_true(saved >= 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
  close(p[0]);
  feeder_t f = {.fd = p[1], .data = data, .len = len, .first = first};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
  bson_error_t error;
  source_t *src = source_open("-", 0, &error);
  if (!src)
    fail_msg("source_open -: %s", error.message);
  assert_int_equal(source_size(src), 0);
  read_all(src, cap, g);
  source_close(src);
  pthread_join(t, NULL);
  /* source_close leaves fd 0 open: it is not the source's. */
  assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  close(saved);
}

static void test_stdin_plain(void **state)
{
  gz_fx_t *fx = *state;
  size_t firsts[] = {1, 2, 5000};
  for (size_t i = 0; i < 3; i++) {
    got_t g;
    read_stdin_pipe(fx->text, fx->len, firsts[i], 30000, &g);
    if (!g.ok)
      fail_msg("%s", g.error.message);
    assert_int_equal(g.len, fx->len);
    assert_memory_equal(g.data, fx->text, fx->len);
    got_free(&g);
  }
  /* Empty, and one byte. */
  got_t g;
  read_stdin_pipe("", 0, 0, 100, &g);
  assert_true(g.ok);
  assert_int_equal(g.len, 0);
  read_stdin_pipe("\x1f", 1, 1, 100, &g);
  assert_true(g.ok);
  assert_int_equal(g.len, 1);
  assert_memory_equal(g.data, "\x1f", 1);
  got_free(&g);

  /* A regular file on fd 0, and no offset on standard input. */
  char *path = uh_write(fx->dir, "in.csv", fx->text, 5000);
  int saved = dup(STDIN_FILENO);
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
  close(fd);
  bson_error_t error;
  assert_null(source_open("-", 10, &error));
  assert_int_equal(error.code, ESPIPE);
  source_t *src = source_open("-", 0, &error);
  assert_non_null(src);
  read_all(src, 999, &g);
  source_close(src);
  assert_true(g.ok);
  assert_int_equal(g.len, 5000);
  assert_memory_equal(g.data, fx->text, 5000);
  got_free(&g);
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  close(saved);
  free(path);
}

static void test_stdin_gzip(void **state)
{
  gz_fx_t *fx = *state;
  /* The magic bytes arrive one at a time, or with the rest. */
  size_t firsts[] = {1, 2, 70000};
  for (size_t i = 0; i < 3; i++) {
    got_t g;
    read_stdin_pipe(fx->gz, fx->gz_len, firsts[i], 65536, &g);
    if (!g.ok)
      fail_msg("%s", g.error.message);
    assert_int_equal(g.len, fx->len);
    assert_memory_equal(g.data, fx->text, fx->len);
    got_free(&g);
  }
  /* Truncated on standard input: the same promise as a file. */
  size_t cut = fx->gz_len / 2;
  int rc;
  size_t can = zlib_inflatable(fx->gz, cut, fx->len, &rc, NULL);
  got_t g;
  read_stdin_pipe(fx->gz, cut, 2, 65536, &g);
  assert_false(g.ok);
  assert_int_equal(g.error.domain, LOADER_ERROR_INPUT);
  assert_int_equal(g.len, can);
  assert_memory_equal(g.data, fx->text, can);
  assert_int_equal(named_offset(g.error.message), (int64_t)can);
  got_free(&g);
}

int main(void)
{
#define G(f) cmocka_unit_test_setup_teardown(f, gz_setup, gz_teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_from_offsets),
      cmocka_unit_test(test_open_errors),
      G(test_gzip_whole),
      G(test_gzip_truncated),
      G(test_gzip_corrupt),
      G(test_gzip_members_and_trailers),
      G(test_gzip_resume_offsets),
      G(test_stdin_plain),
      G(test_stdin_gzip),
  };
  return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
