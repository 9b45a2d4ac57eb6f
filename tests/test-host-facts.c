/* System facts: a program sees the lab's host name, time zone,
 * environment, limits, working directory and randomness, from the
 * scenario and never from the machine natlab runs on; libc state
 * (getopt, strtok) is per process even when hosts share one loaded
 * program; RLIMIT_NOFILE limits only the process that set it; chdir()
 * never moves natlab's own output files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "sim/host/proc.h"
#include "test-run-util.h"

static char *prog(const char *name) {
  return g_strdup_printf("%s/tests/%s.so", g_getenv("NATLAB_BUILD_ROOT"),
                         name);
}

static char *natlab_exe(void) {
  return g_strdup_printf("%s/tools/natlab", g_getenv("NATLAB_BUILD_ROOT"));
}

/* The line of @lines that starts with @prefix, or NULL. */
static const char *line_of(GPtrArray *lines, const char *prefix) {
  for (guint i = 0; i < lines->len; i++)
    if (g_str_has_prefix(g_ptr_array_index(lines, i), prefix))
      return g_ptr_array_index(lines, i);
  return NULL;
}

static void assert_line(GPtrArray *lines, const char *want) {
  for (guint i = 0; i < lines->len; i++)
    if (strcmp(g_ptr_array_index(lines, i), want) == 0)
      return;
  print_error("no line \"%s\" in:\n", want);
  for (guint i = 0; i < lines->len; i++)
    print_error("  %s\n", (char *)g_ptr_array_index(lines, i));
  fail();
}

/* Runs the natlab command in @cwd with exactly @envp; returns stdout. */
static char *run_natlab(const char *cwd, char **envp, const char *scenario,
                        const char *extra) {
  char *exe = natlab_exe();
  const char *argv[] = {exe, "run", scenario, extra, NULL};
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  if (!g_spawn_sync(cwd, (char **)argv, envp, G_SPAWN_STDIN_FROM_DEV_NULL,
                    NULL, NULL, &out, &err, &status, &error))
    g_error("%s", error->message);
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("natlab failed: %s", err);
  g_free(err);
  g_free(exe);
  return out;
}

static char **env_with(const char *const *extra) {
  char **env = NULL;
  /* What natlab and the suite need to find their files, and nothing of
   * the caller's time zone, locale or home. */
  static const char *const keep[] = {"NATLAB_BUILD_ROOT", "NATLAB_SOURCE_ROOT",
                                     "ASAN_OPTIONS", "LSAN_OPTIONS",
                                     "G_DEBUG", NULL};
  for (const char *const *k = keep; *k; k++)
    if (g_getenv(*k))
      env = g_environ_setenv(env, *k, g_getenv(*k), TRUE);
  for (const char *const *e = extra; *e; e++) {
    char **kv = g_strsplit(*e, "=", 2);
    env = g_environ_setenv(env, kv[0], kv[1], TRUE);
    g_strfreev(kv);
  }
  return env;
}

/* The probe prints every fact; two real environments that differ in
 * everything a program could read give the same output. */
