/* The natlab-cc face: exact POSIX signatures over the virtual sockets
 * layer.  -errno results become -1 and errno here, once (ret()).  Every
 * call first charges its modelled cost in virtual time (nl__enter()). */
#include "sim/host/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/trace.h"
#include "sim/host/guard.h"
#include "sim/host/kqueue.h"
#include "sim/host/seal.h"
#include "sim/host/uring.h"
#include "sim/host/vsock.h"
#include "sim/net/wire.h"
#include "sim/net/wire6.h"

/* The wall clock of every run starts at NL_REALTIME_EPOCH (2025). */
#define NL_EPOCH_BASE ((time_t)NL_REALTIME_EPOCH)

static long ret(long r) {
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

int nl_posix_unsupported(const char *name) {
  NlThread *t = nl__current;
  if (t != NULL) {
    nl__trace_call(t, "%s() is not supported by natlab (ENOSYS)", name);
    char *msg = g_strdup_printf("natlab: %s() is not supported\n", name);
    nl__proc_output(t->proc, 2, msg, strlen(msg));
    g_free(msg);
  }
  errno = ENOSYS;
  return -1;
}

static ssize_t closed_read(void *c, char *buf, size_t len) {
  (void)c, (void)buf, (void)len;
  return 0;
}
static ssize_t closed_write(void *c, const char *buf, size_t len) {
  (void)c, (void)buf, (void)len;
  errno = EBADF;
  return -1;
}

FILE *nl_posix_closed_stream(int fd) {
  static FILE *streams[3];
  if (fd < 0 || fd > 2)
    return NULL;
  if (streams[fd] == NULL) {
    cookie_io_functions_t io = {.read = closed_read, .write = closed_write};
    streams[fd] = fopencookie(NULL, fd == 0 ? "r" : "w", io);
    if (streams[fd] != NULL)
      setvbuf(streams[fd], NULL, _IONBF, 0);
  }
  return streams[fd];
}

/* Every call goes through here: NULL outside a program. */
#define ENTER(name)                                                            \
  NlThread *t = nl__enter();                                                   \
  if (t == NULL)                                                               \
    return nl_posix_unsupported(name);                                         \
  t->call = name; /* (nl__enter() reset t->block_since) */

/* ENTER for a call that may wait on descriptor @fd (-1: none): names the
 * call for its BLOCK record. */
#define ENTER_WAIT(name, fd)                                                   \
  ENTER(name)                                                                  \
  nl__call_begin(t, name, fd);

int nl_posix_socket(int domain, int type, int protocol) {
  ENTER("socket");
  return (int)ret(nl_vsock_socket(t, domain, type, protocol));
}
int nl_posix_bind(int fd, const struct sockaddr *addr, socklen_t len) {
  ENTER("bind");
  return (int)ret(nl_vsock_bind(t, fd, addr, len));
}
int nl_posix_listen(int fd, int backlog) {
  ENTER("listen");
  return (int)ret(nl_vsock_listen(t, fd, backlog));
}
int nl_posix_accept(int fd, struct sockaddr *addr, socklen_t *len) {
  ENTER_WAIT("accept", fd);
  return (int)ret(nl_vsock_accept4(t, fd, addr, len, 0));
}
int nl_posix_accept4(int fd, struct sockaddr *addr, socklen_t *len,
                     int flags) {
  ENTER_WAIT("accept4", fd);
  return (int)ret(nl_vsock_accept4(t, fd, addr, len, flags));
}
int nl_posix_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  ENTER_WAIT("connect", fd);
  return (int)ret(nl_vsock_connect(t, fd, addr, len));
}
ssize_t nl_posix_send(int fd, const void *buf, size_t len, int flags) {
  ENTER_WAIT("send", fd);
  return ret(nl_vsock_sendto(t, fd, buf, len, flags, NULL, 0));
}
ssize_t nl_posix_recv(int fd, void *buf, size_t len, int flags) {
  ENTER_WAIT("recv", fd);
  return ret(nl_vsock_recvfrom(t, fd, buf, len, flags, NULL, NULL));
}
ssize_t nl_posix_sendto(int fd, const void *buf, size_t len, int flags,
                        const struct sockaddr *addr, socklen_t alen) {
  ENTER_WAIT("sendto", fd);
  return ret(nl_vsock_sendto(t, fd, buf, len, flags, addr, alen));
}
ssize_t nl_posix_recvfrom(int fd, void *buf, size_t len, int flags,
                          struct sockaddr *addr, socklen_t *alen) {
  ENTER_WAIT("recvfrom", fd);
  return ret(nl_vsock_recvfrom(t, fd, buf, len, flags, addr, alen));
}
ssize_t nl_posix_sendmsg(int fd, const struct msghdr *msg, int flags) {
  ENTER_WAIT("sendmsg", fd);
  return ret(nl_vsock_sendmsg(t, fd, msg, flags));
}
ssize_t nl_posix_recvmsg(int fd, struct msghdr *msg, int flags) {
  ENTER_WAIT("recvmsg", fd);
  return ret(nl_vsock_recvmsg(t, fd, msg, flags));
}
ssize_t nl_posix_read(int fd, void *buf, size_t len) {
  ENTER_WAIT("read", fd);
  return ret(nl_vsock_read(t, fd, buf, len));
}
ssize_t nl_posix_write(int fd, const void *buf, size_t len) {
  ENTER_WAIT("write", fd);
  return ret(nl_vsock_write(t, fd, buf, len));
}
ssize_t nl_posix_readv(int fd, const struct iovec *iov, int n) {
  ENTER("readv");
  return ret(nl_vsock_readv(t, fd, iov, n));
}
ssize_t nl_posix_writev(int fd, const struct iovec *iov, int n) {
  ENTER("writev");
  return ret(nl_vsock_writev(t, fd, iov, n));
}
int nl_posix_close(int fd) {
  ENTER("close");
  return (int)ret(nl_vsock_close(t, fd));
}
int nl_posix_shutdown(int fd, int how) {
  ENTER("shutdown");
  return (int)ret(nl_vsock_shutdown(t, fd, how));
}
int nl_posix_getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  ENTER("getsockname");
  return (int)ret(nl_vsock_getsockname(t, fd, addr, len));
}
int nl_posix_getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  ENTER("getpeername");
  return (int)ret(nl_vsock_getpeername(t, fd, addr, len));
}
int nl_posix_setsockopt(int fd, int level, int name, const void *val,
                        socklen_t len) {
  ENTER("setsockopt");
  return (int)ret(nl_vsock_setsockopt(t, fd, level, name, val, len));
}
int nl_posix_getsockopt(int fd, int level, int name, void *val,
                        socklen_t *len) {
  ENTER("getsockopt");
  return (int)ret(nl_vsock_getsockopt(t, fd, level, name, val, len));
}
int nl_posix_poll(struct pollfd *fds, nfds_t n, int timeout) {
  ENTER_WAIT("poll", -1);
  return (int)ret(nl_vsock_poll(t, fds, n, timeout));
}
int nl_posix_select(int nfds, fd_set *r, fd_set *w, fd_set *e,
                    struct timeval *timeout) {
  ENTER_WAIT("select", -1);
  return (int)ret(nl_vsock_select(t, nfds, r, w, e, timeout));
}
int nl_posix_epoll_create(int size) {
  ENTER("epoll_create");
  if (size <= 0)
    return (int)ret(-EINVAL);
  return (int)ret(nl_vsock_epoll_create1(t, 0));
}
int nl_posix_epoll_create1(int flags) {
  ENTER("epoll_create1");
  return (int)ret(nl_vsock_epoll_create1(t, flags));
}
int nl_posix_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  ENTER("epoll_ctl");
  return (int)ret(nl_vsock_epoll_ctl(t, epfd, op, fd, ev));
}
int nl_posix_epoll_wait(int epfd, struct epoll_event *evs, int max,
                        int timeout) {
  ENTER_WAIT("epoll_wait", epfd);
  return (int)ret(nl_vsock_epoll_wait(t, epfd, evs, max, timeout));
}
int nl_posix_kqueue(void) {
  ENTER("kqueue");
  return (int)ret(nl_kq_kqueue(t));
}
int nl_posix_kevent(int kq, const struct kevent *changes, int nchanges,
                    struct kevent *events, int nevents,
                    const struct timespec *timeout) {
  ENTER_WAIT("kevent", kq);
  return (int)ret(nl_kq_kevent(t, kq, changes, nchanges, events, nevents,
                               timeout));
}
/* ---- io_uring, through liburing's API (sim/host/uring.c) ---- */

