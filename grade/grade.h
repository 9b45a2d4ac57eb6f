/* Grading: an assignment (a rubric and graded test scenarios) applied to
 * submissions (folders of C sources), each graded test run in its own
 * confined child process, and reports in four formats.
 *
 * The user's guide is docs/grading.md.  The flow:
 *
 *   nl_assignment_load()  the rubric and its test files, checked (errors
 *                         name file:line:col; `natlab grade` exits 2)
 *   nl_grade_run()        builds each submission with natlab-cc, runs every
 *                         (submission, test file, seed) unit of this shard
 *                         in a sandboxed child (grade/sandbox.c) and
 *                         collects the results into an NlGradeResults
 *   nl_grade_results_*    results as a text file (a shard's output for
 *                         --merge) and back; merging
 *   nl_grade_report()     text, TAP 13, JUnit XML, Gradescope JSON
 *
 * Every string a report holds comes from the submission, the assignment
 * and virtual time: never a path of this machine, the wall clock or the
 * order in which children finished.
 */
#ifndef NL_GRADE_H
#define NL_GRADE_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define NL_GRADE_ERROR (nl_grade_error_quark())
GQuark nl_grade_error_quark(void);
typedef enum {
  NL_GRADE_ERROR_ASSIGNMENT, /* the rubric or a test file is broken */
  NL_GRADE_ERROR_USAGE,      /* bad arguments (submissions, shards) */
  NL_GRADE_ERROR_IO,         /* a report or result file */
} NlGradeError;

/* ---- the assignment ---- */

typedef struct {
  char *name;   /* the constant tests use ($server) */
  char *main;   /* the submission's file with its main ("server.c") */
  char *where;  /* rubric:LINE:COL, for messages */
} NlGradeProgram;

typedef struct {
  char *rel;   /* as the rubric writes it: "tests/one-client.nlab" */
  char *path;  /* the file to load */
  char *where; /* rubric:LINE:COL */
} NlGradeTestFile;

typedef struct {
  gint64 cpu_ms;       /* CPU time of one test run */
  guint64 memory;      /* address space, bytes */
  gint64 wall_ms;      /* wall-clock bound, the last resort */
  guint64 output;      /* bytes a run may write in its scratch folder */
} NlGradeLimits;

typedef struct {
  char *dir;   /* as given */
  char *id;    /* the folder's base name */
  char *title;
  GPtrArray *programs; /* NlGradeProgram* */
  GPtrArray *tests;    /* NlGradeTestFile* */
  guint seeds;         /* `seeds K`; 0 when not given */
  NlGradeLimits limits;
} NlAssignment;

NlAssignment *nl_assignment_load(const char *dir, GError **error);
void nl_assignment_free(NlAssignment *a);

/* ---- results ---- */

/* One graded test (a graded expectation) of one submission. */
typedef struct {
  char *name;
  char *where;    /* tests/one-client.nlab:12 */
  char *expected; /* the expectation as written */
  char *feedback; /* NULL when none */
  gint64 max;     /* points, in hundredths */
  gint64 got;
  gboolean passed;
  char *failure;  /* a named failure ("crash", "spin", ...) or NULL */
  char *happened; /* what happened, one or more lines */
  char *trace;    /* the relevant trace lines, or NULL */
  char *output;   /* the tail of the program's output, or NULL */
  guint64 seed;
  char *replay;   /* the command that replays it */
  char *seeds;    /* with --seeds: the outcome per seed when it differs */
  char *svg;      /* a failed test's timeline, or NULL */
} NlGradeTest;

typedef struct {
  char *name;      /* the submission folder's base name */
  char *build_log; /* compiler messages when the build failed, else NULL */
  GPtrArray *tests; /* NlGradeTest*, rubric then file order */
} NlGradeSubmission;

typedef struct {
  char *assignment; /* id */
  char *title;
  GPtrArray *subs; /* NlGradeSubmission*, command-line order */
} NlGradeResults;

void nl_grade_results_free(NlGradeResults *r);

/* ---- grading ---- */

typedef struct {
  guint jobs;       /* children at once; 0: every core */
  gboolean seed_set;
  guint64 seed;     /* replaces each test's seed */
  guint seeds;      /* run under this many seeds (0: the rubric's, or 1) */
  guint shard;      /* this shard, 1-based; 0 when not sharding */
  guint shards;
} NlGradeOptions;

typedef struct NlGradeRun NlGradeRun;

/* Grades @subs (folders) against @a: builds each submission, runs every
 * unit (a submission's test file under one seed) of this shard in a
 * confined child, @o->jobs at a time.  Returns NULL with @error set for
 * usage errors (duplicate submission names, a submission that is not a
 * folder, a bad shard). */
NlGradeRun *nl_grade_run(const NlAssignment *a, char **subs,
                         const NlGradeOptions *o, GError **error);
void nl_grade_run_free(NlGradeRun *run);
/* The results of a run that was not sharded. */
NlGradeResults *nl_grade_run_results(NlGradeRun *run, GError **error);
/* A shard's units as a results file, for --merge. */
gboolean nl_grade_run_write(NlGradeRun *run, const char *path,
                            GError **error);
/* Combines the results files of every shard into the results a single run
 * gives.  Errors name a file that is not a results file, shards of
 * different gradings, and missing or repeated shards. */
NlGradeResults *nl_grade_results_merge(char **paths, GError **error);

/* ---- reports ---- */

typedef enum {
  NL_GRADE_FORMAT_TEXT,
  NL_GRADE_FORMAT_TAP,
  NL_GRADE_FORMAT_JUNIT,
  NL_GRADE_FORMAT_GRADESCOPE,
} NlGradeFormat;

/* Writes the report(s) of @r in @format to @out (NULL: standard output),
 * as docs/grading.md says: TAP and JUnit in one file; text and Gradescope
 * one file per submission in the folder @out when there are several.
 * Timelines of failed tests go into timelines/ beside the report. */
gboolean nl_grade_report(const NlGradeResults *r, NlGradeFormat format,
                         const char *out, GError **error);

/* The report of one submission in @format, into @s (text, gradescope). */
void nl_grade_format_submission(const NlGradeResults *r,
                                const NlGradeSubmission *sub,
                                NlGradeFormat format, GString *s);
/* The report of every submission (tap, junit). */
void nl_grade_format_all(const NlGradeResults *r, NlGradeFormat format,
                         GString *s);

/* "12", "2.5", "0.25" from hundredths. */
char *nl_grade_points(gint64 hundredths);

G_END_DECLS

#endif
