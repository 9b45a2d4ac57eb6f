/* Coroutines over a platform switch (see coro-priv.h for the seam).
 *
 * Each context keeps its own errno on its own stack across a switch, so a
 * program's errno is never disturbed by the scheduler or another program.
 * AddressSanitizer is told about every stack change (fiber annotations) and
 * valgrind about every stack, so both keep working across switches.
 */
#include "sim/host/coro-priv.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define NL_ASAN 1
#define NL_NO_ASAN __attribute__((no_sanitize_address))
#else
#define NL_NO_ASAN
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define NL_VALGRIND 1
#endif
#endif

__thread NlCoroTls nl__coro_tls __attribute__((tls_model("initial-exec")));

static const char *const end_names[] = {
#define NL_CORO_END_STR(name, str) str,
    NL_CORO_END_MAP(NL_CORO_END_STR)
#undef NL_CORO_END_STR
};

const char *nl_coro_end_to_string(NlCoroEnd end) {
  if ((unsigned)end >= G_N_ELEMENTS(end_names))
    return "unknown";
  return end_names[end];
}

/* ASan fiber annotations: before a switch, announce the stack we go to (and
 * keep our fake stack in @save, or pass NULL when leaving for good); after a
 * switch, confirm arrival and learn the stack we came from. */
static inline void asan_start(void **save, const void *lo, size_t size) {
#ifdef NL_ASAN
  __sanitizer_start_switch_fiber(save, lo, size);
#else
  (void)save, (void)lo, (void)size;
#endif
}

static inline void asan_finish(void *save, const void **lo, size_t *size) {
#ifdef NL_ASAN
  __sanitizer_finish_switch_fiber(save, lo, size);
#else
  (void)save, (void)lo, (void)size;
#endif
}

/* Keeps the compiler from moving other stores across the in_switch store
 * (volatile orders only volatile accesses); costs no instruction. */
#define SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static size_t page_size(void) {
  static size_t cached;
  if (cached == 0)
    cached = (size_t)sysconf(_SC_PAGESIZE);
  return cached;
}

static char *stack_lo(const NlCoro *c) {
  return c->map + NL_CORO_GUARD_SIZE;
}

/* Stacks of ended coroutines are kept for reuse, up to a bound: mapping a
 * stack, faulting in its first page and unmapping it are system calls that
 * cost far more than anything else in a coroutine's life (tens to hundreds
 * of microseconds in a sandboxed VM; see docs/performance.md), and threads
 * of thread-per-connection servers come and go all the time.  A cached
 * stack keeps the pages it had touched, so the bound also bounds the
 * memory kept. */
#define STACK_CACHE_MAX 64

/* madvise(2): MADV_GUARD_INSTALL (Linux 6.13; glibc 2.36 lacks the name). */
#define NL_MADV_GUARD_INSTALL 102
/* madvise(2): MADV_POPULATE_WRITE (Linux 5.14). */
#define NL_MADV_POPULATE_WRITE 23
/* The top of a stack, which every coroutine touches at once: its first
 * frame (and a program's main thread, its environment). */
#define STACK_TOP_TOUCHED ((size_t)4096)

typedef struct {
  char *map;
  size_t map_size;
} CachedStack;

static __thread CachedStack stack_cache[STACK_CACHE_MAX];
static __thread int stack_cache_n;

/* Guard markers work here (cleared at the first refusal). */
static __thread int guard_markers = 1;

/* Puts the guard at the bottom of the stack mapped at @map: guard markers
 * where the kernel has them (Linux 6.13), so the mapping stays one memory
 * area that merges with its neighbours -- with a PROT_NONE guard every
 * stack is two areas, and a process may have only vm.max_map_count
 * (65,530) of them: about 25,000 programs.  Older kernels (EINVAL) and
 * valgrind get the PROT_NONE guard. */
static gboolean guard_install(char *map) {
  if (guard_markers &&
      madvise(map, NL_CORO_GUARD_SIZE, NL_MADV_GUARD_INSTALL) == 0)
    return TRUE;
  guard_markers = 0;
  return mprotect(map, NL_CORO_GUARD_SIZE, PROT_NONE) == 0;
}

