/* TCP through the NAT, RFC 5382: mappings follow SYN/FIN/RST, unsolicited
 * SYNs are dropped, simultaneous open passes an endpoint-independent NAT,
 * and the transitory and established timeouts apply at the boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static const uint32_t H = 0x0a000005;  /* 10.0.0.5 */
static const uint32_t R = 0xc000020a;  /* 192.0.2.10 */
static const uint32_t R2 = 0xc6336414; /* 198.51.100.20 */
static const uint32_t E = 0xcb007101;  /* 203.0.113.1 */

#define SYN NL_TCP_SYN
#define ACK NL_TCP_ACK
#define FIN NL_TCP_FIN
#define RST NL_TCP_RST

/* RFC 5382 REQ-4: an unsolicited inbound SYN is dropped, on every
 * translating preset (and by the firewall, as FIREWALL). */
static void test_nat_rfc5382_req4_unsolicited_syn_dropped(void **state) {
  for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_preset(i);
    Env env;
    env_init(&env, b);
    uint32_t dst = b->translate ? E : H;
    assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, R, 40000, dst, 22, SYN,
                             NULL),
                     NL_NAT_DROP);
    assert_int_equal(env.why, b->translate ? NL_DROP_NAT_NO_MAPPING
                                           : NL_DROP_FIREWALL);
    assert_int_equal(env_count_records(&env, NL_NAT_MAP_NEW), 0);
    env_free(&env);
  }
}

/* A normal handshake: SYN out creates the mapping, SYN-ACK comes in. */
static void test_nat_rfc5382_req1_handshake_passes(void **state) {
  for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_preset(i);
    Env env;
    Seen out = {0}, in = {0};
    env_init(&env, b);
    assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, R, 80, SYN, &out),
                     NL_NAT_PASS);
    uint32_t ext = b->translate ? E : H;
    assert_int_equal(out.src, ext);
    assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, R, 80, ext, out.sport,
                             SYN | ACK, &in),
                     NL_NAT_PASS);
    assert_int_equal(in.dst, H);
    assert_int_equal(in.dport, 5000);
    assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, R, 80, ACK, &out),
                     NL_NAT_PASS);
    GString *snap = g_string_new(NULL);
    nl_nat_snapshot(env.nat, snap);
    assert_non_null(strstr(snap->str, " established expires 7440.000000000"));
    g_string_free(snap, TRUE);
    env_free(&env);
  }
}

/* RFC 5382 REQ-1/REQ-2: simultaneous open.  The inside sends its SYN out
 * first; the outside SYN then arrives on the mapping and passes. */
static void test_nat_rfc5382_simultaneous_open_through_eim(void **state) {
  static const struct {
    const char *preset;
    uint32_t peer;        /* who sends the inbound SYN */
    NlNatVerdict want;
  } rows[] = {
      {"full-cone", R, NL_NAT_PASS},
      {"restricted-cone", R, NL_NAT_PASS},
      {"port-restricted-cone", R, NL_NAT_PASS},
      {"symmetric", R, NL_NAT_PASS},
      /* EIM + EIF: a SYN from another host also reaches the mapping. */
      {"full-cone", R2, NL_NAT_PASS},
      /* APDF: not from a host never sent to. */
      {"port-restricted-cone", R2, NL_NAT_DROP},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    Env env;
    Seen out = {0}, in = {0};
    env_init(&env, nl_nat_behaviour_find(rows[i].preset));
    env_at(&env, 1 * NL_S);
    assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, H, 6000, R, 7000, SYN,
                             &out),
                     NL_NAT_PASS);
    NlNatVerdict v = env_tcp(&env, NL_NAT_INBOUND, rows[i].peer, 7000, E,
                             out.sport, SYN, &in);
    assert_int_equal(v, rows[i].want);
    if (v == NL_NAT_PASS) {
      assert_int_equal(in.dst, H);
      assert_int_equal(in.dport, 6000);
      assert_int_equal(in.src, rows[i].peer);
      /* SYNs both ways: established, and the trace says so. */
      GString *recs = env_map_records(&env);
      assert_non_null(strstr(recs->str, "(inbound, established, until "
                                        "7441.000000000)"));
      g_string_free(recs, TRUE);
    } else {
      assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
    }
    env_free(&env);
  }
}

