/* Building a scenario's user programs with natlab-cc, through a cache.
 *
 * A program is one list of .c files.  Its cache entry, in
 * $XDG_CACHE_HOME/natlab, is named after the first file and a hash of the
 * list, natlab-cc and the shim: NAME-KEY.so and NAME-KEY.deps.  The .deps
 * manifest holds the SHA-256 of every file the compiler read (natlab-cc's
 * -MD list: the sources and every header, system headers too) and of the
 * .so itself.  An entry is used only while all of them still have that
 * content, so editing an included header rebuilds the program, as make
 * with -MD does, but by content rather than time stamps: a file rewritten
 * within the same second, or a checkout that resets times, is still seen.
 *
 * Hashing every header on every run cost more than the run itself for a
 * short scenario, so the manifest also keeps each file's stat (device,
 * inode, size, modification and change times in nanoseconds), and a file
 * whose stat is the one recorded is taken to have the recorded content
 * without being read, as git does with its index.  Only a stat that can
 * be trusted is used that way: one whose change time is more than a second
 * older than the manifest itself.  The change time cannot be set by a
 * program (a checkout that resets modification times still moves it), so
 * a file changed after it was recorded has another stat, and one changed
 * within the same clock tick as it was recorded is still hashed (git's
 * "racily clean" entries).  A manifest whose files had to be hashed and
 * still match is written again with their stats of now, so the next run
 * reads none of them.  natlab-cc and its shim, whose sums make the key,
 * are remembered the same way (natlab-cc-PATHKEY.tool), so a run neither
 * hashes them nor asks natlab-cc where the shim is.
 */
#include "scenarios/runner/runner.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_SELF "(module)"

static char *find_natlab_cc(void) {
  const char *env = g_getenv("NATLAB_CC");
  if (env != NULL)
    return g_strdup(env);
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  if (exe != NULL) {
    char *dir = g_path_get_dirname(exe);
    /* The natlab binary lives in tools/ of the build tree and in bin/
     * when installed; natlab-cc sits beside it in both. */
    char *cc = g_build_filename(dir, "natlab-cc", NULL);
    g_free(dir);
    g_free(exe);
    if (g_file_test(cc, G_FILE_TEST_EXISTS))
      return cc;
    g_free(cc);
  }
  return g_find_program_in_path("natlab-cc");
}

/* (transfer full) the SHA-256 of @path's content, or NULL when it cannot
 * be read. */
static char *file_sum(const char *path) {
  char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &text, &len, NULL))
    return NULL;
  char *sum =
      g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
  g_free(text);
  return sum;
}

#define MANIFEST_V2 "natlab-deps 2"
#define STAT_TRUSTED_NS G_GINT64_CONSTANT(1000000000)

