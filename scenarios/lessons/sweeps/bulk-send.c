/* bulk-send HOST PORT [BYTES [SECONDS]]: connects to HOST:PORT over TCP
 * and sends BYTES bytes (0: without end) as fast as TCP takes them, for at
 * most SECONDS seconds, then closes.  Prints "sent N bytes" when done.
 * Plain POSIX C: it builds with cc too. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s HOST PORT [BYTES [SECONDS]]\n", argv[0]);
    return 2;
  }
  long long total = argc > 3 ? atoll(argv[3]) : 0;
  double seconds = argc > 4 ? atof(argv[4]) : 0;
  if (total <= 0)
    total = -1;
  struct addrinfo hints = {0}, *ai;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &ai);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(e));
    return 1;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(ai);
  static char buf[16384];
  memset(buf, 'x', sizeof buf);
  long long sent = 0;
  double end = seconds > 0 ? now() + seconds : 0;
  while ((total < 0 || sent < total) && (end == 0 || now() < end)) {
    size_t n = sizeof buf;
    if (total >= 0 && (long long)n > total - sent)
      n = (size_t)(total - sent);
    ssize_t w = send(fd, buf, n, 0);
    if (w < 0) {
      perror("send");
      return 1;
    }
    sent += w;
  }
  close(fd);
  printf("sent %lld bytes\n", sent);
  return 0;
}
