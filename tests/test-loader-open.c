/* Program loader: private copies keep separate globals, shared opens share
 * them, and bad paths give GErrors naming the path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "sim/host/loader.h"

typedef int (*BumpFn)(void);

static BumpFn bump_of(NlProgram *p) {
  void *sym = nl_loader_symbol(p, "counter_bump");
  BumpFn fn;
  assert_non_null(sym);
  memcpy(&fn, &sym, sizeof sym);
  return fn;
}

static int value_of(NlProgram *p) {
  int *v = nl_loader_symbol(p, "counter_value");
  assert_non_null(v);
  return *v;
}

static NlProgram *open_ok(const char *path, gboolean private_copy) {
  GError *error = NULL;
  NlProgram *p = nl_loader_open(path, private_copy, &error);
  if (p == NULL)
    fail_msg("%s", error->message);
  assert_null(error);
  return p;
}

static void test_loader_private_copies_keep_separate_globals(void **state) {
  NlProgram *a = open_ok(NL_COUNTER_SO, TRUE);
  NlProgram *b = open_ok(NL_COUNTER_SO, TRUE);
  assert_true(nl_loader_is_private(a));
  assert_ptr_not_equal(nl_loader_symbol(a, "counter_value"),
                       nl_loader_symbol(b, "counter_value"));
  bump_of(a)();
  bump_of(a)();
  bump_of(a)();
  bump_of(b)();
  assert_int_equal(value_of(a), 3);
  assert_int_equal(value_of(b), 1);
  /* main is the instance's own main, with the instance's globals. */
  char *argv[] = {"counter", NULL};
  assert_int_equal(nl_loader_main(a)(1, argv), 104);
  assert_int_equal(nl_loader_main(b)(1, argv), 102);
  assert_string_equal(nl_loader_path(a), NL_COUNTER_SO);
  nl_loader_close(a);
  nl_loader_close(b);
}

static void test_loader_shared_open_shares_globals(void **state) {
  NlProgram *a = open_ok(NL_COUNTER_SO, FALSE);
  NlProgram *b = open_ok(NL_COUNTER_SO, FALSE);
  NlProgram *priv = open_ok(NL_COUNTER_SO, TRUE);
  assert_false(nl_loader_is_private(a));
  assert_ptr_equal(nl_loader_symbol(a, "counter_value"),
                   nl_loader_symbol(b, "counter_value"));
  int base = value_of(a);
  bump_of(a)();
  bump_of(b)();
  assert_int_equal(value_of(a), base + 2);
  assert_int_equal(value_of(b), base + 2);
  assert_int_equal(value_of(priv), 0);
  nl_loader_close(a);
  /* The other handle keeps the shared instance loaded. */
  bump_of(b)();
  assert_int_equal(value_of(b), base + 3);
  nl_loader_close(b);
  nl_loader_close(priv);
}

static guint count_open_fds(void) {
  GDir *dir = g_dir_open("/proc/self/fd", 0, NULL);
  guint n = 0;
  assert_non_null(dir);
  while (g_dir_read_name(dir) != NULL)
    n++;
  g_dir_close(dir);
  return n;
}

static void test_loader_reopen_after_close_is_fresh(void **state) {
  /* Also checks that a reused fd number does not revive an old instance,
   * and that closing gives back the memory file's descriptor. */
  guint fds = count_open_fds();
  for (int round = 0; round < 50; round++) {
    NlProgram *p = open_ok(NL_COUNTER_SO, TRUE);
    assert_int_equal(value_of(p), 0);
    for (int i = 0; i <= round % 5; i++)
      bump_of(p)();
    assert_int_equal(value_of(p), round % 5 + 1);
    nl_loader_close(p);
  }
  nl_loader_close(NULL);
  assert_int_equal(count_open_fds(), fds);
}

static void test_loader_bsymbolic_object_binds_its_own_definitions(void **s) {
  NlProgram *p = open_ok(NL_INTERPOSE_SO, TRUE);
  assert_int_equal(nl_loader_main(p)(0, NULL), 42);
  nl_loader_close(p);
}

static void test_loader_many_private_instances(void **state) {
  enum { N = 40 };
  NlProgram *ps[N];
  for (int i = 0; i < N; i++) {
    ps[i] = open_ok(NL_COUNTER_SO, TRUE);
    for (int k = 0; k < i; k++)
      bump_of(ps[i])();
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(value_of(ps[i]), i);
    nl_loader_close(ps[i]);
  }
}

static void expect_error(const char *path, gboolean private_copy, int code) {
  GError *error = NULL;
  NlProgram *p = nl_loader_open(path, private_copy, &error);
  assert_null(p);
  assert_non_null(error);
  assert_true(error->domain == NL_LOADER_ERROR);
  if (code >= 0)
    assert_int_equal(error->code, code);
  assert_non_null(strstr(error->message, path));
  g_error_free(error);
}

static void test_loader_missing_file_is_an_error(void **state) {
  expect_error("/nonexistent/natlab/prog.so", TRUE, NL_LOADER_ERROR_NOT_FOUND);
  expect_error("/nonexistent/natlab/prog.so", FALSE,
               NL_LOADER_ERROR_NOT_FOUND);
}

static void test_loader_not_elf_is_an_error(void **state) {
  expect_error(NL_PROGS_SRC "/counter.c", TRUE, NL_LOADER_ERROR_NOT_SHARED);
  expect_error(NL_PROGS_SRC "/counter.c", FALSE, NL_LOADER_ERROR_NOT_SHARED);
}

static void test_loader_executable_is_an_error(void **state) {
  /* A PIE executable is ET_DYN but cannot be dlopen'ed; a non-PIE one is
   * ET_EXEC.  Either way: an error naming the path. */
  char *self = g_file_read_link("/proc/self/exe", NULL);
  assert_non_null(self);
  expect_error(self, TRUE, -1);
  g_free(self);
}

static void test_loader_object_without_main_is_an_error(void **state) {
  expect_error(NL_NOMAIN_SO, TRUE, NL_LOADER_ERROR_NO_MAIN);
  expect_error(NL_NOMAIN_SO, FALSE, NL_LOADER_ERROR_NO_MAIN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loader_private_copies_keep_separate_globals),
      cmocka_unit_test(test_loader_shared_open_shares_globals),
      cmocka_unit_test(test_loader_reopen_after_close_is_fresh),
      cmocka_unit_test(test_loader_many_private_instances),
      cmocka_unit_test(test_loader_bsymbolic_object_binds_its_own_definitions),
      cmocka_unit_test(test_loader_missing_file_is_an_error),
      cmocka_unit_test(test_loader_not_elf_is_an_error),
      cmocka_unit_test(test_loader_executable_is_an_error),
      cmocka_unit_test(test_loader_object_without_main_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
