/* A two-host harness for the TCP engine tests: two NlTcpStacks joined by a
 * fake wire on the real NlEventQueue, with latency, a bandwidth queue, and
 * loss, reordering and duplication drawn from a seeded NlRand.  Every
 * packet put on the wire is recorded as a PKT_SEND record, so the trace
 * reads like the lab's.
 *
 * Included by tests/test-tcp-*.c only (static functions, one copy each).
 */
#ifndef NL_TEST_TCP_HARNESS_H
#define NL_TEST_TCP_HARNESS_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "sim/core/event.h"
#include "sim/core/rand.h"
#include "sim/tcp/tcp.h"
#include "sim/core/trace.h"
#include "sim/net/net.h"
#include "sim/net/wire.h"

#define ADDR_A 0x0a000001u /* 10.0.0.1 */
#define ADDR_B 0x0a000002u /* 10.0.0.2 */

typedef struct Wire Wire;

typedef struct {
  Wire *w;
  int idx;
  NlTcpStack *st;
  uint32_t addr;
  guint32 node;
  gboolean dead; /* drops everything it would send or receive */
} Host;

/* The user pointer of a test socket: counts notifications. */
typedef struct {
  int notified;
  unsigned last_poll;
} User;

struct Wire {
  NlEventQueue *q;
  NlTrace *trace;
  NlRand rand;
  Host h[2];
  NlTime latency; /* one way */
  double loss, dup, reorder;
  NlTime reorder_delay; /* extra delay of a reordered packet */
  uint64_t rate_bps;    /* 0: infinite */
  size_t queue_limit;   /* bytes waiting to serialize, per direction */
  guint mtu;
  NlTime busy_until[2];
  uint64_t sent, dropped, pkt_id;
  int drop_next[2]; /* drop the next N packets host i sends */
  uint64_t seed;
  /* wire_use_packets: the stacks hand over NlPackets (send_packet), the
   * wire carries them and the receiver takes them (nl_tcp_input_packet),
   * as the lab's hosts do.  @shared: packets handed over that their
   * sender still holds (nl_packet_share); @shared_resent: of those, ones
   * whose data does not start past every byte sent before. */
  gboolean packets;
  uint64_t shared, shared_resent;
  uint32_t seq_end[2]; /* past the highest data byte each host sent */
  gboolean seq_seen[2];
};

typedef struct {
  NlEvent ev;
  Wire *w;
  int to;
  size_t len;
  NlPacket *pkt; /* in packet mode, else NULL and the bytes in data */
  guint8 data[];
} WirePkt;

G_GNUC_UNUSED static void wire_deliver(NlEvent *ev, void *data) {
  WirePkt *p = data;
  Host *h = &p->w->h[p->to];
  (void)ev;
  if (p->pkt != NULL) {
    if (h->dead)
      nl_packet_free(p->pkt);
    else
      nl_tcp_input_packet(h->st, p->pkt, &p->pkt->ip4); /* takes it */
  } else if (!h->dead) {
    if (p->data[9] == NL_IPPROTO_ICMP)
      nl_tcp_icmp_input(h->st, p->data, p->len);
    else
      nl_tcp_input(h->st, p->data, p->len);
  }
  g_free(p);
}

/* When a packet of @len bytes from host @from, put on the wire now, arrives
 * (@extra late), or -1 when the queue is full. */
G_GNUC_UNUSED static NlTime wire_arrival(Wire *w, int from, size_t len,
                                         NlTime extra) {
  NlTime now = nl_event_now(w->q);
  NlTime start = MAX(now, w->busy_until[from]);
  if (w->rate_bps) {
    size_t waiting = (size_t)((start - now) * (double)w->rate_bps / 8e9);
    if (waiting + len > w->queue_limit) {
      w->dropped++;
      return -1;
    }
    NlTime tx = (NlTime)((double)len * 8 * 1e9 / (double)w->rate_bps);
    w->busy_until[from] = start + tx;
    start += tx;
  }
  return start + w->latency + extra;
}

