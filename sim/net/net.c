/* The network layer: world, networks, nodes, links, routing, forwarding,
 * fragmentation and reassembly. */
#include "sim/net/net-priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/net/wire.h"

#define REASM_TIMEOUT (30 * NL_S) /* Linux ipfrag_time */

static const char *const node_kind_names[] = {
#define NL_X(e, s) s,
  NL_NODE_KIND_MAP(NL_X)
#undef NL_X
};

static inline __attribute__((always_inline)) void
node_input(NlNode *n, NlIface *in, NlPacket *pkt);
static gboolean dir_trivial(const NlLinkDir *d);
static gboolean dir_latency_only(const NlLinkDir *d);
static void hop_start(NlIface *from, NlPacket *pkt, uint32_t next_hop);
static void reasm_free(gpointer p);
static void hop_event(NlEvent *ev, void *data);

/* ---- packets ---- */

/* A packet and its bytes are one block of memory when they fit one of two
 * sizes (a datagram; a full-size segment), and freed blocks are kept for
 * the next packets, up to pkt_keep_max of each size (as many as a run
 * has in flight at once: 1,000 hosts have about 1,200 datagrams on their
 * links; one TCP flow keeps up to its send buffer on the wire, 4 MiB or
 * about 2,900 full-size segments): a hop then costs no malloc.  The kept blocks are per thread (a
 * world is used from one thread) and given back when a world is freed. */
typedef struct {
  NlPacket p;
  /* From the fourth line: a forwarding node reads the packet's first
   * two lines and its bytes' first, not the third (net.h). */
  _Alignas(64) guint8 buf[];
} PacketBlock;
G_STATIC_ASSERT(G_STRUCT_OFFSET(NlPacket, stage) < 64 &&
                G_STRUCT_OFFSET(NlPacket, tcp_sum_ok) < 64);
G_STATIC_ASSERT(G_STRUCT_OFFSET(NlPacket, cap) + 4 <= 128 &&
                G_STRUCT_OFFSET(NlPacket, data) >= 64);
G_STATIC_ASSERT(G_STRUCT_OFFSET(PacketBlock, buf) == 192);

#define PKT_CLASSES 2
static const guint pkt_class_cap[PKT_CLASSES] = {256, NL_PACKET_BLOCK_MAX};
static const guint pkt_keep_max[PKT_CLASSES] = {16384, 8192};

typedef struct {
  PacketBlock **blocks;
  guint n, cap;
} PacketKeep;

static _Thread_local PacketKeep pkt_keep[PKT_CLASSES];

/* Every block allocated and not given back yet, kept ones too, each at
 * its packet's reg: a world being freed finds the packets it still has on
 * its links here, and a transmitter that stops those it was sending (a
 * packet is on a link, owned by the network, while its stage is not 0).
 * A hop then reads and writes no other packet than its own (a list of
 * the packets in flight linked through them did, twice a hop). */
typedef struct {
  PacketBlock **blocks;
  guint n, cap;
} PacketReg;

static _Thread_local PacketReg pkt_reg;

static PacketBlock *block_new(gint k) {
  PacketBlock *b =
      g_aligned_alloc(1, sizeof(PacketBlock) + (k >= 0 ? pkt_class_cap[k] : 0),
                      64); /* the packet in as few lines as it can be */
  if (pkt_reg.n == pkt_reg.cap) {
    pkt_reg.cap = pkt_reg.cap ? 2 * pkt_reg.cap : 256;
    pkt_reg.blocks = g_renew(PacketBlock *, pkt_reg.blocks, pkt_reg.cap);
  }
  b->p.reg = pkt_reg.n;
  pkt_reg.blocks[pkt_reg.n++] = b;
  return b;
}

static void block_free(PacketBlock *b) {
  PacketBlock *last = pkt_reg.blocks[--pkt_reg.n];
  pkt_reg.blocks[b->p.reg] = last;
  last->p.reg = b->p.reg;
  g_aligned_free(b);
  if (pkt_reg.n == 0) {
    g_free(pkt_reg.blocks);
    pkt_reg.blocks = NULL;
    pkt_reg.cap = 0;
  }
}

/* nl_packet_alloc, inline for the datagrams built here. */
static inline NlPacket *packet_alloc(size_t len) {
  gint k = len <= pkt_class_cap[0] ? 0 : len <= pkt_class_cap[1] ? 1 : -1;
  PacketBlock *b;
  if (k >= 0 && pkt_keep[k].n > 0)
    b = pkt_keep[k].blocks[--pkt_keep[k].n];
  else
    b = block_new(k);
  NlPacket *p = &b->p;
  /* Each field set (not a memset of the block, which is a string
   * instruction's start-up a packet): its hops' arrival event as
   * nl_event_init makes it, once for all of them, and zeros but for the
   * kept IPv4 header, read only with ip4_ok, and its block's place in
   * the registry (net.h: a field added there is set here). */
  guint cap = k >= 0 ? pkt_class_cap[k] : (guint)len;
  p->ev = (NlEvent){.fn = hop_event, .data = p, .slot = G_MAXUINT};
  p->from = p->to = NULL;
  p->id = 0;
  p->stage = 0;
  p->size_class = k;
  p->len = (guint)len;
  p->cap = cap;
  p->data = k >= 0 ? b->buf : g_malloc(cap);
  p->loop = NULL;
  p->sent_out = 0;
  p->ip4_ok = p->udp_sum_ok = p->tcp_sum_ok = FALSE;
  p->owner_next = NULL;
  p->owner_off = p->owner_len = 0;
  p->shares = 0;
  return p;
}

NlPacket *nl_packet_alloc(size_t len) {
  return packet_alloc(len);
}

NlPacket *nl_packet_new(const guint8 *data, size_t len) {
  NlPacket *p = nl_packet_alloc(len);
  memcpy(p->data, data, len);
  return p;
}

const char *nl__packet_ip4_read(NlPacket *p) {
#ifdef NL_IP4_CACHE_CHECK
  /* A build that checks the kept header against the bytes each time it
   * is used (meson configure -Dc_args=-DNL_IP4_CACHE_CHECK). */
  if (p->ip4_ok) {
    NlIp4Header h;
    NlUdpHeader uh;
    const NlIp4Header *c = &p->ip4;
    if (nl_ip4_parse(p->data, p->len, &h) != NULL ||
        h.ihl_bytes != c->ihl_bytes || h.tos != c->tos ||
        h.total_len != c->total_len || h.id != c->id || h.df != c->df ||
        h.mf != c->mf || h.frag_offset != c->frag_offset ||
        h.ttl != c->ttl || h.proto != c->proto || h.src != c->src ||
        h.dst != c->dst)
      g_error("a packet's kept IPv4 header is not its bytes'");
    if (p->udp_sum_ok && (h.proto != NL_IPPROTO_UDP || h.mf ||
                          h.frag_offset != 0 ||
                          nl_udp4_parse(p->data, p->len, &h, &uh) != NULL))
      g_error("a packet's UDP checksum is not right");
    NlTcpHeader th;
    if (p->tcp_sum_ok && (h.proto != NL_IPPROTO_TCP || h.mf ||
                          h.frag_offset != 0 ||
                          nl_tcp4_parse(p->data, p->len, &h, &th) != NULL))
      g_error("a packet's TCP checksum is not right");
    return NULL;
  }
#endif
  const char *why = nl_ip4_parse(p->data, p->len, &p->ip4);
  p->ip4_ok = why == NULL;
  p->udp_sum_ok = FALSE;
  p->tcp_sum_ok = FALSE;
  return why;
}

/* nl_packet_free's rare ends: a block of no kept size, or a full keep
 * (grown up to its most, then given back). */
G_GNUC_NO_INLINE static void packet_free_slow(PacketBlock *b, gint k) {
  if (k < 0) {
    block_free(b);
    return;
  }
  PacketKeep *keep = &pkt_keep[k];
  if (keep->cap == pkt_keep_max[k]) {
    block_free(b);
    return;
  }
  keep->cap = keep->cap ? MIN(2 * keep->cap, pkt_keep_max[k]) : 64;
  keep->blocks = g_renew(PacketBlock *, keep->blocks, keep->cap);
  keep->blocks[keep->n++] = b;
}

/* The last holder's free. */
static inline void packet_release(NlPacket *p) {
  PacketBlock *b = (PacketBlock *)p;
  if (p->data != b->buf)
    g_free(p->data);
  gint k = p->size_class;
  PacketKeep *keep = &pkt_keep[k >= 0 ? k : 0];
  if (G_UNLIKELY(k < 0 || keep->n == keep->cap)) {
    packet_free_slow(b, k);
    return;
  }
  keep->blocks[keep->n++] = b;
}

void nl_packet_free(NlPacket *p) {
  if (p == NULL)
    return;
  p->stage = 0; /* off the links, whoever frees it */
  if (p->shares > 0) {
    p->shares--; /* a holder frees it */
    return;
  }
  packet_release(p);
}

void nl_packet_unshare(NlPacket *p) {
  /* The stage is not the holder's: the owner may still have @p on a
   * link (a retransmission's ACK can come first). */
  if (p->shares > 0) {
    p->shares--;
    return;
  }
  packet_release(p);
}

void nl_packet_set_data(NlPacket *p, guint8 *data, guint len, guint cap) {
  if (p->data != ((PacketBlock *)p)->buf)
    g_free(p->data);
  p->data = data;
  p->len = len;
  p->cap = cap;
  p->ip4_ok = FALSE;
}

static void packets_release_kept(void) {
  for (guint k = 0; k < PKT_CLASSES; k++) {
    while (pkt_keep[k].n > 0)
      block_free(pkt_keep[k].blocks[--pkt_keep[k].n]);
    g_free(pkt_keep[k].blocks);
    pkt_keep[k].blocks = NULL;
    pkt_keep[k].cap = 0;
  }
}

/* ---- addresses on a network ---- */

/* @addr's first slot in @t: the top bits of its product with 2^32 over
 * the golden ratio (Fibonacci hashing: the addresses of a subnet, which
 * differ in their low bits, land far apart, where the low bits of a
 * product put consecutive ones side by side). */