/* Stacks of the default size -- every program's main thread and most of
 * its threads -- come from batches: one mapping of BATCH_SLOTS slots, each
 * a guard and a stack, carved in order.  A slot's guard is installed when
 * it is first used and stays, and an ended coroutine's slot is kept for
 * the next: starting and ending a program then costs no system call,
 * where a mapping of its own cost an mmap, a madvise and a munmap each
 * (with their page-table work, a large part of the 84 us a program start cost
 * at 10,000 programs; docs/performance.md).  A freed slot keeps its pages
 * for the next coroutine to start on (no page fault): the pool holds no
 * more slots than were in use at once, so what it keeps is bounded by its
 * own peak, which the process reached anyway.  Giving the pages back as
 * slots were freed (MADV_DONTNEED, beyond the 64 most recent) cost 14 us a
 * stack on a 2-core virtual machine, most of it the other core's TLB
 * flush: 40 ms of a 1,000-host run's 270, every program ending.  They go
 * back, and the batches are unmapped when no slot is in use, at
 * nl_coro_trim_cache().  A batch the kernel refuses (RLIMIT_AS) falls back
 * to a mapping per stack. */
#define SLOT_SIZE (NL_CORO_GUARD_SIZE + NL_CORO_STACK_DEFAULT)
#define BATCH_SLOTS 64

typedef struct {
  GPtrArray *batches; /* their maps, BATCH_SLOTS * SLOT_SIZE each */
  char *next, *end;   /* the newest batch's slots not used yet */
  GPtrArray *dirty;   /* freed slots that may hold pages, oldest first */
  GPtrArray *clean;   /* freed slots whose pages went back */
  guint live;
} SlotPool;

static __thread SlotPool pool;