/* Puts @pkt (transfer full) on the wire from host @from. */
G_GNUC_UNUSED static void wire_put_packet(Wire *w, int from, NlPacket *pkt,
                                          NlTime extra) {
  NlTime at = wire_arrival(w, from, pkt->len, extra);
  if (at < 0) {
    nl_packet_free(pkt);
    return;
  }
  WirePkt *p = g_malloc(sizeof *p);
  p->w = w;
  p->to = 1 - from;
  p->len = pkt->len;
  p->pkt = pkt;
  nl_event_init(&p->ev, wire_deliver, p);
  nl_event_schedule(w->q, &p->ev, at);
}

G_GNUC_UNUSED static void wire_put(Wire *w, int from, const guint8 *pkt,
                                   size_t len, NlTime extra) {
  if (w->packets) {
    /* A copy of its own, as a duplicating link makes. */
    NlPacket *c = nl_packet_new(pkt, len);
    g_assert_null(nl_packet_ip4(c));
    c->tcp_sum_ok = TRUE;
    wire_put_packet(w, from, c, extra);
    return;
  }
  NlTime at = wire_arrival(w, from, len, extra);
  if (at < 0)
    return;
  WirePkt *p = g_malloc(sizeof *p + len);
  p->w = w;
  p->to = 1 - from;
  p->len = len;
  p->pkt = NULL;
  memcpy(p->data, pkt, len);
  nl_event_init(&p->ev, wire_deliver, p);
  nl_event_schedule(w->q, &p->ev, at);
}

G_GNUC_UNUSED static void hook_output(void *ctx, const guint8 *pkt,
                                      size_t len) {
  Host *h = ctx;
  Wire *w = h->w;
  w->sent++;
  nl_trace_add(w->trace, nl_event_now(w->q), NL_TRACE_PKT_SEND, h->node,
               w->h[1 - h->idx].node, ++w->pkt_id, 0, pkt, (guint32)len);
  if (h->dead || w->h[1 - h->idx].dead)
    return;
  if (w->drop_next[h->idx] > 0) {
    w->drop_next[h->idx]--;
    w->dropped++;
    return;
  }
  if (w->loss > 0 && nl_rand_chance(&w->rand, w->loss)) {
    w->dropped++;
    return;
  }
  NlTime extra = 0;
  if (w->reorder > 0 && nl_rand_chance(&w->rand, w->reorder))
    extra = w->reorder_delay;
  wire_put(w, h->idx, pkt, len, extra);
  if (w->dup > 0 && nl_rand_chance(&w->rand, w->dup))
    wire_put(w, h->idx, pkt, len, extra);
}

/* Packet mode's send_packet: the packet itself goes on the wire (or a
 * copy of it, for a duplicate); the same draws and records as hook_output. */
G_GNUC_UNUSED static void hook_send_packet(void *ctx, NlPacket *pkt) {
  Host *h = ctx;
  Wire *w = h->w;
  g_assert_true(pkt->ip4_ok && pkt->tcp_sum_ok);
  NlTcpHeader th;
  g_assert_null(nl_tcp4_parse(pkt->data, pkt->len, &pkt->ip4, &th));
  size_t dlen = pkt->len - NL_IP4_HDR_LEN - th.hdr_bytes;
  if (dlen > 0) {
    uint32_t end = th.seq + (uint32_t)dlen;
    if (pkt->shares > 0) {
      w->shared++;
      if (w->seq_seen[h->idx] && (int32_t)(th.seq - w->seq_end[h->idx]) < 0)
        w->shared_resent++;
    }
    if (!w->seq_seen[h->idx] || (int32_t)(end - w->seq_end[h->idx]) > 0)
      w->seq_end[h->idx] = end;
    w->seq_seen[h->idx] = TRUE;
  }
  w->sent++;
  nl_trace_add(w->trace, nl_event_now(w->q), NL_TRACE_PKT_SEND, h->node,
               w->h[1 - h->idx].node, ++w->pkt_id, 0, pkt->data,
               (guint32)pkt->len);
  gboolean lost = h->dead || w->h[1 - h->idx].dead;
  if (!lost && w->drop_next[h->idx] > 0) {
    w->drop_next[h->idx]--;
    w->dropped++;
    lost = TRUE;
  }
  if (!lost && w->loss > 0 && nl_rand_chance(&w->rand, w->loss)) {
    w->dropped++;
    lost = TRUE;
  }
  if (lost) {
    nl_packet_free(pkt);
    return;
  }
  NlTime extra = 0;
  if (w->reorder > 0 && nl_rand_chance(&w->rand, w->reorder))
    extra = w->reorder_delay;
  gboolean dup = w->dup > 0 && nl_rand_chance(&w->rand, w->dup);
  if (dup)
    wire_put(w, h->idx, pkt->data, pkt->len, extra); /* before: it copies */
  wire_put_packet(w, h->idx, pkt, extra);
}

