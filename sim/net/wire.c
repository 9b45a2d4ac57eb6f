/* Wire formats.  The Internet checksum follows RFC 1071; header layouts
 * follow RFC 791 (IPv4), RFC 768 (UDP), RFC 9293 (TCP), RFC 792 (ICMP). */
#include "sim/net/wire.h"

#include "sim/net/wire-priv.h"
#include "sim/net/wire6.h"
#include "sim/core/trace.h"

#include <stdio.h>
#include <string.h>


#if defined(__x86_64__)
/* Adds the 64 bytes at @p to the running sum *@sum as one carry chain (an
 * add, seven add-with-carry) and the carry out of it to *@c: the whole
 * blocks of sum16 and of nl__wire_copy_sum. */
static inline void add64_carry(const guint8 *p, uint64_t *sum, uint64_t *c) {
  uint64_t s = *sum, carries = *c;
  __asm__("addq 0(%[p]), %[s]\n\t"
          "adcq 8(%[p]), %[s]\n\t"
          "adcq 16(%[p]), %[s]\n\t"
          "adcq 24(%[p]), %[s]\n\t"
          "adcq 32(%[p]), %[s]\n\t"
          "adcq 40(%[p]), %[s]\n\t"
          "adcq 48(%[p]), %[s]\n\t"
          "adcq 56(%[p]), %[s]\n\t"
          "adcq $0, %[c]"
          : [s] "+r"(s), [c] "+r"(carries)
          : [p] "r"(p), "m"(*(const guint8(*)[64])p)
          : "cc");
  *sum = s;
  *c = carries;
}
#endif

/* The ones-complement sum of @len bytes, folded to 16 bits (0 only when
 * every byte is 0).  RFC 1071 §2(B): the sum does not depend on byte
 * order, so the data is added as native 64-bit words, 32 bytes a turn,
 * with their carries counted apart (each carry out of 64 bits is worth 1:
 * 2^64 = 1 modulo 2^64 - 1, a multiple of 0xffff), and the folded result
 * is put back in network order at the end (on a little-endian machine, a
 * byte swap).  An add and an add-with-carry per word; the result is the
 * same 16-bit value as a sum word by word: both are in [1, 0xffff] for
 * data that is not all zeros, and equal modulo 0xffff. */
static inline uint32_t sum16(const guint8 *p, size_t len) {
  uint64_t s = 0, carries = 0, w, t;
#define SUM_ADD(v)                                                           \
  do {                                                                       \
    carries += __builtin_add_overflow(s, (v), &t);                           \
    s = t;                                                                   \
  } while (0)
#if defined(__x86_64__)
  /* 64 bytes a turn as one carry chain: an add, seven add-with-carry, the
   * last carry counted apart (12 instructions where the loop below takes
   * 26: a TCP segment's payload is summed once or twice per segment).
   * What is left below 64 bytes goes the same way, 32, 16 and 8 bytes at
   * once (a datagram's 100-byte payload: one turn and the 32 and 4). */
  for (; len >= 64; p += 64, len -= 64)
    add64_carry(p, &s, &carries);
  if (len >= 32) {
    __asm__("addq 0(%[p]), %[s]\n\t"
            "adcq 8(%[p]), %[s]\n\t"
            "adcq 16(%[p]), %[s]\n\t"
            "adcq 24(%[p]), %[s]\n\t"
            "adcq $0, %[c]"
            : [s] "+r"(s), [c] "+r"(carries)
            : [p] "r"(p), "m"(*(const guint8(*)[32])p)
            : "cc");
    p += 32;
    len -= 32;
  }
  if (len >= 16) {
    __asm__("addq 0(%[p]), %[s]\n\t"
            "adcq 8(%[p]), %[s]\n\t"
            "adcq $0, %[c]"
            : [s] "+r"(s), [c] "+r"(carries)
            : [p] "r"(p), "m"(*(const guint8(*)[16])p)
            : "cc");
    p += 16;
    len -= 16;
  }
#else
  for (; len >= 32; p += 32, len -= 32) {
    uint64_t w0, w1, w2, w3;
    memcpy(&w0, p, 8);
    memcpy(&w1, p + 8, 8);
    memcpy(&w2, p + 16, 8);
    memcpy(&w3, p + 24, 8);
    SUM_ADD(w0);
    SUM_ADD(w1);
    SUM_ADD(w2);
    SUM_ADD(w3);
  }
#endif
  for (; len >= 8; p += 8, len -= 8) {
    memcpy(&w, p, 8);
    SUM_ADD(w);
  }
  /* The last 0 to 7 bytes as the native word they would load as,
   * zero-padded to 8 (a byte at offset k of the word sits at bit 8k on a
   * little-endian machine, 56 - 8k on a big-endian one), added once. */
  if (len) {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define TAIL_AT(k, bytes) (8 * (k))
#else
#define TAIL_AT(k, bytes) (64 - 8 * ((k) + (bytes)))
#endif
    uint64_t r = 0;
    size_t k = 0;
    if (len >= 4) {
      uint32_t w4;
      memcpy(&w4, p, 4);
      r = (uint64_t)w4 << TAIL_AT(0, 4);
      k = 4;
    }
    if (len - k >= 2) {
      uint16_t w2;
      memcpy(&w2, p + k, 2);
      r |= (uint64_t)w2 << TAIL_AT(k, 2);
      k += 2;
    }
    if (len > k)
      r |= (uint64_t)p[k] << TAIL_AT(k, 1);
#undef TAIL_AT
    SUM_ADD(r);
  }
#undef SUM_ADD
  /* The carries back in (end-around), then 64 -> 32 -> 16 bits. */
  s += carries;
  s += s < carries;
  return g_ntohs(nl__wire_fold64(s));
}

