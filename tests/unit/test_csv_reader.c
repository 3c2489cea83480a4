/* Unit tests of csv_reader: small files written to a temporary directory,
 * read through source_open() + csvr_new() + csvr_read(), each record checked
 * exactly: fields, line, end_line, offset, raw, problem. */
#include "unit_helpers.h"

#include <inttypes.h>
#include <stdbool.h>

#include "loader/csv_reader.h"
#include "loader/source.h"

/* One delivered record, copied out of the callback. */
typedef struct rec {
  char *fields; /* "[a][b]N[]": [..] a field, N a NULL (missing) field */
  size_t n_fields;
  uint64_t line, end_line, offset, end_offset;
  char *raw; /* raw bytes, NUL-terminated copy */
  size_t raw_len;
  char *problem; /* NULL or a copy */
} rec_t;

typedef struct recs {
  rec_t *v;
  size_t n, cap;
  size_t stop_after; /* return false after this many records (0: never) */
  size_t max_fields; /* describe at most this many fields (0: all) */
} recs_t;

static char *dup_mem(const char *p, size_t len)
{
  char *s = malloc(len + 1);
  assert_non_null(s);
  if (len)
    memcpy(s, p, len);
  s[len] = '\0';
  return s;
}

static bool collect(void *ctx, const csv_record_t *r)
{
  recs_t *rs = ctx;
  if (rs->n == rs->cap) {
    rs->cap = rs->cap ? rs->cap * 2 : 16;
    rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
    assert_non_null(rs->v);
  }
  rec_t *c = &rs->v[rs->n++];
  memset(c, 0, sizeof *c);
  size_t shown = rs->max_fields && r->n_fields > rs->max_fields ? rs->max_fields
                                                                : r->n_fields;
  size_t len = 1;
  for (size_t i = 0; i < shown; i++)
    len += r->fields[i].data ? r->fields[i].len + 2 : 1;
  c->fields = malloc(len);
  assert_non_null(c->fields);
  size_t at = 0;
  for (size_t i = 0; i < shown; i++) {
    const csv_field_t *f = &r->fields[i];
    if (!f->data) {
      assert_int_equal(f->len, 0);
      c->fields[at++] = 'N';
      continue;
    }
    /* data is NUL-terminated at len. */
    assert_int_equal(f->data[f->len], '\0');
    c->fields[at++] = '[';
    memcpy(c->fields + at, f->data, f->len);
    at += f->len;
    c->fields[at++] = ']';
  }
  c->fields[at] = '\0';
  c->n_fields = r->n_fields;
  c->line = r->line;
  c->end_line = r->end_line;
  c->offset = r->offset;
  c->end_offset = r->end_offset;
  c->raw = dup_mem(r->raw, r->raw_len);
  c->raw_len = r->raw_len;
  c->problem = r->problem ? strdup(r->problem) : NULL;
  return !(rs->stop_after && rs->n >= rs->stop_after);
}

static void recs_free(recs_t *rs)
{
  for (size_t i = 0; i < rs->n; i++) {
    free(rs->v[i].fields);
    free(rs->v[i].raw);
    free(rs->v[i].problem);
  }
  free(rs->v);
  memset(rs, 0, sizeof *rs);
}

/* Reads path[start..end) (start at start_line) into rs; returns the reader's
 * empty-line count and stores its final offset in *done. */
static uint64_t read_range(const char *path, const csv_dialect_t *d,
                           uint64_t start, uint64_t start_line, uint64_t end,
                           recs_t *rs, uint64_t *done)
{
  bson_error_t error;
  source_t *src = source_open(path, start, &error);
  if (!src)
    fail_msg("source_open %s: %s", path, error.message);
  csvr_t *r = csvr_new(src, d, start, start_line, end, &error);
  assert_non_null(r);
  if (!csvr_read(r, collect, rs, &error))
    fail_msg("csvr_read: %s", error.message);
  uint64_t empty = csvr_empty_lines(r);
  if (done)
    *done = csvr_offset(r);
  csvr_destroy(r);
  source_close(src);
  return empty;
}

/* Writes text to a file in a fresh directory and reads it whole. */
static uint64_t read_text(const char *text, size_t len, const csv_dialect_t *d,
                          recs_t *rs)
{
  char *dir = uh_tmpdir();
  char *path = uh_write(dir, "in.csv", text, len);
  csv_dialect_t def;
  csvr_dialect_default(&def);
  uint64_t empty = read_range(path, d ? d : &def, 0, 1, UINT64_MAX, rs, NULL);
  uh_rmtree(dir);
  free(path);
  free(dir);
  return empty;
}

#define READ(text, d, rs) read_text((text), sizeof(text) - 1, (d), (rs))

/* Checks record i of rs. */
static void check_rec(const recs_t *rs, size_t i, const char *fields,
                      uint64_t line, uint64_t end_line, uint64_t offset,
                      const char *raw)
{
  if (i >= rs->n)
    fail_msg("record %zu missing (only %zu)", i, rs->n);
  const rec_t *c = &rs->v[i];
  if (strcmp(c->fields, fields) != 0)
    fail_msg("record %zu: fields %s, want %s", i, c->fields, fields);
  if (c->line != line || c->end_line != end_line || c->offset != offset)
    fail_msg("record %zu: line %" PRIu64 "-%" PRIu64 " @%" PRIu64
             ", want %" PRIu64 "-%" PRIu64 " @%" PRIu64,
             i, c->line, c->end_line, c->offset, line, end_line, offset);
  assert_int_equal(c->raw_len, strlen(raw));
  assert_string_equal(c->raw, raw);
  assert_null(c->problem);
}

