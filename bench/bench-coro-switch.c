/* Coroutine costs: nanoseconds per switch (a resume + yield round trip is
 * two switches), the same through glibc's swapcontext for comparison, and
 * resident memory per idle coroutine.  Optionally (argument: a program
 * object such as build/tests/counter.so) the cost of loading a private
 * instance.  Results: docs/performance.md, section "coroutines".
 *
 *   ninja -C build && ./build/bench/bench-coro-switch [build/tests/counter.so]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "sim/host/coro.h"
#include "sim/host/guard.h"
#include "sim/host/loader.h"

/* CPU time of this process: steadier than wall time on a shared machine
 * (a switch makes no system call, so the two agree when the machine is
 * idle). */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void yielder(void *arg) {
  (void)arg;
  for (;;)
    nl_coro_yield();
}

/* The switch's own cost: the fastest of many short batches, each long
 * enough for the clock (about a millisecond) and short enough that most
 * run without the machine's other work in them (a preemption or a
 * neighbour's cache traffic lands in a few batches, not in all). */
#define SWITCH_BATCHES 400

static void bench_switch(long rounds, gboolean ticks) {
  NlCoro *c = nl_coro_new(yielder, NULL, 0);
  nl_coro_resume(c); /* warm up: first entry */
  long per = rounds / SWITCH_BATCHES;
  double best = 1e9, sum = 0;
  for (int rep = 0; rep < SWITCH_BATCHES; rep++) {
    double t0 = now_s();
    for (long i = 0; i < per; i++) {
      if (ticks)
        nl_guard_tick();
      nl_coro_resume(c);
    }
    double ns = (now_s() - t0) * 1e9 / (double)per / 2;
    sum += ns;
    if (ns < best)
      best = ns;
  }
  printf("switch%s: %.2f ns per switch (fastest of %d batches of %ld round "
         "trips; mean %.2f)\n",
         ticks ? " with guard + watchdog + tick" : "", best, SWITCH_BATCHES,
         per, sum / SWITCH_BATCHES);
  nl_coro_free(c);
}

static ucontext_t uc_main, uc_coro;

static void uc_body(void) {
  for (;;)
    swapcontext(&uc_coro, &uc_main);
}

static void bench_swapcontext(long rounds) {
  size_t size = 64 * 1024;
  char *stack = malloc(size);
  getcontext(&uc_coro);
  uc_coro.uc_stack.ss_sp = stack;
  uc_coro.uc_stack.ss_size = size;
  uc_coro.uc_link = NULL;
  makecontext(&uc_coro, uc_body, 0);
  double t0 = now_s();
  for (long i = 0; i < rounds; i++)
    swapcontext(&uc_main, &uc_coro);
  double ns = (now_s() - t0) * 1e9 / (double)rounds / 2;
  printf("glibc swapcontext: %.2f ns per switch (%ld round trips)\n", ns,
         rounds);
  free(stack);
}

static long rss_kib(void) {
  long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2)
    resident = -1;
  if (f)
    fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Page tables are not in RSS but are memory too. */
static long pte_kib(void) {
  char line[256];
  long kib = -1;
  FILE *f = fopen("/proc/self/status", "r");
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmPTE:", 6) == 0)
      kib = atol(line + 6);
  if (f)
    fclose(f);
  return kib;
}

static void bench_memory(int n, size_t stack) {
  NlCoro **cs = calloc((size_t)n, sizeof *cs);
  long before = rss_kib(), pte_before = pte_kib();
  for (int i = 0; i < n; i++) {
    cs[i] = nl_coro_new(yielder, NULL, stack);
    if (cs[i] == NULL) {
      perror("nl_coro_new");
      exit(1);
    }
    nl_coro_resume(cs[i]); /* now idle, parked in nl_coro_yield() */
  }
  long after = rss_kib(), pte_after = pte_kib();
  printf("memory: %d idle coroutines (%zu KiB stacks): RSS +%ld KiB, "
         "%.2f KiB each; page tables +%ld KiB, %.2f KiB each\n",
         n, nl_coro_stack_size(cs[0]) / 1024, after - before,
         (double)(after - before) / n, pte_after - pte_before,
         (double)(pte_after - pte_before) / n);
  double t0 = now_s();
  for (int i = 0; i < n; i++)
    nl_coro_resume(cs[i]);
  double ns = (now_s() - t0) * 1e9 / n / 2;
  printf("switch across %d coroutines (cold-ish): %.2f ns per switch\n", n,
         ns);
  t0 = now_s();
  for (int i = 0; i < n; i++)
    nl_coro_free(cs[i]);
  printf("free of a parked coroutine, %d alive: %.2f us each\n", n,
         (now_s() - t0) * 1e6 / n);
  free(cs);
}

static void noop(void *arg) {
  (void)arg;
}

static void bench_lifecycle(int n) {
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    NlCoro *c = nl_coro_new(noop, NULL, 0);
    nl_coro_resume(c);
    nl_coro_free(c);
  }
  printf("lifecycle (new, run to return, free): %.2f us each\n",
         (now_s() - t0) * 1e6 / n);
}

static void bench_loader(const char *path, int n) {
  GError *error = NULL;
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    NlProgram *p = nl_loader_open(path, TRUE, &error);
    if (p == NULL) {
      fprintf(stderr, "%s\n", error->message);
      exit(1);
    }
    nl_loader_close(p);
  }
  printf("loader: %.1f us per private open+close of %s\n",
         (now_s() - t0) * 1e6 / n, path);
}

int main(int argc, char **argv) {
  long rounds = 20 * 1000 * 1000;
  bench_switch(rounds, FALSE);
  GError *error = NULL;
  if (!nl_guard_init(&error) || !nl_guard_watchdog_set(1000, &error)) {
    fprintf(stderr, "%s\n", error->message);
    return 1;
  }
  bench_switch(rounds, TRUE);
  nl_guard_shutdown();
  bench_swapcontext(1000 * 1000);
  bench_lifecycle(10000);
  bench_memory(10000, 0);
  bench_memory(10000, 1024 * 1024);
  if (argc > 1)
    bench_loader(argv[1], 1000);
  return 0;
}
