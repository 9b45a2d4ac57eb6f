/* Whole runs: the flagship scenario, determinism, every shipped scenario,
 * and the natlab command line on good and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sys/wait.h>

#include "export/timeline.h"
#include "test-run-util.h"

static char *source_path(const char *rel) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), rel, NULL);
}

static void test_run_flagship_echoes_through_the_nat(void **state) {
  char *path = source_path("scenarios/lessons/flagship/udp-echo.nlab");
  TestRun *r = test_run(path, NULL);
  assert_int_equal(r->failed, 0);
  /* The server sees the NAT's public address, never the laptop's. */
  GPtrArray *srv = test_stdout(r, "echo/udp-echo-server");
  guint from_nat = 0;
  for (guint i = 0; i < srv->len; i++) {
    const char *l = g_ptr_array_index(srv, i);
    assert_null(strstr(l, "192.168.1.10"));
    from_nat += strstr(l, "from 100.64.0.2:") != NULL;
  }
  assert_int_equal(from_nat, 3);
  GPtrArray *cli = test_stdout(r, "laptop/udp-echo-client");
  assert_int_equal(cli->len, 4);
  assert_string_equal(g_ptr_array_index(cli, 3), "3 of 3 echoes received");
  /* One mapping, created once; six translations (3 out, 3 in). */
  assert_int_equal(test_count_lines(r->text, "home-nat mapping new UDP "
                                    "192.168.1.10:", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "home-nat translate", NULL), 6);
  /* One-way delay: home 1 ms + isp 5 ms + internet 20 ms, plus the call
   * costs: the first datagram leaves at 1.000004 s and is received by the
   * server 26 ms later. */
  assert_int_equal(test_count_lines(r->text, "1.026004000 echo recv", NULL),
                   1);
  g_ptr_array_unref(srv);
  g_ptr_array_unref(cli);
  test_run_free(r);
  g_free(path);
}

static void test_run_same_seed_gives_identical_trace_and_timeline(
    void **state) {
  char *path = source_path("scenarios/lessons/flagship/udp-echo.nlab");
  TestRun *a = test_run(path, NULL), *b = test_run(path, NULL);
  assert_string_equal(a->text, b->text);
  GString *diff = g_string_new(NULL);
  assert_true(nl_run_trace_diff(nl_run_trace(a->run), nl_run_trace(b->run),
                                diff));
  GError *err = NULL;
  gsize la = 0, lb = 0;
  guint8 *sa = nl_timeline_render(nl_run_trace(a->run), "svg", NULL, &la,
                                  &err);
  guint8 *sb = nl_timeline_render(nl_run_trace(b->run), "svg", NULL, &lb,
                                  &err);
  assert_non_null(sa);
  assert_int_equal(la, lb);
  assert_memory_equal(sa, sb, la);
  g_free(sa);
  g_free(sb);
  g_string_free(diff, TRUE);
  test_run_free(a);
  test_run_free(b);
  g_free(path);
}

static void test_run_diff_names_first_differing_record(void **state) {
#define LOSSY(seed)                                                            \
  "seed " seed "\nduration 3s\nnetwork lan 10.0.0.0/24 latency=1ms loss=30%\n" \
  "host a\n  link lan 10.0.0.1\n  run udp-echo-server 7\n"                    \
  "host b\n  link lan 10.0.0.2\n"                                              \
  "  run udp-echo-client 10.0.0.1 7 hi 10 100\n"
  char *t1 = g_strdup(LOSSY("1")), *t2 = g_strdup(LOSSY("2"));
  TestRun *a = test_run("a.nlab", t1), *b = test_run("b.nlab", t2);
  GString *diff = g_string_new(NULL);
  assert_false(nl_run_trace_diff(nl_run_trace(a->run), nl_run_trace(b->run),
                                 diff));
  assert_non_null(strstr(diff->str, "at virtual time "));
  assert_non_null(strstr(diff->str, "run 1: "));
  g_string_free(diff, TRUE);
  test_run_free(a);
  test_run_free(b);
  g_free(t1);
  g_free(t2);
}

static void collect(const char *dir, GPtrArray *out) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL)
    g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  for (guint i = 0; i < names->len; i++) {
    char *p = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      collect(p, out);
    if (g_str_has_suffix(p, ".nlab"))
      g_ptr_array_add(out, p);
    else
      g_free(p);
  }
  g_ptr_array_unref(names);
}

