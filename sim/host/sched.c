/* The host's scheduler and files: descriptors and the open files they
 * name, readiness and notification, pipes, epoll instances, and blocking:
 * a thread waits on files, a wait channel or a deadline and is woken by an
 * event in virtual time.
 *
 * This file knows no socket: socket files plug in through their NlFileOps
 * (closed, poll), which vsock.c gives them, so nothing here calls up into
 * the socket layer (docs/architecture.md). */
#include "sim/host/host-priv.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/core/trace.h"
#include "sim/host/coro-priv.h"
#include "sim/host/guard.h"
#include "sim/host/seal.h"

NlThread *nl__current;

/* What host-priv.h says of the lines of NlThread and NlFile. */
G_STATIC_ASSERT(offsetof(NlThread, proc) == 64);
G_STATIC_ASSERT(offsetof(NlThread, chan) == 128);
G_STATIC_ASSERT(offsetof(NlFile, sndtimeo) == 64);

/* ---- files ---- */

NlFile *nl__file_new(NlHostStack *h, NlFileKind kind, const NlFileOps *ops) {
  NlFile *f = g_aligned_alloc0(1, sizeof(NlFile), 64); /* host-priv.h */
  f->kind = kind;
  f->ops = ops;
  f->refs = 1;
  f->host = h;
  h->files_open++;
  return f;
}

void nl__wait_list_grow(NlWaitList *l) {
  if (l->cap == 0) {
    gpointer first = l->one;
    l->cap = 4;
    l->v = g_new(gpointer, l->cap);
    l->v[0] = first; /* (if @len is 1) */
    return;
  }
  l->cap *= 2;
  l->v = g_renew(gpointer, l->v, l->cap);
}

NlFile *nl__file_ref(NlFile *f) {
  f->refs++;
  return f;
}

void nl__file_unref(NlFile *f) {
  if (f == NULL || --f->refs > 0)
    return;
  /* Epoll items and knotes watching this file go with it, as on Linux
   * when the last descriptor of an open file description closes. */
  NlWaitList *watchers = f->watchers;
  while (watchers != NULL && watchers->len > 0) {
    NlWatch *w = nl__wait_list_at(watchers, --watchers->len);
    w->file = NULL;
    w->gone(w);
  }
  /* Threads blocked on it wake and see it gone. */
  for (guint i = 0; i < f->waiters.len; i++) {
    NlThread *t = nl__wait_list_at(&f->waiters, i);
    nl__wait_list_remove(&t->waiting_on, f);
  }
  if (f->ops->closed != NULL)
    f->ops->closed(f);
  for (guint i = 0; i < f->waiters.len; i++) {
    NlThread *t = nl__wait_list_at(&f->waiters, i);
    if (t->blocked && !t->woken) {
      t->woken = TRUE;
      nl_event_schedule(nl_world_queue(f->host->world), &t->wake,
                        nl_world_now(f->host->world));
    }
  }
  nl__wait_list_clear(&f->waiters);
  if (watchers != NULL) {
    nl__wait_list_clear(watchers);
    g_free(watchers);
  }
  f->host->files_open--;
  g_aligned_free(f);
}

void nl__fd_reserve(NlProc *p, int fd) {
  g_assert(fd >= 0 && fd < NL_MAX_FDS);
  if ((guint)fd < p->fd_cap)
    return;
  /* Tables start small and double: most programs use a handful. */
  guint cap = MIN(MAX(p->fd_cap * 2, (guint)fd + 1), (guint)NL_MAX_FDS);
  p->fds = g_renew(NlFile *, p->fds, cap);
  p->cloexec = g_renew(gboolean, p->cloexec, cap);
  for (guint i = p->fd_cap; i < cap; i++) {
    p->fds[i] = NULL;
    p->cloexec[i] = FALSE;
  }
  p->fd_cap = cap;
}

void nl__fd_count(NlProc *p) {
  guint open = 0, conns = 0;
  for (guint fd = 0; fd < p->fd_cap; fd++) {
    const NlFile *f = p->fds[fd];
    open += f != NULL;
    conns += f != NULL && f->kind == NL_FILE_TCP && f->accepted;
  }
  p->fds_max = MAX(p->fds_max, open);
  p->conns_max = MAX(p->conns_max, conns);
}

