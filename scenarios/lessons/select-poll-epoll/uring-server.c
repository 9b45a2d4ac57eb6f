/* The same TCP echo server as event-server.c, with io_uring: completions
 * instead of readiness (textbook §14.9, asynchronous I/O).
 * Usage: uring-server PORT
 * Instead of asking "which descriptors are ready?" and then calling
 * recv() itself, the server hands the kernel the operations it wants done
 * -- accept a connection, receive into this buffer, send that one -- and
 * is told when each has completed, with its result.  A wakeup looks only
 * at the completions.  Linux 5.1+ with liburing (build: cc ... -luring);
 * in the lab, natlab-cc links the lab's liburing. */
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64
#define BUF 1024

enum { ACCEPT, RECV, SEND };

/* What a completion is about: user_data = kind | fd << 8. */
static uint64_t tag(int kind, int fd) {
  return (uint64_t)kind | (uint64_t)fd << 8;
}

static struct io_uring ring;
static char bufs[MAX_CONNS * 16][BUF];

static void want_accept(int listener) {
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  io_uring_prep_accept(s, listener, NULL, NULL, 0);
  io_uring_sqe_set_data64(s, tag(ACCEPT, listener));
}

static void want_recv(int fd) {
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  io_uring_prep_recv(s, fd, bufs[fd], BUF, 0);
  io_uring_sqe_set_data64(s, tag(RECV, fd));
}

static void want_send(int fd, unsigned len) {
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  io_uring_prep_send(s, fd, bufs[fd], len, 0);
  io_uring_sqe_set_data64(s, tag(SEND, fd));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: uring-server PORT\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(listener, 32) < 0) {
    perror("bind/listen");
    return 1;
  }
  int err = io_uring_queue_init(64, &ring, 0);
  if (err < 0) {
    fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-err));
    return 1;
  }
  want_accept(listener);
  for (;;) {
    /* Hand over what was asked for, and sleep until something is done. */
    io_uring_submit_and_wait(&ring, 1);
    struct io_uring_cqe *done[64];
    unsigned n = io_uring_peek_batch_cqe(&ring, done, 64);
    for (unsigned i = 0; i < n; i++) { /* only the completions */
      uint64_t ud = io_uring_cqe_get_data64(done[i]);
      int kind = (int)(ud & 0xff), fd = (int)(ud >> 8), res = done[i]->res;
      if (kind == ACCEPT) {
        if (res >= 0 && res < MAX_CONNS * 16)
          want_recv(res); /* the new connection's descriptor */
        want_accept(listener);
      } else if (kind == RECV) {
        if (res <= 0)
          close(fd); /* the peer closed, or an error */
        else
          want_send(fd, (unsigned)res);
      } else if (res >= 0) {
        want_recv(fd); /* echoed: wait for the next line */
      } else {
        close(fd);
      }
    }
    io_uring_cq_advance(&ring, n);
    printf("io_uring: %u completions, looked at %u completions\n", n, n);
  }
}
