/* Counts in a global: two hosts running this must not share it. */
#include <stdio.h>
#include <unistd.h>

static int counter;

int main(void) {
  for (int i = 0; i < 3; i++) {
    counter++;
    printf("counter=%d\n", counter);
    usleep(1000); /* let the other instance run in between */
  }
  return counter;
}
