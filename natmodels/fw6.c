/* The IPv6 stateful firewall: see fw6.h. */
#include "natmodels/fw6.h"

#include <string.h>

#include "sim/net/wire6.h"

typedef struct {
  NlIp6 addr;
  uint16_t port;
} Remote;

typedef struct {
  uint8_t proto;
  uint16_t port;
  NlIp6 addr;
} Key;

typedef struct {
  Key key;
  GArray *remotes; /* Remote */
  NlTime expires;
} Entry;

/* A fragmented datagram whose first fragment was let in: its later
 * fragments (which carry no ports) follow it. */
typedef struct {
  NlIp6 src, dst;
  uint32_t id;
  NlTime expires;
} Frag;

#define FRAG_LIFETIME (60 * NL_S) /* RFC 8200 §4.5's reassembly time */

struct NlFw6 {
  NlNatBehaviour b;
  NlTrace *trace;
  guint32 node;
  GHashTable *entries; /* Key* -> Entry* (the key is inside the entry) */
  GArray *frags;       /* Frag, oldest first */
};

static guint key_hash(gconstpointer p) {
  const Key *k = p;
  return nl_ip6_hash(&k->addr) ^ ((guint)k->port << 8) ^ k->proto;
}

static gboolean key_equal(gconstpointer a, gconstpointer b) {
  const Key *x = a, *y = b;
  return x->proto == y->proto && x->port == y->port &&
         nl_ip6_equal(&x->addr, &y->addr);
}

static void entry_free(gpointer p) {
  Entry *e = p;
  g_array_free(e->remotes, TRUE);
  g_free(e);
}

NlFw6 *nl_fw6_new(const NlNatBehaviour *b, NlTrace *trace,
                  guint32 trace_node_id) {
  NlFw6 *fw = g_new0(NlFw6, 1);
  fw->b = *b;
  fw->trace = trace;
  fw->node = trace_node_id;
  fw->entries = g_hash_table_new_full(key_hash, key_equal, NULL, entry_free);
  fw->frags = g_array_new(FALSE, FALSE, sizeof(Frag));
  return fw;
}

void nl_fw6_free(NlFw6 *fw) {
  if (fw == NULL)
    return;
  g_hash_table_destroy(fw->entries);
  g_array_free(fw->frags, TRUE);
  g_free(fw);
}

void nl_fw6_clear(NlFw6 *fw) {
  g_hash_table_remove_all(fw->entries);
  g_array_set_size(fw->frags, 0);
}

/* Whether a later fragment of (@ip's source, destination, id) follows a
 * first fragment that was let in; forgets the expired ones. */
static gboolean frag_known(NlFw6 *fw, const NlIp6Header *ip, NlTime now) {
  guint keep = 0;
  gboolean found = FALSE;
  for (guint i = 0; i < fw->frags->len; i++) {
    Frag *f = &g_array_index(fw->frags, Frag, i);
    if (now >= f->expires)
      continue;
    found |= f->id == ip->frag_id && nl_ip6_equal(&f->src, &ip->src) &&
             nl_ip6_equal(&f->dst, &ip->dst);
    g_array_index(fw->frags, Frag, keep++) = *f;
  }
  g_array_set_size(fw->frags, keep);
  return found;
}

static void frag_admit(NlFw6 *fw, const NlIp6Header *ip, NlTime now) {
  if (fw->frags->len >= 1024) /* bounded: the oldest goes */
    g_array_remove_index(fw->frags, 0);
  Frag f = {.src = ip->src, .dst = ip->dst, .id = ip->frag_id,
            .expires = now + FRAG_LIFETIME};
  g_array_append_val(fw->frags, f);
}

static const char *proto_name(uint8_t p) {
  return p == NL_IPPROTO_UDP ? "UDP" : p == NL_IPPROTO_TCP ? "TCP" : "ICMPv6";
}

static NlTime lifetime(const NlFw6 *fw, uint8_t proto) {
  if (proto == NL_IPPROTO_UDP)
    return fw->b.udp_timeout;
  if (proto == NL_IPPROTO_TCP)
    return fw->b.tcp_established_timeout;
  return fw->b.icmp_timeout;
}

static void trace_new(NlFw6 *fw, NlTime now, const Key *k, const Remote *r) {
  if (fw->trace == NULL || !nl_trace_wants(fw->trace, NL_TRACE_NAT_MAP))
    return;
  char a[NL_IP6_STRLEN], b[NL_IP6_STRLEN];
  nl_trace_addf(fw->trace, now, NL_TRACE_NAT_MAP, fw->node, 0, 0,
                NL_NAT_MAP_NEW, "new %s [%s]:%u (for [%s]:%u)",
                proto_name(k->proto), nl_ip6_to_string(&k->addr, a), k->port,
                nl_ip6_to_string(&r->addr, b), r->port);
}

/* The live entry of @k, or NULL (an expired one is forgotten). */
static Entry *lookup(NlFw6 *fw, const Key *k, NlTime now) {
  Entry *e = g_hash_table_lookup(fw->entries, k);
  if (e != NULL && now >= e->expires) {
    g_hash_table_remove(fw->entries, k);
    return NULL;
  }
  return e;
}

static gboolean admits(const NlFw6 *fw, const Entry *e, const Remote *r) {
  if (fw->b.filtering == NL_NAT_FILTERING_EIF)
    return TRUE;
  for (guint i = 0; i < e->remotes->len; i++) {
    const Remote *x = &g_array_index(e->remotes, Remote, i);
    if (nl_ip6_equal(&x->addr, &r->addr) &&
        (fw->b.filtering == NL_NAT_FILTERING_ADF || x->port == r->port ||
         e->key.proto == NL_IPPROTO_ICMPV6))
      return TRUE;
  }
  return FALSE;
}

