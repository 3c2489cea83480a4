/* app: the whole program between main() and the exit code.
 *
 * Parses the command line, plans the jobs, checks the target, runs the jobs
 * (linear, parallel, or both to compare), reports, and decides the exit
 * code. SIGINT/SIGTERM ask the running jobs to stop; a second signal exits
 * at once. */
#ifndef LOADER_APP_H
#define LOADER_APP_H

/* Runs the loader with argv and returns its exit code (LOADER_EXIT_*). */
int app_main(int argc, char **argv);

#endif
