/* A client that connects and then waits for the server to say something,
 * in one of three ways (textbook §14.14: "set TCP keepalive", "set
 * timeouts on every blocking call"):
 *   waiter HOST PORT plain      recv() with no timeout: waits forever
 *   waiter HOST PORT keepalive  SO_KEEPALIVE, probes after 5 s idle,
 *                               every 2 s, 3 of them: a dead peer is found
 *   waiter HOST PORT timeout    SO_RCVTIMEO of 4 s on recv() */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4)
    return 2;
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0)
    return 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (strcmp(argv[3], "keepalive") == 0) {
    int on = 1, idle = 5, intvl = 2, cnt = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  } else if (strcmp(argv[3], "timeout") == 0) {
    struct timeval tv = {.tv_sec = 4, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  printf("connected; waiting (%s)\n", argv[3]);
  double t0 = now();
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0)
    printf("recv failed after %.1f s: %s\n", now() - t0, strerror(errno));
  else
    printf("recv returned %zd after %.1f s\n", n, now() - t0);
  close(fd);
  return 0;
}
