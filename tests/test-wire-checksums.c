/* Wire formats: Internet checksum, IPv4/UDP headers, ICMP errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "sim/net/wire.h"

static void test_wire_checksum_rfc1071_example(void **state) {
  /* RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2 (before the
   * complement). */
  const guint8 d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  assert_int_equal(nl_wire_checksum(d, sizeof d), (uint16_t)~0xddf2);
}

/* RFC 1071 summed a 16-bit word at a time, in network order: what the
 * word-at-a-time sum must equal. */
static uint32_t reference_sum(const guint8 *p, size_t len, uint32_t sum) {
  uint64_t s = sum;
  for (; len >= 2; p += 2, len -= 2)
    s += (uint32_t)(p[0] << 8 | p[1]);
  if (len)
    s += (uint32_t)(p[0] << 8);
  while (s >> 32)
    s = (s & 0xffffffffu) + (s >> 32);
  return (uint32_t)s;
}

static void test_wire_checksum_matches_wordwise_sum(void **state) {
  /* Every length to 1,600 at every alignment, from random bytes, zeros
   * and 0xff (sums that fold to 0xffff), with and without a carried-in
   * partial sum. */
  static guint8 buf[1600 + 8];
  uint64_t x = 88172645463325252ull;
  for (guint fill = 0; fill < 3; fill++) {
    for (guint i = 0; i < sizeof buf; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = fill == 0 ? (guint8)x : fill == 1 ? 0 : 0xff;
    }
    for (size_t len = 0; len <= 1600; len++) {
      for (size_t off = 0; off < 8; off++) {
        const guint8 *p = buf + off;
        uint32_t in = off & 1 ? (uint32_t)x : off & 2 ? 0xffffffffu : 0;
        assert_int_equal(nl_wire_fold(nl_wire_sum(p, len, in)),
                         nl_wire_fold(reference_sum(p, len, in)));
        assert_int_equal(nl_wire_checksum(p, len),
                         nl_wire_fold(reference_sum(p, len, 0)));
      }
    }
  }
}

static void test_wire_copy_sum_copies_and_sums(void **state) {
  /* Every length to 600 at every alignment of source and destination:
   * the bytes copied, nothing past them written, and the sum the
   * word-by-word one (folded, 0 only for all zeros). */
  static guint8 src[600 + 8], dst[600 + 16];
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (guint fill = 0; fill < 3; fill++) {
    for (guint i = 0; i < sizeof src; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      src[i] = fill == 0 ? (guint8)x : fill == 1 ? 0 : 0xff;
    }
    for (size_t len = 0; len <= 600; len++) {
      for (size_t so = 0; so < 8; so++) {
        size_t dof = (so * 3 + len) & 7;
        memset(dst, 0xa5, sizeof dst);
        uint32_t s = nl__wire_copy_sum(dst + dof, src + so, len);
        assert_memory_equal(dst + dof, src + so, len);
        assert_int_equal(dst[dof + len], 0xa5);
        if (dof > 0)
          assert_int_equal(dst[dof - 1], 0xa5);
        assert_int_equal((uint16_t)~s,
                         nl_wire_fold(reference_sum(src + so, len, 0)));
        assert_true(s <= 0xffff);
        if (fill == 1 || len == 0)
          assert_int_equal(s, 0);
        else
          assert_int_not_equal(s, 0);
      }
    }
  }
}

