/* Unit tests of json_reader: newline-delimited JSON and one top-level
 * array, read through source_open() + jsonr_new() + jsonr_read(); each
 * value checked exactly (text, lines, offsets, problem); broken lines with
 * their line numbers; and resuming: reading from any value's end
 * (end_offset, end_line) gives exactly the rest of the whole read. */
#include "unit_helpers.h"

#include <inttypes.h>
#include <stdbool.h>
#include <zlib.h>

#include "loader/json_reader.h"
#include "loader/source.h"

typedef struct val {
  char *text;
  uint64_t line, end_line, offset, end_offset;
  char *problem; /* NULL or a copy */
} val_t;

typedef struct vals {
  val_t *v;
  size_t n, cap;
  size_t stop_after; /* return false after this many (0: never) */
} vals_t;

static bool collect(void *ctx, const json_value_t *jv)
{
  vals_t *vs = ctx;
  if (vs->n == vs->cap) {
    vs->cap = vs->cap ? vs->cap * 2 : 16;
    vs->v = realloc(vs->v, vs->cap * sizeof *vs->v);
    assert_non_null(vs->v);
  }
  char *t = malloc(jv->len + 1);
  assert_non_null(t);
  memcpy(t, jv->text, jv->len);
  t[jv->len] = '\0';
  vs->v[vs->n++] = (val_t){.text = t,
                           .line = jv->line,
                           .end_line = jv->end_line,
                           .offset = jv->offset,
                           .end_offset = jv->end_offset,
                           .problem = jv->problem ? strdup(jv->problem) : NULL};
  return !(vs->stop_after && vs->n >= vs->stop_after);
}

static void vals_free(vals_t *vs)
{
  for (size_t i = 0; i < vs->n; i++) {
    free(vs->v[i].text);
    free(vs->v[i].problem);
  }
  free(vs->v);
  memset(vs, 0, sizeof *vs);
}

/* Reads path from start (at line, inside the array or not) into vs. */
static bool read_from(const char *path, uint64_t start, uint64_t line,
                      bool in_array, vals_t *vs, bson_error_t *error)
{
  source_t *src = source_open(path, start, error);
  if (!src)
    fail_msg("source_open: %s", error->message);
  jsonr_t *r = jsonr_new(src, start, line, in_array, error);
  assert_non_null(r);
  bool ok = jsonr_read(r, collect, vs, error);
  jsonr_destroy(r);
  source_close(src);
  return ok;
}

/* A file written in a fresh directory per test. */
typedef struct fx {
  char *dir;
} fx_t;

static int setup(void **state)
{
  fx_t *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  fx->dir = uh_tmpdir();
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  fx_t *fx = *state;
  uh_rmtree(fx->dir);
  free(fx->dir);
  free(fx);
  return 0;
}

/* What a value must be. */
typedef struct want {
  const char *text;
  uint64_t line, end_line;
  const char *problem; /* NULL, or a word its problem holds */
} want_t;

/* The physical line at offset: 1 + the line feeds before it. */
static uint64_t line_at(const char *text, uint64_t offset)
{
  uint64_t line = 1;
  for (uint64_t i = 0; i < offset; i++)
    line += text[i] == '\n';
  return line;
}

/* Reads text whole and checks the values against want[0..n); checks for
 * every value that text[offset, end_offset) holds its text, and that
 * resuming after each value (its end_offset and end_line) reads exactly
 * the values after it. */