static gint64 ns_of(const struct timespec *ts) {
  return (gint64)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* (transfer full) @st as a manifest field: "DEV:INO:SIZE:MTIME:CTIME",
 * times in nanoseconds. */
static char *stat_field(const struct stat *st) {
  return g_strdup_printf("%ju:%ju:%jd:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                         (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
                         (intmax_t)st->st_size, ns_of(&st->st_mtim),
                         ns_of(&st->st_ctim));
}

/* Whether a recorded stat field may stand for its content in a manifest
 * last written at @written (ns): its change time a second older. */
static gboolean stat_trusted(const char *field, gint64 written) {
  const char *ctime = strrchr(field, ':');
  if (ctime == NULL)
    return FALSE;
  gint64 c = g_ascii_strtoll(ctime + 1, NULL, 10);
  return c > 0 && c < written - STAT_TRUSTED_NS;
}

/* One checked line of a manifest. */
typedef struct {
  char *sum, *stat, *path;
} Dep;

static void dep_clear(gpointer p) {
  Dep *d = p;
  g_free(d->sum);
  g_free(d->stat);
  g_free(d->path);
}

/* Checks the manifest @deps: every file it names still has its recorded
 * content (MANIFEST_SELF stands for @self).  Returns FALSE when one does
 * not, or the manifest cannot be read; else TRUE, and rewrites the
 * manifest with the stats of now when a file had to be hashed.  With
 * @out, the checked lines (sums and paths) go there. */
static gboolean manifest_check(const char *deps, const char *self,
                               GArray *out) {
  char *text = NULL;
  GStatBuf mst;
  if (g_stat(deps, &mst) != 0 || !g_file_get_contents(deps, &text, NULL, NULL))
    return FALSE;
  gint64 written = ns_of(&mst.st_mtim);
  char **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  gboolean v2 = lines[0] != NULL && strcmp(lines[0], MANIFEST_V2) == 0;
  gboolean fresh = TRUE, hashed = FALSE;
  GArray *checked = g_array_new(FALSE, TRUE, sizeof(Dep));
  g_array_set_clear_func(checked, dep_clear);
  for (char **l = lines + (v2 ? 1 : 0); fresh && *l; l++) {
    if (**l == '\0')
      continue;
    /* "SUM STAT PATH" (or "SUM PATH" before stats were kept): the path
     * may hold spaces, the sum and the stat do not. */
    char *sum = *l, *recorded = NULL, *path = strchr(sum, ' ');
    if (path != NULL && v2) {
      recorded = path + 1;
      path = strchr(recorded, ' ');
    }
    if (path == NULL) {
      fresh = FALSE;
      break;
    }
    *path++ = '\0';
    if (recorded != NULL)
      recorded[-1] = '\0';
    const char *file = strcmp(path, MANIFEST_SELF) == 0 ? self : path;
    GStatBuf st;
    if (file == NULL || g_stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
      fresh = FALSE;
      break;
    }
    Dep d = {g_strdup(sum), stat_field(&st), g_strdup(path)};
    if (recorded == NULL || strcmp(recorded, d.stat) != 0 ||
        !stat_trusted(recorded, written)) {
      hashed = TRUE;
      char *now = file_sum(file);
      fresh = now != NULL && strcmp(now, sum) == 0;
      g_free(now);
    }
    g_array_append_val(checked, d);
  }
  g_strfreev(lines);
  if (fresh && hashed) {
    /* Atomic (a temporary file renamed over it); a failure only means the
     * next run hashes again. */
    GString *again = g_string_new(MANIFEST_V2 "\n");
    for (guint i = 0; i < checked->len; i++) {
      const Dep *d = &g_array_index(checked, Dep, i);
      g_string_append_printf(again, "%s %s %s\n", d->sum, d->stat, d->path);
    }
    g_file_set_contents(deps, again->str, (gssize)again->len, NULL);
    g_string_free(again, TRUE);
  }
  if (fresh && out != NULL) {
    for (guint i = 0; i < checked->len; i++) {
      Dep *d = &g_array_index(checked, Dep, i);
      g_array_append_val(out, *d);
      memset(d, 0, sizeof *d);
    }
  }
  g_array_free(checked, TRUE);
  return fresh;
}

/* Whether the manifest @deps still describes the files and @module (which
 * it must name). */
static gboolean entry_fresh(const char *module, const char *deps) {
  if (!g_file_test(module, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  GArray *lines = g_array_new(FALSE, TRUE, sizeof(Dep));
  g_array_set_clear_func(lines, dep_clear);
  gboolean fresh = manifest_check(deps, module, lines), self = FALSE;
  for (guint i = 0; fresh && i < lines->len; i++)
    self |= strcmp(g_array_index(lines, Dep, i).path, MANIFEST_SELF) == 0;
  g_array_free(lines, TRUE);
  return fresh && self;
}

/* Appends "SUM STAT PATH" for @file to @out (recorded as @as); FALSE when
 * it cannot be read. */
static gboolean manifest_line(GString *out, const char *file, const char *as) {
  GStatBuf st;
  char *sum = g_stat(file, &st) == 0 ? file_sum(file) : NULL;
  if (sum == NULL)
    return FALSE;
  char *field = stat_field(&st);
  g_string_append_printf(out, "%s %s %s\n", sum, field, as);
  g_free(field);
  g_free(sum);
  return TRUE;
}

/* The prerequisites of a make rule as cc -MD writes it ("OUT: a.c b.h"),
 * with its escapes undone ("\ " and "\#", "$$"). */
static GPtrArray *depfile_paths(const char *text) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  const char *p = strchr(text, ':');
  /* "OUT:" ends at the first ": " (a path may hold a colon). */
  while (p != NULL && p[1] != ' ' && p[1] != '\t' && p[1] != '\n' &&
         p[1] != '\0')
    p = strchr(p + 1, ':');
  if (p == NULL)
    return out;
  GString *word = g_string_new(NULL);
  for (p++;; p++) {
    if (*p == '\\' && (p[1] == ' ' || p[1] == '#')) {
      g_string_append_c(word, *++p);
    } else if (*p == '\\' && p[1] == '\n') {
      p++;
    } else if (*p == '$' && p[1] == '$') {
      g_string_append_c(word, *++p);
    } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\0') {
      if (word->len > 0)
        g_ptr_array_add(out, g_strdup(word->str));
      g_string_truncate(word, 0);
      if (*p == '\0' || (*p == '\n' && p[1] == '\n'))
        break;
    } else {
      g_string_append_c(word, *p);
    }
  }
  g_string_free(word, TRUE);
  return out;
}

/* Writes the manifest of a module just built from the -MD file @depfile. */
static gboolean write_manifest(const char *module, const char *depfile,
                               const char *manifest, GError **error) {
  char *text = NULL;
  if (!g_file_get_contents(depfile, &text, NULL, error))
    return FALSE;
  GPtrArray *paths = depfile_paths(text);
  g_free(text);
  GString *out = g_string_new(MANIFEST_V2 "\n");
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < paths->len; i++) {
    const char *path = paths->pdata[i];
    if (!manifest_line(out, path, path)) {
      g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM,
                  "%s: cannot read it after building %s", path, module);
      ok = FALSE;
    }
  }
  if (!manifest_line(out, module, MANIFEST_SELF))
    g_string_append_printf(out, "- - %s\n", MANIFEST_SELF);
  ok = ok && paths->len > 0 &&
       g_file_set_contents(manifest, out->str, (gssize)out->len, error);
  g_string_free(out, TRUE);
  g_ptr_array_free(paths, TRUE);
  return ok;
}

