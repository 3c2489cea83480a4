/* A private mongo-test-server for tests that need fault switches (dropped
 * connections, injected errors, delays) without disturbing the shared
 * server of the mongo_server fixture.
 *
 * Fault switches exist only in the test server: a test using this helper
 * must skip() when MONGODB_URI is set (test_server_external() says so). */
#ifndef LOADER_TEST_SERVER_H
#define LOADER_TEST_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

/* A running private server. */
typedef struct {
  pid_t pid;    /* the server's process id; 0 when not running */
  int port;     /* the TCP port it listens on, on 127.0.0.1 */
  char uri[64]; /* "mongodb://127.0.0.1:PORT/" */
} test_server_t;

/* Returns a loopback TCP port nothing listens on (bound, then closed):
 * the target of "cannot connect" tests. Aborts if no socket can be had. */
int test_closed_port(void);

/* True when MONGODB_URI is set: tests then run against a real server and
 * must skip what needs a private test server. */
bool test_server_external(void);

/* Starts $LOADER_TEST_SERVER_BIN --port 0 extra_args... (extra_args is a
 * NULL-terminated list, or NULL for none), waits up to 10 s for its
 * "listening 127.0.0.1:PORT" line and fills *out. The server's stderr goes
 * to the test's stderr. Returns false, after printing why on stderr and
 * leaving nothing running, when it can't start. */
bool test_server_spawn(const char *const *extra_args, test_server_t *out);

/* Runs $LOADER_TEST_SERVER_BIN args... (NULL-terminated, at most 6) to its
 * end with its output discarded, for command-line checks. Returns its exit
 * status, or -1 when it did not exit normally. */
int test_server_run(const char *const *args);

/* Stops the server with SIGTERM, waits for it (SIGKILL after 10 s) and
 * marks *server not running. A server not running is a no-op. */
void test_server_stop(test_server_t *server);

#endif
