/* Program heaps (see heap.h for the contract).
 *
 * Layout of a slot: 64 KiB never mapped, then blocks from a bump pointer,
 * mapped as the bump pointer needs, and the rest of the slot unmapped.  Each block has a 16-byte
 * header in front of it: a check word that depends on the header's own
 * address (so a header copied or overwritten is seen), the block's class,
 * and its usable size.
 *
 * Small blocks (up to 64 KiB) come in 48 classes (16-byte steps to 256,
 * then four per power of two) and are reused from one free list per
 * class, whose heads are in natlab's memory and whose links are in the
 * freed blocks themselves; every link is checked before it is followed.
 * Large blocks are whole pages, reused best fit from a list kept in
 * natlab's memory; one of a megabyte or more gives its pages back to the
 * kernel when freed (they read as zeros again).
 *
 * Why slots at fixed addresses: the addresses then depend only on what the
 * programs did, so they are the same on every run.  The slots sit between
 * 32 TiB and 80 TiB, above AddressSanitizer's shadow and below where Linux
 * puts executables (about 85 TiB) and its mmap area (just under 128 TiB).
 * A slot something else already uses is skipped (MAP_FIXED_NOREPLACE).
 *
 * Why one reservation: a process may have only vm.max_map_count (65,530)
 * memory areas, and a heap mapped by itself is one, so only about 60,000
 * programs that malloc could run at once, and past that every mmap in the
 * process failed, natlab's own malloc included.  So the slots' address
 * space is reserved as one mapping, read-write, MAP_NORESERVE (pages cost
 * only once touched), grown 1 TiB at a time as slots are taken, adjacent
 * parts merging into one memory area; a heap's bounds are guard markers
 * (MADV_GUARD_INSTALL, Linux 6.13: pages that fault, kept in the page
 * tables, so the area is never split): the slot's first 64 KiB, and the
 * 64 KiB past what the heap has committed, moved as it grows.  A dead
 * heap's pages go back with MADV_DONTNEED (they read as zeros again), not
 * munmap.  Where the kernel has no guard markers, or refuses the
 * reservation (RLIMIT_AS, as natlab grade sets it, counts reserved address
 * space; overcommit_memory=2 ignores MAP_NORESERVE), each heap is mapped by
 * itself as before: only what it uses, with unmapped memory around.  The
 * slots and so the addresses are the same either way.
 */
#include "sim/host/heap.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define SLOT_BASE ((uintptr_t)0x200000000000)
#define REGION_SIZE ((uintptr_t)48 << 40) /* 48 TiB: 32 TiB to 80 TiB */
#define SLOT_MIN ((size_t)64 << 20)
#define GUARD_LOW ((uintptr_t)64 * 1024)
#define COMMIT_MIN ((uintptr_t)256 * 1024)
#define COMMIT_MAX_STEP ((uintptr_t)64 * 1024 * 1024)
#define PAGE ((uintptr_t)4096)
#define RELEASE_MIN ((size_t)1024 * 1024)
#define GUARD_HIGH ((uintptr_t)64 * 1024)
#define CHUNK ((uintptr_t)1 << 40) /* the reservation grows by 1 TiB */

/* madvise(2) advice of Linux 6.13 (glibc 2.36 lacks the names). */
#define NL_MADV_GUARD_INSTALL 102
#define NL_MADV_GUARD_REMOVE 103

#define N_CLASSES 48
#define SMALL_MAX ((size_t)65536)
#define CLS_LARGE 0xfffe
#define CLS_ALIGNED 0xffff

#define MAGIC_LIVE 0x4e4c4865u /* "NLHe" */
#define MAGIC_FREE 0x6e6c6846u /* "nlhF" */

typedef struct {
  uint32_t check;
  uint32_t cls;
  uint64_t size; /* usable bytes; for CLS_ALIGNED, the offset back */
} Head;

G_STATIC_ASSERT(sizeof(Head) == 16);

typedef struct {
  uintptr_t head;
  size_t size;
} LargeFree;

