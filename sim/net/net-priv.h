/* Private structures of the network layer (sim/net*.c only). */
#ifndef NL_NET_PRIV_H
#define NL_NET_PRIV_H

#include "sim/net/net.h"

/* A direction's transmitter and queue (dir_pass).  The time the last
 * packet came out of it, which keeps jittered packets in order and which
 * every hop reads, is in the interface's first line (NlIface). */
typedef struct {
  NlTime busy_until;   /* when the transmitter frees up */
  NlTime *departures;  /* ring of departure times of queued packets */
  guint head, count, size;
} NlDirState;

/* Addresses on a network -> their interface: open addressing with linear
 * probing (0, never an interface's address, marks an empty slot), at most
 * 3/4 full, looked up for every hop's next hop; never iterated.  A slot
 * is an address and its interface's index in @ifaces (8 bytes), the
 * interfaces in the same block after the slots: a LAN of a dozen hosts is
 * two lines of slots and two of interfaces, which a NAT's inbound packets
 * read often enough to keep in cache, where 16-byte slots at most half
 * full took eight lines, each read about once a round trip. */
typedef struct {
  uint32_t addr;
  uint32_t index; /* in ifaces */
} NlAddrSlot;

typedef struct {
  NlAddrSlot *slots; /* mask + 1 slots, then ifaces (one block) */
  NlIface **ifaces;  /* len, in the order added */
  guint mask; /* capacity - 1, a power of two; at most 3/4 full */
  guint shift; /* 32 - log2(capacity): an address's slot is the top bits */
  guint len;
} NlAddrTable;

/* What a hop reads of its two interfaces (the node, whether up and
 * whether its common case holds, the MTU, the way out's delay and the
 * arrival it keeps order behind) is in the first line of a
 * 64-byte-aligned allocation: with 1,000 hosts an interface is out of
 * cache each time a packet comes, and these fields were spread over four
 * lines (props.mtu, props.up.latency, up_state). */
struct NlIface {
  NlNode *node;
  NlNetwork *network;
  NlTime up_latency;       /* props.up.latency */
  NlTime up_last_arrival;  /* keeps the way out's packets in order */
  uint32_t addr;
  guint mtu;               /* props.mtu */
  guint8 up;
  guint8 up_ideal, down_ideal; /* no delay, loss... (dir_trivial) */
  guint8 up_latency_only; /* a delay and nothing else (dir_latency_only) */
  /* What a hop's common case asks of its two ends (nl__hop_start_to):
   * up, and a delay or nothing on the way out; up, and nothing on the
   * way in. */
  guint8 tx_fast, rx_fast;
  guint index;
  NlTime down_last_arrival; /* the same for the way in */
  /* The rest. */
  char name[16];
  NlLinkProps props;
  NlDirState up_state, down_state;
  NlRand rand;
  GArray *addrs6; /* NlIp6, as added; NULL when it has none (net6.c) */
};
G_STATIC_ASSERT(G_STRUCT_OFFSET(struct NlIface, down_last_arrival) + 8 <= 64);

/* An IPv6 route (net6.c): connected (no gateway) or via @via. */
typedef struct {
  NlIp6 prefix;
  guint len;
  gboolean has_via;
  NlIp6 via;
  NlIface *iface;
} NlRoute6;

typedef struct {
  guint64 key;
  guint index1;
} NlRouteSlot;

/* Up to this many routes a node's table is scanned; past it, found by
 * prefix (net.c).  Up to this many addresses, a node's are scanned. */
#define NL__ROUTE_SCAN 8
#define NL__ADDR_SCAN 8

typedef struct {
  uint32_t prefix, mask;
  guint len;
  uint32_t via; /* 0 = on-link */
  NlIface *iface;
} NlRoute;

struct NlNetwork {
  NlWorld *world;
  char *name;
  GArray *prefixes;   /* of NlRoute (prefix, mask, len) */
  NlAddrTable by_addr; /* IPv4 addr -> NlIface */
  GArray *prefixes6;    /* of NlRoute6 (prefix, len) */
  GHashTable *by_addr6; /* NlIp6 (owned) -> NlIface */
};

/* The fields a packet's hop reads first, in the node's first cache line
 * (a 64-byte-aligned allocation): a host's arrival (up, hooks, its own
 * addresses: the first two are here, and the trace id its delivery's
 * record takes) and a datagram's send (up, ip_id) read that line only;
 * forwarding reads the route table's fields in the second too.  With
 * 1,000 hosts a node is out of cache each time a packet comes. */
