/* csv_reader: libcsv wrapped into a record stream with physical line numbers.
 *
 * libcsv is a push parser that knows nothing of lines or offsets. To know
 * where each record starts, the reader feeds it one physical line at a time
 * (a "piece" is a line, or the part of one that lies in the current block):
 * whenever libcsv is between records at the start of a line, the next record
 * starts on that line, at that offset. memchr() finds the line ends, so the
 * extra cost is one call per line, not per byte.
 *
 * Fields are copied out of libcsv's callback into one arena reused from
 * record to record; the record is delivered from libcsv's end-of-row
 * callback, when the raw bytes of the whole record have been seen.
 *
 * Quoting follows one rule, the one RFC 4180 readers such as Python's csv
 * module apply, so that where a record ends never depends on who reads the
 * file. Both files follow it: this reader, and the --split cut finder
 * (csvr_find_cuts() in csv_cuts.c); change them together. A quote opens a
 * quoted field only as a field's first byte; inside, a doubled quote is a
 * quote and a single one closes the quoted part. A quote inside
 * an unquoted field is data ("5'11\" tall"). A closing quote followed by
 * anything but a delimiter, a quote or a line end ("abc"def) is malformed:
 * the quoted part ends there, the rest of the field is read as unquoted
 * data (so the record ends where such readers end it), and the record is
 * rejected. libcsv runs in strict mode to stop at both cases; the reader
 * steps over them and goes on. */
#include "loader/csv_reader.h"
#include "loader/error.h"

#include <csv.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libcsv's parser states (libcsv.c keeps them private). */
#define LIBCSV_ROW_NOT_BEGUN 0
#define LIBCSV_FIELD_BEGUN 2
#define LIBCSV_FIELD_MIGHT_HAVE_ENDED 3

/* Fields this short are copied out of libcsv as one fixed-size block. */
#define CSVR_COPY_SLACK 32u

struct csvr {
  source_t *src;            /* where the bytes come from (borrowed) */
  struct csv_parser parser; /* libcsv's state */
  csv_dialect_t dialect;    /* delimiter, quote, trim, comment, skip */
  char *block;              /* the current block of input */
  uint64_t offset;          /* file offset of the next byte to feed */
  uint64_t line;            /* physical line of the next byte to feed */
  uint64_t end_offset;      /* records starting here or later are not ours */
  bool at_line_start;       /* the next byte starts a physical line */
  bool skipping_line;       /* the current line is skipped (comment, skip) */
  bool in_record;           /* a record has started and not been delivered */
  bool oversized;           /* the current record grew past the limit */
  bool unterminated;        /* the input ended inside a quoted field */
  size_t malformed;         /* 1-based column of the first malformed
                               quote in the current record, or 0 */
  uint64_t rec_line;        /* line where the current record starts */
  uint64_t rec_offset;      /* offset where the current record starts */
  char *raw;                /* raw bytes of the current record */
  size_t raw_len;           /* bytes used in raw */
  size_t raw_cap;           /* bytes allocated for raw */
  char *arena;              /* field bytes of the current record, each
                               NUL-terminated */
  size_t arena_len;         /* bytes used in arena */
  size_t arena_cap;         /* bytes allocated for arena */
  size_t *field_at;         /* arena offset of each field, SIZE_MAX: NULL */
  bool arena_moved;         /* the arena moved during this record: the
                               fields' pointers are set again from
                               field_at */
  csv_field_t *fields;      /* the fields as delivered */
  size_t n_fields;          /* fields in the current record */
  size_t fields_cap;        /* entries allocated in the arrays above */
  bool oom;                 /* an allocation failed in a callback */
  csvr_record_fn fn;        /* the consumer */
  void *ctx;                /* its context */
  bool stop;                /* the consumer asked to stop */
  uint64_t empty_lines;     /* empty lines skipped */
  uint64_t done_offset;     /* offset just past the last delivered record */
  char problem[160];        /* the text of the last problem delivered */
  uint64_t piece_end;       /* offset just past the piece being parsed */
  bool blanks_fast;         /* the space function only where it matters */
};

void csvr_dialect_default(csv_dialect_t *dialect)
{
  dialect->delimiter = ',';
  dialect->quote = '"';
  dialect->trim = false;
  dialect->comment = -1;
  dialect->skip_lines = 0;
}

