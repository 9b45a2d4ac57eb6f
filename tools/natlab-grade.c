/* natlab grade: the command line of grading (docs/grading.md).
 *
 *   natlab grade ASSIGNMENT SUBMISSION... [--format F] [-o PATH] [--jobs N]
 *                [--seed N] [--seeds K] [--shard I/N]
 *   natlab grade --merge RESULT... [--format F] [-o PATH]
 *
 * Exit status: 0 when every submission was graded (whatever the scores),
 * 2 for a broken assignment (file:line:col) or wrong arguments.
 */
#include "tools/cli.h"
#include "tools/commands.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "grade/grade.h"

typedef struct {
  char *format;
  char *out;
  gint jobs;
  char *seed;
  gint seeds;
  char *shard;
  gboolean merge;
} GradeArgs;

static gboolean parse_u64(const char *s, guint64 *out) {
  return s != NULL && g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, out,
                                                 NULL);
}

int nl_cmd_grade(int argc, char **argv) {
  GradeArgs a = {0};
  GOptionEntry entries[] = {
      {"format", 0, 0, G_OPTION_ARG_STRING, &a.format,
       "Report format: text (default), tap, junit or gradescope", "F"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &a.out,
       "The report file; with several submissions, text and gradescope "
       "reports go into this folder, one file each",
       "PATH"},
      {"jobs", 'j', 0, G_OPTION_ARG_INT, &a.jobs,
       "Test runs at once (default: every core)", "N"},
      {"seed", 0, 0, G_OPTION_ARG_STRING, &a.seed,
       "Replace every test's seed", "N"},
      {"seeds", 0, 0, G_OPTION_ARG_INT, &a.seeds,
       "Run every test under K seeds and flag tests whose outcome depends "
       "on the seed",
       "K"},
      {"shard", 0, 0, G_OPTION_ARG_STRING, &a.shard,
       "Grade only the I-th of N parts and write its results file to -o",
       "I/N"},
      {"merge", 0, 0, G_OPTION_ARG_NONE, &a.merge,
       "Combine the results files of every shard (the arguments) into "
       "the report a single run gives",
       NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *ctx = nl_cli_context_new(
      "grade", "ASSIGNMENT SUBMISSION... | --merge RESULT...",
      "Grade submissions against an assignment (docs/grading.md)", entries,
      NULL,
      "Exit status: 0 when every submission was graded, whatever the "
      "scores;\n2 for a broken assignment (file:line:col) or wrong "
      "arguments.");
  GError *error = NULL;
  int rc = 2;
  NlAssignment *asg = NULL;
  NlGradeRun *run = NULL;
  NlGradeResults *res = NULL;
  NlGradeFormat format = NL_GRADE_FORMAT_TEXT;
  NlGradeOptions o = {0};
  if (!nl_cli_parse(ctx, &argc, &argv, &rc))
    goto out;
  rc = 2;
  if (a.format == NULL || strcmp(a.format, "text") == 0)
    format = NL_GRADE_FORMAT_TEXT;
  else if (strcmp(a.format, "tap") == 0)
    format = NL_GRADE_FORMAT_TAP;
  else if (strcmp(a.format, "junit") == 0)
    format = NL_GRADE_FORMAT_JUNIT;
  else if (strcmp(a.format, "gradescope") == 0)
    format = NL_GRADE_FORMAT_GRADESCOPE;
  else {
    fprintf(stderr,
            "natlab grade: --format %s: expected text, tap, junit or "
            "gradescope\n",
            a.format);
    goto out;
  }
  if (a.jobs < 0 || a.seeds < 0 || a.seeds > 1000) {
    fprintf(stderr, "natlab grade: --jobs and --seeds want a positive "
                    "number (--seeds at most 1000)\n");
    goto out;
  }
  o.jobs = (guint)a.jobs;
  o.seeds = (guint)a.seeds;
  if (a.seed != NULL) {
    if (!parse_u64(a.seed, &o.seed)) {
      fprintf(stderr, "natlab grade: --seed wants a non-negative integer, "
                      "got \"%s\"\n",
              a.seed);
      goto out;
    }
    o.seed_set = TRUE;
  }
  if (a.shard != NULL) {
    guint64 i = 0, n = 0;
    char **parts = g_strsplit(a.shard, "/", 2);
    gboolean ok = g_strv_length(parts) == 2 && parse_u64(parts[0], &i) &&
                  parse_u64(parts[1], &n) && n >= 1 && n <= 100000 &&
                  i >= 1 && i <= n;
    g_strfreev(parts);
    if (!ok) {
      fprintf(stderr, "natlab grade: --shard %s: expected I/N with 1 <= I "
                      "<= N, like 2/4\n",
              a.shard);
      goto out;
    }
    if (a.out == NULL || a.merge) {
      fprintf(stderr, "natlab grade: --shard writes its results file to "
                      "-o PATH (merge them with --merge)\n");
      goto out;
    }
    o.shard = (guint)i;
    o.shards = (guint)n;
  }
  if (a.merge) {
    if (argc < 2) {
      fprintf(stderr, "natlab grade: --merge wants the results files of "
                      "every shard\n");
      goto out;
    }
    res = nl_grade_results_merge(argv + 1, &error);
    if (res == NULL) {
      fprintf(stderr, "natlab grade: %s\n", error->message);
      goto out;
    }
  } else {
    if (argc < 3) {
      char *help = g_option_context_get_help(ctx, TRUE, NULL);
      fputs(help, stderr);
      g_free(help);
      goto out;
    }
    asg = nl_assignment_load(argv[1], &error);
    if (asg == NULL) {
      fprintf(stderr, "%s\n", error->message);
      goto out;
    }
    run = nl_grade_run(asg, argv + 2, &o, &error);
    if (run == NULL) {
      fprintf(stderr, "natlab grade: %s\n", error->message);
      goto out;
    }
    if (o.shards > 0) {
      if (!nl_grade_run_write(run, a.out, &error)) {
        fprintf(stderr, "natlab grade: %s\n", error->message);
        goto out;
      }
      rc = 0;
      goto out;
    }
    res = nl_grade_run_results(run, &error);
    if (res == NULL) {
      fprintf(stderr, "natlab grade: %s\n", error->message);
      goto out;
    }
  }
  if (!nl_grade_report(res, format, a.out, &error)) {
    fprintf(stderr, "natlab grade: %s\n", error->message);
    goto out;
  }
  rc = 0;
out:
  g_clear_error(&error);
  nl_grade_results_free(res);
  nl_grade_run_free(run);
  nl_assignment_free(asg);
  g_free(a.format);
  g_free(a.out);
  g_free(a.seed);
  g_free(a.shard);
  g_option_context_free(ctx);
  return rc;
}
