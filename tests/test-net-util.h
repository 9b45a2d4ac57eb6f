/* Shared helpers for the tests/test-net-*.c files: worlds built with the
 * network API, a local_in hook that records what arrives, UDP senders and
 * queries over the trace.  Header-only; include after <cmocka.h>. */
#ifndef NL_TEST_NET_UTIL_H
#define NL_TEST_NET_UTIL_H

#include <errno.h>
#include <string.h>

#include "sim/net/net.h"
#include "sim/net/wire.h"

#define SEED 20251125u

static inline uint32_t A(const char *s) {
  uint32_t a = 0;
  gboolean ok = nl_ip4_from_string(s, &a);
  g_assert(ok);
  return a;
}

/* What a node's local_in hook saw: whole packets and their arrival
 * times. */
typedef struct {
  GPtrArray *pkts; /* of GBytes */
  GArray *times;   /* of NlTime */
} Rx;

static void rx_local_in(void *data, NlNode *node, NlPacket *pkt) {
  Rx *rx = data;
  NlTime now = nl_world_now(nl_node_world(node));
  g_ptr_array_add(rx->pkts, g_bytes_new(pkt->data, pkt->len));
  g_array_append_val(rx->times, now);
  nl_packet_free(pkt);
}

static inline void rx_init(Rx *rx) {
  rx->pkts = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  rx->times = g_array_new(FALSE, FALSE, sizeof(NlTime));
}

static inline void rx_clear(Rx *rx) {
  g_ptr_array_free(rx->pkts, TRUE);
  g_array_free(rx->times, TRUE);
}

/* Installs @rx as @n's local_in hook. */
static inline void rx_hook(NlNode *n, Rx *rx) {
  NlNodeHooks h = {.local_in = rx_local_in, .data = rx};
  nl_node_set_hooks(n, &h);
}

static inline const guint8 *rx_data(const Rx *rx, guint i, gsize *len) {
  return g_bytes_get_data(g_ptr_array_index(rx->pkts, i), len);
}

static inline NlTime rx_time(const Rx *rx, guint i) {
  return g_array_index(rx->times, NlTime, i);
}

/* The payload byte @i of datagram @id: a pattern that differs per
 * datagram and per position, so misplaced bytes show. */
static inline guint8 pattern(uint16_t id, guint i) {
  return (guint8)((i * 7u + id * 13u + (i >> 8)) & 0xff);
}

/* Builds a UDP datagram of @plen payload bytes into @buf (which holds at
 * least 28 + @plen).  Returns the length. */
static inline size_t udp_build(guint8 *buf, uint32_t src, uint32_t dst,
                               size_t plen, uint16_t id, uint8_t ttl,
                               gboolean df) {
  guint8 *payload = g_malloc(plen ? plen : 1);
  for (guint i = 0; i < plen; i++)
    payload[i] = pattern(id, i);
  size_t len = nl_udp4_build(buf, src, 4000, dst, 5000, payload, plen, id,
                             ttl, df);
  g_free(payload);
  return len;
}

/* Sends a UDP datagram from @n (source: its first interface, or @src when
 * non-zero).  Returns nl_node_send's result. */
static inline int udp_send(NlNode *n, uint32_t src, uint32_t dst, size_t plen,
                           uint16_t id, uint8_t ttl, gboolean df) {
  guint8 *buf = g_malloc(NL_IP4_HDR_LEN + NL_UDP_HDR_LEN + plen);
  if (src == 0)
    src = nl_iface_addr(nl_node_iface(n, 0));
  size_t len = udp_build(buf, src, dst, plen, id, ttl, df);
  int rc = nl_node_send(n, buf, len);
  g_free(buf);
  return rc;
}

/* ---- trace queries ---- */

/* One packet record, copied out of the trace. */
typedef struct {
  NlTime time;
  uint64_t id;
  NlTraceKind kind;
  NlDropReason why;
  const char *node, *peer; /* interned names; valid with the world */
  const guint8 *data;      /* points into the trace */
  guint32 len;
} Rec;

