/* TCP engine: moving data — a bulk transfer over a bad link, flow control
 * stalling a writer, short writes, half-close, resets on close, Nagle. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-tcp-harness.h"

#define ALL_BAD                                                                \
  (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP | POLLRDHUP)

static guint8 pattern(size_t i) {
  return (guint8)((i * 2654435761u) >> 13);
}

/* ---- 10 MiB over a lossy, reordering, duplicating link ---------------- */

#define BULK (10u * 1024 * 1024)

typedef struct {
  size_t chunk; /* bytes a send; 0: 65536 */
  size_t sent, received;
  gboolean identical, eof;
  NlTime done_at;
  uint64_t retransmits, fast;
} BulkResult;

static void scenario_bulk(Wire *w, void *res) {
  BulkResult *r = res;
  w->loss = 0.05;
  w->reorder = 0.05;
  w->reorder_delay = 3 * NL_MS;
  w->dup = 0.01;
  Pair p;
  pair_open(w, &p, 5001);
  static guint8 buf[65536];
  r->identical = TRUE;
  gboolean closed = FALSE;
  for (int iter = 0; iter < 2000000 && !r->eof; iter++) {
    while (r->sent < BULK) {
      size_t n = MIN(r->chunk ? r->chunk : sizeof buf, BULK - r->sent);
      for (size_t i = 0; i < n; i++)
        buf[i] = pattern(r->sent + i);
      ssize_t k = nl_tcp_send(p.client, buf, n, 0);
      if (k < 0) {
        assert_int_equal(k, -EAGAIN);
        break;
      }
      r->sent += (size_t)k;
    }
    if (r->sent == BULK && !closed) {
      nl_tcp_close(p.client);
      closed = TRUE;
    }
    for (;;) {
      ssize_t k = nl_tcp_recv(p.server, buf, sizeof buf, 0);
      if (k == 0) {
        r->eof = TRUE;
        r->done_at = nl_event_now(w->q);
        break;
      }
      if (k < 0) {
        assert_int_equal(k, -EAGAIN);
        break;
      }
      for (ssize_t i = 0; i < k; i++)
        if (buf[i] != pattern(r->received + (size_t)i))
          r->identical = FALSE;
      r->received += (size_t)k;
    }
    run_for(w, 5 * NL_MS);
  }
  NlTcpStats st;
  nl_tcp_stack_stats(w->h[0].st, &st);
  r->retransmits = st.retransmits;
  r->fast = st.fast_retransmits;
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 70 * NL_S);
}

static void test_tcp_bulk_over_lossy_link_is_byte_identical(void **state) {
  BulkResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(11, 10 * NL_MS, scenario_bulk, &r1, &r2);
  assert_int_equal(r1.sent, BULK);
  assert_true(r1.eof);
  assert_int_equal(r1.received, BULK);
  assert_true(r1.identical);
  assert_true(r1.retransmits > 0);
  assert_true(r1.fast > 0);
  assert_int_equal(r1.done_at, r2.done_at);
}

/* The same in the packets themselves, as the lab's hosts send them: a
 * segment that is a whole send-queue block, sent the first time, goes in
 * the block's own packet, which the sender keeps for a retransmission
 * while the wire (and then the receiver's queue) has it; a
 * retransmission goes in a copy.  Every segment's checksum is checked
 * (hook_send_packet), the blocks' sums being taken as send() fills them.
 * Run under ASan, this is where a packet
 * freed under its other holder would show. */
typedef struct {
  BulkResult bulk;
  uint64_t sent, shared, shared_resent;
} SharedResult;

static void scenario_bulk_shared(Wire *w, void *res) {
  SharedResult *r = res;
  wire_use_packets(w);
  /* Odd-sized sends: blocks filled in pieces at odd offsets too, whose
   * sums add byte-swapped (the wire checks every segment's checksum). */
  r->bulk.chunk = 4099;
  scenario_bulk(w, &r->bulk);
  r->sent = w->sent;
  r->shared = w->shared;
  r->shared_resent = w->shared_resent;
}

