/* The same TCP echo server as event-server.c, with kqueue: the BSD and
 * macOS mechanism (textbook §14.9).  Usage: kqueue-server PORT
 * Like epoll, kevent() hands back only the descriptors that are ready,
 * each with how much it has to read (data), so a wakeup costs O(active),
 * not O(N).  Written for FreeBSD and macOS (<sys/event.h>); natlab-cc
 * provides the header on Linux and the lab answers kqueue and kevent. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kqueue-server PORT\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(listener, 32) < 0) {
    perror("bind/listen");
    return 1;
  }
  int kq = kqueue();
  struct kevent change;
  /* Registered once, like epoll_ctl: readable means a connection waits. */
  EV_SET(&change, listener, EVFILT_READ, EV_ADD, 0, 0, NULL);
  kevent(kq, &change, 1, NULL, 0, NULL);
  for (;;) {
    struct kevent ready[MAX_EVENTS];
    int n = kevent(kq, NULL, 0, ready, MAX_EVENTS, NULL);
    for (int i = 0; i < n; i++) { /* only what is ready */
      int fd = (int)ready[i].ident;
      if (fd == listener) {
        /* data: the connections waiting to be accepted. */
        for (int64_t k = 0; k < ready[i].data; k++) {
          int c = accept(listener, NULL, NULL);
          if (c < 0)
            break;
          EV_SET(&change, c, EVFILT_READ, EV_ADD, 0, 0, NULL);
          kevent(kq, &change, 1, NULL, 0, NULL);
        }
        continue;
      }
      char buf[1024];
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got <= 0 || (ready[i].flags & EV_EOF && got == 0)) {
        close(fd); /* its events go with the last close */
        continue;
      }
      send(fd, buf, (size_t)got, 0);
    }
    printf("kqueue: %d ready, looked at %d descriptors\n", n, n);
  }
}