/* libcsv trims spaces and tabs around unquoted fields unless told that no
 * byte is a space: leading and trailing spaces are data. */
static int csvr__never_space(unsigned char c)
{
  (void)c;
  return 0;
}

static bool csvr__grow(void **buf, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return true;
  size_t n = *cap ? *cap : 64;
  while (n < need)
    n *= 2;
  void *p = realloc(*buf, n * elem);
  if (!p)
    return false;
  *buf = p;
  *cap = n;
  return true;
}

static bool csvr__init_parser(csvr_t *r)
{
  if (csv_init(&r->parser, CSV_EMPTY_IS_NULL | CSV_STRICT) != 0)
    return false;
  /* libcsv grows its field buffer by this much at a time; its default of
   * 128 bytes makes a multi-megabyte field cost quadratic copying. */
  csv_set_blk_size(&r->parser, 64 * 1024);
  csv_set_delim(&r->parser, r->dialect.delimiter);
  csv_set_quote(&r->parser, r->dialect.quote);
  if (!r->dialect.trim)
    csv_set_space_func(&r->parser, csvr__never_space);
  return true;
}

csvr_t *csvr_new(source_t *src, const csv_dialect_t *dialect,
                 uint64_t start_offset, uint64_t start_line,
                 uint64_t end_offset, bson_error_t *error)
{
  csvr_t *r = calloc(1, sizeof *r);
  if (!r)
    goto out_oom;
  r->src = src;
  r->dialect = *dialect;
  r->offset = start_offset;
  r->done_offset = start_offset;
  r->line = start_line;
  r->end_offset = end_offset;
  r->at_line_start = true;
  r->block = malloc(CSVR_BLOCK_SIZE);
  if (!r->block)
    goto out_free;
  if (!csvr__init_parser(r)) {
    free(r->block);
    goto out_free;
  }
  csvr_set_blanks_fast(r, true);
  return r;

out_free:
  free(r);
out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                 "out of memory creating the CSV reader");
  return NULL;
}

/* Makes room for n fields in the two per-field arrays. */
static bool csvr__reserve_fields(csvr_t *r, size_t n)
{
  if (n <= r->fields_cap)
    return true;
  size_t cap = r->fields_cap ? r->fields_cap * 2 : 64;
  while (cap < n)
    cap *= 2;
  size_t *at = realloc(r->field_at, cap * sizeof *at);
  if (!at)
    return false;
  r->field_at = at;
  csv_field_t *fields = realloc(r->fields, cap * sizeof *fields);
  if (!fields)
    return false;
  r->fields = fields;
  r->fields_cap = cap;
  return true;
}

/* Copies a field into the arena: every case (csvr__on_field() takes the
 * common one first). */
static __attribute__((noinline)) void csvr__on_field_any(void *data, size_t len,
                                                         void *ctx)
{
  csvr_t *r = ctx;
  size_t i = r->n_fields;
  if (i >= r->fields_cap && !csvr__reserve_fields(r, i + 1)) {
    r->oom = true;
    return;
  }
  if (!data) {
    r->field_at[i] = SIZE_MAX;
    r->fields[i] = (csv_field_t){NULL, 0};
  } else {
    /* The arena keeps CSVR_COPY_SLACK bytes spare, so that short fields are
     * copied as one fixed-size block (two vector moves, no call, no loop):
     * data is libcsv's field buffer, at least that long (it grows by 64
     * KiB), and the bytes copied past len are overwritten by the next
     * field. */
    size_t need = r->arena_len + len + 1 + CSVR_COPY_SLACK;
    if (need > r->arena_cap) {
      char *was = r->arena;
      if (!csvr__grow((void **)&r->arena, &r->arena_cap, need, 1)) {
        r->oom = true;
        return;
      }
      r->arena_moved |= r->arena != was;
    }
    char *dst = r->arena + r->arena_len;
    if (len <= CSVR_COPY_SLACK && r->parser.entry_size >= CSVR_COPY_SLACK)
      memcpy(dst, data, CSVR_COPY_SLACK);
    else
      memcpy(dst, data, len);
    dst[len] = '\0';
    r->field_at[i] = r->arena_len;
    r->fields[i] = (csv_field_t){dst, len};
    r->arena_len += len + 1;
  }
  r->n_fields = i + 1;
}