static inline guint addr_slot(const NlAddrTable *t, uint32_t addr) {
  return (addr * 0x9e3779b1u) >> t->shift;
}

/* A block of @cap slots and as many interfaces, for @t. */
static void addr_table_alloc(NlAddrTable *t, guint cap) {
  t->slots = g_aligned_alloc0(cap, sizeof(NlAddrSlot) + sizeof(NlIface *), 64);
  t->ifaces = (NlIface **)(t->slots + cap);
}

static void addr_table_init(NlAddrTable *t) {
  t->mask = 15;
  t->shift = 28;
  t->len = 0;
  addr_table_alloc(t, t->mask + 1);
}

static void addr_table_free(NlAddrTable *t) {
  g_aligned_free(t->slots);
}

static inline NlIface *addr_table_lookup(const NlAddrTable *t, uint32_t addr) {
  if (addr == 0)
    return NULL;
  for (guint i = addr_slot(t, addr);; i = (i + 1) & t->mask) {
    const NlAddrSlot *s = &t->slots[i];
    if (s->addr == addr)
      return t->ifaces[s->index];
    if (s->addr == 0)
      return NULL;
  }
}

static void addr_table_put(NlAddrTable *t, uint32_t addr, guint index) {
  guint i = addr_slot(t, addr);
  while (t->slots[i].addr != 0)
    i = (i + 1) & t->mask;
  t->slots[i] = (NlAddrSlot){addr, index};
}

/* @addr (not 0) must not be in @t. */
static void addr_table_insert(NlAddrTable *t, uint32_t addr, NlIface *f) {
  if ((t->len + 1) * 4 > (t->mask + 1) * 3) {
    NlAddrSlot *old = t->slots;
    NlIface **old_ifaces = t->ifaces;
    guint n = t->mask + 1;
    t->mask = 2 * n - 1;
    t->shift--;
    addr_table_alloc(t, 2 * n);
    memcpy(t->ifaces, old_ifaces, t->len * sizeof(NlIface *));
    for (guint i = 0; i < n; i++)
      if (old[i].addr != 0)
        addr_table_put(t, old[i].addr, old[i].index);
    g_aligned_free(old);
  }
  t->ifaces[t->len] = f;
  addr_table_put(t, addr, t->len);
  t->len++;
}

/* @p (on a link, its stage not 0) comes off it: its next owner has it. */
static inline void in_flight_remove(NlPacket *p) {
  p->stage = 0;
}

enum { STAGE_SWITCH = 1, STAGE_ARRIVE = 2, STAGE_LOOP = 3 };

/* The world a packet on a link (its stage not 0) belongs to. */
static NlWorld *in_flight_world(const NlPacket *p) {
  return p->stage == STAGE_LOOP ? p->loop->world : p->to->node->world;
}

/* ---- world ---- */

static guint pair_hash(gconstpointer k) {
  return g_int64_hash(k);
}

/* A DNS name's IPv4 addresses (nl_world_add_name), in registration order:
 * the first beside the rest (a name has one, nearly always: a thousand
 * hosts' names are no array each). */
typedef struct {
  uint32_t first;
  GArray *more; /* uint32_t, after the first; NULL: none */
} NameAddrs;

static void name_addrs_free(gpointer p) {
  NameAddrs *na = p;
  if (na->more != NULL)
    g_array_free(na->more, TRUE);
  g_free(na);
}

NlWorld *nl_world_new(uint64_t seed) {
  NlWorld *w = g_new0(NlWorld, 1);
  w->queue = nl_event_queue_new();
  w->trace = nl_trace_new();
  nl_trace_set_packet_format(w->trace, nl_wire_describe);
  nl_trace_set_packet_same(w->trace, nl_wire_describe_same);
  nl_trace_set_packet_key(w->trace, nl_wire_describe_key);
  w->seed = seed;
  w->route_epoch = 1;
  w->nodes = g_ptr_array_new();
  w->networks = g_ptr_array_new();
  w->node_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  w->net_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  w->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                   name_addrs_free);
  w->name_order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  w->name_list = g_ptr_array_new();
  w->blocked = g_hash_table_new_full(pair_hash, g_int64_equal, g_free, NULL);
  return w;
}

static void node_free(NlNode *n) {
  if (n->stack_destroy)
    n->stack_destroy(n->stack);
  for (guint i = 0; i < n->ifaces->len; i++) {
    NlIface *f = g_ptr_array_index(n->ifaces, i);
    g_free(f->up_state.departures);
    g_free(f->down_state.departures);
    if (f->addrs6)
      g_array_free(f->addrs6, TRUE);
    g_aligned_free(f);
  }
  g_ptr_array_free(n->ifaces, TRUE);
  g_array_free(n->static_routes, TRUE);
  g_array_free(n->table, TRUE);
  g_free(n->route_index);
  if (n->addr_set) {
    addr_table_free(n->addr_set);
    g_free(n->addr_set);
  }
  if (n->reasm != NULL)
    g_hash_table_destroy(n->reasm);
  g_free(n->route_cache);
  nl__node_free6(n);
  g_free(n->name);
  g_aligned_free(n);
}

void nl_world_free(NlWorld *w) {
  if (w == NULL)
    return;
  /* Upper layers first: their teardown may still look at nodes. */
  for (guint i = 0; i < w->nodes->len; i++) {
    NlNode *n = g_ptr_array_index(w->nodes, i);
    if (n->stack_destroy)
      n->stack_destroy(n->stack);
    n->stack_destroy = NULL;
    n->stack = NULL;
  }
  /* The packets still on its links: from the last registered block down,
   * so that a block given back (moved into its place from the end) has
   * been seen. */
  for (guint i = pkt_reg.n; i-- > 0;) {
    if (i >= pkt_reg.n)
      continue;
    NlPacket *p = &pkt_reg.blocks[i]->p;
    if (p->stage == 0 || in_flight_world(p) != w)
      continue;
    nl_event_cancel(w->queue, &p->ev);
    nl_packet_free(p);
  }
  for (guint i = 0; i < w->nodes->len; i++)
    node_free(g_ptr_array_index(w->nodes, i));
  for (guint i = 0; i < w->networks->len; i++) {
    NlNetwork *n = g_ptr_array_index(w->networks, i);
    g_array_free(n->prefixes, TRUE);
    addr_table_free(&n->by_addr);
    nl__network_free6(n);
    g_free(n->name);
    g_free(n);
  }
  g_ptr_array_free(w->nodes, TRUE);
  g_ptr_array_free(w->networks, TRUE);
  g_hash_table_destroy(w->node_by_name);
  g_hash_table_destroy(w->net_by_name);
  g_hash_table_destroy(w->names);
  nl__world_free6(w);
  g_array_free(w->name_order, TRUE);
  g_ptr_array_free(w->name_list, TRUE);
  g_hash_table_destroy(w->blocked);
  nl_event_queue_free(w->queue);
  nl_trace_free(w->trace);
  g_free(w);
  packets_release_kept();
}

/* net.h reads the first two fields inline. */
G_STATIC_ASSERT(offsetof(NlWorld, queue) ==
                offsetof(struct NlWorldHead, queue));
G_STATIC_ASSERT(offsetof(NlWorld, trace) ==
                offsetof(struct NlWorldHead, trace));

NlEventQueue *(nl_world_queue)(NlWorld *w) {
  return w->queue;
}
NlTrace *(nl_world_trace)(NlWorld *w) {
  return w->trace;
}
uint64_t nl_world_seed(const NlWorld *w) {
  return w->seed;
}
NlTime (nl_world_now)(const NlWorld *w) {
  return nl_event_now(w->queue);
}

NlNode *nl_world_find_node(const NlWorld *w, const char *name) {
  return g_hash_table_lookup(w->node_by_name, name);
}
NlNetwork *nl_world_find_network(const NlWorld *w, const char *name) {
  return g_hash_table_lookup(w->net_by_name, name);
}
guint nl_world_n_nodes(const NlWorld *w) {
  return w->nodes->len;
}
NlNode *nl_world_node(const NlWorld *w, guint i) {
  g_return_val_if_fail(i < w->nodes->len, NULL);
  return g_ptr_array_index(w->nodes, i);
}

/* NameAddrs @na's address @i (of name_addrs_len). */
static inline uint32_t name_addr(const NameAddrs *na, guint i) {
  return i == 0 ? na->first : g_array_index(na->more, uint32_t, i - 1);
}

static inline guint name_addrs_len(const NameAddrs *na) {
  return 1 + (na->more != NULL ? na->more->len : 0);
}

void nl_world_add_name(NlWorld *w, const char *name, uint32_t addr) {
  char *key = g_ascii_strdown(name, -1);
  gpointer orig, v;
  if (g_hash_table_lookup_extended(w->names, key, &orig, &v)) {
    NameAddrs *na = v;
    g_free(key);
    for (guint i = 0; i < name_addrs_len(na); i++)
      if (name_addr(na, i) == addr)
        return;
    if (na->more == NULL)
      na->more = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_val(na->more, addr);
    g_array_append_val(w->name_order, addr);
    g_ptr_array_add(w->name_list, orig);
    return;
  }
  NameAddrs *na = g_new(NameAddrs, 1);
  na->first = addr;
  na->more = NULL;
  g_hash_table_insert(w->names, key, na);
  g_array_append_val(w->name_order, addr);
  g_ptr_array_add(w->name_list, key);
}

gboolean nl_world_lookup_name(const NlWorld *w, const char *name,
                              uint32_t *addr) {
  return nl_world_lookup_name_from(w, NULL, name, addr);
}

