/* The network layer's IPv6: interface addresses and prefixes, routes,
 * forwarding without fragmentation (RFC 8200 §5: Packet Too Big instead),
 * source fragmentation and reassembly (§4.5), path MTUs (RFC 8201),
 * ICMPv6 errors and echo (RFC 4443), and AAAA names.
 *
 * The routing table has the IPv4 table's shape (connected routes from the
 * segment's prefixes, static routes through an on-link gateway, longest
 * prefix first, connected before static at equal length), so whatever
 * index speeds up one serves the other. */
#include "sim/net/net-priv.h"

#include <errno.h>
#include <string.h>

#include "sim/net/wire6.h"

#define REASM6_TIMEOUT (60 * NL_S) /* Linux ip6frag_time */

typedef struct {
  guint mtu;
  NlTime expires;
} NlPmtu6;

typedef struct {
  NlIp6 src, dst;
  uint32_t id;
} Reasm6Key;

typedef struct {
  Reasm6Key key;
  NlNode *node;
  NlEvent timer;
  guint8 *data;   /* the fragmentable part, reassembled */
  guint8 *have;   /* one bit per 8-byte block */
  guint total;    /* its length once the last fragment came, else 0 */
  guint8 *first;  /* the first fragment (offset 0), as it came */
  guint first_len;
  guint8 *sample; /* the first fragment that arrived, for the drop record */
  guint sample_len;
} Reasm6;

static guint reasm6_hash(gconstpointer k) {
  const Reasm6Key *r = k;
  return nl_ip6_hash(&r->src) * 31u + nl_ip6_hash(&r->dst) * 17u + r->id;
}

static gboolean reasm6_equal(gconstpointer a, gconstpointer b) {
  const Reasm6Key *x = a, *y = b;
  return x->id == y->id && nl_ip6_equal(&x->src, &y->src) &&
         nl_ip6_equal(&x->dst, &y->dst);
}

static void reasm6_free(gpointer p) {
  Reasm6 *r = p;
  nl_event_cancel(r->node->world->queue, &r->timer);
  g_free(r->data);
  g_free(r->have);
  g_free(r->first);
  g_free(r->sample);
  g_free(r);
}

/* ---- lifecycle ---- */

/* A node's IPv6 routes, reassemblies and path MTUs are made on first use
 * (NULL until then): most nodes of a large IPv4 scenario never need them,
 * and they were four allocations and two hash tables a node. */
void nl__node_init6(NlNode *n) {
  (void)n;
}

static void routes6_make(NlNode *n) {
  if (n->table6 != NULL)
    return;
  n->static_routes6 = g_array_new(FALSE, TRUE, sizeof(NlRoute6));
  n->table6 = g_array_new(FALSE, TRUE, sizeof(NlRoute6));
}

void nl__node_free6(NlNode *n) {
  if (n->table6 != NULL) {
    g_array_free(n->static_routes6, TRUE);
    g_array_free(n->table6, TRUE);
  }
  if (n->reasm6 != NULL)
    g_hash_table_destroy(n->reasm6);
  if (n->pmtu6 != NULL)
    g_hash_table_destroy(n->pmtu6);
}

void nl__network_init6(NlNetwork *n) {
  n->prefixes6 = g_array_new(FALSE, TRUE, sizeof(NlRoute6));
  n->by_addr6 = g_hash_table_new_full(nl_ip6_hash, nl_ip6_hash_equal, g_free,
                                      NULL);
}

void nl__network_free6(NlNetwork *n) {
  g_array_free(n->prefixes6, TRUE);
  g_hash_table_destroy(n->by_addr6);
}

void nl__world_free6(NlWorld *w) {
  if (w->names6 == NULL)
    return;
  g_hash_table_destroy(w->names6);
  g_array_free(w->name6_order, TRUE);
  g_ptr_array_free(w->name6_list, TRUE);
}

static void all_tables_dirty(NlWorld *w) {
  for (guint i = 0; i < w->nodes->len; i++)
    ((NlNode *)g_ptr_array_index(w->nodes, i))->table6_dirty = TRUE;
}

/* ---- networks and interfaces ---- */

void nl_network_add_prefix6(NlNetwork *n, const NlIp6 *prefix, guint len) {
  g_return_if_fail(len <= 128);
  NlRoute6 r = {.prefix = nl_ip6_masked(prefix, len), .len = len};
  g_array_append_val(n->prefixes6, r);
  all_tables_dirty(n->world);
}

