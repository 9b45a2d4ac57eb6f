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
  for (guint i = 0; i < l->ntok; i++) {
    g_free(l->tok[i].text);
    g_free(l->tok[i].key);
    g_free(l->tok[i].value);
    g_free(l->tok[i].from);
  }
  g_free(l->tok);
  l->tok = NULL;
  l->ntok = 0;
}

const char *nl__scn_from(const NlScnTok *t) {
  return t->from != NULL ? t->from : "";
}

/* Reads a "..." string starting at @pos (the opening quote).  Escapes:
 * \" \\ \n \t.  On success *end is just past the closing quote. */
static gboolean lex_string(NlScnParser *p, const NlScnLine *l, gsize pos,
                           char **out, gsize *end) {
  GString *s = g_string_new(NULL);
  gsize i = pos + 1;
  for (;;) {
    char c = l->raw[i];
    if (c == '\0') {
      NlScnLoc loc = loc_at(l, pos);
      g_string_free(s, TRUE);
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
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
        return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
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
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                        "expected a space after the closing quote");
  }
  *out = g_string_free(s, FALSE);
  return TRUE;
}

/* Replaces $name, ${name} and $$ in raw[from..to).  *src names the first
 * constant used (for messages). */
static gboolean substitute(NlScnParser *p, const NlScnLine *l, gsize from,
                           gsize to, char **out, char **src) {
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
    *out = g_strndup(l->raw + from, to - from);
    return TRUE;
  }
  GString *s = g_string_sized_new(to - from + 16);
  gsize i = from;
  while (i < to) {
    char c = l->raw[i];
    if (c != '$') {
      /* The run up to the next $ at once. */
      const char *d = memchr(l->raw + i, '$', to - i);
      gsize run = d != NULL ? (gsize)(d - l->raw) - i : to - i;
      g_string_append_len(s, l->raw + i, (gssize)run);
      i += run;
      continue;
    }
    if (i + 1 < to && l->raw[i + 1] == '$') {
      g_string_append_c(s, '$');
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
        if (!nl__scn_eval(p, l, ns, close, &v)) {
          g_string_free(s, TRUE);
          return FALSE;
        }
        char num[24], *d = num + sizeof num;
        guint64 m = v < 0 ? 0 - (guint64)v : (guint64)v;
        do
          *--d = (char)('0' + m % 10);
        while ((m /= 10) != 0);
        if (v < 0)
          *--d = '-';
        g_string_append_len(s, d, num + sizeof num - d);
        if (*src == NULL) {
          /* " (from ${EXPR})" */
          GString *f = g_string_new(" (from ${");
          g_string_append_len(f, l->raw + ns, (gssize)(close - ns));
          g_string_append(f, "})");
          *src = g_string_free(f, FALSE);
        }
        i = close + 1;
        if (p->line_expanded + s->len > NL_SCENARIO_MAX_LINE)
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
      g_string_free(s, TRUE);
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                          "expected a constant name after $ (like $latency "
                          "or ${latency}; write $$ for a plain $)");
    }
    char *name = g_strndup(l->raw + ns, ne - ns);
    NlScnConst *c2 = g_hash_table_lookup(p->consts, name);
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
      g_string_free(s, TRUE);
      return FALSE;
    }
    g_string_append(s, c2->value);
    if (*src == NULL)
      *src = c2->overridden
                 ? g_strconcat(" (from --set ", name, "=", c2->value, ")", NULL)
                 : g_strconcat(" (from $", name, ")", NULL);
    g_free(name);
    i = braced ? ne + 1 : ne;
    /* A line's limit holds after substitution too, so constants that
     * double each other cannot grow a line without bound. */
    if (p->line_expanded + s->len > NL_SCENARIO_MAX_LINE) {
    too_long:;
      NlScnLoc loc = loc_at(l, from);
      nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                   "this line is longer than %d bytes once its constants "
                   "are substituted%s; expected shorter values",
                   NL_SCENARIO_MAX_LINE, *src ? *src : "");
      g_string_free(s, TRUE);
      return FALSE;
    }
  }
  p->line_expanded += s->len;
  p->total_expanded += s->len;
  if (p->total_expanded > NL_SCENARIO_MAX_TOTAL) {
    NlScnLoc loc = loc_at(l, from);
    g_string_free(s, TRUE);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                        "the scenario's words come to more than %u bytes in "
                        "total; expected a smaller scenario",
                        NL_SCENARIO_MAX_TOTAL);
  }
  *out = g_string_free(s, FALSE);
  return TRUE;
}

static gboolean lex_word(NlScnParser *p, const NlScnLine *l, gsize pos,
                         NlScnTok *t, gsize *end) {
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
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
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
    *end = i;
    t->end = i;
    return substitute(p, l, pos, i, &t->text, &t->from);
  }
  t->key = g_strndup(l->raw + pos, eq - pos);
  t->vcol = col_of(l, eq + 1);
  if (l->raw[eq + 1] == '"') {
    if (!lex_string(p, l, eq + 1, &t->value, end))
      return FALSE;
    t->vquoted = TRUE;
  } else {
    *end = i;
    if (!substitute(p, l, eq + 1, i, &t->value, &t->from))
      return FALSE;
  }
  t->end = *end;
  t->text = g_strconcat(t->key, "=", t->value, NULL);
  return TRUE;
}

gboolean nl__scn_lex_line(NlScnParser *p, NlScnLine *l) {
  GArray *toks = g_array_sized_new(FALSE, TRUE, sizeof(NlScnTok), 8);
  gsize pos = 0;
  gboolean ok = TRUE;

  p->line_expanded = 0;
  while (is_blank(l->raw[pos]))
    pos++;
  l->indented = pos > 0;
  for (;;) {
    while (is_blank(l->raw[pos]))
      pos++;
    if (l->raw[pos] == '\0' || l->raw[pos] == '#')
      break;
    NlScnTok t = {0};
    gsize end = pos;
    if (l->raw[pos] == '"') {
      t.col = col_of(l, pos);
      t.start = pos;
      t.quoted = TRUE;
      ok = lex_string(p, l, pos, &t.text, &end);
      t.end = end;
    } else {
      ok = lex_word(p, l, pos, &t, &end);
    }
    g_array_append_val(toks, t);
    if (!ok)
      break;
    pos = end;
  }
  l->ntok = toks->len;
  l->tok = (NlScnTok *)(void *)g_array_free(toks, FALSE);
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
