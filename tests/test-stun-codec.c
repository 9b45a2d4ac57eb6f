/* test-stun-codec.c: the STUN codec against RFC 5769 and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "programs/stun/stun-codec.h"

/* The vectors keep the RFC's layout: one attribute per line. */
/* clang-format off */
/* RFC 5769 §2.1: Binding request, short-term credential, padding bytes
 * 0x20.  Parameters: SOFTWARE "STUN test client", USERNAME "evtj:h6vY",
 * password "VOkJxbRl1RmTxUk/WvJxBt", PRIORITY 0x6e0001ff, ICE-CONTROLLED
 * 0x932ff9b151263b36. */
static const uint8_t rfc5769_request[] = {
  0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, /* header, cookie */
  0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, /* transaction ID */
  0xfa, 0x87, 0xdf, 0xae,
  0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, /* SOFTWARE */
  0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
  0x69, 0x65, 0x6e, 0x74,
  0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, /* PRIORITY */
  0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, /* ICE-CONTROLLED */
  0x51, 0x26, 0x3b, 0x36,
  0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, /* USERNAME */
  0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20,
  0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, /* MESSAGE-INTEGRITY */
  0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5,
  0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2,
  0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf, /* FINGERPRINT */
};

/* RFC 5769 §2.2: IPv4 response, SOFTWARE "test vector", mapped address
 * 192.0.2.1:32853, same password as the request. */
static const uint8_t rfc5769_response_v4[] = {
  0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
  0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
  0xfa, 0x87, 0xdf, 0xae,
  0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, /* SOFTWARE */
  0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
  0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, /* XOR-MAPPED-ADDRESS */
  0xe1, 0x12, 0xa6, 0x43,
  0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, /* MESSAGE-INTEGRITY */
  0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
  0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
  0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96, /* FINGERPRINT */
};

/* RFC 5769 §2.3: IPv6 response, mapped address
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_response_v6[] = {
  0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42,
  0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
  0xfa, 0x87, 0xdf, 0xae,
  0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, /* SOFTWARE */
  0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
  0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, /* XOR-MAPPED-ADDRESS */
  0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
  0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
  0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, /* MESSAGE-INTEGRITY */
  0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c,
  0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
  0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c, /* FINGERPRINT */
};

/* RFC 5769 §2.4: long-term credentials; USERNAME is U+30DE U+30C8
 * U+30EA U+30C3 U+30AF U+30B9, password "TheMatrIX" (after SASLprep),
 * realm "example.org", nonce "f//499k954d6OL34oL9FSTvy64sA". */
static const uint8_t rfc5769_long_term[] = {
  0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42,
  0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
  0x29, 0xda, 0x41, 0x2e,
  0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, /* USERNAME */
  0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
  0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00,
  0x00, 0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, /* NONCE */
  0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
  0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46,
  0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41,
  0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, /* REALM */
  0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00,
  0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, /* MESSAGE-INTEGRITY */
  0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
  0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};

/* clang-format on */

static const char short_term_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const char lt_username[] =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

static void set_v4(struct sockaddr_storage *ss, const char *ip, uint16_t port) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in = (struct sockaddr_in *)ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
}

static void set_v6(struct sockaddr_storage *ss, const char *ip, uint16_t port) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
}

static void test_stun_rfc5769_request_builds_byte_for_byte(void **state) {
  (void)state;
  uint8_t buf[256];
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_REQUEST,
                      rfc5769_request + 8);
  w.pad_byte = 0x20;
  nl_stun_writer_add(&w, NL_STUN_ATTR_SOFTWARE, "STUN test client", 16);
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_PRIORITY, 0x6e0001ff);
  nl_stun_writer_add_u64(&w, NL_STUN_ATTR_ICE_CONTROLLED,
                         G_GUINT64_CONSTANT(0x932ff9b151263b36));
  nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, "evtj:h6vY", 9);
  nl_stun_writer_add_integrity(&w, (const uint8_t *)short_term_password,
                               strlen(short_term_password));
  nl_stun_writer_add_fingerprint(&w);
  size_t n = nl_stun_writer_finish(&w);
  assert_int_equal(n, sizeof rfc5769_request);
  assert_memory_equal(buf, rfc5769_request, n);
}

