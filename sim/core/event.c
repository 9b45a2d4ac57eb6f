/* The event core.  A hierarchical timing wheel whose order is exact:
 * events fire by (time, order of scheduling), as a heap keyed by
 * (time, seq) would fire them.
 *
 * Trade-offs, measured with bench/bench-event and callgrind on the scale
 * scenarios (docs/performance.md, "Event queue: a timing wheel"):
 *  - A binary heap costs O(log n) for every schedule and every firing,
 *    and the lab's pending events are mostly timeouts that are moved or
 *    cancelled long before they are due (a receive timeout of a second
 *    beside hops of a millisecond): with 1,000 hosts the heap's sifts were
 *    13 % of a whole run, 270 instructions an event.  Here scheduling,
 *    moving and cancelling are O(1) (a doubly linked bucket list and a
 *    two-word bitmap look-up), and an event is moved down at most once per
 *    level it starts above level 0.
 *  - The wheel has LEVELS levels of SLOTS buckets; a bucket of level k
 *    holds the events whose times agree with the wheel's base (q->base,
 *    never after any pending event's time) on every digit (LEVEL_BITS
 *    bits) above k and differ on digit k; level 0's buckets each hold one
 *    time.  Six levels of twelve bits cover every NlTime: level 0 spans
 *    4.1 us (a call's microsecond mostly lands there), level 1 16.8 ms in
 *    buckets of 4.1 us (a hop's or a sleep's milliseconds: moved down
 *    once), level 2 68.7 s (timeouts: mostly moved or cancelled before
 *    they come down).  Eight bits a level measured 3 % more instructions
 *    in the scale runs (more moves down).
 *  - A bucket is a FIFO: within a level-0 bucket (one time) the events are
 *    in the order they were scheduled, which is the order they must fire
 *    in.  That holds because an event never skips a level that an event
 *    due at the same time and scheduled later sits at (the base only comes
 *    closer to their time), buckets move down in order, and a bucket moves
 *    down before anything is scheduled into the buckets below it (the
 *    base moves into a bucket's range only by moving that bucket down or
 *    by firing its only event).
 *  - The earliest event is in the first non-empty bucket of the lowest
 *    non-empty level: the base's own bucket of each level above 0 stays
 *    empty (see above), so every event of level k comes after every event
 *    of the levels below.  A bucket above level 0 with one event is not
 *    moved down: that event fires from there.  Nor is one whose events are
 *    all due at the same time (ten clients' datagrams reaching the NAT
 *    together): its first fires from there and the others go, in their
 *    order, to the lane (below), which is empty then.
 *  - The base moves only when the loop fires or moves down a bucket,
 *    never past the loop's limit, so it is never after the clock: a new
 *    event (at >= now) always has its bucket.
 *  - The event that fires leaves its bucket before its callback runs: it
 *    is not pending then, may re-arm (an ordinary schedule) or be freed.
 *  - An event scheduled for the clock's own time (a thread woken by a
 *    packet, a loopback packet) goes to the lane, a FIFO beside the
 *    wheel, without the bitmaps.  It comes after every event of the wheel
 *    due at that time: those were scheduled before the clock got there,
 *    and from then on every event for that time goes to the lane (the
 *    rest of a bucket of ties above level 0 as well, before any).  The
 *    clock does not move while the lane holds an event (the lane is
 *    always due first: nl_event_advance refuses).
 *  - The wheel's events due at the clock's time are all in the level-0
 *    bucket of that time: the clock got there by firing one of them (the
 *    base then moved there too), or when none was due then (an advance,
 *    the end of a bounded run).  So the loop fires that bucket's events,
 *    then the lane's, without a search of the bitmaps; it searches only
 *    when both are empty.
 */
#include "sim/core/event.h"
#include "sim/core/mem.h"

#include <inttypes.h>
#include <stdio.h>

#define LEVEL_BITS 12u
#define SLOTS (1u << LEVEL_BITS)
#define LEVELS 6u /* LEVELS * LEVEL_BITS >= 63: every NlTime */
#define WORDS (SLOTS / 64u)
#define LANE (LEVELS * SLOTS) /* the lane's index in ev->slot */
/* q->until outside a running loop, or once it is stopped: no advance. */
#define NO_LIMIT G_MININT64

/* A bucket is its first event; the first's prev is the last (8 bytes a
 * bucket: level 0 fits the first-level cache). */
typedef struct {
  NlEvent *head;
} Bucket;

