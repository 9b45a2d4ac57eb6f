/* The runner's half of the system facts (see runner-facts.h). */
#include "scenarios/runner/runner-facts.h"

#include "sim/host/facts.h"

/* (transfer full) a NULL-terminated copy of @a's strings (@a may be
 * NULL). */
static char **strv_of(const GPtrArray *a) {
  char **v = g_new0(char *, (a ? a->len : 0) + 1);
  for (guint i = 0; a && i < a->len; i++)
    v[i] = g_strdup(g_ptr_array_index(a, i));
  return v;
}

void nl__run_host_facts(NlNode *node, const NlScnNode *sn) {
  if (sn->kind != NL_SCN_NODE_HOST && sn->kind != NL_SCN_NODE_ROUTER)
    return;
  /* The loader checked the zone; it parses here too. */
  if (sn->timezone != NULL)
    nl_facts_host_set_timezone(node, sn->timezone);
  if (sn->nofile != 0)
    nl_facts_host_set_nofile(node, sn->nofile);
  char **env = sn->env->len > 0 ? strv_of(sn->env) : NULL;
  nl_facts_host_set_env(node, (const char *const *)env);
  g_strfreev(env);
}

void nl__run_proc_facts(NlProc *p, const NlScnRun *run, const char *home) {
  nl_facts_proc_set_cwd(p, run->cwd != NULL ? run->cwd : home);
  char **env = strv_of(run->env);
  nl_facts_proc_set_env(p, (const char *const *)env);
  g_strfreev(env);
}
