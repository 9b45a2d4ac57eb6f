/* The program bench-procs runs in the lab (built with the natlab shim):
 *   bench-procs-pingpong server PORT
 *   bench-procs-pingpong client ADDR PORT COUNT
 * The client sends a 1-byte UDP datagram and blocks in recvfrom() until
 * the server's echo comes back, COUNT times; the server echoes forever.
 * Nothing is printed per round trip, so only the socket calls are timed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  char buf[16];
  if (strcmp(argv[1], "server") == 0) {
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
      return 1;
    for (;;) {
      struct sockaddr_in from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
                           &len);
      if (n >= 0)
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
  }
  if (argc < 5)
    return 2;
  inet_pton(AF_INET, argv[2], &a.sin_addr);
  a.sin_port = htons((unsigned short)atoi(argv[3]));
  long count = atol(argv[4]), ok = 0;
  for (long i = 0; i < count; i++) {
    buf[0] = (char)i;
    if (sendto(fd, buf, 1, 0, (struct sockaddr *)&a, sizeof a) != 1)
      return 1;
    ok += recvfrom(fd, buf, sizeof buf, 0, NULL, NULL) == 1 && buf[0] == (char)i;
  }
  printf("%ld of %ld round trips\n", ok, count);
  return ok == count ? 0 : 1;
}
