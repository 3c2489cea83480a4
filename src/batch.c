/* batch: documents waiting to be written, packed back to back. */
#include "loader/batch.h"

#include <stdlib.h>
#include <string.h>

struct batch {
  batch_bytes_t bytes;   /* the packed documents, then the one being built */
  size_t done;           /* bytes of the committed documents */
  bson_writer_t *writer; /* builds the document begun with batch_begin(), in
                            place after them; NULL otherwise */
  size_t n_docs;         /* documents committed */
  size_t max_docs;       /* full at this many documents */
  size_t max_bytes;      /* full at this many bytes */
  uint64_t *lines;       /* physical line of each document's record */
  uint64_t *offsets;     /* byte offset of each document's record */
  bool keep_raw;         /* keep raw records */
  char *raw;             /* raw records, back to back */
  size_t raw_len;        /* bytes used in raw */
  size_t raw_cap;        /* bytes allocated for raw */
  size_t *raw_at;        /* offset of each document's raw record in raw */
  size_t *raw_size;      /* its length */
};

static void *batch__realloc(void *mem, size_t num_bytes, void *ctx)
{
  (void)ctx;
  return realloc(mem, num_bytes);
}

batch_t *batch_new(size_t max_docs, size_t max_bytes, bool keep_raw)
{
  batch_t *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->max_docs = max_docs ? max_docs : 1;
  b->max_bytes = max_bytes;
  b->keep_raw = keep_raw;
  if (keep_raw) {
    b->raw_at = malloc(b->max_docs * sizeof *b->raw_at);
    b->raw_size = malloc(b->max_docs * sizeof *b->raw_size);
    if (!b->raw_at || !b->raw_size)
      goto out_free;
  }
  b->lines = malloc(b->max_docs * sizeof *b->lines);
  b->offsets = malloc(b->max_docs * sizeof *b->offsets);
  b->bytes.cap = 64 * 1024;
  b->bytes.data = malloc(b->bytes.cap);
  if (!b->lines || !b->offsets || !b->bytes.data)
    goto out_free;
  return b;

out_free:
  free(b->raw_at);
  free(b->raw_size);
  free(b->lines);
  free(b->offsets);
  free(b->bytes.data);
  free(b);
  return NULL;
}

batch_bytes_t *batch_begin_bytes(batch_t *b, uint64_t line, uint64_t offset,
                                 const char *raw, size_t raw_len)
{
  b->lines[b->n_docs] = line;
  b->offsets[b->n_docs] = offset;
  if (b->keep_raw) {
    if (b->raw_len + raw_len > b->raw_cap) {
      size_t cap = b->raw_cap ? b->raw_cap : 64 * 1024;
      while (cap < b->raw_len + raw_len)
        cap *= 2;
      char *p = realloc(b->raw, cap);
      if (!p)
        return NULL;
      b->raw = p;
      b->raw_cap = cap;
    }
    if (raw_len)
      memcpy(b->raw + b->raw_len, raw, raw_len);
    b->raw_at[b->n_docs] = b->raw_len;
    b->raw_size[b->n_docs] = raw_len;
  }
  b->bytes.len = b->done;
  return &b->bytes;
}

bson_t *batch_begin(batch_t *b, uint64_t line, uint64_t offset, const char *raw,
                    size_t raw_len)
{
  if (!batch_begin_bytes(b, line, offset, raw, raw_len))
    return NULL;
  /* libbson 1.23's bson_writer_begin() checks that 5 bytes are free but
   * writes 6 (the length, then 5 zeroes from the byte after it): when a
   * document ended exactly 5 bytes before the end of the buffer, it wrote
   * one byte past it (found under ThreadSanitizer and valgrind). Keep room
   * for 6. */
  if (b->done + 6 > b->bytes.cap) {
    size_t cap =
        b->bytes.cap * 2 > b->done + 6 ? b->bytes.cap * 2 : b->done + 6;
    uint8_t *data = realloc(b->bytes.data, cap);
    if (!data)
      return NULL;
    b->bytes.data = data;
    b->bytes.cap = cap;
  }
  bson_t *doc;
  b->writer = bson_writer_new(&b->bytes.data, &b->bytes.cap, b->done,
                              batch__realloc, NULL);
  if (!b->writer)
    return NULL;
  if (!bson_writer_begin(b->writer, &doc)) {
    bson_writer_destroy(b->writer);
    b->writer = NULL;
    return NULL;
  }
  return doc;
}

void batch_commit(batch_t *b)
{
  if (b->writer) {
    bson_writer_end(b->writer);
    b->bytes.len = bson_writer_get_length(b->writer);
    bson_writer_destroy(b->writer);
    b->writer = NULL;
  }
  b->done = b->bytes.len;
  if (b->keep_raw)
    b->raw_len += b->raw_size[b->n_docs];
  b->n_docs++;
}

void batch_rollback(batch_t *b)
{
  if (b->writer) {
    bson_writer_rollback(b->writer);
    bson_writer_destroy(b->writer);
    b->writer = NULL;
  }
  b->bytes.len = b->done;
}

bool batch_is_full(const batch_t *b)
{
  return b->n_docs >= b->max_docs || (b->max_bytes && b->done >= b->max_bytes);
}

size_t batch_count(const batch_t *b)
{
  return b->n_docs;
}

const uint8_t *batch_data(const batch_t *b, size_t *len)
{
  *len = b->done;
  return b->bytes.data;
}

uint64_t batch_line(const batch_t *b, size_t i)
{
  return b->lines[i];
}

uint64_t batch_offset(const batch_t *b, size_t i)
{
  return b->offsets[i];
}

const char *batch_raw(const batch_t *b, size_t i, size_t *len)
{
  if (!b->keep_raw) {
    *len = 0;
    return "";
  }
  *len = b->raw_size[i];
  return b->raw ? b->raw + b->raw_at[i] : "";
}

void batch_clear(batch_t *b)
{
  b->done = 0;
  b->bytes.len = 0;
  b->n_docs = 0;
  b->raw_len = 0;
}

void batch_destroy(batch_t *b)
{
  if (!b)
    return;
  bson_writer_destroy(b->writer);
  free(b->bytes.data);
  free(b->lines);
  free(b->offsets);
  free(b->raw);
  free(b->raw_at);
  free(b->raw_size);
  free(b);
}
