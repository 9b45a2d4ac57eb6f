/* natlab run --check-determinism (see natlab-determinism.h).
 *
 * A second run in the same process would share everything a process has:
 * its environment, time zone, locale, working directory, loaded objects,
 * allocator state.  So the second run is a fresh natlab, started before
 * the first run begins (and before natlab seals itself), with everything
 * of the real machine that could leak into a run made different: TZ,
 * LANG and LC_ALL, HOME and the working directory (fresh temporary ones),
 * and one more variable.  The child loads the scenario and waits on its
 * standard input; the parent closes that pipe when its own run is over,
 * so the runs follow each other as two runs by hand would (at the same
 * time, programs that use real files could race each other).
 *
 * The child writes what its run produced -- every trace record with its
 * payload bytes, the pcap capture, the timeline (DOT) -- into a folder;
 * the parent writes its own the same way and compares them, whatever
 * output options were given (both runs record every kind of record).  The
 * first difference is reported with its virtual time and host.
 */
#include "tools/natlab-determinism.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export/pcap.h"
#include "export/timeline.h"
#include "sim/core/trace.h"

struct NlDetCheck {
  char *base;  /* the temporary folder, removed at the end */
  char *first; /* base/first: the first run's files */
  char *second; /* base/second: the child's */
  GPid pid;
  int err_fd; /* the child's stderr */
  int go_fd;  /* the child's stdin: closed when it may run */
  char *env_summary;
};

#define RECORDS "records.txt"
#define CAPTURE "capture.pcap"
#define TIMELINE "timeline.dot"

/* A value other than natlab's own for @name. */
static const char *other(const char *name, const char *a, const char *b) {
  const char *v = g_getenv(name);
  return v != NULL && strcmp(v, a) == 0 ? b : a;
}

NlDetCheck *nl_det_start(const NlDetArgs *args, GError **error) {
  NlDetCheck *d = g_new0(NlDetCheck, 1);
  d->err_fd = -1;
  d->go_fd = -1;
  d->base = g_dir_make_tmp("natlab-determinism-XXXXXX", error);
  if (d->base == NULL) {
    g_free(d);
    return NULL;
  }
  d->first = g_build_filename(d->base, "first", NULL);
  d->second = g_build_filename(d->base, "second", NULL);
  char *home = g_build_filename(d->base, "home", NULL);
  char *cwd = g_build_filename(d->base, "cwd", NULL);
  g_mkdir_with_parents(d->first, 0700);
  g_mkdir_with_parents(d->second, 0700);
  g_mkdir_with_parents(home, 0700);
  g_mkdir_with_parents(cwd, 0700);

  const char *tz = other("TZ", "Asia/Kathmandu", "America/New_York");
  const char *lang = other("LANG", "POSIX", "C.UTF-8");
  const char *lc_all = other("LC_ALL", "C.UTF-8", "POSIX");
  char **env = g_get_environ();
  /* The build cache stays the parent's: the programs are built once. */
  env = g_environ_setenv(env, "XDG_CACHE_HOME", g_get_user_cache_dir(), TRUE);
  env = g_environ_setenv(env, "TZ", tz, TRUE);
  env = g_environ_setenv(env, "LANG", lang, TRUE);
  env = g_environ_setenv(env, "LC_ALL", lc_all, TRUE);
  env = g_environ_setenv(env, "HOME", home, TRUE);
  env = g_environ_setenv(env, "PWD", cwd, TRUE);
  env = g_environ_setenv(env, "NATLAB_DETERMINISM_PROBE", "second-run", TRUE);
  d->env_summary = g_strdup_printf(
      "TZ=%s, LANG=%s, LC_ALL=%s, another HOME and working directory, and "
      "NATLAB_DETERMINISM_PROBE set",
      tz, lang, lc_all);

  GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(argv, g_strdup("/proc/self/exe"));
  g_ptr_array_add(argv, g_strdup("run"));
  g_ptr_array_add(argv, g_canonicalize_filename(args->scenario, NULL));
  g_ptr_array_add(argv, g_strdup("--quiet"));
  g_ptr_array_add(argv, g_strdup_printf("--determinism-child=%s", d->second));
  if (args->seed_set)
    g_ptr_array_add(argv, g_strdup_printf("--seed=%" G_GUINT64_FORMAT,
                                          args->seed));
  for (char **s = args->sets; s && *s; s++)
    g_ptr_array_add(argv, g_strdup_printf("--set=%s", *s));
  if (args->watchdog_ms)
    g_ptr_array_add(argv, g_strdup_printf("--watchdog=%" G_GUINT64_FORMAT,
                                          args->watchdog_ms));
  g_ptr_array_add(argv, NULL);
  gboolean ok = g_spawn_async_with_pipes(
      cwd, (char **)argv->pdata, env,
      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
      &d->pid, &d->go_fd, NULL, &d->err_fd, error);
  g_ptr_array_free(argv, TRUE);
  g_strfreev(env);
  g_free(home);
  g_free(cwd);
  if (!ok) {
    g_prefix_error(error, "cannot start the second run: ");
    d->pid = 0;
    nl_det_finish(d, NULL, NULL, NULL);
    return NULL;
  }
  return d;
}

