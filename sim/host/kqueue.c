/* kqueue(2) and kevent(2) as FreeBSD documents them, for programs written
 * for BSD or macOS.
 *
 * A kqueue is a file (so it can itself be polled, or watched by another
 * kqueue).  Each registered event -- a knote -- is keyed by (ident,
 * filter).  Descriptor filters watch their file through an NlWatch, so the
 * knote learns of every readiness change without a thread; a timer knote
 * is an event in virtual time.  kevent() applies the changes in order,
 * then collects active knotes, blocking until one is or the timeout ends.
 *
 * Semantics kept from the manual:
 *  - level-triggered by default (a knote is returned while its condition
 *    holds); EV_CLEAR returns it once per new trigger, EV_ONESHOT deletes
 *    it and EV_DISPATCH disables it once returned;
 *  - a change that fails is returned as an EV_ERROR event (errno in data)
 *    when the event list has room, else kevent() fails with that errno;
 *    EV_RECEIPT returns an EV_ERROR event for every change, data 0 when it
 *    succeeded;
 *  - EVFILT_READ: data is the bytes to read (a listening socket: the
 *    connections waiting); EV_EOF once the read side is shut down, with
 *    the socket error in fflags.  EVFILT_WRITE: data is the room in the
 *    send buffer; EV_EOF once nothing more can be written;
 *  - EVFILT_TIMER: data is the period (NOTE_SECONDS, NOTE_MSECONDS (the
 *    default), NOTE_USECONDS, NOTE_NSECONDS); periodic unless EV_ONESHOT;
 *    always EV_CLEAR; returned data is the expirations since the last
 *    return; re-adding a timer restarts it;
 *  - knotes on a descriptor go with the last close of its file.
 * Returned events carry the flags as registered, less EV_ADD, EV_DELETE,
 * EV_ENABLE and EV_DISABLE, plus EV_EOF. */
#include "sim/host/kqueue.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "sim/core/trace.h"

typedef struct {
  NlWatch watch; /* descriptor filters: on the descriptor's file */
  NlKqueue *kq;
  uintptr_t ident;
  short filter;
  unsigned short flags; /* as registered, less the actions */
  unsigned int fflags;
  int64_t sdata;
  void *udata;
  gboolean enabled;
  gboolean triggered; /* EV_CLEAR: a new trigger since last returned */
  /* EVFILT_TIMER */
  NlEvent timer;
  NlTime period;
  int64_t expired; /* since last returned */
} NlKnote;

struct NlKqueue {
  NlFile *file;
  GPtrArray *knotes; /* NlKnote, registration order; returned knotes that
                      * stay active move to the back */
};

#define ACTIONS (EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE)

/* ---- knotes ---- */

static void knote_notify(NlWatch *w) {
  NlKnote *kn = (NlKnote *)w;
  kn->triggered = TRUE;
  nl__file_notify(kn->kq->file);
}

static void knote_free(NlKnote *kn) {
  NlWorld *world = kn->kq->file->host->world;
  nl_event_cancel(nl_world_queue(world), &kn->timer);
  nl__watch_remove(&kn->watch);
  g_ptr_array_remove(kn->kq->knotes, kn);
  g_free(kn);
}

/* The descriptor's file went with its last close: so does the knote. */
static void knote_gone(NlWatch *w) {
  knote_free((NlKnote *)w);
}

static void timer_fired(NlEvent *ev, void *data) {
  NlKnote *kn = data;
  kn->expired++;
  kn->triggered = TRUE;
  if (!(kn->flags & EV_ONESHOT))
    nl_event_schedule_in(nl_world_queue(kn->kq->file->host->world), &kn->timer,
                         kn->period);
  nl__file_notify(kn->kq->file);
}

static NlKnote *knote_find(NlKqueue *kq, uintptr_t ident, short filter) {
  for (guint i = 0; i < kq->knotes->len; i++) {
    NlKnote *kn = g_ptr_array_index(kq->knotes, i);
    if (kn->ident == ident && kn->filter == filter)
      return kn;
  }
  return NULL;
}

