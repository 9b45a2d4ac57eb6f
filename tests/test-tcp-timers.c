/* TCP engine: timers — keepalive against a dead and a live peer, the
 * retransmission timer's backoff and give-up (tcp_retries2), the user
 * timeout, and delayed ACKs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-tcp-harness.h"

static void set_int(NlTcpSock *s, int level, int name, int v) {
  assert_int_equal(nl_tcp_setsockopt(s, level, name, &v, sizeof v), 0);
}

static NlTime nth_time(Wire *w, guint32 node, const char *needle, int n) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != NL_TRACE_TCP_STATE || rec->node != node)
      continue;
    char *text = g_strndup((const char *)payload, rec->len);
    gboolean hit = strstr(text, needle) != NULL;
    g_free(text);
    if (hit && n-- == 0)
      return rec->time;
  }
  return -1;
}

/* ---- keepalive --------------------------------------------------------- */

typedef struct {
  NlTime established, closed, last_live_probe;
  int probes, live_probes;
  int err, notified;
  NlTcpState live_state;
  ssize_t recv_err;
} KeepResult;

static void scenario_keepalive(Wire *w, void *res) {
  KeepResult *r = res;
  Pair p;
  pair_open(w, &p, 9000);
  r->established = trace_time_of(w, w->h[0].node, "SYN_SENT -> ESTABLISHED");
  set_int(p.client, SOL_SOCKET, SO_KEEPALIVE, 1);
  set_int(p.client, IPPROTO_TCP, TCP_KEEPIDLE, 10);
  set_int(p.client, IPPROTO_TCP, TCP_KEEPINTVL, 5);
  set_int(p.client, IPPROTO_TCP, TCP_KEEPCNT, 3);
  /* A live peer answers every probe: nothing happens for a minute. */
  run_for(w, 60 * NL_S);
  r->live_state = nl_tcp_state(p.client);
  r->live_probes = count_states(w, w->h[0].node, "keepalive probe");
  r->last_live_probe =
      nth_time(w, w->h[0].node, "keepalive probe", r->live_probes - 1);
  /* Then the peer vanishes (pulled cable, crashed host). */
  w->h[1].dead = TRUE;
  int before = p.cu.notified;
  run_for(w, 60 * NL_S);
  r->closed = trace_time_of(w, w->h[0].node, "ESTABLISHED -> CLOSED");
  r->probes = count_states(w, w->h[0].node, "keepalive probe") - r->live_probes;
  r->notified = p.cu.notified - before;
  char b[4];
  r->recv_err = nl_tcp_recv(p.client, b, sizeof b, 0);
  r->err = nl_tcp_take_error(p.client);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
}

static void test_tcp_keepalive_detects_dead_peer(void **state) {
  KeepResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(31, 10 * NL_MS, scenario_keepalive, &r1, &r2);
  assert_int_equal(r1.live_state, NL_TCP_ESTABLISHED);
  /* Probes after 10 s idle; each answer (20 ms later) restarts the idle
   * time, so one every 10.02 s. */
  assert_int_equal(r1.live_probes, 5);
  assert_int_equal(r1.last_live_probe,
                   r1.established + 10 * NL_S + 4 * (10 * NL_S + 20 * NL_MS));
  assert_int_equal(r1.probes, 3);
  /* After the last answer: idle 10 s, then 3 unanswered probes 5 s
   * apart, then ETIMEDOUT. */
  assert_int_equal(r1.closed,
                   r1.last_live_probe + 20 * NL_MS + 10 * NL_S + 3 * 5 * NL_S);
  assert_int_equal(r1.recv_err, -ETIMEDOUT);
  assert_int_equal(r1.err, 0); /* recv took it */
  assert_true(r1.notified >= 1);
}

/* ---- retransmission timeout, tcp_retries2, TCP_USER_TIMEOUT ------------ */

typedef struct {
  NlTime sent_at, closed;
  int retransmits;
  NlTime gap1, gap2, gap3;
  ssize_t send_err;
} RetryResult;

