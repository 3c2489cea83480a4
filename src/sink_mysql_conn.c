/* sink_mysql_conn: the MySQL sink's factory: the URI
 * (mysql://user:password@host:port/database?options, also mariadb://; the
 * password is never printed) and the connections, each in strict mode on
 * the target database, made when it does not exist. */
#include "loader/error.h"
#include "loader/util.h"
#include "sink_mysql_impl.h"
#include "sink_sql.h"

#include <ctype.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without it, a server that isn't there can cost minutes. */
#define SINK_MYSQL_CONNECT_TIMEOUT_S 5

/* Fills error from the connection's last error: the server's code stays. */
void sink_mysql_error(MYSQL *m, const char *what, bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, mysql_errno(m), "mysql: %s%s%s",
                 what ? what : "", what ? ": " : "", mysql_error(m));
}

/* Decodes %XX escapes of s[0..len) into a new string, or NULL. */
static char *sink_mysql__decode(const char *s, size_t len)
{
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
        isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], '\0'};
      out[n++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      out[n++] = s[i];
    }
  }
  out[n] = '\0';
  return out;
}

void sink_mysql_factory_destroy(void *state)
{
  sink_mysql_factory_t *f = state;
  if (!f)
    return;
  if (f->library_init)
    mysql_library_end();
  free(f->host);
  free(f->user);
  if (f->password)
    explicit_bzero(f->password, strlen(f->password));
  free(f->password);
  free(f->socket);
  free(f->db);
  free(f);
}

/* Removes from error's message what may be a secret of uri (an option's
 * text, say): it is printed next to the redacted URI. */
static void sink_mysql__scrub(bson_error_t *error, const char *uri)
{
  char *safe = util_redact_message(error->message, uri);
  bson_strncpy(error->message, safe, sizeof error->message);
  explicit_bzero(safe, strlen(safe));
  free(safe);
}

/* Parses one ?key=value option. */
static bool sink_mysql__option(sink_mysql_factory_t *f, const char *kv,
                               size_t len, bson_error_t *error)
{
  const char *eq = memchr(kv, '=', len);
  if (!eq) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "invalid URI: option %.*s has no value", (int)len, kv);
    return false;
  }
  size_t klen = (size_t)(eq - kv);
  char *value = sink_mysql__decode(eq + 1, len - klen - 1);
  if (!value) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  if (klen == 6 && strncmp(kv, "socket", 6) == 0) {
    free(f->socket);
    f->socket = value;
    return true;
  }
  if (klen == 14 && strncmp(kv, "connectTimeout", 14) == 0) {
    char *end;
    unsigned long s = strtoul(value, &end, 10);
    bool ok = *value && !*end && s > 0 && s < 3600;
    free(value);
    if (ok) {
      f->timeout_s = (unsigned)s;
      return true;
    }
  } else {
    free(value);
  }
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "invalid URI: unknown option or bad value %.*s (known: "
                 "socket=PATH, connectTimeout=SECONDS)",
                 (int)klen, kv);
  return false;
}

/* Fills error with what a URI that does not parse gets. */
static bool sink_mysql__bad(bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "invalid URI: expected "
                 "mysql://user:password@host:port/database");
  return false;
}

static bool sink_mysql__oom(bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return false;
}

/* Parses the user and password of the authority [*pp, end)
 * ([user[:password]@], up to its last '@'), or takes the password of
 * --password-file; moves *pp to the host. */
static bool sink_mysql__parse_login(sink_mysql_factory_t *f,
                                    const sink_config_t *config,
                                    const char **pp, const char *end,
                                    bson_error_t *error)
{
  const char *p = *pp;
  const char *at = NULL;
  for (const char *q = p; q < end; q++)
    if (*q == '@')
      at = q; /* the last one: a password may hold '@' unescaped */
  if (strchr(end, '@')) {
    /* A '/' or '?' inside the user name or the password would make its
     * tail the host, the database or an option, printed in messages:
     * refuse rather than guess (a database or socket path holding '@'
     * takes %40). Never echo the URI. */
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "invalid URI: an '@' after the host: percent-encode '/', "
                   "'?', '#', '@' and ':' in the user name and password "
                   "(%%2F, %%3F, %%23, %%40, %%3A)");
    return false;
  }
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *uend = colon ? colon : at;
    f->user = sink_mysql__decode(p, (size_t)(uend - p));
    if (colon)
      f->password = sink_mysql__decode(colon + 1, (size_t)(at - colon - 1));
    if (!f->user || (colon && !f->password))
      return sink_mysql__oom(error);
    *pp = at + 1;
  }
  if (config->password) {
    /* --password-file: straight to mysql_real_connect(), never into a URI
     * string. */
    if (!f->user || !*f->user || f->password) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--password-file: the URI must name a user and no "
                     "password (mysql://USER@host/...)");
      return false;
    }
    if (!(f->password = strdup(config->password)))
      return sink_mysql__oom(error);
  }
  return true;
}

/* Parses host[:port] (host a name, an address or [an IPv6 address]) in
 * [p, end). */
static bool sink_mysql__parse_host(sink_mysql_factory_t *f, const char *p,
                                   const char *end, bson_error_t *error)
{
  const char *hend = end;
  const char *hstart = p;
  if (*p == '[') { /* [v6 address] */
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close)
      return sink_mysql__bad(error);
    hstart = p + 1;
    hend = close;
    p = close + 1;
  } else {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    hend = colon ? colon : end;
    p = hend;
  }
  if (hend > hstart &&
      !(f->host = sink_mysql__decode(hstart, (size_t)(hend - hstart))))
    return sink_mysql__oom(error);
  if (p < end) {
    if (*p != ':')
      return sink_mysql__bad(error);
    char *pend;
    unsigned long port = strtoul(p + 1, &pend, 10);
    if (pend != end || port == 0 || port > 65535)
      return sink_mysql__bad(error);
    f->port = (unsigned)port;
  }
  return true;
}

