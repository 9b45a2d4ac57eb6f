/* natlab: the command line.
 *
 *   natlab run SCENARIO [options]   run it; exit 0 when every expectation
 *                                   holds, 1 when one fails, 2 on errors
 *   natlab check SCENARIO           parse and validate without running
 *   natlab presets                  list the NAT presets and their fields
 */
#include <errno.h>
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "export/jsonl.h"
#include "export/pcap.h"
#include "export/timeline.h"
#include "natmodels/nat-behaviour.h"
#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"
#include "sim/host/proc.h"
#include "sim/net/wire.h"

typedef struct {
  gint64 seed;
  gboolean seed_set;
  char **sets;
  char *trace;
  char *timeline;
  char *pcap;
  char *jsonl;
  gboolean determinism;
  gboolean quiet;
  gint watchdog_ms;
} Options;

static gboolean parse_seed(const char *name, const char *value, gpointer data,
                           GError **error) {
  Options *o = data;
  char *end;
  errno = 0;
  guint64 v = g_ascii_strtoull(value, &end, 10);
  if (errno != 0 || *end != '\0' || end == value) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--seed wants a non-negative integer, got \"%s\"", value);
    return FALSE;
  }
  o->seed = (gint64)v;
  o->seed_set = TRUE;
  return TRUE;
}

static int usage(GOptionContext *ctx) {
  char *help = g_option_context_get_help(ctx, TRUE, NULL);
  fputs(help, stderr);
  g_free(help);
  return 2;
}

/* Program output and expectation results for a person at a terminal. */
static void print_outputs(NlTrace *t) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    /* A program's call statistics are shown when it wasted calls (a
     * busy-wait): the lesson of §14.8 in one line. */
    if (rec->kind == NL_TRACE_STATS &&
        g_strstr_len((const char *)p, rec->len, " wasted=0 ") == NULL) {
      char tb[NL_TIME_STRLEN];
      printf("[%12s] %s -- %.*s (busy-waiting?)\n",
             nl_time_to_string(rec->time, tb), nl_trace_name(t, rec->peer),
             (int)rec->len, (const char *)p);
      continue;
    }
    if (rec->kind != NL_TRACE_STDOUT && rec->kind != NL_TRACE_STDERR &&
        rec->kind != NL_TRACE_PROC)
      continue;
    char tb[NL_TIME_STRLEN];
    const char *who = nl_trace_name(t, rec->peer);
    printf("[%12s] %s%s %.*s\n", nl_time_to_string(rec->time, tb), who,
           rec->kind == NL_TRACE_STDERR ? " (stderr):"
           : rec->kind == NL_TRACE_PROC ? " --"
                                        : ":",
           (int)rec->len, (const char *)p);
  }
}

typedef struct {
  gint64 start, last;
} Progress;

/* On a terminal, one self-overwriting line: virtual time and events/s. */
static void show_progress(void *data, NlTime now, NlTime end,
                          uint64_t events) {
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

/* Hops to or from a TURN relay are drawn amber, the roadmap's colour for
 * the relay path; others keep their protocol's colour. */
static const char *relay_colour(const NlTrace *trace, const NlTraceRecord *send,
                                const guint8 *pkt, gpointer data) {
  GArray *relays = data;
  if (send->len < 20)
    return NULL;
  uint32_t src = nl_wire_get32(pkt + 12), dst = nl_wire_get32(pkt + 16);
  for (guint i = 0; i < relays->len; i++) {
    uint32_t a = g_array_index(relays, uint32_t, i);
    if (a == src || a == dst)
      return "#d98c00";
  }
  return NULL;
}

/* The addresses of the hosts that run a TURN server in @s. */
static GArray *relay_addrs(const NlScenario *s) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *n = g_ptr_array_index(s->nodes, i);
    gboolean relay = FALSE;
    for (guint j = 0; j < n->runs->len; j++) {
      const NlScnRun *r = g_ptr_array_index(n->runs, j);
      relay |= r->kind == NL_SCN_PROGRAM_BUILTIN &&
               strcmp(r->program, "turn-server") == 0;
    }
    for (guint j = 0; relay && j < n->links->len; j++) {
      const NlScnLink *l = g_ptr_array_index(n->links, j);
      for (guint k = 0; k < l->addrs->len; k++) {
        const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, k);
        if (a->family == 4) {
          uint32_t v = nl_scn_addr_ip4(a);
          g_array_append_val(out, v);
        }
      }
    }
  }
  return out;
}

