/* Unit tests of batch: begin/commit/rollback, fullness by documents and by
 * bytes, lines/offsets/raw records per document, clear and reuse, and the
 * packed data walked back with bson_reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/batch.h"

/* Adds one document {"i": i, "s": s} for line/offset and commits it. */
static void add_doc(batch_t *b, int32_t i, const char *s, uint64_t line,
                    uint64_t offset)
{
  char raw[64];
  int n = snprintf(raw, sizeof raw, "%d,%s", i, s);
  bson_t *doc = batch_begin(b, line, offset, raw, (size_t)n);
  assert_non_null(doc);
  assert_true(BSON_APPEND_INT32(doc, "i", i));
  assert_true(BSON_APPEND_UTF8(doc, "s", s));
  batch_commit(b);
}

/* Walks the batch's data and checks it holds exactly the documents
 * {"i": first..first+n-1}, each well formed, and returns their total size. */
static size_t check_data(const batch_t *b, int32_t first, size_t n)
{
  size_t len;
  const uint8_t *data = batch_data(b, &len);
  assert_non_null(data);
  bson_reader_t *reader = bson_reader_new_from_data(data, len);
  assert_non_null(reader);
  const bson_t *doc;
  bool eof = false;
  size_t count = 0, total = 0;
  while ((doc = bson_reader_read(reader, &eof))) {
    assert_true(bson_validate(doc, BSON_VALIDATE_NONE, NULL));
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, doc, "i"));
    assert_int_equal(bson_iter_int32(&it), first + (int32_t)count);
    assert_true(bson_iter_init_find(&it, doc, "s"));
    assert_true(BSON_ITER_HOLDS_UTF8(&it));
    assert_int_equal(bson_count_keys(doc), 2);
    total += doc->len;
    count++;
  }
  assert_true(eof);
  assert_int_equal(count, n);
  assert_int_equal(total, len);
  bson_reader_destroy(reader);
  return total;
}

static void test_empty(void **state)
{
  (void)state;
  batch_t *b = batch_new(10, 0, false);
  assert_non_null(b);
  assert_int_equal(batch_count(b), 0);
  assert_false(batch_is_full(b));
  size_t len = 99;
  batch_data(b, &len);
  assert_int_equal(len, 0);
  batch_destroy(b);
  batch_destroy(NULL);
}

