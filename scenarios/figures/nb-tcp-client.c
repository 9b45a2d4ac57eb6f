/* The textbook's TCP client (§14.4) in non-blocking mode (§14.8):
 * connect() fails at once with EINPROGRESS while the handshake runs;
 * poll() for POLLOUT says when it is done, and SO_ERROR says how it
 * ended; recv() fails with EAGAIN until the echo arrives.  For the
 * figure's non-blocking variant.  Builds with plain cc and with
 * natlab-cc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void wait_for(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  poll(&p, 1, -1);
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  const char *port = argc > 2 ? argv[2] : "8080";
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai;
  if (getaddrinfo(host, port, &hints, &ai) != 0) {
    fprintf(stderr, "cannot resolve %s\n", host);
    return 1;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(ai);
  wait_for(fd, POLLOUT); /* the handshake is done, one way or another */
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fprintf(stderr, "connect: %s\n", strerror(err));
    return 1;
  }
  const char msg[] = "hello, server\n";
  send(fd, msg, sizeof msg - 1, 0);
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf - 1, 0)) < 0 &&
         (errno == EAGAIN || errno == EWOULDBLOCK))
    wait_for(fd, POLLIN); /* the echo is on its way */
  if (n > 0) {
    buf[n] = '\0';
    printf("Server replied: %s", buf);
  }
  close(fd);
  return 0;
}