static void test_wire_ip4_header_known_bytes(void **state) {
  /* A classic example header (Wikipedia "IPv4 header checksum"):
   * 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7. */
  NlIp4Header h = {.total_len = 0x73, .id = 0, .df = TRUE, .ttl = 64,
                   .proto = 17, .src = 0xc0a80001, .dst = 0xc0a800c7};
  guint8 buf[20];
  nl_ip4_write(buf, &h);
  const guint8 expect[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                             0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                             0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  assert_memory_equal(buf, expect, 20);
}

static void test_wire_udp_roundtrip_and_corruption(void **state) {
  guint8 pkt[64];
  size_t n = nl_udp4_build(pkt, 0x0a000005, 5000, 0xc000020a, 7, "hello", 5,
                           1, 64, FALSE);
  assert_int_equal(n, 33);
  NlIp4Header ip;
  NlUdpHeader u;
  assert_null(nl_ip4_parse(pkt, n, &ip));
  assert_null(nl_udp4_parse(pkt, n, &ip, &u));
  assert_int_equal(u.sport, 5000);
  assert_int_equal(u.dport, 7);
  assert_int_equal(u.len, 13);
  pkt[30] ^= 0x20; /* flip a payload bit */
  assert_string_equal(nl_udp4_parse(pkt, n, &ip, &u), "bad UDP checksum");
  pkt[30] ^= 0x20;
  pkt[8] = 1; /* TTL edit without checksum update */
  assert_string_equal(nl_ip4_parse(pkt, n, &ip), "bad IPv4 header checksum");
  nl_ip4_update_checksum(pkt);
  assert_null(nl_ip4_parse(pkt, n, &ip));
}

/* nl_tcp4_read reads what nl_tcp4_parse reads, options too, and says the
 * same of a malformed header; only the checksum it leaves to the caller
 * (a segment whose checksum is known right). */
static void test_wire_tcp_read_is_parse_without_checksum(void **state) {
  guint8 pkt[128];
  NlTcpHeader h = {.sport = 40000, .dport = 80, .seq = 7, .ack = 9,
                   .flags = NL_TCP_SYN | NL_TCP_ACK, .window = 512,
                   .mss = 1460, .wscale = 8, .ts = TRUE, .tsval = 11,
                   .tsecr = 12};
  size_t n = nl_tcp4_build(pkt, 0x0a000005, 0xc000020a, &h, "hello", 5, 3,
                           64, TRUE);
  NlIp4Header ip;
  NlTcpHeader a, b;
  assert_null(nl_ip4_parse(pkt, n, &ip));
  assert_null(nl_tcp4_parse(pkt, n, &ip, &a));
  assert_null(nl_tcp4_read(pkt, n, &ip, &b));
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(b.mss, 1460);
  assert_int_equal(b.wscale, 8);
  assert_true(b.ts);
  assert_int_equal(b.tsecr, 12);
  pkt[n - 1] ^= 0x20; /* flip a payload bit */
  assert_string_equal(nl_tcp4_parse(pkt, n, &ip, &a), "bad TCP checksum");
  assert_null(nl_tcp4_read(pkt, n, &ip, &a));
  assert_memory_equal(&a, &b, sizeof a);
  pkt[NL_IP4_HDR_LEN + 12] = 0x40; /* a 16-byte header: too short */
  assert_string_equal(nl_tcp4_read(pkt, n, &ip, &a), "bad TCP header length");
  /* Timestamps alone (every segment after the handshake; read the short
   * way), and the same 12 bytes of options in another order. */
  NlTcpHeader d = {.sport = 1, .dport = 2, .seq = 3, .ack = 4,
                   .flags = NL_TCP_ACK, .window = 5, .ts = TRUE,
                   .tsval = 0x01020304, .tsecr = 0xa0b0c0d0};
  n = nl_tcp4_build(pkt, 0x0a000005, 0xc000020a, &d, "x", 1, 3, 64, TRUE);
  assert_null(nl_ip4_parse(pkt, n, &ip));
  assert_null(nl_tcp4_parse(pkt, n, &ip, &a));
  assert_null(nl_tcp4_read(pkt, n, &ip, &b));
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(b.hdr_bytes, 32);
  assert_true(b.ts);
  assert_int_equal(b.tsval, 0x01020304);
  assert_int_equal(b.tsecr, 0xa0b0c0d0);
  guint8 *o = pkt + NL_IP4_HDR_LEN + NL_TCP_HDR_LEN;
  memmove(o, o + 2, 10); /* timestamps first, then NOP NOP */
  o[10] = o[11] = 1;
  assert_null(nl_tcp4_read(pkt, n, &ip, &a));
  assert_memory_equal(&a, &b, sizeof a);
}

/* A datagram as RFC 791 and RFC 768 spell it out, field by field, its
 * checksums summed word by word: what nl_udp4_build_ip must write. */
static size_t reference_udp4(guint8 *buf, uint32_t src, uint16_t sport,
                             uint32_t dst, uint16_t dport, const guint8 *pay,
                             size_t plen, uint16_t id, uint8_t ttl,
                             gboolean df) {
  size_t total = 28 + plen;
  memset(buf, 0, total);
  buf[0] = 0x45;
  nl_wire_put16(buf + 2, (uint16_t)total);
  nl_wire_put16(buf + 4, id);
  nl_wire_put16(buf + 6, df ? 0x4000 : 0);
  buf[8] = ttl;
  buf[9] = 17;
  nl_wire_put32(buf + 12, src);
  nl_wire_put32(buf + 16, dst);
  nl_wire_put16(buf + 10, nl_wire_fold(reference_sum(buf, 20, 0)));
  nl_wire_put16(buf + 20, sport);
  nl_wire_put16(buf + 22, dport);
  nl_wire_put16(buf + 24, (uint16_t)(8 + plen));
  memcpy(buf + 28, pay, plen);
  guint8 pseudo[12] = {0};
  memcpy(pseudo, buf + 12, 8);
  pseudo[9] = 17;
  nl_wire_put16(pseudo + 10, (uint16_t)(8 + plen));
  uint16_t c = nl_wire_fold(
      reference_sum(buf + 20, 8 + plen, reference_sum(pseudo, 12, 0)));
  nl_wire_put16(buf + 26, c == 0 ? 0xffff : c);
  return total;
}

static void test_wire_udp4_build_matches_reference(void **state) {
  /* Every payload length to 300, at four payload alignments, with
   * addresses, ports, identification and TTL from a random stream, and
   * with words chosen so the UDP checksum sums to 0 (written 0xffff) and
   * the header's to 0xffff: the bytes of the reference, and the kept
   * header as nl_ip4_parse reads it back. */
  static guint8 pay[300 + 4], got[400], want[400];
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < sizeof pay; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pay[i] = (guint8)x;
  }
  for (size_t plen = 0; plen <= 300; plen++) {
    for (size_t off = 0; off < 4; off++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      uint32_t src = (uint32_t)x, dst = (uint32_t)(x >> 32);
      uint16_t sport = (uint16_t)(x >> 7), dport = (uint16_t)(x >> 23);
      uint16_t id = (uint16_t)(x >> 40);
      uint8_t ttl = (uint8_t)(x >> 56);
      gboolean df = (x >> 3) & 1;
      if (off == 3) {
        /* All-ones words: sums that fold to 0xffff. */
        src = dst = 0xffffffffu;
        sport = dport = 0xffff;
      }
      NlIp4Header kept, read;
      size_t n = nl_udp4_build_ip(got, src, sport, dst, dport, pay + off,
                                  plen, id, ttl, df, &kept);
      size_t m = reference_udp4(want, src, sport, dst, dport, pay + off,
                                plen, id, ttl, df);
      assert_int_equal(n, m);
      assert_memory_equal(got, want, n);
      assert_null(nl_ip4_parse(got, n, &read));
      /* Field by field (the padding is nobody's). */
      assert_int_equal(kept.ihl_bytes, read.ihl_bytes);
      assert_int_equal(kept.tos, read.tos);
      assert_int_equal(kept.total_len, read.total_len);
      assert_int_equal(kept.id, read.id);
      assert_int_equal(kept.df, read.df);
      assert_int_equal(kept.mf, read.mf);
      assert_int_equal(kept.frag_offset, read.frag_offset);
      assert_int_equal(kept.ttl, read.ttl);
      assert_int_equal(kept.proto, read.proto);
      assert_int_equal(kept.src, read.src);
      assert_int_equal(kept.dst, read.dst);
    }
  }
  /* A UDP checksum of 0 goes out as 0xffff (RFC 768): the payload word
   * that makes the sum 0xffff. */
  guint8 two[2] = {0, 0};
  nl_udp4_build_ip(got, 1, 2, 3, 4, two, 2, 5, 64, FALSE, &(NlIp4Header){0});
  uint16_t c = nl_wire_get16(got + 26);
  uint16_t w = (uint16_t)(0xffff - (uint16_t)~c); /* 0 - ~c, ones' complement */
  nl_wire_put16(two, w == 0 ? 0xffff : w);
  size_t n = nl_udp4_build_ip(got, 1, 2, 3, 4, two, 2, 5, 64, FALSE,
                              &(NlIp4Header){0});
  reference_udp4(want, 1, 2, 3, 4, two, 2, 5, 64, FALSE);
  assert_memory_equal(got, want, n);
  assert_int_equal(nl_wire_get16(got + 26), 0xffff);
}