static void test_facts_probe_ignores_the_real_environment(void **state) {
  char *dir = g_dir_make_tmp("natlab-facts-XXXXXX", NULL);
  char *sub = g_build_filename(dir, "elsewhere", NULL);
  g_mkdir(sub, 0700);
  char *probe = prog("facts");
  char *scenario = g_build_filename(dir, "probe.nlab", NULL);
  char *text = g_strdup_printf("duration 1s\nnetwork lan 10.0.0.0/24\n"
                               "host box\n  link lan 10.0.0.5\n"
                               "  run %s\n",
                               probe);
  g_file_set_contents(scenario, text, -1, NULL);
  const char *e1[] = {"TZ=Asia/Kathmandu", "LANG=C.UTF-8", "HOME=/tmp",
                      "NL_EXTRA=from-the-real-machine", "PATH=/usr/bin:/bin",
                      NULL};
  const char *e2[] = {"TZ=America/New_York", "LC_ALL=C", "LANG=POSIX",
                      "HOME=/", "GREETING=real", "USER=someone", NULL};
  char **env1 = env_with(e1), **env2 = env_with(e2);
  char *out1 = run_natlab(dir, env1, scenario, "-q");
  char *out2 = run_natlab(sub, env2, scenario, "-q");
  char *out3 = run_natlab(sub, env2, scenario, NULL);
  assert_string_equal(out1, out2);
  TestRun *r = test_run(scenario, NULL);
  GPtrArray *l = test_stdout(r, "box/facts");
  /* What the program saw, line by line, is the lab's. */
  assert_line(l, "hostname box");
  assert_line(l, "uname Linux box 6.1.0-natlab #1 SMP PREEMPT_DYNAMIC natlab "
                 "x86_64");
  assert_line(l, "ids ppid=1 uid=1000 euid=1000 gid=1000 egid=1000");
  assert_line(l, "user lab /home/lab");
  assert_line(l, "env HOME=/home/lab");
  assert_line(l, "env LANG=C.UTF-8");
  assert_line(l, "env LC_ALL=(unset)");
  assert_line(l, "env TZ=(unset)");
  assert_line(l, "env NL_EXTRA=(unset)");
  assert_line(l, "env GREETING=(unset)");
  assert_line(l, "env USER=lab");
  char *pwd = g_strdup_printf("env PWD=%s", dir);
  assert_line(l, pwd);
  g_free(pwd);
  assert_line(l, "localtime 2025-01-01 00:00:00 UTC +0000");
  assert_line(l, "ctime Wed Jan  1 00:00:00 2025");
  assert_line(l, "tzname UTC/UTC timezone=0 daylight=0");
  assert_line(l, "nofile 1024/4096");
  char *cwd = g_strdup_printf("cwd %s", dir);
  assert_line(l, cwd);
  g_free(cwd);
  assert_line(l, "locale at start C");
  assert_line(l, "setlocale(\"\") C.UTF-8; 1.50");
  assert_line(l, "cpus 1 pages 1024");
  assert_line(l, "isatty 0 0 0 ttyname (none)");
  /* Booted 1000 s before the clock's start; the hostid of 10.0.0.5 as
   * glibc derives one from an address. */
  assert_line(l, "sysinfo uptime=1000 ram=1024 procs=1 load=3 "
                 "hostid=000a0500");
  assert_line(l, "/etc/hostname box");
  assert_line(l, "/proc/self/status hidden");
  assert_line(l, "/etc/hosts 127.0.0.1\tlocalhost");
  assert_line(l, "/etc/passwd root:x:0:0:root:/root:/bin/sh");
  assert_line(l, "/etc/resolv.conf # natlab: names are the scenario's "
                 "(getaddrinfo)");
  assert_line(l, "/etc/localtime No such file or directory");
  assert_non_null(line_of(l, "/etc/machine-id "));
  /* getifaddrs flags as Linux: UP|LOOPBACK|RUNNING|LOWER_UP, and
   * UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP. */
  assert_line(l, "iface lo flags=0x10049");
  assert_line(l, "iface eth0 flags=0x11043");
  assert_non_null(line_of(l, "urandom "));
  /* natlab's own printed output is the same in both environments. */
  char *line = g_strdup_printf("box/facts: %s",
                               (char *)g_ptr_array_index(l, 0));
  assert_non_null(strstr(out3, line));
  g_free(line);
  g_ptr_array_unref(l);
  test_run_free(r);
  g_strfreev(env1);
  g_strfreev(env2);
  g_free(out1);
  g_free(out2);
  g_free(out3);
  g_unlink(scenario);
  g_rmdir(sub);
  g_rmdir(dir);
  g_free(scenario);
  g_free(text);
  g_free(probe);
  g_free(sub);
  g_free(dir);
}

/* Each host's own zone, environment and limit; a run's own environment
 * and directory; the same answers elsewhere. */
