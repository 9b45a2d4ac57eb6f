/* Routing and forwarding in sim/net/net.c: longest-prefix match, connected
 * versus static routes, default routes, unreachable destinations, TTL,
 * hosts that do not forward, gateways that are not on-link, missing
 * neighbours and loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-net-util.h"

/* The IP id of a packet record. */
static uint16_t rec_ip_id(const Rec *r) {
  NlIp4Header ip;
  assert_ip_ok(r->data, r->len, &ip);
  return ip.id;
}

/* ---- longest-prefix match ---- */

/* src has two networks, each with a router: gwa 10.0.0.2 on neta and
 * gwb 10.0.9.2 on netb.  Routes (declared out of order):
 * 192.168.5.128/25 via gwa, 192.168.0.0/16 via gwa, 192.168.5.0/24 via
 * gwb.  Datagrams 1, 2, 3 go to 192.168.1.1, 192.168.5.1, 192.168.5.200. */
static NlWorld *sc_lpm(Rx *rx) {
  (void)rx;
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *na = nl_network_new(w, "neta");
  NlNetwork *nb = nl_network_new(w, "netb");
  nl_network_add_prefix(na, A("10.0.0.0"), 24);
  nl_network_add_prefix(nb, A("10.0.9.0"), 24);
  NlNode *src = nl_node_new(w, "src", NL_NODE_HOST);
  NlNode *gwa = nl_node_new(w, "gwa", NL_NODE_ROUTER);
  NlNode *gwb = nl_node_new(w, "gwb", NL_NODE_ROUTER);
  nl_node_attach(src, na, A("10.0.0.1"), NULL);
  nl_node_attach(src, nb, A("10.0.9.1"), NULL);
  nl_node_attach(gwa, na, A("10.0.0.2"), NULL);
  nl_node_attach(gwb, nb, A("10.0.9.2"), NULL);
  nl_node_add_route(src, A("192.168.5.128"), 25, A("10.0.0.2"));
  nl_node_add_route(src, A("192.168.0.0"), 16, A("10.0.0.2"));
  nl_node_add_route(src, A("192.168.5.0"), 24, A("10.0.9.2"));
  assert_int_equal(udp_send(src, 0, A("192.168.1.1"), 10, 1, 64, FALSE), 0);
  assert_int_equal(udp_send(src, 0, A("192.168.5.1"), 10, 2, 64, FALSE), 0);
  assert_int_equal(udp_send(src, 0, A("192.168.5.200"), 10, 3, 64, FALSE),
                   0);
  run(w);
  return w;
}

static void test_routing_longest_prefix_wins(void **state) {
  (void)state;
  NlWorld *w = sc_lpm(NULL);
  NlNode *src = nl_world_find_node(w, "src");
  NlIface *f;
  uint32_t nh;
  assert_true(nl_node_route(src, A("192.168.1.1"), &f, &nh));
  assert_ptr_equal(f, nl_node_find_iface(src, "neta"));
  assert_int_equal(nh, A("10.0.0.2"));
  assert_true(nl_node_route(src, A("192.168.5.1"), &f, &nh));
  assert_ptr_equal(f, nl_node_find_iface(src, "netb"));
  assert_int_equal(nh, A("10.0.9.2"));
  assert_true(nl_node_route(src, A("192.168.5.200"), &f, &nh));
  assert_ptr_equal(f, nl_node_find_iface(src, "neta"));
  assert_int_equal(nh, A("10.0.0.2"));

  /* The packets went where the table says: 1 and 3 to gwa, 2 to gwb. */
  GArray *ra = recs(w, NL_TRACE_PKT_RECV, "gwa", NL_DROP_NONE);
  GArray *rb = recs(w, NL_TRACE_PKT_RECV, "gwb", NL_DROP_NONE);
  assert_int_equal(ra->len, 2);
  assert_int_equal(rb->len, 1);
  assert_int_equal(rec_ip_id(&g_array_index(ra, Rec, 0)), 1);
  assert_int_equal(rec_ip_id(&g_array_index(ra, Rec, 1)), 3);
  assert_int_equal(rec_ip_id(&g_array_index(rb, Rec, 0)), 2);
  g_array_free(ra, TRUE);
  g_array_free(rb, TRUE);
  assert_rerun_identical(w, sc_lpm);
  nl_world_free(w);
}

/* ---- connected beats static of the same length ---- */

/* src is on lan 10.0.1.0/24 (with dst) and on wan 10.0.2.0/24 (with gw).
 * A static route 10.0.1.0/24 via gw has the connected route's length. */