G_GNUC_UNUSED static gboolean hook_route(void *ctx, uint32_t dst, uint32_t *src,
                                         guint *mtu) {
  Host *h = ctx;
  if ((dst & 0xffffff00u) != 0x0a000000u)
    return FALSE;
  *src = h->addr;
  *mtu = h->w->mtu;
  return TRUE;
}

G_GNUC_UNUSED static gboolean hook_is_local(void *ctx, uint32_t addr) {
  Host *h = ctx;
  return addr == h->addr;
}

G_GNUC_UNUSED static void hook_notify(void *ctx, NlTcpSock *s, void *user) {
  User *u = user;
  (void)ctx;
  if (u != NULL) {
    u->notified++;
    u->last_poll = nl_tcp_poll(s);
  }
}

static void wire_stacks_new(Wire *w) {
  static const char *names[2] = {"alice", "bob"};
  for (int i = 0; i < 2; i++) {
    Host *h = &w->h[i];
    NlTcpHooks hooks = {.ctx = h,
                        .output = hook_output,
                        .route = hook_route,
                        .is_local = hook_is_local,
                        .notify = hook_notify};
    if (w->packets)
      hooks.send_packet = hook_send_packet;
    h->st =
        nl_tcp_stack_new(w->q, w->trace, h->node, w->seed, names[i], &hooks);
  }
}

static Wire *wire_new(uint64_t seed, NlTime latency) {
  Wire *w = g_new0(Wire, 1);
  w->seed = seed;
  w->q = nl_event_queue_new();
  w->trace = nl_trace_new();
  nl_rand_init(&w->rand, seed, "test-wire");
  w->latency = latency;
  w->mtu = 1500;
  w->queue_limit = 1 << 20;
  w->reorder_delay = 5 * NL_MS;
  static const char *names[2] = {"alice", "bob"};
  for (int i = 0; i < 2; i++) {
    Host *h = &w->h[i];
    h->w = w;
    h->idx = i;
    h->addr = i == 0 ? ADDR_A : ADDR_B;
    h->node = nl_trace_intern(w->trace, names[i]);
  }
  wire_stacks_new(w);
  return w;
}

/* Packet mode (see Wire.packets), before any socket is made. */
G_GNUC_UNUSED static void wire_use_packets(Wire *w) {
  for (int i = 0; i < 2; i++) {
    g_assert_cmpuint(nl_tcp_stack_n_socks(w->h[i].st), ==, 0);
    nl_tcp_stack_free(w->h[i].st);
  }
  w->packets = TRUE;
  wire_stacks_new(w);
}

G_GNUC_UNUSED static void wire_free(Wire *w) {
  for (int i = 0; i < 2; i++)
    nl_tcp_stack_free(w->h[i].st);
  /* Packets still on the wire. */
  while (nl_event_queue_size(w->q) > 0) {
    w->h[0].dead = w->h[1].dead = TRUE;
    nl_event_run(w->q);
  }
  nl_event_queue_free(w->q);
  nl_trace_free(w->trace);
  g_free(w);
}

G_GNUC_UNUSED static void run_for(Wire *w, NlTime d) {
  nl_event_run_until(w->q, nl_event_now(w->q) + d);
}

