/* loader: load CSV files into MongoDB, one job per file, in parallel.
 * Everything but this entry point lives in loader_core (see app.c). */
#include "loader/app.h"

int main(int argc, char **argv)
{
  return app_main(argc, argv);
}
