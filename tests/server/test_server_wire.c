/* mongo-test-server at the wire level, over raw sockets: OP_MSG document
 * sequences, checksums and moreToCome, the legacy OP_QUERY handshake,
 * OP_COMPRESSED, and malformed input (garbage, oversized lengths, a client
 * vanishing mid-message) that must close only the offending connection
 * while other clients carry on. Runs against the mongo_server fixture or
 * $MONGODB_URI; checks of test-server-only behaviour are skipped there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mongoc/mongoc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "test_server.h"
#include "test_uri.h"

/* Per-test state. */
typedef struct {
  char *uri;               /* the server's URI */
  char host[256];          /* its first host */
  uint16_t port;           /* and port */
  char *db;                /* database for this process; dropped after */
  mongoc_client_t *client; /* a well-behaved client alongside */
} fixture_t;

static int setup(void **state)
{
  fixture_t *f = calloc(1, sizeof *f);
  f->uri = test_mongodb_uri();
  if (!f->uri) {
    free(f);
    return -1;
  }
  mongoc_uri_t *u = mongoc_uri_new(f->uri);
  assert_non_null(u);
  const mongoc_host_list_t *h = mongoc_uri_get_hosts(u);
  assert_non_null(h);
  snprintf(f->host, sizeof f->host, "%s", h->host);
  f->port = h->port;
  mongoc_uri_destroy(u);
  f->client = mongoc_client_new(f->uri);
  mongoc_client_set_error_api(f->client, MONGOC_ERROR_API_VERSION_2);
  f->db = test_db_name("wire");
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  mongoc_database_t *db = mongoc_client_get_database(f->client, f->db);
  mongoc_database_drop(db, NULL);
  mongoc_database_destroy(db);
  mongoc_client_destroy(f->client);
  free(f->db);
  free(f->uri);
  free(f);
  return 0;
}

/* Opens a plain TCP connection to the server. */
static int raw_connect(const fixture_t *f)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM},
                  *res;
  char port[8];
  snprintf(port, sizeof port, "%u", f->port);
  assert_int_equal(getaddrinfo(f->host, port, &hints, &res), 0);
  int fd = socket(res->ai_family, res->ai_socktype, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, res->ai_addr, res->ai_addrlen), 0);
  freeaddrinfo(res);
  return fd;
}

/* Sends all bytes (the server may already have closed: that's allowed). */
static void raw_send(int fd, const void *buf, size_t len)
{
  const uint8_t *p = buf;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    p += n;
    len -= (size_t)n;
  }
}

/* Reads exactly len bytes within 10 s; false on EOF, reset or timeout. */
static bool raw_recv(int fd, void *buf, size_t len)
{
  uint8_t *p = buf;
  while (len) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 10000) <= 0)
      return false;
    ssize_t n = recv(fd, p, len, 0);
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

/* True when the server closes fd within 10 s (EOF or reset), reading and
 * discarding anything it sent before. */
static bool closed_by_server(int fd)
{
  uint8_t buf[4096];
  for (;;) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 10000) <= 0)
      return false;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0)
      return false;
  }
}

/* Little-endian helpers. */
static void put_i32(uint8_t *p, int32_t v)
{
  uint32_t u = (uint32_t)v;
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(u >> (8 * i));
}

static int32_t get_i32(const uint8_t *p)
{
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24);
}

/* CRC-32C, bit by bit: slow and obviously right. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

/* Builds an OP_MSG: body, optionally one kind-1 section (name, docs
 * concatenated in seq/seqlen), optional checksum. Returns malloc'd bytes. */
static uint8_t *build_msg(uint32_t flags, const bson_t *body,
                          const char *seqname, const uint8_t *seq,
                          size_t seqlen, bool checksum, size_t *len)
{
  size_t n = 16 + 4 + 1 + body->len;
  if (seqname)
    n += 1 + 4 + strlen(seqname) + 1 + seqlen;
  if (checksum) {
    n += 4;
    flags |= 1;
  }
  uint8_t *m = malloc(n), *p = m;
  put_i32(p, (int32_t)n);
  put_i32(p + 4, 42);
  put_i32(p + 8, 0);
  put_i32(p + 12, 2013);
  put_i32(p + 16, (int32_t)flags);
  p += 20;
  *p++ = 0;
  memcpy(p, bson_get_data(body), body->len);
  p += body->len;
  if (seqname) {
    *p++ = 1;
    put_i32(p, (int32_t)(4 + strlen(seqname) + 1 + seqlen));
    p += 4;
    memcpy(p, seqname, strlen(seqname) + 1);
    p += strlen(seqname) + 1;
    memcpy(p, seq, seqlen);
    p += seqlen;
  }
  if (checksum)
    put_i32(p, (int32_t)crc32c(m, n - 4));
  *len = n;
  return m;
}

