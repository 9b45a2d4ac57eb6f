/* A stack overflow with a large frame: one 4 MiB local array, far more
 * than the stack and its guard region.  Built by natlab-cc (stack clash
 * protection), its first touch lands in the guard region, so natlab names
 * the overflow instead of the program writing over another mapping. */
#include <stdio.h>
#include <string.h>

static int use(volatile char *p, size_t n) {
  p[0] = 1;
  p[n - 1] = 2;
  return p[0] + p[n - 1];
}

static int big_frame(void) {
  char big[4 << 20];
  return use(big, sizeof big);
}

int main(void) {
  printf("about to overflow\n");
  printf("%d\n", big_frame());
  return 0;
}
