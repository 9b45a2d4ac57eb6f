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

#define RATE 10000000u           /* bit/s */
#define ONE_WAY (25 * NL_MS)     /* 50 ms RTT */
#define DURATION (20 * NL_S)

typedef struct {
  double goodput; /* payload bit/s seen by the reading application */
  uint64_t retransmits;
  int mss;
} TputResult;

static void bulk(Wire *w, TputResult *r, double loss) {
  w->rate_bps = RATE;
  w->queue_limit = 100000;
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
  TputResult c1 = {0}, c2 = {0}, l1 = {0}, l2 = {0};
  (void)state;
  run_twice(41, ONE_WAY, scenario_clean, &c1, &c2);
  run_twice(41, ONE_WAY, scenario_lossy, &l1, &l2);
  /* The limit: the link rate carrying 1460-byte payloads in 1500-byte
   * packets, or the receive window (64 KiB) per RTT, whichever is less. */
  double link = (double)RATE * c1.mss / (c1.mss + 40);
  double window = 65536.0 * 8 / 0.050;
  double limit = MIN(link, window);
  print_message("clean: %.3f Mbit/s of %.3f; 1%% loss: %.3f Mbit/s "
                "(%" G_GUINT64_FORMAT " retransmits)\n",
                c1.goodput / 1e6, limit / 1e6, l1.goodput / 1e6,
                l1.retransmits);
  assert_int_equal(c1.mss, 1460);
  assert_true(c1.goodput >= 0.9 * limit);
  assert_true(c1.goodput <= limit);
  assert_int_equal(c1.retransmits, 0);
  /* Loss costs throughput (NewReno halves its window per loss event). */
  assert_true(l1.retransmits > 0);
  assert_true(l1.goodput < 0.8 * c1.goodput);
  assert_true(c1.goodput == c2.goodput && l1.goodput == l2.goodput);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tcp_throughput_matches_bdp_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
