/* The textbook's TCP client (§14.4), in C: connect, send a line, print the
 * reply, close.  Usage: tcp-echo-client [HOST] [PORT] */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  const char *port = argc > 2 ? argv[2] : "8080";
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(host, port, &hints, &res);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", host, gai_strerror(e));
    return 1;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    perror("connect");
    freeaddrinfo(res);
    return 1;
  }
  freeaddrinfo(res);
  const char msg[] = "hello, server\n";
  size_t off = 0;
  while (off < sizeof msg - 1) {
    ssize_t n = send(fd, msg + off, sizeof msg - 1 - off, 0);
    if (n < 0) {
      perror("send");
      return 1;
    }
    off += (size_t)n;
  }
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  if (n < 0) {
    perror("recv");
    return 1;
  }
  buf[n] = '\0';
  printf("Server replied: %s", buf);
  close(fd);
  return 0;
}
