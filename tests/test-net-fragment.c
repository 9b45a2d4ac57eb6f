/* IPv4 fragmentation and reassembly in sim/net/net.c: splitting to the MTU,
 * refragmenting at a router, DF, the 30 s reassembly timeout, and
 * fragments out of order, duplicated or overlapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-net-util.h"

#define BIG 4000 /* UDP payload bytes */
#define BIG_LEN (NL_IP4_HDR_LEN + NL_UDP_HDR_LEN + BIG)

/* ---- a two-host lan: a 10.0.0.1, b 10.0.0.2 ---- */

static NlWorld *lan_world(const NlLinkProps *a_props, Rx *rx) {
  NlWorld *w = nl_world_new(SEED);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, A("10.0.0.0"), 24);
  NlNode *a = nl_node_new(w, "a", NL_NODE_HOST);
  NlNode *b = nl_node_new(w, "b", NL_NODE_HOST);
  nl_node_attach(a, lan, A("10.0.0.1"), a_props);
  nl_node_attach(b, lan, A("10.0.0.2"), NULL);
  if (rx)
    rx_hook(b, rx);
  return w;
}

/* The datagram the tests send: BIG payload bytes, id 0x1234, from a to b. */
static size_t big_build(guint8 *buf) {
  return udp_build(buf, A("10.0.0.1"), A("10.0.0.2"), BIG, 0x1234, 64, FALSE);
}

/* Writes into @buf the fragment of @orig carrying data bytes
 * [@off, @off + @n), with MF @mf.  Returns its length. */
static size_t frag_build(guint8 *buf, const guint8 *orig, size_t orig_len,
                         guint off, guint n, gboolean mf) {
  NlIp4Header h;
  assert_null(nl_ip4_parse(orig, orig_len, &h));
  h.total_len = (uint16_t)(NL_IP4_HDR_LEN + n);
  h.frag_offset = (uint16_t)off;
  h.mf = mf;
  nl_ip4_write(buf, &h);
  memcpy(buf + NL_IP4_HDR_LEN, orig + NL_IP4_HDR_LEN + off, n);
  return NL_IP4_HDR_LEN + n;
}

/* Sends from a, by hand, the fragment [@off, @off + @n) of the big
 * datagram. */
static void send_frag(NlWorld *w, guint off, guint n, gboolean mf) {
  guint8 orig[BIG_LEN], buf[1600];
  size_t len = big_build(orig);
  size_t flen = frag_build(buf, orig, len, off, n, mf);
  assert_int_equal(nl_node_send(nl_world_find_node(w, "a"), buf, flen), 0);
}

/* Checks the fragments in @r (packet records) tile [0, @total) exactly:
 * offsets multiples of 8, MF on all but the last, each no larger than
 * @mtu, every one of ip id @id.  Returns how many there are. */
static guint assert_tiles(GArray *r, guint total, guint mtu, uint16_t id) {
  guint8 *seen = g_malloc0(total);
  guint last = 0;
  for (guint i = 0; i < r->len; i++) {
    Rec *x = &g_array_index(r, Rec, i);
    NlIp4Header ip;
    assert_ip_ok(x->data, x->len, &ip);
    assert_int_equal(ip.id, id);
    assert_true(x->len <= mtu);
    assert_int_equal(ip.frag_offset % 8, 0);
    guint n = ip.total_len - ip.ihl_bytes;
    assert_true(ip.frag_offset + n <= total);
    if (ip.frag_offset + n == total)
      assert_false(ip.mf);
    else {
      assert_true(ip.mf);
      assert_int_equal(n % 8, 0);
    }
    for (guint j = 0; j < n; j++) {
      assert_int_equal(seen[ip.frag_offset + j], 0);
      seen[ip.frag_offset + j] = 1;
    }
    last = MAX(last, ip.frag_offset + n);
  }
  assert_int_equal(last, total);
  for (guint j = 0; j < total; j++)
    assert_int_equal(seen[j], 1);
  g_free(seen);
  return r->len;
}

/* ---- split at the sender, reassembled at the receiver ---- */

static NlWorld *sc_split(Rx *rx) {
  NlWorld *w = lan_world(NULL, rx);
  guint8 buf[BIG_LEN];
  size_t len = big_build(buf);
  assert_int_equal(nl_node_send(nl_world_find_node(w, "a"), buf, len), 0);
  run(w);
  return w;
}

