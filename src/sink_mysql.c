/* sink_mysql: MySQL / MariaDB through libmariadb
 * (mysql://user:pass@host:port/db, also mariadb://).
 *
 * Every sink has its own connection, so workers never share one. A
 * collection is a table, made on the first write from the first batch (see
 * sink_sql.h: BIGINT, DOUBLE, LONGTEXT, LONGBLOB; utf8mb4) or appended to. A
 * batch is one transaction of prepared multi-row INSERTs (binary protocol:
 * no quoting, no text conversion of numbers). MySQL fails a multi-row INSERT
 * as a whole when one row is refused (a duplicate key: 1062), so when a
 * statement fails for a reason that belongs to a row, its rows are inserted
 * one at a time in the same transaction: exactly the refused rows are
 * reported, with the server's code, and the others land. A deadlock or lock
 * wait timeout retries the batch's transaction. sink_write() leaves the
 * transaction open and sink_commit() commits it, with the job's mark in
 * _loader_progress when given one (that table is created before the first
 * transaction: CREATE TABLE would commit an open one). Sessions run in strict
 * mode, so the server refuses a value rather than change it. */
#include "loader/error.h"
#include "loader/util.h"
#include "sink_impl.h"
#include "sink_sql.h"

#include <ctype.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Without it, a server that isn't there can cost minutes. */
#define SINK_MYSQL_CONNECT_TIMEOUT_S 5
/* Rows and bytes per multi-row INSERT, at most; MySQL allows 65535
 * placeholders per statement and one packet (max_allowed_packet, 16 MiB by
 * default) per execution. */
#define SINK_MYSQL_MAX_ROWS 1000
#define SINK_MYSQL_MAX_PARAMS 65535
#define SINK_MYSQL_MAX_BYTES (4u * 1024u * 1024u)
/* How many times a batch is tried when InnoDB picks it as a deadlock
 * victim. */
#define SINK_MYSQL_ATTEMPTS 4

/* The type a new column of class cls gets. */
static const char *sink_mysql__type(sql_class_t cls)
{
  switch (cls) {
  case SQL_INTEGER:
    return "BIGINT";
  case SQL_REAL:
    return "DOUBLE";
  case SQL_BLOB:
    return "LONGBLOB";
  default:
    return "LONGTEXT";
  }
}

/* How MySQL's statements are spelt. */
static const sql_dialect_t sink_mysql__dialect = {
    .name = "mysql",
    .quote = '`',
    .type = sink_mysql__type,
    .create_suffix = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                     "COLLATE=utf8mb4_bin",
    .key_type = "VARCHAR(255)",
};

typedef struct sink_mysql_factory {
  char *host;         /* host name or address; NULL: localhost */
  char *user;         /* user name, or NULL */
  char *password;     /* password, or NULL (never printed) */
  char *socket;       /* ?socket=PATH, or NULL */
  char *db;           /* database name */
  unsigned port;      /* TCP port, 0: the default */
  unsigned timeout_s; /* connect timeout */
  bool library_init;  /* mysql_library_init() succeeded */
} sink_mysql_factory_t;

typedef struct sink_mysql {
  sink_mysql_factory_t *f; /* where it came from */
  MYSQL *conn;             /* this sink's own connection */
  char *table;             /* table name */
  sql_buf_t qtable;        /* table name, quoted */
  sql_table_t cols;        /* the table's columns, once known */
  bool have_cols;          /* cols is loaded */
  MYSQL_STMT *multi;       /* cached multi-row INSERT */
  size_t multi_rows;       /* its rows */
  MYSQL_STMT *single;      /* cached one-row INSERT */
  MYSQL_STMT *mark_store;  /* cached REPLACE INTO _loader_progress */
  bool have_progress;      /* _loader_progress is known to exist */
  bool in_txn;             /* a write's transaction is open */
  MYSQL_BIND *binds;       /* parameters of a statement */
  size_t binds_cap;        /* allocated entries of binds */
  sql_docs_t docs;         /* the batch's documents */
  sql_rows_t rows;         /* the batch's rows that fit the table */
} sink_mysql_t;