uint32_t nl_wire_sum(const void *data, size_t len, uint32_t sum) {
  uint64_t s = (uint64_t)sum + sum16(data, len);
  return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

uint16_t nl_wire_fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

uint16_t nl_wire_checksum(const void *data, size_t len) {
  return (uint16_t)~sum16(data, len);
}

#if defined(__x86_64__)
/* @n 8-byte words from @p to @d, each loaded once, stored and added with
 * carry to *@s (the last carry into *@c). */
#define COPY_SUM_WORDS(n)                                                    \
  __asm__("movq 0(%[p]), %[t]\n\t"                                           \
          "movq %[t], 0(%[d])\n\t"                                           \
          "addq %[t], %[s]\n\t" COPY_SUM_REST_##n "adcq $0, %[c]"            \
          : [s] "+r"(s), [c] "+r"(carries), [t] "=&r"(t),                    \
            "=m"(*(guint8(*)[8 * n])d)                                       \
          : [p] "r"(p), [d] "r"(d), "m"(*(const guint8(*)[8 * n])p)          \
          : "cc")
#define COPY_SUM_WORD(off)                                                   \
  "movq " #off "(%[p]), %[t]\n\tmovq %[t], " #off "(%[d])\n\t"               \
  "adcq %[t], %[s]\n\t"
#define COPY_SUM_REST_1 ""
#define COPY_SUM_REST_2 COPY_SUM_WORD(8)
#define COPY_SUM_REST_4 COPY_SUM_WORD(8) COPY_SUM_WORD(16) COPY_SUM_WORD(24)
#endif

uint32_t nl__wire_copy_sum(guint8 *dst, const void *src, size_t len) {
#if defined(__x86_64__)
  /* memcpy and sum16 in one pass, without a call: each 8-byte word
   * loaded once, stored and added with carry, 64, 32, 16 and 8 bytes at
   * a time as sum16 adds them; the last 0 to 7 bytes copied and added as
   * one zero-padded word, as sum16 adds them. */
  const guint8 *p = src;
  guint8 *d = dst;
  uint64_t s = 0, carries = 0, t;
  /* Whole 64-byte blocks: copied by the compiler's vector moves (four
   * 16-byte loads and stores, SSE2 being part of x86-64), then summed
   * from the source as sum16 sums, by eight add-with-carry from memory:
   * 21 instructions a block where loading, storing and adding each word
   * took 29. */
  for (; len >= 64; p += 64, d += 64, len -= 64) {
    memcpy(d, p, 64);
    add64_carry(p, &s, &carries);
  }
  if (len >= 32) {
    COPY_SUM_WORDS(4);
    p += 32, d += 32, len -= 32;
  }
  if (len >= 16) {
    COPY_SUM_WORDS(2);
    p += 16, d += 16, len -= 16;
  }
  if (len >= 8) {
    COPY_SUM_WORDS(1);
    p += 8, d += 8, len -= 8;
  }
  if (len) {
    /* Little-endian: a byte at offset k of the word sits at bit 8k. */
    uint64_t r = 0;
    size_t k = 0;
    if (len >= 4) {
      uint32_t w4;
      memcpy(&w4, p, 4);
      memcpy(d, &w4, 4);
      r = w4;
      k = 4;
    }
    if (len - k >= 2) {
      uint16_t w2;
      memcpy(&w2, p + k, 2);
      memcpy(d + k, &w2, 2);
      r |= (uint64_t)w2 << (8 * k);
      k += 2;
    }
    if (len > k) {
      d[k] = p[k];
      r |= (uint64_t)p[k] << (8 * k);
    }
    carries += __builtin_add_overflow(s, r, &t);
    s = t;
  }
  /* As sum16 folds. */
  s += carries;
  s += s < carries;
  return g_ntohs(nl__wire_fold64(s));
#else
  memcpy(dst, src, len);
  return sum16(dst, len);
#endif
}

uint32_t nl_wire_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto,
                            uint16_t len) {
  uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
               proto + len;
  return (uint32_t)s;
}

static const char *ip4_parse_any(const guint8 *pkt, size_t len,
                                 NlIp4Header *h);

const char *nl_ip4_parse(const guint8 *pkt, size_t len, NlIp4Header *h) {
  /* Nearly every header: 20 bytes, whole, checksum right.  Checked and
   * read straight through; anything else (options, a fault) goes the
   * long way, which fills @h as far as it gets and says what is wrong. */
  if (G_LIKELY(len >= NL_IP4_HDR_LEN && pkt[0] == 0x45)) {
    uint16_t total = nl_wire_get16(pkt + 2);
    if (G_LIKELY(total >= NL_IP4_HDR_LEN && total <= len &&
                 sum16(pkt, NL_IP4_HDR_LEN) == 0xffff)) {
      uint16_t ff = nl_wire_get16(pkt + 6);
      memset(h, 0, sizeof *h);
      h->ihl_bytes = NL_IP4_HDR_LEN;
      h->tos = pkt[1];
      h->total_len = total;
      h->id = nl_wire_get16(pkt + 4);
      h->df = (ff & 0x4000) != 0;
      h->mf = (ff & 0x2000) != 0;
      h->frag_offset = (uint16_t)((ff & 0x1fff) * 8);
      h->ttl = pkt[8];
      h->proto = pkt[9];
      h->src = nl_wire_get32(pkt + 12);
      h->dst = nl_wire_get32(pkt + 16);
      return NULL;
    }
  }
  return ip4_parse_any(pkt, len, h);
}

