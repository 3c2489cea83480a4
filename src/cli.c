/* cli: the command line, parsed into options_t.
 *
 * cli__options[] is the one table of options: getopt_long()'s tables, the
 * help, the manual page and the README's table are all made from it. Each
 * entry says what its argument is; most store it into their options_t field
 * through cli__store() (cli_args.c), and the few with logic of their own
 * have a handler below. */
#include "cli_impl.h"
#include "loader/indexes.h"
#include "loader/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#define CLI_DEFAULT_URI "mongodb://localhost:27017"
#define CLI_DEFAULT_BATCH 10000
#define CLI_DEFAULT_BATCH_BYTES (8u * 1024u * 1024u)
#define CLI_DEFAULT_INFLIGHT 4

/* getopt_long() returns this plus its index for an option without a short
 * letter. */
#define CLI_LONG_ONLY 256

static const cli_word_t cli__mode_words[] = {{"insert", SINK_MODE_INSERT},
                                             {"upsert", SINK_MODE_UPSERT},
                                             {"merge", SINK_MODE_MERGE},
                                             {"delete", SINK_MODE_DELETE},
                                             {NULL, 0}};
static const cli_word_t cli__grace_words[] = {
    {"stop", DOCB_GRACE_STOP},
    {"skip-row", DOCB_GRACE_SKIP_ROW},
    {"skip-field", DOCB_GRACE_SKIP_FIELD},
    {"as-string", DOCB_GRACE_AS_STRING},
    {NULL, 0}};
static const cli_word_t cli__infer_as_words[] = {
    {"loader", DOCB_INFER_LOADER},
    {"mongoimport", DOCB_INFER_MONGOIMPORT},
    {NULL, 0}};
/* mongoimport's --parseGrace: its words for the same settings. autoCast
 * types a value that does not fit its column as mongoimport's auto() would
 * (a number if it reads as one, else text); as-string keeps it text: the
 * README says where the two differ. */
static const cli_word_t cli__mongoimport_grace_words[] = {
    {"stop", DOCB_GRACE_STOP},
    {"skipRow", DOCB_GRACE_SKIP_ROW},
    {"skipField", DOCB_GRACE_SKIP_FIELD},
    {"autoCast", DOCB_GRACE_AS_STRING},
    {NULL, 0}};
static const cli_word_t cli__progress_words[] = {
    {"auto", CLI_PROGRESS_AUTO},
    {"always", CLI_PROGRESS_ALWAYS},
    {"never", CLI_PROGRESS_NEVER},
    {"plain", CLI_PROGRESS_PLAIN},
    {NULL, 0}};
static const cli_word_t cli__type_words[] = {{"csv", CLI_INPUT_CSV},
                                             {"tsv", CLI_INPUT_TSV},
                                             {"json", CLI_INPUT_JSON},
                                             {NULL, 0}};

/* The handlers: options that do more than store their value. */

/* --mode insert|upsert|merge|delete: remembered as given, since --upsert-fields
 * without it means upsert (cli__imply_mode()). */
static bool cli__on_mode(cli_state_t *st, const char *arg, bson_error_t *error)
{
  int mode;
  if (!cli__keyword("mode", cli__mode_words, arg, &mode, error))
    return false;
  st->opts->mode_write = (sink_mode_t)mode;
  st->mode_given = true;
  return true;
}

/* --upsert-fields A,B: appends to the list; no name may be empty. */
static bool cli__on_upsert_fields(cli_state_t *st, const char *arg,
                                  bson_error_t *error)
{
  return cli__append_names(&st->opts->upsert_fields, &st->opts->n_upsert_fields,
                           arg, "upsert-fields", error);
}

/* --split auto|N */
static bool cli__on_split(cli_state_t *st, const char *arg, bson_error_t *error)
{
  uint64_t v;
  if (strcmp(arg, "auto") == 0) {
    st->opts->split_auto = true;
    return true;
  }
  if (!cli__number("split", arg, 1, 1024, &v, error))
    return false;
  st->opts->split = (unsigned)v;
  return true;
}

/* --part I/N */
static bool cli__on_part(cli_state_t *st, const char *arg, bson_error_t *error)
{
  unsigned i, n;
  char end;
  if (sscanf(arg, "%u/%u%c", &i, &n, &end) != 2 || n == 0 || i == 0 || i > n ||
      n > 1024)
    return CLI_REFUSE(
        error, "--part: expected I/N with 1 <= I <= N <= 1024, got \"%s\"",
        arg);
  st->opts->part = i;
  st->opts->part_of = n;
  return true;
}

/* --retry-max-wait SECONDS, kept in milliseconds. */
static bool cli__on_retry_max_wait(cli_state_t *st, const char *arg,
                                   bson_error_t *error)
{
  uint64_t v;
  if (!cli__number("retry-max-wait", arg, 0, 3600, &v, error))
    return false;
  st->opts->retry_max_wait_ms = (unsigned)v * 1000u;
  return true;
}

