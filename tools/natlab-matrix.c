/* natlab matrix: ICE traversal outcomes for every pair of NAT types.
 *
 *   natlab matrix [--turn] [--nat NAME=FIELDS]... [--format text|csv|svg]
 *                 [-o FILE] [--jobs N] [--seed N]
 *
 * Every cell is a simulation: the textbook's topology (Peer A 10.0.0.5
 * behind NAT-A 203.0.113.1, Peer B 192.168.1.10 behind NAT-B
 * 198.51.100.1, a STUN server, a signaling service and, with --turn, a
 * TURN relay) with peer A behind the row's NAT type and peer B behind the
 * column's, two ice-peer programs connecting and exchanging 3 datagrams
 * of 100 bytes each way.  The outcome is read from the trace: the pairs
 * the two agents reported (direct, relayed, or failed), the time from the
 * start of the later peer until both had selected a pair, and the bytes
 * of the data on the wire (nl_run_path_bytes: once per leg, so a relayed
 * byte counts twice).  Cells run in child processes, --jobs at a time
 * (default: every core); each child builds its own world, seals itself
 * and writes one line to its parent.  Results are printed in cell order,
 * whatever order the children finish in.
 *
 * Exit status: 0 when every cell ran (whatever the outcomes), 1 when a
 * cell could not run, 2 for wrong arguments.
 */
#include "tools/cli.h"
#include "tools/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "natmodels/nat-behaviour.h"
#include "scenarios/runner/runner-path.h"
#include "sim/host/seal.h"

/* The NAT types every matrix has, in order; "none" puts the peer on the
 * internet itself. */
static const char *const builtin_types[] = {
    "none", "full-cone", "restricted-cone", "port-restricted-cone",
    "symmetric",
};

/* Virtual time a cell runs: ICE gives up 39.5 s after its checks start,
 * so a failure is known by then. */
#define CELL_DURATION_S 50
#define PEER_A_START_MS 1000
#define PEER_B_START_MS 1100

typedef struct {
  char *name;
  char *preset;     /* NULL for none */
  GPtrArray *fields; /* "field=value" */
} NatType;

typedef struct {
  guint a, b;
  /* filled from the child's line */
  gboolean ran;
  char outcome[16];
  double ttc; /* seconds; < 0 when it did not connect */
  guint64 bytes;
  char *error;
  /* while running */
  pid_t pid;
  int fd;
  GString *out;
} Cell;

typedef struct {
  gboolean turn;
  char **nats;
  char *format;
  char *output;
  char *jobs_s, *seed_s;
  guint jobs;
  guint64 seed;
  GPtrArray *types; /* NatType* */
} Matrix;

static void nat_type_free(gpointer p) {
  NatType *t = p;
  g_free(t->name);
  g_free(t->preset);
  if (t->fields)
    g_ptr_array_unref(t->fields);
  g_free(t);
}

/* --nat NAME=FIELDS: FIELDS is FIELD=VALUE[,FIELD=VALUE...] in natmodels'
 * names (natlab presets lists them); preset=P picks the table the fields
 * change (port-restricted-cone, the scenarios' default, if not given). */
