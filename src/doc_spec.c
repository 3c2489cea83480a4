/* doc_spec: a CSV header compiled into a doc_spec_t (see doc_spec.h):
 * names validated, dotted names arranged into a tree, a type per column
 * (".TYPE(ARG)" suffixes, --types), the --id-from columns resolved; and the
 * doc_options_t defaults and the --types syntax check. */
#include "doc_spec.h"
#include "loader/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void docb_options_default(doc_options_t *options)
{
  options->infer = true;
  options->ignore_blanks = false;
  options->add_id = true;
  options->columns_have_types = false;
  options->types = NULL;
  options->grace = DOCB_GRACE_SKIP_ROW;
  options->id_from = DOCB_ID_OBJECTID;
  options->id_fields = NULL;
  options->null_values = NULL;
  options->infer_as = DOCB_INFER_LOADER;
  options->array_index_fields = false;
}

/* Calls fn for each "name:TYPE(ARG)" entry of a --types list. Commas inside
 * parentheses belong to the type. */
static bool docb__each_type(const char *list,
                            bool (*fn)(void *ctx, const char *name,
                                       size_t name_len, const char *spec,
                                       size_t spec_len, bson_error_t *error),
                            void *ctx, bson_error_t *error)
{
  const char *p = list;
  while (*p) {
    const char *end = p;
    int depth = 0;
    while (*end && (depth > 0 || *end != ',')) {
      depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
      end++;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon == p || colon + 1 == end) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--types: expected name:TYPE(ARG), got \"%.*s\"",
                     (int)(end - p), p);
      return false;
    }
    const char *spec = colon + 1;
    size_t spec_len = (size_t)(end - spec);
    /* "zip:string" is short for "zip:string()". */
    char buf[512];
    if (!memchr(spec, '(', spec_len) && spec_len < sizeof buf - 2) {
      memcpy(buf, spec, spec_len);
      memcpy(buf + spec_len, "()", 2);
      spec = buf;
      spec_len += 2;
    }
    if (!fn(ctx, p, (size_t)(colon - p), spec, spec_len, error))
      return false;
    p = *end ? end + 1 : end;
  }
  return true;
}

static bool docb__check_one(void *ctx, const char *name, size_t name_len,
                            const char *spec, size_t spec_len,
                            bson_error_t *error)
{
  (void)ctx;
  types_type_t t;
  if (!types_parse(spec, spec_len, &t, error)) {
    char msg[sizeof error->message];
    snprintf(msg, sizeof msg, "%s", error->message);
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "--types: %.*s: %s",
                   (int)name_len, name, msg);
    return false;
  }
  return true;
}

bool docb_types_check(const char *types, bson_error_t *error)
{
  return docb__each_type(types, docb__check_one, NULL, error);
}

/* Applies one --types entry to the spec's column of that name. */
static bool docb__apply_one(void *ctx, const char *name, size_t name_len,
                            const char *spec, size_t spec_len,
                            bson_error_t *error)
{
  doc_spec_t *sp = ctx;
  for (size_t i = 0; i < sp->n_columns; i++) {
    const char *col = sp->names + sp->name_at[i];
    if (strlen(col) == name_len && memcmp(col, name, name_len) == 0) {
      if (types_parse(spec, spec_len, &sp->types[i], error))
        return true;
      char msg[sizeof error->message];
      snprintf(msg, sizeof msg, "%s", error->message);
      bson_set_error(error, LOADER_ERROR_INPUT, 0, "--types: %.*s: %s",
                     (int)name_len, name, msg);
      return false;
    }
  }
  bson_set_error(error, LOADER_ERROR_INPUT, 0,
                 "--types names \"%.*s\", but the header has no such column",
                 (int)name_len, name);
  return false;
}

size_t docb_spec_columns(const doc_spec_t *spec)
{
  return spec->n_columns;
}

