/* One UDP echo server, three ways to wait for a datagram (§14.7-14.9).
 * Usage: udp-server MODE PORT COUNT
 *   blocking  recvfrom() sleeps in the kernel until a datagram arrives;
 *   busy      the socket is O_NONBLOCK and the loop retries recvfrom()
 *             until it stops failing with EAGAIN: a busy-wait that burns
 *             CPU on every empty call;
 *   poll      the socket is O_NONBLOCK, but poll() sleeps until it is
 *             readable, so recvfrom() is only called when it will succeed.
 * Echoes COUNT datagrams, prints how many calls came back empty, exits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: udp-server blocking|busy|poll PORT COUNT\n");
    return 2;
  }
  const char *mode = argv[1];
  int count = atoi(argv[3]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  if (strcmp(mode, "blocking") != 0)  /* busy and poll: non-blocking */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  long eagain = 0, wakeups = 0;
  for (int served = 0; served < count;) {
    if (strcmp(mode, "poll") == 0) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, -1);  /* sleeps until the socket is readable */
      wakeups++;
    }
    char buf[2048];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
                         &len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      eagain++;  /* nothing there yet: the busy loop just tries again */
      continue;
    }
    if (n < 0) {
      perror("recvfrom");
      return 1;
    }
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    served++;
  }
  printf("%s: served %d datagrams, %ld recvfrom() calls failed with EAGAIN",
         mode, count, eagain);
  if (strcmp(mode, "poll") == 0)
    printf(", %ld poll() wakeups", wakeups);
  printf("\n");
  close(fd);
  return 0;
}
