/* Crash and spin guard for coroutines (see guard.h for the contract).
 *
 * How a coroutine is stopped from a signal handler: the handler runs on the
 * alternate stack, unblocks its own signal (the kernel blocked it for the
 * handler, and the handler never returns: no sigreturn will unblock it) and
 * switches straight to the coroutine's resumer.  The kernel keeps no record
 * of the abandoned handler frame; it only checks whether the stack pointer
 * lies inside the alternate stack, which it no longer does.  The crash
 * handlers use SA_NODEFER, so only SIGALRM actually needs unblocking.
 *
 * AddressSanitizer installs its own SIGSEGV/SIGBUS/SIGFPE handlers at
 * start-up.  Its allow_user_segv_handler flag is on by default (GCC 12), so
 * our later sigaction() wins; we keep ASan's handler as the "previous" one
 * and call it for faults in the main context, so natlab's own bugs are still
 * reported by ASan.  The handlers and the exit path are not instrumented
 * (no_sanitize_address), so no poisoned frames are left on the alternate
 * stack.  tests/meson.build sets ASAN_OPTIONS=allow_user_segv_handler=1
 * explicitly for older runtimes where the default differed.
 */
#include "sim/host/guard.h"
#include "sim/host/coro-priv.h"

#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define NL_NO_ASAN __attribute__((no_sanitize_address))
#else
#define NL_NO_ASAN
#endif

__thread volatile unsigned long nl__guard_ticks
    __attribute__((tls_model("initial-exec")));

G_DEFINE_QUARK(nl-guard-error-quark, nl_guard_error)

static const int crash_signals[] = {SIGSEGV, SIGBUS,  SIGFPE,
                                    SIGILL,  SIGABRT, SIGTRAP};
#define N_CRASH G_N_ELEMENTS(crash_signals)

/* Code where the watchdog prefers not to stop a coroutine. */
typedef struct {
  uintptr_t lo, hi;
} Range;
#define MAX_UNSAFE 32

#define ALTSTACK_SIZE ((size_t)256 * 1024) /* room for ASan's reporter */
#define ALTSTACK_GUARD ((size_t)64 * 1024)

static struct {
  gboolean installed;
  struct sigaction old[N_CRASH];
  struct sigaction old_alrm;
  char *alt_map;
  size_t alt_total; /* guard region + stack */
  stack_t old_ss;
  Range unsafe[MAX_UNSAFE];
  int n_unsafe;
  /* Watchdog.  "since" is when the handler first saw the current
   * (switches, ticks) pair; it lags the real checkpoint by at most one
   * period, so a coroutine is never stopped early. */
  gboolean timer_live;
  timer_t timer;
  int64_t limit_ns;
  unsigned long seen_switches;
  unsigned long seen_ticks;
  int64_t since;
  volatile uint64_t checks;
} guard;

/* The watchdog's clock: this thread's own CPU time, so another process
 * loading the machine cannot make a program look like it spins. */
static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void unblock(int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int crash_index(int signo) {
  for (unsigned i = 0; i < N_CRASH; i++)
    if (crash_signals[i] == signo)
      return (int)i;
  return -1;
}

static volatile sig_atomic_t guard_dying;

NL_NO_ASAN gboolean nl__guard_dying(void) {
  return guard_dying != 0;
}

/* Hands a signal that is not a coroutine's to whoever had it before. */
NL_NO_ASAN static void chain(const struct sigaction *old, int signo,
                             siginfo_t *si, void *uc) {
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL) {
    old->sa_sigaction(signo, si, uc);
    return;
  }
  if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
      old->sa_handler != SIG_IGN) {
    old->sa_handler(signo);
    return;
  }
  if (old->sa_handler == SIG_IGN && signo != SIGSEGV && signo != SIGBUS &&
      signo != SIGFPE && signo != SIGILL)
    return;
  /* Default action.  A fault made by the kernel happens again when we
   * return; a signal sent by kill/raise, or a trap (which resumes after
   * the trapping instruction), must be sent again. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(signo, &dfl, NULL);
  if (si == NULL || si->si_code <= 0 || signo == SIGTRAP) {
    unblock(signo);
    raise(signo);
  }
}

static uintptr_t context_sp(const void *ucv) {
  const ucontext_t *uc = ucv;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.sp;
#else
  (void)uc;
  return 0;
#endif
}

static uintptr_t context_pc(const void *ucv) {
  const ucontext_t *uc = ucv;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
  return 0;
#endif
}

static NlGuardFaultHook volatile fault_hook;

void nl__guard_set_fault_hook(NlGuardFaultHook hook) {
  fault_hook = hook;
}

NL_NO_ASAN static void crash_handler(int signo, siginfo_t *si, void *uc) {
  NlCoroTls *t = &nl__coro_tls;
  NlGuardFaultHook hook = fault_hook;
  if (signo == SIGSEGV && si->si_code == SI_KERNEL && hook != NULL) {
    /* A general protection fault: perhaps a refused system call (seal.c),
     * whose answer may end the program as below. */
    sigset_t was;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    sigprocmask(SIG_UNBLOCK, &set, &was);
    if (hook(uc))
      return;
    sigprocmask(SIG_SETMASK, &was, NULL);
  }
  if (t->cur != NULL && !t->in_switch) {
    /* si_addr is meaningful only for faults the kernel made. */
    void *addr = si->si_code > 0 ? si->si_addr : NULL;
    nl__coro_note_crash_sp(t->cur, (void *)context_sp(uc));
    nl__coro_save_fault_regs(uc); /* for the crash's backtrace */
    unblock(signo);
    nl__coro_kill_current(NL_CORO_END_CRASHED, signo, addr,
                          (void *)context_pc(uc));
  }
  int i = crash_index(signo);
  g_assert(i >= 0);
  guard_dying = 1; /* natlab's own: its default action, or a sanitizer's */
  chain(&guard.old[i], signo, si, uc);
}

