/* Connections: one detached thread per client, blocking sockets.
 *
 * The main thread accepts; each connection thread reads a whole message
 * (header first, length capped at maxMessageSizeBytes), parses it, runs the
 * command and writes the reply, with no store lock held during socket I/O.
 * A malformed message closes that connection only. On shutdown the main
 * thread shuts every registered socket down, which wakes its thread, and
 * waits until the registry is empty. */
#define _GNU_SOURCE /* ppoll, accept4 */
#include "server.h"

#include "commands.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Receive buffers above this size are released after their message, so an
 * idle connection does not keep a 48 MB buffer. */
#define KEEP_BUFFER_BYTES (1024 * 1024)

bool server_init(server_t *srv)
{
  memset(srv, 0, sizeof *srv);
  srv->store = store_new();
  if (!srv->store)
    return false;
  if (!retry_init(&srv->retry)) {
    store_destroy(srv->store);
    return false;
  }
  srv->start_us = bson_get_monotonic_time();
  bson_oid_init(&srv->process_id, NULL);
  srv->clock_secs = (uint32_t)time(NULL);
  srv->clock_inc = 1;
  pthread_mutex_init(&srv->clock_lock, NULL);
  pthread_mutex_init(&srv->conns_lock, NULL);
  pthread_cond_init(&srv->conns_done, NULL);
  return true;
}

void server_cleanup(server_t *srv)
{
  store_destroy(srv->store);
  free(srv->faults.faults);
  auth_free_users(&srv->users);
  SSL_CTX_free(srv->tls);
  retry_cleanup(&srv->retry);
  pthread_mutex_destroy(&srv->clock_lock);
  pthread_mutex_destroy(&srv->conns_lock);
  pthread_cond_destroy(&srv->conns_done);
}

bool server_tls_setup(server_t *srv, const char *cert_file,
                      const char *key_file, const char *ca_file, char *why,
                      size_t why_len)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  const char *what = "cannot create a TLS context";
  if (!ctx)
    goto fail;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  what = cert_file;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
    goto fail;
  what = key_file;
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    goto fail;
  if (ca_file) {
    what = ca_file;
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
      goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
  }
  srv->tls = ctx;
  return true;
fail:;
  char reason[256];
  ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
  snprintf(why, why_len, "TLS: %s: %s", what, reason);
  SSL_CTX_free(ctx);
  return false;
}

