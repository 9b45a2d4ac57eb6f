/* UDP sockets: binding, ports, errors, timeouts, truncation, ICMP. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

static struct sockaddr_in lo(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int port_of(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  return ntohs(a.sin_port);
}

int main(void) {
  int a = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK("first-socket-is-fd-3", a == 3);
  struct sockaddr_in any = lo(0);
  CHECK("bind-port-0", bind(a, (struct sockaddr *)&any, sizeof any) == 0);
  int pa = port_of(a);
  CHECK("ephemeral-port-in-linux-range", pa >= 32768 && pa <= 60999);
  CHECK_ERR("bind-twice-einval", bind(a, (struct sockaddr *)&any, sizeof any),
            EINVAL);

  int b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in same = lo(pa);
  CHECK_ERR("bind-used-port-eaddrinuse",
            bind(b, (struct sockaddr *)&same, sizeof same), EADDRINUSE);
  struct sockaddr_in other = lo(0);
  other.sin_addr.s_addr = htonl(0x0a636363); /* not ours */
  CHECK_ERR("bind-foreign-address-eaddrnotavail",
            bind(b, (struct sockaddr *)&other, sizeof other), EADDRNOTAVAIL);
  CHECK_ERR("bind-short-addrlen-einval",
            bind(b, (struct sockaddr *)&any, 4), EINVAL);

  /* Datagrams keep their boundaries. */
  CHECK("sendto-returns-length",
        sendto(b, "hello", 5, 0, (struct sockaddr *)&same, sizeof same) == 5);
  CHECK("sendto-second", sendto(b, "world!", 6, 0, (struct sockaddr *)&same,
                                sizeof same) == 6);
  char buf[64];
  struct sockaddr_in from;
  socklen_t flen = sizeof from;
  int avail = -1;
  usleep(1000);
  CHECK("fionread-next-datagram-size", ioctl(a, FIONREAD, &avail) == 0 &&
                                           avail == 5);
  CHECK("msg-peek-leaves-it", recv(a, buf, sizeof buf, MSG_PEEK) == 5);
  ssize_t n = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
  CHECK("recvfrom-one-datagram", n == 5 && memcmp(buf, "hello", 5) == 0);
  CHECK("recvfrom-source-is-sender",
        flen == sizeof from && ntohs(from.sin_port) == port_of(b) &&
            from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  n = recv(a, buf, 3, 0);
  CHECK("short-buffer-truncates", n == 3 && memcmp(buf, "wor", 3) == 0);
  CHECK_ERR("rest-of-datagram-discarded", recv(a, buf, sizeof buf, MSG_DONTWAIT),
            EAGAIN);
  sendto(b, "0123456789", 10, 0, (struct sockaddr *)&same, sizeof same);
  usleep(1000);
  CHECK("msg-trunc-reports-real-length",
        recv(a, buf, 4, MSG_TRUNC) == 10);

  /* Non-blocking and timeouts. */
  int fl = fcntl(a, F_GETFL);
  CHECK("fcntl-set-nonblock", fcntl(a, F_SETFL, fl | O_NONBLOCK) == 0 &&
                                  (fcntl(a, F_GETFL) & O_NONBLOCK));
  CHECK_ERR("nonblocking-empty-eagain", recv(a, buf, sizeof buf, 0), EAGAIN);
  fcntl(a, F_SETFL, fl);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
  CHECK("so-rcvtimeo-set",
        setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  double t0 = now_ms();
  int r = (int)recv(a, buf, sizeof buf, 0);
  int e = errno;
  double dt = now_ms() - t0;
  CHECK("so-rcvtimeo-eagain", r < 0 && e == EAGAIN);
  CHECK("so-rcvtimeo-waits-200ms", dt >= 199.0 && dt < 2000.0);
  struct timeval bad = {.tv_sec = 0, .tv_usec = 1000000};
  CHECK_ERR("so-rcvtimeo-bad-usec-edom",
            setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad), EDOM);

  /* Options. */
  int v = 4096;
  socklen_t vl = sizeof v;
  setsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  getsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, &vl);
  CHECK("so-rcvbuf-doubled", v == 8192);
  vl = sizeof v;
  CHECK("so-type-dgram", getsockopt(a, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 &&
                             v == SOCK_DGRAM);
  CHECK_ERR("tcp-option-on-udp-enoprotoopt",
            setsockopt(a, IPPROTO_TCP, 1 /* TCP_NODELAY */, &v, sizeof v),
            ENOPROTOOPT);

  /* Addresses. */
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  CHECK_ERR("getpeername-unconnected-enotconn",
            getpeername(a, (struct sockaddr *)&peer, &plen), ENOTCONN);
  CHECK_ERR("send-unconnected-edestaddrreq", send(a, "x", 1, 0), EDESTADDRREQ);

  /* A connected socket learns of ICMP port unreachable. */
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  int d = socket(AF_INET, SOCK_DGRAM, 0);
  bind(d, (struct sockaddr *)&any, sizeof any);
  struct sockaddr_in closed = lo(port_of(d));
  close(d); /* nobody listens there now */
  CHECK("connect-udp", connect(c, (struct sockaddr *)&closed,
                               sizeof closed) == 0);
  CHECK("send-connected", send(c, "ping", 4, 0) == 4);
  usleep(10000);
  CHECK_ERR("recv-after-port-unreachable-econnrefused",
            recv(c, buf, sizeof buf, MSG_DONTWAIT), ECONNREFUSED);
  CHECK_ERR("error-reported-once", recv(c, buf, sizeof buf, MSG_DONTWAIT),
            EAGAIN);

  /* Descriptors. */
  CHECK("close-ok", close(c) == 0);
  CHECK_ERR("close-twice-ebadf", close(c), EBADF);
  CHECK_ERR("recv-on-closed-ebadf", recv(c, buf, 1, 0), EBADF);
  CHECK_ERR("socket-bad-family-eafnosupport", socket(12345, SOCK_DGRAM, 0),
            EAFNOSUPPORT);
  CHECK_ERR("socket-udp-with-tcp-proto-eprotonosupport",
            socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
  CHECK("lowest-free-fd-reused", socket(AF_INET, SOCK_DGRAM, 0) == c);
  close(a);
  close(b);
  return 0;
}
