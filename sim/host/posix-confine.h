/* The lab's answers to the calls a program could use to leave it: the
 * dynamic linker (dlopen, dlsym), syscall(), signals to processes (kill,
 * tgkill, sigqueue, pthread_kill), the BSD and System V signal calls, the
 * signal stack, and what prebuilt libraries (libcrypto, libevent) ask of
 * libc beyond the POSIX face: getentropy, read-write locks and thread
 * keys.  The shim (shim-confine.c) calls these; posix-confine.c answers.
 * What the lab refuses, it refuses by name: the program ends with
 * "refused: ..." (sim/host/seal.h, nl_seal_refuse), as when the kernel
 * filter refuses a real system call.
 */
#ifndef NL_POSIX_CONFINE_H
#define NL_POSIX_CONFINE_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "sim/host/posix.h"

/* The dynamic linker.  dlsym finds the program's own definitions first
 * (the shim's socket(), send()... and the program's functions), refuses
 * what natlab refuses at build time (system, fork, exec...), and finds the
 * rest in libc.  dlopen(NULL) and dlopen of libc's own libraries give a
 * handle dlsym treats alike; any other library is refused: its calls
 * would not reach the lab. */
NL_POSIX_API void *nl_posix_dlopen(const char *file, int mode);
NL_POSIX_API void *nl_posix_dlsym(void *handle, const char *name);
NL_POSIX_API void *nl_posix_dlvsym(void *handle, const char *name,
                                   const char *version);
NL_POSIX_API char *nl_posix_dlerror(void);
NL_POSIX_API int nl_posix_dlclose(void *handle);

/* syscall(@nr, @args...): the system calls the lab answers (getrandom,
 * gettid, getpid, the clocks, sleeping, read, write, close, exit...); any
 * other is refused by name. */
NL_POSIX_API long nl_posix_syscall(long nr, const long args[6]);
NL_POSIX_API int nl_posix_getentropy(void *buf, size_t len);

/* Signals to processes of the same host, with their default actions
 * (nothing is ever delivered to a handler, as docs/posix-coverage.md
 * says): kill(0) and kill(own pid) are raise(); a signal to a pid that is
 * not on the host (the parent, pid 1, or a real one) is refused by name. */
NL_POSIX_API int nl_posix_kill(pid_t pid, int sig);
NL_POSIX_API int nl_posix_tgkill(pid_t tgid, pid_t tid, int sig);
NL_POSIX_API int nl_posix_pthread_kill(pthread_t th, int sig);
NL_POSIX_API int nl_posix_sigaltstack(const stack_t *ss, stack_t *old);

/* A call natlab refuses (posix-refused.txt) that a static library called
 * (shim-refused.c): calls that would start or become another program,
 * change the process or wait for a signal end the program, named; the
 * others fail with ENOSYS, named in the trace.  Returns -1. */
NL_POSIX_API long nl_posix_refused_call(const char *name);

/* Read-write locks over green threads (PTHREAD_RWLOCK_INITIALIZER, all
 * zeros, is an unlocked lock). */
NL_POSIX_API int nl_posix_pthread_rwlock_init(pthread_rwlock_t *l,
                                              const pthread_rwlockattr_t *a);
NL_POSIX_API int nl_posix_pthread_rwlock_destroy(pthread_rwlock_t *l);
NL_POSIX_API int nl_posix_pthread_rwlock_rdlock(pthread_rwlock_t *l);
NL_POSIX_API int nl_posix_pthread_rwlock_wrlock(pthread_rwlock_t *l);
NL_POSIX_API int nl_posix_pthread_rwlock_tryrdlock(pthread_rwlock_t *l);
NL_POSIX_API int nl_posix_pthread_rwlock_trywrlock(pthread_rwlock_t *l);
NL_POSIX_API int nl_posix_pthread_rwlock_timedrdlock(
    pthread_rwlock_t *l, const struct timespec *abstime);
NL_POSIX_API int nl_posix_pthread_rwlock_timedwrlock(
    pthread_rwlock_t *l, const struct timespec *abstime);
NL_POSIX_API int nl_posix_pthread_rwlock_unlock(pthread_rwlock_t *l);

/* Thread keys, per process and green thread (libc's keys are shared by
 * every program natlab runs, and there are only 1,024 of them).
 * Destructors are not run: what a thread leaves is reclaimed with its
 * process. */
NL_POSIX_API int nl_posix_pthread_key_create(pthread_key_t *key,
                                             void (*destructor)(void *));
NL_POSIX_API int nl_posix_pthread_key_delete(pthread_key_t key);
NL_POSIX_API void *nl_posix_pthread_getspecific(pthread_key_t key);
NL_POSIX_API int nl_posix_pthread_setspecific(pthread_key_t key,
                                              const void *value);

#endif
