/* In-memory storage: catalog, collections, unique hash indexes, cursors.
 * See store.h for the locking rules. */
#include "store.h"

#include "bval.h"
#include "errors.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Most indexes on one collection (mongod's limit). */
#define MAX_INDEXES 64

/* Cursors idle longer than this are reaped (mongod's cursorTimeoutMillis). */
#define CURSOR_IDLE_US (10LL * 60 * 1000 * 1000)

/* Marks a hash table entry whose document was removed. */
static doc_t tombstone_doc;
#define TOMBSTONE (&tombstone_doc)

struct store {
  pthread_mutex_t lock;        /* guards colls, ncolls, capcolls */
  coll_t **colls;              /* the catalog, in creation order */
  size_t ncolls;               /* number of collections */
  size_t capcolls;             /* allocated entries */
  pthread_mutex_t cursor_lock; /* guards the fields below */
  cursor_t **cursors;          /* open cursors */
  size_t ncursors;             /* number of open cursors */
  size_t capcursors;           /* allocated entries */
  uint64_t rng;                /* xorshift state for cursor ids */
};

/* ---- documents -------------------------------------------------------- */

doc_t *doc_new(const uint8_t *data, uint32_t len)
{
  doc_t *d = malloc(sizeof *d + len);
  if (!d)
    return NULL;
  atomic_init(&d->refs, 1);
  d->slot = 0;
  d->len = len;
  memcpy(d->data, data, len);
  return d;
}

doc_t *doc_from_bson(const bson_t *bson)
{
  return doc_new(bson_get_data(bson), bson->len);
}

doc_t *doc_ref(doc_t *doc)
{
  atomic_fetch_add_explicit(&doc->refs, 1, memory_order_relaxed);
  return doc;
}

void doc_unref(doc_t *doc)
{
  if (doc &&
      atomic_fetch_sub_explicit(&doc->refs, 1, memory_order_acq_rel) == 1)
    free(doc);
}

/* ---- index keys ------------------------------------------------------- */

/* An index key extracted from one document; values point into it. */
typedef struct {
  int n;                                /* number of fields */
  bson_value_t v[MTS_MAX_INDEX_FIELDS]; /* field values, null when missing */
  bool all_missing;                     /* no key field was present */
  bool has_array;                       /* some value is an array */
} ikey_t;

/* Extracts index ix's key from the document at data. */
static void key_of(const index_t *ix, const doc_t *doc, ikey_t *key)
{
  bson_t view;
  bson_init_static(&view, doc->data, doc->len);
  key->n = ix->nfields;
  key->all_missing = true;
  key->has_array = false;
  for (int i = 0; i < ix->nfields; i++) {
    if (bval_get_path(&view, ix->fields[i], &key->v[i])) {
      key->all_missing = false;
      if (key->v[i].value_type == BSON_TYPE_ARRAY)
        key->has_array = true;
    } else {
      key->v[i].value_type = BSON_TYPE_NULL;
    }
  }
}

/* Hashes a key. */
static uint64_t key_hash(const ikey_t *key)
{
  uint64_t h = 0;
  for (int i = 0; i < key->n; i++)
    h = bval_hash(&key->v[i], h);
  return h;
}

/* True when two keys are equal in MongoDB's comparison. */
static bool key_equal(const ikey_t *a, const ikey_t *b)
{
  for (int i = 0; i < a->n; i++)
    if (bval_compare(&a->v[i], &b->v[i]) != 0)
      return false;
  return true;
}

/* Returns the stored document other than skip whose key equals key, or
 * NULL. */
static doc_t *ix_find(const index_t *ix, const ikey_t *key, uint64_t hash,
                      const doc_t *skip)
{
  if (!ix->cap)
    return NULL;
  size_t mask = ix->cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const ientry_t *e = &ix->table[i];
    if (!e->doc)
      return NULL;
    if (e->doc == TOMBSTONE || e->hash != hash || e->doc == skip)
      continue;
    ikey_t other;
    key_of(ix, e->doc, &other);
    if (key_equal(key, &other))
      return e->doc;
  }
}

