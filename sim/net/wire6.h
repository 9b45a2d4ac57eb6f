/* IPv6 wire formats: the fixed header (RFC 8200 §3), the extension
 * headers a lab packet carries or a parser must step over (hop-by-hop,
 * routing, destination options, fragment), UDP and TCP over IPv6 with the
 * IPv6 pseudo-header checksum (RFC 8200 §8.1), and ICMPv6 (RFC 4443).
 * Pure functions like wire.h: no simulator state.
 *
 * An IPv6 address is an NlIp6 (16 bytes, network order).  Where one type
 * must hold both families (sockets, names), an IPv4 address is written as
 * its v4-mapped form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), as Linux's
 * dual-stack sockets hold it.
 */
#ifndef NL_WIRE6_H
#define NL_WIRE6_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/net/wire.h"

G_BEGIN_DECLS

#define NL_IP6_HDR_LEN 40
#define NL_IP6_FRAG_HDR_LEN 8
#define NL_ICMP6_HDR_LEN 8
#define NL_IP6_MIN_MTU 1280 /* RFC 8200 §5 */
#define NL_IP6_STRLEN 46    /* INET6_ADDRSTRLEN */
#define NL_IP6_MAX_PAYLOAD 65535

/* Next Header values (IANA protocol numbers). */
enum {
  NL_IPPROTO_HOPOPTS = 0,
  NL_IPPROTO_ROUTING = 43,
  NL_IPPROTO_FRAGMENT = 44,
  NL_IPPROTO_ICMPV6 = 58,
  NL_IPPROTO_NONE = 59,
  NL_IPPROTO_DSTOPTS = 60,
};

/* ICMPv6 types (RFC 4443 §2.1, RFC 4861 §4) and codes natlab produces. */
enum {
  NL_ICMP6_DEST_UNREACH = 1,
  NL_ICMP6_PACKET_TOO_BIG = 2,
  NL_ICMP6_TIME_EXCEEDED = 3,
  NL_ICMP6_PARAM_PROBLEM = 4,
  NL_ICMP6_ECHO_REQUEST = 128,
  NL_ICMP6_ECHO_REPLY = 129,
  NL_ICMP6_ROUTER_SOLICIT = 133,
  NL_ICMP6_ROUTER_ADVERT = 134,
  NL_ICMP6_NEIGHBOUR_SOLICIT = 135,
  NL_ICMP6_NEIGHBOUR_ADVERT = 136,
};
enum {
  NL_ICMP6_NO_ROUTE = 0,         /* Destination Unreachable codes */
  NL_ICMP6_ADMIN_PROHIBITED = 1,
  NL_ICMP6_ADDR_UNREACH = 3,
  NL_ICMP6_PORT_UNREACH = 4,
};
enum {
  NL_ICMP6_HOP_LIMIT = 0, /* Time Exceeded codes */
  NL_ICMP6_REASSEMBLY = 1,
};

typedef struct {
  guint8 b[16];
} NlIp6;

/* A parsed IPv6 header and the extension headers before the upper layer. */
typedef struct {
  uint8_t tclass;
  uint32_t flow;        /* flow label, 20 bits */
  uint16_t payload_len; /* bytes after the fixed header */
  uint8_t next;         /* the fixed header's Next Header field */
  uint8_t hop_limit;
  uint8_t proto;      /* the upper-layer protocol (after the extensions) */
  uint16_t hdr_bytes; /* fixed header + extension headers before it */
  gboolean frag;      /* a fragment header is present */
  uint16_t frag_at;   /* its offset in the packet */
  uint16_t frag_offset; /* bytes */
  gboolean mf;
  uint32_t frag_id;
  NlIp6 src, dst;
} NlIp6Header;

/* ---- addresses ---- */

static inline gboolean nl_ip6_equal(const NlIp6 *a, const NlIp6 *b) {
  return memcmp(a->b, b->b, 16) == 0;
}
/* :: (inline, as the three below: the socket layer asks them of every
 * datagram's addresses) */
static inline gboolean nl_ip6_is_any(const NlIp6 *a) {
  uint64_t x, y;
  memcpy(&x, a->b, 8);
  memcpy(&y, a->b + 8, 8);
  return (x | y) == 0;
}
gboolean nl_ip6_is_loopback(const NlIp6 *a); /* ::1 */
gboolean nl_ip6_is_linklocal(const NlIp6 *a); /* fe80::/10 */
gboolean nl_ip6_is_multicast(const NlIp6 *a); /* ff00::/8 */
/* ::ffff:0:0/96 */
static inline gboolean nl_ip6_is_v4mapped(const NlIp6 *a) {
  static const guint8 pre[4] = {0, 0, 0xff, 0xff};
  uint64_t x;
  memcpy(&x, a->b, 8);
  return x == 0 && memcmp(a->b + 8, pre, 4) == 0;
}
/* ::ffff:@v4 (@v4 host order). */
static inline NlIp6 nl_ip6_from4(uint32_t v4) {
  /* Three stores (zeros, the prefix, the address), not sixteen bytes. */
  static const guint8 pre[4] = {0, 0, 0xff, 0xff};
  NlIp6 a;
  uint64_t zero = 0;
  uint32_t be = g_htonl(v4);
  memcpy(a.b, &zero, 8);
  memcpy(a.b + 8, pre, 4);
  memcpy(a.b + 12, &be, 4);
  return a;
}
/* The IPv4 address of a v4-mapped address (host order). */
static inline uint32_t nl_ip6_to4(const NlIp6 *a) {
  return nl_wire_get32(a->b + 12);
}
/* 64:ff9b::@v4, the NAT64 well-known prefix's address for @v4 (RFC 6052
 * §2.1, §2.2 with a /96 prefix). */
