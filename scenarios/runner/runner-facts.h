/* The runner's half of the system facts: a scenario's timezone=, nofile=
 * and env of a host, and env= and cwd= of a run, handed to the host layer
 * (sim/host/facts.h). */
#ifndef NL_RUNNER_FACTS_H
#define NL_RUNNER_FACTS_H

#include "scenarios/lang/scenario.h"
#include "sim/host/proc.h"
#include "sim/net/net.h"

/* Before any of @sn's programs is spawned on @node. */
void nl__run_host_facts(NlNode *node, const NlScnNode *sn);

/* Right after @p is spawned for @run (before it starts).  A program starts
 * in @home, the scenario file's directory made absolute, so it finds the
 * files beside it; cwd= says otherwise. */
void nl__run_proc_facts(NlProc *p, const NlScnRun *run, const char *home);

#endif
