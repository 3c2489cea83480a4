/* verify: the phase after the load that reads back what landed (see
 * verify.h for the two methods).
 *
 * Threads: verify_run() (the main thread) plans, then submits one task per
 * job (job_run() against a checker sink: the job's parser and its
 * --inflight writers, which here read back instead of writing) and one per
 * part of each collection read whole (sink_scan_parts()), waits, compares, and
 * for collections whose digests differ does it again naming rows. A job's
 * counts and buckets are guarded by its lock, a collection's by its own;
 * nothing else is shared, and no lock is held while another is taken or during
 * I/O. */
#include "loader/verify.h"
#include "loader/error.h"
#include "loader/pool.h"
#include "loader/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Buckets of a digest: a difference is looked for again only in the
 * buckets whose sums differ. */
#define VERIFY_BUCKETS 4096

__extension__ typedef unsigned __int128 verify_u128;

/* One bucket: the sum of the hashes of its documents, and their count. */
typedef struct verify_bucket {
  verify_u128 sum; /* wraps around: order-independent */
  uint64_t n;      /* documents */
} verify_bucket_t;

/* A row built, in a bucket that differs (naming pass). */
typedef struct verify_want {
  verify_u128 h; /* its hash */
  size_t job;    /* its job */
  uint64_t line; /* its line */
} verify_want_t;

/* A stored document, in a bucket that differs (naming pass). */
typedef struct verify_have {
  verify_u128 h;   /* its hash */
  char label[112]; /* what names it */
} verify_have_t;

/* One collection of the plan. */
typedef struct verify_coll {
  const char *name;      /* its name (borrowed from the plan) */
  sink_factory_t *sinks; /* the target */
  size_t first_job;      /* the first job that writes it */
  unsigned methods;      /* how its jobs are verified (0: not) */
  unsigned parts;        /* readers of a scan (sink_scan_parts()) */
  char why[224];         /* why not */
  verify_bucket_t *have; /* the digest of what it holds */
  bool *differs;         /* buckets whose digests differ */
  bool naming;           /* the naming pass is on */
  pthread_mutex_t lock;  /* guards what follows */
  verify_want_t *want;   /* naming: rows built in differing buckets */
  size_t n_want, cap_want;
  verify_have_t *held; /* naming: stored documents in them */
  size_t n_held, cap_held;
  bool capped;        /* more entries than VERIFY_MAX_ENTRIES */
  bool failed;        /* the read failed: error */
  bson_error_t error; /* why */
} verify_coll_t;

typedef struct verify verify_t;

/* One job of the plan. */
typedef struct verify_task {
  verify_t *v;             /* the phase */
  size_t index;            /* the job's index */
  verify_coll_t *coll;     /* its collection */
  sink_factory_t *checker; /* the target's sinks, checking */
  job_result_t res;        /* what reading the input again did */
  pthread_mutex_t lock;    /* guards what follows */
  verify_bucket_t *want;   /* the digest of the documents built */
  uint64_t nofit;          /* built, but the target would refuse them */
  uint64_t id_bad;         /* by _id: missing or different */
  uint64_t digest_bad;     /* by digest: missing, changed or doubled */
  verify_job_t *out;       /* where the findings go */
} verify_task_t;

struct verify {
  const verify_config_t *cfg; /* what the phase works with */
  verify_task_t *tasks;       /* one per job */
  verify_coll_t *colls;       /* one per collection */
  size_t n_colls;             /* how many */
};

/* The hash: FNV-1a over 128 bits, finished by a mix so every bit of the
 * bucket index depends on every byte. Not cryptographic: it tells
 * accidental changes apart, with a chance of 2^-128 per pair of
 * documents. */
static const verify_u128 verify__basis =
    ((verify_u128)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;

typedef struct verify_hash {
  verify_u128 h; /* state */
} verify_hash_t;

static void verify__bytes(void *ctx, const void *data, size_t len)
{
  verify_hash_t *hs = ctx;
  const unsigned char *p = data;
  verify_u128 h = hs->h;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h = (h << 88) + h * 0x13b; /* times 2^88 + 0x13b, FNV's prime */
  }
  hs->h = h;
}

