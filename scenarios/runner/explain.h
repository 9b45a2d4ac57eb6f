/* Why an output expectation failed, in words a person can act on: the
 * printed line closest to the text, the program's last lines, and what
 * became of the program.  Read from the trace only. */
#ifndef NL_RUNNER_EXPLAIN_H
#define NL_RUNNER_EXPLAIN_H

#include <glib.h>

#include "sim/core/trace.h"

G_BEGIN_DECLS

/* How many of a program's last lines a failed expectation shows. */
#define NL_EXPLAIN_LAST_LINES 5

/**
 * nl__run_explain_output: the detail of a failed `expect stdout|stderr
 * HOST/NAME contains|lacks TEXT`, checked over the records of @t up to
 * @until.  @proc is the interned "HOST/NAME", @kind NL_TRACE_STDOUT or
 * NL_TRACE_STDERR.
 * For `contains`: the printed line closest to @text (by edit distance to
 * its best-matching part), whether @text went to the other stream, the
 * last NL_EXPLAIN_LAST_LINES lines and how the program ended.  For
 * `lacks` (@negate): the lines that contain @text.
 * Returns: (transfer full) indented lines, each ending in a newline.
 */
char *nl__run_explain_output(const NlTrace *t, guint32 proc, NlTraceKind kind,
                             const char *text, gboolean negate, NlTime until);

/**
 * nl__run_closest: of @n @lines, the index of the one with the smallest
 * approximate-substring edit distance to @text (the fewest edits that make
 * @text appear in it), the first on ties; -1 when none shares enough with
 * @text to be worth showing (a distance of at least half its length).
 * @distance: (out) (optional) that distance.
 */
gint nl__run_closest(const char *const *lines, guint n, const char *text,
                     guint *distance);

G_END_DECLS

#endif
