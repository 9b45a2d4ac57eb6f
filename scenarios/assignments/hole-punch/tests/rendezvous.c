/* The hole-punch assignment's rendezvous server (provided by the lab; the
 * protocol is in README.md).
 *
 *   rendezvous PORT
 *
 * Peers send "REGISTER NAME" over UDP.  The server notes the address each
 * registration came FROM: the peer's public (server-reflexive) address,
 * after its NAT.  Once two peers with different names have registered, it
 * tells each the other's address, "PEER IP:PORT", at once, and answers
 * every later registration of either peer the same way (the first answer
 * may be lost).  A peer that registers again from a new address is
 * updated.  It introduces one pair; later names are ignored.
 *
 * Plain POSIX C: builds with cc for the real OS too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct peer {
  char name[32];
  struct sockaddr_in addr;
};

static void tell(int fd, const struct peer *to, const struct peer *about) {
  char ip[INET_ADDRSTRLEN], msg[64];
  inet_ntop(AF_INET, &about->addr.sin_addr, ip, sizeof ip);
  int m = snprintf(msg, sizeof msg, "PEER %s:%d", ip,
                   ntohs(about->addr.sin_port));
  sendto(fd, msg, (size_t)m, 0, (const struct sockaddr *)&to->addr,
         sizeof to->addr);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: rendezvous PORT\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("bind");
    return 1;
  }
  struct peer peers[2];
  int n = 0;
  for (;;) {
    char buf[128], name[32];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from,
                         &fl);
    if (r <= 0)
      continue;
    buf[r] = '\0';
    if (sscanf(buf, "REGISTER %31s", name) != 1)
      continue;
    int i = 0;
    while (i < n && strcmp(peers[i].name, name) != 0)
      i++;
    if (i == 2)
      continue; /* a third name: this server introduces one pair */
    int changed = i == n || peers[i].addr.sin_addr.s_addr !=
                                from.sin_addr.s_addr ||
                  peers[i].addr.sin_port != from.sin_port;
    if (i == n)
      n++;
    snprintf(peers[i].name, sizeof peers[i].name, "%s", name);
    peers[i].addr = from;
    if (changed) {
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
      printf("%s registered from %s:%d\n", name, ip, ntohs(from.sin_port));
    }
    if (n < 2)
      continue;
    if (changed) { /* a new pair, or a new address: tell both */
      tell(fd, &peers[0], &peers[1]);
      tell(fd, &peers[1], &peers[0]);
    } else {
      tell(fd, &peers[i], &peers[1 - i]);
    }
  }
}
