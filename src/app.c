/* app: the whole program between main() and the exit code. */
#include "loader/app.h"
#include "loader/checkpoint.h"
#include "loader/cli.h"
#include "loader/error.h"
#include "loader/indexes.h"
#include "loader/infer.h"
#include "loader/plan.h"
#include "loader/progress.h"
#include "loader/rejects.h"
#include "loader/report.h"
#include "loader/run.h"
#include "loader/sink.h"
#include "loader/util.h"
#include "loader/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Set by the first SIGINT/SIGTERM; the jobs poll it between records. */
static atomic_bool app__stop;

static void app__on_signal(int sig)
{
  (void)sig;
  if (atomic_exchange(&app__stop, true))
    _exit(LOADER_EXIT_INTERRUPTED); /* the second signal: now */
}

static void app__install_signals(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = app__on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

static void app__usage_error(const bson_error_t *error)
{
  fprintf(stderr, "loader: %s\n", error->message);
}

/* Room for the password of --password-file, its terminator included. */
#define APP_PASSWORD_CAP 1024

/* Reads the first line of --password-file, without its CR/LF, into
 * password (APP_PASSWORD_CAP bytes). The file is read with read(2), so no
 * stdio buffer keeps a copy; everything after the line is wiped. The URI
 * must name a user and no password. */
static bool app__read_password_file(const options_t *opts, char *password,
                                    bson_error_t *error)
{
  if (!util_uri_names_user_only(opts->uri)) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--password-file: the URI must name a user and no "
                   "password (mongodb://USER@host/..., mysql://USER@host/...)");
    return false;
  }
  int fd = open(opts->password_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    bson_set_error(error, LOADER_ERROR_USAGE, 0, "--password-file: %s: %s",
                   opts->password_file, strerror(errno));
    return false;
  }
  size_t n = 0;
  while (n < APP_PASSWORD_CAP) {
    ssize_t r = read(fd, password + n, APP_PASSWORD_CAP - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int err = errno;
      close(fd);
      explicit_bzero(password, APP_PASSWORD_CAP);
      bson_set_error(error, LOADER_ERROR_USAGE, 0, "--password-file: %s: %s",
                     opts->password_file, strerror(err));
      return false;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  size_t len = 0;
  while (len < n && password[len] != '\n' && password[len] != '\r' &&
         password[len] != '\0')
    len++;
  if (len == APP_PASSWORD_CAP) {
    explicit_bzero(password, APP_PASSWORD_CAP);
    bson_set_error(error, LOADER_ERROR_USAGE, 0,
                   "--password-file: %s: the first line is longer than %d "
                   "bytes",
                   opts->password_file, APP_PASSWORD_CAP - 1);
    return false;
  }
  explicit_bzero(password + len, APP_PASSWORD_CAP - len);
  return true;
}

/* Decides how progress is shown: on a terminal unless told otherwise,
 * never with --quiet. */
static progress_style_t app__progress_style(const options_t *opts)
{
  if (opts->quiet || opts->progress == CLI_PROGRESS_NEVER)
    return PROGRESS_OFF;
  if (opts->progress == CLI_PROGRESS_PLAIN)
    return PROGRESS_PLAIN;
  if (opts->progress == CLI_PROGRESS_ALWAYS || isatty(STDERR_FILENO))
    return PROGRESS_TTY;
  return PROGRESS_OFF;
}

/* Makes the display for one run of plan's jobs. */
static progress_t *app__progress_new(progress_style_t style, const plan_t *plan)
{
  if (style == PROGRESS_OFF)
    return NULL;
  char **labels = calloc(plan->n_jobs, sizeof *labels);
  uint64_t *sizes = calloc(plan->n_jobs, sizeof *sizes);
  progress_t *p = NULL;
  if (!labels || !sizes)
    goto out;
  for (size_t i = 0; i < plan->n_jobs; i++) {
    const job_t *j = &plan->jobs[i];
    size_t len = strlen(j->collection) + strlen(j->path) + 32;
    labels[i] = malloc(len);
    if (!labels[i])
      goto out;
    if (j->parts)
      snprintf(labels[i], len, "%s  %s [%u/%u]", j->collection, j->path,
               j->part, j->parts);
    else
      snprintf(labels[i], len, "%s  %s", j->collection, j->path);
    struct stat st;
    if (j->end != UINT64_MAX)
      sizes[i] = j->end - j->start;
    else if (strcmp(j->path, "-") != 0 && stat(j->path, &st) == 0)
      sizes[i] = (uint64_t)st.st_size - j->start;
  }
  p = progress_new(style, stderr, plan->n_jobs, (const char *const *)labels,
                   sizes);
out:
  for (size_t i = 0; labels && i < plan->n_jobs; i++)
    free(labels[i]);
  free(labels);
  free(sizes);
  return p;
}

/* Returns the target URI without credentials and options: what a
 * checkpoint records to know its target again. Credentials end at the last
 * '@' (a password may hold '/', '?' or '@'); the options (which may carry
 * secrets too) are left out. */
static char *app__bare_target(const char *uri)
{
  const char *auth = strstr(uri, "://");
  auth = auth ? auth + 3 : uri;
  const char *at = strrchr(auth, '@');
  const char *hosts = at ? at + 1 : auth;
  size_t head = (size_t)(auth - uri);
  size_t tail = strcspn(hosts, "?#");
  char *out = malloc(head + tail + 1);
  if (out) {
    memcpy(out, uri, head);
    memcpy(out + head, hosts, tail);
    out[head + tail] = '\0';
  }
  return out;
}

/* Appends name: value (a string) to doc. */
static void app__setting(bson_t *doc, const char *name, const char *value)
{
  bson_append_utf8(doc, name, -1, value ? value : "", -1);
}

/* Writes byte b as people read it: "," or "0x09". */
static const char *app__byte(unsigned char b, char out[8])
{
  snprintf(out, 8, b > 0x20 && b < 0x7f ? "%c" : "0x%02x", b);
  return out;
}

/* Joins n names with commas into buf. */
static const char *app__join(char **names, size_t n, char *buf, size_t cap)
{
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && at < cap; i++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? "," : "", names[i]);
  return buf;
}

