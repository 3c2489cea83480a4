/* infer: a schema preview (--infer). */
#include "loader/infer.h"
#include "loader/error.h"
#include "loader/source.h"
#include "loader/types.h"

#include <stdlib.h>
#include <string.h>

/* What the values of one column looked like. */
typedef struct infer_col {
  char *name;            /* header name (owned) */
  uint64_t n[6];         /* values stored as int32, int64, double, bool,
                            string, and empty */
  uint64_t leading_zero; /* numeric-looking values kept as strings because
                            of a leading zero or '+' */
  char zero_example[32]; /* one of them */
  uint64_t date_hits[4]; /* string values matching each candidate layout */
  size_t min_len;        /* shortest non-empty value, in bytes */
  size_t max_len;        /* longest value */
} infer_col_t;

enum { IN_INT32, IN_INT64, IN_DOUBLE, IN_BOOL, IN_STRING, IN_EMPTY };

/* Date layouts worth suggesting, in Go's notation. */
static const char *const infer__layouts[] = {
    "2006-01-02", "2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05",
    "01/02/2006"};
#define INFER_N_LAYOUTS 4

typedef struct infer_ctx {
  const options_t *opts; /* --fields, sample size */
  infer_col_t *cols;     /* one per column */
  size_t n_cols;         /* how many */
  uint64_t rows;         /* data records sampled */
  uint64_t ragged;       /* records with the wrong field count */
  types_type_t layouts[INFER_N_LAYOUTS]; /* compiled infer__layouts */
  bson_error_t *error;                   /* where a failure is said */
  bool failed;                           /* out of memory */
} infer_ctx_t;

static bool infer__header(infer_ctx_t *c, const char **names, size_t n)
{
  c->cols = calloc(n ? n : 1, sizeof *c->cols);
  if (!c->cols)
    return false;
  c->n_cols = n;
  for (size_t i = 0; i < n; i++) {
    c->cols[i].name = strdup(names[i]);
    c->cols[i].min_len = SIZE_MAX;
    if (!c->cols[i].name)
      return false;
  }
  return true;
}

/* Returns true when s looks like a number the inference keeps as text. */
static bool infer__numeric_text(const char *s, size_t len)
{
  size_t i = s[0] == '+' || s[0] == '-';
  if (i == len)
    return false;
  for (; i < len; i++)
    if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
      return false;
  return true;
}

static void infer__value(infer_ctx_t *c, infer_col_t *col, const char *s,
                         size_t len)
{
  if (len > col->max_len)
    col->max_len = len;
  if (len == 0) {
    col->n[IN_EMPTY]++;
    return;
  }
  if (len < col->min_len)
    col->min_len = len;
  /* What a load would store, by the rules --infer-as names. */
  int64_t i;
  double d;
  types_inferred_t kind = c->opts->doc.infer_as == DOCB_INFER_MONGOIMPORT
                              ? types_infer_mongoimport(s, len, &i, &d)
                              : types_infer(s, len, &i, &d);
  switch (kind) {
  case TYPES_INFERRED_INT32:
    col->n[IN_INT32]++;
    break;
  case TYPES_INFERRED_INT64:
    col->n[IN_INT64]++;
    break;
  case TYPES_INFERRED_DOUBLE:
    col->n[IN_DOUBLE]++;
    break;
  case TYPES_INFERRED_BOOL:
    col->n[IN_BOOL]++;
    break;
  case TYPES_INFERRED_STRING:
    col->n[IN_STRING]++;
    if (infer__numeric_text(s, len)) {
      if (!col->leading_zero++)
        snprintf(col->zero_example, sizeof col->zero_example, "%.*s",
                 (int)(len < 24 ? len : 24), s);
    }
    for (int l = 0; l < INFER_N_LAYOUTS; l++) {
      int64_t ms;
      if (types_parse_date(&c->layouts[l], s, len, &ms))
        col->date_hits[l]++;
    }
  }
}

static bool infer__on_record(void *p, const csv_record_t *rec)
{
  infer_ctx_t *c = p;
  if (!c->cols) {
    /* The header: the first record, unless --fields named the columns. */
    const char **names = calloc(rec->n_fields + 1, sizeof *names);
    for (size_t i = 0; names && i < rec->n_fields; i++)
      names[i] = rec->fields[i].data ? rec->fields[i].data : "";
    c->failed = !names || !infer__header(c, names, rec->n_fields);
    free(names);
    return !c->failed;
  }
  if (c->rows >= c->opts->sample_rows)
    return false;
  c->rows++;
  if (rec->problem || rec->n_fields != c->n_cols) {
    c->ragged++;
    return true;
  }
  for (size_t i = 0; i < c->n_cols; i++)
    infer__value(c, &c->cols[i], rec->fields[i].data ? rec->fields[i].data : "",
                 rec->fields[i].len);
  return true;
}

