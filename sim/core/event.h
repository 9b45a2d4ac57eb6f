/* The event core: a virtual clock and a queue of events ordered by
 * (time, insertion sequence): of two events due at the same time, the one
 * scheduled first fires first.  Network, NAT and sockets are only clients.
 */
#ifndef NL_EVENT_H
#define NL_EVENT_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct NlEventQueue NlEventQueue;
typedef struct NlEvent NlEvent;

/* Virtual time in nanoseconds since the start of the run. */
typedef int64_t NlTime;

#define NL_NS ((NlTime)1)
#define NL_US ((NlTime)1000)
#define NL_MS ((NlTime)1000000)
#define NL_S ((NlTime)1000000000)

/* 2025-01-01T00:00:00Z, in seconds since 1970: a program's CLOCK_REALTIME
 * (and gettimeofday, time) reads this plus the virtual time.  The world
 * records it in the trace (a TOPOLOGY CLOCK record), so captures can use
 * the programs' epoch. */
#define NL_REALTIME_EPOCH ((int64_t)1735689600)
#define NL_TIME_NEVER INT64_MAX

typedef void (*NlEventFn)(NlEvent *ev, void *data);

/* An event is embedded in its owner (a packet, a timer, a socket), so
 * scheduling never allocates.  The fields are private (time may be read:
 * when a pending event is due). */
struct NlEvent {
  NlTime time;
  NlEvent *next, *prev; /* in its bucket of the queue's wheel */
  NlEventFn fn;
  void *data;
  guint slot; /* its bucket, or G_MAXUINT when idle */
};

/**
 * nl_event_queue_new: (transfer full) an empty queue at time 0.
 */
NlEventQueue *nl_event_queue_new(void);
void nl_event_queue_free(NlEventQueue *q);

/**
 * nl_event_init: prepares @ev to call @fn(@ev, @data) when it fires.
 */
void nl_event_init(NlEvent *ev, NlEventFn fn, void *data);

/**
 * nl_event_schedule: fires @ev at absolute time @at (>= now).  An event that
 * is already pending is moved; it then counts as scheduled now, so it
 * fires after every event already scheduled for the same time.
 */
void nl_event_schedule(NlEventQueue *q, NlEvent *ev, NlTime at);

/**
 * nl_event_schedule_in: fires @ev @delay nanoseconds from now.
 */
void nl_event_schedule_in(NlEventQueue *q, NlEvent *ev, NlTime delay);

/**
 * nl_event_cancel: removes @ev if pending; a no-op otherwise.  Safe from
 * inside @ev's own callback.
 */
void nl_event_cancel(NlEventQueue *q, NlEvent *ev);

static inline gboolean nl_event_pending(const NlEvent *ev) {
  return ev->slot != G_MAXUINT;
}

NlTime nl_event_now(const NlEventQueue *q);

/* Private, for the inline nl_event_now (read for every packet and call):
 * the queue's clock is its first field. */
struct NlEventQueueNowHolder {
  NlTime now;
};
static inline NlTime nl__event_now_inline(const NlEventQueue *q) {
  return ((const struct NlEventQueueNowHolder *)(const void *)q)->now;
}
#define nl_event_now(q) nl__event_now_inline(q)

/**
 * nl_event_run: fires events until the queue is empty or nl_event_stop().
 * Returns: the number of events fired.
 */
uint64_t nl_event_run(NlEventQueue *q);

/**
 * nl_event_run_until: fires every event with time <= @until, then sets the
 * clock to @until (unless stopped first).
 * Returns: the number of events fired.
 */
uint64_t nl_event_run_until(NlEventQueue *q, NlTime until);

/* Makes the running nl_event_run*() return after the current event. */
void nl_event_stop(NlEventQueue *q);

/* Number of pending events; time of the earliest (NL_TIME_NEVER if none). */
guint nl_event_queue_size(const NlEventQueue *q);
NlTime nl_event_next_time(const NlEventQueue *q);

/**
 * nl_event_advance: for a callback that would schedule an event at @at and
 * have it fire next: when no pending event comes before it (nor at @at)
 * and @at is within the running loop's limit, moves the clock to @at and
 * counts the event as fired, and the caller goes on as the event would
 * have; the same events fire in the same order.  FALSE (nothing done)
 * otherwise, and outside a callback of nl_event_run*().
 */
gboolean nl_event_advance(NlEventQueue *q, NlTime at);

/* Total events fired since creation. */
uint64_t nl_event_fired(const NlEventQueue *q);

/* Formats @t as seconds with nanosecond precision ("1.000250000") into
 * @buf, which must hold NL_TIME_STRLEN bytes.  Returns @buf. */
#define NL_TIME_STRLEN 32
char *nl_time_to_string(NlTime t, char *buf);

G_END_DECLS

#endif