struct NlHeap {
  int slot; /* -1 until reserved */
  gboolean own_map; /* mapped by itself, not in the reservation */
  uintptr_t base, top, committed, end;
  uintptr_t free_small[N_CLASSES];
  GArray *free_large;
  size_t in_use;
  guint refusals;
  NlHeapRefusal refusal; /* why the first refusal */
  int refusal_errno;
};

/* nl_heap_set_limit(), and what all heaps hold together. */
static size_t total_limit;
static size_t total_in_use;

/* The slot size (nl_heap_plan) and which heap holds each slot; TAKEN
 * marks one something else uses.  No slot below first_free is free. */
static size_t slot_size = NL_HEAP_SLOT_SIZE;
static guint n_slots;
static NlHeap **slots;
static guint first_free;
static guint live_heaps;
static NlHeap taken_marker;
#define TAKEN (&taken_marker)

/* The reservation: [SLOT_BASE, reserved_end) is mapped as one area (none
 * yet when equal).  reserve_off: the kernel refused it (or has no guard
 * markers), so heaps are mapped one by one.  low_guarded[i]: slot i's
 * first 64 KiB are guard markers (they stay when its heap goes);
 * slot_top[i]: where slot i's guard past the committed part is (0: none),
 * which also stays when a heap that never grew goes, so that the slot's
 * next heap costs no system call. */
static uintptr_t reserved_end = SLOT_BASE;
static gboolean reserve_off;
static guint8 *low_guarded;
static uintptr_t *slot_top;

/* nl__heap_fail_reservations(). */
static guint fail_next;

static uint32_t check_of(const Head *h, uint32_t magic) {
  uintptr_t a = (uintptr_t)h;
  return magic ^ (uint32_t)(a >> 4) ^ (uint32_t)(a >> 36);
}

static size_t class_size(unsigned cls) {
  if (cls < 16)
    return 16 * (size_t)(cls + 1);
  unsigned k = cls - 16;
  size_t base = (size_t)1 << (8 + k / 4);
  return base + (k % 4 + 1) * (base / 4);
}

static unsigned class_of(size_t n) {
  if (n <= 256)
    return n == 0 ? 0 : (unsigned)((n + 15) / 16 - 1);
  unsigned p = (unsigned)(63 - __builtin_clzll((unsigned long long)(n - 1)));
  size_t base = (size_t)1 << p, step = base / 4;
  unsigned idx = (unsigned)((n - base + step - 1) / step);
  return 16 + (p - 8) * 4 + idx - 1;
}

NlHeap *nl_heap_new(void) {
  NlHeap *h = g_new0(NlHeap, 1);
  h->slot = -1;
  h->free_large = g_array_new(FALSE, FALSE, sizeof(LargeFree));
  return h;
}

/* Maps [@at, @at + @len) read-write, where nothing is mapped yet. */
static gboolean map_at(uintptr_t at, size_t len) {
  void *got = mmap((void *)at, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                       MAP_FIXED_NOREPLACE,
                   -1, 0);
  if (got == MAP_FAILED)
    return FALSE;
  if ((uintptr_t)got != at) { /* a kernel without NOREPLACE */
    munmap(got, len);
    errno = EEXIST;
    return FALSE;
  }
  return TRUE;
}

/* Grows the reservation to cover [SLOT_BASE, @need), a chunk at a time.
 * FALSE if it cannot (and then never tries again). */
static gboolean reservation_cover(uintptr_t need) {
  if (need <= reserved_end)
    return TRUE;
  if (reserve_off)
    return FALSE;
  uintptr_t want = SLOT_BASE + ((need - SLOT_BASE + CHUNK - 1) & ~(CHUNK - 1));
  want = MIN(want, SLOT_BASE + REGION_SIZE);
  if (!map_at(reserved_end, want - reserved_end)) {
    reserve_off = TRUE;
    return FALSE;
  }
  if (reserved_end == SLOT_BASE) {
    /* Guard markers, or no reservation: without them a heap's bounds
     * would be PROT_NONE pages, which split the area. */
    if (madvise((void *)SLOT_BASE, PAGE, NL_MADV_GUARD_INSTALL) != 0) {
      munmap((void *)SLOT_BASE, want - SLOT_BASE);
      reserve_off = TRUE;
      return FALSE;
    }
    madvise((void *)SLOT_BASE, PAGE, NL_MADV_GUARD_REMOVE);
  }
  reserved_end = want;
  return TRUE;
}

