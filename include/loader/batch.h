/* batch: documents waiting to be written, packed back to back.
 *
 * A batch is one growing buffer of consecutive BSON documents (the document
 * builder encodes each one straight at its end, so nothing is copied), and
 * for each document the physical line and byte offset of its record, so an
 * error the database reports about the i-th document leads back to its
 * line. A batch is full at max_docs documents or max_bytes bytes, whichever
 * comes first; it is reused from batch to batch. */
#ifndef LOADER_BATCH_H
#define LOADER_BATCH_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct batch batch_t;

/* A growing buffer of bytes: data[0..len) used, cap allocated (malloc'd;
 * whoever appends grows it with realloc()). */
typedef struct batch_bytes {
  uint8_t *data; /* the bytes (owned by the batch) */
  size_t len;    /* bytes used */
  size_t cap;    /* bytes allocated */
} batch_bytes_t;

/* Creates an empty batch, or returns NULL when out of memory. With
 * keep_raw, the batch also keeps each document's raw record (for the
 * rejects file, when the database refuses a document). */
batch_t *batch_new(size_t max_docs, size_t max_bytes, bool keep_raw);

/* Starts a document for the record at line/offset (raw[0..raw_len): the
 * record as in the file, copied only with keep_raw) and returns the batch's
 * bytes: the caller appends the document's BSON at their end (len), growing
 * data with realloc() as it needs, and may leave anything there when it
 * gives up (batch_rollback() takes it out). Valid until batch_commit() or
 * batch_rollback(). Returns NULL when out of memory. */
batch_bytes_t *batch_begin_bytes(batch_t *batch, uint64_t line, uint64_t offset,
                                 const char *raw, size_t raw_len);

/* As batch_begin_bytes(), for a document built with libbson: returns the
 * bson_t to fill, in place in the batch (one small allocation per
 * document). */
bson_t *batch_begin(batch_t *batch, uint64_t line, uint64_t offset,
                    const char *raw, size_t raw_len);

/* Keeps the document begun last. */
void batch_commit(batch_t *batch);

/* Discards the document begun last, and whatever was appended of it. */
void batch_rollback(batch_t *batch);

/* Returns true when the batch should be written before adding more. */
bool batch_is_full(const batch_t *batch);

/* Returns the number of documents in the batch. */
size_t batch_count(const batch_t *batch);

/* Returns the packed documents and their total length in *len. */
const uint8_t *batch_data(const batch_t *batch, size_t *len);

/* Returns the line / byte offset of the record of document i. */
uint64_t batch_line(const batch_t *batch, size_t i);
uint64_t batch_offset(const batch_t *batch, size_t i);

/* Returns the raw record of document i ("" without keep_raw). */
const char *batch_raw(const batch_t *batch, size_t i, size_t *len);

/* Empties the batch, keeping its memory for the next one. */
void batch_clear(batch_t *batch);

/* Frees the batch; NULL is a no-op. */
void batch_destroy(batch_t *batch);

#endif
