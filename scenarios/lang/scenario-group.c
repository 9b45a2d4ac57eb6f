/* Groups: one line (or one block) of a scenario standing for N numbered
 * copies, and the integer expressions that number them.
 *
 *   host client[1..100]              client1 ... client100, with $i = 1..100
 *     link lan${(i-1)/10+1} 10.${(i-1)/10+1}.0.${(i-1)%10+10}
 *     run echo-client 192.0.2.10 7
 *   run name=worker[k=1..4] ./w.c $k     four programs on one host
 *   expect exit client[1..100]/echo-client code 0 at-least=95
 *
 * A group is written as NAME[A..B] (the copy's number is $i) or
 * NAME[VAR=A..B]; A and B are expressions, so `[1..$n]` follows a --set.
 * The copies are read one after another, as if written out by hand, with
 * the group variable set to the copy's number -- so a group scenario and its
 * hand-written expansion are the same scenario.  A block header (network,
 * host, router, nat, firewall) copies its indented lines with it; a `run`
 * line inside a block copies itself; an `expect` line becomes one
 * expectation over its copies, which holds when at least `at-least=K` (or
 * K%) of them do (all, by default).
 *
 * Expressions: ${EXPR} where EXPR is integers, constants whose value is an
 * integer, + - * / % (truncating, as C), unary -, and parentheses. */
#include "scenarios/lang/scenario-priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- expressions ----
 *
 * An expression is read once into its operations in postfix order, then
 * evaluated: a group's copies evaluate the same ${EXPR}s with another
 * value of the group variable, so a group's expressions are kept, read
 * once for all its copies (nl__scn_eval_copy).  A mistake found while
 * reading becomes the last operation (OP_FAIL), so that evaluation meets
 * the mistakes in the order a reader going left to right would: a division
 * by zero before it is reported first, as it always was. */

typedef enum {
  OP_NUM,
  OP_VAR,
  OP_NEG,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_DIV,
  OP_MOD,
  OP_FAIL
} OpKind;

typedef struct {
  guint8 op;
  gint64 v;
  gsize pos;  /* OP_DIV, OP_MOD, OP_FAIL: where, in the expression */
  char *msg;  /* OP_FAIL: the message (owned) */
} Op;

typedef struct {
  NlScnParser *p;
  const char *s;
  gsize pos, end;
  GArray *ops; /* of Op */
} Compile;

/* A read expression: its operations. */
typedef struct {
  guint n;
  guint depth; /* the most values on the stack at once */
  Op ops[];
} Compiled;

static void emit(Compile *c, guint8 op, gint64 v, gsize pos) {
  Op o = {op, v, pos, NULL};
  g_array_append_val(c->ops, o);
}