static NlWorld *sc_connected(Rx *rx) {
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  NlNetwork *wan = nl_network_new(w, "wan");
  nl_network_add_prefix(lan, A("10.0.1.0"), 24);
  nl_network_add_prefix(wan, A("10.0.2.0"), 24);
  NlNode *src = nl_node_new(w, "src", NL_NODE_HOST);
  NlNode *gw = nl_node_new(w, "gw", NL_NODE_ROUTER);
  NlNode *dst = nl_node_new(w, "dst", NL_NODE_HOST);
  /* The static route is declared before the links exist. */
  nl_node_add_route(src, A("10.0.1.0"), 24, A("10.0.2.1"));
  nl_node_attach(src, wan, A("10.0.2.10"), NULL);
  nl_node_attach(src, lan, A("10.0.1.10"), NULL);
  nl_node_attach(gw, wan, A("10.0.2.1"), NULL);
  nl_node_attach(gw, lan, A("10.0.1.1"), NULL);
  nl_node_attach(dst, lan, A("10.0.1.20"), NULL);
  rx_hook(dst, rx);
  assert_int_equal(
      udp_send(src, A("10.0.1.10"), A("10.0.1.20"), 20, 7, 64, FALSE), 0);
  run(w);
  return w;
}

static void test_routing_connected_beats_static(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_connected(&rx);
  NlNode *src = nl_world_find_node(w, "src");
  NlIface *f;
  uint32_t nh;
  assert_true(nl_node_route(src, A("10.0.1.20"), &f, &nh));
  assert_ptr_equal(f, nl_node_find_iface(src, "lan"));
  assert_int_equal(nh, A("10.0.1.20"));
  /* Delivered straight, with its TTL untouched; gw never saw it. */
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip;
  assert_ip_ok(p, len, &ip);
  assert_int_equal(ip.ttl, 64);
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "gw", 0), 0);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_connected);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- default route ---- */

/* h1 (default via r1) sends to a server on the far network; the server
 * answers nothing (it has no route back, which this test does not need). */
static NlWorld *sc_default(Rx *rx) {
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  NlNetwork *net = nl_network_new(w, "internet");
  nl_network_add_prefix(lan, A("10.0.1.0"), 24);
  nl_network_add_prefix(net, A("198.51.100.0"), 24);
  NlNode *h = nl_node_new(w, "h", NL_NODE_HOST);
  NlNode *r = nl_node_new(w, "r", NL_NODE_ROUTER);
  NlNode *s = nl_node_new(w, "server", NL_NODE_HOST);
  nl_node_attach(h, lan, A("10.0.1.10"), NULL);
  nl_node_attach(r, lan, A("10.0.1.1"), NULL);
  nl_node_attach(r, net, A("198.51.100.1"), NULL);
  nl_node_attach(s, net, A("198.51.100.7"), NULL);
  nl_node_add_route(h, 0, 0, A("10.0.1.1"));
  rx_hook(s, rx);
  assert_int_equal(udp_send(h, 0, A("198.51.100.7"), 30, 9, 64, FALSE), 0);
  run(w);
  return w;
}

static void test_routing_default_route(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_default(&rx);
  NlNode *h = nl_world_find_node(w, "h");
  NlIface *f;
  uint32_t nh;
  /* Anything off the lan goes to the gateway. */
  assert_true(nl_node_route(h, A("8.8.8.8"), &f, &nh));
  assert_int_equal(nh, A("10.0.1.1"));
  assert_true(nl_node_route(h, A("10.0.1.99"), &f, &nh));
  assert_int_equal(nh, A("10.0.1.99"));
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  NlIp4Header ip;
  const guint8 *p = rx_data(&rx, 0, &len);
  assert_ip_ok(p, len, &ip);
  assert_int_equal(ip.src, A("10.0.1.10"));
  assert_int_equal(ip.ttl, 63);
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "r", 0), 1);
  assert_rerun_identical(w, sc_default);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- no route ---- */

static void test_routing_no_route_local_enetunreach(void **state) {
  (void)state;
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, A("10.0.1.0"), 24);
  NlNode *h = nl_node_new(w, "h", NL_NODE_HOST);
  nl_node_attach(h, lan, A("10.0.1.10"), NULL);
  NlIface *f;
  uint32_t nh;
  assert_false(nl_node_route(h, A("203.0.113.1"), &f, &nh));
  assert_null(f);
  assert_int_equal(udp_send(h, 0, A("203.0.113.1"), 10, 1, 64, FALSE),
                   -ENETUNREACH);
  run(w);
  /* Nothing left the node. */
  assert_int_equal(count(w, NL_TRACE_PKT_SEND, NULL, 0), 0);
  NlNetStats st;
  nl_world_stats(w, &st);
  assert_int_equal(st.sent, 0);
  nl_world_free(w);
}

/* h1 routes everything to r1; r1 knows no way to 203.0.113.1. */
static NlWorld *sc_router_no_route(Rx *rx) {
  Chain c;
  chain_build(&c, NULL, rx, NULL);
  assert_int_equal(udp_send(c.h1, 0, A("203.0.113.1"), 12, 21, 64, FALSE),
                   0);
  run(c.w);
  return c.w;
}

