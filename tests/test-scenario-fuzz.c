/* Fuzzing the scenario loader from a fixed seed: random bytes, and valid
 * files mutated a few edits at a time.  Every input must give either a
 * scenario whose names are all resolved, or one error in the scenario
 * domain whose message starts with a well-formed "file:line:column: " (or
 * "--set ").  Bounded to a few thousand inputs so it stays well under 10 s
 * (and runs under ASan and valgrind). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "scenarios/lang/scenario.h"

#define FUZZ_SEED 20261125
#define N_MUTATED 3000
#define N_RANDOM 1000

static const char *const dictionary[] = {
    "host ",
    "network ",
    "nat ",
    "router ",
    "firewall ",
    "link ",
    "route ",
    "run ",
    "at ",
    "expect ",
    "include ",
    "set ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\"",
    "=",
    "$",
    "${",
    "}",
    "$$",
    "%",
    "/",
    "::",
    ".",
    "#",
    "\\",
    "-",
    "0",
    "999999999999999999999",
    "1e9",
    "10.0.0.5",
    "10.0.0.0/24",
    "2001:db8::1",
    "latency=",
    "up.",
    "down.",
    "via ",
    "default ",
    "preset=",
    "symmetric",
    "1ms",
    "0.5%",
    "10Mbit",
    "64KiB",
    "a/b",
    "\xff",
    "\xc3",
    "\xe2\x82\xac",
    "\x00",
    "stop ",
    "stdin ",
};

static char *source_path(const char *dir, const char *name) {
  const char *root = g_getenv("NATLAB_SOURCE_ROOT");
  return g_build_filename(root != NULL ? root : ".", "tests", dir, name, NULL);
}

static guint count_lines(const GByteArray *b) {
  guint n = 1;
  for (guint i = 0; i < b->len; i++)
    n += b->data[i] == '\n';
  return n;
}

/* The invariants of a loaded scenario: everything is resolved. */
static void check_scenario(const NlScenario *s) {
  for (guint i = 0; i < s->nodes->len; i++) {
    NlScnNode *n = g_ptr_array_index(s->nodes, i);
    assert_ptr_equal(nl_scenario_find_node(s, n->name), n);
    for (guint j = 0; j < n->links->len; j++) {
      NlScnLink *k = g_ptr_array_index(n->links, j);
      assert_non_null(k->net);
      assert_true(k->addrs->len > 0);
    }
    for (guint j = 0; j < n->routes->len; j++)
      assert_non_null(((NlScnRoute *)g_ptr_array_index(n->routes, j))->link);
    for (guint j = 0; j < n->runs->len; j++) {
      NlScnRun *r = g_ptr_array_index(n->runs, j);
      assert_ptr_equal(r->node, n);
      assert_true(r->at <= s->duration);
      assert_non_null(r->argv[0]);
    }
    if (n->kind == NL_SCN_NODE_NAT || n->kind == NL_SCN_NODE_FIREWALL)
      assert_non_null(n->preset);
  }
  for (guint i = 0; i < s->actions->len; i++) {
    NlScnAction *a = g_ptr_array_index(s->actions, i);
    assert_true(a->at >= 0 && a->at <= s->duration);
    if (a->kind != NL_SCN_ACTION_NOTE)
      assert_non_null(a->node_ref);
    if (a->kind == NL_SCN_ACTION_STOP || a->kind == NL_SCN_ACTION_STDIN)
      assert_non_null(a->run);
  }
  for (guint i = 0; i < s->expects->len; i++) {
    NlScnExpect *e = g_ptr_array_index(s->expects, i);
    assert_non_null(e->node_ref);
    assert_true(e->program == NULL || e->run != NULL);
    assert_true(e->peer == NULL || e->peer_ref != NULL);
  }
}

/* One input: a scenario or exactly one well-formed error. */
static void check_input(const char *path, const GByteArray *b,
                        const char *const *over, guint *loaded) {
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string(path, (const char *)b->data,
                                          (gssize)b->len, over, &err);
  if (s != NULL) {
    assert_null(err);
    check_scenario(s);
    nl_scenario_free(s);
    (*loaded)++;
    return;
  }
  assert_non_null(err);
  assert_true(err->domain == NL_SCENARIO_ERROR);
  const char *m = err->message;
  if (g_str_has_prefix(m, "--set ")) {
    g_error_free(err);
    return;
  }
  /* "FILE:LINE:COLUMN: what" with LINE, COLUMN >= 1. */
  const char *c = strstr(m, ".nlab:");
  assert_non_null(c);
  char *end;
  guint64 line = g_ascii_strtoull(c + 6, &end, 10);
  assert_true(line >= 1 && *end == ':');
  guint64 col = g_ascii_strtoull(end + 1, &end, 10);
  assert_true(col >= 1 && *end == ':' && end[1] == ' ' && end[2] != '\0');
  if (g_str_has_prefix(m, path) && m[strlen(path)] == ':') {
    assert_true(line <= count_lines(b));
    assert_true(col <= NL_SCENARIO_MAX_LINE + 2);
  }
  g_error_free(err);
}

/* GByteArray has no insert; GArray of guint8 would, but the loader takes
 * bytes, so insert by hand. */
