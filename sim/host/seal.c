/* Sealing natlab with a seccomp filter (see seal.h for the contract).
 *
 * How a refused call is answered: the filter traps it (SECCOMP_RET_TRAP),
 * so the kernel does not run it and sends SIGSYS to the calling thread
 * instead, with the call's number; the arguments and the result register
 * are in the handler's ucontext.  The handler then decides by who made the
 * call, which the filter cannot see:
 *
 * - a program (a coroutine runs, or a program object is being loaded):
 *   the program is ended, as the crash guard ends one that crashed
 *   (nl__coro_kill_current, on the alternate stack), and the call is
 *   recorded for its report; while loading, the call fails with EPERM;
 * - natlab itself: a call that only natlab may make is made again from
 *   the handler with a secret sixth argument (a cookie drawn from the real
 *   random source when sealing) that the filter lets through, and its
 *   result is put in the result register; a signal mask change is applied
 *   to the ucontext's mask, which the kernel restores when the handler
 *   returns (a real rt_sigprocmask here would be undone by that).
 *
 * SIGSYS must never be blocked when a call traps: the kernel would then
 * reset its handler to the default action and kill natlab.  So masks set
 * through the handler never include SIGSYS, and neither do the masks of
 * signal handlers installed through it.
 *
 * The handler is not instrumented by AddressSanitizer (it may run on the
 * alternate stack and never return) and calls nothing that is not
 * async-signal-safe.
 */
#include "sim/host/seal.h"
#include "sim/host/coro-priv.h"
#include "sim/host/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define NL_NO_ASAN __attribute__((no_sanitize_address))
#define NL_SEAL_LSAN 1
#else
#define NL_NO_ASAN
#endif

G_DEFINE_QUARK(nl-seal-error-quark, nl_seal_error)

/* ---- the machine: argument and result registers ---- */

#if defined(__x86_64__)
#define NL_SEAL_SUPPORTED 1
#define NL_SEAL_ARCH AUDIT_ARCH_X86_64
static greg_t *reg_arg(ucontext_t *uc, int i) {
  static const int regs[6] = {REG_RDI, REG_RSI, REG_RDX,
                              REG_R10, REG_R8,  REG_R9};
  return &uc->uc_mcontext.gregs[regs[i]];
}
#define REG_RESULT(uc) ((uc)->uc_mcontext.gregs[REG_RAX])
#define REG_PC(uc) ((uc)->uc_mcontext.gregs[REG_RIP])

/* A system call with six arguments, without touching errno. */
NL_NO_ASAN static long raw_syscall(long nr, long a, long b, long c, long d,
                                   long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
#define NL_SEAL_SUPPORTED 1
#define NL_SEAL_ARCH AUDIT_ARCH_AARCH64
static unsigned long long *reg_arg(ucontext_t *uc, int i) {
  return &uc->uc_mcontext.regs[i];
}
#define REG_RESULT(uc) ((uc)->uc_mcontext.regs[0])
#define REG_PC(uc) ((uc)->uc_mcontext.pc)

NL_NO_ASAN static long raw_syscall(long nr, long a, long b, long c, long d,
                                   long e, long f) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}
#endif

/* ---- the rules ---- */

typedef enum {
  NEVER,   /* refused everywhere */
  NATLAB,  /* natlab's only: made again for natlab */
  SIGNAL,  /* natlab's only, and only aimed at natlab itself */
  SIGMASK, /* a program's is ignored, natlab's applied */
  CLONE3,  /* a program's is refused, natlab's fails with ENOSYS */
} Class;

typedef enum {
  ANY,         /* every call */
  NE,          /* argument != value */
  EQ,          /* argument == value */
  MASKED_ZERO, /* (argument & value) == 0 */
  MASKED_SET,  /* (argument & value) == value */
} Op;

typedef struct {
  const char *name;
  Class cls;
  const char *what;
  int arg;
  Op op;
  uint64_t val;
} Rule;

#if defined(NL_SEAL_LSAN)
/* The leak checker's tracer: clone(CLONE_VM | CLONE_FS | CLONE_FILES |
 * CLONE_UNTRACED) at exit, then ptrace of natlab's thread. */
