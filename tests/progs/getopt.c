/* Parses its options with getopt_long one at a time, sleeping between
 * them, so that two hosts running it interleave their scans: each must
 * see its own options (getopt's state is per process).  Then it holds
 * what libc's other hidden state returned (strtok's position, the
 * buffers of gmtime(), asctime(), strerror(), strsignal(), inet_ntoa(),
 * h_errno) across a sleep: each must still read its own. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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
  /* Values from this process's options: another's differ. */
  int n = (int)strlen(seen);
  struct in_addr in = {htonl(0x0a000000u | (unsigned)n)};
  const char *ntoa = inet_ntoa(in);
  const char *err = strerror(1000 + n);
  const char *sig = strsignal(100 + n);
  time_t t = (time_t)n * 3600;
  struct tm *tm = gmtime(&t);
  const char *asc = asctime(tm);
  h_errno = n;
  usleep(1000);
  printf("state %s|%s|%s|%d|%d|%s", ntoa, err, sig, tm->tm_hour, h_errno, asc);
  return 0;
}
