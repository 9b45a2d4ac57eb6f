/* Internals shared by sim/host/coro.c, the switch implementations
 * (coro-switch-x86_64.S, coro-ucontext.c) and sim/host/guard.c.
 */
#ifndef NL_CORO_PRIV_H
#define NL_CORO_PRIV_H

#include "sim/host/coro.h"

#include <signal.h>

G_BEGIN_DECLS

/* The platform seam.  meson picks the assembly switch on x86_64 and the
 * ucontext one elsewhere; defining NL_CORO_UCONTEXT forces the latter (the
 * test suite builds it that way too, so the fallback stays tested). */
#if defined(__x86_64__) && !defined(NL_CORO_UCONTEXT)
#define NL_CORO_ASM_SWITCH 1
typedef struct {
  void *sp; /* saved stack pointer; registers are pushed below it */
} NlCoroCtx;
#else
#include <ucontext.h>
typedef struct {
  ucontext_t uc;
} NlCoroCtx;
#endif

typedef struct NlCoroTls NlCoroTls;

/**
 * nl__coro_switch: saves the current context into @from and continues @to.
 * Returns when something switches back to @from.  Preserves callee-saved
 * registers, the x87 control word and MXCSR; makes no system call (the
 * ucontext fallback does).  Once on @to's stack, and before running any of
 * @to's code, it sets @t->cur = @cur and @t->in_switch = 0: from then on a
 * signal handler may treat @cur as running.
 */
void nl__coro_switch(NlCoroCtx *from, NlCoroCtx *to, NlCoroTls *t,
                     NlCoro *cur);

#ifdef NL_CORO_ASM_SWITCH
/**
 * nl__coro_switch_main: nl__coro_switch() from the main context, whose
 * floating-point environment is not read but taken as @env (MXCSR in the
 * low half, the x87 control word in the high half, as
 * nl__coro_env_read() returns them): what a switch back to it restores.
 */
void nl__coro_switch_main(NlCoroCtx *from, NlCoroCtx *to, NlCoroTls *t,
                          NlCoro *cur, guint64 env);

/* The running context's MXCSR (exception flags cleared) and x87 control
 * word, packed as nl__coro_switch_main() takes them. */
guint64 nl__coro_env_read(void);
#endif

/**
 * nl__coro_ctx_make: prepares @ctx so that switching to it calls
 * nl__coro_start(@c) on the stack [@lo, @lo + @size).  Never returns there.
 */
void nl__coro_ctx_make(NlCoroCtx *ctx, void *lo, size_t size, NlCoro *c);

/* Entry of every coroutine; defined in coro.c. */
G_GNUC_NORETURN void nl__coro_start(NlCoro *c);

/* The registers of a coroutine where it crashed or was stopped, numbered
 * as DWARF numbers them, for unwinding its stack (sim/host/backtrace.c).
 * x86_64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip; aarch64: x0-x30 sp
 * pc. */
#if defined(__x86_64__)
#define NL_CORO_NREGS 17
#elif defined(__aarch64__)
#define NL_CORO_NREGS 33
#else
#define NL_CORO_NREGS 1
#endif
typedef struct {
  guint64 r[NL_CORO_NREGS];
  gboolean valid; /* FALSE on other machines, or when none were saved */
} NlCoroRegs;

/* What a resume and a yield touch comes first: one line of a 64-byte
 * aligned allocation (coro.c), at 1,000 hosts out of the cache at every
 * resume. */
struct NlCoro {
  NlCoroCtx ctx;  /* this coroutine, while suspended */
  NlCoroCtx back; /* its resumer, while this one runs */
  NlCoro *resumer;  /* set by nl_coro_resume() */
  NlCoroEnd end;
  gboolean running;
  int own_errno;  /* this coroutine's errno while it is away */
  int back_errno; /* its resumer's errno while it runs */
  /* Whether a refused system call (refusal, below) is still to end it. */
  gboolean refusal_pending;
  NlCoroFn fn;
  void *arg;
  void *data;
  char *map;        /* mmap base: guard region, then the stack */
  size_t map_size;  /* guard + stack */
  gboolean pooled;  /* a slot of a batch of stacks (coro.c) */
  gboolean keep_stack; /* nl_coro_keep_stack() */
  size_t stack_size;
  int signo;
  void *fault_addr;
  void *fault_pc;
  NlCoroRegs fault_regs; /* set by nl__coro_save_fault_regs() */
  NlCoro *next_zombie; /* ended, stack not yet released */
  gboolean overflow;
  gboolean sp_below; /* the crash found the stack pointer below the stack */
  /* A system call the seal refused (sim/host/seal.c): its rule and number. */
  const void *refusal;
  long refusal_nr;
  unsigned valgrind_id;
  /* AddressSanitizer fiber bookkeeping. */
  void *asan_fake;          /* this coroutine's fake stack while away */
  void *asan_back_fake;     /* resumer's fake stack while this one runs */
  const void *asan_back_lo; /* resumer's stack bounds */
  size_t asan_back_size;
};

