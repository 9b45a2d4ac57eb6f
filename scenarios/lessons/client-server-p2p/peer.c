/* A peer (peer-to-peer, textbook §14.11-14.12): learns the other peer's
 * public address from the rendezvous server, then punches a hole: it
 * sends datagrams straight to that address, which opens its own NAT for
 * the answers, until a datagram from the other peer gets through.
 * Usage: peer NAME LOCAL-PORT RENDEZVOUS-HOST RENDEZVOUS-PORT */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TRIES 10 /* punches, 200 ms apart, before giving up */

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: peer NAME LOCAL-PORT HOST PORT\n");
    return 2;
  }
  const char *name = argv[1];
  /* One socket for everything: the hole is punched for THIS local port,
   * the one the rendezvous server saw. */
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in local;
  memset(&local, 0, sizeof local);
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_ANY);
  local.sin_port = htons((unsigned short)atoi(argv[2]));
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    perror("bind");
    return 1;
  }
  struct timeval tv = {.tv_sec = 1, .tv_usec = 0};  /* recv timeout */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
  struct addrinfo *rv;
  if (getaddrinfo(argv[3], argv[4], &hints, &rv) != 0)
    return 1;

  /* 1. Client-server: register, and wait to be told where the peer is. */
  char msg[128], buf[128];
  struct sockaddr_in peer;
  socklen_t len;
  int m = snprintf(msg, sizeof msg, "REGISTER %s", name);
  for (;;) {
    sendto(fd, msg, (size_t)m, 0, rv->ai_addr, rv->ai_addrlen);
    ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, NULL, NULL);
    if (r <= 0)
      continue;  /* a second without an answer: register again */
    buf[r] = '\0';
    char ip[INET_ADDRSTRLEN];
    int port;
    if (sscanf(buf, "PEER %15[0-9.]:%d", ip, &port) == 2) {
      memset(&peer, 0, sizeof peer);
      peer.sin_family = AF_INET;
      inet_pton(AF_INET, ip, &peer.sin_addr);
      peer.sin_port = htons((unsigned short)port);
      printf("%s: the rendezvous says the peer is at %s:%d\n", name, ip, port);
      break;
    }
  }
  freeaddrinfo(rv);

  /* 2. Peer-to-peer: punch, and listen for the other side's punches. */
  tv.tv_sec = 0;
  tv.tv_usec = 200000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  m = snprintf(msg, sizeof msg, "hello from %s", name);
  int heard = 0;
  for (int i = 0; i < TRIES && !heard; i++) {
    sendto(fd, msg, (size_t)m, 0, (struct sockaddr *)&peer, sizeof peer);
    struct sockaddr_in from;
    len = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from,
                         &len);
    if (r <= 0)
      continue;  /* 200 ms of silence: punch again */
    if (from.sin_addr.s_addr != peer.sin_addr.s_addr ||
        from.sin_port != peer.sin_port)
      continue;  /* not the peer (a late reply from the rendezvous) */
    buf[r] = '\0';
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    printf("%s: direct from %s:%d: %s\n", name, ip, ntohs(from.sin_port), buf);
    heard = 1;
  }
  if (heard)  /* one more, in case the peer is still waiting for us */
    sendto(fd, msg, (size_t)m, 0, (struct sockaddr *)&peer, sizeof peer);
  close(fd);
  if (heard == 0) {
    printf("%s: hole punching failed: nothing from the peer after %d tries\n",
           name, TRIES);
    return 1;
  }
  printf("%s: hole punched, talking directly to the peer\n", name);
  return 0;
}