/* libcsv field callback: copy the field into the arena. A short field
 * when there is room for it and its entry is copied here without a call,
 * so that the common case saves no registers; the rest in
 * csvr__on_field_any(). */
static void csvr__on_field(void *data, size_t len, void *ctx)
{
  csvr_t *r = ctx;
  size_t i = r->n_fields, at = r->arena_len;
  if (data && i < r->fields_cap && len <= CSVR_COPY_SLACK &&
      at + len + 1 + CSVR_COPY_SLACK <= r->arena_cap &&
      r->parser.entry_size >= CSVR_COPY_SLACK) {
    char *dst = r->arena + at;
    memcpy(dst, data, CSVR_COPY_SLACK);
    dst[len] = '\0';
    r->field_at[i] = at;
    r->fields[i] = (csv_field_t){dst, len};
    r->arena_len = at + len + 1;
    r->n_fields = i + 1;
    return;
  }
  csvr__on_field_any(data, len, ctx);
}

/* Hands the current record to the consumer and forgets it. */
static void csvr__deliver(csvr_t *r, const char *problem)
{
  csv_record_t rec;
  size_t raw_len = r->raw_len;
  if (r->oversized) {
    /* Too large to keep: say where it is instead, so it can be cut out of
     * the file (dd skip=OFFSET count=BYTES). */
    snprintf(r->problem, sizeof r->problem,
             "record exceeds 16 MiB (lines %llu-%llu, %llu bytes at offset "
             "%llu)",
             (unsigned long long)r->rec_line, (unsigned long long)r->line,
             (unsigned long long)(r->offset - r->rec_offset),
             (unsigned long long)r->rec_offset);
    problem = r->problem;
    raw_len = 0;
  }
  while (raw_len > 0 &&
         (r->raw[raw_len - 1] == '\n' || r->raw[raw_len - 1] == '\r'))
    raw_len--;
  if (r->arena_moved)
    for (size_t i = 0; i < r->n_fields; i++)
      if (r->field_at[i] != SIZE_MAX)
        r->fields[i].data = r->arena + r->field_at[i];
  rec.fields = r->fields;
  rec.n_fields = problem ? 0 : r->n_fields;
  rec.line = r->rec_line;
  rec.end_line = r->line;
  rec.offset = r->rec_offset;
  rec.end_offset = r->piece_end;
  rec.raw = r->raw ? r->raw : "";
  rec.raw_len = raw_len;
  rec.problem = problem;
  rec.problem_column = problem && !r->oversized ? r->malformed : 0;
  rec.fields_from_raw = r->dialect.delimiter < 0x80 && r->dialect.quote < 0x80;
  if (!r->fn(r->ctx, &rec))
    r->stop = true;
  r->n_fields = 0;
  r->arena_len = 0;
  r->arena_moved = false;
  r->in_record = false;
}

/* libcsv end-of-row callback. */
static void csvr__on_row(int c, void *ctx)
{
  (void)c;
  csvr_t *r = ctx;
  if (r->oom || r->stop)
    return;
  const char *problem = NULL;
  if (r->malformed) {
    snprintf(r->problem, sizeof r->problem,
             "malformed quoting: a closing quote must be followed by a "
             "delimiter or a line end (a quote inside a quoted field is "
             "written twice)");
    problem = r->problem;
  } else if (r->unterminated) {
    problem = "unterminated quoted field";
  }
  csvr__deliver(r, problem);
  r->malformed = 0;
}

/* Feeds len bytes to libcsv, stepping over what strict mode stops at (see
 * the top of this file). Returns false when libcsv fails otherwise (out of
 * memory). */
