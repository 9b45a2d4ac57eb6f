/* The event core: ordering by time, ties in insertion order, cancellation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sim/core/event.h"

typedef struct {
  int order[64];
  NlTime when[64];
  int n;
  NlEventQueue *q;
} Log;

typedef struct {
  NlEvent ev;
  int id;
  Log *log;
} Item;

static void record(NlEvent *ev, void *data) {
  Item *it = data;
  it->log->order[it->log->n] = it->id;
  it->log->when[it->log->n] = nl_event_now(it->log->q);
  it->log->n++;
  (void)ev;
}

static void test_event_fires_in_time_order(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item items[5];
  NlTime times[5] = {50, 10, 40, 20, 30};
  for (int i = 0; i < 5; i++) {
    items[i] = (Item){.id = i, .log = &log};
    nl_event_init(&items[i].ev, record, &items[i]);
    nl_event_schedule(log.q, &items[i].ev, times[i]);
  }
  assert_int_equal(nl_event_run(log.q), 5);
  int expect[5] = {1, 3, 4, 2, 0};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(log.order[i], expect[i]);
    assert_int_equal(log.when[i], times[expect[i]]);
  }
  assert_int_equal(nl_event_now(log.q), 50);
  nl_event_queue_free(log.q);
}

static void test_event_ties_fire_in_insert_order(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item items[40];
  for (int i = 0; i < 40; i++) {
    items[i] = (Item){.id = i, .log = &log};
    nl_event_init(&items[i].ev, record, &items[i]);
    nl_event_schedule(log.q, &items[i].ev, 7);
  }
  nl_event_run(log.q);
  assert_int_equal(log.n, 40);
  for (int i = 0; i < 40; i++)
    assert_int_equal(log.order[i], i);
  nl_event_queue_free(log.q);
}

static void test_event_cancel_removes_pending(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item items[6];
  for (int i = 0; i < 6; i++) {
    items[i] = (Item){.id = i, .log = &log};
    nl_event_init(&items[i].ev, record, &items[i]);
    nl_event_schedule(log.q, &items[i].ev, 100 - i);
  }
  nl_event_cancel(log.q, &items[2].ev);
  nl_event_cancel(log.q, &items[5].ev); /* the earliest */
  nl_event_cancel(log.q, &items[5].ev); /* twice is a no-op */
  assert_false(nl_event_pending(&items[2].ev));
  assert_int_equal(nl_event_queue_size(log.q), 4);
  nl_event_run(log.q);
  int expect[4] = {4, 3, 1, 0};
  assert_int_equal(log.n, 4);
  for (int i = 0; i < 4; i++)
    assert_int_equal(log.order[i], expect[i]);
  nl_event_queue_free(log.q);
}

static void test_event_reschedule_moves_event_after_ties(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item a = {.id = 0, .log = &log}, b = {.id = 1, .log = &log};
  nl_event_init(&a.ev, record, &a);
  nl_event_init(&b.ev, record, &b);
  nl_event_schedule(log.q, &a.ev, 5);
  nl_event_schedule(log.q, &b.ev, 5);
  nl_event_schedule(log.q, &a.ev, 5); /* re-armed: now after b */
  nl_event_run(log.q);
  assert_int_equal(log.n, 2);
  assert_int_equal(log.order[0], 1);
  assert_int_equal(log.order[1], 0);
  nl_event_queue_free(log.q);
}

typedef struct {
  NlEvent ev;
  NlEventQueue *q;
  int fired;
  NlEvent *victim;
} SelfItem;

static void rearm_self(NlEvent *ev, void *data) {
  SelfItem *s = data;
  s->fired++;
  if (s->victim)
    nl_event_cancel(s->q, s->victim);
  if (s->fired < 3)
    nl_event_schedule_in(s->q, ev, 10);
}

static void test_event_callback_may_rearm_and_cancel(void **state) {
  NlEventQueue *q = nl_event_queue_new();
  Log log = {.q = q};
  Item victim = {.id = 9, .log = &log};
  nl_event_init(&victim.ev, record, &victim);
  nl_event_schedule(q, &victim.ev, 15);
  SelfItem s = {.q = q, .victim = &victim.ev};
  nl_event_init(&s.ev, rearm_self, &s);
  nl_event_schedule(q, &s.ev, 0);
  nl_event_run(q);
  assert_int_equal(s.fired, 3);
  assert_int_equal(log.n, 0); /* cancelled from inside a callback */
  assert_int_equal(nl_event_now(q), 20);
  nl_event_queue_free(q);
}

