/* A program whose destructors write to its standard streams when its
 * object is unloaded, after every process of it ended: one of the default
 * priority (it runs before the shim's own destructor) and one of priority
 * 101 (it runs after it, as gcov's does in a -fprofile-generate build).
 * Each writes what its fprintf returned, and errno, to dtor_results, which
 * the test points at its own memory before unloading. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int *dtor_results;

static void report(int at) {
  if (dtor_results == NULL)
    return;
  errno = 0;
  int n = fprintf(stderr, "a destructor writes %s\n", "this");
  dtor_results[at] = n;
  dtor_results[at + 1] = errno;
  char *p = malloc(100); /* the heap is whole */
  free(p);
}

__attribute__((destructor)) static void dtor_early(void) {
  report(0);
}

__attribute__((destructor(101))) static void dtor_late(void) {
  report(2);
}

int main(void) {
  printf("hello\n");
  return 0;
}
