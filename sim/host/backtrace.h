/* Where a program crashed: its stack unwound and its frames named by
 * source file, line and function, from the DWARF that natlab-cc's -g puts
 * in every program.
 *
 * The unwinder and the line tables are elfutils' libdw (what eu-stack,
 * perf and systemd-coredump use).  The stack is unwound from the registers
 * the guard saved at the fault (sim/host/guard.c), reading only the
 * coroutine's own stack, so a smashed stack ends the backtrace instead of
 * faulting again.  Nothing is read over the network (no debuginfod).
 *
 * For the trace, only the program's own frames are named (not the shim's,
 * not libc's): what is in the trace must not depend on the machine, and a
 * libc function's name does (__strlen_avx2 or __strlen_sse2).
 */
#ifndef NL_BACKTRACE_H
#define NL_BACKTRACE_H

#include <glib.h>

#include "sim/host/coro.h"
#include "sim/host/loader.h"

G_BEGIN_DECLS

/* Frames kept: the innermost NL_BACKTRACE_TOP and the outermost
 * NL_BACKTRACE_MAX - NL_BACKTRACE_TOP (a runaway recursion's start is at
 * the bottom of its stack). */
#define NL_BACKTRACE_MAX 64
#define NL_BACKTRACE_TOP 48

/* A stack: @pc[0] is the faulting instruction (or where the watchdog
 * stopped it), the others are return addresses, innermost first.  When
 * the stack was deeper than NL_BACKTRACE_MAX, @omitted frames between
 * pc[NL_BACKTRACE_TOP - 1] and pc[NL_BACKTRACE_TOP] are left out. */
typedef struct {
  void *pc[NL_BACKTRACE_MAX];
  guint n;
  guint omitted;
} NlBacktrace;

/* One frame, named. */
typedef struct {
  char *function;      /* "parse_line", or NULL when unknown */
  char *file;          /* the source file as compiled, or NULL */
  guint line;          /* 0 when unknown */
  gboolean in_program; /* the program's own code: in @prog, not the shim */
} NlFrameInfo;

/**
 * nl_backtrace_of_coro: unwinds @c, which crashed or was stopped by the
 * watchdog, from the registers saved at that moment.  Call it right after
 * nl_coro_resume() returned, before any other nl_coro_* call on this
 * thread reuses @c's stack.
 * Returns: the number of frames in @out (0 when no registers were saved,
 * e.g. on a machine other than x86_64 and aarch64).
 */
guint nl_backtrace_of_coro(const NlCoro *c, NlBacktrace *out);

/**
 * nl_backtrace_frame_info: names the frame at @pc.  @return_address: @pc
 * is a return address (every frame but the first), so the call before it
 * is looked up.  @prog: (nullable) the program, for @out->in_program.
 * Returns: FALSE when @pc lies in no loaded object; @out is filled (and
 * must be cleared) either way.
 */
gboolean nl_backtrace_frame_info(const void *pc, gboolean return_address,
                                 const NlProgram *prog, NlFrameInfo *out);
void nl_frame_info_clear(NlFrameInfo *info);

/**
 * nl_backtrace_describe: where @bt happened in @prog, for a person and
 * for the trace: "at main.c:12 in parse_line", then up to @callers of its
 * callers in the program: " (called from main.c:30 in handle, main.c:52
 * in main)".  When the fault itself was outside the program (in a library
 * function it called, or in natlab's answer to one of its calls), it says
 * "in a call made at main.c:12 in parse_line".  Files are given by their
 * base name.
 * Returns: (transfer full) the text, or NULL when no frame of @bt is in
 * the program.
 */
char *nl_backtrace_describe(const NlBacktrace *bt, const NlProgram *prog,
                            guint callers);

/**
 * nl_backtrace_describe_overflow: where a stack overflow @bt began, as
 * "in recurse, recursively (called from main.c:23 in main)": the outermost
 * function of the program that recurses, and up to @callers of its own
 * callers.  The innermost frame of an overflow is wherever the stack ran
 * out, which depends on the frames below the program (natlab's own), so
 * it is not named; the bottom of the stack does not move.  Without a
 * recursion: the innermost program function, without its line.
 * Returns: (transfer full) or NULL as nl_backtrace_describe().
 */
char *nl_backtrace_describe_overflow(const NlBacktrace *bt,
                                     const NlProgram *prog, guint callers);

/**
 * nl_backtrace_crash_line: nl_backtrace_of_coro() then
 * nl_backtrace_describe() (nl_backtrace_describe_overflow() for a stack
 * overflow) with three callers: what natlab appends to "crashed:
 * Segmentation fault" in a process's end record.
 * Returns: (transfer full) or NULL.
 */
char *nl_backtrace_crash_line(const NlCoro *c, const NlProgram *prog);

G_END_DECLS

#endif
