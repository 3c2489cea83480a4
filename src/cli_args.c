/* cli_args: option values checked, converted and stored: whole numbers in a
 * range, one-byte values, keywords, strings, lists of names. */
#include "cli_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool cli__out_of_memory(bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return false;
}

bool cli__number(const char *name, const char *text, uint64_t min, uint64_t max,
                 uint64_t *out, bson_error_t *error)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max || text[0] == '-' ||
      text[0] == '+' || text[0] == ' ')
    return CLI_REFUSE(
        error, "--%s: expected a whole number from %llu to %llu, got \"%s\"",
        name, (unsigned long long)min, (unsigned long long)max, text);
  *out = v;
  return true;
}

bool cli__byte(const char *name, const char *text, unsigned char *out,
               bson_error_t *error)
{
  if (strcmp(text, "tab") == 0 || strcmp(text, "\\t") == 0)
    *out = '\t';
  else if (strlen(text) == 1 && text[0] != '\n' && text[0] != '\r')
    *out = (unsigned char)text[0];
  else
    return CLI_REFUSE(error,
                      "--%s: expected one character (or \"tab\"), got \"%s\"",
                      name, text);
  return true;
}

bool cli__keyword(const char *name, const cli_word_t *words, const char *text,
                  int *out, bson_error_t *error)
{
  size_t n;
  for (n = 0; words[n].word; n++) {
    if (strcmp(words[n].word, text) == 0) {
      *out = words[n].value;
      return true;
    }
  }
  /* "expected a, b or c" */
  char expected[256] = "";
  for (size_t i = 0; i < n; i++) {
    const char *sep = i == 0 ? "" : i + 1 < n ? ", " : " or ";
    size_t len = strlen(expected);
    snprintf(expected + len, sizeof expected - len, "%s%s", sep, words[i].word);
  }
  return CLI_REFUSE(error, "--%s: expected %s, got \"%s\"", name, expected,
                    text);
}

bool cli__replace(char **slot, const char *value, bson_error_t *error)
{
  char *copy = strdup(value);
  if (!copy)
    return cli__out_of_memory(error);
  free(*slot);
  *slot = copy;
  return true;
}

/* Appends the len bytes at name to *names (*n of them). */
static bool cli__append_name(char ***names, size_t *n, const char *name,
                             size_t len, bson_error_t *error)
{
  char **grown = realloc(*names, (*n + 1) * sizeof *grown);
  char *copy = grown ? strndup(name, len) : NULL;
  if (grown)
    *names = grown;
  if (!copy)
    return cli__out_of_memory(error);
  grown[(*n)++] = copy;
  return true;
}

bool cli__append_names(char ***names, size_t *n, const char *list,
                       const char *refuse_empty_for, bson_error_t *error)
{
  for (const char *p = list;;) {
    size_t len = strcspn(p, ",");
    if (len == 0 && refuse_empty_for)
      return CLI_REFUSE(error, "--%s: empty field name in \"%s\"",
                        refuse_empty_for, list);
    if (!cli__append_name(names, n, p, len, error))
      return false;
    if (!p[len])
      return true;
    p += len + 1;
  }
}

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
      ok = cli__append_name(&opts->fields, &opts->n_fields, line, len, error);
  }
  fclose(f);
  return ok;
}

bool cli__store(options_t *opts, const cli_option_t *o, const char *arg,
                bson_error_t *error)
{
  void *field = (char *)opts + o->field;
  uint64_t v;
  int value;
  switch (o->kind) {
  case CLI_ARG_BOOL:
    *(bool *)field = o->value != 0;
    return true;
  case CLI_ARG_ENUM:
    /* The table checks that the field is an enum of int's size. */
    memcpy(field, &o->value, sizeof o->value);
    return true;
  case CLI_ARG_SIZE:
    if (!cli__number(o->name, arg, o->min, o->max, &v, error))
      return false;
    *(size_t *)field = (size_t)v;
    return true;
  case CLI_ARG_U64:
    return cli__number(o->name, arg, o->min, o->max, field, error);
  case CLI_ARG_UNSIGNED:
    if (!cli__number(o->name, arg, o->min, o->max, &v, error))
      return false;
    *(unsigned *)field = (unsigned)v;
    return true;
  case CLI_ARG_STRING:
    return cli__replace(field, arg, error);
  case CLI_ARG_BYTE:
    return cli__byte(o->name, arg, field, error);
  case CLI_ARG_KEYWORD:
    if (!cli__keyword(o->name, o->words, arg, &value, error))
      return false;
    memcpy(field, &value, sizeof value);
    return true;
  case CLI_ARG_HANDLER:
  case CLI_ARG_PRINT:
  case CLI_ARG_STATE_STRING:
  case CLI_ARG_STATE_BOOL:
    break;
  }
  return CLI_REFUSE(error, "--%s: not a stored option", o->name);
}
