/* Spin watchdog: a coroutine that runs too long without a checkpoint is
 * stopped alone; one that checks in regularly is not; and the outcome, seen
 * in virtual time, is the same on every run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sim/host/coro.h"
#include "sim/core/event.h"
#include "sim/host/guard.h"

#define LIMIT_MS 40

static int setup(void **state) {
  GError *error = NULL;
  nl_guard_shutdown();
  gboolean ok = nl_guard_init(&error) &&
                nl_guard_watchdog_set(LIMIT_MS, &error);
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

static volatile unsigned long spin_count;

static void spinner(void *arg) {
  volatile int *started = arg;
  *started = 1;
  for (;;)
    spin_count++;
}

static void worker(void *arg) {
  int *steps = arg;
  for (int i = 0; i < 3; i++) {
    (*steps)++;
    nl_guard_tick(); /* a lab call */
    nl_coro_yield();
  }
  (*steps)++;
}

static void test_guard_spin_stopped_others_continue(void **state) {
  guard_on();
  int started = 0, steps = 0;
  NlCoro *spin = nl_coro_new(spinner, &started, 0);
  NlCoro *work = nl_coro_new(worker, &steps, 0);
  nl_coro_resume(work);
  nl_coro_resume(spin);
  assert_int_equal(started, 1);
  assert_true(nl_coro_done(spin));
  assert_int_equal(nl_coro_end_reason(spin), NL_CORO_END_SPIN);
  assert_int_equal(nl_coro_crashed(spin), 0);
#if defined(__x86_64__) || defined(__aarch64__)
  assert_non_null(nl_coro_fault_pc(spin)); /* somewhere in the loop */
#endif
  while (!nl_coro_done(work))
    nl_coro_resume(work);
  assert_int_equal(steps, 4);
  assert_int_equal(nl_coro_end_reason(work), NL_CORO_END_RETURNED);
  /* A second spinner is caught as well: the timer signal is usable again
   * after its handler left by a switch. */
  NlCoro *again = nl_coro_new(spinner, &started, 0);
  nl_coro_resume(again);
  assert_int_equal(nl_coro_end_reason(again), NL_CORO_END_SPIN);
  nl_coro_free(spin);
  nl_coro_free(work);
  nl_coro_free(again);
}

static void ticker(void *arg) {
  uint64_t *checks_seen = arg;
  uint64_t start = nl_guard_watchdog_checks();
  /* Run for about three watchdog limits (12 periods of LIMIT_MS / 4) of
   * wall time in total, checking in all the while. */
  while (nl_guard_watchdog_checks() - start < 12)
    nl_guard_tick();
  *checks_seen = nl_guard_watchdog_checks() - start;
}

static void test_guard_checkpoints_keep_coroutine_alive(void **state) {
  guard_on();
  uint64_t checks = 0;
  NlCoro *c = nl_coro_new(ticker, &checks, 0);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_end_reason(c), NL_CORO_END_RETURNED);
  assert_true(checks >= 12);
  nl_coro_free(c);
}

static void libc_spinner(void *arg) {
  char *buf = arg;
  for (;;) {
    memset(buf, (int)spin_count, 4096);
    spin_count += (unsigned long)strlen(buf);
  }
}

static void test_guard_spin_inside_libc_is_stopped(void **state) {
  guard_on();
  char *buf = g_malloc0(4097);
  NlCoro *c = nl_coro_new(libc_spinner, buf, 0);
  nl_coro_resume(c);
  assert_int_equal(nl_coro_end_reason(c), NL_CORO_END_SPIN);
  nl_coro_free(c);
  g_free(buf);
}

static void test_guard_off_means_no_timer_checks(void **state) {
  guard_on();
  GError *error = NULL;
  assert_true(nl_guard_watchdog_set(0, &error));
  uint64_t before = nl_guard_watchdog_checks();
  int steps = 0;
  NlCoro *c = nl_coro_new(worker, &steps, 0);
  while (!nl_coro_done(c))
    nl_coro_resume(c);
  assert_int_equal(steps, 4);
  assert_int_equal(nl_guard_watchdog_checks(), before);
  nl_coro_free(c);
}

/* A small simulation: processes resumed by events, one of which spins.
 * The record of what happened, in virtual time, must not depend on when
 * the wall-clock watchdog fired. */
typedef struct {
  NlEvent ev;
  NlCoro *coro;
  const char *name;
  GString *log;
  NlEventQueue *q;
  int steps;
} Proc;

static void proc_body(void *arg) {
  Proc *p = arg;
  for (;;) {
    p->steps++;
    nl_guard_tick();
    if (strcmp(p->name, "spin") == 0 && p->steps == 2)
      for (;;)
        spin_count++;
    if (p->steps == 4)
      return;
    nl_coro_yield();
  }
}

static void proc_wake(NlEvent *ev, void *data) {
  Proc *p = data;
  nl_coro_resume(p->coro);
  char t[NL_TIME_STRLEN];
  g_string_append_printf(p->log, "%s %s step=%d end=%s\n",
                         nl_time_to_string(nl_event_now(p->q), t), p->name,
                         p->steps,
                         nl_coro_end_to_string(nl_coro_end_reason(p->coro)));
  if (!nl_coro_done(p->coro))
    nl_event_schedule_in(p->q, ev, 10 * NL_MS);
}

static char *run_world(void) {
  NlEventQueue *q = nl_event_queue_new();
  GString *log = g_string_new("");
  Proc procs[3] = {{.name = "alpha"}, {.name = "spin"}, {.name = "beta"}};
  for (int i = 0; i < 3; i++) {
    procs[i].log = log;
    procs[i].q = q;
    procs[i].coro = nl_coro_new(proc_body, &procs[i], 0);
    nl_event_init(&procs[i].ev, proc_wake, &procs[i]);
    nl_event_schedule(q, &procs[i].ev, (NlTime)i * NL_MS);
  }
  nl_event_run(q);
  for (int i = 0; i < 3; i++)
    nl_coro_free(procs[i].coro);
  nl_event_queue_free(q);
  return g_string_free(log, FALSE);
}

static void test_guard_spin_outcome_same_in_virtual_time(void **state) {
  guard_on();
  char *first = run_world();
  char *second = run_world();
  assert_string_equal(first, second);
  assert_non_null(strstr(first, "0.011000000 spin step=2 end=spin\n"));
  assert_non_null(strstr(first, "0.032000000 beta step=4 end=returned\n"));
  g_free(first);
  g_free(second);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      GUARDED(test_guard_spin_stopped_others_continue),
      GUARDED(test_guard_checkpoints_keep_coroutine_alive),
      GUARDED(test_guard_spin_inside_libc_is_stopped),
      GUARDED(test_guard_off_means_no_timer_checks),
      GUARDED(test_guard_spin_outcome_same_in_virtual_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