/* Builds what a checkpoint must find unchanged to resume: the target, the
 * database and every option that changes documents or where records
 * start (the jobs and their files the checkpoint adds itself). */
static void app__plan_settings(const options_t *o, const sink_factory_t *sinks,
                               bson_t *doc)
{
  static const char *const types[] = {[CLI_INPUT_BY_NAME] = "auto",
                                      [CLI_INPUT_CSV] = "csv",
                                      [CLI_INPUT_TSV] = "tsv",
                                      [CLI_INPUT_JSON] = "json"};
  static const char *const graces[] = {"stop", "skip-row", "skip-field",
                                       "as-string"};
  static const char *const modes[] = {"insert", "upsert", "merge", "delete"};
  static const char *const ids[] = {"objectid", "line", "fields"};
  char buf[4096], c[8], c2[8];
  char *target = app__bare_target(o->uri ? o->uri : "");
  bson_init(doc);
  app__setting(doc, "target", target);
  free(target);
  app__setting(doc, "database", sink_factory_db(sinks));
  app__setting(doc, "--type", types[o->input_type]);
  app__setting(doc, "--delimiter", app__byte(o->dialect.delimiter, c));
  app__setting(doc, "--quote", app__byte(o->dialect.quote, c2));
  app__setting(doc, "--trim", o->dialect.trim ? "yes" : "no");
  app__setting(doc, "--comment",
               o->dialect.comment < 0
                   ? ""
                   : app__byte((unsigned char)o->dialect.comment, c));
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->dialect.skip_lines);
  app__setting(doc, "--skip-lines", buf);
  app__setting(doc, "--fields",
               app__join(o->fields, o->n_fields, buf, sizeof buf));
  app__setting(doc, "--columns-have-types",
               o->doc.columns_have_types ? "yes" : "no");
  app__setting(doc, "--types", o->types);
  app__setting(doc, "--no-infer", o->doc.infer ? "no" : "yes");
  app__setting(doc, "--ignore-blanks", o->doc.ignore_blanks ? "yes" : "no");
  char *nulls = o->null_values ? bson_strdup_printf("[%s]", o->null_values)
                               : NULL; /* "" and none differ */
  app__setting(doc, "--null-values", nulls);
  bson_free(nulls);
  /* Settings added after version 2 of the file are "" at their default,
   * as a file that predates them reads: its load resumes. */
  app__setting(doc, "--infer-as",
               o->doc.infer_as == DOCB_INFER_MONGOIMPORT ? "mongoimport" : "");
  app__setting(doc, "--array-index-fields",
               o->doc.array_index_fields ? "yes" : "");
  app__setting(doc, "--id-from",
               !o->doc.add_id                     ? "none"
               : o->doc.id_from == DOCB_ID_FIELDS ? o->id_fields
                                                  : ids[o->doc.id_from]);
  app__setting(doc, "--parse-grace", graces[o->doc.grace]);
  app__setting(doc, "--mode", modes[o->mode_write]);
  /* Both decide which rows land: ordered writes stop at the first refused
   * row, and a validator refuses rows only without the bypass. */
  app__setting(doc, "--stop-on-error", o->stop_on_error ? "yes" : "");
  app__setting(doc, "--bypass-document-validation",
               o->bypass_validation ? "yes" : "");
  app__setting(
      doc, "--upsert-fields",
      app__join(o->upsert_fields, o->n_upsert_fields, buf, sizeof buf));
}

