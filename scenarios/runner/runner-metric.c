/* Metrics from a run's trace (see runner-metric.h): the text form, its
 * checks against the scenario, and one reader of the trace per kind. */
#include "scenarios/runner/runner-metric.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/runner/runner-path.h"
#include "sim/net/wire.h"

G_DEFINE_QUARK(nl - run - metric - error - quark, nl_run_metric_error)

struct NlRunMetric {
  char *spec;
  char *label;
  char *unit;
  NlRunMetricKind kind;
  NlRunMetricAgg agg;
  char *a;    /* FROM, HOST, NETWORK or A */
  char *b;    /* TO, NODE or B; NULL when not given */
  char *who;  /* "HOST/PROG" for line, exit, stdout, stderr */
  guint port; /* 0: any */
  GRegex *re;
};

static const char *const kind_names[] = {
#define NL_X(e, s, u) s,
    NL_RUN_METRIC_KIND_MAP(NL_X)
#undef NL_X
};
static const char *const kind_units[] = {
#define NL_X(e, s, u) u,
    NL_RUN_METRIC_KIND_MAP(NL_X)
#undef NL_X
};
static const char *const agg_names[] = {"mean", "first", "last", "min",
                                        "max",  "sum",   "count"};

/* ---- the text form ---- */

static gboolean spec_error(GError **error, gsize col, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static gboolean spec_error(GError **error, gsize col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, NL_RUN_METRIC_ERROR, NL_RUN_METRIC_ERROR_SPEC,
              "column %" G_GSIZE_FORMAT ": %s", col, msg);
  g_free(msg);
  return FALSE;
}

/* Edit distance, for "did you mean". */
static guint distance(const char *a, const char *b) {
  gsize la = strlen(a), lb = strlen(b);
  guint *row = g_new(guint, lb + 1);
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint)j;
  for (gsize i = 1; i <= la; i++) {
    guint diag = row[0];
    row[0] = (guint)i;
    for (gsize j = 1; j <= lb; j++) {
      guint up = row[j];
      guint cost =
          g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
      row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
      diag = up;
    }
  }
  guint d = row[lb];
  g_free(row);
  return d;
}

/* The candidate nearest @word, when it is near enough to be a typo. */
static const char *nearest(const char *word, const char *const *cands,
                           gsize n) {
  const char *best = NULL;
  guint bd = G_MAXUINT;
  for (gsize i = 0; i < n; i++) {
    guint d = distance(word, cands[i]);
    if (d < bd) {
      bd = d;
      best = cands[i];
    }
  }
  return bd <= MAX(1u, (guint)strlen(word) / 3) ? best : NULL;
}

