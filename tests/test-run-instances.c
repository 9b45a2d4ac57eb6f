/* Program instances: a program run by many processes is loaded once when
 * it can be, and each process still keeps its own data -- globals, static
 * buffers, initialised data, strtok's and getopt's state -- while the
 * others run in between; a program whose constructor allocates gets a
 * private copy per process, so each starts from its own constructor's
 * work.  Both runs twice give the same trace. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

#define HOSTS 50

static int count_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)info;
  (void)size;
  (*(guint *)data)++;
  return 0;
}

static guint loaded_objects(void) {
  guint n = 0;
  dl_iterate_phdr(count_object, &n);
  return n;
}

static char *prog(const char *name) {
  return g_strdup_printf("%s/tests/%s.so", g_getenv("NATLAB_BUILD_ROOT"), name);
}

/* Builds @text, counts the objects its processes loaded, runs it. */
static TestRun *run_counting(const char *text, guint *loaded) {
  GError *err = NULL;
  TestRun *r = g_new0(TestRun, 1);
  r->s = nl_scenario_load_string("i.nlab", text, -1, NULL, &err);
  assert_non_null(r->s);
  guint before = loaded_objects();
  r->run = nl_run_new(r->s, NULL, &err);
  assert_non_null(r->run);
  *loaded = loaded_objects() - before;
  r->failed = nl_run_execute(r->run);
  r->text = test_trace_text(nl_run_trace(r->run));
  return r;
}

/* @n hosts h1..hN each running @program with "-n I aI,b,c" (@opts) or
 * "hI". */
static char *hosts_running(const char *program, gboolean opts, int n) {
  GString *s = g_string_new("duration 2s\n");
  for (int i = 1; i <= n; i++) {
    g_string_append_printf(s, "host h%d\n  run %s ", i, program);
    if (opts)
      g_string_append_printf(s, "-n %d a%d,b,c", i, i);
    else
      g_string_append_printf(s, "h%d", i);
    g_string_append_c(s, '\n');
  }
  return g_string_free(s, FALSE);
}

/* @n processes of tests/progs/instances.c, one object, each with its own
 * data; the same trace twice. */
static void share_and_keep(int n) {
  char *p = prog("instances");
  char *text = hosts_running(p, TRUE, n);
  GString *ex = g_string_new(text);
  for (int i = 1; i <= n; i++)
    g_string_append_printf(ex, "expect exit h%d/instances code 0\n", i);
  guint loaded;
  TestRun *r = run_counting(ex->str, &loaded);
  assert_int_equal(r->failed, 0);
  assert_int_equal(loaded, 1); /* one object for all the processes */
  for (int i = 1; i <= n; i++) {
    char *who = g_strdup_printf("h%d/instances", i);
    GPtrArray *l = test_stdout(r, who);
    assert_int_equal(l->len, 3);
    for (int k = 0; k < 3; k++) {
      char *tok =
          k == 0 ? g_strdup_printf("a%d", i) : g_strdup(k == 1 ? "b" : "c");
      char *want = g_strdup_printf("n=%d counter=%d init=%d tok=%s", i,
                                   (k + 1) * i, 7 + i, tok);
      if (strcmp(g_ptr_array_index(l, k), want) != 0)
        fail_msg("%s line %d: \"%s\", expected \"%s\"", who, k,
                 (char *)g_ptr_array_index(l, k), want);
      g_free(want);
      g_free(tok);
    }
    g_ptr_array_unref(l);
    g_free(who);
  }
  guint again;
  TestRun *r2 = run_counting(ex->str, &again);
  assert_int_equal(again, 1);
  assert_string_equal(r->text, r2->text);
  test_run_free(r2);
  test_run_free(r);
  g_string_free(ex, TRUE);
  g_free(text);
  g_free(p);
}

static void test_instances_share_one_load_and_keep_their_data(void **state) {
  share_and_keep(HOSTS);
}

/* 300 processes of one program, each one's copy of the program's data
 * kept as what differs from the data as loaded (sim/host/facts.c,
 * "Swapping a region"); each still finds exactly its own. */
static void test_many_instances_keep_their_data(void **state) {
  share_and_keep(300);
}

static void test_instances_with_a_constructor_are_private(void **state) {
  char *p = prog("instances-ctor");
  char *text = hosts_running(p, FALSE, HOSTS);
  guint loaded;
  TestRun *r = run_counting(text, &loaded);
  assert_int_equal(r->failed, 0);
  assert_int_equal(loaded, HOSTS); /* a copy each */
  for (int i = 1; i <= HOSTS; i++) {
    char *who = g_strdup_printf("h%d/instances-ctor", i);
    GPtrArray *l = test_stdout(r, who);
    assert_int_equal(l->len, 2);
    char *fresh = g_strdup_printf("h%d fresh", i);
    char *used = g_strdup_printf("h%d used", i);
    assert_string_equal(g_ptr_array_index(l, 0), fresh);
    assert_string_equal(g_ptr_array_index(l, 1), used);
    g_free(fresh);
    g_free(used);
    g_ptr_array_unref(l);
    g_free(who);
  }
  guint again;
  TestRun *r2 = run_counting(text, &again);
  assert_string_equal(r->text, r2->text);
  test_run_free(r2);
  test_run_free(r);
  g_free(text);
  g_free(p);
}

static void test_instances_read_their_own_standard_input(void **state) {
  char *p = prog("instances-stdin");
  char *text =
      g_strdup_printf("duration 1s\nhost a\n  run %s\nhost b\n  run %s\n"
                      "at 100ms stdin a/instances-stdin alpha\n"
                      "at 100ms stdin b/instances-stdin beta\n"
                      "at 200ms stdin b/instances-stdin gamma\n"
                      "at 200ms stdin a/instances-stdin delta\n"
                      "at 300ms stdin a/instances-stdin end\n"
                      "at 300ms stdin b/instances-stdin end\n"
                      "expect exit a/instances-stdin code 0\n"
                      "expect exit b/instances-stdin code 0\n"
                      /* A later process gets an ended one's streams. */
                      "host c\n  run at=500ms %s\n"
                      "at 600ms stdin c/instances-stdin zeta\n"
                      "at 700ms stdin c/instances-stdin end\n"
                      "expect exit c/instances-stdin code 0\n",
                      p, p, p);
  guint loaded;
  TestRun *r = run_counting(text, &loaded);
  assert_int_equal(r->failed, 0);
  assert_int_equal(loaded, 1);
  const char *who[] = {"a/instances-stdin", "b/instances-stdin"};
  const char *want[2][2] = {{"got alpha", "got delta"},
                            {"got beta", "got gamma"}};
  for (int i = 0; i < 2; i++) {
    GPtrArray *l = test_stdout(r, who[i]);
    assert_int_equal(l->len, 2);
    assert_string_equal(g_ptr_array_index(l, 0), want[i][0]);
    assert_string_equal(g_ptr_array_index(l, 1), want[i][1]);
    g_ptr_array_unref(l);
  }
  GPtrArray *l = test_stdout(r, "c/instances-stdin");
  assert_int_equal(l->len, 1);
  assert_string_equal(g_ptr_array_index(l, 0), "got zeta");
  g_ptr_array_unref(l);
  guint again;
  TestRun *r2 = run_counting(text, &again);
  assert_string_equal(r->text, r2->text);
  test_run_free(r2);
  test_run_free(r);
  g_free(text);
  g_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_instances_share_one_load_and_keep_their_data),
      cmocka_unit_test(test_many_instances_keep_their_data),
      cmocka_unit_test(test_instances_with_a_constructor_are_private),
      cmocka_unit_test(test_instances_read_their_own_standard_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
