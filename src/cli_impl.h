/* cli_impl.h: what the pieces of the command line share; private to
 * src/cli*.c (the public interface is include/loader/cli.h).
 *
 *   cli.c         the option table, the parse loop, the defaults
 *   cli_args.c    option values: numbers, bytes, name lists, field files
 *   cli_inputs.c  FILE arguments: name=path, directories, globs, stdin
 *   cli_help.c    --help, --help-all, --version, the man page, the README
 *                 table */
#ifndef LOADER_CLI_IMPL_H
#define LOADER_CLI_IMPL_H

#include "loader/cli.h"

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
  OPT_COLUMNS_HAVE_TYPES,
  OPT_TYPES,
  OPT_PARSE_GRACE,
  OPT_DELIMITER,
  OPT_TSV,
  OPT_QUOTE,
  OPT_TRIM,
  OPT_SKIP_LINES,
  OPT_COMMENT,
  OPT_HEADER_LINE,
  OPT_FIELDS,
  OPT_FIELD_FILE,
  OPT_REJECTS,
  OPT_MAX_ERRORS,
  OPT_RETRIES,
  OPT_RETRY_MAX_WAIT,
  OPT_MODE,
  OPT_UPSERT_FIELDS,
  OPT_ID_FROM,
  OPT_PASSWORD_FILE,
  OPT_CHECKPOINT,
  OPT_RESUME,
  OPT_HELP_MARKDOWN,
  OPT_SPLIT,
  OPT_PART,
  OPT_MAX_RATE,
  OPT_HELP_MAN,
  OPT_PROGRESS,
  OPT_INFER,
  OPT_SAMPLE_ROWS,
  OPT_TYPE,
  OPT_HELP_ALL,
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

/* The one table of options, in --help order (cli.c). */
extern const cli_option_t cli__options[];
extern const size_t cli__n_options;

/* cli_help.c */
void cli__print_markdown(FILE *out);
void cli__print_man(FILE *out);
void cli__print_version(void);

/* cli_args.c: each returns false and fills error (LOADER_ERROR_USAGE, or
 * LOADER_ERROR_IO when out of memory) naming the option. */
bool cli__number(const char *name, const char *text, uint64_t min, uint64_t max,
                 uint64_t *out, bson_error_t *error);
bool cli__size(const char *name, const char *text, size_t max, size_t *out,
               bson_error_t *error);
bool cli__byte(const char *name, const char *text, unsigned char *out,
               bson_error_t *error);
bool cli__fields(options_t *opts, const char *list, bson_error_t *error);
bool cli__field_file(options_t *opts, const char *path, bson_error_t *error);
bool cli__replace(char **slot, const char *value, bson_error_t *error);

/* cli_inputs.c */
bool cli__add_input(options_t *opts, const char *arg, bson_error_t *error);

#endif
