/* Hostile: replaces itself (and so the lab) with another program. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  char *const argv[] = {"sh", "-c", "touch /tmp/natlab-hostile-exec", NULL};
  char *const envp[] = {NULL};
  execve("/bin/sh", argv, envp);
  printf("execve() failed\n");
  return 1;
}