/* Fills error from the connection's last error: the server's code stays. */
static void sink_mysql__error(MYSQL *m, const char *what, bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, mysql_errno(m), "mysql: %s%s%s",
                 what ? what : "", what ? ": " : "", mysql_error(m));
}

static void sink_mysql__stmt_error(MYSQL_STMT *st, const char *what,
                                   bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, mysql_stmt_errno(st),
                 "mysql: %s: %s", what, mysql_stmt_error(st));
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

static void sink_mysql__factory_destroy(void *state)
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

/* mysql://[user[:password]@]host[:port][/database][?socket=P&connectTimeout=S]
 * (also mariadb://). The database is --db, else the URI's, else "loader". */
static void *sink_mysql__factory_new(const sink_config_t *config,
                                     bson_error_t *error)
{
  sink_mysql_factory_t *f = calloc(1, sizeof *f);
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  f->timeout_s = SINK_MYSQL_CONNECT_TIMEOUT_S;
  const char *p = strstr(config->uri, "://") + 3;
  const char *end = p + strcspn(p, "/?");
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
    goto out_fail;
  }
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *uend = colon ? colon : at;
    f->user = sink_mysql__decode(p, (size_t)(uend - p));
    if (colon)
      f->password = sink_mysql__decode(colon + 1, (size_t)(at - colon - 1));
    if (!f->user || (colon && !f->password))
      goto out_oom;
    p = at + 1;
  }
  if (config->password) {
    /* --password-file: straight to mysql_real_connect(), never into a URI
     * string. */
    if (!f->user || !*f->user || f->password) {
      bson_set_error(error, LOADER_ERROR_USAGE, 0,
                     "--password-file: the URI must name a user and no "
                     "password (mysql://USER@host/...)");
      goto out_fail;
    }
    if (!(f->password = strdup(config->password)))
      goto out_oom;
  }
  const char *hend = end;
  const char *hstart = p;
  if (*p == '[') { /* [v6 address] */
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close)
      goto out_bad;
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
    goto out_oom;
  if (p < end) {
    if (*p != ':')
      goto out_bad;
    char *pend;
    unsigned long port = strtoul(p + 1, &pend, 10);
    if (pend != end || port == 0 || port > 65535)
      goto out_bad;
    f->port = (unsigned)port;
  }
  p = end;
  char *uri_db = NULL;
  if (*p == '/') {
    size_t len = strcspn(p + 1, "?");
    if (len && !(uri_db = sink_mysql__decode(p + 1, len)))
      goto out_oom;
    p += 1 + len;
  }
  if (config->db && *config->db) {
    free(uri_db);
    uri_db = strdup(config->db);
  } else if (!uri_db) {
    uri_db = strdup("loader");
  }
  if (!uri_db)
    goto out_oom;
  f->db = uri_db;
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

out_bad:
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "invalid URI: expected "
                 "mysql://user:password@host:port/database");
  goto out_fail;
out_oom:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
out_fail:
  sink_mysql__scrub(error, config->uri);
  sink_mysql__factory_destroy(f);
  return NULL;
}

/* Runs sql, which returns nothing, on m. */
static bool sink_mysql__exec(MYSQL *m, const char *sql, const char *what,
                             bson_error_t *error)
{
  if (mysql_query(m, sql) == 0) {
    MYSQL_RES *res = mysql_store_result(m);
    mysql_free_result(res);
    return true;
  }
  sink_mysql__error(m, what, error);
  return false;
}

/* Connects to the server and selects the database, creating it when it does
 * not exist. Returns NULL and fills error (with the server's or the client
 * library's code: 2002/2003 no server, 1045 access denied) otherwise. */
