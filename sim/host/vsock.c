/* Virtual sockets: UDP sockets and demultiplexing, the glue to the TCP
 * engine, descriptors, pipes, poll/select/epoll and socket options, all
 * answered as Linux answers them. */
#include "sim/host/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "sim/net/wire.h"

#define UDP_MAX_PAYLOAD 65507
#define UDP_DEFAULT_RCVBUF 212992 /* net.core.rmem_default */
#define UDP_DEFAULT_SNDBUF 212992
#define UDP_TRUESIZE_OVERHEAD 768 /* skb overhead Linux charges per datagram */

/* ---- addresses ----
 *
 * The lab holds a socket address as an NlIp6 (host-priv.h): an IPv4
 * address in its v4-mapped form, the unspecified address of either family
 * all zeros.  What a sockaddr may be depends on the socket's family and
 * the call, in Linux's order of checks (inet_bind, __inet6_bind,
 * __ip4_datagram_connect, __ip6_datagram_connect, tcp_v6_connect,
 * udp_sendmsg, udpv6_sendmsg). */

typedef enum { SA_BIND, SA_CONNECT, SA_SEND } SaOp;

#define SIN6_LEN_RFC2133 24 /* a sockaddr_in6 without sin6_scope_id */

static const NlIp6 ip6_any;

static NlIp6 ip6_loopback(void) {
  NlIp6 a = {.b = {[15] = 1}};
  return a;
}

/* Whether @a is an IPv4 address (v4-mapped), or :: on an AF_INET socket. */
static gboolean is_v4(const NlFile *f, const NlIp6 *a) {
  return nl_ip6_is_v4mapped(a) || (f->domain == AF_INET && nl_ip6_is_any(a));
}

static int sa_get(const NlFile *f, const struct sockaddr *sa, socklen_t len,
                  SaOp op, NlIp6 *addr, uint16_t *port) {
  if (G_LIKELY(f->domain == AF_INET && sa != NULL &&
               len >= (socklen_t)sizeof(struct sockaddr_in) &&
               sa->sa_family == AF_INET)) {
    /* The common case, an IPv4 address for an AF_INET socket: what the
     * checks below come to for it. */
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uint32_t v4 = ntohl(in->sin_addr.s_addr);
    *addr = v4 == 0 ? ip6_any : nl_ip6_from4(v4);
    *port = ntohs(in->sin_port);
    return 0;
  }
  if (sa == NULL)
    return -EFAULT;
  if (len < (socklen_t)sizeof(sa_family_t))
    return -EINVAL;
  /* udp_sendmsg takes AF_UNSPEC for AF_INET. */
  gboolean unspec4 = op == SA_SEND && f->domain == AF_INET &&
                     sa->sa_family == AF_UNSPEC;
  if (f->domain == AF_INET6 && sa->sa_family == AF_INET &&
      !(op == SA_BIND) && !(op == SA_CONNECT && f->type == SOCK_STREAM)) {
    /* A dual-stack socket connects or sends to IPv4 as an AF_INET one. */
    if (f->v6only)
      return op == SA_CONNECT ? -EAFNOSUPPORT : -ENETUNREACH;
    if (len < (socklen_t)sizeof(struct sockaddr_in))
      return -EINVAL;
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    *addr = nl_ip6_from4(ntohl(in->sin_addr.s_addr));
    *port = ntohs(in->sin_port);
    return 0;
  }
  if (f->domain == AF_INET) {
    if (len < (socklen_t)sizeof(struct sockaddr_in))
      return -EINVAL;
    if (sa->sa_family != AF_INET && !unspec4)
      return -EAFNOSUPPORT;
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uint32_t v4 = ntohl(in->sin_addr.s_addr);
    *addr = v4 == 0 ? ip6_any : nl_ip6_from4(v4);
    *port = ntohs(in->sin_port);
    return 0;
  }
  if (len < SIN6_LEN_RFC2133)
    return -EINVAL;
  if (sa->sa_family != AF_INET6)
    return op == SA_SEND ? -EINVAL : -EAFNOSUPPORT;
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
  memcpy(addr->b, in6->sin6_addr.s6_addr, 16);
  *port = ntohs(in6->sin6_port);
  uint32_t scope = len >= (socklen_t)sizeof *in6 ? in6->sin6_scope_id : 0;
  if (nl_ip6_is_v4mapped(addr)) {
    if (f->v6only)
      return op == SA_BIND ? -EINVAL : -ENETUNREACH;
    return 0;
  }
  /* A link-local address needs an interface (sin6_scope_id); the lab
   * gives interfaces no link-local addresses, so none is ever local and
   * none is reachable. */
  if (nl_ip6_is_linklocal(addr) && scope == 0 && op != SA_SEND)
    return -EINVAL;
  if (op != SA_BIND && nl_ip6_is_any(addr))
    *addr = ip6_loopback(); /* :: means loopback, a BSD-ism Linux keeps */
  return 0;
}

/* Fills @sa as Linux does: truncated to *@len, *@len set to the size. */
static void sa_put(const NlFile *f, const NlIp6 *addr, uint16_t port,
                   struct sockaddr *sa, socklen_t *len) {
  if (sa == NULL || len == NULL)
    return;
  if (G_LIKELY(f->domain == AF_INET &&
               *len >= (socklen_t)sizeof(struct sockaddr_in))) {
    /* The common case: the whole sockaddr_in, written at once. */
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(nl_ip6_to4(addr))};
    memcpy(sa, &in, sizeof in);
    *len = sizeof in;
    return;
  }
  union {
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } u;
  socklen_t n;
  memset(&u, 0, sizeof u);
  if (f->domain == AF_INET6) {
    u.in6.sin6_family = AF_INET6;
    u.in6.sin6_port = htons(port);
    memcpy(u.in6.sin6_addr.s6_addr, addr->b, 16);
    n = sizeof u.in6;
  } else {
    u.in.sin_family = AF_INET;
    u.in.sin_port = htons(port);
    u.in.sin_addr.s_addr = htonl(nl_ip6_to4(addr));
    n = sizeof u.in;
  }
  memcpy(sa, &u, MIN(*len, n));
  *len = n;
}

#define ADDR_STRLEN (NL_IP6_STRLEN + 8)

/* "10.0.0.5:7" (IPv4, as before dual stack) or "[2001:db8::5]:7". */
static char *fmt_addr6(const NlIp6 *a, uint16_t p, char *buf) {
  char ip[NL_IP6_STRLEN];
  if (nl_ip6_is_v4mapped(a) || nl_ip6_is_any(a)) {
    /* Without printf: a traced run writes one per datagram sent. */
    nl_ip4_to_string(nl_ip6_to4(a), buf);
    char *e = buf + strlen(buf);
    *e++ = ':';
    *nl_trace_put_uint(e, p) = '\0';
  } else {
    g_snprintf(buf, ADDR_STRLEN, "[%s]:%u", nl_ip6_to_string(a, ip), p);
  }
  return buf;
}

static char *fmt_addr(uint32_t a, uint16_t p, char *buf) {
  NlIp6 m = nl_ip6_from4(a);
  return fmt_addr6(&m, p, buf);
}

/* ---- the TCP engine's hooks ---- */

/* The engine builds each segment in the packet that goes, its IPv4 header
 * and TCP checksum known (tcp.h): the receiving engine does not sum it
 * again. */
static void tcp_send_packet(void *ctx, NlPacket *p) {
  NlHostStack *h = ctx;
  (void)nl_node_send_packet(h->node, p, NULL);
}

/* The source address a packet to @dst leaves with, and the MTU of its
 * way out (loopback: 65535).  FALSE when there is no route. */
static gboolean route_to(NlHostStack *h, uint32_t dst, uint32_t *src,
                         guint *mtu) {
  NlIface *f;
  uint32_t nh;
  if (nl_node_has_addr(h->node, dst)) {
    *src = dst;
    *mtu = 65535;
    return TRUE;
  }
  if (!nl_node_route(h->node, dst, &f, &nh))
    return FALSE;
  *src = nl_iface_addr(f);
  *mtu = nl_iface_mtu(f);
  return TRUE;
}

static gboolean tcp_route(void *ctx, uint32_t dst, uint32_t *src,
                          guint *mtu) {
  return route_to(ctx, dst, src, mtu);
}

static gboolean tcp_is_local(void *ctx, uint32_t addr) {
  NlHostStack *h = ctx;
  return nl_node_has_addr(h->node, addr);
}

static void tcp_notify(void *ctx, NlTcpSock *s, void *user) {
  if (user != NULL)
    nl__file_notify(user);
}

static NlTcpStack *tcp_stack(NlHostStack *h) {
  if (h->tcp == NULL) {
    NlTcpHooks hooks = {.ctx = h, .send_packet = tcp_send_packet,
                        .route = tcp_route,
                        .is_local = tcp_is_local, .notify = tcp_notify};
    h->tcp = nl_tcp_stack_new(nl_world_queue(h->world),
                              nl_world_trace(h->world),
                              nl_node_trace_id(h->node),
                              nl_world_seed(h->world), nl_node_name(h->node),
                              &hooks);
  }
  return h->tcp;
}

void nl__vsock_stack_free(NlHostStack *h) {
  if (h->tcp)
    nl_tcp_stack_free(h->tcp);
  h->tcp = NULL;
  g_hash_table_destroy(h->udp_ports);
  h->udp_ports = NULL;
  h->udp_last = NULL;
  h->udp_one = NULL;
}

/* ---- UDP ---- */

/* A queued datagram is the packet that brought it (see NlUdpSock). */
static inline guint8 *dgram_data(const NlPacket *p) {
  return p->data + p->owner_off;
}

/* Its source: the IP header's, and the UDP header's port (just before the
 * payload). */
static void dgram_source(const NlPacket *p, NlIp6 *src, uint16_t *sport) {
  if ((p->data[0] >> 4) == 6)
    memcpy(src->b, p->data + 8, 16);
  else
    *src = nl_ip6_from4(nl_wire_get32(p->data + 12));
  *sport = nl_wire_get16(dgram_data(p) - NL_UDP_HDR_LEN);
}

static GPtrArray *port_list(NlHostStack *h, uint16_t port, gboolean create) {
  /* A host's datagrams mostly go to the port of the one before. */
  if (h->udp_last != NULL && h->udp_last_port == port)
    return h->udp_last;
  GPtrArray *l = g_hash_table_lookup(h->udp_ports, GUINT_TO_POINTER(port));
  if (l == NULL && create) {
    l = g_ptr_array_new();
    g_hash_table_insert(h->udp_ports, GUINT_TO_POINTER(port), l);
  }
  if (l != NULL) {
    h->udp_last = l;
    h->udp_last_port = port;
  }
  return l;
}

/* What a socket bound to @laddr takes: IPv4 (an AF_INET socket, or a
 * dual-stack one bound to :: or a v4-mapped address) and IPv6 (an
 * AF_INET6 socket not bound to a v4-mapped address). */
static gboolean takes_v4(const NlFile *f, const NlIp6 *laddr) {
  if (f->domain == AF_INET)
    return TRUE;
  return !f->v6only && (nl_ip6_is_any(laddr) || nl_ip6_is_v4mapped(laddr));
}

static gboolean takes_v6(const NlFile *f, const NlIp6 *laddr) {
  return f->domain == AF_INET6 && !nl_ip6_is_v4mapped(laddr);
}

/* What a bound socket takes, as bits (NlUdpSock's takes): IPv4, IPv6, and
 * whether its address is a wildcard for each. */
enum {
  UDP_TAKES_V4 = 1 << 0,
  UDP_TAKES_V6 = 1 << 1,
  UDP_TAKES_ANY4 = 1 << 2, /* any IPv4 destination */
  UDP_TAKES_ANY6 = 1 << 3, /* any IPv6 destination */
};

/* What a socket of @f bound to @laddr takes (set at bind: neither can
 * change while it is bound; IPV6_V6ONLY is refused then). */
static guint8 udp_takes_bits(const NlFile *f, const NlIp6 *laddr) {
  guint8 b = 0;
  if (takes_v4(f, laddr)) {
    b |= UDP_TAKES_V4;
    if (nl_ip6_is_any(laddr) || nl_ip6_to4(laddr) == 0)
      b |= UDP_TAKES_ANY4;
  }
  if (takes_v6(f, laddr)) {
    b |= UDP_TAKES_V6;
    if (nl_ip6_is_any(laddr))
      b |= UDP_TAKES_ANY6;
  }
  return b;
}

