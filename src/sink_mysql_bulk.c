/* sink_mysql_bulk: a batch's rows through the server's own bulk path,
 * LOAD DATA LOCAL INFILE, fed from memory.
 *
 * The rows the loader has already checked against their columns (see
 * sink_sql_row.c) are written as LOAD DATA's default text format (tab
 * between fields, a line per row, \N for NULL, backslash escapes) into one
 * buffer, and the statement names every column of the table, as the INSERTs
 * do. libmariadb asks the connection's local-infile handler for the
 * "file": the handler installed here hands over that buffer and nothing
 * else — it never opens a file, whatever name a server asks for.
 *
 * LOAD DATA LOCAL does not stop at a refused row: the server turns a
 * duplicate key or a value it had to change into a warning and goes on. So
 * a load counts only when every row landed (affected rows = rows sent) with
 * no warning at all; anything else is undone by the caller, and the batch
 * takes the INSERTs, which find exactly the rows the server refuses.
 *
 * The text is rendered as soon as the rows are made: ahead of the write
 * when the job prepares it (sink_prepare(), on the writer that waits for
 * its turn), so that the connection's turn holds only the server's work. */
#include "loader/error.h"
#include "sink_mysql_impl.h"
#include "sink_sql.h"

#include <errmsg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The name the statement gives its "file"; the handler ignores it. */
#define SINK_MYSQL_BULK_NAME "loader-batch"

/* libmariadb's callbacks. init: the read of one LOAD DATA starts; refused
 * unless a sink armed its buffer (b is NULL on a connection that has no sink
 * yet). */
static int sink_mysql__infile_init(void **ptr, const char *name, void *data)
{
  (void)name;
  sink_mysql_bulk_t *b = data;
  *ptr = b;
  if (!b || !b->armed)
    return 1;
  b->pos = 0;
  return 0;
}

static int sink_mysql__infile_read(void *ptr, char *buf, unsigned int len)
{
  sink_mysql_bulk_t *b = ptr;
  size_t n = b->text.len - b->pos;
  if (n > len)
    n = len;
  memcpy(buf, b->text.s + b->pos, n);
  b->pos += n;
  return (int)n;
}

static void sink_mysql__infile_end(void *ptr)
{
  (void)ptr;
}

static int sink_mysql__infile_error(void *ptr, char *msg, unsigned int len)
{
  (void)ptr;
  snprintf(msg, len,
           "the loader sends no files: LOAD DATA LOCAL is only "
           "fed from the loader's own rows");
  return CR_UNKNOWN_ERROR;
}

void sink_mysql_bulk_attach(MYSQL *m, sink_mysql_bulk_t *b)
{
  mysql_set_local_infile_handler(
      m, sink_mysql__infile_init, sink_mysql__infile_read,
      sink_mysql__infile_end, sink_mysql__infile_error, b);
}

bool sink_mysql_bulk_type(const char *type, sql_class_t cls)
{
  /* LOAD DATA stores the text "5" into a BIT column as the byte '5' */
  if (strncasecmp(type, "bit", 3) == 0)
    return false;
  return cls == SQL_INTEGER || cls == SQL_REAL || cls == SQL_TEXT;
}

void sink_mysql_bulk_free(sink_mysql_bulk_t *b)
{
  sql_buf_free(&b->text);
  sql_buf_free(&b->stmt);
}

/* The byte that stands for each byte after a backslash in LOAD DATA's
 * text, or 0 for the bytes that go as they are. */
static const char sink_mysql__escape[256] = {
    ['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\0'] = '0'};

/* Writes v at out (room enough: see sink_mysql__room()); returns the end,
 * or NULL when the value cannot go as text unchanged (a blob, a double that
 * is not finite). */
