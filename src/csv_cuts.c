/* csv_cuts: where records start, without libcsv: the --split cut finder.
 *
 * The reader (csvr_read() in csv_reader.c) and this cut finder follow one
 * quoting rule, the one described at the top of csv_reader.c: change both
 * together, or a part could start inside a record. Here the rule is a byte
 * state machine that only tracks whether a record is open and whether
 * inside quotes, so a file can be cut at record starts in one pass much
 * faster than parsing it. The states are libcsv's (between records, at a
 * field's start, in an unquoted field, in a quoted one, just after a quote
 * in a quoted one, and there after spaces with --trim) plus a skipped
 * line; a record longer than CSVR_MAX_RECORD_BYTES is given up at the end
 * of the line where it crosses the limit, as the reader's csvr__feed()
 * does. Lines end at LF, CRLF and a lone CR. */
#include "loader/csv_reader.h"
#include "loader/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum csvr_scan_state {
  CSVR_S_REC,     /* between records */
  CSVR_S_SKIP,    /* in a skipped line (comment, --skip-lines) */
  CSVR_S_FIELD,   /* at the start of a field */
  CSVR_S_UNQ,     /* in an unquoted field */
  CSVR_S_QUO,     /* in a quoted field */
  CSVR_S_QEND,    /* after a quote in a quoted field */
  CSVR_S_QEND_SP, /* after that quote and spaces (--trim) */
} csvr_scan_state_t;

/* Steps the state machine over byte c; returns whether c ends a record. */
static inline bool csvr__scan_byte(const csv_dialect_t *d, csvr_scan_state_t *s,
                                   unsigned char c)
{
  bool term = c == '\n' || c == '\r';
  bool space = d->trim && (c == ' ' || c == '\t') && c != d->delimiter;
  switch (*s) {
  case CSVR_S_SKIP:
    return false;
  case CSVR_S_REC:
    /* libcsv starts no row on line ends, nor (--trim) on spaces: a line
     * of spaces is no record. */
    if (term || space)
      return false;
    *s = CSVR_S_FIELD;
    /* fall through */
  case CSVR_S_FIELD:
    if (space)
      return false;
    if (term)
      break;
    *s = c == d->delimiter ? CSVR_S_FIELD
         : c == d->quote   ? CSVR_S_QUO
                           : CSVR_S_UNQ;
    return false;
  case CSVR_S_UNQ:
    if (term)
      break;
    if (c == d->delimiter)
      *s = CSVR_S_FIELD;
    return false;
  case CSVR_S_QUO:
    if (c == d->quote)
      *s = CSVR_S_QEND;
    return false;
  case CSVR_S_QEND:
  case CSVR_S_QEND_SP:
    if (term)
      break;
    if (c == d->delimiter)
      *s = CSVR_S_FIELD;
    else if (space)
      *s = CSVR_S_QEND_SP;
    else if (c == d->quote)
      *s = *s == CSVR_S_QEND ? CSVR_S_QUO : CSVR_S_UNQ;
    else
      *s = CSVR_S_UNQ; /* malformed: the rest is unquoted */
    return false;
  }
  *s = CSVR_S_REC;
  return true;
}

bool csvr_find_cuts(const char *path, const csv_dialect_t *d, bool header,
                    uint64_t size, size_t parts, csvr_cut_t *cuts,
                    bson_error_t *error)
{
  bool ok = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  char *buf = malloc(CSVR_BLOCK_SIZE);
  if (fd < 0 || !buf) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", path,
                   fd < 0 ? strerror(errno) : "out of memory");
    goto out;
  }
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  cuts[0] = (csvr_cut_t){0, 1};
  size_t next = 1;
  uint64_t target = size / parts;
  csvr_scan_state_t s = CSVR_S_REC;
  bool need_header = header; /* no cut before the header has ended */
  bool line_start = true, pending_cr = false;
  uint64_t line = 1, pos = 0, rec_start = 0;
  ssize_t n = 0;
  while (next < parts && (n = read(fd, buf, CSVR_BLOCK_SIZE)) > 0) {
    size_t i = 0;
    if (pos == 0 && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
      i = 3; /* the byte-order mark, as csvr_read() skips it */
    for (; i < (size_t)n && next < parts; i++) {
      unsigned char c = (unsigned char)buf[i];
      uint64_t at = pos + i;
      if (pending_cr) {
        pending_cr = false;
        if (c != '\n') {
          line++; /* that CR ended a line by itself */
          line_start = true;
        }
      }
      if (line_start) {
        line_start = false;
        if (s != CSVR_S_REC && s != CSVR_S_SKIP &&
            at - rec_start > CSVR_MAX_RECORD_BYTES) {
          s = CSVR_S_REC; /* given up, the reader resynchronises here */
          need_header = false;
        }
        if (s == CSVR_S_SKIP)
          s = CSVR_S_REC;
        if (s == CSVR_S_REC) {
          while (!need_header && next < parts && at >= target) {
            cuts[next++] = (csvr_cut_t){at, line};
            target = size * next / parts;
          }
          if (line <= d->skip_lines ||
              (d->comment >= 0 && c == (unsigned char)d->comment))
            s = CSVR_S_SKIP;
          else if (c != '\n' && c != '\r')
            rec_start = at;
        }
      }
      if (csvr__scan_byte(d, &s, c))
        need_header = false;
      if (c == '\n') {
        line++;
        line_start = true;
      } else if (c == '\r') {
        pending_cr = true; /* a line end, unless an LF follows */
      }
    }
    pos += (uint64_t)n;
  }
  if (n < 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", path,
                   strerror(errno));
    goto out;
  }
  while (next < parts)
    cuts[next++] = (csvr_cut_t){size, line}; /* empty tail parts */
  cuts[parts] = (csvr_cut_t){size, line};
  ok = true;
out:
  if (fd >= 0)
    close(fd);
  free(buf);
  return ok;
}
