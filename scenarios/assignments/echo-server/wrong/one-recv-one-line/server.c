/* echo-server, a classic wrong solution: one recv() taken as one line.
 *
 * The reference server, except that it takes what one recv() returns for
 * one whole line: it echoes the bytes up to the first newline (or all of
 * them, with a newline added) and forgets the rest.  Over a fast link
 * each short line arrives in one segment and it seems to work; a line cut
 * into several segments, or two lines in one, break it (textbook §14.6:
 * TCP is a byte stream, not a message protocol).
 *
 * Loses: the "lines split across segments" and "slow reader" tests (the
 * slow reader's 60,000-byte line arrives in many segments).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_LINE 60000 /* bytes before the newline */

struct conn {
  int fd;
  char *in;       /* bytes received, not yet a whole line */
  size_t in_len;
  char *out;      /* whole lines to echo, not yet sent */
  size_t out_len, out_off;
};

static struct conn *conns;
static size_t n_conns, cap_conns;

static int set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL, 0);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void drop(size_t i) {
  close(conns[i].fd);
  free(conns[i].in);
  free(conns[i].out);
  conns[i] = conns[--n_conns];
}

/* Sends what is waiting; returns -1 when the connection failed. */
static int flush_out(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
                                                                       : -1;
    c->out_off += (size_t)n;
  }
  c->out_len = c->out_off = 0;
  return 0;
}

/* Reads what has arrived and moves every whole line to the output buffer.
 * Returns -1 when the connection is over (end of file, error, or a line
 * longer than MAX_LINE). */
static int read_in(struct conn *c) {
  for (;;) {
    size_t room = MAX_LINE - c->in_len; /* one byte for the newline */
    if (room == 0)
      return -1; /* no newline within MAX_LINE + 1 bytes */
    ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n == 0)
      return -1;
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
                                                                       : -1;
    c->in_len += (size_t)n;
    /* BUG: what one recv() returned is taken as one line: echo it up to
     * its first newline (adding one if there is none), forget the rest. */
    char *nl = memchr(c->in, '\n', c->in_len);
    if (nl == NULL)
      c->in[c->in_len++] = '\n';
    else
      c->in_len = (size_t)(nl - c->in) + 1;
    size_t whole = c->in_len;
    if (whole > 0) {
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
      if (c->out_off < c->out_len)
        return 0; /* the client is slow: read no more until it catches up */
    }
  }
}

static void accept_all(int lfd, int *paused) {
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      /* Out of descriptors: stop watching the listener until a connection
       * ends, or poll() would report it ready again and again. */
      if (errno == EMFILE || errno == ENFILE)
        *paused = 1;
      return;
    }
    struct conn c = {.fd = fd};
    if (set_nonblocking(fd) < 0 || (c.in = malloc(MAX_LINE + 1)) == NULL) {
      close(fd);
      continue;
    }
    if (n_conns == cap_conns) {
      size_t cap = cap_conns ? 2 * cap_conns : 64;
      struct conn *a = realloc(conns, cap * sizeof *a);
      if (a == NULL) {
        close(fd);
        free(c.in);
        continue;
      }
      conns = a;
      cap_conns = cap;
    }
    conns[n_conns++] = c;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: server PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) {
    perror("socket");
    return 1;
  }
  int on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0 ||
      set_nonblocking(lfd) < 0) {
    perror("bind");
    close(lfd);
    return 1;
  }
  printf("listening on port %s\n", argv[1]);
  fflush(stdout);

  struct pollfd *p = NULL;
  size_t p_cap = 0;
  int paused = 0;
  for (;;) {
    if (p_cap < n_conns + 1) {
      p_cap = 2 * (n_conns + 1);
      p = realloc(p, p_cap * sizeof *p);
      if (p == NULL)
        return 1;
    }
    p[0] = (struct pollfd){.fd = paused ? -1 : lfd, .events = POLLIN};
    for (size_t i = 0; i < n_conns; i++) {
      struct conn *c = &conns[i];
      p[i + 1] = (struct pollfd){
          .fd = c->fd, .events = c->out_off < c->out_len ? POLLOUT : POLLIN};
    }
    size_t n = n_conns;
    if (poll(p, n + 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      perror("poll");
      return 1;
    }
    /* From the last to the first: drop() moves the last one into place. */
    for (size_t i = n; i-- > 0;) {
      short r = p[i + 1].revents;
      if (r == 0)
        continue;
      struct conn *c = &conns[i];
      int bad = 0;
      if (c->out_off < c->out_len) {
        bad = flush_out(c) < 0;
        if (!bad && c->out_off == c->out_len)
          bad = read_in(c) < 0; /* lines that waited in the input */
      } else {
        bad = read_in(c) < 0;
      }
      if (bad) {
        drop(i);
        paused = 0;
      }
    }
    if (p[0].revents & POLLIN)
      accept_all(lfd, &paused);
  }
}