#define CLONE_ALLOWED (CLONE_THREAD | CLONE_UNTRACED)
#define PTRACE_CLASS NATLAB
#else
#define CLONE_ALLOWED CLONE_THREAD
#define PTRACE_CLASS NEVER
#endif

#define TIOCLINUX_REQ 0x541C

static const Rule run_rules[] = {
    /* The network: the lab answers sockets; these would be real ones. */
    {"socket", NEVER, "a real socket", 0, ANY, 0},
    {"socketpair", NEVER, "a real socket", 0, ANY, 0},
    {"connect", NEVER, "a real connection", 0, ANY, 0},
    {"bind", NEVER, "a real socket", 0, ANY, 0},
    {"listen", NEVER, "a real socket", 0, ANY, 0},
    {"accept", NEVER, "a real connection", 0, ANY, 0},
    {"accept4", NEVER, "a real connection", 0, ANY, 0},
    {"sendto", NEVER, "real network traffic", 0, ANY, 0},
    {"sendmsg", NEVER, "real network traffic", 0, ANY, 0},
    {"sendmmsg", NEVER, "real network traffic", 0, ANY, 0},
    {"recvfrom", NEVER, "real network traffic", 0, ANY, 0},
    {"recvmsg", NEVER, "real network traffic", 0, ANY, 0},
    {"recvmmsg", NEVER, "real network traffic", 0, ANY, 0},
    /* Processes and other programs. */
    {"clone", NEVER, "a new process", 0, MASKED_ZERO, CLONE_ALLOWED},
    {"clone3", CLONE3, "a new process", 0, ANY, 0},
    {"fork", NEVER, "a new process", 0, ANY, 0},
    {"vfork", NEVER, "a new process", 0, ANY, 0},
    {"execve", NEVER, "running another program", 0, ANY, 0},
    {"execveat", NEVER, "running another program", 0, ANY, 0},
    {"ptrace", PTRACE_CLASS, "tracing a process", 0, ANY, 0},
    {"process_vm_readv", NEVER, "another process's memory", 0, ANY, 0},
    {"process_vm_writev", NEVER, "another process's memory", 0, ANY, 0},
    {"pidfd_open", NEVER, "another process", 0, ANY, 0},
    {"pidfd_getfd", NEVER, "another process's files", 0, ANY, 0},
    {"pidfd_send_signal", NEVER, "a signal to another process", 0, ANY, 0},
    /* Signals: to natlab itself only, and never its guard's. */
    {"kill", SIGNAL, "a real signal", 0, ANY, 0},
    {"tkill", SIGNAL, "a real signal", 0, ANY, 0},
    {"tgkill", SIGNAL, "a real signal", 0, ANY, 0},
    {"rt_sigqueueinfo", SIGNAL, "a real signal", 0, ANY, 0},
    {"rt_tgsigqueueinfo", SIGNAL, "a real signal", 0, ANY, 0},
    {"rt_sigaction", NATLAB, "a real signal handler", 1, NE, 0},
    {"sigaltstack", NATLAB, "the real signal stack", 0, NE, 0},
    {"rt_sigprocmask", SIGMASK, "the real signal mask", 0, NE, SIG_UNBLOCK},
    /* Timers: the watchdog's. */
    {"timer_create", NATLAB, "a real timer", 0, ANY, 0},
    {"timer_settime", NATLAB, "a real timer", 0, ANY, 0},
    {"timer_delete", NATLAB, "a real timer", 0, ANY, 0},
    {"setitimer", NATLAB, "a real timer", 0, ANY, 0},
    {"alarm", NATLAB, "a real timer", 0, ANY, 0},
    /* natlab's process itself. */
    {"exit_group", NATLAB, "ending natlab", 0, ANY, 0},
    {"exit", NATLAB, "ending natlab's thread", 0, ANY, 0},
    {"prctl", NATLAB, "natlab's process settings", 0, ANY, 0},
    {"seccomp", NATLAB, "natlab's seccomp filter", 0, ANY, 0},
    {"setrlimit", NATLAB, "natlab's resource limits", 0, ANY, 0},
    {"prlimit64", NATLAB, "natlab's resource limits", 2, NE, 0},
    {"chdir", NATLAB, "natlab's working directory", 0, ANY, 0},
    {"fchdir", NATLAB, "natlab's working directory", 0, ANY, 0},
    {"umask", NATLAB, "natlab's file mode mask", 0, ANY, 0},
    {"setsid", NATLAB, "natlab's session", 0, ANY, 0},
    {"setpgid", NATLAB, "natlab's process group", 0, ANY, 0},
    {"setuid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setgid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setreuid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setregid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setresuid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setresgid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setgroups", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setfsuid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"setfsgid", NATLAB, "natlab's identity", 0, ANY, 0},
    {"capset", NATLAB, "natlab's capabilities", 0, ANY, 0},
    {"arch_prctl", NATLAB, "natlab's thread registers", 0, ANY, 0},
    {"personality", NATLAB, "natlab's personality", 0, ANY, 0},
    {"modify_ldt", NEVER, "the descriptor table", 0, ANY, 0},
    {"iopl", NEVER, "hardware ports", 0, ANY, 0},
    {"ioperm", NEVER, "hardware ports", 0, ANY, 0},
    /* The machine. */
    {"io_uring_setup", NEVER, "io_uring, which bypasses this confinement",
     0, ANY, 0},
    {"io_uring_enter", NEVER, "io_uring, which bypasses this confinement",
     0, ANY, 0},
    {"io_uring_register", NEVER,
     "io_uring, which bypasses this confinement", 0, ANY, 0},
    {"bpf", NEVER, "a kernel program", 0, ANY, 0},
    {"perf_event_open", NEVER, "kernel performance events", 0, ANY, 0},
    {"userfaultfd", NEVER, "page fault handling", 0, ANY, 0},
    {"unshare", NEVER, "namespaces", 0, ANY, 0},
    {"setns", NEVER, "namespaces", 0, ANY, 0},
    {"mount", NEVER, "mounting", 0, ANY, 0},
    {"umount2", NEVER, "mounting", 0, ANY, 0},
    {"pivot_root", NEVER, "mounting", 0, ANY, 0},
    {"chroot", NEVER, "the root directory", 0, ANY, 0},
    {"open_by_handle_at", NEVER, "opening a file by handle", 0, ANY, 0},
    {"swapon", NEVER, "swap", 0, ANY, 0},
    {"swapoff", NEVER, "swap", 0, ANY, 0},
    {"reboot", NEVER, "rebooting", 0, ANY, 0},
    {"kexec_load", NEVER, "loading a kernel", 0, ANY, 0},
    {"kexec_file_load", NEVER, "loading a kernel", 0, ANY, 0},
    {"init_module", NEVER, "a kernel module", 0, ANY, 0},
    {"finit_module", NEVER, "a kernel module", 0, ANY, 0},
    {"delete_module", NEVER, "a kernel module", 0, ANY, 0},
    {"acct", NEVER, "process accounting", 0, ANY, 0},
    {"quotactl", NEVER, "disk quotas", 0, ANY, 0},
    {"sethostname", NEVER, "the real host name", 0, ANY, 0},
    {"setdomainname", NEVER, "the real domain name", 0, ANY, 0},
    {"settimeofday", NEVER, "the real clock", 0, ANY, 0},
    {"clock_settime", NEVER, "the real clock", 0, ANY, 0},
    {"clock_adjtime", NEVER, "the real clock", 0, ANY, 0},
    {"adjtimex", NEVER, "the real clock", 0, ANY, 0},
    {"add_key", NEVER, "the kernel keyring", 0, ANY, 0},
    {"request_key", NEVER, "the kernel keyring", 0, ANY, 0},
    {"keyctl", NEVER, "the kernel keyring", 0, ANY, 0},
    {"ioctl", NEVER, "typing into the terminal (TIOCSTI)", 1, EQ, TIOCSTI},
    {"ioctl", NEVER, "the console (TIOCLINUX)", 1, EQ, TIOCLINUX_REQ},
    {"fcntl", NEVER, "signals to another process (F_SETOWN)", 1, EQ,
     F_SETOWN},
    {"fcntl", NEVER, "signals to another process (F_SETOWN_EX)", 1, EQ,
     F_SETOWN_EX},
    {"fcntl", NEVER, "signals to another process (F_SETSIG)", 1, EQ,
     F_SETSIG},
};

