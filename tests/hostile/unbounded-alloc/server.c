/* Hostile: allocates and touches memory without end (capped at 4 GiB so
 * that even unconfined it cannot take the machine down). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  size_t total = 0;
  while (total < ((size_t)4 << 30)) {
    char *p = malloc((size_t)1 << 20);
    if (p == NULL)
      break;
    memset(p, 1, (size_t)1 << 20);
    total += (size_t)1 << 20;
  }
  printf("allocated %zu MiB\n", total >> 20);
  return 0;
}