static gboolean pc_unsafe(uintptr_t pc) {
  for (int i = 0; i < guard.n_unsafe; i++)
    if (pc >= guard.unsafe[i].lo && pc < guard.unsafe[i].hi)
      return TRUE;
  return FALSE;
}

NL_NO_ASAN gboolean nl__guard_pc_in_runtime(uintptr_t pc) {
  return pc_unsafe(pc);
}

NL_NO_ASAN static void alarm_handler(int signo, siginfo_t *si, void *uc) {
  if (si->si_code != SI_TIMER || si->si_value.sival_ptr != &guard) {
    chain(&guard.old_alrm, signo, si, uc);
    return;
  }
  int saved_errno = errno;
  NlCoroTls *t = &nl__coro_tls;
  int64_t now = mono_ns();
  unsigned long sw = t->switches, tk = nl__guard_ticks;
  guard.checks++;
  if (t->cur == NULL || sw != guard.seen_switches ||
      tk != guard.seen_ticks) {
    guard.seen_switches = sw;
    guard.seen_ticks = tk;
    guard.since = now;
    goto out;
  }
  int64_t ran = now - guard.since;
  if (guard.limit_ns == 0 || ran < guard.limit_ns || t->in_switch)
    goto out;
  if (ran < 2 * guard.limit_ns && pc_unsafe(context_pc(uc)))
    goto out; /* inside libc & co: try again next period */
  nl__coro_save_fault_regs(uc); /* where it spun */
  unblock(signo);
  nl__coro_kill_current(NL_CORO_END_SPIN, 0, NULL, (void *)context_pc(uc));
out:
  errno = saved_errno;
}

/* Runtimes that may hold locks or half-updated state (malloc, stdio, the
 * dynamic linker, GLib, sanitizers).  Matched by file name. */
static int collect_unsafe(struct dl_phdr_info *info, size_t size, void *data) {
  static const char *const prefixes[] = {
      "libc.so",   "ld-linux", "ld64.so", "libasan",     "libubsan",
      "liblsan",   "libtsan",  "libglib", "libpthread.", "libdl.",
      "libgcc_s.", "libstdc++"};
  (void)size, (void)data;
  const char *name = info->dlpi_name;
  if (name == NULL || name[0] == '\0')
    return 0;
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  gboolean match = FALSE;
  for (unsigned i = 0; i < G_N_ELEMENTS(prefixes); i++)
    if (g_str_has_prefix(base, prefixes[i]))
      match = TRUE;
  if (!match)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    if (guard.n_unsafe == MAX_UNSAFE)
      return 1;
    guard.unsafe[guard.n_unsafe].lo = info->dlpi_addr + ph->p_vaddr;
    guard.unsafe[guard.n_unsafe].hi =
        info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    guard.n_unsafe++;
  }
  return 0;
}

static gboolean set_error_errno(GError **error, const char *what) {
  int e = errno;
  g_set_error(error, NL_GUARD_ERROR, NL_GUARD_ERROR_FAILED, "%s: %s", what,
              g_strerror(e));
  return FALSE;
}

