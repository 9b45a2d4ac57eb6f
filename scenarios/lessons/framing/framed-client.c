/* The fix: frame the stream.  Read exactly 4 bytes of length, then loop
 * until exactly that many bytes of body have arrived, however many recv()
 * calls it takes.  Usage: framed-client HOST [PORT] */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int recvs; /* how many recv() calls the message took */

/* Read exactly len bytes; 0 on success, -1 on error or early EOF. */
static int recv_all(int fd, char *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = recv(fd, buf + off, len - off, 0);
    recvs++;
    if (n <= 0)
      return -1;
    off += (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *port = argc > 2 ? argv[2] : "9000";
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  if (argc < 2 || getaddrinfo(argv[1], port, &hints, &res) != 0) {
    fprintf(stderr, "usage: framed-client HOST [PORT]\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(res);
  uint32_t len;
  if (recv_all(fd, (char *)&len, 4) < 0) {
    printf("connection ended before the length\n");
    return 1;
  }
  len = ntohl(len);
  char *body = malloc(len);
  if (recv_all(fd, body, len) < 0) {
    printf("connection ended inside the body\n");
    return 1;
  }
  printf("got the whole message (%u bytes) in %d recv() calls\n", len, recvs);
  free(body);
  close(fd);
  return 0;
}
