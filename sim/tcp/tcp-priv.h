/* Internals of the TCP engine, shared by sim/tcp*.c.  Not for other
 * modules: use sim/tcp/tcp.h.
 */
#ifndef NL_TCP_PRIV_H
#define NL_TCP_PRIV_H

#include "sim/core/rand.h"
#include "sim/tcp/tcp.h"
#include "sim/net/net.h"
#include "sim/net/wire.h"

G_BEGIN_DECLS

/* Sequence-number comparisons modulo 2^32 (RFC 9293 §3.4). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

/* sk_shutdown bits, as Linux names them. */
enum { NL_RCV_SHUTDOWN = 1, NL_SEND_SHUTDOWN = 2, NL_SHUTDOWN_MASK = 3 };

/* Linux's window-scale shift for our receive windows. */
#define NL_TCP_WSCALE 7
#define NL_TCP_MAX_SNDBUF 4194304 /* tcp_wmem[2] */
#define NL_TCP_MAX_BUF (32 * 1024 * 1024)
/* Memory all autotuned buffers of one stack may grow to (Linux's tcp_mem
 * pressure threshold, scaled to a lab host): autotuning stops at an equal
 * share per socket, but never below the defaults. */
#define NL_TCP_MEM_BUDGET (256u * 1024 * 1024)

/* The send queue: the stream's unacknowledged and unsent bytes in blocks
 * of one segment's payload each (the MSS when the block was begun), as
 * Linux keeps one skb per segment: send() copies the user's bytes in
 * segment-sized pieces.  Each block is the payload of a packet allocated
 * for its segment, behind room for the segment's headers, so the segment
 * that carries a whole block for the first time is built in that packet
 * and sent without copying or summing the bytes (their sum was taken as
 * send() copied them in): the packet is then shared
 * (nl_packet_share) with the network and the receiver, who only read
 * those bytes, and a later transmission copies them into a new packet.
 * Segment boundaries are still decided from the byte stream
 * (tcp-output.c); a segment that is not a whole block (after a short one,
 * a window's fragment) is copied from one or two.  Positions are counted
 * from the stream's first byte. */
typedef struct {
  NlPacket *pkt;     /* holds the bytes */
  guint8 *data;      /* the bytes: pkt's, after head bytes of headers */
  uint64_t pos;      /* stream position of data[0] */
  uint32_t len, cap; /* bytes held, bytes it can hold */
  uint16_t sum;      /* of the bytes held, as nl_wire_sum gives it */
  uint8_t head;      /* the headers' room: IPv4, TCP and options */
  uint8_t given;     /* pkt went as its segment: shared, no more bytes */
} NlTcpBlk;

/* The blocks' descriptors are kept apart from their bytes, in a ring that
 * grows by doubling, so that dropping acknowledged blocks and finding a
 * segment's block touch only this compact array, not bytes last touched
 * a round trip ago. */
typedef struct {
  NlTcpBlk *v;      /* ring of descriptors, oldest at v[first] */
  guint cap, first, n; /* cap: a power of two, or 0 */
  guint cur;        /* index from first of the block the last copy ended in */
  uint64_t start;   /* stream position of the first queued byte */
  size_t len;       /* bytes queued */
} NlTcpSndq;

/* The receive queue: the in-order bytes not yet read, in the packets they
 * arrived in (as the UDP receive queue keeps datagrams, sim/host/vsock.c):
 * each packet's unread payload is its owner_len bytes at owner_off, and
 * the packets are linked through owner_next.  A segment that fits in the
 * room after the last packet's payload is copied there instead (Linux's
 * tcp_try_coalesce), so small segments do not each hold a packet. */
typedef struct {
  NlPacket *head, *tail;
  size_t len;     /* bytes queued */
  NlPacket *spare; /* an emptied buffer of NL_TCP_RCVQ_CHUNK, or NULL */
} NlTcpRcvq;

/* An out-of-order segment held for reassembly (the segment bytes are its
 * only allocation). */
typedef struct NlTcpOoo {
  struct NlTcpOoo *next;
  uint32_t seq;
  uint32_t len;
  gboolean fin;
  guint8 data[];
} NlTcpOoo;

typedef struct {
  uint32_t laddr, raddr;
  uint16_t lport, rport;
} NlTcpKey;

struct NlTcpSock {
  NlTcpStack *st;
  void *user;
  GList all_link; /* in st->all, creation order */
  NlTcpKey key;   /* laddr/lport valid when bound; raddr/rport when hashed */
  NlTcpState state;

