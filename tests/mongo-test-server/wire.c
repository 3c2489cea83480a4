/* Wire protocol framing and parsing. See wire.h. */
#include "wire.h"

#include "bval.h"
#include "errors.h"
#include "server.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

const char *wire_compressor_name(int id)
{
  switch (id) {
  case COMPRESSOR_SNAPPY:
    return "snappy";
  case COMPRESSOR_ZLIB:
    return "zlib";
  case COMPRESSOR_ZSTD:
    return "zstd";
  default:
    return NULL;
  }
}

int wire_compressor_id(const char *name)
{
  for (int id = 1; id < COMPRESSOR_COUNT; id++)
    if (!strcmp(name, wire_compressor_name(id)))
      return id;
  return -1;
}

int32_t wire_read_i32(const uint8_t *p)
{
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
  return (int32_t)u;
}

void wire_write_i32(uint8_t *p, int32_t v)
{
  uint32_t u = (uint32_t)v;
  p[0] = (uint8_t)u;
  p[1] = (uint8_t)(u >> 8);
  p[2] = (uint8_t)(u >> 16);
  p[3] = (uint8_t)(u >> 24);
}

/* The CRC-32C lookup table, built once on first use. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* Fills crc_table for the reflected Castagnoli polynomial. */
static void crc_init(void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[i] = c;
  }
}

uint32_t wire_crc32c(const uint8_t *data, size_t len)
{
  pthread_once(&crc_once, crc_init);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++)
    c = crc_table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/* Grows *buf to hold need bytes; false on OOM. */
static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
  if (need <= *cap)
    return true;
  size_t n = *cap ? *cap : 4096;
  while (n < need)
    n *= 2;
  uint8_t *b = realloc(*buf, n);
  if (!b)
    return false;
  *buf = b;
  *cap = n;
  return true;
}

bool docseq_next(const docseq_t *seq, size_t *pos, const uint8_t **data,
                 uint32_t *len)
{
  if (*pos >= seq->len)
    return false;
  *data = seq->data + *pos;
  *len = (uint32_t)wire_read_i32(*data);
  *pos += *len;
  return true;
}

/* Parses an OP_MSG whose header was checked. */
static bool parse_msg(const uint8_t *msg, size_t len, request_t *req,
                      bson_error_t *error)
{
  if (len < 16 + 4 + 1)
    goto short_msg;
  req->flags = (uint32_t)wire_read_i32(msg + 16);
  /* Bits 0-15 are "required": an unknown one must fail the message. */
  if (req->flags & 0xFFFCu) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                   "OP_MSG with unknown required flag bits 0x%x", req->flags);
    return false;
  }
  size_t end = len;
  if (req->flags & MSG_CHECKSUM_PRESENT) {
    if (len < 16 + 4 + 1 + 4)
      goto short_msg;
    end = len - 4;
    uint32_t want = (uint32_t)wire_read_i32(msg + end);
    if (wire_crc32c(msg, end) != want) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "OP_MSG checksum mismatch");
      return false;
    }
  }
  bool have_body = false;
  size_t pos = 20;
  while (pos < end) {
    uint8_t kind = msg[pos++];
    if (kind == 0) {
      if (have_body || end - pos < 5)
        goto bad_section;
      int32_t l = wire_read_i32(msg + pos);
      if (l < 5 || (size_t)l > end - pos || l > MTS_MAX_COMMAND_SIZE)
        goto bad_section;
      if (!bval_validate(msg + pos, (size_t)l, error))
        return false;
      bson_init_static(&req->body, msg + pos, (size_t)l);
      have_body = true;
      pos += (size_t)l;
    } else if (kind == 1) {
      if (end - pos < 4 || req->nseqs == WIRE_MAX_SEQUENCES)
        goto bad_section;
      int32_t size = wire_read_i32(msg + pos);
      if (size < 5 || (size_t)size > end - pos)
        goto bad_section;
      size_t stop = pos + (size_t)size, p = pos + 4;
      const uint8_t *nul = memchr(msg + p, 0, stop - p);
      if (!nul)
        goto bad_section;
      docseq_t *seq = &req->seqs[req->nseqs++];
      seq->name = (const char *)(msg + p);
      p = (size_t)(nul - msg) + 1;
      seq->data = msg + p;
      seq->len = stop - p;
      while (p < stop) {
        if (stop - p < 5)
          goto bad_section;
        int32_t l = wire_read_i32(msg + p);
        if (l < 5 || (size_t)l > stop - p || l > MTS_MAX_COMMAND_SIZE)
          goto bad_section;
        if (!bval_validate(msg + p, (size_t)l, error))
          return false;
        p += (size_t)l;
      }
      pos = stop;
    } else {
      goto bad_section;
    }
  }
  if (!have_body) {
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                   "OP_MSG without a body section");
    return false;
  }
  return true;
