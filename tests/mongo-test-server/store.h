/* In-memory storage: a catalog of collections per database, each holding its
 * documents as received (field order kept) in natural (insertion) order, a
 * hash index on _id and on every unique index, and the server's open cursors.
 *
 * Locking: the catalog has a mutex, each collection a rwlock, the cursor
 * table a mutex; no code path holds two of them at once. Collections and
 * documents are reference counted, so a cursor or a command keeps what it
 * uses alive after a drop or a delete, without holding any lock. */
#ifndef MTS_STORE_H
#define MTS_STORE_H

#include <bson/bson.h>

#include "match.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest document a client may store (mongod's BSONObjMaxUserSize). */
#define MTS_MAX_BSON_SIZE (16 * 1024 * 1024)

/* Most fields in one index key (mongod's compound index limit). */
#define MTS_MAX_INDEX_FIELDS 32

/* An immutable, reference-counted document. */
typedef struct doc {
  atomic_uint refs; /* references: the collection, cursors, commands */
  size_t slot;      /* position in its collection's slots; under coll lock */
  uint32_t len;     /* size of data in bytes */
  uint8_t data[];   /* the BSON bytes */
} doc_t;

/* Copies len bytes of BSON into a new document with one reference; NULL on
 * OOM. */
doc_t *doc_new(const uint8_t *data, uint32_t len);

/* Copies a bson_t into a new document; NULL on OOM. */
doc_t *doc_from_bson(const bson_t *bson);

/* Takes one more reference and returns doc. */
doc_t *doc_ref(doc_t *doc);

/* Drops one reference, freeing the document with the last; NULL is a
 * no-op. */
void doc_unref(doc_t *doc);

/* One entry of an index's open-addressing hash table. */
typedef struct {
  uint64_t hash; /* hash of the key; meaningless when doc is NULL */
  doc_t *doc;    /* the document holding the key; NULL empty, TOMBSTONE gone */
} ientry_t;

/* An index: its spec for listIndexes and, when unique, its hash table. */
typedef struct {
  char *name;      /* index name, e.g. "_id_" */
  bson_t *spec;    /* {v: 2, key: {...}, name: ..., unique...} as listed */
  char **fields;   /* key field paths, in key order */
  int nfields;     /* number of key fields */
  bool unique;     /* enforce uniqueness (and keep the hash table) */
  bool sparse;     /* skip documents lacking every key field */
  bool multikey;   /* some stored key holds an array: no lookups by it */
  ientry_t *table; /* hash table of keys, unique indexes only */
  size_t cap;      /* table capacity, a power of two or 0 */
  size_t used;     /* live entries plus tombstones */
  size_t live;     /* live entries */
} index_t;

/* A collection. Fields below lock are guarded by it. */
typedef struct coll {
  atomic_int refs;             /* references: the catalog and users */
  char *db;                    /* database name */
  char *name;                  /* collection name */
  char *ns;                    /* "db.name" */
  bson_t *options;             /* create options, for listCollections */
  bson_oid_t uuid_seed;        /* bytes of the collection's info.uuid */
  pthread_rwlock_t lock;       /* guards everything below */
  doc_t **slots;               /* documents in natural order; NULL = deleted */
  size_t nslots;               /* slots in use (live and holes) */
  size_t capslots;             /* slots allocated */
  size_t count;                /* live documents */
  size_t bytes;                /* total size of live documents */
  struct validator *validator; /* refuses documents (validate.h), or NULL */
  index_t **indexes;           /* indexes, _id_ first */
  size_t nindexes;             /* number of indexes */
} coll_t;

/* The whole server's data. */
typedef struct store store_t;

/* Creates an empty store; NULL on OOM. */
store_t *store_new(void);

/* Frees the store, its collections and cursors; NULL is a no-op. */
void store_destroy(store_t *store);

/* Finds db.name and returns it with a reference the caller drops with
 * coll_unref(). With create, makes it (with its _id index) when absent and
 * sets *created. Returns NULL when absent and not created, or on OOM. */
coll_t *store_get_coll(store_t *store, const char *db, const char *name,
                       bool create, bool *created);

/* Removes db.name from the catalog. Returns false when absent. Users holding
 * references keep a detached collection until they drop them. */
bool store_drop_coll(store_t *store, const char *db, const char *name);

/* Removes every collection of db. Returns false when it had none. */
bool store_drop_db(store_t *store, const char *db);

