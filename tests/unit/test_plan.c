/* Unit tests of plan: plan_build() (jobs from options: --split, --part, what
 * is never split, what is refused) and the --split cut finder
 * csvr_find_cuts() on adversarial files.
 *
 * The oracle for the cut finder is the reader itself: the file is read
 * whole with csvr_read() from offset 0, and then
 *   - every cut is at a line start (by an independent count of LF, CRLF
 *     and lone CR) that no record of the whole read straddles, with that
 *     line's number; a cut that is a record's offset has its line;
 *   - every cut is at or after its target size * k / n and no place where
 *     a part could start lies in [target, cut) (the first such place);
 *   - no cut lies before the end of the header (the first record);
 *   - reading each part [cut k, cut k+1) with csvr_new(src, d, start,
 *     line, end) gives exactly the whole read's records, in order, when
 *     the parts are concatenated (offsets, lines, fields, raw, problem).
 * Files are hand-written (stray quotes, multi-line quoted fields across
 * targets, "abc"def, CRLF, lone CR, BOM, comments, skipped lines, a header
 * longer than size / n, empty lines, no final newline) and generated from
 * those pieces with a fixed seed, with every part count from 2 to 16 and
 * one cut target per byte. */
#include "unit_helpers.h"

#include <inttypes.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <zlib.h>

#include "loader/cli.h"
#include "loader/csv_reader.h"
#include "loader/error.h"
#include "loader/plan.h"
#include "loader/source.h"

/* --- the reader's records ------------------------------------------------ */

/* One delivered record, copied out of the callback. */
typedef struct rec {
  char *desc; /* fields ("[a]" each, "N" for a missing one), then the problem
                 and the raw bytes: equal descs, equal records */
  uint64_t line, end_line, offset, end_offset;
} rec_t;

typedef struct recs {
  rec_t *v;
  size_t n, cap;
} recs_t;

static bool collect(void *ctx, const csv_record_t *r)
{
  recs_t *rs = ctx;
  if (rs->n == rs->cap) {
    rs->cap = rs->cap ? rs->cap * 2 : 16;
    rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
    assert_non_null(rs->v);
  }
  size_t len = 64 + r->raw_len + (r->problem ? strlen(r->problem) : 0);
  for (size_t i = 0; i < r->n_fields; i++)
    len += r->fields[i].len + 2;
  char *d = malloc(len);
  assert_non_null(d);
  size_t at = 0;
  for (size_t i = 0; i < r->n_fields; i++) {
    const csv_field_t *f = &r->fields[i];
    if (!f->data) {
      d[at++] = 'N';
      continue;
    }
    d[at++] = '[';
    memcpy(d + at, f->data, f->len);
    at += f->len;
    d[at++] = ']';
  }
  at += (size_t)snprintf(d + at, len - at,
                         " problem=%s raw=", r->problem ? r->problem : "-");
  memcpy(d + at, r->raw, r->raw_len);
  d[at + r->raw_len] = '\0';
  rs->v[rs->n++] = (rec_t){.desc = d,
                           .line = r->line,
                           .end_line = r->end_line,
                           .offset = r->offset,
                           .end_offset = r->end_offset};
  return true;
}

static void recs_free(recs_t *rs)
{
  for (size_t i = 0; i < rs->n; i++)
    free(rs->v[i].desc);
  free(rs->v);
  memset(rs, 0, sizeof *rs);
}

/* Reads path[start..end) from start_line into rs; fails the test when the
 * reader fails (it refuses a boundary inside a record). */
static void read_part(const char *path, const csv_dialect_t *d, uint64_t start,
                      uint64_t line, uint64_t end, recs_t *rs)
{
  bson_error_t error;
  source_t *src = source_open(path, start, &error);
  if (!src)
    fail_msg("source_open %s @%" PRIu64 ": %s", path, start, error.message);
  csvr_t *r = csvr_new(src, d, start, line, end, &error);
  assert_non_null(r);
  if (!csvr_read(r, collect, rs, &error))
    fail_msg("reading [%" PRIu64 ", %" PRIu64 ") from line %" PRIu64 ": %s",
             start, end, line, error.message);
  csvr_destroy(r);
  source_close(src);
}

/* --- the oracle ---------------------------------------------------------- */

/* Shows a file in a failure message: its bytes, escaped. */
static void show_file(const char *text, size_t len)
{
  fprintf(stderr, "file (%zu bytes): \"", len);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n')
      fputs("\\n", stderr);
    else if (c == '\r')
      fputs("\\r", stderr);
    else if (c == '\t')
      fputs("\\t", stderr);
    else if (c == '"' || c == '\\')
      fprintf(stderr, "\\%c", c);
    else if (c < 32 || c > 126)
      fprintf(stderr, "\\x%02x", c);
    else
      fputc(c, stderr);
  }
  fputs("\"\n", stderr);
}

static void show_dialect(const csv_dialect_t *d, bool header)
{
  fprintf(stderr,
          "dialect: delimiter 0x%02x quote 0x%02x trim %d comment %d skip "
          "%" PRIu64 " header %d\n",
          d->delimiter, d->quote, d->trim, d->comment, d->skip_lines, header);
}

