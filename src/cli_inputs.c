/* cli_inputs: the FILE arguments as inputs: "path", "name=path", a
 * directory's loadable files, a glob the shell left alone, "name=-". */
#include "cli_impl.h"
#include "loader/util.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Appends one input, taking collection and path (NULL for either: out of
 * memory). */
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
    return cli__out_of_memory(error);
  }
  opts->inputs = inputs;
  inputs[opts->n_inputs++] = (input_t){collection, path};
  if (!*collection || !*path || strchr(collection, '$') ||
      strlen(collection) > 200)
    return CLI_REFUSE(error,
                      "%s: cannot name a collection \"%s\" (give name=path "
                      "with a name of 1-200 characters, no '$')",
                      path, collection);
  return true;
}

/* Appends the input of one file: into collection, or when that is NULL
 * into the collection the file's name says. */
static bool cli__push_file(options_t *opts, const char *collection,
                           const char *path, bson_error_t *error)
{
  return cli__push_input(
      opts, collection ? strdup(collection) : util_collection_from_path(path),
      strdup(path), error);
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

/* Appends "dir/name" to *paths (*n of them). */
static bool cli__append_path(char ***paths, size_t *n, const char *dir,
                             const char *name)
{
  char **grown = realloc(*paths, (*n + 1) * sizeof *grown);
  size_t len = strlen(dir) + strlen(name) + 2;
  char *path = grown ? malloc(len) : NULL;
  if (grown)
    *paths = grown;
  if (!path)
    return false;
  snprintf(path, len, "%s/%s", dir, name);
  grown[(*n)++] = path;
  return true;
}

/* Adds the loadable files of directory dir (cli__loadable_name()), in
 * sorted order; refuses a directory without any. */
static bool cli__add_directory(options_t *opts, const char *collection,
                               const char *dir, bson_error_t *error)
{
  DIR *d = opendir(dir);
  if (!d) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", dir,
                   strerror(errno));
    return false;
  }
  char **paths = NULL;
  size_t n = 0;
  bool ok = true;
  struct dirent *e;
  while (ok && (e = readdir(d)) != NULL)
    if (cli__loadable_name(e->d_name))
      ok = cli__append_path(&paths, &n, dir, e->d_name) ||
           cli__out_of_memory(error);
  closedir(d);
  if (ok && n == 0)
    ok = CLI_REFUSE(error, "%s: a directory with no .csv, .tsv or .json files",
                    dir);
  if (ok)
    qsort(paths, n, sizeof *paths, cli__cmp_str);
  for (size_t i = 0; i < n && ok; i++)
    ok = cli__push_file(opts, collection, paths[i], error);
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  return ok;
}

/* Adds the files a glob the shell left alone matches (glob() sorts them);
 * refuses one that matches nothing. */
static bool cli__add_glob(options_t *opts, const char *collection,
                          const char *pattern, bson_error_t *error)
{
  glob_t g = {0};
  bool ok = (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) ||
            CLI_REFUSE(error, "%s: no file matches", pattern);
  for (size_t i = 0; i < g.gl_pathc && ok; i++)
    ok = cli__push_file(opts, collection, g.gl_pathv[i], error);
  globfree(&g);
  return ok;
}

/* Adds the paths a FILE argument stands for: a directory's loadable files,
 * the matches of a glob, or the path itself; collection, when not NULL,
 * names the collection of all of them. */
static bool cli__add_expanded(options_t *opts, const char *collection,
                              const char *arg, bson_error_t *error)
{
  struct stat st;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
    return cli__add_directory(opts, collection, arg, error);
  if (strpbrk(arg, "*?[") && stat(arg, &st) != 0)
    return cli__add_glob(opts, collection, arg, error);
  return cli__push_file(opts, collection, arg, error);
}

/* Adds a FILE argument: "path", "name=path", a directory, a glob, or
 * "name=-" for standard input. */
bool cli__add_input(options_t *opts, const char *arg, bson_error_t *error)
{
  const char *eq = strchr(arg, '=');
  const char *slash = strchr(arg, '/');
  if (eq && (!slash || eq < slash)) {
    char *name = strndup(arg, (size_t)(eq - arg));
    if (!name)
      return cli__out_of_memory(error);
    bool ok = strcmp(eq + 1, "-") == 0
                  ? cli__push_input(opts, strdup(name), strdup("-"), error)
                  : cli__add_expanded(opts, name, eq + 1, error);
    free(name);
    return ok;
  }
  return cli__add_path(opts, NULL, arg, error);
}

bool cli__add_path(options_t *opts, const char *collection, const char *path,
                   bson_error_t *error)
{
  if (strcmp(path, "-") == 0)
    return collection ? cli__push_file(opts, collection, path, error)
                      : CLI_REFUSE(error, "standard input needs a collection "
                                          "name: name=- (or -c NAME)");
  return cli__add_expanded(opts, collection, path, error);
}
