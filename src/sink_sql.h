/* sink_sql: what the SQL sinks (sink_sqlite.c, sink_mysql.c) share: BSON
 * documents seen as rows of a table.
 *
 * A document becomes a row by flattening: nested documents give dotted
 * column names ("address.city"), the loader's generated ObjectId _id is left
 * out, every other leaf is one column. A table made by the loader takes its
 * columns from the first batch written to it, each typed by the widest value
 * seen there (integer < real < text; binary is a blob). Later values are
 * checked against the table's column types before anything is sent, so that
 * no value is changed on the way in ("02942" is never stored as 2942): a
 * value that does not fit is a per-document error naming the column. Private
 * to the SQL sinks. */
#ifndef LOADER_SINK_SQL_H
#define LOADER_SINK_SQL_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/batch.h"
#include "loader/mark.h"
#include "sink_impl.h"

/* Longest dotted column name the loader builds. */
#define SQL_NAME_MAX 1024

/* sink_sql_table.c ------------------------------------------------------ */

/* Makes the array at itemsp (the address of a pointer to items of size
 * bytes, with *cap of them allocated) hold at least want items: sql_grow()
 * doubling from 16, sql_grow_exact() to want exactly. Returns false when out
 * of memory, leaving the array as it was. */
bool sql_grow(void *itemsp, size_t *cap, size_t want, size_t size);
bool sql_grow_exact(void *itemsp, size_t *cap, size_t want, size_t size);

/* What a column holds, as far as the loader's checks go. */
typedef enum sql_class {
  SQL_NONE = 0, /* nothing seen yet (while deriving a new table's types) */
  SQL_INTEGER,  /* integers; booleans as 0/1; dates as ms since the epoch */
  SQL_REAL,     /* floating point; integers are accepted */
  SQL_TEXT,     /* text; numbers and booleans are stored as their text */
  SQL_BLOB,     /* bytes; other values are stored as they are */
  SQL_ANY,      /* a type the loader does not check (SQLite without a type,
                   MySQL DATE, DECIMAL, ...): values go as they are and the
                   database decides */
} sql_class_t;

/* One column of a table. */
typedef struct sql_column {
  char *name;      /* column name, dotted for nested fields (owned) */
  sql_class_t cls; /* what it holds */
} sql_column_t;

/* The columns of a table, in order. */
typedef struct sql_table {
  sql_column_t *cols; /* the columns (owned) */
  size_t n;           /* how many */
  size_t cap;         /* allocated entries */
} sql_table_t;

/* Appends a column; returns false when out of memory. */
bool sql_table_add(sql_table_t *t, const char *name, sql_class_t cls);

/* Returns the index of column name, or -1. sql_table_find_from() tries
 * column hint first: a document's fields usually come in the table's order,
 * so passing the column after the last one found makes a row's lookups one
 * comparison each. */
long sql_table_find(const sql_table_t *t, const char *name);
long sql_table_find_from(const sql_table_t *t, const char *name, size_t hint);

/* Frees the columns; the table is empty afterwards. */
void sql_table_clear(sql_table_t *t);

/* Returns the name of a class as SQLite declares it ("INTEGER", ...). */
const char *sql_class_name(sql_class_t cls);

/* The documents of a batch, split out of its packed buffer. */
typedef struct sql_docs {
  bson_t *docs; /* static views into the batch's buffer */
  size_t n;     /* how many */
  size_t cap;   /* allocated entries */
} sql_docs_t;

/* Splits batch into docs (reusing its memory). Returns false and fills error
 * on a corrupt buffer or when out of memory. */
bool sql_docs_split(sql_docs_t *docs, const batch_t *batch,
                    bson_error_t *error);

/* Frees what sql_docs_split() allocated. */
void sql_docs_cleanup(sql_docs_t *docs);

/* Called for each leaf of a document with its dotted name; returns false to
 * stop the walk. */
typedef bool (*sql_leaf_fn)(void *ctx, const char *name, const bson_iter_t *it);

/* Calls fn for each leaf of doc (nested documents give dotted names; the
 * top-level ObjectId _id, the loader's own, is skipped). Returns false when
 * fn stopped the walk or a name grew longer than SQL_NAME_MAX - 1 bytes
 * (*too_long set). */
bool sql_doc_walk(const bson_t *doc, sql_leaf_fn fn, void *ctx, bool *too_long);

/* Derives the columns of a new table from docs: every leaf seen, in order of
 * first appearance, typed by the widest value. Returns false and fills error
 * when out of memory or a name is too long. */
bool sql_table_derive(sql_table_t *t, const sql_docs_t *docs,
                      bson_error_t *error);

