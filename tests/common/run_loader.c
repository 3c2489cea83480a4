#include "run_loader.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *read_file_text(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len - 1 == 0) {
      char *grown = realloc(buf, cap * 2);
      if (!grown) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = grown;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf)
    buf[len] = '\0';
  return buf;
}

char *test_tmp_path(const char *name)
{
  static char dir[256];
  if (!dir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/loader-test-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
      perror("mkdtemp");
      abort();
    }
  }
  size_t len = strlen(dir) + strlen(name) + 2;
  char *path = malloc(len);
  snprintf(path, len, "%s/%s", dir, name);
  return path;
}

/* Spawns argv with stdout and stderr to files and returns its status. */
static int run__spawn(char *const *argv, const char *out_path,
                      const char *err_path)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "test: cannot start %s: %s\n", argv[0], strerror(rc));
    abort();
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    ;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

/* Returns {$LOADER_BIN, args..., NULL} (free() the array, not the
 * strings); aborts when LOADER_BIN is not set. */
static char **run__argv(const char *const *args)
{
  const char *bin = getenv("LOADER_BIN");
  if (!bin || !*bin) {
    fprintf(stderr, "test: LOADER_BIN is not set; run through ctest\n");
    abort();
  }
  size_t n = 0;
  while (args[n])
    n++;
  char **argv = calloc(n + 2, sizeof *argv);
  if (!argv)
    abort();
  argv[0] = (char *)bin;
  for (size_t i = 0; i < n; i++)
    argv[i + 1] = (char *)args[i];
  return argv;
}

int run_loader(const char *const *args, loader_output_t *out)
{
  char **argv = run__argv(args);
  char *out_path = test_tmp_path("loader.stdout");
  char *err_path = test_tmp_path("loader.stderr");
  int status = run__spawn(argv, out_path, err_path);
  if (out) {
    out->status = status;
    out->out = read_file_text(out_path);
    out->err = read_file_text(err_path);
    if (!out->out)
      out->out = strdup("");
    if (!out->err)
      out->err = strdup("");
  }
  /* Shown by ctest --output-on-failure. */
  char *text = read_file_text(err_path);
  if (text && *text)
    fprintf(stderr, "[loader stderr]\n%s", text);
  free(text);
  free(out_path);
  free(err_path);
  free(argv);
  return status;
}

pid_t spawn_loader(const char *const *args, const char *stdout_path)
{
  char **argv = run__argv(args);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1,
                                   stdout_path ? stdout_path : "/dev/null",
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  free(argv);
  if (rc != 0) {
    fprintf(stderr, "test: cannot start the loader: %s\n", strerror(rc));
    abort();
  }
  return pid;
}

void loader_output_free(loader_output_t *out)
{
  free(out->out);
  free(out->err);
  out->out = out->err = NULL;
}

bool test_generate(const char *kind, long rows, long seed, const char *path)
{
  const char *bin = getenv("LOADER_GEN_BIN");
  if (!bin || !*bin)
    return false;
  char rows_s[32], seed_s[32];
  snprintf(rows_s, sizeof rows_s, "%ld", rows);
  snprintf(seed_s, sizeof seed_s, "%ld", seed);
  char *argv[] = {(char *)bin, (char *)kind, rows_s,       "--seed",
                  seed_s,      "-o",         (char *)path, NULL};
  char *o = test_tmp_path("gen.stdout");
  char *e = test_tmp_path("gen.stderr");
  int status = run__spawn(argv, o, e);
  free(o);
  free(e);
  return status == 0;
}
