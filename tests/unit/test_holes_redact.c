/* Issue 11, hole 8: util_redact_uri must never leave a password in its
 * output, whatever the URI looks like -- a '/' or '?' inside the password,
 * a password in a query option, a URI libmongoc cannot parse. These cases
 * check only that the secret is gone (and, where the URI has a host, that
 * the result still says which host), not an exact rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/util.h"

/* Fails when util_redact_uri(in) contains secret, or lacks keep (a part of
 * the URI that is not secret, NULL for no check). */
static void check_hidden(const char *in, const char *secret, const char *keep)
{
  char *got = util_redact_uri(in);
  assert_non_null(got);
  if (strstr(got, secret))
    fail_msg("util_redact_uri(\"%s\") = \"%s\": the password \"%s\" is "
             "still there",
             in, got, secret);
  if (keep && !strstr(got, keep))
    fail_msg("util_redact_uri(\"%s\") = \"%s\": \"%s\" is gone", in, got, keep);
  free(got);
}

/* A '/' in the password: the credentials end at the last '@' before the
 * host, not at the first '/'. */
static void test_slash_in_password(void **state)
{
  (void)state;
  check_hidden("mongodb://alice:pa/ss@host/db", "pa/ss", "host");
  check_hidden("mongodb://alice:pa/ss@host/db", "ss@", NULL);
  check_hidden("mongodb://alice:/leading@host:27017/db", "/leading", "host");
  check_hidden("mongodb+srv://bob:a/b/c@cluster0.example.net/test", "a/b/c",
               "cluster0.example.net");
  check_hidden("mysql://root:to/or@127.0.0.1:3306/loader", "to/or",
               "127.0.0.1");
}

/* A '?' in the password. */
static void test_question_mark_in_password(void **state)
{
  (void)state;
  check_hidden("mongodb://alice:p?ss@h", "p?ss", NULL);
  check_hidden("mongodb://alice:p?ss@h", "ss@h", NULL);
  check_hidden("mongodb://alice:why?not@host/db?w=1", "why?not", "host");
}

/* Passwords in query options: TLS key file and proxy passwords. */
static void test_password_in_query(void **state)
{
  (void)state;
  check_hidden("mongodb://a:bpw@h1,h2/?tlsCertificateKeyFilePassword=secret",
               "secret", "h1,h2");
  check_hidden("mongodb://a:bpw@h1,h2/?tlsCertificateKeyFilePassword=secret",
               "bpw", NULL);
  check_hidden("mongodb://h1/?tlsCertificateKeyFilePassword=k3y&tls=true",
               "k3y", "h1");
  check_hidden("mongodb://h1/?proxyPassword=pr0xy", "pr0xy", "h1");
}

/* URIs libmongoc cannot parse still lose their password. */
static void test_unparsable_uri(void **state)
{
  (void)state;
  check_hidden("mongodb://alice:hunter2@", "hunter2", NULL);
  check_hidden("mongodb://alice:hunter2@host:notaport/db", "hunter2", NULL);
  check_hidden("mongodb://alice:hun/ter2@:27017", "hun/ter2", NULL);
  check_hidden("mongodb:/alice:hunter2@host/db", "hunter2", NULL);
  check_hidden("mongodb//alice:hunter2@host/db", "hunter2", NULL);
  check_hidden("alice:hunter2@host/db", "hunter2", NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slash_in_password),
      cmocka_unit_test(test_question_mark_in_password),
      cmocka_unit_test(test_password_in_query),
      cmocka_unit_test(test_unparsable_uri),
  };
  return cmocka_run_group_tests_name("holes_redact", tests, NULL, NULL);
}