/* Where lines start, counted independently of the reader: after LF, after
 * CRLF, after a lone CR; with a BOM, line 1 starts after it. line_of[i] is
 * the line of byte i (i == len: past the end). */
typedef struct lines {
  uint64_t *line_of;
  bool *starts;
} lines_t;

static void lines_count(const char *t, size_t len, lines_t *ls)
{
  ls->line_of = calloc(len + 1, sizeof *ls->line_of);
  ls->starts = calloc(len + 1, sizeof *ls->starts);
  assert_non_null(ls->line_of);
  assert_non_null(ls->starts);
  uint64_t line = 1;
  size_t first = len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  for (size_t i = 0; i < first; i++)
    ls->line_of[i] = 1;
  ls->starts[first] = true;
  for (size_t i = first; i < len; i++) {
    ls->line_of[i] = line;
    bool ends =
        t[i] == '\n' || (t[i] == '\r' && (i + 1 == len || t[i + 1] != '\n'));
    if (ends) {
      line++;
      ls->starts[i + 1] = true;
    }
  }
  ls->line_of[len] = line;
}

static void lines_free(lines_t *ls)
{
  free(ls->line_of);
  free(ls->starts);
}

/* Returns true when a part may start at offset p: a line start that no
 * record of whole straddles. */
static bool is_place(const lines_t *ls, const recs_t *whole, uint64_t p)
{
  if (!ls->starts[p])
    return false;
  for (size_t i = 0; i < whole->n; i++)
    if (whole->v[i].offset < p && p < whole->v[i].end_offset)
      return false;
  return true;
}

/* Finds the cuts of the file text (written at path) into parts parts and
 * checks them against the whole read, as the top of this file says.
 * Returns the number of distinct non-trivial cuts (for coverage checks). */
static size_t check_cuts_n(const char *path, const char *text, size_t len,
                           const csv_dialect_t *d, bool header, size_t parts,
                           const recs_t *whole, const lines_t *ls)
{
  csvr_cut_t *cuts = calloc(parts + 1, sizeof *cuts);
  assert_non_null(cuts);
  bson_error_t error;
  if (!csvr_find_cuts(path, d, header, len, parts, cuts, &error))
    fail_msg("csvr_find_cuts: %s", error.message);
  uint64_t header_end = header ? len : 0;
  if (header && whole->n > 0)
    header_end = whole->v[0].end_offset;
  size_t inner = 0;
  const char *bad = NULL;
  size_t bad_k = 0;
  uint64_t bad_at = 0;
  if (cuts[0].offset != 0 || cuts[0].line != 1) {
    bad = "cut 0 is not the start of the file";
  } else if (cuts[parts].offset != len) {
    bad = "the last cut is not the end of the file";
    bad_k = parts;
  }
  for (size_t k = 1; k < parts && !bad; k++) {
    uint64_t target = (uint64_t)len * k / parts;
    uint64_t at = cuts[k].offset;
    bad_k = k;
    if (at < cuts[k - 1].offset) {
      bad = "cuts out of order";
    } else if (at > len) {
      bad = "cut past the end of the file";
    } else if (at < target) {
      bad = "cut before its target";
    } else if (header && at < header_end) {
      bad = "cut before the end of the header";
    } else if (at < len && !is_place(ls, whole, at)) {
      bad = "cut inside a record or a line";
    } else if (at < len && cuts[k].line != ls->line_of[at]) {
      bad = "cut with the wrong line";
    } else {
      for (uint64_t p = target; p < at; p++)
        if (p >= header_end && is_place(ls, whole, p)) {
          bad = "an earlier place to cut was passed over";
          bad_at = p;
          break;
        }
    }
    if (!bad && at < len) {
      /* A cut at a record's start has that record's line. */
      for (size_t i = 0; i < whole->n; i++)
        if (whole->v[i].offset == at && whole->v[i].line != cuts[k].line)
          bad = "cut line differs from the record's";
      if (at > 0 && at != cuts[k - 1].offset)
        inner++;
    }
  }
  if (bad) {
    show_file(text, len);
    show_dialect(d, header);
    for (size_t k = 0; k <= parts; k++)
      fprintf(stderr, "cut %zu: offset %" PRIu64 " line %" PRIu64 "\n", k,
              cuts[k].offset, cuts[k].line);
    for (size_t i = 0; i < whole->n; i++)
      fprintf(stderr,
              "record %zu: @%" PRIu64 "-%" PRIu64 " lines %" PRIu64 "-%" PRIu64
              " %s\n",
              i, whole->v[i].offset, whole->v[i].end_offset, whole->v[i].line,
              whole->v[i].end_line, whole->v[i].desc);
    fail_msg("%zu parts, cut %zu (offset %" PRIu64 ", line %" PRIu64
             ", target %" PRIu64 ", place %" PRIu64 "): %s",
             parts, bad_k, cuts[bad_k].offset, cuts[bad_k].line,
             (uint64_t)len * bad_k / parts, bad_at, bad);
  }

  /* The parts, read one by one and concatenated, are the whole read. */
  recs_t cat = {0};
  for (size_t k = 0; k < parts; k++)
    read_part(path, d, cuts[k].offset, cuts[k].line,
              k + 1 < parts ? cuts[k + 1].offset : UINT64_MAX, &cat);
  for (size_t i = 0; i < cat.n || i < whole->n; i++) {
    const rec_t *a = i < whole->n ? &whole->v[i] : NULL;
    const rec_t *b = i < cat.n ? &cat.v[i] : NULL;
    if (a && b && a->offset == b->offset && a->line == b->line &&
        a->end_offset == b->end_offset && a->end_line == b->end_line &&
        strcmp(a->desc, b->desc) == 0)
      continue;
    show_file(text, len);
    show_dialect(d, header);
    for (size_t k = 0; k <= parts; k++)
      fprintf(stderr, "cut %zu: offset %" PRIu64 " line %" PRIu64 "\n", k,
              cuts[k].offset, cuts[k].line);
    fail_msg("%zu parts: record %zu: whole %s@%" PRIu64 " line %" PRIu64
             " %s, parts %s@%" PRIu64 " line %" PRIu64 " %s",
             parts, i, a ? "" : "(none) ", a ? a->offset : 0, a ? a->line : 0,
             a ? a->desc : "", b ? "" : "(none) ", b ? b->offset : 0,
             b ? b->line : 0, b ? b->desc : "");
  }
  recs_free(&cat);
  free(cuts);
  return inner;
}