static NatType *parse_nat(const char *spec, GError **error) {
  const char *eq = strchr(spec, '=');
  if (eq == NULL || eq == spec) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--nat %s: expected NAME=FIELD=VALUE[,FIELD=VALUE...], like "
                "--nat cgn=preset=symmetric,allocation=random",
                spec);
    return NULL;
  }
  NatType *t = g_new0(NatType, 1);
  t->name = g_strndup(spec, (gsize)(eq - spec));
  t->fields = g_ptr_array_new_with_free_func(g_free);
  t->preset = g_strdup("port-restricted-cone");
  for (const char *p = t->name; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.') {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "--nat %s: the name \"%s\" may hold letters, digits, "
                  "'-', '_' and '.'",
                  spec, t->name);
      goto fail;
    }
  for (guint i = 0; i < G_N_ELEMENTS(builtin_types); i++)
    if (strcmp(t->name, builtin_types[i]) == 0) {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "--nat %s: \"%s\" is already a column of every matrix; "
                  "choose another name",
                  spec, t->name);
      goto fail;
    }
  char **kv = g_strsplit(eq + 1, ",", 0);
  for (char **f = kv; *f; f++) {
    char *e = strchr(*f, '=');
    if (e == NULL || e == *f || e[1] == '\0') {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "--nat %s: \"%s\" is not FIELD=VALUE", spec, *f);
      g_strfreev(kv);
      goto fail;
    }
    *e = '\0';
    if (strcmp(*f, "preset") == 0) {
      g_free(t->preset);
      t->preset = g_strdup(e + 1);
    } else {
      g_ptr_array_add(t->fields, g_strdup_printf("%s=%s", *f, e + 1));
    }
    *e = '=';
  }
  g_strfreev(kv);
  /* Checked by natmodels now, not in every child later. */
  const NlNatBehaviour *base = nl_nat_behaviour_find(t->preset);
  if (base == NULL) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--nat %s: unknown preset \"%s\" (natlab presets lists them)",
                spec, t->preset);
    goto fail;
  }
  NlNatBehaviour b = *base;
  for (guint i = 0; i < t->fields->len; i++) {
    char *f = g_strdup(g_ptr_array_index(t->fields, i));
    char *e = strchr(f, '=');
    *e = '\0';
    GError *err = NULL;
    gboolean ok = nl_nat_behaviour_set(&b, f, e + 1, &err);
    g_free(f);
    if (!ok) {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "--nat %s: %s", spec, err->message);
      g_error_free(err);
      goto fail;
    }
  }
  return t;
fail:
  nat_type_free(t);
  return NULL;
}

/* ---- one cell ---- */

/* One side of the topology: a peer (A or B) behind @t. */
static void side_text(GString *s, const Matrix *m, const NatType *t,
                      gboolean is_a) {
  const char *peer = is_a ? "peer-a" : "peer-b";
  const char *nat = is_a ? "nat-a" : "nat-b";
  const char *lan = is_a ? "lan-a" : "lan-b";
  const char *net = is_a ? "10.0.0" : "192.168.1";
  const char *pub = is_a ? "203.0.113" : "198.51.100";
  if (t->preset != NULL) {
    g_string_append_printf(s, "network %s %s.0/24 latency=1ms\n", lan, net);
    g_string_append_printf(s, "host %s\n  link %s %s.%s\n"
                              "  route default via %s.1\n",
                           peer, lan, net, is_a ? "5" : "10", net);
  } else {
    g_string_append_printf(s, "host %s\n  link internet %s.%s\n", peer, pub,
                           is_a ? "5" : "10");
  }
  g_string_append_printf(
      s,
      "  run at=%dms name=ice ice-peer --name %s --port %s "
      "--signaling 192.0.2.30:7000 --stun 192.0.2.10:3478",
      is_a ? PEER_A_START_MS : PEER_B_START_MS, is_a ? "A" : "B",
      is_a ? "50001" : "50002");
  if (m->turn)
    g_string_append_printf(s, " --turn 192.0.2.20:3478 --turn-user %s",
                           is_a ? "alice:secret-a" : "bob:secret-b");
  g_string_append_c(s, '\n');
  if (t->preset != NULL) {
    g_string_append_printf(s, "nat %s preset=%s", nat, t->preset);
    for (guint i = 0; i < t->fields->len; i++)
      g_string_append_printf(s, " %s",
                             (char *)g_ptr_array_index(t->fields, i));
    g_string_append_printf(s, "\n  inside %s %s.1\n  outside internet %s.1\n",
                           lan, net, pub);
  }
}

/* The scenario of a cell: its text is what a person could run with
 * `natlab run` to see the cell's timeline. */