/* Reads one reply and returns its document (OP_MSG body or OP_REPLY's
 * first document, inflating OP_COMPRESSED); NULL when the connection
 * closed. *opcode receives the (original) opcode. */
static bson_t *read_reply(int fd, int32_t *opcode)
{
  uint8_t header[16];
  if (!raw_recv(fd, header, 16))
    return NULL;
  int32_t len = get_i32(header);
  assert_true(len > 16 && len <= 48000000);
  uint8_t *msg = malloc((size_t)len);
  memcpy(msg, header, 16);
  assert_true(raw_recv(fd, msg + 16, (size_t)len - 16));
  int32_t op = get_i32(msg + 12);
  if (op == 2012) {
    int32_t orig = get_i32(msg + 16), size = get_i32(msg + 20);
    assert_int_equal(msg[24], 2);
    uint8_t *plain = malloc(16 + (size_t)size);
    uLongf out = (uLongf)size;
    assert_int_equal(uncompress(plain + 16, &out, msg + 25, (uLong)len - 25),
                     Z_OK);
    assert_int_equal(out, size);
    put_i32(plain, 16 + size);
    free(msg);
    msg = plain;
    op = orig;
  }
  *opcode = op;
  const uint8_t *doc = op == 1 ? msg + 36 : msg + 21;
  bson_t *reply = bson_new_from_data(doc, (size_t)get_i32(doc));
  free(msg);
  assert_non_null(reply);
  return reply;
}

/* Reads an integer field of doc; -1 when absent. */
static int64_t field_int(const bson_t *doc, const char *path)
{
  bson_iter_t it, child;
  if (!bson_iter_init(&it, doc) ||
      !bson_iter_find_descendant(&it, path, &child))
    return -1;
  return bson_iter_as_int64(&child);
}

/* The well-behaved client still works. */
static void assert_others_fine(fixture_t *f)
{
  bson_error_t error;
  bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
  if (!mongoc_client_command_simple(f->client, "admin", ping, NULL, NULL,
                                    &error))
    fail_msg("ping after bad client: %s", error.message);
  bson_destroy(ping);
}

/* ---- tests -------------------------------------------------------------- */

static void test_garbage_closes_connection(void **state)
{
  fixture_t *f = *state;
  assert_others_fine(f); /* connected before the garbage */
  /* Random bytes whose "length" is in range: unknown opcode. */
  int fd = raw_connect(f);
  uint8_t junk[256];
  srand(7);
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (uint8_t)rand();
  put_i32(junk, (int32_t)sizeof junk);
  put_i32(junk + 12, 31337);
  raw_send(fd, junk, sizeof junk);
  assert_true(closed_by_server(fd));
  close(fd);
  assert_others_fine(f);

  /* A length far beyond maxMessageSizeBytes: closed without reading on. */
  fd = raw_connect(f);
  put_i32(junk, 0x7FFFFFFF);
  put_i32(junk + 12, 2013);
  raw_send(fd, junk, 64);
  assert_true(closed_by_server(fd));
  close(fd);

  /* A negative length and a too-short one. */
  fd = raw_connect(f);
  put_i32(junk, -5);
  raw_send(fd, junk, 16);
  assert_true(closed_by_server(fd));
  close(fd);
  fd = raw_connect(f);
  put_i32(junk, 3);
  raw_send(fd, junk, 16);
  assert_true(closed_by_server(fd));
  close(fd);
  assert_others_fine(f);
}

static void test_truncated_bson_rejected(void **state)
{
  fixture_t *f = *state;
  /* An OP_MSG whose body claims more bytes than the message holds. */
  bson_t *body = BCON_NEW("ping", BCON_INT32(1), "$db", BCON_UTF8("admin"));
  size_t len;
  uint8_t *m = build_msg(0, body, NULL, NULL, 0, false, &len);
  put_i32(m + 21, (int32_t)body->len + 100);
  int fd = raw_connect(f);
  raw_send(fd, m, len);
  int32_t op;
  bson_t *reply = read_reply(fd, &op);
  if (reply) {
    /* Answered with an error rather than closing: also acceptable. */
    assert_int_equal(field_int(reply, "ok"), 0);
    bson_destroy(reply);
  }
  close(fd);
  free(m);

  /* A body whose inner structure is broken (bad element type). */
  m = build_msg(0, body, NULL, NULL, 0, false, &len);
  m[21 + 4] = 0x77;
  fd = raw_connect(f);
  raw_send(fd, m, len);
  reply = read_reply(fd, &op);
  if (reply) {
    assert_int_equal(field_int(reply, "ok"), 0);
    bson_destroy(reply);
  }
  close(fd);
  free(m);
  bson_destroy(body);
  assert_others_fine(f);
}

