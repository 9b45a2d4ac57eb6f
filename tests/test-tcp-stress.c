/* TCP engine: many seeded runs over a hostile link — loss, reordering,
 * duplication, tiny receive windows, the link going down and up — with
 * data flowing both ways, random write and read sizes, and half-closes.
 * Each run must deliver both streams byte for byte, end in an orderly
 * close, leave no state behind once TIME_WAIT is over, and repeat
 * identically. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "tests/test-tcp-harness.h"

#define STREAM (1024u * 1024)

static guint8 byte_at(int dir, size_t i) {
  return (guint8)(((i + 7 * (size_t)dir) * 2246822519u) >> 11);
}

typedef struct {
  uint64_t seed;
  size_t sent[2], got[2];
  gboolean ok[2], eof[2];
  guint left_a, left_b;
  uint64_t retransmits;
} StressResult;

static Wire *cur; /* for the failure dump */

static void dump_on_failure(void) {
  if (g_getenv("NL_TCP_TEST_TRACE") != NULL) {
    char *t = trace_text(cur);
    fputs(t, stderr);
    g_free(t);
  }
}

static void pump(NlTcpSock *s, int dir, StressResult *r, NlRand *rng,
                 gboolean *shut) {
  static guint8 buf[20000];
  while (r->sent[dir] < STREAM) {
    size_t n = 1 + nl_rand_below(rng, sizeof buf);
    n = MIN(n, STREAM - r->sent[dir]);
    for (size_t i = 0; i < n; i++)
      buf[i] = byte_at(dir, r->sent[dir] + i);
    ssize_t k = nl_tcp_send(s, buf, n, 0);
    if (k < 0) {
      if (k != -EAGAIN)
        dump_on_failure();
      assert_int_equal(k, -EAGAIN);
      return;
    }
    r->sent[dir] += (size_t)k;
  }
  if (!*shut) {
    assert_int_equal(nl_tcp_shutdown(s, SHUT_WR), 0);
    *shut = TRUE;
  }
}

static void drain(NlTcpSock *s, int dir, StressResult *r, NlRand *rng) {
  static guint8 buf[20000];
  for (;;) {
    size_t n = 1 + nl_rand_below(rng, sizeof buf);
    ssize_t k = nl_tcp_recv(s, buf, n, 0);
    if (k == 0) {
      r->eof[dir] = TRUE;
      return;
    }
    if (k < 0) {
      assert_int_equal(k, -EAGAIN);
      return;
    }
    for (ssize_t i = 0; i < k; i++)
      if (buf[i] != byte_at(dir, r->got[dir] + (size_t)i))
        r->ok[dir] = FALSE;
    r->got[dir] += (size_t)k;
  }
}

static void scenario_stress(Wire *w, void *res) {
  StressResult *r = res;
  NlRand rng;
  nl_rand_init(&rng, r->seed, "stress-app");
  w->loss = 0.02 + 0.02 * (double)(r->seed % 5);
  w->reorder = 0.05 * (double)(r->seed % 4);
  w->reorder_delay = (NlTime)(1 + r->seed % 7) * NL_MS;
  w->dup = 0.01 * (double)(r->seed % 3);
  gboolean small_window = r->seed % 3 == 0;
  gboolean outage = r->seed % 4 == 1;
  r->ok[0] = r->ok[1] = TRUE;
  cur = w;

  User lu = {0}, cu = {0}, su = {0};
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, &lu);
  int v = 4096;
  if (small_window)
    nl_tcp_setsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, 7000), 0);
  assert_int_equal(nl_tcp_listen(l, 4), 0);
  NlTcpSock *c = nl_tcp_socket(w->h[0].st, &cu);
  if (small_window)
    nl_tcp_setsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  assert_int_equal(nl_tcp_connect(c, ADDR_B, 7000), -EINPROGRESS);
  NlTcpSock *s = NULL;
  gboolean shut_c = FALSE, shut_s = FALSE, closed = FALSE;
  NlTime start = nl_event_now(w->q);
  for (int iter = 0; iter < 400000; iter++) {
    NlTime now = nl_event_now(w->q);
    if (outage)
      w->h[1].dead = now > start + 2 * NL_S && now < start + 6 * NL_S;
    if (s == NULL) {
      int err;
      s = nl_tcp_accept(l, &su, &err);
    }
    if (nl_tcp_state(c) != NL_TCP_SYN_SENT) {
      pump(c, 0, r, &rng, &shut_c);
      drain(c, 1, r, &rng);
    }
    if (s != NULL) {
      pump(s, 1, r, &rng, &shut_s);
      drain(s, 0, r, &rng);
    }
    if (r->eof[0] && r->eof[1] && !closed) {
      nl_tcp_close(c);
      nl_tcp_close(s);
      closed = TRUE;
      break;
    }
    run_for(w, (NlTime)(1 + nl_rand_below(&rng, 20)) * NL_MS);
  }
  NlTcpStats st;
  nl_tcp_stack_stats(w->h[0].st, &st);
  r->retransmits = st.retransmits;
  run_for(w, 200 * NL_S); /* TIME_WAIT and any FIN retries are over */
  r->left_a = nl_tcp_stack_n_socks(w->h[0].st);
  r->left_b = nl_tcp_stack_n_socks(w->h[1].st);
  nl_tcp_close(l);
}