/* The sums of natlab-cc @cc and of its shim, for the cache key, in
 * @key: from DIR/natlab-cc-PATHKEY.tool while it holds, else by asking
 * natlab-cc where the shim is and reading both (and writing the file). */
static void key_tools(GChecksum *key, const char *cc, const char *dir) {
  char *pathkey = g_compute_checksum_for_string(G_CHECKSUM_SHA256, cc, -1);
  char *name = g_strdup_printf("natlab-cc-%.16s.tool", pathkey);
  char *memo = g_build_filename(dir, name, NULL);
  g_free(name);
  g_free(pathkey);
  GArray *lines = g_array_new(FALSE, TRUE, sizeof(Dep));
  g_array_set_clear_func(lines, dep_clear);
  /* Line 1: natlab-cc at this path; line 2: the shim. */
  if (manifest_check(memo, NULL, lines) && lines->len == 2 &&
      strcmp(g_array_index(lines, Dep, 0).path, cc) == 0) {
    for (guint i = 0; i < 2; i++)
      g_checksum_update(key, (const guchar *)g_array_index(lines, Dep, i).sum,
                        -1);
    g_array_free(lines, TRUE);
    g_free(memo);
    return;
  }
  g_array_free(lines, TRUE);
  GString *out = g_string_new(MANIFEST_V2 "\n");
  gboolean whole = manifest_line(out, cc, cc);
  char *cc_sum = file_sum(cc);
  if (cc_sum != NULL)
    g_checksum_update(key, (const guchar *)cc_sum, -1);
  g_free(cc_sum);
  const char *shim_argv[] = {"/bin/sh", cc, "--print-shim", NULL};
  char *shim = NULL;
  whole = whole &&
          g_spawn_sync(NULL, (char **)shim_argv, NULL,
                       G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &shim, NULL,
                       NULL, NULL);
  if (shim != NULL) {
    g_strstrip(shim);
    char *shim_sum = file_sum(shim);
    if (shim_sum != NULL)
      g_checksum_update(key, (const guchar *)shim_sum, -1);
    g_free(shim_sum);
    whole = whole && shim[0] != '\0' && strchr(shim, '\n') == NULL &&
            manifest_line(out, shim, shim);
  }
  g_free(shim);
  if (whole) {
    g_mkdir_with_parents(dir, 0755);
    g_file_set_contents(memo, out->str, (gssize)out->len, NULL);
  }
  g_string_free(out, TRUE);
  g_free(memo);
}

/* Cache entries this process built or found, by their list of sources:
 * a second world of the same scenario (--check-determinism) needs them
 * again, possibly once natlab is sealed (sim/host/seal.h) and can no
 * longer run natlab-cc, not even to ask it where the shim is.  Each is
 * still used only while its manifest holds. */
typedef struct {
  char *module;
  char *manifest;
  guint checked; /* the batch in which it was last found fresh, or 0 */
} Known;

static GHashTable *known_entries;
static guint batch;      /* the current batch (nl__run_build_batch) */
static gboolean batching;

void nl__run_build_batch(gboolean on) {
  batching = on;
  if (on)
    batch++;
}

static void known_free(gpointer data) {
  Known *k = data;
  g_free(k->module);
  g_free(k->manifest);
  g_free(k);
}

static char *sources_key(const char *const *sources) {
  GString *k = g_string_new(NULL);
  for (const char *const *s = sources; *s; s++) {
    g_string_append(k, *s);
    g_string_append_c(k, '\n');
  }
  return g_string_free(k, FALSE);
}

static char *build_sources(const char *const *sources, char **manifest_out,
                           GError **error);

