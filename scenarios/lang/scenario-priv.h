/* Internals of the scenario loader, shared by the files of scenarios/lang. */
#ifndef NL_SCENARIO_PRIV_H
#define NL_SCENARIO_PRIV_H

#include "scenarios/lang/scenario.h"

G_BEGIN_DECLS

/* One word of a line.  An unquoted word that starts with KEY= (KEY made of
 * letters, digits, '_', '-' and '.') is an option: @key and @value are set.
 * Constants ($name, ${name}) are already replaced in @text and @value;
 * quoted text is taken literally. */
typedef struct {
  char *text;       /* the whole word, unquoted and substituted */
  char *key;        /* NULL unless an option */
  char *value;      /* the option's value, unquoted and substituted */
  gboolean quoted;  /* @text came from "..." */
  gboolean vquoted; /* @value came from "..." */
  guint col;        /* column of the word */
  guint vcol;       /* column of the value */
  gsize start;      /* byte offsets of the word in the line */
  gsize end;
  char *from; /* "$name" or "--set name=value" when a constant was
               * substituted into the word, for messages; else NULL */
} NlScnTok;

typedef struct {
  const char *file; /* points into NlScenario.files */
  const char *raw;  /* the line, without its newline */
  guint line;
  gboolean indented;
  guint ntok;
  NlScnTok *tok;
  char *buf; /* the words' strings (the tokens point into it) */
  gboolean borrowed; /* @tok and @buf are the NlScnLexed's, kept for the
                      * next copy */
} NlScnLine;

/* A `at T run NODE ...` waiting for its node to be resolved. */
typedef struct {
  NlScnRun *run;
  char *node;
  NlScnLoc node_loc;
} NlScnPendingRun;

typedef struct {
  NlScenario *s;
  GError *error;                /* the first mistake */
  const char *const *overrides; /* --set */
  gboolean *override_used;
  GPtrArray *stack;        /* canonical paths of open files */
  GPtrArray *stack_names;  /* their display names */
  GHashTable *consts;      /* name → NlScnConst* */
  NlScnNode *block;        /* the open block, or NULL */
  GPtrArray *pending_runs; /* of NlScnPendingRun* */
  NlScnLoc seed_loc;
  NlScnLoc duration_loc;
  GTree *prefixes; /* NlScnAddr* (owned copy) → NlScnNetwork*, by address */
  /* Locations of element names, for "already declared at". */
  GHashTable *name_loc; /* name → NlScnLoc* */
  /* Bounds (scenario-lex.c, scenario.c): bytes of the current line after
   * substitution, and of every file read and word made, in total. */
  gsize line_expanded;
  guint64 total_read, total_expanded;
  /* While the copies of a grouped `expect` line are read: the expectation
   * they belong to (scenario-group.c). */
  NlScnExpect *group_head;
  /* The group variable while a copy is read, and its value (which its
   * constant holds as text too). */
  const char *group_var;
  gint64 group_value;
  NlScnConst *group_const;
  GHashTable *group_exprs; /* ${EXPR}s of the group's lines, read once */
  /* IPv4 addresses given to links so far, for `auto` to skip. */
  GHashTable *claimed_addrs; /* uint32 (host order) as pointer+1 */
  /* What the file system said, asked once per parse: a group of 100,000
   * `run` lines names one program (nl__scn_path, nl__scn_file_test). */
  GHashTable *abs_dirs;   /* scenario file → its directory, absolute */
  GHashTable *file_tests; /* "T:path" → GINT_TO_POINTER(1 + result) */
  char *last_path_file, *last_path_rel, *last_path; /* nl__scn_path's last */
} NlScnParser;

/* (transfer full) @rel made absolute from the directory of @file (a
 * scenario file), as g_canonicalize_filename does. */
char *nl__scn_path(NlScnParser *p, const char *file, const char *rel);
/* g_file_test(@path, @test), answered once per parse and path. */
gboolean nl__scn_file_test(NlScnParser *p, const char *path, GFileTest test);

/* Groups (scenario-group.c): NAME[A..B] standing for copies. */
typedef enum {
  NL_SCN_GROUP_BLOCK,  /* a network/host/router/nat/firewall and its block */
  NL_SCN_GROUP_LINE,   /* an indented `run` line */
  NL_SCN_GROUP_EXPECT, /* an `expect` or `at T expect` line */
} NlScnGroupKind;

typedef struct {
  char *var;           /* "i", or the name in NAME[VAR=A..B] */
  gint64 lo, hi;
  char *label;         /* "client[1..100]", for messages */
  char *template_line; /* the line with NAME[...] as NAME${VAR} */
  NlScnLoc loc;        /* the '[' */
} NlScnGroup;

/* Whether @raw (a line) is a group, and of which kind. */
gboolean nl__scn_group_kind(const char *raw, NlScnGroupKind *kind);
/* Reads the group of @l (bounds evaluated now); FALSE with the error set. */
gboolean nl__scn_group_parse(NlScnParser *p, const NlScnLine *l,
                             NlScnGroup *g);
void nl__scn_group_clear(NlScnGroup *g);
/* Sets, then removes, the group variable for one copy. */
void nl__scn_group_bind(NlScnParser *p, const NlScnGroup *g, gint64 value);
void nl__scn_group_unbind(NlScnParser *p, const NlScnGroup *g);
/* Adds " (in copy VAR=N of LABEL)" to the parser's error. */
void nl__scn_group_name_copy(NlScnParser *p, const NlScnGroup *g,
                             gint64 value);
