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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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
  types_type_t *types;   /* each column's type */
  size_t *id_columns;    /* columns making up _id (--id-from FIELDS) */
  size_t n_id_columns;   /* how many */
};

struct docb {
  const doc_spec_t *spec;  /* the compiled header (borrowed) */
  bson_context_t *context; /* this worker's ObjectId generator */
  types_scratch_t scratch; /* decoded binary values */
  uint8_t *buf;            /* the document being encoded */
  size_t len;              /* bytes used in buf */
  size_t cap;              /* bytes allocated for buf */
  bson_t *tmp;             /* scratch for values of declared types */
  uint8_t oid_random[5];   /* the random part of this builder's ObjectIds */
  uint32_t oid_seq;        /* the counter part of the next ObjectId */
  uint32_t oid_time;       /* the seconds part, refreshed now and then */
  uint64_t oid_count;      /* ObjectIds made */
  uint32_t id_seed;        /* the file's identity, for --id-from line */
  bool ascii;              /* the record being built is pure ASCII: its
                              fields need no UTF-8 validation */
};

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

doc_spec_t *docb_spec_new(const field_t *names, size_t n_names,
                          const doc_options_t *options, bson_error_t *error)
{
  doc_spec_t *spec = calloc(1, sizeof *spec);
  if (!spec)
    goto out_oom;
  spec->options = *options;
  spec->n_columns = n_names;
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
      (docb_node_t){"", 0, DOCB_NONE, DOCB_NONE, DOCB_NONE, DOCB_NONE};
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
  free(spec);
}

docb_t *docb_new(const doc_spec_t *spec)
{
  docb_t *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->spec = spec;
  b->context = bson_context_new(BSON_CONTEXT_NONE);
  b->tmp = bson_new();
  if (!b->context || !b->tmp) {
    docb_destroy(b);
    return NULL;
  }
  /* The random parts come from the kernel, once per builder, so builders
   * made at the same instant in different threads differ (libbson's
   * generator, seeded from the clock, is the fallback). */
  uint8_t rnd[8];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    bson_oid_t seed;
    bson_oid_init(&seed, b->context);
    memcpy(rnd, seed.bytes + 4, 8);
  }
  memcpy(b->oid_random, rnd, 5);
  b->oid_seq = (uint32_t)rnd[5] << 16 | (uint32_t)rnd[6] << 8 | rnd[7];
  return b;
}

void docb_destroy(docb_t *b)
{
  if (!b)
    return;
  if (b->context)
    bson_context_destroy(b->context);
  bson_destroy(b->tmp);
  free(b->scratch.buf);
  free(b->buf);
  free(b);
}

/* Returns true when s[0..len) has no byte >= 0x80, eight bytes at a time:
 * one pass over the record instead of a UTF-8 validation per field. */
/* Returns true when s[0..len) is valid UTF-8. NUL bytes are data (BSON
 * strings carry a length), but libbson's validator, asked to allow them,
 * also takes the overlong C0 80 of "modified UTF-8" for one: no valid UTF-8
 * holds a C0 (or C1) byte, so those are refused first. */
static bool docb__valid_utf8(const char *s, size_t len)
{
  return !memchr(s, 0xC0, len) && !memchr(s, 0xC1, len) &&
         bson_utf8_validate(s, len, true);
}

static bool docb__is_ascii(const char *s, size_t len)
{
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    acc |= w;
  }
  for (; i < len; i++)
    acc |= (uint8_t)s[i];
  return (acc & 0x8080808080808080ull) == 0;
}

/* --- The encoder -----------------------------------------------------
 *
 * Documents are written as BSON bytes into the builder's own buffer, by
 * hand: an element is its type byte, its key and NUL, and its value, little
 * endian. Going through bson_append_*() cost about 245 instructions per
 * field (a third of the dry run); this costs a few stores. Only typed
 * values that need parsing into BSON types libbson knows best (dates are
 * ours, but decimal128 and the rest go through a scratch bson_t) take the
 * long way, and their element is copied in whole. The finished document
 * goes into the batch with one bson_concat(). */