static MYSQL *sink_mysql__connect(sink_mysql_factory_t *f, bson_error_t *error)
{
  MYSQL *m = mysql_init(NULL);
  if (!m) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return NULL;
  }
  unsigned timeout = f->timeout_s;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (f->socket) {
    unsigned proto = MYSQL_PROTOCOL_SOCKET;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
  } else if (f->host && strcmp(f->host, "localhost") != 0) {
    unsigned proto = MYSQL_PROTOCOL_TCP;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
  }
  if (!mysql_real_connect(m, f->host ? f->host : "localhost", f->user,
                          f->password, NULL, f->port, f->socket, 0)) {
    sink_mysql__error(m, NULL, error);
    mysql_close(m);
    return NULL;
  }
  if (!sink_mysql__exec(m,
                        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,"
                        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
                        "sql_mode", error))
    goto out_fail;
  if (mysql_select_db(m, f->db) != 0) {
    if (mysql_errno(m) != ER_BAD_DB_ERROR) {
      sink_mysql__error(m, f->db, error);
      goto out_fail;
    }
    sql_buf_t q = {0};
    bool mem = sql_buf_addz(&q, "CREATE DATABASE IF NOT EXISTS ") &&
               sql_buf_ident(&q, f->db, '`') &&
               sql_buf_addz(&q, " CHARACTER SET utf8mb4");
    bool ok = mem && sink_mysql__exec(m, q.s, f->db, error);
    sql_buf_free(&q);
    if (!mem)
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    if (!ok)
      goto out_fail;
    if (mysql_select_db(m, f->db) != 0) {
      sink_mysql__error(m, f->db, error);
      goto out_fail;
    }
  }
  return m;

out_fail:
  mysql_close(m);
  return NULL;
}

static bool sink_mysql__factory_check(void *state, bson_error_t *error)
{
  MYSQL *m = sink_mysql__connect(state, error);
  mysql_close(m);
  return m != NULL;
}

static const char *sink_mysql__factory_db(const void *state)
{
  return ((const sink_mysql_factory_t *)state)->db;
}

/* Starts a transaction, after creating _loader_progress if this sink has not
 * seen it yet (CREATE TABLE commits an open transaction, so never inside
 * one). */
static bool sink_mysql__begin(void *sink, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  if (!s->have_progress) {
    sql_buf_t q = {0};
    bool mem = sql_progress_create_stmt(&q, &sink_mysql__dialect);
    bool ok = mem && sink_mysql__exec(s->conn, q.s, SQL_PROGRESS_TABLE, error);
    sql_buf_free(&q);
    if (!mem)
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    if (!ok)
      return false;
    s->have_progress = true;
  }
  if (!sink_mysql__exec(s->conn, "START TRANSACTION", s->table, error))
    return false;
  s->in_txn = true;
  return true;
}

/* Ends the open transaction, with COMMIT when commit is true, else (or when
 * the COMMIT failed) with ROLLBACK. Returns false and fills error when the
 * COMMIT failed. */
static bool sink_mysql__end(void *sink, bool commit, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  bool ok = !commit || mysql_commit(s->conn) == 0;
  if (!ok)
    sink_mysql__error(s->conn, s->table, error);
  if (!commit || !ok)
    mysql_rollback(s->conn);
  s->in_txn = false;
  return ok;
}

static void sink_mysql__forget_statements(sink_mysql_t *s)
{
  if (s->multi)
    mysql_stmt_close(s->multi);
  if (s->single)
    mysql_stmt_close(s->single);
  s->multi = s->single = NULL;
  s->multi_rows = 0;
}

static void sink_mysql__close(void *sink)
{
  sink_mysql_t *s = sink;
  if (!s)
    return;
  if (s->in_txn)
    sink_mysql__end(s, false, NULL);
  sink_mysql__forget_statements(s);
  if (s->mark_store)
    mysql_stmt_close(s->mark_store);
  mysql_close(s->conn);
  free(s->table);
  sql_buf_free(&s->qtable);
  sql_table_clear(&s->cols);
  sql_docs_cleanup(&s->docs);
  free(s->binds);
  sql_rows_free(&s->rows);
  free(s);
}