static void test_tcp_bulk_in_shared_packets_is_byte_identical(void **state) {
  SharedResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(11, 10 * NL_MS, scenario_bulk_shared, &r1, &r2);
  assert_int_equal(r1.bulk.sent, BULK);
  assert_true(r1.bulk.eof);
  assert_int_equal(r1.bulk.received, BULK);
  assert_true(r1.bulk.identical);
  assert_true(r1.bulk.retransmits > 0);
  assert_true(r1.bulk.fast > 0);
  /* Most data segments went in their blocks' packets (BULK is some 7,240
   * full segments), none of them a retransmission. */
  assert_true(r1.shared > 6000);
  assert_int_equal(r1.shared_resent, 0);
  assert_int_equal(r1.bulk.done_at, r2.bulk.done_at);
}

/* ---- flow control: a reader that stops stalls the writer -------------- */

typedef struct {
  size_t before_stall, buffered_at_stall, after_resume;
  unsigned poll_stalled, poll_resumed;
  int notified_stalled, notified_resumed;
  int probes;
  ssize_t eagain;
} StallResult;

static size_t fill(NlTcpSock *s, ssize_t *last) {
  static guint8 buf[8192];
  size_t total = 0;
  for (;;) {
    ssize_t k = nl_tcp_send(s, buf, sizeof buf, 0);
    if (k <= 0) {
      *last = k;
      return total;
    }
    total += (size_t)k;
  }
}

