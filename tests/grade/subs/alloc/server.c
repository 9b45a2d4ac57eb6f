/* Allocates without bound (touching every page), up to 2 GiB. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  bind(s, (struct sockaddr *)&a, sizeof a);
  listen(s, 16);
  printf("listening on %d\n", port);
  return s;
}

int main(int argc, char **argv) {
  listen_on(atoi(argv[1]));
  for (int i = 0; i < 2048; i++) {
    char *p = malloc(1 << 20);
    memset(p, i, 1 << 20);
  }
  return 0;
}
