/* JSON lines: every trace record as one JSON object per line, for scripts
 * and notebooks.  The schema is documented in docs/trace-jsonl.md.
 */
#ifndef NL_JSONL_H
#define NL_JSONL_H

#include <glib.h>

#include "export/export.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

/**
 * nl_jsonl_format: appends the JSON object of one record to @out, without
 * a newline.  @seq is the record's index in the trace.
 */
void nl_jsonl_format(const NlTrace *trace, guint64 seq,
                     const NlTraceRecord *rec, const guint8 *payload,
                     GString *out);

/**
 * nl_jsonl_write: writes every record of @trace, one JSON object a line,
 * to @path ("-" for stdout).
 * Returns: FALSE with @error set (NL_EXPORT_ERROR) if it cannot write.
 */
gboolean nl_jsonl_write(const NlTrace *trace, const char *path,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