/* liburing's functions return -errno themselves: no errno conversion. */
int nl_posix_io_uring_queue_init_params(unsigned entries,
                                        struct io_uring *ring,
                                        struct io_uring_params *p) {
  ENTER("io_uring_queue_init_params");
  return nl_uring_queue_init_params(t, entries, ring, p);
}
int nl_posix_io_uring_queue_init(unsigned entries, struct io_uring *ring,
                                 unsigned flags) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = flags;
  return nl_posix_io_uring_queue_init_params(entries, ring, &p);
}
void nl_posix_io_uring_queue_exit(struct io_uring *ring) {
  NlThread *t = nl__enter();
  if (t != NULL)
    nl_uring_queue_exit(t, ring);
}
int nl_posix_io_uring_submit(struct io_uring *ring) {
  ENTER("io_uring_submit");
  return nl_uring_submit(t, ring);
}
int nl_posix_io_uring_submit_and_get_events(struct io_uring *ring) {
  return nl_posix_io_uring_submit(ring);
}
int nl_posix_io_uring_get_events(struct io_uring *ring) {
  ENTER("io_uring_get_events");
  return nl_uring_get_events(t, ring);
}

/* A liburing timeout as a deadline in virtual time. */
static NlTime uring_deadline(NlThread *t, const struct __kernel_timespec *ts) {
  if (ts == NULL)
    return NL_TIME_NEVER;
  return nl_world_now(t->proc->host->world) +
         (NlTime)MAX(ts->tv_sec, 0) * NL_S +
         MAX(ts->tv_nsec, 0);
}

int nl_posix_io_uring_submit_and_wait(struct io_uring *ring,
                                      unsigned wait_nr) {
  ENTER_WAIT("io_uring_submit_and_wait", -1);
  int n = 0;
  int rc = nl_uring_wait(t, ring, NULL, TRUE, wait_nr, NL_TIME_NEVER, &n);
  return rc < 0 ? rc : n;
}
int nl_posix_io_uring_submit_and_wait_timeout(struct io_uring *ring,
                                              struct io_uring_cqe **cqe_ptr,
                                              unsigned wait_nr,
                                              struct __kernel_timespec *ts,
                                              sigset_t *sigmask) {
  ENTER_WAIT("io_uring_submit_and_wait_timeout", -1);
  int n = 0;
  int rc = nl_uring_wait(t, ring, cqe_ptr, TRUE, wait_nr,
                         uring_deadline(t, ts), &n);
  return rc < 0 ? rc : n;
}
int nl_posix_io_uring_wait_cqes(struct io_uring *ring,
                                struct io_uring_cqe **cqe_ptr,
                                unsigned wait_nr,
                                struct __kernel_timespec *ts,
                                sigset_t *sigmask) {
  ENTER_WAIT("io_uring_wait_cqes", -1);
  /* liburing submits what is queued before it waits with a timeout. */
  return nl_uring_wait(t, ring, cqe_ptr, TRUE, wait_nr,
                       uring_deadline(t, ts), NULL);
}
int nl_posix_io_uring_wait_cqe_timeout(struct io_uring *ring,
                                       struct io_uring_cqe **cqe_ptr,
                                       struct __kernel_timespec *ts) {
  return nl_posix_io_uring_wait_cqes(ring, cqe_ptr, 1, ts, NULL);
}
int nl_posix___io_uring_get_cqe(struct io_uring *ring,
                                struct io_uring_cqe **cqe_ptr,
                                unsigned submit, unsigned wait_nr,
                                sigset_t *sigmask) {
  ENTER_WAIT("io_uring_wait_cqe", -1);
  return nl_uring_wait(t, ring, cqe_ptr, submit > 0, wait_nr, NL_TIME_NEVER,
                       NULL);
}
unsigned nl_posix_io_uring_peek_batch_cqe(struct io_uring *ring,
                                          struct io_uring_cqe **cqes,
                                          unsigned count) {
  NlThread *t = nl__enter();
  return t != NULL ? nl_uring_peek_batch(t, ring, cqes, count) : 0;
}
int nl_posix_io_uring_ring_dontfork(struct io_uring *ring) {
  ENTER("io_uring_ring_dontfork");
  return 0; /* nothing forks in the lab */
}
int nl_posix_io_uring_register_ring_fd(struct io_uring *ring) {
  ENTER("io_uring_register_ring_fd");
  return 1; /* one registered: the lab's ring needs no registration */
}
int nl_posix_io_uring_unregister_ring_fd(struct io_uring *ring) {
  ENTER("io_uring_unregister_ring_fd");
  return 1;
}
struct io_uring_probe *nl_posix_io_uring_get_probe_ring(
    struct io_uring *ring) {
  size_t ops = 256;
  struct io_uring_probe *p =
      nl_posix_calloc(1, sizeof *p + ops * sizeof(struct io_uring_probe_op));
  if (p != NULL)
    nl_uring_probe_fill(p, ops);
  return p;
}
struct io_uring_probe *nl_posix_io_uring_get_probe(void) {
  return nl_posix_io_uring_get_probe_ring(NULL);
}
void nl_posix_io_uring_free_probe(struct io_uring_probe *p) {
  nl_posix_free(p);
}
ssize_t nl_posix_io_uring_mlock_size(unsigned entries, unsigned flags) {
  return 0; /* the lab's rings lock no memory */
}
ssize_t nl_posix_io_uring_mlock_size_params(unsigned entries,
                                            struct io_uring_params *p) {
  return 0;
}

int nl_posix_pipe(int fds[2]) {
  ENTER("pipe");
  return (int)ret(nl_vsock_pipe2(t, fds, 0));
}
int nl_posix_pipe2(int fds[2], int flags) {
  ENTER("pipe2");
  return (int)ret(nl_vsock_pipe2(t, fds, flags));
}
int nl_posix_socketpair(int domain, int type, int protocol, int sv[2]) {
  ENTER("socketpair");
  return (int)ret(nl_vsock_socketpair(t, domain, type, protocol, sv));
}
int nl_posix_dup(int fd) {
  ENTER("dup");
  return (int)ret(nl_vsock_dup3(t, fd, -1, 0));
}
int nl_posix_dup2(int fd, int fd2) {
  ENTER("dup2");
  if (fd == fd2)
    return nl__fd_get(t->proc, fd) ? fd : (int)ret(-EBADF);
  if (fd2 < 0) /* a negative target is no descriptor (nl_vsock_dup3 reads
                * it as F_DUPFD's lowest) */
    return (int)ret(-EBADF);
  return (int)ret(nl_vsock_dup3(t, fd, fd2, 0));
}
int nl_posix_fcntl(int fd, int cmd, long arg) {
  ENTER("fcntl");
  return (int)ret(nl_vsock_fcntl(t, fd, cmd, arg));
}
int nl_posix_ioctl(int fd, unsigned long req, void *arg) {
  ENTER("ioctl");
  return (int)ret(nl_vsock_ioctl(t, fd, req, arg));
}

static void heap_note(void *ptr, size_t n);
static void heap_forget(void *ptr);

/* ---- names ---- */

static int service_port(const char *service, int flags, int *port) {
  static const struct {
    const char *name;
    int port;
  } services[] = {{"echo", 7},     {"discard", 9}, {"daytime", 13},
                  {"ftp", 21},     {"ssh", 22},    {"telnet", 23},
                  {"smtp", 25},    {"domain", 53}, {"http", 80},
                  {"https", 443},  {"stun", 3478}, {"turn", 3478},
                  {"stuns", 5349}, {"turns", 5349}};
  if (service == NULL || *service == '\0') {
    *port = 0;
    return 0;
  }
  char *end;
  long v = strtol(service, &end, 10);
  if (*end == '\0') {
    if (v < 0 || v > 65535)
      return EAI_SERVICE;
    *port = (int)v;
    return 0;
  }
  if (flags & AI_NUMERICSERV)
    return EAI_NONAME;
  for (size_t i = 0; i < G_N_ELEMENTS(services); i++)
    if (strcmp(services[i].name, service) == 0) {
      *port = services[i].port;
      return 0;
    }
  return EAI_SERVICE;
}

/* One answer of getaddrinfo before it becomes addrinfo entries. */
typedef struct {
  int family;
  NlIp6 addr; /* AF_INET: v4-mapped */
  uint32_t scope;
} GaiAddr;

#define GAI_MAX 8

/* RFC 6724 §6 (glibc's rfc3484_sort, with glibc's default precedences:
 * ::1 50, ::/0 40, 2002::/16 30, ::/96 20, ::ffff:0:0/96 10): usable
 * destinations first (the host has a source address that reaches them,
 * rule 1), then higher precedence (rule 6), else as found (rule 10). */
static int gai_precedence(const GaiAddr *g) {
  const NlIp6 *a = &g->addr;
  if (nl_ip6_is_loopback(a))
    return 50;
  if (nl_ip6_is_v4mapped(a))
    return 10;
  if (a->b[0] == 0x20 && a->b[1] == 0x02)
    return 30;
  static const guint8 zero12[12];
  if (memcmp(a->b, zero12, 12) == 0)
    return 20;
  return 40;
}

