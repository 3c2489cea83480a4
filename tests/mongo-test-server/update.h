/* Update documents applied to stored documents: replacements and the
 * operators $set, $unset, $inc, $setOnInsert and $push (with $each), on
 * top-level and dotted paths, plus the new document an upsert inserts.
 * The result is always a new document: stored ones are immutable. */
#ifndef MTS_UPDATE_H
#define MTS_UPDATE_H

#include "match.h"

#include <bson/bson.h>

#include <stdbool.h>

/* True when update is an operator update ({$set: ...}) rather than a
 * replacement document. */
bool update_is_operator(const bson_t *update);

/* Applies update (operators or replacement) to doc, writing the result to
 * out (initialised here; the caller destroys it, also on failure).
 * inserting applies $setOnInsert. Errors: 9 unknown modifier, 14 type
 * mismatch, 28 path not viable, 66 _id changed. */
bool update_apply(const bson_t *doc, const bson_t *update, bool inserting,
                  bson_t *out, bson_error_t *error);

/* Builds the document an upsert inserts when nothing matched query: the
 * query's equality fields then the update (or the replacement), with _id
 * first, generated when neither gives one. out is initialised here. */
bool update_upsert_doc(const matcher_t *query, const bson_t *update,
                       bson_t *out, bson_error_t *error);

/* Writes a new ObjectId: time, a per-process random part and an atomic
 * counter, as drivers do. Thread-safe. */
void update_new_oid(bson_oid_t *oid);

/* Copies doc into out (initialised here) with its _id field first,
 * adding a new ObjectId _id when it has none. */
void update_id_first(const bson_t *doc, bson_t *out);

#endif
