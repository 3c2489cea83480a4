/* record: one row of input, as a reader delivers it and the document
 * builder takes it. Neither side knows the other: csv_reader fills records,
 * doc_builder turns them into BSON. */
#ifndef LOADER_RECORD_H
#define LOADER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One field of a record. data is NULL for an empty unquoted field (a
 * missing value) and non-NULL with len 0 for an empty quoted field (""). */
typedef struct field {
  const char *data; /* field bytes, unquoted and unescaped; NUL-terminated */
  size_t len;       /* length in bytes */
} field_t;

typedef struct record {
  const field_t *fields; /* the record's fields, in order */
  size_t n_fields;       /* how many */
  uint64_t line;         /* physical line (1-based) where it starts */
  uint64_t end_line;     /* physical line where it ends */
  uint64_t offset;       /* byte offset in the file where it starts */
  uint64_t end_offset;   /* byte offset just past it and its line
                            terminator: where the next record may start */
  const char *raw;       /* the record as it stood in the file, without its
                            line terminator */
  size_t raw_len;        /* length of raw */
  const char *problem;   /* NULL, or why the record is unusable (too large,
                            unterminated or malformed quoting): fields is
                            then empty and the record must be rejected */
  size_t problem_column; /* 1-based column the problem is in, or 0 */
  bool fields_from_raw;  /* every field is raw's bytes less some ASCII ones
                            (delimiters, quotes, line ends): when raw is
                            valid UTF-8, so is every field */
} record_t;

#endif
