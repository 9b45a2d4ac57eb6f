/* What every natlab subcommand shares: exit codes, option parsing with
 * help on stdout, validated numbers and output paths.
 *
 * The conventions are git's, meson's and cargo's: `--help` prints to
 * stdout and exits 0; an unknown command or option is named, with the help
 * command to run, and exits 2; a number out of range is refused, never
 * wrapped or ignored; an output that cannot be written is refused before
 * the run, not after it.
 */
#ifndef NL_TOOLS_CLI_H
#define NL_TOOLS_CLI_H

#include <glib.h>

G_BEGIN_DECLS

/* Exit codes of every natlab command (documented in natlab(1) and in each
 * command's --help). */
enum {
  NL_EXIT_OK = 0,               /* done; every expectation held */
  NL_EXIT_FAILED = 1,           /* an expectation failed */
  NL_EXIT_ERROR = 2,            /* usage, scenario or build error */
  NL_EXIT_NONDETERMINISTIC = 3, /* two runs gave different traces */
};

/* The paragraph that lists the exit codes, for the end of a help text. */
extern const char nl_cli_exit_codes[];

/**
 * nl_cli_context_new: an option context for `natlab COMMAND`.
 * @command: the command's name ("run").
 * @args: what follows the options in the usage line ("SCENARIO").
 * @summary: one line under the usage line.
 * @entries: the command's options (NULL-terminated); `-h`/`--help` is
 *   added.  Callbacks get @data.
 * @description: (nullable) text after the options; the exit codes of
 *   nl_cli_exit_codes are appended unless it has its own "Exit status:".
 * Returns: (transfer full) free with g_option_context_free().
 */
GOptionContext *nl_cli_context_new(const char *command, const char *args,
                                   const char *summary,
                                   const GOptionEntry *entries, gpointer data,
                                   const char *description);

/**
 * nl_cli_parse: parses @argv with @ctx.
 * On `--help` prints the help to stdout and sets @rc to 0; on an unknown
 * option or a bad value prints "natlab COMMAND: ..." and a pointer to
 * --help to stderr and sets @rc to NL_EXIT_ERROR.
 * Returns: TRUE when the command should go on with the remaining
 * arguments, FALSE when it should return *@rc.
 */
gboolean nl_cli_parse(GOptionContext *ctx, int *argc, char ***argv, int *rc);

/**
 * nl_cli_usage_error: prints "natlab COMMAND: MESSAGE" and the line that
 * points to `natlab COMMAND --help` to stderr.
 * Returns: NL_EXIT_ERROR.
 */
int nl_cli_usage_error(const char *command, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/**
 * nl_cli_parse_uint: parses @value, the value of @option, as a decimal
 * integer in [@min, @max].  A sign, a space, a fraction or a value out of
 * the range is refused (no silent wrap).
 * Returns: FALSE with @error set (G_OPTION_ERROR_BAD_VALUE).
 */
gboolean nl_cli_parse_uint(const char *option, const char *value, guint64 min,
                           guint64 max, guint64 *out, GError **error);

/**
 * nl_cli_check_output: checks, before a run, that @path can be written as
 * the output of @option: its folder exists and is writable and @path is
 * not a folder.  "-" (stdout) is accepted when @stdout_ok.
 * Returns: FALSE with @error set naming @option and @path.
 */
gboolean nl_cli_check_output(const char *option, const char *path,
                             gboolean stdout_ok, GError **error);

/* Where natlab's files are.  natlab running from its build tree uses that
 * tree's files; an installed natlab finds its prefix from its own
 * executable (/proc/self/exe), so the installed tree can be moved. */
typedef struct {
  gboolean build_tree;
  char *prefix;   /* the install prefix, or the source tree */
  char *programs; /* the built-in programs (NAME.so) */
  char *lessons;  /* the lesson library */
  char *docs;     /* the documentation */
} NlCliPaths;

/* (transfer none) computed once. */
const NlCliPaths *nl_cli_paths(void);

/**
 * nl_cli_suggest: the candidate closest to @word by edit distance, when it
 * is close enough to be a typo; NULL otherwise.
 */
const char *nl_cli_suggest(const char *word, const char *const *cands,
                           gsize n_cands);

G_END_DECLS

#endif
