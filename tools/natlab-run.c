/* natlab run and natlab check: run a scenario in virtual time, or
 * validate it without running.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "export/jsonl.h"
#include "export/timeline.h"
#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"
#include "sim/core/mem.h"
#include "sim/host/proc.h"
#include "scenarios/runner/runner-path.h"
#include "sim/host/seal.h"
#include "sim/net/wire.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/run-figures.h"
#include "tools/natlab-determinism.h"
#include "tools/run-stats.h"
#include "tools/run-trace-stream.h"

typedef struct {
  guint64 seed;
  gboolean seed_set;
  char **sets;
  char *trace;
  char *timeline;
  char *pcap;
  char *jsonl;
  gboolean determinism;
  char *det_child; /* --determinism-child=DIR: the check's second run */
  gboolean quiet;
  guint64 watchdog_ms;
  gboolean stats;
  gint64 trace_window; /* --trace-window: bytes; 0 keeps every record */
} Options;

/* The records a run keeps for its outputs are written to a temporary file
 * as the run goes, this many bytes at a time (nl_trace_spill). */
#define TRACE_WINDOW (4 << 20)

static gboolean parse_seed(const char *name, const char *value, gpointer data,
                           GError **error) {
  Options *o = data;
  o->seed_set = TRUE;
  return nl_cli_parse_uint("--seed", value, 0, G_MAXUINT64, &o->seed, error);
}

/* The watchdog is the program thread's CPU time: a millisecond to an
 * hour. */
static gboolean parse_watchdog(const char *name, const char *value,
                               gpointer data, GError **error) {
  Options *o = data;
  return nl_cli_parse_uint("--watchdog", value, 1, 3600000, &o->watchdog_ms,
                           error);
}

/* Program output and expectation results for a person at a terminal. */
static void print_outputs(FILE *out, NlTrace *t) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    /* A program's call statistics are shown when it busy-waited
     * (NL_PROC_BUSY_WAIT_RUN wasted calls in a row, without waiting): the
     * lesson of §14.8 in one line. */
    if (rec->kind == NL_TRACE_STATS) {
      char *text = g_strndup((const char *)p, rec->len);
      const char *run = strstr(text, " wasted-run=");
      guint64 n = run ? g_ascii_strtoull(run + 12, NULL, 10) : 0;
      if (n >= NL_PROC_BUSY_WAIT_RUN) {
        char tb[NL_TIME_STRLEN];
        fprintf(out,
                "[%12s] %s -- %s (busy-waiting: %" G_GUINT64_FORMAT
                " wasted calls in a row)\n",
                nl_time_to_string(rec->time, tb), nl_trace_name(t, rec->peer),
                text, n);
      }
      g_free(text);
      continue;
    }
    if (rec->kind != NL_TRACE_STDOUT && rec->kind != NL_TRACE_STDERR &&
        rec->kind != NL_TRACE_PROC)
      continue;
    char tb[NL_TIME_STRLEN];
    const char *who = nl_trace_name(t, rec->peer);
    fprintf(out, "[%12s] %s%s %.*s\n", nl_time_to_string(rec->time, tb), who,
            rec->kind == NL_TRACE_STDERR ? " (stderr):"
            : rec->kind == NL_TRACE_PROC ? " --"
                                         : ":",
            (int)rec->len, (const char *)p);
  }
}

/* --trace-window=BYTES (hidden, for tests): the spilled trace's window,
 * or 0 to keep every record in memory. */
static gboolean parse_window(const char *name, const char *value,
                             gpointer data, GError **error) {
  Options *o = data;
  guint64 v;
  if (!nl_cli_parse_uint("--trace-window", value, 0, G_MAXINT32, &v, error))
    return FALSE;
  o->trace_window = (gint64)v;
  return TRUE;
}

/* What the run's trace needs once it exists (NlRunOptions.trace_ready). */
typedef struct {
  gsize window;          /* spill with this window; 0: keep in memory */
  NlTraceStream *stream; /* the text trace written as the run goes */
} TraceSetup;

