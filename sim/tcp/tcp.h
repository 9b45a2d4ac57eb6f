/* The TCP engine: one NlTcpStack per host, following RFC 9293 and behaving
 * like Linux where the two differ (errno values, poll bits, TIME_WAIT and
 * bind rules, timer constants).
 *
 * The engine never blocks and knows nothing of the network layer: packets
 * leave through NlTcpHooks.output and arrive through nl_tcp_input(); the
 * sockets layer above blocks by waiting for NlTcpHooks.notify and asking
 * nl_tcp_poll().  Everything is driven by the shared NlEventQueue, and all
 * randomness (the ISN key, ephemeral ports) comes from the stream
 * "host:<host_name>/tcp", so a run is deterministic.
 *
 * What it speaks: MSS, window scale (shift 7) and timestamps options; IW10,
 * NewReno (RFC 6582) with fast retransmit on 3 duplicate ACKs; RFC 6298
 * timers with Linux's constants, with RTT samples from timestamps (RFC 7323
 * §4.3) for ACKs of retransmitted data, as Linux takes them; delayed ACKs with Linux's quick-ACK and
 * pingpong modes; send and receive buffer autotuning unless SO_SNDBUF or
 * SO_RCVBUF is set.  Not spoken: SACK, ECN, urgent data, TCP Fast Open.
 *
 * Addresses and ports are host byte order.  Results are >= 0 or -errno
 * with Linux values.
 */
#ifndef NL_TCP_H
#define NL_TCP_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sim/core/event.h"
#include "sim/core/trace.h"
#include "sim/net/net.h"
#include "sim/net/wire.h"

G_BEGIN_DECLS

typedef struct NlTcpStack NlTcpStack; /* one per host */
typedef struct NlTcpSock NlTcpSock;   /* one per TCP socket */

/* TCP states (RFC 9293 §3.3.2), with the names Linux's ss prints. */
#define NL_TCP_STATE_MAP(X)                                                    \
  X(CLOSED, "CLOSED")                                                          \
  X(LISTEN, "LISTEN")                                                          \
  X(SYN_SENT, "SYN_SENT")                                                      \
  X(SYN_RECEIVED, "SYN_RECEIVED")                                              \
  X(ESTABLISHED, "ESTABLISHED")                                                \
  X(FIN_WAIT_1, "FIN_WAIT_1")                                                  \
  X(FIN_WAIT_2, "FIN_WAIT_2")                                                  \
  X(CLOSE_WAIT, "CLOSE_WAIT")                                                  \
  X(CLOSING, "CLOSING")                                                        \
  X(LAST_ACK, "LAST_ACK")                                                      \
  X(TIME_WAIT, "TIME_WAIT")

typedef enum {
#define NL_X(e, s) NL_TCP_##e,
  NL_TCP_STATE_MAP(NL_X)
#undef NL_X
      NL_TCP_N_STATES
} NlTcpState;

const char *nl_tcp_state_name(NlTcpState st);

/* Linux constants the engine uses (documented here so tests can use them). */
#define NL_TCP_RTO_INIT (1 * NL_S)      /* TCP_TIMEOUT_INIT */
#define NL_TCP_RTO_MIN (200 * NL_MS)    /* TCP_RTO_MIN */
#define NL_TCP_RTO_MAX (120 * NL_S)     /* TCP_RTO_MAX */
#define NL_TCP_DELACK (40 * NL_MS)      /* TCP_DELACK_MIN */
#define NL_TCP_TIMEWAIT_LEN (60 * NL_S) /* TCP_TIMEWAIT_LEN */
#define NL_TCP_FIN_TIMEOUT (60 * NL_S)  /* tcp_fin_timeout */
#define NL_TCP_SYN_RETRIES 6            /* tcp_syn_retries */
#define NL_TCP_SYNACK_RETRIES 5         /* tcp_synack_retries */
#define NL_TCP_RETRIES2 15              /* tcp_retries2 */
#define NL_TCP_ORPHAN_RETRIES 8         /* tcp_orphan_retries = 0 → 8 */
#define NL_TCP_INIT_CWND 10             /* segments (IW10) */
#define NL_TCP_EPHEMERAL_LO 32768       /* ip_local_port_range */
#define NL_TCP_EPHEMERAL_HI 60999
#define NL_TCP_DEFAULT_RCVBUF 131072 /* tcp_rmem[1] */
#define NL_TCP_DEFAULT_SNDBUF 16384  /* tcp_wmem[1] */