static void test_routing_router_no_route_icmp(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_router_no_route(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  Rec *r = &g_array_index(d, Rec, 0);
  assert_string_equal(r->node, "r1");
  assert_int_equal(r->why, NL_DROP_NO_ROUTE);
  g_array_free(d, TRUE);
  /* h1 hears an ICMP net unreachable from r1 about its datagram. */
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip, q;
  assert_icmp(p, len, NL_ICMP_DEST_UNREACH, NL_ICMP_NET_UNREACH, &ip, &q);
  assert_int_equal(ip.src, A("10.0.1.1"));
  assert_int_equal(ip.dst, H1);
  assert_int_equal(q.id, 21);
  assert_int_equal(q.src, H1);
  assert_int_equal(q.dst, A("203.0.113.1"));
  assert_int_equal(q.proto, NL_IPPROTO_UDP);
  assert_rerun_identical(w, sc_router_no_route);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- three hops ---- */

static NlWorld *sc_three_hops(Rx *rx) {
  Chain c;
  chain_build(&c, NULL, NULL, rx);
  assert_int_equal(udp_send(c.h1, 0, H2, 100, 33, 64, FALSE), 0);
  run(c.w);
  return c.w;
}

static void test_routing_three_hops_ttl_and_checksum(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_three_hops(&rx);
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip;
  assert_ip_ok(p, len, &ip);
  assert_int_equal(ip.ttl, 62); /* two routers */
  assert_int_equal(ip.src, H1);
  assert_int_equal(ip.dst, H2);
  assert_int_equal(len, NL_IP4_HDR_LEN + NL_UDP_HDR_LEN + 100);
  NlUdpHeader u;
  assert_null(nl_udp4_parse(p, len, &ip, &u));
  assert_int_equal(u.dport, 5000);
  for (guint i = 0; i < 100; i++)
    assert_int_equal(p[28 + i], pattern(33, i));
  /* One send and one receive per hop, each hop its own id. */
  GArray *s = recs(w, NL_TRACE_PKT_SEND, NULL, 0);
  GArray *r = recs(w, NL_TRACE_PKT_RECV, NULL, 0);
  assert_int_equal(s->len, 3);
  assert_int_equal(r->len, 3);
  static const char *const from[] = {"h1", "r1", "r2"};
  static const char *const to[] = {"r1", "r2", "h2"};
  for (guint i = 0; i < 3; i++) {
    Rec *a = &g_array_index(s, Rec, i), *b = &g_array_index(r, Rec, i);
    assert_string_equal(a->node, from[i]);
    assert_string_equal(a->peer, to[i]);
    assert_string_equal(b->node, to[i]);
    assert_int_equal(a->id, b->id);
    NlIp4Header h;
    assert_ip_ok(b->data, b->len, &h);
    assert_int_equal(h.ttl, 64 - i);
  }
  g_array_free(s, TRUE);
  g_array_free(r, TRUE);
  NlNetStats st;
  nl_world_stats(w, &st);
  assert_int_equal(st.forwarded, 2);
  assert_int_equal(st.dropped, 0);
  assert_rerun_identical(w, sc_three_hops);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- TTL expiry ---- */

/* TTL 2: r1 forwards it with TTL 1, r2 may not. */
static NlWorld *sc_ttl(Rx *rx) {
  Chain c;
  Rx *rx2 = g_new0(Rx, 1);
  rx_init(rx2);
  chain_build(&c, NULL, rx, rx2);
  assert_int_equal(udp_send(c.h1, 0, H2, 8, 44, 2, FALSE), 0);
  run(c.w);
  /* h2 never gets it. */
  assert_int_equal(rx2->pkts->len, 0);
  rx_clear(rx2);
  g_free(rx2);
  return c.w;
}

static void test_routing_ttl_expiry_time_exceeded(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_ttl(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_string_equal(g_array_index(d, Rec, 0).node, "r2");
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_TTL);
  g_array_free(d, TRUE);
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  NlIp4Header ip, q;
  const guint8 *p = rx_data(&rx, 0, &len);
  assert_icmp(p, len, NL_ICMP_TIME_EXCEEDED, 0, &ip, &q);
  assert_int_equal(ip.src, A("10.0.2.2")); /* r2's address towards h1 */
  assert_int_equal(ip.dst, H1);
  assert_int_equal(ip.ttl, 63); /* sent with 64, through r1 */
  assert_int_equal(q.id, 44);
  assert_int_equal(q.dst, H2);
  assert_int_equal(q.ttl, 1);
  assert_rerun_identical(w, sc_ttl);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- a routing loop ends by TTL ---- */

/* r1 and r2 each send 203.0.113.0/24 to the other. */
static NlWorld *sc_loop(Rx *rx) {
  Chain c;
  chain_build(&c, NULL, rx, NULL);
  nl_node_add_route(c.r1, A("203.0.113.0"), 24, A("10.0.2.2"));
  nl_node_add_route(c.r2, A("203.0.113.0"), 24, A("10.0.2.1"));
  assert_int_equal(udp_send(c.h1, 0, A("203.0.113.9"), 8, 88, 10, FALSE), 0);
  run(c.w);
  return c.w;
}

static void test_routing_loop_ends_by_ttl(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_loop(&rx);
  /* TTL 10 reaches r1 (10), r2 (9), ... r2 (1), which drops it. */
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "r1", 0), 5 + 1);
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "r2", 0), 5);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_string_equal(g_array_index(d, Rec, 0).node, "r2");
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_TTL);
  g_array_free(d, TRUE);
  /* The ICMP came back through r1 (the sixth packet r1 got). */
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip, q;
  assert_icmp(p, len, NL_ICMP_TIME_EXCEEDED, 0, &ip, &q);
  assert_int_equal(ip.src, A("10.0.2.2"));
  assert_int_equal(q.id, 88);
  assert_rerun_identical(w, sc_loop);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- prefixes added to a network later ---- */