static void test_dialect_default(void **state)
{
  (void)state;
  csv_dialect_t d;
  memset(&d, 0x55, sizeof d);
  csvr_dialect_default(&d);
  assert_int_equal(d.delimiter, ',');
  assert_int_equal(d.quote, '"');
  assert_false(d.trim);
  assert_int_equal(d.comment, -1);
  assert_int_equal(d.skip_lines, 0);
}

static void test_simple_lf(void **state)
{
  (void)state;
  recs_t rs = {0};
  uint64_t empty = READ("id,name\n1,ann\n22,bob\n", NULL, &rs);
  assert_int_equal(rs.n, 3);
  assert_int_equal(empty, 0);
  check_rec(&rs, 0, "[id][name]", 1, 1, 0, "id,name");
  check_rec(&rs, 1, "[1][ann]", 2, 2, 8, "1,ann");
  check_rec(&rs, 2, "[22][bob]", 3, 3, 14, "22,bob");
  assert_int_equal(rs.v[1].n_fields, 2);
  recs_free(&rs);
}

static void test_crlf(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("id,name\r\n1,ann\r\n22,bob\r\n", NULL, &rs);
  assert_int_equal(rs.n, 3);
  check_rec(&rs, 0, "[id][name]", 1, 1, 0, "id,name");
  check_rec(&rs, 1, "[1][ann]", 2, 2, 9, "1,ann");
  check_rec(&rs, 2, "[22][bob]", 3, 3, 16, "22,bob");
  recs_free(&rs);
}

static void test_quoted_fields(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("a,b,c\n"
       "\"x,y\",\"say \"\"hi\"\"\",z\n"
       "1,\"line one\nline two\",3\n"
       "\"crlf\r\ninside\",\"\",\"\"\"\"\n"
       "4,5,6\n",
       NULL, &rs);
  assert_int_equal(rs.n, 5);
  check_rec(&rs, 0, "[a][b][c]", 1, 1, 0, "a,b,c");
  check_rec(&rs, 1, "[x,y][say \"hi\"][z]", 2, 2, 6,
            "\"x,y\",\"say \"\"hi\"\"\",z");
  check_rec(&rs, 2, "[1][line one\nline two][3]", 3, 4, 27,
            "1,\"line one\nline two\",3");
  check_rec(&rs, 3, "[crlf\r\ninside][][\"]", 5, 6, 51,
            "\"crlf\r\ninside\",\"\",\"\"\"\"");
  check_rec(&rs, 4, "[4][5][6]", 7, 7, 74, "4,5,6");
  recs_free(&rs);
}

static void test_many_lines_in_one_field(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("h\n\"a\n\nb\n\n\"\nnext\n", NULL, &rs);
  assert_int_equal(rs.n, 3);
  check_rec(&rs, 0, "[h]", 1, 1, 0, "h");
  /* Empty lines inside quotes are data, not skipped lines. */
  check_rec(&rs, 1, "[a\n\nb\n\n]", 2, 6, 2, "\"a\n\nb\n\n\"");
  check_rec(&rs, 2, "[next]", 7, 7, 11, "next");
  recs_free(&rs);
}

static void test_bom(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("\xEF\xBB\xBFid,name\n1,a\n", NULL, &rs);
  assert_int_equal(rs.n, 2);
  /* Offsets stay file offsets: the header starts after the 3-byte BOM. */
  check_rec(&rs, 0, "[id][name]", 1, 1, 3, "id,name");
  check_rec(&rs, 1, "[1][a]", 2, 2, 11, "1,a");
  recs_free(&rs);

  /* A BOM-like sequence later in the file is data. */
  READ("h\n\xEF\xBB\xBFx\n", NULL, &rs);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 1, "[\xEF\xBB\xBFx]", 2, 2, 2, "\xEF\xBB\xBFx");
  recs_free(&rs);
}

static void test_last_line_without_newline(void **state)
{
  (void)state;
  recs_t rs = {0};
  uint64_t done = 0;
  char *dir = uh_tmpdir();
  char *path = uh_write_str(dir, "f.csv", "a,b\n1,2\n3,4");
  csv_dialect_t d;
  csvr_dialect_default(&d);
  read_range(path, &d, 0, 1, UINT64_MAX, &rs, &done);
  assert_int_equal(rs.n, 3);
  check_rec(&rs, 2, "[3][4]", 3, 3, 8, "3,4");
  assert_int_equal(done, 11);
  recs_free(&rs);

  /* Also with a quoted last field and CRLF before it. */
  READ("a\r\n\"q\"", NULL, &rs);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 1, "[q]", 2, 2, 3, "\"q\"");
  recs_free(&rs);
  uh_rmtree(dir);
  free(path);
  free(dir);
}

static void test_empty_lines(void **state)
{
  (void)state;
  recs_t rs = {0};
  uint64_t empty = READ("h\n\n1\n\r\n2\n\n", NULL, &rs);
  assert_int_equal(rs.n, 3);
  assert_int_equal(empty, 3);
  check_rec(&rs, 0, "[h]", 1, 1, 0, "h");
  check_rec(&rs, 1, "[1]", 3, 3, 3, "1");
  check_rec(&rs, 2, "[2]", 5, 5, 7, "2");
  recs_free(&rs);

  /* Leading empty lines before the header. */
  empty = READ("\n\nh\n1\n", NULL, &rs);
  assert_int_equal(empty, 2);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 0, "[h]", 3, 3, 2, "h");
  recs_free(&rs);

  /* An empty file. */
  empty = READ("", NULL, &rs);
  assert_int_equal(rs.n, 0);
  assert_int_equal(empty, 0);
  recs_free(&rs);
}

