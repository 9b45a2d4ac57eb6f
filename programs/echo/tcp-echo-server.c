/* tcp-echo-server [PORT]: the textbook's TCP echo server (§14.3): a
 * listening socket with SO_REUSEADDR on PORT (8080 by default), one
 * connection at a time, every byte received sent back until the client
 * closes.  An ordinary POSIX program: it builds with plain cc and runs
 * unchanged inside natlab.  No mutable globals: natlab loads it once for
 * every host that runs it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* send() until everything is out (the chapter's sendall). */
static int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  char *end = NULL;
  long port = argc > 1 ? strtol(argv[1], &end, 10) : 8080;
  if (argc > 2 || (end != NULL && *end != '\0') || port < 1 || port > 65535) {
    fprintf(stderr, "usage: tcp-echo-server [PORT]\n");
    return 2;
  }
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (server < 0) {
    perror("socket");
    return 1;
  }
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)port);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  if (listen(server, 5) < 0) {
    perror("listen");
    return 1;
  }
  printf("Listening on port %ld\n", port);
  fflush(stdout);
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int client = accept(server, (struct sockaddr *)&peer, &len);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      perror("accept");
      return 1;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    printf("Connected: ('%s', %d)\n", ip, ntohs(peer.sin_port));
    fflush(stdout);
    char buf[4096];
    for (;;) {
      ssize_t n = recv(client, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || send_all(client, buf, (size_t)n) < 0)
        break;
    }
    close(client);
  }
}
