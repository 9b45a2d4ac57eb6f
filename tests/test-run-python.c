/* natlab-python (programs/python/): the chapter's Python examples run
 * unchanged in the lab, meet their expectations and give the same trace
 * twice and under --check-determinism; threads, sleep, timeouts,
 * selectors, select and names work; a program that raises is reported as
 * a crashing C program is; an extension module is refused by name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <stdio.h>

#include "test-run-util.h"

static char *source_path(const char *rel) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), rel, NULL);
}

/* Runs the scenario file @rel twice: every expectation holds and the two
 * traces are the same.  Returns the trace. */
static char *run_twice(const char *rel) {
  char *path = source_path(rel);
  TestRun *a = test_run(path, NULL);
  if (a->failed != 0)
    print_message("%s\n", a->text);
  assert_int_equal(a->failed, 0);
  TestRun *b = test_run(path, NULL);
  assert_string_equal(a->text, b->text);
  char *text = g_strdup(a->text);
  test_run_free(a);
  test_run_free(b);
  g_free(path);
  return text;
}

/* natlab run --check-determinism: a second natlab process, another
 * environment, the same trace. */
static void check_determinism(const char *rel) {
  char *natlab = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                                  "natlab", NULL);
  char *path = source_path(rel);
  const char *argv[] = {natlab, "run", "--check-determinism", "-q", path,
                        NULL};
  char *out = NULL, *err = NULL;
  int status = -1;
  GError *e = NULL;
  assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                           G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &out,
                           &err, &status, &e));
  if (!g_spawn_check_wait_status(status, NULL))
    print_message("%s\n%s\n", out, err);
  assert_true(g_spawn_check_wait_status(status, NULL));
  g_free(out);
  g_free(err);
  g_free(path);
  g_free(natlab);
}

static void test_chapter_tcp_echo(void **state) {
  char *t = run_twice("scenarios/lessons/socket-lifecycle/tcp-echo-py.nlab");
  assert_non_null(strstr(t, "proc [server/tcp-echo-server] start pid=100 "
                            "python3 tcp-echo-server.py"));
  assert_int_equal(test_count_lines(t, "stdout [server/tcp-echo-client] "
                                       "Server replied: b'hello, server",
                                    NULL),
                   1);
  /* CPython's socket module made the chapter's calls, in the lab: the
   * handshake and the echo crossed the host's loopback. */
  assert_true(test_count_lines(t, "block [server/tcp-echo-server] accept4(3)",
                               NULL) >= 1);
  assert_int_equal(test_count_lines(t, "127.0.0.1:44906 > 127.0.0.1:8080 [S]",
                                    NULL),
                   1);
  g_free(t);
  check_determinism("scenarios/lessons/socket-lifecycle/tcp-echo-py.nlab");
}

static void test_chapter_udp_server(void **state) {
  char *t = run_twice("scenarios/lessons/socket-lifecycle/udp-echo-py.nlab");
  assert_int_equal(test_count_lines(t, "stdout [server/udp-echo-server] "
                                       "Received b'hi from ",
                                    NULL),
                   4);
  g_free(t);
  check_determinism("scenarios/lessons/socket-lifecycle/udp-echo-py.nlab");
}

static void test_chapter_chat_behind_nats(void **state) {
  char *t = run_twice("scenarios/lessons/chat/chat-py.nlab");
  /* asyncio waits in epoll_wait; the clients came through their NATs. */
  assert_true(test_count_lines(t, "[server/chat-server] epoll_wait(", NULL) >=
              1);
  /* cy's connection reached the server from its NAT's public address. */
  assert_true(test_count_lines(t, "203.0.113.2:", "> 203.0.113.10:8080 [S]",
                               NULL) >= 1);
  g_free(t);
  check_determinism("scenarios/lessons/chat/chat-py.nlab");
}

/* id(), hashes and set order come from addresses: CPython's heap and its
 * own image, which address-space randomisation places anew in every
 * natlab process; --check-determinism's second process must print the
 * same. */
static void test_addresses_repeat_across_processes(void **state) {
  char *t = run_twice("tests/python/ids.nlab");
  assert_int_equal(test_count_lines(t, "[h/ids] id(None) 0x", NULL), 1);
  assert_int_equal(test_count_lines(t, "[h/ids] sockets [", NULL), 1);
  g_free(t);
  check_determinism("tests/python/ids.nlab");
}