char *nl_run_build_sources(const char *const *sources, GError **error) {
  g_return_val_if_fail(sources != NULL && sources[0] != NULL, NULL);
  if (known_entries == NULL)
    known_entries =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, known_free);
  char *key = sources_key(sources);
  Known *known = g_hash_table_lookup(known_entries, key);
  if (known != NULL &&
      ((batching && known->checked == batch) ||
       entry_fresh(known->module, known->manifest))) {
    known->checked = batching ? batch : 0;
    g_free(key);
    return g_strdup(known->module);
  }
  char *manifest = NULL;
  char *out = build_sources(sources, &manifest, error);
  if (out != NULL) {
    Known *k = g_new0(Known, 1);
    k->module = g_strdup(out);
    k->manifest = manifest;
    k->checked = batching ? batch : 0;
    g_hash_table_replace(known_entries, key, k);
  } else {
    g_free(manifest);
    g_free(key);
  }
  return out;
}

static char *build_sources(const char *const *sources, char **manifest_out,
                           GError **error) {
  char *cc = find_natlab_cc();
  if (cc == NULL) {
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM,
                "natlab-cc not found (set NATLAB_CC)");
    return NULL;
  }
  /* The key: the list of sources, natlab-cc and the shim (linked in
   * statically: a new shim must rebuild programs). */
  GChecksum *key = g_checksum_new(G_CHECKSUM_SHA256);
  for (const char *const *s = sources; *s; s++)
    g_checksum_update(key, (const guchar *)*s, (gssize)strlen(*s) + 1);
  g_checksum_update(key, (const guchar *)cc, (gssize)strlen(cc) + 1);
  char *dir = g_build_filename(g_get_user_cache_dir(), "natlab", NULL);
  key_tools(key, cc, dir);

  char *base = g_path_get_basename(sources[0]);
  char *dot = strrchr(base, '.');
  if (dot != NULL && dot != base)
    *dot = '\0';
  char *stem = g_strdup_printf("%s-%.16s", base, g_checksum_get_string(key));
  g_checksum_free(key);
  g_free(base);
  char *name = g_strconcat(stem, ".so", NULL);
  char *out = g_build_filename(dir, name, NULL);
  g_free(name);
  name = g_strconcat(stem, ".deps", NULL);
  char *manifest = g_build_filename(dir, name, NULL);
  g_free(name);
  g_free(stem);
  if (entry_fresh(out, manifest)) {
    *manifest_out = manifest;
    g_free(dir);
    g_free(cc);
    return out;
  }

  g_mkdir_with_parents(dir, 0755);
  g_free(dir);
  char *tmp = g_strdup_printf("%s.%d.tmp", out, (int)getpid());
  char *tmp_d = g_strdup_printf("%s.%d.d", out, (int)getpid());
  /* Through sh: natlab-cc is a script, and NATLAB_CC may name a copy
   * without an execute bit. */
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, (gpointer) "/bin/sh");
  g_ptr_array_add(argv, cc);
  g_ptr_array_add(argv, (gpointer) "-MD");
  g_ptr_array_add(argv, (gpointer) "-MF");
  g_ptr_array_add(argv, tmp_d);
  g_ptr_array_add(argv, (gpointer) "-o");
  g_ptr_array_add(argv, tmp);
  for (const char *const *s = sources; *s; s++)
    g_ptr_array_add(argv, (gpointer)*s);
  g_ptr_array_add(argv, NULL);
  char *err_text = NULL;
  int status = 0;
  gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT,
                             NULL, NULL, NULL, &err_text, &status, error);
  g_ptr_array_free(argv, TRUE);
  if (ok && !g_spawn_check_wait_status(status, NULL)) {
    char *list = g_strjoinv(" ", (char **)sources);
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM,
                "natlab-cc could not build %s:\n%s", list,
                err_text ? err_text : "");
    g_free(list);
    ok = FALSE;
  }
  g_free(err_text);
  g_free(cc);
  /* The manifest first, then the module: a reader that sees the new
   * module with an old manifest finds the module's sum wrong. */
  ok = ok && write_manifest(tmp, tmp_d, manifest, error);
  if (ok && rename(tmp, out) != 0) {
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM, "%s: %s", out,
                g_strerror(errno));
    ok = FALSE;
  }
  unlink(tmp_d);
  g_free(tmp_d);
  *manifest_out = manifest;
  if (!ok) {
    unlink(tmp);
    g_free(tmp);
    g_free(out);
    return NULL;
  }
  g_free(tmp);
  return out;
}

char *nl_run_build_program(const char *source, GError **error) {
  const char *sources[] = {source, NULL};
  return nl_run_build_sources(sources, error);
}
