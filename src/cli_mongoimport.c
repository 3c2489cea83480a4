/* cli_mongoimport: mongoimport's options that are not another spelling of
 * one of the loader's, settled once argv is used up: -c and --file (and a
 * mongodb:// URI among the FILE arguments) into the inputs and the target,
 * the connection flags (--host, --port, -u, -p, --ssl...) composed into a
 * URI. Its spellings of the loader's own options (--headerline, -d, -j...)
 * are aliases in the option table (src/cli.c), and do exactly what those
 * options do. */
#include "cli_impl.h"
#include "loader/util.h"

#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>

void cli__store_state(cli_state_t *st, const cli_option_t *o, const char *arg)
{
  void *field = (char *)st + o->field;
  size_t conn = offsetof(cli_state_t, conn);
  if (o->kind == CLI_ARG_STATE_BOOL)
    *(bool *)field = true;
  else
    memcpy(field, &arg, sizeof arg);
  if (o->field >= conn && o->field < conn + sizeof st->conn && !st->conn.first)
    st->conn.first = o->name;
}

bool cli__on_verbose(cli_state_t *st, const char *arg, bson_error_t *error)
{
  (void)st;
  /* As mongoimport takes them: -v, --verbose, -vvv (-v given "vv"),
   * --verbose=N, -vv=N. */
  if (!arg || !*arg)
    return true;
  const char *rest = arg + strspn(arg, "v");
  if (rest > arg && *rest == '\0')
    return true;
  if (rest > arg && *rest == '=')
    rest++;
  if (*rest && strspn(rest, "0123456789") == strlen(rest))
    return true;
  return CLI_REFUSE(
      error, "--verbose: expected -v, -vvv or --verbose=N, got \"%s\"", arg);
}

bool cli__pct_append(bson_string_t *buf, const char *text)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
      bson_string_append_c(buf, (char)*p);
    } else {
      bson_string_append_c(buf, '%');
      bson_string_append_c(buf, hex[*p >> 4]);
      bson_string_append_c(buf, hex[*p & 15]);
    }
  }
  return true;
}

/* Returns true for a FILE argument that is a MongoDB URI: mongoimport
 * takes one among its arguments. */
static bool cli__is_uri(const char *arg)
{
  return strncmp(arg, "mongodb://", 10) == 0 ||
         strncmp(arg, "mongodb+srv://", 14) == 0;
}

/* The FILE arguments, --file and -c as inputs; a URI among the arguments
 * as the target. */
static bool cli__settle_inputs(cli_state_t *st, bson_error_t *error)
{
  options_t *opts = st->opts;
  size_t n_paths = 0;
  for (size_t i = 0; i < st->n_files; i++) {
    if (!cli__is_uri(st->files[i])) {
      n_paths++;
    } else if (st->uri_arg || opts->uri) {
      return CLI_REFUSE(error, "a URI given twice (as an argument%s)",
                        opts->uri ? " and with --uri" : "");
    } else {
      st->uri_arg = st->files[i];
    }
  }
  if (st->uri_arg && !cli__replace(&opts->uri, st->uri_arg, error))
    return false;
  if (st->file && n_paths)
    return CLI_REFUSE(error, "--file %s and a FILE argument exclude each other",
                      st->file);
  if (st->file)
    return cli__add_path(opts, st->collection, st->file, error);
  for (size_t i = 0; i < st->n_files; i++) {
    const char *f = st->files[i];
    /* With -c every argument is a path, as mongoimport reads it. */
    if (!cli__is_uri(f) &&
        !(st->collection ? cli__add_path(opts, st->collection, f, error)
                         : cli__add_input(opts, f, error)))
      return false;
  }
  if (st->collection && n_paths == 0) /* mongoimport reads standard input */
    return cli__add_path(opts, st->collection, "-", error);
  if (st->uri_arg && n_paths == 0) {
    /* Most likely --uri forgotten before a file: say what was taken. */
    char *shown = util_redact_uri(st->uri_arg);
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "no input files (%s is the target; standard input needs "
                   "-c NAME)",
                   shown ? shown : "the URI");
    free(shown);
    return false;
  }
  return true;
}

/* Returns true when host ("h", "h:27017", "[::1]:27017") names a port. */
static bool cli__host_has_port(const char *host, size_t len)
{
  for (size_t i = len; i > 0; i--) {
    if (host[i - 1] == ':')
      return true;
    if (host[i - 1] == ']')
      return false;
  }
  return false;
}

/* The URI options mongoimport's flags stand for. */
typedef struct cli_uri_option {
  const char *name;  /* as a URI spells it */
  const char *value; /* from the flag ("true" for a switch), or NULL when
                        the flag is not given */
} cli_uri_option_t;

#define CLI_N_URI_OPTIONS 9

