/* The portable context switch, behind nl__coro_switch(): POSIX ucontext.
 * Used where no hand-written switch exists.  glibc's swapcontext saves and
 * restores the signal mask with a system call, so a switch costs about a
 * microsecond instead of a few nanoseconds; behaviour is the same.
 */
#include "sim/coro-priv.h"

#ifdef NL_CORO_ASM_SWITCH
#error "coro-ucontext.c is the fallback switch; define NL_CORO_UCONTEXT"
#endif

void nl__coro_switch(NlCoroCtx *from, NlCoroCtx *to) {
  if (swapcontext(&from->uc, &to->uc) != 0)
    g_error("swapcontext failed");
}

/* makecontext passes only int arguments; the resumer has already made the
 * new coroutine current, so take it from there. */
static void boot(void) {
  nl__coro_start(nl__coro_tls.cur);
}

void nl__coro_ctx_make(NlCoroCtx *ctx, void *lo, size_t size, NlCoro *c) {
  (void)c;
  if (getcontext(&ctx->uc) != 0)
    g_error("getcontext failed");
  ctx->uc.uc_stack.ss_sp = lo;
  ctx->uc.uc_stack.ss_size = size;
  ctx->uc.uc_link = NULL;
  makecontext(&ctx->uc, boot, 0);
}