static void test_stun_rfc5769_request_parses(void **state) {
  (void)state;
  NlStunMsg m;
  assert_int_equal(
      nl_stun_msg_parse(rfc5769_request, sizeof rfc5769_request, &m),
      NL_STUN_OK);
  assert_int_equal(m.method, NL_STUN_BINDING);
  assert_int_equal(m.klass, NL_STUN_REQUEST);
  assert_memory_equal(m.tid, rfc5769_request + 8, 12);
  assert_int_equal(m.n_attrs, 6);
  assert_true(m.fingerprint == 5 && m.integrity == 4);
  const uint8_t *v;
  size_t vlen;
  assert_int_equal(nl_stun_msg_get_string(&m, NL_STUN_ATTR_USERNAME, &v, &vlen),
                   NL_STUN_OK);
  assert_int_equal(vlen, 9);
  assert_memory_equal(v, "evtj:h6vY", 9);
  uint32_t prio;
  assert_int_equal(nl_stun_msg_get_u32(&m, NL_STUN_ATTR_PRIORITY, &prio),
                   NL_STUN_OK);
  assert_int_equal(prio, 0x6e0001ff);
  assert_int_equal(
      nl_stun_msg_check_integrity(&m, (const uint8_t *)short_term_password,
                                  strlen(short_term_password)),
      NL_STUN_OK);
  assert_int_equal(nl_stun_msg_check_integrity(&m, (const uint8_t *)"x", 1),
                   NL_STUN_INTEGRITY_MISMATCH);
}

static size_t build_response(const struct sockaddr *mapped, uint8_t *buf,
                             size_t len) {
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, len, NL_STUN_BINDING, NL_STUN_SUCCESS,
                      rfc5769_request + 8);
  w.pad_byte = 0x20;
  nl_stun_writer_add(&w, NL_STUN_ATTR_SOFTWARE, "test vector", 11);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
  nl_stun_writer_add_integrity(&w, (const uint8_t *)short_term_password,
                               strlen(short_term_password));
  nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

static void test_stun_rfc5769_ipv4_response_round_trips(void **state) {
  (void)state;
  struct sockaddr_storage mapped, got;
  set_v4(&mapped, "192.0.2.1", 32853);
  uint8_t buf[256];
  size_t n = build_response((struct sockaddr *)&mapped, buf, sizeof buf);
  assert_int_equal(n, sizeof rfc5769_response_v4);
  assert_memory_equal(buf, rfc5769_response_v4, n);

  NlStunMsg m;
  assert_int_equal(
      nl_stun_msg_parse(rfc5769_response_v4, sizeof rfc5769_response_v4, &m),
      NL_STUN_OK);
  assert_int_equal(m.klass, NL_STUN_SUCCESS);
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE, &got),
      NL_STUN_OK);
  assert_true(
      nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&mapped));
  assert_int_equal(
      nl_stun_msg_check_integrity(&m, (const uint8_t *)short_term_password,
                                  strlen(short_term_password)),
      NL_STUN_OK);
}