static void test_tcp_stress_hostile_links(void **state) {
  (void)state;
  for (uint64_t seed = g_getenv("SEED") ? (uint64_t)atoi(g_getenv("SEED"))
                                        : 100;
       seed < (g_getenv("SEED") ? (uint64_t)atoi(g_getenv("SEED")) + 1 : 148);
       seed++) {
    StressResult r1 = {.seed = seed}, r2 = {.seed = seed};
    run_twice(seed, 15 * NL_MS, scenario_stress, &r1, &r2);
    print_message("seed %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT
                  " retransmits\n",
                  seed, r1.retransmits);
    for (int d = 0; d < 2; d++) {
      assert_int_equal(r1.sent[d], STREAM);
      assert_int_equal(r1.got[d], STREAM);
      assert_true(r1.ok[d]);
      assert_true(r1.eof[d]);
    }
    assert_true(r1.retransmits > 0);
    assert_int_equal(r1.left_a, 0);
    assert_int_equal(r1.left_b, 1); /* the listener */
  }
}

/* ---- mutated segments: whatever arrives, the engine stays sane -------- */

typedef struct {
  int injected;
  guint socks_a, socks_b;
} MutateResult;

static void scenario_mutate(Wire *w, void *res) {
  MutateResult *r = res;
  NlRand rng;
  nl_rand_init(&rng, 7, "mutator");
  User lu = {0};
  NlTcpSock *l = nl_tcp_socket(w->h[1].st, &lu);
  assert_int_equal(nl_tcp_bind(l, INADDR_ANY, 7100), 0);
  assert_int_equal(nl_tcp_listen(l, 64), 0);
  NlTcpSock *c[8] = {0};
  GPtrArray *held = g_ptr_array_new(); /* half-closed, closed at the end */
  static guint8 buf[4096];
  for (int round = 0; round < 300; round++) {
    int i = (int)nl_rand_below(&rng, 8);
    if (c[i] == NULL) {
      c[i] = nl_tcp_socket(w->h[0].st, NULL);
      nl_tcp_connect(c[i], ADDR_B, 7100);
    } else if (nl_rand_chance(&rng, 0.1)) {
      nl_tcp_close(c[i]);
      c[i] = NULL;
    } else {
      nl_tcp_send(c[i], buf, 1 + nl_rand_below(&rng, sizeof buf), 0);
    }
    int err;
    NlTcpSock *a;
    while ((a = nl_tcp_accept(l, NULL, &err)) != NULL) {
      nl_tcp_send(a, buf, 100, 0);
      if (nl_rand_chance(&rng, 0.5))
        nl_tcp_close(a);
      else {
        nl_tcp_shutdown(a, SHUT_WR);
        g_ptr_array_add(held, a);
      }
    }
    /* Replay a recent packet with a few bytes of its TCP header changed
     * (checksums fixed, so it passes parsing) to one of the stacks. */
    NlTraceIter it;
    const NlTraceRecord *rec;
    const guint8 *payload;
    guint8 pkt[2048];
    size_t n = 0;
    int from = 0;
    nl_trace_iter_init(&it, w->trace);
    while (nl_trace_iter_next(&it, &rec, &payload))
      if (rec->kind == NL_TRACE_PKT_SEND && rec->len <= sizeof pkt &&
          nl_rand_chance(&rng, 0.3)) {
        memcpy(pkt, payload, rec->len);
        n = rec->len;
        from = rec->node == w->h[0].node ? 0 : 1;
      }
    if (n >= 40) {
      for (int k = 0; k < 3; k++) {
        size_t off = 20 + 4 + nl_rand_below(&rng, 16); /* seq..window */
        pkt[off] = (guint8)nl_rand_u64(&rng);
      }
      nl_ip4_update_l4_checksum(pkt, n);
      nl_tcp_input(w->h[1 - from].st, pkt, n);
      r->injected++;
    }
    run_for(w, (NlTime)(1 + nl_rand_below(&rng, 30)) * NL_MS);
  }
  for (int i = 0; i < 8; i++)
    if (c[i] != NULL)
      nl_tcp_close(c[i]);
  for (guint i = 0; i < held->len; i++)
    nl_tcp_close(g_ptr_array_index(held, i));
  g_ptr_array_free(held, TRUE);
  nl_tcp_close(l);
  run_for(w, 2000 * NL_S); /* every retry, FIN_WAIT_2 and TIME_WAIT ends */
  r->socks_a = nl_tcp_stack_n_socks(w->h[0].st);
  r->socks_b = nl_tcp_stack_n_socks(w->h[1].st);
}

static void test_tcp_mutated_segments_leave_no_state(void **state) {
  MutateResult r1 = {0}, r2 = {0};
  (void)state;
  run_twice(200, 5 * NL_MS, scenario_mutate, &r1, &r2);
  assert_true(r1.injected > 200);
  /* Everything closed by the user is eventually gone. */
  assert_int_equal(r1.socks_a, 0);
  assert_int_equal(r1.socks_b, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_stress_hostile_links),
      cmocka_unit_test(test_tcp_mutated_segments_leave_no_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
