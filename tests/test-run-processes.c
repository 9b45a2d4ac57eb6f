/* Processes: separate globals per host, misbehaving programs stopped alone
 * and reported with host and virtual time, busy-waiting made visible, and
 * green threads that are deterministic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "test-run-util.h"

static char *prog(const char *name) {
  return g_strdup_printf("%s/tests/%s.so", g_getenv("NATLAB_BUILD_ROOT"),
                         name);
}

static void test_proc_two_instances_keep_separate_globals(void **state) {
  char *g = prog("globals");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n"
                               "host b\n  run %s\n"
                               "expect exit a/globals code 3\n"
                               "expect exit b/globals code 3\n",
                               g, g);
  TestRun *r = test_run("g.nlab", text);
  assert_int_equal(r->failed, 0);
  const char *who[] = {"a/globals", "b/globals"};
  for (int i = 0; i < 2; i++) {
    GPtrArray *l = test_stdout(r, who[i]);
    assert_int_equal(l->len, 3);
    assert_string_equal(g_ptr_array_index(l, 0), "counter=1");
    assert_string_equal(g_ptr_array_index(l, 2), "counter=3");
    g_ptr_array_unref(l);
  }
  test_run_free(r);
  g_free(text);
  g_free(g);
}

static void test_proc_misbehaving_programs_are_stopped_alone(void **state) {
  char *m = prog("misbehave");
  char *text = g_strdup_printf(
      "duration 2s\nnetwork lan 10.0.0.0/24\n"
      "host spinner\n  link lan 10.0.0.1\n  run at=100ms %s spin\n"
      "host crasher\n  link lan 10.0.0.2\n  run at=200ms %s crash\n"
      "host aborter\n  run at=300ms %s abort\n"
      "host piper\n  run at=400ms %s sigpipe\n"
      "host server\n  link lan 10.0.0.3\n  run udp-echo-server 7\n"
      "host client\n  link lan 10.0.0.4\n"
      "  run at=1s udp-echo-client 10.0.0.3 7 still-here\n"
      "expect exit client/udp-echo-client code 0\n",
      m, m, m, m);
  NlRunOptions opts = {.watchdog_ms = 200};
  TestRun *r = test_run_opts("m.nlab", text, &opts);
  assert_int_equal(r->failed, 0); /* the others went on */
  /* Each is reported with its host and the virtual time it stopped. */
  assert_int_equal(test_count_lines(r->text, "0.100", "spinner proc",
                                    "stopped by the watchdog", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "0.200", "crasher proc",
                                    "crashed: Segmentation fault", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "0.300", "aborter proc",
                                    "crashed: Aborted", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "piper proc", "exit 141", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "still alive", NULL), 0);
  /* What they printed before is kept. */
  assert_int_equal(test_count_lines(r->text, "about to crash", NULL), 1);
  test_run_free(r);
  /* The same outcome, byte for byte, on a second run. */
  TestRun *a = test_run_opts("m.nlab", text, &opts);
  TestRun *b = test_run_opts("m.nlab", text, &opts);
  assert_string_equal(a->text, b->text);
  test_run_free(a);
  test_run_free(b);
  g_free(text);
  g_free(m);
}

static void test_proc_busy_wait_advances_virtual_time(void **state) {
  char *bw = prog("busywait");
  char *text = g_strdup_printf(
      "duration 1s\nnetwork lan 10.0.0.0/24\n"
      "host spinner\n  link lan 10.0.0.1\n  run %s\n"
      "host sender\n  link lan 10.0.0.2\n"
      "  run at=10ms udp-echo-client 10.0.0.1 9000 wake-up 1 0\n",
      bw);
  TestRun *r = test_run("b.nlab", text);
  GPtrArray *l = test_stdout(r, "spinner/busywait");
  assert_int_equal(l->len, 1);
  long spins = 0;
  assert_int_equal(sscanf(g_ptr_array_index(l, 0),
                          "got a datagram after %ld wasted calls", &spins),
                   1);
  /* 10 ms of virtual time at 1 us a call, less the setup calls. */
  assert_in_range(spins, 9900, 10100);
  char *stats = g_strdup_printf("wasted=%ld ", spins);
  assert_int_equal(test_count_lines(r->text, "spinner stats", stats, NULL), 1);
  g_free(stats);
  g_ptr_array_unref(l);
  test_run_free(r);
  g_free(text);
  g_free(bw);
}

