/* What the scenario says about the system its programs see: the time
 * zone, environment and descriptor limit of a host, and the environment
 * and working directory of a process (before it starts).  Everything else
 * a program can ask (host name, uname, ids, limits, locale...) follows from
 * these and natlab's documented defaults (sim/host/facts.c,
 * docs/posix-coverage.md).
 */
#ifndef NL_FACTS_H
#define NL_FACTS_H

#include <glib.h>

#include "sim/host/proc.h"
#include "sim/net/net.h"

G_BEGIN_DECLS

/* The host's zone, its /etc/localtime: a POSIX TZ rule or a named zone
 * (sim/core/tz.h).  Returns: FALSE (and changes nothing) when @zone cannot
 * be read. */
gboolean nl_facts_host_set_timezone(NlNode *node, const char *zone);

/* NAME=VALUE strings over natlab's default environment, for every process
 * later started on the host (a later NAME wins). */
void nl_facts_host_set_env(NlNode *node, const char *const *env);

/* RLIMIT_NOFILE's soft limit for processes later started on the host
 * (the hard limit is at least 4096, Linux's default). */
void nl_facts_host_set_nofile(NlNode *node, guint64 n);

/* NAME=VALUE strings over the environment @p starts with. */
void nl_facts_proc_set_env(NlProc *p, const char *const *env);

/* @p's working directory when it starts (absolute); "/" unless set. */
void nl_facts_proc_set_cwd(NlProc *p, const char *dir);

G_END_DECLS

#endif
