/* doc_builder: a CSV header and column types turned into BSON documents.
 *
 * docb_spec_new() compiles the header into a tree: one node per distinct
 * path segment, leaves pointing at their column. "address.city" and
 * "address.zip" share the inner node "address" wherever their columns
 * stand, so the document nests them together. docb_build() walks the tree
 * once per record and appends each value with its type; it allocates
 * nothing. */
#include "loader/doc_builder.h"
#include "loader/error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCB_NONE SIZE_MAX

/* One node of the field tree. */
typedef struct docb_node {
  const char *key;     /* path segment (points into spec->names) */
  size_t key_len;      /* its length */
  size_t column;       /* 0-based column of a leaf, DOCB_NONE for an inner
                          node */
  size_t first_child;  /* index of the first child, or DOCB_NONE */
  size_t last_child;   /* index of the last child, or DOCB_NONE */
  size_t next_sibling; /* index of the next sibling, or DOCB_NONE */
} docb_node_t;

struct doc_spec {
  doc_options_t options; /* how values become BSON */
  size_t n_columns;      /* columns in the header */
  char *names;           /* the header names, NUL-separated (owned) */
  size_t *name_at;       /* offset of each column's name in names */
  docb_node_t *nodes;    /* the tree; nodes[0] is the root */
  size_t n_nodes;        /* nodes used */
  bool has_id;           /* a top-level "_id" column exists */
};

struct docb {
  const doc_spec_t *spec;  /* the compiled header (borrowed) */
  bson_context_t *context; /* this worker's ObjectId generator */
};

void docb_options_default(doc_options_t *options)
{
  options->infer = true;
  options->ignore_blanks = false;
  options->add_id = true;
}

size_t docb_spec_columns(const doc_spec_t *spec)
{
  return spec->n_columns;
}

static const char *docb__name(const doc_spec_t *spec, size_t column)
{
  return spec->names + spec->name_at[column];
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
      (docb_node_t){key, len, column, DOCB_NONE, DOCB_NONE, DOCB_NONE};
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

/* Adds column's dotted name to the tree. Fails on an empty segment or a
 * path that is both a value and a document. */
static bool docb__insert(doc_spec_t *spec, size_t column, bson_error_t *error)
{
  const char *name = docb__name(spec, column);
  size_t node = 0;
  const char *seg = name;
  for (;;) {
    const char *dot = strchr(seg, '.');
    size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
    if (len == 0) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu \"%s\" has an empty name part",
                     column + 1, name);
      return false;
    }
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

doc_spec_t *docb_spec_new(const csv_record_t *header,
                          const doc_options_t *options, bson_error_t *error)
{
  doc_spec_t *spec = calloc(1, sizeof *spec);
  if (!spec)
    goto out_oom;
  spec->options = *options;
  spec->n_columns = header->n_fields;
  size_t total = 0;
  size_t segments = 0;
  for (size_t i = 0; i < header->n_fields; i++) {
    const csv_field_t *f = &header->fields[i];
    total += f->len + 1;
    segments += 1;
    for (size_t j = 0; j < f->len; j++)
      segments += f->data[j] == '.';
  }
  spec->names = malloc(total ? total : 1);
  spec->name_at = malloc((header->n_fields + 1) * sizeof *spec->name_at);
  spec->nodes = malloc((segments + 1) * sizeof *spec->nodes);
  if (!spec->names || !spec->name_at || !spec->nodes)
    goto out_oom;
  spec->nodes[0] =
      (docb_node_t){"", 0, DOCB_NONE, DOCB_NONE, DOCB_NONE, DOCB_NONE};
  spec->n_nodes = 1;

  size_t at = 0;
  for (size_t i = 0; i < header->n_fields; i++) {
    const csv_field_t *f = &header->fields[i];
    if (f->len == 0) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu has an empty name", i + 1);
      goto out_fail;
    }
    if (memchr(f->data, '\0', f->len) ||
        !bson_utf8_validate(f->data, f->len, false)) {
      bson_set_error(error, LOADER_ERROR_INPUT, 0,
                     "header: column %zu has a name that is not valid UTF-8",
                     i + 1);
      goto out_fail;
    }
    memcpy(spec->names + at, f->data, f->len);
    spec->names[at + f->len] = '\0';
    spec->name_at[i] = at;
    at += f->len + 1;
  }
  for (size_t i = 0; i < header->n_fields; i++) {
    if (!docb__insert(spec, i, error))
      goto out_fail;
    if (strcmp(docb__name(spec, i), "_id") == 0)
      spec->has_id = true;
  }
  return spec;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                 "out of memory compiling the header");
out_fail:
  docb_spec_destroy(spec);
  return NULL;
}

void docb_spec_destroy(doc_spec_t *spec)
{
  if (!spec)
    return;
  free(spec->names);
  free(spec->name_at);
  free(spec->nodes);
  free(spec);
}

docb_t *docb_new(const doc_spec_t *spec)
{
  docb_t *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->spec = spec;
  b->context = bson_context_new(BSON_CONTEXT_NONE);
  if (!b->context) {
    free(b);
    return NULL;
  }
  return b;
}