static void bytes_insert(GByteArray *b, guint pos, const guint8 *data,
                         guint n) {
  guint old = b->len;
  g_byte_array_set_size(b, old + n);
  memmove(b->data + pos + n, b->data + pos, old - pos);
  memcpy(b->data + pos, data, n);
}

static void mutate(GRand *r, GByteArray *b) {
  guint edits = (guint)g_rand_int_range(r, 1, 6);
  for (guint e = 0; e < edits; e++) {
    guint pos = b->len ? (guint)g_rand_int_range(r, 0, (gint32)b->len) : 0;
    switch (g_rand_int_range(r, 0, 7)) {
      case 0: /* flip a byte */
        if (b->len)
          b->data[pos] ^= (guint8)(1u << g_rand_int_range(r, 0, 8));
        break;
      case 1: { /* insert a random byte */
        guint8 c = (guint8)g_rand_int_range(r, 0, 256);
        bytes_insert(b, pos, &c, 1);
        break;
      }
      case 2: { /* delete a short range */
        guint n = (guint)g_rand_int_range(r, 1, 12);
        if (pos + n > b->len)
          n = b->len - pos;
        g_byte_array_remove_range(b, pos, n);
        break;
      }
      case 3: { /* insert a word of the language */
        guint k = (guint)g_rand_int_range(r, 0, G_N_ELEMENTS(dictionary));
        const char *w = dictionary[k];
        gsize n = w[0] == '\0' ? 1 : strlen(w); /* "" is one NUL byte */
        bytes_insert(b, pos, (const guint8 *)w, (guint)n);
        break;
      }
      case 4: { /* duplicate a slice somewhere else */
        guint n = (guint)g_rand_int_range(r, 1, 80);
        if (pos + n > b->len)
          n = b->len - pos;
        guint8 *copy = g_memdup2(b->data + pos, n);
        guint to = b->len ? (guint)g_rand_int_range(r, 0, (gint32)b->len) : 0;
        bytes_insert(b, to, copy, n);
        g_free(copy);
        break;
      }
      case 5: /* truncate */
        g_byte_array_set_size(b, pos);
        break;
      default: { /* replace a digit with another */
        for (guint i = pos; i < b->len; i++) {
          if (g_ascii_isdigit(b->data[i])) {
            b->data[i] = (guint8)('0' + g_rand_int_range(r, 0, 10));
            break;
          }
        }
        break;
      }
    }
  }
}

static void test_scenario_fuzz_mutated_files(void **state) {
  static const char *const names[] = {"full.nlab", "common.nlab"};
  static const char *const over_sets[][3] = {
      {NULL},
      {"nat_type=symmetric", NULL},
      {"latency=5", NULL},
      {"nat_type=", NULL},
      {"nope=1", NULL},
  };
  GRand *r = g_rand_new_with_seed(FUZZ_SEED);
  guint loaded = 0;
  for (guint f = 0; f < G_N_ELEMENTS(names); f++) {
    char *path = source_path("scenarios-good", names[f]);
    char *text = NULL;
    gsize len = 0;
    assert_true(g_file_get_contents(path, &text, &len, NULL));
    for (guint i = 0; i < N_MUTATED / G_N_ELEMENTS(names); i++) {
      GByteArray *b = g_byte_array_new();
      g_byte_array_append(b, (const guint8 *)text, (guint)len);
      mutate(r, b);
      guint o = (guint)g_rand_int_range(r, 0, G_N_ELEMENTS(over_sets));
      check_input(path, b, over_sets[o][0] ? over_sets[o] : NULL, &loaded);
      g_byte_array_free(b, TRUE);
    }
    /* The unmutated files load, so the mutations start from valid input. */
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)text, (guint)len);
    guint before = loaded;
    check_input(path, b, NULL, &loaded);
    assert_int_equal(loaded, before + 1);
    g_byte_array_free(b, TRUE);
    g_free(text);
    g_free(path);
  }
  /* Some mutations keep the file valid (e.g. a changed digit in a comment
   * or a latency); the fuzzer must reach the checks, not only the lexer. */
  print_message("%u of %u mutated inputs loaded\n", loaded,
                N_MUTATED + (guint)G_N_ELEMENTS(names));
  assert_true(loaded > 10);
  g_rand_free(r);
}

static void test_scenario_fuzz_random_bytes(void **state) {
  GRand *r = g_rand_new_with_seed(FUZZ_SEED + 1);
  guint loaded = 0;
  for (guint i = 0; i < N_RANDOM; i++) {
    GByteArray *b = g_byte_array_new();
    guint n = (guint)g_rand_int_range(r, 0, i < N_RANDOM / 2 ? 64 : 6000);
    gboolean printable = i % 2 == 0;
    for (guint k = 0; k < n; k++) {
      guint8 c = printable ? (guint8)g_rand_int_range(r, 9, 127)
                           : (guint8)g_rand_int_range(r, 0, 256);
      g_byte_array_append(b, &c, 1);
    }
    check_input("fuzz.nlab", b, NULL, &loaded);
    g_byte_array_free(b, TRUE);
  }
  g_rand_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scenario_fuzz_mutated_files),
      cmocka_unit_test(test_scenario_fuzz_random_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
