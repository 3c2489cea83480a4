/* Unit tests of cli: cli_parse() into options_t, and its errors. Every test
 * calls cli_options_cleanup() whatever the status, and frees its argv copy
 * right after parsing, so a dangling pointer into argv shows under
 * ASan/valgrind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <getopt.h>

#include "loader/cli.h"
#include "loader/error.h"

/* The option table itself, for test_option_table. */
#include "../../src/cli_impl.h"

/* Parses a copy of args (args[0] is the program name). */
static cli_status_t parse_args(int argc, const char **args, options_t *opts,
                               bson_error_t *error)
{
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  assert_non_null(argv);
  for (int i = 0; i < argc; i++) {
    argv[i] = strdup(args[i]);
    assert_non_null(argv[i]);
  }
  memset(error, 0, sizeof *error);
  cli_status_t st = cli_parse(argc, argv, opts, error);
  for (int i = 0; i < argc; i++)
    free(argv[i]);
  free(argv);
  return st;
}

#define PARSE(opts, error, ...)                                                \
  ({                                                                           \
    const char *args_[] = {"loader", __VA_ARGS__};                             \
    parse_args((int)(sizeof args_ / sizeof args_[0]), args_, (opts), (error)); \
  })

/* Expects a usage error whose message contains needle. */
#define EXPECT_USAGE(needle, ...)                                              \
  do {                                                                         \
    options_t o_;                                                              \
    bson_error_t e_;                                                           \
    cli_status_t st_ = PARSE(&o_, &e_, __VA_ARGS__);                           \
    assert_int_equal(st_, CLI_USAGE);                                          \
    assert_int_equal(e_.domain, LOADER_ERROR_USAGE);                           \
    if (!strstr(e_.message, (needle)))                                         \
      fail_msg("message \"%s\" lacks \"%s\"", e_.message, (needle));           \
    cli_options_cleanup(&o_);                                                  \
  } while (0)

static int unset_uri(void **state)
{
  (void)state;
  unsetenv("MONGODB_URI");
  return 0;
}

static void test_defaults(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "customers.csv"), CLI_RUN);
  assert_string_equal(o.uri, "mongodb://localhost:27017");
  assert_null(o.db);
  assert_int_equal(o.mode, CLI_MODE_PARALLEL);
  assert_int_equal(o.workers, 0);
  assert_int_equal(o.batch_size, 10000);
  assert_int_equal(o.inflight, 4);
  assert_null(o.write_concern);
  assert_int_equal(o.batch_bytes, 8u * 1024u * 1024u);
  assert_false(o.drop);
  assert_false(o.dry_run);
  assert_false(o.quiet);
  assert_null(o.report_json);
  assert_int_equal(o.dialect.delimiter, ',');
  assert_int_equal(o.dialect.quote, '"');
  assert_false(o.dialect.trim);
  assert_int_equal(o.dialect.comment, -1);
  assert_int_equal(o.dialect.skip_lines, 0);
  assert_true(o.doc.infer);
  assert_false(o.doc.ignore_blanks);
  assert_true(o.doc.add_id);
  assert_int_equal(o.n_inputs, 1);
  assert_string_equal(o.inputs[0].path, "customers.csv");
  assert_string_equal(o.inputs[0].collection, "customers");
  cli_options_cleanup(&o);
  assert_null(o.inputs);
  assert_null(o.uri);
}

static void test_uri_from_env(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  setenv("MONGODB_URI", "mongodb://env.example:27018/envdb", 1);
  assert_int_equal(PARSE(&o, &e, "a.csv"), CLI_RUN);
  assert_string_equal(o.uri, "mongodb://env.example:27018/envdb");
  cli_options_cleanup(&o);

  /* --uri wins over the environment. */
  assert_int_equal(PARSE(&o, &e, "--uri", "mongodb://cli:1", "a.csv"), CLI_RUN);
  assert_string_equal(o.uri, "mongodb://cli:1");
  cli_options_cleanup(&o);

  /* An empty variable counts as unset. */
  setenv("MONGODB_URI", "", 1);
  assert_int_equal(PARSE(&o, &e, "a.csv"), CLI_RUN);
  assert_string_equal(o.uri, "mongodb://localhost:27017");
  cli_options_cleanup(&o);
  unsetenv("MONGODB_URI");
}

