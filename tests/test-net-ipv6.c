/* IPv6 in sim/net: the wire formats (wire6.c) against bytes computed
 * independently, every truncation of a packet, extension headers; and the
 * network (net6.c): delivery on a segment, forwarding with the hop limit,
 * routers that never fragment (Packet Too Big back to the source, which
 * then fragments to the learnt path MTU), reassembly and its timeout,
 * ICMPv6 errors and echo, dual-stack and IPv6-only interfaces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sim/net/wire6.h"
#include "tests/test-net-util.h"

static NlIp6 A6(const char *s) {
  NlIp6 a;
  gboolean ok = nl_ip6_from_string(s, &a);
  g_assert(ok);
  return a;
}

/* ---- wire ---- */

/* UDP [2001:db8::1]:1000 > [2001:db8::2]:2000 "hi", hop limit 64: the
 * checksum 0x3044 was computed by a separate program over the RFC 8200
 * §8.1 pseudo-header. */
static const guint8 udp6_ref[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x0a, 17,   64,   0x20, 0x01, 0x0d,
    0xb8, 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    1,    0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    2,    0x03, 0xe8, 0x07, 0xd0,
    0x00, 0x0a, 0x30, 0x44, 'h',  'i'};

static void test_wire6_udp_matches_reference_bytes(void **state) {
  (void)state;
  guint8 buf[64];
  NlIp6 s = A6("2001:db8::1"), d = A6("2001:db8::2");
  size_t len = nl_udp6_build(buf, &s, 1000, &d, 2000, "hi", 2, 64, 0);
  assert_int_equal(len, sizeof udp6_ref);
  assert_memory_equal(buf, udp6_ref, len);
  NlIp6Header ip;
  NlUdpHeader u;
  assert_null(nl_ip6_parse(buf, len, &ip));
  assert_int_equal(ip.proto, NL_IPPROTO_UDP);
  assert_int_equal(ip.hdr_bytes, NL_IP6_HDR_LEN);
  assert_int_equal(ip.hop_limit, 64);
  assert_true(nl_ip6_equal(&ip.src, &s));
  assert_null(nl_udp6_parse(buf, len, &ip, &u));
  assert_int_equal(u.sport, 1000);
  assert_int_equal(u.dport, 2000);
  assert_int_equal(u.len, 10);
  /* A flipped payload bit fails the checksum; a zero checksum is an
   * error over IPv6 (RFC 8200 §8.1). */
  buf[len - 1] ^= 1;
  assert_string_equal(nl_udp6_parse(buf, len, &ip, &u), "bad UDP checksum");
  buf[len - 1] ^= 1;
  buf[46] = buf[47] = 0;
  assert_string_equal(nl_udp6_parse(buf, len, &ip, &u), "zero UDP checksum");
}

static void test_wire6_every_truncation_is_refused(void **state) {
  (void)state;
  for (size_t n = 0; n < sizeof udp6_ref; n++) {
    NlIp6Header ip;
    assert_non_null(nl_ip6_parse(udp6_ref, n, &ip));
    GString *s = g_string_new(NULL);
    nl_wire_describe(udp6_ref, n, s);
    assert_non_null(strstr(s->str, "malformed"));
    g_string_free(s, TRUE);
  }
}

static void test_wire6_tcp_round_trip(void **state) {
  (void)state;
  guint8 buf[128];
  NlIp6 s = A6("2001:db8:1::10"), d = A6("2001:db8:2::20");
  NlTcpHeader h = {.sport = 40000, .dport = 80, .seq = 7, .ack = 9,
                   .flags = NL_TCP_SYN | NL_TCP_ACK, .window = 65535,
                   .mss = 1440, .wscale = 8, .ts = TRUE, .tsval = 5,
                   .tsecr = 6};
  size_t len = nl_tcp6_build(buf, &s, &d, &h, "abc", 3, 63, 0x28);
  assert_int_equal(len, NL_IP6_HDR_LEN + NL_TCP_HDR_LEN + 20 + 3);
  NlIp6Header ip;
  NlTcpHeader t;
  assert_null(nl_ip6_parse(buf, len, &ip));
  assert_int_equal(ip.tclass, 0x28);
  assert_null(nl_tcp6_parse(buf, len, &ip, &t));
  assert_int_equal(t.sport, 40000);
  assert_int_equal(t.mss, 1440);
  assert_int_equal(t.wscale, 8);
  assert_true(t.ts);
  assert_int_equal(t.tsecr, 6);
  /* The checksum covers the addresses: another source fails it. */
  buf[23] ^= 1;
  assert_null(nl_ip6_parse(buf, len, &ip));
  assert_string_equal(nl_tcp6_parse(buf, len, &ip, &t), "bad TCP checksum");
}

