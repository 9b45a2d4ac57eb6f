/* hole-punch, a classic wrong solution: punching from a new socket.
 *
 * The reference peer, except that it punches from a second UDP socket,
 * opened once the rendezvous has answered.  The new socket has another
 * local port, so the NAT maps it to another public port than the one the
 * rendezvous saw and told the peer: the peer's punches go to the old
 * mapping, which only accepts the rendezvous server.  The hole is punched
 * for one port; every datagram must use it.
 *
 * Loses: every test in which the peers should connect.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REGISTER_EVERY_MS 500
#define REGISTER_FOR_MS 10000
#define PUNCH_EVERY_MS 200
#define PUNCH_FOR_MS 5000
#define LINGER_MS 1000

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b) {
  return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: peer NAME RENDEZVOUS-HOST RENDEZVOUS-PORT\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *name = argv[1];
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[2], argv[3], &hints, &res);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", argv[2], gai_strerror(e));
    return 1;
  }
  struct sockaddr_in rv;
  memcpy(&rv, res->ai_addr, sizeof rv);
  freeaddrinfo(res);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }

  enum { REGISTERING, PUNCHING, LINGERING } state = REGISTERING;
  struct sockaddr_in peer;
  memset(&peer, 0, sizeof peer);
  char ip[INET_ADDRSTRLEN] = "", msg[64];
  long long start = now_ms(), next_send = start, give_up = start + REGISTER_FOR_MS;
  for (;;) {
    long long now = now_ms();
    if (now >= give_up) {
      if (state == LINGERING)
        break;
      if (state == REGISTERING)
        printf("%s: no answer from the rendezvous server\n", name);
      else
        printf("%s: hole punching failed: no answer from %s:%d\n", name, ip,
               ntohs(peer.sin_port));
      close(fd);
      return 1;
    }
    if (state != LINGERING && now >= next_send) {
      if (state == REGISTERING) {
        int m = snprintf(msg, sizeof msg, "REGISTER %s", name);
        sendto(fd, msg, (size_t)m, 0, (struct sockaddr *)&rv, sizeof rv);
        next_send = now + REGISTER_EVERY_MS;
      } else {
        int m = snprintf(msg, sizeof msg, "PUNCH %s", name);
        sendto(fd, msg, (size_t)m, 0, (struct sockaddr *)&peer, sizeof peer);
        next_send = now + PUNCH_EVERY_MS;
      }
    }
    long long wake = state == LINGERING || next_send > give_up ? give_up
                                                                : next_send;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)(wake - now)) <= 0)
      continue;
    char buf[128];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from,
                         &fl);
    if (r <= 0)
      continue;
    buf[r] = '\0';
    char other[32];
    int port;
    if (same_addr(&from, &rv)) {
      if (state != REGISTERING ||
          sscanf(buf, "PEER %15[0-9.]:%d", ip, &port) != 2)
        continue;
      peer.sin_family = AF_INET;
      peer.sin_port = htons((unsigned short)port);
      if (inet_pton(AF_INET, ip, &peer.sin_addr) != 1)
        continue;
      printf("%s: the rendezvous says the peer is at %s:%d\n", name, ip, port);
      state = PUNCHING;
      /* BUG: a fresh socket for the peer-to-peer part. */
      close(fd);
      fd = socket(AF_INET, SOCK_DGRAM, 0);
      next_send = now_ms();
      give_up = next_send + PUNCH_FOR_MS;
    } else if (state != REGISTERING && same_addr(&from, &peer)) {
      if (sscanf(buf, "PUNCH %31s", other) == 1) {
        int m = snprintf(msg, sizeof msg, "ACK %s", name);
        sendto(fd, msg, (size_t)m, 0, (struct sockaddr *)&peer, sizeof peer);
      } else if (state == PUNCHING && sscanf(buf, "ACK %31s", other) == 1) {
        printf("%s: connected to %s:%d\n", name, ip, ntohs(peer.sin_port));
        state = LINGERING;
        give_up = now_ms() + LINGER_MS;
      }
    }
  }
  close(fd);
  return 0;
}