gboolean nl_guard_init(GError **error) {
  if (guard.installed)
    return TRUE;

  /* The alternate stack, with its own guard region below it. */
  size_t alt_size = ALTSTACK_SIZE;
  long min = sysconf(_SC_SIGSTKSZ);
  if (min > 0 && (size_t)min * 4 > alt_size)
    alt_size = (size_t)min * 4;
  char *map = mmap(NULL, ALTSTACK_GUARD + alt_size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
  if (map == MAP_FAILED)
    return set_error_errno(error, "mmap (signal stack)");
  if (mprotect(map + ALTSTACK_GUARD, alt_size, PROT_READ | PROT_WRITE) != 0) {
    set_error_errno(error, "mprotect (signal stack)");
    goto fail_stack;
  }
  stack_t ss = {.ss_sp = map + ALTSTACK_GUARD, .ss_size = alt_size};
  if (sigaltstack(&ss, &guard.old_ss) != 0) {
    set_error_errno(error, "sigaltstack");
    goto fail_stack;
  }
  guard.alt_map = map;
  guard.alt_total = ALTSTACK_GUARD + alt_size;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_sigaction = crash_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  unsigned done;
  for (done = 0; done < N_CRASH; done++)
    if (sigaction(crash_signals[done], &sa, &guard.old[done]) != 0) {
      set_error_errno(error, "sigaction");
      goto fail_actions;
    }
  sa.sa_sigaction = alarm_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  if (sigaction(SIGALRM, &sa, &guard.old_alrm) != 0) {
    set_error_errno(error, "sigaction");
    goto fail_actions;
  }

  guard.n_unsafe = 0;
  dl_iterate_phdr(collect_unsafe, NULL);
  guard.installed = TRUE;
  return TRUE;

fail_actions:
  while (done-- > 0)
    sigaction(crash_signals[done], &guard.old[done], NULL);
  sigaltstack(&guard.old_ss, NULL);
fail_stack:
  munmap(map, ALTSTACK_GUARD + alt_size);
  guard.alt_map = NULL;
  return FALSE;
}

gboolean nl_guard_active(void) {
  if (!guard.installed)
    return FALSE;
  struct sigaction cur;
  if (sigaction(SIGSEGV, NULL, &cur) != 0)
    return FALSE;
  return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == crash_handler;
}

void nl_guard_shutdown(void) {
  if (!guard.installed)
    return;
  g_return_if_fail(nl_coro_current() == NULL);
  if (guard.timer_live) {
    timer_delete(guard.timer);
    guard.timer_live = FALSE;
  }
  guard.limit_ns = 0;
  sigaction(SIGALRM, &guard.old_alrm, NULL);
  for (unsigned i = 0; i < N_CRASH; i++)
    sigaction(crash_signals[i], &guard.old[i], NULL);
  /* Restore the previous alternate stack (ASan's, if any), or none. */
  if (guard.old_ss.ss_flags & SS_DISABLE || guard.old_ss.ss_sp == NULL) {
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
  } else {
    stack_t prev = guard.old_ss;
    prev.ss_flags = 0;
    sigaltstack(&prev, NULL);
  }
  munmap(guard.alt_map, guard.alt_total);
  guard.alt_map = NULL;
  guard.installed = FALSE;
}

gboolean nl_guard_watchdog_set(unsigned ms, GError **error) {
  g_return_val_if_fail(guard.installed, FALSE);
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (ms == 0) {
    guard.limit_ns = 0;
    if (guard.timer_live && timer_settime(guard.timer, 0, &its, NULL) != 0)
      return set_error_errno(error, "timer_settime");
    return TRUE;
  }
  if (!guard.timer_live) {
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    /* Aim at this thread: the handler looks at this thread's coroutine. */
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev._sigev_un._tid = gettid();
    sev.sigev_signo = SIGALRM;
    sev.sigev_value.sival_ptr = &guard;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &guard.timer) != 0)
      return set_error_errno(error, "timer_create");
    guard.timer_live = TRUE;
  }
  int64_t limit = (int64_t)ms * 1000000;
  int64_t period = MAX(limit / 4, (int64_t)1000000);
  guard.seen_switches = nl__coro_tls.switches;
  guard.seen_ticks = nl__guard_ticks;
  guard.since = mono_ns();
  guard.limit_ns = limit;
  its.it_interval.tv_sec = period / 1000000000;
  its.it_interval.tv_nsec = period % 1000000000;
  its.it_value = its.it_interval;
  if (timer_settime(guard.timer, 0, &its, NULL) != 0)
    return set_error_errno(error, "timer_settime");
  return TRUE;
}

void nl_guard_crash_current(int signo) {
  NlCoroTls *t = &nl__coro_tls;
  if (t->cur != NULL && !t->in_switch) {
    /* The backtrace starts here, in natlab's frames, and goes on into
     * the program's (abort(), assert()). */
    ucontext_t uc;
    if (getcontext(&uc) == 0)
      nl__coro_save_fault_regs(&uc);
    nl__coro_kill_current(NL_CORO_END_CRASHED, signo, NULL, NULL);
  }
  /* natlab itself: die the way the signal would have made it die. */
  signal(signo, SIG_DFL);
  unblock(signo);
  raise(signo);
  _exit(128 + signo);
}

uint64_t nl_guard_watchdog_checks(void) {
  return guard.checks;
}