static void test_routing_prefix_added_later(void **state) {
  (void)state;
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, A("10.0.1.0"), 24);
  NlNode *h = nl_node_new(w, "h", NL_NODE_HOST);
  nl_node_attach(h, lan, A("10.0.1.10"), NULL);
  NlIface *f;
  uint32_t nh;
  assert_false(nl_node_route(h, A("10.0.5.9"), &f, &nh));
  /* The segment now carries a second prefix: it is on-link too. */
  nl_network_add_prefix(lan, A("10.0.5.0"), 24);
  assert_true(nl_network_contains(lan, A("10.0.5.9")));
  assert_true(nl_node_route(h, A("10.0.5.9"), &f, &nh));
  assert_ptr_equal(f, nl_node_iface(h, 0));
  assert_int_equal(nh, A("10.0.5.9"));
  nl_world_free(w);
}

/* ---- hosts do not forward ---- */

/* src routes 10.0.2.0/24 via mh, a host on both networks; dst is on the
 * far one.  With @forward, mh is allowed to forward. */
static NlWorld *multihomed(Rx *rx, gboolean forward) {
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *a = nl_network_new(w, "a");
  NlNetwork *b = nl_network_new(w, "b");
  nl_network_add_prefix(a, A("10.0.1.0"), 24);
  nl_network_add_prefix(b, A("10.0.2.0"), 24);
  NlNode *src = nl_node_new(w, "src", NL_NODE_HOST);
  NlNode *mh = nl_node_new(w, "mh", NL_NODE_HOST);
  NlNode *dst = nl_node_new(w, "dst", NL_NODE_HOST);
  nl_node_attach(src, a, A("10.0.1.10"), NULL);
  nl_node_attach(mh, a, A("10.0.1.1"), NULL);
  nl_node_attach(mh, b, A("10.0.2.1"), NULL);
  nl_node_attach(dst, b, A("10.0.2.10"), NULL);
  nl_node_add_route(src, A("10.0.2.0"), 24, A("10.0.1.1"));
  if (forward)
    nl_node_set_forwarding(mh, TRUE);
  rx_hook(dst, rx);
  assert_int_equal(udp_send(src, 0, A("10.0.2.10"), 16, 55, 64, FALSE), 0);
  run(w);
  return w;
}

static NlWorld *sc_host_no_forward(Rx *rx) {
  return multihomed(rx, FALSE);
}

static void test_routing_host_does_not_forward(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_host_no_forward(&rx);
  assert_int_equal(rx.pkts->len, 0);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_string_equal(g_array_index(d, Rec, 0).node, "mh");
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_NOT_FOR_US);
  g_array_free(d, TRUE);
  assert_rerun_identical(w, sc_host_no_forward);
  nl_world_free(w);
  rx_clear(&rx);

  /* The same host with forwarding on passes it on. */
  rx_init(&rx);
  w = multihomed(&rx, TRUE);
  assert_int_equal(rx.pkts->len, 1);
  assert_int_equal(count_drops(w), 0);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- gateways must be on-link ---- */

/* h has a default route via r1 (on-link) and a more specific route
 * 203.0.113.0/24 via 10.9.9.1, which is on none of its networks. */
static NlWorld *sc_offlink(Rx *rx) {
  (void)rx;
  Chain c;
  chain_build(&c, NULL, NULL, NULL);
  nl_node_add_route(c.h1, A("203.0.113.0"), 24, A("10.9.9.1"));
  assert_int_equal(udp_send(c.h1, 0, A("203.0.113.5"), 8, 66, 64, FALSE), 0);
  run(c.w);
  return c.w;
}

static void test_routing_offlink_gateway_ignored(void **state) {
  (void)state;
  NlWorld *w = sc_offlink(NULL);
  NlNode *h1 = nl_world_find_node(w, "h1");
  NlIface *f;
  uint32_t nh;
  /* The /24 is not in the table: the default route answers. */
  assert_true(nl_node_route(h1, A("203.0.113.5"), &f, &nh));
  assert_int_equal(nh, A("10.0.1.1"));
  /* The datagram went to r1, which had no route for it. */
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "r1", 0), 1);
  assert_int_equal(count(w, NL_TRACE_PKT_DROP, "r1", NL_DROP_NO_ROUTE), 1);
  assert_rerun_identical(w, sc_offlink);
  nl_world_free(w);

  /* Alone, an off-link route is no route at all. */
  w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, A("10.0.1.0"), 24);
  NlNode *h = nl_node_new(w, "h", NL_NODE_HOST);
  nl_node_attach(h, lan, A("10.0.1.10"), NULL);
  nl_node_add_route(h, 0, 0, A("192.0.2.1"));
  assert_false(nl_node_route(h, A("203.0.113.5"), &f, &nh));
  assert_int_equal(udp_send(h, 0, A("203.0.113.5"), 8, 1, 64, FALSE),
                   -ENETUNREACH);
  nl_world_free(w);
}

