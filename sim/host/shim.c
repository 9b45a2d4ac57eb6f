/* The link-time shim.  natlab-cc links this archive into every program, and
 * -Bsymbolic binds the program's own calls to these definitions: socket(),
 * send(), poll(), pthread_create(), clock_gettime()... keep their exact
 * POSIX signatures and reach the lab through nl_posix_*, which the natlab
 * executable exports.  System headers stay untouched, a function pointer
 * to send still reaches the lab, and a struct member named send is not
 * renamed.
 *
 * Standard streams: stdin, stdout and stderr here are this object's own
 * FILEs (fopencookie), unbuffered, writing through descriptors 0-2 of
 * whichever process is running, so one loaded copy can serve many hosts.
 */
#include <assert.h>
#include <err.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "sim/host/posix.h"

#define NL_SHIM_DEFINE(ret, name, params, args)                                \
  ret name params {                                                            \
    return nl_posix_##name args;                                               \
  }
NL_POSIX_CALLS(NL_SHIM_DEFINE)
#undef NL_SHIM_DEFINE

#define NL_SHIM_VDEFINE(name, params, args)                                    \
  void name params {                                                           \
    nl_posix_##name args;                                                      \
  }
NL_POSIX_VOID_CALLS(NL_SHIM_VDEFINE)
#undef NL_SHIM_VDEFINE

/* Programs built with _FILE_OFFSET_BITS=64 call fcntl64, others fcntl:
 * the shim defines both (it is compiled without _FILE_OFFSET_BITS, so
 * the headers do not rename one into the other). */
int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return nl_posix_fcntl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return nl_posix_fcntl(fd, cmd, arg);
}

int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return nl_posix_ioctl(fd, req, arg);
}

void exit(int code) {
  nl_posix_exit(code);
}
void _exit(int code) {
  nl_posix_exit(code);
}
void _Exit(int code) {
  nl_posix_exit(code);
}
void abort(void) {
  nl_posix_abort();
}
void __assert_fail(const char *expr, const char *file, unsigned int line,
                   const char *func) {
  nl_posix_assert_fail(expr, file, line, func);
}
void pthread_exit(void *ret) {
  nl_posix_pthread_exit(ret);
}
int atexit(void (*fn)(void)) {
  return nl_posix_atexit(fn);
}
int posix_memalign(void **p, size_t align, size_t n) {
  return nl_posix_posix_memalign(p, align, n);
}
void *aligned_alloc(size_t align, size_t n) {
  void *p = NULL;
  return nl_posix_posix_memalign(&p, align < sizeof(void *) ? sizeof(void *)
                                                           : align,
                                 n) == 0
             ? p
             : NULL;
}

int printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = nl_posix_vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int dprintf(int fd, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0)
    nl_posix_write(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  return n;
}

void verr(int code, const char *fmt, va_list ap) {
  nl_posix_verr(code, fmt, ap);
}
void verrx(int code, const char *fmt, va_list ap) {
  nl_posix_verrx(code, fmt, ap);
}

void err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nl_posix_verr(code, fmt, ap);
  va_end(ap);
  nl_posix_exit(code);
}
void errx(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nl_posix_verrx(code, fmt, ap);
  va_end(ap);
  nl_posix_exit(code);
}
void warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nl_posix_vwarn(fmt, ap);
  va_end(ap);
}
void warnx(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nl_posix_vwarnx(fmt, ap);
  va_end(ap);
}

/* ---- standard streams ---- */

FILE *stdin, *stdout, *stderr;

/* The streams this object made, whatever the program later assigns to
 * stdin/stdout/stderr. */
static FILE *std_files[3];

/* glibc's fclose under its other exported name: the fclose below is the
 * program's (and -Bsymbolic binds this object's own calls to it too). */
extern int _IO_fclose(FILE *fp);

static ssize_t cookie_write(void *c, const char *buf, size_t len) {
  return nl_posix_write((int)(long)c, buf, len);
}
static ssize_t cookie_read(void *c, char *buf, size_t len) {
  return nl_posix_read((int)(long)c, buf, len);
}

