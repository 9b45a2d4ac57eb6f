/* A program whose constructor allocates: every process must start from
 * its own constructor's block, so the lab gives it a private copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *note;

__attribute__((constructor)) static void make_note(void) {
  note = malloc(16);
  if (note != NULL)
    strcpy(note, "fresh");
}

int main(int argc, char **argv) {
  if (note == NULL || argc < 2)
    return 2;
  printf("%s %s\n", argv[1], note);
  strcpy(note, "used");
  usleep(1000); /* the other processes run here */
  printf("%s %s\n", argv[1], note);
  return 0;
}
