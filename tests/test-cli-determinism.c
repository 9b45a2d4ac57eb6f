/* natlab run --check-determinism runs its second run in a fresh process
 * under another TZ, locale, HOME and working directory, compares every
 * record with its payload, the capture and the timeline -- with or
 * without output options -- and names the first difference with its
 * virtual time and host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

typedef struct {
  char *out, *err;
  int code;
} Result;

static char *prog(const char *name) {
  return g_strdup_printf("%s/tests/%s.so", g_getenv("NATLAB_BUILD_ROOT"),
                         name);
}

/* natlab run SCENARIO --check-determinism [EXTRA] in a fresh folder. */
static Result run(const char *text, const char *extra) {
  char *dir = g_dir_make_tmp("natlab-det-XXXXXX", NULL);
  char *path = g_build_filename(dir, "d.nlab", NULL);
  g_file_set_contents(path, text, -1, NULL);
  char *exe = g_strdup_printf("%s/tools/natlab", g_getenv("NATLAB_BUILD_ROOT"));
  const char *argv[] = {exe, "run", path, "--check-determinism", "-q", extra,
                        NULL};
  Result r = {0};
  int status;
  GError *error = NULL;
  if (!g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL,
                    NULL, NULL, &r.out, &r.err, &status, &error))
    g_error("%s", error->message);
  r.code = g_spawn_check_wait_status(status, NULL) ? 0 : WEXITSTATUS(status);
  /* Outputs the extra option wrote, then the folder. */
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    char *f = g_build_filename(dir, name, NULL);
    g_unlink(f);
    g_free(f);
  }
  g_dir_close(d);
  g_rmdir(dir);
  g_free(exe);
  g_free(path);
  g_free(dir);
  return r;
}

static void result_free(Result *r) {
  g_free(r->out);
  g_free(r->err);
}

/* The probe prints every system fact; the second run's TZ, LANG,
 * LC_ALL, HOME and directory differ, and nothing of it shows. */
static void test_determinism_probe_is_identical_in_another_environment(
    void **state) {
  char *probe = prog("facts");
  char *text = g_strdup_printf(
      "duration 1s\nnetwork lan 10.0.0.0/24\n"
      "host a timezone=Europe/Berlin\n  link lan 10.0.0.5\n  run %s\n"
      "host b\n  link lan 10.0.0.6\n  run %s\n"
      "  run name=echo at=1ms udp-echo-server 7\n"
      "host c\n  link lan 10.0.0.7\n"
      "  run at=2ms udp-echo-client 10.0.0.6 7 hello\n",
      probe, probe);
  /* Without output options, and with them. */
  const char *extras[] = {NULL, "--pcap=x.pcap"};
  for (int i = 0; i < 2; i++) {
    Result r = run(text, extras[i]);
    if (r.code != 0)
      print_error("out: %s\nerr: %s\n", r.out, r.err);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "deterministic: two runs gave identical "
                                  "traces"));
    assert_non_null(strstr(r.out, "captures and timelines"));
    assert_non_null(strstr(r.out, "fresh process with TZ="));
    result_free(&r);
  }
  g_free(text);
  g_free(probe);
}

/* A program that prints where its memory is differs between two
 * processes (address space layout randomisation): the check says so, at
 * the record's virtual time and host, with both lines. */
static void test_determinism_names_the_first_difference(void **state) {
  char *aslr = NULL;
  if (g_file_get_contents("/proc/sys/kernel/randomize_va_space", &aslr, NULL,
                          NULL) &&
      aslr[0] == '0') {
    g_free(aslr);
    skip(); /* no randomisation on this machine: nothing differs */
  }
  g_free(aslr);
  char *p = prog("aslr");
  char *text = g_strdup_printf("duration 1s\nhost box\n  run %s\n", p);
  Result r = run(text, NULL);
  assert_int_equal(r.code, 3);
  assert_non_null(strstr(r.out, "NOT deterministic: the second run (a fresh "
                                "process with TZ="));
  assert_non_null(strstr(r.out, "at virtual time 0.001"));
  assert_non_null(strstr(r.out, "on box differs:"));
  assert_non_null(strstr(r.out, "run 1: "));
  assert_non_null(strstr(r.out, "stack 0x"));
  /* The steady line before it was the same. */
  assert_null(strstr(r.out, "steady line"));
  result_free(&r);
  g_free(text);
  g_free(p);
}

/* The second run failing is an error, not a verdict. */
static void test_determinism_reports_a_broken_second_run(void **state) {
  /* A scenario that loads but cannot be built is refused before either
   * run: exit status 2 with the scenario's message. */
  Result r = run("duration 1s\nhost box\n  run ./missing.so\n", NULL);
  assert_int_equal(r.code, 2);
  assert_non_null(strstr(r.err, "missing.so"));
  result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(
        test_determinism_probe_is_identical_in_another_environment),
    cmocka_unit_test(test_determinism_names_the_first_difference),
    cmocka_unit_test(test_determinism_reports_a_broken_second_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