static void test_disconnect_mid_message(void **state)
{
  fixture_t *f = *state;
  bson_t *body = BCON_NEW("ping", BCON_INT32(1), "$db", BCON_UTF8("admin"));
  size_t len;
  uint8_t *m = build_msg(0, body, NULL, NULL, 0, false, &len);
  for (size_t cut = 1; cut < len; cut += 7) {
    int fd = raw_connect(f);
    raw_send(fd, m, cut);
    close(fd);
  }
  free(m);
  bson_destroy(body);
  assert_others_fine(f);
}

static void test_document_sequence_and_checksum(void **state)
{
  fixture_t *f = *state;
  bson_t *d1 = BCON_NEW("_id", BCON_INT32(1), "x", BCON_UTF8("a"));
  bson_t *d2 = BCON_NEW("x", BCON_UTF8("no id"));
  size_t seqlen = d1->len + d2->len;
  uint8_t *seq = malloc(seqlen);
  memcpy(seq, bson_get_data(d1), d1->len);
  memcpy(seq + d1->len, bson_get_data(d2), d2->len);
  bson_t *body = BCON_NEW("insert", BCON_UTF8("seq"), "ordered",
                          BCON_BOOL(true), "$db", BCON_UTF8(f->db));
  size_t len;
  uint8_t *m = build_msg(0, body, "documents", seq, seqlen, true, &len);
  int fd = raw_connect(f);
  raw_send(fd, m, len);
  int32_t op;
  bson_t *reply = read_reply(fd, &op);
  assert_non_null(reply);
  assert_int_equal(op, 2013);
  assert_int_equal(field_int(reply, "ok"), 1);
  assert_int_equal(field_int(reply, "n"), 2);
  bson_destroy(reply);
  free(m);

  /* The same with a corrupted checksum: the connection is closed. */
  if (!test_server_external()) {
    m = build_msg(0, body, "documents", seq, seqlen, true, &len);
    m[len - 1] ^= 0xFF;
    raw_send(fd, m, len);
    assert_true(closed_by_server(fd));
    free(m);
  }
  close(fd);

  /* The generated _id went first, the fields followed as sent. */
  mongoc_collection_t *c =
      mongoc_client_get_collection(f->client, f->db, "seq");
  bson_t *q = BCON_NEW("x", BCON_UTF8("no id"));
  mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, NULL, NULL);
  const bson_t *doc;
  assert_true(mongoc_cursor_next(cur, &doc));
  bson_iter_t it;
  assert_true(bson_iter_init(&it, doc) && bson_iter_next(&it));
  assert_string_equal(bson_iter_key(&it), "_id");
  assert_true(BSON_ITER_HOLDS_OID(&it));
  assert_true(bson_iter_next(&it));
  assert_string_equal(bson_iter_key(&it), "x");
  mongoc_cursor_destroy(cur);
  bson_destroy(q);
  mongoc_collection_destroy(c);
  bson_destroy(body);
  bson_destroy(d1);
  bson_destroy(d2);
  free(seq);
}

static void test_more_to_come(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  bson_t *body = BCON_NEW("insert", BCON_UTF8("w0"), "documents", "[", "{",
                          "_id", BCON_INT32(5), "}", "]", "writeConcern", "{",
                          "w", BCON_INT32(0), "}", "$db", BCON_UTF8(f->db));
  size_t len;
  uint8_t *m = build_msg(2 /* moreToCome */, body, NULL, NULL, 0, false, &len);
  raw_send(fd, m, len);
  free(m);
  bson_destroy(body);
  /* No reply to that; the next reply on this socket answers the count. */
  body = BCON_NEW("count", BCON_UTF8("w0"), "$db", BCON_UTF8(f->db));
  m = build_msg(0, body, NULL, NULL, 0, false, &len);
  raw_send(fd, m, len);
  int32_t op;
  bson_t *reply = read_reply(fd, &op);
  assert_non_null(reply);
  assert_int_equal(field_int(reply, "n"), 1);
  bson_destroy(reply);
  free(m);
  bson_destroy(body);
  close(fd);
}