/* Returns referenced collections of db (all databases when db is NULL), in
 * creation order, in a malloc'd array the caller frees after dropping each
 * reference. *n receives the count. */
coll_t **store_list_colls(store_t *store, const char *db, size_t *n);

/* Drops one reference to the collection; NULL is a no-op. */
void coll_unref(coll_t *coll);

/* Checks a database or collection name as mongod would; fills error (code
 * 73 InvalidNamespace) when invalid. */
bool store_valid_names(const char *db, const char *coll, bson_error_t *error);

/* --- the following require the collection's lock, as noted ------------- */

/* [write lock] Adds doc (the collection takes the caller's reference on
 * success) after checking every unique index. On a duplicate fills error
 * with 11000 and mongod's message and, when info is non-NULL, appends
 * keyPattern and keyValue to it. */
bool coll_insert(coll_t *coll, doc_t *doc, bson_t *info, bson_error_t *error);

/* [write lock] Replaces old (which must be stored) with doc, checking unique
 * indexes; on success the collection owns doc's reference and drops its own
 * reference to old. */
bool coll_replace(coll_t *coll, doc_t *old, doc_t *doc, bson_t *info,
                  bson_error_t *error);

/* [write lock] Removes a stored document and drops the collection's
 * reference to it. */
void coll_remove(coll_t *coll, doc_t *doc);

/* [read lock] Answers an equality on every field of a unique index (always
 * the case for {_id: v}) from the index. Returns true when an index applied;
 * *found is then the only candidate (not referenced) or NULL. The caller
 * still runs its full filter on the candidate. */
bool coll_lookup(coll_t *coll, const matcher_t *matcher, doc_t **found);

/* [read lock] Returns a malloc'd array of the stored documents matching
 * matcher, in natural order, at most limit of them (0: no limit), using a
 * unique index when the filter allows. With take_refs each is referenced
 * for the caller, who may then use them after unlocking. NULL on OOM. */
doc_t **coll_match(coll_t *coll, const matcher_t *matcher, size_t limit,
                   bool take_refs, size_t *n);

/* [write lock] Creates an index from spec ({key, name, unique, sparse}),
 * building it over the current documents. *created is false when an
 * identical index exists. Errors: 67 bad spec, 85/86 conflicts, 11000 when
 * existing documents violate uniqueness: as mongod 6.0 answers a failed
 * index build, "Index build failed: UUID: Collection NS ( UUID ) :: caused
 * by :: E11000 ...", with keyPattern and keyValue appended to info when it
 * is not NULL. */
bool coll_create_index(coll_t *coll, const bson_t *spec, bool *created,
                       bson_t *info, bson_error_t *error);

/* [write lock] Drops the index which names (a string; "*" for all but
 * _id_) or whose key pattern it equals (a document). Error 27 IndexNotFound
 * when absent, 72 InvalidOptions for _id_. */
bool coll_drop_index(coll_t *coll, const bson_value_t *which,
                     bson_error_t *error);

/* --- cursors --------------------------------------------------------- */

/* An open cursor: the documents of a query's result still to be sent. */
typedef struct cursor {
  int64_t id;           /* the cursor id clients see */
  char *ns;             /* "db.coll" reported in replies */
  doc_t **docs;         /* referenced result documents */
  size_t ndocs;         /* number of docs */
  size_t pos;           /* next document to send */
  bson_t *projection;   /* applied as documents are sent; NULL for none */
  int64_t last_used_us; /* monotonic time of last use, for idle expiry */
  bool pinned;          /* in use by a getMore; not killable meanwhile */
  bool killed;          /* killCursors came while pinned: free on unpin */
} cursor_t;

/* Frees a cursor that is not registered, dropping its document
 * references; NULL is a no-op. */
void cursor_free(cursor_t *cursor);

/* Registers a cursor (the store takes ownership) and assigns its id. Also
 * reaps cursors idle for more than ten minutes, as mongod does. */
void store_cursor_add(store_t *store, cursor_t *cursor);

/* Pins cursor id for a getMore; NULL when unknown or already in use. */
cursor_t *store_cursor_pin(store_t *store, int64_t id);

/* Unpins after a getMore; frees the cursor when exhausted or killed. */
void store_cursor_unpin(store_t *store, cursor_t *cursor);

/* Kills cursor id. Returns false when unknown. */
bool store_cursor_kill(store_t *store, int64_t id);

#endif
