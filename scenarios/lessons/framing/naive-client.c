/* THE BUG: one recv() is assumed to return one whole message.
 * Usage: naive-client HOST [PORT] */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *port = argc > 2 ? argv[2] : "9000";
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  if (argc < 2 || getaddrinfo(argv[1], port, &hints, &res) != 0) {
    fprintf(stderr, "usage: naive-client HOST [PORT]\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  char buf[65536];
  ssize_t n = recv(fd, buf, sizeof buf, 0);  /* ONE recv(): the bug */
  if (n < 4) {
    printf("recv returned %zd bytes: not even a length\n", n);
    return 1;
  }
  uint32_t len;
  memcpy(&len, buf, 4);
  len = ntohl(len);
  size_t got = (size_t)n - 4;
  close(fd);
  if (got < len) {
    printf("short read: message says %u bytes, one recv() gave %zu\n", len,
           got);
    return 1;
  }
  printf("got the whole message (%u bytes) in one recv()\n", len);
  return 0;
}