/* Checks the columns of docs against an existing table: every leaf must be a
 * column. Returns false and fills error (naming the missing columns and the
 * table's) when not. */
bool sql_table_check(const sql_table_t *t, const sql_docs_t *docs,
                     const char *table, bson_error_t *error);

/* sink_sql_row.c -------------------------------------------------------- */

/* Writes x in decimal and a NUL at buf (24 bytes are enough); returns the
 * length. */
size_t sql_int_text(int64_t x, char *buf);

/* Write text that reads back as d (cap bytes at buf) and return its
 * length. sql_double_text(): the shortest of printf's %.15g, %.16g, %.17g
 * that does, the text a double is stored as in a text column ("1e-05").
 * sql_double_number_text(): for a number column, where only the value
 * counts: a short decimal without printf when there is one ("0.00001";
 * needs cap >= 32), else as sql_double_text(). */
size_t sql_double_text(double d, char *buf, size_t cap);
size_t sql_double_number_text(double d, char *buf, size_t cap);

/* How a value is sent. */
typedef enum sql_kind {
  SQLV_NULL,   /* NULL (a missing field, a BSON null) */
  SQLV_INT,    /* i */
  SQLV_DOUBLE, /* d */
  SQLV_TEXT,   /* p, len: UTF-8 */
  SQLV_BLOB,   /* p, len: bytes */
} sql_kind_t;

/* One value of a row, ready to bind. Text and blobs point into the batch or
 * into buf, so a row lives as long as both. */
typedef struct sql_value {
  sql_kind_t kind; /* how to bind it */
  int64_t i;       /* SQLV_INT */
  double d;        /* SQLV_DOUBLE */
  const char *p;   /* SQLV_TEXT / SQLV_BLOB data */
  size_t len;      /* its length in bytes */
  char buf[48];    /* a number or date rendered as text */
} sql_value_t;

/* Fills vals (t->n entries) with the row of doc. Returns false and writes
 * why (cap bytes) when the document cannot be stored without changing a
 * value: a leaf that is not a column, a value its column's type would
 * change, a BSON type SQL has no place for (arrays, regexes, ...). */
bool sql_row_from_doc(const sql_table_t *t, const bson_t *doc,
                      sql_value_t *vals, char *why, size_t cap);

/* The rows of a batch that fit its table, ready to bind; a sink keeps one
 * and reuses its memory from batch to batch. */
typedef struct sql_rows {
  sql_value_t *vals; /* rows of values, t->n per row (owned) */
  size_t vals_cap;   /* allocated entries of vals */
  size_t *good;      /* batch index of each row of vals (owned) */
  size_t good_cap;   /* allocated entries of good */
  size_t n;          /* rows made by the last sql_rows_build() */
} sql_rows_t;

/* Converts the documents of docs to rows of t in rows (rows->n of them).
 * A document that does not fit (see sql_row_from_doc()) is added to result
 * as a per-document error with code mismatch, the sink's own code for a
 * value that does not fit its column, and the reason as message. Returns
 * false and fills error when out of memory. Rows point into docs' batch. */
bool sql_rows_build(sql_rows_t *rows, const sql_table_t *t,
                    const sql_docs_t *docs, int32_t mismatch,
                    sink_write_result_t *result, bson_error_t *error);

/* Frees what sql_rows_build() allocated; rows is empty afterwards. */
void sql_rows_free(sql_rows_t *rows);

/* sink_sql_text.c ------------------------------------------------------- */

/* Appends text to a growing string; returns false when out of memory. */
typedef struct sql_buf {
  char *s;    /* NUL-terminated text (owned) */
  size_t len; /* its length */
  size_t cap; /* allocated bytes */
} sql_buf_t;

bool sql_buf_add(sql_buf_t *b, const char *text, size_t len);
bool sql_buf_addz(sql_buf_t *b, const char *text);

/* Appends name quoted with q ('"' for SQLite, '`' for MySQL), doubling q
 * inside. */
bool sql_buf_ident(sql_buf_t *b, const char *name, char q);

/* Empties / frees the string. */
void sql_buf_reset(sql_buf_t *b);
void sql_buf_free(sql_buf_t *b);

/* Returns the type a new column of class cls is declared with. */
typedef const char *(*sql_type_fn)(sql_class_t cls);

/* How one SQL sink spells its statements. */
typedef struct sql_dialect {
  const char *name;          /* "sqlite", "mysql": starts its messages */
  char quote;                /* quotes identifiers ('"' or '`') */
  sql_type_fn type;          /* declared type of a new column */
  const char *create_suffix; /* after CREATE TABLE's column list, or "" */
  const char *key_type;      /* the progress table's key column */
} sql_dialect_t;