/* Returns the child of parent named key, or DOCB_NONE. */
static size_t docb__find_child(const doc_spec_t *spec, size_t parent,
                               const char *key, size_t len)
{
  for (size_t c = spec->nodes[parent].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling)
    if (spec->nodes[c].key_len == len &&
        memcmp(spec->nodes[c].key, key, len) == 0)
      return c;
  return DOCB_NONE;
}

static size_t docb__add_child(doc_spec_t *spec, size_t parent, const char *key,
                              size_t len, size_t column)
{
  size_t i = spec->n_nodes++;
  spec->nodes[i] =
      (docb_node_t){key, len, column, DOCB_NONE, DOCB_NONE, DOCB_NONE, false};
  docb_node_t *p = &spec->nodes[parent];
  if (p->last_child == DOCB_NONE)
    p->first_child = i;
  else
    spec->nodes[p->last_child].next_sibling = i;
  p->last_child = i;
  return i;
}

/* Returns the first column found under node (for error messages). */
static size_t docb__some_column(const doc_spec_t *spec, size_t node)
{
  while (spec->nodes[node].column == DOCB_NONE)
    node = spec->nodes[node].first_child;
  return spec->nodes[node].column;
}

/* Returns true when seg[0..len) is an array index as mongoimport's
 * isNatNum() has it: a natural number without a leading zero, within
 * int64; stores it in *index. */
static bool docb__is_index(const char *seg, size_t len, uint64_t *index)
{
  if (seg[0] == '0' && len > 1)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (seg[i] < '0' || seg[i] > '9')
      return false;
    uint64_t digit = (uint64_t)(seg[i] - '0');
    if (v > ((uint64_t)INT64_MAX - digit) / 10)
      return false;
    v = v * 10 + digit;
  }
  *index = v;
  return true;
}

/* Checks the array index part seg[0..len) of column's name, under node:
 * node is an array when its first part is an index, and then every part
 * under it is, each new one the next index. Returns false and fills error
 * naming the columns otherwise. */
static bool docb__check_index(doc_spec_t *spec, size_t column, size_t node,
                              const char *seg, size_t len, bson_error_t *error)
{
  const char *name = docb__name(spec, column);
  uint64_t index = 0;
  bool is_index = docb__is_index(seg, len, &index);
  docb_node_t *n = &spec->nodes[node];
  if (n->first_child == DOCB_NONE) {
    n->array = is_index;
    if (!is_index || index == 0)
      return true;
    bson_set_error(error, LOADER_ERROR_INPUT, 0,
                   "header: column %zu \"%s\": array index %.*s, expected 0 "
                   "(array indexes start at 0 and increase by one, in column "
                   "order)",
                   column + 1, name, (int)len, seg);
    return false;
  }
  size_t other = docb__some_column(spec, n->last_child);
  if (n->array != is_index) {
    bson_set_error(error, LOADER_ERROR_INPUT, 0,
                   "header: column %zu \"%s\" conflicts with column %zu "
                   "\"%s\" (\"%.*s\" cannot be both an array and a document)",
                   column + 1, name, other + 1, docb__name(spec, other),
                   (int)(seg - name - 1), name);
    return false;
  }
  if (!is_index || docb__find_child(spec, node, seg, len) != DOCB_NONE)
    return true;
  size_t count = 0;
  for (size_t c = n->first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling)
    count++;
  if (index == count)
    return true;
  bson_set_error(error, LOADER_ERROR_INPUT, 0,
                 "header: column %zu \"%s\": array index %.*s after column "
                 "%zu \"%s\", expected %zu (array indexes start at 0 and "
                 "increase by one, in column order)",
                 column + 1, name, (int)len, seg, other + 1,
                 docb__name(spec, other), count);
  return false;
}

/* Adds column's dotted name to the tree. Fails on an empty segment, a path
 * that is both a value and a document, or (--array-index-fields) an array
 * index out of order or a path both an array and a document. */
