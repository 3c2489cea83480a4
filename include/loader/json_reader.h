/* json_reader: newline-delimited JSON or one JSON array, as a stream of
 * documents with physical line numbers.
 *
 * A small scanner finds where each top-level JSON value starts and ends
 * (tracking strings, escapes and nesting), in fixed blocks, so an array of
 * a million objects never sits in memory at once; libbson's JSON parser
 * (extended JSON: $oid, $date, $numberLong...) then turns each value into
 * BSON. A value that is not an object, does not parse, or is larger than
 * JSONR_MAX_VALUE_BYTES is delivered as a problem and reading goes on. */
#ifndef LOADER_JSON_READER_H
#define LOADER_JSON_READER_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/source.h"

#define JSONR_MAX_VALUE_BYTES (16u * 1024u * 1024u + 4096u)

/* One top-level value. */
typedef struct json_value {
  const char *text;    /* the value's JSON text (valid until the callback
                          returns) */
  size_t len;          /* its length */
  uint64_t line;       /* physical line where it starts */
  uint64_t end_line;   /* physical line at end_offset */
  uint64_t offset;     /* byte offset where it starts */
  uint64_t end_offset; /* byte offset just past it */
  const char *problem; /* NULL, or why it cannot be a document */
} json_value_t;

typedef bool (*jsonr_value_fn)(void *ctx, const json_value_t *value);

typedef struct jsonr jsonr_t;

/* Creates a reader over src positioned at start_offset / start_line; with
 * in_array, the top-level array's '[' is before start_offset (resuming).
 * Returns NULL when out of memory. */
jsonr_t *jsonr_new(source_t *src, uint64_t start_offset, uint64_t start_line,
                   bool in_array, bson_error_t *error);

/* Calls fn for every top-level value (every element of a top-level array)
 * until the end or until fn returns false. Returns false and fills error on
 * a read error or JSON that cannot be resynchronised (an unbalanced
 * bracket at the end). */
bool jsonr_read(jsonr_t *reader, jsonr_value_fn fn, void *ctx,
                bson_error_t *error);

/* Frees the reader; NULL is a no-op. */
void jsonr_destroy(jsonr_t *reader);

/* Returns true when path names a JSON input by its extension (.json,
 * .ndjson, .jsonl, with or without .gz). */
bool jsonr_is_json_name(const char *path);

/* Returns true when the JSON file at path is one array (its first
 * non-blank byte is '['). */
bool jsonr_is_array(const char *path);

#endif
