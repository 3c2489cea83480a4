/* The MongoDB wire protocol: message framing, OP_MSG (kind-0 body, kind-1
 * document sequences, checksumPresent and moreToCome flags), the legacy
 * OP_QUERY handshake and its OP_REPLY, OP_COMPRESSED (noop, snappy, zlib,
 * zstd), and
 * CRC-32C. Parsing never copies documents: a request points into the
 * connection's receive buffer. */
#ifndef MTS_WIRE_H
#define MTS_WIRE_H

#include <bson/bson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes. */
#define OP_REPLY 1
#define OP_QUERY 2004
#define OP_COMPRESSED 2012
#define OP_MSG 2013

/* OP_MSG flag bits. */
#define MSG_CHECKSUM_PRESENT (1u << 0)
#define MSG_MORE_TO_COME (1u << 1)
#define MSG_EXHAUST_ALLOWED (1u << 16)

/* Compressor ids of OP_COMPRESSED. */
#define COMPRESSOR_NOOP 0
#define COMPRESSOR_SNAPPY 1
#define COMPRESSOR_ZLIB 2
#define COMPRESSOR_ZSTD 3
#define COMPRESSOR_COUNT 4

/* The compressor of id, by its handshake name ("zlib"...); NULL for
 * noop and unknown ids. */
const char *wire_compressor_name(int id);

/* The id of a compressor name, or -1 when this server does not offer it. */
int wire_compressor_id(const char *name);

/* Most kind-1 sections accepted in one OP_MSG. */
#define WIRE_MAX_SEQUENCES 8

/* One OP_MSG kind-1 section: documents laid end to end, all validated. */
typedef struct {
  const char *name;    /* the identifier, e.g. "documents" */
  const uint8_t *data; /* first document */
  size_t len;          /* bytes of all documents */
} docseq_t;

/* A parsed request, pointing into the message buffer. */
typedef struct {
  int32_t request_id; /* the client's requestID, echoed as responseTo */
  int32_t opcode;     /* OP_MSG or OP_QUERY (after decompression) */
  int compressor;     /* compressor the request came with, or -1 */
  uint32_t flags;     /* OP_MSG flag bits */
  bson_t body;        /* the command (static view; OP_QUERY: unwrapped) */
  char db[128];       /* OP_QUERY: database of "<db>.$cmd"; else empty */
  bool query_not_cmd; /* OP_QUERY to a collection rather than $cmd */
  docseq_t seqs[WIRE_MAX_SEQUENCES]; /* OP_MSG kind-1 sections */
  size_t nseqs;                      /* number of sections */
} request_t;

/* Little-endian int32 at p. */
int32_t wire_read_i32(const uint8_t *p);

/* Writes v little-endian at p. */
void wire_write_i32(uint8_t *p, int32_t v);

/* CRC-32C (Castagnoli) of len bytes, as OP_MSG checksums use. */
uint32_t wire_crc32c(const uint8_t *data, size_t len);

/* Parses the complete message msg (len bytes, header included) into req.
 * OP_COMPRESSED is inflated into *scratch (a malloc'd buffer the caller
 * frees, grown as needed) and req points there. Returns false with a
 * reason in error when the message is malformed: the caller closes the
 * connection. A body that is framed correctly but holds invalid BSON is
 * also reported here (code 22). */
bool wire_parse(const uint8_t *msg, size_t len, uint8_t **scratch,
                size_t *scratch_cap, request_t *req, bson_error_t *error);

/* Builds the reply to req carrying doc: an OP_MSG, or an OP_REPLY for
 * OP_QUERY (query_failure sets its QueryFailure flag), compressed with the
 * request's compressor. *out (malloc'd, grown as needed) receives the
 * bytes; returns their count, or 0 on failure. plain_len/comp_len, when
 * non-NULL, receive the sizes before and after compression when a real
 * compressor (not noop) was used, else stay unchanged. */
size_t wire_build_reply(const request_t *req, const bson_t *doc,
                        bool query_failure, uint8_t **out, size_t *out_cap,
                        size_t *plain_len, size_t *comp_len);

/* Iterates a kind-1 section's documents: call with *pos = 0; returns false
 * at the end. */
bool docseq_next(const docseq_t *seq, size_t *pos, const uint8_t **data,
                 uint32_t *len);

#endif