int nl__fd_install(NlProc *p, NlFile *f, int min, gboolean cloexec) {
  int limit = nl__facts_fd_limit(p);
  for (int fd = MAX(min, 0); fd < limit; fd++) {
    nl__fd_reserve(p, fd);
    if (p->fds[fd] == NULL) {
      p->fds[fd] = f;
      p->cloexec[fd] = cloexec;
      nl__fd_count(p);
      return fd;
    }
  }
  p->emfile++;
  return -EMFILE;
}

static void wake_thread(NlThread *t) {
  if (!t->blocked || t->woken)
    return;
  t->woken = TRUE;
  nl_event_schedule(t->queue, &t->wake, nl_event_now(t->queue));
}

void nl__watch_add(NlWatch *w, NlFile *f) {
  w->file = f;
  if (f->watchers == NULL)
    f->watchers = g_new0(NlWaitList, 1);
  nl__wait_list_add(f->watchers, w);
}

void nl__watch_remove(NlWatch *w) {
  if (w->file != NULL)
    nl__wait_list_remove(w->file->watchers, w);
  w->file = NULL;
}

void nl__file_notify(NlFile *f) {
  NlWaitList *watchers = f->watchers;
  if (watchers != NULL) {
    for (guint i = 0; i < watchers->len; i++) {
      NlWatch *w = nl__wait_list_at(watchers, i);
      w->notify(w);
    }
  }
  for (guint i = 0; i < f->waiters.len; i++)
    wake_thread(nl__wait_list_at(&f->waiters, i));
}

unsigned nl__file_poll(NlFile *f) {
  return f->ops->poll(f);
}

/* ---- pipes ---- */

static unsigned pipe_r_poll(NlFile *f) {
  unsigned m = 0;
  if (f->pipe->len > 0)
    m |= POLLIN | POLLRDNORM;
  if (f->pipe->writers == 0)
    m |= POLLHUP;
  return m;
}

static unsigned pipe_w_poll(NlFile *f) {
  unsigned m = 0;
  if (f->pipe->readers == 0)
    return POLLERR;
  if (NL_PIPE_SIZE - f->pipe->len >= 4096 || f->pipe->len == 0)
    m |= POLLOUT | POLLWRNORM;
  return m;
}

static void pipe_end_closed(NlFile *f) {
  NlPipe *pp = f->pipe;
  NlFile *other;
  if (f->kind == NL_FILE_PIPE_R) {
    pp->readers--;
    pp->r = NULL;
    other = pp->w;
  } else {
    pp->writers--;
    pp->w = NULL;
    other = pp->r;
  }
  if (other != NULL)
    nl__file_notify(other);
  if (pp->readers == 0 && pp->writers == 0) {
    g_free(pp->buf);
    g_free(pp);
  }
}

static void pipe_fill(NlFile *f, NlFileFill *out) {
  out->readable = (int64_t)f->pipe->len;
  out->writable = (int64_t)(NL_PIPE_SIZE - f->pipe->len);
  out->read_eof = f->pipe->writers == 0;
  out->write_eof = f->pipe->readers == 0;
}

static const NlFileOps pipe_r_ops = {
    .closed = pipe_end_closed, .poll = pipe_r_poll, .fill = pipe_fill};
static const NlFileOps pipe_w_ops = {
    .closed = pipe_end_closed, .poll = pipe_w_poll, .fill = pipe_fill};

int nl__pipe_new(NlHostStack *h, NlFile **r, NlFile **w) {
  NlPipe *pp = g_new0(NlPipe, 1);
  pp->readers = pp->writers = 1;
  *r = nl__file_new(h, NL_FILE_PIPE_R, &pipe_r_ops);
  *w = nl__file_new(h, NL_FILE_PIPE_W, &pipe_w_ops);
  (*r)->pipe = (*w)->pipe = pp;
  pp->r = *r;
  pp->w = *w;
  return 0;
}

/* socketpair(AF_UNIX, SOCK_STREAM): two pipes crossed, each end reading
 * one and writing the other, as Linux's stream pair behaves (a byte
 * stream each way, EOF when the peer closes, EPIPE writing to a closed
 * peer).  CPython's asyncio wakes its loop through one. */
