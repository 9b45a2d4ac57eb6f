/* Sends one datagram to 10.0.0.10:7 and prints the reply, waiting at most
 * a second: no retransmission, so a lost datagram means no reply. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

int main(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct timeval tv = {1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(7);
  inet_pton(AF_INET, "10.0.0.10", &a.sin_addr);
  sendto(s, "ping", 4, 0, (struct sockaddr *)&a, sizeof a);
  char buf[64];
  ssize_t n = recv(s, buf, sizeof buf - 1, 0);
  if (n <= 0) {
    printf("no reply\n");
    return 1;
  }
  buf[n] = '\0';
  printf("reply: %s\n", buf);
  return 0;
}