/* The whole trace as text, one line per record. */
G_GNUC_UNUSED static char *trace_text(Wire *w) {
  GString *out = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    nl_trace_format(w->trace, rec, payload, out);
    g_string_append_c(out, '\n');
  }
  return g_string_free(out, FALSE);
}

/* The TCP_STATE records of @node whose text contains @filter ("" for all),
 * without the tuple, joined with "; ". */
G_GNUC_UNUSED static char *trace_states(Wire *w, guint32 node,
                                        const char *filter) {
  GString *out = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != NL_TRACE_TCP_STATE || rec->node != node)
      continue;
    char *text = g_strndup((const char *)payload, rec->len);
    if (strstr(text, filter) != NULL && strstr(text, " -> ") != NULL) {
      /* "a:p > b:q FROM -> TO": keep "FROM -> TO". */
      const char *arrow = strstr(text, " -> ");
      const char *from = arrow;
      while (from > text && from[-1] != ' ')
        from--;
      if (out->len)
        g_string_append(out, "; ");
      g_string_append(out, from);
    }
    g_free(text);
  }
  return g_string_free(out, FALSE);
}

/* Time of the first TCP_STATE record of @node containing @needle, or -1. */
G_GNUC_UNUSED static NlTime trace_time_of(Wire *w, guint32 node,
                                          const char *needle) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != NL_TRACE_TCP_STATE || rec->node != node)
      continue;
    char *text = g_strndup((const char *)payload, rec->len);
    gboolean hit = strstr(text, needle) != NULL;
    g_free(text);
    if (hit)
      return rec->time;
  }
  return -1;
}

G_GNUC_UNUSED static int count_states(Wire *w, guint32 node,
                                      const char *needle) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  int n = 0;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != NL_TRACE_TCP_STATE || rec->node != node)
      continue;
    char *text = g_strndup((const char *)payload, rec->len);
    n += strstr(text, needle) != NULL;
    g_free(text);
  }
  return n;
}

/* A server on bob:@port and a client on alice connected to it. */
typedef struct {
  NlTcpSock *listener, *client, *server;
  User lu, cu, su;
} Pair;

G_GNUC_UNUSED static void pair_open(Wire *w, Pair *p, uint16_t port) {
  memset(p, 0, sizeof *p);
  p->listener = nl_tcp_socket(w->h[1].st, &p->lu);
  g_assert_cmpint(nl_tcp_bind(p->listener, INADDR_ANY, port), ==, 0);
  g_assert_cmpint(nl_tcp_listen(p->listener, 16), ==, 0);
  p->client = nl_tcp_socket(w->h[0].st, &p->cu);
  g_assert_cmpint(nl_tcp_connect(p->client, ADDR_B, port), ==, -EINPROGRESS);
  for (int i = 0; i < 1000 && p->server == NULL; i++) {
    run_for(w, 10 * NL_MS);
    int err;
    p->server = nl_tcp_accept(p->listener, &p->su, &err);
  }
  g_assert_nonnull(p->server);
  g_assert_cmpint(nl_tcp_connect(p->client, ADDR_B, port), ==, 0);
}

/* Runs @fn on two fresh wires with the same seed and asserts that the two
 * traces are identical. */
typedef void (*ScenarioFn)(Wire *w, void *result);

G_GNUC_UNUSED static void run_twice(uint64_t seed, NlTime latency,
                                    ScenarioFn fn, void *r1, void *r2) {
  Wire *w1 = wire_new(seed, latency);
  fn(w1, r1);
  char *t1 = trace_text(w1);
  if (g_getenv("NL_TCP_TEST_TRACE") != NULL) /* debugging aid */
    fputs(t1, stderr);
  wire_free(w1);
  Wire *w2 = wire_new(seed, latency);
  fn(w2, r2);
  char *t2 = trace_text(w2);
  wire_free(w2);
  g_assert_cmpuint(strlen(t1), >, 0);
  g_assert_true(strcmp(t1, t2) == 0);
  g_free(t1);
  g_free(t2);
}

#endif
