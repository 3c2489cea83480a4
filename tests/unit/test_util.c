/* Unit tests of util: URI and message redaction, collection names from paths,
 * thousands separators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mongoc/mongoc.h>
#include <stdio.h>

#include "loader/util.h"

/* Checks util_redact_uri(in) == want and frees the result. */
static void check_redact(const char *in, const char *want)
{
  char *got = util_redact_uri(in);
  assert_non_null(got);
  if (strcmp(got, want) != 0)
    fail_msg("redact(%s): got %s, want %s", in ? in : "NULL", got, want);
  free(got);
}

/* Asserts that util_redact_uri(in) holds none of marker (every piece of
 * every secret of in carries it) and, when user is not NULL, shows
 * "user:***". */
static void check_hidden(const char *in, const char *marker, const char *user)
{
  char *got = util_redact_uri(in);
  assert_non_null(got);
  if (strstr(got, marker))
    fail_msg("redact(%s) = %s: shows %s", in, got, marker);
  if (user) {
    char want[256];
    snprintf(want, sizeof want, "%s:***", user);
    if (!strstr(got, want))
      fail_msg("redact(%s) = %s: no %s", in, got, want);
  }
  free(got);
}

/* The oracle: what the document builder used before util_utf8_valid. */
static bool utf8_oracle(const char *s, size_t len)
{
  return !memchr(s, 0xC0, len) && !memchr(s, 0xC1, len) &&
         bson_utf8_validate(s, len, true);
}

/* util_utf8_valid agrees with libbson on every string of one to three
 * bytes, on every four-byte string that starts with a lead byte of four,
 * and on random strings with ASCII runs (its eight-byte path) around. */
static void test_utf8_valid_matches_libbson(void **state)
{
  (void)state;
  char b[64];
  for (uint32_t v = 0; v < (1u << 24); v++) {
    b[0] = (char)(v >> 16);
    b[1] = (char)(v >> 8);
    b[2] = (char)v;
    for (size_t n = 1; n <= 3; n++) {
      if (n < 3 && (v & ((1u << (8 * (3 - n))) - 1)) != 0)
        continue; /* shorter strings once each */
      if (util_utf8_valid(b, n) != utf8_oracle(b, n))
        fail_msg("differs on %zu bytes %02x %02x %02x", n, (uint8_t)b[0],
                 (uint8_t)b[1], (uint8_t)b[2]);
    }
  }
  for (uint32_t v = 0; v < (1u << 24); v++) {
    b[0] = (char)(0xF0 | (v >> 21));
    b[1] = (char)(v >> 13);
    b[2] = (char)(v >> 5);
    b[3] = (char)((v & 0x1F) * 8);
    if (util_utf8_valid(b, 4) != utf8_oracle(b, 4))
      fail_msg("differs on %02x %02x %02x %02x", (uint8_t)b[0], (uint8_t)b[1],
               (uint8_t)b[2], (uint8_t)b[3]);
  }
  static const char *const bits[] = {"a",
                                     "abcdefgh",
                                     "\xc3\xa9",
                                     "\xe2\x82\xac",
                                     "\xf0\x9f\x98\x80",
                                     "\xed\xa0\x80",
                                     "\xc3",
                                     "\x80",
                                     "\xc0\x80",
                                     "\xf4\x90\x80\x80",
                                     "\0",
                                     "\xff"};
  uint64_t x = 7;
  for (int iter = 0; iter < 300000; iter++) {
    size_t len = 0;
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t parts = (size_t)(x >> 60);
    for (size_t k = 0; k < parts; k++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      size_t which = (size_t)(x >> 33) % (sizeof bits / sizeof bits[0]);
      size_t n = which == 10 ? 1 : strlen(bits[which]);
      if (len + n > sizeof b)
        break;
      memcpy(b + len, bits[which], n);
      len += n;
    }
    if (util_utf8_valid(b, len) != utf8_oracle(b, len))
      fail_msg("differs on a string of %zu bytes (iteration %d)", len, iter);
  }
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
  /* An '@' inside the password (percent-encoding forgotten). */
  check_redact("mongodb://alice:p@ss@host/db", "mongodb://alice:***@host/db");
  /* Empty password. */
  check_redact("mongodb://alice:@host/db", "mongodb://alice:***@host/db");
}

/* Issue 11 hole 8: a '/', '?', '#' or ':' in the password does not end the
 * credentials. */
