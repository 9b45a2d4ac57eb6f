/* `run ./server.py ARGS...`: the checks natlab check makes of a Python
 * program's file before anything runs.  It must be a regular file of
 * text, as CPython reads it (UTF-8 unless it declares another coding); a
 * NUL byte or an ELF header means a compiled file was named by mistake.
 * Its syntax is CPython's to judge when it runs: a SyntaxError ends the
 * program as crashed, naming the file and line (docs/posix-coverage.md,
 * "Python"). */
#include "scenarios/lang/scenario-priv.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NL_PY_MAX_SOURCE ((goffset)16 * 1024 * 1024)

gboolean nl__scn_python_source_ok(NlScnParser *p, const NlScnLoc *loc,
                                  const char *as_written, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0)
      close(fd);
    return nl__scn_fail(p, loc, NL_SCENARIO_ERROR_VALUE,
                        "Python program \"%s\" is not a readable file",
                        as_written);
  }
  if (st.st_size > NL_PY_MAX_SOURCE) {
    close(fd);
    return nl__scn_fail(p, loc, NL_SCENARIO_ERROR_VALUE,
                        "Python program \"%s\" is larger than 16 MiB",
                        as_written);
  }
  char buf[4096];
  ssize_t n;
  gboolean binary = FALSE;
  gboolean first = TRUE;
  while (!binary && (n = read(fd, buf, sizeof buf)) > 0) {
    if (first && n >= 4 && memcmp(buf, "\x7f" "ELF", 4) == 0)
      binary = TRUE;
    if (memchr(buf, '\0', (size_t)n) != NULL)
      binary = TRUE;
    first = FALSE;
  }
  close(fd);
  if (binary)
    return nl__scn_fail(p, loc, NL_SCENARIO_ERROR_VALUE,
                        "\"%s\" is not a Python program: it holds binary "
                        "data (a .py file is text)",
                        as_written);
  return TRUE;
}
