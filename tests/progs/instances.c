/* One program, many processes: each keeps its own globals, static buffer,
 * strtok position and getopt state while the others of the same program
 * run in between (the lab may load it once for all of them and swap their
 * data).  Run as: instances [-n N] WORD,WORD,WORD */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int counter;
static char buf[4096];
int shared_looking = 7; /* initialised data, as loaded */

int main(int argc, char **argv) {
  int n = 0, opt;
  while ((opt = getopt(argc, argv, "n:")) != -1)
    if (opt == 'n')
      n = atoi(optarg);
  if (optind >= argc)
    return 2;
  snprintf(buf, sizeof buf, "%s", argv[optind]);
  shared_looking += n;
  char *tok = strtok(buf, ",");
  while (tok != NULL) {
    counter += n;
    printf("n=%d counter=%d init=%d tok=%s\n", n, counter, shared_looking, tok);
    usleep(1000); /* the other processes run here */
    tok = strtok(NULL, ",");
  }
  return counter == 3 * n ? 0 : 1;
}
