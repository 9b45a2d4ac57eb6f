/* natlab-python's heap: every byte CPython allocates (its raw allocator,
 * and through it the large blocks of PyMem and PyObject, and pymalloc's
 * arenas) comes from one region of the process's own, reserved when the
 * interpreter starts and given back when its module is unloaded.
 *
 * Why: an object's default hash is its address, so the order of a set of
 * objects (the chat server's clients) follows the addresses, all their
 * bits (a set probes with the hash's high bits).  The region is a 16 GiB
 * slot at a fixed address, the first free one when the process starts,
 * and filled in the same order on every run: every address, id() and
 * hash is the same on every run, whatever the machine's address layout
 * and whatever natlab did before.
 *
 * Blocks have a 16-byte header (their class or size).  Small blocks (up
 * to 1 MiB) come in classes of 16-byte steps to 1 KiB, then four per power
 * of two; a freed one goes on its class's list, last in first out.  Larger
 * blocks are whole 64 KiB units from a first-fit list, and their pages go
 * back to the kernel when freed.  Plain and deterministic rather than
 * fast: pymalloc still serves CPython's small objects from its arenas. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "programs/python/natlab-python.h"

#define REGION ((size_t)16 << 30) /* reserved, not committed */
/* Slots from 17 TiB to 31 TiB: above AddressSanitizer's shadow (to 16
 * TiB), below natlab's program heaps (from 32 TiB) and far below where
 * Linux maps executables and libraries (85 TiB and up). */
#define SLOT_BASE ((uintptr_t)0x110000000000)
#define N_SLOTS ((uintptr_t)896)
#define HEAD 16u
#define SMALL_MAX ((size_t)1 << 20)
#define LARGE_UNIT ((size_t)64 << 10)
#define N_CLASSES 128

typedef struct Free {
  struct Free *next;
} Free;

typedef struct Large {
  struct Large *next;
  size_t size; /* bytes, header included */
} Large;

static char *map_base; /* the whole mapping (for munmap) */
static size_t map_len;
static char *bump, *end;
static Free *small_free[N_CLASSES];
static Large *large_free;

static unsigned class_of(size_t n, size_t *cap) {
  if (n <= 1024) {
    size_t c = n <= 16 ? 16 : (n + 15) & ~(size_t)15;
    *cap = c;
    return (unsigned)(c / 16 - 1); /* 0..63 */
  }
  /* Four classes per power of two above 1 KiB. */
  unsigned cls = 64;
  for (size_t p = 1024;; p *= 2) {
    for (unsigned q = 1; q <= 4; q++, cls++) {
      size_t c = p + p / 4 * q;
      if (n <= c) {
        *cap = c;
        return cls;
      }
    }
  }
}

int nl_py_heap_init(void) {
  if (map_base != NULL)
    return 0;
  /* The first free slot, in the order processes start: the same slots on
   * every run, as nothing else maps there. */
  for (uintptr_t i = 0; i < N_SLOTS; i++) {
    void *want = (void *)(SLOT_BASE + i * REGION);
    void *m = mmap(want, REGION, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                       MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (m == MAP_FAILED)
      continue;
    if (m != want) { /* a kernel without MAP_FIXED_NOREPLACE */
      munmap(m, REGION);
      continue;
    }
    map_base = m;
    map_len = REGION;
    bump = m;
    end = bump + REGION;
    return 0;
  }
  return -1;
}

static void *take(size_t n) {
  if ((size_t)(end - bump) < n)
    return NULL;
  void *p = bump;
  bump += n;
  return p;
}

static void *heap_alloc(size_t n) {
  if (n == 0)
    n = 1;
  if (n > REGION)
    return NULL;
  char *h;
  if (n <= SMALL_MAX - HEAD) {
    size_t cap;
    unsigned cls = class_of(n, &cap);
    if (small_free[cls] != NULL) {
      h = (char *)small_free[cls] - HEAD;
      small_free[cls] = small_free[cls]->next;
    } else if ((h = take(cap + HEAD)) == NULL) {
      return NULL;
    }
    ((size_t *)h)[0] = cls;
    ((size_t *)h)[1] = cap;
    return h + HEAD;
  }
  size_t size = (n + HEAD + LARGE_UNIT - 1) & ~(LARGE_UNIT - 1);
  for (Large **l = &large_free; *l != NULL; l = &(*l)->next)
    if ((*l)->size >= size) {
      Large *b = *l;
      *l = b->next;
      size = b->size;
      h = (char *)b;
      ((size_t *)h)[0] = N_CLASSES;
      ((size_t *)h)[1] = size - HEAD;
      return h + HEAD;
    }
  if ((h = take(size)) == NULL)
    return NULL;
  ((size_t *)h)[0] = N_CLASSES;
  ((size_t *)h)[1] = size - HEAD;
  return h + HEAD;
}

static size_t capacity(void *p) {
  return ((size_t *)((char *)p - HEAD))[1];
}

static void heap_free(void *p) {
  if (p == NULL)
    return;
  char *h = (char *)p - HEAD;
  size_t cls = ((size_t *)h)[0];
  if (cls < N_CLASSES) {
    Free *f = p;
    f->next = small_free[cls];
    small_free[cls] = f;
    return;
  }
  Large *b = (Large *)h;
  b->size = ((size_t *)h)[1] + HEAD;
  /* Its pages, but the first, back to the kernel (they read as zeros). */
  madvise(h + 4096, b->size - 4096, MADV_DONTNEED);
  b->next = large_free;
  large_free = b;
}

static void *raw_malloc(void *ctx, size_t n) {
  (void)ctx;
  return heap_alloc(n);
}

static void *raw_calloc(void *ctx, size_t nelem, size_t elsize) {
  (void)ctx;
  if (elsize != 0 && nelem > SIZE_MAX / elsize)
    return NULL;
  size_t n = nelem * elsize;
  void *p = heap_alloc(n);
  if (p != NULL)
    memset(p, 0, n);
  return p;
}

static void *raw_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  if (p == NULL)
    return heap_alloc(n);
  size_t cap = capacity(p);
  if (n <= cap && n >= cap / 2)
    return p;
  void *q = heap_alloc(n);
  if (q == NULL)
    return NULL;
  memcpy(q, p, n < cap ? n : cap);
  heap_free(p);
  return q;
}