static const char *ip4_parse_any(const guint8 *pkt, size_t len,
                                 NlIp4Header *h) {
  memset(h, 0, sizeof *h);
  if (len < NL_IP4_HDR_LEN)
    return "shorter than an IPv4 header";
  if ((pkt[0] >> 4) != 4)
    return "not IPv4";
  h->ihl_bytes = (uint8_t)((pkt[0] & 0x0f) * 4);
  if (h->ihl_bytes < NL_IP4_HDR_LEN || h->ihl_bytes > len)
    return "bad IPv4 header length";
  h->tos = pkt[1];
  h->total_len = nl_wire_get16(pkt + 2);
  if (h->total_len < h->ihl_bytes || h->total_len > len)
    return "bad IPv4 total length";
  h->id = nl_wire_get16(pkt + 4);
  uint16_t ff = nl_wire_get16(pkt + 6);
  h->df = (ff & 0x4000) != 0;
  h->mf = (ff & 0x2000) != 0;
  h->frag_offset = (uint16_t)((ff & 0x1fff) * 8);
  h->ttl = pkt[8];
  h->proto = pkt[9];
  h->src = nl_wire_get32(pkt + 12);
  h->dst = nl_wire_get32(pkt + 16);
  if (nl_wire_checksum(pkt, h->ihl_bytes) != 0)
    return "bad IPv4 header checksum";
  return NULL;
}

void nl_ip4_write(guint8 *buf, const NlIp4Header *h) {
  uint16_t ff = (uint16_t)((h->df ? 0x4000 : 0) | (h->mf ? 0x2000 : 0) |
                           ((h->frag_offset / 8) & 0x1fff));
  /* The checksum from the fields, not read back from the bytes: nine
   * 16-bit words (less than 2^20), folded twice to [1, 0xffff] (the first
   * word is never 0), as sum16 folds them. */
  uint32_t s = (0x4500u | h->tos) + h->total_len + h->id + ff +
               ((uint32_t)h->ttl << 8 | h->proto) + (h->src >> 16) +
               (h->src & 0xffff) + (h->dst >> 16) + (h->dst & 0xffff);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  buf[0] = 0x45;
  buf[1] = h->tos;
  nl_wire_put16(buf + 2, h->total_len);
  nl_wire_put16(buf + 4, h->id);
  nl_wire_put16(buf + 6, ff);
  buf[8] = h->ttl;
  buf[9] = h->proto;
  nl_wire_put16(buf + 10, (uint16_t)~s);
  nl_wire_put32(buf + 12, h->src);
  nl_wire_put32(buf + 16, h->dst);
}

void nl_ip4_update_checksum(guint8 *pkt) {
  size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
  nl_wire_put16(pkt + 10, 0);
  nl_wire_put16(pkt + 10, nl_wire_checksum(pkt, ihl));
}

size_t nl_udp4_build(guint8 *buf, uint32_t src, uint16_t sport, uint32_t dst,
                     uint16_t dport, const void *payload, size_t plen,
                     uint16_t ip_id, uint8_t ttl, gboolean df) {
  NlIp4Header h;
  return nl_udp4_build_ip(buf, src, sport, dst, dport, payload, plen, ip_id,
                          ttl, df, &h);
}

const char *nl_udp4_parse(const guint8 *pkt, size_t len, const NlIp4Header *ip,
                          NlUdpHeader *out) {
  const char *why = nl_udp4_read(pkt, len, ip, out);
  if (why != NULL)
    return why;
  const guint8 *u = pkt + ip->ihl_bytes;
  if (nl_wire_get16(u + 6) != 0) {
    uint32_t s = nl_wire_pseudo_sum(ip->src, ip->dst, NL_IPPROTO_UDP, out->len);
    if (nl_wire_fold(nl_wire_sum(u, out->len, s)) != 0)
      return "bad UDP checksum";
  }
  return NULL;
}


/* A TCP header's fields at @t of @l4 bytes, options too; the checksum is
 * checked against @psum first when @check.  The one reader of both
 * nl__tcp_parse and nl_tcp4_read, so the two say the same of a header. */
static inline const char *tcp_read(const guint8 *t, size_t l4, uint32_t psum,
                                   gboolean check, NlTcpHeader *out) {
  memset(out, 0, sizeof *out);
  if (l4 < NL_TCP_HDR_LEN)
    return "shorter than a TCP header";
  out->sport = nl_wire_get16(t);
  out->dport = nl_wire_get16(t + 2);
  out->seq = nl_wire_get32(t + 4);
  out->ack = nl_wire_get32(t + 8);
  out->hdr_bytes = (uint8_t)((t[12] >> 4) * 4);
  out->flags = t[13];
  out->window = nl_wire_get16(t + 14);
  if (out->hdr_bytes < NL_TCP_HDR_LEN || out->hdr_bytes > l4)
    return "bad TCP header length";
  if (check && nl_wire_fold(nl_wire_sum(t, l4, psum)) != 0)
    return "bad TCP checksum";
  if (out->hdr_bytes == NL_TCP_HDR_LEN + 12 &&
      nl_wire_get32(t + NL_TCP_HDR_LEN) == 0x0101080a) {
    /* Nearly every segment after the handshake: NOP NOP timestamps, read
     * as the loop below reads them. */
    out->ts = TRUE;
    out->tsval = nl_wire_get32(t + NL_TCP_HDR_LEN + 4);
    out->tsecr = nl_wire_get32(t + NL_TCP_HDR_LEN + 8);
    return NULL;
  }
  for (size_t i = NL_TCP_HDR_LEN; i < out->hdr_bytes;) {
    guint8 kind = t[i];
    if (kind == 0)
      break;
    if (kind == 1) {
      i++;
      continue;
    }
    if (i + 1 >= out->hdr_bytes || t[i + 1] < 2 ||
        i + t[i + 1] > out->hdr_bytes)
      return "bad TCP option";
    if (kind == 2 && t[i + 1] == 4)
      out->mss = nl_wire_get16(t + i + 2);
    if (kind == 3 && t[i + 1] == 3)
      out->wscale = (uint8_t)(t[i + 2] + 1);
    if (kind == 8 && t[i + 1] == 10) {
      out->ts = TRUE;
      out->tsval = nl_wire_get32(t + i + 2);
      out->tsecr = nl_wire_get32(t + i + 6);
    }
    i += t[i + 1];
  }
  return NULL;
}

