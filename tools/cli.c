/* What every natlab subcommand shares (see cli.h). */
#include "tools/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char nl_cli_exit_codes[] =
    "Exit status:\n"
    "  0  done; every expectation held\n"
    "  1  an expectation failed\n"
    "  2  usage error, scenario error or a program that does not build\n"
    "  3  --check-determinism: two runs gave different traces\n";

/* The command whose context was made last: one per process. */
static char current_command[48] = "natlab";
static gboolean help_asked;

GOptionContext *nl_cli_context_new(const char *command, const char *args,
                                   const char *summary,
                                   const GOptionEntry *entries, gpointer data,
                                   const char *description) {
  char prgname[64];
  g_snprintf(prgname, sizeof prgname, "natlab %s", command);
  /* GOption's usage line reads "Usage: PRGNAME [OPTION…] ARGS". */
  g_set_prgname(prgname);
  g_strlcpy(current_command, command, sizeof current_command);
  help_asked = FALSE;

  GOptionContext *ctx = g_option_context_new(args);
  g_option_context_set_summary(ctx, summary);
  /* GLib's own --help exits from inside the parser; ours returns, so the
   * command frees what it holds. */
  g_option_context_set_help_enabled(ctx, FALSE);
  GOptionGroup *group =
      g_option_group_new(command, command, command, data, NULL);
  static const GOptionEntry help[] = {{"help", 'h', 0, G_OPTION_ARG_NONE,
                                       &help_asked, "Show this help and exit",
                                       NULL},
                                      G_OPTION_ENTRY_NULL};
  if (entries != NULL)
    g_option_group_add_entries(group, entries);
  g_option_group_add_entries(group, help);
  g_option_context_set_main_group(ctx, group);
  /* A command whose exit codes are not run's says which it uses. */
  char *desc =
      description && strstr(description, "Exit status:")
          ? g_strdup(description)
          : g_strconcat(description ? description : "", description ? "\n" : "",
                        nl_cli_exit_codes, NULL);
  g_option_context_set_description(ctx, desc);
  g_free(desc);
  return ctx;
}

gboolean nl_cli_parse(GOptionContext *ctx, int *argc, char ***argv, int *rc) {
  GError *error = NULL;
  if (!g_option_context_parse(ctx, argc, argv, &error)) {
    /* GLib's messages start with a capital ("Unknown option --x"). */
    char *msg = g_strdup(error->message);
    msg[0] = g_ascii_tolower(msg[0]);
    *rc = nl_cli_usage_error(current_command, "%s", msg);
    g_free(msg);
    g_error_free(error);
    return FALSE;
  }
  if (help_asked) {
    char *help = g_option_context_get_help(ctx, TRUE, NULL);
    fputs(help, stdout);
    g_free(help);
    *rc = NL_EXIT_OK;
    return FALSE;
  }
  return TRUE;
}

int nl_cli_usage_error(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  fprintf(stderr, "natlab %s: %s\nTry 'natlab %s --help' for more.\n", command,
          msg, command);
  g_free(msg);
  return NL_EXIT_ERROR;
}

gboolean nl_cli_parse_uint(const char *option, const char *value, guint64 min,
                           guint64 max, guint64 *out, GError **error) {
  /* strtoull accepts "-1" (and wraps it to 2^64-1) and leading spaces;
   * only digits are a number here. */
  gboolean digits = value[0] != '\0';
  for (const char *c = value; *c; c++)
    digits &= g_ascii_isdigit(*c);
  errno = 0;
  guint64 v = digits ? g_ascii_strtoull(value, NULL, 10) : 0;
  if (!digits || errno != 0 || v < min || v > max) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s wants a whole number from %" G_GUINT64_FORMAT
                " to %" G_GUINT64_FORMAT ", not \"%s\"",
                option, min, max, value);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

