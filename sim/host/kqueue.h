/* kqueue(2) and kevent(2) in the lab (sim/host/kqueue.c), for programs
 * written for BSD and macOS; natlab-cc provides <sys/event.h>.  Like the
 * virtual sockets, each call returns >= 0 or -errno and blocks by
 * suspending the calling coroutine in virtual time. */
#ifndef NL_KQUEUE_H
#define NL_KQUEUE_H

#include "sim/host/host-priv.h"
#include "sim/host/include/sys/event.h"

G_BEGIN_DECLS

int nl_kq_kqueue(NlThread *t);
int nl_kq_kevent(NlThread *t, int kq, const struct kevent *changes,
                 int nchanges, struct kevent *events, int nevents,
                 const struct timespec *timeout);

G_END_DECLS

#endif