static char *cell_scenario(const Matrix *m, const NatType *ta,
                           const NatType *tb) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s,
                         "# natlab matrix: A behind %s, B behind %s%s\n"
                         "seed %" G_GUINT64_FORMAT "\nduration %ds\n"
                         "network internet 203.0.113.0/24 198.51.100.0/24 "
                         "192.0.2.0/24 latency=20ms\n",
                         ta->name, tb->name, m->turn ? ", TURN relay" : "",
                         m->seed, CELL_DURATION_S);
  side_text(s, m, ta, TRUE);
  g_string_append(s, "host stun\n  name stun.example.com\n"
                     "  link internet 192.0.2.10\n  run stun-server\n"
                     "host signal\n  name signal.example.com\n"
                     "  link internet 192.0.2.30\n  run signaling-server\n");
  if (m->turn)
    g_string_append(s, "host turn\n  name turn.example.com\n"
                       "  link internet 192.0.2.20\n"
                       "  run turn-server --listen 192.0.2.20 "
                       "--user alice:secret-a --user bob:secret-b "
                       "--realm natlab --min-port 49152 --max-port 49160\n");
  side_text(s, m, tb, FALSE);
  return g_string_free(s, FALSE);
}

/* Runs the cell in this process and returns its result line:
 * "OUTCOME TIME BYTES" or "error MESSAGE". */
static char *cell_run(const Matrix *m, const Cell *c) {
  const NatType *ta = g_ptr_array_index(m->types, c->a);
  const NatType *tb = g_ptr_array_index(m->types, c->b);
  char *text = cell_scenario(m, ta, tb);
  char *name = g_strdup_printf("matrix-%s-%s.nlab", ta->name, tb->name);
  GError *error = NULL;
  char *line = NULL;
  NlScenario *s = nl_scenario_load_string(name, text, -1, NULL, &error);
  NlRun *run = NULL;
  if (s == NULL || !nl_run_build_programs(s, &error))
    goto out;
  if (g_getenv("NATLAB_NO_SEAL") == NULL) {
    /* The child answers only through the pipe it already holds. */
    GError *serr = NULL;
    if (!nl_seal_apply(NL_SEAL_READ_ONLY, &serr))
      g_clear_error(&serr); /* no seccomp here: run unconfined */
  }
  NlRunOptions o = {.trace_mask = NL_RUN_CHECK_KINDS};
  run = nl_run_new(s, &o, &error);
  if (run == NULL)
    goto out;
  nl_run_execute(run);
  NlRunIceReport ra, rb;
  gboolean sa = nl_run_ice_report(run, "peer-a", "peer-b", NL_TIME_NEVER, &ra);
  gboolean sb = nl_run_ice_report(run, "peer-b", "peer-a", NL_TIME_NEVER, &rb);
  NlRunPathBytes pb;
  nl_run_path_bytes(run, "peer-a", "peer-b", &pb);
  if (sa && sb && ra.outcome == NL_RUN_ICE_SELECTED &&
      rb.outcome == NL_RUN_ICE_SELECTED && ra.relayed == rb.relayed) {
    NlTime both = MAX(ra.at, rb.at) - PEER_B_START_MS * NL_MS;
    line = g_strdup_printf("%s %.6f %" G_GUINT64_FORMAT,
                           ra.relayed ? "relayed" : "direct", both / 1e9,
                           pb.direct_bytes + pb.relayed_bytes);
  } else {
    line = g_strdup_printf("failed -1 %" G_GUINT64_FORMAT,
                           pb.direct_bytes + pb.relayed_bytes);
  }
out:
  if (line == NULL)
    line = g_strdup_printf("error %s", error ? error->message : "?");
  g_clear_error(&error);
  nl_run_free(run);
  nl_scenario_free(s);
  g_free(name);
  g_free(text);
  return line;
}

static void cell_parse(Cell *c) {
  char *l = g_strstrip(c->out->str);
  if (g_str_has_prefix(l, "error ")) {
    c->error = g_strdup(l + 6);
    return;
  }
  char oc[16];
  double t;
  guint64 bytes;
  if (sscanf(l, "%15s %lf %" G_GUINT64_FORMAT, oc, &t, &bytes) != 3) {
    c->error = g_strdup_printf("the child said \"%s\"", l);
    return;
  }
  g_strlcpy(c->outcome, oc, sizeof c->outcome);
  c->ttc = t;
  c->bytes = bytes;
  c->ran = TRUE;
}