static void test_spaces_kept_and_trimmed(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("a,b\n  x , y  \n\t t\t,\" q \"\n", NULL, &rs);
  assert_int_equal(rs.n, 3);
  check_rec(&rs, 1, "[  x ][ y  ]", 2, 2, 4, "  x , y  ");
  check_rec(&rs, 2, "[\t t\t][ q ]", 3, 3, 14, "\t t\t,\" q \"");
  recs_free(&rs);

  csv_dialect_t d;
  csvr_dialect_default(&d);
  d.trim = true;
  READ("a,b\n  x , y  \n\t t\t,\" q \"\n", &d, &rs);
  assert_int_equal(rs.n, 3);
  check_rec(&rs, 1, "[x][y]", 2, 2, 4, "  x , y  ");
  /* Quoted spaces stay. */
  check_rec(&rs, 2, "[t][ q ]", 3, 3, 14, "\t t\t,\" q \"");
  recs_free(&rs);
}

/* Reads text whole, with libcsv's space function everywhere (fast off) or
 * only where it matters (fast on). */
static void read_blanks(const char *path, bool fast, recs_t *rs)
{
  bson_error_t error;
  csv_dialect_t d;
  csvr_dialect_default(&d);
  source_t *src = source_open(path, 0, &error);
  if (!src)
    fail_msg("source_open %s: %s", path, error.message);
  csvr_t *r = csvr_new(src, &d, 0, 1, UINT64_MAX, &error);
  assert_non_null(r);
  csvr_set_blanks_fast(r, fast);
  if (!csvr_read(r, collect, rs, &error))
    fail_msg("csvr_read: %s", error.message);
  csvr_destroy(r);
  source_close(src);
}

/* Both readings of text give the same records, byte for byte. */
static void check_blanks_alike(const char *dir, const char *text, size_t len)
{
  char *path = uh_write(dir, "blanks.csv", text, len);
  recs_t slow = {0}, fast = {0};
  read_blanks(path, false, &slow);
  read_blanks(path, true, &fast);
  if (slow.n != fast.n)
    fail_msg("%zu records with the space function, %zu without; input:\n%.*s",
             slow.n, fast.n, (int)(len < 400 ? len : 400), text);
  for (size_t i = 0; i < slow.n; i++) {
    const rec_t *a = &slow.v[i], *b = &fast.v[i];
    bool same = strcmp(a->fields, b->fields) == 0 &&
                a->n_fields == b->n_fields && a->line == b->line &&
                a->end_line == b->end_line && a->offset == b->offset &&
                a->end_offset == b->end_offset && a->raw_len == b->raw_len &&
                memcmp(a->raw, b->raw, a->raw_len) == 0 &&
                (a->problem == NULL) == (b->problem == NULL) &&
                (!a->problem || strcmp(a->problem, b->problem) == 0);
    if (!same)
      fail_msg("record %zu differs: %s (%s) with the space function, %s (%s) "
               "without; raw: %s",
               i, a->fields, a->problem ? a->problem : "ok", b->fields,
               b->problem ? b->problem : "ok", a->raw);
  }
  recs_free(&slow);
  recs_free(&fast);
  free(path);
}

/* Fills buf with at least want bytes of random pieces (each at most 16
 * bytes) from bits; returns the length. */
static size_t random_bits(char *buf, size_t want, const char *const *bits,
                          size_t n_bits, uint64_t *x)
{
  size_t len = 0;
  while (len < want) {
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    const char *b = bits[(*x >> 33) % n_bits];
    size_t n = strlen(b);
    memcpy(buf + len, b, n);
    len += n;
  }
  return len;
}

/* Spaces and tabs everywhere they can matter (after a delimiter, before a
 * line end, around quotes, across the reader's 256 KiB blocks): the reader
 * that calls libcsv's space function only where it matters delivers the
 * same records as the one that calls it on every byte. */
static void test_blanks_fast_path_exact(void **state)
{
  (void)state;
  static const char *const bits[] = {
      " ",   "\t",      "  ",   ",",    "\"",   "\"\"",
      "\n",  "\r\n",    "\r",   "a",    "bc",   "\xc3\xa9",
      "x y", " \"q\" ", "\" ,", ", \"", "\"\t", "5'11\" t"};
  enum { NBITS = sizeof bits / sizeof bits[0] };
  char *dir = uh_tmpdir();
  uint64_t x = 42;
  char text[512];
  for (int iter = 0; iter < 4000; iter++) {
    size_t len = random_bits(text, (size_t)(x % 120) + 1, bits, NBITS, &x);
    check_blanks_alike(dir, text, len);
  }
  /* One file of a few blocks, so pieces also end at block boundaries. */
  size_t big = 3 * 256 * 1024 + 777;
  char *buf = malloc(big + 64);
  assert_non_null(buf);
  check_blanks_alike(dir, buf, random_bits(buf, big, bits, NBITS, &x));
  free(buf);
  uh_rmtree(dir);
  free(dir);
}

