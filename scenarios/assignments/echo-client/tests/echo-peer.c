/* The graded tests' server for the echo-client assignment (the
 * instructor's program, not the student's): a line echo server that can
 * misbehave in the ways a client must survive.  It serves one client and
 * exits.
 *
 *   echo-peer PORT normal        echoes every line as soon as it is whole
 *   echo-peer PORT trickle       echoes each line in 100-byte pieces, 5 ms
 *                                apart (every piece its own segment)
 *   echo-peer PORT delay MS      echoes each line MS milliseconds after it
 *                                arrived
 *   echo-peer PORT corrupt K     changes one byte in the echo of line K, and
 *                                says whether the client then closed the
 *                                connection or sent another line
 *   echo-peer PORT close K       echoes K lines, then half of the next one,
 *                                then closes the connection
 *
 * Plain POSIX C: builds with cc for the real OS too.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int send_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k <= 0)
      return -1;
    b += k;
    n -= (size_t)k;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: echo-peer PORT MODE [ARG]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argv[2];
  int arg = argc > 3 ? atoi(argv[3]) : 0;
  int lfd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 8) < 0) {
    perror("bind");
    return 1;
  }
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0)
    return 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  size_t cap = 70000, len = 0;
  char *buf = malloc(cap);
  int line = 0, corrupted = 0;
  for (;;) {
    ssize_t k = recv(fd, buf + len, cap - len, 0);
    if (k <= 0) {
      if (corrupted == line && corrupted > 0)
        printf("the client closed the connection after the changed echo\n");
      break;
    }
    len += (size_t)k;
    char *nl;
    while ((nl = memchr(buf, '\n', len)) != NULL) {
      size_t n = (size_t)(nl - buf) + 1;
      line++;
      if (strcmp(mode, "delay") == 0)
        pause_ms(arg);
      if (strcmp(mode, "corrupt") == 0 && line == arg) {
        buf[n / 2] ^= 1;
        corrupted = line;
      }
      if (corrupted > 0 && line == corrupted + 1)
        printf("the client sent line %d after the changed echo\n", line);
      if (strcmp(mode, "close") == 0 && line == arg + 1) {
        send_all(fd, buf, n / 2);
        pause_ms(100);
        close(fd);
        printf("closed the connection in the middle of line %d\n", line);
        return 0;
      }
      if (strcmp(mode, "trickle") == 0) {
        for (size_t off = 0; off < n; off += 100) {
          send_all(fd, buf + off, n - off < 100 ? n - off : 100);
          pause_ms(5);
        }
      } else if (send_all(fd, buf, n) < 0) {
        break;
      }
      memmove(buf, buf + n, len - n);
      len -= n;
    }
    if (len == cap)
      break; /* a line longer than 70,000 bytes */
  }
  printf("echoed %d lines\n", line);
  close(fd);
  return 0;
}
