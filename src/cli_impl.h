/* cli_impl.h: what the pieces of the command line share; private to
 * src/cli*.c (the public interface is include/loader/cli.h).
 *
 *   cli.c         the option table, the parse loop, the defaults
 *   cli_args.c    option values checked, converted and stored
 *   cli_inputs.c  FILE arguments: name=path, directories, globs, stdin
 *   cli_rules.c   the rules between options, in one place
 *   cli_help.c    --help, --help-all, --version, the man page, the README
 *                 table
 *   cli_mongoimport.c  mongoimport's options that are not spellings of the
 *                 loader's own: the collection, --file, the connection
 *                 flags composed into the URI
 *
 * Each entry of the option table says what its argument is and, for most
 * options, which options_t field it sets (as curl's struct LongShort says
 * ARG_BOOL, ARG_STRING...): cli__store() does those, and only options with
 * logic of their own have a handler. An alias (mongoimport's --headerline,
 * -d...) names the option it stands for and does exactly what that option
 * does: adding one is one line in the table (CLI_ALIAS). */
#ifndef LOADER_CLI_IMPL_H
#define LOADER_CLI_IMPL_H

#include "loader/cli.h"
#include "loader/error.h"

/* What an option's argument is and what giving the option does. All but
 * CLI_ARG_HANDLER, CLI_ARG_PRINT and the CLI_ARG_STATE kinds store into the
 * options_t field at cli_option_t.field, whose type the table checks when
 * it is compiled; the CLI_ARG_STATE kinds store into the cli_state_t field
 * there, for what is settled once argv is used up. */
typedef enum cli_arg {
  CLI_ARG_BOOL,     /* no argument: the bool field becomes value */
  CLI_ARG_ENUM,     /* no argument: the enum field becomes value */
  CLI_ARG_SIZE,     /* N: a size_t from min to max */
  CLI_ARG_U64,      /* N: a uint64_t from min to max */
  CLI_ARG_UNSIGNED, /* N: an unsigned from min to max */
  CLI_ARG_STRING,   /* TEXT: a copy replaces the char * field (last wins) */
  CLI_ARG_BYTE,     /* C: an unsigned char, the byte itself or "tab" */
  CLI_ARG_KEYWORD,  /* WORD: one of words; its value goes to the enum field */
  CLI_ARG_HANDLER,  /* whatever handler does */
  CLI_ARG_PRINT,    /* no argument: print writes to stdout, and cli_parse()
                       returns CLI_EXIT */
  CLI_ARG_STATE_STRING, /* TEXT: the const char * field of cli_state_t
                           points to it (last wins) */
  CLI_ARG_STATE_BOOL,   /* no argument: the bool field of cli_state_t
                           becomes true */
} cli_arg_t;

/* Which help lists an option. */
typedef enum cli_show {
  CLI_SHOW_ALL,    /* --help-all, the man page and the README (default) */
  CLI_SHOW_COMMON, /* those and the one-screen --help: what most loads need */
  CLI_SHOW_NEVER,  /* none: the printers of the man page and README table */
} cli_show_t;

/* One word a CLI_ARG_KEYWORD option accepts. */
typedef struct cli_word {
  const char *word; /* as typed; NULL ends a list */
  int value;        /* the enum value it stands for */
} cli_word_t;

/* mongoimport's connection flags (--host, -u, -p, --ssl...), composed into
 * the URI once argv is used up; each points into argv, or is NULL when not
 * given. */
typedef struct cli_conn {
  const char *host;          /* --host [SET/]HOST[:PORT][,HOST...] */
  const char *port;          /* --port */
  const char *user;          /* -u, --username */
  const char *password;      /* -p, --password: never printed */
  const char *auth_db;       /* --authenticationDatabase */
  const char *mechanism;     /* --authenticationMechanism */
  const char *ca_file;       /* --sslCAFile, --tlsCAFile */
  const char *cert_key_file; /* --sslPEMKeyFile */
  const char *cert_key_pass; /* --sslPEMKeyPassword: never printed */
  bool tls;                  /* --ssl, --tls */
  bool tls_insecure;         /* --tlsInsecure */
  bool allow_invalid_certs;  /* --sslAllowInvalidCertificates */
  bool allow_invalid_hosts;  /* --sslAllowInvalidHostnames */
  const char *first;         /* the first of them given, for errors */
} cli_conn_t;

/* What a handler works on while argv is parsed. */
typedef struct cli_state {
  options_t *opts;        /* being filled */
  bool header_line;       /* --header-line was given */
  bool id_given;          /* --id-from was given */
  bool mode_given;        /* --mode was given */
  const char *collection; /* -c, --collection NAME, or NULL (in argv) */
  const char *file;       /* --file PATH, or NULL (in argv) */
  const char *uri_arg;    /* a mongodb:// URI given as a FILE argument, as
                             mongoimport takes it, or NULL (in argv) */
  const char **files;     /* the FILE arguments, in order (into argv), added
                             to opts->inputs once argv is used up */
  size_t n_files;         /* how many */
  cli_conn_t conn;        /* mongoimport's connection flags */
} cli_state_t;

/* Does what an option with logic of its own does with its argument (NULL
 * for an option without one). Returns false and fills error when the
 * argument is wrong. */
typedef bool cli_handler_t(cli_state_t *st, const char *arg,
                           bson_error_t *error);

