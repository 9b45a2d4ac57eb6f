/* A client written for real networks: getaddrinfo over both families, then
 * each answer in the order it came (RFC 6724: IPv6 first when this host
 * can use it) until one echoes.
 *
 *   dual-client HOST PORT MESSAGE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT MESSAGE\n", argv[0]);
    return 2;
  }
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &res);
  if (e != 0) {
    fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(e));
    return 1;
  }
  char host[NI_MAXHOST];
  printf("%s has:", argv[1]);
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0,
                NI_NUMERICHOST);
    printf(" %s", host);
  }
  printf("\n");
  int ok = 0;
  for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
    const char *fam = ai->ai_family == AF_INET6 ? "IPv6" : "IPv4";
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0,
                NI_NUMERICHOST);
    int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s < 0 || connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
      printf("cannot use %s (%s): %s\n", host, fam, strerror(errno));
      if (s >= 0)
        close(s);
      continue;
    }
    send(s, argv[3], strlen(argv[3]), 0);
    struct pollfd p = {.fd = s, .events = POLLIN};
    char buf[2048];
    ssize_t n = -1;
    if (poll(&p, 1, 1000) == 1)
      n = recv(s, buf, sizeof buf, 0);
    if (n > 0) {
      printf("reached %s port %s over %s: \"%.*s\"\n", host, argv[2], fam,
             (int)n, buf);
      ok = 1;
    } else {
      printf("no answer from %s (%s)%s%s\n", host, fam, n < 0 ? ": " : "",
             n < 0 && errno ? strerror(errno) : "timed out");
    }
    close(s);
  }
  freeaddrinfo(res);
  if (!ok)
    printf("no address of %s answered\n", argv[1]);
  return ok ? 0 : 1;
}
