/* Mapping lifetime and refresh at the nanosecond boundary: RFC 4787 §4.3
 * (REQ-5, REQ-6), RFC 5382 REQ-5, RFC 5508 REQ-1.  A mapping used at T
 * with timeout D is alive at T+D-1ns and gone at T+D+1ns, and its
 * "expire" record is written at exactly T+D. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

#define T0 (5 * NL_S)

typedef enum { KIND_UDP, KIND_TCP_SYN, KIND_TCP_EST, KIND_ICMP } Kind;

typedef struct {
  const char *name;
  Kind kind;
  NlTime timeout;
} Row;

static const Row rows[] = {
    {"udp default 120s (RFC 4787 REQ-5)", KIND_UDP, 120 * NL_S},
    {"tcp transitory 240s (RFC 5382)", KIND_TCP_SYN, 240 * NL_S},
    {"tcp established 7440s (RFC 5382 REQ-5)", KIND_TCP_EST, 7440 * NL_S},
    {"icmp 60s (RFC 5508 REQ-1)", KIND_ICMP, 60 * NL_S},
};

static const uint32_t H = 0x0a000005;   /* 10.0.0.5 */
static const uint32_t S = 0xc000020a;   /* 192.0.2.10 */
static const uint32_t E = 0xcb007101;   /* 203.0.113.1 */

/* Opens the flow of @kind from H to S (leaving it in @kind's state at
 * T0), returning the external port. */
static uint16_t open_flow(Env *env, Kind kind) {
  Seen s = {0};
  switch (kind) {
    case KIND_UDP:
      assert_int_equal(env_udp(env, NL_NAT_OUTBOUND, H, 5000, S, 3478, &s),
                       NL_NAT_PASS);
      break;
    case KIND_TCP_SYN:
      assert_int_equal(
          env_tcp(env, NL_NAT_OUTBOUND, H, 5000, S, 80, NL_TCP_SYN, &s),
          NL_NAT_PASS);
      break;
    case KIND_TCP_EST:
      assert_int_equal(
          env_tcp(env, NL_NAT_OUTBOUND, H, 5000, S, 80, NL_TCP_SYN, &s),
          NL_NAT_PASS);
      assert_int_equal(env_tcp(env, NL_NAT_INBOUND, S, 80, E, s.sport,
                               NL_TCP_SYN | NL_TCP_ACK, NULL),
                       NL_NAT_PASS);
      break;
    case KIND_ICMP:
      env->len = build_echo(env->pkt, H, S, NL_ICMP_ECHO_REQUEST, 77);
      assert_int_equal(env_process(env, NL_NAT_OUTBOUND), NL_NAT_PASS);
      s = seen_checked(env->pkt, env->len);
      break;
  }
  return s.sport;
}

/* An inbound packet of @kind towards @port at the current time. */
static NlNatVerdict probe(Env *env, Kind kind, uint16_t port) {
  switch (kind) {
    case KIND_UDP:
      return env_udp(env, NL_NAT_INBOUND, S, 3478, E, port, NULL);
    case KIND_TCP_SYN:
    case KIND_TCP_EST:
      return env_tcp(env, NL_NAT_INBOUND, S, 80, E, port, NL_TCP_ACK, NULL);
    case KIND_ICMP:
      env->len = build_echo(env->pkt, S, E, NL_ICMP_ECHO_REPLY, port);
      return env_process(env, NL_NAT_INBOUND);
  }
  return NL_NAT_DROP;
}

/* Time of the first "expire" record, or -1. */
static NlTime expire_time(const Env *env) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, env->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_NAT_MAP && rec->aux == NL_NAT_MAP_EXPIRE)
      return rec->time;
  return -1;
}

/* Inbound refresh is off so the probe itself does not move the boundary. */
static NlNatBehaviour no_inbound_refresh(void) {
  return behaviour("full-cone", "inbound-refresh", "off", NULL);
}