static void test_event_run_until_stops_at_bound(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item items[3];
  for (int i = 0; i < 3; i++) {
    items[i] = (Item){.id = i, .log = &log};
    nl_event_init(&items[i].ev, record, &items[i]);
    nl_event_schedule(log.q, &items[i].ev, (i + 1) * 100);
  }
  assert_int_equal(nl_event_run_until(log.q, 200), 2);
  assert_int_equal(nl_event_now(log.q), 200);
  assert_int_equal(nl_event_queue_size(log.q), 1);
  assert_int_equal(nl_event_run_until(log.q, 250), 0);
  assert_int_equal(nl_event_now(log.q), 250);
  assert_int_equal(nl_event_next_time(log.q), 300);
  nl_event_queue_free(log.q);
}

static void test_event_many_random_keep_heap_order(void **state) {
  enum { N = 5000 };
  NlEventQueue *q = nl_event_queue_new();
  static Item items[N];
  static Log log;
  uint64_t x = 12345;
  NlTime last = -1;
  for (int i = 0; i < N; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    items[i] = (Item){.id = i, .log = NULL};
    nl_event_init(&items[i].ev, record, &items[i]);
    items[i].log = &log;
    nl_event_schedule(q, &items[i].ev, (NlTime)(x >> 40) % 1000);
  }
  for (int i = 0; i < N; i += 3)
    nl_event_cancel(q, &items[i].ev);
  while (nl_event_queue_size(q) > 0) {
    NlTime next = nl_event_next_time(q);
    assert_true(next >= last);
    last = next;
    log.n = 0;
    log.q = q;
    nl_event_run_until(q, next);
  }
  nl_event_queue_free(q);
}

/* The firing event stays in the heap while its callback runs (so that a
 * re-arm moves it once): it must look exactly as if it had been removed. */
typedef struct {
  NlEvent ev;
  NlEventQueue *q;
  int fired;
  gboolean pending_inside;
  guint size_inside;
  NlTime next_inside;
  gboolean rearm;
} Self;

static void self_fire(NlEvent *ev, void *data) {
  Self *s = data;
  s->fired++;
  s->pending_inside = nl_event_pending(ev);
  s->size_inside = nl_event_queue_size(s->q);
  s->next_inside = nl_event_next_time(s->q);
  if (s->rearm && s->fired < 3)
    nl_event_schedule_in(s->q, ev, 25);
}

static void test_event_firing_event_is_not_pending(void **state) {
  NlEventQueue *q = nl_event_queue_new();
  Self a = {.q = q, .rearm = TRUE}, b = {.q = q};
  nl_event_init(&a.ev, self_fire, &a);
  nl_event_init(&b.ev, self_fire, &b);
  nl_event_schedule(q, &a.ev, 10);
  nl_event_schedule(q, &b.ev, 60);
  nl_event_run_until(q, 10);
  assert_int_equal(a.fired, 1);
  assert_false(a.pending_inside);
  assert_int_equal(a.size_inside, 1);    /* only b */
  assert_int_equal(a.next_inside, 60);   /* b, not a itself */
  assert_true(nl_event_pending(&a.ev)); /* re-armed for 35 */
  nl_event_run(q);
  /* a fires at 10, 35 and 60 (re-armed twice); b, scheduled for 60
   * before a's second re-arm, fires first at 60 and sees a pending. */
  assert_int_equal(a.fired, 3);
  assert_int_equal(b.fired, 1);
  assert_false(b.pending_inside);
  assert_int_equal(b.size_inside, 1); /* a's last re-arm, due at 60 */
  assert_int_equal(nl_event_queue_size(q), 0);
  assert_false(nl_event_pending(&a.ev));
  nl_event_queue_free(q);
}

/* A callback that frees its own event (not re-armed) leaves the queue
 * whole: the next events still fire in order. */
typedef struct {
  NlEvent ev;
  int *log;
  int id;
} Owned;

static void free_self(NlEvent *ev, void *data) {
  Owned *o = data;
  o->log[0]++;
  o->log[o->log[0]] = o->id;
  g_free(o);
}