static void test_redact_delimiters_in_password(void **state)
{
  (void)state;
  check_redact("mongodb://alice:pa/ss@host/db", "mongodb://alice:***@host/db");
  check_redact("mongodb://alice:pa?ss@host/db", "mongodb://alice:***@host/db");
  check_redact("mongodb://alice:pa#ss@host/db", "mongodb://alice:***@host/db");
  check_redact("mongodb://alice:p:a:ss@host/db", "mongodb://alice:***@host/db");
  check_redact("mongodb://alice:p@ss/w?o#r:d@host/db?tls=true",
               "mongodb://alice:***@host/db?tls=true");
  check_redact("mongodb://alice:pa/ss@h1:27017,h2:27018,h3/db?replicaSet=rs",
               "mongodb://alice:***@h1:27017,h2:27018,h3/db?replicaSet=rs");
  check_redact("mongodb://alice:p%40ss%2Fw%3Ford@host/db",
               "mongodb://alice:***@host/db");
  check_redact("mongodb+srv://bob:a/b?c#d@cluster0.example.net/test",
               "mongodb+srv://bob:***@cluster0.example.net/test");
  check_redact("mysql://root:to/or@127.0.0.1:3306/loader",
               "mysql://root:***@127.0.0.1:3306/loader");
  check_redact("mariadb://root:to?or@db:3306/x?socket=/s",
               "mariadb://root:***@db:3306/x?socket=/s");
}

static void test_redact_no_password(void **state)
{
  (void)state;
  check_redact("mongodb://localhost:27017", "mongodb://localhost:27017");
  check_redact("mongodb://alice@host:27017/db",
               "mongodb://alice@host:27017/db");
  check_redact("mongodb://host/db", "mongodb://host/db");
  check_redact("mongodb://h1:1,h2:2/db?replicaSet=rs&w=majority",
               "mongodb://h1:1,h2:2/db?replicaSet=rs&w=majority");
  check_redact("not a uri", "not a uri");
  check_redact("", "");
  check_redact("mongodb://host/we@ird:db", "mongodb://host/we@ird:db");
}

/* An '@' in the path or the options may be the end of a password holding
 * '/' or '?': what lies before it is hidden (over-redacting is fine). */
static void test_redact_at_in_path_or_query(void **state)
{
  (void)state;
  check_redact("mongodb://host:27017/db?authMechanismProperties=a@b:c",
               "mongodb://host:***@b:c");
  check_redact("mongodb://host?x=u:p@q", "mongodb://host?x=u:***@q");
  check_redact("mongodb://u:p@host/db?appname=a@b:c", "mongodb://u:***@b:c");
}

/* No scheme, a mangled one, nothing that parses: still no password. */
static void test_redact_unparsable(void **state)
{
  (void)state;
  check_redact("alice:Q7pw@host/db", "alice:***@host/db");
  check_redact("mongodb:/alice:Q7pw@host", "mongodb:***@host");
  check_redact("mongodb:alice:Q7pw@host", "mongodb:***@host");
  check_redact("//alice:Q7pw@host", "//alice:***@host");
  check_redact("mongodb://alice:Q7pw@@@", "mongodb://alice:***@");
  check_redact("mongodb://:Q7pw@", "mongodb://:***@");
  check_redact("ftp://alice:Q7pw@x", "ftp://alice:***@x");
  check_hidden("mongodb://alice:Q7 p\nw@host", "Q7", "alice");
  check_hidden("mongodb://alice:\xff\xfeQ7@host", "Q7", "alice");
  check_hidden("mongodb://alice:Q7%zz%4@host", "Q7", "alice");
  check_hidden("mongodb://alice:Q7pw@host/x@y/z", "Q7", "alice");
  check_hidden("mongodb://alice:Q7://x@host", "Q7", "alice");
  check_hidden("mongodb://alice:Q7?password=Q7@h/?password=Q7", "Q7", "alice");
}

