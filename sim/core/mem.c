/* natlab's malloc heap in transparent huge pages (mem.h). */
#define _DEFAULT_SOURCE
#include "sim/core/mem.h"

#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE ((uintptr_t)4096)
#define GROWTH (32 << 20)

static gboolean on;
static uintptr_t advised; /* the heap is advised below here */

void nl_mem_huge_heap(void) {
  if (on)
    return;
  on = TRUE;
  /* The heap grows GROWTH at a time: at once now, and advised before
   * malloc touches it, so that its 2 MiB blocks are faulted in as huge
   * pages (a block malloc touched first stays in small ones). */
  mallopt(M_TOP_PAD, GROWTH);
  /* Setting one of malloc's thresholds fixes them all: blocks up to 4 MiB
   * come from the heap, as they do from 128 KiB up once glibc has raised
   * its own (a block freed), so a buffer grown and freed over and over is
   * not mapped and unmapped each time. */
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  void *now = sbrk(0);
  if (now == (void *)-1)
    return;
  advised = (uintptr_t)now & ~(PAGE - 1);
  /* Blocks under the mmap threshold come from the heap's top; the first
   * that does not fit grows it (by GROWTH more). */
  void *held[64];
  int n = 0;
  while (n < 64 && sbrk(0) == now && (held[n] = malloc(100 << 10)) != NULL)
    n++;
  nl_mem_huge_heap_poll();
  while (n > 0)
    free(held[--n]);
}

void nl_mem_huge_heap_poll(void) {
  if (!on)
    return;
  void *now = sbrk(0);
  if (now == (void *)-1 || (uintptr_t)now <= advised)
    return;
  uintptr_t end = ((uintptr_t)now + PAGE - 1) & ~(PAGE - 1);
  /* Advice only: a kernel without huge pages refuses it, and the heap is
   * as it was. */
  (void)madvise((void *)advised, end - advised, MADV_HUGEPAGE);
  advised = end;
}