static void test_fragment_split_1500(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_split(&rx);
  GArray *s = recs(w, NL_TRACE_PKT_SEND, "a", 0);
  assert_int_equal(s->len, 3);
  static const guint offs[] = {0, 1480, 2960};
  static const guint lens[] = {1500, 1500, 1068};
  for (guint i = 0; i < 3; i++) {
    Rec *x = &g_array_index(s, Rec, i);
    NlIp4Header ip;
    assert_ip_ok(x->data, x->len, &ip);
    assert_int_equal(x->len, lens[i]);
    assert_int_equal(ip.total_len, lens[i]);
    assert_int_equal(ip.frag_offset, offs[i]);
    assert_int_equal(ip.mf, i < 2);
    assert_false(ip.df);
  }
  assert_int_equal(assert_tiles(s, BIG + NL_UDP_HDR_LEN, 1500, 0x1234), 3);
  g_array_free(s, TRUE);
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "b", 0), 3);

  /* local_in sees one datagram, the very bytes that were sent. */
  assert_int_equal(rx.pkts->len, 1);
  guint8 orig[BIG_LEN];
  size_t olen = big_build(orig);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  assert_int_equal(len, olen);
  assert_memory_equal(p, orig, olen);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_split);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- a router with a smaller MTU fragments the fragments ---- */

static const NlLinkProps mtu576 = {.mtu = 576};

static NlWorld *sc_refrag(Rx *rx) {
  Chain c;
  chain_build(&c, &mtu576, NULL, rx);
  assert_int_equal(udp_send(c.h1, 0, H2, BIG, 0x4321, 64, FALSE), 0);
  run(c.w);
  return c.w;
}

static void test_fragment_router_refragments(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_refrag(&rx);
  GArray *s1 = recs(w, NL_TRACE_PKT_SEND, "h1", 0);
  GArray *s2 = recs(w, NL_TRACE_PKT_SEND, "r1", 0);
  GArray *s3 = recs(w, NL_TRACE_PKT_SEND, "r2", 0);
  guint total = BIG + NL_UDP_HDR_LEN;
  assert_int_equal(assert_tiles(s1, total, 1500, 0x4321), 3);
  /* 1480 -> 552 + 552 + 376 (twice), 1048 -> 552 + 496. */
  assert_int_equal(assert_tiles(s2, total, 576, 0x4321), 8);
  for (guint i = 0; i < s2->len; i++) {
    NlIp4Header ip;
    Rec *x = &g_array_index(s2, Rec, i);
    assert_ip_ok(x->data, x->len, &ip);
    assert_int_equal(ip.ttl, 63);
  }
  /* r2's link is 1500 again: it passes the small ones on as they are. */
  assert_int_equal(assert_tiles(s3, total, 576, 0x4321), 8);
  g_array_free(s1, TRUE);
  g_array_free(s2, TRUE);
  g_array_free(s3, TRUE);

  assert_int_equal(rx.pkts->len, 1);
  guint8 orig[BIG_LEN];
  size_t olen = udp_build(orig, H1, H2, BIG, 0x4321, 62, FALSE);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  assert_int_equal(len, olen);
  assert_memory_equal(p, orig, olen);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_refrag);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- DF ---- */

static void test_fragment_df_local_emsgsize(void **state) {
  (void)state;
  NlWorld *w = lan_world(NULL, NULL);
  NlNode *a = nl_world_find_node(w, "a");
  assert_int_equal(udp_send(a, 0, A("10.0.0.2"), BIG, 1, 64, TRUE),
                   -EMSGSIZE);
  /* 1501 bytes is one too many; 1500 fits. */
  assert_int_equal(udp_send(a, 0, A("10.0.0.2"), 1473, 2, 64, TRUE),
                   -EMSGSIZE);
  assert_int_equal(count(w, NL_TRACE_PKT_SEND, NULL, 0), 0);
  assert_int_equal(udp_send(a, 0, A("10.0.0.2"), 1472, 3, 64, TRUE), 0);
  GArray *s = recs(w, NL_TRACE_PKT_SEND, NULL, 0);
  assert_int_equal(s->len, 1);
  assert_int_equal(g_array_index(s, Rec, 0).len, 1500);
  g_array_free(s, TRUE);
  nl_world_free(w);
}

static NlWorld *sc_frag_needed(Rx *rx) {
  Chain c;
  chain_build(&c, &mtu576, rx, NULL);
  Rx *rx2 = g_new0(Rx, 1);
  rx_init(rx2);
  rx_hook(c.h2, rx2);
  assert_int_equal(udp_send(c.h1, 0, H2, 1000, 0x77, 64, TRUE), 0);
  /* Small enough for every link: goes through with DF. */
  assert_int_equal(udp_send(c.h1, 0, H2, 500, 0x78, 64, TRUE), 0);
  run(c.w);
  assert_int_equal(rx2->pkts->len, 1);
  gsize len;
  (void)rx_data(rx2, 0, &len);
  assert_int_equal(len, 528);
  rx_clear(rx2);
  g_free(rx2);
  return c.w;
}

