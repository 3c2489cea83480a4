/* Query filters ({a: 1, "b.c": {$gt: 2}, $or: [...]}) compiled once and
 * matched against many documents, with MongoDB's semantics for dotted paths,
 * arrays (any element may match), missing fields (match null) and type
 * brackets (ranges compare within one canonical type only).
 *
 * Supported: implicit and $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists,
 * $regex/$options (POSIX extended syntax), $size, $type, $all, $not, $and,
 * $or, $nor, $comment. Anything else is error 2 BadValue, never a silent
 * mismatch. */
#ifndef MTS_MATCH_H
#define MTS_MATCH_H

#include <bson/bson.h>

#include <stdbool.h>

typedef struct matcher matcher_t;

/* Compiles filter (NULL or empty matches everything). The matcher keeps its
 * own copy of filter. Returns NULL and fills error on an invalid filter. */
matcher_t *matcher_new(const bson_t *filter, bson_error_t *error);

/* Frees the matcher; NULL is a no-op. */
void matcher_destroy(matcher_t *matcher);

/* True when doc (len bytes at data) satisfies the filter. */
bool matcher_matches(const matcher_t *matcher, const uint8_t *data,
                     uint32_t len);

/* True when the filter is empty and matches every document. */
bool matcher_is_empty(const matcher_t *matcher);

/* Looks for a top-level (possibly $and-nested) plain equality on path:
 * {path: v} or {path: {$eq: v}} with v not a regex, array or operator
 * document. Fills out (pointing into the matcher's copy) and returns true
 * when found. Used for index lookups. */
bool matcher_equality(const matcher_t *matcher, const char *path,
                      bson_value_t *out);

/* Calls fn(path, value, ctx) for every top-level equality, in filter order:
 * the fields an upsert copies from its query into the new document. */
void matcher_foreach_equality(const matcher_t *matcher,
                              void (*fn)(const char *path,
                                         const bson_value_t *value, void *ctx),
                              void *ctx);

#endif
