/* A tiny rendezvous server (client-server, textbook §14.11): peers send it
 * "REGISTER NAME" over UDP; it notes the address each datagram came FROM
 * (the peer's public address, after its NAT) and, once two peers have
 * registered, tells each one the other's: "PEER IP:PORT".
 * Usage: rendezvous PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer {
  char name[32];
  struct sockaddr_in addr; /* as seen from here: the NAT's public side */
};

int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 7000));
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  struct peer peers[2];
  int n = 0, introduced = 0;
  for (;;) {
    char buf[128];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from,
                         &len);
    if (r <= 0)
      continue;
    buf[r] = '\0';
    char name[32];
    if (sscanf(buf, "REGISTER %31s", name) != 1)
      continue;
    int i = 0;
    while (i < n && strcmp(peers[i].name, name) != 0)
      i++;  /* a peer that registers again just refreshes its address */
    if (i == n && n < 2)
      n++;
    if (i == 2)
      continue;  /* this server only introduces two peers */
    snprintf(peers[i].name, sizeof peers[i].name, "%s", name);
    peers[i].addr = from;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    printf("%s registered from %s:%d\n", name, ip, ntohs(from.sin_port));
    if (n < 2)
      continue;
    /* The first time both are known, introduce them to each other at the
     * same moment, so that they start punching together.  A peer that
     * registers again later (its answer was lost) hears about the other. */
    for (int k = 0; k < 2; k++) {
      if (introduced && k != i)
        continue;
      struct peer *other = &peers[1 - k];
      inet_ntop(AF_INET, &other->addr.sin_addr, ip, sizeof ip);
      int m = snprintf(buf, sizeof buf, "PEER %s:%d", ip,
                       ntohs(other->addr.sin_port));
      sendto(fd, buf, (size_t)m, 0, (struct sockaddr *)&peers[k].addr,
             sizeof peers[k].addr);
    }
    introduced = 1;
  }
}