static bool csvr__parse(csvr_t *r, const char *p, size_t len)
{
  struct csv_parser *cp = &r->parser;
  while (len > 0) {
    size_t n = csv_parse(cp, p, len, csvr__on_field, csvr__on_row, r);
    p += n;
    len -= n;
    if (len == 0 || csv_error(cp) != CSV_EPARSE)
      return len == 0;
    cp->status = CSV_SUCCESS;
    if (cp->pstate == LIBCSV_FIELD_MIGHT_HAVE_ENDED) {
      /* "abc"def: the quoted part is over; the rest is unquoted data. The
       * byte is fed again in that state. */
      if (!r->malformed)
        r->malformed = r->n_fields + 1;
      cp->quoted = 0;
      cp->spaces = 0;
      cp->pstate = LIBCSV_FIELD_BEGUN;
    } else {
      /* A quote inside an unquoted field: data, as in lax mode. */
      csv_set_opts(cp, (unsigned char)(csv_get_opts(cp) & ~CSV_STRICT));
      size_t one = csv_parse(cp, p, 1, csvr__on_field, csvr__on_row, r);
      csv_set_opts(cp, (unsigned char)(csv_get_opts(cp) | CSV_STRICT));
      if (one != 1)
        return false;
      p++;
      len--;
    }
  }
  return true;
}

/* --- The space function, only where it matters ------------------------
 *
 * With no space function libcsv tests ' ' and '\t' inline; with one (the
 * loader's, which says no byte is a space, so that spaces stay data) it
 * calls it for every byte of every unquoted field. The two settings parse a
 * run of spaces and tabs alike when the bytes on both sides of the run are
 * in the same piece and neither is a delimiter, a quote, CR or LF: libcsv is
 * then inside a field both before and after the run, the run is data either
 * way (kept in quoted fields; in unquoted ones counted as trailing spaces
 * and forgotten at the next ordinary byte), and its space count is back to
 * zero after it. libcsv.c's csv_parse() shows it: spaces matter only at the
 * start of a field, before a delimiter or line end, and after a closing
 * quote. So a piece is parsed without the function, except for the runs
 * that touch a delimiter, a quote, a line end or an end of the piece, which
 * are parsed with it. (A run next to a quote only matters after a closing
 * quote and before a delimiter or line end, which the test catches anyway;
 * quotes count as edges all the same, to be safe.) Such a run that starts
 * inside a quoted field (libcsv's state once the bytes before it are
 * parsed) needs no function either: there spaces are data and change no
 * state. A delimiter or quote that is itself a space or tab keeps the
 * function everywhere; so does --trim, which wants libcsv's own trimming.
 * test_csv_reader compares the two ways on random text. */

static bool csvr__blank(unsigned char c)
{
  return c == ' ' || c == '\t';
}

/* True when byte c next to a run of spaces makes the run matter. */
static bool csvr__blank_edge(const csvr_t *r, unsigned char c)
{
  return c == r->dialect.delimiter || c == r->dialect.quote || c == '\r' ||
         c == '\n';
}

/* True when p[k], a space or tab, touches an edge or an end of the piece. */
static bool csvr__blank_touches(const csvr_t *r, const char *p, size_t k,
                                size_t len)
{
  return k == 0 || k + 1 == len ||
         csvr__blank_edge(r, (unsigned char)p[k - 1]) ||
         csvr__blank_edge(r, (unsigned char)p[k + 1]);
}

/* Index of the first space or tab in p[from..len) that touches an edge or
 * an end of the piece, or len. Sixteen bytes at a time with SSE2: a mask of
 * the blanks, one of the edges, and the blanks whose neighbour bit is set. */
static size_t csvr__next_touching(const csvr_t *r, const char *p, size_t from,
                                  size_t len)
{
  size_t i = from;
#ifdef __SSE2__
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i delim = _mm_set1_epi8((char)r->dialect.delimiter);
  const __m128i quote = _mm_set1_epi8((char)r->dialect.quote);
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 16 <= len; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    unsigned blanks = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, tab)));
    if (!blanks)
      continue;
    unsigned edges = (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, delim), _mm_cmpeq_epi8(v, quote)),
        _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
    unsigned near = (edges << 1) | (edges >> 1);
    /* The neighbours outside these sixteen bytes, read one by one. */
    if ((blanks & 1u) && csvr__blank_touches(r, p, i, len))
      near |= 1u;
    if ((blanks & 0x8000u) && csvr__blank_touches(r, p, i + 15, len))
      near |= 0x8000u;
    unsigned hit = blanks & near & 0xFFFFu;
    if (hit) /* the first one: the runs before it are parsed fast */
      return i + (size_t)__builtin_ctz(hit);
  }