static void test_stun_rfc5769_ipv6_response_round_trips(void **state) {
  (void)state;
  struct sockaddr_storage mapped, got;
  set_v6(&mapped, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
  uint8_t buf[256];
  size_t n = build_response((struct sockaddr *)&mapped, buf, sizeof buf);
  assert_int_equal(n, sizeof rfc5769_response_v6);
  assert_memory_equal(buf, rfc5769_response_v6, n);

  NlStunMsg m;
  assert_int_equal(
      nl_stun_msg_parse(rfc5769_response_v6, sizeof rfc5769_response_v6, &m),
      NL_STUN_OK);
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE, &got),
      NL_STUN_OK);
  assert_true(
      nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&mapped));
  char s[64];
  assert_string_equal(
      nl_stun_addr_to_string((struct sockaddr *)&got, s, sizeof s),
      "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static void test_stun_rfc5769_long_term_round_trips(void **state) {
  (void)state;
  uint8_t key[16];
  nl_stun_long_term_key(lt_username, "example.org", "TheMatrIX", key);
  uint8_t buf[256];
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_REQUEST,
                      rfc5769_long_term + 8);
  nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, lt_username,
                     strlen(lt_username));
  nl_stun_writer_add(&w, NL_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA",
                     28);
  nl_stun_writer_add(&w, NL_STUN_ATTR_REALM, "example.org", 11);
  nl_stun_writer_add_integrity(&w, key, sizeof key);
  size_t n = nl_stun_writer_finish(&w);
  assert_int_equal(n, sizeof rfc5769_long_term);
  assert_memory_equal(buf, rfc5769_long_term, n);

  NlStunMsg m;
  assert_int_equal(
      nl_stun_msg_parse(rfc5769_long_term, sizeof rfc5769_long_term, &m),
      NL_STUN_OK);
  assert_int_equal(m.fingerprint, -1);
  assert_int_equal(nl_stun_msg_check_integrity(&m, key, sizeof key),
                   NL_STUN_OK);
  key[0] ^= 1;
  assert_int_equal(nl_stun_msg_check_integrity(&m, key, sizeof key),
                   NL_STUN_INTEGRITY_MISMATCH);
}

/* Every prefix of every vector is rejected with a reason, never OK. */
static void test_stun_truncated_at_every_length_is_rejected(void **state) {
  (void)state;
  const uint8_t *vec[] = {rfc5769_request, rfc5769_response_v4,
                          rfc5769_response_v6, rfc5769_long_term};
  size_t lens[] = {sizeof rfc5769_request, sizeof rfc5769_response_v4,
                   sizeof rfc5769_response_v6, sizeof rfc5769_long_term};
  for (size_t v = 0; v < G_N_ELEMENTS(vec); v++) {
    for (size_t n = 0; n < lens[v]; n++) {
      uint8_t copy[256];
      memcpy(copy, vec[v], n);
      NlStunMsg m;
      NlStunResult r = nl_stun_msg_parse(copy, n, &m);
      assert_int_not_equal(r, NL_STUN_OK);
      assert_true(r == NL_STUN_TRUNCATED);
      assert_non_null(nl_stun_result_to_string(r));
      /* The same prefix with its length field patched to fit is still
       * rejected whenever it cuts an attribute. */
      if (n >= 20 && n % 4 == 0) {
        copy[2] = (uint8_t)((n - 20) >> 8);
        copy[3] = (uint8_t)(n - 20);
        r = nl_stun_msg_parse(copy, n, &m);
        assert_true(r == NL_STUN_OK || r == NL_STUN_ATTR_OVERRUN ||
                    r == NL_STUN_BAD_PADDING || r == NL_STUN_BAD_ATTR);
      }
    }
  }
}

static void test_stun_wrong_cookie_is_rejected(void **state) {
  (void)state;
  uint8_t copy[sizeof rfc5769_request];
  memcpy(copy, rfc5769_request, sizeof copy);
  copy[5] ^= 0x01;
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof copy, &m),
                   NL_STUN_BAD_COOKIE);
  memcpy(copy, rfc5769_request, sizeof copy);
  copy[0] |= 0x80;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof copy, &m), NL_STUN_NOT_STUN);
}

