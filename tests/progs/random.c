/* Randomness in the lab is seeded from the scenario, per host and program:
 * prints a few values from rand() and getrandom(), and checks that
 * srand() restarts rand()'s sequence. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

int main(void) {
  unsigned char b[8];
  getrandom(b, sizeof b, 0);
  printf("getrandom %02x%02x%02x%02x%02x%02x%02x%02x\n", b[0], b[1], b[2],
         b[3], b[4], b[5], b[6], b[7]);
  printf("rand %d %d\n", rand(), rand());
  srand(42);
  int x = rand();
  srand(42);
  printf("srand-repeats %s\n", rand() == x ? "yes" : "no");
  return 0;
}