static void trace_ready(void *data, NlTrace *t) {
  TraceSetup *ts = data;
  GError *error = NULL;
  if (ts->window > 0 && !nl_trace_spill(t, NULL, ts->window, &error)) {
    fprintf(stderr,
            "natlab run: warning: the trace stays in memory: %s\n",
            error->message);
    g_error_free(error);
  }
  if (ts->stream != NULL)
    nl_trace_stream_attach(ts->stream, t);
}

typedef struct {
  gint64 start, last;
} Progress;

/* On a terminal, one self-overwriting line: virtual time and events/s. */
static void show_progress(void *data, NlTime now, NlTime end, uint64_t events) {
  Progress *p = data;
  gint64 t = g_get_monotonic_time();
  if (t - p->last < 200000 && now < end)
    return;
  p->last = t;
  double secs = MAX((t - p->start) / 1e6, 1e-6);
  fprintf(stderr, "\r\033[Knatlab: %.3f s of %.3f s virtual, %.2f M events/s",
          now / 1e9, end / 1e9, events / secs / 1e6);
  if (now >= end)
    fputs("\r\033[K", stderr);
  fflush(stderr);
}

static gboolean write_outputs(NlTrace *t, const Options *o, const NlScenario *s,
                              const NlRunFigures *fig, const char *title,
                              NlTraceStream *stream, FILE *report,
                              GError **error) {
  if (stream != NULL && !nl_trace_stream_finish(stream, error))
    return FALSE;
  if (!nl_trace_spill_ok(t, error))
    return FALSE;
  if (o->trace && stream == NULL &&
      !nl_trace_write_text(t, o->trace, error))
    return FALSE;
  /* Timeline, capture and topology: tools/run-figures.c. */
  if (!nl_run_figures_write(t, s, fig, o->timeline, o->pcap, title, report,
                           error))
    return FALSE;
  if (o->jsonl && !nl_jsonl_write(t, o->jsonl, error))
    return FALSE;
  return TRUE;
}

static void options_clear(Options *o) {
  g_strfreev(o->sets);
  g_free(o->trace);
  g_free(o->timeline);
  g_free(o->pcap);
  g_free(o->jsonl);
  g_free(o->det_child);
}

/* Every output path is checked before the run, so a typo does not cost a
 * whole run.  Two outputs never share a file
 * (or stdout). */
static gboolean check_outputs(const Options *o, GError **error) {
  const struct {
    const char *option, *path;
    gboolean stdout_ok;
  } outs[] = {{"--trace", o->trace, TRUE},
              {"--timeline", o->timeline, FALSE},
              {"--pcap", o->pcap, TRUE},
              {"--jsonl", o->jsonl, TRUE}};
  for (gsize i = 0; i < G_N_ELEMENTS(outs); i++) {
    if (outs[i].path == NULL)
      continue;
    if (!nl_cli_check_output(outs[i].option, outs[i].path, outs[i].stdout_ok,
                             error))
      return FALSE;
    for (gsize j = 0; j < i; j++) {
      if (outs[j].path != NULL && strcmp(outs[j].path, outs[i].path) == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s and %s both write %s", outs[j].option, outs[i].option,
                    strcmp(outs[i].path, "-") == 0 ? "to stdout"
                                                   : outs[i].path);
        return FALSE;
      }
    }
  }
  if (o->timeline != NULL && nl_timeline_format_of(o->timeline) == NULL) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--timeline %s: the extension picks the format, one of "
                ".svg .png .pdf .dot",
                o->timeline);
    return FALSE;
  }
  return TRUE;
}

/* Programs see only the lab: once their programs are built (natlab-cc has
 * run), natlab confines itself (sim/host/seal.h) before it loads any, so
 * that no program, from its first constructor on, can reach the real
 * network, start a process or signal another one.  NATLAB_NO_SEAL=1 leaves
 * natlab unconfined, for debuggers that cannot follow a seccomp filter
 * (valgrind).  Where seccomp is missing, natlab says so and runs on. */
static void seal_natlab(void) {
  if (g_getenv("NATLAB_NO_SEAL") != NULL)
    return;
  GError *error = NULL;
  if (!nl_seal_apply(NL_SEAL_RUN, &error)) {
    fprintf(stderr, "natlab: warning: cannot confine programs: %s\n",
            error->message);
    g_error_free(error);
  }
}