/* Transitory before establishment, established after, transitory after
 * FIN both ways or an RST, each asserted one ns either side of the edge.
 * Inbound refresh is off, so only the named packets move the edge. */
typedef struct {
  const char *name;
  /* packets at t = 1 s, 2 s, ...: 'o'/'i' direction then flags */
  const char *script[4];
  NlTime edge; /* when the mapping should expire */
} TcpRow;

static uint8_t flags_of(const char *s) {
  uint8_t f = 0;
  for (; *s; s++) {
    switch (*s) {
      case 'S': f |= SYN; break;
      case 'A': f |= ACK; break;
      case 'F': f |= FIN; break;
      case 'R': f |= RST; break;
      default: break;
    }
  }
  return f;
}

static const TcpRow tcp_rows[] = {
    {"syn only: transitory", {"oS"}, 1 * NL_S + 240 * NL_S},
    {"handshake: established", {"oS", "iSA", "oA"}, 3 * NL_S + 7440 * NL_S},
    {"fin both ways: transitory", {"oS", "iSA", "oF", "iF"},
     /* the inbound FIN shortens the lifetime to 4 s + 240 s */
     4 * NL_S + 240 * NL_S},
    {"half close stays established", {"oS", "iSA", "oFA"},
     3 * NL_S + 7440 * NL_S},
    {"rst: transitory", {"oS", "iSA", "oR"}, 3 * NL_S + 240 * NL_S},
    {"mid-stream pickup: established", {"oA"}, 1 * NL_S + 7440 * NL_S},
};

static void test_nat_rfc5382_req5_transitory_and_established_timeouts(
    void **state) {
  for (guint i = 0; i < G_N_ELEMENTS(tcp_rows); i++) {
    for (int after = 0; after < 2; after++) {
      Env env;
      NlNatBehaviour b = behaviour("port-restricted-cone", "inbound-refresh",
                                   "off", NULL);
      env_init(&env, &b);
      uint16_t ext = 0;
      for (int k = 0; k < 4 && tcp_rows[i].script[k]; k++) {
        const char *step = tcp_rows[i].script[k];
        Seen s = {0};
        env_at(&env, (k + 1) * NL_S);
        NlNatVerdict v =
            step[0] == 'o'
                ? env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, R, 80,
                          flags_of(step + 1), &s)
                : env_tcp(&env, NL_NAT_INBOUND, R, 80, E, ext,
                          flags_of(step + 1), &s);
        assert_int_equal(v, NL_NAT_PASS);
        if (step[0] == 'o')
          ext = s.sport;
      }
      /* testcase: the edge. */
      env_at(&env, tcp_rows[i].edge + (after ? 1 : -1));
      NlNatVerdict v = env_tcp(&env, NL_NAT_INBOUND, R, 80, E, ext, ACK, NULL);
      if (v != (after ? NL_NAT_DROP : NL_NAT_PASS))
        fail_msg("%s: %s the edge: %s", tcp_rows[i].name,
                 after ? "after" : "before", nl_nat_verdict_name(v));
      env_free(&env);
    }
  }
}

/* A new SYN on a mapping whose connection closed starts over. */
static void test_nat_rfc5382_new_connection_reuses_mapping(void **state) {
  Env env;
  Seen a = {0}, b2 = {0};
  env_init(&env, nl_nat_behaviour_find("port-restricted-cone"));
  assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, R, 80, SYN, &a),
                   NL_NAT_PASS);
  assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, R, 80, E, a.sport, RST, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, R, 80, SYN, &b2),
                   NL_NAT_PASS);
  assert_int_equal(b2.sport, a.sport);
  GString *snap = g_string_new(NULL);
  nl_nat_snapshot(env.nat, snap);
  assert_non_null(strstr(snap->str, " syn-out "));
  g_string_free(snap, TRUE);
  /* An RST with no mapping creates none. */
  assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, H, 5001, R, 80, RST, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  env_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_rfc5382_req4_unsolicited_syn_dropped),
      cmocka_unit_test(test_nat_rfc5382_req1_handshake_passes),
      cmocka_unit_test(test_nat_rfc5382_simultaneous_open_through_eim),
      cmocka_unit_test(
          test_nat_rfc5382_req5_transitory_and_established_timeouts),
      cmocka_unit_test(test_nat_rfc5382_new_connection_reuses_mapping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
