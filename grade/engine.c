/* The grading engine: builds each submission, plans the units (a
 * submission's run of one test file under one seed), runs each unit in a
 * confined child process, at most @jobs at once, and turns a unit's run
 * into results from its trace.  A child that dies (a limit, the wall-clock
 * bound) is a named failure of its unit; the grader goes on. */
#include "grade/grade-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export/timeline.h"
#include "scenarios/runner/runner.h"
#include "sim/host/heap.h"
#include "sim/host/proc.h"

#define OUTPUT_TAIL 10      /* lines of program output in a report */
#define TRACE_LINES 12      /* relevant trace lines in a report */
#define SVG_MAX_RECORDS 100000
#define BUILD_CPU_S 60
#define MAX_SOURCE_BYTES (4u << 20)

struct NlGradeRun {
  NlGradePlan plan;
  GPtrArray *units; /* NlGradeUnit*, this shard's, in index order */
};

typedef struct {
  const NlAssignment *a;
  const NlGradeOptions *o;
  char *work;       /* scratch root (removed at the end) */
  char *root;       /* natlab's build or install root (built-in programs) */
  char **subs;      /* as given */
  GPtrArray *names; /* submission names */
  guint n_seeds;
  /* per submission: the built program modules (program index → path), or
   * the build log when the build failed */
  GPtrArray *modules; /* GPtrArray* of char* (NULL when not built) */
  GPtrArray *logs;    /* char* */
  GPtrArray *sources; /* char*: the .c files the build used, for replays */
  GHashTable *prebuilt; /* an assignment's C program (path) → its module */
} Ctx;

/* ---- child processes ---- */

typedef struct Job Job;
typedef pid_t (*JobStart)(Job *j);
typedef void (*JobDone)(Job *j);

struct Job {
  JobStart start;
  JobDone done;
  gpointer data;
  Ctx *ctx;
  pid_t pid;
  int fd;
  GString *out;
  gint64 deadline; /* monotonic µs */
  gboolean timed_out;
  int status;
  long maxrss_kib; /* the child's peak resident memory */
};

static void set_cloexec_all_but(int keep) {
  /* A child keeps only its own pipe: every other descriptor closes. */
  for (int fd = 3; fd < 1024; fd++)
    if (fd != keep)
      close(fd);
}

/* Runs @jobs, @parallel at a time; each job's output is read from its
 * pipe until EOF, then it is reaped and its done() called, in start order
 * per slot (results never depend on which finished first: each job writes
 * only its own result). */
static void run_jobs(GPtrArray *jobs, guint parallel, gint64 wall_ms) {
  guint next = 0, running = 0;
  Job **slots = g_new0(Job *, parallel);
  while (next < jobs->len || running > 0) {
    for (guint s = 0; s < parallel && next < jobs->len; s++) {
      if (slots[s] != NULL)
        continue;
      Job *j = g_ptr_array_index(jobs, next++);
      j->out = g_string_new(NULL);
      j->deadline = g_get_monotonic_time() + wall_ms * 1000;
      j->pid = j->start(j);
      if (j->pid < 0) {
        j->status = -1;
        j->done(j);
        continue;
      }
      slots[s] = j;
      running++;
    }
    struct pollfd *pfd = g_new0(struct pollfd, parallel);
    gint64 now = g_get_monotonic_time(), wait = 1000;
    for (guint s = 0; s < parallel; s++) {
      pfd[s].fd = slots[s] ? slots[s]->fd : -1;
      pfd[s].events = POLLIN;
      if (slots[s])
        wait = MIN(wait, MAX((slots[s]->deadline - now) / 1000, 0));
    }
    int n = poll(pfd, parallel, (int)wait);
    for (guint s = 0; s < parallel; s++) {
      Job *j = slots[s];
      if (j == NULL)
        continue;
      gboolean eof = FALSE;
      if (n > 0 && (pfd[s].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[65536];
        ssize_t r = read(j->fd, buf, sizeof buf);
        if (r > 0)
          g_string_append_len(j->out, buf, r);
        else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
          eof = TRUE;
      }
      if (!eof && g_get_monotonic_time() > j->deadline) {
        /* The wall-clock bound: a last resort, never the usual outcome. */
        kill(j->pid, SIGKILL);
        j->timed_out = TRUE;
        eof = TRUE;
      }
      if (!eof)
        continue;
      close(j->fd);
      struct rusage ru;
      memset(&ru, 0, sizeof ru);
      while (wait4(j->pid, &j->status, 0, &ru) < 0 && errno == EINTR)
        ;
      j->maxrss_kib = ru.ru_maxrss;
      slots[s] = NULL;
      running--;
      j->done(j);
    }
    g_free(pfd);
  }
  g_free(slots);
}

static pid_t fork_with_pipe(Job *j, int *child_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    close(p[0]);
    *child_fd = p[1];
    return 0;
  }
  close(p[1]);
  j->fd = p[0];
  return pid;
}

static void remove_tree(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  if (d != NULL) {
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
      char *c = g_build_filename(path, n, NULL);
      if (g_file_test(c, G_FILE_TEST_IS_DIR) &&
          !g_file_test(c, G_FILE_TEST_IS_SYMLINK))
        remove_tree(c);
      else
        unlink(c);
      g_free(c);
    }
    g_dir_close(d);
  }
  rmdir(path);
}

/* ---- building submissions ---- */

typedef struct {
  guint sub;
  char *dir;    /* the scratch copy */
  guint program;
} BuildJob;

