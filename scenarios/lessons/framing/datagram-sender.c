/* UDP keeps message boundaries: two sendto() calls make two datagrams,
 * and each recvfrom() on the other side returns exactly one of them.
 * Usage: datagram-sender HOST PORT */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
  struct addrinfo *res;
  if (argc < 3 || getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
    fprintf(stderr, "usage: datagram-sender HOST PORT\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  char big[1000];
  memset(big, 'x', sizeof big);
  const char small[] = "a short second one";
  /* Back to back: 1000 bytes (more than a 576-byte MTU carries in one IP
   * packet, so IP fragments it), then 18 bytes. */
  ssize_t a = sendto(fd, big, sizeof big, 0, res->ai_addr, res->ai_addrlen);
  ssize_t b = sendto(fd, small, strlen(small), 0, res->ai_addr,
                     res->ai_addrlen);
  printf("sendto: %zd bytes, then %zd bytes\n", a, b);
  freeaddrinfo(res);
  close(fd);
  return 0;
}
