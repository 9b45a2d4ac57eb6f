/* Hostile: calls natlab's own functions directly, by name, to forge
 * another program's output or stop the simulation. */
#include <stdio.h>

void nl_event_stop(void *queue);
long nl_world_now(void *world);

int main(void) {
  printf("FORGED: all tests passed at %ld\n", nl_world_now(NULL));
  nl_event_stop(NULL);
  return 0;
}