static void test_stun_wrong_length_is_rejected(void **state) {
  (void)state;
  uint8_t copy[sizeof rfc5769_request + 8];
  memcpy(copy, rfc5769_request, sizeof rfc5769_request);
  NlStunMsg m;
  /* Not a multiple of 4. */
  copy[3] = 0x57;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof rfc5769_request, &m),
                   NL_STUN_BAD_LENGTH);
  /* Shorter than the datagram. */
  copy[3] = 0x54;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof rfc5769_request, &m),
                   NL_STUN_BAD_LENGTH);
  /* Longer than the datagram. */
  copy[3] = 0x5c;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof rfc5769_request, &m),
                   NL_STUN_TRUNCATED);
  /* An attribute length that overruns the message. */
  memcpy(copy, rfc5769_request, sizeof rfc5769_request);
  copy[23] = 0x60; /* SOFTWARE length 0x60 */
  assert_int_equal(nl_stun_msg_parse(copy, sizeof rfc5769_request, &m),
                   NL_STUN_ATTR_OVERRUN);
  /* FINGERPRINT altered. */
  memcpy(copy, rfc5769_request, sizeof rfc5769_request);
  copy[sizeof rfc5769_request - 1] ^= 0xff;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof rfc5769_request, &m),
                   NL_STUN_FINGERPRINT_MISMATCH);
  /* Integrity protects the body: a changed byte is caught once the CRC is
   * made to fit again. */
  memcpy(copy, rfc5769_long_term, sizeof rfc5769_long_term);
  copy[30] ^= 0x01;
  assert_int_equal(nl_stun_msg_parse(copy, sizeof rfc5769_long_term, &m),
                   NL_STUN_OK);
  uint8_t key[16];
  nl_stun_long_term_key(lt_username, "example.org", "TheMatrIX", key);
  assert_int_equal(nl_stun_msg_check_integrity(&m, key, 16),
                   NL_STUN_INTEGRITY_MISMATCH);
}

static void test_stun_oversized_is_rejected(void **state) {
  (void)state;
  size_t big = NL_STUN_MAX_MSG_LEN + 4;
  uint8_t *buf = g_malloc0(big);
  memcpy(buf, rfc5769_long_term, 20);
  buf[2] = 0xff;
  buf[3] = 0xfc;
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(buf, big, &m), NL_STUN_TOO_BIG);
  uint8_t small[8];
  NlStunWriter w;
  nl_stun_writer_init(&w, small, sizeof small, NL_STUN_BINDING, NL_STUN_REQUEST,
                      rfc5769_long_term + 8);
  assert_int_equal(nl_stun_writer_finish(&w), 0);
  uint8_t hdr[24];
  nl_stun_writer_init(&w, hdr, sizeof hdr, NL_STUN_BINDING, NL_STUN_REQUEST,
                      rfc5769_long_term + 8);
  nl_stun_writer_add_fingerprint(&w);
  assert_int_equal(nl_stun_writer_finish(&w), 0);
  g_free(buf);
}

static void test_stun_unknown_required_attribute_is_reported(void **state) {
  (void)state;
  uint8_t buf[128];
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_REQUEST,
                      rfc5769_long_term + 8);
  nl_stun_writer_add_u32(&w, 0x7777, 1); /* comprehension-required */
  nl_stun_writer_add_u32(&w, 0xC001, 1); /* comprehension-optional */
  nl_stun_writer_add_fingerprint(&w);
  size_t n = nl_stun_writer_finish(&w);
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_UNKNOWN_REQUIRED);
  assert_int_equal(m.n_unknown, 1);
  assert_int_equal(m.unknown[0], 0x7777);

  /* A 420 carries them back. */
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_ERROR,
                      m.tid);
  nl_stun_writer_add_error(&w, 420, "Unknown Attribute");
  nl_stun_writer_add_unknown(&w, m.unknown, m.n_unknown);
  n = nl_stun_writer_finish(&w);
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_OK);
  unsigned code, cnt;
  uint16_t types[4];
  assert_int_equal(nl_stun_msg_get_error(&m, &code, NULL, NULL), NL_STUN_OK);
  assert_int_equal(code, 420);
  assert_int_equal(nl_stun_msg_get_unknown(&m, types, 4, &cnt), NL_STUN_OK);
  assert_int_equal(cnt, 1);
  assert_int_equal(types[0], 0x7777);
}

