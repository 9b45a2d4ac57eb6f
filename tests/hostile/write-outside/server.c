/* Hostile: writes files outside its folder: an absolute path under /tmp
 * and one above the folder it runs in. */
#include <stdio.h>

int main(void) {
  FILE *a = fopen("/tmp/natlab-hostile-write-outside", "w");
  FILE *b = fopen("../../natlab-hostile-write-outside", "w");
  if (a)
    fclose(a);
  if (b)
    fclose(b);
  printf("wrote %s %s\n", a ? "/tmp" : "-", b ? "../.." : "-");
  return 0;
}
