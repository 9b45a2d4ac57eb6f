/* The textbook's TCP echo server (§14.3), in C: socket, SO_REUSEADDR,
 * bind, listen, then accept one connection at a time and echo what it
 * sends until it closes.  Builds with plain cc and with natlab-cc. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, 0);
    if (n < 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
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
  printf("Listening on port 8080\n");
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int client = accept(server, (struct sockaddr *)&peer, &len);
    if (client < 0) {
      perror("accept");
      continue;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    printf("Connected: ('%s', %d)\n", ip, ntohs(peer.sin_port));
    char buf[4096];
    ssize_t n;
    while ((n = recv(client, buf, sizeof buf, 0)) > 0)
      if (send_all(client, buf, (size_t)n) < 0)
        break;
    close(client);
  }
}
