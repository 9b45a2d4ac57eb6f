/* TCP engine: opening and closing connections — state sequences read from
 * the trace, simultaneous open and close, refusals, timeouts, ICMP errors,
 * the listen backlog, and the immediate errors of the calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-tcp-harness.h"

#define ALL_BAD                                                                \
  (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP | POLLRDHUP)

/* ---- three-way handshake and orderly close ---------------------------- */

typedef struct {
  char *alice, *bob;
  NlTime tw_in, tw_out;
  guint socks_a, socks_b;
  int cu_notified;
  char buf[8];
  ssize_t got, eof;
} TeardownResult;

static void scenario_teardown(Wire *w, void *res) {
  TeardownResult *r = res;
  Pair p;
  pair_open(w, &p, 7);
  assert_int_equal(nl_tcp_send(p.client, "hi", 2, 0), 2);
  run_for(w, 100 * NL_MS);
  nl_tcp_close(p.client);
  run_for(w, 100 * NL_MS);
  r->got = nl_tcp_recv(p.server, r->buf, sizeof r->buf, 0);
  r->eof = nl_tcp_recv(p.server, r->buf + 2, sizeof r->buf - 2, 0);
  nl_tcp_close(p.server);
  run_for(w, 70 * NL_S);
  r->alice = trace_states(w, w->h[0].node, "");
  r->bob = trace_states(w, w->h[1].node, "");
  r->tw_in = trace_time_of(w, w->h[0].node, "-> TIME_WAIT");
  r->tw_out = trace_time_of(w, w->h[0].node, "TIME_WAIT -> CLOSED");
  r->socks_a = nl_tcp_stack_n_socks(w->h[0].st);
  r->socks_b = nl_tcp_stack_n_socks(w->h[1].st);
  r->cu_notified = p.cu.notified;
  nl_tcp_close(p.listener);
}

static void test_tcp_handshake_and_teardown_states(void **state) {
  TeardownResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(1, 10 * NL_MS, scenario_teardown, &r1, &r2);
  assert_string_equal(r1.alice,
                      "CLOSED -> SYN_SENT; SYN_SENT -> ESTABLISHED; "
                      "ESTABLISHED -> FIN_WAIT_1; FIN_WAIT_1 -> FIN_WAIT_2; "
                      "FIN_WAIT_2 -> TIME_WAIT; TIME_WAIT -> CLOSED");
  assert_string_equal(r1.bob,
                      "CLOSED -> LISTEN; LISTEN -> SYN_RECEIVED; "
                      "SYN_RECEIVED -> ESTABLISHED; "
                      "ESTABLISHED -> CLOSE_WAIT; CLOSE_WAIT -> LAST_ACK; "
                      "LAST_ACK -> CLOSED");
  assert_int_equal(r1.got, 2);
  assert_memory_equal(r1.buf, "hi", 2);
  assert_int_equal(r1.eof, 0);
  /* TIME_WAIT lasts TCP_TIMEWAIT_LEN, then the state is gone. */
  assert_true(r1.tw_in > 0);
  assert_int_equal(r1.tw_out - r1.tw_in, 60 * NL_S);
  assert_int_equal(r1.socks_a, 0);
  assert_int_equal(r1.socks_b, 1);
  assert_true(r1.cu_notified >= 1); /* connect completion was notified */
  g_free(r1.alice);
  g_free(r1.bob);
  g_free(r2.alice);
  g_free(r2.bob);
}

/* ---- simultaneous open (hole punching) and close ---------------------- */

typedef struct {
  char *alice, *bob;
  ssize_t got_a, got_b;
  char ba[8], bb[8];
  int ca, cb;
} SimulResult;

