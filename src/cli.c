/* cli: the command line, parsed into options_t.
 *
 * cli__options[] is the one table of options: getopt_long()'s table and the
 * --help text are both made from it. */
#include "loader/cli.h"
#include "loader/error.h"
#include "loader/sink.h"
#include "loader/util.h"

#include <errno.h>
#include <getopt.h>
#include <mongoc/mongoc.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CLI_DEFAULT_URI "mongodb://localhost:27017"
#define CLI_DEFAULT_BATCH 1000
#define CLI_DEFAULT_BATCH_BYTES (8u * 1024u * 1024u)

/* Option identifiers for long options without a short letter. */
enum {
  OPT_URI = 256,
  OPT_DB,
  OPT_LINEAR,
  OPT_PARALLEL,
  OPT_COMPARE,
  OPT_BATCH_SIZE,
  OPT_BATCH_BYTES,
  OPT_DROP,
  OPT_DRY_RUN,
  OPT_REPORT_JSON,
  OPT_VERSION,
  OPT_NO_INFER,
  OPT_IGNORE_BLANKS,
};

/* One command-line option. */
typedef struct cli_option {
  const char *name;  /* long name, without "--" */
  int letter;        /* short letter, or an OPT_* id */
  const char *arg;   /* argument name for --help, or NULL for a flag */
  const char *group; /* heading it is listed under in --help, or NULL to
                        stay under the previous one */
  const char *help;  /* one line of help */
} cli_option_t;

static const cli_option_t cli__options[] = {
    {"uri", OPT_URI, "URI", "Target",
     "target server (default $MONGODB_URI, else " CLI_DEFAULT_URI ")"},
    {"db", OPT_DB, "NAME", NULL,
     "database (default: the URI's, else \"loader\")"},
    {"drop", OPT_DROP, NULL, NULL,
     "drop each collection before loading (before each run)"},
    {"dry-run", OPT_DRY_RUN, NULL, NULL,
     "parse and build documents, write nothing (no server needed)"},
    {"parallel", OPT_PARALLEL, NULL, "Runs",
     "run the jobs on a pool of workers (default)"},
    {"linear", OPT_LINEAR, NULL, NULL, "run the jobs one after another"},
    {"compare", OPT_COMPARE, NULL, NULL,
     "run linearly, then in parallel, and compare"},
    {"workers", 'j', "N", NULL,
     "worker threads (default: CPUs, at most the number of jobs)"},
    {"batch-size", OPT_BATCH_SIZE, "N", NULL,
     "documents per insert batch (default 1000)"},
    {"batch-bytes", OPT_BATCH_BYTES, "N", NULL,
     "bytes per insert batch (default 8388608)"},
    {"no-infer", OPT_NO_INFER, NULL, "Values",
     "keep every value a string, exactly as in the file"},
    {"ignore-blanks", OPT_IGNORE_BLANKS, NULL, NULL,
     "omit empty fields instead of storing \"\""},
    {"report-json", OPT_REPORT_JSON, "PATH", "Output",
     "write the report as JSON to PATH"},
    {"quiet", 'q', NULL, NULL, "print no report (errors still go to stderr)"},
    {"help", 'h', NULL, NULL, "show this help and exit"},
    {"version", OPT_VERSION, NULL, NULL, "show the version and exit"},
};

#define CLI_N_OPTIONS (sizeof cli__options / sizeof cli__options[0])

void cli_print_help(FILE *out)
{
  fprintf(out, "Usage: loader [OPTIONS] FILE...\n"
               "Load CSV files into MongoDB, one job per file, in parallel.\n"
               "\n"
               "FILE is path.csv (collection: the file's base name) or "
               "name=path.csv.\n");
  for (size_t i = 0; i < CLI_N_OPTIONS; i++) {
    const cli_option_t *o = &cli__options[i];
    if (o->group)
      fprintf(out, "\n%s:\n", o->group);
    char left[64];
    if (o->letter < 256)
      snprintf(left, sizeof left, "-%c, --%s%s%s", o->letter, o->name,
               o->arg ? " " : "", o->arg ? o->arg : "");
    else
      snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
               o->arg ? o->arg : "");
    fprintf(out, "  %-24s %s\n", left, o->help);
  }
  fprintf(out,
          "\n"
          "Examples:\n"
          "  loader --parallel customers.csv products.csv\n"
          "  loader --uri mongodb://db.example:27017/shop --drop --compare "
          "*.csv\n"
          "  loader people=export-2024.csv --report-json report.json\n"
          "\n"
          "Exit codes:\n"
          "  0    every row loaded\n"
          "  1    finished, but some rows were rejected or some jobs failed\n"
          "  2    usage error (bad option, missing file); nothing written\n"
          "  3    cannot connect to or authenticate with the server\n"
          "  130  interrupted (SIGINT/SIGTERM)\n");
}

static void cli__print_version(void)
{
  printf("loader %s (libmongoc %s, libbson %s; targets: %s)\n", LOADER_VERSION,
         MONGOC_VERSION_S, BSON_VERSION_S, sink_schemes());
}

/* Parses a positive integer option value no larger than max. */
static bool cli__size(const char *name, const char *text, size_t max,
                      size_t *out, bson_error_t *error)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || v == 0 || v > max || text[0] == '-') {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--%s: expected a whole number from 1 to %zu, got \"%s\"",
                   name, max, text);
    return false;
  }
  *out = (size_t)v;
  return true;
}

static bool cli__replace(char **slot, const char *value, bson_error_t *error)
{
  char *copy = strdup(value);
  if (!copy) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  free(*slot);
  *slot = copy;
  return true;
}