/* NL_SEAL_READ_ONLY adds: no file is created, written or changed. */
static const Rule read_only_rules[] = {
    {"open", NEVER, "writing a file", 1, MASKED_SET, O_WRONLY},
    {"open", NEVER, "writing a file", 1, MASKED_SET, O_RDWR},
    {"open", NEVER, "creating a file", 1, MASKED_SET, O_CREAT},
    {"open", NEVER, "truncating a file", 1, MASKED_SET, O_TRUNC},
    {"openat", NEVER, "writing a file", 2, MASKED_SET, O_WRONLY},
    {"openat", NEVER, "writing a file", 2, MASKED_SET, O_RDWR},
    {"openat", NEVER, "creating a file", 2, MASKED_SET, O_CREAT},
    {"openat", NEVER, "truncating a file", 2, MASKED_SET, O_TRUNC},
    {"openat2", NEVER, "opening a file (openat2)", 0, ANY, 0},
    {"creat", NEVER, "creating a file", 0, ANY, 0},
    {"rename", NEVER, "renaming a file", 0, ANY, 0},
    {"renameat", NEVER, "renaming a file", 0, ANY, 0},
    {"renameat2", NEVER, "renaming a file", 0, ANY, 0},
    {"unlink", NEVER, "removing a file", 0, ANY, 0},
    {"unlinkat", NEVER, "removing a file", 0, ANY, 0},
    {"rmdir", NEVER, "removing a folder", 0, ANY, 0},
    {"mkdir", NEVER, "creating a folder", 0, ANY, 0},
    {"mkdirat", NEVER, "creating a folder", 0, ANY, 0},
    {"link", NEVER, "linking a file", 0, ANY, 0},
    {"linkat", NEVER, "linking a file", 0, ANY, 0},
    {"symlink", NEVER, "linking a file", 0, ANY, 0},
    {"symlinkat", NEVER, "linking a file", 0, ANY, 0},
    {"mknod", NEVER, "creating a file", 0, ANY, 0},
    {"mknodat", NEVER, "creating a file", 0, ANY, 0},
    {"truncate", NEVER, "truncating a file", 0, ANY, 0},
    {"chmod", NEVER, "changing a file", 0, ANY, 0},
    {"fchmod", NEVER, "changing a file", 0, ANY, 0},
    {"fchmodat", NEVER, "changing a file", 0, ANY, 0},
    {"chown", NEVER, "changing a file", 0, ANY, 0},
    {"fchown", NEVER, "changing a file", 0, ANY, 0},
    {"lchown", NEVER, "changing a file", 0, ANY, 0},
    {"fchownat", NEVER, "changing a file", 0, ANY, 0},
    {"utime", NEVER, "changing a file", 0, ANY, 0},
    {"utimes", NEVER, "changing a file", 0, ANY, 0},
    {"utimensat", NEVER, "changing a file", 0, ANY, 0},
    {"futimesat", NEVER, "changing a file", 0, ANY, 0},
    {"setxattr", NEVER, "changing a file", 0, ANY, 0},
    {"lsetxattr", NEVER, "changing a file", 0, ANY, 0},
    {"fsetxattr", NEVER, "changing a file", 0, ANY, 0},
    {"removexattr", NEVER, "changing a file", 0, ANY, 0},
    {"lremovexattr", NEVER, "changing a file", 0, ANY, 0},
    {"fremovexattr", NEVER, "changing a file", 0, ANY, 0},
};