static void test_facts_come_from_the_scenario_per_host(void **state) {
  char *probe = prog("facts");
  char *text = g_strdup_printf(
      "duration 1s\nnetwork lan 10.0.0.0/24\n"
      "host alpha timezone=Asia/Kathmandu nofile=64\n  link lan 10.0.0.5\n"
      "  env GREETING=\"hello world\" LANG=C\n  run %s\n"
      "host beta\n  link lan 10.0.0.6\n"
      "  run env=NL_EXTRA=1 env=TZ=EST5EDT cwd=/ %s\n",
      probe, probe);
  TestRun *r = test_run("hosts.nlab", text);
  TestRun *again = test_run("hosts.nlab", text);
  assert_string_equal(r->text, again->text);
  GPtrArray *a = test_stdout(r, "alpha/facts"), *b = test_stdout(r, "beta/facts");
  assert_line(a, "hostname alpha");
  assert_line(b, "hostname beta");
  assert_line(a, "localtime 2025-01-01 05:45:00 +0545 +0545");
  assert_line(a, "tzname +0545/+0545 timezone=-20700 daylight=0");
  assert_line(b, "localtime 2024-12-31 19:00:00 EST -0500");
  assert_line(a, "env GREETING=hello world");
  assert_line(a, "env LANG=C");
  assert_line(a, "setlocale(\"\") C; 1.50");
  assert_line(b, "env GREETING=(unset)");
  assert_line(b, "env NL_EXTRA=1");
  assert_line(b, "env TZ=EST5EDT");
  assert_line(a, "nofile 64/4096");
  assert_line(b, "nofile 1024/4096");
  assert_line(b, "cwd /");
  assert_line(b, "env PWD=/");
  /* Seeded per host and program: the two hosts differ. */
  assert_string_not_equal(line_of(a, "urandom "), line_of(b, "urandom "));
  g_ptr_array_unref(a);
  g_ptr_array_unref(b);
  test_run_free(r);
  test_run_free(again);
  g_free(text);
  g_free(probe);
}

/* /dev/urandom and /dev/random are the seeded streams: the same bytes
 * every run, other bytes under another seed. */
static void test_facts_urandom_follows_the_seed(void **state) {
  char *probe = prog("facts");
  char *text = g_strdup_printf("duration 1s\nhost box\n  run %s\n", probe);
  NlRunOptions s2 = {.seed_set = TRUE, .seed = 2};
  TestRun *r1 = test_run("u.nlab", text), *r2 = test_run("u.nlab", text);
  TestRun *r3 = test_run_opts("u.nlab", text, &s2);
  GPtrArray *l1 = test_stdout(r1, "box/facts"), *l2 = test_stdout(r2, "box/facts"),
            *l3 = test_stdout(r3, "box/facts");
  assert_string_equal(line_of(l1, "urandom "), line_of(l2, "urandom "));
  assert_string_equal(line_of(l1, "random "), line_of(l2, "random "));
  /* mkstemp()'s names come from the same stream. */
  assert_string_equal(line_of(l1, "mkstemp "), line_of(l2, "mkstemp "));
  assert_string_not_equal(line_of(l1, "mkstemp "), line_of(l3, "mkstemp "));
  assert_string_not_equal(line_of(l1, "urandom "), line_of(l3, "urandom "));
  assert_string_not_equal(line_of(l1, "urandom "), line_of(l1, "random "));
  g_ptr_array_unref(l1);
  g_ptr_array_unref(l2);
  g_ptr_array_unref(l3);
  test_run_free(r1);
  test_run_free(r2);
  test_run_free(r3);
  g_free(text);
  g_free(probe);
}

/* The line of libc's hidden state getopt.c prints when its options made
 * a string of @n bytes. */
static char *state_line(int n) {
  return g_strdup_printf("state 10.0.0.%d|Unknown error %d|Unknown signal "
                         "%d|%d|%d|Thu Jan  1 %02d:00:00 1970",
                         n, 1000 + n, 100 + n, n, n, n);
}

static void check_getopt_lines(TestRun *r, const char *who, const char *opts,
                               const char *operand) {
  GPtrArray *l = test_stdout(r, who);
  assert_line(l, opts);
  assert_line(l, operand);
  assert_line(l, "strtok a b");
  char *state = state_line((int)strlen(opts) - (int)strlen("options "));
  assert_line(l, state);
  g_free(state);
  g_ptr_array_unref(l);
}

/* Two hosts parse their options at the same virtual time, one option per
 * millisecond: each sees its own, and its own strtok() position and
 * static buffers (asctime(), strerror()...) while the other runs, whether
 * each has a private copy of the program (users' programs) or both share
 * one loaded copy (the lab's own programs), and a second world starts
 * afresh. */