static void *sink_mysql__open(void *state, const char *collection,
                              bson_error_t *error)
{
  if (!sql_table_name_check(&sink_mysql__dialect, collection, error))
    return NULL;
  sink_mysql_t *s = calloc(1, sizeof *s);
  if (!s || !(s->table = strdup(collection)) ||
      !sql_buf_ident(&s->qtable, collection, sink_mysql__dialect.quote)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    sink_mysql__close(s);
    return NULL;
  }
  s->f = state;
  s->conn = sink_mysql__connect(s->f, error);
  if (!s->conn) {
    sink_mysql__close(s);
    return NULL;
  }
  return s;
}

/* Runs "<prefix> `table`<suffix>"; *missing tells a table that does not
 * exist (1146) from other errors. Returns the result set, if any, in *res. */
static bool sink_mysql__table_query(sink_mysql_t *s, const char *prefix,
                                    const char *suffix, MYSQL_RES **res,
                                    bool *missing, bson_error_t *error)
{
  sql_buf_t q = {0};
  *missing = false;
  if (res)
    *res = NULL;
  if (!sql_buf_addz(&q, prefix) || !sql_buf_addz(&q, s->qtable.s) ||
      !sql_buf_addz(&q, suffix)) {
    sql_buf_free(&q);
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  int rc = mysql_real_query(s->conn, q.s, q.len);
  sql_buf_free(&q);
  if (rc != 0) {
    if (mysql_errno(s->conn) == ER_NO_SUCH_TABLE) {
      *missing = true;
      return true;
    }
    sink_mysql__error(s->conn, s->table, error);
    return false;
  }
  MYSQL_RES *r = mysql_store_result(s->conn);
  if (!r && mysql_field_count(s->conn) != 0) {
    sink_mysql__error(s->conn, s->table, error);
    return false;
  }
  if (res)
    *res = r;
  else
    mysql_free_result(r);
  return true;
}

static bool sink_mysql__count(void *sink, int64_t *count, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  MYSQL_RES *res;
  bool missing;
  *count = 0;
  if (!sink_mysql__table_query(s, "SELECT COUNT(*) FROM ", "", &res, &missing,
                               error))
    return false;
  if (missing)
    return true;
  MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
  if (row && row[0])
    *count = strtoll(row[0], NULL, 10);
  mysql_free_result(res);
  return true;
}

static bool sink_mysql__drop(void *sink, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  bool missing;
  if (s->in_txn) {
    sql_uncommitted_error(&sink_mysql__dialect, s->table, "drop", error);
    return false;
  }
  sink_mysql__forget_statements(s);
  sql_table_clear(&s->cols);
  s->have_cols = false;
  return sink_mysql__table_query(s, "DROP TABLE IF EXISTS ", "", NULL, &missing,
                                 error);
}

/* The class the loader checks values against, from a column's type as SHOW
 * COLUMNS gives it ("bigint(20)", "varchar(10)", ...). Types the loader does
 * not know (DECIMAL, DATE, ...) take values as they are and the server
 * converts or refuses them. */
static sql_class_t sink_mysql__class(const char *type)
{
  static const struct {
    const char *prefix;
    sql_class_t cls;
  } map[] = {
      {"tinyint", SQL_INTEGER},   {"smallint", SQL_INTEGER},
      {"mediumint", SQL_INTEGER}, {"int", SQL_INTEGER},
      {"bigint", SQL_INTEGER},    {"bit", SQL_INTEGER},
      {"bool", SQL_INTEGER},      {"float", SQL_REAL},
      {"double", SQL_REAL},       {"real", SQL_REAL},
      {"char", SQL_TEXT},         {"varchar", SQL_TEXT},
      {"tinytext", SQL_TEXT},     {"text", SQL_TEXT},
      {"mediumtext", SQL_TEXT},   {"longtext", SQL_TEXT},
      {"enum", SQL_TEXT},         {"set", SQL_TEXT},
      {"binary", SQL_BLOB},       {"varbinary", SQL_BLOB},
      {"tinyblob", SQL_BLOB},     {"blob", SQL_BLOB},
      {"mediumblob", SQL_BLOB},   {"longblob", SQL_BLOB},
  };
  size_t len = strcspn(type, "( ");
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strlen(map[i].prefix) == len &&
        strncasecmp(type, map[i].prefix, len) == 0)
      return map[i].cls;
  return SQL_ANY;
}

