#include "test_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
