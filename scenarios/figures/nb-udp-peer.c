/* A UDP peer (§14.5) in non-blocking mode (§14.8): sendto() never waits;
 * recvfrom() fails with EAGAIN/EWOULDBLOCK until the echo arrives, and
 * poll() does the waiting.  For the figure's non-blocking variant.
 * Builds with plain cc and with natlab-cc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  const char *port = argc > 2 ? argv[2] : "8080";
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
  struct addrinfo *ai;
  if (getaddrinfo(host, port, &hints, &ai) != 0) {
    fprintf(stderr, "cannot resolve %s\n", host);
    return 1;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  const char msg[] = "hello, datagram";
  sendto(fd, msg, sizeof msg - 1, 0, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  char buf[2048];
  ssize_t n;
  while ((n = recvfrom(fd, buf, sizeof buf - 1, 0, NULL, NULL)) < 0 &&
         (errno == EAGAIN || errno == EWOULDBLOCK)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, -1);
  }
  if (n > 0) {
    buf[n] = '\0';
    printf("echo: %s\n", buf);
  }
  close(fd);
  return 0;
}
