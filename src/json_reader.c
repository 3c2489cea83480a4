/* json_reader: newline-delimited JSON or one JSON array, as a stream of
 * documents with physical line numbers.
 *
 * The scanner keeps: the nesting depth, whether it is inside a string and
 * whether the last byte was a backslash there. A top-level value starts at
 * the first non-blank byte at depth 0 (or depth 1 inside the top-level
 * array) and ends when the depth returns; its bytes are copied into one
 * buffer reused from value to value. */
#include "loader/json_reader.h"
#include "loader/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONR_BLOCK_SIZE (256u * 1024u)

struct jsonr {
  source_t *src;     /* the input (borrowed) */
  char *block;       /* the current block */
  uint64_t offset;   /* file offset of the next byte */
  uint64_t line;     /* physical line of the next byte */
  int base;          /* depth at which values start: 0, or 1 in an array */
  bool array_seen;   /* the top-level '[' has been read */
  int depth;         /* current nesting depth */
  bool in_string;    /* inside a string */
  bool escaped;      /* the previous byte was a backslash in a string */
  bool in_value;     /* a value has started */
  bool oversized;    /* the current value grew past the limit */
  uint64_t v_line;   /* where the current value starts */
  uint64_t v_offset; /* its offset */
  char *buf;         /* its bytes */
  size_t len;        /* bytes used in buf */
  size_t cap;        /* bytes allocated for buf */
  bool seen_any;     /* a value (or the array) has begun */
  bool stop;         /* the consumer asked to stop */
  bool oom;          /* an allocation failed */
};

bool jsonr_is_json_name(const char *path)
{
  static const char *const ext[] = {".json", ".ndjson", ".jsonl"};
  size_t len = strlen(path);
  if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
    len -= 3;
  for (size_t i = 0; i < 3; i++) {
    size_t e = strlen(ext[i]);
    if (len > e && strncmp(path + len - e, ext[i], e) == 0)
      return true;
  }
  return false;
}

bool jsonr_is_array(const char *path)
{
  bson_error_t error;
  source_t *src = source_open(path, 0, &error);
  if (!src)
    return false;
  char buf[4096];
  size_t n;
  bool array = false;
  while (source_read(src, buf, sizeof buf, &n, &error) && n > 0) {
    size_t i = 0;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
      i = 3;
    for (; i < n && strchr(" \t\r\n", buf[i]); i++)
      ;
    if (i < n) {
      array = buf[i] == '[';
      break;
    }
  }
  source_close(src);
  return array;
}

jsonr_t *jsonr_new(source_t *src, uint64_t start_offset, uint64_t start_line,
                   bool in_array, bson_error_t *error)
{
  jsonr_t *r = calloc(1, sizeof *r);
  if (r)
    r->block = malloc(JSONR_BLOCK_SIZE);
  if (!r || !r->block) {
    free(r);
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                   "out of memory creating the JSON reader");
    return NULL;
  }
  r->src = src;
  r->offset = start_offset;
  r->line = start_line;
  if (in_array) {
    r->array_seen = true;
    r->base = r->depth = 1;
  }
  /* Resuming newline-delimited JSON: past the top of the file, a line that
   * starts with '[' is that line's value, not the file's array. */
  r->seen_any = start_offset > 0;
  return r;
}

/* Hands the finished value to the consumer. */
static void jsonr__deliver(jsonr_t *r, jsonr_value_fn fn, void *ctx,
                           const char *problem)
{
  size_t len = r->oversized ? 0 : r->len;
  while (len > 0 && strchr(" \t\r\n", r->buf[len - 1]))
    len--;
  json_value_t v = {.text = r->buf ? r->buf : "",
                    .len = len,
                    .line = r->v_line,
                    .end_line = r->line,
                    .offset = r->v_offset,
                    .end_offset = r->offset,
                    .problem = problem};
  if (!problem && (len == 0 || r->buf[0] != '{'))
    v.problem = "not a JSON object";
  if (!fn(ctx, &v))
    r->stop = true;
  r->in_value = false;
  r->oversized = false;
  r->len = 0;
}