gboolean nl_network_contains6(const NlNetwork *n, const NlIp6 *addr) {
  for (guint i = 0; i < n->prefixes6->len; i++) {
    const NlRoute6 *r = &g_array_index(n->prefixes6, NlRoute6, i);
    if (nl_ip6_prefix_match(addr, &r->prefix, r->len))
      return TRUE;
  }
  return FALSE;
}

void nl_iface_add_addr6(NlIface *i, const NlIp6 *addr) {
  g_return_if_fail(!g_hash_table_contains(i->network->by_addr6, addr));
  if (i->addrs6 == NULL)
    i->addrs6 = g_array_new(FALSE, FALSE, sizeof(NlIp6));
  g_array_append_val(i->addrs6, *addr);
  g_hash_table_insert(i->network->by_addr6, g_memdup2(addr, sizeof *addr), i);
  i->node->table6_dirty = TRUE;
}

guint nl_iface_n_addrs6(const NlIface *i) {
  return i->addrs6 ? i->addrs6->len : 0;
}

const NlIp6 *nl_iface_addr6(const NlIface *i, guint k) {
  g_return_val_if_fail(k < nl_iface_n_addrs6(i), NULL);
  return &g_array_index(i->addrs6, NlIp6, k);
}

guint nl_iface_prefix_len6(const NlIface *i, const NlIp6 *addr) {
  for (guint j = 0; j < i->network->prefixes6->len; j++) {
    const NlRoute6 *r = &g_array_index(i->network->prefixes6, NlRoute6, j);
    if (nl_ip6_prefix_match(addr, &r->prefix, r->len))
      return r->len;
  }
  return 128;
}

/* ---- nodes ---- */

gboolean nl_node_has_addr6(const NlNode *n, const NlIp6 *addr) {
  if (nl_ip6_is_loopback(addr))
    return TRUE;
  for (guint i = 0; i < n->ifaces->len; i++) {
    const NlIface *f = g_ptr_array_index(n->ifaces, i);
    for (guint k = 0; k < nl_iface_n_addrs6(f); k++)
      if (nl_ip6_equal(nl_iface_addr6(f, k), addr))
        return TRUE;
  }
  return FALSE;
}

gboolean nl_node_has_ip6(const NlNode *n) {
  for (guint i = 0; i < n->ifaces->len; i++)
    if (nl_iface_n_addrs6(g_ptr_array_index(n->ifaces, i)) > 0)
      return TRUE;
  return FALSE;
}

gboolean nl_node_has_ip4(const NlNode *n) {
  for (guint i = 0; i < n->ifaces->len; i++)
    if (((const NlIface *)g_ptr_array_index(n->ifaces, i))->addr != 0)
      return TRUE;
  return FALSE;
}

void nl_node_add_route6(NlNode *n, const NlIp6 *prefix, guint len,
                        const NlIp6 *via) {
  g_return_if_fail(len <= 128);
  NlRoute6 r = {.prefix = nl_ip6_masked(prefix, len), .len = len,
                .has_via = TRUE, .via = *via};
  routes6_make(n);
  g_array_append_val(n->static_routes6, r);
  n->table6_dirty = TRUE;
}

static gint route6_cmp(const NlRoute6 *x, const NlRoute6 *y) {
  /* Longest prefix first; connected before static at equal length. */
  if (x->len != y->len)
    return x->len > y->len ? -1 : 1;
  if (x->has_via != y->has_via)
    return x->has_via ? 1 : -1;
  return 0;
}

