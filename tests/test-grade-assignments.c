/* The shipped assignments (scenarios/assignments/): `natlab grade` gives
 * each reference solution full marks and each classic wrong solution
 * exactly the score its rubric names: the proof that each graded test
 * measures what it says.  Every wrong solution in a wrong/ folder must
 * have a row here; every other correct design in also-correct/ (threads,
 * epoll, SO_RCVTIMEO, ...) must score full marks too, so that the tests
 * check what a program does, not how; and a second grading gives a
 * byte-identical report. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#define MAX_LOST 10

typedef struct {
  const char *name;  /* the submission folder's name */
  const char *score; /* "GOT/MAX" */
  const char *lost[MAX_LOST]; /* the names of the tests it fails */
} Expected;

typedef struct {
  const char *folder; /* under scenarios/assignments/ */
  Expected subs[12];
} Assignment;

/* reference first; then every folder of wrong/, in any order. */
static const Assignment echo_server = {
    "echo-server",
    {{"reference", "100/100", {NULL}},
     {"one-recv-one-line",
      "70/100",
      {"lines split across segments", "slow reader"}},
     {"short-send", "85/100", {"slow reader"}},
     {"one-at-a-time",
      "75/100",
      {"100 clients at once", "1,100 clients at once"}},
     {"no-reuseaddr", "90/100", {"restart at once"}},
     {"leak-on-reset", "85/100", {"no descriptor leak"}},
     {"busy-wait", "90/100", {"idle without busy-waiting"}},
     {"select-fd-setsize", "90/100", {"1,100 clients at once"}},
     {NULL, NULL, {NULL}}}};

static const Assignment echo_client = {
    "echo-client",
    {{"reference", "100/100", {NULL}},
     {"one-recv",
      "70/100",
      {"long lines in many segments", "an echo in small pieces"}},
     {"no-timeout", "80/100", {"the server's host crashes"}},
     {"no-compare", "85/100", {"a wrong echo is an error"}},
     {"busy-wait", "90/100", {"waiting without busy-waiting"}},
     /* Exits 1 at once: the tests about failing well require the echo to
      * have run first, so it scores nothing. */
     {"gives-up",
      "0/100",
      {"one short echo", "exit status 0", "long lines in many segments",
       "an echo in small pieces", "a wrong echo is an error",
       "the server's host crashes", "the server closes mid-echo",
       "waiting without busy-waiting"}},
     {NULL, NULL, {NULL}}}};

static const Assignment udp_rpc = {
    "udp-rpc",
    {{"reference", "100/100", {NULL}},
     {"no-timeout", "55/100", {"30 % loss", "the server is unreachable"}},
     {"no-retransmit", "75/100", {"30 % loss"}},
     {"no-id-check", "75/100", {"late duplicate answers"}},
     {"busy-wait", "90/100", {"waiting without busy-waiting"}},
     /* Exits 1 at once: "the server is unreachable" requires a request
      * first. */
     {"gives-up",
      "0/100",
      {"ten answers", "exit status 0", "30 % loss", "late duplicate answers",
       "waiting without busy-waiting", "the server is unreachable"}},
     {NULL, NULL, {NULL}}}};

static const Assignment stun_client = {
    "stun-client",
    {{"reference", "100/100", {NULL}},
     {"no-xor",
      "30/100",
      {"the address seen through the NAT", "25 % loss",
       "attributes padded to 4 bytes", "the transaction ID is checked"}},
     {"no-padding", "85/100", {"attributes padded to 4 bytes"}},
     {"no-txid-check", "85/100", {"the transaction ID is checked"}},
     {"no-timeout", "65/100", {"25 % loss", "the server is unreachable"}},
     {"busy-wait", "90/100", {"waiting without busy-waiting"}},
     /* Exits 1 at once: "the server is unreachable" requires a Binding
      * request first. */
     {"gives-up",
      "0/100",
      {"the address seen through the NAT", "exit status 0", "25 % loss",
       "attributes padded to 4 bytes", "the transaction ID is checked",
       "waiting without busy-waiting", "the server is unreachable"}},
     {NULL, NULL, {NULL}}}};

