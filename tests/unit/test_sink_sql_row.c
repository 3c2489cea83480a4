/* Unit tests of the SQL sinks' numbers as text (sink_sql_row.c), which
 * MySQL's LOAD DATA path sends: every double, both ways, must read back
 * (strtod, which rounds to nearest as the server does) as itself, short
 * decimals stay short, and integers keep every digit at both ends of int64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_sql.h"

/* d written and read back. */
static void check_double(double d)
{
  char buf[48];
  size_t n = sql_double_text(d, buf, sizeof buf);
  assert_int_equal(n, strlen(buf));
  double back = strtod(buf, NULL);
  if (memcmp(&back, &d, sizeof d) != 0) {
    fprintf(stderr, "%.17g written as %s reads back as %.17g\n", d, buf, back);
    fail();
  }
}

static void test_doubles_read_back(void **state)
{
  (void)state;
  static const double fixed[] = {0.1,
                                 -2.5,
                                 1e-7,
                                 6.02e23,
                                 5e-324,
                                 -5e-324,
                                 1e308,
                                 1.7976931348623157e308,
                                 -0.0,
                                 0.0,
                                 100.0,
                                 123456789.123456,
                                 0.30000000000000004,
                                 2.5e-10,
                                 9e15,
                                 -9e15,
                                 8999999999999999.0,
                                 0.000000001,
                                 1234.5678,
                                 4503599627370497.0};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    check_double(fixed[i]);
  /* decimals with few places, as CSV files hold them */
  for (int64_t i = -200000; i <= 200000; i += 7)
    for (int k = 0; k <= 10; k++)
      check_double((double)i / pow(10, k));
  /* any bit pattern that is a finite double */
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double d;
    memcpy(&d, &x, sizeof d);
    if (isfinite(d))
      check_double(d);
  }
}

static void test_short_decimals_stay_short(void **state)
{
  (void)state;
  static const struct {
    double d;
    const char *text;
  } cases[] = {{0.1, "0.1"},          {-2.5, "-2.5"},
               {100.0, "100"},        {0.05, "0.05"},
               {-0.001, "-0.001"},    {1234.5678, "1234.5678"},
               {1e-9, "0.000000001"}, {42.0, "42"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[48];
    sql_double_number_text(cases[i].d, buf, sizeof buf);
    assert_string_equal(buf, cases[i].text);
  }
  /* text columns keep printf's form */
  char buf[48];
  sql_double_text(1e-5, buf, sizeof buf);
  assert_string_equal(buf, "1e-05");
  sql_double_text(0.1, buf, sizeof buf);
  assert_string_equal(buf, "0.1");
}

static void test_ints(void **state)
{
  (void)state;
  static const int64_t cases[] = {
      0, 1, -1, 9, 10, -10, 1234567890123, INT64_MAX, INT64_MIN, INT64_MIN + 1};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[24], want[32];
    size_t n = sql_int_text(cases[i], buf);
    snprintf(want, sizeof want, "%" PRId64, cases[i]);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doubles_read_back),
      cmocka_unit_test(test_short_decimals_stay_short),
      cmocka_unit_test(test_ints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