#endif
  for (; i < len; i++)
    if (csvr__blank((unsigned char)p[i]) && csvr__blank_touches(r, p, i, len))
      return i;
  return len;
}

/* Parses p[0..len) with or without the loader's space function. */
static bool csvr__parse_as(csvr_t *r, const char *p, size_t len,
                           bool spaces_kept)
{
  if (len == 0)
    return true;
  r->parser.is_space = spaces_kept ? csvr__never_space : NULL;
  return csvr__parse(r, p, len);
}

/* Parses one piece, with the space function only on the runs of spaces and
 * tabs that need it (see above): a run needs it when one of its bytes
 * touches an edge or an end of the piece. */
static bool csvr__parse_piece(csvr_t *r, const char *p, size_t len)
{
  if (!r->blanks_fast)
    return csvr__parse(r, p, len);
  size_t seg = 0; /* start of the part not parsed yet */
  size_t k = csvr__next_touching(r, p, 0, len);
  while (k < len) {
    size_t i = k, j = k + 1; /* the run around p[k] */
    while (i > seg && csvr__blank((unsigned char)p[i - 1]))
      i--;
    while (j < len && csvr__blank((unsigned char)p[j]))
      j++;
    if (!csvr__parse_as(r, p + seg, i - seg, false))
      return false;
    seg = i;
    /* Inside a quoted field (libcsv's state where the run starts) spaces
     * and tabs are data either way and change no state: the run stays in
     * the next part. */
    if (r->parser.pstate != LIBCSV_FIELD_BEGUN || !r->parser.quoted) {
      if (!csvr__parse_as(r, p + i, j - i, true))
        return false;
      seg = j;
    }
    k = csvr__next_touching(r, p, j, len);
  }
  return csvr__parse_as(r, p + seg, len - seg, false);
}

/* Starts a record at the current position. */
static void csvr__begin_record(csvr_t *r)
{
  r->in_record = true;
  r->oversized = false;
  r->malformed = 0;
  r->rec_line = r->line;
  r->rec_offset = r->offset;
  r->raw_len = 0;
  r->n_fields = 0;
  r->arena_len = 0;
  r->arena_moved = false;
}

/* Feeds one piece (a line, or the part of it in this block) to libcsv. */
static bool csvr__feed(csvr_t *r, const char *p, size_t len, bool ends_line,
                       bson_error_t *error)
{
  if (r->at_line_start && r->parser.pstate == LIBCSV_ROW_NOT_BEGUN) {
    /* Between records at the start of a line: decide what the line is. */
    if (r->offset >= r->end_offset) {
      /* The next range's first record. The cut finder put end_offset at a
       * record start by the same rule; if this reader disagrees, rows
       * would be read twice or not at all: stop loudly instead. */
      if (r->offset != r->end_offset) {
        bson_set_error(error, LOADER_ERROR_INPUT, 0,
                       "--split: the part boundary at byte %llu is inside "
                       "the record at line %llu (a bug: load this file "
                       "without --split or --part, and report it)",
                       (unsigned long long)r->end_offset,
                       (unsigned long long)r->rec_line);
        return false;
      }
      r->stop = true;
      return true;
    }
    if (r->line <= r->dialect.skip_lines ||
        (r->dialect.comment >= 0 && len > 0 &&
         (unsigned char)p[0] == (unsigned char)r->dialect.comment)) {
      r->skipping_line = true;
    } else if (ends_line &&
               (len == 1 || (len == 2 && p[0] == '\r' && p[1] == '\n'))) {
      r->empty_lines++;
      r->skipping_line = true;
    } else {
      csvr__begin_record(r);
    }
  }
  r->at_line_start = false;

  if (!r->skipping_line && !r->oversized) {
    if (r->raw_len + len > CSVR_MAX_RECORD_BYTES) {
      /* Give the record up and resynchronise at the next line. */
      r->oversized = true;
      csv_free(&r->parser);
      if (!csvr__init_parser(r))
        goto out_oom;
    } else {
      if (!csvr__grow((void **)&r->raw, &r->raw_cap, r->raw_len + len, 1))
        goto out_oom;
      memcpy(r->raw + r->raw_len, p, len);
      r->raw_len += len;
      r->piece_end = r->offset + len;
      if (!csvr__parse_piece(r, p, len)) {
        bson_set_error(error, LOADER_ERROR_INPUT, 0, "libcsv: %s",
                       csv_strerror(csv_error(&r->parser)));
        return false;
      }
      if (r->oom)
        goto out_oom;
    }
  }

  r->offset += len;
  if (ends_line) {
    r->line++;
    r->at_line_start = true;
    r->skipping_line = false;
    if (r->oversized && r->in_record) {
      r->piece_end = r->offset;
      r->line--; /* end_line is the line the record was given up on */
      csvr__deliver(r, "record exceeds 16 MiB");
      r->line++;
      r->oversized = false;
    }
  }
  if (!r->in_record)
    r->done_offset = r->offset;
  return true;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                 "out of memory reading a record");
  return false;
}