NlIp6 nl_ip6_nat64(uint32_t v4);
/* Whether @a is in 64:ff9b::/96; @v4 (may be NULL) gets the address. */
gboolean nl_ip6_is_nat64(const NlIp6 *a, uint32_t *v4);
/* Whether the first @len bits of @a and @prefix agree. */
gboolean nl_ip6_prefix_match(const NlIp6 *a, const NlIp6 *prefix, guint len);
/* @a with all but its first @len bits cleared. */
NlIp6 nl_ip6_masked(const NlIp6 *a, guint len);
guint nl_ip6_hash(gconstpointer a);
gboolean nl_ip6_hash_equal(gconstpointer a, gconstpointer b);

/* RFC 5952 text ("2001:db8::5", "::ffff:192.0.2.1") into @buf, which holds
 * NL_IP6_STRLEN bytes. */
char *nl_ip6_to_string(const NlIp6 *a, char *buf);
/* Parses an IPv6 address in any RFC 4291 §2.2 form; FALSE if not one. */
gboolean nl_ip6_from_string(const char *s, NlIp6 *out);

/* ---- headers ---- */

/* Pseudo-header sum for UDP/TCP/ICMPv6 over IPv6 (RFC 8200 §8.1). */
uint32_t nl_ip6_pseudo_sum(const NlIp6 *src, const NlIp6 *dst, uint8_t proto,
                           uint32_t len);

/**
 * nl_ip6_parse: checks and reads an IPv6 header at @pkt and walks the
 * extension headers up to the upper layer (or a fragment header; what
 * follows a fragment header that is not the first is not read).
 * Returns: NULL, or a static string saying what is wrong.
 */
const char *nl_ip6_parse(const guint8 *pkt, size_t len, NlIp6Header *out);

/* Writes the 40-byte fixed header (@h->next is the Next Header field). */
void nl_ip6_write(guint8 *buf, const NlIp6Header *h);

/**
 * nl_udp6_build: writes IPv6 + UDP + @payload into @buf (which must hold
 * 48 + @plen bytes), with the mandatory UDP checksum (RFC 8200 §8.1).
 * Returns: the total length (0 when @plen does not fit a payload length).
 */
size_t nl_udp6_build(guint8 *buf, const NlIp6 *src, uint16_t sport,
                     const NlIp6 *dst, uint16_t dport, const void *payload,
                     size_t plen, uint8_t hop_limit, uint8_t tclass);

/* Reads the UDP header of an unfragmented (or reassembled) packet; checks
 * its checksum (a zero checksum is an error over IPv6).  NULL or what is
 * wrong. */
const char *nl_udp6_parse(const guint8 *pkt, size_t len, const NlIp6Header *ip,
                          NlUdpHeader *out);

const char *nl_tcp6_parse(const guint8 *pkt, size_t len, const NlIp6Header *ip,
                          NlTcpHeader *out);

/* As nl_tcp4_build, over IPv6: @buf holds 60 + options + @plen bytes. */
size_t nl_tcp6_build(guint8 *buf, const NlIp6 *src, const NlIp6 *dst,
                     const NlTcpHeader *h, const void *payload, size_t plen,
                     uint8_t hop_limit, uint8_t tclass);

/**
 * nl_icmp6_build_error: an ICMPv6 error from @src about @orig: @param is
 * the MTU of a Packet Too Big or the pointer of a Parameter Problem (0
 * otherwise); as much of @orig is quoted as keeps the error within the
 * minimum MTU (RFC 4443 §2.4 (c)).
 * Returns: the total length written into @buf (NL_IP6_MIN_MTU bytes), 0
 * when @orig is not an IPv6 packet.
 */
size_t nl_icmp6_build_error(guint8 *buf, const NlIp6 *src, uint8_t type,
                            uint8_t code, uint32_t param, const guint8 *orig,
                            size_t orig_len);

/* Recomputes the upper-layer checksum (UDP, TCP, ICMPv6) of an
 * unfragmented IPv6 packet in place. */
void nl_ip6_update_l4_checksum(guint8 *pkt, size_t len);

/* The one-line decode nl_wire_describe gives an IPv6 packet. */
void nl_wire_describe6(const guint8 *pkt, size_t len, GString *out);

G_END_DECLS

#endif
