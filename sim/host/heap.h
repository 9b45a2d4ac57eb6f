/* Program heaps: what a program mallocs lives in a region of its own,
 * away from natlab's heap.
 *
 * Each heap is one slot of address space (4 GiB, less in a world of more
 * than 12,288 programs: nl_heap_plan; at a fixed place: slots are given
 * lowest first), of which it commits only what it uses, with memory that
 * faults around (guard markers in one reservation for all slots, so that
 * heaps cost no memory area of the kernel's each; where the kernel cannot,
 * a mapping per heap of only what it uses, unmapped memory around): so
 *
 * - a program's heap overflow or wild write near its own blocks hits its
 *   own memory or faults (a crash, named), not natlab's heap;
 * - a program that mallocs without end gets NULL at its slot's end (4
 *   GiB), not natlab's memory;
 * - the addresses malloc returns are the same on every run and every
 *   machine (the slot, and a deterministic allocator), so a pointer value
 *   a program mixes into its output (OpenSSL mixes the address of its
 *   random generator into its seed) does not change the run;
 * - the whole heap goes at once when the process ends.
 *
 * The allocator keeps its lists in natlab's memory and checks every block
 * it is handed back, so a program that corrupts its own heap or frees a
 * block twice is stopped (nl_heap_free() returns FALSE), and the allocator
 * never writes outside the region because of it.
 *
 * Not contained: a wild write far from the program's blocks (into natlab's
 * own memory, its globals or another program's), and what libc allocates
 * for the program itself (a FILE from fopen, getaddrinfo's answers in
 * libc), which stays in natlab's heap.
 */
#ifndef NL_HEAP_H
#define NL_HEAP_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct NlHeap NlHeap;

/* Largest block a heap gives: its slot, less its bookkeeping (4 GiB, or
 * less in a world of more than 12,288 programs: nl_heap_plan). */
#define NL_HEAP_SLOT_SIZE ((size_t)4 << 30)

/**
 * nl_heap_plan: sizes the slots for @heaps programs at once.  The slots
 * share 48 TiB of address space: 12,288 of 4 GiB, and for a larger world
 * slots halved until @heaps fit (64 MiB at the least: 786,432), so that
 * 100,000 programs that malloc can run together, each with 256 MiB.
 * Does nothing while a heap holds a slot.
 */
void nl_heap_plan(guint heaps);

/* The slot size: the most one heap can hold. */
size_t nl_heap_slot_size(void);

/**
 * nl_heap_new: (transfer full) a heap; its slot is reserved at the first
 * allocation.
 */
NlHeap *nl_heap_new(void);

/* Releases @h's slot and everything in it.  NULL is a no-op. */
void nl_heap_destroy(NlHeap *h);

/**
 * nl_heap_alloc: @n bytes aligned to 16 (any size, 0 included, gives a
 * distinct block).  Returns: NULL when the slot is full or cannot be
 * reserved (errno ENOMEM).
 */
void *nl_heap_alloc(NlHeap *h, size_t n);

/* Like nl_heap_alloc(), aligned to @align (a power of two). */
void *nl_heap_alloc_aligned(NlHeap *h, size_t align, size_t n);

/* The heap whose slot holds @p, or NULL (natlab's own memory, libc's). */
NlHeap *nl_heap_of(const void *p);

/**
 * nl_heap_free: gives back block @p of @h.
 * Returns: FALSE, and does nothing, if @p is not a block of @h in use
 * (freed twice, never allocated, or its header overwritten).
 */
gboolean nl_heap_free(NlHeap *h, void *p);

/* The usable size of block @p of @h (at least what was asked), or 0 if
 * @p is not a block of @h in use. */
size_t nl_heap_size(NlHeap *h, const void *p);

/* Bytes in use in @h (blocks not freed), for tests. */
size_t nl_heap_in_use(const NlHeap *h);

/* TRUE if nothing was ever asked of @h (it has no slot and refused
 * nothing): destroying it then changes nothing a program could see. */
gboolean nl_heap_untouched(const NlHeap *h);

/**
 * nl_heap_set_limit: at most @bytes in use in all heaps together (0: no
 * limit but each slot's).  An allocation past it fails (NULL, ENOMEM), at
 * the same allocation on every run, as the blocks the programs hold
 * depend only on what they did: `natlab grade` sets it under its real
 * memory limit so that a program that allocates without bound is refused
 * deterministically and named, before natlab itself runs out.
 */
void nl_heap_set_limit(size_t bytes);

/* The limit nl_heap_set_limit() set (0: none). */
size_t nl_heap_limit(void);

/**
 * nl_heap_refusals: how many allocations of @h failed (the limit, or a
 * full slot).  The first is the one to name.
 */
guint nl_heap_refusals(const NlHeap *h);

/* Why a heap refused an allocation. */
typedef enum {
  NL_HEAP_REFUSED_NONE,   /* it has not */
  NL_HEAP_REFUSED_LIMIT,  /* nl_heap_set_limit() */
  NL_HEAP_REFUSED_SLOT,   /* its slot is full */
  NL_HEAP_REFUSED_SYSTEM, /* the kernel refused memory (a slot, or more of
                           * one: out of memory areas or address space) */
} NlHeapRefusal;

/**
 * nl_heap_refusal: why @h refused its first refused allocation, and in
 * *@err (may be NULL) the errno the kernel gave for NL_HEAP_REFUSED_SYSTEM.
 */
NlHeapRefusal nl_heap_refusal(const NlHeap *h, int *err);

/* TRUE if heaps are carved from one reservation (guard markers between
 * them); FALSE before the first heap, or when each is its own mapping. */
gboolean nl_heap_reserved(void);

/* For tests: the next @n slot reservations fail as when the kernel
 * refuses memory (ENOMEM). */
void nl__heap_fail_reservations(guint n);

G_END_DECLS

#endif
