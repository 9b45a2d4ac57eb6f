/* Processes on virtual hosts: ordinary C programs (a `main`) run as
 * coroutines in virtual time over the virtual sockets layer.
 *
 * A host's processes, sockets and ports live in its NlHostStack, which the
 * first nl_proc_spawn() on a node creates and hangs on the node.
 */
#ifndef NL_PROC_H
#define NL_PROC_H

#include <glib.h>

#include "sim/net/net.h"

G_BEGIN_DECLS

typedef struct NlProc NlProc;

#define NL_PROC_ERROR (nl_proc_error_quark())
GQuark nl_proc_error_quark(void);
typedef enum {
  NL_PROC_ERROR_EXISTS,    /* an instance of that name runs there */
  NL_PROC_ERROR_NOT_FOUND, /* no such built-in program */
} NlProcError;

#define NL_PROC_STATE_MAP(X)                                                   \
  X(STARTING, "starting")                                                      \
  X(RUNNING, "running")                                                        \
  X(EXITED, "exited")                                                          \
  X(CRASHED, "crashed")                                                        \
  X(SPIN, "stopped by watchdog")                                               \
  X(KILLED, "killed")

typedef enum {
#define NL_X(e, s) NL_PROC_##e,
  NL_PROC_STATE_MAP(NL_X)
#undef NL_X
} NlProcState;

/* Modelled virtual CPU cost of every call into the lab. */
#define NL_CALL_COST (1 * NL_US)

/* A busy-wait, as natlab names one: a thread made this many wasted calls
 * (EAGAIN, a poll or select with nothing ready and no wait) in a row,
 * without waiting once in between.  A correct event loop waits in poll(),
 * epoll_wait() or select() between rounds, so its wasted calls (the one
 * EAGAIN that ends each edge-triggered drain, a spurious wakeup) never
 * add up to this; a loop that retries a non-blocking call instead of
 * waiting makes a million a second of virtual time.  The STATS record of
 * a process says its longest run ("wasted-run=N"). */
#define NL_PROC_BUSY_WAIT_RUN 100

/**
 * nl_proc_spawn: starts @program on @node at virtual time @at.
 * @name: the instance name, unique on the node ("client").
 * @program: a built-in program name ("udp-echo-server") or the path of an
 *   object built by natlab-cc.
 * @argv: NULL-terminated arguments, argv[0] first (copied); NULL for just
 *   the program's base name.
 * Returns: (transfer none) the process, owned by the node's stack; NULL
 *   with @error set when the program cannot be loaded.
 */
NlProc *nl_proc_spawn(NlNode *node, const char *name, const char *program,
                      const char *const *argv, NlTime at, GError **error);

/* Finds a process by instance name on a node; NULL if none. */
NlProc *nl_proc_find(NlNode *node, const char *name);

/* Kills the process now (its sockets close as at exit). */
void nl_proc_kill(NlProc *p, const char *why);

/* Open files (sockets, pipes, epoll instances, kqueues, io_urings,
 * standard streams...) on @node's host stack now: what its processes have
 * not given back.  For tests: a process that ended, however it ended,
 * leaves none of its own. */
guint nl_proc_open_files(NlNode *node);

/* Kills every process on @node (a host crash). */
void nl_proc_kill_all(NlNode *node, const char *why);

/* A host crash: the node goes down first (nothing more leaves it: no FIN,
 * no RST), every process dies, and the host's TCP state is lost, as after
 * a power cut; a restart (nl_node_set_up) starts with a fresh stack. */
void nl_proc_host_crash(NlNode *node);

/* When every thread of @p is blocked in a lab call, records so in the
 * trace now: a proc record "blocked in CALL() since T" (one part per
 * thread) whose id is the earliest T, ending "(deadlock: nothing pending
 * can wake it)" when no thread has a deadline and every thread waits on
 * its own process (a lock, a condition, a join), or "(nothing pending can
 * wake it)" when no thread has a deadline and nothing at all is pending in
 * the world (a server idle in accept() at the end, or a client stuck in
 * recv() from a crashed peer).  Nothing is recorded for a process that is
 * running or not started. */
void nl_proc_trace_blocked(NlProc *p);
/* The same for every process on @node, in spawn order. */
void nl_proc_trace_blocked_all(NlNode *node);

/* Types a line into the process's standard input (a '\n' is added). */
void nl_proc_write_stdin(NlProc *p, const char *line);

NlProcState nl_proc_state(const NlProc *p);
const char *nl_proc_state_name(NlProcState s);
/* The exit status (valid once EXITED). */
int nl_proc_exit_code(const NlProc *p);
const char *nl_proc_name(const NlProc *p);
NlNode *nl_proc_node(const NlProc *p);

/* Watchdog: a program that runs @ms of CPU time without calling into the
 * lab is stopped (0 disables). */
void nl_proc_set_watchdog(unsigned ms);

/* Where built-in programs are looked for (a directory of .so modules);
 * defaults to $NATLAB_PROGRAMS_DIR, then the installed and build trees. */
void nl_proc_set_programs_dir(const char *dir);

/* Between nl_proc_spawn_batch(TRUE) and (FALSE), while a world is built,
 * spawns ask the file system about each program file once (whether it
 * exists, its identity) instead of once per spawn: the files must not
 * change in between. */
void nl_proc_spawn_batch(gboolean on);

/* Puts natlab's thread back in the global locale.  Between runs of
 * programs it keeps the locale the last run left (C or C.UTF-8, which
 * format as the global one does), so a caller that will print to the
 * terminal after running events (charset conversions follow LC_CTYPE)
 * calls this first. */
void nl_proc_locale_home(void);

G_END_DECLS

#endif