static void test_wire6_extension_headers(void **state) {
  (void)state;
  guint8 buf[128];
  NlIp6 s = A6("2001:db8::1"), d = A6("2001:db8::2");
  size_t len = nl_udp6_build(buf, &s, 1, &d, 2, "x", 1, 64, 0);
  /* Insert a hop-by-hop (8 bytes of PadN) and a destination options
   * header (8 bytes) before UDP. */
  guint8 pkt[160];
  memcpy(pkt, buf, NL_IP6_HDR_LEN);
  pkt[6] = NL_IPPROTO_HOPOPTS;
  guint8 hbh[8] = {NL_IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0};
  guint8 dst[8] = {NL_IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0};
  memcpy(pkt + 40, hbh, 8);
  memcpy(pkt + 48, dst, 8);
  memcpy(pkt + 56, buf + 40, len - 40);
  size_t plen = len + 16;
  nl_wire_put16(pkt + 4, (uint16_t)(plen - 40));
  NlIp6Header ip;
  NlUdpHeader u;
  assert_null(nl_ip6_parse(pkt, plen, &ip));
  assert_int_equal(ip.proto, NL_IPPROTO_UDP);
  assert_int_equal(ip.hdr_bytes, 56);
  assert_null(nl_udp6_parse(pkt, plen, &ip, &u));
  /* Hop-by-hop anywhere but first is refused (RFC 8200 §4.1). */
  pkt[6] = NL_IPPROTO_DSTOPTS;
  pkt[40] = NL_IPPROTO_HOPOPTS;
  assert_string_equal(nl_ip6_parse(pkt, plen, &ip),
                      "hop-by-hop options header not first");
  /* An extension header running past the payload. */
  pkt[6] = NL_IPPROTO_HOPOPTS;
  pkt[40] = NL_IPPROTO_DSTOPTS;
  pkt[41] = 200;
  assert_string_equal(nl_ip6_parse(pkt, plen, &ip),
                      "truncated IPv6 extension header");
}

static void test_wire6_icmp6_error_quotes_within_min_mtu(void **state) {
  (void)state;
  guint8 big[3000], out[NL_IP6_MIN_MTU];
  NlIp6 s = A6("2001:db8::1"), d = A6("2001:db8::2"), r = A6("2001:db8::ff");
  guint8 payload[2900] = {0};
  size_t len = nl_udp6_build(big, &s, 1, &d, 2, payload, sizeof payload, 64, 0);
  size_t n = nl_icmp6_build_error(out, &r, NL_ICMP6_PACKET_TOO_BIG, 0, 1400,
                                  big, len);
  assert_int_equal(n, NL_IP6_MIN_MTU); /* RFC 4443 §2.4 (c) */
  NlIp6Header ip;
  assert_null(nl_ip6_parse(out, n, &ip));
  assert_int_equal(ip.proto, NL_IPPROTO_ICMPV6);
  assert_true(nl_ip6_equal(&ip.dst, &s));
  assert_int_equal(nl_wire_get32(out + 44), 1400);
  /* Its checksum holds over the pseudo-header. */
  uint32_t sum = nl_ip6_pseudo_sum(&ip.src, &ip.dst, NL_IPPROTO_ICMPV6,
                                   ip.payload_len);
  assert_int_equal(nl_wire_fold(nl_wire_sum(out + 40, ip.payload_len, sum)), 0);
  GString *t = g_string_new(NULL);
  nl_wire_describe(out, n, t);
  assert_string_equal(t->str, "ICMPv6 2001:db8::ff > 2001:db8::1 "
                              "packet-too-big mtu=1400 (about UDP "
                              "[2001:db8::1]:1 > [2001:db8::2]:2)");
  g_string_free(t, TRUE);
}

