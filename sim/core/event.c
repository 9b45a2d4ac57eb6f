/* The event core.  A binary min-heap keyed by (time, seq).
 *
 * Trade-offs, measured with bench/bench-event (docs/performance.md):
 *  - Each heap slot holds the key beside the pointer, so comparisons read
 *    the array only and never chase pointers into events scattered over
 *    the heap; each event keeps its slot index, so cancel is O(log n)
 *    without tombstones, and scheduling allocates only when the array grows
 *    (amortised never).
 *  - The key (time, seq) is one 128-bit number, so choosing the smaller
 *    child is one branch-free comparison.  (Four or eight children a node
 *    measured slower: more comparisons a level than the depth saves.)
 *  - The event being fired stays at the root while its callback runs.  Most
 *    callbacks re-arm their own event (timers, links, programs): that re-arm
 *    then moves the root down once instead of removing it and inserting it
 *    again.  During its callback the event is not pending (its index is
 *    G_MAXUINT), as callers expect.
 *  - How the root moves down depends on where its new key belongs.  A
 *    re-armed event usually fires soon (a program woken by a packet, a hop
 *    of a millisecond among timeouts of a second): with 1,000 hosts, 20 %
 *    stay at the root and most stop within three levels, so the first four
 *    levels are sifted top-down, stopping where it fits, and only a key
 *    that goes further continues bottom-up (the hole down to a leaf along
 *    the smaller children, then the key rises: Floyd's sift, cheap for a
 *    key that belongs far down, as bench-event's uniform delays do).  A
 *    removed root is replaced by the last slot, whose key belongs near
 *    the bottom: bottom-up all the way.  (All bottom-up: 430 instructions
 *    a schedule with 1,000 hosts behind NATs; this: about 150.)
 *  Together: 16 -> 25 M events/s with 1,000 pending (bench-event).
 */
#include "sim/core/event.h"

#include <inttypes.h>
#include <stdio.h>

/* The key is (time, seq) as one unsigned 128-bit number: one comparison,
 * which the compiler makes branch-free.  Time is never negative. */
typedef unsigned __int128 Key;

typedef struct {
  Key key;
  NlEvent *ev;
} Slot;

static inline Key key_of(NlTime time, uint64_t seq) {
  return (Key)(uint64_t)time << 64 | seq;
}

static inline NlTime key_time(Key k) {
  return (NlTime)(uint64_t)(k >> 64);
}

struct NlEventQueue {
  NlTime now; /* first: read inline by nl_event_now() (event.h) */
  Slot *heap;
  guint len, cap;
  uint64_t next_seq;
  uint64_t fired;
  NlTime until; /* the running nl_event_run*()'s limit */
  gboolean stopped;
  /* The event whose callback runs, still in slot 0 until it returns (NULL
   * once it re-armed or when none runs). */
  NlEvent *firing;
};

#define ARITY 2
/* A re-armed root is sifted top-down through the nodes above this index
 * (the first four levels), bottom-up below (see nl_event_schedule). */
#define TOP_DOWN_NODES 15u

NlEventQueue *nl_event_queue_new(void) {
  NlEventQueue *q = g_new0(NlEventQueue, 1);
  q->cap = 256;
  q->heap = g_new(Slot, q->cap);
  return q;
}

