/* `run ./server.py ARGS...`: the runner starts python3 (natlab-python,
 * programs/python/) with the script and its arguments. */
#ifndef NL_RUNNER_PYTHON_H
#define NL_RUNNER_PYTHON_H

#include <glib.h>

#include "scenarios/lang/scenario.h"

/* (transfer full) the argv of @run, a NL_SCN_PROGRAM_PYTHON run:
 * "python3", the script, then the run's arguments.  The script is named
 * relative to the process's working directory when it lies under it
 * (@home, the scenario's folder, unless cwd= says otherwise), so the trace and
 * tracebacks say "server.py" on every machine; otherwise by its absolute
 * path. */
char **nl__run_python_argv(const NlScnRun *run, const char *home);

/* When @run could not start because natlab has no python3 module, @err
 * says how to get one. */
void nl__run_python_explain(const NlScnRun *run, GError **err);

#endif
