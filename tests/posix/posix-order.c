/* Argument checks in Linux's order: a call given several bad arguments
 * fails with the errno of the check Linux makes first (the descriptor
 * before the counts, the flags before the socket type, the level before
 * the option...), and accept() out of descriptors leaves the connection
 * queued.  Only orders that have been stable across kernel versions are
 * checked here (the descriptor/flags order of accept4() and epoll_wait()
 * changed in 5.x, so it is left out). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

/* Counts the compiler cannot see through (it would warn of the bad calls
 * this file makes on purpose). */
static volatile int many = 2000, minus_one = -1;

static void order_checks(void) {
  char buf[16];
  struct iovec iov[2] = {{buf, 8}, {buf + 8, 8}};
  struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(9)};
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct sockaddr_in v6 = lo;
  v6.sin_family = AF_INET6;
  int p[2];
  CHECK("pipe", pipe(p) == 0);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  int t = socket(AF_INET, SOCK_STREAM, 0);
  int ep = epoll_create1(0);
  CHECK("sockets", u >= 0 && t >= 0 && ep >= 0);

  /* readv/writev: the descriptor and its mode, then the count. */
  CHECK_ERR("readv-badfd-before-iovcnt", readv(99, iov, many), EBADF);
  CHECK_ERR("readv-badfd-before-negative-iovcnt", readv(99, iov, minus_one), EBADF);
  CHECK_ERR("writev-badfd-before-iovcnt", writev(99, iov, many), EBADF);
  CHECK_ERR("readv-write-end-before-iovcnt", readv(p[1], iov, many), EBADF);
  CHECK_ERR("writev-read-end-before-iovcnt", writev(p[0], iov, many), EBADF);
  CHECK_ERR("readv-iovcnt-over-1024", readv(p[0], iov, many), EINVAL);
  CHECK_ERR("writev-iovcnt-negative", writev(u, iov, minus_one), EINVAL);
  struct iovec neg[1] = {{buf, (size_t)-1}};
  CHECK_ERR("writev-negative-iov-len", writev(p[1], neg, 1), EINVAL);
  CHECK("readv-zero-iovcnt", readv(p[0], iov, 0) == 0);
  CHECK("writev-zero-iovcnt", writev(p[1], iov, 0) == 0);

  /* sendmsg/recvmsg: the socket, then the message. */
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2000};
  CHECK_ERR("sendmsg-badfd-before-iovlen", sendmsg(99, &m, 0), EBADF);
  CHECK_ERR("recvmsg-badfd-before-iovlen", recvmsg(99, &m, 0), EBADF);
  CHECK_ERR("sendmsg-notsock-before-iovlen", sendmsg(p[1], &m, 0), ENOTSOCK);
  CHECK_ERR("recvmsg-notsock-before-iovlen", recvmsg(p[0], &m, 0), ENOTSOCK);
  CHECK_ERR("sendmsg-iovlen-over-1024", sendmsg(u, &m, 0), EMSGSIZE);
  CHECK_ERR("recvmsg-iovlen-over-1024", recvmsg(u, &m, MSG_DONTWAIT),
            EMSGSIZE);

  /* send/recv on something that is not a socket. */
  CHECK_ERR("send-notsock", send(p[1], buf, 1, 0), ENOTSOCK);
  CHECK_ERR("recv-notsock", recv(p[0], buf, 1, 0), ENOTSOCK);
  CHECK_ERR("sendto-notsock", sendto(p[1], buf, 1, 0, NULL, 0), ENOTSOCK);
  CHECK_ERR("recvfrom-notsock", recvfrom(p[0], buf, 1, 0, NULL, NULL),
            ENOTSOCK);
  CHECK_ERR("send-badfd", send(99, buf, 1, 0), EBADF);

  /* socket(): flags, then domain, then type, then protocol. */
  CHECK_ERR("socket-flags-before-domain", socket(9999, 9999, 0), EINVAL);
  CHECK_ERR("socket-domain", socket(9999, SOCK_STREAM, 0), EAFNOSUPPORT);
  CHECK_ERR("socket-type-out-of-range", socket(AF_INET, 9999, 0), EINVAL);
  CHECK_ERR("socket-unknown-flag", socket(AF_INET, SOCK_STREAM | 0x100000, 0),
            EINVAL);
  CHECK_ERR("socket-protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP),
            EPROTONOSUPPORT);

  /* bind/connect: descriptor, socket, length, family. */
  CHECK_ERR("bind-badfd-before-len", bind(99, (struct sockaddr *)&lo, 1),
            EBADF);
  CHECK_ERR("bind-notsock-before-len", bind(p[0], (struct sockaddr *)&lo, 1),
            ENOTSOCK);
  CHECK_ERR("bind-len-before-family", bind(u, (struct sockaddr *)&v6, 1),
            EINVAL);
  CHECK_ERR("bind-family", bind(u, (struct sockaddr *)&v6, sizeof v6),
            EAFNOSUPPORT);
  struct sockaddr_in unspec_lo = lo;
  unspec_lo.sin_family = AF_UNSPEC;
  CHECK_ERR("bind-unspec-not-any", bind(u, (struct sockaddr *)&unspec_lo,
                                        sizeof unspec_lo),
            EAFNOSUPPORT);
  struct sockaddr_in unspec_any = {.sin_family = AF_UNSPEC};
  CHECK("bind-unspec-any-as-inet", bind(u, (struct sockaddr *)&unspec_any,
                                        sizeof unspec_any) == 0);
  CHECK_ERR("connect-badfd-before-len",
            connect(99, (struct sockaddr *)&lo, 1), EBADF);
  CHECK_ERR("connect-notsock-before-len",
            connect(p[0], (struct sockaddr *)&lo, 1), ENOTSOCK);
  CHECK_ERR("connect-len-before-family",
            connect(t, (struct sockaddr *)&v6, 1), EINVAL);

  /* listen/accept. */
  CHECK_ERR("listen-notsock", listen(p[0], 1), ENOTSOCK);
  CHECK_ERR("listen-udp", listen(u, 1), EOPNOTSUPP);
  CHECK_ERR("accept-notsock", accept(p[0], NULL, NULL), ENOTSOCK);
  CHECK_ERR("accept4-flags-before-notsock", accept4(p[0], NULL, NULL, 0x4000),
            EINVAL);
  CHECK_ERR("accept4-flags-before-type", accept4(u, NULL, NULL, 0x4000),
            EINVAL);
  CHECK_ERR("accept-udp", accept(u, NULL, NULL), EOPNOTSUPP);
  CHECK_ERR("accept-not-listening", accept(t, NULL, NULL), EINVAL);

  /* Flags a protocol refuses come before its other checks. */
  int fresh = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK_ERR("send-oob-udp-before-destination", send(fresh, buf, 1, MSG_OOB),
            EOPNOTSUPP);
  close(fresh);

  /* shutdown: socket, then how, then state. */
  CHECK_ERR("shutdown-badfd-before-how", shutdown(99, 99), EBADF);
  CHECK_ERR("shutdown-notsock-before-how", shutdown(p[0], 99), ENOTSOCK);
  CHECK_ERR("shutdown-how-before-state", shutdown(t, 99), EINVAL);
  CHECK_ERR("shutdown-unconnected", shutdown(t, SHUT_RD), ENOTCONN);

  /* Address lengths. */
  struct sockaddr_in sa;
  socklen_t negl = (socklen_t)-1, l = sizeof sa;
  CHECK_ERR("getsockname-negative-len",
            getsockname(u, (struct sockaddr *)&sa, &negl), EINVAL);
  CHECK_ERR("getsockname-notsock", getsockname(p[0], (struct sockaddr *)&sa,
                                               &l),
            ENOTSOCK);
  CHECK_ERR("getpeername-state-before-len",
            getpeername(t, (struct sockaddr *)&sa, &negl), ENOTCONN);

  /* Socket options: socket, level, length, name. */
  int one = 1, v = 0;
  socklen_t vl = sizeof v;
  CHECK_ERR("setsockopt-badfd-before-len",
            setsockopt(99, SOL_SOCKET, SO_REUSEADDR, &one, 1), EBADF);
  CHECK_ERR("setsockopt-notsock", setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR,
                                             &one, sizeof one),
            ENOTSOCK);
  CHECK_ERR("setsockopt-len", setsockopt(u, SOL_SOCKET, SO_REUSEADDR, &one, 1),
            EINVAL);
  CHECK_ERR("setsockopt-unknown-level-udp",
            setsockopt(u, 9999, 1, &one, sizeof one), ENOPROTOOPT);
  CHECK_ERR("setsockopt-unknown-level-tcp",
            setsockopt(t, 9999, 1, &one, sizeof one), ENOPROTOOPT);
  CHECK_ERR("setsockopt-tcp-len-before-name",
            setsockopt(t, IPPROTO_TCP, 9999, &one, 1), EINVAL);
  CHECK_ERR("setsockopt-tcp-option-on-udp",
            setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one),
            ENOPROTOOPT);
  CHECK_ERR("getsockopt-negative-len",
            getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &negl), EINVAL);
  CHECK_ERR("getsockopt-unknown-level-udp", getsockopt(u, 9999, 1, &v, &vl),
            EOPNOTSUPP);
  CHECK_ERR("getsockopt-unknown-level-tcp", getsockopt(t, 9999, 1, &v, &vl),
            EOPNOTSUPP);
  CHECK_ERR("getsockopt-unknown-name", getsockopt(u, SOL_SOCKET, 9999, &v, &vl),
            ENOPROTOOPT);
  CHECK_ERR("getsockopt-other-protocol-level-tcp",
            getsockopt(t, IPPROTO_UDP, 1, &v, &vl), EOPNOTSUPP);
  CHECK_ERR("getsockopt-other-protocol-level-udp",
            getsockopt(u, IPPROTO_TCP, TCP_NODELAY, &v, &vl), EOPNOTSUPP);
  CHECK_ERR("getsockopt-ipv6-level-on-inet",
            getsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl), EOPNOTSUPP);
  CHECK_ERR("getsockopt-level-before-len", getsockopt(u, 9999, 1, &v, &negl),
            EOPNOTSUPP);
  CHECK_ERR("getsockopt-len-before-name",
            getsockopt(u, SOL_SOCKET, 9999, &v, &negl), EINVAL);
  CHECK_ERR("getsockopt-ip-negative-len",
            getsockopt(u, IPPROTO_IP, IP_TTL, &v, &negl), EINVAL);
  CHECK_ERR("getsockopt-tcp-negative-len",
            getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &negl), EINVAL);
  CHECK_ERR("getsockopt-null-len", getsockopt(u, SOL_SOCKET, SO_TYPE, &v, NULL),
            EFAULT);
  int t6 = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK_ERR("getsockopt-unknown-level-inet6", getsockopt(t6, 9999, 1, &v, &vl),
            ENOPROTOOPT);
  close(t6);
  CHECK_ERR("setsockopt-ipv6-level-on-inet",
            setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one),
            ENOPROTOOPT);

  /* Descriptors. */
  CHECK_ERR("dup2-negative-target", dup2(u, -1), EBADF);
  CHECK_ERR("dup2-huge-target", dup2(u, 1 << 20), EBADF);
  CHECK_ERR("fcntl-badfd-before-cmd", fcntl(99, 9999), EBADF);
  CHECK_ERR("fcntl-cmd", fcntl(u, 9999), EINVAL);
  CHECK_ERR("ioctl-badfd", ioctl(99, FIONREAD, &v), EBADF);
  struct epoll_event ev = {.events = EPOLLIN};
  CHECK_ERR("epoll-ctl-badfd-before-op", epoll_ctl(ep, 99, 98, &ev), EBADF);
  CHECK_ERR("epoll-ctl-op", epoll_ctl(ep, 99, u, &ev), EINVAL);
  CHECK_ERR("epoll-ctl-not-epoll", epoll_ctl(u, EPOLL_CTL_ADD, t, &ev),
            EINVAL);
  CHECK_ERR("read-epoll", read(ep, buf, 1), EINVAL);
  CHECK_ERR("write-epoll", write(ep, buf, 1), EINVAL);
  CHECK_ERR("readv-epoll-mode-before-iovcnt", readv(ep, iov, many), EINVAL);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(60, &r);
  struct timeval bad = {0, -1};
  CHECK_ERR("select-timeout-before-fds", select(61, &r, NULL, NULL, &bad),
            EINVAL);
  close(p[0]);
  close(p[1]);
  close(u);
  close(t);
  close(ep);
}