static void scenario_simultaneous(Wire *w, void *res) {
  SimulResult *r = res;
  User ua = {0}, ub = {0};
  NlTcpSock *a = nl_tcp_socket(w->h[0].st, &ua);
  NlTcpSock *b = nl_tcp_socket(w->h[1].st, &ub);
  assert_int_equal(nl_tcp_bind(a, ADDR_A, 5000), 0);
  assert_int_equal(nl_tcp_bind(b, ADDR_B, 6000), 0);
  assert_int_equal(nl_tcp_connect(a, ADDR_B, 6000), -EINPROGRESS);
  assert_int_equal(nl_tcp_connect(b, ADDR_A, 5000), -EINPROGRESS);
  run_for(w, 500 * NL_MS);
  r->ca = nl_tcp_connect(a, ADDR_B, 6000);
  r->cb = nl_tcp_connect(b, ADDR_A, 5000);
  assert_int_equal(nl_tcp_send(a, "ping", 4, 0), 4);
  assert_int_equal(nl_tcp_send(b, "pong", 4, 0), 4);
  run_for(w, 500 * NL_MS);
  r->got_a = nl_tcp_recv(a, r->ba, sizeof r->ba, 0);
  r->got_b = nl_tcp_recv(b, r->bb, sizeof r->bb, 0);
  /* Both close at once: FIN_WAIT_1 → CLOSING → TIME_WAIT on each side. */
  nl_tcp_close(a);
  nl_tcp_close(b);
  run_for(w, 61 * NL_S);
  r->alice = trace_states(w, w->h[0].node, "");
  r->bob = trace_states(w, w->h[1].node, "");
}

static void test_tcp_simultaneous_open_and_close(void **state) {
  SimulResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(2, 10 * NL_MS, scenario_simultaneous, &r1, &r2);
  const char *want = "CLOSED -> SYN_SENT; SYN_SENT -> SYN_RECEIVED; "
                     "SYN_RECEIVED -> ESTABLISHED; "
                     "ESTABLISHED -> FIN_WAIT_1; FIN_WAIT_1 -> CLOSING; "
                     "CLOSING -> TIME_WAIT; TIME_WAIT -> CLOSED";
  assert_string_equal(r1.alice, want);
  assert_string_equal(r1.bob, want);
  assert_int_equal(r1.ca, 0);
  assert_int_equal(r1.cb, 0);
  assert_int_equal(r1.got_a, 4);
  assert_memory_equal(r1.ba, "pong", 4);
  assert_int_equal(r1.got_b, 4);
  assert_memory_equal(r1.bb, "ping", 4);
  g_free(r1.alice);
  g_free(r1.bob);
  g_free(r2.alice);
  g_free(r2.bob);
}

/* ---- refused, timed out, unreachable ---------------------------------- */

typedef struct {
  int first, again, third;
  unsigned poll;
  int notified;
  int err_after;
  NlTime when;
} FailResult;

static void scenario_refused(Wire *w, void *res) {
  FailResult *r = res;
  User u = {0};
  NlTcpSock *c = nl_tcp_socket(w->h[0].st, &u);
  r->first = nl_tcp_connect(c, ADDR_B, 9);
  run_for(w, 1 * NL_S);
  r->poll = nl_tcp_poll(c);
  r->notified = u.notified;
  r->again = nl_tcp_connect(c, ADDR_B, 9);
  r->err_after = nl_tcp_take_error(c);
  r->third = nl_tcp_connect(c, ADDR_B, 9); /* a new attempt */
  run_for(w, 1 * NL_S);
  nl_tcp_close(c);
}

static void test_tcp_refused_gives_econnrefused(void **state) {
  FailResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(3, 10 * NL_MS, scenario_refused, &r1, &r2);
  assert_int_equal(r1.first, -EINPROGRESS);
  assert_int_equal(r1.poll, ALL_BAD);
  assert_true(r1.notified >= 1);
  assert_int_equal(r1.again, -ECONNREFUSED);
  assert_int_equal(r1.err_after, 0);
  assert_int_equal(r1.third, -EINPROGRESS);
}

static void scenario_syn_timeout(Wire *w, void *res) {
  FailResult *r = res;
  User u = {0};
  w->h[1].dead = TRUE;
  NlTcpSock *c = nl_tcp_socket(w->h[0].st, &u);
  r->first = nl_tcp_connect(c, ADDR_B, 80);
  run_for(w, 126 * NL_S);
  r->again = nl_tcp_connect(c, ADDR_B, 80); /* still trying */
  run_for(w, 2 * NL_S);
  r->when = trace_time_of(w, w->h[0].node, "SYN_SENT -> CLOSED");
  r->notified = count_states(w, w->h[0].node, "retransmit SYN");
  r->err_after = nl_tcp_take_error(c);
  nl_tcp_close(c);
}

