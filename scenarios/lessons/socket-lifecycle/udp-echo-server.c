/* The textbook's UDP server (§14.5), in C: one socket serves every client;
 * each datagram goes back to whoever sent it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void) {
  int server = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(8080);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  for (;;) {
    char data[4096];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(server, data, sizeof data, 0,
                         (struct sockaddr *)&from, &len);
    if (n < 0)
      continue;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    printf("Received %zd bytes from ('%s', %d)\n", n, ip,
           ntohs(from.sin_port));
    sendto(server, data, (size_t)n, 0, (struct sockaddr *)&from, len);
  }
}
