/* A TCP transfer in one of five I/O modes, for lossy-path sweeps.
 *
 *   transfer server MODE PORT
 *   transfer client MODE HOST PORT BYTES
 *
 * The client sends BYTES of a known pattern and reads the echo back, then
 * closes; the server echoes one connection until EOF and closes.  Both check what they got and print one line:
 *   "client: ok BYTES" / "server: ok BYTES", or "...: FAILED why".
 * MODE: blocking (plain blocking calls), poll and select (non-blocking
 * descriptors and one readiness call per round), epoll (level-triggered)
 * and epoll-et (edge-triggered: drain until EAGAIN after every event).
 * Plain POSIX: it builds with cc and runs in the lab through natlab-cc. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

enum { M_BLOCKING, M_POLL, M_SELECT, M_EPOLL, M_EPOLL_ET };

static unsigned char pattern(size_t i) {
  return (unsigned char)((i * 131u + (i >> 8)) & 0xff);
}

/* Waits until @fd is readable (@want_in) and/or writable (@want_out) in
 * @mode.  Returns the ready bits (1 in, 2 out), or -1. */
static int wait_ready(int mode, int ep, int fd, int want_in, int want_out) {
  if (mode == M_POLL) {
    struct pollfd p = {.fd = fd,
                       .events = (short)((want_in ? POLLIN : 0) |
                                         (want_out ? POLLOUT : 0))};
    if (poll(&p, 1, -1) < 0)
      return -1;
    return ((p.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0) |
           ((p.revents & (POLLOUT | POLLERR)) ? 2 : 0);
  }
  if (mode == M_SELECT) {
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    if (want_in)
      FD_SET(fd, &r);
    if (want_out)
      FD_SET(fd, &w);
    if (select(fd + 1, &r, &w, NULL, NULL) < 0)
      return -1;
    return (FD_ISSET(fd, &r) ? 1 : 0) | (FD_ISSET(fd, &w) ? 2 : 0);
  }
  /* epoll: level-triggered asks for what it wants each round;
   * edge-triggered registered both once and, woken by any change, tries
   * both (the calls are non-blocking and drained until EAGAIN). */
  if (mode == M_EPOLL) {
    struct epoll_event ev = {.events = (want_in ? EPOLLIN : 0) |
                                       (want_out ? EPOLLOUT : 0),
                             .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
      return -1;
  }
  struct epoll_event got;
  int n = epoll_wait(ep, &got, 1, -1);
  if (n < 0)
    return -1;
  if (mode == M_EPOLL_ET)
    return 3;
  return ((got.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? 1 : 0) |
         ((got.events & (EPOLLOUT | EPOLLERR)) ? 2 : 0);
}

/* Moves data.  The client (@echo 0) sends @total bytes of the pattern and
 * reads @total back; the server (@echo 1) reads until EOF and sends back
 * what it read.  Every byte read is checked against the pattern.  The
 * client closes only once it has everything, so the server's data is
 * acknowledged by then and its close leaves only a FIN to deliver. */
static int pump(int mode, int fd, int ep, int echo, size_t total,
                size_t *got_out, const char **why) {
  static const size_t chunk = 4096;
  unsigned char out[4096], in[4096];
  unsigned char *echo_buf = NULL;
  size_t echo_cap = 0;
  size_t sent = 0, got = 0;
  int eof = 0;
  int out_blocked = 0; /* the last send met EAGAIN (edge-triggered) */
  *why = NULL;
  for (;;) {
    size_t to_send = echo ? got : total;
    int want_in = echo ? !eof : got < total;
    int want_out = sent < to_send;
    if (!want_in && !want_out)
      break; /* done */
    if (!echo && eof) {
      *why = "early EOF";
      break;
    }
    int ready = 3;
    /* Edge-triggered: wait only when both ways are stuck (reads drained
     * to EAGAIN, and nothing to send or the last send met EAGAIN): no
     * edge is coming for work that is already possible. */
    int et_stuck = mode == M_EPOLL_ET && (!want_out || out_blocked);
    if (mode != M_BLOCKING && (mode != M_EPOLL_ET || et_stuck)) {
      out_blocked = 0;
      ready = wait_ready(mode, ep, fd, want_in, want_out);
      if (ready < 0) {
        *why = "wait failed";
        break;
      }
    }
    if ((ready & 2) && want_out) {
      for (;;) {
        size_t n = to_send - sent < chunk ? to_send - sent : chunk;
        const unsigned char *src = out;
        if (echo) {
          src = echo_buf + sent;
        } else {
          for (size_t i = 0; i < n; i++)
            out[i] = pattern(sent + i);
        }
        ssize_t k = send(fd, src, n, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
          out_blocked = 1;
          break;
        }
        if (k < 0) {
          *why = "send failed";
          goto out;
        }
        sent += (size_t)k;
        if (sent == to_send || mode != M_EPOLL_ET)
          break;
      }
    }
    /* Blocking: read only when nothing is left to send, or once per
     * round, so a full send buffer on both ends cannot deadlock. */
    if ((ready & 1) && want_in) {
      for (;;) {
        ssize_t k = recv(fd, in, sizeof in, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
          break;
        if (k < 0) {
          *why = "recv failed";
          goto out;
        }
        if (k == 0) {
          eof = 1;
          break;
        }
        for (ssize_t i = 0; i < k; i++)
          if (in[i] != pattern(got + (size_t)i)) {
            *why = "wrong bytes";
            goto out;
          }
        if (echo) {
          if (got + (size_t)k > echo_cap) {
            echo_cap = (got + (size_t)k) * 2;
            echo_buf = realloc(echo_buf, echo_cap);
          }
          memcpy(echo_buf + got, in, (size_t)k);
        }
        got += (size_t)k;
        /* One read per round, except edge-triggered, which must drain
         * the socket to EAGAIN before it waits again. */
        if (mode != M_EPOLL_ET || (!echo && got == total))
          break;
      }
    }
  }
out:
  free(echo_buf);
  *got_out = got;
  return *why == NULL ? 0 : -1;
}

static int parse_mode(const char *s) {
  static const char *const names[] = {"blocking", "poll", "select", "epoll",
                                      "epoll-et"};
  for (int i = 0; i < 5; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 4 || parse_mode(argv[2]) < 0) {
    fprintf(stderr, "usage: transfer server MODE PORT | "
                    "transfer client MODE HOST PORT BYTES\n");
    return 2;
  }
  int mode = parse_mode(argv[2]);
  int server = strcmp(argv[1], "server") == 0;
  int fd;
  size_t total = 0;
  if (server) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((unsigned short)atoi(argv[3]))};
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4) < 0) {
      perror("server: bind/listen");
      return 1;
    }
    fd = accept(l, NULL, NULL);
    if (fd < 0) {
      perror("server: accept");
      return 1;
    }
    close(l);
  } else {
    if (argc < 6)
      return 2;
    total = (size_t)strtoul(argv[5], NULL, 10);
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    if (getaddrinfo(argv[3], argv[4], &hints, &res) != 0) {
      fprintf(stderr, "client: cannot resolve %s\n", argv[3]);
      return 1;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
      perror("client: connect");
      freeaddrinfo(res);
      return 1;
    }
    freeaddrinfo(res);
  }
  int ep = -1;
  if (mode != M_BLOCKING)
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (mode == M_EPOLL || mode == M_EPOLL_ET) {
    ep = epoll_create1(0);
    struct epoll_event ev = {
        .events = EPOLLIN | (mode == M_EPOLL_ET ? EPOLLOUT | EPOLLET : 0),
        .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  size_t got = 0;
  const char *why;
  int rc = pump(mode, fd, ep, server, total, &got, &why);
  const char *who = server ? "server" : "client";
  if (rc == 0 && !server && got != total)
    why = "short echo";
  if (why != NULL)
    printf("%s: FAILED %s after %zu bytes\n", who, why, got);
  else
    printf("%s: ok %zu\n", who, got);
  if (ep >= 0)
    close(ep);
  close(fd);
  return why != NULL;
}