static void test_event_callback_may_free_its_event(void **state) {
  NlEventQueue *q = nl_event_queue_new();
  int log[8] = {0};
  for (int i = 0; i < 5; i++) {
    Owned *o = g_new0(Owned, 1);
    o->log = log;
    o->id = i;
    nl_event_init(&o->ev, free_self, o);
    nl_event_schedule(q, &o->ev, 100 - 10 * i);
  }
  assert_int_equal(nl_event_run(q), 5);
  assert_int_equal(log[0], 5);
  for (int i = 0; i < 5; i++)
    assert_int_equal(log[1 + i], 4 - i);
  nl_event_queue_free(q);
}

/* nl_event_advance: a callback that would schedule an event and have it
 * fire next moves the clock instead -- only when no pending event comes
 * before it or at the same time, within the loop's limit, and only inside a
 * callback; each advance counts as a fired event. */
typedef struct {
  NlEvent ev;
  NlEventQueue *q;
  NlTime tries[4];
  gboolean got[4];
  NlTime after[4];
} Adv;

static void advance_cb(NlEvent *ev, void *data) {
  Adv *a = data;
  for (int i = 0; i < 4; i++) {
    a->got[i] = nl_event_advance(a->q, a->tries[i]);
    a->after[i] = nl_event_now(a->q);
  }
  (void)ev;
}

static void test_event_advance_only_when_nothing_comes_first(void **state) {
  NlEventQueue *q = nl_event_queue_new();
  assert_false(nl_event_advance(q, 5)); /* outside a callback */
  Log log = {0};
  log.q = q;
  Item other = {.id = 7, .log = &log};
  nl_event_init(&other.ev, record, &other);
  nl_event_schedule(q, &other.ev, 40);
  /* At 10: to 20 and 30 (nothing pending before 40), not to 40 (the
   * pending event at 40 comes first), not past the limit. */
  Adv a = {.q = q, .tries = {20, 30, 40, 25}};
  nl_event_init(&a.ev, advance_cb, &a);
  nl_event_schedule(q, &a.ev, 10);
  assert_int_equal(nl_event_run_until(q, 100), 4);
  assert_true(a.got[0] && a.got[1]);
  assert_false(a.got[2]); /* the event at 40 is first */
  assert_false(a.got[3]); /* time never goes back */
  assert_int_equal(a.after[1], 30);
  assert_int_equal(a.after[3], 30);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.when[0], 40);
  assert_int_equal(nl_event_fired(q), 4);
  /* The loop's limit: at 150, not beyond 160. */
  Adv b = {.q = q, .tries = {160, 161, 170, 200}};
  nl_event_init(&b.ev, advance_cb, &b);
  nl_event_schedule(q, &b.ev, 150);
  assert_int_equal(nl_event_run_until(q, 160), 2);
  assert_true(b.got[0]);
  assert_false(b.got[1] || b.got[2] || b.got[3]);
  assert_int_equal(nl_event_now(q), 160);
  nl_event_queue_free(q);
}

/* Events scheduled for the clock's own time fire after every event
 * already due then, in the order they were scheduled, also across a stop
 * and from outside the loop. */
typedef struct {
  NlEvent ev;
  Log *log;
  int id;
  Item *later[2]; /* scheduled for now by this one's callback */
  gboolean stop;
} Now;

static void now_fire(NlEvent *ev, void *data) {
  Now *a = data;
  Log *log = a->log;
  log->order[log->n] = a->id;
  log->when[log->n] = nl_event_now(log->q);
  log->n++;
  for (int i = 0; i < 2; i++)
    if (a->later[i] != NULL)
      nl_event_schedule(log->q, &a->later[i]->ev, nl_event_now(log->q));
  if (a->stop)
    nl_event_stop(log->q);
  /* Each time, something else is due now (or the run stopped): no
   * advance. */
  assert_false(nl_event_advance(log->q, nl_event_now(log->q) + 1));
  (void)ev;
}

