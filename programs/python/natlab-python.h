/* natlab-python's parts (see natlab-python.c). */
#ifndef NL_PROGRAMS_PYTHON_H
#define NL_PROGRAMS_PYTHON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Where Debian's python3.11 keeps its standard library; meson passes the
 * values of the build machine's python3.11 (sysconfig). */
#ifndef NL_PY_PREFIX
#define NL_PY_PREFIX "/usr"
#endif
#ifndef NL_PY_STDLIB
#define NL_PY_STDLIB "/usr/lib/python3.11"
#endif
#define NL_PY_WIDEN2(s) L##s
#define NL_PY_WIDEN(s) NL_PY_WIDEN2(s)
#define NL_PY_STDLIB_W NL_PY_WIDEN(NL_PY_STDLIB)
#define NL_PY_EXECUTABLE NL_PY_PREFIX "/bin/python3.11"

/* heap.c: pymalloc's arenas from the process's heap, so every address
 * (and id() and default hash) is the same every run.  Called before
 * anything is allocated. */
void nl_py_heap_install(void);

/* The longest crash reason kept. */
#define NL_PY_CRASH_MAX 512

/* The Python code run once the interpreter is up and before the program
 * (bootstrap.c). */
extern const char nl_py_bootstrap[];

/* From the natlab executable's POSIX face (sim/host/posix.h): ends the
 * calling process as crashed, with @why ("uncaught ValueError: ... at
 * f.py:3 in g") in its report and @code as its status.  Declared here as
 * a program includes nothing of the simulator. */
extern void nl_posix_runtime_crash(const char *why, int code)
    __attribute__((noreturn));

#endif