/* Appends to b the CREATE TABLE IF NOT EXISTS statement of a new table
 * (qtable quoted, table as named in messages) whose columns are derived from
 * docs (see sql_table_derive()). Returns false and fills error when a name is
 * too long, the documents give no column ("<name>: cannot create table T: no
 * columns") or out of memory. */
bool sql_create_stmt(sql_buf_t *b, const sql_dialect_t *d, const char *table,
                     const char *qtable, const sql_docs_t *docs,
                     bson_error_t *error);

/* Appends INSERT INTO qtable (columns of t) VALUES (?, ...) repeated rows
 * times to b. Returns false when out of memory. */
bool sql_insert_stmt(sql_buf_t *b, const sql_dialect_t *d, const char *qtable,
                     const sql_table_t *t, size_t rows);

/* The loader's own table (one per database, or per file with sqlite:DIR/):
 * the mark of each job, written in the same transaction as the job's batch
 * (see sink_commit()). Columns: key (SQL_MARK_KEY_MAX bytes at most), then
 * the SQL_MARK_INTS integers of a mark_t in the order of the struct, 64-bit
 * (unsigned counts stored bit for bit; done as 0/1). */
#define SQL_PROGRESS_TABLE "_loader_progress"
#define SQL_MARK_KEY_MAX 255
#define SQL_MARK_INTS 8

/* Returns false and fills error (LOADER_ERROR_USAGE) when table is the
 * loader's own progress table, which no collection may be. */
bool sql_table_name_check(const sql_dialect_t *d, const char *table,
                          bson_error_t *error);

/* Returns false and fills error when key is not a valid mark key (empty or
 * longer than SQL_MARK_KEY_MAX bytes). */
bool sql_mark_key_check(const sql_dialect_t *d, const char *key,
                        bson_error_t *error);

/* Append to b: CREATE TABLE IF NOT EXISTS of the progress table; the
 * statement storing one mark (REPLACE INTO ... VALUES (?, ... ): the key
 * then the integers); the query reading the integers of the mark of one key
 * (one ? for the key). Return false when out of memory. */
bool sql_progress_create_stmt(sql_buf_t *b, const sql_dialect_t *d);
bool sql_progress_store_stmt(sql_buf_t *b, const sql_dialect_t *d);
bool sql_progress_select_stmt(sql_buf_t *b, const sql_dialect_t *d);

/* Fills vals (1 + SQL_MARK_INTS entries) with the row of mark under key, in
 * the order of sql_progress_store_stmt(). key is borrowed. */
void sql_mark_values(sql_value_t *vals, const char *key, const mark_t *mark);

/* Fills mark from the SQL_MARK_INTS integers of its row. */
void sql_mark_from_ints(mark_t *mark, const int64_t *ints);

/* sink_sql.c ------------------------------------------------------------ */

typedef struct sql_sink sql_sink_t;

/* Called for each row of a query with its n values as text (NULL for
 * NULL); returns false to stop. */
typedef bool (*sql_text_row_fn)(void *ctx, const char *const *vals, size_t n);

/* How one INSERT statement ended. */
typedef enum sql_step {
  SQL_STEP_OK,    /* its rows went in (in the open transaction) */
  SQL_STEP_ROW,   /* refused because of a row's values (refusal says how):
                     worth trying its rows one by one */
  SQL_STEP_RETRY, /* the transaction is worth another attempt (a deadlock);
                     error says why */
  SQL_STEP_FAIL,  /* failed: error says why */
} sql_step_t;

/* Why the database refused a row. */
typedef struct sql_refusal {
  int32_t code;      /* the database's code */
  char message[256]; /* its message (as long as a sink_doc_error_t's) */
} sql_refusal_t;

/* What a SQL sink's database does, driven by sql_sink_write(),
 * sql_sink_commit() and sql_sink_drop(). Each function takes the sink. */
