/* The same machinery without translation (a stateful firewall), and a
 * network that blocks outbound UDP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static const uint32_t H = 0x0a000005;  /* 10.0.0.5 */
static const uint32_t S = 0xc000020a;  /* 192.0.2.10 */
static const uint32_t P = 0xc6336463;  /* 198.51.100.99 */
static const uint32_t E = 0xcb007101;  /* 203.0.113.1 */

/* Packet by packet, per filtering mode: nothing is rewritten, replies
 * come in, everything else is FIREWALL. */
static void test_nat_firewall_filters_without_translating(void **state) {
  static const struct {
    const char *filtering;
    NlNatVerdict from_s_other_port, from_p;
  } rows[] = {
      {"apdf", NL_NAT_DROP, NL_NAT_DROP},
      {"adf", NL_NAT_PASS, NL_NAT_DROP},
      {"eif", NL_NAT_PASS, NL_NAT_PASS},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    Env env;
    NlNatBehaviour b =
        behaviour("firewall", "filtering", rows[i].filtering, NULL);
    /* A firewall needs no external address. */
    env_init_n(&env, &b, NULL, 0, "fw");
    guint8 before[128];
    env.len = build_udp(env.pkt, H, 5000, S, 3478);
    memcpy(before, env.pkt, env.len);
    assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_PASS);
    assert_memory_equal(env.pkt, before, env.len);
    /* The reply. */
    env.len = build_udp(env.pkt, S, 3478, H, 5000);
    memcpy(before, env.pkt, env.len);
    assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_PASS);
    assert_memory_equal(env.pkt, before, env.len);
    NlNatVerdict v = env_udp(&env, NL_NAT_INBOUND, S, 9999, H, 5000, NULL);
    assert_int_equal(v, rows[i].from_s_other_port);
    if (v == NL_NAT_DROP)
      assert_int_equal(env.why, NL_DROP_FIREWALL);
    v = env_udp(&env, NL_NAT_INBOUND, P, 4000, H, 5000, NULL);
    assert_int_equal(v, rows[i].from_p);
    if (v == NL_NAT_DROP)
      assert_int_equal(env.why, NL_DROP_FIREWALL);
    /* Unsolicited, to a port never used: FIREWALL. */
    assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3478, H, 5001, NULL),
                     NL_NAT_DROP);
    assert_int_equal(env.why, NL_DROP_FIREWALL);
    NlNatCounters c;
    nl_nat_get_counters(env.nat, &c);
    assert_true(c.filtered >= 1);
    /* The table shows the inside endpoint as its own "external" one. */
    GString *recs = env_map_records(&env);
    assert_string_equal(recs->str, "0.000000000 new UDP 10.0.0.5:5000 -> "
                                   "10.0.0.5:5000 (for 192.0.2.10:3478)\n");
    g_string_free(recs, TRUE);
    env_free(&env);
  }
}

/* The firewall keeps per-endpoint state even when the mapping field says
 * address-and-port-dependent (there is nothing to map). */
static void test_nat_firewall_ignores_mapping_field(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("firewall", "mapping", "apdm", NULL);
  env_init_n(&env, &b, NULL, 0, "fw");
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3478, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, P, 4000, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_NEW), 1);
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, P, 4000, H, 5000, NULL),
                   NL_NAT_PASS);
  env_free(&env);
}

/* udp-blocked: UDP out is BLOCKED and makes no mapping; TCP works. */
static void test_nat_udp_blocked_drops_outbound_udp(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("udp-blocked"));
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3478, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_BLOCKED);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_NEW), 0);
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3478, E, 5000, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  Seen s = {0};
  assert_int_equal(
      env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, S, 443, NL_TCP_SYN, &s),
      NL_NAT_PASS);
  assert_int_equal(s.src, E);
  /* Any preset can be made to block UDP. */
  NlNatBehaviour b = behaviour("full-cone", "block-outbound-udp", "on", NULL);
  Env env2;
  env_init(&env2, &b);
  assert_int_equal(env_udp(&env2, NL_NAT_OUTBOUND, H, 5000, S, 3478, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env2.why, NL_DROP_BLOCKED);
  env_free(&env2);
  env_free(&env);
}

/* Garbage is MALFORMED, never a crash; fragments are not translated.
 * Every truncated length of each kind of packet, both as a short buffer
 * and as a consistent (re-checksummed) short IP datagram. */
static void test_nat_malformed_packets_dropped(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("full-cone"));
  guint8 full[4][128];
  size_t full_len[4], check_below[4];
  full_len[0] = build_udp(full[0], H, 5000, S, 3478);
  full_len[1] = build_tcp(full[1], H, 5000, S, 80, NL_TCP_SYN);
  full_len[2] = build_echo(full[2], H, S, NL_ICMP_ECHO_REQUEST, 7);
  full_len[3] = nl_icmp4_build_error(full[3], S, NL_ICMP_DEST_UNREACH,
                                     NL_ICMP_PORT_UNREACH, 0, full[0],
                                     full_len[0], 1);
  check_below[0] = full_len[0];
  check_below[1] = full_len[1];
  check_below[2] = NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN; /* echo data is free */
  check_below[3] = full_len[3];
  for (int k = 0; k < 4; k++) {
    NlNatDirection dir = k == 3 ? NL_NAT_INBOUND : NL_NAT_OUTBOUND;
    for (size_t l = 0; l < check_below[k]; l++) {
      for (int consistent = 0; consistent < 2; consistent++) {
        guint8 copy[128];
        memcpy(copy, full[k], full_len[k]);
        if (consistent && l >= NL_IP4_HDR_LEN) {
          copy[2] = (guint8)(l >> 8);
          copy[3] = (guint8)l;
          nl_ip4_update_checksum(copy);
        }
        NlDropReason why;
        NlNatVerdict v = nl_nat_process(env.nat, dir, copy, l, &why);
        if (v != NL_NAT_DROP || why != NL_DROP_MALFORMED)
          fail_msg("packet %d cut to %zu bytes: %s (%s)", k, l,
                   nl_nat_verdict_name(v), nl_drop_reason_name(why));
      }
    }
  }
  /* A fragment. */
  env.len = build_udp(env.pkt, H, 5000, S, 3478);
  env.pkt[6] |= 0x20; /* MF */
  nl_ip4_update_checksum(env.pkt);
  assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_MALFORMED);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_NEW), 0);
  env_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_firewall_filters_without_translating),
      cmocka_unit_test(test_nat_firewall_ignores_mapping_field),
      cmocka_unit_test(test_nat_udp_blocked_drops_outbound_udp),
      cmocka_unit_test(test_nat_malformed_packets_dropped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
