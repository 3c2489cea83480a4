/* cli_inputs: the FILE arguments as inputs: "path", "name=path", a
 * directory's loadable files, a glob the shell left alone, "name=-". */
#include "cli_impl.h"
#include "loader/error.h"
#include "loader/util.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Appends one input. */
static bool cli__push_input(options_t *opts, char *collection, char *path,
                            bson_error_t *error)
{
  input_t *inputs =
      realloc(opts->inputs, (opts->n_inputs + 1) * sizeof *inputs);
  if (!inputs || !collection || !path) {
    free(collection);
    free(path);
    if (inputs)
      opts->inputs = inputs;
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  opts->inputs = inputs;
  inputs[opts->n_inputs++] = (input_t){collection, path};
  if (!*collection || !*path || strchr(collection, '$') ||
      strlen(collection) > 200) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "%s: cannot name a collection \"%s\" (give name=path with a "
                   "name of 1-200 characters, no '$')",
                   path, collection);
    return false;
  }
  return true;
}

/* Returns true for the files a directory argument loads. */
static bool cli__loadable_name(const char *name)
{
  static const char *const ext[] = {
      ".csv",    ".tsv",   ".csv.gz",  ".tsv.gz",    ".json",
      ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz"};
  size_t len = strlen(name);
  if (name[0] == '.')
    return false;
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    size_t e = strlen(ext[i]);
    if (len > e && strcmp(name + len - e, ext[i]) == 0)
      return true;
  }
  return false;
}

static int cli__cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the paths a FILE argument stands for, in sorted order: a directory's
 * CSV/TSV files (also gzipped), or the matches of a glob the shell left
 * alone; collection, when given, names the collection of all of them. */
static bool cli__add_expanded(options_t *opts, const char *collection,
                              const char *arg, bson_error_t *error)
{
  char **paths = NULL;
  size_t n = 0;
  struct stat st;
  glob_t g = {0};
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
    DIR *dir = opendir(arg);
    if (!dir) {
      bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", arg,
                     strerror(errno));
      return false;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      if (!cli__loadable_name(e->d_name))
        continue;
      char **grown = realloc(paths, (n + 1) * sizeof *paths);
      size_t len = strlen(arg) + strlen(e->d_name) + 2;
      char *p = grown ? malloc(len) : NULL;
      if (grown)
        paths = grown;
      if (!p)
        break;
      snprintf(p, len, "%s/%s", arg, e->d_name);
      paths[n++] = p;
    }
    closedir(dir);
    if (n == 0) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "%s: a directory with no .csv, .tsv or .json files", arg);
      free(paths);
      return false;
    }
    qsort(paths, n, sizeof *paths, cli__cmp_str);
  } else if (strpbrk(arg, "*?[") && stat(arg, &st) != 0) {
    if (glob(arg, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0, "%s: no file matches", arg);
      globfree(&g);
      return false;
    }
  } else {
    return cli__push_input(
        opts, collection ? strdup(collection) : util_collection_from_path(arg),
        strdup(arg), error);
  }
  bool ok = true;
  size_t count = paths ? n : g.gl_pathc;
  for (size_t i = 0; i < count && ok; i++) {
    const char *p = paths ? paths[i] : g.gl_pathv[i];
    ok = cli__push_input(
        opts, collection ? strdup(collection) : util_collection_from_path(p),
        strdup(p), error);
  }
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  globfree(&g);
  return ok;
}

/* Adds a FILE argument: "path", "name=path", a directory, a glob, or
 * "name=-" for standard input. */
bool cli__add_input(options_t *opts, const char *arg, bson_error_t *error)
{
  const char *eq = strchr(arg, '=');
  const char *slash = strchr(arg, '/');
  if (eq && (!slash || eq < slash)) {
    char *name = strndup(arg, (size_t)(eq - arg));
    if (!name) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    bool ok = strcmp(eq + 1, "-") == 0
                  ? cli__push_input(opts, strdup(name), strdup("-"), error)
                  : cli__add_expanded(opts, name, eq + 1, error);
    free(name);
    return ok;
  }
  if (strcmp(arg, "-") == 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "standard input needs a collection name: name=-");
    return false;
  }
  return cli__add_expanded(opts, NULL, arg, error);
}
