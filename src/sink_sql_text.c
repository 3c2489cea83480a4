/* sink_sql_text: the text of the SQL sinks' statements (CREATE TABLE,
 * INSERT, the progress table's) and the values of a mark's row. */
#include "loader/error.h"
#include "sink_sql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sql_buf_add(sql_buf_t *b, const char *text, size_t len)
{
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1)
      cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
      return false;
    b->s = s;
    b->cap = cap;
  }
  memcpy(b->s + b->len, text, len);
  b->len += len;
  b->s[b->len] = '\0';
  return true;
}

bool sql_buf_addz(sql_buf_t *b, const char *text)
{
  return sql_buf_add(b, text, strlen(text));
}

bool sql_buf_ident(sql_buf_t *b, const char *name, char q)
{
  if (!sql_buf_add(b, &q, 1))
    return false;
  for (const char *p = name; *p; p++) {
    if (*p == q && !sql_buf_add(b, &q, 1))
      return false;
    if (!sql_buf_add(b, p, 1))
      return false;
  }
  return sql_buf_add(b, &q, 1);
}

bool sql_create_stmt(sql_buf_t *b, const sql_dialect_t *d, const char *table,
                     const char *qtable, const sql_docs_t *docs,
                     bson_error_t *error)
{
  sql_table_t t = {0};
  bool ok = false;
  if (!sql_table_derive(&t, docs, error))
    goto out;
  if (t.n == 0) {
    bson_set_error(error, LOADER_ERROR_SINK, 0,
                   "%s: cannot create table %s: no columns", d->name, table);
    goto out;
  }
  bool mem = sql_buf_addz(b, "CREATE TABLE IF NOT EXISTS ") &&
             sql_buf_addz(b, qtable) && sql_buf_addz(b, " (");
  for (size_t i = 0; mem && i < t.n; i++)
    mem = (i == 0 || sql_buf_addz(b, ", ")) &&
          sql_buf_ident(b, t.cols[i].name, d->quote) && sql_buf_addz(b, " ") &&
          sql_buf_addz(b, d->type(t.cols[i].cls));
  if (!mem || !sql_buf_addz(b, ")") || !sql_buf_addz(b, d->create_suffix)) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  ok = true;
out:
  sql_table_clear(&t);
  return ok;
}

bool sql_insert_stmt(sql_buf_t *b, const sql_dialect_t *d, const char *qtable,
                     const sql_table_t *t, size_t rows)
{
  bool mem = sql_buf_addz(b, "INSERT INTO ") && sql_buf_addz(b, qtable) &&
             sql_buf_addz(b, " (");
  for (size_t i = 0; mem && i < t->n; i++)
    mem = (i == 0 || sql_buf_addz(b, ", ")) &&
          sql_buf_ident(b, t->cols[i].name, d->quote);
  mem = mem && sql_buf_addz(b, ") VALUES ");
  for (size_t r = 0; mem && r < rows; r++) {
    mem = sql_buf_addz(b, r ? ", (" : "(");
    for (size_t i = 0; mem && i < t->n; i++)
      mem = sql_buf_addz(b, i ? ", ?" : "?");
    mem = mem && sql_buf_addz(b, ")");
  }
  return mem;
}

/* The columns of the progress table: the key, then a mark_t's fields. */
static const char *const sql__mark_cols[1 + SQL_MARK_INTS] = {
    "key",     "offset",   "line",  "processed", "inserted",
    "updated", "rejected", "prior", "done",
};

bool sql_table_name_check(const sql_dialect_t *d, const char *table,
                          bson_error_t *error)
{
  if (strcasecmp(table, SQL_PROGRESS_TABLE) != 0)
    return true;
  bson_set_error(error, LOADER_ERROR_USAGE, 0,
                 "%s: %s is the loader's own table (the progress of its "
                 "loads); load into another table",
                 d->name, table);
  return false;
}

bool sql_mark_key_check(const sql_dialect_t *d, const char *key,
                        bson_error_t *error)
{
  size_t len = strlen(key);
  if (len > 0 && len <= SQL_MARK_KEY_MAX)
    return true;
  bson_set_error(error, LOADER_ERROR_SINK, 0,
                 "%s: a progress key must be 1 to %d bytes (got %zu)", d->name,
                 SQL_MARK_KEY_MAX, len);
  return false;
}

