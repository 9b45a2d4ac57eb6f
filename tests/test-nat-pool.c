/* Port pool exhaustion (RFC 4787 §4.2): what a NAT does when every port
 * of its external address is taken, for each allocation strategy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static const uint32_t H = 0x0a000005; /* 10.0.0.5 */
static const uint32_t S = 0xc000020a; /* 192.0.2.10 */
static const uint32_t E = 0xcb007101; /* 203.0.113.1 */

/* A datagram from host @h's port @port to S:3478 goes out: the external
 * port of its mapping. */
static uint16_t out_port(Env *env, uint32_t h, uint16_t port) {
  Seen s = {0};
  assert_int_equal(env_udp(env, NL_NAT_OUTBOUND, h, port, S, 3478, &s),
                   NL_NAT_PASS);
  return s.sport;
}

/* A pool of 4 ports (2000-2003), 4 flows fill it, the 5th is dropped. */
static void test_nat_rfc4787_s4_2_pool_exhausted_drops(void **state) {
  static const char *const allocs[] = {"preserve", "sequential", "random"};
  for (guint a = 0; a < G_N_ELEMENTS(allocs); a++) {
    Env env;
    NlNatBehaviour b = behaviour("symmetric", "allocation", allocs[a],
                                 "port-range", "2000-2003", NULL);
    env_init(&env, &b);
    guint seen_ports = 0;
    for (int k = 0; k < 4; k++) {
      Seen s = {0};
      env_at(&env, (k + 1) * NL_S);
      assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S,
                               (uint16_t)(3000 + k), &s),
                       NL_NAT_PASS);
      assert_true(s.sport >= 2000 && s.sport <= 2003);
      assert_false(seen_ports & (1u << (s.sport - 2000)));
      seen_ports |= 1u << (s.sport - 2000);
    }
    assert_int_equal(seen_ports, 0xf);
    assert_int_equal(
        env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3004, NULL), NL_NAT_DROP);
    assert_int_equal(env.why, NL_DROP_NAT_POOL_EXHAUSTED);
    /* Existing mappings still work; other protocols have their own pool. */
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3000, NULL),
                     NL_NAT_PASS);
    assert_int_equal(
        env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, S, 80, NL_TCP_SYN, NULL),
        NL_NAT_PASS);
    /* Once a mapping expires its port is free again (the first one,
     * created at 1 s, refreshed by the packet at 4 s above, expires at
     * 124 s; the one made at 2 s goes at 122 s). */
    env_at(&env, 122 * NL_S);
    Seen s = {0};
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3004, &s),
                     NL_NAT_PASS);
    NlNatCounters c;
    nl_nat_get_counters(env.nat, &c);
    assert_int_equal(c.mappings_expired, 1);
    assert_int_equal(c.mappings_live, 5); /* 4 UDP + 1 TCP */
    env_free(&env);
  }
}

/* evict-oldest: the mapping closest to expiry makes room, with a record. */
static void test_nat_pool_exhausted_evicts_oldest(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("symmetric", "port-range", "2000-2001",
                               "exhaustion", "evict-oldest", NULL);
  env_init(&env, &b);
  Seen s1, s2, s3;
  env_at(&env, 1 * NL_S);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3000, &s1),
                   NL_NAT_PASS);
  env_at(&env, 2 * NL_S);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, &s2),
                   NL_NAT_PASS);
  env_at(&env, 3 * NL_S);
  /* Refresh the first: now the second expires first. */
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3000, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3002, &s3),
                   NL_NAT_PASS);
  assert_int_equal(s3.sport, s2.sport);
  GString *recs = env_map_records(&env);
  assert_non_null(strstr(recs->str,
                         "3.000000000 expire UDP 10.0.0.5:5000 -> "
                         "203.0.113.1:2001 (evicted: pool exhausted)\n"
                         "3.000000000 new UDP 10.0.0.5:5000 -> "
                         "203.0.113.1:2001 (for 192.0.2.10:3002)\n"));
  g_string_free(recs, TRUE);
  /* The evicted flow's replies no longer reach the inside. */
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3001, E, 2001, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
  env_free(&env);
}

/* Reboot frees every port. */
static void test_nat_reboot_frees_ports(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("symmetric", "port-range", "2000-2000", NULL);
  env_init(&env, &b);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3000, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, NULL),
                   NL_NAT_DROP);
  nl_nat_reboot(env.nat);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, NULL),
                   NL_NAT_PASS);
  env_free(&env);
}

