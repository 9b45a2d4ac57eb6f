/* test-stun-server.c: the stun-server program, run on 127.0.0.1.
 * usage: test-stun-server PATH-TO-stun-server PATH-TO-stun-client */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stun-helpers/server.h"

static const char *server_exe, *client_exe;

static const char *const rfc5780_args[] = {
    "--primary", "127.0.0.1",  "--alternate", "127.0.0.1", "--port",
    "PORT",      "--alt-port", "PORT1",       NULL};
static const char *const single_args[] = {"--primary", "127.0.0.1", "--port",
                                          "PORT", NULL};

static const char *const four_args[] = {
    "--primary", "127.0.0.1",  "--alternate", "127.0.0.2", "--port",
    "PORT",      "--alt-port", "PORT1",       NULL};

static void parse_ok(const uint8_t *buf, ssize_t n, NlStunMsg *m) {
  assert_true(n > 0);
  assert_int_equal(nl_stun_msg_parse(buf, (size_t)n, m), NL_STUN_OK);
}

static void test_stun_server_binding_reports_source_address(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, rfc5780_args);
  int fd = ts_udp_socket();
  struct sockaddr_storage me, got, origin, other;
  socklen_t l = sizeof me;
  getsockname(fd, (struct sockaddr *)&me, &l);
  uint8_t tid[12] = {1, 2, 3}, req[64], resp[1024];
  size_t len = nl_stun_binding_request_build(tid, 0, req, sizeof req);
  ssize_t n = ts_xchg(fd, ts.port, req, len, resp, sizeof resp);
  NlStunMsg m;
  parse_ok(resp, n, &m);
  assert_int_equal(m.klass, NL_STUN_SUCCESS);
  assert_memory_equal(m.tid, tid, 12);
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE, &got),
      NL_STUN_OK);
  assert_true(
      nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&me));
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_RESPONSE_ORIGIN, FALSE, &origin),
      NL_STUN_OK);
  assert_int_equal(ntohs(((struct sockaddr_in *)&origin)->sin_port), ts.port);
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_OTHER_ADDRESS, FALSE, &other),
      NL_STUN_OK);
  assert_int_equal(ntohs(((struct sockaddr_in *)&other)->sin_port),
                   ts.port + 1);
  assert_true(m.fingerprint >= 0); /* the request carried one */
  close(fd);
  const char *out = ts_stop(&ts);
  assert_non_null(strstr(out, "answered=2"));
  ts_free(&ts);
}

/* RFC 5780 §6.1: CHANGE-REQUEST (change port) is answered from the other
 * port; RESPONSE-PORT redirects the answer. */
static void test_stun_server_change_request_and_response_port(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, rfc5780_args);
  int fd = ts_udp_socket(), fd2 = ts_udp_socket();
  uint8_t tid[12] = {4}, req[256], resp[1024];
  struct sockaddr_in to, from;
  ts_addr(&to, ts.port);
  size_t len = nl_stun_binding_request_build(tid, 0x2, req, sizeof req);
  sendto(fd, req, len, 0, (struct sockaddr *)&to, sizeof to);
  ssize_t n = ts_recv(fd, resp, sizeof resp, 2000, &from);
  NlStunMsg m;
  parse_ok(resp, n, &m);
  assert_int_equal(ntohs(from.sin_port), ts.port + 1);

  /* RESPONSE-PORT: the answer goes to fd2's port. */
  struct sockaddr_in a2;
  socklen_t l = sizeof a2;
  getsockname(fd2, (struct sockaddr *)&a2, &l);
  NlStunWriter w;
  nl_stun_writer_init(&w, req, sizeof req, NL_STUN_BINDING, NL_STUN_REQUEST,
                      tid);
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_RESPONSE_PORT,
                         (uint32_t)ntohs(a2.sin_port) << 16);
  uint8_t pad[100] = {0};
  nl_stun_writer_add(&w, NL_STUN_ATTR_PADDING, pad, sizeof pad);
  len = nl_stun_writer_finish(&w);
  assert_true(len > 0);
  sendto(fd, req, len, 0, (struct sockaddr *)&to, sizeof to);
  n = ts_recv(fd2, resp, sizeof resp, 2000, &from);
  parse_ok(resp, n, &m);
  const NlStunAttr *p = nl_stun_msg_find(&m, NL_STUN_ATTR_PADDING);
  assert_non_null(p);
  assert_int_equal(p->len, 100);
  close(fd);
  close(fd2);
  ts_stop(&ts);
  ts_free(&ts);
}