static gint str_cmp(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies the submission's .c and .h files (regular files only, bounded)
 * into @to.  Returns the .c names, sorted; NULL with @log set when the
 * submission cannot be read. */
static GPtrArray *copy_sources(const char *from, const char *to, char **log) {
  GDir *d = g_dir_open(from, 0, NULL);
  if (d == NULL) {
    *log = g_strdup("the submission folder cannot be read");
    return NULL;
  }
  GPtrArray *cs = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  guint64 total = 0;
  while ((n = g_dir_read_name(d)) != NULL) {
    if (!g_str_has_suffix(n, ".c") && !g_str_has_suffix(n, ".h"))
      continue;
    char *src = g_build_filename(from, n, NULL);
    GStatBuf st;
    if (g_lstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
      g_free(src);
      continue; /* symbolic links and devices are left out */
    }
    char *text = NULL;
    gsize len = 0;
    total += (guint64)st.st_size;
    if (total <= MAX_SOURCE_BYTES && g_file_get_contents(src, &text, &len,
                                                         NULL)) {
      char *dst = g_build_filename(to, n, NULL);
      g_file_set_contents(dst, text, (gssize)len, NULL);
      g_free(dst);
      if (g_str_has_suffix(n, ".c"))
        g_ptr_array_add(cs, g_strdup(n));
    }
    g_free(text);
    g_free(src);
  }
  g_dir_close(d);
  if (total > MAX_SOURCE_BYTES) {
    *log = g_strdup_printf("the submission's sources are larger than %u "
                           "bytes",
                           MAX_SOURCE_BYTES);
    g_ptr_array_free(cs, TRUE);
    return NULL;
  }
  g_ptr_array_sort(cs, str_cmp);
  return cs;
}

/* The files of program @p: its main, then the submission's .c files that
 * are no program's main, sorted. */
static GPtrArray *program_files(const NlAssignment *a, guint p,
                                GPtrArray *cs) {
  const NlGradeProgram *prog = g_ptr_array_index(a->programs, p);
  GPtrArray *files = g_ptr_array_new();
  g_ptr_array_add(files, prog->main);
  for (guint i = 0; i < cs->len; i++) {
    const char *c = g_ptr_array_index(cs, i);
    gboolean is_main = FALSE;
    for (guint k = 0; k < a->programs->len; k++)
      is_main |= strcmp(c, ((NlGradeProgram *)g_ptr_array_index(
                               a->programs, k))->main) == 0;
    if (!is_main)
      g_ptr_array_add(files, (gpointer)c);
  }
  return files;
}

static char *natlab_cc(void) {
  const char *env = g_getenv("NATLAB_CC");
  if (env != NULL)
    return g_strdup(env);
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  char *dir = exe ? g_path_get_dirname(exe) : g_strdup(".");
  char *cc = g_build_filename(dir, "natlab-cc", NULL);
  g_free(exe);
  g_free(dir);
  if (g_file_test(cc, G_FILE_TEST_EXISTS))
    return cc;
  g_free(cc);
  return g_find_program_in_path("natlab-cc");
}

typedef struct {
  Ctx *c;
  guint sub, program;
  char *dir, *out;
  GPtrArray *files;
} Build;

static pid_t build_start(Job *j) {
  Build *b = j->data;
  int fd;
  pid_t pid = fork_with_pipe(j, &fd);
  if (pid != 0)
    return pid;
  /* The child: natlab-cc in the scratch copy, so messages name the
   * submission's own files. */
  dup2(fd, 1);
  dup2(fd, 2);
  int null = open("/dev/null", O_RDONLY);
  dup2(null, 0);
  set_cloexec_all_but(-1);
  struct rlimit cpu = {BUILD_CPU_S, BUILD_CPU_S + 1};
  setrlimit(RLIMIT_CPU, &cpu);
  if (chdir(b->dir) != 0)
    _exit(127);
  char *cc = natlab_cc();
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, "/bin/sh");
  g_ptr_array_add(argv, cc ? cc : "natlab-cc");
  g_ptr_array_add(argv, "-o");
  g_ptr_array_add(argv, b->out);
  for (guint i = 0; i < b->files->len; i++)
    g_ptr_array_add(argv, g_ptr_array_index(b->files, i));
  g_ptr_array_add(argv, NULL);
  execv("/bin/sh", (char **)argv->pdata);
  _exit(127);
}

/* Removes @dir/ from @text (paths of the scratch copy). */
static char *unscratch(const char *text, const char *dir) {
  char *prefix = g_strdup_printf("%s/", dir);
  char **parts = g_strsplit(text, prefix, -1);
  char *out = g_strjoinv("", parts);
  g_strfreev(parts);
  g_free(prefix);
  return out;
}

static void build_done(Job *j) {
  Build *b = j->data;
  Ctx *c = b->c;
  gboolean ok = j->status >= 0 && WIFEXITED(j->status) &&
                WEXITSTATUS(j->status) == 0 &&
                g_file_test(b->out, G_FILE_TEST_EXISTS);
  GPtrArray *mods = g_ptr_array_index(c->modules, b->sub);
  if (ok) {
    g_ptr_array_index(mods, b->program) = g_strdup(b->out);
  } else if (g_ptr_array_index(c->logs, b->sub) == NULL) {
    char *msg = unscratch(j->out->str, b->dir);
    const NlGradeProgram *p = g_ptr_array_index(c->a->programs, b->program);
    g_ptr_array_index(c->logs, b->sub) = g_strdup_printf(
        "%s (program %s) did not build%s:\n%s", p->main, p->name,
        j->timed_out || (WIFSIGNALED(j->status))
            ? " (the compiler ran out of time)"
            : "",
        msg);
    g_free(msg);
  }
  g_string_free(j->out, TRUE);
}

