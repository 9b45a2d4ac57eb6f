/* stun-client, another correct design: select() with a timeout in place
 * of poll(); otherwise the reference.  It scores full marks too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC_COOKIE 0x2112A442u
#define BINDING_REQUEST 0x0001
#define BINDING_SUCCESS 0x0101
#define BINDING_ERROR 0x0111
#define ATTR_MAPPED_ADDRESS 0x0001
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define MAX_TRIES 9

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Checks that @b (@n bytes) is a STUN response to transaction @tid and
 * finds the mapped address in it.  Returns 1 with *@addr and *@port (host
 * order) set, 0 for a datagram to ignore, -1 for an error response. */
static int parse_response(const uint8_t *b, size_t n, const uint8_t tid[12],
                          uint32_t *addr, uint16_t *port) {
  if (n < 20 || (b[0] & 0xC0) != 0 || get32(b + 4) != MAGIC_COOKIE ||
      memcmp(b + 8, tid, 12) != 0)
    return 0;
  size_t len = get16(b + 2);
  if (len % 4 != 0 || 20 + len != n)
    return 0;
  uint16_t type = get16(b);
  if (type == BINDING_ERROR)
    return -1;
  if (type != BINDING_SUCCESS)
    return 0;
  int found = 0;
  for (size_t off = 20; off + 4 <= n;) {
    uint16_t at = get16(b + off), al = get16(b + off + 2);
    const uint8_t *v = b + off + 4;
    if (off + 4 + al > n)
      return 0; /* an attribute runs past the end */
    if ((at == ATTR_XOR_MAPPED_ADDRESS ||
         (at == ATTR_MAPPED_ADDRESS && !found)) &&
        al >= 8 && v[1] == 0x01 /* IPv4 */) {
      *port = get16(v + 2);
      *addr = get32(v + 4);
      if (at == ATTR_XOR_MAPPED_ADDRESS) {
        *port ^= (uint16_t)(MAGIC_COOKIE >> 16);
        *addr ^= MAGIC_COOKIE;
        found = 2; /* preferred over MAPPED-ADDRESS */
      } else {
        found = 1;
      }
    }
    off += 4 + ((al + 3u) & ~3u); /* values are padded to 4 bytes */
  }
  return found ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: client HOST PORT\n");
    return 2;
  }
  struct addrinfo hints, *srv;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  int e = getaddrinfo(argv[1], argv[2], &hints, &srv);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(e));
    return 1;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  uint8_t req[20];
  req[0] = BINDING_REQUEST >> 8;
  req[1] = BINDING_REQUEST & 0xff;
  req[2] = req[3] = 0; /* no attributes */
  req[4] = MAGIC_COOKIE >> 24;
  req[5] = (MAGIC_COOKIE >> 16) & 0xff;
  req[6] = (MAGIC_COOKIE >> 8) & 0xff;
  req[7] = MAGIC_COOKIE & 0xff;
  if (getrandom(req + 8, 12, 0) != 12) {
    perror("getrandom");
    return 1;
  }
  int timeout = 500;
  for (int tries = 0; tries < MAX_TRIES; tries++) {
    if (sendto(fd, req, sizeof req, 0, srv->ai_addr, srv->ai_addrlen) < 0) {
      perror("sendto");
      break;
    }
    long long deadline = now_ms() + timeout;
    for (long long left; (left = deadline - now_ms()) > 0;) {
      fd_set rs;
      FD_ZERO(&rs);
      FD_SET(fd, &rs); /* one descriptor, far below FD_SETSIZE */
      struct timeval tv = {.tv_sec = left / 1000,
                           .tv_usec = (left % 1000) * 1000};
      if (select(fd + 1, &rs, NULL, NULL, &tv) <= 0)
        continue;
      uint8_t b[1500];
      ssize_t n = recvfrom(fd, b, sizeof b, 0, NULL, NULL);
      if (n < 0)
        continue;
      uint32_t addr;
      uint16_t port;
      int r = parse_response(b, (size_t)n, req + 8, &addr, &port);
      if (r < 0) {
        fprintf(stderr, "the server answered with an error\n");
        close(fd);
        freeaddrinfo(srv);
        return 1;
      }
      if (r == 0)
        continue;
      struct in_addr ia = {.s_addr = htonl(addr)};
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &ia, ip, sizeof ip);
      printf("mapped address: %s:%u\n", ip, port);
      close(fd);
      freeaddrinfo(srv);
      return 0;
    }
    timeout = timeout * 2 > 2000 ? 2000 : timeout * 2;
  }
  fprintf(stderr, "no answer from %s:%s after %d requests\n", argv[1],
          argv[2], MAX_TRIES);
  close(fd);
  freeaddrinfo(srv);
  return 1;
}
