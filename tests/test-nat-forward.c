/* Port forwarding (static DNAT) and the DMZ host: a server behind a NAT
 * reachable from outside, as home routers offer; on every preset. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static const uint32_t SRV = 0x0a00000a;  /* 10.0.0.10 */
static const uint32_t HA = 0x0a000005;   /* 10.0.0.5 */
static const uint32_t S = 0xc000020a;    /* 192.0.2.10 */
static const uint32_t R = 0xc6336407;    /* 198.51.100.7 */
static const uint32_t E = 0xcb007101;    /* 203.0.113.1 */

static void add_forward(Env *env, uint8_t proto, uint16_t ext, uint32_t addr,
                        uint16_t port) {
  GError *error = NULL;
  if (!nl_nat_add_forward(env->nat, proto, ext, addr, port, &error))
    fail_msg("%s", error->message);
}

/* Without a forward a server behind the NAT is unreachable (RFC 5382
 * REQ-4); with one, anyone reaches it at the public port, and its answers
 * leave from that port, on every translating preset. */
static void test_nat_forward_tcp_reaches_server_on_every_preset(void **state) {
  for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_preset(i);
    if (!b->translate)
      continue;
    Env env;
    env_init(&env, b);
    assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, S, 40000, E, 8080,
                             NL_TCP_SYN, NULL),
                     NL_NAT_DROP);
    assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
    add_forward(&env, NL_IPPROTO_TCP, 8080, SRV, 80);
    Seen got;
    const uint32_t remotes[] = {S, R};
    for (guint r = 0; r < 2; r++) {
      assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, remotes[r], 40000, E,
                               8080, NL_TCP_SYN, &got),
                       NL_NAT_PASS);
      assert_int_equal(got.src, remotes[r]);
      assert_int_equal(got.dst, SRV);
      assert_int_equal(got.dport, 80);
      assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, SRV, 80, remotes[r],
                               40000, NL_TCP_SYN | NL_TCP_ACK, &got),
                       NL_NAT_PASS);
      assert_int_equal(got.src, E);
      assert_int_equal(got.sport, 8080);
      assert_int_equal(got.dst, remotes[r]);
    }
    /* UDP on the same port is not forwarded. */
    assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 40000, E, 8080, NULL),
                     NL_NAT_DROP);
    env_free(&env);
  }
}

/* UDP forwards, several of them; a new dynamic mapping never takes a
 * forwarded port (here an inside host with the same port, port-preserving
 * allocation), and a reboot keeps the forwards. */
static void test_nat_forward_udp_ports_reserved_and_kept(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("port-restricted-cone"));
  add_forward(&env, NL_IPPROTO_UDP, 5000, SRV, 5000);
  add_forward(&env, NL_IPPROTO_UDP, 5001, HA, 6000);
  Seen got = {0};
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, 0x0a000007, 5000, S, 3478,
                           &got),
                   NL_NAT_PASS);
  assert_int_not_equal(got.sport, 5000);
  assert_int_not_equal(got.sport, 5001);
  nl_nat_reboot(env.nat);
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, R, 9, E, 5001, &got),
                   NL_NAT_PASS);
  assert_int_equal(got.dst, HA);
  assert_int_equal(got.dport, 6000);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, 0x0a000008, 5000, S, 3478,
                           &got),
                   NL_NAT_PASS);
  assert_int_not_equal(got.sport, 5000);
  /* The snapshot lists the forwards before the mappings. */
  GString *snap = g_string_new(NULL);
  nl_nat_snapshot(env.nat, snap);
  assert_non_null(strstr(snap->str, "forward UDP 203.0.113.1:5000 -> "
                                    "10.0.0.10:5000\n"
                                    "forward UDP 203.0.113.1:5001 -> "
                                    "10.0.0.5:6000\n"));
  g_string_free(snap, TRUE);
  GString *maps = env_map_records(&env);
  assert_non_null(
      strstr(maps->str, "forward UDP 203.0.113.1:5001 -> 10.0.0.5:6000"));
  g_string_free(maps, TRUE);
  /* The forwarded host keeps its port going out, also on a symmetric
   * NAT, whose other mappings depend on the remote. */
  env_free(&env);
  NlNatBehaviour sym = behaviour("symmetric", NULL);
  env_init(&env, &sym);
  add_forward(&env, NL_IPPROTO_UDP, 5000, SRV, 5000);
  for (uint16_t port = 1; port <= 3; port++) {
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, SRV, 5000, S, port, &got),
                     NL_NAT_PASS);
    assert_int_equal(got.sport, 5000);
  }
  env_free(&env);
}

