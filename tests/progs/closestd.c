/* Closes its standard streams, as some daemons do, then prints: the lines
 * before are kept, the ones after fail with EBADF (as on Linux), and
 * natlab unloads the program without closing the streams twice. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  printf("before\n");
  if (fclose(stdout) != 0)
    return 2;
  if (fclose(stderr) != 0)
    return 3;
  errno = 0;
  int n = printf("after\n");
  int e = errno;
  /* Descriptor 1 is closed: a new one takes its number, as on Linux. */
  int fds[2];
  if (pipe(fds) != 0 || fds[0] != 1 || fds[1] != 2)
    return 4;
  return n < 0 && e == EBADF ? 0 : 5;
}
