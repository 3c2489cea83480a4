/* The corpus of awkward CSV files (tests/corpus) loaded end to end into a
 * live MongoDB. For each case, every document that landed must equal the
 * expected one exactly — same fields, same order, same BSON types — and the
 * rejects file must equal the expected one line by line. Nothing the file
 * held may be lost without a line in the rejects file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_loader.h"
#include "test_uri.h"

/* The live server, this file's database, a client to read back. */
static test_env_t g_env;
#define g_uri g_env.uri
#define g_db g_env.db
#define g_client g_env.client

static char g_corpus[1024]; /* the tests/corpus directory */

static int setup_all(void **state)
{
  (void)state;
  if (!test_env_setup(&g_env, "corpus"))
    return -1;
  const char *src = getenv("LOADER_SOURCE_DIR");
  snprintf(g_corpus, sizeof g_corpus, "%s/tests/corpus", src ? src : ".");
  return 0;
}

static int teardown_all(void **state)
{
  (void)state;
  test_env_teardown(&g_env);
  return 0;
}

/* Returns the documents of coll sorted by _id (an int32 in every corpus
 * file), as an array of copies the caller frees. */
static bson_t **fetch_sorted(const char *coll_name, size_t *n)
{
  mongoc_collection_t *coll =
      mongoc_client_get_collection(g_client, g_db, coll_name);
  bson_t filter = BSON_INITIALIZER;
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
  bson_t **docs = NULL;
  *n = 0;
  const bson_t *doc;
  while (mongoc_cursor_next(cur, &doc)) {
    docs = realloc(docs, (*n + 1) * sizeof *docs);
    docs[(*n)++] = bson_copy(doc);
  }
  bson_error_t error;
  assert_false(mongoc_cursor_error(cur, &error));
  mongoc_cursor_destroy(cur);
  bson_destroy(&filter);
  mongoc_collection_destroy(coll);
  /* insertion sort by _id: small corpora */
  for (size_t i = 1; i < *n; i++) {
    for (size_t j = i; j > 0; j--) {
      bson_iter_t a, b;
      assert_true(bson_iter_init_find(&a, docs[j - 1], "_id"));
      assert_true(bson_iter_init_find(&b, docs[j], "_id"));
      if (bson_iter_as_int64(&a) <= bson_iter_as_int64(&b))
        break;
      bson_t *t = docs[j - 1];
      docs[j - 1] = docs[j];
      docs[j] = t;
    }
  }
  return docs;
}

/* Compares what landed in coll with the expected documents, one relaxed
 * extended JSON document per line of expect_path. */
static void assert_docs(const char *coll, const char *expect_path)
{
  char *text = read_file_text(expect_path);
  assert_non_null(text);
  size_t n;
  bson_t **docs = fetch_sorted(coll, &n);
  size_t i = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    bson_error_t error;
    bson_t *want = bson_new_from_json((const uint8_t *)line, -1, &error);
    if (!want)
      fprintf(stderr, "bad expected JSON: %s: %s\n", error.message, line);
    assert_non_null(want);
    if (i >= n) {
      fprintf(stderr, "%s: missing document %s\n", coll, line);
      fail();
    }
    if (!bson_equal(docs[i], want)) {
      char *got = bson_as_canonical_extended_json(docs[i], NULL);
      char *exp = bson_as_canonical_extended_json(want, NULL);
      fprintf(stderr, "%s: document %zu differs\n got:  %s\n want: %s\n", coll,
              i, got, exp);
      bson_free(got);
      bson_free(exp);
      fail();
    }
    bson_destroy(want);
    i++;
  }
  assert_int_equal(i, n);
  for (size_t k = 0; k < n; k++)
    bson_destroy(docs[k]);
  free(docs);
  free(text);
}

/* Compares the rejects file with the expected one, where {FILE} stands for
 * the input path as given. */
static void assert_rejects(const char *got_path, const char *expect_path,
                           const char *input)
{
  char *got = read_file_text(got_path);
  char *want = read_file_text(expect_path);
  assert_non_null(got);
  assert_non_null(want);
  /* expand {FILE} */
  size_t cap = strlen(want) * 2 + strlen(input) * 16 + 1;
  char *exp = calloc(1, cap);
  const char *p = want;
  const char *hit;
  while ((hit = strstr(p, "{FILE}"))) {
    strncat(exp, p, (size_t)(hit - p));
    strcat(exp, input);
    p = hit + 6;
  }
  strcat(exp, p);
  if (strcmp(got, exp) != 0)
    fprintf(stderr, "rejects differ\n--- got\n%s--- want\n%s", got, exp);
  assert_string_equal(got, exp);
  free(exp);
  free(got);
  free(want);
}

/* One corpus case: load FILE with the options into collection NAME, then
 * check the exit code, the documents and the rejects. */