gboolean nl_world_lookup_name_from(const NlWorld *w, const NlNode *from,
                                   const char *name, uint32_t *addr) {
  char *key = g_ascii_strdown(name, -1);
  const NameAddrs *na = g_hash_table_lookup(w->names, key);
  g_free(key);
  if (na == NULL)
    return FALSE;
  *addr = na->first;
  if (from == NULL)
    return TRUE;
  /* An address on a network the asker is on: reachable in one hop. */
  for (guint i = 0; i < name_addrs_len(na); i++) {
    uint32_t a = name_addr(na, i);
    for (guint j = 0; j < from->ifaces->len; j++) {
      const NlIface *f = g_ptr_array_index(from->ifaces, j);
      if (nl_network_contains(f->network, a)) {
        *addr = a;
        return TRUE;
      }
    }
  }
  return TRUE;
}

const char *nl_world_name_of(const NlWorld *w, uint32_t addr) {
  /* Linear, in registration order: reverse lookups are rare (getnameinfo)
   * and the answer must not depend on hashing. */
  for (guint i = 0; i < w->name_order->len; i++)
    if (g_array_index(w->name_order, uint32_t, i) == addr)
      return g_ptr_array_index(w->name_list, i);
  return NULL;
}

static int64_t pair_key(const NlNode *a, const NlNode *b) {
  guint32 x = MIN(a->trace_id, b->trace_id), y = MAX(a->trace_id, b->trace_id);
  return ((int64_t)x << 32) | y;
}

void nl_world_partition(NlWorld *w, NlNode *a, NlNode *b, gboolean blocked) {
  int64_t key = pair_key(a, b);
  if (blocked) {
    int64_t *k = g_new(int64_t, 1);
    *k = key;
    g_hash_table_replace(w->blocked, k, GINT_TO_POINTER(1));
  } else {
    g_hash_table_remove(w->blocked, &key);
  }
  w->n_blocked = g_hash_table_size(w->blocked);
}

void nl_world_stats(const NlWorld *w, NlNetStats *out) {
  *out = w->stats;
}

/* ---- networks ---- */