/* Evaluates the integer expression raw[from..to) of @l. */
gboolean nl__scn_eval(NlScnParser *p, const NlScnLine *l, gsize from,
                      gsize to, gint64 *out);
/* nl__scn_eval for a ${EXPR} of a group's line while its copies are read:
 * the expression is read once and evaluated for each copy. */
gboolean nl__scn_eval_copy(NlScnParser *p, const NlScnLine *l, gsize from,
                           gsize to, gint64 *out);
/* Whether ${...} holding @s is an expression rather than a name. */
gboolean nl__scn_is_expr(const char *s, gsize len);

/* Sets the parser's error (first one wins) at @loc; returns FALSE. */
gboolean nl__scn_fail(NlScnParser *p, const NlScnLoc *loc, int code,
                      const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* Orders subnets by family and address (a GTree compare function). */
gint nl__scn_prefix_cmp(gconstpointer a, gconstpointer b, gpointer data);

/* Reads one file's text (already in memory) into the scenario. */
gboolean nl__scn_parse_text(NlScnParser *p, const char *file, const char *text,
                            gsize len);

/* Resolution and checks after every file is read. */
gboolean nl__scn_check(NlScnParser *p);

/* A `run ./x.py` line's file (scenario-python.c): text that CPython can
 * read, no more than 16 MiB; @as_written names it in the error. */
gboolean nl__scn_python_source_ok(NlScnParser *p, const NlScnLoc *loc,
                                  const char *as_written, const char *path);

/* Lexer (scenario-lex.c): a line's words are found once
 * (nl__scn_lex_words, which reports nothing yet) and each copy of the line
 * (a group's) gets them with constants substituted (nl__scn_lex_fill),
 * reporting the first mistake of the line as written, left to right.
 * nl__scn_lex_line does both. */
typedef struct NlScnLexed NlScnLexed;
/* @reuse: each fill reuses the last one's memory (a group's copies, each
 * cleared before the next is filled). */
NlScnLexed *nl__scn_lex_words(const NlScnLine *l, gboolean reuse);
gboolean nl__scn_lex_fill(NlScnParser *p, NlScnLine *l, NlScnLexed *x);
void nl__scn_lexed_free(NlScnLexed *x);
gboolean nl__scn_lex_line(NlScnParser *p, NlScnLine *l);
void nl__scn_line_clear(NlScnLine *l);
/* Nearest of @cands (NULL-terminated) to @word, or NULL if none is close. */
const char *nl__scn_suggest(const char *word, const char *const *cands);
/* " (from $x)" or "" for messages about @t. */
const char *nl__scn_from(const NlScnTok *t);

/* Value parsers (scenario-values.c): TRUE on success; on failure they
 * leave @out alone. */
gboolean nl__scn_parse_time(const char *s, NlTime *out, gboolean *negative);
gboolean nl__scn_parse_percent(const char *s, double *out);
gboolean nl__scn_parse_rate(const char *s, guint64 *out);
gboolean nl__scn_parse_size(const char *s, guint64 *out, gboolean *had_unit);
gboolean nl__scn_parse_uint(const char *s, guint64 *out);
gboolean nl__scn_parse_int(const char *s, gint64 *out);
gboolean nl__scn_parse_bool(const char *s, gboolean *out);
/* An address (len = full width) or, with @prefix, a subnet a/len. */
gboolean nl__scn_parse_addr(const char *s, gboolean prefix, NlScnAddr *out);
/* Clears host bits of @a beyond its length. */
void nl__scn_addr_mask(NlScnAddr *a);
gboolean nl__scn_addr_equal(const NlScnAddr *a, const NlScnAddr *b);
gboolean nl__scn_valid_name(const char *s);
gboolean nl__scn_valid_hostname(const char *s);

/* Port forwarding lines (scenario-forward.c). */
gboolean nl__scn_blk_forward(NlScnParser *p, NlScnLine *l);
gboolean nl__scn_blk_dmz(NlScnParser *p, NlScnLine *l);
gboolean nl__scn_check_forwards(NlScnParser *p, NlScnNode *n);
/* `reason=` of `expect filtered`: the drop reasons a name stands for, or
 * 0 when it names none; @names gets the names, ", "-separated. */
guint32 nl__scn_filter_reason(const char *name);
const char *nl__scn_filter_reason_names(void);
/* System facts (scenario-facts.c): a host's timezone= and nofile= from
 * word @from, its `env` lines, a run's env= and cwd= (word @i). */
gboolean nl__scn_host_options(NlScnParser *p, NlScnLine *l, guint from,
                              NlScnNode *n, const char *usage);
gboolean nl__scn_blk_env(NlScnParser *p, NlScnLine *l);
gboolean nl__scn_run_option(NlScnParser *p, NlScnLine *l, guint i,
                            NlScnRun *r);

/* scenario-timeline.c */
void nl__scn_timeline_init(NlScnTimeline *t);
void nl__scn_timeline_clear(NlScnTimeline *t);

void nl__scn_node_free(NlScnNode *n);
void nl__scn_run_free(NlScnRun *r);
void nl__scn_action_free(NlScnAction *a);
void nl__scn_expect_free(NlScnExpect *e);
char *nl__scn_time_to_string(NlTime t); /* "1.5s" (transfer full) */

G_END_DECLS

#endif