static gboolean is_name_char(char c) {
  return g_ascii_isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* A node of @s called @name, or an error at @col naming the nearest. */
static gboolean check_node(const NlScenario *s, const char *name, gsize col,
                           GError **error) {
  if (name[0] == '\0')
    return spec_error(error, col, "expected a node's name");
  if (s == NULL || nl_scenario_find_node(s, name) != NULL)
    return TRUE;
  GPtrArray *names = g_ptr_array_new();
  for (guint i = 0; i < s->nodes->len; i++)
    g_ptr_array_add(names, ((NlScnNode *)g_ptr_array_index(s->nodes, i))->name);
  const char *near =
      nearest(name, (const char *const *)names->pdata, names->len);
  gboolean r;
  if (near != NULL)
    r = spec_error(error, col, "%s has no node \"%s\"; did you mean \"%s\"?",
                   s->path, name, near);
  else
    r = spec_error(error, col, "%s has no node \"%s\"", s->path, name);
  g_ptr_array_free(names, TRUE);
  return r;
}

static gboolean check_network(const NlScenario *s, const char *name, gsize col,
                              GError **error) {
  if (name[0] == '\0')
    return spec_error(error, col, "expected a network's name");
  if (s == NULL || nl_scenario_find_network(s, name) != NULL)
    return TRUE;
  GPtrArray *names = g_ptr_array_new();
  for (guint i = 0; i < s->networks->len; i++)
    g_ptr_array_add(names,
                    ((NlScnNetwork *)g_ptr_array_index(s->networks, i))->name);
  const char *near =
      nearest(name, (const char *const *)names->pdata, names->len);
  gboolean r;
  if (near != NULL)
    r = spec_error(error, col, "%s has no network \"%s\"; did you mean \"%s\"?",
                   s->path, name, near);
  else
    r = spec_error(error, col, "%s has no network \"%s\"", s->path, name);
  g_ptr_array_free(names, TRUE);
  return r;
}

/* HOST/PROG: a program the scenario runs. */
static gboolean check_program(const NlScenario *s, const char *who, gsize col,
                              GError **error) {
  const char *slash = strchr(who, '/');
  if (slash == NULL || slash == who || slash[1] == '\0')
    return spec_error(error, col,
                      "expected HOST/PROGRAM (the program's name= or its "
                      "file's base name), not \"%s\"",
                      who);
  char *host = g_strndup(who, (gsize)(slash - who));
  gboolean ok = check_node(s, host, col, error);
  if (ok && s != NULL) {
    const NlScnNode *n = nl_scenario_find_node(s, host);
    if (nl_scenario_find_run(n, slash + 1) == NULL) {
      GPtrArray *names = g_ptr_array_new();
      for (guint i = 0; i < n->runs->len; i++)
        g_ptr_array_add(names,
                        ((NlScnRun *)g_ptr_array_index(n->runs, i))->name);
      const char *near =
          nearest(slash + 1, (const char *const *)names->pdata, names->len);
      if (near != NULL)
        ok = spec_error(error, col + (gsize)(slash - who) + 1,
                        "%s runs no program \"%s\"; did you mean \"%s\"?", host,
                        slash + 1, near);
      else if (names->len == 0)
        ok = spec_error(error, col + (gsize)(slash - who) + 1,
                        "%s runs no program", host);
      else {
        g_ptr_array_add(names, NULL);
        char *all = g_strjoinv(", ", (char **)names->pdata);
        ok = spec_error(error, col + (gsize)(slash - who) + 1,
                        "%s runs no program \"%s\" (it runs %s)", host,
                        slash + 1, all);
        g_free(all);
      }
      g_ptr_array_free(names, TRUE);
    }
  }
  g_free(host);
  return ok;
}

static gboolean parse_port(const char *word, gsize col, guint *out,
                           GError **error) {
  char *end = NULL;
  guint64 v = g_ascii_strtoull(word, &end, 10);
  if (word[0] == '\0' || !g_ascii_isdigit(word[0]) || *end != '\0' || v == 0 ||
      v > 65535)
    return spec_error(error, col, "expected a port from 1 to 65535, not \"%s\"",
                      word);
  *out = (guint)v;
  return TRUE;
}

void nl_run_metric_free(NlRunMetric *m) {
  if (m == NULL)
    return;
  g_free(m->spec);
  g_free(m->label);
  g_free(m->unit);
  g_free(m->a);
  g_free(m->b);
  g_free(m->who);
  if (m->re)
    g_regex_unref(m->re);
  g_free(m);
}

/* The arguments after KIND:, split at ':' into at most @max words (the
 * last keeps its colons); @cols gets each word's column. */
static char **split_args(const char *args, gsize col0, guint max, gsize *cols) {
  GPtrArray *w = g_ptr_array_new();
  const char *p = args;
  while (TRUE) {
    const char *c = w->len + 1 < max ? strchr(p, ':') : NULL;
    cols[w->len] = col0 + (gsize)(p - args);
    if (c == NULL) {
      g_ptr_array_add(w, g_strdup(p));
      break;
    }
    g_ptr_array_add(w, g_strndup(p, (gsize)(c - p)));
    p = c + 1;
  }
  g_ptr_array_add(w, NULL);
  return (char **)g_ptr_array_free(w, FALSE);
}

static const char *usage_of(NlRunMetricKind k) {
  switch (k) {
    case NL_RUN_METRIC_GOODPUT:
      return "goodput:FROM:TO[:PORT]";
    case NL_RUN_METRIC_RETRANSMITS:
      return "retransmits:FROM:TO[:PORT]";
    case NL_RUN_METRIC_SENT:
      return "sent:HOST[:PORT]";
    case NL_RUN_METRIC_DELIVERED:
      return "delivered:HOST[:PORT]";
    case NL_RUN_METRIC_LINE:
      return "line:HOST/PROGRAM:REGEX";
    case NL_RUN_METRIC_EXIT:
      return "exit:HOST/PROGRAM";
    case NL_RUN_METRIC_BYTES:
      return "bytes:NETWORK[:NODE]";
    case NL_RUN_METRIC_PACKETS:
      return "packets:NETWORK[:NODE]";
    case NL_RUN_METRIC_PATH_BYTES:
      return "path-bytes:A:B";
    case NL_RUN_METRIC_STDOUT:
      return "stdout[.AGG]:HOST/PROGRAM:REGEX";
    case NL_RUN_METRIC_STDERR:
      return "stderr[.AGG]:HOST/PROGRAM:REGEX";
    default:
      return "?";
  }
}

NlRunMetric *nl_run_metric_parse(const char *spec, const NlScenario *s,
                                 GError **error) {
  g_return_val_if_fail(spec != NULL, NULL);
  NlRunMetric *m = g_new0(NlRunMetric, 1);
  m->spec = g_strdup(spec);
  const char *p = spec;
  /* LABEL[UNIT]= before the kind's colon. */
  const char *colon = strchr(spec, ':');
  const char *eq = strchr(spec, '=');
  if (eq != NULL && (colon == NULL || eq < colon)) {
    const char *q = spec;
    while (q < eq && is_name_char(*q))
      q++;
    if (q == spec || !g_ascii_isalpha(spec[0])) {
      spec_error(error, 1,
                 "a label starts with a letter and holds letters, digits, "
                 "'-', '_' and '.'");
      goto fail;
    }
    m->label = g_strndup(spec, (gsize)(q - spec));
    if (*q == '[') {
      const char *close = memchr(q, ']', (gsize)(eq - q));
      if (close == NULL || close + 1 != eq || close == q + 1) {
        spec_error(error, (gsize)(q - spec) + 1,
                   "expected LABEL[UNIT]= (a unit in brackets, then '=')");
        goto fail;
      }
      m->unit = g_strndup(q + 1, (gsize)(close - q - 1));
    } else if (q != eq) {
      spec_error(error, (gsize)(q - spec) + 1,
                 "a label starts with a letter and holds letters, digits, "
                 "'-', '_' and '.'");
      goto fail;
    }
    p = eq + 1;
  }
  gsize kcol = (gsize)(p - spec) + 1;
  const char *kend = p;
  while (*kend && *kend != ':')
    kend++;
  char *kword = g_strndup(p, (gsize)(kend - p));
  char *dot = strchr(kword, '.');
  if (dot != NULL)
    *dot = '\0';
  gsize k = 0;
  while (k < G_N_ELEMENTS(kind_names) && strcmp(kword, kind_names[k]) != 0)
    k++;
  if (k == G_N_ELEMENTS(kind_names)) {
    const char *near = nearest(kword, kind_names, G_N_ELEMENTS(kind_names));
    if (kword[0] == '\0')
      spec_error(error, kcol,
                 "expected [LABEL=]KIND:ARGUMENTS, like goodput:client:server");
    else if (near != NULL)
      spec_error(error, kcol, "unknown metric \"%s\"; did you mean \"%s\"?",
                 kword, near);
    else
      spec_error(error, kcol,
                 "unknown metric \"%s\" (goodput, retransmits, sent, "
                 "delivered, line, exit, bytes, packets, path-bytes, stdout, "
                 "stderr)",
                 kword);
    g_free(kword);
    goto fail;
  }
  m->kind = (NlRunMetricKind)k;
  if (dot != NULL) {
    gsize acol = kcol + (gsize)(dot - kword) + 1;
    if (m->kind != NL_RUN_METRIC_STDOUT && m->kind != NL_RUN_METRIC_STDERR) {
      spec_error(error, acol - 1, "only stdout and stderr take .AGGREGATE");
      g_free(kword);
      goto fail;
    }
    gsize a = 0;
    while (a < G_N_ELEMENTS(agg_names) && strcmp(dot + 1, agg_names[a]) != 0)
      a++;
    if (a == G_N_ELEMENTS(agg_names)) {
      spec_error(error, acol,
                 "unknown aggregate \"%s\" (mean, first, last, min, max, sum, "
                 "count)",
                 dot + 1);
      g_free(kword);
      goto fail;
    }
    m->agg = (NlRunMetricAgg)a;
  }
  g_free(kword);
  if (m->label == NULL)
    m->label = g_strdup(kind_names[m->kind]);
  if (m->unit == NULL)
    m->unit = g_strdup(m->kind == NL_RUN_METRIC_STDOUT ||
                               m->kind == NL_RUN_METRIC_STDERR
                           ? (m->agg == NL_RUN_METRIC_COUNT ? "lines" : "")
                           : kind_units[m->kind]);
  if (*kend != ':') {
    spec_error(error, (gsize)(kend - spec) + 1, "expected %s",
               usage_of(m->kind));
    goto fail;
  }
  gsize cols[4];
  guint max = 3;
  gboolean regex = m->kind == NL_RUN_METRIC_LINE ||
                   m->kind == NL_RUN_METRIC_STDOUT ||
                   m->kind == NL_RUN_METRIC_STDERR;
  if (regex)
    max = 2;
  char **w = split_args(kend + 1, (gsize)(kend - spec) + 2, max, cols);
  guint n = g_strv_length(w);
  gboolean ok = TRUE;
  switch (m->kind) {
    case NL_RUN_METRIC_GOODPUT:
    case NL_RUN_METRIC_RETRANSMITS:
    case NL_RUN_METRIC_PATH_BYTES:
      if (n < 2 || (m->kind == NL_RUN_METRIC_PATH_BYTES && n > 2)) {
        ok = spec_error(error, cols[n - 1], "expected %s", usage_of(m->kind));
        break;
      }
      ok = check_node(s, w[0], cols[0], error) &&
           check_node(s, w[1], cols[1], error);
      if (ok && strcmp(w[0], w[1]) == 0)
        ok = spec_error(error, cols[1], "expected two different nodes");
      if (ok && n == 3)
        ok = parse_port(w[2], cols[2], &m->port, error);
      m->a = g_strdup(w[0]);
      m->b = g_strdup(w[1]);
      break;
    case NL_RUN_METRIC_SENT:
    case NL_RUN_METRIC_DELIVERED:
      if (n > 2) {
        ok = spec_error(error, cols[2], "expected %s", usage_of(m->kind));
        break;
      }
      ok = check_node(s, w[0], cols[0], error);
      if (ok && s != NULL &&
          nl_scenario_find_node(s, w[0])->kind != NL_SCN_NODE_HOST)
        ok = spec_error(error, cols[0],
                        "%s is not a host (%s counts the datagrams a host's "
                        "programs %s)",
                        w[0], kind_names[m->kind],
                        m->kind == NL_RUN_METRIC_SENT ? "send" : "receive");
      if (ok && n == 2)
        ok = parse_port(w[1], cols[1], &m->port, error);
      m->a = g_strdup(w[0]);
      break;
    case NL_RUN_METRIC_BYTES:
    case NL_RUN_METRIC_PACKETS:
      if (n > 2) {
        ok = spec_error(error, cols[2], "expected %s", usage_of(m->kind));
        break;
      }
      ok = check_network(s, w[0], cols[0], error);
      if (ok && n == 2) {
        ok = check_node(s, w[1], cols[1], error);
        if (ok && s != NULL &&
            nl_scenario_find_link(nl_scenario_find_node(s, w[1]), w[0]) == NULL)
          ok = spec_error(error, cols[1], "%s has no link on %s", w[1], w[0]);
        m->b = g_strdup(w[1]);
      }
      m->a = g_strdup(w[0]);
      break;
    case NL_RUN_METRIC_EXIT:
      if (n != 1) {
        ok = spec_error(error, cols[1], "expected %s", usage_of(m->kind));
        break;
      }
      ok = check_program(s, w[0], cols[0], error);
      m->who = g_strdup(w[0]);
      break;
    default: /* LINE, STDOUT, STDERR */
      if (n != 2 || w[1][0] == '\0') {
        ok = spec_error(error, n == 2 ? cols[1] : (gsize)strlen(spec) + 1,
                        "expected %s", usage_of(m->kind));
        break;
      }
      ok = check_program(s, w[0], cols[0], error);
      m->who = g_strdup(w[0]);
      if (ok) {
        GError *re_err = NULL;
        m->re = g_regex_new(w[1], G_REGEX_OPTIMIZE, 0, &re_err);
        if (m->re == NULL) {
          ok = spec_error(error, cols[1], "not a regular expression: %s",
                          re_err->message);
          g_error_free(re_err);
        }
      }
      break;
  }
  g_strfreev(w);
  if (!ok)
    goto fail;
  return m;
fail:
  nl_run_metric_free(m);
  return NULL;
}

const char *nl_run_metric_label(const NlRunMetric *m) {
  return m->label;
}

const char *nl_run_metric_unit(const NlRunMetric *m) {
  return m->unit;
}

NlRunMetricKind nl_run_metric_kind(const NlRunMetric *m) {
  return m->kind;
}

const char *nl_run_metric_spec(const NlRunMetric *m) {
  return m->spec;
}

guint64 nl_run_metric_trace_kinds(const NlRunMetric *m) {
  const guint64 send = 1u << NL_TRACE_PKT_SEND,
                deliver = 1u << NL_TRACE_PKT_DELIVER,
                out = (1u << NL_TRACE_PROC) | (1u << NL_TRACE_STDOUT),
                err = (1u << NL_TRACE_PROC) | (1u << NL_TRACE_STDERR);
  switch (m->kind) {
    case NL_RUN_METRIC_GOODPUT:
    case NL_RUN_METRIC_RETRANSMITS:
      return send | deliver;
    case NL_RUN_METRIC_SENT:
    case NL_RUN_METRIC_BYTES:
    case NL_RUN_METRIC_PACKETS:
      return send;
    case NL_RUN_METRIC_DELIVERED:
    case NL_RUN_METRIC_PATH_BYTES:
      return deliver;
    case NL_RUN_METRIC_STDERR:
      return err;
    default:
      return out;
  }
}

/* ---- TCP flows ---- */

typedef struct {
  guint32 src, dst;
  guint16 sport, dport;
} ConnKey;

static guint conn_hash(gconstpointer p) {
  const ConnKey *k = p;
  return k->src * 2654435761u ^ k->dst * 40503u ^
         ((guint)k->sport << 16 | k->dport);
}

static gboolean conn_equal(gconstpointer a, gconstpointer b) {
  const ConnKey *x = a, *y = b;
  return x->src == y->src && x->dst == y->dst && x->sport == y->sport &&
         x->dport == y->dport;
}

typedef struct {
  ConnKey key;
  gboolean have_isn; /* sender: its SYN seen; receiver: the peer's */
  guint32 isn;
  /* the sender's side (FROM) */
  gint64 snd_max; /* highest data offset sent + 1 */
  NlTime first_data;
  guint retransmits;
  /* the receiver's side (TO) */
  gint64 rcv_nxt;  /* bytes received in order */
  GArray *ooo;     /* gint64 pairs [start, end) received out of order */
  NlTime last_adv; /* when rcv_nxt last moved */
} Conn;

static void conn_free(gpointer p) {
  Conn *c = p;
  if (c->ooo)
    g_array_free(c->ooo, TRUE);
  g_free(c);
}

/* An offset in the stream from a sequence number: 32-bit wrap undone
 * near @ref. */
static gint64 unwrap(guint32 seq, guint32 isn, gint64 ref) {
  guint32 rel = seq - (isn + 1);
  return ref + (gint32)(rel - (guint32)ref);
}

static Conn *conn_get(GHashTable *h, GPtrArray *order, const ConnKey *k) {
  Conn *c = g_hash_table_lookup(h, k);
  if (c == NULL) {
    c = g_new0(Conn, 1);
    c->key = *k;
    c->first_data = NL_TIME_NEVER;
    c->last_adv = NL_TIME_NEVER;
    g_hash_table_insert(h, &c->key, c);
    g_ptr_array_add(order, c);
  }
  return c;
}

static void receive(Conn *c, gint64 off, gint64 end, NlTime when) {
  if (end <= c->rcv_nxt)
    return;
  if (off > c->rcv_nxt) {
    if (c->ooo == NULL)
      c->ooo = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_array_append_val(c->ooo, off);
    g_array_append_val(c->ooo, end);
    return;
  }
  c->rcv_nxt = end;
  c->last_adv = when;
  gboolean moved = TRUE;
  while (moved && c->ooo != NULL) {
    moved = FALSE;
    for (guint i = 0; i + 1 < c->ooo->len; i += 2) {
      gint64 s = g_array_index(c->ooo, gint64, i),
             e = g_array_index(c->ooo, gint64, i + 1);
      if (s <= c->rcv_nxt) {
        c->rcv_nxt = MAX(c->rcv_nxt, e);
        g_array_remove_range(c->ooo, i, 2);
        moved = TRUE;
        break;
      }
    }
  }
}

/* Reads a TCP segment: FALSE when @p is not one. */
static gboolean tcp_segment(const guint8 *p, guint32 len, ConnKey *k,
                            guint32 *seq, guint8 *flags, guint32 *plen) {
  NlIp4Header ip;
  if (nl_ip4_parse(p, len, &ip) != NULL || ip.proto != NL_IPPROTO_TCP ||
      ip.mf || ip.frag_offset != 0 || ip.total_len > len ||
      ip.total_len < ip.ihl_bytes + NL_TCP_HDR_LEN)
    return FALSE;
  const guint8 *t = p + ip.ihl_bytes;
  gsize hl = (gsize)(t[12] >> 4) * 4;
  if (hl < NL_TCP_HDR_LEN || ip.ihl_bytes + hl > ip.total_len)
    return FALSE;
  k->src = ip.src;
  k->dst = ip.dst;
  k->sport = nl_wire_get16(t);
  k->dport = nl_wire_get16(t + 2);
  *seq = nl_wire_get32(t + 4);
  *flags = t[13];
  *plen = ip.total_len - ip.ihl_bytes - (guint32)hl;
  return TRUE;
}

static double eval_tcp(const NlRunMetric *m, NlTrace *t) {
  guint32 from = nl_trace_intern(t, m->a), to = nl_trace_intern(t, m->b);
  GHashTable *snd = g_hash_table_new(conn_hash, conn_equal);
  GHashTable *rcv = g_hash_table_new(conn_hash, conn_equal);
  GPtrArray *snd_all = g_ptr_array_new_with_free_func(conn_free);
  GPtrArray *rcv_all = g_ptr_array_new_with_free_func(conn_free);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    gboolean at_from = rec->kind == NL_TRACE_PKT_SEND && rec->node == from;
    gboolean at_to = rec->kind == NL_TRACE_PKT_DELIVER && rec->node == to;
    ConnKey k;
    guint32 seq, plen;
    guint8 flags;
    if ((!at_from && !at_to) ||
        !tcp_segment(p, rec->len, &k, &seq, &flags, &plen))
      continue;
    Conn *c = conn_get(at_from ? snd : rcv, at_from ? snd_all : rcv_all, &k);
    if (flags & NL_TCP_SYN) {
      c->isn = seq;
      c->have_isn = TRUE;
      continue;
    }
    if (plen == 0 || !c->have_isn)
      continue;
    if (at_from) {
      gint64 off = unwrap(seq, c->isn, c->snd_max);
      if (off < c->snd_max)
        c->retransmits++;
      c->snd_max = MAX(c->snd_max, off + plen);
      if (c->first_data == NL_TIME_NEVER)
        c->first_data = rec->time;
    } else {
      gint64 off = unwrap(seq, c->isn, c->rcv_nxt);
      receive(c, off, off + plen, rec->time);
    }
  }
  /* Each of FROM's connections with the receiver that saw its ISN. */
  gboolean any = FALSE;
  guint retransmits = 0;
  gint64 bytes = 0;
  NlTime first = NL_TIME_NEVER, last = 0;
  for (guint i = 0; i < snd_all->len; i++) {
    const Conn *c = g_ptr_array_index(snd_all, i);
    if (!c->have_isn ||
        (m->port != 0 && c->key.sport != m->port && c->key.dport != m->port))
      continue;
    for (guint j = 0; j < rcv_all->len; j++) {
      const Conn *r = g_ptr_array_index(rcv_all, j);
      if (!r->have_isn || r->isn != c->isn)
        continue;
      any = TRUE;
      retransmits += c->retransmits;
      bytes += r->rcv_nxt;
      if (r->rcv_nxt > 0) {
        first = MIN(first, c->first_data);
        last = MAX(last, r->last_adv);
      }
      break;
    }
  }
  g_hash_table_destroy(snd);
  g_hash_table_destroy(rcv);
  g_ptr_array_unref(snd_all);
  g_ptr_array_unref(rcv_all);
  if (!any)
    return NAN;
  if (m->kind == NL_RUN_METRIC_RETRANSMITS)
    return retransmits;
  if (bytes == 0 || first == NL_TIME_NEVER || last <= first)
    return NAN;
  return (double)bytes * 8.0 / ((double)(last - first) / 1e9) / 1e6;
}

