/* A program's standard output, as the lab records it: the lines printf,
 * puts, putchar and write(1, ...) make, whole or in pieces, the same
 * whichever path wrote them (the capture's fast path, or the general
 * write when stdout is redirected). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "sim/host/loader.h"
#include "test-run-util.h"

static char *prog(const char *name) {
  return g_strdup_printf("%s/tests/%s.so", g_getenv("NATLAB_BUILD_ROOT"),
                         name);
}

static void test_stdio_lines_as_the_program_wrote_them(void **state) {
  char *s = prog("stdio");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n"
                               "expect exit a/stdio code 0\n",
                               s);
  TestRun *r = test_run("s.nlab", text);
  assert_int_equal(r->failed, 0);
  GString *big = g_string_new("long ");
  for (int i = 0; i < 699; i++)
    g_string_append_c(big, 'y');
  g_string_append(big, " end");
  const char *want[] = {"whole 1 line", "in pieces", "write then printf",
                        "printf then write", "puts", "c", "two", "lines",
                        "split past sixteen bytes of its string", "its rest",
                        "char", "newline", "one line of two strings",
                        "[   42|a  |ab|0xff]", big->str, "cut", "back on stdout",
                        "no newline at the end"};
  GPtrArray *l = test_lines(r, NL_TRACE_STDOUT, "a/stdio");
  assert_int_equal(l->len, G_N_ELEMENTS(want));
  for (guint i = 0; i < l->len; i++)
    assert_string_equal(g_ptr_array_index(l, i), want[i]);
  g_ptr_array_unref(l);
  /* stderr: its line and stdout's while it was stderr, and no "wrong:"
   * report. */
  l = test_lines(r, NL_TRACE_STDERR, "a/stdio");
  assert_int_equal(l->len, 2);
  assert_string_equal(g_ptr_array_index(l, 0), "to stderr 2");
  assert_string_equal(g_ptr_array_index(l, 1), "stdout on stderr 3");
  g_ptr_array_unref(l);
  /* Each printed piece is one write call, wherever it went. */
  assert_int_equal(test_count_lines(r->text, "into the pipe", NULL), 0);
  test_run_free(r);
  g_string_free(big, TRUE);
  g_free(text);
  g_free(s);
}

/* expect stdout reads a line up to its first NUL byte (as g_strstr_len):
 * "here", after the NUL, is not in it. */
static void test_stdio_expect_reads_line_up_to_nul(void **state) {
  char *s = prog("stdio");
  const char *needles[] = {"cut", "here", "on stdout"};
  const guint failed[] = {0, 1, 0};
  for (gsize i = 0; i < G_N_ELEMENTS(needles); i++) {
    char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n"
                                 "expect stdout a/stdio contains \"%s\"\n",
                                 s, needles[i]);
    TestRun *r = test_run("s.nlab", text);
    assert_int_equal(r->failed, failed[i]);
    test_run_free(r);
    g_free(text);
  }
  g_free(s);
}

/* printf(NULL) and puts(NULL): the program crashes there with SIGSEGV, as
 * glibc's do (and as printf did before its formats were remembered: an
 * empty slot's format is NULL too). */
static void test_stdio_null_format_crashes(void **state) {
  char *s = prog("stdio");
  const char *modes[] = {"null-format", "null-puts"};
  for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
    char *text = g_strdup_printf("duration 1s\nhost a\n  run %s %s\n", s,
                                 modes[i]);
    TestRun *r = test_run("s.nlab", text);
    assert_int_equal(
        test_count_lines(r->text, "stdout [a/stdio] before", NULL), 1);
    assert_int_equal(test_count_lines(r->text, "after", NULL), 0);
    assert_int_equal(
        test_count_lines(r->text, "crashed: Segmentation fault", NULL), 1);
    test_run_free(r);
    g_free(text);
  }
  g_free(s);
}

/* atexit(): a process's handlers run when it exits or its main returns,
 * the last registered first, and once; processes that register none
 * (two at once on one host beside them) end as they would. */