/* Whether bound socket @u takes a packet to @dst: from its bits and its
 * address, the socket's line only, not its file's. */
static inline gboolean udp_sock_takes(const NlUdpSock *u, const NlIp6 *dst) {
  if (nl_ip6_is_v4mapped(dst))
    return (u->takes & UDP_TAKES_V4) &&
           ((u->takes & UDP_TAKES_ANY4) || nl_ip6_equal(&u->laddr, dst));
  return (u->takes & UDP_TAKES_V6) &&
         ((u->takes & UDP_TAKES_ANY6) || nl_ip6_equal(&u->laddr, dst));
}

/* Whether the addresses two bindings take overlap (inet_bind_conflict and
 * its IPv6 twin: 0.0.0.0 and a dual-stack :: share IPv4). */
static gboolean binds_overlap(const NlFile *fa, const NlIp6 *a,
                              const NlFile *fb, const NlIp6 *b) {
  if (takes_v4(fa, a) && takes_v4(fb, b)) {
    uint32_t x = nl_ip6_is_any(a) ? 0 : nl_ip6_to4(a);
    uint32_t y = nl_ip6_is_any(b) ? 0 : nl_ip6_to4(b);
    if (x == 0 || y == 0 || x == y)
      return TRUE;
  }
  if (takes_v6(fa, a) && takes_v6(fb, b))
    return nl_ip6_is_any(a) || nl_ip6_is_any(b) || nl_ip6_equal(a, b);
  return FALSE;
}

static gboolean udp_conflicts(NlHostStack *h, NlUdpSock *u, const NlIp6 *addr,
                              uint16_t port) {
  GPtrArray *l = port_list(h, port, FALSE);
  if (l == NULL)
    return FALSE;
  for (guint i = 0; i < l->len; i++) {
    NlUdpSock *o = g_ptr_array_index(l, i);
    if (!binds_overlap(u->file, addr, o->file, &o->laddr))
      continue;
    /* Linux: sharing needs SO_REUSEADDR on both, or SO_REUSEPORT on both. */
    if ((u->reuseaddr && o->reuseaddr) || (u->reuseport && o->reuseport))
      continue;
    return TRUE;
  }
  return FALSE;
}

/* Whether @addr may be bound on @h: unspecified, one of its own, or an
 * IPv4 loopback or broadcast address. */
static gboolean bindable(NlHostStack *h, const NlIp6 *addr) {
  if (nl_ip6_is_any(addr))
    return TRUE;
  if (nl_ip6_is_v4mapped(addr)) {
    uint32_t v4 = nl_ip6_to4(addr);
    return v4 == 0 || nl_node_has_addr(h->node, v4) || v4 == 0xffffffffu ||
           (v4 >> 24) == 127;
  }
  return nl_node_has_addr6(h->node, addr);
}

static int udp_bind(NlHostStack *h, NlUdpSock *u, const NlIp6 *addr,
                    uint16_t port) {
  if (u->bound)
    return -EINVAL;
  if (!bindable(h, addr))
    return -EADDRNOTAVAIL;
  if (port == 0) {
    /* Linux picks a random start in ip_local_port_range and walks up. */
    guint range = 60999 - 32768 + 1;
    guint start = (guint)nl_rand_below(&h->port_rand, range);
    gboolean found = FALSE;
    for (guint i = 0; i < range; i++) {
      uint16_t p = (uint16_t)(32768 + (start + i) % range);
      if (!udp_conflicts(h, u, addr, p) && port_list(h, p, FALSE) == NULL) {
        port = p;
        found = TRUE;
        break;
      }
    }
    if (!found)
      return -EADDRINUSE;
  } else if (udp_conflicts(h, u, addr, port)) {
    return -EADDRINUSE;
  }
  u->laddr = *addr;
  u->lport = port;
  u->bound = TRUE;
  u->takes = udp_takes_bits(u->file, addr);
  u->bind_seq = ++h->bind_seq;
  g_ptr_array_add(port_list(h, port, TRUE), u);
  h->udp_one = NULL;
  return 0;
}

static void udp_unbind(NlHostStack *h, NlUdpSock *u) {
  if (!u->bound)
    return;
  GPtrArray *l = port_list(h, u->lport, FALSE);
  if (l != NULL) {
    g_ptr_array_remove(l, u);
    if (l->len == 0) {
      if (h->udp_last == l)
        h->udp_last = NULL;
      g_hash_table_remove(h->udp_ports, GUINT_TO_POINTER(u->lport));
    }
  }
  h->udp_one = NULL;
  u->bound = FALSE;
}

static NlUdpSock *udp_lookup_many(GPtrArray *l, const NlIp6 *src,
                                  uint16_t sport, const NlIp6 *dst);

/* The socket a datagram to (dst, dport) from (src, sport) goes to: the
 * most specific match, as Linux's compute_score ranks them (an AF_INET
 * socket before a dual-stack one for IPv4); among equals, the one bound
 * last (SO_REUSEADDR) or a hash of the source (SO_REUSEPORT). */
static NlUdpSock *udp_lookup(NlHostStack *h, const NlIp6 *src, uint16_t sport,
                             const NlIp6 *dst, uint16_t dport) {
  NlUdpSock *u = h->udp_one;
  if (u == NULL || h->udp_one_port != dport) {
    GPtrArray *l = port_list(h, dport, FALSE);
    if (l == NULL)
      return NULL;
    if (l->len != 1)
      return udp_lookup_many(l, src, sport, dst);
    u = g_ptr_array_index(l, 0);
    h->udp_one = u;
    h->udp_one_port = dport;
  }
  /* One socket on the port (nearly always): it, if it takes the
   * datagram, as udp_lookup_many finds. */
  if (!udp_sock_takes(u, dst))
    return NULL;
  if (u->connected && (!nl_ip6_equal(&u->raddr, src) || u->rport != sport))
    return NULL;
  return u;
}

/* udp_lookup among several sockets on a port (@l). */
static NlUdpSock *udp_lookup_many(GPtrArray *l, const NlIp6 *src,
                                  uint16_t sport, const NlIp6 *dst) {
  NlUdpSock *best = NULL;
  int best_score = -1;
  guint n_reuseport = 0;
  gboolean v4 = nl_ip6_is_v4mapped(dst);
  for (guint i = 0; i < l->len; i++) {
    NlUdpSock *u = g_ptr_array_index(l, i);
    if (!udp_sock_takes(u, dst))
      continue;
    int score = 0;
    if (!nl_ip6_is_any(&u->laddr) &&
        !(nl_ip6_is_v4mapped(&u->laddr) && nl_ip6_to4(&u->laddr) == 0))
      score += 4;
    if (u->connected) {
      if (!nl_ip6_equal(&u->raddr, src) || u->rport != sport)
        continue;
      score += 8;
    }
    if (v4 && u->file->domain == AF_INET)
      score += 1;
    if (score > best_score ||
        (score == best_score && u->bind_seq > best->bind_seq)) {
      best = u;
      best_score = score;
    }
    n_reuseport += u->reuseport;
  }
  if (best != NULL && best->reuseport && n_reuseport > 1) {
    /* Spread flows over the group deterministically by the source. */
    guint hs = v4 ? nl_ip6_to4(src) : nl_ip6_hash(src);
    guint k = (hs * 2654435761u ^ sport) % n_reuseport, j = 0;
    for (guint i = 0; i < l->len; i++) {
      NlUdpSock *u = g_ptr_array_index(l, i);
      if (u->reuseport && j++ == k)
        return u;
    }
  }
  return best;
}

/* udp_lookup of an IPv4 datagram: the one socket on the port of the
 * last (nearly always) in IPv4 terms, as udp_lookup finds it (a bound
 * address or peer equal to an IPv4-mapped one is one too). */
static inline NlUdpSock *udp_lookup4(NlHostStack *h, uint32_t src,
                                     uint16_t sport, uint32_t dst,
                                     uint16_t dport) {
  NlUdpSock *u = h->udp_one;
  if (G_LIKELY(u != NULL && h->udp_one_port == dport)) {
    if (!(u->takes & UDP_TAKES_V4) ||
        (!(u->takes & UDP_TAKES_ANY4) &&
         !(nl_ip6_is_v4mapped(&u->laddr) && nl_ip6_to4(&u->laddr) == dst)))
      return NULL;
    if (u->connected &&
        (!nl_ip6_is_v4mapped(&u->raddr) || nl_ip6_to4(&u->raddr) != src ||
         u->rport != sport))
      return NULL;
    return u;
  }
  NlIp6 s6 = nl_ip6_from4(src), d6 = nl_ip6_from4(dst);
  return udp_lookup(h, &s6, sport, &d6, dport);
}

/* Queues @plen bytes at @payload of @pkt for @u, the socket that takes
 * them (NULL: none; answered as an unbound port does).  Takes @pkt. */
static inline void udp_deliver(NlHostStack *h, NlPacket *pkt, NlUdpSock *u,
                               const NlUdpHeader *uh, const guint8 *payload) {
  if (u == NULL) {
    nl_node_default_local_in(h->node, pkt);
    return;
  }
  guint plen = uh->len - NL_UDP_HDR_LEN;
  size_t charge = plen + UDP_TRUESIZE_OVERHEAD;
  if (u->queued + charge > (size_t)u->rcvbuf) {
    nl_node_drop(h->node, pkt, NL_DROP_RCVBUF_FULL);
    return;
  }
  /* Queued as it is: its payload is not copied. */
  pkt->owner_next = NULL;
  pkt->owner_off = (guint)(payload - pkt->data);
  pkt->owner_len = plen;
  *u->tail = pkt;
  u->tail = &pkt->owner_next;
  u->queued += (guint32)charge;
  nl_node_trace_deliver(h->node, pkt);
  nl__file_notify(u->file);
}

static void udp_input(NlHostStack *h, NlPacket *pkt, const NlIp4Header *ip) {
  NlUdpHeader uh;
  /* The checksum is checked unless the packet knows it right (its
   * builder made it: net.h). */
  if ((pkt->ip4_ok && pkt->udp_sum_ok
           ? nl_udp4_read(pkt->data, pkt->len, ip, &uh)
           : nl_udp4_parse(pkt->data, pkt->len, ip, &uh)) != NULL) {
    nl_node_drop(h->node, pkt, NL_DROP_BAD_CHECKSUM);
    return;
  }
  udp_deliver(h, pkt, udp_lookup4(h, ip->src, uh.sport, ip->dst, uh.dport),
              &uh, pkt->data + ip->ihl_bytes + NL_UDP_HDR_LEN);
}

static void udp6_input(NlHostStack *h, NlPacket *pkt, const NlIp6Header *ip) {
  NlUdpHeader uh;
  if (nl_udp6_parse(pkt->data, pkt->len, ip, &uh) != NULL) {
    nl_node_drop(h->node, pkt, NL_DROP_BAD_CHECKSUM);
    return;
  }
  udp_deliver(h, pkt, udp_lookup(h, &ip->src, uh.sport, &ip->dst, uh.dport),
              &uh, pkt->data + ip->hdr_bytes + NL_UDP_HDR_LEN);
}

static void icmp_input(NlHostStack *h, NlPacket *pkt, const NlIp4Header *ip) {
  guint l4 = ip->total_len - ip->ihl_bytes;
  const guint8 *ic = pkt->data + ip->ihl_bytes;
  if (l4 < NL_ICMP_HDR_LEN + NL_IP4_HDR_LEN + 8 ||
      (ic[0] != NL_ICMP_DEST_UNREACH && ic[0] != NL_ICMP_TIME_EXCEEDED)) {
    nl_node_default_local_in(h->node, pkt);
    return;
  }
  const guint8 *o = ic + NL_ICMP_HDR_LEN;
  guint oihl = (guint)(o[0] & 0x0f) * 4;
  if (l4 < NL_ICMP_HDR_LEN + oihl + 8) {
    nl_node_drop(h->node, pkt, NL_DROP_MALFORMED);
    return;
  }
  uint8_t proto = o[9];
  NlIp6 osrc = nl_ip6_from4(nl_wire_get32(o + 12));
  NlIp6 odst = nl_ip6_from4(nl_wire_get32(o + 16));
  uint16_t osport = nl_wire_get16(o + oihl);
  uint16_t odport = nl_wire_get16(o + oihl + 2);
  nl_node_trace_deliver(h->node, pkt);
  if (proto == NL_IPPROTO_TCP) {
    if (h->tcp)
      nl_tcp_icmp_input(h->tcp, pkt->data, pkt->len);
  } else if (proto == NL_IPPROTO_UDP) {
    /* Linux reports ICMP errors on connected UDP sockets only. */
    NlUdpSock *u = udp_lookup(h, &odst, odport, &osrc, osport);
    if (u != NULL && u->connected) {
      int err = ECONNREFUSED;
      if (ic[0] == NL_ICMP_DEST_UNREACH && ic[1] == NL_ICMP_HOST_UNREACH)
        err = EHOSTUNREACH;
      else if (ic[0] == NL_ICMP_DEST_UNREACH && ic[1] == NL_ICMP_NET_UNREACH)
        err = ENETUNREACH;
      else if (ic[0] == NL_ICMP_DEST_UNREACH && ic[1] == NL_ICMP_FRAG_NEEDED)
        err = EMSGSIZE;
      else if (ic[0] == NL_ICMP_TIME_EXCEEDED)
        err = EHOSTUNREACH;
      u->pending_error = err;
      nl__file_notify(u->file);
    }
  }
  nl_packet_free(pkt);
}