static uint64_t verify__mix64(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static verify_u128 verify__finish(verify_u128 h)
{
  uint64_t hi = (uint64_t)(h >> 64), lo = (uint64_t)h;
  uint64_t a = verify__mix64(hi ^ verify__mix64(lo));
  uint64_t b = verify__mix64(lo ^ a);
  return ((verify_u128)a << 64) | b;
}

static size_t verify__bucket(verify_u128 h)
{
  return (size_t)((uint64_t)(h >> 64) % VERIFY_BUCKETS);
}

static void verify__add(verify_bucket_t *b, verify_u128 h)
{
  b[verify__bucket(h)].sum += h;
  b[verify__bucket(h)].n++;
}

/* Appends a difference to a job, keeping the VERIFY_MAX_DIFFS first by
 * line (batches are checked in any order). Call with the task's lock. */
static void verify__diff(verify_job_t *out, uint64_t line, const char *what)
{
  for (size_t i = 0; line && i < out->n_diffs; i++)
    if (out->diffs[i].line == line)
      return; /* both methods found it: the first word stands */
  size_t at = out->n_diffs;
  while (at > 0 && out->diffs[at - 1].line > line)
    at--;
  if (at == VERIFY_MAX_DIFFS)
    return;
  if (out->n_diffs == VERIFY_MAX_DIFFS)
    out->n_diffs--;
  memmove(&out->diffs[at + 1], &out->diffs[at],
          (out->n_diffs - at) * sizeof out->diffs[0]);
  out->diffs[at].line = line;
  snprintf(out->diffs[at].what, sizeof out->diffs[at].what, "%s", what);
  out->n_diffs++;
}

/* Grows an array of entries (size bytes each) to hold one more. */
static bool verify__grow(void *itemsp, size_t *cap, size_t n, size_t size)
{
  if (n < *cap)
    return true;
  size_t want = *cap ? *cap * 2 : 256;
  void *p = realloc(*(void **)itemsp, want * size);
  if (!p)
    return false;
  *(void **)itemsp = p;
  *cap = want;
  return true;
}

/* The documents of a batch, as static views. */
static size_t verify__split(const batch_t *batch, bson_t *docs)
{
  size_t len, at = 0, n = batch_count(batch);
  const uint8_t *data = batch_data(batch, &len);
  for (size_t i = 0; i < n; i++) {
    uint32_t dl;
    memcpy(&dl, data + at, 4);
    dl = BSON_UINT32_FROM_LE(dl);
    if (!bson_init_static(&docs[i], data + at, dl))
      return i;
    at += dl;
  }
  return n;
}

/* Finds the raw _id element of doc: its bytes at *p, *len of them. */
static bool verify__id(const bson_t *doc, const uint8_t **p, size_t *len)
{
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, "_id"))
    return false;
  *p = bson_get_data(doc) + it.off;
  *len = it.next_off - it.off;
  return true;
}

/* Says how two documents with the same _id differ: the first field. */
static void verify__how(const bson_t *built, const bson_t *held, char *out,
                        size_t cap)
{
  bson_iter_t a, b;
  bool ma = bson_iter_init(&a, built), mb = bson_iter_init(&b, held);
  while (ma && mb) {
    ma = bson_iter_next(&a);
    mb = bson_iter_next(&b);
    if (!ma || !mb)
      break;
    if (strcmp(bson_iter_key(&a), bson_iter_key(&b)) != 0) {
      snprintf(out, cap,
               "differs from the document built: field \"%s\" where the "
               "target has \"%s\"",
               bson_iter_key(&a), bson_iter_key(&b));
      return;
    }
    size_t la = a.next_off - a.off, lb = b.next_off - b.off;
    if (la != lb || memcmp(bson_get_data(built) + a.off,
                           bson_get_data(held) + b.off, la) != 0) {
      snprintf(out, cap,
               "differs from the document built: field \"%s\" is not the "
               "value the loader built",
               bson_iter_key(&a));
      return;
    }
  }
  if (ma && !mb)
    snprintf(out, cap,
             "differs from the document built: the target lacks field \"%s\"",
             bson_iter_key(&a));
  else if (mb && !ma)
    snprintf(out, cap,
             "differs from the document built: the target has a field \"%s\" "
             "more",
             bson_iter_key(&b));
  else
    snprintf(out, cap, "differs from the document built");
}