static bool docb__insert(doc_spec_t *spec, size_t column, bson_error_t *error)
{
  const char *name = docb__name(spec, column);
  size_t node = 0;
  const char *seg = name;
  for (size_t depth = 1;; depth++) {
    const char *dot = strchr(seg, '.');
    size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
    if (len == 0) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu \"%s\" has an empty name part",
                     column + 1, name);
      return false;
    }
    /* Documents are built by recursion over this tree: its depth is
     * bounded, here, by what MongoDB stores. */
    if (depth > DOCB_MAX_DEPTH) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu \"%.40s...\" has more than %d "
                     "name parts (MongoDB nests at most %d levels)",
                     column + 1, name, DOCB_MAX_DEPTH, DOCB_MAX_DEPTH);
      return false;
    }
    /* The first part is a key of the document even when it is a number. */
    if (spec->options.array_index_fields && node != 0 &&
        !docb__check_index(spec, column, node, seg, len, error))
      return false;
    size_t child = docb__find_child(spec, node, seg, len);
    if (child != DOCB_NONE) {
      bool child_is_leaf = spec->nodes[child].column != DOCB_NONE;
      if (!dot || child_is_leaf) {
        size_t other = docb__some_column(spec, child);
        if (!dot && child_is_leaf)
          bson_set_error(error, LOADER_ERROR_INPUT, 0,
                         "header: columns %zu and %zu are both named \"%s\"",
                         other + 1, column + 1, name);
        else
          bson_set_error(error, LOADER_ERROR_INPUT, 0,
                         "header: column %zu \"%s\" conflicts with column "
                         "%zu \"%s\" (a value cannot also be a document)",
                         column + 1, name, other + 1, docb__name(spec, other));
        return false;
      }
      node = child;
    } else {
      node = docb__add_child(spec, node, seg, len, dot ? DOCB_NONE : column);
    }
    if (!dot)
      return true;
    seg = dot + 1;
  }
}

/* Resolves the --id-from FIELD[,FIELD] names to columns. */
static bool docb__resolve_id(doc_spec_t *spec, const char *list,
                             bson_error_t *error)
{
  for (const char *p = list;;) {
    size_t len = strcspn(p, ",");
    size_t c;
    for (c = 0; c < spec->n_columns; c++) {
      const char *name = docb__name(spec, c);
      if (strlen(name) == len && memcmp(name, p, len) == 0)
        break;
    }
    if (c == spec->n_columns) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "--id-from names \"%.*s\", but the header has no such "
                     "column",
                     (int)len, p);
      return false;
    }
    size_t *cols =
        realloc(spec->id_columns, (spec->n_id_columns + 1) * sizeof *cols);
    if (!cols) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    spec->id_columns = cols;
    spec->id_columns[spec->n_id_columns++] = c;
    if (!p[len])
      return true;
    p += len + 1;
  }
}

/* Splits --null-values at its commas into spec->nulls. Returns false when
 * out of memory. */
static bool docb__spec_nulls(doc_spec_t *spec, const char *list)
{
  if (!list)
    return true;
  size_t n = 1;
  for (const char *p = list; *p; p++)
    n += *p == ',';
  spec->null_text = strdup(list);
  spec->nulls = calloc(n, sizeof *spec->nulls);
  if (!spec->null_text || !spec->nulls)
    return false;
  char *text = spec->null_text;
  for (;;) {
    char *comma = strchr(text, ',');
    if (comma)
      *comma = '\0';
    spec->nulls[spec->n_nulls++] = (field_t){text, strlen(text)};
    if (!comma)
      return true;
    text = comma + 1;
  }
}

