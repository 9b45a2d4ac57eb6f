/* The expectations grading needs (docs/grading.md, "Expectations for
 * grading"), checked from the trace of real runs of tests/grade/echo's
 * reference server and client: each holds at the measured value and fails
 * one step past it, saying what was measured; grading options are parsed
 * and left out of the expectation's text; the run stays deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test-run-util.h"

static char *scn_path(void) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "tests", "grade",
                          "echo", "tests", "t.nlab", NULL);
}

#define WORLD                                                                  \
  "set server = ../reference/server.c\n"                                      \
  "duration 10s\n"                                                             \
  "network lan 10.0.0.0/24\n"                                                  \
  "host srv\n  link lan 10.0.0.10\n  run name=server $server 7000\n"         \
  "host cli\n  link lan 10.0.0.5\n"                                           \
  "  run at=1s name=first ./client.c 10.0.0.10 7000 one\n"                   \
  "  run at=2s name=second ./client.c 10.0.0.10 7000 hello\n"

/* Runs WORLD with @expects and returns, per expectation, "pass" or the
 * reason it failed, one line each. */
static char *outcomes(const char *expects, TestRun **keep) {
  char *path = scn_path();
  char *text = g_strconcat(WORLD, expects, NULL);
  TestRun *r = test_run(path, text);
  GString *s = g_string_new(NULL);
  for (guint i = 0;; i++) {
    gboolean passed;
    const char *why;
    NlTime when;
    if (nl_run_expect_result(r->run, i, &passed, &why, &when) == NULL)
      break;
    g_string_append_printf(s, "%s\n", passed ? "pass" : why);
  }
  if (keep)
    *keep = r;
  else
    test_run_free(r);
  g_free(text);
  g_free(path);
  return g_string_free(s, FALSE);
}

static void test_grading_counters_hold_at_their_values(void **state) {
  (void)state;
  /* The second client: socket, connect, send, 4 recvs... as measured:
   * its statistics line says calls=, sent= and fds=. */
  TestRun *r;
  char *o = outcomes("expect sent cli/second bytes == 6\n"
                     "expect sent cli/second bytes == 7\n"
                     "expect fds cli/second == 4\n"
                     "expect fds cli/second < 4\n"
                     "expect wasted srv/server == 0\n"
                     "expect connections srv/server == 1\n"
                     "expect connections srv/server >= 2\n"
                     "expect sent srv/server bytes == 10\n",
                     &r);
  assert_string_equal(o,
                      "pass\n"
                      "it measured 6 (calls=11 wasted=0 cpu=11us sent=6 fds=4 "
                      "connections=0 emfile=0 wasted-run=0)\n"
                      "pass\n"
                      "it measured 4 (calls=11 wasted=0 cpu=11us sent=6 fds=4 "
                      "connections=0 emfile=0 wasted-run=0)\n"
                      "pass\n"
                      "pass\n"
                      "it measured 1 (calls=16 wasted=0 cpu=16us sent=10 fds=5 "
                      "connections=1 emfile=0 wasted-run=0)\n"
                      "pass\n");
  g_free(o);
  /* calls and cpu agree: 1 µs of virtual CPU a call. */
  char *o2 = outcomes("expect calls cli/second == 11\n"
                      "expect cpu cli/second == 11us\n"
                      "expect cpu cli/second < 11us\n",
                      NULL);
  assert_string_equal(o2, "pass\npass\nit used 0.000011000s of virtual CPU "
                          "(calls=11 wasted=0 cpu=11us sent=6 fds=4 "
                          "connections=0 emfile=0 wasted-run=0)\n");
  g_free(o2);
  test_run_free(r);
}

static void test_grading_exit_within(void **state) {
  (void)state;
  char *o = outcomes("expect exit cli/second within 1ms\n"
                     "expect exit cli/second within 10us\n"
                     "expect exit cli/second code 0 within 1s\n"
                     "expect exit cli/second code 1 within 1s\n"
                     "expect exit srv/server within 9s\n",
                     NULL);
  char **l = g_strsplit(o, "\n", -1);
  assert_string_equal(l[0], "pass");
  assert_string_equal(l[1], "it exited 0.000011000s after it started");
  assert_string_equal(l[2], "pass");
  assert_string_equal(l[3], "it exited with 0");
  /* A server still waiting says what it waits in. */
  assert_string_equal(l[4], "it did not exit: blocked in accept() since "
                            "2.000013000s");
  g_strfreev(l);
  g_free(o);
}