/* A batch's lookup by _id: the documents built, an open-addressing table
 * of their _id elements, and which were found. */
typedef struct verify_lookup {
  verify_task_t *t;     /* the job */
  const batch_t *batch; /* the batch */
  bson_t *docs;         /* its documents */
  size_t n;             /* how many */
  size_t *slots;        /* document index + 1 per slot, 0: empty */
  size_t mask;          /* slots - 1 (a power of two minus one) */
  bool *seen;           /* per document: found */
} verify_lookup_t;

static size_t verify__slot(const verify_lookup_t *l, const uint8_t *p,
                           size_t len)
{
  size_t s = (size_t)util_hash64(p, len, 0) & l->mask;
  for (;; s = (s + 1) & l->mask) {
    size_t i = l->slots[s];
    if (!i)
      return s;
    const uint8_t *q;
    size_t ql;
    if (verify__id(&l->docs[i - 1], &q, &ql) && ql == len &&
        memcmp(p, q, len) == 0)
      return s;
  }
}

/* One document the target returned for a lookup. */
static bool verify__found(void *ctx, const bson_t *held)
{
  verify_lookup_t *l = ctx;
  const uint8_t *p;
  size_t len;
  if (!verify__id(held, &p, &len))
    return true;
  size_t i = l->slots[verify__slot(l, p, len)];
  if (!i || l->seen[i - 1])
    return true;
  i--;
  l->seen[i] = true;
  const bson_t *built = &l->docs[i];
  if (built->len == held->len &&
      memcmp(bson_get_data(built), bson_get_data(held), built->len) == 0)
    return true;
  char what[224];
  verify__how(built, held, what, sizeof what);
  pthread_mutex_lock(&l->t->lock);
  l->t->id_bad++;
  verify__diff(l->t->out, batch_line(l->batch, i), what);
  pthread_mutex_unlock(&l->t->lock);
  return true;
}

/* Looks the documents of a batch up by _id and compares them. */
static bool verify__by_id(verify_task_t *t, sink_t *sink, const batch_t *batch,
                          bson_t *docs, size_t n, bson_error_t *error)
{
  verify_lookup_t l = {.t = t, .batch = batch, .docs = docs, .n = n};
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  l.mask = cap - 1;
  l.slots = calloc(cap, sizeof *l.slots);
  l.seen = calloc(n ? n : 1, sizeof *l.seen);
  bson_t ids = BSON_INITIALIZER;
  bool ok = false;
  if (!l.slots || !l.seen) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  uint32_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p;
    size_t len;
    bson_iter_t it;
    if (!verify__id(&docs[i], &p, &len) ||
        !bson_iter_init_find(&it, &docs[i], "_id")) {
      l.seen[i] = true; /* nothing to look up by */
      continue;
    }
    size_t s = verify__slot(&l, p, len);
    if (l.slots[s]) { /* the same _id as an earlier row of the batch: the
                         target holds one document for both */
      char what[224];
      snprintf(what, sizeof what,
               "its _id is that of line %llu: the target holds one "
               "document for both",
               (unsigned long long)batch_line(batch, l.slots[s] - 1));
      l.seen[i] = true;
      pthread_mutex_lock(&t->lock);
      t->id_bad++;
      verify__diff(t->out, batch_line(batch, i), what);
      pthread_mutex_unlock(&t->lock);
      continue;
    }
    l.slots[s] = i + 1;
    char key[16];
    const char *kp;
    size_t kl = bson_uint32_to_string(k++, &kp, key, sizeof key);
    bson_append_iter(&ids, kp, (int)kl, &it);
  }
  if (k && !sink_find_ids(sink, &ids, verify__found, &l, error))
    goto out;
  pthread_mutex_lock(&t->lock);
  for (size_t i = 0; i < n; i++)
    if (!l.seen[i]) {
      t->id_bad++;
      verify__diff(t->out, batch_line(batch, i),
                   "missing: no document with its _id");
    }
  pthread_mutex_unlock(&t->lock);
  ok = true;