static void test_nat_rfc4787_req5_timeout_boundary_per_protocol(void **state) {
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    NlNatBehaviour b = no_inbound_refresh();
    for (int after = 0; after < 2; after++) {
      Env env;
      env_init(&env, &b);
      env_at(&env, T0);
      uint16_t port = open_flow(&env, rows[i].kind);
      NlTime edge = T0 + rows[i].timeout;
      /* testcase: one ns before passes, one after is gone. */
      env_at(&env, after ? edge + 1 : edge - 1);
      NlNatVerdict v = probe(&env, rows[i].kind, port);
      if (after) {
        if (v != NL_NAT_DROP)
          fail_msg("%s: passed after the timeout", rows[i].name);
        assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
        /* The expiry was recorded at exactly T0 + D, by the event. */
        assert_int_equal(expire_time(&env), edge);
      } else {
        if (v != NL_NAT_PASS)
          fail_msg("%s: dropped before the timeout (%s)", rows[i].name,
                   nl_drop_reason_name(env.why));
        assert_int_equal(expire_time(&env), -1);
      }
      env_free(&env);
    }
  }
}

/* The event alone (no packet) writes the expiry at T0 + D. */
static void test_nat_expiry_record_written_at_expiry_time(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("full-cone", "udp-timeout", "30s", NULL);
  env_init(&env, &b);
  env_at(&env, T0);
  open_flow(&env, KIND_UDP);
  nl_event_run(env.q);
  assert_int_equal(nl_event_now(env.q), T0 + 30 * NL_S);
  GString *recs = env_map_records(&env);
  assert_string_equal(recs->str,
                      "5.000000000 new UDP 10.0.0.5:5000 -> 203.0.113.1:5000 "
                      "(for 192.0.2.10:3478)\n"
                      "35.000000000 expire UDP 10.0.0.5:5000 -> "
                      "203.0.113.1:5000 (idle)\n");
  g_string_free(recs, TRUE);
  NlNatCounters c;
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, 0);
  assert_int_equal(c.mappings_expired, 1);
  env_free(&env);
}

/* RFC 4787 REQ-6: outbound packets refresh; the boundary moves to the last
 * outbound packet + D. */
static void test_nat_rfc4787_req6_outbound_refresh(void **state) {
  for (int after = 0; after < 2; after++) {
    Env env;
    NlNatBehaviour b = no_inbound_refresh();
    env_init(&env, &b);
    env_at(&env, T0);
    uint16_t port = open_flow(&env, KIND_UDP);
    env_at(&env, T0 + 100 * NL_S);
    open_flow(&env, KIND_UDP);
    NlTime edge = T0 + 100 * NL_S + 120 * NL_S;
    env_at(&env, after ? edge + 1 : edge - 1);
    assert_int_equal(probe(&env, KIND_UDP, port),
                     after ? NL_NAT_DROP : NL_NAT_PASS);
    assert_int_equal(env_count_records(&env, NL_NAT_MAP_REFRESH), 1);
    assert_int_equal(expire_time(&env), after ? edge : -1);
    env_free(&env);
  }
}

/* And with outbound refresh off (a broken device), it does not. */
static void test_nat_rfc4787_req6_outbound_refresh_off(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("full-cone", "outbound-refresh", "off",
                               "inbound-refresh", "off", NULL);
  env_init(&env, &b);
  env_at(&env, T0);
  uint16_t port = open_flow(&env, KIND_UDP);
  env_at(&env, T0 + 100 * NL_S);
  open_flow(&env, KIND_UDP);
  env_at(&env, T0 + 120 * NL_S + 1);
  assert_int_equal(probe(&env, KIND_UDP, port), NL_NAT_DROP);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_REFRESH), 0);
  env_free(&env);
}

