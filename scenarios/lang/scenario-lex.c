/* The lexer: one line of a scenario file into words.
 *
 * A small hand lexer rather than GScanner: the language's words are things
 * like 10.0.0.0/24, 10Mbit/s, 0.5%, up.loss=1%, ./my-client.c,
 * peer_a/client and 2001:db8::/32, which GScanner would cut into several
 * tokens (and it has no notion of "indented line" or of a quoted value
 * after KEY=).  Splitting on blanks and quotes keeps every word whole, so
 * each one is converted by exactly one value parser with one message.
 */
#include "scenarios/lang/scenario-priv.h"

#include <string.h>

static gboolean is_blank(char c) {
  return c == ' ' || c == '\t';
}

static gboolean is_key_char(char c) {
  return g_ascii_isalnum(c) || c == '_' || c == '-' || c == '.';
}

static gboolean is_name_start(char c) {
  return g_ascii_isalpha(c) || c == '_';
}

static gboolean is_name_char(char c) {
  return g_ascii_isalnum(c) || c == '_';
}

static guint col_of(const NlScnLine *l, gsize byte) {
  return (guint)g_utf8_strlen(l->raw, (gssize)byte) + 1;
}

static NlScnLoc loc_at(const NlScnLine *l, gsize byte) {
  NlScnLoc loc = {l->file, l->line, col_of(l, byte)};
  return loc;
}

void nl__scn_line_clear(NlScnLine *l) {
  /* The words' strings all live in l->buf. */
  if (!l->borrowed) {
    g_free(l->tok);
    g_free(l->buf);
  }
  l->tok = NULL;
  l->buf = NULL;
  l->ntok = 0;
}

const char *nl__scn_from(const NlScnTok *t) {
  return t->from != NULL ? t->from : "";
}

/* ---- reading a line's words (once per line as written) ---- */

/* One word as the line has it, before constants are substituted. */
typedef enum {
  SPAN_WORD,       /* raw[start..end), substituted */
  SPAN_QUOTED,     /* "...": @lit */
  SPAN_OPT,        /* KEY=VALUE: the value raw[vstart..end), substituted */
  SPAN_OPT_QUOTED, /* KEY="...": the value @lit */
} SpanKind;

typedef struct {
  SpanKind kind;
  gsize start, end; /* the word in the line */
  gsize vstart;     /* SPAN_OPT: where its value starts */
  guint col, vcol;
  char *lit; /* a quoted string's text, unescaped */
  gsize litlen;
} Span;

struct NlScnLexed {
  Span *span;
  guint n;
  /* A group's copies reuse one token array and one buffer. */
  gboolean reuse;
  NlScnTok *tok;
  char *buf;
  gsize cap;
  gboolean indented;
  /* A mistake in word @fail_at (an unterminated string, a stray quote),
   * reported once the words before it are substituted, as reading the
   * line left to right does. */
  gboolean failed;
  guint fail_at;
  NlScnLoc fail_loc;
  int fail_code;
  char *fail_msg;
};

static gboolean defer(NlScnLexed *x, const NlScnLoc *loc, int code,
                      const char *msg) {
  x->failed = TRUE;
  x->fail_at = x->n;
  x->fail_loc = *loc;
  x->fail_code = code;
  x->fail_msg = g_strdup(msg);
  return FALSE;
}

/* Reads a "..." string starting at @pos (the opening quote).  Escapes:
 * \" \\ \n \t.  On success *end is just past the closing quote. */
