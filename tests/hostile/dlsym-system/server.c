/* Hostile: runs a shell command through system(), found with dlsym() so
 * that natlab-cc's check of imported symbols does not see it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  int (*sys)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT,
                                                          "system");
  if (sys)
    sys("touch /tmp/natlab-hostile-dlsym-system");
  printf("system() was %s\n", sys ? "called" : "not found");
  return 0;
}