/* --max-errors N (rows) or P% (of the rows a job has read, from 0 to
 * 100, decimals allowed). */
static bool cli__on_max_errors(cli_state_t *st, const char *arg,
                               bson_error_t *error)
{
  size_t len = strlen(arg);
  if (len == 0 || arg[len - 1] != '%')
    return cli__number("max-errors", arg, 0, UINT64_MAX - 1,
                       &st->opts->max_errors, error);
  char *end;
  double p = strtod(arg, &end);
  /* Digits and one decimal point: no sign, space, exponent or "inf". */
  if (end != arg + len - 1 || !(p >= 0 && p <= 100) ||
      !isdigit((unsigned char)arg[0]) || strspn(arg, "0123456789.") != len - 1)
    return CLI_REFUSE(error,
                      "--max-errors: expected N rows or a percentage from 0%% "
                      "to 100%%, got \"%s\"",
                      arg);
  if (p == 0)
    st->opts->max_errors = 0; /* none allowed: stop at the first */
  else
    st->opts->max_errors_ratio = p / 100.0;
  return true;
}

/* --type csv|tsv|json: tsv also sets the delimiter (a later --delimiter
 * wins). */
static bool cli__on_type(cli_state_t *st, const char *arg, bson_error_t *error)
{
  int type;
  if (!cli__keyword("type", cli__type_words, arg, &type, error))
    return false;
  st->opts->input_type = (cli_input_type_t)type;
  if (st->opts->input_type == CLI_INPUT_TSV)
    st->opts->dialect.delimiter = '\t';
  return true;
}

/* --tsv */
static bool cli__on_tsv(cli_state_t *st, const char *arg, bson_error_t *error)
{
  (void)arg;
  (void)error;
  st->opts->dialect.delimiter = '\t';
  return true;
}

/* --comment C: a byte, kept in an int (-1: none). */
static bool cli__on_comment(cli_state_t *st, const char *arg,
                            bson_error_t *error)
{
  unsigned char comment;
  if (!cli__byte("comment", arg, &comment, error))
    return false;
  st->opts->dialect.comment = comment;
  return true;
}

/* --header-line: the default, said aloud; only checked against --fields. */
static bool cli__on_header_line(cli_state_t *st, const char *arg,
                                bson_error_t *error)
{
  (void)arg;
  (void)error;
  st->header_line = true;
  return true;
}

/* --fields A,B,..: appends to the list (empty names included). */
static bool cli__on_fields(cli_state_t *st, const char *arg,
                           bson_error_t *error)
{
  return cli__append_names(&st->opts->fields, &st->opts->n_fields, arg, NULL,
                           error);
}

/* --field-file FILE */
static bool cli__on_field_file(cli_state_t *st, const char *arg,
                               bson_error_t *error)
{
  return cli__field_file(st->opts, arg, error);
}

/* --types LIST: its syntax is checked now, its columns when a header is
 * read. */
static bool cli__on_types(cli_state_t *st, const char *arg, bson_error_t *error)
{
  return docb_types_check(arg, error) &&
         cli__replace(&st->opts->types, arg, error);
}

/* --id-from objectid|line|none|A,B */
static bool cli__on_id_from(cli_state_t *st, const char *arg,
                            bson_error_t *error)
{
  doc_options_t *doc = &st->opts->doc;
  if (strcmp(arg, "objectid") == 0) {
    doc->id_from = DOCB_ID_OBJECTID;
  } else if (strcmp(arg, "line") == 0) {
    doc->id_from = DOCB_ID_LINE;
  } else if (strcmp(arg, "none") == 0) {
    doc->add_id = false;
  } else if (!*arg || strstr(arg, ",,") || arg[0] == ',') {
    return CLI_REFUSE(error,
                      "--id-from: expected objectid, line, none or column "
                      "names, got \"%s\"",
                      arg);
  } else {
    doc->id_from = DOCB_ID_FIELDS;
    if (!cli__replace(&st->opts->id_fields, arg, error))
      return false;
  }
  st->id_given = true;
  return true;
}

/* --index SPEC, repeatable: checked now, built after the load. */
static bool cli__on_index(cli_state_t *st, const char *arg, bson_error_t *error)
{
  indexes_spec_t spec;
  bool ok = indexes_spec_parse(arg, &spec, error);
  indexes_spec_cleanup(&spec);
  if (!ok)
    return false;
  options_t *o = st->opts;
  char **grown = realloc(o->indexes, (o->n_indexes + 1) * sizeof *grown);
  if (!grown)
    return cli__out_of_memory(error);
  o->indexes = grown;
  if (!(o->indexes[o->n_indexes] = strdup(arg)))
    return cli__out_of_memory(error);
  o->n_indexes++;
  return true;
}