static void rebuild_table6(NlNode *n) {
  routes6_make(n);
  g_array_set_size(n->table6, 0);
  for (guint i = 0; i < n->ifaces->len; i++) {
    NlIface *f = g_ptr_array_index(n->ifaces, i);
    /* A prefix is on-link for an interface that has an address in it (as
     * Linux adds the prefix route with the address). */
    for (guint j = 0; j < f->network->prefixes6->len; j++) {
      NlRoute6 r = g_array_index(f->network->prefixes6, NlRoute6, j);
      gboolean mine = FALSE;
      for (guint k = 0; k < nl_iface_n_addrs6(f) && !mine; k++)
        mine = nl_ip6_prefix_match(nl_iface_addr6(f, k), &r.prefix, r.len);
      if (!mine)
        continue;
      r.has_via = FALSE;
      r.iface = f;
      g_array_append_val(n->table6, r);
    }
  }
  guint connected = n->table6->len;
  for (guint i = 0; i < n->static_routes6->len; i++) {
    NlRoute6 r = g_array_index(n->static_routes6, NlRoute6, i);
    for (guint j = 0; j < connected; j++) {
      const NlRoute6 *c = &g_array_index(n->table6, NlRoute6, j);
      if (nl_ip6_prefix_match(&r.via, &c->prefix, c->len)) {
        r.iface = c->iface;
        break;
      }
    }
    if (r.iface != NULL)
      g_array_append_val(n->table6, r);
  }
  /* A stable insertion sort, as for IPv4 (tables are small). */
  for (guint i = 1; i < n->table6->len; i++) {
    NlRoute6 key = g_array_index(n->table6, NlRoute6, i);
    guint j = i;
    while (j > 0 &&
           route6_cmp(&key, &g_array_index(n->table6, NlRoute6, j - 1)) < 0) {
      g_array_index(n->table6, NlRoute6, j) =
          g_array_index(n->table6, NlRoute6, j - 1);
      j--;
    }
    g_array_index(n->table6, NlRoute6, j) = key;
  }
  n->table6_dirty = FALSE;
}

gboolean nl_node_route6(const NlNode *cn, const NlIp6 *dst, NlIface **iface,
                        NlIp6 *next_hop) {
  NlNode *n = (NlNode *)cn;
  if (n->table6_dirty)
    rebuild_table6(n);
  for (guint i = 0; n->table6 != NULL && i < n->table6->len; i++) {
    const NlRoute6 *r = &g_array_index(n->table6, NlRoute6, i);
    if (nl_ip6_prefix_match(dst, &r->prefix, r->len)) {
      *iface = r->iface;
      *next_hop = r->has_via ? r->via : *dst;
      return TRUE;
    }
  }
  *iface = NULL;
  memset(next_hop, 0, sizeof *next_hop);
  return FALSE;
}

static guint common_prefix(const NlIp6 *a, const NlIp6 *b) {
  guint n = 0;
  for (guint i = 0; i < 16; i++) {
    guint8 x = a->b[i] ^ b->b[i];
    if (x == 0) {
      n += 8;
      continue;
    }
    while (!(x & 0x80)) {
      x <<= 1;
      n++;
    }
    break;
  }
  return n;
}

static guint pmtu_of(NlNode *n, const NlIp6 *dst, guint link_mtu) {
  NlPmtu6 *p = n->pmtu6 ? g_hash_table_lookup(n->pmtu6, dst) : NULL;
  if (p == NULL)
    return link_mtu;
  if (p->expires <= nl_event_now(n->world->queue)) {
    g_hash_table_remove(n->pmtu6, dst); /* RFC 8201 §4: try larger again */
    return link_mtu;
  }
  return MIN(p->mtu, link_mtu);
}

gboolean nl_node_source6(NlNode *n, const NlIp6 *dst, NlIp6 *src,
                         guint *mtu) {
  if (nl_node_has_addr6(n, dst)) {
    if (src)
      *src = *dst;
    if (mtu)
      *mtu = 65536; /* lo */
    return TRUE;
  }
  NlIface *f;
  NlIp6 nh;
  if (!nl_node_route6(n, dst, &f, &nh) || nl_iface_n_addrs6(f) == 0)
    return FALSE;
  if (src) {
    /* RFC 6724 §5 rule 8: the longest matching prefix. */
    const NlIp6 *best = nl_iface_addr6(f, 0);
    for (guint k = 1; k < nl_iface_n_addrs6(f); k++)
      if (common_prefix(nl_iface_addr6(f, k), dst) > common_prefix(best, dst))
        best = nl_iface_addr6(f, k);
    *src = *best;
  }
  if (mtu)
    *mtu = pmtu_of(n, dst, f->props.mtu);
  return TRUE;
}

void nl_node_learn_pmtu6(NlNode *n, const NlIp6 *dst, guint mtu) {
  /* RFC 8201 §4: never below the minimum link MTU, never raised by a
   * Packet Too Big. */
  mtu = MAX(mtu, (guint)NL_IP6_MIN_MTU);
  NlTime now = nl_event_now(n->world->queue);
  if (n->pmtu6 == NULL)
    n->pmtu6 =
        g_hash_table_new_full(nl_ip6_hash, nl_ip6_hash_equal, g_free, g_free);
  NlPmtu6 *p = g_hash_table_lookup(n->pmtu6, dst);
  if (p != NULL && p->expires > now && p->mtu <= mtu)
    return;
  if (p == NULL) {
    p = g_new0(NlPmtu6, 1);
    g_hash_table_insert(n->pmtu6, g_memdup2(dst, sizeof *dst), p);
  }
  p->mtu = mtu;
  p->expires = now + NL_PMTU6_EXPIRES;
}

