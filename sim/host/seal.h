/* Sealing natlab: once the world is built, natlab confines its own process
 * with a seccomp filter, so that whatever path a program takes (a call the
 * shim does not answer, a function found with dlsym, a raw `syscall`
 * instruction) nothing reaches the real system: no real socket, no new
 * process, no exec, no signal to another process.
 *
 * What the filter does, by system call:
 *
 * - refused everywhere: sockets (socket, connect, bind, sendto, ...), new
 *   processes (fork, vfork, clone without CLONE_THREAD), exec (execve,
 *   execveat), ptrace, process_vm_*, pidfd_*, io_uring (its operations
 *   would bypass the filter), kernel modules, namespaces, mount, clock
 *   setting, TIOCSTI (typing into the terminal), F_SETOWN (signals to
 *   another process), and every system call of another ABI (int 0x80).
 * - natlab's only: signal handlers and the signal stack (the guard's),
 *   timers (the watchdog's), exit and exit_group, prctl, seccomp, resource
 *   limits, the working directory, identities, arch_prctl, and kill,
 *   tgkill and friends aimed at natlab itself.
 * - signal masks (rt_sigprocmask, except SIG_UNBLOCK): a program's change
 *   is ignored (so no program can block the watchdog's SIGALRM); natlab's
 *   own is applied exactly.
 *
 * A refused call made by a program ends that program alone: the process is
 * reported (proc.c) as "refused: the system call NAME (WHAT)", with its
 * host and virtual time, and the run goes on.  A program is running while
 * a coroutine runs (sim/host/coro.h) and while its object is being loaded
 * or unloaded (its constructors and destructors: nl_seal_loading_begin());
 * there a refused call fails with EPERM and is counted, since nothing can
 * be ended.  natlab's own code gets "natlab's only" calls done (the signal
 * handler repeats them with a secret argument the filter lets through),
 * and "refused everywhere" ones fail with EPERM and a line on stderr: it
 * never makes them once sealed.
 *
 * Threads (clone with CLONE_THREAD) stay allowed: graphviz's text layout
 * starts threads while natlab writes a timeline.  A thread inherits the
 * filter.  clone3 hides its flags from the filter: natlab's own clone3
 * fails with ENOSYS, so glibc falls back to clone.
 *
 * The filter cannot be removed, so a process that must fork or exec later
 * (build programs, start a child) does so before nl_seal_apply().  Under
 * AddressSanitizer, the leak checker's tracer (clone with CLONE_UNTRACED,
 * then ptrace of natlab itself) stays possible.
 *
 * In-process confinement has limits, which docs/posix-coverage.md states:
 * a program that reads natlab's memory, forges a signal frame or writes
 * over natlab's own code or data is not stopped here; `natlab grade` runs
 * each graded test in a child process for that.
 */
#ifndef NL_SEAL_H
#define NL_SEAL_H

#include <glib.h>

#include "sim/host/coro.h"

G_BEGIN_DECLS

#define NL_SEAL_ERROR (nl_seal_error_quark())
GQuark nl_seal_error_quark(void);

typedef enum {
  NL_SEAL_ERROR_UNSUPPORTED, /* no seccomp on this machine or architecture */
  NL_SEAL_ERROR_FAILED,      /* a system call failed; the message says */
} NlSealError;

typedef enum {
  /* What `natlab run` needs: files stay open to natlab and to programs
   * (natlab writes its outputs after the run; programs read files). */
  NL_SEAL_RUN,
  /* NL_SEAL_RUN, and no file is created, opened for writing, renamed,
   * removed or changed: for a child that only reports to its parent
   * through descriptors it already holds (natlab grade's test runs). */
  NL_SEAL_READ_ONLY,
} NlSealLevel;

/**
 * nl_seal_apply: confines the calling process from now on, for good
 * (seccomp filters cannot be removed; no_new_privs is set).  Installs the
 * crash guard (sim/host/guard.h) if it is not yet.  All threads of the
 * process get the filter.  Calling it again is a no-op at the same level
 * and adds the stricter rules at NL_SEAL_READ_ONLY.
 * Returns: FALSE with @error set if the filter could not be installed
 * (NL_SEAL_ERROR_UNSUPPORTED where seccomp is missing); the process is
 * then not confined.
 */
G_GNUC_WARN_UNUSED_RESULT gboolean nl_seal_apply(NlSealLevel level,
                                                 GError **error);

/* TRUE once nl_seal_apply() succeeded in this process. */
gboolean nl_seal_active(void);

/**
 * nl_seal_refusal: what the first call the seal refused to coroutine @c
 * was, as "the system call NAME (WHAT)", for the report of its program;
 * NULL if none.  The string is valid until the next nl_seal_* call.  @c was
 * ended right away (nl_coro_crashed() is SIGSYS) when the program's own
 * code made the call; when the call came from inside libc (system(),
 * fork() found with dlsym), the call failed with EPERM instead, so that
 * libc could release its locks, and nl_seal_refusal_pending() is TRUE: the
 * caller must end the program the next time it has control (the program's
 * next call into the lab, its end, or the watchdog).
 */
const char *nl_seal_refusal(const NlCoro *c);
gboolean nl_seal_refusal_pending(const NlCoro *c);

/* Ends the running coroutine if it has a refusal pending (as if it had
 * crashed with SIGSYS); a no-op otherwise.  Called on entry to the lab,
 * before the call allocates anything that ending it would leak. */
void nl_seal_check(void);

/* Like nl_seal_refusal(), for the last call refused while a program was
 * being loaded or unloaded (see nl_seal_loading_begin()). */
const char *nl_seal_last_refusal(void);

/**
 * nl_seal_refuse: a refusal by the lab itself (a call the shim answers by
 * refusing it: dlsym("system"), syscall(SYS_socket)...), described by
 * @what ("dlsym(\"system\"): ...").  In a coroutine, ends it as a refused
 * system call would (nl_seal_refusal() then gives @what) and never
 * returns; while a program is being loaded, counts it for
 * nl_seal_loading_end() and returns (the call then fails).  Works sealed
 * or not.
 */
void nl_seal_refuse(const char *what);

/**
 * nl_seal_loading_begin, nl_seal_loading_end: bracket code of a program
 * that runs outside a coroutine (loading or unloading its object runs its
 * constructors and destructors).  Refused calls in between fail with EPERM.
 * nl_seal_loading_end() returns how many were refused since the matching
 * begin (nl_seal_last_refusal() names the last).  They nest.
 */
void nl_seal_loading_begin(void);
unsigned nl_seal_loading_end(void);

/* Number of refused calls natlab itself made (they failed with EPERM).
 * Always 0 unless natlab has a bug; for tests. */
unsigned nl_seal_natlab_refusals(void);

G_END_DECLS

#endif