static void test_facts_getopt_state_is_per_process(void **state) {
  char *g = prog("getopt");
  char *text = g_strdup_printf(
      "duration 1s\nhost a\n  run %s -v --name=alpha -x one\n"
      "host b\n  run %s --name beta two -v\n",
      g, g);
  TestRun *r = test_run("g.nlab", text);
  check_getopt_lines(r, "a/getopt", "options v n=alpha x ", "operand one");
  check_getopt_lines(r, "b/getopt", "options n=beta v ", "operand two");
  test_run_free(r);

  /* Shared: loaded once as a built-in from the build's tests folder. */
  char *dir = g_strdup_printf("%s/tests", g_getenv("NATLAB_BUILD_ROOT"));
  nl_proc_set_programs_dir(dir);
  for (int world = 0; world < 2; world++) {
    GError *err = NULL;
    NlScenario *s = nl_scenario_load_string(
        "shared.nlab", "duration 1s\nhost a\nhost b\nhost c\n", -1, NULL,
        &err);
    NlRun *run = nl_run_new(s, NULL, &err);
    NlWorld *w = nl_run_world(run);
    const char *av_a[] = {"getopt", "-v", "--name=alpha", "-x", "one", NULL};
    const char *av_b[] = {"getopt", "--name", "beta", "two", "-v", NULL};
    const char *av_c[] = {"getopt", "-x", NULL};
    assert_non_null(nl_proc_spawn(nl_world_find_node(w, "a"), "getopt",
                                  "getopt", av_a, 0, &err));
    assert_non_null(nl_proc_spawn(nl_world_find_node(w, "b"), "getopt",
                                  "getopt", av_b, 0, &err));
    assert_non_null(nl_proc_spawn(nl_world_find_node(w, "c"), "getopt",
                                  "getopt", av_c, 500 * NL_US, &err));
    nl_run_execute(run);
    TestRun tr = {.s = s, .run = run};
    check_getopt_lines(&tr, "a/getopt", "options v n=alpha x ", "operand one");
    check_getopt_lines(&tr, "b/getopt", "options n=beta v ", "operand two");
    GPtrArray *l = test_stdout(&tr, "c/getopt");
    assert_line(l, "options x ");
    char *libc = state_line(2);
    assert_line(l, libc);
    g_free(libc);
    g_ptr_array_unref(l);
    nl_run_free(run);
    nl_scenario_free(s);
  }
  nl_proc_set_programs_dir(NULL);
  g_free(dir);
  g_free(text);
  g_free(g);
}

/* setrlimit(RLIMIT_NOFILE, 16) limits that process only: its 16th
 * descriptor (fd 16) is refused with EMFILE; another process on the same
 * host keeps 1024, and a host's nofile= sets its processes' limit. */
static void test_facts_nofile_limits_one_process(void **state) {
  char *n = prog("nofile");
  char *text = g_strdup_printf(
      "duration 1s\nhost a\n  run name=small %s 16\n"
      "  run name=plain at=1ms %s\n"
      "host b nofile=32\n  run %s\n",
      n, n, n);
  TestRun *r = test_run("n.nlab", text);
  GPtrArray *s = test_stdout(r, "a/small"), *p = test_stdout(r, "a/plain"),
            *b = test_stdout(r, "b/nofile");
  assert_line(s, "limit 16");
  assert_line(s, "last fd 15, then Too many open files");
  assert_line(p, "limit 1024");
  assert_line(p, "last fd 1023, then Too many open files");
  assert_line(b, "limit 32");
  assert_line(b, "last fd 31, then Too many open files");
  g_ptr_array_unref(s);
  g_ptr_array_unref(p);
  g_ptr_array_unref(b);
  test_run_free(r);
  g_free(text);
  g_free(n);
}

/* A process that changes its environment, time zone, thread name,
 * descriptor limit, working directory and locale changes only its own:
 * a later process on its host and one on another host see the lab's
 * defaults, as the first saw them before its change, and the changer
 * keeps its changes while the others run. */
