/* The network: a world of nodes (hosts, routers, NATs), networks (segments
 * carrying one or more IPv4 prefixes) and links (a node's attachment to a
 * network, with latency, jitter, loss, duplication, reordering, bandwidth
 * with a finite queue, and MTU, per direction).
 *
 * Packets are real IPv4 wire bytes.  A hop goes: sender's up direction
 * (queue, serialisation, loss) → the segment → receiver's down direction →
 * the receiving node.  Every hop is a PKT_SEND and a PKT_RECV (or PKT_DROP)
 * record with one transmission id.
 *
 * Upper layers (sockets, TCP, NAT) attach through NlNodeHooks; this layer
 * knows nothing of them.
 */
#ifndef NL_NET_H
#define NL_NET_H

#include <glib.h>
#include <stdint.h>

#include "sim/core/event.h"
#include "sim/core/rand.h"
#include "sim/core/trace.h"
#include "sim/net/wire6.h"

G_BEGIN_DECLS

typedef struct NlWorld NlWorld;
typedef struct NlNode NlNode;
typedef struct NlIface NlIface;
typedef struct NlNetwork NlNetwork;
typedef struct NlPacket NlPacket;

#define NL_NODE_KIND_MAP(X)                                                    \
  X(HOST, "host")                                                              \
  X(ROUTER, "router")                                                          \
  X(NAT, "nat")                                                                \
  X(FIREWALL, "firewall")

typedef enum {
#define NL_X(e, s) NL_NODE_##e,
  NL_NODE_KIND_MAP(NL_X)
#undef NL_X
} NlNodeKind;

/* One direction of a link.  Zero values mean "ideal": no delay, no loss,
 * unlimited bandwidth. */
typedef struct {
  NlTime latency;
  NlTime jitter;      /* extra delay, uniform in [0, jitter]; keeps order */
  double loss;        /* probability a packet is lost */
  double dup;         /* probability a packet is duplicated */
  double reorder;     /* probability a packet is held back past later ones */
  uint64_t bandwidth; /* bits per second; 0 = unlimited */
  guint queue;        /* packets the queue holds when bandwidth-limited */
} NlLinkDir;

typedef struct {
  NlLinkDir up;   /* node → network */
  NlLinkDir down; /* network → node */
  guint mtu;      /* bytes; 0 = 1500 */
} NlLinkProps;

#define NL_DEFAULT_MTU 1500
#define NL_DEFAULT_QUEUE 100

/* A packet in flight.  One owner at a time: the link that carries it, then
 * the node that receives it, then whatever the node hands it to.  (A new
 * packet's fields are set one by one in net.c's packet_alloc: a field
 * added here is set there.)
 *
 * What a hop reads and writes is in the first two lines (net.c keeps a
 * packet 64-byte aligned, its bytes from the fourth line on): the first
 * holds the arrival event, which the event loop reads, and what the hop
 * asks first (where to, the stage, the length, whether the kept header
 * holds); the second the bytes' address, the sender, the transmission id
 * and the kept IPv4 header.  The third is its last owner's and the
 * block's: a forwarding node (a NAT) does not touch it. */