static void test_tcp_syn_retries_then_etimedout(void **state) {
  FailResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(4, 10 * NL_MS, scenario_syn_timeout, &r1, &r2);
  assert_int_equal(r1.again, -EALREADY);
  /* tcp_syn_retries = 6: SYNs at 0, 1, 3, 7, 15, 31, 63 s; gives up at
   * 127 s. */
  assert_int_equal(r1.notified, 6);
  assert_int_equal(r1.when, 127 * NL_S);
  assert_int_equal(r1.err_after, ETIMEDOUT);
}

/* The last packet alice sent, from the trace. */
static size_t last_sent(Wire *w, guint8 *buf) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  size_t len = 0;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_PKT_SEND && rec->node == w->h[0].node) {
      memcpy(buf, payload, rec->len);
      len = rec->len;
    }
  return len;
}

static void scenario_icmp(Wire *w, void *res) {
  FailResult *r = res;
  static const guint8 codes[2] = {NL_ICMP_PORT_UNREACH, NL_ICMP_HOST_UNREACH};
  w->h[1].dead = TRUE;
  for (int i = 0; i < 2; i++) {
    User u = {0};
    NlTcpSock *c = nl_tcp_socket(w->h[0].st, &u);
    assert_int_equal(nl_tcp_connect(c, ADDR_B, 80), -EINPROGRESS);
    guint8 syn[2048], icmp[NL_ICMP_ERROR_MAX];
    size_t n = last_sent(w, syn);
    size_t m = nl_icmp4_build_error(icmp, ADDR_B, NL_ICMP_DEST_UNREACH,
                                    codes[i], 0, syn, n, 1);
    run_for(w, 10 * NL_MS);
    nl_tcp_icmp_input(w->h[0].st, icmp, m);
    if (i == 0)
      r->first = nl_tcp_connect(c, ADDR_B, 80);
    else
      r->again = nl_tcp_connect(c, ADDR_B, 80);
    nl_tcp_close(c);
  }
}

static void test_tcp_icmp_unreachable_fails_connect(void **state) {
  FailResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(5, 10 * NL_MS, scenario_icmp, &r1, &r2);
  assert_int_equal(r1.first, -ECONNREFUSED);
  assert_int_equal(r1.again, -EHOSTUNREACH);
}

/* ---- listen backlog --------------------------------------------------- */

typedef struct {
  int established_early, established_late;
  int dropped;
} BacklogResult;

static void scenario_backlog(Wire *w, void *res) {
  BacklogResult *r = res;
  User lu = {0}, us[3] = {{0}};
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, &lu);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, 80), 0);
  assert_int_equal(nl_tcp_listen(l, 1), 0); /* room for 2, as Linux */
  NlTcpSock *c[3];
  for (int i = 0; i < 3; i++) {
    c[i] = nl_tcp_socket(w->h[0].st, &us[i]);
    assert_int_equal(nl_tcp_connect(c[i], ADDR_B, 80), -EINPROGRESS);
    run_for(w, 100 * NL_MS);
  }
  for (int i = 0; i < 3; i++)
    r->established_early += nl_tcp_state(c[i]) == NL_TCP_ESTABLISHED;
  r->dropped = count_states(w, w->h[1].node, "accept queue full");
  int err;
  NlTcpSock *a = nl_tcp_accept(l, NULL, &err);
  assert_non_null(a);
  run_for(w, 3 * NL_S); /* the third client's SYN retry gets in */
  for (int i = 0; i < 3; i++)
    r->established_late += nl_tcp_state(c[i]) == NL_TCP_ESTABLISHED;
  nl_tcp_close(a);
  for (int i = 0; i < 3; i++)
    nl_tcp_close(c[i]);
  nl_tcp_close(l);
  run_for(w, 1 * NL_S);
}

static void test_tcp_backlog_full_drops_syn(void **state) {
  BacklogResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(6, 10 * NL_MS, scenario_backlog, &r1, &r2);
  assert_int_equal(r1.established_early, 2);
  assert_true(r1.dropped >= 1);
  assert_int_equal(r1.established_late, 3);
}

/* ---- immediate errors ------------------------------------------------- */

