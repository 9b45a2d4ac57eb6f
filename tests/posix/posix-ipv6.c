/* IPv6 sockets over ::1 and 127.0.0.1: dual-stack and v6-only UDP
 * sockets, v4-mapped peers, the IPv6 socket options Linux accepts, and
 * getaddrinfo over both families (numeric names and a NULL node only: the
 * answers for names depend on the machine's configuration). */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static struct sockaddr_in6 six(const char *addr, int port) {
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((unsigned short)port);
  inet_pton(AF_INET6, addr, &a.sin6_addr);
  return a;
}

static struct sockaddr_in four(const char *addr, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, addr, &a.sin_addr);
  return a;
}

static int port6(int fd) {
  struct sockaddr_in6 a;
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  return ntohs(a.sin6_port);
}

static int readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 200) == 1;
}

/* "family:address" of each answer, joined by spaces. */
static void gai_list(const char *node, int family, int flags, char *out,
                     size_t n, int *rc) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = flags;
  out[0] = '\0';
  *rc = getaddrinfo(node, "7", &hints, &res);
  if (*rc != 0)
    return;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN];
    if (ai->ai_family == AF_INET6)
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
                ip, sizeof ip);
    else
      inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip,
                sizeof ip);
    size_t l = strlen(out);
    snprintf(out + l, n - l, "%s%d:%s", l ? " " : "",
             ai->ai_family == AF_INET6 ? 6 : 4, ip);
  }
  freeaddrinfo(res);
}