/* Inserts (hash, doc) into a table known to have room. */
static void ix_put(ientry_t *table, size_t cap, uint64_t hash, doc_t *doc)
{
  size_t mask = cap - 1;
  size_t i = hash & mask;
  while (table[i].doc && table[i].doc != TOMBSTONE)
    i = (i + 1) & mask;
  table[i].hash = hash;
  table[i].doc = doc;
}

/* Makes room for one more entry, rehashing (which also clears tombstones)
 * when the table would pass 70% full. Returns false on OOM. */
static bool ix_reserve(index_t *ix)
{
  if ((ix->used + 1) * 10 <= ix->cap * 7)
    return true;
  size_t cap = ix->cap ? ix->cap : 64;
  while ((ix->live + 1) * 10 > cap * 5)
    cap *= 2;
  ientry_t *table = calloc(cap, sizeof *table);
  if (!table)
    return false;
  for (size_t i = 0; i < ix->cap; i++)
    if (ix->table[i].doc && ix->table[i].doc != TOMBSTONE)
      ix_put(table, cap, ix->table[i].hash, ix->table[i].doc);
  free(ix->table);
  ix->table = table;
  ix->cap = cap;
  ix->used = ix->live;
  return true;
}

/* Adds doc under hash; false on OOM. */
static bool ix_add(index_t *ix, uint64_t hash, doc_t *doc)
{
  if (!ix_reserve(ix))
    return false;
  size_t mask = ix->cap - 1;
  size_t i = hash & mask;
  while (ix->table[i].doc && ix->table[i].doc != TOMBSTONE)
    i = (i + 1) & mask;
  if (!ix->table[i].doc)
    ix->used++;
  ix->table[i].hash = hash;
  ix->table[i].doc = doc;
  ix->live++;
  return true;
}

/* Removes doc's entry (stored under hash), leaving a tombstone. */
static void ix_del(index_t *ix, uint64_t hash, const doc_t *doc)
{
  if (!ix->cap)
    return;
  size_t mask = ix->cap - 1;
  for (size_t i = hash & mask; ix->table[i].doc; i = (i + 1) & mask) {
    if (ix->table[i].doc == doc) {
      ix->table[i].doc = TOMBSTONE;
      ix->live--;
      return;
    }
  }
}

/* Frees an index. */
static void index_free(index_t *ix)
{
  if (!ix)
    return;
  free(ix->name);
  bson_destroy(ix->spec);
  for (int i = 0; i < ix->nfields; i++)
    free(ix->fields[i]);
  free(ix->fields);
  free(ix->table);
  free(ix);
}

/* Fills error with mongod's duplicate key error for key in index ix, and
 * info with keyPattern and keyValue. */
static void dup_key_error(const coll_t *coll, const index_t *ix,
                          const ikey_t *key, bson_t *info, bson_error_t *error)
{
  bson_string_t *s = bson_string_new(NULL);
  bson_t kv = BSON_INITIALIZER;
  bson_string_append_printf(s,
                            "E11000 duplicate key error collection: %s "
                            "index: %s dup key: { ",
                            coll->ns, ix->name);
  for (int i = 0; i < key->n; i++) {
    if (i)
      bson_string_append(s, ", ");
    bson_string_append_printf(s, "%s: ", ix->fields[i]);
    bval_format(s, &key->v[i]);
    bson_append_value(&kv, ix->fields[i], -1, &key->v[i]);
  }
  bson_string_append(s, " }");
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_DUPLICATE_KEY, "%s", s->str);
  if (info) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, ix->spec, "key") &&
        BSON_ITER_HOLDS_DOCUMENT(&it))
      bson_append_iter(info, "keyPattern", -1, &it);
    bson_append_document(info, "keyValue", -1, &kv);
  }
  bson_destroy(&kv);
  bson_string_free(s, true);
}

/* Computes, for every unique index, the key hash of doc, and checks that no
 * stored document other than skip has the same key. hashes[i] is left 0 and
 * indexed[i] false for indexes the document is not entered in (sparse). */
