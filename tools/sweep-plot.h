/* The plot of `natlab sweep --format svg`: a slide-sized SVG drawn by
 * gnuplot (its svg terminal at a fixed size and font), one line with
 * error bars per series, model curves dashed.  The same table gives the
 * same bytes: gnuplot gets its data inline, runs with its default
 * settings in the C locale, and the one line of its output that names
 * its version is replaced.
 */
#ifndef NL_TOOLS_SWEEP_PLOT_H
#define NL_TOOLS_SWEEP_PLOT_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *label;
  double *mean, *lo, *hi; /* one per x; NAN where there is no value */
} NlSweepSeries;

typedef struct {
  char *label;
  char *expr; /* checked with nl_sweep_plot_check_expr() */
} NlSweepCurve;

typedef struct {
  const char *title;
  const char *xlabel, *ylabel;
  guint n_x;
  const char *const *x_names; /* the x values as written */
  const double *x;            /* their numbers; NULL: categories */
  GPtrArray *series;          /* NlSweepSeries* */
  GPtrArray *curves;          /* NlSweepCurve*; may be NULL */
  gboolean log_x, log_y;
} NlSweepPlot;

/**
 * nl_sweep_plot_check_expr: whether @expr is an expression of x that a
 * curve may plot: numbers, x, pi, + - * / ** ( ) and the functions sqrt,
 * exp, log, log10 and abs -- nothing else reaches gnuplot.
 * Returns: FALSE with @error naming the first character that is not.
 */
gboolean nl_sweep_plot_check_expr(const char *expr, GError **error);

/* Whether gnuplot can be found (on PATH). */
gboolean nl_sweep_plot_available(void);

/**
 * nl_sweep_plot_svg: draws @p with gnuplot.
 * Returns: (transfer full) the SVG text, or NULL with @error.
 */
char *nl_sweep_plot_svg(const NlSweepPlot *p,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
