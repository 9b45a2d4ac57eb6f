/* Running a scenario: the world builder (syntax tree → simulated world),
 * the timeline of actions, and the expectations, checked from the trace.
 */
#ifndef NL_RUNNER_H
#define NL_RUNNER_H

#include <glib.h>

#include "scenarios/lang/scenario.h"
#include "sim/net/net.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

typedef struct NlRun NlRun;

typedef struct {
  gboolean seed_set;
  uint64_t seed;        /* replaces the scenario's seed when seed_set */
  unsigned watchdog_ms; /* 0: the default */
  uint64_t trace_mask;  /* kinds recorded; 0: all (see NL_RUN_CHECK_KINDS) */
  /* Called once with the run's trace as soon as it exists, before
   * anything is recorded: to listen to it (nl_trace_listen), e.g. an
   * output written as the run goes that needs no record kept. */
  void (*trace_ready)(void *data, NlTrace *t);
  void *trace_ready_data;
  /* The programs' output is not shown after the run (natlab run -q): of
   * their lines (stdout, stderr) keep only those the reports read: of the
   * programs an output expectation names, and ICE agents' `ice: ` lines
   * (the path reports).  Without it every line the mask keeps is kept. */
  gboolean output_unshown;
} NlRunOptions;

/* The kinds that the reports of a run read from its trace (failed
 * expectations explained with the programs' output, grading's context): a
 * run asked for no trace, timeline or capture keeps only these.  No
 * delivery record is kept: the expectations (runner-expect.c) and the path
 * reports (runner-path.c) take what they need of each delivery as it is
 * made, so such a run keeps nothing per delivered packet. */
#define NL_RUN_CHECK_KINDS                                                     \
  ((1u << NL_TRACE_NODE) | (1u << NL_TRACE_PKT_DROP) |                         \
   (1u << NL_TRACE_TCP_STATE) |                                                \
   (1u << NL_TRACE_PROC) | (1u << NL_TRACE_STDOUT) |                           \
   (1u << NL_TRACE_STDERR) | (1u << NL_TRACE_STDIN) | (1u << NL_TRACE_CHECK) | \
   (1u << NL_TRACE_STATS) | (1u << NL_TRACE_NOTE))

#define NL_RUN_ERROR (nl_run_error_quark())
GQuark nl_run_error_quark(void);
typedef enum {
  NL_RUN_ERROR_BUILD,   /* the world cannot be built as written */
  NL_RUN_ERROR_PROGRAM, /* a program cannot be compiled or loaded */
} NlRunError;

/**
 * nl_run_new: (transfer full) builds the world of @s (borrowed; it must
 * outlive the run) and schedules its programs, actions and expectations.
 * Errors name the scenario's file:line:column.
 */
NlRun *nl_run_new(const NlScenario *s, const NlRunOptions *opts,
                  GError **error) G_GNUC_WARN_UNUSED_RESULT;
void nl_run_free(NlRun *r);

/* Called during nl_run_execute() about every 1/200 of the duration of
 * virtual time: for progress displays.  It must not touch the world. */
typedef void (*NlRunProgressFn)(void *data, NlTime now, NlTime end,
                                uint64_t events);
void nl_run_set_progress(NlRun *r, NlRunProgressFn fn, void *data);

/* Runs until the scenario's duration, ends every process, then checks the
 * expectations still unchecked.  Returns the number that failed. */
guint nl_run_execute(NlRun *r);

NlWorld *nl_run_world(NlRun *r);
NlTrace *nl_run_trace(NlRun *r);
guint nl_run_n_expects(const NlRun *r);
/* The result of expectation @i (scenario order) after nl_run_execute():
 * whether it held, why not (NULL when it held), and the virtual time it
 * was checked.  Returns the expectation, or NULL past the end. */
const NlScnExpect *nl_run_expect_result(const NlRun *r, guint i,
                                        gboolean *passed, const char **why,
                                        NlTime *when);
/* Appends one line per failed expectation ("file:line: expect ...: why"),
 * and under an output expectation indented lines that show the closest
 * line printed, the last lines and how the program ended. */
void nl_run_report_failures(const NlRun *r, GString *out);

/**
 * nl_run_build_sources: builds one program from the NULL-terminated C
 * @sources (absolute paths) with natlab-cc (scenarios/runner/build.c).
 * Programs are cached in $XDG_CACHE_HOME/natlab, one entry per list of
 * sources; an entry is used only while every file the compiler read for it
 * (its -MD list: sources and headers), natlab-cc and the shim have the
 * content they had when it was built.
 * Returns: (transfer full) the path of the module, or NULL with @error
 * (NL_RUN_ERROR_PROGRAM, with the compiler's messages).
 */
char *nl_run_build_sources(const char *const *sources,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_run_build_programs: builds every program of @s given as C sources,
 * so that nl_run_new() afterwards only loads them: natlab builds them
 * (running natlab-cc) before it seals itself (sim/host/seal.h), then
 * builds and runs the world sealed.  A process that built a list of
 * sources once finds it again without running natlab-cc.
 * Returns: FALSE with @error (file:line:col of the program) if one does
 * not build.
 */
gboolean nl_run_build_programs(const NlScenario *s,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Internal (runner.c): between nl__run_build_batch(TRUE) and (FALSE), a
 * program's cache entry is checked once however many run lines name it
 * (a group of 100,000 hosts running one source): the files are taken not
 * to change while one scenario is being built. */
void nl__run_build_batch(gboolean on);

/* nl_run_build_sources() of one file. */
char *nl_run_build_program(const char *source,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_run_trace_diff: compares two traces record by record in text form.
 * Returns: TRUE when identical; otherwise describes the first difference
 * (its index, virtual time and both lines) in @out.
 */
gboolean nl_run_trace_diff(const NlTrace *a, const NlTrace *b, GString *out);

G_END_DECLS

#endif