static bool check_unique(coll_t *coll, doc_t *doc, const doc_t *skip,
                         uint64_t *hashes, bool *indexed, bson_t *info,
                         bson_error_t *error)
{
  ikey_t key;
  for (size_t i = 0; i < coll->nindexes; i++) {
    index_t *ix = coll->indexes[i];
    indexed[i] = false;
    hashes[i] = 0;
    if (!ix->unique)
      continue;
    key_of(ix, doc, &key);
    if (ix->sparse && key.all_missing)
      continue;
    hashes[i] = key_hash(&key);
    indexed[i] = true;
    if (ix_find(ix, &key, hashes[i], skip)) {
      dup_key_error(coll, ix, &key, info, error);
      return false;
    }
  }
  return true;
}

/* Enters doc in every index check_unique() chose; false on OOM (after
 * undoing the entries made). */
static bool index_doc(coll_t *coll, doc_t *doc, const uint64_t *hashes,
                      const bool *indexed, bson_error_t *error)
{
  for (size_t i = 0; i < coll->nindexes; i++) {
    if (!indexed[i])
      continue;
    if (!ix_add(coll->indexes[i], hashes[i], doc)) {
      while (i-- > 0)
        if (indexed[i])
          ix_del(coll->indexes[i], hashes[i], doc);
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
      return false;
    }
    ikey_t key;
    key_of(coll->indexes[i], doc, &key);
    if (key.has_array)
      coll->indexes[i]->multikey = true;
  }
  return true;
}

/* Removes doc from every unique index. */
static void unindex_doc(coll_t *coll, doc_t *doc)
{
  ikey_t key;
  for (size_t i = 0; i < coll->nindexes; i++) {
    index_t *ix = coll->indexes[i];
    if (!ix->unique)
      continue;
    key_of(ix, doc, &key);
    if (ix->sparse && key.all_missing)
      continue;
    ix_del(ix, key_hash(&key), doc);
  }
}

/* ---- collections ------------------------------------------------------ */

/* Parses an index spec's key pattern into ix->fields; error 67 when it is
 * not a non-empty document. */
static bool parse_key(index_t *ix, const bson_t *key, bson_error_t *error)
{
  bson_iter_t it;
  int n = 0;
  if (!bson_iter_init(&it, key))
    goto bad;
  while (bson_iter_next(&it))
    n++;
  if (n == 0 || n > MTS_MAX_INDEX_FIELDS)
    goto bad;
  ix->fields = calloc((size_t)n, sizeof *ix->fields);
  if (!ix->fields)
    goto bad;
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    const bson_value_t *v = bson_iter_value(&it);
    if (!bval_is_number(v->value_type) && v->value_type != BSON_TYPE_UTF8)
      goto bad;
    ix->fields[ix->nfields] = strdup(bson_iter_key(&it));
    if (!ix->fields[ix->nfields])
      goto bad;
    ix->nfields++;
  }
  return true;
bad:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_CANNOT_CREATE_INDEX,
                 "bad index key pattern");
  return false;
}

/* Builds an index from a spec {key, name, ...}, normalising what
 * listIndexes shows to {v: 2, key, name, <other options>}. */
static index_t *index_new(const bson_t *spec, bson_error_t *error)
{
  bson_iter_t it;
  bson_t key;
  index_t *ix = calloc(1, sizeof *ix);
  if (!ix)
    goto oom;
  if (!bson_iter_init_find(&it, spec, "key") ||
      !BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                   "The 'key' field is a required property of an index "
                   "specification");
    goto fail;
  }
  uint32_t klen;
  const uint8_t *kdata;
  bson_iter_document(&it, &klen, &kdata);
  if (!bson_init_static(&key, kdata, klen) || !parse_key(ix, &key, error))
    goto fail;
  if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
    ix->name = strdup(bson_iter_utf8(&it, NULL));
  } else {
    /* Generate mongod's default name: field_direction joined by '_'. */
    bson_string_t *s = bson_string_new(NULL);
    bson_iter_init(&it, &key);
    while (bson_iter_next(&it)) {
      if (s->len)
        bson_string_append_c(s, '_');
      bson_string_append(s, bson_iter_key(&it));
      bson_string_append_c(s, '_');
      int64_t dir;
      if (bval_as_int64(bson_iter_value(&it), &dir))
        bson_string_append_printf(s, "%lld", (long long)dir);
      else if (BSON_ITER_HOLDS_UTF8(&it))
        bson_string_append(s, bson_iter_utf8(&it, NULL));
    }
    ix->name = bson_string_free(s, false);
  }
  if (!ix->name)
    goto oom;
  if (bson_iter_init_find(&it, spec, "unique"))
    ix->unique = bval_truthy(bson_iter_value(&it));
  if (bson_iter_init_find(&it, spec, "sparse"))
    ix->sparse = bval_truthy(bson_iter_value(&it));
  ix->spec = bson_new();
  BSON_APPEND_INT32(ix->spec, "v", 2);
  BSON_APPEND_DOCUMENT(ix->spec, "key", &key);
  BSON_APPEND_UTF8(ix->spec, "name", ix->name);
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    const char *k = bson_iter_key(&it);
    if (strcmp(k, "key") && strcmp(k, "name") && strcmp(k, "v") &&
        strcmp(k, "ns"))
      bson_append_iter(ix->spec, k, -1, &it);
  }
  return ix;