struct NlEventQueue {
  NlTime now;  /* first: read inline by nl_event_now() (event.h) */
  NlTime base; /* the wheel's base: <= now and <= every pending time */
  Bucket lane; /* the events due now, in the order they were scheduled */
  NlTime until; /* the running loop's limit for an advance, or NO_LIMIT */
  guint len;
  guint levels; /* bit k: level k holds an event */
  gboolean stopped;
  uint64_t fired;
  uint64_t used[LEVELS]; /* bit j: bits[k][j] is not 0 */
  uint64_t bits[LEVELS][WORDS]; /* the non-empty buckets */
  Bucket buckets[LEVELS * SLOTS];
};

NlEventQueue *nl_event_queue_new(void) {
  NlEventQueue *q = g_new0(NlEventQueue, 1);
  q->until = NO_LIMIT;
  return q;
}

/* The non-empty bucket of level @k with the smallest slot. */
static inline guint first_slot(const NlEventQueue *q, guint k) {
  guint j = (guint)__builtin_ctzll(q->used[k]);
  return j * 64u + (guint)__builtin_ctzll(q->bits[k][j]);
}

void nl_event_queue_free(NlEventQueue *q) {
  if (q == NULL)
    return;
  for (guint i = 0; i < LEVELS * SLOTS; i++)
    for (NlEvent *ev = q->buckets[i].head; ev != NULL; ev = ev->next)
      ev->slot = G_MAXUINT;
  for (NlEvent *ev = q->lane.head; ev != NULL; ev = ev->next)
    ev->slot = G_MAXUINT;
  g_free(q);
}

void nl_event_init(NlEvent *ev, NlEventFn fn, void *data) {
  ev->time = 0;
  ev->next = ev->prev = NULL;
  ev->fn = fn;
  ev->data = data;
  ev->slot = G_MAXUINT;
}

/* Appends @ev to the FIFO @b; TRUE if it was empty. */
static inline gboolean append(Bucket *b, NlEvent *ev) {
  NlEvent *first = b->head;
  ev->next = NULL;
  if (first != NULL) {
    NlEvent *last = first->prev;
    last->next = ev;
    ev->prev = last;
    first->prev = ev;
    return FALSE;
  }
  b->head = ev;
  ev->prev = ev;
  return TRUE;
}

/* Bucket @s of level @k holds an event now. */
static inline void filled(NlEventQueue *q, guint k, guint s) {
  q->bits[k][s / 64u] |= (uint64_t)1 << (s % 64u);
  q->used[k] |= (uint64_t)1 << (s / 64u);
  q->levels |= 1u << k;
}

/* filled(), out of line for nl_event_schedule(): inline, its shifts
 * made every schedule save and restore two registers; out of line it is a
 * jump at the end of the schedules that fill a bucket (a third here). */
G_GNUC_NO_INLINE static void filled_call(NlEventQueue *q, guint k, guint s) {
  filled(q, k, s);
}

/* Appends @ev to bucket @s of level @k. */
static inline void insert_at(NlEventQueue *q, NlEvent *ev, guint k, guint s) {
  guint i = k * SLOTS + s;
  ev->slot = i;
  if (append(&q->buckets[i], ev))
    filled(q, k, s);
}

/* The level of an event whose time first differs from the base's in bit
 * @b (the highest set bit of their xor, or of 1 when they are equal). */
static const guint8 level_of_bit[64] = {
#define L4(k) k, k, k, k
#define L12(k) L4(k), L4(k), L4(k)
  L12(0), L12(1), L12(2), L12(3), L12(4), L4(5)
#undef L12
#undef L4
};

/* The level of @ev (idle, ev->time >= q->base) and its slot there. */
static inline guint level_of(const NlEventQueue *q, const NlEvent *ev,
                             guint *s) {
  uint64_t t = (uint64_t)ev->time, x = t ^ (uint64_t)q->base;
  guint k = level_of_bit[63 - __builtin_clzll(x | 1)];
  *s = (guint)(t >> (k * LEVEL_BITS)) & (SLOTS - 1);
  return k;
}

/* Appends @ev (idle, ev->time >= q->base) to its bucket. */
static inline void insert(NlEventQueue *q, NlEvent *ev) {
  guint s, k = level_of(q, ev, &s);
  insert_at(q, ev, k, s);
}

/* Bucket @s of level @k is empty now. */
static inline void emptied(NlEventQueue *q, guint k, guint s) {
  uint64_t *w = &q->bits[k][s / 64u];
  *w &= ~((uint64_t)1 << (s % 64u));
  if (*w == 0) {
    q->used[k] &= ~((uint64_t)1 << (s / 64u));
    if (q->used[k] == 0)
      q->levels &= ~(1u << k);
  }
}

