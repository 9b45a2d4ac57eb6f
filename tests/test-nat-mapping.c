/* RFC 4787 §4.1 (mapping), §4.2 (port allocation) and §5 (filtering):
 * every mapping × filtering × allocation choice, asserted packet by packet.
 *
 * One inside endpoint H = 10.0.0.5:5000 sends, in order, to
 *   step 0: S1  = 192.0.2.10:3478
 *   step 1: S1' = 192.0.2.10:3479   (same address, other port)
 *   step 2: S2  = 198.51.100.20:3478 (other address)
 * and the external port of each step is checked exactly.  Then, towards
 * the external port of each step, inbound packets come from
 *   S1, S1', S2, S1:9999 (same address as S1, never sent to), and a probe
 *   P = 198.51.100.99:4000
 * and whether each passes (rewritten to H with valid checksums) or is
 * filtered is checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sim/core/rand.h"
#include "test-nat-util.h"

#define N_STEPS 3
#define N_SOURCES 5

static const char *const step_dst[N_STEPS] = {"192.0.2.10", "192.0.2.10",
                                              "198.51.100.20"};
static const uint16_t step_dport[N_STEPS] = {3478, 3479, 3478};
static const char *const src_addr[N_SOURCES] = {
    "192.0.2.10", "192.0.2.10", "198.51.100.20", "192.0.2.10",
    "198.51.100.99"};
static const uint16_t src_port[N_SOURCES] = {3478, 3479, 3478, 9999, 4000};

/* External port chosen at each step, per mapping and allocation.  A
 * negative value -k means "the k-th draw of the NAT's random stream". */
typedef struct {
  NlNatMappingMode mapping;
  NlNatAlloc alloc;
  int port[N_STEPS];
} PortRow;

static const PortRow port_rows[] = {
    /* RFC 4787 REQ-1: EIM reuses the mapping for every remote. */
    {NL_NAT_MAPPING_EIM, NL_NAT_ALLOC_PRESERVE, {5000, 5000, 5000}},
    {NL_NAT_MAPPING_EIM, NL_NAT_ALLOC_SEQUENTIAL, {1024, 1024, 1024}},
    {NL_NAT_MAPPING_EIM, NL_NAT_ALLOC_RANDOM, {-1, -1, -1}},
    /* ADM: a new mapping for a new remote address only. */
    {NL_NAT_MAPPING_ADM, NL_NAT_ALLOC_PRESERVE, {5000, 5000, 5001}},
    {NL_NAT_MAPPING_ADM, NL_NAT_ALLOC_SEQUENTIAL, {1024, 1024, 1025}},
    {NL_NAT_MAPPING_ADM, NL_NAT_ALLOC_RANDOM, {-1, -1, -2}},
    /* APDM: a new mapping for every remote address:port. */
    {NL_NAT_MAPPING_APDM, NL_NAT_ALLOC_PRESERVE, {5000, 5001, 5002}},
    {NL_NAT_MAPPING_APDM, NL_NAT_ALLOC_SEQUENTIAL, {1024, 1025, 1026}},
    {NL_NAT_MAPPING_APDM, NL_NAT_ALLOC_RANDOM, {-1, -2, -3}},
};

/* Which inbound sources pass towards each step's external port, per
 * mapping and filtering: one character per source, in the order of
 * src_addr[] ('1' passes, '0' filtered). */
typedef struct {
  NlNatMappingMode mapping;
  NlNatFilteringMode filtering;
  const char *pass[N_STEPS];
} FilterRow;

static const FilterRow filter_rows[] = {
    /* RFC 4787 REQ-8: EIF lets anyone in. */
    {NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_EIF, {"11111", "11111", "11111"}},
    /* ADF: any port of an address sent to. */
    {NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_ADF, {"11110", "11110", "11110"}},
    /* APDF: only the address:ports sent to. */
    {NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_APDF, {"11100", "11100", "11100"}},
    {NL_NAT_MAPPING_ADM, NL_NAT_FILTERING_EIF, {"11111", "11111", "11111"}},
    /* ADM: step 0 and 1 share a mapping that sent to S1 only. */
    {NL_NAT_MAPPING_ADM, NL_NAT_FILTERING_ADF, {"11010", "11010", "00100"}},
    {NL_NAT_MAPPING_ADM, NL_NAT_FILTERING_APDF, {"11000", "11000", "00100"}},
    {NL_NAT_MAPPING_APDM, NL_NAT_FILTERING_EIF, {"11111", "11111", "11111"}},
    {NL_NAT_MAPPING_APDM, NL_NAT_FILTERING_ADF, {"11010", "11010", "00100"}},
    /* Symmetric: each mapping answers its one remote only. */
    {NL_NAT_MAPPING_APDM, NL_NAT_FILTERING_APDF, {"10000", "01000", "00100"}},
};

