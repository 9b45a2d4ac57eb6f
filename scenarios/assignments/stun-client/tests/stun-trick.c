/* The stun-client tests' tricky STUN server (the instructor's program): it
 * answers RFC 5389 Binding requests with valid responses that a careless
 * client misreads.
 *
 *   stun-trick PORT padded     a SOFTWARE attribute of 6 bytes (and 2 of
 *                              padding) comes before XOR-MAPPED-ADDRESS
 *   stun-trick PORT impostor   before each real answer, a Binding success
 *                              response for another transaction ID with
 *                              another address (192.0.2.66:6666), as a
 *                              stale or forged datagram would be
 *
 * Plain POSIX C: builds with cc for the real OS too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAGIC_COOKIE 0x2112A442u

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

/* A Binding success response for transaction @tid telling @addr:@port
 * (host order); with @software, a SOFTWARE attribute first.  Returns its
 * length. */
static size_t response(uint8_t *b, const uint8_t *tid, uint32_t addr,
                       uint16_t port, const char *software) {
  size_t off = 20;
  if (software) {
    size_t l = strlen(software);
    put16(b + off, 0x8022); /* SOFTWARE */
    put16(b + off + 2, (uint16_t)l);
    memset(b + off + 4, 0, (l + 3) & ~3u);
    memcpy(b + off + 4, software, l);
    off += 4 + ((l + 3) & ~3u);
  }
  put16(b + off, 0x0020); /* XOR-MAPPED-ADDRESS */
  put16(b + off + 2, 8);
  b[off + 4] = 0;
  b[off + 5] = 0x01; /* IPv4 */
  put16(b + off + 6, port ^ (uint16_t)(MAGIC_COOKIE >> 16));
  put32(b + off + 8, addr ^ MAGIC_COOKIE);
  off += 12;
  put16(b, 0x0101);
  put16(b + 2, (uint16_t)(off - 20));
  put32(b + 4, MAGIC_COOKIE);
  memcpy(b + 8, tid, 12);
  return off;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: stun-trick PORT padded|impostor\n");
    return 2;
  }
  int impostor = strcmp(argv[2], "impostor") == 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("bind");
    return 1;
  }
  for (;;) {
    uint8_t in[1500], out[128];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
    if (n < 20 || in[0] != 0x00 || in[1] != 0x01 ||
        ((uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 |
         (uint32_t)in[6] << 8 | in[7]) != MAGIC_COOKIE)
      continue; /* not a Binding request */
    if (impostor) {
      uint8_t other[12];
      memcpy(other, in + 8, 12);
      other[11] ^= 0x5a;
      size_t m = response(out, other, 0xC0000242u /* 192.0.2.66 */, 6666,
                          NULL);
      sendto(fd, out, m, 0, (struct sockaddr *)&from, fl);
    }
    size_t m = response(out, in + 8, ntohl(from.sin_addr.s_addr),
                        ntohs(from.sin_port), impostor ? NULL : "natlab");
    sendto(fd, out, m, 0, (struct sockaddr *)&from, fl);
  }
}
