/* nofile [LIMIT]: sets RLIMIT_NOFILE to LIMIT (when given), then opens
 * sockets until the lab refuses one, and prints how far it got. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct rlimit r;
  getrlimit(RLIMIT_NOFILE, &r);
  if (argc > 1) {
    r.rlim_cur = strtoul(argv[1], NULL, 10);
    if (setrlimit(RLIMIT_NOFILE, &r) != 0)
      perror("setrlimit");
  }
  getrlimit(RLIMIT_NOFILE, &r);
  printf("limit %llu\n", (unsigned long long)r.rlim_cur);
  int last = -1, fd, n = 0;
  while (n < 5000 && (fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0) {
    last = fd;
    n++;
  }
  printf("last fd %d, then %s\n", last, strerror(errno));
  usleep(10000); /* hold them while the other process runs */
  return 0;
}
