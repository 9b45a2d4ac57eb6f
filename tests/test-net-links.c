/* Links in sim/net/net.c: latency, bandwidth and queues, loss, jitter,
 * reordering, duplication, links and nodes going down, partitions, and
 * the determinism of it all. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-net-util.h"

#define AADDR A("10.0.0.1")
#define BADDR A("10.0.0.2")

/* A 1250-byte packet: 10 ms at 1 Mbit/s. */
#define P1250 (1250 - NL_IP4_HDR_LEN - NL_UDP_HDR_LEN)

/* a 10.0.0.1 and b 10.0.0.2 on one lan, with the given link properties
 * (NULL: ideal); @rx hears what reaches b. */
static NlWorld *pair_world(uint64_t seed, const NlLinkProps *ap,
                           const NlLinkProps *bp, Rx *rx) {
  NlWorld *w = nl_world_new(seed);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, A("10.0.0.0"), 24);
  NlNode *a = nl_node_new(w, "a", NL_NODE_HOST);
  NlNode *b = nl_node_new(w, "b", NL_NODE_HOST);
  nl_node_attach(a, lan, AADDR, ap);
  nl_node_attach(b, lan, BADDR, bp);
  if (rx)
    rx_hook(b, rx);
  return w;
}

static NlNode *node(NlWorld *w, const char *name) {
  NlNode *n = nl_world_find_node(w, name);
  assert_non_null(n);
  return n;
}

/* Moves the clock to @t, running what is due on the way. */
static void run_to(NlWorld *w, NlTime t) {
  nl_event_run_until(nl_world_queue(w), t);
  assert_int_equal(nl_world_now(w), t);
}

static uint16_t pkt_id(const guint8 *p, gsize len) {
  NlIp4Header ip;
  assert_ip_ok(p, len, &ip);
  return ip.id;
}

/* Sends @total datagrams of @plen bytes from @n to @dst, one every @gap
 * from now, with ids 1, 2, 3... */
typedef struct {
  NlEvent ev;
  NlNode *n;
  uint32_t dst;
  guint i, total;
  NlTime gap;
  size_t plen;
} Pacer;

static void pacer_fire(NlEvent *ev, void *data) {
  Pacer *p = data;
  (void)ev;
  p->i++;
  assert_int_equal(udp_send(p->n, 0, p->dst, p->plen, (uint16_t)p->i, 64,
                            FALSE),
                   0);
  if (p->i < p->total)
    nl_event_schedule_in(nl_world_queue(nl_node_world(p->n)), &p->ev, p->gap);
}

static void pacer_start(Pacer *p, NlNode *n, uint32_t dst, guint total,
                        NlTime gap, size_t plen) {
  memset(p, 0, sizeof *p);
  p->n = n;
  p->dst = dst;
  p->total = total;
  p->gap = gap;
  p->plen = plen;
  nl_event_init(&p->ev, pacer_fire, p);
  nl_event_schedule_in(nl_world_queue(nl_node_world(n)), &p->ev, 0);
}

/* ---- latency ---- */

static NlWorld *sc_latency(Rx *rx) {
  /* a: 3 ms up, 100 ms down; b: 7 ms down, 50 ms up.  a -> b takes
   * a's up plus b's down; b -> a takes b's up plus a's down. */
  NlLinkProps ap = {.up = {.latency = 3 * NL_MS},
                    .down = {.latency = 100 * NL_MS}};
  NlLinkProps bp = {.up = {.latency = 50 * NL_MS},
                    .down = {.latency = 7 * NL_MS}};
  NlWorld *w = pair_world(SEED, &ap, &bp, rx);
  Rx *rxa = g_new0(Rx, 1);
  rx_init(rxa);
  rx_hook(node(w, "a"), rxa);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 10, 1, 64, FALSE), 0);
  run_to(w, 1 * NL_S);
  assert_int_equal(udp_send(node(w, "b"), 0, AADDR, 10, 2, 64, FALSE), 0);
  run(w);
  assert_int_equal(rxa->pkts->len, 1);
  assert_int_equal(rx_time(rxa, 0), 1 * NL_S + 150 * NL_MS);
  rx_clear(rxa);
  g_free(rxa);
  return w;
}

static void test_links_latency_adds_up(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_latency(&rx);
  assert_int_equal(rx.pkts->len, 1);
  assert_int_equal(rx_time(&rx, 0), 10 * NL_MS);
  GArray *s = recs(w, NL_TRACE_PKT_SEND, "a", 0);
  GArray *r = recs(w, NL_TRACE_PKT_RECV, "b", 0);
  assert_int_equal(g_array_index(s, Rec, 0).time, 0);
  assert_int_equal(g_array_index(r, Rec, 0).time, 10 * NL_MS);
  g_array_free(s, TRUE);
  g_array_free(r, TRUE);
  assert_rerun_identical(w, sc_latency);
  nl_world_free(w);
  rx_clear(&rx);
}

