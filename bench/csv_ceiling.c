/* csv-ceiling: how fast libcsv alone can parse a file on this machine.
 *
 * Reads FILE with read(2) in blocks of the loader's size (256 KiB) and hands
 * each block to csv_parse() with callbacks that only count fields and rows:
 * no copies, no documents, no sink. Whatever the loader does on top of this
 * costs time, so rows/s here is the ceiling for the loader's dry run.
 *
 * By default the parser is set up exactly as the loader sets it up
 * (CSV_EMPTY_IS_NULL, the ',' and '"' dialect, and a space function that
 * says no byte is a space, so that spaces are kept as data). Three switches
 * isolate costs the loader pays that the plain ceiling does not:
 *   --per-line       feed csv_parse() one physical line at a time, found
 *                    with memchr(), as csv_reader.c does;
 *   --default-space  leave libcsv's own space test (which trims spaces and
 *                    tabs) instead of the loader's space function;
 *   --copy           copy every field into a reused arena, as csv_reader.c
 *                    does.
 *
 * Output: one line of key=value pairs on stdout:
 *   rows=N fields=N bytes=N elapsed_s=S rows_per_s=R mb_per_s=M
 * "rows" counts every record, the header included. Exit 0, or 2 on a usage
 * or input error (with "csv-ceiling: message" on stderr). */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The block size of the loader's csv_reader.c (CSVR_BLOCK_SIZE). */
#define CEILING_BLOCK_SIZE (256u * 1024u)

/* What the callbacks count. */
typedef struct ceiling {
  uint64_t fields; /* fields seen, in all records */
  uint64_t rows;   /* records seen */
  bool copy;       /* copy each field into arena (--copy) */
  char *arena;     /* field bytes of the current record (--copy) */
  size_t arena_len;
  size_t arena_cap;
} ceiling_t;

static int ceiling__never_space(unsigned char c)
{
  (void)c;
  return 0;
}

static void ceiling__on_field(void *data, size_t len, void *ctx)
{
  ceiling_t *c = ctx;
  c->fields++;
  if (!c->copy || !data)
    return;
  if (c->arena_len + len + 1 > c->arena_cap) {
    size_t cap = c->arena_cap ? c->arena_cap : 4096;
    while (cap < c->arena_len + len + 1)
      cap *= 2;
    char *p = realloc(c->arena, cap);
    if (!p) {
      fprintf(stderr, "csv-ceiling: out of memory\n");
      exit(2);
    }
    c->arena = p;
    c->arena_cap = cap;
  }
  memcpy(c->arena + c->arena_len, data, len);
  c->arena[c->arena_len + len] = '\0';
  c->arena_len += len + 1;
}

static void ceiling__on_row(int term, void *ctx)
{
  (void)term;
  ceiling_t *c = ctx;
  c->rows++;
  c->arena_len = 0;
}

static double ceiling__now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ceiling__usage(FILE *out)
{
  fprintf(out, "Usage: csv-ceiling [--per-line] [--default-space] [--copy] "
               "FILE\n"
               "Parse FILE with libcsv and empty callbacks; print rows/s.\n");
}

int main(int argc, char **argv)
{
  bool per_line = false;
  bool default_space = false;
  ceiling_t c = {0};
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--per-line") == 0) {
      per_line = true;
    } else if (strcmp(argv[i], "--default-space") == 0) {
      default_space = true;
    } else if (strcmp(argv[i], "--copy") == 0) {
      c.copy = true;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      ceiling__usage(stdout);
      return 0;
    } else if (argv[i][0] == '-' || path) {
      ceiling__usage(stderr);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    ceiling__usage(stderr);
    return 2;
  }

  int status = 2;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "csv-ceiling: %s: %s\n", path, strerror(errno));
    return 2;
  }
  char *block = malloc(CEILING_BLOCK_SIZE);
  struct csv_parser parser;
  if (!block || csv_init(&parser, CSV_EMPTY_IS_NULL) != 0) {
    fprintf(stderr, "csv-ceiling: out of memory\n");
    goto out_free;
  }
  csv_set_delim(&parser, ',');
  csv_set_quote(&parser, '"');
  if (!default_space)
    csv_set_space_func(&parser, ceiling__never_space);

  uint64_t bytes = 0;
  double t0 = ceiling__now();
  for (;;) {
    ssize_t got = read(fd, block, CEILING_BLOCK_SIZE);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      fprintf(stderr, "csv-ceiling: %s: read: %s\n", path, strerror(errno));
      goto out_parser;
    }
    if (got == 0)
      break;
    bytes += (uint64_t)got;
    const char *p = block;
    const char *end = block + got;
    while (p < end) {
      size_t len = (size_t)(end - p);
      if (per_line) {
        const char *nl = memchr(p, '\n', len);
        if (nl)
          len = (size_t)(nl + 1 - p);
      }
      if (csv_parse(&parser, p, len, ceiling__on_field, ceiling__on_row, &c) !=
          len) {
        fprintf(stderr, "csv-ceiling: %s: libcsv: %s\n", path,
                csv_strerror(csv_error(&parser)));
        goto out_parser;
      }
      p += len;
    }
  }
  csv_fini(&parser, ceiling__on_field, ceiling__on_row, &c);
  double elapsed = ceiling__now() - t0;
  if (elapsed <= 0)
    elapsed = 1e-9;
  printf("rows=%llu fields=%llu bytes=%llu elapsed_s=%.6f rows_per_s=%.0f "
         "mb_per_s=%.2f\n",
         (unsigned long long)c.rows, (unsigned long long)c.fields,
         (unsigned long long)bytes, elapsed, (double)c.rows / elapsed,
         (double)bytes / elapsed / 1e6);
  status = 0;

out_parser:
  csv_free(&parser);
out_free:
  free(block);
  free(c.arena);
  close(fd);
  return status;
}
