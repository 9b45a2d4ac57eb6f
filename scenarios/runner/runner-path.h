/* The path two hosts' traffic took, read from the trace: what the ICE
 * agents on them reported (the `ice: ...` lines of ice-peer, documented in
 * programs/ice/ice-peer.c and docs/scenario-format.md) and the bytes their
 * data put on the wire.  `expect path` and `natlab matrix` use both.
 */
#ifndef NL_RUNNER_PATH_H
#define NL_RUNNER_PATH_H

#include <glib.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"

G_BEGIN_DECLS

typedef enum {
  NL_RUN_ICE_NONE,        /* no ICE agent on the host reported about the peer */
  NL_RUN_ICE_PENDING,     /* it runs, but reported no outcome (yet) */
  NL_RUN_ICE_SELECTED,    /* its last report: a pair was selected */
  NL_RUN_ICE_FAILED,      /* its last report: ICE failed */
  NL_RUN_ICE_PATH_FAILED, /* its last report: the selected path died */
} NlRunIceOutcome;

typedef struct {
  NlRunIceOutcome outcome;
  gboolean relayed;  /* SELECTED, PATH_FAILED: the path was relayed */
  NlTime at;         /* when the last report was printed */
  char agent[64];    /* the reporting agent's name (name=) */
  char peer[64];     /* its peer's name (peer=) */
  char local[96];    /* TYPE:IP:PORT of the selected pair, or "" */
  char remote[96];
  char why[256];     /* FAILED, PATH_FAILED: the reason printed */
} NlRunIceReport;

/**
 * nl_run_ice_report: the last report, up to virtual time @until, of an
 * ICE agent running on host @a about its session with host @b.  The peer
 * is recognised by name: a report on @a whose peer= is a name= under which
 * an agent on @b reported.
 * @out: OUT.  Returns: FALSE when no agent on @a reported about @b
 * (@out->outcome NONE, or PENDING when @a runs an agent that has not
 * reported an outcome).
 */
gboolean nl_run_ice_report(NlRun *r, const char *a, const char *b,
                           NlTime until, NlRunIceReport *out);

/* Bytes of the two hosts' data on the wire (see nl_run_path_bytes). */
typedef struct {
  guint64 direct_bytes;   /* IP bytes of data datagrams, peer to peer */
  guint64 relayed_bytes;  /* the same, peer to relay plus relay to peer */
  guint direct_packets;   /* datagrams delivered on direct legs */
  guint relayed_packets;  /* datagrams delivered on relayed legs */
} NlRunPathBytes;

/**
 * nl_run_path_bytes: sums the IP length of every application datagram the
 * hosts @a and @b exchanged, once per leg of its path: peer to peer on a
 * direct path; peer to TURN relay and relay to peer on a relayed one (so a
 * relayed byte counts about twice, as it crosses the internet twice).
 * STUN messages (checks, consent, keepalives, TURN control) are not data;
 * data inside ChannelData or a Send indication is; so are TCP segments
 * with a payload sent straight between the two (a punched TCP hole; they
 * count as "datagrams" too).  Tallied from the delivery records as they
 * are made (whether the trace keeps them or not), so it is the same in
 * every run whatever its outputs.
 */
void nl_run_path_bytes(NlRun *r, const char *a, const char *b,
                       NlRunPathBytes *out);

/**
 * nl_run_report_paths: appends one line for each pair of hosts whose ICE
 * agents selected a pair with each other, and for each pair an `expect
 * path` names, saying what their path was at the end of the run and the
 * bytes their data put on the wire:
 *   path A B: direct (ICE on A: LOCAL -> REMOTE); data on the wire:
 *     N bytes direct (P datagrams), M bytes relayed (Q datagrams, ...)
 * (one line each; natlab run prints them after the expectations).
 */
void nl_run_report_paths(NlRun *r, GString *out);

/* For runner.c: `expect path` from the agents' reports.  Returns FALSE
 * when neither host ran an ICE agent that reported about the other (the
 * caller then judges from the packets); else sets @pass and @why (owned,
 * may be NULL) and TRUE. */
gboolean nl__run_expect_path_ice(NlRun *r, const NlScnExpect *x, NlTime until,
                                 gboolean *pass, char **why);

/* nl_run_path_bytes() from a trace of a run of @s (runner-metric.c). */
void nl__run_path_bytes_in(const NlScenario *s, NlTrace *t, const char *a,
                           const char *b, NlRunPathBytes *out);
/* For runner.c: the tally nl_run_path_bytes reads, by delivering node,
 * source address and kind of datagram (bounded by the pairs that talk,
 * not by the packets), listening to @t from now on: made before anything
 * is recorded.  With @keeps_ice_lines (TRUE only when @t keeps every
 * stdout line that starts with "ice: ": its mask keeps stdout, and a
 * filter, if any, keeps those lines), it also keeps a copy of those
 * lines, which the ICE reports then read instead of the whole trace. */
typedef struct NlPathTally NlPathTally;
NlPathTally *nl__path_tally_new(NlTrace *t, gboolean keeps_ice_lines);
void nl__path_tally_free(NlPathTally *pt);
/* For tests: drops the tally's copy of the `ice: ` lines, so that the ICE
 * reports read the trace, as without one. */
void nl__path_tally_forget_ice_lines(NlPathTally *pt);
NlPathTally *nl__run_path_tally(const NlRun *r);

/* runner.c's address ownership rules, shared with the path reader. */
gboolean nl__run_node_has(const NlScenario *s, const NlScnNode *n,
                          uint32_t addr, guint depth);
gboolean nl__run_is_relay(const NlScenario *s, uint32_t addr);
const NlScenario *nl__run_scenario(const NlRun *r);

G_END_DECLS

#endif
