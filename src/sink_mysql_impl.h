/* sink_mysql_impl: what the MySQL sink's two files share: the factory
 * (sink_mysql_conn.c: the URI, the connections) and the sink
 * (sink_mysql.c). Private to them. */
#ifndef LOADER_SINK_MYSQL_IMPL_H
#define LOADER_SINK_MYSQL_IMPL_H

#include <mysql.h>

#include "sink_impl.h"
#include "sink_sql.h"

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

/* Fills error from the connection's last error ("mysql: what: message"; no
 * "what: " when what is NULL): the server's code stays. */
void sink_mysql_error(MYSQL *m, const char *what, bson_error_t *error);

/* Runs sql, which returns nothing, on m; fills error as sink_mysql_error()
 * does. */
bool sink_mysql_exec(MYSQL *m, const char *sql, const char *what,
                     bson_error_t *error);

/* Connects to the server and selects the database, creating it when it does
 * not exist. Returns NULL and fills error (with the server's or the client
 * library's code: 2002/2003 no server, 1045 access denied) otherwise. */
MYSQL *sink_mysql_connect(sink_mysql_factory_t *f, bson_error_t *error);

/* sink_ops_t's factory functions
 * (mysql://[user[:password]@]host[:port][/database][?options], also
 * mariadb://). */
void *sink_mysql_factory_new(const sink_config_t *config, bson_error_t *error);
bool sink_mysql_factory_check(void *state, bson_error_t *error);
const char *sink_mysql_factory_db(const void *state);
void sink_mysql_factory_destroy(void *state);

/* sink_mysql_bulk.c: a batch's rows through LOAD DATA LOCAL INFILE, fed
 * from memory. One per sink, beside its connection. */
typedef struct sink_mysql_bulk {
  sql_buf_t text; /* the rows as LOAD DATA text (owned) */
  sql_buf_t stmt; /* the LOAD DATA statement (owned) */
  size_t pos;     /* bytes of text the server has read */
  int rendered;   /* text and stmt hold the sink's rows: 1; its rows cannot
                     go as text: -1; not rendered yet: 0 */
  bool armed;     /* a LOAD DATA of the sink runs: the handler feeds text */
  bool cols_ok;   /* every column of the table takes its values as text
                     unchanged (see sink_mysql_bulk_type()) */
  bool off;       /* not for this sink (the server refused LOCAL INFILE) */
} sink_mysql_bulk_t;

/* Installs the local-infile handler on m, feeding b's text while b is
 * armed and refusing every other request (b may be NULL: refuse all). The
 * handler never opens a file. Call before connecting and again when the
 * sink has its b. */
void sink_mysql_bulk_attach(MYSQL *m, sink_mysql_bulk_t *b);

/* Returns whether a column of type (as SHOW COLUMNS gives it) and class cls
 * stores LOAD DATA's text of a value exactly as the INSERTs' binary value. */
bool sink_mysql_bulk_type(const char *type, sql_class_t cls);

/* Renders the rows of s as LOAD DATA text and the statement naming every
 * column of its table into b, without the server (b->rendered: 1, or -1
 * when a value cannot go as text). Call whenever s's rows are made. Returns
 * false and fills error when out of memory. */
bool sink_mysql_bulk_render(sink_mysql_bulk_t *b, const sql_sink_t *s,
                            bson_error_t *error);

/* Loads the rows of s (its table's columns, every one named) with LOAD DATA
 * LOCAL INFILE, in the open transaction, rendering them first unless
 * sink_mysql_bulk_render() did. Returns 0 when every row landed with no
 * warning; -1 when it cannot say so (a value that cannot go as text, a row
 * the server skipped or changed): the caller rolls back and uses INSERTs;
 * -2 when out of memory (error filled); or the error code of a failed
 * statement (error filled). */
int sink_mysql_bulk_load(MYSQL *m, sink_mysql_bulk_t *b, const sql_sink_t *s,
                         bson_error_t *error);

/* Frees what b holds. */
void sink_mysql_bulk_free(sink_mysql_bulk_t *b);

#endif