static uint32_t mask_of(guint len) {
  return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

NlNetwork *nl_network_new(NlWorld *w, const char *name) {
  g_return_val_if_fail(nl_world_find_network(w, name) == NULL, NULL);
  NlNetwork *n = g_new0(NlNetwork, 1);
  n->world = w;
  n->name = g_strdup(name);
  n->prefixes = g_array_new(FALSE, TRUE, sizeof(NlRoute));
  addr_table_init(&n->by_addr);
  nl__network_init6(n);
  g_ptr_array_add(w->networks, n);
  g_hash_table_insert(w->net_by_name, n->name, n);
  return n;
}

void nl_network_add_prefix(NlNetwork *n, uint32_t addr, guint len) {
  g_return_if_fail(len <= 32);
  NlRoute r = {.mask = mask_of(len), .len = len};
  r.prefix = addr & r.mask;
  g_array_append_val(n->prefixes, r);
  /* Connected routes (and which gateways are on-link) derive from the
   * prefixes: tables built before are stale (each node sees it when it
   * next routes, so adding N networks to M nodes costs N + M). */
  n->world->prefixes_gen++;
  n->world->route_epoch++;
}

const char *nl_network_name(const NlNetwork *n) {
  return n->name;
}

gboolean nl_network_contains(const NlNetwork *n, uint32_t addr) {
  for (guint i = 0; i < n->prefixes->len; i++) {
    const NlRoute *r = &g_array_index(n->prefixes, NlRoute, i);
    if ((addr & r->mask) == r->prefix)
      return TRUE;
  }
  return FALSE;
}

/* ---- nodes ---- */

static guint reasm_hash(gconstpointer k);
static gboolean reasm_equal(gconstpointer a, gconstpointer b);

NlNode *nl_node_new(NlWorld *w, const char *name, NlNodeKind kind) {
  g_return_val_if_fail(nl_world_find_node(w, name) == NULL, NULL);
  NlNode *n = g_aligned_alloc0(1, sizeof(NlNode), 64); /* net-priv.h */
  n->world = w;
  n->name = g_strdup(name);
  n->kind = kind;
  n->up = TRUE;
  n->forwarding = kind != NL_NODE_HOST;
  n->ifaces = g_ptr_array_new();
  n->static_routes = g_array_new(FALSE, TRUE, sizeof(NlRoute));
  n->table = g_array_new(FALSE, TRUE, sizeof(NlRoute));
  n->trace_id = nl_trace_intern(w->trace, name);
  n->ip_id = 1;
  nl__node_init6(n);
  g_ptr_array_add(w->nodes, n);
  g_hash_table_insert(w->node_by_name, n->name, n);
  /* (the kind's name as it is, not through a format: thousands of nodes) */
  const char *kn = node_kind_names[kind];
  nl_trace_add(w->trace, nl_event_now(w->queue), NL_TRACE_NODE, n->trace_id,
               0, 0, (uint16_t)kind, kn, (guint32)strlen(kn));
  return n;
}

const char *nl_node_name(const NlNode *n) {
  return n->name;
}
NlNodeKind nl_node_kind(const NlNode *n) {
  return n->kind;
}
NlWorld *nl_node_world(const NlNode *n) {
  return n->world;
}
guint32 nl_node_trace_id(const NlNode *n) {
  return n->trace_id;
}

void nl_node_rand(const NlNode *n, const char *purpose, NlRand *out) {
  nl_rand_init_parts(out, n->world->seed, "node:", n->name, "/", purpose,
                     NULL);
}

void nl_node_set_hooks(NlNode *n, const NlNodeHooks *hooks) {
  n->hooks = *hooks;
}
void nl_node_set_forwarding(NlNode *n, gboolean on) {
  n->forwarding = on != FALSE;
}
static void flush_tx(NlIface *f, NlDropReason why);

void nl_node_set_up(NlNode *n, gboolean up) {
  if (n->up && !up)
    for (guint i = 0; i < n->ifaces->len; i++)
      flush_tx(g_ptr_array_index(n->ifaces, i), NL_DROP_HOST_DOWN);
  n->up = up != FALSE;
}
gboolean nl_node_is_up(const NlNode *n) {
  return n->up;
}

static void dir_state_init(NlDirState *s, guint queue) {
  /* A change of properties keeps what is already queued: the transmitter
   * stays busy and packets sent later stay behind those sent before. */
  NlDirState old = *s;
  memset(s, 0, sizeof *s);
  s->size = queue ? queue : NL_DEFAULT_QUEUE;
  /* The queue's ring is allocated when a link with a bandwidth first
   * queues a packet (dir_pass): most links have none. */
  if (old.count > 0)
    s->departures = g_new0(NlTime, s->size);
  s->busy_until = old.busy_until;
  for (guint k = 0; k < old.count && s->count < s->size; k++)
    s->departures[s->count++] = old.departures[(old.head + k) % old.size];
  g_free(old.departures);
}

NlIface *nl_node_attach(NlNode *n, NlNetwork *net, uint32_t addr,
                        const NlLinkProps *props) {
  g_return_val_if_fail(n != NULL && net != NULL, NULL);
  g_return_val_if_fail(addr_table_lookup(&net->by_addr, addr) == NULL, NULL);
  NlIface *f = g_aligned_alloc0(1, sizeof(NlIface), 64);
  f->node = n;
  f->network = net;
  f->addr = addr;
  f->up = TRUE;
  g_ptr_array_add(n->ifaces, f);
  f->index = n->ifaces->len + 1; /* 1 is lo, as on Linux */
  /* "eth%u" and "link:%s/%s", without printf: a large world attaches
   * thousands. */
  char num[12], *d = num + sizeof num;
  *--d = '\0';
  guint k = n->ifaces->len - 1;
  do
    *--d = (char)('0' + k % 10);
  while ((k /= 10) != 0);
  g_strlcpy(f->name, "eth", sizeof f->name);
  g_strlcat(f->name, d, sizeof f->name);
  nl_iface_set_props(f, props);
  nl_rand_init_parts(&f->rand, n->world->seed, "link:", n->name, "/",
                     net->name, NULL);
  if (addr != 0) { /* 0: an interface with IPv6 addresses only */
    addr_table_insert(&net->by_addr, addr, f);
    if (n->n_addrs < NL__ADDR_SCAN) {
      n->addrs[n->n_addrs++] = addr;
    } else {
      if (n->addr_set == NULL) {
        n->addr_set = g_new(NlAddrTable, 1);
        addr_table_init(n->addr_set);
        for (guint i = 0; i < n->n_addrs; i++)
          if (addr_table_lookup(n->addr_set, n->addrs[i]) == NULL)
            addr_table_insert(n->addr_set, n->addrs[i], f);
      }
      if (addr_table_lookup(n->addr_set, addr) == NULL)
        addr_table_insert(n->addr_set, addr, f);
    }
  }
  n->table_dirty = TRUE;
  n->world->route_epoch++;
  return f;
}

guint nl_node_n_ifaces(const NlNode *n) {
  return n->ifaces->len;
}
NlIface *nl_node_iface(const NlNode *n, guint i) {
  g_return_val_if_fail(i < n->ifaces->len, NULL);
  return g_ptr_array_index(n->ifaces, i);
}
NlIface *nl_node_find_iface(const NlNode *n, const char *network_name) {
  for (guint i = 0; i < n->ifaces->len; i++) {
    NlIface *f = g_ptr_array_index(n->ifaces, i);
    if (strcmp(f->network->name, network_name) == 0)
      return f;
  }
  return NULL;
}

/* has_addr of a node of more than NL__ADDR_SCAN addresses (out of line:
 * the common node's scan stays inline in its callers). */
G_GNUC_NO_INLINE static gboolean has_addr_in_set(const NlNode *n,
                                                 uint32_t addr) {
  return addr_table_lookup(n->addr_set, addr) != NULL;
}

static inline __attribute__((always_inline)) gboolean
has_addr(const NlNode *n, uint32_t addr) {
  if ((addr >> 24) == 127)
    return TRUE; /* loopback, 127.0.0.0/8 */
  if (addr == 0)
    return FALSE;
  if (G_UNLIKELY(n->addr_set != NULL))
    return has_addr_in_set(n, addr);
  for (guint i = 0; i < n->n_addrs; i++)
    if (n->addrs[i] == addr)
      return TRUE;
  return FALSE;
}

gboolean nl_node_has_addr(const NlNode *n, uint32_t addr) {
  return has_addr(n, addr);
}

void nl_node_add_route(NlNode *n, uint32_t prefix, guint len, uint32_t via) {
  g_return_if_fail(len <= 32);
  NlRoute r = {.mask = mask_of(len), .len = len, .via = via};
  r.prefix = prefix & r.mask;
  g_array_append_val(n->static_routes, r);
  n->table_dirty = TRUE;
  n->world->route_epoch++;
}

static gint route_cmp(gconstpointer a, gconstpointer b) {
  const NlRoute *x = a, *y = b;
  /* Longest prefix first; connected before static at equal length. */
  if (x->len != y->len)
    return x->len > y->len ? -1 : 1;
  if ((x->via == 0) != (y->via == 0))
    return x->via == 0 ? -1 : 1;
  return 0;
}

typedef struct {
  NlRoute r;
  guint pos;
} RankedRoute;

static int ranked_cmp(const void *a, const void *b) {
  const RankedRoute *x = a, *y = b;
  gint c = route_cmp(&x->r, &y->r);
  return c != 0 ? c : x->pos < y->pos ? -1 : x->pos > y->pos;
}

static inline guint route_key_hash(guint64 v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  return (guint)v;
}

static inline guint64 route_key(guint len, uint32_t prefix) {
  return (guint64)len << 32 | prefix;
}

/* The first table index + 1 of the route @key, or 0. */
static inline guint route_find(const NlNode *n, guint64 key) {
  for (guint i = route_key_hash(key) & n->route_mask;;
       i = (i + 1) & n->route_mask) {
    const NlRouteSlot *s = &n->route_index[i];
    if (s->index1 == 0 || s->key == key)
      return s->index1;
  }
}

/* The table by prefix, for tables too long to scan (see net-priv.h). */
static void index_table(NlNode *n) {
  g_free(n->route_index);
  n->route_index = NULL;
  n->n_route_lens = 0;
  if (n->table->len <= NL__ROUTE_SCAN)
    return;
  guint cap = 16;
  while (cap < 2 * n->table->len)
    cap *= 2;
  n->route_index = g_new0(NlRouteSlot, cap);
  n->route_mask = cap - 1;
  for (guint i = 0; i < n->table->len; i++) {
    const NlRoute *r = &g_array_index(n->table, NlRoute, i);
    if (n->n_route_lens == 0 ||
        n->route_lens[n->n_route_lens - 1] != r->len)
      n->route_lens[n->n_route_lens++] = (guint8)r->len;
    guint64 key = route_key(r->len, r->prefix);
    /* The first of equal routes is the one a scan finds. */
    guint k = route_key_hash(key) & n->route_mask;
    while (n->route_index[k].index1 != 0 && n->route_index[k].key != key)
      k = (k + 1) & n->route_mask;
    if (n->route_index[k].index1 == 0)
      n->route_index[k] = (NlRouteSlot){key, i + 1};
  }
}

G_GNUC_NO_INLINE static void rebuild_table(NlNode *n) {
  g_array_set_size(n->table, 0);
  for (guint i = 0; i < n->ifaces->len; i++) {
    NlIface *f = g_ptr_array_index(n->ifaces, i);
    if (f->addr == 0)
      continue; /* no IPv4 on this interface */
    for (guint j = 0; j < f->network->prefixes->len; j++) {
      NlRoute r = g_array_index(f->network->prefixes, NlRoute, j);
      r.via = 0;
      r.iface = f;
      g_array_append_val(n->table, r);
    }
  }
  guint connected = n->table->len;
  for (guint i = 0; i < n->static_routes->len; i++) {
    NlRoute r = g_array_index(n->static_routes, NlRoute, i);
    /* The gateway must be on-link: find the interface that reaches it. */
    for (guint j = 0; j < connected; j++) {
      NlRoute *c = &g_array_index(n->table, NlRoute, j);
      if ((r.via & c->mask) == c->prefix) {
        r.iface = c->iface;
        break;
      }
    }
    if (r.iface != NULL)
      g_array_append_val(n->table, r);
  }
  /* Sorted stably (by position as the last key): equal routes keep the
   * order they were declared in. */
  guint nt = n->table->len;
  RankedRoute *ranked = g_new(RankedRoute, nt);
  for (guint i = 0; i < nt; i++)
    ranked[i] = (RankedRoute){g_array_index(n->table, NlRoute, i), i};
  if (nt > 1) /* qsort takes no NULL array, even of 0 (an IPv6-only node) */
    qsort(ranked, nt, sizeof *ranked, ranked_cmp);
  for (guint i = 0; i < nt; i++)
    g_array_index(n->table, NlRoute, i) = ranked[i].r;
  g_free(ranked);
  index_table(n);
  n->routes = (NlRoute *)(void *)n->table->data;
  n->n_routes = n->table->len;
  n->table_dirty = FALSE;
  n->table_gen = n->world->prefixes_gen;
}

/* The route of a table past NL__ROUTE_SCAN routes, by prefix. */
G_GNUC_NO_INLINE static const NlRoute *route_indexed(const NlNode *n,
                                                     uint32_t dst) {
  for (guint i = 0; i < n->n_route_lens; i++) {
    guint len = n->route_lens[i];
    guint v = route_find(n, route_key(len, dst & mask_of(len)));
    if (v != 0)
      return &n->routes[v - 1];
  }
  return NULL;
}

/* The route @n takes to @dst (longest prefix first), or NULL.  A short
 * table is scanned here, without a call. */
static inline const NlRoute *route_match(NlNode *n, uint32_t dst) {
  if (G_UNLIKELY(n->table_dirty || n->table_gen != n->world->prefixes_gen))
    rebuild_table(n);
  if (G_UNLIKELY(n->n_route_lens > 0))
    return route_indexed(n, dst);
  const NlRoute *r = n->routes;
  for (guint i = n->n_routes; i > 0; i--, r++)
    if ((dst & r->mask) == r->prefix)
      return r;
  return NULL;
}

gboolean nl_node_route(const NlNode *cn, uint32_t dst, NlIface **iface,
                       uint32_t *next_hop) {
  const NlRoute *r = route_match((NlNode *)cn, dst);
  if (r == NULL) {
    *iface = NULL;
    *next_hop = 0;
    return FALSE;
  }
  *iface = r->iface;
  *next_hop = r->via ? r->via : dst;
  return TRUE;
}

#define ROUTE_CACHE_BITS 10
#define ROUTE_CACHE_SIZE (1u << ROUTE_CACHE_BITS)
#define ROUTE_CACHE_AFTER 64  /* misses of the sockets' kept routes */
#define ROUTE_CACHE_TRIAL 4096 /* look-ups, half of them found, to keep it */

gboolean nl_node_source_route(NlNode *n, uint32_t dst, NlSourceRoute *c) {
  uint64_t epoch = n->world->route_epoch;
  if (c->epoch == epoch && c->dst == dst)
    return c->ok;
  /* The node's routes by destination (a slot by the top bits of the
   * address's product with 2^32 over the golden ratio, as addr_slot):
   * a route of this epoch is what the look-up below gives (the epoch
   * grows with every change it depends on); 0 is never an epoch, so a
   * zeroed slot holds none.  A node whose destinations are too many for
   * it (a router's thousand clients: they displace each other) finds few
   * there and gives it up after a trial. */
  NlSourceRoute *slot = NULL;
  if (n->route_cache != NULL) {
    slot = &n->route_cache[(dst * 0x9e3779b1u) >> (32 - ROUTE_CACHE_BITS)];
    gboolean found = slot->epoch == epoch && slot->dst == dst;
    if (n->route_trial < ROUTE_CACHE_TRIAL) {
      n->route_found += found;
      if (++n->route_trial == ROUTE_CACHE_TRIAL &&
          n->route_found * 2 < ROUTE_CACHE_TRIAL) {
        g_free(n->route_cache);
        n->route_cache = NULL;
        slot = NULL;
        found = FALSE;
      }
    }
    if (found) {
      *c = *slot;
      return c->ok;
    }
  } else if (n->route_misses < ROUTE_CACHE_AFTER &&
             ++n->route_misses == ROUTE_CACHE_AFTER) {
    n->route_cache = g_new0(NlSourceRoute, ROUTE_CACHE_SIZE);
  }
  c->epoch = epoch;
  c->dst = dst;
  c->iface = NULL;
  c->neighbour = NULL;
  c->next_hop = 0;
  c->src = 0;
  if (has_addr(n, dst)) {
    c->src = dst;
    c->ok = TRUE;
  } else if (nl_node_route(n, dst, &c->iface, &c->next_hop)) {
    c->src = c->iface->addr;
    c->neighbour =
        addr_table_lookup(&c->iface->network->by_addr, c->next_hop);
    c->ok = TRUE;
  } else {
    c->ok = FALSE;
  }
  if (slot != NULL)
    *slot = *c;
  return c->ok;
}

uint16_t nl_node_next_ip_id(NlNode *n) {
  return n->ip_id++;
}

void nl_node_set_stack(NlNode *n, void *stack, GDestroyNotify destroy) {
  n->stack = stack;
  n->stack_destroy = destroy;
}
void *nl_node_stack(const NlNode *n) {
  return n->stack;
}

/* ---- interfaces ---- */

NlNode *nl_iface_node(const NlIface *i) {
  return i->node;
}
NlNetwork *nl_iface_network(const NlIface *i) {
  return i->network;
}
uint32_t nl_iface_addr(const NlIface *i) {
  return i->addr;
}
guint nl_iface_mtu(const NlIface *i) {
  return i->mtu;
}
guint nl_iface_index(const NlIface *i) {
  return i->index;
}
const char *nl_iface_name(const NlIface *i) {
  return i->name;
}
gboolean nl_iface_is_up(const NlIface *i) {
  return i->up;
}
const NlLinkProps *nl_iface_props(const NlIface *i) {
  return &i->props;
}

/* @i's tx_fast and rx_fast, after its state or properties changed. */
static void iface_fast_update(NlIface *i) {
  i->tx_fast = i->up && (i->up_latency_only || i->up_ideal);
  i->rx_fast = i->up && i->down_ideal;
}

void nl_iface_set_up(NlIface *i, gboolean up) {
  if (i->up && !up)
    flush_tx(i, NL_DROP_LINK_DOWN);
  i->up = up != FALSE;
  iface_fast_update(i);
}

void nl_iface_set_props(NlIface *i, const NlLinkProps *props) {
  static const NlLinkProps ideal = {.mtu = NL_DEFAULT_MTU};
  i->props = props ? *props : ideal;
  if (i->props.mtu == 0)
    i->props.mtu = NL_DEFAULT_MTU;
  if (i->props.mtu < 68)
    i->props.mtu = 68; /* RFC 791's minimum */
  if (i->props.up.queue == 0)
    i->props.up.queue = NL_DEFAULT_QUEUE;
  if (i->props.down.queue == 0)
    i->props.down.queue = NL_DEFAULT_QUEUE;
  i->mtu = i->props.mtu;
  i->up_latency = i->props.up.latency;
  dir_state_init(&i->up_state, i->props.up.queue);
  dir_state_init(&i->down_state, i->props.down.queue);
  i->up_ideal = dir_trivial(&i->props.up);
  i->down_ideal = dir_trivial(&i->props.down);
  i->up_latency_only = dir_latency_only(&i->props.up);
  iface_fast_update(i);
}

guint nl_iface_prefix_len(const NlIface *i) {
  for (guint j = 0; j < i->network->prefixes->len; j++) {
    const NlRoute *r = &g_array_index(i->network->prefixes, NlRoute, j);
    if ((i->addr & r->mask) == r->prefix)
      return r->len;
  }
  return 32;
}

/* ---- tracing helpers ---- */

/* @aux: for drops, the NlDropReason (| NL_DROP_OUTGOING). */
static void trace_pkt(NlWorld *w, NlTraceKind kind, NlNode *at, NlNode *peer,
                      const NlPacket *p, unsigned aux) {
  if (!nl_trace_wants(w->trace, kind))
    return; /* e.g. the sends and receipts of a run without outputs */
  nl_trace_add(w->trace, nl_event_now(w->queue), kind, at->trace_id,
               peer ? peer->trace_id : 0, p->id, (uint16_t)aux, p->data,
               p->len);
}

void nl_node_drop(NlNode *n, NlPacket *pkt, NlDropReason why) {
  n->world->stats.dropped++;
  trace_pkt(n->world, NL_TRACE_PKT_DROP, n,
            pkt->from && pkt->from->node != n ? pkt->from->node : NULL, pkt,
            why);
  nl_packet_free(pkt);
}

void nl_node_trace_deliver(NlNode *n, const NlPacket *pkt) {
  n->world->stats.delivered++;
  trace_pkt(n->world, NL_TRACE_PKT_DELIVER, n,
            pkt->from ? pkt->from->node : NULL, pkt, NL_DROP_NONE);
}

/* ---- links ---- */

static gboolean dir_trivial(const NlLinkDir *d) {
  return d->latency == 0 && d->jitter == 0 && d->loss == 0 && d->dup == 0 &&
         d->reorder == 0 && d->bandwidth == 0;
}

/* A direction that only delays (a network's latency, nothing else): what
 * dir_pass does with it, it draws no random number, is done inline at
 * every hop (nl__hop_start_to).  An ideal direction is not: it skips
 * dir_pass, its packets may pass those still on the wire after a change
 * of properties. */
static gboolean dir_latency_only(const NlLinkDir *d) {
  return d->latency > 0 && d->jitter == 0 && d->loss == 0 && d->dup == 0 &&
         d->reorder == 0 && d->bandwidth == 0;
}

/* Passes a packet of @len bytes through one direction of a link, from time
 * *@t.  OUT: *@t, when it comes out; *@tx_end (may be NULL), when its last
 * bit has left the transmitter.  Returns the drop reason, or NONE. */
static NlDropReason dir_pass(NlIface *f, const NlLinkDir *d, NlDirState *s,
                             NlTime *last_arrival, guint len, NlTime *t,
                             NlTime *tx_end) {
  if (d->loss > 0 && nl_rand_chance(&f->rand, d->loss))
    return NL_DROP_LOSS;
  NlTime when = *t;
  if (d->bandwidth) {
    while (s->count > 0 && s->departures[s->head] <= when) {
      s->head = (s->head + 1) % s->size;
      s->count--;
    }
    if (s->count >= s->size)
      return NL_DROP_QUEUE_FULL;
    if (s->departures == NULL)
      s->departures = g_new0(NlTime, s->size);
    NlTime tx = (NlTime)(((uint64_t)len * 8u * 1000000000u + d->bandwidth - 1) /
                         d->bandwidth);
    NlTime start = MAX(when, s->busy_until);
    s->busy_until = start + tx;
    s->departures[(s->head + s->count) % s->size] = s->busy_until;
    s->count++;
    when = s->busy_until;
  }
  if (tx_end != NULL)
    *tx_end = when;
  when += d->latency;
  if (d->jitter > 0)
    when += (NlTime)nl_rand_below(&f->rand, (uint64_t)d->jitter + 1);
  if (d->reorder > 0 && nl_rand_chance(&f->rand, d->reorder)) {
    /* Held back: later packets overtake it. */
    when += MAX(d->latency, NL_MS);
  } else {
    when = MAX(when, *last_arrival);
    *last_arrival = when;
  }
  *t = when;
  return NL_DROP_NONE;
}

static void hop_event(NlEvent *ev, void *data);

/* A copy of @pkt on the same hop, as a transmission of its own: @stage
 * at @at. */
static void hop_dup(NlWorld *w, NlPacket *pkt, guint stage, NlTime at) {
  NlPacket *copy = nl_packet_new(pkt->data, pkt->len);
  copy->from = pkt->from;
  copy->to = pkt->to;
  copy->sent_out = pkt->sent_out;
  copy->ip4 = pkt->ip4;
  copy->ip4_ok = pkt->ip4_ok;
  copy->udp_sum_ok = pkt->udp_sum_ok;
  copy->tcp_sum_ok = pkt->tcp_sum_ok;
  copy->id = ++w->next_pkt_id;
  w->stats.sent++;
  trace_pkt(w, NL_TRACE_PKT_SEND, copy->from->node, copy->to->node, copy,
            NL_DROP_NONE);
  nl_event_init(&copy->ev, hop_event, copy);
  copy->stage = stage; /* on the link */
  nl_event_schedule(w->queue, &copy->ev, at);
}

static void hop_down(NlWorld *w, NlPacket *pkt, NlTime t) {
  NlIface *to = pkt->to;
  NlDropReason why = NL_DROP_NONE;
  gboolean dup = FALSE;
  if (!to->down_ideal) {
    dup = to->props.down.dup > 0 &&
          nl_rand_chance(&to->rand, to->props.down.dup);
    why = dir_pass(to, &to->props.down, &to->down_state,
                   &to->down_last_arrival, pkt->len, &t, NULL);
  }
  if (dup && why == NL_DROP_NONE)
    hop_dup(w, pkt, STAGE_ARRIVE, t + NL_US); /* a microsecond behind */
  if (why != NL_DROP_NONE) {
    in_flight_remove(pkt);
    w->stats.dropped++;
    trace_pkt(w, NL_TRACE_PKT_DROP, to->node, pkt->from->node, pkt, why);
    nl_packet_free(pkt);
    return;
  }
  pkt->stage = STAGE_ARRIVE;
  nl_event_schedule(w->queue, &pkt->ev, t);
}

/* hop_event of a packet over loopback (its own copy of node_input: the
 * hop's is inline). */
G_GNUC_NO_INLINE static void loop_arrive(NlPacket *pkt) {
  NlNode *n = pkt->loop;
  in_flight_remove(pkt);
  if (!n->up)
    nl_node_drop(n, pkt, NL_DROP_HOST_DOWN); /* went down meanwhile */
  else
    node_input(n, NULL, pkt);
}

static void hop_event(NlEvent *ev, void *data) {
  NlPacket *pkt = data;
  if (pkt->stage == STAGE_LOOP) {
    loop_arrive(pkt);
    return;
  }
  NlWorld *w = pkt->to->node->world;
  if (pkt->stage == STAGE_SWITCH) {
    hop_down(w, pkt, nl_event_now(w->queue));
    return;
  }
  in_flight_remove(pkt);
  NlIface *to = pkt->to;
  if (!to->node->up) {
    w->stats.dropped++;
    trace_pkt(w, NL_TRACE_PKT_DROP, to->node, pkt->from->node, pkt,
              NL_DROP_HOST_DOWN);
    nl_packet_free(pkt);
    return;
  }
  if (!to->up) {
    w->stats.dropped++;
    trace_pkt(w, NL_TRACE_PKT_DROP, to->node, pkt->from->node, pkt,
              NL_DROP_LINK_DOWN);
    nl_packet_free(pkt);
    return;
  }
  w->stats.received++;
  trace_pkt(w, NL_TRACE_PKT_RECV, to->node, pkt->from->node, pkt,
            NL_DROP_NONE);
  node_input(to->node, to, pkt);
}

static gint by_id(gconstpointer a, gconstpointer b) {
  const NlPacket *x = *(NlPacket *const *)a, *y = *(NlPacket *const *)b;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* @f's transmitter stops: every packet it had not sent out by now (still
 * queued, or being serialised) is lost, in the order they were sent, and
 * the transmitter is idle from now on. */
static void flush_tx(NlIface *f, NlDropReason why) {
  NlWorld *w = f->node->world;
  NlTime now = nl_event_now(w->queue);
  GPtrArray *lost = NULL;
  NlTime on_wire = now; /* the latest arrival of a packet that goes on */
  /* The packets on links (in the registry's order, which decides
   * nothing: the lost are sorted by transmission id, on_wire is a
   * maximum). */
  for (guint i = 0; i < pkt_reg.n; i++) {
    NlPacket *p = &pkt_reg.blocks[i]->p;
    if (p->stage == 0 || p->stage == STAGE_LOOP || p->from != f)
      continue;
    if (p->sent_out > now) {
      if (lost == NULL)
        lost = g_ptr_array_new();
      g_ptr_array_add(lost, p);
    } else {
      on_wire = MAX(on_wire, p->ev.time);
    }
  }
  f->up_state.count = 0;
  f->up_state.head = 0;
  f->up_state.busy_until = MIN(f->up_state.busy_until, now);
  /* Later packets still may not overtake those on the wire. */
  f->up_last_arrival = MIN(f->up_last_arrival, on_wire);
  if (lost == NULL)
    return;
  g_ptr_array_sort(lost, by_id); /* in the order they were sent */
  for (guint i = 0; i < lost->len; i++) {
    NlPacket *p = g_ptr_array_index(lost, i);
    in_flight_remove(p);
    nl_event_cancel(w->queue, &p->ev);
    w->stats.dropped++;
    trace_pkt(w, NL_TRACE_PKT_DROP, f->node, p->to->node, p,
              why | NL_DROP_OUTGOING);
    nl_packet_free(p);
  }
  g_ptr_array_free(lost, TRUE);
}

/* The node that owns @addr on some network, or NULL. */
static NlNode *owner_of(NlWorld *w, uint32_t addr) {
  for (guint i = 0; i < w->networks->len; i++) {
    NlNetwork *n = g_ptr_array_index(w->networks, i);
    NlIface *f = addr_table_lookup(&n->by_addr, addr);
    if (f != NULL)
      return f->node;
  }
  return NULL;
}

/* Whether a partition stops this hop: between the two nodes of the hop,
 * or between the nodes that own the packet's source and destination. */
static gboolean blocked(NlWorld *w, NlIface *from, NlIface *to,
                        const NlPacket *pkt) {
  int64_t key = pair_key(from->node, to->node);
  if (g_hash_table_contains(w->blocked, &key))
    return TRUE;
  NlNode *a, *b;
  if (nl_packet_is_ip6(pkt)) {
    if (!nl__owners6(w, pkt->data, pkt->len, &a, &b))
      return FALSE;
  } else {
    if (pkt->len < NL_IP4_HDR_LEN)
      return FALSE;
    a = owner_of(w, nl_wire_get32(pkt->data + 12));
    b = owner_of(w, nl_wire_get32(pkt->data + 16));
  }
  if (a == NULL || b == NULL)
    return FALSE;
  key = pair_key(a, b);
  return g_hash_table_contains(w->blocked, &key);
}

/* Puts @pkt (owned) on the link of @from towards @next_hop. */
static void hop_start(NlIface *from, NlPacket *pkt, uint32_t next_hop) {
  nl__hop_start_to(from, addr_table_lookup(&from->network->by_addr, next_hop),
                   pkt);
}

G_GNUC_NO_INLINE static void hop_start_general(NlWorld *w, NlIface *from,
                                               NlIface *to, NlPacket *pkt);

/* The common hop, without calls but the schedule: to a neighbour, both
 * ends up, no partition, a delay or nothing on the way out and nothing on
 * the way in.  What hop_start_general does then. */
static inline __attribute__((always_inline)) void
hop_start_fast(NlWorld *w, NlIface *from, NlPacket *pkt) {
  NlTime t = nl_event_now(w->queue);
  pkt->sent_out = t;
  if (from->up_latency_only) {
    t += from->up_latency;
    t = MAX(t, from->up_last_arrival);
    from->up_last_arrival = t;
  }
  pkt->stage = STAGE_ARRIVE; /* on the link */
  nl_event_schedule(w->queue, &pkt->ev, t);
}

/* The common hop and its SEND record, in a run that records sends (out of
 * line: nl__hop_start_to's own stays without calls). */
G_GNUC_NO_INLINE static void hop_start_fast_traced(NlWorld *w, NlIface *from,
                                                   NlIface *to,
                                                   NlPacket *pkt) {
  trace_pkt(w, NL_TRACE_PKT_SEND, from->node, to->node, pkt, NL_DROP_NONE);
  hop_start_fast(w, from, pkt);
}

void nl__hop_start_to(NlIface *from, NlIface *to, NlPacket *pkt) {
  NlWorld *w = from->node->world;
  pkt->from = from;
  pkt->to = to;
  pkt->id = ++w->next_pkt_id;
  w->stats.sent++;
  if (G_LIKELY(to != NULL && to != from && from->tx_fast && to->rx_fast &&
               w->n_blocked == 0)) {
    if (G_UNLIKELY(nl_trace_wants(w->trace, NL_TRACE_PKT_SEND))) {
      hop_start_fast_traced(w, from, to, pkt);
      return;
    }
    hop_start_fast(w, from, pkt);
    return;
  }
  hop_start_general(w, from, to, pkt);
}

/* nl__hop_start_to's steps after the transmission id, for every hop. */
static void hop_start_general(NlWorld *w, NlIface *from, NlIface *to,
                              NlPacket *pkt) {
  if (to == NULL || to == from) {
    /* Like an ARP request nobody answers. */
    w->stats.dropped++;
    trace_pkt(w, NL_TRACE_PKT_DROP, from->node, NULL, pkt,
              NL_DROP_NO_NEIGHBOUR);
    nl_packet_free(pkt);
    return;
  }
  trace_pkt(w, NL_TRACE_PKT_SEND, from->node, to->node, pkt, NL_DROP_NONE);
  NlDropReason why = NL_DROP_NONE;
  if (!from->up || !to->up)
    why = NL_DROP_LINK_DOWN;
  else if (w->n_blocked > 0 && blocked(w, from, to, pkt))
    why = NL_DROP_BLOCKED;
  NlTime now = nl_event_now(w->queue), t = now;
  pkt->sent_out = t;
  gboolean dup = FALSE;
  if (why == NL_DROP_NONE && from->up_latency_only) {
    /* dir_pass's steps for a delay alone: out after the latency, never
     * before the packet sent before it. */
    t += from->up_latency;
    t = MAX(t, from->up_last_arrival);
    from->up_last_arrival = t;
  } else if (why == NL_DROP_NONE && !from->up_ideal) {
    dup = from->props.up.dup > 0 &&
          nl_rand_chance(&from->rand, from->props.up.dup);
    why = dir_pass(from, &from->props.up, &from->up_state,
                   &from->up_last_arrival, pkt->len, &t, &pkt->sent_out);
  }
  if (why != NL_DROP_NONE) {
    w->stats.dropped++;
    trace_pkt(w, NL_TRACE_PKT_DROP, from->node, to->node, pkt,
              why | NL_DROP_OUTGOING);
    nl_packet_free(pkt);
    return;
  }
  if (dup)
    hop_dup(w, pkt, STAGE_SWITCH, t + NL_US);
  if (to->down_ideal) {
    /* hop_down's steps for an ideal direction: arrives when it comes out
     * of the sender's side. */
    pkt->stage = STAGE_ARRIVE;
    nl_event_schedule(w->queue, &pkt->ev, t);
  } else if (t == now) {
    hop_down(w, pkt, t);
  } else {
    pkt->stage = STAGE_SWITCH;
    nl_event_schedule(w->queue, &pkt->ev, t);
  }
}

/* ---- output, fragmentation ---- */

static int output_fragments(NlIface *f, NlPacket *pkt, uint32_t next_hop);

/* Sends @pkt (owned) out of @f to @next_hop, fragmenting to the MTU.
 * Returns 0 or -EMSGSIZE (DF set and too big; @pkt is then not freed). */
static inline int output(NlIface *f, NlPacket *pkt, uint32_t next_hop) {
  if (G_LIKELY(pkt->len <= f->mtu)) {
    hop_start(f, pkt, next_hop);
    return 0;
  }
  return output_fragments(f, pkt, next_hop);
}

/* output() of a packet larger than @f's MTU. */
static int output_fragments(NlIface *f, NlPacket *pkt, uint32_t next_hop) {
  guint mtu = f->mtu;
  if (nl_packet_ip4(pkt) != NULL)
    return -EINVAL;
  NlIp4Header ip = pkt->ip4;
  if (ip.df)
    return -EMSGSIZE;
  /* RFC 791: each fragment carries a multiple of 8 data bytes, except the
   * last; the last keeps the original's MF flag. */
  guint hl = ip.ihl_bytes;
  guint data_len = ip.total_len - hl;
  guint step = (mtu - hl) & ~7u;
  guint8 buf[NL_IP4_MAX_LEN];
  for (guint off = 0; off < data_len; off += step) {
    guint n = MIN(step, data_len - off);
    NlIp4Header h = ip;
    h.total_len = (uint16_t)(NL_IP4_HDR_LEN + n);
    h.frag_offset = (uint16_t)(ip.frag_offset + off);
    h.mf = (off + n < data_len) ? TRUE : ip.mf;
    nl_ip4_write(buf, &h);
    memcpy(buf + NL_IP4_HDR_LEN, pkt->data + hl + off, n);
    hop_start(f, nl_packet_new(buf, NL_IP4_HDR_LEN + n), next_hop);
  }
  nl_packet_free(pkt);
  return 0;
}

/* To itself, as over loopback: delivered by an event at this same time,
 * never from inside the sender's call (Linux queues loopback packets too),
 * so protocol code is not re-entered.  Takes @p. */
static void loop_packet(NlNode *n, NlPacket *p) {
  p->loop = n;
  p->stage = STAGE_LOOP;
  nl_event_init(&p->ev, hop_event, p);
  nl_event_schedule(n->world->queue, &p->ev, nl_event_now(n->world->queue));
}

void nl__loop_send(NlNode *n, const guint8 *data, size_t len) {
  loop_packet(n, nl_packet_new(data, len));
}

/* nl_node_send of @p (taken), whose header is read (ip4_ok). */
static int send4(NlNode *n, NlPacket *p, const NlRouteHop *route) {
  int err;
  if (!n->up) {
    err = -EHOSTDOWN;
    goto refused;
  }
  NlIface *f;
  uint32_t next_hop;
  if (route != NULL) {
    f = route->iface;
    next_hop = route->next_hop;
  } else {
    if (nl_node_has_addr(n, p->ip4.dst)) {
      loop_packet(n, p);
      return 0;
    }
    if (!nl_node_route(n, p->ip4.dst, &f, &next_hop)) {
      err = -ENETUNREACH;
      goto refused;
    }
  }
  if (p->len > f->mtu && p->ip4.df) {
    err = -EMSGSIZE;
    goto refused;
  }
  if ((err = output(f, p, next_hop)) == 0)
    return 0;
refused:
  nl_packet_free(p);
  return err;
}

int nl_node_send(NlNode *n, const guint8 *data, size_t len) {
  NlIp4Header ip;
  if (len >= 1 && (data[0] >> 4) == 6)
    return nl_node_send6(n, data, len, FALSE);
  g_return_val_if_fail(nl_ip4_parse(data, len, &ip) == NULL, -EINVAL);
  NlPacket *p = nl_packet_new(data, len);
  p->ip4 = ip;
  p->ip4_ok = TRUE;
  return send4(n, p, NULL);
}

int nl_node_send_packet(NlNode *n, NlPacket *pkt, const NlRouteHop *route) {
  if (nl_packet_is_ip6(pkt)) {
    int err = nl_node_send6(n, pkt->data, pkt->len, FALSE);
    nl_packet_free(pkt);
    return err;
  }
  if (nl_packet_ip4(pkt) != NULL) {
    nl_packet_free(pkt);
    g_return_val_if_reached(-EINVAL);
  }
  return send4(n, pkt, route);
}

/* A send reads the first 32 bytes of its route (net.h). */
G_STATIC_ASSERT(G_STRUCT_OFFSET(NlSourceRoute, neighbour) + 8 == 32);

int nl_node_send_udp4(NlNode *n, NlSourceRoute *route, uint32_t src,
                      uint16_t sport, uint32_t dst, uint16_t dport,
                      const void *payload, size_t plen, uint8_t ttl,
                      gboolean df) {
  /* The source route kept from the datagram before (a host sends to few
   * destinations), checked here without a call. */
  if (route != NULL &&
      (route->epoch != n->world->route_epoch || route->dst != dst) &&
      !nl_node_source_route(n, dst, route))
    return -ENETUNREACH;
  if (route != NULL && route->iface == NULL && !route->ok)
    return -ENETUNREACH; /* (an interface: ok, and its line not read) */
  NlPacket *p = packet_alloc(NL_IP4_HDR_LEN + NL_UDP_HDR_LEN + plen);
  if (route != NULL)
    src = route->src;
  nl_udp4_build_ip(p->data, src, sport, dst, dport, payload, plen,
                   n->ip_id++, ttl, df, &p->ip4);
  p->ip4_ok = TRUE;
  p->udp_sum_ok = TRUE;
  if (route == NULL || route->iface == NULL)
    return send4(n, p, NULL); /* routed there, or to itself */
  /* send4 with the route's interface and first hop, and output's
   * hop_start with its neighbour, kept. */
  NlIface *f = route->iface;
  if (G_UNLIKELY(!n->up)) {
    nl_packet_free(p);
    return -EHOSTDOWN;
  }
  if (G_UNLIKELY(p->len > f->mtu)) {
    if (df) {
      nl_packet_free(p);
      return -EMSGSIZE;
    }
    return output_fragments(f, p, route->next_hop);
  }
  nl__hop_start_to(f, route->neighbour, p);
  return 0;
}

void nl_node_send_icmp_error(NlNode *n, const guint8 *orig, size_t orig_len,
                             uint8_t type, uint8_t code, uint16_t mtu) {
  NlIp4Header oh;
  if (nl_ip4_parse(orig, orig_len, &oh) != NULL)
    return;
  /* RFC 1122 §3.2.2: never about an ICMP error, a non-first fragment. */
  if (oh.frag_offset != 0)
    return;
  if (oh.proto == NL_IPPROTO_ICMP) {
    const guint8 *ic = orig + oh.ihl_bytes;
    if (oh.total_len - oh.ihl_bytes < 1 ||
        (ic[0] != NL_ICMP_ECHO_REQUEST && ic[0] != NL_ICMP_ECHO_REPLY))
      return;
  }
  NlIface *f;
  uint32_t next_hop, src;
  if (nl_node_has_addr(n, oh.src))
    src = oh.dst; /* about our own packet: loopback */
  else if (nl_node_route(n, oh.src, &f, &next_hop))
    src = f->addr;
  else
    return;
  guint8 buf[NL_ICMP_ERROR_MAX];
  size_t len = nl_icmp4_build_error(buf, src, type, code, mtu, orig,
                                    orig_len, nl_node_next_ip_id(n));
  if (len > 0)
    nl_node_send(n, buf, len);
}

/* ---- input ---- */

typedef struct {
  uint32_t src, dst;
  uint16_t id;
  uint8_t proto;
} ReasmKey;

typedef struct {
  ReasmKey key;
  NlNode *node;
  NlEvent timer;
  guint8 *data;    /* reassembled payload, 64 KiB */
  guint8 *have;    /* one bit per 8-byte block */
  guint total;     /* payload length once the last fragment came, else 0 */
  guint8 header[NL_IP4_HDR_LEN];
  gboolean have_first;
  guint8 *sample;  /* the first fragment that arrived, for the drop record */
  guint sample_len;
} Reasm;

static guint reasm_hash(gconstpointer k) {
  const ReasmKey *r = k;
  return r->src * 31u + r->dst * 17u + r->id * 7u + r->proto;
}

static gboolean reasm_equal(gconstpointer a, gconstpointer b) {
  const ReasmKey *x = a, *y = b;
  return x->src == y->src && x->dst == y->dst && x->id == y->id &&
         x->proto == y->proto;
}

static void reasm_free(gpointer p) {
  Reasm *r = p;
  nl_event_cancel(r->node->world->queue, &r->timer);
  g_free(r->data);
  g_free(r->have);
  g_free(r->sample);
  g_free(r);
}

static void reasm_timeout(NlEvent *ev, void *data) {
  Reasm *r = data;
  NlNode *n = r->node;
  /* RFC 1122 §3.3.2: tell the source when fragment zero had come (time
   * exceeded, code 1: fragment reassembly time exceeded), as Linux does. */
  guint zlen = (guint)r->header[2] << 8 | r->header[3];
  if (r->have_first && r->header[0] == 0x45 && zlen >= NL_IP4_HDR_LEN) {
    guint8 *z = g_malloc(zlen);
    memcpy(z, r->header, NL_IP4_HDR_LEN);
    memcpy(z + NL_IP4_HDR_LEN, r->data, zlen - NL_IP4_HDR_LEN);
    nl_node_send_icmp_error(n, z, zlen, NL_ICMP_TIME_EXCEEDED, 1, 0);
    g_free(z);
  }
  NlPacket *p = nl_packet_new(r->sample, r->sample_len);
  nl_node_drop(n, p, NL_DROP_REASSEMBLY);
  g_hash_table_remove(n->reasm, &r->key);
}

/* Takes a fragment; returns the whole datagram when complete, else NULL. */
static NlPacket *reassemble(NlNode *n, NlPacket *pkt, const NlIp4Header *ip) {
  ReasmKey key = {.src = ip->src, .dst = ip->dst, .id = ip->id,
                  .proto = ip->proto};
  if (n->reasm == NULL) /* made on first use: most nodes never need it */
    n->reasm = g_hash_table_new_full(reasm_hash, reasm_equal, NULL, reasm_free);
  Reasm *r = g_hash_table_lookup(n->reasm, &key);
  guint len = ip->total_len - ip->ihl_bytes;
  if ((guint)ip->frag_offset + len > NL_IP4_MAX_LEN - NL_IP4_HDR_LEN) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return NULL;
  }
  if (r == NULL) {
    r = g_new0(Reasm, 1);
    r->key = key;
    r->node = n;
    r->data = g_malloc(NL_IP4_MAX_LEN);
    r->have = g_malloc0(NL_IP4_MAX_LEN / 8 / 8 + 1);
    r->sample = g_memdup2(pkt->data, pkt->len);
    r->sample_len = pkt->len;
    nl_event_init(&r->timer, reasm_timeout, r);
    nl_event_schedule_in(n->world->queue, &r->timer, REASM_TIMEOUT);
    g_hash_table_insert(n->reasm, &r->key, r);
  }
  memcpy(r->data + ip->frag_offset, pkt->data + ip->ihl_bytes, len);
  for (guint b = ip->frag_offset / 8; b < (ip->frag_offset + len + 7) / 8; b++)
    r->have[b / 8] |= (guint8)(1u << (b % 8));
  if (ip->frag_offset == 0) {
    memcpy(r->header, pkt->data, NL_IP4_HDR_LEN);
    r->have_first = TRUE;
  }
  if (!ip->mf)
    r->total = ip->frag_offset + len;
  nl_packet_free(pkt);
  if (!r->have_first || r->total == 0)
    return NULL;
  for (guint b = 0; b < (r->total + 7) / 8; b++)
    if (!(r->have[b / 8] & (1u << (b % 8))))
      return NULL;
  guint8 *buf = g_malloc(NL_IP4_HDR_LEN + r->total);
  NlIp4Header h;
  memset(&h, 0, sizeof h);
  h.total_len = (uint16_t)(NL_IP4_HDR_LEN + r->total);
  h.id = key.id;
  h.ttl = r->header[8];
  h.proto = key.proto;
  h.src = key.src;
  h.dst = key.dst;
  h.tos = r->header[1];
  nl_ip4_write(buf, &h);
  memcpy(buf + NL_IP4_HDR_LEN, r->data, r->total);
  NlPacket *whole = nl_packet_new(buf, NL_IP4_HDR_LEN + r->total);
  g_free(buf);
  g_hash_table_remove(n->reasm, &key);
  return whole;
}

