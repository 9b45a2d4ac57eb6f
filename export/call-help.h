/* What a lecture needs to say about a socket call: its C signature, the
 * Python equivalent the textbook uses, what it blocks on and the errors
 * to handle.  Shown in timeline tooltips on the call's box. */
#ifndef NL_CALL_HELP_H
#define NL_CALL_HELP_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;
  const char *signature;
  const char *python;
  const char *blocks; /* NULL when it never blocks */
  const char *errors;
  const char *nonblocking; /* what it does on an O_NONBLOCK socket, or NULL */
} NlCallHelp;

/* The help of every call, in the order a reference card lists them;
 * OUT: @n. */
const NlCallHelp *nl_call_help_all(gsize *n);
/* The help for the call named @name ("accept"), or NULL. */
const NlCallHelp *nl_call_help_named(const char *name);

/* The help for the call a CALL record's text starts with ("sendto(3, ...")
 * or NULL when there is none. */
const NlCallHelp *nl_call_help_for(const char *text, gsize len);

G_END_DECLS

#endif