static const Assignment hole_punch = {
    "hole-punch",
    {{"reference", "100/100", {NULL}},
     /* A's one punch is filtered by NAT-B (B has not sent yet), so A never
      * hears an ACK; B hears A's ACK and connects. */
     {"punch-once",
      "55/100",
      {"A connects through two NATs", "exit status 0", "A connects despite loss",
       "the peer comes later"}},
     /* The peers punch to mappings that only the rendezvous may use. */
     {"new-socket",
      "20/100",
      {"A connects through two NATs", "B connects through two NATs",
       "exit status 0", "traffic goes directly", "A connects despite loss",
       "B connects despite loss", "the peer comes later"}},
     /* Blocked in recvfrom() after its first punch, A never sends the one
      * that NAT-B would let through; behind a symmetric NAT both wait
      * forever. */
     {"no-timeout",
      "25/100",
      {"A connects through two NATs", "exit status 0", "A connects despite loss",
       "B connects despite loss", "the peer comes later", "A gives up",
       "B gives up"}},
     /* Exits 1 at once: "A gives up" and "B gives up" require the peer
      * to have tried first. */
     {"gives-up",
      "0/100",
      {"A connects through two NATs", "B connects through two NATs",
       "exit status 0", "traffic goes directly", "A connects despite loss",
       "B connects despite loss", "the peer comes later", "A gives up",
       "B gives up"}},
     {NULL, NULL, {NULL}}}};

static char *assignment_path(const char *folder) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                          "assignments", folder, NULL);
}

/* The folders of @a's also-correct/ (sorted), or an empty array. */
static GPtrArray *also_correct(const Assignment *a) {
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  char *dir = assignment_path(a->folder);
  char *also = g_build_filename(dir, "also-correct", NULL);
  GDir *d = g_dir_open(also, 0, NULL);
  for (const char *n; d && (n = g_dir_read_name(d)) != NULL;)
    g_ptr_array_add(names, g_strdup(n));
  if (d)
    g_dir_close(d);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  g_free(also);
  g_free(dir);
  return names;
}