/* A slot of a batch, or NULL (the kernel refused a batch or a guard). */
static char *slot_take(void) {
  if (pool.dirty == NULL) {
    pool.batches = g_ptr_array_new();
    pool.dirty = g_ptr_array_new();
    pool.clean = g_ptr_array_new();
  }
  char *map;
  if (pool.dirty->len > 0) {
    map = g_ptr_array_steal_index_fast(pool.dirty, pool.dirty->len - 1);
  } else if (pool.clean->len > 0) {
    map = g_ptr_array_steal_index_fast(pool.clean, pool.clean->len - 1);
  } else {
    if (pool.next == pool.end) {
      size_t len = (size_t)BATCH_SLOTS * SLOT_SIZE;
      char *b =
          mmap(NULL, len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
      if (b == MAP_FAILED)
        return NULL;
      g_ptr_array_add(pool.batches, b);
      pool.next = b;
      pool.end = b + len;
    }
    if (!guard_install(pool.next))
      return NULL;
    map = pool.next;
    pool.next += SLOT_SIZE;
    /* Its top page in a call, not a fault: on the project's 2-core
     * virtual machine a fault there cost 12-15 us, the call 2 us and the
     * first touch then 7 us (a page fresh to the machine's page tables).
     * Advice only: an older kernel refuses it (EINVAL), and the page
     * faults in as before. */
    (void)madvise(map + SLOT_SIZE - STACK_TOP_TOUCHED, STACK_TOP_TOUCHED,
                  NL_MADV_POPULATE_WRITE);
  }
  pool.live++;
  return map;
}

/* Gives back the pages of the @n oldest dirty slots (the first @n), one
 * call each for its stack alone: one call for a run of adjacent slots
 * cost three to four times more, as the kernel then also walks the
 * guards' page-table entries (measured with a small C program on 8,192
 * slots of one page each: about 4 times). */
static void slots_release(guint n) {
  for (guint i = 0; i < n; i++) {
    char *map = g_ptr_array_index(pool.dirty, i);
    madvise(map + NL_CORO_GUARD_SIZE, NL_CORO_STACK_DEFAULT, MADV_DONTNEED);
    g_ptr_array_add(pool.clean, map);
  }
  g_ptr_array_remove_range(pool.dirty, 0, n);
}

static void slot_give_back(char *map) {
  pool.live--;
  g_ptr_array_add(pool.dirty, map);
}

/* A stack of @map_size bytes (guard included); *@pooled: a batch's slot. */
static char *stack_take(size_t map_size, gboolean *pooled) {
  *pooled = FALSE;
  if (map_size == SLOT_SIZE) {
    char *map = slot_take();
    if (map != NULL) {
      *pooled = TRUE;
      return map;
    }
  }
  for (int i = stack_cache_n - 1; i >= 0; i--)
    if (stack_cache[i].map_size == map_size) {
      char *map = stack_cache[i].map;
      stack_cache[i] = stack_cache[--stack_cache_n];
      return map;
    }

  /* One mapping, guard region at the bottom (stacks grow down).
   * MAP_NORESERVE: pages are committed only when touched. */
  char *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
  if (map == MAP_FAILED)
    return NULL;
  if (!guard_install(map)) {
    int saved = errno;
    munmap(map, map_size);
    errno = saved;
    return NULL;
  }
  return map;
}

static void stack_give_back(char *map, size_t map_size, gboolean pooled) {
  if (pooled) {
    slot_give_back(map);
    return;
  }
  if (stack_cache_n < STACK_CACHE_MAX) {
    stack_cache[stack_cache_n].map = map;
    stack_cache[stack_cache_n].map_size = map_size;
    stack_cache_n++;
    return;
  }
  munmap(map, map_size);
}

static inline void reap(void);
static inline int busy_begin(NlCoroTls *t);
static inline void busy_end(NlCoroTls *t, int was);

void nl_coro_trim_cache(void) {
  int was = busy_begin(&nl__coro_tls);
  reap();
  while (stack_cache_n > 0) {
    stack_cache_n--;
    munmap(stack_cache[stack_cache_n].map,
           stack_cache[stack_cache_n].map_size);
  }
  if (pool.dirty != NULL && pool.live == 0) {
    for (guint i = 0; i < pool.batches->len; i++)
      munmap(g_ptr_array_index(pool.batches, i),
             (size_t)BATCH_SLOTS * SLOT_SIZE);
    g_ptr_array_free(pool.batches, TRUE);
    g_ptr_array_free(pool.dirty, TRUE);
    g_ptr_array_free(pool.clean, TRUE);
    memset(&pool, 0, sizeof pool);
  } else if (pool.dirty != NULL && pool.dirty->len > 0) {
    slots_release(pool.dirty->len);
  }
  busy_end(&nl__coro_tls, was);
}

NlCoro *nl_coro_new(NlCoroFn fn, void *arg, size_t stack_size) {
  g_return_val_if_fail(fn != NULL, NULL);
  size_t page = page_size();
  if (stack_size == 0)
    stack_size = NL_CORO_STACK_DEFAULT;
  stack_size = (stack_size + page - 1) & ~(page - 1);

  size_t map_size = NL_CORO_GUARD_SIZE + stack_size;
  NlCoroTls *t = &nl__coro_tls;
  int was = busy_begin(t);
  reap();
  gboolean pooled;
  char *map = stack_take(map_size, &pooled);
  busy_end(t, was);
  if (map == NULL)
    return NULL;

  NlCoro *c = g_aligned_alloc0(1, sizeof(NlCoro), 64); /* coro-priv.h */
  c->fn = fn;
  c->arg = arg;
  c->map = map;
  c->map_size = map_size;
  c->pooled = pooled;
  c->stack_size = stack_size;
  c->end = NL_CORO_END_NONE;
#ifdef NL_VALGRIND
  c->valgrind_id =
      VALGRIND_STACK_REGISTER(stack_lo(c), stack_lo(c) + stack_size);
#endif
  nl__coro_ctx_make(&c->ctx, stack_lo(c), stack_size, c);
  return c;
}

/* Releases the stack of an ended or abandoned coroutine.  Under ASan the
 * shadow of abandoned frames is still poisoned; clear it, or the next
 * coroutine on this stack would report false errors. */
static void release_stack(NlCoro *c) {
  if (c->map == NULL)
    return;
#ifdef NL_VALGRIND
  VALGRIND_STACK_DEREGISTER(c->valgrind_id);
#endif
#ifdef NL_ASAN
  ASAN_UNPOISON_MEMORY_REGION(stack_lo(c), c->stack_size);
#endif
  stack_give_back(c->map, c->map_size, c->pooled);
  c->map = NULL;
}

/* An ended coroutine's stack cannot be released by the code that ends it
 * (it runs on that stack), and its resumer runs no code of ours after the
 * switch (see nl_coro_resume), so ended coroutines wait on this list until
 * the next coroutine call on this thread. */
G_GNUC_NO_INLINE static void reap_all(void) {
  NlCoroTls *t = &nl__coro_tls;
  while (t->zombies != NULL) {
    NlCoro *z = t->zombies;
    t->zombies = z->next_zombie;
    z->next_zombie = NULL;
    if (!z->keep_stack)
      release_stack(z);
  }
}

/* Inlined test, out-of-line work: a resume then costs no call. */
static inline void reap(void) {
  if (G_UNLIKELY(nl__coro_tls.zombies != NULL))
    reap_all();
}

/* The runtime's own bookkeeping (stack cache, zombie list) must not be cut
 * short by the watchdog; in_switch makes sim/host/guard.c wait.  Used around
 * code that does not switch; nl_coro_resume() sets in_switch itself. */
static inline int busy_begin(NlCoroTls *t) {
  int was = t->in_switch;
  t->in_switch = 1;
  SIGNAL_FENCE();
  return was;
}

static inline void busy_end(NlCoroTls *t, int was) {
  SIGNAL_FENCE();
  t->in_switch = was;
}

void nl_coro_free(NlCoro *c) {
  if (c == NULL)
    return;
  g_return_if_fail(!c->running);
  NlCoroTls *t = &nl__coro_tls;
  int was = busy_begin(t);
  reap(); /* @c may be on the list */
  release_stack(c);
  busy_end(t, was);
  g_aligned_free(c);
}

/* errno's address never changes within a thread; `errno` itself is a call
 * to __errno_location().  Set by the first resume on a thread (the slow
 * path below), so a yield or an end, which only a resumed coroutine
 * makes, always finds it set. */
static inline int *errno_ptr(NlCoroTls *t) {
  return t->errno_p;
}

/* How a switch is laid out, and why.
 *
 * Everything the arriving side needs (errno, the current coroutine, the
 * in_switch flag) is set up by the departing side, and nl__coro_switch()
 * is the last call of nl_coro_resume() and nl_coro_yield(), so the compiler
 * makes it a jump.  The switch then "returns" straight into the caller of
 * the other side's resume or yield, and no `ret` runs whose target the
 * return-stack predictor cannot know (one such mispredicted `ret` per
 * switch doubled the cost on this machine; docs/performance.md).
 *
 * errno: the departing side stores its errno in the coroutine and loads
 * the arriving side's value, so each context sees only its own errno.
 *
 * Under ASan the arriving side must call __sanitizer_finish_switch_fiber(),
 * so there the switch is an ordinary call followed by that.
 *
 * The main context (natlab's own code: the event loop that resumes the
 * programs) has one floating-point environment, taken at the thread's
 * first resume: MXCSR's control bits and the x87 control word it had
 * then, no exception flags.  Every switch back to it restores that, and a
 * resume from it does not read it again (nl__coro_switch_main): `stmxcsr`
 * was a third of a switch's cost (bench-coro-switch).  So a program's
 * rounding mode, flush-to-zero or exception flags never reach natlab's
 * code nor another program, as before; what changes is that the main
 * context itself cannot keep a different environment across a resume (its
 * exception flags are cleared, which the ABI allows: they are
 * caller-saved; a rounding mode it set after its first resume would be
 * undone, which natlab never does).  A coroutine that resumes another
 * keeps its own environment: that resume reads it as before. */
static inline void resume_go(NlCoroTls *t, NlCoro *c) {
  int *errp = errno_ptr(t);
  NlCoro *resumer = t->cur;
  c->resumer = resumer;
  c->running = TRUE;
  t->switches++;
  c->back_errno = *errp;
  *errp = c->own_errno;
  asan_start(&c->asan_back_fake, stack_lo(c), c->stack_size);
#ifdef NL_CORO_ASM_SWITCH
  if (G_LIKELY(resumer == NULL))
    nl__coro_switch_main(&c->back, &c->ctx, t, c, t->main_env);
  else
    nl__coro_switch(&c->back, &c->ctx, t, c);
#else
  nl__coro_switch(&c->back, &c->ctx, t, c);
#endif
  /* Back here (through a jump) when @c yields, ends or is stopped. */
#ifdef NL_ASAN
  asan_finish(c->asan_back_fake, NULL, NULL);
#endif
}

/* Out of line, so that the common path makes no call and saves no
 * register: stacks to release, or the thread's first resume. */
G_GNUC_NO_INLINE static void resume_slow(NlCoro *c) {
  NlCoroTls *t = &nl__coro_tls;
  reap_all();
  if (t->errno_p == NULL) {
    t->errno_p = &errno;
#ifdef NL_CORO_ASM_SWITCH
    t->main_env = nl__coro_env_read(); /* see "The main context", above */
#endif
  }
  resume_go(t, c);
}

/* The criticals of a refused resume, out of line. */
G_GNUC_NO_INLINE static void resume_refused(NlCoro *c) {
  g_return_if_fail(c != NULL);
  g_return_if_fail(c->end == NL_CORO_END_NONE);
  g_return_if_fail(!c->running);
}

void nl_coro_resume(NlCoro *c) {
  if (G_UNLIKELY(c == NULL || c->end != NL_CORO_END_NONE || c->running)) {
    resume_refused(c);
    return;
  }
  NlCoroTls *t = &nl__coro_tls;
  t->in_switch = 1;
  SIGNAL_FENCE();
  /* One test for both: zombies set, or errno's address not yet known. */
  if (G_UNLIKELY(t->zombies != NULL || t->errno_p == NULL))
    resume_slow(c);
  else
    resume_go(t, c);
}

void nl_coro_yield(void) {
  NlCoroTls *t = &nl__coro_tls;
  NlCoro *c = t->cur;
  g_return_if_fail(c != NULL);

  int *errp = errno_ptr(t);
  t->in_switch = 1;
  SIGNAL_FENCE();
  c->running = FALSE;
  c->own_errno = *errp;
  *errp = c->back_errno;
  asan_start(&c->asan_fake, c->asan_back_lo, c->asan_back_size);
  nl__coro_switch(&c->ctx, &c->back, t, c->resumer);
  /* Resumed, possibly by a different resumer than last time. */
#ifdef NL_ASAN
  asan_finish(c->asan_fake, &c->asan_back_lo, &c->asan_back_size);
#endif
}

/* Leaves @c for good.  Runs on @c's stack, or on the signal stack when
 * called from sim/host/guard.c, hence no ASan instrumentation: poisoned frames
 * left behind on the signal stack would confuse the next handler. */
NL_NO_ASAN G_GNUC_NORETURN static void finish(NlCoro *c, NlCoroEnd why,
                                              int signo, void *addr,
                                              void *pc) {
  NlCoroTls *t = &nl__coro_tls;
  t->in_switch = 1;
  SIGNAL_FENCE();
  c->end = why;
  c->signo = signo;
  c->fault_addr = addr;
  c->fault_pc = pc;
  c->overflow = (signo == SIGSEGV || signo == SIGBUS) &&
                (nl__coro_addr_in_guard(c, addr) || c->sp_below);
  c->running = FALSE;
  *errno_ptr(t) = c->back_errno;
  c->next_zombie = t->zombies;
  t->zombies = c;
  asan_start(NULL, c->asan_back_lo, c->asan_back_size);
  nl__coro_switch(&c->ctx, &c->back, t, c->resumer);
  /* Nothing ever switches back to an ended coroutine. */
  abort();
}

/* Called from the switch's assembly alone (coro-switch-x86_64.c): used,
 * so that link-time optimisation keeps it. */
__attribute__((used)) void nl__coro_start(NlCoro *c) {
  asan_finish(NULL, &c->asan_back_lo, &c->asan_back_size);
  c->fn(c->arg);
  finish(c, NL_CORO_END_RETURNED, 0, NULL, NULL);
}

void nl_coro_exit(void) {
  NlCoro *c = nl__coro_tls.cur;
  if (c == NULL)
    g_error("nl_coro_exit() called outside a coroutine");
  finish(c, NL_CORO_END_EXITED, 0, NULL, NULL);
}

NL_NO_ASAN void nl__coro_kill_current(NlCoroEnd why, int signo, void *addr,
                                      void *pc) {
  NlCoro *c = nl__coro_tls.cur;
  g_assert(c != NULL);
  finish(c, why, signo, addr, pc);
}

NL_NO_ASAN gboolean nl__coro_addr_in_guard(const NlCoro *c, const void *addr) {
  uintptr_t a = (uintptr_t)addr, lo = (uintptr_t)c->map;
  return c->map != NULL && a >= lo && a < lo + NL_CORO_GUARD_SIZE;
}

/* How far below its stack a stack pointer still counts as this stack's
 * overflow (a larger jump is something else: a program's own stacks). */
#define SP_OVERFLOW_REACH ((uintptr_t)64 * 1024 * 1024)

NL_NO_ASAN void nl__coro_note_crash_sp(NlCoro *c, const void *sp) {
  uintptr_t s = (uintptr_t)sp, lo = (uintptr_t)stack_lo(c);
  c->sp_below = c->map != NULL && s < lo && lo - s <= SP_OVERFLOW_REACH;
}

NlCoro *nl_coro_current(void) {
  return nl__coro_tls.cur;
}

gboolean nl_coro_done(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, TRUE);
  return c->end != NL_CORO_END_NONE;
}