/* (transfer full) the records of @t between @from and @to, with every
 * lane declaration; NULL when the window is the whole run. */
static NlTrace *window_of(NlTrace *t, NlTime from, NlTime to) {
  if (from <= 0 && to == NL_TIME_NEVER)
    return NULL;
  NlTrace *w = nl_trace_new();
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_NODE && (rec->time < from || rec->time > to))
      continue;
    nl_trace_add(w, rec->time, rec->kind,
                 nl_trace_intern(w, nl_trace_name(t, rec->node)),
                 nl_trace_intern(w, nl_trace_name(t, rec->peer)), rec->id,
                 rec->aux, p, rec->len);
  }
  return w;
}

static gboolean write_outputs(NlTrace *t, const Options *o,
                              const NlScenario *s, const char *title,
                              GError **error) {
  if (o->trace && !nl_trace_write_text(t, o->trace, error))
    return FALSE;
  if (o->timeline) {
    NlTimelineOptions topts;
    memset(&topts, 0, sizeof topts);
    topts.title = title;
    /* The scenario's `timeline hide=...` leaves those kinds out, and
     * `from=`/`to=` draw only that window (lanes are always kept). */
    topts.kinds = NL_TIMELINE_DEFAULT_KINDS & ~s->timeline.hide;
    GArray *relays = relay_addrs(s);
    if (relays->len > 0) {
      topts.hop_colour = relay_colour;
      topts.hop_colour_data = relays;
    }
    NlTrace *window = window_of(t, s->timeline.from, s->timeline.to);
    gboolean ok = nl_timeline_write(window ? window : t, o->timeline, &topts,
                                    error);
    nl_trace_free(window);
    g_array_free(relays, TRUE);
    if (!ok)
      return FALSE;
  }
  if (o->pcap && !nl_pcap_write(t, o->pcap, NULL, error))
    return FALSE;
  if (o->jsonl && !nl_jsonl_write(t, o->jsonl, error))
    return FALSE;
  return TRUE;
}