/* A link whose latency drops while a packet is on it (a direction with a
 * latency alone, the hop's inline case): a packet sent later never
 * overtakes it, as with jitter. */
static void test_links_latency_drop_keeps_order(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlLinkProps ap = {.up = {.latency = 50 * NL_MS}};
  NlWorld *w = pair_world(SEED, &ap, NULL, &rx);
  NlNode *a = node(w, "a");
  assert_int_equal(udp_send(a, 0, BADDR, 10, 1, 64, FALSE), 0);
  run_to(w, 10 * NL_MS);
  ap.up.latency = 5 * NL_MS;
  nl_iface_set_props(nl_node_iface(a, 0), &ap);
  assert_int_equal(udp_send(a, 0, BADDR, 10, 2, 64, FALSE), 0);
  run_to(w, 20 * NL_MS);
  assert_int_equal(udp_send(a, 0, BADDR, 10, 3, 64, FALSE), 0);
  run_to(w, 100 * NL_MS);
  assert_int_equal(udp_send(a, 0, BADDR, 10, 4, 64, FALSE), 0);
  run(w);
  assert_int_equal(rx.pkts->len, 4);
  gsize len;
  for (guint i = 0; i < 4; i++)
    assert_int_equal(pkt_id(rx_data(&rx, i, &len), len), i + 1);
  assert_int_equal(rx_time(&rx, 0), 50 * NL_MS);
  assert_int_equal(rx_time(&rx, 1), 50 * NL_MS); /* held behind 1 */
  assert_int_equal(rx_time(&rx, 2), 50 * NL_MS);
  assert_int_equal(rx_time(&rx, 3), 105 * NL_MS); /* the new latency */
  nl_world_free(w);
  rx_clear(&rx);
}

/* A link made ideal while a packet is on it: what is sent next comes at
 * once, before it (an ideal direction keeps no order). */
static void test_links_ideal_after_latency_overtakes(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlLinkProps ap = {.up = {.latency = 50 * NL_MS}};
  NlWorld *w = pair_world(SEED, &ap, NULL, &rx);
  NlNode *a = node(w, "a");
  assert_int_equal(udp_send(a, 0, BADDR, 10, 1, 64, FALSE), 0);
  run_to(w, 10 * NL_MS);
  nl_iface_set_props(nl_node_iface(a, 0), NULL);
  assert_int_equal(udp_send(a, 0, BADDR, 10, 2, 64, FALSE), 0);
  run(w);
  assert_int_equal(rx.pkts->len, 2);
  gsize len;
  assert_int_equal(pkt_id(rx_data(&rx, 0, &len), len), 2);
  assert_int_equal(rx_time(&rx, 0), 10 * NL_MS);
  assert_int_equal(pkt_id(rx_data(&rx, 1, &len), len), 1);
  assert_int_equal(rx_time(&rx, 1), 50 * NL_MS);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- bandwidth ---- */

/* a's up is 1 Mbit/s with 1 ms latency: three 1250-byte packets at 0,
 * then one at 100 ms when the link is idle again. */
static NlWorld *sc_bandwidth(Rx *rx) {
  NlLinkProps ap = {.up = {.bandwidth = 1000000, .latency = NL_MS}};
  NlWorld *w = pair_world(SEED, &ap, NULL, rx);
  for (guint i = 1; i <= 3; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, P1250, (uint16_t)i, 64,
                              FALSE),
                     0);
  run_to(w, 100 * NL_MS);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, P1250, 4, 64, FALSE), 0);
  run(w);
  return w;
}

static void test_links_bandwidth_serialises(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_bandwidth(&rx);
  static const NlTime want[] = {11 * NL_MS, 21 * NL_MS, 31 * NL_MS,
                                111 * NL_MS};
  assert_int_equal(rx.pkts->len, 4);
  for (guint i = 0; i < 4; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    assert_int_equal(len, 1250);
    assert_int_equal(pkt_id(p, len), i + 1);
    assert_int_equal(rx_time(&rx, i), want[i]);
  }
  assert_rerun_identical(w, sc_bandwidth);
  nl_world_free(w);
  rx_clear(&rx);
}

/* a's up is 2 Mbit/s (5 ms a packet), b's down 1 Mbit/s (10 ms): the
 * packets queue at b's side. */
static NlWorld *sc_bottleneck(Rx *rx) {
  NlLinkProps ap = {.up = {.bandwidth = 2000000}};
  NlLinkProps bp = {.down = {.bandwidth = 1000000}};
  NlWorld *w = pair_world(SEED, &ap, &bp, rx);
  for (guint i = 1; i <= 3; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, P1250, (uint16_t)i, 64,
                              FALSE),
                     0);
  run(w);
  return w;
}