/* Checks the cuts of text for every part count from 2 to max_parts and for
 * one target per byte (parts = its size). Returns the inner cuts seen. */
static size_t check_text(const char *dir, const char *text, size_t len,
                         const csv_dialect_t *d, bool header, size_t max_parts)
{
  char *path = uh_write(dir, "cut.csv", text, len);
  recs_t whole = {0};
  read_part(path, d, 0, 1, UINT64_MAX, &whole);
  lines_t ls;
  lines_count(text, len, &ls);
  /* The oracle's own footing: the reader's lines and offsets agree with the
   * independent count. */
  for (size_t i = 0; i < whole.n; i++) {
    if (whole.v[i].offset >= len || !ls.starts[whole.v[i].offset] ||
        whole.v[i].line != ls.line_of[whole.v[i].offset]) {
      show_file(text, len);
      show_dialect(d, header);
      fail_msg("record %zu at %" PRIu64 " line %" PRIu64
               " is not at the line start the count says",
               i, whole.v[i].offset, whole.v[i].line);
    }
  }
  size_t inner = 0;
  for (size_t parts = 2; parts <= max_parts; parts++)
    inner += check_cuts_n(path, text, len, d, header, parts, &whole, &ls);
  if (len > max_parts)
    inner += check_cuts_n(path, text, len, d, header, len, &whole, &ls);
  lines_free(&ls);
  recs_free(&whole);
  free(path);
  return inner;
}

static csv_dialect_t dialect(void)
{
  csv_dialect_t d;
  csvr_dialect_default(&d);
  return d;
}

#define CHECK(dir, text, d, header)                                            \
  check_text((dir), (text), sizeof(text) - 1, (d), (header), 16)

/* --- hand-written adversarial files -------------------------------------- */

