/* sink_mysql_impl: what the MySQL sink's two files share: the factory
 * (sink_mysql_conn.c: the URI, the connections) and the sink
 * (sink_mysql.c). Private to them. */
#ifndef LOADER_SINK_MYSQL_IMPL_H
#define LOADER_SINK_MYSQL_IMPL_H

#include <mysql.h>

#include "sink_impl.h"

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

#endif