/* The guard past @h's committed part when it ends at @at: the 64 KiB
 * after it, within the slot; at the slot's end, the next slot's first 64
 * KiB (its low guard, which stays). */
static gboolean top_guard(const NlHeap *h, uintptr_t at, int advice) {
  uintptr_t stop = MIN(at + GUARD_HIGH, h->end);
  if (stop > at)
    return madvise((void *)at, stop - at, advice) == 0;
  guint next = (guint)h->slot + 1;
  if (advice != NL_MADV_GUARD_INSTALL || next >= n_slots ||
      low_guarded[next] || h->end + GUARD_LOW > reserved_end)
    return TRUE;
  if (madvise((void *)h->end, GUARD_LOW, advice) != 0)
    return FALSE;
  low_guarded[next] = 1;
  return TRUE;
}

/* Sets up slot @i (at @start) for @h in the reservation: its low guard,
 * and the guard past its first COMMIT_MIN. */
static gboolean reserved_slot(NlHeap *h, guint i, uintptr_t start) {
  if (!low_guarded[i]) {
    if (madvise((void *)start, GUARD_LOW, NL_MADV_GUARD_INSTALL) != 0)
      return FALSE;
    low_guarded[i] = 1;
  }
  uintptr_t top = start + GUARD_LOW + COMMIT_MIN;
  if (slot_top[i] == top)
    return TRUE; /* its last heap's, which never grew */
  h->slot = (int)i;
  h->end = start + slot_size;
  gboolean ok = top_guard(h, top, NL_MADV_GUARD_INSTALL);
  h->slot = -1;
  if (ok)
    slot_top[i] = top;
  return ok;
}

/* Notes why @h refuses an allocation (the first time). */
static void refusal(NlHeap *h, NlHeapRefusal why, int err) {
  if (h->refusal == NL_HEAP_REFUSED_NONE) {
    h->refusal = why;
    h->refusal_errno = err;
  }
}

/* Takes the lowest free slot.  In the reservation that is guard markers
 * only; a slot mapped by itself maps its first part.  Only what is mapped
 * counts against the address-space limit (RLIMIT_AS, which natlab grade
 * sets), so the rest of such a slot stays unmapped: an access there
 * faults, and nothing else goes there, as Linux maps from the top of the
 * address space down.  FALSE (errno, and @h's refusal noted) if the
 * kernel refuses. */
static gboolean reserve(NlHeap *h) {
  if (slots == NULL) {
    n_slots = (guint)(REGION_SIZE / slot_size);
    slots = g_new0(NlHeap *, n_slots);
    low_guarded = g_new0(guint8, n_slots);
    slot_top = g_new0(uintptr_t, n_slots);
  }
  for (guint i = first_free; i < n_slots; i++) {
    if (slots[i] != NULL)
      continue;
    uintptr_t start = SLOT_BASE + (uintptr_t)i * slot_size;
    gboolean ok;
    if (fail_next > 0) {
      fail_next--;
      errno = ENOMEM;
      ok = FALSE;
    } else if (reservation_cover(start + slot_size)) {
      ok = reserved_slot(h, i, start);
      h->own_map = FALSE;
    } else {
      ok = map_at(start + GUARD_LOW, COMMIT_MIN);
      if (!ok && errno == EEXIST) {
        slots[i] = TAKEN;
        continue;
      }
      h->own_map = TRUE;
    }
    if (!ok) {
      refusal(h, NL_HEAP_REFUSED_SYSTEM, errno);
      return FALSE;
    }
    slots[i] = h;
    first_free = i + 1;
    live_heaps++;
    h->slot = (int)i;
    h->base = start + GUARD_LOW;
    h->top = h->base;
    h->committed = h->base + COMMIT_MIN;
    h->end = start + slot_size;
    return TRUE;
  }
  first_free = n_slots;
  refusal(h, NL_HEAP_REFUSED_SYSTEM, ENOMEM);
  errno = ENOMEM;
  return FALSE;
}