static void test_wire6_addresses(void **state) {
  (void)state;
  char buf[NL_IP6_STRLEN];
  NlIp6 m = nl_ip6_from4(A("192.0.2.10"));
  assert_true(nl_ip6_is_v4mapped(&m));
  assert_string_equal(nl_ip6_to_string(&m, buf), "::ffff:192.0.2.10");
  assert_int_equal(nl_ip6_to4(&m), A("192.0.2.10"));
  NlIp6 a = A6("2001:0db8:0000:0000:0000:0000:0000:0005");
  assert_string_equal(nl_ip6_to_string(&a, buf), "2001:db8::5"); /* 5952 */
  NlIp6 p = A6("2001:db8:ab00::");
  assert_true(nl_ip6_prefix_match(&a, &p, 32));
  assert_false(nl_ip6_prefix_match(&a, &p, 40));
  NlIp6 masked = nl_ip6_masked(&a, 33);
  assert_string_equal(nl_ip6_to_string(&masked, buf), "2001:db8::");
  NlIp6 ll = A6("fe80::1");
  assert_true(nl_ip6_is_linklocal(&ll));
  assert_false(nl_ip6_from_string("2001:db8::1::2", &a));
  assert_false(nl_ip6_from_string("10.0.0.1", &a));
}

/* ---- the network: a (lan) — r — b (far), all IPv6 ---- */

typedef struct {
  NlWorld *w;
  NlNode *a, *r, *b;
  Rx rxa, rxb;
} Net;

/* @far_mtu: the MTU of the link r-b (and b's). */
static void net_init(Net *n, guint far_mtu) {
  n->w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(n->w, "lan");
  NlNetwork *far = nl_network_new(n->w, "far");
  NlIp6 p1 = A6("2001:db8:1::"), p2 = A6("2001:db8:2::");
  nl_network_add_prefix6(lan, &p1, 64);
  nl_network_add_prefix6(far, &p2, 64);
  n->a = nl_node_new(n->w, "a", NL_NODE_HOST);
  n->r = nl_node_new(n->w, "r", NL_NODE_ROUTER);
  n->b = nl_node_new(n->w, "b", NL_NODE_HOST);
  NlLinkProps fp = {.mtu = far_mtu};
  NlIp6 aa = A6("2001:db8:1::10"), ra = A6("2001:db8:1::1"),
        rb = A6("2001:db8:2::1"), ba = A6("2001:db8:2::20");
  nl_iface_add_addr6(nl_node_attach(n->a, lan, 0, NULL), &aa);
  nl_iface_add_addr6(nl_node_attach(n->r, lan, 0, NULL), &ra);
  nl_iface_add_addr6(nl_node_attach(n->r, far, 0, &fp), &rb);
  nl_iface_add_addr6(nl_node_attach(n->b, far, 0, &fp), &ba);
  NlIp6 any = A6("::");
  nl_node_add_route6(n->a, &any, 0, &ra);
  nl_node_add_route6(n->b, &any, 0, &rb);
  rx_init(&n->rxa);
  rx_init(&n->rxb);
  rx_hook(n->a, &n->rxa);
  rx_hook(n->b, &n->rxb);
}

static void net_clear(Net *n) {
  nl_world_free(n->w);
  rx_clear(&n->rxa);
  rx_clear(&n->rxb);
}

/* A UDP datagram of @plen pattern bytes from a to b. */
static int send_ab(Net *n, size_t plen, uint8_t hops, gboolean frag) {
  guint8 *buf = g_malloc(NL_IP6_HDR_LEN + NL_UDP_HDR_LEN + plen);
  guint8 *payload = g_malloc(plen + 1);
  for (guint i = 0; i < plen; i++)
    payload[i] = pattern(7, i);
  NlIp6 s = A6("2001:db8:1::10"), d = A6("2001:db8:2::20");
  size_t len = nl_udp6_build(buf, &s, 4000, &d, 5000, payload, plen, hops, 0);
  int rc = nl_node_send6(n->a, buf, len, frag);
  g_free(buf);
  g_free(payload);
  return rc;
}