static void test_every_option(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "--uri", "mongodb://h:1/x", "--db", "shop",
                         "--drop", "--dry-run", "--linear", "-j", "7",
                         "--batch-size", "250", "--batch-bytes", "65536",
                         "--no-infer", "--ignore-blanks", "--report-json",
                         "out.json", "-q", "a.csv"),
                   CLI_RUN);
  assert_string_equal(o.uri, "mongodb://h:1/x");
  assert_string_equal(o.db, "shop");
  assert_true(o.drop);
  assert_true(o.dry_run);
  assert_int_equal(o.mode, CLI_MODE_LINEAR);
  assert_int_equal(o.workers, 7);
  assert_int_equal(o.batch_size, 250);
  assert_int_equal(o.batch_bytes, 65536);
  assert_false(o.doc.infer);
  assert_true(o.doc.ignore_blanks);
  assert_string_equal(o.report_json, "out.json");
  assert_true(o.quiet);
  assert_int_equal(o.n_inputs, 1);
  cli_options_cleanup(&o);
}

static void test_option_forms(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  /* --name=value, -jN, --workers, --quiet, the last mode wins. */
  assert_int_equal(PARSE(&o, &e, "--workers=3", "--batch-size=10",
                         "--uri=mongodb://a:2", "--compare", "--quiet",
                         "a.csv"),
                   CLI_RUN);
  assert_int_equal(o.workers, 3);
  assert_int_equal(o.batch_size, 10);
  assert_string_equal(o.uri, "mongodb://a:2");
  assert_int_equal(o.mode, CLI_MODE_COMPARE);
  assert_true(o.quiet);
  cli_options_cleanup(&o);

  assert_int_equal(PARSE(&o, &e, "-j12", "--compare", "--parallel", "a.csv"),
                   CLI_RUN);
  assert_int_equal(o.workers, 12);
  assert_int_equal(o.mode, CLI_MODE_PARALLEL);
  cli_options_cleanup(&o);

  /* Repeated string options: the last wins, the first is freed. */
  assert_int_equal(PARSE(&o, &e, "--db", "one", "--db", "two", "--report-json",
                         "r1", "--report-json", "r2", "a.csv"),
                   CLI_RUN);
  assert_string_equal(o.db, "two");
  assert_string_equal(o.report_json, "r2");
  cli_options_cleanup(&o);

  /* Largest accepted values. */
  assert_int_equal(PARSE(&o, &e, "-j", "1024", "--batch-size", "100000",
                         "--batch-bytes", "48000000", "a.csv"),
                   CLI_RUN);
  assert_int_equal(o.workers, 1024);
  assert_int_equal(o.batch_size, 100000);
  assert_int_equal(o.batch_bytes, 48000000);
  cli_options_cleanup(&o);
}

static void test_inputs(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "customers.csv", "people=export-2024.csv",
                         "data/dir/a.b.csv", "x.csv.gz", "things=data/t.csv",
                         "dir/k=v.csv"),
                   CLI_RUN);
  assert_int_equal(o.n_inputs, 6);
  assert_string_equal(o.inputs[0].collection, "customers");
  assert_string_equal(o.inputs[0].path, "customers.csv");
  assert_string_equal(o.inputs[1].collection, "people");
  assert_string_equal(o.inputs[1].path, "export-2024.csv");
  assert_string_equal(o.inputs[2].collection, "a.b");
  assert_string_equal(o.inputs[2].path, "data/dir/a.b.csv");
  assert_string_equal(o.inputs[3].collection, "x");
  assert_string_equal(o.inputs[3].path, "x.csv.gz");
  assert_string_equal(o.inputs[4].collection, "things");
  assert_string_equal(o.inputs[4].path, "data/t.csv");
  /* An '=' after a '/' belongs to the path. */
  assert_string_equal(o.inputs[5].collection, "k=v");
  assert_string_equal(o.inputs[5].path, "dir/k=v.csv");
  cli_options_cleanup(&o);
}

static void test_options_after_files(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "a.csv", "--linear", "b.csv", "-j", "2",
                         "c.csv", "--dry-run"),
                   CLI_RUN);
  assert_int_equal(o.n_inputs, 3);
  assert_string_equal(o.inputs[0].path, "a.csv");
  assert_string_equal(o.inputs[1].path, "b.csv");
  assert_string_equal(o.inputs[2].path, "c.csv");
  assert_int_equal(o.mode, CLI_MODE_LINEAR);
  assert_int_equal(o.workers, 2);
  assert_true(o.dry_run);
  cli_options_cleanup(&o);
}

