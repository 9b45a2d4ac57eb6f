/* echo-client, the reference solution.
 *
 *   client HOST PORT N SIZE
 *
 * Connects to a line echo server, then N times: sends a line of SIZE bytes
 * and a newline, and waits for its whole echo, at most 5 s.  Prints
 * "N/N echoes ok" and exits 0 when every echo came back intact; prints
 * what went wrong and exits 1 on any error, wrong echo or timeout.
 *
 * - TCP is a byte stream: an echo may come back in many recv() calls, so
 *   the client reads until it has SIZE + 1 bytes (textbook §14.6);
 * - every wait has a deadline (§14.14: "set timeouts on every blocking
 *   call"): connect() and each echo wait in poll() with what is left of
 *   5 s, so a dead server is noticed;
 * - poll() blocks: no busy-waiting while the echo is on its way.
 *
 * Plain POSIX: it builds with `cc -o client client.c` for the real OS and
 * with natlab-cc for the lab.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until @fd is ready for @events or @deadline passes.  Returns 1
 * when ready, 0 on timeout, -1 on error. */
static int wait_for(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0)
      return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    return r;
  }
}

/* Connects with a deadline: a non-blocking connect() finished by poll(). */
static int connect_to(const char *host, const char *port) {
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(host, port, &hints, &res);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", host, gai_strerror(e));
    return -1;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0) {
    perror("socket");
    freeaddrinfo(res);
    return -1;
  }
  int fl = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int r = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (r < 0 && errno != EINPROGRESS) {
    perror("connect");
    close(fd);
    return -1;
  }
  if (r < 0) {
    int err = 0;
    socklen_t len = sizeof err;
    if (wait_for(fd, POLLOUT, now_ms() + TIMEOUT_MS) != 1) {
      fprintf(stderr, "connect: no answer within %d ms\n", TIMEOUT_MS);
      close(fd);
      return -1;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fprintf(stderr, "connect: %s\n", strerror(err));
      close(fd);
      return -1;
    }
  }
  fcntl(fd, F_SETFL, fl); /* blocking again; every wait goes via poll() */
  return fd;
}

/* Sends all @n bytes: send() may take only part of them. */
static int send_all(int fd, const char *b, size_t n, long long deadline) {
  while (n > 0) {
    if (wait_for(fd, POLLOUT, deadline) != 1) {
      fprintf(stderr, "send: timed out\n");
      return -1;
    }
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        continue;
      perror("send");
      return -1;
    }
    b += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads exactly @n bytes into @b before @deadline. */
static int recv_all(int fd, char *b, size_t n, long long deadline) {
  size_t got = 0;
  while (got < n) {
    int r = wait_for(fd, POLLIN, deadline);
    if (r == 0) {
      fprintf(stderr, "no whole echo within %d ms (got %zu of %zu bytes)\n",
              TIMEOUT_MS, got, n);
      return -1;
    }
    if (r < 0) {
      perror("poll");
      return -1;
    }
    ssize_t k = recv(fd, b + got, n - got, 0);
    if (k == 0) {
      fprintf(stderr, "the server closed the connection (got %zu of %zu "
                      "bytes)\n", got, n);
      return -1;
    }
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      perror("recv");
      return -1;
    }
    got += (size_t)k;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: client HOST PORT N SIZE\n");
    return 2;
  }
  long n = strtol(argv[3], NULL, 10), size = strtol(argv[4], NULL, 10);
  if (n < 0 || size < 0 || size > 60000) {
    fprintf(stderr, "client: N must be >= 0 and SIZE from 0 to 60000\n");
    return 2;
  }
  int fd = connect_to(argv[1], argv[2]);
  if (fd < 0)
    return 1;
  char *line = malloc((size_t)size + 1), *echo = malloc((size_t)size + 1);
  if (line == NULL || echo == NULL)
    return 1;
  for (long i = 0; i < n; i++) {
    for (long k = 0; k < size; k++)
      line[k] = (char)('A' + (i + k) % 26);
    line[size] = '\n';
    long long deadline = now_ms() + TIMEOUT_MS;
    if (send_all(fd, line, (size_t)size + 1, deadline) < 0 ||
        recv_all(fd, echo, (size_t)size + 1, deadline) < 0) {
      fprintf(stderr, "line %ld of %ld failed\n", i + 1, n);
      close(fd);
      return 1;
    }
    if (memcmp(line, echo, (size_t)size + 1) != 0) {
      fprintf(stderr, "line %ld: the echo differs from the line\n", i + 1);
      close(fd);
      return 1;
    }
  }
  close(fd);
  free(line);
  free(echo);
  printf("%ld/%ld echoes ok\n", n, n);
  return 0;
}
