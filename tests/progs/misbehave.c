/* Programs that misbehave: misbehave spin | crash | abort | sigpipe */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  printf("about to %s\n", what);
  fflush(stdout);
  if (strcmp(what, "spin") == 0) {
    volatile unsigned long n = 0;
    for (;;)
      n++; /* never calls into the lab */
  }
  if (strcmp(what, "crash") == 0) {
    volatile int *p = NULL;
    return *p;
  }
  if (strcmp(what, "abort") == 0)
    abort();
  if (strcmp(what, "sigpipe") == 0) {
    int p[2];
    pipe(p);
    close(p[0]);
    write(p[1], "x", 1); /* SIGPIPE's default action ends us */
    printf("still alive\n");
  }
  return 0;
}