/* Appends the progress table's columns from index first on, quoted, comma
 * separated; with typed, each with its declaration (CREATE TABLE). */
static bool sql__mark_cols_add(sql_buf_t *b, const sql_dialect_t *d,
                               size_t first, bool typed)
{
  bool mem = true;
  for (size_t i = first; mem && i < 1 + SQL_MARK_INTS; i++)
    mem = (i == first || sql_buf_addz(b, ", ")) &&
          sql_buf_ident(b, sql__mark_cols[i], d->quote) &&
          (!typed ||
           (sql_buf_addz(b, " ") &&
            sql_buf_addz(b, i ? d->type(SQL_INTEGER) : d->key_type) &&
            sql_buf_addz(b, i ? " NOT NULL" : " NOT NULL PRIMARY KEY")));
  return mem;
}

bool sql_progress_create_stmt(sql_buf_t *b, const sql_dialect_t *d)
{
  return sql_buf_addz(b, "CREATE TABLE IF NOT EXISTS ") &&
         sql_buf_ident(b, SQL_PROGRESS_TABLE, d->quote) &&
         sql_buf_addz(b, " (") && sql__mark_cols_add(b, d, 0, true) &&
         sql_buf_addz(b, ")") && sql_buf_addz(b, d->create_suffix);
}

bool sql_progress_store_stmt(sql_buf_t *b, const sql_dialect_t *d)
{
  bool mem = sql_buf_addz(b, "REPLACE INTO ") &&
             sql_buf_ident(b, SQL_PROGRESS_TABLE, d->quote) &&
             sql_buf_addz(b, " (") && sql__mark_cols_add(b, d, 0, false) &&
             sql_buf_addz(b, ") VALUES (?");
  for (size_t i = 1; mem && i < 1 + SQL_MARK_INTS; i++)
    mem = sql_buf_addz(b, ", ?");
  return mem && sql_buf_addz(b, ")");
}

bool sql_progress_select_stmt(sql_buf_t *b, const sql_dialect_t *d)
{
  return sql_buf_addz(b, "SELECT ") && sql__mark_cols_add(b, d, 1, false) &&
         sql_buf_addz(b, " FROM ") &&
         sql_buf_ident(b, SQL_PROGRESS_TABLE, d->quote) &&
         sql_buf_addz(b, " WHERE ") &&
         sql_buf_ident(b, sql__mark_cols[0], d->quote) &&
         sql_buf_addz(b, " = ?");
}

void sql_mark_values(sql_value_t *vals, const char *key, const mark_t *mark)
{
  const int64_t ints[SQL_MARK_INTS] = {
      (int64_t)mark->offset,
      (int64_t)mark->line,
      (int64_t)mark->processed,
      (int64_t)mark->inserted,
      (int64_t)mark->updated,
      (int64_t)mark->rejected,
      mark->prior,
      mark->done ? 1 : 0,
  };
  vals[0].kind = SQLV_TEXT;
  vals[0].p = key;
  vals[0].len = strlen(key);
  for (size_t i = 0; i < SQL_MARK_INTS; i++) {
    vals[1 + i].kind = SQLV_INT;
    vals[1 + i].i = ints[i];
  }
}

void sql_mark_from_ints(mark_t *mark, const int64_t *ints)
{
  mark->offset = (uint64_t)ints[0];
  mark->line = (uint64_t)ints[1];
  mark->processed = (uint64_t)ints[2];
  mark->inserted = (uint64_t)ints[3];
  mark->updated = (uint64_t)ints[4];
  mark->rejected = (uint64_t)ints[5];
  mark->prior = ints[6];
  mark->done = ints[7] != 0;
}

void sql_buf_reset(sql_buf_t *b)
{
  b->len = 0;
  if (b->s)
    b->s[0] = '\0';
}

void sql_buf_free(sql_buf_t *b)
{
  free(b->s);
  memset(b, 0, sizeof *b);
}
