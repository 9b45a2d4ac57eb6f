/* The POSIX face answers as Linux does: each program in tests/posix/ runs
 * its checks on this machine's kernel over 127.0.0.1 and inside natlab,
 * and the two lists of outcomes must be the same, with no failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "test-run-util.h"

/* The outcome lines ("PASS x" / "FAIL x") of some output. */
static GPtrArray *outcomes(char **lines, guint n) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < n; i++)
    if (g_str_has_prefix(lines[i], "PASS ") ||
        g_str_has_prefix(lines[i], "FAIL ") ||
        g_str_has_prefix(lines[i], "UNAVAILABLE "))
      g_ptr_array_add(out, g_strdup(lines[i]));
  return out;
}

static GPtrArray *run_real(const char *name) {
  char *exe = g_strdup_printf("%s/tests/posix-real-%s",
                              g_getenv("NATLAB_BUILD_ROOT"), name);
  const char *argv[] = {exe, NULL};
  char *out = NULL;
  int status = 0;
  GError *err = NULL;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL,
                    NULL, NULL, &out, NULL, &status, &err))
    g_error("%s", err->message);
  char **lines = g_strsplit(out, "\n", -1);
  GPtrArray *res = outcomes(lines, g_strv_length(lines));
  g_strfreev(lines);
  g_free(out);
  g_free(exe);
  return res;
}

static GPtrArray *run_lab(const char *name, char **trace_out) {
  char *text = g_strdup_printf(
      "duration 60s\nhost solo\n  run %s/tests/posix-%s.so\n",
      g_getenv("NATLAB_BUILD_ROOT"), name);
  TestRun *r = test_run("posix.nlab", text);
  char *who = g_strdup_printf("solo/posix-%s", name);
  GPtrArray *lines = test_stdout(r, who);
  GPtrArray *res = outcomes((char **)lines->pdata, lines->len);
  if (trace_out)
    *trace_out = g_strdup(r->text);
  g_ptr_array_unref(lines);
  g_free(who);
  g_free(text);
  test_run_free(r);
  return res;
}

static void manual(const char *name, guint at_least);

static void compare(const char *name) {
  GPtrArray *real = run_real(name);
  if (real->len == 1 &&
      g_str_has_prefix(g_ptr_array_index(real, 0), "UNAVAILABLE ")) {
    /* This kernel refuses the feature: the lab's side is checked alone. */
    print_message("%s here; checking the lab alone\n",
                  (char *)g_ptr_array_index(real, 0));
    g_ptr_array_unref(real);
    manual(name, 10);
    return;
  }
  char *t1 = NULL, *t2 = NULL;
  GPtrArray *lab = run_lab(name, &t1);
  GPtrArray *lab2 = run_lab(name, &t2);
  assert_string_equal(t1, t2); /* deterministic */
  assert_true(lab->len > 10);
  guint fails = 0;
  for (guint i = 0; i < lab->len; i++)
    if (g_str_has_prefix(g_ptr_array_index(lab, i), "FAIL ")) {
      print_error("lab: %s\n", (char *)g_ptr_array_index(lab, i));
      fails++;
    }
  for (guint i = 0; i < MAX(lab->len, real->len); i++) {
    const char *a = i < lab->len ? g_ptr_array_index(lab, i) : "(none)";
    const char *b = i < real->len ? g_ptr_array_index(real, i) : "(none)";
    if (strcmp(a, b) != 0) {
      print_error("lab says \"%s\", Linux says \"%s\"\n", a, b);
      fails++;
    }
  }
  assert_int_equal(fails, 0);
  g_ptr_array_unref(lab);
  g_ptr_array_unref(lab2);
  g_ptr_array_unref(real);
  g_free(t1);
  g_free(t2);
}

/* A program with no Linux counterpart: its checks state a manual's
 * documented behaviour, and every one must pass, the same way twice. */
