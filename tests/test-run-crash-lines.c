/* A program that crashes is reported with the source line and a short
 * backtrace of its own code: "crashed: Segmentation fault at parse.c:7 in
 * parse_line (called from main.c:5 in handle, main.c:13 in main)". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>

#include "test-run-util.h"

static char *dir;

static int setup(void **state) {
  dir = g_dir_make_tmp("natlab-crash-XXXXXX", NULL);
  return dir == NULL;
}

static int teardown(void **state) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *e;
  while ((e = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(dir, e, NULL);
    g_remove(p);
    g_free(p);
  }
  g_dir_close(d);
  g_rmdir(dir);
  g_free(dir);
  return 0;
}

static void put(const char *name, const char *text) {
  char *p = g_build_filename(dir, name, NULL);
  assert_true(g_file_set_contents(p, text, -1, NULL));
  g_free(p);
}

/* The line numbers below are those of these sources. */
static const char parse_c[] =
    "#include <string.h>\n"                  /* 1 */
    "int parse_line(const char *s);\n"       /* 2 */
    "int parse_line(const char *s) {\n"      /* 3 */
    "  int *volatile p = NULL;\n"            /* 4 */
    "  if (s[0] == 'x')\n"                   /* 5 */
    "    return *p;\n"                       /* 6 */
    "  return (int)strlen(s);\n"             /* 7 */
    "}\n";
static const char main_c[] =
    "#include <assert.h>\n"                          /* 1 */
    "#include <stdio.h>\n"                           /* 2 */
    "#include <stdlib.h>\n"                          /* 3 */
    "#include <string.h>\n"                          /* 4 */
    "int parse_line(const char *s);\n"               /* 5 */
    "static int handle(const char *s) {\n"           /* 6 */
    "  int n = parse_line(s);\n"                     /* 7 */
    "  printf(\"n=%d\\n\", n);\n"                    /* 8 */
    "  return n;\n"                                  /* 9 */
    "}\n"                                            /* 10 */
    "static int recurse(int n) {\n"                  /* 11 */
    "  volatile char buf[256];\n"                    /* 12 */
    "  buf[n % 256] = (char)n;\n"                    /* 13 */
    "  return recurse(n + 1) + buf[(n + 1) % 256];\n" /* 14 */
    "}\n"                                            /* 15 */
    "static void check(int x) {\n"                   /* 16 */
    "  assert(x > 0);\n"                             /* 17 */
    "}\n"                                            /* 18 */
    "int main(int argc, char **argv) {\n"            /* 19 */
    "  handle(\"abc\");\n"                           /* 20 */
    "  switch (argv[1][0]) {\n"                      /* 21 */
    "  case 'l': return (int)strlen(argv[2]);\n"     /* 22 */
    "  case 'r': return recurse(0);\n"               /* 23 */
    "  case 'a': check(argc - 2); return 0;\n"       /* 24 */
    "  }\n"                                          /* 25 */
    "  handle(\"xyz\");\n"                           /* 26 */
    "  return 0;\n"                                  /* 27 */
    "}\n";

/* The end record of HOST/NAME in @r's trace. */
static char *end_of(TestRun *r, const char *who) {
  NlTrace *t = nl_run_trace(r->run);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  char *last = NULL;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    if (rec->kind == NL_TRACE_PROC &&
        strcmp(nl_trace_name(t, rec->peer), who) == 0) {
      g_free(last);
      last = g_strndup((const char *)p, rec->len);
    }
  return last;
}

static void test_crash_lines(void **state) {
  put("parse.c", parse_c);
  put("main.c", main_c);
  put("c.nlab", "duration 1s\nnetwork lan 10.0.0.0/24\n"
                "host a\n  link lan 10.0.0.1\n"
                "  run name=seg ./main.c ./parse.c s\n"
                "  run name=lib ./main.c ./parse.c l\n"
                "  run name=rec ./main.c ./parse.c r\n"
                "  run name=abrt ./main.c ./parse.c a\n");
  char *scn = g_build_filename(dir, "c.nlab", NULL);
  TestRun *r = test_run(scn, NULL);
  const struct {
    const char *who, *want;
  } cases[] = {
      /* In the program, two files deep; handle() is inlined into main()
       * but is still a frame of its own. */
      {"a/seg", "crashed: Segmentation fault at parse.c:6 in parse_line "
                "(called from main.c:7 in handle, main.c:26 in main)"},
      /* In libc's strlen(NULL): the program's call is named, and
       * nothing of libc (its function names differ between machines). */
      {"a/lib", "crashed: Segmentation fault in a call made at main.c:22 "
                "in main"},
      /* An overflow is named by where the recursion began: where the
       * stack ran out depends on natlab's own frames below main (an
       * ASan build's are larger). */
      {"a/rec", "crashed: Segmentation fault (stack overflow) in recurse, "
                "recursively (called from main.c:23 in main)"},
      /* assert() reaches the shim's abort(): the shim is not the
       * program's code. */
      {"a/abrt", "crashed: Aborted in a call made at main.c:17 in check "
                 "(called from main.c:24 in main)"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *end = end_of(r, cases[i].who);
    if (g_strcmp0(end, cases[i].want) != 0)
      print_error("%s: %s\n", cases[i].who, end);
    assert_string_equal(end, cases[i].want);
    g_free(end);
  }
  /* The same run gives the same lines: nothing of the machine (addresses,
   * libc's names) is in them. */
  TestRun *again = test_run(scn, NULL);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  test_run_free(r);
  g_free(scn);
}

/* A program that overwrites its return address: main returns to
 * 0x4141414141414141 and faults there, and the unwinder, which reads only
 * the program's stack, meets the garbage and stops instead of faulting. */
static void test_crash_smashed_stack(void **state) {
  put("smash.c",
      "#include <string.h>\n"
      "__attribute__((noinline)) static void smash(char *p) {\n"
      "  memset(p, 0x41, 64);\n"
      "}\n"
      "int main(void) {\n"
      "  char b[16];\n"
      "  smash(b);\n"
      "  return b[0];\n"
      "}\n");
  put("s.nlab", "duration 1s\nnetwork lan 10.0.0.0/24\n"
                "host a\n  link lan 10.0.0.1\n  run ./smash.c\n");
  char *scn = g_build_filename(dir, "s.nlab", NULL);
  TestRun *r = test_run(scn, NULL);
  char *end = end_of(r, "a/smash");
  if (!g_str_has_prefix(end, "crashed: Segmentation fault at smash.c:"))
    print_error("a/smash: %s\n", end);
  assert_true(g_str_has_prefix(end, "crashed: Segmentation fault at smash.c:"));
  assert_non_null(strstr(end, " in main"));
  TestRun *again = test_run(scn, NULL);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  g_free(end);
  test_run_free(r);
  g_free(scn);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crash_lines),
      cmocka_unit_test(test_crash_smashed_stack),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
