/* Small helpers shared by several modules. */
#include "loader/util.h"
#include "loader/error.h"

#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double util_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t util_hash64(const void *data, size_t len, uint64_t h)
{
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

/* A URI's credentials sit between "://" and the last '@' before the first
 * '/' of the path: "scheme://user:password@host/db". */
char *util_redact_uri(const char *uri)
{
  if (!uri)
    return strdup("");
  const char *scheme_end = strstr(uri, "://");
  if (!scheme_end)
    return strdup(uri);
  const char *auth = scheme_end + 3;
  const char *path = auth + strcspn(auth, "/?");
  const char *at = NULL;
  for (const char *p = auth; p < path; p++)
    if (*p == '@')
      at = p;
  if (!at)
    return strdup(uri);
  const char *colon = memchr(auth, ':', (size_t)(at - auth));
  if (!colon)
    return strdup(uri);
  size_t head = (size_t)(colon + 1 - uri);
  size_t len = head + 3 + strlen(at) + 1;
  char *out = malloc(len);
  if (!out)
    abort();
  snprintf(out, len, "%.*s***%s", (int)head, uri, at);
  return out;
}

char *util_uri_with_password(const char *uri, const char *password)
{
  const char *scheme_end = strstr(uri, "://");
  if (!scheme_end)
    return NULL;
  const char *auth = scheme_end + 3;
  const char *path = auth + strcspn(auth, "/?");
  const char *at = NULL;
  for (const char *p = auth; p < path; p++)
    if (*p == '@')
      at = p;
  if (!at || at == auth || memchr(auth, ':', (size_t)(at - auth)))
    return NULL;
  size_t len = strlen(uri) + 3 * strlen(password) + 2;
  char *out = malloc(len);
  if (!out)
    return NULL;
  size_t n = (size_t)(at - uri);
  memcpy(out, uri, n);
  out[n++] = ':';
  for (const unsigned char *p = (const unsigned char *)password; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
        (*p >= '0' && *p <= '9') || strchr("-._~", *p))
      out[n++] = (char)*p;
    else
      n += (size_t)snprintf(out + n, 4, "%%%02X", *p);
  }
  strcpy(out + n, at);
  return out;
}

char *util_collection_from_path(const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  /* "x.csv.gz": drop the compression suffix first, then the type. */
  if (len > 3 && strcmp(base + len - 3, ".gz") == 0)
    len -= 3;
  for (size_t i = len; i > 0; i--) {
    if (base[i - 1] == '.') {
      if (i - 1 > 0)
        len = i - 1;
      break;
    }
  }
  return strndup(base, len);
}

char *util_group_thousands(uint64_t n, char *buf, size_t cap)
{
  char digits[32];
  int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
  size_t out = 0;
  for (int i = 0; i < nd && out + 1 < cap; i++) {
    if (i > 0 && (nd - i) % 3 == 0 && out + 2 < cap)
      buf[out++] = ',';
    buf[out++] = digits[i];
  }
  if (cap)
    buf[out < cap ? out : cap - 1] = '\0';
  return buf;
}

bool loader_error_is_connection(const bson_error_t *error)
{
  if (error->domain == MONGOC_ERROR_SERVER_SELECTION ||
      error->domain == MONGOC_ERROR_STREAM)
    return true;
  if (error->domain == MONGOC_ERROR_CLIENT &&
      error->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
    return true;
  /* AuthenticationFailed (18) and Unauthorized (13) from the server. */
  if ((error->domain == MONGOC_ERROR_SERVER ||
       error->domain == MONGOC_ERROR_QUERY) &&
      (error->code == 18 || error->code == 13))
    return true;
  return false;
}