  guint user_owned : 1;  /* the user holds the handle */
  guint bound : 1;       /* in st->ports */
  guint bind_locked : 1; /* bound by the user, not by connect/listen */
  guint hashed : 1;      /* in st->conns */
  guint passive : 1;     /* born from a listener */
  guint in_acceptq : 1;
  guint ss_connecting : 1; /* sock->state == SS_CONNECTING */
  guint ss_connected : 1;
  guint reuseaddr : 1, reuseport : 1, keepalive : 1, nodelay : 1;
  guint linger_on : 1, sndbuf_locked : 1, rcvbuf_locked : 1;
  guint sock_done : 1;   /* SOCK_DONE: FIN received */
  guint fin_queued : 1;  /* a FIN follows the queued data */
  guint in_recovery : 1; /* NewReno fast recovery */
  guint rtt_timing : 1;
  guint notify_pending : 1;
  guint nospace : 1; /* SOCK_NOSPACE: poll found no send space */
  guint dead : 1; /* unlinked, waiting to be freed */
  guint shut : 2; /* NL_*_SHUTDOWN */
  guint wscale_ok : 1;
  guint ts_ok : 1;    /* timestamps negotiated (RFC 7323) */
  guint want_ack : 1; /* an ACK is owed (delayed) */

  int linger_secs;
  int err;      /* sk_err, positive errno */
  int soft_err; /* sk_err_soft */

  /* Listener. */
  NlTcpSock *parent; /* child → listener, until accepted */
  GQueue acceptq;    /* established children, oldest first */
  int backlog;

  /* Send side. */
  uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
  uint32_t snd_buf_seq; /* sequence number of sndq's first byte */
  uint32_t snd_sml;     /* end of the last short segment (Minshall) */
  uint8_t snd_wscale, rcv_wscale;
  uint32_t ts_recent, ts_offset; /* TS.Recent; our TSval clock offset */
  NlTcpSndq sndq;
  size_t sndbuf; /* SO_SNDBUF as reported (doubled) */
  guint mss, peer_mss, adv_mss;
  uint32_t cwnd, ssthresh, recover, cwnd_acc;
  guint dupacks;
  NlTime srtt, rttvar, rto;
  uint32_t rtt_seq;
  NlTime rtt_start;
  NlTime retrans_stamp; /* when the head was first sent, once retransmitted */
  guint retransmits;
  guint probes_out;
  guint persist_backoff;

  /* Receive side. */
  uint32_t irs, rcv_nxt, rcv_adv, rcv_wup;
  NlTcpRcvq rcvq;
  NlTcpOoo *ooo; /* sorted by seq */
  size_t ooo_bytes;
  size_t rcvbuf;     /* SO_RCVBUF as reported (doubled) */
  size_t rcv_copied; /* bytes read since rcv_copied_at (autotuning) */
  NlTime rcv_copied_at;
  guint user_mss; /* TCP_MAXSEG set before connect, or 0 */
  /* Delayed-ACK engine (Linux icsk_ack): quick ACKs left, interactive
   * ("pingpong") mode, time of the last data received. */
  guint quick;
  guint pingpong : 1;
  guint ato_init : 1;
  NlTime last_data_rcv;
  NlTime last_oow_ack; /* last ACK for an out-of-window segment */

  /* Timers (STYLE 4: embedded, never allocated). */
  NlEvent t_rexmit;    /* RTO, SYN/SYN-ACK retransmit, persist */
  NlTime rexmit_at;    /* when t_rexmit is due; 0 = disarmed (lazily) */
  NlTime rexmit_ev_at; /* when the pending t_rexmit event fires */
  NlEvent t_delack;
  NlEvent t_keep; /* keepalive, FIN_WAIT_2 timeout, TIME_WAIT */
  NlTime last_rcv;

  int keepidle, keepintvl, keepcnt; /* seconds, probes */
  guint user_timeout;               /* ms, 0 = off */
};

/* A growable array of sockets, emptied without a call. */
typedef struct {
  NlTcpSock **v;
  guint len, cap;
} NlTcpSockList;

struct NlTcpStack {
  NlEventQueue *q;
  NlTrace *trace;
  guint32 node;
  NlRand rand;
  char *host_name;
  NlTcpHooks hooks;
  GQueue all;        /* every NlTcpSock, creation order */
  GHashTable *conns; /* NlTcpKey* → sock (4-tuple) */
  NlTcpSock *last_conn; /* the last found in conns (NULL once unhashed) */
  GHashTable *ports; /* port → GPtrArray of bound socks, bind order */
  NlTcpSockList notify; /* socks with notify_pending, in marking order */
  NlTcpSockList dead;   /* socks to free when the engine is left */
  guint depth;       /* entry nesting; deferred work runs at 0 */
  uint16_t ip_id;
  uint64_t isn_secret;
  NlTcpStats stats;
  NlPacket *out; /* the packet being built (hooks.send_packet), or NULL */
  guint8 pkt[NL_IP4_MAX_LEN]; /* where it is built for hooks.output */
};

/* tcp.c */
uint32_t nl__tcp_isn(NlTcpStack *st, const NlTcpKey *k);
void nl__tcp_leave_slow(NlTcpStack *st);