static void test_double_dash(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(
      PARSE(&o, &e, "--linear", "a.csv", "--", "-x", "--drop", "n=-y.csv"),
      CLI_RUN);
  assert_int_equal(o.mode, CLI_MODE_LINEAR);
  assert_false(o.drop);
  assert_int_equal(o.n_inputs, 4);
  assert_string_equal(o.inputs[0].path, "a.csv");
  assert_string_equal(o.inputs[1].path, "-x");
  assert_string_equal(o.inputs[1].collection, "-x");
  assert_string_equal(o.inputs[2].path, "--drop");
  assert_string_equal(o.inputs[3].path, "-y.csv");
  assert_string_equal(o.inputs[3].collection, "n");
  cli_options_cleanup(&o);

  /* "--" first. */
  assert_int_equal(PARSE(&o, &e, "--", "-x"), CLI_RUN);
  assert_int_equal(o.n_inputs, 1);
  assert_string_equal(o.inputs[0].path, "-x");
  cli_options_cleanup(&o);

  /* "--" and nothing after it: no files. */
  EXPECT_USAGE("no input files", "--");
}

static void test_unknown_option(void **state)
{
  (void)state;
  EXPECT_USAGE("unknown option --bogus", "--bogus", "a.csv");
  EXPECT_USAGE("unknown option -x", "-x", "a.csv");
  EXPECT_USAGE("unknown option --bogus", "a.csv", "--bogus");
  /* A prefix that matches two long options is ambiguous. */
  EXPECT_USAGE("--d", "--d", "a.csv");
}

/* Was a bug (src/cli.c, cli_parse, the "unknown option" case): an unknown short
 * option that is not the last letter of its argument ("-xq") is reported
 * with the wrong argument: argv[optind - 1] is used, but getopt has not
 * advanced optind past "-xq" yet, so `loader -xq a.csv` says "unknown
 * option loader (see --help)" (argv[0]). Expected the option itself
 * ("unknown option -x", from optopt). */
static void test_unknown_option_in_cluster(void **state)
{
  (void)state;
  EXPECT_USAGE("unknown option -x", "-xq", "a.csv");
}

/* Was a bug (src/cli.c, cli_parse: "optind = 1"): glibc's getopt only
 * reinitialises when optind is 0. With optind = 1 it keeps (a) its pointer
 * into the previous argv when the last parse stopped inside a cluster of
 * short options ("-xq" stopped at 'x'), so the next cli_parse() resumes at
 * the stale "q" -- here it sets quiet on a command line without -q, and
 * reads freed memory when that argv is gone -- and (b) the ordering
 * ('+' = stop at the first file) decided by whoever called getopt first.
 * Expected: every cli_parse() starts fresh (set optind = 0). */
static void test_reparse_after_freed_argv(void **state)
{
  (void)state;
  char a0[] = "loader", a1[] = "-xq", a2[] = "a.csv";
  char *first[] = {a0, a1, a2, NULL};
  options_t o;
  bson_error_t e;
  assert_int_equal(cli_parse(3, first, &o, &e), CLI_USAGE);
  cli_options_cleanup(&o);
  char b0[] = "loader", b1[] = "b.csv";
  char *second[] = {b0, b1, NULL};
  cli_status_t st = cli_parse(2, second, &o, &e);
  if (st != CLI_RUN)
    fail_msg("second parse: status %d, \"%s\"", (int)st, e.message);
  assert_false(o.quiet);
  assert_int_equal(o.n_inputs, 1);
  assert_string_equal(o.inputs[0].path, "b.csv");
  cli_options_cleanup(&o);
}

static void test_missing_argument(void **state)
{
  (void)state;
  EXPECT_USAGE("--uri: needs an argument", "a.csv", "--uri");
  EXPECT_USAGE("-j: needs an argument", "a.csv", "-j");
  EXPECT_USAGE("--batch-size: needs an argument", "a.csv", "--batch-size");
  EXPECT_USAGE("--report-json: needs an argument", "a.csv", "--report-json");
}

