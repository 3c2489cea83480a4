/* peak-rss: run a command and report its peak resident set size.
 *
 *   peak-rss OUTFILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND with the same stdin, stdout and stderr, waits for it
 * with wait4(2) and writes "peak_rss_kb=N exit=N" to OUTFILE. Exits with
 * COMMAND's exit status (128 + N when a signal N ended it).
 *
 * Why not measure from the benchmark's Python: a child forked (or vforked)
 * by a large process inherits that process's resident pages until it execs,
 * and ru_maxrss keeps that high-water mark, so a 10 MB loader would read as
 * the 16 MB of the Python that started it. This wrapper is small, so what
 * it reports is the command's own peak. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "Usage: peak-rss OUTFILE COMMAND [ARG...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "peak-rss: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    fprintf(stderr, "peak-rss: %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage usage;
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "peak-rss: wait4: %s\n", strerror(errno));
      return 2;
    }
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  FILE *out = fopen(argv[1], "w");
  if (!out ||
      fprintf(out, "peak_rss_kb=%ld exit=%d\n", usage.ru_maxrss, code) < 0 ||
      fclose(out) != 0) {
    fprintf(stderr, "peak-rss: %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  return code;
}