static inline void bucket_emptied(NlEventQueue *q, guint i) {
  emptied(q, i / SLOTS, i % SLOTS);
}
G_STATIC_ASSERT(WORDS == 64);

/* Takes the head @ev of the FIFO @b out; TRUE if that emptied it. */
static inline gboolean pop(Bucket *b, NlEvent *ev) {
  NlEvent *next = ev->next;
  b->head = next;
  if (next == NULL)
    return TRUE;
  next->prev = ev->prev;
  return FALSE;
}

/* Takes the head @ev of bucket @s of level @k out. */
static inline void pop_head(NlEventQueue *q, guint k, guint s, NlEvent *ev) {
  if (pop(&q->buckets[k * SLOTS + s], ev))
    emptied(q, k, s);
}

/* Takes pending @ev out of its bucket or the lane. */
static inline void unlink_event(NlEventQueue *q, NlEvent *ev) {
  guint i = ev->slot;
  Bucket *b = i == LANE ? &q->lane : &q->buckets[i];
  if (ev == b->head) {
    if (pop(b, ev) && i != LANE)
      bucket_emptied(q, i);
  } else {
    ev->prev->next = ev->next;
    if (ev->next != NULL)
      ev->next->prev = ev->prev;
    else
      b->head->prev = ev->prev; /* the new last */
  }
  ev->slot = G_MAXUINT;
}

/* The earliest time bucket @s of level @k can hold, given the base. */
static inline NlTime slot_start(const NlEventQueue *q, guint k, guint s) {
  uint64_t span = (uint64_t)1 << (k * LEVEL_BITS);
  uint64_t above = ~((span << LEVEL_BITS) - 1); /* 0 for the top level */
  return (NlTime)(((uint64_t)q->base & above) | (uint64_t)s * span);
}

/* Whether @ev and the events after it in its bucket are all due at @t. */
static inline gboolean same_time(const NlEvent *ev, NlTime t) {
  for (; ev != NULL; ev = ev->next)
    if (ev->time != t)
      return FALSE;
  return TRUE;
}

/* Moves the base to the start of bucket @s of level @k > 0, the first
 * non-empty bucket of the lowest non-empty level, and its events, in
 * order, into the levels below. */
static void move_down(NlEventQueue *q, guint k, guint s) {
  guint i = k * SLOTS + s;
  NlEvent *ev = q->buckets[i].head;
  q->buckets[i].head = NULL;
  emptied(q, k, s);
  q->base = slot_start(q, k, s);
  if (k == 1) {
    /* Every event of a level-1 bucket goes to level 0: its slot is its
     * time's low digit. */
    while (ev != NULL) {
      NlEvent *next = ev->next;
      insert_at(q, ev, 0, (guint)ev->time & (SLOTS - 1));
      ev = next;
    }
    return;
  }
  while (ev != NULL) {
    NlEvent *next = ev->next;
    insert(q, ev);
    ev = next;
  }
}

/* Puts idle @ev, due at @at (>= now), in the lane or its bucket. */
static inline void place(NlEventQueue *q, NlEvent *ev, NlTime at) {
  ev->time = at;
  if (at == q->now) {
    ev->slot = LANE;
    append(&q->lane, ev);
    return;
  }
  guint s, k = level_of(q, ev, &s);
  guint i = k * SLOTS + s;
  ev->slot = i;
  if (append(&q->buckets[i], ev))
    filled_call(q, k, s);
}

/* nl_event_schedule() of a pending event: out of line, so that the
 * common schedule (of an idle event) saves no register. */
G_GNUC_NO_INLINE static void move(NlEventQueue *q, NlEvent *ev, NlTime at) {
  unlink_event(q, ev); /* after every event already at @at */
  place(q, ev, at);
}

void nl_event_schedule(NlEventQueue *q, NlEvent *ev, NlTime at) {
  g_return_if_fail(ev->fn != NULL && at >= q->now);
  if (G_UNLIKELY(nl_event_pending(ev))) {
    move(q, ev, at);
    return;
  }
  q->len++;
  place(q, ev, at);
}

void nl_event_schedule_in(NlEventQueue *q, NlEvent *ev, NlTime delay) {
  g_return_if_fail(delay >= 0);
  nl_event_schedule(q, ev, q->now + delay);
}