typedef struct {
  void *ctx;
  /* Sends one IPv4 packet (complete wire bytes, checksums done); the callee
   * copies.  Used when send_packet is NULL. */
  void (*output)(void *ctx, const guint8 *pkt, size_t len);
  /* Sends one IPv4 packet built in an NlPacket (transfer full), its IPv4
   * header read into ip4 (ip4_ok) and its TCP checksum right (tcp_sum_ok),
   * so nobody parses or sums it again. */
  void (*send_packet)(void *ctx, NlPacket *pkt);
  /* OUT: source address and path MTU for @dst; FALSE when there is no
   * route (connect → -ENETUNREACH). */
  gboolean (*route)(void *ctx, uint32_t dst, uint32_t *src_out, guint *mtu_out);
  /* Whether @addr is one of this host's addresses. */
  gboolean (*is_local)(void *ctx, uint32_t addr);
  /* Readiness of @s changed (readable, writable, error, a connection to
   * accept, connect finished, closed).  Never called for a socket after
   * nl_tcp_close(). */
  void (*notify)(void *ctx, NlTcpSock *s, void *sock_user);
} NlTcpHooks;

/**
 * nl_tcp_stack_new: (transfer full) the TCP engine of one host.
 * @trace: where state changes and retransmissions go (NL_TRACE_TCP_STATE
 *   records at node @trace_node); may be NULL.
 * @seed, @host_name: name the random stream "host:<host_name>/tcp".
 * @hooks: copied.
 */
NlTcpStack *nl_tcp_stack_new(NlEventQueue *q, NlTrace *trace,
                             guint32 trace_node, uint64_t seed,
                             const char *host_name, const NlTcpHooks *hooks);
/* Frees the stack and every socket in it (open or not), cancelling timers. */
void nl_tcp_stack_free(NlTcpStack *st);

/* An IPv4 packet carrying TCP addressed to this host.  Not kept. */
void nl_tcp_input(NlTcpStack *st, const guint8 *pkt, size_t len);
/* The same, for a caller that has already parsed (and so checked) the
 * IPv4 header with nl_ip4_parse(): @ip is that header.  @sum_ok: the TCP
 * checksum is known right (NlPacket's tcp_sum_ok), so not summed again. */
void nl_tcp_input_ip4(NlTcpStack *st, const guint8 *pkt, size_t len,
                      const NlIp4Header *ip, gboolean sum_ok);
/* The same for a packet that reached this host, which the engine takes
 * (its receive queue keeps the packet rather than a copy of the data);
 * @ip: its parsed IPv4 header; its tcp_sum_ok is believed. */
void nl_tcp_input_packet(NlTcpStack *st, NlPacket *pkt, const NlIp4Header *ip);
/* An ICMP error (IPv4 + ICMP + quoted IPv4 + 8 bytes of TCP). */
void nl_tcp_icmp_input(NlTcpStack *st, const guint8 *icmp_pkt, size_t len);

/* A new unbound socket (CLOSED).  @sock_user is passed back to notify. */
NlTcpSock *nl_tcp_socket(NlTcpStack *st, void *sock_user);
/* Port 0 → ephemeral.  -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL (bound). */
int nl_tcp_bind(NlTcpSock *s, uint32_t addr, uint16_t port);
/* Binds an ephemeral port when unbound.  -EINVAL when connected. */
int nl_tcp_listen(NlTcpSock *s, int backlog);
/**
 * nl_tcp_connect: starts the handshake: -EINPROGRESS.  Called again while
 * it runs: -EALREADY; after it succeeded: 0 once, then -EISCONN; after it
 * failed: the error once (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH…), as
 * Linux does.  Immediate errors: -EISCONN, -ENETUNREACH, -EADDRNOTAVAIL,
 * -EAGAIN (no free ephemeral port).
 */