static void check(fx_t *fx, const char *text, const want_t *want, size_t n)
{
  size_t len = strlen(text);
  char *path = uh_write(fx->dir, "in.json", text, len);
  bool array = jsonr_is_array(path);
  vals_t vs = {0};
  bson_error_t error;
  if (!read_from(path, 0, 1, false, &vs, &error))
    fail_msg("jsonr_read: %s", error.message);
  for (size_t i = 0; i < n || i < vs.n; i++) {
    if (i >= vs.n)
      fail_msg("value %zu (%s) missing: only %zu", i, want[i].text, vs.n);
    const val_t *v = &vs.v[i];
    if (i >= n)
      fail_msg("value %zu (%s, line %" PRIu64 ") not expected", i, v->text,
               v->line);
    if (strcmp(v->text, want[i].text) != 0)
      fail_msg("value %zu: \"%s\", want \"%s\"", i, v->text, want[i].text);
    uint64_t end_line = v->end_line;
    if (v->line != want[i].line || end_line != want[i].end_line)
      fail_msg("value %zu (%s): lines %" PRIu64 "-%" PRIu64 ", want %" PRIu64
               "-%" PRIu64,
               i, v->text, v->line, v->end_line, want[i].line,
               want[i].end_line);
    if (!want[i].problem != !v->problem ||
        (v->problem && !strstr(v->problem, want[i].problem)))
      fail_msg("value %zu (%s): problem \"%s\", want \"%s\"", i, v->text,
               v->problem ? v->problem : "(none)",
               want[i].problem ? want[i].problem : "(none)");
    /* Its bytes in the file, and nothing but blanks after them up to its
     * end. */
    assert_true(v->offset < v->end_offset && v->end_offset <= len);
    assert_memory_equal(text + v->offset, v->text, strlen(v->text));
    for (uint64_t k = v->offset + strlen(v->text); k < v->end_offset; k++)
      assert_non_null(strchr(" \t\r\n", text[k]));
    if (i > 0)
      assert_true(v->offset >= vs.v[i - 1].end_offset);
  }
  /* Resuming after each value. */
  for (size_t i = 0; i < vs.n; i++) {
    vals_t rest = {0};
    /* end_line is the line at end_offset: where a resumed run counts from. */
    uint64_t line = vs.v[i].end_line;
    assert_int_equal(line, line_at(text, vs.v[i].end_offset));
    if (!read_from(path, vs.v[i].end_offset, line, array, &rest, &error))
      fail_msg("resuming after value %zu: %s", i, error.message);
    if (rest.n != vs.n - i - 1)
      fail_msg("resuming after value %zu (@%" PRIu64 " line %" PRIu64
               "): %zu values, want %zu",
               i, vs.v[i].end_offset, vs.v[i].end_line, rest.n, vs.n - i - 1);
    for (size_t k = 0; k < rest.n; k++) {
      const val_t *a = &vs.v[i + 1 + k], *b = &rest.v[k];
      if (strcmp(a->text, b->text) != 0 || a->line != b->line ||
          a->line != line_at(text, a->offset) || a->end_line != b->end_line ||
          a->offset != b->offset || a->end_offset != b->end_offset ||
          !a->problem != !b->problem)
        fail_msg("resuming after value %zu (@%" PRIu64 " line %" PRIu64
                 "): value %zu is %s line %" PRIu64 "-%" PRIu64 " @%" PRIu64
                 ", the whole read had %s line %" PRIu64 "-%" PRIu64
                 " @%" PRIu64,
                 i, vs.v[i].end_offset, vs.v[i].end_line, i + 1 + k, b->text,
                 b->line, b->end_line, b->offset, a->text, a->line, a->end_line,
                 a->offset);
    }
    vals_free(&rest);
  }
  vals_free(&vs);
  free(path);
}

#define CHECK(fx, text, ...)                                                   \
  do {                                                                         \
    const want_t w_[] = {__VA_ARGS__};                                         \
    check((fx), (text), w_, sizeof w_ / sizeof w_[0]);                         \
  } while (0)

static void test_ndjson(void **state)
{
  CHECK(*state, "{\"a\":1}\n{\"a\":2}\n\n{\"b\":{\"c\":[1,2]}}\n",
        {"{\"a\":1}", 1, 1, NULL}, {"{\"a\":2}", 2, 2, NULL},
        {"{\"b\":{\"c\":[1,2]}}", 4, 4, NULL});
  /* CRLF, a BOM, blanks around, no final newline. */
  CHECK(*state, "\xEF\xBB\xBF{\"a\":1}\r\n  {\"a\":2}  \r\n{\"a\":3}",
        {"{\"a\":1}", 1, 1, NULL}, {"{\"a\":2}", 2, 2, NULL},
        {"{\"a\":3}", 3, 3, NULL});
  /* Strings that hold what would end or open a value. */
  CHECK(*state,
        "{\"s\":\"}{][,\\\"\\\\\"}\n{\"t\":\"\\\\\"}\n{\"u\":\"a\\nb\"}\n",
        {"{\"s\":\"}{][,\\\"\\\\\"}", 1, 1, NULL},
        {"{\"t\":\"\\\\\"}", 2, 2, NULL}, {"{\"u\":\"a\\nb\"}", 3, 3, NULL});
}