#define N_RUN G_N_ELEMENTS(run_rules)
#define N_READ_ONLY G_N_ELEMENTS(read_only_rules)
#define MAX_RULES (N_RUN + N_READ_ONLY)

static struct {
  gboolean active;
  NlSealLevel level;
  uint64_t cookie;
  long pid;
  struct sigaction old_sys;
  /* The rules in force and their system call numbers (-1: none here). */
  const Rule *rules[MAX_RULES];
  int nrs[MAX_RULES];
  unsigned n_rules;
  /* The last refusal: its rule, or NULL and the number of a call of
   * another ABI. */
  volatile gboolean refused_any;
  const Rule *volatile last_rule;
  volatile long last_nr;
  volatile unsigned loading;
  volatile unsigned loading_refused;
  volatile unsigned natlab_refused;
  char text[160];
} seal;

/* The first rule for @nr; with @uc, the first whose condition holds. */
NL_NO_ASAN static const Rule *rule_of(long nr, ucontext_t *uc);

/* ---- the handler ---- */

#if defined(NL_SEAL_SUPPORTED)

#define SIGBIT(s) ((uint64_t)1 << ((s) - 1))

NL_NO_ASAN static long arg(ucontext_t *uc, int i) {
  return (long)*reg_arg(uc, i);
}

