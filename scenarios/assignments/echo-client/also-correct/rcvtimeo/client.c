/* echo-client, another correct design: blocking calls with SO_RCVTIMEO
 * and SO_SNDTIMEO instead of poll().
 *
 * The socket's timeouts are set to what is left of the echo's 5 s before
 * each call, so no call waits past the deadline; recv() is looped until
 * the whole echo is in.  It scores full marks as the poll() reference
 * does.
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

/* Sets both timeouts to what is left until @deadline; -1 when none is. */
static int left_until(int fd, long long deadline) {
  long long left = deadline - now_ms();
  if (left <= 0)
    return -1;
  struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: client HOST PORT N SIZE\n");
    return 2;
  }
  long n = atol(argv[3]), size = atol(argv[4]);
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  if (n < 0 || size < 0 || size > 60000 ||
      getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
    fprintf(stderr, "client: bad arguments\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  left_until(fd, now_ms() + 5000); /* Linux: SO_SNDTIMEO bounds connect() */
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  char *line = malloc((size_t)size + 1), *echo = malloc((size_t)size + 1);
  for (long i = 0; i < n; i++) {
    for (long k = 0; k < size; k++)
      line[k] = (char)('a' + (i * 7 + k) % 26);
    line[size] = '\n';
    long long deadline = now_ms() + 5000;
    size_t done = 0, want = (size_t)size + 1;
    while (done < want) {
      if (left_until(fd, deadline) < 0) {
        fprintf(stderr, "line %ld: send timed out\n", i + 1);
        return 1;
      }
      ssize_t k = send(fd, line + done, want - done, MSG_NOSIGNAL);
      if (k < 0 && errno != EINTR && errno != EAGAIN) {
        perror("send");
        return 1;
      }
      if (k > 0)
        done += (size_t)k;
    }
    done = 0;
    while (done < want) {
      if (left_until(fd, deadline) < 0) {
        fprintf(stderr, "line %ld: no whole echo within 5 s\n", i + 1);
        return 1;
      }
      ssize_t k = recv(fd, echo + done, want - done, 0);
      if (k == 0) {
        fprintf(stderr, "line %ld: the server closed the connection\n", i + 1);
        return 1;
      }
      if (k < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
          continue; /* the timeout: the loop checks the deadline */
        perror("recv");
        return 1;
      }
      done += (size_t)k;
    }
    if (memcmp(line, echo, want) != 0) {
      fprintf(stderr, "line %ld: wrong echo\n", i + 1);
      return 1;
    }
  }
  close(fd);
  printf("%ld/%ld echoes ok\n", n, n);
  return 0;
}
