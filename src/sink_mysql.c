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
#include "sink_mysql_impl.h"
#include "sink_sql.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

typedef struct sink_mysql {
  sql_sink_t base;         /* what every SQL sink holds (first) */
  sink_mysql_factory_t *f; /* where it came from */
  MYSQL *conn;             /* this sink's own connection */
  MYSQL_STMT *mark_store;  /* cached REPLACE INTO _loader_progress */
  bool have_progress;      /* _loader_progress is known to exist */
  MYSQL_BIND *binds;       /* parameters of a statement */
  size_t binds_cap;        /* allocated entries of binds */
  sink_mysql_bulk_t bulk;  /* LOAD DATA LOCAL from memory (its handler's
                              data: the sink stays where it is) */
} sink_mysql_t;

/* The sink whose sql_sink_t is b. */
static sink_mysql_t *sink_mysql__of(const sql_sink_t *b)
{
  return (sink_mysql_t *)b;
}

static void sink_mysql__stmt_error(MYSQL_STMT *st, const char *what,
                                   bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, mysql_stmt_errno(st),
                 "mysql: %s: %s", what, mysql_stmt_error(st));
}

static bool sink_mysql__exec(sql_sink_t *b, const char *sql, const char *what,
                             bson_error_t *error)
{
  return sink_mysql_exec(sink_mysql__of(b)->conn, sql, what, error);
}

/* Starts a transaction, after creating _loader_progress if this sink has not
 * seen it yet (CREATE TABLE commits an open transaction, so never inside
 * one). */
static bool sink_mysql__begin(sql_sink_t *b, bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  if (!s->have_progress) {
    sql_buf_t q = {0};
    bool mem = sql_progress_create_stmt(&q, &sink_mysql__dialect);
    bool ok = mem && sink_mysql_exec(s->conn, q.s, SQL_PROGRESS_TABLE, error);
    sql_buf_free(&q);
    if (!mem)
      bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    if (!ok)
      return false;
    s->have_progress = true;
  }
  if (!sink_mysql_exec(s->conn, "START TRANSACTION", s->base.table, error))
    return false;
  s->base.in_txn = true;
  return true;
}

/* Ends the open transaction, with COMMIT when commit is true, else (or when
 * the COMMIT failed) with ROLLBACK. Returns false and fills error when the
 * COMMIT failed. */
static bool sink_mysql__end(sql_sink_t *b, bool commit, bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  bool ok = !commit || mysql_commit(s->conn) == 0;
  if (!ok)
    sink_mysql_error(s->conn, s->base.table, error);
  if (!commit || !ok)
    mysql_rollback(s->conn);
  s->base.in_txn = false;
  return ok;
}

static void sink_mysql__close(void *sink)
{
  sink_mysql_t *s = sink;
  if (!s)
    return;
  sql_sink_cleanup(&s->base);
  if (s->mark_store)
    mysql_stmt_close(s->mark_store);
  mysql_close(s->conn);
  sink_mysql_bulk_free(&s->bulk);
  free(s->binds);
  free(s);
}

static const sql_driver_t sink_mysql__driver;

static void *sink_mysql__open(void *state, const char *collection,
                              bson_error_t *error)
{
  sink_mysql_t *s =
      sql_sink_new(sizeof *s, &sink_mysql__driver, collection, error);
  if (!s)
    return NULL;
  s->f = state;
  if (!(s->conn = sink_mysql_connect(s->f, error))) {
    sink_mysql__close(s);
    return NULL;
  }
  sink_mysql_bulk_attach(s->conn, &s->bulk);
  return s;
}

/* Runs "<prefix>`table`" into *res: its result set, or NULL when there is
 * none or the table does not exist (1146). */
