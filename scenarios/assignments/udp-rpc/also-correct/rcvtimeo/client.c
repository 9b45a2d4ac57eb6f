/* udp-rpc, another correct design: a connected UDP socket and SO_RCVTIMEO
 * instead of poll().
 *
 * connect() fixes the server's address, so recv() returns only its
 * datagrams (and ECONNREFUSED after an ICMP error, which counts as no
 * answer).  Each wait sets SO_RCVTIMEO to what is left of the current
 * timeout.  It scores full marks as the poll() reference does.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: client HOST PORT N\n");
    return 2;
  }
  long n = atol(argv[3]);
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
  struct addrinfo *res;
  if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0)
    return 1;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  for (long i = 1; i <= n; i++) {
    char req[64], buf[128];
    int len = snprintf(req, sizeof req, "ADD %ld %ld %ld", i, i, i * i);
    int timeout = 200, answered = 0;
    for (int tries = 0; tries < 20 && !answered; tries++) {
      send(fd, req, (size_t)len, 0);
      long long deadline = now_ms() + timeout;
      for (long long left; !answered && (left = deadline - now_ms()) > 0;) {
        struct timeval tv = {.tv_sec = left / 1000,
                             .tv_usec = (left % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t k = recv(fd, buf, sizeof buf - 1, 0);
        if (k < 0)
          continue; /* timeout, or ECONNREFUSED: the deadline decides */
        buf[k] = '\0';
        long id, sum;
        if (sscanf(buf, "SUM %ld %ld", &id, &sum) != 2 || id != i)
          continue;
        if (sum != i + i * i) {
          fprintf(stderr, "request %ld: wrong answer %ld\n", i, sum);
          return 1;
        }
        answered = 1;
      }
      timeout = timeout * 2 > 500 ? 500 : timeout * 2;
    }
    if (!answered) {
      fprintf(stderr, "request %ld: no answer after 20 tries\n", i);
      return 1;
    }
  }
  close(fd);
  printf("%ld/%ld answers ok\n", n, n);
  return 0;
}
