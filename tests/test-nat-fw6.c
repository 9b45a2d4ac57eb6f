/* The IPv6 stateful firewall (natmodels/fw6.c, RFC 6092): outbound opens
 * state, inbound passes only as the filtering behaviour admits it while
 * the state lives, ICMPv6 errors pass only about a known flow, and
 * unsolicited traffic (a datagram, an echo request) is filtered; later
 * fragments follow their first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "natmodels/fw6.h"
#include "sim/net/wire6.h"
#include "test-nat-util.h"

static NlIp6 ip(const char *s) {
  NlIp6 a;
  assert_true(nl_ip6_from_string(s, &a));
  return a;
}

static size_t udp(guint8 *buf, const char *src, uint16_t sport,
                  const char *dst, uint16_t dport) {
  NlIp6 a = ip(src), b = ip(dst);
  return nl_udp6_build(buf, &a, sport, &b, dport, "hi", 2, 64, 0);
}

static gboolean pass(NlFw6 *fw, NlNatDirection d, NlTime now,
                     const guint8 *pkt, size_t len) {
  return nl_fw6_process(fw, d, now, pkt, len);
}

#define H "2001:db8:a::5"
#define S "2001:db8:2::7"
#define P "2001:db8:3::9"

/* Per filtering mode, what comes in after H sent to S:7000 from 5000. */
static void test_fw6_filters_by_behaviour(void **state) {
  static const struct {
    const char *filtering;
    gboolean from_s_other_port, from_p;
  } rows[] = {
      {"apdf", FALSE, FALSE},
      {"adf", TRUE, FALSE},
      {"eif", TRUE, TRUE},
  };
  guint8 pkt[128];
  size_t n;
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    NlNatBehaviour b =
        behaviour("firewall", "filtering", rows[i].filtering, NULL);
    NlFw6 *fw = nl_fw6_new(&b, NULL, 0);
    /* Unsolicited: nothing is open yet, whatever the filtering. */
    n = udp(pkt, S, 7000, H, 5000);
    assert_false(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
    n = udp(pkt, H, 5000, S, 7000);
    assert_true(pass(fw, NL_NAT_OUTBOUND, NL_S, pkt, n));
    n = udp(pkt, S, 7000, H, 5000);
    assert_true(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
    n = udp(pkt, S, 7001, H, 5000);
    assert_int_equal(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n),
                     rows[i].from_s_other_port);
    n = udp(pkt, P, 7000, H, 5000);
    assert_int_equal(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n), rows[i].from_p);
    /* Another inside port opened nothing. */
    n = udp(pkt, S, 7000, H, 5001);
    assert_false(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
    nl_fw6_free(fw);
  }
}

/* The state lives udp-timeout after the last outbound packet (inbound ones
 * refresh it too, by default), then the hole is closed. */
static void test_fw6_state_expires(void **state) {
  NlNatBehaviour b = behaviour("firewall", "udp-timeout", "30s",
                               "inbound-refresh", "off", NULL);
  NlFw6 *fw = nl_fw6_new(&b, NULL, 0);
  guint8 pkt[128];
  size_t n = udp(pkt, H, 5000, S, 7000);
  assert_true(pass(fw, NL_NAT_OUTBOUND, 0, pkt, n));
  n = udp(pkt, S, 7000, H, 5000);
  assert_true(pass(fw, NL_NAT_INBOUND, 29 * NL_S, pkt, n));
  /* Inbound did not refresh: closed at 30 s. */
  assert_false(pass(fw, NL_NAT_INBOUND, 30 * NL_S, pkt, n));
  /* Open again from inside; then a reboot forgets it. */
  n = udp(pkt, H, 5000, S, 7000);
  assert_true(pass(fw, NL_NAT_OUTBOUND, 40 * NL_S, pkt, n));
  n = udp(pkt, S, 7000, H, 5000);
  assert_true(pass(fw, NL_NAT_INBOUND, 41 * NL_S, pkt, n));
  nl_fw6_clear(fw);
  assert_false(pass(fw, NL_NAT_INBOUND, 42 * NL_S, pkt, n));
  nl_fw6_free(fw);
}

/* A Packet Too Big (or any ICMPv6 error) from a router on the way passes
 * when it quotes a packet of a known flow, so path MTU discovery works
 * through the firewall; about an unknown flow it is filtered. */
static void test_fw6_icmp_errors_follow_state(void **state) {
  NlNatBehaviour b = behaviour("firewall", NULL);
  NlFw6 *fw = nl_fw6_new(&b, NULL, 0);
  guint8 orig[128], err[NL_IP6_MIN_MTU];
  size_t on = udp(orig, H, 5000, S, 7000);
  NlIp6 router = ip("2001:db8:f::1");
  size_t en = nl_icmp6_build_error(err, &router, NL_ICMP6_PACKET_TOO_BIG, 0,
                                   1280, orig, on);
  assert_true(en > 0);
  assert_false(pass(fw, NL_NAT_INBOUND, NL_S, err, en));
  assert_true(pass(fw, NL_NAT_OUTBOUND, NL_S, orig, on));
  assert_true(pass(fw, NL_NAT_INBOUND, NL_S, err, en));
  /* An error about another inside port: filtered. */
  on = udp(orig, H, 5001, S, 7000);
  en = nl_icmp6_build_error(err, &router, NL_ICMP6_DEST_UNREACH,
                            NL_ICMP6_PORT_UNREACH, 0, orig, on);
  assert_false(pass(fw, NL_NAT_INBOUND, NL_S, err, en));
  nl_fw6_free(fw);
}