struct NlNode {
  NlWorld *world;
  NlNodeHooks hooks;
  NlAddrTable *addr_set; /* see addrs */
  guint n_addrs;
  guint8 n_route_lens;
  guint8 forwarding, up; /* booleans */
  guint8 table_dirty;
  uint16_t ip_id;
  guint32 trace_id;
  /* The interfaces' IPv4 addresses: the first NL__ADDR_SCAN here, in
   * the node itself (no pointer to follow); past that many, all of them
   * in a set. */
  uint32_t addrs[NL__ADDR_SCAN];
  guint n_routes;      /* table->len, when not dirty */
  NlRoute *routes;     /* table->data, when not dirty */
  guint64 table_gen;   /* the world's prefixes_gen it was built at */
  NlNodeKind kind;
  /* The rest. */
  char *name;
  GPtrArray *ifaces;
  GArray *static_routes; /* of NlRoute, as declared */
  GArray *table;         /* of NlRoute, longest prefix first */
  /* Past NL__ROUTE_SCAN routes, the table is also found by prefix: an
   * open-addressing table of (length << 32 | prefix) -> first table index
   * + 1 (0: an empty slot), probed for each of the table's prefix
   * lengths, longest first. */
  NlRouteSlot *route_index;
  guint route_mask; /* its capacity - 1, a power of two; at most half full */
  guint8 route_lens[33];
  GHashTable *reasm; /* ReasmKey -> Reasm; NULL until the first fragment */
  void *stack;
  GDestroyNotify stack_destroy;
  /* A node whose sockets' kept routes (NlSourceRoute) keep missing (a
   * server answering many clients) keeps them by destination too
   * (nl_node_source_route): ROUTE_CACHE_SIZE of them, direct-mapped,
   * allocated at the ROUTE_CACHE_AFTER-th miss (NULL before), and given
   * up if less than half of its first ROUTE_CACHE_TRIAL look-ups find
   * their route there. */
  NlSourceRoute *route_cache;
  guint route_misses, route_trial, route_found;
  /* IPv6 (net6.c): routes as declared, the table (longest prefix first),
   * reassembly queues, the path MTUs learnt from Packet Too Big, and the
   * next fragment identification.  Each NULL until first used. */
  GArray *static_routes6, *table6;
  gboolean table6_dirty;
  GHashTable *reasm6;
  GHashTable *pmtu6; /* NlIp6 destination (owned) -> NlPmtu6 */
  uint32_t frag_id6;
};
/* A host's arrival reads one line (for a host of up to two addresses). */
G_STATIC_ASSERT(G_STRUCT_OFFSET(struct NlNode, addrs) + 2 * 4 <= 64);

struct NlWorld {
  NlEventQueue *queue;
  NlTrace *trace;
  uint64_t seed;
  GPtrArray *nodes, *networks;
  GHashTable *node_by_name, *net_by_name;
  GHashTable *names;   /* DNS name -> addr */
  GArray *name_order;  /* addresses, in registration order */
  GPtrArray *name_list; /* the names, same order (owned by names) */
  GHashTable *blocked; /* node-pair key -> 1 */
  guint n_blocked;     /* its size: read at every hop */
  guint64 prefixes_gen; /* grows when a network gains a prefix */
  /* Grows when any node's addresses or routes may change (a prefix, an
   * interface, a route): NlSourceRoute's epoch.  Starts at 1. */
  guint64 route_epoch;
  uint64_t next_pkt_id;
  NlNetStats stats;
  /* AAAA names (net6.c): name -> GArray of NlIp6, and every (name,
   * address) pair in registration order for reverse lookups. */
  GHashTable *names6;
  GArray *name6_order;   /* NlIp6 */
  GPtrArray *name6_list; /* the names (owned by names6) */
  gboolean dns64;        /* a NAT64 serves 64:ff9b::/96 (net6.c) */
};

/* ---- net.c, for net6.c ---- */

/* Puts @pkt (owned) on the link of @from to @to (NULL: nobody answers
 * neighbour discovery for the next hop: NO_NEIGHBOUR). */
void nl__hop_start_to(NlIface *from, NlIface *to, NlPacket *pkt);
/* Delivers a copy of @data to @n itself, as over loopback. */
void nl__loop_send(NlNode *n, const guint8 *data, size_t len);

/* After prerouting (a NAT64 changed the packet's family): the node's own,
 * or forwarded.  Takes @pkt. */
void nl__node_route4(NlNode *n, NlPacket *pkt);

/* ---- net6.c, for net.c ---- */

void nl__node_init6(NlNode *n);
void nl__node_free6(NlNode *n);
void nl__network_init6(NlNetwork *n);
void nl__network_free6(NlNetwork *n);
void nl__world_free6(NlWorld *w);
/* An IPv6 packet arrived on @in (NULL: over loopback).  Takes @pkt. */
void nl__node_input6(NlNode *n, NlIface *in, NlPacket *pkt);
void nl__default_local_in6(NlNode *n, NlPacket *pkt);
/* After prerouting: the node's own, or forwarded.  Takes @pkt. */
void nl__node_route6(NlNode *n, NlPacket *pkt);
/* OUT: the nodes owning an IPv6 packet's source and destination. */
gboolean nl__owners6(NlWorld *w, const guint8 *pkt, size_t len, NlNode **a,
                     NlNode **b);

#endif
