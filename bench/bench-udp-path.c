/* bench-udp-path: UDP packets through a 3-hop path, host a → router r1 →
 * router r2 → host b, in the network layer alone (no sockets).  A driver
 * event hands BATCH prebuilt nl_udp4_build packets to nl_node_send on a
 * every BATCH µs of virtual time (1 packet/µs); a local_in hook on b counts
 * and frees them.  Each case runs with the full trace (the default mask)
 * and with only NL_TRACE_NODE recorded (a run that asks for no outputs).
 *
 *   bench-udp-path [PACKETS [PAYLOAD_BYTES]]   (defaults: 1000000 32)
 *
 * Prints packets per second of wall and CPU time (end to end: each packet
 * makes 3 hops, is forwarded twice and costs 3 events), and, for the full
 * trace, the number of records and a hash of them, so that a change to the
 * engine can be checked to leave the trace identical.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/net/net.h"
#include "sim/net/wire.h"

#define BATCH 100
#define N_TEMPLATES 256

typedef struct {
  NlWorld *w;
  NlNode *a;
  NlEvent driver;
  guint8 pkt[N_TEMPLATES][NL_IP4_MAX_LEN];
  size_t pkt_len[N_TEMPLATES];
  uint64_t to_send, sent, received;
} Bench;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t ip(const char *s) {
  struct in_addr a;
  g_assert(inet_pton(AF_INET, s, &a) == 1);
  return ntohl(a.s_addr);
}

static void on_local_in(void *data, NlNode *node, NlPacket *pkt) {
  Bench *b = data;
  b->received++;
  nl_packet_free(pkt);
}

static void on_driver(NlEvent *ev, void *data) {
  Bench *b = data;
  for (guint i = 0; i < BATCH && b->sent < b->to_send; i++, b->sent++) {
    guint k = (guint)(b->sent % N_TEMPLATES);
    int r = nl_node_send(b->a, b->pkt[k], b->pkt_len[k]);
    g_assert(r == 0);
  }
  if (b->sent < b->to_send)
    nl_event_schedule_in(nl_world_queue(b->w), ev, BATCH * NL_US);
}

static NlNetwork *net(NlWorld *w, const char *name, const char *prefix) {
  NlNetwork *n = nl_network_new(w, name);
  nl_network_add_prefix(n, ip(prefix), 24);
  return n;
}

/* Hash of every record (fixed part and payload): FNV-1a, 64 bits. */
static uint64_t trace_hash(NlTrace *t) {
  uint64_t h = 14695981039346656037ull;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    const guint8 *r = (const guint8 *)rec;
    for (size_t i = 0; i < sizeof *rec; i++)
      h = (h ^ r[i]) * 1099511628211ull;
    for (size_t i = 0; i < rec->len; i++)
      h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

static void run(uint64_t packets, size_t payload, NlTime latency,
                gboolean full_trace) {
  Bench *b = g_new0(Bench, 1);
  b->w = nl_world_new(1);
  b->to_send = packets;
  NlTrace *t = nl_world_trace(b->w);
  if (!full_trace)
    nl_trace_set_mask(t, 1u << NL_TRACE_NODE);
  NlNetwork *n1 = net(b->w, "n1", "10.0.1.0");
  NlNetwork *n2 = net(b->w, "n2", "10.0.2.0");
  NlNetwork *n3 = net(b->w, "n3", "10.0.3.0");
  NlLinkProps lp = {.up = {.latency = latency}};
  b->a = nl_node_new(b->w, "a", NL_NODE_HOST);
  NlNode *r1 = nl_node_new(b->w, "r1", NL_NODE_ROUTER);
  NlNode *r2 = nl_node_new(b->w, "r2", NL_NODE_ROUTER);
  NlNode *hb = nl_node_new(b->w, "b", NL_NODE_HOST);
  nl_node_attach(b->a, n1, ip("10.0.1.2"), &lp);
  nl_node_attach(r1, n1, ip("10.0.1.1"), &lp);
  nl_node_attach(r1, n2, ip("10.0.2.1"), &lp);
  nl_node_attach(r2, n2, ip("10.0.2.2"), &lp);
  nl_node_attach(r2, n3, ip("10.0.3.1"), &lp);
  nl_node_attach(hb, n3, ip("10.0.3.2"), &lp);
  nl_node_set_forwarding(r1, TRUE);
  nl_node_set_forwarding(r2, TRUE);
  nl_node_add_route(b->a, 0, 0, ip("10.0.1.1"));
  nl_node_add_route(r1, ip("10.0.3.0"), 24, ip("10.0.2.2"));
  nl_node_add_route(r2, ip("10.0.1.0"), 24, ip("10.0.2.1"));
  nl_node_add_route(hb, 0, 0, ip("10.0.3.1"));
  NlNodeHooks hooks = {.local_in = on_local_in, .data = b};
  nl_node_set_hooks(hb, &hooks);

  guint8 *data = g_malloc0(payload);
  for (guint k = 0; k < N_TEMPLATES; k++) {
    memset(data, (int)k, payload);
    b->pkt_len[k] = nl_udp4_build(b->pkt[k], ip("10.0.1.2"),
                                  (uint16_t)(40000 + k), ip("10.0.3.2"), 9,
                                  data, payload, (uint16_t)k, 64, TRUE);
  }
  g_free(data);

  nl_event_init(&b->driver, on_driver, b);
  nl_event_schedule(nl_world_queue(b->w), &b->driver, 0);
  uint64_t fired0 = nl_event_fired(nl_world_queue(b->w));
  double w0 = clock_s(CLOCK_MONOTONIC);
  double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  nl_event_run(nl_world_queue(b->w));
  double dw = clock_s(CLOCK_MONOTONIC) - w0;
  double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  uint64_t events = nl_event_fired(nl_world_queue(b->w)) - fired0;

  NlNetStats st;
  nl_world_stats(b->w, &st);
  g_assert(b->received == packets);
  g_assert(st.forwarded == 2 * packets);
  printf("%-8s latency %4" G_GINT64_FORMAT " us, %-10s trace: "
         "%" G_GUINT64_FORMAT " packets (%" G_GUINT64_FORMAT " events) in "
         "%.3f s wall, %.3f s CPU: %.3f M packets/s wall, %.3f M/s CPU, "
         "%.0f ns/packet CPU\n",
         latency ? "latency" : "ideal", latency / NL_US,
         full_trace ? "full" : "NODE-only", packets, events, dw, dc,
         packets / dw / 1e6, packets / dc / 1e6, dc * 1e9 / packets);
  if (full_trace)
    printf("  trace: %" G_GUINT64_FORMAT " records, hash %016" G_GINT64_MODIFIER
           "x\n",
           nl_trace_count(t), trace_hash(t));
  nl_world_free(b->w);
  g_free(b);
}

int main(int argc, char **argv) {
  uint64_t packets = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 1000000;
  size_t payload = argc > 2 ? (size_t)atoi(argv[2]) : 32;
  NlTime latencies[] = {0, 1 * NL_MS};
  for (guint i = 0; i < G_N_ELEMENTS(latencies); i++) {
    run(packets, payload, latencies[i], TRUE);
    run(packets, payload, latencies[i], FALSE);
  }
  return 0;
}
