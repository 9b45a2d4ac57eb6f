/* Prints where its memory is: a fact of the real process (address space
 * layout randomisation), so two runs in two processes differ, and
 * --check-determinism must say so, with the record's time and host. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  printf("steady line\n");
  usleep(1500);
  int local = 0;
  void *heap = malloc(16);
  printf("stack %p heap %p\n", (void *)&local, heap);
  free(heap);
  return 0;
}
