/* udp-echo-client HOST PORT MESSAGE [COUNT] [INTERVAL_MS]: sends MESSAGE
 * COUNT times, waits up to a second for each echo, and exits 0 only if
 * every echo came back intact.  Plain POSIX; no mutable globals. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT MESSAGE [COUNT] [INTERVAL_MS]\n",
            argv[0]);
    return 2;
  }
  int count = argc > 4 ? atoi(argv[4]) : 1;
  int interval_ms = argc > 5 ? atoi(argv[5]) : 1000;
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &res);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(e));
    return 1;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0) {
    perror("socket");
    freeaddrinfo(res);
    return 1;
  }
  struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t len = strlen(argv[3]);
  int ok = 0;
  for (int i = 0; i < count; i++) {
    if (sendto(fd, argv[3], len, 0, res->ai_addr, res->ai_addrlen) < 0) {
      perror("sendto");
      continue;
    }
    char buf[65536];
    ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, NULL, NULL);
    if (n < 0) {
      printf("no echo: %s\n", errno == EAGAIN ? "timed out" : strerror(errno));
    } else {
      buf[n] = '\0';
      printf("echo: %s\n", buf);
      ok += (size_t)n == len && memcmp(buf, argv[3], len) == 0;
    }
    if (i + 1 < count) {
      struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  printf("%d of %d echoes received\n", ok, count);
  close(fd);
  freeaddrinfo(res);
  return ok == count ? 0 : 1;
}