gboolean nl_cli_check_output(const char *option, const char *path,
                             gboolean stdout_ok, GError **error) {
  if (strcmp(path, "-") == 0) {
    if (stdout_ok)
      return TRUE;
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s cannot write to stdout; give a file name", option);
    return FALSE;
  }
  if (path[0] == '\0') {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s wants a file name", option);
    return FALSE;
  }
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s %s: is a folder, not a file", option, path);
    return FALSE;
  }
  char *dir = g_path_get_dirname(path);
  gboolean ok = TRUE;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s %s: the folder %s does not exist", option, path, dir);
    ok = FALSE;
  } else if (access(path, F_OK) == 0 ? access(path, W_OK) != 0
                                     : access(dir, W_OK) != 0) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s %s: %s",
                option, path, g_strerror(errno));
    ok = FALSE;
  }
  g_free(dir);
  return ok;
}

const NlCliPaths *nl_cli_paths(void) {
  static NlCliPaths paths;
  static gboolean done;
  if (done)
    return &paths;
  done = TRUE;
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  char *dir = exe ? g_path_get_dirname(exe) : g_strdup(".");
  paths.build_tree = strcmp(dir, NL_BUILD_ROOT "/tools") == 0;
  if (paths.build_tree) {
    paths.prefix = g_strdup(NL_SOURCE_ROOT);
    paths.programs = g_strdup(NL_BUILD_ROOT "/programs");
    paths.lessons = g_strdup(NL_SOURCE_ROOT "/scenarios/lessons");
    paths.docs = g_strdup(NL_SOURCE_ROOT "/docs");
  } else {
    /* bindir is NL_BINDIR_UP below the prefix ("bin": ".."). */
    char *up = g_build_filename(dir, NL_BINDIR_UP, NULL);
    paths.prefix = NL_RELOCATABLE ? g_canonicalize_filename(up, NULL)
                                  : g_strdup(NL_PREFIX);
    g_free(up);
    paths.programs =
        g_build_filename(paths.prefix, NL_LIBDIR, "natlab", "programs", NULL);
    paths.lessons =
        g_build_filename(paths.prefix, NL_DATADIR, "natlab", "lessons", NULL);
    paths.docs =
        g_build_filename(paths.prefix, NL_DATADIR, "doc", "natlab", NULL);
  }
  g_free(dir);
  g_free(exe);
  return &paths;
}

/* Damerau-Levenshtein distance (adjacent swaps cost one), case-blind. */
static guint distance(const char *a, const char *b) {
  gsize la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return G_MAXUINT;
  guint d[66][66];
  for (gsize i = 0; i <= la; i++)
    d[i][0] = (guint)i;
  for (gsize j = 0; j <= lb; j++)
    d[0][j] = (guint)j;
  for (gsize i = 1; i <= la; i++) {
    for (gsize j = 1; j <= lb; j++) {
      char ca = g_ascii_tolower(a[i - 1]), cb = g_ascii_tolower(b[j - 1]);
      guint best = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
      best = MIN(best, d[i - 1][j - 1] + (ca != cb));
      if (i > 1 && j > 1 && ca == g_ascii_tolower(b[j - 2]) &&
          g_ascii_tolower(a[i - 2]) == cb)
        best = MIN(best, d[i - 2][j - 2] + 1);
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

const char *nl_cli_suggest(const char *word, const char *const *cands,
                           gsize n_cands) {
  const char *best = NULL;
  guint bestd = G_MAXUINT;
  guint limit = CLAMP((guint)strlen(word) / 3, 1, 3);
  for (gsize i = 0; i < n_cands; i++) {
    guint d = distance(word, cands[i]);
    /* A prefix of a command is a good guess too ("pre" -> "presets"). */
    if (g_str_has_prefix(cands[i], word) && strlen(word) >= 2)
      d = MIN(d, 1);
    if (d < bestd) {
      bestd = d;
      best = cands[i];
    }
  }
  return bestd <= limit ? best : NULL;
}