NL_NO_ASAN static gboolean holds(const Rule *r, ucontext_t *uc) {
  uint64_t a = (uint64_t)arg(uc, r->arg);
  switch (r->op) {
    case ANY: return TRUE;
    case NE: return a != r->val;
    case EQ: return a == r->val;
    case MASKED_ZERO: return (a & r->val) == 0;
    case MASKED_SET: return (a & r->val) == r->val;
  }
  return FALSE;
}

NL_NO_ASAN static const Rule *rule_of(long nr, ucontext_t *uc) {
  const Rule *first = NULL;
  for (unsigned i = 0; i < seal.n_rules; i++)
    if (seal.nrs[i] == nr) {
      if (uc == NULL || holds(seal.rules[i], uc))
        return seal.rules[i];
      if (first == NULL)
        first = seal.rules[i];
    }
  return first;
}

NL_NO_ASAN static void set_result(ucontext_t *uc, long r) {
  REG_RESULT(uc) = r;
}

/* A line on stderr, without stdio. */
NL_NO_ASAN static void say(const char *const *parts) {
  char buf[256];
  size_t n = 0;
  for (; *parts != NULL; parts++) {
    size_t len = strlen(*parts);
    if (len > sizeof buf - 1 - n)
      len = sizeof buf - 1 - n;
    memcpy(buf + n, *parts, len);
    n += len;
  }
  buf[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, n);
  (void)w;
}

/* rt_sigprocmask(how, set, old, size), applied to the mask the kernel
 * restores when the handler returns.  A program's change is not applied;
 * natlab's is, except that SIGSYS is never blocked. */
NL_NO_ASAN static void set_mask(ucontext_t *uc, gboolean apply) {
  long how = arg(uc, 0);
  const void *set = (const void *)arg(uc, 1);
  void *old = (void *)arg(uc, 2);
  if (arg(uc, 3) != sizeof(uint64_t)) {
    set_result(uc, -EINVAL);
    return;
  }
  uint64_t cur, next, s = 0;
  memcpy(&cur, &uc->uc_sigmask, sizeof cur);
  next = cur;
  if (set != NULL) {
    memcpy(&s, set, sizeof s);
    if (how == SIG_BLOCK)
      next = cur | s;
    else if (how == SIG_UNBLOCK)
      next = cur & ~s;
    else if (how == SIG_SETMASK)
      next = s;
    else {
      set_result(uc, -EINVAL);
      return;
    }
  }
  if (old != NULL)
    memcpy(old, &cur, sizeof cur);
  if (apply) {
    next &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP) | SIGBIT(SIGSYS));
    memcpy(&uc->uc_sigmask, &next, sizeof next);
  }
  set_result(uc, 0);
}

/* The kernel's struct sigaction on Linux x86_64 and arm64: handler, flags,
 * restorer, mask. */
typedef struct {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
} KernelSigaction;

