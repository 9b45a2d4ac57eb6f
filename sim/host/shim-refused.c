/* The calls natlab refuses (posix-refused.txt), defined in the shim so that
 * no program reaches libc's: natlab-cc refuses a program whose own code
 * calls one, naming it; a static library it links (libevent, libcrypto)
 * may still name one in code the program may never run, and there the
 * lab answers at run time (nl_posix_refused_call): a call that would start
 * or become another program, change the process or wait for a signal ends
 * the program, named; the others fail with ENOSYS, named in the trace, so
 * that the library can fall back (libevent tries eventfd, then a pipe).
 * tests/test-run-confine.c checks that every name of the list is here.
 */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/personality.h>
#include <sys/pidfd.h>
#include <sys/ptrace.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sim/host/posix-confine.h"

#define R(name) nl_posix_refused_call(#name)

/* Another program, another process, another identity. */
pid_t fork(void) { return (pid_t)R(fork); }
pid_t vfork(void) { return (pid_t)R(vfork); }
pid_t _Fork(void) { return (pid_t)R(_Fork); }
pid_t forkpty(int *amaster, char *name, const struct termios *termp,
              const struct winsize *winp) {
  return (pid_t)R(forkpty);
}
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
  return (int)R(clone);
}
int execve(const char *path, char *const argv[], char *const envp[]) {
  return (int)R(execve);
}
int execv(const char *path, char *const argv[]) { return (int)R(execv); }
int execvp(const char *file, char *const argv[]) { return (int)R(execvp); }
int execvpe(const char *file, char *const argv[], char *const envp[]) {
  return (int)R(execvpe);
}
int execveat(int fd, const char *path, char *const argv[],
             char *const envp[], int flags) {
  return (int)R(execveat);
}
int fexecve(int fd, char *const argv[], char *const envp[]) {
  return (int)R(fexecve);
}
int execl(const char *path, const char *arg, ...) { return (int)R(execl); }
int execlp(const char *file, const char *arg, ...) { return (int)R(execlp); }
int execle(const char *path, const char *arg, ...) { return (int)R(execle); }
int system(const char *command) { return (int)R(system); }
FILE *popen(const char *command, const char *type) {
  R(popen);
  return NULL;
}
int posix_spawn(pid_t *pid, const char *path,
                const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[],
                char *const envp[]) {
  return (int)R(posix_spawn);
}
int posix_spawnp(pid_t *pid, const char *file,
                 const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *attr, char *const argv[],
                 char *const envp[]) {
  return (int)R(posix_spawnp);
}
int daemon(int nochdir, int noclose) { return (int)R(daemon); }
long ptrace(enum __ptrace_request request, ...) { return R(ptrace); }
ssize_t process_vm_readv(pid_t pid, const struct iovec *local,
                         unsigned long liovcnt, const struct iovec *remote,
                         unsigned long riovcnt, unsigned long flags) {
  return R(process_vm_readv);
}
ssize_t process_vm_writev(pid_t pid, const struct iovec *local,
                          unsigned long liovcnt, const struct iovec *remote,
                          unsigned long riovcnt, unsigned long flags) {
  return R(process_vm_writev);
}
int pidfd_open(pid_t pid, unsigned int flags) { return (int)R(pidfd_open); }
int pidfd_send_signal(int pidfd, int sig, siginfo_t *info,
                      unsigned int flags) {
  return (int)R(pidfd_send_signal);
}
pid_t setsid(void) { return (pid_t)R(setsid); }
int setpgid(pid_t pid, pid_t pgid) { return (int)R(setpgid); }
int setuid(uid_t uid) { return (int)R(setuid); }
int setgid(gid_t gid) { return (int)R(setgid); }
int seteuid(uid_t uid) { return (int)R(seteuid); }
int setegid(gid_t gid) { return (int)R(setegid); }
int setreuid(uid_t r, uid_t e) { return (int)R(setreuid); }
int setregid(gid_t r, gid_t e) { return (int)R(setregid); }
int setresuid(uid_t r, uid_t e, uid_t s) { return (int)R(setresuid); }
int setresgid(gid_t r, gid_t e, gid_t s) { return (int)R(setresgid); }
int setgroups(size_t n, const gid_t *list) { return (int)R(setgroups); }
int chroot(const char *path) { return (int)R(chroot); }
int personality(unsigned long persona) { return (int)R(personality); }
int unshare(int flags) { return (int)R(unshare); }
int setns(int fd, int nstype) { return (int)R(setns); }
int on_exit(void (*fn)(int, void *), void *arg) { return (int)R(on_exit); }
int clock_settime(clockid_t clk, const struct timespec *ts) {
  return (int)R(clock_settime);
}
int settimeofday(const struct timeval *tv, const struct timezone *tz) {
  return (int)R(settimeofday);
}

