/* Private test servers for fault-injection tests. See test_server.h. */
#include "test_server.h"
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the server may take to say it is listening, and to stop. */
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000

bool test_server_external(void)
{
  const char *env = getenv("MONGODB_URI");
  return env && *env;
}

/* Milliseconds on a monotonic clock. */
static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the server's first stdout line (up to len - 1 bytes) from fd
 * within the start timeout. */
static bool read_line(int fd, char *line, size_t len)
{
  size_t n = 0;
  long long deadline = now_ms() + START_TIMEOUT_MS;
  while (n + 1 < len) {
    long long left = deadline - now_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0)
      return false;
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    ssize_t got = read(fd, line + n, 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    if (line[n] == '\n') {
      line[n] = '\0';
      return true;
    }
    n++;
  }
  return false;
}

bool test_server_spawn(const char *const *extra_args, test_server_t *out)
{
  const char *bin = getenv("LOADER_TEST_SERVER_BIN");
  int pipefd[2] = {-1, -1};
  size_t nextra = 0;
  char **argv = NULL;
  char line[256];
  bool ok = false;

  memset(out, 0, sizeof *out);
  if (!bin || !*bin) {
    fprintf(stderr, "test: LOADER_TEST_SERVER_BIN is not set; run through "
                    "ctest\n");
    return false;
  }
  while (extra_args && extra_args[nextra])
    nextra++;
  argv = calloc(nextra + 4, sizeof *argv);
  if (!argv)
    return false;
  argv[0] = (char *)bin;
  argv[1] = "--port";
  argv[2] = "0";
  for (size_t i = 0; i < nextra; i++)
    argv[3 + i] = (char *)extra_args[i];
  if (pipe(pipefd) != 0) {
    perror("test: pipe");
    goto out_free_argv;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("test: fork");
    goto out_close_pipe;
  }
  if (pid == 0) {
    /* A test that fails an assertion exits without stopping its server:
     * the server goes with it, instead of holding ctest's output pipe
     * open until the test's timeout. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(pipefd[1], STDOUT_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    execv(bin, argv);
    fprintf(stderr, "test: cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
  }
  close(pipefd[1]);
  pipefd[1] = -1;
  int port = 0;
  if (!read_line(pipefd[0], line, sizeof line) ||
      sscanf(line, "listening 127.0.0.1:%d", &port) != 1 || port <= 0) {
    fprintf(stderr, "test: %s did not report 'listening 127.0.0.1:PORT'\n",
            bin);
    test_server_t failed = {.pid = pid};
    test_server_stop(&failed);
    goto out_close_pipe;
  }
  out->pid = pid;
  out->port = port;
  snprintf(out->uri, sizeof out->uri, "mongodb://127.0.0.1:%d/", port);
  ok = true;
out_close_pipe:
  /* The server prints nothing more on stdout, and ignores SIGPIPE. */
  if (pipefd[0] >= 0)
    close(pipefd[0]);
  if (pipefd[1] >= 0)
    close(pipefd[1]);
out_free_argv:
  free(argv);
  return ok;
}

void test_server_stop(test_server_t *server)
{
  if (!server || server->pid <= 0)
    return;
  kill(server->pid, SIGTERM);
  long long deadline = now_ms() + STOP_TIMEOUT_MS;
  for (;;) {
    int status;
    pid_t r = waitpid(server->pid, &status, WNOHANG);
    if (r == server->pid || (r < 0 && errno != EINTR))
      break;
    if (now_ms() > deadline) {
      fprintf(stderr, "test: server %ld ignored SIGTERM; killing it\n",
              (long)server->pid);
      kill(server->pid, SIGKILL);
      waitpid(server->pid, &status, 0);
      break;
    }
    usleep(10000);
  }
  server->pid = 0;
}

int test_closed_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    abort();
  close(fd);
  return ntohs(a.sin_port);
}

int test_server_run(const char *const *args)
{
  const char *bin = getenv("LOADER_TEST_SERVER_BIN");
  const char *argv[8] = {bin};
  for (int i = 0; args[i] && i < 6; i++)
    argv[i + 1] = args[i];
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) ||
        !freopen("/dev/null", "w", stderr))
      _exit(126);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