/* Values of options that carry secrets, to the end of the string. */
static void test_redact_option_secrets(void **state)
{
  (void)state;
  check_redact("mongodb://host/?tls=true&tlsCertificateKeyFilePassword=Kf9x",
               "mongodb://host/?tls=true&tlsCertificateKeyFilePassword=***");
  check_redact("mongodb://host/?tlsCertificateKeyFilePassword=Kf9x&w=1",
               "mongodb://host/?tlsCertificateKeyFilePassword=***");
  check_redact("mongodb://host/?sslClientCertificateKeyPassword=Kf9x",
               "mongodb://host/?sslClientCertificateKeyPassword=***");
  check_redact("mongodb://host/?tlsCertificateKeyPassword=Kf9x",
               "mongodb://host/?tlsCertificateKeyPassword=***");
  check_redact("mongodb://host/?PASSWORD=Kf9x", "mongodb://host/?PASSWORD=***");
  check_redact("mongodb://host/?tlsCertificateKeyFile%50assword=Kf9x",
               "mongodb://host/?tlsCertificateKeyFile%50assword=***");
  check_redact("mongodb://host/?x=1;apiToken=Kf9x",
               "mongodb://host/?x=1;apiToken=***");
  check_redact("mongodb://host/?clientSecret=Kf9x",
               "mongodb://host/?clientSecret=***");
  check_redact("mongodb://AKIA:Sk9@host/?authMechanism=MONGODB-AWS&"
               "authMechanismProperties=SERVICE_NAME:m,AWS_SESSION_TOKEN:T9k",
               "mongodb://AKIA:***@host/?authMechanism=MONGODB-AWS&"
               "authMechanismProperties=SERVICE_NAME:m,AWS_SESSION_TOKEN:***");
  check_redact("mongodb://h/?authmechanismproperties=aws_session_token:T9k&w=1",
               "mongodb://h/?authmechanismproperties=aws_session_token:***");
  /* Not secrets. */
  check_redact("mongodb://h/?authMechanismProperties=SERVICE_NAME:mongodb",
               "mongodb://h/?authMechanismProperties=SERVICE_NAME:mongodb");
  check_redact("mongodb://h/?tlsCertificateKeyFile=/etc/k.pem",
               "mongodb://h/?tlsCertificateKeyFile=/etc/k.pem");
  /* A value holding '&', '#' or '=' (not percent-encoded). */
  check_hidden("mongodb://h/?tlsCertificateKeyFilePassword=Q7&Q7=Q7#Q7", "Q7",
               NULL);
}

/* Every password built from the characters a parser may split at, in every
 * kind of URI: the output never holds any piece of it (each carries "Q7"),
 * nor does a message quoting the URI. */
static void test_redact_exhaustive(void **state)
{
  (void)state;
  static const char specials[] = "@:/?#%&=,;+ ";
  static const char *const templates[] = {
      "mongodb://alice:%s@host/db",
      "mongodb://alice:%s@h1:27017,h2:27018/db?replicaSet=rs&w=1",
      "mongodb://alice:%s@host/db?appname=a@b",
      "mongodb://alice:%s@host",
      "mongodb+srv://alice:%s@c0.example.net/?tls=true",
      "mysql://alice:%s@127.0.0.1:3306/x",
      "mariadb://alice:%s@db/x?connectTimeout=5",
      "alice:%s@host/db",
      "mongodb://h/?tlsCertificateKeyFilePassword=%s&w=1",
      "mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:%s,X:y",
      "mongodb://alice:%s@h/?tlsCertificateKeyFilePassword=%s",
  };
  size_t n = strlen(specials);
  for (size_t t = 0; t < sizeof templates / sizeof *templates; t++) {
    for (size_t i = 0; i < n; i++) {
      for (size_t j = 0; j < n; j++) {
        char pw[32], uri[256];
        snprintf(pw, sizeof pw, "Q7%cQ7%cQ7", specials[i], specials[j]);
        snprintf(uri, sizeof uri, templates[t], pw, pw);
        bool has_user = strstr(templates[t], "alice:") != NULL;
        check_hidden(uri, "Q7", has_user ? "alice" : NULL);
        char *got = util_redact_uri(uri);
        /* The user name and the host stay visible when there is one. */
        if (has_user)
          assert_non_null(strstr(got, "alice"));
        free(got);
        /* A message quoting the whole URI raw. */
        char msg[300];
        snprintf(msg, sizeof msg, "Error parsing URI: '%s'", uri);
        got = util_redact_message(msg, uri);
        if (strstr(got, "Q7"))
          fail_msg("redact_message(%s) = %s", msg, got);
        free(got);
      }
    }
  }
}

static void test_redact_other_schemes(void **state)
{
  (void)state;
  check_redact("mongodb+srv://bob:hunter2@cluster0.example.net/test",
               "mongodb+srv://bob:***@cluster0.example.net/test");
  check_redact("mysql://root:toor@127.0.0.1:3306/loader",
               "mysql://root:***@127.0.0.1:3306/loader");
  check_redact("mariadb://root:toor@127.0.0.1/loader",
               "mariadb://root:***@127.0.0.1/loader");
  check_redact("sqlite:///tmp/x.db", "sqlite:///tmp/x.db");
}

