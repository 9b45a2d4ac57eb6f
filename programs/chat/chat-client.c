/* chat-client HOST [PORT [NAME]]: joins the chat server at HOST:PORT (8080
 * by default).  Every line typed on standard input goes to the server,
 * as "NAME: line" when a NAME is given; every line the server sends is
 * printed.  poll() watches both.  It ends when standard input ends or the
 * server closes.  Plain POSIX; no mutable globals. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: chat-client HOST [PORT [NAME]]\n");
    return 2;
  }
  const char *port = argc > 2 ? argv[2] : "8080";
  const char *name = argc > 3 ? argv[3] : NULL;
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(argv[1], port, &hints, &res);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(e));
    return 1;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    freeaddrinfo(res);
    return 1;
  }
  freeaddrinfo(res);
  char line[4096], msg[4200], buf[4096];
  size_t have = 0; /* bytes of the line being typed */
  int status = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN},
                          {.fd = fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      perror("poll");
      status = 1;
      break;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        printf("server closed the connection\n");
        break;
      }
      fwrite(buf, 1, (size_t)n, stdout);
      fflush(stdout);
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(0, line + have, sizeof line - 1 - have);
      if (n <= 0)
        break; /* end of input: leave */
      have += (size_t)n;
      /* Send each complete line; a line too long for the buffer goes out
       * in pieces. */
      size_t start = 0;
      for (size_t k = 0; k < have; k++) {
        if (line[k] != '\n' && !(k + 1 == have && have == sizeof line - 1))
          continue;
        size_t len = k - start + (line[k] == '\n' ? 0 : 1);
        int m = snprintf(msg, sizeof msg, "%s%s%.*s\n", name ? name : "",
                         name ? ": " : "", (int)len, line + start);
        if (send_all(fd, msg, (size_t)m) < 0) {
          perror("send");
          close(fd);
          return 1;
        }
        start = k + 1;
      }
      memmove(line, line + start, have - start);
      have -= start;
    }
  }
  close(fd);
  return status;
}
