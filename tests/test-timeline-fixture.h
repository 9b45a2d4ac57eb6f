/* A synthetic trace for the exporter tests: a host behind a NAT asks a STUN
 * server for its mapping, sends to a peer (lost on the link), a packet is
 * dropped at the sender's queue, and a TCP handshake starts.  Built with
 * nl_trace_add only, so the exporters are tested without the engine.
 *
 * Included by tests/test-timeline-*.c, test-pcap-*.c and test-jsonl-*.c.
 */
#ifndef NL_TEST_TIMELINE_FIXTURE_H
#define NL_TEST_TIMELINE_FIXTURE_H

#include <string.h>

#include "sim/core/trace.h"
#include "sim/net/wire.h"

/* What the fixture put in, for the tests to compare against. */
typedef struct {
  guint lanes;        /* NODE records */
  guint hops;         /* PKT_SEND records (distinct ids) */
  guint drops;        /* PKT_DROP records */
  guint sends_of_nat; /* PKT_SEND at "nat-a" */
  guint recvs_of_nat; /* PKT_RECV at "nat-a" */
} FixtureCounts;

static uint32_t fx_ip(const char *s) {
  uint32_t a = 0;
  g_assert_true(nl_ip4_from_string(s, &a));
  return a;
}

/* A STUN Binding message (RFC 5389): type, length 0, magic cookie, a
 * 96-bit transaction id. */
static size_t fx_stun(guint8 *buf, uint16_t type) {
  memset(buf, 0, 20);
  buf[0] = (guint8)(type >> 8);
  buf[1] = (guint8)type;
  buf[4] = 0x21;
  buf[5] = 0x12;
  buf[6] = 0xA4;
  buf[7] = 0x42;
  for (int i = 8; i < 20; i++)
    buf[i] = (guint8)(i * 7);
  return 20;
}

/* IPv4 + a 20-byte TCP header with @flags and correct checksums. */
static size_t fx_tcp(guint8 *buf, uint32_t src, uint16_t sport, uint32_t dst,
                     uint16_t dport, uint8_t flags, uint32_t seq,
                     uint32_t ack) {
  NlIp4Header ip = {.ihl_bytes = NL_IP4_HDR_LEN,
                    .total_len = NL_IP4_HDR_LEN + NL_TCP_HDR_LEN,
                    .id = 7,
                    .df = TRUE,
                    .ttl = 64,
                    .proto = NL_IPPROTO_TCP,
                    .src = src,
                    .dst = dst};
  nl_ip4_write(buf, &ip);
  guint8 *t = buf + NL_IP4_HDR_LEN;
  memset(t, 0, NL_TCP_HDR_LEN);
  t[0] = (guint8)(sport >> 8);
  t[1] = (guint8)sport;
  t[2] = (guint8)(dport >> 8);
  t[3] = (guint8)dport;
  for (int i = 0; i < 4; i++) {
    t[4 + i] = (guint8)(seq >> (24 - 8 * i));
    t[8 + i] = (guint8)(ack >> (24 - 8 * i));
  }
  t[12] = 5 << 4;
  t[13] = flags;
  t[14] = 0xff;
  t[15] = 0xff;
  nl_ip4_update_l4_checksum(buf, NL_IP4_HDR_LEN + NL_TCP_HDR_LEN);
  return NL_IP4_HDR_LEN + NL_TCP_HDR_LEN;
}

static void fx_udp(NlTrace *t, NlTime at, guint32 from, guint32 to, uint64_t id,
                   const char *src, uint16_t sport, const char *dst,
                   uint16_t dport, const void *data, size_t len,
                   FixtureCounts *c) {
  guint8 pkt[256];
  size_t n = nl_udp4_build(pkt, fx_ip(src), sport, fx_ip(dst), dport, data, len,
                           (uint16_t)id, 64, FALSE);
  nl_trace_add(t, at, NL_TRACE_PKT_SEND, from, to, id, 0, pkt, (guint32)n);
  c->hops++;
}