static const char run_description[] =
    "The programs' output and the expectations' results are printed to\n"
    "stdout; with an output written to stdout (-), they go to stderr.\n";

int nl_cmd_run(int argc, char **argv) {
  /* natlab's heap in huge pages (mem.h): a run of a thousand hosts reads
   * its nodes and processes from all of it, one after another.  Not in
   * natlab grade, whose children's address space is the memory limit. */
  nl_mem_huge_heap();
  Options o = {.trace_window = TRACE_WINDOW};
  NlRunFigures fig = {0};
  const GOptionEntry entries[] = {
      {"seed", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_seed,
       "Replace the scenario's seed (0 to 18446744073709551615)", "N"},
      {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.sets,
       "Override a named constant of the scenario (repeatable)", "NAME=VALUE"},
      {"trace", 0, 0, G_OPTION_ARG_FILENAME, &o.trace,
       "Write the whole trace as text, one record a line (- for stdout)",
       "FILE"},
      {"timeline", 0, 0, G_OPTION_ARG_FILENAME, &o.timeline,
       "Write the timeline (sequence diagram); the extension picks the "
       "format: .svg .png .pdf .dot",
       "FILE"},
      {"pcap", 0, 0, G_OPTION_ARG_FILENAME, &o.pcap,
       "Write a pcapng capture, one interface per node link (- for stdout)",
       "FILE"},
      {"jsonl", 0, 0, G_OPTION_ARG_FILENAME, &o.jsonl,
       "Write the trace as JSON lines (docs/trace-jsonl.md; - for stdout)",
       "FILE"},
      {"check-determinism", 0, 0, G_OPTION_ARG_NONE, &o.determinism,
       "Run again in a fresh process under another TZ, locale, HOME and "
       "working directory; compare every record with its payload, the "
       "capture and the timeline, and report the first difference (exit "
       "status 3)",
       NULL},
      {"determinism-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME,
       &o.det_child, "The second run of --check-determinism", "DIR"},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
       "Do not print the programs' output", NULL},
      {"stats", 0, 0, G_OPTION_ARG_NONE, &o.stats,
       "Print what the run did and cost: events, packet hops, deliveries, "
       "trace records, CPU time of each phase, peak memory",
       NULL},
      {"watchdog", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_watchdog,
       "Stop a program that runs this long (ms of its own CPU time, never "
       "wall-clock time; 1 to 3600000) without calling into the lab "
       "(default 2000)",
       "MS"},
      {"trace-window", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_CALLBACK,
       (gpointer)parse_window,
       "Keep at most this many bytes of trace records in memory, the rest "
       "in a temporary file (0: all in memory)",
       "BYTES"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *ctx =
      nl_cli_context_new("run", "SCENARIO", "Run a scenario in virtual time.",
                         entries, &o, run_description);
  nl_run_figures_add_options(ctx, &fig);
  GError *error = NULL;
  int rc = NL_EXIT_OK;
  NlScenario *s = NULL;
  NlTraceStream *stream = NULL;
  if (!nl_cli_parse(ctx, &argc, &argv, &rc))
    goto out;
  if (argc != 2) {
    rc = argc < 2 ? nl_cli_usage_error("run", "no scenario given")
                  : nl_cli_usage_error("run",
                                       "one scenario at a time, not "
                                       "\"%s\" too",
                                       argv[2]);
    goto out;
  }
  if (!check_outputs(&o, &error)) {
    rc = nl_cli_usage_error("run", "%s", error->message);
    goto out;
  }
  NlRunStats stats;
  nl_run_stats_begin(&stats);
  s = nl_scenario_load(argv[1], (const char *const *)o.sets, &error);
  if (s == NULL) {
    fprintf(stderr, "%s\n", error->message);
    rc = NL_EXIT_ERROR;
    goto out;
  }
  if (!nl_run_build_programs(s, &error)) {
    fprintf(stderr, "%s\n", error->message);
    rc = NL_EXIT_ERROR;
    goto out;
  }
  if (!nl_run_figures_check(&fig, s, &error)) {
    rc = nl_cli_usage_error("run", "%s", error->message);
    goto out;
  }
  NlDetCheck *det = NULL;
  if (o.determinism && o.det_child == NULL) {
    NlDetArgs dargs = {.scenario = argv[1], .seed_set = o.seed_set,
                       .seed = o.seed, .sets = o.sets,
                       .watchdog_ms = o.watchdog_ms};
    det = nl_det_start(&dargs, &error);
    if (det == NULL) {
      fprintf(stderr, "natlab run: %s\n", error->message);
      rc = NL_EXIT_ERROR;
      goto out;
    }
  }
  if (o.det_child != NULL && !nl_det_child_wait())
    goto out;
  seal_natlab();
  NlRunOptions ropts = {.seed_set = o.seed_set,
                        .seed = o.seed,
                        .watchdog_ms = (unsigned)o.watchdog_ms};
  TraceSetup setup = {0};
  gboolean others = o.timeline || o.pcap || o.jsonl ||
                    nl_run_figures_wanted(&fig) || o.determinism ||
                    o.det_child;
  if (!o.trace && !others) {
    /* With no output that shows packets or calls, record only what the
     * expectations and the printed program output need. */
    ropts.trace_mask = NL_RUN_CHECK_KINDS;
    /* -q: the lines are not printed; keep those the reports read. */
    ropts.output_unshown = o.quiet;
  } else if (o.trace && !others && nl_trace_stream_possible(o.trace)) {
    /* The text trace alone is written as the run goes
     * (run-trace-stream.h): nothing is kept for it. */
    setup.stream = stream = nl_trace_stream_new(o.trace, &error);
    if (stream == NULL) {
      fprintf(stderr, "natlab run: %s\n", error->message);
      rc = NL_EXIT_ERROR;
      goto out;
    }
    ropts.trace_mask = NL_RUN_CHECK_KINDS;
    ropts.output_unshown = o.quiet;
  } else {
    /* Outputs that read every record after the run: the records go to a
     * temporary file as the run goes, memory holds a window of them. */
    setup.window = (gsize)o.trace_window;
  }
  if (setup.window > 0 || setup.stream != NULL) {
    ropts.trace_ready = trace_ready;
    ropts.trace_ready_data = &setup;
  }
  nl_run_stats_mark(&stats, NL_RUN_STATS_LOAD);
  NlRun *run = nl_run_new(s, &ropts, &error);
  nl_run_stats_mark(&stats, NL_RUN_STATS_BUILD);
  if (run == NULL) {
    fprintf(stderr, "%s\n", error->message);
    nl_trace_stream_abandon(stream);
    if (det)
      nl_det_finish(det, NULL, NULL, NULL);
    rc = NL_EXIT_ERROR;
    goto out;
  }
  /* What is for a person goes to stderr when stdout carries an output. */
  gboolean stdout_taken = (o.trace && strcmp(o.trace, "-") == 0) ||
                          (o.pcap && strcmp(o.pcap, "-") == 0) ||
                          (o.jsonl && strcmp(o.jsonl, "-") == 0);
  FILE *report = stdout_taken ? stderr : stdout;
  /* Progress goes to a terminal only, never into pipes or files. */
  Progress progress = {.start = g_get_monotonic_time()};
  if (isatty(STDERR_FILENO))
    nl_run_set_progress(run, show_progress, &progress);
  guint failed = nl_run_execute(run);
  if (o.det_child != NULL) {
    /* The check's second run: its parent compares what it wrote. */
    if (!nl_det_child_write(o.det_child, run, s, &error)) {
      fprintf(stderr, "natlab run: %s\n", error->message);
      rc = NL_EXIT_ERROR;
    }
    nl_run_free(run);
    goto out;
  }
  if (det != NULL) {
    int drc = nl_det_finish(det, run, s, report);
    if (drc != 0)
      rc = drc == 3 ? NL_EXIT_NONDETERMINISTIC : NL_EXIT_ERROR;
  }
  if (!o.quiet)
    print_outputs(report, nl_run_trace(run));
  if (!write_outputs(nl_run_trace(run), &o, s, &fig, argv[1], stream, report,
                    &error)) {
    fprintf(stderr, "natlab run: %s\n", error->message);
    rc = NL_EXIT_ERROR;
  }
  if (nl_run_n_expects(run) > 0) {
    GString *rep = g_string_new(NULL);
    nl_run_report_failures(run, rep);
    nl_run_report_paths(run, rep); /* expect path: the path and its bytes */
    fputs(rep->str, report);
    fprintf(report, "%u of %u expectations held\n",
            nl_run_n_expects(run) - failed, nl_run_n_expects(run));
    g_string_free(rep, TRUE);
  }
  if (rc == NL_EXIT_OK && failed > 0)
    rc = NL_EXIT_FAILED;
  if (o.stats)
    nl_run_stats_count(&stats, run);
  nl_run_stats_mark(&stats, NL_RUN_STATS_RUN);
  nl_run_free(run);
  nl_run_stats_mark(&stats, NL_RUN_STATS_END);
  if (o.stats)
    nl_run_stats_print(&stats, report);
out:
  /* The run, and the listener on its trace, are gone. */
  nl_trace_stream_abandon(stream);
  nl_trace_stream_free(stream);
  if (error)
    g_error_free(error);
  nl_scenario_free(s);
  options_clear(&o);
  nl_run_figures_clear(&fig);
  g_option_context_free(ctx);
  return rc;
}

static const char check_description[] =
    "Exit status:\n"
    "  0  every scenario is valid\n"
    "  2  usage error, or a scenario is not valid (each error names its\n"
    "     file:line:column)\n";

int nl_cmd_check(int argc, char **argv) {
  Options o = {0};
  const GOptionEntry entries[] = {
      {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.sets,
       "Override a named constant of the scenario (repeatable)", "NAME=VALUE"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *ctx =
      nl_cli_context_new("check", "SCENARIO...",
                         "Validate scenarios as run does before running "
                         "them: the file, then its world (programs compile "
                         "and load, every feature is supported).",
                         entries, &o, check_description);
  GError *error = NULL;
  int rc = NL_EXIT_OK;
  if (!nl_cli_parse(ctx, &argc, &argv, &rc))
    goto out;
  if (argc < 2) {
    rc = nl_cli_usage_error("check", "no scenario given");
    goto out;
  }
  /* First every scenario and its programs (natlab-cc runs), then,
   * sealed as run is, every world. */
  NlScenario **scenarios = g_new0(NlScenario *, argc);
  for (int i = 1; i < argc; i++) {
    scenarios[i] =
        nl_scenario_load(argv[i], (const char *const *)o.sets, &error);
    if (scenarios[i] != NULL && !nl_run_build_programs(scenarios[i], &error)) {
      nl_scenario_free(scenarios[i]);
      scenarios[i] = NULL;
    }
    if (scenarios[i] == NULL) {
      fprintf(stderr, "%s\n", error->message);
      g_clear_error(&error);
      rc = NL_EXIT_ERROR;
    }
  }
  seal_natlab();
  for (int i = 1; i < argc; i++) {
    NlScenario *s = scenarios[i];
    if (s == NULL)
      continue;
    /* Everything run checks before it runs: the world is built (user
     * programs compiled into the cache and loaded, features the builder
     * does not support refused), then dropped without running. */
    NlRunOptions ropts = {.trace_mask = NL_RUN_CHECK_KINDS};
    NlRun *run = nl_run_new(s, &ropts, &error);
    if (run == NULL) {
      fprintf(stderr, "%s\n", error->message);
      g_clear_error(&error);
      nl_scenario_free(s);
      rc = NL_EXIT_ERROR;
      continue;
    }
    nl_run_free(run);
    printf("%s: ok (%u networks, %u nodes, %u actions, %u expectations)\n",
           argv[i], s->networks->len, s->nodes->len, s->actions->len,
           s->expects->len);
    nl_scenario_free(s);
  }
  g_free(scenarios);
out:
  options_clear(&o);
  g_option_context_free(ctx);
  return rc;
}