static void run_case(const char *coll, const char *file, const char *expect,
                     int exit_code, const char *const *options)
{
  char input[1200], spec[1300], expect_docs[1200], expect_rej[1200];
  snprintf(input, sizeof input, "%s/%s", g_corpus, file);
  snprintf(spec, sizeof spec, "%s=%s", coll, input);
  snprintf(expect_docs, sizeof expect_docs, "%s/%s.expect.json", g_corpus,
           expect);
  snprintf(expect_rej, sizeof expect_rej, "%s/%s.rejects.csv", g_corpus,
           expect);
  char *rejects = test_tmp_path("rejects.csv");
  const char *args[32] = {"--uri",  g_uri, "--db",      g_db,
                          "--drop", "-q",  "--rejects", rejects};
  size_t n = 8;
  for (size_t i = 0; options && options[i]; i++)
    args[n++] = options[i];
  args[n++] = spec;
  args[n] = NULL;
  assert_int_equal(run_loader(args, NULL), exit_code);
  assert_docs(coll, expect_docs);
  assert_rejects(rejects, expect_rej, input);
  free(rejects);
}

static void test_quotes(void **state)
{
  (void)state;
  run_case("quotes", "quotes.csv", "quotes", 0, NULL);
}

static void test_multiline(void **state)
{
  (void)state;
  run_case("multiline", "multiline.csv", "multiline", 1, NULL);
}

static void test_bom_crlf(void **state)
{
  (void)state;
  run_case("bom", "bom_crlf.csv", "bom_crlf", 0, NULL);
}

static void test_invalid_utf8(void **state)
{
  (void)state;
  run_case("utf8", "utf8.csv", "utf8", 1, NULL);
}

static void test_typed_skip_row(void **state)
{
  (void)state;
  const char *o[] = {"--columns-have-types", NULL};
  run_case("typed", "typed.csv", "typed", 1, o);
}

static void test_typed_skip_field(void **state)
{
  (void)state;
  const char *o[] = {"--columns-have-types", "--parse-grace", "skip-field",
                     NULL};
  run_case("typed2", "typed.csv", "typed_skipfield", 0, o);
}

static void test_typed_as_string(void **state)
{
  (void)state;
  const char *o[] = {"--columns-have-types", "--parse-grace", "as-string",
                     NULL};
  run_case("typed3", "typed.csv", "typed_asstring", 0, o);
}

static void test_tsv_fields(void **state)
{
  (void)state;
  const char *o[] = {"--tsv", "--fields", "_id,code,v", NULL};
  run_case("tsv", "noheader.tsv", "noheader", 0, o);
}

static void test_unterminated_quote(void **state)
{
  (void)state;
  run_case("unterm", "unterminated.csv", "unterminated", 1, NULL);
}

static void test_skip_comment_trim(void **state)
{
  (void)state;
  const char *o[] = {"--skip-lines", "2", "--comment", "#",
                     "--delimiter",  ";", "--trim",    NULL};
  run_case("semi", "semi.csv", "semi", 0, o);
}

/* --types on the command line: the same typed documents without touching
 * the header. */
static void test_types_option(void **state)
{
  (void)state;
  char *path = test_tmp_path("plain.csv");
  FILE *f = fopen(path, "w");
  fputs("_id,zip,age,born\n1,00501,42,2021-03-14T10:00:00Z\n", f);
  fclose(f);
  char spec[1100];
  snprintf(spec, sizeof spec, "plain=%s", path);
  const char *args[] = {
      "--uri",   g_uri,
      "--db",    g_db,
      "--drop",  "-q",
      "--types", "zip:int32,age:string,born:date(2006-01-02T15:04:05Z07:00)",
      spec,      NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  size_t n;
  bson_t **docs = fetch_sorted("plain", &n);
  assert_int_equal(n, 1);
  bson_t *want =
      BCON_NEW("_id", BCON_INT32(1), "zip", BCON_INT32(501), "age",
               BCON_UTF8("42"), "born", BCON_DATE_TIME(1615716000000));
  assert_true(bson_equal(docs[0], want));
  bson_destroy(want);
  bson_destroy(docs[0]);
  free(docs);
  free(path);
}

/* Header errors fail the job before anything lands, naming the columns. */
static void test_header_errors(void **state)
{
  (void)state;
  char a[1200], b[1200];
  snprintf(a, sizeof a, "dup=%s/dupheader.csv", g_corpus);
  snprintf(b, sizeof b, "conflict=%s/conflict.csv", g_corpus);
  const char *args[] = {"--uri", g_uri, "--db", g_db, "--drop", a, b, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args, &o), 1);
  assert_non_null(strstr(o.err, "columns 1 and 3 are both named \"a\""));
  assert_non_null(strstr(o.err, "column 2 \"a\" conflicts with column 1"));
  loader_output_free(&o);
}