static void build_all(Ctx *c, const gboolean *needed) {
  GPtrArray *jobs = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *builds = g_ptr_array_new();
  for (guint s = 0; s < c->names->len; s++) {
    GPtrArray *mods = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_set_size(mods, c->a->programs->len);
    g_ptr_array_add(c->modules, mods);
    g_ptr_array_add(c->logs, NULL);
    g_ptr_array_add(c->sources, NULL);
    if (!needed[s])
      continue;
    char *dir = g_build_filename(c->work, "build",
                                 g_ptr_array_index(c->names, s), NULL);
    g_mkdir_with_parents(dir, 0700);
    char *log = NULL;
    GPtrArray *cs = copy_sources(c->subs[s], dir, &log);
    if (cs == NULL) {
      g_ptr_array_index(c->logs, s) = log;
      g_free(dir);
      continue;
    }
    for (guint p = 0; p < c->a->programs->len; p++) {
      const NlGradeProgram *prog = g_ptr_array_index(c->a->programs, p);
      char *main = g_build_filename(dir, prog->main, NULL);
      if (!g_file_test(main, G_FILE_TEST_IS_REGULAR)) {
        if (g_ptr_array_index(c->logs, s) == NULL)
          g_ptr_array_index(c->logs, s) = g_strdup_printf(
              "the submission has no %s (program %s): expected it in the "
              "submission's folder",
              prog->main, prog->name);
        g_free(main);
        continue;
      }
      g_free(main);
      Build *b = g_new0(Build, 1);
      b->c = c;
      b->sub = s;
      b->program = p;
      b->dir = g_strdup(dir);
      char *so = g_strdup_printf("%s.so", prog->name);
      b->out = g_build_filename(dir, so, NULL);
      g_free(so);
      b->files = program_files(c->a, p, cs);
      Job *j = g_new0(Job, 1);
      j->start = build_start;
      j->done = build_done;
      j->data = b;
      j->ctx = c;
      g_ptr_array_add(jobs, j);
      g_ptr_array_add(builds, b);
    }
    /* For replays: which files each program was built from. */
    g_ptr_array_index(c->sources, s) = cs;
    g_free(dir);
  }
  run_jobs(jobs, MAX(c->o->jobs, 1), (BUILD_CPU_S + 30) * 1000);
  for (guint i = 0; i < builds->len; i++) {
    Build *b = g_ptr_array_index(builds, i);
    g_free(b->dir);
    g_free(b->out);
    g_ptr_array_free(b->files, TRUE);
    g_free(b);
  }
  g_ptr_array_free(builds, TRUE);
  g_ptr_array_free(jobs, TRUE);
}

/* ---- units ---- */

typedef struct {
  Ctx *c;
  NlGradeUnit *unit;
  NlScenario *s;  /* loaded with the submission's programs */
  guint64 seed;
  char *scratch;
} UnitJob;

static char *replay_of(Ctx *c, guint sub, const NlGradeTestFile *tf,
                       guint64 seed) {
  GString *r = g_string_new(NULL);
  GPtrArray *cs = g_ptr_array_index(c->sources, sub);
  for (guint p = 0; p < c->a->programs->len; p++) {
    const NlGradeProgram *prog = g_ptr_array_index(c->a->programs, p);
    g_string_append_printf(r, "natlab-cc -o %s.so", prog->name);
    if (cs != NULL) {
      GPtrArray *files = program_files(c->a, p, cs);
      for (guint i = 0; i < files->len; i++)
        g_string_append_printf(r, " %s",
                               (char *)g_ptr_array_index(files, i));
      g_ptr_array_free(files, TRUE);
    } else {
      g_string_append_printf(r, " %s", prog->main);
    }
    g_string_append(r, " && ");
  }
  g_string_append_printf(r, "natlab run %s/%s", c->a->id, tf->rel);
  for (guint p = 0; p < c->a->programs->len; p++) {
    const NlGradeProgram *prog = g_ptr_array_index(c->a->programs, p);
    g_string_append_printf(r, " --set %s=./%s.so", prog->name, prog->name);
  }
  g_string_append_printf(r, " --seed %" G_GUINT64_FORMAT, seed);
  return g_string_free(r, FALSE);
}

/* Where @loc is, relative to the assignment folder. */
static char *where_of(Ctx *c, const NlScnLoc *loc) {
  const char *f = loc->file;
  char *prefix = g_strdup_printf("%s/", c->a->dir);
  if (g_str_has_prefix(f, prefix))
    f += strlen(prefix);
  g_free(prefix);
  return g_strdup_printf("%s:%u", f, loc->line);
}

/* The unit's tests, all failed with @failure and @happened: for units
 * that could not run (a build failure, a child that died). */
static void unit_fail_all(Ctx *c, UnitJob *uj, const char *failure,
                          const char *happened) {
  const NlGradeTestFile *tf = g_ptr_array_index(c->a->tests, uj->unit->test);
  for (guint i = 0; uj->s && i < uj->s->expects->len; i++) {
    const NlScnExpect *e = g_ptr_array_index(uj->s->expects, i);
    if (e->points < 0)
      continue;
    NlGradeTest *t = nl__grade_test_new();
    t->name = nl__grade_test_name(e);
    t->where = where_of(c, &e->loc);
    t->expected = g_strdup(e->source);
    t->feedback = g_strdup(e->feedback);
    t->max = e->points;
    t->failure = g_strdup(failure);
    t->happened = g_strdup(happened);
    t->seed = uj->seed;
    t->replay = replay_of(c, uj->unit->sub, tf, uj->seed);
    g_ptr_array_add(uj->unit->tests, t);
  }
}

/* Whether trace name @who ("host/name") runs a submission program. */
static gboolean is_submission_run(const NlScenario *s, GHashTable *mine,
                                  const char *who) {
  (void)s;
  return g_hash_table_contains(mine, who);
}

typedef struct {
  char *failure;  /* named failure of the run, or NULL */
  char *happened; /* its description */
} RunFailure;

/* A named failure of a submission program, from the trace: a crash, an
 * escape attempt, a spin, a deadlock, a descriptor leak. */
