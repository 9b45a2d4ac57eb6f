/* The shim's part of confinement (see posix-confine.h): the dynamic
 * linker, syscall(), signals to processes and the other signal calls, and
 * what prebuilt libraries ask of libc beyond the POSIX face.  Linked into
 * every program with shim.c; each call reaches the lab through nl_posix_*.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim/host/posix-confine.h"

/* ---- the dynamic linker ---- */

void *dlopen(const char *file, int mode) {
  return nl_posix_dlopen(file, mode);
}
void *dlsym(void *handle, const char *name) {
  return nl_posix_dlsym(handle, name);
}
void *dlvsym(void *handle, const char *name, const char *version) {
  return nl_posix_dlvsym(handle, name, version);
}
char *dlerror(void) {
  return nl_posix_dlerror();
}
int dlclose(void *handle) {
  return nl_posix_dlclose(handle);
}

/* ---- system calls and randomness ---- */

long syscall(long nr, ...) {
  long args[6];
  va_list ap;
  va_start(ap, nr);
  for (int i = 0; i < 6; i++)
    args[i] = va_arg(ap, long);
  va_end(ap);
  return nl_posix_syscall(nr, args);
}

int getentropy(void *buf, size_t len) {
  return nl_posix_getentropy(buf, len);
}

/* ---- signals ---- */

int kill(pid_t pid, int sig) {
  return nl_posix_kill(pid, sig);
}
int killpg(pid_t pgrp, int sig) {
  if (pgrp < 0) {
    errno = EINVAL;
    return -1;
  }
  return nl_posix_kill(-pgrp, sig);
}
int sigqueue(pid_t pid, int sig, const union sigval value) {
  (void)value;
  return nl_posix_kill(pid, sig);
}
int tgkill(pid_t tgid, pid_t tid, int sig) {
  return nl_posix_tgkill(tgid, tid, sig);
}
int pthread_kill(pthread_t th, int sig) {
  return nl_posix_pthread_kill(th, sig);
}
int gsignal(int sig) {
  return nl_posix_raise(sig);
}
int sigaltstack(const stack_t *ss, stack_t *old) {
  return nl_posix_sigaltstack(ss, old);
}

/* The BSD and System V signal calls, as signal() and sigprocmask() are
 * answered: nothing is delivered, masks are remembered as empty, and
 * SIGPIPE's disposition is honoured.  -std=c99 programs call signal() by
 * its System V name. */
sighandler_t bsd_signal(int sig, sighandler_t h); /* XPG4 only */
sighandler_t bsd_signal(int sig, sighandler_t h) {
  return nl_posix_signal(sig, h);
}
sighandler_t sysv_signal(int sig, sighandler_t h) {
  return nl_posix_signal(sig, h);
}
sighandler_t __sysv_signal(int sig, sighandler_t h) {
  return nl_posix_signal(sig, h);
}
sighandler_t sigset(int sig, sighandler_t h) {
  if (h == SIG_HOLD)
    return SIG_DFL;
  return nl_posix_signal(sig, h);
}
int sighold(int sig) {
  (void)sig;
  return 0;
}
int sigrelse(int sig) {
  (void)sig;
  return 0;
}
int sigignore(int sig) {
  return nl_posix_signal(sig, SIG_IGN) == SIG_ERR ? -1 : 0;
}
int siginterrupt(int sig, int flag) {
  (void)flag;
  if (sig <= 0 || sig >= NSIG) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}
int sigblock(int mask) {
  (void)mask;
  return 0;
}
int sigsetmask(int mask) {
  (void)mask;
  return 0;
}
int siggetmask(void) {
  return 0;
}

/* ---- the process ---- */

void quick_exit(int code) {
  nl_posix_exit(code);
}

/* ---- read-write locks and thread keys ---- */

int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a) {
  return nl_posix_pthread_rwlock_init(l, a);
}
int pthread_rwlock_destroy(pthread_rwlock_t *l) {
  return nl_posix_pthread_rwlock_destroy(l);
}
int pthread_rwlock_rdlock(pthread_rwlock_t *l) {
  return nl_posix_pthread_rwlock_rdlock(l);
}
int pthread_rwlock_wrlock(pthread_rwlock_t *l) {
  return nl_posix_pthread_rwlock_wrlock(l);
}
int pthread_rwlock_tryrdlock(pthread_rwlock_t *l) {
  return nl_posix_pthread_rwlock_tryrdlock(l);
}
int pthread_rwlock_trywrlock(pthread_rwlock_t *l) {
  return nl_posix_pthread_rwlock_trywrlock(l);
}
int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
                               const struct timespec *abstime) {
  return nl_posix_pthread_rwlock_timedrdlock(l, abstime);
}
int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
                               const struct timespec *abstime) {
  return nl_posix_pthread_rwlock_timedwrlock(l, abstime);
}
int pthread_rwlock_unlock(pthread_rwlock_t *l) {
  return nl_posix_pthread_rwlock_unlock(l);
}
int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  return nl_posix_pthread_key_create(key, destructor);
}
int pthread_key_delete(pthread_key_t key) {
  return nl_posix_pthread_key_delete(key);
}
void *pthread_getspecific(pthread_key_t key) {
  return nl_posix_pthread_getspecific(key);
}
/* glibc marks the value "access none" (it is only stored), which makes
 * GCC think passing it on reads it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
int pthread_setspecific(pthread_key_t key, const void *value) {
  return nl_posix_pthread_setspecific(key, value);
}
#pragma GCC diagnostic pop