/* ---- what a run produced ---- */

/* One line per record, written a block at a time as the records are
 * read (a large run's dump is gigabytes): time, node, peer, id, aux, the
 * text form, the payload in hex, separated by tabs. */
static gboolean write_records(NlTrace *t, const char *path, GError **error) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "%s: %s", path, g_strerror(errno));
    return FALSE;
  }
  static const char digits[] = "0123456789abcdef";
  GString *out = g_string_sized_new((64 << 10) + 4096);
  GString *text = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    g_string_truncate(text, 0);
    nl_trace_format(t, rec, p, text);
    /* No tab or newline of a record's text may split its fields. */
    g_strdelimit(text->str, "\t\n", ' ');
    g_string_append_printf(out, "%" G_GINT64_FORMAT "\t%s\t%s\t%u\t%u\t%s\t",
                           (gint64)rec->time, nl_trace_name(t, rec->node),
                           nl_trace_name(t, rec->peer), (unsigned)rec->id,
                           (unsigned)rec->aux, text->str);
    gsize at = out->len;
    g_string_set_size(out, at + 2 * (gsize)rec->len);
    for (guint32 i = 0; i < rec->len; i++) {
      out->str[at + 2 * i] = digits[p[i] >> 4];
      out->str[at + 2 * i + 1] = digits[p[i] & 15];
    }
    g_string_append_c(out, '\n');
    if (out->len >= (64 << 10)) {
      fwrite(out->str, 1, out->len, f);
      g_string_truncate(out, 0);
    }
  }
  fwrite(out->str, 1, out->len, f);
  g_string_free(text, TRUE);
  g_string_free(out, TRUE);
  gboolean ok = !ferror(f);
  ok = (fclose(f) == 0) && ok;
  if (!ok)
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: write failed",
                path);
  return ok;
}

static gboolean write_all(const char *dir, NlRun *run, const NlScenario *s,
                          GError **error) {
  NlTrace *t = nl_run_trace(run);
  char *records = g_build_filename(dir, RECORDS, NULL);
  char *capture = g_build_filename(dir, CAPTURE, NULL);
  char *timeline = g_build_filename(dir, TIMELINE, NULL);
  NlTimelineOptions topts;
  memset(&topts, 0, sizeof topts);
  topts.title = "determinism";
  topts.kinds = NL_TIMELINE_DEFAULT_KINDS & ~s->timeline.hide;
  gboolean ok = write_records(t, records, error) &&
                nl_pcap_write(t, capture, NULL, error) &&
                nl_timeline_write(t, timeline, &topts, error);
  g_free(records);
  g_free(capture);
  g_free(timeline);
  return ok;
}

gboolean nl_det_child_write(const char *dir, NlRun *run, const NlScenario *s,
                            GError **error) {
  return write_all(dir, run, s, error);
}

gboolean nl_det_child_wait(void) {
  char buf[64];
  ssize_t n;
  gboolean go = TRUE;
  while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0 ||
         (n < 0 && errno == EINTR))
    go &= n <= 0 || memchr(buf, 'q', (size_t)n) == NULL;
  return go;
}

/* ---- comparing ---- */

