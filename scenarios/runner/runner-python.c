/* Python runs (see runner-python.h). */
#include "scenarios/runner/runner-python.h"

#include <string.h>

#include "sim/host/proc.h"

char **nl__run_python_argv(const NlScnRun *run, const char *home) {
  const char *cwd = run->cwd != NULL ? run->cwd : home;
  const char *script = run->path;
  size_t n = strlen(cwd);
  if (strncmp(run->path, cwd, n) == 0 && run->path[n] == '/')
    script = run->path + n + 1;
  char **argv = g_new0(char *, (gsize)run->argc + 2);
  argv[0] = g_strdup("python3");
  argv[1] = g_strdup(script);
  for (int i = 1; i < run->argc; i++)
    argv[i + 1] = g_strdup(run->argv[i]);
  return argv;
}

void nl__run_python_explain(const NlScnRun *run, GError **err) {
  gboolean python = run->kind == NL_SCN_PROGRAM_PYTHON ||
                     (run->kind == NL_SCN_PROGRAM_BUILTIN &&
                      strcmp(run->program, "python3") == 0);
  if (!python || *err == NULL ||
      !g_error_matches(*err, NL_PROC_ERROR, NL_PROC_ERROR_NOT_FOUND))
    return;
  g_clear_error(err);
  g_set_error(err, NL_PROC_ERROR, NL_PROC_ERROR_NOT_FOUND,
              "%s: this natlab was built without Python (natlab-python needs "
              "Debian's libpython3.11-dev and python3.11; tools/setup "
              "installs them, then rebuild)",
              run->program);
}