/* Loads the table's columns into s->cols; none when it does not exist. */
static bool sink_mysql__load_columns(sink_mysql_t *s, bson_error_t *error)
{
  sql_table_clear(&s->cols);
  MYSQL_RES *res;
  bool missing;
  if (!sink_mysql__table_query(s, "SHOW COLUMNS FROM ", "", &res, &missing,
                               error))
    return false;
  if (missing)
    return true;
  MYSQL_ROW row;
  bool ok = true;
  while (ok && res && (row = mysql_fetch_row(res)))
    ok = sql_table_add(&s->cols, row[0] ? row[0] : "",
                       sink_mysql__class(row[1] ? row[1] : ""));
  mysql_free_result(res);
  if (!ok)
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return ok;
}

/* Makes sure the table exists, creating it from the batch's documents, and
 * that the batch's fields are its columns. */
static bool sink_mysql__ensure_table(sink_mysql_t *s, bson_error_t *error)
{
  bool ok = false;
  sql_buf_t q = {0};
  if (!sink_mysql__load_columns(s, error))
    goto out;
  if (s->cols.n == 0) {
    if (!sql_create_stmt(&q, &sink_mysql__dialect, s->table, s->qtable.s,
                         &s->docs, error))
      goto out;
    char what[300];
    snprintf(what, sizeof what, "cannot create table %.200s", s->table);
    if (!sink_mysql__exec(s->conn, q.s, what, error) ||
        !sink_mysql__load_columns(s, error))
      goto out;
  }
  if (!sql_table_check(&s->cols, &s->docs, s->table, error))
    goto out;
  s->have_cols = true;
  ok = true;
out:
  sql_buf_free(&q);
  return ok;
}

/* Prepares INSERT INTO table (cols) VALUES (?, ...) x rows. */
static MYSQL_STMT *sink_mysql__prepare(sink_mysql_t *s, size_t rows,
                                       bson_error_t *error)
{
  sql_buf_t q = {0};
  bool mem =
      sql_insert_stmt(&q, &sink_mysql__dialect, s->qtable.s, &s->cols, rows);
  MYSQL_STMT *st = mem ? mysql_stmt_init(s->conn) : NULL;
  if (!st) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  } else if (mysql_stmt_prepare(st, q.s, q.len) != 0) {
    sink_mysql__stmt_error(st, s->table, error);
    mysql_stmt_close(st);
    st = NULL;
  }
  sql_buf_free(&q);
  return st;
}

/* Binds the n values at vals to st's parameters, in order. */
static bool sink_mysql__bind(sink_mysql_t *s, MYSQL_STMT *st,
                             const sql_value_t *vals, size_t n,
                             bson_error_t *error)
{
  if (n > s->binds_cap) {
    MYSQL_BIND *b = realloc(s->binds, n * sizeof *b);
    if (!b) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return false;
    }
    s->binds = b;
    s->binds_cap = n;
  }
  memset(s->binds, 0, n * sizeof *s->binds);
  for (size_t i = 0; i < n; i++) {
    const sql_value_t *v = &vals[i];
    MYSQL_BIND *b = &s->binds[i];
    switch (v->kind) {
    case SQLV_NULL:
      b->buffer_type = MYSQL_TYPE_NULL;
      break;
    case SQLV_INT:
      b->buffer_type = MYSQL_TYPE_LONGLONG;
      b->buffer = (void *)&v->i;
      break;
    case SQLV_DOUBLE:
      b->buffer_type = MYSQL_TYPE_DOUBLE;
      b->buffer = (void *)&v->d;
      break;
    case SQLV_TEXT:
    case SQLV_BLOB:
      b->buffer_type =
          v->kind == SQLV_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
      b->buffer = (void *)v->p;
      b->buffer_length = (unsigned long)v->len;
      break;
    }
  }
  if (mysql_stmt_bind_param(st, s->binds) != 0) {
    sink_mysql__stmt_error(st, s->table, error);
    return false;
  }
  return true;
}