static char *sink_mysql__put(char *out, const sql_value_t *v)
{
  switch (v->kind) {
  case SQLV_NULL:
    memcpy(out, "\\N", 2);
    return out + 2;
  case SQLV_INT:
    return out + sql_int_text(v->i, out);
  case SQLV_DOUBLE:
    if (!isfinite(v->d))
      return NULL;
    return out + sql_double_number_text(v->d, out, 32); /* reads back as v->d */
  case SQLV_TEXT:
    for (const char *p = v->p, *end = p + v->len; p < end; p++) {
      char e = sink_mysql__escape[(unsigned char)*p];
      if (e) {
        *out++ = '\\';
        *out++ = e;
      } else {
        *out++ = *p;
      }
    }
    return out;
  case SQLV_BLOB:
    break;
  }
  return NULL;
}

/* The most bytes sink_mysql__put() writes for v, with its separator. */
static size_t sink_mysql__room(const sql_value_t *v)
{
  return (v->kind == SQLV_TEXT ? 2 * v->len : 0) + 32;
}

/* Makes b->text the rows of s as LOAD DATA text, a row at a time (its room
 * made, then its values written, while they are in the cache); returns 0,
 * or -1 when a value cannot go as text (the INSERTs take the batch), or -2
 * when out of memory. */
static int sink_mysql__render(sink_mysql_bulk_t *b, const sql_sink_t *s)
{
  size_t ncols = s->cols.n, len = 0;
  const sql_value_t *row = s->rows.vals;
  if (ncols == 0)
    return -1;
  for (size_t r = 0; r < s->rows.n; r++, row += ncols) {
    size_t room = len + 1;
    for (size_t c = 0; c < ncols; c++)
      room += sink_mysql__room(&row[c]);
    if (!sql_grow(&b->text.s, &b->text.cap, room, 1))
      return -2;
    char *out = b->text.s + len;
    for (size_t c = 0; c < ncols; c++) {
      if (!(out = sink_mysql__put(out, &row[c])))
        return -1;
      *out++ = '\t';
    }
    out[-1] = '\n';
    len = (size_t)(out - b->text.s);
  }
  b->text.len = len;
  return 0;
}

/* Makes b->stmt the LOAD DATA of every column of s's table. */
static bool sink_mysql__stmt(sink_mysql_bulk_t *b, const sql_sink_t *s)
{
  sql_buf_reset(&b->stmt);
  bool ok =
      sql_buf_addz(&b->stmt, "LOAD DATA LOCAL INFILE '" SINK_MYSQL_BULK_NAME
                             "' INTO TABLE ") &&
      sql_buf_addz(&b->stmt, s->qtable.s) &&
      sql_buf_addz(&b->stmt,
                   " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' "
                   "ENCLOSED BY '' ESCAPED BY '\\\\' LINES TERMINATED "
                   "BY '\\n' STARTING BY '' (");
  for (size_t c = 0; ok && c < s->cols.n; c++)
    ok = (c == 0 || sql_buf_addz(&b->stmt, ", ")) &&
         sql_buf_ident(&b->stmt, s->cols.cols[c].name, '`');
  return ok && sql_buf_addz(&b->stmt, ")");
}

bool sink_mysql_bulk_render(sink_mysql_bulk_t *b, const sql_sink_t *s,
                            bson_error_t *error)
{
  b->rendered = 0;
  int r = sink_mysql__render(b, s);
  if (r == 0 && !sink_mysql__stmt(b, s))
    r = -2;
  if (r == -2) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  b->rendered = r == 0 ? 1 : -1;
  return true;
}

int sink_mysql_bulk_load(MYSQL *m, sink_mysql_bulk_t *b, const sql_sink_t *s,
                         bson_error_t *error)
{
  if (b->rendered == 0 && !sink_mysql_bulk_render(b, s, error))
    return -2;
  if (b->rendered < 0)
    return -1;
  b->armed = true;
  int rc = mysql_real_query(m, b->stmt.s, b->stmt.len);
  b->armed = false;
  if (rc != 0) {
    sink_mysql_error(m, s->table, error);
    return (int)mysql_errno(m);
  }
  if (mysql_affected_rows(m) != (my_ulonglong)s->rows.n ||
      mysql_warning_count(m) != 0)
    return -1;
  return 0;
}