static void test_run_every_shipped_scenario_meets_its_expectations(
    void **state) {
  char *root = source_path("scenarios");
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  collect(root, files);
  guint ran = 0;
  for (guint i = 0; i < files->len; i++) {
    const char *f = g_ptr_array_index(files, i);
    /* Included fragments have no duration of their own: skip files that
     * say they are one. */
    char *text = NULL;
    g_file_get_contents(f, &text, NULL, NULL);
    gboolean fragment = text && strstr(text, "# fragment") != NULL;
    g_free(text);
    if (fragment)
      continue;
    TestRun *a = test_run(f, NULL);
    if (a->failed != 0) {
      GString *rep = g_string_new(NULL);
      nl_run_report_failures(a->run, rep);
      print_error("%s", rep->str);
      g_string_free(rep, TRUE);
    }
    assert_int_equal(a->failed, 0);
    assert_true(nl_run_n_expects(a->run) > 0);
    TestRun *b = test_run(f, NULL);
    assert_string_equal(a->text, b->text);
    test_run_free(a);
    test_run_free(b);
    ran++;
  }
  assert_true(ran >= 1);
  g_ptr_array_unref(files);
  g_free(root);
}

static int spawn_natlab(const char *const *args, char **out, char **err) {
  char *exe = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                               "natlab", NULL);
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, exe);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, NULL);
  int status = -1;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                    NULL, out, err, &status, &e))
    g_error("%s", e->message);
  g_ptr_array_free(argv, TRUE);
  g_free(exe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_run_cli_check_determinism_and_outputs(void **state) {
  char *path = source_path("scenarios/lessons/flagship/udp-echo.nlab");
  char *dir = g_dir_make_tmp("natlab-cli-XXXXXX", NULL);
  char *trace = g_build_filename(dir, "t.trace", NULL);
  char *svg = g_build_filename(dir, "t.svg", NULL);
  const char *args[] = {"run",     path,  "--check-determinism", "--quiet",
                        "--trace", trace, "--timeline",          svg,
                        NULL};
  char *out = NULL, *err = NULL;
  assert_int_equal(spawn_natlab(args, &out, &err), 0);
  assert_non_null(strstr(out, "deterministic: two runs gave identical"));
  assert_non_null(strstr(out, "2 of 2 expectations held"));
  char *t = NULL, *s = NULL;
  assert_true(g_file_get_contents(trace, &t, NULL, NULL));
  assert_true(g_file_get_contents(svg, &s, NULL, NULL));
  assert_non_null(strstr(t, "home-nat translate"));
  assert_non_null(strstr(s, "<svg"));
  /* A call's tooltip carries its reference card. */
  assert_non_null(strstr(s, "ssize_t sendto(int fd, const void *buf"));
  assert_non_null(strstr(s, "Blocks on: one datagram"));
  g_remove(trace);
  g_remove(svg);
  g_rmdir(dir);
  g_free(t);
  g_free(s);
  g_free(out);
  g_free(err);
  g_free(trace);
  g_free(svg);
  g_free(dir);
  g_free(path);
}

static void test_run_cli_set_overrides_a_constant(void **state) {
  /* The full-cone lesson, run with --set preset=symmetric: the same
   * file, another NAT, and its expectations no longer hold. */
  char *path = source_path("scenarios/lessons/nat-types/full-cone.nlab");
  const char *plain[] = {"run", path, "--quiet", NULL};
  const char *sym[] = {"run", path, "--quiet", "--set", "preset=symmetric",
                       NULL};
  const char *bad[] = {"run", path, "--set", "nosuch=1", NULL};
  char *out = NULL, *err = NULL;
  assert_int_equal(spawn_natlab(plain, &out, &err), 0);
  g_free(out);
  g_free(err);
  assert_int_equal(spawn_natlab(sym, &out, &err), 1);
  assert_non_null(strstr(out, "mapping: the same for both servers\": no "
                              "such line was printed"));
  g_free(out);
  g_free(err);
  assert_int_equal(spawn_natlab(bad, &out, &err), 2);
  assert_non_null(strstr(err, "nosuch"));
  g_free(out);
  g_free(err);
  g_free(path);
}

static void test_run_cli_timeline_window_and_hidden_kinds(void **state) {
  char *dir = g_dir_make_tmp("natlab-win-XXXXXX", NULL);
  char *scn = g_build_filename(dir, "w.nlab", NULL);
  char *svg = g_build_filename(dir, "w.svg", NULL);
  g_file_set_contents(scn,
                      "seed 1\nduration 5s\nnetwork lan 10.0.0.0/24 "
                      "latency=5ms\nhost a\n  link lan 10.0.0.1\n"
                      "  run udp-echo-server 7\nhost b\n  link lan 10.0.0.2\n"
                      "  run at=1s udp-echo-client 10.0.0.1 7 hi 5 500\n"
                      "timeline from=2s to=2600ms hide=call\n"
                      "expect exit b/udp-echo-client code 0\n",
                      -1, NULL);
  const char *args[] = {"run", scn, "--quiet", "--timeline", svg, NULL};
  char *out = NULL, *err = NULL, *text = NULL;
  assert_int_equal(spawn_natlab(args, &out, &err), 0);
  assert_true(g_file_get_contents(svg, &text, NULL, NULL));
  /* Only the exchange inside the window, and no socket calls. */
  assert_non_null(strstr(text, "sent 2.020"));
  assert_null(strstr(text, "sent 1."));
  assert_null(strstr(text, "sent 3."));
  assert_null(strstr(text, "sendto("));
  g_remove(svg);
  g_remove(scn);
  g_rmdir(dir);
  g_free(text);
  g_free(out);
  g_free(err);
  g_free(svg);
  g_free(scn);
  g_free(dir);
}

static void test_run_cli_relay_hops_are_amber(void **state) {
  char *path = source_path("scenarios/lessons/turn/relay.nlab");
  char *flag = source_path("scenarios/lessons/flagship/udp-echo.nlab");
  char *dir = g_dir_make_tmp("natlab-amber-XXXXXX", NULL);
  char *svg = g_build_filename(dir, "r.svg", NULL);
  char *out = NULL, *err = NULL, *text = NULL;
  const char *relay[] = {"run", path, "--quiet", "--timeline", svg, NULL};
  assert_int_equal(spawn_natlab(relay, &out, &err), 0);
  assert_true(g_file_get_contents(svg, &text, NULL, NULL));
  assert_non_null(strstr(text, "#d98c00"));
  g_free(text);
  g_free(out);
  g_free(err);
  /* No relay in the flagship: no amber. */
  const char *plain[] = {"run", flag, "--quiet", "--timeline", svg, NULL};
  assert_int_equal(spawn_natlab(plain, &out, &err), 0);
  assert_true(g_file_get_contents(svg, &text, NULL, NULL));
  assert_null(strstr(text, "#d98c00"));
  g_remove(svg);
  g_rmdir(dir);
  g_free(text);
  g_free(out);
  g_free(err);
  g_free(svg);
  g_free(dir);
  g_free(flag);
  g_free(path);
}

static void test_run_cli_bad_scenarios_give_one_located_error(void **state) {
  static const struct {
    const char *text;
    const char *where; /* file:line:column prefix */
  } cases[] = {
    {"florp 1\n", "bad.nlab:1:1:"},
    {"network lan 10.0.0.0/24\nhost a\n  link lan 10.0.0.300\n",
     "bad.nlab:3:"},
    {"network lan 10.0.0.0/24\nhost a\n  link lan 10.0.0.1\nhost a\n",
     "bad.nlab:4:"},
    {"network lan 10.0.0.0/24\nhost a\n  link wan 10.0.0.1\n", "bad.nlab:3:"},
    {"network a 10.0.0.0/16\nnetwork b 10.0.1.0/24\n", "bad.nlab:2:"},
    {"", "bad.nlab:"},
    {"\x7f" "ELF\x01\x02\x00\x00garbage\xff\xfe", "bad.nlab:1:"},
  };
  char *dir = g_dir_make_tmp("natlab-bad-XXXXXX", NULL);
  char *file = g_build_filename(dir, "bad.nlab", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    size_t len = strlen(cases[i].text);
    if (i == G_N_ELEMENTS(cases) - 1)
      len = 16; /* keep the NUL bytes */
    assert_true(g_file_set_contents(file, cases[i].text, (gssize)len, NULL));
    const char *args[] = {"run", file, NULL};
    char *out = NULL, *err = NULL;
    int rc = spawn_natlab(args, &out, &err);
    assert_int_equal(rc, 2);
    /* One error line, naming the place. */
    assert_non_null(strstr(err, cases[i].where));
    assert_int_equal(test_count_lines(err, ":", NULL), 1);
    g_free(out);
    g_free(err);
  }
  g_remove(file);
  g_rmdir(dir);
  g_free(file);
  g_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_run_flagship_echoes_through_the_nat),
    cmocka_unit_test(test_run_same_seed_gives_identical_trace_and_timeline),
    cmocka_unit_test(test_run_diff_names_first_differing_record),
    cmocka_unit_test(test_run_every_shipped_scenario_meets_its_expectations),
    cmocka_unit_test(test_run_cli_check_determinism_and_outputs),
    cmocka_unit_test(test_run_cli_set_overrides_a_constant),
    cmocka_unit_test(test_run_cli_timeline_window_and_hidden_kinds),
    cmocka_unit_test(test_run_cli_relay_hops_are_amber),
    cmocka_unit_test(test_run_cli_bad_scenarios_give_one_located_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
