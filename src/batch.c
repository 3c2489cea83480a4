/* batch: documents waiting to be written, packed back to back. */
#include "loader/batch.h"

#include <stdlib.h>
#include <string.h>

struct batch {
  bson_writer_t *writer; /* builds documents in place in buf */
  uint8_t *buf;          /* the packed documents (owned, grown by writer) */
  size_t buf_len;        /* allocated size of buf */
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
  b->buf_len = 64 * 1024;
  b->buf = malloc(b->buf_len);
  if (!b->lines || !b->offsets || !b->buf)
    goto out_free;
  b->writer = bson_writer_new(&b->buf, &b->buf_len, 0, batch__realloc, NULL);
  if (!b->writer)
    goto out_free;
  return b;

out_free:
  free(b->raw_at);
  free(b->raw_size);
  free(b->lines);
  free(b->offsets);
  free(b->buf);
  free(b);
  return NULL;
}

bson_t *batch_begin(batch_t *b, uint64_t line, uint64_t offset, const char *raw,
                    size_t raw_len)
{
  bson_t *doc;
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
  /* libbson 1.23's bson_writer_begin() checks that 5 bytes are free but
   * writes 6 (the length, then 5 zeroes from the byte after it): when a
   * document ended exactly 5 bytes before the end of the buffer, it wrote
   * one byte past it (found under ThreadSanitizer and valgrind). Keep room
   * for 6. */
  size_t used = bson_writer_get_length(b->writer);
  if (used + 6 > b->buf_len) {
    size_t len = b->buf_len * 2 > used + 6 ? b->buf_len * 2 : used + 6;
    uint8_t *buf = realloc(b->buf, len);
    if (!buf)
      return NULL;
    b->buf = buf;
    b->buf_len = len;
  }
  if (!bson_writer_begin(b->writer, &doc))
    return NULL;
  return doc;
}

void batch_commit(batch_t *b)
{
  bson_writer_end(b->writer);
  if (b->keep_raw)
    b->raw_len += b->raw_size[b->n_docs];
  b->n_docs++;
}

void batch_rollback(batch_t *b)
{
  bson_writer_rollback(b->writer);
}

bool batch_is_full(const batch_t *b)
{
  return b->n_docs >= b->max_docs ||
         (b->max_bytes && bson_writer_get_length(b->writer) >= b->max_bytes);
}

size_t batch_count(const batch_t *b)
{
  return b->n_docs;
}

const uint8_t *batch_data(const batch_t *b, size_t *len)
{
  *len = bson_writer_get_length(b->writer);
  return b->buf;
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
  /* libbson has no reset: a new writer over the same buffer (one small
   * allocation per batch, not per document). */
  bson_writer_t *w =
      bson_writer_new(&b->buf, &b->buf_len, 0, batch__realloc, NULL);
  if (!w)
    abort(); /* bson_writer_new only fails when malloc aborts */
  bson_writer_destroy(b->writer);
  b->writer = w;
  b->n_docs = 0;
  b->raw_len = 0;
}

void batch_destroy(batch_t *b)
{
  if (!b)
    return;
  bson_writer_destroy(b->writer);
  free(b->buf);
  free(b->lines);
  free(b->offsets);
  free(b->raw);
  free(b->raw_at);
  free(b->raw_size);
  free(b);
}
