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
#include <semaphore.h>
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

#include <liburing.h>

#include "sim/host/include/sys/event.h"
#include "sim/host/posix-calls.h"

/* The face is all that the natlab executable exports (tools/natlab.map):
 * every other function of natlab is hidden, so a program cannot call
 * natlab's internals (nl_trace_add...) to forge what the trace says. */
#define NL_POSIX_API __attribute__((visibility("default")))

#define NL_POSIX_PROTO(ret, name, params, args)                                \
  NL_POSIX_API ret nl_posix_##name params;
NL_POSIX_CALLS(NL_POSIX_PROTO)
#undef NL_POSIX_PROTO
#define NL_POSIX_VPROTO(name, params, args)                                    \
  NL_POSIX_API void nl_posix_##name params;
NL_POSIX_VOID_CALLS(NL_POSIX_VPROTO)
#undef NL_POSIX_VPROTO

NL_POSIX_API int nl_posix_fcntl(int fd, int cmd, long arg);
NL_POSIX_API __attribute__((noreturn)) void
nl_posix_verr(int code, const char *fmt, va_list ap);
NL_POSIX_API __attribute__((noreturn)) void
nl_posix_verrx(int code, const char *fmt, va_list ap);
NL_POSIX_API int nl_posix_ioctl(int fd, unsigned long req, void *arg);
NL_POSIX_API __attribute__((noreturn)) void nl_posix_exit(int code);
NL_POSIX_API __attribute__((noreturn)) void nl_posix_abort(void);
/* A language runtime inside the program (natlab-python) ends the process
 * as crashed: "crashed: @why" in its report (@why names the error and
 * where, "uncaught ValueError: bad at f.py:3 in g"), @code its status. */
NL_POSIX_API __attribute__((noreturn)) void
nl_posix_runtime_crash(const char *why, int code);
NL_POSIX_API __attribute__((noreturn)) void
nl_posix_assert_fail(const char *expr, const char *file, unsigned int line,
                     const char *func);
NL_POSIX_API __attribute__((noreturn)) void nl_posix_pthread_exit(void *ret);
/* Aligned allocation that the process's heap accounting sees. */
NL_POSIX_API int nl_posix_posix_memalign(void **p, size_t align, size_t n);
/* Reports a call a program made that natlab does not answer. */
NL_POSIX_API int nl_posix_unsupported(const char *name);
/* A stream for code of a program that runs after its shim closed its
 * own (a late destructor at unload): reads see end of file, writes fail
 * with EBADF, as a closed descriptor's.  Made once, kept to the end. */
NL_POSIX_API FILE *nl_posix_closed_stream(int fd);
/* atexit() for the calling process: run by exit(), in reverse order. */
NL_POSIX_API int nl_posix_atexit(void (*fn)(void));
/* The current program's name (argv[0]) for err()/warn(). */
NL_POSIX_API const char *nl_posix_progname(void);
/* inet_ntop(3) as glibc answers it, for the families the shim does not
 * format itself (it formats IPv4). */
NL_POSIX_API const char *nl_posix_inet_ntop(int af, const void *src,
                                            char *dst, socklen_t size);

/* The system facts (their prototypes are there too). */
#include "sim/host/posix-facts.h"

#endif