struct NlPacket {
  NlEvent ev;     /* private: arrival of the current hop */
  NlIface *to;    /* current hop's receiver (and @from its sender) */
  guint len;      /* bytes in data */
  guint8 stage;   /* private */
  /* The IPv4 header of data as nl_ip4_parse reads it, when ip4_ok (see
   * nl_packet_ip4): read once where the packet starts and kept with it
   * from hop to hop.  Whoever changes data's IPv4 header (a prerouting
   * hook: a NAT) updates ip4 or clears ip4_ok.  With ip4_ok, udp_sum_ok
   * says that a UDP datagram's checksum is known right: its builder
   * computed it, and whoever changes what it covers (a NAT) updates it as
   * the NAT does or clears ip4_ok.  tcp_sum_ok says the same of a TCP
   * segment's checksum (the TCP engine's segments: the receiving engine
   * then does not sum the payload again; a NAT's RFC 1624 updates keep a
   * right checksum right).  Packets from anywhere else (a raw socket, a
   * reassembly, new bytes) have neither and are checked in full.
   * (Booleans.) */
  guint8 ip4_ok;
  guint8 udp_sum_ok;
  guint8 tcp_sum_ok;
  guint8 *data;   /* IPv4 packet */
  NlIface *from;
  uint64_t id;    /* current hop's transmission id */
  NlTime sent_out;       /* private: when its last bit left @from */
  NlIp4Header ip4;
  guint cap;
  /* Its last owner's, never the network's: a UDP socket's receive queue
   * keeps the delivered packet itself (sim/host/vsock.c), linked through
   * @owner_next, its payload @owner_len bytes at @owner_off in data. */
  NlPacket *owner_next;
  guint owner_off, owner_len;
  /* Holders of its bytes besides its owner (nl_packet_share). */
  guint shares;
  guint reg;             /* private: its block's place in net.c's registry */
  NlNode *loop;          /* private: the node of a loopback packet */
  gint size_class; /* private: which kept size its block is, or -1 (net.c) */
};

/* What a node's upper layers do with packets.  All optional. */
typedef struct {
  /* Sees every packet that arrives on @in before routing (a NAT
   * translates here).  Returns NL_DROP_NONE to go on, with @pkt possibly
   * rewritten; otherwise the reason to drop it (the caller records the
   * drop and frees the packet). */
  NlDropReason (*prerouting)(void *data, NlNode *node, NlIface *in,
                             NlPacket *pkt);
  /* A packet addressed to this node (fragments reassembled).  Takes
   * ownership of @pkt.  Without this hook, UDP and TCP get an ICMP port
   * unreachable (as an unbound port does) and ICMP errors are dropped. */
  void (*local_in)(void *data, NlNode *node, NlPacket *pkt);
  void *data;
} NlNodeHooks;

/* ---- the world ---- */

/**
 * nl_world_new: (transfer full) an empty world whose randomness derives
 * from @seed.
 */
NlWorld *nl_world_new(uint64_t seed);
void nl_world_free(NlWorld *w);
NlEventQueue *nl_world_queue(NlWorld *w);
NlTrace *nl_world_trace(NlWorld *w);
uint64_t nl_world_seed(const NlWorld *w);
NlTime nl_world_now(const NlWorld *w);

/* Private, for the inline accessors below (the clock and the trace are
 * read for every packet and call): the world's first two fields. */
struct NlWorldHead {
  NlEventQueue *queue;
  NlTrace *trace;
};
static inline NlEventQueue *nl__world_queue_inline(const NlWorld *w) {
  return ((const struct NlWorldHead *)(const void *)w)->queue;
}
static inline NlTrace *nl__world_trace_inline(const NlWorld *w) {
  return ((const struct NlWorldHead *)(const void *)w)->trace;
}
static inline NlTime nl__world_now_inline(const NlWorld *w) {
  return nl_event_now(nl__world_queue_inline(w));
}
#define nl_world_queue(w) nl__world_queue_inline(w)
#define nl_world_trace(w) nl__world_trace_inline(w)
#define nl_world_now(w) nl__world_now_inline(w)

NlNode *nl_world_find_node(const NlWorld *w, const char *name);
NlNetwork *nl_world_find_network(const NlWorld *w, const char *name);
guint nl_world_n_nodes(const NlWorld *w);
NlNode *nl_world_node(const NlWorld *w, guint i); /* declaration order */

/* Names for name lookup (getaddrinfo): @name resolves to @addr.  A name
 * added again with another address gets that one as an alternative (a
 * node with several addresses): the first is its public one. */
void nl_world_add_name(NlWorld *w, const char *name, uint32_t addr);
/* OUT: @addr, the first address of @name.  FALSE when @name is unknown. */
gboolean nl_world_lookup_name(const NlWorld *w, const char *name,
                              uint32_t *addr);
/**
 * nl_world_lookup_name_from: @name as node @from (NULL: anyone) asks for
 * it: of the name's addresses, the first on a network @from is on (a NAT's
 * inside address for a host on its inside), else the first one (for a NAT,
 * its outside address).  OUT: @addr.  FALSE when @name is unknown.
 */
