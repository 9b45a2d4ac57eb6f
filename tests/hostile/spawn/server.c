/* Hostile: starts another program with posix_spawn(). */
#include <spawn.h>
#include <stdio.h>

extern char **environ;

int main(void) {
  char *const argv[] = {"touch", "/tmp/natlab-hostile-spawn", NULL};
  pid_t pid;
  int r = posix_spawn(&pid, "/usr/bin/touch", NULL, NULL, argv, environ);
  printf("posix_spawn() = %d\n", r);
  return 0;
}