static void assert_udp_payload(const Rx *rx, guint i, size_t plen) {
  gsize len;
  const guint8 *p = rx_data(rx, i, &len);
  NlIp6Header ip;
  NlUdpHeader u;
  assert_null(nl_ip6_parse(p, len, &ip));
  assert_false(ip.frag);
  assert_null(nl_udp6_parse(p, len, &ip, &u));
  assert_int_equal(u.len - NL_UDP_HDR_LEN, plen);
  for (guint k = 0; k < plen; k++)
    if (p[ip.hdr_bytes + NL_UDP_HDR_LEN + k] != pattern(7, k))
      fail_msg("payload byte %u differs", k);
}

static void test_net6_router_forwards_with_hop_limit(void **state) {
  (void)state;
  Net n;
  net_init(&n, 1500);
  assert_int_equal(send_ab(&n, 100, 64, FALSE), 0);
  run(n.w);
  assert_int_equal(n.rxb.pkts->len, 1);
  assert_udp_payload(&n.rxb, 0, 100);
  gsize len;
  const guint8 *p = rx_data(&n.rxb, 0, &len);
  assert_int_equal(p[7], 63);
  assert_int_equal(count_drops(n.w), 0);
  net_clear(&n);
}

static void test_net6_hop_limit_exceeded(void **state) {
  (void)state;
  Net n;
  net_init(&n, 1500);
  assert_int_equal(send_ab(&n, 10, 1, FALSE), 0);
  run(n.w);
  assert_int_equal(n.rxb.pkts->len, 0);
  assert_int_equal(count(n.w, NL_TRACE_PKT_DROP, "r", NL_DROP_TTL), 1);
  assert_int_equal(n.rxa.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&n.rxa, 0, &len);
  assert_int_equal(p[6], NL_IPPROTO_ICMPV6);
  assert_int_equal(p[40], NL_ICMP6_TIME_EXCEEDED);
  assert_int_equal(p[41], NL_ICMP6_HOP_LIMIT);
  net_clear(&n);
}

static void test_net6_no_route_and_port_unreachable(void **state) {
  (void)state;
  Net n;
  net_init(&n, 1500);
  /* To a prefix r has no route for. */
  guint8 buf[64];
  NlIp6 s = A6("2001:db8:1::10"), d = A6("2001:db8:99::1");
  size_t len = nl_udp6_build(buf, &s, 1, &d, 2, "x", 1, 64, 0);
  assert_int_equal(nl_node_send6(n.a, buf, len, FALSE), 0);
  /* To b with no hook: port unreachable, as an unbound port. */
  NlNodeHooks none = {0};
  nl_node_set_hooks(n.b, &none);
  assert_int_equal(send_ab(&n, 10, 64, FALSE), 0);
  run(n.w);
  assert_int_equal(n.rxa.pkts->len, 2);
  gsize l0, l1;
  const guint8 *p0 = rx_data(&n.rxa, 0, &l0), *p1 = rx_data(&n.rxa, 1, &l1);
  assert_int_equal(p0[40], NL_ICMP6_DEST_UNREACH);
  assert_int_equal(p0[41], NL_ICMP6_NO_ROUTE);
  assert_int_equal(p1[40], NL_ICMP6_DEST_UNREACH);
  assert_int_equal(p1[41], NL_ICMP6_PORT_UNREACH);
  assert_int_equal(count(n.w, NL_TRACE_PKT_DROP, "r", NL_DROP_NO_ROUTE), 1);
  assert_int_equal(
      count(n.w, NL_TRACE_PKT_DROP, "b", NL_DROP_PORT_UNREACHABLE), 1);
  net_clear(&n);
}

static NlWorld *ptb_run(Rx *unused) {
  (void)unused;
  Net *n = g_new0(Net, 1);
  net_init(n, 1280);
  assert_int_equal(send_ab(n, 1400, 64, TRUE), 0); /* fits a's link */
  nl_event_run_until(nl_world_queue(n->w), NL_S);
  assert_int_equal(send_ab(n, 1400, 64, TRUE), 0); /* after the PTB */
  run(n->w);
  NlWorld *w = n->w;
  rx_clear(&n->rxa);
  rx_clear(&n->rxb);
  g_free(n);
  return w;
}

