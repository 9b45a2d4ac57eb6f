/* One TCP echo server, three event-notification calls (textbook §14.9).
 * Usage: event-server select|poll|epoll PORT
 * After every wakeup it prints how many descriptors it had to look at to
 * find the ready ones:
 *   select  walks every descriptor number up to the highest: O(N);
 *   poll    walks its whole pollfd array: O(N);
 *   epoll   is handed only the ready ones: O(active). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 64

static const char *mode;
static int listener;
static int fds[MAX_FDS], nfds; /* select and poll: every open descriptor */

static void report(int ready, int looked_at) {
  printf("%s: %d ready, looked at %d descriptors\n", mode, ready, looked_at);
}

/* Serve one ready descriptor: accept on the listener, echo otherwise.
 * Returns 0, or -1 when the connection closed (the caller forgets it). */
static int handle(int fd) {
  if (fd == listener) {
    int c = accept(listener, NULL, NULL);
    if (c >= 0 && nfds < MAX_FDS)
      fds[nfds++] = c;
    return 0;
  }
  char buf[1024];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n <= 0) {
    close(fd);
    return -1;
  }
  send(fd, buf, (size_t)n, 0);
  return 0;
}

static void forget(int fd) {
  for (int i = 0; i < nfds; i++)
    if (fds[i] == fd)
      fds[i] = fds[--nfds];
}

static void loop_select(void) {
  for (;;) {
    fd_set set;  /* rebuilt every time: select() overwrites it */
    FD_ZERO(&set);
    int maxfd = 0;
    for (int i = 0; i < nfds; i++) {
      FD_SET(fds[i], &set);
      if (fds[i] > maxfd)
        maxfd = fds[i];
    }
    int ready = select(maxfd + 1, &set, NULL, NULL, NULL);
    int looked = 0;
    for (int fd = 0; fd <= maxfd; fd++) {  /* every number up to maxfd */
      looked++;
      if (FD_ISSET(fd, &set) && handle(fd) < 0)
        forget(fd);
    }
    report(ready, looked);
  }
}

static void loop_poll(void) {
  for (;;) {
    struct pollfd p[MAX_FDS];
    int n = nfds;
    for (int i = 0; i < n; i++)
      p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    int ready = poll(p, (nfds_t)n, -1);
    for (int i = 0; i < n; i++)  /* the whole array, ready or not */
      if ((p[i].revents & (POLLIN | POLLHUP)) && handle(p[i].fd) < 0)
        forget(p[i].fd);
    report(ready, n);
  }
}

static void loop_epoll(void) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);  /* registered once */
  for (;;) {
    struct epoll_event ready[MAX_FDS];
    int n = epoll_wait(ep, ready, MAX_FDS, -1);
    for (int i = 0; i < n; i++) {  /* only what is ready */
      int fd = ready[i].data.fd;
      int before = nfds;
      if (handle(fd) < 0)
        continue;  /* close() removed it from the epoll set */
      if (nfds > before) {  /* a new connection: register it, once */
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = fds[nfds - 1]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[nfds - 1], &cev);
      }
    }
    report(n, n);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: event-server select|poll|epoll PORT\n");
    return 2;
  }
  mode = argv[1];
  listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(listener, 32) < 0) {
    perror("bind/listen");
    return 1;
  }
  fds[nfds++] = listener;
  if (strcmp(mode, "select") == 0)
    loop_select();
  else if (strcmp(mode, "poll") == 0)
    loop_poll();
  else
    loop_epoll();
  return 0;
}