static const PortRow *port_row(NlNatMappingMode m, NlNatAlloc a) {
  for (guint i = 0; i < G_N_ELEMENTS(port_rows); i++)
    if (port_rows[i].mapping == m && port_rows[i].alloc == a)
      return &port_rows[i];
  return NULL;
}

static const FilterRow *filter_row(NlNatMappingMode m, NlNatFilteringMode f) {
  for (guint i = 0; i < G_N_ELEMENTS(filter_rows); i++)
    if (filter_rows[i].mapping == m && filter_rows[i].filtering == f)
      return &filter_rows[i];
  return NULL;
}

/* The k-th (1-based) random port: replays the NAT's stream, derived by name
 * from the seed. */
static uint16_t random_port(const char *nat_name, int k) {
  NlRand r;
  char *stream = g_strdup_printf("nat:%s/ports", nat_name);
  nl_rand_init(&r, SEED, stream);
  g_free(stream);
  uint64_t p = 0;
  for (int i = 0; i < k; i++)
    p = 1024 + nl_rand_below(&r, 65535 - 1024 + 1);
  return (uint16_t)p;
}

/* Runs the case for @b, asserting every packet; returns the trace text. */
static char *run_case(const NlNatBehaviour *b, const PortRow *pr,
                      const FilterRow *fr) {
  Env env;
  uint32_t h = A("10.0.0.5"), e = A("203.0.113.1");
  env_init(&env, b);
  env_at(&env, 1 * NL_S);
  uint16_t ext[N_STEPS];
  for (int s = 0; s < N_STEPS; s++) {
    Seen out = {0};
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, h, 5000, A(step_dst[s]),
                             step_dport[s], &out),
                     NL_NAT_PASS);
    uint16_t want = pr->port[s] >= 0 ? (uint16_t)pr->port[s]
                                     : random_port("nat", -pr->port[s]);
    assert_int_equal(out.src, e);
    assert_int_equal(out.sport, want);
    assert_int_equal(out.dst, A(step_dst[s]));
    assert_int_equal(out.dport, step_dport[s]);
    ext[s] = out.sport;
  }
  for (int s = 0; s < N_STEPS; s++) {
    for (int i = 0; i < N_SOURCES; i++) {
      Seen in = {0};
      NlNatVerdict v = env_udp(&env, NL_NAT_INBOUND, A(src_addr[i]),
                               src_port[i], e, ext[s], &in);
      if (fr->pass[s][i] == '1') {
        if (v != NL_NAT_PASS)
          fail_msg("%s/%s step %d source %d: dropped (%s)",
                   nl_nat_mapping_name(b->mapping),
                   nl_nat_filtering_name(b->filtering), s, i,
                   nl_drop_reason_name(env.why));
        assert_int_equal(in.dst, h);
        assert_int_equal(in.dport, 5000);
        assert_int_equal(in.src, A(src_addr[i]));
        assert_int_equal(in.sport, src_port[i]);
      } else {
        if (v != NL_NAT_DROP)
          fail_msg("%s/%s step %d source %d: passed",
                   nl_nat_mapping_name(b->mapping),
                   nl_nat_filtering_name(b->filtering), s, i);
        assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
      }
    }
  }
  /* A port with no mapping. */
  assert_int_equal(
      env_udp(&env, NL_NAT_INBOUND, A("192.0.2.10"), 3478, e, 999, NULL),
      NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);

  /* One "new" record per distinct external port. */
  guint distinct = 1 + (ext[1] != ext[0]) + (ext[2] != ext[1] &&
                                             ext[2] != ext[0]);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_NEW), distinct);
  NlNatCounters c;
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, distinct);
  char *text = env_trace_text(&env);
  env_free(&env);
  return text;
}

/* Runs every row matching the filters (-1 = any), each twice, and checks
 * both runs give the same trace. */