static void test_threads_timeouts_selectors_names(void **state) {
  char *t = run_twice("tests/python/features.nlab");
  const char *want[] = {
      "[cli/features] srv is 10.0.0.1",
      "[cli/features] selector EpollSelector",
      "[cli/features] replies [b'ONE', b'TWO']",
      "[cli/features] timed out after 0.3 s",
      "[cli/features] select ready 0",
      "[cli/features] slept 1.500 s, count 1000",
      "[srv/features] served 2 in threads",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    if (strstr(t, want[i]) == NULL)
      print_message("missing: %s\n", want[i]);
    assert_non_null(strstr(t, want[i]));
  }
  /* os.urandom and hash() come from the seeded streams: another seed,
   * other values. */
  char *path = source_path("tests/python/features.nlab");
  char *text = NULL;
  assert_true(g_file_get_contents(path, &text, NULL, NULL));
  char *other = g_strdup(text);
  char *seed = strstr(other, "seed 7");
  assert_non_null(seed);
  seed[5] = '8';
  TestRun *b = test_run(path, other);
  char **la = g_strsplit(strstr(t, "[cli/features] urandom"), "\n", 2);
  char **lb = g_strsplit(strstr(b->text, "[cli/features] urandom"), "\n", 2);
  assert_string_not_equal(la[0], lb[0]);
  g_strfreev(la);
  g_strfreev(lb);
  test_run_free(b);
  g_free(other);
  g_free(text);
  g_free(path);
  g_free(t);
}

static void test_raise_is_reported_as_a_crash(void **state) {
  char *path = source_path("tests/python/raise.nlab");
  TestRun *r = test_run(path,
                        "duration 1s\n"
                        "host h\n"
                        "  run ./boom.py\n"
                        "expect stdout h/boom contains \"about to fail\"\n");
  assert_int_equal(r->failed, 0);
  /* The traceback on stderr, as python3 prints it... */
  assert_non_null(strstr(r->text, "stderr [h/boom] Traceback (most recent "
                                  "call last):"));
  assert_non_null(strstr(r->text, "stderr [h/boom]   File \"boom.py\", "
                                  "line 3, in handle"));
  /* ...and the end named as a C program's crash is, with the exception
   * and the Python file:line. */
  assert_non_null(strstr(r->text,
                         "proc [h/boom] crashed: uncaught ZeroDivisionError: "
                         "division by zero at boom.py:3 in handle (called "
                         "from boom.py:8 in main)"));
  test_run_free(r);
  g_free(path);
}

static void test_extension_module_refused_by_name(void **state) {
  char *path = source_path("tests/python/refused.nlab");
  TestRun *r = test_run(path, "duration 1s\n"
                              "host h\n"
                              "  run ./uses-ssl.py\n");
  assert_non_null(strstr(r->text,
                         "proc [h/uses-ssl] crashed: uncaught ImportError: "
                         "natlab: _ssl is an extension module ("));
  assert_non_null(strstr(r->text, "lib-dynload/_ssl.cpython-311"));
  assert_non_null(strstr(r->text, "at uses-ssl.py:2 in <module>"));
  assert_null(strstr(r->text, "not reached"));
  test_run_free(r);
  g_free(path);
}

static void test_check_names_a_bad_python_file(void **state) {
  char *dir = g_dir_make_tmp("natlab-py-XXXXXX", NULL);
  char *bin = g_build_filename(dir, "x.py", NULL);
  assert_true(g_file_set_contents(bin, "\x7f" "ELF\1\1\0\0", 8, NULL));
  char *scn = g_build_filename(dir, "s.nlab", NULL);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string(scn, "host h\n  run ./x.py\n", -1,
                                          NULL, &err);
  assert_null(s);
  assert_non_null(strstr(err->message, "s.nlab:2:"));
  assert_non_null(strstr(err->message, "\"./x.py\" is not a Python program"));
  g_clear_error(&err);
  s = nl_scenario_load_string(scn, "host h\n  run ./gone.py 1 2\n", -1, NULL,
                              &err);
  assert_null(s);
  assert_non_null(strstr(err->message, "does not exist"));
  g_clear_error(&err);
  remove(bin);
  g_rmdir(dir);
  g_free(scn);
  g_free(bin);
  g_free(dir);
}

int main(void) {
  char *module = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "programs",
                                  "python3.so", NULL);
  gboolean built = g_file_test(module, G_FILE_TEST_EXISTS);
  g_free(module);
  if (!built) {
    printf("natlab-python is not built (no libpython3.11-dev): skipped\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chapter_tcp_echo),
      cmocka_unit_test(test_chapter_udp_server),
      cmocka_unit_test(test_chapter_chat_behind_nats),
      cmocka_unit_test(test_addresses_repeat_across_processes),
      cmocka_unit_test(test_threads_timeouts_selectors_names),
      cmocka_unit_test(test_raise_is_reported_as_a_crash),
      cmocka_unit_test(test_extension_module_refused_by_name),
      cmocka_unit_test(test_check_names_a_bad_python_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
