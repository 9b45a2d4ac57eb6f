/* TCP sockets over loopback: handshake through listen/accept/connect,
 * non-blocking connect, refused connections, short reads, half-close,
 * EPIPE, TIME_WAIT and SO_REUSEADDR. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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

static int listener(int reuse, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (reuse)
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  struct sockaddr_in a = lo(port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0) {
    close(s);
    return -1;
  }
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int l = listener(0, 0);
  CHECK("listen-on-ephemeral-port", l >= 0);
  int port = port_of(l);
  struct sockaddr_in addr = lo(port);

  /* Non-blocking connect: EINPROGRESS, then writable, SO_ERROR 0. */
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK_ERR("nonblocking-connect-einprogress",
            connect(c, (struct sockaddr *)&addr, sizeof addr), EINPROGRESS);
  struct pollfd p = {.fd = c, .events = POLLOUT};
  CHECK("connect-completes-pollout", poll(&p, 1, 1000) == 1 &&
                                         (p.revents & POLLOUT));
  int err = -1;
  socklen_t el = sizeof err;
  CHECK("so-error-zero-after-connect",
        getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0);
  /* Linux completes the state change on the next connect(): 0 once. */
  CHECK("connect-again-returns-0-once",
        connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK_ERR("connect-third-time-eisconn",
            connect(c, (struct sockaddr *)&addr, sizeof addr), EISCONN);
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  int s = accept(l, (struct sockaddr *)&peer, &plen);
  CHECK("accept-returns-new-fd", s > l);
  CHECK("accept-reports-client-port", ntohs(peer.sin_port) == port_of(c));
  fcntl(l, F_SETFL, O_NONBLOCK);
  CHECK_ERR("accept-queue-empty-nonblocking", accept(l, NULL, NULL), EAGAIN);
  fcntl(l, F_SETFL, 0);

  /* Bytes, not messages: two sends may arrive as one read. */
  send(c, "abc", 3, 0);
  send(c, "defg", 4, 0);
  usleep(20000);
  char buf[64];
  int avail = 0;
  CHECK("fionread-counts-bytes", ioctl(s, FIONREAD, &avail) == 0 &&
                                     avail == 7);
  ssize_t n = recv(s, buf, sizeof buf, 0);
  CHECK("stream-merges-sends", n == 7 && memcmp(buf, "abcdefg", 7) == 0);
  send(c, "0123456789", 10, 0);
  usleep(20000);
  CHECK("msg-waitall-fills-buffer", recv(s, buf, 10, MSG_WAITALL) == 10);
  CHECK_ERR("empty-nonblocking-recv-eagain",
            recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  double t0 = now_ms();
  int r = (int)recv(s, buf, sizeof buf, 0);
  int e = errno;
  double dt = now_ms() - t0;
  CHECK("stream-so-rcvtimeo-eagain", r < 0 && e == EAGAIN);
  CHECK("stream-so-rcvtimeo-waits-100ms", dt >= 99.0 && dt < 2000.0);
  tv.tv_usec = 0;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  /* Half-close: the reader sees EOF; the other direction still works. */
  CHECK("shutdown-wr", shutdown(c, SHUT_WR) == 0);
  usleep(20000);
  CHECK("eof-after-peer-shutdown", recv(s, buf, sizeof buf, 0) == 0);
  CHECK("other-direction-still-open", send(s, "back", 4, 0) == 4);
  usleep(20000);
  CHECK("half-closed-socket-reads", recv(c, buf, sizeof buf, 0) == 4);
  CHECK_ERR("send-after-shutdown-epipe", send(c, "x", 1, 0), EPIPE);
  close(c);
  usleep(20000);
  close(s);

  /* Connection refused. */
  int d = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in nobody = lo(port_of(l));
  close(l);
  usleep(20000);
  CHECK_ERR("connect-closed-port-econnrefused",
            connect(d, (struct sockaddr *)&nobody, sizeof nobody),
            ECONNREFUSED);
  close(d);

  /* TIME_WAIT: the side that closed first keeps the port.  The old server
   * set SO_REUSEADDR, as the textbook's does; a new one may take the port
   * only if it sets it too. */
  int l2 = listener(1, 0);
  int port2 = port_of(l2);
  struct sockaddr_in a2 = lo(port2);
  int c2 = socket(AF_INET, SOCK_STREAM, 0);
  connect(c2, (struct sockaddr *)&a2, sizeof a2);
  int s2 = accept(l2, NULL, NULL);
  close(s2); /* the server closes first: its side goes to TIME_WAIT */
  usleep(20000);
  close(c2);
  close(l2);
  usleep(50000);
  CHECK_ERR("bind-in-time-wait-eaddrinuse", listener(0, port2), EADDRINUSE);
  int l3 = listener(1, port2);
  CHECK("bind-in-time-wait-with-so-reuseaddr", l3 >= 0);
  close(l3);

  /* Options. */
  int t = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1, v = 0;
  socklen_t vl = sizeof v;
  CHECK("tcp-nodelay-set",
        setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  CHECK("tcp-nodelay-get",
        getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v == 1);
  CHECK_ERR("listen-on-udp-eopnotsupp",
            listen(socket(AF_INET, SOCK_DGRAM, 0), 1), EOPNOTSUPP);
  plen = sizeof peer;
  CHECK_ERR("getpeername-unconnected-enotconn",
            getpeername(t, (struct sockaddr *)&peer, &plen), ENOTCONN);
  CHECK_ERR("send-unconnected-stream-epipe", send(t, "x", 1, 0), EPIPE);
  CHECK_ERR("recv-unconnected-stream-enotconn", recv(t, buf, 1, 0), ENOTCONN);
  return 0;
}