static void test_stun_bad_attribute_sizes_are_rejected(void **state) {
  (void)state;
  uint8_t buf[128];
  NlStunWriter w;
  NlStunMsg m;
  uint8_t addr[8] = {0, 0x03, 0, 1, 1, 2, 3, 4}; /* family 3 */
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_SUCCESS,
                      rfc5769_long_term + 8);
  nl_stun_writer_add(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, addr, 8);
  size_t n = nl_stun_writer_finish(&w);
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_BAD_FAMILY);

  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_SUCCESS,
                      rfc5769_long_term + 8);
  addr[1] = 0x02; /* IPv6 family but 8 bytes */
  nl_stun_writer_add(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, addr, 8);
  n = nl_stun_writer_finish(&w);
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_BAD_ATTR);

  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_ALLOCATE, NL_STUN_REQUEST,
                      rfc5769_long_term + 8);
  nl_stun_writer_add(&w, NL_STUN_ATTR_LIFETIME, addr, 3);
  n = nl_stun_writer_finish(&w);
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_BAD_ATTR);

  /* Attribute after FINGERPRINT. */
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_REQUEST,
                      rfc5769_long_term + 8);
  nl_stun_writer_add_fingerprint(&w);
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_PRIORITY, 1);
  n = nl_stun_writer_finish(&w);
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_FINGERPRINT_NOT_LAST);
}

/* An attribute without its padding leaves a body that is not a multiple of
 * 4; an attribute whose value (and so its padding) runs past the body is an
 * overrun.  With a 4-aligned body the padding can only fit when the value
 * does, so both cases are caught by these two reasons. */
static void test_stun_missing_padding_is_rejected(void **state) {
  (void)state;
  uint8_t buf[32] = {0x00, 0x01, 0x00, 0x05, 0x21, 0x12, 0xa4, 0x42};
  buf[20] = 0x80, buf[21] = 0x22, buf[22] = 0, buf[23] = 1;
  buf[24] = 'x';
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(buf, 25, &m), NL_STUN_BAD_LENGTH);
  buf[3] = 8; /* padded: fine */
  assert_int_equal(nl_stun_msg_parse(buf, 28, &m), NL_STUN_OK);
  buf[23] = 5; /* value overruns the 8-byte body */
  assert_int_equal(nl_stun_msg_parse(buf, 28, &m), NL_STUN_ATTR_OVERRUN);
  buf[3] = 12, buf[23] = 4; /* an empty optional attribute follows */
  buf[28] = 0x80, buf[29] = 0x22;
  assert_int_equal(nl_stun_msg_parse(buf, 32, &m), NL_STUN_OK);
  buf[23] = 1, buf[31] = 9; /* the second value runs past the end */
  assert_int_equal(nl_stun_msg_parse(buf, 32, &m), NL_STUN_ATTR_OVERRUN);
}

/* Random bytes never crash the parser, and with a valid header the result
 * is always one of the documented reasons. */