/* Waiting for a signal, which never comes in the lab; real timers. */
int __xpg_sigpause(int sig);
int __xpg_sigpause(int sig) { return (int)R(sigpause); }
/* The BSD sigpause, under its own name (the headers rename sigpause). */
int bsd_sigpause(int mask) __asm__("sigpause");
int bsd_sigpause(int mask) { return (int)R(sigpause); }
int __sigpause(int sig_or_mask, int is_sig);
int __sigpause(int sig_or_mask, int is_sig) { return (int)R(sigpause); }
int sigsuspend(const sigset_t *set) { return (int)R(sigsuspend); }
int sigwait(const sigset_t *set, int *sig) { return (int)R(sigwait); }
int sigwaitinfo(const sigset_t *set, siginfo_t *info) {
  return (int)R(sigwaitinfo);
}
int sigtimedwait(const sigset_t *set, siginfo_t *info,
                 const struct timespec *timeout) {
  return (int)R(sigtimedwait);
}
int pthread_sigqueue(pthread_t th, int sig, const union sigval value) {
  return (int)R(pthread_sigqueue);
}
unsigned int alarm(unsigned int seconds) { return (unsigned)R(alarm); }
int setitimer(__itimer_which_t which, const struct itimerval *value,
              struct itimerval *old) {
  return (int)R(setitimer);
}
int timer_create(clockid_t clk, struct sigevent *sev, timer_t *timer) {
  return (int)R(timer_create);
}

/* Not answered, but harmless to try: ENOSYS. */
int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags) {
  return (int)R(sendmmsg);
}
int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
             struct timespec *timeout) {
  return (int)R(recvmmsg);
}
ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
  return R(sendfile);
}
ssize_t sendfile64(int out, int in, off_t *offset, size_t count);
ssize_t sendfile64(int out, int in, off_t *offset, size_t count) {
  return R(sendfile);
}
ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
               unsigned int flags) {
  return R(splice);
}
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
          const sigset_t *mask) {
  return (int)R(ppoll);
}
int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
            const struct timespec *timeout, const sigset_t *mask) {
  return (int)R(pselect);
}
int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout,
                const sigset_t *mask) {
  return (int)R(epoll_pwait);
}
int epoll_pwait2(int epfd, struct epoll_event *events, int max,
                 const struct timespec *timeout, const sigset_t *mask) {
  return (int)R(epoll_pwait2);
}
int signalfd(int fd, const sigset_t *mask, int flags) {
  return (int)R(signalfd);
}
int timerfd_create(int clk, int flags) { return (int)R(timerfd_create); }
int eventfd(unsigned int count, int flags) { return (int)R(eventfd); }
int inotify_init(void) { return (int)R(inotify_init); }
int inotify_init1(int flags) { return (int)R(inotify_init1); }
int gethostbyname_r(const char *name, struct hostent *ret, char *buf,
                    size_t len, struct hostent **result, int *h_errnop) {
  if (result != NULL)
    *result = NULL;
  R(gethostbyname_r);
  return ENOSYS;
}
struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type) {
  R(gethostbyaddr);
  return NULL;
}
struct servent *getservbyname(const char *name, const char *proto) {
  R(getservbyname);
  return NULL;
}
int pthread_spin_lock(pthread_spinlock_t *lock) {
  R(pthread_spin_lock);
  return ENOSYS;
}
int pthread_cancel(pthread_t th) {
  R(pthread_cancel);
  return ENOSYS;
}
int pthread_barrier_wait(pthread_barrier_t *barrier) {
  R(pthread_barrier_wait);
  return ENOSYS;
}