static void find_failure(NlTrace *t, const NlScenario *s, GHashTable *mine,
                         RunFailure *f) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (f->failure == NULL && nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_PROC && rec->kind != NL_TRACE_STATS &&
        rec->kind != NL_TRACE_NOTE)
      continue;
    const char *who = nl_trace_name(t, rec->peer);
    if (!is_submission_run(s, mine, who))
      continue;
    char *text = g_strndup((const char *)p, rec->len);
    char tb[NL_TIME_STRLEN];
    nl_time_to_string(rec->time, tb);
    if (rec->kind == NL_TRACE_NOTE) {
      /* The lab refused a program's allocation (sim/host/heap.h). */
      if (g_str_has_prefix(text, "out of memory:")) {
        f->failure = g_strdup("memory limit");
        f->happened = g_strdup_printf(
            "%s ran out of memory at virtual time %ss: %s", who, tb,
            text + strlen("out of memory: "));
      }
    } else if (rec->kind == NL_TRACE_PROC &&
               g_str_has_prefix(text, "refused:")) {
      /* natlab's seal (sim/host/seal.h) refused a real system call. */
      char *what = g_strdup(text + strlen("refused: "));
      char *semi = strchr(what, ';');
      if (semi)
        *semi = '\0';
      f->failure = g_strdup("escape attempt");
      f->happened = g_strdup_printf(
          "%s: %s was refused at virtual time %ss (the grader lets no "
          "program reach the real system); the program was stopped",
          who, what, tb);
      g_free(what);
    } else if (rec->kind == NL_TRACE_PROC &&
               g_str_has_prefix(text, "crashed")) {
      const char *call = nl__grade_refused_call();
      if (strstr(text, "Bad system call") != NULL && call != NULL) {
        f->failure = g_strdup("escape attempt");
        f->happened = g_strdup_printf(
            "%s called %s(), which the grader refuses (no real sockets, "
            "processes, exec or signals), at virtual time %ss; it was "
            "stopped",
            who, call, tb);
      } else {
        f->failure = g_strdup("crash");
        f->happened = g_strdup_printf("%s %s at virtual time %ss", who, text,
                                      tb);
      }
    } else if (rec->kind == NL_TRACE_PROC &&
               g_str_has_prefix(text, "stopped by the watchdog")) {
      f->failure = g_strdup("spin");
      f->happened = g_strdup_printf(
          "%s ran without calling into the lab (a busy loop?) until the "
          "watchdog stopped it (its own CPU time), at virtual time %ss",
          who, tb);
    } else if (rec->kind == NL_TRACE_PROC &&
               strstr(text, "(deadlock") != NULL) {
      f->failure = g_strdup("deadlock");
      f->happened = g_strdup_printf("%s at virtual time %ss: %s", who, tb,
                                    text);
    } else if (rec->kind == NL_TRACE_STATS) {
      const char *e = strstr(text, " emfile=");
      guint64 emfile = e != NULL ? g_ascii_strtoull(e + 8, NULL, 10) : 0;
      if (emfile > 0) {
        f->failure = g_strdup("descriptor leak");
        f->happened = g_strdup_printf(
            "%s ran out of descriptors (EMFILE %" G_GUINT64_FORMAT
            " times): descriptors it no longer used were not closed (%s), "
            "ended at virtual time %ss",
            who, emfile, text, tb);
      }
    }
    g_free(text);
  }
}

/* The first submission program of @t that exited with a status other
 * than 0: for a failed test, how the program ended says more than the
 * expectation (a server that closed its standard streams and returned 3
 * before any client came).  Sets *@when; NULL when none did. */
static char *find_failed_exit(NlTrace *t, GHashTable *mine, NlTime *when) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_PROC || rec->len < 6 ||
        memcmp(p, "exit ", 5) != 0 || (rec->len == 6 && p[5] == '0'))
      continue;
    const char *who = nl_trace_name(t, rec->peer);
    if (!g_hash_table_contains(mine, who))
      continue;
    char tb[NL_TIME_STRLEN];
    *when = rec->time;
    return g_strdup_printf("%s exited with status %.*s at virtual time %ss",
                           who, (int)rec->len - 5, (const char *)p + 5,
                           nl_time_to_string(rec->time, tb));
  }
  return NULL;
}

static void append_tail(GString *s, GQueue *q) {
  for (GList *l = q->head; l; l = l->next) {
    g_string_append(s, l->data);
    g_string_append_c(s, '\n');
  }
}

static void push_bounded(GQueue *q, char *line, guint max) {
  g_queue_push_tail(q, line);
  while (q->length > max)
    g_free(g_queue_pop_head(q));
}

/* The relevant trace lines and output tail for expectation @e. */
static void details(NlTrace *t, const NlScnExpect *e, NlTime when,
                    GHashTable *mine, NlGradeTest *gt) {
  guint32 node = e->node ? nl_trace_intern(t, e->node) : 0;
  char *pn = e->program ? g_strdup_printf("%s/%s", e->node, e->program)
                        : NULL;
  guint32 proc = pn ? nl_trace_intern(t, pn) : 0;
  GQueue lines = G_QUEUE_INIT, out = G_QUEUE_INIT;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  GString *l = g_string_new(NULL);
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p) && rec->time <= when) {
    gboolean output = rec->kind == NL_TRACE_STDOUT ||
                      rec->kind == NL_TRACE_STDERR;
    const char *who = nl_trace_name(t, rec->peer);
    if (output && (proc ? rec->peer == proc
                        : g_hash_table_contains(mine, who))) {
      char tb[NL_TIME_STRLEN];
      push_bounded(&out,
                   g_strdup_printf("[%s] %s%s %.*s",
                                   nl_time_to_string(rec->time, tb), who,
                                   rec->kind == NL_TRACE_STDERR ? " (stderr):"
                                                                : ":",
                                   (int)rec->len, (const char *)p),
                   OUTPUT_TAIL);
    }
    gboolean relevant =
        rec->kind == NL_TRACE_CALL || rec->kind == NL_TRACE_PROC ||
        rec->kind == NL_TRACE_TCP_STATE || rec->kind == NL_TRACE_PKT_DROP ||
        rec->kind == NL_TRACE_NOTE || rec->kind == NL_TRACE_STATS ||
        rec->kind == NL_TRACE_LINK;
    if (relevant && (node == 0 || rec->node == node) &&
        (proc == 0 || rec->peer == proc || rec->peer == 0 ||
         rec->kind == NL_TRACE_TCP_STATE || rec->kind == NL_TRACE_PKT_DROP)) {
      g_string_truncate(l, 0);
      nl_trace_format(t, rec, p, l);
      push_bounded(&lines, g_strdup(l->str), TRACE_LINES);
    }
  }
  g_string_free(l, TRUE);
  if (lines.length) {
    GString *s = g_string_new(NULL);
    append_tail(s, &lines);
    gt->trace = g_string_free(s, FALSE);
  }
  if (out.length) {
    GString *s = g_string_new(NULL);
    append_tail(s, &out);
    gt->output = g_string_free(s, FALSE);
  }
  g_queue_clear_full(&lines, g_free);
  g_queue_clear_full(&out, g_free);
  g_free(pn);
}