NlCoroEnd nl_coro_end_reason(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, NL_CORO_END_NONE);
  return c->end;
}

int nl_coro_crashed(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, 0);
  return c->end == NL_CORO_END_CRASHED ? c->signo : 0;
}

gboolean nl_coro_stack_overflow(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, FALSE);
  return c->end == NL_CORO_END_CRASHED && c->overflow;
}

void *nl_coro_fault_addr(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, NULL);
  return c->fault_addr;
}

NL_NO_ASAN void nl__coro_save_fault_regs(const void *ucv) {
  NlCoro *c = nl__coro_tls.cur;
  if (c == NULL)
    return;
  const ucontext_t *uc = ucv;
  NlCoroRegs *r = &c->fault_regs;
#if defined(__x86_64__)
  static const int map[NL_CORO_NREGS] = {
      REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI,
      REG_RBP, REG_RSP, REG_R8,  REG_R9,  REG_R10, REG_R11,
      REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
  for (int i = 0; i < NL_CORO_NREGS; i++)
    r->r[i] = (guint64)uc->uc_mcontext.gregs[map[i]];
  r->valid = TRUE;
#elif defined(__aarch64__)
  for (int i = 0; i < 31; i++)
    r->r[i] = uc->uc_mcontext.regs[i];
  r->r[31] = uc->uc_mcontext.sp;
  r->r[32] = uc->uc_mcontext.pc;
  r->valid = TRUE;
#else
  (void)uc;
  r->valid = FALSE;
#endif
}

const NlCoroRegs *nl__coro_fault_regs(const NlCoro *c) {
  return &c->fault_regs;
}

void nl__coro_stack_bounds(const NlCoro *c, const void **lo,
                           const void **hi) {
  *lo = c->map ? stack_lo(c) : NULL;
  *hi = c->map ? stack_lo(c) + c->stack_size : NULL;
}

void *nl_coro_fault_pc(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, NULL);
  return c->fault_pc;
}

void nl_coro_set_data(NlCoro *c, void *data) {
  g_return_if_fail(c != NULL);
  c->data = data;
}

void *nl_coro_get_data(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, NULL);
  return c->data;
}

void nl_coro_keep_stack(NlCoro *c) {
  g_return_if_fail(c != NULL);
  c->keep_stack = TRUE;
}

size_t nl_coro_stack_size(const NlCoro *c) {
  g_return_val_if_fail(c != NULL, 0);
  return c->stack_size;
}
