/* Unit tests of util: URI redaction, collection names from paths, thousands
 * separators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/util.h"

/* Checks util_redact_uri(in) == want and frees the result. */
static void check_redact(const char *in, const char *want)
{
  char *got = util_redact_uri(in);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_redact_password(void **state)
{
  (void)state;
  check_redact("mongodb://alice:s3cret@db.example:27017/shop",
               "mongodb://alice:***@db.example:27017/shop");
  check_redact("mongodb://alice:s3cret@h1,h2,h3/?replicaSet=rs",
               "mongodb://alice:***@h1,h2,h3/?replicaSet=rs");
  check_redact("mongodb://alice:s3cret@localhost",
               "mongodb://alice:***@localhost");
  /* An '@' inside the password (percent-encoding forgotten): the last '@'
   * before the path ends the credentials. */
  check_redact("mongodb://alice:p@ss@host/db", "mongodb://alice:***@host/db");
  /* Empty password. */
  check_redact("mongodb://alice:@host/db", "mongodb://alice:***@host/db");
}

static void test_redact_no_password(void **state)
{
  (void)state;
  check_redact("mongodb://localhost:27017", "mongodb://localhost:27017");
  check_redact("mongodb://alice@host:27017/db",
               "mongodb://alice@host:27017/db");
  check_redact("mongodb://host/db", "mongodb://host/db");
  check_redact("not a uri", "not a uri");
  check_redact("", "");
}

static void test_redact_at_in_path_or_query(void **state)
{
  (void)state;
  check_redact("mongodb://host:27017/db?authMechanismProperties=a@b:c",
               "mongodb://host:27017/db?authMechanismProperties=a@b:c");
  check_redact("mongodb://host/we@ird:db", "mongodb://host/we@ird:db");
  check_redact("mongodb://host?x=u:p@q", "mongodb://host?x=u:p@q");
  check_redact("mongodb://u:p@host/db?appname=a@b:c",
               "mongodb://u:***@host/db?appname=a@b:c");
}

static void test_redact_other_schemes(void **state)
{
  (void)state;
  check_redact("mongodb+srv://bob:hunter2@cluster0.example.net/test",
               "mongodb+srv://bob:***@cluster0.example.net/test");
  check_redact("mysql://root:toor@127.0.0.1:3306/loader",
               "mysql://root:***@127.0.0.1:3306/loader");
  check_redact("sqlite:///tmp/x.db", "sqlite:///tmp/x.db");
}

static void test_redact_null(void **state)
{
  (void)state;
  check_redact(NULL, "");
}

/* Checks util_uri_with_password(uri, pw) == want (NULL: refused). */
static void check_with_pw(const char *uri, const char *pw, const char *want)
{
  char *got = util_uri_with_password(uri, pw);
  if (!want) {
    if (got)
      fail_msg("%s + %s: got %s, want NULL", uri, pw, got);
    return;
  }
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_uri_with_password(void **state)
{
  (void)state;
  check_with_pw("mongodb://alice@host:27017/db", "s3cret",
                "mongodb://alice:s3cret@host:27017/db");
  /* Reserved characters are percent-encoded, unreserved ones kept. */
  check_with_pw("mongodb://alice@host/db", "p@ss:w/rd?#%",
                "mongodb://alice:p%40ss%3Aw%2Frd%3F%23%25@host/db");
  check_with_pw("mongodb://alice@host", "a-b._~Z9",
                "mongodb://alice:a-b._~Z9@host");
  check_with_pw("mongodb+srv://bob@c.example.net/?tls=true", "x y",
                "mongodb+srv://bob:x%20y@c.example.net/?tls=true");
  check_with_pw("mongodb://alice@host", "", "mongodb://alice:@host");
  /* Refused: no user, a password already there, an empty user, not a
   * URI. */
  check_with_pw("mongodb://host/db", "pw", NULL);
  check_with_pw("mongodb://alice:old@host/db", "pw", NULL);
  check_with_pw("mongodb://@host/db", "pw", NULL);
  check_with_pw("host/db", "pw", NULL);
  check_with_pw("mongodb://host/db?x=a@b", "pw", NULL);
}

/* Checks util_collection_from_path(in) == want. */
static void check_coll(const char *in, const char *want)
{
  char *got = util_collection_from_path(in);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_collection_from_path(void **state)
{
  (void)state;
  check_coll("customers.csv", "customers");
  check_coll("data/customers.csv", "customers");
  check_coll("/abs/dir/products.tsv", "products");
  check_coll("dir/a.b.csv", "a.b");
  check_coll("x.csv.gz", "x");
  check_coll("dir/x.csv.gz", "x");
  check_coll("noext", "noext");
  check_coll("dir.d/noext", "noext");
  check_coll("-x", "-x");
  /* A dot file keeps its name rather than becoming empty. */
  check_coll(".hidden", ".hidden");
}

/* Checks util_group_thousands(n) == want with a roomy buffer. */
static void check_group(uint64_t n, const char *want)
{
  char buf[64];
  memset(buf, 'X', sizeof buf);
  char *got = util_group_thousands(n, buf, sizeof buf);
  assert_ptr_equal(got, buf);
  assert_string_equal(buf, want);
}

static void test_group_thousands(void **state)
{
  (void)state;
  check_group(0, "0");
  check_group(7, "7");
  check_group(999, "999");
  check_group(1000, "1,000");
  check_group(12345, "12,345");
  check_group(999999, "999,999");
  check_group(1234567, "1,234,567");
  check_group(UINT64_MAX, "18,446,744,073,709,551,615");
}

static void test_group_thousands_small_buffer(void **state)
{
  (void)state;
  /* Truncated, but always NUL-terminated within cap. */
  char buf[4] = {'X', 'X', 'X', 'X'};
  util_group_thousands(1234567, buf, sizeof buf);
  assert_non_null(memchr(buf, '\0', sizeof buf));
  assert_true(strncmp("1,234,567", buf, strlen(buf)) == 0);
}

static void test_now_monotonic(void **state)
{
  (void)state;
  double a = util_now();
  double b = util_now();
  assert_true(a > 0);
  assert_true(b >= a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redact_password),
      cmocka_unit_test(test_redact_no_password),
      cmocka_unit_test(test_redact_at_in_path_or_query),
      cmocka_unit_test(test_redact_other_schemes),
      cmocka_unit_test(test_redact_null),
      cmocka_unit_test(test_uri_with_password),
      cmocka_unit_test(test_collection_from_path),
      cmocka_unit_test(test_group_thousands),
      cmocka_unit_test(test_group_thousands_small_buffer),
      cmocka_unit_test(test_now_monotonic),
  };
  return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