static bool sink_mysql__table_query(sink_mysql_t *s, const char *prefix,
                                    MYSQL_RES **res, bson_error_t *error)
{
  sql_buf_t q = {0};
  *res = NULL;
  if (!sql_buf_addz(&q, prefix) || !sql_buf_addz(&q, s->base.qtable.s)) {
    sql_buf_free(&q);
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  int rc = mysql_real_query(s->conn, q.s, q.len);
  sql_buf_free(&q);
  if (rc != 0) {
    if (mysql_errno(s->conn) == ER_NO_SUCH_TABLE)
      return true;
    sink_mysql_error(s->conn, s->base.table, error);
    return false;
  }
  *res = mysql_store_result(s->conn);
  if (!*res && mysql_field_count(s->conn) != 0) {
    sink_mysql_error(s->conn, s->base.table, error);
    return false;
  }
  return true;
}

static bool sink_mysql__count(void *sink, int64_t *count, bson_error_t *error)
{
  MYSQL_RES *res;
  *count = 0;
  if (!sink_mysql__table_query(sink, "SELECT COUNT(*) FROM ", &res, error))
    return false;
  MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
  if (row && row[0])
    *count = strtoll(row[0], NULL, 10);
  mysql_free_result(res);
  return true;
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

/* Loads the table's columns into b->cols; none when it does not exist. */
static bool sink_mysql__load_columns(sql_sink_t *b, bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  sql_table_clear(&s->base.cols);
  MYSQL_RES *res;
  if (!sink_mysql__table_query(s, "SHOW COLUMNS FROM ", &res, error))
    return false;
  MYSQL_ROW row;
  bool ok = true;
  s->bulk.cols_ok = true;
  while (ok && res && (row = mysql_fetch_row(res))) {
    const char *type = row[1] ? row[1] : "";
    sql_class_t cls = sink_mysql__class(type);
    ok = sql_table_add(&s->base.cols, row[0] ? row[0] : "", cls);
    s->bulk.cols_ok = s->bulk.cols_ok && sink_mysql_bulk_type(type, cls);
  }
  mysql_free_result(res);
  if (!ok)
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return ok;
}

/* Prepares INSERT INTO table (cols) VALUES (?, ...) x rows. */
static void *sink_mysql__prepare(sql_sink_t *b, size_t rows,
                                 bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  sql_buf_t q = {0};
  bool mem = sql_insert_stmt(&q, &sink_mysql__dialect, s->base.qtable.s,
                             &s->base.cols, rows);
  MYSQL_STMT *st = mem ? mysql_stmt_init(s->conn) : NULL;
  if (!st) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  } else if (mysql_stmt_prepare(st, q.s, q.len) != 0) {
    sink_mysql__stmt_error(st, s->base.table, error);
    mysql_stmt_close(st);
    st = NULL;
  }
  sql_buf_free(&q);
  return st;
}

static void sink_mysql__finalize(void *stmt)
{
  mysql_stmt_close(stmt);
}

/* Binds the n values at vals to st's parameters, in order. */
static bool sink_mysql__bind(sink_mysql_t *s, MYSQL_STMT *st,
                             const sql_value_t *vals, size_t n,
                             bson_error_t *error)
{
  if (!sql_grow_exact(&s->binds, &s->binds_cap, n, sizeof *s->binds)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
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
    sink_mysql__stmt_error(st, s->base.table, error);
    return false;
  }
  return true;
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

/* Returns how many rows from first fit in one statement. */
static size_t sink_mysql__chunk(const sql_sink_t *b, size_t first)
{
  const sink_mysql_t *s = sink_mysql__of(b);
  size_t rows = b->rows.n;
  size_t ncols = s->base.cols.n;
  size_t per = SINK_MYSQL_MAX_PARAMS / ncols;
  if (per > SINK_MYSQL_MAX_ROWS)
    per = SINK_MYSQL_MAX_ROWS;
  size_t k = 0, bytes = 0;
  while (first + k < rows && k < per) {
    size_t row_bytes = 0;
    for (size_t c = 0; c < ncols; c++)
      row_bytes += s->base.rows.vals[(first + k) * ncols + c].len + 9;
    if (k > 0 && bytes + row_bytes > SINK_MYSQL_MAX_BYTES)
      break;
    bytes += row_bytes;
    k++;
  }
  return k;
}

/* A deadlock or a lock wait timeout retries the transaction; an error that
 * belongs to a row refuses it; any other fails the batch. */
static sql_step_t sink_mysql__run(sql_sink_t *b, void *stmt, size_t first,
                                  size_t k, sql_refusal_t *why,
                                  bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  MYSQL_STMT *st = stmt;
  if (!sink_mysql__bind(s, st, &b->rows.vals[first * b->cols.n], k * b->cols.n,
                        error))
    return SQL_STEP_FAIL;
  if (mysql_stmt_execute(st) == 0)
    return SQL_STEP_OK;
  unsigned code = mysql_stmt_errno(st);
  if (sink_mysql__row_error(code)) {
    why->code = (int32_t)code;
    snprintf(why->message, sizeof why->message, "%s", mysql_stmt_error(st));
    return SQL_STEP_ROW;
  }
  sink_mysql__stmt_error(st, b->table, error);
  return sink_mysql__retry_error(code) ? SQL_STEP_RETRY : SQL_STEP_FAIL;
}

/* The batch's rows in one LOAD DATA LOCAL INFILE (see sink_mysql_bulk.c),
 * when the table's columns allow it and the server has not refused it. A
 * load that is not clean (a row skipped or changed) is SQL_STEP_ROW: the
 * caller rolls it back and takes the INSERTs. A server that refuses LOCAL
 * INFILE, or any error that is not a retry, turns the bulk path off for
 * this sink (the INSERTs then say what is wrong, if anything is). */
static sql_step_t sink_mysql__bulk(sql_sink_t *b, bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  if (s->bulk.off || !s->bulk.cols_ok)
    return SQL_STEP_ROW;
  int rc = sink_mysql_bulk_load(s->conn, &s->bulk, b, error);
  if (rc == 0)
    return SQL_STEP_OK;
  if (rc == -2)
    return SQL_STEP_FAIL;
  if (rc > 0 && sink_mysql__retry_error((unsigned)rc))
    return SQL_STEP_RETRY;
  if (rc > 0 && !sink_mysql__row_error((unsigned)rc))
    s->bulk.off = true;
  return SQL_STEP_ROW;
}

/* The batch's rows rendered for sink_mysql__bulk() as soon as they are
 * made (ahead of the write when it is prepared), when the bulk path may
 * take them. */
static bool sink_mysql__bulk_prepare(sql_sink_t *b, bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
  s->bulk.rendered = 0;
  if (s->bulk.off || !s->bulk.cols_ok || b->rows.n == 0)
    return true;
  return sink_mysql_bulk_render(&s->bulk, b, error);
}

/* Stores mark under key in _loader_progress. Call in the transaction. */
static bool sink_mysql__store_mark(sql_sink_t *b, const char *key,
                                   const mark_t *mark, bson_error_t *error)
{
  sink_mysql_t *s = sink_mysql__of(b);
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

/* --index: runs a query and hands each row over as text. */
static bool sink_mysql__query(sql_sink_t *b, const char *sql,
                              sql_text_row_fn row, void *ctx,
                              bson_error_t *error)
{
  MYSQL *m = sink_mysql__of(b)->conn;
  if (mysql_query(m, sql) != 0) {
    sink_mysql_error(m, b->table, error);
    return false;
  }
  MYSQL_RES *res = mysql_store_result(m);
  if (!res && mysql_errno(m)) {
    sink_mysql_error(m, b->table, error);
    return false;
  }
  size_t n = res ? mysql_num_fields(res) : 0;
  MYSQL_ROW r;
  while (res && (r = mysql_fetch_row(res)))
    if (!row(ctx, (const char *const *)r, n))
      break;
  mysql_free_result(res);
  return true;
}

/* Longest index key InnoDB takes, in characters of utf8mb4 (3072 bytes). */
#define SINK_MYSQL_KEY_CHARS 768

/* --index: a text or blob column is indexed by a prefix (MySQL needs a
 * length), its share of InnoDB's longest key. */
static bool sink_mysql__index_key(sql_sink_t *b, const char *column,
                                  size_t n_keys, sql_buf_t *q,
                                  bson_error_t *error)
{
  MYSQL_RES *res;
  MYSQL_ROW row;
  bool prefix = false;
  if (!sink_mysql__table_query(sink_mysql__of(b), "SHOW COLUMNS FROM ", &res,
                               error))
    return false;
  while (res && (row = mysql_fetch_row(res)))
    if (row[0] && strcmp(row[0], column) == 0 && row[1])
      prefix = strstr(row[1], "text") || strstr(row[1], "blob");
  mysql_free_result(res);
  char len[32];
  snprintf(len, sizeof len, "(%zu)", SINK_MYSQL_KEY_CHARS / n_keys);
  if (!sql_buf_ident(q, column, '`') || (prefix && !sql_buf_addz(q, len))) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  return true;
}

static const sql_driver_t sink_mysql__driver = {
    .d = &sink_mysql__dialect,
    .mismatch = ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
    .attempts = SINK_MYSQL_ATTEMPTS,
    .exec = sink_mysql__exec,
    .load_columns = sink_mysql__load_columns,
    .prepare = sink_mysql__prepare,
    .finalize = sink_mysql__finalize,
    .chunk = sink_mysql__chunk,
    .run = sink_mysql__run,
    .bulk = sink_mysql__bulk,
    .bulk_prepare = sink_mysql__bulk_prepare,
    .begin = sink_mysql__begin,
    .store_mark = sink_mysql__store_mark,
    .end = sink_mysql__end,
    .query = sink_mysql__query,
    .index_key = sink_mysql__index_key,
    .index_list = "SHOW INDEX FROM ",
    .index_list_end = "",
    .index_list_name = 2,
    .duplicate = ER_DUP_ENTRY,
};

/* --verify: one value the server returned as text, taken by its column's
 * class (a column the loader does not check: an integer, a number or
 * bytes, whichever reads it whole). */
static void sink_mysql__canon_text(const sink_feed_t *feed, sql_class_t cls,
                                   const char *v, size_t len)
{
  char num[64], *end;
  bool short_num = len > 0 && len < sizeof num;
  if (short_num) {
    memcpy(num, v, len);
    num[len] = '\0';
  }
  if (cls == SQL_INTEGER || (cls == SQL_ANY && short_num)) {
    long long i = short_num ? strtoll(num, &end, 10) : 0;
    if (short_num && *end == '\0') {
      sql_canon_put(feed, cls, SQLV_INT, i, 0, NULL, 0);
      return;
    }
  }
  if (cls == SQL_REAL || (cls == SQL_ANY && short_num)) {
    double d = short_num ? strtod(num, &end) : 0;
    if (short_num && *end == '\0') {
      sql_canon_put(feed, cls, SQLV_DOUBLE, 0, d, NULL, 0);
      return;
    }
  }
  sql_canon_put(feed, cls, SQLV_TEXT, 0, 0, v, len);
}

/* --verify: every row of the table, streamed (mysql_use_result), value by
 * value in canonical form, named by its first values; all in part 0. */
static bool sink_mysql__scan(void *sink, unsigned part, unsigned parts,
                             const sink_feed_t *feed, bson_error_t *error)
{
  sink_mysql_t *s = sink;
  (void)parts;
  if (part > 0)
    return true; /* a table without a key to split by: all in part 0 */
  const sql_table_t *t = &s->base.cols;
  sql_buf_t q = {0};
  MYSQL_RES *res = NULL;
  bool ok = false;
  if (!sql_scan_stmt(&s->base, "", &q, error))
    goto out;
  if (!q.len) {
    ok = true; /* no table */
    goto out;
  }
  if (mysql_real_query(s->conn, q.s, q.len) != 0 ||
      !(res = mysql_use_result(s->conn))) {
    sink_mysql_error(s->conn, s->base.table, error);
    goto out;
  }
  MYSQL_ROW row;
  bool go_on = true;
  while (go_on && (row = mysql_fetch_row(res))) {
    unsigned long *lens = mysql_fetch_lengths(res);
    char label[160] = "";
    size_t at = 0;
    for (size_t c = 0; c < t->n; c++) {
      sql_class_t cls = t->cols[c].cls;
      if (!row[c])
        sql_canon_put(feed, cls, SQLV_NULL, 0, 0, NULL, 0);
      else if (cls == SQL_TEXT || cls == SQL_BLOB)
        sql_canon_put(feed, cls, SQLV_TEXT, 0, 0, row[c], lens[c]);
      else
        sink_mysql__canon_text(feed, cls, row[c], lens[c]);
      if (feed->want_labels && c < 3 && at < sizeof label)
        at += (size_t)snprintf(label + at, sizeof label - at, "%s%s=%.*s",
                               c ? ", " : "row ", t->cols[c].name,
                               row[c] ? (int)(lens[c] > 30 ? 30 : lens[c]) : 4,
                               row[c] ? row[c] : "NULL");
    }
    go_on = feed->end(feed->ctx, label);
  }
  if (go_on && mysql_errno(s->conn)) {
    sink_mysql_error(s->conn, s->base.table, error);
    goto out;
  }
  ok = true;
out:
  mysql_free_result(res);
  sql_buf_free(&q);
  return ok;
}

const sink_ops_t sink_mysql_ops = {
    .name = "mysql",
    .factory_new = sink_mysql_factory_new,
    .factory_check = sink_mysql_factory_check,
    .factory_db = sink_mysql_factory_db,
    .factory_destroy = sink_mysql_factory_destroy,
    .open = sink_mysql__open,
    .count = sink_mysql__count,
    .drop = sql_sink_drop,
    .prepare = sql_sink_prepare,
    .write = sql_sink_write,
    .commit = sql_sink_commit,
    .mark_get = sink_mysql__mark_get,
    .close = sink_mysql__close,
    .canon = sql_sink_canon,
    .scan = sink_mysql__scan,
    .index_create = sql_sink_index_create,
    .index_duplicates = sql_sink_index_duplicates,
};
