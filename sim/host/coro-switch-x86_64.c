/* The x86_64 (System V) context switch, behind nl__coro_switch().
 *
 * A suspended context is its stack pointer; below it lie, from high to low:
 * the return address, rbp, rbx, r12-r15, and one 8-byte slot holding MXCSR
 * (low half) and the x87 control word (high half).  These are exactly what
 * the ABI says a callee must preserve; everything else is caller-saved, so
 * the C caller has already spilled it.  No system call: the signal mask is
 * per thread, not per coroutine (glibc's swapcontext makes an
 * rt_sigprocmask call, ~1 us, for that).
 *
 * The switch resumes with `pop; jmp *reg` (with CET: `ret`): a `ret`
 * mispredicts every time (the return stack holds the other side's calls).
 *
 * MXCSR is reloaded on every switch, the x87 control word only when it
 * differs.  Measured on this machine (AMD family 26; docs/performance.md):
 * `ldmxcsr` costs next to nothing, `fldcw` ~0.3 ns, but reading back what
 * `stmxcsr` just stored, to compare, stalls ~2 ns (the load waits for the
 * store).  `fnstcw` forwards to a load as any store does.  `stmxcsr`
 * itself is the dearest instruction here: back to back one per ~4.5 ns
 * (17 cycles), ~1.5 ns of a switch.  A coroutine's side keeps it (a
 * program may change MXCSR at any time, and its exception flags with any
 * arithmetic); the main context's side (nl__coro_switch_main) does
 * without: its environment is fixed per thread (coro.c, "The main
 * context").  Reloading the whole MXCSR also gives each coroutine its own
 * exception flags, as threads have theirs.
 */
#include "sim/host/coro-priv.h"

#include <stddef.h>
#include <stdint.h>

#ifndef NL_CORO_ASM_SWITCH
#error "coro-switch-x86_64.c is the x86_64 switch; meson picks it by host"
#endif

/* void nl__coro_switch(NlCoroCtx *from (rdi), NlCoroCtx *to (rsi),
 *                      NlCoroTls *t (rdx), NlCoro *cur (rcx))
 * void nl__coro_switch_main(..., uint64_t env (r8)) */
G_STATIC_ASSERT(offsetof(NlCoroTls, cur) == 0);
G_STATIC_ASSERT(offsetof(NlCoroTls, in_switch) == 8);

#if defined(__CET__)
#define NL_ENDBR "endbr64\n"
/* With shadow stacks a `ret` must match its call. */
#define NL_RESUME "ret\n"
#else
#define NL_ENDBR
/* pop + jmp rather than ret: a ret here always mispredicts (the return
 * stack holds the other side's call), the indirect jump is learned by the
 * branch predictor. */
#define NL_RESUME                                                              \
  "popq %rcx\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "jmpq *%rcx\n"
#endif

#define NL_PUSH_CALLEE_SAVED                                                   \
  "pushq %rbp\n"                                                               \
  ".cfi_adjust_cfa_offset 8\n"                                                 \
  "pushq %rbx\n"                                                               \
  ".cfi_adjust_cfa_offset 8\n"                                                 \
  "pushq %r12\n"                                                               \
  ".cfi_adjust_cfa_offset 8\n"                                                 \
  "pushq %r13\n"                                                               \
  ".cfi_adjust_cfa_offset 8\n"                                                 \
  "pushq %r14\n"                                                               \
  ".cfi_adjust_cfa_offset 8\n"                                                 \
  "pushq %r15\n"                                                               \
  ".cfi_adjust_cfa_offset 8\n"

/* From the departing side's saved slot (r9w: its x87 control word) to the
 * arriving side: swap stacks, publish who runs now (see coro-priv.h), load
 * the arriving side's MXCSR and, when it differs, its x87 control word,
 * and continue it.  @L is a label prefix, one per use. */
