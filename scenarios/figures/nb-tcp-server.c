/* The textbook's TCP echo server (§14.3) in non-blocking mode (§14.8):
 * O_NONBLOCK on the listening socket and on the connection, so accept()
 * and recv() fail at once with EAGAIN/EWOULDBLOCK when nothing is there,
 * and poll() does the waiting.  For the figure's non-blocking variant.
 * Builds with plain cc and with natlab-cc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Waits (in poll, not in the call) until @fd has @events. */
static void wait_for(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  poll(&p, 1, -1);
}

int main(void) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(8080);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  listen(server, 5);
  nonblocking(server);
  int client;
  while ((client = accept(server, NULL, NULL)) < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      perror("accept");
      return 1;
    }
    wait_for(server, POLLIN); /* EAGAIN: no connection queued yet */
  }
  nonblocking(client);
  char buf[4096];
  for (;;) {
    ssize_t n = recv(client, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_for(client, POLLIN); /* nothing has arrived yet */
      continue;
    }
    if (n <= 0)
      break;
    send(client, buf, (size_t)n, 0);
  }
  close(client);
  close(server);
  return 0;
}
