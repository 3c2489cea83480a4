/* cli: the command line, parsed into options_t.
 *
 * cli__options[] is the one table of options: getopt_long()'s table and the
 * --help text are both made from it. */
#include "cli_impl.h"
#include "loader/error.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define CLI_DEFAULT_URI "mongodb://localhost:27017"
#define CLI_DEFAULT_BATCH 1000
#define CLI_DEFAULT_BATCH_BYTES (8u * 1024u * 1024u)

const cli_option_t cli__options[] = {
    {"uri", OPT_URI, "URI", "Target",
     "server URI; default $MONGODB_URI, else localhost:27017"},
    {"db", OPT_DB, "NAME", NULL,
     "database (default: the URI's, else \"loader\")"},
    {"password-file", OPT_PASSWORD_FILE, "FILE", NULL,
     "the URI's password, from FILE (not in ps)"},
    {"mode", OPT_MODE, "MODE", NULL,
     "insert (default), upsert (replace) or merge ($set)"},
    {"upsert-fields", OPT_UPSERT_FIELDS, "A,B", NULL,
     "fields naming the document to upsert (default _id)"},
    {"drop", OPT_DROP, NULL, NULL,
     "drop each collection before loading (before each run)"},
    {"dry-run", OPT_DRY_RUN, NULL, NULL,
     "build every document, write nothing (no server)"},
    {"parallel", OPT_PARALLEL, NULL, "Runs",
     "run the jobs on a pool of workers (default)"},
    {"linear", OPT_LINEAR, NULL, NULL, "run the jobs one after another"},
    {"compare", OPT_COMPARE, NULL, NULL,
     "run linearly, then in parallel, and compare"},
    {"workers", 'j', "N", NULL,
     "worker threads (default: CPUs, at most one per job)"},
    {"batch-size", OPT_BATCH_SIZE, "N", NULL,
     "documents per insert batch (default 1000)"},
    {"batch-bytes", OPT_BATCH_BYTES, "N", NULL,
     "bytes per insert batch (default 8388608)"},
    {"split", OPT_SPLIT, "auto|N", NULL,
     "cut each file into N byte ranges loaded in parallel"},
    {"part", OPT_PART, "I/N", NULL,
     "load part I of N of each file (for several processes)"},
    {"max-rate", OPT_MAX_RATE, "ROWS", NULL,
     "at most ROWS rows a second across all workers"},
    {"retries", OPT_RETRIES, "N", NULL,
     "retries of a batch after a transient error (default 5)"},
    {"retry-max-wait", OPT_RETRY_MAX_WAIT, "SECONDS", NULL,
     "longest wait between retries (default 10)"},
    {"type", OPT_TYPE, "TYPE", "Input",
     "csv, tsv or json (default: by the file's extension)"},
    {"delimiter", OPT_DELIMITER, "C", NULL,
     "field separator: , ; | tab or any byte (default ,)"},
    {"tsv", OPT_TSV, NULL, NULL, "tab-separated: same as --delimiter tab"},
    {"quote", OPT_QUOTE, "C", NULL, "quote character (default \")"},
    {"trim", OPT_TRIM, NULL, NULL,
     "strip spaces around unquoted fields (else: data)"},
    {"skip-lines", OPT_SKIP_LINES, "N", NULL,
     "skip N physical lines before the header"},
    {"comment", OPT_COMMENT, "C", NULL, "skip lines that start with C"},
    {"header-line", OPT_HEADER_LINE, NULL, NULL,
     "the first record is the header (default)"},
    {"fields", OPT_FIELDS, "A,B,..", NULL,
     "field names for files without a header line"},
    {"field-file", OPT_FIELD_FILE, "FILE", NULL,
     "field names, one per line, for files without a header"},
    {"infer", OPT_INFER, NULL, "Values",
     "preview each file's columns and types; write nothing"},
    {"sample-rows", OPT_SAMPLE_ROWS, "N", NULL,
     "rows --infer reads per file (default 10000)"},
    {"no-infer", OPT_NO_INFER, NULL, NULL,
     "keep untyped values strings, exactly as in the file"},
    {"types", OPT_TYPES, "LIST", NULL,
     "column types: 'zip:string,born:date(2006-01-02)'"},
    {"columns-have-types", OPT_COLUMNS_HAVE_TYPES, NULL, NULL,
     "header names may end in .TYPE(ARG), as in mongoimport"},
    {"parse-grace", OPT_PARSE_GRACE, "MODE", NULL,
     "bad value: stop|skip-row|skip-field|as-string"},
    {"id-from", OPT_ID_FROM, "HOW", NULL,
     "_id: objectid (default), line, none, or columns A,B"},
    {"ignore-blanks", OPT_IGNORE_BLANKS, NULL, NULL,
     "omit empty fields instead of storing \"\""},
    {"checkpoint", OPT_CHECKPOINT, "PATH", "Resuming",
     "record each job's progress in PATH after every batch"},
    {"resume", OPT_RESUME, NULL, NULL,
     "continue the load recorded in --checkpoint PATH"},
    {"rejects", OPT_REJECTS, "PATH", "Rejected rows",
     "write each rejected row, with file, line, reason"},
    {"max-errors", OPT_MAX_ERRORS, "N", NULL,
     "stop a job past N rejected rows (default: never)"},
    {"report-json", OPT_REPORT_JSON, "PATH", "Output",
     "write the report as JSON to PATH"},
    {"progress", OPT_PROGRESS, "WHEN", NULL,
     "progress on stderr: auto, always, never, plain"},
    {"quiet", 'q', NULL, NULL,
     "no report, no progress (errors still go to stderr)"},
    {"help", 'h', NULL, NULL, "show the common options and exit"},
    {"help-all", OPT_HELP_ALL, NULL, NULL, "show every option and exit"},
    {"version", OPT_VERSION, NULL, NULL, "show the version and exit"},
    {"help-markdown", OPT_HELP_MARKDOWN, NULL, NULL,
     "print this option table as Markdown (for the README)"},
    {"help-man", OPT_HELP_MAN, NULL, NULL,
     "print the manual page (troff) (for the build)"},
};

