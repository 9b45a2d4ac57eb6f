/* Program heaps (sim/host/heap.c): blocks aligned and apart, reused, the
 * same addresses on every run, each heap in its own slot, and a program's
 * mistakes (freeing twice, a bad pointer, an overwritten header or free
 * list) refused without the allocator leaving its region. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "sim/host/heap.h"

static void test_heap_blocks_are_aligned_and_apart(void **state) {
  NlHeap *h = nl_heap_new();
  static const size_t sizes[] = {0,    1,     15,    16,     17,    100,
                                 256,  257,   1000,  4096,   65536, 65537,
                                 100000, 300000, 2000000};
  void *p[G_N_ELEMENTS(sizes)];
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
    p[i] = nl_heap_alloc(h, sizes[i]);
    assert_non_null(p[i]);
    assert_int_equal((uintptr_t)p[i] % 16, 0);
    assert_ptr_equal(nl_heap_of(p[i]), h);
    assert_true(nl_heap_size(h, p[i]) >= sizes[i]);
    memset(p[i], (int)i + 1, sizes[i]);
  }
  /* Nothing written into one block reached another. */
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    for (size_t j = 0; j < sizes[i]; j++)
      if (((unsigned char *)p[i])[j] != i + 1)
        fail_msg("block %zu byte %zu overwritten", i, j);
  /* natlab's own memory is no heap's. */
  int local;
  assert_null(nl_heap_of(&local));
  void *mine = g_malloc(16);
  assert_null(nl_heap_of(mine));
  g_free(mine);
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    assert_true(nl_heap_free(h, p[i]));
  assert_int_equal(nl_heap_in_use(h), 0);
  nl_heap_destroy(h);
}

static void test_heap_freed_blocks_are_reused(void **state) {
  NlHeap *h = nl_heap_new();
  void *a = nl_heap_alloc(h, 40), *b = nl_heap_alloc(h, 40);
  assert_true(nl_heap_free(h, a));
  assert_true(nl_heap_free(h, b));
  /* Last freed, first reused, within the class. */
  assert_ptr_equal(nl_heap_alloc(h, 33), b);
  assert_ptr_equal(nl_heap_alloc(h, 48), a);
  /* A freed large block is reused, its tail kept free. */
  void *big = nl_heap_alloc(h, 1 << 20);
  assert_true(nl_heap_free(h, big));
  void *part = nl_heap_alloc(h, 100000);
  assert_ptr_equal(part, big);
  void *rest = nl_heap_alloc(h, 200000);
  assert_true((char *)rest > (char *)part &&
              (char *)rest < (char *)big + (1 << 20));
  nl_heap_destroy(h);
}

/* The addresses a heap gives for a fixed sequence of calls. */
static void sequence(NlHeap *h, uintptr_t out[8]) {
  void *p[8];
  for (int i = 0; i < 8; i++)
    p[i] = nl_heap_alloc(h, (size_t)(i * 3000 + 10));
  nl_heap_free(h, p[3]);
  nl_heap_free(h, p[5]);
  for (int i = 0; i < 8; i++)
    out[i] = (uintptr_t)(i == 3 || i == 5
                             ? nl_heap_alloc(h, (size_t)(i * 3000))
                             : p[i]);
}

static void test_heap_addresses_are_the_same_every_run(void **state) {
  uintptr_t first[8], again[8];
  NlHeap *h = nl_heap_new();
  sequence(h, first);
  nl_heap_destroy(h);
  h = nl_heap_new();
  sequence(h, again);
  nl_heap_destroy(h);
  assert_memory_equal(first, again, sizeof first);
}

static void test_heap_each_heap_has_its_own_slot(void **state) {
  NlHeap *a = nl_heap_new(), *b = nl_heap_new();
  char *pa = nl_heap_alloc(a, 64), *pb = nl_heap_alloc(b, 64);
  assert_ptr_equal(nl_heap_of(pa), a);
  assert_ptr_equal(nl_heap_of(pb), b);
  uintptr_t d = (uintptr_t)(pa < pb ? pb - pa : pa - pb);
  assert_true(d >= NL_HEAP_SLOT_SIZE - 65536);
  /* One heap's block is not another's to free. */
  assert_false(nl_heap_free(b, pa));
  nl_heap_destroy(a);
  nl_heap_destroy(b);
}

/* A world of more programs than 4 GiB slots fit (12,288) gets smaller
 * slots, so that every program can have a heap; while a heap is live the
 * size stays; a small world gets 4 GiB again. */
