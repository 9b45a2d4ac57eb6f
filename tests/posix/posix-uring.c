/* io_uring through liburing, as this machine's Linux answers it: every
 * check runs on the real kernel over 127.0.0.1 (built with -luring) and in
 * the lab (the lab answers liburing's calls), and the two outcome lists
 * must be the same.  Sockets talk over 127.0.0.1 on one host. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static struct io_uring ring;

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int udp_bound(uint16_t port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = loopback(port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  return s;
}

static struct io_uring_sqe *sqe(void) {
  return io_uring_get_sqe(&ring);
}

/* Submits what is queued; returns what io_uring_submit returned. */
static int submit(void) {
  return io_uring_submit(&ring);
}

/* The next completion, waiting up to @ms; res and user_data out. */
static int next(int ms, int *res, __u64 *ud) {
  struct io_uring_cqe *c = NULL;
  struct __kernel_timespec ts = {ms / 1000, (ms % 1000) * 1000000LL};
  int e = io_uring_wait_cqe_timeout(&ring, &c, &ts);
  if (e != 0)
    return e;
  *res = c->res;
  *ud = c->user_data;
  io_uring_cqe_seen(&ring, c);
  return 0;
}

/* Whether nothing has completed. */
static int nothing_yet(void) {
  struct io_uring_cqe *c = NULL;
  return io_uring_peek_cqe(&ring, &c) == -EAGAIN;
}

