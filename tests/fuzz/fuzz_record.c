/* libFuzzer target: arbitrary bytes through csv_reader and doc_builder.
 *
 * The first input byte picks the dialect and the value options; the rest is
 * a CSV file whose first record is the header. Every record is built into a
 * document, which must then be valid BSON. Run by scripts/test.sh for a
 * bounded time; any crash, sanitizer report, leak or hang fails. */
#define _GNU_SOURCE
#include "loader/csv_reader.h"
#include "loader/doc_builder.h"
#include "loader/source.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_ctx {
  doc_options_t options; /* how documents are built */
  doc_spec_t *spec;      /* the header, once read */
  docb_t *builder;       /* builds the documents */
  size_t records;        /* records seen, to bound the work */
} fuzz_ctx_t;

static bool fuzz_on_record(void *p, const csv_record_t *rec)
{
  fuzz_ctx_t *ctx = p;
  if (++ctx->records > 2000)
    return false;
  if (!ctx->spec) {
    bson_error_t error;
    ctx->spec =
        docb_spec_new(rec->fields, rec->n_fields, &ctx->options, &error);
    if (!ctx->spec)
      return false;
    ctx->builder = docb_new(ctx->spec);
    return ctx->builder != NULL;
  }
  bson_t doc = BSON_INITIALIZER;
  doc_reject_t why;
  if (docb_build(ctx->builder, rec, &doc, &why)) {
    size_t offset;
    if (!bson_validate(&doc, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL,
                       &offset))
      abort(); /* the builder produced invalid BSON */
  }
  bson_destroy(&doc);
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t mode = data[0];
  data++;
  size--;
  int fd = memfd_create("fuzz", 0);
  if (fd < 0)
    return 0;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

  csv_dialect_t dialect;
  csvr_dialect_default(&dialect);
  static const unsigned char delims[] = {',', ';', '\t', '|'};
  dialect.delimiter = delims[mode & 3];
  dialect.trim = mode & 4;
  dialect.comment = mode & 8 ? '#' : -1;
  fuzz_ctx_t ctx = {0};
  docb_options_default(&ctx.options);
  ctx.options.infer = !(mode & 16);
  ctx.options.columns_have_types = mode & 32;
  ctx.options.ignore_blanks = mode & 64;
  ctx.options.grace = (docb_grace_t)((mode >> 6) & 3);
  if (mode & 128)
    ctx.options.types = "a:int32,b:date(2006-01-02T15:04:05Z07:00),c:decimal";

  bson_error_t error;
  source_t *src = source_open(path, 0, &error);
  if (src) {
    csvr_t *reader = csvr_new(src, &dialect, 0, 1, UINT64_MAX, &error);
    if (reader) {
      csvr_read(reader, fuzz_on_record, &ctx, &error);
      csvr_destroy(reader);
    }
    source_close(src);
  }
  docb_destroy(ctx.builder);
  docb_spec_destroy(ctx.spec);
  close(fd);
  return 0;
}
