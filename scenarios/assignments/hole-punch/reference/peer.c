/* hole-punch, the reference solution.
 *
 *   peer NAME RENDEZVOUS-HOST RENDEZVOUS-PORT
 *
 * Two peers, each behind its own NAT, reach each other directly over UDP
 * (textbook §14.11-14.12), with the protocol of README.md:
 *
 * 1. Client-server: from ONE UDP socket, send "REGISTER NAME" to the
 *    rendezvous server every 500 ms until it answers "PEER IP:PORT", the
 *    other peer's public address (as the server saw it, after its NAT).
 * 2. Peer-to-peer: from the same socket (the hole is punched for the port
 *    the rendezvous saw), send "PUNCH NAME" to that address every 200 ms.
 *    The first punches may be dropped by the other NAT (its peer has not
 *    sent to us yet), but each one opens our own NAT for the answers.
 *    Answer every "PUNCH OTHER" that comes from the peer's address with
 *    "ACK NAME".  An "ACK OTHER" proves both directions work: print
 *    "NAME: connected to IP:PORT", keep answering punches for 1 s more
 *    (the peer may still wait for our ACK), then exit 0.
 * 3. Give up, print why and exit 1, after 10 s without the rendezvous's
 *    answer, or 5 s of punching without an ACK (symmetric NATs defeat
 *    hole punching: the address the rendezvous saw is not the one the
 *    peer's NAT uses towards us).
 *
 * One poll() loop with deadlines: nothing blocks forever, nothing spins.
 * Plain POSIX: it builds with `cc -o peer peer.c` for the real OS and
 * with natlab-cc for the lab.
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
