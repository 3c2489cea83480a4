/* Unit tests of indexes: --index SPEC parsed into keys and options, and
 * every malformed spec refused with the spec named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/indexes.h"

/* A compound key with every option: keys in order, directions, options. */
static void test_parse_compound(void **state)
{
  (void)state;
  indexes_spec_t s;
  bson_error_t error;
  assert_true(indexes_spec_parse(
      "last:1,first:-1,address.city:1,unique,sparse,name=by_name,on=people", &s,
      &error));
  assert_int_equal(s.n_keys, 3);
  assert_string_equal(s.keys[0].field, "last");
  assert_int_equal(s.keys[0].direction, 1);
  assert_string_equal(s.keys[1].field, "first");
  assert_int_equal(s.keys[1].direction, -1);
  assert_string_equal(s.keys[2].field, "address.city");
  assert_true(s.unique);
  assert_true(s.sparse);
  assert_string_equal(s.name, "by_name");
  assert_string_equal(s.on, "people");
  indexes_spec_cleanup(&s);
}

/* One key, no option; a field whose name holds ':' splits at the last. */
static void test_parse_plain(void **state)
{
  (void)state;
  indexes_spec_t s;
  bson_error_t error;
  assert_true(indexes_spec_parse("email:1", &s, &error));
  assert_int_equal(s.n_keys, 1);
  assert_false(s.unique || s.sparse);
  assert_null(s.name);
  assert_null(s.on);
  indexes_spec_cleanup(&s);
  assert_true(indexes_spec_parse("a:b:-1", &s, &error));
  assert_string_equal(s.keys[0].field, "a:b");
  assert_int_equal(s.keys[0].direction, -1);
  indexes_spec_cleanup(&s);
}

/* Each refused with a usage error that quotes the spec. */
static void test_parse_refused(void **state)
{
  (void)state;
  const char *bad[] = {
      "",         "email",
      "email:2",  "email:",
      ":1",       "unique",
      "email:1,", "a:1,,b:1",
      "a:1,uniq", "a:1,name=",
      "a:1,on=",  "a:1,a:-1",
      "$a:1",     "a:1,name=x,name=y",
      "a:+1",     "a:1,Unique",
      NULL, /* the long name below */
  };
  /* A name no target takes is refused before the load, not after it. */
  char long_name[160];
  snprintf(long_name, sizeof long_name, "a:1,name=%0128d", 0);
  bad[sizeof bad / sizeof bad[0] - 1] = long_name;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    indexes_spec_t s;
    bson_error_t error;
    if (indexes_spec_parse(bad[i], &s, &error))
      fail_msg("\"%s\" was accepted", bad[i]);
    assert_int_equal(error.domain, 1000 /* LOADER_ERROR_USAGE */);
    if (!strstr(error.message, "--index") ||
        (*bad[i] && !strstr(error.message, bad[i])))
      fail_msg("\"%s\": %s", bad[i], error.message);
    indexes_spec_cleanup(&s);
  }
  /* 127 bytes is the longest name MongoDB and the SQL targets are given. */
  indexes_spec_t s;
  bson_error_t error;
  long_name[strlen(long_name) - 1] = '\0';
  assert_true(indexes_spec_parse(long_name, &s, &error));
  assert_int_equal(strlen(s.name), 127);
  indexes_spec_cleanup(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_compound),
      cmocka_unit_test(test_parse_plain),
      cmocka_unit_test(test_parse_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