const char *nl__tcp_parse(const guint8 *t, size_t l4, uint32_t psum,
                          NlTcpHeader *out) {
  return tcp_read(t, l4, psum, TRUE, out);
}

const char *nl_tcp4_parse(const guint8 *pkt, size_t len, const NlIp4Header *ip,
                          NlTcpHeader *out) {
  size_t l4 = ip->total_len - ip->ihl_bytes;
  (void)len;
  uint32_t s = nl_wire_pseudo_sum(ip->src, ip->dst, NL_IPPROTO_TCP,
                                  (uint16_t)l4);
  return nl__tcp_parse(pkt + ip->ihl_bytes, l4, s, out);
}

const char *nl_tcp4_read(const guint8 *pkt, size_t len, const NlIp4Header *ip,
                         NlTcpHeader *out) {
  (void)len;
  return tcp_read(pkt + ip->ihl_bytes, (size_t)(ip->total_len - ip->ihl_bytes),
                  0, FALSE, out);
}

size_t nl_tcp4_options_len(const NlTcpHeader *h) {
  return (h->mss ? 4u : 0u) + (h->ts ? 12u : 0u) + (h->wscale ? 4u : 0u);
}

size_t nl__tcp_write(guint8 *t, const NlTcpHeader *h, const void *payload,
                     size_t plen) {
  size_t thl = NL_TCP_HDR_LEN + nl_tcp4_options_len(h);
  nl_wire_put16(t, h->sport);
  nl_wire_put16(t + 2, h->dport);
  nl_wire_put32(t + 4, h->seq);
  nl_wire_put32(t + 8, h->ack);
  t[12] = (guint8)((thl / 4) << 4);
  t[13] = h->flags;
  nl_wire_put16(t + 14, h->window);
  nl_wire_put16(t + 16, 0);
  nl_wire_put16(t + 18, 0);
  guint8 *o = t + NL_TCP_HDR_LEN;
  if (h->mss) {
    o[0] = 2;
    o[1] = 4;
    nl_wire_put16(o + 2, h->mss);
    o += 4;
  }
  if (h->ts) {
    o[0] = 1; /* NOP NOP: the 10-byte option ends on a 4-byte boundary */
    o[1] = 1;
    o[2] = 8;
    o[3] = 10;
    nl_wire_put32(o + 4, h->tsval);
    nl_wire_put32(o + 8, h->tsecr);
    o += 12;
  }
  if (h->wscale) {
    o[0] = 1; /* NOP, so the option ends on a 4-byte boundary */
    o[1] = 3;
    o[2] = 3;
    o[3] = (guint8)(h->wscale - 1);
    o += 4;
  }
  if (plen && (const guint8 *)payload != t + thl)
    memcpy(t + thl, payload, plen);
  return thl;
}

/* nl_tcp4_build's headers and checksum, the payload's sum given
 * (@psum, nl_wire_sum's terms; the payload is at its place when @payload
 * is @buf's, or copied). */
static inline size_t tcp4_build(guint8 *buf, uint32_t src, uint32_t dst,
                                const NlTcpHeader *h, const void *payload,
                                size_t plen, uint32_t psum, uint16_t ip_id,
                                uint8_t ttl, gboolean df) {
  size_t olen = nl_tcp4_options_len(h);
  size_t thl = NL_TCP_HDR_LEN + olen;
  size_t total = NL_IP4_HDR_LEN + thl + plen;
  g_return_val_if_fail(total <= NL_IP4_MAX_LEN, 0);
  NlIp4Header ih = {.total_len = (uint16_t)total, .id = ip_id, .df = df,
                    .ttl = ttl, .proto = NL_IPPROTO_TCP, .src = src,
                    .dst = dst};
  nl_ip4_write(buf, &ih);
  guint8 *t = buf + NL_IP4_HDR_LEN;
  nl__tcp_write(t, h, payload, plen);
  uint32_t s = nl_wire_pseudo_sum(src, dst, NL_IPPROTO_TCP,
                                  (uint16_t)(thl + plen));
  nl_wire_put16(t + 16, nl_wire_fold(nl_wire_sum(t, thl, s + psum)));
  return total;
}

