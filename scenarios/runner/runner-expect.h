/* Expectations, evaluated in one pass over the trace (runner-expect.c).
 *
 * An index made when the run is built listens to the trace (core's
 * nl_trace_listen) for the kinds its expectations read, and files each
 * record once, as it is added, into the state of the expectations it
 * concerns: found by the record's program (output, process and statistics
 * records) or node (deliveries, TCP states, drops) in O(1).  Checking an
 * expectation then reads only its own state.  So a run with a thousand
 * `expect` lines, or an expectation over a group of a thousand copies,
 * reads each record once instead of once per expectation, and needs no
 * record kept that no output asks for.  The result, its reason and its
 * detail are what reading the whole trace up to the check would give. */
#ifndef NL_RUNNER_EXPECT_H
#define NL_RUNNER_EXPECT_H

#include <glib.h>

#include "scenarios/runner/runner.h"

G_BEGIN_DECLS

typedef struct NlExpectIndex NlExpectIndex;

/* (transfer full) the index of @r's expectations (every one of the
 * scenario's, group copies included), listening to @r's trace from now
 * on: make it before anything is recorded. */
NlExpectIndex *nl__expect_index_new(NlRun *r);
void nl__expect_index_free(NlExpectIndex *ix);

/* Whether an output expectation reads the lines of program @peer on node
 * @node (trace ids): their explanations show them. */
gboolean nl__expect_reads_lines(NlExpectIndex *ix, guint32 peer,
                                guint32 node);

/* The last line the index saw, and whether an expectation reads it: the
 * index's first member, so that nl__expect_reads_line answers the run's
 * filter (asked of each line right after the index saw it) without a
 * call. */
typedef struct {
  guint32 peer, node;
  gboolean reads;
} NlExpectLastLine;

/* nl__expect_reads_lines, inline for the line the index saw last. */
static inline gboolean nl__expect_reads_line(NlExpectIndex *ix, guint32 peer,
                                             guint32 node) {
  const NlExpectLastLine *last = (const NlExpectLastLine *)ix;
  if (peer == last->peer && node == last->node)
    return last->reads;
  return nl__expect_reads_lines(ix, peer, node);
}

/* Whether @x (one of the scenario's expectations, a group or not) holds
 * now (@until: the virtual time of the check; the trace holds nothing
 * after it).  *@why: what happened when it does not (NULL when it holds
 * and all its copies do); *@detail: lines that explain a failed output
 * expectation (explain.h), or left NULL. */
gboolean nl__expect_eval(NlExpectIndex *ix, const NlScnExpect *x,
                         NlTime until, char **why, char **detail);

G_END_DECLS

#endif
