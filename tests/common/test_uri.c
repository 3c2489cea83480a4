#include "test_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

char *test_mongodb_uri(void)
{
  const char *env = getenv("MONGODB_URI");
  if (env && *env)
    return strdup(env);

  const char *path = getenv("LOADER_TEST_URI_FILE");
  if (!path || !*path) {
    fprintf(stderr, "test: neither MONGODB_URI nor LOADER_TEST_URI_FILE "
                    "is set; run through ctest\n");
    return NULL;
  }
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "test: cannot open %s: is the mongo_server fixture up?\n",
            path);
    return NULL;
  }
  char line[1024];
  char *uri = NULL;
  if (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (*line)
      uri = strdup(line);
  }
  fclose(f);
  if (!uri)
    fprintf(stderr, "test: %s holds no URI\n", path);
  return uri;
}

char *test_db_name(const char *tag)
{
  char buf[128];
  snprintf(buf, sizeof buf, "t_%s_%ld", tag, (long)getpid());
  return strdup(buf);
}

bool test_env_setup(test_env_t *env, const char *tag)
{
  env->uri = test_mongodb_uri();
  env->db = test_db_name(tag);
  env->client = env->uri ? mongoc_client_new(env->uri) : NULL;
  if (!env->client)
    fprintf(stderr, "test: no MongoDB client for %s\n",
            env->uri ? env->uri : "(no URI)");
  return env->client != NULL;
}

void test_env_teardown(test_env_t *env)
{
  if (env->client) {
    mongoc_database_t *db = mongoc_client_get_database(env->client, env->db);
    mongoc_database_drop(db, NULL);
    mongoc_database_destroy(db);
    mongoc_client_destroy(env->client);
  }
  free(env->uri);
  free(env->db);
  env->uri = env->db = NULL;
  env->client = NULL;
}

char *test_source_path(const char *rel)
{
  const char *src = getenv("LOADER_SOURCE_DIR");
  size_t len = strlen(src ? src : ".") + strlen(rel) + 2;
  char *path = malloc(len);
  if (path)
    snprintf(path, len, "%s/%s", src ? src : ".", rel);
  return path;
}