static void default_local_in(NlNode *n, NlPacket *pkt) {
  NlIp4Header ip;
  if (nl_packet_ip4(pkt) == NULL)
    ip = pkt->ip4;
  else
    (void)nl_ip4_parse(pkt->data, pkt->len, &ip);
  switch (ip.proto) {
    case NL_IPPROTO_UDP:
      nl_node_send_icmp_error(n, pkt->data, pkt->len, NL_ICMP_DEST_UNREACH,
                              NL_ICMP_PORT_UNREACH, 0);
      nl_node_drop(n, pkt, NL_DROP_PORT_UNREACHABLE);
      return;
    case NL_IPPROTO_TCP: {
      /* Nobody listens here: refused as by Linux's tcp_v4_send_reset
       * (RFC 9293 §3.10.7.1), never in answer to an RST. */
      NlTcpHeader th;
      if (nl_tcp4_parse(pkt->data, pkt->len, &ip, &th) != NULL) {
        nl_node_drop(n, pkt, NL_DROP_BAD_CHECKSUM);
        return;
      }
      if (!(th.flags & NL_TCP_RST)) {
        NlTcpHeader r = {.sport = th.dport, .dport = th.sport};
        if (th.flags & NL_TCP_ACK) {
          r.seq = th.ack;
          r.flags = NL_TCP_RST;
        } else {
          uint32_t dlen = ip.total_len - ip.ihl_bytes - th.hdr_bytes;
          r.ack = th.seq + dlen + ((th.flags & NL_TCP_SYN) ? 1 : 0) +
                  ((th.flags & NL_TCP_FIN) ? 1 : 0);
          r.flags = NL_TCP_RST | NL_TCP_ACK;
        }
        guint8 buf[NL_IP4_HDR_LEN + NL_TCP_HDR_LEN];
        size_t len = nl_tcp4_build(buf, ip.dst, ip.src, &r, NULL, 0,
                                   nl_node_next_ip_id(n), 64, TRUE);
        nl_node_drop(n, pkt, NL_DROP_TCP_NO_LISTENER);
        nl_node_send(n, buf, len);
        return;
      }
      nl_node_drop(n, pkt, NL_DROP_TCP_NO_LISTENER);
      return;
    }
    case NL_IPPROTO_ICMP: {
      guint8 *ic = pkt->data + ip.ihl_bytes;
      if (ip.total_len - ip.ihl_bytes >= NL_ICMP_HDR_LEN &&
          ic[0] == NL_ICMP_ECHO_REQUEST) {
        /* Answer pings, as every node's kernel does. */
        nl_node_trace_deliver(n, pkt);
        NlIp4Header h = ip;
        h.src = ip.dst;
        h.dst = ip.src;
        h.ttl = 64;
        h.id = nl_node_next_ip_id(n);
        h.df = FALSE;
        h.mf = FALSE;
        h.frag_offset = 0;
        nl_ip4_write(pkt->data, &h);
        pkt->ip4_ok = FALSE;
        ic[0] = NL_ICMP_ECHO_REPLY;
        nl_ip4_update_l4_checksum(pkt->data, pkt->len);
        nl_node_send(n, pkt->data, pkt->len);
        nl_packet_free(pkt);
        return;
      }
      nl_node_drop(n, pkt, NL_DROP_PORT_UNREACHABLE);
      return;
    }
    default:
      nl_node_drop(n, pkt, NL_DROP_PORT_UNREACHABLE);
  }
}