/* Makes room for n more bytes. */
static bool docb__room(docb_t *b, size_t n)
{
  if (b->len + n <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap * 2 : 4096;
  while (cap < b->len + n)
    cap *= 2;
  uint8_t *p = realloc(b->buf, cap);
  if (!p)
    return false;
  b->buf = p;
  b->cap = cap;
  return true;
}

static void docb__put32(uint8_t *p, uint32_t v)
{
  v = BSON_UINT32_TO_LE(v);
  memcpy(p, &v, 4);
}

static void docb__put64(uint8_t *p, uint64_t v)
{
  v = BSON_UINT64_TO_LE(v);
  memcpy(p, &v, 8);
}

/* Writes an element's type and key, with room for a value of vlen bytes
 * after them; returns where the value goes, or NULL when out of memory. */
static uint8_t *docb__elem(docb_t *b, uint8_t type, const char *key,
                           size_t klen, size_t vlen)
{
  if (!docb__room(b, 1 + klen + 1 + vlen))
    return NULL;
  uint8_t *p = b->buf + b->len;
  p[0] = type;
  memcpy(p + 1, key, klen);
  p[1 + klen] = 0;
  b->len += 1 + klen + 1 + vlen;
  return p + 1 + klen + 1;
}

static bool docb__utf8(docb_t *b, const char *key, size_t klen, const char *s,
                       size_t len)
{
  uint8_t *v = docb__elem(b, BSON_TYPE_UTF8, key, klen, 4 + len + 1);
  if (!v)
    return false;
  docb__put32(v, (uint32_t)len + 1);
  /* Most values are a few bytes: a loop beats a call to memcpy(). */
  if (len <= 32)
    for (size_t k = 0; k < len; k++)
      v[4 + k] = (uint8_t)s[k];
  else
    memcpy(v + 4, s, len);
  v[4 + len] = 0;
  return true;
}

/* Starts an embedded document (or the top one, with key NULL); returns the
 * offset of its length, to close it with docb__close(). */
static bool docb__open(docb_t *b, const char *key, size_t klen, size_t *at)
{
  if (key) {
    if (!docb__elem(b, BSON_TYPE_DOCUMENT, key, klen, 0))
      return false;
  }
  if (!docb__room(b, 4))
    return false;
  *at = b->len;
  b->len += 4;
  return true;
}

static bool docb__close(docb_t *b, size_t at)
{
  if (!docb__room(b, 1))
    return false;
  b->buf[b->len++] = 0;
  docb__put32(b->buf + at, (uint32_t)(b->len - at));
  return true;
}

/* Appends an inferred value. */
static bool docb__inferred(docb_t *b, const char *key, size_t klen,
                           const char *s, size_t len)
{
  int64_t i;
  double d;
  uint8_t *v;
  switch (types_infer(s, len, &i, &d)) {
  case TYPES_INFERRED_INT32:
    if (!(v = docb__elem(b, BSON_TYPE_INT32, key, klen, 4)))
      return false;
    docb__put32(v, (uint32_t)(int32_t)i);
    return true;
  case TYPES_INFERRED_INT64:
    if (!(v = docb__elem(b, BSON_TYPE_INT64, key, klen, 8)))
      return false;
    docb__put64(v, (uint64_t)i);
    return true;
  case TYPES_INFERRED_DOUBLE: {
    if (!(v = docb__elem(b, BSON_TYPE_DOUBLE, key, klen, 8)))
      return false;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    docb__put64(v, bits);
    return true;
  }
  case TYPES_INFERRED_BOOL:
    if (!(v = docb__elem(b, BSON_TYPE_BOOL, key, klen, 1)))
      return false;
    v[0] = i != 0;
    return true;
  case TYPES_INFERRED_STRING:
    break;
  }
  return docb__utf8(b, key, klen, s, len);
}

/* Appends a value of a declared type through a scratch bson_t, copying its
 * one element in. Returns false with *bad set (why in bad_why) when the
 * text does not fit the type, or false with *bad clear when out of
 * memory or too large. */
static bool docb__typed(docb_t *b, const char *key, size_t klen,
                        const types_type_t *type, const char *s, size_t len,
                        char *bad_why, size_t cap, bool *bad)
{
  bool too_large;
  bson_reinit(b->tmp);
  *bad = false;
  if (!types_append(b->tmp, key, (int)klen, type, s, len, &b->scratch, bad_why,
                    cap, &too_large)) {
    *bad = !too_large;
    return false;
  }
  /* The element sits between the 4-byte length and the final NUL. */
  const uint8_t *data = bson_get_data(b->tmp);
  size_t elen = b->tmp->len - 5;
  if (!docb__room(b, elen))
    return false;
  memcpy(b->buf + b->len, data + 4, elen);
  b->len += elen;
  return true;
}

/* What appending one value did. */
typedef enum docb_put {
  DOCB_PUT_OK,     /* the value was appended */
  DOCB_PUT_SKIP,   /* nothing was appended, and that is fine */
  DOCB_PUT_REJECT, /* the record is rejected: why says so */
} docb_put_t;

/* Appends column's value of rec under key, as the column's type and the
 * grace mode want. */
static docb_put_t docb__append_value(docb_t *b, const record_t *rec,
                                     size_t column, const char *key,
                                     size_t klen, doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  const field_t *f = &rec->fields[column];
  const types_type_t *type = &spec->types[column];
  bool ok;
  if (f->len == 0) {
    if (spec->options.ignore_blanks)
      return DOCB_PUT_SKIP;
    /* A blank in a typed column is a missing value, not a bad one. */
    if (type->kind == TYPES_AUTO || type->kind == TYPES_STRING)
      ok = docb__utf8(b, key, klen, "", 0);
    else
      ok = docb__elem(b, BSON_TYPE_NULL, key, klen, 0) != NULL;
  } else if (!b->ascii && !docb__is_ascii(f->data, f->len) &&
             !docb__valid_utf8(f->data, f->len)) {
    why->column = column + 1;
    snprintf(why->reason, sizeof why->reason, "column \"%s\": invalid UTF-8",
             docb__name(spec, column));
    return DOCB_PUT_REJECT;
  } else if (type->kind == TYPES_AUTO) {
    ok = docb__inferred(b, key, klen, f->data, f->len);
  } else if (type->kind == TYPES_STRING) {
    ok = docb__utf8(b, key, klen, f->data, f->len);
  } else {
    char bad_why[160];
    bool bad;
    ok = docb__typed(b, key, klen, type, f->data, f->len, bad_why,
                     sizeof bad_why, &bad);
    if (!ok && bad) {
      if (why->skipped == 0 || spec->options.grace != DOCB_GRACE_SKIP_FIELD) {
        why->column = column + 1;
        snprintf(why->reason, sizeof why->reason, "column \"%s\": %s",
                 docb__name(spec, column), bad_why);
      }
      switch (spec->options.grace) {
      case DOCB_GRACE_STOP:
        why->stop = true;
        return DOCB_PUT_REJECT;
      case DOCB_GRACE_SKIP_ROW:
        return DOCB_PUT_REJECT;
      case DOCB_GRACE_SKIP_FIELD:
        why->skipped++;
        return DOCB_PUT_SKIP;
      case DOCB_GRACE_AS_STRING:
        ok = docb__utf8(b, key, klen, f->data, f->len);
        break;
      }
    }
  }
  if (ok)
    return DOCB_PUT_OK;
  why->column = 0;
  snprintf(why->reason, sizeof why->reason,
           "document exceeds the maximum BSON size");
  return DOCB_PUT_REJECT;
}

/* Appends the children of node. */
static bool docb__append_node(docb_t *b, const record_t *rec, size_t node,
                              doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  for (size_t c = spec->nodes[node].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling) {
    const docb_node_t *n = &spec->nodes[c];
    if (n->column != DOCB_NONE) {
      if (docb__append_value(b, rec, n->column, n->key, n->key_len, why) ==
          DOCB_PUT_REJECT)
        return false;
      continue;
    }
    size_t at;
    if (!docb__open(b, n->key, n->key_len, &at) ||
        !docb__append_node(b, rec, c, why) || !docb__close(b, at)) {
      if (!why->reason[0])
        snprintf(why->reason, sizeof why->reason,
                 "document exceeds the maximum BSON size");
      return false;
    }
  }
  return true;
}

/* Makes a new ObjectId as the BSON spec lays it out: 4 bytes of seconds
 * since the epoch (read once every 1024 ids), 5 random bytes fixed per
 * builder, 3 bytes of a counter that starts at a random value. Unique
 * across workers and processes as libbson's are, without its per-id calls
 * (measured: 6% of the dry run). */
static void docb__new_oid(docb_t *b, bson_oid_t *oid)
{
  if ((b->oid_count++ & 1023) == 0)
    b->oid_time = (uint32_t)time(NULL);
  uint32_t t = b->oid_time;
  uint32_t seq = b->oid_seq++;
  oid->bytes[0] = (uint8_t)(t >> 24);
  oid->bytes[1] = (uint8_t)(t >> 16);
  oid->bytes[2] = (uint8_t)(t >> 8);
  oid->bytes[3] = (uint8_t)t;
  memcpy(oid->bytes + 4, b->oid_random, 5);
  oid->bytes[9] = (uint8_t)(seq >> 16);
  oid->bytes[10] = (uint8_t)(seq >> 8);
  oid->bytes[11] = (uint8_t)seq;
}

/* Appends the _id the options ask for. */
static bool docb__append_id(docb_t *b, const record_t *rec, doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  bson_oid_t oid;
  uint8_t *v;
  switch (spec->options.id_from) {
  case DOCB_ID_OBJECTID:
  case DOCB_ID_LINE:
    if (spec->options.id_from == DOCB_ID_OBJECTID)
      docb__new_oid(b, &oid);
    else
      docb_line_oid(b->id_seed, rec->line, &oid);
    if (!(v = docb__elem(b, BSON_TYPE_OID, "_id", 3, 12)))
      return false;
    memcpy(v, oid.bytes, 12);
    return true;
  case DOCB_ID_FIELDS: {
    if (spec->n_id_columns == 1) {
      if (docb__append_value(b, rec, spec->id_columns[0], "_id", 3, why) ==
          DOCB_PUT_OK)
        return true;
      if (!why->reason[0])
        snprintf(why->reason, sizeof why->reason,
                 "no value for _id (--id-from)");
      return false;
    }
    size_t at;
    if (!docb__open(b, "_id", 3, &at))
      return false;
    for (size_t i = 0; i < spec->n_id_columns; i++) {
      size_t c = spec->id_columns[i];
      const char *name = docb__name(spec, c);
      if (docb__append_value(b, rec, c, name, strlen(name), why) ==
          DOCB_PUT_REJECT)
        return false;
    }
    return docb__close(b, at);
  }
  }
  return false;
}

bool docb_build(docb_t *b, const record_t *rec, bson_t *doc, doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  why->column = 0;
  why->reason[0] = '\0';
  why->stop = false;
  why->skipped = 0;
  if (rec->problem) {
    snprintf(why->reason, sizeof why->reason, "%s", rec->problem);
    why->column = rec->problem_column;
    return false;
  }
  if (rec->n_fields != spec->n_columns) {
    snprintf(why->reason, sizeof why->reason, "expected %zu fields, found %zu",
             spec->n_columns, rec->n_fields);
    return false;
  }
  /* Every field's bytes come from the raw record; a record without raw
   * bytes (built by a caller) is validated field by field. */
  b->ascii = rec->raw_len > 0 && docb__is_ascii(rec->raw, rec->raw_len);
  b->len = 0;
  size_t top;
  if (!docb__open(b, NULL, 0, &top))
    goto out_memory;
  if (spec->options.add_id && !spec->has_id && !docb__append_id(b, rec, why)) {
    if (!why->reason[0])
      snprintf(why->reason, sizeof why->reason, "cannot build _id");
    return false;
  }
  if (!docb__append_node(b, rec, 0, why))
    return false;
  if (!docb__close(b, top))
    goto out_memory;
  bson_t built;
  if (b->len > INT32_MAX || !bson_init_static(&built, b->buf, b->len) ||
      !bson_concat(doc, &built)) {
    snprintf(why->reason, sizeof why->reason,
             "document exceeds the maximum BSON size");
    return false;
  }
  return true;

out_memory:
  snprintf(why->reason, sizeof why->reason, "out of memory building a row");
  return false;
}

void docb_line_oid(uint32_t seed, uint64_t line, bson_oid_t *oid)
{
  /* 4 bytes of the file's identity, 8 of the physical line: the same
   * record of the same file gets the same _id in every run. */
  for (int i = 3; i >= 0; i--, seed >>= 8)
    oid->bytes[i] = (uint8_t)seed;
  for (int i = 11; i >= 4; i--, line >>= 8)
    oid->bytes[i] = (uint8_t)line;
}

void docb_set_id_seed(docb_t *b, uint32_t seed)
{
  b->id_seed = seed;
}

/* Appends the _id of a JSON document from the --id-from fields: one
 * field's value, or a document of several. */
static bool docb__json_id_fields(const bson_t *parsed, const char *list,
                                 bson_t *doc, doc_reject_t *why)
{
  bool several = strchr(list, ',') != NULL;
  bson_t sub;
  bson_t *into = doc;
  if (several && !bson_append_document_begin(doc, "_id", 3, &sub))
    return false;
  if (several)
    into = &sub;
  for (const char *p = list;;) {
    size_t len = strcspn(p, ",");
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)len, p);
    bson_iter_t it, found;
    if (!bson_iter_init(&it, parsed) ||
        !bson_iter_find_descendant(&it, key, &found)) {
      snprintf(why->reason, sizeof why->reason,
               "no field \"%.200s\" for _id (--id-from)", key);
      return false;
    }
    if (!bson_append_value(into, several ? key : "_id", -1,
                           bson_iter_value(&found)))
      return false;
    if (!p[len])
      break;
    p += len + 1;
  }
  return !several || bson_append_document_end(doc, &sub);
}

bool docb_build_json(docb_t *b, const bson_t *parsed, uint64_t line,
                     bson_t *doc, doc_reject_t *why)
{
  const doc_options_t *o = &b->spec->options;
  why->column = 0;
  why->reason[0] = '\0';
  why->stop = false;
  why->skipped = 0;
  bool ok = true;
  if (o->add_id && !bson_has_field(parsed, "_id")) {
    bson_oid_t oid;
    if (o->id_from == DOCB_ID_FIELDS)
      ok = docb__json_id_fields(parsed, o->id_fields, doc, why);
    else {
      if (o->id_from == DOCB_ID_OBJECTID)
        docb__new_oid(b, &oid);
      else
        docb_line_oid(b->id_seed, line, &oid);
      ok = bson_append_oid(doc, "_id", 3, &oid);
    }
  }
  if (ok && !bson_concat(doc, parsed))
    ok = false;
  if (!ok && !why->reason[0])
    snprintf(why->reason, sizeof why->reason,
             "document exceeds the maximum BSON size");
  return ok;
}