short_msg:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                 "OP_MSG too short");
  return false;
bad_section:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                 "malformed OP_MSG section at offset %zu", pos);
  return false;
}

/* Parses a legacy OP_QUERY: only commands on "<db>.$cmd" are served. */
static bool parse_query(const uint8_t *msg, size_t len, request_t *req,
                        bson_error_t *error)
{
  size_t pos = 20;
  if (len < pos + 1)
    goto bad;
  const uint8_t *nul = memchr(msg + pos, 0, len - pos);
  if (!nul)
    goto bad;
  const char *ns = (const char *)(msg + pos);
  size_t nslen = (size_t)(nul - (msg + pos));
  pos += nslen + 1 + 8; /* name, numberToSkip, numberToReturn */
  if (pos > len || len - pos < 5)
    goto bad;
  int32_t l = wire_read_i32(msg + pos);
  if (l < 5 || (size_t)l > len - pos || l > MTS_MAX_COMMAND_SIZE)
    goto bad;
  if (!bval_validate(msg + pos, (size_t)l, error))
    return false;
  bson_init_static(&req->body, msg + pos, (size_t)l);
  /* Old drivers wrap the command as {$query: cmd, $readPreference: ...}. */
  bson_iter_t it;
  if (bson_iter_init_find(&it, &req->body, "$query") &&
      BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t qlen;
    const uint8_t *q;
    bson_iter_document(&it, &qlen, &q);
    bson_init_static(&req->body, q, qlen);
  }
  const char *dot = memchr(ns, '.', nslen);
  if (!dot || (size_t)(dot - ns) >= sizeof req->db)
    goto bad;
  memcpy(req->db, ns, (size_t)(dot - ns));
  req->db[dot - ns] = '\0';
  req->query_not_cmd = strcmp(dot + 1, "$cmd") != 0;
  return true;
bad:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                 "malformed OP_QUERY");
  return false;
}

bool wire_parse(const uint8_t *msg, size_t len, uint8_t **scratch,
                size_t *scratch_cap, request_t *req, bson_error_t *error)
{
  memset(req, 0, sizeof *req);
  req->compressor = -1;
  req->request_id = wire_read_i32(msg + 4);
  req->opcode = wire_read_i32(msg + 12);
  if (req->opcode == OP_COMPRESSED) {
    if (len < 16 + 9) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "OP_COMPRESSED too short");
      return false;
    }
    int32_t orig = wire_read_i32(msg + 16);
    int32_t size = wire_read_i32(msg + 20);
    uint8_t id = msg[24];
    if (size < 0 || size > MTS_MAX_MESSAGE_SIZE - 16 ||
        (orig != OP_MSG && orig != OP_QUERY)) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "bad OP_COMPRESSED header");
      return false;
    }
    if (!grow(scratch, scratch_cap, 16 + (size_t)size)) {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_INTERNAL, "out of memory");
      return false;
    }
    uint8_t *plain = *scratch;
    memcpy(plain, msg, 16);
    wire_write_i32(plain, 16 + size);
    wire_write_i32(plain + 12, orig);
    const uint8_t *src = msg + 25;
    size_t srclen = len - 25;
    if (id == COMPRESSOR_NOOP) {
      if (srclen != (size_t)size)
        goto bad_data;
      memcpy(plain + 16, src, srclen);
    } else if (id == COMPRESSOR_ZLIB) {
      uLongf out = (uLongf)size;
      if (uncompress(plain + 16, &out, src, (uLong)srclen) != Z_OK ||
          out != (uLongf)size)
        goto bad_data;
    } else if (id == COMPRESSOR_SNAPPY) {
      size_t out = 0;
      if (snappy_uncompressed_length((const char *)src, srclen, &out) !=
              SNAPPY_OK ||
          out != (size_t)size)
        goto bad_data;
      if (snappy_uncompress((const char *)src, srclen, (char *)plain + 16,
                            &out) != SNAPPY_OK ||
          out != (size_t)size)
        goto bad_data;
    } else if (id == COMPRESSOR_ZSTD) {
      size_t out = ZSTD_decompress(plain + 16, (size_t)size, src, srclen);
      if (ZSTD_isError(out) || out != (size_t)size)
        goto bad_data;
    } else {
      bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                     "unsupported compressor id %u", id);
      return false;
    }
    req->compressor = id;
    req->opcode = orig;
    msg = plain;
    len = 16 + (size_t)size;
  }
  switch (req->opcode) {
  case OP_MSG:
    return parse_msg(msg, len, req, error);
  case OP_QUERY:
    return parse_query(msg, len, req, error);
  default:
    bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                   "unsupported opcode %d", req->opcode);
    return false;
  }