static gboolean fail_at(Compile *c, gsize pos, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static gboolean fail_at(Compile *c, gsize pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  Op o = {OP_FAIL, 0, pos, g_strdup_vprintf(fmt, ap)};
  va_end(ap);
  g_array_append_val(c->ops, o);
  return FALSE;
}

static void skip_blanks(Compile *c) {
  while (c->pos < c->end && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
    c->pos++;
}

static gboolean expr(Compile *c);

static gboolean parse_int(const char *text, gint64 *out) {
  if (text == NULL || *text == '\0')
    return FALSE;
  const char *t = text;
  if (*t == '-' || *t == '+')
    t++;
  if (!g_ascii_isdigit(*t))
    return FALSE;
  for (const char *d = t; *d; d++)
    if (!g_ascii_isdigit(*d))
      return FALSE;
  errno = 0;
  char *endp;
  gint64 v = g_ascii_strtoll(text, &endp, 10);
  if (errno != 0 || *endp != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean factor(Compile *c) {
  skip_blanks(c);
  if (c->pos >= c->end)
    return fail_at(c, c->pos,
                   "expected a number, a constant or ( in the expression");
  char ch = c->s[c->pos];
  if (ch == '(') {
    c->pos++;
    if (!expr(c))
      return FALSE;
    skip_blanks(c);
    if (c->pos >= c->end || c->s[c->pos] != ')')
      return fail_at(c, c->pos, "expected ) to close the parenthesis");
    c->pos++;
    return TRUE;
  }
  if (ch == '-') {
    c->pos++;
    if (!factor(c))
      return FALSE;
    emit(c, OP_NEG, 0, 0);
    return TRUE;
  }
  if (g_ascii_isdigit(ch)) {
    gsize start = c->pos;
    gint64 v = 0;
    gboolean ok = TRUE;
    while (c->pos < c->end && g_ascii_isdigit(c->s[c->pos])) {
      int d = c->s[c->pos++] - '0';
      if (v > (G_MAXINT64 - d) / 10)
        ok = FALSE;
      else
        v = v * 10 + d;
    }
    if (!ok)
      return fail_at(c, start, "this number is too large for an expression");
    emit(c, OP_NUM, v, 0);
    return TRUE;
  }
  if (ch == '$') {
    /* $n and ${n} read as n: a group's bounds are written like other
     * words ([1..$n]). */
    c->pos++;
    if (c->pos < c->end && c->s[c->pos] == '{') {
      c->pos++;
      if (!expr(c))
        return FALSE;
      skip_blanks(c);
      if (c->pos >= c->end || c->s[c->pos] != '}')
        return fail_at(c, c->pos, "expected } to close ${");
      c->pos++;
      return TRUE;
    }
    if (c->pos >= c->end ||
        !(g_ascii_isalpha(c->s[c->pos]) || c->s[c->pos] == '_'))
      return fail_at(c, c->pos, "expected a constant name after $");
    return factor(c);
  }
  if (g_ascii_isalpha(ch) || ch == '_') {
    gsize start = c->pos;
    while (c->pos < c->end &&
           (g_ascii_isalnum(c->s[c->pos]) || c->s[c->pos] == '_'))
      c->pos++;
    gsize len = c->pos - start;
    /* The group's variable, which every copy's expressions name. */
    const char *gv = c->p->group_var;
    if (gv != NULL && strncmp(gv, c->s + start, len) == 0 && gv[len] == '\0') {
      emit(c, OP_VAR, 0, 0);
      return TRUE;
    }
    /* Another constant: fixed while a group's copies are read. */
    char *name = g_strndup(c->s + start, len);
    NlScnConst *k = g_hash_table_lookup(c->p->consts, name);
    gint64 v = 0;
    gboolean ok = TRUE;
    if (k == NULL)
      ok = fail_at(c, start,
                   "$%s is not set: expected a constant or a group "
                   "variable in the expression",
                   name);
    else if (!parse_int(k->value, &v))
      ok = fail_at(c, start,
                   "$%s is \"%s\": expected an integer in an expression", name,
                   k->value);
    else
      emit(c, OP_NUM, v, 0);
    g_free(name);
    return ok;
  }
  return fail_at(c, c->pos,
                 "unexpected \"%c\" in the expression: expected a "
                 "number, a constant, + - * / %% or parentheses",
                 ch);
}

static gboolean term(Compile *c) {
  if (!factor(c))
    return FALSE;
  for (;;) {
    skip_blanks(c);
    if (c->pos >= c->end)
      return TRUE;
    char op = c->s[c->pos];
    if (op != '*' && op != '/' && op != '%')
      return TRUE;
    gsize at = c->pos++;
    if (!factor(c))
      return FALSE;
    emit(c, op == '*' ? OP_MUL : op == '/' ? OP_DIV : OP_MOD, 0, at);
  }
}

static gboolean expr(Compile *c) {
  if (!term(c))
    return FALSE;
  for (;;) {
    skip_blanks(c);
    if (c->pos >= c->end)
      return TRUE;
    char op = c->s[c->pos];
    if (op != '+' && op != '-')
      return TRUE;
    c->pos++;
    if (!term(c))
      return FALSE;
    emit(c, op == '+' ? OP_ADD : OP_SUB, 0, 0);
  }
}

static Compiled *compile(NlScnParser *p, const char *s, gsize len) {
  Compile c = {p, s, 0, len, g_array_new(FALSE, FALSE, sizeof(Op))};
  if (expr(&c)) {
    skip_blanks(&c);
    if (c.pos < c.end)
      fail_at(&c, c.pos, "unexpected \"%c\" in the expression", c.s[c.pos]);
  }
  Compiled *r = g_malloc(sizeof *r + sizeof(Op) * c.ops->len);
  r->n = c.ops->len;
  if (r->n > 0)
    memcpy(r->ops, c.ops->data, sizeof(Op) * r->n);
  g_array_free(c.ops, TRUE);
  guint depth = 0, most = 1;
  for (guint i = 0; i < r->n; i++) {
    guint8 op = r->ops[i].op;
    if (op == OP_NUM || op == OP_VAR)
      most = MAX(most, ++depth);
    else if (op != OP_NEG && op != OP_FAIL)
      depth--;
  }
  r->depth = most;
  return r;
}

static void compiled_free(gpointer data) {
  Compiled *x = data;
  for (guint i = 0; i < x->n; i++)
    g_free(x->ops[i].msg);
  g_free(x);
}

/* Reports a mistake at @pos of the expression raw[from..) of @l. */
static gboolean eval_fail(NlScnParser *p, const NlScnLine *l, gsize from,
                          gsize pos, const char *msg) {
  NlScnLoc loc = {l->file, l->line,
                  (guint)g_utf8_strlen(l->raw, (gssize)(from + pos)) + 1};
  nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX, "%s", msg);
  return FALSE;
}

/* Evaluates @x with the group variable @var, as C's 64-bit integers
 * would but wrapping where C's would overflow (a scenario cannot make
 * natlab trap). */
static gboolean run(const Compiled *x, gint64 var, NlScnParser *p,
                    const NlScnLine *l, gsize from, gint64 *out) {
  gint64 small[64];
  gint64 *st = x->depth <= G_N_ELEMENTS(small) ? small : g_new(gint64, x->depth);
  guint sp = 0;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < x->n; i++) {
    const Op *o = &x->ops[i];
    guint64 a = sp >= 2 ? (guint64)st[sp - 2] : 0;
    guint64 b = sp >= 1 ? (guint64)st[sp - 1] : 0;
    switch (o->op) {
      case OP_NUM: st[sp++] = o->v; break;
      case OP_VAR: st[sp++] = var; break;
      case OP_NEG: st[sp - 1] = (gint64)(0 - b); break;
      case OP_ADD: st[--sp - 1] = (gint64)(a + b); break;
      case OP_SUB: st[--sp - 1] = (gint64)(a - b); break;
      case OP_MUL: st[--sp - 1] = (gint64)(a * b); break;
      case OP_DIV:
      case OP_MOD: {
        gint64 n = st[sp - 2], d = st[sp - 1];
        if (d == 0) {
          ok = eval_fail(p, l, from, o->pos,
                         "division by zero in the expression");
          break;
        }
        sp--;
        if (d == -1) /* INT64_MIN / -1 would trap */
          st[sp - 1] = o->op == OP_DIV ? (gint64)(0 - (guint64)n) : 0;
        else
          st[sp - 1] = o->op == OP_DIV ? n / d : n % d;
        break;
      }
      case OP_FAIL: ok = eval_fail(p, l, from, o->pos, o->msg); break;
    }
  }
  if (ok)
    *out = st[0];
  if (st != small)
    g_free(st);
  return ok;
}

gboolean nl__scn_eval(NlScnParser *p, const NlScnLine *l, gsize from, gsize to,
                      gint64 *out) {
  Compiled *x = compile(p, l->raw + from, to - from);
  gboolean ok = run(x, p->group_value, p, l, from, out);
  compiled_free(x);
  return ok;
}

gboolean nl__scn_eval_copy(NlScnParser *p, const NlScnLine *l, gsize from,
                           gsize to, gint64 *out) {
  if (p->group_var == NULL)
    return nl__scn_eval(p, l, from, to, out);
  /* The group's lines stay where they are while its copies are read:
   * the expression's place in one of them names it. */
  if (p->group_exprs == NULL)
    p->group_exprs = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                           NULL, compiled_free);
  const char *at = l->raw + from;
  Compiled *x = g_hash_table_lookup(p->group_exprs, at);
  if (x == NULL) {
    x = compile(p, at, to - from);
    g_hash_table_insert(p->group_exprs, (gpointer)at, x);
  }
  return run(x, p->group_value, p, l, from, out);
}

gboolean nl__scn_is_expr(const char *s, gsize len) {
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum(s[i]) && s[i] != '_')
      return TRUE;
  return len > 0 && g_ascii_isdigit(s[0]);
}

