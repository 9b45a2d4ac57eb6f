/* Hostile: signals its parent (the grader) and its own process group. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int a = kill(getppid(), SIGKILL);
  int b = kill(0, SIGTERM);
  printf("kill(parent) = %d, kill(group) = %d\n", a, b);
  return 0;
}