static gboolean gai_usable(NlNode *n, const GaiAddr *g) {
  if (nl_ip6_is_v4mapped(&g->addr)) {
    uint32_t v4 = nl_ip6_to4(&g->addr);
    NlIface *f;
    uint32_t nh;
    return nl_node_has_addr(n, v4) || nl_node_route(n, v4, &f, &nh);
  }
  return nl_node_source6(n, &g->addr, NULL, NULL);
}

static void gai_sort(NlNode *n, GaiAddr *v, guint k) {
  int key[GAI_MAX];
  for (guint i = 0; i < k; i++)
    key[i] = (gai_usable(n, &v[i]) ? 1000 : 0) + gai_precedence(&v[i]);
  for (guint i = 1; i < k; i++) { /* stable insertion sort */
    GaiAddr x = v[i];
    int kx = key[i];
    guint j = i;
    while (j > 0 && key[j - 1] < kx) {
      v[j] = v[j - 1];
      key[j] = key[j - 1];
      j--;
    }
    v[j] = x;
    key[j] = kx;
  }
}

/* A numeric IPv6 address, with an optional "%scope" (an interface name or
 * index).  -1: not one; EAI_NONAME: an unknown scope. */
static int gai_numeric6(NlNode *n, const char *node, NlIp6 *out,
                        uint32_t *scope) {
  char buf[NL_IP6_STRLEN + IF_NAMESIZE + 2];
  if (strlen(node) >= sizeof buf)
    return -1;
  g_strlcpy(buf, node, sizeof buf);
  char *pct = strchr(buf, '%');
  if (pct != NULL)
    *pct++ = '\0';
  if (!nl_ip6_from_string(buf, out))
    return -1;
  *scope = 0;
  if (pct == NULL)
    return 0;
  if (strcmp(pct, "lo") == 0) {
    *scope = 1;
    return 0;
  }
  for (guint i = 0; i < nl_node_n_ifaces(n); i++)
    if (strcmp(nl_iface_name(nl_node_iface(n, i)), pct) == 0) {
      *scope = nl_iface_index(nl_node_iface(n, i));
      return 0;
    }
  char *end;
  unsigned long v = strtoul(pct, &end, 10);
  if (*pct != '\0' && *end == '\0' && v <= G_MAXUINT32) {
    *scope = (uint32_t)v;
    return 0;
  }
  return EAI_NONAME;
}

static void gai_add(GaiAddr *v, guint *k, int family, const NlIp6 *a,
                    uint32_t scope) {
  if (*k >= GAI_MAX)
    return;
  v[*k].family = family;
  v[*k].addr = *a;
  v[*k].scope = scope;
  (*k)++;
}

int nl_posix_getaddrinfo(const char *node, const char *service,
                         const struct addrinfo *hints,
                         struct addrinfo **res) {
  ENTER("getaddrinfo");
  int family = hints ? hints->ai_family : AF_UNSPEC;
  int socktype = hints ? hints->ai_socktype : 0;
  int protocol = hints ? hints->ai_protocol : 0;
  int flags = hints ? hints->ai_flags : (AI_V4MAPPED | AI_ADDRCONFIG);
  if (res == NULL)
    return EAI_SYSTEM;
  *res = NULL;
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
    return EAI_FAMILY;
  if (socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM &&
      socktype != SOCK_RAW)
    return EAI_SOCKTYPE;
  if (node == NULL && service == NULL)
    return EAI_NONAME;
  int port;
  int e = service_port(service, flags, &port);
  if (e != 0)
    return e;
  NlNode *host = t->proc->host->node;
  /* glibc: AI_ADDRCONFIG narrows AF_UNSPEC to the one family the host
   * has an address of (loopback's aside), and refuses a family it has
   * none of. */
  if (flags & AI_ADDRCONFIG) {
    gboolean s4 = nl_node_has_ip4(host), s6 = nl_node_has_ip6(host);
    if (family == AF_UNSPEC && (s4 || s6)) {
      if (s4 != s6)
        family = s4 ? AF_INET : AF_INET6;
    } else if ((family == AF_INET && !s4) || (family == AF_INET6 && !s6)) {
      return EAI_NONAME;
    }
  }
  GaiAddr v[GAI_MAX];
  guint k = 0;
  uint32_t a4;
  NlIp6 a6;
  uint32_t scope = 0;
  int num6 = node != NULL ? gai_numeric6(host, node, &a6, &scope) : -1;
  if (node == NULL) {
    /* As glibc: passive gives 0.0.0.0 then ::, active ::1 then
     * 127.0.0.1. */
    gboolean passive = (flags & AI_PASSIVE) != 0;
    NlIp6 any6 = {{0}}, lo6 = {.b = {[15] = 1}};
    NlIp6 any4 = nl_ip6_from4(0), lo4 = nl_ip6_from4(0x7f000001);
    if (passive && family != AF_INET6)
      gai_add(v, &k, AF_INET, &any4, 0);
    if (family != AF_INET)
      gai_add(v, &k, AF_INET6, passive ? &any6 : &lo6, 0);
    if (!passive && family != AF_INET6)
      gai_add(v, &k, AF_INET, &lo4, 0);
  } else if (nl_ip4_from_string(node, &a4)) {
    NlIp6 m = nl_ip6_from4(a4);
    if (family == AF_INET6 && !(flags & AI_V4MAPPED))
      return EAI_ADDRFAMILY;
    gai_add(v, &k, family == AF_INET6 ? AF_INET6 : AF_INET, &m, 0);
  } else if (num6 >= 0) {
    if (num6 != 0)
      return num6;
    if (family == AF_INET)
      return EAI_ADDRFAMILY;
    gai_add(v, &k, AF_INET6, &a6, scope);
  } else if (flags & AI_NUMERICHOST) {
    return EAI_NONAME;
  } else {
    NlWorld *w = t->proc->host->world;
    gboolean has4 = FALSE;
    NlIp6 six[GAI_MAX];
    guint n6 = 0;
    if (g_ascii_strcasecmp(node, "localhost") == 0) {
      a4 = 0x7f000001; /* the lab's /etc/hosts: 127.0.0.1 localhost */
      has4 = TRUE;
    } else {
      has4 = nl_world_lookup_name_from(w, host, node, &a4);
      n6 = MIN(nl_world_lookup_name6(w, host, node, six, GAI_MAX), GAI_MAX);
    }
    if (!has4 && n6 == 0) {
      nl__trace_call(t, "getaddrinfo(\"%s\") = EAI_NONAME", node);
      return EAI_NONAME;
    }
    /* DNS64 (RFC 6147): an IPv6-only host's resolver synthesizes an AAAA
     * answer, 64:ff9b::a.b.c.d, for a name with only A answers when the
     * world has a NAT64 to translate it. */
    if (n6 == 0 && has4 && nl_world_dns64(w) && nl_node_has_ip6(host) &&
        !nl_node_has_ip4(host) && (a4 >> 24) != 127) {
      six[0] = nl_ip6_nat64(a4);
      n6 = 1;
    }
    NlIp6 m = nl_ip6_from4(a4);
    if (family != AF_INET)
      for (guint i = 0; i < n6; i++)
        gai_add(v, &k, AF_INET6, &six[i], 0);
    if (has4 && family == AF_INET)
      gai_add(v, &k, AF_INET, &m, 0);
    if (has4 && family == AF_UNSPEC)
      gai_add(v, &k, AF_INET, &m, 0);
    /* AF_INET6 with AI_V4MAPPED: the A answers, mapped, when there is no
     * AAAA answer (or always, with AI_ALL). */
    if (has4 && family == AF_INET6 && (flags & AI_V4MAPPED) &&
        (n6 == 0 || (flags & AI_ALL)))
      gai_add(v, &k, AF_INET6, &m, 0);
    if (k == 0) {
      nl__trace_call(t, "getaddrinfo(\"%s\") = EAI_NODATA", node);
      return EAI_NODATA;
    }
    if (k > 1)
      gai_sort(host, v, k);
  }
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW};
  struct addrinfo *head = NULL, **tail = &head;
  for (guint j = 0; j < k; j++)
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
      int st = types[i];
      if (socktype != 0 && socktype != st)
        continue;
      int proto = st == SOCK_STREAM ? IPPROTO_TCP
                  : st == SOCK_DGRAM ? IPPROTO_UDP
                                     : 0;
      if (protocol != 0 && st != SOCK_RAW && protocol != proto)
        continue;
      struct addrinfo *ai =
          g_malloc0(sizeof *ai + sizeof(struct sockaddr_in6));
      ai->ai_family = v[j].family;
      ai->ai_socktype = st;
      ai->ai_protocol = st == SOCK_RAW ? protocol : proto;
      ai->ai_addr = (struct sockaddr *)(ai + 1);
      if (v[j].family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ai->ai_addr;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        memcpy(s6->sin6_addr.s6_addr, v[j].addr.b, 16);
        s6->sin6_scope_id = v[j].scope;
        ai->ai_addrlen = sizeof *s6;
      } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ai->ai_addr;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        s4->sin_addr.s_addr = htonl(nl_ip6_to4(&v[j].addr));
        ai->ai_addrlen = sizeof *s4;
      }
      if ((flags & AI_CANONNAME) && head == NULL) {
        ai->ai_canonname = g_strdup(node ? node : "");
        heap_note(ai->ai_canonname, 1);
      }
      /* Reclaimed with the process if it never calls freeaddrinfo(). */
      heap_note(ai, sizeof *ai);
      *tail = ai;
      tail = &ai->ai_next;
    }
  if (head == NULL)
    return EAI_SOCKTYPE;
  GString *list = g_string_new(NULL);
  for (guint j = 0; j < k; j++) {
    char ip[NL_IP6_STRLEN];
    if (v[j].family == AF_INET)
      nl_ip4_to_string(nl_ip6_to4(&v[j].addr), ip);
    else
      nl_ip6_to_string(&v[j].addr, ip);
    g_string_append_printf(list, "%s%s", j ? ", " : "", ip);
  }
  nl__trace_call(t, "getaddrinfo(\"%s\") = %s", node ? node : "(null)",
                 list->str);
  g_string_free(list, TRUE);
  *res = head;
  return 0;
}

