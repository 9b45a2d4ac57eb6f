/* Many program heaps (sim/host/heap.c): they cost the kernel a bounded
 * number of memory areas, not one each (a process may have only
 * vm.max_map_count of them); a heap is still bounded by memory that
 * faults; a dead heap's pages come back as zeros; and a heap the kernel
 * refuses memory for refuses the allocation, with the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/host/heap.h"

#define MANY 3000

/* Lines of /proc/self/maps: the process's memory areas. */
static guint memory_areas(void) {
  char *text = NULL;
  if (!g_file_get_contents("/proc/self/maps", &text, NULL, NULL))
    fail_msg("cannot read /proc/self/maps");
  guint n = 0;
  for (const char *c = text; *c; c++)
    n += *c == '\n';
  g_free(text);
  return n;
}

static void test_many_heaps_cost_few_memory_areas(void **state) {
  nl_heap_plan(MANY);
  NlHeap **h = g_new0(NlHeap *, MANY);
  h[0] = nl_heap_new();
  assert_non_null(nl_heap_alloc(h[0], 16));
  if (!nl_heap_reserved()) {
    nl_heap_destroy(h[0]);
    g_free(h);
    skip(); /* no guard markers (Linux < 6.13, valgrind): a mapping each */
  }
  guint before = memory_areas();
  char *first1 = NULL;
  for (int i = 1; i < MANY; i++) {
    h[i] = nl_heap_new();
    /* A small block, a page, one of whole pages, and one past what the
     * heap first commits (so its bound moves). */
    char *a = nl_heap_alloc(h[i], 24), *b = nl_heap_alloc(h[i], 4096);
    char *c = nl_heap_alloc(h[i], 200000), *d = nl_heap_alloc(h[i], 400000);
    assert_true(a && b && c && d);
    if (i == 1)
      first1 = a;
    memset(a, 1, 24);
    c[0] = d[399999] = 1;
    assert_true(nl_heap_free(h[i], b));
  }
  /* 3,000 heaps: the same areas (the reservation grows in place); a few
   * more are natlab's own allocator's (AddressSanitizer's maps as it
   * goes). */
  guint after = memory_areas();
  print_message("memory areas: %u with one heap, %u with %d\n", before,
                after, MANY);
  assert_true(after <= before + 32);
  for (int i = 0; i < MANY; i++)
    nl_heap_destroy(h[i]);
  assert_true(memory_areas() <= after);
  /* The first slots again, at the same addresses, their pages zeros. */
  NlHeap *again = nl_heap_new(), *again1 = nl_heap_new();
  assert_non_null(nl_heap_alloc(again, 16));
  char *p = nl_heap_alloc(again1, 24);
  assert_ptr_equal(p, first1);
  for (int i = 0; i < 24; i++)
    assert_int_equal(p[i], 0);
  nl_heap_destroy(again);
  nl_heap_destroy(again1);
  g_free(h);
}

/* Runs @write in a child: TRUE if it died of SIGSEGV. */
static gboolean faults(void (*write)(char *), char *at) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL);
    write(at);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void poke(char *at) {
  *(volatile char *)at = 1;
}

/* Below a heap's first block, and just past what it committed, memory
 * faults: an overflow does not run into another program's heap. */
static void test_heap_bounds_fault(void **state) {
  nl_heap_plan(MANY);
  NlHeap *h = nl_heap_new();
  char *p = nl_heap_alloc(h, 64);
  assert_non_null(p);
  if (!nl_heap_reserved()) {
    nl_heap_destroy(h);
    skip();
  }
  assert_false(faults(poke, p));
  assert_true(faults(poke, p - 17));              /* below its header */
  assert_true(faults(poke, p + (256 << 10)));     /* past the first 256 KiB */
  /* Grown: the bound moved with it. */
  char *big = nl_heap_alloc(h, 1 << 20);
  assert_non_null(big);
  assert_false(faults(poke, big + (1 << 20) - 1));
  assert_false(faults(poke, p + (256 << 10)));
  nl_heap_destroy(h);
  /* The slot's next heap: bounds where its own size puts them, not where
   * the last one's grew to; and again after one that never grew. */
  for (int round = 0; round < 2; round++) {
    NlHeap *next = nl_heap_new();
    char *q = nl_heap_alloc(next, 64);
    assert_ptr_equal(q, p);
    assert_int_equal(q[0], 0);
    assert_true(faults(poke, q - 17));
    assert_true(faults(poke, q + (256 << 10)));
    assert_false(faults(poke, q + (256 << 10) - 17));
    nl_heap_destroy(next);
  }
}

/* The kernel refuses a heap its memory (out of memory areas, or of
 * address space): the allocation fails (ENOMEM) and says why; the next
 * heap is unaffected. */
static void test_refused_heap_is_named_refusal(void **state) {
  NlHeap *h = nl_heap_new();
  nl__heap_fail_reservations(1);
  errno = 0;
  assert_null(nl_heap_alloc(h, 100));
  assert_int_equal(errno, ENOMEM);
  assert_int_equal(nl_heap_refusals(h), 1);
  int err = 0;
  assert_int_equal(nl_heap_refusal(h, &err), NL_HEAP_REFUSED_SYSTEM);
  assert_int_equal(err, ENOMEM);
  assert_null(nl_heap_of(&err));
  NlHeap *other = nl_heap_new();
  void *q = nl_heap_alloc(other, 100);
  assert_non_null(q);
  assert_ptr_equal(nl_heap_of(q), other);
  assert_int_equal(nl_heap_refusal(other, NULL), NL_HEAP_REFUSED_NONE);
  nl_heap_destroy(h);
  nl_heap_destroy(other);
}

/* A heap that fills its slot says so, not the kernel. */
static void test_full_slot_is_its_own_refusal(void **state) {
  nl_heap_plan(100000); /* 256 MiB slots */
  NlHeap *h = nl_heap_new();
  assert_null(nl_heap_alloc(h, (size_t)300 << 20));
  assert_int_equal(nl_heap_refusal(h, NULL), NL_HEAP_REFUSED_SLOT);
  nl_heap_destroy(h);
  nl_heap_plan(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_heaps_cost_few_memory_areas),
      cmocka_unit_test(test_heap_bounds_fault),
      cmocka_unit_test(test_refused_heap_is_named_refusal),
      cmocka_unit_test(test_full_slot_is_its_own_refusal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