/* ---- output ---- */

static void hop_start6(NlIface *f, NlPacket *pkt, const NlIp6 *next_hop) {
  nl__hop_start_to(f, g_hash_table_lookup(f->network->by_addr6, next_hop),
                   pkt);
}

/* The byte that names the header following the unfragmentable part: the
 * fixed header's Next Header, or that of the last extension header
 * before @at. */
static size_t next_header_byte(const guint8 *pkt, size_t at) {
  size_t nh = 6, off = NL_IP6_HDR_LEN;
  while (off < at) {
    nh = off;
    off += ((size_t)pkt[off + 1] + 1) * 8;
  }
  return nh;
}

/* RFC 8200 §4.5: the unfragmentable part (here the fixed header and any
 * hop-by-hop or routing header before the upper layer) on each fragment,
 * then a fragment header, then a multiple of 8 bytes of the rest (the
 * last fragment takes what remains). */
static int fragment_out(NlNode *n, NlIface *f, const guint8 *data, size_t len,
                        const NlIp6Header *ip, const NlIp6 *next_hop,
                        guint mtu) {
  size_t unfrag = ip->hdr_bytes;
  /* Destination options before the upper layer belong to the
   * fragmentable part; lab packets carry none, so the upper-layer header
   * starts the fragmentable part. */
  size_t rest = len - unfrag;
  if (mtu < unfrag + NL_IP6_FRAG_HDR_LEN + 8)
    return -EMSGSIZE;
  size_t step = (mtu - unfrag - NL_IP6_FRAG_HDR_LEN) & ~(size_t)7;
  size_t nhb = next_header_byte(data, unfrag);
  uint32_t id = ++n->frag_id6;
  guint8 *buf = g_malloc(mtu);
  for (size_t off = 0; off < rest; off += step) {
    size_t k = MIN(step, rest - off);
    memcpy(buf, data, unfrag);
    buf[nhb] = NL_IPPROTO_FRAGMENT;
    nl_wire_put16(buf + 4,
                  (uint16_t)(unfrag - NL_IP6_HDR_LEN + NL_IP6_FRAG_HDR_LEN + k));
    guint8 *fh = buf + unfrag;
    fh[0] = ip->proto;
    fh[1] = 0;
    nl_wire_put16(fh + 2,
                  (uint16_t)(off | (off + k < rest ? 1 : 0))); /* M flag */
    nl_wire_put32(fh + 4, id);
    memcpy(fh + NL_IP6_FRAG_HDR_LEN, data + unfrag + off, k);
    hop_start6(f, nl_packet_new(buf, unfrag + NL_IP6_FRAG_HDR_LEN + k),
               next_hop);
  }
  g_free(buf);
  return 0;
}

int nl_node_send6(NlNode *n, const guint8 *data, size_t len,
                  gboolean may_fragment) {
  NlIp6Header ip;
  g_return_val_if_fail(nl_ip6_parse(data, len, &ip) == NULL, -EINVAL);
  if (!n->up)
    return -EHOSTDOWN;
  if (nl_node_has_addr6(n, &ip.dst)) {
    nl__loop_send(n, data, len);
    return 0;
  }
  NlIface *f;
  NlIp6 nh;
  if (!nl_node_route6(n, &ip.dst, &f, &nh))
    return -ENETUNREACH;
  guint mtu = pmtu_of(n, &ip.dst, f->props.mtu);
  if (len <= mtu) {
    hop_start6(f, nl_packet_new(data, len), &nh);
    return 0;
  }
  if (!may_fragment || ip.frag)
    return -EMSGSIZE;
  return fragment_out(n, f, data, len, &ip, &nh, mtu);
}

