/* NAT devices: the glue between a node's packets and its NlNat. */
#include "natmodels/nat-node.h"

#include "natmodels/fw6.h"
#include "natmodels/nat64.h"
#include "sim/net/wire.h"

/* What every packet reads comes first, in one line (a 64-byte-aligned
 * allocation): with 100 NATs a NAT's is out of the first-level cache at
 * each packet, and the arrays' own headers (their lengths) were a line
 * more each. */
typedef struct {
  NlNat *nat;
  /* The first of each (NULL, 0: none), read for every packet, and how
   * many there are: the arrays only past them. */
  NlIface *inside0;
  uint32_t external0;
  guint n_inside, n_external;
  gboolean translating; /* the behaviour translates (not a firewall) */
  NlNat64 *nat64;    /* NULL unless the behaviour says nat64 */
  NlWorld *world;    /* the node's, and its trace: read for every packet */
  NlTrace *trace;
  /* The rest. */
  GPtrArray *inside; /* NlIface* */
  GArray *external;  /* uint32_t: addresses of the outside interfaces */
  NlFw6 *fw6;        /* IPv6 is filtered, never translated (RFC 6092) */
} NatNode;
G_STATIC_ASSERT(G_STRUCT_OFFSET(NatNode, trace) + sizeof(NlTrace *) <= 64);

static gboolean is_inside(const NatNode *nn, const NlIface *f) {
  if (f == nn->inside0 && f != NULL)
    return TRUE;
  for (guint i = 1; i < nn->n_inside; i++)
    if (g_ptr_array_index(nn->inside, i) == f)
      return TRUE;
  return FALSE;
}

static gboolean is_external(const NatNode *nn, uint32_t addr) {
  if (addr == nn->external0 && nn->n_external > 0)
    return TRUE;
  for (guint i = 1; i < nn->n_external; i++)
    if (g_array_index(nn->external, uint32_t, i) == addr)
      return TRUE;
  return FALSE;
}

static inline NlDropReason translate4(NatNode *nn, NlNode *node,
                                      NlIface *in, NlPacket *pkt);

/* An IPv6 packet: out of line, so that an IPv4 packet's way keeps few
 * registers. */
G_GNUC_NO_INLINE static NlDropReason prerouting6(NatNode *nn, NlNode *node,
                                                 NlIface *in, NlPacket *pkt) {
  /* IPv6 is routed, not translated, through a stateful firewall with the
   * device's filtering (RFC 6092); traffic for the device itself is its
   * own. */
  NlIp6 dst;
  if (pkt->len < NL_IP6_HDR_LEN)
    return NL_DROP_MALFORMED;
  memcpy(dst.b, pkt->data + 24, 16);
  gboolean out = is_inside(nn, in);
  if (!out && nl_node_has_addr6(node, &dst))
    return NL_DROP_NONE;
  NlWorld *w = nl_node_world(node);
  if (out && nn->nat64 != NULL && nl_nat64_prefix_match(&dst, NULL)) {
    /* NAT64: translated to IPv4 from the host's pool address, then
     * through the IPv4 NAT below. */
    NlDropReason why;
    size_t n = nl_nat64_6to4(nn->nat64, nl_world_now(w), pkt->data,
                             pkt->len, pkt->data, &why);
    if (n == 0)
      return why;
    pkt->len = (guint)n;
    pkt->ip4_ok = FALSE; /* new bytes */
    if (nl_packet_ip4(pkt) != NULL)
      return NL_DROP_MALFORMED;
    return translate4(nn, node, in, pkt);
  }
  if (nn->fw6 == NULL)
    nn->fw6 = nl_fw6_new(nl_nat_get_behaviour(nn->nat), nl_world_trace(w),
                         nl_node_trace_id(node));
  return nl_fw6_process(nn->fw6, out ? NL_NAT_OUTBOUND : NL_NAT_INBOUND,
                        nl_world_now(w), pkt->data, pkt->len)
             ? NL_DROP_NONE
             : NL_DROP_FIREWALL;
}

/* A packet whose IPv4 header is not kept: IPv6, or IPv4 to be read. */
G_GNUC_NO_INLINE static NlDropReason prerouting_unread(NatNode *nn,
                                                       NlNode *node,
                                                       NlIface *in,
                                                       NlPacket *pkt) {
  if (nl_packet_is_ip6(pkt))
    return prerouting6(nn, node, in, pkt);
  if (nl_packet_ip4(pkt) != NULL)
    return NL_DROP_MALFORMED;
  return translate4(nn, node, in, pkt);
}

static NlDropReason prerouting(void *data, NlNode *node, NlIface *in,
                               NlPacket *pkt) {
  NatNode *nn = data;
  /* Nearly always kept, by the hop that read it just before: what needs
   * a call is out of line, so that this path keeps no registers. */
  if (G_UNLIKELY(!pkt->ip4_ok))
    return prerouting_unread(nn, node, in, pkt);
  return translate4(nn, node, in, pkt);
}

static NlDropReason translate4_more(NatNode *nn, NlNode *node,
                                    NlPacket *pkt, NlNatDirection dir);

/* An IPv4 packet (its header kept: pkt->ip4) through the NAT: for the
 * device itself, or translated (and, coming back to an IPv6 host of a
 * NAT64, translated to IPv6 after it). */
/* The packet, headed @dir, through the NAT.  The last call, so that
 * nothing is kept across it. */
static inline NlDropReason translate4_go(NatNode *nn, NlNode *node,
                                         NlPacket *pkt, NlNatDirection dir) {
  if (G_UNLIKELY(nn->nat64 != NULL ||
                 nl_trace_wants(nn->trace, NL_TRACE_NAT_XLATE)))
    return translate4_more(nn, node, pkt, dir);
  /* Of the IPv4 header, the NAT changes the addresses only (and the
   * checksum, incrementally): the packet's kept header follows. */
  return nl__nat_translate_ip4(nn->nat, dir, pkt->data, &pkt->ip4);
}

