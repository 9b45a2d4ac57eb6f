/* bench-ice: many ICE sessions at once.
 *
 *   bench-ice [PAIRS [NATS [PRESET [--turn]]]]   (1000 1000 port-restricted-cone)
 *
 * Builds one world as scenario text: NATS NATs (PRESET) on one internet
 * (20 ms), each with its own LAN (1 ms), and PAIRS pairs of ice-peer
 * programs: peer A of pair i behind NAT i % NATS, peer B behind NAT
 * (i + 1) % NATS, so every NAT serves two peers of two different pairs
 * when PAIRS == NATS.  One STUN server, four signaling servers (a lab
 * process has at most 1,024 descriptors; each server takes the pairs
 * i % 4) and, with --turn, one TURN server; every peer starts between
 * 1.0 and 1.5 s of virtual time, gathers, meets its partner in room i,
 * connects, sends 3 datagrams of 100 bytes and ends 2 s later.
 *
 * Prints the build, run and free times (wall and CPU), the peak resident
 * memory, the events fired, and how many sessions connected (both agents
 * printed "ice: selected" and received their partner's 3 datagrams), with
 * the direct and relayed counts.  The trace keeps only what checks need
 * (NL_RUN_CHECK_KINDS), as `natlab run` does without outputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <malloc.h>
#include <time.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"

#define SIGNALING 4

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* The NAT i's LAN is 10.(i / 256).(i % 256).0/24; its public address is
 * 100.64.(i / 250).(i % 250 + 1) on the internet 100.64.0.0/16. */
static char *world(guint pairs, guint nats, const char *preset, gboolean turn) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "seed 1\nduration 20s\n"
                            "network internet 100.64.0.0/16 192.0.2.0/24 "
                            "latency=20ms\n");
  for (guint i = 0; i < nats; i++)
    g_string_append_printf(s, "network lan%u 10.%u.%u.0/24 latency=1ms\n", i,
                           i / 256, i % 256);
  g_string_append(s, "host stun\n  link internet 192.0.2.10\n"
                     "  run stun-server --no-tcp\n");
  for (guint k = 0; k < SIGNALING; k++)
    g_string_append_printf(s,
                           "host signal%u\n  link internet 192.0.2.%u\n"
                           "  run signaling-server --max-clients 1000\n",
                           k, 30 + k);
  if (turn)
    g_string_append(s, "host turn\n  link internet 192.0.2.20\n"
                       "  run turn-server --listen 192.0.2.20 --user u:p "
                       "--realm natlab --no-tcp --max-allocations 10000 "
                       "--min-port 10000 --max-port 60000\n");
  for (guint i = 0; i < nats; i++)
    g_string_append_printf(s,
                           "nat nat%u preset=%s\n  inside lan%u 10.%u.%u.1\n"
                           "  outside internet 100.64.%u.%u\n",
                           i, preset, i, i / 256, i % 256, i / 250,
                           i % 250 + 1);
  for (guint p = 0; p < pairs; p++) {
    for (guint side = 0; side < 2; side++) {
      guint n = (p + side) % nats;
      /* Two hosts per LAN at most when pairs == nats: .5 and .10 */
      guint host = side == 0 ? 5 + (p / nats) * 10 : 10 + (p / nats) * 10;
      /* Start times spread over 0.5 s, a deterministic pattern. */
      guint start = 1000 + (p * 7919 + side * 104729) % 500;
      g_string_append_printf(
          s,
          "host p%u%c\n  link lan%u 10.%u.%u.%u\n  route default via "
          "10.%u.%u.1\n  run at=%ums name=ice ice-peer --name %c --room r%u "
          "--signaling 192.0.2.%u:7000 --stun 192.0.2.10:3478%s\n",
          p, side ? 'b' : 'a', n, n / 256, n % 256, host, n / 256, n % 256,
          start, side ? 'B' : 'A', p, 30 + p % SIGNALING,
          turn ? " --turn 192.0.2.20:3478 --turn-user u:p" : "");
    }
  }
  return g_string_free(s, FALSE);
}

