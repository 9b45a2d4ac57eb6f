/* Coroutines: switching order, nesting, exit, errno and FPU state kept per
 * coroutine, many coroutines alive at once.  Assertions run in the main
 * context only (cmocka's failure path longjmps). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <errno.h>
#include <fenv.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>

#include "sim/host/coro.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

typedef struct {
  GString *trace;
  const char *name;
  int steps;
  NlCoro *self_seen;
} Actor;

static void actor_run(void *arg) {
  Actor *a = arg;
  a->self_seen = nl_coro_current();
  for (int i = 1; i <= a->steps; i++) {
    g_string_append_printf(a->trace, "%s%d ", a->name, i);
    nl_coro_yield();
  }
  g_string_append_printf(a->trace, "%s-end ", a->name);
}

static void test_coro_ping_pong_order(void **state) {
  GString *trace = g_string_new("");
  Actor a = {trace, "A", 3, NULL}, b = {trace, "B", 3, NULL};
  NlCoro *ca = nl_coro_new(actor_run, &a, 0);
  NlCoro *cb = nl_coro_new(actor_run, &b, 0);
  assert_null(nl_coro_current());
  int rounds = 0;
  while (!nl_coro_done(ca) || !nl_coro_done(cb)) {
    if (!nl_coro_done(ca))
      nl_coro_resume(ca);
    g_string_append(trace, "| ");
    if (!nl_coro_done(cb))
      nl_coro_resume(cb);
    g_string_append(trace, "| ");
    rounds++;
  }
  assert_string_equal(trace->str, "A1 | B1 | A2 | B2 | A3 | B3 | "
                                  "A-end | B-end | ");
  assert_int_equal(rounds, 4);
  assert_ptr_equal(a.self_seen, ca);
  assert_ptr_equal(b.self_seen, cb);
  assert_null(nl_coro_current());
  assert_int_equal(nl_coro_end_reason(ca), NL_CORO_END_RETURNED);
  assert_int_equal(nl_coro_crashed(ca), 0);
  assert_string_equal(nl_coro_end_to_string(NL_CORO_END_RETURNED),
                      "returned");
  nl_coro_free(ca);
  nl_coro_free(cb);
  g_string_free(trace, TRUE);
}

typedef struct {
  GString *trace;
  NlCoro *inner;
  NlCoro *inner_resumer_seen;
  NlCoro *outer_after;
} Nest;

static void inner_run(void *arg) {
  Nest *n = arg;
  g_string_append(n->trace, "inner1 ");
  nl_coro_yield(); /* back to outer, not to main */
  g_string_append(n->trace, "inner2 ");
}

static void outer_run(void *arg) {
  Nest *n = arg;
  g_string_append(n->trace, "outer1 ");
  nl_coro_resume(n->inner);
  g_string_append(n->trace, "outer2 ");
  n->outer_after = nl_coro_current();
  nl_coro_yield(); /* to main */
  nl_coro_resume(n->inner);
  g_string_append(n->trace, "outer3 ");
}

static void test_coro_nested_resume_returns_to_resumer(void **state) {
  Nest n = {g_string_new(""), NULL, NULL, NULL};
  n.inner = nl_coro_new(inner_run, &n, 0);
  NlCoro *outer = nl_coro_new(outer_run, &n, 0);
  nl_coro_resume(outer);
  g_string_append(n.trace, "main ");
  assert_false(nl_coro_done(outer));
  assert_false(nl_coro_done(n.inner));
  nl_coro_resume(outer);
  assert_string_equal(n.trace->str,
                      "outer1 inner1 outer2 main inner2 outer3 ");
  assert_ptr_equal(n.outer_after, outer);
  assert_true(nl_coro_done(outer));
  assert_true(nl_coro_done(n.inner));
  nl_coro_free(n.inner);
  nl_coro_free(outer);
  g_string_free(n.trace, TRUE);
}

typedef struct {
  int before, after;
} ExitLog;

static void exit_deep(ExitLog *log) {
  log->before++;
  nl_coro_exit();
}

static void exit_run(void *arg) {
  ExitLog *log = arg;
  nl_coro_yield();
  exit_deep(log);
  log->after++;
}