static char *read_file(const char *dir, const char *name, gsize *len) {
  char *path = g_build_filename(dir, name, NULL);
  char *data = NULL;
  if (!g_file_get_contents(path, &data, len, NULL)) {
    data = NULL;
    *len = 0;
  }
  g_free(path);
  return data;
}

/* The next line of @f without its newline, in @line; FALSE at the end
 * (@line is then ""). */
static gboolean next_line(FILE *f, GString *line) {
  g_string_truncate(line, 0);
  if (f == NULL)
    return FALSE;
  char buf[4096];
  while (fgets(buf, sizeof buf, f) != NULL) {
    gsize n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n') {
      g_string_append_len(line, buf, (gssize)n - 1);
      return TRUE;
    }
    g_string_append_len(line, buf, (gssize)n);
  }
  return line->len > 0;
}

/* The first differing record of the two dumps (files, read a line at a
 * time: a large run's are gigabytes); FALSE when the same. */
static gboolean diff_records(const char *path_a, const char *path_b,
                             GString *out) {
  FILE *fa = fopen(path_a, "r"), *fb = fopen(path_b, "r");
  GString *lx = g_string_new(NULL), *ly = g_string_new(NULL);
  gboolean differ = FALSE;
  for (guint i = 0;; i++) {
    gboolean ha = next_line(fa, lx), hb = next_line(fb, ly);
    if (!ha && !hb)
      break;
    const char *x = lx->str, *y = ly->str;
    if (strcmp(x, y) == 0)
      continue;
    char **fx = g_strsplit(x, "\t", 7), **fy = g_strsplit(y, "\t", 7);
    char **f = g_strv_length(fx) == 7 ? fx : fy;
    char tb[NL_TIME_STRLEN] = "?";
    if (g_strv_length(f) == 7)
      nl_time_to_string((NlTime)g_ascii_strtoll(f[0], NULL, 10), tb);
    g_string_append_printf(out,
                           "record %u at virtual time %s on %s differs:\n"
                           "  run 1: %s\n  run 2: %s\n",
                           i, tb, g_strv_length(f) == 7 ? f[1] : "?",
                           g_strv_length(fx) == 7 ? fx[5] : "(trace ended)",
                           g_strv_length(fy) == 7 ? fy[5] : "(trace ended)");
    if (g_strv_length(fx) == 7 && g_strv_length(fy) == 7 &&
        strcmp(fx[5], fy[5]) == 0) {
      gsize k = 0;
      while (fx[6][k] && fx[6][k] == fy[6][k])
        k++;
      g_string_append_printf(out,
                             "  (the same record, but its payload differs "
                             "from byte %" G_GSIZE_FORMAT ")\n",
                             k / 2);
    }
    g_strfreev(fx);
    g_strfreev(fy);
    differ = TRUE;
    break;
  }
  g_string_free(lx, TRUE);
  g_string_free(ly, TRUE);
  if (fa != NULL)
    fclose(fa);
  if (fb != NULL)
    fclose(fb);
  return differ;
}

/* The first differing packet of two pcap files; FALSE when the same. */
static gboolean diff_capture(const guint8 *a, gsize na, const guint8 *b,
                             gsize nb, GString *out) {
  if (na == nb && memcmp(a, b, na) == 0)
    return FALSE;
  gsize k = 0;
  while (k < na && k < nb && a[k] == b[k])
    k++;
  /* Walk the records (24-byte file header, 16-byte record headers). */
  guint packet = 0;
  gsize off = 24;
  guint32 sec = 0, frac = 0;
  while (off + 16 <= MIN(na, nb) && off <= k) {
    guint32 incl;
    memcpy(&sec, a + off, 4);
    memcpy(&frac, a + off + 4, 4);
    memcpy(&incl, a + off + 8, 4);
    if (k < off + 16 + incl)
      break;
    off += 16 + incl;
    packet++;
  }
  if (k < 24)
    g_string_append(out, "the captures' file headers differ\n");
  else
    g_string_append_printf(out,
                           "the captures differ at packet %u (captured at "
                           "%u.%06u s)%s\n",
                           packet + 1, sec, frac,
                           na != nb ? "; they differ in length too" : "");
  return TRUE;
}