/* icmpv6_err_convert: the errno an ICMPv6 error means, and whether it is
 * "fatal" (only those reach a socket that did not ask for IPV6_RECVERR). */
static int icmp6_errno(uint8_t type, uint8_t code, gboolean *fatal) {
  *fatal = FALSE;
  switch (type) {
    case NL_ICMP6_DEST_UNREACH:
      switch (code) {
        case NL_ICMP6_NO_ROUTE: return ENETUNREACH;
        case NL_ICMP6_PORT_UNREACH: *fatal = TRUE; return ECONNREFUSED;
        case NL_ICMP6_ADMIN_PROHIBITED:
        case 5: /* source address failed policy */
        case 6: /* reject route */
          *fatal = TRUE;
          return EACCES;
        default: return EHOSTUNREACH;
      }
    case NL_ICMP6_PACKET_TOO_BIG: *fatal = TRUE; return EMSGSIZE;
    case NL_ICMP6_PARAM_PROBLEM: *fatal = TRUE; return EPROTO;
    case NL_ICMP6_TIME_EXCEEDED: return EHOSTUNREACH;
    default: return EPROTO;
  }
}

static void icmp6_input(NlHostStack *h, NlPacket *pkt, const NlIp6Header *ip) {
  size_t l4 = NL_IP6_HDR_LEN + (size_t)ip->payload_len - ip->hdr_bytes;
  const guint8 *ic = pkt->data + ip->hdr_bytes;
  if (l4 < NL_ICMP6_HDR_LEN || ic[0] >= 128) {
    nl_node_default_local_in(h->node, pkt); /* echo */
    return;
  }
  /* The quoted packet: its header, a fragment header perhaps, then the
   * first bytes of UDP or TCP. */
  const guint8 *o = ic + NL_ICMP6_HDR_LEN;
  size_t olen = l4 - NL_ICMP6_HDR_LEN, off = NL_IP6_HDR_LEN;
  if (olen < NL_IP6_HDR_LEN + 4 || (o[0] >> 4) != 6) {
    nl_node_drop(h->node, pkt, NL_DROP_MALFORMED);
    return;
  }
  uint8_t proto = o[6];
  if (proto == NL_IPPROTO_FRAGMENT && olen >= off + NL_IP6_FRAG_HDR_LEN + 4) {
    proto = o[off];
    off += NL_IP6_FRAG_HDR_LEN;
  }
  NlIp6 osrc, odst;
  memcpy(osrc.b, o + 8, 16);
  memcpy(odst.b, o + 24, 16);
  nl_node_trace_deliver(h->node, pkt);
  if (proto == NL_IPPROTO_UDP && olen >= off + 4) {
    uint16_t osport = nl_wire_get16(o + off);
    uint16_t odport = nl_wire_get16(o + off + 2);
    NlUdpSock *u = udp_lookup(h, &odst, odport, &osrc, osport);
    gboolean fatal;
    int err = icmp6_errno(ic[0], ic[1], &fatal);
    /* __udp6_lib_err: a Packet Too Big is "fatal" unless the socket set
     * IPV6_MTU_DISCOVER to IPV6_PMTUDISC_DONT. */
    if (u != NULL && ic[0] == NL_ICMP6_PACKET_TOO_BIG &&
        u->file->v6.pmtudisc == IPV6_PMTUDISC_DONT)
      fatal = FALSE;
    if (u != NULL && u->connected && fatal) {
      u->pending_error = err;
      nl__file_notify(u->file);
    }
  }
  nl_packet_free(pkt);
}

void nl__host_local_in(void *data, NlNode *node, NlPacket *pkt) {
  NlHostStack *h = data;
  if (nl_packet_is_ip6(pkt)) {
    NlIp6Header ip6;
    if (nl_ip6_parse(pkt->data, pkt->len, &ip6) != NULL) {
      nl_node_drop(node, pkt, NL_DROP_MALFORMED);
      return;
    }
    switch (ip6.proto) {
      case NL_IPPROTO_UDP: udp6_input(h, pkt, &ip6); return;
      case NL_IPPROTO_ICMPV6: icmp6_input(h, pkt, &ip6); return;
      default: nl_node_default_local_in(node, pkt); return;
    }
  }
  if (nl_packet_ip4(pkt) != NULL) {
    nl_node_drop(node, pkt, NL_DROP_MALFORMED);
    return;
  }
  const NlIp4Header *ip = &pkt->ip4;
  switch (ip->proto) {
    case NL_IPPROTO_UDP:
      udp_input(h, pkt, ip);
      return;
    case NL_IPPROTO_TCP:
      nl_node_trace_deliver(node, pkt);
      nl_tcp_input_packet(tcp_stack(h), pkt, ip);
      return;
    case NL_IPPROTO_ICMP:
      icmp_input(h, pkt, ip);
      return;
    default:
      nl_node_default_local_in(node, pkt);
  }
}

/* ---- files and polling ---- */

static void sock_closed(NlFile *f) {
  if (f->kind == NL_FILE_UDP) {
    NlUdpSock *u = f->udp;
    udp_unbind(f->host, u);
    while (u->head != NULL) {
      NlPacket *d = u->head;
      u->head = d->owner_next;
      nl_packet_free(d);
    }
    g_aligned_free(u);
    f->udp = NULL;
  } else if (f->kind == NL_FILE_TCP && f->tcp) {
    nl_tcp_close(f->tcp);
    f->tcp = NULL;
  }
}

static unsigned sock_poll(NlFile *f) {
  if (f->kind == NL_FILE_TCP)
    return f->tcp ? nl_tcp_poll(f->tcp) : POLLNVAL;
  NlUdpSock *u = f->udp;
  unsigned m = POLLOUT | POLLWRNORM;
  if (u->head != NULL)
    m |= POLLIN | POLLRDNORM;
  if (u->pending_error)
    m |= POLLERR;
  return m;
}

static void sock_fill(NlFile *f, NlFileFill *out) {
  if (f->kind == NL_FILE_TCP) {
    if (f->tcp == NULL) {
      out->read_eof = out->write_eof = TRUE;
      return;
    }
    NlTcpSockInfo info;
    nl_tcp_sock_info(f->tcp, &info);
    out->readable = (int64_t)(f->tcp_listening ? info.accept_queue
                                               : info.readable);
    out->writable = (int64_t)info.send_space;
    out->read_eof = info.read_eof;
    out->write_eof = info.write_eof;
    out->error = info.error;
    return;
  }
  NlUdpSock *u = f->udp;
  for (const NlPacket *d = u->head; d != NULL; d = d->owner_next)
    out->readable += d->owner_len;
  out->writable = u->sndbuf;
  out->error = u->pending_error;
}

/* Socket files close, poll and fill through these (sched.c calls them). */
static const NlFileOps sock_ops = {
    .closed = sock_closed, .poll = sock_poll, .fill = sock_fill};

static NlFile *get_file(NlThread *t, int fd, int *err) {
  NlFile *f = nl__fd_get(t->proc, fd);
  *err = f ? 0 : -EBADF;
  return f;
}

/* get_sock() of the file @f descriptor @fd names (NULL: none), already
 * looked up. */
static NlFile *sock_of(NlFile *f, int *err) {
  if (f == NULL) {
    *err = -EBADF;
    return NULL;
  }
  if (f->kind != NL_FILE_UDP && f->kind != NL_FILE_TCP) {
    *err = -ENOTSOCK;
    return NULL;
  }
  *err = 0;
  return f;
}

static NlFile *get_sock(NlThread *t, int fd, int *err) {
  return sock_of(nl__fd_get(t->proc, fd), err);
}