gboolean nl_world_lookup_name_from(const NlWorld *w, const NlNode *from,
                                   const char *name, uint32_t *addr);
/* The first name registered for @addr, or NULL. */
const char *nl_world_name_of(const NlWorld *w, uint32_t addr);

/* Blocks (or unblocks) every packet between nodes @a and @b: on a hop
 * between them, and on any hop of a packet whose source and destination
 * addresses are theirs (so routers in between do not help). */
void nl_world_partition(NlWorld *w, NlNode *a, NlNode *b, gboolean blocked);

/* Packet counters for benchmarks and stats. */
typedef struct {
  uint64_t sent, received, dropped, forwarded, delivered;
} NlNetStats;
void nl_world_stats(const NlWorld *w, NlNetStats *out);

/* ---- networks ---- */

NlNetwork *nl_network_new(NlWorld *w, const char *name);
/* Adds a prefix carried by the segment. */
void nl_network_add_prefix(NlNetwork *n, uint32_t addr, guint len);
const char *nl_network_name(const NlNetwork *n);
/* Whether @addr falls in one of @n's prefixes. */
gboolean nl_network_contains(const NlNetwork *n, uint32_t addr);

/* ---- nodes ---- */

NlNode *nl_node_new(NlWorld *w, const char *name, NlNodeKind kind);
const char *nl_node_name(const NlNode *n);
NlNodeKind nl_node_kind(const NlNode *n);
NlWorld *nl_node_world(const NlNode *n);
guint32 nl_node_trace_id(const NlNode *n);
/* The node's own random stream for @purpose ("tcp-isn", "ports"...). */
void nl_node_rand(const NlNode *n, const char *purpose, NlRand *out);

void nl_node_set_hooks(NlNode *n, const NlNodeHooks *hooks);
/* Routers and NATs forward; hosts do not. */
void nl_node_set_forwarding(NlNode *n, gboolean on);
/* A node that is down drops what arrives (HOST_DOWN) and sends nothing:
 * going down, it loses what its transmitters had not sent out yet (the
 * packet being serialised and those queued behind it), each with a drop
 * record; packets already on the wire still arrive. */
void nl_node_set_up(NlNode *n, gboolean up);
gboolean nl_node_is_up(const NlNode *n);

/**
 * nl_node_attach: links @n to network @net with address @addr.
 * Returns: (transfer none) the interface.
 */
NlIface *nl_node_attach(NlNode *n, NlNetwork *net, uint32_t addr,
                        const NlLinkProps *props);
guint nl_node_n_ifaces(const NlNode *n);
NlIface *nl_node_iface(const NlNode *n, guint i);
NlIface *nl_node_find_iface(const NlNode *n, const char *network_name);
/* Whether @addr is one of @n's interface addresses. */
gboolean nl_node_has_addr(const NlNode *n, uint32_t addr);

/* A static route: @prefix/@len via gateway @via, which must be on one of
 * @n's networks (routes through other gateways are ignored). */
void nl_node_add_route(NlNode *n, uint32_t prefix, guint len, uint32_t via);

/**
 * nl_node_route: longest-prefix match.
 * OUT: @iface and @next_hop (the gateway, or @dst when on-link).
 * Returns: FALSE when there is no route.
 */
gboolean nl_node_route(const NlNode *n, uint32_t dst, NlIface **iface,
                       uint32_t *next_hop);

/* Where a datagram @n originates to an IPv4 destination leaves from: its
 * source address and first hop, as a socket picks them, kept for the next
 * datagram to the same destination while no address, route or prefix of
 * the world changes (its epoch).  Zeroed: empty. */
typedef struct {
  /* What a datagram's send reads, in 32 bytes (a host keeps the route in
   * the second half of a line). */
  uint64_t epoch;    /* the world's when filled; 0 never is */
  uint32_t dst;
  uint32_t src;      /* @dst itself when it is @n's own */
  /* NULL: @dst is @n's own (nl_node_has_addr), or no route (!@ok); not
   * NULL: @ok. */
  NlIface *iface;
  /* The interface on @iface's network that has @next_hop (NULL: none,
   * nobody answers for it), as a hop looks it up: the addresses of a
   * network change only with the epoch. */
  NlIface *neighbour;
  uint32_t next_hop; /* with @iface */
  gboolean ok;       /* FALSE: no route */
} NlSourceRoute;