size_t nl_tcp4_build(guint8 *buf, uint32_t src, uint32_t dst,
                     const NlTcpHeader *h, const void *payload, size_t plen,
                     uint16_t ip_id, uint8_t ttl, gboolean df) {
  /* The header's length is even (a multiple of 4), so the payload's
   * 16-bit words are the segment's: its sum adds to the header's. */
  guint8 *at = buf + NL_IP4_HDR_LEN + NL_TCP_HDR_LEN + nl_tcp4_options_len(h);
  uint32_t psum;
  if (plen == 0)
    psum = 0;
  else if ((const guint8 *)payload == at)
    psum = sum16(at, plen);
  else if ((size_t)(at - buf) + plen <= NL_IP4_MAX_LEN)
    psum = nl__wire_copy_sum(at, payload, plen);
  else
    psum = 0; /* too long: tcp4_build refuses it */
  return tcp4_build(buf, src, dst, h, at, plen, psum, ip_id, ttl, df);
}

size_t nl__tcp4_build_summed(guint8 *buf, uint32_t src, uint32_t dst,
                             const NlTcpHeader *h, size_t plen, uint32_t psum,
                             uint16_t ip_id, uint8_t ttl, gboolean df) {
  guint8 *at = buf + NL_IP4_HDR_LEN + NL_TCP_HDR_LEN + nl_tcp4_options_len(h);
  return tcp4_build(buf, src, dst, h, at, plen, psum, ip_id, ttl, df);
}

void nl_ip4_update_l4_checksum(guint8 *pkt, size_t len) {
  NlIp4Header ip;
  if (nl_ip4_parse(pkt, len, &ip) != NULL || ip.frag_offset != 0 || ip.mf)
    return;
  guint8 *l4 = pkt + ip.ihl_bytes;
  size_t l4len = ip.total_len - ip.ihl_bytes;
  switch (ip.proto) {
    case NL_IPPROTO_UDP: {
      if (l4len < NL_UDP_HDR_LEN || nl_wire_get16(l4 + 6) == 0)
        return;
      nl_wire_put16(l4 + 6, 0);
      uint32_t s = nl_wire_pseudo_sum(ip.src, ip.dst, NL_IPPROTO_UDP,
                                      (uint16_t)l4len);
      uint16_t c = nl_wire_fold(nl_wire_sum(l4, l4len, s));
      nl_wire_put16(l4 + 6, c == 0 ? 0xffff : c);
      break;
    }
    case NL_IPPROTO_TCP: {
      if (l4len < NL_TCP_HDR_LEN)
        return;
      nl_wire_put16(l4 + 16, 0);
      uint32_t s = nl_wire_pseudo_sum(ip.src, ip.dst, NL_IPPROTO_TCP,
                                      (uint16_t)l4len);
      nl_wire_put16(l4 + 16, nl_wire_fold(nl_wire_sum(l4, l4len, s)));
      break;
    }
    case NL_IPPROTO_ICMP:
      if (l4len < NL_ICMP_HDR_LEN)
        return;
      nl_wire_put16(l4 + 2, 0);
      nl_wire_put16(l4 + 2, nl_wire_checksum(l4, l4len));
      break;
    default:
      break;
  }
}

size_t nl_icmp4_build_error(guint8 *buf, uint32_t src, uint8_t type,
                            uint8_t code, uint16_t mtu, const guint8 *orig,
                            size_t orig_len, uint16_t ip_id) {
  NlIp4Header oh;
  size_t quote;
  if (nl_ip4_parse(orig, orig_len, &oh) != NULL)
    return 0;
  /* RFC 792: the original IP header plus the first 64 bits of its data. */
  quote = MIN((size_t)oh.total_len, (size_t)oh.ihl_bytes + 8);
  size_t total = NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN + quote;
  NlIp4Header h = {.total_len = (uint16_t)total, .id = ip_id, .ttl = 64,
                   .proto = NL_IPPROTO_ICMP, .src = src, .dst = oh.src};
  nl_ip4_write(buf, &h);
  guint8 *ic = buf + NL_IP4_HDR_LEN;
  ic[0] = type;
  ic[1] = code;
  nl_wire_put16(ic + 2, 0);
  nl_wire_put16(ic + 4, 0);
  nl_wire_put16(ic + 6, (type == NL_ICMP_DEST_UNREACH && code == NL_ICMP_FRAG_NEEDED)
                   ? mtu
                   : 0);
  memcpy(ic + NL_ICMP_HDR_LEN, orig, quote);
  nl_wire_put16(ic + 2, nl_wire_checksum(ic, NL_ICMP_HDR_LEN + quote));
  return total;
}

/* Each octet's decimal text in 4 bytes, its length in the last: copied
 * whole. */