static gboolean nonblocking(const NlFile *f, int flags) {
  return (f->status_flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

static NlTime deadline_of(NlThread *t, NlTime timeout) {
  return timeout > 0 ? nl_world_now(t->proc->host->world) + timeout
                     : NL_TIME_NEVER;
}

/* Waits until @f is ready for @mask or @deadline passes.  FALSE on
 * timeout. */
/* One wait of @t on @f until it is notified or @deadline: FALSE if the
 * deadline has passed already.  Else the file is kept alive while
 * blocked (another thread may close the descriptor; a thread killed
 * while blocked gives it back in thread_free()), and the caller gives
 * that reference back (nl__file_unref) once it has looked at @f. */
static inline gboolean block_held(NlThread *t, NlFile *f, NlTime deadline) {
  if (deadline != NL_TIME_NEVER &&
      nl_world_now(t->proc->host->world) >= deadline)
    return FALSE;
  t->held = nl__file_ref(f);
  nl__wait_file(t, f);
  nl__block(t, deadline);
  t->held = NULL;
  return TRUE;
}

static gboolean wait_ready(NlThread *t, NlFile *f, unsigned mask,
                           NlTime deadline) {
  for (;;) {
    if (nl__file_poll(f) & (mask | POLLERR | POLLHUP))
      return TRUE;
    if (!block_held(t, f, deadline))
      return FALSE;
    nl__file_unref(f);
  }
}

/* ---- calls ---- */

int nl_vsock_socket(NlThread *t, int domain, int type, int protocol) {
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  /* Linux's __sys_socket checks the flags in @type first, then
   * __sock_create the domain, then the type. */
  if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
    return -EINVAL;
  if (domain != AF_INET && domain != AF_INET6)
    return -EAFNOSUPPORT;
  NlFileKind kind;
  if (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
    kind = NL_FILE_UDP;
  else if (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
    kind = NL_FILE_TCP;
  else if (base == SOCK_RAW)
    return -EPERM; /* raw sockets need CAP_NET_RAW */
  else if (base == SOCK_DGRAM || base == SOCK_STREAM)
    return -EPROTONOSUPPORT;
  else
    return -ESOCKTNOSUPPORT;
  NlHostStack *h = t->proc->host;
  NlFile *f = nl__file_new(h, kind, &sock_ops);
  f->domain = domain;
  f->type = base;
  f->v6.hops = -1;
  f->v6.mhops = -1;
  f->v6.pmtudisc = IPV6_PMTUDISC_WANT;
  f->v6.mloop = TRUE;
  if (type & SOCK_NONBLOCK)
    f->status_flags |= O_NONBLOCK;
  if (kind == NL_FILE_UDP) {
    NlUdpSock *u = g_aligned_alloc0(1, sizeof(NlUdpSock), 64);
    u->file = f;
    u->rcvbuf = UDP_DEFAULT_RCVBUF;
    u->sndbuf = UDP_DEFAULT_SNDBUF;
    u->ttl = 64;
    u->tail = &u->head;
    f->udp = u;
  } else {
    f->tcp = nl_tcp_socket(tcp_stack(h), f);
  }
  int fd = nl__fd_install(t->proc, f, 0, (type & SOCK_CLOEXEC) != 0);
  if (fd < 0)
    nl__file_unref(f);
  nl__trace_call(t, "socket(%s, %s) = %d",
                 domain == AF_INET6 ? "AF_INET6" : "AF_INET",
                 kind == NL_FILE_UDP ? "SOCK_DGRAM" : "SOCK_STREAM", fd);
  return fd;
}

int nl_vsock_bind(NlThread *t, int fd, const struct sockaddr *sa,
                  socklen_t len) {
  int err;
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  NlIp6 addr;
  uint16_t port;
  /* inet_bind's compatibility rule: AF_UNSPEC is AF_INET when the address
   * is INADDR_ANY. */
  struct sockaddr_in unspec;
  if (sa != NULL && len >= (socklen_t)sizeof unspec &&
      sa->sa_family == AF_UNSPEC && f->domain == AF_INET) {
    memcpy(&unspec, sa, sizeof unspec);
    if (unspec.sin_addr.s_addr == htonl(INADDR_ANY)) {
      unspec.sin_family = AF_INET;
      sa = (const struct sockaddr *)&unspec;
    }
  }
  if ((err = sa_get(f, sa, len, SA_BIND, &addr, &port)) < 0)
    return err;
  if (f->kind == NL_FILE_UDP)
    err = udp_bind(f->host, f->udp, &addr, port);
  else if (!is_v4(f, &addr) && !nl_ip6_is_any(&addr))
    err = -EADDRNOTAVAIL; /* TCP over IPv6 is not modelled yet */
  else
    err = nl_tcp_bind(f->tcp, nl_ip6_to4(&addr), port);
  char b[ADDR_STRLEN];
  nl__trace_call(t, "bind(%d, %s) = %d", fd, fmt_addr6(&addr, port, b), err);
  return err;
}

int nl_vsock_listen(NlThread *t, int fd, int backlog) {
  int err;
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (f->kind != NL_FILE_TCP)
    return -EOPNOTSUPP;
  err = nl_tcp_listen(f->tcp, backlog);
  if (err == 0)
    f->tcp_listening = TRUE;
  nl__trace_call(t, "listen(%d, %d) = %d", fd, backlog, err);
  return err;
}

/* Whether nl__fd_install() would find a descriptor for @p. */
static gboolean fd_available(NlProc *p) {
  int limit = nl__facts_fd_limit(p);
  for (int fd = 0; fd < limit; fd++)
    if ((guint)fd >= p->fd_cap || p->fds[fd] == NULL)
      return TRUE;
  return FALSE;
}

int nl_vsock_accept4(NlThread *t, int fd, struct sockaddr *sa,
                     socklen_t *len, int flags) {
  int err;
  /* Linux: the descriptor (EBADF), the flags (EINVAL), then the socket
   * (ENOTSOCK). */
  if (!get_file(t, fd, &err))
    return err;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
    return -EINVAL;
  /* Then a free descriptor (get_unused_fd_flags), before the socket is
   * even looked at: out of descriptors, accept() fails at once with
   * EMFILE and leaves the connection queued, so the listener stays
   * readable and a loop that polls it is told so again and again. */
  if (!fd_available(t->proc)) {
    t->proc->emfile++;
    nl__wasted(t);
    nl__trace_call(t, "accept(%d) = -EMFILE", fd);
    return -EMFILE;
  }
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (f->kind != NL_FILE_TCP)
    return -EOPNOTSUPP;
  if (!f->tcp_listening)
    return -EINVAL;
  NlTime deadline = deadline_of(t, f->rcvtimeo);
  for (;;) {
    /* The new file exists only while asked for: nothing is held across a
     * block, so a process killed in accept() leaks nothing. */
    NlFile *nf = nl__file_new(f->host, NL_FILE_TCP, &sock_ops);
    NlTcpSock *s = nl_tcp_accept(f->tcp, nf, &err);
    if (s != NULL) {
      nf->tcp = s;
      nf->domain = f->domain;
      nf->type = SOCK_STREAM;
      if (flags & SOCK_NONBLOCK)
        nf->status_flags |= O_NONBLOCK;
      nf->accepted = TRUE;
      int nfd = nl__fd_install(t->proc, nf, 0, (flags & SOCK_CLOEXEC) != 0);
      if (nfd < 0) {
        nl__file_unref(nf);
        return nfd;
      }
      uint32_t a;
      uint16_t p;
      if (nl_tcp_getpeername(s, &a, &p) == 0) {
        NlIp6 a6 = nl_ip6_from4(a);
        sa_put(nf, &a6, p, sa, len);
      }
      char b[ADDR_STRLEN];
      nl__trace_call(t, "accept(%d) = %d from %s", fd, nfd,
                     fmt_addr(a, p, b));
      return nfd;
    }
    if (err != -EAGAIN || nonblocking(f, 0)) {
      nl__file_unref(nf);
      if (err == -EAGAIN)
        nl__wasted(t);
      nl__trace_call(t, "accept(%d) = -%s", fd, strerrorname_np(-err));
      return err;
    }
    nl__file_unref(nf);
    if (!wait_ready(t, f, POLLIN, deadline)) {
      nl__trace_call(t, "accept(%d) = -EAGAIN", fd);
      return -EAGAIN;
    }
  }
}

/* The source address of a packet from @h to @dst (an address of either
 * family); FALSE when there is no route. */
static gboolean source_for(NlHostStack *h, const NlIp6 *dst, NlIp6 *src) {
  if (nl_ip6_is_v4mapped(dst)) {
    uint32_t s4;
    guint mtu;
    if (!route_to(h, nl_ip6_to4(dst), &s4, &mtu))
      return FALSE;
    *src = nl_ip6_from4(s4);
    return TRUE;
  }
  return nl_node_source6(h->node, dst, src, NULL);
}

int nl_vsock_connect(NlThread *t, int fd, const struct sockaddr *sa,
                     socklen_t len) {
  int err;
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  NlIp6 addr;
  uint16_t port;
  char b[ADDR_STRLEN];
  if (f->kind == NL_FILE_UDP) {
    NlUdpSock *u = f->udp;
    if (sa != NULL && len >= (socklen_t)sizeof(sa_family_t) &&
        sa->sa_family == AF_UNSPEC) {
      u->connected = FALSE; /* dissolve the association */
      return 0;
    }
    /* inet_dgram_connect binds a port before the protocol reads the
     * address (a refused address leaves the socket bound). */
    if (!u->bound && (err = udp_bind(f->host, u, &ip6_any, 0)) < 0)
      return err;
    if ((err = sa_get(f, sa, len, SA_CONNECT, &addr, &port)) < 0)
      return err;
    NlIp6 src;
    if (!source_for(f->host, &addr, &src))
      return -ENETUNREACH;
    u->raddr = addr;
    u->rport = port;
    u->connected = TRUE;
    u->pending_error = 0;
    nl__trace_call(t, "connect(%d, %s) = 0", fd, fmt_addr6(&addr, port, b));
    return 0;
  }
  if ((err = sa_get(f, sa, len, SA_CONNECT, &addr, &port)) < 0)
    return err;
  if (!is_v4(f, &addr))
    return -ENETUNREACH; /* TCP over IPv6 is not modelled yet */
  uint32_t a4 = nl_ip6_to4(&addr);
  err = nl_tcp_connect(f->tcp, a4, port);
  if (err != -EINPROGRESS) {
    nl__trace_call(t, "connect(%d, %s) = %d", fd, fmt_addr6(&addr, port, b),
                   err);
    return err;
  }
  if (nonblocking(f, 0)) {
    nl__trace_call(t, "connect(%d, %s) = -EINPROGRESS", fd,
                   fmt_addr6(&addr, port, b));
    return -EINPROGRESS;
  }
  if (!wait_ready(t, f, POLLOUT, deadline_of(t, f->sndtimeo)))
    return -EINPROGRESS; /* SO_SNDTIMEO expired, as Linux reports it */
  err = nl_tcp_connect(f->tcp, a4, port);
  if (err == -EISCONN)
    err = 0;
  nl__trace_call(t, "connect(%d, %s) = %d", fd, fmt_addr6(&addr, port, b),
                 err);
  return err;
}

static void sigpipe(NlThread *t, int flags) {
  if ((flags & MSG_NOSIGNAL) || t->proc->sigpipe_ignored || t->quiet)
    return;
  /* SIGPIPE's default action ends the process. */
  nl__trace_call(t, "killed by SIGPIPE (write to a closed connection)");
  nl__proc_exit(t, 128 + SIGPIPE);
}

/* Sends @len bytes to @dst over IPv6 from @h, as udpv6_sendmsg: the
 * socket's hop limit and traffic class; larger than the path MTU, the
 * datagram is fragmented here unless the socket said IPV6_DONTFRAG or
 * IPV6_PMTUDISC_DO/PROBE (then EMSGSIZE). */
static int udp6_output(NlHostStack *h, NlUdpSock *u, const NlIp6 *src,
                       const NlIp6 *dst, uint16_t dport, const void *buf,
                       size_t len) {
  const NlSockV6 *o = &u->file->v6;
  guint mtu;
  if (!nl_node_source6(h->node, dst, NULL, &mtu))
    return -ENETUNREACH;
  if (o->mtu > 0)
    mtu = MIN(mtu, (guint)o->mtu);
  gboolean dontfrag = o->dontfrag || o->pmtudisc == IPV6_PMTUDISC_DO ||
                      o->pmtudisc == IPV6_PMTUDISC_PROBE;
  size_t total = NL_IP6_HDR_LEN + NL_UDP_HDR_LEN + len;
  if (dontfrag && total > mtu)
    return -EMSGSIZE;
  guint8 *pkt = g_malloc(total);
  nl_udp6_build(pkt, src, u->lport, dst, dport, buf, len,
                (uint8_t)(o->hops < 0 ? NL_IP6_DEFAULT_HOPS : o->hops),
                (uint8_t)o->tclass);
  int err = nl_node_send6(h->node, pkt, total, TRUE);
  g_free(pkt);
  return err;
}

/* ---- socketpair(AF_UNIX, SOCK_STREAM) ends (sched.c makes them) ---- */

static ssize_t unix_recv(NlThread *t, NlFile *f, void *buf, size_t len,
                         int flags) {
  if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC))
    return -EOPNOTSUPP;
  NlTime deadline = deadline_of(t, f->rcvtimeo);
  for (;;) {
    ssize_t n = nl__pipe_read(f, buf, len);
    if (n != -EAGAIN || len == 0)
      return len == 0 ? 0 : n;
    if (nonblocking(f, flags)) {
      nl__wasted(t);
      return -EAGAIN;
    }
    if (!wait_ready(t, f, POLLIN, deadline))
      return -EAGAIN; /* SO_RCVTIMEO */
  }
}

static ssize_t unix_send(NlThread *t, NlFile *f, const void *buf, size_t len,
                         int flags, const struct sockaddr *sa) {
  if (sa != NULL)
    return f->pipe_tx->readers == 0 ? -EPIPE : -EISCONN;
  if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL))
    return -EOPNOTSUPP;
  size_t done = 0;
  while (done < len) {
    ssize_t n = nl__pipe_write(f, (const guint8 *)buf + done, len - done);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n == -EPIPE) {
      if (done)
        return (ssize_t)done;
      sigpipe(t, flags);
      return n;
    }
    if (nonblocking(f, flags)) {
      if (!done)
        nl__wasted(t);
      return done ? (ssize_t)done : -EAGAIN;
    }
    wait_ready(t, f, POLLOUT, NL_TIME_NEVER);
  }
  return (ssize_t)done;
}

int nl_vsock_socketpair(NlThread *t, int domain, int type, int protocol,
                        int sv[2]) {
  int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (domain == AF_INET || domain == AF_INET6)
    return -EOPNOTSUPP; /* Linux: such sockets exist but make no pairs */
  if (domain != AF_UNIX)
    return -EAFNOSUPPORT;
  if (type != SOCK_STREAM)
    return -EOPNOTSUPP; /* the lab makes stream pairs only */
  if (protocol != 0)
    return -EPROTONOSUPPORT;
  if (sv == NULL)
    return -EFAULT;
  NlFile *a, *b;
  nl__unix_pair_new(t->proc->host, &a, &b);
  if (flags & SOCK_NONBLOCK)
    a->status_flags = b->status_flags = O_NONBLOCK;
  gboolean cloexec = (flags & SOCK_CLOEXEC) != 0;
  int fa = nl__fd_install(t->proc, a, 0, cloexec);
  if (fa < 0) {
    nl__file_unref(a);
    nl__file_unref(b);
    return fa;
  }
  int fb = nl__fd_install(t->proc, b, 0, cloexec);
  if (fb < 0) {
    t->proc->fds[fa] = NULL;
    nl__file_unref(a);
    nl__file_unref(b);
    return fb;
  }
  sv[0] = fa;
  sv[1] = fb;
  return 0;
}

/* udp_send's end, once a datagram of @len bytes to @dst:@dport went
 * (@err 0) or was refused by the network layer (@err). */
