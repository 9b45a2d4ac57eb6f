/* natlab sweep: one scenario over a grid of constants and seeds, the
 * metrics asked for per cell (mean and spread over the seeds), as CSV, a
 * text table or a gnuplot SVG (docs/sweeps.md).
 *
 *   natlab sweep SCENARIO --set NAME=V1,V2,... [--set ...] [--seeds K]
 *                --metric SPEC [--metric ...] [--jobs N]
 *                [--format csv|text|svg] [-o FILE] [--title T]
 *                [--curve LABEL=EXPR] [--log x|y|xy]
 *
 * A cell is one combination of the --set values (the first --set varies
 * slowest); each cell runs K times, with the scenario's seed S and S+1 ...
 * S+K-1, so a one-seed sweep of one value is `natlab run`.  Every
 * combination is loaded (and its programs built) here, before any run,
 * so a mistake is reported once and nothing runs.  Runs are child
 * processes, --jobs at a time: each builds its world from the scenario
 * loaded here, seals itself, runs, reads its metrics from its trace
 * (scenarios/runner/runner-metric.h) and writes them to its pipe.  The
 * results are kept by run index, so the output is the same whatever the
 * order the children finish in and however many run at once.
 */
#include "tools/cli.h"
#include "tools/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner-metric.h"
#include "scenarios/runner/runner.h"
#include "sim/host/seal.h"
#include "tools/sweep-plot.h"

#define MAX_RUNS 100000
#define MAX_SEEDS 1000

typedef struct {
  char *name;
  GPtrArray *values; /* char* */
} Param;

typedef struct {
  guint *idx;       /* value index per parameter */
  char **overrides; /* NULL-terminated NAME=VALUE */
  NlScenario *s;
} Cell;

typedef struct {
  guint cell, seed_i;
  gboolean ran;
  double *v; /* one per metric; NAN: no value */
  char *error;
  pid_t pid;
  int fd;
  GString *out;
} Run;

typedef struct {
  char **sets;
  char **metric_specs;
  char **curve_specs;
  char *seeds_s, *jobs_s;
  char *format;
  char *output;
  char *title;
  char *log;
  const char *path;
  guint seeds, jobs;
  GPtrArray *params;  /* Param* */
  GPtrArray *metrics; /* NlRunMetric* */
  GPtrArray *curves;  /* NlSweepCurve* */
  Cell *cells;
  guint n_cells;
  Run *runs;
  guint n_runs;
  guint64 trace_mask;
} Sweep;

static void param_free(gpointer p) {
  Param *x = p;
  g_free(x->name);
  g_ptr_array_unref(x->values);
  g_free(x);
}

static void curve_free(gpointer p) {
  NlSweepCurve *c = p;
  g_free(c->label);
  g_free(c->expr);
  g_free(c);
}

/* --set NAME=V1,V2,...: the values in the order given. */
static Param *parse_set(const char *spec, GError **error) {
  const char *eq = strchr(spec, '=');
  gboolean ok = eq != NULL && eq > spec;
  for (const char *c = spec; ok && c < eq; c++)
    ok = g_ascii_isalnum(*c) || *c == '_';
  if (!ok) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--set %s: expected NAME=VALUE,VALUE,..., like "
                "loss=0%%,1%%,2%%",
                spec);
    return NULL;
  }
  Param *p = g_new0(Param, 1);
  p->name = g_strndup(spec, (gsize)(eq - spec));
  p->values = g_ptr_array_new_with_free_func(g_free);
  char **vs = g_strsplit(eq + 1, ",", -1);
  gsize col = (gsize)(eq - spec) + 2;
  for (char **v = vs; *v; v++) {
    if ((*v)[0] == '\0') {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "--set %s: column %" G_GSIZE_FORMAT ": an empty value", spec,
                  col);
      goto fail;
    }
    for (guint i = 0; i < p->values->len; i++)
      if (strcmp(g_ptr_array_index(p->values, i), *v) == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--set %s: column %" G_GSIZE_FORMAT
                    ": the value \"%s\" is given twice",
                    spec, col, *v);
        goto fail;
      }
    g_ptr_array_add(p->values, g_strdup(*v));
    col += strlen(*v) + 1;
  }
  g_strfreev(vs);
  return p;
fail:
  g_strfreev(vs);
  param_free(p);
  return NULL;
}