/* offsetof(options_t, member), refused when the table is compiled unless
 * the member has type T: an entry cannot store into a field of another
 * type. CLI_ENUM_FIELD also refuses an enum that is not the size of the int
 * cli__store() copies into it. */
#define CLI_FIELD(member, T)                                                   \
  (offsetof(options_t, member) +                                               \
   0 * sizeof(_Generic(((options_t *)0)->member, T : 1)))
#define CLI_ENUM_FIELD(member, T)                                              \
  (CLI_FIELD(member, T) + 0 * sizeof(char[sizeof(T) == sizeof(int) ? 1 : -1]))

/* The last fields of a table entry, one macro per kind of argument. */
#define ARG_BOOL(member, v)                                                    \
  .kind = CLI_ARG_BOOL, .field = CLI_FIELD(member, bool), .value = (v)
#define ARG_ENUM(member, T, v)                                                 \
  .kind = CLI_ARG_ENUM, .field = CLI_ENUM_FIELD(member, T), .value = (v)
#define ARG_SIZE(member, lo, hi)                                               \
  .kind = CLI_ARG_SIZE, .field = CLI_FIELD(member, size_t), .min = (lo),       \
  .max = (hi)
#define ARG_U64(member, lo, hi)                                                \
  .kind = CLI_ARG_U64, .field = CLI_FIELD(member, uint64_t), .min = (lo),      \
  .max = (hi)
#define ARG_UNSIGNED(member, lo, hi)                                           \
  .kind = CLI_ARG_UNSIGNED, .field = CLI_FIELD(member, unsigned), .min = (lo), \
  .max = (hi)
#define ARG_STRING(member)                                                     \
  .kind = CLI_ARG_STRING, .field = CLI_FIELD(member, char *)
#define ARG_BYTE(member)                                                       \
  .kind = CLI_ARG_BYTE, .field = CLI_FIELD(member, unsigned char)
#define ARG_KEYWORD(member, T, list)                                           \
  .kind = CLI_ARG_KEYWORD, .field = CLI_ENUM_FIELD(member, T), .words = (list)
#define ARG_HANDLER(fn) .kind = CLI_ARG_HANDLER, .handler = (fn)
#define ARG_PRINT(fn) .kind = CLI_ARG_PRINT, .print = (fn)
/* offsetof(cli_state_t, member), checked like CLI_FIELD. */
#define CLI_STATE_FIELD(member, T)                                             \
  (offsetof(cli_state_t, member) +                                             \
   0 * sizeof(_Generic(((cli_state_t *)0)->member, T : 1)))
#define ARG_STATE_STRING(member)                                               \
  .kind = CLI_ARG_STATE_STRING, .field = CLI_STATE_FIELD(member, const char *)
#define ARG_STATE_BOOL(member)                                                 \
  .kind = CLI_ARG_STATE_BOOL, .field = CLI_STATE_FIELD(member, bool)

/* An alias: another spelling (mongoimport's) of the option named target,
 * which does the work; arg is NULL exactly when target takes no argument
 * (unit_cli checks). Hidden from the help; the README's "Switching from
 * mongoimport" lists it. */
#define CLI_ALIAS(name, letter, arg, target)                                   \
  {                                                                            \
    (name), (letter), (arg), NULL, "another spelling of --" target,            \
        .show = CLI_SHOW_NEVER, .alias_of = (target)                           \
  }
/* An alias that gives target the argument value: --jsonArray is
 * --type json. */
#define CLI_ALIAS_ARG(name, target, value)                                     \
  {                                                                            \
    (name), 0, NULL, NULL, "another spelling of --" target " " value,          \
        .show = CLI_SHOW_NEVER, .alias_of = (target), .alias_arg = (value)     \
  }
/* One of mongoimport's options that the loader has no spelling of: hidden
 * from the help, settled by cli__mongoimport_settle(). */
#define MONGOIMPORT(name, letter, arg, help)                                   \
  (name), (letter), (arg), NULL, "mongoimport: " help, .show = CLI_SHOW_NEVER

/* Each entry: long name, short letter (0: none), argument name for the help
 * (NULL: none), group heading (NULL: the one above), help line, then which
 * help shows it when not only --help-all, and what it does (ARG_*). */