static void test_wire_nat_rewrite_then_l4_checksum(void **state) {
  guint8 pkt[64];
  size_t n = nl_udp4_build(pkt, 0x0a000005, 5000, 0xc000020a, 7, "x", 1, 1,
                           64, FALSE);
  /* Rewrite the source to 203.0.113.1:40000 as a NAT would. */
  pkt[12] = 203; pkt[13] = 0; pkt[14] = 113; pkt[15] = 1;
  pkt[20] = 40000 >> 8; pkt[21] = 40000 & 0xff;
  nl_ip4_update_checksum(pkt);
  NlIp4Header ip;
  NlUdpHeader u;
  assert_null(nl_ip4_parse(pkt, n, &ip));
  assert_non_null(nl_udp4_parse(pkt, n, &ip, &u));
  nl_ip4_update_l4_checksum(pkt, n);
  assert_null(nl_udp4_parse(pkt, n, &ip, &u));
  assert_int_equal(u.sport, 40000);
}

static void test_wire_truncated_and_garbage_rejected(void **state) {
  guint8 pkt[64];
  size_t n = nl_udp4_build(pkt, 1, 2, 3, 4, "abc", 3, 0, 64, FALSE);
  NlIp4Header ip;
  for (size_t len = 0; len < n; len++)
    assert_non_null(nl_ip4_parse(pkt, len, &ip));
  guint8 garbage[40];
  for (size_t i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8)(i * 37 + 11);
  assert_non_null(nl_ip4_parse(garbage, sizeof garbage, &ip));
  GString *s = g_string_new(NULL);
  nl_wire_describe(garbage, sizeof garbage, s);
  assert_non_null(strstr(s->str, "malformed"));
  g_string_free(s, TRUE);
}