static unsigned unix_poll(NlFile *f) {
  unsigned m = 0;
  if (f->pipe->len > 0 || f->pipe->writers == 0)
    m |= POLLIN | POLLRDNORM;
  if (f->pipe->writers == 0)
    m |= POLLRDHUP;
  if (f->pipe_tx->readers == 0)
    m |= POLLOUT | POLLWRNORM | (f->pipe->writers == 0 ? POLLHUP : 0);
  else if (NL_PIPE_SIZE - f->pipe_tx->len >= 4096 || f->pipe_tx->len == 0)
    m |= POLLOUT | POLLWRNORM;
  return m;
}

/* An end closes: it reads and writes no more (its writing side may be
 * shut down already: shutdown(SHUT_WR) let go of it); each pipe goes
 * when neither end holds it. */
static void unix_closed(NlFile *f) {
  NlPipe *rx = f->pipe, *tx = f->pipe_tx;
  rx->readers--;
  rx->r = NULL;
  if (tx->w == f) {
    tx->writers--;
    tx->w = NULL;
  }
  NlFile *peer = tx->r;
  if (peer != NULL)
    nl__file_notify(peer);
  for (int i = 0; i < 2; i++) {
    NlPipe *pp = i == 0 ? rx : tx;
    if (--pp->holders == 0) {
      g_free(pp->buf);
      g_free(pp);
    }
  }
}

static void unix_fill(NlFile *f, NlFileFill *out) {
  out->readable = (int64_t)f->pipe->len;
  out->writable = (int64_t)(NL_PIPE_SIZE - f->pipe_tx->len);
  out->read_eof = f->pipe->writers == 0;
  out->write_eof = f->pipe_tx->readers == 0;
}

static const NlFileOps unix_ops = {
    .closed = unix_closed, .poll = unix_poll, .fill = unix_fill};

void nl__unix_pair_new(NlHostStack *h, NlFile **a, NlFile **b) {
  NlPipe *ab = g_new0(NlPipe, 1), *ba = g_new0(NlPipe, 1);
  ab->readers = ab->writers = ba->readers = ba->writers = 1;
  ab->holders = ba->holders = 2;
  *a = nl__file_new(h, NL_FILE_UNIX, &unix_ops);
  *b = nl__file_new(h, NL_FILE_UNIX, &unix_ops);
  (*a)->domain = (*b)->domain = AF_UNIX;
  (*a)->type = (*b)->type = SOCK_STREAM;
  (*a)->pipe = ba;
  (*a)->pipe_tx = ab;
  (*b)->pipe = ab;
  (*b)->pipe_tx = ba;
  ab->w = *a;
  ab->r = *b;
  ba->w = *b;
  ba->r = *a;
}

/* Non-blocking pipe I/O; the callers block. */
ssize_t nl__pipe_read(NlFile *f, void *buf, size_t len) {
  NlPipe *pp = f->pipe;
  if (pp->len == 0)
    return pp->writers == 0 ? 0 : -EAGAIN;
  size_t n = MIN(len, pp->len);
  size_t first = MIN(n, NL_PIPE_SIZE - pp->head);
  memcpy(buf, pp->buf + pp->head, first);
  memcpy((guint8 *)buf + first, pp->buf, n - first);
  pp->head = (pp->head + n) % NL_PIPE_SIZE;
  pp->len -= n;
  if (pp->w)
    nl__file_notify(pp->w);
  return (ssize_t)n;
}

ssize_t nl__pipe_write(NlFile *f, const void *buf, size_t len) {
  NlPipe *pp = f->kind == NL_FILE_UNIX ? f->pipe_tx : f->pipe;
  if (pp->readers == 0)
    return -EPIPE;
  size_t room = NL_PIPE_SIZE - pp->len;
  /* POSIX: writes of at most PIPE_BUF bytes are atomic. */
  if (room == 0 || (len <= 4096 && room < len))
    return -EAGAIN;
  size_t n = MIN(len, room);
  /* The ring is allocated by the first write: most pipes (every process's
   * stdin) are never written, and 64 KiB each adds up over 100,000. */
  if (pp->buf == NULL)
    pp->buf = g_malloc(NL_PIPE_SIZE);
  size_t tail = (pp->head + pp->len) % NL_PIPE_SIZE;
  size_t first = MIN(n, NL_PIPE_SIZE - tail);
  memcpy(pp->buf + tail, buf, first);
  memcpy(pp->buf, (const guint8 *)buf + first, n - first);
  pp->len += n;
  if (pp->r)
    nl__file_notify(pp->r);
  return (ssize_t)n;
}