oom:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
fail:
  index_free(ix);
  return NULL;
}

/* Creates an empty collection with its _id index and one reference. */
static coll_t *coll_new(const char *db, const char *name)
{
  coll_t *c = calloc(1, sizeof *c);
  bson_error_t error;
  if (!c)
    return NULL;
  atomic_init(&c->refs, 1);
  c->db = strdup(db);
  c->name = strdup(name);
  c->ns = bson_strdup_printf("%s.%s", db, name);
  c->options = bson_new();
  bson_oid_init(&c->uuid_seed, NULL);
  pthread_rwlock_init(&c->lock, NULL);
  bson_t *spec = BCON_NEW("key", "{", "_id", BCON_INT32(1), "}", "name",
                          BCON_UTF8("_id_"));
  index_t *id = index_new(spec, &error);
  bson_destroy(spec);
  c->indexes = malloc(sizeof *c->indexes);
  if (!c->db || !c->name || !c->ns || !id || !c->indexes) {
    index_free(id);
    c->nindexes = 0;
    coll_unref(c);
    return NULL;
  }
  id->unique = true;
  c->indexes[0] = id;
  c->nindexes = 1;
  return c;
}

void coll_unref(coll_t *c)
{
  if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  for (size_t i = 0; i < c->nslots; i++)
    doc_unref(c->slots[i]);
  free(c->slots);
  for (size_t i = 0; i < c->nindexes; i++)
    index_free(c->indexes[i]);
  free(c->indexes);
  pthread_rwlock_destroy(&c->lock);
  validator_free(c->validator);
  bson_destroy(c->options);
  free(c->db);
  free(c->name);
  bson_free(c->ns);
  free(c);
}

bool coll_insert(coll_t *c, doc_t *doc, bson_t *info, bson_error_t *error)
{
  uint64_t hashes[MAX_INDEXES];
  bool indexed[MAX_INDEXES];
  if (!check_unique(c, doc, NULL, hashes, indexed, info, error))
    return false;
  if (c->nslots == c->capslots) {
    size_t cap = c->capslots ? c->capslots * 2 : 256;
    doc_t **slots = realloc(c->slots, cap * sizeof *slots);
    if (!slots) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
      return false;
    }
    c->slots = slots;
    c->capslots = cap;
  }
  if (!index_doc(c, doc, hashes, indexed, error))
    return false;
  doc->slot = c->nslots;
  c->slots[c->nslots++] = doc;
  c->count++;
  c->bytes += doc->len;
  return true;
}

bool coll_replace(coll_t *c, doc_t *old, doc_t *doc, bson_t *info,
                  bson_error_t *error)
{
  uint64_t hashes[MAX_INDEXES];
  bool indexed[MAX_INDEXES];
  if (!check_unique(c, doc, old, hashes, indexed, info, error))
    return false;
  unindex_doc(c, old);
  if (!index_doc(c, doc, hashes, indexed, error)) {
    /* Put old back; its entries were just freed, so this has room. */
    uint64_t oh[MAX_INDEXES];
    bool oi[MAX_INDEXES];
    bson_error_t ignored;
    if (check_unique(c, old, NULL, oh, oi, NULL, &ignored))
      index_doc(c, old, oh, oi, &ignored);
    return false;
  }
  doc->slot = old->slot;
  c->slots[old->slot] = doc;
  c->bytes = c->bytes - old->len + doc->len;
  doc_unref(old);
  return true;
}