/**
 * nl_node_source_route: @c for @dst, looked up (nl_node_has_addr, then
 * nl_node_route and the interface's address) unless @c holds it already.
 * Returns: @c->ok.
 */
gboolean nl_node_source_route(NlNode *n, uint32_t dst, NlSourceRoute *c);

/* The next IPv4 identification value for packets @n originates. */
uint16_t nl_node_next_ip_id(NlNode *n);

/**
 * nl_node_send: sends an IPv4 packet that @n originates (checksums done).
 * Returns: 0, or -ENETUNREACH (no route), -EMSGSIZE (larger than the
 * MTU with DF set), -EHOSTDOWN (node down).
 */
int nl_node_send(NlNode *n, const guint8 *pkt, size_t len);
/**
 * nl_node_send_packet: nl_node_send for a packet (transfer full: taken on
 * success and on error) of an IPv4 header already read (@pkt->ip4_ok: its
 * builder filled ip4) or not.  @route (may be NULL): the interface and
 * next hop nl_node_route gave for @pkt's destination since the node's
 * table last changed, when @pkt is not for @n itself.
 */
typedef struct {
  NlIface *iface;
  uint32_t next_hop;
} NlRouteHop;
int nl_node_send_packet(NlNode *n, NlPacket *pkt, const NlRouteHop *route);

/**
 * nl_node_send_udp4: builds a UDP datagram from @src:@sport to
 * @dst:@dport carrying @payload (@plen bytes, at most 65507) in a packet
 * of its own (nl_udp4_build_ip, with @n's next IP identification, @ttl
 * and DF when @df) and sends it from @n as nl_node_send_packet does.
 * @route: NULL to route it as nl_node_send_packet does, or a source
 * route @n keeps for datagrams of an unspecified source address: then
 * @src is ignored, the datagram leaves with the route's (looked up by
 * nl_node_source_route unless kept), and goes straight to its first
 * hop.
 * Returns: 0, or -ENETUNREACH (no route: nothing built, no
 * identification used), -EMSGSIZE, -EHOSTDOWN as nl_node_send_packet.
 */
int nl_node_send_udp4(NlNode *n, NlSourceRoute *route, uint32_t src,
                      uint16_t sport, uint32_t dst, uint16_t dport,
                      const void *payload, size_t plen, uint8_t ttl,
                      gboolean df);

/* Sends an ICMP error from @n about @orig (never about an ICMP error). */
void nl_node_send_icmp_error(NlNode *n, const guint8 *orig, size_t orig_len,
                             uint8_t type, uint8_t code, uint16_t mtu);

/* What a node does with a local packet when no upper layer takes it:
 * answers pings; UDP gets ICMP port unreachable.  Takes @pkt. */
void nl_node_default_local_in(NlNode *n, NlPacket *pkt);

/* Records a delivery of @pkt at @n (PKT_DELIVER); upper layers call it
 * when a socket takes a packet. */
void nl_node_trace_deliver(NlNode *n, const NlPacket *pkt);
/* Records and frees a packet the upper layers drop. */
void nl_node_drop(NlNode *n, NlPacket *pkt, NlDropReason why);

/* Upper-layer state hung on a node (the sockets layer's host stack). */
void nl_node_set_stack(NlNode *n, void *stack, GDestroyNotify destroy);
void *nl_node_stack(const NlNode *n);

/* ---- interfaces (links) ---- */

NlNode *nl_iface_node(const NlIface *i);
NlNetwork *nl_iface_network(const NlIface *i);
uint32_t nl_iface_addr(const NlIface *i);
guint nl_iface_mtu(const NlIface *i);
guint nl_iface_index(const NlIface *i); /* 1-based, as if_nametoindex */
const char *nl_iface_name(const NlIface *i); /* "eth0", "eth1"... */
/* A link going down loses what its transmitter had not sent out yet, as a
 * node going down does (LINK_DOWN). */