static void test_links_bandwidth_down_direction_queues(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_bottleneck(&rx);
  /* Out of a at 5, 10, 15 ms; b's side busy 5-15, 15-25, 25-35. */
  static const NlTime want[] = {15 * NL_MS, 25 * NL_MS, 35 * NL_MS};
  assert_int_equal(rx.pkts->len, 3);
  for (guint i = 0; i < 3; i++)
    assert_int_equal(rx_time(&rx, i), want[i]);
  assert_rerun_identical(w, sc_bottleneck);
  nl_world_free(w);
  rx_clear(&rx);
}

/* A change of a link's properties (a scenario's `link ... set`) while
 * packets are queued: those sent later still come after them. */
static NlWorld *sc_props_change(Rx *rx) {
  NlLinkProps ap = {.up = {.bandwidth = 1000000, .queue = 4}};
  NlWorld *w = pair_world(SEED, &ap, NULL, rx);
  NlNode *a = node(w, "a");
  for (guint i = 1; i <= 3; i++)
    assert_int_equal(udp_send(a, 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
  run_to(w, 5 * NL_MS);
  ap.up.latency = NL_MS;
  nl_iface_set_props(nl_node_iface(a, 0), &ap);
  assert_int_equal(nl_iface_props(nl_node_iface(a, 0))->up.latency, NL_MS);
  /* Three are still queued (one on the wire): room for one more. */
  for (guint i = 4; i <= 5; i++)
    assert_int_equal(udp_send(a, 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
  run(w);
  return w;
}

static void test_links_props_change_keeps_queue(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_props_change(&rx);
  static const NlTime want[] = {10 * NL_MS, 20 * NL_MS, 30 * NL_MS,
                                41 * NL_MS};
  assert_int_equal(rx.pkts->len, 4);
  for (guint i = 0; i < 4; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    assert_int_equal(pkt_id(p, len), i + 1);
    assert_int_equal(rx_time(&rx, i), want[i]);
  }
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_QUEUE_FULL);
  assert_int_equal(pkt_id(g_array_index(d, Rec, 0).data,
                          g_array_index(d, Rec, 0).len),
                   5);
  g_array_free(d, TRUE);
  assert_rerun_identical(w, sc_props_change);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- a finite queue ---- */

/* 1 Mbit/s, a queue of 4: ten packets at 0, two more at 15 ms. */
static NlWorld *sc_queue(Rx *rx) {
  NlLinkProps ap = {.up = {.bandwidth = 1000000, .queue = 4}};
  NlWorld *w = pair_world(SEED, &ap, NULL, rx);
  for (guint i = 1; i <= 10; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, P1250, (uint16_t)i, 64,
                              FALSE),
                     0);
  run_to(w, 15 * NL_MS);
  /* The first has left by now: room for one more. */
  for (guint i = 11; i <= 12; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, P1250, (uint16_t)i, 64,
                              FALSE),
                     0);
  run(w);
  return w;
}

static void test_links_queue_full_drops(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_queue(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 7);
  for (guint i = 0; i < d->len; i++) {
    Rec *x = &g_array_index(d, Rec, i);
    assert_string_equal(x->node, "a");
    assert_int_equal(x->why, NL_DROP_QUEUE_FULL);
    assert_int_equal(pkt_id(x->data, x->len), i < 6 ? 5 + i : 12);
  }
  g_array_free(d, TRUE);
  static const NlTime want[] = {10 * NL_MS, 20 * NL_MS, 30 * NL_MS,
                                40 * NL_MS, 50 * NL_MS};
  static const uint16_t ids[] = {1, 2, 3, 4, 11};
  assert_int_equal(rx.pkts->len, 5);
  for (guint i = 0; i < 5; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    assert_int_equal(pkt_id(p, len), ids[i]);
    assert_int_equal(rx_time(&rx, i), want[i]);
  }
  assert_rerun_identical(w, sc_queue);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- loss ---- */

#define LOSS_N 4000

static NlWorld *loss_world(uint64_t seed, Rx *rx) {
  NlLinkProps ap = {.up = {.loss = 0.25}};
  NlWorld *w = pair_world(seed, &ap, NULL, rx);
  for (guint i = 1; i <= LOSS_N; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, (uint16_t)i, 64,
                              FALSE),
                     0);
  run(w);
  return w;
}

static NlWorld *sc_loss(Rx *rx) {
  return loss_world(SEED, rx);
}

/* The ids of the packets lost, in order, as one string. */
static char *lost_ids(NlWorld *w) {
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < d->len; i++) {
    Rec *x = &g_array_index(d, Rec, i);
    assert_int_equal(x->why, NL_DROP_LOSS);
    g_string_append_printf(s, "%u ", pkt_id(x->data, x->len));
  }
  g_array_free(d, TRUE);
  return g_string_free(s, FALSE);
}

static void test_links_loss_rate_and_seed(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_loss(&rx);
  guint lost = count(w, NL_TRACE_PKT_DROP, "a", NL_DROP_LOSS);
  assert_int_equal(lost + rx.pkts->len, LOSS_N);
  assert_int_equal(count_drops(w), lost);
  /* 25 % of 4000 is 1000; the binomial's sd is about 27. */
  assert_in_range(lost, 880, 1120);

  /* Same seed: the very same packets are lost. */
  Rx rx2;
  rx_init(&rx2);
  NlWorld *w2 = sc_loss(&rx2);
  char *l1 = lost_ids(w), *l2 = lost_ids(w2);
  assert_string_equal(l1, l2);
  nl_world_free(w2);
  rx_clear(&rx2);
  /* Another seed: about as many, but other ones. */
  rx_init(&rx2);
  w2 = loss_world(SEED + 1, &rx2);
  char *l3 = lost_ids(w2);
  assert_string_not_equal(l1, l3);
  assert_in_range(count(w2, NL_TRACE_PKT_DROP, "a", NL_DROP_LOSS), 880,
                  1120);
  g_free(l1);
  g_free(l2);
  g_free(l3);
  nl_world_free(w2);
  rx_clear(&rx2);

  assert_rerun_identical(w, sc_loss);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- jitter and reordering ---- */

#define PACED_N 300
#define GAP (100 * NL_US)

/* @rx records arrival times; packet i left at (i - 1) * GAP. */
static NlTime sent_at(uint16_t id) {
  return (NlTime)(id - 1) * GAP;
}

static NlWorld *paced(const NlLinkProps *ap, Rx *rx) {
  NlWorld *w = pair_world(SEED, ap, NULL, rx);
  Pacer p;
  pacer_start(&p, node(w, "a"), BADDR, PACED_N, GAP, 16);
  run(w);
  return w;
}

static NlWorld *sc_jitter(Rx *rx) {
  NlLinkProps ap = {.up = {.latency = 10 * NL_MS, .jitter = 5 * NL_MS}};
  return paced(&ap, rx);
}

static void test_links_jitter_keeps_order(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_jitter(&rx);
  assert_int_equal(rx.pkts->len, PACED_N);
  GHashTable *delays =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < PACED_N; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    uint16_t id = pkt_id(p, len);
    assert_int_equal(id, i + 1); /* in the order sent */
    NlTime d = rx_time(&rx, i) - sent_at(id);
    assert_in_range(d, 10 * NL_MS, 15 * NL_MS);
    if (i > 0)
      assert_true(rx_time(&rx, i) >= rx_time(&rx, i - 1));
    g_hash_table_add(delays, g_memdup2(&d, sizeof d));
  }
  /* Jitter did vary the delay. */
  assert_true(g_hash_table_size(delays) > PACED_N / 2);
  g_hash_table_destroy(delays);
  assert_rerun_identical(w, sc_jitter);
  nl_world_free(w);
  rx_clear(&rx);
}

static NlWorld *sc_reorder(Rx *rx) {
  NlLinkProps ap = {.up = {.latency = 10 * NL_MS, .reorder = 0.2}};
  return paced(&ap, rx);
}

static void test_links_reorder_overtakes(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_reorder(&rx);
  assert_int_equal(rx.pkts->len, PACED_N);
  guint held = 0, inversions = 0;
  gboolean *seen = g_new0(gboolean, PACED_N + 1);
  uint16_t prev = 0;
  for (guint i = 0; i < PACED_N; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    uint16_t id = pkt_id(p, len);
    assert_false(seen[id]);
    seen[id] = TRUE;
    NlTime d = rx_time(&rx, i) - sent_at(id);
    /* On time, or held back by one more latency. */
    if (d == 20 * NL_MS)
      held++;
    else
      assert_int_equal(d, 10 * NL_MS);
    if (id < prev)
      inversions++;
    prev = id;
  }
  g_free(seen);
  assert_in_range(held, PACED_N / 10, PACED_N * 3 / 10);
  /* Held packets were overtaken by later ones. */
  assert_true(inversions > 0);
  assert_rerun_identical(w, sc_reorder);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- duplication ---- */

#define DUP_N 1000

static NlWorld *sc_dup(Rx *rx) {
  NlLinkProps ap = {.up = {.dup = 0.3}};
  NlWorld *w = pair_world(SEED, &ap, NULL, rx);
  for (guint i = 1; i <= DUP_N; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, (uint16_t)i, 64,
                              FALSE),
                     0);
  run(w);
  return w;
}

/* The same, duplicated on b's side (down.dup) with 2 ms down latency. */
static NlWorld *sc_dup_down(Rx *rx) {
  NlLinkProps bp = {.down = {.dup = 0.3, .latency = 2 * NL_MS}};
  NlWorld *w = pair_world(SEED, NULL, &bp, rx);
  for (guint i = 1; i <= DUP_N; i++)
    assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, (uint16_t)i, 64,
                              FALSE),
                     0);
  run(w);
  return w;
}