/* Appends one byte of the current value. */
static void jsonr__keep(jsonr_t *r, char c)
{
  if (r->oversized)
    return;
  if (r->len + 1 > JSONR_MAX_VALUE_BYTES) {
    r->oversized = true;
    return;
  }
  if (r->len + 1 > r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 4096;
    char *p = realloc(r->buf, cap + 1);
    if (!p) {
      r->oom = true;
      return;
    }
    r->buf = p;
    r->cap = cap;
  }
  r->buf[r->len++] = c;
  r->buf[r->len] = '\0';
}

/* Scans one byte. */
static void jsonr__byte(jsonr_t *r, char c, jsonr_value_fn fn, void *ctx)
{
  if (!r->in_value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
      return;
    if (r->depth == 0 && !r->array_seen && !r->seen_any && c == '[') {
      r->array_seen = true; /* the top-level array */
      r->base = r->depth = 1;
      return;
    }
    if (r->depth == r->base && r->base == 1 && (c == ',' || c == ']')) {
      if (c == ']')
        r->depth = r->base = 0;
      return;
    }
    r->in_value = true;
    r->seen_any = true;
    r->v_line = r->line;
    r->v_offset = r->offset;
  }
  jsonr__keep(r, c);
  if (r->in_string) {
    if (r->escaped)
      r->escaped = false;
    else if (c == '\\')
      r->escaped = true;
    else if (c == '"')
      r->in_string = false;
    return;
  }
  switch (c) {
  case '"':
    r->in_string = true;
    break;
  case '{':
  case '[':
    r->depth++;
    break;
  case '}':
  case ']':
    r->depth--;
    if (r->depth == r->base) {
      r->offset++; /* the value ends after this byte */
      jsonr__deliver(r, fn, ctx,
                     r->oversized ? "JSON value exceeds 16 MiB" : NULL);
      r->offset--;
    }
    break;
  default:
    /* A bare scalar at the top: it ends at a blank or a comma. */
    break;
  }
}

bool jsonr_read(jsonr_t *r, jsonr_value_fn fn, void *ctx, bson_error_t *error)
{
  while (!r->stop) {
    size_t n;
    if (!source_read(r->src, r->block, JSONR_BLOCK_SIZE, &n, error))
      return false;
    if (n == 0)
      break;
    size_t i = 0;
    if (r->offset == 0 && n >= 3 && memcmp(r->block, "\xEF\xBB\xBF", 3) == 0) {
      i = 3;
      r->offset = 3;
    }
    for (; i < n && !r->stop; i++) {
      char c = r->block[i];
      /* A bare scalar (not an object) at the top ends at a blank. */
      if (r->in_value && r->depth == r->base && !r->in_string &&
          r->array_seen && (c == ',' || c == ']'))
        jsonr__deliver(r, fn, ctx, NULL);
      if (!r->stop)
        jsonr__byte(r, c, fn, ctx);
      if (c == '\n' && !r->array_seen && r->in_value) {
        /* Newline-delimited JSON: a line is a value; a broken one is
         * reported and the next line starts afresh. */
        bool broken = r->depth != 0 || r->in_string;
        r->offset++; /* the value ends past the line end: on the next line */
        r->line++;
        jsonr__deliver(r, fn, ctx,
                       broken ? "malformed JSON line (unbalanced brackets or "
                                "an unterminated string)"
                              : NULL);
        r->offset--;
        r->line--;
        r->depth = 0;
        r->in_string = r->escaped = false;
      }
      if (c == '\n')
        r->line++;
      r->offset++;
      if (r->oom) {
        bson_set_error(error, LOADER_ERROR_IO, ENOMEM,
                       "out of memory reading a JSON value");
        return false;
      }
    }
  }
  if (r->stop)
    return true;
  if (r->in_value) {
    if (r->depth == r->base && !r->in_string)
      jsonr__deliver(r, fn, ctx, NULL);
    else
      jsonr__deliver(r, fn, ctx, "unterminated JSON value at end of input");
  }
  return true;
}

void jsonr_destroy(jsonr_t *r)
{
  if (!r)
    return;
  free(r->block);
  free(r->buf);
  free(r);
}