/* Squeezes deleted slots out once they are the majority, keeping natural
 * order and each document's slot number current. */
static void compact(coll_t *c)
{
  if (c->nslots < 1024 || c->count * 2 > c->nslots)
    return;
  size_t j = 0;
  for (size_t i = 0; i < c->nslots; i++) {
    if (c->slots[i]) {
      c->slots[i]->slot = j;
      c->slots[j++] = c->slots[i];
    }
  }
  c->nslots = j;
}

void coll_remove(coll_t *c, doc_t *doc)
{
  unindex_doc(c, doc);
  c->slots[doc->slot] = NULL;
  c->count--;
  c->bytes -= doc->len;
  doc_unref(doc);
  compact(c);
}

bool coll_lookup(coll_t *c, const matcher_t *m, doc_t **found)
{
  for (size_t i = 0; i < c->nindexes; i++) {
    index_t *ix = c->indexes[i];
    ikey_t key;
    if (!ix->unique || ix->multikey)
      continue;
    key.n = ix->nfields;
    int f;
    for (f = 0; f < ix->nfields; f++) {
      if (!matcher_equality(m, ix->fields[f], &key.v[f]))
        break;
      /* A sparse index has no entry for a missing field, which null
       * matches: it can't answer that. */
      if (ix->sparse && key.v[f].value_type == BSON_TYPE_NULL)
        break;
    }
    if (f < ix->nfields)
      continue;
    *found = ix_find(ix, &key, key_hash(&key), NULL);
    return true;
  }
  return false;
}

doc_t **coll_match(coll_t *c, const matcher_t *m, size_t limit, bool take_refs,
                   size_t *n)
{
  doc_t *found = NULL;
  size_t cap = 16;
  doc_t **out;
  *n = 0;
  if (coll_lookup(c, m, &found)) {
    out = malloc(sizeof *out);
    if (out && found && matcher_matches(m, found->data, found->len))
      out[(*n)++] = take_refs ? doc_ref(found) : found;
    return out;
  }
  if (limit && limit < cap)
    cap = limit;
  out = malloc(cap * sizeof *out);
  bool empty_filter = matcher_is_empty(m);
  for (size_t i = 0; out && i < c->nslots; i++) {
    doc_t *d = c->slots[i];
    if (!d || (!empty_filter && !matcher_matches(m, d->data, d->len)))
      continue;
    if (*n == cap) {
      cap *= 2;
      doc_t **grown = realloc(out, cap * sizeof *grown);
      if (!grown) {
        if (take_refs)
          for (size_t j = 0; j < *n; j++)
            doc_unref(out[j]);
        free(out);
        return NULL;
      }
      out = grown;
    }
    out[(*n)++] = take_refs ? doc_ref(d) : d;
    if (limit && *n == limit)
      break;
  }
  return out;
}

/* Puts mongod's context of a failed index build before error's message:
 * a new build UUID, and the collection's. */
static void index_build_failed(const coll_t *c, bson_error_t *error)
{
  uint8_t u[2][16];
  bson_oid_t build;
  bson_oid_init(&build, NULL);
  memcpy(u[0], build.bytes, 12);
  memcpy(u[0] + 12, c->uuid_seed.bytes + 8, 4);
  memset(u[1], 0, 16);
  memcpy(u[1], c->uuid_seed.bytes, 12);
  char text[2][40];
  for (int k = 0; k < 2; k++) {
    u[k][6] = (uint8_t)((u[k][6] & 0x0F) | 0x40);
    u[k][8] = (uint8_t)((u[k][8] & 0x3F) | 0x80);
    char *o = text[k];
    for (int i = 0; i < 16; i++) {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        *o++ = '-';
      o += sprintf(o, "%02x", u[k][i]);
    }
  }
  char reason[sizeof error->message];
  bson_strncpy(reason, error->message, sizeof reason);
  bson_set_error(error, error->domain, error->code,
                 "Index build failed: %s: Collection %s ( %s ) :: caused by "
                 ":: %s",
                 text[0], c->ns, text[1], reason);
}