static char *timeline_svg(NlTrace *t, const NlScenario *s, const char *title,
                          const char *scratch) {
  if (nl_trace_count(t) > SVG_MAX_RECORDS)
    return NULL;
  NlTimelineOptions topts;
  memset(&topts, 0, sizeof topts);
  topts.title = title;
  topts.kinds = NL_TIMELINE_DEFAULT_KINDS & ~s->timeline.hide;
  (void)scratch;
  gsize len = 0;
  guint8 *svg = nl_timeline_render(t, "svg", &topts, &len, NULL);
  if (svg == NULL)
    return NULL;
  char *text = g_strndup((const char *)svg, len);
  g_free(svg);
  return text;
}

/* When @e has a requires= and the expectation it names did not hold:
 * why, with its virtual time (transfer full); NULL otherwise. */
static char *unmet_requirement(NlRun *run, const NlScenario *s,
                               const NlScnExpect *e) {
  if (e->requires == NULL)
    return NULL;
  for (guint j = 0; j < s->expects->len; j++) {
    gboolean held;
    const char *why;
    NlTime when;
    const NlScnExpect *o = nl_run_expect_result(run, j, &held, &why, &when);
    if (o == e || o->title == NULL || strcmp(o->title, e->requires) != 0)
      continue;
    if (held)
      return NULL;
    char tb[NL_TIME_STRLEN];
    return g_strdup_printf("%s (%s, checked at virtual time %ss)",
                           why ? why : "it did not hold", o->source,
                           nl_time_to_string(when, tb));
  }
  /* The assignment's check makes sure it is there. */
  return g_strdup("no expectation of that name");
}

/* In the child: runs the unit and fills its tests. */
static void unit_execute(Ctx *c, UnitJob *uj, GHashTable *mine) {
  const NlGradeTestFile *tf = g_ptr_array_index(c->a->tests, uj->unit->test);
  NlRunOptions ropts = {.seed_set = TRUE, .seed = uj->seed,
                        .trace_mask = NL_RUN_CHECK_KINDS};
  GError *err = NULL;
  NlRun *run = nl_run_new(uj->s, &ropts, &err);
  if (run == NULL) {
    char *msg = g_strdup_printf("the test could not start: %s",
                                err->message);
    unit_fail_all(c, uj, "test error", msg);
    g_free(msg);
    g_error_free(err);
    return;
  }
  nl_run_execute(run);
  RunFailure f = {0};
  find_failure(nl_run_trace(run), uj->s, mine, &f);
  NlTime exit_time = NL_TIME_NEVER;
  char *exited = find_failed_exit(nl_run_trace(run), mine, &exit_time);
  gboolean any_failed = f.failure != NULL;
  for (guint i = 0; i < uj->s->expects->len; i++) {
    gboolean passed;
    const char *why;
    NlTime when;
    const NlScnExpect *e = nl_run_expect_result(run, i, &passed, &why, &when);
    char *unmet = e->points >= 0 && passed
                      ? unmet_requirement(run, uj->s, e)
                      : NULL;
    any_failed |= e->points >= 0 && (!passed || unmet != NULL);
    g_free(unmet);
  }
  /* A failed test shows the failing run in full: run again recording
   * everything (the same run: virtual time is exact).  Not after a spin:
   * it would spin again, and its CPU time counts against the limit. */
  NlRun *full = NULL;
  if (any_failed && g_strcmp0(f.failure, "spin") != 0) {
    NlRunOptions fo = ropts;
    fo.trace_mask = 0;
    full = nl_run_new(uj->s, &fo, NULL);
    if (full)
      nl_run_execute(full);
  }
  NlTrace *shown = full ? nl_run_trace(full) : nl_run_trace(run);
  char *svg = NULL;
  gboolean svg_done = FALSE;
  for (guint i = 0; i < uj->s->expects->len; i++) {
    gboolean passed;
    const char *why;
    NlTime when;
    const NlScnExpect *e = nl_run_expect_result(run, i, &passed, &why, &when);
    if (e->points < 0)
      continue;
    NlGradeTest *t = nl__grade_test_new();
    char tb[NL_TIME_STRLEN];
    char *rwhy = NULL;
    t->name = nl__grade_test_name(e);
    t->where = where_of(c, &e->loc);
    t->expected = g_strdup(e->source);
    t->feedback = g_strdup(e->feedback);
    t->max = e->points;
    t->seed = uj->seed;
    t->replay = replay_of(c, uj->unit->sub, tf, uj->seed);
    nl_time_to_string(when, tb);
    if (f.failure != NULL) {
      t->passed = FALSE;
      t->failure = g_strdup(f.failure);
      t->happened = g_strdup_printf(
          "%s: %s\nthe expectation, checked at virtual time %ss: %s",
          f.failure, f.happened, tb, passed ? "held" : why ? why : "failed");
    } else if (passed && (rwhy = unmet_requirement(run, uj->s, e)) != NULL) {
      /* It held, but not in the way the rubric asks: what it requires
       * (an echo before the crash) did not happen. */
      t->failure = g_strdup("requirement not met");
      t->happened = g_strdup_printf(
          "at virtual time %ss it held, but it requires \"%s\", which did "
          "not hold: %s",
          tb, e->requires, rwhy);
      g_free(rwhy);
    } else if (passed) {
      t->passed = TRUE;
      t->got = e->points;
      t->happened = g_strdup_printf("held at virtual time %ss", tb);
    } else if (exited != NULL && exit_time <= when) {
      /* Named by how the program ended; the points are the
       * expectation's (0, as it failed). */
      t->failure = g_strdup("exited");
      t->happened = g_strdup_printf(
          "exited: %s, before the check\nthe expectation, checked at "
          "virtual time %ss: %s",
          exited, tb, why ? why : "it did not hold");
    } else {
      t->happened = g_strdup_printf("at virtual time %ss: %s", tb,
                                    why ? why : "it did not hold");
    }
    if (!t->passed) {
      details(shown, e, when, mine, t);
      if (!svg_done) {
        char *title = g_strdup_printf("%s: %s", c->a->id, tf->rel);
        svg = timeline_svg(shown, uj->s, title, uj->scratch);
        g_free(title);
        svg_done = TRUE;
      }
      t->svg = g_strdup(svg);
    }
    g_ptr_array_add(uj->unit->tests, t);
  }
  g_free(svg);
  g_free(exited);
  g_free(f.failure);
  g_free(f.happened);
  nl_run_free(full);
  nl_run_free(run);
}

