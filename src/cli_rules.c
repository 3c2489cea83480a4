/* cli_rules: what one option says about another, in one place: the
 * combinations refused, and the settings one option implies for another.
 * Options are parsed in any order; these run once argv is used up. */
#include "cli_impl.h"

#include <string.h>

/* Returns true when standard input ("name=-") is read more than once, or
 * read by a run that would need it again. */
static bool cli__stdin_twice(const options_t *opts)
{
  size_t stdin_inputs = 0;
  for (size_t i = 0; i < opts->n_inputs; i++)
    stdin_inputs += strcmp(opts->inputs[i].path, "-") == 0;
  return stdin_inputs > 1 ||
         (stdin_inputs && (opts->checkpoint || opts->mode == CLI_MODE_COMPARE));
}

void cli__imply_mode(cli_state_t *st)
{
  /* Fields to upsert by say what to do with them, as in mongoimport. */
  if (!st->mode_given && st->opts->n_upsert_fields)
    st->opts->mode_write = SINK_MODE_UPSERT;
}

bool cli__check_rules(const cli_state_t *st, bson_error_t *error)
{
  const options_t *opts = st->opts;
  bool compare = opts->mode == CLI_MODE_COMPARE;
  if (opts->n_upsert_fields && opts->mode_write == SINK_MODE_INSERT)
    return CLI_REFUSE(error, "--upsert-fields cannot be used with --mode "
                             "insert (it names the documents to upsert, "
                             "merge or delete)");
  if (st->header_line && opts->n_fields)
    return CLI_REFUSE(
        error, "--header-line and --fields/--field-file exclude each other");
  if (opts->dialect.quote == opts->dialect.delimiter)
    return CLI_REFUSE(error, "the quote and the delimiter must differ");
  if (opts->resume && !opts->checkpoint)
    return CLI_REFUSE(error, "--resume needs --checkpoint PATH");
  if (opts->resume && (opts->drop || compare))
    return CLI_REFUSE(error,
                      "--resume cannot be combined with --drop or --compare");
  if (opts->checkpoint && compare)
    return CLI_REFUSE(error, "--checkpoint cannot be combined with --compare");
  if (cli__stdin_twice(opts))
    return CLI_REFUSE(error,
                      "standard input can be read once: one name=- input, and "
                      "no --checkpoint or --compare with it");
  if (opts->stop_on_error && (opts->split || opts->split_auto))
    return CLI_REFUSE(error, "--stop-on-error writes each file in order, from "
                             "one writer: not with --split");
  if (opts->n_inputs == 0)
    return CLI_REFUSE(error, "no input files (see --help)");
  if (opts->verify || opts->verify_only) {
    const char *v = opts->verify_only ? "--verify-only" : "--verify";
    for (size_t i = 0; i < opts->n_inputs; i++)
      if (strcmp(opts->inputs[i].path, "-") == 0)
        return CLI_REFUSE(error,
                          "%s reads the input again: standard input can be "
                          "read once (load from a file to verify)",
                          v);
    if (opts->mode_write != SINK_MODE_INSERT)
      return CLI_REFUSE(error,
                        "%s is for --mode insert: with upsert or merge a "
                        "later row replaces an earlier one, and delete "
                        "leaves nothing to compare",
                        v);
    if (compare)
      return CLI_REFUSE(error, "%s cannot be combined with --compare", v);
    if (opts->dry_run)
      return CLI_REFUSE(error, "%s cannot be combined with --dry-run", v);
  }
  /* A table has no column for an array: every row would be refused. */
  if (opts->doc.array_index_fields && (strncmp(opts->uri, "sqlite:", 7) == 0 ||
                                       strncmp(opts->uri, "mysql:", 6) == 0 ||
                                       strncmp(opts->uri, "mariadb:", 8) == 0))
    return CLI_REFUSE(error,
                      "--array-index-fields builds arrays, which SQL tables "
                      "cannot hold: without it, tags.0 and tags.1 stay "
                      "columns of their own");
  /* A MongoDB insert that may write a batch twice (a retry, a resume after
   * a crash) relies on the same _id coming back as a duplicate: ids made
   * anew on every attempt would double the rows instead. Without
   * --id-from, cli__imply() gives --checkpoint such ids. */
  if (opts->checkpoint && st->id_given &&
      opts->mode_write == SINK_MODE_INSERT &&
      (!opts->doc.add_id || opts->doc.id_from == DOCB_ID_OBJECTID) &&
      strncmp(opts->uri, "mongodb", 7) == 0)
    return CLI_REFUSE(error,
                      "--checkpoint needs ids that are the same in every run: "
                      "--id-from line (the default with --checkpoint) or key "
                      "columns, not --id-from %s",
                      opts->doc.add_id ? "objectid" : "none");
  return true;
}

void cli__imply(const cli_state_t *st)
{
  options_t *opts = st->opts;
  /* Resumable loads need ids that are the same in every run, so that a
   * batch written again after a crash cannot double. */
  if (opts->checkpoint && !st->id_given)
    opts->doc.id_from = DOCB_ID_LINE;
  /* Upserts replace or update by the upsert fields: a new ObjectId would
   * clash with the _id of the document they match. */
  if (opts->mode_write != SINK_MODE_INSERT && !st->id_given)
    opts->doc.add_id = false;
  /* mongoimport's CSV reader strips spaces around unquoted fields (its
   * TSV reader does not). */
  if (opts->doc.infer_as == DOCB_INFER_MONGOIMPORT &&
      opts->dialect.delimiter != '\t')
    opts->dialect.trim = true;
  opts->doc.types = opts->types;
  opts->doc.null_values = opts->null_values;
  opts->doc.id_fields = opts->id_fields;
}
