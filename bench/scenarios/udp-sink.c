/* A UDP echo server as a student writes it: one socket, a static buffer,
 * a blocking recvfrom loop.  bench/scenarios/hosts-behind-nats.nlab runs
 * one on every host. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static char buf[2048];

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7;
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
    ssize_t n =
        recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
    if (n < 0)
      return 1;
    sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
  }
}