static gboolean lex_string(NlScnLexed *x, const NlScnLine *l, gsize pos,
                           char **out, gsize *outlen, gsize *end) {
  GString *s = g_string_new(NULL);
  gsize i = pos + 1;
  for (;;) {
    char c = l->raw[i];
    if (c == '\0') {
      NlScnLoc loc = loc_at(l, pos);
      g_string_free(s, TRUE);
      return defer(x, &loc, NL_SCENARIO_ERROR_SYNTAX,
                   "unterminated string: expected a closing \" "
                   "before the end of the line");
    }
    if (c == '"')
      break;
    if (c == '\\') {
      char n = l->raw[i + 1];
      if (n == '"' || n == '\\') {
        g_string_append_c(s, n);
      } else if (n == 'n') {
        g_string_append_c(s, '\n');
      } else if (n == 't') {
        g_string_append_c(s, '\t');
      } else {
        NlScnLoc loc = loc_at(l, i);
        g_string_free(s, TRUE);
        return defer(x, &loc, NL_SCENARIO_ERROR_SYNTAX,
                     "unknown escape in a string: expected \\\", "
                     "\\\\, \\n or \\t");
      }
      i += 2;
      continue;
    }
    g_string_append_c(s, c);
    i++;
  }
  *end = i + 1;
  if (l->raw[*end] != '\0' && !is_blank(l->raw[*end])) {
    NlScnLoc loc = loc_at(l, *end);
    g_string_free(s, TRUE);
    return defer(x, &loc, NL_SCENARIO_ERROR_SYNTAX,
                 "expected a space after the closing quote");
  }
  *outlen = s->len;
  *out = g_string_free(s, FALSE);
  return TRUE;
}

static gboolean lex_word(NlScnLexed *x, const NlScnLine *l, gsize pos,
                         Span *t, gsize *end) {
  gsize i = pos, eq = 0;
  gboolean keyok = TRUE;
  while (l->raw[i] != '\0' && !is_blank(l->raw[i])) {
    char c = l->raw[i];
    if (c == '=' && eq == 0 && i > pos && keyok) {
      eq = i;
      if (l->raw[i + 1] == '"')
        break;
    } else if (c == '"') {
      NlScnLoc loc = loc_at(l, i);
      return defer(x, &loc, NL_SCENARIO_ERROR_SYNTAX,
                   "a quote may only start a word or a value after "
                   "KEY=; expected a space before it");
    } else if (eq == 0 && !is_key_char(c)) {
      keyok = FALSE;
    }
    i++;
  }
  t->col = col_of(l, pos);
  t->start = pos;
  if (eq == 0) {
    t->kind = SPAN_WORD;
    *end = i;
    t->end = i;
    return TRUE;
  }
  t->vstart = eq + 1;
  t->vcol = col_of(l, eq + 1);
  if (l->raw[eq + 1] == '"') {
    t->kind = SPAN_OPT_QUOTED;
    if (!lex_string(x, l, eq + 1, &t->lit, &t->litlen, end))
      return FALSE;
  } else {
    t->kind = SPAN_OPT;
    *end = i;
  }
  t->end = *end;
  return TRUE;
}

NlScnLexed *nl__scn_lex_words(const NlScnLine *l, gboolean reuse) {
  NlScnLexed *x = g_new0(NlScnLexed, 1);
  x->reuse = reuse;
  GArray *spans = g_array_sized_new(FALSE, TRUE, sizeof(Span), 8);
  gsize pos = 0;
  while (is_blank(l->raw[pos]))
    pos++;
  x->indented = pos > 0;
  for (;;) {
    while (is_blank(l->raw[pos]))
      pos++;
    if (l->raw[pos] == '\0' || l->raw[pos] == '#')
      break;
    Span t = {0};
    gsize end = pos;
    x->n = spans->len;
    gboolean ok;
    if (l->raw[pos] == '"') {
      t.kind = SPAN_QUOTED;
      t.col = col_of(l, pos);
      t.start = pos;
      ok = lex_string(x, l, pos, &t.lit, &t.litlen, &end);
      t.end = end;
    } else {
      ok = lex_word(x, l, pos, &t, &end);
    }
    if (!ok) {
      g_free(t.lit);
      break;
    }
    g_array_append_val(spans, t);
    pos = end;
  }
  x->n = spans->len;
  x->span = (Span *)(void *)g_array_free(spans, FALSE);
  return x;
}

void nl__scn_lexed_free(NlScnLexed *x) {
  if (x == NULL)
    return;
  for (guint i = 0; i < x->n; i++)
    g_free(x->span[i].lit);
  g_free(x->span);
  g_free(x->fail_msg);
  g_free(x->tok);
  g_free(x->buf);
  g_free(x);
}

/* ---- one copy of a line: constants substituted ---- */

/* A line's strings, appended one after another (a GString without its
 * per-call checks: every copy of a group's lines comes through here). */
typedef struct {
  char *s;
  gsize len, cap;
} Buf;

