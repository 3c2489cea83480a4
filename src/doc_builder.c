/* doc_builder: records turned into BSON documents, by walking the spec
 * doc_spec.c compiled from the header (see doc_spec.h). docb_build() walks
 * the tree once per record and appends each value with its type; it
 * allocates nothing. JSON documents get their _id here too. */
#include "doc_spec.h"
#include "loader/error.h"
#include "loader/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* A column of a flat header, in document order. */
typedef struct docb_flat {
  const char *key; /* its name */
  size_t key_len;  /* the name's length */
  size_t column;   /* its 0-based column */
  bool inferred;   /* its type is TYPES_AUTO */
} docb_flat_t;

struct docb {
  const doc_spec_t *spec;  /* the compiled header (borrowed) */
  bson_context_t *context; /* this worker's ObjectId generator */
  types_scratch_t scratch; /* decoded binary values */
  uint8_t *buf;            /* the bytes the document is encoded at the end
                              of (the batch's, while docb_build_bytes()
                              runs) */
  size_t len;              /* bytes used in buf */
  size_t cap;              /* bytes allocated for buf */
  batch_bytes_t own;       /* docb_build()'s bytes, for callers with a
                              bson_t */
  bson_t *tmp;             /* scratch for values of declared types */
  uint8_t oid_random[5];   /* the random part of this builder's ObjectIds */
  uint32_t oid_seq;        /* the counter part of the next ObjectId */
  uint32_t oid_time;       /* the seconds part, refreshed now and then */
  uint64_t oid_count;      /* ObjectIds made */
  uint32_t id_seed;        /* the file's identity, for --id-from line */
  bool utf8_checked;       /* the record being built is ASCII, or valid
                              UTF-8 split at ASCII bytes only: its fields
                              need no UTF-8 validation */
  bool *inferred;          /* per column: its type is TYPES_AUTO */
  bool short_path;         /* utf8_checked and no --null-values: the
                              record's non-empty inferred fields can take
                              docb__append_value()'s short path */
  docb_flat_t *flat;       /* when no name is dotted (no nested document or
                              array): the columns in document order, walked
                              in one loop; else NULL */
};

/* Lists the columns in b->flat when the document is flat: every child of
 * the root a column (spec of a header, not JSON). Returns false when out of
 * memory. */
static bool docb__flatten(docb_t *b)
{
  const doc_spec_t *spec = b->spec;
  size_t n = 0;
  if (!spec->nodes) /* JSON: no columns */
    return true;
  for (size_t c = spec->nodes[0].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling, n++)
    if (spec->nodes[c].column == DOCB_NONE)
      return true;
  b->flat = calloc(n + 1, sizeof *b->flat);
  if (!b->flat)
    return false;
  n = 0;
  for (size_t c = spec->nodes[0].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling, n++) {
    const docb_node_t *node = &spec->nodes[c];
    b->flat[n] = (docb_flat_t){node->key, node->key_len, node->column,
                               b->inferred[node->column]};
  }
  b->flat[n].column = DOCB_NONE;
  return true;
}

docb_t *docb_new(const doc_spec_t *spec)
{
  docb_t *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->spec = spec;
  b->context = bson_context_new(BSON_CONTEXT_NONE);
  b->tmp = bson_new();
  b->inferred = calloc(spec->n_columns ? spec->n_columns : 1, sizeof(bool));
  if (!b->context || !b->tmp || !b->inferred) {
    docb_destroy(b);
    return NULL;
  }
  for (size_t i = 0; i < spec->n_columns; i++)
    b->inferred[i] = spec->types[i].kind == TYPES_AUTO;
  if (!docb__flatten(b)) {
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
  free(b->inferred);
  free(b->flat);
  free(b->scratch.buf);
  free(b->own.data);
  free(b);
}

/* Returns true when s[0..len) has no byte >= 0x80, eight bytes at a time:
 * one pass over the record instead of a UTF-8 validation per field. */
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
 * long way, and their element is copied in whole. The document is encoded
 * straight into the batch's buffer, after the documents already there (the
 * batch takes it back out when the record is rejected halfway). */

/* Grows the buffer for n more bytes: out of line, so that the callers
 * on the common path, where there is room, save no registers for it. */