void nl_node_send_icmp6_error(NlNode *n, const guint8 *orig, size_t orig_len,
                              uint8_t type, uint8_t code, uint32_t param) {
  NlIp6Header oh;
  if (nl_ip6_parse(orig, orig_len, &oh) != NULL)
    return;
  /* RFC 4443 §2.4 (e): not about an ICMPv6 error, nor to a source that
   * names no single node; not about a packet to a multicast address
   * unless it is a Packet Too Big. */
  if (nl_ip6_is_any(&oh.src) || nl_ip6_is_multicast(&oh.src))
    return;
  if (nl_ip6_is_multicast(&oh.dst) && type != NL_ICMP6_PACKET_TOO_BIG)
    return;
  if (oh.proto == NL_IPPROTO_ICMPV6 && oh.frag_offset == 0) {
    size_t l4 = NL_IP6_HDR_LEN + (size_t)oh.payload_len - oh.hdr_bytes;
    if (l4 < 1 || orig[oh.hdr_bytes] < 128)
      return;
  }
  NlIp6 src;
  if (nl_node_has_addr6(n, &oh.src))
    src = oh.dst; /* about our own packet: loopback */
  else if (!nl_node_source6(n, &oh.src, &src, NULL))
    return;
  guint8 buf[NL_IP6_MIN_MTU];
  size_t len = nl_icmp6_build_error(buf, &src, type, code, param, orig,
                                    orig_len);
  if (len > 0)
    nl_node_send6(n, buf, len, FALSE);
}

/* ---- input ---- */

static void reasm6_timeout(NlEvent *ev, void *data) {
  Reasm6 *r = data;
  NlNode *n = r->node;
  (void)ev;
  /* RFC 8200 §4.5: Time Exceeded (reassembly) to the source when the
   * first fragment came, quoting it. */
  if (r->first != NULL)
    nl_node_send_icmp6_error(n, r->first, r->first_len,
                             NL_ICMP6_TIME_EXCEEDED, NL_ICMP6_REASSEMBLY, 0);
  NlPacket *p = nl_packet_new(r->sample, r->sample_len);
  nl_node_drop(n, p, NL_DROP_REASSEMBLY);
  g_hash_table_remove(n->reasm6, &r->key);
}

/* Takes a fragment; returns the whole packet when complete, else NULL. */
static NlPacket *reassemble6(NlNode *n, NlPacket *pkt, const NlIp6Header *ip) {
  Reasm6Key key = {.src = ip->src, .dst = ip->dst, .id = ip->frag_id};
  size_t at = ip->frag_at + NL_IP6_FRAG_HDR_LEN;
  size_t k = NL_IP6_HDR_LEN + (size_t)ip->payload_len - at;
  /* RFC 8200 §4.5: a fragment that is not the last must carry a multiple
   * of 8 bytes; the whole may not pass 65535 bytes. */
  if ((ip->mf && (k % 8) != 0) ||
      (size_t)ip->frag_offset + k > NL_IP6_MAX_PAYLOAD) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return NULL;
  }
  if (n->reasm6 == NULL)
    n->reasm6 =
        g_hash_table_new_full(reasm6_hash, reasm6_equal, NULL, reasm6_free);
  Reasm6 *r = g_hash_table_lookup(n->reasm6, &key);
  if (r == NULL) {
    r = g_new0(Reasm6, 1);
    r->key = key;
    r->node = n;
    r->data = g_malloc(NL_IP6_MAX_PAYLOAD + 8);
    r->have = g_malloc0((NL_IP6_MAX_PAYLOAD + 8) / 64 + 1);
    r->sample = g_memdup2(pkt->data, pkt->len);
    r->sample_len = pkt->len;
    nl_event_init(&r->timer, reasm6_timeout, r);
    nl_event_schedule_in(n->world->queue, &r->timer, REASM6_TIMEOUT);
    g_hash_table_insert(n->reasm6, &r->key, r);
  }
  /* RFC 5722: overlapping fragments drop the whole packet; a duplicate
   * (a link that duplicates) is dropped alone, as Linux does. */
  guint b0 = ip->frag_offset / 8, b1 = (guint)((ip->frag_offset + k + 7) / 8);
  guint seen = 0;
  for (guint b = b0; b < b1; b++)
    seen += (r->have[b / 8] >> (b % 8)) & 1u;
  if (seen > 0 && seen == b1 - b0) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return NULL;
  }
  if (seen > 0 || (r->total != 0 && ip->frag_offset + k > r->total) ||
      (!ip->mf && r->total != 0 && r->total != ip->frag_offset + k)) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    g_hash_table_remove(n->reasm6, &key);
    return NULL;
  }
  memcpy(r->data + ip->frag_offset, pkt->data + at, k);
  for (guint b = b0; b < b1; b++)
    r->have[b / 8] |= (guint8)(1u << (b % 8));
  if (ip->frag_offset == 0) {
    r->first = g_memdup2(pkt->data, pkt->len);
    r->first_len = pkt->len;
  }
  if (!ip->mf)
    r->total = (guint)(ip->frag_offset + k);
  nl_packet_free(pkt);
  if (r->first == NULL || r->total == 0)
    return NULL;
  for (guint b = 0; b < (r->total + 7) / 8; b++)
    if (!(r->have[b / 8] & (1u << (b % 8))))
      return NULL;
  /* The first fragment's unfragmentable part, its Next Header naming what
   * the fragment header named, then the reassembled rest. */
  NlIp6Header fh;
  (void)nl_ip6_parse(r->first, r->first_len, &fh);
  size_t unfrag = fh.frag_at;
  guint8 *buf = g_malloc(unfrag + r->total);
  memcpy(buf, r->first, unfrag);
  buf[next_header_byte(r->first, unfrag)] = r->first[unfrag];
  nl_wire_put16(buf + 4, (uint16_t)(unfrag - NL_IP6_HDR_LEN + r->total));
  memcpy(buf + unfrag, r->data, r->total);
  NlPacket *whole = nl_packet_new(buf, unfrag + r->total);
  g_free(buf);
  g_hash_table_remove(n->reasm6, &key);
  return whole;
}