static void test_event_due_now_fires_after_earlier_ties(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item d = {.id = 4, .log = &log}, e = {.id = 5, .log = &log},
       f = {.id = 6, .log = &log};
  nl_event_init(&d.ev, record, &d);
  nl_event_init(&e.ev, record, &e);
  nl_event_init(&f.ev, record, &f);
  /* a, b and c at 5000 (beyond level 0's span: they move down first),
   * scheduled at 0; a schedules d and e for 5000; b stops the run. */
  Now a = {.log = &log, .id = 1, .later = {&d, &e}};
  Now b = {.log = &log, .id = 2, .stop = TRUE};
  Now c = {.log = &log, .id = 3};
  Now *all[] = {&a, &b, &c};
  for (int i = 0; i < 3; i++) {
    nl_event_init(&all[i]->ev, now_fire, all[i]);
    nl_event_schedule(log.q, &all[i]->ev, 5000);
  }
  assert_int_equal(nl_event_run(log.q), 2);
  assert_int_equal(nl_event_now(log.q), 5000);
  assert_int_equal(nl_event_next_time(log.q), 5000);
  /* From outside the loop, at the same time: after d and e. */
  nl_event_schedule(log.q, &f.ev, 5000);
  /* Moving e (pending, due now) puts it after f. */
  nl_event_schedule(log.q, &e.ev, 5000);
  assert_int_equal(nl_event_queue_size(log.q), 4);
  assert_int_equal(nl_event_run(log.q), 4);
  int order[] = {1, 2, 3, 4, 6, 5};
  assert_int_equal(log.n, 6);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(log.order[i], order[i]);
    assert_int_equal(log.when[i], 5000);
  }
  nl_event_queue_free(log.q);
}

/* Events that move down to level 0 into the slot of the time that last
 * fired (the same low bits, a later time) fire at their own time: after
 * an event fired from a bucket above level 0 (0x1005, scheduled at 0),
 * and after one fired from level 0 (0x1005, scheduled at 0x1000 by the
 * event then). */
typedef struct {
  NlEvent ev;
  Item *next;
  NlTime at;
} Arm;

static void arm_fire(NlEvent *ev, void *data) {
  Arm *a = data;
  nl_event_schedule(a->next->log->q, &a->next->ev, a->at);
  (void)ev;
}

static void test_event_moved_down_into_the_slot_of_now(void **state) {
  for (int round = 0; round < 2; round++) {
    Log log = {0};
    log.q = nl_event_queue_new();
    Item it[3];
    NlTime at[3] = {0x1005, 0x5005, 0x5010};
    for (int i = 0; i < 3; i++) {
      it[i] = (Item){.id = i, .log = &log};
      nl_event_init(&it[i].ev, record, &it[i]);
    }
    Arm arm = {.next = &it[0], .at = at[0]};
    nl_event_init(&arm.ev, arm_fire, &arm);
    if (round == 0)
      nl_event_schedule(log.q, &it[0].ev, at[0]);
    else
      nl_event_schedule(log.q, &arm.ev, 0x1000);
    for (int i = 1; i < 3; i++)
      nl_event_schedule(log.q, &it[i].ev, at[i]);
    assert_int_equal(nl_event_run(log.q), 3 + round);
    assert_int_equal(log.n, 3);
    for (int i = 0; i < 3; i++) {
      assert_int_equal(log.order[i], i);
      assert_int_equal(log.when[i], at[i]);
    }
    nl_event_queue_free(log.q);
  }
}

/* Events due at the same time in a bucket above level 0 (scheduled
 * 9,000 ns ahead): the first fires from there and the others next, where
 * they may still be cancelled or moved. */
typedef struct {
  NlEvent ev;
  Log *log;
  Item *cancel, *move, *add;
} Tie;

static void tie_fire(NlEvent *ev, void *data) {
  Tie *a = data;
  NlEventQueue *q = a->log->q;
  a->log->order[a->log->n] = 0;
  a->log->when[a->log->n] = nl_event_now(q);
  a->log->n++;
  assert_true(nl_event_pending(&a->cancel->ev));
  nl_event_cancel(q, &a->cancel->ev);
  assert_false(nl_event_pending(&a->cancel->ev));
  nl_event_schedule(q, &a->add->ev, nl_event_now(q));
  nl_event_schedule(q, &a->move->ev, nl_event_now(q)); /* after add now */
  assert_int_equal(nl_event_queue_size(q), 3);
  assert_int_equal(nl_event_next_time(q), 9000);
  assert_false(nl_event_advance(q, 9001));
  (void)ev;
}

static void test_event_ties_above_level_0_fire_in_order(void **state) {
  Log log = {0};
  log.q = nl_event_queue_new();
  Item it[5];
  for (int i = 0; i < 5; i++) {
    it[i] = (Item){.id = i, .log = &log};
    nl_event_init(&it[i].ev, record, &it[i]);
  }
  Tie a = {.log = &log, .cancel = &it[1], .move = &it[2], .add = &it[4]};
  nl_event_init(&a.ev, tie_fire, &a);
  nl_event_schedule(log.q, &a.ev, 9000);
  for (int i = 1; i < 4; i++)
    nl_event_schedule(log.q, &it[i].ev, 9000);
  assert_int_equal(nl_event_run(log.q), 4);
  int order[] = {0, 3, 4, 2};
  assert_int_equal(log.n, 4);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(log.order[i], order[i]);
    assert_int_equal(log.when[i], 9000);
  }
  assert_int_equal(nl_event_queue_size(log.q), 0);
  nl_event_queue_free(log.q);
}

