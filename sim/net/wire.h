/* Wire formats: IPv4, UDP, TCP and ICMP headers as real bytes, with the
 * Internet checksum (RFC 1071).  Pure functions: no simulator state, so
 * the trace formatter, exporters and tests share them.
 *
 * Addresses and ports are host byte order in the structs below; buffers
 * are network byte order.
 */
#ifndef NL_WIRE_H
#define NL_WIRE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

G_BEGIN_DECLS

#define NL_IP4_HDR_LEN 20
#define NL_UDP_HDR_LEN 8
#define NL_TCP_HDR_LEN 20
#define NL_ICMP_HDR_LEN 8
#define NL_IP4_MAX_LEN 65535

enum { NL_IPPROTO_ICMP = 1, NL_IPPROTO_TCP = 6, NL_IPPROTO_UDP = 17 };

/* ICMP types and codes natlab produces. */
enum {
  NL_ICMP_ECHO_REPLY = 0,
  NL_ICMP_DEST_UNREACH = 3,
  NL_ICMP_ECHO_REQUEST = 8,
  NL_ICMP_TIME_EXCEEDED = 11,
};
enum {
  NL_ICMP_NET_UNREACH = 0,
  NL_ICMP_HOST_UNREACH = 1,
  NL_ICMP_PORT_UNREACH = 3,
  NL_ICMP_FRAG_NEEDED = 4,
  NL_ICMP_ADMIN_PROHIBITED = 13,
};

/* TCP flags. */
enum {
  NL_TCP_FIN = 0x01,
  NL_TCP_SYN = 0x02,
  NL_TCP_RST = 0x04,
  NL_TCP_PSH = 0x08,
  NL_TCP_ACK = 0x10,
  NL_TCP_URG = 0x20,
};

typedef struct {
  uint8_t ihl_bytes; /* header length in bytes */
  uint8_t tos;
  uint16_t total_len;
  uint16_t id;
  gboolean df, mf;
  uint16_t frag_offset; /* in bytes */
  uint8_t ttl;
  uint8_t proto;
  uint32_t src, dst;
} NlIp4Header;

typedef struct {
  uint16_t sport, dport, len;
} NlUdpHeader;

typedef struct {
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t hdr_bytes;
  uint8_t flags;
  uint16_t window;
  uint16_t mss; /* MSS option if present, else 0 */
  uint8_t wscale; /* window scale option + 1 if present, else 0 */
  gboolean ts;    /* timestamps option (RFC 7323) present */
  uint32_t tsval, tsecr;
} NlTcpHeader;

