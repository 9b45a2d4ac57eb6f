/* A process stopped where it stands -- blocked in kevent(), in an
 * io_uring wait, in recv(), or in all three on three threads -- gives back
 * every file it had: its host keeps none open afterwards (a kqueue or a
 * ring held by the waiting call used to stay behind). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/host/heap.h"
#include "sim/host/host-priv.h"
#include "sim/host/proc.h"
#include "test-run-util.h"

static void check_stopped_leaves_nothing(const char *mode) {
  char *prog = g_strdup_printf("%s/tests/waitkill.so",
                               g_getenv("NATLAB_BUILD_ROOT"));
  char *text = g_strdup_printf("duration 2s\nhost a\n  run %s %s\n"
                               "at 1s stop a/waitkill\n",
                               prog, mode);
  TestRun *r = test_run("k.nlab", text);
  /* It got to its call, and never out of it. */
  GPtrArray *l = test_stdout(r, "a/waitkill");
  guint expect = strcmp(mode, "threads") == 0 ? 3 : 1;
  assert_int_equal(l->len, expect);
  for (guint i = 0; i < l->len; i++)
    assert_true(g_str_has_prefix(g_ptr_array_index(l, i), "waiting in "));
  g_ptr_array_unref(l);
  assert_int_equal(
      test_count_lines(r->text, "a/waitkill", "stopped by the scenario", NULL),
      1);
  NlNode *a = nl_world_find_node(nl_run_world(r->run), "a");
  assert_non_null(a);
  assert_int_equal(nl_proc_open_files(a), 0);
  /* The same trace, byte for byte, on a second run. */
  TestRun *again = test_run("k.nlab", text);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  test_run_free(r);
  g_free(text);
  g_free(prog);
}

static void test_kill_in_kevent_gives_back_the_kqueue(void **state) {
  check_stopped_leaves_nothing("kevent");
}

static void test_kill_in_uring_wait_gives_back_the_ring(void **state) {
  check_stopped_leaves_nothing("uring");
}

static void test_kill_in_recv_gives_back_the_socket(void **state) {
  check_stopped_leaves_nothing("recv");
}

static void test_kill_with_three_waiting_threads(void **state) {
  check_stopped_leaves_nothing("threads");
}

/* A program's constructor runs when its private copy loads, before the
 * process runs; what it mallocs is the process's all the same, as on
 * Linux: it is in the process's heap, which goes with the process (it was
 * natlab's heap, and leaked with every process of such a program). */
static void test_constructor_allocates_in_its_process_heap(void **state) {
  char *prog = g_strdup_printf("%s/tests/instances-ctor.so",
                               g_getenv("NATLAB_BUILD_ROOT"));
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s a\n"
                               "host b\n  run %s b\n",
                               prog, prog);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string("c.nlab", text, -1, NULL, &err);
  assert_non_null(s);
  NlRun *run = nl_run_new(s, NULL, &err);
  assert_non_null(run);
  const char *hosts[] = {"a", "b"};
  for (int i = 0; i < 2; i++) {
    NlNode *n = nl_world_find_node(nl_run_world(run), hosts[i]);
    NlProc *p = nl_proc_find(n, "instances-ctor");
    assert_non_null(p);
    assert_non_null(p->pheap);
    assert_true(nl_heap_in_use(p->pheap) >= 16);
  }
  assert_int_equal(nl_run_execute(run), 0);
  nl_run_free(run);
  nl_scenario_free(s);
  g_free(text);
  g_free(prog);
}

/* A host's processes by name: a host of a few found by a scan, one of
 * more than NL__PROC_SCAN by a table made when it passes that; either
 * way each name finds its process, an unknown name none, and a name
 * taken is refused. */
static void test_processes_found_by_name_few_and_many(void **state) {
  guint many = NL__PROC_SCAN + 4;
  char *text = g_strdup_printf(
      "duration 1s\nhost a\n  run name=p[k=1..3] udp-echo-server ${6+k}\n"
      "host b\n  run name=p[k=1..%u] udp-echo-server ${6+k}\n",
      many);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string("f.nlab", text, -1, NULL, &err);
  assert_non_null(s);
  NlRun *run = nl_run_new(s, NULL, &err);
  assert_non_null(run);
  const char *hosts[] = {"a", "b"};
  const guint counts[] = {3, many};
  for (int i = 0; i < 2; i++) {
    NlNode *n = nl_world_find_node(nl_run_world(run), hosts[i]);
    for (guint k = 1; k <= counts[i] + 1; k++) {
      char name[16];
      g_snprintf(name, sizeof name, "p%u", k);
      NlProc *p = nl_proc_find(n, name);
      if (k > counts[i]) {
        assert_null(p);
        continue;
      }
      assert_non_null(p);
      assert_string_equal(p->name, name);
    }
    const char *argv[] = {"udp-echo-server", "99", NULL};
    assert_null(nl_proc_spawn(n, "p2", "udp-echo-server", argv, 0, &err));
    assert_true(g_error_matches(err, NL_PROC_ERROR, NL_PROC_ERROR_EXISTS));
    g_clear_error(&err);
  }
  nl_run_free(run);
  nl_scenario_free(s);
  g_free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kill_in_kevent_gives_back_the_kqueue),
    cmocka_unit_test(test_kill_in_uring_wait_gives_back_the_ring),
    cmocka_unit_test(test_kill_in_recv_gives_back_the_socket),
    cmocka_unit_test(test_kill_with_three_waiting_threads),
    cmocka_unit_test(test_constructor_allocates_in_its_process_heap),
    cmocka_unit_test(test_processes_found_by_name_few_and_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