static void test_other_delimiters(void **state)
{
  (void)state;
  static const unsigned char delims[] = {';', '|', '\t'};
  for (size_t k = 0; k < sizeof delims; k++) {
    char text[64];
    char c = (char)delims[k];
    int n =
        snprintf(text, sizeof text, "a%cb%cc\n1%c\"x%cy\"%c\n", c, c, c, c, c);
    csv_dialect_t d;
    csvr_dialect_default(&d);
    d.delimiter = delims[k];
    recs_t rs = {0};
    read_text(text, (size_t)n, &d, &rs);
    assert_int_equal(rs.n, 2);
    char want[32];
    snprintf(want, sizeof want, "[1][x%cy]N", c);
    assert_string_equal(rs.v[0].fields, "[a][b][c]");
    assert_string_equal(rs.v[1].fields, want);
    assert_int_equal(rs.v[1].line, 2);
    assert_int_equal(rs.v[1].offset, 6);
    recs_free(&rs);
  }
  /* With ';' a comma is data. */
  csv_dialect_t d;
  csvr_dialect_default(&d);
  d.delimiter = ';';
  recs_t rs = {0};
  READ("a;b\n1,5;2\n", &d, &rs);
  check_rec(&rs, 1, "[1,5][2]", 2, 2, 4, "1,5;2");
  recs_free(&rs);

  /* Tab delimiter with trim: tabs separate, spaces are trimmed. */
  d.delimiter = '\t';
  d.trim = true;
  READ("a\tb\n x \t y \n", &d, &rs);
  check_rec(&rs, 1, "[x][y]", 2, 2, 4, " x \t y ");
  recs_free(&rs);
}

static void test_other_quote(void **state)
{
  (void)state;
  csv_dialect_t d;
  csvr_dialect_default(&d);
  d.quote = '\'';
  recs_t rs = {0};
  READ("a,b\n'x,y',\"z\"\n", &d, &rs);
  check_rec(&rs, 1, "[x,y][\"z\"]", 2, 2, 4, "'x,y',\"z\"");
  recs_free(&rs);
}

static void test_skip_lines(void **state)
{
  (void)state;
  csv_dialect_t d;
  csvr_dialect_default(&d);
  d.skip_lines = 2;
  recs_t rs = {0};
  uint64_t empty = READ("title line\n\nid,v\n1,2\n", &d, &rs);
  assert_int_equal(rs.n, 2);
  /* A skipped empty line is skipped, not counted as empty. */
  assert_int_equal(empty, 0);
  check_rec(&rs, 0, "[id][v]", 3, 3, 12, "id,v");
  check_rec(&rs, 1, "[1][2]", 4, 4, 17, "1,2");
  recs_free(&rs);

  /* A skipped line may hold an unbalanced quote. */
  d.skip_lines = 1;
  READ("\"junk\nh\n1\n", &d, &rs);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 0, "[h]", 2, 2, 6, "h");
  recs_free(&rs);
}

static void test_comment(void **state)
{
  (void)state;
  csv_dialect_t d;
  csvr_dialect_default(&d);
  d.comment = '#';
  recs_t rs = {0};
  uint64_t empty =
      READ("# leading\nh,v\n#1,2\n3,\"#not\n# a comment\"\n 4,#5\n", &d, &rs);
  assert_int_equal(empty, 0);
  assert_int_equal(rs.n, 3);
  check_rec(&rs, 0, "[h][v]", 2, 2, 10, "h,v");
  /* Inside a quoted field a '#' line is data. */
  check_rec(&rs, 1, "[3][#not\n# a comment]", 4, 5, 19,
            "3,\"#not\n# a comment\"");
  /* Only a '#' in the first byte makes a comment. */
  check_rec(&rs, 2, "[ 4][#5]", 6, 6, 40, " 4,#5");
  recs_free(&rs);

  /* Without a comment byte, '#' lines are records. */
  READ("h\n#x\n", NULL, &rs);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 1, "[#x]", 2, 2, 2, "#x");
  recs_free(&rs);
}

static void test_empty_fields(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("a,b,c,d\nx,,\"\",y\n,,,\n\"\"\n", NULL, &rs);
  assert_int_equal(rs.n, 4);
  check_rec(&rs, 1, "[x]N[][y]", 2, 2, 8, "x,,\"\",y");
  assert_int_equal(rs.v[1].n_fields, 4);
  check_rec(&rs, 2, "NNNN", 3, 3, 16, ",,,");
  assert_int_equal(rs.v[2].n_fields, 4);
  check_rec(&rs, 3, "[]", 4, 4, 20, "\"\"");
  assert_int_equal(rs.v[3].n_fields, 1);
  recs_free(&rs);
}

static void test_unterminated_quote(void **state)
{
  (void)state;
  recs_t rs = {0};
  /* No newline at the end. */
  READ("h,v\n1,\"abc\n2,3", NULL, &rs);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 0, "[h][v]", 1, 1, 0, "h,v");
  const rec_t *c = &rs.v[1];
  assert_non_null(c->problem);
  assert_non_null(strstr(c->problem, "unterminated"));
  assert_int_equal(c->n_fields, 0);
  assert_int_equal(c->line, 2);
  assert_int_equal(c->end_line, 3);
  assert_int_equal(c->offset, 4);
  assert_string_equal(c->raw, "1,\"abc\n2,3");
  recs_free(&rs);
}

/* Was a bug (src/csv_reader.c, csvr_read end-of-input path / csvr__deliver):
 * when a file ends with a newline inside an unterminated quoted field, the
 * record's end_line is one past the file's last line: for "h,v\n1,\"abc\n
 * 2,3\n" (3 lines) the problem record has line 2 and end_line 4, expected
 * end_line 3. r->line was already advanced past the final '\n' when
 * csv_fini() delivers the record. */
