/* Shared pieces of the exporters: the error domain and a short packet
 * decode that the timeline labels and the JSON lines both use. */
#include "export/export.h"

#include <string.h>

#include "export/export-priv.h"
#include "sim/net/wire.h"
#include "sim/net/wire6.h"

/* clang-format off */
G_DEFINE_QUARK(natlab-export-error-quark, nl_export_error)
/* clang-format on */

static uint16_t rd16(const guint8 *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const guint8 *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* RFC 5389 §6: the method bits are interleaved with the two class bits
 * (C1 at bit 8, C0 at bit 4). */
const char *nl__export_stun_name(const guint8 *udp, size_t len, char *buf) {
  static const char *const classes[] = {"request", "indication",
                                        "success response", "error response"};
  if (len < 20 || (udp[0] & 0xc0) != 0 || rd32(udp + 4) != 0x2112A442u)
    return NULL;
  uint16_t mlen = rd16(udp + 2);
  if ((mlen & 3) != 0 || (size_t)mlen + 20 > len)
    return NULL;
  uint16_t type = rd16(udp);
  unsigned cls = ((type >> 7) & 2) | ((type >> 4) & 1);
  unsigned method =
      (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const char *proto = "TURN", *name;
  switch (method) {
    case 0x001:
      name = "Binding";
      proto = "STUN";
      break;
    case 0x003: name = "Allocate"; break;
    case 0x004: name = "Refresh"; break;
    case 0x006: name = "Send"; break;
    case 0x007: name = "Data"; break;
    case 0x008: name = "CreatePermission"; break;
    case 0x009: name = "ChannelBind"; break;
    case 0x00a: name = "Connect"; break;
    case 0x00b: name = "ConnectionBind"; break;
    case 0x00c: name = "ConnectionAttempt"; break;
    default:
      g_snprintf(buf, 48, "STUN method 0x%03x %s", method, classes[cls]);
      return buf;
  }
  g_snprintf(buf, 48, "%s %s %s", proto, name, classes[cls]);
  return buf;
}

static void pkt_info6(const guint8 *pkt, size_t len, NlPktInfo *info) {
  NlIp6Header ip;
  if (nl_ip6_parse(pkt, len, &ip) != NULL)
    return;
  info->ip = info->v6 = TRUE;
  info->proto = ip.proto;
  info->ttl = ip.hop_limit;
  info->src6 = ip.src;
  info->dst6 = ip.dst;
  size_t end = MIN(len, (size_t)NL_IP6_HDR_LEN + ip.payload_len);
  size_t l4len = end > ip.hdr_bytes ? end - ip.hdr_bytes : 0;
  const guint8 *l4 = pkt + ip.hdr_bytes;
  if (ip.frag && (ip.frag_offset != 0 || ip.mf)) {
    info->fragment = TRUE;
    info->payload_len = (uint32_t)l4len;
    return;
  }
  switch (ip.proto) {
    case NL_IPPROTO_UDP: {
      NlUdpHeader u;
      if (nl_udp6_parse(pkt, len, &ip, &u) != NULL)
        return;
      info->l4 = TRUE;
      info->sport = u.sport;
      info->dport = u.dport;
      info->payload_len = u.len - NL_UDP_HDR_LEN;
      info->app = nl__export_stun_name(l4 + NL_UDP_HDR_LEN, info->payload_len,
                                       info->app_buf);
      return;
    }
    case NL_IPPROTO_TCP: {
      NlTcpHeader t;
      if (nl_tcp6_parse(pkt, len, &ip, &t) != NULL)
        return;
      info->l4 = TRUE;
      info->sport = t.sport;
      info->dport = t.dport;
      info->tcp_flags = t.flags;
      info->tcp_seq = t.seq;
      info->tcp_ack = t.ack;
      info->payload_len = (uint32_t)(l4len - t.hdr_bytes);
      return;
    }
    case NL_IPPROTO_ICMPV6:
      if (l4len < NL_ICMP6_HDR_LEN)
        return;
      info->l4 = TRUE;
      info->icmp_type = l4[0];
      info->icmp_code = l4[1];
      info->payload_len = (uint32_t)(l4len - NL_ICMP6_HDR_LEN);
      return;
    default: info->payload_len = (uint32_t)l4len; return;
  }
}

void nl__export_pkt_info(const guint8 *pkt, size_t len, NlPktInfo *info) {
  NlIp4Header ip;
  memset(info, 0, sizeof *info);
  if (pkt != NULL && len >= 1 && (pkt[0] >> 4) == 6) {
    pkt_info6(pkt, len, info);
    return;
  }
  if (pkt == NULL || nl_ip4_parse(pkt, len, &ip) != NULL)
    return;
  info->ip = TRUE;
  info->proto = ip.proto;
  info->ttl = ip.ttl;
  info->src = ip.src;
  info->dst = ip.dst;
  if (ip.frag_offset != 0 || ip.mf) {
    info->fragment = TRUE;
    info->payload_len = ip.total_len - ip.ihl_bytes;
    return;
  }
  const guint8 *l4 = pkt + ip.ihl_bytes;
  size_t l4len = ip.total_len - ip.ihl_bytes;
  switch (ip.proto) {
    case NL_IPPROTO_UDP: {
      NlUdpHeader u;
      if (nl_udp4_parse(pkt, len, &ip, &u) != NULL)
        return;
      info->l4 = TRUE;
      info->sport = u.sport;
      info->dport = u.dport;
      info->payload_len = u.len - NL_UDP_HDR_LEN;
      info->app = nl__export_stun_name(l4 + NL_UDP_HDR_LEN, info->payload_len,
                                       info->app_buf);
      return;
    }
    case NL_IPPROTO_TCP: {
      NlTcpHeader t;
      if (nl_tcp4_parse(pkt, len, &ip, &t) != NULL)
        return;
      info->l4 = TRUE;
      info->sport = t.sport;
      info->dport = t.dport;
      info->tcp_flags = t.flags;
      info->tcp_seq = t.seq;
      info->tcp_ack = t.ack;
      info->payload_len = (uint32_t)(l4len - t.hdr_bytes);
      return;
    }
    case NL_IPPROTO_ICMP:
      if (l4len < NL_ICMP_HDR_LEN)
        return;
      info->l4 = TRUE;
      info->icmp_type = l4[0];
      info->icmp_code = l4[1];
      info->payload_len = (uint32_t)(l4len - NL_ICMP_HDR_LEN);
      return;
    default: info->payload_len = (uint32_t)l4len; return;
  }
}

void nl__export_tcp_flags(uint8_t flags, GString *out) {
  static const struct {
    uint8_t bit;
    const char *name;
  } names[] = {{NL_TCP_SYN, "SYN"}, {NL_TCP_FIN, "FIN"}, {NL_TCP_RST, "RST"},
               {NL_TCP_PSH, "PSH"}, {NL_TCP_ACK, "ACK"}, {NL_TCP_URG, "URG"}};
  gboolean first = TRUE;
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    if (!(flags & names[i].bit))
      continue;
    if (!first)
      g_string_append_c(out, ',');
    g_string_append(out, names[i].name);
    first = FALSE;
  }
  if (first)
    g_string_append(out, "none");
}

void nl__export_endpoint(const NlPktInfo *info, gboolean source, GString *out) {
  char a[NL_IP6_STRLEN];
  gboolean port = info->l4 && (info->proto == NL_IPPROTO_UDP ||
                               info->proto == NL_IPPROTO_TCP);
  if (info->v6) {
    nl_ip6_to_string(source ? &info->src6 : &info->dst6, a);
    g_string_append_printf(out, port ? "[%s]" : "%s", a);
  } else {
    nl_ip4_to_string(source ? info->src : info->dst, a);
    g_string_append(out, a);
  }
  if (port)
    g_string_append_printf(out, ":%u", source ? info->sport : info->dport);
}

static const char *icmp6_name(const NlPktInfo *i) {
  switch (i->icmp_type) {
    case NL_ICMP6_ECHO_REQUEST: return "echo request";
    case NL_ICMP6_ECHO_REPLY: return "echo reply";
    case NL_ICMP6_PACKET_TOO_BIG: return "packet too big";
    case NL_ICMP6_TIME_EXCEEDED: return "time exceeded";
    case NL_ICMP6_PARAM_PROBLEM: return "parameter problem";
    case NL_ICMP6_DEST_UNREACH:
      switch (i->icmp_code) {
        case NL_ICMP6_NO_ROUTE: return "no route";
        case NL_ICMP6_ADMIN_PROHIBITED: return "admin prohibited";
        case NL_ICMP6_ADDR_UNREACH: return "address unreachable";
        case NL_ICMP6_PORT_UNREACH: return "port unreachable";
        default: return "unreachable";
      }
    default: return "message";
  }
}

static const char *icmp_name(const NlPktInfo *i) {
  switch (i->icmp_type) {
    case NL_ICMP_ECHO_REPLY: return "echo reply";
    case NL_ICMP_ECHO_REQUEST: return "echo request";
    case NL_ICMP_TIME_EXCEEDED: return "time exceeded";
    case NL_ICMP_DEST_UNREACH:
      switch (i->icmp_code) {
        case NL_ICMP_NET_UNREACH: return "net unreachable";
        case NL_ICMP_HOST_UNREACH: return "host unreachable";
        case NL_ICMP_PORT_UNREACH: return "port unreachable";
        case NL_ICMP_FRAG_NEEDED: return "frag needed";
        case NL_ICMP_ADMIN_PROHIBITED: return "admin prohibited";
        default: return "unreachable";
      }
    default: return "message";
  }
}

void nl__export_pkt_label(const NlPktInfo *info, const guint8 *pkt, size_t len,
                          GString *out) {
  if (!info->ip) {
    g_string_append_printf(out, "malformed packet (%zu B)", len);
    return;
  }
  if (info->fragment || !info->l4) {
    /* Fragments and unparsed transports get the addresses only. */
    g_string_append_printf(out, "%s%s ", info->v6 ? "IPv6" : "IPv4",
                           info->fragment ? " fragment" : "");
    nl__export_endpoint(info, TRUE, out);
    g_string_append(out, " → ");
    nl__export_endpoint(info, FALSE, out);
    g_string_append_printf(out, " (%u B)", info->payload_len);
    return;
  }
  switch (info->proto) {
    case NL_IPPROTO_UDP:
      g_string_append(out, info->app ? info->app : "UDP");
      break;
    case NL_IPPROTO_TCP: g_string_append(out, "TCP"); break;
    default:
      if (info->v6)
        g_string_append_printf(out, "ICMPv6 %s", icmp6_name(info));
      else
        g_string_append_printf(out, "ICMP %s", icmp_name(info));
      break;
  }
  g_string_append_c(out, ' ');
  nl__export_endpoint(info, TRUE, out);
  g_string_append(out, " → ");
  nl__export_endpoint(info, FALSE, out);
  if (info->proto == NL_IPPROTO_TCP) {
    g_string_append(out, " [");
    nl__export_tcp_flags(info->tcp_flags, out);
    g_string_append_c(out, ']');
  }
  if (info->proto == NL_IPPROTO_UDP && info->app == NULL)
    g_string_append_printf(out, " (%u B)", info->payload_len);
  else if (info->proto == NL_IPPROTO_TCP && info->payload_len > 0)
    g_string_append_printf(out, " (%u B)", info->payload_len);
  (void)pkt;
}

gunichar nl__export_next_char(const guint8 **p, const guint8 *end) {
  if (**p == 0) {
    /* A NUL byte is a character of its own (g_utf8_get_char_validated
     * calls it invalid). */
    *p += 1;
    return 0;
  }
  gunichar c = g_utf8_get_char_validated((const char *)*p, end - *p);
  if (c == (gunichar)-1 || c == (gunichar)-2) {
    *p += 1;
    return 0xFFFD;
  }
  *p = (const guint8 *)g_utf8_next_char((const char *)*p);
  return c;
}
