/* ICMP through the NAT (RFC 5508 essentials, RFC 4787 §7): echo mapped by
 * identifier, and ICMP errors translated in both directions, quoted
 * header included, every checksum valid. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static const uint32_t H = 0x0a000005;  /* 10.0.0.5 */
static const uint32_t S = 0xc000020a;  /* 192.0.2.10 */
static const uint32_t RT = 0xc0000201; /* 192.0.2.1, a router */
static const uint32_t P = 0xc6336463;  /* 198.51.100.99 */
static const uint32_t E = 0xcb007101;  /* 203.0.113.1 */

/* RFC 5508 REQ-1: echo request out, reply in, by identifier. */
static void test_nat_rfc5508_req1_echo_mapped_by_identifier(void **state) {
  static const struct {
    const char *alloc;
    uint16_t want_id;
  } rows[] = {{"preserve", 77}, {"sequential", 1}};
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    Env env;
    NlNatBehaviour b =
        behaviour("port-restricted-cone", "allocation", rows[i].alloc, NULL);
    env_init(&env, &b);
    env.len = build_echo(env.pkt, H, S, NL_ICMP_ECHO_REQUEST, 77);
    assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_PASS);
    Seen out = seen_checked(env.pkt, env.len);
    assert_int_equal(out.src, E);
    assert_int_equal(out.sport, rows[i].want_id);
    env.len = build_echo(env.pkt, S, E, NL_ICMP_ECHO_REPLY, out.sport);
    assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_PASS);
    Seen in = seen_checked(env.pkt, env.len);
    assert_int_equal(in.dst, H);
    assert_int_equal(in.sport, 77);
    /* A reply from a host never pinged is filtered (APDF = ADF for ICMP). */
    env.len = build_echo(env.pkt, P, E, NL_ICMP_ECHO_REPLY, out.sport);
    assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_DROP);
    assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
    GString *recs = env_map_records(&env);
    char want[128];
    g_snprintf(want, sizeof want,
               "0.000000000 new ICMP 10.0.0.5:77 -> 203.0.113.1:%u (for "
               "192.0.2.10)\n",
               rows[i].want_id);
    assert_string_equal(recs->str, want);
    g_string_free(recs, TRUE);
    env_free(&env);
  }
}

/* An error from a router about a packet the NAT sent out comes back to
 * the inside host; the quoted packet becomes exactly the one the inside
 * host sent (RFC 5508 §4.2, RFC 4787 REQ-13 spirit). */
static void test_nat_rfc5508_inbound_error_translated_with_quote(
    void **state) {
  static const struct {
    const char *name;
    uint8_t proto;
    uint8_t type, code;
  } rows[] = {
      {"udp port unreachable", NL_IPPROTO_UDP, NL_ICMP_DEST_UNREACH,
       NL_ICMP_PORT_UNREACH},
      {"udp ttl exceeded", NL_IPPROTO_UDP, NL_ICMP_TIME_EXCEEDED, 0},
      {"tcp host unreachable", NL_IPPROTO_TCP, NL_ICMP_DEST_UNREACH,
       NL_ICMP_HOST_UNREACH},
      {"echo frag needed", NL_IPPROTO_ICMP, NL_ICMP_DEST_UNREACH,
       NL_ICMP_FRAG_NEEDED},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    Env env;
    NlNatBehaviour b =
        behaviour("symmetric", "allocation", "sequential", NULL);
    env_init(&env, &b);
    guint8 orig[128], outside[128];
    size_t olen;
    switch (rows[i].proto) {
      case NL_IPPROTO_UDP:
        olen = build_udp(orig, H, 5000, S, 3478);
        break;
      case NL_IPPROTO_TCP:
        olen = build_tcp(orig, H, 5000, S, 80, NL_TCP_SYN);
        break;
      default:
        olen = build_echo(orig, H, S, NL_ICMP_ECHO_REQUEST, 77);
        break;
    }
    memcpy(outside, orig, olen);
    NlDropReason why;
    assert_int_equal(
        nl_nat_process(env.nat, NL_NAT_OUTBOUND, outside, olen, &why),
        NL_NAT_PASS);
    Seen out = seen_checked(outside, olen);
    /* Sequential: ports from 1024, echo identifiers from 1. */
    assert_int_equal(out.sport, rows[i].proto == NL_IPPROTO_ICMP ? 1 : 1024);
    env.len = nl_icmp4_build_error(env.pkt, RT, rows[i].type, rows[i].code,
                                   1400, outside, olen, 99);
    assert_true(env.len > 0);
    assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_PASS);
    NlIp4Header ip;
    assert_null(nl_ip4_parse(env.pkt, env.len, &ip));
    assert_int_equal(ip.src, RT);
    assert_int_equal(ip.dst, H);
    const guint8 *ic = env.pkt + NL_IP4_HDR_LEN;
    assert_int_equal(nl_wire_checksum(ic, env.len - NL_IP4_HDR_LEN), 0);
    assert_int_equal(ic[0], rows[i].type);
    /* The quote is now the inside host's own packet, byte for byte
     * (IP header with its checksum, and the first 8 bytes after it). */
    size_t quoted = env.len - NL_IP4_HDR_LEN - NL_ICMP_HDR_LEN;
    assert_int_equal(quoted, NL_IP4_HDR_LEN + 8);
    if (memcmp(ic + NL_ICMP_HDR_LEN, orig, quoted) != 0)
      fail_msg("%s: quoted packet not restored", rows[i].name);
    env_free(&env);
  }
}

