/* Error domains of the loader's own errors.
 *
 * Every fallible call returns bool and fills a trailing bson_error_t
 * {domain, code, message}. Errors that come from libmongoc keep libmongoc's
 * domain and the server's code (11000 stays 11000); the loader's own errors
 * use the domains below. */
#ifndef LOADER_ERROR_H
#define LOADER_ERROR_H

#include <bson/bson.h>

typedef enum loader_error_domain {
  LOADER_ERROR_USAGE = 1000, /* bad option or argument */
  LOADER_ERROR_IO,           /* opening or reading an input, writing output */
  LOADER_ERROR_INPUT,        /* malformed input: header, record, value */
  LOADER_ERROR_SINK,         /* the target database, detected by the loader */
  LOADER_ERROR_INTERRUPTED,  /* stopped by a signal */
} loader_error_domain_t;

/* Exit codes, documented in --help and the README. */
enum {
  LOADER_EXIT_OK = 0,          /* every row loaded */
  LOADER_EXIT_PARTIAL = 1,     /* finished, but rows rejected or jobs failed */
  LOADER_EXIT_USAGE = 2,       /* usage error; nothing was written */
  LOADER_EXIT_CONNECT = 3,     /* cannot connect or authenticate */
  LOADER_EXIT_NOT_DURABLE = 4, /* every row landed, but some batches did
                                  not satisfy the write concern */
  LOADER_EXIT_INTERRUPTED = 130, /* stopped by SIGINT/SIGTERM */
};

/* Returns true when error describes a failure to reach or authenticate with
 * the server (as opposed to an error the server answered with). */
bool loader_error_is_connection(const bson_error_t *error);

#endif
