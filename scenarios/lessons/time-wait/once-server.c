/* A TCP server that serves one client and exits, closing the connection
 * first (so its side of the connection sits in TIME_WAIT for 60 s).
 * Usage: once-server PORT [reuse]   ("reuse" sets SO_REUSEADDR, as the
 * textbook's server does). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  int reuse = argc > 2 && strcmp(argv[2], "reuse") == 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (reuse)
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    printf("bind failed: %s\n", strerror(errno));
    return 1;
  }
  listen(s, 4);
  printf("listening on %d%s\n", port, reuse ? " with SO_REUSEADDR" : "");
  int c = accept(s, NULL, NULL);
  char buf[256];
  ssize_t n = recv(c, buf, sizeof buf, 0);
  if (n > 0)
    send(c, buf, (size_t)n, 0);
  close(c); /* we close first: TIME_WAIT is on our side */
  close(s);
  printf("served one client, exiting\n");
  return 0;
}