/* Writes a CSV with one huge field of size bytes in row 2 of 3. */
static char *write_huge(const char *name, size_t size)
{
  char *path = test_tmp_path(name);
  FILE *f = fopen(path, "w");
  fputs("_id,blob\n1,small\n2,\"", f);
  for (size_t i = 0; i < size; i++)
    fputc('a' + (int)(i % 26), f);
  fputs("\"\n3,after\n", f);
  fclose(f);
  return path;
}

/* A 2 MiB field loads whole; a field over 16 MiB is rejected with its line
 * and the rows after it still load. */
static void test_huge_fields(void **state)
{
  (void)state;
  char *ok = write_huge("huge_ok.csv", 2u << 20);
  char spec[1100];
  snprintf(spec, sizeof spec, "huge=%s", ok);
  const char *args[] = {"--uri",  g_uri, "--db", g_db,
                        "--drop", "-q",  spec,   NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  size_t n;
  bson_t **docs = fetch_sorted("huge", &n);
  assert_int_equal(n, 3);
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, docs[1], "blob"));
  uint32_t len;
  const char *s = bson_iter_utf8(&it, &len);
  assert_int_equal(len, 2u << 20);
  assert_int_equal(s[0], 'a');
  assert_int_equal(s[len - 1], 'a' + (int)((len - 1) % 26));
  for (size_t i = 0; i < n; i++)
    bson_destroy(docs[i]);
  free(docs);

  char *big = write_huge("huge_big.csv", 17u << 20);
  char *rejects = test_tmp_path("huge_rejects.csv");
  snprintf(spec, sizeof spec, "huge2=%s", big);
  const char *args2[] = {"--uri", g_uri,       "--db",  g_db, "--drop",
                         "-q",    "--rejects", rejects, spec, NULL};
  loader_output_t o;
  assert_int_equal(run_loader(args2, &o), 1);
  assert_non_null(strstr(o.err, ":3: record exceeds 16 MiB (lines 3-3, "
                                "17825797 bytes at offset 17)"));
  loader_output_free(&o);
  docs = fetch_sorted("huge2", &n);
  assert_int_equal(n, 2); /* rows 1 and 3 */
  for (size_t i = 0; i < n; i++)
    bson_destroy(docs[i]);
  free(docs);
  char *text = read_file_text(rejects);
  assert_non_null(strstr(text, ",3,17,,\"record exceeds 16 MiB (lines 3-3, "
                               "17825797 bytes at offset 17)\",\n"));
  free(text);
  free(rejects);
  free(ok);
  free(big);
}

/* 10,000 columns: every one lands, in order. */
static void test_ten_thousand_columns(void **state)
{
  (void)state;
  char *path = test_tmp_path("wide.csv");
  FILE *f = fopen(path, "w");
  fputs("_id", f);
  for (int c = 1; c < 10000; c++)
    fprintf(f, ",c%d", c);
  fputs("\n", f);
  for (int r = 1; r <= 3; r++) {
    fprintf(f, "%d", r);
    for (int c = 1; c < 10000; c++)
      fprintf(f, ",%d", r * 100000 + c);
    fputs("\n", f);
  }
  fclose(f);
  char spec[1100];
  snprintf(spec, sizeof spec, "wide=%s", path);
  const char *args[] = {"--uri",  g_uri, "--db", g_db,
                        "--drop", "-q",  spec,   NULL};
  assert_int_equal(run_loader(args, NULL), 0);
  size_t n;
  bson_t **docs = fetch_sorted("wide", &n);
  assert_int_equal(n, 3);
  for (size_t r = 0; r < n; r++) {
    bson_iter_t it;
    assert_true(bson_iter_init(&it, docs[r]));
    int c = 0;
    while (bson_iter_next(&it)) {
      char key[16];
      snprintf(key, sizeof key, c ? "c%d" : "_id", c);
      assert_string_equal(bson_iter_key(&it), key);
      assert_int_equal(bson_iter_int32(&it),
                       c ? (int)(r + 1) * 100000 + c : (int)r + 1);
      c++;
    }
    assert_int_equal(c, 10000);
    bson_destroy(docs[r]);
  }
  free(docs);
  free(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quotes),
      cmocka_unit_test(test_multiline),
      cmocka_unit_test(test_bom_crlf),
      cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_typed_skip_row),
      cmocka_unit_test(test_typed_skip_field),
      cmocka_unit_test(test_typed_as_string),
      cmocka_unit_test(test_tsv_fields),
      cmocka_unit_test(test_unterminated_quote),
      cmocka_unit_test(test_skip_comment_trim),
      cmocka_unit_test(test_types_option),
      cmocka_unit_test(test_header_errors),
      cmocka_unit_test(test_huge_fields),
      cmocka_unit_test(test_ten_thousand_columns),
  };
  mongoc_init();
  int failed = cmocka_run_group_tests(tests, setup_all, teardown_all);
  mongoc_cleanup();
  return failed;
}
