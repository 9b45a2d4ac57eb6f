/* io_uring in the lab (sim/host/uring.c), behind liburing's API: the
 * shim's io_uring_* functions call these.  Each returns >= 0 or -errno, as
 * liburing's functions do, and waits by suspending the calling coroutine
 * in virtual time. */
#ifndef NL_URING_H
#define NL_URING_H

#include <liburing.h>

#include "sim/host/host-priv.h"

G_BEGIN_DECLS

int nl_uring_queue_init_params(NlThread *t, unsigned entries,
                               struct io_uring *ring,
                               struct io_uring_params *params);
void nl_uring_queue_exit(NlThread *t, struct io_uring *ring);
/* Submits every queued entry; returns how many. */
int nl_uring_submit(NlThread *t, struct io_uring *ring);
/* Submits (when @do_submit; the count in *@submitted), then waits until
 * @wait_nr completions are ready (0: none, -EAGAIN if none is) or
 * @deadline (NL_TIME_NEVER: none; -ETIME); *@cqe_ptr is the first ready. */
int nl_uring_wait(NlThread *t, struct io_uring *ring,
                  struct io_uring_cqe **cqe_ptr, gboolean do_submit,
                  unsigned wait_nr, NlTime deadline, int *submitted);
unsigned nl_uring_peek_batch(NlThread *t, struct io_uring *ring,
                             struct io_uring_cqe **cqes, unsigned count);
int nl_uring_get_events(NlThread *t, struct io_uring *ring);
/* Fills a probe with @ops_len entries: the opcodes the lab answers. */
int nl_uring_probe_fill(struct io_uring_probe *p, unsigned ops_len);

G_END_DECLS

#endif
