/* cli_args: option values checked and converted: whole numbers in a range,
 * one-byte values, field-name lists and files, strings replaced. */
#include "cli_impl.h"
#include "loader/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parses a whole-number option value from min to max. */
bool cli__number(const char *name, const char *text, uint64_t min, uint64_t max,
                 uint64_t *out, bson_error_t *error)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max || text[0] == '-' ||
      text[0] == '+' || text[0] == ' ') {
    bson_set_error(
        error, LOADER_ERROR_USAGE, 0,
        "--%s: expected a whole number from %llu to %llu, got \"%s\"", name,
        (unsigned long long)min, (unsigned long long)max, text);
    return false;
  }
  *out = v;
  return true;
}

/* Parses a positive size option value no larger than max. */
bool cli__size(const char *name, const char *text, size_t max, size_t *out,
               bson_error_t *error)
{
  uint64_t v;
  if (!cli__number(name, text, 1, max, &v, error))
    return false;
  *out = (size_t)v;
  return true;
}

/* Parses a one-byte option value: the byte itself, "tab" or "\t". */
bool cli__byte(const char *name, const char *text, unsigned char *out,
               bson_error_t *error)
{
  if (strcmp(text, "tab") == 0 || strcmp(text, "\\t") == 0)
    *out = '\t';
  else if (strlen(text) == 1 && text[0] != '\n' && text[0] != '\r')
    *out = (unsigned char)text[0];
  else {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--%s: expected one character (or \"tab\"), got \"%s\"",
                   name, text);
    return false;
  }
  return true;
}

/* Appends a field name given on the command line or in a field file. */
static bool cli__add_field(options_t *opts, const char *name, size_t len,
                           bson_error_t *error)
{
  char **f = realloc(opts->fields, (opts->n_fields + 1) * sizeof *f);
  char *copy = f ? strndup(name, len) : NULL;
  if (f)
    opts->fields = f;
  if (!copy) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  opts->fields[opts->n_fields++] = copy;
  return true;
}

/* --fields a,b,c */
bool cli__fields(options_t *opts, const char *list, bson_error_t *error)
{
  for (const char *p = list;;) {
    size_t len = strcspn(p, ",");
    if (!cli__add_field(opts, p, len, error))
      return false;
    if (!p[len])
      return true;
    p += len + 1;
  }
}

/* --field-file F: one name per line; empty lines are skipped. */
bool cli__field_file(options_t *opts, const char *path, bson_error_t *error)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno,
                   "--field-file: %s: %s", path, strerror(errno));
    return false;
  }
  char line[4096];
  bool ok = true;
  while (ok && fgets(line, sizeof line, f)) {
    size_t len = strcspn(line, "\r\n");
    if (len > 0)
      ok = cli__add_field(opts, line, len, error);
  }
  fclose(f);
  return ok;
}

bool cli__replace(char **slot, const char *value, bson_error_t *error)
{
  char *copy = strdup(value);
  if (!copy) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  free(*slot);
  *slot = copy;
  return true;
}