void nl_node_default_local_in(NlNode *n, NlPacket *pkt) {
  if (nl_packet_is_ip6(pkt)) {
    nl__default_local_in6(n, pkt);
    return;
  }
  default_local_in(n, pkt);
}

static inline void local_in(NlNode *n, NlPacket *pkt) {
  if (pkt->ip4.mf || pkt->ip4.frag_offset != 0) {
    NlIp4Header ip = pkt->ip4; /* reassemble frees pkt */
    pkt = reassemble(n, pkt, &ip);
    if (pkt == NULL)
      return;
  }
  if (n->hooks.local_in)
    n->hooks.local_in(n->hooks.data, n, pkt);
  else
    default_local_in(n, pkt);
}

/* An ICMP error from @n about @pkt, which a prerouting hook may have
 * rewritten (a NAT translates before routing): the error quotes the packet
 * as it arrived (@pre, its first @pre_len bytes before the hook; 0 when
 * no hook ran), so that it goes back to the sender, who finds its own
 * packet in it, as after Linux's NAT (conntrack translates ICMP errors
 * about a flow back, RFC 5508 §4). */
static void icmp_error_about(NlNode *n, const NlPacket *pkt,
                             const guint8 *pre, size_t pre_len, uint8_t type,
                             uint8_t code, uint16_t mtu) {
  if (pre_len == 0 || memcmp(pre, pkt->data, pre_len) == 0) {
    nl_node_send_icmp_error(n, pkt->data, pkt->len, type, code, mtu);
    return;
  }
  guint8 *orig = g_memdup2(pkt->data, pkt->len);
  memcpy(orig, pre, pre_len);
  nl_node_send_icmp_error(n, orig, pkt->len, type, code, mtu);
  g_free(orig);
}

