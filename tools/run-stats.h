/* natlab run --stats: what a run did and what it cost, for benchmarks
 * (bench/scale) and for anyone sizing a scenario.
 *
 * The counts (events fired, packet hops, deliveries, trace records) are
 * the simulation's and the same on every run; the costs (CPU time of each
 * phase, peak resident memory) are the machine's.  Printed as one line of
 * key=value words after the run's report:
 *
 *   stats: events=N hops=N delivered=N forwarded=N dropped=N records=N
 *          cpu-load=S cpu-build=S cpu-run=S cpu-end=S cpu=S max-rss=KiB
 *
 * (one line), max-rss in KiB, cpu= the whole process's CPU seconds
 * (its start-up included).  CPU times are the process's (CLOCK_PROCESS_CPUTIME_ID), so
 * they do not depend on what else the machine runs, as wall time would. */
#ifndef NL_RUN_STATS_H
#define NL_RUN_STATS_H

#include <glib.h>
#include <stdio.h>

#include "scenarios/runner/runner.h"

G_BEGIN_DECLS

typedef enum {
  NL_RUN_STATS_LOAD,  /* reading the scenario and building its programs */
  NL_RUN_STATS_BUILD, /* building the world (nl_run_new) */
  NL_RUN_STATS_RUN,   /* virtual time, the expectations, the reports */
  NL_RUN_STATS_END,   /* freeing the world */
  NL_RUN_STATS_N
} NlRunStatsPhase;

typedef struct {
  double start, at[NL_RUN_STATS_N];
  guint64 events, hops, delivered, forwarded, dropped, records;
} NlRunStats;

/* Starts the clock (the load phase begins). */
void nl_run_stats_begin(NlRunStats *st);
/* Ends @phase now. */
void nl_run_stats_mark(NlRunStats *st, NlRunStatsPhase phase);
/* Takes the counts of @run (after nl_run_execute, before nl_run_free). */
void nl_run_stats_count(NlRunStats *st, NlRun *run);
/* Prints the line (after the end phase was marked). */
void nl_run_stats_print(const NlRunStats *st, FILE *out);

G_END_DECLS

#endif