void nl_posix_freeaddrinfo(struct addrinfo *res) {
  while (res != NULL) {
    struct addrinfo *next = res->ai_next;
    heap_forget(res->ai_canonname);
    heap_forget(res);
    g_free(res->ai_canonname);
    g_free(res);
    res = next;
  }
}

int nl_posix_getnameinfo(const struct sockaddr *sa, socklen_t salen,
                         char *host, socklen_t hostlen, char *serv,
                         socklen_t servlen, int flags) {
  ENTER("getnameinfo");
  uint32_t addr;
  uint16_t port;
  if (sa == NULL)
    return EAI_FAMILY;
  NlIp6 a6 = {{0}};
  gboolean v6 = FALSE;
  if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    addr = ntohl(s4->sin_addr.s_addr);
    port = ntohs(s4->sin_port);
  } else if (sa->sa_family == AF_INET6 &&
             salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    memcpy(a6.b, s6->sin6_addr.s6_addr, 16);
    v6 = TRUE;
    addr = nl_ip6_to4(&a6);
    port = ntohs(s6->sin6_port);
  } else {
    return EAI_FAMILY;
  }
  if (host != NULL && hostlen > 0) {
    const char *name = NULL;
    char ip[NL_IP6_STRLEN];
    if (!(flags & NI_NUMERICHOST))
      /* A v4-mapped address is named by its IPv4 address, as the hosts
       * database answers; as a number it stays in IPv6's form. */
      name = v6 && !nl_ip6_is_v4mapped(&a6)
                 ? nl_world_name_of6(t->proc->host->world, &a6)
                 : nl_world_name_of(t->proc->host->world, addr);
    if (name == NULL && (flags & NI_NAMEREQD))
      return EAI_NONAME;
    if (name == NULL)
      name = v6 ? nl_ip6_to_string(&a6, ip) : nl_ip4_to_string(addr, ip);
    if (strlen(name) + 1 > hostlen)
      return EAI_OVERFLOW;
    strcpy(host, name);
  }
  if (serv != NULL && servlen > 0) {
    char p[8];
    g_snprintf(p, sizeof p, "%u", port);
    if (strlen(p) + 1 > servlen)
      return EAI_OVERFLOW;
    strcpy(serv, p);
  }
  return 0;
}

struct hostent *nl_posix_gethostbyname(const char *name) {
  NlThread *t = nl__enter();
  uint32_t addr;
  if (t == NULL || name == NULL) {
    if (t)
      nl__facts_set_h_errno(t->proc, HOST_NOT_FOUND);
    return NULL;
  }
  if (!nl_ip4_from_string(name, &addr) &&
      !nl_world_lookup_name_from(t->proc->host->world, t->proc->host->node,
                                 name, &addr)) {
    if (g_ascii_strcasecmp(name, "localhost") != 0) {
      nl__facts_set_h_errno(t->proc, HOST_NOT_FOUND);
      return NULL;
    }
    addr = 0x7f000001;
  }
  /* One answer per process, as glibc's is one per program. */
  return nl__facts_hostent(t->proc, name, htonl(addr));
}

/* ---- interfaces ---- */

/* linux/if.h's, which net/if.h does not define. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

typedef struct {
  struct ifaddrs ifa;
  struct sockaddr_in addr, mask, bcast;
  char name[16];
} IfEntry;

typedef struct {
  struct ifaddrs ifa; /* first: freeifaddrs frees an entry through it */
  struct sockaddr_in6 addr, mask;
  char name[16];
} IfEntry6;

/* The AF_INET6 entries, after every AF_INET one as Linux lists them: lo's
 * ::1 first, then each interface's addresses in the order they were
 * given. */
