/* A program whose heap the kernel refuses (natlab out of memory areas or
 * address space) fails by name -- a note on that program, at its virtual
 * time, and on its stderr; malloc returns NULL (ENOMEM) -- and the run
 * goes on: the program's next malloc may succeed, the others run.
 * (Out of memory areas, natlab's own allocations failed next, and natlab
 * died with them: heaps no longer take a memory area each.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "sim/host/heap.h"
#include "test-run-util.h"

static const char prog_c[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "#include <unistd.h>\n"
    "int main(void) {\n"
    "  usleep(1000);\n"
    "  char *p = malloc(100);\n"
    "  if (p == NULL) p = malloc(100);\n"
    "  if (p == NULL) return 3;\n"
    "  strcpy(p, \"ok\");\n"
    "  puts(p);\n"
    "  free(p);\n"
    "  return 0;\n"
    "}\n";

static void test_refused_heap_is_a_named_program_failure(void **state) {
  char *dir = g_dir_make_tmp("natlab-heap-XXXXXX", NULL);
  assert_non_null(dir);
  char *src = g_build_filename(dir, "m.c", NULL);
  char *scn = g_build_filename(dir, "h.nlab", NULL);
  g_file_set_contents(src, prog_c, -1, NULL);
  g_file_set_contents(scn,
                      "duration 1s\n"
                      "host a\n  run ./m.c\n"
                      "host b\n  run ./m.c\n"
                      "host c\n  run ./m.c\n",
                      -1, NULL);
  nl__heap_fail_reservations(1);
  TestRun *r = test_run(scn, NULL);
  /* The first allocation (a's malloc after its usleep; its environment is
   * on its stack, as on Linux) is refused, and named: the program, its
   * virtual time, why. */
  assert_int_equal(
      test_count_lines(r->text, "0.001001000 a note [a/m] out of memory: "
                       "malloc(100)",
                       " failed with 0 MiB in use (natlab could not get "
                       "memory for its heap: Cannot allocate memory)",
                       NULL),
      1);
  assert_int_equal(test_count_lines(r->text, "a/m", "out of memory", NULL),
                   2); /* the note, and the line on its stderr */
  /* Its next malloc gets a heap: it runs on, as the others do. */
  const char *others[] = {"a/m", "b/m", "c/m"};
  for (int i = 0; i < 3; i++) {
    GPtrArray *l = test_stdout(r, others[i]);
    assert_int_equal(l->len, 1);
    assert_string_equal(g_ptr_array_index(l, 0), "ok");
    g_ptr_array_unref(l);
    assert_int_equal(test_count_lines(r->text, others[i], "exit 0", NULL), 1);
  }
  test_run_free(r);
  g_unlink(src);
  g_unlink(scn);
  g_rmdir(dir);
  g_free(src);
  g_free(scn);
  g_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused_heap_is_a_named_program_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