static void outbound(NlFw6 *fw, NlTime now, const Key *k, const Remote *r) {
  Entry *e = lookup(fw, k, now);
  if (e == NULL) {
    e = g_new0(Entry, 1);
    e->key = *k;
    e->remotes = g_array_new(FALSE, FALSE, sizeof(Remote));
    g_hash_table_insert(fw->entries, &e->key, e);
    trace_new(fw, now, k, r);
    e->expires = now + lifetime(fw, k->proto);
  } else if (fw->b.outbound_refresh) {
    e->expires = now + lifetime(fw, k->proto);
  }
  for (guint i = 0; i < e->remotes->len; i++) {
    const Remote *x = &g_array_index(e->remotes, Remote, i);
    if (nl_ip6_equal(&x->addr, &r->addr) && x->port == r->port)
      return;
  }
  g_array_append_val(e->remotes, *r);
}

static gboolean inbound(NlFw6 *fw, NlTime now, const Key *k, const Remote *r,
                        gboolean refresh) {
  Entry *e = lookup(fw, k, now);
  if (e == NULL || !admits(fw, e, r))
    return FALSE;
  if (refresh && fw->b.inbound_refresh)
    e->expires = now + lifetime(fw, k->proto);
  return TRUE;
}

/* The ports (or echo identifier) of the upper layer at @l4 (@n bytes). */
static gboolean ports_of(uint8_t proto, const guint8 *l4, size_t n,
                         uint16_t *sport, uint16_t *dport) {
  if ((proto == NL_IPPROTO_UDP || proto == NL_IPPROTO_TCP) && n >= 4) {
    *sport = nl_wire_get16(l4);
    *dport = nl_wire_get16(l4 + 2);
    return TRUE;
  }
  if (proto == NL_IPPROTO_ICMPV6 && n >= 6 &&
      (l4[0] == NL_ICMP6_ECHO_REQUEST || l4[0] == NL_ICMP6_ECHO_REPLY)) {
    *sport = *dport = nl_wire_get16(l4 + 4);
    return TRUE;
  }
  return FALSE;
}

gboolean nl_fw6_process(NlFw6 *fw, NlNatDirection dir, NlTime now,
                        const guint8 *pkt, size_t len) {
  NlIp6Header ip;
  if (nl_ip6_parse(pkt, len, &ip) != NULL)
    return dir == NL_NAT_OUTBOUND; /* the router drops it as malformed */
  const guint8 *l4 = pkt + ip.hdr_bytes;
  size_t n = len - ip.hdr_bytes;
  gboolean later_fragment = ip.frag && ip.frag_offset != 0;
  uint16_t sport = 0, dport = 0;
  gboolean has_ports =
      !later_fragment && ports_of(ip.proto, l4, n, &sport, &dport);
  if (dir == NL_NAT_OUTBOUND) {
    /* Outbound passes (RFC 6092 §3.2.3: outbound opens), and opens state
     * when it starts or continues a flow. */
    if (has_ports && !(ip.proto == NL_IPPROTO_ICMPV6 &&
                       l4[0] != NL_ICMP6_ECHO_REQUEST)) {
      Key k = {.proto = ip.proto, .port = sport, .addr = ip.src};
      Remote r = {.addr = ip.dst, .port = dport};
      outbound(fw, now, &k, &r);
    }
    return TRUE;
  }
  if (later_fragment)
    return frag_known(fw, &ip, now);
  if (has_ports) {
    if (ip.proto == NL_IPPROTO_ICMPV6 && l4[0] != NL_ICMP6_ECHO_REPLY)
      return FALSE; /* an unsolicited echo request */
    Key k = {.proto = ip.proto, .port = dport, .addr = ip.dst};
    Remote r = {.addr = ip.src, .port = sport};
    if (!inbound(fw, now, &k, &r, TRUE))
      return FALSE;
    if (ip.frag && ip.mf)
      frag_admit(fw, &ip, now);
    return TRUE;
  }
  if (ip.proto == NL_IPPROTO_ICMPV6 && !later_fragment && n >= 8 &&
      l4[0] < 128) {
    /* An error: it passes when the packet it quotes (which left from
     * inside) belongs to a flow the firewall knows. */
    const guint8 *o = l4 + NL_ICMP6_HDR_LEN;
    size_t on = n - NL_ICMP6_HDR_LEN;
    if (on < NL_IP6_HDR_LEN || (o[0] >> 4) != 6)
      return FALSE;
    uint8_t oproto = o[6];
    size_t off = NL_IP6_HDR_LEN;
    if (oproto == NL_IPPROTO_FRAGMENT && on >= off + NL_IP6_FRAG_HDR_LEN) {
      oproto = o[off];
      off += NL_IP6_FRAG_HDR_LEN;
    }
    uint16_t os, od;
    if (!ports_of(oproto, o + off, on - off, &os, &od))
      return FALSE;
    Key k = {.proto = oproto, .port = os};
    Remote r = {.port = od};
    memcpy(k.addr.b, o + 8, 16);
    memcpy(r.addr.b, o + 24, 16);
    /* ICMPv6 errors come from routers on the way, not the remote itself:
     * the flow must exist, whoever reports on it. */
    return lookup(fw, &k, now) != NULL;
  }
  return FALSE;
}
