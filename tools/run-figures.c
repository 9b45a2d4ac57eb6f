/* natlab run's figure outputs (see run-figures.h). */
#include "tools/run-figures.h"

#include <string.h>

#include "export/pcap.h"
#include "export/timeline.h"
#include "export/topology.h"
#include "tools/cli.h"

void nl_run_figures_add_options(GOptionContext *ctx, NlRunFigures *f) {
  const GOptionEntry entries[] = {
      {"from", 0, 0, G_OPTION_ARG_STRING, &f->from,
       "Draw the timeline from this virtual time (over the scenario's "
       "timeline from=)",
       "TIME"},
      {"to", 0, 0, G_OPTION_ARG_STRING, &f->to,
       "Draw the timeline up to this virtual time", "TIME"},
      {"hide", 0, 0, G_OPTION_ARG_STRING, &f->hide,
       "Leave these record kinds out of the timeline (call,stdout,...)",
       "KIND,..."},
      {"lanes", 0, 0, G_OPTION_ARG_STRING, &f->lanes,
       "Timeline lanes: host, program, or NAME[=LABEL],... (a node or "
       "node/program each)",
       "LANES"},
      {"page", 0, 0, G_OPTION_ARG_STRING, &f->page,
       "Write only this page of the timeline, 'all' (the default) or "
       "'none' (one long picture)",
       "N"},
      {"pcap-node", 0, 0, G_OPTION_ARG_STRING_ARRAY, &f->pcap_nodes,
       "Capture only what crossed this node's links (repeatable)", "NODE"},
      {"topology", 0, 0, G_OPTION_ARG_FILENAME, &f->topology,
       "Draw the scenario's topology (networks, NATs with their type, links "
       "with their properties); the extension picks the format: .svg .png "
       ".pdf .dot",
       "FILE"},
      G_OPTION_ENTRY_NULL};
  g_option_context_add_main_entries(ctx, entries, NULL);
}

gboolean nl_run_figures_wanted(const NlRunFigures *f) {
  return f->topology != NULL;
}

gboolean nl_run_figures_check(const NlRunFigures *f, NlScenario *s,
                              GError **error) {
  const struct {
    const char *option, *key, *value;
  } overrides[] = {{"--from", "from", f->from},
                   {"--to", "to", f->to},
                   {"--hide", "hide", f->hide},
                   {"--lanes", "lanes", f->lanes},
                   {"--page", "page", f->page}};
  for (gsize i = 0; i < G_N_ELEMENTS(overrides); i++) {
    if (overrides[i].value == NULL)
      continue;
    GError *err = NULL;
    if (!nl_scenario_timeline_set(&s->timeline, overrides[i].key,
                                  overrides[i].value, NULL, &err)) {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s %s: %s",
                  overrides[i].option, overrides[i].value, err->message);
      g_error_free(err);
      return FALSE;
    }
  }
  GError *err = NULL;
  if (!nl_scenario_timeline_check(s, NULL, &err)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s%s",
                f->lanes || f->from || f->to ? "the timeline: " : "",
                err->message);
    g_error_free(err);
    return FALSE;
  }
  if (f->topology != NULL &&
      !nl_cli_check_output("--topology", f->topology, FALSE, error))
    return FALSE;
  if (f->topology != NULL && nl_timeline_format_of(f->topology) == NULL) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--topology %s: the extension picks the format, one of "
                ".svg .png .pdf .dot",
                f->topology);
    return FALSE;
  }
  return TRUE;
}

/* The scenario's timeline line, as the exporter's options. */
static void timeline_options(const NlScnTimeline *t, const char *title,
                             NlTimelineOptions *o, GArray *lanes) {
  memset(o, 0, sizeof *o);
  o->title = t->title ? t->title : title;
  o->kinds = NL_TIMELINE_DEFAULT_KINDS & ~t->hide;
  o->from = t->from;
  o->to = t->to == NL_TIME_NEVER ? 0 : t->to;
  o->lanes = t->lanes == NL_SCN_LANES_PROGRAM ? NL_TIMELINE_LANES_PROGRAM
                                              : NL_TIMELINE_LANES_HOST;
  if (t->lanes == NL_SCN_LANES_LIST) {
    for (guint i = 0; i < t->lane_list->len; i++) {
      const NlScnLane *l = g_ptr_array_index(t->lane_list, i);
      NlTimelineLane tl = {l->name, l->label};
      g_array_append_val(lanes, tl);
    }
    o->lane_list = (const NlTimelineLane *)lanes->data;
    o->n_lanes = lanes->len;
  }
  o->states = t->states;
  o->style = t->style == NL_SCN_STYLE_CHAPTER ? NL_TIMELINE_STYLE_CHAPTER
                                              : NL_TIMELINE_STYLE_DEFAULT;
  o->page = t->page;
  o->no_collapse = !t->collapse;
  o->no_end = !t->end;
  o->no_card = !t->card;
}

gboolean nl_run_figures_write(const NlTrace *trace, const NlScenario *s,
                              const NlRunFigures *f, const char *timeline,
                              const char *pcap, const char *title,
                              FILE *report, GError **error) {
  if (timeline != NULL) {
    NlTimelineOptions o;
    GArray *lanes = g_array_new(FALSE, FALSE, sizeof(NlTimelineLane));
    timeline_options(&s->timeline, title, &o, lanes);
    char **files = NULL;
    gboolean ok = nl_timeline_write_files(trace, timeline, &o, &files, error);
    g_array_free(lanes, TRUE);
    if (ok && files != NULL && g_strv_length(files) > 1) {
      guint n = g_strv_length(files);
      fprintf(report, "timeline: %u files: %s ... %s\n", n, files[0],
              files[n - 1]);
    }
    g_strfreev(files);
    if (!ok)
      return FALSE;
  }
  if (pcap != NULL &&
      !nl_pcap_write_nodes(trace, pcap, (const char *const *)f->pcap_nodes,
                           error))
    return FALSE;
  if (f->topology != NULL) {
    NlTopologyOptions o = {.title = s->timeline.title ? s->timeline.title
                                                      : title};
    if (!nl_topology_write(trace, f->topology, &o, error))
      return FALSE;
  }
  return TRUE;
}

void nl_run_figures_clear(NlRunFigures *f) {
  g_free(f->from);
  g_free(f->to);
  g_free(f->hide);
  g_free(f->lanes);
  g_free(f->page);
  g_strfreev(f->pcap_nodes);
  g_free(f->topology);
  memset(f, 0, sizeof *f);
}