/* --resume with a SQL target: a batch committed with its mark just before a
 * crash is further than the checkpoint file; take the target's mark. */
static bool app__adopt_marks(sink_factory_t *sinks, const plan_t *plan,
                             checkpoint_t *cp, bson_error_t *error)
{
  for (size_t j = 0; j < plan->n_jobs; j++) {
    sink_t *sink = sink_open(sinks, plan->jobs[j].collection, error);
    if (!sink)
      return false;
    mark_t m;
    bool found;
    bool ok = sink_mark_get(sink, checkpoint_key(cp, j), &m, &found, error);
    sink_close(sink);
    if (!ok)
      return false;
    if (found)
      checkpoint_adopt(cp, j, &m);
  }
  return true;
}

/* Drops each distinct collection of the plan once. */
static bool app__drop(sink_factory_t *sinks, const plan_t *plan,
                      bson_error_t *error)
{
  for (size_t i = 0; i < plan->n_jobs; i++) {
    const char *coll = plan->jobs[i].collection;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(plan->jobs[j].collection, coll) == 0;
    if (seen)
      continue;
    sink_t *sink = sink_open(sinks, coll, error);
    if (!sink)
      return false;
    bool ok = sink_drop(sink, error);
    sink_close(sink);
    if (!ok)
      return false;
  }
  return true;
}

/* Everything one invocation holds, step by step. */
typedef struct app {
  options_t opts;           /* the command line */
  bool have_opts;           /* opts was parsed (and must be freed) */
  plan_t plan;              /* the jobs */
  size_t workers;           /* threads of the pool */
  bool mongoc;              /* mongoc_init() was called */
  char *shown_uri;          /* the target, redacted, for messages */
  sink_factory_t *sinks;    /* the target */
  field_t *fields;          /* --fields, as the document builder takes
                               them, or NULL */
  checkpoint_t *checkpoint; /* --checkpoint, or NULL */
  rejects_t *rejects;       /* --rejects, or NULL */
  throttle_t *throttle;     /* --max-rate, or NULL */
  run_t runs[2];            /* the runs made (two with --compare) */
  size_t n_runs;            /* how many */
  verify_report_t verify;   /* --verify / --verify-only: what it found */
  bool verified;            /* verify holds a report */
  indexes_outcome_t ix;     /* --index: the phase after the last run */
} app_t;

/* A step's result that means "go on to the next step". */
#define APP_GO_ON (-1)

/* Parses the command line and plans the jobs; --infer ends here. */
static int app__parse(app_t *a, int argc, char **argv)
{
  bson_error_t error;
  cli_status_t status = cli_parse(argc, argv, &a->opts, &error);
  a->have_opts = true;
  if (status != CLI_RUN) {
    if (status == CLI_USAGE)
      app__usage_error(&error);
    return status == CLI_EXIT ? LOADER_EXIT_OK : LOADER_EXIT_USAGE;
  }
  if (!plan_build(&a->opts, &a->plan, &error)) {
    app__usage_error(&error);
    return LOADER_EXIT_USAGE;
  }
  if (!indexes_check(a->opts.indexes, a->opts.n_indexes, &a->plan, &error)) {
    app__usage_error(&error);
    return LOADER_EXIT_USAGE;
  }
  a->workers = plan_workers(a->opts.workers, a->plan.n_jobs);
  if (a->opts.infer) {
    if (infer_run(&a->opts, &a->plan, stdout, &error))
      return LOADER_EXIT_OK;
    fprintf(stderr, "loader: %s\n", error.message);
    return LOADER_EXIT_PARTIAL;
  }
  return APP_GO_ON;
}

/* Makes the target's sinks and checks it can be reached; the password of
 * --password-file goes to them and is wiped. */