int main(int argc, char **argv) {
  guint pairs = argc > 1 ? (guint)atoi(argv[1]) : 1000;
  guint nats = argc > 2 ? (guint)atoi(argv[2]) : 1000;
  const char *preset = argc > 3 ? argv[3] : "port-restricted-cone";
  gboolean turn = argc > 4 && strcmp(argv[4], "--turn") == 0;
  if (pairs == 0 || nats == 0 || nats > 65000 || pairs / nats > 20) {
    fprintf(stderr, "usage: bench-ice [PAIRS [NATS [PRESET [--turn]]]]\n");
    return 2;
  }
  double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  char *text = world(pairs, nats, preset, turn);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string("bench-ice.nlab", text, -1, NULL,
                                          &err);
  if (s == NULL) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  NlRunOptions o = {.trace_mask = NL_RUN_CHECK_KINDS};
  NlRun *run = nl_run_new(s, &o, &err);
  if (run == NULL) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  double w1 = clock_s(CLOCK_MONOTONIC), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  nl_run_execute(run);
  double w2 = clock_s(CLOCK_MONOTONIC), c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  long peak = peak_rss_kib();
  struct mallinfo2 mi = mallinfo2();
  guint64 records = nl_trace_count(nl_run_trace(run));
  /* Sessions that connected: both agents selected a pair and received
   * their partner's 3 datagrams (one pass over the trace). */
  guint ok = 0, direct = 0, relayed = 0;
  NlTrace *t = nl_run_trace(run);
  GHashTable *done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  GHashTable *path = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_STDOUT)
      continue;
    const char *host = nl_trace_name(t, rec->node);
    if (g_strstr_len((const char *)p, rec->len, "sent=3 received=3") != NULL)
      g_hash_table_add(done, g_strdup(host));
    if (g_strstr_len((const char *)p, rec->len, "ice: selected ") != NULL)
      g_hash_table_insert(
          path, g_strdup(host),
          GINT_TO_POINTER(g_strstr_len((const char *)p, rec->len,
                                       "path=relayed") != NULL ? 2 : 1));
  }
  for (guint i = 0; i < pairs; i++) {
    char a[32], b[32];
    snprintf(a, sizeof a, "p%ua", i);
    snprintf(b, sizeof b, "p%ub", i);
    int pa = GPOINTER_TO_INT(g_hash_table_lookup(path, a));
    int pb = GPOINTER_TO_INT(g_hash_table_lookup(path, b));
    if (!g_hash_table_contains(done, a) || !g_hash_table_contains(done, b) ||
        pa == 0 || pa != pb)
      continue;
    ok++;
    if (pa == 2)
      relayed++;
    else
      direct++;
  }
  g_hash_table_destroy(done);
  g_hash_table_destroy(path);
  double w3 = clock_s(CLOCK_MONOTONIC);
  nl_run_free(run);
  nl_scenario_free(s);
  g_free(text);
  double w4 = clock_s(CLOCK_MONOTONIC);
  printf("bench-ice: %u pairs, %u NATs (%s)%s\n", pairs, nats, preset,
         turn ? ", TURN" : "");
  printf("  build %.2f s wall %.2f s cpu; run %.2f s wall %.2f s cpu "
         "(20 s virtual); count %.2f s; free %.2f s\n",
         w1 - w0, c1 - c0, w2 - w1, c2 - c1, w3 - w2, w4 - w3);
  printf("  peak RSS %.1f MiB (malloc in use at the end %.1f MiB, of which "
         "mmap'd blocks %.1f MiB); %" G_GUINT64_FORMAT " trace records\n",
         peak / 1024.0, mi.uordblks / 1048576.0 + mi.hblkhd / 1048576.0,
         mi.hblkhd / 1048576.0, records);
  printf("  connected %u of %u sessions (%u direct, %u relayed)\n", ok, pairs,
         direct, relayed);
  return ok == pairs ? 0 : 1;
}