/* ---- no neighbour ---- */

/* A route via 10.0.1.99, on-link but nobody's address; and a datagram to
 * 10.0.1.77 on the lan, also nobody's. */
static NlWorld *sc_no_neighbour(Rx *rx) {
  (void)rx;
  Chain c;
  chain_build(&c, NULL, NULL, NULL);
  nl_node_add_route(c.h1, A("203.0.113.0"), 24, A("10.0.1.99"));
  assert_int_equal(udp_send(c.h1, 0, A("203.0.113.5"), 8, 1, 64, FALSE), 0);
  assert_int_equal(udp_send(c.h1, 0, A("10.0.1.77"), 8, 2, 64, FALSE), 0);
  /* And a router whose next hop is missing: r2 forwards to 10.0.3.200. */
  assert_int_equal(udp_send(c.h1, 0, A("10.0.3.200"), 8, 3, 64, FALSE), 0);
  run(c.w);
  return c.w;
}

static void test_routing_no_neighbour(void **state) {
  (void)state;
  NlWorld *w = sc_no_neighbour(NULL);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 3);
  static const char *const at[] = {"h1", "h1", "r2"};
  for (guint i = 0; i < 3; i++) {
    Rec *r = &g_array_index(d, Rec, i);
    assert_string_equal(r->node, at[i]);
    assert_int_equal(r->why, NL_DROP_NO_NEIGHBOUR);
    assert_int_equal(rec_ip_id(r), i + 1);
  }
  g_array_free(d, TRUE);
  /* Nothing was put on lan1 except the datagram for r1 to forward. */
  assert_int_equal(count(w, NL_TRACE_PKT_SEND, "h1", 0), 1);
  assert_rerun_identical(w, sc_no_neighbour);
  nl_world_free(w);
}

/* ---- what a node without upper layers answers ---- */

/* h1 pings h2 and sends it a UDP datagram; h2 has no hooks. */
static NlWorld *sc_default_answers(Rx *rx) {
  Chain c;
  chain_build(&c, NULL, rx, NULL);
  guint8 buf[NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN + 16];
  NlIp4Header h = {.total_len = sizeof buf, .id = 91, .ttl = 64,
                   .proto = NL_IPPROTO_ICMP, .src = H1, .dst = H2};
  nl_ip4_write(buf, &h);
  guint8 *ic = buf + NL_IP4_HDR_LEN;
  memset(ic, 0, NL_ICMP_HDR_LEN);
  ic[0] = NL_ICMP_ECHO_REQUEST;
  ic[5] = 0x42; /* identifier */
  ic[7] = 7;    /* sequence */
  for (guint i = 0; i < 16; i++)
    ic[NL_ICMP_HDR_LEN + i] = (guint8)(0xa0 + i);
  uint16_t sum = nl_wire_checksum(ic, NL_ICMP_HDR_LEN + 16);
  ic[2] = (guint8)(sum >> 8);
  ic[3] = (guint8)sum;
  assert_int_equal(nl_node_send(c.h1, buf, sizeof buf), 0);
  assert_int_equal(udp_send(c.h1, 0, H2, 12, 92, 64, FALSE), 0);
  run(c.w);
  return c.w;
}

static void test_routing_default_answers(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_default_answers(&rx);
  assert_int_equal(rx.pkts->len, 2);
  /* The echo reply: same identifier, sequence and data, two hops back. */
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip;
  assert_ip_ok(p, len, &ip);
  assert_int_equal(ip.proto, NL_IPPROTO_ICMP);
  assert_int_equal(ip.src, H2);
  assert_int_equal(ip.dst, H1);
  assert_int_equal(ip.ttl, 62);
  assert_int_equal(len, NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN + 16);
  const guint8 *ic = p + NL_IP4_HDR_LEN;
  assert_int_equal(ic[0], NL_ICMP_ECHO_REPLY);
  assert_int_equal(nl_wire_checksum(ic, NL_ICMP_HDR_LEN + 16), 0);
  assert_int_equal(ic[5], 0x42);
  assert_int_equal(ic[7], 7);
  for (guint i = 0; i < 16; i++)
    assert_int_equal(ic[NL_ICMP_HDR_LEN + i], 0xa0 + i);
  assert_int_equal(count(w, NL_TRACE_PKT_DELIVER, "h2", 0), 1);
  /* The datagram: port unreachable. */
  p = rx_data(&rx, 1, &len);
  NlIp4Header q;
  assert_icmp(p, len, NL_ICMP_DEST_UNREACH, NL_ICMP_PORT_UNREACH, &ip, &q);
  assert_int_equal(ip.src, H2);
  assert_int_equal(q.id, 92);
  assert_int_equal(count(w, NL_TRACE_PKT_DROP, "h2", NL_DROP_PORT_UNREACHABLE),
                   1);
  assert_int_equal(count_drops(w), 1);
  assert_rerun_identical(w, sc_default_answers);
  nl_world_free(w);
  rx_clear(&rx);
}

