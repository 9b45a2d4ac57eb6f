/* Hostile: closes its standard output and error, descriptors and streams
 * (in-process, they could be the grader's own), then writes to them. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  fclose(stdout);
  fclose(stderr);
  close(1);
  close(2);
  printf("after fclose\n");
  write(1, "raw write to 1\n", 15);
  return 3;
}
