/* Unit tests of doc_builder: header compilation (names, nesting, errors),
 * type inference value by value, blanks, _id, rejects. Records are built by
 * hand as record_t, exactly as the reader delivers them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/doc_builder.h"
#include "loader/error.h"

#define MAX_FIELDS 16

/* A record built from C strings; NULL stands for a missing (unquoted empty)
 * field. */
typedef struct rec {
  field_t fields[MAX_FIELDS];
  record_t r;
} rec_t;

/* Compiles the header record h (its fields are the column names). */
static doc_spec_t *spec_of(const record_t *h, const doc_options_t *o,
                           bson_error_t *e)
{
  return docb_spec_new(h->fields, h->n_fields, o, e);
}

static const record_t *make_rec(rec_t *rec, size_t n, const char *const *vals)
{
  assert_true(n <= MAX_FIELDS);
  memset(rec, 0, sizeof *rec);
  for (size_t i = 0; i < n; i++)
    rec->fields[i] = (field_t){vals[i], vals[i] ? strlen(vals[i]) : 0};
  rec->r.fields = rec->fields;
  rec->r.n_fields = n;
  rec->r.line = 2;
  rec->r.end_line = 2;
  rec->r.raw = "";
  return &rec->r;
}

#define REC(rec, ...)                                                          \
  ({                                                                           \
    static const char *const v_[] = {__VA_ARGS__};                             \
    make_rec((rec), sizeof v_ / sizeof v_[0], v_);                             \
  })

static doc_options_t opts_no_id(void)
{
  doc_options_t o;
  docb_options_default(&o);
  o.add_id = false;
  return o;
}

/* Compiles header with options o, which must fail with needle1 (and
 * needle2, unless NULL) in the message. */
static void want_header_error_with(const record_t *header,
                                   const doc_options_t *o, const char *needle1,
                                   const char *needle2)
{
  bson_error_t e;
  memset(&e, 0, sizeof e);
  doc_spec_t *spec = spec_of(header, o, &e);
  if (spec) {
    docb_spec_destroy(spec);
    fail_msg("header accepted, expected an error with \"%s\"", needle1);
  }
  assert_int_equal(e.domain, LOADER_ERROR_INPUT);
  if (!strstr(e.message, needle1) || (needle2 && !strstr(e.message, needle2)))
    fail_msg("\"%s\" lacks \"%s\" or \"%s\"", e.message, needle1,
             needle2 ? needle2 : "");
}

/* The same with the default options, without _id. */
static void want_header_error(const record_t *header, const char *needle1,
                              const char *needle2)
{
  doc_options_t o = opts_no_id();
  want_header_error_with(header, &o, needle1, needle2);
}

static void test_header_errors(void **state)
{
  (void)state;
  rec_t h;
  want_header_error(REC(&h, "a", "", "c"), "column 2", "empty name");
  want_header_error(REC(&h, "a", NULL), "column 2", "empty name");
  want_header_error(REC(&h, "x", "a", "b", "a"), "columns 2 and 4", "\"a\"");
  want_header_error(REC(&h, "a.b", "c", "a.b"), "columns 1 and 3", "\"a.b\"");
  want_header_error(REC(&h, "a", "a.b"), "column 2 \"a.b\"", "column 1 \"a\"");
  want_header_error(REC(&h, "a.b", "z", "a"), "column 3 \"a\"",
                    "column 1 \"a.b\"");
  want_header_error(REC(&h, "a.b.c", "a.b"), "column 2 \"a.b\"",
                    "column 1 \"a.b.c\"");
  want_header_error(REC(&h, "a..b"), "column 1", "empty name part");
  want_header_error(REC(&h, "ok", ".a"), "column 2", "empty name part");
  want_header_error(REC(&h, "a."), "column 1", "empty name part");
  want_header_error(REC(&h, "ok", "bad\xff"), "column 2", "UTF-8");
}

static void test_spec_columns_and_destroy(void **state)
{
  (void)state;
  rec_t h;
  doc_options_t o = opts_no_id();
  bson_error_t e;
  doc_spec_t *spec = spec_of(REC(&h, "a", "b.c", "b.d"), &o, &e);
  assert_non_null(spec);
  assert_int_equal(docb_spec_columns(spec), 3);
  docb_spec_destroy(spec);
  docb_spec_destroy(NULL);
  docb_destroy(NULL);
}

/* Fails unless every array under it (recursively) has the keys BSON
 * requires, "0", "1", ... in order: JSON printers do not show them. */
static void assert_arrays_numbered(bson_iter_t *it, bool array)
{
  unsigned k = 0;
  while (bson_iter_next(it)) {
    char want[16];
    snprintf(want, sizeof want, "%u", k++);
    if (array && strcmp(bson_iter_key(it), want) != 0)
      fail_msg("array element key \"%s\", want \"%s\"", bson_iter_key(it),
               want);
    bson_iter_t child;
    if ((BSON_ITER_HOLDS_ARRAY(it) || BSON_ITER_HOLDS_DOCUMENT(it)) &&
        bson_iter_recurse(it, &child))
      assert_arrays_numbered(&child, BSON_ITER_HOLDS_ARRAY(it));
  }
}

/* Builds the document of row under header and returns it as relaxed
 * extended JSON (caller frees with bson_free). */
