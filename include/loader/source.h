/* source: the bytes of one input, read in fixed blocks.
 *
 * A source reads a regular file (or a byte range of one), a gzip file or
 * standard input into the caller's buffer: it never holds more than the
 * caller asks for, so a 10 GB file costs what a 10 MB file costs. */
#ifndef LOADER_SOURCE_H
#define LOADER_SOURCE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct source source_t;

/* Returns true when path is a gzip file (by its magic bytes). */
bool source_is_gzip(const char *path);

/* Opens path read-only ("-": standard input; a gzip file is inflated) and
 * positions it at byte offset start. Returns NULL and fills error
 * (LOADER_ERROR_IO; the message does not repeat the path) when the file cannot
 * be opened, is not a regular file, or cannot be positioned. */
source_t *source_open(const char *path, uint64_t start, bson_error_t *error);

/* Reads up to cap bytes into buf and stores the count in *n; *n == 0 means
 * the end of the input. Returns false and fills error on a read error, and
 * on a gzip stream that is corrupt or ends early (LOADER_ERROR_INPUT,
 * naming the inflated offset where it broke). Every byte inflated before
 * the break is delivered first; the read after them fails. */
bool source_read(source_t *src, char *buf, size_t cap, size_t *n,
                 bson_error_t *error);

/* Returns true when the source inflates gzip (a gzip file, or gzip on
 * standard input): its position is then in compressed bytes. */
bool source_inflates(const source_t *src);

/* Returns the size in bytes of the whole underlying file. */
uint64_t source_size(const source_t *src);

/* Returns the number of bytes delivered so far (from the start offset;
 * inflated bytes for gzip). */
uint64_t source_bytes_read(const source_t *src);

/* Returns how far into the file (compressed bytes for gzip) reading got,
 * to compare with source_size() for progress. Safe to call from another
 * thread while one reads (the figure is published atomically). */
uint64_t source_position(const source_t *src);

/* Closes the source; NULL is a no-op. */
void source_close(source_t *src);

#endif