bool coll_create_index(coll_t *c, const bson_t *spec, bool *created,
                       bson_t *info, bson_error_t *error)
{
  *created = false;
  index_t *ix = index_new(spec, error);
  if (!ix)
    return false;
  bson_iter_t a, b;
  for (size_t i = 0; i < c->nindexes; i++) {
    index_t *old = c->indexes[i];
    bson_iter_init_find(&a, old->spec, "key");
    bson_iter_init_find(&b, ix->spec, "key");
    bool same_key = bval_compare(bson_iter_value(&a), bson_iter_value(&b)) == 0;
    bool same_name = !strcmp(old->name, ix->name);
    if (same_name && same_key &&
        (old->unique == ix->unique || !strcmp(ix->name, "_id_"))) {
      index_free(ix);
      return true;
    }
    if (same_name) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_INDEX_KEY_SPECS_CONFLICT,
                     "An existing index has the same name as the requested "
                     "index. When index names are not specified, they are "
                     "auto generated and can cause conflicts. Please refer "
                     "to our documentation. Requested index: %s, existing "
                     "index: %s",
                     ix->name, old->name);
      goto fail;
    }
    if (same_key) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_INDEX_OPTIONS_CONFLICT,
                     "Index already exists with a different name: %s",
                     old->name);
      goto fail;
    }
  }
  if (c->nindexes >= MAX_INDEXES) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_CANNOT_CREATE_INDEX,
                   "add index fails, too many indexes for %s", c->ns);
    goto fail;
  }
  if (ix->unique) {
    for (size_t i = 0; i < c->nslots; i++) {
      doc_t *d = c->slots[i];
      ikey_t key;
      if (!d)
        continue;
      key_of(ix, d, &key);
      if (key.has_array)
        ix->multikey = true;
      if (ix->sparse && key.all_missing)
        continue;
      uint64_t h = key_hash(&key);
      if (ix_find(ix, &key, h, NULL)) {
        dup_key_error(c, ix, &key, info, error);
        index_build_failed(c, error);
        goto fail;
      }
      if (!ix_add(ix, h, d)) {
        bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
        goto fail;
      }
    }
  }
  index_t **grown = realloc(c->indexes, (c->nindexes + 1) * sizeof *grown);
  if (!grown) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
    goto fail;
  }
  c->indexes = grown;
  c->indexes[c->nindexes++] = ix;
  *created = true;
  return true;
fail:
  index_free(ix);
  return false;
}

bool coll_drop_index(coll_t *c, const bson_value_t *which, bson_error_t *error)
{
  bool all = which->value_type == BSON_TYPE_UTF8 &&
             !strcmp(which->value.v_utf8.str, "*");
  bool dropped = false;
  for (size_t i = 0; i < c->nindexes; i++) {
    index_t *ix = c->indexes[i];
    bool hit = all;
    if (which->value_type == BSON_TYPE_UTF8 && !all)
      hit = !strcmp(ix->name, which->value.v_utf8.str);
    else if (which->value_type == BSON_TYPE_DOCUMENT) {
      bson_iter_t k;
      bson_iter_init_find(&k, ix->spec, "key");
      hit = bval_compare(bson_iter_value(&k), which) == 0;
    }
    if (!hit)
      continue;
    if (i == 0) {
      if (all)
        continue;
      bson_set_error(error, MTS_ERR_DOMAIN, 72, "cannot drop _id index");
      return false;
    }
    index_free(ix);
    memmove(&c->indexes[i], &c->indexes[i + 1],
            (c->nindexes - i - 1) * sizeof *c->indexes);
    c->nindexes--;
    i--;
    dropped = true;
    if (!all)
      break;
  }
  if (!dropped && !all) {
    bson_string_t *s = bson_string_new(NULL);
    if (which->value_type == BSON_TYPE_UTF8)
      bson_string_append(s, which->value.v_utf8.str);
    else
      bval_format(s, which);
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INDEX_NOT_FOUND,
                   "index not found with name [%s]", s->str);
    bson_string_free(s, true);
    return false;
  }
  return true;
}

/* ---- catalog ---------------------------------------------------------- */

store_t *store_new(void)
{
  store_t *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->cursor_lock, NULL);
  s->rng = (uint64_t)time(NULL) * 2654435761ULL ^ (uint64_t)getpid() << 32 ^
           0x9E3779B97F4A7C15ULL;
  return s;
}

