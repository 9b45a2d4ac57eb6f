/* bench-nat: NAT translations per second with 1 million live mappings, and
 * memory per mapping.  Results go in docs/performance.md ("NAT").
 *
 *   build-nat/bench/bench-nat [mappings]     (default 1000000)
 *
 * 1,000,000 UDP mappings: 20,000 inside hosts (10.0.0.0 + i) x 50 ports
 * each, behind a port-restricted cone with 20 external addresses (paired
 * pooling puts 1,000 hosts on each address, 50,000 of its 64,512 ports
 * taken).  Then packets for uniformly random live mappings are translated
 * outbound and inbound.  Wall-clock time is used here and only here: this
 * program measures, it is not a simulation.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "natmodels/nat.h"
#include "sim/net/wire.h"

#define PORTS_PER_HOST 50
#define N_EXT 20
#define N_TEMPLATES 65536
#define ROUNDS 10000000

static size_t heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static long rss_kib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
    rss = -1;
  fclose(f);
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* CPU time of this process, in µs: the machine is shared, so wall time
 * alone would measure the neighbours too. */
static gint64 cpu_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (gint64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void flow_of(guint i, uint32_t *host, uint16_t *port) {
  *host = 0x0a000000u + i / PORTS_PER_HOST;
  *port = (uint16_t)(10000 + i % PORTS_PER_HOST);
}

int main(int argc, char **argv) {
  guint n = argc > 1 ? (guint)strtoul(argv[1], NULL, 10) : 1000000;
  const uint32_t server = 0xc000020a; /* 192.0.2.10:3478 */
  uint32_t ext[N_EXT];
  for (int i = 0; i < N_EXT; i++)
    ext[i] = 0xcb007101u + (uint32_t)i; /* 203.0.113.1.. */

  NlEventQueue *q = nl_event_queue_new();
  NlTrace *trace = nl_trace_new();
  nl_trace_set_mask(trace, 0); /* no outputs requested */
  guint8 pkt[64];
  NlDropReason why;

  size_t heap0 = heap_bytes();
  long rss0 = rss_kib();
  NlNat *nat =
      nl_nat_new(nl_nat_behaviour_find("port-restricted-cone"), ext, N_EXT, q,
                 trace, nl_trace_intern(trace, "nat"), 1, "bench");
  size_t heap_empty = heap_bytes();

  gint64 t0 = g_get_monotonic_time(), c0 = cpu_us();
  for (guint i = 0; i < n; i++) {
    uint32_t h;
    uint16_t p;
    flow_of(i, &h, &p);
    size_t len = nl_udp4_build(pkt, h, p, server, 3478, "x", 1, 0, 64, FALSE);
    if (nl_nat_process(nat, NL_NAT_OUTBOUND, pkt, len, &why) != NL_NAT_PASS) {
      fprintf(stderr, "mapping %u: dropped (%s)\n", i,
              nl_drop_reason_name(why));
      return 1;
    }
  }
  gint64 t1 = g_get_monotonic_time(), c1 = cpu_us();
  size_t heap1 = heap_bytes();
  long rss1 = rss_kib();
  NlNatCounters c;
  nl_nat_get_counters(nat, &c);

  /* Templates for random live mappings: the outbound packet, and the
   * inbound reply to the external endpoint it got. */
  guint8(*out_tpl)[40] = g_malloc(N_TEMPLATES * 40);
  guint8(*in_tpl)[40] = g_malloc(N_TEMPLATES * 40);
  size_t tlen = 0;
  uint64_t rs = 0x9e3779b97f4a7c15ULL;
  for (guint k = 0; k < N_TEMPLATES; k++) {
    uint32_t h;
    uint16_t p;
    flow_of((guint)(xorshift(&rs) % n), &h, &p);
    tlen = nl_udp4_build(out_tpl[k], h, p, server, 3478, "x", 1, 0, 64, FALSE);
    memcpy(pkt, out_tpl[k], tlen);
    nl_nat_process(nat, NL_NAT_OUTBOUND, pkt, tlen, &why);
    NlIp4Header ip;
    NlUdpHeader u;
    nl_ip4_parse(pkt, tlen, &ip);
    nl_udp4_parse(pkt, tlen, &ip, &u);
    nl_udp4_build(in_tpl[k], server, 3478, ip.src, u.sport, "y", 1, 0, 64,
                  FALSE);
  }

  guint64 passed = 0;
  gint64 t2 = g_get_monotonic_time(), c2 = cpu_us();
  for (guint r = 0; r < ROUNDS; r++) {
    memcpy(pkt, out_tpl[r & (N_TEMPLATES - 1)], tlen);
    passed += nl_nat_process(nat, NL_NAT_OUTBOUND, pkt, tlen, &why) ==
              NL_NAT_PASS;
  }
  gint64 t3 = g_get_monotonic_time(), c3 = cpu_us();
  for (guint r = 0; r < ROUNDS; r++) {
    memcpy(pkt, in_tpl[r & (N_TEMPLATES - 1)], tlen);
    passed += nl_nat_process(nat, NL_NAT_INBOUND, pkt, tlen, &why) ==
              NL_NAT_PASS;
  }
  gint64 t4 = g_get_monotonic_time(), c4 = cpu_us();
  if (passed != 2ull * ROUNDS) {
    fprintf(stderr, "only %" G_GUINT64_FORMAT " of %u passed\n", passed,
            2 * ROUNDS);
    return 1;
  }

  /* Expiry of the whole table through the one event. */
  nl_event_run(q);
  gint64 t5 = g_get_monotonic_time(), c5 = cpu_us();
  NlNatCounters cend;
  nl_nat_get_counters(nat, &cend);

  double create_s = (t1 - t0) / 1e6, out_s = (t3 - t2) / 1e6,
         in_s = (t4 - t3) / 1e6, exp_s = (t5 - t4) / 1e6;
  double create_c = (c1 - c0) / 1e6, out_c = (c3 - c2) / 1e6,
         in_c = (c4 - c3) / 1e6, exp_c = (c5 - c4) / 1e6;
  printf("live mappings:        %" G_GUINT64_FORMAT "\n", c.mappings_live);
  printf("                      per wall second   per CPU second\n");
  printf("create (incl. build): %12.0f %16.0f mappings\n", n / create_s,
         n / create_c);
  printf("outbound translate:   %12.0f %16.0f packets (%.0f ns CPU each)\n",
         ROUNDS / out_s, ROUNDS / out_c, out_c * 1e9 / ROUNDS);
  printf("inbound translate:    %12.0f %16.0f packets (%.0f ns CPU each)\n",
         ROUNDS / in_s, ROUNDS / in_c, in_c * 1e9 / ROUNDS);
  printf("expire all:           %.2f s wall, %.2f s CPU (%" G_GUINT64_FORMAT
         " expired, one event)\n",
         exp_s, exp_c, cend.mappings_expired);
  printf("empty NAT:            %zu bytes (port bitmaps of %d addresses)\n",
         heap_empty - heap0, N_EXT);
  printf("heap per mapping:     %.1f bytes (mallinfo2)\n",
         (double)(heap1 - heap_empty) / n);
  printf("RSS per mapping:      %.1f bytes (/proc/self/statm)\n",
         (double)(rss1 - rss0) * 1024 / n);

  g_free(out_tpl);
  g_free(in_tpl);
  nl_nat_free(nat);
  nl_trace_free(trace);
  nl_event_queue_free(q);
  return 0;
}