static __attribute__((noinline)) bool docb__grow(docb_t *b, size_t n)
{
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

/* Makes room for n more bytes. */
static inline bool docb__room(docb_t *b, size_t n)
{
  return b->len + n <= b->cap || docb__grow(b, n);
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
/* Copies n bytes from s to p. Keys and most values are a few bytes: two
 * fixed-size copies that may overlap, which the compiler turns into a load
 * and a store each, beat a call to memcpy() and a byte loop. */
static inline void docb__copy(uint8_t *p, const char *s, size_t n)
{
  if (n >= 8) {
    if (n > 16) {
      memcpy(p, s, n);
      return;
    }
    memcpy(p, s, 8);
    memcpy(p + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    memcpy(p, s, 4);
    memcpy(p + n - 4, s + n - 4, 4);
  } else if (n > 0) {
    /* 1 to 3 bytes: the first, the middle and the last. */
    p[0] = (uint8_t)s[0];
    p[n / 2] = (uint8_t)s[n / 2];
    p[n - 1] = (uint8_t)s[n - 1];
  }
}

static inline uint8_t *docb__elem(docb_t *b, uint8_t type, const char *key,
                                  size_t klen, size_t vlen)
{
  if (!docb__room(b, 1 + klen + 1 + vlen))
    return NULL;
  /* The length first: the byte stores below could alias it. */
  uint8_t *p = b->buf + b->len;
  b->len += 1 + klen + 1 + vlen;
  p[0] = type;
  docb__copy(p + 1, key, klen);
  p[1 + klen] = 0;
  return p + 1 + klen + 1;
}

static inline bool docb__utf8(docb_t *b, const char *key, size_t klen,
                              const char *s, size_t len)
{
  uint8_t *v = docb__elem(b, BSON_TYPE_UTF8, key, klen, 4 + len + 1);
  if (!v)
    return false;
  docb__put32(v, (uint32_t)len + 1);
  v[4 + len] = 0;
  docb__copy(v + 4, s, len);
  return true;
}

/* Starts an embedded document or array (type), or the top document (key
 * NULL); returns the offset of its length, to close it with
 * docb__close(). */
static bool docb__open(docb_t *b, uint8_t type, const char *key, size_t klen,
                       size_t *at)
{
  if (key) {
    if (!docb__elem(b, type, key, klen, 0))
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

/* Appends an inferred value: by mongoimport's rules when mongoimport, else
 * by the loader's. */
static inline bool docb__inferred_any(docb_t *b, const char *key, size_t klen,
                                      const char *s, size_t len,
                                      bool mongoimport)
{
  int64_t i;
  double d;
  uint8_t *v;
  switch (mongoimport ? types_infer_mongoimport(s, len, &i, &d)
                      : types_infer(s, len, &i, &d)) {
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

/* Appends an inferred value as docb__inferred_any() does, text that cannot
 * be a number or a boolean by its first byte alone without a call. */
static inline bool docb__inferred(docb_t *b, const char *key, size_t klen,
                                  const char *s, size_t len, bool mongoimport)
{
  if (!mongoimport && types_infer_is_text((unsigned char)s[0]))
    return docb__utf8(b, key, klen, s, len);
  return docb__inferred_any(b, key, klen, s, len, mongoimport);
}

/* Appends the elements of doc, as they are. */
static bool docb__elements(docb_t *b, const bson_t *doc)
{
  /* They sit between the 4-byte length and the final NUL. */
  size_t len = doc->len - 5;
  if (!docb__room(b, len))
    return false;
  memcpy(b->buf + b->len, bson_get_data(doc) + 4, len);
  b->len += len;
  return true;
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
  return docb__elements(b, b->tmp);
}

/* What appending one value did. */
typedef enum docb_put {
  DOCB_PUT_OK,     /* the value was appended */
  DOCB_PUT_SKIP,   /* nothing was appended, and that is fine */
  DOCB_PUT_REJECT, /* the record is rejected: why says so */
} docb_put_t;

/* Returns true when f's text is exactly one of the --null-values. */
static bool docb__is_null_token(const doc_spec_t *spec, const field_t *f)
{
  for (size_t i = 0; i < spec->n_nulls; i++)
    if (spec->nulls[i].len == f->len &&
        memcmp(spec->nulls[i].data, f->data, f->len) == 0)
      return true;
  return false;
}

/* Says the document grew too large (or memory ran out) in why. */
static __attribute__((noinline)) docb_put_t docb__too_large(doc_reject_t *why)
{
  why->column = 0;
  snprintf(why->reason, sizeof why->reason,
           "document exceeds the maximum BSON size");
  return DOCB_PUT_REJECT;
}

/* Says column of the record is not valid UTF-8 in why. */
static __attribute__((noinline)) docb_put_t
docb__bad_utf8(const doc_spec_t *spec, size_t column, doc_reject_t *why)
{
  why->column = column + 1;
  snprintf(why->reason, sizeof why->reason, "column \"%s\": invalid UTF-8",
           docb__name(spec, column));
  return DOCB_PUT_REJECT;
}

/* Appends f, text for a column of a declared type (not inferred, not
 * string), as the grace mode wants. Out of docb__append_value() so that
 * the common path does not pay for its buffers. */
static __attribute__((noinline)) docb_put_t
docb__append_typed(docb_t *b, const field_t *f, size_t column,
                   const types_type_t *type, const char *key, size_t klen,
                   doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  char bad_why[160];
  bool bad;
  bool ok = docb__typed(b, key, klen, type, f->data, f->len, bad_why,
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
      /* mongoimport's autoCast types it as an untyped value. */
      if (spec->options.infer_as == DOCB_INFER_MONGOIMPORT)
        ok = docb__typed(b, key, klen, &spec->auto_mi, f->data, f->len, bad_why,
                         sizeof bad_why, &bad);
      else
        ok = docb__utf8(b, key, klen, f->data, f->len);
      break;
    }
  }
  return ok ? DOCB_PUT_OK : docb__too_large(why);
}

/* Appends column's value of rec under key, as the column's type and the
 * grace mode want: all the cases (docb__append_value() takes the common
 * one first). */
static __attribute__((noinline)) docb_put_t
docb__append_any(docb_t *b, const record_t *rec, size_t column, const char *key,
                 size_t klen, doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  const field_t *f = &rec->fields[column];
  const types_type_t *type = &spec->types[column];
  bool ok;
  if (spec->n_nulls && docb__is_null_token(spec, f)) {
    ok = docb__elem(b, BSON_TYPE_NULL, key, klen, 0) != NULL;
  } else if (f->len == 0) {
    if (spec->options.ignore_blanks)
      return DOCB_PUT_SKIP;
    /* A blank in a typed column is a missing value, not a bad one. */
    if (type->kind == TYPES_AUTO || type->kind == TYPES_STRING ||
        type->kind == TYPES_AUTO_MONGOIMPORT)
      ok = docb__utf8(b, key, klen, "", 0);
    else
      ok = docb__elem(b, BSON_TYPE_NULL, key, klen, 0) != NULL;
  } else if (!b->utf8_checked && !util_utf8_valid(f->data, f->len)) {
    return docb__bad_utf8(spec, column, why);
  } else if (type->kind == TYPES_AUTO || type->kind == TYPES_AUTO_MONGOIMPORT) {
    ok = docb__inferred(b, key, klen, f->data, f->len,
                        type->kind == TYPES_AUTO_MONGOIMPORT);
  } else if (type->kind == TYPES_STRING) {
    ok = docb__utf8(b, key, klen, f->data, f->len);
  } else {
    return docb__append_typed(b, f, column, type, key, klen, why);
  }
  return ok ? DOCB_PUT_OK : docb__too_large(why);
}

/* Appends column's value of rec under key, as docb__append_any() does,
 * with the common case on a short path: no --null-values, a non-empty
 * field of a checked record, in an inferred column. */
static inline docb_put_t docb__append_value(docb_t *b, const record_t *rec,
                                            size_t column, const char *key,
                                            size_t klen, doc_reject_t *why)
{
  const field_t *f = &rec->fields[column];
  if (b->short_path && f->len != 0 && b->inferred[column])
    return docb__inferred(b, key, klen, f->data, f->len, false)
               ? DOCB_PUT_OK
               : docb__too_large(why);
  return docb__append_any(b, rec, column, key, klen, why);
}

/* Writes index as an array key into key; returns its length. */
static size_t docb__index_key(size_t index, char key[24])
{
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + index % 10);
    index /= 10;
  } while (index);
  for (size_t i = 0; i < n; i++)
    key[i] = digits[n - 1 - i];
  return n;
}

static bool docb__append_node(docb_t *b, const record_t *rec, size_t node,
                              doc_reject_t *why);

/* Appends inner node c under key: its document or array. Under
 * --ignore-blanks one left empty is taken out again, as mongoimport never
 * creates it. */
static bool docb__append_inner(docb_t *b, const record_t *rec, size_t c,
                               const char *key, size_t klen, doc_reject_t *why)
{
  size_t before = b->len, at;
  uint8_t type = b->spec->nodes[c].array ? BSON_TYPE_ARRAY : BSON_TYPE_DOCUMENT;
  if (!docb__open(b, type, key, klen, &at) ||
      !docb__append_node(b, rec, c, why) || !docb__close(b, at)) {
    if (!why->reason[0])
      snprintf(why->reason, sizeof why->reason,
               "document exceeds the maximum BSON size");
    return false;
  }
  if (b->spec->options.ignore_blanks && b->len == at + 5)
    b->len = before;
  return true;
}

/* The first column under node (an element of an array), for messages. */
static size_t docb__first_column(const doc_spec_t *spec, size_t node)
{
  while (spec->nodes[node].column == DOCB_NONE &&
         spec->nodes[node].first_child != DOCB_NONE)
    node = spec->nodes[node].first_child;
  return spec->nodes[node].column;
}

/* Appends the elements of array node. An element left out (a blank under
 * --ignore-blanks, a bad value under skip-field) at the end shortens the
 * array; one left out before an element that is there would move that
 * element to another index, so the row is refused (mongoimport stops the
 * whole import there). */
static bool docb__append_elements(docb_t *b, const record_t *rec, size_t node,
                                  doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  size_t index = 0, hole = DOCB_NONE;
  char key[24];
  for (size_t c = spec->nodes[node].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling) {
    size_t klen = docb__index_key(index, key), before = b->len;
    size_t column = spec->nodes[c].column;
    if (column != DOCB_NONE) {
      if (docb__append_value(b, rec, column, key, klen, why) == DOCB_PUT_REJECT)
        return false;
    } else if (!docb__append_inner(b, rec, c, key, klen, why)) {
      return false;
    }
    if (b->len == before) {
      if (hole == DOCB_NONE)
        hole = c;
      continue;
    }
    if (hole != DOCB_NONE) {
      size_t at = docb__first_column(spec, c);
      why->column = at + 1;
      snprintf(why->reason, sizeof why->reason,
               "column \"%s\": an array element after \"%s\", left out, "
               "would move up to its index",
               docb__name(spec, at),
               docb__name(spec, docb__first_column(spec, hole)));
      return false;
    }
    index++;
  }
  return true;
}

/* Appends the children of node. */
static bool docb__append_node(docb_t *b, const record_t *rec, size_t node,
                              doc_reject_t *why)
{
  const doc_spec_t *spec = b->spec;
  if (spec->nodes[node].array)
    return docb__append_elements(b, rec, node, why);
  for (size_t c = spec->nodes[node].first_child; c != DOCB_NONE;
       c = spec->nodes[c].next_sibling) {
    const docb_node_t *n = &spec->nodes[c];
    if (n->column != DOCB_NONE) {
      if (docb__append_value(b, rec, n->column, n->key, n->key_len, why) ==
          DOCB_PUT_REJECT)
        return false;
      continue;
    }
    if (!docb__append_inner(b, rec, c, n->key, n->key_len, why))
      return false;
  }
  return true;
}

/* Appends the columns of a flat document (b->flat), as docb__append_node()
 * does for the root, in one loop: the common field (docb__append_value()'s
 * short path) without the walk of the tree. */
static bool docb__append_flat(docb_t *b, const record_t *rec, doc_reject_t *why)
{
  const field_t *fields = rec->fields;
  bool short_path = b->short_path;
  for (const docb_flat_t *e = b->flat; e->column != DOCB_NONE; e++) {
    const field_t *f = &fields[e->column];
    if (short_path && f->len != 0 && e->inferred) {
      if (!docb__inferred(b, e->key, e->key_len, f->data, f->len, false)) {
        docb__too_large(why);
        return false;
      }
    } else if (docb__append_any(b, rec, e->column, e->key, e->key_len, why) ==
               DOCB_PUT_REJECT) {
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
    if (!docb__open(b, BSON_TYPE_DOCUMENT, "_id", 3, &at))
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

/* docb_build_bytes() with the output already in b->buf, b->len, b->cap. */
static bool docb__build(docb_t *b, const record_t *rec, doc_reject_t *why)
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
  /* Every field's bytes come from the raw record: one check of it instead
   * of one per field (a record without raw bytes, built by a caller, or
   * one that is not valid UTF-8 is validated field by field). */
  b->utf8_checked =
      rec->raw_len > 0 &&
      (rec->fields_from_raw ? util_utf8_valid(rec->raw, rec->raw_len)
                            : docb__is_ascii(rec->raw, rec->raw_len));
  b->short_path = b->utf8_checked && spec->n_nulls == 0;
  size_t top;
  if (!docb__open(b, BSON_TYPE_DOCUMENT, NULL, 0, &top))
    goto out_memory;
  if (spec->options.add_id && !spec->has_id && !docb__append_id(b, rec, why)) {
    if (!why->reason[0])
      snprintf(why->reason, sizeof why->reason, "cannot build _id");
    return false;
  }
  if (!(b->flat ? docb__append_flat(b, rec, why)
                : docb__append_node(b, rec, 0, why)))
    return false;
  if (!docb__close(b, top))
    goto out_memory;
  if (b->len - top > INT32_MAX) {
    snprintf(why->reason, sizeof why->reason,
             "document exceeds the maximum BSON size");
    return false;
  }
  return true;

out_memory:
  snprintf(why->reason, sizeof why->reason, "out of memory building a row");
  return false;
}

bool docb_build_bytes(docb_t *b, const record_t *rec, batch_bytes_t *out,
                      doc_reject_t *why)
{
  b->buf = out->data;
  b->len = out->len;
  b->cap = out->cap;
  bool ok = docb__build(b, rec, why);
  out->data = b->buf;
  out->len = b->len;
  out->cap = b->cap;
  return ok;
}

bool docb_build(docb_t *b, const record_t *rec, bson_t *doc, doc_reject_t *why)
{
  b->own.len = 0;
  if (!docb_build_bytes(b, rec, &b->own, why))
    return false;
  bson_t built;
  if (!bson_init_static(&built, b->own.data, b->own.len) ||
      !bson_concat(doc, &built)) {
    snprintf(why->reason, sizeof why->reason,
             "document exceeds the maximum BSON size");
    return false;
  }
  return true;
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

/* docb_build_json() with the output already in b->buf, b->len, b->cap. */
static bool docb__build_json(docb_t *b, const bson_t *parsed, uint64_t line,
                             doc_reject_t *why)
{
  const doc_options_t *o = &b->spec->options;
  size_t top;
  if (!docb__open(b, BSON_TYPE_DOCUMENT, NULL, 0, &top))
    return false;
  if (o->add_id && !bson_has_field(parsed, "_id")) {
    if (o->id_from == DOCB_ID_FIELDS) {
      /* A bson_t of its own: one left with a document open, when a field
       * is missing, cannot be reused. */
      bson_t id = BSON_INITIALIZER;
      bool ok = docb__json_id_fields(parsed, o->id_fields, &id, why) &&
                docb__elements(b, &id);
      bson_destroy(&id);
      if (!ok)
        return false;
    } else {
      bson_oid_t oid;
      uint8_t *v;
      if (o->id_from == DOCB_ID_OBJECTID)
        docb__new_oid(b, &oid);
      else
        docb_line_oid(b->id_seed, line, &oid);
      if (!(v = docb__elem(b, BSON_TYPE_OID, "_id", 3, 12)))
        return false;
      memcpy(v, oid.bytes, 12);
    }
  }
  return docb__elements(b, parsed) && docb__close(b, top) &&
         b->len - top <= INT32_MAX;
}

bool docb_build_json(docb_t *b, const bson_t *parsed, uint64_t line,
                     batch_bytes_t *out, doc_reject_t *why)
{
  why->column = 0;
  why->reason[0] = '\0';
  why->stop = false;
  why->skipped = 0;
  b->buf = out->data;
  b->len = out->len;
  b->cap = out->cap;
  bool ok = docb__build_json(b, parsed, line, why);
  out->data = b->buf;
  out->len = b->len;
  out->cap = b->cap;
  if (!ok && !why->reason[0])
    snprintf(why->reason, sizeof why->reason,
             "document exceeds the maximum BSON size");
  return ok;
}
