/* Guarding the simulator against misbehaving programs.
 *
 * Crashes: once nl_guard_init() has run, SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT and SIGTRAP raised while a coroutine runs end that coroutine only
 * (NL_CORO_END_CRASHED, with the signal number, the fault address and a
 * stack-overflow flag when the fault hit the guard region); its resumer's
 * nl_coro_resume() returns.  The handlers run on an alternate signal stack,
 * so a stack overflow is caught too.  The same signals in the main context
 * are natlab's own bugs: the previous handler (e.g. AddressSanitizer's) is
 * called, or the default action restored and the signal raised again.
 *
 * Spinning: nl_guard_watchdog_set(ms) starts a timer on the calling
 * thread's CPU clock (CLOCK_THREAD_CPUTIME_ID, timer_create, SIGALRM,
 * aimed at that thread).  A coroutine that runs for more than @ms of its
 * thread's CPU time without passing a checkpoint (nl_guard_tick(), or
 * being resumed) is ended with NL_CORO_END_SPIN.  CPU time, not wall time:
 * another process loading the machine does not advance it, so a program
 * that computes for a while between calls is judged the same on a loaded
 * grading machine (a machine of another speed still differs: the limit is
 * generous for that).  The outcome is deterministic in virtual time: a
 * spinning program made no lab call, so virtual time did not move while it
 * spun, and it is stopped at the same virtual instant on every run.  What
 * must not reach the trace is anything the program did in memory meanwhile
 * (e.g. a counter it incremented): callers should end the whole process.
 *
 * The watchdog never stops a coroutine in the middle of a switch, and
 * prefers not to stop one inside libc, the dynamic linker, GLib or a
 * sanitizer runtime (it might hold a lock or have a heap half updated): it
 * waits for the coroutine to be back in its own code, up to a second @ms.
 *
 * Single-threaded use: one thread runs the simulator, its coroutines, and
 * the watchdog.
 *
 * The handlers are process-wide, so programs must not reach the real
 * signal(), sigaction(), sigprocmask(), alarm() or setitimer(): a program's
 * own SIGSEGV handler would replace the guard, and a real SIGALRM that is
 * not the watchdog's goes to the previous action (by default: terminate).
 * The watchdog's SIGALRM uses SA_RESTART, but calls that never restart on
 * Linux (poll, epoll_wait, nanosleep, ...) can see EINTR in natlab's own
 * code while the watchdog is armed.
 *
 * AddressSanitizer: the guard's sigaction() replaces ASan's SIGSEGV/SIGBUS/
 * SIGFPE handlers only when ASan allows user handlers (ASAN_OPTIONS
 * allow_user_segv_handler=1, the default of GCC 12's runtime; the coro test
 * suite sets it explicitly).  With it off, a coroutine crash is reported
 * by ASan as a crash of natlab.
 */
#ifndef NL_GUARD_H
#define NL_GUARD_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define NL_GUARD_ERROR (nl_guard_error_quark())
GQuark nl_guard_error_quark(void);

typedef enum {
  NL_GUARD_ERROR_FAILED, /* a system call failed; the message says which */
} NlGuardError;

/**
 * nl_guard_init: installs the crash handlers (process-wide) and an
 * alternate signal stack (for the calling thread).  Idempotent.
 * Returns: FALSE with @error set if a system call failed.
 */
G_GNUC_WARN_UNUSED_RESULT gboolean nl_guard_init(GError **error);

/**
 * nl_guard_shutdown: stops the watchdog, restores the previous signal
 * actions and frees the alternate stack.  Must be called from the main
 * context.  A no-op when not initialised.
 */
void nl_guard_shutdown(void);

/* TRUE while the guard's handlers are the ones installed: a test framework
 * or a program may have replaced them since nl_guard_init(). */
gboolean nl_guard_active(void);

/**
 * nl_guard_watchdog_set: a coroutine running more than @ms milliseconds of
 * its thread's CPU time without a checkpoint is stopped (0 turns the
 * watchdog off).
 * The check runs every @ms / 4 (at least every millisecond), so a spinning
 * coroutine is stopped after between @ms and about 1.25 × @ms (2 × @ms at
 * most if it keeps spinning inside libc).  Requires nl_guard_init().
 * Returns: FALSE with @error set if the timer could not be created.
 */
G_GNUC_WARN_UNUSED_RESULT gboolean nl_guard_watchdog_set(unsigned ms,
                                                         GError **error);

/* Checkpoint counter; use nl_guard_tick(). */
extern __thread volatile unsigned long nl__guard_ticks
    __attribute__((tls_model("initial-exec")));

/**
 * nl_guard_tick: a checkpoint: "the running program made a lab call".
 * Resets the watchdog for the running coroutine.  One increment of a
 * thread-local counter; safe to call from the main context.
 */
static inline void nl_guard_tick(void) {
  nl__guard_ticks++;
}

/**
 * nl_guard_crash_current: ends the running coroutine as if it had received
 * @signo (nl_coro_crashed() → @signo).  For the natlab-cc shim's abort()
 * (SIGABRT).  In the main context, @signo is raised with its default
 * action, so natlab itself dies as it would have.  Never returns.
 */
G_GNUC_NORETURN void nl_guard_crash_current(int signo);

/* Number of watchdog timer expirations handled so far (for tests and
 * statistics; never for decisions that reach the trace). */
uint64_t nl_guard_watchdog_checks(void);

/* TRUE if @pc lies in code that may hold locks or half-updated state (libc,
 * the dynamic linker, GLib, a sanitizer runtime: see nl_guard_init()), where
 * a coroutine had better not be cut short.  Async-signal-safe. */
gboolean nl__guard_pc_in_runtime(uintptr_t pc);

/* TRUE once a crash signal of natlab's own (no coroutine's) is handed on
 * (to its default action, or to a sanitizer's handler, which reports and
 * exits): what natlab calls from then on is natlab's, even
 * while a program's object is being unloaded (the seal lets it through,
 * so natlab dies of the signal rather than taking it again and again).
 * Async-signal-safe. */
gboolean nl__guard_dying(void);

/* Where a fault may be a refused system call rather than a crash: the
 * seal (seal.h) sets @hook, which the SIGSEGV handler calls, with SIGSEGV
 * unblocked, for a general protection fault in a coroutine or not: it
 * returns FALSE for a crash, or answers the call (and, ending a program,
 * does not return) and returns TRUE.  Async-signal-safe. */
typedef gboolean (*NlGuardFaultHook)(void *ucontext);
void nl__guard_set_fault_hook(NlGuardFaultHook hook);

G_END_DECLS

#endif