static void test_stun_random_bytes_never_crash(void **state) {
  (void)state;
  GRand *rand = g_rand_new_with_seed(5769);
  uint8_t buf[600];
  unsigned ok = 0;
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = (size_t)g_rand_int_range(rand, 0, sizeof buf);
    for (size_t i = 0; i < n; i++)
      buf[i] = (uint8_t)g_rand_int(rand);
    if (iter % 2 == 0 && n >= 20) {
      /* Make half of them pass the header checks. */
      buf[0] &= 0x3f;
      memcpy(buf + 4, rfc5769_request + 4, 4);
      n &= ~(size_t)3;
      buf[2] = (uint8_t)((n - 20) >> 8);
      buf[3] = (uint8_t)(n - 20);
    }
    NlStunMsg m;
    NlStunResult r = nl_stun_msg_parse(buf, n, &m);
    assert_true((unsigned)r <= NL_STUN_NOT_CHANNEL_DATA);
    assert_non_null(nl_stun_result_to_string(r));
    if (r == NL_STUN_OK) {
      ok++;
      struct sockaddr_storage ss;
      (void)nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE,
                                 &ss);
      unsigned code;
      (void)nl_stun_msg_get_error(&m, &code, NULL, NULL);
      NlStunResult ir =
          nl_stun_msg_check_integrity(&m, (const uint8_t *)"k", 1);
      assert_true(ir == NL_STUN_NO_INTEGRITY ||
                  ir == NL_STUN_INTEGRITY_MISMATCH || ir == NL_STUN_OK);
    }
    gssize fl = nl_stun_msg_frame_len(buf, n, TRUE);
    assert_true(fl >= -1);
    uint16_t ch;
    const uint8_t *d;
    size_t dl;
    r = nl_stun_channel_data_parse(buf, n, &ch, &d, &dl);
    if (r == NL_STUN_OK)
      assert_true(4 + dl <= n);
  }
  /* Some random bodies must parse (empty bodies at least). */
  assert_true(ok > 0);
  g_rand_free(rand);
}

static void test_stun_channel_data_framing(void **state) {
  (void)state;
  uint8_t buf[32];
  const uint8_t data[5] = {1, 2, 3, 4, 5};
  assert_int_equal(
      nl_stun_channel_data_build(0x4001, data, 5, FALSE, buf, sizeof buf), 9);
  assert_int_equal(
      nl_stun_channel_data_build(0x4001, data, 5, TRUE, buf, sizeof buf), 12);
  assert_int_equal(
      nl_stun_channel_data_build(0x3fff, data, 5, TRUE, buf, sizeof buf), 0);
  assert_int_equal(nl_stun_channel_data_build(0x4001, data, 5, TRUE, buf, 8),
                   0);
  assert_int_equal(nl_stun_msg_frame_len(buf, 12, TRUE), 12);
  assert_int_equal(nl_stun_msg_frame_len(buf, 12, FALSE), 9);
  assert_int_equal(nl_stun_msg_frame_len(buf, 3, FALSE), 0);
  uint16_t ch;
  const uint8_t *d;
  size_t dl;
  assert_int_equal(nl_stun_channel_data_parse(buf, 12, &ch, &d, &dl),
                   NL_STUN_OK);
  assert_int_equal(ch, 0x4001);
  assert_int_equal(dl, 5);
  assert_memory_equal(d, data, 5);
  assert_int_equal(nl_stun_channel_data_parse(buf, 8, &ch, &d, &dl),
                   NL_STUN_TRUNCATED);
  buf[0] = 0x80;
  assert_int_equal(nl_stun_channel_data_parse(buf, 12, &ch, &d, &dl),
                   NL_STUN_NOT_CHANNEL_DATA);
  assert_int_equal(nl_stun_msg_frame_len(buf, 12, TRUE), -1);
}