/* Fills out with the URI options of the flags in st. */
static void cli__uri_options(const cli_state_t *st,
                             cli_uri_option_t out[CLI_N_URI_OPTIONS])
{
  const cli_conn_t *c = &st->conn;
  /* mongoimport authenticates against --db unless told otherwise. */
  const char *auth_db = c->auth_db;
  if (!auth_db && c->user && st->opts->db)
    auth_db = st->opts->db;
  const cli_uri_option_t o[CLI_N_URI_OPTIONS] = {
      {"authSource", auth_db},
      {"authMechanism", c->mechanism},
      {"tls", c->tls ? "true" : NULL},
      {"tlsCAFile", c->ca_file},
      {"tlsCertificateKeyFile", c->cert_key_file},
      {"tlsCertificateKeyFilePassword", c->cert_key_pass},
      {"tlsInsecure", c->tls_insecure ? "true" : NULL},
      {"tlsAllowInvalidCertificates", c->allow_invalid_certs ? "true" : NULL},
      {"tlsAllowInvalidHostnames", c->allow_invalid_hosts ? "true" : NULL},
  };
  memcpy(out, o, sizeof o);
}

/* Appends "&name=value" ("?" for the first: *first), value
 * percent-encoded. */
static void cli__query(bson_string_t *uri, bool *first, const char *name,
                       const char *value)
{
  bson_string_append_printf(uri, "%s%s=", *first ? "?" : "&", name);
  cli__pct_append(uri, value);
  *first = false;
}

/* Appends USER[:PASSWORD]@ (user NULL: nothing), percent-encoded. */
static void cli__userinfo(bson_string_t *uri, const char *user,
                          const char *password)
{
  if (!user)
    return;
  cli__pct_append(uri, user);
  if (password) {
    bson_string_append_c(uri, ':');
    cli__pct_append(uri, password);
  }
  bson_string_append_c(uri, '@');
}

/* Appends the seed list of --host [SET/]HOST[:PORT][,HOST...] (empty or
 * absent: localhost), each host without a port given --port, and returns
 * the set name (or NULL) in *set, allocated. */
static void cli__hosts(bson_string_t *uri, const cli_conn_t *c, char **set)
{
  const char *hosts = c->host ? c->host : "";
  const char *slash = strchr(hosts, '/');
  *set = NULL;
  if (slash) {
    if (slash > hosts)
      *set = strndup(hosts, (size_t)(slash - hosts));
    hosts = slash + 1;
  }
  for (const char *h = hosts;;) {
    size_t len = strcspn(h, ",");
    if (h != hosts)
      bson_string_append_c(uri, ',');
    if (len == 0)
      bson_string_append(uri, "localhost");
    else
      bson_string_append_printf(uri, "%.*s", (int)len, h);
    if (c->port && !cli__host_has_port(h, len))
      bson_string_append_printf(uri, ":%s", c->port);
    if (!h[len])
      break;
    h += len + 1;
  }
}

/* Refuses what mongoimport's connection flags cannot mean here; password
 * says whether there is one (a flag, --password-file, the URI). */
static bool cli__check_conn(const cli_state_t *st, bool password,
                            bson_error_t *error)
{
  const cli_conn_t *c = &st->conn;
  uint64_t port;
  if (c->port && !cli__number("port", c->port, 1, 65535, &port, error))
    return false;
  if (c->password && st->opts->password_file)
    return CLI_REFUSE(error,
                      "--password and --password-file exclude each other");
  bool needs_password =
      !c->mechanism || (strcmp(c->mechanism, "MONGODB-X509") != 0 &&
                        strcmp(c->mechanism, "GSSAPI") != 0);
  if (c->user && !password && needs_password)
    return CLI_REFUSE(
        error,
        "--username %s without a password: give --password-file FILE (or -p "
        "PASSWORD, which ps shows); the loader does not prompt",
        c->user);
  if (!c->tls &&
      (c->ca_file || c->cert_key_file || c->cert_key_pass || c->tls_insecure ||
       c->allow_invalid_certs || c->allow_invalid_hosts))
    return CLI_REFUSE(error, "--%s needs --ssl (or --tls)", c->first);
  return true;
}

/* Composes opts->uri from mongoimport's connection flags, as mongoimport
 * does: mongodb://[USER[:PASSWORD]@]HOSTS/[?replicaSet=...&authSource=...
 * &tls=true...], user, password and values percent-encoded. */
static bool cli__compose_uri(cli_state_t *st, bson_error_t *error)
{
  const cli_conn_t *c = &st->conn;
  if (c->password && !c->user)
    return CLI_REFUSE(error, "--password needs --username");
  if (!cli__check_conn(st, c->password || st->opts->password_file, error))
    return false;
  bson_string_t *uri = bson_string_new("mongodb://");
  cli__userinfo(uri, c->user, c->password);
  char *set;
  cli__hosts(uri, c, &set);
  bson_string_append_c(uri, '/');
  bool first = true;
  if (set)
    cli__query(uri, &first, "replicaSet", set);
  free(set);
  cli_uri_option_t o[CLI_N_URI_OPTIONS];
  cli__uri_options(st, o);
  for (size_t i = 0; i < CLI_N_URI_OPTIONS; i++)
    if (o[i].value)
      cli__query(uri, &first, o[i].name, o[i].value);
  free(st->opts->uri);
  st->opts->uri = bson_string_free(uri, false);
  return true;
}