static void retry_scenario(Wire *w, RetryResult *r, int user_timeout_ms) {
  Pair p;
  pair_open(w, &p, 9001);
  if (user_timeout_ms)
    set_int(p.client, IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms);
  run_for(w, 1 * NL_S);
  w->h[1].dead = TRUE;
  r->sent_at = nl_event_now(w->q);
  assert_int_equal(nl_tcp_send(p.client, "lost", 4, 0), 4);
  run_for(w, 1200 * NL_S);
  r->closed = trace_time_of(w, w->h[0].node, "ESTABLISHED -> CLOSED");
  r->retransmits = count_states(w, w->h[0].node, "retransmit seq=");
  NlTime t0 = nth_time(w, w->h[0].node, "retransmit seq=", 0);
  NlTime t1 = nth_time(w, w->h[0].node, "retransmit seq=", 1);
  NlTime t2 = nth_time(w, w->h[0].node, "retransmit seq=", 2);
  NlTime t3 = nth_time(w, w->h[0].node, "retransmit seq=", 3);
  r->gap1 = t1 - t0;
  r->gap2 = t2 - t1;
  r->gap3 = t3 - t2;
  r->send_err = nl_tcp_send(p.client, "x", 1, 0);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
}

static void scenario_retries2(Wire *w, void *res) {
  retry_scenario(w, res, 0);
}

static void test_tcp_data_retries_then_etimedout(void **state) {
  RetryResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(32, 10 * NL_MS, scenario_retries2, &r1, &r2);
  /* tcp_retries2 = 15: fifteen retransmissions, doubling (Karn keeps
   * the backed-off RTO), then ETIMEDOUT once 924.6 s have passed since
   * the segment was first sent (RTO_MIN-based bound, as Linux). */
  assert_int_equal(r1.retransmits, 15);
  assert_int_equal(r1.gap2, 2 * r1.gap1);
  assert_int_equal(r1.gap3, 2 * r1.gap2);
  NlTime elapsed = r1.closed - r1.sent_at;
  assert_true(elapsed >= 924600 * NL_MS);
  assert_true(elapsed <= 924600 * NL_MS + NL_TCP_RTO_MAX);
  assert_int_equal(r1.send_err, -ETIMEDOUT);
}

static void scenario_user_timeout(Wire *w, void *res) {
  retry_scenario(w, res, 5000);
}

static void test_tcp_user_timeout_bounds_retries(void **state) {
  RetryResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(33, 10 * NL_MS, scenario_user_timeout, &r1, &r2);
  /* TCP_USER_TIMEOUT 5000 ms: the timer is clamped to fire at 5 s. */
  assert_int_equal(r1.closed - r1.sent_at, 5 * NL_S);
  assert_int_equal(r1.send_err, -ETIMEDOUT);
  assert_true(r1.retransmits >= 3 && r1.retransmits < 15);
}

/* ---- an orphan (closed by the user) gives up sooner ------------------ */

typedef struct {
  NlTime closed_at, gone_at;
  guint left;
  int retransmits;
} OrphanResult;

static void scenario_orphan(Wire *w, void *res) {
  OrphanResult *r = res;
  Pair p;
  pair_open(w, &p, 9004);
  run_for(w, 1 * NL_S);
  w->h[1].dead = TRUE;
  r->closed_at = nl_event_now(w->q);
  nl_tcp_close(p.client); /* FIN_WAIT_1, never answered */
  run_for(w, 300 * NL_S);
  r->gone_at = trace_time_of(w, w->h[0].node, "FIN_WAIT_1 -> CLOSED");
  r->retransmits = count_states(w, w->h[0].node, "retransmit seq=");
  r->left = nl_tcp_stack_n_socks(w->h[0].st);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
}

static void test_tcp_orphan_gives_up_after_orphan_retries(void **state) {
  OrphanResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(36, 10 * NL_MS, scenario_orphan, &r1, &r2);
  /* tcp_orphan_retries: 8 → (2^9 - 1) × 200 ms = 102.2 s. */
  NlTime elapsed = r1.gone_at - r1.closed_at;
  assert_true(elapsed >= 102200 * NL_MS);
  assert_true(elapsed <= 102200 * NL_MS + 60 * NL_S);
  assert_int_equal(r1.retransmits, 8);
  assert_int_equal(r1.left, 0);
}

/* ---- delayed ACK ------------------------------------------------------ */

#define NMSG 20

typedef struct {
  NlTime delay[NMSG]; /* from each write to bob's ACK of it */
} DelackResult;

/* The time of the first packet bob sent with an id above @after. */
static NlTime first_bob_packet(Wire *w, uint64_t after) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_PKT_SEND && rec->id > after &&
        rec->node == w->h[1].node)
      return rec->time;
  return -1;
}