void store_destroy(store_t *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->ncolls; i++)
    coll_unref(s->colls[i]);
  free(s->colls);
  for (size_t i = 0; i < s->ncursors; i++)
    cursor_free(s->cursors[i]);
  free(s->cursors);
  pthread_mutex_destroy(&s->lock);
  pthread_mutex_destroy(&s->cursor_lock);
  free(s);
}

bool store_valid_names(const char *db, const char *coll, bson_error_t *error)
{
  if (!db || !*db || strlen(db) >= 64 || strpbrk(db, "/\\. \"$")) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_NAMESPACE,
                   "Invalid database name: '%s'", db ? db : "");
    return false;
  }
  if (coll && (!*coll || strchr(coll, '$') || coll[0] == '.' ||
               strlen(db) + strlen(coll) + 1 > 255)) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_INVALID_NAMESPACE,
                   "Invalid namespace specified '%s.%s'", db, coll);
    return false;
  }
  return true;
}

/* Returns the catalog position of db.name, or -1. Caller holds s->lock. */
static long find_coll(const store_t *s, const char *db, const char *name)
{
  for (size_t i = 0; i < s->ncolls; i++)
    if (!strcmp(s->colls[i]->name, name) && !strcmp(s->colls[i]->db, db))
      return (long)i;
  return -1;
}

coll_t *store_get_coll(store_t *s, const char *db, const char *name,
                       bool create, bool *created)
{
  coll_t *c = NULL;
  if (created)
    *created = false;
  pthread_mutex_lock(&s->lock);
  long i = find_coll(s, db, name);
  if (i >= 0) {
    c = s->colls[i];
    atomic_fetch_add(&c->refs, 1);
    goto out_unlock;
  }
  if (!create)
    goto out_unlock;
  if (s->ncolls == s->capcolls) {
    size_t cap = s->capcolls ? s->capcolls * 2 : 16;
    coll_t **grown = realloc(s->colls, cap * sizeof *grown);
    if (!grown)
      goto out_unlock;
    s->colls = grown;
    s->capcolls = cap;
  }
  c = coll_new(db, name);
  if (!c)
    goto out_unlock;
  s->colls[s->ncolls++] = c;
  atomic_fetch_add(&c->refs, 1);
  if (created)
    *created = true;
out_unlock:
  pthread_mutex_unlock(&s->lock);
  return c;
}

bool store_drop_coll(store_t *s, const char *db, const char *name)
{
  coll_t *c = NULL;
  pthread_mutex_lock(&s->lock);
  long i = find_coll(s, db, name);
  if (i >= 0) {
    c = s->colls[i];
    memmove(&s->colls[i], &s->colls[i + 1],
            (s->ncolls - (size_t)i - 1) * sizeof *s->colls);
    s->ncolls--;
  }
  pthread_mutex_unlock(&s->lock);
  coll_unref(c);
  return c != NULL;
}

bool store_drop_db(store_t *s, const char *db)
{
  coll_t **dropped = NULL;
  size_t n = 0;
  pthread_mutex_lock(&s->lock);
  dropped = malloc((s->ncolls + 1) * sizeof *dropped);
  if (dropped) {
    size_t j = 0;
    for (size_t i = 0; i < s->ncolls; i++) {
      if (!strcmp(s->colls[i]->db, db))
        dropped[n++] = s->colls[i];
      else
        s->colls[j++] = s->colls[i];
    }
    s->ncolls = j;
  }
  pthread_mutex_unlock(&s->lock);
  /* Free outside the catalog lock: a big collection takes a while. */
  for (size_t i = 0; i < n; i++)
    coll_unref(dropped[i]);
  free(dropped);
  return n > 0;
}

coll_t **store_list_colls(store_t *s, const char *db, size_t *n)
{
  pthread_mutex_lock(&s->lock);
  coll_t **out = malloc((s->ncolls + 1) * sizeof *out);
  *n = 0;
  if (out) {
    for (size_t i = 0; i < s->ncolls; i++) {
      if (db && strcmp(s->colls[i]->db, db))
        continue;
      atomic_fetch_add(&s->colls[i]->refs, 1);
      out[(*n)++] = s->colls[i];
    }
  }
  pthread_mutex_unlock(&s->lock);
  return out;
}