static void run_table(int mapping, int filtering, int alloc) {
  guint n = 0;
  for (int m = 0; m < NL_NAT_MAPPING_N; m++) {
    for (int f = 0; f < NL_NAT_FILTERING_N; f++) {
      for (int a = 0; a < NL_NAT_ALLOC_N; a++) {
        if ((mapping >= 0 && m != mapping) ||
            (filtering >= 0 && f != filtering) || (alloc >= 0 && a != alloc))
          continue;
        NlNatBehaviour b = *nl_nat_behaviour_find("full-cone");
        b.mapping = m;
        b.filtering = f;
        b.allocation = a;
        const PortRow *pr = port_row(m, a);
        const FilterRow *fr = filter_row(m, f);
        assert_non_null(pr);
        assert_non_null(fr);
        char *t1 = run_case(&b, pr, fr);
        char *t2 = run_case(&b, pr, fr);
        assert_string_equal(t1, t2);
        g_free(t1);
        g_free(t2);
        n++;
      }
    }
  }
  assert_true(n > 0);
}

static void test_nat_rfc4787_s4_1_every_mapping_filtering_allocation(
    void **state) {
  run_table(-1, -1, -1);
}

static void test_nat_rfc4787_req1_eim_reuses_mapping(void **state) {
  run_table(NL_NAT_MAPPING_EIM, -1, -1);
}

static void test_nat_rfc4787_s4_1_adm_new_mapping_per_address(void **state) {
  run_table(NL_NAT_MAPPING_ADM, -1, -1);
}

static void test_nat_rfc4787_s4_1_apdm_new_mapping_per_endpoint(void **state) {
  run_table(NL_NAT_MAPPING_APDM, -1, -1);
}

static void test_nat_rfc4787_req8_eif_admits_any_remote(void **state) {
  run_table(-1, NL_NAT_FILTERING_EIF, -1);
}

static void test_nat_rfc4787_s5_adf_admits_addresses_sent_to(void **state) {
  run_table(-1, NL_NAT_FILTERING_ADF, -1);
}

static void test_nat_rfc4787_s5_apdf_admits_endpoints_sent_to(void **state) {
  run_table(-1, NL_NAT_FILTERING_APDF, -1);
}

static void test_nat_rfc4787_req3_port_preservation(void **state) {
  run_table(-1, -1, NL_NAT_ALLOC_PRESERVE);
}

static void test_nat_rfc4787_s4_2_sequential_and_random(void **state) {
  run_table(-1, -1, NL_NAT_ALLOC_SEQUENTIAL);
  run_table(-1, -1, NL_NAT_ALLOC_RANDOM);
}

/* Two inside hosts wanting the same port: preservation gives it to the
 * first, the second gets the next free one (RFC 4787 §4.2.1). */
static void test_nat_rfc4787_s4_2_1_preserve_collision_takes_next(
    void **state) {
  Env env;
  NlNatBehaviour b = behaviour("port-restricted-cone", NULL);
  env_init(&env, &b);
  Seen a = {0}, c = {0};
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.5"), 5000,
                           A("192.0.2.10"), 3478, &a),
                   NL_NAT_PASS);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.6"), 5000,
                           A("192.0.2.10"), 3478, &c),
                   NL_NAT_PASS);
  assert_int_equal(a.sport, 5000);
  assert_int_equal(c.sport, 5001);
  /* Replies reach the right host. */
  Seen r = {0};
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, A("192.0.2.10"), 3478,
                           A("203.0.113.1"), 5001, &r),
                   NL_NAT_PASS);
  assert_int_equal(r.dst, A("10.0.0.6"));
  env_free(&env);
}