out:
  bson_destroy(&ids);
  free(l.slots);
  free(l.seen);
  return ok;
}

/* The checker: what a job's writers do with each batch built again. */
static bool verify__check(void *ctx, sink_t *sink, const batch_t *batch,
                          bson_error_t *error)
{
  verify_task_t *t = ctx;
  verify_coll_t *c = t->coll;
  size_t n = batch_count(batch);
  bson_t *docs = calloc(n ? n : 1, sizeof *docs);
  verify_u128 *hashes = calloc(n ? n : 1, sizeof *hashes);
  bool *fits = calloc(n ? n : 1, sizeof *fits);
  bool ok = false;
  if (!docs || !hashes || !fits) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  n = verify__split(batch, docs);
  if (c->methods & VERIFY_BY_DIGEST) {
    for (size_t i = 0; i < n; i++) {
      verify_hash_t hs = {verify__basis};
      sink_feed_t feed = {.bytes = verify__bytes, .ctx = &hs};
      if (!sink_canon(sink, &docs[i], &feed, &fits[i], error))
        goto out;
      hashes[i] = verify__finish(hs.h);
    }
    if (!c->naming) {
      pthread_mutex_lock(&t->lock);
      for (size_t i = 0; i < n; i++)
        if (fits[i])
          verify__add(t->want, hashes[i]);
        else
          t->nofit++;
      pthread_mutex_unlock(&t->lock);
    } else {
      pthread_mutex_lock(&c->lock);
      for (size_t i = 0; i < n; i++) {
        if (!fits[i] || !c->differs[verify__bucket(hashes[i])])
          continue;
        if (c->n_want == VERIFY_MAX_ENTRIES ||
            !verify__grow(&c->want, &c->cap_want, c->n_want, sizeof *c->want)) {
          c->capped = true;
          continue;
        }
        c->want[c->n_want++] =
            (verify_want_t){hashes[i], t->index, batch_line(batch, i)};
      }
      pthread_mutex_unlock(&c->lock);
    }
  }
  if ((c->methods & VERIFY_BY_ID) && !c->naming &&
      !verify__by_id(t, sink, batch, docs, n, error))
    goto out;
  ok = true;
out:
  free(docs);
  free(hashes);
  free(fits);
  return ok;
}

/* Reads job t's input again against its checker. A pool task. */
static void verify__job_task(void *arg)
{
  verify_task_t *t = arg;
  const verify_config_t *cfg = t->v->cfg;
  job_env_t env = job_env_rerun(cfg->env, t->checker);
  job_result_t res;
  job_run(&cfg->plan->jobs[t->index], &env, &res);
  if (!t->coll->naming)
    t->res = res;
  else if (!res.ok) {
    t->res.ok = false;
    t->res.error = res.error;
  }
}

/* One part of a collection read whole: a pool task. */
typedef struct verify_scan {
  verify_hash_t hs;      /* the document being read (first: the feed's
                            bytes take the scan as a verify_hash_t) */
  verify_coll_t *c;      /* the collection */
  unsigned part, parts;  /* which part of how many (see sink_scan()) */
  verify_bucket_t *have; /* the digest of this part, added to the
                            collection's at the end */
} verify_scan_t;