static char *build_json(const record_t *header, const record_t *row,
                        const doc_options_t *o)
{
  bson_error_t e;
  doc_spec_t *spec = spec_of(header, o, &e);
  if (!spec)
    fail_msg("header: %s", e.message);
  docb_t *b = docb_new(spec);
  assert_non_null(b);
  bson_t doc = BSON_INITIALIZER;
  doc_reject_t why;
  if (!docb_build(b, row, &doc, &why))
    fail_msg("rejected: %s", why.reason);
  bson_iter_t it;
  assert_true(bson_iter_init(&it, &doc));
  assert_arrays_numbered(&it, false);
  char *json = bson_as_relaxed_extended_json(&doc, NULL);
  bson_destroy(&doc);
  docb_destroy(b);
  docb_spec_destroy(spec);
  return json;
}

/* A name of 100 parts nests 100 levels; one more is a header error, not
 * a recursion as deep as the name is long (50,000 parts overflowed a
 * worker's stack). */
static void test_nesting_depth(void **state)
{
  (void)state;
  static char name[2 * 50000 + 1];
  rec_t h, r;
  doc_options_t o = opts_no_id();
  for (int arrays = 0; arrays < 2; arrays++) {
    o.array_index_fields = arrays;
    for (size_t parts = 100; parts <= 101; parts++) {
      for (size_t i = 0; i < parts; i++)
        memcpy(name + 2 * i, arrays && i ? "0." : "a.", 2);
      name[2 * parts - 1] = '\0';
      const char *hv[] = {name}, *rv[] = {"x"};
      make_rec(&h, 1, hv);
      make_rec(&r, 1, rv);
      if (parts == 100) {
        char *json = build_json(&h.r, &r.r, &o);
        assert_non_null(strstr(json, "\"x\""));
        bson_free(json);
      } else {
        want_header_error_with(&h.r, &o, "column 1",
                               "more than 100 name parts");
      }
    }
    for (size_t i = 0; i < 50000; i++)
      memcpy(name + 2 * i, "a.", 2);
    name[2 * 50000 - 1] = '\0';
    const char *hv[] = {name};
    want_header_error_with(make_rec(&h, 1, hv), &o, "column 1",
                           "more than 100 name parts");
  }
}

static void test_nesting(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  o.infer = false;
  /* Dotted names nest even when their columns are apart; fields keep the
   * order of their first appearance. */
  char *json = build_json(
      REC(&h, "name", "address.city", "age", "address.zip", "a.b.c", "x",
          "a.b.d", "a.e"),
      REC(&r, "Ann", "Paris", "33", "75001", "1", "2", "3", "4"), &o);
  assert_string_equal(
      json, "{ \"name\" : \"Ann\", \"address\" : { \"city\" : \"Paris\", "
            "\"zip\" : \"75001\" }, \"age\" : \"33\", \"a\" : { \"b\" : { "
            "\"c\" : \"1\", \"d\" : \"3\" }, \"e\" : \"4\" }, \"x\" : \"2\" }");
  bson_free(json);
}

/* Builds a one-column document for text and returns its "v" element. */
typedef struct one {
  bson_t doc;
  bson_iter_t it;
} one_t;