const cli_option_t cli__options[] = {
    {"uri", 0, "URI", "Target",
     "server URI; default $MONGODB_URI, else localhost:27017",
     .show = CLI_SHOW_COMMON, ARG_STRING(uri)},
    {"db", 0, "NAME", NULL, "database (default: the URI's, else \"loader\")",
     .show = CLI_SHOW_COMMON, ARG_STRING(db)},
    {"password-file", 0, "FILE", NULL,
     "the URI's password, from FILE (not in ps)", ARG_STRING(password_file)},
    {"write-concern", 0, "WC", NULL,
     "majority, N, or '{w: N, j: true, wtimeout: MS}' (over the URI's w=)",
     ARG_STRING(write_concern)},
    {"mode", 0, "MODE", NULL,
     "insert (default), upsert (replace), merge ($set), delete",
     ARG_HANDLER(cli__on_mode)},
    {"upsert-fields", 0, "A,B", NULL,
     "fields naming the document to upsert/delete (default _id)",
     ARG_HANDLER(cli__on_upsert_fields)},
    {"stop-on-error", 0, NULL, NULL,
     "ordered writes; stop at the first row the server refuses",
     ARG_BOOL(stop_on_error, true)},
    {"maintain-insertion-order", 0, NULL, NULL,
     "same as --stop-on-error (rows land in file order)",
     ARG_BOOL(stop_on_error, true)},
    {"bypass-document-validation", 0, NULL, NULL,
     "let documents past the collection's validator",
     ARG_BOOL(bypass_validation, true)},
    {"drop", 0, NULL, NULL,
     "drop each collection before loading (before each run)",
     .show = CLI_SHOW_COMMON, ARG_BOOL(drop, true)},
    {"dry-run", 0, NULL, NULL,
     "build every document, write nothing (no server)", .show = CLI_SHOW_COMMON,
     ARG_BOOL(dry_run, true)},
    {"parallel", 0, NULL, "Runs", "run the jobs on a pool of workers (default)",
     ARG_ENUM(mode, cli_mode_t, CLI_MODE_PARALLEL)},
    {"linear", 0, NULL, NULL, "run the jobs one after another",
     ARG_ENUM(mode, cli_mode_t, CLI_MODE_LINEAR)},
    {"compare", 0, NULL, NULL, "run linearly, then in parallel, and compare",
     .show = CLI_SHOW_COMMON, ARG_ENUM(mode, cli_mode_t, CLI_MODE_COMPARE)},
    {"workers", 'j', "N", NULL,
     "worker threads (default: CPUs, at most one per job)",
     .show = CLI_SHOW_COMMON, ARG_SIZE(workers, 1, 1024)},
    {"batch-size", 0, "N", NULL, "documents per insert batch (default 10000)",
     ARG_SIZE(batch_size, 1, 100000)},
    {"batch-bytes", 0, "N", NULL, "bytes per insert batch (default 8388608)",
     ARG_SIZE(batch_bytes, 1, 48000000)},
    {"inflight", 0, "K", NULL,
     "batches on the wire per job (default 4; SQL, keyed, ordered: 1)",
     ARG_UNSIGNED(inflight, 1, 64)},
    {"split", 0, "auto|N", NULL,
     "cut each file into N byte ranges loaded in parallel",
     .show = CLI_SHOW_COMMON, ARG_HANDLER(cli__on_split)},
    {"part", 0, "I/N", NULL,
     "load part I of N of each file (for several processes)",
     ARG_HANDLER(cli__on_part)},
    {"max-rate", 0, "ROWS", NULL,
     "at most ROWS rows a second across all workers",
     ARG_U64(max_rate, 1, UINT32_MAX)},
    {"retries", 0, "N", NULL,
     "retries of a batch after a transient error (default 5)",
     ARG_UNSIGNED(retries, 0, 100)},
    {"retry-max-wait", 0, "SECONDS", NULL,
     "longest wait between retries (default 10)",
     ARG_HANDLER(cli__on_retry_max_wait)},
    {"type", 0, "TYPE", "Input",
     "csv, tsv or json (default: by the file's extension)",
     ARG_HANDLER(cli__on_type)},
    {"delimiter", 0, "C", NULL,
     "field separator: , ; | tab or any byte (default ,)",
     ARG_BYTE(dialect.delimiter)},
    {"tsv", 0, NULL, NULL, "tab-separated: same as --delimiter tab",
     ARG_HANDLER(cli__on_tsv)},
    {"quote", 0, "C", NULL, "quote character (default \")",
     ARG_BYTE(dialect.quote)},
    {"trim", 0, NULL, NULL, "strip spaces around unquoted fields (else: data)",
     ARG_BOOL(dialect.trim, true)},
    {"skip-lines", 0, "N", NULL, "skip N physical lines before the header",
     ARG_U64(dialect.skip_lines, 0, UINT32_MAX)},
    {"comment", 0, "C", NULL, "skip lines that start with C",
     ARG_HANDLER(cli__on_comment)},
    {"header-line", 0, NULL, NULL, "the first record is the header (default)",
     ARG_HANDLER(cli__on_header_line)},
    {"fields", 0, "A,B,..", NULL, "field names for files without a header line",
     ARG_HANDLER(cli__on_fields)},
    {"field-file", 0, "FILE", NULL,
     "field names, one per line, for files without a header",
     ARG_HANDLER(cli__on_field_file)},
    {"infer", 0, NULL, "Values",
     "preview each file's columns and types; write nothing",
     .show = CLI_SHOW_COMMON, ARG_BOOL(infer, true)},
    {"sample-rows", 0, "N", NULL, "rows --infer reads per file (default 10000)",
     ARG_U64(sample_rows, 1, UINT32_MAX)},
    {"no-infer", 0, NULL, NULL,
     "keep untyped values strings, exactly as in the file",
     ARG_BOOL(doc.infer, false)},
    {"types", 0, "LIST", NULL,
     "column types: 'zip:string,born:date(2006-01-02)'",
     .show = CLI_SHOW_COMMON, ARG_HANDLER(cli__on_types)},
    {"columns-have-types", 0, NULL, NULL,
     "header names may end in .TYPE(ARG), as in mongoimport",
     ARG_BOOL(doc.columns_have_types, true)},
    {"parse-grace", 0, "MODE", NULL,
     "bad value: stop|skip-row|skip-field|as-string",
     ARG_KEYWORD(doc.grace, docb_grace_t, cli__grace_words)},
    {"id-from", 0, "HOW", NULL,
     "_id: objectid (default), line, none, or columns A,B",
     ARG_HANDLER(cli__on_id_from)},
    {"ignore-blanks", 0, NULL, NULL,
     "omit empty fields instead of storing \"\"",
     ARG_BOOL(doc.ignore_blanks, true)},
    {"null-values", 0, "A,B", NULL,
     "store fields whose text is exactly A or B... as null, e.g. 'NULL,\\N'",
     ARG_STRING(null_values)},
    {"infer-as", 0, "RULES", NULL,
     "untyped values: loader (default) or mongoimport rules",
     ARG_KEYWORD(doc.infer_as, docb_infer_as_t, cli__infer_as_words)},
    {"array-index-fields", 0, NULL, NULL,
     "tags.0, items.1.sku build arrays (MongoDB only)",
     ARG_BOOL(doc.array_index_fields, true)},
    {"index", 0, "SPEC", "Indexes",
     "build an index after the load: 'email:1', 'a:1,b:-1,unique'",
     ARG_HANDLER(cli__on_index)},
    {"checkpoint", 0, "PATH", "Resuming",
     "record each job's progress in PATH after every batch",
     .show = CLI_SHOW_COMMON, ARG_STRING(checkpoint)},
    {"resume", 0, NULL, NULL, "continue the load recorded in --checkpoint PATH",
     .show = CLI_SHOW_COMMON, ARG_BOOL(resume, true)},
    {"rejects", 0, "PATH", "Rejected rows",
     "write each rejected row, with file, line, reason",
     .show = CLI_SHOW_COMMON, ARG_STRING(rejects)},
    {"max-errors", 0, "N|P%", NULL,
     "stop a job past N rejected rows, or P% of its rows (default: never)",
     ARG_HANDLER(cli__on_max_errors)},
    {"verify", 0, NULL, "Verifying",
     "after the load, read every row back and compare", ARG_BOOL(verify, true)},
    {"verify-only", 0, NULL, NULL,
     "load nothing; compare the target with the input",
     ARG_BOOL(verify_only, true)},
    {"report-json", 0, "PATH", "Output", "write the report as JSON to PATH",
     .show = CLI_SHOW_COMMON, ARG_STRING(report_json)},
    {"progress", 0, "WHEN", NULL,
     "progress on stderr: auto, always, never, plain",
     ARG_KEYWORD(progress, cli_progress_t, cli__progress_words)},
    {"quiet", 'q', NULL, NULL,
     "no report, no progress (errors still go to stderr)",
     .show = CLI_SHOW_COMMON, ARG_BOOL(quiet, true)},
    {"help", 'h', NULL, NULL, "show the common options and exit",
     .show = CLI_SHOW_COMMON, ARG_PRINT(cli__print_help_common)},
    {"help-all", 0, NULL, NULL, "show every option and exit",
     .show = CLI_SHOW_COMMON, ARG_PRINT(cli__print_help_all)},
    {"version", 0, NULL, NULL, "show the version and exit",
     ARG_PRINT(cli__print_version)},
    {"help-markdown", 0, NULL, NULL,
     "print this option table as Markdown (for the README)",
     .show = CLI_SHOW_NEVER, ARG_PRINT(cli__print_markdown)},
    {"help-man", 0, NULL, NULL, "print the manual page (troff) (for the build)",
     .show = CLI_SHOW_NEVER, ARG_PRINT(cli__print_man)},

    /* mongoimport's command lines, as they are (README: "Switching from
     * mongoimport"). --db, --type, --mode, --fields, --drop, --uri,
     * --quiet and -j are spelled alike. */
    CLI_ALIAS(NULL, 'd', "NAME", "db"),
    CLI_ALIAS(NULL, 'f', "A,B,..", "fields"),
    CLI_ALIAS("fieldFile", 0, "FILE", "field-file"),
    CLI_ALIAS("headerline", 0, NULL, "header-line"),
    CLI_ALIAS("columnsHaveTypes", 0, NULL, "columns-have-types"),
    CLI_ALIAS("upsertFields", 0, "A,B", "upsert-fields"),
    CLI_ALIAS("ignoreBlanks", 0, NULL, "ignore-blanks"),
    CLI_ALIAS("numInsertionWorkers", 0, "N", "workers"),
    CLI_ALIAS("batchSize", 0, "N", "batch-size"),
    CLI_ALIAS("writeConcern", 0, "WC", "write-concern"),
    CLI_ALIAS_ARG("jsonArray", "type", "json"),
    CLI_ALIAS("stopOnError", 0, NULL, "stop-on-error"),
    CLI_ALIAS("maintainInsertionOrder", 0, NULL, "maintain-insertion-order"),
    CLI_ALIAS("bypassDocumentValidation", 0, NULL,
              "bypass-document-validation"),
    CLI_ALIAS("useArrayIndexFields", 0, NULL, "array-index-fields"),
    {MONGOIMPORT("parseGrace", 0, "GRACE", "autoCast|skipField|skipRow|stop"),
     ARG_KEYWORD(doc.grace, docb_grace_t, cli__mongoimport_grace_words)},
    {MONGOIMPORT("collection", 'c', "NAME",
                 "the collection (default: the "
                 "file's name)"),
     ARG_STATE_STRING(collection)},
    {MONGOIMPORT("file", 0, "PATH", "the file (default: standard input)"),
     ARG_STATE_STRING(file)},
    {MONGOIMPORT("host", 0, "HOST", "[SET/]HOST[:PORT][,HOST...]"),
     ARG_STATE_STRING(conn.host)},
    {MONGOIMPORT("port", 0, "PORT", "the port of hosts without one"),
     ARG_STATE_STRING(conn.port)},
    {MONGOIMPORT("username", 'u', "USER", "the user"),
     ARG_STATE_STRING(conn.user)},
    {MONGOIMPORT("password", 'p', "PASSWORD", "the user's password"),
     ARG_STATE_STRING(conn.password)},
    {MONGOIMPORT("authenticationDatabase", 0, "DB", "authSource"),
     ARG_STATE_STRING(conn.auth_db)},
    {MONGOIMPORT("authenticationMechanism", 0, "MECH", "authMechanism"),
     ARG_STATE_STRING(conn.mechanism)},
    {MONGOIMPORT("ssl", 0, NULL, "tls=true"), ARG_STATE_BOOL(conn.tls)},
    CLI_ALIAS("tls", 0, NULL, "ssl"),
    {MONGOIMPORT("sslCAFile", 0, "FILE", "tlsCAFile"),
     ARG_STATE_STRING(conn.ca_file)},
    CLI_ALIAS("tlsCAFile", 0, "FILE", "sslCAFile"),
    {MONGOIMPORT("sslPEMKeyFile", 0, "FILE", "tlsCertificateKeyFile"),
     ARG_STATE_STRING(conn.cert_key_file)},
    CLI_ALIAS("tlsCertificateKeyFile", 0, "FILE", "sslPEMKeyFile"),
    {MONGOIMPORT("sslPEMKeyPassword", 0, "PASSWORD",
                 "tlsCertificateKeyFilePassword"),
     ARG_STATE_STRING(conn.cert_key_pass)},
    CLI_ALIAS("tlsCertificateKeyFilePassword", 0, "PASSWORD",
              "sslPEMKeyPassword"),
    {MONGOIMPORT("tlsInsecure", 0, NULL, "tlsInsecure=true"),
     ARG_STATE_BOOL(conn.tls_insecure)},
    {MONGOIMPORT("sslAllowInvalidCertificates", 0, NULL,
                 "tlsAllowInvalidCertificates=true"),
     ARG_STATE_BOOL(conn.allow_invalid_certs)},
    CLI_ALIAS("tlsAllowInvalidCertificates", 0, NULL,
              "sslAllowInvalidCertificates"),
    {MONGOIMPORT("sslAllowInvalidHostnames", 0, NULL,
                 "tlsAllowInvalidHostnames=true"),
     ARG_STATE_BOOL(conn.allow_invalid_hosts)},
    CLI_ALIAS("tlsAllowInvalidHostnames", 0, NULL, "sslAllowInvalidHostnames"),
    {MONGOIMPORT("verbose", 'v', "N", "accepted, ignored"),
     .arg_optional = true, ARG_HANDLER(cli__on_verbose)},
};

