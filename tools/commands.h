/* The natlab subcommands: one entry point each, in its own file.
 *
 * To add a command `natlab foo`:
 *   1. write tools/natlab-foo.c with `int nl_cmd_foo(int argc, char **argv)`
 *      (argv[0] is "foo"; parse options with nl_cli_context_new() and
 *      nl_cli_parse() from tools/cli.h, so help and errors look like the
 *      other commands');
 *   2. declare it below;
 *   3. add one row to the `commands` table in tools/natlab.c;
 *   4. add the file to `natlab_sources` in tools/meson.build;
 *   5. describe it and each of its options in docs/man/natlab.1 (the test
 *      cli-docs checks that every command and option is there).
 * Bash completion reads the commands and options from --help by itself.
 * The exit codes every command uses are NL_EXIT_* in tools/cli.h.
 */
#ifndef NL_TOOLS_COMMANDS_H
#define NL_TOOLS_COMMANDS_H

#include <glib.h>

G_BEGIN_DECLS

/* One row of the command table.  @main gets the command's own argv
 * (argv[0] is the command's name) and returns the process's exit code.
 * @args is what follows the command in the usage line ("SCENARIO"),
 * @summary one line for `natlab --help`. */
typedef struct {
  const char *name;
  int (*main)(int argc, char **argv);
  const char *args;
  const char *summary;
} NlCommand;

/* tools/natlab-run.c */
int nl_cmd_run(int argc, char **argv);
int nl_cmd_check(int argc, char **argv);
/* tools/natlab-matrix.c */
int nl_cmd_matrix(int argc, char **argv);
/* tools/natlab-presets.c */
int nl_cmd_presets(int argc, char **argv);
/* tools/natlab-grade.c */
int nl_cmd_grade(int argc, char **argv);
/* tools/natlab-sweep.c */
int nl_cmd_sweep(int argc, char **argv);

G_END_DECLS

#endif