static void test_unterminated_quote_final_newline(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("h,v\n1,\"abc\n2,3\n", NULL, &rs);
  assert_int_equal(rs.n, 2);
  const rec_t *c = &rs.v[1];
  assert_non_null(c->problem);
  assert_int_equal(c->line, 2);
  assert_int_equal(c->end_line, 3);
  assert_int_equal(c->offset, 4);
  assert_string_equal(c->raw, "1,\"abc\n2,3");
  recs_free(&rs);
}

/* Was a bug (src/csv_reader.c, csvr_read end of input / csvr__on_row): with
 * CR-only line ends (classic Mac), which libcsv accepts as record ends, the
 * whole file is one "physical line" to the reader: after the first record
 * in_record is false, so (1) a last record without a trailing CR is never
 * handed to csv_fini() and is silently lost ("h\r1\r2" delivers "h" and "1"
 * only), and (2) every later record is delivered with the first record's
 * line, offset and raw bytes (all line 1, offset 0, raw "h\r1\r2").
 * Expected: "2" delivered, and records with their own offsets (or CR-only
 * input rejected with a clear error). */
static void test_cr_only_line_ends(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("h\r1\r2", NULL, &rs);
  assert_int_equal(rs.n, 3);
  assert_string_equal(rs.v[2].fields, "[2]");
  assert_int_equal(rs.v[1].offset, 2);
  assert_string_equal(rs.v[1].raw, "1");
  recs_free(&rs);
}

/* Was a bug (src/csv_reader.c, csvr__feed): an empty CRLF line whose '\r' is
 * the last byte of a 256 KiB block and whose '\n' opens the next is not counted
 * by csvr_empty_lines() (the '\r' piece does not end a line, so the empty-line
 * test "len == 2 && p[0] == '\r'" never sees the pair; a record is begun
 * instead and silently dropped). Line numbers stay right. Expected
 * csvr_empty_lines() == 1. */
static void test_blank_crlf_split_at_block_boundary(void **state)
{
  (void)state;
  size_t block = 256 * 1024;
  char *text = malloc(block + 16);
  assert_non_null(text);
  memcpy(text, "h\n", 2);
  memset(text + 2, 'x', block - 4);
  text[block - 2] = '\n'; /* line 2 ends here */
  text[block - 1] = '\r'; /* line 3: "\r" | "\n" across the boundary */
  memcpy(text + block, "\nz\n", 3);
  recs_t rs = {.max_fields = 1};
  uint64_t empty = read_text(text, block + 3, NULL, &rs);
  free(text);
  assert_int_equal(rs.n, 3);
  assert_int_equal(rs.v[2].line, 4);
  assert_int_equal(empty, 1);
  recs_free(&rs);
}

static void test_stop_from_callback(void **state)
{
  (void)state;
  recs_t rs = {.stop_after = 2};
  READ("h\n1\n2\n3\n", NULL, &rs);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 1, "[1]", 2, 2, 2, "1");
  recs_free(&rs);

  rs = (recs_t){.stop_after = 1};
  READ("h\n1\n2\n3\n", NULL, &rs);
  assert_int_equal(rs.n, 1);
  recs_free(&rs);
}

static void test_end_offset(void **state)
{
  (void)state;
  /* Offsets: h@0 1@2 "2\nx"@4 3@10 4@12. */
  const char *text = "h\n1\n\"2\nx\"\n3\n4\n";
  char *dir = uh_tmpdir();
  char *path = uh_write_str(dir, "r.csv", text);
  csv_dialect_t d;
  csvr_dialect_default(&d);
  recs_t rs = {0};
  uint64_t done;

  /* A record starting exactly at end_offset is the next range's. */
  read_range(path, &d, 0, 1, 4, &rs, &done);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 1, "[1]", 2, 2, 2, "1");
  assert_int_equal(done, 4);
  recs_free(&rs);

  /* A range that ends inside a record (byte 5 is inside "2\nx", which the
   * cut finder never chooses) is an error naming the record's line, not a
   * record read by two ranges. */
  {
    bson_error_t error;
    source_t *src = source_open(path, 0, &error);
    assert_non_null(src);
    csvr_t *r = csvr_new(src, &d, 0, 1, 5, &error);
    assert_non_null(r);
    assert_false(csvr_read(r, collect, &rs, &error));
    assert_non_null(strstr(error.message, "byte 5 is inside the record at "
                                          "line 3"));
    assert_int_equal(rs.n, 3); /* up to the one that crosses it */
    csvr_destroy(r);
    source_close(src);
    recs_free(&rs);
  }

  /* The next range: starts at 10 on line 5. */
  read_range(path, &d, 10, 5, UINT64_MAX, &rs, &done);
  assert_int_equal(rs.n, 2);
  check_rec(&rs, 0, "[3]", 5, 5, 10, "3");
  check_rec(&rs, 1, "[4]", 6, 6, 12, "4");
  assert_int_equal(done, 14);
  recs_free(&rs);

  /* end_offset 0: nothing. */
  read_range(path, &d, 0, 1, 0, &rs, NULL);
  assert_int_equal(rs.n, 0);
  recs_free(&rs);
  uh_rmtree(dir);
  free(path);
  free(dir);
}

/* Fills len bytes with fields of 999 'x' separated by commas. Many small
 * fields rather than one huge one: libcsv grows its field buffer 128 bytes
 * at a time, which is quadratic under ASan/valgrind for a 16 MiB field. */