/* One command-line option. */
typedef struct cli_option {
  const char *name;         /* long name, without "--"; NULL for an alias
                               that is only a letter */
  int letter;               /* short letter, or 0 for none */
  const char *arg;          /* argument name for --help, or NULL for a flag */
  const char *group;        /* heading it is listed under in --help, or NULL to
                               stay under the previous one */
  const char *help;         /* one line of help */
  cli_show_t show;          /* which help lists it */
  cli_arg_t kind;           /* what the argument is and what giving it does */
  size_t field;             /* all kinds but HANDLER and PRINT: the offset in
                               options_t of the field set */
  uint64_t min, max;        /* SIZE, U64, UNSIGNED: the values accepted */
  int value;                /* BOOL, ENUM: the value stored */
  const cli_word_t *words;  /* KEYWORD: the words accepted */
  cli_handler_t *handler;   /* HANDLER: what the option does */
  void (*print)(FILE *out); /* PRINT: what the option prints */
  const char *alias_of;     /* an alias: the long name of the option it
                               stands for, which does the work; NULL for
                               the others */
  const char *alias_arg;    /* an alias without an argument of its own: the
                               argument it gives that option (--jsonArray:
                               "json" to --type), or NULL */
  bool arg_optional;        /* the argument may be left out: --verbose[=N],
                               -v, -vvv */
} cli_option_t;

/* The one table of options, in --help order (cli.c). */
extern const cli_option_t cli__options[];
extern const size_t cli__n_options;

/* Fills error with a usage error and is false:
 * `return CLI_REFUSE(error, "--x: expected ...", ...);` */
#define CLI_REFUSE(error, ...)                                                 \
  (bson_set_error((error), LOADER_ERROR_USAGE, 0, __VA_ARGS__), false)

/* cli_args.c. Each returns false and fills error: LOADER_ERROR_USAGE with
 * the option's name and the text given, or LOADER_ERROR_IO when out of
 * memory. */

/* Does what option o (any kind but HANDLER and PRINT) does with arg. */
bool cli__store(options_t *opts, const cli_option_t *o, const char *arg,
                bson_error_t *error);
/* Parses a whole number from min to max for option --name. */
bool cli__number(const char *name, const char *text, uint64_t min, uint64_t max,
                 uint64_t *out, bson_error_t *error);
/* Parses a one-byte value for option --name: the byte, "tab" or "\t". */
bool cli__byte(const char *name, const char *text, unsigned char *out,
               bson_error_t *error);
/* Parses one of words for option --name. */
bool cli__keyword(const char *name, const cli_word_t *words, const char *text,
                  int *out, bson_error_t *error);
/* Replaces *slot with a copy of value (freeing the old one). */
bool cli__replace(char **slot, const char *value, bson_error_t *error);
/* Appends the comma-separated names of list to *names (*n of them). An
 * empty name is kept, or refused for option --refuse_empty_for when that
 * is not NULL. */
bool cli__append_names(char ***names, size_t *n, const char *list,
                       const char *refuse_empty_for, bson_error_t *error);
/* Appends the names in the file at path, one a line, skipping empty lines,
 * to opts->fields (--field-file). */
bool cli__field_file(options_t *opts, const char *path, bson_error_t *error);
/* Fills error with "out of memory" and returns false. */
bool cli__out_of_memory(bson_error_t *error);

/* cli_inputs.c: adds a FILE argument ("path", "name=path", a directory, a
 * glob) to opts->inputs. */
bool cli__add_input(options_t *opts, const char *arg, bson_error_t *error);
/* Adds path (a file, a directory, a glob, or "-" for standard input) into
 * collection, or when that is NULL into the collection the file's name
 * says ("-" then is refused): mongoimport's --file and -c. */
bool cli__add_path(options_t *opts, const char *collection, const char *path,
                   bson_error_t *error);

/* cli_mongoimport.c. --verbose[=N], -v, -vvv: accepted as mongoimport
 * takes them, and ignored. */
bool cli__on_verbose(cli_state_t *st, const char *arg, bson_error_t *error);
/* Stores what a CLI_ARG_STATE_* option o says into st. */
void cli__store_state(cli_state_t *st, const cli_option_t *o, const char *arg);
/* Turns what mongoimport's options left in st into the
 * loader's: the FILE arguments, --file and -c into opts->inputs, the
 * connection flags into opts->uri (or a usage error beside --uri). Runs
 * once argv is used up, before $MONGODB_URI is read. */
bool cli__mongoimport_settle(cli_state_t *st, bson_error_t *error);
/* Percent-encodes text (all but RFC 3986's unreserved characters) onto the
 * end of buf; false when out of memory. */
bool cli__pct_append(bson_string_t *buf, const char *text);

/* cli_rules.c. What --mode is when not given: upsert with --upsert-fields
 * (as in mongoimport); before cli__check_rules(). */
void cli__imply_mode(cli_state_t *st);
/* The combinations of options refused, every one of them; expects
 * opts->uri set. */
bool cli__check_rules(const cli_state_t *st, bson_error_t *error);
/* Settles what one option implies for another; after cli__check_rules(). */
void cli__imply(const cli_state_t *st);

/* cli_help.c: the printers of CLI_ARG_PRINT options, to out. */
void cli__print_help_common(FILE *out);
void cli__print_help_all(FILE *out);
void cli__print_version(FILE *out);
void cli__print_markdown(FILE *out);
void cli__print_man(FILE *out);

#endif