static void test_ndjson_broken_lines(void **state)
{
  /* Each broken line is one problem at its own line, and the next line
   * starts afresh. */
  CHECK(*state,
        "{\"a\":1}\n{\"a\":\n{\"b\":\"unterminated\n[1,2]\n\"str\"\n\n"
        "{\"c\":{\"d\":1}}\n}}\n{\"e\":5}\n",
        {"{\"a\":1}", 1, 1, NULL}, {"{\"a\":", 2, 3, "malformed"},
        {"{\"b\":\"unterminated", 3, 4, "malformed"},
        {"[1,2]", 4, 4, "not a JSON object"},
        {"\"str\"", 5, 6, "not a JSON object"},
        {"{\"c\":{\"d\":1}}", 7, 7, NULL}, {"}}", 8, 9, "malformed"},
        {"{\"e\":5}", 9, 9, NULL});
}

/* Resuming newline-delimited JSON just before a line that is an array:
 * that line is one value (not a JSON object), and the lines after it are
 * read as they were. */
static void test_resume_before_array_line(void **state)
{
  fx_t *fx = *state;
  const char *text = "{\"a\":1}\n[1,2]\n\"str\"\n{\"b\":2}\n";
  char *path = uh_write_str(fx->dir, "r.ndjson", text);
  vals_t rest = {0};
  bson_error_t error;
  assert_true(read_from(path, 8, 2, false, &rest, &error));
  assert_int_equal(rest.n, 3);
  assert_string_equal(rest.v[0].text, "[1,2]");
  assert_string_equal(rest.v[2].text, "{\"b\":2}");
  assert_null(rest.v[2].problem);
  vals_free(&rest);
  free(path);
}

static void test_ndjson_unterminated_at_end(void **state)
{
  CHECK(*state, "{\"a\":1}\n{\"b\":[1,", {"{\"a\":1}", 1, 1, NULL},
        {"{\"b\":[1,", 2, 2, "unterminated"});
  CHECK(*state, "{\"a\":1}\n{\"b\":\"x", {"{\"a\":1}", 1, 1, NULL},
        {"{\"b\":\"x", 2, 2, "unterminated"});
}

static void test_array(void **state)
{
  CHECK(*state,
        "[\n  {\"a\":1},\n  {\"a\":[1,2,{\"x\":\"]\"}]},\n  \"s\", 5,\n"
        "  {\"b\":\"\\\"}\"}\n]\n",
        {"{\"a\":1}", 2, 2, NULL}, {"{\"a\":[1,2,{\"x\":\"]\"}]}", 3, 3, NULL},
        {"\"s\"", 4, 4, "not a JSON object"}, {"5", 4, 4, "not a JSON object"},
        {"{\"b\":\"\\\"}\"}", 5, 5, NULL});
  /* Objects over several lines, on one line, with a BOM and CRLF. */
  CHECK(*state,
        "\xEF\xBB\xBF  [{\"a\":\r\n1,\r\n\"b\":2},{\"c\":3}\r\n,\r\n{}]",
        {"{\"a\":\r\n1,\r\n\"b\":2}", 1, 3, NULL}, {"{\"c\":3}", 3, 3, NULL},
        {"{}", 5, 5, NULL});
  check(*state, "[]\n", NULL, 0);
}