/* Each protocol has its own ports (its pool made at its first mapping):
 * a UDP mapping's port is a TCP flow's to take; a reboot frees both. */
static void test_nat_pools_are_per_protocol(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("symmetric", "port-range", "2000-2000", NULL);
  env_init(&env, &b);
  Seen s = {0};
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3000, &s),
                   NL_NAT_PASS);
  assert_int_equal(s.sport, 2000);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, NULL),
                   NL_NAT_DROP);
  Seen t = {0};
  assert_int_equal(
      env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3000, NL_TCP_SYN, &t),
      NL_NAT_PASS);
  assert_int_equal(t.sport, 2000);
  assert_int_equal(
      env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, NL_TCP_SYN, NULL),
      NL_NAT_DROP);
  nl_nat_reboot(env.nat);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, NULL),
                   NL_NAT_PASS);
  assert_int_equal(
      env_tcp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3001, NL_TCP_SYN, NULL),
      NL_NAT_PASS);
  env_free(&env);
}

/* Thousands of mappings created and expired in waves: every live one
 * still translates both ways and every expired one is gone (exercises the
 * table's growth and deletion). */
static void test_nat_table_survives_churn(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("port-restricted-cone", "udp-timeout", "10s",
                               "allocation", "sequential", NULL);
  env_init(&env, &b);
  enum { N = 3000 };
  uint16_t ext[N];
  NlTime born[N];
  for (int k = 0; k < N; k++) {
    /* Three waves, one second apart; hosts interleaved across waves. */
    int wave = k % 3;
    born[k] = (NlTime)(1 + wave) * NL_S;
  }
  for (int wave = 0; wave < 3; wave++) {
    env_at(&env, (NlTime)(1 + wave) * NL_S);
    for (int k = wave; k < N; k += 3) {
      ext[k] = out_port(&env, H + (uint32_t)k, 5000);
    }
  }
  /* At 12 s the first wave (born 1 s, 10 s timeout) is gone, and so is
   * the second: it expires at exactly 12 s. */
  env_at(&env, 12 * NL_S);
  for (int k = 0; k < N; k++) {
    Seen s = {0};
    NlNatVerdict v = env_udp(&env, NL_NAT_INBOUND, S, 3478, E, ext[k], &s);
    if (born[k] + 10 * NL_S <= 12 * NL_S) {
      assert_int_equal(v, NL_NAT_DROP);
      assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
    } else {
      assert_int_equal(v, NL_NAT_PASS);
      assert_int_equal(s.dst, H + (uint32_t)k);
    }
  }
  NlNatCounters c;
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, N / 3);
  /* New mappings reuse the freed ports' table slots without confusion. */
  for (int k = 0; k < N; k += 3) {
    uint16_t port = out_port(&env, H + (uint32_t)k, 6000);
    Seen back = {0};
    assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3478, E, port, &back),
                     NL_NAT_PASS);
    assert_int_equal(back.dst, H + (uint32_t)k);
    assert_int_equal(back.dport, 6000);
  }
  nl_event_run(env.q);
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, 0);
  assert_int_equal(c.mappings_expired, N + N / 3);
  env_free(&env);
}

/* The inside table holds the entries themselves: as it grows, and as
 * expired entries leave tombstones that new ones reuse, every live
 * mapping keeps its place for outbound packets (the same external port,
 * no new mapping), for inbound ones, in the expiry order and in the
 * snapshot's creation order. */
