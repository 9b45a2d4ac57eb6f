/* One PDF of many single-page PDFs, as graphviz's cairo renderer writes
 * them (graphviz 2.42 cannot put several pages in one PDF: its cairo
 * plugin finishes the surface after the first page).
 *
 * Each input is read through its cross-reference table: objects are the
 * bytes between consecutive offsets.  Every object of every input is
 * renumbered into one sequence ("N 0 obj", and "N 0 R" outside stream
 * data), each input's catalog, page tree and information dictionary are
 * dropped, and its pages are hung under one new page tree.  Nothing here
 * depends on time or the machine, so the output is as deterministic as
 * the pages.  PDF 1.7 (ISO 32000-1) §7.5 (file structure), §7.7.3 (page
 * tree).
 */
#include <stdlib.h>
#include <string.h>

#include "export/timeline-priv.h"

/* The last @needle in @len bytes at @s (which may hold NUL bytes: GLib's
 * g_strrstr_len() stops at the first one), or NULL. */
static const char *last_of(const char *s, gsize len, const char *needle) {
  gsize n = strlen(needle);
  for (gsize i = len >= n ? len - n + 1 : 0; i-- > 0;)
    if (memcmp(s + i, needle, n) == 0)
      return s + i;
  return NULL;
}

static const char *first_of(const char *s, gsize len, const char *needle) {
  return memmem(s, len, needle, strlen(needle));
}

typedef struct {
  guint num;
  gsize start, end; /* bytes of "N 0 obj ... endobj" */
} Obj;

