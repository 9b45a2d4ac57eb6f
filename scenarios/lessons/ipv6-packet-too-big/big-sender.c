/* Sends datagrams larger than the path's narrowest link over IPv6
 * (textbook 14.6: IPv6 routers do not fragment).  The first one is
 * dropped by the router, which sends an ICMPv6 Packet Too Big back; the
 * connected socket reports it (EMSGSIZE) on its next call and the kernel
 * now knows the path MTU, so the next datagram is fragmented at the
 * source to fit, and arrives.
 *
 *   big-sender HOST PORT SIZE
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void try_send(int s, const char *buf, size_t len) {
  ssize_t n = send(s, buf, len, 0);
  if (n < 0)
    printf("send %zu bytes: %s\n", len, strerror(errno));
  else
    printf("send %zu bytes: ok\n", len);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT SIZE\n", argv[0]);
    return 2;
  }
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET6;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &res);
  if (e != 0) {
    fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(e));
    return 1;
  }
  int s = socket(AF_INET6, SOCK_DGRAM, 0);
  if (s < 0 || connect(s, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  size_t size = (size_t)atoi(argv[3]);
  char *buf = calloc(1, size);
  int mtu = 0;
  socklen_t ml = sizeof mtu;
  getsockopt(s, IPPROTO_IPV6, IPV6_MTU, &mtu, &ml);
  printf("path MTU before: %d\n", mtu);
  try_send(s, buf, size); /* too big for the far link: dropped */
  usleep(200000);         /* the Packet Too Big comes back meanwhile */
  try_send(s, buf, size); /* the error it caused is reported here */
  ml = sizeof mtu;
  getsockopt(s, IPPROTO_IPV6, IPV6_MTU, &mtu, &ml);
  printf("path MTU after: %d\n", mtu);
  try_send(s, buf, size); /* fragmented to fit */
  struct pollfd p = {.fd = s, .events = POLLIN};
  if (poll(&p, 1, 1000) == 1) {
    ssize_t n = recv(s, buf, size, 0);
    printf("echo: %zd bytes\n", n);
  } else {
    printf("no echo\n");
  }
  free(buf);
  close(s);
  return 0;
}