static void assert_dups(NlWorld *w, const Rx *rx, NlTime delay, Scenario sc) {
  guint *copies = g_new0(guint, DUP_N + 1);
  NlTime *first = g_new0(NlTime, DUP_N + 1);
  for (guint i = 0; i < rx->pkts->len; i++) {
    gsize len;
    const guint8 *p = rx_data(rx, i, &len);
    uint16_t id = pkt_id(p, len);
    if (copies[id]++ == 0) {
      first[id] = rx_time(rx, i);
      assert_int_equal(first[id], delay);
    } else {
      assert_int_equal(rx_time(rx, i), first[id] + NL_US);
    }
  }
  guint dups = 0;
  for (guint id = 1; id <= DUP_N; id++) {
    assert_in_range(copies[id], 1, 2);
    dups += copies[id] - 1;
  }
  g_free(copies);
  g_free(first);
  /* 30 % of 1000; sd about 14.5. */
  assert_in_range(dups, 240, 360);
  assert_int_equal(rx->pkts->len, DUP_N + dups);
  /* Every copy is a transmission of its own. */
  assert_int_equal(count(w, NL_TRACE_PKT_SEND, "a", 0), DUP_N + dups);
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "b", 0), DUP_N + dups);
  assert_int_equal(count_drops(w), 0);
  assert_rerun_identical(w, sc);
}