static pid_t cell_start(const Matrix *m, Cell *c) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    /* The child: its answer goes to the pipe, everything else nowhere. */
    close(p[0]);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    char *line = cell_run(m, c);
    gsize len = strlen(line), off = 0;
    while (off < len) {
      ssize_t w = write(p[1], line + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        _exit(124);
      off += (gsize)w;
    }
    _exit(0);
  }
  close(p[1]);
  c->fd = p[0];
  c->out = g_string_new(NULL);
  return pid;
}

/* Runs every cell, @jobs at a time. */
static void run_cells(const Matrix *m, Cell *cells, guint n) {
  guint next = 0, running = 0;
  Cell **slots = g_new0(Cell *, m->jobs);
  struct pollfd *pfd = g_new0(struct pollfd, m->jobs);
  while (next < n || running > 0) {
    for (guint s = 0; s < m->jobs && next < n; s++) {
      if (slots[s] != NULL)
        continue;
      Cell *c = &cells[next++];
      c->pid = cell_start(m, c);
      if (c->pid < 0) {
        c->error = g_strdup_printf("cannot start a child: %s",
                                   g_strerror(errno));
        continue;
      }
      slots[s] = c;
      running++;
    }
    for (guint s = 0; s < m->jobs; s++) {
      pfd[s].fd = slots[s] ? slots[s]->fd : -1;
      pfd[s].events = POLLIN;
      pfd[s].revents = 0;
    }
    if (running == 0)
      continue;
    if (poll(pfd, m->jobs, -1) < 0 && errno != EINTR)
      break;
    for (guint s = 0; s < m->jobs; s++) {
      Cell *c = slots[s];
      if (c == NULL || !(pfd[s].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r > 0) {
        g_string_append_len(c->out, buf, r);
        continue;
      }
      if (r < 0 && errno == EINTR)
        continue;
      close(c->fd);
      int status = 0;
      while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        cell_parse(c);
      else
        c->error = g_strdup_printf(
            "the cell's process %s %d",
            WIFSIGNALED(status) ? "died of signal" : "exited with",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      g_string_free(c->out, TRUE);
      c->out = NULL;
      slots[s] = NULL;
      running--;
    }
  }
  g_free(pfd);
  g_free(slots);
}

/* ---- output ---- */

static const char *type_name(const Matrix *m, guint i) {
  return ((NatType *)g_ptr_array_index(m->types, i))->name;
}

static void write_csv(const Matrix *m, const Cell *cells, guint n,
                      GString *out) {
  g_string_append(out, "a_nat,b_nat,outcome,time_to_connect_s,path_bytes\n");
  for (guint i = 0; i < n; i++) {
    const Cell *c = &cells[i];
    g_string_append_printf(out, "%s,%s,", type_name(m, c->a),
                           type_name(m, c->b));
    if (!c->ran)
      g_string_append(out, "error,,\n");
    else if (c->ttc < 0)
      g_string_append_printf(out, "%s,,%" G_GUINT64_FORMAT "\n", c->outcome,
                             c->bytes);
    else
      g_string_append_printf(out, "%s,%.3f,%" G_GUINT64_FORMAT "\n",
                             c->outcome, c->ttc, c->bytes);
  }
}

static void cell_words(const Cell *c, char *buf, gsize len) {
  if (!c->ran)
    g_strlcpy(buf, "error", len);
  else if (c->ttc < 0)
    g_strlcpy(buf, c->outcome, len);
  else
    snprintf(buf, len, "%s %.2fs", c->outcome, c->ttc);
}

static void write_text(const Matrix *m, const Cell *cells, guint n,
                       GString *out) {
  guint k = m->types->len;
  int w = 8;
  for (guint i = 0; i < k; i++)
    w = MAX(w, (int)strlen(type_name(m, i)));
  int cw = MAX(w, 15);
  g_string_append_printf(out,
                         "ICE through two NATs (%s; seed %" G_GUINT64_FORMAT
                         "): outcome and time to connect\n"
                         "rows: peer A's NAT, columns: peer B's NAT\n\n",
                         m->turn ? "with a TURN relay" : "no TURN relay",
                         m->seed);
  g_string_append_printf(out, "%-*s", w + 2, "A \\ B");
  for (guint j = 0; j < k; j++)
    g_string_append_printf(out, "  %-*s", j + 1 < k ? cw : 0,
                           type_name(m, j));
  g_string_append_c(out, '\n');
  for (guint i = 0; i < k; i++) {
    g_string_append_printf(out, "%-*s", w + 2, type_name(m, i));
    for (guint j = 0; j < k; j++) {
      char words[64];
      cell_words(&cells[i * k + j], words, sizeof words);
      g_string_append_printf(out, "  %-*s", j + 1 < k ? cw : 0, words);
    }
    g_string_append_c(out, '\n');
  }
  for (guint i = 0; i < n; i++)
    if (cells[i].error)
      g_string_append_printf(out, "\n%s x %s: %s", type_name(m, cells[i].a),
                             type_name(m, cells[i].b), cells[i].error);
}

/* Text for SVG: the five characters XML wants escaped. */
static void xml_text(GString *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': g_string_append(out, "&amp;"); break;
      case '<': g_string_append(out, "&lt;"); break;
      case '>': g_string_append(out, "&gt;"); break;
      case '"': g_string_append(out, "&quot;"); break;
      case '\'': g_string_append(out, "&apos;"); break;
      default: g_string_append_c(out, *s);
    }
  }
}