static void fill_fields(char *p, size_t len)
{
  for (size_t i = 0; i < len; i++)
    p[i] = (i % 1000 == 999) ? ',' : 'x';
  p[len - 1] = 'x';
}

static void test_oversized_record(void **state)
{
  (void)state;
  /* Line 2 is bigger than the limit; the reader reports it, with where it
   * is, and carries on with lines 3 and 4. */
  size_t big = CSVR_MAX_RECORD_BYTES + 1000;
  size_t cap = big + 64;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = 0;
  memcpy(text + n, "a,b\n1,", 6);
  n += 6;
  fill_fields(text + n, big);
  n += big;
  memcpy(text + n, "\n2,3\n4,5\n", 9);
  n += 9;
  recs_t rs = {.max_fields = 4};
  read_text(text, n, NULL, &rs);
  free(text);
  assert_int_equal(rs.n, 4);
  check_rec(&rs, 0, "[a][b]", 1, 1, 0, "a,b");
  const rec_t *c = &rs.v[1];
  assert_non_null(c->problem);
  char want[160];
  snprintf(want, sizeof want,
           "record exceeds 16 MiB (lines 2-2, %zu bytes at offset 4)",
           2 + big + 1);
  assert_string_equal(c->problem, want);
  assert_int_equal(c->n_fields, 0);
  assert_int_equal(c->line, 2);
  assert_int_equal(c->end_line, 2);
  assert_int_equal(c->offset, 4);
  assert_int_equal(c->end_offset, 4 + 2 + big + 1);
  check_rec(&rs, 2, "[2][3]", 3, 3, 4 + 2 + big + 1, "2,3");
  check_rec(&rs, 3, "[4][5]", 4, 4, 4 + 2 + big + 5, "4,5");
  recs_free(&rs);
}

static void test_oversized_quoted_record(void **state)
{
  (void)state;
  /* Line 2 stays under the limit but opens a quoted field that takes
   * line 3 past it: the reader gives the record up on line 3 and
   * resynchronises at line 4. */
  size_t first = CSVR_MAX_RECORD_BYTES - 100;
  char *text = malloc(first + 512) /* 2 + first + 7 + 200 + 5 bytes */;
  assert_non_null(text);
  size_t n = 0;
  memcpy(text + n, "a\n", 2);
  n += 2;
  fill_fields(text + n, first);
  n += first;
  memcpy(text + n, ",\"open\n", 7); /* line 2 ends inside quotes */
  n += 7;
  size_t line3 = 200;
  memset(text + n, 'r', line3);
  n += line3;
  memcpy(text + n, "\"\nok\n", 5);
  n += 5;
  recs_t rs = {.max_fields = 2};
  read_text(text, n, NULL, &rs);
  free(text);
  assert_int_equal(rs.n, 3);
  const rec_t *c = &rs.v[1];
  assert_non_null(c->problem);
  assert_non_null(strstr(c->problem, "record exceeds 16 MiB (lines 2-3"));
  assert_int_equal(c->line, 2);
  assert_int_equal(c->end_line, 3);
  assert_int_equal(c->offset, 2);
  check_rec(&rs, 2, "[ok]", 4, 4, 2 + first + 7 + line3 + 2, "ok");
  recs_free(&rs);
}

static void test_oversized_last_record(void **state)
{
  (void)state;
  /* The oversized record is the last one and has no newline. */
  size_t big = CSVR_MAX_RECORD_BYTES + 10;
  char *text = malloc(big + 8);
  assert_non_null(text);
  memcpy(text, "a\n", 2);
  fill_fields(text + 2, big);
  recs_t rs = {.max_fields = 1};
  read_text(text, big + 2, NULL, &rs);
  free(text);
  assert_int_equal(rs.n, 2);
  assert_non_null(rs.v[1].problem);
  char want[160];
  snprintf(want, sizeof want,
           "record exceeds 16 MiB (lines 2-2, %zu bytes at offset 2)", big);
  assert_string_equal(rs.v[1].problem, want);
  assert_int_equal(rs.v[1].line, 2);
  assert_int_equal(rs.v[1].offset, 2);
  assert_int_equal(rs.v[1].end_offset, big + 2);
  recs_free(&rs);
}

static void test_end_offsets(void **state)
{
  (void)state;
  recs_t rs = {0};
  READ("h\r\n\"a\nb\"\n\nlast", NULL, &rs);
  assert_int_equal(rs.n, 3);
  /* Just past each record and its line terminator. */
  assert_int_equal(rs.v[0].end_offset, 3);
  assert_int_equal(rs.v[1].offset, 3);
  assert_int_equal(rs.v[1].end_offset, 9);
  /* The empty line 5 is skipped; the last record runs to the end. */
  assert_int_equal(rs.v[2].offset, 10);
  assert_int_equal(rs.v[2].end_offset, 14);
  recs_free(&rs);
}

/* Expected record of the block-boundary test. */
typedef struct want {
  char *fields;
  uint64_t line, end_line, offset;
  char *raw;
} want_t;

/* Builds a file of more than two 256 KiB blocks whose records are of varied
 * shapes (quoted fields holding newlines, CRLF, doubled quotes), shifted by
 * pad bytes, and checks every record's position against what the generator
 * knows. */