void nl_iface_set_up(NlIface *i, gboolean up);
gboolean nl_iface_is_up(const NlIface *i);
void nl_iface_set_props(NlIface *i, const NlLinkProps *props);
const NlLinkProps *nl_iface_props(const NlIface *i);
/* The prefix length of @i's network prefix that holds its address. */
guint nl_iface_prefix_len(const NlIface *i);

/* ---- packets ---- */

/* (transfer full) a packet holding a copy of @len bytes. */
NlPacket *nl_packet_new(const guint8 *data, size_t len);
/* (transfer full) a packet of @len bytes for the caller to write. */
NlPacket *nl_packet_alloc(size_t len);
const char *nl__packet_ip4_read(NlPacket *p);
/**
 * nl_packet_ip4: reads @p's IPv4 header into @p->ip4 unless it is there
 * already (@p->ip4_ok).
 * Returns: NULL, or what nl_ip4_parse says is wrong with it.
 */
static inline const char *nl_packet_ip4(NlPacket *p) {
#ifndef NL_IP4_CACHE_CHECK
  if (G_LIKELY(p->ip4_ok))
    return NULL;
#endif
  return nl__packet_ip4_read(p);
}
/* Whether @p is IPv6 (its version nibble); a packet whose IPv4 header is
 * kept (ip4_ok) is not, without reading its bytes. */
static inline gboolean nl_packet_is_ip6(const NlPacket *p) {
  return !p->ip4_ok && p->len >= 1 && (p->data[0] >> 4) == 6;
}
/* Frees @p, its owner's: unless nl_packet_share gave it other holders,
 * of whom the last to let go (nl_packet_unshare) frees it. */
void nl_packet_free(NlPacket *p);

/* nl_packet_alloc of at most this many bytes keeps them in the packet's
 * own block, where they stay until the packet is freed
 * (nl_packet_set_data gives the packet other bytes, leaving these). */
#define NL_PACKET_BLOCK_MAX 2048

/**
 * nl_packet_share: one more holder of @p's bytes besides its owner (a TCP
 * send queue keeps the bytes of a segment it sent, for a retransmission).
 * The owner goes on as if it were the only one (it hands @p on, frees it
 * with nl_packet_free); the holder lets go with nl_packet_unshare; the
 * last of them frees @p.  Nobody writes the bytes they share (the holder
 * reads only its own, which must lie within the first
 * NL_PACKET_BLOCK_MAX of a packet allocated that size or smaller, and
 * before @p->len) while they share them.
 */
static inline void nl_packet_share(NlPacket *p) {
  p->shares++;
}
/* A holder's nl_packet_free (see nl_packet_share). */
void nl_packet_unshare(NlPacket *p);
/* Replaces @p's bytes with @data (transfer full: g_malloc'd, @cap bytes
 * allocated, @len used). */
void nl_packet_set_data(NlPacket *p, guint8 *data, guint len, guint cap);

/* ---- IPv6 (net6.c) ----
 *
 * A node is dual-stack when its interfaces carry IPv6 addresses beside
 * (or instead of) their IPv4 one: an interface attached with address 0
 * has IPv6 only.  IPv6 follows RFC 8200: links carry at least 1280 bytes,
 * routers never fragment (a packet larger than the next link's MTU is
 * dropped with an ICMPv6 Packet Too Big back to its source), sources
 * fragment with a fragment header, and a node remembers the path MTU a
 * Packet Too Big tells it (RFC 8201) for NL_PMTU6_EXPIRES.  Neighbour
 * discovery is not modelled as packets: as for IPv4 (no ARP), a next hop
 * on the segment answers at once, or the packet is dropped
 * (NO_NEIGHBOUR). */

#define NL_PMTU6_EXPIRES (600 * NL_S) /* net.ipv6.route.mtu_expires */
#define NL_IP6_DEFAULT_HOPS 64        /* net.ipv6.conf.all.hop_limit */