void nl__heap_fail_reservations(guint n) {
  fail_next = n;
}

void nl_heap_plan(guint heaps) {
  if (live_heaps > 0)
    return; /* slots in use keep their size */
  size_t size = NL_HEAP_SLOT_SIZE;
  while (size > SLOT_MIN && REGION_SIZE / size < heaps)
    size /= 2;
  if (size == slot_size)
    return;
  slot_size = size;
  g_free(slots);
  slots = NULL; /* remade for the new size at the next reservation */
  g_free(low_guarded);
  low_guarded = NULL;
  g_free(slot_top);
  slot_top = NULL;
  first_free = 0;
  /* The slots' low guards were where the old size put them. */
  if (reserved_end > SLOT_BASE)
    munmap((void *)SLOT_BASE, reserved_end - SLOT_BASE);
  reserved_end = SLOT_BASE;
}

size_t nl_heap_slot_size(void) {
  return slot_size;
}

void nl_heap_destroy(NlHeap *h) {
  if (h == NULL)
    return;
  if (h->slot >= 0 && h->own_map) {
    munmap((void *)h->base, h->committed - h->base);
  } else if (h->slot >= 0) {
    /* Its pages back to the kernel (zeros for the slot's next heap); the
     * low guard stays, and the top one if the heap never grew (where the
     * slot's next heap wants it), else it goes. */
    madvise((void *)h->base, h->committed - h->base, MADV_DONTNEED);
    if (h->committed != h->base + COMMIT_MIN) {
      top_guard(h, h->committed, NL_MADV_GUARD_REMOVE);
      slot_top[h->slot] = 0;
    }
  }
  if (h->slot >= 0) {
    slots[h->slot] = NULL;
    first_free = MIN(first_free, (guint)h->slot);
    live_heaps--;
  }
  total_in_use -= h->in_use;
  g_array_free(h->free_large, TRUE);
  g_free(h);
}

NlHeap *nl_heap_of(const void *p) {
  uintptr_t a = (uintptr_t)p;
  if (slots == NULL || a < SLOT_BASE || a >= SLOT_BASE + n_slots * slot_size)
    return NULL;
  NlHeap *h = slots[(a - SLOT_BASE) / slot_size];
  return h == TAKEN ? NULL : h;
}

/* Commits [h->committed, @want): maps it, or moves the top guard to
 * past it. */
static gboolean commit(NlHeap *h, uintptr_t want) {
  if (h->own_map)
    return map_at(h->committed, want - h->committed);
  if (!top_guard(h, want, NL_MADV_GUARD_INSTALL))
    return FALSE;
  slot_top[h->slot] = want;
  return top_guard(h, h->committed, NL_MADV_GUARD_REMOVE);
}

/* @n more bytes at the bump pointer (16-aligned), committed; 0 if the
 * slot is full or the kernel refuses (@h's refusal noted). */
static uintptr_t bump(NlHeap *h, size_t n) {
  if (h->slot < 0 && !reserve(h))
    return 0;
  if (n > h->end - h->top) {
    refusal(h, NL_HEAP_REFUSED_SLOT, ENOMEM);
    return 0;
  }
  uintptr_t start = h->top, stop = start + n;
  if (stop > h->committed) {
    uintptr_t grow = MIN(MAX(h->committed - h->base, COMMIT_MIN),
                         COMMIT_MAX_STEP);
    uintptr_t want = MIN(MAX(stop, h->committed + grow), h->end);
    want = (want + PAGE - 1) & ~(PAGE - 1);
    if (!commit(h, want)) {
      refusal(h, NL_HEAP_REFUSED_SYSTEM, errno);
      return 0;
    }
    h->committed = want;
  }
  h->top = stop;
  return start;
}

/* A header in @h's blocks, with room for a block after it. */
static gboolean head_in(const NlHeap *h, uintptr_t head) {
  return head >= h->base && head + sizeof(Head) <= h->top &&
         (head & 15) == 0;
}