static unsigned error_code_of(const uint8_t *buf, ssize_t n) {
  NlStunMsg m;
  unsigned code = 0;
  if (n <= 0 || nl_stun_msg_parse(buf, (size_t)n, &m) != NL_STUN_OK ||
      m.klass != NL_STUN_ERROR)
    return 0;
  (void)nl_stun_msg_get_error(&m, &code, NULL, NULL);
  return code;
}

static void test_stun_server_errors(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, single_args);
  int fd = ts_udp_socket();
  uint8_t tid[12] = {5}, req[128], resp[1024];
  /* No alternate address: CHANGE-REQUEST is an unknown attribute (420). */
  size_t len = nl_stun_binding_request_build(tid, 0x4, req, sizeof req);
  ssize_t n = ts_xchg(fd, ts.port, req, len, resp, sizeof resp);
  assert_int_equal(error_code_of(resp, n), 420);
  /* Unknown comprehension-required attribute: 420 listing it. */
  NlStunWriter w;
  nl_stun_writer_init(&w, req, sizeof req, NL_STUN_BINDING, NL_STUN_REQUEST,
                      tid);
  nl_stun_writer_add_u32(&w, 0x7abc, 1);
  len = nl_stun_writer_finish(&w);
  n = ts_xchg(fd, ts.port, req, len, resp, sizeof resp);
  assert_int_equal(error_code_of(resp, n), 420);
  NlStunMsg m;
  uint16_t types[4];
  unsigned cnt;
  parse_ok(resp, n, &m);
  assert_int_equal(nl_stun_msg_get_unknown(&m, types, 4, &cnt), NL_STUN_OK);
  assert_int_equal(cnt, 1);
  assert_int_equal(types[0], 0x7abc);
  /* A method the server does not serve: 400. */
  nl_stun_writer_init(&w, req, sizeof req, NL_STUN_ALLOCATE, NL_STUN_REQUEST,
                      tid);
  len = nl_stun_writer_finish(&w);
  n = ts_xchg(fd, ts.port, req, len, resp, sizeof resp);
  assert_int_equal(error_code_of(resp, n), 400);
  /* A bad attribute size: 400. */
  nl_stun_writer_init(&w, req, sizeof req, NL_STUN_BINDING, NL_STUN_REQUEST,
                      tid);
  nl_stun_writer_add(&w, NL_STUN_ATTR_CHANGE_REQUEST, "ab", 2);
  len = nl_stun_writer_finish(&w);
  n = ts_xchg(fd, ts.port, req, len, resp, sizeof resp);
  assert_int_equal(error_code_of(resp, n), 400);
  close(fd);
  ts_stop(&ts);
  ts_free(&ts);
}

static void test_stun_server_tcp_binding(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, single_args);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to;
  ts_addr(&to, ts.port);
  assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
  uint8_t tid[12] = {6}, req[64], resp[1024];
  size_t len = nl_stun_binding_request_build(tid, 0, req, sizeof req);
  /* Two requests in one write, the second split: stream framing. */
  uint8_t two[128];
  memcpy(two, req, len);
  memcpy(two + len, req, len);
  assert_int_equal(write(fd, two, len + 5), (ssize_t)(len + 5));
  usleep(20000);
  assert_int_equal(write(fd, two + len + 5, len - 5), (ssize_t)(len - 5));
  size_t have = 0;
  int frames = 0;
  while (frames < 2) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_true(poll(&p, 1, 2000) > 0);
    ssize_t n = read(fd, resp + have, sizeof resp - have);
    assert_true(n > 0);
    have += (size_t)n;
    gssize fl;
    while ((fl = nl_stun_msg_frame_len(resp, have, TRUE)) > 0 &&
           (size_t)fl <= have) {
      NlStunMsg m;
      parse_ok(resp, fl, &m);
      assert_int_equal(m.klass, NL_STUN_SUCCESS);
      memmove(resp, resp + fl, have - (size_t)fl);
      have -= (size_t)fl;
      frames++;
    }
  }
  close(fd);
  ts_stop(&ts);
  ts_free(&ts);
}

