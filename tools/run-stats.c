/* natlab run --stats (see run-stats.h). */
#include "tools/run-stats.h"

#include <sys/resource.h>
#include <time.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void nl_run_stats_begin(NlRunStats *st) {
  *st = (NlRunStats){0};
  st->start = cpu_now();
  for (int i = 0; i < NL_RUN_STATS_N; i++)
    st->at[i] = st->start;
}

void nl_run_stats_mark(NlRunStats *st, NlRunStatsPhase phase) {
  double now = cpu_now();
  /* A phase that did not happen takes no time. */
  for (int i = phase; i < NL_RUN_STATS_N; i++)
    st->at[i] = now;
}

void nl_run_stats_count(NlRunStats *st, NlRun *run) {
  NlWorld *w = nl_run_world(run);
  NlNetStats ns;
  nl_world_stats(w, &ns);
  st->events = nl_event_fired(nl_world_queue(w));
  st->hops = ns.sent;
  st->delivered = ns.delivered;
  st->forwarded = ns.forwarded;
  st->dropped = ns.dropped;
  st->records = nl_trace_count(nl_world_trace(w));
}

void nl_run_stats_print(const NlRunStats *st, FILE *out) {
  static const char *const names[] = {"load", "build", "run", "end"};
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(out,
          "stats: events=%" G_GUINT64_FORMAT " hops=%" G_GUINT64_FORMAT
          " delivered=%" G_GUINT64_FORMAT " forwarded=%" G_GUINT64_FORMAT
          " dropped=%" G_GUINT64_FORMAT " records=%" G_GUINT64_FORMAT,
          st->events, st->hops, st->delivered, st->forwarded, st->dropped,
          st->records);
  double prev = st->start;
  for (int i = 0; i < NL_RUN_STATS_N; i++) {
    fprintf(out, " cpu-%s=%.3f", names[i], st->at[i] - prev);
    prev = st->at[i];
  }
  /* The whole process's CPU time, its start-up included. */
  fprintf(out, " cpu=%.3f max-rss=%ld\n", st->at[NL_RUN_STATS_N - 1],
          ru.ru_maxrss);
}
