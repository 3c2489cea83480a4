/* cli_help: the help, the manual page and the README's option table, all
 * printed from the option table. */
#include "cli_impl.h"
#include "loader/sink.h"

#include <mongoc/mongoc.h>
#include <string.h>

/* Writes "--name ARG" (or "--name") into buf of size cap. */
static void cli__long_form(const cli_option_t *o, char *buf, size_t cap)
{
  snprintf(buf, cap, "--%s%s%s", o->name, o->arg ? " " : "",
           o->arg ? o->arg : "");
}

/* Prints every option with all, else the common ones, under the same group
 * headings. */
void cli_print_help(FILE *out, bool all)
{
  fprintf(out, "Usage: loader [OPTIONS] FILE...\nLoad CSV or JSON files into "
               "MongoDB (or SQLite, MySQL), one job per file,\nin parallel. "
               "FILE: path.csv (the collection is its base name), "
               "name=path.csv,\na directory, or name=- (standard input).\n");
  const char *group = NULL;
  bool printed_group = false;
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    if (o->show == CLI_SHOW_NEVER)
      continue;
    if (o->group) {
      group = o->group;
      printed_group = false;
    }
    if (!all && o->show != CLI_SHOW_COMMON)
      continue;
    if (!printed_group) {
      fprintf(out, "\n%s:\n", group);
      printed_group = true;
    }
    char form[48], left[64];
    cli__long_form(o, form, sizeof form);
    if (o->letter)
      snprintf(left, sizeof left, "-%c, %s", o->letter, form);
    else
      snprintf(left, sizeof left, "    %s", form);
    fprintf(out, "  %-22s %s\n", left, o->help);
  }
  fprintf(out,
          "\nExamples:\n  loader --parallel customers.csv products.csv\n  "
          "loader --uri mongodb://db.example/shop --drop --compare data/\n  "
          "zcat big.csv.gz | loader big=- --rejects bad.csv\n\nExit codes: 0 "
          "all loaded, 1 rows rejected or jobs failed, 2 usage "
          "error,\n  3 cannot connect, 4 not durable as asked, 130 "
          "interrupted.%s\n",
          all ? "" : " More: --help-all.");
}

void cli__print_help_common(FILE *out)
{
  cli_print_help(out, false);
}

void cli__print_help_all(FILE *out)
{
  cli_print_help(out, true);
}

/* Prints the option table as the Markdown table the README holds between
 * its "options" markers (a test checks the two agree). */
void cli__print_markdown(FILE *out)
{
  fprintf(out, "| option | meaning |\n| --- | --- |\n");
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    if (o->show == CLI_SHOW_NEVER)
      continue;
    fprintf(out, "| ");
    char form[48];
    cli__long_form(o, form, sizeof form);
    if (o->letter)
      fprintf(out, "`-%c`, ", o->letter);
    fprintf(out, "`%s` | ", form);
    for (const char *p = o->help; *p; p++) {
      if (*p == '|')
        fputc('\\', out); /* a table cell may not hold a bare '|' */
      fputc(*p, out);
    }
    fprintf(out, " |\n");
  }
}

/* Writes s with troff's special characters escaped. */
static void cli__troff(FILE *out, const char *s)
{
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\e", out);
    else if (*s == '-')
      fputs("\\-", out);
    else
      fputc(*s, out);
  }
}

/* Prints the manual page, loader(1), from the option table. */
void cli__print_man(FILE *out)
{
  fprintf(out,
          ".TH LOADER 1 \"\" \"loader %s\" \"User Commands\"\n.SH NAME\nloader "
          "\\- load CSV files into MongoDB, SQLite or MySQL, in parallel\n.SH "
          "SYNOPSIS\n.B loader\n[\\fIOPTIONS\\fR] \\fIFILE\\fR...\n.SH "
          "DESCRIPTION\nLoads every row of each FILE as a document into the "
          "collection named after the file (or \\fIname\\fR=\\fIpath\\fR), one "
          "job per file on a pool of worker threads, and reports per job the "
          "rows processed, the collection's count before and after, and the "
          "time taken. A directory loads its .csv, .tsv and .gz files; "
          "\\fIname\\fR=\\- reads standard input.\n",
          LOADER_VERSION);
  for (size_t i = 0; i < cli__n_options; i++) {
    const cli_option_t *o = &cli__options[i];
    if (o->show == CLI_SHOW_NEVER)
      continue;
    if (o->group) {
      fputs(".SH ", out);
      for (const char *g = o->group; *g; g++)
        fputc(*g >= 'a' && *g <= 'z' ? *g - 32 : *g, out);
      fputs("\n", out);
    }
    fputs(".TP\n", out);
    if (o->letter)
      fprintf(out, "\\fB\\-%c\\fR, ", o->letter);
    fputs("\\fB\\-\\-", out);
    cli__troff(out, o->name);
    fputs("\\fR", out);
    if (o->arg) {
      fputs(" \\fI", out);
      cli__troff(out, o->arg);
      fputs("\\fR", out);
    }
    fputs("\n", out);
    cli__troff(out, o->help);
    fputs("\n", out);
  }
  fputs(".SH EXIT STATUS\n.TP\n0\nevery row loaded\n.TP\n1\nfinished, but some "
        "rows were rejected or some jobs failed\n.TP\n2\nusage error (bad "
        "option, missing file); nothing written\n.TP\n3\ncannot connect to or "
        "authenticate with the server\n.TP\n4\nevery row landed, but some "
        "batches without the write concern asked for\n.TP\n130\ninterrupted "
        "(SIGINT/SIGTERM)\n.SH ENVIRONMENT\n.TP\nMONGODB_URI\nthe target when "
        "\\-\\-uri is not given\n.SH EXAMPLES\n.nf\nloader \\-\\-parallel "
        "customers.csv products.csv\nloader \\-\\-compare \\-\\-drop "
        "data/\nzcat big.csv.gz | loader big=\\-\nloader \\-\\-checkpoint "
        "cp.json \\-\\-rejects bad.csv big.csv   # then, after a crash: the "
        "same with \\-\\-resume\n.fi\n",
        out);
}

void cli__print_version(FILE *out)
{
  fprintf(out, "loader %s (libmongoc %s, libbson %s; targets: %s)\n",
          LOADER_VERSION, MONGOC_VERSION_S, BSON_VERSION_S, sink_schemes());
}