#undef ARG_BOOL
#undef ARG_ENUM
#undef ARG_SIZE
#undef ARG_U64
#undef ARG_UNSIGNED
#undef ARG_STRING
#undef ARG_BYTE
#undef ARG_KEYWORD
#undef ARG_HANDLER
#undef ARG_PRINT
#undef ARG_STATE_STRING
#undef ARG_STATE_BOOL
#undef CLI_ALIAS
#undef CLI_ALIAS_ARG
#undef MONGOIMPORT

#define CLI_N_OPTIONS (sizeof cli__options / sizeof cli__options[0])

const size_t cli__n_options = CLI_N_OPTIONS;

/* Sets the defaults of everything the command line can change. */
static void cli__defaults(options_t *opts)
{
  memset(opts, 0, sizeof *opts);
  opts->mode = CLI_MODE_PARALLEL;
  opts->batch_size = CLI_DEFAULT_BATCH;
  opts->batch_bytes = CLI_DEFAULT_BATCH_BYTES;
  opts->inflight = CLI_DEFAULT_INFLIGHT;
  opts->max_errors = UINT64_MAX;
  opts->sample_rows = 10000;
  csvr_dialect_default(&opts->dialect);
  docb_options_default(&opts->doc);
  opts->retries = 5;
  opts->retry_max_wait_ms = 10000;
}

