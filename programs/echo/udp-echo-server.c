/* udp-echo-server [PORT]: sends every datagram back to where it came from
 * (textbook §14.5).  An ordinary POSIX program: it builds with plain cc and
 * runs unchanged inside natlab.  No mutable globals: natlab loads it once
 * for every host that runs it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)port);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  printf("listening on UDP port %d\n", port);
  for (;;) {
    char buf[65536];
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
                         &fromlen);
    if (n < 0) {
      perror("recvfrom");
      continue;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    printf("received %zd bytes from %s:%d\n", n, ip, ntohs(from.sin_port));
    if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen) < 0)
      perror("sendto");
  }
}