static int cmd_run(int argc, char **argv, gboolean check_only) {
  Options o = {.watchdog_ms = 0};
  GOptionEntry entries[] = {
    {"seed", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_seed,
     "Replace the scenario's seed", "N"},
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
     "Write every packet sent as a pcap capture (Wireshark, tshark)", "FILE"},
    {"jsonl", 0, 0, G_OPTION_ARG_FILENAME, &o.jsonl,
     "Write the trace as JSON lines (docs/trace-jsonl.md)", "FILE"},
    {"check-determinism", 0, 0, G_OPTION_ARG_NONE, &o.determinism,
     "Run twice in fresh worlds and report the first trace record that "
     "differs",
     NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
     "Do not print the programs' output", NULL},
    {"watchdog", 0, 0, G_OPTION_ARG_INT, &o.watchdog_ms,
     "Stop a program that runs this long (wall-clock ms) without calling "
     "into the lab (default 2000)",
     "MS"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = g_option_context_new(
      check_only ? "SCENARIO - parse and validate a scenario"
                 : "SCENARIO - run a scenario in virtual time");
  GOptionGroup *group = g_option_group_new("run", "run options", "run options",
                                           &o, NULL);
  g_option_group_add_entries(group, entries);
  g_option_context_set_main_group(ctx, group);
  GError *error = NULL;
  int rc = 0;
  NlScenario *s = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    fprintf(stderr, "natlab: %s\n", error->message);
    rc = 2;
    goto out;
  }
  if (argc != 2) {
    rc = usage(ctx);
    goto out;
  }
  s = nl_scenario_load(argv[1], (const char *const *)o.sets, &error);
  if (s == NULL) {
    fprintf(stderr, "%s\n", error->message);
    rc = 2;
    goto out;
  }
  if (check_only) {
    printf("%s: ok (%u networks, %u nodes, %u actions, %u expectations)\n",
           argv[1], s->networks->len, s->nodes->len, s->actions->len,
           s->expects->len);
    goto out;
  }
  NlRunOptions ropts = {.seed_set = o.seed_set, .seed = (uint64_t)o.seed,
                        .watchdog_ms = (unsigned)MAX(o.watchdog_ms, 0)};
  /* With no output that shows packets or calls, record only what the
   * expectations and the printed program output need. */
  if (!o.trace && !o.timeline && !o.pcap && !o.jsonl)
    ropts.trace_mask = NL_RUN_CHECK_KINDS;
  NlRun *run = nl_run_new(s, &ropts, &error);
  if (run == NULL) {
    fprintf(stderr, "%s\n", error->message);
    rc = 2;
    goto out;
  }
  /* Progress goes to a terminal only, never into pipes or files. */
  Progress progress = {.start = g_get_monotonic_time()};
  if (isatty(STDERR_FILENO))
    nl_run_set_progress(run, show_progress, &progress);
  guint failed = nl_run_execute(run);
  if (o.determinism) {
    NlRun *again = nl_run_new(s, &ropts, &error);
    if (again == NULL) {
      fprintf(stderr, "%s\n", error->message);
      nl_run_free(run);
      rc = 2;
      goto out;
    }
    nl_run_execute(again);
    GString *diff = g_string_new(NULL);
    if (nl_run_trace_diff(nl_run_trace(run), nl_run_trace(again), diff)) {
      printf("deterministic: two runs gave identical traces (%" G_GUINT64_FORMAT
             " records)\n",
             nl_trace_count(nl_run_trace(run)));
    } else {
      printf("NOT deterministic: %s", diff->str);
      rc = 3;
    }
    g_string_free(diff, TRUE);
    nl_run_free(again);
  }
  if (!o.quiet)
    print_outputs(nl_run_trace(run));
  if (!write_outputs(nl_run_trace(run), &o, s,
                     s->timeline.title ? s->timeline.title : argv[1],
                     &error)) {
    fprintf(stderr, "natlab: %s\n", error->message);
    rc = 2;
  }
  if (nl_run_n_expects(run) > 0) {
    GString *rep = g_string_new(NULL);
    nl_run_report_failures(run, rep);
    fputs(rep->str, stdout);
    printf("%u of %u expectations held\n", nl_run_n_expects(run) - failed,
           nl_run_n_expects(run));
    g_string_free(rep, TRUE);
  }
  if (rc == 0 && failed > 0)
    rc = 1;
  nl_run_free(run);
out:
  if (error)
    g_error_free(error);
  nl_scenario_free(s);
  g_strfreev(o.sets);
  g_free(o.trace);
  g_free(o.timeline);
  g_free(o.pcap);
  g_free(o.jsonl);
  g_option_context_free(ctx);
  return rc;
}

static int cmd_presets(void) {
  for (guint i = 0;; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_preset(i);
    if (b == NULL)
      break;
    GString *s = g_string_new(NULL);
    nl_nat_behaviour_describe(b, s);
    printf("%s\n", s->str);
    g_string_free(s, TRUE);
  }
  return 0;
}

int main(int argc, char **argv) {
  setlocale(LC_ALL, "");
  if (argc >= 2 && strcmp(argv[1], "run") == 0)
    return cmd_run(argc - 1, argv + 1, FALSE);
  if (argc >= 2 && strcmp(argv[1], "check") == 0)
    return cmd_run(argc - 1, argv + 1, TRUE);
  if (argc >= 2 && strcmp(argv[1], "presets") == 0)
    return cmd_presets();
  if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
    printf("natlab %s\n", NL_VERSION);
    return 0;
  }
  fprintf(stderr,
          "usage: natlab COMMAND ...\n"
          "  run SCENARIO [--help for options]  run a scenario in virtual time\n"
          "  check SCENARIO                     parse and validate it\n"
          "  presets                            list the NAT presets\n"
          "  --version\n");
  return argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                       strcmp(argv[1], "-h") == 0)
             ? 0
             : 2;
}