static void test_bad_numbers(void **state)
{
  (void)state;
  static const char *const bad[] = {
      "0", "-1", "abc", "12x", "", "1025", "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    options_t o;
    bson_error_t e;
    assert_int_equal(PARSE(&o, &e, "-j", bad[i], "a.csv"), CLI_USAGE);
    assert_int_equal(e.domain, LOADER_ERROR_USAGE);
    assert_non_null(strstr(e.message, "--workers"));
    assert_non_null(strstr(e.message, bad[i]));
    cli_options_cleanup(&o);
  }
  EXPECT_USAGE("--batch-size", "--batch-size", "0", "a.csv");
  EXPECT_USAGE("--batch-size", "--batch-size", "-5", "a.csv");
  EXPECT_USAGE("--batch-size", "--batch-size", "100001", "a.csv");
  EXPECT_USAGE("--batch-size", "--batch-size", "ten", "a.csv");
  EXPECT_USAGE("--batch-bytes", "--batch-bytes", "48000001", "a.csv");
  EXPECT_USAGE("--batch-bytes", "--batch-bytes", "0", "a.csv");
  EXPECT_USAGE("--batch-bytes", "--batch-bytes", "1.5", "a.csv");
}

static void test_no_files(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "--linear"), CLI_USAGE);
  assert_non_null(strstr(e.message, "no input files"));
  cli_options_cleanup(&o);

  const char *only[] = {"loader"};
  assert_int_equal(parse_args(1, only, &o, &e), CLI_USAGE);
  assert_non_null(strstr(e.message, "no input files"));
  cli_options_cleanup(&o);
}

/* A resumable MongoDB insert needs ids that are the same in every run; SQL
 * targets and upserts do not. */
static void test_checkpoint_needs_stable_ids(void **state)
{
  (void)state;
  EXPECT_USAGE("not --id-from objectid", "--checkpoint", "c.json", "--id-from",
               "objectid", "a.csv");
  EXPECT_USAGE("not --id-from none", "--checkpoint", "c.json", "--id-from",
               "none", "a.csv");
  const char *fine[][6] = {
      {"--checkpoint", "c.json", "a.csv", NULL},
      {"--checkpoint", "c.json", "--id-from", "line", "a.csv", NULL},
      {"--checkpoint", "c.json", "--id-from", "k", "a.csv", NULL},
      {"--checkpoint", "c.json", "--id-from", "objectid", "--uri=sqlite:x.db",
       "a.csv"},
  };
  for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
    const char *args[7] = {"loader"};
    int n = 1;
    for (int k = 0; k < 6 && fine[i][k]; k++)
      args[n++] = fine[i][k];
    options_t o;
    bson_error_t e;
    assert_int_equal(parse_args(n, args, &o, &e), CLI_RUN);
    if (i == 0)
      assert_int_equal(o.doc.id_from, DOCB_ID_LINE);
    cli_options_cleanup(&o);
  }
}

static void test_bad_collection_names(void **state)
{
  (void)state;
  EXPECT_USAGE("cannot name a collection", "=x.csv");
  EXPECT_USAGE("cannot name a collection", "a$b=x.csv");
  EXPECT_USAGE("cannot name a collection", "name=");
  EXPECT_USAGE("cannot name a collection", "ok.csv", "dir/we$ird.csv");
}

static void test_help_and_version(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "--help"), CLI_EXIT);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "-h"), CLI_EXIT);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "a.csv", "--help", "--bogus"), CLI_EXIT);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--version"), CLI_EXIT);
  cli_options_cleanup(&o);
  fflush(stdout);
}