static void test_grading_blocked(void **state) {
  (void)state;
  char *o = outcomes("expect blocked srv/server in accept\n"
                     "expect blocked srv/server in recv\n"
                     "expect blocked srv/server since == 2.000013s\n"
                     "expect blocked srv/server since < 2s\n"
                     "at 500ms expect blocked srv/server in accept since "
                     "< 1ms\n"
                     "at 500ms expect blocked cli/first\n",
                     NULL);
  assert_string_equal(o, "pass\n"
                         "it was blocked in accept() since 2.000013000s\n"
                         "pass\n"
                         "it was blocked since 2.000013000s: blocked in "
                         "accept() since 2.000013000s\n"
                         "pass\n"
                         "it never started\n");
  g_free(o);
}

static void test_grading_options_parse(void **state) {
  (void)state;
  char *path = scn_path();
  char *text = g_strconcat(WORLD,
                           "expect stdout cli/second contains hello points=2.5 "
                           "name=\"echoes\" feedback=\"Echo it.\"\n"
                           "expect wasted srv/server == 0\n",
                           NULL);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string(path, text, -1, NULL, &err);
  assert_non_null(s);
  const NlScnExpect *e = g_ptr_array_index(s->expects, 0);
  assert_int_equal(e->points, 250);
  assert_string_equal(e->title, "echoes");
  assert_string_equal(e->feedback, "Echo it.");
  /* The options are not part of the expectation. */
  assert_string_equal(e->text, "hello");
  assert_string_equal(e->source, "expect stdout cli/second contains hello");
  const NlScnExpect *u = g_ptr_array_index(s->expects, 1);
  assert_int_equal(u->points, -1);
  assert_null(u->title);
  nl_scenario_free(s);
  g_free(text);
  g_free(path);
}

static void test_grading_deterministic(void **state) {
  (void)state;
  char *path = scn_path();
  char *text = g_strconcat(WORLD, "expect blocked srv/server in accept\n",
                           NULL);
  TestRun *a = test_run(path, text), *b = test_run(path, text);
  assert_string_equal(a->text, b->text);
  test_run_free(a);
  test_run_free(b);
  g_free(text);
  g_free(path);
}

/* count= makes N instances, every= apart; an idle server at the end of a
 * quiet world is "blocked ... (nothing pending can wake it)", never a
 * deadlock, which is only for threads waiting on their own process. */
static void test_grading_count_and_idle_server(void **state) {
  (void)state;
  char *path = scn_path();
  TestRun *r = test_run(path,
                        "duration 5s\n"
                        "network lan 10.0.0.0/24\n"
                        "host a\n  link lan 10.0.0.5\n"
                        "  run udp-echo-server 7\n"
                        "host b\n  link lan 10.0.0.6\n"
                        "  run at=1s count=3 every=10ms name=c "
                        "udp-echo-client 10.0.0.5 7 hi\n"
                        "expect exit b/c-3 code 0\n"
                        "expect blocked a/udp-echo-server in recvfrom\n");
  assert_int_equal(r->failed, 0);
  assert_int_equal(test_count_lines(r->text, "[b/c-1] start", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "1.010000000", "[b/c-2] start",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "1.020000000", "[b/c-3] start",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "[b/c-4]", NULL), 0);
  assert_int_equal(
      test_count_lines(r->text, "[a/udp-echo-server] blocked in recvfrom() "
                                "since 1.020007000s (nothing pending can "
                                "wake it)",
                       NULL),
      1);
  assert_int_equal(test_count_lines(r->text, "deadlock", NULL), 0);
  test_run_free(r);
  g_free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grading_counters_hold_at_their_values),
      cmocka_unit_test(test_grading_exit_within),
      cmocka_unit_test(test_grading_blocked),
      cmocka_unit_test(test_grading_options_parse),
      cmocka_unit_test(test_grading_deterministic),
      cmocka_unit_test(test_grading_count_and_idle_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
