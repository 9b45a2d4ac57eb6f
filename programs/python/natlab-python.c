/* natlab-python: CPython inside the lab.
 *
 * This is the program behind `run ./server.py ARGS...` and `run python3
 * ARGS...`: the `main` of the python3 command, linked with Debian's
 * position-independent libpython (libpython3.11-pic.a) and the natlab shim
 * into one shared object, which the lab loads as a private copy per
 * process (its own interpreter, its own globals).  CPython's built-in
 * modules (_socket, select, time, _thread, posix...) call the C library's
 * socket(), epoll_wait(), clock_gettime(), pthread_create()..., and
 * -Bsymbolic binds those calls to the shim: they reach the lab.
 *
 * What the lab adds to CPython (docs/posix-coverage.md, "Python"):
 *   - the command line is python3's own (script, -m MODULE, -c CODE, -u...),
 *     with the process's virtual environment (PYTHONHASHSEED...) and UTF-8
 *     mode; standard streams unbuffered, as the shim's are for C programs;
 *   - the standard library is read from /usr/lib/python3.11, never written
 *     (no __pycache__ writes);
 *   - extension modules (the .so files of lib-dynload) are refused by name: a shared
 *     library loaded at run time would call the real system;
 *   - _contextvars (a shared module in Debian's build, needed by asyncio)
 *     is built in here;
 *   - an uncaught exception ends the process as crashed, named with the
 *     exception and the Python file:line, after the usual traceback on
 *     stderr (exit status 1, as python3's).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "programs/python/natlab-python.h"

/* ---- _contextvars, built in ---- */

/* Debian builds _contextvars as an extension module; its types live in
 * libpython (Python/context.c), so a built-in module can expose them. */
static PyObject *cv_copy_context(PyObject *mod, PyObject *unused) {
  (void)mod;
  (void)unused;
  return PyContext_CopyCurrent();
}

static PyMethodDef cv_methods[] = {
    {"copy_context", cv_copy_context, METH_NOARGS,
     "copy_context() -> a copy of the current Context"},
    {NULL, NULL, 0, NULL},
};

static int cv_exec(PyObject *m) {
  if (PyModule_AddType(m, &PyContext_Type) < 0 ||
      PyModule_AddType(m, &PyContextVar_Type) < 0 ||
      PyModule_AddType(m, &PyContextToken_Type) < 0)
    return -1;
  return 0;
}

static PyModuleDef_Slot cv_slots[] = {
    {Py_mod_exec, (void *)cv_exec},
    {0, NULL},
};

static struct PyModuleDef cv_def = {
    PyModuleDef_HEAD_INIT, "_contextvars", "Context Variables", 0,
    cv_methods,            cv_slots,       NULL,                NULL,
    NULL,
};

static PyObject *init_contextvars(void) {
  return PyModuleDef_Init(&cv_def);
}

/* ---- _natlab: what the bootstrap tells this file ---- */

/* The uncaught exception's one-line summary, set by the except hook. */
static char crash_why[NL_PY_CRASH_MAX];

static PyObject *nl_uncaught(PyObject *mod, PyObject *arg) {
  (void)mod;
  const char *s = PyUnicode_AsUTF8(arg);
  if (s == NULL)
    return NULL;
  snprintf(crash_why, sizeof crash_why, "%s", s);
  Py_RETURN_NONE;
}

