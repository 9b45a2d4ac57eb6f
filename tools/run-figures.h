/* The figure outputs of `natlab run`: the timeline (with the command
 * line's --from --to --hide --lanes --page over the scenario's `timeline`
 * line), the capture (--pcap, --pcap-node) and the topology picture
 * (--topology).  Kept apart from natlab-run.c, which adds these options
 * and calls nl_run_figures_write() after the run.
 */
#ifndef NL_TOOLS_RUN_FIGURES_H
#define NL_TOOLS_RUN_FIGURES_H

#include <glib.h>
#include <stdio.h>

#include "scenarios/lang/scenario.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

typedef struct {
  char *from, *to, *hide, *lanes, *page; /* timeline overrides */
  char **pcap_nodes;                     /* --pcap-node, repeatable */
  char *topology;                        /* --topology FILE */
} NlRunFigures;

/* Adds the options above to the main group of @ctx (values into @f). */
void nl_run_figures_add_options(GOptionContext *ctx, NlRunFigures *f);

/* Whether an output of @f needs the full trace. */
gboolean nl_run_figures_wanted(const NlRunFigures *f);

/**
 * nl_run_figures_check: checks, before the run, the outputs of @f and
 * applies the timeline overrides to @s (so a bad value is refused before
 * anything runs).
 * Returns: FALSE with @error set, its message naming the option.
 */
gboolean nl_run_figures_check(const NlRunFigures *f, NlScenario *s,
                              GError **error);

/**
 * nl_run_figures_write: writes the timeline to @timeline (NULL: none), the
 * capture to @pcap (NULL: none) and the topology of @f, from @trace.
 * @title: the timeline's title when the scenario gives none.  Says on
 * @report where a timeline of several pages went.
 */
gboolean nl_run_figures_write(const NlTrace *trace, const NlScenario *s,
                              const NlRunFigures *f, const char *timeline,
                              const char *pcap, const char *title,
                              FILE *report, GError **error);

void nl_run_figures_clear(NlRunFigures *f);

G_END_DECLS

#endif
