/* io_uring in the lab, behind liburing's API (Debian's liburing 2.3
 * headers).  natlab-cc links the lab's liburing functions instead of the
 * real library: the inline parts of liburing.h (io_uring_get_sqe, the
 * io_uring_prep_* helpers, io_uring_peek_cqe, io_uring_cqe_seen...) work
 * unchanged on rings the lab lays out the way the kernel does, and the
 * out-of-line parts (io_uring_queue_init, io_uring_submit,
 * __io_uring_get_cqe, io_uring_wait_cqes...) are answered here.
 *
 * Submission copies each entry (as the kernel does), then issues it: an
 * operation that can complete at once completes inside io_uring_submit;
 * one that would block waits on its file through an NlWatch and is tried
 * again, in virtual time, each time the file's readiness changes (the
 * kernel's "fast poll").  Completions go to the completion ring in the
 * order they happen; a full ring keeps them in an overflow list
 * (IORING_FEAT_NODROP) until there is room.  A thread waiting for
 * completions blocks on the ring's file.
 *
 * Operations: NOP, READ, WRITE, SEND, RECV, SENDMSG, RECVMSG, ACCEPT,
 * CONNECT, CLOSE, POLL_ADD (one-shot and multishot), POLL_REMOVE, TIMEOUT
 * (relative, absolute, with a completion count), TIMEOUT_REMOVE and
 * ASYNC_CANCEL; result codes are Linux's (checked by
 * tests/posix/posix-uring.c against this machine's kernel).  Not modelled,
 * and completed with -EINVAL: linked and drained entries (IOSQE_IO_LINK,
 * IOSQE_IO_HARDLINK, IOSQE_IO_DRAIN), registered files and buffers
 * (IOSQE_FIXED_FILE, IOSQE_BUFFER_SELECT), multishot accept and recv, and
 * the other opcodes (files, splice, xattr...). */
#include "sim/host/uring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "sim/core/trace.h"
#include "sim/host/vsock.h"

#define MAX_ENTRIES 32768 /* IORING_MAX_ENTRIES */

typedef struct NlUreq NlUreq;

struct NlUreq {
  NlWatch watch; /* on the target's file while waiting */
  NlUring *u;
  struct io_uring_sqe sqe; /* the entry, copied at submission */
  NlFile *file;            /* the target, held */
  NlEvent retry;           /* another try, after a readiness change */
  NlEvent timer;           /* IORING_OP_TIMEOUT */
  uint64_t count_target;   /* TIMEOUT with a count: completions to wait for */
  gboolean connecting;     /* CONNECT: in progress */
  gboolean multishot;      /* POLL_ADD with IORING_POLL_ADD_MULTI */
};

typedef struct {
  uint64_t user_data;
  int32_t res;
  uint32_t flags;
} NlCqe;

struct NlUring {
  NlFile *file;
  NlThread kernel; /* stands in for the kernel's own work (quiet) */
  unsigned flags;  /* IORING_SETUP_* */
  /* The rings, laid out for liburing's inline code. */
  unsigned sq_head, sq_tail, sq_flags, sq_dropped, sq_mask, sq_entries;
  unsigned *sq_array;
  struct io_uring_sqe *sqes;
  unsigned cq_head, cq_tail, cq_flags, cq_overflow, cq_mask, cq_entries;
  struct io_uring_cqe *cqes;
  GQueue overflow;  /* NlCqe that did not fit */
  GPtrArray *reqs;  /* NlUreq in flight, submission order */
  uint64_t counted; /* completions posted, timeouts excepted */
};

/* ---- completions ---- */

static void flush_overflow(NlUring *u) {
  while (!g_queue_is_empty(&u->overflow) &&
         u->cq_tail - u->cq_head < u->cq_entries) {
    NlCqe *c = g_queue_pop_head(&u->overflow);
    struct io_uring_cqe *e = &u->cqes[u->cq_tail & u->cq_mask];
    e->user_data = c->user_data;
    e->res = c->res;
    e->flags = c->flags;
    u->cq_tail++;
    g_free(c);
  }
  if (g_queue_is_empty(&u->overflow))
    u->sq_flags &= ~IORING_SQ_CQ_OVERFLOW;
}