/* ---- UDP datagrams ---- */

static gboolean owns(const NlScnNode *n, guint32 addr) {
  for (guint i = 0; i < n->links->len; i++) {
    const NlScnLink *l = g_ptr_array_index(n->links, i);
    for (guint j = 0; j < l->addrs->len; j++) {
      const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, j);
      if (a->family == 4 && nl_scn_addr_ip4(a) == addr)
        return TRUE;
    }
  }
  return FALSE;
}

static double eval_udp(const NlRunMetric *m, NlTrace *t, const NlScenario *s) {
  guint32 node = nl_trace_intern(t, m->a);
  const NlScnNode *sn = s ? nl_scenario_find_node(s, m->a) : NULL;
  gboolean sent = m->kind == NL_RUN_METRIC_SENT;
  guint64 n = 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->node != node ||
        rec->kind != (sent ? NL_TRACE_PKT_SEND : NL_TRACE_PKT_DELIVER))
      continue;
    NlIp4Header ip;
    if (nl_ip4_parse(p, rec->len, &ip) != NULL || ip.proto != NL_IPPROTO_UDP ||
        ip.frag_offset != 0 || ip.total_len > rec->len ||
        ip.total_len < ip.ihl_bytes + NL_UDP_HDR_LEN)
      continue;
    /* Sent: from one of its own addresses (not forwarded through it). */
    if (sent && sn != NULL && !owns(sn, ip.src))
      continue;
    if (m->port != 0 && nl_wire_get16(p + ip.ihl_bytes + 2) != m->port)
      continue;
    n++;
  }
  return (double)n;
}

