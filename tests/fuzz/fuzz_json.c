/* libFuzzer target: arbitrary bytes through json_reader and libbson's JSON
 * parser, as a JSON job reads them. Every value is either a problem or
 * JSON text whose bounds the scanner found; what parses must be valid
 * BSON. No crash, leak or hang. */
#define _GNU_SOURCE
#include "loader/json_reader.h"
#include "loader/source.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_on_value(void *p, const json_value_t *v)
{
  size_t *n = p;
  if (++*n > 5000)
    return false;
  if (v->end_offset < v->offset)
    abort(); /* a value cannot end before it starts */
  if (v->problem)
    return true;
  bson_t doc;
  bson_error_t error;
  if (bson_init_from_json(&doc, v->text, (ssize_t)v->len, &error)) {
    size_t offset;
    if (!bson_validate(&doc, BSON_VALIDATE_NONE, &offset))
      abort();
    bson_destroy(&doc);
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int fd = memfd_create("fuzz", 0);
  if (fd < 0)
    return 0;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  bson_error_t error;
  source_t *src = source_open(path, 0, &error);
  if (src) {
    jsonr_t *r = jsonr_new(src, 0, 1, false, &error);
    size_t n = 0;
    if (r)
      jsonr_read(r, fuzz_on_value, &n, &error);
    jsonr_destroy(r);
    source_close(src);
  }
  close(fd);
  return 0;
}