static inline ssize_t udp_sent(NlThread *t, int fd, NlHostStack *h,
                               const NlIp6 *dst, uint16_t dport, size_t len,
                               int err) {
  if (nl_trace_wants(nl_world_trace(h->world), NL_TRACE_CALL)) {
    char b[ADDR_STRLEN];
    nl__trace_call_io(t, "sendto", fd, len, TRUE, fmt_addr6(dst, dport, b),
                      err < 0 ? (ssize_t)err : (ssize_t)len, FALSE);
  }
  if (err == -EHOSTDOWN)
    err = -ENETDOWN;
  return err < 0 ? err : (ssize_t)len;
}

static ssize_t udp_send(NlThread *t, int fd, NlFile *f, const void *buf,
                        size_t len,
                        int flags, const struct sockaddr *sa, socklen_t alen) {
  NlUdpSock *u = f->udp;
  NlHostStack *h = f->host;
  NlIp6 dst;
  uint16_t dport;
  int err;
  if (G_LIKELY(f->domain == AF_INET && sa != NULL &&
               alen >= (socklen_t)sizeof(struct sockaddr_in) &&
               sa->sa_family == AF_INET && u->bound &&
               !(flags & MSG_OOB))) {
    /* The common case, a bound AF_INET socket sending to an IPv4
     * address: the checks below in their order, in IPv4 terms (its
     * bound address is 0.0.0.0 or an IPv4 one, so never of the other
     * family). */
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uint32_t dst4 = ntohl(in->sin_addr.s_addr);
    dport = ntohs(in->sin_port);
    if (u->connected && u->pending_error) {
      err = u->pending_error;
      u->pending_error = 0;
      return -err;
    }
    if (len > UDP_MAX_PAYLOAD)
      return -EMSGSIZE;
    if (dport == 0)
      return -EINVAL;
    if (dst4 == 0xffffffffu && !u->broadcast)
      return -EACCES;
    uint32_t src4 = nl_ip6_to4(&u->laddr);
    err = nl_node_send_udp4(h->node, src4 == 0 ? &h->source_route : NULL,
                            src4, u->lport, dst4, dport, buf, len,
                            (uint8_t)u->ttl, u->df);
    if (src4 == 0 && err == -ENETUNREACH)
      return err; /* no route: refused before anything was built */
    dst = nl_ip6_from4(dst4);
    return udp_sent(t, fd, h, &dst, dport, len, err);
  }
  /* inet_send_prepare binds a port before udp_sendmsg looks at anything
   * (a refused datagram leaves the socket bound). */
  if (!u->bound && (err = udp_bind(h, u, &ip6_any, 0)) < 0)
    return err;
  if (flags & MSG_OOB)
    return -EOPNOTSUPP; /* udp_sendmsg's first check */
  /* udpv6_sendmsg: AF_UNSPEC is no address at all. */
  if (sa != NULL && f->domain == AF_INET6 &&
      alen >= (socklen_t)sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
    sa = NULL;
  if (sa != NULL) {
    if ((err = sa_get(f, sa, alen, SA_SEND, &dst, &dport)) < 0)
      return err;
  } else if (u->connected) {
    dst = u->raddr;
    dport = u->rport;
  } else {
    return -EDESTADDRREQ;
  }
  if (u->connected && u->pending_error) {
    err = u->pending_error;
    u->pending_error = 0;
    return -err;
  }
  gboolean v4 = is_v4(f, &dst);
  if (v4)
    dst = nl_ip6_from4(nl_ip6_to4(&dst)); /* 0.0.0.0 too */
  if (len > (v4 ? UDP_MAX_PAYLOAD : NL_IP6_MAX_PAYLOAD - NL_UDP_HDR_LEN))
    return -EMSGSIZE;
  if (dport == 0)
    return -EINVAL;
  if (v4 && nl_ip6_to4(&dst) == 0xffffffffu && !u->broadcast)
    return -EACCES;
  /* The bound address, unless it is unspecified (or IPv4's on an
   * IPv6 packet: no route). */
  NlIp6 src = u->laddr;
  gboolean any = nl_ip6_is_any(&src) ||
                 (nl_ip6_is_v4mapped(&src) && nl_ip6_to4(&src) == 0);
  if (v4 != nl_ip6_is_v4mapped(&src) && !any)
    return -ENETUNREACH;
  if (v4) {
    /* Built in the packet that goes, its IPv4 header known.  With the
     * address unspecified, the host's own, or the route's: the route
     * that chose it is the packet's way out, kept from the last datagram
     * to the same destination. */
    err = nl_node_send_udp4(h->node, any ? &h->source_route : NULL,
                            nl_ip6_to4(&src), u->lport, nl_ip6_to4(&dst),
                            dport, buf, len, (uint8_t)u->ttl, u->df);
    if (any && err == -ENETUNREACH)
      return err; /* no route: refused before anything was built */
  } else {
    if (any && !source_for(h, &dst, &src))
      return -ENETUNREACH;
    err = udp6_output(h, u, &src, &dst, dport, buf, len);
  }
  return udp_sent(t, fd, h, &dst, dport, len, err);
}

static ssize_t tcp_send_some(NlThread *t, NlFile *f, const void *buf,
                             size_t len, int flags);

/* Sends on a TCP socket, counting the bytes the program sent. */
static ssize_t tcp_send(NlThread *t, NlFile *f, const void *buf, size_t len,
                        int flags) {
  ssize_t n = tcp_send_some(t, f, buf, len, flags);
  if (n > 0)
    t->proc->sent += (uint64_t)n;
  return n;
}

static ssize_t tcp_send_some(NlThread *t, NlFile *f, const void *buf,
                             size_t len, int flags) {
  size_t done = 0;
  NlTime deadline = deadline_of(t, f->sndtimeo);
  for (;;) {
    ssize_t n = nl_tcp_send(f->tcp, (const guint8 *)buf + done, len - done,
                            flags);
    if (n > 0)
      done += (size_t)n;
    if (done == len && len > 0)
      break;
    if (n < 0 && n != -EAGAIN) {
      if (done > 0)
        break;
      if (n == -EPIPE)
        sigpipe(t, flags);
      return n;
    }
    if (len == 0)
      return n < 0 ? n : 0;
    if (nonblocking(f, flags)) {
      if (done == 0)
        nl__wasted(t);
      return done > 0 ? (ssize_t)done : -EAGAIN;
    }
    if (!wait_ready(t, f, POLLOUT, deadline))
      return done > 0 ? (ssize_t)done : -EAGAIN;
  }
  return (ssize_t)done;
}

ssize_t nl_vsock_sendto(NlThread *t, int fd, const void *buf, size_t len,
                        int flags, const struct sockaddr *sa,
                        socklen_t alen) {
  int err;
  NlFile *uf = nl__fd_get(t->proc, fd);
  if (uf != NULL && uf->kind == NL_FILE_UNIX)
    return unix_send(t, uf, buf, len, flags, sa);
  NlFile *f = sock_of(uf, &err);
  if (!f)
    return err;
  if (f->kind == NL_FILE_UDP) {
    ssize_t n = udp_send(t, fd, f, buf, len, flags, sa, alen);
    if (n > 0)
      t->proc->sent += (uint64_t)n;
    return n;
  }
  ssize_t r = tcp_send(t, f, buf, len, flags);
  nl__trace_call_io(t, "send", fd, len, TRUE, NULL, r, TRUE);
  return r;
}

static ssize_t udp_recv(NlThread *t, NlFile *f, void *buf, size_t len,
                        int flags, struct sockaddr *sa, socklen_t *alen,
                        int *msg_flags) {
  NlUdpSock *u = f->udp;
  NlTime deadline = deadline_of(t, f->rcvtimeo);
  for (;;) {
    if (u->pending_error) {
      int e = u->pending_error;
      u->pending_error = 0;
      return -e;
    }
    NlPacket *d = u->head;
    if (d != NULL) {
      guint dlen = d->owner_len;
      size_t n = MIN(len, (size_t)dlen);
      memcpy(buf, dgram_data(d), n);
      if (sa != NULL && alen != NULL) {
        NlIp6 src;
        uint16_t sport;
        dgram_source(d, &src, &sport);
        sa_put(f, &src, sport, sa, alen);
      }
      if (msg_flags && n < dlen)
        *msg_flags |= MSG_TRUNC;
      ssize_t r = (flags & MSG_TRUNC) ? (ssize_t)dlen : (ssize_t)n;
      if (!(flags & MSG_PEEK)) {
        u->head = d->owner_next;
        if (u->head == NULL)
          u->tail = &u->head;
        u->queued -= dlen + UDP_TRUESIZE_OVERHEAD;
        nl_packet_free(d);
      }
      return r;
    }
    if (nonblocking(f, flags)) {
      nl__wasted(t);
      return -EAGAIN;
    }
    /* wait_ready(t, f, POLLIN, deadline) without its polls: a UDP
     * socket's poll (sock_poll) has POLLIN when a datagram is queued and
     * POLLERR when an error is pending, never POLLHUP, and neither is so
     * now. */
    for (;;) {
      if (!block_held(t, f, deadline))
        return -EAGAIN;
      gboolean ready = u->head != NULL || u->pending_error != 0;
      nl__file_unref(f);
      if (ready)
        break;
    }
  }
}

static ssize_t tcp_recv(NlThread *t, NlFile *f, void *buf, size_t len,
                        int flags) {
  size_t done = 0;
  NlTime deadline = deadline_of(t, f->rcvtimeo);
  for (;;) {
    ssize_t n = nl_tcp_recv(f->tcp, (guint8 *)buf + done, len - done,
                            flags & ~MSG_WAITALL);
    if (n > 0) {
      done += (size_t)n;
      if (!(flags & MSG_WAITALL) || done == len || (flags & MSG_PEEK))
        return (ssize_t)done;
      continue;
    }
    if (n == 0 || len == 0)
      return (ssize_t)done;
    if (n != -EAGAIN)
      return done > 0 ? (ssize_t)done : n;
    if (nonblocking(f, flags)) {
      if (done == 0)
        nl__wasted(t);
      return done > 0 ? (ssize_t)done : -EAGAIN;
    }
    if (!wait_ready(t, f, POLLIN, deadline))
      return done > 0 ? (ssize_t)done : -EAGAIN;
  }
}

ssize_t nl_vsock_recvfrom(NlThread *t, int fd, void *buf, size_t len,
                          int flags, struct sockaddr *sa, socklen_t *alen) {
  int err;
  NlFile *uf = nl__fd_get(t->proc, fd);
  if (uf != NULL && uf->kind == NL_FILE_UNIX) {
    if (alen != NULL)
      *alen = 0; /* an unnamed peer */
    return unix_recv(t, uf, buf, len, flags);
  }
  NlFile *f = sock_of(uf, &err);
  if (!f)
    return err;
  ssize_t r;
  if (f->kind == NL_FILE_UDP) {
    r = udp_recv(t, f, buf, len, flags, sa, alen, NULL);
  } else {
    r = tcp_recv(t, f, buf, len, flags);
    if (r >= 0 && sa != NULL && alen != NULL)
      *alen = 0; /* Linux leaves a connected stream's address unset */
  }
  if (!nl_trace_wants(nl_world_trace(f->host->world), NL_TRACE_CALL))
    return r; /* nobody reads it: not formatted */
  nl__trace_call_io(t, sa ? "recvfrom" : "recv", fd, len, FALSE, NULL, r, TRUE);
  return r;
}

/* Linux's MAX_RW_COUNT: no read or write moves more in one call. */
#define NL_MAX_RW_COUNT ((size_t)0x7ffff000)

/* import_iovec's checks: a length that is negative as an ssize_t is
 * EINVAL; the total is cut at MAX_RW_COUNT.  OUT: *@total. */
static int iov_check(const struct iovec *iov, size_t n, size_t *total) {
  size_t s = 0;
  if (n > 0 && iov == NULL)
    return -EFAULT;
  for (size_t i = 0; i < n; i++) {
    if ((ssize_t)iov[i].iov_len < 0)
      return -EINVAL;
    s += MIN(iov[i].iov_len, NL_MAX_RW_COUNT - s);
  }
  *total = s;
  return 0;
}

/* Copies the first @total bytes the iovecs describe into one buffer
 * (transfer full). */
static guint8 *iov_gather(const struct iovec *iov, size_t n, size_t total) {
  guint8 *buf = g_malloc(MAX(total, 1));
  size_t off = 0;
  for (size_t i = 0; i < n && off < total; i++) {
    size_t k = MIN(iov[i].iov_len, total - off);
    memcpy(buf + off, iov[i].iov_base, k);
    off += k;
  }
  return buf;
}

static void iov_scatter(const struct iovec *iov, size_t n, const guint8 *buf,
                        size_t len) {
  size_t off = 0;
  for (size_t i = 0; i < n && off < len; i++) {
    size_t k = MIN(iov[i].iov_len, len - off);
    memcpy(iov[i].iov_base, buf + off, k);
    off += k;
  }
}

ssize_t nl_vsock_sendmsg(NlThread *t, int fd, const struct msghdr *msg,
                         int flags) {
  int err;
  /* Linux looks the socket up before it copies the message. */
  if (!get_sock(t, fd, &err))
    return err;
  if (msg == NULL)
    return -EFAULT;
  if (msg->msg_iovlen > 1024)
    return -EMSGSIZE;
  size_t total;
  if ((err = iov_check(msg->msg_iov, msg->msg_iovlen, &total)) < 0)
    return err;
  guint8 *buf = iov_gather(msg->msg_iov, msg->msg_iovlen, total);
  ssize_t r = nl_vsock_sendto(t, fd, buf, total, flags, msg->msg_name,
                              msg->msg_namelen);
  g_free(buf);
  return r;
}

ssize_t nl_vsock_recvmsg(NlThread *t, int fd, struct msghdr *msg, int flags) {
  int err;
  /* Linux looks the socket up before it copies the message. */
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (msg == NULL)
    return -EFAULT;
  if (msg->msg_iovlen > 1024)
    return -EMSGSIZE;
  size_t total;
  if ((err = iov_check(msg->msg_iov, msg->msg_iovlen, &total)) < 0)
    return err;
  guint8 *buf = g_malloc(MAX(total, 1));
  ssize_t r;
  int mflags = 0;
  if (f->kind == NL_FILE_UDP) {
    r = udp_recv(t, f, buf, total, flags, msg->msg_name, &msg->msg_namelen,
                 &mflags);
  } else {
    r = nl_vsock_recvfrom(t, fd, buf, total, flags, NULL, NULL);
    msg->msg_namelen = 0;
  }
  if (r > 0)
    iov_scatter(msg->msg_iov, msg->msg_iovlen, buf, MIN((size_t)r, total));
  msg->msg_flags = mflags;
  msg->msg_controllen = 0;
  g_free(buf);
  return r;
}

ssize_t nl_vsock_read(NlThread *t, int fd, void *buf, size_t len) {
  int err;
  NlFile *f = get_file(t, fd, &err);
  if (!f)
    return err;
  switch (f->kind) {
    case NL_FILE_UDP:
    case NL_FILE_TCP:
      return nl_vsock_recvfrom(t, fd, buf, len, 0, NULL, NULL);
    case NL_FILE_UNIX:
      return unix_recv(t, f, buf, len, 0);
    case NL_FILE_PIPE_R:
      for (;;) {
        ssize_t n = nl__pipe_read(f, buf, len);
        if (n != -EAGAIN || len == 0)
          return len == 0 ? 0 : n;
        if (f->status_flags & O_NONBLOCK) {
          nl__wasted(t);
          return -EAGAIN;
        }
        wait_ready(t, f, POLLIN, NL_TIME_NEVER);
      }
    case NL_FILE_EPOLL:
    case NL_FILE_URING:
      return -EINVAL; /* no read operation (Linux's FMODE_CAN_READ) */
    default:
      return f->ops->read ? f->ops->read(f, buf, len) : -EBADF;
  }
}

ssize_t nl_vsock_write(NlThread *t, int fd, const void *buf, size_t len) {
  int err;
  NlFile *f = get_file(t, fd, &err);
  if (!f)
    return err;
  switch (f->kind) {
    case NL_FILE_UDP:
    case NL_FILE_TCP:
      return nl_vsock_sendto(t, fd, buf, len, 0, NULL, 0);
    case NL_FILE_OUTPUT:
      nl__proc_output(f->out_proc, f->out_stream, buf, len);
      return (ssize_t)len;
    case NL_FILE_UNIX:
      return unix_send(t, f, buf, len, 0, NULL);
    case NL_FILE_PIPE_W: {
      size_t done = 0;
      while (done < len) {
        ssize_t n = nl__pipe_write(f, (const guint8 *)buf + done, len - done);
        if (n > 0) {
          done += (size_t)n;
          continue;
        }
        if (n == -EPIPE) {
          if (done)
            return (ssize_t)done;
          sigpipe(t, 0);
          return n;
        }
        if (f->status_flags & O_NONBLOCK) {
          if (!done)
            nl__wasted(t);
          return done ? (ssize_t)done : -EAGAIN;
        }
        wait_ready(t, f, POLLOUT, NL_TIME_NEVER);
      }
      return (ssize_t)done;
    }
    case NL_FILE_EPOLL:
    case NL_FILE_URING:
      return -EINVAL; /* no write operation (Linux's FMODE_CAN_WRITE) */
    default:
      return f->ops->write ? f->ops->write(f, buf, len) : -EBADF;
  }
}

/* The mode check read(), write(), readv() and writev() make right after
 * finding the descriptor, before any other argument (Linux's vfs_readv:
 * EBADF when it is not open for that, EINVAL when the file has no such
 * operation).  Files of other modules answer a zero-length call with the
 * error of their mode. */
static int rw_mode(NlFile *f, gboolean write) {
  switch (f->kind) {
    case NL_FILE_UDP:
    case NL_FILE_TCP:
      return 0;
    case NL_FILE_PIPE_R:
      return write ? -EBADF : 0;
    case NL_FILE_PIPE_W:
    case NL_FILE_OUTPUT:
      return write ? 0 : -EBADF;
    case NL_FILE_EPOLL:
    case NL_FILE_URING:
      return -EINVAL; /* anonymous files with no read or write */
    default: {
      char none = 0;
      ssize_t r = write ? (f->ops->write ? f->ops->write(f, &none, 0) : -EBADF)
                        : (f->ops->read ? f->ops->read(f, &none, 0) : -EBADF);
      return r == -EBADF || r == -EINVAL ? (int)r : 0;
    }
  }
}

ssize_t nl_vsock_readv(NlThread *t, int fd, const struct iovec *iov, int n) {
  int err;
  NlFile *f = get_file(t, fd, &err);
  if (!f)
    return err;
  if ((err = rw_mode(f, FALSE)) < 0)
    return err;
  if (n < 0 || n > 1024) /* UIO_MAXIOV */
    return -EINVAL;
  size_t total;
  if ((err = iov_check(iov, (size_t)n, &total)) < 0)
    return err;
  if (f->kind == NL_FILE_UDP || f->kind == NL_FILE_TCP) {
    struct msghdr m = {.msg_iov = (struct iovec *)iov,
                       .msg_iovlen = (size_t)n};
    return nl_vsock_recvmsg(t, fd, &m, 0);
  }
  guint8 *buf = g_malloc(MAX(total, 1));
  ssize_t r = nl_vsock_read(t, fd, buf, total);
  if (r > 0)
    iov_scatter(iov, (size_t)n, buf, (size_t)r);
  g_free(buf);
  return r;
}

ssize_t nl_vsock_writev(NlThread *t, int fd, const struct iovec *iov, int n) {
  int err;
  NlFile *f = get_file(t, fd, &err);
  if (!f)
    return err;
  if ((err = rw_mode(f, TRUE)) < 0)
    return err;
  if (n < 0 || n > 1024) /* UIO_MAXIOV */
    return -EINVAL;
  size_t total;
  if ((err = iov_check(iov, (size_t)n, &total)) < 0)
    return err;
  guint8 *buf = iov_gather(iov, (size_t)n, total);
  ssize_t r = nl_vsock_write(t, fd, buf, total);
  g_free(buf);
  return r;
}

int nl_vsock_close(NlThread *t, int fd) {
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return -EBADF;
  t->proc->fds[fd] = NULL;
  if (f->kind == NL_FILE_UDP || f->kind == NL_FILE_TCP)
    nl__trace_call(t, "close(%d) = 0", fd);
  nl__file_unref(f);
  return 0;
}

static int put_int(void *val, socklen_t *len, int v);

/* getsockname, getpeername, getsockopt and shutdown on a socketpair end:
 * -ENOTSOCK when @f is not one, so the caller goes on. */
static int unix_sockcall(NlFile *f, int op, int how, struct sockaddr *sa,
                         socklen_t *len, int name, void *val) {
  if (f == NULL || f->kind != NL_FILE_UNIX)
    return -ENOTSOCK;
  switch (op) {
    case 's': /* shutdown: no more writing (SHUT_WR) or reading (SHUT_RD) */
      if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
      if ((how == SHUT_WR || how == SHUT_RDWR) && f->pipe_tx->w == f) {
        f->pipe_tx->writers--;
        f->pipe_tx->w = NULL;
        if (f->pipe_tx->r)
          nl__file_notify(f->pipe_tx->r);
      }
      return 0;
    case 'n':   /* getsockname */
    case 'p': { /* getpeername: both unnamed */
      if (sa == NULL || len == NULL)
        return -EFAULT;
      sa_family_t fam = AF_UNIX;
      memcpy(sa, &fam, MIN((size_t)*len, sizeof fam));
      *len = sizeof fam;
      return 0;
    }
    default: /* getsockopt at SOL_SOCKET */
      switch (name) {
        case SO_TYPE: return put_int(val, len, SOCK_STREAM);
        case SO_DOMAIN: return put_int(val, len, AF_UNIX);
        case SO_PROTOCOL: return put_int(val, len, 0);
        case SO_ERROR: return put_int(val, len, 0);
        case SO_ACCEPTCONN: return put_int(val, len, 0);
        default: return -ENOPROTOOPT;
      }
  }
}

int nl_vsock_shutdown(NlThread *t, int fd, int how) {
  int err;
  NlFile *u = nl__fd_get(t->proc, fd);
  if (u != NULL && u->kind == NL_FILE_UNIX)
    return unix_sockcall(u, 's', how, NULL, NULL, 0, NULL);
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (how < SHUT_RD || how > SHUT_RDWR)
    return -EINVAL;
  if (f->kind == NL_FILE_UDP)
    return f->udp->connected ? 0 : -ENOTCONN;
  err = nl_tcp_shutdown(f->tcp, how);
  nl__trace_call(t, "shutdown(%d, %s) = %d", fd,
                 how == SHUT_RD ? "SHUT_RD"
                                : how == SHUT_WR ? "SHUT_WR" : "SHUT_RDWR",
                 err);
  return err;
}

int nl_vsock_getsockname(NlThread *t, int fd, struct sockaddr *sa,
                         socklen_t *len) {
  int err;
  NlFile *u = nl__fd_get(t->proc, fd);
  if (u != NULL && u->kind == NL_FILE_UNIX)
    return unix_sockcall(u, 'n', 0, sa, len, 0, NULL);
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (sa == NULL || len == NULL)
    return -EFAULT;
  if ((int)*len < 0)
    return -EINVAL; /* move_addr_to_user */
  NlIp6 a = ip6_any;
  uint16_t p = 0;
  if (f->kind == NL_FILE_UDP) {
    a = f->udp->laddr;
    p = f->udp->lport;
    if (f->udp->connected && (nl_ip6_is_any(&a) || (nl_ip6_is_v4mapped(&a) &&
                                                     nl_ip6_to4(&a) == 0)) &&
        !source_for(f->host, &f->udp->raddr, &a))
      a = ip6_any;
  } else {
    uint32_t a4 = 0;
    nl_tcp_getsockname(f->tcp, &a4, &p);
    /* A dual-stack socket that is not bound reads as :: until it talks
     * IPv4, as on Linux. */
    a = a4 ? nl_ip6_from4(a4) : ip6_any;
  }
  sa_put(f, &a, p, sa, len);
  return 0;
}

int nl_vsock_getpeername(NlThread *t, int fd, struct sockaddr *sa,
                         socklen_t *len) {
  int err;
  NlFile *u = nl__fd_get(t->proc, fd);
  if (u != NULL && u->kind == NL_FILE_UNIX)
    return unix_sockcall(u, 'p', 0, sa, len, 0, NULL);
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (sa == NULL || len == NULL)
    return -EFAULT;
  NlIp6 a;
  uint16_t p;
  if (f->kind == NL_FILE_UDP) {
    if (!f->udp->connected)
      return -ENOTCONN;
    a = f->udp->raddr;
    p = f->udp->rport;
  } else {
    uint32_t a4;
    if ((err = nl_tcp_getpeername(f->tcp, &a4, &p)) < 0)
      return err;
    a = nl_ip6_from4(a4);
  }
  if ((int)*len < 0)
    return -EINVAL; /* checked when the address is copied, after the state */
  sa_put(f, &a, p, sa, len);
  return 0;
}

static int get_int(const void *val, socklen_t len, int *out) {
  if (val == NULL)
    return -EFAULT;
  if (len < (socklen_t)sizeof(int))
    return -EINVAL;
  memcpy(out, val, sizeof(int));
  return 0;
}

static int put_int(void *val, socklen_t *len, int v) {
  if (val == NULL || len == NULL)
    return -EFAULT;
  socklen_t n = MIN(*len, (socklen_t)sizeof(int));
  memcpy(val, &v, (size_t)n);
  *len = n;
  return 0;
}

/* Whether @f has a local port (inet_num): IPV6_V6ONLY is fixed then. */
static gboolean has_port(NlFile *f) {
  if (f->kind == NL_FILE_UDP)
    return f->udp->bound;
  uint32_t a = 0;
  uint16_t p = 0;
  nl_tcp_getsockname(f->tcp, &a, &p);
  return p != 0;
}

/* do_ipv6_setsockopt's options, for sockets of either protocol. */
static int v6_setsockopt(NlFile *f, int name, const void *val,
                         socklen_t len) {
  int err, v;
  if (f->domain != AF_INET6)
    return -ENOPROTOOPT;
  if ((err = get_int(val, len, &v)) < 0)
    return err;
  NlSockV6 *o = &f->v6;
  switch (name) {
    case IPV6_V6ONLY:
      if (has_port(f))
        return -EINVAL;
      f->v6only = v != 0;
      return 0;
    case IPV6_UNICAST_HOPS:
    case IPV6_MULTICAST_HOPS:
      if (v < -1 || v > 255)
        return -EINVAL;
      *(name == IPV6_UNICAST_HOPS ? &o->hops : &o->mhops) = v;
      return 0;
    case IPV6_TCLASS:
      if (v < -1 || v > 0xff)
        return -EINVAL;
      o->tclass = v == -1 ? 0 : v;
      return 0;
    case IPV6_MTU_DISCOVER:
      if (v < IPV6_PMTUDISC_DONT || v > IPV6_PMTUDISC_OMIT)
        return -EINVAL;
      o->pmtudisc = v;
      return 0;
    case IPV6_MTU:
      if (v != 0 && v < NL_IP6_MIN_MTU)
        return -EINVAL;
      o->mtu = v;
      return 0;
    case IPV6_DONTFRAG: o->dontfrag = v != 0; return 0;
    case IPV6_MULTICAST_LOOP:
      if (v != 0 && v != 1)
        return -EINVAL;
      o->mloop = v;
      return 0;
    /* Ancillary data and extended errors natlab does not deliver: taken
     * and remembered, as Linux takes them. */
    case IPV6_RECVPKTINFO:
    case IPV6_RECVHOPLIMIT:
    case IPV6_RECVTCLASS:
    case IPV6_RECVERR:
    case IPV6_RECVPATHMTU:
      if (v)
        o->flags |= 1u << (name & 31);
      else
        o->flags &= ~(1u << (name & 31));
      return 0;
    default: return -ENOPROTOOPT;
  }
}

static int put_int(void *val, socklen_t *len, int v);
static gboolean route_to(NlHostStack *h, uint32_t dst, uint32_t *src,
                         guint *mtu);

static int v6_getsockopt(NlFile *f, int name, void *val, socklen_t *len) {
  const NlSockV6 *o = &f->v6;
  switch (name) {
    case IPV6_V6ONLY: return put_int(val, len, f->v6only);
    case IPV6_UNICAST_HOPS:
      return put_int(val, len, o->hops < 0 ? NL_IP6_DEFAULT_HOPS : o->hops);
    case IPV6_MULTICAST_HOPS:
      return put_int(val, len, o->mhops < 0 ? 1 : o->mhops);
    case IPV6_TCLASS: return put_int(val, len, o->tclass);
    case IPV6_MTU_DISCOVER: return put_int(val, len, o->pmtudisc);
    case IPV6_DONTFRAG: return put_int(val, len, o->dontfrag);
    case IPV6_MULTICAST_LOOP: return put_int(val, len, o->mloop);
    case IPV6_RECVPKTINFO:
    case IPV6_RECVHOPLIMIT:
    case IPV6_RECVTCLASS:
    case IPV6_RECVERR:
    case IPV6_RECVPATHMTU:
      return put_int(val, len, (o->flags >> (name & 31)) & 1);
    case IPV6_MTU: {
      /* The path MTU of a connected socket (loopback: 65536). */
      NlIp6 peer;
      guint mtu = 0;
      if (f->kind == NL_FILE_UDP) {
        if (!f->udp->connected)
          return -ENOTCONN;
        peer = f->udp->raddr;
      } else {
        uint32_t a4;
        uint16_t p;
        if (nl_tcp_getpeername(f->tcp, &a4, &p) < 0)
          return -ENOTCONN;
        peer = nl_ip6_from4(a4);
      }
      if (nl_ip6_is_v4mapped(&peer)) {
        uint32_t src;
        if (!route_to(f->host, nl_ip6_to4(&peer), &src, &mtu))
          return -ENOTCONN;
        if (mtu == 65535)
          mtu = 65536;
      } else if (!nl_node_source6(f->host->node, &peer, NULL, &mtu)) {
        return -ENOTCONN;
      }
      return put_int(val, len, (int)mtu);
    }
    default: return -ENOPROTOOPT;
  }
}

int nl_vsock_setsockopt(NlThread *t, int fd, int level, int name,
                        const void *val, socklen_t len) {
  int err, v = 0;
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    struct timeval tv;
    if (val == NULL)
      return -EFAULT;
    if (len < (socklen_t)sizeof tv)
      return -EINVAL;
    memcpy(&tv, val, sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
      return -EDOM;
    NlTime d = tv.tv_sec < 0 ? 0 : tv.tv_sec * NL_S + tv.tv_usec * NL_US;
    if (name == SO_RCVTIMEO)
      f->rcvtimeo = d;
    else
      f->sndtimeo = d;
    return 0;
  }
  if (level == IPPROTO_IPV6)
    return v6_setsockopt(f, name, val, len);
  if (f->kind == NL_FILE_TCP)
    return nl_tcp_setsockopt(f->tcp, level, name, val, len);
  NlUdpSock *u = f->udp;
  if ((err = get_int(val, len, &v)) < 0)
    return err;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR: u->reuseaddr = v != 0; return 0;
      case SO_REUSEPORT: u->reuseport = v != 0; return 0;
      case SO_BROADCAST: u->broadcast = (guint8)(v != 0); return 0;
      /* Linux doubles the value to leave room for bookkeeping. */
      case SO_RCVBUF: u->rcvbuf = MAX(MIN(v, 212992) * 2, 2304); return 0;
      case SO_SNDBUF: u->sndbuf = MAX(MIN(v, 212992) * 2, 4608); return 0;
      case SO_KEEPALIVE:
      case SO_LINGER:
      case SO_PRIORITY:
        return 0; /* accepted and meaningless for UDP, as on Linux */
      default: return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_IP) {
    switch (name) {
      case IP_TTL:
        if (v < -1 || v == 0 || v > 255)
          return -EINVAL;
        u->ttl = (guint8)(v == -1 ? 64 : v);
        return 0;
      case IP_MTU_DISCOVER:
        u->df = (guint8)(v == IP_PMTUDISC_DO || v == IP_PMTUDISC_PROBE);
        return 0;
      case IP_TOS:
        return 0;
      default: return -ENOPROTOOPT;
    }
  }
  return -ENOPROTOOPT;
}