static void test_fragment_df_router_frag_needed(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_frag_needed(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_string_equal(g_array_index(d, Rec, 0).node, "r1");
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_FRAG_NEEDED);
  g_array_free(d, TRUE);
  /* Nothing went onto mid but the small datagram; r1 also sent the
   * ICMP error back onto lan1. */
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "r2", 0), 1);
  assert_int_equal(count(w, NL_TRACE_PKT_SEND, "r1", 0), 2);
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  NlIp4Header ip, q;
  uint16_t mtu = assert_icmp(p, len, NL_ICMP_DEST_UNREACH,
                             NL_ICMP_FRAG_NEEDED, &ip, &q);
  assert_int_equal(mtu, 576);
  assert_int_equal(ip.src, A("10.0.1.1"));
  assert_int_equal(ip.dst, H1);
  assert_int_equal(q.id, 0x77);
  assert_int_equal(q.dst, H2);
  /* As Linux: the quote and the drop show the packet as it came, not
   * forwarded (TTL not decremented), and it is not counted forwarded. */
  assert_int_equal(q.ttl, 64);
  d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  NlIp4Header dh;
  assert_ip_ok(g_array_index(d, Rec, 0).data, g_array_index(d, Rec, 0).len,
               &dh);
  assert_int_equal(dh.ttl, 64);
  g_array_free(d, TRUE);
  NlNetStats st;
  nl_world_stats(w, &st);
  assert_int_equal(st.forwarded, 2); /* the small one, by r1 and r2 */
  assert_rerun_identical(w, sc_frag_needed);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- reassembly timeout ---- */

/* a's link has 5 ms of latency: the first fragment reaches b at 5 ms.
 * The middle fragment never comes. */
static const NlLinkProps slow = {.up = {.latency = 5 * NL_MS}};

/* What a hears back: RFC 1122 §3.3.2 wants an ICMP time exceeded
 * (fragment reassembly time exceeded) when fragment zero had come. */
static void assert_reasm_icmp(const Rx *rxa, gboolean want) {
  if (!want) {
    assert_int_equal(rxa->pkts->len, 0);
    return;
  }
  assert_int_equal(rxa->pkts->len, 1);
  assert_int_equal(rx_time(rxa, 0), 5 * NL_MS + 30 * NL_S);
  gsize len;
  const guint8 *p = rx_data(rxa, 0, &len);
  NlIp4Header ip, q;
  assert_icmp(p, len, NL_ICMP_TIME_EXCEEDED, 1, &ip, &q);
  assert_int_equal(ip.src, A("10.0.0.2"));
  assert_int_equal(ip.dst, A("10.0.0.1"));
  assert_int_equal(q.id, 0x1234);
  assert_int_equal(q.src, A("10.0.0.1"));
  assert_int_equal(q.dst, A("10.0.0.2"));
  assert_int_equal(q.proto, NL_IPPROTO_UDP);
  /* The quote is fragment zero's: its header and the UDP header. */
  const guint8 *quote = p + NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN;
  guint8 orig[BIG_LEN];
  big_build(orig);
  assert_int_equal(quote[6] & 0x1f, 0); /* offset 0 */
  assert_int_equal(quote[7], 0);
  assert_memory_equal(quote + NL_IP4_HDR_LEN, orig + NL_IP4_HDR_LEN,
                      NL_UDP_HDR_LEN);
}

/* The middle fragment never comes (@first: fragment zero does). */
static NlWorld *timeout_world(Rx *rx, gboolean first) {
  NlWorld *w = lan_world(&slow, rx);
  Rx *rxa = g_new0(Rx, 1);
  rx_init(rxa);
  rx_hook(nl_world_find_node(w, "a"), rxa);
  if (first)
    send_frag(w, 0, 1480, TRUE);
  else
    send_frag(w, 1480, 1480, TRUE);
  send_frag(w, 2960, BIG + NL_UDP_HDR_LEN - 2960, FALSE);
  run(w);
  assert_reasm_icmp(rxa, first);
  rx_clear(rxa);
  g_free(rxa);
  return w;
}

static NlWorld *sc_timeout(Rx *rx) {
  return timeout_world(rx, TRUE);
}

static NlWorld *sc_timeout_no_first(Rx *rx) {
  return timeout_world(rx, FALSE);
}