static void test_help_text(void **state)
{
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  cli_print_help(f, false);
  assert_int_equal(fclose(f), 0);
  /* The short help fits one screen: 40 lines of at most 80 columns. */
  size_t lines = 0, col = 0;
  for (const char *p = text; *p; p++) {
    if (*p == '\n') {
      lines++;
      col = 0;
    } else if (++col > 80) {
      fail_msg("--help has a line over 80 columns");
    }
  }
  assert_true(lines <= 40);
  static const char *const common[] = {
      "Usage: loader [OPTIONS] FILE...",
      "--uri URI",
      "--db NAME",
      "--drop",
      "--dry-run",
      "--compare",
      "-j, --workers N",
      "--report-json PATH",
      "-q, --quiet",
      "-h, --help",
      "--help-all",
      "130 interrupted",
  };
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
    if (!strstr(text, common[i]))
      fail_msg("--help lacks \"%s\"", common[i]);
  free(text);

  /* --help-all has every option. */
  f = open_memstream(&text, &len);
  assert_non_null(f);
  cli_print_help(f, true);
  assert_int_equal(fclose(f), 0);
  static const char *const all[] = {
      "--parallel",      "--linear",    "--batch-size N",
      "--batch-bytes N", "--no-infer",  "--ignore-blanks",
      "--version",       "--mode MODE", "--checkpoint PATH",
      "--max-rate ROWS", "--type TYPE", "--progress WHEN",
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (!strstr(text, all[i]))
      fail_msg("--help-all lacks \"%s\"", all[i]);
  free(text);
}

/* The option table is consistent: unique names and letters, an argument
 * name exactly for the kinds that take an argument, a field inside
 * options_t for every plain store, ranges that fit their fields, and what
 * each kind needs. (The field's type is checked when the table compiles.) */
static void test_option_table(void **state)
{
  (void)state;
  assert_true(cli__n_options > 0);
  assert_non_null(cli__options[0].group);
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    assert_non_null(o->name);
    assert_non_null(o->help);
    for (size_t k = 0; k < i; k++) {
      if (strcmp(o->name, cli__options[k].name) == 0)
        fail_msg("--%s is in the table twice", o->name);
      if (o->letter && o->letter == cli__options[k].letter)
        fail_msg("-%c is in the table twice", o->letter);
    }
    bool stores = o->kind != CLI_ARG_HANDLER && o->kind != CLI_ARG_PRINT;
    if (stores && o->field >= sizeof(options_t))
      fail_msg("--%s: field offset %zu outside options_t", o->name, o->field);
    switch (o->kind) {
    case CLI_ARG_BOOL:
    case CLI_ARG_ENUM:
      if (o->arg)
        fail_msg("--%s stores a constant but names an argument", o->name);
      break;
    case CLI_ARG_SIZE:
    case CLI_ARG_U64:
    case CLI_ARG_UNSIGNED:
      if (!o->arg || o->min > o->max)
        fail_msg("--%s: no argument name, or min > max", o->name);
      if (o->kind == CLI_ARG_SIZE && o->max > SIZE_MAX)
        fail_msg("--%s: max beyond size_t", o->name);
      if (o->kind == CLI_ARG_UNSIGNED && o->max > UINT_MAX)
        fail_msg("--%s: max beyond unsigned", o->name);
      break;
    case CLI_ARG_STRING:
    case CLI_ARG_BYTE:
      if (!o->arg)
        fail_msg("--%s takes a value but names no argument", o->name);
      break;
    case CLI_ARG_KEYWORD:
      if (!o->arg || !o->words || !o->words[0].word)
        fail_msg("--%s: no argument name or no words", o->name);
      break;
    case CLI_ARG_HANDLER:
      assert_non_null(o->handler);
      break;
    case CLI_ARG_PRINT:
      if (o->arg || !o->print)
        fail_msg("--%s prints: no argument, a printer", o->name);
      break;
    }
  }
}

/* Each kind of option lands in its field: keywords as their enum values,
 * numbers converted, the handlers' side effects. */