static gint obj_by_start(gconstpointer a, gconstpointer b) {
  const Obj *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* The value of the key @key ("/Root") as an object number "N 0 R". */
static guint ref_after(const char *s, gsize len, const char *key) {
  gsize kl = strlen(key);
  for (gsize i = 0; i + kl < len; i++) {
    if (memcmp(s + i, key, kl) != 0 || g_ascii_isalnum(s[i + kl]))
      continue;
    const char *p = s + i + kl;
    while (p < s + len && g_ascii_isspace(*p))
      p++;
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (end != p && strncmp(end, " 0 R", 4) == 0)
      return (guint)v;
  }
  return 0;
}

typedef struct {
  const char *data;
  gsize len;
  GArray *objs;   /* Obj, by start */
  guint root, pages, info;
  GArray *kids;   /* guint: page object numbers */
} In;

static const Obj *find(const In *in, guint num) {
  for (guint i = 0; i < in->objs->len; i++)
    if (g_array_index(in->objs, Obj, i).num == num)
      return &g_array_index(in->objs, Obj, i);
  return NULL;
}

static gboolean parse(In *in) {
  const char *d = in->data;
  gsize len = in->len;
  const char *sx = last_of(d, len, "startxref");
  if (sx == NULL)
    return FALSE;
  gsize xref = strtoul(sx + 9, NULL, 10);
  if (xref >= len || strncmp(d + xref, "xref", 4) != 0)
    return FALSE;
  const char *p = d + xref + 4;
  while (g_ascii_isspace(*p))
    p++;
  char *e;
  unsigned long first = strtoul(p, &e, 10);
  unsigned long count = strtoul(e, &e, 10);
  p = e;
  while (g_ascii_isspace(*p))
    p++;
  in->objs = g_array_new(FALSE, FALSE, sizeof(Obj));
  for (unsigned long i = 0; i < count; i++, p += 20) {
    if (p + 20 > d + len)
      return FALSE;
    if (p[17] != 'n')
      continue;
    Obj o = {(guint)(first + i), strtoul(p, NULL, 10), 0};
    if (o.start >= len)
      return FALSE;
    g_array_append_val(in->objs, o);
  }
  g_array_sort(in->objs, obj_by_start);
  for (guint i = 0; i < in->objs->len; i++) {
    Obj *o = &g_array_index(in->objs, Obj, i);
    gsize limit = i + 1 < in->objs->len
                      ? g_array_index(in->objs, Obj, i + 1).start
                      : xref;
    const char *end = last_of(d + o->start, limit - o->start, "endobj");
    if (end == NULL)
      return FALSE;
    o->end = (gsize)(end - d) + 6;
  }
  const char *tr = last_of(d, len, "trailer");
  if (tr == NULL)
    return FALSE;
  gsize trl = len - (gsize)(tr - d);
  in->root = ref_after(tr, trl, "/Root");
  in->info = ref_after(tr, trl, "/Info");
  const Obj *root = find(in, in->root);
  if (root == NULL)
    return FALSE;
  in->pages = ref_after(d + root->start, root->end - root->start, "/Pages");
  const Obj *pages = find(in, in->pages);
  if (pages == NULL)
    return FALSE;
  /* "/Kids [ 2 0 R ... ]" */
  in->kids = g_array_new(FALSE, FALSE, sizeof(guint));
  const char *k = first_of(d + pages->start, pages->end - pages->start,
                           "/Kids");
  if (k == NULL)
    return FALSE;
  const char *q = strchr(k, '[');
  const char *qe = q ? strchr(q, ']') : NULL;
  if (qe == NULL || qe > d + pages->end)
    return FALSE;
  for (q = q + 1; q < qe;) {
    while (q < qe && !g_ascii_isdigit(*q))
      q++;
    if (q >= qe)
      break;
    guint v = (guint)strtoul(q, &e, 10);
    g_array_append_val(in->kids, v);
    q = e;
    while (q < qe && *q != 'R')
      q++;
    q++;
  }
  return in->kids->len > 0;
}

/* Appends @len bytes of an object's text with its numbers renumbered
 * through @map ("N 0 R" and the "N 0 obj" head), stream data as is. */
static void renumber(GString *out, const char *s, gsize len,
                     const guint *map, guint map_len, guint parent,
                     gboolean page) {
  gsize i = 0;
  while (i < len) {
    /* Stream data is copied as bytes. */
    if (len - i >= 7 && memcmp(s + i, "stream", 6) == 0 &&
        (s[i + 6] == '\n' || s[i + 6] == '\r')) {
      const char *es = last_of(s + i, len - i, "endstream");
      gsize stop = es ? (gsize)(es - s) : len;
      g_string_append_len(out, s + i, (gssize)(stop - i));
      i = stop;
      if (es == NULL)
        break;
      g_string_append(out, "endstream");
      i += 9;
      continue;
    }
    if (page && len - i > 7 && memcmp(s + i, "/Parent", 7) == 0) {
      /* The page's parent is the new page tree. */
      char *e;
      const char *p = s + i + 7;
      while (g_ascii_isspace(*p))
        p++;
      strtoul(p, &e, 10);
      if (strncmp(e, " 0 R", 4) == 0) {
        g_string_append_printf(out, "/Parent %u 0 R", parent);
        i = (gsize)(e + 4 - s);
        continue;
      }
    }
    if (g_ascii_isdigit(s[i]) && (i == 0 || !g_ascii_isalnum(s[i - 1])) &&
        s[i - (i > 0)] != '.' && s[i - (i > 0)] != '/') {
      char *e;
      unsigned long v = strtoul(s + i, &e, 10);
      gsize used = (gsize)(e - (s + i));
      gboolean ref = strncmp(e, " 0 R", 4) == 0 && !g_ascii_isalnum(e[4]);
      gboolean head = strncmp(e, " 0 obj", 6) == 0;
      if ((ref || head) && v < map_len && map[v] != 0) {
        g_string_append_printf(out, "%u", map[v]);
        i += used;
        continue;
      }
      g_string_append_len(out, s + i, (gssize)used);
      i += used;
      continue;
    }
    g_string_append_c(out, s[i]);
    i++;
  }
}

guint8 *nl__pdf_merge(GBytes *const *pages, guint n, gsize *len) {
  *len = 0;
  In *ins = g_new0(In, n);
  gboolean ok = n > 0;
  for (guint i = 0; ok && i < n; i++) {
    gsize l;
    ins[i].data = g_bytes_get_data(pages[i], &l);
    ins[i].len = l;
    ok = parse(&ins[i]);
  }
  GString *out = NULL;
  if (ok) {
    out = g_string_new("%PDF-1.5\n%\xb5\xed\xae\xfb\n");
    GArray *offsets = g_array_new(FALSE, TRUE, sizeof(gsize));
    g_array_set_size(offsets, 1);
    GArray *kids = g_array_new(FALSE, FALSE, sizeof(guint));
    guint next = 1;
    guint tree = 0; /* the new page tree's number, given after the rest */
    /* Numbers: every kept object of every input, in order. */
    guint **maps = g_new0(guint *, n);
    guint *map_lens = g_new0(guint, n);
    for (guint i = 0; i < n; i++) {
      guint top = 0;
      for (guint j = 0; j < ins[i].objs->len; j++)
        top = MAX(top, g_array_index(ins[i].objs, Obj, j).num);
      map_lens[i] = top + 1;
      maps[i] = g_new0(guint, top + 1);
      for (guint j = 0; j < ins[i].objs->len; j++) {
        guint num = g_array_index(ins[i].objs, Obj, j).num;
        if (num == ins[i].root || num == ins[i].pages || num == ins[i].info)
          continue;
        maps[i][num] = next++;
      }
    }
    tree = next++;
    guint catalog = next++;
    for (guint i = 0; i < n; i++) {
      for (guint j = 0; j < ins[i].objs->len; j++) {
        const Obj *o = &g_array_index(ins[i].objs, Obj, j);
        if (maps[i][o->num] == 0)
          continue;
        gboolean page = FALSE;
        for (guint k = 0; k < ins[i].kids->len; k++)
          page |= g_array_index(ins[i].kids, guint, k) == o->num;
        if (page) {
          guint v = maps[i][o->num];
          g_array_append_val(kids, v);
        }
        gsize at = out->len;
        g_array_set_size(offsets, MAX(offsets->len, maps[i][o->num] + 1));
        g_array_index(offsets, gsize, maps[i][o->num]) = at;
        renumber(out, ins[i].data + o->start, o->end - o->start, maps[i],
                 map_lens[i], tree, page);
        g_string_append_c(out, '\n');
      }
    }
    g_array_set_size(offsets, next);
    g_array_index(offsets, gsize, tree) = out->len;
    g_string_append_printf(out, "%u 0 obj\n<< /Type /Pages\n   /Kids [ ", tree);
    for (guint k = 0; k < kids->len; k++)
      g_string_append_printf(out, "%u 0 R ", g_array_index(kids, guint, k));
    g_string_append_printf(out, "]\n   /Count %u\n>>\nendobj\n", kids->len);
    g_array_index(offsets, gsize, catalog) = out->len;
    g_string_append_printf(out,
                           "%u 0 obj\n<< /Type /Catalog\n   /Pages %u 0 R\n>>\n"
                           "endobj\n",
                           catalog, tree);
    gsize xref = out->len;
    g_string_append_printf(out, "xref\n0 %u\n0000000000 65535 f \n", next);
    for (guint k = 1; k < next; k++)
      g_string_append_printf(out, "%010" G_GSIZE_FORMAT " 00000 n \n",
                             g_array_index(offsets, gsize, k));
    g_string_append_printf(out,
                           "trailer\n<< /Size %u\n   /Root %u 0 R\n>>\n"
                           "startxref\n%" G_GSIZE_FORMAT "\n%%%%EOF\n",
                           next, catalog, xref);
    for (guint i = 0; i < n; i++)
      g_free(maps[i]);
    g_free(maps);
    g_free(map_lens);
    g_array_free(kids, TRUE);
    g_array_free(offsets, TRUE);
  }
  for (guint i = 0; i < n; i++) {
    if (ins[i].objs)
      g_array_free(ins[i].objs, TRUE);
    if (ins[i].kids)
      g_array_free(ins[i].kids, TRUE);
  }
  g_free(ins);
  if (out == NULL)
    return NULL;
  *len = out->len;
  return (guint8 *)g_string_free(out, FALSE);
}