static IfEntry6 *ifaddrs6(NlNode *n, struct ifaddrs **last) {
  IfEntry6 *head = NULL;
  struct ifaddrs **tail = last;
  for (guint i = 0; i <= nl_node_n_ifaces(n); i++) {
    NlIface *f = i ? nl_node_iface(n, i - 1) : NULL;
    guint k_n = f ? nl_iface_n_addrs6(f) : 1;
    for (guint k = 0; k < k_n; k++) {
      IfEntry6 *e = g_new0(IfEntry6, 1);
      heap_note(e, sizeof *e);
      NlIp6 a = {.b = {[15] = 1}};
      guint len = 128;
      if (f == NULL) {
        g_strlcpy(e->name, "lo", sizeof e->name);
        e->ifa.ifa_flags = IFF_UP | IFF_RUNNING | IFF_LOOPBACK | IFF_LOWER_UP;
      } else {
        g_strlcpy(e->name, nl_iface_name(f), sizeof e->name);
        a = *nl_iface_addr6(f, k);
        len = nl_iface_prefix_len6(f, &a);
        e->ifa.ifa_flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING |
                           IFF_MULTICAST | IFF_LOWER_UP;
        if (!nl_iface_is_up(f))
          e->ifa.ifa_flags &= ~(unsigned)(IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
      }
      NlIp6 m = {{0}};
      for (guint b = 0; b < len; b++)
        m.b[b / 8] |= (guint8)(0x80u >> (b % 8));
      e->addr.sin6_family = e->mask.sin6_family = AF_INET6;
      memcpy(e->addr.sin6_addr.s6_addr, a.b, 16);
      memcpy(e->mask.sin6_addr.s6_addr, m.b, 16);
      e->ifa.ifa_name = e->name;
      e->ifa.ifa_addr = (struct sockaddr *)&e->addr;
      e->ifa.ifa_netmask = (struct sockaddr *)&e->mask;
      *tail = &e->ifa;
      tail = &e->ifa.ifa_next;
      if (head == NULL)
        head = e;
    }
  }
  return head;
}

int nl_posix_getifaddrs(struct ifaddrs **ifap) {
  ENTER("getifaddrs");
  NlNode *n = t->proc->host->node;
  IfEntry *prev = NULL, *head = NULL;
  for (guint i = 0; i <= nl_node_n_ifaces(n); i++) {
    if (i > 0 && nl_iface_addr(nl_node_iface(n, i - 1)) == 0)
      continue; /* an IPv6-only interface */
    IfEntry *e = g_new0(IfEntry, 1);
    heap_note(e, sizeof *e);
    uint32_t a, m;
    if (i == 0) {
      g_strlcpy(e->name, "lo", sizeof e->name);
      a = 0x7f000001;
      m = 0xff000000;
      e->ifa.ifa_flags = IFF_UP | IFF_RUNNING | IFF_LOOPBACK | IFF_LOWER_UP;
    } else {
      NlIface *f = nl_node_iface(n, i - 1);
      g_strlcpy(e->name, nl_iface_name(f), sizeof e->name);
      a = nl_iface_addr(f);
      guint len = nl_iface_prefix_len(f);
      m = len ? ~(uint32_t)0 << (32 - len) : 0;
      /* As Linux lists an Ethernet interface (IFF_LOWER_UP: carrier). */
      e->ifa.ifa_flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING |
                         IFF_MULTICAST | IFF_LOWER_UP;
      if (!nl_iface_is_up(f))
        e->ifa.ifa_flags &= ~(unsigned)(IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
      e->bcast.sin_family = AF_INET;
      e->bcast.sin_addr.s_addr = htonl(a | ~m);
      e->ifa.ifa_broadaddr = (struct sockaddr *)&e->bcast;
    }
    e->addr.sin_family = e->mask.sin_family = AF_INET;
    e->addr.sin_addr.s_addr = htonl(a);
    e->mask.sin_addr.s_addr = htonl(m);
    e->ifa.ifa_name = e->name;
    e->ifa.ifa_addr = (struct sockaddr *)&e->addr;
    e->ifa.ifa_netmask = (struct sockaddr *)&e->mask;
    if (prev)
      prev->ifa.ifa_next = &e->ifa;
    else
      head = e;
    prev = e;
  }
  ifaddrs6(n, &prev->ifa.ifa_next);
  *ifap = &head->ifa;
  return 0;
}

void nl_posix_freeifaddrs(struct ifaddrs *ifa) {
  while (ifa != NULL) {
    struct ifaddrs *next = ifa->ifa_next;
    heap_forget(ifa);
    g_free(ifa); /* the IfEntry starts with it */
    ifa = next;
  }
}

unsigned int nl_posix_if_nametoindex(const char *name) {
  NlThread *t = nl__enter();
  if (t == NULL || name == NULL)
    return 0;
  if (strcmp(name, "lo") == 0)
    return 1;
  NlNode *n = t->proc->host->node;
  for (guint i = 0; i < nl_node_n_ifaces(n); i++)
    if (strcmp(nl_iface_name(nl_node_iface(n, i)), name) == 0)
      return nl_iface_index(nl_node_iface(n, i));
  errno = ENODEV;
  return 0;
}

char *nl_posix_if_indextoname(unsigned int index, char name[IF_NAMESIZE]) {
  NlThread *t = nl__enter();
  if (t == NULL)
    return NULL;
  if (index == 1) {
    g_strlcpy(name, "lo", IF_NAMESIZE);
    return name;
  }
  NlNode *n = t->proc->host->node;
  for (guint i = 0; i < nl_node_n_ifaces(n); i++)
    if (nl_iface_index(nl_node_iface(n, i)) == index) {
      g_strlcpy(name, nl_iface_name(nl_node_iface(n, i)), IF_NAMESIZE);
      return name;
    }
  errno = ENXIO;
  return NULL;
}

/* ---- time ---- */

static NlTime now_of(NlThread *t) {
  return nl_world_now(t->proc->host->world);
}

/* An absolute time on @clk (CLOCK_REALTIME or CLOCK_MONOTONIC) as a
 * virtual time. */
static NlTime abs_deadline(clockid_t clk, const struct timespec *ts) {
  NlTime d = (NlTime)ts->tv_sec * NL_S + ts->tv_nsec;
  return clk == CLOCK_MONOTONIC ? d - NL_BOOT_OFFSET
                                : d - (NlTime)NL_EPOCH_BASE * NL_S;
}

int nl_posix_clock_gettime(clockid_t clk, struct timespec *ts) {
  ENTER("clock_gettime");
  NlTime v;
  switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
      v = now_of(t);
      if (ts == NULL)
        return (int)ret(-EFAULT);
      ts->tv_sec = NL_EPOCH_BASE + v / NL_S;
      ts->tv_nsec = v % NL_S;
      return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      v = now_of(t) + NL_BOOT_OFFSET;
      break;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      v = (NlTime)t->proc->calls * NL_CALL_COST;
      break;
    default:
      return (int)ret(-EINVAL);
  }
  if (ts == NULL)
    return (int)ret(-EFAULT);
  ts->tv_sec = v / NL_S;
  ts->tv_nsec = v % NL_S;
  return 0;
}

int nl_posix_gettimeofday(struct timeval *tv, void *tz) {
  ENTER("gettimeofday");
  if (tv != NULL) {
    NlTime v = now_of(t);
    tv->tv_sec = NL_EPOCH_BASE + v / NL_S;
    tv->tv_usec = (v % NL_S) / NL_US;
  }
  if (tz != NULL)
    memset(tz, 0, 2 * sizeof(int)); /* struct timezone: UTC */
  return 0;
}

time_t nl_posix_time(time_t *out) {
  NlThread *t = nl__enter();
  if (t == NULL)
    return (time_t)nl_posix_unsupported("time");
  time_t v = NL_EPOCH_BASE + (time_t)(now_of(t) / NL_S);
  if (out)
    *out = v;
  return v;
}

/* Sleeps until @deadline; TRUE when it got there. */
static gboolean sleep_until(NlThread *t, NlTime deadline) {
  if (t->call == NULL)
    t->call = "sleep";
  while (now_of(t) < deadline)
    nl__block(t, deadline);
  return TRUE;
}

int nl_posix_nanosleep(const struct timespec *req, struct timespec *rem) {
  ENTER_WAIT("nanosleep", -1);
  if (req == NULL)
    return (int)ret(-EFAULT);
  if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || req->tv_sec < 0)
    return (int)ret(-EINVAL);
  sleep_until(t, now_of(t) + req->tv_sec * NL_S + req->tv_nsec);
  if (rem) {
    rem->tv_sec = 0;
    rem->tv_nsec = 0;
  }
  return 0;
}

int nl_posix_clock_nanosleep(clockid_t clk, int flags,
                             const struct timespec *req,
                             struct timespec *rem) {
  NlThread *t = nl__enter();
  if (t == NULL)
    return ENOSYS;
  if (req == NULL)
    return EFAULT;
  if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || req->tv_sec < 0)
    return EINVAL;
  NlTime d = req->tv_sec * NL_S + req->tv_nsec, deadline;
  if (flags & TIMER_ABSTIME) {
    if (clk == CLOCK_REALTIME)
      deadline = d - NL_EPOCH_BASE * NL_S;
    else if (clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME)
      deadline = d - NL_BOOT_OFFSET;
    else
      return EINVAL;
  } else {
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC &&
        clk != CLOCK_BOOTTIME)
      return EINVAL;
    deadline = now_of(t) + d;
  }
  sleep_until(t, deadline);
  if (rem) {
    rem->tv_sec = 0;
    rem->tv_nsec = 0;
  }
  return 0;
}

unsigned int nl_posix_sleep(unsigned int s) {
  NlThread *t = nl__enter();
  if (t == NULL)
    return s;
  sleep_until(t, now_of(t) + (NlTime)s * NL_S);
  return 0;
}

int nl_posix_usleep(useconds_t us) {
  ENTER_WAIT("usleep", -1);
  sleep_until(t, now_of(t) + (NlTime)us * NL_US);
  return 0;
}

/* ---- randomness ---- */

ssize_t nl_posix_getrandom(void *buf, size_t len, unsigned int flags) {
  ENTER("getrandom");
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | 4u /* GRND_INSECURE */))
    return ret(-EINVAL);
  guint8 *b = buf;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = nl_rand_u64(&t->proc->rand);
    memcpy(b + i, &v, MIN(8, len - i));
  }
  return (ssize_t)len;
}

static NlProc *proc_or_null(void) {
  return nl__current ? nl__current->proc : NULL;
}

/* rand() and random() share one per-process stream, reseeded by srand()
 * from its argument alone, so srand(time(NULL)) is repeatable too. */
int nl_posix_rand(void) {
  NlProc *p = proc_or_null();
  if (p == NULL)
    return 0;
  return (int)(nl_rand_u64(&p->rand) >> 33);
}

void nl_posix_srand(unsigned int seed) {
  NlProc *p = proc_or_null();
  if (p == NULL)
    return;
  char name[32];
  g_snprintf(name, sizeof name, "srand:%u", seed);
  nl_rand_init(&p->rand, p->rand_seed, name);
}

long nl_posix_random(void) {
  return nl_posix_rand();
}

void nl_posix_srandom(unsigned int seed) {
  nl_posix_srand(seed);
}

/* ---- process ---- */

pid_t nl_posix_getpid(void) {
  NlProc *p = proc_or_null();
  return p ? p->pid : 1;
}

const char *nl_posix_inet_ntop(int af, const void *src, char *dst,
                               socklen_t size) {
  return inet_ntop(af, src, dst, size);
}

const char *nl_posix_progname(void) {
  NlProc *p = proc_or_null();
  return p ? p->argv[0] : "natlab";
}

void nl_posix_exit(int code) {
  NlThread *t = nl__current;
  if (t == NULL)
    exit(code);
  nl__proc_exit(t, code);
}

void nl_posix_runtime_crash(const char *why, int code) {
  NlThread *t = nl__current;
  if (t == NULL)
    exit(code);
  NlProc *p = t->proc;
  if (p->crash_why == NULL)
    p->crash_why = g_utf8_make_valid(why ? why : "a runtime error",
                                     why ? (gssize)strnlen(why, 512) : -1);
  nl__proc_exit(t, code);
}

int nl_posix_atexit(void (*fn)(void)) {
  NlProc *p = proc_or_null();
  if (p == NULL)
    return atexit(fn);
  if (p->atexit_fns == NULL)
    p->atexit_fns = g_ptr_array_new();
  g_ptr_array_add(p->atexit_fns, (gpointer)fn);
  return 0;
}

void nl_posix_abort(void) {
  if (nl__current == NULL)
    abort();
  nl_guard_crash_current(SIGABRT);
}