#define NL_SWITCH_TAIL(L)                                                      \
  "movq %rsp, (%rdi)\n"                                                        \
  "movq (%rsi), %rsp\n"                                                        \
  "movq %rcx, (%rdx)\n"                                                        \
  "movl $0, 8(%rdx)\n"                                                         \
  "ldmxcsr (%rsp)\n"                                                           \
  "cmpw 4(%rsp), %r9w\n"                                                       \
  "jne " L "_fp\n"                                                             \
  L "_pop:\n"                                                                  \
  "addq $8, %rsp\n"                                                            \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "popq %r15\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "popq %r14\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "popq %r13\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "popq %r12\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "popq %rbx\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n"                                                \
  "popq %rbp\n"                                                                \
  ".cfi_adjust_cfa_offset -8\n" NL_RESUME                                      \
  ".cfi_def_cfa_offset 64\n"                                                   \
  L "_fp:\n"                                                                   \
  "fldcw 4(%rsp)\n"                                                            \
  "jmp " L "_pop\n"

__asm__(".text\n"
        ".globl nl__coro_switch\n"
        ".type nl__coro_switch, @function\n"
        ".p2align 4\n"
        "nl__coro_switch:\n"
        ".cfi_startproc\n" NL_ENDBR NL_PUSH_CALLEE_SAVED
        "subq $8, %rsp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "stmxcsr (%rsp)\n"
        "fnstcw 4(%rsp)\n"
        "movzwl 4(%rsp), %r9d\n" NL_SWITCH_TAIL(".Lsw")
        ".cfi_endproc\n"
        ".size nl__coro_switch, .-nl__coro_switch\n"
        "\n"
        /* The main context's side: its slot is @env, not read back from
         * the registers (stmxcsr is most of a switch's cost: ~17 cycles,
         * against one for a push). */
        ".globl nl__coro_switch_main\n"
        ".type nl__coro_switch_main, @function\n"
        ".p2align 4\n"
        "nl__coro_switch_main:\n"
        ".cfi_startproc\n" NL_ENDBR NL_PUSH_CALLEE_SAVED
        "pushq %r8\n"
        ".cfi_adjust_cfa_offset 8\n"
        "movq %r8, %r9\n"
        "shrq $32, %r9\n" NL_SWITCH_TAIL(".Lswm")
        ".cfi_endproc\n"
        ".size nl__coro_switch_main, .-nl__coro_switch_main\n"
        "\n"
        /* First code of every coroutine: rbx holds the NlCoro.  The stack
         * is 16-byte aligned here, so the call leaves it as the ABI wants.
         * The return address is undefined: unwinders stop here. */
        ".globl nl__coro_boot\n"
        ".type nl__coro_boot, @function\n"
        ".p2align 4\n"
        "nl__coro_boot:\n"
        ".cfi_startproc\n"
        ".cfi_undefined rip\n"
#if defined(__CET__)
        "endbr64\n"
#endif
        "xorl %ebp, %ebp\n"
        "movq %rbx, %rdi\n"
        "call nl__coro_start@PLT\n"
        "ud2\n"
        ".cfi_endproc\n"
        ".size nl__coro_boot, .-nl__coro_boot\n");

void nl__coro_boot(void);

/* MXCSR and x87 control word of a fresh Linux process: all exceptions
 * masked, round to nearest, 64-bit x87 precision. */
#define NL_MXCSR_DEFAULT 0x1F80u
#define NL_FPUCW_DEFAULT 0x037Fu
/* MXCSR's exception flags (status, not control). */
#define NL_MXCSR_FLAGS 0x3Fu

guint64 nl__coro_env_read(void) {
  uint32_t mxcsr;
  uint16_t cw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  return (guint64)(mxcsr & ~NL_MXCSR_FLAGS) | ((guint64)cw << 32);
}

void nl__coro_ctx_make(NlCoroCtx *ctx, void *lo, size_t size, NlCoro *c) {
  uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
  uint64_t *sp = (uint64_t *)top;
  *--sp = (uint64_t)(uintptr_t)nl__coro_boot; /* return address */
  *--sp = 0;                                   /* rbp */
  *--sp = (uint64_t)(uintptr_t)c;              /* rbx */
  *--sp = 0;                                   /* r12 */
  *--sp = 0;                                   /* r13 */
  *--sp = 0;                                   /* r14 */
  *--sp = 0;                                   /* r15 */
  *--sp = (uint64_t)NL_MXCSR_DEFAULT | ((uint64_t)NL_FPUCW_DEFAULT << 32);
  ctx->sp = sp;
}