/* RFC 4787 REQ-4: port parity preserved when asked; range respected. */
static void test_nat_rfc4787_req4_parity_and_range(void **state) {
  static const struct {
    const char *alloc;
    uint16_t inside[4];
    uint16_t want[4];
  } rows[] = {
      /* range 2000-2009: 5000 is out of range, the scan starts at 2000 */
      {"preserve", {5000, 5001, 2004, 2004}, {2000, 2001, 2004, 2006}},
      {"sequential", {5000, 5001, 2004, 2004}, {2000, 2001, 2002, 2004}},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    Env env;
    NlNatBehaviour b =
        behaviour("full-cone", "allocation", rows[i].alloc, "parity",
                  "preserve", "port-range", "2000-2009", NULL);
    env_init(&env, &b);
    for (int k = 0; k < 4; k++) {
      Seen s = {0};
      uint32_t h = A("10.0.0.5") + (uint32_t)k;
      assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, h, rows[i].inside[k],
                               A("192.0.2.10"), 3478, &s),
                       NL_NAT_PASS);
      assert_int_equal(s.sport, rows[i].want[k]);
      assert_int_equal(s.sport & 1, rows[i].inside[k] & 1);
    }
    env_free(&env);
  }
  /* Random stays within the range and parity. */
  Env env;
  NlNatBehaviour b = behaviour("full-cone", "allocation", "random", "parity",
                               "preserve", "port-range", "40000-40099", NULL);
  env_init(&env, &b);
  for (int k = 0; k < 50; k++) {
    Seen s = {0};
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.5"),
                             (uint16_t)(6000 + k), A("192.0.2.10"), 3478, &s),
                     NL_NAT_PASS);
    assert_true(s.sport >= 40000 && s.sport <= 40099);
    assert_int_equal(s.sport & 1, k & 1);
  }
  env_free(&env);
}

/* RFC 4787 REQ-2: paired pooling, an inside host keeps one external
 * address. */
static void test_nat_rfc4787_req2_paired_address_pooling(void **state) {
  Env env;
  uint32_t ext[2] = {A("203.0.113.1"), A("203.0.113.2")};
  NlNatBehaviour b = behaviour("symmetric", NULL);
  env_init_n(&env, &b, ext, 2, "nat");
  for (int h = 0; h < 4; h++) {
    uint32_t host = A("10.0.0.4") + (uint32_t)h;
    for (int k = 0; k < 3; k++) {
      Seen s = {0};
      assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, host, 5000,
                               A("192.0.2.10"), (uint16_t)(3478 + k), &s),
                       NL_NAT_PASS);
      assert_int_equal(s.src, ext[host % 2]);
    }
  }
  env_free(&env);
}

/* A UDP datagram @src:@sport -> @dst:@dport with an 8-byte payload whose
 * last 16-bit word is @tail. */
static size_t udp_tail(guint8 *buf, uint32_t src, uint16_t sport, uint32_t dst,
                       uint16_t dport, uint16_t tail) {
  guint8 payload[8] = {'n', 'a', 't', 'l', 'a', 'b',
                       (guint8)(tail >> 8), (guint8)tail};
  return nl_udp4_build(buf, src, sport, dst, dport, payload, sizeof payload,
                       4242, 64, FALSE);
}

/* The tail word that makes the UDP checksum of udp_tail(...) sum to
 * nothing (a computed 0, written 0xffff). */
static uint16_t zero_sum_tail(uint32_t src, uint16_t sport, uint32_t dst,
                              uint16_t dport) {
  guint8 b[64];
  udp_tail(b, src, sport, dst, dport, 0);
  uint16_t c = (uint16_t)(b[NL_IP4_HDR_LEN + 6] << 8 | b[NL_IP4_HDR_LEN + 7]);
  uint32_t sum = (uint16_t)~c; /* the sum with a tail of 0 */
  return (uint16_t)((0xffffu - sum) % 0xffffu);
}

/* The checksum tests' addresses: external ones and inside hosts whose
 * 16-bit halves go from 0xffff to 0 and back. */
#define N_CHECKSUM_ADDRS 3
static void checksum_exts(uint32_t out[N_CHECKSUM_ADDRS]) {
  out[0] = A("203.0.113.1");
  out[1] = A("0.0.113.1");
  out[2] = A("255.255.0.1");
}

/* The @k-th flow of a checksum test: an inside host and port, a remote
 * address (now and then 255.255.255.254) and a port other than 0, from
 * the xorshift state @x. */
typedef struct {
  uint32_t h, r;
  uint16_t hport, rport;
} Flow;

static Flow next_flow(guint k, uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  Flow f;
  static const char *const ins[N_CHECKSUM_ADDRS] = {
      "10.0.0.5", "255.255.0.5", "0.0.255.255"};
  f.h = A(ins[k % N_CHECKSUM_ADDRS]);
  f.hport = (uint16_t)(1024 + k);
  f.r = k % 5 == 0 ? A("255.255.255.254") : (uint32_t)*x;
  f.rport = (uint16_t)(*x >> 32);
  if (f.rport == 0)
    f.rport = 1;
  return f;
}

