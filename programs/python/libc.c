/* C library calls that Debian's libpython makes past the shim.
 *
 * libpython3.11-pic.a was compiled with _FORTIFY_SOURCE, so some of its
 * calls name glibc's checking variants (__open64_2, __realpath_chk,
 * __printf_chk), which would open real files and print to natlab's own
 * standard output; here they call the plain functions, which -Bsymbolic
 * binds to the shim.  dup3() and close_range() are not answered by the
 * lab: the first becomes dup2() and FD_CLOEXEC, the second fails with
 * ENOSYS, so CPython closes descriptors one by one (close_range() would
 * close natlab's own). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
char *__realpath_chk(const char *path, char *resolved, size_t len);
int __printf_chk(int flag, const char *fmt, ...);
int close_range(unsigned first, unsigned last, int flags);

int __open_2(const char *path, int flags) {
  return open(path, flags);
}

int __open64_2(const char *path, int flags) {
  return open(path, flags);
}

char *__realpath_chk(const char *path, char *resolved, size_t len) {
  (void)len;
  return realpath(path, resolved);
}

int __printf_chk(int flag, const char *fmt, ...) {
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int dup3(int oldfd, int newfd, int flags) {
  if (oldfd == newfd || (flags & ~O_CLOEXEC) != 0) {
    errno = EINVAL;
    return -1;
  }
  int fd = dup2(oldfd, newfd);
  if (fd >= 0 && (flags & O_CLOEXEC))
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int close_range(unsigned first, unsigned last, int flags) {
  (void)first;
  (void)last;
  (void)flags;
  errno = ENOSYS;
  return -1;
}