/* Mistakes are refused with a message. */
static void test_nat_forward_errors(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("full-cone"));
  add_forward(&env, NL_IPPROTO_TCP, 80, SRV, 80);
  GError *error = NULL;
  assert_false(nl_nat_add_forward(env.nat, NL_IPPROTO_TCP, 80, HA, 80, &error));
  assert_non_null(strstr(error->message, "already forwarded"));
  g_clear_error(&error);
  assert_false(nl_nat_add_forward(env.nat, NL_IPPROTO_TCP, 0, HA, 80, &error));
  g_clear_error(&error);
  /* A port a mapping uses now. */
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 7000, S, 3478, NULL),
                   NL_NAT_PASS);
  assert_false(nl_nat_add_forward(env.nat, NL_IPPROTO_UDP, 7000, SRV, 7000,
                                  &error));
  assert_non_null(strstr(error->message, "in use"));
  g_clear_error(&error);
  env_free(&env);
  env_init(&env, nl_nat_behaviour_find("firewall"));
  assert_false(nl_nat_add_forward(env.nat, NL_IPPROTO_TCP, 80, SRV, 8080,
                                  &error));
  assert_non_null(strstr(error->message, "does not translate"));
  g_clear_error(&error);
  env_free(&env);
}

/* A firewall opens the port: anyone reaches the server there, nothing
 * else comes in. */
static void test_nat_forward_firewall_opens_port(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("firewall"));
  add_forward(&env, NL_IPPROTO_TCP, 22, SRV, 22);
  Seen got = {0};
  assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, S, 40000, SRV, 22,
                           NL_TCP_SYN, &got),
                   NL_NAT_PASS);
  assert_int_equal(got.dst, SRV);
  assert_int_equal(got.dport, 22);
  assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, SRV, 22, S, 40000,
                           NL_TCP_SYN | NL_TCP_ACK, &got),
                   NL_NAT_PASS);
  assert_int_equal(got.src, SRV);
  assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, S, 40000, SRV, 23,
                           NL_TCP_SYN, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_FIREWALL);
  env_free(&env);
}

/* An inside host reaches the forwarded server at the public address when
 * the NAT hairpins (RFC 4787 §6), from its own external endpoint. */
static void test_nat_forward_hairpin(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("port-restricted-cone"));
  add_forward(&env, NL_IPPROTO_TCP, 8080, SRV, 80);
  Seen got = {0};
  assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, HA, 50000, E, 8080,
                           NL_TCP_SYN, &got),
                   NL_NAT_HAIRPIN);
  assert_int_equal(got.dst, SRV);
  assert_int_equal(got.dport, 80);
  assert_int_equal(got.src, E);
  uint16_t a_ext = got.sport;
  assert_int_equal(env_tcp(&env, NL_NAT_OUTBOUND, SRV, 80, E, a_ext,
                           NL_TCP_SYN | NL_TCP_ACK, &got),
                   NL_NAT_HAIRPIN);
  assert_int_equal(got.dst, HA);
  assert_int_equal(got.dport, 50000);
  assert_int_equal(got.src, E);
  assert_int_equal(got.sport, 8080);
  env_free(&env);
}

/* The DMZ host gets what nothing else claims, at the same port, through
 * an ordinary mapping: its answer goes out from that port, and the
 * mapping filters as the NAT's filtering says. */
static void test_nat_dmz_gets_unclaimed_packets(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("port-restricted-cone"));
  add_forward(&env, NL_IPPROTO_TCP, 80, HA, 80);
  nl_nat_set_dmz(env.nat, SRV);
  Seen got = {0};
  /* The forward still wins for its port. */
  assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, S, 40000, E, 80, NL_TCP_SYN,
                           &got),
                   NL_NAT_PASS);
  assert_int_equal(got.dst, HA);
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, S, 4000, E, 5060, &got),
                   NL_NAT_PASS);
  assert_int_equal(got.dst, SRV);
  assert_int_equal(got.dport, 5060);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, SRV, 5060, S, 4000, &got),
                   NL_NAT_PASS);
  assert_int_equal(got.src, E);
  assert_int_equal(got.sport, 5060);
  /* Another remote on that mapping: filtered (address and port
   * dependent), not handed to the DMZ host a second way. */
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, R, 4000, E, 5060, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
  assert_int_equal(env_tcp(&env, NL_NAT_INBOUND, R, 40001, E, 22, NL_TCP_SYN,
                           &got),
                   NL_NAT_PASS);
  assert_int_equal(got.dst, SRV);
  assert_int_equal(got.dport, 22);
  /* ICMP echo to the NAT's address is not the DMZ host's. */
  env.len = build_echo(env.pkt, S, E, NL_ICMP_ECHO_REQUEST, 77);
  assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_DROP);
  env_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_forward_tcp_reaches_server_on_every_preset),
      cmocka_unit_test(test_nat_forward_udp_ports_reserved_and_kept),
      cmocka_unit_test(test_nat_forward_errors),
      cmocka_unit_test(test_nat_forward_firewall_opens_port),
      cmocka_unit_test(test_nat_forward_hairpin),
      cmocka_unit_test(test_nat_dmz_gets_unclaimed_packets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
