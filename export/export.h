/* Outputs made from the trace: the timeline (a sequence diagram rendered
 * through graphviz), a pcap capture and JSON lines.  Exporters read the
 * trace only, never live simulator state (../docs and DESIGN.md).
 */
#ifndef NL_EXPORT_H
#define NL_EXPORT_H

#include <glib.h>

G_BEGIN_DECLS

/* The error domain of every exporter. */
#define NL_EXPORT_ERROR (nl_export_error_quark())
GQuark nl_export_error_quark(void);

typedef enum {
  NL_EXPORT_ERROR_FORMAT, /* unknown output format (file extension) */
  NL_EXPORT_ERROR_RENDER, /* graphviz or libpcap refused */
  NL_EXPORT_ERROR_IO,     /* the file could not be written */
} NlExportError;

G_END_DECLS

#endif
