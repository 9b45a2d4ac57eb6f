/* Lossy transfers: a seed sweep of TCP transfers over a lossy, slow path
 * with a NAT on it, in every I/O mode, must all complete.  One program
 * (tests/progs/transfer.c) echoes a stream in five I/O modes (blocking,
 * poll, select, level- and edge-triggered epoll), and the chapter's echo
 * pair exchanges a line behind a symmetric NAT; every seed draws other
 * losses, so handshakes, data and ACKs get lost in every combination, and
 * the retransmission timer must recover from each (RTT samples from
 * timestamps, RFC 7323 §4.3, also for retransmitted data). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

#define SEEDS 8

static const char *const modes[] = {"blocking", "poll", "select", "epoll",
                                    "epoll-et"};

/* 20 % loss each way on the internet, 50 ms one way, a NAT in front of
 * the client: every seed loses SYNs, SYN-ACKs, data and ACKs somewhere. */
static char *scenario(const char *prog, guint seed, const char *mode) {
  return g_strdup_printf(
      "seed %u\n"
      "duration 300s\n"
      "network lan 10.0.0.0/24\n"
      "network internet 203.0.113.0/24 192.0.2.0/24 latency=50ms loss=20%%\n"
      "host server\n"
      "  link internet 192.0.2.10\n"
      "  run %s server %s 5000\n"
      "nat gw preset=port-restricted-cone\n"
      "  inside lan 10.0.0.1\n"
      "  outside internet 203.0.113.1\n"
      "host client\n"
      "  link lan 10.0.0.5\n"
      "  route default via 10.0.0.1\n"
      "  run at=1s %s client %s 192.0.2.10 5000 20000\n"
      "expect stdout client/transfer contains \"client: ok 20000\"\n"
      "expect stdout server/transfer contains \"server: ok 20000\"\n",
      seed, prog, mode, prog, mode);
}

static void test_run_lossy_transfers_complete_in_every_mode(void **state) {
  (void)state;
  char *prog = g_strdup_printf("%s/tests/transfer.so",
                               g_getenv("NATLAB_BUILD_ROOT"));
  guint retransmitting = 0;
  for (guint m = 0; m < G_N_ELEMENTS(modes); m++) {
    for (guint seed = 1; seed <= SEEDS; seed++) {
      char *text = scenario(prog, seed, modes[m]);
      TestRun *r = test_run("lossy.nlab", text);
      if (r->failed != 0) {
        GString *why = g_string_new(NULL);
        nl_run_report_failures(r->run, why);
        fail_msg("%s, seed %u: %s", modes[m], seed, why->str);
      }
      /* The sweep did exercise the retransmission timer. */
      if (test_count_lines(r->text, " tcp ", "retransmit seq=", NULL) > 0)
        retransmitting++;
      test_run_free(r);
      g_free(text);
    }
  }
  assert_true(retransmitting >= SEEDS);
  g_free(prog);
}

/* The chapter's echo pair (blocking calls, a reply read until complete)
 * over the same path, every seed. */
static void test_run_lossy_echo_completes(void **state) {
  (void)state;
  for (guint seed = 1; seed <= SEEDS; seed++) {
    char *text = g_strdup_printf(
        "seed %u\n"
        "duration 300s\n"
        "network lan 10.0.0.0/24\n"
        "network internet 203.0.113.0/24 192.0.2.0/24 latency=50ms "
        "loss=20%%\n"
        "host server\n  link internet 192.0.2.10\n  run tcp-echo-server\n"
        "nat gw preset=symmetric\n"
        "  inside lan 10.0.0.1\n  outside internet 203.0.113.1\n"
        "host client\n  link lan 10.0.0.5\n  route default via 10.0.0.1\n"
        "  run at=1s tcp-echo-client 192.0.2.10 8080 through a lossy path\n"
        "expect stdout client/tcp-echo-client contains \"Server replied: "
        "through a lossy path\"\n"
        "expect exit client/tcp-echo-client code 0\n",
        seed);
    TestRun *r = test_run("echo.nlab", text);
    if (r->failed != 0) {
      GString *why = g_string_new(NULL);
      nl_run_report_failures(r->run, why);
      fail_msg("seed %u: %s", seed, why->str);
    }
    test_run_free(r);
    g_free(text);
  }
}

/* The same run twice gives the same trace, byte for byte. */
static void test_run_lossy_transfer_is_deterministic(void **state) {
  (void)state;
  char *prog = g_strdup_printf("%s/tests/transfer.so",
                               g_getenv("NATLAB_BUILD_ROOT"));
  char *text = scenario(prog, 3, "epoll-et");
  TestRun *a = test_run("lossy.nlab", text);
  TestRun *b = test_run("lossy.nlab", text);
  assert_int_equal(a->failed, 0);
  assert_string_equal(a->text, b->text);
  test_run_free(a);
  test_run_free(b);
  g_free(text);
  g_free(prog);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_lossy_transfers_complete_in_every_mode),
      cmocka_unit_test(test_run_lossy_echo_completes),
      cmocka_unit_test(test_run_lossy_transfer_is_deterministic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