static void test_coro_exit_ends_only_that_coroutine(void **state) {
  ExitLog log = {0, 0};
  NlCoro *c = nl_coro_new(exit_run, &log, 0);
  nl_coro_resume(c);
  assert_false(nl_coro_done(c));
  nl_coro_resume(c);
  assert_true(nl_coro_done(c));
  assert_int_equal(nl_coro_end_reason(c), NL_CORO_END_EXITED);
  assert_int_equal(log.before, 1);
  assert_int_equal(log.after, 0);
  nl_coro_free(c);
}

typedef struct {
  int set;
  int seen_start;
  int seen_after_yield;
} ErrnoCase;

static void errno_run(void *arg) {
  ErrnoCase *e = arg;
  e->seen_start = errno;
  errno = e->set;
  nl_coro_yield();
  e->seen_after_yield = errno;
}

static void test_coro_errno_is_per_coroutine(void **state) {
  ErrnoCase a = {EAGAIN, -1, -1}, b = {ENOENT, -1, -1};
  NlCoro *ca = nl_coro_new(errno_run, &a, 0);
  NlCoro *cb = nl_coro_new(errno_run, &b, 0);
  errno = EBADF;
  nl_coro_resume(ca);
  assert_int_equal(errno, EBADF);
  nl_coro_resume(cb);
  assert_int_equal(errno, EBADF);
  errno = EPIPE;
  nl_coro_resume(ca);
  nl_coro_resume(cb);
  assert_int_equal(errno, EPIPE);
  assert_int_equal(a.seen_start, 0);
  assert_int_equal(b.seen_start, 0);
  assert_int_equal(a.seen_after_yield, EAGAIN);
  assert_int_equal(b.seen_after_yield, ENOENT);
  nl_coro_free(ca);
  nl_coro_free(cb);
}

typedef struct {
  int round_seen_before, round_seen_after;
  double third;
} FpuCase;

static void fpu_run(void *arg) {
  FpuCase *f = arg;
  fesetround(FE_UPWARD);
  f->round_seen_before = fegetround();
  nl_coro_yield();
  f->round_seen_after = fegetround();
  volatile double one = 1.0, three = 3.0;
  f->third = one / three;
}

static void test_coro_fpu_control_is_per_coroutine(void **state) {
  FpuCase f = {0, 0, 0};
  NlCoro *c = nl_coro_new(fpu_run, &f, 0);
  assert_int_equal(fegetround(), FE_TONEAREST);
  nl_coro_resume(c);
  /* The coroutine's rounding mode did not leak out to us... */
  assert_int_equal(fegetround(), FE_TONEAREST);
  nl_coro_resume(c);
  /* ...and ours did not leak in. */
  assert_int_equal(f.round_seen_before, FE_UPWARD);
  assert_int_equal(f.round_seen_after, FE_UPWARD);
  volatile double one = 1.0, three = 3.0;
  /* Rounded up there, to nearest here.  (Valgrind computes SSE arithmetic
   * in round-to-nearest whatever MXCSR says; it does keep MXCSR itself.) */
  if (!RUNNING_ON_VALGRIND)
    assert_true(f.third > one / three);
  assert_int_equal(fegetround(), FE_TONEAREST);
  nl_coro_free(c);
}

/* Two coroutines with different rounding modes, switched in turn: each
 * computes with its own, whoever ran last. */
typedef struct {
  int mode;
  double tenth[2]; /* 0.1 is not exact: rounded down, it is less */
  int round_seen[2];
} RoundCase;

static void round_run(void *arg) {
  RoundCase *r = arg;
  if (r->mode != FE_TONEAREST)
    fesetround(r->mode);
  nl_coro_yield();
  for (int i = 0; i < 2; i++) {
    volatile double one = 1.0, ten = 10.0;
    r->tenth[i] = one / ten;
    r->round_seen[i] = fegetround();
    nl_coro_yield();
  }
}

