/* A peer that punches a TCP hole (textbook §14.12): it connects to the
 * rendezvous server FROM its chosen local port, learns the other peer's
 * public address, and then connect()s to it FROM THE SAME PORT while the
 * other peer does the same towards it.  The two SYNs cross: each NAT saw
 * its own side's SYN go out, so it lets the other's in, and TCP's
 * "simultaneous open" (RFC 9293 §3.5) turns two connects into one
 * connection without any listen() or accept().  SO_REUSEADDR lets the
 * second socket bind the port the first one still uses.
 * Usage: tcp-peer NAME LOCAL-PORT RENDEZVOUS-HOST RENDEZVOUS-PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000

/* A TCP socket bound to @port with SO_REUSEADDR. */
static int bound_socket(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in local;
  memset(&local, 0, sizeof local);
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_ANY);
  local.sin_port = htons((unsigned short)port);
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    perror("bind");
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: tcp-peer NAME LOCAL-PORT HOST PORT\n");
    return 2;
  }
  const char *name = argv[1];
  int port = atoi(argv[2]);

  /* 1. Client-server: register from LOCAL-PORT, learn where the peer is. */
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *rv;
  if (getaddrinfo(argv[3], argv[4], &hints, &rv) != 0)
    return 1;
  int rs = bound_socket(port);
  if (connect(rs, rv->ai_addr, rv->ai_addrlen) < 0) {
    perror("connect to the rendezvous");
    return 1;
  }
  freeaddrinfo(rv);
  char msg[128], buf[128];
  int m = snprintf(msg, sizeof msg, "REGISTER %s", name);
  send(rs, msg, (size_t)m, 0);
  ssize_t r = recv(rs, buf, sizeof buf - 1, 0);
  buf[r > 0 ? r : 0] = '\0';
  char ip[INET_ADDRSTRLEN];
  int pport;
  if (sscanf(buf, "PEER %15[0-9.]:%d", ip, &pport) != 2) {
    fprintf(stderr, "%s: no PEER line from the rendezvous\n", name);
    return 1;
  }
  printf("%s: the rendezvous says the peer is at %s:%d\n", name, ip, pport);
  fflush(stdout);

  /* 2. Peer-to-peer: connect to the peer from the same local port.  A
   * non-blocking connect bounded by poll(), so that a hole that never
   * opens ends the program in 10 s instead of TCP's two minutes. */
  struct sockaddr_in peer;
  memset(&peer, 0, sizeof peer);
  peer.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &peer.sin_addr);
  peer.sin_port = htons((unsigned short)pport);
  int fd = bound_socket(port);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&peer, sizeof peer) < 0 &&
      errno != EINPROGRESS) {
    perror("connect to the peer");
    return 1;
  }
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int err = 0;
  socklen_t el = sizeof err;
  if (poll(&p, 1, CONNECT_TIMEOUT_MS) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
    printf("%s: TCP hole punching failed (%s)\n", name,
           err ? strerror(err) : "no answer in 10 s");
    return 1;
  }
  fcntl(fd, F_SETFL, 0);
  printf("%s: connected to %s:%d directly over TCP, without accept()\n", name,
         ip, pport);
  fflush(stdout);

  /* 3. Talk over the punched connection. */
  m = snprintf(msg, sizeof msg, "hello over TCP from %s", name);
  send(fd, msg, (size_t)m, 0);
  r = recv(fd, buf, sizeof buf - 1, 0);
  if (r <= 0) {
    printf("%s: the connection broke\n", name);
    return 1;
  }
  buf[r] = '\0';
  printf("%s: got \"%s\"\n", name, buf);
  fflush(stdout);
  close(fd);
  close(rs);
  return 0;
}