bool csvr_read(csvr_t *r, csvr_record_fn fn, void *ctx, bson_error_t *error)
{
  r->fn = fn;
  r->ctx = ctx;
  /* A CR that ends a block is held back for the next one: whether it is
   * half of a CRLF or a line end of its own shows only there. */
  bool carry = false;
  while (!r->stop) {
    size_t n;
    if (carry)
      r->block[0] = '\r';
    if (!source_read(r->src, r->block + carry, CSVR_BLOCK_SIZE - carry, &n,
                     error))
      return false;
    bool eof = n == 0;
    n += carry;
    carry = false;
    if (n == 0)
      break;
    if (!eof && r->block[n - 1] == '\r') {
      carry = true;
      n--;
    }
    const char *p = r->block;
    const char *end = r->block + n;
    if (r->offset == 0 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
      p += 3; /* a UTF-8 byte-order mark before the header */
      r->offset = 3;
    }
    while (p < end && !r->stop) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      const char *stop = nl ? nl : end;
      /* A lone CR (classic Mac) ends a line too; a CR before LF does not. */
      const char *cr = memchr(p, '\r', (size_t)(stop - p));
      if (cr && cr + 1 < stop)
        nl = cr;
      else if (cr && !nl && cr + 1 == end && (eof || carry))
        nl = cr; /* the block's last CR, followed by the end of the input
                    or by the CR held back for the next block: no LF */
      size_t len = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
      if (!csvr__feed(r, p, len, nl != NULL, error))
        return false;
      p += len;
    }
    if (eof)
      break;
  }
  if (r->stop)
    return true;
  /* End of input: a last record without a line terminator. */
  r->piece_end = r->offset;
  if (r->in_record && r->oversized) {
    csvr__deliver(r, "record exceeds 16 MiB");
  } else if (r->in_record || r->parser.pstate != LIBCSV_ROW_NOT_BEGUN) {
    /* (A record may be pending without in_record when lines end in a
     * lone CR: libcsv ends records there, the reader counts LF lines.) */
    if (r->parser.pstate == LIBCSV_FIELD_BEGUN && r->parser.quoted)
      r->unterminated = true;
    /* The record ended on the last line read, not on the one after. */
    bool stepped = r->at_line_start && r->line > r->rec_line;
    if (stepped)
      r->line--;
    csv_fini(&r->parser, csvr__on_field, csvr__on_row, r);
    if (stepped)
      r->line++;
    if (r->oom) {
      bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                     "out of memory reading a record");
      return false;
    }
  }
  r->done_offset = r->offset;
  return true;
}

void csvr_set_blanks_fast(csvr_t *r, bool on)
{
  r->blanks_fast = on && !r->dialect.trim &&
                   !csvr__blank(r->dialect.delimiter) &&
                   !csvr__blank(r->dialect.quote);
}

uint64_t csvr_empty_lines(const csvr_t *r)
{
  return r->empty_lines;
}

uint64_t csvr_offset(const csvr_t *r)
{
  return r->done_offset;
}

void csvr_destroy(csvr_t *r)
{
  if (!r)
    return;
  csv_free(&r->parser);
  free(r->block);
  free(r->raw);
  free(r->arena);
  free(r->field_at);
  free(r->fields);
  free(r);
}