typedef struct sql_driver {
  const sql_dialect_t *d; /* how its statements are spelt */
  int32_t mismatch;       /* the code of a value that does not fit its column */
  int attempts;           /* tries of a batch's transaction, at most */
  /* Take / release what guards a statement outside a transaction (SQLite:
   * the file's mutex); NULL: nothing. Called with no transaction open. */
  void (*lock)(sql_sink_t *s);
  void (*unlock)(sql_sink_t *s);
  /* Runs sql, which returns nothing. Fills error as
   * "<d->name>: <what>: <the database's message>" with its code. */
  bool (*exec)(sql_sink_t *s, const char *sql, const char *what,
               bson_error_t *error);
  /* Loads the table's columns into s->cols; none when it does not exist. */
  bool (*load_columns)(sql_sink_t *s, bson_error_t *error);
  /* Prepares the INSERT of rows rows of s->cols; NULL and error when it
   * cannot. */
  void *(*prepare)(sql_sink_t *s, size_t rows, bson_error_t *error);
  /* Frees a statement prepare() made. */
  void (*finalize)(void *stmt);
  /* Returns how many rows from first (of s->rows) go in one INSERT. */
  size_t (*chunk)(const sql_sink_t *s, size_t first);
  /* Runs stmt, prepared for k rows, with rows [first, first + k) of
   * s->rows; on SQL_STEP_ROW fills why. */
  sql_step_t (*run)(sql_sink_t *s, void *stmt, size_t first, size_t k,
                    sql_refusal_t *why, bson_error_t *error);
  /* Optional (NULL: none): inserts all of s->rows at once by the
   * database's own bulk path, in the open transaction. SQL_STEP_OK only when
   * every row landed unchanged; SQL_STEP_ROW when it cannot say so (a row
   * refused or changed, or a batch the path does not take): the caller
   * rolls the transaction back and inserts the rows with run(), which
   * finds the refused ones. SQL_STEP_RETRY, SQL_STEP_FAIL as run(). */
  sql_step_t (*bulk)(sql_sink_t *s, bson_error_t *error);
  /* Optional (NULL: none): readies s->rows for bulk() without the
   * database, right after they are made (MySQL: renders them as LOAD DATA
   * text), so that a write prepared ahead (sql_sink_prepare()) leaves
   * bulk() only the server's part. Returns false and fills error only when
   * out of memory. */
  bool (*bulk_prepare)(sql_sink_t *s, bson_error_t *error);
  /* Begins a transaction (SQLite: taking the file's mutex) and sets
   * s->in_txn. */
  bool (*begin)(sql_sink_t *s, bson_error_t *error);
  /* Stores mark under key in the progress table, in the transaction. */
  bool (*store_mark)(sql_sink_t *s, const char *key, const mark_t *mark,
                     bson_error_t *error);
  /* Ends the transaction: COMMIT when commit is true, else (and when the
   * COMMIT failed) ROLLBACK; clears s->in_txn. Fills error when the COMMIT
   * failed. */
  bool (*end)(sql_sink_t *s, bool commit, bson_error_t *error);
  /* --index (sink_sql_index.c): runs sql, a query, and calls row for each
   * row it returns, its n values as text (NULL for NULL), until row
   * returns false. Fills error as exec() does. */
  bool (*query)(sql_sink_t *s, const char *sql, sql_text_row_fn row, void *ctx,
                bson_error_t *error);
  /* Appends the key part of column (one of n_keys) to an index's column
   * list: the column quoted and, where the database needs one, a prefix
   * length (MySQL's text and blob columns). NULL: the column quoted. */
  bool (*index_key)(sql_sink_t *s, const char *column, size_t n_keys,
                    sql_buf_t *b, bson_error_t *error);
  const char *index_list;     /* the statement listing the table's indexes,
                                 before the quoted table ("PRAGMA index_list(",
                                 "SHOW INDEX FROM ") */
  const char *index_list_end; /* and after it (")", "") */
  size_t index_list_name;     /* the column of that list holding the name */
  int32_t duplicate;          /* the code of a unique index refused because
                                 rows share a key */
} sql_driver_t;

/* What every SQL sink holds, whatever its database: the first member of
 * its state, so that the state can be passed as a sql_sink_t. */
struct sql_sink {
  const sql_driver_t *drv; /* its database's steps */
  char *table;             /* table name (owned) */
  sql_buf_t qtable;        /* table name, quoted */
  sql_table_t cols;        /* the table's columns, once known */
  bool have_cols;          /* cols is loaded */
  bool in_txn;             /* a write's transaction is open */
  void *multi;             /* cached multi-row INSERT, or NULL */
  size_t multi_rows;       /* its rows */
  void *single;            /* cached one-row INSERT, or NULL */
  sql_docs_t docs;         /* the batch's documents */
  sql_rows_t rows;         /* the batch's rows that fit the table */
  const batch_t *prepared; /* the batch docs was split from by
                              sql_sink_prepare(), until a write takes it */
  bool rows_ready;         /* rows (and the driver's bulk_prepare()) are
                              made from docs */
  unsigned delay_ms;       /* test only: sleep inside each batch
                              transaction (SQLite with LOADER_TEST_HOOKS) */
  sql_value_t *canon_vals; /* --verify: one row's values (owned) */
  size_t canon_cap;        /* allocated entries of canon_vals */
};

