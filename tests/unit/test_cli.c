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

/* Returns the entry named name that is not an alias, or NULL. */
static const cli_option_t *option_named(const char *name)
{
  for (size_t i = 0; i < cli__n_options; i++)
    if (cli__options[i].name && !cli__options[i].alias_of &&
        strcmp(cli__options[i].name, name) == 0)
      return &cli__options[i];
  return NULL;
}

/* The option table is consistent: unique names and letters, an argument
 * name exactly for the kinds that take an argument, a field inside
 * options_t for every plain store, ranges that fit their fields, and what
 * each kind needs; every alias names a real option. (The field's type is
 * checked when the table compiles.) */
static void test_option_table(void **state)
{
  (void)state;
  assert_true(cli__n_options > 0);
  assert_non_null(cli__options[0].group);
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    if (!o->name && !o->letter)
      fail_msg("entry %zu has neither a name nor a letter", i);
    assert_non_null(o->help);
    for (size_t k = 0; k < i; k++) {
      if (o->name && cli__options[k].name &&
          strcmp(o->name, cli__options[k].name) == 0)
        fail_msg("--%s is in the table twice", o->name);
      if (o->letter && o->letter == cli__options[k].letter)
        fail_msg("-%c is in the table twice", o->letter);
    }
    if (o->alias_of) {
      /* An alias names an option that is not one, takes an argument
       * exactly when it does (unless it gives a fixed one), and is hidden
       * from the help. */
      const cli_option_t *t = option_named(o->alias_of);
      if (!t)
        fail_msg("alias of --%s: no such option", o->alias_of);
      if (o->alias_arg ? (o->arg || !t->arg) : (!o->arg != !t->arg))
        fail_msg("alias of --%s: argument unlike the option's", o->alias_of);
      assert_int_equal(o->show, CLI_SHOW_NEVER);
      continue;
    }
    assert_non_null(o->name);
    bool stores = o->kind != CLI_ARG_HANDLER && o->kind != CLI_ARG_PRINT;
    bool in_state =
        o->kind == CLI_ARG_STATE_STRING || o->kind == CLI_ARG_STATE_BOOL;
    if (stores &&
        o->field >= (in_state ? sizeof(cli_state_t) : sizeof(options_t)))
      fail_msg("--%s: field offset %zu outside its struct", o->name, o->field);
    switch (o->kind) {
    case CLI_ARG_BOOL:
    case CLI_ARG_ENUM:
    case CLI_ARG_STATE_BOOL:
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
    case CLI_ARG_STATE_STRING:
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

/* mongoimport's command lines (README: "Switching from mongoimport"). */

/* Fails unless a and b hold the same text (both NULL counts). */
static void same_text(const char *what, const char *a, const char *b)
{
  if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
    fail_msg("%s: \"%s\" against \"%s\"", what, a ? a : "(null)",
             b ? b : "(null)");
}

static void same_list(const char *what, char **a, size_t na, char **b,
                      size_t nb)
{
  if (na != nb)
    fail_msg("%s: %zu names against %zu", what, na, nb);
  for (size_t i = 0; i < na; i++)
    same_text(what, a[i], b[i]);
}

/* The sizes of what same_options() compares; a field added to options_t
 * (or the structs it holds) makes one grow, and test_mongoimport_spellings
 * fails until same_options() compares the new field too. */
#define OPTIONS_T_SIZE 360
#define DOC_OPTIONS_T_SIZE 56
#define CSV_DIALECT_T_SIZE 16

#define SAME(field)                                                            \
  do {                                                                         \
    if (memcmp(&a->field, &b->field, sizeof a->field) != 0)                    \
      fail_msg("%s: options differ in " #field, what);                         \
  } while (0)
#define SAME_TEXT(field) same_text(what, a->field, b->field)

/* Compares two parsed options_t field by field: every field, pointers by
 * what they point to. */
static void same_options(const char *what, const options_t *a,
                         const options_t *b)
{
  if (sizeof(options_t) != OPTIONS_T_SIZE ||
      sizeof(doc_options_t) != DOC_OPTIONS_T_SIZE ||
      sizeof(csv_dialect_t) != CSV_DIALECT_T_SIZE)
    fail_msg("options_t, doc_options_t or csv_dialect_t changed size (%zu, "
             "%zu, %zu): compare their new fields in same_options()",
             sizeof(options_t), sizeof(doc_options_t), sizeof(csv_dialect_t));
  SAME_TEXT(uri);
  SAME_TEXT(db);
  SAME(mode);
  SAME(workers);
  SAME(batch_size);
  SAME(batch_bytes);
  SAME(inflight);
  SAME_TEXT(write_concern);
  SAME(drop);
  SAME(dry_run);
  SAME(quiet);
  SAME_TEXT(report_json);
  SAME(dialect.delimiter);
  SAME(dialect.quote);
  SAME(dialect.trim);
  SAME(dialect.comment);
  SAME(dialect.skip_lines);
  SAME(doc.infer);
  SAME(doc.ignore_blanks);
  SAME(doc.add_id);
  SAME(doc.id_from);
  SAME_TEXT(doc.id_fields);
  SAME(doc.columns_have_types);
  SAME_TEXT(doc.types);
  SAME(doc.grace);
  SAME_TEXT(doc.null_values);
  SAME(doc.infer_as);
  SAME(doc.array_index_fields);
  SAME_TEXT(types);
  SAME_TEXT(null_values);
  SAME_TEXT(rejects);
  SAME(max_errors);
  SAME(max_errors_ratio);
  same_list(what, a->fields, a->n_fields, b->fields, b->n_fields);
  SAME(retries);
  SAME(retry_max_wait_ms);
  SAME(mode_write);
  SAME(stop_on_error);
  SAME(bypass_validation);
  same_list(what, a->upsert_fields, a->n_upsert_fields, b->upsert_fields,
            b->n_upsert_fields);
  SAME_TEXT(id_fields);
  SAME_TEXT(password_file);
  SAME_TEXT(checkpoint);
  SAME(resume);
  SAME(split);
  SAME(split_auto);
  SAME(part);
  SAME(part_of);
  SAME(max_rate);
  SAME(progress);
  SAME(infer);
  SAME(input_type);
  SAME(sample_rows);
  same_list(what, a->indexes, a->n_indexes, b->indexes, b->n_indexes);
  SAME(verify);
  SAME(verify_only);
  if (a->n_inputs != b->n_inputs)
    fail_msg("%s: %zu inputs against %zu", what, a->n_inputs, b->n_inputs);
  for (size_t i = 0; i < a->n_inputs; i++) {
    same_text(what, a->inputs[i].collection, b->inputs[i].collection);
    same_text(what, a->inputs[i].path, b->inputs[i].path);
  }
}

#undef SAME
#undef SAME_TEXT

#define MAX_ARGS 24

/* One mongoimport command line and the loader's own spelling of it. */
typedef struct spelling {
  const char *mongoimport[MAX_ARGS]; /* NULL-terminated */
  const char *loader[MAX_ARGS];      /* NULL-terminated */
} spelling_t;

/* Parses args (NULL-terminated, without the program name), which must be
 * a good command line. */
static void parse_good(const char *const *args, options_t *o)
{
  const char *argv[MAX_ARGS + 1] = {"loader"};
  int argc = 1;
  while (args[argc - 1])
    argv[argc] = args[argc - 1], argc++;
  bson_error_t e;
  if (parse_args(argc, argv, o, &e) != CLI_RUN)
    fail_msg("%s ...: %s", args[0], e.message);
}

/* Where --field-file and --password-file read. */
#define NAMES_FILE "test_cli_names.txt"

/* Every mongoimport spelling parses to exactly the options_t of the
 * loader's own, compared whole. */
static void test_mongoimport_spellings(void **state)
{
  (void)state;
  FILE *f = fopen(NAMES_FILE, "w");
  assert_non_null(f);
  fputs("a\nb\n", f);
  fclose(f);
  static const spelling_t spellings[] = {
      /* namespace and input */
      {{"-d", "shop", "x.csv"}, {"--db", "shop", "x.csv"}},
      {{"--db=shop", "x.csv"}, {"--db", "shop", "x.csv"}},
      {{"-c", "people", "--file", "in/x.csv"}, {"people=in/x.csv"}},
      {{"--collection=people", "in/x.csv"}, {"people=in/x.csv"}},
      {{"-c", "p", "a=b.csv"}, {"p=a=b.csv"}},
      {{"--file", "in/x.csv"}, {"in/x.csv"}},
      {{"--file=in/x.tsv", "--type", "tsv"}, {"--type", "tsv", "in/x.tsv"}},
      {{"-c", "people"}, {"people=-"}},
      {{"-c", "people", "-"}, {"people=-"}},
      {{"--headerline", "x.csv"}, {"--header-line", "x.csv"}},
      {{"-f", "a,b", "x.csv"}, {"--fields", "a,b", "x.csv"}},
      {{"--fields=a,b", "x.csv"}, {"--fields", "a,b", "x.csv"}},
      {{"--fieldFile", NAMES_FILE, "x.csv"},
       {"--field-file", NAMES_FILE, "x.csv"}},
      {{"--columnsHaveTypes", "x.csv"}, {"--columns-have-types", "x.csv"}},
      {{"--parseGrace", "autoCast", "x.csv"},
       {"--parse-grace", "as-string", "x.csv"}},
      {{"--parseGrace", "skipField", "x.csv"},
       {"--parse-grace", "skip-field", "x.csv"}},
      {{"--parseGrace", "skipRow", "x.csv"},
       {"--parse-grace", "skip-row", "x.csv"}},
      {{"--parseGrace=stop", "x.csv"}, {"--parse-grace", "stop", "x.csv"}},
      {{"--jsonArray", "x.txt"}, {"--type", "json", "x.txt"}},
      /* ingest */
      {{"--mode", "merge", "--upsertFields", "a,b", "x.csv"},
       {"--mode", "merge", "--upsert-fields", "a,b", "x.csv"}},
      {{"--upsertFields", "email", "x.csv"},
       {"--mode", "upsert", "--upsert-fields", "email", "x.csv"}},
      {{"--ignoreBlanks", "x.csv"}, {"--ignore-blanks", "x.csv"}},
      {{"--stopOnError", "x.csv"}, {"--stop-on-error", "x.csv"}},
      {{"--maintainInsertionOrder", "x.csv"},
       {"--maintain-insertion-order", "x.csv"}},
      {{"--bypassDocumentValidation", "x.csv"},
       {"--bypass-document-validation", "x.csv"}},
      {{"--useArrayIndexFields", "x.csv"}, {"--array-index-fields", "x.csv"}},
      {{"--mode", "delete", "--upsertFields", "a", "x.csv"},
       {"--mode", "delete", "--upsert-fields", "a", "x.csv"}},
      {{"--numInsertionWorkers", "3", "x.csv"}, {"--workers", "3", "x.csv"}},
      {{"-j3", "x.csv"}, {"--workers", "3", "x.csv"}},
      {{"--batchSize", "500", "x.csv"}, {"--batch-size", "500", "x.csv"}},
      {{"--writeConcern", "{w: 2, j: true}", "x.csv"},
       {"--write-concern", "{w: 2, j: true}", "x.csv"}},
      {{"--writeConcern=majority", "x.csv"},
       {"--write-concern", "majority", "x.csv"}},
      /* an abbreviation both spellings share is not ambiguous */
      {{"--head", "x.csv"}, {"--header-line", "x.csv"}},
      {{"--ignore", "--upsert", "a", "x.csv"},
       {"--ignore-blanks", "--upsert-fields", "a", "x.csv"}},
      /* output */
      {{"--quiet", "-v", "x.csv"}, {"--quiet", "x.csv"}},
      {{"-vvv", "--verbose", "--verbose=2", "-vv=3", "x.csv"}, {"x.csv"}},
      /* connection: the URI mongoimport would build */
      {{"--host", "db1", "x.csv"}, {"--uri", "mongodb://db1/", "x.csv"}},
      {{"--host", "db1:27018", "x.csv"},
       {"--uri", "mongodb://db1:27018/", "x.csv"}},
      {{"--host", "db1", "--port", "27018", "x.csv"},
       {"--uri", "mongodb://db1:27018/", "x.csv"}},
      {{"--port", "27018", "x.csv"},
       {"--uri", "mongodb://localhost:27018/", "x.csv"}},
      {{"--host", "rs0/h1,h2:27018", "--port", "27019", "x.csv"},
       {"--uri", "mongodb://h1:27019,h2:27018/?replicaSet=rs0", "x.csv"}},
      {{"--host", "rs0/", "x.csv"},
       {"--uri", "mongodb://localhost/?replicaSet=rs0", "x.csv"}},
      {{"--host", "[::1]", "--port", "27018", "x.csv"},
       {"--uri", "mongodb://[::1]:27018/", "x.csv"}},
      {{"-u", "al ice@corp", "-p", "p@ss:w/rd%?#&=+ \xc3\xa9",
        "--authenticationDatabase", "admin", "x.csv"},
       {"--uri",
        "mongodb://al%20ice%40corp:p%40ss%3Aw%2Frd%25%3F%23%26%3D%2B%20%C3%A9"
        "@localhost/?authSource=admin",
        "x.csv"}},
      {{"-u", "bob", "-p", "pw", "-d", "shop", "x.csv"},
       {"--uri", "mongodb://bob:pw@localhost/?authSource=shop", "--db", "shop",
        "x.csv"}},
      {{"--username=bob", "--password-file", NAMES_FILE, "x.csv"},
       {"--uri", "mongodb://bob@localhost/", "--password-file", NAMES_FILE,
        "x.csv"}},
      {{"--ssl", "--tlsCAFile", "/etc/my ca.pem", "x.csv"},
       {"--uri", "mongodb://localhost/?tls=true&tlsCAFile=%2Fetc%2Fmy%20ca.pem",
        "x.csv"}},
      {{"--tls", "--sslCAFile=ca.pem", "--host", "h", "x.csv"},
       {"--uri", "mongodb://h/?tls=true&tlsCAFile=ca.pem", "x.csv"}},
      {{"--ssl", "--sslPEMKeyFile", "k.pem", "--sslPEMKeyPassword", "k&y",
        "--tlsInsecure", "x.csv"},
       {"--uri",
        "mongodb://localhost/?tls=true&tlsCertificateKeyFile=k.pem&"
        "tlsCertificateKeyFilePassword=k%26y&tlsInsecure=true",
        "x.csv"}},
      {{"--tls", "--tlsAllowInvalidCertificates", "--sslAllowInvalidHostnames",
        "x.csv"},
       {"--uri",
        "mongodb://localhost/?tls=true&tlsAllowInvalidCertificates=true&"
        "tlsAllowInvalidHostnames=true",
        "x.csv"}},
      {{"-u", "CN=x", "--authenticationMechanism", "MONGODB-X509", "--ssl",
        "x.csv"},
       {"--uri",
        "mongodb://CN%3Dx@localhost/?authMechanism=MONGODB-X509&tls=true",
        "x.csv"}},
      {{"mongodb://h:1/db", "x.csv"}, {"--uri", "mongodb://h:1/db", "x.csv"}},
      /* beside --uri: what the URI lacks is added, what agrees changes
       * nothing */
      {{"--uri", "mongodb://h/shop", "-u", "al ice", "-p", "p@ss", "x.csv"},
       {"--uri", "mongodb://al%20ice:p%40ss@h/shop", "x.csv"}},
      {{"--uri", "mongodb://bob@h/", "-p", "pw", "--authenticationDatabase",
        "admin", "x.csv"},
       {"--uri", "mongodb://bob:pw@h/?authSource=admin", "x.csv"}},
      {{"--uri", "mongodb://bob:pw@h/?authSource=admin&tls=true", "-u", "bob",
        "-p", "pw", "--authenticationDatabase", "admin", "--ssl", "x.csv"},
       {"--uri", "mongodb://bob:pw@h/?authSource=admin&tls=true", "x.csv"}},
      {{"--uri", "mongodb://h", "--ssl", "--tlsCAFile", "/ca.pem", "x.csv"},
       {"--uri", "mongodb://h/?tls=true&tlsCAFile=%2Fca.pem", "x.csv"}},
      {{"--uri", "mongodb://h/?w=2", "--tls", "x.csv"},
       {"--uri", "mongodb://h/?w=2&tls=true", "x.csv"}},
      {{"mongodb+srv://c.example.net/shop", "-u", "bob", "-p", "pw", "--ssl",
        "x.csv"},
       {"--uri", "mongodb+srv://bob:pw@c.example.net/shop", "x.csv"}},
      {{"--uri", "mongodb://h/", "-u", "bob", "-p", "pw", "-d", "shop",
        "x.csv"},
       {"--uri", "mongodb://bob:pw@h/?authSource=shop", "--db", "shop",
        "x.csv"}},
      {{"--uri", "mongodb://h/app", "-u", "bob", "-p", "pw", "-d", "shop",
        "x.csv"},
       {"--uri", "mongodb://bob:pw@h/app", "--db", "shop", "x.csv"}},
      {{"x.csv", "mongodb+srv://c.example/"},
       {"--uri", "mongodb+srv://c.example/", "x.csv"}},
  };
  for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
    options_t mi, own;
    parse_good(spellings[i].mongoimport, &mi);
    parse_good(spellings[i].loader, &own);
    char what[64];
    snprintf(what, sizeof what, "spelling %zu (%s ...)", i,
             spellings[i].mongoimport[0]);
    same_options(what, &mi, &own);
    cli_options_cleanup(&mi);
    cli_options_cleanup(&own);
  }

  /* And a whole command line as a script would have it. */
  static const spelling_t script = {
      {"--host", "db1", "--port", "27018", "-d", "shop", "-c", "people",
       "--type", "csv", "--headerline", "--drop", "--ignoreBlanks", "-j", "4",
       "--file", "people.csv"},
      {"--uri", "mongodb://db1:27018/", "--db", "shop", "--type", "csv",
       "--header-line", "--drop", "--ignore-blanks", "-j", "4",
       "people=people.csv"}};
  options_t mi, own;
  parse_good(script.mongoimport, &mi);
  parse_good(script.loader, &own);
  same_options("a script", &mi, &own);
  cli_options_cleanup(&mi);
  cli_options_cleanup(&own);
  remove(NAMES_FILE);
}

/* What mongoimport's options cannot mean here is a usage error (exit 2),
 * and no message holds the password. */
static void test_mongoimport_refusals(void **state)
{
  (void)state;
  EXPECT_USAGE("the URI names the hosts", "--uri", "mongodb://a/", "--host",
               "b", "x.csv");
  EXPECT_USAGE("--port cannot be combined with a URI", "mongodb://a/", "--port",
               "27018", "x.csv");
  EXPECT_USAGE("--username: the URI says otherwise", "--uri",
               "mongodb://bob@a/", "-u", "alice", "-p", "x", "x.csv");
  EXPECT_USAGE("--password: the URI says otherwise", "--uri",
               "mongodb://bob:one@a/", "-p", "Sekr1t", "x.csv");
  EXPECT_USAGE("tls: the URI says otherwise", "--uri", "mongodb://a/?tls=false",
               "--ssl", "x.csv");
  EXPECT_USAGE("authSource: the URI says otherwise", "--uri",
               "mongodb://b:c@a/?authSource=x", "--authenticationDatabase",
               "admin", "x.csv");
  EXPECT_USAGE("needs a MongoDB URI", "--uri", "sqlite:x.db", "-u", "b", "-p",
               "c", "x.csv");
  EXPECT_USAGE("the loader does not prompt", "--uri", "mongodb://a/", "-u",
               "bob", "x.csv");
  EXPECT_USAGE("--password needs --username", "--uri", "mongodb://a/", "-p",
               "x", "x.csv");
  EXPECT_USAGE("URI given twice", "--uri", "mongodb://a/", "mongodb://b/",
               "x.csv");
  EXPECT_USAGE("--password needs --username", "-p", "Sekr1t", "x.csv");
  EXPECT_USAGE("the loader does not prompt", "-u", "bob", "x.csv");
  EXPECT_USAGE("the loader does not prompt", "-u", "bob",
               "--password=", "x.csv");
  EXPECT_USAGE("exclude each other", "-u", "bob", "-p", "Sekr1t",
               "--password-file", "pw", "x.csv");
  EXPECT_USAGE("needs --ssl", "--tlsCAFile", "ca.pem", "x.csv");
  EXPECT_USAGE("--port: expected", "--port", "0", "x.csv");
  EXPECT_USAGE("--port: expected", "--port", "http", "x.csv");
  EXPECT_USAGE("exclude each other", "--file", "a.csv", "b.csv");
  EXPECT_USAGE("cannot be used with --mode insert", "--upsertFields", "a",
               "--mode", "insert", "x.csv");
  EXPECT_USAGE("expected stop, skipRow, skipField or autoCast", "--parseGrace",
               "skip-row", "x.csv");
  EXPECT_USAGE("--verbose: expected", "--verbose=loud", "x.csv");
  EXPECT_USAGE("--host HOST", "-h", "db1", "x.csv");
  EXPECT_USAGE("standard input needs a collection", "--file", "-");
  EXPECT_USAGE("no input files", "-d", "shop");
  EXPECT_USAGE("cannot name a collection", "-c", "a$b", "x.csv");

  /* The password is in no message; a URI taken as the target is shown
   * redacted. */
  options_t o;
  bson_error_t e;
  assert_int_equal(
      PARSE(&o, &e, "--uri", "mongodb://bob:one@a/", "-p", "Sekr1t", "x.csv"),
      CLI_USAGE);
  assert_null(strstr(e.message, "Sekr1t"));
  cli_options_cleanup(&o);
  assert_int_equal(PARSE(&o, &e, "mongodb://bob:Sekr1t@h/db"), CLI_USAGE);
  assert_null(strstr(e.message, "Sekr1t"));
  assert_non_null(strstr(e.message, "no input files (mongodb://bob:***@h/db"));
  cli_options_cleanup(&o);
}

/* Aliases and mongoimport's options are in no help, man page or README
 * table. */
static void test_mongoimport_hidden(void **state)
{
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  cli_print_help(f, true);
  cli__print_markdown(f);
  cli__print_man(f);
  assert_int_equal(fclose(f), 0);
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    if (!o->name ||
        !(o->alias_of || strncmp(o->help, "mongoimport: ", 13) == 0))
      continue;
    for (const char *p = text; (p = strstr(p, o->name)) != NULL; p++)
      if (p >= text + 2 && p[-1] == '-' && p[-2] == '-' &&
          !(p[strlen(o->name)] >= 'a' && p[strlen(o->name)] <= 'z') &&
          p[strlen(o->name)] != '-')
        fail_msg("--%s is in the help", o->name);
  }
  free(text);
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
      cmocka_unit_test_setup(test_mongoimport_spellings, unset_uri),
      cmocka_unit_test_setup(test_mongoimport_refusals, unset_uri),
      cmocka_unit_test(test_mongoimport_hidden),
  };
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
