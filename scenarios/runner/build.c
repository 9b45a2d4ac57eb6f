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
 */
#include "scenarios/runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
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

/* Whether the manifest @deps still describes the files and @module. */
static gboolean entry_fresh(const char *module, const char *deps) {
  char *text = NULL;
  if (!g_file_test(module, G_FILE_TEST_IS_REGULAR) ||
      !g_file_get_contents(deps, &text, NULL, NULL))
    return FALSE;
  gboolean fresh = TRUE, self = FALSE;
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; fresh && *l; l++) {
    if (**l == '\0')
      continue;
    /* "SUM PATH": the path may hold spaces, the sum does not. */
    char *space = strchr(*l, ' ');
    if (space == NULL) {
      fresh = FALSE;
      break;
    }
    *space = '\0';
    const char *path = space + 1;
    gboolean is_self = strcmp(path, MANIFEST_SELF) == 0;
    self |= is_self;
    char *now = file_sum(is_self ? module : path);
    fresh = now != NULL && strcmp(now, *l) == 0;
    g_free(now);
  }
  g_strfreev(lines);
  g_free(text);
  return fresh && self;
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
  GString *out = g_string_new(NULL);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < paths->len; i++) {
    const char *path = paths->pdata[i];
    char *sum = file_sum(path);
    if (sum == NULL) {
      g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM,
                  "%s: cannot read it after building %s", path, module);
      ok = FALSE;
    } else {
      g_string_append_printf(out, "%s %s\n", sum, path);
    }
    g_free(sum);
  }
  char *self = file_sum(module);
  g_string_append_printf(out, "%s %s\n", self ? self : "-", MANIFEST_SELF);
  g_free(self);
  ok = ok && paths->len > 0 &&
       g_file_set_contents(manifest, out->str, (gssize)out->len, error);
  g_string_free(out, TRUE);
  g_ptr_array_free(paths, TRUE);
  return ok;
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
  for (const char *const *s = sources; *s; s++)
    g_string_append_printf(k, "%s\n", *s);
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
  char *cc_sum = file_sum(cc);
  if (cc_sum != NULL)
    g_checksum_update(key, (const guchar *)cc_sum, -1);
  g_free(cc_sum);
  const char *shim_argv[] = {"/bin/sh", cc, "--print-shim", NULL};
  char *shim = NULL;
  if (g_spawn_sync(NULL, (char **)shim_argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                   NULL, NULL, &shim, NULL, NULL, NULL)) {
    char *shim_sum = file_sum(g_strstrip(shim));
    if (shim_sum != NULL)
      g_checksum_update(key, (const guchar *)shim_sum, -1);
    g_free(shim_sum);
  }
  g_free(shim);

  char *dir = g_build_filename(g_get_user_cache_dir(), "natlab", NULL);
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