static void test_net6_router_sends_packet_too_big_and_next_fits(void **s) {
  (void)s;
  Net n;
  net_init(&n, 1280);
  NlIp6 d = A6("2001:db8:2::20");
  guint mtu = 0;
  assert_true(nl_node_source6(n.a, &d, NULL, &mtu));
  assert_int_equal(mtu, 1500);
  /* 1448 bytes fit a's link: a sends it whole; r may not fragment. */
  assert_int_equal(send_ab(&n, 1400, 64, TRUE), 0);
  nl_event_run_until(nl_world_queue(n.w), NL_S);
  assert_int_equal(n.rxb.pkts->len, 0);
  assert_int_equal(count(n.w, NL_TRACE_PKT_DROP, "r", NL_DROP_TOO_BIG), 1);
  assert_int_equal(n.rxa.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&n.rxa, 0, &len);
  assert_int_equal(p[40], NL_ICMP6_PACKET_TOO_BIG);
  assert_int_equal(nl_wire_get32(p + 44), 1280);
  assert_true(nl_node_source6(n.a, &d, NULL, &mtu));
  assert_int_equal(mtu, 1280);
  /* The next one is fragmented at the source to fit, and arrives whole;
   * refused when the sender may not fragment. */
  assert_int_equal(send_ab(&n, 1400, 64, FALSE), -EMSGSIZE);
  assert_int_equal(send_ab(&n, 1400, 64, TRUE), 0);
  run(n.w);
  assert_int_equal(n.rxb.pkts->len, 1);
  assert_udp_payload(&n.rxb, 0, 1400);
  GArray *frags = recs(n.w, NL_TRACE_PKT_RECV, "b", NL_DROP_NONE);
  assert_int_equal(frags->len, 2);
  for (guint i = 0; i < frags->len; i++) {
    Rec *r = &g_array_index(frags, Rec, i);
    NlIp6Header ip;
    assert_true(r->len <= 1280);
    assert_null(nl_ip6_parse(r->data, r->len, &ip));
    assert_true(ip.frag);
    assert_int_equal(ip.mf, i == 0);
  }
  g_array_free(frags, TRUE);
  net_clear(&n);
  NlWorld *w = ptb_run(NULL);
  assert_rerun_identical(w, ptb_run);
  nl_world_free(w);
}

static void test_net6_pmtu_floor_and_expiry(void **state) {
  (void)state;
  Net n;
  net_init(&n, 1500);
  NlIp6 d = A6("2001:db8:2::20");
  guint mtu;
  nl_node_learn_pmtu6(n.a, &d, 600); /* below the minimum: 1280 */
  assert_true(nl_node_source6(n.a, &d, NULL, &mtu));
  assert_int_equal(mtu, 1280);
  nl_node_learn_pmtu6(n.a, &d, 1400); /* never raised */
  assert_true(nl_node_source6(n.a, &d, NULL, &mtu));
  assert_int_equal(mtu, 1280);
  nl_event_run_until(nl_world_queue(n.w), NL_PMTU6_EXPIRES);
  assert_true(nl_node_source6(n.a, &d, NULL, &mtu));
  assert_int_equal(mtu, 1500);
  net_clear(&n);
}

static void test_net6_reassembly_timeout(void **state) {
  (void)state;
  Net n;
  net_init(&n, 1500);
  /* Only the first of two fragments (the rest lost). */
  guint8 buf[2000];
  NlIp6 s = A6("2001:db8:1::10"), d = A6("2001:db8:2::20");
  guint8 payload[1000] = {0};
  nl_udp6_build(buf, &s, 1, &d, 2, payload, sizeof payload, 64, 0);
  guint8 f[600];
  memcpy(f, buf, 40);
  f[6] = NL_IPPROTO_FRAGMENT;
  f[40] = NL_IPPROTO_UDP;
  f[41] = 0;
  nl_wire_put16(f + 42, 0 | 1);
  nl_wire_put32(f + 44, 99);
  memcpy(f + 48, buf + 40, 512);
  nl_wire_put16(f + 4, 8 + 512);
  assert_int_equal(nl_node_send6(n.a, f, 48 + 512, FALSE), 0);
  nl_event_run_until(nl_world_queue(n.w), 59 * NL_S);
  assert_int_equal(count(n.w, NL_TRACE_PKT_DROP, "b", NL_DROP_REASSEMBLY), 0);
  run(n.w);
  assert_int_equal(count(n.w, NL_TRACE_PKT_DROP, "b", NL_DROP_REASSEMBLY), 1);
  assert_int_equal(n.rxb.pkts->len, 0);
  assert_int_equal(n.rxa.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&n.rxa, 0, &len);
  assert_int_equal(p[40], NL_ICMP6_TIME_EXCEEDED);
  assert_int_equal(p[41], NL_ICMP6_REASSEMBLY);
  net_clear(&n);
}