static void buf_grow(Buf *b, gsize more) {
  gsize want = b->len + more + 1;
  if (want <= b->cap)
    return;
  gsize cap = b->cap * 2;
  if (cap < want)
    cap = want;
  b->s = g_realloc(b->s, cap);
  b->cap = cap;
}

static inline void buf_add(Buf *b, const char *s, gsize n) {
  if (b->len + n + 1 > b->cap)
    buf_grow(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
}

static inline void buf_str(Buf *b, const char *s) {
  buf_add(b, s, strlen(s));
}

static inline void buf_c(Buf *b, char c) {
  if (b->len + 2 > b->cap)
    buf_grow(b, 1);
  b->s[b->len++] = c;
}

/* The first constant substituted into a word, for " (from ...)". */
typedef struct {
  const NlScnConst *c; /* $name, or NULL */
  gsize ns, ne;        /* ${EXPR}: the expression in the line */
  gboolean set;
} From;

/* Appends " (from ...)": the first constant of a word (set) as messages
 * name it. */
static void from_text(Buf *b, const NlScnLine *l, const From *f) {
  if (f->c == NULL) {
    buf_str(b, " (from ${");
    buf_add(b, l->raw + f->ns, f->ne - f->ns);
    buf_str(b, "})");
  } else if (f->c->overridden) {
    buf_str(b, " (from --set ");
    buf_str(b, f->c->name);
    buf_c(b, '=');
    buf_str(b, f->c->value);
    buf_c(b, ')');
  } else {
    buf_str(b, " (from $");
    buf_str(b, f->c->name);
    buf_c(b, ')');
  }
}

/* Appends raw[from..to) of @l to @out with $name, ${name}, ${EXPR} and $$
 * replaced; *src records the first constant used (for messages). */
static gboolean substitute(NlScnParser *p, const NlScnLine *l, gsize from,
                           gsize to, Buf *out, From *src) {
  const char *dollar = memchr(l->raw + from, '$', to - from);
  if (dollar == NULL) {
    /* Most words: nothing to replace. */
    p->line_expanded += to - from;
    p->total_expanded += to - from;
    if (p->total_expanded > NL_SCENARIO_MAX_TOTAL) {
      NlScnLoc loc = loc_at(l, from);
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                          "the scenario's words come to more than %u bytes "
                          "in total; expected a smaller scenario",
                          NL_SCENARIO_MAX_TOTAL);
    }
    buf_add(out, l->raw + from, to - from);
    return TRUE;
  }
  gsize base = out->len;
#define SLEN (out->len - base)
  gsize i = from;
  while (i < to) {
    char c = l->raw[i];
    if (c != '$') {
      /* The run up to the next $ at once. */
      const char *d = memchr(l->raw + i, '$', to - i);
      gsize run = d != NULL ? (gsize)(d - l->raw) - i : to - i;
      buf_add(out, l->raw + i, run);
      i += run;
      continue;
    }
    if (i + 1 < to && l->raw[i + 1] == '$') {
      buf_c(out, '$');
      i += 2;
      continue;
    }
    gsize ns = i + 1, ne;
    gboolean braced = ns < to && l->raw[ns] == '{';
    if (braced)
      ns++;
    if (braced) {
      /* ${EXPR}: integer arithmetic over constants (scenario-group.c). */
      gsize close = ns;
      int depth = 0;
      while (close < to && (l->raw[close] != '}' || depth > 0)) {
        depth += l->raw[close] == '{' ? 1 : l->raw[close] == '}' ? -1 : 0;
        close++;
      }
      if (close < to && nl__scn_is_expr(l->raw + ns, close - ns)) {
        gint64 v;
        if (!nl__scn_eval_copy(p, l, ns, close, &v))
          return FALSE;
        char num[24], *d = num + sizeof num;
        guint64 m = v < 0 ? 0 - (guint64)v : (guint64)v;
        do
          *--d = (char)('0' + m % 10);
        while ((m /= 10) != 0);
        if (v < 0)
          *--d = '-';
        buf_add(out, d, (gsize)(num + sizeof num - d));
        if (!src->set) {
          /* " (from ${EXPR})" */
          src->set = TRUE;
          src->ns = ns;
          src->ne = close;
        }
        i = close + 1;
        if (p->line_expanded + SLEN > NL_SCENARIO_MAX_LINE)
          goto too_long;
        continue;
      }
    }
    ne = ns;
    if (ne < to && is_name_start(l->raw[ne]))
      while (ne < to && is_name_char(l->raw[ne]))
        ne++;
    if (ne == ns || (braced && (ne >= to || l->raw[ne] != '}'))) {
      NlScnLoc loc = loc_at(l, i);
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                          "expected a constant name after $ (like $latency "
                          "or ${latency}; write $$ for a plain $)");
    }
    NlScnConst *c2 = NULL;
    char *name = NULL;
    const char *gv = p->group_var;
    if (gv != NULL && strncmp(gv, l->raw + ns, ne - ns) == 0 &&
        gv[ne - ns] == '\0') {
      c2 = p->group_const; /* ${i}: every copy of a group names it */
    } else {
      name = g_strndup(l->raw + ns, ne - ns);
      c2 = g_hash_table_lookup(p->consts, name);
    }
    if (c2 == NULL) {
      NlScnLoc loc = loc_at(l, i);
      GPtrArray *names = g_ptr_array_new();
      for (guint k = 0; k < p->s->consts->len; k++)
        g_ptr_array_add(
            names, ((NlScnConst *)g_ptr_array_index(p->s->consts, k))->name);
      g_ptr_array_add(names, NULL);
      const char *near =
          nl__scn_suggest(name, (const char *const *)names->pdata);
      if (near != NULL)
        nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_REFERENCE,
                     "$%s is not set; did you mean $%s?", name, near);
      else
        nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_REFERENCE,
                     "$%s is not set: expected a `set %s = VALUE` line "
                     "before this one",
                     name, name);
      g_ptr_array_free(names, TRUE);
      g_free(name);
      return FALSE;
    }
    g_free(name);
    buf_str(out, c2->value);
    if (!src->set) {
      src->set = TRUE;
      src->c = c2;
    }
    i = braced ? ne + 1 : ne;
    /* A line's limit holds after substitution too, so constants that
     * double each other cannot grow a line without bound. */
    if (p->line_expanded + SLEN > NL_SCENARIO_MAX_LINE) {
    too_long:;
      NlScnLoc loc = loc_at(l, from);
      Buf f = {NULL, 0, 0};
      if (src->set)
        from_text(&f, l, src);
      buf_c(&f, '\0');
      nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                   "this line is longer than %d bytes once its constants "
                   "are substituted%s; expected shorter values",
                   NL_SCENARIO_MAX_LINE, f.s);
      g_free(f.s);
      return FALSE;
    }
  }
  p->line_expanded += SLEN;
  p->total_expanded += SLEN;
