/* The natlab-cc face of the virtual sockets layer: every call with its
 * exact POSIX signature, prefixed nl_posix_, returning -1 with errno on
 * failure.  Programs reach these through the link-time shim (sim/host/shim.c);
 * the natlab executable exports them.
 */
#ifndef NL_POSIX_H
#define NL_POSIX_H

#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sim/host/posix-calls.h"

#define NL_POSIX_PROTO(ret, name, params, args) ret nl_posix_##name params;
NL_POSIX_CALLS(NL_POSIX_PROTO)
#undef NL_POSIX_PROTO
#define NL_POSIX_VPROTO(name, params, args) void nl_posix_##name params;
NL_POSIX_VOID_CALLS(NL_POSIX_VPROTO)
#undef NL_POSIX_VPROTO

int nl_posix_fcntl(int fd, int cmd, long arg);
__attribute__((noreturn)) void nl_posix_verr(int code, const char *fmt,
                                             va_list ap);
__attribute__((noreturn)) void nl_posix_verrx(int code, const char *fmt,
                                              va_list ap);
int nl_posix_ioctl(int fd, unsigned long req, void *arg);
__attribute__((noreturn)) void nl_posix_exit(int code);
__attribute__((noreturn)) void nl_posix_abort(void);
__attribute__((noreturn)) void nl_posix_assert_fail(const char *expr, const char *file,
                                          unsigned int line,
                                          const char *func);
__attribute__((noreturn)) void nl_posix_pthread_exit(void *ret);
/* Aligned allocation that the process's heap accounting sees. */
int nl_posix_posix_memalign(void **p, size_t align, size_t n);
/* Reports a call a program made that natlab does not answer. */
int nl_posix_unsupported(const char *name);
/* atexit() for the calling process: run by exit(), in reverse order. */
int nl_posix_atexit(void (*fn)(void));
/* The current program's name (argv[0]) for err()/warn(). */
const char *nl_posix_progname(void);

#endif
