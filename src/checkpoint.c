/* checkpoint: where each job of a load got to, so --resume can finish it.
 *
 * The file is JSON: {"version": 1, "jobs": [{"collection", "path", "start",
 * "size", "mtime_ns", "head_hash", "offset", "line", "processed",
 * "inserted", "updated", "rejected", "prior", "done"}, ...]}. */
#include "loader/checkpoint.h"
#include "loader/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_HEAD_BYTES (64u * 1024u)

/* What identifies an input: if any of it changes, resuming is refused. */
typedef struct checkpoint_identity {
  uint64_t size;      /* bytes */
  uint64_t mtime_ns;  /* modification time, nanoseconds since the epoch */
  uint64_t head_hash; /* FNV-1a of the first 64 KiB */
} checkpoint_identity_t;

struct checkpoint {
  pthread_mutex_t lock;        /* guards entries and the file */
  char *path;                  /* the checkpoint file */
  char *tmp;                   /* its temporary name while written */
  const job_t *jobs;           /* the jobs (borrowed) */
  size_t n_jobs;               /* how many */
  checkpoint_identity_t *ids;  /* each job's input identity */
  checkpoint_entry_t *entries; /* each job's progress */
  bool *has;                   /* whether a job has recorded progress */
};

static bool checkpoint__identity(const char *path, checkpoint_identity_t *id,
                                 bson_error_t *error)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno, "%s: %s", path,
                   strerror(errno));
    if (fd >= 0)
      close(fd);
    return false;
  }
  id->size = (uint64_t)st.st_size;
  id->mtime_ns =
      (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
  uint8_t *buf = malloc(CHECKPOINT_HEAD_BYTES);
  uint64_t h = 14695981039346656037u;
  ssize_t n = buf ? read(fd, buf, CHECKPOINT_HEAD_BYTES) : -1;
  for (ssize_t i = 0; i < n; i++)
    h = (h ^ buf[i]) * 1099511628211u;
  id->head_hash = h;
  free(buf);
  close(fd);
  return true;
}

/* Reads a number field of an entry; 0 when absent. */
static uint64_t checkpoint__u64(const bson_t *doc, const char *key)
{
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it))
    return (uint64_t)bson_iter_as_int64(&it);
  return 0;
}

static const char *checkpoint__str(const bson_t *doc, const char *key)
{
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, NULL);
  return "";
}

/* Reads the checkpoint file and matches its entries to the jobs. */
static bool checkpoint__load(checkpoint_t *cp, bson_error_t *error)
{
  bool ok = false;
  FILE *f = fopen(cp->path, "rb");
  if (!f) {
    bson_set_error(error, LOADER_ERROR_USAGE, (uint32_t)errno,
                   "--resume: %s: %s", cp->path, strerror(errno));
    return false;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  char buf[65536];
  size_t n;
  while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
    fwrite(buf, 1, n, mem);
  fclose(f);
  if (!mem) {
    bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
    return false;
  }
  fclose(mem);
  bson_error_t json_error;
  bson_t *doc =
      bson_new_from_json((const uint8_t *)text, (ssize_t)len, &json_error);
  free(text);
  if (!doc) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume: %s is not a checkpoint: %s", cp->path,
                   json_error.message);
    return false;
  }
  bson_iter_t it, jobs;
  if (!bson_iter_init_find(&it, doc, "jobs") || !BSON_ITER_HOLDS_ARRAY(&it) ||
      !bson_iter_recurse(&it, &jobs)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--resume: %s is not a checkpoint", cp->path);
    goto out;
  }
  while (bson_iter_next(&jobs)) {
    uint32_t dlen;
    const uint8_t *data;
    bson_t e;
    if (!BSON_ITER_HOLDS_DOCUMENT(&jobs))
      continue;
    bson_iter_document(&jobs, &dlen, &data);
    if (!bson_init_static(&e, data, dlen))
      continue;
    for (size_t j = 0; j < cp->n_jobs; j++) {
      const job_t *job = &cp->jobs[j];
      if (cp->has[j] ||
          strcmp(checkpoint__str(&e, "collection"), job->collection) != 0 ||
          strcmp(checkpoint__str(&e, "path"), job->path) != 0 ||
          checkpoint__u64(&e, "start") != job->start)
        continue;
      if (checkpoint__u64(&e, "size") != cp->ids[j].size ||
          checkpoint__u64(&e, "mtime_ns") != cp->ids[j].mtime_ns ||
          checkpoint__u64(&e, "head_hash") != cp->ids[j].head_hash) {
        bson_set_error(error, LOADER_ERROR_USAGE, 0,
                       "--resume: %s changed since the checkpoint (size, "
                       "time or content): it cannot be resumed; load it "
                       "again without --resume",
                       job->path);
        goto out;
      }
      checkpoint_entry_t *en = &cp->entries[j];
      en->offset = checkpoint__u64(&e, "offset");
      en->line = checkpoint__u64(&e, "line");
      en->processed = checkpoint__u64(&e, "processed");
      en->inserted = checkpoint__u64(&e, "inserted");
      en->updated = checkpoint__u64(&e, "updated");
      en->rejected = checkpoint__u64(&e, "rejected");
      en->prior = (int64_t)checkpoint__u64(&e, "prior");
      en->done = checkpoint__u64(&e, "done") != 0;
      cp->has[j] = true;
      break;
    }
  }
  ok = true;