static void manual(const char *name, guint at_least) {
  char *t1 = NULL, *t2 = NULL;
  GPtrArray *lab = run_lab(name, &t1);
  GPtrArray *lab2 = run_lab(name, &t2);
  assert_string_equal(t1, t2);
  assert_true(lab->len >= at_least);
  guint fails = 0;
  for (guint i = 0; i < lab->len; i++)
    if (g_str_has_prefix(g_ptr_array_index(lab, i), "FAIL ")) {
      print_error("lab: %s\n", (char *)g_ptr_array_index(lab, i));
      fails++;
    }
  assert_int_equal(fails, 0);
  g_ptr_array_unref(lab);
  g_ptr_array_unref(lab2);
  g_free(t1);
  g_free(t2);
}

static void test_posix_uring_matches_linux(void **state) {
  compare("uring");
}

static void test_posix_kqueue_follows_the_bsd_manual(void **state) {
  manual("kqueue", 35);
}

static void test_posix_udp_matches_linux(void **state) {
  compare("udp");
}
static void test_posix_tcp_matches_linux(void **state) {
  compare("tcp");
}
static void test_posix_io_matches_linux(void **state) {
  compare("io");
}
/* getopt, strtok, the environment, TZ rules, locales, limits, names,
 * devices and the working directory, as glibc and Linux give them. */
static void test_posix_libc_matches_linux(void **state) {
  compare("libc");
}

/* IPv6 over ::1 and 127.0.0.1: dual-stack and v6-only sockets, v4-mapped
 * peers, IPv6 options, getaddrinfo over both families. */
static void test_posix_ipv6_matches_linux(void **state) {
  compare("ipv6");
}

/* Several bad arguments: the errno of the check Linux makes first; accept()
 * at EMFILE leaves the connection queued. */
static void test_posix_check_order_matches_linux(void **state) {
  compare("order");
}

/* accept() out of descriptors is in the trace, and counted both as an
 * EMFILE and as a wasted call (the listener stays readable: a loop that
 * polls it gets the same answer at once). */
static void test_posix_accept_emfile_is_traced_and_wasted(void **state) {
  char *trace = NULL;
  GPtrArray *lab = run_lab("order", &trace);
  g_ptr_array_unref(lab);
  assert_int_equal(test_count_lines(trace, " call ", "accept(", "= -EMFILE",
                                    NULL),
                   2);
  char **lines = g_strsplit(trace, "\n", -1);
  guint wasted = 0, emfile = 0;
  for (char **l = lines; *l; l++) {
    const char *w = strstr(*l, " wasted="), *e = strstr(*l, " emfile=");
    if (w && e) {
      wasted = (guint)g_ascii_strtoull(w + 8, NULL, 10);
      emfile = (guint)g_ascii_strtoull(e + 8, NULL, 10);
    }
  }
  g_strfreev(lines);
  assert_true(emfile >= 3); /* the socket() that ran out, two accepts */
  assert_true(wasted >= 2);
  g_free(trace);
}

/* socketpair(AF_UNIX, SOCK_STREAM) and FIOCLEX, which CPython uses. */
static void test_posix_socketpair_matches_linux(void **state) {
  (void)state;
  compare("socketpair");
}

/* Unnamed semaphores and CLOCK_MONOTONIC conditions (CPython's locks). */
static void test_posix_sem_matches_linux(void **state) {
  (void)state;
  compare("sem");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_posix_udp_matches_linux),
    cmocka_unit_test(test_posix_tcp_matches_linux),
    cmocka_unit_test(test_posix_io_matches_linux),
    cmocka_unit_test(test_posix_uring_matches_linux),
    cmocka_unit_test(test_posix_kqueue_follows_the_bsd_manual),
    cmocka_unit_test(test_posix_libc_matches_linux),
    cmocka_unit_test(test_posix_check_order_matches_linux),
    cmocka_unit_test(test_posix_ipv6_matches_linux),
    cmocka_unit_test(test_posix_accept_emfile_is_traced_and_wasted),
    cmocka_unit_test(test_posix_socketpair_matches_linux),
    cmocka_unit_test(test_posix_sem_matches_linux),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