int nl_tcp_connect(NlTcpSock *s, uint32_t addr, uint16_t port);
/* NULL with *@err = -EAGAIN when none is queued, -EINVAL if not listening. */
NlTcpSock *nl_tcp_accept(NlTcpSock *listener, void *new_sock_user, int *err);
/* Bytes queued (short when the send buffer is short), -EAGAIN when none
 * fit or still connecting, -EPIPE, -ECONNRESET (pending error, once)…
 * @flags: MSG_MORE is not modelled; MSG_NOSIGNAL is the caller's. */
ssize_t nl_tcp_send(NlTcpSock *s, const void *buf, size_t len, int flags);
/* MSG_PEEK honoured.  0 at EOF, -EAGAIN, -ENOTCONN, -ECONNRESET… */
ssize_t nl_tcp_recv(NlTcpSock *s, void *buf, size_t len, int flags);
/* SHUT_RD, SHUT_WR, SHUT_RDWR.  -ENOTCONN when not connected. */
int nl_tcp_shutdown(NlTcpSock *s, int how);
/* The user's close(): FIN, or RST for SO_LINGER 0 or unread data.  The
 * handle is invalid afterwards; the engine frees the state later. */
void nl_tcp_close(NlTcpSock *s);
/* The poll bits Linux's tcp_poll reports: POLLIN POLLRDNORM POLLOUT
 * POLLWRNORM POLLERR POLLHUP POLLRDHUP. */
unsigned nl_tcp_poll(NlTcpSock *s);
/* SO_ERROR: returns and clears the pending error (0 or a positive errno,
 * as getsockopt gives it). */
int nl_tcp_take_error(NlTcpSock *s);
/* FIONREAD. */
size_t nl_tcp_readable(NlTcpSock *s);

/* What kqueue's filters report of a socket (BSD's so_rcv/so_snd views). */
typedef struct {
  size_t readable;     /* bytes queued to read */
  size_t accept_queue; /* a listener: established connections waiting */
  size_t send_space;   /* room left in the send buffer */
  gboolean read_eof;   /* the peer's FIN (or our SHUT_RD) was seen */
  gboolean write_eof;  /* nothing more can be sent */
  int error;           /* the pending error (not taken), 0 if none */
} NlTcpSockInfo;
void nl_tcp_sock_info(NlTcpSock *s, NlTcpSockInfo *out);
/* SOL_SOCKET: SO_REUSEADDR SO_REUSEPORT SO_RCVBUF SO_SNDBUF SO_KEEPALIVE
 * SO_LINGER; IPPROTO_TCP: TCP_NODELAY TCP_KEEPIDLE TCP_KEEPINTVL
 * TCP_KEEPCNT TCP_USER_TIMEOUT TCP_MAXSEG.  -ENOPROTOOPT, -EINVAL. */
int nl_tcp_setsockopt(NlTcpSock *s, int level, int name, const void *val,
                      socklen_t len);
int nl_tcp_getsockopt(NlTcpSock *s, int level, int name, void *val,
                      socklen_t *len);
int nl_tcp_getsockname(NlTcpSock *s, uint32_t *addr, uint16_t *port);
/* -ENOTCONN before the handshake completes and after the end. */
int nl_tcp_getpeername(NlTcpSock *s, uint32_t *addr, uint16_t *port);

/* Introspection for tests, tools and the sockets layer. */
NlTcpState nl_tcp_state(const NlTcpSock *s);
/* Sockets (any state, TIME_WAIT included) the stack holds. */
guint nl_tcp_stack_n_socks(const NlTcpStack *st);

/* Counters of one stack, for benches and STATS records. */
typedef struct {
  uint64_t segs_out, segs_in, data_segs_out, retransmits, fast_retransmits,
      timeouts, resets_out;
} NlTcpStats;
void nl_tcp_stack_stats(const NlTcpStack *st, NlTcpStats *out);

G_END_DECLS

#endif