/* Parses [/database] at *pp, moving *pp past it; the database is --db,
 * else the URI's, else "loader". */
static bool sink_mysql__parse_db(sink_mysql_factory_t *f,
                                 const sink_config_t *config, const char **pp,
                                 bson_error_t *error)
{
  const char *p = *pp;
  char *uri_db = NULL;
  if (*p == '/') {
    size_t len = strcspn(p + 1, "?");
    if (len && !(uri_db = sink_mysql__decode(p + 1, len)))
      return sink_mysql__oom(error);
    *pp = p + 1 + len;
  }
  if (config->db && *config->db) {
    free(uri_db);
    uri_db = strdup(config->db);
  } else if (!uri_db) {
    uri_db = strdup("loader");
  }
  if (!uri_db)
    return sink_mysql__oom(error);
  f->db = uri_db;
  return true;
}

/* mysql://[user[:password]@]host[:port][/database][?socket=P&connectTimeout=S]
 * (also mariadb://). The database is --db, else the URI's, else "loader". */
void *sink_mysql_factory_new(const sink_config_t *config, bson_error_t *error)
{
  sink_mysql_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    sink_mysql__oom(error);
    return NULL;
  }
  f->timeout_s = SINK_MYSQL_CONNECT_TIMEOUT_S;
  const char *p = strstr(config->uri, "://") + 3;
  const char *end = p + strcspn(p, "/?");
  if (!sink_mysql__parse_login(f, config, &p, end, error) ||
      !sink_mysql__parse_host(f, p, end, error))
    goto out_fail;
  p = end;
  if (!sink_mysql__parse_db(f, config, &p, error))
    goto out_fail;
  if (*p == '?') {
    p++;
    while (*p) {
      size_t len = strcspn(p, "&");
      if (len && !sink_mysql__option(f, p, len, error))
        goto out_fail;
      p += len + (p[len] == '&');
    }
  }
  if (!f->host && !f->socket) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "invalid URI: mysql:// needs a host (or ?socket=PATH)");
    goto out_fail;
  }
  if (mysql_library_init(0, NULL, NULL) != 0) {
    bson_set_error(error, LOADER_ERROR_SINK, 0,
                   "mysql: cannot initialise the client library");
    goto out_fail;
  }
  f->library_init = true;
  return f;

out_fail:
  sink_mysql__scrub(error, config->uri);
  sink_mysql_factory_destroy(f);
  return NULL;
}

/* Runs sql, which returns nothing, on m. */
bool sink_mysql_exec(MYSQL *m, const char *sql, const char *what,
                     bson_error_t *error)
{
  if (mysql_query(m, sql) == 0) {
    MYSQL_RES *res = mysql_store_result(m);
    mysql_free_result(res);
    return true;
  }
  sink_mysql_error(m, what, error);
  return false;
}

/* Connects to the server and selects the database, creating it when it does
 * not exist. Returns NULL and fills error (with the server's or the client
 * library's code: 2002/2003 no server, 1045 access denied) otherwise. */
MYSQL *sink_mysql_connect(sink_mysql_factory_t *f, bson_error_t *error)
{
  MYSQL *m = mysql_init(NULL);
  if (!m) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  unsigned timeout = f->timeout_s;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  /* LOAD DATA LOCAL for the sink's bulk path; the handler feeds only the
   * loader's own rows, never a file a server names */
  unsigned local_infile = 1;
  mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
  sink_mysql_bulk_attach(m, NULL);
  if (f->socket) {
    unsigned proto = MYSQL_PROTOCOL_SOCKET;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
  } else if (f->host && strcmp(f->host, "localhost") != 0) {
    unsigned proto = MYSQL_PROTOCOL_TCP;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
  }
  if (!mysql_real_connect(m, f->host ? f->host : "localhost", f->user,
                          f->password, NULL, f->port, f->socket, 0)) {
    sink_mysql_error(m, NULL, error);
    mysql_close(m);
    return NULL;
  }
  sink_mysql_bulk_attach(m, NULL); /* whatever connecting did to it */
  if (!sink_mysql_exec(m,
                       "SET SESSION sql_mode = 'STRICT_ALL_TABLES,"
                       "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
                       "sql_mode", error))
    goto out_fail;
  if (mysql_select_db(m, f->db) != 0) {
    if (mysql_errno(m) != ER_BAD_DB_ERROR) {
      sink_mysql_error(m, f->db, error);
      goto out_fail;
    }
    sql_buf_t q = {0};
    bool mem = sql_buf_addz(&q, "CREATE DATABASE IF NOT EXISTS ") &&
               sql_buf_ident(&q, f->db, '`') &&
               sql_buf_addz(&q, " CHARACTER SET utf8mb4");
    bool ok = mem && sink_mysql_exec(m, q.s, f->db, error);
    sql_buf_free(&q);
    if (!mem)
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    if (!ok)
      goto out_fail;
    if (mysql_select_db(m, f->db) != 0) {
      sink_mysql_error(m, f->db, error);
      goto out_fail;
    }
  }
  return m;

out_fail:
  mysql_close(m);
  return NULL;
}

bool sink_mysql_factory_check(void *state, bson_error_t *error)
{
  MYSQL *m = sink_mysql_connect(state, error);
  mysql_close(m);
  return m != NULL;
}

const char *sink_mysql_factory_db(const void *state)
{
  return ((const sink_mysql_factory_t *)state)->db;
}