static bool verify__scan_end(void *ctx, const char *label)
{
  verify_scan_t *s = ctx;
  verify_coll_t *c = s->c;
  verify_u128 h = verify__finish(s->hs.h);
  s->hs.h = verify__basis;
  if (!c->naming) {
    verify__add(s->have, h);
    return true;
  }
  if (!c->differs[verify__bucket(h)])
    return true;
  pthread_mutex_lock(&c->lock);
  if (c->n_held == VERIFY_MAX_ENTRIES ||
      !verify__grow(&c->held, &c->cap_held, c->n_held, sizeof *c->held)) {
    c->capped = true;
  } else {
    verify_have_t *e = &c->held[c->n_held++];
    e->h = h;
    snprintf(e->label, sizeof e->label, "%s", label);
  }
  pthread_mutex_unlock(&c->lock);
  return true;
}

/* Reads one part of a collection. A pool task. */
static void verify__scan_task(void *arg)
{
  verify_scan_t *s = arg;
  verify_coll_t *c = s->c;
  s->hs.h = verify__basis;
  sink_feed_t feed = {.bytes = verify__bytes,
                      .end = verify__scan_end,
                      .ctx = s,
                      .want_labels = c->naming};
  bson_error_t error;
  bson_set_error(&error, LOADER_ERROR_IO, 0, "out of memory");
  sink_t *sink = NULL;
  bool ok =
      (c->naming || (s->have = calloc(VERIFY_BUCKETS, sizeof *s->have))) &&
      (sink = sink_open(c->sinks, c->name, &error)) &&
      sink_scan(sink, s->part, s->parts, &feed, &error);
  sink_close(sink);
  pthread_mutex_lock(&c->lock);
  if (!ok && !c->failed) {
    c->failed = true;
    c->error = error;
  }
  for (size_t b = 0; ok && s->have && b < VERIFY_BUCKETS; b++) {
    c->have[b].sum += s->have[b].sum;
    c->have[b].n += s->have[b].n;
  }
  pthread_mutex_unlock(&c->lock);
  free(s->have);
  s->have = NULL;
}

/* Says which collections there are and how each can be verified. */
static bool verify__plan(verify_t *v, bson_error_t *error)
{
  const verify_config_t *cfg = v->cfg;
  const plan_t *plan = cfg->plan;
  for (size_t j = 0; j < plan->n_jobs; j++) {
    verify_coll_t *c = NULL;
    for (size_t k = 0; k < v->n_colls && !c; k++)
      if (strcmp(v->colls[k].name, plan->jobs[j].collection) == 0)
        c = &v->colls[k];
    if (!c) {
      c = &v->colls[v->n_colls++];
      c->name = plan->jobs[j].collection;
      c->sinks = cfg->sinks;
      c->first_job = j;
      pthread_mutex_init(&c->lock, NULL);
      c->have = calloc(VERIFY_BUCKETS, sizeof *c->have);
      c->differs = calloc(VERIFY_BUCKETS, sizeof *c->differs);
      if (!c->have || !c->differs)
        goto oom;
    }
    verify_task_t *t = &v->tasks[j];
    t->v = v;
    t->index = j;
    t->coll = c;
    pthread_mutex_init(&t->lock, NULL);
    t->want = calloc(VERIFY_BUCKETS, sizeof *t->want);
    t->checker = sink_factory_checker(cfg->sinks, verify__check, t, error);
    if (!t->want || !t->checker)
      goto oom;
  }
  const doc_options_t *doc = cfg->env->doc;
  bool ids = doc->add_id && doc->id_from != DOCB_ID_OBJECTID;
  for (size_t k = 0; k < v->n_colls; k++) {
    verify_coll_t *c = &v->colls[k];
    sink_t *sink = sink_open(cfg->sinks, c->name, error);
    if (!sink)
      return false;
    bool by_id = ids && sink_can_find_ids(sink);
    c->parts = sink_scan_parts(sink, VERIFY_SCAN_PARTS);
    sink_close(sink);
    int64_t prior = 0;
    if (cfg->load) {
      prior = cfg->load[c->first_job].prior;
      if (cfg->run && cfg->run->coll_prior &&
          cfg->run->coll_prior[c->first_job] >= 0)
        prior = cfg->run->coll_prior[c->first_job];
    }
    c->methods =
        (by_id ? VERIFY_BY_ID : 0u) | (prior == 0 ? VERIFY_BY_DIGEST : 0u);
    if (!c->methods)
      snprintf(c->why, sizeof c->why,
               "the collection held %lld documents before the load and "
               "their ids are new in every run: nothing tells this load's "
               "documents apart (load with --drop, or ids from --id-from "
               "line or key columns)",
               (long long)prior);
  }
  return true;
oom:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
  return false;
}