void nl_event_queue_free(NlEventQueue *q) {
  if (q == NULL)
    return;
  for (guint i = 0; i < q->len; i++)
    if (q->heap[i].ev != q->firing)
      q->heap[i].ev->heap_index = G_MAXUINT;
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

static inline gboolean before(const Slot *a, const Slot *b) {
  return a->key < b->key;
}

/* Writes @s into slot @i.  The firing event (slot 0, not pending) is never
 * moved by a sift: every other key is greater than its key, and it leaves
 * slot 0 only by its re-arm (which clears q->firing first) or its
 * removal. */
static inline void place(NlEventQueue *q, guint i, const Slot *s) {
  q->heap[i] = *s;
  s->ev->heap_index = i;
}

static void sift_up(NlEventQueue *q, guint i, Slot s) {
  while (i > 0) {
    guint parent = (i - 1) / ARITY;
    if (!before(&s, &q->heap[parent]))
      break;
    place(q, i, &q->heap[parent]);
    i = parent;
  }
  place(q, i, &s);
}

static void sift_down(NlEventQueue *q, guint i, Slot s) {
  guint c;
  while ((c = ARITY * i + 1) < q->len) {
    if (c + 1 < q->len)
      c += before(&q->heap[c + 1], &q->heap[c]);
    if (!before(&q->heap[c], &s))
      break;
    place(q, i, &q->heap[c]);
    i = c;
  }
  place(q, i, &s);
}

/* Fills the hole at slot @i with @s, which belongs below slot @top_down
 * only rarely: the levels above that slot are sifted top-down, stopping as
 * soon as @s fits; past them the hole goes on to a leaf along the smaller
 * children (one branch-free comparison a level) and @s rises from there
 * (Floyd's bottom-up sift, for a key that belongs far down). */
static void sift_down_hybrid(NlEventQueue *q, guint i, Slot s, guint top_down) {
  guint c;
  while ((c = ARITY * i + 1) < q->len) {
    if (c + 1 < q->len)
      c += before(&q->heap[c + 1], &q->heap[c]);
    if (i < top_down && !before(&q->heap[c], &s))
      break;
    place(q, i, &q->heap[c]);
    i = c;
  }
  if (i < top_down)
    place(q, i, &s);
  else
    sift_up(q, i, s);
}

/* Removes slot @i (its event is not touched). */
static void remove_slot(NlEventQueue *q, guint i) {
  Slot last = q->heap[--q->len];
  if (i == q->len)
    return;
  if (i == 0) /* the last slot's key belongs near the bottom */
    sift_down_hybrid(q, 0, last, 0);
  else if (before(&last, &q->heap[(i - 1) / ARITY]))
    sift_up(q, i, last);
  else
    sift_down(q, i, last);
}

void nl_event_schedule(NlEventQueue *q, NlEvent *ev, NlTime at) {
  g_return_if_fail(q != NULL && ev != NULL && ev->fn != NULL);
  g_return_if_fail(at >= q->now);
  ev->time = at;
  ev->seq = q->next_seq++;
  Slot s = {key_of(at, ev->seq), ev};
  if (ev == q->firing) {
    /* The firing event re-arms: it moves down from the root.  Its new time
     * is most often near (a program woken by a packet, a hop of a
     * millisecond among timers of a second), so the first levels are
     * sifted top-down; a key past them goes on bottom-up. */
    q->firing = NULL;
    sift_down_hybrid(q, 0, s, TOP_DOWN_NODES);
    return;
  }
  if (nl_event_pending(ev)) {
    guint i = ev->heap_index;
    if (i > 0 && before(&s, &q->heap[(i - 1) / ARITY]))
      sift_up(q, i, s);
    else
      sift_down(q, i, s);
    return;
  }
  if (q->len == q->cap) {
    q->cap *= 2;
    q->heap = g_renew(Slot, q->heap, q->cap);
  }
  sift_up(q, q->len++, s);
}

void nl_event_schedule_in(NlEventQueue *q, NlEvent *ev, NlTime delay) {
  g_return_if_fail(delay >= 0);
  nl_event_schedule(q, ev, q->now + delay);
}

void nl_event_cancel(NlEventQueue *q, NlEvent *ev) {
  g_return_if_fail(q != NULL && ev != NULL);
  if (nl_event_pending(ev)) {
    guint i = ev->heap_index;
    ev->heap_index = G_MAXUINT;
    remove_slot(q, i);
  }
}

NlTime (nl_event_now)(const NlEventQueue *q) {
  return q->now;
}

G_STATIC_ASSERT(G_STRUCT_OFFSET(struct NlEventQueue, now) ==
                G_STRUCT_OFFSET(struct NlEventQueueNowHolder, now));

static uint64_t run(NlEventQueue *q, NlTime until) {
  uint64_t n = 0, advanced = q->fired;
  q->until = until;
  q->stopped = FALSE;
  while (q->len > 0 && !q->stopped) {
    Slot *top = &q->heap[0];
    NlTime t = key_time(top->key);
    if (t > until)
      break;
    NlEvent *ev = top->ev;
    g_assert(t >= q->now); /* time never moves backwards */
    q->now = t;
    n++;
    /* Not pending while it fires; it stays in slot 0 until it returns. */
    ev->heap_index = G_MAXUINT;
    q->firing = ev;
    /* The callback may re-arm or free @ev: nothing touches it afterwards
     * (a re-arm clears q->firing; an event freed and not re-armed is only
     * compared by address). */
    ev->fn(ev, ev->data);
    if (q->firing == ev) {
      q->firing = NULL;
      remove_slot(q, 0);
    }
  }
  advanced = q->fired - advanced; /* nl_event_advance() in callbacks */
  q->fired += n;
  if (!q->stopped && until != NL_TIME_NEVER && q->now < until)
    q->now = until;
  return n + advanced;
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
  /* The firing event still sits in slot 0, but is not pending. */
  return q->len - (q->firing != NULL);
}

NlTime nl_event_next_time(const NlEventQueue *q) {
  if (q->firing == NULL)
    return q->len ? key_time(q->heap[0].key) : NL_TIME_NEVER;
  /* While an event fires, the next one is the smaller child of slot 0. */
  if (q->len < 2)
    return NL_TIME_NEVER;
  guint c = 1;
  if (q->len > 2 && before(&q->heap[2], &q->heap[1]))
    c = 2;
  return key_time(q->heap[c].key);
}

gboolean nl_event_advance(NlEventQueue *q, NlTime at) {
  /* Only inside a callback of a running loop, within its limit, and only
   * when no pending event comes first (one already at @at would: it has
   * the smaller seq). */
  if (q->firing == NULL || q->stopped || at < q->now || at > q->until ||
      nl_event_next_time(q) <= at)
    return FALSE;
  q->now = at;
  q->next_seq++; /* the seq the event would have taken */
  q->fired++;
  return TRUE;
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
