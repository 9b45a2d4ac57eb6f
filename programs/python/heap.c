/* natlab-python's memory: the same addresses on every run.
 *
 * An object's default hash is its address, so the order of a set of
 * objects (the chat server's clients) follows the addresses, all their
 * bits (a set probes with the hash's high bits).  CPython's raw allocator
 * is malloc(), which the shim answers from the process's own heap
 * (sim/host/heap.c: a slot at a fixed address, filled the same way on
 * every run), so its large blocks are already where they were last run.
 * Its small objects come from pymalloc's 1 MiB arenas, which CPython maps
 * with mmap() wherever the kernel likes: here they come from the process's
 * heap too, aligned to pymalloc's 16 KiB pools. */
#include <stdint.h>
#include <stdlib.h>

#include "programs/python/natlab-python.h"

#define POOL_ALIGN ((size_t)16 << 10)

static void *arena_alloc(void *ctx, size_t n) {
  (void)ctx;
  return aligned_alloc(POOL_ALIGN, n);
}

static void arena_free(void *ctx, void *p, size_t n) {
  (void)ctx;
  (void)n;
  free(p);
}

void nl_py_heap_install(void) {
  PyObjectArenaAllocator arena = {NULL, arena_alloc, arena_free};
  PyObject_SetArenaAllocator(&arena);
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
 * the program heaps' slots (from 32 TiB), where nothing is mapped. */
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