/* Runs a task per job whose collection is selected (all, or those being
 * named) and a scan per such collection; waits for them. */
static bool verify__pass(verify_t *v, bool naming, bson_error_t *error)
{
  const verify_config_t *cfg = v->cfg;
  /* Each collection read whole is read in parts at once (as many as its
   * target reads best, at most VERIFY_SCAN_PARTS), on threads of their
   * own beside the jobs' workers, so that reading the input again and
   * reading the target overlap. */
  size_t n_scans = 0;
  for (size_t k = 0; k < v->n_colls; k++)
    if (v->colls[k].naming == naming &&
        (v->colls[k].methods & VERIFY_BY_DIGEST) && !v->colls[k].failed)
      n_scans += v->colls[k].parts;
  verify_scan_t *scans = calloc(n_scans ? n_scans : 1, sizeof *scans);
  if (!scans) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    return false;
  }
  size_t threads = cfg->workers + n_scans;
  pool_t *pool = pool_new(threads, threads * 2, error);
  if (!pool) {
    free(scans);
    return false;
  }
  size_t at = 0;
  for (size_t k = 0; k < v->n_colls; k++) {
    verify_coll_t *c = &v->colls[k];
    if (c->naming != naming || !(c->methods & VERIFY_BY_DIGEST) || c->failed)
      continue;
    for (unsigned p = 0; p < c->parts; p++) {
      scans[at] = (verify_scan_t){.c = c, .part = p, .parts = c->parts};
      pool_submit(pool, verify__scan_task, &scans[at++]);
    }
  }
  for (size_t j = 0; j < cfg->plan->n_jobs; j++) {
    verify_task_t *t = &v->tasks[j];
    if (t->coll->naming == naming && t->coll->methods && !t->out->why[0])
      pool_submit(pool, verify__job_task, t);
  }
  pool_destroy(pool);
  free(scans);
  return true;
}