/* A table for slides: rows are A's NAT, columns B's; green direct, amber
 * relayed (the timelines' relay colour), grey failed; a legend below. */
static void write_svg(const Matrix *m, const Cell *cells, guint n,
                      GString *out) {
  guint k = m->types->len;
  gsize longest = 0;
  for (guint i = 0; i < k; i++)
    longest = MAX(longest, strlen(type_name(m, i)));
  /* About 9 px a character of 14 px bold text. */
  const int cw = MAX(150, (int)longest * 9 + 24), ch = 56;
  const int hw = MAX(150, (int)longest * 9 + 24), top = 52, hh = 58;
  int width = hw + (int)k * cw + 20, height = top + hh + (int)k * ch + 84;
  g_string_append_printf(
      out,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, "
      "sans-serif\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
      "<text x=\"10\" y=\"32\" font-size=\"22\" font-weight=\"bold\" "
      "fill=\"#222222\">ICE through two NATs, %s</text>\n",
      width, height, width, height,
      m->turn ? "with a TURN relay" : "without a TURN relay");
  g_string_append_printf(out,
                         "<text x=\"%d\" y=\"%d\" font-size=\"13\" "
                         "text-anchor=\"middle\" fill=\"#555555\">peer B "
                         "behind \xe2\x86\x92</text>\n"
                         "<text x=\"10\" y=\"%d\" font-size=\"13\" "
                         "fill=\"#555555\">peer A behind \xe2\x86\x93</text>\n",
                         hw + (int)k * cw / 2, top + 18, top + hh - 12);
  for (guint j = 0; j < k; j++) {
    g_string_append_printf(out,
                           "<text x=\"%d\" y=\"%d\" font-size=\"14\" "
                           "font-weight=\"bold\" text-anchor=\"middle\" "
                           "fill=\"#222222\">",
                           hw + (int)j * cw + cw / 2, top + hh - 12);
    xml_text(out, type_name(m, j));
    g_string_append(out, "</text>\n");
  }
  for (guint i = 0; i < k; i++) {
    int y = top + hh + (int)i * ch;
    g_string_append_printf(out,
                           "<text x=\"10\" y=\"%d\" font-size=\"14\" "
                           "font-weight=\"bold\" fill=\"#222222\">",
                           y + ch / 2 + 5);
    xml_text(out, type_name(m, i));
    g_string_append(out, "</text>\n");
    for (guint j = 0; j < k; j++) {
      const Cell *c = &cells[i * k + j];
      const char *fill = !c->ran                               ? "#c62828"
                         : strcmp(c->outcome, "direct") == 0  ? "#2e8b3e"
                         : strcmp(c->outcome, "relayed") == 0 ? "#d98c00"
                                                              : "#9e9e9e";
      int x = hw + (int)j * cw;
      g_string_append_printf(out,
                             "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
                             "height=\"%d\" fill=\"%s\" stroke=\"#ffffff\" "
                             "stroke-width=\"3\"/>\n",
                             x, y, cw, ch, fill);
      char t[64];
      if (c->ran && c->ttc >= 0)
        snprintf(t, sizeof t, "%.2f s", c->ttc);
      else
        t[0] = '\0';
      g_string_append_printf(out,
                             "<text x=\"%d\" y=\"%d\" font-size=\"16\" "
                             "font-weight=\"bold\" text-anchor=\"middle\" "
                             "fill=\"#ffffff\">%s</text>\n",
                             x + cw / 2, y + (t[0] ? 24 : 33),
                             c->ran ? c->outcome : "error");
      if (t[0])
        g_string_append_printf(out,
                               "<text x=\"%d\" y=\"%d\" font-size=\"13\" "
                               "text-anchor=\"middle\" fill=\"#ffffff\">%s"
                               "</text>\n",
                               x + cw / 2, y + 43, t);
    }
  }
  /* The legend. */
  static const struct {
    const char *fill, *label;
  } legend[] = {{"#2e8b3e", "direct (hole punched)"},
                {"#d98c00", "relayed by TURN"},
                {"#9e9e9e", "failed"}};
  int ly = top + hh + (int)k * ch + 24, lx = hw;
  for (gsize i = 0; i < G_N_ELEMENTS(legend); i++) {
    g_string_append_printf(out,
                           "<rect x=\"%d\" y=\"%d\" width=\"16\" "
                           "height=\"16\" fill=\"%s\"/>\n"
                           "<text x=\"%d\" y=\"%d\" font-size=\"13\" "
                           "fill=\"#222222\">%s</text>\n",
                           lx, ly, legend[i].fill, lx + 22, ly + 13,
                           legend[i].label);
    lx += 22 + (int)strlen(legend[i].label) * 8 + 28;
  }
  g_string_append_printf(out,
                         "<text x=\"10\" y=\"%d\" font-size=\"12\" "
                         "fill=\"#555555\">Each cell is a natlab run "
                         "(seed %" G_GUINT64_FORMAT "): the time from the "
                         "start of both peers until both selected a "
                         "pair.</text>\n"
                         "</svg>\n",
                         height - 16, m->seed);
  (void)n;
}