/* Returns the URI's value of option name as text ("true"/"false" for a
 * switch) in buf, or NULL when the URI does not set it. */
static const char *cli__uri_value(const mongoc_uri_t *u, const char *name,
                                  char *buf, size_t cap)
{
  bson_iter_t it;
  if (!bson_iter_init_find_case(&it, mongoc_uri_get_options(u), name) &&
      !bson_iter_init_find_case(&it, mongoc_uri_get_credentials(u), name))
    return NULL;
  if (BSON_ITER_HOLDS_BOOL(&it))
    return bson_iter_bool(&it) ? "true" : "false";
  if (BSON_ITER_HOLDS_UTF8(&it)) {
    snprintf(buf, cap, "%s", bson_iter_utf8(&it, NULL));
    return buf;
  }
  return "";
}

/* Fills error for a flag that contradicts the URI; never shows a value
 * (it may be a password). */
static bool cli__contradicts(const char *what, bson_error_t *error)
{
  return CLI_REFUSE(error,
                    "%s: the URI says otherwise (give it once, in the URI or "
                    "as a flag)",
                    what);
}

/* Adds mongoimport's connection flags to a URI given with --uri, as
 * mongoimport does: a flag that agrees with the URI changes nothing, one
 * the URI lacks is added, one that contradicts it is refused (exit 2).
 * --host and --port are refused: the URI names the hosts. */
static bool cli__merge_uri(cli_state_t *st, bson_error_t *error)
{
  const cli_conn_t *c = &st->conn;
  const char *text = st->opts->uri;
  if (c->host || c->port)
    return CLI_REFUSE(error,
                      "--%s cannot be combined with a URI: the URI "
                      "names the hosts",
                      c->host ? "host" : "port");
  const char *scheme_end = strstr(text, "://");
  mongoc_uri_t *u = strncmp(text, "mongodb", 7) == 0 && scheme_end
                        ? mongoc_uri_new_with_error(text, NULL)
                        : NULL;
  if (!u)
    return CLI_REFUSE(error, "--%s needs a MongoDB URI that libmongoc can read",
                      c->first);
  const char *user = mongoc_uri_get_username(u);
  const char *password = mongoc_uri_get_password(u);
  bool ok = false;
  bson_string_t *out = NULL;
  if (c->user && user && strcmp(c->user, user) != 0) {
    cli__contradicts("--username", error);
    goto out_uri;
  }
  if (c->password && password && strcmp(c->password, password) != 0) {
    cli__contradicts("--password", error);
    goto out_uri;
  }
  if (c->password && !c->user && !user) {
    (void)CLI_REFUSE(error, "--password needs --username");
    goto out_uri;
  }
  if (!cli__check_conn(st, c->password || password || st->opts->password_file,
                       error))
    goto out_uri;
  cli_uri_option_t o[CLI_N_URI_OPTIONS];
  cli__uri_options(st, o);
  if (!c->auth_db && mongoc_uri_get_database(u))
    o[0].value = NULL; /* the URI's database is the auth source */
  char buf[4096];
  for (size_t i = 0; i < CLI_N_URI_OPTIONS; i++) {
    const char *have =
        o[i].value ? cli__uri_value(u, o[i].name, buf, sizeof buf) : NULL;
    if (have && strcmp(have, o[i].value) != 0) {
      cli__contradicts(o[i].name, error);
      goto out_uri;
    }
    if (have)
      o[i].value = NULL; /* already there */
  }

  /* The user and password go into the authority, before its last '@' or
   * at its start; the options at the end. */
  const char *auth = scheme_end + 3;
  size_t auth_len = strcspn(auth, "/?");
  const char *at = NULL;
  for (const char *p = auth; p < auth + auth_len; p++)
    if (*p == '@')
      at = p;
  out = bson_string_new(NULL);
  bson_string_append_printf(out, "%.*s", (int)(auth - text), text);
  if (!at) {
    cli__userinfo(out, c->user, c->password);
    bson_string_append(out, auth);
  } else {
    bson_string_append_printf(out, "%.*s", (int)(at - auth), auth);
    if (c->password && !password) {
      bson_string_append_c(out, ':');
      cli__pct_append(out, c->password);
    }
    bson_string_append(out, at);
  }
  bool first = !strchr(auth + auth_len, '?');
  if (first && !auth[auth_len])
    bson_string_append_c(out, '/');
  for (size_t i = 0; i < CLI_N_URI_OPTIONS; i++)
    if (o[i].value)
      cli__query(out, &first, o[i].name, o[i].value);
  free(st->opts->uri);
  st->opts->uri = bson_string_free(out, false);
  ok = true;
out_uri:
  mongoc_uri_destroy(u);
  return ok;
}

bool cli__mongoimport_settle(cli_state_t *st, bson_error_t *error)
{
  if (!cli__settle_inputs(st, error))
    return false;
  if (!st->conn.first)
    return true;
  /* --password="" asks mongoimport to prompt: here, as no password. */
  if (st->conn.password && !*st->conn.password)
    st->conn.password = NULL;
  return st->opts->uri ? cli__merge_uri(st, error)
                       : cli__compose_uri(st, error);
}