#undef SLEN
  if (p->total_expanded > NL_SCENARIO_MAX_TOTAL) {
    NlScnLoc loc = loc_at(l, from);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                        "the scenario's words come to more than %u bytes in "
                        "total; expected a smaller scenario",
                        NL_SCENARIO_MAX_TOTAL);
  }
  return TRUE;
}

/* Offsets into the line's buffer while it grows (0: none), made
 * pointers once it is complete. */
#define OFF(o) ((char *)GSIZE_TO_POINTER((o) + 1))
#define PTR(buf, q) ((q) == NULL ? NULL : (buf) + (GPOINTER_TO_SIZE(q) - 1))

static void put_from(Buf *b, const NlScnLine *l, const From *f,
                     NlScnTok *t) {
  if (!f->set)
    return;
  gsize at = b->len;
  from_text(b, l, f);
  buf_c(b, '\0');
  t->from = OFF(at);
}

gboolean nl__scn_lex_fill(NlScnParser *p, NlScnLine *l, NlScnLexed *x) {
  guint n = x->n;
  NlScnTok *tok;
  Buf bb, *b = &bb;
  if (x->reuse) {
    if (x->tok == NULL) {
      x->tok = g_new(NlScnTok, n > 0 ? n : 1);
      x->cap = strlen(l->raw) * 2 + 64;
      x->buf = g_malloc(x->cap);
    }
    tok = x->tok;
    memset(tok, 0, sizeof *tok * n);
    bb = (Buf){x->buf, 0, x->cap};
  } else {
    tok = g_new0(NlScnTok, n > 0 ? n : 1);
    gsize cap = strlen(l->raw) * 2 + 64;
    bb = (Buf){g_malloc(cap), 0, cap};
  }
  gboolean ok = TRUE;
  guint done = 0;
  p->line_expanded = 0;
  l->indented = x->indented;
  for (; done < n; done++) {
    const Span *s = &x->span[done];
    NlScnTok *t = &tok[done];
    t->col = s->col;
    t->start = s->start;
    t->end = s->end;
    From f = {0};
    gsize at = b->len;
    switch (s->kind) {
    case SPAN_QUOTED:
      t->quoted = TRUE;
      buf_add(b, s->lit, s->litlen);
      buf_c(b, '\0');
      t->text = OFF(at);
      break;
    case SPAN_WORD:
      ok = substitute(p, l, s->start, s->end, b, &f);
      buf_c(b, '\0');
      t->text = OFF(at);
      break;
    case SPAN_OPT:
    case SPAN_OPT_QUOTED: {
      /* key\0 key=value\0, the value inside the second. */
      gsize klen = s->vstart - 1 - s->start;
      t->vcol = s->vcol;
      buf_add(b, l->raw + s->start, klen);
      buf_c(b, '\0');
      t->key = OFF(at);
      gsize text = b->len;
      buf_add(b, l->raw + s->start, klen + 1);
      t->text = OFF(text);
      t->value = OFF(b->len);
      if (s->kind == SPAN_OPT_QUOTED) {
        t->vquoted = TRUE;
        buf_add(b, s->lit, s->litlen);
      } else {
        ok = substitute(p, l, s->vstart, s->end, b, &f);
      }
      buf_c(b, '\0');
      break;
    }
    }
    put_from(b, l, &f, t);
    if (!ok) {
      done++;
      break;
    }
  }
  if (ok && x->failed)
    ok = nl__scn_fail(p, &x->fail_loc, x->fail_code, "%s", x->fail_msg);
  l->buf = b->s;
  if (x->reuse) {
    x->buf = b->s; /* (it may have grown) */
    x->cap = b->cap;
    l->borrowed = TRUE;
  }
  for (guint i = 0; i < done; i++) {
    tok[i].text = PTR(l->buf, tok[i].text);
    tok[i].key = PTR(l->buf, tok[i].key);
    tok[i].value = PTR(l->buf, tok[i].value);
    tok[i].from = PTR(l->buf, tok[i].from);
  }
  l->tok = tok;
  l->ntok = done;
  return ok;
}

