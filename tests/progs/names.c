/* Name lookup and interfaces answer from the scenario: run on host
 * "alice" (10.0.0.5 on lan, name alice.example.com) with "server" at
 * 10.0.0.1 (name srv.example.com). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../posix/check.h"

int main(void) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo("srv.example.com", "http", &hints, &res);
  CHECK("getaddrinfo-scenario-name", e == 0 && res != NULL);
  if (e == 0) {
    struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
    CHECK("getaddrinfo-address", a->sin_addr.s_addr == htonl(0x0a000001));
    CHECK("getaddrinfo-service-port", ntohs(a->sin_port) == 80);
    CHECK("getaddrinfo-one-stream-entry", res->ai_next == NULL &&
                                              res->ai_protocol == IPPROTO_TCP);
    freeaddrinfo(res);
  }
  CHECK("getaddrinfo-host-name-too",
        getaddrinfo("server", "7", &hints, &res) == 0);
  if (res)
    freeaddrinfo(res);
  res = NULL;
  CHECK("getaddrinfo-unknown-eai-noname",
        getaddrinfo("nowhere.invalid", "7", &hints, &res) == EAI_NONAME);
  CHECK("getaddrinfo-bad-service-eai-service",
        getaddrinfo("server", "no-such-service", &hints, &res) == EAI_SERVICE);
  hints.ai_flags = AI_NUMERICHOST;
  CHECK("getaddrinfo-numerichost-refuses-names",
        getaddrinfo("server", "7", &hints, &res) == EAI_NONAME);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(7),
                           .sin_addr.s_addr = htonl(0x0a000001)};
  char host[64], serv[16];
  CHECK("getnameinfo-reverse",
        getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, serv,
                    sizeof serv, 0) == 0 &&
            strcmp(host, "server") == 0 && strcmp(serv, "7") == 0);
  CHECK("getnameinfo-numeric",
        getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, NULL,
                    0, NI_NUMERICHOST) == 0 &&
            strcmp(host, "10.0.0.1") == 0);
  struct ifaddrs *ifa = NULL;
  CHECK("getifaddrs", getifaddrs(&ifa) == 0 && ifa != NULL);
  /* AF_INET entries (lo, eth0), then AF_INET6 ones (lo's ::1, as on
   * Linux with IPv6 enabled, even on a host without IPv6 addresses). */
  int n = 0, found = 0, n6 = 0;
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
    if (i->ifa_addr->sa_family == AF_INET6) {
      n6 += strcmp(i->ifa_name, "lo") == 0 &&
            IN6_IS_ADDR_LOOPBACK(
                &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
      continue;
    }
    n++;
    if (strcmp(i->ifa_name, "eth0") == 0 &&
        ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
            htonl(0x0a000005) &&
        ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr ==
            htonl(0xffffff00))
      found = 1;
  }
  CHECK("getifaddrs-lo-and-eth0", n == 2 && found);
  CHECK("getifaddrs-lo-ipv6-loopback", n6 == 1);
  freeifaddrs(ifa);
  CHECK("if-nametoindex-lo", if_nametoindex("lo") == 1);
  CHECK("if-nametoindex-eth0", if_nametoindex("eth0") == 2);
  CHECK("if-nametoindex-unknown", if_nametoindex("wlan7") == 0);
  char name[IF_NAMESIZE];
  CHECK("if-indextoname", if_indextoname(2, name) && strcmp(name, "eth0") == 0);
  /* The descriptor limit is Linux's default soft RLIMIT_NOFILE, 1024. */
  int n_open = 0, fd;
  while ((fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0)
    n_open++;
  CHECK("emfile-after-1021-sockets", errno == EMFILE && n_open == 1021);
  for (int i = 3; i < 3 + n_open; i++)
    close(i);
  CHECK("descriptors-reusable-after-close",
        (fd = socket(AF_INET, SOCK_DGRAM, 0)) == 3);
  return 0;
}