static void test_coro_rounding_mode_per_coroutine(void **state) {
  RoundCase down = {FE_DOWNWARD, {0, 0}, {-1, -1}};
  RoundCase near = {FE_TONEAREST, {0, 0}, {-1, -1}};
  NlCoro *a = nl_coro_new(round_run, &down, 0);
  NlCoro *b = nl_coro_new(round_run, &near, 0);
  for (int i = 0; i < 3; i++) {
    nl_coro_resume(a); /* a computes right after b ran, and b after a */
    nl_coro_resume(b);
    assert_int_equal(fegetround(), FE_TONEAREST);
  }
  volatile double one = 1.0, ten = 10.0;
  double here = one / ten;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(down.round_seen[i], FE_DOWNWARD);
    assert_int_equal(near.round_seen[i], FE_TONEAREST);
    assert_true(near.tenth[i] == here);
    if (!RUNNING_ON_VALGRIND) /* see test_coro_fpu_control_is_per_coroutine */
      assert_true(down.tenth[i] < here);
  }
  nl_coro_free(a);
  nl_coro_free(b);
}

/* MXCSR alone (as _mm_setcsr or -ffast-math's start-up code change it,
 * leaving the x87 control word as it is): the rounding control, flush to
 * zero and the exception flags stay with the coroutine that set them. */
#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_UP 0x4000u
#define MXCSR_FTZ 0x8000u
#define MXCSR_FLAGS 0x3Fu
#define MXCSR_ZE 0x04u

static unsigned get_mxcsr(void) {
  unsigned v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return v;
}

