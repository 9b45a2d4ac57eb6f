/* UDP hole punching over IPv6: no NAT, every address is global, but each
 * side sits behind a stateful firewall that lets in only what answers
 * something sent out (RFC 6092).  Both peers send to each other from a
 * known port; the first datagram opens the sender's firewall and dies at
 * the other one, the other side's datagram then finds the hole open.
 *
 *   punch6 MYPORT PEER PEERPORT NAME
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s MYPORT PEER PEERPORT NAME\n", argv[0]);
    return 2;
  }
  struct addrinfo hints, *peer;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET6;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[2], argv[3], &hints, &peer);
  if (e != 0) {
    fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(e));
    return 1;
  }
  int s = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 me;
  memset(&me, 0, sizeof me);
  me.sin6_family = AF_INET6;
  me.sin6_port = htons((unsigned short)atoi(argv[1]));
  if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof me) < 0) {
    perror("bind");
    return 1;
  }
  /* Send, then listen 300 ms; once the peer was heard, send once more
   * (so it hears us too) and listen a little longer for its last word. */
  int heard = 0;
  for (int round = 0; round < 10; round++) {
    char msg[64];
    snprintf(msg, sizeof msg, "punch %d from %s", round, argv[4]);
    sendto(s, msg, strlen(msg), 0, peer->ai_addr, peer->ai_addrlen);
    int wait = heard ? 500 : 300;
    struct pollfd p = {.fd = s, .events = POLLIN};
    while (poll(&p, 1, wait) == 1) {
      char buf[128], host[NI_MAXHOST];
      struct sockaddr_in6 from;
      socklen_t fl = sizeof from;
      ssize_t n =
          recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
      if (n < 0)
        break;
      buf[n] = '\0';
      getnameinfo((struct sockaddr *)&from, fl, host, sizeof host, NULL, 0,
                  NI_NUMERICHOST);
      printf("got \"%s\" from [%s]:%u\n", buf, host, ntohs(from.sin6_port));
      if (!heard)
        break; /* answer it at once */
    }
    if (heard)
      break;
    heard = p.revents != 0;
  }
  freeaddrinfo(peer);
  printf(heard ? "hole punched\n" : "no datagram got through\n");
  return heard ? 0 : 1;
}
