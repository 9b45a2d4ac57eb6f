/* TCP engine: bulk throughput against the bandwidth-delay limit on a
 * 10 Mbit/s, 50 ms RTT path, and its fall under loss.  Virtual time only:
 * the figures are simulated rates, not wall-clock speed (bench/ has that).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-tcp-harness.h"

#define RATE 10000000u       /* bit/s */
#define ONE_WAY (25 * NL_MS) /* 50 ms RTT */
#define DURATION (20 * NL_S)

typedef struct {
  uint64_t rate;  /* link bit/s */
  double goodput; /* payload bit/s seen by the reading application */
  uint64_t retransmits;
  int mss;
} TputResult;

static void bulk(Wire *w, TputResult *r, double loss) {
  w->rate_bps = r->rate;
  /* A drop-tail queue of about one bandwidth-delay product. */
  w->queue_limit = (size_t)(r->rate / 8 * 50 / 1000);
  w->loss = loss;
  Pair p;
  NlTime t0 = nl_event_now(w->q);
  pair_open(w, &p, 9100);
  socklen_t len = sizeof r->mss;
  nl_tcp_getsockopt(p.client, IPPROTO_TCP, TCP_MAXSEG, &r->mss, &len);
  static guint8 buf[65536];
  size_t received = 0;
  while (nl_event_now(w->q) < t0 + DURATION) {
    while (nl_tcp_send(p.client, buf, sizeof buf, 0) > 0)
      ;
    ssize_t k;
    while ((k = nl_tcp_recv(p.server, buf, sizeof buf, 0)) > 0)
      received += (size_t)k;
    run_for(w, 2 * NL_MS);
  }
  r->goodput = (double)received * 8 / ((double)DURATION / NL_S);
  NlTcpStats st;
  nl_tcp_stack_stats(w->h[0].st, &st);
  r->retransmits = st.retransmits;
  struct linger l = {1, 0};
  nl_tcp_setsockopt(p.client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void scenario_clean(Wire *w, void *res) {
  bulk(w, res, 0);
}

static void scenario_lossy(Wire *w, void *res) {
  bulk(w, res, 0.01);
}

static void test_tcp_throughput_matches_bdp_limit(void **state) {
  TputResult c1 = {.rate = RATE}, c2 = {.rate = RATE};
  TputResult l1 = {.rate = RATE}, l2 = {.rate = RATE};
  (void)state;
  run_twice(41, ONE_WAY, scenario_clean, &c1, &c2);
  run_twice(41, ONE_WAY, scenario_lossy, &l1, &l2);
  /* The limit: the link rate carrying 1448-byte payloads (1460 less the
   * timestamps option) in 1500-byte packets, or the initial receive
   * window (64 KiB) per RTT, whichever is
   * less (here the link: the BDP is 62,500 bytes).  Autotuning lets the
   * window outgrow the BDP plus the queue, so even the clean link loses
   * the odd packet to the full queue, as a real one does. */
  double link = (double)RATE * c1.mss / 1500;
  double window = 65536.0 * 8 / 0.050;
  double limit = MIN(link, window);
  print_message("clean: %.3f Mbit/s of %.3f; 1%% loss: %.3f Mbit/s "
                "(%" G_GUINT64_FORMAT " retransmits)\n",
                c1.goodput / 1e6, limit / 1e6, l1.goodput / 1e6,
                l1.retransmits);
  assert_int_equal(c1.mss, 1448); /* TCP_MAXSEG, as Linux reports it */
  assert_true(c1.goodput >= 0.9 * limit);
  assert_true(c1.goodput <= limit);
  /* Loss costs throughput (NewReno halves its window per loss event). */
  assert_true(l1.retransmits > 0);
  assert_true(l1.goodput < 0.8 * c1.goodput);
  assert_true(c1.goodput == c2.goodput && l1.goodput == l2.goodput);
}

/* A path whose BDP (625 KB) is ten times the initial window: receive
 * autotuning has to grow SO_RCVBUF (and the send buffer follow the
 * congestion window) for TCP to fill it, as on Linux. */
static void test_tcp_autotuning_fills_long_fat_path(void **state) {
  TputResult f1 = {.rate = 10 * RATE}, f2 = {.rate = 10 * RATE};
  (void)state;
  run_twice(42, ONE_WAY, scenario_clean, &f1, &f2);
  double link = (double)f1.rate * 1448 / 1500;
  double fixed_window = 65536.0 * 8 / 0.050;
  print_message("100 Mbit/s: %.3f Mbit/s (64 KiB window alone: %.3f)\n",
                f1.goodput / 1e6, fixed_window / 1e6);
  assert_true(f1.goodput > 4 * fixed_window);
  assert_true(f1.goodput >= 0.7 * link);
  assert_true(f1.goodput == f2.goodput);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_throughput_matches_bdp_limit),
      cmocka_unit_test(test_tcp_autotuning_fills_long_fat_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
