/* Runs the loader executable ($LOADER_BIN) as a user would, and captures
 * what it said. */
#ifndef LOADER_TEST_RUN_LOADER_H
#define LOADER_TEST_RUN_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct loader_output {
  int status; /* exit code, or 128 + signal when killed */
  char *out;  /* everything it printed on stdout (owned) */
  char *err;  /* everything it printed on stderr (owned) */
} loader_output_t;

/* Runs $LOADER_BIN with args (a NULL-terminated list, without argv[0]) and
 * waits for it. Returns the exit status and fills *out when out is not NULL
 * (loader_output_free() it). Aborts the test program when the loader cannot
 * be started. */
int run_loader(const char *const *args, loader_output_t *out);

/* Starts $LOADER_BIN with args (NULL-terminated, without argv[0]) and
 * returns its pid without waiting; its stdout goes to stdout_path (or
 * /dev/null when NULL), its stderr to the test's. For tests that signal or
 * kill the loader mid-run. Aborts when it cannot be started. */
pid_t spawn_loader(const char *const *args, const char *stdout_path);

/* Frees the captured output. */
void loader_output_free(loader_output_t *out);

/* Reads a whole small file into a NUL-terminated string (caller frees), or
 * returns NULL. */
char *read_file_text(const char *path);

/* Returns a path under a fresh temporary directory of this test process:
 * "<tmpdir>/<name>" (caller frees). The directory is made on first use. */
char *test_tmp_path(const char *name);

/* Runs $LOADER_GEN_BIN KIND ROWS --seed SEED -o PATH; returns true on
 * success. */
bool test_generate(const char *kind, long rows, long seed, const char *path);

#endif