int nl_vsock_getsockopt(NlThread *t, int fd, int level, int name, void *val,
                        socklen_t *len) {
  int err;
  NlFile *uf = nl__fd_get(t->proc, fd);
  if (uf != NULL && uf->kind == NL_FILE_UNIX)
    return level == SOL_SOCKET
               ? unix_sockcall(uf, 'o', 0, NULL, len, name, val)
               : -EOPNOTSUPP;
  NlFile *f = get_sock(t, fd, &err);
  if (!f)
    return err;
  /* Linux hands a level that is not the socket's, IP's or its protocol's
   * to ip_getsockopt, which refuses it before it reads the length
   * (EOPNOTSUPP; ipv6_getsockopt says ENOPROTOOPT); every level then reads
   * the length (EFAULT, EINVAL when negative) before the option's name. */
  gboolean own = level == SOL_SOCKET || level == IPPROTO_IP ||
                 level == (f->kind == NL_FILE_TCP ? IPPROTO_TCP
                                                  : IPPROTO_UDP) ||
                 (f->domain == AF_INET6 && level == IPPROTO_IPV6);
  if (!own)
    return f->domain == AF_INET6 ? -ENOPROTOOPT : -EOPNOTSUPP;
  if (len == NULL)
    return -EFAULT;
  if ((int)*len < 0)
    return -EINVAL;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE: return put_int(val, len, f->type);
      case SO_DOMAIN: return put_int(val, len, f->domain);
      case SO_PROTOCOL:
        return put_int(val, len,
                       f->kind == NL_FILE_UDP ? IPPROTO_UDP : IPPROTO_TCP);
      case SO_ACCEPTCONN: return put_int(val, len, f->tcp_listening);
      case SO_RCVTIMEO:
      case SO_SNDTIMEO: {
        if (val == NULL || len == NULL)
          return -EFAULT;
        NlTime d = name == SO_RCVTIMEO ? f->rcvtimeo : f->sndtimeo;
        struct timeval tv = {.tv_sec = d / NL_S,
                             .tv_usec = (d % NL_S) / NL_US};
        socklen_t n = MIN(*len, (socklen_t)sizeof tv);
        memcpy(val, &tv, (size_t)n);
        *len = n;
        return 0;
      }
      default: break;
    }
  }
  if (level == IPPROTO_IPV6)
    return v6_getsockopt(f, name, val, len);
  if (f->kind == NL_FILE_TCP) {
    if (level == SOL_SOCKET && name == SO_ERROR)
      return put_int(val, len, nl_tcp_take_error(f->tcp));
    return nl_tcp_getsockopt(f->tcp, level, name, val, len);
  }
  NlUdpSock *u = f->udp;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        int e = u->pending_error;
        u->pending_error = 0;
        return put_int(val, len, e);
      }
      case SO_REUSEADDR: return put_int(val, len, u->reuseaddr);
      case SO_REUSEPORT: return put_int(val, len, u->reuseport);
      case SO_BROADCAST: return put_int(val, len, u->broadcast);
      case SO_RCVBUF: return put_int(val, len, u->rcvbuf);
      case SO_SNDBUF: return put_int(val, len, u->sndbuf);
      case SO_KEEPALIVE: return put_int(val, len, 0);
      default: return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_IP && name == IP_TTL)
    return put_int(val, len, u->ttl);
  if (level == IPPROTO_IP && name == IP_MTU_DISCOVER)
    return put_int(val, len, u->df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT);
  return -ENOPROTOOPT;
}