/* The queue against a model that knows nothing but the rule: the pending
 * event with the smallest (time, order of scheduling) fires next.  Random
 * schedules, moves and cancels, from callbacks and between runs, with
 * delays of every size (0, nanoseconds, microseconds, milliseconds,
 * seconds, hours, up to 2^62 ns) and many ties; bounded runs; advances.
 * Every firing, every next time and every advance must be the model's. */
enum { MODEL_N = 300 };

typedef struct Model Model;

typedef struct {
  NlEvent ev;
  Model *m;
  int id;
} MItem;

struct Model {
  NlEventQueue *q;
  MItem items[MODEL_N];
  gboolean pending[MODEL_N];
  NlTime at[MODEL_N];
  uint64_t seq[MODEL_N];
  uint64_t next_seq;
  uint64_t x;
  uint64_t fired, advanced;
  NlTime until;
  gboolean stopped; /* nl_event_stop() in this run's callbacks */
  uint64_t stops;
};

static uint64_t model_rand(Model *m) {
  m->x = m->x * 6364136223846793005ull + 1442695040888963407ull;
  return m->x >> 17;
}

/* A delay of a random scale: none, nanoseconds, microseconds, ...,
 * hours, 2^40 ns; with @huge, up to 2^62 ns (scheduled far ahead, and
 * mostly moved or cancelled, like the lab's receive timeouts). */
static NlTime model_delay(Model *m, gboolean huge) {
  static const NlTime scale[] = {0, 1, 3, 255, 256, 1000, 65536, NL_MS,
                                 10 * NL_MS, NL_S, 3600 * NL_S,
                                 (NlTime)1 << 40};
  uint64_t r = model_rand(m);
  guint k = (guint)(r % 14);
  if (k == 12) {
    uint64_t x = model_rand(m);
    if (x % 3 == 0) /* the same low bits as now, a later time */
      return (NlTime)(4096 * (1 + (x >> 2) % 8));
    return (NlTime)((x >> 2) % 300); /* ties and neighbours */
  }
  if (k == 13)
    return huge ? (NlTime)1 << (40 + model_rand(m) % 23) : 0;
  return (NlTime)((r >> 8) % (uint64_t)(scale[k] + 1));
}

/* The model's next event (-1 if none). */
static int model_next(const Model *m) {
  int best = -1;
  for (int i = 0; i < MODEL_N; i++)
    if (m->pending[i] &&
        (best < 0 || m->at[i] < m->at[best] ||
         (m->at[i] == m->at[best] && m->seq[i] < m->seq[best])))
      best = i;
  return best;
}

static void model_schedule(Model *m, int i, NlTime delay) {
  NlTime now = nl_event_now(m->q);
  if (delay > NL_TIME_NEVER - ((NlTime)1 << 61) - now)
    return; /* nothing overflows */
  NlTime at = now + delay;
  nl_event_schedule(m->q, &m->items[i].ev, at);
  m->pending[i] = TRUE;
  m->at[i] = at;
  m->seq[i] = m->next_seq++;
}

/* A few random operations at the current time. */
static void model_ops(Model *m, gboolean in_callback) {
  guint ops = (guint)(model_rand(m) % 4);
  for (guint o = 0; o < ops; o++) {
    int i = (int)(model_rand(m) % MODEL_N);
    /* Now and then the next event due (maybe one of several due now). */
    int nx = model_rand(m) % 4 == 0 ? model_next(m) : -1;
    if (nx >= 0)
      i = nx;
    uint64_t r = model_rand(m) % 10;
    NlTime now = nl_event_now(m->q);
    if (r < 7) {
      model_schedule(m, i, model_delay(m, TRUE));
    } else if (r < 9) {
      nl_event_cancel(m->q, &m->items[i].ev);
      m->pending[i] = FALSE;
    } else if (in_callback) {
      NlTime at = now + model_delay(m, FALSE);
      int next = model_next(m);
      gboolean expect = !m->stopped && at <= m->until &&
                        (next < 0 || m->at[next] > at);
      gboolean got = nl_event_advance(m->q, at);
      assert_int_equal(got, expect);
      if (got) {
        m->advanced++;
        assert_int_equal(nl_event_now(m->q), at);
      }
    }
    int next = model_next(m);
    assert_int_equal(nl_event_next_time(m->q),
                     next < 0 ? NL_TIME_NEVER : m->at[next]);
  }
}