/* Errors that do not match a mapping, or come about a remote the mapping
 * never sent to, are dropped. */
static void test_nat_rfc5508_inbound_error_without_mapping_dropped(
    void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("port-restricted-cone"));
  guint8 sent[128];
  size_t slen = build_udp(sent, H, 5000, S, 3478);
  NlDropReason why;
  assert_int_equal(nl_nat_process(env.nat, NL_NAT_OUTBOUND, sent, slen, &why),
                   NL_NAT_PASS);
  /* About a port with no mapping. */
  guint8 fake[128];
  size_t flen = build_udp(fake, E, 6000, S, 3478);
  env.len = nl_icmp4_build_error(env.pkt, RT, NL_ICMP_DEST_UNREACH,
                                 NL_ICMP_PORT_UNREACH, 0, fake, flen, 1);
  assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  /* About the mapping, but quoting a destination never sent to: APDF. */
  flen = build_udp(fake, E, 5000, P, 3478);
  env.len = nl_icmp4_build_error(env.pkt, RT, NL_ICMP_DEST_UNREACH,
                                 NL_ICMP_PORT_UNREACH, 0, fake, flen, 2);
  assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
  /* A truncated error is malformed. */
  env.len = nl_icmp4_build_error(env.pkt, RT, NL_ICMP_DEST_UNREACH,
                                 NL_ICMP_PORT_UNREACH, 0, sent, slen, 3);
  env.pkt[3] = (guint8)(env.pkt[3] - 4); /* total length: 4 bytes less */
  nl_ip4_update_checksum(env.pkt);
  env.len -= 4;
  assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_MALFORMED);
  /* The ICMP error does not create or refresh anything. */
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_NEW), 1);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_REFRESH), 0);
  env_free(&env);
}

/* The inside host answers an inbound packet with port unreachable: the
 * error goes out from the external address, quoting the packet as it
 * arrived at the NAT from outside (RFC 5508 §4.1). */
static void test_nat_rfc5508_outbound_error_translated_with_quote(
    void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("full-cone"));
  Seen s = {0};
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, H, 5000, S, 3478, &s),
                   NL_NAT_PASS);
  guint8 arrived[128], inside[128];
  size_t alen = build_udp(arrived, P, 4000, E, 5000);
  memcpy(inside, arrived, alen);
  NlDropReason why;
  assert_int_equal(nl_nat_process(env.nat, NL_NAT_INBOUND, inside, alen, &why),
                   NL_NAT_PASS);
  env.len = nl_icmp4_build_error(env.pkt, H, NL_ICMP_DEST_UNREACH,
                                 NL_ICMP_PORT_UNREACH, 0, inside, alen, 5);
  assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_PASS);
  NlIp4Header ip;
  assert_null(nl_ip4_parse(env.pkt, env.len, &ip));
  assert_int_equal(ip.src, E);
  assert_int_equal(ip.dst, P);
  const guint8 *ic = env.pkt + NL_IP4_HDR_LEN;
  assert_int_equal(nl_wire_checksum(ic, env.len - NL_IP4_HDR_LEN), 0);
  assert_memory_equal(ic + NL_ICMP_HDR_LEN, arrived, NL_IP4_HDR_LEN + 8);
  /* An error about a flow with no mapping does not leak out. */
  alen = build_udp(arrived, P, 4000, H, 7777);
  env.len = nl_icmp4_build_error(env.pkt, H, NL_ICMP_DEST_UNREACH,
                                 NL_ICMP_PORT_UNREACH, 0, arrived, alen, 6);
  assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  env_free(&env);
}

/* ICMP that is neither echo nor an error cannot be keyed: a NAT drops it
 * (BLOCKED); a firewall lets it out. */
static void test_nat_icmp_other_types(void **state) {
  for (int fw = 0; fw < 2; fw++) {
    Env env;
    env_init(&env, nl_nat_behaviour_find(fw ? "firewall" : "full-cone"));
    env.len = build_echo(env.pkt, H, S, 13 /* timestamp */, 1);
    NlNatVerdict v = env_process(&env, NL_NAT_OUTBOUND);
    assert_int_equal(v, fw ? NL_NAT_PASS : NL_NAT_DROP);
    if (!fw)
      assert_int_equal(env.why, NL_DROP_BLOCKED);
    env_free(&env);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_rfc5508_req1_echo_mapped_by_identifier),
      cmocka_unit_test(test_nat_rfc5508_inbound_error_translated_with_quote),
      cmocka_unit_test(test_nat_rfc5508_inbound_error_without_mapping_dropped),
      cmocka_unit_test(test_nat_rfc5508_outbound_error_translated_with_quote),
      cmocka_unit_test(test_nat_icmp_other_types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