/* ---- epoll instances ---- */

static unsigned epoll_ready(NlEpoll *ep) {
  unsigned n = 0;
  for (guint i = 0; i < ep->items->len; i++) {
    NlEpItem *it = g_ptr_array_index(ep->items, i);
    if (it->disabled)
      continue;
    unsigned ev = nl__file_poll(it->watch.file) &
                  (it->events | EPOLLERR | EPOLLHUP);
    if (ev == 0)
      continue;
    if ((it->events & EPOLLET) && !it->triggered)
      continue;
    n++;
  }
  return n;
}

static unsigned epoll_poll(NlFile *f) {
  return epoll_ready(f->ep) ? POLLIN | POLLRDNORM : 0;
}

static void epoll_item_notify(NlWatch *w) {
  NlEpItem *it = (NlEpItem *)w;
  it->triggered = TRUE;
  nl__file_notify(it->ep->file);
}

static void epoll_item_gone(NlWatch *w) {
  NlEpItem *it = (NlEpItem *)w;
  g_ptr_array_remove(it->ep->items, it);
  g_free(it);
}

NlEpItem *nl__epoll_item_new(NlEpoll *ep, int fd, NlFile *f) {
  NlEpItem *it = g_new0(NlEpItem, 1);
  it->watch.notify = epoll_item_notify;
  it->watch.gone = epoll_item_gone;
  it->ep = ep;
  it->fd = fd;
  g_ptr_array_add(ep->items, it);
  nl__watch_add(&it->watch, f);
  return it;
}

void nl__epoll_item_free(NlEpItem *it) {
  g_ptr_array_remove(it->ep->items, it);
  nl__watch_remove(&it->watch);
  g_free(it);
}

static void epoll_closed(NlFile *f) {
  while (f->ep->items->len > 0)
    nl__epoll_item_free(g_ptr_array_index(f->ep->items, 0));
  g_ptr_array_free(f->ep->items, TRUE);
  g_free(f->ep);
}

static const NlFileOps epoll_ops = {.closed = epoll_closed,
                                    .poll = epoll_poll};

NlFile *nl__epoll_file_new(NlHostStack *h) {
  NlFile *f = nl__file_new(h, NL_FILE_EPOLL, &epoll_ops);
  f->ep = g_new0(NlEpoll, 1);
  f->ep->file = f;
  f->ep->items = g_ptr_array_new();
  return f;
}

/* ---- standard output and error ---- */

/* The longest line kept: the rest of a longer line is dropped. */
#define NL_LINE_MAX (64 * 1024)

/* One line of @p's @stream, @n bytes at @s, as a trace record: made
 * only if something reads it (a program's lines that nothing reads, such
 * as a server's line per datagram in a run that does not show output,
 * cost the test alone). */
static inline void record_line(NlProc *p, int stream, const char *s,
                               size_t n) {
  NlWorld *w = p->host->world;
  NlTrace *t = nl_world_trace(w);
  NlTraceKind kind = stream == 1 ? NL_TRACE_STDOUT : NL_TRACE_STDERR;
  guint32 node = nl_node_trace_id(p->host->node);
  /* nl_trace_wants_text, its answer by source remembered in @p. */
  NlTraceReaders r = nl__proc_output_readers(p, stream);
  if (r == NL_TRACE_READERS_ALL ||
      (r == NL_TRACE_READERS_PREFIX &&
       nl_trace_wants_text(t, kind, node, p->trace_name, s, n)))
    nl_trace_add(t, nl_world_now(w), kind, node, p->trace_name, 0, 0, s,
                 (guint32)n);
}

/* Cuts what a program writes into lines, each a trace record.  Whole runs
 * of bytes are copied at once (memchr for the newline): a program that
 * prints a line per packet pays this per datagram. */
