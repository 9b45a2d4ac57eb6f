/* Coroutines: the execution vehicle of simulated processes and threads.
 *
 * A coroutine runs an ordinary C function on its own stack until that
 * function yields, returns or calls nl_coro_exit(); control then goes back to
 * whoever resumed it.  Switching is a hand-written save of the callee-saved
 * registers and the stack pointer (no system call), so a round trip costs a
 * few nanoseconds (see docs/performance.md).
 *
 * Stacks come from mmap with a PROT_NONE guard region below them and are
 * committed lazily by the kernel, so an idle coroutine costs about one page.
 * errno is kept per coroutine.  Everything here is per thread: a coroutine
 * must be resumed, yielded and freed on the thread that created it.
 *
 * With sim/host/guard.h installed, a coroutine that crashes (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT, SIGTRAP) or spins past the watchdog is stopped
 * alone: nl_coro_resume() returns and nl_coro_end_reason() tells why.
 */
#ifndef NL_CORO_H
#define NL_CORO_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct NlCoro NlCoro;

typedef void (*NlCoroFn)(void *arg);

/* Stack size used when nl_coro_new() is given 0.  Only touched pages become
 * resident, so a generous size costs address space, not memory. */
#define NL_CORO_STACK_DEFAULT ((size_t)256 * 1024)

/* Size of the PROT_NONE region below each stack.  Far larger than one
 * page, so that a function with a big frame (a local array of up to 1 MiB)
 * still lands in it rather than skipping over it into another mapping
 * (another coroutine's stack).  It costs address space only.  natlab-cc
 * also builds programs with -fstack-clash-protection, whose probes touch
 * every page of a larger frame, so their overflows always land here. */
#define NL_CORO_GUARD_SIZE ((size_t)1024 * 1024)

/* Why a coroutine is no longer runnable. */
#define NL_CORO_END_MAP(X)                                                     \
  X(NONE, "none")         /* not ended: new, suspended or running */           \
  X(RETURNED, "returned") /* its function returned */                          \
  X(EXITED, "exited")     /* it called nl_coro_exit() */                       \
  X(CRASHED, "crashed")   /* a crash signal; see nl_coro_crashed() */          \
  X(SPIN, "spin")         /* stopped by the watchdog (sim/host/guard.h) */          \
  X(FREED, "freed")       /* internal: never seen by callers */

typedef enum {
#define NL_CORO_END_ENUM(name, str) NL_CORO_END_##name,
  NL_CORO_END_MAP(NL_CORO_END_ENUM)
#undef NL_CORO_END_ENUM
} NlCoroEnd;

const char *nl_coro_end_to_string(NlCoroEnd end);

/**
 * nl_coro_new: (transfer full) a coroutine that will run @fn(@arg) on its
 * own stack of @stack_size bytes (0 → NL_CORO_STACK_DEFAULT; rounded up to
 * whole pages) when first resumed.  Nothing runs until nl_coro_resume().
 * Returns: the coroutine, or NULL if the stack could not be mapped (errno
 * set; e.g. ENOMEM when vm.max_map_count is reached).
 */
NlCoro *nl_coro_new(NlCoroFn fn, void *arg, size_t stack_size);

/**
 * nl_coro_free: frees @c and its stack.  @c must not be running (it must not
 * be the current coroutine or one of its resumers).  A suspended coroutine is
 * abandoned without running any more of its code: nothing on its stack is
 * unwound, so memory it malloc'ed stays allocated.  NULL is a no-op.
 */
void nl_coro_free(NlCoro *c);

/**
 * nl_coro_resume: runs @c until it yields, returns, exits, crashes or is
 * stopped by the watchdog; then returns to the caller.  Callable from the
 * main context or from another coroutine (which becomes @c's resumer for
 * this run).  @c must not be ended or already running.  When @c has ended,
 * its stack is released (kept for reuse) by the next nl_coro_* call on
 * this thread or by nl_coro_free(@c).
 */
void nl_coro_resume(NlCoro *c);

/**
 * nl_coro_yield: from inside a coroutine, switches back to the code that
 * resumed it; returns when it is resumed again.  Must not be called from the
 * main context.
 */
void nl_coro_yield(void);

/**
 * nl_coro_exit: ends the current coroutine (reason NL_CORO_END_EXITED) and
 * switches back to its resumer; never returns.  Its stack is abandoned (not
 * unwound) and released by nl_coro_resume() in the resumer.
 */
G_GNUC_NORETURN void nl_coro_exit(void);

/* The running coroutine, or NULL in the main context. */
NlCoro *nl_coro_current(void);

/* TRUE once @c has ended for any reason (returned, exited, crashed, spin). */
gboolean nl_coro_done(const NlCoro *c);

NlCoroEnd nl_coro_end_reason(const NlCoro *c);

/* The signal that ended @c (SIGSEGV, SIGABRT, ...), or 0 if it did not end
 * by crashing. */
int nl_coro_crashed(const NlCoro *c);

/* TRUE if @c crashed by touching its stack's guard region (stack overflow);
 * then nl_coro_crashed() is SIGSEGV. */
gboolean nl_coro_stack_overflow(const NlCoro *c);

/* The faulting address of a crash (si_addr), or NULL. */
void *nl_coro_fault_addr(const NlCoro *c);

/* The instruction a crash or the watchdog interrupted, or NULL (abort via
 * nl_guard_crash_current(), or a platform without the register).  With
 * dladdr() it tells whether the program or natlab itself was running. */
void *nl_coro_fault_pc(const NlCoro *c);

/* An opaque pointer for the owner (e.g. the simulated thread). */
void nl_coro_set_data(NlCoro *c, void *data);
void *nl_coro_get_data(const NlCoro *c);

/**
 * nl_coro_trim_cache: gives back the stacks this thread keeps for reuse
 * (ended coroutines' stacks keep their pages, and the batches their
 * default-size stacks come from stay mapped, since mapping a fresh stack
 * costs system calls and a page fault: never more than were in use at
 * once): their pages, and the batches when no coroutine uses them.
 * Optional; e.g. at the end of a run.
 */
void nl_coro_trim_cache(void);

/* Keeps @c's stack until nl_coro_free(), even after @c ends (the stack of
 * a process's main thread holds its environment). */
void nl_coro_keep_stack(NlCoro *c);

/* Usable stack size in bytes (after rounding). */
size_t nl_coro_stack_size(const NlCoro *c);

G_END_DECLS

#endif
