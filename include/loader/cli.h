/* cli: the command line, parsed into options_t.
 *
 * One option table holds each option's long name, short letter, argument,
 * help line and what it does (src/cli.c; its types in src/cli_impl.h);
 * --help, the man page and the README's table are printed from it and
 * parsing walks it with getopt_long(), so they cannot drift. */
#ifndef LOADER_CLI_H
#define LOADER_CLI_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loader/csv_reader.h"
#include "loader/doc_builder.h"
#include "loader/sink.h"

/* One FILE argument: "path.csv" or "name=path.csv". */
typedef struct input {
  char *collection; /* collection (or table) name */
  char *path;       /* file to read */
} input_t;

/* Which runs to make. */
typedef enum cli_mode {
  CLI_MODE_PARALLEL, /* the jobs on a pool of workers (default) */
  CLI_MODE_LINEAR,   /* the jobs one after another on the main thread */
  CLI_MODE_COMPARE,  /* linear, then parallel, side by side */
} cli_mode_t;

/* When progress is drawn on stderr (--progress); never with --quiet. */
typedef enum cli_progress {
  CLI_PROGRESS_AUTO,   /* redrawn in place when stderr is a terminal
                          (default) */
  CLI_PROGRESS_ALWAYS, /* redrawn in place even when it is not */
  CLI_PROGRESS_NEVER,  /* not drawn */
  CLI_PROGRESS_PLAIN,  /* plain lines every few seconds, for logs */
} cli_progress_t;

/* What the input files hold (--type). */
typedef enum cli_input_type {
  CLI_INPUT_BY_NAME, /* each file's extension says (default) */
  CLI_INPUT_CSV,     /* CSV, whatever the names */
  CLI_INPUT_TSV,     /* CSV with tabs: --type tsv also sets the delimiter */
  CLI_INPUT_JSON,    /* newline-delimited JSON or one JSON array */
} cli_input_type_t;

typedef struct options {
  char *uri;                  /* target URI (--uri, $MONGODB_URI, or default) */
  char *db;                   /* database name (--db), or NULL for the URI's */
  cli_mode_t mode;            /* --linear / --parallel / --compare */
  size_t workers;             /* -j, 0 = number of CPUs */
  size_t batch_size;          /* documents per batch */
  size_t batch_bytes;         /* bytes per batch (--batch-bytes) */
  unsigned inflight;          /* --inflight: batches on the wire per job */
  char *write_concern;        /* --write-concern, or NULL: the URI's */
  bool drop;                  /* drop each collection before loading */
  bool dry_run;               /* build documents, write nothing */
  bool quiet;                 /* no report on stdout */
  char *report_json;          /* --report-json PATH, or NULL */
  csv_dialect_t dialect;      /* how to read the files */
  doc_options_t doc;          /* how to build the documents (doc.types points
                                 into types below) */
  char *types;                /* --types list, or NULL */
  char *null_values;          /* --null-values list, or NULL */
  char *rejects;              /* --rejects PATH, or NULL */
  uint64_t max_errors;        /* --max-errors N; UINT64_MAX when unlimited */
  double max_errors_ratio;    /* --max-errors P%, as a fraction; 0: none */
  char **fields;              /* --fields / --field-file names, or NULL: the
                                 first record of each file is its header */
  size_t n_fields;            /* how many */
  unsigned retries;           /* --retries N */
  unsigned retry_max_wait_ms; /* --retry-max-wait, in milliseconds */
  sink_mode_t mode_write;     /* --mode insert|upsert|merge|delete */
  bool stop_on_error;         /* --stop-on-error, --maintain-insertion-order:
                                 ordered writes, stop at the first refusal */
  bool bypass_validation;     /* --bypass-document-validation */
  char **upsert_fields;       /* --upsert-fields names, or NULL for _id */
  size_t n_upsert_fields;     /* how many */
  char *id_fields;            /* --id-from FIELD[,FIELD] list, or NULL */
  char *password_file;        /* --password-file PATH, or NULL */
  char *checkpoint;           /* --checkpoint PATH, or NULL */
  bool resume;                /* --resume */
  unsigned split;             /* --split N: parts per file (0: none) */
  bool split_auto;            /* --split auto: parts from workers and sizes */
  unsigned part;              /* --part i/n: the i (1-based), or 0 */
  unsigned part_of;           /* --part i/n: the n */
  uint64_t max_rate;          /* --max-rate rows a second, 0: unlimited */
  cli_progress_t progress;    /* --progress */
  bool infer;                 /* --infer: preview types, write nothing */
  cli_input_type_t input_type; /* --type */
  uint64_t sample_rows;        /* --sample-rows N for --infer */
  input_t *inputs;             /* the FILE arguments, in order */
  size_t n_inputs;             /* how many */
  bool verify;                 /* --verify: read back and compare after the
                                  load */
  bool verify_only;            /* --verify-only: no load, only that */
  char **indexes;              /* --index SPEC texts, in order (checked) */
  size_t n_indexes;            /* how many */
} options_t;

/* What cli_parse() decided. */
typedef enum cli_status {
  CLI_RUN,  /* options are complete: load */
  CLI_EXIT, /* --help or --version was printed: exit 0 */
  CLI_USAGE /* bad command line: error says why; exit 2 */
} cli_status_t;

/* Parses argv into *opts (cli_options_cleanup() frees it, whatever the
 * status). Prints --help / --version to stdout itself. Reads $MONGODB_URI
 * when --uri is absent. */
cli_status_t cli_parse(int argc, char **argv, options_t *opts,
                       bson_error_t *error);

/* Prints the help to out: the common options on one screen (40 lines of
 * at most 80 columns), or every option with all. */
void cli_print_help(FILE *out, bool all);

/* Frees what cli_parse() allocated. */
void cli_options_cleanup(options_t *opts);

#endif
