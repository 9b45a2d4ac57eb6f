/* chat-server [PORT]: the textbook's multi-user chat server (§14.13): every
 * line a client sends goes to all the other clients.  One thread, epoll
 * (level-triggered), non-blocking sockets: a line is broadcast only once it
 * is complete (a line split over several recv() calls stays one line), and
 * each client has its own queue of lines to send, drained when epoll says
 * it can take more, so one slow reader holds up nobody (a reader more than
 * 1 MiB behind is dropped).  PORT is 8080 by default, with SO_REUSEADDR.
 * An ordinary POSIX program: it builds with plain cc and runs unchanged
 * inside natlab.  No mutable globals: all state lives in main's locals. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 1000
#define MAX_LINE 65536            /* a longer "line" goes out in pieces */
#define MAX_BACKLOG (1024 * 1024) /* bytes a client may fall behind */

typedef struct {
  int fd;
  char *in;  /* bytes of the line being received */
  size_t in_len;
  char *out; /* bytes waiting to be sent to this client */
  size_t out_len, out_cap;
  int want_out; /* EPOLLOUT registered */
} Client;

typedef struct {
  int ep;
  Client *c;
  size_t n, cap;
} Chat;

static void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void watch(Chat *ch, Client *c, int want_out) {
  if (c->want_out == want_out)
    return;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                           .data.fd = c->fd};
  epoll_ctl(ch->ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want_out;
}

/* Sends what is queued for @c until the socket takes no more.  Returns -1
 * when the connection failed. */
static int flush_out(Chat *ch, Client *c) {
  size_t off = 0;
  while (off < c->out_len) {
    ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n < 0)
      return -1;
    off += (size_t)n;
  }
  memmove(c->out, c->out + off, c->out_len - off);
  c->out_len -= off;
  watch(ch, c, c->out_len > 0);
  return 0;
}

/* Queues @len bytes for @c.  Returns -1 when @c is too far behind. */
static int queue_out(Client *c, const char *buf, size_t len) {
  if (c->out_len + len > MAX_BACKLOG)
    return -1;
  if (c->out_len + len > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + len)
      cap *= 2;
    char *p = realloc(c->out, cap);
    if (p == NULL)
      return -1;
    c->out = p;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, buf, len);
  c->out_len += len;
  return 0;
}

static void drop(Chat *ch, size_t i, const char *why) {
  Client *c = &ch->c[i];
  epoll_ctl(ch->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->in);
  free(c->out);
  ch->c[i] = ch->c[ch->n - 1];
  ch->n--;
  printf("client %s (%zu connected)\n", why, ch->n);
  fflush(stdout);
}

static size_t find(const Chat *ch, int fd) {
  for (size_t i = 0; i < ch->n; i++)
    if (ch->c[i].fd == fd)
      return i;
  return ch->n;
}

/* Sends @len bytes from client @from to every other client.  Clients that
 * fall too far behind or fail are dropped afterwards. */
static void broadcast(Chat *ch, int from, const char *buf, size_t len) {
  int failed[MAX_CLIENTS];
  size_t n_failed = 0;
  for (size_t i = 0; i < ch->n; i++) {
    Client *c = &ch->c[i];
    if (c->fd == from)
      continue;
    if (queue_out(c, buf, len) < 0 || flush_out(ch, c) < 0)
      failed[n_failed++] = c->fd;
  }
  for (size_t k = 0; k < n_failed; k++) {
    size_t i = find(ch, failed[k]);
    if (i < ch->n)
      drop(ch, i, "dropped");
  }
}

/* Reads what client @i sent and broadcasts every complete line.  Returns
 * -1 when the client left. */
static int receive(Chat *ch, size_t i) {
  Client *c = &ch->c[i];
  int fd = c->fd;
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return 0;
  if (n <= 0) {
    if (c->in_len > 0) { /* a last line without its newline */
      char *line = c->in;
      size_t len = c->in_len;
      c->in = NULL;
      c->in_len = 0;
      line[len++] = '\n';
      broadcast(ch, fd, line, len);
      free(line);
    }
    return -1;
  }
  for (ssize_t k = 0; k < n; k++) {
    if (c->in == NULL && (c->in = malloc(MAX_LINE + 1)) == NULL)
      return -1;
    c->in[c->in_len++] = buf[k];
    if (buf[k] == '\n' || c->in_len == MAX_LINE) {
      size_t len = c->in_len;
      c->in_len = 0;
      broadcast(ch, fd, c->in, len);
      c = &ch->c[find(ch, fd)]; /* dropping others reorders the table */
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  char *end = NULL;
  long port = argc > 1 ? strtol(argv[1], &end, 10) : 8080;
  if (argc > 2 || (end != NULL && *end != '\0') || port < 1 || port > 65535) {
    fprintf(stderr, "usage: chat-server [PORT]\n");
    return 2;
  }
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (server < 0) {
    perror("socket");
    return 1;
  }
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)port);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(server, 16) < 0) {
    perror("bind/listen");
    return 1;
  }
  set_nonblock(server);
  Chat ch = {.ep = epoll_create1(0)};
  if (ch.ep < 0) {
    perror("epoll_create1");
    return 1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = server};
  epoll_ctl(ch.ep, EPOLL_CTL_ADD, server, &ev);
  printf("Chat server on port %ld\n", port);
  fflush(stdout);
  for (;;) {
    struct epoll_event events[64];
    int n = epoll_wait(ch.ep, events, 64, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      perror("epoll_wait");
      return 1;
    }
    for (int e = 0; e < n; e++) {
      int fd = events[e].data.fd;
      if (fd == server) {
        int c = accept(server, NULL, NULL);
        if (c < 0)
          continue; /* EAGAIN, or a connection that went away */
        if (ch.n == MAX_CLIENTS) {
          close(c);
          continue;
        }
        if (ch.n == ch.cap) {
          size_t cap = ch.cap ? ch.cap * 2 : 16;
          Client *p = realloc(ch.c, cap * sizeof *p);
          if (p == NULL) {
            close(c);
            continue;
          }
          ch.c = p;
          ch.cap = cap;
        }
        set_nonblock(c);
        ch.c[ch.n++] = (Client){.fd = c};
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ch.ep, EPOLL_CTL_ADD, c, &cev);
        printf("client joined (%zu connected)\n", ch.n);
        fflush(stdout);
        continue;
      }
      size_t i = find(&ch, fd);
      if (i == ch.n)
        continue; /* dropped earlier in this round */
      if ((events[e].events & EPOLLOUT) && flush_out(&ch, &ch.c[i]) < 0) {
        drop(&ch, i, "dropped");
        continue;
      }
      if ((events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
          receive(&ch, i) < 0) {
        i = find(&ch, fd);
        if (i < ch.n)
          drop(&ch, i, "left");
      }
    }
  }
}
