/* Hostile: recurses with a large frame until the stack overflows (a frame
 * larger than a small guard page, to jump it). */
#include <stdio.h>
#include <string.h>

static int deep(int n) {
  volatile char frame[256 * 1024];
  memset((char *)frame, n, sizeof frame);
  return deep(n + 1) + frame[n % sizeof frame];
}

int main(void) {
  printf("%d\n", deep(0));
  return 0;
}