/* Reads exactly len bytes; false on EOF or error. */
static bool read_all(conn_t *conn, uint8_t *buf, size_t len)
{
  while (len) {
    if (conn->ssl) {
      int r = SSL_read(conn->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
      if (r <= 0)
        return false;
      buf += r;
      len -= (size_t)r;
      continue;
    }
    ssize_t r = recv(conn->fd, buf, len, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    buf += r;
    len -= (size_t)r;
  }
  return true;
}

/* Writes exactly len bytes; false on error. Never raises SIGPIPE (it is
 * ignored: OpenSSL writes with write()). */
static bool write_all(conn_t *conn, const uint8_t *buf, size_t len)
{
  while (len) {
    if (conn->ssl) {
      int w = SSL_write(conn->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
      if (w <= 0)
        return false;
      buf += w;
      len -= (size_t)w;
      continue;
    }
    ssize_t w = send(conn->fd, buf, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    buf += w;
    len -= (size_t)w;
  }
  return true;
}

/* Sleeps ms milliseconds (the --delay-ms switch). */
static void delay(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
    ;
}

/* Handles one complete message. Returns false when the connection must be
 * closed (malformed message, fault, write failure). */
static bool handle_message(conn_t *conn, const uint8_t *msg, size_t len,
                           uint8_t **scratch, size_t *scratch_cap,
                           uint8_t **out, size_t *out_cap)
{
  server_t *srv = conn->srv;
  request_t req;
  bson_error_t error;
  bool drop = false;

  if (!wire_parse(msg, len, scratch, scratch_cap, &req, &error)) {
    if (srv->verbose)
      fprintf(stderr, "mongo-test-server: conn%lld: closing: %s\n",
              (long long)conn->id, error.message);
    return false;
  }
  if (req.compressor > COMPRESSOR_NOOP) {
    atomic_int_fast64_t *st = srv->comp_stats[req.compressor];
    atomic_fetch_add(&st[COMP_IN_COMP], (int64_t)len);
    atomic_fetch_add(&st[COMP_IN_PLAIN], (int64_t)wire_read_i32(*scratch));
  }
  bson_t reply = BSON_INITIALIZER;
  cmd_dispatch(srv, conn, &req, &reply, &drop);
  bool keep = !drop;
  if (keep && !(req.flags & MSG_MORE_TO_COME)) {
    size_t plain = 0, comp = 0;
    size_t n =
        wire_build_reply(&req, &reply, false, out, out_cap, &plain, &comp);
    if (plain) {
      atomic_int_fast64_t *st = srv->comp_stats[req.compressor];
      atomic_fetch_add(&st[COMP_OUT_PLAIN], (int64_t)plain);
      atomic_fetch_add(&st[COMP_OUT_COMP], (int64_t)comp);
    }
    if (srv->delay_ms > 0)
      delay(srv->delay_ms);
    keep = n > 0 && write_all(conn, *out, n);
  }
  bson_destroy(&reply);
  return keep;
}

/* Adds conn to the registry; false when shutdown already began. */
static bool register_conn(server_t *srv, conn_t *conn)
{
  bool ok;
  pthread_mutex_lock(&srv->conns_lock);
  ok = !srv->stopping;
  if (ok) {
    conn->prev = NULL;
    conn->next = srv->conns;
    if (srv->conns)
      srv->conns->prev = conn;
    srv->conns = conn;
    atomic_fetch_add(&srv->conns_current, 1);
  }
  pthread_mutex_unlock(&srv->conns_lock);
  return ok;
}

/* Removes conn from the registry, closes its socket and wakes shutdown. */
static void unregister_conn(server_t *srv, conn_t *conn)
{
  pthread_mutex_lock(&srv->conns_lock);
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    srv->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  close(conn->fd);
  atomic_fetch_sub(&srv->conns_current, 1);
  /* Signalled under the lock: once shutdown sees the registry empty it
   * destroys the condition variable, so no thread may touch it later. */
  pthread_cond_broadcast(&srv->conns_done);
  pthread_mutex_unlock(&srv->conns_lock);
}

/* Runs the TLS handshake on a fresh connection; false (after saying why
 * on stderr) when it fails: a plain-text client, an untrusted or missing
 * client certificate. */
static bool tls_accept(conn_t *conn)
{
  conn->ssl = SSL_new(conn->srv->tls);
  if (!conn->ssl || SSL_set_fd(conn->ssl, conn->fd) != 1)
    return false;
  int r = SSL_accept(conn->ssl);
  if (r == 1)
    return true;
  unsigned long e = ERR_get_error();
  char reason[256] = "connection closed";
  if (e)
    ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  fprintf(stderr, "mongo-test-server: conn%lld: TLS handshake failed: %s\n",
          (long long)conn->id, reason);
  SSL_free(conn->ssl);
  conn->ssl = NULL;
  return false;
}

/* A connection's thread: reads and answers messages until the client
 * leaves, a message is malformed, or the server stops. */
static void *conn_main(void *arg)
{
  conn_t *conn = arg;
  server_t *srv = conn->srv;
  uint8_t *buf = NULL, *scratch = NULL, *out = NULL;
  size_t cap = 0, scratch_cap = 0, out_cap = 0;
  uint8_t header[16];

  if (srv->tls && !tls_accept(conn))
    goto out;
  for (;;) {
    if (!read_all(conn, header, sizeof header))
      break;
    int32_t len = wire_read_i32(header);
    if (len < 16 || len > MTS_MAX_MESSAGE_SIZE) {
      if (srv->verbose)
        fprintf(stderr,
                "mongo-test-server: conn%lld: closing: bad message length "
                "%d\n",
                (long long)conn->id, len);
      break;
    }
    if ((size_t)len > cap) {
      uint8_t *grown = realloc(buf, (size_t)len);
      if (!grown)
        break;
      buf = grown;
      cap = (size_t)len;
    }
    memcpy(buf, header, sizeof header);
    if (!read_all(conn, buf + 16, (size_t)len - 16))
      break;
    if (!handle_message(conn, buf, (size_t)len, &scratch, &scratch_cap, &out,
                        &out_cap))
      break;
    if (cap > KEEP_BUFFER_BYTES) {
      free(buf);
      buf = NULL;
      cap = 0;
    }
    if (scratch_cap > KEEP_BUFFER_BYTES) {
      free(scratch);
      scratch = NULL;
      scratch_cap = 0;
    }
    if (out_cap > KEEP_BUFFER_BYTES) {
      free(out);
      out = NULL;
      out_cap = 0;
    }
  }
  free(buf);
  free(scratch);
  free(out);
out:
  if (conn->ssl) {
    SSL_shutdown(conn->ssl);
    SSL_free(conn->ssl);
  }
  auth_conn_reset(&conn->auth);
  /* OpenSSL's per-thread state (error queue, random generators) is freed
   * now, before shutdown may see the registry empty and exit: left to the
   * thread's exit it could race with OpenSSL's cleanup at process exit. */
  OPENSSL_thread_stop();
  unregister_conn(srv, conn);
  free(conn);
  return NULL;
}

/* Starts a thread for a freshly accepted socket; closes it on failure. */
static void start_conn(server_t *srv, int fd)
{
  int one = 1;
  pthread_t tid;
  pthread_attr_t attr;
  conn_t *conn = calloc(1, sizeof *conn);
  if (!conn) {
    close(fd);
    return;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  conn->srv = srv;
  conn->fd = fd;
  conn->id = atomic_fetch_add(&srv->next_conn_id, 1) + 1;
  atomic_fetch_add(&srv->conns_total, 1);
  if (!register_conn(srv, conn)) {
    close(fd);
    free(conn);
    return;
  }
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&tid, &attr, conn_main, conn) != 0) {
    fprintf(stderr, "mongo-test-server: cannot start a thread: %s\n",
            strerror(errno));
    unregister_conn(srv, conn);
    free(conn);
  }
  pthread_attr_destroy(&attr);
}

void server_run(server_t *srv, int lfd, volatile sig_atomic_t *stop)
{
  sigset_t unblocked;
  pthread_sigmask(SIG_SETMASK, NULL, &unblocked);
  sigdelset(&unblocked, SIGINT);
  sigdelset(&unblocked, SIGTERM);
  while (!*stop) {
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    /* Signals are delivered only here, while waiting. */
    int r = ppoll(&p, 1, NULL, &unblocked);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "mongo-test-server: poll: %s\n", strerror(errno));
      break;
    }
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED &&
          errno != EWOULDBLOCK)
        fprintf(stderr, "mongo-test-server: accept: %s\n", strerror(errno));
      if (errno == EMFILE || errno == ENFILE)
        delay(10); /* out of descriptors: let connections end */
      continue;
    }
    start_conn(srv, fd);
  }

  /* Shut down: wake every connection thread and wait for all of them. */
  close(lfd);
  pthread_mutex_lock(&srv->conns_lock);
  srv->stopping = true;
  for (conn_t *c = srv->conns; c; c = c->next)
    shutdown(c->fd, SHUT_RDWR);
  while (srv->conns)
    pthread_cond_wait(&srv->conns_done, &srv->conns_lock);
  pthread_mutex_unlock(&srv->conns_lock);
}