void nl__default_local_in6(NlNode *n, NlPacket *pkt) {
  NlIp6Header ip;
  if (nl_ip6_parse(pkt->data, pkt->len, &ip) != NULL) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return;
  }
  switch (ip.proto) {
    case NL_IPPROTO_UDP:
      nl_node_send_icmp6_error(n, pkt->data, pkt->len, NL_ICMP6_DEST_UNREACH,
                               NL_ICMP6_PORT_UNREACH, 0);
      nl_node_drop(n, pkt, NL_DROP_PORT_UNREACHABLE);
      return;
    case NL_IPPROTO_TCP: {
      /* Nobody listens: a reset, as Linux's tcp_v6_send_reset. */
      NlTcpHeader th;
      if (nl_tcp6_parse(pkt->data, pkt->len, &ip, &th) != NULL) {
        nl_node_drop(n, pkt, NL_DROP_BAD_CHECKSUM);
        return;
      }
      if (!(th.flags & NL_TCP_RST)) {
        NlTcpHeader r = {.sport = th.dport, .dport = th.sport};
        if (th.flags & NL_TCP_ACK) {
          r.seq = th.ack;
          r.flags = NL_TCP_RST;
        } else {
          uint32_t dlen = (uint32_t)(NL_IP6_HDR_LEN + ip.payload_len -
                                     ip.hdr_bytes - th.hdr_bytes);
          r.ack = th.seq + dlen + ((th.flags & NL_TCP_SYN) ? 1 : 0) +
                  ((th.flags & NL_TCP_FIN) ? 1 : 0);
          r.flags = NL_TCP_RST | NL_TCP_ACK;
        }
        guint8 buf[NL_IP6_HDR_LEN + NL_TCP_HDR_LEN];
        size_t len = nl_tcp6_build(buf, &ip.dst, &ip.src, &r, NULL, 0,
                                   NL_IP6_DEFAULT_HOPS, 0);
        nl_node_drop(n, pkt, NL_DROP_TCP_NO_LISTENER);
        nl_node_send6(n, buf, len, FALSE);
        return;
      }
      nl_node_drop(n, pkt, NL_DROP_TCP_NO_LISTENER);
      return;
    }
    case NL_IPPROTO_ICMPV6: {
      guint8 *ic = pkt->data + ip.hdr_bytes;
      size_t l4 = NL_IP6_HDR_LEN + (size_t)ip.payload_len - ip.hdr_bytes;
      if (l4 >= NL_ICMP6_HDR_LEN && ic[0] == NL_ICMP6_ECHO_REQUEST) {
        /* Answer pings, as every node's kernel does. */
        nl_node_trace_deliver(n, pkt);
        NlIp6 s = ip.src;
        memcpy(pkt->data + 8, ip.dst.b, 16);
        memcpy(pkt->data + 24, s.b, 16);
        pkt->data[7] = NL_IP6_DEFAULT_HOPS;
        ic[0] = NL_ICMP6_ECHO_REPLY;
        nl_ip6_update_l4_checksum(pkt->data, pkt->len);
        nl_node_send6(n, pkt->data, pkt->len, TRUE);
        nl_packet_free(pkt);
        return;
      }
      nl_node_drop(n, pkt, NL_DROP_PORT_UNREACHABLE);
      return;
    }
    default:
      /* RFC 8200 §4: an unrecognised Next Header is a Parameter Problem
       * (code 1) pointing at it. */
      nl_node_send_icmp6_error(n, pkt->data, pkt->len, NL_ICMP6_PARAM_PROBLEM,
                               1, ip.hdr_bytes == NL_IP6_HDR_LEN ? 6 : 0);
      nl_node_drop(n, pkt, NL_DROP_PORT_UNREACHABLE);
  }
}

