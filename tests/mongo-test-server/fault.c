/* Fault switches. See fault.h. */
#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a positive decimal count or code; false when s is anything else. */
static bool parse_positive(const char *s, uint64_t *out)
{
  char *end;
  if (!s || *s < '0' || *s > '9')
    return false;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v == 0)
    return false;
  *out = v;
  return true;
}

bool fault_parse(const char *spec, fault_t *out, char *why, size_t why_len)
{
  char buf[128];
  char *parts[5];
  int n = 0;
  uint64_t code = 0;
  if (strlen(spec) >= sizeof buf) {
    snprintf(why, why_len, "fault spec too long");
    return false;
  }
  strcpy(buf, spec);
  for (char *save, *p = strtok_r(buf, ":", &save); p && n < 5;
       p = strtok_r(NULL, ":", &save))
    parts[n++] = p;
  memset(out, 0, sizeof *out);
  if (n < 2)
    goto bad;
  if (!strcmp(parts[0], "drop-before-apply"))
    out->kind = FAULT_DROP_BEFORE;
  else if (!strcmp(parts[0], "drop-after-apply"))
    out->kind = FAULT_DROP_AFTER;
  else if (!strcmp(parts[0], "error"))
    out->kind = FAULT_ERROR;
  else if (!strcmp(parts[0], "delay"))
    out->kind = FAULT_DELAY;
  else if (!strcmp(parts[0], "wc-error"))
    out->kind = FAULT_WC_ERROR;
  else if (!strcmp(parts[0], "not-primary"))
    out->kind = FAULT_NOT_PRIMARY;
  else
    goto bad;
  int i = 1;
  if (!strcmp(parts[i], "every")) {
    out->every = true;
    i++;
  }
  if (i >= n || !parse_positive(parts[i++], &out->n))
    goto bad;
  if (out->kind == FAULT_ERROR || out->kind == FAULT_DELAY ||
      out->kind == FAULT_WC_ERROR) {
    if (i >= n || !parse_positive(parts[i++], &code) || code > 1000000)
      goto bad;
    out->code = (int)code;
  }
  if (i != n)
    goto bad;
  return true;
bad:
  snprintf(why, why_len,
           "bad fault spec '%s' (want drop-before-apply:N, "
           "drop-after-apply:N, not-primary:N, error:N:CODE, "
           "wc-error:N:CODE, delay:N:MS, or KIND:every:N...)",
           spec);
  return false;
}

fault_kind_t fault_on_insert(fault_set_t *set, int *code)
{
  uint64_t count = atomic_fetch_add(&set->inserts, 1) + 1;
  for (size_t i = 0; i < set->nfaults; i++) {
    const fault_t *f = &set->faults[i];
    bool fires = f->every ? count % f->n == 0 : count == f->n;
    if (fires) {
      *code = f->code;
      return f->kind;
    }
  }
  return FAULT_NONE;
}