static void check_blocks(size_t pad)
{
  size_t cap = 700 * 1024;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = 0;
  uint64_t line = 1;
  want_t *want = NULL;
  size_t n_want = 0, cap_want = 0;
  char rawbuf[512], fieldbuf[512];

  int i = 0;
  while (n < 600 * 1024) {
    int shape = i % 5;
    int rl, fl;
    uint64_t lines_in = 1;
    const char *eol = "\n";
    switch (shape) {
    case 0: /* plain, padded */
      rl = snprintf(rawbuf, sizeof rawbuf, "%d,%.*s", i, (int)(pad % 97 + 1),
                    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                    "pppppppppppppppppppppppppppppppppppppppppppppppppppppp");
      fl = snprintf(fieldbuf, sizeof fieldbuf, "[%d][%.*s]", i,
                    (int)(pad % 97 + 1),
                    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                    "pppppppppppppppppppppppppppppppppppppppppppppppppppppp");
      break;
    case 1: /* quoted with two newlines */
      rl = snprintf(rawbuf, sizeof rawbuf, "%d,\"a\nbb\nccc %d\"", i, i);
      fl = snprintf(fieldbuf, sizeof fieldbuf, "[%d][a\nbb\nccc %d]", i, i);
      lines_in = 3;
      break;
    case 2: /* CRLF */
      rl = snprintf(rawbuf, sizeof rawbuf, "%d,crlf-%d", i, i * 7);
      fl = snprintf(fieldbuf, sizeof fieldbuf, "[%d][crlf-%d]", i, i * 7);
      eol = "\r\n";
      break;
    case 3: /* doubled quotes and a comma */
      rl = snprintf(rawbuf, sizeof rawbuf, "%d,\"q\"\"%d, r\"", i, i);
      fl = snprintf(fieldbuf, sizeof fieldbuf, "[%d][q\"%d, r]", i, i);
      break;
    default: /* quoted CRLF inside, empty field */
      rl = snprintf(rawbuf, sizeof rawbuf, "%d,\"x\r\ny\",", i);
      fl = snprintf(fieldbuf, sizeof fieldbuf, "[%d][x\r\ny]N", i);
      lines_in = 2;
      break;
    }
    (void)fl;
    if (n_want == cap_want) {
      cap_want = cap_want ? cap_want * 2 : 1024;
      want = realloc(want, cap_want * sizeof *want);
      assert_non_null(want);
    }
    want[n_want++] = (want_t){strdup(fieldbuf), line, line + lines_in - 1, n,
                              strdup(rawbuf)};
    memcpy(text + n, rawbuf, (size_t)rl);
    n += (size_t)rl;
    memcpy(text + n, eol, strlen(eol));
    n += strlen(eol);
    line += lines_in;
    i++;
  }

  recs_t rs = {0};
  read_text(text, n, NULL, &rs);
  assert_int_equal(rs.n, n_want);
  for (size_t k = 0; k < n_want; k++) {
    check_rec(&rs, k, want[k].fields, want[k].line, want[k].end_line,
              want[k].offset, want[k].raw);
    free(want[k].fields);
    free(want[k].raw);
  }
  free(want);
  recs_free(&rs);
  free(text);
}

static void test_block_boundaries(void **state)
{
  (void)state;
  /* Shifting the padding moves the 256 KiB and 512 KiB boundaries to
   * different places inside records. */
  for (size_t pad = 0; pad < 24; pad++)
    check_blocks(pad * 5 + pad / 3);
}

static void test_crlf_split_at_block_boundary(void **state)
{
  (void)state;
  /* The '\r' of a record's CRLF is the last byte of the first block. */
  size_t block = 256 * 1024;
  char *text = malloc(block + 64);
  assert_non_null(text);
  memcpy(text, "h\r\n", 3);
  size_t n = 3;
  /* One long record ending at block - 1 with "\r", "\n" opening block 2. */
  size_t body = block - 1 - n;
  memset(text + n, 'z', body);
  n += body;
  memcpy(text + n, "\r\nlast\r\n", 8);
  n += 8;
  recs_t rs = {.max_fields = 1};
  read_text(text, n, NULL, &rs);
  assert_int_equal(rs.n, 3);
  assert_int_equal(rs.v[1].line, 2);
  assert_int_equal(rs.v[1].end_line, 2);
  assert_int_equal(rs.v[1].offset, 3);
  assert_int_equal(rs.v[1].raw_len, body);
  check_rec(&rs, 2, "[last]", 3, 3, block + 1, "last");
  recs_free(&rs);
  free(text);
}

/* Found by the torture harness: two lone CRs at a block's end ("\r\r", the
 * second held back for the next block): the first ends a line too, so the
 * record after them is on the right line. */
static void test_two_crs_at_block_boundary(void **state)
{
  (void)state;
  size_t block = 256 * 1024;
  char *text = malloc(block + 64);
  assert_non_null(text);
  memcpy(text, "h\n", 2);
  size_t n = 2;
  size_t body = block - 2 - n; /* its CR at block - 2, an empty line's CR
                                  at block - 1 */
  memset(text + n, 'z', body);
  n += body;
  memcpy(text + n, "\r\rlast\n", 7);
  n += 7;
  recs_t rs = {.max_fields = 1};
  uint64_t empty = read_text(text, n, NULL, &rs);
  assert_int_equal(rs.n, 3);
  assert_int_equal(rs.v[1].line, 2);
  assert_int_equal(rs.v[1].end_line, 2);
  check_rec(&rs, 2, "[last]", 4, 4, block, "last");
  assert_int_equal(empty, 1);
  recs_free(&rs);
  free(text);
}