/* Reading across the reader's 256 KiB blocks: values cut by the edge. */
static void test_blocks(void **state)
{
  fx_t *fx = *state;
  size_t cap = 700 * 1024, n = 0, rows = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  while (n + 200 < cap) {
    n += (size_t)snprintf(text + n, cap - n, "{\"i\":%zu,\"pad\":\"%.*s\"}\n",
                          rows, (int)(rows % 97),
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    rows++;
  }
  char *path = uh_write(fx->dir, "big.ndjson", text, n);
  vals_t vs = {0};
  bson_error_t error;
  assert_true(read_from(path, 0, 1, false, &vs, &error));
  assert_int_equal(vs.n, rows);
  for (size_t i = 0; i < rows; i++) {
    assert_null(vs.v[i].problem);
    assert_int_equal(vs.v[i].line, i + 1);
    assert_memory_equal(text + vs.v[i].offset, vs.v[i].text,
                        strlen(vs.v[i].text));
  }
  /* Resumed in the middle of the second block. */
  size_t mid = rows * 3 / 4;
  vals_t rest = {0};
  assert_true(read_from(path, vs.v[mid].end_offset, vs.v[mid].end_line, false,
                        &rest, &error));
  assert_int_equal(rest.n, rows - mid - 1);
  assert_int_equal(rest.v[0].line, mid + 2);
  assert_int_equal(rest.v[0].offset, vs.v[mid + 1].offset);
  vals_free(&rest);
  vals_free(&vs);
  free(path);
  free(text);
}

static void test_stop_and_gzip(void **state)
{
  fx_t *fx = *state;
  const char *text = "[{\"a\":1},{\"a\":2},{\"a\":3}]";
  char gz[4096];
  snprintf(gz, sizeof gz, "%s/a.json.gz", fx->dir);
  gzFile f = gzopen(gz, "wb");
  assert_non_null(f);
  assert_int_equal(gzwrite(f, text, (unsigned)strlen(text)), (int)strlen(text));
  assert_int_equal(gzclose(f), Z_OK);
  assert_true(jsonr_is_array(gz));
  vals_t vs = {.stop_after = 2};
  bson_error_t error;
  assert_true(read_from(gz, 0, 1, false, &vs, &error));
  assert_int_equal(vs.n, 2);
  assert_string_equal(vs.v[1].text, "{\"a\":2}");
  /* Resumed from an inflated offset, inside the array. */
  vals_t rest = {0};
  assert_true(
      read_from(gz, vs.v[1].end_offset, vs.v[1].end_line, true, &rest, &error));
  assert_int_equal(rest.n, 1);
  assert_string_equal(rest.v[0].text, "{\"a\":3}");
  assert_int_equal(rest.v[0].offset, 17);
  vals_free(&rest);
  vals_free(&vs);
}

static void test_names_and_arrays(void **state)
{
  fx_t *fx = *state;
  assert_true(jsonr_is_json_name("a.json"));
  assert_true(jsonr_is_json_name("dir/a.ndjson"));
  assert_true(jsonr_is_json_name("a.jsonl"));
  assert_true(jsonr_is_json_name("a.json.gz"));
  assert_true(jsonr_is_json_name("a.ndjson.gz"));
  assert_false(jsonr_is_json_name("a.csv"));
  assert_false(jsonr_is_json_name("a.csv.gz"));
  assert_false(jsonr_is_json_name("json"));
  assert_false(jsonr_is_json_name(".json.gz"));
  assert_false(jsonr_is_json_name("a.json.bak"));
  char *p = uh_write_str(fx->dir, "a.json", "\xEF\xBB\xBF \r\n\t [{}]");
  assert_true(jsonr_is_array(p));
  free(p);
  p = uh_write_str(fx->dir, "b.json", "  {\"a\":[1]}\n");
  assert_false(jsonr_is_array(p));
  free(p);
  p = uh_write_str(fx->dir, "c.json", "");
  assert_false(jsonr_is_array(p));
  free(p);
  assert_false(jsonr_is_array("/nonexistent/x.json"));
  jsonr_destroy(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_ndjson),
      T(test_ndjson_broken_lines),
      T(test_ndjson_unterminated_at_end),
      T(test_resume_before_array_line),
      T(test_array),
      T(test_blocks),
      T(test_stop_and_gzip),
      T(test_names_and_arrays),
  };
  return cmocka_run_group_tests_name("json_reader", tests, NULL, NULL);
}