/* The NAT updates the UDP checksum incrementally (RFC 1624): the bytes are
 * those of the datagram built anew with the new endpoint, whatever the
 * values, both ways; among them the checksums that sum to zero (0xffff on
 * the wire) before or after, and addresses whose halves go from 0xffff to
 * 0.  Outbound twice: the datagram that makes the mapping, and one through
 * it (the common case, with the mapping's terms folded beforehand). */
static void test_nat_udp_checksum_as_built_anew(void **state) {
  (void)state;
  NlNatBehaviour b = behaviour("full-cone", NULL);
  uint32_t exts[N_CHECKSUM_ADDRS];
  checksum_exts(exts);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (guint ei = 0; ei < N_CHECKSUM_ADDRS; ei++) {
    Env env;
    env_init_n(&env, &b, &exts[ei], 1, "nat");
    for (guint k = 0; k < 600; k++) {
      Flow fl = next_flow(k, &x);
      uint32_t h = fl.h, r = fl.r;
      uint16_t hport = fl.hport, rport = fl.rport;
      guint mode = k % 3; /* random tail, zero sum before, zero sum after */
      uint16_t tail = (uint16_t)(x >> 48);
      if (mode == 1)
        tail = zero_sum_tail(h, hport, r, rport);
      guint8 want[64];
      size_t n;
      for (int again = 0; again < 2; again++) {
        env.len = udp_tail(env.pkt, h, hport, r, rport, tail);
        /* After: the external endpoint is the inside port (preserved). */
        if (mode == 2)
          env.len = udp_tail(env.pkt, h, hport, r, rport,
                             zero_sum_tail(exts[ei], hport, r, rport));
        assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_PASS);
        n = udp_tail(want, exts[ei], hport, r, rport,
                     (uint16_t)(env.pkt[env.len - 2] << 8 |
                                env.pkt[env.len - 1]));
        assert_int_equal(env.len, n);
        assert_memory_equal(env.pkt, want, n);
      }
      /* And the answer, in. */
      env.len = udp_tail(env.pkt, r, rport, exts[ei], hport, tail);
      if (mode == 2)
        env.len = udp_tail(env.pkt, r, rport, exts[ei], hport,
                           zero_sum_tail(r, rport, h, hport));
      assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_PASS);
      n = udp_tail(want, r, rport, h, hport,
                   (uint16_t)(env.pkt[env.len - 2] << 8 |
                              env.pkt[env.len - 1]));
      assert_memory_equal(env.pkt, want, n);
    }
    env_free(&env);
  }
}

/* The same of TCP (RFC 1624, both ways): each segment's bytes are those
 * of the segment built anew with the new endpoint, for the SYN that makes
 * the mapping and for the segments through it without SYN, FIN or RST
 * (the common case), whatever the addresses and ports. */
static void test_nat_tcp_checksum_as_built_anew(void **state) {
  (void)state;
  NlNatBehaviour b = behaviour("port-restricted-cone", NULL);
  static const uint8_t flags[] = {NL_TCP_SYN, NL_TCP_ACK,
                                  NL_TCP_ACK | NL_TCP_PSH};
  uint32_t exts[N_CHECKSUM_ADDRS];
  checksum_exts(exts);
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (guint ei = 0; ei < N_CHECKSUM_ADDRS; ei++) {
    Env env;
    env_init_n(&env, &b, &exts[ei], 1, "nat");
    for (guint k = 0; k < 300; k++) {
      Flow fl = next_flow(k, &x);
      uint32_t h = fl.h, r = fl.r;
      uint16_t hport = fl.hport, rport = fl.rport;
      guint8 want[64];
      for (guint f = 0; f < G_N_ELEMENTS(flags); f++) {
        /* Out (the external port is the inside one: preserved). */
        env.len = build_tcp(env.pkt, h, hport, r, rport, flags[f]);
        assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_PASS);
        size_t n = build_tcp(want, exts[ei], hport, r, rport, flags[f]);
        assert_int_equal(env.len, n);
        assert_memory_equal(env.pkt, want, n);
        if (flags[f] & NL_TCP_SYN)
          continue;
        /* And in. */
        env.len = build_tcp(env.pkt, r, rport, exts[ei], hport, flags[f]);
        assert_int_equal(env_process(&env, NL_NAT_INBOUND), NL_NAT_PASS);
        n = build_tcp(want, r, rport, h, hport, flags[f]);
        assert_memory_equal(env.pkt, want, n);
      }
    }
    env_free(&env);
  }
}

