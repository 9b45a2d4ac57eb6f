/* natlab: the command line.  `natlab COMMAND [OPTION...] ARGS`, where each
 * command is one row of the table below and one entry point in its own
 * file (declared in tools/commands.h; shared option handling and exit
 * codes in tools/cli.h).
 */
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "sim/host/proc.h"
#include "tools/cli.h"
#include "tools/commands.h"

static int cmd_help(int argc, char **argv);

/* The commands, in the order `natlab --help` lists them.  To add one, see
 * tools/commands.h. */
static const NlCommand commands[] = {
    {"run", nl_cmd_run, "SCENARIO", "Run a scenario in virtual time"},
    {"check", nl_cmd_check, "SCENARIO...",
     "Validate scenarios as run would, without running them"},
    {"presets", nl_cmd_presets, "[NAME...]",
     "List the NAT presets and their fields"},
    {"grade", nl_cmd_grade, "ASSIGNMENT SUBMISSION...",
     "Grade submissions against an assignment (docs/grading.md)"},
    {"matrix", nl_cmd_matrix, "[--turn] [--nat NAME=FIELDS]...",
     "Run ICE between every pair of NAT types"},
    {"sweep", nl_cmd_sweep, "SCENARIO --set NAME=V1,V2,... --metric SPEC",
     "Run a scenario over a grid of values and seeds; plot metrics"},
    {"help", cmd_help, "[COMMAND]", "Show the help of natlab or a command"},
};

static const NlCommand *find_command(const char *name) {
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static void usage(FILE *out) {
  fputs("Usage: natlab [--version] [--help] COMMAND [OPTION...] ARGS\n"
        "\n"
        "Runs networked C programs, NATs and links in virtual time, from a\n"
        "scenario file (natlab-scenario(5)).\n"
        "\n"
        "Commands:\n",
        out);
  int width = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
    width = MAX(width,
                (int)(strlen(commands[i].name) + strlen(commands[i].args) + 1));
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
    char *words = g_strdup_printf("%s %s", commands[i].name, commands[i].args);
    fprintf(out, "  %-*s  %s\n", width, words, commands[i].summary);
    g_free(words);
  }
  fprintf(out,
          "\n"
          "'natlab COMMAND --help' lists a command's options.\n"
          "\n"
          "%s"
          "\n"
          "See natlab(1), natlab-scenario(5) and natlab-cc(1).\n",
          nl_cli_exit_codes);
}

/* The names of the commands, for "did you mean". */
static const char *suggest_command(const char *word) {
  const char *names[G_N_ELEMENTS(commands)];
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
    names[i] = commands[i].name;
  return nl_cli_suggest(word, names, G_N_ELEMENTS(commands));
}

static int unknown_command(const char *name) {
  const char *near = suggest_command(name);
  fprintf(stderr, "natlab: '%s' is not a natlab command", name);
  if (near != NULL)
    fprintf(stderr, "; did you mean '%s'?", near);
  fputs("\nTry 'natlab --help' for the list of commands.\n", stderr);
  return NL_EXIT_ERROR;
}

/* natlab help [COMMAND]: the same text as `natlab [COMMAND] --help`. */
static int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    usage(stdout);
    return NL_EXIT_OK;
  }
  if (argc > 2)
    return nl_cli_usage_error("help", "one command at a time");
  const NlCommand *c = find_command(argv[1]);
  if (c == NULL)
    return unknown_command(argv[1]);
  if (c->main == cmd_help)
    return cmd_help(1, argv);
  char *args[] = {(char *)c->name, (char *)"--help", NULL};
  return c->main(2, args);
}

int main(int argc, char **argv) {
  /* The user's character set only: numbers, dates, messages and sorting
   * in natlab's outputs (and in the error strings GLib caches and
   * programs print) stay C's, whatever the user's locale. */
  setlocale(LC_CTYPE, "");
  /* An installed natlab's built-in programs are where its own executable
   * is, wherever the tree was moved ($NATLAB_PROGRAMS_DIR still wins). */
  const NlCliPaths *paths = nl_cli_paths();
  if (!paths->build_tree && g_getenv("NATLAB_PROGRAMS_DIR") == NULL)
    nl_proc_set_programs_dir(paths->programs);
  if (argc < 2) {
    usage(stderr);
    return NL_EXIT_ERROR;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    usage(stdout);
    return NL_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0) {
    printf("natlab %s\n", NL_VERSION);
    return NL_EXIT_OK;
  }
  if (name[0] == '-') {
    fprintf(stderr,
            "natlab: unknown option %s (options follow the command)\n"
            "Try 'natlab --help' for the list of commands.\n",
            name);
    return NL_EXIT_ERROR;
  }
  const NlCommand *c = find_command(name);
  if (c == NULL)
    return unknown_command(name);
  return c->main(argc - 1, argv + 1);
}
