/* Opens one TCP connection to each PORT on HOST.  An idle client (COUNT 0)
 * then just holds its connections open; an active one sends COUNT short
 * lines on each, one second apart, and waits for each echo.
 * Usage: client HOST COUNT PORT... */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: client HOST COUNT PORT...\n");
    return 2;
  }
  int count = atoi(argv[2]), nports = argc - 3, fds[8];
  for (int i = 0; i < nports && i < 8; i++) {
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    if (getaddrinfo(argv[1], argv[3 + i], &hints, &res) != 0)
      return 1;
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[i], res->ai_addr, res->ai_addrlen) < 0) {
      perror("connect");
      return 1;
    }
    freeaddrinfo(res);
  }
  int echoes = 0;
  for (int k = 1; k <= count; k++) {
    sleep(1);
    for (int i = 0; i < nports && i < 8; i++) {
      char line[32], buf[32];
      int len = snprintf(line, sizeof line, "message %d\n", k);
      send(fds[i], line, (size_t)len, 0);
      if (recv(fds[i], buf, sizeof buf, 0) > 0)
        echoes++;
    }
  }
  if (count > 0)
    printf("%d echoes received\n", echoes);
  /* Hold the connections open: each idle one costs select() and poll() a
   * look on every wakeup, and costs epoll nothing. */
  for (;;)
    sleep(3600);
}
