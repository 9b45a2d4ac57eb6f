/* natlab run --trace=FILE written as the run goes (run-trace-stream.c).
 *
 * When the text trace is the only output that reads packets and calls,
 * each record is formatted and written as it is made (a trace listener),
 * so the run keeps only what its reports need (NL_RUN_CHECK_KINDS) and its
 * memory does not grow with the trace.  The file is the one
 * nl_trace_write_text() writes after the run, byte for byte: every record
 * is heard in the order it is added, and formatted with the names and
 * packet decoder it would be formatted with later.  It is written to a
 * temporary file beside FILE and renamed to FILE when the run is done, so
 * a run that could not start leaves FILE as it was.  Only for a regular
 * file (or a new one): "-", devices such as /dev/null and symbolic links
 * are written after the run as before. */
#ifndef NL_RUN_TRACE_STREAM_H
#define NL_RUN_TRACE_STREAM_H

#include <glib.h>

#include "sim/core/trace.h"

G_BEGIN_DECLS

typedef struct NlTraceStream NlTraceStream;

/* Whether --trace=@path can be streamed. */
gboolean nl_trace_stream_possible(const char *path);
/* (transfer full) opens the temporary file beside @path. */
NlTraceStream *nl_trace_stream_new(const char *path, GError **error);
/* For NlRunOptions.trace_ready: listens to @t from now on. */
void nl_trace_stream_attach(void *stream, NlTrace *t);
/* Stops writing (later records are ignored), closes the file and gives
 * it its name. */
gboolean nl_trace_stream_finish(NlTraceStream *st, GError **error);
/* Stops writing and removes the temporary file, unless finished.  NULL:
 * nothing. */
void nl_trace_stream_abandon(NlTraceStream *st);
/* Frees @st (finished or abandoned) once its trace is gone: the listener
 * stays on the trace until then.  NULL: nothing. */
void nl_trace_stream_free(NlTraceStream *st);

G_END_DECLS

#endif
