/* Internals shared by the exporters: a short decode of packet bytes. */
#ifndef NL_EXPORT_PRIV_H
#define NL_EXPORT_PRIV_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/trace.h"
#include "sim/net/wire6.h"

G_BEGIN_DECLS

/* What the exporters need to know about one packet. */
typedef struct {
  gboolean ip;       /* an IPv4 (or, with @v6, IPv6) header parsed */
  gboolean v6;       /* IPv6: @src6 and @dst6, @ttl is the hop limit,
                      * @proto the upper layer after extension headers */
  gboolean l4;       /* the transport header parsed (not a fragment) */
  gboolean fragment; /* a non-first or more-fragments fragment */
  uint8_t proto;
  uint8_t ttl;
  uint32_t src, dst; /* IPv4; 0 for IPv6 */
  NlIp6 src6, dst6;
  uint16_t sport, dport; /* UDP/TCP */
  uint8_t tcp_flags;
  uint8_t icmp_type, icmp_code;
  uint32_t tcp_seq, tcp_ack;
  uint32_t payload_len; /* bytes after the transport header */
  const char *app;      /* "STUN Binding request", or NULL */
  char app_buf[48];
} NlPktInfo;

/* OUT: @info, always set (fields zero when the bytes do not parse). */
void nl__export_pkt_info(const guint8 *pkt, size_t len, NlPktInfo *info);

/* Appends a short label: "UDP 10.0.0.5:5000 → 192.0.2.10:7 (5 B)". */
void nl__export_pkt_label(const NlPktInfo *info, const guint8 *pkt, size_t len,
                          GString *out);

/* Appends "SYN,ACK" style TCP flag names. */
void nl__export_tcp_flags(uint8_t flags, GString *out);

/* Appends "10.0.0.5:5000" or "[2001:db8::5]:5000" (or just the address
 * for ICMP and fragments). */
void nl__export_endpoint(const NlPktInfo *info, gboolean source, GString *out);

/* Names a STUN/TURN message from its UDP payload (RFC 5389 magic cookie
 * 0x2112A442 at offset 4); NULL when it is not one.  @buf holds 48 bytes. */
const char *nl__export_stun_name(const guint8 *udp, size_t len, char *buf);

/* Reads the character at *@p (before @end) and moves past it.  Invalid
 * UTF-8 reads as U+FFFD and moves one byte, so any bytes can be shown. */
gunichar nl__export_next_char(const guint8 **p, const guint8 *end);

/* ---- the world, from the trace (export/world.c) ---- */

typedef struct NlExpNode NlExpNode;

/* One link of a node (a TOPOLOGY LINK record). */
typedef struct {
  NlExpNode *node;
  guint index;   /* interface index (lo is 1) */
  char *ifname;  /* "eth0" */
  char *network; /* the network's name */
  char *addr;    /* "10.0.0.1/24" */
  uint32_t ip;   /* the address, host order */
  guint plen;
  char *role;  /* "link", "inside", "outside" */
  char *props; /* "mtu=1500 latency=1ms ...": what the link line set */
} NlExpLink;

struct NlExpNode {
  guint32 id;         /* interned name */
  const char *name;   /* owned by the trace */
  char *kind;         /* "host", "nat", ...; NULL when never declared */
  GPtrArray *links;   /* NlExpLink, in interface order */
  GPtrArray *routes;  /* char*: "dest=0.0.0.0/0 via=10.0.0.1" */
  GPtrArray *programs; /* char*: programs started there, first start order */
  char *names;        /* "a.example.com,..." or NULL */
  char *nat;          /* "preset=... mapping=..." or NULL */
};

typedef struct {
  char *name;
  char *prefixes; /* "10.0.0.0/24,..." */
  char *props;    /* "latency=5ms ..." */
} NlExpNetwork;

typedef struct {
  const NlTrace *trace;
  gboolean has_topology; /* TOPOLOGY records were found */
  int64_t epoch;         /* programs' CLOCK_REALTIME at time 0, seconds */
  GPtrArray *nodes;      /* NlExpNode, in declaration (first use) order */
  GPtrArray *networks;   /* NlExpNetwork, in scenario order */
  GHashTable *node_by_id;
  /* Traversal roles: the addresses of TURN relays, and of every server
   * (STUN, TURN, signaling, rendezvous); traversal when a STUN or TURN
   * server runs. */
  GArray *relay_addrs;  /* uint32 */
  GArray *server_addrs; /* uint32 */
  gboolean traversal;
} NlExpWorld;

/* Which path of a traversal a packet takes. */
typedef enum {
  NL_EXP_PATH_NONE,   /* no traversal in the run, or not a path packet */
  NL_EXP_PATH_RELAY,  /* to or from a TURN relay */
  NL_EXP_PATH_DIRECT, /* UDP between two peers, no server involved */
  NL_EXP_PATH_SERVER, /* to or from a STUN/signaling server */
} NlExpPath;

NlExpPath nl__export_world_path(const NlExpWorld *w, const NlPktInfo *info);

/* (transfer full) the world @trace describes; free with _free(). */
NlExpWorld *nl__export_world_new(const NlTrace *trace);
void nl__export_world_free(NlExpWorld *w);
NlExpNode *nl__export_world_node(const NlExpWorld *w, guint32 id);
/* The link of @node on a network it shares with @peer (a hop's link on
 * the sender's side), or NULL. */
const NlExpLink *nl__export_world_hop_link(const NlExpWorld *w, guint32 node,
                                           guint32 peer);
/* The link @node would send a packet for @dst out of: on-link first, then
 * the default gateway's; its first link otherwise; NULL when it has none. */
const NlExpLink *nl__export_world_link_for(const NlExpWorld *w, guint32 node,
                                           uint32_t dst);
/* Whether @n ran a program whose name contains @program. */
gboolean nl__export_world_runs(const NlExpNode *n, const char *program);

/* The graphviz context every exporter shares, taken under its lock (see
 * timeline.c): returns the GVC_t *; give it back with _unlock(). */
void *nl__export_graphviz_lock(void);
void nl__export_graphviz_unlock(void);

/* The value of word "KEY=VALUE" in @text, into @buf (@size bytes).
 * Returns: FALSE (and "" in @buf) when there is none. */
gboolean nl__export_kv(const char *text, const char *key, char *buf,
                       gsize size);

G_END_DECLS

#endif