static void test_heap_slots_shrink_for_large_worlds(void **state) {
  nl_heap_plan(100000);
  assert_int_equal(nl_heap_slot_size(), (size_t)256 << 20);
  NlHeap *a = nl_heap_new(), *b = nl_heap_new();
  char *pa = nl_heap_alloc(a, 64), *pb = nl_heap_alloc(b, 64);
  assert_non_null(pa);
  assert_non_null(pb);
  uintptr_t d = (uintptr_t)(pa < pb ? pb - pa : pa - pb);
  assert_true(d >= ((size_t)256 << 20) - 65536 && d < (size_t)512 << 20);
  assert_null(nl_heap_alloc(a, (size_t)300 << 20)); /* past its slot */
  assert_non_null(nl_heap_alloc(a, (size_t)200 << 20));
  nl_heap_plan(10); /* heaps are live: no change */
  assert_int_equal(nl_heap_slot_size(), (size_t)256 << 20);
  assert_ptr_equal(nl_heap_of(pb), b);
  nl_heap_destroy(a);
  nl_heap_destroy(b);
  nl_heap_plan(10);
  assert_int_equal(nl_heap_slot_size(), NL_HEAP_SLOT_SIZE);
  nl_heap_plan(20000); /* 2 GiB slots hold 20,000 in 48 TiB */
  assert_int_equal(nl_heap_slot_size(), (size_t)2 << 30);
  nl_heap_plan(0);
  assert_int_equal(nl_heap_slot_size(), NL_HEAP_SLOT_SIZE);
}

static void test_heap_refuses_double_free_and_bad_pointers(void **state) {
  NlHeap *h = nl_heap_new();
  char *p = nl_heap_alloc(h, 100);
  assert_false(nl_heap_free(h, p + 16));
  assert_true(nl_heap_free(h, p));
  assert_false(nl_heap_free(h, p)); /* twice */
  assert_int_equal(nl_heap_size(h, p), 0);
  /* An overwritten header: the block is not taken back. */
  char *q = nl_heap_alloc(h, 100);
  memset(q - 16, 'x', 16);
  assert_false(nl_heap_free(h, q));
  nl_heap_destroy(h);
}

static void test_heap_does_not_follow_a_corrupted_free_list(void **state) {
  NlHeap *h = nl_heap_new();
  char *p = nl_heap_alloc(h, 32);
  assert_true(nl_heap_free(h, p));
  /* A program's wild write over the freed block's link to natlab's
   * memory: the allocator must not hand that memory out. */
  static char natlab_data[64];
  char *wild = natlab_data + 16;
  memcpy(p, &wild, sizeof wild);
  for (int i = 0; i < 4; i++) {
    char *q = nl_heap_alloc(h, 32);
    assert_non_null(q);
    assert_ptr_equal(nl_heap_of(q), h);
  }
  nl_heap_destroy(h);
}

static void test_heap_aligned_blocks(void **state) {
  NlHeap *h = nl_heap_new();
  static const size_t aligns[] = {16, 32, 64, 4096, 65536};
  for (size_t i = 0; i < G_N_ELEMENTS(aligns); i++) {
    char *p = nl_heap_alloc_aligned(h, aligns[i], 1000);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % aligns[i], 0);
    assert_true(nl_heap_size(h, p) >= 1000);
    memset(p, 1, 1000);
    assert_true(nl_heap_free(h, p));
    assert_false(nl_heap_free(h, p));
  }
  assert_int_equal(nl_heap_in_use(h), 0);
  nl_heap_destroy(h);
}

static void test_heap_is_bounded_by_its_slot(void **state) {
  NlHeap *h = nl_heap_new();
  /* Address space only: nothing is touched. */
  void *half = nl_heap_alloc(h, (size_t)2 << 30);
  assert_non_null(half);
  errno = 0;
  assert_null(nl_heap_alloc(h, (size_t)2 << 30));
  assert_int_equal(errno, ENOMEM);
  assert_null(nl_heap_alloc(h, SIZE_MAX - 4096));
  /* Small blocks still fit. */
  assert_non_null(nl_heap_alloc(h, 64));
  nl_heap_destroy(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_heap_blocks_are_aligned_and_apart),
      cmocka_unit_test(test_heap_freed_blocks_are_reused),
      cmocka_unit_test(test_heap_addresses_are_the_same_every_run),
      cmocka_unit_test(test_heap_each_heap_has_its_own_slot),
      cmocka_unit_test(test_heap_slots_shrink_for_large_worlds),
      cmocka_unit_test(test_heap_refuses_double_free_and_bad_pointers),
      cmocka_unit_test(test_heap_does_not_follow_a_corrupted_free_list),
      cmocka_unit_test(test_heap_aligned_blocks),
      cmocka_unit_test(test_heap_is_bounded_by_its_slot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