/* Returns the option an alias stands for (with *arg its fixed argument,
 * if it has one), or o itself when it is not an alias. */
static const cli_option_t *cli__resolve(const cli_option_t *o, const char **arg)
{
  if (!o->alias_of)
    return o;
  for (size_t i = 0; i < CLI_N_OPTIONS; i++) {
    const cli_option_t *t = &cli__options[i];
    if (t->name && !t->alias_of && strcmp(t->name, o->alias_of) == 0) {
      if (o->alias_arg)
        *arg = o->alias_arg;
      return t;
    }
  }
  return NULL; /* unit_cli checks that every alias names an option */
}

/* The value getopt_long() returns for entry i: its letter, else
 * CLI_LONG_ONLY + its index. An alias that takes its option's argument
 * returns that option's value, so that an abbreviation matching both
 * (--head: --header-line and --headerline) is not ambiguous. */
static int cli__getopt_value(size_t i)
{
  const char *arg = NULL;
  const cli_option_t *o = &cli__options[i];
  if (o->alias_of && !o->alias_arg && o->name)
    o = cli__resolve(o, &arg);
  return o->letter ? o->letter : CLI_LONG_ONLY + (int)(o - cli__options);
}

/* Fills getopt_long()'s tables from the option table: longopts has
 * CLI_N_OPTIONS + 1 entries, shortopts room for 3 * CLI_N_OPTIONS + 3
 * characters. */