int nl_vsock_dup3(NlThread *t, int oldfd, int newfd, int flags) {
  NlFile *f = nl__fd_get(t->proc, oldfd);
  if (f == NULL)
    return -EBADF;
  if (newfd < 0) {
    int fd = nl__fd_install(t->proc, f, -newfd - 1, (flags & O_CLOEXEC) != 0);
    if (fd >= 0)
      nl__file_ref(f);
    return fd;
  }
  if (newfd >= nl__facts_fd_limit(t->proc))
    return -EBADF;
  if (newfd == oldfd)
    return -EINVAL;
  nl__fd_reserve(t->proc, newfd);
  NlFile *old = t->proc->fds[newfd];
  t->proc->fds[newfd] = nl__file_ref(f);
  t->proc->cloexec[newfd] = (flags & O_CLOEXEC) != 0;
  nl__file_unref(old);
  nl__fd_count(t->proc);
  return newfd;
}

int nl_vsock_fcntl(NlThread *t, int fd, int cmd, long arg) {
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return -EBADF;
  switch (cmd) {
    case F_GETFL:
      return O_RDWR | f->status_flags;
    case F_SETFL:
      f->status_flags = (int)(arg & O_NONBLOCK);
      nl__trace_call(t, "fcntl(%d, F_SETFL, %s) = 0", fd,
                     (arg & O_NONBLOCK) ? "O_NONBLOCK" : "0");
      return 0;
    case F_GETFD:
      return t->proc->cloexec[fd] ? FD_CLOEXEC : 0;
    case F_SETFD:
      t->proc->cloexec[fd] = (arg & FD_CLOEXEC) != 0;
      return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (arg < 0 || arg >= nl__facts_fd_limit(t->proc))
        return -EINVAL;
      return nl_vsock_dup3(t, fd, (int)(-arg - 1),
                           cmd == F_DUPFD_CLOEXEC ? O_CLOEXEC : 0);
    default:
      return -EINVAL;
  }
}

