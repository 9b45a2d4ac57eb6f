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
/* Marked by each process at two places of its own (its copy may be kept
 * as what differs from the loaded data), and checked after the others ran:
 * exactly its two marks, nothing of theirs. */
static unsigned char marks[3000];

static int marks_ok(int n) {
  for (size_t i = 0; i < sizeof marks; i++) {
    int want = i == (size_t)n * 37 % sizeof marks || i == sizeof marks - 1
                   ? (unsigned char)n
                   : 0;
    if (marks[i] != want)
      return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  int n = 0, opt;
  while ((opt = getopt(argc, argv, "n:")) != -1)
    if (opt == 'n')
      n = atoi(optarg);
  if (optind >= argc)
    return 2;
  snprintf(buf, sizeof buf, "%s", argv[optind]);
  marks[(size_t)n * 37 % sizeof marks] = (unsigned char)n;
  marks[sizeof marks - 1] = (unsigned char)n;
  shared_looking += n;
  char *tok = strtok(buf, ",");
  while (tok != NULL) {
    counter += n;
    printf("n=%d counter=%d init=%d tok=%s\n", n, counter, shared_looking, tok);
    usleep(1000); /* the other processes run here */
    if (!marks_ok(n))
      return 3;
    tok = strtok(NULL, ",");
  }
  return counter == 3 * n ? 0 : 1;
}