static void raw_free(void *ctx, void *p) {
  (void)ctx;
  heap_free(p);
}

static void *arena_alloc(void *ctx, size_t n) {
  (void)ctx;
  return heap_alloc(n);
}

static void arena_free(void *ctx, void *p, size_t n) {
  (void)ctx;
  (void)n;
  heap_free(p);
}

void nl_py_heap_install(void) {
  PyMemAllocatorEx raw = {NULL, raw_malloc, raw_calloc, raw_realloc,
                          raw_free};
  PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &raw);
  PyObjectArenaAllocator arena = {NULL, arena_alloc, arena_free};
  PyObject_SetArenaAllocator(&arena);
}

__attribute__((destructor)) static void heap_fini(void) {
  if (map_base != NULL)
    munmap(map_base, map_len);
  map_base = NULL;
}

/* The other addresses CPython sees: its static objects (built-in types,
 * None, the small ints, its interned strings) and C functions lie in this
 * module's image, which the dynamic loader places wherever address-space
 * randomisation says, elsewhere on every run.  Three things make them
 * repeat too:
 *   - the link wraps _Py_HashPointer (the hash of object, type, method,
 *     descriptor, cell and context variable): an address in the image
 *     hashes as its offset from a fixed base, so a set of types or of
 *     bound methods iterates in the same order on every run;
 *   - it wraps PyLong_FromVoidPtr (id(), and the keys of a type's
 *     subclasses) the same way, so id(None) is the same every run;
 *   - the image is linked with 64 KiB pages, so the loader places it at a
 *     64 KiB boundary: CPython's method cache indexes its entries by bits
 *     3 to 14 of the attribute name's address, and which entries collide
 *     decides which names the cache keeps alive, hence the order of later
 *     allocations (and so every heap address after).
 * The fixed base lies between AddressSanitizer's shadow (to 16 TiB) and
 * the heap slots, where nothing is mapped. */
#define IMAGE_BASE ((uintptr_t)0x108000000000)

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

static const void *image_relative(const void *p) {
  uintptr_t a = (uintptr_t)p;
  uintptr_t lo = (uintptr_t)__ehdr_start, hi = (uintptr_t)_end;
  if (a >= lo && a < hi)
    return (const void *)(IMAGE_BASE + (a - lo));
  return p;
}

Py_hash_t __real__Py_HashPointer(const void *p);
Py_hash_t __wrap__Py_HashPointer(const void *p);
PyObject *__real_PyLong_FromVoidPtr(void *p);
PyObject *__wrap_PyLong_FromVoidPtr(void *p);

Py_hash_t __wrap__Py_HashPointer(const void *p) {
  return __real__Py_HashPointer(image_relative(p));
}

PyObject *__wrap_PyLong_FromVoidPtr(void *p) {
  return __real_PyLong_FromVoidPtr((void *)image_relative(p));
}