static const char octet_text[256][4] = {
    "0\0\0\1", "1\0\0\1", "2\0\0\1", "3\0\0\1", "4\0\0\1", "5\0\0\1",
    "6\0\0\1", "7\0\0\1", "8\0\0\1", "9\0\0\1", "10\0\2", "11\0\2", "12\0\2",
    "13\0\2", "14\0\2", "15\0\2", "16\0\2", "17\0\2", "18\0\2", "19\0\2",
    "20\0\2", "21\0\2", "22\0\2", "23\0\2", "24\0\2", "25\0\2", "26\0\2",
    "27\0\2", "28\0\2", "29\0\2", "30\0\2", "31\0\2", "32\0\2", "33\0\2",
    "34\0\2", "35\0\2", "36\0\2", "37\0\2", "38\0\2", "39\0\2", "40\0\2",
    "41\0\2", "42\0\2", "43\0\2", "44\0\2", "45\0\2", "46\0\2", "47\0\2",
    "48\0\2", "49\0\2", "50\0\2", "51\0\2", "52\0\2", "53\0\2", "54\0\2",
    "55\0\2", "56\0\2", "57\0\2", "58\0\2", "59\0\2", "60\0\2", "61\0\2",
    "62\0\2", "63\0\2", "64\0\2", "65\0\2", "66\0\2", "67\0\2", "68\0\2",
    "69\0\2", "70\0\2", "71\0\2", "72\0\2", "73\0\2", "74\0\2", "75\0\2",
    "76\0\2", "77\0\2", "78\0\2", "79\0\2", "80\0\2", "81\0\2", "82\0\2",
    "83\0\2", "84\0\2", "85\0\2", "86\0\2", "87\0\2", "88\0\2", "89\0\2",
    "90\0\2", "91\0\2", "92\0\2", "93\0\2", "94\0\2", "95\0\2", "96\0\2",
    "97\0\2", "98\0\2", "99\0\2", "100\3", "101\3", "102\3", "103\3", "104\3",
    "105\3", "106\3", "107\3", "108\3", "109\3", "110\3", "111\3", "112\3",
    "113\3", "114\3", "115\3", "116\3", "117\3", "118\3", "119\3", "120\3",
    "121\3", "122\3", "123\3", "124\3", "125\3", "126\3", "127\3", "128\3",
    "129\3", "130\3", "131\3", "132\3", "133\3", "134\3", "135\3", "136\3",
    "137\3", "138\3", "139\3", "140\3", "141\3", "142\3", "143\3", "144\3",
    "145\3", "146\3", "147\3", "148\3", "149\3", "150\3", "151\3", "152\3",
    "153\3", "154\3", "155\3", "156\3", "157\3", "158\3", "159\3", "160\3",
    "161\3", "162\3", "163\3", "164\3", "165\3", "166\3", "167\3", "168\3",
    "169\3", "170\3", "171\3", "172\3", "173\3", "174\3", "175\3", "176\3",
    "177\3", "178\3", "179\3", "180\3", "181\3", "182\3", "183\3", "184\3",
    "185\3", "186\3", "187\3", "188\3", "189\3", "190\3", "191\3", "192\3",
    "193\3", "194\3", "195\3", "196\3", "197\3", "198\3", "199\3", "200\3",
    "201\3", "202\3", "203\3", "204\3", "205\3", "206\3", "207\3", "208\3",
    "209\3", "210\3", "211\3", "212\3", "213\3", "214\3", "215\3", "216\3",
    "217\3", "218\3", "219\3", "220\3", "221\3", "222\3", "223\3", "224\3",
    "225\3", "226\3", "227\3", "228\3", "229\3", "230\3", "231\3", "232\3",
    "233\3", "234\3", "235\3", "236\3", "237\3", "238\3", "239\3", "240\3",
    "241\3", "242\3", "243\3", "244\3", "245\3", "246\3", "247\3", "248\3",
    "249\3", "250\3", "251\3", "252\3", "253\3", "254\3", "255\3"};

/* "a.b.c.d" at @p (and up to 3 bytes after it overwritten), no NUL;
 * returns the end (the trace's text form formats two per packet record,
 * so not with printf). */
static char *put_ip4(char *p, uint32_t a) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char *o = octet_text[(a >> shift) & 0xff];
    memcpy(p, o, 4);
    p += o[3];
    *p++ = '.';
  }
  return p - 1;
}

/* "PROTO a.b.c.d:port > e.f.g.h:port" (@proto is 4 characters with its
 * space); returns the end. */
static char *put_ends(char *p, const char *proto, uint32_t src, uint16_t sport,
                      uint32_t dst, uint16_t dport) {
  memcpy(p, proto, 4);
  p = put_ip4(p + 4, src);
  *p++ = ':';
  p = nl_trace_put_uint(p, sport);
  memcpy(p, " > ", 3);
  p = put_ip4(p + 3, dst);
  *p++ = ':';
  return nl_trace_put_uint(p, dport);
}

char *nl_ip4_to_string(uint32_t a, char *buf) {
  *put_ip4(buf, a) = '\0';
  return buf;
}

gboolean nl_ip4_from_string(const char *s, uint32_t *out) {
  uint32_t a = 0;
  for (int i = 0; i < 4; i++) {
    if (!g_ascii_isdigit(*s))
      return FALSE;
    unsigned v = 0;
    int digits = 0;
    while (g_ascii_isdigit(*s)) {
      v = v * 10 + (unsigned)(*s++ - '0');
      if (++digits > 3 || v > 255)
        return FALSE;
    }
    a = (a << 8) | v;
    if (i < 3 && *s++ != '.')
      return FALSE;
  }
  if (*s != '\0')
    return FALSE;
  *out = a;
  return TRUE;
}

/* "[S.]": the flags set, in this order; returns the end. */
static char *put_tcp_flags(char *p, uint8_t f) {
  static const struct {
    uint8_t bit;
    char c;
  } names[] = {{NL_TCP_SYN, 'S'}, {NL_TCP_FIN, 'F'}, {NL_TCP_RST, 'R'},
               {NL_TCP_PSH, 'P'}, {NL_TCP_ACK, '.'}, {NL_TCP_URG, 'U'}};
  *p++ = '[';
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
    if (f & names[i].bit)
      *p++ = names[i].c;
  *p++ = ']';
  return p;
}

static void describe_tcp_flags(uint8_t f, GString *out) {
  char b[8];
  nl_trace_put_len(out, b, (gsize)(put_tcp_flags(b, f) - b));
}

void nl__describe_tcp_flags(uint8_t f, GString *out) {
  describe_tcp_flags(f, out);
}

