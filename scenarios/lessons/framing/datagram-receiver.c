/* Receives two datagrams with two recvfrom() calls into a buffer big
 * enough for both, and prints each size: UDP neither splits a datagram
 * nor merges two.  Usage: datagram-receiver PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 9001;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)port);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  for (int i = 1; i <= 2; i++) {
    char buf[65536]; /* room for both: still only one comes back */
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, NULL, NULL);
    printf("recvfrom #%d: one datagram of %zd bytes\n", i, n);
  }
  close(fd);
  return 0;
}