gboolean nl__scn_lex_line(NlScnParser *p, NlScnLine *l) {
  NlScnLexed *x = nl__scn_lex_words(l, FALSE);
  gboolean ok = nl__scn_lex_fill(p, l, x);
  nl__scn_lexed_free(x);
  return ok;
}

/* Edit distance with adjacent transpositions (optimal string alignment),
 * case-insensitive: "hots" is one step from "host".  Words here are short
 * keywords, so the full table is small. */
static guint distance(const char *a, const char *b) {
  gsize la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return G_MAXUINT;
  guint d[65][65];
  for (gsize i = 0; i <= la; i++)
    d[i][0] = (guint)i;
  for (gsize j = 0; j <= lb; j++)
    d[0][j] = (guint)j;
  for (gsize i = 1; i <= la; i++) {
    for (gsize j = 1; j <= lb; j++) {
      char ca = g_ascii_tolower(a[i - 1]), cb = g_ascii_tolower(b[j - 1]);
      guint best = d[i - 1][j - 1] + (ca == cb ? 0 : 1);
      if (d[i - 1][j] + 1 < best)
        best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && ca == g_ascii_tolower(b[j - 2]) &&
          g_ascii_tolower(a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

const char *nl__scn_suggest(const char *word, const char *const *cands) {
  const char *best = NULL;
  guint bestd = G_MAXUINT;
  guint limit = (guint)strlen(word) / 3;
  if (limit < 1)
    limit = 1;
  if (limit > 3)
    limit = 3;
  for (guint i = 0; cands[i] != NULL; i++) {
    guint d = distance(word, cands[i]);
    if (d < bestd) {
      bestd = d;
      best = cands[i];
    }
  }
  return bestd <= limit ? best : NULL;
}