static inline __attribute__((always_inline)) void route4(NlNode *n, NlPacket *pkt, const guint8 *pre,
                   size_t pre_len);

static inline __attribute__((always_inline)) void
node_input(NlNode *n, NlIface *in, NlPacket *pkt) {
  if (nl_packet_is_ip6(pkt)) {
    nl__node_input6(n, in, pkt);
    return;
  }
  /* Read once where the packet started, usually, and kept with it. */
  const char *why = nl_packet_ip4(pkt);
  if (why != NULL) {
    nl_node_drop(n, pkt, strstr(why, "checksum") ? NL_DROP_BAD_CHECKSUM
                                                  : NL_DROP_MALFORMED);
    return;
  }
  const NlIp4Header *ip = &pkt->ip4;
  if (ip->total_len < pkt->len)
    pkt->len = ip->total_len; /* trailing bytes are link padding */
  /* What an ICMP error quotes (the IP header and 8 bytes, RFC 792), as it
   * was before a NAT rewrote it. */
  guint8 pre[60 + 8];
  size_t pre_len = 0;
  if (in != NULL && n->hooks.prerouting) {
    pre_len = MIN((size_t)pkt->len, (size_t)ip->ihl_bytes + 8);
    if (G_LIKELY(pre_len == NL_IP4_HDR_LEN + 8))
      memcpy(pre, pkt->data, NL_IP4_HDR_LEN + 8); /* a few moves */
    else
      memcpy(pre, pkt->data, pre_len);
    NlDropReason r = n->hooks.prerouting(n->hooks.data, n, in, pkt);
    if (r != NL_DROP_NONE) {
      nl_node_drop(n, pkt, r);
      return;
    }
    if (nl_packet_is_ip6(pkt)) {
      nl__node_route6(n, pkt); /* a NAT64 made it IPv6 */
      return;
    }
    /* The hook kept pkt->ip4 in step with what it changed, or cleared
     * ip4_ok. */
    if (nl_packet_ip4(pkt) != NULL) {
      nl_node_drop(n, pkt, NL_DROP_MALFORMED);
      return;
    }
  }
  route4(n, pkt, pre, pre_len);
}

