/* natlab's malloc heap in transparent huge pages (sim/core/mem.h): the
 * heap's memory is advised MADV_HUGEPAGE, what it holds at the call and
 * what it grows by later, and a heap so advised faults in 2 MiB pages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/mem.h"

/* The smaps entry of the mapping holding @p: its VmFlags line, its
 * AnonHugePages in KiB and whether it is the brk heap; FALSE if none
 * holds it. */
static gboolean mapping_of(const void *p, char *flags, size_t n, long *huge,
                           gboolean *heap) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (f == NULL)
    return FALSE;
  char line[512];
  gboolean in = FALSE, found = FALSE;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ':') != NULL &&
        line[strspn(line, "0123456789abcdef")] == '-') {
      in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
      if (in)
        *heap = strstr(line, "[heap]") != NULL;
      continue;
    }
    if (!in)
      continue;
    if (strncmp(line, "AnonHugePages:", 14) == 0)
      *huge = atol(line + 14);
    if (strncmp(line, "VmFlags:", 8) == 0) {
      g_strlcpy(flags, line, n);
      found = TRUE;
      break;
    }
  }
  fclose(f);
  return found;
}

/* TRUE where the kernel has transparent huge pages and gives them to
 * memory that asks (the mode is "always" or "madvise"). */
static gboolean thp_on_request(void) {
  char *mode = NULL;
  if (!g_file_get_contents("/sys/kernel/mm/transparent_hugepage/enabled",
                           &mode, NULL, NULL))
    return FALSE;
  gboolean on = strstr(mode, "[never]") == NULL;
  g_free(mode);
  return on;
}

static gboolean advised(const char *flags) {
  return strstr(flags, " hg") != NULL;
}

static void test_mem_heap_is_advised_as_it_grows(void **state) {
  (void)state;
  if (!thp_on_request())
    skip(); /* no huge pages to ask for */
  nl_mem_huge_heap();
  nl_mem_huge_heap(); /* again: a no-op */
  /* Small blocks, as natlab's nodes and processes are, 48 MiB of them:
   * more than the first growth holds. */
  enum { N = 48 * 1024 };
  char **blocks = g_new(char *, N);
  for (int i = 0; i < N; i++) {
    blocks[i] = malloc(1024);
    assert_non_null(blocks[i]);
    memset(blocks[i], i, 1024);
    if (i % 1024 == 0)
      nl_mem_huge_heap_poll();
  }
  nl_mem_huge_heap_poll();
  char flags[256];
  long huge = 0;
  gboolean heap = FALSE;
  assert_true(mapping_of(blocks[N / 4], flags, sizeof flags, &huge, &heap));
  if (!heap) {
    /* Another malloc than glibc's (valgrind's, AddressSanitizer's). */
    for (int i = 0; i < N; i++)
      free(blocks[i]);
    g_free(blocks);
    skip();
  }
  assert_true(advised(flags));
  assert_true(huge > 0); /* faulted in 2 MiB pages */
  assert_true(mapping_of(blocks[N - 1], flags, sizeof flags, &huge, &heap));
  assert_true(heap);
  assert_true(advised(flags)); /* the later growth too */
  for (int i = 0; i < N; i++)
    free(blocks[i]);
  g_free(blocks);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mem_heap_is_advised_as_it_grows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
