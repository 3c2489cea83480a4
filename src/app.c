/* app: the whole program between main() and the exit code. */
#include "loader/app.h"
#include "loader/checkpoint.h"
#include "loader/cli.h"
#include "loader/error.h"
#include "loader/infer.h"
#include "loader/plan.h"
#include "loader/progress.h"
#include "loader/rejects.h"
#include "loader/report.h"
#include "loader/run.h"
#include "loader/sink.h"
#include "loader/util.h"

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
  static const char *const modes[] = {"insert", "upsert", "merge"};
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
  app__setting(doc, "--id-from",
               !o->doc.add_id                     ? "none"
               : o->doc.id_from == DOCB_ID_FIELDS ? o->id_fields
                                                  : ids[o->doc.id_from]);
  app__setting(doc, "--parse-grace", graces[o->doc.grace]);
  app__setting(doc, "--mode", modes[o->mode_write]);
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

int app_main(int argc, char **argv)
{
  int code = LOADER_EXIT_USAGE;
  bson_error_t error;
  options_t opts;
  plan_t plan = {0};
  sink_factory_t *sinks = NULL;
  run_t runs[2];
  size_t n_runs = 0;
  char *shown_uri = NULL;
  char password[APP_PASSWORD_CAP]; /* --password-file's, until the sinks
                                      have it */
  rejects_t *rejects = NULL;
  checkpoint_t *checkpoint = NULL;
  throttle_t *throttle = NULL;

  cli_status_t status = cli_parse(argc, argv, &opts, &error);
  if (status != CLI_RUN) {
    if (status == CLI_USAGE)
      app__usage_error(&error);
    code = status == CLI_EXIT ? LOADER_EXIT_OK : LOADER_EXIT_USAGE;
    goto out_options;
  }
  if (!plan_build(&opts, &plan, &error)) {
    app__usage_error(&error);
    goto out_options;
  }
  size_t workers = plan_workers(opts.workers, plan.n_jobs);
  if (opts.infer) {
    code = infer_run(&opts, &plan, stdout, &error) ? LOADER_EXIT_OK
                                                   : LOADER_EXIT_PARTIAL;
    if (code != LOADER_EXIT_OK)
      fprintf(stderr, "loader: %s\n", error.message);
    goto out_options;
  }

  if (opts.password_file && !app__read_password_file(&opts, password, &error)) {
    app__usage_error(&error);
    goto out_options;
  }

  /* The loader reports errors itself, with context; libmongoc's own log
   * lines would only repeat them without it (set before mongoc_init(),
   * which logs too). */
  mongoc_log_set_handler(NULL, NULL);
  mongoc_init();
  shown_uri = util_redact_uri(opts.uri);
  sink_config_t config = {.uri = opts.uri,
                          .password = opts.password_file ? password : NULL,
                          .db = opts.db,
                          .dry_run = opts.dry_run,
                          .workers = (unsigned)workers,
                          .mode = opts.mode_write,
                          .upsert_fields =
                              (const char *const *)opts.upsert_fields,
                          .n_upsert_fields = opts.n_upsert_fields};
  sinks = sink_factory_new(&config, &error);
  explicit_bzero(password, sizeof password);
  if (!sinks) {
    fprintf(stderr, "loader: %s: %s\n", shown_uri, error.message);
    goto out_mongoc;
  }
  if (!sink_factory_check(sinks, &error)) {
    fprintf(stderr, "loader: cannot connect to %s: %s\n", shown_uri,
            error.message);
    code = LOADER_EXIT_CONNECT;
    goto out_sinks;
  }

  csv_field_t *fields = NULL;
  csv_record_t header = {0};
  if (opts.n_fields) {
    fields = calloc(opts.n_fields, sizeof *fields);
    if (!fields) {
      fprintf(stderr, "loader: out of memory\n");
      code = LOADER_EXIT_PARTIAL;
      goto out_sinks;
    }
    for (size_t i = 0; i < opts.n_fields; i++)
      fields[i] = (csv_field_t){opts.fields[i], strlen(opts.fields[i])};
    header.fields = fields;
    header.n_fields = opts.n_fields;
  }
  if (opts.checkpoint) {
    bson_t settings;
    app__plan_settings(&opts, sinks, &settings);
    checkpoint = checkpoint_open(opts.checkpoint, &settings, plan.jobs,
                                 plan.n_jobs, opts.resume, &error);
    bson_destroy(&settings);
    if (!checkpoint) {
      app__usage_error(&error);
      code = LOADER_EXIT_USAGE;
      goto out_fields;
    }
    if (opts.resume && !app__adopt_marks(sinks, &plan, checkpoint, &error)) {
      fprintf(stderr, "loader: --resume: %s\n", error.message);
      code = loader_error_is_connection(&error) ? LOADER_EXIT_CONNECT
                                                : LOADER_EXIT_PARTIAL;
      goto out_rejects;
    }
  }

  if (opts.rejects) {
    rejects = rejects_open(opts.rejects,
                           opts.resume && checkpoint ? checkpoint_covers : NULL,
                           checkpoint, &error);
    if (!rejects) {
      fprintf(stderr, "loader: %s\n", error.message);
      goto out_rejects;
    }
  }

  if (opts.max_rate)
    throttle = throttle_new(opts.max_rate);

  app__install_signals();
  job_env_t env = {.sinks = sinks,
                   .throttle = throttle,
                   .checkpoint = checkpoint,
                   .rejects = rejects,
                   .max_errors = opts.max_errors,
                   .retries = opts.retries,
                   .retry_max_wait_ms = opts.retry_max_wait_ms,
                   .header = opts.n_fields ? &header : NULL,
                   .dialect = &opts.dialect,
                   .doc = &opts.doc,
                   .batch_docs = opts.batch_size,
                   .batch_bytes = opts.batch_bytes,
                   .stop = &app__stop};
  run_mode_t modes[2];
  size_t n_modes = 0;
  if (opts.mode != CLI_MODE_PARALLEL)
    modes[n_modes++] = RUN_LINEAR;
  if (opts.mode != CLI_MODE_LINEAR)
    modes[n_modes++] = RUN_PARALLEL;

  progress_style_t style = app__progress_style(&opts);
  for (size_t m = 0; m < n_modes && !atomic_load(&app__stop); m++) {
    if (opts.drop && !app__drop(sinks, &plan, &error)) {
      fprintf(stderr, "loader: cannot drop: %s\n", error.message);
      code = loader_error_is_connection(&error) ? LOADER_EXIT_CONNECT
                                                : LOADER_EXIT_PARTIAL;
      goto out_report;
    }
    env.progress = app__progress_new(style, &plan);
    progress_start(env.progress);
    bool started = run_jobs(plan.jobs, plan.n_jobs, modes[m], workers, &env,
                            &runs[n_runs], &error);
    progress_stop(env.progress);
    env.progress = NULL;
    if (!started) {
      fprintf(stderr, "loader: %s\n", error.message);
      code = LOADER_EXIT_PARTIAL;
      goto out_report;
    }
    n_runs++;
  }

  code = LOADER_EXIT_OK;
  for (size_t r = 0; r < n_runs; r++)
    if (!run_is_clean(&runs[r]))
      code = LOADER_EXIT_PARTIAL;
  if (atomic_load(&app__stop))
    code = LOADER_EXIT_INTERRUPTED;

out_report:
  if (n_runs > 0) {
    if (!opts.quiet) {
      if (opts.dry_run)
        printf("dry run: nothing was written\n");
      /* Thousands separators for people, plain digits for scripts. */
      report_text(stdout, &plan, runs, n_runs, isatty(STDOUT_FILENO));
      fflush(stdout);
    }
    report_problems(stderr, &plan, runs, n_runs);
    if (opts.report_json &&
        !report_json_write(opts.report_json, &plan, runs, n_runs, &error)) {
      fprintf(stderr, "loader: --report-json: %s\n", error.message);
      if (code == LOADER_EXIT_OK)
        code = LOADER_EXIT_PARTIAL;
    }
  }
  for (size_t r = 0; r < n_runs; r++)
    run_cleanup(&runs[r]);
  if (code == LOADER_EXIT_INTERRUPTED && checkpoint)
    fprintf(stderr,
            "loader: interrupted; progress is in %s: run the same command "
            "with --resume to finish\n",
            opts.checkpoint);
out_rejects:
  throttle_destroy(throttle);
  checkpoint_destroy(checkpoint);
  if (!rejects_close(rejects, &error)) {
    fprintf(stderr, "loader: %s\n", error.message);
    if (code == LOADER_EXIT_OK)
      code = LOADER_EXIT_PARTIAL;
  }
out_fields:
  free(fields);
out_sinks:
  sink_factory_destroy(sinks);
out_mongoc:
  free(shown_uri);
  mongoc_cleanup();
out_options:
  plan_cleanup(&plan);
  cli_options_cleanup(&opts);
  return code;
}