static void scenario_delack(Wire *w, void *res) {
  DelackResult *r = res;
  Pair p;
  pair_open(w, &p, 9002);
  set_int(p.client, IPPROTO_TCP, TCP_NODELAY, 1);
  run_for(w, 1 * NL_S);
  char sink[64];
  for (int i = 0; i < NMSG; i++) {
    uint64_t before = w->pkt_id;
    NlTime t = nl_event_now(w->q);
    nl_tcp_send(p.client, "msg", 3, 0);
    run_for(w, 100 * NL_MS);
    r->delay[i] = first_bob_packet(w, before) - t;
    nl_tcp_recv(p.server, sink, sizeof sink, 0);
  }
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_delayed_ack_after_quickacks(void **state) {
  DelackResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(34, 10 * NL_MS, scenario_delack, &r1, &r2);
  /* Linux: the first data starts quick-ACK mode (16 immediate ACKs, the
   * window allowing); after that an ACK waits TCP_DELACK_MIN. */
  for (int i = 0; i < NMSG; i++)
    assert_int_equal(r1.delay[i], 10 * NL_MS + (i < 16 ? 0 : NL_TCP_DELACK));
}

/* ---- interactive exchange: ACKs ride on the replies -------------------- */

typedef struct {
  int pure_acks; /* ACK-only packets bob sent during the exchange */
  int replies;
} PingResult;

static void scenario_pingpong(Wire *w, void *res) {
  PingResult *r = res;
  Pair p;
  pair_open(w, &p, 9003);
  set_int(p.client, IPPROTO_TCP, TCP_NODELAY, 1);
  set_int(p.server, IPPROTO_TCP, TCP_NODELAY, 1);
  run_for(w, 1 * NL_S);
  uint64_t before = w->pkt_id;
  char b[64];
  for (int i = 0; i < 30; i++) {
    nl_tcp_send(p.client, "ping", 4, 0);
    run_for(w, 15 * NL_MS); /* request arrives after 10 ms */
    if (nl_tcp_recv(p.server, b, sizeof b, 0) == 4) {
      nl_tcp_send(p.server, "pong", 4, 0); /* reply within 40 ms */
      r->replies++;
    }
    run_for(w, 85 * NL_MS);
    nl_tcp_recv(p.client, b, sizeof b, 0);
  }
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != NL_TRACE_PKT_SEND || rec->id <= before ||
        rec->node != w->h[1].node)
      continue;
    NlIp4Header ip;
    NlTcpHeader th;
    if (nl_ip4_parse(payload, rec->len, &ip) == NULL &&
        nl_tcp4_parse(payload, rec->len, &ip, &th) == NULL &&
        ip.total_len == ip.ihl_bytes + th.hdr_bytes)
      r->pure_acks++;
  }
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_interactive_acks_ride_on_replies(void **state) {
  PingResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(35, 10 * NL_MS, scenario_pingpong, &r1, &r2);
  assert_int_equal(r1.replies, 30);
  /* Only the first request is ACKed on its own (quick ACK); the reply to
   * it puts bob in pingpong mode and later ACKs go with the replies. */
  assert_int_equal(r1.pure_acks, 1);
}

/* ---- Nagle meets delayed ACK: the classic 40 ms stall ----------------- */

#define ROUNDS 20

typedef struct {
  NlTime latency[2][ROUNDS]; /* [nodelay][round]: first write to reply */
} StallAckResult;