typedef struct {
  int netunreach, addrnotavail, isconn, einval_bind, accept_err;
  int peer_err, send_err, recv_err, sock_err, listen_bind;
  unsigned fresh_poll, est_poll, listen_poll;
  uint16_t port;
  uint32_t peer;
} ErrResult;

static void scenario_errors(Wire *w, void *res) {
  ErrResult *r = res;
  NlTcpStack *st = w->h[0].st;
  NlTcpSock *s = nl_tcp_socket(st, NULL);
  r->fresh_poll = nl_tcp_poll(s);
  r->send_err = (int)nl_tcp_send(s, "x", 1, 0);
  char c;
  r->recv_err = (int)nl_tcp_recv(s, &c, 1, 0);
  uint32_t a;
  uint16_t p;
  r->peer_err = nl_tcp_getpeername(s, &a, &p);
  r->netunreach = nl_tcp_connect(s, 0xc0000201u, 80);
  r->addrnotavail = nl_tcp_bind(s, ADDR_B, 80);
  assert_int_equal(nl_tcp_bind(s, ADDR_A, 0), 0);
  r->einval_bind = nl_tcp_bind(s, ADDR_A, 0);
  nl_tcp_getsockname(s, NULL, &r->port);
  nl_tcp_close(s);

  NlTcpSock *l = nl_tcp_socket(w->h[1].st, NULL);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, 80), 0);
  assert_int_equal(nl_tcp_listen(l, 4), 0);
  int err;
  assert_null(nl_tcp_accept(l, NULL, &err));
  r->accept_err = err;
  NlTcpSock *l2 = nl_tcp_socket(w->h[1].st, NULL);
  int one = 1;
  nl_tcp_setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  r->listen_bind = nl_tcp_bind(l2, INADDR_ANY, 80);
  nl_tcp_close(l2);
  Pair pr;
  nl_tcp_close(l);
  pair_open(w, &pr, 81);
  r->est_poll = nl_tcp_poll(pr.client);
  r->listen_poll = nl_tcp_poll(pr.listener);
  r->isconn = nl_tcp_connect(pr.client, ADDR_B, 81);
  nl_tcp_getpeername(pr.server, &r->peer, NULL);
  r->sock_err = nl_tcp_take_error(pr.client);
  nl_tcp_close(pr.client);
  nl_tcp_close(pr.server);
  nl_tcp_close(pr.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_calls_give_linux_errors(void **state) {
  ErrResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(7, 10 * NL_MS, scenario_errors, &r1, &r2);
  /* Values measured with a Python client on Linux 6.x over 127.0.0.1. */
  assert_int_equal(r1.fresh_poll, POLLOUT | POLLWRNORM | POLLHUP);
  assert_int_equal(r1.send_err, -EPIPE);
  assert_int_equal(r1.recv_err, -ENOTCONN);
  assert_int_equal(r1.peer_err, -ENOTCONN);
  assert_int_equal(r1.netunreach, -ENETUNREACH);
  assert_int_equal(r1.addrnotavail, -EADDRNOTAVAIL);
  assert_int_equal(r1.einval_bind, -EINVAL);
  assert_true(r1.port >= NL_TCP_EPHEMERAL_LO && r1.port <= NL_TCP_EPHEMERAL_HI);
  assert_int_equal(r1.accept_err, -EAGAIN);
  assert_int_equal(r1.listen_bind, -EADDRINUSE);
  assert_int_equal(r1.est_poll, POLLOUT | POLLWRNORM);
  assert_int_equal(r1.listen_poll, 0);
  assert_int_equal(r1.isconn, -EISCONN);
  assert_int_equal(r1.peer, ADDR_A);
  assert_int_equal(r1.sock_err, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_handshake_and_teardown_states),
      cmocka_unit_test(test_tcp_simultaneous_open_and_close),
      cmocka_unit_test(test_tcp_refused_gives_econnrefused),
      cmocka_unit_test(test_tcp_syn_retries_then_etimedout),
      cmocka_unit_test(test_tcp_icmp_unreachable_fails_connect),
      cmocka_unit_test(test_tcp_backlog_full_drops_syn),
      cmocka_unit_test(test_tcp_calls_give_linux_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
