/* A program with a destructor, run the three ways a process ends:
 * `exit-dtor exit` returns from main, and its destructor runs in the
 * process, as on Linux (its line on stderr, before the exit); `exit-dtor
 * abort` returns too, and its destructor aborts: the process crashes, the
 * lab goes on; `exit-dtor crash` faults in main, and no destructor runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *mode = "";
int *volatile nowhere;

__attribute__((destructor)) static void at_unload(void) {
  fprintf(stderr, "destructor ran (%s)\n", mode);
  if (strcmp(mode, "abort") == 0)
    abort();
}

int main(int argc, char **argv) {
  mode = argc > 1 ? argv[1] : "";
  printf("main (%s)\n", mode);
  if (strcmp(mode, "crash") == 0)
    *nowhere = 1;
  return 0;
}