static void test_proc_green_threads_are_deterministic(void **state) {
  char *th = prog("threads");
  char *client = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios", "lessons",
                                  "socket-lifecycle", "tcp-echo-client.c",
                                  NULL);
  char *text = g_strdup_printf(
      "duration 3s\nnetwork lan 10.0.0.0/24 latency=1ms\n"
      "host pool\n  run %s pool\n"
      "host server\n  link lan 10.0.0.1\n  run name=srv %s server 7000\n"
      "host c1\n  link lan 10.0.0.2\n  run at=1s %s 10.0.0.1 7000\n"
      "host c2\n  link lan 10.0.0.3\n  run at=1s %s 10.0.0.1 7000\n"
      "expect stdout pool/threads contains \"ids sum to 3\"\n"
      "expect stdout c1/tcp-echo-client contains \"Server replied: hello\"\n"
      "expect stdout c2/tcp-echo-client contains \"Server replied: hello\"\n",
      th, th, client, client);
  TestRun *a = test_run("t.nlab", text), *b = test_run("t.nlab", text);
  assert_int_equal(a->failed, 0);
  assert_string_equal(a->text, b->text);
  GPtrArray *l = test_stdout(a, "pool/threads");
  assert_int_equal(l->len, 7); /* six jobs and the join */
  g_ptr_array_unref(l);
  assert_int_equal(test_count_lines(a->text, "a thread serves connection",
                                    NULL), 2);
  test_run_free(a);
  test_run_free(b);
  g_free(text);
  g_free(client);
  g_free(th);
}

static void test_proc_names_and_interfaces_come_from_the_scenario(
    void **state) {
  char *n = prog("names");
  char *text = g_strdup_printf(
      "duration 1s\nnetwork lan 10.0.0.0/24\n"
      "host server\n  name srv.example.com\n  link lan 10.0.0.1\n"
      "host alice\n  name alice.example.com\n  link lan 10.0.0.5\n"
      "  run %s\n",
      n);
  TestRun *r = test_run("n.nlab", text);
  GPtrArray *l = test_stdout(r, "alice/names");
  guint pass = 0;
  for (guint i = 0; i < l->len; i++) {
    const char *line = g_ptr_array_index(l, i);
    if (!g_str_has_prefix(line, "PASS "))
      print_error("%s\n", line);
    pass += g_str_has_prefix(line, "PASS ");
  }
  assert_int_equal(pass, 19);
  assert_int_equal(pass, l->len);
  g_ptr_array_unref(l);
  test_run_free(r);
  g_free(text);
  g_free(n);
}

static void test_proc_randomness_is_seeded_per_host(void **state) {
  char *rnd = prog("random");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n"
                               "host b\n  run %s\n",
                               rnd, rnd);
  char *t1 = g_strconcat("seed 1\n", text, NULL);
  char *t2 = g_strconcat("seed 2\n", text, NULL);
  TestRun *r1 = test_run("r.nlab", t1), *again = test_run("r.nlab", t1);
  TestRun *r2 = test_run("r.nlab", t2);
  GPtrArray *a = test_stdout(r1, "a/random"), *b = test_stdout(r1, "b/random");
  GPtrArray *a2 = test_stdout(r2, "a/random");
  assert_int_equal(a->len, 3);
  /* Two hosts draw different numbers; the same seed, the same numbers;
   * another seed, other numbers. */
  assert_string_not_equal(g_ptr_array_index(a, 0), g_ptr_array_index(b, 0));
  assert_string_not_equal(g_ptr_array_index(a, 1), g_ptr_array_index(b, 1));
  assert_string_equal(r1->text, again->text);
  assert_string_not_equal(g_ptr_array_index(a, 0), g_ptr_array_index(a2, 0));
  assert_string_equal(g_ptr_array_index(a, 2), "srand-repeats yes");
  g_ptr_array_unref(a);
  g_ptr_array_unref(b);
  g_ptr_array_unref(a2);
  test_run_free(r1);
  test_run_free(again);
  test_run_free(r2);
  g_free(t1);
  g_free(t2);
  g_free(text);
  g_free(rnd);
}

