/* resolve NAME...: prints "NAME -> ADDRESS" for each name getaddrinfo()
 * knows (IPv4), or "NAME -> error".  Plain POSIX. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(argv[i], "80", &hints, &res);
    if (e != 0) {
      printf("%s -> error\n", argv[i]);
      continue;
    }
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf,
              sizeof buf);
    printf("%s -> %s\n", argv[i], buf);
    freeaddrinfo(res);
  }
  return 0;
}