/* Adds an IPv6 prefix carried by the segment. */
void nl_network_add_prefix6(NlNetwork *n, const NlIp6 *prefix, guint len);
gboolean nl_network_contains6(const NlNetwork *n, const NlIp6 *addr);

/* Gives @i the IPv6 address @addr (which no other interface on its
 * segment has). */
void nl_iface_add_addr6(NlIface *i, const NlIp6 *addr);
guint nl_iface_n_addrs6(const NlIface *i);
const NlIp6 *nl_iface_addr6(const NlIface *i, guint k);
/* The prefix length of @i's network IPv6 prefix that holds @addr. */
guint nl_iface_prefix_len6(const NlIface *i, const NlIp6 *addr);

/* Whether @addr is ::1 or one of @n's IPv6 addresses. */
gboolean nl_node_has_addr6(const NlNode *n, const NlIp6 *addr);
/* Whether @n has an IPv6 address other than ::1 (getaddrinfo's
 * AI_ADDRCONFIG), and an IPv4 one other than 127.0.0.1. */
gboolean nl_node_has_ip6(const NlNode *n);
gboolean nl_node_has_ip4(const NlNode *n);

/* A static IPv6 route: @prefix/@len via gateway @via, on one of @n's
 * networks (routes through other gateways are ignored). */
void nl_node_add_route6(NlNode *n, const NlIp6 *prefix, guint len,
                        const NlIp6 *via);
/* Longest-prefix match.  OUT: @iface and @next_hop.  FALSE: no route. */
gboolean nl_node_route6(const NlNode *n, const NlIp6 *dst, NlIface **iface,
                        NlIp6 *next_hop);
/**
 * nl_node_source6: the source address a packet from @n to @dst leaves with
 * (RFC 6724 §5: an address of the outgoing interface, the one sharing the
 * longest prefix with @dst; @dst itself when it is @n's own) and the path
 * MTU towards it (loopback: 65536; else the link's, or less when a Packet
 * Too Big said so).  OUT: @src and @mtu (either may be NULL).
 * Returns: FALSE when there is no route.
 */
gboolean nl_node_source6(NlNode *n, const NlIp6 *dst, NlIp6 *src, guint *mtu);
/* Records a path MTU for @dst (never below 1280, never raised). */
void nl_node_learn_pmtu6(NlNode *n, const NlIp6 *dst, guint mtu);

/**
 * nl_node_send6: sends an IPv6 packet @n originates (checksums done).
 * Larger than the path MTU, it is fragmented here when @may_fragment
 * (RFC 8200 §4.5: the source fragments) and refused otherwise.
 * Returns: 0, or -ENETUNREACH (no route), -EMSGSIZE, -EHOSTDOWN.
 */
int nl_node_send6(NlNode *n, const guint8 *pkt, size_t len,
                  gboolean may_fragment);
/* Sends an ICMPv6 error from @n about @orig (never about an ICMPv6 error
 * or a packet from an unspecified or multicast source); @param: the MTU
 * of a Packet Too Big. */
void nl_node_send_icmp6_error(NlNode *n, const guint8 *orig, size_t orig_len,
                              uint8_t type, uint8_t code, uint32_t param);

/* AAAA names: @name resolves to @addr too (see nl_world_add_name). */
void nl_world_add_name6(NlWorld *w, const char *name, const NlIp6 *addr);
/* OUT: up to @max of @name's IPv6 addresses, in registration order, the
 * first on a network @from (may be NULL) is on moved first.  Returns how
 * many @name has (0 when none). */
guint nl_world_lookup_name6(const NlWorld *w, const NlNode *from,
                            const char *name, NlIp6 *out, guint max);
/* The first name registered for @addr, or NULL. */
const char *nl_world_name_of6(const NlWorld *w, const NlIp6 *addr);

/* DNS64 (RFC 6147): a NAT64 in the world translates 64:ff9b::/96, so an
 * IPv6-only host's resolver answers a name that has only IPv4 addresses
 * with 64:ff9b::a.b.c.d (getaddrinfo). */
void nl_world_set_dns64(NlWorld *w, gboolean on);
gboolean nl_world_dns64(const NlWorld *w);

G_END_DECLS

#endif
