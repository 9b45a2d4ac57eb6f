/* Stateful NAT64: see nat64.h. */
#include "natmodels/nat64.h"

#include <string.h>

#include "natmodels/nat.h"
#include "sim/net/wire.h"

struct NlNat64 {
  NlTrace *trace;
  guint32 node;
  GHashTable *by_host; /* NlIp6* -> pool index (1..254) */
  NlIp6 hosts[255];    /* by pool index */
  guint n_hosts;
  uint16_t next_id; /* IPv4 identification of translated packets */
};

NlNat64 *nl_nat64_new(NlTrace *trace, guint32 trace_node_id) {
  NlNat64 *x = g_new0(NlNat64, 1);
  x->trace = trace;
  x->node = trace_node_id;
  x->by_host = g_hash_table_new(nl_ip6_hash, nl_ip6_hash_equal);
  return x;
}

void nl_nat64_free(NlNat64 *x) {
  if (x == NULL)
    return;
  g_hash_table_destroy(x->by_host);
  g_free(x);
}

gboolean nl_nat64_prefix_match(const NlIp6 *a, uint32_t *v4) {
  return nl_ip6_is_nat64(a, v4);
}

NlIp6 nl_nat64_synthesize(uint32_t v4) {
  return nl_ip6_nat64(v4);
}

gboolean nl_nat64_owns(const NlNat64 *x, uint32_t dst) {
  guint i = dst - NL_NAT64_POOL;
  return (dst & 0xffffff00u) == NL_NAT64_POOL && i >= 1 && i <= x->n_hosts;
}

/* The pool address of @host, given on first use; 0 when the pool is full. */
static uint32_t pool_address(NlNat64 *x, NlTime now, const NlIp6 *host) {
  gpointer v = g_hash_table_lookup(x->by_host, host);
  if (v != NULL)
    return NL_NAT64_POOL + GPOINTER_TO_UINT(v);
  if (x->n_hosts >= 254)
    return 0;
  guint i = ++x->n_hosts;
  x->hosts[i] = *host;
  g_hash_table_insert(x->by_host, &x->hosts[i], GUINT_TO_POINTER(i));
  uint32_t a = NL_NAT64_POOL + i;
  if (x->trace != NULL && nl_trace_wants(x->trace, NL_TRACE_NAT_MAP)) {
    char s6[NL_IP6_STRLEN], s4[16];
    nl_trace_addf(x->trace, now, NL_TRACE_NAT_MAP, x->node, 0, 0,
                  NL_NAT_MAP_NEW, "nat64 [%s] is %s on the IPv4 side",
                  nl_ip6_to_string(host, s6), nl_ip4_to_string(a, s4));
  }
  return a;
}

size_t nl_nat64_6to4(NlNat64 *x, NlTime now, const guint8 *in, size_t len,
                     guint8 *out, NlDropReason *why) {
  NlIp6Header ip;
  uint32_t dst4;
  *why = NL_DROP_MALFORMED;
  if (nl_ip6_parse(in, len, &ip) != NULL ||
      !nl_nat64_prefix_match(&ip.dst, &dst4))
    return 0;
  *why = NL_DROP_BLOCKED;
  /* Only an unfragmented packet with no extension header. */
  if (ip.hdr_bytes != NL_IP6_HDR_LEN)
    return 0;
  size_t l4 = len - NL_IP6_HDR_LEN;
  uint8_t proto = ip.proto;
  if (proto == NL_IPPROTO_ICMPV6) {
    if (l4 < 8 || in[NL_IP6_HDR_LEN] != NL_ICMP6_ECHO_REQUEST)
      return 0; /* RFC 7915 §5.2: echo only here */
    proto = NL_IPPROTO_ICMP;
  } else if (proto != NL_IPPROTO_UDP && proto != NL_IPPROTO_TCP) {
    return 0;
  }
  uint32_t src4 = pool_address(x, now, &ip.src);
  if (src4 == 0) {
    *why = NL_DROP_NAT_POOL_EXHAUSTED;
    return 0;
  }
  /* RFC 7915 §5.1: TOS from the traffic class, TTL from the hop limit,
   * DF set, an identification of the translator's. */
  NlIp4Header h = {.tos = ip.tclass,
                   .total_len = (uint16_t)(NL_IP4_HDR_LEN + l4),
                   .id = ++x->next_id,
                   .df = TRUE,
                   .ttl = ip.hop_limit,
                   .proto = proto,
                   .src = src4,
                   .dst = dst4};
  memmove(out + NL_IP4_HDR_LEN, in + NL_IP6_HDR_LEN, l4);
  nl_ip4_write(out, &h);
  if (proto == NL_IPPROTO_ICMP)
    out[NL_IP4_HDR_LEN] = NL_ICMP_ECHO_REQUEST;
  nl_ip4_update_l4_checksum(out, NL_IP4_HDR_LEN + l4);
  *why = NL_DROP_NONE;
  return NL_IP4_HDR_LEN + l4;
}

size_t nl_nat64_4to6(NlNat64 *x, const guint8 *in, size_t len, guint8 *out,
                     NlDropReason *why) {
  NlIp4Header ip;
  *why = NL_DROP_MALFORMED;
  if (nl_ip4_parse(in, len, &ip) != NULL || !nl_nat64_owns(x, ip.dst))
    return 0;
  *why = NL_DROP_BLOCKED;
  if (ip.mf || ip.frag_offset != 0)
    return 0;
  size_t l4 = ip.total_len - ip.ihl_bytes;
  uint8_t next = ip.proto;
  if (next == NL_IPPROTO_ICMP) {
    if (l4 < 8 || in[ip.ihl_bytes] != NL_ICMP_ECHO_REPLY)
      return 0;
    next = NL_IPPROTO_ICMPV6;
  } else if (next != NL_IPPROTO_UDP && next != NL_IPPROTO_TCP) {
    return 0;
  }
  NlIp6Header h = {.tclass = ip.tos,
                   .payload_len = (uint16_t)l4,
                   .next = next,
                   .hop_limit = ip.ttl,
                   .src = nl_nat64_synthesize(ip.src),
                   .dst = x->hosts[ip.dst - NL_NAT64_POOL]};
  nl_ip6_write(out, &h);
  memcpy(out + NL_IP6_HDR_LEN, in + ip.ihl_bytes, l4);
  if (next == NL_IPPROTO_ICMPV6)
    out[NL_IP6_HDR_LEN] = NL_ICMP6_ECHO_REPLY;
  nl_ip6_update_l4_checksum(out, NL_IP6_HDR_LEN + l4);
  *why = NL_DROP_NONE;
  return NL_IP6_HDR_LEN + l4;
}