/* The timer's period from data and the unit in fflags; -EINVAL when the
 * period is negative or the units are mixed. */
static NlTime timer_period(const struct kevent *kev) {
  unsigned units = kev->fflags & (NOTE_SECONDS | NOTE_MSECONDS | NOTE_USECONDS |
                                  NOTE_NSECONDS);
  if (kev->data < 0 || (units & (units - 1)) != 0 ||
      (kev->fflags & NOTE_ABSTIME))
    return -EINVAL;
  NlTime unit = units == NOTE_SECONDS    ? NL_S
                : units == NOTE_USECONDS ? NL_US
                : units == NOTE_NSECONDS ? 1
                                         : NL_MS;
  if (kev->data > G_MAXINT64 / unit)
    return -EINVAL;
  /* A zero period fires at once (FreeBSD rounds it up to the smallest). */
  return MAX((NlTime)kev->data * unit, 1);
}

/* Applies one change; 0 or -errno. */
static int apply(NlThread *t, NlKqueue *kq, const struct kevent *kev) {
  unsigned short fl = kev->flags;
  NlFile *f = NULL;
  switch (kev->filter) {
    case EVFILT_READ:
    case EVFILT_WRITE:
      if (kev->ident > (uintptr_t)G_MAXINT ||
          (f = nl__fd_get(t->proc, (int)kev->ident)) == NULL)
        return -EBADF;
      if (kev->filter == EVFILT_READ && (kev->fflags & NOTE_LOWAT))
        return -EINVAL; /* low-water marks are not modelled */
      break;
    case EVFILT_TIMER:
      break;
    default:
      return -EINVAL;
  }
  NlKnote *kn = knote_find(kq, kev->ident, kev->filter);
  if (fl & EV_DELETE) {
    if (kn == NULL)
      return -ENOENT;
    knote_free(kn);
    return 0;
  }
  if (kn == NULL && !(fl & EV_ADD))
    return -ENOENT;
  NlTime period = 0;
  if (kev->filter == EVFILT_TIMER && (fl & EV_ADD)) {
    period = timer_period(kev);
    if (period < 0)
      return (int)period;
  }
  if (kn == NULL) {
    kn = g_new0(NlKnote, 1);
    kn->kq = kq;
    kn->ident = kev->ident;
    kn->filter = kev->filter;
    kn->enabled = TRUE;
    kn->watch.notify = knote_notify;
    kn->watch.gone = knote_gone;
    nl_event_init(&kn->timer, timer_fired, kn);
    g_ptr_array_add(kq->knotes, kn);
    if (f != NULL)
      nl__watch_add(&kn->watch, f);
  }
  if (fl & EV_ADD) {
    kn->flags = fl & ~(ACTIONS | EV_RECEIPT | EV_EOF | EV_ERROR);
    kn->fflags = kev->fflags;
    kn->sdata = kev->data;
    kn->udata = kev->udata;
    kn->enabled = TRUE;
    /* A descriptor knote fires at once if its condition already holds. */
    kn->triggered = TRUE;
    if (kev->filter == EVFILT_TIMER) {
      /* Re-adding a timer restarts it and forgets what it owed. */
      kn->flags |= EV_CLEAR;
      kn->period = period;
      kn->expired = 0;
      kn->triggered = FALSE;
      nl_event_schedule_in(nl_world_queue(t->proc->host->world), &kn->timer,
                           period);
    }
  }
  if (fl & EV_DISABLE)
    kn->enabled = FALSE;
  if (fl & EV_ENABLE) {
    /* Enabling looks at the condition again (EV_DISPATCH's re-arm). */
    kn->enabled = TRUE;
    kn->triggered = TRUE;
  }
  nl__file_notify(kq->file);
  return 0;
}