static void test_nat_inside_table_keeps_mappings_as_it_moves(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("port-restricted-cone", "udp-timeout", "10s",
                               "allocation", "sequential", NULL);
  env_init(&env, &b);
  enum { N = 100 };
  uint16_t ext[2 * N];
  /* 1 s: N mappings, the table growing from 8 records to 256. */
  env_at(&env, 1 * NL_S);
  for (int k = 0; k < N; k++) {
    ext[k] = out_port(&env, H + (uint32_t)k, 5000);
  }
  /* 5 s: the even ones again, through the same mappings. */
  env_at(&env, 5 * NL_S);
  for (int k = 0; k < N; k += 2) {
    assert_int_equal(out_port(&env, H + (uint32_t)k, 5000), ext[k]);
  }
  NlNatCounters c;
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_created, N);
  /* 11 s: the odd ones expired (tombstones); N new mappings reuse their
   * records and grow the table again. */
  env_at(&env, 11 * NL_S);
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, N / 2);
  /* Found past the tombstones (an even one placed after an odd one). */
  for (int k = 0; k < N; k += 2) {
    assert_int_equal(out_port(&env, H + (uint32_t)k, 5000), ext[k]);
  }
  for (int k = N; k < 2 * N; k++) {
    ext[k] = out_port(&env, H + (uint32_t)k, 5000);
  }
  for (int k = 0; k < 2 * N; k++) {
    gboolean live = k >= N || k % 2 == 0;
    Seen s = {0};
    NlNatVerdict v = env_udp(&env, NL_NAT_INBOUND, S, 3478, E, ext[k], &s);
    if (!live) {
      assert_int_equal(v, NL_NAT_DROP);
      continue;
    }
    assert_int_equal(v, NL_NAT_PASS);
    assert_int_equal(s.dst, H + (uint32_t)k);
    assert_int_equal(out_port(&env, H + (uint32_t)k, 5000), ext[k]);
  }
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_created, 2 * N);
  assert_int_equal(c.mappings_live, N + N / 2);
  /* Creation order: the even old ones, then the new ones. */
  GString *snap = g_string_new(NULL);
  nl_nat_snapshot(env.nat, snap);
  const char *at = snap->str;
  for (int k = 0; k < 2 * N; k++) {
    if (k < N && k % 2 == 1)
      continue;
    char a[16], want[64];
    g_snprintf(want, sizeof want, "UDP %s:5000 ->",
               nl_ip4_to_string(H + (uint32_t)k, a));
    const char *p = strstr(at, want);
    if (p == NULL)
      fail_msg("%s not after its predecessors in:\n%s", want, snap->str);
    at = p + strlen(want);
  }
  g_string_free(snap, TRUE);
  /* Expiry through the moved entries: the even old ones were last used
   * at 11 s, the new ones too; all gone at 21 s, none before. */
  env_at(&env, 21 * NL_S - 1);
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, N + N / 2);
  env_at(&env, 21 * NL_S);
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, 0);
  env_free(&env);
}

/* The outside table (external endpoint -> mapping) at each size's
 * fullest and as it empties.  After each mapping is made, every one made
 * so far is found by an inbound packet (from another port of the remote:
 * found, then filtered by the port-restricted cone, and so not
 * refreshed); then, as they expire one by one (10 s after each was made,
 * in the order made), every expired one is gone and every live one still
 * found.  Random ports, so that probe runs collide and wrap. */
static void test_nat_outside_table_finds_every_mapping(void **state) {
  Env env;
  NlNatBehaviour b = behaviour("port-restricted-cone", "udp-timeout", "10s",
                               "allocation", "random", NULL);
  env_init(&env, &b);
  enum { N = 100 };
  uint16_t ext[N];
  for (int k = 0; k < N; k++) {
    env_at(&env, NL_S + (NlTime)k * 10 * NL_MS);
    ext[k] = out_port(&env, H + (uint32_t)k, 5000);
    for (int j = 0; j <= k; j++) {
      assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3479, E, ext[j], NULL),
                       NL_NAT_DROP);
      assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
    }
    /* A port with no mapping: its probe run ends (the table is never
     * full). */
    uint16_t none = 1;
    for (int j = 0; j <= k; j++)
      if (ext[j] == none) {
        none++;
        j = -1;
      }
    assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3479, E, none, NULL),
                     NL_NAT_DROP);
    assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  }
  for (int k = 0; k < N; k++) {
    env_at(&env, 11 * NL_S + (NlTime)k * 10 * NL_MS);
    for (int j = 0; j < N; j++) {
      assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 3479, E, ext[j], NULL),
                       NL_NAT_DROP);
      assert_int_equal(env.why, j <= k ? NL_DROP_NAT_NO_MAPPING
                                       : NL_DROP_NAT_FILTERED);
    }
  }
  env_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_rfc4787_s4_2_pool_exhausted_drops),
      cmocka_unit_test(test_nat_pool_exhausted_evicts_oldest),
      cmocka_unit_test(test_nat_reboot_frees_ports),
    cmocka_unit_test(test_nat_pools_are_per_protocol),
      cmocka_unit_test(test_nat_table_survives_churn),
      cmocka_unit_test(test_nat_inside_table_keeps_mappings_as_it_moves),
      cmocka_unit_test(test_nat_outside_table_finds_every_mapping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