static int app__connect(app_t *a)
{
  bson_error_t error;
  const options_t *o = &a->opts;
  char password[APP_PASSWORD_CAP]; /* --password-file's, until the sinks
                                      have it */
  if (o->password_file && !app__read_password_file(o, password, &error)) {
    app__usage_error(&error);
    return LOADER_EXIT_USAGE;
  }
  /* The loader reports errors itself, with context; libmongoc's own log
   * lines would only repeat them without it (set before mongoc_init(),
   * which logs too). */
  mongoc_log_set_handler(NULL, NULL);
  mongoc_init();
  a->mongoc = true;
  a->shown_uri = util_redact_uri(o->uri);
  sink_config_t config = {
      .uri = o->uri,
      .password = o->password_file ? password : NULL,
      .db = o->db,
      .write_concern = o->write_concern,
      .dry_run = o->dry_run,
      .workers = (unsigned)(a->workers * o->inflight) +
                 (o->verify || o->verify_only ? VERIFY_SCAN_PARTS : 0u),
      .mode = o->mode_write,
      .upsert_fields = (const char *const *)o->upsert_fields,
      .n_upsert_fields = o->n_upsert_fields,
      .ordered = o->stop_on_error,
      .bypass_validation = o->bypass_validation};
  a->sinks = sink_factory_new(&config, &error);
  explicit_bzero(password, sizeof password);
  if (!a->sinks) {
    fprintf(stderr, "loader: %s: %s\n", a->shown_uri, error.message);
    return LOADER_EXIT_USAGE;
  }
  if (!sink_factory_check(a->sinks, &error)) {
    fprintf(stderr, "loader: cannot connect to %s: %s\n", a->shown_uri,
            error.message);
    return LOADER_EXIT_CONNECT;
  }
  return APP_GO_ON;
}

/* Opens what the jobs write beside the target: the checkpoint (on --resume
 * checked against this plan, then moved on to marks the target committed
 * later), the rejects file (on --resume rewritten to the rows below the
 * marks), the throttle. */
static int app__prepare(app_t *a)
{
  bson_error_t error;
  const options_t *o = &a->opts;
  if (o->n_fields) {
    a->fields = calloc(o->n_fields, sizeof *a->fields);
    if (!a->fields) {
      fprintf(stderr, "loader: out of memory\n");
      return LOADER_EXIT_PARTIAL;
    }
    for (size_t i = 0; i < o->n_fields; i++)
      a->fields[i] = (field_t){o->fields[i], strlen(o->fields[i])};
  }
  if (o->checkpoint && !o->verify_only) {
    bson_t settings;
    app__plan_settings(o, a->sinks, &settings);
    a->checkpoint = checkpoint_open(o->checkpoint, &settings, a->plan.jobs,
                                    a->plan.n_jobs, o->resume, &error);
    bson_destroy(&settings);
    if (!a->checkpoint) {
      app__usage_error(&error);
      return LOADER_EXIT_USAGE;
    }
    if (o->resume &&
        !app__adopt_marks(a->sinks, &a->plan, a->checkpoint, &error)) {
      fprintf(stderr, "loader: --resume: %s\n", error.message);
      return loader_error_is_connection(&error) ? LOADER_EXIT_CONNECT
                                                : LOADER_EXIT_PARTIAL;
    }
  }
  if (o->rejects && !o->verify_only) {
    a->rejects = rejects_open(
        o->rejects, o->resume && a->checkpoint ? checkpoint_covers : NULL,
        a->checkpoint, &error);
    if (!a->rejects) {
      fprintf(stderr, "loader: %s\n", error.message);
      return LOADER_EXIT_USAGE;
    }
  }
  if (o->max_rate)
    a->throttle = throttle_new(o->max_rate);
  return APP_GO_ON;
}

/* What every job of a run shares, from the options and what the earlier
 * steps opened. */
static job_env_t app__job_env(const app_t *a)
{
  const options_t *o = &a->opts;
  job_env_t env = {.sinks = a->sinks,
                   .throttle = a->throttle,
                   .checkpoint = a->checkpoint,
                   .resuming = o->resume,
                   .rejects = a->rejects,
                   .max_errors = o->max_errors,
                   .stop_on_error = o->stop_on_error,
                   .max_errors_ratio = o->max_errors_ratio,
                   .retries = o->retries,
                   .retry_max_wait_ms = o->retry_max_wait_ms,
                   .fields = a->fields,
                   .n_fields = o->n_fields,
                   .dialect = &o->dialect,
                   .doc = &o->doc,
                   .batch_docs = o->batch_size,
                   .batch_bytes = o->batch_bytes,
                   .inflight = sink_factory_inflight(a->sinks, o->inflight),
                   .stop = &app__stop};
  return env;
}