/* TCP to a node without upper layers (a host where no program runs, a
 * router, a NAT's own inside address): refused as Linux refuses a port
 * nobody listens on (RFC 9293 §3.10.7.1): a SYN gets RST+ACK acknowledging
 * it, a segment with an ACK gets an RST with that sequence number, an RST
 * gets nothing.  h1 sends all three to h2 and to the router r2. */
static NlWorld *sc_default_refuses_tcp(Rx *rx) {
  Chain c;
  chain_build(&c, NULL, rx, NULL);
  const uint32_t dsts[] = {H2, A("10.0.2.2")};
  for (guint d = 0; d < G_N_ELEMENTS(dsts); d++) {
    static const uint8_t flags[] = {NL_TCP_SYN, NL_TCP_ACK | NL_TCP_PSH,
                                    NL_TCP_RST};
    for (guint i = 0; i < G_N_ELEMENTS(flags); i++) {
      guint8 buf[NL_IP4_HDR_LEN + NL_TCP_HDR_LEN + 4];
      NlTcpHeader th = {.sport = 40000, .dport = 80, .seq = 1000 + i,
                        .ack = 5000, .flags = flags[i], .window = 1024};
      size_t plen = (flags[i] & NL_TCP_PSH) ? 4 : 0;
      size_t len = nl_tcp4_build(buf, H1, dsts[d], &th, "data", plen,
                                 (uint16_t)(100 + i), 64, TRUE);
      assert_int_equal(nl_node_send(c.h1, buf, len), 0);
    }
  }
  run(c.w);
  return c.w;
}

static void test_routing_default_refuses_tcp(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_default_refuses_tcp(&rx);
  assert_int_equal(rx.pkts->len, 4);
  const uint32_t srcs[] = {A("10.0.2.2"), H2}; /* the router is nearer */
  for (guint i = 0; i < 4; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    NlIp4Header ip;
    assert_ip_ok(p, len, &ip);
    assert_int_equal(ip.proto, NL_IPPROTO_TCP);
    assert_int_equal(ip.src, srcs[i / 2]);
    assert_int_equal(ip.dst, H1);
    NlTcpHeader th;
    assert_null(nl_tcp4_parse(p, len, &ip, &th));
    assert_int_equal(th.sport, 80);
    assert_int_equal(th.dport, 40000);
    if (i % 2 == 0) { /* to the SYN */
      assert_int_equal(th.flags, NL_TCP_RST | NL_TCP_ACK);
      assert_int_equal(th.seq, 0);
      assert_int_equal(th.ack, 1001);
    } else { /* to the ACK with 4 bytes */
      assert_int_equal(th.flags, NL_TCP_RST);
      assert_int_equal(th.seq, 5000);
    }
  }
  assert_int_equal(count(w, NL_TRACE_PKT_DROP, "h2", NL_DROP_TCP_NO_LISTENER),
                   3);
  assert_int_equal(count(w, NL_TRACE_PKT_DROP, "r2", NL_DROP_TCP_NO_LISTENER),
                   3);
  assert_rerun_identical(w, sc_default_refuses_tcp);
  nl_world_free(w);
  rx_clear(&rx);
}

/* A TCP segment's checksum is vouched for (tcp_sum_ok) only by the one
 * that built it: a packet sent from bytes (nl_node_send) arrives without
 * the mark and is checked in full; a marked packet keeps the mark across
 * two routers (their TTL decrements do not touch what the TCP checksum
 * covers); a packet whose header is read anew loses it. */
static void sum_ok_local_in(void *data, NlNode *node, NlPacket *pkt) {
  GArray *seen = data;
  gboolean ok = pkt->ip4_ok && pkt->tcp_sum_ok;
  g_array_append_val(seen, ok);
  nl_packet_free(pkt);
}

static void test_routing_tcp_sum_ok_only_from_its_builder(void **state) {
  (void)state;
  Chain c;
  chain_build(&c, NULL, NULL, NULL);
  GArray *seen = g_array_new(FALSE, FALSE, sizeof(gboolean));
  NlNodeHooks hooks = {.local_in = sum_ok_local_in, .data = seen};
  nl_node_set_hooks(c.h2, &hooks);
  NlTcpHeader th = {.sport = 40000, .dport = 80, .seq = 1, .ack = 2,
                    .flags = NL_TCP_ACK | NL_TCP_PSH, .window = 1024};
  guint8 buf[NL_IP4_HDR_LEN + NL_TCP_HDR_LEN + 4];
  size_t len = nl_tcp4_build(buf, H1, H2, &th, "data", 4, 1, 64, TRUE);
  assert_int_equal(nl_node_send(c.h1, buf, len), 0); /* from bytes */
  NlPacket *p = nl_packet_new(buf, len); /* built here: vouched for */
  assert_null(nl_packet_ip4(p));
  p->tcp_sum_ok = TRUE;
  assert_int_equal(nl_node_send_packet(c.h1, p, NULL), 0);
  NlPacket *q = nl_packet_new(buf, len); /* marked, then read anew */
  q->tcp_sum_ok = TRUE;
  assert_null(nl_packet_ip4(q));
  assert_false(q->tcp_sum_ok);
  nl_packet_free(q);
  run(c.w);
  assert_int_equal(seen->len, 2);
  assert_false(g_array_index(seen, gboolean, 0));
  assert_true(g_array_index(seen, gboolean, 1));
  g_array_free(seen, TRUE);
  nl_world_free(c.w);
}