static void rounds(Wire *w, uint16_t port, gboolean nodelay, NlTime *lat) {
  Pair p;
  pair_open(w, &p, port);
  if (nodelay)
    set_int(p.client, IPPROTO_TCP, TCP_NODELAY, 1);
  run_for(w, 1 * NL_S);
  char b[16];
  for (int i = 0; i < ROUNDS; i++) {
    NlTime t0 = nl_event_now(w->q);
    /* A request written in two parts (header, then body): the bug. */
    nl_tcp_send(p.client, "HEAD", 4, 0);
    nl_tcp_send(p.client, "BODY", 4, 0);
    gboolean replied = FALSE;
    while (!replied) {
      run_for(w, 1 * NL_MS);
      if (nl_tcp_readable(p.server) >= 8) {
        nl_tcp_recv(p.server, b, 8, 0);
        nl_tcp_send(p.server, "OK", 2, 0);
      }
      if (nl_tcp_recv(p.client, b, sizeof b, 0) == 2)
        replied = TRUE;
    }
    lat[i] = nl_event_now(w->q) - t0;
    run_for(w, 100 * NL_MS);
  }
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void scenario_nagle_delack(Wire *w, void *res) {
  StallAckResult *r = res;
  rounds(w, 9005, FALSE, r->latency[0]);
  rounds(w, 9006, TRUE, r->latency[1]);
}

static void test_tcp_nagle_with_delayed_ack_stalls_40ms(void **state) {
  StallAckResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(37, 10 * NL_MS, scenario_nagle_delack, &r1, &r2);
  /* With TCP_NODELAY every round takes one RTT (20 ms). */
  for (int i = 0; i < ROUNDS; i++)
    assert_int_equal(r1.latency[1][i], 20 * NL_MS);
  /* With Nagle the body waits for the ACK of the header: one RTT more
   * even while the server still ACKs at once (quick-ACK mode)... */
  assert_int_equal(r1.latency[0][0], 2 * 20 * NL_MS);
  /* ...and once the server is in pingpong mode (it answered promptly),
   * that ACK is delayed by TCP_DELACK_MIN as well: 80 ms a round. */
  for (int i = 1; i < ROUNDS; i++)
    assert_int_equal(r1.latency[0][i], 2 * 20 * NL_MS + NL_TCP_DELACK);
}

/* ---- RTT samples from timestamps (RFC 7323 §4.3, RFC 6298 §5) --------- */

typedef struct {
  NlTime first_gap, second_gap;
  size_t got;
} RecoverResult;

/* bob's SYN-ACK is lost (so the handshake gives no RTT sample from
 * timing), and so is bob's first data segment (its retransmission gives
 * none either, by Karn's rule).  The ACKs that follow acknowledge new
 * data and echo bob's timestamps: each is an RTT sample (RFC 7323 §4.3),
 * from which the RTO is computed again (RFC 6298 §2, §5), as Linux's
 * tcp_ack_update_rtt does.  A later loss is then retransmitted after
 * about one RTO of a 100 ms path, not after the backed-off seconds. */
static void scenario_rto_recovers(Wire *w, void *res) {
  RecoverResult *r = res;
  Pair p;
  w->drop_next[1] = 1; /* the SYN-ACK */
  pair_open(w, &p, 9002);
  char buf[1000];
  memset(buf, 'x', sizeof buf);
  for (int round = 0; round < 2; round++) {
    run_for(w, 2 * NL_S);
    w->drop_next[1] = 1;
    NlTime sent = nl_event_now(w->q);
    assert_int_equal(nl_tcp_send(p.server, buf, sizeof buf, 0), 1000);
    run_for(w, 30 * NL_S);
    NlTime again = nth_time(w, w->h[1].node, "retransmit seq=", round);
    assert_true(again > 0);
    if (round == 0)
      r->first_gap = again - sent;
    else
      r->second_gap = again - sent;
  }
  int err;
  char in[4096];
  ssize_t n;
  while ((n = nl_tcp_recv(p.client, in, sizeof in, 0)) > 0)
    r->got += (size_t)n;
  (void)err;
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
}

static void test_tcp_rto_recomputed_from_timestamp_samples(void **state) {
  RecoverResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(33, 50 * NL_MS, scenario_rto_recovers, &r1, &r2);
  assert_int_equal(r1.got, 2000);
  /* The handshake's final ACK echoes the retransmitted SYN-ACK's TSval:
   * one 100 ms sample, RTO = 100 ms + max(4 * 50 ms, 200 ms). */
  assert_int_equal(r1.first_gap, 300 * NL_MS);
  /* More samples since: still well under a second (it was 4 s). */
  assert_true(r1.second_gap >= NL_TCP_RTO_MIN);
  assert_true(r1.second_gap < 500 * NL_MS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_keepalive_detects_dead_peer),
      cmocka_unit_test(test_tcp_data_retries_then_etimedout),
      cmocka_unit_test(test_tcp_user_timeout_bounds_retries),
      cmocka_unit_test(test_tcp_orphan_gives_up_after_orphan_retries),
      cmocka_unit_test(test_tcp_delayed_ack_after_quickacks),
      cmocka_unit_test(test_tcp_interactive_acks_ride_on_replies),
    cmocka_unit_test(test_tcp_nagle_with_delayed_ack_stalls_40ms),
      cmocka_unit_test(test_tcp_rto_recomputed_from_timestamp_samples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