static void cli__getopt_tables(struct option *longopts, char *shortopts)
{
  size_t ns = 0, nl = 0;
  shortopts[ns++] = '+'; /* stop at each file: taken in turn by the caller */
  shortopts[ns++] = ':'; /* report a missing argument as ':' */
  for (size_t i = 0; i < CLI_N_OPTIONS; i++) {
    const cli_option_t *o = &cli__options[i];
    int has_arg = !o->arg           ? no_argument
                  : o->arg_optional ? optional_argument
                                    : required_argument;
    if (o->name)
      longopts[nl++] =
          (struct option){o->name, has_arg, NULL, cli__getopt_value(i)};
    if (o->letter) {
      shortopts[ns++] = (char)o->letter;
      for (int k = 0; k < has_arg; k++) /* ":" required, "::" optional */
        shortopts[ns++] = ':';
    }
  }
  longopts[nl] = (struct option){0};
  shortopts[ns] = '\0';
}

/* Returns the option getopt_long() returned c for, or NULL for '?' (an
 * unknown or ambiguous option) and ':' (a missing argument). */
static const cli_option_t *cli__option_for(int c)
{
  if (c >= CLI_LONG_ONLY && (size_t)(c - CLI_LONG_ONLY) < CLI_N_OPTIONS)
    return &cli__options[c - CLI_LONG_ONLY];
  for (size_t i = 0; i < CLI_N_OPTIONS; i++)
    if (cli__options[i].letter == c)
      return &cli__options[i];
  return NULL;
}

/* Fills error for what getopt_long() refused: c is ':' for a missing
 * argument, else the option is unknown or ambiguous. */
static bool cli__refuse_option(int c, char **argv, bson_error_t *error)
{
  if (c == ':')
    return CLI_REFUSE(error, "%s: needs an argument", argv[optind - 1]);
  /* Inside a cluster ("-xq") argv[optind - 1] is not the option. */
  if (optopt > 0 && optopt < 256)
    return CLI_REFUSE(error, "unknown option -%c (see --help)", optopt);
  return CLI_REFUSE(error, "unknown option %s (see --help)", argv[optind - 1]);
}

