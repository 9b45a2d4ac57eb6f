/* Hostile: signals its whole process group (kill(0, ...)): in-process,
 * that would be the grader's group. */
#include <signal.h>
#include <stdio.h>

int main(void) {
  int r = kill(0, SIGTERM);
  printf("kill(0) = %d\n", r);
  return 0;
}