/* Returns a new zeroed sink state of size bytes (a driver's struct, which
 * starts with its sql_sink_t) for table collection, or NULL and error: the
 * table is the loader's own progress table (a usage error), or out of
 * memory. The caller frees it with sql_sink_cleanup() and free(). */
void *sql_sink_new(size_t size, const sql_driver_t *drv, const char *collection,
                   bson_error_t *error);

/* Takes / releases what guards a statement outside a transaction (the
 * driver's lock and unlock, when it has them). */
void sql_sink_lock(sql_sink_t *s);
void sql_sink_unlock(sql_sink_t *s);

/* Rolls back an open transaction, finalizes the cached statements and
 * frees what s holds (not s itself, nor its connection). */
void sql_sink_cleanup(sql_sink_t *s);

/* sink_ops_t's write, commit and drop of a SQL sink, whose state (sink)
 * starts with its sql_sink_t. A write leaves its transaction open for the
 * commit, which stores the mark when key is not NULL (in a transaction of
 * its own when none is open); any failure rolls the transaction back. */
bool sql_sink_write(void *sink, const batch_t *batch,
                    sink_write_result_t *result, bson_error_t *error);
/* sink_ops_t's prepare of a SQL sink: the write's part that needs no
 * database, done ahead for batch: its documents split out and, once the
 * sink knows the table's columns, its rows made and checked (refused
 * documents go to result) and readied for the driver's bulk path. The
 * next sql_sink_write() of batch starts from there. */
bool sql_sink_prepare(void *sink, const batch_t *batch,
                      sink_write_result_t *result, bson_error_t *error);
bool sql_sink_commit(void *sink, const char *key, const mark_t *mark,
                     bson_error_t *error);
bool sql_sink_drop(void *sink, bson_error_t *error);

/* sink_sql_index.c ------------------------------------------------------ */

/* sink_ops_t's index_create and index_duplicates of a SQL sink: CREATE
 * [UNIQUE] INDEX on the table's columns (each checked to be one) once the
 * load is over, unless the table has an index of that name; and the first
 * keys that more than one row holds (rows with a NULL key part left out:
 * they never clash). */
bool sql_sink_index_create(void *sink, const sink_index_t *index,
                           sink_index_result_t *result, bson_error_t *error);
bool sql_sink_index_duplicates(void *sink, const sink_index_t *index,
                               size_t max, bson_t *dups, bson_error_t *error);

#ifdef LOADER_TEST_HOOKS
/* Returns the milliseconds in $LOADER_TEST_SQLITE_DELAY_MS (test only), or 0.
 * name is the environment variable. Only in builds with LOADER_TEST_HOOKS. */
unsigned sql_test_delay_ms(const char *name);
#endif

/* Sleeps ms milliseconds. */
void sql_sleep_ms(unsigned ms);

/* sink_sql_read.c ------------------------------------------------------- */

/* Feeds one value of a row in canonical form, taken by its column's class:
 * kind with i, d or p/len as in sql_value_t (text and blobs alike are
 * bytes; an integer in a SQL_REAL column is a double). */
void sql_canon_put(const sink_feed_t *feed, sql_class_t cls, sql_kind_t kind,
                   int64_t i, double d, const void *p, size_t len);

/* Loads the table's columns into s->cols unless they are known; have_cols
 * stays false when there is no table. Returns false and fills error when
 * they cannot be read. */
bool sql_sink_columns(sql_sink_t *s, bson_error_t *error);

/* sink_ops_t's canon of a SQL sink: the row doc would be, value by value
 * (the table's columns are loaded first; *fits is false when doc does not
 * fit them, or there is no table). */
bool sql_sink_canon(void *sink, const bson_t *doc, const sink_feed_t *feed,
                    bool *fits, bson_error_t *error);

/* Appends SELECT lead, each column of t FROM qtable to b (lead: "" or
 * what comes before the columns, e.g. "rowid"). Returns false when out of
 * memory. */
bool sql_select_stmt(sql_buf_t *b, const sql_dialect_t *d, const sql_table_t *t,
                     const char *lead, const char *qtable);

/* The statement a scan reads the table with, in q (SELECT lead, each
 * column): the columns are loaded first; q stays empty when there is no
 * table. Returns false and fills error when the columns cannot be read or
 * out of memory. */
bool sql_scan_stmt(sql_sink_t *s, const char *lead, sql_buf_t *q,
                   bson_error_t *error);

#endif
