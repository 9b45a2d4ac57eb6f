/* probe ADDRESS PORT: connects to ADDRESS:PORT over TCP, then sends one
 * UDP datagram there on a connected socket and waits a second for an
 * answer; prints what each got ("tcp ADDRESS: Connection refused").
 * Plain POSIX: it builds with cc and runs in the lab through natlab-cc. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: probe ADDRESS PORT\n");
    return 2;
  }
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1)
    return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  printf("tcp %s: %s\n", argv[1], rc == 0 ? "connected" : strerror(errno));
  close(fd);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct timeval tv = {1, 0};
  setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char b[16];
  ssize_t n = -1;
  if (connect(u, (struct sockaddr *)&a, sizeof a) == 0 &&
      send(u, "probe", 5, 0) == 5)
    n = recv(u, b, sizeof b, 0);
  printf("udp %s: %s\n", argv[1], n >= 0 ? "answered" : strerror(errno));
  close(u);
  return 0;
}
