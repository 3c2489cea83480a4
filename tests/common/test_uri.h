/* Where the integration tests find their MongoDB server. */
#ifndef LOADER_TEST_URI_H
#define LOADER_TEST_URI_H

#include <stdbool.h>

/* Returns the URI of the server the integration tests run against, as a
 * string the caller frees with free(): $MONGODB_URI when set (a real mongod),
 * else the URI the mongo_server ctest fixture wrote to $LOADER_TEST_URI_FILE.
 * Returns NULL, after printing why on stderr, when neither is available. */
char *test_mongodb_uri(void);

/* Returns a database name unique to this process and tag ("t_<tag>_<pid>"),
 * so tests never see each other's data, also on a shared real server. The
 * caller frees it with free(). */
char *test_db_name(const char *tag);

/* What a live-server integration test needs: the server, a database of its
 * own, a client to read back with. */
struct _mongoc_client_t;
typedef struct test_env {
  char *uri;                       /* test_mongodb_uri() (owned) */
  char *db;                        /* test_db_name(tag) (owned) */
  struct _mongoc_client_t *client; /* for reading back (owned) */
} test_env_t;

/* Fills env for the tests tagged tag. Returns false (after printing why)
 * when there is no server to run against. */
bool test_env_setup(test_env_t *env, const char *tag);

/* Drops env's database and frees env. */
void test_env_teardown(test_env_t *env);

/* Returns "$LOADER_SOURCE_DIR/rel" (caller frees). */
char *test_source_path(const char *rel);

#endif
