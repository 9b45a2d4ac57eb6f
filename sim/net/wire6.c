/* IPv6 wire formats.  Header layouts follow RFC 8200 (IPv6, its extension
 * headers, §8.1 upper-layer checksums), RFC 4443 (ICMPv6) and RFC 5952
 * (address text). */
#include "sim/net/wire6.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sim/net/wire-priv.h"

/* ---- addresses ---- */

gboolean nl_ip6_is_loopback(const NlIp6 *a) {
  static const NlIp6 one = {.b = {[15] = 1}};
  return nl_ip6_equal(a, &one);
}

gboolean nl_ip6_is_linklocal(const NlIp6 *a) {
  return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

gboolean nl_ip6_is_multicast(const NlIp6 *a) {
  return a->b[0] == 0xff;
}

gboolean nl_ip6_prefix_match(const NlIp6 *a, const NlIp6 *prefix, guint len) {
  if (len > 128)
    len = 128;
  guint bytes = len / 8, bits = len % 8;
  if (memcmp(a->b, prefix->b, bytes) != 0)
    return FALSE;
  if (bits == 0)
    return TRUE;
  guint8 mask = (guint8)(0xff << (8 - bits));
  return (a->b[bytes] & mask) == (prefix->b[bytes] & mask);
}

NlIp6 nl_ip6_masked(const NlIp6 *a, guint len) {
  NlIp6 m = *a;
  for (guint i = 0; i < 16; i++) {
    if (len >= 8 * (i + 1))
      continue;
    guint keep = len > 8 * i ? len - 8 * i : 0;
    m.b[i] &= keep ? (guint8)(0xff << (8 - keep)) : 0;
  }
  return m;
}

guint nl_ip6_hash(gconstpointer p) {
  const NlIp6 *a = p;
  guint h = 2166136261u; /* FNV-1a: fixed, so no order depends on it */
  for (guint i = 0; i < 16; i++)
    h = (h ^ a->b[i]) * 16777619u;
  return h;
}

gboolean nl_ip6_hash_equal(gconstpointer a, gconstpointer b) {
  return nl_ip6_equal(a, b);
}

char *nl_ip6_to_string(const NlIp6 *a, char *buf) {
  if (inet_ntop(AF_INET6, a->b, buf, NL_IP6_STRLEN) == NULL)
    g_strlcpy(buf, "?", NL_IP6_STRLEN);
  return buf;
}

gboolean nl_ip6_from_string(const char *s, NlIp6 *out) {
  NlIp6 a;
  if (inet_pton(AF_INET6, s, a.b) != 1)
    return FALSE;
  *out = a;
  return TRUE;
}

/* ---- headers ---- */

uint32_t nl_ip6_pseudo_sum(const NlIp6 *src, const NlIp6 *dst, uint8_t proto,
                           uint32_t len) {
  uint32_t s = nl_wire_sum(src->b, 16, 0);
  s = nl_wire_sum(dst->b, 16, s);
  uint64_t t = (uint64_t)s + (len >> 16) + (len & 0xffff) + proto;
  while (t >> 32)
    t = (t & 0xffffffffu) + (t >> 32);
  return (uint32_t)t;
}

const char *nl_ip6_parse(const guint8 *pkt, size_t len, NlIp6Header *h) {
  memset(h, 0, sizeof *h);
  if (len < NL_IP6_HDR_LEN)
    return "shorter than an IPv6 header";
  if ((pkt[0] >> 4) != 6)
    return "not IPv6";
  h->tclass = (uint8_t)(((pkt[0] & 0x0f) << 4) | (pkt[1] >> 4));
  h->flow = ((uint32_t)(pkt[1] & 0x0f) << 16) | ((uint32_t)pkt[2] << 8) |
            pkt[3];
  h->payload_len = nl_wire_get16(pkt + 4);
  h->next = pkt[6];
  h->hop_limit = pkt[7];
  memcpy(h->src.b, pkt + 8, 16);
  memcpy(h->dst.b, pkt + 24, 16);
  if (h->payload_len == 0 && h->next == NL_IPPROTO_HOPOPTS)
    return "jumbogram (not carried)";
  if ((size_t)NL_IP6_HDR_LEN + h->payload_len > len)
    return "bad IPv6 payload length";
  size_t end = NL_IP6_HDR_LEN + (size_t)h->payload_len;
  size_t off = NL_IP6_HDR_LEN;
  uint8_t nh = h->next;
  /* RFC 8200 §4.1: at most one of each, hop-by-hop first.  A bound on
   * the walk keeps a hostile chain of headers cheap. */
  for (guint n = 0; n < 8; n++) {
    if (nh == NL_IPPROTO_HOPOPTS || nh == NL_IPPROTO_ROUTING ||
        nh == NL_IPPROTO_DSTOPTS) {
      if (nh == NL_IPPROTO_HOPOPTS && off != NL_IP6_HDR_LEN)
        return "hop-by-hop options header not first";
      if (off + 8 > end)
        return "truncated IPv6 extension header";
      size_t hl = ((size_t)pkt[off + 1] + 1) * 8;
      if (off + hl > end)
        return "truncated IPv6 extension header";
      nh = pkt[off];
      off += hl;
      continue;
    }
    if (nh == NL_IPPROTO_FRAGMENT) {
      if (h->frag)
        return "two IPv6 fragment headers";
      if (off + NL_IP6_FRAG_HDR_LEN > end)
        return "truncated IPv6 fragment header";
      uint16_t fo = nl_wire_get16(pkt + off + 2);
      h->frag = TRUE;
      h->frag_at = (uint16_t)off;
      h->frag_offset = fo & 0xfff8;
      h->mf = (fo & 1) != 0;
      h->frag_id = nl_wire_get32(pkt + off + 4);
      nh = pkt[off];
      off += NL_IP6_FRAG_HDR_LEN;
      if (h->frag_offset != 0)
        break; /* what follows is the middle of the original payload */
      continue;
    }
    break;
  }
  h->proto = nh;
  h->hdr_bytes = (uint16_t)off;
  return NULL;
}

void nl_ip6_write(guint8 *buf, const NlIp6Header *h) {
  buf[0] = (guint8)(0x60 | (h->tclass >> 4));
  buf[1] = (guint8)(((h->tclass & 0x0f) << 4) | ((h->flow >> 16) & 0x0f));
  buf[2] = (guint8)(h->flow >> 8);
  buf[3] = (guint8)h->flow;
  nl_wire_put16(buf + 4, h->payload_len);
  buf[6] = h->next;
  buf[7] = h->hop_limit;
  memcpy(buf + 8, h->src.b, 16);
  memcpy(buf + 24, h->dst.b, 16);
}

static gboolean whole(const NlIp6Header *ip) {
  /* An atomic fragment (offset 0, no MF) is a whole datagram (RFC 8200
   * §4.5). */
  return !ip->frag || (ip->frag_offset == 0 && !ip->mf);
}

size_t nl_udp6_build(guint8 *buf, const NlIp6 *src, uint16_t sport,
                     const NlIp6 *dst, uint16_t dport, const void *payload,
                     size_t plen, uint8_t hop_limit, uint8_t tclass) {
  size_t ulen = NL_UDP_HDR_LEN + plen;
  if (ulen > NL_IP6_MAX_PAYLOAD)
    return 0;
  NlIp6Header h = {.tclass = tclass, .payload_len = (uint16_t)ulen,
                   .next = NL_IPPROTO_UDP, .hop_limit = hop_limit,
                   .src = *src, .dst = *dst};
  nl_ip6_write(buf, &h);
  guint8 *u = buf + NL_IP6_HDR_LEN;
  nl_wire_put16(u, sport);
  nl_wire_put16(u + 2, dport);
  nl_wire_put16(u + 4, (uint16_t)ulen);
  nl_wire_put16(u + 6, 0);
  if (plen)
    memcpy(u + NL_UDP_HDR_LEN, payload, plen);
  uint32_t s = nl_ip6_pseudo_sum(src, dst, NL_IPPROTO_UDP, (uint32_t)ulen);
  uint16_t c = nl_wire_fold(nl_wire_sum(u, ulen, s));
  nl_wire_put16(u + 6, c == 0 ? 0xffff : c);
  return NL_IP6_HDR_LEN + ulen;
}

const char *nl_udp6_parse(const guint8 *pkt, size_t len, const NlIp6Header *ip,
                          NlUdpHeader *out) {
  memset(out, 0, sizeof *out);
  (void)len;
  if (!whole(ip))
    return "a fragment";
  size_t l4 = NL_IP6_HDR_LEN + (size_t)ip->payload_len - ip->hdr_bytes;
  const guint8 *u = pkt + ip->hdr_bytes;
  const char *why = nl__udp_fields(u, l4, out);
  if (why != NULL)
    return why;
  if (nl_wire_get16(u + 6) == 0)
    return "zero UDP checksum"; /* RFC 8200 §8.1: discarded over IPv6 */
  uint32_t s = nl_ip6_pseudo_sum(&ip->src, &ip->dst, NL_IPPROTO_UDP, out->len);
  if (nl_wire_fold(nl_wire_sum(u, out->len, s)) != 0)
    return "bad UDP checksum";
  return NULL;
}

const char *nl_tcp6_parse(const guint8 *pkt, size_t len, const NlIp6Header *ip,
                          NlTcpHeader *out) {
  (void)len;
  if (!whole(ip)) {
    memset(out, 0, sizeof *out);
    return "a fragment";
  }
  size_t l4 = NL_IP6_HDR_LEN + (size_t)ip->payload_len - ip->hdr_bytes;
  uint32_t s = nl_ip6_pseudo_sum(&ip->src, &ip->dst, NL_IPPROTO_TCP,
                                 (uint32_t)l4);
  return nl__tcp_parse(pkt + ip->hdr_bytes, l4, s, out);
}

size_t nl_tcp6_build(guint8 *buf, const NlIp6 *src, const NlIp6 *dst,
                     const NlTcpHeader *h, const void *payload, size_t plen,
                     uint8_t hop_limit, uint8_t tclass) {
  size_t thl = NL_TCP_HDR_LEN + nl_tcp4_options_len(h);
  g_return_val_if_fail(thl + plen <= NL_IP6_MAX_PAYLOAD, 0);
  NlIp6Header ih = {.tclass = tclass, .payload_len = (uint16_t)(thl + plen),
                    .next = NL_IPPROTO_TCP, .hop_limit = hop_limit,
                    .src = *src, .dst = *dst};
  nl_ip6_write(buf, &ih);
  guint8 *t = buf + NL_IP6_HDR_LEN;
  nl__tcp_write(t, h, payload, plen);
  uint32_t s = nl_ip6_pseudo_sum(src, dst, NL_IPPROTO_TCP,
                                 (uint32_t)(thl + plen));
  nl_wire_put16(t + 16, nl_wire_fold(nl_wire_sum(t, thl + plen, s)));
  return NL_IP6_HDR_LEN + thl + plen;
}

size_t nl_icmp6_build_error(guint8 *buf, const NlIp6 *src, uint8_t type,
                            uint8_t code, uint32_t param, const guint8 *orig,
                            size_t orig_len) {
  if (orig_len < NL_IP6_HDR_LEN || (orig[0] >> 4) != 6)
    return 0;
  /* RFC 4443 §2.4 (c): as much of the invoking packet as fits in the
   * minimum MTU. */
  size_t quote = MIN(orig_len, (size_t)NL_IP6_MIN_MTU - NL_IP6_HDR_LEN -
                                   NL_ICMP6_HDR_LEN);
  size_t plen = NL_ICMP6_HDR_LEN + quote;
  NlIp6Header h = {.payload_len = (uint16_t)plen, .next = NL_IPPROTO_ICMPV6,
                   .hop_limit = 64, .src = *src};
  memcpy(h.dst.b, orig + 8, 16);
  nl_ip6_write(buf, &h);
  guint8 *ic = buf + NL_IP6_HDR_LEN;
  ic[0] = type;
  ic[1] = code;
  nl_wire_put16(ic + 2, 0);
  nl_wire_put32(ic + 4, param);
  memcpy(ic + NL_ICMP6_HDR_LEN, orig, quote);
  uint32_t s = nl_ip6_pseudo_sum(src, &h.dst, NL_IPPROTO_ICMPV6,
                                 (uint32_t)plen);
  nl_wire_put16(ic + 2, nl_wire_fold(nl_wire_sum(ic, plen, s)));
  return NL_IP6_HDR_LEN + plen;
}

void nl_ip6_update_l4_checksum(guint8 *pkt, size_t len) {
  NlIp6Header ip;
  if (nl_ip6_parse(pkt, len, &ip) != NULL || !whole(&ip))
    return;
  guint8 *l4 = pkt + ip.hdr_bytes;
  size_t l4len = NL_IP6_HDR_LEN + (size_t)ip.payload_len - ip.hdr_bytes;
  size_t at;
  switch (ip.proto) {
    case NL_IPPROTO_UDP: at = 6; break;
    case NL_IPPROTO_TCP: at = 16; break;
    case NL_IPPROTO_ICMPV6: at = 2; break;
    default: return;
  }
  if (l4len < at + 2)
    return;
  nl_wire_put16(l4 + at, 0);
  uint32_t s = nl_ip6_pseudo_sum(&ip.src, &ip.dst, ip.proto, (uint32_t)l4len);
  uint16_t c = nl_wire_fold(nl_wire_sum(l4, l4len, s));
  if (c == 0 && ip.proto == NL_IPPROTO_UDP)
    c = 0xffff;
  nl_wire_put16(l4 + at, c);
}

/* ---- describing ---- */

static const char *icmp6_name(uint8_t type, uint8_t code) {
  switch (type) {
    case NL_ICMP6_DEST_UNREACH:
      switch (code) {
        case NL_ICMP6_NO_ROUTE: return "no-route";
        case NL_ICMP6_ADMIN_PROHIBITED: return "admin-prohibited";
        case NL_ICMP6_ADDR_UNREACH: return "address-unreachable";
        case NL_ICMP6_PORT_UNREACH: return "port-unreachable";
        default: return "unreachable";
      }
    case NL_ICMP6_PACKET_TOO_BIG: return "packet-too-big";
    case NL_ICMP6_TIME_EXCEEDED:
      return code == NL_ICMP6_REASSEMBLY ? "reassembly-time-exceeded"
                                         : "hop-limit-exceeded";
    case NL_ICMP6_PARAM_PROBLEM: return "parameter-problem";
    case NL_ICMP6_ECHO_REQUEST: return "echo-request";
    case NL_ICMP6_ECHO_REPLY: return "echo-reply";
    case NL_ICMP6_ROUTER_SOLICIT: return "router-solicitation";
    case NL_ICMP6_ROUTER_ADVERT: return "router-advertisement";
    case NL_ICMP6_NEIGHBOUR_SOLICIT: return "neighbour-solicitation";
    case NL_ICMP6_NEIGHBOUR_ADVERT: return "neighbour-advertisement";
    default: return "icmp6";
  }
}

/* " (about UDP [a]:p > [b]:q)" for the packet an ICMPv6 error quotes. */
static void describe_quote(const guint8 *o, size_t olen, GString *out) {
  if (olen < NL_IP6_HDR_LEN || (o[0] >> 4) != 6)
    return;
  char a[NL_IP6_STRLEN], b[NL_IP6_STRLEN];
  NlIp6 s, d;
  memcpy(s.b, o + 8, 16);
  memcpy(d.b, o + 24, 16);
  uint8_t nh = o[6];
  size_t off = NL_IP6_HDR_LEN;
  if (nh == NL_IPPROTO_FRAGMENT && olen >= off + NL_IP6_FRAG_HDR_LEN &&
      (nl_wire_get16(o + off + 2) & 0xfff8) == 0) {
    nh = o[off];
    off += NL_IP6_FRAG_HDR_LEN;
  }
  if ((nh != NL_IPPROTO_UDP && nh != NL_IPPROTO_TCP) || olen < off + 4)
    return;
  g_string_append_printf(out, " (about %s [%s]:%u > [%s]:%u)",
                         nh == NL_IPPROTO_UDP ? "UDP" : "TCP",
                         nl_ip6_to_string(&s, a), nl_wire_get16(o + off),
                         nl_ip6_to_string(&d, b), nl_wire_get16(o + off + 2));
}

void nl_wire_describe6(const guint8 *pkt, size_t len, GString *out) {
  NlIp6Header ip;
  char a[NL_IP6_STRLEN], b[NL_IP6_STRLEN];
  const char *why = nl_ip6_parse(pkt, len, &ip);
  if (why != NULL) {
    g_string_append_printf(out, "malformed (%s) len=%zu", why, len);
    return;
  }
  nl_ip6_to_string(&ip.src, a);
  nl_ip6_to_string(&ip.dst, b);
  size_t l4 = NL_IP6_HDR_LEN + (size_t)ip.payload_len - ip.hdr_bytes;
  if (!whole(&ip)) {
    g_string_append_printf(out,
                           "IPv6 fragment %s > %s proto=%u id=%u off=%u%s "
                           "len=%zu",
                           a, b, ip.proto, ip.frag_id, ip.frag_offset,
                           ip.mf ? " MF" : "", l4);
    return;
  }
  switch (ip.proto) {
    case NL_IPPROTO_UDP: {
      NlUdpHeader u;
      if ((why = nl_udp6_parse(pkt, len, &ip, &u)) != NULL) {
        g_string_append_printf(out, "UDP %s > %s malformed (%s)", a, b, why);
        return;
      }
      g_string_append_printf(out, "UDP [%s]:%u > [%s]:%u len=%u", a, u.sport,
                             b, u.dport, u.len - NL_UDP_HDR_LEN);
      return;
    }
    case NL_IPPROTO_TCP: {
      NlTcpHeader t;
      if ((why = nl_tcp6_parse(pkt, len, &ip, &t)) != NULL) {
        g_string_append_printf(out, "TCP %s > %s malformed (%s)", a, b, why);
        return;
      }
      g_string_append_printf(out, "TCP [%s]:%u > [%s]:%u ", a, t.sport, b,
                             t.dport);
      nl__describe_tcp_flags(t.flags, out);
      g_string_append_printf(out, " seq=%u", t.seq);
      if (t.flags & NL_TCP_ACK)
        g_string_append_printf(out, " ack=%u", t.ack);
      g_string_append_printf(out, " win=%u len=%zu", t.window,
                             l4 - t.hdr_bytes);
      if (t.mss)
        g_string_append_printf(out, " mss=%u", t.mss);
      return;
    }
    case NL_IPPROTO_ICMPV6: {
      const guint8 *ic = pkt + ip.hdr_bytes;
      if (l4 < NL_ICMP6_HDR_LEN) {
        g_string_append_printf(out, "ICMPv6 %s > %s malformed", a, b);
        return;
      }
      g_string_append_printf(out, "ICMPv6 %s > %s %s", a, b,
                             icmp6_name(ic[0], ic[1]));
      if (ic[0] == NL_ICMP6_PACKET_TOO_BIG)
        g_string_append_printf(out, " mtu=%u", nl_wire_get32(ic + 4));
      if (ic[0] < 128)
        describe_quote(ic + NL_ICMP6_HDR_LEN, l4 - NL_ICMP6_HDR_LEN, out);
      return;
    }
    default:
      g_string_append_printf(out, "IPv6 %s > %s proto=%u len=%zu", a, b,
                             ip.proto, l4);
  }
}

static const guint8 nat64_wkp[12] = {0x00, 0x64, 0xff, 0x9b};

NlIp6 nl_ip6_nat64(uint32_t v4) {
  NlIp6 a;
  memcpy(a.b, nat64_wkp, 12);
  nl_wire_put32(a.b + 12, v4);
  return a;
}

gboolean nl_ip6_is_nat64(const NlIp6 *a, uint32_t *v4) {
  if (memcmp(a->b, nat64_wkp, 12) != 0)
    return FALSE;
  if (v4 != NULL)
    *v4 = nl_wire_get32(a->b + 12);
  return TRUE;
}
