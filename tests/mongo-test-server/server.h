/* The test server's shared state and its connections: the listener, one
 * thread per connection, and a registry so shutdown can wake them all. */
#ifndef MTS_SERVER_H
#define MTS_SERVER_H

#include "auth.h"
#include "fault.h"
#include "retry.h"
#include "store.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Largest message accepted or sent (the handshake's maxMessageSizeBytes). */
#define MTS_MAX_MESSAGE_SIZE 48000000

/* Largest command body (mongod's BSONObjMaxInternalSize: 16 MiB + 16 KiB). */
#define MTS_MAX_COMMAND_SIZE (16 * 1024 * 1024 + 16 * 1024)

/* Wire version range reported in the handshake (6.0-era server). */
#define MTS_MIN_WIRE_VERSION 0
#define MTS_MAX_WIRE_VERSION 17

typedef struct conn conn_t;

/* Indexes of server_t.comp_stats' second dimension. */
enum { COMP_IN_COMP, COMP_IN_PLAIN, COMP_OUT_PLAIN, COMP_OUT_COMP };

/* What the server says it is in hello. */
typedef enum {
  MODE_STANDALONE, /* a standalone mongod (the default) */
  MODE_REPL_SET,   /* --repl-set: the primary of a one-member replica set */
  MODE_ROUTER      /* --router: a mongos */
} server_mode_t;

/* serverStatus opcounters, as mongod counts them. */
enum {
  OPC_INSERT, /* documents an insert attempted (ordered: up to the first
                 failure, included) */
  OPC_QUERY,  /* find commands */
  OPC_UPDATE, /* update statements attempted */
  OPC_DELETE, /* delete statements attempted */
  OPC_GETMORE,
  OPC_COMMAND, /* every other command */
  OPC_COUNT
};

/* Write commands whose runs serverStatus' metrics.commands counts. */
enum { WCMD_INSERT, WCMD_UPDATE, WCMD_DELETE, WCMD_COUNT };

/* Server-wide configuration, data and statistics. */
typedef struct server {
  server_mode_t mode;    /* standalone, replica set primary or router */
  const char *repl_set;  /* --repl-set NAME, else NULL */
  char host[64];         /* "ADDR:PORT" it listens on (hosts, primary, me) */
  bson_oid_t process_id; /* topologyVersion.processId, new each start */
  store_t *store;        /* all databases */
  fault_set_t faults;    /* --fault switches and the insert counter */
  int delay_ms;          /* --delay-ms: wait before every reply */
  bool verbose;          /* --verbose: log commands to stderr */
  SSL_CTX *tls;          /* --tls-cert/--tls-key: every connection speaks TLS;
                            NULL: plain TCP */
  user_set_t users;      /* --user NAME:PASSWORD: with any, every command
                            but the handshake needs authentication */
  int64_t start_us;      /* monotonic start time, for uptime */
  atomic_int_fast64_t next_conn_id;  /* last connectionId handed out */
  atomic_int_fast64_t conns_current; /* open connections */
  atomic_int_fast64_t conns_total;   /* connections accepted so far */
  /* network.compression counters, by compressor id and COMP_*: bytes
   * received compressed and their decompressed size, reply bytes before
   * compression and as sent. */
  atomic_int_fast64_t comp_stats[4][4];
  atomic_int_fast64_t opcounters[OPC_COUNT]; /* serverStatus opcounters */
  /* metrics.commands.<insert|update|delete>: runs in total, and those
   * that answered ok: 0 */
  atomic_int_fast64_t write_cmds[WCMD_COUNT][2];
  retry_table_t retry;        /* retryable writes by session */
  pthread_mutex_t clock_lock; /* guards the cluster time below */
  uint32_t clock_secs;        /* cluster time: seconds ... */
  uint32_t clock_inc;         /* ... and increment of the newest write */
  pthread_mutex_t conns_lock; /* guards conns and wakes conns_done */
  pthread_cond_t conns_done;  /* signalled when a connection ends */
  conn_t *conns;              /* live connections, a linked list */
  bool stopping;              /* shutdown began: refuse new connections */
} server_t;

/* One client connection, served by its own thread. */
struct conn {
  server_t *srv;          /* the server */
  int fd;                 /* the socket; closed by the connection's thread */
  SSL *ssl;               /* its TLS session, when the server speaks TLS */
  int64_t id;             /* connectionId reported in hello */
  uint8_t compressors[4]; /* ids the handshake negotiated, client order */
  uint8_t ncompressors;   /* how many */
  auth_conn_t auth;       /* authentication conversation and outcome */
  conn_t *prev;           /* registry links, under srv->conns_lock */
  conn_t *next;           /* registry links, under srv->conns_lock */
};

/* Initialises srv (store, locks, counters); false on OOM. Faults and
 * options are filled in by the caller afterwards. */
bool server_init(server_t *srv);

/* Makes srv speak TLS with the certificate chain cert_file (PEM) and its
 * key key_file; with ca_file, clients must present a certificate that CA
 * signed. Returns false with a reason (OpenSSL's) in why. */
bool server_tls_setup(server_t *srv, const char *cert_file,
                      const char *key_file, const char *ca_file, char *why,
                      size_t why_len);

/* Frees what server_init() and the caller's fault list allocated. */
void server_cleanup(server_t *srv);

/* Serves connections on the listening socket lfd until *stop becomes
 * non-zero (set from a signal handler; SIGINT and SIGTERM must be blocked
 * in the calling thread, and are unblocked only while waiting), then closes
 * every connection and waits for their threads. */
void server_run(server_t *srv, int lfd, volatile sig_atomic_t *stop);

#endif