static void test_stun_turn_attributes_round_trip(void **state) {
  (void)state;
  uint8_t buf[256], tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  struct sockaddr_storage peer, relay, got;
  set_v4(&peer, "198.51.100.7", 4000);
  set_v6(&relay, "2001:db8::1", 50000);
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_CHANNEL_BIND,
                      NL_STUN_REQUEST, tid);
  nl_stun_writer_add_channel(&w, 0x4abc);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                              (struct sockaddr *)&peer);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_RELAYED_ADDRESS,
                              (struct sockaddr *)&relay);
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_LIFETIME, 600);
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
  nl_stun_writer_add(&w, NL_STUN_ATTR_DONT_FRAGMENT, NULL, 0);
  nl_stun_writer_add(&w, NL_STUN_ATTR_EVEN_PORT, "\x80", 1);
  nl_stun_writer_add_u64(&w, NL_STUN_ATTR_RESERVATION_TOKEN, 42);
  nl_stun_writer_add(&w, NL_STUN_ATTR_DATA, "hello", 5);
  nl_stun_writer_add_integrity_sha256(&w, (const uint8_t *)"key", 3);
  nl_stun_writer_add_fingerprint(&w);
  size_t n = nl_stun_writer_finish(&w);
  assert_true(n > 0);
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_OK);
  assert_int_equal(m.method, NL_STUN_CHANNEL_BIND);
  uint16_t ch;
  assert_int_equal(nl_stun_msg_get_channel(&m, &ch), NL_STUN_OK);
  assert_int_equal(ch, 0x4abc);
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_PEER_ADDRESS, TRUE, &got),
      NL_STUN_OK);
  assert_true(
      nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&peer));
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_RELAYED_ADDRESS, TRUE, &got),
      NL_STUN_OK);
  assert_true(
      nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&relay));
  uint32_t v;
  assert_int_equal(nl_stun_msg_get_u32(&m, NL_STUN_ATTR_LIFETIME, &v),
                   NL_STUN_OK);
  assert_int_equal(v, 600);
  assert_int_equal(m.integrity_sha256, 9);
  assert_int_equal(nl_stun_msg_check_integrity(&m, (const uint8_t *)"key", 3),
                   NL_STUN_OK);
  assert_int_equal(nl_stun_msg_check_integrity(&m, (const uint8_t *)"kez", 3),
                   NL_STUN_INTEGRITY_MISMATCH);
  assert_string_equal(nl_stun_attr_name(NL_STUN_ATTR_XOR_RELAYED_ADDRESS),
                      "XOR-RELAYED-ADDRESS");
}

static void test_stun_rfc5780_attributes_round_trip(void **state) {
  (void)state;
  uint8_t buf[256], tid[12] = {9};
  struct sockaddr_storage a, got;
  set_v4(&a, "203.0.113.9", 3479);
  size_t n = nl_stun_binding_request_build(tid, 0x06, buf, sizeof buf);
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_OK);
  uint32_t flags;
  assert_int_equal(nl_stun_msg_get_u32(&m, NL_STUN_ATTR_CHANGE_REQUEST, &flags),
                   NL_STUN_OK);
  assert_int_equal(flags, 0x06);
  assert_true(m.fingerprint >= 0);

  NlStunWriter w;
  nl_stun_writer_init(&w, buf, sizeof buf, NL_STUN_BINDING, NL_STUN_SUCCESS,
                      tid);
  nl_stun_writer_add_addr(&w, NL_STUN_ATTR_OTHER_ADDRESS,
                          (struct sockaddr *)&a);
  nl_stun_writer_add_addr(&w, NL_STUN_ATTR_RESPONSE_ORIGIN,
                          (struct sockaddr *)&a);
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_RESPONSE_PORT, 5000u << 16);
  uint8_t pad[40] = {0};
  nl_stun_writer_add(&w, NL_STUN_ATTR_PADDING, pad, sizeof pad);
  n = nl_stun_writer_finish(&w);
  assert_int_equal(nl_stun_msg_parse(buf, n, &m), NL_STUN_OK);
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_OTHER_ADDRESS, FALSE, &got),
      NL_STUN_OK);
  assert_true(
      nl_stun_addr_equal((struct sockaddr *)&got, (struct sockaddr *)&a));
  assert_int_equal(
      nl_stun_msg_get_addr(&m, NL_STUN_ATTR_MAPPED_ADDRESS, FALSE, &got),
      NL_STUN_NOT_FOUND);
}