void nl__node_route4(NlNode *n, NlPacket *pkt) {
  if (nl_packet_ip4(pkt) != NULL) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return;
  }
  guint8 pre[60 + 8];
  size_t pre_len = MIN((size_t)pkt->len, (size_t)pkt->ip4.ihl_bytes + 8);
  memcpy(pre, pkt->data, pre_len);
  route4(n, pkt, pre, pre_len);
}

/* @pkt after prerouting: for the node itself, or forwarded; @pre is what
 * an ICMP error quotes. */
static inline __attribute__((always_inline)) void route4(NlNode *n, NlPacket *pkt, const guint8 *pre,
                   size_t pre_len) {
  const NlIp4Header *ip = &pkt->ip4;
  if (has_addr(n, ip->dst)) {
    local_in(n, pkt);
    return;
  }
  if (!n->forwarding) {
    nl_node_drop(n, pkt, NL_DROP_NOT_FOR_US);
    return;
  }
  if (ip->ttl <= 1) {
    icmp_error_about(n, pkt, pre, pre_len, NL_ICMP_TIME_EXCEEDED, 0, 0);
    nl_node_drop(n, pkt, NL_DROP_TTL);
    return;
  }
  const NlRoute *r = route_match(n, ip->dst);
  if (r == NULL) {
    icmp_error_about(n, pkt, pre, pre_len, NL_ICMP_DEST_UNREACH,
                     NL_ICMP_NET_UNREACH, 0);
    nl_node_drop(n, pkt, NL_DROP_NO_ROUTE);
    return;
  }
  NlIface *f = r->iface;
  uint32_t next_hop = r->via ? r->via : ip->dst;
  /* Too big with DF: refused before the TTL is touched, so the ICMP
   * quotes the packet as it came (as Linux's ip_forward does). */
  if (pkt->len > f->mtu && ip->df) {
    icmp_error_about(n, pkt, pre, pre_len, NL_ICMP_DEST_UNREACH,
                     NL_ICMP_FRAG_NEEDED, (uint16_t)f->props.mtu);
    nl_node_drop(n, pkt, NL_DROP_FRAG_NEEDED);
    return;
  }
  /* The TTL, the high byte of the header's fifth 16-bit word, goes down
   * by one, so the header's checksum goes up by 0x0100 (RFC 1624, as
   * Linux's ip_decrease_ttl): the header's checksum is right (read, built
   * or kept in step), and the result is in [0, 0xfffe] as a checksum
   * summed whole is, so the same bytes. */
  pkt->data[8]--;
  pkt->ip4.ttl = pkt->data[8];
  uint32_t c = (uint32_t)nl_wire_get16(pkt->data + 10) + 0x0100u;
  nl_wire_put16(pkt->data + 10, (uint16_t)(c + (c >= 0xffffu)));
  n->world->stats.forwarded++;
  if (output(f, pkt, next_hop) != 0)
    nl_node_drop(n, pkt, NL_DROP_MALFORMED); /* output did not take it */
}