/* Every packet record of @kind at node @node (NULL: any), with drop reason
 * @why when @kind is a drop (NL_DROP_NONE: any), in trace order. */
static inline GArray *recs(NlWorld *w, NlTraceKind kind, const char *node,
                           NlDropReason why) {
  GArray *out = g_array_new(FALSE, TRUE, sizeof(Rec));
  NlTrace *t = nl_world_trace(w);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != kind)
      continue;
    const char *name = nl_trace_name(t, rec->node);
    if (node != NULL && strcmp(name, node) != 0)
      continue;
    if (kind == NL_TRACE_PKT_DROP && why != NL_DROP_NONE &&
        nl_trace_drop_reason(rec->aux) != why)
      continue;
    Rec r = {.time = rec->time, .id = rec->id, .kind = rec->kind,
             .why = nl_trace_drop_reason(rec->aux), .node = name,
             .peer = nl_trace_name(t, rec->peer), .data = payload,
             .len = rec->len};
    g_array_append_val(out, r);
  }
  return out;
}

static inline guint count(NlWorld *w, NlTraceKind kind, const char *node,
                          NlDropReason why) {
  GArray *a = recs(w, kind, node, why);
  guint n = a->len;
  g_array_free(a, TRUE);
  return n;
}

/* Every drop at all, whatever the reason. */
static inline guint count_drops(NlWorld *w) {
  return count(w, NL_TRACE_PKT_DROP, NULL, NL_DROP_NONE);
}

/* The whole trace as text, one record a line (g_free it). */
static inline char *trace_text(NlWorld *w) {
  NlTrace *t = nl_world_trace(w);
  GString *s = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    nl_trace_format(t, rec, payload, s);
    g_string_append_c(s, '\n');
  }
  return g_string_free(s, FALSE);
}

static inline void run(NlWorld *w) {
  nl_event_run(nl_world_queue(w));
}

/* Checks two traces are identical; on failure names the first line that
 * differs (whole traces are too long for a message). */
