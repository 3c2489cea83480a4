/* mongo-test-server: a MongoDB wire-protocol server for tests, in memory,
 * on loopback. See --help, and DESIGN.md ("Tests run against live
 * servers"). Exit codes: 0 stopped by SIGTERM/SIGINT, 1 could not start,
 * 2 bad arguments. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Set by SIGINT/SIGTERM; the accept loop stops when it is non-zero. */
static volatile sig_atomic_t stop_requested;

/* Records a stop request. */
static void on_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
}

/* One command-line option: getopt_long's entry plus its help. */
typedef struct {
  const char *name; /* long name */
  int has_arg;      /* no_argument or required_argument */
  int key;          /* value getopt_long returns for it */
  const char *arg;  /* argument name in --help, or NULL */
  const char *help; /* one help line */
} option_t;

enum {
  OPT_PORT = 'p',
  OPT_HELP = 'h',
  OPT_BIND = 256,
  OPT_PORT_FILE,
  OPT_FAULT,
  OPT_DELAY,
  OPT_VERBOSE,
  OPT_USER,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_TLS_CA,
  OPT_REPL_SET,
  OPT_ROUTER
};

static const option_t options[] = {
    {"port", required_argument, OPT_PORT, "N",
     "TCP port to listen on (default 27017; 0 picks a free one)"},
    {"bind", required_argument, OPT_BIND, "ADDR",
     "loopback address to listen on (default 127.0.0.1)"},
    {"port-file", required_argument, OPT_PORT_FILE, "PATH",
     "write the port number to PATH once listening"},
    {"fault", required_argument, OPT_FAULT, "SPEC",
     "inject a fault (repeatable): drop-before-apply:N, "
     "drop-after-apply:N, not-primary:N, error:N:CODE, wc-error:N:CODE, "
     "delay:N:MS, or the same with every: before N (KIND:every:N, "
     "error:every:N:CODE...); counted over insert commands"},
    {"delay-ms", required_argument, OPT_DELAY, "N",
     "wait N milliseconds before every reply"},
    {"repl-set", required_argument, OPT_REPL_SET, "NAME",
     "answer hello as the primary of a one-member replica set NAME"},
    {"router", no_argument, OPT_ROUTER, NULL,
     "answer hello as a mongos (a sharded cluster's router)"},
    {"verbose", no_argument, OPT_VERBOSE, NULL, "log commands to stderr"},
    {"user", required_argument, OPT_USER, "NAME:PASSWORD",
     "a user of the admin database (repeatable): SCRAM-SHA-256, "
     "SCRAM-SHA-1 and PLAIN; with any, commands need authentication"},
    {"tls-cert", required_argument, OPT_TLS_CERT, "FILE",
     "speak TLS only, with this PEM certificate (chain); needs --tls-key"},
    {"tls-key", required_argument, OPT_TLS_KEY, "FILE",
     "the PEM private key of --tls-cert"},
    {"tls-ca", required_argument, OPT_TLS_CA, "FILE",
     "require client certificates signed by this PEM CA"},
    {"help", no_argument, OPT_HELP, NULL, "show this help and exit"},
};

#define NOPTIONS (sizeof options / sizeof options[0])

/* Prints --help to f. */
static void usage(FILE *f)
{
  fprintf(f, "usage: mongo-test-server [OPTIONS]\n\n"
             "An in-memory MongoDB wire-protocol server for tests. Prints\n"
             "'listening 127.0.0.1:PORT' on stdout when ready; SIGTERM or\n"
             "SIGINT stops it.\n\noptions:\n");
  for (size_t i = 0; i < NOPTIONS; i++) {
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", options[i].name,
             options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
    fprintf(f, "  %-22s %s\n", left, options[i].help);
  }
  fprintf(f, "\nexit codes: 0 stopped by a signal, 1 could not start, "
             "2 bad arguments\n");
}

/* Prints "mongo-test-server: <message>" and the usage hint; exits 2. */
static void bad_usage(const char *message, const char *arg)
{
  fprintf(stderr, "mongo-test-server: %s%s%s\n", message, arg ? ": " : "",
          arg ? arg : "");
  fprintf(stderr, "try 'mongo-test-server --help'\n");
  exit(2);
}

/* Parses a decimal integer in [min, max]; exits 2 otherwise. */
static long parse_long(const char *s, long min, long max, const char *what)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    bad_usage(what, s);
  return v;
}

/* Writes the port to path atomically (temporary file, then rename), so a
 * script polling for the file never reads half of it. */
static bool write_port_file(const char *path, int port)
{
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
      (int)sizeof tmp)
    return false;
  FILE *f = fopen(tmp, "w");
  if (!f)
    return false;
  bool ok = fprintf(f, "%d\n", port) > 0;
  ok = fclose(f) == 0 && ok;
  if (ok && rename(tmp, path) != 0)
    ok = false;
  if (!ok)
    unlink(tmp);
  return ok;
}

