/* natlab sweep's plot: a gnuplot script from the sweep's table, run with
 * gnuplot's default settings (-d: no ~/.gnuplot) in the C locale, its
 * output cleaned of the one version-dependent line.  See sweep-plot.h.
 */
#include "tools/sweep-plot.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Series colours (the timelines' green and amber first) and points. */
static const char *const colours[] = {"#2e8b3e", "#d98c00", "#1565c0",
                                      "#c62828", "#6a1b9a", "#00838f",
                                      "#5d4037", "#ad1457"};
static const int points[] = {7, 5, 9, 13, 11, 15};
static const char *const curve_colours[] = {"#444444", "#8d6e63", "#78909c"};

gboolean nl_sweep_plot_check_expr(const char *expr, GError **error) {
  static const char *const funcs[] = {"sqrt", "exp", "log10", "log", "abs"};
  const char *p = expr;
  int depth = 0;
  gboolean any = FALSE;
  while (*p) {
    if (*p == ' ') {
      p++;
      continue;
    }
    any = TRUE;
    if (g_ascii_isdigit(*p) || *p == '.') {
      while (g_ascii_isdigit(*p) || *p == '.')
        p++;
      if ((*p == 'e' || *p == 'E') &&
          (g_ascii_isdigit(p[1]) ||
           ((p[1] == '-' || p[1] == '+') && g_ascii_isdigit(p[2])))) {
        p += 2;
        while (g_ascii_isdigit(*p))
          p++;
      }
      continue;
    }
    if (g_ascii_isalpha(*p)) {
      const char *s = p;
      while (g_ascii_isalnum(*p))
        p++;
      gsize n = (gsize)(p - s);
      if ((n == 1 && *s == 'x') || (n == 2 && strncmp(s, "pi", 2) == 0))
        continue;
      gboolean ok = FALSE;
      for (gsize i = 0; i < G_N_ELEMENTS(funcs); i++)
        ok |= strlen(funcs[i]) == n && strncmp(s, funcs[i], n) == 0;
      if (ok && *p == '(')
        continue;
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "column %d: \"%.*s\" is not x, pi or one of sqrt( exp( "
                  "log( log10( abs(",
                  (int)(s - expr) + 1, (int)n, s);
      return FALSE;
    }
    if (*p == '(') {
      depth++;
    } else if (*p == ')') {
      if (--depth < 0)
        break;
    } else if (!strchr("+-*/", *p)) {
      break;
    }
    p++;
  }
  if (*p != '\0' || depth != 0 || !any) {
    char *where = *p ? g_strdup_printf("column %d", (int)(p - expr) + 1)
                     : g_strdup(any ? "unbalanced parentheses" : "empty");
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s: expected an expression of x with numbers, pi, + - * / "
                "** ( ) sqrt( exp( log( log10( abs(",
                where);
    g_free(where);
    return FALSE;
  }
  return TRUE;
}

gboolean nl_sweep_plot_available(void) {
  char *path = g_find_program_in_path("gnuplot");
  g_free(path);
  return path != NULL;
}

/* A gnuplot single-quoted string: nothing inside is substituted; a quote
 * is doubled; control characters become spaces. */
static void quoted(GString *out, const char *s) {
  g_string_append_c(out, '\'');
  for (; *s; s++) {
    if (*s == '\'')
      g_string_append(out, "''");
    else if ((guchar)*s < 0x20)
      g_string_append_c(out, ' ');
    else
      g_string_append_c(out, *s);
  }
  g_string_append_c(out, '\'');
}