static void *block_init(uintptr_t head, unsigned cls, size_t size) {
  Head *hd = (Head *)head;
  hd->check = check_of(hd, MAGIC_LIVE);
  hd->cls = cls;
  hd->size = size;
  return hd + 1;
}

static void *alloc_small(NlHeap *h, unsigned cls) {
  size_t size = class_size(cls);
  uintptr_t p = h->free_small[cls];
  if (p != 0) {
    uintptr_t head = p - sizeof(Head);
    const Head *hd = (const Head *)head;
    uintptr_t next = 0;
    /* The block must be where a block of its class can be, and marked
     * free; its link must be one too, or nothing. */
    if (head_in(h, head) && hd->check == check_of(hd, MAGIC_FREE) &&
        hd->cls == cls) {
      memcpy(&next, (const void *)p, sizeof next);
      if (next == 0 || head_in(h, next - sizeof(Head))) {
        h->free_small[cls] = next;
        return block_init(head, cls, size);
      }
    }
    /* Corrupted by the program: forget the list, take fresh memory. */
    h->free_small[cls] = 0;
  }
  uintptr_t head = bump(h, sizeof(Head) + size);
  return head ? block_init(head, cls, size) : NULL;
}

static void *alloc_large(NlHeap *h, size_t n) {
  size_t size = (n + PAGE - 1) & ~(PAGE - 1);
  if (size < n)
    return NULL;
  /* Best fit among the freed ones. */
  guint best = G_MAXUINT;
  for (guint i = 0; i < h->free_large->len; i++) {
    const LargeFree *f = &g_array_index(h->free_large, LargeFree, i);
    if (f->size >= size &&
        (best == G_MAXUINT ||
         f->size < g_array_index(h->free_large, LargeFree, best).size))
      best = i;
  }
  if (best != G_MAXUINT) {
    LargeFree f = g_array_index(h->free_large, LargeFree, best);
    g_array_remove_index(h->free_large, best);
    size_t rest = f.size - size;
    if (rest >= SMALL_MAX + sizeof(Head)) {
      /* The tail stays free, as a block of its own. */
      LargeFree tail = {f.head + sizeof(Head) + size, rest - sizeof(Head)};
      Head *th = (Head *)tail.head;
      th->check = check_of(th, MAGIC_FREE);
      th->cls = CLS_LARGE;
      th->size = tail.size;
      g_array_append_val(h->free_large, tail);
    } else {
      size = f.size;
    }
    return block_init(f.head, CLS_LARGE, size);
  }
  uintptr_t head = bump(h, sizeof(Head) + size);
  return head ? block_init(head, CLS_LARGE, size) : NULL;
}

void *nl_heap_alloc(NlHeap *h, size_t n) {
  g_return_val_if_fail(h != NULL, NULL);
  /* The block's size, as the allocator will round it. */
  size_t size = n <= SMALL_MAX ? class_size(class_of(n))
                               : (n + PAGE - 1) & ~(PAGE - 1);
  void *p = NULL;
  gboolean within =
      total_limit == 0 ||
      (size >= n && size <= total_limit - MIN(total_limit, total_in_use));
  if (within)
    p = n <= SMALL_MAX ? alloc_small(h, class_of(n)) : alloc_large(h, n);
  if (p == NULL) {
    /* (A no-op if the kernel's refusal was noted already.) */
    refusal(h, within ? NL_HEAP_REFUSED_SLOT : NL_HEAP_REFUSED_LIMIT, ENOMEM);
    h->refusals++;
    errno = ENOMEM;
    return NULL;
  }
  h->in_use += ((const Head *)p - 1)->size;
  total_in_use += ((const Head *)p - 1)->size;
  return p;
}

void nl_heap_set_limit(size_t bytes) {
  total_limit = bytes;
}

size_t nl_heap_limit(void) {
  return total_limit;
}

guint nl_heap_refusals(const NlHeap *h) {
  g_return_val_if_fail(h != NULL, 0);
  return h->refusals;
}

