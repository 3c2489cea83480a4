/* job_spec: what one job loads (a collection, a file, a byte range), as the
 * plan makes it. Its own header, low in the stack, so that the modules that
 * only name jobs (the plan, the checkpoint) need not include job.h, which
 * runs one. */
#ifndef LOADER_JOB_SPEC_H
#define LOADER_JOB_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one job loads. */
typedef struct job {
  const char *collection; /* target collection (or table) */
  const char *path;       /* input file */
  uint64_t start;         /* byte offset where its first record starts */
  uint64_t end;           /* byte offset where the next job's range starts,
                             or UINT64_MAX */
  size_t index;           /* position in the plan (the checkpoint's key) */
  uint64_t start_line;    /* physical line at start (1 for a whole file) */
  unsigned part;          /* 1-based part of a split file, or 0 */
  unsigned parts;         /* how many parts the file was split into */
  bool json;              /* the file is JSON (one object per line, or one
                             array of objects), not CSV */
  bool json_array;        /* a JSON file that is one array */
} job_t;

#endif