static void num(GString *out, double v) {
  char b[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(out, g_ascii_formatd(b, sizeof b, "%.10g", v));
}

static char *script(const NlSweepPlot *p, guint *n_plotted) {
  GString *g = g_string_new(NULL);
  g_string_append(g, "set terminal svg size 800,520 fixed noenhanced "
                     "font 'DejaVu Sans,15' background '#ffffff'\n"
                     "set encoding utf8\n"
                     "set border 3 lw 1.2\nset tics nomirror out\n"
                     "set grid ytics lc rgb '#dddddd' lw 1 dt 1\n"
                     "set key below center horizontal noautotitle\n"
                     "set samples 400\n");
  g_string_append(g, "set title ");
  quoted(g, p->title);
  g_string_append(g, " font ',18'\nset xlabel ");
  quoted(g, p->xlabel);
  g_string_append(g, "\nset ylabel ");
  quoted(g, p->ylabel);
  g_string_append_c(g, '\n');
  /* Large numbers in full (1800000), never as 1.8e+06. */
  double top = 0;
  for (guint s = 0; s < p->series->len; s++) {
    const NlSweepSeries *se = g_ptr_array_index(p->series, s);
    for (guint i = 0; i < p->n_x; i++)
      if (!isnan(se->hi[i]))
        top = MAX(top, fabs(se->hi[i]));
  }
  if (top >= 1e5)
    g_string_append(g, "set format y '%.0f'\n");
  if (p->log_y)
    g_string_append(g, "set logscale y\n");
  else
    g_string_append(g, "set yrange [0:*]\n");
  if (p->x == NULL) {
    g_string_append_printf(g, "set xrange [-0.5:%g]\nset xtics (",
                           p->n_x - 0.5);
    for (guint i = 0; i < p->n_x; i++) {
      if (i)
        g_string_append(g, ", ");
      quoted(g, p->x_names[i]);
      g_string_append_printf(g, " %u", i);
    }
    g_string_append(g, ")\n");
  } else {
    /* A margin of 5% on either side, so that no point sits on an axis. */
    double lo = p->x[0], hi = p->x[0];
    for (guint i = 1; i < p->n_x; i++) {
      lo = MIN(lo, p->x[i]);
      hi = MAX(hi, p->x[i]);
    }
    if (p->log_x) {
      g_string_append(g, "set logscale x\n");
      if (lo > 0) {
        g_string_append(g, "set xrange [");
        num(g, lo / 1.15);
        g_string_append_c(g, ':');
        num(g, hi * 1.15);
        g_string_append(g, "]\n");
      }
    } else {
      double pad = hi > lo ? (hi - lo) * 0.05 : MAX(fabs(lo) * 0.1, 1);
      g_string_append(g, "set xrange [");
      num(g, lo - pad);
      g_string_append_c(g, ':');
      num(g, hi + pad);
      g_string_append(g, "]\n");
    }
  }
  /* The data, inline: x mean lo hi, one block per series. */
  guint plotted = 0;
  GString *plot = g_string_new("plot ");
  for (guint s = 0; s < p->series->len; s++) {
    const NlSweepSeries *se = g_ptr_array_index(p->series, s);
    GString *d = g_string_new(NULL);
    guint rows = 0;
    /* Categories: each series a little to the side, so that equal
     * values do not hide each other. */
    double dodge = p->x ? 0
                        : ((double)s - (p->series->len - 1) / 2.0) *
                              MIN(0.5 / MAX(p->series->len, 1u), 0.12);
    for (guint i = 0; i < p->n_x; i++) {
      if (isnan(se->mean[i]))
        continue;
      num(d, p->x ? p->x[i] : (double)i + dodge);
      g_string_append_c(d, ' ');
      num(d, se->mean[i]);
      g_string_append_c(d, ' ');
      num(d, se->lo[i]);
      g_string_append_c(d, ' ');
      num(d, se->hi[i]);
      g_string_append_c(d, '\n');
      rows++;
    }
    if (rows > 0) {
      g_string_append_printf(g, "$d%u << EOD\n%sEOD\n", s, d->str);
      if (plotted++)
        g_string_append(plot, ", \\\n  ");
      g_string_append_printf(plot,
                             "$d%u using 1:2:3:4 with %s lw 2.5 "
                             "pt %d ps 1.3 lc rgb '%s' title ",
                             s, p->x ? "yerrorlines" : "yerrorbars",
                             points[s % G_N_ELEMENTS(points)],
                             colours[s % G_N_ELEMENTS(colours)]);
      quoted(plot, se->label);
    }
    g_string_free(d, TRUE);
  }
  for (guint c = 0; p->curves && c < p->curves->len; c++) {
    const NlSweepCurve *cu = g_ptr_array_index(p->curves, c);
    if (plotted++)
      g_string_append(plot, ", \\\n  ");
    g_string_append_printf(plot,
                           "(%s) with lines lw 2 dt %u lc rgb '%s' "
                           "title ",
                           cu->expr, 2 + c % 3,
                           curve_colours[c % G_N_ELEMENTS(curve_colours)]);
    quoted(plot, cu->label);
  }
  g_string_append(g, plot->str);
  g_string_append_c(g, '\n');
  g_string_free(plot, TRUE);
  *n_plotted = plotted;
  return g_string_free(g, FALSE);
}

char *nl_sweep_plot_svg(const NlSweepPlot *p, GError **error) {
  guint n = 0;
  char *text = script(p, &n);
  char *svg = NULL, *path = NULL, *gnuplot = NULL, *out = NULL, *err = NULL;
  gboolean has_series = FALSE;
  for (guint s = 0; s < p->series->len; s++) {
    const NlSweepSeries *se = g_ptr_array_index(p->series, s);
    for (guint i = 0; i < p->n_x; i++)
      has_series |= !isnan(se->mean[i]);
  }
  if (!has_series) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "no cell has a value to plot");
    goto out;
  }
  gnuplot = g_find_program_in_path("gnuplot");
  if (gnuplot == NULL) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                "--format svg draws with gnuplot, which is not installed "
                "(Debian: apt-get install gnuplot-nox)");
    goto out;
  }
  int fd = g_file_open_tmp("natlab-sweep-XXXXXX.gp", &path, error);
  if (fd < 0)
    goto out;
  close(fd);
  if (!g_file_set_contents(path, text, -1, error))
    goto out;
  /* Nothing of the user's environment reaches gnuplot: its settings are
   * the defaults (-d), numbers are C's. */
  char *argv[] = {gnuplot, (char *)"-d", path, NULL};
  char *envp[] = {(char *)"LC_ALL=C", (char *)"PATH=/usr/bin:/bin",
                  (char *)"HOME=/nonexistent", NULL};
  int status = 0;
  if (!g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                    &status, error))
    goto out;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out[0] == '\0') {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "gnuplot failed: %s",
                g_strstrip(err));
    goto out;
  }
  /* The one line that depends on gnuplot's version. */
  GString *s = g_string_new(out);
  const char *d = strstr(s->str, "<desc>Produced by GNUPLOT");
  if (d != NULL) {
    const char *e = strstr(d, "</desc>");
    if (e != NULL)
      g_string_erase(s, d - s->str, e - d);
    g_string_insert(s, d - s->str, "<desc>natlab sweep (gnuplot)");
  }
  /* The document's title is the plot's, not "Gnuplot". */
  const char *tt = strstr(s->str, "<title>Gnuplot</title>");
  if (tt != NULL) {
    gsize at = (gsize)(tt - s->str);
    g_string_erase(s, (gssize)at, (gssize)strlen("<title>Gnuplot</title>"));
    char *esc = g_markup_escape_text(p->title, -1);
    char *t = g_strdup_printf("<title>%s</title>", esc);
    g_string_insert(s, (gssize)at, t);
    g_free(t);
    g_free(esc);
  }
  svg = g_string_free(s, FALSE);
out:
  if (path != NULL) {
    g_unlink(path);
    g_free(path);
  }
  g_free(gnuplot);
  g_free(out);
  g_free(err);
  g_free(text);
  (void)n;
  return svg;
}