static void scenario_stall(Wire *w, void *res) {
  StallResult *r = res;
  Pair p;
  pair_open(w, &p, 5002);
  /* The reader never reads: the writer fills both buffers, then stops. */
  for (int i = 0; i < 100; i++) {
    r->before_stall += fill(p.client, &r->eagain);
    run_for(w, 100 * NL_MS);
  }
  r->buffered_at_stall = nl_tcp_readable(p.server);
  r->poll_stalled = nl_tcp_poll(p.client);
  r->notified_stalled = p.cu.notified;
  run_for(w, 20 * NL_S); /* the persist timer keeps probing */
  r->probes = count_states(w, w->h[0].node, "zero-window probe");
  /* The reader drains its buffer: a window update wakes the writer. */
  static guint8 sink[65536];
  while (nl_tcp_recv(p.server, sink, sizeof sink, 0) > 0)
    ;
  run_for(w, 1 * NL_S);
  r->notified_resumed = p.cu.notified;
  r->poll_resumed = p.cu.last_poll;
  ssize_t last;
  r->after_resume = fill(p.client, &last);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_slow_reader_stalls_writer(void **state) {
  StallResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(12, 10 * NL_MS, scenario_stall, &r1, &r2);
  assert_int_equal(r1.eagain, -EAGAIN);
  /* The receiver holds its window's worth (half of SO_RCVBUF). */
  assert_true(r1.buffered_at_stall <= NL_TCP_DEFAULT_RCVBUF / 2);
  assert_true(r1.buffered_at_stall >= NL_TCP_DEFAULT_RCVBUF / 2 - 1460);
  assert_true(r1.before_stall > r1.buffered_at_stall);
  assert_false(r1.poll_stalled & POLLOUT);
  assert_true(r1.probes >= 3);
  assert_true(r1.notified_resumed > r1.notified_stalled);
  assert_true(r1.poll_resumed & POLLOUT);
  assert_true(r1.after_resume > 0);
}

/* ---- short writes ------------------------------------------------------ */

typedef struct {
  ssize_t first, second, autotuned;
  int sndbuf;
} ShortResult;

static void scenario_short(Wire *w, void *res) {
  ShortResult *r = res;
  Pair p;
  memset(&p, 0, sizeof p);
  p.listener = nl_tcp_socket(w->h[1].st, NULL);
  assert_int_equal(nl_tcp_bind(p.listener, INADDR_ANY, 5003), 0);
  assert_int_equal(nl_tcp_listen(p.listener, 4), 0);
  p.client = nl_tcp_socket(w->h[0].st, NULL);
  int v = 10000;
  nl_tcp_setsockopt(p.client, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  socklen_t len = sizeof r->sndbuf;
  nl_tcp_getsockopt(p.client, SOL_SOCKET, SO_SNDBUF, &r->sndbuf, &len);
  nl_tcp_connect(p.client, ADDR_B, 5003);
  run_for(w, 100 * NL_MS);
  static guint8 buf[100000];
  r->first = nl_tcp_send(p.client, buf, sizeof buf, 0);
  r->second = nl_tcp_send(p.client, buf, sizeof buf, 0);
  /* Without SO_SNDBUF: Linux sizes the buffer from the initial window. */
  NlTcpSock *c2 = nl_tcp_socket(w->h[0].st, NULL);
  nl_tcp_connect(c2, ADDR_B, 5003);
  run_for(w, 100 * NL_MS);
  r->autotuned = nl_tcp_send(c2, buf, sizeof buf, 0);
  nl_tcp_close(c2);
  nl_tcp_close(p.client);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_nonblocking_send_short_then_eagain(void **state) {
  ShortResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(13, 10 * NL_MS, scenario_short, &r1, &r2);
  assert_int_equal(r1.sndbuf, 20000); /* Linux doubles SO_SNDBUF */
  assert_int_equal(r1.first, 20000);
  assert_int_equal(r1.second, -EAGAIN);
  /* 2 × IW10 × 4096 (tcp_sndbuf_expand's per-segment truesize). */
  assert_int_equal(r1.autotuned, 81920);
}

/* ---- half-close -------------------------------------------------------- */

typedef struct {
  ssize_t srv_data, srv_eof, cli_data, cli_eof, send_after_shut;
  unsigned srv_poll_eof, cli_poll_shut;
  char a[16], b[16];
} HalfResult;

static void scenario_half(Wire *w, void *res) {
  HalfResult *r = res;
  Pair p;
  pair_open(w, &p, 5004);
  nl_tcp_send(p.client, "request", 7, 0);
  assert_int_equal(nl_tcp_shutdown(p.client, SHUT_WR), 0);
  r->send_after_shut = nl_tcp_send(p.client, "x", 1, 0);
  run_for(w, 200 * NL_MS);
  r->cli_poll_shut = nl_tcp_poll(p.client);
  r->srv_data = nl_tcp_recv(p.server, r->a, sizeof r->a, 0);
  r->srv_eof = nl_tcp_recv(p.server, r->a + 8, 8, 0);
  r->srv_poll_eof = nl_tcp_poll(p.server);
  nl_tcp_send(p.server, "response", 8, 0);
  nl_tcp_close(p.server);
  run_for(w, 200 * NL_MS);
  r->cli_data = nl_tcp_recv(p.client, r->b, sizeof r->b, 0);
  r->cli_eof = nl_tcp_recv(p.client, r->b + 8, 8, 0);
  nl_tcp_close(p.client);
  nl_tcp_close(p.listener);
  run_for(w, 61 * NL_S);
}

static void test_tcp_half_close_keeps_other_direction(void **state) {
  HalfResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(14, 10 * NL_MS, scenario_half, &r1, &r2);
  assert_int_equal(r1.send_after_shut, -EPIPE);
  assert_int_equal(r1.cli_poll_shut, POLLOUT | POLLWRNORM);
  assert_int_equal(r1.srv_data, 7);
  assert_memory_equal(r1.a, "request", 7);
  assert_int_equal(r1.srv_eof, 0);
  assert_int_equal(r1.srv_poll_eof,
                   POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM);
  assert_int_equal(r1.cli_data, 8);
  assert_memory_equal(r1.b, "response", 8);
  assert_int_equal(r1.cli_eof, 0);
}

/* ---- resets: unread data, SO_LINGER 0, data after close ---------------- */

typedef struct {
  ssize_t recv1, recv2, send1;
  unsigned poll;
  char *states;
  int rsts;
} RstResult;

static void scenario_unread(Wire *w, void *res) {
  RstResult *r = res;
  Pair p;
  pair_open(w, &p, 5005);
  nl_tcp_send(p.client, "unread", 6, 0);
  run_for(w, 100 * NL_MS);
  nl_tcp_close(p.server); /* with 6 bytes unread: RST, not FIN */
  run_for(w, 100 * NL_MS);
  r->poll = nl_tcp_poll(p.client);
  char b[8];
  r->recv1 = nl_tcp_recv(p.client, b, sizeof b, 0);
  r->recv2 = nl_tcp_recv(p.client, b, sizeof b, 0);
  r->send1 = nl_tcp_send(p.client, "x", 1, 0);
  r->states = trace_states(w, w->h[1].node, "10.0.0.2:5005 > ");
  nl_tcp_close(p.client);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_close_with_unread_data_resets(void **state) {
  RstResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(15, 10 * NL_MS, scenario_unread, &r1, &r2);
  assert_int_equal(r1.poll, ALL_BAD);
  assert_int_equal(r1.recv1, -ECONNRESET);
  assert_int_equal(r1.recv2, 0);
  assert_int_equal(r1.send1, -EPIPE);
  assert_string_equal(r1.states, "LISTEN -> SYN_RECEIVED; "
                                 "SYN_RECEIVED -> ESTABLISHED; "
                                 "ESTABLISHED -> CLOSED");
  g_free(r1.states);
  g_free(r2.states);
}

static void scenario_linger0(Wire *w, void *res) {
  RstResult *r = res;
  Pair p;
  pair_open(w, &p, 5006);
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  assert_int_equal(
      nl_tcp_setsockopt(p.client, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
  nl_tcp_close(p.client); /* abort: RST, no TIME_WAIT */
  run_for(w, 100 * NL_MS);
  char b[8];
  r->recv1 = nl_tcp_recv(p.server, b, sizeof b, 0);
  r->states = trace_states(w, w->h[0].node, "");
  r->rsts = (int)nl_tcp_stack_n_socks(w->h[0].st);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_linger_zero_aborts_with_rst(void **state) {
  RstResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(16, 10 * NL_MS, scenario_linger0, &r1, &r2);
  assert_int_equal(r1.recv1, -ECONNRESET);
  assert_string_equal(r1.states, "CLOSED -> SYN_SENT; "
                                 "SYN_SENT -> ESTABLISHED; "
                                 "ESTABLISHED -> CLOSED");
  assert_int_equal(r1.rsts, 0); /* nothing left on alice: no TIME_WAIT */
  g_free(r1.states);
  g_free(r2.states);
}

static void scenario_data_after_close(Wire *w, void *res) {
  RstResult *r = res;
  Pair p;
  pair_open(w, &p, 5007);
  nl_tcp_close(p.server); /* FIN; bob is FIN_WAIT_2, orphaned */
  run_for(w, 100 * NL_MS);
  r->send1 = nl_tcp_send(p.client, "late", 4, 0); /* accepted locally */
  run_for(w, 100 * NL_MS);
  r->recv1 = nl_tcp_send(p.client, "more", 4, 0); /* after the RST */
  r->rsts = count_states(w, w->h[1].node, "data after close");
  r->states = trace_states(w, w->h[1].node, "10.0.0.2:5007 > ");
  nl_tcp_close(p.client);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
}

static void test_tcp_data_to_closed_socket_gets_rst(void **state) {
  RstResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(17, 10 * NL_MS, scenario_data_after_close, &r1, &r2);
  assert_int_equal(r1.send1, 4);
  assert_int_equal(r1.rsts, 1);
  /* Linux: a RST in CLOSE_WAIT reports EPIPE. */
  assert_int_equal(r1.recv1, -EPIPE);
  assert_string_equal(r1.states, "LISTEN -> SYN_RECEIVED; "
                                 "SYN_RECEIVED -> ESTABLISHED; "
                                 "ESTABLISHED -> FIN_WAIT_1; "
                                 "FIN_WAIT_1 -> FIN_WAIT_2; "
                                 "FIN_WAIT_2 -> CLOSED");
  g_free(r1.states);
  g_free(r2.states);
}

/* ---- RFC 5961: a blind RST must hit rcv_nxt exactly ------------------ */

typedef struct {
  NlTcpState after_blind, after_exact;
  int challenge_acks;
  ssize_t recv_err;
} BlindResult;

/* The last packet bob sent to alice, parsed. */
static void last_from_bob(Wire *w, NlIp4Header *ip, NlTcpHeader *th) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_PKT_SEND && rec->node == w->h[1].node) {
      assert_null(nl_ip4_parse(payload, rec->len, ip));
      assert_null(nl_tcp4_parse(payload, rec->len, ip, th));
    }
}

static void inject_rst(Wire *w, const NlIp4Header *ip, const NlTcpHeader *th,
                       uint32_t seq) {
  NlTcpHeader h = {.sport = th->sport, .dport = th->dport, .seq = seq,
                   .flags = NL_TCP_RST};
  guint8 pkt[64];
  size_t n = nl_tcp4_build(pkt, ip->src, ip->dst, &h, NULL, 0, 99, 64, TRUE);
  nl_tcp_input(w->h[0].st, pkt, n);
}

static void scenario_blind_rst(Wire *w, void *res) {
  BlindResult *r = res;
  Pair p;
  pair_open(w, &p, 5011);
  nl_tcp_send(p.server, "x", 1, 0);
  run_for(w, 100 * NL_MS);
  NlIp4Header ip;
  NlTcpHeader th;
  last_from_bob(w, &ip, &th);
  uint32_t rcv_nxt = th.seq + 1; /* after bob's 1 byte */
  uint64_t mark = w->pkt_id;
  inject_rst(w, &ip, &th, rcv_nxt + 1000); /* in the window, not exact */
  r->after_blind = nl_tcp_state(p.client);
  r->challenge_acks = (int)(w->pkt_id - mark);
  inject_rst(w, &ip, &th, rcv_nxt);
  r->after_exact = nl_tcp_state(p.client);
  char b[4];
  nl_tcp_recv(p.client, b, sizeof b, 0); /* the byte first */
  r->recv_err = nl_tcp_recv(p.client, b, sizeof b, 0);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 2 * NL_S);
}

static void test_tcp_blind_rst_gets_challenge_ack(void **state) {
  BlindResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(20, 10 * NL_MS, scenario_blind_rst, &r1, &r2);
  assert_int_equal(r1.after_blind, NL_TCP_ESTABLISHED);
  assert_int_equal(r1.challenge_acks, 1);
  assert_int_equal(r1.after_exact, NL_TCP_CLOSED);
  assert_int_equal(r1.recv_err, -ECONNRESET);
}

/* ---- Nagle and TCP_NODELAY --------------------------------------------- */

typedef struct {
  uint64_t segs_nagle, segs_nodelay;
  size_t got_nagle, got_nodelay;
} NagleResult;

static uint64_t small_writes(Wire *w, uint16_t port, gboolean nodelay,
                             size_t *got) {
  Pair p;
  pair_open(w, &p, port);
  if (nodelay) {
    int one = 1;
    nl_tcp_setsockopt(p.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  NlTcpStats before, after;
  nl_tcp_stack_stats(w->h[0].st, &before);
  for (int i = 0; i < 10; i++)
    assert_int_equal(nl_tcp_send(p.client, "k", 1, 0), 1);
  run_for(w, 500 * NL_MS);
  nl_tcp_stack_stats(w->h[0].st, &after);
  char b[32];
  *got = (size_t)nl_tcp_recv(p.server, b, sizeof b, 0);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 1 * NL_S);
  return after.data_segs_out - before.data_segs_out;
}

static void scenario_nagle(Wire *w, void *res) {
  NagleResult *r = res;
  r->segs_nagle = small_writes(w, 5008, FALSE, &r->got_nagle);
  r->segs_nodelay = small_writes(w, 5009, TRUE, &r->got_nodelay);
}

static void test_tcp_nagle_coalesces_unless_nodelay(void **state) {
  NagleResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(18, 10 * NL_MS, scenario_nagle, &r1, &r2);
  assert_int_equal(r1.got_nagle, 10);
  assert_int_equal(r1.got_nodelay, 10);
  /* One byte goes at once; the other nine wait for its ACK. */
  assert_int_equal(r1.segs_nagle, 2);
  assert_int_equal(r1.segs_nodelay, 10);
}

/* ---- path MTU: ICMP "fragmentation needed" shrinks the segments ------ */

typedef struct {
  int mss_before, mss_after;
  size_t biggest_after, received;
} PmtuResult;

static void scenario_pmtu(Wire *w, void *res) {
  PmtuResult *r = res;
  Pair p;
  pair_open(w, &p, 5010);
  socklen_t len = sizeof(int);
  nl_tcp_getsockopt(p.client, IPPROTO_TCP, TCP_MAXSEG, &r->mss_before, &len);
  static guint8 buf[100000];
  assert_int_equal(nl_tcp_send(p.client, buf, 30000, 0), 30000);
  /* A router on the way answers the last segment with "frag needed". */
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  guint8 last[2048];
  size_t n = 0;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_PKT_SEND && rec->node == w->h[0].node) {
      memcpy(last, payload, rec->len);
      n = rec->len;
    }
  guint8 icmp[NL_ICMP_ERROR_MAX];
  size_t m = nl_icmp4_build_error(icmp, 0x0a0000feu, NL_ICMP_DEST_UNREACH,
                                  NL_ICMP_FRAG_NEEDED, 1000, last, n, 7);
  uint64_t mark = w->pkt_id;
  nl_tcp_icmp_input(w->h[0].st, icmp, m);
  nl_tcp_getsockopt(p.client, IPPROTO_TCP, TCP_MAXSEG, &r->mss_after, &len);
  assert_int_equal(nl_tcp_send(p.client, buf, 30000, 0), 30000);
  for (int i = 0; i < 100; i++) {
    run_for(w, 10 * NL_MS);
    ssize_t k;
    while ((k = nl_tcp_recv(p.server, buf, sizeof buf, 0)) > 0)
      r->received += (size_t)k;
  }
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_PKT_SEND && rec->node == w->h[0].node &&
        rec->id > mark)
      r->biggest_after = MAX(r->biggest_after, (size_t)rec->len);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 61 * NL_S);
}

static void test_tcp_frag_needed_lowers_mss(void **state) {
  PmtuResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(19, 10 * NL_MS, scenario_pmtu, &r1, &r2);
  assert_int_equal(r1.mss_before, 1448);
  assert_int_equal(r1.mss_after, 1000 - 40 - 12);
  assert_true(r1.biggest_after <= 1000);
  assert_int_equal(r1.received, 60000);
}

/* ---- small segments read in other pieces: the receive queue ----------- */

typedef struct {
  size_t queued, readable_after_peek, read_total, left;
  guint segs;
  gboolean peek_ok, identical;
  ssize_t last;
} PiecesResult;

static void scenario_pieces(Wire *w, void *res) {
  PiecesResult *r = res;
  Pair p;
  pair_open(w, &p, 5011);
  int one = 1;
  nl_tcp_setsockopt(p.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static guint8 buf[8192];
  NlTcpStats before, after;
  nl_tcp_stack_stats(w->h[0].st, &before);
  /* 150 segments of 1 to 37 bytes, then 3000 bytes (three segments):
   * the receiver reads none of them until all are in. */
  size_t sent = 0;
  for (int i = 0; i < 150; i++) {
    size_t n = 1 + (size_t)(i * 7) % 37;
    for (size_t j = 0; j < n; j++)
      buf[j] = pattern(sent + j);
    assert_int_equal(nl_tcp_send(p.client, buf, n, 0), (ssize_t)n);
    sent += n;
    run_for(w, 1 * NL_MS);
  }
  for (size_t j = 0; j < 3000; j++)
    buf[j] = pattern(sent + j);
  assert_int_equal(nl_tcp_send(p.client, buf, 3000, 0), 3000);
  sent += 3000;
  run_for(w, 100 * NL_MS);
  nl_tcp_stack_stats(w->h[0].st, &after);
  r->segs = (guint)(after.data_segs_out - before.data_segs_out);
  r->queued = nl_tcp_readable(p.server);
  /* MSG_PEEK copies from several segments and takes nothing. */
  ssize_t k = nl_tcp_recv(p.server, buf, 100, MSG_PEEK);
  r->peek_ok = k == 100;
  for (ssize_t j = 0; j < k; j++)
    if (buf[j] != pattern((size_t)j))
      r->peek_ok = FALSE;
  r->readable_after_peek = nl_tcp_readable(p.server);
  /* Reads whose ends fall anywhere in the segments. */
  r->identical = TRUE;
  for (size_t want = 1; r->read_total < sent; want = want * 3 % 2039 + 1) {
    k = nl_tcp_recv(p.server, buf, want, 0);
    if (k <= 0)
      break;
    for (ssize_t j = 0; j < k; j++)
      if (buf[j] != pattern(r->read_total + (size_t)j))
        r->identical = FALSE;
    r->read_total += (size_t)k;
  }
  r->left = nl_tcp_readable(p.server);
  r->last = nl_tcp_recv(p.server, buf, sizeof buf, 0);
  nl_tcp_close(p.client);
  nl_tcp_close(p.server);
  nl_tcp_close(p.listener);
  run_for(w, 61 * NL_S);
}

static void test_tcp_small_segments_read_in_other_pieces(void **state) {
  PiecesResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(20, 10 * NL_MS, scenario_pieces, &r1, &r2);
  size_t total = 3000;
  for (int i = 0; i < 150; i++)
    total += 1 + (size_t)(i * 7) % 37;
  assert_int_equal(r1.segs, 153); /* each small send alone; 3000 in 3 */
  assert_int_equal(r1.queued, total);
  assert_true(r1.peek_ok);
  assert_int_equal(r1.readable_after_peek, total);
  assert_int_equal(r1.read_total, total);
  assert_true(r1.identical);
  assert_int_equal(r1.left, 0);
  assert_int_equal(r1.last, -EAGAIN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_bulk_over_lossy_link_is_byte_identical),
      cmocka_unit_test(test_tcp_bulk_in_shared_packets_is_byte_identical),
      cmocka_unit_test(test_tcp_slow_reader_stalls_writer),
      cmocka_unit_test(test_tcp_nonblocking_send_short_then_eagain),
      cmocka_unit_test(test_tcp_half_close_keeps_other_direction),
      cmocka_unit_test(test_tcp_close_with_unread_data_resets),
      cmocka_unit_test(test_tcp_linger_zero_aborts_with_rst),
      cmocka_unit_test(test_tcp_data_to_closed_socket_gets_rst),
    cmocka_unit_test(test_tcp_blind_rst_gets_challenge_ack),
      cmocka_unit_test(test_tcp_nagle_coalesces_unless_nodelay),
    cmocka_unit_test(test_tcp_frag_needed_lowers_mss),
      cmocka_unit_test(test_tcp_small_segments_read_in_other_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