/* ---- loopback ---- */

static NlWorld *sc_loopback(Rx *rx) {
  NlWorld *w = nl_world_new(SEED);
  NlNode *n = nl_node_new(w, "solo", NL_NODE_HOST);
  rx_hook(n, rx);
  NlIface *f;
  uint32_t nh;
  assert_false(nl_node_route(n, A("10.0.0.1"), &f, &nh));
  assert_int_equal(udp_send(n, A("127.0.0.1"), A("127.0.0.1"), 40, 77, 64,
                            FALSE),
                   0);
  /* Not delivered from inside the send call. */
  assert_int_equal(rx->pkts->len, 0);
  assert_int_equal(udp_send(n, A("127.0.0.1"), A("10.0.0.1"), 4, 78, 64,
                            FALSE),
                   -ENETUNREACH);
  run(w);
  return w;
}

static void test_routing_loopback_without_links(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_loopback(&rx);
  assert_int_equal(rx.pkts->len, 1);
  assert_int_equal(rx_time(&rx, 0), 0);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip;
  assert_ip_ok(p, len, &ip);
  assert_int_equal(ip.ttl, 64);
  assert_int_equal(ip.dst, A("127.0.0.1"));
  assert_int_equal(len, 28 + 40);
  for (guint i = 0; i < 40; i++)
    assert_int_equal(p[28 + i], pattern(77, i));
  /* Loopback touches no link. */
  assert_int_equal(count(w, NL_TRACE_PKT_SEND, NULL, 0), 0);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_loopback);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- the addresses of a network ---- */

/* A network's address table (an address -> its interface, the next hop's
 * neighbour) as it grows past each size's fullest: after each of 300
 * hosts is attached (at scattered addresses, so that probe runs collide
 * and wrap), every host so far is the neighbour of a datagram from the
 * first to its address, and an address nobody has is nobody's.  And a
 * node of more than eight addresses (kept in a set) has each of them and
 * no other. */
static void test_routing_every_neighbour_found(void **state) {
  (void)state;
  enum { N = 300 };
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *net = nl_network_new(w, "lan");
  nl_network_add_prefix(net, A("10.1.0.0"), 16);
  NlNode *h[N];
  uint32_t addr[N];
  uint32_t x = 12345;
  for (int k = 0; k < N; k++) {
    /* Distinct addresses in 10.1.0.0/16, not .0 nor .255.255. */
    gboolean fresh;
    do {
      x = x * 1103515245u + 12345u;
      addr[k] = A("10.1.0.0") | (1 + (x >> 8) % 65534);
      fresh = TRUE;
      for (int j = 0; j < k; j++)
        fresh = fresh && addr[j] != addr[k];
    } while (!fresh);
    char name[16];
    g_snprintf(name, sizeof name, "h%d", k);
    h[k] = nl_node_new(w, name, NL_NODE_HOST);
    assert_non_null(nl_node_attach(h[k], net, addr[k], NULL));
    for (int j = 1; j <= k; j++) {
      NlSourceRoute c = {0};
      assert_true(nl_node_source_route(h[0], addr[j], &c));
      assert_ptr_equal(c.neighbour, nl_node_iface(h[j], 0));
    }
    uint32_t none = A("10.1.255.255");
    NlSourceRoute c = {0};
    assert_true(nl_node_source_route(h[0], none, &c)); /* on-link */
    assert_null(c.neighbour);
  }
  NlNode *r = nl_node_new(w, "r", NL_NODE_ROUTER);
  enum { M = 20 };
  for (int k = 0; k < M; k++) {
    char name[16];
    g_snprintf(name, sizeof name, "n%d", k);
    NlNetwork *n = nl_network_new(w, name);
    nl_network_add_prefix(n, A("172.16.0.0") + ((uint32_t)k << 8), 24);
    nl_node_attach(r, n, A("172.16.0.1") + ((uint32_t)k << 8), NULL);
    for (int j = 0; j < M; j++)
      assert_int_equal(
          nl_node_has_addr(r, A("172.16.0.1") + ((uint32_t)j << 8)), j <= k);
    assert_false(nl_node_has_addr(r, A("172.16.0.2")));
  }
  nl_world_free(w);
}

/* A node that sends to many destinations in turn (a server answering its
 * clients) through one kept route, as a socket does: each route is the
 * one looked up afresh, in rounds over 300 destinations (more than the
 * node keeps by destination, so that they displace each other), and
 * after a route changes (a host route through another neighbour) the
 * new one, not the one kept. */
