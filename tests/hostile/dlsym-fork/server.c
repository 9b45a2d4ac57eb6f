/* Hostile: creates a real process with fork(), found with dlsym(). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  pid_t (*f)(void) = (pid_t(*)(void))dlsym(RTLD_DEFAULT, "fork");
  if (f && f() == 0) {
    int fd = open("/tmp/natlab-hostile-dlsym-fork", O_CREAT | O_WRONLY, 0644);
    (void)fd;
    _exit(0);
  }
  printf("fork() was %s\n", f ? "called" : "not found");
  return 0;
}