static void test_oversized_document_in_sequence(void **state)
{
  fixture_t *f = *state;
  size_t max = 16 * 1024 * 1024;
  bson_t *big = bson_new();
  size_t overhead = 4 + (1 + 4 + 4) + (1 + 2 + 4 + 1) + 1;
  uint8_t *payload = calloc(1, max + 1 - overhead);
  BSON_APPEND_INT32(big, "_id", 1);
  BSON_APPEND_BINARY(big, "b", BSON_SUBTYPE_BINARY, payload,
                     (uint32_t)(max + 1 - overhead));
  assert_int_equal(big->len, max + 1);
  free(payload);
  bson_t *body = BCON_NEW("insert", BCON_UTF8("big"), "$db", BCON_UTF8(f->db));
  size_t len;
  uint8_t *m = build_msg(0, body, "documents", bson_get_data(big), big->len,
                         false, &len);
  int fd = raw_connect(f);
  raw_send(fd, m, len);
  int32_t op;
  bson_t *reply = read_reply(fd, &op);
  assert_non_null(reply);
  /* A write error (mongod: BadValue "object to insert too large"). */
  assert_int_equal(field_int(reply, "n"), 0);
  int64_t code = field_int(reply, "writeErrors.0.code");
  if (code < 0)
    code = field_int(reply, "code");
  assert_true(code == 2 || code == 10334);
  bson_destroy(reply);
  close(fd);
  free(m);
  bson_destroy(body);
  bson_destroy(big);
  assert_others_fine(f);
}

static void test_legacy_handshake_and_compression(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  bson_t *q =
      BCON_NEW("isMaster", BCON_INT32(1), "helloOk", BCON_BOOL(true),
               "compression", "[", BCON_UTF8("zlib"), "]", "client", "{",
               "application", "{", "name", BCON_UTF8("wire"), "}", "}");
  const char *ns = "admin.$cmd";
  size_t len = 16 + 4 + strlen(ns) + 1 + 8 + q->len;
  uint8_t *m = malloc(len), *p = m;
  put_i32(p, (int32_t)len);
  put_i32(p + 4, 1);
  put_i32(p + 8, 0);
  put_i32(p + 12, 2004);
  put_i32(p + 16, 0);
  p += 20;
  memcpy(p, ns, strlen(ns) + 1);
  p += strlen(ns) + 1;
  put_i32(p, 0);
  put_i32(p + 4, -1);
  memcpy(p + 8, bson_get_data(q), q->len);
  raw_send(fd, m, len);
  free(m);
  bson_destroy(q);
  int32_t op;
  bson_t *reply = read_reply(fd, &op);
  assert_non_null(reply);
  assert_int_equal(op, 1); /* OP_REPLY */
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, reply, "ismaster"));
  assert_true(bson_iter_as_bool(&it));
  bool zlib = false;
  if (bson_iter_init_find(&it, reply, "compression")) {
    bson_iter_t arr;
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr))
      zlib = zlib || !strcmp(bson_iter_utf8(&arr, NULL), "zlib");
  }
  bson_destroy(reply);
  if (!zlib) {
    close(fd); /* a real server built without zlib */
    return;
  }

  /* A zlib-compressed OP_MSG ping gets a compressed reply. */
  bson_t *body = BCON_NEW("ping", BCON_INT32(1), "$db", BCON_UTF8("admin"));
  uint8_t *plain = build_msg(0, body, NULL, NULL, 0, false, &len);
  uLongf clen = compressBound((uLong)(len - 16));
  uint8_t *c = malloc(25 + clen);
  assert_int_equal(compress2(c + 25, &clen, plain + 16, (uLong)(len - 16), 6),
                   Z_OK);
  put_i32(c, (int32_t)(25 + clen));
  put_i32(c + 4, 7);
  put_i32(c + 8, 0);
  put_i32(c + 12, 2012);
  put_i32(c + 16, 2013);
  put_i32(c + 20, (int32_t)(len - 16));
  c[24] = 2;
  raw_send(fd, c, 25 + clen);
  reply = read_reply(fd, &op);
  assert_non_null(reply);
  assert_int_equal(op, 2013);
  assert_int_equal(field_int(reply, "ok"), 1);
  bson_destroy(reply);

  /* Compressed data that doesn't inflate to the stated size: closed. */
  if (!test_server_external()) {
    put_i32(c + 20, (int32_t)(len - 16 + 5));
    raw_send(fd, c, 25 + clen);
    assert_true(closed_by_server(fd));
  }
  free(c);
  free(plain);
  bson_destroy(body);
  close(fd);
  assert_others_fine(f);
}

int main(void)
{
  mongoc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_garbage_closes_connection, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_truncated_bson_rejected, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_disconnect_mid_message, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_document_sequence_and_checksum,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_more_to_come, setup, teardown),
      cmocka_unit_test_setup_teardown(test_oversized_document_in_sequence,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_legacy_handshake_and_compression,
                                      setup, teardown),
  };
  int failed = cmocka_run_group_tests_name("server_wire", tests, NULL, NULL);
  mongoc_cleanup();
  return failed;
}