static const char *op_name(unsigned op) {
  switch (op) {
    case IORING_OP_NOP:
      return "nop";
    case IORING_OP_READ:
      return "read";
    case IORING_OP_WRITE:
      return "write";
    case IORING_OP_SEND:
      return "send";
    case IORING_OP_RECV:
      return "recv";
    case IORING_OP_SENDMSG:
      return "sendmsg";
    case IORING_OP_RECVMSG:
      return "recvmsg";
    case IORING_OP_ACCEPT:
      return "accept";
    case IORING_OP_CONNECT:
      return "connect";
    case IORING_OP_CLOSE:
      return "close";
    case IORING_OP_POLL_ADD:
      return "poll_add";
    case IORING_OP_POLL_REMOVE:
      return "poll_remove";
    case IORING_OP_TIMEOUT:
      return "timeout";
    case IORING_OP_TIMEOUT_REMOVE:
      return "timeout_remove";
    case IORING_OP_ASYNC_CANCEL:
      return "async_cancel";
    default:
      return "unsupported";
  }
}

static void timeouts_counted(NlUring *u);

static void post(NlUring *u, unsigned op, uint64_t user_data, int32_t res,
                 uint32_t flags, gboolean counts) {
  flush_overflow(u);
  if (u->cq_tail - u->cq_head < u->cq_entries &&
      g_queue_is_empty(&u->overflow)) {
    struct io_uring_cqe *e = &u->cqes[u->cq_tail & u->cq_mask];
    e->user_data = user_data;
    e->res = res;
    e->flags = flags;
    u->cq_tail++;
  } else {
    NlCqe *c = g_new(NlCqe, 1);
    *c = (NlCqe){user_data, res, flags};
    g_queue_push_tail(&u->overflow, c);
    u->sq_flags |= IORING_SQ_CQ_OVERFLOW;
    u->cq_overflow++;
  }
  NlWorld *w = u->file->host->world;
  NlTrace *tr = nl_world_trace(w);
  if (nl_trace_wants(tr, NL_TRACE_CALL)) {
    NlProc *p = u->kernel.proc;
    nl_trace_addf(tr, nl_world_now(w), NL_TRACE_CALL,
                  nl_node_trace_id(p->host->node), p->trace_name, 0, 0,
                  "io_uring %s completed: res=%d user_data=%" G_GUINT64_FORMAT
                  "%s",
                  op_name(op), res, user_data,
                  (flags & IORING_CQE_F_MORE) ? " (more)" : "");
  }
  nl__file_notify(u->file);
  if (counts) {
    u->counted++;
    timeouts_counted(u);
  }
}

/* ---- requests ---- */

static void req_free(NlUreq *r) {
  NlEventQueue *q = nl_world_queue(r->u->file->host->world);
  nl_event_cancel(q, &r->retry);
  nl_event_cancel(q, &r->timer);
  nl__watch_remove(&r->watch);
  g_ptr_array_remove(r->u->reqs, r);
  if (r->file != NULL)
    nl__file_unref(r->file);
  g_free(r);
}

/* Completes @r with @res and forgets it. */
static void complete(NlUreq *r, int32_t res) {
  NlUring *u = r->u;
  uint64_t ud = r->sqe.user_data;
  unsigned op = r->sqe.opcode;
  req_free(r);
  post(u, op, ud, res, 0, op != IORING_OP_TIMEOUT);
}

static void retry_soon(NlWatch *w) {
  NlUreq *r = (NlUreq *)w;
  NlEventQueue *q = nl_world_queue(r->u->file->host->world);
  if (!nl_event_pending(&r->retry))
    nl_event_schedule(q, &r->retry, nl_event_now(q));
}

/* The target's file went with its last close (it cannot while we hold it,
 * but the watch must say what it would do). */
static void target_gone(NlWatch *w) {
  (void)w;
}

/* The process dies of SIGPIPE, as a write to a closed connection makes
 * Linux send it to the task doing the I/O. */
static void raise_sigpipe(NlProc *p) {
  if (nl__current != NULL && nl__current->proc == p) {
    nl__trace_call(nl__current, "killed by SIGPIPE (io_uring write to a "
                                "closed connection)");
    nl__proc_exit(nl__current, 128 + SIGPIPE);
  }
  nl_proc_kill(p, "killed by SIGPIPE (io_uring write to a closed connection)");
}

/* One non-blocking try of a descriptor operation: its result, or -EAGAIN
 * to wait for the file. */