/* A Packet Too Big for this node: the path MTU to the destination of the
 * packet it quotes (RFC 8201 §4), before any upper layer sees it. */
static void learn_from(NlNode *n, const NlPacket *pkt, const NlIp6Header *ip) {
  size_t l4 = NL_IP6_HDR_LEN + (size_t)ip->payload_len - ip->hdr_bytes;
  const guint8 *ic = pkt->data + ip->hdr_bytes;
  if (ip->proto != NL_IPPROTO_ICMPV6 || l4 < NL_ICMP6_HDR_LEN + NL_IP6_HDR_LEN ||
      ic[0] != NL_ICMP6_PACKET_TOO_BIG)
    return;
  const guint8 *o = ic + NL_ICMP6_HDR_LEN;
  NlIp6 osrc, odst;
  memcpy(osrc.b, o + 8, 16);
  memcpy(odst.b, o + 24, 16);
  if ((o[0] >> 4) != 6 || !nl_node_has_addr6(n, &osrc))
    return;
  nl_node_learn_pmtu6(n, &odst, nl_wire_get32(ic + 4));
}

static void local_in6(NlNode *n, NlPacket *pkt, const NlIp6Header *ip) {
  NlIp6Header h = *ip;
  if (ip->frag && (ip->frag_offset != 0 || ip->mf)) {
    pkt = reassemble6(n, pkt, ip);
    if (pkt == NULL)
      return;
    (void)nl_ip6_parse(pkt->data, pkt->len, &h);
  }
  learn_from(n, pkt, &h);
  if (n->hooks.local_in)
    n->hooks.local_in(n->hooks.data, n, pkt);
  else
    nl__default_local_in6(n, pkt);
}

void nl__node_input6(NlNode *n, NlIface *in, NlPacket *pkt) {
  NlIp6Header ip;
  const char *why = nl_ip6_parse(pkt->data, pkt->len, &ip);
  if (why != NULL) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return;
  }
  if ((size_t)NL_IP6_HDR_LEN + ip.payload_len < pkt->len)
    pkt->len = NL_IP6_HDR_LEN + ip.payload_len; /* link padding */
  if (in != NULL && n->hooks.prerouting) {
    NlDropReason r = n->hooks.prerouting(n->hooks.data, n, in, pkt);
    if (r != NL_DROP_NONE) {
      nl_node_drop(n, pkt, r);
      return;
    }
    if (pkt->len >= 1 && (pkt->data[0] >> 4) == 4) {
      nl__node_route4(n, pkt); /* a NAT64 made it IPv4 */
      return;
    }
  }
  nl__node_route6(n, pkt);
}

void nl__node_route6(NlNode *n, NlPacket *pkt) {
  NlIp6Header ip;
  if (nl_ip6_parse(pkt->data, pkt->len, &ip) != NULL) {
    nl_node_drop(n, pkt, NL_DROP_MALFORMED);
    return;
  }
  if (nl_node_has_addr6(n, &ip.dst)) {
    local_in6(n, pkt, &ip);
    return;
  }
  if (!n->forwarding) {
    nl_node_drop(n, pkt, NL_DROP_NOT_FOR_US);
    return;
  }
  /* RFC 4291 §2.5.6: a link-local destination is never forwarded. */
  if (nl_ip6_is_linklocal(&ip.dst) || nl_ip6_is_linklocal(&ip.src)) {
    nl_node_send_icmp6_error(n, pkt->data, pkt->len, NL_ICMP6_DEST_UNREACH,
                             2 /* beyond scope of source address */, 0);
    nl_node_drop(n, pkt, NL_DROP_NO_ROUTE);
    return;
  }
  if (ip.hop_limit <= 1) {
    nl_node_send_icmp6_error(n, pkt->data, pkt->len, NL_ICMP6_TIME_EXCEEDED,
                             NL_ICMP6_HOP_LIMIT, 0);
    nl_node_drop(n, pkt, NL_DROP_TTL);
    return;
  }
  NlIface *f;
  NlIp6 nh;
  if (!nl_node_route6(n, &ip.dst, &f, &nh)) {
    nl_node_send_icmp6_error(n, pkt->data, pkt->len, NL_ICMP6_DEST_UNREACH,
                             NL_ICMP6_NO_ROUTE, 0);
    nl_node_drop(n, pkt, NL_DROP_NO_ROUTE);
    return;
  }
  /* RFC 8200 §5: routers do not fragment; the source learns the MTU. */
  if (pkt->len > f->props.mtu) {
    nl_node_send_icmp6_error(n, pkt->data, pkt->len, NL_ICMP6_PACKET_TOO_BIG,
                             0, f->props.mtu);
    nl_node_drop(n, pkt, NL_DROP_TOO_BIG);
    return;
  }
  pkt->data[7]--; /* hop limit; IPv6 has no header checksum */
  n->world->stats.forwarded++;
  hop_start6(f, pkt, &nh);
}