static void test_stun_timer_follows_rfc8489_schedule(void **state) {
  (void)state;
  const int64_t ms = 1000000;
  NlStunTimer t;
  nl_stun_timer_start(&t, 0, 0, 0, 0, FALSE);
  /* Transmissions at 0, 500, 1500, 3500, 7500, 15500, 31500 ms; timeout
   * at 39500 ms (RFC 8489 §6.2.1 example). */
  const int64_t sends[] = {500, 1500, 3500, 7500, 15500, 31500};
  int64_t now = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(sends); i++) {
    assert_int_equal(nl_stun_timer_remaining(&t, now), sends[i] * ms - now);
    assert_int_equal(nl_stun_timer_refresh(&t, sends[i] * ms - 1),
                     NL_STUN_TIMER_WAIT);
    now = sends[i] * ms;
    assert_int_equal(nl_stun_timer_refresh(&t, now), NL_STUN_TIMER_RETRANSMIT);
  }
  assert_int_equal(nl_stun_timer_refresh(&t, 39500 * ms - 1),
                   NL_STUN_TIMER_WAIT);
  assert_int_equal(nl_stun_timer_refresh(&t, 39500 * ms),
                   NL_STUN_TIMER_TIMEOUT);
  assert_int_equal(t.sent, 7);

  nl_stun_timer_start(&t, 10 * ms, 100, 2, 4, FALSE);
  assert_int_equal(nl_stun_timer_refresh(&t, 110 * ms),
                   NL_STUN_TIMER_RETRANSMIT);
  assert_int_equal(nl_stun_timer_refresh(&t, 509 * ms), NL_STUN_TIMER_WAIT);
  assert_int_equal(nl_stun_timer_refresh(&t, 510 * ms), NL_STUN_TIMER_TIMEOUT);

  nl_stun_timer_start(&t, 0, 0, 0, 0, TRUE);
  assert_int_equal(nl_stun_timer_refresh(&t, 39499 * ms), NL_STUN_TIMER_WAIT);
  assert_int_equal(nl_stun_timer_refresh(&t, 39500 * ms),
                   NL_STUN_TIMER_TIMEOUT);
}

static void test_stun_addr_parse_and_print(void **state) {
  (void)state;
  struct sockaddr_storage ss;
  char s[64];
  assert_true(nl_stun_addr_parse("127.0.0.1:3478", 0, &ss));
  assert_string_equal(nl_stun_addr_to_string((struct sockaddr *)&ss, s, 64),
                      "127.0.0.1:3478");
  assert_true(nl_stun_addr_parse("10.0.0.1", 99, &ss));
  assert_string_equal(nl_stun_addr_to_string((struct sockaddr *)&ss, s, 64),
                      "10.0.0.1:99");
  assert_true(nl_stun_addr_parse("[::1]:5", 0, &ss));
  assert_string_equal(nl_stun_addr_to_string((struct sockaddr *)&ss, s, 64),
                      "[::1]:5");
  assert_false(nl_stun_addr_parse("10.0.0.1", 0, &ss));
  assert_false(nl_stun_addr_parse("10.0.0.1:70000", 0, &ss));
  assert_false(nl_stun_addr_parse("host:1", 0, &ss));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stun_rfc5769_request_builds_byte_for_byte),
      cmocka_unit_test(test_stun_rfc5769_request_parses),
      cmocka_unit_test(test_stun_rfc5769_ipv4_response_round_trips),
      cmocka_unit_test(test_stun_rfc5769_ipv6_response_round_trips),
      cmocka_unit_test(test_stun_rfc5769_long_term_round_trips),
      cmocka_unit_test(test_stun_truncated_at_every_length_is_rejected),
      cmocka_unit_test(test_stun_wrong_cookie_is_rejected),
      cmocka_unit_test(test_stun_wrong_length_is_rejected),
      cmocka_unit_test(test_stun_oversized_is_rejected),
      cmocka_unit_test(test_stun_unknown_required_attribute_is_reported),
      cmocka_unit_test(test_stun_bad_attribute_sizes_are_rejected),
      cmocka_unit_test(test_stun_missing_padding_is_rejected),
      cmocka_unit_test(test_stun_random_bytes_never_crash),
      cmocka_unit_test(test_stun_channel_data_framing),
      cmocka_unit_test(test_stun_turn_attributes_round_trip),
      cmocka_unit_test(test_stun_rfc5780_attributes_round_trip),
      cmocka_unit_test(test_stun_timer_follows_rfc8489_schedule),
      cmocka_unit_test(test_stun_addr_parse_and_print),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