/* Orders entries by hash. */
static int verify__cmp_want(const void *a, const void *b)
{
  const verify_want_t *x = a, *y = b;
  if (x->h != y->h)
    return x->h < y->h ? -1 : 1;
  if (x->job != y->job)
    return x->job < y->job ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

static int verify__cmp_held(const void *a, const void *b)
{
  const verify_have_t *x = a, *y = b;
  return x->h < y->h ? -1 : x->h > y->h;
}

/* Names the differences of a collection from its naming pass: rows built
 * that the target does not hold as many times, documents held that no row
 * built. */
static void verify__name(verify_t *v, verify_coll_t *c)
{
  if (c->n_want)
    qsort(c->want, c->n_want, sizeof *c->want, verify__cmp_want);
  if (c->n_held)
    qsort(c->held, c->n_held, sizeof *c->held, verify__cmp_held);
  size_t w = 0, h = 0;
  char what[224];
  while (w < c->n_want || h < c->n_held) {
    verify_u128 key =
        w < c->n_want && (h == c->n_held || c->want[w].h <= c->held[h].h)
            ? c->want[w].h
            : c->held[h].h;
    size_t w0 = w, h0 = h;
    while (w < c->n_want && c->want[w].h == key)
      w++;
    while (h < c->n_held && c->held[h].h == key)
      h++;
    size_t nw = w - w0, nh = h - h0;
    if (nw > nh) { /* rows missing: the last ones of the group */
      for (size_t i = w0 + nh; i < w; i++) {
        verify_task_t *t = &v->tasks[c->want[i].job];
        t->digest_bad++;
        verify__diff(t->out, c->want[i].line,
                     "missing or changed: the target holds no document as "
                     "built from this row");
      }
    } else if (nh > nw && nw > 0) { /* rows there more than once */
      verify_task_t *t = &v->tasks[c->want[w0].job];
      t->digest_bad++;
      snprintf(what, sizeof what,
               "doubled: the target holds the document built from this "
               "row %zu times (one more: %s)",
               nh - nw + 1, c->held[h0].label);
      verify__diff(t->out, c->want[w0].line, what);
    } else if (nh > nw) { /* documents no row built */
      verify_job_t *first = v->tasks[c->first_job].out;
      for (size_t i = h0; i < h; i++) {
        first->extra++;
        snprintf(what, sizeof what,
                 "a document no row of the input built (changed, or "
                 "added): %s",
                 c->held[i].label);
        verify__diff(first, 0, what);
      }
    }
  }
  if (c->capped)
    v->tasks[c->first_job].out->capped = true;
}

/* Sums the digests of the jobs of c and marks the buckets that differ from
 * what c holds. Returns whether any does. */
static bool verify__compare(verify_t *v, verify_coll_t *c)
{
  bool any = false;
  for (size_t b = 0; b < VERIFY_BUCKETS; b++) {
    verify_bucket_t want = {0, 0};
    for (size_t j = 0; j < v->cfg->plan->n_jobs; j++)
      if (v->tasks[j].coll == c && !v->tasks[j].out->why[0]) {
        want.sum += v->tasks[j].want[b].sum;
        want.n += v->tasks[j].want[b].n;
      }
    c->differs[b] = want.sum != c->have[b].sum || want.n != c->have[b].n;
    any |= c->differs[b];
  }
  return any;
}

/* Fills job j's findings from its task. */
static void verify__settle(verify_t *v, size_t j)
{
  const verify_config_t *cfg = v->cfg;
  verify_task_t *t = &v->tasks[j];
  verify_job_t *out = t->out;
  verify_coll_t *c = t->coll;
  if (out->why[0])
    return;
  if (!t->res.ok) {
    snprintf(out->why, sizeof out->why, "cannot read back: %.200s",
             t->res.error.message);
    return;
  }
  if (c->failed) {
    snprintf(out->why, sizeof out->why, "cannot read the collection: %.190s",
             c->error.message);
    return;
  }
  uint64_t built = t->res.inserted;
  if (cfg->load) {
    const job_result_t *load = &cfg->load[j];
    if (load->processed != t->res.processed) {
      snprintf(out->why, sizeof out->why,
               "the input changed since the load: it has %llu rows, the "
               "load read %llu",
               (unsigned long long)t->res.processed,
               (unsigned long long)load->processed);
      return;
    }
    out->rows = load->inserted;
    out->refused =
        load->rejected > t->res.rejected ? load->rejected - t->res.rejected : 0;
  } else {
    out->rows = built - t->nofit;
  }
  /* Refused rows that the canonical form does not tell (SQL: those that do
   * not fit the table are known one by one, and were never compared). */
  uint64_t unknown = out->refused > t->nofit ? out->refused - t->nofit : 0;
  uint64_t bad = t->id_bad > t->digest_bad ? t->id_bad : t->digest_bad;
  if (bad && bad <= unknown) {
    /* As many rows as the target refused during the load are not there:
     * those are the rows it refused. */
    bad = 0;
    size_t keep = 0;
    for (size_t i = 0; i < out->n_diffs; i++)
      if (out->diffs[i].line == 0)
        out->diffs[keep++] = out->diffs[i];
    out->n_diffs = keep;
  }
  out->methods = c->methods;
  out->differences = bad;
  out->verified = out->rows > bad ? out->rows - bad : 0;
  out->elapsed_s = t->res.elapsed_s;
}

/* A collection with a job that is not verified (its load did not finish)
 * holds documents no other job built: its digest cannot close, so only
 * lookups by _id verify the others. */
static void verify__unfinished(verify_t *v)
{
  size_t n = v->cfg->plan->n_jobs;
  for (size_t j = 0; j < n; j++) {
    verify_coll_t *c = v->tasks[j].coll;
    if (!v->tasks[j].out->why[0] || !(c->methods & VERIFY_BY_DIGEST))
      continue;
    c->methods &= ~(unsigned)VERIFY_BY_DIGEST;
    for (size_t k = 0; k < n; k++) {
      verify_job_t *out = v->tasks[k].out;
      if (v->tasks[k].coll == c && !out->why[0] && !c->methods)
        snprintf(out->why, sizeof out->why,
                 "a job of the same collection did not finish, and ids are "
                 "new in every run: nothing tells this job's documents "
                 "apart");
    }
  }
}

bool verify_run(const verify_config_t *cfg, verify_report_t *report,
                bson_error_t *error)
{
  double t0 = util_now();
  size_t n = cfg->plan->n_jobs;
  memset(report, 0, sizeof *report);
  verify_t v = {.cfg = cfg};
  bool ok = false;
  report->jobs = calloc(n ? n : 1, sizeof *report->jobs);
  v.tasks = calloc(n ? n : 1, sizeof *v.tasks);
  v.colls = calloc(n ? n : 1, sizeof *v.colls);
  if (!report->jobs || !v.tasks || !v.colls) {
    bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
    goto out;
  }
  report->n_jobs = n;
  report->workers = cfg->workers;
  for (size_t j = 0; j < n; j++)
    v.tasks[j].out = &report->jobs[j];
  if (!verify__plan(&v, error))
    goto out;
  for (size_t j = 0; j < n; j++) {
    verify_job_t *out = &report->jobs[j];
    if (!v.tasks[j].coll->methods)
      snprintf(out->why, sizeof out->why, "%s", v.tasks[j].coll->why);
    else if (cfg->load && !cfg->load[j].ok)
      snprintf(out->why, sizeof out->why,
               "the load of this job did not finish");
  }
  verify__unfinished(&v);
  if (!verify__pass(&v, false, error))
    goto out;
  bool naming = false;
  for (size_t k = 0; k < v.n_colls; k++) {
    verify_coll_t *c = &v.colls[k];
    if ((c->methods & VERIFY_BY_DIGEST) && !c->failed && verify__compare(&v, c))
      naming = c->naming = true;
  }
  if (naming && !verify__pass(&v, true, error))
    goto out;
  for (size_t k = 0; k < v.n_colls; k++)
    if (v.colls[k].naming && !v.colls[k].failed)
      verify__name(&v, &v.colls[k]);
  for (size_t j = 0; j < n; j++)
    verify__settle(&v, j);
  ok = true;
out:
  for (size_t j = 0; v.tasks && j < n; j++) {
    verify_task_t *t = &v.tasks[j];
    if (!t->v)
      continue;
    sink_factory_destroy(t->checker);
    free(t->want);
    pthread_mutex_destroy(&t->lock);
  }
  for (size_t k = 0; v.colls && k < v.n_colls; k++) {
    verify_coll_t *c = &v.colls[k];
    free(c->have);
    free(c->differs);
    free(c->want);
    free(c->held);
    pthread_mutex_destroy(&c->lock);
  }
  free(v.tasks);
  free(v.colls);
  report->elapsed_s = util_now() - t0;
  if (!ok)
    verify_report_cleanup(report);
  return ok;
}

bool verify_is_clean(const verify_report_t *report)
{
  for (size_t j = 0; j < report->n_jobs; j++) {
    const verify_job_t *r = &report->jobs[j];
    if (!r->methods || r->differences || r->extra || r->capped)
      return false;
  }
  return true;
}

void verify_report_cleanup(verify_report_t *report)
{
  free(report->jobs);
  memset(report, 0, sizeof *report);
}