/* Runs the plan: linearly, in parallel, or both (--compare), each after
 * --drop. Returns the exit code the runs earn. */
static int app__run(app_t *a)
{
  bson_error_t error;
  const options_t *o = &a->opts;
  app__install_signals();
  job_env_t env = app__job_env(a);
  if (a->checkpoint) {
    /* How far past its mark a job of this run may write, and how far one
     * of the run resumed may have (a file that does not say comes from a
     * loader that wrote one batch at a time). */
    checkpoint_set_window(a->checkpoint, job_window(&env));
    uint64_t window = checkpoint_window(a->checkpoint);
    env.resume_window = window ? window : env.batch_docs;
    if (!checkpoint_save(a->checkpoint, &error)) {
      fprintf(stderr, "loader: %s\n", error.message);
      return LOADER_EXIT_USAGE;
    }
  }
  run_mode_t modes[2];
  size_t n_modes = 0;
  if (o->mode != CLI_MODE_PARALLEL)
    modes[n_modes++] = RUN_LINEAR;
  if (o->mode != CLI_MODE_LINEAR)
    modes[n_modes++] = RUN_PARALLEL;
  progress_style_t style = app__progress_style(o);
  for (size_t m = 0; m < n_modes && !atomic_load(&app__stop); m++) {
    if (o->drop && !app__drop(a->sinks, &a->plan, &error)) {
      fprintf(stderr, "loader: cannot drop: %s\n", error.message);
      return loader_error_is_connection(&error) ? LOADER_EXIT_CONNECT
                                                : LOADER_EXIT_PARTIAL;
    }
    env.progress = app__progress_new(style, &a->plan);
    progress_start(env.progress);
    bool started = run_jobs(a->plan.jobs, a->plan.n_jobs, modes[m], a->workers,
                            &env, &a->runs[a->n_runs], &error);
    progress_stop(env.progress);
    env.progress = NULL;
    if (!started) {
      fprintf(stderr, "loader: %s\n", error.message);
      return LOADER_EXIT_PARTIAL;
    }
    a->runs[a->n_runs++].deleting = o->mode_write == SINK_MODE_DELETE;
  }
  int code = LOADER_EXIT_OK;
  for (size_t r = 0; r < a->n_runs; r++) {
    if (!run_is_clean(&a->runs[r]))
      code = LOADER_EXIT_PARTIAL; /* worse than not durable */
    else if (code == LOADER_EXIT_OK && run_not_durable(&a->runs[r]))
      code = LOADER_EXIT_NOT_DURABLE;
  }
  if (atomic_load(&app__stop))
    code = LOADER_EXIT_INTERRUPTED;
  return code;
}

/* --index: builds the indexes once the last run is over, unless it did not
 * finish (a job failed, or interrupted: each index is then reported as not
 * built). A dry run builds none. Returns code, made worse when an index
 * could not be built. */
static int app__index(app_t *a, int code)
{
  bson_error_t error;
  const options_t *o = &a->opts;
  if (!o->n_indexes || a->n_runs == 0 || o->dry_run)
    return code;
  run_t *last = &a->runs[a->n_runs - 1];
  bool finished = code != LOADER_EXIT_INTERRUPTED;
  for (size_t i = 0; i < last->n_jobs && finished; i++)
    finished = last->results[i].ok;
  job_env_t env = app__job_env(a);
  if (!indexes_build(o->indexes, o->n_indexes, &a->plan, &env, !finished,
                     &a->ix, &error)) {
    fprintf(stderr, "loader: --index: %s\n", error.message);
    return code == LOADER_EXIT_OK ? LOADER_EXIT_PARTIAL : code;
  }
  last->indexes = &a->ix;
  if (!indexes_ok(&a->ix) &&
      (code == LOADER_EXIT_OK || code == LOADER_EXIT_NOT_DURABLE))
    code = indexes_lost_connection(&a->ix) ? LOADER_EXIT_CONNECT
                                           : LOADER_EXIT_PARTIAL;
  return code;
}

/* --verify after the load, or --verify-only in its place: reads every
 * job's input again and compares it with what the target holds (verify.c).
 * Returns code, made worse (1) when something differs or could not be
 * verified. */