static size_t echo(guint8 *buf, const char *src, const char *dst,
                   uint8_t type, uint16_t id) {
  NlIp6Header h = {0};
  h.src = ip(src);
  h.dst = ip(dst);
  h.next = NL_IPPROTO_ICMPV6;
  h.hop_limit = 64;
  h.payload_len = 8;
  nl_ip6_write(buf, &h);
  guint8 *ic = buf + NL_IP6_HDR_LEN;
  memset(ic, 0, 8);
  ic[0] = type;
  ic[4] = (guint8)(id >> 8);
  ic[5] = (guint8)id;
  nl_ip6_update_l4_checksum(buf, NL_IP6_HDR_LEN + 8);
  return NL_IP6_HDR_LEN + 8;
}

/* Echo: an inside ping's reply comes back by its identifier; a ping from
 * outside is unsolicited. */
static void test_fw6_echo(void **state) {
  NlNatBehaviour b = behaviour("firewall", NULL);
  NlFw6 *fw = nl_fw6_new(&b, NULL, 0);
  guint8 pkt[64];
  size_t n = echo(pkt, S, H, NL_ICMP6_ECHO_REQUEST, 9);
  assert_false(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
  n = echo(pkt, H, S, NL_ICMP6_ECHO_REQUEST, 7);
  assert_true(pass(fw, NL_NAT_OUTBOUND, NL_S, pkt, n));
  n = echo(pkt, S, H, NL_ICMP6_ECHO_REPLY, 7);
  assert_true(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
  n = echo(pkt, S, H, NL_ICMP6_ECHO_REPLY, 8);
  assert_false(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
  /* Truncated or not IPv6: filtered inbound, never a crash. */
  assert_false(pass(fw, NL_NAT_INBOUND, NL_S, pkt, 10));
  nl_fw6_free(fw);
}

/* A fragment of a UDP datagram from @src:@sport to @dst:@dport: the
 * first one (@off 0) carries the UDP header, a later one only data. */
static size_t frag(guint8 *buf, const char *src, const char *dst,
                   uint32_t id, uint16_t off, gboolean mf, uint16_t sport,
                   uint16_t dport) {
  NlIp6Header h = {0};
  h.src = ip(src);
  h.dst = ip(dst);
  h.next = NL_IPPROTO_FRAGMENT;
  h.hop_limit = 64;
  h.payload_len = NL_IP6_FRAG_HDR_LEN + 16;
  nl_ip6_write(buf, &h);
  guint8 *f = buf + NL_IP6_HDR_LEN;
  memset(f, 0, NL_IP6_FRAG_HDR_LEN + 16);
  f[0] = NL_IPPROTO_UDP;
  nl_wire_put16(f + 2, (uint16_t)(off | (mf ? 1 : 0)));
  nl_wire_put32(f + 4, id);
  if (off == 0) {
    nl_wire_put16(f + 8, sport);
    nl_wire_put16(f + 10, dport);
    nl_wire_put16(f + 12, 40); /* the whole datagram's UDP length */
  }
  return NL_IP6_HDR_LEN + NL_IP6_FRAG_HDR_LEN + 16;
}

/* A fragmented answer: the later fragments follow a first fragment that
 * was let in (same source, destination and identification, for 60 s);
 * those of a datagram whose first fragment was filtered do not. */
static void test_fw6_fragments_follow_their_first(void **state) {
  NlNatBehaviour b = behaviour("firewall", NULL);
  NlFw6 *fw = nl_fw6_new(&b, NULL, 0);
  guint8 pkt[128];
  size_t n = udp(pkt, H, 5000, S, 7000);
  assert_true(pass(fw, NL_NAT_OUTBOUND, NL_S, pkt, n));
  n = frag(pkt, S, H, 77, 16, FALSE, 0, 0);
  assert_false(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n)); /* first unseen */
  n = frag(pkt, S, H, 77, 0, TRUE, 7000, 5000);
  assert_true(pass(fw, NL_NAT_INBOUND, NL_S, pkt, n));
  n = frag(pkt, S, H, 77, 16, FALSE, 0, 0);
  assert_true(pass(fw, NL_NAT_INBOUND, 2 * NL_S, pkt, n));
  assert_false(pass(fw, NL_NAT_INBOUND, 62 * NL_S, pkt, n)); /* expired */
  /* From someone the flow never sent to: the first is filtered, so is
   * the rest. */
  n = frag(pkt, P, H, 78, 0, TRUE, 7000, 5000);
  assert_false(pass(fw, NL_NAT_INBOUND, 3 * NL_S, pkt, n));
  n = frag(pkt, P, H, 78, 16, FALSE, 0, 0);
  assert_false(pass(fw, NL_NAT_INBOUND, 3 * NL_S, pkt, n));
  nl_fw6_free(fw);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fw6_filters_by_behaviour),
      cmocka_unit_test(test_fw6_state_expires),
      cmocka_unit_test(test_fw6_icmp_errors_follow_state),
      cmocka_unit_test(test_fw6_echo),
      cmocka_unit_test(test_fw6_fragments_follow_their_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