out:
  bson_destroy(doc);
  return ok;
}

checkpoint_t *checkpoint_open(const char *path, const job_t *jobs,
                              size_t n_jobs, bool resume, bson_error_t *error)
{
  checkpoint_t *cp = calloc(1, sizeof *cp);
  if (!cp)
    goto out_oom;
  cp->path = strdup(path);
  size_t len = strlen(path) + 8;
  cp->tmp = malloc(len);
  cp->ids = calloc(n_jobs + 1, sizeof *cp->ids);
  cp->entries = calloc(n_jobs + 1, sizeof *cp->entries);
  cp->has = calloc(n_jobs + 1, sizeof *cp->has);
  if (!cp->path || !cp->tmp || !cp->ids || !cp->entries || !cp->has)
    goto out_oom;
  snprintf(cp->tmp, len, "%s.tmp", path);
  cp->jobs = jobs;
  cp->n_jobs = n_jobs;
  pthread_mutex_init(&cp->lock, NULL);
  for (size_t j = 0; j < n_jobs; j++)
    if (!checkpoint__identity(jobs[j].path, &cp->ids[j], error))
      goto out_fail;
  if (resume && !checkpoint__load(cp, error))
    goto out_fail;
  return cp;

out_oom:
  bson_set_error(error, LOADER_ERROR_IO, ENOMEM, "out of memory");
out_fail:
  checkpoint_destroy(cp);
  return NULL;
}

bool checkpoint_get(checkpoint_t *cp, size_t job, checkpoint_entry_t *entry)
{
  pthread_mutex_lock(&cp->lock);
  bool has = cp->has[job];
  if (has)
    *entry = cp->entries[job];
  pthread_mutex_unlock(&cp->lock);
  return has;
}

/* Writes s as a JSON string (paths and names may hold anything). */
static void checkpoint__json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

bool checkpoint_put(checkpoint_t *cp, size_t job,
                    const checkpoint_entry_t *entry, bson_error_t *error)
{
  bool ok = false;
  pthread_mutex_lock(&cp->lock);
  cp->entries[job] = *entry;
  cp->has[job] = true;
  int fd = open(cp->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                0644);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "--checkpoint: %s: %s", cp->tmp, strerror(errno));
    if (fd >= 0)
      close(fd);
    goto out;
  }
  fputs("{\"version\": 1, \"jobs\": [", f);
  bool first = true;
  for (size_t j = 0; j < cp->n_jobs; j++) {
    if (!cp->has[j])
      continue;
    const checkpoint_entry_t *e = &cp->entries[j];
    const checkpoint_identity_t *id = &cp->ids[j];
    fputs(first ? "\n  {\"collection\": " : ",\n  {\"collection\": ", f);
    first = false;
    checkpoint__json_str(f, cp->jobs[j].collection);
    fputs(", \"path\": ", f);
    checkpoint__json_str(f, cp->jobs[j].path);
    fprintf(f,
            ", \"start\": %" PRIu64 ", \"size\": %" PRIu64
            ", \"mtime_ns\": %" PRIu64 ", \"head_hash\": %" PRId64
            ", \"offset\": %" PRIu64 ", \"line\": %" PRIu64
            ", \"processed\": %" PRIu64 ", \"inserted\": %" PRIu64
            ", \"updated\": %" PRIu64 ", \"rejected\": %" PRIu64
            ", \"prior\": %" PRId64 ", \"done\": %d}",
            cp->jobs[j].start, id->size, id->mtime_ns, (int64_t)id->head_hash,
            e->offset, e->line, e->processed, e->inserted, e->updated,
            e->rejected, e->prior, e->done ? 1 : 0);
  }
  fputs("\n]}\n", f);
  bool written = fflush(f) == 0 && fsync(fileno(f)) == 0 && !ferror(f);
  int err = errno;
  if (fclose(f) != 0 || !written) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)err,
                   "--checkpoint: writing %s: %s", cp->tmp, strerror(err));
    goto out;
  }
  if (rename(cp->tmp, cp->path) != 0) {
    bson_set_error(error, LOADER_ERROR_IO, (uint32_t)errno,
                   "--checkpoint: %s: %s", cp->path, strerror(errno));
    goto out;
  }
  ok = true;
out:
  pthread_mutex_unlock(&cp->lock);
  return ok;
}

void checkpoint_destroy(checkpoint_t *cp)
{
  if (!cp)
    return;
  if (cp->jobs)
    pthread_mutex_destroy(&cp->lock);
  free(cp->path);
  free(cp->tmp);
  free(cp->ids);
  free(cp->entries);
  free(cp->has);
  free(cp);
}