/* Adds a FILE argument: "path" or "name=path". */
static bool cli__add_input(options_t *opts, const char *arg,
                           bson_error_t *error)
{
  input_t *inputs =
      realloc(opts->inputs, (opts->n_inputs + 1) * sizeof *inputs);
  if (!inputs) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  opts->inputs = inputs;
  input_t *in = &inputs[opts->n_inputs];
  const char *eq = strchr(arg, '=');
  const char *slash = strchr(arg, '/');
  if (eq && (!slash || eq < slash)) {
    in->collection = strndup(arg, (size_t)(eq - arg));
    in->path = strdup(eq + 1);
  } else {
    in->path = strdup(arg);
    in->collection = util_collection_from_path(arg);
  }
  if (!in->collection || !in->path) {
    free(in->collection);
    free(in->path);
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  opts->n_inputs++;
  if (!*in->collection || !*in->path || strchr(in->collection, '$') ||
      strlen(in->collection) > 200) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "%s: cannot name a collection \"%s\" (give "
                   "name=path with a name of 1-200 characters, no '$')",
                   arg, in->collection);
    return false;
  }
  return true;
}

cli_status_t cli_parse(int argc, char **argv, options_t *opts,
                       bson_error_t *error)
{
  memset(opts, 0, sizeof *opts);
  opts->mode = CLI_MODE_PARALLEL;
  opts->batch_size = CLI_DEFAULT_BATCH;
  opts->batch_bytes = CLI_DEFAULT_BATCH_BYTES;
  csvr_dialect_default(&opts->dialect);
  docb_options_default(&opts->doc);

  struct option longopts[CLI_N_OPTIONS + 1];
  char shortopts[2 * CLI_N_OPTIONS + 3];
  size_t ns = 0;
  shortopts[ns++] = '+'; /* stop at each file: taken in turn below */
  shortopts[ns++] = ':'; /* report a missing argument as ':' */
  for (size_t i = 0; i < CLI_N_OPTIONS; i++) {
    const cli_option_t *o = &cli__options[i];
    longopts[i] = (struct option){
        o->name, o->arg ? required_argument : no_argument, NULL, o->letter};
    if (o->letter < 256) {
      shortopts[ns++] = (char)o->letter;
      if (o->arg)
        shortopts[ns++] = ':';
    }
  }
  longopts[CLI_N_OPTIONS] = (struct option){0};
  shortopts[ns] = '\0';

  /* Options may follow files: parse, take the next non-option as a file,
   * resume; "--" ends options. */
  optind = 1;
  opterr = 0;
  for (;;) {
    int prev = optind;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == -1) {
      if (optind > prev && strcmp(argv[optind - 1], "--") == 0) {
        for (int i = optind; i < argc; i++)
          if (!cli__add_input(opts, argv[i], error))
            return CLI_USAGE;
        break;
      }
      if (optind >= argc)
        break;
      if (!cli__add_input(opts, argv[optind], error))
        return CLI_USAGE;
      optind++;
      continue;
    }
    switch (c) {
    case OPT_URI:
      if (!cli__replace(&opts->uri, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_DB:
      if (!cli__replace(&opts->db, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_LINEAR:
      opts->mode = CLI_MODE_LINEAR;
      break;
    case OPT_PARALLEL:
      opts->mode = CLI_MODE_PARALLEL;
      break;
    case OPT_COMPARE:
      opts->mode = CLI_MODE_COMPARE;
      break;
    case 'j':
      if (!cli__size("workers", optarg, 1024, &opts->workers, error))
        return CLI_USAGE;
      break;
    case OPT_BATCH_SIZE:
      if (!cli__size("batch-size", optarg, 100000, &opts->batch_size, error))
        return CLI_USAGE;
      break;
    case OPT_BATCH_BYTES:
      if (!cli__size("batch-bytes", optarg, 48000000, &opts->batch_bytes,
                     error))
        return CLI_USAGE;
      break;
    case OPT_DROP:
      opts->drop = true;
      break;
    case OPT_DRY_RUN:
      opts->dry_run = true;
      break;
    case OPT_REPORT_JSON:
      if (!cli__replace(&opts->report_json, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_NO_INFER:
      opts->doc.infer = false;
      break;
    case OPT_IGNORE_BLANKS:
      opts->doc.ignore_blanks = true;
      break;
    case 'q':
      opts->quiet = true;
      break;
    case 'h':
      cli_print_help(stdout);
      return CLI_EXIT;
    case OPT_VERSION:
      cli__print_version();
      return CLI_EXIT;
    case ':':
      bson_set_error(error, LOADER_ERROR_USAGE, 0, "%s: needs an argument",
                     argv[optind - 1]);
      return CLI_USAGE;
    default:
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "unknown option %s (see --help)", argv[optind - 1]);
      return CLI_USAGE;
    }
  }

  if (opts->n_inputs == 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "no input files (see --help)");
    return CLI_USAGE;
  }
  if (!opts->uri) {
    const char *env = getenv("MONGODB_URI");
    if (!cli__replace(&opts->uri, env && *env ? env : CLI_DEFAULT_URI, error))
      return CLI_USAGE;
  }
  return CLI_RUN;
}

void cli_options_cleanup(options_t *opts)
{
  free(opts->uri);
  free(opts->db);
  free(opts->report_json);
  for (size_t i = 0; i < opts->n_inputs; i++) {
    free(opts->inputs[i].collection);
    free(opts->inputs[i].path);
  }
  free(opts->inputs);
  memset(opts, 0, sizeof *opts);
}