/* The NAT node's entry (nl__nat_translate_ip4) keeps the packet's header
 * as read in step with the bytes it rewrote, whichever way the packet
 * went through (the common case: a datagram through its mapping; or
 * not: a new mapping, an echo, a filtered datagram), on every preset. */
static void test_nat_kept_header_follows_packet(void **state) {
  (void)state;
  static const char *const presets[] = {"full-cone", "restricted-cone",
                                        "port-restricted-cone", "symmetric"};
  uint32_t h = A("10.0.0.5"), r = A("192.0.2.10"), x = A("198.51.100.7");
  uint32_t ext = A("203.0.113.1");
  for (guint i = 0; i < G_N_ELEMENTS(presets); i++) {
    NlNatBehaviour b = behaviour(presets[i], NULL);
    Env env;
    env_init(&env, &b);
    uint16_t ext_port = 0; /* the mapping's, as the first packet shows */
    static const struct {
      NlNatDirection dir;
      gboolean echo, stranger;
    } steps[] = {
        {NL_NAT_OUTBOUND, FALSE, FALSE}, /* a new mapping */
        {NL_NAT_OUTBOUND, FALSE, FALSE}, /* through it */
        {NL_NAT_INBOUND, FALSE, FALSE},  /* the answer */
        {NL_NAT_INBOUND, FALSE, TRUE},   /* someone else */
        {NL_NAT_OUTBOUND, TRUE, FALSE},  /* an echo */
    };
    for (guint k = 0; k < G_N_ELEMENTS(steps); k++) {
      gboolean in = steps[k].dir == NL_NAT_INBOUND;
      uint32_t peer = steps[k].stranger ? x : r;
      if (steps[k].echo)
        env.len = build_echo(env.pkt, h, r, NL_ICMP_ECHO_REQUEST, 77);
      else
        env.len = in ? build_udp(env.pkt, peer, 3478, ext, ext_port)
                     : build_udp(env.pkt, h, 5000, r, 3478);
      NlIp4Header ip;
      assert_null(nl_ip4_parse(env.pkt, env.len, &ip));
      NlDropReason why =
          nl__nat_translate_ip4(env.nat, steps[k].dir, env.pkt, &ip);
      gboolean filtered =
          steps[k].stranger && b.filtering != NL_NAT_FILTERING_EIF;
      assert_int_equal(why,
                       filtered ? NL_DROP_NAT_FILTERED : NL_DROP_NONE);
      if (!filtered)
        seen_checked(env.pkt, env.len); /* every checksum right */
      assert_int_equal(ip.src, nl_wire_get32(env.pkt + 12));
      assert_int_equal(ip.dst, nl_wire_get32(env.pkt + 16));
      if (!filtered)
        assert_int_equal(in ? ip.dst : ip.src, in ? h : ext);
      if (k == 0)
        ext_port = nl_wire_get16(env.pkt + NL_IP4_HDR_LEN);
    }
    env_free(&env);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_rfc4787_s4_1_every_mapping_filtering_allocation),
      cmocka_unit_test(test_nat_rfc4787_req1_eim_reuses_mapping),
      cmocka_unit_test(test_nat_rfc4787_s4_1_adm_new_mapping_per_address),
      cmocka_unit_test(test_nat_rfc4787_s4_1_apdm_new_mapping_per_endpoint),
      cmocka_unit_test(test_nat_rfc4787_req8_eif_admits_any_remote),
      cmocka_unit_test(test_nat_rfc4787_s5_adf_admits_addresses_sent_to),
      cmocka_unit_test(test_nat_rfc4787_s5_apdf_admits_endpoints_sent_to),
      cmocka_unit_test(test_nat_rfc4787_req3_port_preservation),
      cmocka_unit_test(test_nat_rfc4787_s4_2_sequential_and_random),
      cmocka_unit_test(test_nat_rfc4787_s4_2_1_preserve_collision_takes_next),
      cmocka_unit_test(test_nat_rfc4787_req4_parity_and_range),
      cmocka_unit_test(test_nat_rfc4787_req2_paired_address_pooling),
      cmocka_unit_test(test_nat_udp_checksum_as_built_anew),
      cmocka_unit_test(test_nat_tcp_checksum_as_built_anew),
      cmocka_unit_test(test_nat_kept_header_follows_packet),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
