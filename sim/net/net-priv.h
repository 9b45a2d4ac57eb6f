/* Private structures of the network layer (sim/net*.c only). */
#ifndef NL_NET_PRIV_H
#define NL_NET_PRIV_H

#include "sim/net/net.h"

typedef struct {
  NlTime busy_until;   /* when the transmitter frees up */
  NlTime last_arrival; /* keeps jittered packets in order */
  NlTime *departures;  /* ring of departure times of queued packets */
  guint head, count, size;
} NlDirState;

struct NlIface {
  NlNode *node;
  NlNetwork *network;
  uint32_t addr;
  guint index;
  char name[16];
  gboolean up;
  NlLinkProps props;
  NlDirState up_state, down_state;
  NlRand rand;
};

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
  GHashTable *by_addr; /* addr -> NlIface */
};

struct NlNode {
  NlWorld *world;
  char *name;
  guint32 trace_id;
  NlNodeKind kind;
  gboolean forwarding, up;
  GPtrArray *ifaces;
  GArray *static_routes; /* of NlRoute, as declared */
  GArray *table;         /* of NlRoute, longest prefix first */
  gboolean table_dirty;
  uint16_t ip_id;
  NlNodeHooks hooks;
  GHashTable *reasm; /* ReasmKey -> Reasm */
  void *stack;
  GDestroyNotify stack_destroy;
};

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
  uint64_t next_pkt_id;
  NlNetStats stats;
  NlPacket *in_flight; /* packets on links, freed with the world */
};

#endif
