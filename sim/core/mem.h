/* natlab's own memory: its malloc heap in transparent huge pages.
 *
 * A run of a thousand hosts reads its nodes, processes, threads and
 * coroutines from a heap of tens of megabytes, one after another, each
 * event another host's: in 4 KiB pages that is a TLB miss at almost
 * every step, and a page fault for every 4 KiB the heap grows.  glibc
 * advises its heap into 2 MiB pages only with a tunable read from the
 * environment at start (glibc.malloc.hugetlb=1); this does it from inside.
 */
#ifndef NL_MEM_H
#define NL_MEM_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * nl_mem_huge_heap: from now on, the malloc heap (glibc's main arena,
 * grown with brk) grows in steps of at least 32 MiB, takes blocks up to
 * 4 MiB (not mapped on their own), and is advised into
 * transparent huge pages (MADV_HUGEPAGE) -- what it holds now and, at
 * every nl_mem_huge_heap_poll(), what it grew by since.  Where the kernel
 * has no huge pages, or gives them without asking, it changes nothing.
 * Best called early, once; calling it again is a no-op.
 */
void nl_mem_huge_heap(void);

/* Advises what the heap grew by since the last call (nothing if it did
 * not grow, or nl_mem_huge_heap() was not called): a comparison when
 * nothing changed.  Called by the event loop every few thousand events
 * and by whoever allocates much at once. */
void nl_mem_huge_heap_poll(void);

G_END_DECLS

#endif