static int app__verify(app_t *a, int code)
{
  bson_error_t error;
  const options_t *o = &a->opts;
  if (!(o->verify || o->verify_only) || !a->sinks)
    return code;
  if (o->verify_only)
    app__install_signals();
  else if (a->n_runs != 1 ||
           (code != LOADER_EXIT_OK && code != LOADER_EXIT_PARTIAL &&
            code != LOADER_EXIT_NOT_DURABLE))
    return code;
  job_env_t env = app__job_env(a); /* verify_run() leaves out what
                                        writes beside the target */
  verify_config_t cfg = {.sinks = a->sinks,
                         .plan = &a->plan,
                         .env = &env,
                         .workers = a->workers,
                         .load = o->verify_only ? NULL : a->runs[0].results,
                         .run = o->verify_only ? NULL : &a->runs[0]};
  if (!verify_run(&cfg, &a->verify, &error)) {
    fprintf(stderr, "loader: --verify: %s\n", error.message);
    return code == LOADER_EXIT_OK ? LOADER_EXIT_PARTIAL : code;
  }
  a->verified = true;
  if (atomic_load(&app__stop))
    return LOADER_EXIT_INTERRUPTED;
  if (!verify_is_clean(&a->verify) &&
      (code == LOADER_EXIT_OK || code == LOADER_EXIT_NOT_DURABLE))
    code = LOADER_EXIT_PARTIAL;
  return code;
}

/* Reports the runs made (stdout, problems on stderr, --report-json) and
 * returns code, made worse if the report cannot be written. */
static int app__report(app_t *a, int code)
{
  bson_error_t error;
  const options_t *o = &a->opts;
  if (a->n_runs > 0) {
    if (!o->quiet) {
      if (o->dry_run)
        printf("dry run: nothing was written\n");
      /* Thousands separators for people, plain digits for scripts. */
      report_text(stdout, &a->plan, a->runs, a->n_runs, isatty(STDOUT_FILENO));
      fflush(stdout);
    }
    report_problems(stderr, &a->plan, a->runs, a->n_runs);
  }
  if (a->verified) {
    if (!o->quiet) {
      report_verify_text(stdout, &a->plan, &a->verify, isatty(STDOUT_FILENO));
      fflush(stdout);
    }
    report_verify_problems(stderr, &a->plan, &a->verify);
  }
  if (a->n_runs > 0 || a->verified) {
    if (o->report_json &&
        !report_json_write_verify(o->report_json, &a->plan, a->runs, a->n_runs,
                                  a->verified ? &a->verify : NULL, &error)) {
      fprintf(stderr, "loader: --report-json: %s\n", error.message);
      if (code == LOADER_EXIT_OK)
        code = LOADER_EXIT_PARTIAL;
    }
  }
  if (code == LOADER_EXIT_INTERRUPTED && a->checkpoint)
    fprintf(stderr,
            "loader: interrupted; progress is in %s: run the same command "
            "with --resume to finish\n",
            o->checkpoint);
  return code;
}

/* Closes everything, the rejects file last but one (a failure to finish it
 * makes code worse), and returns code. */
static int app__finish(app_t *a, int code)
{
  bson_error_t error;
  for (size_t r = 0; r < a->n_runs; r++)
    run_cleanup(&a->runs[r]);
  verify_report_cleanup(&a->verify);
  indexes_outcome_cleanup(&a->ix);
  throttle_destroy(a->throttle);
  checkpoint_destroy(a->checkpoint);
  if (!rejects_close(a->rejects, &error)) {
    fprintf(stderr, "loader: %s\n", error.message);
    if (code == LOADER_EXIT_OK)
      code = LOADER_EXIT_PARTIAL;
  }
  free(a->fields);
  sink_factory_destroy(a->sinks);
  free(a->shown_uri);
  if (a->mongoc)
    mongoc_cleanup();
  plan_cleanup(&a->plan);
  if (a->have_opts)
    cli_options_cleanup(&a->opts);
  return code;
}

int app_main(int argc, char **argv)
{
  app_t a = {0};
  int code = app__parse(&a, argc, argv);
  if (code == APP_GO_ON)
    code = app__connect(&a);
  if (code == APP_GO_ON)
    code = app__prepare(&a);
  if (code == APP_GO_ON)
    code = a.opts.verify_only ? LOADER_EXIT_OK : app__run(&a);
  code = app__index(&a, code);
  code = app__verify(&a, code);
  code = app__report(&a, code);
  return app__finish(&a, code);
}