/* Binds rows [first, first + rows) of s->rows.vals to st. */
static bool sink_mysql__bind_rows(sink_mysql_t *s, MYSQL_STMT *st, size_t first,
                                  size_t rows, bson_error_t *error)
{
  return sink_mysql__bind(s, st, &s->rows.vals[first * s->cols.n],
                          rows * s->cols.n, error);
}

/* Returns true when a statement that failed with code failed because of
 * its rows' values (so the rows are worth trying one by one), as opposed to
 * the table, the connection or the transaction. */
static bool sink_mysql__row_error(unsigned code)
{
  switch (code) {
  case ER_DUP_ENTRY:                       /* 1062 */
  case ER_BAD_NULL_ERROR:                  /* 1048 */
  case ER_NO_DEFAULT_FOR_FIELD:            /* 1364 */
  case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: /* 1366 */
  case ER_TRUNCATED_WRONG_VALUE:           /* 1292 */
  case ER_WARN_DATA_OUT_OF_RANGE:          /* 1264 */
  case ER_DATA_TOO_LONG:                   /* 1406 */
  case WARN_DATA_TRUNCATED:                /* 1265 */
  case ER_NO_REFERENCED_ROW:               /* 1216 */
  case ER_NO_REFERENCED_ROW_2:             /* 1452 */
  case ER_DUP_UNIQUE:                      /* 1169 */
  case ER_INVALID_CHARACTER_STRING:        /* 1300 */
  case ER_DATA_OUT_OF_RANGE:               /* 1690 */
  case ER_CONSTRAINT_FAILED:               /* 4025, MariaDB CHECK */
  case 3819:                               /* MySQL CHECK */
    return true;
  default:
    return false;
  }
}

/* Returns true for errors after which the transaction is worth retrying. */
static bool sink_mysql__retry_error(unsigned code)
{
  return code == ER_LOCK_DEADLOCK || code == ER_LOCK_WAIT_TIMEOUT;
}

/* How a transaction attempt ended. */
typedef enum sink_mysql_outcome {
  SINK_MYSQL_DONE,  /* done, the transaction left open for the commit */
  SINK_MYSQL_RETRY, /* rolled back by a deadlock: try again */
  SINK_MYSQL_FAIL,  /* failed: error says why */
} sink_mysql_outcome_t;

/* Inserts rows [first, first + rows) one at a time: row errors become
 * per-document errors. Call in the transaction. */
static sink_mysql_outcome_t sink_mysql__insert_each(sink_mysql_t *s,
                                                    size_t first, size_t rows,
                                                    uint64_t *landed,
                                                    sink_write_result_t *result,
                                                    bson_error_t *error)
{
  if (!s->single && !(s->single = sink_mysql__prepare(s, 1, error)))
    return SINK_MYSQL_FAIL;
  for (size_t r = first; r < first + rows; r++) {
    if (!sink_mysql__bind_rows(s, s->single, r, 1, error))
      return SINK_MYSQL_FAIL;
    if (mysql_stmt_execute(s->single) == 0) {
      (*landed)++;
      continue;
    }
    unsigned code = mysql_stmt_errno(s->single);
    if (sink_mysql__retry_error(code)) {
      sink_mysql__stmt_error(s->single, s->table, error);
      return SINK_MYSQL_RETRY;
    }
    if (!sink_mysql__row_error(code)) {
      sink_mysql__stmt_error(s->single, s->table, error);
      return SINK_MYSQL_FAIL;
    }
    if (!sink_result_add_error(result, s->rows.good[r], (int32_t)code,
                               mysql_stmt_error(s->single))) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
      return SINK_MYSQL_FAIL;
    }
  }
  return SINK_MYSQL_DONE;
}