static G_GNUC_NO_INLINE void output_lines(NlProc *p, int stream,
                                          const char *s, size_t len) {
  GString *line = p->line[stream]; /* NULL until a line spans writes */
  const char *end = s + len;
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = (size_t)((nl != NULL ? nl : end) - s);
    if (nl != NULL && (line == NULL || line->len == 0) && n <= NL_LINE_MAX) {
      /* A whole line in one write: recorded from the caller's bytes, not
       * copied into the line first. */
      record_line(p, stream, s, n);
      s = nl + 1;
      continue;
    }
    if (line == NULL)
      line = p->line[stream] = g_string_new(NULL);
    if (line->len < NL_LINE_MAX)
      g_string_append_len(line, s, (gssize)MIN(n, NL_LINE_MAX - line->len));
    if (nl == NULL)
      break;
    record_line(p, stream, line->str, line->len);
    g_string_truncate(line, 0);
    s = nl + 1;
  }
}

void nl__proc_output(NlProc *p, int stream, const void *buf, size_t len) {
  const char *s = buf;
  const GString *line = p->line[stream];
  /* printf's common case, apart: one write that is one whole line, with
   * nothing pending, recorded from the caller's bytes. */
  if (G_LIKELY(len - 1 <= NL_LINE_MAX && s[len - 1] == '\n' &&
               (line == NULL || line->len == 0) &&
               memchr(s, '\n', len - 1) == NULL)) {
    record_line(p, stream, s, len - 1);
    return;
  }
  output_lines(p, stream, s, len);
}

void nl__proc_output_line(NlProc *p, int stream, const char *s, size_t len) {
  const GString *line = p->line[stream];
  if (G_LIKELY(len - 1 <= NL_LINE_MAX && (line == NULL || line->len == 0))) {
    record_line(p, stream, s, len - 1);
    return;
  }
  output_lines(p, stream, s, len);
}

static unsigned output_poll(NlFile *f) {
  return POLLOUT | POLLWRNORM;
}

static const NlFileOps output_ops = {.poll = output_poll};

NlFile *nl__output_file_new(NlHostStack *h, NlProc *p, int stream) {
  NlFile *f = nl__file_new(h, NL_FILE_OUTPUT, &output_ops);
  f->out_proc = p;
  f->out_stream = stream;
  return f;
}

/* ---- blocking and waking ---- */

/* nl__enter()'s call waits for its event: out of line, so that a call
 * that goes on at once saves no more registers than it needs. */
G_GNUC_NO_INLINE static void enter_wait(NlThread *t) {
  NlEventQueue *q = t->queue; /* its clock has not moved */
  nl_event_schedule(q, &t->wake, nl_event_now(q) + NL_CALL_COST);
  nl_coro_yield();
}

NlThread *nl__enter(void) {
  NlThread *t = nl__current;
  if (t == NULL)
    return NULL;
  /* nl_seal_check(), its test inline: a refused system call to end for. */
  const NlCoro *c = nl__coro_tls.cur;
  if (G_UNLIKELY(c != NULL && c->refusal_pending))
    nl_seal_check();
  nl_guard_tick();
  t->proc->calls++;
  t->call = NULL;
  t->block_since = NL_TIME_NEVER;
  NlEventQueue *q = t->queue;
  NlTime at = nl_event_now(q) + NL_CALL_COST;
  /* The call costs NL_CALL_COST of virtual time: the thread wakes then.
   * When nothing else would happen first, its wake-up is counted and the
   * clock moved without the round trip through the event loop (a switch
   * out and back, the heap's work); otherwise it waits for its event. */
  if (!nl_event_advance(q, at))
    enter_wait(t);
  return t;
}

void nl__ready(NlThread *t) {
  t->wasted_run = 0;
}

void nl__wasted(NlThread *t) {
  if (t->quiet)
    return;
  t->proc->wasted++;
  if (++t->wasted_run > t->proc->wasted_run_max)
    t->proc->wasted_run_max = t->wasted_run;
}

void nl__wait_file(NlThread *t, NlFile *f) {
  nl__wait_list_add(&f->waiters, t);
  nl__wait_list_add(&t->waiting_on, f);
}

void nl__wait_chan(NlThread *t, gconstpointer chan) {
  if (t->proc->chans == NULL)
    t->proc->chans = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                           (GDestroyNotify)g_ptr_array_unref);
  GPtrArray *q = g_hash_table_lookup(t->proc->chans, chan);
  if (q == NULL) {
    q = g_ptr_array_new();
    g_hash_table_insert(t->proc->chans, (gpointer)chan, q);
  }
  g_ptr_array_add(q, t);
  t->chan = chan;
  t->on_chan = TRUE;
}