gboolean nl_wire_describe_same(const guint8 *a, const guint8 *b,
                               size_t len) {
  /* The decode reads neither the TTL (byte 8) nor the header checksum
   * (10, 11) but to check the checksum: with both right, it reads the
   * same fields from both.  Most packets asked about are others (their
   * IP ids differ): the first eight bytes first, as one word. */
  uint64_t x, y;
  if (len < NL_IP4_HDR_LEN)
    return FALSE;
  memcpy(&x, a, 8);
  memcpy(&y, b, 8);
  return x == y && a[0] == 0x45 && a[9] == b[9] &&
         memcmp(a + 12, b + 12, len - 12) == 0 &&
         sum16(a, NL_IP4_HDR_LEN) == 0xffff &&
         sum16(b, NL_IP4_HDR_LEN) == 0xffff;
}

/* Whether the @len bytes at @pkt are the common packet, an unfragmented
 * IPv4 datagram with a 20-byte header and both checksums right: the
 * checks are nl_ip4_parse's and nl_udp4_parse's, in the same words.  OUT:
 * its addresses and UDP length, when TRUE. */
static inline gboolean udp4_plain(const guint8 *pkt, size_t len,
                                  uint32_t *src, uint32_t *dst,
                                  uint16_t *ulen) {
  if (len < NL_IP4_HDR_LEN + NL_UDP_HDR_LEN || pkt[0] != 0x45 ||
      pkt[9] != NL_IPPROTO_UDP)
    return FALSE;
  uint16_t total = nl_wire_get16(pkt + 2);
  /* No fragment: MF clear and offset 0. */
  if (total < NL_IP4_HDR_LEN + NL_UDP_HDR_LEN || total > len ||
      (nl_wire_get16(pkt + 6) & 0x3fff) != 0 ||
      sum16(pkt, NL_IP4_HDR_LEN) != 0xffff)
    return FALSE;
  const guint8 *u = pkt + NL_IP4_HDR_LEN;
  uint16_t n = nl_wire_get16(u + 4);
  if (n < NL_UDP_HDR_LEN || n > total - NL_IP4_HDR_LEN)
    return FALSE;
  uint32_t a = nl_wire_get32(pkt + 12), b = nl_wire_get32(pkt + 16);
  if (nl_wire_get16(u + 6) != 0 &&
      nl_wire_fold(nl_wire_sum(
          u, n, nl_wire_pseudo_sum(a, b, NL_IPPROTO_UDP, n))) != 0)
    return FALSE;
  *src = a;
  *dst = b;
  *ulen = n;
  return TRUE;
}

/* nl_wire_describe's line for the common packet (udp4_plain), read
 * straight from the bytes; anything else goes the long way (FALSE:
 * nothing written).  The text trace decodes every packet it has not
 * seen, two per datagram through a NAT. */
static inline gboolean describe_udp4(const guint8 *pkt, size_t len,
                                     GString *out) {
  uint32_t src, dst;
  uint16_t ulen;
  if (!udp4_plain(pkt, len, &src, &dst, &ulen))
    return FALSE;
  /* "UDP %s:%u > %s:%u len=%u", by hand, in place (under 80 bytes). */
  const guint8 *u = pkt + NL_IP4_HDR_LEN;
  char *q = nl_trace_room(out, 80);
  q = put_ends(q, "UDP ", src, nl_wire_get16(u), dst, nl_wire_get16(u + 2));
  memcpy(q, " len=", 5);
  q = nl_trace_put_uint(q + 5, (uint32_t)(ulen - NL_UDP_HDR_LEN));
  nl_trace_room_done(out, q);
  return TRUE;
}

gboolean nl_wire_describe_key(const guint8 *pkt, size_t len,
                              uint64_t key[2]) {
  uint32_t src, dst;
  uint16_t ulen;
  if (!udp4_plain(pkt, len, &src, &dst, &ulen))
    return FALSE;
  /* The line's fields, and UDP's number, which no other key has. */
  key[0] = (uint64_t)src << 32 | dst;
  key[1] = (uint64_t)nl_wire_get16(pkt + NL_IP4_HDR_LEN) << 48 |
           (uint64_t)nl_wire_get16(pkt + NL_IP4_HDR_LEN + 2) << 32 |
           (uint64_t)ulen << 16 | NL_IPPROTO_UDP;
  return TRUE;
}