/* Per-thread switch state.  @cur is the logical current coroutine; while
 * @in_switch is set, registers and stacks are in transit and a signal
 * handler must not switch (it defers or treats the signal as natlab's own). */
struct NlCoroTls {
  NlCoro *volatile cur; /* offset 0: written by the x86_64 switch */
  volatile int in_switch; /* offset 8: likewise */
  volatile unsigned long switches; /* bumped on every resume (watchdog) */
  int *errno_p; /* &errno of this thread, cached: errno is a call */
#if defined(NL_CORO_ASM_SWITCH)
  guint64 main_env; /* the main context's MXCSR and x87 control word */
#endif
  NlCoro *zombies; /* ended, stacks not yet released (coro.c) */
#if !defined(NL_CORO_ASM_SWITCH)
  NlCoro *pending_cur; /* ucontext: @cur handed to the arriving side */
#endif
};

extern __thread NlCoroTls nl__coro_tls
    __attribute__((tls_model("initial-exec")));

/* TRUE when @c has not ended and no refused system call waits to end it
 * (sim/host/seal.c): what a resume mostly leaves.  Inline, for the
 * scheduler's every resume (sim/host/proc.c). */
static inline gboolean nl__coro_parked(const NlCoro *c) {
  return c->end == NL_CORO_END_NONE && !c->refusal_pending;
}

/* Bytes of a parked coroutine's stack, from its saved stack pointer up,
 * that nl__coro_prefetch() asks for: the frames its resume returns
 * through (the switch, the call that waited, up to the program's own) and
 * those it calls into next. */
#define NL_CORO_PREFETCH_BYTES 512

/**
 * nl__coro_prefetch: starts loading the top of @c's stack (what its
 * resume reads first) into the cache, without waiting for it.  @c's own
 * line is read (its saved stack pointer).  A hint only: nothing changes if
 * the stack is shorter (a prefetch never faults).
 */
static inline void nl__coro_prefetch(const NlCoro *c) {
#ifdef NL_CORO_ASM_SWITCH
  const char *sp = c->ctx.sp;
  for (size_t i = 0; i < NL_CORO_PREFETCH_BYTES; i += 64)
    __builtin_prefetch(sp + i, 1);
#else
  (void)c;
#endif
}

/**
 * nl__coro_kill_current: ends the running coroutine with @why (CRASHED or
 * SPIN), records @signo, @addr (si_addr) and @pc (the interrupted
 * instruction), and switches to its resumer.  Callable
 * from a signal handler running on the alternate stack; the caller must
 * already have unblocked the signal.  Requires cur != NULL && !in_switch.
 */
G_GNUC_NORETURN void nl__coro_kill_current(NlCoroEnd why, int signo,
                                           void *addr, void *pc);

/**
 * nl__coro_save_fault_regs: copies the registers of the ucontext_t @uc
 * into the running coroutine's fault_regs, for a backtrace once it has
 * ended.  Async-signal-safe; call before nl__coro_kill_current().
 */
void nl__coro_save_fault_regs(const void *uc);

/* The registers saved at @c's end (valid only after a crash or a watchdog
 * stop), and the bounds of its stack, whose content stays as it was until
 * the next nl_coro_* call on this thread. */
const NlCoroRegs *nl__coro_fault_regs(const NlCoro *c);
void nl__coro_stack_bounds(const NlCoro *c, const void **lo, const void **hi);

/* TRUE if @addr lies in @c's guard region (a stack overflow). */
gboolean nl__coro_addr_in_guard(const NlCoro *c, const void *addr);

/* Records the stack pointer of @c at a crash: a stack pointer below @c's
 * stack (a frame larger than the guard region, built without stack clash
 * probes, jumped over it) makes the crash a stack overflow too.  Callable
 * from a signal handler. */
void nl__coro_note_crash_sp(NlCoro *c, const void *sp);

G_END_DECLS

#endif