static void test_typed_options(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(
      PARSE(&o, &e, "--progress", "plain", "--type", "tsv", "--parse-grace",
            "as-string", "--mode", "merge", "--split", "4", "--part", "2/3",
            "--retries", "0", "--retry-max-wait", "7", "--max-rate", "250",
            "--skip-lines", "3", "--comment", "#", "--quote", "'",
            "--sample-rows", "9", "--max-errors", "0", "--trim",
            "--columns-have-types", "--infer", "--upsert-fields", "a,b",
            "--upsert-fields", "c", "--fields", "x,,y", "--types", "n:int32",
            "--id-from", "k1,k2", "--checkpoint", "cp.json", "--resume",
            "--rejects", "bad.csv", "--password-file", "pw", "a.csv"),
      CLI_RUN);
  assert_int_equal(o.progress, CLI_PROGRESS_PLAIN);
  assert_int_equal(o.input_type, CLI_INPUT_TSV);
  assert_int_equal(o.dialect.delimiter, '\t');
  assert_int_equal(o.doc.grace, DOCB_GRACE_AS_STRING);
  assert_int_equal(o.mode_write, SINK_MODE_MERGE);
  assert_int_equal(o.split, 4);
  assert_false(o.split_auto);
  assert_int_equal(o.part, 2);
  assert_int_equal(o.part_of, 3);
  assert_int_equal(o.retries, 0);
  assert_int_equal(o.retry_max_wait_ms, 7000);
  assert_int_equal(o.max_rate, 250);
  assert_int_equal(o.dialect.skip_lines, 3);
  assert_int_equal(o.dialect.comment, '#');
  assert_int_equal(o.dialect.quote, '\'');
  assert_int_equal(o.sample_rows, 9);
  assert_int_equal(o.max_errors, 0);
  assert_true(o.dialect.trim);
  assert_true(o.doc.columns_have_types);
  assert_true(o.infer);
  assert_int_equal(o.n_upsert_fields, 3);
  assert_string_equal(o.upsert_fields[2], "c");
  assert_int_equal(o.n_fields, 3);
  assert_string_equal(o.fields[1], "");
  assert_string_equal(o.types, "n:int32");
  assert_ptr_equal(o.doc.types, o.types);
  assert_int_equal(o.doc.id_from, DOCB_ID_FIELDS);
  assert_ptr_equal(o.doc.id_fields, o.id_fields);
  assert_string_equal(o.id_fields, "k1,k2");
  assert_true(o.doc.add_id); /* --id-from given: merge keeps it */
  assert_string_equal(o.checkpoint, "cp.json");
  assert_true(o.resume);
  assert_string_equal(o.rejects, "bad.csv");
  assert_string_equal(o.password_file, "pw");
  cli_options_cleanup(&o);

  /* The defaults of the keyword options, and the other words. */
  assert_int_equal(PARSE(&o, &e, "a.csv"), CLI_RUN);
  assert_int_equal(o.progress, CLI_PROGRESS_AUTO);
  assert_int_equal(o.input_type, CLI_INPUT_BY_NAME);
  assert_int_equal(o.doc.grace, DOCB_GRACE_SKIP_ROW);
  assert_int_equal(o.mode_write, SINK_MODE_INSERT);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--progress", "never", "--type", "json",
                         "--delimiter", "tab", "--type", "csv", "--split",
                         "auto", "--mode", "upsert", "a.csv"),
                   CLI_RUN);
  assert_int_equal(o.progress, CLI_PROGRESS_NEVER);
  assert_int_equal(o.input_type, CLI_INPUT_CSV);
  assert_int_equal(o.dialect.delimiter, '\t');
  assert_true(o.split_auto);
  assert_int_equal(o.mode_write, SINK_MODE_UPSERT);
  assert_false(o.doc.add_id); /* upserts without --id-from: no ObjectId */
  cli_options_cleanup(&o);

  /* A later --delimiter wins over --type tsv. */
  assert_int_equal(PARSE(&o, &e, "--type", "tsv", "--delimiter", ";", "a.csv"),
                   CLI_RUN);
  assert_int_equal(o.dialect.delimiter, ';');
  cli_options_cleanup(&o);
}

/* Issue 14's write options: --mode delete adds no ObjectId (it would
 * match nothing); --stop-on-error and --maintain-insertion-order are one
 * setting (mongoimport's --maintainInsertionOrder implies --stopOnError);
 * ordered writes refuse --split. */
static void test_write_options(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "--mode", "delete", "a.csv"), CLI_RUN);
  assert_int_equal(o.mode_write, SINK_MODE_DELETE);
  assert_false(o.doc.add_id);
  assert_false(o.stop_on_error);
  assert_false(o.bypass_validation);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--maintain-insertion-order",
                         "--bypass-document-validation", "a.csv"),
                   CLI_RUN);
  assert_true(o.stop_on_error);
  assert_true(o.bypass_validation);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--stop-on-error", "a.csv"), CLI_RUN);
  assert_true(o.stop_on_error);
  cli_options_cleanup(&o);
  EXPECT_USAGE("--stop-on-error writes each file in order, from one writer: "
               "not with --split",
               "--stop-on-error", "--split", "2", "a.csv");
  EXPECT_USAGE("not with --split", "--maintain-insertion-order", "--split",
               "auto", "a.csv");
}