static void build_one(one_t *one, const char *text, bool infer)
{
  rec_t h, r;
  doc_options_t o = opts_no_id();
  o.infer = infer;
  bson_error_t e;
  const char *hv[] = {"v"};
  doc_spec_t *spec = spec_of(make_rec(&h, 1, hv), &o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  assert_non_null(b);
  bson_init(&one->doc);
  doc_reject_t why;
  const char *rv[] = {text};
  if (!docb_build(b, make_rec(&r, 1, rv), &one->doc, &why))
    fail_msg("\"%s\" rejected: %s", text, why.reason);
  assert_int_equal(bson_count_keys(&one->doc), 1);
  assert_true(bson_iter_init_find(&one->it, &one->doc, "v"));
  docb_destroy(b);
  docb_spec_destroy(spec);
}

static void want_int32(const char *text, int32_t want)
{
  one_t one;
  build_one(&one, text, true);
  if (!BSON_ITER_HOLDS_INT32(&one.it))
    fail_msg("\"%s\": type 0x%02x, want int32", text,
             (unsigned)bson_iter_type(&one.it));
  assert_int_equal(bson_iter_int32(&one.it), want);
  bson_destroy(&one.doc);
}

static void want_int64(const char *text, int64_t want)
{
  one_t one;
  build_one(&one, text, true);
  if (!BSON_ITER_HOLDS_INT64(&one.it))
    fail_msg("\"%s\": type 0x%02x, want int64", text,
             (unsigned)bson_iter_type(&one.it));
  assert_true(bson_iter_int64(&one.it) == want);
  bson_destroy(&one.doc);
}

static void want_double(const char *text, double want)
{
  one_t one;
  build_one(&one, text, true);
  if (!BSON_ITER_HOLDS_DOUBLE(&one.it))
    fail_msg("\"%s\": type 0x%02x, want double", text,
             (unsigned)bson_iter_type(&one.it));
  assert_true(bson_iter_double(&one.it) == want);
  bson_destroy(&one.doc);
}

static void want_bool(const char *text, bool want)
{
  one_t one;
  build_one(&one, text, true);
  if (!BSON_ITER_HOLDS_BOOL(&one.it))
    fail_msg("\"%s\": type 0x%02x, want bool", text,
             (unsigned)bson_iter_type(&one.it));
  assert_int_equal(bson_iter_bool(&one.it), want);
  bson_destroy(&one.doc);
}

/* Expects the value to stay a string, byte for byte. */
static void want_string_infer(const char *text, bool infer)
{
  one_t one;
  build_one(&one, text, infer);
  if (!BSON_ITER_HOLDS_UTF8(&one.it))
    fail_msg("\"%s\": type 0x%02x, want string", text,
             (unsigned)bson_iter_type(&one.it));
  uint32_t len;
  const char *s = bson_iter_utf8(&one.it, &len);
  assert_int_equal(len, strlen(text));
  assert_memory_equal(s, text, len);
  bson_destroy(&one.doc);
}

static void want_string(const char *text)
{
  want_string_infer(text, true);
}

static void test_infer_integers(void **state)
{
  (void)state;
  want_int32("0", 0);
  want_int32("7", 7);
  want_int32("-1", -1);
  want_int32("42", 42);
  want_int32("2147483647", INT32_MAX);
  want_int32("-2147483648", INT32_MIN);
  want_int64("2147483648", 2147483648LL);
  want_int64("-2147483649", -2147483649LL);
  want_int64("9223372036854775807", INT64_MAX);
  want_int64("-9223372036854775808", INT64_MIN);
  want_string("9223372036854775808");
  want_string("-9223372036854775809");
  want_string("123456789012345678901234567890");
  want_string("007");
  want_string("00");
  want_string("+7");
  want_string("-0");
  want_string("-");
  want_string("1_000");
  want_string("1,000");
  want_string("0x10");
  want_string(" 1");
  want_string("1 ");
  want_string("12a");
}

static void test_infer_doubles(void **state)
{
  (void)state;
  want_double("1.5", 1.5);
  want_double("-0.25", -0.25);
  want_double("0.5", 0.5);
  want_double("1e3", 1000.0);
  want_double("1E3", 1000.0);
  want_double("2.5E-3", 0.0025);
  want_double("1e+2", 100.0);
  want_double("-1.25e2", -125.0);
  want_double("-0.0", -0.0);
  want_string("00.5");
  want_string(".5");
  want_string("-.5");
  want_string("1.");
  want_string("1e");
  want_string("1e+");
  want_string("1.5.2");
  want_string("+1.5");
  want_string("inf");
  want_string("-inf");
  want_string("nan");
  want_string("NaN");
  want_string("Infinity");
  want_string("1e400");
  want_string("1,5");
}

static void test_infer_bools(void **state)
{
  (void)state;
  want_bool("true", true);
  want_bool("false", false);
  want_string("True");
  want_string("TRUE");
  want_string("False");
  want_string("FALSE");
  want_string("t");
  want_string("yes");
  want_string("truex");
  want_string("true ");
}

static void test_no_infer_byte_exact(void **state)
{
  (void)state;
  static const char *const vals[] = {"0",
                                     "42",
                                     "-1",
                                     "1.5",
                                     "1e3",
                                     "true",
                                     "false",
                                     "007",
                                     " x ",
                                     "\t",
                                     "é",
                                     "null",
                                     "{\"$oid\": \"x\"}"};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    want_string_infer(vals[i], false);
}

/* Documents of generated records against libbson's own encoding of the
 * same values (types_append_inferred(), which appends with bson_append_*()):
 * keys of 1 to 40 bytes, values of 0 to 40 bytes that are text, numbers or
 * near misses, so that every length the encoder copies differently is
 * seen. Each record is built twice: with its raw bytes, as the CSV reader
 * gives it (the short path for checked records), and without (each field
 * validated on its own); both must equal libbson's bytes. */
static void test_generated_same_as_libbson(void **state)
{
  (void)state;
  static const char alphabet[] = "abcxyzQ 0123456789-.eE+tf\"\\,";
  enum { COLS = 3 };
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (int n = 0; n < 20000; n++) {
    char keys[COLS][48], vals[COLS][48], raw[COLS * 48];
    const char *hv[COLS], *rv[COLS];
    size_t raw_len = 0;
    for (int c = 0; c < COLS; c++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t klen = 1 + (size_t)(x % 40), vlen = (size_t)((x >> 8) % 41);
      for (size_t k = 0; k < klen; k++)
        keys[c][k] = (char)('a' + (k + (size_t)c) % 26);
      keys[c][klen] = '\0';
      for (size_t k = 0; k < vlen; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vals[c][k] = x % 3 ? (char)('0' + (x >> 8) % 10)
                           : alphabet[(x >> 16) % (sizeof alphabet - 1)];
      }
      vals[c][vlen] = '\0';
      if (x % 13 == 0)
        strcpy(vals[c], x % 2 ? "true" : "false");
      hv[c] = keys[c];
      rv[c] = vals[c];
      memcpy(raw + raw_len, vals[c], strlen(vals[c]));
      raw_len += strlen(vals[c]);
    }
    bson_t want;
    bson_init(&want);
    for (int c = 0; c < COLS; c++)
      assert_true(
          types_append_inferred(&want, keys[c], -1, vals[c], strlen(vals[c])));
    rec_t h, r;
    doc_options_t o = opts_no_id();
    bson_error_t e;
    doc_spec_t *spec = spec_of(make_rec(&h, COLS, hv), &o, &e);
    assert_non_null(spec);
    docb_t *b = docb_new(spec);
    assert_non_null(b);
    for (int with_raw = 0; with_raw < 2; with_raw++) {
      record_t *rec = (record_t *)make_rec(&r, COLS, rv);
      if (with_raw) {
        rec->raw = raw;
        rec->raw_len = raw_len;
        rec->fields_from_raw = true;
      }
      bson_t got;
      bson_init(&got);
      doc_reject_t why;
      if (!docb_build(b, rec, &got, &why))
        fail_msg("rejected: %s", why.reason);
      if (got.len != want.len ||
          memcmp(bson_get_data(&got), bson_get_data(&want), want.len) != 0) {
        char *g = bson_as_canonical_extended_json(&got, NULL);
        char *w = bson_as_canonical_extended_json(&want, NULL);
        fail_msg("with_raw %d: got %s, want %s", with_raw, g, w);
      }
      bson_destroy(&got);
    }
    bson_destroy(&want);
    docb_destroy(b);
    docb_spec_destroy(spec);
  }
}

static void test_strings(void **state)
{
  (void)state;
  want_string("hello");
  want_string("héllo wörld ✓");
  want_string("null");
  want_string("a\"b");
}

static void test_blanks(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  /* Missing (NULL) and quoted-empty fields both become "". */
  char *json = build_json(REC(&h, "a", "b", "c.d", "c.e"),
                          REC(&r, NULL, "", "1", NULL), &o);
  assert_string_equal(json, "{ \"a\" : \"\", \"b\" : \"\", \"c\" : { \"d\" : "
                            "1, \"e\" : \"\" } }");
  bson_free(json);

  /* ignore_blanks: omitted. */
  o.ignore_blanks = true;
  json = build_json(REC(&h, "a", "b", "c.d", "c.e"),
                    REC(&r, NULL, "", "1", NULL), &o);
  assert_string_equal(json, "{ \"c\" : { \"d\" : 1 } }");
  bson_free(json);

  /* infer=false changes nothing about blanks. */
  o.ignore_blanks = false;
  o.infer = false;
  json = build_json(REC(&h, "a", "b"), REC(&r, NULL, "x"), &o);
  assert_string_equal(json, "{ \"a\" : \"\", \"b\" : \"x\" }");
  bson_free(json);
}

/* --array-index-fields: numeric name parts build arrays, as mongoimport's
 * --useArrayIndexFields builds them (checked with mongoimport 100.8.0 on
 * the same headers: the documents below are what it stored). */
static void test_array_index_fields(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  o.array_index_fields = true;
  char *json = build_json(
      REC(&h, "id", "tags.0", "items.0.sku", "tags.1", "items.0.qty",
          "items.1.sku", "x.01", "t.0.0", "t.0.1", "t.1.0", "0.0"),
      REC(&r, "1", "a", "s", "b", "2", "s2", "z", "p", "q", "r", "n"), &o);
  assert_string_equal(json,
                      "{ \"id\" : 1, \"tags\" : [ \"a\", \"b\" ], \"items\" : "
                      "[ { \"sku\" : \"s\", \"qty\" : 2 }, { \"sku\" : \"s2\" "
                      "} ], \"x\" : { \"01\" : \"z\" }, \"t\" : [ [ \"p\", "
                      "\"q\" ], [ \"r\" ] ], \"0\" : [ \"n\" ] }");
  bson_free(json);

  /* Without the option, numbers are keys of documents. */
  o.array_index_fields = false;
  json = build_json(REC(&h, "tags.0", "tags.1"), REC(&r, "a", "b"), &o);
  assert_string_equal(json, "{ \"tags\" : { \"0\" : \"a\", \"1\" : \"b\" } }");
  bson_free(json);

  /* Indexes start at 0 and go up by one in column order; a path is an
   * array or a document, not both. */
  o.array_index_fields = true;
  want_header_error_with(REC(&h, "t.1", "t.2"), &o, "column 1 \"t.1\"",
                         "expected 0");
  want_header_error_with(REC(&h, "t.0", "t.2"), &o, "column 2 \"t.2\"",
                         "after column 1 \"t.0\", expected 1");
  want_header_error_with(REC(&h, "a", "t.0", "t.2", "t.1"), &o,
                         "column 3 \"t.2\"", "expected 1");
  want_header_error_with(REC(&h, "t.0", "t.b"), &o,
                         "column 2 \"t.b\" conflicts with column 1 \"t.0\"",
                         "\"t\" cannot be both an array and a document");
  want_header_error_with(REC(&h, "t.b", "t.0"), &o, "column 2 \"t.0\"",
                         "both an array and a document");
  want_header_error_with(REC(&h, "t.0.a", "t.0.0"), &o, "column 2 \"t.0.0\"",
                         "\"t.0\" cannot be both");
  want_header_error_with(REC(&h, "t", "t.0"), &o, "column 2 \"t.0\"",
                         "cannot also be a document");
  want_header_error_with(REC(&h, "t.0", "t.0"), &o, "columns 1 and 2", NULL);
  want_header_error_with(REC(&h, "t.0", "t.0.a"), &o, "column 2 \"t.0.a\"",
                         NULL);
  /* "t.0,x,t.1" and "t.0.a,t.1,t.0.b" are in order. */
  json =
      build_json(REC(&h, "t.0.a", "t.1", "t.0.b"), REC(&r, "1", "2", "3"), &o);
  assert_string_equal(json, "{ \"t\" : [ { \"a\" : 1, \"b\" : 3 }, 2 ] }");
  bson_free(json);
}

/* Blanks in arrays: kept in place as "" (null when typed); left out under
 * --ignore-blanks without leaving a hole; a document or array left empty
 * is left out. */
/* Builds row under header with o; expects a reject of column (1-based)
 * whose reason holds needle. */
static void want_reject_with(const record_t *header, const record_t *row,
                             const doc_options_t *o, size_t column,
                             const char *needle)
{
  bson_error_t e;
  doc_spec_t *spec = spec_of(header, o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  assert_non_null(b);
  bson_t doc = BSON_INITIALIZER;
  doc_reject_t why;
  memset(&why, 0x7f, sizeof why);
  assert_false(docb_build(b, row, &doc, &why));
  assert_int_equal(why.column, column);
  if (!strstr(why.reason, needle))
    fail_msg("reason \"%s\" lacks \"%s\"", why.reason, needle);
  bson_destroy(&doc);
  docb_destroy(b);
  docb_spec_destroy(spec);
}

static void test_array_blanks(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  o.array_index_fields = true;
  o.types = "n.1:int32()";
  char *json = build_json(REC(&h, "t.0", "t.1", "t.2", "n.0", "n.1"),
                          REC(&r, NULL, "b", "", "1", NULL), &o);
  assert_string_equal(json, "{ \"t\" : [ \"\", \"b\", \"\" ], \"n\" : [ 1, "
                            "null ] }");
  bson_free(json);

  /* --ignore-blanks: trailing blanks shorten an array and documents left
   * empty go; a blank before an element that is there would move it to
   * another index, so the row is refused, naming both. */
  o.ignore_blanks = true;
  o.types = NULL;
  const record_t *hdr = REC(&h, "id", "t.0", "t.1", "t.2", "i.0.s", "i.0.q",
                            "i.1.s", "i.1.q", "c.d", "c.e");
  json = build_json(
      hdr, REC(&r, "1", "a", "b", "", "s", NULL, NULL, "", "x", ""), &o);
  assert_string_equal(json, "{ \"id\" : 1, \"t\" : [ \"a\", \"b\" ], "
                            "\"i\" : [ { \"s\" : \"s\" } ], \"c\" : { "
                            "\"d\" : \"x\" } }");
  bson_free(json);
  json = build_json(hdr, REC(&r, "3", "", "", "", "", "", "", "", "", ""), &o);
  assert_string_equal(json, "{ \"id\" : 3 }");
  bson_free(json);
  want_reject_with(
      hdr, REC(&r, "4", NULL, "b", "", "s", "1", "", "", "", ""), &o, 3,
      "column \"t.1\": an array element after \"t.0\", left out, would "
      "move up");
  want_reject_with(
      hdr, REC(&r, "5", "a", "", "", "", "", "s2", "2", "", ""), &o, 7,
      "column \"i.1.s\": an array element after \"i.0.s\", left out");

  /* So does a bad value left out under skip-field. */
  o.ignore_blanks = false;
  o.types = "t.1:int32()";
  o.grace = DOCB_GRACE_SKIP_FIELD;
  json = build_json(REC(&h, "t.0", "t.1"), REC(&r, "1", "x"), &o);
  assert_string_equal(json, "{ \"t\" : [ 1 ] }");
  bson_free(json);
  want_reject_with(REC(&h, "t.0", "t.1", "t.2"), REC(&r, "1", "x", "3"), &o, 3,
                   "column \"t.2\": an array element after \"t.1\"");
}

/* --infer-as mongoimport: untyped and auto() values by mongoimport's rules;
 * --parse-grace as-string stores a bad value as they type it (its
 * autoCast). */
static void test_infer_as_mongoimport(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  o.infer_as = DOCB_INFER_MONGOIMPORT;
  char *json =
      build_json(REC(&h, "a", "b", "c", "d", "e", "f", "g"),
                 REC(&r, "007", "true", "1.0", "-0", "+5", NULL, "x"), &o);
  assert_string_equal(json, "{ \"a\" : 7, \"b\" : \"true\", \"c\" : 1.0, "
                            "\"d\" : 0, \"e\" : 5, \"f\" : \"\", \"g\" : "
                            "\"x\" }");
  bson_free(json);

  /* auto() follows them even with --no-infer; string() keeps the text. */
  o.infer = false;
  o.types = "a:auto(),c:string()";
  json = build_json(REC(&h, "a", "b", "c"), REC(&r, "007", "007", "007"), &o);
  assert_string_equal(json, "{ \"a\" : 7, \"b\" : \"007\", \"c\" : \"007\" }");
  bson_free(json);

  /* int32 overflow under as-string: mongoimport's autoCast stores an
   * int64; the loader's own rules keep the text. */
  o.infer = true;
  o.types = "n:int32()";
  o.grace = DOCB_GRACE_AS_STRING;
  json = build_json(REC(&h, "n", "m"), REC(&r, "2147483648", "1"), &o);
  assert_string_equal(json, "{ \"n\" : 2147483648, \"m\" : 1 }");
  bson_free(json);
  o.infer_as = DOCB_INFER_LOADER;
  json = build_json(REC(&h, "n", "m"), REC(&r, "2147483648", "007"), &o);
  assert_string_equal(json, "{ \"n\" : \"2147483648\", \"m\" : \"007\" }");
  bson_free(json);
}

/* Builds row under header with the default options; expects a reject. */
static void want_reject(const record_t *header, const record_t *row,
                        size_t column, const char *needle)
{
  doc_options_t o;
  docb_options_default(&o);
  want_reject_with(header, row, &o, column, needle);
}

static void test_rejects(void **state)
{
  (void)state;
  rec_t h, r;
  want_reject(REC(&h, "a", "b", "c"), REC(&r, "1", "\xff", "3"), 2,
              "invalid UTF-8");
  want_reject(REC(&h, "a", "b", "c"), REC(&r, "1", "2", "ok\xc3"), 3,
              "invalid UTF-8");
  /* Inside a nested document. */
  want_reject(REC(&h, "a", "n.x", "n.y"), REC(&r, "1", "2", "\xe2\x82"), 3,
              "invalid UTF-8");
  /* The overlong NUL of "modified UTF-8" (C0 80), and C1, are not UTF-8. */
  want_reject(REC(&h, "a", "b", "c"), REC(&r, "1", "v\xc0\x80w", "3"), 2,
              "invalid UTF-8");
  want_reject(REC(&h, "a", "b", "c"), REC(&r, "1", "2", "\xc1\xbf"), 3,
              "invalid UTF-8");
  want_reject(REC(&h, "a", "b", "c"), REC(&r, "1", "2"), 0,
              "expected 3 fields, found 2");
  want_reject(REC(&h, "a", "b", "c"), REC(&r, "1", "2", "3", "4"), 0,
              "expected 3 fields, found 4");
  want_reject(REC(&h, "a"), REC(&r, "x", NULL), 0,
              "expected 1 fields, found 2");

  /* A record the reader gave up on carries its problem. */
  rec_t p;
  const record_t *pr = REC(&p, "1");
  p.r.n_fields = 0;
  p.r.problem = "unterminated quoted field";
  want_reject(REC(&h, "a"), pr, 0, "unterminated quoted field");
}

static void test_add_id(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o;
  docb_options_default(&o);
  assert_true(o.add_id);
  assert_true(o.infer);
  assert_false(o.ignore_blanks);

  bson_error_t e;
  doc_spec_t *spec = spec_of(REC(&h, "a", "b"), &o, &e);
  assert_non_null(spec);
  docb_t *b1 = docb_new(spec);
  docb_t *b2 = docb_new(spec);
  assert_non_null(b1);
  assert_non_null(b2);
  bson_oid_t ids[4];
  for (int i = 0; i < 4; i++) {
    bson_t doc = BSON_INITIALIZER;
    doc_reject_t why;
    assert_true(docb_build(i % 2 ? b2 : b1, REC(&r, "1", "x"), &doc, &why));
    bson_iter_t it;
    assert_true(bson_iter_init(&it, &doc));
    assert_true(bson_iter_next(&it));
    assert_string_equal(bson_iter_key(&it), "_id");
    assert_true(BSON_ITER_HOLDS_OID(&it));
    bson_oid_copy(bson_iter_oid(&it), &ids[i]);
    assert_true(bson_iter_next(&it));
    assert_string_equal(bson_iter_key(&it), "a");
    assert_true(bson_iter_next(&it));
    assert_string_equal(bson_iter_key(&it), "b");
    assert_false(bson_iter_next(&it));
    bson_destroy(&doc);
  }
  /* Distinct within a builder and across two builders. */
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      assert_false(bson_oid_equal(&ids[i], &ids[j]));
  docb_destroy(b1);
  docb_destroy(b2);
  docb_spec_destroy(spec);
}

static void test_id_column(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o;
  docb_options_default(&o);
  /* The header's _id is used as it is (inferred), no ObjectId added, and
   * the field keeps its column's place. */
  char *json = build_json(REC(&h, "a", "_id"), REC(&r, "x", "5"), &o);
  assert_string_equal(json, "{ \"a\" : \"x\", \"_id\" : 5 }");
  bson_free(json);
  json = build_json(REC(&h, "_id", "a"), REC(&r, "k1", "2.5"), &o);
  assert_string_equal(json, "{ \"_id\" : \"k1\", \"a\" : 2.5 }");
  bson_free(json);

  /* add_id=false: no _id at all. */
  o.add_id = false;
  json = build_json(REC(&h, "a"), REC(&r, "x"), &o);
  assert_string_equal(json, "{ \"a\" : \"x\" }");
  bson_free(json);
}

/* Counts the top-level keys named key in doc. */
static int count_key(const bson_t *doc, const char *key)
{
  bson_iter_t it;
  int n = 0;
  assert_true(bson_iter_init(&it, doc));
  while (bson_iter_next(&it))
    n += strcmp(bson_iter_key(&it), key) == 0;
  return n;
}

/* Was a bug (src/doc_builder.c, docb_spec_new: has_id): a header whose _id is a
 * dotted path ("_id.a,x") is not seen as having an _id, so with add_id the
 * document gets a generated ObjectId _id *and* the _id subdocument from the
 * columns: { "_id" : ObjectId, "_id" : { "a" : 1 }, "x" : 2 } -- a duplicate
 * key. Expected: one _id (the subdocument), no ObjectId added. */
static void test_dotted_id_column(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o;
  docb_options_default(&o);
  bson_error_t e;
  doc_spec_t *spec = spec_of(REC(&h, "_id.a", "x"), &o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  bson_t doc = BSON_INITIALIZER;
  doc_reject_t why;
  assert_true(docb_build(b, REC(&r, "1", "2"), &doc, &why));
  assert_int_equal(count_key(&doc, "_id"), 1);
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, &doc, "_id"));
  assert_true(BSON_ITER_HOLDS_DOCUMENT(&it));
  bson_destroy(&doc);
  docb_destroy(b);
  docb_spec_destroy(spec);
}

static void test_id_once(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o;
  docb_options_default(&o);
  bson_error_t e;
  doc_spec_t *spec = spec_of(REC(&h, "_id", "x"), &o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  bson_t doc = BSON_INITIALIZER;
  doc_reject_t why;
  assert_true(docb_build(b, REC(&r, "1", "2"), &doc, &why));
  assert_int_equal(count_key(&doc, "_id"), 1);
  bson_destroy(&doc);
  docb_destroy(b);
  docb_spec_destroy(spec);
}

static void test_builder_reuse_after_reject(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  bson_error_t e;
  doc_spec_t *spec = spec_of(REC(&h, "a", "n.b"), &o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  doc_reject_t why;
  bson_t bad = BSON_INITIALIZER;
  assert_false(docb_build(b, REC(&r, "1", "\xff"), &bad, &why));
  bson_destroy(&bad);
  bson_t good = BSON_INITIALIZER;
  assert_true(docb_build(b, REC(&r, "1", "2"), &good, &why));
  char *json = bson_as_relaxed_extended_json(&good, NULL);
  assert_string_equal(json, "{ \"a\" : 1, \"n\" : { \"b\" : 2 } }");
  bson_free(json);
  bson_destroy(&good);
  docb_destroy(b);
  docb_spec_destroy(spec);
}

/* Documents encoded straight into a batch (docb_build_bytes() at the end of
 * the batch's bytes) are byte for byte those docb_build() makes on its own,
 * one after another: with values long enough that the batch's buffer grows
 * while a document is half written, and records rejected halfway (invalid
 * UTF-8 in the last column, after the others were encoded) taken back out
 * by batch_rollback() so that nothing of them stays. A rejected record
 * also gets the same reason both ways. Every other record comes with its
 * raw bytes, as the CSV reader gives it (the short path). */
static void test_built_into_batch(void **state)
{
  (void)state;
  rec_t h;
  doc_options_t o = opts_no_id();
  o.array_index_fields = true;
  bson_error_t e;
  doc_spec_t *spec =
      spec_of(REC(&h, "s", "n", "a.b", "t.0", "t.1", "z"), &o, &e);
  assert_non_null(spec);
  docb_t *direct = docb_new(spec), *alone = docb_new(spec);
  assert_non_null(direct);
  assert_non_null(alone);
  batch_t *batch = batch_new(100000, 0, true);
  assert_non_null(batch);
  static char text[6][4100], raw[6 * 4100];
  uint8_t *want = NULL;
  size_t want_len = 0, want_docs = 0, rejected = 0;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int n = 0; n < 3000; n++) {
    const char *rv[6];
    for (int c = 0; c < 6; c++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t len =
          x % 7 == 0 ? 1000 + (size_t)(x >> 8) % 3000 : (size_t)(x >> 8) % 12;
      for (size_t k = 0; k < len; k++)
        text[c][k] = (char)(c == 1 ? '0' + (x >> (k % 50)) % 10
                                   : 'a' + (k + (size_t)n) % 26);
      text[c][len] = '\0';
      rv[c] = text[c];
    }
    if (x % 5 == 0)
      strcpy(text[5], "ok\xff");
    rec_t r;
    record_t *rec = (record_t *)make_rec(&r, 6, rv);
    rec->line = (uint64_t)n + 2;
    if (n % 2) {
      rec->raw = raw;
      rec->raw_len = 0;
      for (int c = 0; c < 6; c++) {
        memcpy(raw + rec->raw_len, text[c], strlen(text[c]));
        rec->raw_len += strlen(text[c]);
      }
      rec->fields_from_raw = true;
    }
    doc_reject_t why_alone, why_direct;
    bson_t doc;
    bson_init(&doc);
    bool ok = docb_build(alone, rec, &doc, &why_alone);
    batch_bytes_t *out = batch_begin_bytes(batch, rec->line, 0, "r", 1);
    assert_non_null(out);
    assert_int_equal(out->len, want_len);
    assert_int_equal(docb_build_bytes(direct, rec, out, &why_direct), ok);
    if (ok) {
      batch_commit(batch);
      want = realloc(want, want_len + doc.len);
      assert_non_null(want);
      memcpy(want + want_len, bson_get_data(&doc), doc.len);
      want_len += doc.len;
      want_docs++;
    } else {
      assert_string_equal(why_direct.reason, why_alone.reason);
      batch_rollback(batch);
      rejected++;
    }
    bson_destroy(&doc);
    size_t len;
    const uint8_t *data = batch_data(batch, &len);
    assert_int_equal(len, want_len);
    assert_int_equal(batch_count(batch), want_docs);
    if (n % 100 == 99 || n == 2999)
      assert_memory_equal(data, want, want_len);
  }
  assert_true(rejected > 300 && want_docs > 2000);
  free(want);
  batch_destroy(batch);
  docb_destroy(direct);
  docb_destroy(alone);
  docb_spec_destroy(spec);
}

/* JSON documents built into a batch: the _id of --id-from with two fields
 * (a document), a document missing one of them rejected with the field's
 * name and nothing of it left, and the next one built as it should be (a
 * scratch bson_t left with its _id document open once broke every later
 * document). */
static void test_json_id_fields_into_batch(void **state)
{
  (void)state;
  doc_options_t o;
  docb_options_default(&o);
  o.id_from = DOCB_ID_FIELDS;
  o.id_fields = "a,b.c";
  bson_error_t e;
  doc_spec_t *spec = docb_spec_new_json(&o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  assert_non_null(b);
  batch_t *batch = batch_new(10, 0, false);
  assert_non_null(batch);
  static const char *const in[] = {
      "{\"a\": 1, \"b\": {\"c\": \"x\"}, \"d\": true}",
      "{\"a\": 2, \"d\": false}",
      "{\"a\": 3, \"b\": {\"c\": 4}}",
  };
  static const char *const want[] = {
      "{ \"_id\" : { \"a\" : 1, \"b.c\" : \"x\" }, \"a\" : 1, \"b\" : { \"c\" "
      ": \"x\" }, \"d\" : true }",
      NULL,
      "{ \"_id\" : { \"a\" : 3, \"b.c\" : 4 }, \"a\" : 3, \"b\" : { \"c\" : 4 "
      "} }",
  };
  for (int i = 0; i < 3; i++) {
    bson_t parsed;
    assert_true(bson_init_from_json(&parsed, in[i], -1, &e));
    batch_bytes_t *out = batch_begin_bytes(batch, (uint64_t)i + 1, 0, NULL, 0);
    assert_non_null(out);
    doc_reject_t why;
    bool ok = docb_build_json(b, &parsed, (uint64_t)i + 1, out, &why);
    bson_destroy(&parsed);
    if (!want[i]) {
      assert_false(ok);
      assert_string_equal(why.reason, "no field \"b.c\" for _id (--id-from)");
      batch_rollback(batch);
      continue;
    }
    assert_true(ok);
    batch_commit(batch);
  }
  size_t len;
  const uint8_t *data = batch_data(batch, &len);
  bson_reader_t *reader = bson_reader_new_from_data(data, len);
  const bson_t *doc;
  bool eof = false;
  for (int i = 0; i < 3; i++) {
    if (!want[i])
      continue;
    assert_non_null(doc = bson_reader_read(reader, &eof));
    char *json = bson_as_relaxed_extended_json(doc, NULL);
    assert_string_equal(json, want[i]);
    bson_free(json);
  }
  assert_null(bson_reader_read(reader, &eof));
  assert_true(eof);
  bson_reader_destroy(reader);
  assert_int_equal(batch_count(batch), 2);
  batch_destroy(batch);
  docb_destroy(b);
  docb_spec_destroy(spec);
}

/* A record with its raw bytes (the short path for inferred fields) in a
 * flat document with typed and inferred columns: only the inferred ones
 * are inferred, an empty one is "", a typed blank is null. */
static void test_flat_typed_with_raw_bytes(void **state)
{
  (void)state;
  rec_t h, r;
  doc_options_t o = opts_no_id();
  o.types = "n:string(),d:double()";
  bson_error_t e;
  doc_spec_t *spec = spec_of(REC(&h, "i", "n", "d", "x"), &o, &e);
  assert_non_null(spec);
  docb_t *b = docb_new(spec);
  assert_non_null(b);
  static const char *const want[] = {
      "{ \"i\" : 1, \"n\" : \"12\", \"d\" : 2.0, \"x\" : \"\" }",
      "{ \"i\" : \"\", \"n\" : \"\", \"d\" : null, \"x\" : true }",
  };
  for (int k = 0; k < 2; k++) {
    record_t *rec = (record_t *)(k == 0 ? REC(&r, "1", "12", "2", "")
                                        : REC(&r, "", "", "", "true"));
    rec->raw = k == 0 ? "1,12,2," : ",,,true";
    rec->raw_len = strlen(rec->raw);
    rec->fields_from_raw = true;
    bson_t doc = BSON_INITIALIZER;
    doc_reject_t why;
    assert_true(docb_build(b, rec, &doc, &why));
    char *json = bson_as_relaxed_extended_json(&doc, NULL);
    assert_string_equal(json, want[k]);
    bson_free(json);
    bson_destroy(&doc);
  }
  docb_destroy(b);
  docb_spec_destroy(spec);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_errors),
      cmocka_unit_test(test_nesting_depth),
      cmocka_unit_test(test_spec_columns_and_destroy),
      cmocka_unit_test(test_nesting),
      cmocka_unit_test(test_infer_integers),
      cmocka_unit_test(test_infer_doubles),
      cmocka_unit_test(test_infer_bools),
      cmocka_unit_test(test_no_infer_byte_exact),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_generated_same_as_libbson),
      cmocka_unit_test(test_blanks),
      cmocka_unit_test(test_array_index_fields),
      cmocka_unit_test(test_array_blanks),
      cmocka_unit_test(test_infer_as_mongoimport),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_add_id),
      cmocka_unit_test(test_id_column),
      cmocka_unit_test(test_id_once),
      cmocka_unit_test(test_builder_reuse_after_reject),
      cmocka_unit_test(test_dotted_id_column),
      cmocka_unit_test(test_built_into_batch),
      cmocka_unit_test(test_json_id_fields_into_batch),
      cmocka_unit_test(test_flat_typed_with_raw_bytes),
  };
  return cmocka_run_group_tests_name("doc_builder", tests, NULL, NULL);
}