void docb_destroy(docb_t *b)
{
  if (!b)
    return;
  bson_context_destroy(b->context);
  free(b);
}

/* Returns true when s[0..len) is a canonical decimal integer: an optional
 * '-', then "0" or a digit 1-9 followed by digits. "007", "+7" and "-0"
 * are not: they would not survive a round trip, so they stay strings. */
static bool docb__is_canonical_int(const char *s, size_t len)
{
  size_t i = 0;
  if (i < len && s[i] == '-')
    i++;
  if (i == len)
    return false;
  if (s[i] == '0')
    return i + 1 == len && i == 0;
  for (; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* Returns true when s[0..len) is a decimal number with a fraction or an
 * exponent, and no leading zeros or '+' in front:
 * -?(0|[1-9]d*)(.d+)?(e[+-]?d+)? */
static bool docb__is_decimal(const char *s, size_t len)
{
  size_t i = 0;
  bool frac_or_exp = false;
  if (i < len && s[i] == '-')
    i++;
  if (i == len || s[i] < '0' || s[i] > '9')
    return false;
  if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
    return false;
  while (i < len && s[i] >= '0' && s[i] <= '9')
    i++;
  if (i < len && s[i] == '.') {
    i++;
    size_t digits = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == digits)
      return false;
    frac_or_exp = true;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t digits = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == digits)
      return false;
    frac_or_exp = true;
  }
  return i == len && frac_or_exp;
}

/* Appends a value whose type is inferred from its text. */
static bool docb__append_inferred(bson_t *doc, const char *key, size_t key_len,
                                  const csv_field_t *f)
{
  const char *s = f->data;
  size_t len = f->len;
  int klen = (int)key_len;
  switch (s[0]) {
  case 't':
    if (len == 4 && memcmp(s, "true", 4) == 0)
      return bson_append_bool(doc, key, klen, true);
    break;
  case 'f':
    if (len == 5 && memcmp(s, "false", 5) == 0)
      return bson_append_bool(doc, key, klen, false);
    break;
  case '-':
  case '0':
  case '1':
  case '2':
  case '3':
  case '4':
  case '5':
  case '6':
  case '7':
  case '8':
  case '9':
    if (len <= 20 && docb__is_canonical_int(s, len)) {
      errno = 0;
      long long v = strtoll(s, NULL, 10);
      if (errno == 0) {
        if (v >= INT32_MIN && v <= INT32_MAX)
          return bson_append_int32(doc, key, klen, (int32_t)v);
        return bson_append_int64(doc, key, klen, (int64_t)v);
      }
      /* Beyond int64: kept as text rather than rounded. */
    } else if (docb__is_decimal(s, len)) {
      double d = strtod(s, NULL);
      if (isfinite(d))
        return bson_append_double(doc, key, klen, d);
    }
    break;
  default:
    break;
  }
  return bson_append_utf8(doc, key, klen, s, (int)len);
}

/* Appends the children of node to doc. */
static bool docb__append_node(docb_t *b, const csv_record_t *rec, size_t node,
                              bson_t *doc, doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  for (size_t c = spec->nodes[node].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling) {
    const docb_node_t *n = &spec->nodes[c];
    if (n->column == DOCB_NONE) {
      bson_t child;
      if (!bson_append_document_begin(doc, n->key, (int)n->key_len, &child) ||
          !docb__append_node(b, rec, c, &child, why) ||
          !bson_append_document_end(doc, &child))
        goto out_too_large;
      continue;
    }
    const csv_field_t *f = &rec->fields[n->column];
    bool ok;
    if (f->len == 0) {
      if (spec->options.ignore_blanks)
        continue;
      ok = bson_append_utf8(doc, n->key, (int)n->key_len, "", 0);
    } else {
      if (!bson_utf8_validate(f->data, f->len, true)) {
        why->column = n->column + 1;
        snprintf(why->reason, sizeof why->reason,
                 "column \"%s\": invalid UTF-8", docb__name(spec, n->column));
        return false;
      }
      if (spec->options.infer)
        ok = docb__append_inferred(doc, n->key, n->key_len, f);
      else
        ok = bson_append_utf8(doc, n->key, (int)n->key_len, f->data,
                              (int)f->len);
    }
    if (!ok)
      goto out_too_large;
  }
  return true;

out_too_large:
  if (!why->reason[0]) {
    why->column = 0;
    snprintf(why->reason, sizeof why->reason,
             "document exceeds the maximum BSON size");
  }
  return false;
}

bool docb_build(docb_t *b, const csv_record_t *rec, bson_t *doc,
                doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  why->column = 0;
  why->reason[0] = '\0';
  if (rec->problem) {
    snprintf(why->reason, sizeof why->reason, "%s", rec->problem);
    return false;
  }
  if (rec->n_fields != spec->n_columns) {
    snprintf(why->reason, sizeof why->reason, "expected %zu fields, found %zu",
             spec->n_columns, rec->n_fields);
    return false;
  }
  if (spec->options.add_id && !spec->has_id) {
    bson_oid_t oid;
    bson_oid_init(&oid, b->context);
    bson_append_oid(doc, "_id", 3, &oid);
  }
  return docb__append_node(b, rec, 0, doc, why);
}