int main(void) {
  char buf[256];
  int rc;
  /* A machine without IPv6 (::1) cannot be compared with. */
  int probe = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 plo = six("::1", 0);
  if (probe < 0 || bind(probe, (struct sockaddr *)&plo, sizeof plo) < 0) {
    printf("UNAVAILABLE ipv6 (no ::1)\n");
    return 0;
  }
  close(probe);

  /* getaddrinfo: a NULL node gives both families (passive: 0.0.0.0 then
   * ::; active: ::1 then 127.0.0.1), numeric IPv6 names parse. */
  gai_list(NULL, AF_UNSPEC, AI_PASSIVE, buf, sizeof buf, &rc);
  CHECK("gai-null-passive-both-families",
        rc == 0 && strcmp(buf, "4:0.0.0.0 6:::") == 0);
  gai_list(NULL, AF_UNSPEC, 0, buf, sizeof buf, &rc);
  CHECK("gai-null-active-loopbacks",
        rc == 0 && strcmp(buf, "6:::1 4:127.0.0.1") == 0);
  gai_list(NULL, AF_INET6, AI_PASSIVE, buf, sizeof buf, &rc);
  CHECK("gai-null-passive-inet6", rc == 0 && strcmp(buf, "6:::") == 0);
  gai_list("::1", AF_UNSPEC, 0, buf, sizeof buf, &rc);
  CHECK("gai-numeric-loopback6", rc == 0 && strcmp(buf, "6:::1") == 0);
  gai_list("::", AF_UNSPEC, 0, buf, sizeof buf, &rc);
  CHECK("gai-numeric-any6", rc == 0 && strcmp(buf, "6:::") == 0);
  gai_list("::ffff:192.0.2.10", AF_UNSPEC, 0, buf, sizeof buf, &rc);
  CHECK("gai-numeric-v4mapped",
        rc == 0 && strcmp(buf, "6:::ffff:192.0.2.10") == 0);
  gai_list("2001:DB8:0:0:0:0:0:5", AF_UNSPEC, 0, buf, sizeof buf, &rc);
  CHECK("gai-numeric-rfc5952-text", rc == 0 && strcmp(buf, "6:2001:db8::5") == 0);
  gai_list("::1", AF_INET, 0, buf, sizeof buf, &rc);
  CHECK("gai-v6-name-for-inet-eai-addrfamily", rc == EAI_ADDRFAMILY);
  gai_list("192.0.2.10", AF_INET6, 0, buf, sizeof buf, &rc);
  CHECK("gai-v4-name-for-inet6-eai-addrfamily", rc == EAI_ADDRFAMILY);
  gai_list("192.0.2.10", AF_INET6, AI_V4MAPPED, buf, sizeof buf, &rc);
  CHECK("gai-v4-name-v4mapped",
        rc == 0 && strcmp(buf, "6:::ffff:192.0.2.10") == 0);
  gai_list("::1%99999", AF_UNSPEC, AI_NUMERICHOST, buf, sizeof buf, &rc);
  CHECK("gai-numeric-scope-id", rc == 0 && strcmp(buf, "6:::1") == 0);

  /* A dual-stack UDP socket on :: takes IPv4 datagrams, whose sender
   * reads as a v4-mapped address. */
  int ds = socket(AF_INET6, SOCK_DGRAM, 0);
  int v = -1;
  socklen_t vl = sizeof v;
  CHECK("v6only-default-off",
        getsockopt(ds, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl) == 0 && v == 0);
  struct sockaddr_in6 any = six("::", 0);
  CHECK("dual-bind-any", bind(ds, (struct sockaddr *)&any, sizeof any) == 0);
  int pds = port6(ds);
  v = 1;
  CHECK_ERR("v6only-after-bind-einval",
            setsockopt(ds, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v), EINVAL);
  int c4 = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to4 = four("127.0.0.1", pds);
  CHECK("v4-to-dual-sendto",
        sendto(c4, "four", 4, 0, (struct sockaddr *)&to4, sizeof to4) == 4);
  struct sockaddr_in6 from;
  socklen_t fl = sizeof from;
  char ip[INET6_ADDRSTRLEN] = "";
  CHECK("dual-receives-v4",
        readable(ds) && recvfrom(ds, buf, sizeof buf, 0,
                                 (struct sockaddr *)&from, &fl) == 4);
  inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
  CHECK("dual-sender-is-v4mapped", from.sin6_family == AF_INET6 &&
                                       fl == sizeof from &&
                                       strcmp(ip, "::ffff:127.0.0.1") == 0);
  CHECK("dual-replies-to-v4mapped",
        sendto(ds, "back", 4, 0, (struct sockaddr *)&from, fl) == 4);
  CHECK("v4-gets-reply", readable(c4) && recv(c4, buf, sizeof buf, 0) == 4);
  struct sockaddr_in6 lo6 = six("::1", pds);
  int c6 = socket(AF_INET6, SOCK_DGRAM, 0);
  CHECK("v6-to-dual-sendto",
        sendto(c6, "six!", 4, 0, (struct sockaddr *)&lo6, sizeof lo6) == 4);
  fl = sizeof from;
  CHECK("dual-receives-v6",
        readable(ds) && recvfrom(ds, buf, sizeof buf, 0,
                                 (struct sockaddr *)&from, &fl) == 4);
  inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
  CHECK("v6-sender-is-loopback6", strcmp(ip, "::1") == 0);
  /* A dual-stack socket sends to an AF_INET address as well. */
  CHECK("dual-sendto-sockaddr-in",
        sendto(c6, "x", 1, 0, (struct sockaddr *)&to4, sizeof to4) == 1);
  fl = sizeof from;
  CHECK("dual-from-dual-v4",
        readable(ds) && recvfrom(ds, buf, sizeof buf, 0,
                                 (struct sockaddr *)&from, &fl) == 1);
  inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
  CHECK("dual-from-dual-v4-is-mapped", strcmp(ip, "::ffff:127.0.0.1") == 0);

  /* A v6-only socket refuses IPv4 peers. */
  int v6o = socket(AF_INET6, SOCK_DGRAM, 0);
  v = 1;
  CHECK("v6only-set", setsockopt(v6o, IPPROTO_IPV6, IPV6_V6ONLY, &v,
                                 sizeof v) == 0);
  struct sockaddr_in6 mapped = six("::ffff:127.0.0.1", pds);
  CHECK_ERR("v6only-sendto-v4mapped-enetunreach",
            sendto(v6o, "x", 1, 0, (struct sockaddr *)&mapped, sizeof mapped),
            ENETUNREACH);
  CHECK_ERR("v6only-connect-v4mapped-enetunreach",
            connect(v6o, (struct sockaddr *)&mapped, sizeof mapped),
            ENETUNREACH);
  CHECK_ERR("v6only-sendto-sockaddr-in-enetunreach",
            sendto(v6o, "x", 1, 0, (struct sockaddr *)&to4, sizeof to4),
            ENETUNREACH);
  struct sockaddr_in6 bmapped = six("::ffff:127.0.0.1", 0);
  CHECK_ERR("v6only-bind-v4mapped-einval",
            bind(v6o, (struct sockaddr *)&bmapped, sizeof bmapped), EINVAL);
  /* The refused calls bound a port first, as inet_send_prepare and
   * inet_dgram_connect do. */
  CHECK("v6only-refusals-left-a-port", port6(v6o) != 0);
  close(v6o);
  v6o = socket(AF_INET6, SOCK_DGRAM, 0);
  setsockopt(v6o, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v);
  struct sockaddr_in6 any2 = six("::", 0);
  CHECK("v6only-bind-any", bind(v6o, (struct sockaddr *)&any2, sizeof any2) == 0);
  int pv6o = port6(v6o);
  /* A v4 datagram to its port finds nobody: port unreachable. */
  int c4b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to4b = four("127.0.0.1", pv6o);
  CHECK("v4-connect-to-v6only-port",
        connect(c4b, (struct sockaddr *)&to4b, sizeof to4b) == 0);
  CHECK("v4-send-to-v6only-port", send(c4b, "x", 1, 0) == 1);
  CHECK("v6only-did-not-receive-v4", !readable(v6o));
  CHECK_ERR("v4-sender-gets-econnrefused", recv(c4b, buf, sizeof buf, 0),
            ECONNREFUSED);
  /* ...and a v4 socket may take the same port then. */
  int s4 = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in b4 = four("0.0.0.0", pv6o);
  CHECK("v4-binds-v6only-port", bind(s4, (struct sockaddr *)&b4, sizeof b4) == 0);
  /* While a dual-stack :: holds the v4 side of its port. */
  int s4b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in b4b = four("0.0.0.0", pds);
  CHECK_ERR("v4-bind-dual-port-eaddrinuse",
            bind(s4b, (struct sockaddr *)&b4b, sizeof b4b), EADDRINUSE);

  /* TCP: a v6-only socket cannot connect to a v4-mapped address. */
  int t6 = socket(AF_INET6, SOCK_STREAM, 0);
  v = 1;
  setsockopt(t6, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v);
  CHECK_ERR("tcp-v6only-connect-v4mapped-enetunreach",
            connect(t6, (struct sockaddr *)&mapped, sizeof mapped),
            ENETUNREACH);
  CHECK_ERR("tcp-inet6-connect-short-sockaddr-einval",
            connect(t6, (struct sockaddr *)&to4, sizeof to4), EINVAL);

  /* IPv6 socket options Linux accepts. */
  int o = socket(AF_INET6, SOCK_DGRAM, 0);
  v = 0x28;
  CHECK("ipv6-tclass-set",
        setsockopt(o, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v) == 0);
  v = -1;
  vl = sizeof v;
  CHECK("ipv6-tclass-get",
        getsockopt(o, IPPROTO_IPV6, IPV6_TCLASS, &v, &vl) == 0 && v == 0x28);
  v = 256;
  CHECK_ERR("ipv6-tclass-256-einval",
            setsockopt(o, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v), EINVAL);
  v = IPV6_PMTUDISC_DO;
  CHECK("ipv6-mtu-discover-set",
        setsockopt(o, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof v) == 0);
  v = 33;
  CHECK("ipv6-unicast-hops-set",
        setsockopt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v) == 0);
  v = 0;
  vl = sizeof v;
  CHECK("ipv6-unicast-hops-get",
        getsockopt(o, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &vl) == 0 &&
            v == 33);
  v = 1;
  CHECK("ipv6-recvpktinfo-set",
        setsockopt(o, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, sizeof v) == 0);
  CHECK("ipv6-dontfrag-set",
        setsockopt(o, IPPROTO_IPV6, IPV6_DONTFRAG, &v, sizeof v) == 0);
  /* With IPV6_DONTFRAG a datagram larger than the path MTU (::1: 65536)
   * is EMSGSIZE, never fragmented. */
  static char big[65000];
  struct sockaddr_in6 dst6 = six("::1", pds);
  CHECK("ipv6-dontfrag-under-mtu",
        sendto(o, big, 60000, 0, (struct sockaddr *)&dst6, sizeof dst6) ==
            60000);
  int u4 = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK_ERR("ipv6-level-on-inet-enoprotoopt",
            setsockopt(u4, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v),
            ENOPROTOOPT);
  CHECK_ERR("ipv6-unknown-option-enoprotoopt",
            setsockopt(o, IPPROTO_IPV6, 9999, &v, sizeof v), ENOPROTOOPT);

  close(ds);
  close(c4);
  close(c6);
  close(v6o);
  close(c4b);
  close(s4);
  close(s4b);
  close(t6);
  close(o);
  close(u4);
  return 0;
}