void nl_posix_assert_fail(const char *expr, const char *file,
                          unsigned int line, const char *func) {
  if (nl__current != NULL) {
    char *msg = g_strdup_printf("%s: %s:%u: %s: Assertion `%s' failed.\n",
                                nl_posix_progname(), file, line, func, expr);
    nl__proc_output(nl__current->proc, 2, msg, strlen(msg));
    g_free(msg);
  }
  nl_posix_abort();
}

sighandler_t nl_posix_signal(int sig, sighandler_t h) {
  NlProc *p = proc_or_null();
  if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
    errno = EINVAL;
    return SIG_ERR;
  }
  if (p == NULL)
    return SIG_DFL;
  sighandler_t old = SIG_DFL;
  if (sig == SIGPIPE) {
    old = p->sigpipe_ignored ? SIG_IGN : SIG_DFL;
    /* A handler is treated as SIG_IGN: the write still fails with EPIPE,
     * which is what handler-installing programs rely on. */
    p->sigpipe_ignored = h != SIG_DFL;
  }
  return old;
}

int nl_posix_sigaction(int sig, const struct sigaction *act,
                       struct sigaction *old) {
  if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
    errno = EINVAL;
    return -1;
  }
  NlProc *p = proc_or_null();
  if (old) {
    memset(old, 0, sizeof *old);
    old->sa_handler = (p && sig == SIGPIPE && p->sigpipe_ignored) ? SIG_IGN
                                                                  : SIG_DFL;
  }
  if (act && p && sig == SIGPIPE)
    p->sigpipe_ignored = act->sa_handler != SIG_DFL;
  return 0;
}

/* Signal masks are per process and nothing is ever delivered, so a mask
 * is only remembered as empty; a program must not block the real
 * process's signals (the guard needs them). */
int nl_posix_sigprocmask(int how, const sigset_t *set, sigset_t *old) {
  if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK) {
    errno = EINVAL;
    return -1;
  }
  if (old != NULL)
    sigemptyset(old);
  return 0;
}

int nl_posix_pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return nl_posix_sigprocmask(how, set, old) == 0 ? 0 : EINVAL;
}

int nl_posix_raise(int sig) {
  NlThread *t = nl__current;
  if (sig <= 0 || sig >= NSIG) {
    errno = EINVAL;
    return -1;
  }
  if (t == NULL)
    return raise(sig);
  if (sig == SIGABRT)
    nl_posix_abort();
  if (sig == SIGPIPE && t->proc->sigpipe_ignored)
    return 0;
  if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
    return 0; /* ignored by default */
  nl__trace_call(t, "raise(%d): the default action ends the process", sig);
  nl__proc_exit(t, 128 + sig);
}

/* ---- memory: what a program allocates is reclaimed when it ends ---- */

static void heap_note(void *ptr, size_t n) {
  NlProc *p = proc_or_null();
  if (p != NULL && ptr != NULL) {
    if (p->heap == NULL)
      p->heap = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_insert(p->heap, ptr, GSIZE_TO_POINTER(n));
  }
}

static void heap_forget(void *ptr) {
  NlProc *p = proc_or_null();
  if (p != NULL && ptr != NULL && p->heap != NULL)
    g_hash_table_remove(p->heap, ptr);
}

/* What a program mallocs lives in its own heap (heap.h), away from
 * natlab's; outside a program (a constructor) it is libc's.  Memory libc
 * allocated for a program (getline's buffer) and natlab's answers
 * (getaddrinfo's) are libc's too, and free() gives them back there. */
static NlHeap *program_heap(void) {
  NlProc *p = proc_or_null();
  if (p == NULL)
    return nl__loading_heap; /* a constructor, or natlab's own call */
  if (p->pheap == NULL)
    p->pheap = nl_heap_new();
  return p->pheap;
}

/* A block the heap does not know was handed back: the program is ended
 * as glibc ends it (a message, then abort). */
static void heap_misuse(const char *what) {
  if (nl__current == NULL)
    return;
  char *msg = g_strdup_printf("%s\n", what);
  nl__proc_output(nl__current->proc, 2, msg, strlen(msg));
  g_free(msg);
  nl_posix_abort();
}

/* An allocation of @n bytes by @call failed in the program's heap @h:
 * the first time, named in the trace (a note on the program) and on its
 * stderr, as natlab grade names a program that allocates without bound.
 * The call fails with ENOMEM, as under a real memory limit. */
static void *heap_refused(NlHeap *h, const char *call, size_t n) {
  NlThread *t = nl__current;
  if (t == NULL || nl_heap_refusals(h) != 1) {
    errno = ENOMEM;
    return NULL;
  }
  NlProc *p = t->proc;
  int err = 0;
  char *why;
  switch (nl_heap_refusal(h, &err)) {
  case NL_HEAP_REFUSED_LIMIT:
    why = g_strdup_printf(" (all programs' heaps together may hold %zu MiB)",
                          nl_heap_limit() >> 20);
    break;
  case NL_HEAP_REFUSED_SYSTEM:
    why = g_strdup_printf(" (natlab could not get memory for its heap: %s)",
                          g_strerror(err));
    break;
  default:
    why = g_strdup_printf(" (a heap holds at most %zu MiB)",
                          nl_heap_slot_size() >> 20);
    break;
  }
  char *text = g_strdup_printf("out of memory: %s(%zu) failed with %zu MiB "
                               "in use%s",
                               call, n, nl_heap_in_use(h) >> 20, why);
  NlWorld *w = p->host->world;
  nl_trace_add(nl_world_trace(w), nl_world_now(w), NL_TRACE_NOTE,
               nl_node_trace_id(p->host->node), p->trace_name, 0, 0, text,
               (guint32)strlen(text));
  char *msg = g_strdup_printf("natlab: %s\n", text);
  nl__proc_output(p, 2, msg, strlen(msg));
  g_free(msg);
  g_free(text);
  g_free(why);
  errno = ENOMEM;
  return NULL;
}

void *nl_posix_malloc(size_t n) {
  NlHeap *h = program_heap();
  if (h == NULL)
    return malloc(n);
  void *ptr = nl_heap_alloc(h, n);
  return ptr ? ptr : heap_refused(h, "malloc", n);
}

void *nl_posix_calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  NlHeap *h = program_heap();
  if (h == NULL)
    return calloc(n, size);
  void *ptr = nl_heap_alloc(h, total);
  if (ptr == NULL)
    return heap_refused(h, "calloc", total);
  memset(ptr, 0, total);
  return ptr;
}

void *nl_posix_realloc(void *ptr, size_t n) {
  if (ptr == NULL)
    return nl_posix_malloc(n);
  NlHeap *owner = nl_heap_of(ptr);
  if (owner == NULL) {
    heap_forget(ptr);
    void *np = realloc(ptr, n);
    /* On failure the old block is still the program's. */
    heap_note(np != NULL || n == 0 ? np : ptr, n);
    return np;
  }
  size_t have = nl_heap_size(owner, ptr);
  if (have == 0) {
    heap_misuse("realloc(): invalid pointer");
    return NULL;
  }
  if (n == 0) { /* glibc: frees it */
    nl_heap_free(owner, ptr);
    return NULL;
  }
  if (n <= have)
    return ptr;
  void *np = nl_heap_alloc(owner, n);
  if (np == NULL)
    return heap_refused(owner, "realloc", n);
  memcpy(np, ptr, have);
  nl_heap_free(owner, ptr);
  return np;
}

void nl_posix_free(void *ptr) {
  if (ptr == NULL)
    return;
  NlHeap *owner = nl_heap_of(ptr);
  if (owner == NULL) {
    heap_forget(ptr);
    free(ptr);
    return;
  }
  if (!nl_heap_free(owner, ptr))
    heap_misuse("free(): invalid pointer, or freed twice");
}

char *nl_posix_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = nl_posix_malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

char *nl_posix_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = nl_posix_malloc(len + 1);
  if (d) {
    memcpy(d, s, len);
    d[len] = '\0';
  }
  return d;
}

int nl_posix_posix_memalign(void **out, size_t align, size_t n) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0)
    return EINVAL;
  NlHeap *h = program_heap();
  if (h == NULL)
    return posix_memalign(out, align, n);
  void *ptr = nl_heap_alloc_aligned(h, align, n);
  if (ptr == NULL) {
    heap_refused(h, "posix_memalign", n);
    return ENOMEM;
  }
  *out = ptr;
  return 0;
}

/* ---- threads: green threads of the process ---- */


static NlThread *thread_of(pthread_t th) {
  NlProc *p = proc_or_null();
  if (p == NULL)
    return NULL;
  for (guint i = 0; i < p->threads->len; i++)
    if (NL_PTHREAD_OF((NlThread *)g_ptr_array_index(p->threads, i)) == th)
      return g_ptr_array_index(p->threads, i);
  return NULL;
}