static void test_links_dup_down_direction(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_dup_down(&rx);
  assert_dups(w, &rx, 2 * NL_MS, sc_dup_down);
  nl_world_free(w);
  rx_clear(&rx);
}

static void test_links_dup_extra_copies(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_dup(&rx);
  assert_dups(w, &rx, 0, sc_dup);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- links and nodes going down ---- */

/* a's up has 10 ms latency.  1: b's link down at send; 2: a's link down;
 * 3: b's link goes down while 3 is in flight; 4: after both are up. */
static NlWorld *sc_link_down(Rx *rx) {
  NlLinkProps ap = {.up = {.latency = 10 * NL_MS}};
  NlWorld *w = pair_world(SEED, &ap, NULL, rx);
  NlIface *fa = nl_node_iface(node(w, "a"), 0);
  NlIface *fb = nl_node_iface(node(w, "b"), 0);
  nl_iface_set_up(fb, FALSE);
  assert_false(nl_iface_is_up(fb));
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 1, 64, FALSE), 0);
  nl_iface_set_up(fb, TRUE);
  nl_iface_set_up(fa, FALSE);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 2, 64, FALSE), 0);
  nl_iface_set_up(fa, TRUE);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 3, 64, FALSE), 0);
  run_to(w, 5 * NL_MS);
  nl_iface_set_up(fb, FALSE);
  run_to(w, 20 * NL_MS);
  nl_iface_set_up(fb, TRUE);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 4, 64, FALSE), 0);
  run(w);
  return w;
}

static void test_links_link_down_and_up(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_link_down(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 3);
  static const char *const at[] = {"a", "a", "b"};
  static const NlTime when[] = {0, 0, 10 * NL_MS};
  for (guint i = 0; i < 3; i++) {
    Rec *x = &g_array_index(d, Rec, i);
    assert_int_equal(x->why, NL_DROP_LINK_DOWN);
    assert_string_equal(x->node, at[i]);
    assert_int_equal(x->time, when[i]);
    assert_int_equal(pkt_id(x->data, x->len), i + 1);
  }
  g_array_free(d, TRUE);
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  assert_int_equal(pkt_id(p, len), 4);
  assert_int_equal(rx_time(&rx, 0), 30 * NL_MS);
  assert_rerun_identical(w, sc_link_down);
  nl_world_free(w);
  rx_clear(&rx);
}

/* b is down: what reaches it is dropped, and it cannot send; then it is
 * up again.  In the chain, a router that is down drops what it gets. */
static NlWorld *sc_node_down(Rx *rx) {
  NlWorld *w = pair_world(SEED, NULL, NULL, rx);
  NlNode *b = node(w, "b");
  nl_node_set_up(b, FALSE);
  assert_false(nl_node_is_up(b));
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 1, 64, FALSE), 0);
  assert_int_equal(udp_send(b, 0, AADDR, 8, 2, 64, FALSE), -EHOSTDOWN);
  run(w);
  assert_int_equal(rx->pkts->len, 0);
  nl_node_set_up(b, TRUE);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 3, 64, FALSE), 0);
  run(w);
  return w;
}

/* a sends ten 1250-byte datagrams at once on a 1 Mbit/s uplink with 20 ms
 * latency: they leave the transmitter 10 ms apart.  a crashes at 35 ms:
 * the three that had left (at 10, 20, 30 ms) are on the wire and arrive;
 * the one being serialised and the six still queued are lost then, with a
 * drop record each at a, as a crashed machine transmits nothing more.  Up
 * again, a's transmitter is idle: a datagram sent at 50 ms leaves at once. */