void nl_event_cancel(NlEventQueue *q, NlEvent *ev) {
  g_return_if_fail(q != NULL && ev != NULL);
  if (nl_event_pending(ev)) {
    unlink_event(q, ev);
    q->len--;
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
  /* The level-0 bucket of the clock's time: the wheel's events due now are
   * its events, if any (see above).  When the base's span of level 0 does
   * not hold the clock, the wheel has none: none was due then when the
   * clock got there (by an advance, or the end of a bounded run), and
   * every event scheduled since for that time is in the lane. */
  Bucket none = {NULL};
  Bucket *cur = ((uint64_t)q->now ^ (uint64_t)q->base) < SLOTS
                    ? &q->buckets[(guint)q->now & (SLOTS - 1)]
                    : &none;
  while (!q->stopped) {
    NlEvent *ev = cur->head;
    if (ev != NULL) {
      /* Due now; a bucket of level 0. */
      pop_head(q, 0, (guint)(cur - q->buckets) & (SLOTS - 1), ev);
    } else if ((ev = q->lane.head) != NULL) {
      pop(&q->lane, ev); /* due now, after the wheel's */
    } else {
      /* The lane is empty: the wheel's earliest event. */
      if (q->levels == 0)
        break;
      guint k = (guint)__builtin_ctz(q->levels);
      guint s = first_slot(q, k);
      Bucket *b = &q->buckets[k * SLOTS + s];
      ev = b->head;
      NlTime t = ev->time;
      NlEvent *rest = ev->next;
      if (k > 0 && rest != NULL && !same_time(rest, t)) {
        /* Its events come after the limit if the bucket's start does; the
         * base never moves past the limit (nor so past the clock). */
        if (slot_start(q, k, s) > until)
          break;
        move_down(q, k, s);
        /* The base left the clock's span of level 0: the slot of the
         * clock's time now holds later times, if any. */
        cur = &none;
        continue;
      }
      /* The head of a bucket of level 0, or of a bucket above whose events
       * are all due at its time: the base moves to that time without
       * moving them down (every other event stays where it belongs), and
       * the others, due now, go to the lane (empty), in their order. */
      if (t > until)
        break;
      g_assert(t >= q->now); /* time never moves backwards */
      if (k > 0 && rest != NULL) {
        rest->prev = ev->prev;
        q->lane.head = rest;
        for (NlEvent *e = rest; e != NULL; e = e->next)
          e->slot = LANE;
        b->head = NULL;
        emptied(q, k, s);
      } else {
        pop_head(q, k, s, ev);
      }
      q->now = q->base = t;
      /* The level-0 bucket of now, or one above that stays empty (the
       * base's own bucket of its level). */
      cur = b;
    }
    ev->slot = G_MAXUINT; /* not pending while it fires */
    q->len--;
    n++;
    if (G_UNLIKELY((n & 4095) == 0))
      nl_mem_huge_heap_poll(); /* what the heap grew by (mem.h) */
    /* The callback may re-arm or free @ev: nothing touches it afterwards. */
    ev->fn(ev, ev->data);
  }
  q->until = NO_LIMIT;
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
  q->until = NO_LIMIT; /* no advance after it */
}

guint nl_event_queue_size(const NlEventQueue *q) {
  return q->len;
}

/* Whether an event of the wheel is due at or before @at. */
static gboolean due_by(const NlEventQueue *q, NlTime at) {
  if (q->levels == 0)
    return FALSE;
  guint k = (guint)__builtin_ctz(q->levels);
  guint s = first_slot(q, k);
  const NlEvent *ev = q->buckets[k * SLOTS + s].head;
  if (k == 0)
    return ev->time <= at; /* the earliest */
  if (slot_start(q, k, s) > at)
    return FALSE;
  for (; ev != NULL; ev = ev->next) /* the earliest is in this bucket */
    if (ev->time <= at)
      return TRUE;
  return FALSE;
}

NlTime nl_event_next_time(const NlEventQueue *q) {
  if (q->lane.head != NULL)
    return q->now;
  if (q->levels == 0)
    return NL_TIME_NEVER;
  guint k = (guint)__builtin_ctz(q->levels);
  guint s = first_slot(q, k);
  const NlEvent *ev = q->buckets[k * SLOTS + s].head;
  NlTime next = ev->time; /* level 0: a bucket holds one time */
  for (; k > 0 && ev != NULL; ev = ev->next)
    next = MIN(next, ev->time);
  return next;
}

gboolean nl_event_advance(NlEventQueue *q, NlTime at) {
  /* Only inside a callback of a running loop (q->until is NO_LIMIT
   * otherwise, and once stopped), within its limit, and only when no
   * pending event comes first (one already at @at would: it was scheduled
   * before; the lane's are due now). */
  if (at > q->until || at < q->now || q->lane.head != NULL || due_by(q, at))
    return FALSE;
  q->now = at;
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
