/* cwd DIR: changes to DIR and writes a file there by a relative name;
 * natlab's own output files must stay where natlab was started. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char buf[4096];
  printf("start %s\n", getcwd(buf, sizeof buf));
  if (argc < 2 || chdir(argv[1]) != 0) {
    perror("chdir");
    return 1;
  }
  printf("now %s\n", getcwd(buf, sizeof buf));
  FILE *f = fopen("made-by-program.txt", "w");
  if (f == NULL) {
    perror("fopen");
    return 1;
  }
  fputs("written from the program's working directory\n", f);
  fclose(f);
  return 0;
}