/* Returns how many rows from first fit in one statement. */
static size_t sink_mysql__chunk(const sink_mysql_t *s, size_t first,
                                size_t rows)
{
  size_t ncols = s->cols.n;
  size_t per = SINK_MYSQL_MAX_PARAMS / ncols;
  if (per > SINK_MYSQL_MAX_ROWS)
    per = SINK_MYSQL_MAX_ROWS;
  size_t k = 0, bytes = 0;
  while (first + k < rows && k < per) {
    size_t row_bytes = 0;
    for (size_t c = 0; c < ncols; c++)
      row_bytes += s->rows.vals[(first + k) * ncols + c].len + 9;
    if (k > 0 && bytes + row_bytes > SINK_MYSQL_MAX_BYTES)
      break;
    bytes += row_bytes;
    k++;
  }
  return k;
}

/* One attempt at the batch's transaction; when it is done, the transaction
 * is left open. */
static sink_mysql_outcome_t sink_mysql__attempt(sink_mysql_t *s, size_t rows,
                                                uint64_t *landed,
                                                sink_write_result_t *result,
                                                bson_error_t *error)
{
  *landed = 0;
  if (!sink_mysql__begin(s, error))
    return SINK_MYSQL_FAIL;
  sink_mysql_outcome_t out = SINK_MYSQL_FAIL;
  for (size_t first = 0; first < rows;) {
    size_t k = sink_mysql__chunk(s, first, rows);
    if (k != s->multi_rows) {
      if (s->multi)
        mysql_stmt_close(s->multi);
      s->multi_rows = 0;
      if (!(s->multi = sink_mysql__prepare(s, k, error)))
        goto out_rollback;
      s->multi_rows = k;
    }
    if (!sink_mysql__bind_rows(s, s->multi, first, k, error))
      goto out_rollback;
    if (mysql_stmt_execute(s->multi) == 0) {
      *landed += k;
    } else {
      unsigned code = mysql_stmt_errno(s->multi);
      if (sink_mysql__retry_error(code)) {
        sink_mysql__stmt_error(s->multi, s->table, error);
        out = SINK_MYSQL_RETRY;
        goto out_rollback;
      }
      if (!sink_mysql__row_error(code)) {
        sink_mysql__stmt_error(s->multi, s->table, error);
        goto out_rollback;
      }
      /* The statement was undone as a whole; find the rows at fault. */
      out = sink_mysql__insert_each(s, first, k, landed, result, error);
      if (out != SINK_MYSQL_DONE)
        goto out_rollback;
      out = SINK_MYSQL_FAIL;
    }
    first += k;
  }
  return SINK_MYSQL_DONE;

out_rollback:
  sink_mysql__end(s, false, NULL);
  *landed = 0;
  return out;
}

static bool sink_mysql__write(void *sink, const batch_t *batch,
                              sink_write_result_t *result, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  if (s->in_txn) {
    sql_uncommitted_error(&sink_mysql__dialect, s->table, "write", error);
    sink_mysql__end(s, false, NULL);
    return false;
  }
  if (!sql_docs_split(&s->docs, batch, error))
    return false;
  if (!s->have_cols && !sink_mysql__ensure_table(s, error))
    return false;
  if (!sql_rows_build(&s->rows, &s->cols, &s->docs,
                      ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, result, error))
    return false;
  size_t rows = s->rows.n;
  if (rows == 0)
    return true;
  size_t kept = result->n_errors; /* the loader's own refusals */
  for (int attempt = 1;; attempt++) {
    uint64_t landed;
    sink_mysql_outcome_t out =
        sink_mysql__attempt(s, rows, &landed, result, error);
    if (out == SINK_MYSQL_DONE) {
      result->inserted = landed; /* they land when committed */
      return true;
    }
    if (out == SINK_MYSQL_FAIL || attempt == SINK_MYSQL_ATTEMPTS)
      return false;
    result->n_errors = kept;
  }
}