/* RFC 4787 §4.3: inbound refresh on and off, at the boundary. */
static void test_nat_rfc4787_s4_3_inbound_refresh(void **state) {
  static const struct {
    const char *inbound_refresh;
    NlTime probe_at;
    NlNatVerdict want;
  } cases[] = {
      /* on: the inbound packet at T0+100 s moved the edge to T0+220 s */
      {"on", T0 + 220 * NL_S - 1, NL_NAT_PASS},
      {"on", T0 + 220 * NL_S + 1, NL_NAT_DROP},
      /* off: the edge stays at T0+120 s */
      {"off", T0 + 120 * NL_S - 1, NL_NAT_PASS},
      {"off", T0 + 120 * NL_S + 1, NL_NAT_DROP},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    Env env;
    NlNatBehaviour b = behaviour("full-cone", "inbound-refresh",
                                 cases[i].inbound_refresh, NULL);
    env_init(&env, &b);
    env_at(&env, T0);
    uint16_t port = open_flow(&env, KIND_UDP);
    env_at(&env, T0 + 100 * NL_S);
    assert_int_equal(probe(&env, KIND_UDP, port), NL_NAT_PASS);
    env_at(&env, cases[i].probe_at);
    /* An outbound packet cannot be used here: it would refresh. */
    assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3478, E, port, NULL),
                     cases[i].want);
    env_free(&env);
  }
}

/* Refresh records: at most one per second per mapping, and only when the
 * lifetime grows; the lifetime itself is extended by every packet. */
static void test_nat_refresh_recorded_once_per_second(void **state) {
  Env env;
  NlNatBehaviour b = no_inbound_refresh();
  env_init(&env, &b);
  env_at(&env, T0);
  uint16_t port = open_flow(&env, KIND_UDP);
  /* 30 packets, 100 ms apart: 3 s of traffic. */
  for (int k = 1; k <= 30; k++) {
    env_at(&env, T0 + k * 100 * NL_MS);
    open_flow(&env, KIND_UDP);
  }
  /* Refreshes recorded at T0+1s, +2s, +3s. */
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_REFRESH), 3);
  GString *recs = env_map_records(&env);
  assert_non_null(strstr(recs->str,
                         "6.000000000 refresh UDP 10.0.0.5:5000 -> "
                         "203.0.113.1:5000 (outbound, until 126.000000000)"));
  g_string_free(recs, TRUE);
  /* The last packet (T0+3s) sets the edge, not the last record. */
  env_at(&env, T0 + 3 * NL_S + 120 * NL_S - 1);
  assert_int_equal(probe(&env, KIND_UDP, port), NL_NAT_PASS);
  env_free(&env);
}

/* Timeouts are data: a 500 ms UDP timeout expires at 500 ms. */
static void test_nat_udp_timeout_configurable(void **state) {
  for (int after = 0; after < 2; after++) {
    Env env;
    NlNatBehaviour b = behaviour("full-cone", "udp-timeout", "500ms",
                                 "inbound-refresh", "no", NULL);
    env_init(&env, &b);
    env_at(&env, T0);
    uint16_t port = open_flow(&env, KIND_UDP);
    env_at(&env, T0 + 500 * NL_MS + (after ? 1 : -1));
    assert_int_equal(probe(&env, KIND_UDP, port),
                     after ? NL_NAT_DROP : NL_NAT_PASS);
    env_free(&env);
  }
}

/* One event for the whole table, never one per packet or per mapping. */
static void test_nat_expiry_uses_one_event(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("symmetric", NULL);
  env_init(&env, &b);
  env_at(&env, T0);
  for (int k = 0; k < 200; k++) {
    env_at(&env, T0 + k * NL_MS);
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S,
                             (uint16_t)(1000 + k), NULL),
                     NL_NAT_PASS);
    assert_int_equal(nl_event_queue_size(env.q), 1);
  }
  /* Expiries come out in creation order, each at its own time. */
  nl_event_run(env.q);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_EXPIRE), 200);
  assert_int_equal(nl_event_now(env.q), T0 + 199 * NL_MS + 120 * NL_S);
  env_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_rfc4787_req5_timeout_boundary_per_protocol),
      cmocka_unit_test(test_nat_expiry_record_written_at_expiry_time),
      cmocka_unit_test(test_nat_rfc4787_req6_outbound_refresh),
      cmocka_unit_test(test_nat_rfc4787_req6_outbound_refresh_off),
      cmocka_unit_test(test_nat_rfc4787_s4_3_inbound_refresh),
      cmocka_unit_test(test_nat_refresh_recorded_once_per_second),
      cmocka_unit_test(test_nat_udp_timeout_configurable),
      cmocka_unit_test(test_nat_expiry_uses_one_event),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
