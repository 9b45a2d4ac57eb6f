/* Unnamed semaphores and condition clocks, as CPython's locks and GIL use
 * them: sem_init/sem_post/sem_wait/sem_trywait/sem_timedwait/sem_clockwait
 * across two threads, and pthread_cond_timedwait on a CLOCK_MONOTONIC
 * condition. */
#include <pthread.h>
#include <semaphore.h>

#include "check.h"

static sem_t ready, go;

static void *worker(void *arg) {
  sem_post(&ready);
  sem_wait(&go);
  *(int *)arg = 42;
  sem_post(&ready);
  return NULL;
}

static struct timespec in_ms(clockid_t clk, int ms) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  ts.tv_nsec += (long)ms * 1000000L;
  ts.tv_sec += ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  return ts;
}

int main(void) {
  sem_t s;
  int v = -1;
  CHECK("sem-init", sem_init(&s, 0, 2) == 0);
  CHECK("sem-getvalue-2", sem_getvalue(&s, &v) == 0 && v == 2);
  CHECK("sem-trywait-twice", sem_trywait(&s) == 0 && sem_trywait(&s) == 0);
  CHECK_ERR("sem-trywait-empty-eagain", sem_trywait(&s), EAGAIN);
  struct timespec bad = {.tv_sec = 0, .tv_nsec = 2000000000L};
  CHECK_ERR("sem-timedwait-bad-nsec-einval", sem_timedwait(&s, &bad),
            EINVAL);
  double t0 = now_ms();
  struct timespec ts = in_ms(CLOCK_REALTIME, 30);
  CHECK_ERR("sem-timedwait-times-out", sem_timedwait(&s, &ts), ETIMEDOUT);
  CHECK("sem-timedwait-waited", now_ms() - t0 >= 29.0);
  t0 = now_ms();
  ts = in_ms(CLOCK_MONOTONIC, 30);
  CHECK_ERR("sem-clockwait-monotonic-times-out",
            sem_clockwait(&s, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
  CHECK("sem-clockwait-waited", now_ms() - t0 >= 29.0);
  CHECK_ERR("sem-clockwait-bad-clock-einval",
            sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
  CHECK("sem-post-then-wait", sem_post(&s) == 0 && sem_wait(&s) == 0);
  CHECK("sem-destroy", sem_destroy(&s) == 0);

  int out = 0;
  pthread_t th;
  sem_init(&ready, 0, 0);
  sem_init(&go, 0, 0);
  CHECK("thread-start", pthread_create(&th, NULL, worker, &out) == 0);
  CHECK("thread-signals-ready", sem_wait(&ready) == 0);
  CHECK("thread-waits-for-go", out == 0);
  sem_post(&go);
  ts = in_ms(CLOCK_MONOTONIC, 1000);
  CHECK("thread-done-before-timeout",
        sem_clockwait(&ready, CLOCK_MONOTONIC, &ts) == 0 && out == 42);
  pthread_join(th, NULL);

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_t c;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_init(&c, &ca);
  pthread_mutex_lock(&m);
  t0 = now_ms();
  ts = in_ms(CLOCK_MONOTONIC, 40);
  CHECK("cond-monotonic-times-out",
        pthread_cond_timedwait(&c, &m, &ts) == ETIMEDOUT);
  CHECK("cond-monotonic-waited", now_ms() - t0 >= 39.0);
  pthread_mutex_unlock(&m);
  pthread_cond_destroy(&c);
  pthread_cond_t c2 = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&m);
  t0 = now_ms();
  ts = in_ms(CLOCK_REALTIME, 40);
  CHECK("cond-realtime-times-out",
        pthread_cond_timedwait(&c2, &m, &ts) == ETIMEDOUT);
  CHECK("cond-realtime-waited", now_ms() - t0 >= 39.0);
  pthread_mutex_unlock(&m);
  return 0;
}