/* Whether @kn is to be returned now; fills @out if so. */
static gboolean knote_active(NlKnote *kn, struct kevent *out) {
  if (!kn->enabled)
    return FALSE;
  memset(out, 0, sizeof *out);
  out->ident = kn->ident;
  out->filter = kn->filter;
  out->flags = kn->flags;
  out->fflags = kn->fflags;
  out->udata = kn->udata;
  if (kn->filter == EVFILT_TIMER) {
    if (kn->expired == 0)
      return FALSE;
    out->data = kn->expired;
    return TRUE;
  }
  if ((kn->flags & EV_CLEAR) && !kn->triggered)
    return FALSE;
  NlFile *f = kn->watch.file;
  NlFileFill fill = {0};
  unsigned m = nl__file_poll(f);
  if (f->ops->fill != NULL) {
    f->ops->fill(f, &fill);
  } else {
    fill.readable = (m & POLLIN) ? 1 : 0;
    fill.writable = (m & POLLOUT) ? 1 : 0;
    fill.read_eof = (m & POLLHUP) != 0;
  }
  gboolean on;
  if (kn->filter == EVFILT_READ) {
    on = fill.readable > 0 || fill.read_eof || (m & POLLIN);
    out->data = fill.readable;
    if (fill.read_eof) {
      out->flags |= EV_EOF;
      out->fflags = (unsigned)fill.error;
    }
  } else {
    on = (m & POLLOUT) || fill.write_eof;
    out->data = fill.writable;
    if (fill.write_eof) {
      out->flags |= EV_EOF;
      out->fflags = (unsigned)fill.error;
    }
  }
  return on;
}

/* Hands @kn to the caller: EV_CLEAR resets, EV_ONESHOT deletes,
 * EV_DISPATCH disables.  Returns FALSE if it is gone. */
static gboolean knote_returned(NlKnote *kn) {
  kn->triggered = FALSE;
  kn->expired = 0;
  if (kn->flags & EV_ONESHOT) {
    knote_free(kn);
    return FALSE;
  }
  if (kn->flags & EV_DISPATCH)
    kn->enabled = FALSE;
  return TRUE;
}

/* ---- the kqueue file ---- */

static int kq_pending(NlKqueue *kq) {
  int n = 0;
  struct kevent ev;
  for (guint i = 0; i < kq->knotes->len; i++)
    n += knote_active(g_ptr_array_index(kq->knotes, i), &ev);
  return n;
}

static unsigned kq_poll(NlFile *f) {
  return kq_pending(f->kq) > 0 ? POLLIN | POLLRDNORM : 0;
}

static void kq_fill(NlFile *f, NlFileFill *out) {
  out->readable = kq_pending(f->kq);
}

static void kq_closed(NlFile *f) {
  NlKqueue *kq = f->kq;
  while (kq->knotes->len > 0)
    knote_free(g_ptr_array_index(kq->knotes, kq->knotes->len - 1));
  g_ptr_array_free(kq->knotes, TRUE);
  g_free(kq);
  f->kq = NULL;
}

static const NlFileOps kq_ops = {
    .closed = kq_closed, .poll = kq_poll, .fill = kq_fill};

/* ---- calls ---- */

int nl_kq_kqueue(NlThread *t) {
  NlFile *f = nl__file_new(t->proc->host, NL_FILE_KQUEUE, &kq_ops);
  f->kq = g_new0(NlKqueue, 1);
  f->kq->file = f;
  f->kq->knotes = g_ptr_array_new();
  /* BSD: a kqueue is not inherited by a child; close-on-exec here. */
  int fd = nl__fd_install(t->proc, f, 0, TRUE);
  if (fd < 0)
    nl__file_unref(f);
  nl__trace_call(t, "kqueue() = %d", fd);
  return fd;
}