/* Makes natlab's call again, with the cookie. */
NL_NO_ASAN static long again(long nr, ucontext_t *uc) {
  long a[5];
  for (int i = 0; i < 5; i++)
    a[i] = arg(uc, i);
  KernelSigaction copy;
  if (nr == SYS_rt_sigaction && a[1] != 0 && a[3] == sizeof(uint64_t)) {
    /* A handler that blocks SIGSYS would let a trapped call kill natlab. */
    memcpy(&copy, (const void *)a[1], sizeof copy);
    copy.mask &= ~SIGBIT(SIGSYS);
    a[1] = (long)&copy;
  }
  return raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], (long)seal.cookie);
}

/* kill(pid), tkill(tid), tgkill(tgid, ...), rt_sigqueueinfo(pid, ...),
 * rt_tgsigqueueinfo(tgid, ...): the first argument names the target. */
NL_NO_ASAN static gboolean aimed_at_natlab(ucontext_t *uc) {
  return arg(uc, 0) == seal.pid;
}

NL_NO_ASAN static void natlab_refused(const Rule *r, ucontext_t *uc) {
  seal.natlab_refused++;
  const char *parts[] = {"natlab: sealed: natlab itself made the system "
                         "call ",
                         r ? r->name : "of another ABI", " (",
                         r ? r->what : "refused", "); it failed with EPERM",
                         NULL};
  say(parts);
  set_result(uc, -EPERM);
}

NL_NO_ASAN static void sigsys_handler(int signo, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  int saved_errno = errno;
  long nr = si->si_syscall;
  gboolean foreign = si->si_arch != NL_SEAL_ARCH;
#if defined(__x86_64__)
  foreign = foreign || (nr & 0x40000000) != 0; /* the x32 ABI */
#endif
  const Rule *r = foreign ? NULL : rule_of(nr, uc);
  NlCoroTls *t = &nl__coro_tls;
  gboolean in_coro = t->cur != NULL && !t->in_switch;
  if (in_coro) {
    /* A program. */
    NlCoro *c = t->cur;
    if (r != NULL && r->cls == SIGMASK) {
      set_mask(uc, FALSE);
      goto out;
    }
    if (c->refusal == NULL) { /* the first one names it */
      c->refusal = r != NULL ? (const void *)r : (const void *)&seal;
      c->refusal_nr = nr;
    }
    /* Made from inside libc & co (system(), fork(), found with dlsym):
     * locks may be held there (fork takes malloc's and stdio's), so the
     * call fails and the program is ended at its next call into the lab
     * (proc.c).  Made by the program's own code: ended now. */
    if (nl__guard_pc_in_runtime((uintptr_t)REG_PC(uc))) {
      c->refusal_pending = TRUE;
      set_result(uc, -EPERM);
      goto out;
    }
    nl__coro_kill_current(NL_CORO_END_CRASHED, SIGSYS, NULL,
                          (void *)REG_PC(uc));
  }
  if (seal.loading > 0 && !nl__guard_dying()) {
    /* A program's constructor or destructor: nothing to end. */
    seal.last_rule = r;
    seal.last_nr = nr;
    seal.refused_any = TRUE;
    seal.loading_refused++;
    set_result(uc, -EPERM);
    goto out;
  }
  /* natlab itself. */
  if (r == NULL) {
    natlab_refused(NULL, uc);
    goto out;
  }
  switch (r->cls) {
    case NATLAB:
      set_result(uc, again(nr, uc));
      break;
    case SIGNAL:
      if (aimed_at_natlab(uc))
        set_result(uc, again(nr, uc));
      else
        natlab_refused(r, uc);
      break;
    case SIGMASK:
      set_mask(uc, TRUE);
      break;
    case CLONE3:
      /* glibc then falls back to clone, whose flags the filter sees. */
      set_result(uc, -ENOSYS);
      break;
    case NEVER:
      natlab_refused(r, uc);
      break;
  }
out:
  errno = saved_errno;
}

/* int 0x80 in a 64-bit program is a 32-bit system call, which the filter
 * refuses as one of another ABI.  Where the kernel runs none (built
 * without IA32 emulation, booted with ia32_emulation=0, or in some
 * virtual machines) the instruction faults first instead (SIGSEGV,
 * SI_KERNEL, the pc on it): the crash guard asks here (its fault hook),
 * and the call is answered as the filter would have, so that a program
 * gets the same report on every machine. */