static void test_redact_null(void **state)
{
  (void)state;
  check_redact(NULL, "");
}

/* Checks that util_redact_message(msg, uri) == want. */
static void check_message(const char *msg, const char *uri, const char *want)
{
  char *got = util_redact_message(msg, uri);
  assert_non_null(got);
  if (strcmp(got, want) != 0)
    fail_msg("redact_message(%s, %s): got %s, want %s", msg ? msg : "NULL",
             uri ? uri : "NULL", got, want);
  free(got);
}

static void test_redact_message(void **state)
{
  (void)state;
  /* libmongoc 1.23 quotes the password it refuses. */
  check_message("Password \"pa:ss\" must not have unescaped chars. "
                "Percent-encode username and password according to RFC 3986",
                "mongodb://alice:pa:ss@host/db",
                "Password \"***\" must not have unescaped chars. "
                "Percent-encode username and password according to RFC 3986");
  /* Later versions quote hosts and databases: pieces of a password cut at
   * a '/' or an '@'. */
  check_message("Invalid host specifier \"alice:Q7a\": bad port",
                "mongodb://alice:Q7a/Q7bb@host/db",
                "Invalid host specifier \"alice:***\": bad port");
  check_message("Invalid database specifier \"Q7bb@host/db\": bad",
                "mongodb://alice:Q7a/Q7bb@host/db",
                "Invalid database specifier \"***@host/db\": bad");
  /* Option values, raw or decoded. */
  check_message("Deprecated option 'sslclientcertificatekeypassword=Kf9one' "
                "conflicts with canonical name "
                "'tlscertificatekeyfilepassword=Kf9two'",
                "mongodb://h/?sslClientCertificateKeyPassword=Kf9one&"
                "tlsCertificateKeyFilePassword=Kf9two",
                "Deprecated option '***' conflicts with canonical name "
                "'***'");
  check_message("bad value p@ss/word9 here", "mongodb://u:p%40ss%2Fword9@h",
                "bad value *** here");
  check_message("it was word9!", "mongodb://u:p%40ss%2Fword9@h", "it was ***!");
  /* Unquoted fragments: libmongoc 1.23 takes "ss@127.0.0.1" for the host
   * of "alice:p@ss@127.0.0.1"; later versions print a bad %-sequence of
   * the password. */
  check_message("No suitable servers found: `serverSelectionTimeoutMS` "
                "expired: [Failed to resolve ss@127.0.0.1]",
                "mongodb://alice:p@ss@127.0.0.1:1/db",
                "No suitable servers found: `serverSelectionTimeoutMS` "
                "expired: [Failed to resolve ***@127.0.0.1]");
  check_message("At offset 1: Invalid %-sequence \"%zz\"",
                "mongodb://alice:a%zzb@h",
                "At offset 1: Invalid %-sequence "
                "\"%***\"");
  check_message("x p y", "mongodb://alice:p/Q7@h", "x *** y");
  /* A one-character word that is a whole piece of the password goes ("1"
   * of "monkey/1"); short words found inside it only next to a URI
   * delimiter (a long random token holds many short English words). */
  check_message("calling hello on 'h:1'", "mongodb://u:monkey%2F1@h:1",
                "calling hello on 'h:***'");
  check_message("Failed to connect to target host: 127.0.0.1:1",
                "mongodb://h:1/?authMechanismProperties=AWS_SESSION_TOKEN:"
                "IQoJb3JpZ2luX2VjEtoHcoXtaRYZhoZ",
                "Failed to connect to target host: 127.0.0.1:1");
  check_message("key at:ke here", "mongodb://u:monkey@h", "key at:*** here");
  /* Nothing secret: untouched. */
  check_message("No suitable servers found: [connection refused calling "
                "hello on '127.0.0.1:1234']",
                "mongodb://alice:s3cretpw@127.0.0.1:1234/",
                "No suitable servers found: [connection refused calling "
                "hello on '127.0.0.1:1234']");
  check_message("Access denied for user 'alice'@'localhost' (using "
                "password: YES)",
                "mysql://alice:s3cretpw@localhost/x",
                "Access denied for user 'alice'@'localhost' (using "
                "password: YES)");
  check_message("anything \"at all\"", "mongodb://host/db",
                "anything \"at all\"");
  check_message("x", NULL, "x");
  check_message(NULL, "mongodb://u:p@h", "");
}

