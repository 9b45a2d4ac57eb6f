/* TCP engine: TIME_WAIT — its length, what it does to bind() with and
 * without SO_REUSEADDR (Linux semantics), re-ACKing a retransmitted FIN,
 * and a newer SYN taking the connection over. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-tcp-harness.h"

/* The server (bob:@port) closes first, so its side waits in TIME_WAIT;
 * the listener is closed too, as when a server process exits. */
static void server_closes_first(Wire *w, uint16_t port, gboolean reuse) {
  User lu = {0}, su = {0}, cu = {0};
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, &lu);
  int one = 1;
  if (reuse)
    nl_tcp_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, port), 0);
  assert_int_equal(nl_tcp_listen(l, 8), 0);
  NlTcpSock *c = nl_tcp_socket(w->h[0].st, &cu);
  assert_int_equal(nl_tcp_connect(c, ADDR_B, port), -EINPROGRESS);
  run_for(w, 100 * NL_MS);
  int err;
  NlTcpSock *s = nl_tcp_accept(l, &su, &err);
  assert_non_null(s);
  nl_tcp_close(s);
  run_for(w, 100 * NL_MS);
  nl_tcp_close(c);
  nl_tcp_close(l);
  run_for(w, 100 * NL_MS);
}

static int try_bind(Wire *w, uint16_t port, gboolean reuse) {
  NlTcpSock *n = nl_tcp_socket(w->h[1].st, NULL);
  int one = 1;
  if (reuse)
    nl_tcp_setsockopt(n, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int r = nl_tcp_bind(n, INADDR_ANY, port);
  nl_tcp_close(n);
  return r;
}

typedef struct {
  int plain, both, only_new, after_expiry, listener_blocks;
  char *bob_tw;
} BindResult;

static void scenario_bind(Wire *w, void *res) {
  BindResult *r = res;
  /* A server without SO_REUSEADDR restarted without it. */
  server_closes_first(w, 8000, FALSE);
  r->plain = try_bind(w, 8000, FALSE);
  /* Only the new socket sets it: Linux still refuses, because the
   * TIME_WAIT socket inherited "no reuse" from the old one. */
  r->only_new = try_bind(w, 8000, TRUE);
  /* The usual server: SO_REUSEADDR in every run. */
  server_closes_first(w, 8001, TRUE);
  r->both = try_bind(w, 8001, TRUE);
  r->bob_tw = trace_states(w, w->h[1].node, "10.0.0.2:8000 >");
  /* TIME_WAIT ends after 60 s; then the port is free. */
  run_for(w, 60 * NL_S);
  r->after_expiry = try_bind(w, 8000, FALSE);
  /* A listener always blocks, SO_REUSEADDR or not. */
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, NULL);
  int one = 1;
  nl_tcp_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, 8002), 0);
  assert_int_equal(nl_tcp_listen(l, 1), 0);
  r->listener_blocks = try_bind(w, 8002, TRUE);
  nl_tcp_close(l);
}

static void test_tcp_bind_during_time_wait(void **state) {
  BindResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(21, 10 * NL_MS, scenario_bind, &r1, &r2);
  assert_string_equal(r1.bob_tw, "LISTEN -> SYN_RECEIVED; "
                                 "SYN_RECEIVED -> ESTABLISHED; "
                                 "ESTABLISHED -> FIN_WAIT_1; "
                                 "FIN_WAIT_1 -> FIN_WAIT_2; "
                                 "FIN_WAIT_2 -> TIME_WAIT");
  assert_int_equal(r1.plain, -EADDRINUSE);
  assert_int_equal(r1.only_new, -EADDRINUSE);
  assert_int_equal(r1.both, 0);
  assert_int_equal(r1.after_expiry, 0);
  assert_int_equal(r1.listener_blocks, -EADDRINUSE);
  g_free(r1.bob_tw);
  g_free(r2.bob_tw);
}

/* ---- the last ACK is lost: TIME_WAIT answers the FIN again ------------- */

typedef struct {
  char *alice, *bob;
  int fin_retransmits;
  NlTime tw_in, tw_out, bob_closed;
} LostAckResult;

static void scenario_lost_ack(Wire *w, void *res) {
  LostAckResult *r = res;
  Pair p;
  pair_open(w, &p, 8003);
  nl_tcp_close(p.client);
  run_for(w, 100 * NL_MS);
  w->drop_next[0] = 1; /* alice's ACK of bob's FIN */
  nl_tcp_close(p.server);
  run_for(w, 70 * NL_S);
  r->alice = trace_states(w, w->h[0].node, "");
  r->bob = trace_states(w, w->h[1].node, "10.0.0.2:8003 >");
  r->fin_retransmits = count_states(w, w->h[1].node, "retransmit seq=");
  r->tw_in = trace_time_of(w, w->h[0].node, "-> TIME_WAIT");
  r->tw_out = trace_time_of(w, w->h[0].node, "TIME_WAIT -> CLOSED");
  r->bob_closed = trace_time_of(w, w->h[1].node, "LAST_ACK -> CLOSED");
  nl_tcp_close(p.listener);
}