/* Stores mark under key in _loader_progress. Call in the transaction. */
static bool sink_mysql__store_mark(void *sink, const char *key,
                                   const mark_t *mark, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  if (!s->mark_store) {
    sql_buf_t q = {0};
    bool mem = sql_progress_store_stmt(&q, &sink_mysql__dialect);
    MYSQL_STMT *st = mem ? mysql_stmt_init(s->conn) : NULL;
    if (!st) {
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    } else if (mysql_stmt_prepare(st, q.s, q.len) != 0) {
      sink_mysql__stmt_error(st, SQL_PROGRESS_TABLE, error);
      mysql_stmt_close(st);
      st = NULL;
    }
    sql_buf_free(&q);
    if (!(s->mark_store = st))
      return false;
  }
  sql_value_t vals[1 + SQL_MARK_INTS];
  sql_mark_values(vals, key, mark);
  if (!sink_mysql__bind(s, s->mark_store, vals, 1 + SQL_MARK_INTS, error))
    return false;
  if (mysql_stmt_execute(s->mark_store) != 0) {
    sink_mysql__stmt_error(s->mark_store, SQL_PROGRESS_TABLE, error);
    return false;
  }
  return true;
}

static bool sink_mysql__commit(void *sink, const char *key, const mark_t *mark,
                               bson_error_t *error)
{
  static const sql_txn_ops_t ops = {
      .d = &sink_mysql__dialect,
      .begin = sink_mysql__begin,
      .store_mark = sink_mysql__store_mark,
      .end = sink_mysql__end,
  };
  return sql_commit(&ops, sink, ((sink_mysql_t *)sink)->in_txn, key, mark,
                    error);
}

static bool sink_mysql__mark_get(void *sink, const char *key, mark_t *mark,
                                 bool *found, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  sql_buf_t q = {0};
  MYSQL_STMT *st = NULL;
  bool ok = false;
  *found = false;
  if (!sql_progress_select_stmt(&q, &sink_mysql__dialect) ||
      !(st = mysql_stmt_init(s->conn))) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  if (mysql_stmt_prepare(st, q.s, q.len) != 0) {
    ok = mysql_stmt_errno(st) == ER_NO_SUCH_TABLE;
    if (!ok)
      sink_mysql__stmt_error(st, SQL_PROGRESS_TABLE, error);
    goto out;
  }
  sql_value_t kv = {.kind = SQLV_TEXT, .p = key, .len = strlen(key)};
  int64_t ints[SQL_MARK_INTS];
  MYSQL_BIND res[SQL_MARK_INTS];
  memset(res, 0, sizeof res);
  for (size_t i = 0; i < SQL_MARK_INTS; i++) {
    res[i].buffer_type = MYSQL_TYPE_LONGLONG;
    res[i].buffer = &ints[i];
  }
  if (!sink_mysql__bind(s, st, &kv, 1, error))
    goto out;
  if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, res) != 0) {
    sink_mysql__stmt_error(st, SQL_PROGRESS_TABLE, error);
    goto out;
  }
  int rc = mysql_stmt_fetch(st);
  if (rc == 0) {
    sql_mark_from_ints(mark, ints);
    *found = true;
  } else if (rc != MYSQL_NO_DATA) {
    sink_mysql__stmt_error(st, SQL_PROGRESS_TABLE, error);
    goto out;
  }
  ok = true;
out:
  if (st)
    mysql_stmt_close(st);
  sql_buf_free(&q);
  return ok;
}

const sink_ops_t sink_mysql_ops = {
    .name = "mysql",
    .factory_new = sink_mysql__factory_new,
    .factory_check = sink_mysql__factory_check,
    .factory_db = sink_mysql__factory_db,
    .factory_destroy = sink_mysql__factory_destroy,
    .open = sink_mysql__open,
    .count = sink_mysql__count,
    .drop = sink_mysql__drop,
    .write = sink_mysql__write,
    .commit = sink_mysql__commit,
    .mark_get = sink_mysql__mark_get,
    .close = sink_mysql__close,
};