int nl_vsock_ioctl(NlThread *t, int fd, unsigned long req, void *arg) {
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return -EBADF;
  /* FIOCLEX and FIONCLEX ignore their argument, as on Linux (CPython
   * marks every file it opens so). */
  if (req == FIOCLEX || req == FIONCLEX) {
    t->proc->cloexec[fd] = req == FIOCLEX;
    return 0;
  }
  if (arg == NULL)
    return -EFAULT;
  switch (req) {
    case FIONBIO: {
      int on;
      memcpy(&on, arg, sizeof on);
      if (on)
        f->status_flags |= O_NONBLOCK;
      else
        f->status_flags &= ~O_NONBLOCK;
      return 0;
    }
    case FIONREAD: {
      int n = 0;
      if (f->kind == NL_FILE_UDP) {
        const NlPacket *d = f->udp->head;
        n = d ? (int)d->owner_len : 0; /* Linux: the next datagram's size */
      } else if (f->kind == NL_FILE_TCP) {
        if (f->tcp_listening)
          return -EINVAL;
        n = (int)nl_tcp_readable(f->tcp);
      } else if (f->kind == NL_FILE_PIPE_R || f->kind == NL_FILE_UNIX) {
        n = (int)f->pipe->len;
      } else {
        return -ENOTTY;
      }
      memcpy(arg, &n, sizeof n);
      return 0;
    }
    default:
      return -ENOTTY;
  }
}

/* ---- poll, select, epoll ---- */

static NlTime timeout_deadline(NlThread *t, int timeout_ms) {
  if (timeout_ms < 0)
    return NL_TIME_NEVER;
  return nl_world_now(t->proc->host->world) + (NlTime)timeout_ms * NL_MS;
}

int nl_vsock_poll(NlThread *t, struct pollfd *fds, nfds_t n, int timeout_ms) {
  if (n > (nfds_t)nl__facts_fd_limit(t->proc))
    return -EINVAL;
  if (n > 0 && fds == NULL)
    return -EFAULT;
  NlTime deadline = timeout_deadline(t, timeout_ms);
  for (;;) {
    int ready = 0;
    for (nfds_t i = 0; i < n; i++) {
      fds[i].revents = 0;
      if (fds[i].fd < 0)
        continue;
      NlFile *f = nl__fd_get(t->proc, fds[i].fd);
      if (f == NULL) {
        fds[i].revents = POLLNVAL;
      } else {
        fds[i].revents = (short)(nl__file_poll(f) &
                                 ((unsigned)fds[i].events | POLLERR | POLLHUP));
      }
      ready += fds[i].revents != 0;
    }
    NlTime now = nl_world_now(t->proc->host->world);
    if (ready > 0 ||
        timeout_ms == 0 || (deadline != NL_TIME_NEVER && now >= deadline)) {
      if (ready == 0 && timeout_ms == 0)
        nl__wasted(t);
      else if (ready > 0 && timeout_ms != 0)
        nl__ready(t);
      nl__trace_call(t, "poll(%lu fds, %d) = %d", (unsigned long)n,
                     timeout_ms, ready);
      return ready;
    }
    for (nfds_t i = 0; i < n; i++) {
      NlFile *f = fds[i].fd >= 0 ? nl__fd_get(t->proc, fds[i].fd) : NULL;
      if (f)
        nl__wait_file(t, f);
    }
    nl__block(t, deadline);
  }
}

int nl_vsock_select(NlThread *t, int nfds, fd_set *r, fd_set *w, fd_set *e,
                    struct timeval *timeout) {
  if (nfds < 0)
    return -EINVAL;
  /* Linux clamps nfds to the size of the descriptor table. */
  nfds = MIN(nfds, MIN(nl__facts_fd_limit(t->proc), FD_SETSIZE));
  if (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0))
    return -EINVAL;
  NlWorld *world = t->proc->host->world;
  NlTime start = nl_world_now(world);
  NlTime span = timeout ? timeout->tv_sec * NL_S + timeout->tv_usec * NL_US
                        : -1;
  NlTime deadline = timeout ? start + span : NL_TIME_NEVER;
  fd_set in_r, in_w, in_e;
  FD_ZERO(&in_r);
  FD_ZERO(&in_w);
  FD_ZERO(&in_e);
  if (r)
    in_r = *r;
  if (w)
    in_w = *w;
  if (e)
    in_e = *e;
  for (int fd = 0; fd < nfds; fd++)
    if ((r && FD_ISSET(fd, &in_r)) || (w && FD_ISSET(fd, &in_w)) ||
        (e && FD_ISSET(fd, &in_e)))
      if (nl__fd_get(t->proc, fd) == NULL)
        return -EBADF;
  for (;;) {
    int ready = 0;
    if (r)
      FD_ZERO(r);
    if (w)
      FD_ZERO(w);
    if (e)
      FD_ZERO(e);
    for (int fd = 0; fd < nfds; fd++) {
      gboolean wr = r && FD_ISSET(fd, &in_r), ww = w && FD_ISSET(fd, &in_w),
               we = e && FD_ISSET(fd, &in_e);
      if (!wr && !ww && !we)
        continue;
      unsigned m = nl__file_poll(nl__fd_get(t->proc, fd));
      /* Linux's select maps poll bits as POLLIN_SET / POLLOUT_SET /
       * POLLEX_SET do in fs/select.c. */
      if (wr && (m & (POLLIN | POLLRDNORM | POLLHUP | POLLERR))) {
        FD_SET(fd, r);
        ready++;
      }
      if (ww && (m & (POLLOUT | POLLWRNORM | POLLERR))) {
        FD_SET(fd, w);
        ready++;
      }
      if (we && (m & POLLPRI)) {
        FD_SET(fd, e);
        ready++;
      }
    }
    NlTime now = nl_world_now(world);
    if (ready > 0 || span == 0 || (deadline != NL_TIME_NEVER && now >= deadline)) {
      if (timeout) {
        /* Linux writes back the time not slept. */
        NlTime left = deadline == NL_TIME_NEVER ? 0 : MAX(deadline - now, 0);
        timeout->tv_sec = left / NL_S;
        timeout->tv_usec = (left % NL_S) / NL_US;
      }
      if (ready == 0 && span == 0)
        nl__wasted(t);
      else if (ready > 0 && span != 0)
        nl__ready(t);
      nl__trace_call(t, "select(%d) = %d", nfds, ready);
      return ready;
    }
    for (int fd = 0; fd < nfds; fd++)
      if ((r && FD_ISSET(fd, &in_r)) || (w && FD_ISSET(fd, &in_w)) ||
          (e && FD_ISSET(fd, &in_e)))
        nl__wait_file(t, nl__fd_get(t->proc, fd));
    nl__block(t, deadline);
  }
}

int nl_vsock_epoll_create1(NlThread *t, int flags) {
  if (flags & ~EPOLL_CLOEXEC)
    return -EINVAL;
  NlFile *f = nl__epoll_file_new(t->proc->host);
  int fd = nl__fd_install(t->proc, f, 0, (flags & EPOLL_CLOEXEC) != 0);
  if (fd < 0)
    nl__file_unref(f);
  return fd;
}

static NlEpItem *ep_find(NlEpoll *ep, int fd, NlFile *f) {
  for (guint i = 0; i < ep->items->len; i++) {
    NlEpItem *it = g_ptr_array_index(ep->items, i);
    if (it->fd == fd && it->watch.file == f)
      return it;
  }
  return NULL;
}

int nl_vsock_epoll_ctl(NlThread *t, int epfd, int op, int fd,
                       struct epoll_event *ev) {
  NlFile *ef = nl__fd_get(t->proc, epfd);
  NlFile *f = nl__fd_get(t->proc, fd);
  if (ef == NULL || f == NULL)
    return -EBADF;
  if (ef->kind != NL_FILE_EPOLL || ef == f)
    return -EINVAL;
  if (f->kind == NL_FILE_OUTPUT)
    return -EPERM;
  NlEpItem *it = ep_find(ef->ep, fd, f);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (ev == NULL)
        return -EFAULT;
      if (it != NULL)
        return -EEXIST;
      it = nl__epoll_item_new(ef->ep, fd, f);
      it->events = ev->events;
      it->data = ev->data;
      it->triggered = TRUE;
      nl__file_notify(ef);
      return 0;
    case EPOLL_CTL_MOD:
      if (ev == NULL)
        return -EFAULT;
      if (it == NULL)
        return -ENOENT;
      it->events = ev->events;
      it->data = ev->data;
      it->disabled = FALSE;
      it->triggered = TRUE;
      nl__file_notify(ef);
      return 0;
    case EPOLL_CTL_DEL:
      if (it == NULL)
        return -ENOENT;
      nl__epoll_item_free(it);
      return 0;
    default:
      return -EINVAL;
  }
}

int nl_vsock_epoll_wait(NlThread *t, int epfd, struct epoll_event *evs,
                        int max, int timeout_ms) {
  NlFile *ef = nl__fd_get(t->proc, epfd);
  if (ef == NULL)
    return -EBADF;
  if (ef->kind != NL_FILE_EPOLL || max <= 0)
    return -EINVAL;
  if (evs == NULL)
    return -EFAULT;
  NlTime deadline = timeout_deadline(t, timeout_ms);
  NlEpoll *ep = ef->ep;
  for (;;) {
    int n = 0;
    guint count = ep->items->len;
    GPtrArray *reported = g_ptr_array_new();
    for (guint k = 0; k < count && n < max; k++) {
      NlEpItem *it = g_ptr_array_index(ep->items, k);
      if (it->disabled)
        continue;
      unsigned m = nl__file_poll(it->watch.file) &
                   (it->events | EPOLLERR | EPOLLHUP);
      if (m == 0)
        continue;
      if ((it->events & EPOLLET) && !it->triggered)
        continue;
      evs[n].events = m;
      evs[n].data = it->data;
      n++;
      it->triggered = FALSE;
      if (it->events & EPOLLONESHOT)
        it->disabled = TRUE;
      if (!(it->events & (EPOLLET | EPOLLONESHOT)))
        g_ptr_array_add(reported, it);
    }
    /* Level-triggered items that fired go to the back of the list, so a
     * small maxevents cannot starve the others (as Linux rotates its
     * ready list). */
    for (guint k = 0; k < reported->len; k++) {
      NlEpItem *it = g_ptr_array_index(reported, k);
      g_ptr_array_remove(ep->items, it);
      g_ptr_array_add(ep->items, it);
    }
    g_ptr_array_free(reported, TRUE);
    NlTime now = nl_world_now(t->proc->host->world);
    if (n > 0 ||
        timeout_ms == 0 || (deadline != NL_TIME_NEVER && now >= deadline)) {
      if (n == 0 && timeout_ms == 0)
        nl__wasted(t);
      else if (n > 0 && timeout_ms != 0)
        nl__ready(t);
      nl__trace_call(t, "epoll_wait(%d, %d) = %d", epfd, timeout_ms, n);
      return n;
    }
    nl__wait_file(t, ef);
    nl__block(t, deadline);
  }
}

int nl_vsock_pipe2(NlThread *t, int fds[2], int flags) {
  if (flags & ~(O_NONBLOCK | O_CLOEXEC))
    return -EINVAL;
  if (fds == NULL)
    return -EFAULT;
  NlFile *r, *w;
  nl__pipe_new(t->proc->host, &r, &w);
  r->status_flags = w->status_flags = flags & O_NONBLOCK;
  int a = nl__fd_install(t->proc, r, 0, (flags & O_CLOEXEC) != 0);
  if (a < 0) {
    nl__file_unref(r);
    nl__file_unref(w);
    return a;
  }
  int b = nl__fd_install(t->proc, w, 0, (flags & O_CLOEXEC) != 0);
  if (b < 0) {
    t->proc->fds[a] = NULL;
    nl__file_unref(r);
    nl__file_unref(w);
    return b;
  }
  fds[0] = a;
  fds[1] = b;
  return 0;
}