static gboolean diff_text(const char *what, const char *a, const char *b,
                          GString *out) {
  if (g_strcmp0(a, b) == 0)
    return FALSE;
  char **la = g_strsplit(a ? a : "", "\n", -1),
       **lb = g_strsplit(b ? b : "", "\n", -1);
  guint i = 0;
  while (la[i] && lb[i] && strcmp(la[i], lb[i]) == 0)
    i++;
  g_string_append_printf(out, "the %s differ at line %u:\n  run 1: %s\n"
                              "  run 2: %s\n",
                         what, i + 1, la[i] ? la[i] : "(ended)",
                         lb[i] ? lb[i] : "(ended)");
  g_strfreev(la);
  g_strfreev(lb);
  return TRUE;
}

static void remove_tree(const char *path) {
  GDir *dir = g_dir_open(path, 0, NULL);
  if (dir != NULL) {
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL) {
      char *child = g_build_filename(path, name, NULL);
      if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
          !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        remove_tree(child);
      else
        g_unlink(child);
      g_free(child);
    }
    g_dir_close(dir);
  }
  g_rmdir(path);
}

static char *read_all_fd(int fd) {
  GString *s = g_string_new(NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 ||
         (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len(s, buf, n);
  return g_string_free(s, FALSE);
}

int nl_det_finish(NlDetCheck *d, NlRun *run, const NlScenario *s,
                  FILE *report) {
  int rc = 0;
  char *child_err = NULL;
  int status = 0;
  if (d->go_fd >= 0) {
    /* The first run is over: the second may start, or must not when the
     * first could not run ("q"). */
    if (run == NULL)
      (void)!write(d->go_fd, "q", 1);
    close(d->go_fd);
  }
  if (d->err_fd >= 0) {
    child_err = read_all_fd(d->err_fd);
    close(d->err_fd);
  }
  if (d->pid > 0) {
    while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
      ;
    g_spawn_close_pid(d->pid);
  }
  if (run == NULL)
    goto out;
  GError *error = NULL;
  if (!g_spawn_check_wait_status(status, NULL)) {
    fprintf(stderr,
            "natlab run: the second run (a fresh process with %s) failed:\n%s",
            d->env_summary, child_err ? child_err : "");
    rc = 2;
    goto out;
  }
  if (!write_all(d->first, run, s, &error)) {
    fprintf(stderr, "natlab run: %s\n", error->message);
    g_error_free(error);
    rc = 2;
    goto out;
  }
  gsize n1, n2;
  char *r1 = g_build_filename(d->first, RECORDS, NULL);
  char *r2 = g_build_filename(d->second, RECORDS, NULL);
  char *c1 = read_file(d->first, CAPTURE, &n1);
  gsize m1 = n1;
  char *c2 = read_file(d->second, CAPTURE, &n2);
  gsize m2 = n2;
  char *t1 = read_file(d->first, TIMELINE, &n1);
  char *t2 = read_file(d->second, TIMELINE, &n2);
  GString *diff = g_string_new(NULL);
  gboolean differ =
      !g_file_test(r2, G_FILE_TEST_IS_REGULAR)
          ? (g_string_append(diff, "the second run wrote no trace\n"), TRUE)
          : diff_records(r1, r2, diff) ||
                       diff_capture((const guint8 *)c1, c1 ? m1 : 0,
                                    (const guint8 *)c2, c2 ? m2 : 0, diff) ||
                       diff_text("timelines", t1, t2, diff);
  if (differ) {
    fprintf(report,
            "NOT deterministic: the second run (a fresh process with %s) "
            "differs from the first: %s",
            d->env_summary, diff->str);
    rc = 3;
  } else {
    fprintf(report,
            "deterministic: two runs gave identical traces (%" G_GUINT64_FORMAT
            " records with their payloads), captures and timelines; the "
            "second ran in a fresh process with %s\n",
            nl_trace_count(nl_run_trace(run)), d->env_summary);
  }
  g_string_free(diff, TRUE);
  g_free(r1);
  g_free(r2);
  g_free(c1);
  g_free(c2);
  g_free(t1);
  g_free(t2);
out:
  g_free(child_err);
  remove_tree(d->base);
  g_free(d->base);
  g_free(d->first);
  g_free(d->second);
  g_free(d->env_summary);
  g_free(d);
  return rc;
}