/* The UDP line of nl_wire_describe as its parts say it: nl_ip4_parse and
 * nl_udp4_parse's verdicts and fields, written with printf. */
static void udp_reference(const guint8 *pkt, size_t len, GString *out) {
  NlIp4Header ip;
  NlUdpHeader u;
  char a[16], b[16];
  const char *why = nl_ip4_parse(pkt, len, &ip);
  g_string_truncate(out, 0);
  if (why != NULL) {
    g_string_printf(out, "malformed (%s) len=%zu", why, len);
    return;
  }
  nl_ip4_to_string(ip.src, a);
  nl_ip4_to_string(ip.dst, b);
  if (ip.frag_offset != 0 || ip.mf) {
    g_string_printf(out, "IPv4 fragment %s > %s proto=%u id=%u off=%u%s len=%u",
                    a, b, ip.proto, ip.id, ip.frag_offset, ip.mf ? " MF" : "",
                    ip.total_len - ip.ihl_bytes);
    return;
  }
  if (ip.proto != NL_IPPROTO_UDP)
    return; /* not asked */
  if ((why = nl_udp4_parse(pkt, len, &ip, &u)) != NULL) {
    g_string_printf(out, "UDP %s > %s malformed (%s)", a, b, why);
    return;
  }
  g_string_printf(out, "UDP %s:%u > %s:%u len=%u", a, u.sport, b, u.dport,
                  u.len - NL_UDP_HDR_LEN);
}

