/* bench-procs: the virtual sockets layer and its processes.
 *
 *   bench-procs                       every case below, each in a child
 *   bench-procs rtt COUNT             (a) blocking UDP round trips
 *   bench-procs spawn HOSTS PER_HOST  (b) HOSTS × PER_HOST echo servers
 *   bench-procs spawn HOSTS PER_HOST user   (c) the same with a user's
 *                                     program (bench-procs-pingpong server)
 *
 * (a) Two processes ping-pong a 1-byte UDP datagram through sendto() and
 * a blocking recvfrom() (bench-procs-pingpong.c, loaded as a user program):
 * once on one host (to its own address: loopback events) and once on two
 * hosts joined by an ideal LAN, each with the full trace and with only
 * NL_TRACE_NODE recorded.  A run of one round trip is subtracted, so the
 * figure is wall (and CPU) ns per round trip: 2 sendto, 2 recvfrom that
 * block, 4 coroutine switches, 2 packet deliveries and their events.
 *
 * (b) A scenario built as text runs PER_HOST `udp-echo-server` instances
 * on each of HOSTS hosts for 1 s of virtual time (each binds its own port,
 * prints a line and blocks in recvfrom), through nl_scenario_load_string,
 * nl_run_new and nl_run_execute.  Prints build, run and free times and the
 * resident memory: peak (ru_maxrss) and the growth from before the build.
 *
 * (c) As (b), but each process runs a user's program built with the shim
 * (bench-procs-pingpong.so as `server PORT`, blocking in recvfrom): what
 * an instance of a student's program costs to load, run and unload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"
#include "sim/host/proc.h"

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t ip(const char *s) {
  struct in_addr a;
  g_assert(inet_pton(AF_INET, s, &a) == 1);
  return ntohl(a.s_addr);
}

/* Resident set now, in KiB (/proc/self/statm). */
static long rss_kib(void) {
  long size = 0, res = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld %ld", &size, &res) != 2)
    res = 0;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* ---- (a) round trips ---- */

typedef struct {
  double wall, cpu;
  uint64_t events;
} Timing;

static Timing rtt_once(long count, gboolean two_hosts, gboolean full_trace) {
  NlWorld *w = nl_world_new(1);
  if (!full_trace)
    nl_trace_set_mask(nl_world_trace(w), 1u << NL_TRACE_NODE);
  NlNetwork *lan = nl_network_new(w, "lan");
  nl_network_add_prefix(lan, ip("10.0.0.0"), 24);
  NlNode *a = nl_node_new(w, "a", NL_NODE_HOST);
  nl_node_attach(a, lan, ip("10.0.0.1"), NULL);
  NlNode *b = a;
  const char *dst = "10.0.0.1";
  if (two_hosts) {
    b = nl_node_new(w, "b", NL_NODE_HOST);
    nl_node_attach(b, lan, ip("10.0.0.2"), NULL);
    dst = "10.0.0.2";
  }
  char n[32];
  g_snprintf(n, sizeof n, "%ld", count);
  const char *sargv[] = {"pingpong", "server", "7000", NULL};
  const char *cargv[] = {"pingpong", "client", dst, "7000", n, NULL};
  GError *err = NULL;
  NlProc *s = nl_proc_spawn(b, "server", BENCH_PINGPONG, sargv, 0, &err);
  NlProc *c = s ? nl_proc_spawn(a, "client", BENCH_PINGPONG, cargv, NL_MS,
                                &err)
                : NULL;
  if (c == NULL)
    g_error("%s", err->message);
  NlEventQueue *q = nl_world_queue(w);
  uint64_t e0 = nl_event_fired(q);
  double w0 = clock_s(CLOCK_MONOTONIC);
  double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  nl_event_run_until(q, 100000 * NL_S);
  Timing t = {clock_s(CLOCK_MONOTONIC) - w0,
              clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, nl_event_fired(q) - e0};
  if (nl_proc_state(c) != NL_PROC_EXITED || nl_proc_exit_code(c) != 0)
    g_error("the ping-pong client did not finish (%s)",
            nl_proc_state_name(nl_proc_state(c)));
  nl_world_free(w);
  return t;
}

static void bench_rtt(long count) {
  for (int hosts = 1; hosts <= 2; hosts++)
    for (int full = 1; full >= 0; full--) {
      Timing base = rtt_once(1, hosts == 2, full);
      Timing t = rtt_once(count, hosts == 2, full);
      double k = (double)(count - 1);
      printf("rtt %s, %-9s trace: %ld round trips in %.3f s wall, %.3f s "
             "CPU: %.0f ns wall, %.0f ns CPU per round trip, %.1f events "
             "each\n",
             hosts == 2 ? "two hosts" : "one host ", full ? "full" : "NODE-only",
             count, t.wall, t.cpu, (t.wall - base.wall) * 1e9 / k,
             (t.cpu - base.cpu) * 1e9 / k, (t.events - base.events) / k);
    }
}

/* ---- (b) many processes ---- */

static void bench_spawn(guint hosts, guint per_host, gboolean user) {
  GString *text = g_string_new("duration 1s\nnetwork lan 10.0.0.0/16\n");
  for (guint h = 0; h < hosts; h++) {
    g_string_append_printf(text, "host h%u\n  link lan 10.0.%u.%u\n", h,
                           (h + 1) / 256, (h + 1) % 256);
    for (guint i = 0; i < per_host; i++)
      if (user)
        g_string_append_printf(text, "  run name=s%u %s server %u\n", i,
                               BENCH_PINGPONG, 10000 + i);
      else
        g_string_append_printf(text, "  run name=s%u udp-echo-server %u\n",
                               i, 10000 + i);
  }
  guint procs = hosts * per_host;
  long rss0 = rss_kib();
  GError *err = NULL;
  double w0 = clock_s(CLOCK_MONOTONIC);
  double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  NlScenario *s = nl_scenario_load_string("bench.nlab", text->str, -1, NULL,
                                          &err);
  if (s == NULL)
    g_error("%s", err->message);
  double w1 = clock_s(CLOCK_MONOTONIC);
  double c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  NlRun *r = nl_run_new(s, NULL, &err);
  if (r == NULL)
    g_error("%s", err->message);
  double w2 = clock_s(CLOCK_MONOTONIC);
  double c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  long rss_built = rss_kib(), peak_built = peak_rss_kib();
  guint failed = nl_run_execute(r);
  double w3 = clock_s(CLOCK_MONOTONIC);
  double c3 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  long rss_ran = rss_kib(), peak_ran = peak_rss_kib();
  g_assert(failed == 0);
  /* Every server started, bound and printed its line. */
  guint listening = 0;
  NlTrace *t = nl_run_trace(r);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    listening += user ? rec->kind == NL_TRACE_PROC && rec->len > 10 &&
                            memcmp(p, "start pid=", 10) == 0
                      : rec->kind == NL_TRACE_STDOUT && rec->len > 12 &&
                            memcmp(p, "listening on", 12) == 0;
  if (listening != procs)
    g_error("%u of %u servers listening", listening, procs);
  uint64_t records = nl_trace_count(t);
  nl_run_free(r);
  nl_scenario_free(s);
  double w4 = clock_s(CLOCK_MONOTONIC);
  double c4 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  long peak = peak_rss_kib();
  printf("spawn %u hosts x %u = %u processes of %s (%zu bytes of scenario, "
         "%" G_GUINT64_FORMAT " trace records):\n"
         "  parse %.3f s wall (%.3f CPU), build %.3f s (%.3f), run 1 s "
         "virtual %.3f s (%.3f), free %.3f s (%.3f)\n"
         "  RSS before %ld KiB, built %ld KiB, after run %ld KiB; peak %ld "
         "KiB after build, %ld after run, %ld at the end: %.1f KiB per "
         "process (after run, from before)\n",
         hosts, per_host, procs, user ? "a user's program" : "a built-in",
         text->len, records, w1 - w0, c1 - c0,
         w2 - w1, c2 - c1, w3 - w2, c3 - c2, w4 - w3, c4 - c3, rss0,
         rss_built, rss_ran, peak_built, peak_ran, peak,
         (double)(rss_ran - rss0) / procs);
  g_string_free(text, TRUE);
}

/* Runs @fn in a child so that its peak RSS is its own. */
static void in_child(int argc, const char **argv) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (strcmp(argv[0], "rtt") == 0)
      bench_rtt(atol(argv[1]));
    else
      bench_spawn((guint)atoi(argv[1]), (guint)atoi(argv[2]),
                  argc > 3 && strcmp(argv[3], "user") == 0);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    g_error("%s failed", argv[0]);
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "rtt") == 0) {
    bench_rtt(atol(argv[2]));
  } else if (argc >= 4 && strcmp(argv[1], "spawn") == 0) {
    bench_spawn((guint)atoi(argv[2]), (guint)atoi(argv[3]),
                argc > 4 && strcmp(argv[4], "user") == 0);
  } else if (argc == 1) {
    const char *rtt[] = {"rtt", "200000"};
    const char *one[] = {"spawn", "1", "10000"};
    const char *many[] = {"spawn", "100", "100"};
    const char *users[] = {"spawn", "10000", "1", "user"};
    in_child(2, rtt);
    in_child(3, one);
    in_child(3, many);
    in_child(4, users);
  } else {
    fprintf(stderr, "usage: %s [rtt COUNT | spawn HOSTS PER_HOST [user]]\n",
            argv[0]);
    return 2;
  }
  return 0;
}
