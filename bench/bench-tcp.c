/* bench-tcp: simulated TCP data segments per second of wall time, for one
 * bulk flow and for many concurrent flows between two stacks joined by the
 * test harness's wire (tests/test-tcp-harness.h).  Tracing is masked off,
 * as in a run that asks for no outputs.
 *
 *   bench-tcp [flows] [virtual-seconds]     (defaults: both cases)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/test-tcp-harness.h"

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(guint flows, double vsecs) {
  Wire *w = wire_new(1, 5 * NL_MS);
  nl_trace_set_mask(w->trace, 0);
  w->rate_bps = 10000000000ull; /* 10 Gbit/s */
  w->queue_limit = 64u << 20;
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, NULL);
  g_assert(nl_tcp_bind(l, INADDR_ANY, 80) == 0);
  g_assert(nl_tcp_listen(l, 4096) == 0);
  NlTcpSock **c = g_new0(NlTcpSock *, flows);
  NlTcpSock **s = g_new0(NlTcpSock *, flows);
  for (guint i = 0; i < flows; i++) {
    c[i] = nl_tcp_socket(w->h[0].st, NULL);
    nl_tcp_connect(c[i], ADDR_B, 80);
  }
  run_for(w, 100 * NL_MS);
  for (guint i = 0; i < flows; i++) {
    int err;
    s[i] = nl_tcp_accept(l, NULL, &err);
    g_assert(s[i] != NULL);
  }
  static guint8 buf[65536];
  NlTcpStats before;
  nl_tcp_stack_stats(w->h[0].st, &before);
  uint64_t fired0 = nl_event_fired(w->q);
  NlTime end = nl_event_now(w->q) + (NlTime)(vsecs * NL_S);
  double t0 = clock_s(CLOCK_MONOTONIC);
  double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  while (nl_event_now(w->q) < end) {
    for (guint i = 0; i < flows; i++) {
      while (nl_tcp_send(c[i], buf, sizeof buf, 0) > 0)
        ;
      while (nl_tcp_recv(s[i], buf, sizeof buf, 0) > 0)
        ;
    }
    run_for(w, 1 * NL_MS);
  }
  double dt = clock_s(CLOCK_MONOTONIC) - t0;
  double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  NlTcpStats after;
  nl_tcp_stack_stats(w->h[0].st, &after);
  uint64_t segs = after.data_segs_out - before.data_segs_out;
  uint64_t events = nl_event_fired(w->q) - fired0;
  printf("%5u flow%s: %9" G_GUINT64_FORMAT " data segments in %.1f s "
         "virtual; %.2f s wall, %.2f s CPU: %.0f segments/s wall, %.0f "
         "per CPU second (%.0f events/CPU s, %" G_GUINT64_FORMAT
         " retransmits)\n",
         flows, flows == 1 ? " " : "s", segs, vsecs, dt, dc, (double)segs / dt,
         (double)segs / dc, (double)events / dc,
         after.retransmits - before.retransmits);
  for (guint i = 0; i < flows; i++) {
    struct linger lg = {1, 0};
    nl_tcp_setsockopt(c[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    nl_tcp_close(c[i]);
    nl_tcp_close(s[i]);
  }
  nl_tcp_close(l);
  g_free(c);
  g_free(s);
  wire_free(w);
}

int main(int argc, char **argv) {
  /* The harness's wire allocates every packet in flight with malloc and
   * frees them in order, so glibc would give the top of the heap back to
   * the kernel after each burst and take it again (page faults: a third
   * of the run's CPU) unless its trim threshold had been raised, as a
   * large free once did by chance.  The lab's own packets come from a
   * pool (sim/net/net.c) and meet no such thing. */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  if (argc >= 2) {
    run((guint)atoi(argv[1]), argc >= 3 ? atof(argv[2]) : 2.0);
    return 0;
  }
  run(1, 10.0);
  run(1000, 3.0);
  return 0;
}