int nl_kq_kevent(NlThread *t, int kqfd, const struct kevent *changes,
                 int nchanges, struct kevent *events, int nevents,
                 const struct timespec *timeout) {
  NlFile *kf = nl__fd_get(t->proc, kqfd);
  if (kf == NULL)
    return -EBADF;
  if (kf->kind != NL_FILE_KQUEUE)
    return -EBADF; /* FreeBSD: "the specified descriptor is not a kqueue" */
  if (nchanges < 0 || nevents < 0)
    return -EINVAL;
  if ((nchanges > 0 && changes == NULL) || (nevents > 0 && events == NULL))
    return -EFAULT;
  if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
                          timeout->tv_nsec >= 1000000000))
    return -EINVAL;
  NlKqueue *kq = kf->kq;
  /* The changes, in order (FreeBSD's kern_kevent): a change that fails,
   * or any with EV_RECEIPT, goes to the event list as EV_ERROR with the
   * errno in data; with no room left the call returns that error (0 for a
   * receipt) and the remaining changes are not applied.  When any went to
   * the list, the call returns their number without waiting. */
  int n = 0;
  for (int i = 0; i < nchanges; i++) {
    struct kevent kev = changes[i];
    if (kev.filter == 0)
      continue;
    kev.flags &= ~EV_SYSFLAGS;
    int err = apply(t, kq, &kev);
    if (err == 0 && !(kev.flags & EV_RECEIPT))
      continue;
    if (n >= nevents) {
      nl__trace_call(t, "kevent(%d, %d changes, %d) = %d%s%s", kqfd, nchanges,
                     nevents, err ? -1 : 0, err ? " " : "",
                     err ? g_strerror(-err) : "");
      return err;
    }
    events[n] = kev;
    events[n].flags = EV_ERROR;
    events[n].data = -err;
    n++;
  }
  if (n > 0 || nevents == 0) {
    nl__trace_call(t, "kevent(%d, %d changes, %d) = %d", kqfd, nchanges,
                   nevents, n);
    return n;
  }
  NlWorld *w = t->proc->host->world;
  NlTime deadline = timeout == NULL ? NL_TIME_NEVER
                                    : nl_world_now(w) + timeout->tv_sec * NL_S +
                                          timeout->tv_nsec;
  gboolean poll_only =
      timeout != NULL && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
  /* Hold the kqueue while we wait: another thread may close it.  A
   * thread killed while it waits gives it back in thread_free(). */
  t->held = nl__file_ref(kf);
  for (;;) {
    GPtrArray *snap = g_ptr_array_copy(kq->knotes, NULL, NULL);
    GPtrArray *again = g_ptr_array_new();
    for (guint i = 0; i < snap->len && n < nevents; i++) {
      NlKnote *kn = g_ptr_array_index(snap, i);
      if (!knote_active(kn, &events[n]))
        continue;
      n++;
      gboolean level = !(kn->flags & (EV_CLEAR | EV_ONESHOT | EV_DISPATCH));
      /* A level-triggered knote stays active: it goes to the back, so a
       * small event list cannot starve the others (BSD requeues it at
       * the tail). */
      if (knote_returned(kn) && level)
        g_ptr_array_add(again, kn);
    }
    for (guint i = 0; i < again->len; i++) {
      g_ptr_array_remove(kq->knotes, g_ptr_array_index(again, i));
      g_ptr_array_add(kq->knotes, g_ptr_array_index(again, i));
    }
    g_ptr_array_free(again, TRUE);
    g_ptr_array_free(snap, TRUE);
    if (n > 0 || poll_only ||
        (deadline != NL_TIME_NEVER && nl_world_now(w) >= deadline)) {
      if (n == 0 && poll_only)
        nl__wasted(t);
      else if (n > 0 && !poll_only)
        nl__ready(t);
      nl__trace_call(t, "kevent(%d, %d changes, %d) = %d", kqfd, nchanges,
                     nevents, n);
      t->held = NULL;
      nl__file_unref(kf);
      return n;
    }
    nl__wait_file(t, kf);
    nl__block(t, deadline);
  }
}
