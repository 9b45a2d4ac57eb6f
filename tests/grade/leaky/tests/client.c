/* The tests' client: client HOST PORT TEXT sends TEXT and a newline,
 * prints what comes back up to the newline, and exits 0. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    return 1;
  }
  char line[512];
  snprintf(line, sizeof line, "%s\n", argv[3]);
  send(s, line, strlen(line), 0);
  char got[512];
  size_t n = 0;
  while (n < sizeof got - 1) {
    ssize_t r = recv(s, got + n, 1, 0);
    if (r <= 0)
      break;
    if (got[n++] == '\n')
      break;
  }
  got[n] = '\0';
  printf("echo: %s", got);
  close(s);
  return n > 0 && got[n - 1] == '\n' ? 0 : 1;
}