/* The trace names ("host/name") of the runs of submission programs. */
static GHashTable *submission_runs(const NlScenario *s, GPtrArray *mods) {
  GHashTable *mine = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *n = g_ptr_array_index(s->nodes, i);
    for (guint j = 0; j < n->runs->len; j++) {
      const NlScnRun *r = g_ptr_array_index(n->runs, j);
      for (guint m = 0; mods && m < mods->len; m++)
        if (r->path && g_strcmp0(r->path, g_ptr_array_index(mods, m)) == 0)
          g_hash_table_add(mine,
                           g_strdup_printf("%s/%s", n->name, r->name));
    }
  }
  return mine;
}

static pid_t unit_start(Job *j) {
  UnitJob *uj = j->data;
  Ctx *c = uj->c;
  int fd;
  pid_t pid = fork_with_pipe(j, &fd);
  if (pid != 0)
    return pid;
  /* The child.  Its only way out is the pipe.  It starts with no signal
   * blocked, whatever the grader (or a runtime's fork) left blocked: the
   * watchdog's SIGALRM must reach it. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (dup2(fd, 3) != 3)
    _exit(125);
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  if (g_getenv("NL_GRADE_DEBUG_STDERR") == NULL)
    dup2(null, 2);
  set_cloexec_all_but(3);
  if (chdir(uj->scratch) != 0)
    _exit(125);
  GPtrArray *mods = g_ptr_array_index(c->modules, uj->unit->sub);
  char *subdir = g_build_filename(c->work, "build",
                                  (char *)g_ptr_array_index(c->names,
                                                            uj->unit->sub),
                                  NULL);
  char *cache = g_build_filename(g_get_user_cache_dir(), "natlab", NULL);
  char *tests = g_build_filename(c->a->dir, "tests", NULL);
  const char *readable[] = {c->root, subdir, cache, tests, NULL};
  NlGradeConfine conf = {.limits = &c->a->limits, .scratch = uj->scratch,
                         .readable = readable};
  nl__grade_confine(&conf);
  /* Programs' heaps get half the memory limit, the rest is natlab's: a
   * program that allocates without bound is refused at the same
   * allocation on every machine, and named, before natlab runs out. */
  nl_heap_set_limit((size_t)(c->a->limits.memory / 2));
  GHashTable *mine = submission_runs(uj->s, mods);
  unit_execute(c, uj, mine);
  GKeyFile *kf = g_key_file_new();
  nl__grade_unit_to_keyfile(uj->unit, kf, "unit");
  gsize len = 0;
  char *data = g_key_file_to_data(kf, &len, NULL);
  gsize off = 0;
  while (off < len) {
    ssize_t w = write(3, data + off, len - off);
    if (w <= 0) {
      if (w < 0 && errno == EINTR)
        continue;
      _exit(124);
    }
    off += (gsize)w;
  }
  _exit(0);
}

static void unit_done(Job *j) {
  UnitJob *uj = j->data;
  Ctx *c = uj->c;
  gboolean ok = FALSE;
  if (j->status >= 0 && WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0) {
    GKeyFile *kf = g_key_file_new();
    if (g_key_file_load_from_data(kf, j->out->str, j->out->len,
                                  G_KEY_FILE_NONE, NULL)) {
      NlGradeUnit *u = nl__grade_unit_from_keyfile(kf, "unit", NULL);
      if (u != NULL) {
        g_ptr_array_free(uj->unit->tests, TRUE);
        uj->unit->tests = u->tests;
        u->tests = NULL;
        nl__grade_unit_free(u);
        ok = TRUE;
      }
    }
    g_key_file_free(kf);
  }
  if (!ok) {
    /* The child died: a limit, the wall-clock bound, or a crash of
     * natlab itself (its own bug: reported, never hidden). */
    const NlGradeLimits *l = &c->a->limits;
    char *what;
    const char *failure = "limit";
    int sig = WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0;
    if (j->timed_out)
      what = g_strdup_printf("the test ran longer than its wall-clock bound "
                             "(%" G_GINT64_FORMAT " s) and was stopped",
                             l->wall_ms / 1000);
    else if (sig == SIGXCPU || sig == SIGKILL)
      what = g_strdup_printf("the test used more than its CPU-time limit "
                             "(%" G_GINT64_FORMAT " s) and was stopped",
                             (l->cpu_ms + 999) / 1000);
    else if (sig == SIGXFSZ)
      what = g_strdup("the test wrote more than its output limit");
    else if (sig != 0 &&
             (guint64)j->maxrss_kib * 1024 >= l->memory / 10 * 7)
      what = g_strdup_printf(
          "the test ran out of memory (it reached %ld MiB of its %" G_GUINT64_FORMAT
          " MiB limit) and died of signal %d (%s)",
          j->maxrss_kib / 1024, l->memory >> 20, sig, g_strsignal(sig));
    else if (sig != 0) {
      failure = "grader error";
      what = g_strdup_printf("the test process died of signal %d (%s); "
                             "memory limit or a natlab bug",
                             sig, g_strsignal(sig));
    } else {
      failure = "grader error";
      what = g_strdup_printf("the test process ended with status %d and "
                             "no result",
                             WIFEXITED(j->status) ? WEXITSTATUS(j->status)
                                                  : -1);
    }
    g_ptr_array_set_size(uj->unit->tests, 0);
    unit_fail_all(c, uj, failure, what);
    g_free(what);
  }
  g_string_free(j->out, TRUE);
}

