/* Internals of grade/: shared by its files only. */
#ifndef NL_GRADE_PRIV_H
#define NL_GRADE_PRIV_H

#include "grade/grade.h"
#include "scenarios/lang/scenario.h"

G_BEGIN_DECLS

/* The test's name: its name= or the expectation as written. */
char *nl__grade_test_name(const NlScnExpect *e);

/* Loads test file @path with the constant of each program of @a set to
 * @values[p] (one per program of the rubric), leaving out the programs
 * the file does not set; @used[p] (may be NULL) tells which it sets.  So
 * a test file loads whether or not the `set` line's own value (the
 * reference solution) exists. */
NlScenario *nl__grade_load_test(const NlAssignment *a, const char *path,
                                const char *const *values, gboolean *used,
                                GError **error);

/* ---- results.c ---- */

NlGradeTest *nl__grade_test_new(void);
void nl__grade_test_free(gpointer t);
NlGradeSubmission *nl__grade_sub_new(const char *name);

/* One unit: a submission's run of one test file under one seed. */
typedef struct {
  guint index; /* (sub * n_tests + test) * n_seeds + seed */
  guint sub, test, seed_i;
  char *build_log;  /* the submission did not build */
  GPtrArray *tests; /* NlGradeTest*, file order */
} NlGradeUnit;

void nl__grade_unit_free(gpointer u);
/* A unit as key file text (what a child sends, and a group of a results
 * file), and back. */
void nl__grade_unit_to_keyfile(const NlGradeUnit *u, GKeyFile *kf,
                               const char *group);
NlGradeUnit *nl__grade_unit_from_keyfile(GKeyFile *kf, const char *group,
                                         GError **error);

/* The plan every shard shares: what the units are. */
typedef struct {
  char *assignment, *title;
  GPtrArray *subs; /* char*: submission names, command-line order */
  guint n_tests, n_seeds;
  guint shard, shards; /* 0/0 when not sharded */
} NlGradePlan;

/* Assembles a whole run's units (every unit of the plan present, in any
 * order) into results: one test per graded expectation, scored from the
 * first seed, with the outcome per seed noted when it differs. */
NlGradeResults *nl__grade_assemble(const NlGradePlan *plan, GPtrArray *units,
                                   GError **error);
/* Writes a shard's plan and units as a results file. */
gboolean nl__grade_units_write(const NlGradePlan *plan, GPtrArray *units,
                               const char *path, GError **error);

/* ---- sandbox.c ---- */

typedef struct {
  const NlGradeLimits *limits;
  const char *scratch;          /* read-write */
  const char *const *readable;  /* read-only folders (NULL-terminated) */
} NlGradeConfine;

/* In a freshly forked child: limits, Landlock and seccomp.  Returns a
 * description of what could not be applied ("" when everything was), for
 * the report's notes; never fails the child. */
const char *nl__grade_confine(const NlGradeConfine *c);
/* The syscall a confined program was refused (its name), or NULL. */
const char *nl__grade_refused_call(void);
/* Whether Landlock works on this kernel (its ABI version, 0 if not). */
int nl__grade_landlock_abi(void);

G_END_DECLS

#endif