bad_data:
  bson_set_error(error, MTS_ERR_DOMAIN, ERR_FAILED_TO_PARSE,
                 "OP_COMPRESSED data does not inflate to its stated size");
  return false;
}

size_t wire_build_reply(const request_t *req, const bson_t *doc,
                        bool query_failure, uint8_t **out, size_t *out_cap,
                        size_t *plain_len, size_t *comp_len)
{
  static atomic_int next_id = 1;
  bool legacy = req->opcode == OP_QUERY;
  size_t prefix = legacy ? 16 + 20 : 16 + 5;
  size_t len = prefix + doc->len;
  if (len > MTS_MAX_MESSAGE_SIZE || !grow(out, out_cap, len))
    return 0;
  uint8_t *p = *out;
  wire_write_i32(p, (int32_t)len);
  wire_write_i32(p + 4, atomic_fetch_add(&next_id, 1));
  wire_write_i32(p + 8, req->request_id);
  if (legacy) {
    wire_write_i32(p + 12, OP_REPLY);
    wire_write_i32(p + 16, query_failure ? 2 : 0); /* responseFlags */
    memset(p + 20, 0, 8);                          /* cursorID */
    wire_write_i32(p + 28, 0);                     /* startingFrom */
    wire_write_i32(p + 32, 1);                     /* numberReturned */
  } else {
    wire_write_i32(p + 12, OP_MSG);
    wire_write_i32(p + 16, 0); /* flagBits */
    p[20] = 0;                 /* kind 0: body */
  }
  memcpy(p + prefix, bson_get_data(doc), doc->len);
  if (req->compressor < 0)
    return len;

  /* Compress with the request's compressor: the plain message goes after
   * room for the compressed one, which is then written in front. */
  size_t body = len - 16;
  size_t bound = body;
  if (req->compressor == COMPRESSOR_ZLIB)
    bound = compressBound((uLong)body);
  else if (req->compressor == COMPRESSOR_SNAPPY)
    bound = snappy_max_compressed_length(body);
  else if (req->compressor == COMPRESSOR_ZSTD)
    bound = ZSTD_compressBound(body);
  size_t clen_max = 16 + 9 + bound;
  if (!grow(out, out_cap, clen_max + len))
    return 0;
  p = *out;
  memmove(p + clen_max, p, len);
  const uint8_t *plain = p + clen_max;
  uint8_t *c = p;
  memcpy(c + 4, plain + 4, 8); /* requestID, responseTo */
  wire_write_i32(c + 12, OP_COMPRESSED);
  wire_write_i32(c + 16, legacy ? OP_REPLY : OP_MSG);
  wire_write_i32(c + 20, (int32_t)body);
  c[24] = (uint8_t)req->compressor;
  size_t clen = bound;
  if (req->compressor == COMPRESSOR_ZLIB) {
    uLongf zlen = (uLongf)bound;
    if (compress2(c + 25, &zlen, plain + 16, body, Z_BEST_SPEED) != Z_OK)
      return 0;
    clen = zlen;
  } else if (req->compressor == COMPRESSOR_SNAPPY) {
    if (snappy_compress((const char *)plain + 16, body, (char *)c + 25,
                        &clen) != SNAPPY_OK)
      return 0;
  } else if (req->compressor == COMPRESSOR_ZSTD) {
    clen = ZSTD_compress(c + 25, bound, plain + 16, body, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(clen))
      return 0;
  } else {
    memcpy(c + 25, plain + 16, body);
    clen = body;
  }
  if (req->compressor != COMPRESSOR_NOOP) {
    if (plain_len)
      *plain_len = body;
    if (comp_len)
      *comp_len = clen;
  }
  wire_write_i32(c, (int32_t)(25 + clen));
  return 25 + clen;
}