NL_NO_ASAN static gboolean foreign_call_fault(void *ucv) {
#if defined(NL_SEAL_SUPPORTED) && defined(__x86_64__)
  ucontext_t *uc = ucv;
  const unsigned char *pc = (const unsigned char *)REG_PC(uc);
  /* The pc faulted on an instruction, so its page is mapped and,
   * executable, readable. */
  if (!seal.active || pc == NULL || pc[0] != 0xcd || pc[1] != 0x80)
    return FALSE;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGSYS;
  si.si_code = 1; /* SYS_SECCOMP */
  si.si_syscall = (int)REG_RESULT(uc);
  si.si_arch = AUDIT_ARCH_I386;
  REG_PC(uc) += 2; /* where a system call returns */
  sigsys_handler(SIGSYS, &si, uc);
  return TRUE;
#else
  (void)ucv;
  return FALSE;
#endif
}

/* ---- building the filter ---- */

static gboolean fail(GError **error, NlSealError code, const char *what,
                     int rc) {
  g_set_error(error, NL_SEAL_ERROR, code, "seccomp: %s: %s", what,
              g_strerror(rc < 0 ? -rc : rc));
  return FALSE;
}

static gboolean add_rules(scmp_filter_ctx ctx, const Rule *rules, unsigned n,
                          GError **error) {
  for (unsigned i = 0; i < n; i++) {
    const Rule *r = &rules[i];
    int nr = seccomp_syscall_resolve_name(r->name);
    if (nr < 0)
      continue; /* not a system call of this architecture */
    struct scmp_arg_cmp cmp[2];
    unsigned nc = 0;
    switch (r->op) {
      case ANY:
        break;
      case NE:
        cmp[nc++] = (struct scmp_arg_cmp){(unsigned)r->arg, SCMP_CMP_NE,
                                          r->val, 0};
        break;
      case EQ:
        cmp[nc++] = (struct scmp_arg_cmp){(unsigned)r->arg, SCMP_CMP_EQ,
                                          r->val, 0};
        break;
      case MASKED_ZERO:
        cmp[nc++] = (struct scmp_arg_cmp){(unsigned)r->arg,
                                          SCMP_CMP_MASKED_EQ, r->val, 0};
        break;
      case MASKED_SET:
        cmp[nc++] = (struct scmp_arg_cmp){(unsigned)r->arg,
                                          SCMP_CMP_MASKED_EQ, r->val, r->val};
        break;
    }
    if (r->cls == NATLAB || r->cls == SIGNAL)
      cmp[nc++] = (struct scmp_arg_cmp){5, SCMP_CMP_NE, seal.cookie, 0};
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_TRAP, nr, nc, cmp);
    if (rc < 0) {
      char *what = g_strdup_printf("a rule for %s", r->name);
      fail(error, NL_SEAL_ERROR_FAILED, what, rc);
      g_free(what);
      return FALSE;
    }
    if (seal.n_rules < MAX_RULES) {
      seal.rules[seal.n_rules] = r;
      seal.nrs[seal.n_rules] = nr;
      seal.n_rules++;
    }
  }
  return TRUE;
}

