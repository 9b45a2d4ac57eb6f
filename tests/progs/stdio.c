/* Standard output as a program sees it, each way it can be written: whole
 * lines, lines in pieces, printf mixed with write(1, ...), puts and
 * putchar, conversions printf's fast formatter leaves to vsnprintf, a
 * line longer than the formatter's room, stdout redirected to a pipe and
 * back, and a last line without its newline.  The test reads the lines
 * recorded; the exit code says whether every return value was right. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int bad;
#define WANT(cond)                                                             \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "wrong: %s (line %d)\n", #cond, __LINE__);              \
      bad = 1;                                                                 \
    }                                                                          \
  } while (0)

static void at_exit_first(void) {
  printf("atexit: first registered\n");
}

static void at_exit_second(void) {
  printf("atexit: second registered\n");
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "atexit-return") == 0 ||
                   strcmp(argv[1], "atexit-exit") == 0)) {
    /* Handlers run at exit(), and at main's return, last registered
     * first; a process that registers none runs none (the other modes). */
    WANT(atexit(at_exit_first) == 0);
    WANT(atexit(at_exit_second) == 0);
    printf("atexit: main ends\n");
    if (strcmp(argv[1], "atexit-exit") == 0)
      exit(3);
    return 4;
  }
  if (argc > 1 && strcmp(argv[1], "null-format") == 0) {
    /* printf(NULL) crashes in natlab, before and after the format cache
     * (whose empty slots hold a NULL format). */
    const char *volatile f = NULL;
    printf("before\n");
    int (*print)(const char *, ...) = printf; /* no format check */
    print(f);
    printf("after\n");
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "null-puts") == 0) {
    const char *volatile f = NULL;
    printf("before\n");
    puts(f);
    printf("after\n");
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "unread") == 0) {
    /* Run where only lines starting "ice: " are kept (natlab run -q):
     * printf's return values, and which of its lines start so. */
    WANT(printf("plain %d %s\n", 42, "x") == 11);
    const char *volatile none = NULL;
    WANT(printf("nope %zd|%lu|%u|%x|%c|%s%%\n", (ssize_t)-123, 4567ul, 0u,
                255u, 'c', none) == 30);
    WANT(printf("nope %d %lld %zu %lx\n", 0, -9223372036854775807ll - 1,
                (size_t)18446744073709551615ull, 0ul) == 51);
    WANT(printf("not kept\nice: kept %d\n", 1) == 21);
    WANT(printf("not kept %s\n", "\nice: kept 2") == 22);
    WANT(printf("%s%c%s\n", "not kept", '\n', "ice: kept 3") == 21);
    WANT(printf("ice: kept %d\n", 4) == 12);
    WANT(printf("not kept %d\n", 5) == 11);
    WANT(printf("ice: ") == 5);
    WANT(printf("kept %d\n", 6) == 7); /* after a pending "ice: " */
    /* A string's newline past its first 16 bytes (found a vector at a
     * time). */
    WANT(printf("not kept %s\n", "past its first sixteen bytes\nice: kept 7") ==
         (int)strlen("not kept past its first sixteen bytes\nice: kept 7\n"));
    return bad;
  }
  WANT(printf("whole %d %s\n", 1, "line") == 13);
  WANT(printf("in ") == 3);
  WANT(printf("%s", "pieces") == 6);
  WANT(printf("\n") == 1);
  WANT(write(1, "write ", 6) == 6);
  WANT(printf("then printf\n") == 12);
  WANT(printf("printf then ") == 12);
  WANT(write(1, "write\n", 6) == 6);
  WANT(puts("puts") >= 0);
  WANT(putchar('c') == 'c');
  WANT(putchar('\n') == '\n');
  WANT(printf("two\nlines\n") == 10);
  /* Lines printf knows to be whole from the format and the arguments,
   * and those it does not: a newline in a string past its first 16 bytes,
   * or a character argument. */
  WANT(printf("split %s\n", "past sixteen bytes of its string\nits rest") ==
       (int)strlen("split past sixteen bytes of its string\nits rest\n"));
  WANT(printf("char%cnewline\n", '\n') == 13);
  WANT(printf("%s %s\n", "one line of", "two strings") == 24);
  WANT(printf("[%5d|%-3s|%.2s|%#x]\n", 42, "a", "abc", 255u) == 20);
  char big[700];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  WANT(printf("long %s end\n", big) == (int)(sizeof big - 1) + 10);
  WANT(fflush(stdout) == 0);
  fprintf(stderr, "to stderr %d\n", 2);
  /* stdout made a copy of stderr: printf's lines are stderr's. */
  int out = dup(1);
  WANT(out >= 0 && dup2(2, 1) == 1);
  WANT(printf("stdout on stderr %d\n", 3) == 19);
  WANT(dup2(out, 1) == 1);
  close(out);

  /* stdout redirected to a pipe: printf writes there, not to the lab's
   * capture, then back. */
  int saved = dup(1), p[2];
  WANT(saved >= 0 && pipe(p) == 0);
  WANT(dup2(p[1], 1) == 1);
  WANT(printf("into the pipe %d\n", 7) == 16);
  WANT(puts("and puts") >= 0);
  WANT(dup2(saved, 1) == 1);
  close(saved);
  close(p[1]);
  char got[64];
  ssize_t n = read(p[0], got, sizeof got - 1);
  WANT(n == 25);
  got[n > 0 ? n : 0] = '\0';
  WANT(strcmp(got, "into the pipe 7\nand puts\n") == 0);
  close(p[0]);
  WANT(write(1, "cut\0here\n", 9) == 9); /* a line with a NUL byte */
  printf("back %s", "on stdout\n");
  printf("no newline at the end");
  return bad;
}
