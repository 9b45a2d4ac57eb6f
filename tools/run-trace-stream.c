/* natlab run --trace=FILE written as the run goes (see run-trace-stream.h). */
#include "tools/run-trace-stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lines are gathered and written this many bytes at a time. */
#define BLOCK (64u << 10)

struct NlTraceStream {
  char *path, *tmp;
  FILE *f;
  NlTraceText *text; /* the listener, once attached */
  GString *block; /* lines not yet written */
  gboolean done;
};

gboolean nl_trace_stream_possible(const char *path) {
  if (strcmp(path, "-") == 0)
    return FALSE;
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT;
  return S_ISREG(st.st_mode);
}

NlTraceStream *nl_trace_stream_new(const char *path, GError **error) {
  NlTraceStream *st = g_new0(NlTraceStream, 1);
  st->path = g_strdup(path);
  st->tmp = g_strdup_printf("%s.XXXXXX", path);
  int fd = mkstemp(st->tmp);
  if (fd < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "%s: %s", path, g_strerror(errno));
    nl_trace_stream_free(st);
    return NULL;
  }
  /* The mode fopen(path, "w") would give it. */
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0 || (st->f = fdopen(fd, "w")) == NULL) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "%s: %s", path, g_strerror(errno));
    close(fd);
    unlink(st->tmp);
    nl_trace_stream_free(st);
    return NULL;
  }
  /* FILE's own buffer would only be copied through. */
  setvbuf(st->f, NULL, _IONBF, 0);
  st->block = g_string_sized_new(BLOCK + 4096);
  return st;
}

/* A block of lines written out (nl_trace_listen_text's flush). */
static void on_block(void *data, GString *block) {
  NlTraceStream *st = data;
  fwrite(block->str, 1, block->len, st->f);
  g_string_truncate(block, 0);
}

void nl_trace_stream_attach(void *stream, NlTrace *t) {
  NlTraceStream *st = stream;
  /* Each record is formatted into the block, and the block written, on
   * the listener's own thread, off the simulation's core; the listener
   * stays on the trace, stopped when the stream is done. */
  st->text = nl_trace_listen_text_thread(t, st->block, BLOCK, on_block, st);
}

/* The listener ignores the records added from now on. */
static void stop(NlTraceStream *st) {
  st->done = TRUE;
  if (st->text != NULL)
    nl_trace_text_stop(st->text);
}

void nl_trace_stream_free(NlTraceStream *st) {
  if (st == NULL)
    return;
  g_return_if_fail(st->f == NULL);
  g_free(st->path);
  g_free(st->tmp);
  if (st->block)
    g_string_free(st->block, TRUE);
  g_free(st);
}

gboolean nl_trace_stream_finish(NlTraceStream *st, GError **error) {
  g_return_val_if_fail(!st->done, FALSE);
  stop(st);
  fwrite(st->block->str, 1, st->block->len, st->f);
  g_string_truncate(st->block, 0);
  gboolean ok = !ferror(st->f);
  ok = (fclose(st->f) == 0) && ok;
  st->f = NULL;
  if (!ok || rename(st->tmp, st->path) != 0) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: write failed",
                st->path);
    unlink(st->tmp);
    return FALSE;
  }
  return TRUE;
}

void nl_trace_stream_abandon(NlTraceStream *st) {
  if (st == NULL || st->done)
    return;
  stop(st);
  fclose(st->f);
  st->f = NULL;
  unlink(st->tmp);
}
