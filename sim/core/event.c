/* The event core.  A binary min-heap of pointers keyed by (time, seq).
 *
 * Trade-off: the heap stores pointers in one growable array and each event
 * keeps its own index, so cancel is O(log n) without tombstones and
 * scheduling allocates only when the array grows (amortised never).  A
 * pairing heap with nodes embedded in events would avoid the array too,
 * but the array's cache locality wins at the sizes natlab runs (a few
 * thousand pending events).
 */
#include "sim/core/event.h"

#include <inttypes.h>
#include <stdio.h>

struct NlEventQueue {
  NlEvent **heap;
  guint len, cap;
  NlTime now;
  uint64_t next_seq;
  uint64_t fired;
  gboolean stopped;
};

NlEventQueue *nl_event_queue_new(void) {
  NlEventQueue *q = g_new0(NlEventQueue, 1);
  q->cap = 256;
  q->heap = g_new(NlEvent *, q->cap);
  return q;
}

void nl_event_queue_free(NlEventQueue *q) {
  if (q == NULL)
    return;
  for (guint i = 0; i < q->len; i++)
    q->heap[i]->heap_index = G_MAXUINT;
  g_free(q->heap);
  g_free(q);
}

void nl_event_init(NlEvent *ev, NlEventFn fn, void *data) {
  ev->time = 0;
  ev->seq = 0;
  ev->fn = fn;
  ev->data = data;
  ev->heap_index = G_MAXUINT;
}

static inline gboolean before(const NlEvent *a, const NlEvent *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline void place(NlEventQueue *q, guint i, NlEvent *ev) {
  q->heap[i] = ev;
  ev->heap_index = i;
}

static void sift_up(NlEventQueue *q, guint i) {
  NlEvent *ev = q->heap[i];
  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (!before(ev, q->heap[parent]))
      break;
    place(q, i, q->heap[parent]);
    i = parent;
  }
  place(q, i, ev);
}

static void sift_down(NlEventQueue *q, guint i) {
  NlEvent *ev = q->heap[i];
  for (;;) {
    guint child = 2 * i + 1;
    if (child >= q->len)
      break;
    if (child + 1 < q->len && before(q->heap[child + 1], q->heap[child]))
      child++;
    if (!before(q->heap[child], ev))
      break;
    place(q, i, q->heap[child]);
    i = child;
  }
  place(q, i, ev);
}

static void heap_remove(NlEventQueue *q, NlEvent *ev) {
  guint i = ev->heap_index;
  NlEvent *last = q->heap[--q->len];
  ev->heap_index = G_MAXUINT;
  if (last == ev)
    return;
  place(q, i, last);
  if (i > 0 && before(last, q->heap[(i - 1) / 2]))
    sift_up(q, i);
  else
    sift_down(q, i);
}

void nl_event_schedule(NlEventQueue *q, NlEvent *ev, NlTime at) {
  g_return_if_fail(q != NULL && ev != NULL && ev->fn != NULL);
  g_return_if_fail(at >= q->now);
  if (nl_event_pending(ev))
    heap_remove(q, ev);
  ev->time = at;
  ev->seq = q->next_seq++;
  if (q->len == q->cap) {
    q->cap *= 2;
    q->heap = g_renew(NlEvent *, q->heap, q->cap);
  }
  q->heap[q->len] = ev;
  ev->heap_index = q->len++;
  sift_up(q, ev->heap_index);
}

void nl_event_schedule_in(NlEventQueue *q, NlEvent *ev, NlTime delay) {
  g_return_if_fail(delay >= 0);
  nl_event_schedule(q, ev, q->now + delay);
}

void nl_event_cancel(NlEventQueue *q, NlEvent *ev) {
  g_return_if_fail(q != NULL && ev != NULL);
  if (nl_event_pending(ev))
    heap_remove(q, ev);
}

NlTime nl_event_now(const NlEventQueue *q) {
  return q->now;
}

static uint64_t run(NlEventQueue *q, NlTime until) {
  uint64_t n = 0;
  q->stopped = FALSE;
  while (q->len > 0 && !q->stopped) {
    NlEvent *ev = q->heap[0];
    if (ev->time > until)
      break;
    heap_remove(q, ev);
    g_assert(ev->time >= q->now); /* time never moves backwards */
    q->now = ev->time;
    n++;
    /* The callback may re-arm or free @ev: nothing touches it afterwards. */
    ev->fn(ev, ev->data);
  }
  q->fired += n;
  if (!q->stopped && until != NL_TIME_NEVER && q->now < until)
    q->now = until;
  return n;
}

uint64_t nl_event_run(NlEventQueue *q) {
  return run(q, NL_TIME_NEVER);
}

uint64_t nl_event_run_until(NlEventQueue *q, NlTime until) {
  g_return_val_if_fail(until >= q->now, 0);
  return run(q, until);
}

void nl_event_stop(NlEventQueue *q) {
  q->stopped = TRUE;
}

guint nl_event_queue_size(const NlEventQueue *q) {
  return q->len;
}

NlTime nl_event_next_time(const NlEventQueue *q) {
  return q->len ? q->heap[0]->time : NL_TIME_NEVER;
}

uint64_t nl_event_fired(const NlEventQueue *q) {
  return q->fired;
}

char *nl_time_to_string(NlTime t, char *buf) {
  const char *sign = t < 0 ? "-" : "";
  uint64_t a = t < 0 ? (uint64_t)(-(t + 1)) + 1 : (uint64_t)t;
  snprintf(buf, NL_TIME_STRLEN, "%s%" PRIu64 ".%09" PRIu64, sign, a / 1000000000u,
           a % 1000000000u);
  return buf;
}