doc_spec_t *docb_spec_new(const field_t *names, size_t n_names,
                          const doc_options_t *options, bson_error_t *error)
{
  doc_spec_t *spec = calloc(1, sizeof *spec);
  if (!spec)
    goto out_oom;
  spec->options = *options;
  spec->n_columns = n_names;
  if (!docb__spec_nulls(spec, options->null_values))
    goto out_oom;
  size_t total = 0;
  size_t segments = 0;
  for (size_t i = 0; i < n_names; i++) {
    const field_t *f = &names[i];
    total += f->len + 1;
    segments += 1;
    for (size_t j = 0; j < f->len; j++)
      segments += f->data[j] == '.';
  }
  spec->names = malloc(total ? total : 1);
  spec->name_at = malloc((n_names + 1) * sizeof *spec->name_at);
  spec->nodes = malloc((segments + 1) * sizeof *spec->nodes);
  if (!spec->names || !spec->name_at || !spec->nodes)
    goto out_oom;
  spec->nodes[0] =
      (docb_node_t){"", 0, DOCB_NONE, DOCB_NONE, DOCB_NONE, DOCB_NONE, false};
  spec->n_nodes = 1;

  spec->types = calloc(n_names ? n_names : 1, sizeof *spec->types);
  if (!spec->types)
    goto out_oom;
  size_t at = 0;
  for (size_t i = 0; i < n_names; i++) {
    const field_t *f = &names[i];
    size_t len = f->len;
    spec->types[i].kind = options->infer ? TYPES_AUTO : TYPES_STRING;
    if (len > 0 && (memchr(f->data, '\0', len) ||
                    !bson_utf8_validate(f->data, len, false))) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu has a name that is not valid UTF-8",
                     i + 1);
      goto out_fail;
    }
    const char *tspec;
    size_t tlen;
    if (options->columns_have_types &&
        types_split_suffix(f->data, f->len, &len, &tspec, &tlen) &&
        !types_parse(tspec, tlen, &spec->types[i], error)) {
      char msg[sizeof error->message];
      snprintf(msg, sizeof msg, "%s", error->message);
      bson_set_error(error, LOADER_ERROR_INPUT, 0, "header: column %zu: %s",
                     i + 1, msg);
      goto out_fail;
    }
    if (len == 0) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu has an empty name", i + 1);
      goto out_fail;
    }
    memcpy(spec->names + at, f->data, len);
    spec->names[at + len] = '\0';
    spec->name_at[i] = at;
    at += len + 1;
  }
  if (options->types &&
      !docb__each_type(options->types, docb__apply_one, spec, error))
    goto out_fail;
  /* --infer-as mongoimport: untyped and auto() columns follow its rules. */
  spec->auto_mi.kind = TYPES_AUTO_MONGOIMPORT;
  for (size_t i = 0; i < n_names; i++)
    if (options->infer_as == DOCB_INFER_MONGOIMPORT &&
        spec->types[i].kind == TYPES_AUTO)
      spec->types[i].kind = TYPES_AUTO_MONGOIMPORT;
  for (size_t i = 0; i < n_names; i++) {
    if (!docb__insert(spec, i, error))
      goto out_fail;
    /* "_id" or "_id.a": the file gives its own _id. */
    if (strncmp(docb__name(spec, i), "_id", 3) == 0 &&
        (docb__name(spec, i)[3] == '\0' || docb__name(spec, i)[3] == '.'))
      spec->has_id = true;
  }
  if (options->id_from == DOCB_ID_FIELDS && options->id_fields &&
      !docb__resolve_id(spec, options->id_fields, error))
    goto out_fail;
  return spec;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                 "out of memory compiling the header");
out_fail:
  docb_spec_destroy(spec);
  return NULL;
}

doc_spec_t *docb_spec_new_json(const doc_options_t *options,
                               bson_error_t *error)
{
  doc_spec_t *spec = calloc(1, sizeof *spec);
  if (!spec) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return NULL;
  }
  spec->options = *options;
  return spec;
}

void docb_spec_destroy(doc_spec_t *spec)
{
  if (!spec)
    return;
  free(spec->names);
  free(spec->name_at);
  free(spec->nodes);
  free(spec->types);
  free(spec->id_columns);
  free(spec->nulls);
  free(spec->null_text);
  free(spec);
}
