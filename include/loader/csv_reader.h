/* csv_reader: libcsv wrapped into a record stream with physical line numbers.
 *
 * The reader pulls fixed-size blocks from a source and feeds libcsv one
 * physical line at a time, so it knows exactly on which line and at which
 * byte offset each record starts, even when quoted fields hold newlines. It
 * keeps the raw bytes of the current record for error reports. Memory is one
 * block, one record and libcsv's field buffer; a record larger than
 * CSVR_MAX_RECORD_BYTES is reported and skipped instead of growing without
 * bound (an unterminated quote cannot swallow a whole file into memory). */
#ifndef LOADER_CSV_READER_H
#define LOADER_CSV_READER_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/record.h"
#include "loader/source.h"

/* A record longer than this many raw bytes is rejected (a document built
 * from it could not fit MongoDB's 16 MiB limit anyway). */
#define CSVR_MAX_RECORD_BYTES (16u * 1024u * 1024u + 4096u)

/* The bytes read at a time by the reader and by the cut finder. */
#define CSVR_BLOCK_SIZE (256u * 1024u)

typedef struct csv_dialect {
  unsigned char delimiter; /* field separator, ',' by default */
  unsigned char quote;     /* quote character, '"' by default */
  bool trim;               /* strip spaces and tabs around unquoted fields */
  int comment;             /* lines starting with this byte are skipped, or
                              -1 for none */
  uint64_t skip_lines;     /* physical lines skipped before the first record */
} csv_dialect_t;

/* The dialect of RFC 4180: comma, double quote, no trimming. */
void csvr_dialect_default(csv_dialect_t *dialect);

/* The reader's records (loader/record.h): fields stay valid until the
 * record callback returns. */
typedef field_t csv_field_t;
typedef record_t csv_record_t;

/* Called for each record; return false to stop reading. */
typedef bool (*csvr_record_fn)(void *ctx, const csv_record_t *record);

typedef struct csvr csvr_t;

/* Creates a reader over src (borrowed: the caller closes it after
 * csvr_destroy). start_offset and start_line are where src is positioned
 * (0 and 1 for a whole file); records that start at or after end_offset are
 * left to the next range (UINT64_MAX: read to the end). Returns NULL and
 * fills error when libcsv cannot be initialised. */
csvr_t *csvr_new(source_t *src, const csv_dialect_t *dialect,
                 uint64_t start_offset, uint64_t start_line,
                 uint64_t end_offset, bson_error_t *error);

/* Reads records and calls fn for each until the end of the range, or until
 * fn returns false. Returns false and fills error on a read error. */
bool csvr_read(csvr_t *reader, csvr_record_fn fn, void *ctx,
               bson_error_t *error);

/* Where a part of a split file starts. */
typedef struct csvr_cut {
  uint64_t offset; /* byte offset of the part's first record */
  uint64_t line;   /* its physical line */
} csvr_cut_t;

/* The --split cut finder (csv_cuts.c), by the reader's own quoting rule.
 * Finds where parts 1..parts-1 of the file at path (size bytes) start: for
 * each, the first place at or after size * k / parts where the reader
 * itself would start a record (the same quoting rule, line ends, skipped
 * and empty lines, BOM and record size limit as csvr_read()), never before
 * the end of the header when header is true. cuts[0] is the start of the
 * file and cuts[parts] its end; parts that would start past the last
 * record start at size and are empty. One sequential pass; memory is one
 * block. Returns false and fills error (LOADER_ERROR_USAGE) when the file
 * cannot be read. */
bool csvr_find_cuts(const char *path, const csv_dialect_t *dialect, bool header,
                    uint64_t size, size_t parts, csvr_cut_t *cuts,
                    bson_error_t *error);

/* On by default: libcsv's per-byte space function only on the runs of
 * spaces and tabs next to a delimiter, quote or line end (csv_reader.c).
 * Off parses every byte with it; the records are the same either way (the
 * unit tests compare the two). */
void csvr_set_blanks_fast(csvr_t *reader, bool on);

/* Returns the number of empty lines skipped so far. */
uint64_t csvr_empty_lines(const csvr_t *reader);

/* Returns the byte offset just past the last record delivered. */
uint64_t csvr_offset(const csvr_t *reader);

/* Frees the reader; NULL is a no-op. */
void csvr_destroy(csvr_t *reader);

#endif