/* accept() with no descriptor left fails with EMFILE and leaves the
 * connection queued: the listener stays readable and a later accept, with
 * a descriptor free again, gets it, whole. */
static void accept_emfile(void) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK("emfile-listen", bind(l, (struct sockaddr *)&a, sizeof a) == 0 &&
                             listen(l, 4) == 0);
  socklen_t al = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &al);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("emfile-connect", connect(c, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK("emfile-send", send(c, "queued", 6, 0) == 6);
  struct rlimit old, lim;
  getrlimit(RLIMIT_NOFILE, &old);
  lim = old;
  lim.rlim_cur = 16;
  CHECK("emfile-setrlimit", setrlimit(RLIMIT_NOFILE, &lim) == 0);
  int fill[16], n = 0, fd;
  while (n < 16 && (fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0)
    fill[n++] = fd;
  CHECK("emfile-descriptors-used-up", n > 0 && errno == EMFILE);
  CHECK_ERR("emfile-accept", accept(l, NULL, NULL), EMFILE);
  struct pollfd pf = {.fd = l, .events = POLLIN};
  CHECK("emfile-listener-still-readable",
        poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN));
  CHECK_ERR("emfile-accept-again", accept4(l, NULL, NULL, SOCK_NONBLOCK),
            EMFILE);
  close(fill[--n]);
  int s = accept(l, NULL, NULL);
  CHECK("emfile-accept-after-close", s >= 0);
  char buf[16] = {0};
  CHECK("emfile-connection-intact",
        recv(s, buf, sizeof buf, 0) == 6 && memcmp(buf, "queued", 6) == 0);
  CHECK("emfile-connection-answers", send(s, "ok", 2, 0) == 2 &&
                                         recv(c, buf, sizeof buf, 0) == 2);
  while (n > 0)
    close(fill[--n]);
  close(s);
  close(c);
  close(l);
  setrlimit(RLIMIT_NOFILE, &old);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  order_checks();
  accept_emfile();
  return 0;
}