/* A wrong word is refused with the words the option accepts. */
static void test_bad_keywords(void **state)
{
  (void)state;
  EXPECT_USAGE("--progress: expected auto, always, never or plain, got "
               "\"sometimes\"",
               "--progress", "sometimes", "a.csv");
  EXPECT_USAGE("--type: expected csv, tsv or json, got \"xml\"", "--type",
               "xml", "a.csv");
  EXPECT_USAGE("--mode: expected insert, upsert, merge or delete, got \"x\"",
               "--mode", "x", "a.csv");
  EXPECT_USAGE("--parse-grace: expected stop, skip-row, skip-field or "
               "as-string, got \"\"",
               "--parse-grace", "", "a.csv");
  EXPECT_USAGE("--upsert-fields: empty field name in \"a,\"", "--upsert-fields",
               "a,", "a.csv");
  EXPECT_USAGE("--part: expected I/N", "--part", "3/2", "a.csv");
  EXPECT_USAGE("--retries: expected a whole number from 0 to 100", "--retries",
               "101", "a.csv");
}

/* --max-errors takes rows or a percentage; 0% is no error at all. */
static void test_max_errors_forms(void **state)
{
  (void)state;
  options_t o;
  bson_error_t e;
  assert_int_equal(PARSE(&o, &e, "--max-errors", "12.5%", "a.csv"), CLI_RUN);
  assert_true(o.max_errors_ratio > 0.1249 && o.max_errors_ratio < 0.1251);
  assert_int_equal(o.max_errors, UINT64_MAX);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--max-errors", "100%", "a.csv"), CLI_RUN);
  assert_true(o.max_errors_ratio == 1.0);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--max-errors", "0%", "a.csv"), CLI_RUN);
  assert_int_equal(o.max_errors, 0);
  assert_true(o.max_errors_ratio == 0);
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "--max-errors", "7", "a.csv"), CLI_RUN);
  assert_int_equal(o.max_errors, 7);
  assert_true(o.max_errors_ratio == 0);
  cli_options_cleanup(&o);
  EXPECT_USAGE("--max-errors: expected N rows or a percentage from 0% to "
               "100%, got \"101%\"",
               "--max-errors", "101%", "a.csv");
  EXPECT_USAGE("got \"-1%\"", "--max-errors", "-1%", "a.csv");
  EXPECT_USAGE("got \"%\"", "--max-errors", "%", "a.csv");
  EXPECT_USAGE("got \"1e1%\"", "--max-errors", "1e1%", "a.csv");
  EXPECT_USAGE("--max-errors: expected a whole number", "--max-errors", "5.5",
               "a.csv");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_defaults, unset_uri),
      cmocka_unit_test_setup(test_uri_from_env, unset_uri),
      cmocka_unit_test_setup(test_every_option, unset_uri),
      cmocka_unit_test_setup(test_option_forms, unset_uri),
      cmocka_unit_test_setup(test_inputs, unset_uri),
      cmocka_unit_test_setup(test_options_after_files, unset_uri),
      cmocka_unit_test_setup(test_double_dash, unset_uri),
      cmocka_unit_test_setup(test_unknown_option, unset_uri),
      cmocka_unit_test_setup(test_missing_argument, unset_uri),
      cmocka_unit_test_setup(test_bad_numbers, unset_uri),
      cmocka_unit_test_setup(test_no_files, unset_uri),
      cmocka_unit_test_setup(test_bad_collection_names, unset_uri),
      cmocka_unit_test_setup(test_checkpoint_needs_stable_ids, unset_uri),
      cmocka_unit_test_setup(test_help_and_version, unset_uri),
      cmocka_unit_test(test_help_text),
      cmocka_unit_test(test_unknown_option_in_cluster),
      cmocka_unit_test_setup(test_reparse_after_freed_argv, unset_uri),
      cmocka_unit_test(test_option_table),
      cmocka_unit_test_setup(test_typed_options, unset_uri),
      cmocka_unit_test_setup(test_bad_keywords, unset_uri),
      cmocka_unit_test_setup(test_write_options, unset_uri),
      cmocka_unit_test_setup(test_max_errors_forms, unset_uri),
  };
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