static void test_fragment_missing_times_out_30s(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_timeout(&rx);
  assert_int_equal(rx.pkts->len, 0);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  Rec *x = &g_array_index(d, Rec, 0);
  assert_string_equal(x->node, "b");
  assert_int_equal(x->why, NL_DROP_REASSEMBLY);
  assert_int_equal(x->time, 5 * NL_MS + 30 * NL_S);
  /* The record shows the first fragment that came. */
  NlIp4Header ip;
  assert_ip_ok(x->data, x->len, &ip);
  assert_int_equal(ip.frag_offset, 0);
  assert_int_equal(ip.id, 0x1234);
  g_array_free(d, TRUE);
  /* Nothing is left pending after it. */
  assert_int_equal(nl_event_queue_size(nl_world_queue(w)), 0);
  assert_rerun_identical(w, sc_timeout);
  nl_world_free(w);
  rx_clear(&rx);

  /* Without fragment zero: the same drop, and no ICMP. */
  rx_init(&rx);
  w = sc_timeout_no_first(&rx);
  assert_int_equal(rx.pkts->len, 0);
  d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_REASSEMBLY);
  assert_int_equal(g_array_index(d, Rec, 0).time, 5 * NL_MS + 30 * NL_S);
  g_array_free(d, TRUE);
  assert_rerun_identical(w, sc_timeout_no_first);
  nl_world_free(w);
  rx_clear(&rx);
}

/* The missing fragment, arriving 1 ns before the deadline, completes the
 * datagram; no timeout fires. */
static NlWorld *sc_just_in_time(Rx *rx) {
  NlWorld *w = lan_world(&slow, rx);
  send_frag(w, 0, 1480, TRUE);
  send_frag(w, 2960, BIG + NL_UDP_HDR_LEN - 2960, FALSE);
  nl_event_run_until(nl_world_queue(w), 30 * NL_S - 1);
  send_frag(w, 1480, 1480, TRUE);
  run(w);
  return w;
}

static void test_fragment_completes_before_timeout(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_just_in_time(&rx);
  assert_int_equal(rx.pkts->len, 1);
  assert_int_equal(rx_time(&rx, 0), 30 * NL_S - 1 + 5 * NL_MS);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_just_in_time);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- order, duplicates, overlaps ---- */

static void assert_got_big(const Rx *rx) {
  guint8 orig[BIG_LEN];
  size_t olen = big_build(orig);
  assert_int_equal(rx->pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(rx, 0, &len);
  assert_int_equal(len, olen);
  assert_memory_equal(p, orig, olen);
}

/* Last first, then the first, then the middle. */
static NlWorld *sc_out_of_order(Rx *rx) {
  NlWorld *w = lan_world(NULL, rx);
  send_frag(w, 2960, BIG + NL_UDP_HDR_LEN - 2960, FALSE);
  send_frag(w, 0, 1480, TRUE);
  send_frag(w, 1480, 1480, TRUE);
  run(w);
  return w;
}

static void test_fragment_out_of_order(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_out_of_order(&rx);
  assert_got_big(&rx);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_out_of_order);
  nl_world_free(w);
  rx_clear(&rx);

  /* Middle and last first, then the first 1480 bytes in 40-byte pieces,
   * backwards. */
  rx_init(&rx);
  w = lan_world(NULL, &rx);
  send_frag(w, 1480, 1480, TRUE);
  send_frag(w, 2960, BIG + NL_UDP_HDR_LEN - 2960, FALSE);
  for (int off = 1440; off >= 0; off -= 40)
    send_frag(w, (guint)off, 40, TRUE);
  run(w);
  assert_got_big(&rx);
  assert_int_equal(count_drops(w), 0);
  nl_world_free(w);
  rx_clear(&rx);
}

/* The first twice, a middle piece overlapping both neighbours, the last
 * twice; then the first again once it is complete. */
static NlWorld *sc_overlap(Rx *rx) {
  NlWorld *w = lan_world(NULL, rx);
  send_frag(w, 0, 1480, TRUE);
  send_frag(w, 0, 1480, TRUE);
  send_frag(w, 2960, BIG + NL_UDP_HDR_LEN - 2960, FALSE);
  send_frag(w, 2960, BIG + NL_UDP_HDR_LEN - 2960, FALSE);
  send_frag(w, 1000, 800, TRUE);  /* [1000, 1800) */
  send_frag(w, 1472, 1496, TRUE); /* [1472, 2968): completes it */
  run(w);
  return w;
}

static void test_fragment_overlap_and_duplicates(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_overlap(&rx);
  assert_got_big(&rx);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc_overlap);
  nl_world_free(w);
  rx_clear(&rx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fragment_split_1500),
      cmocka_unit_test(test_fragment_router_refragments),
      cmocka_unit_test(test_fragment_df_local_emsgsize),
      cmocka_unit_test(test_fragment_df_router_frag_needed),
      cmocka_unit_test(test_fragment_missing_times_out_30s),
      cmocka_unit_test(test_fragment_completes_before_timeout),
      cmocka_unit_test(test_fragment_out_of_order),
      cmocka_unit_test(test_fragment_overlap_and_duplicates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