NlHeapRefusal nl_heap_refusal(const NlHeap *h, int *err) {
  g_return_val_if_fail(h != NULL, NL_HEAP_REFUSED_NONE);
  if (err != NULL)
    *err = h->refusal_errno;
  return h->refusal;
}

gboolean nl_heap_reserved(void) {
  return reserved_end > SLOT_BASE;
}

void *nl_heap_alloc_aligned(NlHeap *h, size_t align, size_t n) {
  g_return_val_if_fail(h != NULL, NULL);
  g_return_val_if_fail(align != 0 && (align & (align - 1)) == 0, NULL);
  if (align <= 16)
    return nl_heap_alloc(h, n);
  if (n > SIZE_MAX - align - sizeof(Head)) {
    errno = ENOMEM;
    return NULL;
  }
  char *raw = nl_heap_alloc(h, n + align + sizeof(Head));
  if (raw == NULL)
    return NULL;
  uintptr_t aligned =
      ((uintptr_t)raw + sizeof(Head) + align - 1) & ~(uintptr_t)(align - 1);
  Head *w = (Head *)aligned - 1;
  w->check = check_of(w, MAGIC_LIVE);
  w->cls = CLS_ALIGNED;
  w->size = aligned - (uintptr_t)raw;
  return (void *)aligned;
}

/* The header of block @p in use, following an aligned block to the block
 * that holds it; NULL if @p is no such block. */
static Head *live_head(const NlHeap *h, const void *p) {
  uintptr_t head = (uintptr_t)p - sizeof(Head);
  if (!head_in(h, head))
    return NULL;
  Head *hd = (Head *)head;
  if (hd->check != check_of(hd, MAGIC_LIVE))
    return NULL;
  if (hd->cls == CLS_ALIGNED) {
    uintptr_t raw = (uintptr_t)p - hd->size;
    if (hd->size < sizeof(Head) || !head_in(h, raw - sizeof(Head)))
      return NULL;
    hd = (Head *)(raw - sizeof(Head));
    if (hd->check != check_of(hd, MAGIC_LIVE) || hd->cls == CLS_ALIGNED)
      return NULL;
  }
  if (hd->cls != CLS_LARGE &&
      (hd->cls >= N_CLASSES || hd->size != class_size(hd->cls)))
    return NULL;
  return hd;
}

gboolean nl_heap_free(NlHeap *h, void *p) {
  g_return_val_if_fail(h != NULL, FALSE);
  Head *hd = live_head(h, p);
  if (hd == NULL)
    return FALSE;
  Head *given = (Head *)p - 1;
  if (given != hd)
    given->check = 0; /* the aligned block's own header: used up */
  h->in_use -= hd->size;
  total_in_use -= hd->size;
  hd->check = check_of(hd, MAGIC_FREE);
  uintptr_t payload = (uintptr_t)(hd + 1);
  if (hd->cls == CLS_LARGE) {
    if (hd->size >= RELEASE_MIN) {
      /* Whole pages inside the block go back to the kernel. */
      uintptr_t lo = (payload + PAGE - 1) & ~(PAGE - 1);
      uintptr_t hi = (payload + hd->size) & ~(PAGE - 1);
      if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    LargeFree f = {(uintptr_t)hd, hd->size};
    g_array_append_val(h->free_large, f);
    return TRUE;
  }
  memcpy((void *)payload, &h->free_small[hd->cls], sizeof(uintptr_t));
  h->free_small[hd->cls] = payload;
  return TRUE;
}

size_t nl_heap_size(NlHeap *h, const void *p) {
  g_return_val_if_fail(h != NULL, 0);
  const Head *hd = live_head(h, p);
  if (hd == NULL)
    return 0;
  return hd->size - ((uintptr_t)p - (uintptr_t)(hd + 1));
}

gboolean nl_heap_untouched(const NlHeap *h) {
  g_return_val_if_fail(h != NULL, FALSE);
  return h->slot < 0 && h->refusals == 0 && h->refusal == NL_HEAP_REFUSED_NONE;
}

size_t nl_heap_in_use(const NlHeap *h) {
  g_return_val_if_fail(h != NULL, 0);
  return h->in_use;
}