/* Truncated, oversized, wrong-length, wrong-cookie and random datagrams and
 * TCP junk: the server answers each with nothing or an error, never dies,
 * and still answers a good request afterwards. */
static void test_stun_server_survives_malformed_input(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, rfc5780_args);
  int fd = ts_udp_socket();
  struct sockaddr_in to;
  ts_addr(&to, ts.port);
  uint8_t tid[12] = {8}, good[64], buf[2048];
  size_t glen = nl_stun_binding_request_build(tid, 0, good, sizeof good);
  GRand *r = g_rand_new_with_seed(8489);
  for (int i = 0; i < 3000; i++) {
    size_t n;
    switch (i % 5) {
      case 0: /* truncated */
        n = (size_t)i % glen;
        memcpy(buf, good, n);
        break;
      case 1: /* wrong cookie */
        memcpy(buf, good, glen);
        buf[4 + i % 4] ^= 0x40;
        n = glen;
        break;
      case 2: /* wrong length field */
        memcpy(buf, good, glen);
        buf[3] = (uint8_t)(g_rand_int(r) & 0xfc);
        n = glen;
        break;
      case 3: /* oversized: header says what the datagram has, ~2 KB */
        memcpy(buf, good, 20);
        for (size_t k = 20; k < sizeof buf; k++)
          buf[k] = (uint8_t)g_rand_int(r);
        buf[2] = (uint8_t)((sizeof buf - 20) >> 8);
        buf[3] = (uint8_t)(sizeof buf - 20);
        n = sizeof buf;
        break;
      default: /* random, sometimes with a valid header */
        n = (size_t)g_rand_int_range(r, 0, 600);
        for (size_t k = 0; k < n; k++)
          buf[k] = (uint8_t)g_rand_int(r);
        if (n >= 20 && (i & 8)) {
          memcpy(buf, good, 8);
          n &= ~(size_t)3;
          buf[2] = (uint8_t)((n - 20) >> 8);
          buf[3] = (uint8_t)(n - 20);
        }
        break;
    }
    sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof to);
    /* Any answer must be a well-formed STUN message. */
    ssize_t got;
    while ((got = ts_recv(fd, buf, sizeof buf, 0, NULL)) > 0) {
      NlStunMsg m;
      assert_int_equal(nl_stun_msg_parse(buf, (size_t)got, &m), NL_STUN_OK);
    }
  }
  int tfd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(tfd, (struct sockaddr *)&to, sizeof to), 0);
  for (size_t k = 0; k < 512; k++)
    buf[k] = (uint8_t)g_rand_int(r);
  buf[0] = 0xff; /* neither STUN nor ChannelData: the server hangs up */
  (void)write(tfd, buf, 512);
  struct pollfd p = {.fd = tfd, .events = POLLIN};
  assert_true(poll(&p, 1, 2000) > 0);
  assert_true(read(tfd, buf, sizeof buf) <= 0);
  close(tfd);
  g_rand_free(r);
  assert_true(ts_alive(&ts));
  /* A fresh transaction ID: late answers to the junk above carry the old
   * one. */
  tid[0] = 9;
  glen = nl_stun_binding_request_build(tid, 0, good, sizeof good);
  ssize_t n = ts_xchg(fd, ts.port, good, glen, buf, sizeof buf);
  NlStunMsg m;
  parse_ok(buf, n, &m);
  assert_int_equal(m.klass, NL_STUN_SUCCESS);
  close(fd);
  ts_stop(&ts);
  ts_free(&ts);
}

/* stun-client against stun-server: plain Binding over UDP and TCP, the
 * classifier (no NAT on loopback: both endpoint-independent), and the
 * answer when the server lacks RFC 5780 support. */