static inline void assert_same_text(const char *a, const char *b) {
  if (strcmp(a, b) == 0)
    return;
  guint line = 1;
  const char *la = a, *lb = b;
  while (*a && *a == *b) {
    if (*a == '\n') {
      line++;
      la = a + 1;
      lb = b + 1;
    }
    a++;
    b++;
  }
  fail_msg("traces differ at line %u:\n  %.*s\n  %.*s", line,
           (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

/* A simulation run from scratch: builds a world, runs it, returns it (the
 * caller frees it); @rx, when the run uses one, is already initialised. */
typedef NlWorld *(*Scenario)(Rx *rx);

/* Runs @sc again in a fresh world and checks the trace is byte-identical
 * to @w's. */
static inline void assert_rerun_identical(NlWorld *w, Scenario sc) {
  Rx rx2;
  rx_init(&rx2);
  NlWorld *w2 = sc(&rx2);
  char *a = trace_text(w), *b = trace_text(w2);
  assert_true(strlen(a) > 0);
  assert_same_text(a, b);
  g_free(a);
  g_free(b);
  nl_world_free(w2);
  rx_clear(&rx2);
}

/* Checks that @pkt (@len bytes) is a sound IPv4 packet: parses, header
 * checksum right.  OUT: @ip. */
static inline void assert_ip_ok(const guint8 *pkt, gsize len,
                                NlIp4Header *ip) {
  const char *why = nl_ip4_parse(pkt, len, ip);
  if (why != NULL)
    fail_msg("bad IPv4 packet: %s", why);
  assert_int_equal(nl_wire_checksum(pkt, ip->ihl_bytes), 0);
}

/* Checks that @pkt is the ICMP error @type/@code; returns its bytes 6-7
 * (the next-hop MTU for frag-needed).  OUT: @ip, @quoted (the quoted
 * original's header). */
static inline uint16_t assert_icmp(const guint8 *pkt, gsize len, uint8_t type,
                                   uint8_t code, NlIp4Header *ip,
                                   NlIp4Header *quoted) {
  assert_ip_ok(pkt, len, ip);
  assert_int_equal(ip->proto, NL_IPPROTO_ICMP);
  const guint8 *ic = pkt + ip->ihl_bytes;
  size_t iclen = ip->total_len - ip->ihl_bytes;
  assert_true(iclen >= NL_ICMP_HDR_LEN + NL_IP4_HDR_LEN);
  assert_int_equal(ic[0], type);
  assert_int_equal(ic[1], code);
  assert_int_equal(nl_wire_checksum(ic, iclen), 0);
  /* The quote is the header and 8 bytes: parse it as a header only. */
  const guint8 *q = ic + NL_ICMP_HDR_LEN;
  memset(quoted, 0, sizeof *quoted);
  quoted->ttl = q[8];
  quoted->proto = q[9];
  quoted->id = (uint16_t)(q[4] << 8 | q[5]);
  quoted->src = (uint32_t)q[12] << 24 | (uint32_t)q[13] << 16 |
                (uint32_t)q[14] << 8 | q[15];
  quoted->dst = (uint32_t)q[16] << 24 | (uint32_t)q[17] << 16 |
                (uint32_t)q[18] << 8 | q[19];
  return (uint16_t)(ic[6] << 8 | ic[7]);
}

/* ---- a chain: h1 - lan1 - r1 - mid - r2 - lan2 - h2 ----
 * lan1 10.0.1.0/24 (h1 .10, r1 .1), mid 10.0.2.0/24 (r1 .1, r2 .2),
 * lan2 10.0.3.0/24 (r2 .1, h2 .10).  Hosts route by default via their
 * router; r1 reaches lan2 via r2 and r2 lan1 via r1. */
typedef struct {
  NlWorld *w;
  NlNode *h1, *r1, *r2, *h2;
} Chain;

#define H1 A("10.0.1.10")
#define H2 A("10.0.3.10")

/* @r1_mid: r1's link to mid (NULL: ideal).  @rx1, @rx2: local_in hooks
 * for h1 and h2 (NULL: none). */
static inline void chain_build_seed(Chain *c, uint64_t seed,
                                    const NlLinkProps *r1_mid, Rx *rx1,
                                    Rx *rx2) {
  c->w = nl_world_new(seed);
  NlNetwork *lan1 = nl_network_new(c->w, "lan1");
  NlNetwork *mid = nl_network_new(c->w, "mid");
  NlNetwork *lan2 = nl_network_new(c->w, "lan2");
  nl_network_add_prefix(lan1, A("10.0.1.0"), 24);
  nl_network_add_prefix(mid, A("10.0.2.0"), 24);
  nl_network_add_prefix(lan2, A("10.0.3.0"), 24);
  c->h1 = nl_node_new(c->w, "h1", NL_NODE_HOST);
  c->r1 = nl_node_new(c->w, "r1", NL_NODE_ROUTER);
  c->r2 = nl_node_new(c->w, "r2", NL_NODE_ROUTER);
  c->h2 = nl_node_new(c->w, "h2", NL_NODE_HOST);
  nl_node_attach(c->h1, lan1, H1, NULL);
  nl_node_attach(c->r1, lan1, A("10.0.1.1"), NULL);
  nl_node_attach(c->r1, mid, A("10.0.2.1"), r1_mid);
  nl_node_attach(c->r2, mid, A("10.0.2.2"), NULL);
  nl_node_attach(c->r2, lan2, A("10.0.3.1"), NULL);
  nl_node_attach(c->h2, lan2, H2, NULL);
  nl_node_add_route(c->h1, 0, 0, A("10.0.1.1"));
  nl_node_add_route(c->h2, 0, 0, A("10.0.3.1"));
  nl_node_add_route(c->r1, A("10.0.3.0"), 24, A("10.0.2.2"));
  nl_node_add_route(c->r2, A("10.0.1.0"), 24, A("10.0.2.1"));
  if (rx1)
    rx_hook(c->h1, rx1);
  if (rx2)
    rx_hook(c->h2, rx2);
}

static inline void chain_build(Chain *c, const NlLinkProps *r1_mid, Rx *rx1,
                               Rx *rx2) {
  chain_build_seed(c, SEED, r1_mid, rx1, rx2);
}

#endif