int nl_posix_pthread_create(pthread_t *th, const pthread_attr_t *attr,
                            void *(*fn)(void *), void *arg) {
  NlThread *t = nl__enter();
  if (t == NULL)
    return ENOSYS;
  int err = 0;
  NlThread *n = nl__thread_new(t->proc, FALSE, fn, arg, &err);
  if (n == NULL)
    return -err;
  int detach = PTHREAD_CREATE_JOINABLE;
  if (attr != NULL)
    pthread_attr_getdetachstate(attr, &detach);
  n->detached = detach == PTHREAD_CREATE_DETACHED;
  *th = NL_PTHREAD_OF(n);
  nl__trace_call(t, "pthread_create() = thread %d", n->tid);
  return 0;
}

int nl_posix_pthread_join(pthread_t th, void **retval) {
  NlThread *t = nl__enter();
  if (t != NULL)
    t->call = "pthread_join";
  if (t == NULL)
    return ENOSYS;
  NlThread *target = thread_of(th);
  if (target == NULL)
    return ESRCH;
  if (target == t)
    return EDEADLK;
  if (target->detached || target->joined)
    return EINVAL;
  target->joined = TRUE;
  while (!target->done) {
    nl__wait_chan(t, target);
    nl__block(t, NL_TIME_NEVER);
  }
  if (retval)
    *retval = target->retval;
  /* The thread's coroutine already ended; forget it. */
  g_ptr_array_remove(t->proc->threads, target);
  nl_event_cancel(nl_world_queue(t->proc->host->world), &target->wake);
  nl__wait_list_clear(&target->waiting_on);
  nl_coro_free(target->coro);
  g_free(target);
  return 0;
}

int nl_posix_pthread_detach(pthread_t th) {
  NlThread *target = thread_of(th);
  if (target == NULL)
    return ESRCH;
  if (target->detached)
    return EINVAL;
  target->detached = TRUE;
  return 0;
}

pthread_t nl_posix_pthread_self(void) {
  return nl__current ? NL_PTHREAD_OF(nl__current) : 0;
}

int nl_posix_pthread_equal(pthread_t a, pthread_t b) {
  return a == b;
}

void nl_posix_pthread_exit(void *retval) {
  NlThread *t = nl__current;
  if (t == NULL)
    exit(0);
  if (t->is_main) {
    /* The main thread leaving ends the process once no thread is left;
     * natlab keeps it simple and ends the process, as exit(0). */
    nl__proc_exit(t, 0);
  }
  t->retval = retval;
  nl_coro_exit();
}

/* Mutexes keep glibc's layout: __lock (held), __count (recursion),
 * __owner (tid), __kind (type).  All-zero is an unlocked normal mutex,
 * so PTHREAD_MUTEX_INITIALIZER works. */
int nl_posix_pthread_mutex_init(pthread_mutex_t *m,
                                const pthread_mutexattr_t *a) {
  int kind = PTHREAD_MUTEX_NORMAL;
  memset(m, 0, sizeof *m);
  if (a != NULL)
    pthread_mutexattr_gettype(a, &kind);
  m->__data.__kind = kind;
  return 0;
}

int nl_posix_pthread_mutex_destroy(pthread_mutex_t *m) {
  return m->__data.__lock ? EBUSY : 0;
}

static int mutex_try(NlThread *t, pthread_mutex_t *m) {
  if (!m->__data.__lock) {
    m->__data.__lock = 1;
    m->__data.__owner = t->tid;
    m->__data.__count = 1;
    return 0;
  }
  if (m->__data.__owner == t->tid) {
    if (m->__data.__kind == PTHREAD_MUTEX_RECURSIVE) {
      m->__data.__count++;
      return 0;
    }
    if (m->__data.__kind == PTHREAD_MUTEX_ERRORCHECK)
      return EDEADLK;
  }
  return EBUSY;
}

int nl_posix_pthread_mutex_lock(pthread_mutex_t *m) {
  NlThread *t = nl__current;
  if (t == NULL)
    return 0;
  t->call = "pthread_mutex_lock";
  t->block_since = NL_TIME_NEVER;
  for (;;) {
    int r = mutex_try(t, m);
    if (r != EBUSY)
      return r;
    nl__wait_chan(t, m);
    nl__block(t, NL_TIME_NEVER);
  }
}

int nl_posix_pthread_mutex_trylock(pthread_mutex_t *m) {
  NlThread *t = nl__current;
  if (t == NULL)
    return 0;
  int r = mutex_try(t, m);
  return r == EDEADLK ? EBUSY : r;
}

int nl_posix_pthread_mutex_unlock(pthread_mutex_t *m) {
  NlThread *t = nl__current;
  if (t == NULL)
    return 0;
  if (!m->__data.__lock)
    return m->__data.__kind == PTHREAD_MUTEX_NORMAL ? 0 : EPERM;
  if (m->__data.__owner != t->tid && m->__data.__kind != PTHREAD_MUTEX_NORMAL)
    return EPERM;
  if (--m->__data.__count > 0)
    return 0;
  m->__data.__lock = 0;
  m->__data.__owner = 0;
  nl__wake_chan(t->proc, m, FALSE);
  return 0;
}

/* A condition keeps its clock as glibc does: bit 0 of __wrefs set for
 * CLOCK_MONOTONIC (pthread_condattr_setclock), clear for the default
 * CLOCK_REALTIME, so PTHREAD_COND_INITIALIZER is a realtime condition. */
#define NL_COND_MONOTONIC 1u

int nl_posix_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a) {
  memset(c, 0, sizeof *c);
  clockid_t clk = CLOCK_REALTIME;
  if (a != NULL && pthread_condattr_getclock(a, &clk) == 0 &&
      clk == CLOCK_MONOTONIC)
    c->__data.__wrefs |= NL_COND_MONOTONIC;
  return 0;
}

int nl_posix_pthread_cond_destroy(pthread_cond_t *c) {
  return 0;
}

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, NlTime deadline) {
  NlThread *t = nl__current;
  if (t == NULL)
    return EINVAL;
  if (!m->__data.__lock || m->__data.__owner != t->tid)
    return EPERM;
  int count = m->__data.__count;
  m->__data.__count = 1;
  nl_posix_pthread_mutex_unlock(m);
  t->call = "pthread_cond_wait";
  t->block_since = NL_TIME_NEVER;
  nl__wait_chan(t, c);
  gboolean woken = nl__block(t, deadline);
  nl_posix_pthread_mutex_lock(m);
  m->__data.__count = count;
  return woken || deadline == NL_TIME_NEVER ? 0 : ETIMEDOUT;
}

int nl_posix_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  return cond_wait(c, m, NL_TIME_NEVER);
}

int nl_posix_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                    const struct timespec *abstime) {
  if (abstime == NULL || abstime->tv_nsec < 0 ||
      abstime->tv_nsec >= 1000000000)
    return EINVAL;
  /* On the condition's clock: CLOCK_REALTIME unless its attributes
   * chose CLOCK_MONOTONIC (CPython's GIL and locks do). */
  NlTime deadline = abs_deadline((c->__data.__wrefs & NL_COND_MONOTONIC)
                                     ? CLOCK_MONOTONIC
                                     : CLOCK_REALTIME,
                                 abstime);
  return cond_wait(c, m, deadline);
}

/* ---- unnamed semaphores (sem_init), for green threads ---- */

/* The count lives in the sem_t's first word; waiters wait on the
 * semaphore's address, woken in the order they came. */
static unsigned *sem_count(sem_t *s) {
  return (unsigned *)(void *)s;
}

int nl_posix_sem_init(sem_t *s, int pshared, unsigned value) {
  if (value > SEM_VALUE_MAX) {
    errno = EINVAL;
    return -1;
  }
  memset(s, 0, sizeof *s);
  *sem_count(s) = value;
  return 0;
}

int nl_posix_sem_destroy(sem_t *s) {
  return 0;
}

int nl_posix_sem_post(sem_t *s) {
  if (*sem_count(s) == SEM_VALUE_MAX) {
    errno = EOVERFLOW;
    return -1;
  }
  (*sem_count(s))++;
  if (nl__current)
    nl__wake_chan(nl__current->proc, s, FALSE);
  return 0;
}

int nl_posix_sem_getvalue(sem_t *s, int *value) {
  *value = (int)*sem_count(s);
  return 0;
}

static int sem_wait_until(sem_t *s, NlTime deadline, gboolean try) {
  NlThread *t = nl__current;
  while (*sem_count(s) == 0) {
    if (t == NULL || try) {
      errno = EAGAIN;
      return -1;
    }
    if (deadline != NL_TIME_NEVER && now_of(t) >= deadline) {
      errno = ETIMEDOUT;
      return -1;
    }
    t->call = "sem_wait";
    t->block_since = NL_TIME_NEVER;
    nl__wait_chan(t, s);
    nl__block(t, deadline);
  }
  (*sem_count(s))--;
  return 0;
}