const size_t cli__n_options = sizeof cli__options / sizeof cli__options[0];

cli_status_t cli_parse(int argc, char **argv, options_t *opts,
                       bson_error_t *error)
{
  memset(opts, 0, sizeof *opts);
  opts->mode = CLI_MODE_PARALLEL;
  opts->batch_size = CLI_DEFAULT_BATCH;
  opts->batch_bytes = CLI_DEFAULT_BATCH_BYTES;
  opts->max_errors = UINT64_MAX;
  opts->sample_rows = 10000;
  csvr_dialect_default(&opts->dialect);
  docb_options_default(&opts->doc);
  bool header_line = false;
  bool id_given = false;
  opts->retries = 5;
  opts->retry_max_wait_ms = 10000;

  struct option longopts[cli__n_options + 1];
  char shortopts[2 * cli__n_options + 3];
  size_t ns = 0;
  shortopts[ns++] = '+'; /* stop at each file: taken in turn below */
  shortopts[ns++] = ':'; /* report a missing argument as ':' */
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    longopts[i] = (struct option){
        o->name, o->arg ? required_argument : no_argument, NULL, o->letter};
    if (o->letter < 256) {
      shortopts[ns++] = (char)o->letter;
      if (o->arg)
        shortopts[ns++] = ':';
    }
  }
  longopts[cli__n_options] = (struct option){0};
  shortopts[ns] = '\0';

  /* Options may follow files: parse, take the next non-option as a file,
   * resume; "--" ends options. */
  optind = 0; /* glibc: a full reset, also of a half-parsed "-xq" */
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
    case OPT_TYPES:
      if (!docb_types_check(optarg, error) ||
          !cli__replace(&opts->types, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_COLUMNS_HAVE_TYPES:
      opts->doc.columns_have_types = true;
      break;
    case OPT_PARSE_GRACE: {
      static const char *const modes[] = {"stop", "skip-row", "skip-field",
                                          "as-string"};
      size_t m;
      for (m = 0; m < 4 && strcmp(optarg, modes[m]) != 0; m++)
        ;
      if (m == 4) {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "--parse-grace: expected stop, skip-row, skip-field or "
                       "as-string, got \"%s\"",
                       optarg);
        return CLI_USAGE;
      }
      opts->doc.grace = (docb_grace_t)m;
      break;
    }
    case OPT_DELIMITER:
      if (!cli__byte("delimiter", optarg, &opts->dialect.delimiter, error))
        return CLI_USAGE;
      break;
    case OPT_TSV:
      opts->dialect.delimiter = '\t';
      break;
    case OPT_QUOTE:
      if (!cli__byte("quote", optarg, &opts->dialect.quote, error))
        return CLI_USAGE;
      break;
    case OPT_TRIM:
      opts->dialect.trim = true;
      break;
    case OPT_SKIP_LINES:
      if (!cli__number("skip-lines", optarg, 0, UINT32_MAX,
                       &opts->dialect.skip_lines, error))
        return CLI_USAGE;
      break;
    case OPT_COMMENT: {
      unsigned char comment;
      if (!cli__byte("comment", optarg, &comment, error))
        return CLI_USAGE;
      opts->dialect.comment = comment;
      break;
    }
    case OPT_HEADER_LINE:
      header_line = true;
      break;
    case OPT_FIELDS:
      if (!cli__fields(opts, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_FIELD_FILE:
      if (!cli__field_file(opts, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_REJECTS:
      if (!cli__replace(&opts->rejects, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_RETRIES: {
      uint64_t v;
      if (!cli__number("retries", optarg, 0, 100, &v, error))
        return CLI_USAGE;
      opts->retries = (unsigned)v;
      break;
    }
    case OPT_RETRY_MAX_WAIT: {
      uint64_t v;
      if (!cli__number("retry-max-wait", optarg, 0, 3600, &v, error))
        return CLI_USAGE;
      opts->retry_max_wait_ms = (unsigned)v * 1000u;
      break;
    }
    case OPT_MODE:
      if (strcmp(optarg, "insert") == 0)
        opts->mode_write = SINK_MODE_INSERT;
      else if (strcmp(optarg, "upsert") == 0)
        opts->mode_write = SINK_MODE_UPSERT;
      else if (strcmp(optarg, "merge") == 0)
        opts->mode_write = SINK_MODE_MERGE;
      else {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "--mode: expected insert, upsert or merge, got \"%s\"",
                       optarg);
        return CLI_USAGE;
      }
      break;
    case OPT_UPSERT_FIELDS:
      for (const char *p = optarg;;) {
        size_t len = strcspn(p, ",");
        char **f = realloc(opts->upsert_fields,
                           (opts->n_upsert_fields + 1) * sizeof *f);
        if (!f)
          return CLI_USAGE;
        opts->upsert_fields = f;
        if (len == 0 || !(f[opts->n_upsert_fields] = strndup(p, len))) {
          bson_set_error(error, LOADER_ERROR_USAGE, 0,
                         "--upsert-fields: empty field name in \"%s\"", optarg);
          return CLI_USAGE;
        }
        opts->n_upsert_fields++;
        if (!p[len])
          break;
        p += len + 1;
      }
      break;
    case OPT_ID_FROM:
      if (strcmp(optarg, "objectid") == 0) {
        opts->doc.id_from = DOCB_ID_OBJECTID;
      } else if (strcmp(optarg, "line") == 0) {
        opts->doc.id_from = DOCB_ID_LINE;
      } else if (strcmp(optarg, "none") == 0) {
        opts->doc.add_id = false;
      } else if (!*optarg || strstr(optarg, ",,") || optarg[0] == ',') {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "--id-from: expected objectid, line, none or column "
                       "names, got \"%s\"",
                       optarg);
        return CLI_USAGE;
      } else {
        opts->doc.id_from = DOCB_ID_FIELDS;
        if (!cli__replace(&opts->id_fields, optarg, error))
          return CLI_USAGE;
      }
      id_given = true;
      break;
    case OPT_SPLIT:
      if (strcmp(optarg, "auto") == 0) {
        opts->split_auto = true;
      } else {
        uint64_t v;
        if (!cli__number("split", optarg, 1, 1024, &v, error))
          return CLI_USAGE;
        opts->split = (unsigned)v;
      }
      break;
    case OPT_PART: {
      unsigned i, n;
      char end;
      if (sscanf(optarg, "%u/%u%c", &i, &n, &end) != 2 || n == 0 || i == 0 ||
          i > n || n > 1024) {
        bson_set_error(
            error, LOADER_ERROR_USAGE, 0,
            "--part: expected I/N with 1 <= I <= N <= 1024, got \"%s\"",
            optarg);
        return CLI_USAGE;
      }
      opts->part = i;
      opts->part_of = n;
      break;
    }
    case OPT_TYPE:
      if (strcmp(optarg, "csv") == 0)
        opts->input_type = CLI_INPUT_CSV;
      else if (strcmp(optarg, "tsv") == 0) {
        opts->input_type = CLI_INPUT_TSV;
        opts->dialect.delimiter = '\t';
      } else if (strcmp(optarg, "json") == 0)
        opts->input_type = CLI_INPUT_JSON;
      else {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "--type: expected csv, tsv or json, got \"%s\"", optarg);
        return CLI_USAGE;
      }
      break;
    case OPT_INFER:
      opts->infer = true;
      break;
    case OPT_SAMPLE_ROWS:
      if (!cli__number("sample-rows", optarg, 1, UINT32_MAX, &opts->sample_rows,
                       error))
        return CLI_USAGE;
      break;
    case OPT_PROGRESS: {
      static const char *const whens[] = {[CLI_PROGRESS_AUTO] = "auto",
                                          [CLI_PROGRESS_ALWAYS] = "always",
                                          [CLI_PROGRESS_NEVER] = "never",
                                          [CLI_PROGRESS_PLAIN] = "plain"};
      int w;
      for (w = 0; w < 4 && strcmp(optarg, whens[w]) != 0; w++)
        ;
      if (w == 4) {
        bson_set_error(
            error, LOADER_ERROR_USAGE, 0,
            "--progress: expected auto, always, never or plain, got \"%s\"",
            optarg);
        return CLI_USAGE;
      }
      opts->progress = (cli_progress_t)w;
      break;
    }
    case OPT_MAX_RATE:
      if (!cli__number("max-rate", optarg, 1, UINT32_MAX, &opts->max_rate,
                       error))
        return CLI_USAGE;
      break;
    case OPT_CHECKPOINT:
      if (!cli__replace(&opts->checkpoint, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_RESUME:
      opts->resume = true;
      break;
    case OPT_PASSWORD_FILE:
      if (!cli__replace(&opts->password_file, optarg, error))
        return CLI_USAGE;
      break;
    case OPT_MAX_ERRORS:
      if (!cli__number("max-errors", optarg, 0, UINT64_MAX - 1,
                       &opts->max_errors, error))
        return CLI_USAGE;
      break;
    case OPT_IGNORE_BLANKS:
      opts->doc.ignore_blanks = true;
      break;
    case 'q':
      opts->quiet = true;
      break;
    case 'h':
      cli_print_help(stdout, false);
      return CLI_EXIT;
    case OPT_HELP_ALL:
      cli_print_help(stdout, true);
      return CLI_EXIT;
    case OPT_VERSION:
      cli__print_version();
      return CLI_EXIT;
    case OPT_HELP_MARKDOWN:
      cli__print_markdown(stdout);
      return CLI_EXIT;
    case OPT_HELP_MAN:
      cli__print_man(stdout);
      return CLI_EXIT;
    case ':':
      bson_set_error(error, LOADER_ERROR_USAGE, 0, "%s: needs an argument",
                     argv[optind - 1]);
      return CLI_USAGE;
    default:
      /* Inside a cluster ("-xq") argv[optind - 1] is not the option. */
      if (optopt > 0 && optopt < 256)
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "unknown option -%c (see --help)", optopt);
      else
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "unknown option %s (see --help)", argv[optind - 1]);
      return CLI_USAGE;
    }
  }

  if (header_line && opts->n_fields) {
    bson_set_error(
        error, LOADER_ERROR_USAGE, 0,
        "--header-line and --fields/--field-file exclude each other");
    return CLI_USAGE;
  }
  if (opts->dialect.quote == opts->dialect.delimiter) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "the quote and the delimiter must differ");
    return CLI_USAGE;
  }
  if (opts->resume && !opts->checkpoint) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume needs --checkpoint PATH");
    return CLI_USAGE;
  }
  if (opts->resume && (opts->drop || opts->mode == CLI_MODE_COMPARE)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume cannot be combined with --drop or --compare");
    return CLI_USAGE;
  }
  if (opts->checkpoint && opts->mode == CLI_MODE_COMPARE) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--checkpoint cannot be combined with --compare");
    return CLI_USAGE;
  }
  size_t stdin_inputs = 0;
  for (size_t i = 0; i < opts->n_inputs; i++)
    stdin_inputs += strcmp(opts->inputs[i].path, "-") == 0;
  if (stdin_inputs > 1 ||
      (stdin_inputs && (opts->checkpoint || opts->mode == CLI_MODE_COMPARE))) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "standard input can be read once: one name=- input, and no "
                   "--checkpoint or --compare with it");
    return CLI_USAGE;
  }
  /* Resumable loads need ids that are the same in every run, so that a
   * batch written again after a crash cannot double. */
  if (opts->checkpoint && !id_given)
    opts->doc.id_from = DOCB_ID_LINE;
  opts->doc.types = opts->types;
  opts->doc.id_fields = opts->id_fields;
  /* Upserts replace or update by the upsert fields: a new ObjectId would
   * clash with the _id of the document they match. */
  if (opts->mode_write != SINK_MODE_INSERT && !id_given)
    opts->doc.add_id = false;
  if (opts->n_inputs == 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "no input files (see --help)");
    return CLI_USAGE;
  }
  if (!opts->uri) {
    const char *env = getenv("MONGODB_URI");
    if (!cli__replace(&opts->uri, env && *env ? env : CLI_DEFAULT_URI, error))
      return CLI_USAGE;
  }
  /* A MongoDB insert that may write a batch twice (a retry, a resume after
   * a crash) relies on the same _id coming back as a duplicate: ids made
   * anew on every attempt would double the rows instead. */
  if (opts->checkpoint && id_given && opts->mode_write == SINK_MODE_INSERT &&
      (!opts->doc.add_id || opts->doc.id_from == DOCB_ID_OBJECTID) &&
      strncmp(opts->uri, "mongodb", 7) == 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--checkpoint needs ids that are the same in every run: "
                   "--id-from line (the default with --checkpoint) or key "
                   "columns, not --id-from %s",
                   opts->doc.add_id ? "objectid" : "none");
    return CLI_USAGE;
  }
  return CLI_RUN;
}

void cli_options_cleanup(options_t *opts)
{
  free(opts->uri);
  free(opts->db);
  free(opts->report_json);
  free(opts->types);
  free(opts->rejects);
  free(opts->id_fields);
  free(opts->password_file);
  free(opts->checkpoint);
  for (size_t i = 0; i < opts->n_upsert_fields; i++)
    free(opts->upsert_fields[i]);
  free(opts->upsert_fields);
  for (size_t i = 0; i < opts->n_fields; i++)
    free(opts->fields[i]);
  free(opts->fields);
  for (size_t i = 0; i < opts->n_inputs; i++) {
    free(opts->inputs[i].collection);
    free(opts->inputs[i].path);
  }
  free(opts->inputs);
  memset(opts, 0, sizeof *opts);
}