static void send_to(int s, uint16_t port, const char *text) {
  struct sockaddr_in a = loopback(port);
  sendto(s, text, strlen(text), 0, (struct sockaddr *)&a, sizeof a);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /* A kernel (or a sandbox) may refuse io_uring: say so, and the test
   * checks the lab's side alone. */
  struct io_uring probe;
  int pe = io_uring_queue_init(2, &probe, 0);
  if (pe == -ENOSYS || pe == -EPERM || pe == -EACCES) {
    printf("UNAVAILABLE io_uring_queue_init: %s\n", strerror(-pe));
    return 0;
  }
  if (pe == 0)
    io_uring_queue_exit(&probe);
  int res = 0;
  __u64 ud = 0;
  struct io_uring bad;
  CHECK("io_uring_queue_init(0): -EINVAL",
        io_uring_queue_init(0, &bad, 0) == -EINVAL);
  CHECK("io_uring_queue_init(6) rounds up to 8",
        io_uring_queue_init(6, &ring, 0) == 0 && ring.sq.ring_entries == 8);
  CHECK("the completion ring is twice the submission ring",
        ring.cq.ring_entries == 16);
  CHECK("the ring has a descriptor", ring.ring_fd >= 0);
  CHECK("nothing completed at first", nothing_yet());
  CHECK("io_uring_submit with nothing queued: 0", submit() == 0);

  /* NOP, order, user_data. */
  struct io_uring_sqe *s = sqe();
  io_uring_prep_nop(s);
  s->user_data = 11;
  s = sqe();
  io_uring_prep_nop(s);
  s->user_data = 12;
  CHECK("io_uring_submit returns the number submitted", submit() == 2);
  CHECK("two completions ready", io_uring_cq_ready(&ring) == 2);
  CHECK("NOP completes with 0 and its user_data",
        next(100, &res, &ud) == 0 && res == 0 && ud == 11);
  CHECK("completions come in submission order",
        next(100, &res, &ud) == 0 && ud == 12);
  CHECK("wait with nothing pending: -ETIME after the timeout",
        next(20, &res, &ud) == -ETIME);

  /* Errors are completions. */
  char buf[256];
  s = sqe();
  io_uring_prep_recv(s, 999, buf, sizeof buf, 0);
  s->user_data = 20;
  submit();
  CHECK("recv on a bad descriptor completes with -EBADF",
        next(100, &res, &ud) == 0 && ud == 20 && res == -EBADF);
  s = sqe();
  io_uring_prep_nop(s);
  s->opcode = 250;
  s->user_data = 21;
  submit();
  CHECK("an unknown opcode completes with -EINVAL",
        next(100, &res, &ud) == 0 && ud == 21 && res == -EINVAL);

  /* UDP: recv waits for data, also on a non-blocking socket. */
  int u1 = udp_bound(7201), u2 = udp_bound(7202);
  fcntl(u1, F_SETFL, O_NONBLOCK);
  memset(buf, 0, sizeof buf);
  s = sqe();
  io_uring_prep_recv(s, u1, buf, sizeof buf, 0);
  s->user_data = 30;
  submit();
  usleep(20000);
  CHECK("recv with no data stays pending (even on an O_NONBLOCK socket)",
        nothing_yet());
  send_to(u2, 7201, "hello");
  CHECK("recv completes when a datagram arrives, res = its length",
        next(1000, &res, &ud) == 0 && ud == 30 && res == 5 &&
            memcmp(buf, "hello", 5) == 0);
  struct sockaddr_in to = loopback(7201);
  connect(u2, (struct sockaddr *)&to, sizeof to);
  s = sqe();
  io_uring_prep_send(s, u2, "datagram", 8, 0);
  s->user_data = 31;
  s = sqe();
  io_uring_prep_read(s, u1, buf, sizeof buf, 0);
  s->user_data = 32;
  submit();
  int r31 = 0, r32 = 0;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 31)
      r31 = res;
    if (ud == 32)
      r32 = res;
  }
  CHECK("send on a connected datagram socket: res = bytes sent", r31 == 8);
  CHECK("read on a socket: res = bytes read", r32 == 8);

  /* sendmsg / recvmsg with addresses. */
  struct sockaddr_in from;
  struct iovec iv = {buf, sizeof buf};
  struct msghdr mh = {.msg_name = &from,
                      .msg_namelen = sizeof from,
                      .msg_iov = &iv,
                      .msg_iovlen = 1};
  s = sqe();
  io_uring_prep_recvmsg(s, u1, &mh, 0);
  s->user_data = 40;
  struct sockaddr_in dst = loopback(7201);
  struct iovec ov = {(void *)"msg!", 4};
  struct msghdr om = {.msg_name = &dst,
                      .msg_namelen = sizeof dst,
                      .msg_iov = &ov,
                      .msg_iovlen = 1};
  int u3 = udp_bound(7203);
  s = sqe();
  io_uring_prep_sendmsg(s, u3, &om, 0);
  s->user_data = 41;
  submit();
  int r40 = 0, r41 = 0;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 40)
      r40 = res;
    if (ud == 41)
      r41 = res;
  }
  CHECK("sendmsg: res = bytes sent", r41 == 4);
  CHECK("recvmsg: res = bytes, and the sender's address",
        r40 == 4 && from.sin_port == htons(7203) &&
            mh.msg_namelen == sizeof from);

  /* poll_add, poll_remove, async_cancel. */
  s = sqe();
  io_uring_prep_poll_add(s, u1, POLLIN);
  s->user_data = 50;
  submit();
  usleep(10000);
  CHECK("poll_add with nothing to read stays pending", nothing_yet());
  send_to(u2, 7201, "p");
  CHECK("poll_add completes with the ready events",
        next(1000, &res, &ud) == 0 && ud == 50 && (res & POLLIN));
  recv(u1, buf, sizeof buf, 0);
  s = sqe();
  io_uring_prep_poll_add(s, u1, POLLIN);
  s->user_data = 51;
  submit();
  s = sqe();
  io_uring_prep_poll_remove(s, 51);
  s->user_data = 52;
  submit();
  int r51 = 1, r52 = 1;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 51)
      r51 = res;
    if (ud == 52)
      r52 = res;
  }
  CHECK("poll_remove: the poll completes with -ECANCELED", r51 == -ECANCELED);
  CHECK("poll_remove: the removal completes with 0", r52 == 0);
  s = sqe();
  io_uring_prep_recv(s, u1, buf, sizeof buf, 0);
  s->user_data = 53;
  submit();
  s = sqe();
  io_uring_prep_cancel64(s, 53, 0);
  s->user_data = 54;
  submit();
  int r53 = 1, r54 = 1;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 53)
      r53 = res;
    if (ud == 54)
      r54 = res;
  }
  CHECK("async_cancel: the recv completes with -ECANCELED", r53 == -ECANCELED);
  CHECK("async_cancel: the cancel completes with 0", r54 == 0);
  s = sqe();
  io_uring_prep_cancel64(s, 777, 0);
  s->user_data = 55;
  submit();
  CHECK("async_cancel of nothing: -ENOENT",
        next(1000, &res, &ud) == 0 && ud == 55 && res == -ENOENT);

  /* Timeouts. */
  struct __kernel_timespec t50 = {0, 50 * 1000000LL};
  double t0 = now_ms();
  s = sqe();
  io_uring_prep_timeout(s, &t50, 0, 0);
  s->user_data = 60;
  submit();
  int e = next(2000, &res, &ud);
  double took = now_ms() - t0;
  CHECK("a timeout completes with -ETIME when it expires",
        e == 0 && ud == 60 && res == -ETIME);
  CHECK("... after its time", took >= 50 && took < 1000);
  struct __kernel_timespec t10s = {10, 0};
  s = sqe();
  io_uring_prep_timeout(s, &t10s, 1, 0);
  s->user_data = 61;
  s = sqe();
  io_uring_prep_nop(s);
  s->user_data = 62;
  submit();
  int r61 = 1, got62 = 0;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 61)
      r61 = res;
    if (ud == 62)
      got62 = 1;
  }
  CHECK("a timeout with a count completes with 0 once that many others did",
        got62 && r61 == 0);
  s = sqe();
  io_uring_prep_timeout(s, &t10s, 0, 0);
  s->user_data = 63;
  submit();
  s = sqe();
  io_uring_prep_timeout_remove(s, 63, 0);
  s->user_data = 64;
  submit();
  int r63 = 1, r64 = 1;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 63)
      r63 = res;
    if (ud == 64)
      r64 = res;
  }
  CHECK("timeout_remove: the timeout completes with -ECANCELED",
        r63 == -ECANCELED);
  CHECK("timeout_remove: the removal completes with 0", r64 == 0);
  s = sqe();
  io_uring_prep_timeout_remove(s, 999, 0);
  s->user_data = 65;
  submit();
  CHECK("timeout_remove of nothing: -ENOENT",
        next(1000, &res, &ud) == 0 && ud == 65 && res == -ENOENT);

  /* TCP: accept, connect, send, recv, EOF, refused, EPIPE. */
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in la = loopback(7300);
  bind(l, (struct sockaddr *)&la, sizeof la);
  listen(l, 8);
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  s = sqe();
  io_uring_prep_accept(s, l, (struct sockaddr *)&peer, &plen, 0);
  s->user_data = 70;
  submit();
  usleep(10000);
  CHECK("accept with no connection stays pending", nothing_yet());
  int c = socket(AF_INET, SOCK_STREAM, 0);
  s = sqe();
  io_uring_prep_connect(s, c, (struct sockaddr *)&la, sizeof la);
  s->user_data = 71;
  submit();
  int r70 = -1, r71 = 1;
  for (int i = 0; i < 2 && next(1000, &res, &ud) == 0; i++) {
    if (ud == 70)
      r70 = res;
    if (ud == 71)
      r71 = res;
  }
  CHECK("connect completes with 0", r71 == 0);
  CHECK("accept completes with a new descriptor", r70 >= 0);
  CHECK("accept fills in the peer's address",
        plen == sizeof peer && peer.sin_family == AF_INET &&
            peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  s = sqe();
  io_uring_prep_send(s, c, "0123456789", 10, 0);
  s->user_data = 72;
  submit();
  CHECK("send on a stream: res = bytes",
        next(1000, &res, &ud) == 0 && ud == 72 && res == 10);
  s = sqe();
  io_uring_prep_recv(s, r70, buf, 4, 0);
  s->user_data = 73;
  submit();
  CHECK("recv on a stream takes at most len bytes",
        next(1000, &res, &ud) == 0 && ud == 73 && res == 4 &&
            memcmp(buf, "0123", 4) == 0);
  shutdown(c, SHUT_WR);
  s = sqe();
  io_uring_prep_recv(s, r70, buf, sizeof buf, 0);
  s->user_data = 74;
  submit();
  CHECK("recv gets the rest", next(1000, &res, &ud) == 0 && res == 6);
  s = sqe();
  io_uring_prep_recv(s, r70, buf, sizeof buf, 0);
  s->user_data = 75;
  submit();
  CHECK("recv after the peer's FIN: 0",
        next(1000, &res, &ud) == 0 && ud == 75 && res == 0);
  close(c);
  usleep(10000);
  s = sqe();
  io_uring_prep_send(s, r70, "x", 1, 0);
  s->user_data = 76;
  submit();
  next(1000, &res, &ud);
  usleep(10000);
  s = sqe();
  io_uring_prep_send(s, r70, "y", 1, 0);
  s->user_data = 77;
  submit();
  CHECK("send after the peer closed and reset: -EPIPE (SIGPIPE ignored)",
        next(1000, &res, &ud) == 0 && ud == 77 && (res == -EPIPE));
  int c2 = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in nobody = loopback(7399);
  s = sqe();
  io_uring_prep_connect(s, c2, (struct sockaddr *)&nobody, sizeof nobody);
  s->user_data = 78;
  submit();
  CHECK("connect to a port nobody listens on: -ECONNREFUSED",
        next(1000, &res, &ud) == 0 && ud == 78 && res == -ECONNREFUSED);

  /* close. */
  s = sqe();
  io_uring_prep_close(s, r70);
  s->user_data = 80;
  submit();
  CHECK("close completes with 0",
        next(1000, &res, &ud) == 0 && ud == 80 && res == 0);
  CHECK("... and the descriptor is closed",
        fcntl(r70, F_GETFD) == -1 && errno == EBADF);
  s = sqe();
  io_uring_prep_close(s, r70);
  s->user_data = 81;
  submit();
  CHECK("close of a closed descriptor: -EBADF",
        next(1000, &res, &ud) == 0 && ud == 81 && res == -EBADF);

  /* Batches. */
  for (int i = 0; i < 3; i++) {
    s = sqe();
    io_uring_prep_nop(s);
    s->user_data = 90 + i;
  }
  CHECK("submit_and_wait(1) submits all three",
        io_uring_submit_and_wait(&ring, 1) == 3);
  struct io_uring_cqe *batch[8];
  unsigned nb = io_uring_peek_batch_cqe(&ring, batch, 8);
  CHECK("peek_batch_cqe returns the three, in order",
        nb == 3 && batch[0]->user_data == 90 && batch[2]->user_data == 92);
  io_uring_cq_advance(&ring, nb);
  CHECK("the ring is empty again", io_uring_cq_ready(&ring) == 0);
  int got = 0;
  while (got < 8 && (s = io_uring_get_sqe(&ring)) != NULL) {
    io_uring_prep_nop(s);
    s->user_data = 100 + got++;
  }
  CHECK("eight entries fit the ring", got == 8);
  CHECK("a full submission ring gives no more",
        io_uring_get_sqe(&ring) == NULL);
  CHECK("submitting the full ring submits 8", submit() == 8);
  nb = io_uring_peek_batch_cqe(&ring, batch, 8);
  CHECK("eight completions", nb == 8 && batch[7]->user_data == 107);
  io_uring_cq_advance(&ring, nb);
  /* A full completion ring: completions wait in an overflow list
   * (IORING_FEAT_NODROP) and come once there is room. */
  for (int b = 0; b < 3; b++) {
    for (int i = 0; i < 8; i++) {
      s = sqe();
      io_uring_prep_nop(s);
      s->user_data = 200 + b * 8 + i;
    }
    submit();
  }
  CHECK("24 completions for a ring of 16: 16 are there",
        io_uring_cq_ready(&ring) == 16);
  CHECK("... and the ring says it overflowed", io_uring_cq_has_overflow(&ring));
  nb = io_uring_peek_batch_cqe(&ring, batch, 8);
  unsigned first = nb ? (unsigned)batch[0]->user_data : 0;
  io_uring_cq_advance(&ring, 16);
  io_uring_get_events(&ring);
  CHECK("once there is room, the other 8 come, in order",
        io_uring_cq_ready(&ring) == 8 && first == 200 &&
            io_uring_peek_batch_cqe(&ring, batch, 8) == 8 &&
            batch[0]->user_data == 216 && batch[7]->user_data == 223);
  io_uring_cq_advance(&ring, 8);
  CHECK("... and the overflow is gone", !io_uring_cq_has_overflow(&ring));
  io_uring_queue_exit(&ring);
  close(u1);
  close(u2);
  close(u3);
  close(l);
  close(c2);
  return 0;
}