static void set_mxcsr(unsigned v) {
  __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

typedef struct {
  unsigned seen_after;
  unsigned short fpucw_after;
} MxcsrCase;

static void mxcsr_run(void *arg) {
  MxcsrCase *m = arg;
  set_mxcsr((get_mxcsr() & ~MXCSR_RC_MASK) | MXCSR_RC_UP | MXCSR_FTZ);
  volatile double one = 1.0, zero = 0.0;
  volatile double inf = one / zero; /* raises divide-by-zero */
  (void)inf;
  nl_coro_yield();
  m->seen_after = get_mxcsr();
  __asm__ volatile("fnstcw %0" : "=m"(m->fpucw_after));
}

static void test_coro_mxcsr_is_per_coroutine(void **state) {
#if defined(__x86_64__)
  feclearexcept(FE_ALL_EXCEPT);
  unsigned ours = get_mxcsr();
  unsigned short cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  MxcsrCase m = {0, 0};
  NlCoro *c = nl_coro_new(mxcsr_run, &m, 0);
  nl_coro_resume(c);
  assert_int_equal(get_mxcsr(), ours); /* nothing came out, flags neither */
  volatile double one = 1.0, three = 3.0;
  volatile double third = one / three; /* raises inexact, here only */
  (void)third;
  nl_coro_resume(c);
  assert_true(nl_coro_done(c));
  assert_int_equal(m.seen_after & MXCSR_RC_MASK, MXCSR_RC_UP);
  if (!RUNNING_ON_VALGRIND) { /* valgrind keeps neither FTZ nor flags */
    assert_true(m.seen_after & MXCSR_FTZ);
    assert_int_equal(m.seen_after & MXCSR_FLAGS, MXCSR_ZE);
  }
  assert_int_equal(m.fpucw_after, cw);
  assert_int_equal(get_mxcsr() & ~MXCSR_FLAGS, ours & ~MXCSR_FLAGS);
  feclearexcept(FE_ALL_EXCEPT);
  nl_coro_free(c);
#else
  skip();
#endif
}

/* A coroutine that resumes another keeps its own rounding mode across
 * that resume (its environment is saved as the switch's, unlike the main
 * context's, which is fixed: coro.c), and the inner one keeps its own
 * across its yields. */
typedef struct {
  NlCoro *inner;
  int outer_seen[2];
  int inner_seen[2];
} NestRound;

static void nest_round_inner(void *arg) {
  NestRound *n = arg;
  fesetround(FE_UPWARD);
  nl_coro_yield();
  n->inner_seen[0] = fegetround();
  nl_coro_yield();
  n->inner_seen[1] = fegetround();
}

static void nest_round_outer(void *arg) {
  NestRound *n = arg;
  fesetround(FE_DOWNWARD);
  nl_coro_resume(n->inner);
  n->outer_seen[0] = fegetround();
  nl_coro_yield(); /* main resumes the inner one once meanwhile */
  nl_coro_resume(n->inner);
  n->outer_seen[1] = fegetround();
}

static void test_coro_nested_resumer_keeps_rounding_mode(void **state) {
  NestRound n = {NULL, {-1, -1}, {-1, -1}};
  n.inner = nl_coro_new(nest_round_inner, &n, 0);
  NlCoro *outer = nl_coro_new(nest_round_outer, &n, 0);
  nl_coro_resume(outer);
  assert_int_equal(fegetround(), FE_TONEAREST);
  nl_coro_resume(n.inner);
  assert_int_equal(fegetround(), FE_TONEAREST);
  nl_coro_resume(outer);
  assert_int_equal(fegetround(), FE_TONEAREST);
  assert_true(nl_coro_done(outer));
  assert_true(nl_coro_done(n.inner));
  assert_int_equal(n.outer_seen[0], FE_DOWNWARD);
  assert_int_equal(n.outer_seen[1], FE_DOWNWARD);
  assert_int_equal(n.inner_seen[0], FE_UPWARD);
  assert_int_equal(n.inner_seen[1], FE_UPWARD);
  nl_coro_free(n.inner);
  nl_coro_free(outer);
}

/* The x87 control word alone (its rounding control, set with fldcw,
 * leaving MXCSR as it is; valgrind keeps these bits, not the precision
 * control): it stays with the coroutine that set it, across its yields,
 * and never reaches its resumer nor the coroutine resumed next. */
#define FPUCW_RC_MASK 0x0C00u
#define FPUCW_RC_UP 0x0800u

static unsigned short get_fpucw(void) {
  unsigned short cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  return cw;
}

static void set_fpucw(unsigned short cw) {
  __asm__ volatile("fldcw %0" : : "m"(cw));
}

typedef struct {
  unsigned short seen[2];
} FpucwCase;

static void fpucw_run(void *arg) {
  FpucwCase *f = arg;
  set_fpucw((unsigned short)((get_fpucw() & ~FPUCW_RC_MASK) | FPUCW_RC_UP));
  nl_coro_yield();
  f->seen[0] = get_fpucw();
  nl_coro_yield();
  f->seen[1] = get_fpucw();
}

/* The control word each of its three runs starts with. */
static void fpucw_watch(void *arg) {
  unsigned short *seen = arg;
  for (int i = 0; i < 3; i++) {
    seen[i] = get_fpucw();
    nl_coro_yield();
  }
}

static void test_coro_x87_control_word_is_per_coroutine(void **state) {
#if defined(__x86_64__)
  unsigned short ours = get_fpucw();
  assert_int_not_equal(ours & FPUCW_RC_MASK, FPUCW_RC_UP);
  FpucwCase a = {{0, 0}};
  unsigned short other[3] = {0, 0, 0};
  NlCoro *ca = nl_coro_new(fpucw_run, &a, 0);
  NlCoro *cb = nl_coro_new(fpucw_watch, other, 0);
  for (int i = 0; i < 3; i++) {
    nl_coro_resume(ca);
    assert_int_equal(get_fpucw(), ours);
    nl_coro_resume(cb); /* right after ca: runs with ours, not ca's */
    assert_int_equal(get_fpucw(), ours);
  }
  assert_true(nl_coro_done(ca));
  assert_int_equal(a.seen[0] & FPUCW_RC_MASK, FPUCW_RC_UP);
  assert_int_equal(a.seen[1] & FPUCW_RC_MASK, FPUCW_RC_UP);
  for (int i = 0; i < 3; i++)
    assert_int_equal(other[i], ours);
  nl_coro_free(ca);
  nl_coro_free(cb);
#else
  skip();
#endif
}

static void never_run(void *arg) {
  int *ran = arg;
  *ran = 1;
}

static void yield_then_mark(void *arg) {
  int *after = arg;
  nl_coro_yield();
  *after = 1;
}

static void test_coro_free_abandons_without_running(void **state) {
  int ran = 0, after = 0;
  NlCoro *fresh = nl_coro_new(never_run, &ran, 0);
  NlCoro *parked = nl_coro_new(yield_then_mark, &after, 0);
  nl_coro_resume(parked);
  nl_coro_free(fresh);
  nl_coro_free(parked);
  nl_coro_free(NULL);
  assert_int_equal(ran, 0);
  assert_int_equal(after, 0);
}

#define MANY 10000

static void many_run(void *arg) {
  int *slot = arg;
  int mine = *slot;
  nl_coro_yield();
  *slot = mine * 2 + 1; /* proves each kept its own stack */
}

static void test_coro_many_alive_at_once(void **state) {
  NlCoro **cs = g_new0(NlCoro *, MANY);
  int *slots = g_new0(int, MANY);
  for (int i = 0; i < MANY; i++) {
    slots[i] = i;
    cs[i] = nl_coro_new(many_run, &slots[i], 64 * 1024);
    assert_non_null(cs[i]);
    nl_coro_set_data(cs[i], &slots[i]);
  }
  for (int i = 0; i < MANY; i++) {
    nl_coro_resume(cs[i]);
    slots[i] = -1; /* overwritten: only the coroutine's stack has i now */
  }
  for (int i = MANY - 1; i >= 0; i--)
    nl_coro_resume(cs[i]);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(slots[i], 2 * i + 1);
    assert_true(nl_coro_done(cs[i]));
    assert_ptr_equal(nl_coro_get_data(cs[i]), &slots[i]);
    nl_coro_free(cs[i]);
  }
  g_free(cs);
  g_free(slots);
}