/* ---- cursors ---------------------------------------------------------- */

void cursor_free(cursor_t *cur)
{
  if (!cur)
    return;
  for (size_t i = cur->pos; i < cur->ndocs; i++)
    doc_unref(cur->docs[i]);
  free(cur->docs);
  free(cur->ns);
  if (cur->projection)
    bson_destroy(cur->projection);
  free(cur);
}

/* Removes entry i of the cursor table. Caller holds cursor_lock. */
static cursor_t *cursor_take(store_t *s, size_t i)
{
  cursor_t *cur = s->cursors[i];
  s->cursors[i] = s->cursors[--s->ncursors];
  return cur;
}

void store_cursor_add(store_t *s, cursor_t *cur)
{
  int64_t now = bson_get_monotonic_time();
  cursor_t **reaped = NULL;
  size_t nreaped = 0;
  cur->last_used_us = now;
  pthread_mutex_lock(&s->cursor_lock);
  /* Reap idle cursors, collected to be freed after unlocking. */
  for (size_t i = 0; i < s->ncursors; i++) {
    cursor_t *c = s->cursors[i];
    if (!c->pinned && now - c->last_used_us > CURSOR_IDLE_US) {
      cursor_t **grown = realloc(reaped, (nreaped + 1) * sizeof *grown);
      if (!grown)
        break;
      reaped = grown;
      reaped[nreaped++] = cursor_take(s, i);
      i--;
    }
  }
  if (s->ncursors == s->capcursors) {
    size_t cap = s->capcursors ? s->capcursors * 2 : 16;
    cursor_t **grown = realloc(s->cursors, cap * sizeof *grown);
    if (!grown) {
      /* No room to keep it: the client sees a cursor id that is gone. */
      cur->id = 0;
      pthread_mutex_unlock(&s->cursor_lock);
      cursor_free(cur);
      goto out_free_reaped;
    }
    s->cursors = grown;
    s->capcursors = cap;
  }
  do {
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    cur->id = (int64_t)(s->rng & 0x7FFFFFFFFFFFFFFFULL);
  } while (cur->id == 0);
  s->cursors[s->ncursors++] = cur;
  pthread_mutex_unlock(&s->cursor_lock);
out_free_reaped:
  for (size_t i = 0; i < nreaped; i++)
    cursor_free(reaped[i]);
  free(reaped);
}

cursor_t *store_cursor_pin(store_t *s, int64_t id)
{
  cursor_t *found = NULL;
  pthread_mutex_lock(&s->cursor_lock);
  for (size_t i = 0; i < s->ncursors; i++) {
    if (s->cursors[i]->id == id) {
      if (!s->cursors[i]->pinned && !s->cursors[i]->killed) {
        found = s->cursors[i];
        found->pinned = true;
      }
      break;
    }
  }
  pthread_mutex_unlock(&s->cursor_lock);
  return found;
}

void store_cursor_unpin(store_t *s, cursor_t *cur)
{
  cursor_t *dead = NULL;
  pthread_mutex_lock(&s->cursor_lock);
  cur->pinned = false;
  cur->last_used_us = bson_get_monotonic_time();
  if (cur->killed || cur->pos >= cur->ndocs) {
    for (size_t i = 0; i < s->ncursors; i++) {
      if (s->cursors[i] == cur) {
        dead = cursor_take(s, i);
        break;
      }
    }
  }
  pthread_mutex_unlock(&s->cursor_lock);
  cursor_free(dead);
}

bool store_cursor_kill(store_t *s, int64_t id)
{
  cursor_t *dead = NULL;
  bool found = false;
  pthread_mutex_lock(&s->cursor_lock);
  for (size_t i = 0; i < s->ncursors; i++) {
    if (s->cursors[i]->id == id) {
      found = true;
      if (s->cursors[i]->pinned)
        s->cursors[i]->killed = true;
      else
        dead = cursor_take(s, i);
      break;
    }
  }
  pthread_mutex_unlock(&s->cursor_lock);
  cursor_free(dead);
  return found;
}
