/* Metrics: one number a run's trace gives, asked for by a short text
 * (`natlab sweep --metric`, docs/sweeps.md).  A metric reads the trace
 * (and the scenario, for names and addresses), never live simulator
 * state, so it can be computed after the run, from any run.
 *
 *   [LABEL[UNIT]=]KIND:ARG[:ARG...]
 *
 *   goodput:FROM:TO[:PORT]      Mbit/s   TCP data FROM sent that TO received
 *                                        in order, over the time from the
 *                                        first data segment to the last
 *                                        byte's arrival
 *   retransmits:FROM:TO[:PORT]  segments TCP data segments FROM sent again
 *   sent:HOST[:PORT]            datagrams UDP datagrams HOST sent (to PORT)
 *   delivered:HOST[:PORT]       datagrams UDP datagrams delivered to a
 *                                        socket of HOST (on PORT)
 *   line:HOST/PROG:REGEX        s        from the program's start to its
 *                                        first stdout line matching REGEX
 *   exit:HOST/PROG              s        from the program's start to its exit
 *   bytes:NETWORK[:NODE]        bytes    IP bytes put on the network (by or
 *                                        to NODE): each hop's transmission
 *   packets:NETWORK[:NODE]      packets  the same, counted in packets
 *   path-bytes:A:B              bytes    the two hosts' application data on
 *                                        the wire, once per leg (direct or
 *                                        through a TURN relay)
 *   stdout[.AGG]:HOST/PROG:REGEX         the number REGEX's first group (or
 *   stderr[.AGG]:HOST/PROG:REGEX         whole match) captures in the
 *                                        program's matching lines; AGG is
 *                                        mean (default), first, last, min,
 *                                        max, sum or count
 *
 * A TCP flow is matched across NATs by its sequence numbers: a connection
 * FROM opened or accepted is TO's when TO received FROM's SYN (or
 * SYN-ACK) with the same initial sequence number.
 */
#ifndef NL_RUNNER_METRIC_H
#define NL_RUNNER_METRIC_H

#include <glib.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

#define NL_RUN_METRIC_KIND_MAP(X)                                              \
  X(GOODPUT, "goodput", "Mbit/s")                                              \
  X(RETRANSMITS, "retransmits", "segments")                                    \
  X(SENT, "sent", "datagrams")                                                 \
  X(DELIVERED, "delivered", "datagrams")                                       \
  X(LINE, "line", "s")                                                         \
  X(EXIT, "exit", "s")                                                         \
  X(BYTES, "bytes", "bytes")                                                   \
  X(PACKETS, "packets", "packets")                                             \
  X(PATH_BYTES, "path-bytes", "bytes")                                         \
  X(STDOUT, "stdout", "")                                                      \
  X(STDERR, "stderr", "")

typedef enum {
#define NL_X(e, s, u) NL_RUN_METRIC_##e,
  NL_RUN_METRIC_KIND_MAP(NL_X)
#undef NL_X
      NL_RUN_METRIC_N_KINDS
} NlRunMetricKind;

/* How the numbers of several matching lines make one (stdout, stderr). */
typedef enum {
  NL_RUN_METRIC_MEAN,
  NL_RUN_METRIC_FIRST,
  NL_RUN_METRIC_LAST,
  NL_RUN_METRIC_MIN,
  NL_RUN_METRIC_MAX,
  NL_RUN_METRIC_SUM,
  NL_RUN_METRIC_COUNT,
} NlRunMetricAgg;

typedef struct NlRunMetric NlRunMetric;

#define NL_RUN_METRIC_ERROR (nl_run_metric_error_quark())
GQuark nl_run_metric_error_quark(void);
typedef enum {
  NL_RUN_METRIC_ERROR_SPEC,  /* the text is not a metric */
  NL_RUN_METRIC_ERROR_NAME,  /* it names what the scenario does not have */
  NL_RUN_METRIC_ERROR_VALUE, /* a captured text is not a number */
} NlRunMetricError;

/**
 * nl_run_metric_parse: reads a metric from @spec and checks the names it
 * uses against @s (may be NULL: names are not checked).
 * Returns: (transfer full) the metric, or NULL with @error, whose message
 * is "column N: what is wrong" (N counts characters of @spec from 1).
 */
NlRunMetric *nl_run_metric_parse(const char *spec, const NlScenario *s,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;
void nl_run_metric_free(NlRunMetric *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NlRunMetric, nl_run_metric_free)

/* The metric's label ("goodput" unless LABEL= was given), its unit ("" if
 * it has none), its kind and the text it was read from. */
const char *nl_run_metric_label(const NlRunMetric *m);
const char *nl_run_metric_unit(const NlRunMetric *m);
NlRunMetricKind nl_run_metric_kind(const NlRunMetric *m);
const char *nl_run_metric_spec(const NlRunMetric *m);

/* The trace kinds (bits 1 << NlTraceKind) the metric reads. */
guint64 nl_run_metric_trace_kinds(const NlRunMetric *m);

/**
 * nl_run_metric_eval_trace: the metric's value in @t, the trace of a run
 * of @s.  @out is NAN when what it measures did not happen (no such line
 * was printed, no data arrived, the program never exited).
 * Returns: FALSE with @error (NL_RUN_METRIC_ERROR_VALUE) when a captured
 * text is not a number.
 */
gboolean nl_run_metric_eval_trace(const NlRunMetric *m, NlTrace *t,
                                  const NlScenario *s, double *out,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* nl_run_metric_eval_trace() of a run, after nl_run_execute(). */
gboolean nl_run_metric_eval(const NlRunMetric *m, NlRun *r, double *out,
                            GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