int nl_posix_sem_wait(sem_t *s) {
  return sem_wait_until(s, NL_TIME_NEVER, FALSE);
}

int nl_posix_sem_trywait(sem_t *s) {
  return sem_wait_until(s, NL_TIME_NEVER, TRUE);
}

int nl_posix_sem_clockwait(sem_t *s, clockid_t clk,
                           const struct timespec *abstime) {
  if ((clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) || abstime == NULL ||
      abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000) {
    errno = EINVAL;
    return -1;
  }
  return sem_wait_until(s, abs_deadline(clk, abstime), FALSE);
}

int nl_posix_sem_timedwait(sem_t *s, const struct timespec *abstime) {
  return nl_posix_sem_clockwait(s, CLOCK_REALTIME, abstime);
}

int nl_posix_pthread_cond_signal(pthread_cond_t *c) {
  if (nl__current)
    nl__wake_chan(nl__current->proc, c, FALSE);
  return 0;
}

int nl_posix_pthread_cond_broadcast(pthread_cond_t *c) {
  if (nl__current)
    nl__wake_chan(nl__current->proc, c, TRUE);
  return 0;
}

int nl_posix_pthread_once(pthread_once_t *once, void (*fn)(void)) {
  /* Green threads never run at once: a flag is enough, provided @fn does
   * not block (it may not, in natlab, wait for another thread's once). */
  if (*once == PTHREAD_ONCE_INIT) {
    *once = PTHREAD_ONCE_INIT + 1;
    fn();
  }
  return 0;
}

int nl_posix_sched_yield(void) {
  ENTER("sched_yield");
  return 0;
}

/* ---- standard streams ---- */

/* write(@fd, @buf, @len) for the lab's own stdio (printf, puts,
 * perror...): the same call, with its common case -- the descriptor
 * still the process's captured output -- handed straight to the output
 * (what nl_vsock_write does for it), and anything else (a pipe, a file,
 * a closed descriptor) the general write. */
static ssize_t stdio_put(NlThread *t, int fd, const void *buf, size_t len) {
  NlFile *f = nl__fd_get(t->proc, fd);
  if (G_LIKELY(f != NULL && f->kind == NL_FILE_OUTPUT)) {
    nl__proc_output(f->out_proc, f->out_stream, buf, len);
    return (ssize_t)len;
  }
  return ret(nl_vsock_write(t, fd, buf, len));
}

static ssize_t stdio_write(int fd, const void *buf, size_t len) {
  ENTER_WAIT("write", fd);
  return stdio_put(t, fd, buf, len);
}

/* stdio_write(1, @buf, @len) for a text that @one_line says is one whole
 * line (nl_trace_vformat_line): the output does not look for its
 * newlines again. */
static ssize_t stdout_write(const char *buf, size_t len, gboolean one_line) {
  ENTER_WAIT("write", 1);
  NlFile *f = nl__fd_get(t->proc, 1);
  if (G_LIKELY(one_line && f != NULL && f->kind == NL_FILE_OUTPUT)) {
    nl__proc_output_line(f->out_proc, f->out_stream, buf, len);
    return (ssize_t)len;
  }
  return stdio_put(t, 1, buf, len);
}

/* printf(NULL) and puts(NULL): glibc's read the NULL and the program
 * gets SIGSEGV; here the program ends so, without natlab's own code
 * reading address 0. */
static void null_string_crash(const char *s) {
  if (G_UNLIKELY(s == NULL) && nl__current != NULL)
    nl_guard_crash_current(SIGSEGV);
}

int nl_posix_puts(const char *s) {
  nl_seal_check(); /* before allocating (seal.h) */
  null_string_crash(s);
  size_t n = strlen(s);
  char small[512];
  char *line = n < sizeof small ? small : g_malloc(n + 1);
  memcpy(line, s, n);
  line[n] = '\n';
  ssize_t r = stdio_write(1, line, n + 1);
  if (line != small)
    g_free(line);
  return r < 0 ? EOF : (int)(n + 1);
}

int nl_posix_putchar(int c) {
  unsigned char ch = (unsigned char)c;
  return stdio_write(1, &ch, 1) == 1 ? ch : EOF;
}

int nl_posix_getchar(void) {
  unsigned char ch;
  ssize_t r = nl_posix_read(0, &ch, 1);
  return r == 1 ? ch : EOF;
}

/* Descriptor 1 of @p when it is a process's captured output with no line
 * pending; NULL otherwise. */
static inline NlFile *stdout_line_start(NlProc *p) {
  NlFile *f = nl__fd_get(p, 1);
  if (f == NULL || f->kind != NL_FILE_OUTPUT)
    return NULL;
  const GString *line = f->out_proc->line[f->out_stream];
  return line == NULL || line->len == 0 ? f : NULL;
}

/* printf's text made and written: by thread @t, whose call has begun,
 * or with @t NULL, made before the call begins. */
static int vprintf_put(NlThread *t, const char *fmt, va_list ap) {
  /* Most lines fit on the stack: no allocation per printf, and the
   * common conversions without glibc's machinery (the trace's formatter,
   * which falls back to vsnprintf for the rest). */
  char small[512];
  va_list aq;
  va_copy(aq, ap);
  gboolean one_line;
  int k = nl_trace_vformat_line(small, sizeof small, fmt, aq, &one_line);
  va_end(aq);
  if (k >= 0)
    return (int)(t != NULL ? stdio_put(t, 1, small, (size_t)k)
                           : stdout_write(small, (size_t)k, one_line));
  char *s = g_strdup_vprintf(fmt, ap);
  ssize_t n = t != NULL ? stdio_put(t, 1, s, strlen(s))
                        : stdio_write(1, s, strlen(s));
  g_free(s);
  return (int)n;
}

int nl_posix_vprintf(const char *fmt, va_list ap) {
  nl_seal_check(); /* before allocating (seal.h) */
  null_string_crash(fmt);
  /* Whole lines that no record would be made of (a server's line per
   * datagram in a run that shows no output) are not made: printf counts
   * the length it returns, and the call is the same write() otherwise,
   * its cost in virtual time included (nl_trace_vformat_unread says
   * which).  The answer holds once the call has begun (it may have
   * waited for its turn) if descriptor 1, the line pending and the
   * trace's readers are as they were; if not, the text is made then,
   * after the wait, not before it as otherwise. */
  NlThread *cur = nl__current;
  NlFile *f;
  if (cur == NULL || (f = stdout_line_start(cur->proc)) == NULL)
    return vprintf_put(NULL, fmt, ap);
  NlProc *o = f->out_proc;
  int stream = f->out_stream;
  NlTraceReaders readers = nl__proc_output_readers(o, stream);
  if (readers == NL_TRACE_READERS_ALL)
    return vprintf_put(NULL, fmt, ap);
  const NlTrace *tr = nl_world_trace(o->host->world);
  int n = nl_trace_vformat_unread(tr, fmt, ap, readers);
  if (n < 0)
    return vprintf_put(NULL, fmt, ap);
  guint64 at = o->out_readers_at[stream]; /* the trace's count, as of now */
  ENTER_WAIT("write", 1);
  if (G_LIKELY(stdout_line_start(t->proc) == f &&
               nl_trace_readers_changed(tr) == at))
    return n;
  return vprintf_put(t, fmt, ap);
}

static void write_err(const char *s) {
  (void)stdio_write(2, s, strlen(s));
}

void nl_posix_perror(const char *s) {
  nl_seal_check(); /* before allocating (seal.h) */
  int e = errno;
  char *msg = s && *s ? g_strdup_printf("%s: %s\n", s, g_strerror(e))
                      : g_strdup_printf("%s\n", g_strerror(e));
  write_err(msg);
  g_free(msg);
  errno = e;
}

static void vwarn_impl(gboolean with_errno, const char *fmt, va_list ap) {
  nl_seal_check(); /* before allocating (seal.h) */
  int e = errno;
  GString *s = g_string_new(nl_posix_progname());
  g_string_append(s, ": ");
  if (fmt) {
    char *m = g_strdup_vprintf(fmt, ap);
    g_string_append(s, m);
    g_free(m);
    if (with_errno)
      g_string_append(s, ": ");
  }
  if (with_errno)
    g_string_append(s, g_strerror(e));
  g_string_append_c(s, '\n');
  write_err(s->str);
  g_string_free(s, TRUE);
  errno = e;
}

void nl_posix_vwarn(const char *fmt, va_list ap) {
  vwarn_impl(TRUE, fmt, ap);
}
void nl_posix_vwarnx(const char *fmt, va_list ap) {
  vwarn_impl(FALSE, fmt, ap);
}
void nl_posix_verr(int code, const char *fmt, va_list ap) {
  vwarn_impl(TRUE, fmt, ap);
  nl_posix_exit(code);
}
void nl_posix_verrx(int code, const char *fmt, va_list ap) {
  vwarn_impl(FALSE, fmt, ap);
  nl_posix_exit(code);
}