/* ---- partitions ---- */

static NlNode *owner_of6(NlWorld *w, const NlIp6 *a) {
  for (guint i = 0; i < w->networks->len; i++) {
    NlNetwork *net = g_ptr_array_index(w->networks, i);
    NlIface *f = g_hash_table_lookup(net->by_addr6, a);
    if (f != NULL)
      return f->node;
  }
  return NULL;
}

gboolean nl__owners6(NlWorld *w, const guint8 *pkt, size_t len, NlNode **a,
                     NlNode **b) {
  if (len < NL_IP6_HDR_LEN)
    return FALSE;
  NlIp6 s, d;
  memcpy(s.b, pkt + 8, 16);
  memcpy(d.b, pkt + 24, 16);
  *a = owner_of6(w, &s);
  *b = owner_of6(w, &d);
  return *a != NULL && *b != NULL;
}

/* ---- names ---- */

void nl_world_add_name6(NlWorld *w, const char *name, const NlIp6 *addr) {
  if (w->names6 == NULL) {
    w->names6 = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)g_array_unref);
    w->name6_order = g_array_new(FALSE, FALSE, sizeof(NlIp6));
    w->name6_list = g_ptr_array_new();
  }
  char *key = g_ascii_strdown(name, -1);
  gpointer orig, v;
  GArray *addrs;
  if (g_hash_table_lookup_extended(w->names6, key, &orig, &v)) {
    g_free(key);
    addrs = v;
    for (guint i = 0; i < addrs->len; i++)
      if (nl_ip6_equal(&g_array_index(addrs, NlIp6, i), addr))
        return;
  } else {
    addrs = g_array_new(FALSE, FALSE, sizeof(NlIp6));
    g_hash_table_insert(w->names6, key, addrs);
    orig = key;
  }
  g_array_append_val(addrs, *addr);
  g_array_append_val(w->name6_order, *addr);
  g_ptr_array_add(w->name6_list, orig);
}

guint nl_world_lookup_name6(const NlWorld *w, const NlNode *from,
                            const char *name, NlIp6 *out, guint max) {
  if (w->names6 == NULL)
    return 0;
  char *key = g_ascii_strdown(name, -1);
  GArray *addrs = g_hash_table_lookup(w->names6, key);
  g_free(key);
  if (addrs == NULL)
    return 0;
  guint n = 0, near = G_MAXUINT;
  for (guint i = 0; from != NULL && i < addrs->len && near == G_MAXUINT; i++)
    for (guint j = 0; j < from->ifaces->len; j++) {
      const NlIface *f = g_ptr_array_index(from->ifaces, j);
      if (nl_iface_n_addrs6(f) > 0 &&
          nl_network_contains6(f->network, &g_array_index(addrs, NlIp6, i))) {
        near = i;
        break;
      }
    }
  if (near != G_MAXUINT && n < max)
    out[n++] = g_array_index(addrs, NlIp6, near);
  for (guint i = 0; i < addrs->len && n < max; i++)
    if (i != near)
      out[n++] = g_array_index(addrs, NlIp6, i);
  return addrs->len;
}

const char *nl_world_name_of6(const NlWorld *w, const NlIp6 *addr) {
  if (w->names6 == NULL)
    return NULL;
  for (guint i = 0; i < w->name6_order->len; i++)
    if (nl_ip6_equal(&g_array_index(w->name6_order, NlIp6, i), addr))
      return g_ptr_array_index(w->name6_list, i);
  return NULL;
}

void nl_world_set_dns64(NlWorld *w, gboolean on) {
  w->dns64 = on;
}

gboolean nl_world_dns64(const NlWorld *w) {
  return w->dns64;
}