static void test_ten_thousand_columns(void **state)
{
  (void)state;
  size_t cols = 10000;
  size_t cap = cols * 16 * 2 + 16;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = 0;
  for (size_t c = 0; c < cols; c++)
    n += (size_t)snprintf(text + n, cap - n, "%sc%zu", c ? "," : "", c);
  text[n++] = '\n';
  size_t header_len = n;
  for (size_t c = 0; c < cols; c++)
    n += (size_t)snprintf(text + n, cap - n, "%s%zu", c ? "," : "", c * 3);
  text[n++] = '\n';

  recs_t rs = {.max_fields = 3};
  read_text(text, n, NULL, &rs);
  assert_int_equal(rs.n, 2);
  assert_int_equal(rs.v[0].n_fields, cols);
  assert_int_equal(rs.v[1].n_fields, cols);
  assert_string_equal(rs.v[0].fields, "[c0][c1][c2]");
  assert_string_equal(rs.v[1].fields, "[0][3][6]");
  assert_int_equal(rs.v[1].offset, header_len);
  assert_int_equal(rs.v[1].raw_len, n - header_len - 1);
  recs_free(&rs);
  free(text);
}

/* The last field of a 10,000-column record, read through its own callback. */
static bool last_field(void *ctx, const csv_record_t *r)
{
  char *out = ctx;
  if (r->n_fields == 0)
    return true;
  const csv_field_t *f = &r->fields[r->n_fields - 1];
  snprintf(out, 32, "%.*s", (int)f->len, f->data ? f->data : "(null)");
  return true;
}

static void test_ten_thousand_columns_last_value(void **state)
{
  (void)state;
  size_t cols = 10000;
  size_t cap = cols * 8 + 16;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = 0;
  for (size_t c = 0; c < cols; c++)
    n += (size_t)snprintf(text + n, cap - n, "%s%zu", c ? "," : "", c);
  text[n++] = '\n';
  char *dir = uh_tmpdir();
  char *path = uh_write(dir, "w.csv", text, n);
  bson_error_t error;
  source_t *src = source_open(path, 0, &error);
  assert_non_null(src);
  csv_dialect_t d;
  csvr_dialect_default(&d);
  csvr_t *r = csvr_new(src, &d, 0, 1, UINT64_MAX, &error);
  assert_non_null(r);
  char last[32] = "";
  assert_true(csvr_read(r, last_field, last, &error));
  assert_string_equal(last, "9999");
  csvr_destroy(r);
  source_close(src);
  uh_rmtree(dir);
  free(path);
  free(dir);
  free(text);
}

static void test_destroy_null(void **state)
{
  (void)state;
  csvr_destroy(NULL);
  source_close(NULL);
}

static void test_source_errors(void **state)
{
  (void)state;
  bson_error_t error;
  char *dir = uh_tmpdir();
  size_t len = strlen(dir) + 16;
  char *missing = malloc(len);
  assert_non_null(missing);
  snprintf(missing, len, "%s/nope.csv", dir);
  assert_null(source_open(missing, 0, &error));
  assert_int_not_equal(error.domain, 0);
  /* A directory is not a regular file. */
  assert_null(source_open(dir, 0, &error));
  assert_non_null(strstr(error.message, "not a regular file"));
  char *path = uh_write_str(dir, "s.csv", "abcdef");
  source_t *src = source_open(path, 2, &error);
  assert_non_null(src);
  assert_int_equal(source_size(src), 6);
  char buf[16];
  size_t n;
  assert_true(source_read(src, buf, sizeof buf, &n, &error));
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "cdef", 4);
  assert_int_equal(source_bytes_read(src), 4);
  assert_true(source_read(src, buf, sizeof buf, &n, &error));
  assert_int_equal(n, 0);
  source_close(src);
  uh_rmtree(dir);
  free(missing);
  free(path);
  free(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dialect_default),
      cmocka_unit_test(test_simple_lf),
      cmocka_unit_test(test_crlf),
      cmocka_unit_test(test_quoted_fields),
      cmocka_unit_test(test_many_lines_in_one_field),
      cmocka_unit_test(test_bom),
      cmocka_unit_test(test_last_line_without_newline),
      cmocka_unit_test(test_empty_lines),
      cmocka_unit_test(test_spaces_kept_and_trimmed),
      cmocka_unit_test(test_blanks_fast_path_exact),
      cmocka_unit_test(test_other_delimiters),
      cmocka_unit_test(test_other_quote),
      cmocka_unit_test(test_skip_lines),
      cmocka_unit_test(test_comment),
      cmocka_unit_test(test_empty_fields),
      cmocka_unit_test(test_unterminated_quote),
      cmocka_unit_test(test_stop_from_callback),
      cmocka_unit_test(test_end_offset),
      cmocka_unit_test(test_oversized_record),
      cmocka_unit_test(test_oversized_quoted_record),
      cmocka_unit_test(test_oversized_last_record),
      cmocka_unit_test(test_end_offsets),
      cmocka_unit_test(test_block_boundaries),
      cmocka_unit_test(test_crlf_split_at_block_boundary),
      cmocka_unit_test(test_two_crs_at_block_boundary),
      cmocka_unit_test(test_ten_thousand_columns),
      cmocka_unit_test(test_ten_thousand_columns_last_value),
      cmocka_unit_test(test_destroy_null),
      cmocka_unit_test(test_source_errors),
      cmocka_unit_test(test_unterminated_quote_final_newline),
      cmocka_unit_test(test_cr_only_line_ends),
      cmocka_unit_test(test_blank_crlf_split_at_block_boundary),
  };
  return cmocka_run_group_tests_name("csv_reader", tests, NULL, NULL);
}
