/* natlab run --check-determinism: the second run happens in a fresh child
 * process with another environment, and everything the two runs produced
 * is compared (tools/natlab-determinism.c). */
#ifndef NL_NATLAB_DETERMINISM_H
#define NL_NATLAB_DETERMINISM_H

#include <glib.h>
#include <stdio.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"

typedef struct NlDetCheck NlDetCheck;

/* How the first run was asked for, to ask the second the same. */
typedef struct {
  const char *scenario;
  gboolean seed_set;
  guint64 seed;
  char **sets;
  guint64 watchdog_ms;
} NlDetArgs;

/**
 * nl_det_start: starts the second run in a child natlab (before natlab
 * seals itself: a sealed process cannot start one).  It runs once the
 * first is over, in a fresh temporary working directory and HOME, with
 * another TZ, LANG and LC_ALL than natlab's and one more variable.
 * Returns: (transfer full) the check, or NULL with @error set.
 */
NlDetCheck *nl_det_start(const NlDetArgs *args, GError **error);

/**
 * nl_det_finish: waits for the second run and compares every record with
 * its payload, the capture's bytes and the timeline with the first run's
 * (@run, which recorded every kind).  Reports to @report: "deterministic:
 * ..." or "NOT deterministic: ..." with the first difference's virtual time
 * and host.  Frees @d.
 * Returns: 0 when identical, 3 when not, 2 when the second run failed.
 */
int nl_det_finish(NlDetCheck *d, NlRun *run, const NlScenario *s,
                  FILE *report);

/* In the child (the hidden option --determinism-child=DIR): writes what
 * the run produced into DIR for its parent. */
gboolean nl_det_child_write(const char *dir, NlRun *run, const NlScenario *s,
                            GError **error);

/* In the child, before its run: waits until the parent's run is over.
 * Returns: FALSE when the parent could not run (the child then stops). */
gboolean nl_det_child_wait(void);

#endif
