/* loader: load CSV files into MongoDB, one job per file, in parallel.
 * Everything but this entry point lives in loader_core (see app.c). */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loader/app.h"

/* libmongoc initialises itself when it is loaded, before main(), and keeps
 * its statistics counters in a shared-memory object named after the pid
 * (/dev/shm/mongoc-PID) that only a clean exit removes. A loader killed
 * mid-load (kill -9, OOM) would leave it behind, and a later process given
 * the same pid would print libmongoc's "Falling back to malloc for counters"
 * on stderr. Nothing reads these counters, so the name goes at once; the
 * mapping stays valid until exit. */
static void main__unlink_mongoc_counters(void)
{
  char name[32];
  snprintf(name, sizeof name, "/mongoc-%u", (unsigned)getpid());
  (void)shm_unlink(name);
}

int main(int argc, char **argv)
{
  main__unlink_mongoc_counters();
  return app_main(argc, argv);
}
