/* Reads its standard input through stdio -- getc, ungetc, fgets -- while
 * other processes of the same program read theirs: what one pushes back
 * or reads ahead must stay its own.  Prints "got LINE" until "end". */
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[256];
  for (;;) {
    int c = getc(stdin); /* blocks until a line is typed */
    if (c == EOF)
      return 1;
    ungetc(c, stdin);
    if (fgets(line, sizeof line, stdin) == NULL)
      return 1;
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, "end") == 0)
      return 0;
    printf("got %s\n", line);
  }
}