gboolean nl_seal_apply(NlSealLevel level, GError **error) {
  if (seal.active && (level == seal.level || level == NL_SEAL_RUN))
    return TRUE;
  if (!nl_guard_init(error))
    return FALSE;
  if (!seal.active) {
    if (getrandom(&seal.cookie, sizeof seal.cookie, 0) !=
            (ssize_t)sizeof seal.cookie ||
        seal.cookie == 0)
      return fail(error, NL_SEAL_ERROR_FAILED, "getrandom", errno);
    seal.pid = getpid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = sigsys_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    if (sigaction(SIGSYS, &sa, &seal.old_sys) != 0)
      return fail(error, NL_SEAL_ERROR_FAILED, "sigaction(SIGSYS)", errno);
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    sigprocmask(SIG_UNBLOCK, &sys, NULL);
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return fail(error, NL_SEAL_ERROR_UNSUPPORTED, "seccomp_init", ENOSYS);
  int rc;
  if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP)) <
          0 ||
      (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0 ||
      (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
    seccomp_release(ctx);
    return fail(error, NL_SEAL_ERROR_FAILED, "attributes", rc);
  }
  unsigned kept = seal.n_rules;
  gboolean ok = TRUE;
  if (!seal.active)
    ok = add_rules(ctx, run_rules, N_RUN, error);
  if (ok && level == NL_SEAL_READ_ONLY)
    ok = add_rules(ctx, read_only_rules, N_READ_ONLY, error);
  if (ok && (rc = seccomp_load(ctx)) < 0)
    ok = fail(error,
              rc == -EINVAL || rc == -ENOSYS ? NL_SEAL_ERROR_UNSUPPORTED
                                              : NL_SEAL_ERROR_FAILED,
              "loading the filter", rc);
  seccomp_release(ctx);
  if (!ok) {
    seal.n_rules = kept;
    if (!seal.active)
      sigaction(SIGSYS, &seal.old_sys, NULL);
    return FALSE;
  }
  seal.active = TRUE;
  seal.level = level;
  nl__guard_set_fault_hook(foreign_call_fault);
  return TRUE;
}

#else /* !NL_SEAL_SUPPORTED */

gboolean nl_seal_apply(NlSealLevel level, GError **error) {
  (void)level;
  g_set_error(error, NL_SEAL_ERROR, NL_SEAL_ERROR_UNSUPPORTED,
              "natlab cannot confine itself on this architecture");
  return FALSE;
}

#endif

gboolean nl_seal_active(void) {
  return seal.active;
}

static const char *describe(const Rule *r, long nr) {
  if (r != NULL)
    g_snprintf(seal.text, sizeof seal.text, "the system call %s (%s)",
               r->name, r->what);
  else
    g_snprintf(seal.text, sizeof seal.text,
               "a system call of another ABI (number %ld)", nr);
  return seal.text;
}

/* A refusal the lab made itself (nl_seal_refuse), described in words:
 * the last one only, which is reported before another can happen. */
static char custom_text[200];
static const char custom_marker = 0;

const char *nl_seal_last_refusal(void) {
  if (!seal.refused_any)
    return NULL;
  if (seal.last_rule == (const Rule *)&custom_marker)
    return custom_text;
  return describe(seal.last_rule, seal.last_nr);
}

const char *nl_seal_refusal(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, NULL);
  if (c->refusal == NULL)
    return NULL;
  if (c->refusal == (const void *)&custom_marker)
    return custom_text;
  /* &seal stands for "a call of another ABI". */
  return describe(c->refusal == (const void *)&seal ? NULL : c->refusal,
                  c->refusal_nr);
}

void nl_seal_refuse(const char *what) {
  g_strlcpy(custom_text, what, sizeof custom_text);
  NlCoro *c = nl__coro_tls.cur;
  if (c != NULL) {
    c->refusal = &custom_marker;
    nl_guard_crash_current(SIGSYS);
  }
  seal.last_rule = (const Rule *)&custom_marker;
  seal.refused_any = TRUE;
  if (seal.loading > 0)
    seal.loading_refused++;
}

gboolean nl_seal_refusal_pending(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, FALSE);
  return c->refusal_pending;
}

void nl_seal_check(void) {
  NlCoro *c = nl__coro_tls.cur;
  if (G_UNLIKELY(c != NULL && c->refusal_pending))
    nl_guard_crash_current(SIGSYS);
}

void nl_seal_loading_begin(void) {
  if (seal.loading++ == 0)
    seal.loading_refused = 0;
}

unsigned nl_seal_loading_end(void) {
  g_return_val_if_fail(seal.loading > 0, 0);
  unsigned n = seal.loading_refused;
  if (--seal.loading == 0)
    seal.loading_refused = 0;
  return n;
}

unsigned nl_seal_natlab_refusals(void) {
  return seal.natlab_refused;
}
