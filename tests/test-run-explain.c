/* A failed output expectation shows the closest printed line, the last
 * lines and how the program ended (scenarios/runner/explain.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>

#include "scenarios/runner/explain.h"
#include "test-run-util.h"

static void test_explain_closest_line(void **state) {
  const char *lines[] = {
      "server1 says I am 203.0.113.1:1024",
      "mapping: different for each server",
      "bye",
  };
  guint d;
  /* One word differs: the line that says "mapping" is closest. */
  assert_int_equal(nl__run_closest(lines, 3,
                                   "mapping: the same for each "
                                   "server",
                                   &d),
                   1);
  assert_true(d > 0 && d < 10);
  /* A substring match is distance 0, wherever it is in the line. */
  assert_int_equal(nl__run_closest(lines, 3, "203.0.113.1", &d), 0);
  assert_int_equal(d, 0);
  /* A typo. */
  assert_int_equal(nl__run_closest(lines, 3, "bey", &d), 2);
  /* Nothing alike: none is worth showing. */
  assert_int_equal(nl__run_closest(lines, 3, "zzzzqqqqxxxx", &d), -1);
  assert_int_equal(nl__run_closest(lines, 0, "bye", &d), -1);
  /* Ties go to the first. */
  const char *same[] = {"abc", "abc"};
  assert_int_equal(nl__run_closest(same, 2, "abd", &d), 0);
}

/* Runs @scenario (text) and returns the failure report. */
static char *report_of(const char *scenario, guint want_failed) {
  TestRun *r = test_run("explain.nlab", scenario);
  assert_int_equal(r->failed, want_failed);
  GString *rep = g_string_new(NULL);
  nl_run_report_failures(r->run, rep);
  /* The same world, the same report and trace. */
  TestRun *again = test_run("explain.nlab", scenario);
  GString *rep2 = g_string_new(NULL);
  nl_run_report_failures(again->run, rep2);
  assert_string_equal(rep->str, rep2->str);
  assert_string_equal(r->text, again->text);
  g_string_free(rep2, TRUE);
  test_run_free(again);
  test_run_free(r);
  return g_string_free(rep, FALSE);
}

static const char echo_world[] =
    "duration 3s\n"
    "network lan 10.0.0.0/24 latency=1ms\n"
    "host a\n  link lan 10.0.0.1\n  run udp-echo-server 7\n"
    "host b\n  link lan 10.0.0.2\n"
    "  run at=100ms udp-echo-client 10.0.0.1 7 hello 8 100\n";

static void test_explain_report_shows_closest_and_last_lines(void **state) {
  char *scn = g_strconcat(echo_world,
                          "expect stdout b/udp-echo-client contains "
                          "\"helo\"\n",
                          NULL);
  TestRun *r = test_run("explain.nlab", scn);
  GPtrArray *lines = test_stdout(r, "b/udp-echo-client");
  assert_true(lines->len > NL_EXPLAIN_LAST_LINES);
  guint n = lines->len;
  char *last = g_strdup(lines->pdata[n - 1]);
  g_ptr_array_unref(lines);
  test_run_free(r);

  char *rep = report_of(scn, 1);
  assert_non_null(strstr(rep, "explain.nlab:9: expectation failed: expect "
                              "stdout b/udp-echo-client contains \"helo\": "
                              "no such line was printed\n"
                              "    closest line:\n      ["));
  char *count = g_strdup_printf("    the last %d of %u lines "
                                "b/udp-echo-client printed on stdout:\n",
                                NL_EXPLAIN_LAST_LINES, n);
  assert_non_null(strstr(rep, count));
  /* The last line printed is the last one shown. */
  char *tail = g_strdup_printf("] %s\n    then: exit 0\n", last);
  assert_non_null(strstr(rep, tail));
  g_free(count);
  g_free(tail);
  g_free(last);
  g_free(rep);
  g_free(scn);
}

static void test_explain_other_stream_and_lacks(void **state) {
  /* The client's stdout lines are "echo ... hello" lines: expecting them
   * on stderr points at stdout; `lacks` lists the lines that had it. */
  char *scn = g_strconcat(echo_world,
                          "expect stderr b/udp-echo-client contains "
                          "\"hello\"\n"
                          "expect stdout b/udp-echo-client lacks \"hello\"\n",
                          NULL);
  char *rep = report_of(scn, 2);
  assert_non_null(strstr(rep, "no such line was printed\n"
                              "    it was printed on stdout:\n      ["));
  assert_non_null(strstr(rep, "b/udp-echo-client printed nothing on "
                              "stderr\n"));
  assert_non_null(strstr(rep, "the line was printed\n"
                              "    printed on stdout:\n      ["));
  assert_non_null(strstr(rep, "      ... and "));
  g_free(rep);
  g_free(scn);
}

static void test_explain_program_never_started(void **state) {
  /* A program due after the end of the checked window never started. */
  char *scn = g_strconcat(echo_world,
                          "host c\n  link lan 10.0.0.3\n"
                          "  run at=2s name=late udp-echo-client 10.0.0.1 7 "
                          "x 1 100\n"
                          "at 1s expect stdout c/late contains \"x\"\n",
                          NULL);
  char *rep = report_of(scn, 1);
  assert_non_null(strstr(rep, "no such line was printed\n"
                              "    c/late never started\n"));
  g_free(rep);
  g_free(scn);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_explain_closest_line),
      cmocka_unit_test(test_explain_report_shows_closest_and_last_lines),
      cmocka_unit_test(test_explain_other_stream_and_lacks),
      cmocka_unit_test(test_explain_program_never_started),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
