/* bench-event: the event core alone.  PENDING events each re-arm
 * themselves, when they fire, at now + a pseudo-random delay (a fixed-seed
 * LCG, 1 ns .. 1 ms), until EVENTS have fired in all.  Prints events per
 * second of wall time and of process CPU time.
 *
 *   bench-event [EVENTS [PENDING...]]   (defaults: 10000000 1 1000 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim/core/event.h"

typedef struct {
  NlEventQueue *q;
  uint64_t lcg;
  uint64_t left; /* events still to fire before the run stops re-arming */
} Bench;

typedef struct {
  NlEvent ev;
  Bench *b;
} Timer;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline NlTime next_delay(Bench *b) {
  b->lcg = b->lcg * 6364136223846793005ull + 1442695040888963407ull;
  return (NlTime)((b->lcg >> 33) % (1000000u)) + 1; /* 1 ns .. 1 ms */
}

static void on_fire(NlEvent *ev, void *data) {
  Bench *b = data;
  if (b->left == 0)
    return; /* the run has fired its quota: let the queue drain */
  b->left--;
  nl_event_schedule_in(b->q, ev, next_delay(b));
}

static void run(uint64_t events, guint pending) {
  Bench b = {.q = nl_event_queue_new(), .lcg = 42};
  Timer *t = g_new0(Timer, pending);
  for (guint i = 0; i < pending; i++) {
    t[i].b = &b;
    nl_event_init(&t[i].ev, on_fire, &b);
    nl_event_schedule(b.q, &t[i].ev, next_delay(&b));
  }
  /* Each firing re-arms, so the queue holds PENDING events throughout;
   * once EVENTS - PENDING re-arms are done, the last PENDING drain. */
  b.left = events > pending ? events - pending : 0;
  double w0 = clock_s(CLOCK_MONOTONIC);
  double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  uint64_t fired = nl_event_run(b.q);
  double dw = clock_s(CLOCK_MONOTONIC) - w0;
  double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  char buf[NL_TIME_STRLEN];
  printf("pending %7u: %" G_GUINT64_FORMAT " events in %.3f s wall "
         "(%.3f s CPU): %.2f M events/s wall, %.2f M/s CPU, %.1f ns/event "
         "CPU; virtual end %s s\n",
         pending, fired, dw, dc, fired / dw / 1e6, fired / dc / 1e6,
         dc * 1e9 / fired, nl_time_to_string(nl_event_now(b.q), buf));
  g_free(t);
  nl_event_queue_free(b.q);
}

int main(int argc, char **argv) {
  uint64_t events = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 10000000;
  if (argc > 2) {
    for (int i = 2; i < argc; i++)
      run(events, (guint)atoi(argv[i]));
  } else {
    guint sizes[] = {1, 1000, 100000};
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++)
      run(events, sizes[i]);
  }
  return 0;
}