/* --curve LABEL=EXPR */
static NlSweepCurve *parse_curve(const char *spec, GError **error) {
  const char *eq = strchr(spec, '=');
  if (eq == NULL || eq == spec) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--curve %s: expected LABEL=EXPRESSION, like "
                "'model=1.22*1460*8/(0.1*sqrt(x/100))/1e6'",
                spec);
    return NULL;
  }
  GError *e = NULL;
  if (!nl_sweep_plot_check_expr(eq + 1, &e)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--curve %s: %s", spec, e->message);
    g_error_free(e);
    return NULL;
  }
  NlSweepCurve *c = g_new0(NlSweepCurve, 1);
  c->label = g_strndup(spec, (gsize)(eq - spec));
  c->expr = g_strdup(eq + 1);
  return c;
}

/* ---- one run, in a child ---- */

static void write_all(int fd, const char *s) {
  gsize len = strlen(s), off = 0;
  while (off < len) {
    ssize_t w = write(fd, s + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      _exit(124);
    off += (gsize)w;
  }
}

/* The child's answer: one line per metric ("nan" for none), or a line
 * "error MESSAGE". */
static char *run_here(const Sweep *w, const Run *r) {
  const Cell *c = &w->cells[r->cell];
  if (g_getenv("NATLAB_NO_SEAL") == NULL) {
    /* The child answers only through the pipe it already holds. */
    GError *serr = NULL;
    if (!nl_seal_apply(NL_SEAL_READ_ONLY, &serr))
      g_clear_error(&serr); /* no seccomp here: run unconfined */
  }
  NlRunOptions o = {.seed_set = TRUE,
                    .seed = c->s->seed + r->seed_i,
                    .trace_mask = w->trace_mask};
  GError *error = NULL;
  NlRun *run = nl_run_new(c->s, &o, &error);
  if (run == NULL) {
    char *line = g_strdup_printf("error %s\n", error->message);
    g_error_free(error);
    return line;
  }
  nl_run_execute(run);
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < w->metrics->len; i++) {
    double v = NAN;
    if (!nl_run_metric_eval(g_ptr_array_index(w->metrics, i), run, &v,
                            &error)) {
      g_string_printf(out, "error %s\n", error->message);
      g_clear_error(&error);
      break;
    }
    char b[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf(out, "%s\n",
                           isnan(v) ? "nan"
                                    : g_ascii_formatd(b, sizeof b, "%.17g", v));
  }
  nl_run_free(run);
  return g_string_free(out, FALSE);
}

static void run_parse(const Sweep *w, Run *r) {
  const char *text = r->out->str;
  if (g_str_has_prefix(text, "error ")) {
    r->error = g_strstrip(g_strdup(text + 6));
    return;
  }
  char **lines = g_strsplit(text, "\n", -1);
  guint n = w->metrics->len;
  r->v = g_new(double, n);
  for (guint i = 0; i < n; i++) {
    const char *l = lines[i];
    char *end = NULL;
    if (l == NULL || l[0] == '\0') {
      r->error = g_strdup("the run's process answered nothing");
      break;
    }
    if (strcmp(l, "nan") == 0) {
      r->v[i] = NAN;
      continue;
    }
    r->v[i] = g_ascii_strtod(l, &end);
    if (*end != '\0') {
      r->error = g_strdup_printf("the run's process said \"%s\"", l);
      break;
    }
  }
  g_strfreev(lines);
  r->ran = r->error == NULL;
}

static pid_t run_start(const Sweep *w, Run *r) {
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
    close(p[0]);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    char *line = run_here(w, r);
    write_all(p[1], line);
    _exit(0);
  }
  close(p[1]);
  r->fd = p[0];
  r->out = g_string_new(NULL);
  return pid;
}

typedef struct {
  gint64 start, last;
  guint done;
} Progress;

static void progress(const Sweep *w, Progress *pr, gboolean end) {
  if (!isatty(STDERR_FILENO))
    return;
  gint64 t = g_get_monotonic_time();
  if (!end && t - pr->last < 200000)
    return;
  pr->last = t;
  if (end)
    fputs("\r\033[K", stderr);
  else
    fprintf(stderr, "\r\033[Knatlab sweep: %u of %u runs done", pr->done,
            w->n_runs);
  fflush(stderr);
}

