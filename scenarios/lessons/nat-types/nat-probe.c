/* nat-probe: shows what a NAT does with a mapping.
 *
 *   nat-probe client PORT SERVER1 SERVER2      (servers as IP:PORT)
 *     Sends "hello" to both servers from one socket, prints the mapped
 *     address each one saw, says whether the mapping depends on the
 *     destination, then prints every unsolicited datagram that gets in.
 *   nat-probe server PORT ALTPORT [PROBER]
 *     Tells each client its mapped address, sends it a datagram from a
 *     second port (ALTPORT), and asks PROBER (IP:PORT) to try it from a
 *     third address.
 *   nat-probe prober PORT
 *     Sends "from a new address" to whatever mapping it is told about.
 *
 * Plain POSIX; builds with cc and with natlab-cc. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int udp_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("bind");
    exit(1);
  }
  return fd;
}

static int parse(const char *s, struct sockaddr_in *out) {
  char ip[64];
  const char *colon = strrchr(s, ':');
  if (colon == NULL || (size_t)(colon - s) >= sizeof ip)
    return -1;
  memcpy(ip, s, (size_t)(colon - s));
  ip[colon - s] = '\0';
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)atoi(colon + 1));
  return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

static void format(const struct sockaddr_in *a, char *buf, size_t len) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
  snprintf(buf, len, "%s:%d", ip, ntohs(a->sin_port));
}

static void send_to(int fd, const struct sockaddr_in *to, const char *msg) {
  sendto(fd, msg, strlen(msg), 0, (const struct sockaddr *)to, sizeof *to);
}

static int client(int argc, char **argv) {
  struct sockaddr_in s1, s2;
  if (argc < 5 || parse(argv[3], &s1) < 0 || parse(argv[4], &s2) < 0)
    return 2;
  int fd = udp_socket(atoi(argv[2]));
  send_to(fd, &s1, "hello");
  send_to(fd, &s2, "hello");
  char seen[2][64] = {"", ""};
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 3000) <= 0)
      break;
    char buf[256], who[64];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from,
                         &len);
    if (n < 0)
      break;
    buf[n] = '\0';
    format(&from, who, sizeof who);
    if (strncmp(buf, "you are ", 8) == 0) {
      int k = from.sin_addr.s_addr == s1.sin_addr.s_addr &&
                      from.sin_port == s1.sin_port
                  ? 0
                  : 1;
      snprintf(seen[k], sizeof seen[k], "%s", buf + 8);
      printf("server%d (%s) says I am %s\n", k + 1, who, buf + 8);
      if (seen[0][0] && seen[1][0])
        printf("mapping: %s\n", strcmp(seen[0], seen[1]) == 0
                                    ? "the same for both servers"
                                    : "different for each server");
    } else {
      printf("unsolicited \"%s\" from %s got in\n", buf, who);
    }
  }
  return 0;
}

static int server(int argc, char **argv) {
  if (argc < 4)
    return 2;
  int fd = udp_socket(atoi(argv[2]));
  int alt = udp_socket(atoi(argv[3]));
  struct sockaddr_in prober;
  int have_prober = argc > 4 && parse(argv[4], &prober) == 0;
  for (;;) {
    char buf[256], who[64], msg[128];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    if (recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len) < 0)
      continue;
    format(&from, who, sizeof who);
    printf("a client appears as %s\n", who);
    snprintf(msg, sizeof msg, "you are %s", who);
    send_to(fd, &from, msg);
    send_to(alt, &from, "from a new port");
    if (have_prober) {
      snprintf(msg, sizeof msg, "probe %s", who);
      send_to(fd, &prober, msg);
    }
  }
}

static int prober(int argc, char **argv) {
  if (argc < 3)
    return 2;
  int fd = udp_socket(atoi(argv[2]));
  for (;;) {
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
      continue;
    buf[n] = '\0';
    struct sockaddr_in target;
    if (strncmp(buf, "probe ", 6) == 0 && parse(buf + 6, &target) == 0) {
      printf("probing %s\n", buf + 6);
      send_to(fd, &target, "from a new address");
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "client") == 0)
    return client(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "server") == 0)
    return server(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "prober") == 0)
    return prober(argc, argv);
  fprintf(stderr, "usage: nat-probe client|server|prober ...\n");
  return 2;
}