static long attempt(NlUreq *r) {
  NlThread *k = &r->u->kernel;
  const struct io_uring_sqe *s = &r->sqe;
  NlFile *f = r->file;
  int fd = s->fd;
  /* The request works on the file it was given; the lab's calls take
   * descriptors, so the descriptor must still name that file. */
  if (nl__fd_get(k->proc, fd) != f)
    return -EBADF;
  void *addr = (void *)(uintptr_t)s->addr;
  int saved = f->status_flags;
  f->status_flags |= O_NONBLOCK;
  long res = -EINVAL;
  switch (s->opcode) {
    case IORING_OP_RECV:
      res = nl_vsock_recvfrom(k, fd, addr, s->len,
                              (int)s->msg_flags | MSG_DONTWAIT, NULL, NULL);
      break;
    case IORING_OP_SEND:
      res = nl_vsock_sendto(k, fd, addr, s->len,
                            (int)s->msg_flags | MSG_DONTWAIT | MSG_NOSIGNAL,
                            NULL, 0);
      break;
    case IORING_OP_RECVMSG:
      res = nl_vsock_recvmsg(k, fd, addr, (int)s->msg_flags | MSG_DONTWAIT);
      break;
    case IORING_OP_SENDMSG:
      res = nl_vsock_sendmsg(k, fd, addr,
                             (int)s->msg_flags | MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    case IORING_OP_READ:
      res = nl_vsock_read(k, fd, addr, s->len);
      break;
    case IORING_OP_WRITE:
      res = nl_vsock_write(k, fd, addr, s->len);
      break;
    case IORING_OP_ACCEPT:
      res = nl_vsock_accept4(k, fd, addr, (socklen_t *)(uintptr_t)s->addr2,
                             (int)s->accept_flags);
      break;
    case IORING_OP_CONNECT:
      if (!r->connecting) {
        res = nl_vsock_connect(k, fd, addr, (socklen_t)s->off);
        if (res == -EINPROGRESS) {
          r->connecting = TRUE;
          res = -EAGAIN;
        }
      } else if (nl__file_poll(f) & (POLLOUT | POLLERR | POLLHUP)) {
        int err = 0;
        socklen_t len = sizeof err;
        nl_vsock_getsockopt(k, fd, SOL_SOCKET, SO_ERROR, &err, &len);
        res = -err;
      } else {
        res = -EAGAIN;
      }
      break;
    case IORING_OP_POLL_ADD: {
      unsigned m = nl__file_poll(f) & (s->poll32_events | POLLERR | POLLHUP);
      res = m ? (long)m : -EAGAIN;
      break;
    }
  }
  f->status_flags = saved;
  if (res == -EWOULDBLOCK)
    res = -EAGAIN;
  return res;
}

/* Tries @r; completes it, or leaves it waiting on its file. */
static void progress(NlUreq *r) {
  long res = attempt(r);
  if (res == -EAGAIN) {
    if (r->watch.file == NULL)
      nl__watch_add(&r->watch, r->file);
    return;
  }
  unsigned op = r->sqe.opcode;
  if (res == -EPIPE &&
      ((op == IORING_OP_SEND && !(r->sqe.msg_flags & MSG_NOSIGNAL)) ||
       (op == IORING_OP_SENDMSG && !(r->sqe.msg_flags & MSG_NOSIGNAL)) ||
       op == IORING_OP_WRITE) &&
      !r->u->kernel.proc->sigpipe_ignored) {
    NlProc *p = r->u->kernel.proc;
    complete(r, (int32_t)res);
    raise_sigpipe(p);
    return;
  }
  if (r->multishot) {
    /* Stays armed; the next report needs a new readiness change. */
    post(r->u, r->sqe.opcode, r->sqe.user_data, (int32_t)res, IORING_CQE_F_MORE,
         TRUE);
    if (r->watch.file == NULL)
      nl__watch_add(&r->watch, r->file);
    return;
  }
  complete(r, (int32_t)res);
}

static void retry_fired(NlEvent *ev, void *data) {
  progress(data);
}

static void timeout_fired(NlEvent *ev, void *data) {
  NlUreq *r = data;
  complete(r,
           (r->sqe.timeout_flags & IORING_TIMEOUT_ETIME_SUCCESS) ? 0 : -ETIME);
}

/* A completion was posted: timeouts waiting for a count may be done.
 * Linux counts completions posted after the timeout was queued. */
static void timeouts_counted(NlUring *u) {
  /* Completing a timeout removes it from the list: scan again. */
  for (guint i = 0; i < u->reqs->len;) {
    NlUreq *r = g_ptr_array_index(u->reqs, i);
    if (r->sqe.opcode == IORING_OP_TIMEOUT && r->count_target != 0 &&
        u->counted >= r->count_target) {
      complete(r, 0);
      i = 0;
      continue;
    }
    i++;
  }
}

/* Cancels the requests @match picks; returns how many. */
static int cancel_where(NlUring *u, NlUreq *self,
                        gboolean (*match)(NlUreq *r, const NlUreq *self),
                        gboolean all) {
  int n = 0;
  for (guint i = 0; i < u->reqs->len;) {
    NlUreq *r = g_ptr_array_index(u->reqs, i);
    if (r != self && match(r, self)) {
      complete(r, -ECANCELED);
      n++;
      if (!all)
        break;
      continue; /* r is gone: the next one is at i */
    }
    i++;
  }
  return n;
}

static gboolean match_timeout(NlUreq *r, const NlUreq *self) {
  return r->sqe.opcode == IORING_OP_TIMEOUT &&
         r->sqe.user_data == self->sqe.addr;
}

static gboolean match_poll(NlUreq *r, const NlUreq *self) {
  return r->sqe.opcode == IORING_OP_POLL_ADD &&
         r->sqe.user_data == self->sqe.addr;
}

static gboolean match_cancel(NlUreq *r, const NlUreq *self) {
  unsigned fl = self->sqe.cancel_flags;
  if (fl & IORING_ASYNC_CANCEL_ANY)
    return TRUE;
  if (fl & IORING_ASYNC_CANCEL_FD)
    return r->file != NULL && r->sqe.fd == self->sqe.fd;
  return r->sqe.user_data == self->sqe.addr;
}

/* The deadline of a TIMEOUT entry, or -EINVAL / -EFAULT. */
static NlTime timeout_deadline(NlUring *u, const struct io_uring_sqe *s) {
  const struct __kernel_timespec *ts =
      (const struct __kernel_timespec *)(uintptr_t)s->addr;
  if (s->len != 1 || s->ioprio != 0 ||
      (s->timeout_flags & ~(IORING_TIMEOUT_ABS | IORING_TIMEOUT_CLOCK_MASK |
                            IORING_TIMEOUT_ETIME_SUCCESS)) ||
      (s->timeout_flags & IORING_TIMEOUT_CLOCK_MASK) ==
          IORING_TIMEOUT_CLOCK_MASK)
    return -EINVAL;
  if (ts == NULL)
    return -EFAULT;
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
    return -EINVAL;
  NlTime d = (NlTime)ts->tv_sec * NL_S + ts->tv_nsec;
  NlTime now = nl_world_now(u->file->host->world);
  if (!(s->timeout_flags & IORING_TIMEOUT_ABS))
    return now + d;
  /* Absolute: on CLOCK_MONOTONIC (the default), CLOCK_BOOTTIME or
   * CLOCK_REALTIME as the lab's programs read them. */
  NlTime base = (s->timeout_flags & IORING_TIMEOUT_REALTIME)
                    ? (NlTime)NL_REALTIME_EPOCH * NL_S
                    : NL_BOOT_OFFSET;
  return MAX(d - base, now);
}

/* Issues one copied entry. */
static void issue(NlUring *u, const struct io_uring_sqe *sqe) {
  NlUreq *r = g_new0(NlUreq, 1);
  r->u = u;
  r->sqe = *sqe;
  r->watch.notify = retry_soon;
  r->watch.gone = target_gone;
  nl_event_init(&r->retry, retry_fired, r);
  nl_event_init(&r->timer, timeout_fired, r);
  g_ptr_array_add(u->reqs, r);
  NlProc *p = u->kernel.proc;
  const struct io_uring_sqe *s = &r->sqe;
  if (s->flags &
      (IOSQE_FIXED_FILE | IOSQE_IO_DRAIN | IOSQE_IO_LINK | IOSQE_IO_HARDLINK |
       IOSQE_BUFFER_SELECT | IOSQE_CQE_SKIP_SUCCESS)) {
    complete(r, -EINVAL); /* not modelled (see the top of this file) */
    return;
  }
  switch (s->opcode) {
    case IORING_OP_NOP:
      complete(r, 0);
      return;
    case IORING_OP_RECV:
    case IORING_OP_SEND:
    case IORING_OP_RECVMSG:
    case IORING_OP_SENDMSG:
    case IORING_OP_READ:
    case IORING_OP_WRITE:
    case IORING_OP_ACCEPT:
    case IORING_OP_CONNECT:
    case IORING_OP_POLL_ADD:
      if ((s->opcode == IORING_OP_ACCEPT || s->opcode == IORING_OP_RECV) &&
          s->ioprio != 0) {
        complete(r, -EINVAL); /* multishot accept/recv: not modelled */
        return;
      }
      r->file = nl__fd_get(p, s->fd);
      if (r->file == NULL) {
        complete(r, -EBADF);
        return;
      }
      nl__file_ref(r->file);
      if (s->opcode == IORING_OP_POLL_ADD) {
        if (s->len & ~IORING_POLL_ADD_MULTI) {
          complete(r, -EINVAL);
          return;
        }
        r->multishot = (s->len & IORING_POLL_ADD_MULTI) != 0;
      }
      progress(r);
      return;
    case IORING_OP_CLOSE:
      complete(r, nl_vsock_close(&u->kernel, s->fd));
      return;
    case IORING_OP_TIMEOUT: {
      NlTime at = timeout_deadline(u, s);
      if (at < 0) {
        complete(r, (int32_t)at);
        return;
      }
      if (s->off != 0)
        r->count_target = u->counted + s->off;
      nl_event_schedule(nl_world_queue(u->file->host->world), &r->timer, at);
      return;
    }
    case IORING_OP_TIMEOUT_REMOVE:
      if (s->timeout_flags != 0) {
        complete(r, -EINVAL); /* IORING_TIMEOUT_UPDATE: not modelled */
        return;
      }
      complete(r, cancel_where(u, r, match_timeout, FALSE) ? 0 : -ENOENT);
      return;
    case IORING_OP_POLL_REMOVE:
      if (s->len != 0) {
        complete(r, -EINVAL); /* poll updates: not modelled */
        return;
      }
      complete(r, cancel_where(u, r, match_poll, FALSE) ? 0 : -ENOENT);
      return;
    case IORING_OP_ASYNC_CANCEL: {
      gboolean all = (s->cancel_flags &
                      (IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY)) != 0;
      if (s->cancel_flags & IORING_ASYNC_CANCEL_FD_FIXED) {
        complete(r, -EINVAL);
        return;
      }
      int n = cancel_where(u, r, match_cancel, all);
      complete(r, n == 0 ? -ENOENT : all ? n : 0);
      return;
    }
    default:
      complete(r, -EINVAL);
      return;
  }
}

/* ---- the ring's file ---- */

static unsigned uring_poll(NlFile *f) {
  NlUring *u = f->uring;
  unsigned m = 0;
  if (u->cq_tail != u->cq_head || !g_queue_is_empty(&u->overflow))
    m |= POLLIN | POLLRDNORM;
  if (u->sq_tail - u->sq_head < u->sq_entries)
    m |= POLLOUT | POLLWRNORM;
  return m;
}

static void uring_closed(NlFile *f) {
  NlUring *u = f->uring;
  /* Exiting the ring cancels what is in flight, without completions. */
  while (u->reqs->len > 0)
    req_free(g_ptr_array_index(u->reqs, u->reqs->len - 1));
  g_ptr_array_free(u->reqs, TRUE);
  g_queue_clear_full(&u->overflow, g_free);
  g_free(u->sq_array);
  g_free(u->sqes);
  g_free(u->cqes);
  nl__wait_list_clear(&u->kernel.waiting_on);
  g_free(u);
  f->uring = NULL;
}

static const NlFileOps uring_ops = {.closed = uring_closed, .poll = uring_poll};

static NlUring *ring_of(NlThread *t, const struct io_uring *ring, int *err) {
  if (ring == NULL) {
    *err = -EFAULT;
    return NULL;
  }
  NlFile *f = nl__fd_get(t->proc, ring->ring_fd);
  if (f == NULL || f->kind != NL_FILE_URING) {
    *err = f == NULL ? -EBADF : -EOPNOTSUPP;
    return NULL;
  }
  *err = 0;
  return f->uring;
}

static unsigned round_pow2(unsigned n) {
  unsigned p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

int nl_uring_queue_init_params(NlThread *t, unsigned entries,
                               struct io_uring *ring,
                               struct io_uring_params *params) {
  if (ring == NULL || params == NULL)
    return -EFAULT;
  unsigned flags = params->flags;
  if (flags & ~(IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP))
    return -EINVAL; /* SQPOLL, IOPOLL, ...: not modelled */
  if (entries == 0)
    return -EINVAL;
  if (entries > MAX_ENTRIES) {
    if (!(flags & IORING_SETUP_CLAMP))
      return -EINVAL;
    entries = MAX_ENTRIES;
  }
  unsigned sq = round_pow2(entries), cq = 2 * sq;
  if (flags & IORING_SETUP_CQSIZE) {
    if (params->cq_entries == 0)
      return -EINVAL;
    cq = params->cq_entries;
    if (cq > 2 * MAX_ENTRIES) {
      if (!(flags & IORING_SETUP_CLAMP))
        return -EINVAL;
      cq = 2 * MAX_ENTRIES;
    }
    cq = round_pow2(cq);
    if (cq < sq)
      return -EINVAL;
  }
  NlFile *f = nl__file_new(t->proc->host, NL_FILE_URING, &uring_ops);
  NlUring *u = f->uring = g_new0(NlUring, 1);
  u->file = f;
  u->flags = flags;
  u->kernel.proc = t->proc;
  u->kernel.tid = t->proc->pid;
  u->kernel.quiet = TRUE;
  u->sq_entries = sq;
  u->sq_mask = sq - 1;
  u->cq_entries = cq;
  u->cq_mask = cq - 1;
  u->sq_array = g_new0(unsigned, sq);
  for (unsigned i = 0; i < sq; i++)
    u->sq_array[i] = i;
  u->sqes = g_new0(struct io_uring_sqe, sq);
  u->cqes = g_new0(struct io_uring_cqe, cq);
  u->reqs = g_ptr_array_new();
  g_queue_init(&u->overflow);
  int fd = nl__fd_install(t->proc, f, 0, FALSE);
  if (fd < 0) {
    nl__file_unref(f);
    return fd;
  }
  memset(ring, 0, sizeof *ring);
  ring->sq.khead = &u->sq_head;
  ring->sq.ktail = &u->sq_tail;
  ring->sq.kring_mask = &u->sq_mask;
  ring->sq.kring_entries = &u->sq_entries;
  ring->sq.kflags = &u->sq_flags;
  ring->sq.kdropped = &u->sq_dropped;
  ring->sq.array = u->sq_array;
  ring->sq.sqes = u->sqes;
  ring->sq.ring_mask = u->sq_mask;
  ring->sq.ring_entries = sq;
  ring->cq.khead = &u->cq_head;
  ring->cq.ktail = &u->cq_tail;
  ring->cq.kring_mask = &u->cq_mask;
  ring->cq.kring_entries = &u->cq_entries;
  ring->cq.kflags = &u->cq_flags;
  ring->cq.koverflow = &u->cq_overflow;
  ring->cq.cqes = u->cqes;
  ring->cq.ring_mask = u->cq_mask;
  ring->cq.ring_entries = cq;
  ring->flags = flags;
  ring->ring_fd = ring->enter_ring_fd = fd;
  /* EXT_ARG: waits with a timeout take no timeout entry of liburing's. */
  ring->features = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP |
                   IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_FAST_POLL |
                   IORING_FEAT_POLL_32BITS | IORING_FEAT_EXT_ARG;
  params->sq_entries = sq;
  params->cq_entries = cq;
  params->features = ring->features;
  nl__trace_call(t, "io_uring_queue_init(%u) = %d", entries, fd);
  return 0;
}

void nl_uring_queue_exit(NlThread *t, struct io_uring *ring) {
  int err;
  if (ring_of(t, ring, &err) == NULL)
    return;
  nl_vsock_close(t, ring->ring_fd);
  ring->ring_fd = ring->enter_ring_fd = -1;
}

/* What liburing's __io_uring_flush_sq does, then the kernel's side:
 * every entry up to the tail is copied and issued. */
static int submit(NlThread *t, NlUring *u, struct io_uring *ring) {
  unsigned tail = ring->sq.sqe_tail;
  ring->sq.sqe_head = tail;
  u->sq_tail = tail;
  int n = 0;
  while (u->sq_head != u->sq_tail) {
    unsigned idx = u->sq_array[u->sq_head & u->sq_mask] & u->sq_mask;
    struct io_uring_sqe copy = u->sqes[idx];
    u->sq_head++;
    n++;
    issue(u, &copy);
    if (u->file->uring == NULL || nl__fd_get(t->proc, ring->ring_fd) != u->file)
      break; /* the ring went (a CLOSE of its own descriptor) */
  }
  return n;
}

int nl_uring_submit(NlThread *t, struct io_uring *ring) {
  int err;
  NlUring *u = ring_of(t, ring, &err);
  if (u == NULL)
    return err;
  int n = submit(t, u, ring);
  nl__trace_call(t, "io_uring_submit() = %d", n);
  return n;
}

/* Submits @to_submit (all queued when TRUE), then waits until @wait_nr
 * completions are ready or @deadline; *cqe_ptr is the first ready. */
int nl_uring_wait(NlThread *t, struct io_uring *ring,
                  struct io_uring_cqe **cqe_ptr, gboolean do_submit,
                  unsigned wait_nr, NlTime deadline, int *submitted) {
  int err;
  NlUring *u = ring_of(t, ring, &err);
  if (cqe_ptr != NULL)
    *cqe_ptr = NULL;
  if (u == NULL)
    return err;
  /* Held while we wait; a thread killed while it waits gives it back in
   * thread_free(). */
  t->held = nl__file_ref(u->file);
  int n = do_submit ? submit(t, u, ring) : 0;
  if (submitted != NULL)
    *submitted = n;
  int rc;
  for (;;) {
    if (u->file->uring == NULL) {
      rc = -EBADF;
      break;
    }
    flush_overflow(u);
    unsigned ready = u->cq_tail - u->cq_head;
    if (ready > 0 && cqe_ptr != NULL)
      *cqe_ptr = &u->cqes[u->cq_head & u->cq_mask];
    if (ready > 0 && ready >= wait_nr) {
      rc = 0;
      break;
    }
    if (wait_nr == 0) {
      rc = -EAGAIN;
      nl__wasted(t);
      break;
    }
    NlTime now = nl_world_now(t->proc->host->world);
    if (deadline != NL_TIME_NEVER && now >= deadline) {
      rc = -ETIME;
      break;
    }
    nl__wait_file(t, u->file);
    nl__block(t, deadline);
  }
  nl__trace_call(t, "io_uring wait(%u) = %d", wait_nr, rc);
  t->held = NULL;
  nl__file_unref(u->file);
  return rc;
}

unsigned nl_uring_peek_batch(NlThread *t, struct io_uring *ring,
                             struct io_uring_cqe **cqes, unsigned count) {
  int err;
  NlUring *u = ring_of(t, ring, &err);
  if (u == NULL || cqes == NULL)
    return 0;
  flush_overflow(u);
  unsigned ready = u->cq_tail - u->cq_head, n = MIN(ready, count);
  for (unsigned i = 0; i < n; i++)
    cqes[i] = &u->cqes[(u->cq_head + i) & u->cq_mask];
  if (n == 0)
    nl__wasted(t);
  return n;
}

int nl_uring_get_events(NlThread *t, struct io_uring *ring) {
  int err;
  NlUring *u = ring_of(t, ring, &err);
  if (u == NULL)
    return err;
  flush_overflow(u);
  return 0;
}

int nl_uring_probe_fill(struct io_uring_probe *p, unsigned ops_len) {
  static const unsigned char supported[] = {
      IORING_OP_NOP,     IORING_OP_READ,           IORING_OP_WRITE,
      IORING_OP_SEND,    IORING_OP_RECV,           IORING_OP_SENDMSG,
      IORING_OP_RECVMSG, IORING_OP_ACCEPT,         IORING_OP_CONNECT,
      IORING_OP_CLOSE,   IORING_OP_POLL_ADD,       IORING_OP_POLL_REMOVE,
      IORING_OP_TIMEOUT, IORING_OP_TIMEOUT_REMOVE, IORING_OP_ASYNC_CANCEL,
  };
  unsigned last = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(supported); i++) {
    if (supported[i] < ops_len) {
      p->ops[supported[i]].op = supported[i];
      p->ops[supported[i]].flags = IO_URING_OP_SUPPORTED;
    }
    last = MAX(last, supported[i]);
  }
  for (unsigned i = 0; i < ops_len; i++)
    p->ops[i].op = (__u8)i;
  p->last_op = (__u8)last;
  p->ops_len = (__u8)MIN(ops_len, last + 1);
  return 0;
}