/* ---- groups ---- */

/* Finds NAME[...] in @raw: the first '[' of an unquoted word, before any
 * comment.  Returns FALSE when the line has none. */
static gboolean find_range(const char *raw, gsize *open, gsize *close) {
  gboolean quoted = FALSE;
  for (gsize i = 0; raw[i] != '\0'; i++) {
    char c = raw[i];
    if (c == '"' && (i == 0 || raw[i - 1] != '\\'))
      quoted = !quoted;
    if (quoted)
      continue;
    if (c == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t'))
      return FALSE;
    if (c == '[') {
      gsize j = i + 1;
      while (raw[j] != '\0' && raw[j] != ']' && raw[j] != ' ' && raw[j] != '\t')
        j++;
      if (raw[j] != ']')
        return FALSE;
      *open = i;
      *close = j;
      return TRUE;
    }
  }
  return FALSE;
}

/* The word at @pos of @raw (its first byte). */
static gsize word_start(const char *raw, gsize pos) {
  while (pos > 0 && raw[pos - 1] != ' ' && raw[pos - 1] != '\t')
    pos--;
  return pos;
}

static gboolean first_word_is(const char *raw, const char *const *words,
                              const char **which) {
  gsize i = 0;
  while (raw[i] == ' ' || raw[i] == '\t')
    i++;
  for (const char *const *w = words; *w != NULL; w++) {
    gsize n = strlen(*w);
    if (strncmp(raw + i, *w, n) == 0 &&
        (raw[i + n] == ' ' || raw[i + n] == '\t' || raw[i + n] == '\0')) {
      *which = *w;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean nl__scn_group_kind(const char *raw, NlScnGroupKind *kind) {
  static const char *const blocks[] = {"network", "host",     "router",
                                       "nat",     "firewall", NULL};
  static const char *const lines[] = {"run", NULL};
  static const char *const expects[] = {"expect", "at", NULL};
  gsize open, close;
  if (!find_range(raw, &open, &close))
    return FALSE;
  const char *w;
  gboolean indented = raw[0] == ' ' || raw[0] == '\t';
  if (!indented && first_word_is(raw, blocks, &w)) {
    *kind = NL_SCN_GROUP_BLOCK;
    return TRUE;
  }
  if (indented && first_word_is(raw, lines, &w)) {
    *kind = NL_SCN_GROUP_LINE;
    return TRUE;
  }
  if (!indented && first_word_is(raw, expects, &w) &&
      (strcmp(w, "expect") == 0 || strstr(raw, " expect ") != NULL)) {
    *kind = NL_SCN_GROUP_EXPECT;
    return TRUE;
  }
  return FALSE;
}

gboolean nl__scn_group_parse(NlScnParser *p, const NlScnLine *l,
                             NlScnGroup *g) {
  gsize open, close;
  memset(g, 0, sizeof *g);
  if (!find_range(l->raw, &open, &close))
    return FALSE;
  NlScnLoc loc = {l->file, l->line,
                  (guint)g_utf8_strlen(l->raw, (gssize)open) + 1};
  const char *r = l->raw;
  /* [VAR=A..B] or [A..B] */
  gsize a = open + 1, dots = 0;
  for (gsize i = a; i + 1 < close; i++)
    if (r[i] == '.' && r[i + 1] == '.') {
      dots = i;
      break;
    }
  if (dots == 0)
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                        "expected a group like NAME[1..10] or "
                        "NAME[k=1..10] (the copies' numbers)");
  g->var = g_strdup("i");
  for (gsize i = a; i < dots; i++)
    if (r[i] == '=') {
      gboolean good = i > a && (g_ascii_isalpha(r[a]) || r[a] == '_');
      for (gsize k = a; k < i; k++)
        good = good && (g_ascii_isalnum(r[k]) || r[k] == '_');
      if (!good)
        return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                            "expected a variable name before = in the group "
                            "(like NAME[k=1..10])");
      g_free(g->var);
      g->var = g_strndup(r + a, i - a);
      a = i + 1;
      break;
    }
  /* The bounds are expressions; they may use constants ($n, ${n}). */
  if (!nl__scn_eval(p, l, a, dots, &g->lo) ||
      !nl__scn_eval(p, l, dots + 2, close, &g->hi))
    return FALSE;
  if (g->lo > g->hi || g->hi - g->lo >= NL_SCENARIO_MAX_GROUP)
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                        "a group of %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
                        ": expected a first number not above the last, and "
                        "at most %u copies",
                        g->lo, g->hi, NL_SCENARIO_MAX_GROUP);
  if (g_hash_table_contains(p->consts, g->var)) {
    NlScnConst *k = g_hash_table_lookup(p->consts, g->var);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_CONFLICT,
                        "the group variable $%s is already set at %s:%u:%u; "
                        "expected another name (NAME[k=%" G_GINT64_FORMAT
                        "..%" G_GINT64_FORMAT "])",
                        g->var, k->loc.file, k->loc.line, k->loc.column, g->lo,
                        g->hi);
  }
  g->loc = loc;
  /* The template: NAME[...] becomes NAME${VAR}. */
  g->label =
      g_strndup(r + word_start(r, open), close + 1 - word_start(r, open));
  g->template_line =
      g_strdup_printf("%.*s${%s}%s", (int)open, r, g->var, r + close + 1);
  return TRUE;
}