/* ---- bytes on a network ---- */

static double eval_wire(const NlRunMetric *m, NlTrace *t, const NlScenario *s) {
  guint32 only = m->b ? nl_trace_intern(t, m->b) : 0;
  /* (node, peer) hop → on the network or not, as the scenario's links
   * say: the hop crosses a network both ends link to. */
  GHashTable *on = g_hash_table_new(g_int64_hash, g_int64_equal);
  GPtrArray *store = g_ptr_array_new_with_free_func(g_free);
  guint64 bytes = 0, packets = 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_PKT_SEND)
      continue;
    if (only != 0 && rec->node != only && rec->peer != only)
      continue;
    gint64 key = ((gint64)rec->node << 32) | rec->peer;
    gpointer v = g_hash_table_lookup(on, &key);
    if (v == NULL) {
      const NlScnNode *a =
          s ? nl_scenario_find_node(s, nl_trace_name(t, rec->node)) : NULL;
      const NlScnNode *b =
          s ? nl_scenario_find_node(s, nl_trace_name(t, rec->peer)) : NULL;
      gboolean yes = a != NULL && b != NULL &&
                     nl_scenario_find_link(a, m->a) != NULL &&
                     nl_scenario_find_link(b, m->a) != NULL;
      gint64 *k = g_new(gint64, 1);
      *k = key;
      g_ptr_array_add(store, k);
      v = GINT_TO_POINTER(yes ? 2 : 1);
      g_hash_table_insert(on, k, v);
    }
    if (GPOINTER_TO_INT(v) != 2)
      continue;
    bytes += rec->len;
    packets++;
  }
  g_hash_table_destroy(on);
  g_ptr_array_unref(store);
  return (double)(m->kind == NL_RUN_METRIC_BYTES ? bytes : packets);
}