static void test_facts_changes_stay_in_the_process(void **state) {
  char *f = prog("facts");
  char *text = g_strdup_printf("duration 1s\nhost a\n"
                               "  run name=changer %s change\n"
                               "  run name=later at=10ms %s\n"
                               "host b\n  run at=20ms %s\n",
                               f, f, f);
  TestRun *r = test_run("c.nlab", text);
  TestRun *again = test_run("c.nlab", text);
  assert_string_equal(r->text, again->text);
  GPtrArray *c = test_stdout(r, "a/changer"), *l = test_stdout(r, "a/later"),
            *b = test_stdout(r, "b/facts");
  assert_line(c, "changed: GREETING=changed zone=JST name=renamed "
                 "nofile=16 cwd=/");
  /* Its C.UTF-8 is its own, before and after the others ran (at 10 and
   * 20 ms, while it slept): each of them starts in C. */
  assert_line(c, "changed mb_cur_max 6");
  assert_line(c, "after sleep mb_cur_max 6");
  GPtrArray *others[] = {c, l, b};
  for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
    /* Printed before the change (the changer) or after it (the others):
     * the lab's defaults. */
    assert_line(others[i], "env GREETING=(unset)");
    assert_line(others[i], "env TZ=(unset)");
    assert_line(others[i], "localtime 2025-01-01 00:00:00 UTC +0000");
    assert_line(others[i], "nofile 1024/4096");
    assert_line(others[i], "locale at start C");
    assert_line(others[i], "mb_cur_max at start 1");
    const char *cwd = line_of(others[i], "cwd ");
    assert_non_null(cwd);
    assert_string_not_equal(cwd, "cwd /");
  }
  assert_line(l, "thread name facts.so");
  assert_line(b, "thread name facts.so");
  g_ptr_array_unref(c);
  g_ptr_array_unref(l);
  g_ptr_array_unref(b);
  test_run_free(r);
  test_run_free(again);
  g_free(text);
  g_free(f);
}

/* chdir() moves the program, not natlab: --trace lands where natlab was
 * started, the program's relative file where it went. */
static void test_facts_chdir_leaves_natlab_outputs_alone(void **state) {
  char *dir = g_dir_make_tmp("natlab-cwd-XXXXXX", NULL);
  char *away = g_build_filename(dir, "away", NULL);
  g_mkdir(away, 0700);
  char *c = prog("cwd");
  char *scenario = g_build_filename(dir, "cwd.nlab", NULL);
  char *text = g_strdup_printf("duration 1s\nhost box\n  run %s %s\n"
                               "expect exit box/cwd code 0\n",
                               c, away);
  g_file_set_contents(scenario, text, -1, NULL);
  const char *e[] = {"LANG=C", NULL};
  char **env = env_with(e);
  char *out = run_natlab(dir, env, scenario, "--trace=trace.txt");
  char *trace = g_build_filename(dir, "trace.txt", NULL);
  char *made = g_build_filename(away, "made-by-program.txt", NULL);
  char *not_made = g_build_filename(dir, "made-by-program.txt", NULL);
  char *wrong_trace = g_build_filename(away, "trace.txt", NULL);
  assert_true(g_file_test(trace, G_FILE_TEST_IS_REGULAR));
  assert_true(g_file_test(made, G_FILE_TEST_IS_REGULAR));
  assert_false(g_file_test(not_made, G_FILE_TEST_EXISTS));
  assert_false(g_file_test(wrong_trace, G_FILE_TEST_EXISTS));
  char *now = g_strdup_printf("box/cwd: now %s", away);
  assert_non_null(strstr(out, now));
  g_unlink(trace);
  g_unlink(made);
  g_unlink(scenario);
  g_rmdir(away);
  g_rmdir(dir);
  g_free(now);
  g_free(trace);
  g_free(made);
  g_free(not_made);
  g_free(wrong_trace);
  g_free(out);
  g_strfreev(env);
  g_free(text);
  g_free(scenario);
  g_free(c);
  g_free(away);
  g_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_facts_probe_ignores_the_real_environment),
    cmocka_unit_test(test_facts_come_from_the_scenario_per_host),
    cmocka_unit_test(test_facts_urandom_follows_the_seed),
    cmocka_unit_test(test_facts_getopt_state_is_per_process),
    cmocka_unit_test(test_facts_nofile_limits_one_process),
    cmocka_unit_test(test_facts_chdir_leaves_natlab_outputs_alone),
    cmocka_unit_test(test_facts_changes_stay_in_the_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
