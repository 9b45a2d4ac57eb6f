/* A rendezvous server for TCP hole punching (textbook §14.11-14.12): two
 * peers connect to it and send "REGISTER NAME"; it notes the address each
 * connection came FROM (the peer's public address and port, after its
 * NAT) and, once both are there, tells each the other's at the same
 * moment: "PEER IP:PORT".  It keeps both connections open: the peers'
 * NAT mappings for their port stay alive while they punch.
 * Usage: tcp-rendezvous PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer {
  int fd;
  char name[32];
  char addr[32]; /* IP:PORT as seen from here */
};

int main(int argc, char **argv) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 7001));
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(ls, 4) < 0) {
    perror("bind/listen");
    return 1;
  }
  struct peer peers[2];
  for (int i = 0; i < 2; i++) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    peers[i].fd = accept(ls, (struct sockaddr *)&from, &len);
    if (peers[i].fd < 0) {
      perror("accept");
      return 1;
    }
    char ip[INET_ADDRSTRLEN], buf[128];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    snprintf(peers[i].addr, sizeof peers[i].addr, "%s:%d", ip,
             ntohs(from.sin_port));
    ssize_t n = recv(peers[i].fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (sscanf(buf, "REGISTER %31s", peers[i].name) != 1) {
      fprintf(stderr, "not a REGISTER line: %s\n", buf);
      return 1;
    }
    printf("%s registered from %s\n", peers[i].name, peers[i].addr);
    fflush(stdout);
  }
  /* Both known: introduce them to each other at once, so they punch
   * together. */
  for (int i = 0; i < 2; i++) {
    char msg[64];
    int m = snprintf(msg, sizeof msg, "PEER %s\n", peers[1 - i].addr);
    send(peers[i].fd, msg, (size_t)m, 0);
  }
  /* Keep the connections until the peers close them. */
  for (int i = 0; i < 2; i++) {
    char buf[64];
    while (recv(peers[i].fd, buf, sizeof buf, 0) > 0)
      ;
    close(peers[i].fd);
  }
  close(ls);
  return 0;
}