static void test_stun_client_binding_and_classifier(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, rfc5780_args);
  char server[32], local[32];
  snprintf(server, sizeof server, "127.0.0.1:%u", ts.port);
  uint16_t lp = ts_free_port();
  snprintf(local, sizeof local, "127.0.0.1:%u", lp);
  GString *out = g_string_new(NULL);
  const char *const plain[] = {client_exe, "--server", server, "--local",
                               local,      "--seed",   "1",    NULL};
  assert_int_equal(ts_run(plain, 10000, out), 0);
  char want[64];
  snprintf(want, sizeof want, "mapped-address: %s\n", local);
  assert_string_equal(out->str, want);
  g_string_truncate(out, 0);
  const char *const tcp[] = {client_exe, "--server", server, "--tcp", NULL};
  assert_int_equal(ts_run(tcp, 10000, out), 0);
  assert_true(g_str_has_prefix(out->str, "mapped-address: 127.0.0.1:"));
  g_string_truncate(out, 0);
  const char *const cls[] = {client_exe, "--server", server, "--classify",
                             NULL};
  assert_int_equal(ts_run(cls, 20000, out), 0);
  assert_non_null(strstr(out->str, "\nmapping: endpoint-independent\n"));
  assert_non_null(strstr(out->str, "\nfiltering: endpoint-independent\n"));
  ts_stop(&ts);
  ts_free(&ts);

  ts_start(&ts, server_exe, single_args);
  snprintf(server, sizeof server, "127.0.0.1:%u", ts.port);
  g_string_truncate(out, 0);
  assert_int_equal(ts_run(cls, 20000, out), 3);
  assert_non_null(strstr(out->str, "no RFC 5780 support"));
  ts_stop(&ts);
  ts_free(&ts);
  /* No server at all: the RFC 8489 schedule gives up (short RTO here). */
  g_string_truncate(out, 0);
  const char *const none[] = {client_exe, "--server", server,
                              "--rto",    "10",       NULL};
  assert_int_equal(ts_run(none, 20000, out), 1);
  assert_string_equal(out->str, "timeout\n");
  g_string_free(out, TRUE);
}

/* 127.0.0.@ip:@port as a sockaddr. */
static void lo_addr(struct sockaddr_in *a, int ip, uint16_t port) {
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)ip);
}

static void assert_addr_is(const NlStunMsg *m, uint16_t attr, int ip,
                           uint16_t port, const char *what) {
  struct sockaddr_storage got;
  assert_int_equal(nl_stun_msg_get_addr(m, attr, FALSE, &got), NL_STUN_OK);
  struct sockaddr_in want;
  lo_addr(&want, ip, port);
  if (!nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&want)) {
    char a[64], b[64];
    fail_msg("%s: %s, expected %s", what,
             nl_stun_addr_to_string((struct sockaddr *)&got, a, sizeof a),
             nl_stun_addr_to_string((struct sockaddr *)&want, b, sizeof b));
  }
}

/* RFC 5780 §7.3 and §7.4, on each of the four sockets (primary and
 * alternate address, primary and alternate port), with and without
 * CHANGE-REQUEST: RESPONSE-ORIGIN is the socket the answer came from, and
 * OTHER-ADDRESS the socket a change-IP-and-port answer to this request
 * would come from, i.e. the other address and the other port of the
 * socket that received it. */
