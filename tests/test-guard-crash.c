/* Crash guard: a coroutine that faults, overflows its stack or aborts is
 * stopped alone, its resumer goes on, and the signal is reported.  Crashes
 * in the main context still kill the process. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/host/coro.h"
#include "sim/host/guard.h"

#if defined(__GNUC__) && !defined(__clang__)
#define NO_UBSAN __attribute__((no_sanitize("undefined")))
#else
#define NO_UBSAN
#endif

static int setup(void **state) {
  GError *error = NULL;
  nl_guard_shutdown();
  gboolean ok = nl_guard_init(&error);
  if (!ok)
    g_printerr("%s\n", error->message);
  g_clear_error(&error);
  return ok ? 0 : -1;
}

static int teardown(void **state) {
  nl_guard_shutdown();
  return 0;
}

/* cmocka installs its own SIGSEGV/SIGILL/SIGFPE handlers just before each
 * test body and restores them after, so each body installs the guard
 * itself (after cmocka's), and the teardown removes it. */
static void guard_on(void) {
  assert_int_equal(setup(NULL), 0);
}

#define GUARDED(t) cmocka_unit_test_teardown(t, teardown)

typedef struct {
  int reached;
  int after;
} Steps;

static int *volatile null_ptr;

NO_UBSAN static void null_deref(void *arg) {
  Steps *s = arg;
  s->reached = 1;
  *null_ptr = 42;
  s->after = 1;
}

static void well_behaved(void *arg) {
  Steps *s = arg;
  s->reached++;
  nl_coro_yield();
  s->reached++;
}

static void test_guard_null_deref_stops_only_that_coroutine(void **state) {
  guard_on();
  Steps bad = {0, 0}, good = {0, 0};
  NlCoro *cb = nl_coro_new(null_deref, &bad, 0);
  NlCoro *cg = nl_coro_new(well_behaved, &good, 0);
  nl_coro_resume(cg);
  nl_coro_resume(cb);
  assert_true(nl_coro_done(cb));
  assert_int_equal(nl_coro_end_reason(cb), NL_CORO_END_CRASHED);
  assert_int_equal(nl_coro_crashed(cb), SIGSEGV);
  assert_false(nl_coro_stack_overflow(cb));
  assert_null(nl_coro_fault_addr(cb));
#if defined(__x86_64__) || defined(__aarch64__)
  assert_non_null(nl_coro_fault_pc(cb)); /* the faulting store */
#endif
  assert_int_equal(bad.reached, 1);
  assert_int_equal(bad.after, 0);
  assert_null(nl_coro_current());
  /* The simulator goes on: the other coroutine still runs. */
  nl_coro_resume(cg);
  assert_int_equal(good.reached, 2);
  assert_int_equal(nl_coro_end_reason(cg), NL_CORO_END_RETURNED);
  nl_coro_free(cb);
  nl_coro_free(cg);
}

static volatile int depth_reached;
static volatile int depth_limit = INT32_MAX; /* never reached in practice */

static int recurse(int n) {
  volatile char pad[256];
  pad[0] = (char)n;
  depth_reached = n;
  if (n >= depth_limit)
    return 0;
  return recurse(n + 1) + pad[0];
}

static void overflow_run(void *arg) {
  int *result = arg;
  *result = recurse(0);
}

static void test_guard_stack_overflow_hits_guard_page(void **state) {
  guard_on();
  int result = -1;
  NlCoro *c = nl_coro_new(overflow_run, &result, 64 * 1024);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_crashed(c), SIGSEGV);
  assert_true(nl_coro_stack_overflow(c));
  assert_non_null(nl_coro_fault_addr(c));
  assert_true(depth_reached > 10);
  assert_int_equal(result, -1);
  nl_coro_free(c);
}

static void abort_run(void *arg) {
  Steps *s = arg;
  s->reached = 1;
  abort();
}

static void shim_abort_run(void *arg) {
  Steps *s = arg;
  s->reached = 1;
  nl_guard_crash_current(SIGABRT);
}