void nl_wire_describe(const guint8 *pkt, size_t len, GString *out) {
  NlIp4Header ip;
  if (G_LIKELY(describe_udp4(pkt, len, out)))
    return;
  if (len >= 1 && (pkt[0] >> 4) == 6) {
    nl_wire_describe6(pkt, len, out);
    return;
  }
  char a[16], b[16];
  const char *why = nl_ip4_parse(pkt, len, &ip);
  if (why != NULL) {
    g_string_append_printf(out, "malformed (%s) len=%zu", why, len);
    return;
  }
  /* The UDP and TCP lines write their addresses themselves (put_ip4):
   * the text trace decodes every packet. */
  gboolean fragment = ip.frag_offset != 0 || ip.mf;
  if (fragment ||
      (ip.proto != NL_IPPROTO_UDP && ip.proto != NL_IPPROTO_TCP)) {
    nl_ip4_to_string(ip.src, a);
    nl_ip4_to_string(ip.dst, b);
  }
  if (fragment) {
    g_string_append_printf(out,
                           "IPv4 fragment %s > %s proto=%u id=%u off=%u%s "
                           "len=%u",
                           a, b, ip.proto, ip.id, ip.frag_offset,
                           ip.mf ? " MF" : "", ip.total_len - ip.ihl_bytes);
    return;
  }
  switch (ip.proto) {
    case NL_IPPROTO_UDP: {
      NlUdpHeader u;
      if ((why = nl_udp4_parse(pkt, len, &ip, &u)) != NULL) {
        nl_ip4_to_string(ip.src, a);
        nl_ip4_to_string(ip.dst, b);
        g_string_append_printf(out, "UDP %s > %s malformed (%s)", a, b, why);
        return;
      }
      /* "UDP %s:%u > %s:%u len=%u", by hand, in place (under 80 bytes). */
      char *q = nl_trace_room(out, 80);
      q = put_ends(q, "UDP ", ip.src, u.sport, ip.dst, u.dport);
      memcpy(q, " len=", 5);
      q = nl_trace_put_uint(q + 5, (uint32_t)(u.len - NL_UDP_HDR_LEN));
      nl_trace_room_done(out, q);
      return;
    }
    case NL_IPPROTO_TCP: {
      NlTcpHeader t;
      if ((why = nl_tcp4_parse(pkt, len, &ip, &t)) != NULL) {
        nl_ip4_to_string(ip.src, a);
        nl_ip4_to_string(ip.dst, b);
        g_string_append_printf(out, "TCP %s > %s malformed (%s)", a, b, why);
        return;
      }
      /* "TCP %s:%u > %s:%u [FLAGS] seq=%u[ ack=%u] win=%u len=%u[ mss=%u]",
       * by hand. */
      char *line = nl_trace_room(out, 160);
      char *q = put_ends(line, "TCP ", ip.src, t.sport, ip.dst, t.dport);
      *q++ = ' ';
      q = put_tcp_flags(q, t.flags);
      memcpy(q, " seq=", 5);
      q = nl_trace_put_uint(q + 5, t.seq);
      if (t.flags & NL_TCP_ACK) {
        memcpy(q, " ack=", 5);
        q = nl_trace_put_uint(q + 5, t.ack);
      }
      memcpy(q, " win=", 5);
      q = nl_trace_put_uint(q + 5, t.window);
      memcpy(q, " len=", 5);
      q = nl_trace_put_uint(
          q + 5, (uint32_t)(ip.total_len - ip.ihl_bytes - t.hdr_bytes));
      if (t.mss) {
        memcpy(q, " mss=", 5);
        q = nl_trace_put_uint(q + 5, t.mss);
      }
      nl_trace_room_done(out, q);
      return;
    }
    case NL_IPPROTO_ICMP: {
      size_t l4 = ip.total_len - ip.ihl_bytes;
      const guint8 *ic = pkt + ip.ihl_bytes;
      if (l4 < NL_ICMP_HDR_LEN) {
        g_string_append_printf(out, "ICMP %s > %s malformed", a, b);
        return;
      }
      const char *what = "icmp";
      switch (ic[0]) {
        case NL_ICMP_ECHO_REPLY: what = "echo-reply"; break;
        case NL_ICMP_ECHO_REQUEST: what = "echo-request"; break;
        case NL_ICMP_TIME_EXCEEDED: what = "time-exceeded"; break;
        case NL_ICMP_DEST_UNREACH:
          switch (ic[1]) {
            case NL_ICMP_NET_UNREACH: what = "net-unreachable"; break;
            case NL_ICMP_HOST_UNREACH: what = "host-unreachable"; break;
            case NL_ICMP_PORT_UNREACH: what = "port-unreachable"; break;
            case NL_ICMP_FRAG_NEEDED: what = "frag-needed"; break;
            case NL_ICMP_ADMIN_PROHIBITED: what = "admin-prohibited"; break;
            default: what = "unreachable"; break;
          }
          break;
        default: break;
      }
      g_string_append_printf(out, "ICMP %s > %s %s", a, b, what);
      if (ic[0] == NL_ICMP_DEST_UNREACH && ic[1] == NL_ICMP_FRAG_NEEDED)
        g_string_append_printf(out, " mtu=%u", nl_wire_get16(ic + 6));
      NlIp4Header q;
      if ((ic[0] == NL_ICMP_DEST_UNREACH || ic[0] == NL_ICMP_TIME_EXCEEDED) &&
          l4 >= NL_ICMP_HDR_LEN + NL_IP4_HDR_LEN + 4) {
        const guint8 *o = ic + NL_ICMP_HDR_LEN;
        /* The quoted header is truncated; read its fields by hand. */
        memset(&q, 0, sizeof q);
        q.proto = o[9];
        q.src = nl_wire_get32(o + 12);
        q.dst = nl_wire_get32(o + 16);
        size_t oihl = (size_t)(o[0] & 0x0f) * 4;
        nl_ip4_to_string(q.src, a);
        nl_ip4_to_string(q.dst, b);
        if (l4 >= NL_ICMP_HDR_LEN + oihl + 4 &&
            (q.proto == NL_IPPROTO_UDP || q.proto == NL_IPPROTO_TCP))
          g_string_append_printf(out, " (about %s %s:%u > %s:%u)",
                                 q.proto == NL_IPPROTO_UDP ? "UDP" : "TCP", a,
                                 nl_wire_get16(o + oihl), b, nl_wire_get16(o + oihl + 2));
      }
      return;
    }
    default:
      g_string_append_printf(out, "IPv4 %s > %s proto=%u len=%u", a, b,
                             ip.proto, ip.total_len - ip.ihl_bytes);
  }
}
