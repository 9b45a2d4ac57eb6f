/* The textbook's busy-wait (§14.8): retry a non-blocking recv() in a loop
 * until a datagram arrives, counting the wasted calls. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(9000);
  bind(fd, (struct sockaddr *)&a, sizeof a);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  long spins = 0;
  char buf[64];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n >= 0)
      break;
    if (errno != EAGAIN)
      return 1;
    spins++;
  }
  printf("got a datagram after %ld wasted calls\n", spins);
  return 0;
}