static int count_maps(void) {
  char *text = NULL;
  if (!g_file_get_contents("/proc/self/maps", &text, NULL, NULL))
    return -1;
  int n = 0;
  for (char *p = text; *p; p++)
    n += *p == '\n';
  g_free(text);
  return n;
}

/* Stacks with guard markers (Linux 6.13's MADV_GUARD_INSTALL) merge into
 * a few memory areas, so a process is not stopped by vm.max_map_count
 * (65,530 areas) at about 25,000 programs; an older kernel gets
 * PROT_NONE guards, two areas per stack. */
static void test_coro_stacks_do_not_cost_a_memory_area_each(void **state) {
  size_t g = NL_CORO_GUARD_SIZE;
  char *probe = mmap(NULL, 2 * g, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assert_true(probe != MAP_FAILED);
  gboolean markers = madvise(probe, g, 102 /* MADV_GUARD_INSTALL */) == 0;
  munmap(probe, 2 * g);
  enum { N = 2000 };
  int ran = 0;
  int before = count_maps();
  NlCoro **cs = g_new0(NlCoro *, N);
  for (int i = 0; i < N; i++) {
    cs[i] = nl_coro_new(never_run, &ran, 64 * 1024);
    assert_non_null(cs[i]);
  }
  int added = count_maps() - before;
  for (int i = 0; i < N; i++)
    nl_coro_free(cs[i]);
  g_free(cs);
  nl_coro_trim_cache();
  if (!markers)
    skip(); /* the kernel has no guard markers: two areas a stack */
  assert_true(added < N / 10);
}

/* Uses 12 KiB of its stack, about what a program's start does, and waits
 * there. */
static void touch_stack(void *arg) {
  volatile char buf[12 * 1024];
  memset((char *)buf, 1, sizeof buf);
  nl_coro_yield();
  *(int *)arg += buf[100];
}

static long minor_faults(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_minflt;
}

/* A thousand coroutines that end together (the clients of a 1,000-host
 * run) leave their stacks' pages to the next thousand, which then start
 * with no page fault: the pages were not given back one stack at a time
 * (MADV_DONTNEED, 14 us a stack on the project's machine). */
static void test_coro_ended_stacks_keep_their_pages_for_the_next(void **state) {
  if (RUNNING_ON_VALGRIND)
    skip(); /* valgrind's own faults */
#if defined(__SANITIZE_ADDRESS__)
  skip(); /* AddressSanitizer gives back the shadow of a stack unpoisoned */
#endif
  enum { N = 1000 };
  int ran = 0;
  long faults[2];
  /* Nor may malloc give back the coroutines' own memory in between (the
   * ucontext switch's are 2 KiB each). */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  NlCoro **cs = g_new0(NlCoro *, N);
  for (int round = 0; round < 2; round++) {
    long before = minor_faults();
    for (int i = 0; i < N; i++) {
      cs[i] = nl_coro_new(touch_stack, &ran, 0);
      assert_non_null(cs[i]);
      nl_coro_resume(cs[i]); /* parked, its pages touched */
    }
    faults[round] = minor_faults() - before;
    for (int i = 0; i < N; i++) {
      nl_coro_resume(cs[i]);
      assert_true(nl_coro_done(cs[i]));
      nl_coro_free(cs[i]);
    }
  }
  g_free(cs);
  assert_int_equal(ran, 2 * N);
  assert_true(faults[0] >= N); /* the first thousand did touch new pages */
  assert_true(faults[1] < N / 10);
  nl_coro_trim_cache();
}

static void park(void *arg) {
  (void)arg;
  nl_coro_yield();
}

/* Page faults the process takes from now on, as the kernel's software
 * event counts them (faults the process itself makes, not pages a system
 * call fills in); -1 where perf events are not allowed. */
static int fault_counter(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_PAGE_FAULTS;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long counted(int fd) {
  uint64_t n = 0;
  return read(fd, &n, sizeof n) == (ssize_t)sizeof n ? (long)n : -1;
}

/* A fresh stack's top page, which every coroutine's first frame touches,
 * is filled in with one call when the stack is carved (a page fault cost
 * several times more on the project's virtual machine): a thousand
 * coroutines started on fresh stacks take no page fault there. */
static void test_coro_fresh_stack_top_takes_no_fault(void **state) {
  if (RUNNING_ON_VALGRIND)
    skip(); /* valgrind's own faults */
#if defined(__SANITIZE_ADDRESS__)
  skip(); /* AddressSanitizer's shadow of the stacks faults */
#endif
  char *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(probe != MAP_FAILED);
  gboolean populate = madvise(probe, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
  munmap(probe, 4096);
  if (!populate)
    skip(); /* a kernel before 5.14 */
  int fd = fault_counter();
  if (fd < 0)
    skip(); /* perf events not allowed here (a container's filter) */
  enum { N = 1000 };
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  NlCoro **cs = g_new0(NlCoro *, N);
  nl_coro_trim_cache(); /* no stack kept: every one is fresh */
  long before = counted(fd);
  for (int i = 0; i < N; i++) {
    cs[i] = nl_coro_new(park, NULL, 0);
    assert_non_null(cs[i]);
    nl_coro_resume(cs[i]);
  }
  long faults = counted(fd) - before;
  close(fd);
  for (int i = 0; i < N; i++) {
    nl_coro_resume(cs[i]);
    nl_coro_free(cs[i]);
  }
  g_free(cs);
  nl_coro_trim_cache();
  assert_true(before >= 0);
  assert_true(faults < N / 10);
}

static void test_coro_stack_size_rounded_to_pages(void **state) {
  int ran = 0;
  NlCoro *c = nl_coro_new(never_run, &ran, 10000);
  assert_int_equal(nl_coro_stack_size(c) % 4096, 0);
  assert_true(nl_coro_stack_size(c) >= 10000);
  NlCoro *d = nl_coro_new(never_run, &ran, 0);
  assert_int_equal(nl_coro_stack_size(d), NL_CORO_STACK_DEFAULT);
  nl_coro_resume(d);
  assert_int_equal(ran, 1);
  nl_coro_free(c);
  nl_coro_free(d);
  /* Kept stacks can be given back; new coroutines still work after. */
  nl_coro_trim_cache();
  ran = 0;
  NlCoro *e = nl_coro_new(never_run, &ran, 0);
  nl_coro_resume(e);
  assert_int_equal(ran, 1);
  nl_coro_free(e);
  nl_coro_trim_cache();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_coro_ping_pong_order),
      cmocka_unit_test(test_coro_nested_resume_returns_to_resumer),
      cmocka_unit_test(test_coro_exit_ends_only_that_coroutine),
      cmocka_unit_test(test_coro_errno_is_per_coroutine),
      cmocka_unit_test(test_coro_fpu_control_is_per_coroutine),
      cmocka_unit_test(test_coro_rounding_mode_per_coroutine),
      cmocka_unit_test(test_coro_mxcsr_is_per_coroutine),
      cmocka_unit_test(test_coro_nested_resumer_keeps_rounding_mode),
      cmocka_unit_test(test_coro_x87_control_word_is_per_coroutine),
      cmocka_unit_test(test_coro_free_abandons_without_running),
      cmocka_unit_test(test_coro_many_alive_at_once),
      cmocka_unit_test(test_coro_stack_size_rounded_to_pages),
      cmocka_unit_test(test_coro_stacks_do_not_cost_a_memory_area_each),
      cmocka_unit_test(test_coro_ended_stacks_keep_their_pages_for_the_next),
      cmocka_unit_test(test_coro_fresh_stack_top_takes_no_fault),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