/* nl_wire_describe reads a datagram's line straight from its bytes when
 * both checksums are right: each header field changed (a byte flipped at
 * every place, lengths cut and grown, fragment bits, no checksum, ports
 * and addresses of every digit count) still writes what the parsers
 * say, so the fast reading takes nothing the parsers would refuse. */
static void test_wire_describe_udp_as_parsers_say(void **state) {
  (void)state;
  static const uint32_t addrs[] = {0, 0x01020304, 0x0a00010b, 0xffffffff,
                                   0x64400001};
  static const uint16_t ports[] = {0, 7, 53, 999, 4242, 58648, 65535};
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  guint8 pkt[160], orig[160];
  char payload[100];
  memset(payload, 'x', sizeof payload);
  unsigned checked = 0;
  for (size_t ai = 0; ai < G_N_ELEMENTS(addrs); ai++)
    for (size_t pi = 0; pi < G_N_ELEMENTS(ports); pi++)
      for (size_t plen = 0; plen <= sizeof payload; plen += 33) {
        size_t n = nl_udp4_build(orig, addrs[ai], ports[pi],
                                 addrs[G_N_ELEMENTS(addrs) - 1 - ai],
                                 ports[G_N_ELEMENTS(ports) - 1 - pi], payload,
                                 plen, (uint16_t)(ai * 7 + pi), 64, pi & 1);
        /* As built; a byte flipped at every place; the checksum 0 (none);
         * every length from 0 to 4 bytes more (the packet's end read as
         * trailing bytes). */
        for (size_t at = 0; at <= n + 1; at++) {
          memcpy(pkt, orig, n);
          memset(pkt + n, 0, 4);
          size_t len = n;
          if (at < n)
            pkt[at] ^= (guint8)(0x10 << (at % 4));
          else if (at == n)
            pkt[26] = pkt[27] = 0; /* no UDP checksum */
          for (size_t cut = 0; cut <= n + 4; cut++) {
            if (at < n + 1 && cut != len)
              continue;
            g_string_truncate(got, 0);
            nl_wire_describe(pkt, cut, got);
            udp_reference(pkt, cut, want);
            if (want->len == 0)
              continue; /* another protocol */
            assert_string_equal(got->str, want->str);
            checked++;
          }
        }
        /* Fragment bits: MF, an offset. */
        static const uint16_t frag[] = {0x2000, 0x0001, 0x1000, 0x4000};
        for (size_t f = 0; f < G_N_ELEMENTS(frag); f++) {
          memcpy(pkt, orig, n);
          nl_wire_put16(pkt + 6, frag[f]);
          nl_ip4_update_checksum(pkt);
          g_string_truncate(got, 0);
          nl_wire_describe(pkt, n, got);
          udp_reference(pkt, n, want);
          assert_string_equal(got->str, want->str);
          checked++;
        }
      }
  assert_true(checked > 10000);
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
}

/* A plain 20-byte header is read straight through; one with options, a
 * bad checksum or a wrong length the long way: each reads as RFC 791
 * says, or says what is wrong. */