static void model_fire(NlEvent *ev, void *data) {
  MItem *it = data;
  Model *m = it->m;
  int expect = model_next(m);
  assert_int_equal(it->id, expect);
  assert_int_equal(nl_event_now(m->q), m->at[expect]);
  assert_false(nl_event_pending(ev));
  m->pending[expect] = FALSE;
  m->fired++;
  if (m->fired < 200000)
    model_ops(m, TRUE);
  /* Now and then the run stops after this event (and its ops, which may
   * then schedule more at the same time); the test runs it again. */
  if (model_rand(m) % 97 == 0) {
    nl_event_stop(m->q);
    m->stopped = TRUE;
    m->stops++;
    if (m->fired < 200000)
      model_ops(m, TRUE);
  }
}

static void test_event_random_against_model(void **state) {
  static Model m;
  memset(&m, 0, sizeof m);
  m.q = nl_event_queue_new();
  m.x = 99;
  for (int i = 0; i < MODEL_N; i++) {
    m.items[i] = (MItem){.m = &m, .id = i};
    nl_event_init(&m.items[i].ev, model_fire, &m.items[i]);
  }
  uint64_t total = 0;
  for (int round = 0; round < 3000; round++) {
    model_ops(&m, FALSE);
    for (int i = 0; i < 3; i++)
      model_schedule(&m, (int)(model_rand(&m) % MODEL_N),
                     model_delay(&m, TRUE));
    NlTime now = nl_event_now(m.q);
    /* Bounded runs (the clock stays below 2^58 ns, so that nothing
     * overflows) and, at the end, one to the last event. */
    m.until = round == 2999 ? NL_TIME_NEVER
              : round % 50 == 0 ? now + ((NlTime)1 << 46)
                                : now + model_delay(&m, FALSE);
    uint64_t before = m.fired + m.advanced;
    do {
      m.stopped = FALSE;
      total += m.until == NL_TIME_NEVER ? nl_event_run(m.q)
                                        : nl_event_run_until(m.q, m.until);
      assert_int_equal(total, m.fired + m.advanced);
      if (m.stopped) {
        /* Between runs: more at the same time, after those pending. */
        assert_true(nl_event_now(m.q) <= m.until);
        model_ops(&m, FALSE);
      }
    } while (m.stopped);
    assert_true(m.fired + m.advanced >= before);
    int next = model_next(&m);
    if (m.until != NL_TIME_NEVER) {
      assert_int_equal(nl_event_now(m.q), m.until);
      assert_true(next < 0 || m.at[next] > m.until);
    } else {
      assert_int_equal(next, -1);
    }
    guint n = 0;
    for (int i = 0; i < MODEL_N; i++)
      n += m.pending[i];
    assert_int_equal(nl_event_queue_size(m.q), n);
  }
  assert_int_equal(nl_event_fired(m.q), total);
  assert_true(m.fired > 10000);
  assert_true(m.advanced > 100);
  assert_true(m.stops > 100);
  nl_event_queue_free(m.q);
  for (int i = 0; i < MODEL_N; i++)
    assert_false(nl_event_pending(&m.items[i].ev));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_event_fires_in_time_order),
    cmocka_unit_test(test_event_ties_fire_in_insert_order),
    cmocka_unit_test(test_event_cancel_removes_pending),
    cmocka_unit_test(test_event_reschedule_moves_event_after_ties),
    cmocka_unit_test(test_event_callback_may_rearm_and_cancel),
    cmocka_unit_test(test_event_run_until_stops_at_bound),
    cmocka_unit_test(test_event_many_random_keep_heap_order),
    cmocka_unit_test(test_event_firing_event_is_not_pending),
    cmocka_unit_test(test_event_callback_may_free_its_event),
    cmocka_unit_test(test_event_advance_only_when_nothing_comes_first),
    cmocka_unit_test(test_event_due_now_fires_after_earlier_ties),
    cmocka_unit_test(test_event_moved_down_into_the_slot_of_now),
    cmocka_unit_test(test_event_ties_above_level_0_fire_in_order),
    cmocka_unit_test(test_event_random_against_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
