/* bulk-recv PORT: accepts one TCP connection on PORT and reads until the
 * sender closes.  Prints "received N bytes in T s" (from the first byte
 * to the end).  Plain POSIX C: it builds with cc too. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 5001;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) {
    perror("bind");
    return 1;
  }
  int fd = accept(ls, NULL, NULL);
  if (fd < 0) {
    perror("accept");
    return 1;
  }
  static char buf[65536];
  long long got = 0;
  double first = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      perror("recv");
      return 1;
    }
    if (n == 0)
      break;
    if (got == 0)
      first = now();
    got += n;
  }
  printf("received %lld bytes in %.6f s\n", got, got ? now() - first : 0.0);
  close(fd);
  close(ls);
  return 0;
}