/* ---- program output ---- */

static double eval_output(const NlRunMetric *m, NlTrace *t, GError **error) {
  guint32 who = nl_trace_intern(t, m->who);
  NlTraceKind want =
      m->kind == NL_RUN_METRIC_STDERR ? NL_TRACE_STDERR : NL_TRACE_STDOUT;
  NlTime start = NL_TIME_NEVER;
  guint n = 0;
  double acc = 0, first = NAN, last = NAN;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->peer != who)
      continue;
    if (rec->kind == NL_TRACE_PROC) {
      if (rec->len >= 6 && memcmp(p, "start ", 6) == 0)
        start = rec->time;
      else if (m->kind == NL_RUN_METRIC_EXIT && rec->len >= 5 &&
               memcmp(p, "exit ", 5) == 0 && start != NL_TIME_NEVER)
        return (double)(rec->time - start) / 1e9;
      continue;
    }
    if (rec->kind != want || m->re == NULL)
      continue;
    char *line = g_strndup((const char *)p, rec->len);
    GMatchInfo *mi = NULL;
    gboolean hit = g_regex_match(m->re, line, 0, &mi);
    if (hit && m->kind == NL_RUN_METRIC_LINE) {
      g_match_info_free(mi);
      g_free(line);
      return start == NL_TIME_NEVER ? NAN : (double)(rec->time - start) / 1e9;
    }
    if (hit && m->agg != NL_RUN_METRIC_COUNT) {
      int group = g_regex_get_capture_count(m->re) > 0 ? 1 : 0;
      char *text = g_match_info_fetch(mi, group);
      char *end = NULL;
      double v = text && text[0] ? g_ascii_strtod(text, &end) : NAN;
      if (text == NULL || text[0] == '\0' || *end != '\0' || !isfinite(v)) {
        char tb[NL_TIME_STRLEN];
        g_set_error(error, NL_RUN_METRIC_ERROR, NL_RUN_METRIC_ERROR_VALUE,
                    "%s: at %s %s printed \"%s\": the pattern captured "
                    "\"%s\", not a number",
                    m->spec, nl_time_to_string(rec->time, tb), m->who, line,
                    text ? text : "");
        g_free(text);
        g_match_info_free(mi);
        g_free(line);
        return NAN;
      }
      g_free(text);
      if (n == 0) {
        first = v;
        acc =
            m->agg == NL_RUN_METRIC_MIN || m->agg == NL_RUN_METRIC_MAX ? v : 0;
      }
      last = v;
      switch (m->agg) {
        case NL_RUN_METRIC_MIN:
          acc = MIN(acc, v);
          break;
        case NL_RUN_METRIC_MAX:
          acc = MAX(acc, v);
          break;
        case NL_RUN_METRIC_MEAN:
        case NL_RUN_METRIC_SUM:
          acc += v;
          break;
        default:
          break;
      }
    }
    if (hit)
      n++;
    g_match_info_free(mi);
    g_free(line);
  }
  if (m->kind == NL_RUN_METRIC_LINE || m->kind == NL_RUN_METRIC_EXIT)
    return NAN;
  if (m->agg == NL_RUN_METRIC_COUNT)
    return n;
  if (n == 0)
    return NAN;
  switch (m->agg) {
    case NL_RUN_METRIC_MEAN:
      return acc / n;
    case NL_RUN_METRIC_FIRST:
      return first;
    case NL_RUN_METRIC_LAST:
      return last;
    default:
      return acc;
  }
}