static void test_stdio_atexit_handlers_run_last_first(void **state) {
  char *s = prog("stdio");
  char *text = g_strdup_printf(
      "duration 1s\nhost a\n  run name=r %s atexit-return\n"
      "  run name=e %s atexit-exit\n  run name=n %s\n",
      s, s, s);
  TestRun *r = test_run("s.nlab", text);
  const char *procs[] = {"r", "e"};
  for (guint i = 0; i < G_N_ELEMENTS(procs); i++) {
    char *main_ends = g_strdup_printf("stdout [a/%s] atexit: main ends",
                                      procs[i]);
    char *second = g_strdup_printf("stdout [a/%s] atexit: second registered",
                                   procs[i]);
    char *first = g_strdup_printf("stdout [a/%s] atexit: first registered",
                                  procs[i]);
    const char *m = strstr(r->text, main_ends);
    const char *b = strstr(r->text, second);
    const char *f = strstr(r->text, first);
    assert_non_null(m);
    assert_non_null(b);
    assert_non_null(f);
    assert_true(m < b && b < f);
    assert_int_equal(test_count_lines(r->text, second, NULL), 1);
    assert_int_equal(test_count_lines(r->text, first, NULL), 1);
    g_free(main_ends);
    g_free(second);
    g_free(first);
  }
  assert_int_equal(test_count_lines(r->text, "a/r]", " exit 4", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "a/e]", " exit 3", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "a/n]", " exit 0", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "[a/n] atexit", NULL), 0);
  test_run_free(r);
  g_free(text);
  g_free(s);
}

/* The same run twice: the same trace, byte for byte. */
/* natlab run -q keeps only the lines of programs an expectation reads,
 * and lines starting "ice: ": printf makes no text for the others (it
 * counts their length), yet returns the same, and every line that starts
 * so is kept, wherever its newline came from (the format, a string or a
 * character argument, a line left pending). */
static void test_stdio_unread_lines_counted_and_prefix_kept(void **state) {
  char *s = prog("stdio");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s unread\n"
                               "expect exit a/stdio code 0\n",
                               s);
  NlRunOptions quiet = {.trace_mask = NL_RUN_CHECK_KINDS,
                        .output_unshown = TRUE};
  TestRun *r = test_run_opts("s.nlab", text, &quiet);
  assert_int_equal(r->failed, 0); /* every return value as printf's */
  const char *want[] = {"ice: kept 1", "ice: kept 2", "ice: kept 3",
                        "ice: kept 4", "ice: kept 6", "ice: kept 7"};
  GPtrArray *l = test_lines(r, NL_TRACE_STDOUT, "a/stdio");
  assert_int_equal(l->len, G_N_ELEMENTS(want));
  for (guint i = 0; i < l->len; i++)
    assert_string_equal(g_ptr_array_index(l, i), want[i]);
  g_ptr_array_unref(l);
  test_run_free(r);
  /* Standard output not recorded at all: every line only counted. */
  NlRunOptions none = {.trace_mask = NL_RUN_CHECK_KINDS &
                                     ~(1u << NL_TRACE_STDOUT)};
  r = test_run_opts("s.nlab", text, &none);
  assert_int_equal(r->failed, 0);
  assert_int_equal(test_count_lines(r->text, "stdout [a/stdio]", NULL), 0);
  test_run_free(r);
  g_free(text);
  g_free(s);
}

static void test_stdio_trace_is_deterministic(void **state) {
  char *s = prog("stdio");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\nhost b\n"
                               "  run at=1ms %s\n",
                               s, s);
  TestRun *a = test_run("s.nlab", text);
  TestRun *b = test_run("s.nlab", text);
  assert_string_equal(a->text, b->text);
  test_run_free(a);
  test_run_free(b);
  g_free(text);
  g_free(s);
}

/* A program's destructors run once, when its object is unloaded, outside
 * any process: one that runs before the shim's own destructor writes
 * through the shim's streams, which answer outside a process (ENOSYS); one
 * that runs after it (priority 101, as gcov's) finds natlab's closed
 * streams (EBADF), not the shim's FILEs freed (a write into freed memory:
 * a -fprofile-generate build's programs corrupted natlab's heap). */
static void test_stdio_destructors_after_the_last_process(void **state) {
  char *s = prog("dtor");
  GError *error = NULL;
  NlProgram *p = nl_loader_open(s, TRUE, &error);
  g_assert_no_error(error);
  int results[4] = {7, 7, 7, 7};
  int **slot = nl_loader_symbol(p, "dtor_results");
  assert_non_null(slot);
  *slot = results;
  nl_loader_close(p);
  assert_int_equal(results[0], -1);
  assert_int_equal(results[1], ENOSYS);
  assert_int_equal(results[2], -1);
  assert_int_equal(results[3], EBADF);
  g_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stdio_lines_as_the_program_wrote_them),
      cmocka_unit_test(test_stdio_destructors_after_the_last_process),
      cmocka_unit_test(test_stdio_expect_reads_line_up_to_nul),
      cmocka_unit_test(test_stdio_null_format_crashes),
      cmocka_unit_test(test_stdio_atexit_handlers_run_last_first),
      cmocka_unit_test(test_stdio_unread_lines_counted_and_prefix_kept),
      cmocka_unit_test(test_stdio_trace_is_deterministic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