static void test_routing_source_routes_kept_by_destination(void **state) {
  (void)state;
  enum { N = 300 };
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *net = nl_network_new(w, "lan");
  nl_network_add_prefix(net, A("10.2.0.0"), 16);
  NlNode *s = nl_node_new(w, "s", NL_NODE_HOST);
  NlIface *sf = nl_node_attach(s, net, A("10.2.0.1"), NULL);
  NlNode *h[N];
  for (int k = 0; k < N; k++) {
    char name[16];
    g_snprintf(name, sizeof name, "h%d", k);
    h[k] = nl_node_new(w, name, NL_NODE_HOST);
    nl_node_attach(h[k], net, A("10.2.1.0") + (uint32_t)k * 7, NULL);
  }
  NlSourceRoute c = {0};
  for (int round = 0; round < 4; round++) {
    if (round == 2) {
      /* To h[5] through h[6] from now on, just after its route was kept
       * (by the node too). */
      assert_true(nl_node_source_route(s, A("10.2.1.0") + 5 * 7, &c));
      nl_node_add_route(s, A("10.2.1.0") + 5 * 7, 32, A("10.2.1.0") + 6 * 7);
    }
    for (int k = 0; k < N; k++) {
      uint32_t dst = A("10.2.1.0") + (uint32_t)k * 7;
      int via = round >= 2 && k == 5 ? 6 : k;
      assert_true(nl_node_source_route(s, dst, &c));
      assert_int_equal(c.dst, dst);
      assert_int_equal(c.src, A("10.2.0.1"));
      assert_ptr_equal(c.iface, sf);
      assert_int_equal(c.next_hop, A("10.2.1.0") + (uint32_t)via * 7);
      assert_ptr_equal(c.neighbour, nl_node_iface(h[via], 0));
    }
    /* Its own address, and one with no route. */
    assert_true(nl_node_source_route(s, A("10.2.0.1"), &c));
    assert_null(c.iface);
    assert_int_equal(c.src, A("10.2.0.1"));
    assert_false(nl_node_source_route(s, A("192.0.2.1"), &c));
    assert_null(c.iface);
  }
  nl_world_free(w);
}

/* A names: a name's addresses in registration order, each once, any case;
 * asked from a node, the one on the asker's network first. */
static void test_names_resolve_to_the_askers_network(void **state) {
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *na = nl_network_new(w, "neta");
  NlNetwork *nb = nl_network_new(w, "netb");
  nl_network_add_prefix(na, A("10.0.0.0"), 24);
  nl_network_add_prefix(nb, A("10.0.9.0"), 24);
  NlNode *a = nl_node_new(w, "a", NL_NODE_HOST);
  NlNode *c = nl_node_new(w, "c", NL_NODE_HOST);
  nl_node_attach(a, na, A("10.0.0.1"), NULL);
  nl_node_attach(c, nb, A("10.0.9.3"), NULL);
  nl_world_add_name(w, "Peer", A("10.0.0.2"));
  nl_world_add_name(w, "peer", A("10.0.9.2"));
  nl_world_add_name(w, "PEER", A("10.0.0.2")); /* again: no second copy */
  nl_world_add_name(w, "solo", A("10.0.9.7"));
  uint32_t addr = 0;
  assert_true(nl_world_lookup_name(w, "pEEr", &addr));
  assert_int_equal(addr, A("10.0.0.2"));
  assert_true(nl_world_lookup_name_from(w, c, "peer", &addr));
  assert_int_equal(addr, A("10.0.9.2"));
  assert_true(nl_world_lookup_name_from(w, a, "peer", &addr));
  assert_int_equal(addr, A("10.0.0.2"));
  assert_true(nl_world_lookup_name_from(w, a, "solo", &addr));
  assert_int_equal(addr, A("10.0.9.7")); /* none on a's network: the first */
  assert_false(nl_world_lookup_name(w, "nobody", &addr));
  assert_string_equal(nl_world_name_of(w, A("10.0.9.2")), "peer");
  assert_string_equal(nl_world_name_of(w, A("10.0.9.7")), "solo");
  assert_null(nl_world_name_of(w, A("10.0.9.3")));
  nl_world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routing_longest_prefix_wins),
      cmocka_unit_test(test_names_resolve_to_the_askers_network),
      cmocka_unit_test(test_routing_connected_beats_static),
      cmocka_unit_test(test_routing_default_route),
      cmocka_unit_test(test_routing_no_route_local_enetunreach),
      cmocka_unit_test(test_routing_router_no_route_icmp),
      cmocka_unit_test(test_routing_three_hops_ttl_and_checksum),
      cmocka_unit_test(test_routing_ttl_expiry_time_exceeded),
      cmocka_unit_test(test_routing_loop_ends_by_ttl),
      cmocka_unit_test(test_routing_prefix_added_later),
      cmocka_unit_test(test_routing_host_does_not_forward),
      cmocka_unit_test(test_routing_offlink_gateway_ignored),
      cmocka_unit_test(test_routing_no_neighbour),
      cmocka_unit_test(test_routing_default_answers),
      cmocka_unit_test(test_routing_default_refuses_tcp),
      cmocka_unit_test(test_routing_tcp_sum_ok_only_from_its_builder),
      cmocka_unit_test(test_routing_loopback_without_links),
      cmocka_unit_test(test_routing_every_neighbour_found),
      cmocka_unit_test(test_routing_source_routes_kept_by_destination),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