/* Runs every run, --jobs at a time; each result goes to its own slot. */
static void run_all(Sweep *w) {
  guint next = 0, running = 0;
  Run **slots = g_new0(Run *, w->jobs);
  struct pollfd *pfd = g_new0(struct pollfd, w->jobs);
  Progress pr = {.start = g_get_monotonic_time()};
  while (next < w->n_runs || running > 0) {
    for (guint s = 0; s < w->jobs && next < w->n_runs; s++) {
      if (slots[s] != NULL)
        continue;
      Run *r = &w->runs[next++];
      r->pid = run_start(w, r);
      if (r->pid < 0) {
        r->error =
            g_strdup_printf("cannot start a process: %s", g_strerror(errno));
        continue;
      }
      slots[s] = r;
      running++;
    }
    if (running == 0)
      continue;
    for (guint s = 0; s < w->jobs; s++) {
      pfd[s].fd = slots[s] ? slots[s]->fd : -1;
      pfd[s].events = POLLIN;
      pfd[s].revents = 0;
    }
    if (poll(pfd, w->jobs, -1) < 0 && errno != EINTR)
      break;
    for (guint s = 0; s < w->jobs; s++) {
      Run *r = slots[s];
      if (r == NULL || !(pfd[s].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t n = read(r->fd, buf, sizeof buf);
      if (n > 0) {
        g_string_append_len(r->out, buf, n);
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      close(r->fd);
      int status = 0;
      while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        ;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        run_parse(w, r);
      else
        r->error = g_strdup_printf(
            "the run's process %s %d",
            WIFSIGNALED(status) ? "died of signal" : "exited with",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      g_string_free(r->out, TRUE);
      r->out = NULL;
      slots[s] = NULL;
      running--;
      pr.done++;
      progress(w, &pr, FALSE);
    }
  }
  progress(w, &pr, TRUE);
  g_free(pfd);
  g_free(slots);
}

/* ---- per cell: mean and spread over the seeds ---- */

typedef struct {
  guint n;
  double mean, sd, min, max; /* NAN when n is 0; sd 0 when n is 1 */
} Stat;

static Stat stat_of(const Sweep *w, guint cell, guint metric) {
  Stat st = {0, NAN, NAN, NAN, NAN};
  double sum = 0;
  for (guint k = 0; k < w->seeds; k++) {
    const Run *r = &w->runs[cell * w->seeds + k];
    if (!r->ran || isnan(r->v[metric]))
      continue;
    double v = r->v[metric];
    if (st.n == 0)
      st.min = st.max = v;
    st.min = MIN(st.min, v);
    st.max = MAX(st.max, v);
    sum += v;
    st.n++;
  }
  if (st.n == 0)
    return st;
  st.mean = sum / st.n;
  double ss = 0;
  for (guint k = 0; k < w->seeds; k++) {
    const Run *r = &w->runs[cell * w->seeds + k];
    if (r->ran && !isnan(r->v[metric]))
      ss += (r->v[metric] - st.mean) * (r->v[metric] - st.mean);
  }
  st.sd = st.n > 1 ? sqrt(ss / (st.n - 1)) : 0;
  return st;
}

/* A number for the CSV: integers as integers, others with 10 significant
 * digits, always in C's notation; nothing for no value. */
static void csv_num(GString *out, double v) {
  if (isnan(v))
    return;
  if (v == 0)
    v = 0; /* no "-0" */
  char b[G_ASCII_DTOSTR_BUF_SIZE];
  if (v == floor(v) && fabs(v) < 1e15)
    g_string_append(out, g_ascii_formatd(b, sizeof b, "%.0f", v));
  else
    g_string_append(out, g_ascii_formatd(b, sizeof b, "%.10g", v));
}

/* RFC 4180: a field with a comma, quote or newline is quoted. */
static void csv_field(GString *out, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL) {
    g_string_append(out, s);
    return;
  }
  g_string_append_c(out, '"');
  for (; *s; s++) {
    if (*s == '"')
      g_string_append_c(out, '"');
    g_string_append_c(out, *s);
  }
  g_string_append_c(out, '"');
}

static const char *value_of(const Sweep *w, guint cell, guint param) {
  const Param *p = g_ptr_array_index(w->params, param);
  return g_ptr_array_index(p->values, w->cells[cell].idx[param]);
}

static void write_csv(const Sweep *w, GString *out) {
  for (guint j = 0; j < w->params->len; j++) {
    csv_field(out, ((Param *)g_ptr_array_index(w->params, j))->name);
    g_string_append_c(out, ',');
  }
  g_string_append(out, "seeds");
  static const char *const cols[] = {"mean", "sd", "min", "max", "n"};
  for (guint m = 0; m < w->metrics->len; m++)
    for (gsize c = 0; c < G_N_ELEMENTS(cols); c++) {
      g_string_append_c(out, ',');
      char *h = g_strdup_printf(
          "%s_%s", nl_run_metric_label(g_ptr_array_index(w->metrics, m)),
          cols[c]);
      csv_field(out, h);
      g_free(h);
    }
  g_string_append_c(out, '\n');
  for (guint i = 0; i < w->n_cells; i++) {
    for (guint j = 0; j < w->params->len; j++) {
      csv_field(out, value_of(w, i, j));
      g_string_append_c(out, ',');
    }
    g_string_append_printf(out, "%u", w->seeds);
    for (guint m = 0; m < w->metrics->len; m++) {
      Stat st = stat_of(w, i, m);
      double v[] = {st.mean, st.sd, st.min, st.max};
      for (gsize c = 0; c < G_N_ELEMENTS(v); c++) {
        g_string_append_c(out, ',');
        csv_num(out, v[c]);
      }
      g_string_append_printf(out, ",%u", st.n);
    }
    g_string_append_c(out, '\n');
  }
}

/* A number for people: 4 significant digits. */
static char *short_num(double v) {
  char b[G_ASCII_DTOSTR_BUF_SIZE];
  if (v == 0)
    v = 0;
  if ((v == floor(v) && fabs(v) < 1e15) || fabs(v) >= 1e4)
    return g_strdup(g_ascii_formatd(b, sizeof b, "%.0f", v));
  return g_strdup(g_ascii_formatd(b, sizeof b, "%.4g", v));
}

static char *metric_heading(const NlRunMetric *m) {
  const char *u = nl_run_metric_unit(m);
  return u[0] ? g_strdup_printf("%s (%s)", nl_run_metric_label(m), u)
              : g_strdup(nl_run_metric_label(m));
}

static void write_text(const Sweep *w, GString *out) {
  guint np = w->params->len, nm = w->metrics->len, ncol = np + nm;
  GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);
  for (guint j = 0; j < np; j++)
    g_ptr_array_add(cells,
                    g_strdup(((Param *)g_ptr_array_index(w->params, j))->name));
  for (guint m = 0; m < nm; m++)
    g_ptr_array_add(cells, metric_heading(g_ptr_array_index(w->metrics, m)));
  for (guint i = 0; i < w->n_cells; i++) {
    for (guint j = 0; j < np; j++)
      g_ptr_array_add(cells, g_strdup(value_of(w, i, j)));
    for (guint m = 0; m < nm; m++) {
      Stat st = stat_of(w, i, m);
      if (st.n == 0) {
        g_ptr_array_add(cells, g_strdup("-"));
        continue;
      }
      char *mean = short_num(st.mean), *lo = short_num(st.min),
           *hi = short_num(st.max);
      GString *c = g_string_new(mean);
      if (w->seeds > 1)
        g_string_append_printf(c, " [%s, %s]", lo, hi);
      if (st.n < w->seeds)
        g_string_append_printf(c, " (%u of %u runs)", st.n, w->seeds);
      g_ptr_array_add(cells, g_string_free(c, FALSE));
      g_free(mean);
      g_free(lo);
      g_free(hi);
    }
  }
  guint *width = g_new0(guint, ncol);
  for (guint i = 0; i < cells->len; i++)
    width[i % ncol] = MAX(
        width[i % ncol], (guint)g_utf8_strlen(g_ptr_array_index(cells, i), -1));
  g_string_append_printf(out, "natlab sweep %s: %u cells x %u seed%s", w->path,
                         w->n_cells, w->seeds, w->seeds == 1 ? "" : "s");
  if (w->seeds > 1)
    g_string_append(out, "; mean [min, max] over the seeds");
  g_string_append(out, "\n\n");
  for (guint i = 0; i < cells->len; i++) {
    const char *c = g_ptr_array_index(cells, i);
    guint col = i % ncol;
    gboolean last = col + 1 == ncol;
    g_string_append(out, c);
    if (!last)
      for (guint k = (guint)g_utf8_strlen(c, -1); k < width[col] + 2; k++)
        g_string_append_c(out, ' ');
    else
      g_string_append_c(out, '\n');
  }
  g_free(width);
  g_ptr_array_unref(cells);
}

/* ---- the plot ---- */

/* The x axis: numbers when every value is a number with the same suffix
 * ("1%", "2%"), which then names the unit; else categories. */
static double *x_numbers(const Param *p, char **unit) {
  double *x = g_new(double, p->values->len);
  *unit = NULL;
  for (guint i = 0; i < p->values->len; i++) {
    const char *v = g_ptr_array_index(p->values, i);
    char *end = NULL;
    x[i] = g_ascii_strtod(v, &end);
    if (end == v || !isfinite(x[i]) || (*unit && strcmp(*unit, end) != 0)) {
      g_free(x);
      g_free(*unit);
      *unit = NULL;
      return NULL;
    }
    if (*unit == NULL)
      *unit = g_strdup(end);
  }
  return x;
}

static void series_free(gpointer p) {
  NlSweepSeries *s = p;
  g_free(s->label);
  g_free(s->mean);
  g_free(s->lo);
  g_free(s->hi);
  g_free(s);
}

static char *write_svg(const Sweep *w, GError **error) {
  const Param *xp = g_ptr_array_index(w->params, 0);
  guint nx = xp->values->len;
  char *unit = NULL;
  double *x = x_numbers(xp, &unit);
  char *xlabel = unit && unit[0] ? g_strdup_printf("%s (%s)", xp->name, unit)
                                 : g_strdup(xp->name);
  /* The y axis: one metric names it; several share their unit. */
  const NlRunMetric *m0 = g_ptr_array_index(w->metrics, 0);
  char *ylabel = w->metrics->len == 1 ? metric_heading(m0)
                                      : g_strdup(nl_run_metric_unit(m0)[0]
                                                     ? nl_run_metric_unit(m0)
                                                     : "value");
  /* A series per metric and per combination of the other parameters. */
  guint combos = w->n_cells / nx;
  GPtrArray *series = g_ptr_array_new_with_free_func(series_free);
  for (guint m = 0; m < w->metrics->len; m++) {
    for (guint c = 0; c < combos; c++) {
      NlSweepSeries *se = g_new0(NlSweepSeries, 1);
      se->mean = g_new(double, nx);
      se->lo = g_new(double, nx);
      se->hi = g_new(double, nx);
      GString *label = g_string_new(NULL);
      if (w->metrics->len > 1)
        g_string_append(label,
                        nl_run_metric_label(g_ptr_array_index(w->metrics, m)));
      for (guint j = 1; j < w->params->len; j++) {
        if (label->len)
          g_string_append(label, ", ");
        g_string_append_printf(label, "%s=%s",
                               ((Param *)g_ptr_array_index(w->params, j))->name,
                               value_of(w, c, j));
      }
      if (label->len == 0)
        g_string_append(label, nl_run_metric_label(m0));
      se->label = g_string_free(label, FALSE);
      for (guint i = 0; i < nx; i++) {
        /* The first parameter varies slowest: cell i * combos + c. */
        Stat st = stat_of(w, i * combos + c, m);
        se->mean[i] = st.mean;
        se->lo[i] = st.min;
        se->hi[i] = st.max;
      }
      g_ptr_array_add(series, se);
    }
  }
  char *title = w->title ? g_strdup(w->title)
                         : g_strdup_printf("%s against %s",
                                           nl_run_metric_label(m0), xp->name);
  NlSweepPlot plot = {
      .title = title,
      .xlabel = xlabel,
      .ylabel = ylabel,
      .n_x = nx,
      .x_names = (const char *const *)xp->values->pdata,
      .x = x,
      .series = series,
      .curves = w->curves,
      .log_x = w->log && strchr(w->log, 'x') != NULL,
      .log_y = w->log && strchr(w->log, 'y') != NULL,
  };
  char *svg = nl_sweep_plot_svg(&plot, error);
  g_ptr_array_unref(series);
  g_free(title);
  g_free(xlabel);
  g_free(ylabel);
  g_free(unit);
  g_free(x);
  return svg;
}

/* ---- the command ---- */

static const char sweep_description[] =
    "Each --set NAME=V1,V2,... gives the values of a constant the scenario\n"
    "sets (`set NAME = VALUE`); a cell is one combination (the first --set\n"
    "varies slowest), run with the scenario's seed S, then S+1 ... S+K-1.\n"
    "\n"
    "Metrics ([LABEL[UNIT]=]KIND:ARGUMENTS, docs/sweeps.md):\n"
    "  goodput:FROM:TO[:PORT]       TCP goodput FROM to TO (Mbit/s)\n"
    "  retransmits:FROM:TO[:PORT]   TCP data segments FROM sent again\n"
    "  sent:HOST[:PORT]             UDP datagrams HOST sent (to PORT)\n"
    "  delivered:HOST[:PORT]        UDP datagrams delivered to HOST (on PORT)\n"
    "  line:HOST/PROG:REGEX         seconds from the program's start to its\n"
    "                               first stdout line matching REGEX\n"
    "  exit:HOST/PROG               seconds from its start to its exit\n"
    "  bytes:NETWORK[:NODE]         IP bytes put on the network (by or to "
    "NODE)\n"
    "  packets:NETWORK[:NODE]       the same in packets\n"
    "  path-bytes:A:B               the two hosts' data on the wire (bytes)\n"
    "  stdout[.AGG]:HOST/PROG:REGEX the number REGEX captures in the\n"
    "                               program's lines (AGG: mean, first, last,\n"
    "                               min, max, sum, count); stderr likewise\n"
    "\n"
    "CSV: the --set values, seeds, then per metric LABEL_mean, LABEL_sd\n"
    "(sample standard deviation), LABEL_min, LABEL_max and LABEL_n (the runs\n"
    "that gave a value).  SVG (gnuplot): the first --set is the x axis; a\n"
    "line per metric and per combination of the other --set values, error\n"
    "bars from min to max.\n"
    "\n"
    "Exit status:\n"
    "  0  every run ran (whatever its expectations)\n"
    "  1  a run could not run or a metric could not be read (named on "
    "stderr)\n"
    "  2  usage error, or a combination's scenario is not valid\n";

static void sweep_clear(Sweep *w) {
  for (guint i = 0; i < w->n_runs; i++) {
    g_free(w->runs[i].v);
    g_free(w->runs[i].error);
  }
  g_free(w->runs);
  for (guint i = 0; i < w->n_cells; i++) {
    g_free(w->cells[i].idx);
    g_strfreev(w->cells[i].overrides);
    nl_scenario_free(w->cells[i].s);
  }
  g_free(w->cells);
  if (w->params)
    g_ptr_array_unref(w->params);
  if (w->metrics)
    g_ptr_array_unref(w->metrics);
  if (w->curves)
    g_ptr_array_unref(w->curves);
  g_strfreev(w->sets);
  g_strfreev(w->metric_specs);
  g_strfreev(w->curve_specs);
  g_free(w->seeds_s);
  g_free(w->jobs_s);
  g_free(w->format);
  g_free(w->output);
  g_free(w->title);
  g_free(w->log);
}

int nl_cmd_sweep(int argc, char **argv) {
  Sweep w = {0};
  const GOptionEntry entries[] = {
      {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &w.sets,
       "A constant of the scenario and its values (repeatable)",
       "NAME=V1,V2,..."},
      {"seeds", 0, 0, G_OPTION_ARG_STRING, &w.seeds_s,
       "Runs per cell, with seeds S to S+K-1 (default 1; at most 1000)", "K"},
      {"metric", 'm', 0, G_OPTION_ARG_STRING_ARRAY, &w.metric_specs,
       "A number to read from each run's trace (repeatable; below)", "SPEC"},
      {"jobs", 'j', 0, G_OPTION_ARG_STRING, &w.jobs_s,
       "Runs at once (default: every core; 1 to 256)", "N"},
      {"format", 0, 0, G_OPTION_ARG_STRING, &w.format,
       "csv (default), text or svg", "F"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &w.output,
       "Write to FILE instead of stdout", "FILE"},
      {"title", 0, 0, G_OPTION_ARG_STRING, &w.title, "The plot's title (svg)",
       "TEXT"},
      {"curve", 0, 0, G_OPTION_ARG_STRING_ARRAY, &w.curve_specs,
       "Draw a model beside the measurements (svg; repeatable): an "
       "expression of x with numbers, pi, + - * / ** ( ) sqrt exp log log10 "
       "abs",
       "LABEL=EXPR"},
      {"log", 0, 0, G_OPTION_ARG_STRING, &w.log,
       "Logarithmic axes (svg): x, y or xy", "AXES"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *ctx = nl_cli_context_new(
      "sweep", "SCENARIO",
      "Run a scenario over a grid of constants and seeds; report metrics "
      "per cell.",
      entries, &w, sweep_description);
  GError *error = NULL;
  int rc = NL_EXIT_OK;
  GString *out = NULL;
  if (!nl_cli_parse(ctx, &argc, &argv, &rc))
    goto out;
  if (argc != 2) {
    rc = argc < 2 ? nl_cli_usage_error("sweep", "no scenario given")
                  : nl_cli_usage_error("sweep",
                                       "one scenario at a time, not \"%s\" "
                                       "too",
                                       argv[2]);
    goto out;
  }
  w.path = argv[1];
  enum { CSV, TEXT, SVG } format = CSV;
  if (w.format == NULL || strcmp(w.format, "csv") == 0)
    format = CSV;
  else if (strcmp(w.format, "text") == 0)
    format = TEXT;
  else if (strcmp(w.format, "svg") == 0)
    format = SVG;
  else {
    rc = nl_cli_usage_error("sweep", "--format %s: expected csv, text or svg",
                            w.format);
    goto out;
  }
  guint64 v = 1;
  if (w.seeds_s &&
      !nl_cli_parse_uint("--seeds", w.seeds_s, 1, MAX_SEEDS, &v, &error))
    goto bad;
  w.seeds = (guint)v;
  w.jobs = (guint)MAX(g_get_num_processors(), 1);
  if (w.jobs_s) {
    if (!nl_cli_parse_uint("--jobs", w.jobs_s, 1, 256, &v, &error))
      goto bad;
    w.jobs = (guint)v;
  }
  if (w.output && !nl_cli_check_output("--output", w.output, TRUE, &error))
    goto bad;
  if (w.log && strcmp(w.log, "x") != 0 && strcmp(w.log, "y") != 0 &&
      strcmp(w.log, "xy") != 0) {
    rc = nl_cli_usage_error("sweep", "--log %s: expected x, y or xy", w.log);
    goto out;
  }
  if (format != SVG && (w.title || w.curve_specs || w.log)) {
    rc = nl_cli_usage_error("sweep", "--%s is for --format svg",
                            w.title         ? "title"
                            : w.curve_specs ? "curve"
                                            : "log");
    goto out;
  }
  /* The grid. */
  w.params = g_ptr_array_new_with_free_func(param_free);
  guint64 cells = 1;
  for (char **s = w.sets; s && *s; s++) {
    Param *p = parse_set(*s, &error);
    if (p == NULL)
      goto bad;
    for (guint j = 0; j < w.params->len; j++)
      if (strcmp(((Param *)g_ptr_array_index(w.params, j))->name, p->name) ==
          0) {
        g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--set %s: %s is already swept by another --set", *s,
                    p->name);
        param_free(p);
        goto bad;
      }
    g_ptr_array_add(w.params, p);
    cells *= p->values->len;
    if (cells * w.seeds > MAX_RUNS) {
      g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "the grid has more than %d runs (cells x seeds)", MAX_RUNS);
      goto bad;
    }
  }
  if (cells * w.seeds > MAX_RUNS) {
    g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "the grid has more than %d runs (cells x seeds)", MAX_RUNS);
    goto bad;
  }
  if (w.metric_specs == NULL) {
    rc = nl_cli_usage_error("sweep", "no --metric given (like --metric "
                                     "goodput:client:server)");
    goto out;
  }
  if (format == SVG && w.params->len == 0) {
    rc = nl_cli_usage_error("sweep", "--format svg needs a --set for its x "
                                     "axis");
    goto out;
  }
  w.curves = g_ptr_array_new_with_free_func(curve_free);
  for (char **c = w.curve_specs; c && *c; c++) {
    NlSweepCurve *cu = parse_curve(*c, &error);
    if (cu == NULL)
      goto bad;
    g_ptr_array_add(w.curves, cu);
  }
  if (format == SVG && !nl_sweep_plot_available()) {
    fprintf(stderr, "natlab sweep: --format svg draws with gnuplot, which is "
                    "not installed (Debian: apt-get install gnuplot-nox)\n");
    rc = NL_EXIT_ERROR;
    goto out;
  }
  /* Every combination, loaded and built before anything runs. */
  w.n_cells = (guint)cells;
  w.cells = g_new0(Cell, w.n_cells);
  for (guint i = 0; i < w.n_cells; i++) {
    Cell *c = &w.cells[i];
    guint np = w.params->len;
    c->idx = g_new0(guint, MAX(np, 1));
    c->overrides = g_new0(char *, np + 1);
    guint rest = i;
    for (guint j = np; j-- > 0;) {
      const Param *p = g_ptr_array_index(w.params, j);
      c->idx[j] = rest % p->values->len;
      rest /= p->values->len;
      c->overrides[j] = g_strdup_printf(
          "%s=%s", p->name, (char *)g_ptr_array_index(p->values, c->idx[j]));
    }
    c->s = nl_scenario_load(w.path, (const char *const *)c->overrides, &error);
    if (c->s != NULL && !nl_run_build_programs(c->s, &error)) {
      nl_scenario_free(c->s);
      c->s = NULL;
    }
    if (c->s == NULL) {
      if (np > 0) {
        char *which = g_strjoinv(" ", c->overrides);
        fprintf(stderr, "natlab sweep: with %s: %s\n", which, error->message);
        g_free(which);
      } else {
        fprintf(stderr, "natlab sweep: %s\n", error->message);
      }
      rc = NL_EXIT_ERROR;
      goto out;
    }
  }
  /* The metrics, checked against the first combination's scenario. */
  w.metrics =
      g_ptr_array_new_with_free_func((GDestroyNotify)nl_run_metric_free);
  w.trace_mask = NL_RUN_CHECK_KINDS;
  for (char **s = w.metric_specs; *s; s++) {
    NlRunMetric *m = nl_run_metric_parse(*s, w.cells[0].s, &error);
    if (m == NULL) {
      rc = nl_cli_usage_error("sweep", "--metric %s: %s", *s, error->message);
      goto out;
    }
    for (guint i = 0; i < w.metrics->len; i++)
      if (strcmp(nl_run_metric_label(g_ptr_array_index(w.metrics, i)),
                 nl_run_metric_label(m)) == 0) {
        rc = nl_cli_usage_error("sweep",
                                "--metric %s: another metric is called "
                                "\"%s\" too; give one a label "
                                "(LABEL=%s)",
                                *s, nl_run_metric_label(m), *s);
        nl_run_metric_free(m);
        goto out;
      }
    w.trace_mask |= nl_run_metric_trace_kinds(m);
    g_ptr_array_add(w.metrics, m);
  }
  if (format == SVG) {
    const char *u0 = nl_run_metric_unit(g_ptr_array_index(w.metrics, 0));
    for (guint i = 1; i < w.metrics->len; i++) {
      const NlRunMetric *m = g_ptr_array_index(w.metrics, i);
      if (strcmp(nl_run_metric_unit(m), u0) != 0) {
        rc = nl_cli_usage_error(
            "sweep",
            "--format svg draws metrics on one axis: %s is in \"%s\", %s in "
            "\"%s\" (plot them one at a time, or give units: LABEL[UNIT]=)",
            nl_run_metric_label(g_ptr_array_index(w.metrics, 0)), u0,
            nl_run_metric_label(m), nl_run_metric_unit(m));
        goto out;
      }
    }
  }
  /* The runs: cell by cell, seed by seed. */
  w.n_runs = w.n_cells * w.seeds;
  w.runs = g_new0(Run, w.n_runs);
  for (guint i = 0; i < w.n_runs; i++) {
    w.runs[i].cell = i / w.seeds;
    w.runs[i].seed_i = i % w.seeds;
    w.runs[i].fd = -1;
  }
  w.jobs = MIN(w.jobs, w.n_runs);
  run_all(&w);
  for (guint i = 0; i < w.n_runs; i++) {
    const Run *r = &w.runs[i];
    if (r->ran)
      continue;
    const Cell *c = &w.cells[r->cell];
    char *which = g_strjoinv(" ", c->overrides);
    fprintf(stderr, "natlab sweep: %s%sseed %" G_GUINT64_FORMAT ": %s\n", which,
            which[0] ? ", " : "", c->s->seed + r->seed_i,
            r->error ? r->error : "did not run");
    g_free(which);
    rc = NL_EXIT_FAILED;
  }
  out = g_string_new(NULL);
  if (format == CSV) {
    write_csv(&w, out);
  } else if (format == TEXT) {
    write_text(&w, out);
  } else {
    char *svg = write_svg(&w, &error);
    if (svg == NULL) {
      fprintf(stderr, "natlab sweep: %s\n", error->message);
      rc = NL_EXIT_FAILED;
      goto out;
    }
    g_string_assign(out, svg);
    g_free(svg);
  }
  if (w.output && strcmp(w.output, "-") != 0) {
    if (!g_file_set_contents(w.output, out->str, (gssize)out->len, &error)) {
      fprintf(stderr, "natlab sweep: %s\n", error->message);
      rc = NL_EXIT_ERROR;
    }
  } else {
    fputs(out->str, stdout);
  }
  goto out;
bad:
  rc = nl_cli_usage_error("sweep", "%s", error->message);
out:
  if (out)
    g_string_free(out, TRUE);
  g_clear_error(&error);
  sweep_clear(&w);
  g_option_context_free(ctx);
  return rc;
}