static void test_tcp_time_wait_reacks_retransmitted_fin(void **state) {
  LostAckResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(22, 10 * NL_MS, scenario_lost_ack, &r1, &r2);
  assert_int_equal(r1.fin_retransmits, 1);
  assert_true(r1.bob_closed > r1.tw_in);
  /* The retransmitted FIN restarted the 60 s. */
  assert_int_equal(r1.tw_out, r1.bob_closed - 10 * NL_MS + 60 * NL_S);
  assert_string_equal(r1.bob, "LISTEN -> SYN_RECEIVED; "
                              "SYN_RECEIVED -> ESTABLISHED; "
                              "ESTABLISHED -> CLOSE_WAIT; "
                              "CLOSE_WAIT -> LAST_ACK; LAST_ACK -> CLOSED");
  g_free(r1.alice);
  g_free(r1.bob);
  g_free(r2.alice);
  g_free(r2.bob);
}

/* ---- a new SYN for the same 4-tuple ends TIME_WAIT --------------------- */

typedef struct {
  int connect2;
  NlTcpState state2;
  ssize_t got;
} ReuseResult;

static void scenario_syn_reuse(Wire *w, void *res) {
  ReuseResult *r = res;
  User lu = {0}, su = {0}, cu = {0}, cu2 = {0};
  int one = 1, err;
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, &lu);
  nl_tcp_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, 8004), 0);
  assert_int_equal(nl_tcp_listen(l, 8), 0);
  NlTcpSock *c = nl_tcp_socket(w->h[0].st, &cu);
  nl_tcp_setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  assert_int_equal(nl_tcp_bind(c, ADDR_A, 40000), 0);
  nl_tcp_connect(c, ADDR_B, 8004);
  run_for(w, 100 * NL_MS);
  NlTcpSock *s = nl_tcp_accept(l, &su, &err);
  assert_non_null(s);
  nl_tcp_close(s); /* bob's side ends in TIME_WAIT */
  run_for(w, 100 * NL_MS);
  nl_tcp_close(c);
  run_for(w, 5 * NL_S);
  /* The same client port again, while bob still holds TIME_WAIT. */
  NlTcpSock *c2 = nl_tcp_socket(w->h[0].st, &cu2);
  nl_tcp_setsockopt(c2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  assert_int_equal(nl_tcp_bind(c2, ADDR_A, 40000), 0);
  nl_tcp_connect(c2, ADDR_B, 8004);
  run_for(w, 100 * NL_MS);
  r->connect2 = nl_tcp_connect(c2, ADDR_B, 8004);
  r->state2 = nl_tcp_state(c2);
  NlTcpSock *s2 = nl_tcp_accept(l, NULL, &err);
  assert_non_null(s2);
  nl_tcp_send(c2, "again", 5, 0);
  run_for(w, 100 * NL_MS);
  char b[8];
  r->got = nl_tcp_recv(s2, b, sizeof b, 0);
  nl_tcp_close(s2);
  nl_tcp_close(c2);
  nl_tcp_close(l);
  run_for(w, 1 * NL_S);
}

static void test_tcp_new_syn_takes_over_time_wait(void **state) {
  ReuseResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(23, 10 * NL_MS, scenario_syn_reuse, &r1, &r2);
  assert_int_equal(r1.connect2, 0);
  assert_int_equal(r1.state2, NL_TCP_ESTABLISHED);
  assert_int_equal(r1.got, 5);
}

/* ---- SO_REUSEPORT: two listeners share a port and its connections ---- */

typedef struct {
  int bind_plain, bind_second, listen_second;
  int accepted[2];
} ReusePortResult;

static void scenario_reuseport(Wire *w, void *res) {
  ReusePortResult *r = res;
  int one = 1;
  NlTcpSock *l[2];
  for (int i = 0; i < 2; i++) {
    l[i] = nl_tcp_socket(w->h[1].st, NULL);
    nl_tcp_setsockopt(l[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  assert_int_equal(nl_tcp_bind(l[0], INADDR_ANY, 8005), 0);
  assert_int_equal(nl_tcp_listen(l[0], 16), 0);
  NlTcpSock *plain = nl_tcp_socket(w->h[1].st, NULL);
  r->bind_plain = nl_tcp_bind(plain, INADDR_ANY, 8005);
  nl_tcp_close(plain);
  r->bind_second = nl_tcp_bind(l[1], INADDR_ANY, 8005);
  r->listen_second = nl_tcp_listen(l[1], 16);
  NlTcpSock *c[16];
  for (int i = 0; i < 16; i++) {
    c[i] = nl_tcp_socket(w->h[0].st, NULL);
    nl_tcp_connect(c[i], ADDR_B, 8005);
  }
  run_for(w, 100 * NL_MS);
  for (int i = 0; i < 2; i++) {
    int err;
    NlTcpSock *a;
    while ((a = nl_tcp_accept(l[i], NULL, &err)) != NULL) {
      r->accepted[i]++;
      nl_tcp_close(a);
    }
  }
  for (int i = 0; i < 16; i++)
    nl_tcp_close(c[i]);
  for (int i = 0; i < 2; i++)
    nl_tcp_close(l[i]);
  run_for(w, 100 * NL_S);
}

static void test_tcp_reuseport_listeners_share_connections(void **state) {
  ReusePortResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(24, 10 * NL_MS, scenario_reuseport, &r1, &r2);
  assert_int_equal(r1.bind_plain, -EADDRINUSE);
  assert_int_equal(r1.bind_second, 0);
  assert_int_equal(r1.listen_second, 0);
  assert_int_equal(r1.accepted[0] + r1.accepted[1], 16);
  assert_true(r1.accepted[0] > 0 && r1.accepted[1] > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_bind_during_time_wait),
      cmocka_unit_test(test_tcp_time_wait_reacks_retransmitted_fin),
      cmocka_unit_test(test_tcp_new_syn_takes_over_time_wait),
      cmocka_unit_test(test_tcp_reuseport_listeners_share_connections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
