/* The portable context switch, behind nl__coro_switch(): POSIX ucontext.
 * Used where no hand-written switch exists.  glibc's swapcontext saves and
 * restores the signal mask with a system call, so a switch costs about a
 * microsecond instead of a few nanoseconds; behaviour is the same.
 */
#include "sim/host/coro-priv.h"

#ifdef NL_CORO_ASM_SWITCH
#error "coro-ucontext.c is the fallback switch; define NL_CORO_UCONTEXT"
#endif

/* The arriving side publishes @cur itself: it is the first code to run on
 * the new stack, either just after its own swapcontext() or in boot(). */
static void arrive(NlCoroTls *t) {
  t->cur = t->pending_cur;
  t->in_switch = 0;
}

void nl__coro_switch(NlCoroCtx *from, NlCoroCtx *to, NlCoroTls *t,
                     NlCoro *cur) {
  t->pending_cur = cur;
  if (swapcontext(&from->uc, &to->uc) != 0)
    g_error("swapcontext failed");
  arrive(t);
}

/* makecontext passes only int arguments; the new coroutine is the one that
 * was handed over. */
static void boot(void) {
  arrive(&nl__coro_tls);
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