/* Runs natlab grade on every submission of @a; returns the TAP report. */
static char *grade(const Assignment *a) {
  char *dir = assignment_path(a->folder);
  char *tmp = g_dir_make_tmp("natlab-grade-asg-XXXXXX", NULL);
  char *out = g_build_filename(tmp, "report.tap", NULL);
  char *exe = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                               "natlab", NULL);
  GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(argv, g_strdup(exe));
  g_ptr_array_add(argv, g_strdup("grade"));
  g_ptr_array_add(argv, g_strdup(dir));
  for (const Expected *e = a->subs; e->name; e++)
    g_ptr_array_add(argv, strcmp(e->name, "reference") == 0
                              ? g_build_filename(dir, "reference", NULL)
                              : g_build_filename(dir, "wrong", e->name, NULL));
  GPtrArray *also = also_correct(a);
  for (guint i = 0; i < also->len; i++)
    g_ptr_array_add(argv, g_build_filename(dir, "also-correct",
                                           g_ptr_array_index(also, i), NULL));
  g_ptr_array_unref(also);
  g_ptr_array_add(argv, g_strdup("--format=tap"));
  g_ptr_array_add(argv, g_strdup("--jobs=2"));
  g_ptr_array_add(argv, g_strdup("-o"));
  g_ptr_array_add(argv, g_strdup(out));
  g_ptr_array_add(argv, NULL);
  char *err = NULL;
  int status = -1;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                    NULL, NULL, NULL, &err, &status, &e))
    g_error("%s", e->message);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    print_error("natlab grade %s: status %d\n%s\n", a->folder, status, err);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char *tap = NULL;
  assert_true(g_file_get_contents(out, &tap, NULL, NULL));
  /* Timelines of failed tests go beside the report. */
  char *tl = g_build_filename(tmp, "timelines", NULL);
  GDir *d = g_dir_open(tl, 0, NULL);
  for (const char *n; d && (n = g_dir_read_name(d)) != NULL;) {
    char *p = g_build_filename(tl, n, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(tl);
  g_remove(out);
  g_rmdir(tmp);
  g_free(tl);
  g_free(err);
  g_ptr_array_unref(argv);
  g_free(exe);
  g_free(out);
  g_free(tmp);
  g_free(dir);
  return tap;
}

/* Every folder of wrong/ has a row in @a. */
static void check_every_wrong_listed(const Assignment *a) {
  char *dir = assignment_path(a->folder);
  char *wrong = g_build_filename(dir, "wrong", NULL);
  GDir *d = g_dir_open(wrong, 0, NULL);
  assert_non_null(d);
  for (const char *n; (n = g_dir_read_name(d)) != NULL;) {
    gboolean listed = FALSE;
    for (const Expected *e = a->subs; e->name; e++)
      listed = listed || strcmp(e->name, n) == 0;
    if (!listed)
      print_error("%s/wrong/%s has no expected score\n", a->folder, n);
    assert_true(listed);
  }
  g_dir_close(d);
  g_free(wrong);
  g_free(dir);
}

/* Every also-correct submission has the reference's score and fails
 * nothing. */
static void check_also_correct(const Assignment *a, const char *tap) {
  GPtrArray *also = also_correct(a);
  for (guint i = 0; i < also->len; i++) {
    const char *n = g_ptr_array_index(also, i);
    char *score = g_strdup_printf("\n# %s: %s\n", n, a->subs[0].score);
    char *fail = g_strdup_printf(" - %s: ", n);
    gboolean failed = FALSE;
    char **lines = g_strsplit(tap, "\n", -1);
    for (char **l = lines; *l; l++)
      failed = failed || (g_str_has_prefix(*l, "not ok ") && strstr(*l, fail));
    g_strfreev(lines);
    if (strstr(tap, score) == NULL || failed)
      print_error("%s/also-correct/%s does not score %s:\n%s\n", a->folder, n,
                  a->subs[0].score, tap);
    assert_non_null(strstr(tap, score));
    assert_false(failed);
    g_free(score);
    g_free(fail);
  }
  g_ptr_array_unref(also);
}

static void check_scores(const Assignment *a, const char *tap) {
  check_also_correct(a, tap);
  char **lines = g_strsplit(tap, "\n", -1);
  for (const Expected *e = a->subs; e->name; e++) {
    char *score = g_strdup_printf("# %s: %s", e->name, e->score);
    char *prefix = g_strdup_printf("not ok ");
    char *who = g_strdup_printf(" - %s: ", e->name);
    gboolean score_seen = FALSE;
    guint n_lost = 0, n_expected = 0;
    while (n_expected < MAX_LOST && e->lost[n_expected])
      n_expected++;
    for (char **l = lines; *l; l++) {
      if (strcmp(*l, score) == 0)
        score_seen = TRUE;
      const char *w = strstr(*l, who);
      if (!g_str_has_prefix(*l, prefix) || w == NULL)
        continue;
      const char *test = w + strlen(who);
      gboolean named = FALSE;
      for (guint k = 0; k < n_expected; k++)
        named = named || strcmp(e->lost[k], test) == 0;
      if (!named)
        print_error("%s/%s also fails \"%s\"\n", a->folder, e->name, test);
      assert_true(named);
      n_lost++;
    }
    if (!score_seen || n_lost != n_expected)
      print_error("%s/%s: expected %s losing %u tests, the report says:\n%s\n",
                  a->folder, e->name, e->score, n_expected, tap);
    assert_true(score_seen);
    assert_int_equal(n_lost, n_expected);
    g_free(score);
    g_free(prefix);
    g_free(who);
  }
  g_strfreev(lines);
}

static void run_assignment(const Assignment *a) {
  check_every_wrong_listed(a);
  char *tap = grade(a);
  check_scores(a, tap);
  g_free(tap);
}

static void test_grade_assignments_echo_server(void **state) {
  run_assignment(&echo_server);
}

static void test_grade_assignments_echo_client(void **state) {
  run_assignment(&echo_client);
}

static void test_grade_assignments_udp_rpc_twice_identical(void **state) {
  check_every_wrong_listed(&udp_rpc);
  char *a = grade(&udp_rpc), *b = grade(&udp_rpc);
  check_scores(&udp_rpc, a);
  assert_string_equal(a, b);
  g_free(a);
  g_free(b);
}

static void test_grade_assignments_stun_client(void **state) {
  run_assignment(&stun_client);
}

static void test_grade_assignments_hole_punch(void **state) {
  run_assignment(&hole_punch);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grade_assignments_echo_server),
      cmocka_unit_test(test_grade_assignments_echo_client),
      cmocka_unit_test(test_grade_assignments_udp_rpc_twice_identical),
      cmocka_unit_test(test_grade_assignments_stun_client),
      cmocka_unit_test(test_grade_assignments_hole_punch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