/* What libmongoc itself says about adversarial URIs, once scrubbed, holds
 * no piece of the password; and it would without the scrubbing. */
static void test_redact_libmongoc_errors(void **state)
{
  (void)state;
  static const char specials[] = "@:/?#%&=,";
  size_t n = strlen(specials), leaks = 0, failures = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++) {
      static const char *const templates[] = {
          "mongodb://alice:%s@host/db",
          "mongodb://alice:%s@h1,h2:1/db?replicaSet=rs",
          "mongodb+srv://alice:%s@c0.example.net/",
          "mongodb://h/?tlsCertificateKeyFilePassword=%s",
          "mongodb://h/?sslClientCertificateKeyPassword=Q7a&"
          "tlsCertificateKeyFilePassword=%s",
          "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties="
          "AWS_SESSION_TOKEN:%s",
      };
      for (size_t t = 0; t < sizeof templates / sizeof *templates; t++) {
        char pw[32], uri[256];
        snprintf(pw, sizeof pw, "Q7%cQ7%cQ7", specials[i], specials[j]);
        snprintf(uri, sizeof uri, templates[t], pw);
        bson_error_t error;
        mongoc_uri_t *u = mongoc_uri_new_with_error(uri, &error);
        if (u) {
          mongoc_uri_destroy(u);
          continue;
        }
        failures++;
        leaks += strstr(error.message, "Q7") != NULL;
        char *safe = util_redact_message(error.message, uri);
        if (strstr(safe, "Q7"))
          fail_msg("%s: libmongoc said %s; scrubbed: %s", uri, error.message,
                   safe);
        free(safe);
      }
    }
  }
  assert_true(failures > 0);
  assert_true(leaks > 0); /* the scrubbing is needed */
}

/* Checks util_uri_names_user_only(uri) == want. */
static void check_user_only(const char *uri, bool want)
{
  if (util_uri_names_user_only(uri) != want)
    fail_msg("names_user_only(%s) != %d", uri ? uri : "NULL", want);
}

static void test_uri_names_user_only(void **state)
{
  (void)state;
  check_user_only("mongodb://alice@host:27017/db", true);
  check_user_only("mongodb+srv://bob@c.example.net/?tls=true", true);
  check_user_only("mysql://bob@127.0.0.1:3306/x", true);
  check_user_only("mongodb://alice@h/db?appname=a@b", true);
  check_user_only("mongodb://a%40b@host", true);
  /* No user, a password (even empty), an empty user, not a URI. */
  check_user_only("mongodb://host/db", false);
  check_user_only("mongodb://alice:old@host/db", false);
  check_user_only("mongodb://alice:@host/db", false);
  check_user_only("mongodb://@host/db", false);
  check_user_only("host/db", false);
  check_user_only("alice@host", false);
  check_user_only("mongodb://host/db?x=a@b", false);
  check_user_only("sqlite:///tmp/x.db", false);
  check_user_only("sqlite:x.db", false);
  check_user_only(NULL, false);
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
      cmocka_unit_test(test_utf8_valid_matches_libbson),
      cmocka_unit_test(test_redact_password),
      cmocka_unit_test(test_redact_delimiters_in_password),
      cmocka_unit_test(test_redact_no_password),
      cmocka_unit_test(test_redact_at_in_path_or_query),
      cmocka_unit_test(test_redact_unparsable),
      cmocka_unit_test(test_redact_option_secrets),
      cmocka_unit_test(test_redact_exhaustive),
      cmocka_unit_test(test_redact_other_schemes),
      cmocka_unit_test(test_redact_null),
      cmocka_unit_test(test_redact_message),
      cmocka_unit_test(test_redact_libmongoc_errors),
      cmocka_unit_test(test_uri_names_user_only),
      cmocka_unit_test(test_collection_from_path),
      cmocka_unit_test(test_group_thousands),
      cmocka_unit_test(test_group_thousands_small_buffer),
      cmocka_unit_test(test_now_monotonic),
  };
  mongoc_log_set_handler(NULL, NULL); /* its warnings about bad URIs */
  mongoc_init();
  int failed = cmocka_run_group_tests_name("util", tests, NULL, NULL);
  mongoc_cleanup();
  return failed;
}