static void test_commit_and_rollback(void **state)
{
  (void)state;
  batch_t *b = batch_new(100, 0, true);
  assert_non_null(b);
  add_doc(b, 0, "zero", 2, 10);
  /* A rolled-back document leaves no trace. */
  bson_t *doc = batch_begin(b, 3, 20, "junk,junk", 9);
  assert_non_null(doc);
  BSON_APPEND_UTF8(doc, "junk", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  batch_rollback(b);
  assert_int_equal(batch_count(b), 1);
  add_doc(b, 1, "one", 4, 30);
  add_doc(b, 2, "two", 7, 55);
  assert_int_equal(batch_count(b), 3);
  check_data(b, 0, 3);

  static const uint64_t lines[] = {2, 4, 7}, offsets[] = {10, 30, 55};
  static const char *const raws[] = {"0,zero", "1,one", "2,two"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(batch_line(b, i), lines[i]);
    assert_int_equal(batch_offset(b, i), offsets[i]);
    size_t rl;
    const char *raw = batch_raw(b, i, &rl);
    assert_int_equal(rl, strlen(raws[i]));
    assert_memory_equal(raw, raws[i], rl);
  }
  batch_destroy(b);
}

static void test_rollback_first_and_only(void **state)
{
  (void)state;
  batch_t *b = batch_new(4, 0, false);
  bson_t *doc = batch_begin(b, 1, 0, NULL, 0);
  assert_non_null(doc);
  BSON_APPEND_INT32(doc, "x", 1);
  batch_rollback(b);
  assert_int_equal(batch_count(b), 0);
  size_t len = 1;
  batch_data(b, &len);
  assert_int_equal(len, 0);
  add_doc(b, 5, "five", 9, 90);
  check_data(b, 5, 1);
  assert_int_equal(batch_line(b, 0), 9);
  batch_destroy(b);
}

static void test_full_by_docs(void **state)
{
  (void)state;
  batch_t *b = batch_new(3, 0, false);
  add_doc(b, 0, "a", 1, 0);
  assert_false(batch_is_full(b));
  add_doc(b, 1, "b", 2, 1);
  assert_false(batch_is_full(b));
  add_doc(b, 2, "c", 3, 2);
  assert_true(batch_is_full(b));
  check_data(b, 0, 3);
  batch_destroy(b);

  /* max_docs 0 means 1. */
  b = batch_new(0, 0, false);
  assert_non_null(b);
  assert_false(batch_is_full(b));
  add_doc(b, 0, "a", 1, 0);
  assert_true(batch_is_full(b));
  batch_destroy(b);
}

static void test_full_by_bytes(void **state)
{
  (void)state;
  /* {"i": int32, "s": "abc"}: 4 + (1+2+4) + (1+2+4+4) + 1 = 23 bytes. */
  bson_t probe = BSON_INITIALIZER;
  BSON_APPEND_INT32(&probe, "i", 0);
  BSON_APPEND_UTF8(&probe, "s", "abc");
  assert_int_equal(probe.len, 23);
  bson_destroy(&probe);

  batch_t *b = batch_new(1000, 3 * 23, false);
  add_doc(b, 0, "abc", 1, 0);
  add_doc(b, 1, "abc", 2, 0);
  assert_false(batch_is_full(b));
  size_t len;
  batch_data(b, &len);
  assert_int_equal(len, 46);
  add_doc(b, 2, "abc", 3, 0);
  assert_true(batch_is_full(b));
  assert_int_equal(batch_count(b), 3);
  assert_int_equal(check_data(b, 0, 3), 69);
  batch_destroy(b);

  /* One byte more than the limit: full after the third document still. */
  b = batch_new(1000, 3 * 23 + 1, false);
  for (int i = 0; i < 3; i++)
    add_doc(b, i, "abc", 1, 0);
  assert_false(batch_is_full(b));
  add_doc(b, 3, "abc", 1, 0);
  assert_true(batch_is_full(b));
  batch_destroy(b);
}

static void test_clear_and_reuse(void **state)
{
  (void)state;
  batch_t *b = batch_new(50, 0, true);
  int32_t next = 0;
  for (int round = 0; round < 5; round++) {
    size_t n = 10 + (size_t)round * 10; /* 10..50 */
    int32_t first = next;
    for (size_t k = 0; k < n; k++, next++)
      add_doc(b, next, round % 2 ? "odd round" : "even", (uint64_t)next + 2,
              (uint64_t)next * 100);
    assert_int_equal(batch_count(b), n);
    assert_int_equal(batch_is_full(b), n == 50);
    check_data(b, first, n);
    for (size_t k = 0; k < n; k++) {
      assert_int_equal(batch_line(b, k), (uint64_t)first + k + 2);
      assert_int_equal(batch_offset(b, k), ((uint64_t)first + k) * 100);
      char want[64];
      int wl = snprintf(want, sizeof want, "%d,%s", first + (int32_t)k,
                        round % 2 ? "odd round" : "even");
      size_t rl;
      const char *raw = batch_raw(b, k, &rl);
      assert_int_equal(rl, (size_t)wl);
      assert_memory_equal(raw, want, rl);
    }
    batch_clear(b);
    assert_int_equal(batch_count(b), 0);
    assert_false(batch_is_full(b));
    size_t len = 1;
    batch_data(b, &len);
    assert_int_equal(len, 0);
  }
  batch_destroy(b);
}

static void test_large_documents_grow_buffer(void **state)
{
  (void)state;
  /* Documents far larger than the initial 64 KiB buffer. */
  batch_t *b = batch_new(10, 0, false);
  size_t big = 300 * 1024;
  char *s = malloc(big + 1);
  assert_non_null(s);
  memset(s, 'q', big);
  s[big] = '\0';
  for (int i = 0; i < 4; i++)
    add_doc(b, i, s, (uint64_t)i, 0);
  size_t len;
  batch_data(b, &len);
  assert_true(len > 4 * big);
  check_data(b, 0, 4);
  batch_destroy(b);
  free(s);
}

static void test_raw_without_keep_raw(void **state)
{
  (void)state;
  batch_t *b = batch_new(4, 0, false);
  add_doc(b, 0, "a", 1, 0);
  size_t rl = 99;
  const char *raw = batch_raw(b, 0, &rl);
  assert_non_null(raw);
  assert_int_equal(rl, 0);
  assert_string_equal(raw, "");
  batch_destroy(b);
}

/* Was a bug (src/batch.c, batch_raw): with keep_raw, when every raw record so
 * far is empty (raw_len 0), no raw buffer is ever allocated and batch_raw()
 * returns NULL + 0 (NULL, and pointer arithmetic on NULL) instead of a
 * valid pointer to 0 bytes; a caller passing it on (fwrite, "%.*s", memcpy)
 * then hands NULL to a function that requires non-NULL. Expected a non-NULL
 * pointer, as without keep_raw (""). */
static void test_raw_empty_record(void **state)
{
  (void)state;
  /* keep_raw with a zero-length raw record as the first document. */
  batch_t *b = batch_new(4, 0, true);
  bson_t *doc = batch_begin(b, 1, 0, "", 0);
  assert_non_null(doc);
  BSON_APPEND_INT32(doc, "i", 0);
  BSON_APPEND_UTF8(doc, "s", "");
  batch_commit(b);
  size_t rl = 99;
  const char *raw = batch_raw(b, 0, &rl);
  assert_int_equal(rl, 0);
  assert_non_null(raw);
  batch_destroy(b);
}

/* A document that ends exactly 5 bytes before the end of the batch's
 * buffer: libbson 1.23's bson_writer_begin() then wrote one byte past it
 * (it checks for 5 bytes and writes 6). batch_begin() keeps the room; the
 * ctest valgrind_unit_batch runs this file under valgrind, which sees the
 * stray byte if it comes back. */
static void test_document_ends_five_bytes_before_the_buffer_end(void **state)
{
  (void)state;
  batch_t *b = batch_new(10, 0, false);
  assert_non_null(b);
  /* {"s": m chars}: 4 + 1 + 2 + 4 + m + 1 + 1 = m + 13 bytes; the buffer
   * starts at 64 KiB. */
  size_t m = 64 * 1024 - 5 - 13;
  char *s = malloc(m + 1);
  assert_non_null(s);
  memset(s, 'x', m);
  s[m] = '\0';
  bson_t *doc = batch_begin(b, 1, 0, NULL, 0);
  assert_non_null(doc);
  assert_true(BSON_APPEND_UTF8(doc, "s", s));
  batch_commit(b);
  size_t len;
  batch_data(b, &len);
  assert_int_equal(len, 64 * 1024 - 5);
  add_doc(b, 7, "next", 2, 1);
  assert_int_equal(batch_count(b), 2);
  batch_data(b, &len);
  assert_int_equal(len, 64 * 1024 - 5 + 24); /* {"i": 7, "s": "next"} */
  free(s);
  batch_destroy(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_commit_and_rollback),
      cmocka_unit_test(test_rollback_first_and_only),
      cmocka_unit_test(test_full_by_docs),
      cmocka_unit_test(test_full_by_bytes),
      cmocka_unit_test(test_clear_and_reuse),
      cmocka_unit_test(test_large_documents_grow_buffer),
      cmocka_unit_test(test_raw_without_keep_raw),
      cmocka_unit_test(test_raw_empty_record),
      cmocka_unit_test(test_document_ends_five_bytes_before_the_buffer_end),
  };
  return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