/* The type to suggest for a column, written into buf. */
static const char *infer__suggest(const infer_ctx_t *c, const infer_col_t *col,
                                  char *buf, size_t cap)
{
  uint64_t filled = c->rows - c->ragged - col->n[IN_EMPTY];
  if (filled == 0)
    return "string";
  if (col->n[IN_STRING] == filled) {
    for (int l = 0; l < INFER_N_LAYOUTS; l++)
      if (col->date_hits[l] == filled) {
        snprintf(buf, cap, "date(%s)", infer__layouts[l]);
        return buf;
      }
    return "string";
  }
  if (col->n[IN_STRING] > 0)
    return "string"; /* mixed: text keeps every value as it is */
  if (col->n[IN_BOOL] == filled)
    return "boolean";
  if (col->n[IN_BOOL] > 0)
    return "string";
  if (col->n[IN_DOUBLE] > 0)
    return "double";
  if (col->n[IN_INT64] > 0)
    return "int64";
  return "int32";
}

/* Previews one file. */
static bool infer__file(const options_t *opts, const job_t *job, FILE *out,
                        bson_error_t *error)
{
  bool ok = false;
  infer_ctx_t c = {.opts = opts, .error = error};
  for (int l = 0; l < INFER_N_LAYOUTS; l++) {
    char spec[64];
    snprintf(spec, sizeof spec, "date(%s)", infer__layouts[l]);
    types_parse(spec, strlen(spec), &c.layouts[l], error);
  }
  if (opts->n_fields &&
      !infer__header(&c, (const char **)opts->fields, opts->n_fields))
    goto out_oom;
  source_t *src = source_open(job->path, 0, error);
  if (!src)
    goto out;
  csvr_t *reader = csvr_new(src, &opts->dialect, 0, 1, UINT64_MAX, error);
  if (reader) {
    ok = csvr_read(reader, infer__on_record, &c, error) && !c.failed;
    csvr_destroy(reader);
  }
  source_close(src);
  if (!ok)
    goto out;

  fprintf(out, "%s (%s): %llu rows sampled%s\n", job->path, job->collection,
          (unsigned long long)c.rows,
          c.rows >= opts->sample_rows ? " (the first ones)" : "");
  if (c.ragged)
    fprintf(out, "  %llu of them have the wrong number of fields\n",
            (unsigned long long)c.ragged);
  fprintf(out, "  %-20s %-30s %7s %5s %5s  %s\n", "column", "type", "empty",
          "min", "max", "notes");
  char *types = NULL;
  size_t types_len = 0;
  FILE *t = open_memstream(&types, &types_len);
  for (size_t i = 0; i < c.n_cols; i++) {
    const infer_col_t *col = &c.cols[i];
    char buf[64], notes[256] = "";
    const char *type = infer__suggest(&c, col, buf, sizeof buf);
    if (col->leading_zero)
      snprintf(notes, sizeof notes,
               "%llu value%s like \"%s\" kept as text (leading zero or +)",
               (unsigned long long)col->leading_zero,
               col->leading_zero == 1 ? "" : "s", col->zero_example);
    else if (col->n[IN_STRING] &&
             col->n[IN_STRING] + col->n[IN_EMPTY] < c.rows - c.ragged)
      snprintf(notes, sizeof notes, "mixed: numbers and text");
    fprintf(out, "  %-20s %-30s %7llu %5zu %5zu  %s\n", col->name, type,
            (unsigned long long)col->n[IN_EMPTY],
            col->min_len == SIZE_MAX ? 0 : col->min_len, col->max_len, notes);
    if (t)
      fprintf(t, "%s%s:%s", i ? "," : "", col->name, type);
  }
  if (t) {
    fclose(t);
    fprintf(out, "  suggested: --types '%s'\n\n", types ? types : "");
    free(types);
  }
  ok = true;
  goto out;
out_oom:
  bson_set_error(error, LOADER_ERROR_IO, 0, "out of memory");
out:
  for (size_t i = 0; i < c.n_cols; i++)
    free(c.cols[i].name);
  free(c.cols);
  return ok;
}

bool infer_run(const options_t *opts, const plan_t *plan, FILE *out,
               bson_error_t *error)
{
  for (size_t i = 0; i < plan->n_jobs; i++) {
    if (plan->jobs[i].part > 1)
      continue; /* one preview per file */
    if (!infer__file(opts, &plan->jobs[i], out, error)) {
      char msg[sizeof error->message];
      snprintf(msg, sizeof msg, "%s", error->message);
      bson_set_error(error, LOADER_ERROR_IO, 0, "%s: %s", plan->jobs[i].path,
                     msg);
      return false;
    }
  }
  return true;
}
