/* bench-stun: STUN Binding transactions per second through the pure codec
 * (no sockets).  Results go in docs/performance.md ("STUN").
 *
 *   build-stun/bench/bench-stun [transactions]     (default 2000000)
 *
 * One transaction is what a client and a server do with the codec for one
 * Binding exchange: the client builds a request (FINGERPRINT), the server
 * parses it (CRC check) and builds a success response (XOR-MAPPED-ADDRESS,
 * FINGERPRINT), the client parses it and decodes the address.  A second
 * case adds short-term MESSAGE-INTEGRITY (HMAC-SHA1) to request and
 * response, checked on both sides.  Wall-clock and CPU time are used here
 * and only here: this program measures, it is not a simulation.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "programs/stun/stun-codec.h"

static double seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs @n transactions; returns a checksum so nothing is optimised away. */
static unsigned run(long n, gboolean integrity) {
  static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
  const size_t klen = sizeof key - 1;
  uint8_t req[128], resp[256], tid[NL_STUN_TID_LEN] = {0};
  struct sockaddr_in client = {.sin_family = AF_INET};
  client.sin_addr.s_addr = htonl(0xC0000201);
  unsigned sum = 0;
  for (long i = 0; i < n; i++) {
    memcpy(tid, &i, sizeof i);
    client.sin_port = htons((uint16_t)(1024 + (i & 0x7fff)));
    NlStunWriter w;
    nl_stun_writer_init(&w, req, sizeof req, NL_STUN_BINDING, NL_STUN_REQUEST,
                        tid);
    if (integrity) {
      nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, "evtj:h6vY", 9);
      nl_stun_writer_add_integrity(&w, key, klen);
    }
    nl_stun_writer_add_fingerprint(&w);
    size_t rlen = nl_stun_writer_finish(&w);

    NlStunMsg m;
    if (nl_stun_msg_parse(req, rlen, &m) != NL_STUN_OK)
      abort();
    if (integrity && nl_stun_msg_check_integrity(&m, key, klen) != NL_STUN_OK)
      abort();
    nl_stun_writer_init(&w, resp, sizeof resp, NL_STUN_BINDING, NL_STUN_SUCCESS,
                        m.tid);
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                (struct sockaddr *)&client);
    if (integrity)
      nl_stun_writer_add_integrity(&w, key, klen);
    nl_stun_writer_add_fingerprint(&w);
    size_t slen = nl_stun_writer_finish(&w);

    struct sockaddr_storage mapped;
    if (nl_stun_msg_parse(resp, slen, &m) != NL_STUN_OK ||
        nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE,
                             &mapped) != NL_STUN_OK)
      abort();
    if (integrity && nl_stun_msg_check_integrity(&m, key, klen) != NL_STUN_OK)
      abort();
    sum += ((struct sockaddr_in *)&mapped)->sin_port;
  }
  return sum;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  if (n <= 0) {
    fprintf(stderr, "usage: bench-stun [transactions]\n");
    return 2;
  }
  printf("%-34s %12s %9s %9s %14s %10s\n", "case", "transactions", "wall s",
         "cpu s", "tx/s (cpu)", "ns/tx");
  for (int integrity = 0; integrity < 2; integrity++) {
    run(n / 100, integrity); /* warm up */
    double w0 = seconds(CLOCK_MONOTONIC);
    double c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    unsigned sum = run(n, integrity);
    double wall = seconds(CLOCK_MONOTONIC) - w0;
    double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("%-34s %12ld %9.3f %9.3f %14.0f %10.1f\n",
           integrity ? "binding + FINGERPRINT + MI (SHA1)"
                     : "binding + FINGERPRINT",
           n, wall, cpu, (double)n / cpu, cpu * 1e9 / (double)n);
    if (sum == 1) /* keeps @sum live */
      printf("\n");
  }
  return 0;
}
