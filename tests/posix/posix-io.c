/* Descriptors and readiness: pipes, poll, select, epoll (level and edge
 * triggered, one-shot), fcntl, dup, time. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  CHECK("pipe-gives-3-and-4", pipe(p) == 0 && p[0] == 3 && p[1] == 4);
  char buf[64];
  CHECK("pipe-write", write(p[1], "hey", 3) == 3);
  struct pollfd pf = {.fd = p[0], .events = POLLIN};
  CHECK("poll-pipe-readable", poll(&pf, 1, 0) == 1 && pf.revents == POLLIN);
  CHECK("pipe-read", read(p[0], buf, sizeof buf) == 3);
  CHECK("poll-timeout-zero-returns-0", poll(&pf, 1, 0) == 0);
  double t0 = now_ms();
  CHECK("poll-timeout-waits", poll(&pf, 1, 50) == 0 && now_ms() - t0 >= 49.0);
  struct pollfd bad = {.fd = 99, .events = POLLIN};
  CHECK("poll-bad-fd-pollnval", poll(&bad, 1, 0) == 1 &&
                                    bad.revents == POLLNVAL);

  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timeval tv = {0, 0};
  CHECK("select-nothing-ready", select(p[0] + 1, &r, NULL, NULL, &tv) == 0);
  write(p[1], "x", 1);
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  tv.tv_usec = 1000;
  CHECK("select-readable", select(p[0] + 1, &r, NULL, NULL, &tv) == 1 &&
                               FD_ISSET(p[0], &r));
  read(p[0], buf, 1);
  FD_ZERO(&r);
  FD_SET(60, &r);
  CHECK_ERR("select-bad-fd-ebadf", select(61, &r, NULL, NULL, &tv), EBADF);
  CHECK_ERR("select-negative-nfds-einval", select(-1, NULL, NULL, NULL, &tv),
            EINVAL);

  /* epoll */
  int ep = epoll_create1(0);
  CHECK("epoll-create", ep >= 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]}, out[4];
  CHECK("epoll-add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
  CHECK_ERR("epoll-add-twice-eexist", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev),
            EEXIST);
  CHECK_ERR("epoll-mod-missing-enoent",
            epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
  CHECK_ERR("epoll-add-self-einval", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev),
            EINVAL);
  CHECK("epoll-nothing-yet", epoll_wait(ep, out, 4, 0) == 0);
  write(p[1], "ab", 2);
  CHECK("epoll-level-reports", epoll_wait(ep, out, 4, 0) == 1 &&
                                   out[0].data.fd == p[0]);
  CHECK("epoll-level-reports-again", epoll_wait(ep, out, 4, 0) == 1);
  ev.events = EPOLLIN | EPOLLET;
  CHECK("epoll-mod-edge", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0);
  CHECK("epoll-edge-reports-once", epoll_wait(ep, out, 4, 0) == 1);
  CHECK("epoll-edge-then-quiet", epoll_wait(ep, out, 4, 0) == 0);
  write(p[1], "c", 1);
  CHECK("epoll-edge-new-data", epoll_wait(ep, out, 4, 0) == 1);
  read(p[0], buf, sizeof buf);
  ev.events = EPOLLIN | EPOLLONESHOT;
  epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
  write(p[1], "d", 1);
  CHECK("epoll-oneshot-fires", epoll_wait(ep, out, 4, 0) == 1);
  CHECK("epoll-oneshot-disarmed", epoll_wait(ep, out, 4, 0) == 0);
  CHECK("epoll-del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
  t0 = now_ms();
  CHECK("epoll-wait-timeout", epoll_wait(ep, out, 4, 30) == 0 &&
                                  now_ms() - t0 >= 29.0);
  close(ep);

  /* fcntl and dup */
  CHECK("fcntl-nonblock", fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
  read(p[0], buf, sizeof buf);
  CHECK_ERR("nonblocking-pipe-eagain", read(p[0], buf, sizeof buf), EAGAIN);
  int d = dup(p[1]);
  CHECK("dup-lowest-free", d == 5);
  CHECK("dup-shares-pipe", write(d, "z", 1) == 1 &&
                               read(p[0], buf, 1) == 1 && buf[0] == 'z');
  CHECK("fd-cloexec", fcntl(d, F_SETFD, FD_CLOEXEC) == 0 &&
                          fcntl(d, F_GETFD) == FD_CLOEXEC);
  close(d);
  close(p[1]);
  CHECK("eof-when-writers-gone", read(p[0], buf, sizeof buf) == 0);
  /* A full pipe, drained in part and written past the end of its ring:
   * the bytes come out in order. */
  int w[2];
  pipe(w);
  fcntl(w[1], F_SETFL, O_NONBLOCK);
  static unsigned char big[70000], back[70000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (unsigned char)(i * 7 + i / 251);
  CHECK("pipe-fills-at-64k", write(w[1], big, sizeof big) == 65536);
  CHECK("pipe-partial-read", read(w[0], back, 40000) == 40000 &&
                                 memcmp(back, big, 40000) == 0);
  CHECK("pipe-write-wraps", write(w[1], big + 65536, 4464) == 4464 &&
                                write(w[1], big, 25000) == 25000);
  CHECK("pipe-wrapped-read-in-order",
        read(w[0], back, sizeof back) == 55000 &&
            memcmp(back, big + 40000, 30000) == 0 &&
            memcmp(back + 25536, big + 65536, 4464) == 0 &&
            memcmp(back + 30000, big, 25000) == 0);
  close(w[0]);
  close(w[1]);
  int q[2];
  pipe(q);
  close(q[0]);
  CHECK_ERR("write-no-reader-epipe", write(q[1], "x", 1), EPIPE);
  CHECK_ERR("fcntl-bad-fd-ebadf", fcntl(77, F_GETFL), EBADF);

  /* Time */
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec req = {0, 25000000};
  CHECK("nanosleep", nanosleep(&req, NULL) == 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double slept = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
  CHECK("nanosleep-sleeps-25ms", slept >= 25.0 && slept < 2000.0);
  struct timespec badreq = {0, 1000000000};
  CHECK_ERR("nanosleep-bad-nsec-einval", nanosleep(&badreq, NULL), EINVAL);
  CHECK_ERR("clock-gettime-bad-clock-einval", clock_gettime(12345, &a),
            EINVAL);
  return 0;
}
