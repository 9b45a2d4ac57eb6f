/* Parses its options with getopt_long one at a time, sleeping between
 * them, so that two hosts running it interleave their scans: each must
 * see its own options (getopt's state is per process). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  static const struct option longopts[] = {
    {"name", required_argument, NULL, 'n'},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
  };
  char seen[256] = "";
  int c;
  while ((c = getopt_long(argc, argv, "n:vx", longopts, NULL)) != -1) {
    char one[64];
    snprintf(one, sizeof one, "%c%s%s ", c, optarg ? "=" : "",
             optarg ? optarg : "");
    strncat(seen, one, sizeof seen - strlen(seen) - 1);
    usleep(1000); /* let the other host's scan run in between */
  }
  printf("options %s\n", seen);
  for (int i = optind; i < argc; i++)
    printf("operand %s\n", argv[i]);
  char text[] = "a b c";
  char *w = strtok(text, " ");
  usleep(1000);
  printf("strtok %s %s\n", w, strtok(NULL, " "));
  return 0;
}
