/* The textbook's multi-user chat server (§14.13), in C with epoll: one
 * thread, level-triggered readiness, every line a client sends goes to all
 * the others.  Usage: chat-server [PORT] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64

static void send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    buf += n;
    len -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(server, 16) < 0) {
    perror("bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = server};
  epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev);
  int clients[MAX_CLIENTS];
  int n_clients = 0;
  printf("Chat server on port %d\n", port);
  for (;;) {
    struct epoll_event events[16];
    int n = epoll_wait(ep, events, 16, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == server) {
        int c = accept(server, NULL, NULL);
        if (c < 0)
          continue;
        if (n_clients == MAX_CLIENTS) {
          close(c);
          continue;
        }
        clients[n_clients++] = c;
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        printf("client joined (%d connected)\n", n_clients);
        continue;
      }
      char buf[4096];
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        for (int k = 0; k < n_clients; k++)
          if (clients[k] == fd)
            clients[k] = clients[--n_clients];
        printf("client left (%d connected)\n", n_clients);
        continue;
      }
      for (int k = 0; k < n_clients; k++)
        if (clients[k] != fd)
          send_all(clients[k], buf, (size_t)got);
    }
  }
}