/* Loads the unit's test file with the submission's programs in place of
 * the reference, and C programs of the assignment built ahead (the child
 * cannot run the compiler). */
static NlScenario *load_unit(Ctx *c, guint sub, guint test, GError **error) {
  const NlGradeTestFile *tf = g_ptr_array_index(c->a->tests, test);
  GPtrArray *mods = g_ptr_array_index(c->modules, sub);
  /* The reference solution the file's `set` lines name need not exist. */
  NlScenario *s = nl__grade_load_test(c->a, tf->path,
                                      (const char *const *)mods->pdata, NULL,
                                      error);
  if (s == NULL)
    return NULL;
  for (guint i = 0; i < s->nodes->len; i++) {
    NlScnNode *n = g_ptr_array_index(s->nodes, i);
    for (guint j = 0; j < n->runs->len; j++) {
      NlScnRun *r = g_ptr_array_index(n->runs, j);
      for (guint p = 0; r->path && p < mods->len; p++) {
        if (g_strcmp0(r->path, g_ptr_array_index(mods, p)) != 0)
          continue;
        /* The program sees its rubric name as argv[0], never a path of
         * this machine. */
        const NlGradeProgram *prog = g_ptr_array_index(c->a->programs, p);
        g_free(r->argv[0]);
        r->argv[0] = g_strdup(prog->name);
      }
      if (r->kind == NL_SCN_PROGRAM_SOURCE) {
        char *key = g_strjoinv("\n", r->sources);
        const char *done = g_hash_table_lookup(c->prebuilt, key);
        char *so = done ? g_strdup(done)
                        : nl_run_build_sources(
                              (const char *const *)r->sources, error);
        g_free(key);
        if (so == NULL) {
          nl_scenario_free(s);
          return NULL;
        }
        if (done == NULL)
          g_hash_table_insert(c->prebuilt, g_strjoinv("\n", r->sources),
                              g_strdup(so));
        g_free(r->path);
        r->path = so;
        r->kind = NL_SCN_PROGRAM_SHARED;
      }
    }
  }
  return s;
}