static void test_wire_ip4_parse_plain_and_other_headers(void **state) {
  NlIp4Header h = {.total_len = 48, .id = 0x1234, .df = FALSE, .mf = TRUE,
                   .frag_offset = 1480, .ttl = 9, .proto = 17,
                   .src = 0x0a000005, .dst = 0xc000020a, .tos = 0x10};
  guint8 pkt[48] = {0};
  nl_ip4_write(pkt, &h);
  NlIp4Header ip;
  assert_null(nl_ip4_parse(pkt, sizeof pkt, &ip));
  assert_int_equal(ip.ihl_bytes, 20);
  assert_int_equal(ip.tos, 0x10);
  assert_int_equal(ip.total_len, 48);
  assert_int_equal(ip.id, 0x1234);
  assert_false(ip.df);
  assert_true(ip.mf);
  assert_int_equal(ip.frag_offset, 1480);
  assert_int_equal(ip.ttl, 9);
  assert_int_equal(ip.proto, 17);
  assert_int_equal(ip.src, 0x0a000005);
  assert_int_equal(ip.dst, 0xc000020a);
  /* Shorter than its total length; a bad checksum. */
  assert_string_equal(nl_ip4_parse(pkt, 47, &ip), "bad IPv4 total length");
  pkt[11] ^= 1;
  assert_string_equal(nl_ip4_parse(pkt, sizeof pkt, &ip),
                      "bad IPv4 header checksum");
  assert_int_equal(ip.src, 0x0a000005); /* read before the checksum */
  pkt[11] ^= 1;
  /* Four bytes of options (a no-op option and end of list). */
  guint8 opt[48] = {0};
  memcpy(opt, pkt, 20);
  opt[0] = 0x46;
  opt[20] = 1;
  nl_wire_put16(opt + 10, 0);
  nl_wire_put16(opt + 10, nl_wire_checksum(opt, 24));
  assert_null(nl_ip4_parse(opt, sizeof opt, &ip));
  assert_int_equal(ip.ihl_bytes, 24);
  assert_int_equal(ip.total_len, 48);
  assert_int_equal(ip.dst, 0xc000020a);
  opt[0] = 0x55;
  assert_string_equal(nl_ip4_parse(opt, sizeof opt, &ip), "not IPv4");
}

static void test_wire_icmp_port_unreachable_quotes_original(void **state) {
  guint8 orig[64], err[NL_ICMP_ERROR_MAX];
  size_t n = nl_udp4_build(orig, 0x0a000005, 5000, 0xc000020a, 9, "hi", 2, 7,
                           64, FALSE);
  size_t e = nl_icmp4_build_error(err, 0xc000020a, NL_ICMP_DEST_UNREACH,
                                  NL_ICMP_PORT_UNREACH, 0, orig, n, 1);
  assert_int_equal(e, 20 + 8 + 20 + 8);
  NlIp4Header ip;
  assert_null(nl_ip4_parse(err, e, &ip));
  assert_int_equal(ip.dst, 0x0a000005);
  assert_int_equal(nl_wire_checksum(err + 20, e - 20), 0);
  GString *s = g_string_new(NULL);
  nl_wire_describe(err, e, s);
  assert_string_equal(s->str, "ICMP 192.0.2.10 > 10.0.0.5 port-unreachable "
                              "(about UDP 10.0.0.5:5000 > 192.0.2.10:9)");
  g_string_free(s, TRUE);
}

static void test_wire_ip4_string_parse(void **state) {
  uint32_t a;
  assert_true(nl_ip4_from_string("10.0.0.5", &a));
  assert_int_equal(a, 0x0a000005);
  assert_false(nl_ip4_from_string("10.0.0", &a));
  assert_false(nl_ip4_from_string("10.0.0.256", &a));
  assert_false(nl_ip4_from_string("10.0.0.5x", &a));
  assert_false(nl_ip4_from_string("", &a));
  char b[16];
  assert_string_equal(nl_ip4_to_string(0xcb007101, b), "203.0.113.1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_wire_checksum_rfc1071_example),
    cmocka_unit_test(test_wire_checksum_matches_wordwise_sum),
    cmocka_unit_test(test_wire_copy_sum_copies_and_sums),
    cmocka_unit_test(test_wire_ip4_header_known_bytes),
    cmocka_unit_test(test_wire_udp_roundtrip_and_corruption),
    cmocka_unit_test(test_wire_udp4_build_matches_reference),
      cmocka_unit_test(test_wire_tcp_read_is_parse_without_checksum),
    cmocka_unit_test(test_wire_nat_rewrite_then_l4_checksum),
    cmocka_unit_test(test_wire_truncated_and_garbage_rejected),
    cmocka_unit_test(test_wire_ip4_parse_plain_and_other_headers),
    cmocka_unit_test(test_wire_icmp_port_unreachable_quotes_original),
    cmocka_unit_test(test_wire_ip4_string_parse),
    cmocka_unit_test(test_wire_describe_udp_as_parsers_say),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