static void test_net6_ping_and_dual_stack(void **state) {
  (void)state;
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, A("10.0.0.0"), 24);
  NlIp6 p = A6("2001:db8::");
  nl_network_add_prefix6(lan, &p, 64);
  NlNode *a = nl_node_new(w, "a", NL_NODE_HOST);
  NlNode *b = nl_node_new(w, "b", NL_NODE_HOST);
  NlNode *c = nl_node_new(w, "c", NL_NODE_HOST);
  NlIp6 a6 = A6("2001:db8::1"), b6 = A6("2001:db8::2");
  nl_iface_add_addr6(nl_node_attach(a, lan, A("10.0.0.1"), NULL), &a6);
  nl_iface_add_addr6(nl_node_attach(b, lan, 0, NULL), &b6); /* v6 only */
  nl_node_attach(c, lan, A("10.0.0.3"), NULL);              /* v4 only */
  assert_true(nl_node_has_ip6(a) && nl_node_has_ip4(a));
  assert_true(nl_node_has_ip6(b) && !nl_node_has_ip4(b));
  assert_true(!nl_node_has_ip6(c) && nl_node_has_ip4(c));
  /* b has no IPv4 route, c no IPv6 one. */
  NlIface *f;
  uint32_t nh4;
  NlIp6 nh6;
  assert_false(nl_node_route(b, A("10.0.0.1"), &f, &nh4));
  assert_false(nl_node_route6(c, &a6, &f, &nh6));
  assert_true(nl_node_route6(a, &b6, &f, &nh6));
  Rx rx;
  rx_init(&rx);
  rx_hook(a, &rx);
  /* a pings b over IPv6; b's kernel answers. */
  guint8 echo[48];
  NlIp6Header h = {.payload_len = 8, .next = NL_IPPROTO_ICMPV6,
                   .hop_limit = 64, .src = a6, .dst = b6};
  nl_ip6_write(echo, &h);
  guint8 ic[8] = {NL_ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1};
  memcpy(echo + 40, ic, 8);
  nl_ip6_update_l4_checksum(echo, sizeof echo);
  assert_int_equal(nl_node_send6(a, echo, sizeof echo, FALSE), 0);
  run(w);
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *r = rx_data(&rx, 0, &len);
  assert_int_equal(r[40], NL_ICMP6_ECHO_REPLY);
  NlIp6Header rh;
  assert_null(nl_ip6_parse(r, len, &rh));
  assert_true(nl_ip6_equal(&rh.src, &b6));
  /* AAAA names: the address on the asker's network first. */
  NlIp6 other = A6("2001:db8:ffff::2");
  nl_world_add_name6(w, "b", &other);
  nl_world_add_name6(w, "b", &b6);
  NlIp6 out[4];
  assert_int_equal(nl_world_lookup_name6(w, a, "B", out, 4), 2);
  assert_true(nl_ip6_equal(&out[0], &b6));
  assert_true(nl_ip6_equal(&out[1], &other));
  assert_int_equal(nl_world_lookup_name6(w, a, "nobody", out, 4), 0);
  assert_string_equal(nl_world_name_of6(w, &b6), "b");
  rx_clear(&rx);
  nl_world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire6_udp_matches_reference_bytes),
      cmocka_unit_test(test_wire6_every_truncation_is_refused),
      cmocka_unit_test(test_wire6_tcp_round_trip),
      cmocka_unit_test(test_wire6_extension_headers),
      cmocka_unit_test(test_wire6_icmp6_error_quotes_within_min_mtu),
      cmocka_unit_test(test_wire6_addresses),
      cmocka_unit_test(test_net6_router_forwards_with_hop_limit),
      cmocka_unit_test(test_net6_hop_limit_exceeded),
      cmocka_unit_test(test_net6_no_route_and_port_unreachable),
      cmocka_unit_test(test_net6_router_sends_packet_too_big_and_next_fits),
      cmocka_unit_test(test_net6_pmtu_floor_and_expiry),
      cmocka_unit_test(test_net6_reassembly_timeout),
      cmocka_unit_test(test_net6_ping_and_dual_stack),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