/* translate4's cases that ask the node whether an address is its own (a
 * call): out of line, so that an inbound packet through a NAT keeps no
 * registers across one. */
G_GNUC_NO_INLINE static NlDropReason translate4_asking(NatNode *nn,
                                                       NlNode *node,
                                                       NlPacket *pkt,
                                                       NlNatDirection dir) {
  uint32_t dst = pkt->ip4.dst;
  if (dir == NL_NAT_OUTBOUND) {
    /* Traffic for the device itself (its inside address) is not
     * translated; traffic to its external address is hairpinning. */
    if (nl_node_has_addr(node, dst) && !is_external(nn, dst))
      return NL_DROP_NONE;
  } else {
    /* A firewall (no translation) sees everything headed inside. */
    if (nl_node_has_addr(node, dst))
      return NL_DROP_NONE;
  }
  return translate4_go(nn, node, pkt, dir);
}

/* An IPv4 packet (its header kept: pkt->ip4) through the NAT: for the
 * device itself, or translated (and, coming back to an IPv6 host of a
 * NAT64, translated to IPv6 after it). */
static inline NlDropReason translate4(NatNode *nn, NlNode *node, NlIface *in,
                                      NlPacket *pkt) {
  if (is_inside(nn, in))
    return translate4_asking(nn, node, pkt, NL_NAT_OUTBOUND);
  if (!nn->translating)
    return translate4_asking(nn, node, pkt, NL_NAT_INBOUND);
  /* A NAT sees inbound traffic for its external addresses. */
  if (!is_external(nn, pkt->ip4.dst))
    return NL_DROP_NONE;
  return translate4_go(nn, node, pkt, NL_NAT_INBOUND);
}

/* translate4's translation when the packet may go on to IPv6 (NAT64) or
 * the trace wants the translated packet. */
G_GNUC_NO_INLINE static NlDropReason translate4_more(NatNode *nn,
                                                     NlNode *node,
                                                     NlPacket *pkt,
                                                     NlNatDirection dir) {
  NlDropReason why =
      nl__nat_translate_ip4(nn->nat, dir, pkt->data, &pkt->ip4);
  if (why != NL_DROP_NONE)
    return why;
  /* (Inbound and not dropped: a PASS, as only an outbound packet is
   * hairpinned.) */
  if (dir == NL_NAT_INBOUND && nn->nat64 != NULL &&
      nl_nat64_owns(nn->nat64, nl_wire_get32(pkt->data + 16))) {
    guint8 *buf = g_malloc(MAX((size_t)pkt->len + 20, 64u));
    size_t n = nl_nat64_4to6(nn->nat64, pkt->data, pkt->len, buf, &why);
    if (n == 0) {
      g_free(buf);
      return why;
    }
    nl_packet_set_data(pkt, buf, (guint)n,
                       (guint)MAX((size_t)pkt->len + 20, 64u));
  }
  if (nl_trace_wants(nn->trace, NL_TRACE_NAT_XLATE))
    nl_trace_add(nn->trace, nl_world_now(nn->world), NL_TRACE_NAT_XLATE,
                 nl_node_trace_id(node), 0, pkt->id, 0, pkt->data, pkt->len);
  return NL_DROP_NONE;
}

static void nat_node_free(gpointer p) {
  NatNode *nn = p;
  nl_nat_free(nn->nat);
  nl_fw6_free(nn->fw6);
  nl_nat64_free(nn->nat64);
  g_ptr_array_free(nn->inside, TRUE);
  g_array_free(nn->external, TRUE);
  g_aligned_free(nn);
}

void nl_nat_node_attach(NlNode *node, NlNat *nat, GPtrArray *inside) {
  NatNode *nn = g_aligned_alloc0(1, sizeof(NatNode), 64);
  nn->nat = nat;
  nn->world = nl_node_world(node);
  nn->trace = nl_world_trace(nn->world);
  nn->translating = nl_nat_get_behaviour(nat)->translate;
  nn->inside = g_ptr_array_new();
  nn->external = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  for (guint i = 0; i < inside->len; i++)
    g_ptr_array_add(nn->inside, g_ptr_array_index(inside, i));
  nn->n_inside = nn->inside->len;
  nn->inside0 = nn->n_inside > 0 ? g_ptr_array_index(nn->inside, 0) : NULL;
  for (guint i = 0; i < nl_node_n_ifaces(node); i++) {
    NlIface *f = nl_node_iface(node, i);
    if (!is_inside(nn, f)) {
      uint32_t a = nl_iface_addr(f);
      g_array_append_val(nn->external, a);
    }
  }
  if (nl_nat_get_behaviour(nat)->nat64) {
    nn->nat64 = nl_nat64_new(nl_world_trace(nl_node_world(node)),
                             nl_node_trace_id(node));
    nl_world_set_dns64(nl_node_world(node), TRUE);
  }
  nn->n_external = nn->external->len;
  nn->external0 =
      nn->n_external > 0 ? g_array_index(nn->external, uint32_t, 0) : 0;
  nl_node_set_stack(node, nn, nat_node_free);
  NlNodeHooks hooks = {.prerouting = prerouting, .data = nn};
  nl_node_set_hooks(node, &hooks);
  nl_node_set_forwarding(node, TRUE);
}

NlNat *nl_nat_node_get(NlNode *node) {
  if (nl_node_kind(node) != NL_NODE_NAT &&
      nl_node_kind(node) != NL_NODE_FIREWALL)
    return NULL;
  NatNode *nn = nl_node_stack(node);
  return nn ? nn->nat : NULL;
}