void nl__scn_group_clear(NlScnGroup *g) {
  g_free(g->var);
  g_free(g->label);
  g_free(g->template_line);
  memset(g, 0, sizeof *g);
}

void nl__scn_group_bind(NlScnParser *p, const NlScnGroup *g, gint64 value) {
  NlScnConst *k = g_hash_table_lookup(p->consts, g->var);
  if (k == NULL) {
    k = g_new0(NlScnConst, 1);
    k->name = g_strdup(g->var);
    k->loc = g->loc;
    g_hash_table_insert(p->consts, k->name, k);
  }
  g_free(k->value);
  char num[24], *d = num + sizeof num;
  *--d = '\0';
  guint64 m = value < 0 ? 0 - (guint64)value : (guint64)value;
  do
    *--d = (char)('0' + m % 10);
  while ((m /= 10) != 0);
  if (value < 0)
    *--d = '-';
  k->value = g_strdup(d);
  p->group_var = k->name;
  p->group_value = value;
  p->group_const = k;
}

void nl__scn_group_unbind(NlScnParser *p, const NlScnGroup *g) {
  NlScnConst *k = g_hash_table_lookup(p->consts, g->var);
  p->group_var = NULL;
  p->group_const = NULL;
  if (p->group_exprs != NULL) {
    g_hash_table_destroy(p->group_exprs);
    p->group_exprs = NULL;
  }
  if (k == NULL)
    return;
  g_hash_table_remove(p->consts, g->var);
  g_free(k->name);
  g_free(k->value);
  g_free(k);
}

void nl__scn_group_name_copy(NlScnParser *p, const NlScnGroup *g,
                             gint64 value) {
  if (p->error != NULL && strstr(p->error->message, " (in copy ") == NULL) {
    char *m = g_strdup_printf("%s (in copy %s=%" G_GINT64_FORMAT " of %s)",
                              p->error->message, g->var, value, g->label);
    g_free(p->error->message);
    p->error->message = m;
  }
}
