/* The udp-rpc assignment's server (the instructor's program): answers
 * every request "ADD ID A B" with "SUM ID A+B", as README.md specifies.
 *
 *   rpc-server PORT [DELAY-MS]
 *
 * With DELAY-MS each answer leaves that long after its request arrived
 * (the server goes on receiving meanwhile), so a client that retransmits
 * after a shorter timeout gets two answers to one request.  A request
 * received twice is answered twice.  Anything else is ignored.
 *
 * Plain POSIX C: builds with cc for the real OS too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_PENDING 256

struct pending {
  long long due_ms;
  struct sockaddr_in to;
  char msg[64];
  int len;
};

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: rpc-server PORT [DELAY-MS]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int delay = argc > 2 ? atoi(argv[2]) : 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("bind");
    return 1;
  }
  static struct pending q[MAX_PENDING]; /* in arrival order */
  int nq = 0;
  for (;;) {
    int timeout = -1;
    if (nq > 0) {
      long long left = q[0].due_ms - now_ms();
      timeout = left > 0 ? (int)left : 0;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (timeout != 0 && poll(&p, 1, timeout) > 0) {
      char buf[512];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0,
                           (struct sockaddr *)&from, &fl);
      if (n <= 0)
        continue;
      buf[n] = '\0';
      unsigned long id;
      long x, y;
      char end;
      if (sscanf(buf, "ADD %lu %ld %ld%c", &id, &x, &y, &end) != 3 ||
          nq == MAX_PENDING)
        continue;
      struct pending *e = &q[nq++];
      e->due_ms = now_ms() + delay;
      e->to = from;
      e->len = snprintf(e->msg, sizeof e->msg, "SUM %lu %ld", id, x + y);
      continue;
    }
    while (nq > 0 && q[0].due_ms <= now_ms()) {
      sendto(fd, q[0].msg, (size_t)q[0].len, 0, (struct sockaddr *)&q[0].to,
             sizeof q[0].to);
      memmove(q, q + 1, (size_t)(nq - 1) * sizeof *q);
      nq--;
    }
  }
}