void nl__wake_chan(NlProc *p, gconstpointer chan, gboolean all) {
  GPtrArray *q = p->chans ? g_hash_table_lookup(p->chans, chan) : NULL;
  if (q == NULL)
    return;
  /* Wake in the order they started waiting: FIFO, deterministic. */
  while (q->len > 0) {
    NlThread *t = g_ptr_array_index(q, 0);
    g_ptr_array_remove_index(q, 0);
    t->chan = NULL;
    t->on_chan = FALSE;
    wake_thread(t);
    if (!all)
      break;
  }
}

/* The BLOCK record of the call @t is in, once per call.  Out of line: its
 * text buffer in nl__block()'s frame put the registers that frame saves
 * two cache lines above the return address, a line more to read back
 * cold at each wake-up at 1,000 hosts. */
G_GNUC_NO_INLINE static void trace_block(NlThread *t) {
  NlWorld *w = t->proc->host->world;
  NlTrace *tr = nl_world_trace(w);
  t->call_blocked = TRUE;
  if (!nl_trace_wants(tr, NL_TRACE_BLOCK))
    return;
  /* "%s(%d)" or "%s()" (at most 63 bytes), by hand: once per wait. */
  char text[64];
  size_t n = strlen(t->call);
  char *e = text + n;
  if (n <= sizeof text - 24) {
    memcpy(text, t->call, n);
    *e++ = '(';
    if (t->call_fd >= 0)
      e = nl_trace_put_uint(e, (uint64_t)t->call_fd);
    *e++ = ')';
  } else {
    if (t->call_fd >= 0)
      g_snprintf(text, sizeof text, "%s(%d)", t->call, t->call_fd);
    else
      g_snprintf(text, sizeof text, "%s()", t->call);
    e = text + strlen(text);
  }
  nl_trace_add(tr, nl_world_now(w), NL_TRACE_BLOCK,
               nl_node_trace_id(t->proc->host->node), t->proc->trace_name, 0,
               (uint16_t)t->tid, text, (guint32)(e - text));
}

/* A thread woken from a wait on a channel leaves its queue. */
G_GNUC_NO_INLINE static void block_chan_leave(NlThread *t) {
  GPtrArray *waiters = g_hash_table_lookup(t->proc->chans, t->chan);
  if (waiters)
    g_ptr_array_remove(waiters, t);
  t->chan = NULL;
  t->on_chan = FALSE;
}

gboolean nl__block(NlThread *t, NlTime deadline) {
  NlEventQueue *q = t->queue;
  t->wasted_run = 0; /* it waits: whatever it wasted was no busy-wait */
  if (t->call != NULL && !t->call_blocked)
    trace_block(t);
  t->blocked = TRUE;
  t->woken = FALSE;
  NlTime now = nl_event_now(q);
  if (t->block_since == NL_TIME_NEVER)
    t->block_since = now;
  if (deadline != NL_TIME_NEVER)
    nl_event_schedule(q, &t->wake, MAX(deadline, now));
  else if (nl_event_pending(&t->wake)) /* (it seldom is: not a call) */
    nl_event_cancel(q, &t->wake);
  nl_coro_yield();
  t->blocked = FALSE;
  gboolean woken = t->woken;
  t->woken = FALSE;
  for (guint i = 0; i < t->waiting_on.len; i++) {
    NlFile *f = nl__wait_list_at(&t->waiting_on, i);
    nl__wait_list_remove(&f->waiters, t);
  }
  t->waiting_on.len = 0;
  if (G_UNLIKELY(t->on_chan))
    block_chan_leave(t);
  return woken;
}

void nl__trace_call(NlThread *t, const char *fmt, ...) {
  NlWorld *w = t->proc->host->world;
  NlTrace *tr = nl_world_trace(w);
  if (t->quiet || !nl_trace_wants(tr, NL_TRACE_CALL))
    return;
  /* Most calls' text fits on the stack: no allocation for it, and no
   * printf for the common conversions (nl_trace_vformat). */
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = nl_trace_vformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *s = buf;
  if (n < 0) {
    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    n = (int)strlen(s);
  }
  nl_trace_add(tr, nl_world_now(w), NL_TRACE_CALL,
               nl_node_trace_id(t->proc->host->node), t->proc->trace_name, 0,
               (uint16_t)t->tid, s, (guint32)n);
  if (s != buf)
    g_free(s);
}