static void test_stun_server_rfc5780_origin_and_other_per_socket(
    void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, four_args);
  uint16_t ports[2] = {ts.port, (uint16_t)(ts.port + 1)};
  int fd = ts_udp_socket();
  for (int ip = 0; ip < 2; ip++) {
    for (int port = 0; port < 2; port++) {
      for (uint32_t flags = 0; flags <= 0x6; flags += 0x2) {
        uint8_t tid[12] = {9, (uint8_t)ip, (uint8_t)port, (uint8_t)flags};
        uint8_t req[64], resp[1024];
        size_t len = nl_stun_binding_request_build(tid, flags, req, sizeof req);
        struct sockaddr_in to, from;
        lo_addr(&to, ip, ports[port]);
        ssize_t n = -1;
        for (int tries = 0; tries < 5 && n < 0; tries++) {
          sendto(fd, req, len, 0, (struct sockaddr *)&to, sizeof to);
          n = ts_recv(fd, resp, sizeof resp, 400, &from);
        }
        NlStunMsg m;
        parse_ok(resp, n, &m);
        assert_int_equal(m.klass, NL_STUN_SUCCESS);
        int oip = (flags & 0x4) ? 1 - ip : ip;
        int oport = (flags & 0x2) ? 1 - port : port;
        struct sockaddr_in want_from;
        lo_addr(&want_from, oip, ports[oport]);
        assert_true(nl_stun_addr_equal((struct sockaddr *)&from,
                                       (struct sockaddr *)&want_from));
        assert_addr_is(&m, NL_STUN_ATTR_RESPONSE_ORIGIN, oip, ports[oport],
                       "RESPONSE-ORIGIN");
        assert_addr_is(&m, NL_STUN_ATTR_OTHER_ADDRESS, 1 - ip,
                       ports[1 - port], "OTHER-ADDRESS");
      }
    }
  }
  close(fd);
  ts_stop(&ts);
  ts_free(&ts);
}

/* Over TCP (RFC 5780 §4.3 runs its mapping tests over TCP too) the server
 * listens on all four endpoints: each connection's answer names its own
 * endpoint as RESPONSE-ORIGIN and the opposite one as OTHER-ADDRESS, and
 * that one accepts connections. */
static void test_stun_server_rfc5780_tcp_on_every_endpoint(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, four_args);
  uint16_t ports[2] = {ts.port, (uint16_t)(ts.port + 1)};
  for (int ip = 0; ip < 2; ip++) {
    for (int port = 0; port < 2; port++) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in to;
      lo_addr(&to, ip, ports[port]);
      assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
      uint8_t tid[12] = {10, (uint8_t)ip, (uint8_t)port}, req[64],
              resp[1024];
      size_t len = nl_stun_binding_request_build(tid, 0, req, sizeof req);
      assert_int_equal(write(fd, req, len), (ssize_t)len);
      size_t have = 0;
      gssize fl = 0;
      while (fl <= 0 || (size_t)fl > have) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, 2000) > 0);
        ssize_t n = read(fd, resp + have, sizeof resp - have);
        assert_true(n > 0);
        have += (size_t)n;
        fl = nl_stun_msg_frame_len(resp, have, TRUE);
      }
      NlStunMsg m;
      parse_ok(resp, fl, &m);
      assert_int_equal(m.klass, NL_STUN_SUCCESS);
      assert_addr_is(&m, NL_STUN_ATTR_RESPONSE_ORIGIN, ip, ports[port],
                     "RESPONSE-ORIGIN (tcp)");
      assert_addr_is(&m, NL_STUN_ATTR_OTHER_ADDRESS, 1 - ip, ports[1 - port],
                     "OTHER-ADDRESS (tcp)");
      close(fd);
    }
  }
  ts_stop(&ts);
  ts_free(&ts);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PATH-TO-stun-server PATH-TO-stun-client\n",
            argv[0]);
    return 2;
  }
  server_exe = argv[1];
  client_exe = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_stun_server_binding_reports_source_address,
                                ts_teardown),
      cmocka_unit_test_teardown(
          test_stun_server_change_request_and_response_port, ts_teardown),
      cmocka_unit_test_teardown(test_stun_server_errors, ts_teardown),
      cmocka_unit_test_teardown(test_stun_server_tcp_binding, ts_teardown),
      cmocka_unit_test_teardown(test_stun_client_binding_and_classifier,
                                ts_teardown),
      cmocka_unit_test_teardown(test_stun_server_survives_malformed_input,
                                ts_teardown),
      cmocka_unit_test_teardown(
          test_stun_server_rfc5780_origin_and_other_per_socket, ts_teardown),
      cmocka_unit_test_teardown(test_stun_server_rfc5780_tcp_on_every_endpoint,
                                ts_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