static void test_guard_abort_is_a_crash(void **state) {
  guard_on();
  Steps a = {0, 0}, b = {0, 0};
  NlCoro *ca = nl_coro_new(abort_run, &a, 0);
  NlCoro *cb = nl_coro_new(shim_abort_run, &b, 0);
  nl_coro_resume(ca);
  nl_coro_resume(cb);
  assert_int_equal(nl_coro_crashed(ca), SIGABRT);
  assert_int_equal(nl_coro_crashed(cb), SIGABRT);
  assert_false(nl_coro_stack_overflow(ca));
  assert_int_equal(a.reached, 1);
  assert_int_equal(b.reached, 1);
  nl_coro_free(ca);
  nl_coro_free(cb);
}

static volatile int zero, thousand = 1000;

NO_UBSAN static void divide_run(void *arg) {
  int *out = arg;
  *out = thousand / zero;
}

static void test_guard_divide_by_zero_is_sigfpe(void **state) {
  guard_on();
  int out = -5;
  NlCoro *c = nl_coro_new(divide_run, &out, 0);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_crashed(c), SIGFPE);
  assert_int_equal(out, -5);
  nl_coro_free(c);
}

static void test_guard_repeated_crashes_keep_working(void **state) {
  guard_on();
  /* Each crash leaves its handler by a switch; the signal must be usable
   * again every time (mask, alternate stack). */
  for (int i = 0; i < 200; i++) {
    Steps s = {0, 0};
    int out = 0;
    NlCoro *c = (i % 3 == 0)   ? nl_coro_new(null_deref, &s, 0)
                : (i % 3 == 1) ? nl_coro_new(abort_run, &s, 0)
                               : nl_coro_new(overflow_run, &out, 32 * 1024);
    nl_coro_resume(c);
    int want = (i % 3 == 1) ? SIGABRT : SIGSEGV;
    assert_int_equal(nl_coro_crashed(c), want);
    assert_int_equal(nl_coro_stack_overflow(c), i % 3 == 2);
    nl_coro_free(c);
  }
}

static void nested_crasher(void *arg) {
  Steps *s = arg;
  NlCoro *inner = nl_coro_new(null_deref, s, 0);
  nl_coro_resume(inner);
  /* The crash of the inner coroutine returns here, to its resumer. */
  s->after = nl_coro_crashed(inner);
  nl_coro_free(inner);
}

static void test_guard_nested_crash_returns_to_resumer(void **state) {
  guard_on();
  Steps s = {0, 0};
  NlCoro *outer = nl_coro_new(nested_crasher, &s, 0);
  nl_coro_resume(outer);
  assert_int_equal(nl_coro_end_reason(outer), NL_CORO_END_RETURNED);
  assert_int_equal(s.after, SIGSEGV);
  nl_coro_free(outer);
}

static void exit_42(int signo) {
  _exit(42);
}

/* In a child: installs @previous for SIGSEGV, then the guard over it, then
 * faults in the main context.  Returns the child's wait status. */
NO_UBSAN static int crash_main_in_child(void (*previous)(int)) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    nl_guard_shutdown();
    signal(SIGSEGV, previous);
    if (!nl_guard_init(NULL))
      _exit(3);
    *null_ptr = 1; /* natlab's own bug: must not be swallowed */
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void test_guard_main_context_crash_still_kills(void **state) {
  guard_on();
  int status = crash_main_in_child(SIG_DFL);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
}

static void test_guard_main_context_crash_chains_to_previous(void **state) {
  /* E.g. AddressSanitizer's handler, which then reports natlab's bug. */
  guard_on();
  int status = crash_main_in_child(exit_42);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 42);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      GUARDED(test_guard_null_deref_stops_only_that_coroutine),
      GUARDED(test_guard_stack_overflow_hits_guard_page),
      GUARDED(test_guard_abort_is_a_crash),
      GUARDED(test_guard_divide_by_zero_is_sigfpe),
      GUARDED(test_guard_repeated_crashes_keep_working),
      GUARDED(test_guard_nested_crash_returns_to_resumer),
      GUARDED(test_guard_main_context_crash_still_kills),
      GUARDED(test_guard_main_context_crash_chains_to_previous),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
