/* <sys/event.h>: kqueue and kevent, for programs written for FreeBSD or
 * macOS, answered by natlab (Debian packages no kqueue headers).
 *
 * natlab-cc puts this folder on the include path.  The structure and the
 * constants are those of FreeBSD's documented API (kqueue(2)): a program
 * written for BSD compiles unchanged and runs in the lab in virtual time.
 * Filters answered: EVFILT_READ, EVFILT_WRITE and EVFILT_TIMER; see
 * docs/posix-coverage.md for what each reports. */
#ifndef NL_SYS_EVENT_H
#define NL_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kevent {
  uintptr_t ident;  /* identifier: a descriptor, or a timer's number */
  short filter;     /* EVFILT_* */
  unsigned short flags;  /* EV_* */
  unsigned int fflags;   /* filter flags (NOTE_*) */
  int64_t data;     /* filter data */
  void *udata;      /* opaque user data, returned as given */
  uint64_t ext[4];  /* extensions (FreeBSD 12+); ignored */
};

#define EV_SET(kevp, a, b, c, d, e, f)                                         \
  do {                                                                         \
    struct kevent *nl_kevp_ = (kevp);                                          \
    nl_kevp_->ident = (a);                                                     \
    nl_kevp_->filter = (b);                                                    \
    nl_kevp_->flags = (c);                                                     \
    nl_kevp_->fflags = (d);                                                    \
    nl_kevp_->data = (e);                                                      \
    nl_kevp_->udata = (f);                                                     \
    nl_kevp_->ext[0] = nl_kevp_->ext[1] = 0;                                   \
    nl_kevp_->ext[2] = nl_kevp_->ext[3] = 0;                                   \
  } while (0)

/* Filters (FreeBSD's values). */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_AIO (-3)
#define EVFILT_VNODE (-4)
#define EVFILT_PROC (-5)
#define EVFILT_SIGNAL (-6)
#define EVFILT_TIMER (-7)
#define EVFILT_USER (-11)

/* Actions and flags. */
#define EV_ADD 0x0001     /* add the event, or modify it */
#define EV_DELETE 0x0002  /* delete it */
#define EV_ENABLE 0x0004  /* let kevent() return it */
#define EV_DISABLE 0x0008 /* keep it, but do not return it */
#define EV_ONESHOT 0x0010 /* return once, then delete */
#define EV_CLEAR 0x0020   /* reset the state once returned (edge) */
#define EV_RECEIPT 0x0040 /* return EV_ERROR with data 0 on success */
#define EV_DISPATCH 0x0080 /* disable once returned */
#define EV_SYSFLAGS 0xF000
#define EV_FLAG1 0x2000
#define EV_EOF 0x8000     /* returned: end of file */
#define EV_ERROR 0x4000   /* returned: error, errno in data */

/* EVFILT_TIMER's fflags: the unit of data (milliseconds without one). */
#define NOTE_SECONDS 0x00000001
#define NOTE_MSECONDS 0x00000002
#define NOTE_USECONDS 0x00000004
#define NOTE_NSECONDS 0x00000008
#define NOTE_ABSTIME 0x00000010

/* EVFILT_READ's fflags: the low-water mark (not supported: refused). */
#define NOTE_LOWAT 0x0001

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges,
           struct kevent *eventlist, int nevents,
           const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif
