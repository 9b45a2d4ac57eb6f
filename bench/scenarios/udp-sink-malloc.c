/* udp-sink.c with its buffer from malloc, as a student also writes it:
 * a few blocks of different sizes allocated and freed first (a small
 * one, a page, one large enough to be whole pages of its own), then the
 * receive buffer, kept.  bench/scenarios/hosts-behind-nats-malloc.nlab
 * runs one on every host: each program has a heap of its own. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7;
  static const size_t sizes[] = {24, 4096, 200000, 700};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char *p = malloc(sizes[i]);
    if (p == NULL) {
      perror("udp-sink: malloc");
      return 1;
    }
    memset(p, (int)i, sizes[i] < 64 ? sizes[i] : 64);
    free(p);
  }
  char *buf = malloc(2048);
  if (buf == NULL) {
    perror("udp-sink: malloc");
    return 1;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port)};
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("udp-sink");
    return 1;
  }
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(s, buf, 2048, 0, (struct sockaddr *)&peer, &len);
    if (n < 0)
      return 1;
    sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
  }
}