static PyMethodDef nl_methods[] = {
    {"uncaught", nl_uncaught, METH_O,
     "uncaught(summary): the process ends as crashed, with this reason"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef nl_def = {
    PyModuleDef_HEAD_INIT, "_natlab", "natlab's hooks", -1, nl_methods,
    NULL,                  NULL,      NULL,             NULL,
};

static PyObject *init_natlab(void) {
  PyObject *m = PyModule_Create(&nl_def);
  if (m != NULL && PyModule_AddStringConstant(m, "stdlib", NL_PY_STDLIB) < 0)
    Py_CLEAR(m);
  return m;
}

/* ---- the interpreter ---- */

static int fail_status(PyStatus st) {
  if (PyStatus_IsExit(st))
    return st.exitcode;
  Py_ExitStatusException(st); /* prints the error, exits 1 */
  return 1;
}

/* The script's name relative to the working directory when it lies under
 * it ("server.py"), else as CPython made it (absolute): tracebacks and
 * __file__ then read the same on every machine. */
static wchar_t *script_name(const wchar_t *abs) {
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL)
    return NULL;
  wchar_t *wcwd = Py_DecodeLocale(cwd, NULL);
  if (wcwd == NULL)
    return NULL;
  size_t n = wcslen(wcwd);
  const wchar_t *rel = abs;
  if (wcsncmp(abs, wcwd, n) == 0 && abs[n] == L'/')
    rel = abs + n + 1;
  PyMem_RawFree(wcwd);
  size_t len = wcslen(rel);
  wchar_t *out = PyMem_RawMalloc((len + 1) * sizeof *out);
  if (out != NULL)
    wmemcpy(out, rel, len + 1);
  return out;
}

/* Runs the script @name (relative) at @abs as python3 would: sys.path[0]
 * is its folder (unless -P), __main__.__file__ its name.  Returns the
 * exit status. */
static int run_script(const wchar_t *name, const wchar_t *abs,
                      int safe_path) {
  PyObject *path0 = NULL, *fname = NULL;
  int code = 1;
  if (!safe_path) {
    const wchar_t *slash = wcsrchr(abs, L'/');
    path0 = PyUnicode_FromWideChar(abs, slash && slash != abs ? slash - abs
                                                               : 1);
    PyObject *sys_path = PySys_GetObject("path"); /* borrowed */
    if (path0 == NULL || sys_path == NULL ||
        PyList_Insert(sys_path, 0, path0) < 0) {
      PyErr_Print();
      goto out;
    }
  }
  fname = PyUnicode_FromWideChar(name, -1);
  const char *utf8 = fname ? PyUnicode_AsUTF8(fname) : NULL;
  if (utf8 == NULL) {
    PyErr_Print();
    goto out;
  }
  FILE *fp = fopen(utf8, "rb");
  if (fp == NULL) {
    int e = errno;
    fprintf(stderr, "python3: can't open file '%s': [Errno %d] %s\n", utf8,
            e, strerror(e));
    code = 2;
    goto out;
  }
  PyCompilerFlags cf = _PyCompilerFlags_INIT;
  code = PyRun_AnyFileExFlags(fp, utf8, 1, &cf) == 0 ? 0 : 1;
out:
  Py_XDECREF(path0);
  Py_XDECREF(fname);
  if (Py_FinalizeEx() < 0 && code == 0)
    code = 120;
  return code;
}

/* Runs the bootstrap in __main__, as file "<natlab>" (crash reports skip
 * its frames). */
static int run_bootstrap(void) {
  PyObject *code = Py_CompileString(nl_py_bootstrap, "<natlab>",
                                    Py_file_input);
  PyObject *main_mod = PyImport_AddModule("__main__"); /* borrowed */
  if (code == NULL || main_mod == NULL) {
    Py_XDECREF(code);
    return 0;
  }
  PyObject *d = PyModule_GetDict(main_mod); /* borrowed */
  PyObject *r = PyEval_EvalCode(code, d, d);
  Py_DECREF(code);
  Py_XDECREF(r);
  return r != NULL;
}

int main(int argc, char **argv) {
  if (PyImport_AppendInittab("_contextvars", init_contextvars) < 0 ||
      PyImport_AppendInittab("_natlab", init_natlab) < 0)
    return 1;

  PyPreConfig pre;
  PyPreConfig_InitPythonConfig(&pre);
  pre.utf8_mode = 1;
  pre.coerce_c_locale = 0;
  nl_py_heap_install();
  PyStatus st = Py_PreInitializeFromBytesArgs(&pre, argc, argv);
  if (PyStatus_Exception(st))
    return fail_status(st);

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  /* The standard library, never written to. */
  config.write_bytecode = 0;
  config.buffered_stdio = 0;
  config.site_import = 0;
  config.user_site_directory = 0;
  config.install_signal_handlers = 1;
  st = PyConfig_SetBytesString(&config, &config.program_name,
                               NL_PY_EXECUTABLE);
  if (!PyStatus_Exception(st))
    st = PyConfig_SetBytesString(&config, &config.executable,
                                 NL_PY_EXECUTABLE);
  if (!PyStatus_Exception(st))
    st = PyConfig_SetBytesString(&config, &config.home, NL_PY_PREFIX);
  if (!PyStatus_Exception(st)) {
    config.module_search_paths_set = 1;
    static const wchar_t *const paths[] = {NL_PY_STDLIB_W,
                                           NL_PY_STDLIB_W L"/lib-dynload"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
      st = PyWideStringList_Append(&config.module_search_paths, paths[i]);
      if (PyStatus_Exception(st))
        break;
    }
  }
  if (!PyStatus_Exception(st))
    st = PyConfig_SetBytesArgv(&config, argc, argv);
  if (!PyStatus_Exception(st))
    st = PyConfig_Read(&config);
  wchar_t *script = NULL, *script_abs = NULL;
  int safe_path = config.safe_path;
  if (!PyStatus_Exception(st) && config.run_filename != NULL &&
      config.run_command == NULL && config.run_module == NULL) {
    struct stat sst;
    char *bytes = Py_EncodeLocale(config.run_filename, NULL);
    if (bytes != NULL && stat(bytes, &sst) == 0 && S_ISREG(sst.st_mode)) {
      script = script_name(config.run_filename);
      size_t len = wcslen(config.run_filename);
      script_abs = PyMem_RawMalloc((len + 1) * sizeof *script_abs);
      if (script_abs != NULL)
        wmemcpy(script_abs, config.run_filename, len + 1);
    }
    PyMem_Free(bytes);
  }
  if (!PyStatus_Exception(st))
    st = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(st))
    return fail_status(st);

  if (!run_bootstrap()) {
    fprintf(stderr, "natlab-python: the bootstrap failed\n");
    PyErr_Print();
    return 1;
  }
  int code;
  if (script != NULL && script_abs != NULL) {
    code = run_script(script, script_abs, safe_path);
  } else {
    code = Py_RunMain();
  }
  PyMem_RawFree(script);
  PyMem_RawFree(script_abs);
  if (crash_why[0] != '\0')
    nl_posix_runtime_crash(crash_why, code);
  return code;
}