/* CPU time of the grader and its children so far, in seconds. */
static double children_cpu(void) {
  double sum = 0;
  const int who[] = {RUSAGE_SELF, RUSAGE_CHILDREN};
  for (int i = 0; i < 2; i++) {
    struct rusage ru;
    getrusage(who[i], &ru);
    sum += (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  }
  return sum;
}

static void unref_or_null(gpointer p) {
  if (p != NULL)
    g_ptr_array_unref(p);
}

static char *natlab_root(void) {
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  if (exe == NULL)
    return g_strdup("/usr");
  char *d1 = g_path_get_dirname(exe);
  char *d2 = g_path_get_dirname(d1);
  g_free(exe);
  g_free(d1);
  return d2;
}

NlGradeRun *nl_grade_run(const NlAssignment *a, char **subs,
                         const NlGradeOptions *o, GError **error) {
  guint n_subs = g_strv_length(subs);
  if (o->shards > 0 && (o->shard < 1 || o->shard > o->shards)) {
    g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                "--shard %u/%u: expected I/N with 1 <= I <= N", o->shard,
                o->shards);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < n_subs; i++) {
    if (!g_file_test(subs[i], G_FILE_TEST_IS_DIR)) {
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                  "%s: not a folder: expected a submission folder of C "
                  "sources",
                  subs[i]);
      g_ptr_array_free(names, TRUE);
      return NULL;
    }
    char *t = g_strdup(subs[i]);
    while (strlen(t) > 1 && g_str_has_suffix(t, "/"))
      t[strlen(t) - 1] = '\0';
    char *name = g_path_get_basename(t);
    g_free(t);
    for (guint k = 0; k < names->len; k++)
      if (strcmp(g_ptr_array_index(names, k), name) == 0) {
        g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                    "%s: a second submission named %s: expected folders "
                    "with different names (reports are named after them)",
                    subs[i], name);
        g_free(name);
        g_ptr_array_free(names, TRUE);
        return NULL;
      }
    g_ptr_array_add(names, name);
  }
  Ctx c = {.a = a, .o = o, .subs = subs, .names = names};
  c.n_seeds = o->seeds ? o->seeds : a->seeds ? a->seeds : 1;
  c.modules = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
  c.logs = g_ptr_array_new_with_free_func(g_free);
  c.sources = g_ptr_array_new_with_free_func(unref_or_null);
  c.root = natlab_root();
  c.prebuilt = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  c.work = g_dir_make_tmp("natlab-grade-XXXXXX", error);
  if (c.work == NULL) {
    g_ptr_array_free(names, TRUE);
    g_free(c.root);
    return NULL;
  }
  NlGradeRun *run = g_new0(NlGradeRun, 1);
  run->plan.assignment = g_strdup(a->id);
  run->plan.title = g_strdup(a->title);
  run->plan.subs = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add(run->plan.subs, g_strdup(g_ptr_array_index(names, i)));
  run->plan.n_tests = a->tests->len;
  run->plan.n_seeds = c.n_seeds;
  run->plan.shard = o->shard;
  run->plan.shards = o->shards;
  run->units = g_ptr_array_new_with_free_func(nl__grade_unit_free);

  /* This shard's units, and the submissions they need built. */
  guint total = n_subs * a->tests->len * c.n_seeds;
  gboolean *needed = g_new0(gboolean, MAX(n_subs, 1));
  for (guint i = 0; i < total; i++) {
    if (o->shards > 0 && i % o->shards != o->shard - 1)
      continue;
    NlGradeUnit *u = g_new0(NlGradeUnit, 1);
    u->index = i;
    u->seed_i = i % c.n_seeds;
    u->test = (i / c.n_seeds) % a->tests->len;
    u->sub = i / c.n_seeds / a->tests->len;
    u->tests = g_ptr_array_new_with_free_func(nl__grade_test_free);
    needed[u->sub] = TRUE;
    g_ptr_array_add(run->units, u);
  }
  /* NATLAB_GRADE_TIMES=1: the phases' wall and CPU time on stderr, for
   * bench/grade-echo.sh (never in a report). */
  gboolean times = g_getenv("NATLAB_GRADE_TIMES") != NULL;
  gint64 t0 = g_get_monotonic_time();
  double cpu0 = children_cpu();
  build_all(&c, needed);
  g_free(needed);
  gint64 t1 = g_get_monotonic_time();
  double cpu1 = children_cpu();

  GPtrArray *jobs = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *ujobs = g_ptr_array_new();
  for (guint i = 0; i < run->units->len; i++) {
    NlGradeUnit *u = g_ptr_array_index(run->units, i);
    UnitJob *uj = g_new0(UnitJob, 1);
    uj->c = &c;
    uj->unit = u;
    g_ptr_array_add(ujobs, uj);
    const char *log = g_ptr_array_index(c.logs, u->sub);
    GError *err = NULL;
    /* The skeleton comes from the test file as written (for a submission
     * that did not build) or with the submission's programs. */
    if (log == NULL)
      uj->s = load_unit(&c, u->sub, u->test, &err);
    if (uj->s == NULL) {
      /* Its programs stand in as an empty file: the reference solution
       * the test file names need not exist. */
      const NlGradeTestFile *tf = g_ptr_array_index(a->tests, u->test);
      char *none = g_build_filename(c.work, "no-program.so", NULL);
      g_file_set_contents(none, "", 0, NULL);
      const char **values = g_new0(const char *, a->programs->len + 1);
      for (guint p = 0; p < a->programs->len; p++)
        values[p] = none;
      uj->s = nl__grade_load_test(a, tf->path, values, NULL, NULL);
      g_free(values);
      g_free(none);
    }
    guint64 base = o->seed_set ? o->seed : uj->s ? uj->s->seed : 1;
    uj->seed = base + u->seed_i;
    if (log != NULL) {
      u->build_log = g_strdup(log);
      unit_fail_all(&c, uj, "build failed",
                    "the submission did not build: see the compiler's "
                    "messages");
      continue;
    }
    if (err != NULL) {
      char *m = g_strdup_printf("the test could not be loaded with the "
                                "submission's programs: %s",
                                err->message);
      unit_fail_all(&c, uj, "test error", m);
      g_free(m);
      g_error_free(err);
      continue;
    }
    char *dir = g_strdup_printf("unit-%u", u->index);
    uj->scratch = g_build_filename(c.work, "run", dir, NULL);
    g_free(dir);
    g_mkdir_with_parents(uj->scratch, 0700);
    Job *j = g_new0(Job, 1);
    j->start = unit_start;
    j->done = unit_done;
    j->data = uj;
    j->ctx = &c;
    g_ptr_array_add(jobs, j);
  }
  guint parallel = o->jobs ? o->jobs : (guint)g_get_num_processors();
  run_jobs(jobs, MAX(parallel, 1), a->limits.wall_ms);
  if (times) {
    gint64 t2 = g_get_monotonic_time();
    double cpu2 = children_cpu();
    fprintf(stderr,
            "natlab grade: build: %u submissions in %.2f s wall, %.2f s CPU; "
            "tests: %u runs in %.2f s wall, %.2f s CPU (%.2f cores), "
            "%.3f s CPU per submission\n",
            n_subs, (t1 - t0) / 1e6, cpu1 - cpu0, jobs->len, (t2 - t1) / 1e6,
            cpu2 - cpu1, (cpu2 - cpu1) / MAX((t2 - t1) / 1e6, 1e-6),
            (cpu2 - cpu1) / MAX(n_subs, 1));
  }
  for (guint i = 0; i < ujobs->len; i++) {
    UnitJob *uj = g_ptr_array_index(ujobs, i);
    nl_scenario_free(uj->s);
    g_free(uj->scratch);
    g_free(uj);
  }
  g_ptr_array_free(ujobs, TRUE);
  g_ptr_array_free(jobs, TRUE);
  remove_tree(c.work);
  g_free(c.work);
  g_free(c.root);
  g_ptr_array_free(c.modules, TRUE);
  g_ptr_array_free(c.logs, TRUE);
  g_ptr_array_free(c.sources, TRUE);
  g_hash_table_destroy(c.prebuilt);
  g_ptr_array_free(names, TRUE);
  return run;
}

void nl_grade_run_free(NlGradeRun *run) {
  if (run == NULL)
    return;
  g_ptr_array_free(run->units, TRUE);
  g_ptr_array_free(run->plan.subs, TRUE);
  g_free(run->plan.assignment);
  g_free(run->plan.title);
  g_free(run);
}

NlGradeResults *nl_grade_run_results(NlGradeRun *run, GError **error) {
  return nl__grade_assemble(&run->plan, run->units, error);
}

gboolean nl_grade_run_write(NlGradeRun *run, const char *path,
                            GError **error) {
  return nl__grade_units_write(&run->plan, run->units, path, error);
}