__attribute__((constructor)) static void nl_shim_init(void) {
  cookie_io_functions_t wio = {.write = cookie_write};
  cookie_io_functions_t rio = {.read = cookie_read};
  std_files[0] = stdin = fopencookie((void *)0L, "r", rio);
  std_files[1] = stdout = fopencookie((void *)1L, "w", wio);
  std_files[2] = stderr = fopencookie((void *)2L, "w", wio);
  setvbuf(stdin, NULL, _IONBF, 0);
  setvbuf(stdout, NULL, _IONBF, 0);
  setvbuf(stderr, NULL, _IONBF, 0);
}

/* Closing a standard stream closes the process's descriptor (later
 * writes fail with EBADF, as on Linux) but keeps the FILE, which serves
 * every process that runs this copy and is freed once, when the module is
 * unloaded. */
int fclose(FILE *fp) {
  for (int i = 0; i < 3; i++)
    if (fp != NULL && fp == std_files[i])
      return nl_posix_close(i) == 0 ? 0 : EOF;
  return _IO_fclose(fp);
}

/* A process of an instance that several processes share (proc.c) has
 * streams of its own: a FILE holds state -- an unread byte, the EOF and
 * error flags -- that must not pass from one process to another.  The
 * variables are per process (the lab swaps this object's data), and
 * shared_std keeps the object's own streams, which nl_shim_fini closes.
 * The lab keeps an ended process's streams for the next process rather
 * than closing them: glibc finds a FILE to close by walking the list of
 * every open FILE, so closing thousands one by one is quadratic. */
static FILE *shared_std[3];

void nl__shim_std_own(void *const reuse[3]);
void nl__shim_std_own(void *const reuse[3]) {
  cookie_io_functions_t wio = {.write = cookie_write};
  cookie_io_functions_t rio = {.read = cookie_read};
  for (int i = 0; i < 3; i++)
    shared_std[i] = std_files[i];
  if (reuse[0] != NULL && reuse[1] != NULL && reuse[2] != NULL) {
    for (int i = 0; i < 3; i++) {
      std_files[i] = reuse[i];
      __fpurge(std_files[i]); /* nothing read ahead or pushed back */
      clearerr(std_files[i]);
    }
  } else {
    std_files[0] = fopencookie((void *)0L, "r", rio);
    std_files[1] = fopencookie((void *)1L, "w", wio);
    std_files[2] = fopencookie((void *)2L, "w", wio);
    for (int i = 0; i < 3; i++)
      if (std_files[i] != NULL)
        setvbuf(std_files[i], NULL, _IONBF, 0);
  }
  stdin = std_files[0];
  stdout = std_files[1];
  stderr = std_files[2];
}

/* The process ends: its own streams go back to the lab (@std), the
 * object's come back. */
void nl__shim_end(void **std);
void nl__shim_end(void **std) {
  for (int i = 0; i < 3; i++) {
    std[i] = NULL;
    if (shared_std[i] == NULL)
      continue;
    std[i] = std_files[i];
    std_files[i] = shared_std[i];
    shared_std[i] = NULL;
  }
  stdin = std_files[0];
  stdout = std_files[1];
  stderr = std_files[2];
}

/* Unloading: after the program's own destructors (priority 101 runs after
 * the default ones).  Code that runs later still (a destructor of priority
 * 101 or lower, gcov's at unload) finds streams that stay valid: natlab's
 * closed ones (nl_posix_closed_stream), not freed FILEs. */
void nl__shim_close(void);
void nl__shim_close(void) {
  for (int i = 0; i < 3; i++)
    if (std_files[i] != NULL) {
      _IO_fclose(std_files[i]);
      std_files[i] = NULL;
    }
  stdin = nl_posix_closed_stream(0);
  stdout = nl_posix_closed_stream(1);
  stderr = nl_posix_closed_stream(2);
}

/* The lab calls nl__shim_close itself for a private copy whose process was
 * killed: its destructors, this one among them, are then taken out of it
 * (proc.c), as a killed process runs none on Linux. */
__attribute__((destructor(101))) static void nl_shim_fini(void) {
  nl__shim_close();
}

/* glibc's headers name this __isoc99_scanf at the assembly level. */
int scanf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vfscanf(stdin, fmt, ap);
  va_end(ap);
  return n;
}
