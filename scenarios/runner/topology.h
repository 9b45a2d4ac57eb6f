/* The world in the trace: TOPOLOGY records written when a run is built. */
#ifndef NL_RUNNER_TOPOLOGY_H
#define NL_RUNNER_TOPOLOGY_H

#include "scenarios/lang/scenario.h"
#include "sim/net/net.h"

G_BEGIN_DECLS

/* Records the realtime epoch, every network, link, route, name and NAT
 * behaviour of @s as built in @w (sim/core/trace.h, NlTopoKind), at
 * virtual time 0. */
void nl__run_trace_topology(NlWorld *w, const NlScenario *s);

G_END_DECLS

#endif