static void test_cuts_plain(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  assert_true(CHECK(dir, "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n", &d, true) > 0);
  assert_true(CHECK(dir, "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n", &d, false) > 0);
  /* Empty file, header only, one row. */
  CHECK(dir, "", &d, true);
  CHECK(dir, "a,b\n", &d, true);
  CHECK(dir, "a,b", &d, true);
  CHECK(dir, "a,b\n1,2", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_stray_quotes(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  /* A quote inside an unquoted field is data: it opens nothing, so a
   * reader that took it for an opening quote would see one record from
   * there to the next quote. */
  assert_true(CHECK(dir,
                    "name,height\nbob,5'11\" tall\nann,6\"\nx,\"y\"\n"
                    "tom,ab\"cd\"ef\nsue,1\nzed,2\n",
                    &d, true) > 0);
  CHECK(dir, "h\n5\"\n6\"\n7\"\n8\"\n9\"\n", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_multiline_quoted(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  /* Quoted fields over many lines, so that most targets fall inside one;
   * lines inside them that look like records, headers, comments and empty
   * lines. */
  assert_true(CHECK(dir,
                    "id,text\n1,\"line one\nline two\n3,\"\"not a record\n\n"
                    "#not a comment\nend\"\n2,short\n3,\"a\r\nb\r\nc\"\n"
                    "4,\"x\ry\rz\"\n5,last\n",
                    &d, true) > 0);
  /* A record that is nothing but a long quoted field. */
  CHECK(dir, "h\n\"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\"\nz\n", &d, true);
  /* Doubled quotes next to line ends inside a field. */
  CHECK(dir, "h\n\"a\"\"\n\"\"b\"\n\"\"\"\"\n\"\n\"\"\"\n", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_malformed(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  /* "abc"def: the quoted part ends at the second quote, the rest is
   * unquoted, the record ends at the line end (and is rejected). */
  assert_true(CHECK(dir,
                    "a,b\n\"abc\"def,1\n2,\"x\"y\nz\n\"p\" ,q\n\"a\nb\"c\nd\n"
                    "3,4\n",
                    &d, true) > 0);
  /* An unterminated quote: the rest of the file is one record. */
  CHECK(dir, "a,b\n1,2\n3,\"open\n4,5\n6,7\n", &d, true);
  CHECK(dir, "a,b\n1,2\n3,\"open\n4,5\n6,7", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_line_ends(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  assert_true(CHECK(dir, "a,b\r\n1,2\r\n3,4\r\n5,6\r\n7,8\r\n", &d, true) > 0);
  assert_true(CHECK(dir, "a,b\r1,2\r3,4\r5,6\r7,8\r", &d, true) > 0);
  /* Mixed, with empty lines of each kind and a lone CR at the end. */
  CHECK(dir, "a,b\n\r\n1,2\r\r3,4\n\n\r\n5,6\r", &d, true);
  CHECK(dir, "a,b\r\n\r\n\r\n1,\"x\r\ny\"\r\n\r2,3", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_bom_comment_skip(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  CHECK(dir,
        "\xEF\xBB\xBF"
        "a,b\n1,2\n3,4\n5,6\n",
        &d, true);
  CHECK(dir,
        "\xEF\xBB\xBF"
        "a,b",
        &d, true);
  CHECK(dir, "\xEF\xBB\xBF", &d, true);
  d.comment = '#';
  assert_true(
      CHECK(dir,
            "#c1\n#\"unbalanced\na,b\n#c2\n1,2\n#\"x\n3,\"#in\n#field\"\n"
            "#c3\n4,5\n",
            &d, true) > 0);
  d.comment = -1;
  d.skip_lines = 3;
  /* Skipped lines hold quotes that would open a field. */
  assert_true(CHECK(dir,
                    "junk \"\n\"more junk\n\"\r\na,b\n1,\"2\n2\"\n3,4\n5,6\n",
                    &d, true) > 0);
  d.skip_lines = 2;
  CHECK(dir, "x\ny\n", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_long_header(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  /* The header is longer than size / n for every n >= 2: no cut before its
   * end, even where a target falls on a line start inside it. */
  const char text[] = "\"id\nwith\nmany\nlines\nin\nits\nname\nto\nbe\nlong\","
                      "\"b\n\n\n\n\n\n\"\n1,2\n3,4\n";
  CHECK(dir, text, &d, true);
  csvr_cut_t cuts[5];
  bson_error_t error;
  char *path = uh_write(dir, "h.csv", text, sizeof text - 1);
  assert_true(csvr_find_cuts(path, &d, true, sizeof text - 1, 4, cuts, &error));
  uint64_t header_end = (uint64_t)(strstr(text, "\"\n1,2") + 2 - text);
  for (size_t k = 1; k < 4; k++)
    assert_true(cuts[k].offset >= header_end);
  assert_int_equal(cuts[1].offset, header_end);
  assert_int_equal(cuts[1].line, 17);
  /* Without a header (--fields) the first record may be cut after. */
  assert_true(
      csvr_find_cuts(path, &d, false, sizeof text - 1, 4, cuts, &error));
  assert_int_equal(cuts[1].offset, header_end);
  free(path);
  /* A header that is the whole file. */
  CHECK(dir, "\"a\n\n\n\n\",b\n", &d, true);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_empty_lines(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  CHECK(dir, "\n\n\na,b\n\n\n1,2\n\n\n\n3,4\n\n", &d, true);
  CHECK(dir, "\n\n\n\n\n\n\n\n", &d, true);
  CHECK(dir, "\r\n\r\n\r\n\r\n", &d, false);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_trim_and_dialects(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  d.trim = true;
  CHECK(dir, "a,b\n  \"x\n y\"  ,  z \n \"q\" \"r\n\"\n1,2\n", &d, true);
  d.trim = false;
  d.delimiter = '\t';
  d.quote = '\'';
  CHECK(dir, "a\tb\n'x\ty\n'\t\"\n\"\t'it''s'\n1\t2\n", &d, true);
  d.delimiter = ';';
  d.quote = '"';
  CHECK(dir, "a;b\n\"1;\n2\";3\n4;5\n", &d, true);
  uh_rmtree(dir);
  free(dir);
}

/* A line of spaces before the header, with --trim: libcsv reads no record
 * there (it skips the spaces, then ignores the line end), so the header is
 * the next line; a part that started at the header would load it as a
 * row. */
static void test_cuts_trim_blank_line_before_header(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  d.trim = true;
  CHECK(dir, "   \nname,n\nann,1\nbob,2\ncyd,3\n", &d, true);
  uh_rmtree(dir);
  free(dir);
}

/* --- generated adversarial files ------------------------------------------ */

typedef struct gen {
  char *buf;
  size_t len, cap;
  uint64_t rng;
  const csv_dialect_t *d;
} gen_t;

static uint32_t rnd(gen_t *g, uint32_t n)
{
  g->rng ^= g->rng << 13;
  g->rng ^= g->rng >> 7;
  g->rng ^= g->rng << 17;
  return (uint32_t)(g->rng % n);
}

static void put(gen_t *g, const char *s, size_t n)
{
  if (g->len + n + 1 > g->cap) {
    g->cap = (g->len + n + 1) * 2;
    g->buf = realloc(g->buf, g->cap);
    assert_non_null(g->buf);
  }
  memcpy(g->buf + g->len, s, n);
  g->len += n;
}

static void puts_(gen_t *g, const char *s)
{
  put(g, s, strlen(s));
}

static void putc_(gen_t *g, char c)
{
  put(g, &c, 1);
}

static void eol(gen_t *g)
{
  static const char *const ends[] = {"\n", "\n", "\n", "\r\n", "\r"};
  puts_(g, ends[rnd(g, 5)]);
}

static void word(gen_t *g)
{
  size_t n = 1 + rnd(g, 4);
  for (size_t i = 0; i < n; i++)
    putc_(g, (char)('a' + rnd(g, 26)));
}

/* One field, from the pieces that make cutting hard. */
static void field(gen_t *g)
{
  char q = (char)g->d->quote, dl = (char)g->d->delimiter;
  switch (rnd(g, 12)) {
  case 0: /* empty */
    break;
  case 1: /* quoted, with the delimiter inside */
    putc_(g, q);
    word(g);
    putc_(g, dl);
    word(g);
    putc_(g, q);
    break;
  case 2: /* quoted over several lines, some empty or record-like */
    putc_(g, q);
    for (size_t i = 0, n = 1 + rnd(g, 4); i < n; i++) {
      if (rnd(g, 2))
        word(g);
      if (rnd(g, 3) == 0) {
        putc_(g, dl);
        putc_(g, '#');
      }
      eol(g);
    }
    word(g);
    putc_(g, q);
    break;
  case 3: /* doubled quotes */
    putc_(g, q);
    word(g);
    putc_(g, q);
    putc_(g, q);
    if (rnd(g, 2))
      eol(g);
    putc_(g, q);
    putc_(g, q);
    putc_(g, q);
    break;
  case 4: /* a stray quote in an unquoted field */
    word(g);
    putc_(g, q);
    if (rnd(g, 2))
      word(g);
    break;
  case 5: /* malformed: "abc"def */
    putc_(g, q);
    word(g);
    putc_(g, q);
    word(g);
    break;
  case 6: /* malformed across a line: "a\nb"c */
    putc_(g, q);
    word(g);
    eol(g);
    putc_(g, q);
    putc_(g, 'x');
    break;
  case 7: /* spaces around a quoted field */
    puts_(g, " ");
    putc_(g, q);
    word(g);
    putc_(g, q);
    puts_(g, rnd(g, 2) ? " " : "");
    break;
  case 8: /* a comment character first */
    putc_(g, '#');
    word(g);
    break;
  default:
    word(g);
    break;
  }
}

static void record(gen_t *g)
{
  size_t n = 1 + rnd(g, 3);
  for (size_t i = 0; i < n; i++) {
    if (i)
      putc_(g, (char)g->d->delimiter);
    field(g);
  }
}

/* A file: maybe a BOM, lines of every kind, maybe no final line end, maybe
 * an unterminated quote at the end. */
static void gen_file(gen_t *g)
{
  g->len = 0;
  if (rnd(g, 6) == 0)
    puts_(g, "\xEF\xBB\xBF");
  for (size_t i = 0, n = 2 + rnd(g, 12); i < n; i++) {
    switch (rnd(g, 10)) {
    case 0: /* an empty line */
      eol(g);
      break;
    case 1: /* a comment (or data, without --comment) */
      putc_(g, '#');
      putc_(g, (char)g->d->quote);
      word(g);
      eol(g);
      break;
    case 2: /* spaces only */
      puts_(g, "  ");
      eol(g);
      break;
    default:
      record(g);
      eol(g);
      break;
    }
  }
  switch (rnd(g, 6)) {
  case 0: /* no final line end */
    record(g);
    break;
  case 1: /* an unterminated quote */
    putc_(g, (char)g->d->quote);
    word(g);
    eol(g);
    word(g);
    break;
  default:
    break;
  }
  g->buf[g->len] = '\0';
}

static void test_cuts_generated(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  size_t inner = 0;
  size_t rounds =
      getenv("LOADER_TEST_CUT_ROUNDS")
          ? (size_t)strtoul(getenv("LOADER_TEST_CUT_ROUNDS"), NULL, 10)
          : 400;
  for (size_t seed = 1; seed <= rounds; seed++) {
    csv_dialect_t d = dialect();
    gen_t g = {.rng = 0x9E3779B97F4A7C15ull * seed, .d = &d};
    rnd(&g, 2);
    switch (rnd(&g, 8)) {
    case 0:
      d.trim = true;
      break;
    case 1:
      d.comment = '#';
      break;
    case 2:
      d.skip_lines = 1 + rnd(&g, 2);
      break;
    case 3:
      d.delimiter = '\t';
      d.quote = '\'';
      break;
    case 4:
      d.delimiter = ';';
      d.comment = '#';
      d.trim = true;
      break;
    default:
      break;
    }
    bool header = rnd(&g, 4) != 0;
    gen_file(&g);
    inner += check_text(dir, g.buf, g.len, &d, header, 9);
    free(g.buf);
  }
  /* The files are cut somewhere, not only at their ends. */
  assert_true(inner > rounds);
  uh_rmtree(dir);
  free(dir);
}

/* Records that cross the reader's block (256 KiB): cut targets inside a
 * long quoted field and at the block edge. */
static void test_cuts_across_blocks(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  size_t cap = 900 * 1024;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = (size_t)snprintf(text, cap, "id,body\n");
  for (size_t i = 0; n + 70000 < cap; i++) {
    n += (size_t)snprintf(text + n, cap - n, "%zu,\"", i);
    size_t body = 1000 + (i * 7919) % 60000;
    for (size_t j = 0; j < body; j++)
      text[n++] = j % 97 == 96 ? '\n' : (j % 89 == 0 ? '\r' : 'x');
    n += (size_t)snprintf(text + n, cap - n, "\"\r\n");
  }
  char *path = uh_write(dir, "big.csv", text, n);
  recs_t whole = {0};
  read_part(path, &d, 0, 1, UINT64_MAX, &whole);
  lines_t ls;
  lines_count(text, n, &ls);
  size_t all_parts[] = {2, 3, 4, 7, 16, 33};
  for (size_t i = 0; i < sizeof all_parts / sizeof all_parts[0]; i++)
    check_cuts_n(path, text, n, &d, true, all_parts[i], &whole, &ls);
  lines_free(&ls);
  recs_free(&whole);
  free(path);
  free(text);
  uh_rmtree(dir);
  free(dir);
}

static void test_cuts_unreadable(void **state)
{
  (void)state;
  char *dir = uh_tmpdir();
  csv_dialect_t d = dialect();
  csvr_cut_t cuts[3];
  bson_error_t error;
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/none.csv", dir);
  assert_false(csvr_find_cuts(missing, &d, true, 10, 2, cuts, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_non_null(strstr(error.message, missing));
  uh_rmtree(dir);
  free(dir);
}

/* --- plan_build ----------------------------------------------------------- */

typedef struct plan_fx {
  char *dir;
  options_t opts;
  input_t inputs[4];
} plan_fx_t;

static int plan_setup(void **state)
{
  plan_fx_t *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  fx->dir = uh_tmpdir();
  csvr_dialect_default(&fx->opts.dialect);
  fx->opts.inputs = fx->inputs;
  fx->opts.workers = 4;
  *state = fx;
  return 0;
}

static int plan_teardown(void **state)
{
  plan_fx_t *fx = *state;
  for (size_t i = 0; i < 4; i++)
    free(fx->inputs[i].path);
  uh_rmtree(fx->dir);
  free(fx->dir);
  free(fx);
  return 0;
}

static void add_input(plan_fx_t *fx, const char *coll, char *path)
{
  fx->inputs[fx->opts.n_inputs++] =
      (input_t){.collection = (char *)coll, .path = path};
}

/* A CSV with rows rows, some of them multi-line. */
static char *csv_text(size_t rows, size_t *len)
{
  size_t cap = 64 + rows * 64;
  char *t = malloc(cap);
  assert_non_null(t);
  size_t n = (size_t)snprintf(t, cap, "id,text\n");
  for (size_t i = 0; i < rows; i++)
    n += (size_t)snprintf(
        t + n, cap - n,
        i % 5 == 0 ? "%zu,\"two\nlines, \"\"q\"\"\"\n" : "%zu,plain\n", i);
  *len = n;
  return t;
}

static void test_plan_split(void **state)
{
  plan_fx_t *fx = *state;
  size_t len;
  char *text = csv_text(500, &len);
  add_input(fx, "c", uh_write(fx->dir, "c.csv", text, len));
  fx->opts.split = 5;
  plan_t plan;
  bson_error_t error;
  assert_true(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(plan.n_jobs, 5);
  csvr_cut_t cuts[6];
  assert_true(csvr_find_cuts(fx->inputs[0].path, &fx->opts.dialect, true, len,
                             5, cuts, &error));
  for (size_t k = 0; k < 5; k++) {
    const job_t *j = &plan.jobs[k];
    assert_string_equal(j->collection, "c");
    assert_string_equal(j->path, fx->inputs[0].path);
    assert_int_equal(j->index, k);
    assert_int_equal(j->part, k + 1);
    assert_int_equal(j->parts, 5);
    assert_false(j->json);
    assert_int_equal(j->start, cuts[k].offset);
    assert_int_equal(j->start_line, cuts[k].line);
    assert_int_equal(j->end, k < 4 ? cuts[k + 1].offset : UINT64_MAX);
    if (k > 0)
      assert_int_equal(j->start, plan.jobs[k - 1].end);
  }
  assert_true(plan.jobs[1].start > 0);
  plan_cleanup(&plan);
  assert_null(plan.jobs);
  assert_int_equal(plan.n_jobs, 0);

  /* --part i/5 takes exactly the i-th of those jobs. */
  plan_t all;
  fx->opts.split = 5;
  assert_true(plan_build(&fx->opts, &all, &error));
  fx->opts.split = 0;
  fx->opts.part_of = 5;
  for (unsigned i = 1; i <= 5; i++) {
    fx->opts.part = i;
    assert_true(plan_build(&fx->opts, &plan, &error));
    assert_int_equal(plan.n_jobs, 1);
    const job_t *j = &plan.jobs[0], *w = &all.jobs[i - 1];
    assert_int_equal(j->part, i);
    assert_int_equal(j->parts, 5);
    assert_int_equal(j->start, w->start);
    assert_int_equal(j->start_line, w->start_line);
    assert_int_equal(j->end, w->end);
    assert_int_equal(j->index, 0);
    plan_cleanup(&plan);
  }
  plan_cleanup(&all);
  free(text);
}

/* With --fields (no header line) the cut finder may cut after the first
 * record. */
static void test_plan_split_without_header(void **state)
{
  plan_fx_t *fx = *state;
  /* One long first record: half the file. */
  char text[400];
  size_t n = 0;
  text[n++] = '"';
  for (; n < 200; n++)
    text[n] = n % 10 ? 'x' : '\n';
  n += (size_t)snprintf(text + n, sizeof text - n, "\",1\n");
  while (n + 5 < sizeof text)
    n += (size_t)snprintf(text + n, sizeof text - n, "a,2\n");
  add_input(fx, "c", uh_write(fx->dir, "nohead.csv", text, n));
  fx->opts.split = 2;
  plan_t plan;
  bson_error_t error;
  static char *names[] = {"a", "b"};
  fx->opts.fields = names;
  fx->opts.n_fields = 2;
  assert_true(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(plan.n_jobs, 2);
  assert_int_equal(plan.jobs[1].start, 204); /* just after the first record */
  plan_cleanup(&plan);
  fx->opts.fields = NULL;
  fx->opts.n_fields = 0;
  assert_true(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(plan.jobs[1].start, 204); /* the header ends there too */
  plan_cleanup(&plan);
}

static void gzip_file(const char *path, const char *text, size_t len)
{
  gzFile gz = gzopen(path, "wb");
  assert_non_null(gz);
  assert_int_equal(gzwrite(gz, text, (unsigned)len), (int)len);
  assert_int_equal(gzclose(gz), Z_OK);
}

/* gzip, JSON and standard input are streams: never split. With --part, part
 * 1 reads them whole and the other parts leave them out. */
static void test_plan_streams_never_split(void **state)
{
  plan_fx_t *fx = *state;
  size_t len;
  char *text = csv_text(300, &len);
  size_t plen = strlen(fx->dir) + 32;
  char *gz = malloc(plen);
  assert_non_null(gz);
  snprintf(gz, plen, "%s/z.csv.gz", fx->dir);
  gzip_file(gz, text, len);
  add_input(fx, "z", gz);
  add_input(fx, "j",
            uh_write_str(fx->dir, "j.ndjson",
                         "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n"));
  add_input(fx, "a",
            uh_write_str(fx->dir, "a.json",
                         "  [{\"a\":1},\n{\"a\":2},\n{\"a\":3}]\n"));
  add_input(fx, "s", strdup("-"));
  fx->opts.split = 4;
  plan_t plan;
  bson_error_t error;
  assert_true(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(plan.n_jobs, 4);
  static const bool json[] = {false, true, true, false};
  static const bool array[] = {false, false, true, false};
  for (size_t i = 0; i < 4; i++) {
    const job_t *j = &plan.jobs[i];
    assert_string_equal(j->path, fx->inputs[i].path);
    assert_int_equal(j->start, 0);
    assert_int_equal(j->start_line, 1);
    assert_int_equal(j->end, UINT64_MAX);
    assert_int_equal(j->part, 0);
    assert_int_equal(j->parts, 0);
    assert_int_equal(j->json, json[i]);
    assert_int_equal(j->json_array, array[i]);
    assert_int_equal(j->index, i);
  }
  plan_cleanup(&plan);

  fx->opts.split = 0;
  fx->opts.part_of = 4;
  fx->opts.part = 1;
  assert_true(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(plan.n_jobs, 4);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(plan.jobs[i].end, UINT64_MAX);
  plan_cleanup(&plan);
  for (unsigned p = 2; p <= 4; p++) {
    fx->opts.part = p;
    assert_true(plan_build(&fx->opts, &plan, &error));
    assert_int_equal(plan.n_jobs, 0);
    plan_cleanup(&plan);
  }

  /* --type json makes any name a JSON stream. */
  fx->opts.part = fx->opts.part_of = 0;
  fx->opts.split = 3;
  fx->opts.input_type = 3;
  free(fx->inputs[1].path);
  fx->inputs[1].path = uh_write_str(fx->dir, "j.csv", "{\"a\":1}\n{\"a\":2}\n");
  fx->opts.n_inputs = 2;
  assert_true(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(plan.n_jobs, 2);
  assert_true(plan.jobs[1].json);
  assert_int_equal(plan.jobs[1].end, UINT64_MAX);
  plan_cleanup(&plan);
  free(text);
}

static void test_plan_split_auto(void **state)
{
  plan_fx_t *fx = *state;
  size_t len;
  char *text = csv_text(100, &len);
  add_input(fx, "small", uh_write(fx->dir, "small.csv", text, len));
  free(text);
  /* 8 MiB and more: cut into the workers' share. */
  size_t big_len = 9u * 1024u * 1024u;
  char *big = malloc(big_len);
  assert_non_null(big);
  memcpy(big, "h1,h2\n", 6);
  for (size_t i = 6; i < big_len; i++)
    big[i] = (i - 6) % 8 == 7 ? '\n' : (char)('a' + (i % 8));
  add_input(fx, "big", uh_write(fx->dir, "big.csv", big, big_len));
  free(big);
  fx->opts.split_auto = true;
  fx->opts.workers = 4;
  plan_t plan;
  bson_error_t error;
  assert_true(plan_build(&fx->opts, &plan, &error));
  /* 4 workers over 2 files: 2 parts each, but the small file stays whole. */
  assert_int_equal(plan.n_jobs, 3);
  assert_int_equal(plan.jobs[0].parts, 0);
  assert_string_equal(plan.jobs[1].collection, "big");
  assert_int_equal(plan.jobs[1].parts, 2);
  assert_int_equal(plan.jobs[2].parts, 2);
  assert_int_equal(plan.jobs[1].end, plan.jobs[2].start);
  assert_true(plan.jobs[2].start >= big_len / 2);
  assert_true(plan.jobs[2].start < big_len / 2 + 8);
  plan_cleanup(&plan);
}

static void test_plan_refusals(void **state)
{
  plan_fx_t *fx = *state;
  char *ok = uh_write_str(fx->dir, "ok.csv", "a\n1\n");
  add_input(fx, "ok", ok);
  size_t plen = strlen(fx->dir) + 32;
  char *missing = malloc(plen);
  assert_non_null(missing);
  snprintf(missing, plen, "%s/missing.csv", fx->dir);
  add_input(fx, "m", missing);
  plan_t plan;
  bson_error_t error;
  assert_false(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_non_null(strstr(error.message, missing));
  assert_null(plan.jobs);
  assert_int_equal(plan.n_jobs, 0);

  /* A directory. */
  free(fx->inputs[1].path);
  fx->inputs[1].path = strdup(fx->dir);
  assert_false(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_non_null(strstr(error.message, "not a regular file"));

  /* A URI where a file goes: shown without its password. */
  free(fx->inputs[1].path);
  fx->inputs[1].path = strdup("mongodb://u:s3cret@h/db");
  assert_false(plan_build(&fx->opts, &plan, &error));
  assert_int_equal(error.domain, LOADER_ERROR_USAGE);
  assert_null(strstr(error.message, "s3cret"));
  assert_non_null(strstr(error.message, "--uri"));

  /* Unreadable (not as root: root reads anything). */
  if (geteuid() != 0) {
    free(fx->inputs[1].path);
    fx->inputs[1].path = uh_write_str(fx->dir, "locked.csv", "a\n");
    assert_int_equal(chmod(fx->inputs[1].path, 0), 0);
    assert_false(plan_build(&fx->opts, &plan, &error));
    assert_int_equal(error.domain, LOADER_ERROR_USAGE);
    assert_non_null(strstr(error.message, "locked.csv"));
  }
}

static void test_plan_workers(void **state)
{
  (void)state;
  assert_int_equal(plan_workers(3, 10), 3);
  assert_int_equal(plan_workers(30, 10), 10);
  assert_int_equal(plan_workers(3, 0), 1);
  assert_true(plan_workers(0, 1000) >= 1);
  assert_int_equal(plan_workers(0, 1), 1);
}

int main(void)
{
#define P(f) cmocka_unit_test_setup_teardown(f, plan_setup, plan_teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cuts_plain),
      cmocka_unit_test(test_cuts_stray_quotes),
      cmocka_unit_test(test_cuts_multiline_quoted),
      cmocka_unit_test(test_cuts_malformed),
      cmocka_unit_test(test_cuts_line_ends),
      cmocka_unit_test(test_cuts_bom_comment_skip),
      cmocka_unit_test(test_cuts_long_header),
      cmocka_unit_test(test_cuts_empty_lines),
      cmocka_unit_test(test_cuts_trim_and_dialects),
      cmocka_unit_test(test_cuts_trim_blank_line_before_header),
      cmocka_unit_test(test_cuts_generated),
      cmocka_unit_test(test_cuts_across_blocks),
      cmocka_unit_test(test_cuts_unreadable),
      P(test_plan_split),
      P(test_plan_split_without_header),
      P(test_plan_streams_never_split),
      P(test_plan_split_auto),
      P(test_plan_refusals),
      cmocka_unit_test(test_plan_workers),
  };
  return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