gboolean nl_run_metric_eval_trace(const NlRunMetric *m, NlTrace *t,
                                  const NlScenario *s, double *out,
                                  GError **error) {
  g_return_val_if_fail(m != NULL && t != NULL && out != NULL, FALSE);
  GError *err = NULL;
  switch (m->kind) {
    case NL_RUN_METRIC_GOODPUT:
    case NL_RUN_METRIC_RETRANSMITS:
      *out = eval_tcp(m, t);
      break;
    case NL_RUN_METRIC_SENT:
    case NL_RUN_METRIC_DELIVERED:
      *out = eval_udp(m, t, s);
      break;
    case NL_RUN_METRIC_BYTES:
    case NL_RUN_METRIC_PACKETS:
      *out = eval_wire(m, t, s);
      break;
    case NL_RUN_METRIC_PATH_BYTES: {
      NlRunPathBytes pb = {0};
      if (s != NULL)
        nl__run_path_bytes_in(s, t, m->a, m->b, &pb);
      *out = (double)(pb.direct_bytes + pb.relayed_bytes);
      break;
    }
    default:
      *out = eval_output(m, t, &err);
      break;
  }
  if (err != NULL) {
    g_propagate_error(error, err);
    return FALSE;
  }
  return TRUE;
}

gboolean nl_run_metric_eval(const NlRunMetric *m, NlRun *r, double *out,
                            GError **error) {
  return nl_run_metric_eval_trace(m, nl_run_trace(r), nl__run_scenario(r), out,
                                  error);
}