/* Big-endian field access in wire buffers. */
static inline uint16_t nl_wire_get16(const guint8 *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t nl_wire_get32(const guint8 *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | p[3];
}
static inline void nl_wire_put16(guint8 *p, uint16_t v) {
  p[0] = (guint8)(v >> 8);
  p[1] = (guint8)v;
}
static inline void nl_wire_put32(guint8 *p, uint32_t v) {
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

/* Partial ones-complement sum over @len bytes, added to @sum. */
uint32_t nl_wire_sum(const void *data, size_t len, uint32_t sum);
/* Folds a partial sum and complements it: the checksum field value. */
uint16_t nl_wire_fold(uint32_t sum);
/* The Internet checksum of @len bytes (0 when the data checks out). */
uint16_t nl_wire_checksum(const void *data, size_t len);

/* Pseudo-header sum for UDP/TCP over IPv4. */
uint32_t nl_wire_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto,
                            uint16_t len);

/**
 * nl_ip4_parse: checks and reads an IPv4 header at @pkt.
 * Returns: NULL on success, or a static string saying what is wrong.
 */
const char *nl_ip4_parse(const guint8 *pkt, size_t len, NlIp4Header *out);

/* Writes a 20-byte header with a correct checksum into @buf. */
void nl_ip4_write(guint8 *buf, const NlIp4Header *h);

/* Recomputes the header checksum in place (after editing TTL or addresses). */
void nl_ip4_update_checksum(guint8 *pkt);

/**
 * nl_udp4_build: writes IPv4 + UDP + @payload into @buf (which must hold
 * 28 + @plen bytes), with both checksums.
 * Returns: the total length.
 */
size_t nl_udp4_build(guint8 *buf, uint32_t src, uint16_t sport, uint32_t dst,
                     uint16_t dport, const void *payload, size_t plen,
                     uint16_t ip_id, uint8_t ttl, gboolean df);

/* Copies @len bytes from @src to @dst (not overlapping) and returns
 * their ones' complement sum folded to 16 bits, host order (0 only when
 * every byte is 0): nl_wire_sum's terms, for nl_udp4_build_ip. */
uint32_t nl__wire_copy_sum(guint8 *dst, const void *src, size_t len);

/* Folds a ones' complement sum held in 64 bits to 16, with the
 * end-around carries (each step adds the halves, the carry out of the
 * lower going round: x plus x rotated, the upper half): a sum that is
 * not 0 folds to the one value in [1, 0xffff] equal to it modulo
 * 0xffff (2^32 - 1 and 2^16 - 1 are multiples of it). */
static inline uint16_t nl__wire_fold64(uint64_t s) {
  s = (s + (s >> 32 | s << 32)) >> 32;
  uint32_t x = (uint32_t)s;
  return (uint16_t)((x + (x >> 16 | x << 16)) >> 16);
}

/**
 * nl_udp4_build_ip: nl_udp4_build, and OUT: @ip, the IPv4 header it
 * wrote as nl_ip4_parse reads it back.
 *
 * Every datagram a socket sends is built here (inline: the caller's
 * arguments stay in registers), straight from the arguments: both
 * checksums summed from the fields and the payload's sum (taken while
 * copying it), the headers written as whole words.  A 32-bit address
 * adds as its two 16-bit halves do (2^16 is 1 modulo 0xffff), and the
 * result is the bytes nl_ip4_write and a sum over the UDP bytes give: a
 * ones' complement sum does not depend on the grouping of its terms, and
 * one that is not 0 (both have a protocol term) folds to the one value in
 * [1, 0xffff] of its class.
 */
static inline size_t nl_udp4_build_ip(guint8 *buf, uint32_t src,
                                      uint16_t sport, uint32_t dst,
                                      uint16_t dport, const void *payload,
                                      size_t plen, uint16_t ip_id,
                                      uint8_t ttl, gboolean df,
                                      NlIp4Header *ip) {
  size_t total = NL_IP4_HDR_LEN + NL_UDP_HDR_LEN + plen;
  g_return_val_if_fail(total <= NL_IP4_MAX_LEN, 0);
  uint64_t ulen = NL_UDP_HDR_LEN + plen;
  uint64_t ff = df ? 0x4000u : 0u;
  uint64_t addrs = (uint64_t)src + dst;
  uint64_t ps = nl__wire_copy_sum(buf + NL_IP4_HDR_LEN + NL_UDP_HDR_LEN,
                                  payload, plen);
  uint16_t hc = (uint16_t)~nl__wire_fold64(
      0x4500u + ((uint64_t)ttl << 8 | NL_IPPROTO_UDP) + total + ip_id + ff +
      addrs);
  uint16_t uc = (uint16_t)~nl__wire_fold64(NL_IPPROTO_UDP + 2 * ulen +
                                           sport + dport + addrs + ps);
  if (uc == 0)
    uc = 0xffff; /* RFC 768: 0 means "no checksum" */
  uint64_t w0 = GUINT64_TO_BE((uint64_t)0x45 << 56 | (uint64_t)total << 32 |
                              (uint64_t)ip_id << 16 | ff);
  uint64_t w1 = GUINT64_TO_BE((uint64_t)ttl << 56 |
                              (uint64_t)NL_IPPROTO_UDP << 48 |
                              (uint64_t)hc << 32 | src);
  uint32_t w2 = GUINT32_TO_BE(dst);
  uint64_t w3 = GUINT64_TO_BE((uint64_t)sport << 48 | (uint64_t)dport << 32 |
                              ulen << 16 | uc);
  memcpy(buf, &w0, 8);
  memcpy(buf + 8, &w1, 8);
  memcpy(buf + 16, &w2, 4);
  memcpy(buf + 20, &w3, 8);
  ip->ihl_bytes = NL_IP4_HDR_LEN;
  ip->tos = 0;
  ip->total_len = (uint16_t)total;
  ip->id = ip_id;
  ip->df = df != FALSE;
  ip->mf = FALSE;
  ip->frag_offset = 0;
  ip->ttl = ttl;
  ip->proto = NL_IPPROTO_UDP;
  ip->src = src;
  ip->dst = dst;
  return total;
}

/* Reads the UDP header of an unfragmented datagram; checks its checksum.
 * Returns NULL or what is wrong. */
const char *nl_udp4_parse(const guint8 *pkt, size_t len, const NlIp4Header *ip,
                          NlUdpHeader *out);
/* A UDP header's ports and length, from its @l4 bytes at @u (IPv4 and
 * IPv6 alike); @out zeroed first. */
static inline const char *nl__udp_fields(const guint8 *u, size_t l4,
                                         NlUdpHeader *out) {
  memset(out, 0, sizeof *out);
  if (l4 < NL_UDP_HDR_LEN)
    return "shorter than a UDP header";
  out->sport = nl_wire_get16(u);
  out->dport = nl_wire_get16(u + 2);
  out->len = nl_wire_get16(u + 4);
  if (out->len < NL_UDP_HDR_LEN || out->len > l4)
    return "bad UDP length";
  return NULL;
}

/* nl_udp4_parse without the checksum, for a datagram whose checksum is
 * known right (inline: every delivery reads one). */
static inline const char *nl_udp4_read(const guint8 *pkt, size_t len,
                                       const NlIp4Header *ip,
                                       NlUdpHeader *out) {
  (void)len;
  return nl__udp_fields(pkt + ip->ihl_bytes,
                        (size_t)(ip->total_len - ip->ihl_bytes), out);
}

/* Recomputes the transport checksum (UDP, TCP or ICMP) of an unfragmented
 * IPv4 packet in place, e.g. after a NAT rewrote addresses or ports. */
void nl_ip4_update_l4_checksum(guint8 *pkt, size_t len);

const char *nl_tcp4_parse(const guint8 *pkt, size_t len, const NlIp4Header *ip,
                          NlTcpHeader *out);
/* nl_tcp4_parse without the checksum, for a segment whose checksum is
 * known right (NlPacket's tcp_sum_ok): the same fields and the same
 * answers otherwise. */
const char *nl_tcp4_read(const guint8 *pkt, size_t len, const NlIp4Header *ip,
                         NlTcpHeader *out);

/**
 * nl_tcp4_options_len: bytes of options nl_tcp4_build writes for @h, in
 * Linux's order: MSS when @h->mss != 0, NOP NOP timestamps when @h->ts,
 * NOP window scale (shift @h->wscale - 1) when @h->wscale != 0.
 */
size_t nl_tcp4_options_len(const NlTcpHeader *h);

/**
 * nl_tcp4_build: writes IPv4 + TCP (+ options) + @payload into @buf, which
 * must hold 40 + nl_tcp4_options_len(@h) + @plen bytes, with both
 * checksums.  @h->hdr_bytes is ignored (computed).  @payload may already
 * sit at its place in @buf (then it is not copied).
 * Returns: the total length.
 */
size_t nl_tcp4_build(guint8 *buf, uint32_t src, uint32_t dst,
                     const NlTcpHeader *h, const void *payload, size_t plen,
                     uint16_t ip_id, uint8_t ttl, gboolean df);
/* nl_tcp4_build of a payload already at its place in @buf (after the
 * headers), whose sum the caller knows: @psum, as nl_wire_sum (@payload,
 * @plen, 0) gives it, or any value equal to it modulo 0xffff (sums of its
 * pieces added, a piece at an odd offset byte-swapped). */
size_t nl__tcp4_build_summed(guint8 *buf, uint32_t src, uint32_t dst,
                             const NlTcpHeader *h, size_t plen, uint32_t psum,
                             uint16_t ip_id, uint8_t ttl, gboolean df);

/**
 * nl_icmp4_build_error: builds an ICMP error from @src about @orig (the
 * offending packet, of which the IP header and 8 bytes are quoted).
 * Returns: the total length written into @buf (at most 56 + 8 bytes).
 */
#define NL_ICMP_ERROR_MAX (NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN + 60 + 8)
size_t nl_icmp4_build_error(guint8 *buf, uint32_t src, uint8_t type,
                            uint8_t code, uint16_t mtu, const guint8 *orig,
                            size_t orig_len, uint16_t ip_id);

/* "10.0.0.5" into @buf (16 bytes). */
char *nl_ip4_to_string(uint32_t addr, char *buf);
/* Parses dotted quad; FALSE if not one. */
gboolean nl_ip4_from_string(const char *s, uint32_t *out);

/**
 * nl_wire_describe: appends a one-line decode of a packet:
 * "UDP 10.0.0.5:5000 > 192.0.2.10:7 len=5".
 */
void nl_wire_describe(const guint8 *pkt, size_t len, GString *out);

/**
 * nl_wire_describe_same: whether nl_wire_describe writes the same text for
 * the @len bytes at @a and at @b: TRUE for two IPv4 packets with
 * 20-byte headers, both checksums right, that differ in their TTL and
 * header checksum only (a packet and the same forwarded by a router);
 * FALSE otherwise, the same bytes included (the caller compares those).
 * For the trace's remembered decodes (nl_trace_set_packet_same).
 */
gboolean nl_wire_describe_same(const guint8 *a, const guint8 *b, size_t len);

/**
 * nl_wire_describe_key: for the common packet, an unfragmented IPv4 UDP
 * datagram with a 20-byte header and both checksums right, OUT: @key,
 * the fields that alone make its nl_wire_describe line (addresses, ports,
 * length), and TRUE; FALSE for any other.  Two packets with the same key
 * have the same line.  For the trace's remembered decodes
 * (nl_trace_set_packet_key): a datagram of a flow seen before is not
 * decoded again.
 */
gboolean nl_wire_describe_key(const guint8 *pkt, size_t len, uint64_t key[2]);

G_END_DECLS

#endif