/* @n bytes from @s to @d: up to 32 in two overlapping moves (no call, no
 * byte read past @s + @n), more by memcpy.  A call's name and address. */
static inline void copy_piece(char *d, const char *s, size_t n) {
  if (n > 32) {
    memcpy(d, s, n);
  } else if (n >= 16) {
    memcpy(d, s, 16);
    memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    memcpy(d, s, 8);
    memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    memcpy(d, s, 4);
    memcpy(d + n - 4, s + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; i++)
      d[i] = s[i];
  }
}

void nl__trace_call_io_n(NlThread *t, const char *call, size_t nc, int fd,
                         size_t len, gboolean bytes, const char *addr,
                         size_t na, ssize_t r, gboolean errname) {
  NlWorld *w = t->proc->host->world;
  NlTrace *tr = nl_world_trace(w);
  if (t->quiet || !nl_trace_wants(tr, NL_TRACE_CALL))
    return;
  const char *err = errname && r < 0 ? strerrorname_np((int)-r) : NULL;
  if (errname && r < 0 && err == NULL)
    err = "(null)"; /* as printf's %s writes it */
  size_t ne = err != NULL ? strlen(err) : 0;
  if (nc + na + ne > 160) {
    /* Not from natlab's own calls; as printf writes it. */
    if (err != NULL)
      nl__trace_call(t, "%s(%d, %zu%s%s%s) = -%s", call, fd, len,
                     bytes ? " bytes" : "", addr ? ", " : "", addr ? addr : "",
                     err);
    else
      nl__trace_call(t, "%s(%d, %zu%s%s%s) = %zd", call, fd, len,
                     bytes ? " bytes" : "", addr ? ", " : "", addr ? addr : "",
                     r);
    return;
  }
  char text[256];
  char *e = text;
  copy_piece(e, call, nc);
  e += nc;
  *e++ = '(';
  if (fd < 0)
    *e++ = '-';
  e = nl_trace_put_uint(e, fd < 0 ? 0u - (uint64_t)fd : (uint64_t)fd);
  memcpy(e, ", ", 2);
  e = nl_trace_put_uint(e + 2, len);
  if (bytes) {
    memcpy(e, " bytes", 6);
    e += 6;
  }
  if (addr != NULL) {
    memcpy(e, ", ", 2);
    copy_piece(e + 2, addr, na);
    e += 2 + na;
  }
  memcpy(e, ") = ", 4);
  e += 4;
  if (err != NULL) {
    *e++ = '-';
    memcpy(e, err, ne);
    e += ne;
  } else {
    if (r < 0)
      *e++ = '-';
    e = nl_trace_put_uint(e, r < 0 ? 0u - (uint64_t)r : (uint64_t)r);
  }
  nl_trace_add(tr, nl_world_now(w), NL_TRACE_CALL,
               nl_node_trace_id(t->proc->host->node), t->proc->trace_name, 0,
               (uint16_t)t->tid, text, (guint32)(e - text));
}

/* exit(): runs the atexit handlers (last registered first) and ends the
 * calling coroutine; proc.c, resumed when it ends, terminates the
 * process. */
G_GNUC_NORETURN void nl__proc_exit(NlThread *t, int code) {
  NlProc *p = t->proc;
  if (!p->in_atexit && !p->exiting) {
    /* exit() runs atexit handlers, last registered first. */
    p->in_atexit = TRUE;
    for (guint i = p->atexit_fns ? p->atexit_fns->len : 0; i-- > 0;)
      ((void (*)(void))g_ptr_array_index(p->atexit_fns, i))();
    /* Then the program's destructors, in the process as on Linux (a
     * private copy's: a shared instance serves other processes still).
     * One that crashes ends the process, not the lab. */
    if (p->shared == NULL && p->module != NULL &&
        nl_loader_is_private(p->module)) {
      guint n = 0;
      p->fini = nl_loader_take_fini(p->module, &n);
      for (guint i = 0; i < n; i++)
        p->fini[i]();
      p->fini_done = TRUE;
    }
  }
  if (!p->exiting) {
    p->exiting = TRUE;
    p->exit_code = code & 0xff;
  }
  nl_coro_exit();
}