int main(int argc, char **argv)
{
  struct option longopts[NOPTIONS + 1];
  const char *bind_addr = "127.0.0.1", *port_file = NULL;
  const char *tls_cert = NULL, *tls_key = NULL, *tls_ca = NULL;
  long port = 27017;
  server_t srv;
  int exit_code = 1;

  if (!server_init(&srv)) {
    fprintf(stderr, "mongo-test-server: out of memory\n");
    return 1;
  }
  memset(longopts, 0, sizeof longopts);
  for (size_t i = 0; i < NOPTIONS; i++) {
    longopts[i].name = options[i].name;
    longopts[i].has_arg = options[i].has_arg;
    longopts[i].val = options[i].key;
  }
  int c;
  while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_PORT:
      port = parse_long(optarg, 0, 65535, "bad --port");
      break;
    case OPT_BIND:
      bind_addr = optarg;
      break;
    case OPT_PORT_FILE:
      port_file = optarg;
      break;
    case OPT_FAULT: {
      char why[256];
      fault_t f;
      if (!fault_parse(optarg, &f, why, sizeof why))
        bad_usage(why, NULL);
      fault_t *grown =
          realloc(srv.faults.faults, (srv.faults.nfaults + 1) * sizeof *grown);
      if (!grown)
        bad_usage("out of memory", NULL);
      srv.faults.faults = grown;
      srv.faults.faults[srv.faults.nfaults++] = f;
      break;
    }
    case OPT_DELAY:
      srv.delay_ms = (int)parse_long(optarg, 0, 3600000, "bad --delay-ms");
      break;
    case OPT_VERBOSE:
      srv.verbose = true;
      break;
    case OPT_REPL_SET:
      if (!*optarg || strlen(optarg) > 128 || strpbrk(optarg, "/ ,"))
        bad_usage("bad --repl-set name", optarg);
      srv.repl_set = optarg;
      srv.mode = MODE_REPL_SET;
      break;
    case OPT_ROUTER:
      srv.mode = MODE_ROUTER;
      break;
    case OPT_USER: {
      char why[256];
      if (!auth_add_user(&srv.users, optarg, why, sizeof why))
        bad_usage(why, NULL);
      break;
    }
    case OPT_TLS_CERT:
      tls_cert = optarg;
      break;
    case OPT_TLS_KEY:
      tls_key = optarg;
      break;
    case OPT_TLS_CA:
      tls_ca = optarg;
      break;
    case OPT_HELP:
      usage(stdout);
      server_cleanup(&srv);
      return 0;
    default:
      bad_usage("bad arguments", NULL);
    }
  }
  if (optind < argc)
    bad_usage("unexpected argument", argv[optind]);
  if (srv.repl_set && srv.mode == MODE_ROUTER)
    bad_usage("--repl-set and --router exclude each other", NULL);
  if (!tls_cert != !tls_key || (tls_ca && !tls_cert))
    bad_usage("--tls-cert and --tls-key go together (and --tls-ca needs "
              "them)",
              NULL);
  if (tls_cert) {
    char why[512];
    if (!server_tls_setup(&srv, tls_cert, tls_key, tls_ca, why, sizeof why)) {
      fprintf(stderr, "mongo-test-server: %s\n", why);
      goto out_cleanup;
    }
  }

  /* Loopback only: this is a test fixture. */
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
  if (!strcmp(bind_addr, "localhost"))
    bind_addr = "127.0.0.1";
  if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1)
    bad_usage("--bind takes an IPv4 loopback address", bind_addr);
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127)
    bad_usage("refusing to listen on a non-loopback address", bind_addr);

  /* SIGPIPE never; SIGINT/SIGTERM only while the accept loop waits. */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, NULL);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (lfd < 0) {
    fprintf(stderr, "mongo-test-server: socket: %s\n", strerror(errno));
    goto out_cleanup;
  }
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(lfd, 512) != 0) {
    fprintf(stderr, "mongo-test-server: cannot listen on %s:%ld: %s\n",
            bind_addr, port, strerror(errno));
    close(lfd);
    goto out_cleanup;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &alen);
  int bound = ntohs(addr.sin_port);
  if (port_file && !write_port_file(port_file, bound)) {
    fprintf(stderr, "mongo-test-server: cannot write %s: %s\n", port_file,
            strerror(errno));
    close(lfd);
    goto out_cleanup;
  }
  char shown[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, shown, sizeof shown);
  snprintf(srv.host, sizeof srv.host, "%s:%d", shown, bound);
  printf("listening %s:%d\n", shown, bound);
  fflush(stdout);

  server_run(&srv, lfd, &stop_requested);
  if (srv.verbose)
    fprintf(stderr, "mongo-test-server: stopped\n");
  exit_code = 0;
out_cleanup:
  server_cleanup(&srv);
  return exit_code;
}
