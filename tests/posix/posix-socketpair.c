/* socketpair(AF_UNIX, SOCK_STREAM): a byte stream each way between two
 * descriptors, as CPython's asyncio uses one to wake its loop.  Also
 * FIOCLEX, which CPython sets on every file it opens. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int sv[2];
  char buf[64];
  CHECK("socketpair-gives-3-and-4",
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && sv[0] == 3 &&
            sv[1] == 4);
  CHECK("write-a-read-b", write(sv[0], "ping", 4) == 4 &&
                              read(sv[1], buf, sizeof buf) == 4 &&
                              memcmp(buf, "ping", 4) == 0);
  CHECK("send-b-recv-a", send(sv[1], "pong!", 5, 0) == 5 &&
                             recv(sv[0], buf, sizeof buf, 0) == 5 &&
                             memcmp(buf, "pong!", 5) == 0);
  CHECK_ERR("recv-dontwait-eagain", recv(sv[0], buf, 1, MSG_DONTWAIT),
            EAGAIN);
  struct pollfd pf = {.fd = sv[0], .events = POLLIN | POLLOUT};
  CHECK("poll-writable-only",
        poll(&pf, 1, 0) == 1 && pf.revents == POLLOUT);
  write(sv[1], "abc", 3);
  int n = -1;
  CHECK("fionread-3", ioctl(sv[0], FIONREAD, &n) == 0 && n == 3);
  pf.revents = 0;
  CHECK("poll-readable-and-writable",
        poll(&pf, 1, 0) == 1 && pf.revents == (POLLIN | POLLOUT));
  CHECK("stream-split-read", read(sv[0], buf, 2) == 2 &&
                                 read(sv[0], buf, 64) == 1 && buf[0] == 'c');

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = sv[1]}, out[2];
  CHECK("epoll-add", epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev) == 0);
  CHECK("epoll-nothing", epoll_wait(ep, out, 2, 0) == 0);
  send(sv[0], "\0", 1, 0);
  CHECK("epoll-wakes", epoll_wait(ep, out, 2, 0) == 1 &&
                           out[0].data.fd == sv[1] &&
                           out[0].events == EPOLLIN);
  read(sv[1], buf, sizeof buf);

  int type = -1, domain = -1;
  socklen_t len = sizeof type;
  CHECK("so-type-stream",
        getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
            type == SOCK_STREAM && len == sizeof type);
  len = sizeof domain;
  CHECK("so-domain-unix",
        getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
            domain == AF_UNIX);
  struct sockaddr_un un;
  len = sizeof un;
  CHECK("getsockname-unnamed",
        getsockname(sv[0], (struct sockaddr *)&un, &len) == 0 &&
            len == sizeof(sa_family_t) && un.sun_family == AF_UNIX);
  len = sizeof un;
  CHECK("getpeername-unnamed",
        getpeername(sv[0], (struct sockaddr *)&un, &len) == 0 &&
            len == sizeof(sa_family_t));

  CHECK("shutdown-wr", shutdown(sv[0], SHUT_WR) == 0);
  CHECK("peer-reads-eof", read(sv[1], buf, sizeof buf) == 0);
  CHECK("other-way-still-works", write(sv[1], "x", 1) == 1 &&
                                     read(sv[0], buf, 1) == 1);
  CHECK("close-peer", close(sv[1]) == 0);
  CHECK("read-after-peer-close-eof", read(sv[0], buf, sizeof buf) == 0);
  pf.events = POLLIN | POLLOUT | POLLRDHUP;
  pf.revents = 0;
  CHECK("poll-after-peer-close",
        poll(&pf, 1, 0) == 1 &&
            pf.revents == (POLLIN | POLLOUT | POLLHUP | POLLRDHUP));
  close(sv[0]);

  CHECK("socketpair-nonblock-cloexec",
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   sv) == 0 &&
            (fcntl(sv[0], F_GETFL) & O_NONBLOCK) &&
            (fcntl(sv[1], F_GETFD) & FD_CLOEXEC));
  CHECK_ERR("nonblock-read-eagain", read(sv[0], buf, 1), EAGAIN);
  close(sv[1]);
  CHECK_ERR("write-to-closed-epipe", write(sv[0], "x", 1), EPIPE);
  close(sv[0]);
  CHECK_ERR("socketpair-inet-eopnotsupp",
            socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
  CHECK_ERR("socketpair-bad-protocol",
            socketpair(AF_UNIX, SOCK_STREAM, 7, sv), EPROTONOSUPPORT);

  int p[2];
  pipe(p);
  CHECK("fioclex-null-arg", ioctl(p[0], FIOCLEX, NULL) == 0 &&
                                (fcntl(p[0], F_GETFD) & FD_CLOEXEC));
  CHECK("fionclex-null-arg", ioctl(p[0], FIONCLEX, NULL) == 0 &&
                                 !(fcntl(p[0], F_GETFD) & FD_CLOEXEC));
  CHECK_ERR("fioclex-bad-fd-ebadf", ioctl(77, FIOCLEX, NULL), EBADF);
  return 0;
}