/* Takes the FILE arguments getopt_long() stopped at (its return was -1 and
 * prev the optind before that call) into st->files: after "--" every
 * argument left, else the one at optind. Sets *done when argv is used
 * up. */
static void cli__take_files(cli_state_t *st, int argc, char **argv, int prev,
                            bool *done)
{
  if (optind > prev && strcmp(argv[optind - 1], "--") == 0) {
    for (int i = optind; i < argc; i++)
      st->files[st->n_files++] = argv[i];
    *done = true;
  } else if (optind >= argc) {
    *done = true;
  } else {
    st->files[st->n_files++] = argv[optind++];
  }
}

/* Does what option o, given with arg, does. */
static cli_status_t cli__apply(cli_state_t *st, const cli_option_t *o,
                               const char *arg, bson_error_t *error)
{
  switch (o->kind) {
  case CLI_ARG_PRINT:
    o->print(stdout);
    return CLI_EXIT;
  case CLI_ARG_HANDLER:
    return o->handler(st, arg, error) ? CLI_RUN : CLI_USAGE;
  case CLI_ARG_STATE_STRING:
  case CLI_ARG_STATE_BOOL:
    cli__store_state(st, o, arg);
    return CLI_RUN;
  default:
    return cli__store(st->opts, o, arg, error) ? CLI_RUN : CLI_USAGE;
  }
}

/* Parses argv into st; the FILE arguments go to st->files (room for
 * argc). */
static cli_status_t cli__parse_argv(cli_state_t *st, int argc, char **argv,
                                    bson_error_t *error)
{
  struct option longopts[CLI_N_OPTIONS + 1];
  char shortopts[3 * CLI_N_OPTIONS + 3];
  cli__getopt_tables(longopts, shortopts);

  /* Options may follow files: parse, take the next non-option as a file,
   * resume; "--" ends options. */
  optind = 0; /* glibc: a full reset, also of a half-parsed "-xq" */
  opterr = 0;
  for (bool done = false; !done;) {
    int prev = optind;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == -1) {
      cli__take_files(st, argc, argv, prev, &done);
      continue;
    }
    const char *arg = optarg;
    const cli_option_t *o = cli__option_for(c);
    if (o)
      o = cli__resolve(o, &arg);
    if (!o) {
      cli__refuse_option(c, argv, error);
      return CLI_USAGE;
    }
    /* mongoimport's -h is --host: a script's "-h HOST" must not print the
     * help and succeed without loading anything. */
    if (c == 'h' && argc > 2 && strcmp(argv[optind - 1], "--help") != 0) {
      (void)CLI_REFUSE(error,
                       "-h is --help here, alone; mongoimport's -h HOST is "
                       "--host HOST");
      return CLI_USAGE;
    }
    cli_status_t status = cli__apply(st, o, arg, error);
    if (status != CLI_RUN)
      return status;
  }
  return CLI_RUN;
}

/* Secrets given on the command line (-p, --sslPEMKeyPassword, a URI's
 * password) were copied where they are needed; their bytes in argv become
 * '*', so other users' ps and /proc/PID/cmdline do not show them for the
 * length of the load (as curl does). */
static void cli__scrub_argv(cli_state_t *st, int argc, char **argv)
{
  const char *secrets[] = {st->conn.password, st->conn.cert_key_pass};
  for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
    if (secrets[i])
      memset((char *)secrets[i], '*', strlen(secrets[i]));
  st->conn.password = st->conn.cert_key_pass = NULL;
  for (int i = 1; i < argc; i++)
    if (strstr(argv[i], "://"))
      util_scrub_uri(argv[i]);
}

cli_status_t cli_parse(int argc, char **argv, options_t *opts,
                       bson_error_t *error)
{
  cli_state_t st = {.opts = opts};
  cli__defaults(opts);
  st.files = calloc((size_t)argc + 1, sizeof *st.files);
  if (!st.files) {
    cli__out_of_memory(error);
    return CLI_USAGE;
  }
  cli_status_t status = cli__parse_argv(&st, argc, argv, error);
  if (status == CLI_RUN && !cli__mongoimport_settle(&st, error))
    status = CLI_USAGE;
  cli__scrub_argv(&st, argc, argv);
  free(st.files);
  if (status != CLI_RUN)
    return status;

  if (!opts->uri) {
    const char *env = getenv("MONGODB_URI");
    if (!cli__replace(&opts->uri, env && *env ? env : CLI_DEFAULT_URI, error))
      return CLI_USAGE;
  }
  cli__imply_mode(&st);
  if (!cli__check_rules(&st, error))
    return CLI_USAGE;
  cli__imply(&st);
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
  free(opts->write_concern);
  free(opts->null_values);
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
  for (size_t i = 0; i < opts->n_indexes; i++)
    free(opts->indexes[i]);
  free(opts->indexes);
  memset(opts, 0, sizeof *opts);
}
