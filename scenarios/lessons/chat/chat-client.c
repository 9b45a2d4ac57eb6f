/* A chat client: lines typed on standard input go to the server, prefixed
 * with the user's name; whatever the server sends is printed.  poll()
 * watches both.  Usage: chat-client HOST PORT NAME */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT NAME\n", argv[0]);
    return 2;
  }
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
    fprintf(stderr, "cannot resolve %s\n", argv[1]);
    return 1;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  char line[1024], msg[1200], buf[4096];
  for (;;) {
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN},
                          {.fd = fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0)
      return 1;
    if (p[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, line, sizeof line - 1);
      if (n <= 0)
        break; /* end of input: leave */
      line[n] = '\0';
      int m = snprintf(msg, sizeof msg, "%s: %s", argv[3], line);
      send(fd, msg, (size_t)m, 0);
    }
    if (p[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      if (n <= 0)
        break;
      buf[n] = '\0';
      fputs(buf, stdout);
    }
  }
  close(fd);
  return 0;
}
