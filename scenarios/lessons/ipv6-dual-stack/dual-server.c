/* A UDP echo server on one dual-stack socket (textbook 14.2, 14.6): an
 * AF_INET6 socket bound to :: hears IPv6 clients and, unless IPV6_V6ONLY
 * is on, IPv4 clients too, whose addresses then read as v4-mapped
 * (::ffff:a.b.c.d).
 *
 *   dual-server PORT [v6only]
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [v6only]\n", argv[0]);
    return 2;
  }
  int v6only = argc > 2 && strcmp(argv[2], "v6only") == 0;
  /* A NULL node with AI_PASSIVE and AF_INET6: the address "::". */
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET6;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  int e = getaddrinfo(NULL, argv[1], &hints, &res);
  if (e != 0) {
    fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(e));
    return 1;
  }
  int s = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (s < 0 ||
      setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0 ||
      bind(s, res->ai_addr, res->ai_addrlen) < 0) {
    perror("socket/bind");
    return 1;
  }
  freeaddrinfo(res);
  printf("Listening on [::]:%s (%s)\n", argv[1],
         v6only ? "IPv6 only" : "IPv6 and IPv4");
  fflush(stdout);
  for (;;) {
    char buf[2048], host[NI_MAXHOST], serv[NI_MAXSERV];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      perror("recvfrom");
      return 1;
    }
    getnameinfo((struct sockaddr *)&from, fl, host, sizeof host, serv,
                sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)&from;
    printf("Received %zd bytes from [%s]:%s (%s)\n", n, host, serv,
           IN6_IS_ADDR_V4MAPPED(&f6->sin6_addr) ? "IPv4, v4-mapped"
                                                : "IPv6");
    fflush(stdout);
    sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
}