static void test_proc_natlab_cc_refuses_unsupported_calls(void **state) {
  char *dir = g_dir_make_tmp("natlab-cc-XXXXXX", NULL);
  char *src = g_build_filename(dir, "forks.c", NULL);
  char *out = g_build_filename(dir, "forks.so", NULL);
  g_file_set_contents(src,
                      "#include <unistd.h>\n"
                      "int main(void) { return fork() < 0; }\n",
                      -1, NULL);
  const char *argv[] = {"/bin/sh", g_getenv("NATLAB_CC"), "-o", out, src,
                        NULL};
  char *err = NULL;
  int status = 0;
  assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                           NULL, NULL, &err, &status, NULL));
  assert_false(g_spawn_check_wait_status(status, NULL));
  assert_non_null(strstr(err, "the program calls fork(), which natlab does "
                              "not support"));
  assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
  g_unlink(src);
  g_rmdir(dir);
  g_free(err);
  g_free(src);
  g_free(out);
  g_free(dir);
}

static int run_natlab_cli(const char *scenario, char **out) {
  char *exe = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                               "natlab", NULL);
  const char *argv[] = {exe, "run", scenario, NULL};
  int status = -1;
  char *err = NULL;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                    out, &err, &status, &e))
    g_error("%s", e->message);
  g_free(err);
  g_free(exe);
  return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

/* "(busy-waiting?)" names a real busy wait only: a run of wasted calls
 * (EAGAIN, a poll that found nothing) with no wait in between, at least
 * NL_PROC_BUSY_WAIT_RUN long.  A correct edge-triggered epoll program
 * wastes one EAGAIN per readiness (it must read until EAGAIN) and then
 * waits: it is not labelled; the §14.8 busy-wait lesson is. */
static void test_proc_busy_wait_label_only_for_a_real_busy_wait(void **state) {
  char *dir = g_dir_make_tmp("natlab-busy-XXXXXX", NULL);
  char *et = g_build_filename(dir, "et.nlab", NULL);
  char *transfer = prog("transfer");
  char *text = g_strdup_printf(
      "duration 5s\nnetwork lan 10.0.0.0/24 latency=1ms\n"
      "host server\n  link lan 10.0.0.1\n  run %s server epoll-et 5000\n"
      "host client\n  link lan 10.0.0.2\n"
      "  run at=1s %s client epoll-et 10.0.0.1 5000 100000\n"
      "expect stdout client/transfer contains \"client: ok 100000\"\n",
      transfer, transfer);
  g_file_set_contents(et, text, -1, NULL);
  char *out = NULL;
  if (run_natlab_cli(et, &out) != 0)
    fail_msg("natlab run %s failed:\n%s", et, out);
  /* It did waste calls, each ending a drain... */
  TestRun *r = test_run(et, NULL);
  assert_int_equal(test_count_lines(r->text, "server stats", " wasted=0 ",
                                    NULL),
                   0);
  const char *run = strstr(r->text, "wasted-run=");
  assert_non_null(run);
  assert_in_range(g_ascii_strtoull(run + 11, NULL, 10), 1, 3);
  test_run_free(r);
  /* ...but is no busy-wait. */
  if (strstr(out, "busy-waiting") != NULL)
    fail_msg("an edge-triggered epoll program was labelled:\n%s", out);
  g_free(out);
  char *lesson = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                                  "lessons", "blocking", "busy-wait.nlab",
                                  NULL);
  assert_int_equal(run_natlab_cli(lesson, &out), 0);
  assert_non_null(strstr(out, "server/server -- calls="));
  assert_non_null(strstr(out, "(busy-waiting: 525003 wasted calls in a "
                              "row)"));
  g_free(out);
  g_unlink(et);
  g_rmdir(dir);
  g_free(lesson);
  g_free(text);
  g_free(transfer);
  g_free(et);
  g_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_proc_two_instances_keep_separate_globals),
    cmocka_unit_test(test_proc_misbehaving_programs_are_stopped_alone),
    cmocka_unit_test(test_proc_busy_wait_advances_virtual_time),
    cmocka_unit_test(test_proc_busy_wait_label_only_for_a_real_busy_wait),
    cmocka_unit_test(test_proc_green_threads_are_deterministic),
    cmocka_unit_test(test_proc_names_and_interfaces_come_from_the_scenario),
    cmocka_unit_test(test_proc_randomness_is_seeded_per_host),
    cmocka_unit_test(test_proc_natlab_cc_refuses_unsupported_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
