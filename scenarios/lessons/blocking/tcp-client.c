/* Connects, sends 3 lines one second apart, waits for each echo, and
 * prints how long the whole conversation took (from before connect()).
 * Usage: tcp-client HOST PORT NAME */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  if (argc < 4 || getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
    fprintf(stderr, "usage: tcp-client HOST PORT NAME\n");
    return 2;
  }
  double start = now();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  for (int i = 1; i <= 3; i++) {
    char line[64], echo[64];
    int len = snprintf(line, sizeof line, "%s line %d\n", argv[3], i);
    send(fd, line, (size_t)len, 0);
    /* The echo is short enough to come back in one segment on this LAN;
     * real code would frame it (see scenarios/lessons/framing). */
    ssize_t n = recv(fd, echo, sizeof echo, 0);
    if (n <= 0)
      return 1;
    if (i < 3)
      sleep(1);
  }
  close(fd);
  printf("%s: 3 echoes in %.1f s\n", argv[3], now() - start);
  return 0;
}
