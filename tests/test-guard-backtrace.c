/* Backtraces of crashed coroutines (sim/host/backtrace.c): the stack is
 * unwound from the registers saved at the fault, and each frame is named
 * by function, file and line from the DWARF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "sim/host/backtrace.h"
#include "sim/host/coro.h"
#include "sim/host/guard.h"

#if defined(__GNUC__) && !defined(__clang__)
#define NO_UBSAN __attribute__((no_sanitize("undefined")))
#else
#define NO_UBSAN
#endif

static int teardown(void **state) {
  nl_guard_shutdown();
  return 0;
}

/* cmocka installs its own handlers before each test body: the guard goes
 * on after them. */
static void guard_on(void) {
  GError *error = NULL;
  nl_guard_shutdown();
  gboolean ok = nl_guard_init(&error);
  if (!ok)
    g_printerr("%s\n", error->message);
  g_clear_error(&error);
  assert_true(ok);
}

static int *volatile null_ptr;
static int fault_line, call_line;

__attribute__((noinline)) NO_UBSAN static void crash_here(void) {
  fault_line = __LINE__ + 1;
  *null_ptr = 42;
}

__attribute__((noinline)) static void calls_crash(void *arg) {
  (void)arg;
  call_line = __LINE__ + 1;
  crash_here();
  __asm__ volatile("" ::: "memory"); /* no tail call */
}

static gboolean ends_with_file(const char *path) {
  return path && g_str_has_suffix(path, "test-guard-backtrace.c");
}

static void test_backtrace_names_fault_and_caller(void **state) {
  guard_on();
  NlCoro *c = nl_coro_new(calls_crash, NULL, 0);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_crashed(c), SIGSEGV);
  NlBacktrace bt;
  assert_true(nl_backtrace_of_coro(c, &bt) >= 2);
  /* The first frame is the faulting instruction itself. */
  assert_ptr_equal(bt.pc[0], nl_coro_fault_pc(c));
  NlFrameInfo f;
  assert_true(nl_backtrace_frame_info(bt.pc[0], FALSE, NULL, &f));
  assert_string_equal(f.function, "crash_here");
  assert_true(ends_with_file(f.file));
  assert_int_equal(f.line, fault_line);
  assert_false(f.in_program); /* no program given */
  nl_frame_info_clear(&f);
  /* The second is a return address: the call's line is named. */
  assert_true(nl_backtrace_frame_info(bt.pc[1], TRUE, NULL, &f));
  assert_string_equal(f.function, "calls_crash");
  assert_true(ends_with_file(f.file));
  assert_int_equal(f.line, call_line);
  nl_frame_info_clear(&f);
  /* The unwinder stays on the coroutine's stack: nothing of the
   * resumer's frames (this test function) follows. */
  for (guint i = 0; i < bt.n; i++) {
    nl_backtrace_frame_info(bt.pc[i], i > 0, NULL, &f);
    assert_false(f.function &&
                 strcmp(f.function, "test_backtrace_names_fault_and_caller") ==
                     0);
    nl_frame_info_clear(&f);
  }
  nl_coro_free(c);
}

static void returns(void *arg) {
  (void)arg;
}

static void test_backtrace_only_after_a_fault(void **state) {
  guard_on();
  NlCoro *c = nl_coro_new(returns, NULL, 0);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_end_reason(c), NL_CORO_END_RETURNED);
  NlBacktrace bt;
  assert_int_equal(nl_backtrace_of_coro(c, &bt), 0);
  nl_coro_free(c);
}

static void aborts(void *arg) {
  (void)arg;
  call_line = __LINE__ + 1;
  nl_guard_crash_current(SIGABRT);
}

static void test_backtrace_of_an_abort(void **state) {
  guard_on();
  NlCoro *c = nl_coro_new(aborts, NULL, 0);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_crashed(c), SIGABRT);
  NlBacktrace bt;
  assert_true(nl_backtrace_of_coro(c, &bt) >= 2);
  /* Somewhere above the guard's own frames: the call in aborts(). */
  gboolean found = FALSE;
  for (guint i = 1; i < bt.n && !found; i++) {
    NlFrameInfo f;
    nl_backtrace_frame_info(bt.pc[i], TRUE, NULL, &f);
    found = f.function && strcmp(f.function, "aborts") == 0 &&
            f.line == (guint)call_line && ends_with_file(f.file);
    nl_frame_info_clear(&f);
  }
  assert_true(found);
  nl_coro_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_backtrace_names_fault_and_caller,
                                teardown),
      cmocka_unit_test_teardown(test_backtrace_only_after_a_fault, teardown),
      cmocka_unit_test_teardown(test_backtrace_of_an_abort, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
