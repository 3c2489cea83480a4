/* sink_sql: what the SQL sinks share as sinks: the transaction steps of a
 * commit, and small helpers. */
#include "loader/error.h"
#include "sink_sql.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

bool sql_commit(const sql_txn_ops_t *ops, void *sink, bool in_txn,
                const char *key, const mark_t *mark, bson_error_t *error)
{
  if (key && !sql_mark_key_check(ops->d, key, error)) {
    if (in_txn)
      ops->end(sink, false, NULL);
    return false;
  }
  if (!in_txn && (!key || !ops->begin(sink, error)))
    return !key;
  if (key && !ops->store_mark(sink, key, mark, error)) {
    ops->end(sink, false, NULL);
    return false;
  }
  return ops->end(sink, true, error);
}

void sql_uncommitted_error(const sql_dialect_t *d, const char *table,
                           const char *what, bson_error_t *error)
{
  bson_set_error(error, LOADER_ERROR_SINK, 0,
                 "%s: %s: cannot %s: the last write is not committed", d->name,
                 table, what);
}
#ifdef LOADER_TEST_HOOKS
unsigned sql_test_delay_ms(const char *name)
{
  const char *v = getenv(name);
  if (!v || !*v)
    return 0;
  char *end;
  errno = 0;
  unsigned long ms = strtoul(v, &end, 10);
  if (errno || *end || ms > 60000)
    return 0;
  return (unsigned)ms;
}
#endif

void sql_sleep_ms(unsigned ms)
{
  struct timespec ts = {.tv_sec = ms / 1000,
                        .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}
