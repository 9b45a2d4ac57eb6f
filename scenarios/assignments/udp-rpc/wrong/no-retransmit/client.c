/* udp-rpc, a classic wrong solution: a timeout but no retransmission.
 *
 * The reference client, except that it waits 2 s for an answer and then
 * gives up at once instead of sending the request again.  It never hangs, but over
 * a lossy link the first lost datagram ends the run: UDP does not
 * retransmit, so the application must.
 *
 * Loses: "30 % loss".
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIRST_TIMEOUT_MS 2000 /* a generous timeout ... */
#define MAX_TIMEOUT_MS 500
#define MAX_TRIES 1 /* BUG: ... but one transmission, no retransmission */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends request @id and waits for its answer, retransmitting.  Returns 0
 * with the answer in *@sum, or -1. */
static int ask(int fd, const struct addrinfo *srv, long id, long a, long b,
               long *sum) {
  char req[64];
  int len = snprintf(req, sizeof req, "ADD %ld %ld %ld", id, a, b);
  int timeout = FIRST_TIMEOUT_MS;
  for (int tries = 0; tries < MAX_TRIES; tries++) {
    if (sendto(fd, req, (size_t)len, 0, srv->ai_addr, srv->ai_addrlen) < 0) {
      perror("sendto");
      return -1;
    }
    long long deadline = now_ms() + timeout;
    for (;;) {
      long long left = deadline - now_ms();
      if (left <= 0)
        break; /* retransmit */
      struct pollfd p = {.fd = fd, .events = POLLIN};
      int r = poll(&p, 1, (int)left);
      if (r < 0 && errno != EINTR) {
        perror("poll");
        return -1;
      }
      if (r <= 0)
        continue;
      char buf[512];
      struct sockaddr_storage from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0,
                           (struct sockaddr *)&from, &fl);
      if (n < 0)
        continue; /* e.g. ECONNREFUSED from an ICMP error: keep trying */
      buf[n] = '\0';
      long got_id, got_sum;
      char end;
      if (sscanf(buf, "SUM %ld %ld%c", &got_id, &got_sum, &end) != 2)
        continue; /* not an answer */
      if (got_id != id)
        continue; /* a late answer to an earlier request */
      *sum = got_sum;
      return 0;
    }
    timeout = timeout * 2 > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : timeout * 2;
  }
  fprintf(stderr, "request %ld: no answer after %d tries\n", id, MAX_TRIES);
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: client HOST PORT N\n");
    return 2;
  }
  long n = strtol(argv[3], NULL, 10);
  struct addrinfo hints, *srv;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &srv);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(e));
    return 1;
  }
  int fd = socket(srv->ai_family, srv->ai_socktype, srv->ai_protocol);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  for (long i = 1; i <= n; i++) {
    long sum;
    if (ask(fd, srv, i, i, i * i, &sum) < 0) {
      close(fd);
      freeaddrinfo(srv);
      return 1;
    }
    if (sum != i + i * i) {
      fprintf(stderr, "request %ld: wrong answer %ld, expected %ld\n", i, sum,
              i + i * i);
      close(fd);
      freeaddrinfo(srv);
      return 1;
    }
  }
  close(fd);
  freeaddrinfo(srv);
  printf("%ld/%ld answers ok\n", n, n);
  return 0;
}
