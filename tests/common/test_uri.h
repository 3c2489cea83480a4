/* Where the integration tests find their MongoDB server. */
#ifndef LOADER_TEST_URI_H
#define LOADER_TEST_URI_H

/* Returns the URI of the server the integration tests run against, as a
 * string the caller frees with free(): $MONGODB_URI when set (a real mongod),
 * else the URI the mongo_server ctest fixture wrote to $LOADER_TEST_URI_FILE.
 * Returns NULL, after printing why on stderr, when neither is available. */
char *test_mongodb_uri(void);

/* Returns a database name unique to this process and tag ("t_<tag>_<pid>"),
 * so tests never see each other's data, also on a shared real server. The
 * caller frees it with free(). */
char *test_db_name(const char *tag);

#endif