/* The packet bytes of a UDP datagram, as the fixture builds them. */
static size_t fx_udp_bytes(guint8 *pkt, const char *src, uint16_t sport,
                           const char *dst, uint16_t dport, const void *data,
                           size_t len, uint64_t id) {
  return nl_udp4_build(pkt, fx_ip(src), sport, fx_ip(dst), dport, data, len,
                       (uint16_t)id, 64, FALSE);
}

static void fx_recv(NlTrace *t, NlTime at, guint32 node, guint32 from,
                    uint64_t id, const guint8 *pkt, size_t n) {
  nl_trace_add(t, at, NL_TRACE_PKT_RECV, node, from, id, 0, pkt, (guint32)n);
}

/* Builds the fixture into @t; OUT: @c. */
static void fixture_build(NlTrace *t, FixtureCounts *c) {
  memset(c, 0, sizeof *c);
  guint32 alice = nl_trace_intern(t, "alice");
  guint32 nat = nl_trace_intern(t, "nat-a");
  guint32 stun = nl_trace_intern(t, "stun");
  guint32 bob = nl_trace_intern(t, "bob");
  guint8 pkt[256], msg[64];
  size_t n;

  nl_trace_addf(t, 0, NL_TRACE_NODE, alice, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, nat, 0, 0, 0, "nat");
  nl_trace_addf(t, 0, NL_TRACE_NODE, stun, 0, 0, 0, "server");
  nl_trace_addf(t, 0, NL_TRACE_NODE, bob, 0, 0, 0, "host");
  c->lanes = 4;
  nl_trace_addf(t, 0, NL_TRACE_NOTE, 0, 0, 0, 0,
                "Phase 1: alice learns her public address");
  nl_trace_addf(t, 0, NL_TRACE_PROC, alice, 0, 0, 0, "started stun-client");
  nl_trace_addf(t, 0, NL_TRACE_CALL, alice, 0, 0, 0,
                "sendto(3, <20 bytes>, 20, 0, {192.0.2.10:3478}) = 20");

  /* 1: alice -> nat-a, STUN Binding request. */
  size_t m = fx_stun(msg, 0x0001);
  fx_udp(t, 0, alice, nat, 1, "10.0.0.5", 50001, "192.0.2.10", 3478, msg, m, c);
  n = fx_udp_bytes(pkt, "10.0.0.5", 50001, "192.0.2.10", 3478, msg, m, 1);
  fx_recv(t, 1 * NL_MS, nat, alice, 1, pkt, n);
  c->recvs_of_nat++;
  nl_trace_addf(t, 1 * NL_MS, NL_TRACE_NAT_MAP, nat, 0, 0, 0,
                "new udp 10.0.0.5:50001 <-> 203.0.113.1:62000");
  n = fx_udp_bytes(pkt, "203.0.113.1", 62000, "192.0.2.10", 3478, msg, m, 1);
  nl_trace_add(t, 1 * NL_MS, NL_TRACE_NAT_XLATE, nat, 0, 1, 0, pkt, (guint32)n);
  /* 2: nat-a -> stun. */
  fx_udp(t, 1 * NL_MS, nat, stun, 2, "203.0.113.1", 62000, "192.0.2.10", 3478,
         msg, m, c);
  c->sends_of_nat++;
  fx_recv(t, 21 * NL_MS, stun, nat, 2, pkt, n);

  /* 3: stun -> nat-a, Binding success response. */
  m = fx_stun(msg, 0x0101);
  fx_udp(t, 21 * NL_MS, stun, nat, 3, "192.0.2.10", 3478, "203.0.113.1", 62000,
         msg, m, c);
  n = fx_udp_bytes(pkt, "192.0.2.10", 3478, "203.0.113.1", 62000, msg, m, 3);
  fx_recv(t, 41 * NL_MS, nat, stun, 3, pkt, n);
  c->recvs_of_nat++;
  n = fx_udp_bytes(pkt, "192.0.2.10", 3478, "10.0.0.5", 50001, msg, m, 3);
  nl_trace_add(t, 41 * NL_MS, NL_TRACE_NAT_XLATE, nat, 0, 3, 0, pkt,
               (guint32)n);
  /* 4: nat-a -> alice. */
  fx_udp(t, 41 * NL_MS, nat, alice, 4, "192.0.2.10", 3478, "10.0.0.5", 50001,
         msg, m, c);
  c->sends_of_nat++;
  fx_recv(t, 42 * NL_MS, alice, nat, 4, pkt, n);
  nl_trace_addf(t, 42 * NL_MS, NL_TRACE_STDOUT, alice, 0, 0, 0,
                "mapped address 203.0.113.1:62000");

  /* 5: a datagram to bob, lost on the link before bob. */
  nl_trace_addf(t, 1 * NL_S, NL_TRACE_NOTE, 0, 0, 0, 0,
                "Phase 2: alice writes to bob directly");
  fx_udp(t, 1 * NL_S, alice, nat, 5, "10.0.0.5", 50001, "198.51.100.1", 50002,
         "hello", 5, c);
  n = fx_udp_bytes(pkt, "10.0.0.5", 50001, "198.51.100.1", 50002, "hello", 5,
                   5);
  fx_recv(t, 1 * NL_S + 1 * NL_MS, nat, alice, 5, pkt, n);
  c->recvs_of_nat++;
  n = fx_udp_bytes(pkt, "203.0.113.1", 62000, "198.51.100.1", 50002, "hello", 5,
                   5);
  nl_trace_add(t, 1 * NL_S + 1 * NL_MS, NL_TRACE_NAT_XLATE, nat, 0, 5, 0, pkt,
               (guint32)n);
  fx_udp(t, 1 * NL_S + 1 * NL_MS, nat, bob, 6, "203.0.113.1", 62000,
         "198.51.100.1", 50002, "hello", 5, c);
  c->sends_of_nat++;
  nl_trace_add(t, 1 * NL_S + 31 * NL_MS, NL_TRACE_PKT_DROP, bob, nat, 6,
               NL_DROP_LOSS, pkt, (guint32)n);
  c->drops++;

  /* 7: bob opens TCP to stun: SYN, SYN-ACK. */
  nl_trace_addf(t, 2 * NL_S, NL_TRACE_TCP_STATE, bob, 0, 0, 0,
                "CLOSED -> SYN_SENT");
  n = fx_tcp(pkt, fx_ip("198.51.100.1"), 40000, fx_ip("192.0.2.10"), 80,
             NL_TCP_SYN, 1000, 0);
  nl_trace_add(t, 2 * NL_S, NL_TRACE_PKT_SEND, bob, stun, 7, 0, pkt,
               (guint32)n);
  c->hops++;
  fx_recv(t, 2 * NL_S + 25 * NL_MS, stun, bob, 7, pkt, n);
  n = fx_tcp(pkt, fx_ip("192.0.2.10"), 80, fx_ip("198.51.100.1"), 40000,
             NL_TCP_SYN | NL_TCP_ACK, 5000, 1001);
  nl_trace_add(t, 2 * NL_S + 25 * NL_MS, NL_TRACE_PKT_SEND, stun, bob, 8, 0,
               pkt, (guint32)n);
  c->hops++;
  fx_recv(t, 2 * NL_S + 50 * NL_MS, bob, stun, 8, pkt, n);
  nl_trace_addf(t, 2 * NL_S + 50 * NL_MS, NL_TRACE_TCP_STATE, bob, 0, 0, 0,
                "SYN_SENT -> ESTABLISHED");

  /* 9: dropped at alice's own queue. */
  fx_udp(t, 3 * NL_S, alice, nat, 9, "10.0.0.5", 50001, "198.51.100.1", 50002,
         "again", 5, c);
  n = fx_udp_bytes(pkt, "10.0.0.5", 50001, "198.51.100.1", 50002, "again", 5,
                   9);
  nl_trace_add(t, 3 * NL_S, NL_TRACE_PKT_DROP, alice, nat, 9,
               NL_DROP_QUEUE_FULL, pkt, (guint32)n);
  c->drops++;
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_STDERR, alice, 0, 0, 0,
                "warning: \"queue\" full \\ retrying & waiting <soon>");
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_CHECK, 0, 0, 0, 0,
                "expect alice stdout \"mapped address\": pass");
}

#endif
