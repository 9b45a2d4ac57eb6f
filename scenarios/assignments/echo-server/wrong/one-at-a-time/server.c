/* echo-server, a classic wrong solution: one client at a time.
 *
 * The textbook's first server (§14.3) in C: blocking sockets, accept() one
 * client, echo its bytes until it leaves, then accept the next.  Each
 * echo is right (a byte stream echoed byte for byte keeps every line), it
 * sets SO_REUSEADDR and it loops on send(); but while one client is
 * connected every other one waits (§14.7: blocking I/O serves one
 * connection per thread).
 *
 * Loses: the "100 clients at once" and "1,100 clients at once" tests.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k < 0)
      return -1;
    b += k;
    n -= (size_t)k;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: server PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0) {
    perror("bind");
    return 1;
  }
  printf("listening on port %s\n", argv[1]);
  fflush(stdout);
  for (;;) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
      continue;
    char buf[4096];
    ssize_t n;
    /* BUG: nobody else is served until this client leaves. */
    while ((n = recv(c, buf, sizeof buf, 0)) > 0)
      if (send_all(c, buf, (size_t)n) < 0)
        break;
    close(c);
  }
}