static NlWorld *sc_crash_flushes_queue(Rx *rx) {
  NlLinkProps ap = {.up = {.latency = 20 * NL_MS, .bandwidth = 1000000}};
  NlWorld *w = pair_world(SEED, &ap, NULL, rx);
  NlNode *a = node(w, "a");
  for (guint i = 1; i <= 10; i++)
    assert_int_equal(udp_send(a, 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
  run_to(w, 35 * NL_MS);
  nl_node_set_up(a, FALSE);
  run_to(w, 50 * NL_MS);
  nl_node_set_up(a, TRUE);
  assert_int_equal(udp_send(a, 0, BADDR, P1250, 11, 64, FALSE), 0);
  run(w);
  return w;
}

/* Two worlds at once, each with datagrams on its links (some queued
 * behind a bandwidth limit, one over loopback): the first freed loses
 * its own and only those (the other's still arrive, and a link going
 * down there still finds its queued ones); the second frees the rest.
 * Nothing leaks and nothing is freed twice (run under ASan). */
static void test_links_world_freed_with_packets_in_flight(void **state) {
  (void)state;
  Rx rx1, rx2;
  rx_init(&rx1);
  rx_init(&rx2);
  NlLinkProps ap = {.up = {.latency = 20 * NL_MS, .bandwidth = 1000000}};
  NlWorld *w1 = pair_world(SEED, &ap, NULL, &rx1);
  NlWorld *w2 = pair_world(SEED + 1, &ap, NULL, &rx2);
  for (guint i = 1; i <= 5; i++) {
    assert_int_equal(
        udp_send(node(w1, "a"), 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
    assert_int_equal(
        udp_send(node(w2, "a"), 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
  }
  assert_int_equal(udp_send(node(w1, "a"), 0, AADDR, 8, 9, 64, FALSE), 0);
  run_to(w1, 5 * NL_MS);
  run_to(w2, 15 * NL_MS);
  nl_world_free(w1);
  /* w2: the two sent out by 20 ms arrive at 30 and 40 ms; the link
   * going down at 25 ms loses the one being sent and the two queued. */
  run_to(w2, 25 * NL_MS);
  nl_iface_set_up(nl_node_iface(node(w2, "a"), 0), FALSE);
  run(w2);
  assert_int_equal(rx2.pkts->len, 2);
  assert_int_equal(rx_time(&rx2, 0), 30 * NL_MS);
  assert_int_equal(rx_time(&rx2, 1), 40 * NL_MS);
  assert_int_equal(count_drops(w2), 3);
  nl_iface_set_up(nl_node_iface(node(w2, "a"), 0), TRUE);
  for (guint i = 6; i <= 8; i++)
    assert_int_equal(
        udp_send(node(w2, "a"), 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
  run_to(w2, nl_world_now(w2) + 5 * NL_MS);
  nl_world_free(w2);
  assert_int_equal(rx1.pkts->len, 0);
  rx_clear(&rx1);
  rx_clear(&rx2);
}

static void test_links_crashed_node_stops_transmitting(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_crash_flushes_queue(&rx);
  assert_int_equal(rx.pkts->len, 4);
  static const uint16_t ids[] = {1, 2, 3, 11};
  static const NlTime at[] = {30 * NL_MS, 40 * NL_MS, 50 * NL_MS,
                              80 * NL_MS};
  for (guint i = 0; i < 4; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    assert_int_equal(pkt_id(p, len), ids[i]);
    assert_int_equal(rx_time(&rx, i), at[i]);
  }
  GArray *d = recs(w, NL_TRACE_PKT_DROP, "a", NL_DROP_HOST_DOWN);
  assert_int_equal(d->len, 7);
  for (guint i = 0; i < d->len; i++) {
    Rec *x = &g_array_index(d, Rec, i);
    assert_int_equal(x->time, 35 * NL_MS);
    assert_string_equal(x->peer, "b");
    assert_int_equal(pkt_id(x->data, x->len), 4 + i); /* in send order */
  }
  g_array_free(d, TRUE);
  assert_int_equal(count_drops(w), 7);
  assert_rerun_identical(w, sc_crash_flushes_queue);
  nl_world_free(w);
  rx_clear(&rx);

  /* a's link going down at 35 ms loses the same seven (LINK_DOWN). */
  rx_init(&rx);
  NlLinkProps ap = {.up = {.latency = 20 * NL_MS, .bandwidth = 1000000}};
  w = pair_world(SEED, &ap, NULL, &rx);
  NlNode *a = node(w, "a");
  for (guint i = 1; i <= 10; i++)
    assert_int_equal(udp_send(a, 0, BADDR, P1250, (uint16_t)i, 64, FALSE), 0);
  run_to(w, 35 * NL_MS);
  nl_iface_set_up(nl_node_iface(a, 0), FALSE);
  run(w);
  assert_int_equal(rx.pkts->len, 3);
  assert_int_equal(count(w, NL_TRACE_PKT_DROP, "a", NL_DROP_LINK_DOWN), 7);
  nl_world_free(w);
  rx_clear(&rx);
}

static void test_links_node_down(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_node_down(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 1);
  assert_string_equal(g_array_index(d, Rec, 0).node, "b");
  assert_int_equal(g_array_index(d, Rec, 0).why, NL_DROP_HOST_DOWN);
  g_array_free(d, TRUE);
  assert_int_equal(rx.pkts->len, 1);
  gsize len;
  const guint8 *p = rx_data(&rx, 0, &len);
  assert_int_equal(pkt_id(p, len), 3);
  assert_rerun_identical(w, sc_node_down);
  nl_world_free(w);
  rx_clear(&rx);

  /* A loopback packet still queued when its node goes down is lost too. */
  rx_init(&rx);
  w = nl_world_new(SEED);
  NlNode *solo = nl_node_new(w, "solo", NL_NODE_HOST);
  rx_hook(solo, &rx);
  assert_int_equal(udp_send(solo, A("127.0.0.1"), A("127.0.0.1"), 8, 1, 64,
                            FALSE),
                   0);
  nl_node_set_up(solo, FALSE);
  run(w);
  assert_int_equal(rx.pkts->len, 0);
  assert_int_equal(count(w, NL_TRACE_PKT_DROP, "solo", NL_DROP_HOST_DOWN),
                   1);
  nl_world_free(w);
  rx_clear(&rx);

  /* A router that is down forwards nothing. */
  rx_init(&rx);
  Chain c;
  chain_build(&c, NULL, NULL, &rx);
  nl_node_set_up(c.r1, FALSE);
  assert_int_equal(udp_send(c.h1, 0, H2, 8, 1, 64, FALSE), 0);
  run(c.w);
  assert_int_equal(rx.pkts->len, 0);
  assert_int_equal(count(c.w, NL_TRACE_PKT_DROP, "r1", NL_DROP_HOST_DOWN), 1);
  assert_int_equal(count(c.w, NL_TRACE_PKT_SEND, "r1", 0), 0);
  nl_world_free(c.w);
  rx_clear(&rx);
}

/* ---- partitions ---- */

/* A third host c on the lan is not affected by a-b's partition. */
static NlWorld *sc_partition(Rx *rx) {
  NlWorld *w = pair_world(SEED, NULL, NULL, rx);
  NlNode *c = nl_node_new(w, "c", NL_NODE_HOST);
  nl_node_attach(c, nl_world_find_network(w, "lan"), A("10.0.0.3"), NULL);
  nl_world_partition(w, node(w, "a"), node(w, "b"), TRUE);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 1, 64, FALSE), 0);
  /* Either way round. */
  assert_int_equal(udp_send(node(w, "b"), 0, AADDR, 8, 2, 64, FALSE), 0);
  assert_int_equal(udp_send(c, 0, BADDR, 8, 3, 64, FALSE), 0);
  run(w);
  nl_world_partition(w, node(w, "b"), node(w, "a"), FALSE);
  assert_int_equal(udp_send(node(w, "a"), 0, BADDR, 8, 4, 64, FALSE), 0);
  run(w);
  return w;
}

static void test_links_partition_and_heal(void **state) {
  (void)state;
  Rx rx;
  rx_init(&rx);
  NlWorld *w = sc_partition(&rx);
  GArray *d = recs(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
  assert_int_equal(d->len, 2);
  static const char *const at[] = {"a", "b"};
  for (guint i = 0; i < 2; i++) {
    Rec *x = &g_array_index(d, Rec, i);
    assert_int_equal(x->why, NL_DROP_BLOCKED);
    assert_string_equal(x->node, at[i]);
    assert_int_equal(pkt_id(x->data, x->len), i + 1);
  }
  g_array_free(d, TRUE);
  static const uint16_t ids[] = {3, 4};
  assert_int_equal(rx.pkts->len, 2);
  for (guint i = 0; i < 2; i++) {
    gsize len;
    const guint8 *p = rx_data(&rx, i, &len);
    assert_int_equal(pkt_id(p, len), ids[i]);
  }
  assert_rerun_identical(w, sc_partition);
  nl_world_free(w);
  rx_clear(&rx);
}

/* ---- freeing a busy world ---- */

/* Packets on both halves of a hop, a loopback packet, a half-reassembled
 * datagram and a queued transmitter when the world is freed: all of it is
 * released (the sanitizer build checks for leaks and bad frees). */
static void test_links_free_mid_flight(void **state) {
  (void)state;
  NlLinkProps ap = {.up = {.latency = 10 * NL_MS, .bandwidth = 1000000}};
  NlLinkProps bp = {.down = {.latency = 5 * NL_MS}};
  NlWorld *w = pair_world(SEED, &ap, &bp, NULL);
  NlNode *a = node(w, "a"), *b = node(w, "b");
  assert_int_equal(udp_send(a, 0, BADDR, 3000, 1, 64, FALSE), 0);
  assert_int_equal(udp_send(a, 0, BADDR, 100, 2, 64, FALSE), 0);
  run_to(w, 32 * NL_MS);
  /* The first fragment has reached b; the others are on their way. */
  assert_int_equal(count(w, NL_TRACE_PKT_RECV, "b", 0), 1);
  assert_int_equal(udp_send(b, A("127.0.0.1"), A("127.0.0.1"), 8, 3, 64,
                            FALSE),
                   0);
  assert_true(nl_event_queue_size(nl_world_queue(w)) >= 4);
  nl_world_free(w);
}

/* ---- determinism ---- */

/* The chain with every kind of impairment on every link, traffic both
 * ways and fragments. */
static NlWorld *impaired(uint64_t seed) {
  Chain c;
  NlLinkProps mid = {
      .up = {.latency = 2 * NL_MS, .jitter = NL_MS, .loss = 0.05,
             .dup = 0.05, .reorder = 0.05, .bandwidth = 10000000,
             .queue = 8},
      .down = {.latency = NL_MS, .jitter = 3 * NL_MS, .loss = 0.02},
      .mtu = 1000};
  chain_build_seed(&c, seed, &mid, NULL, NULL);
  NlLinkProps edge = {.up = {.latency = NL_MS, .jitter = 2 * NL_MS,
                             .loss = 0.03, .dup = 0.02, .reorder = 0.1},
                      .down = {.latency = NL_MS, .bandwidth = 5000000}};
  nl_iface_set_props(nl_node_iface(c.h1, 0), &edge);
  nl_iface_set_props(nl_node_iface(c.h2, 0), &edge);
  Pacer p1, p2;
  pacer_start(&p1, c.h1, H2, 200, 300 * NL_US, 1400);
  pacer_start(&p2, c.h2, H1, 200, 700 * NL_US, 200);
  run(c.w);
  return c.w;
}

static NlWorld *sc_impaired(Rx *rx) {
  (void)rx;
  return impaired(SEED);
}

static void test_links_determinism(void **state) {
  (void)state;
  NlWorld *w1 = impaired(SEED), *w2 = impaired(SEED);
  char *t1 = trace_text(w1), *t2 = trace_text(w2);
  assert_same_text(t1, t2);
  /* Every impairment took effect somewhere. */
  assert_true(count(w1, NL_TRACE_PKT_DROP, NULL, NL_DROP_LOSS) > 0);
  assert_true(count(w1, NL_TRACE_PKT_DROP, NULL, NL_DROP_QUEUE_FULL) > 0);
  assert_true(count(w1, NL_TRACE_PKT_DROP, NULL, NL_DROP_REASSEMBLY) > 0);
  assert_true(count(w1, NL_TRACE_PKT_DELIVER, NULL, 0) +
                  count(w1, NL_TRACE_PKT_DROP, NULL,
                        NL_DROP_PORT_UNREACHABLE) >
              0);
  /* Another seed, another run. */
  NlWorld *w3 = impaired(SEED + 1);
  char *t3 = trace_text(w3);
  assert_true(strcmp(t1, t3) != 0);
  g_free(t1);
  g_free(t2);
  g_free(t3);
  nl_world_free(w1);
  nl_world_free(w2);
  nl_world_free(w3);
  NlWorld *w = sc_impaired(NULL);
  assert_rerun_identical(w, sc_impaired);
  nl_world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_links_latency_adds_up),
      cmocka_unit_test(test_links_latency_drop_keeps_order),
      cmocka_unit_test(test_links_ideal_after_latency_overtakes),
      cmocka_unit_test(test_links_bandwidth_serialises),
      cmocka_unit_test(test_links_bandwidth_down_direction_queues),
      cmocka_unit_test(test_links_props_change_keeps_queue),
      cmocka_unit_test(test_links_queue_full_drops),
      cmocka_unit_test(test_links_loss_rate_and_seed),
      cmocka_unit_test(test_links_jitter_keeps_order),
      cmocka_unit_test(test_links_reorder_overtakes),
      cmocka_unit_test(test_links_dup_extra_copies),
      cmocka_unit_test(test_links_dup_down_direction),
      cmocka_unit_test(test_links_link_down_and_up),
      cmocka_unit_test(test_links_node_down),
      cmocka_unit_test(test_links_crashed_node_stops_transmitting),
      cmocka_unit_test(test_links_world_freed_with_packets_in_flight),
      cmocka_unit_test(test_links_partition_and_heal),
      cmocka_unit_test(test_links_free_mid_flight),
      cmocka_unit_test(test_links_determinism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