/* Entry into the engine and exit from it: notifications and frees wait
 * until the outermost exit (nl__tcp_leave_slow does them).  Inline: every
 * packet and call passes here several times, mostly with nothing to do. */
static inline void nl__tcp_enter(NlTcpStack *st) {
  st->depth++;
}

static inline void nl__tcp_leave(NlTcpStack *st) {
  g_assert(st->depth > 0);
  if (st->depth > 1 || st->notify.len > 0 || st->dead.len > 0)
    nl__tcp_leave_slow(st);
  else
    st->depth = 0;
}
void nl__tcp_set_state(NlTcpSock *s, NlTcpState ns);
void nl__tcp_trace(NlTcpSock *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void nl__tcp_mark_notify(NlTcpSock *s);
NlTcpSock *nl__tcp_sock_alloc(NlTcpStack *st, void *user);
void nl__tcp_hash(NlTcpSock *s);
void nl__tcp_unhash(NlTcpSock *s);
void nl__tcp_port_add(NlTcpSock *s);
void nl__tcp_port_remove(NlTcpSock *s);
NlTcpSock *nl__tcp_lookup(NlTcpStack *st, uint32_t laddr, uint16_t lport,
                          uint32_t raddr, uint16_t rport);
NlTcpSock *nl__tcp_lookup_listener(NlTcpStack *st, uint32_t laddr,
                                   uint16_t lport, uint32_t raddr,
                                   uint16_t rport);
void nl__tcp_done(NlTcpSock *s);
void nl__tcp_maybe_free(NlTcpSock *s);
void nl__tcp_enter_time_wait(NlTcpSock *s);
size_t nl__tcp_rcv_space(const NlTcpSock *s);
size_t nl__tcp_autotune_cap(const NlTcpSock *s, size_t max);
size_t nl__tcp_snd_space(const NlTcpSock *s);
gboolean nl__tcp_writable(const NlTcpSock *s);

/* The queues. */
void nl__tcp_rcvq_add(NlTcpRcvq *q, NlPacket **pkt, const guint8 *data,
                      size_t n);
void nl__tcp_rcvq_copy(const NlTcpRcvq *q, guint8 *dst, size_t n);
void nl__tcp_rcvq_take(NlTcpRcvq *q, guint8 *dst, size_t n);
void nl__tcp_rcvq_free(NlTcpRcvq *q);
void nl__tcp_sndq_push(NlTcpSock *s, const guint8 *src, size_t n);
void nl__tcp_sndq_copy(NlTcpSndq *q, size_t off, guint8 *dst, size_t n);
NlPacket *nl__tcp_sndq_give(NlTcpSndq *q, size_t off, size_t n, size_t head,
                            uint32_t *sum);
void nl__tcp_sndq_drop(NlTcpSndq *q, size_t n);
void nl__tcp_sndq_free(NlTcpSndq *q);

/* tcp-output.c */
void nl__tcp_output(NlTcpSock *s);
void nl__tcp_send_syn(NlTcpSock *s);
void nl__tcp_send_ack(NlTcpSock *s);
void nl__tcp_send_rst(NlTcpSock *s);
void nl__tcp_send_probe(NlTcpSock *s);
void nl__tcp_send_reset_reply(NlTcpStack *st, const NlIp4Header *ip,
                              const NlTcpHeader *th, size_t dlen);
uint32_t nl__tcp_xmit_at(NlTcpSock *s, uint32_t seq, gboolean retrans);
uint32_t nl__tcp_select_window(NlTcpSock *s);
void nl__tcp_delack(NlTcpSock *s);

/* tcp-timer.c */
void nl__tcp_timers_init(NlTcpSock *s);
void nl__tcp_timers_cancel(NlTcpSock *s);
void nl__tcp_arm_rexmit(NlTcpSock *s);
void nl__tcp_disarm_rexmit(NlTcpSock *s);
void nl__tcp_arm_keepalive(NlTcpSock *s);
void nl__tcp_rtt_sample(NlTcpSock *s, NlTime r);
void nl__tcp_enter_loss(NlTcpSock *s);
NlTime nl__tcp_rto_now(const NlTcpSock *s);

/* tcp-input.c: everything below nl_tcp_input(). */

static inline NlTime nl__tcp_now(const NlTcpSock *s) {
  return nl_event_now(s->st->q);
}

/* Our TSval: a millisecond clock with a per-connection offset (Linux's
 * tcp_time_stamp_ms + tsoffset). */
static inline uint32_t nl__tcp_tsval(const NlTcpSock *s) {
  return (uint32_t)(nl__tcp_now(s) / NL_MS) + s->ts_offset;
}

/* Bytes of options on every segment after the handshake. */
static inline guint nl__tcp_opt_len(const NlTcpSock *s) {
  return s->ts_ok ? 12 : 0;
}

static inline gboolean nl__tcp_synced(NlTcpState st) {
  return st >= NL_TCP_ESTABLISHED;
}

G_END_DECLS

#endif