/* ---- the command ---- */

static const char matrix_description[] =
    "NAT types: none (the peer is on the internet itself), full-cone,\n"
    "restricted-cone, port-restricted-cone, symmetric, then each --nat.\n"
    "--nat NAME=FIELD=VALUE[,FIELD=VALUE...] adds a type: natmodels' fields\n"
    "(natlab presets lists them), starting from preset=P (default\n"
    "port-restricted-cone), e.g. --nat cgn=preset=symmetric,allocation=random\n"
    "\n"
    "CSV columns: a_nat,b_nat,outcome,time_to_connect_s,path_bytes; outcome\n"
    "is direct, relayed or failed; time_to_connect_s is empty for failed;\n"
    "path_bytes counts the data's IP bytes once per leg (peer to peer, or\n"
    "peer to relay and relay to peer).\n"
    "\n"
    "Exit status: 0 when every cell ran, 1 when one could not, 2 for wrong\n"
    "arguments.\n";

int nl_cmd_matrix(int argc, char **argv) {
  Matrix m = {0};
  const GOptionEntry entries[] = {
      {"turn", 0, 0, G_OPTION_ARG_NONE, &m.turn,
       "Give both peers a TURN relay (turn.example.com)", NULL},
      {"nat", 0, 0, G_OPTION_ARG_STRING_ARRAY, &m.nats,
       "Add a NAT type to the matrix (repeatable)", "NAME=FIELDS"},
      {"format", 0, 0, G_OPTION_ARG_STRING, &m.format,
       "text (default), csv or svg", "F"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &m.output,
       "Write to FILE instead of stdout", "FILE"},
      {"jobs", 'j', 0, G_OPTION_ARG_STRING, &m.jobs_s,
       "Cells run at once (default: every core; 1 to 256)", "N"},
      {"seed", 0, 0, G_OPTION_ARG_STRING, &m.seed_s,
       "The seed of every cell's scenario (default 1)", "N"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *ctx = nl_cli_context_new(
      "matrix", "", "Run ICE between every pair of NAT types.", entries, &m,
      matrix_description);
  GError *error = NULL;
  int rc = NL_EXIT_OK;
  Cell *cells = NULL;
  guint n = 0;
  m.types = g_ptr_array_new_with_free_func(nat_type_free);
  if (!nl_cli_parse(ctx, &argc, &argv, &rc))
    goto out;
  if (argc > 1) {
    rc = nl_cli_usage_error("matrix", "unexpected argument \"%s\"", argv[1]);
    goto out;
  }
  enum { TEXT, CSV, SVG } format = TEXT;
  if (m.format == NULL || strcmp(m.format, "text") == 0)
    format = TEXT;
  else if (strcmp(m.format, "csv") == 0)
    format = CSV;
  else if (strcmp(m.format, "svg") == 0)
    format = SVG;
  else {
    rc = nl_cli_usage_error("matrix", "--format %s: expected text, csv or svg",
                            m.format);
    goto out;
  }
  guint64 v = 0;
  m.jobs = (guint)MAX(g_get_num_processors(), 1);
  if (m.jobs_s) {
    if (!nl_cli_parse_uint("--jobs", m.jobs_s, 1, 256, &v, &error))
      goto bad;
    m.jobs = (guint)v;
  }
  m.seed = 1;
  if (m.seed_s) {
    if (!nl_cli_parse_uint("--seed", m.seed_s, 0, G_MAXUINT64, &m.seed,
                           &error))
      goto bad;
  }
  if (m.output && !nl_cli_check_output("--output", m.output, TRUE, &error))
    goto bad;
  for (guint i = 0; i < G_N_ELEMENTS(builtin_types); i++) {
    NatType *t = g_new0(NatType, 1);
    t->name = g_strdup(builtin_types[i]);
    if (i > 0) {
      t->preset = g_strdup(builtin_types[i]);
      t->fields = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(m.types, t);
  }
  for (char **s = m.nats; s && *s; s++) {
    NatType *t = parse_nat(*s, &error);
    if (t == NULL)
      goto bad;
    for (guint i = 0; i < m.types->len; i++)
      if (strcmp(type_name(&m, i), t->name) == 0) {
        g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--nat %s: the name \"%s\" is given twice", *s, t->name);
        nat_type_free(t);
        goto bad;
      }
    g_ptr_array_add(m.types, t);
  }
  guint k = m.types->len;
  n = k * k;
  m.jobs = MIN(m.jobs, n);
  cells = g_new0(Cell, n);
  for (guint i = 0; i < n; i++) {
    cells[i].a = i / k;
    cells[i].b = i % k;
    cells[i].fd = -1;
  }
  run_cells(&m, cells, n);
  GString *out = g_string_new(NULL);
  if (format == CSV)
    write_csv(&m, cells, n, out);
  else if (format == SVG)
    write_svg(&m, cells, n, out);
  else
    write_text(&m, cells, n, out);
  for (guint i = 0; i < n; i++)
    if (!cells[i].ran) {
      fprintf(stderr, "natlab matrix: %s x %s: %s\n", type_name(&m, cells[i].a),
              type_name(&m, cells[i].b),
              cells[i].error ? cells[i].error : "did not run");
      rc = NL_EXIT_FAILED;
    }
  if (m.output && strcmp(m.output, "-") != 0) {
    if (!g_file_set_contents(m.output, out->str, (gssize)out->len, &error)) {
      fprintf(stderr, "natlab matrix: %s\n", error->message);
      rc = NL_EXIT_ERROR;
    }
  } else {
    fputs(out->str, stdout);
  }
  g_string_free(out, TRUE);
  goto out;
bad:
  rc = nl_cli_usage_error("matrix", "%s", error->message);
out:
  g_clear_error(&error);
  for (guint i = 0; i < n; i++)
    g_free(cells[i].error);
  g_free(cells);
  g_ptr_array_unref(m.types);
  g_strfreev(m.nats);
  g_free(m.format);
  g_free(m.output);
  g_free(m.jobs_s);
  g_free(m.seed_s);
  g_option_context_free(ctx);
  return rc;
}
