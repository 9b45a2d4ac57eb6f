/* stun-codec.c: the pure STUN/TURN codec (see stun-codec.h). */
#include "stun-codec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* ---- small byte helpers ---- */

static inline uint16_t rd16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static inline size_t pad4(size_t n) {
  return (n + 3) & ~(size_t)3;
}

/* ---- names ---- */

static const char *const result_strings[] = {
#define NL_STUN_RESULT_STR(name, str) str,
    NL_STUN_RESULT_MAP(NL_STUN_RESULT_STR)
#undef NL_STUN_RESULT_STR
};

const char *nl_stun_result_to_string(NlStunResult r) {
  if ((unsigned)r >= G_N_ELEMENTS(result_strings))
    return "invalid result";
  return result_strings[r];
}

static const struct {
  uint16_t type;
  const char *name;
} attr_names[] = {
#define NL_STUN_ATTR_ROW(name, value, str) {value, str},
    NL_STUN_ATTR_MAP(NL_STUN_ATTR_ROW)
#undef NL_STUN_ATTR_ROW
};

const char *nl_stun_attr_name(uint16_t type) {
  for (size_t i = 0; i < G_N_ELEMENTS(attr_names); i++)
    if (attr_names[i].type == type)
      return attr_names[i].name;
  return "UNKNOWN";
}

gboolean nl_stun_attr_is_known(uint16_t type) {
  for (size_t i = 0; i < G_N_ELEMENTS(attr_names); i++)
    if (attr_names[i].type == type)
      return TRUE;
  return FALSE;
}

/* ---- building ---- */

void nl_stun_writer_init(NlStunWriter *w, uint8_t *buf, size_t cap,
                         uint16_t method, NlStunClass klass,
                         const uint8_t tid[NL_STUN_TID_LEN]) {
  g_return_if_fail(w != NULL);
  memset(w, 0, sizeof *w);
  w->buf = buf;
  w->cap = cap;
  if (buf == NULL || cap < NL_STUN_HEADER_LEN || tid == NULL) {
    w->overflow = TRUE;
    return;
  }
  /* Method bits M0-M3, M4-M6, M7-M11 interleave with class bits C0, C1. */
  uint16_t type = (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) |
                             ((method & 0x0F80) << 2) | klass);
  wr16(buf, type);
  wr16(buf + 2, 0);
  wr32(buf + 4, NL_STUN_MAGIC_COOKIE);
  memcpy(buf + 8, tid, NL_STUN_TID_LEN);
  w->len = NL_STUN_HEADER_LEN;
}

/* Reserves an attribute of @len value bytes; returns a pointer to the value
 * or NULL (and sets overflow) if it does not fit.  Updates the header
 * length. */
static uint8_t *writer_reserve(NlStunWriter *w, uint16_t type, size_t len) {
  if (w->overflow)
    return NULL;
  size_t total = 4 + pad4(len);
  if (len > 0xFFFF || w->len + total > w->cap ||
      w->len + total - NL_STUN_HEADER_LEN > 0xFFFF) {
    w->overflow = TRUE;
    return NULL;
  }
  uint8_t *p = w->buf + w->len;
  wr16(p, type);
  wr16(p + 2, (uint16_t)len);
  memset(p + 4 + len, w->pad_byte, pad4(len) - len);
  w->len += total;
  wr16(w->buf + 2, (uint16_t)(w->len - NL_STUN_HEADER_LEN));
  return p + 4;
}

void nl_stun_writer_add(NlStunWriter *w, uint16_t type, const void *value,
                        size_t len) {
  g_return_if_fail(w != NULL);
  uint8_t *p = writer_reserve(w, type, len);
  if (p != NULL && len > 0)
    memcpy(p, value, len);
}

void nl_stun_writer_add_u32(NlStunWriter *w, uint16_t type, uint32_t v) {
  uint8_t b[4];
  wr32(b, v);
  nl_stun_writer_add(w, type, b, 4);
}

void nl_stun_writer_add_u64(NlStunWriter *w, uint16_t type, uint64_t v) {
  uint8_t b[8];
  wr32(b, (uint32_t)(v >> 32));
  wr32(b + 4, (uint32_t)v);
  nl_stun_writer_add(w, type, b, 8);
}

static void writer_add_address(NlStunWriter *w, uint16_t type,
                               const struct sockaddr *sa, gboolean xored) {
  g_return_if_fail(w != NULL && sa != NULL);
  uint8_t b[20];
  size_t n;
  memset(b, 0, sizeof b);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    b[1] = 0x01;
    memcpy(b + 2, &in->sin_port, 2);
    memcpy(b + 4, &in->sin_addr, 4);
    n = 8;
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    b[1] = 0x02;
    memcpy(b + 2, &in6->sin6_port, 2);
    memcpy(b + 4, &in6->sin6_addr, 16);
    n = 20;
  } else {
    w->overflow = TRUE; /* nothing sensible to write */
    return;
  }
  if (xored && !w->overflow && w->len >= NL_STUN_HEADER_LEN) {
    /* X-Port and X-Address xor the cookie, then (IPv6) the transaction ID,
     * both taken from the header (RFC 8489 §14.2). */
    const uint8_t *key = w->buf + 4;
    for (size_t i = 2; i < n; i++)
      b[i] ^= key[i < 4 ? i - 2 : i - 4];
  }
  nl_stun_writer_add(w, type, b, n);
}

void nl_stun_writer_add_addr(NlStunWriter *w, uint16_t type,
                             const struct sockaddr *sa) {
  writer_add_address(w, type, sa, FALSE);
}

void nl_stun_writer_add_xor_addr(NlStunWriter *w, uint16_t type,
                                 const struct sockaddr *sa) {
  writer_add_address(w, type, sa, TRUE);
}

void nl_stun_writer_add_error(NlStunWriter *w, unsigned code,
                              const char *reason) {
  g_return_if_fail(w != NULL && code >= 300 && code <= 699);
  size_t rlen = reason ? strlen(reason) : 0;
  if (rlen > 763)
    rlen = 763;
  uint8_t *p = writer_reserve(w, NL_STUN_ATTR_ERROR_CODE, 4 + rlen);
  if (p == NULL)
    return;
  p[0] = p[1] = 0;
  p[2] = (uint8_t)(code / 100);
  p[3] = (uint8_t)(code % 100);
  if (rlen > 0)
    memcpy(p + 4, reason, rlen);
}

void nl_stun_writer_add_unknown(NlStunWriter *w, const uint16_t *types,
                                unsigned n) {
  g_return_if_fail(w != NULL && (n == 0 || types != NULL));
  uint8_t *p = writer_reserve(w, NL_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
  if (p == NULL)
    return;
  for (unsigned i = 0; i < n; i++)
    wr16(p + 2 * i, types[i]);
}

void nl_stun_writer_add_channel(NlStunWriter *w, uint16_t channel) {
  nl_stun_writer_add_u32(w, NL_STUN_ATTR_CHANNEL_NUMBER,
                         (uint32_t)channel << 16);
}

static void writer_add_hmac(NlStunWriter *w, uint16_t type, GChecksumType algo,
                            size_t mac_len, const uint8_t *key,
                            size_t key_len) {
  g_return_if_fail(w != NULL && (key != NULL || key_len == 0));
  if (w->overflow)
    return;
  size_t start = w->len;
  /* The header length must already count the integrity attribute while the
   * HMAC runs (RFC 8489 §14.5); reserve first, then hash up to @start. */
  uint8_t *p = writer_reserve(w, type, mac_len);
  if (p == NULL)
    return;
  GHmac *h = g_hmac_new(algo, key, key_len);
  g_hmac_update(h, w->buf, start);
  uint8_t digest[32];
  gsize dlen = sizeof digest;
  g_hmac_get_digest(h, digest, &dlen);
  g_hmac_unref(h);
  memcpy(p, digest, mac_len);
}

void nl_stun_writer_add_integrity(NlStunWriter *w, const uint8_t *key,
                                  size_t key_len) {
  writer_add_hmac(w, NL_STUN_ATTR_MESSAGE_INTEGRITY, G_CHECKSUM_SHA1, 20, key,
                  key_len);
}

void nl_stun_writer_add_integrity_sha256(NlStunWriter *w, const uint8_t *key,
                                         size_t key_len) {
  writer_add_hmac(w, NL_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, G_CHECKSUM_SHA256,
                  32, key, key_len);
}

static uint32_t fingerprint_of(const uint8_t *buf, size_t len) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, buf, (uInt)len);
  return (uint32_t)crc ^ NL_STUN_FINGERPRINT_XOR;
}

void nl_stun_writer_add_fingerprint(NlStunWriter *w) {
  g_return_if_fail(w != NULL);
  if (w->overflow)
    return;
  size_t start = w->len;
  uint8_t *p = writer_reserve(w, NL_STUN_ATTR_FINGERPRINT, 4);
  if (p == NULL)
    return;
  wr32(p, fingerprint_of(w->buf, start));
}

size_t nl_stun_writer_finish(const NlStunWriter *w) {
  g_return_val_if_fail(w != NULL, 0);
  return w->overflow ? 0 : w->len;
}

size_t nl_stun_binding_request_build(const uint8_t tid[NL_STUN_TID_LEN],
                                     uint32_t change_flags, uint8_t *buf,
                                     size_t len) {
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, len, NL_STUN_BINDING, NL_STUN_REQUEST, tid);
  if (change_flags != 0)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_CHANGE_REQUEST, change_flags);
  nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

size_t nl_stun_binding_response_build(const uint8_t tid[NL_STUN_TID_LEN],
                                      const struct sockaddr *mapped,
                                      uint8_t *buf, size_t len) {
  g_return_val_if_fail(mapped != NULL, 0);
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, len, NL_STUN_BINDING, NL_STUN_SUCCESS, tid);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
  nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

size_t nl_stun_error_response_build(uint16_t method,
                                    const uint8_t tid[NL_STUN_TID_LEN],
                                    unsigned code, const char *reason,
                                    uint8_t *buf, size_t len) {
  NlStunWriter w;
  nl_stun_writer_init(&w, buf, len, method, NL_STUN_ERROR, tid);
  nl_stun_writer_add_error(&w, code, reason);
  nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

size_t nl_stun_channel_data_build(uint16_t channel, const uint8_t *data,
                                  size_t data_len, gboolean pad, uint8_t *buf,
                                  size_t len) {
  g_return_val_if_fail(buf != NULL && (data != NULL || data_len == 0), 0);
  if ((channel & 0xC000) != 0x4000 || data_len > 0xFFFF)
    return 0;
  size_t total = 4 + (pad ? pad4(data_len) : data_len);
  if (total > len)
    return 0;
  wr16(buf, channel);
  wr16(buf + 2, (uint16_t)data_len);
  if (data_len > 0)
    memmove(buf + 4, data, data_len);
  memset(buf + 4 + data_len, 0, total - 4 - data_len);
  return total;
}

/* ---- parsing ---- */

/* Checks the size (and, for addresses, the family) of a known attribute. */
static NlStunResult check_attr_value(uint16_t type, const uint8_t *v,
                                     uint16_t len) {
  switch (type) {
    case NL_STUN_ATTR_MAPPED_ADDRESS:
    case NL_STUN_ATTR_RESPONSE_ADDRESS:
    case NL_STUN_ATTR_SOURCE_ADDRESS:
    case NL_STUN_ATTR_CHANGED_ADDRESS:
    case NL_STUN_ATTR_XOR_PEER_ADDRESS:
    case NL_STUN_ATTR_XOR_RELAYED_ADDRESS:
    case NL_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case NL_STUN_ATTR_ALTERNATE_SERVER:
    case NL_STUN_ATTR_RESPONSE_ORIGIN:
    case NL_STUN_ATTR_OTHER_ADDRESS:
      if (len < 4)
        return NL_STUN_BAD_ATTR;
      if (v[1] == 0x01)
        return len == 8 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
      if (v[1] == 0x02)
        return len == 20 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
      return NL_STUN_BAD_FAMILY;
    case NL_STUN_ATTR_MESSAGE_INTEGRITY:
      return len == 20 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
      return len >= 16 && len <= 32 && len % 4 == 0 ? NL_STUN_OK
                                                    : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_FINGERPRINT:
    case NL_STUN_ATTR_CHANGE_REQUEST:
    case NL_STUN_ATTR_CHANNEL_NUMBER:
    case NL_STUN_ATTR_LIFETIME:
    case NL_STUN_ATTR_REQUESTED_TRANSPORT:
    case NL_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case NL_STUN_ATTR_PRIORITY:
    case NL_STUN_ATTR_RESPONSE_PORT:
      return len == 4 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_RESERVATION_TOKEN:
    case NL_STUN_ATTR_ICE_CONTROLLED:
    case NL_STUN_ATTR_ICE_CONTROLLING:
      return len == 8 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_EVEN_PORT:
      return len == 1 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_DONT_FRAGMENT:
    case NL_STUN_ATTR_USE_CANDIDATE:
      return len == 0 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_ERROR_CODE:
      if (len < 4 || len > 4 + 763)
        return NL_STUN_BAD_ATTR;
      if (v[2] < 3 || v[2] > 6 || v[3] > 99)
        return NL_STUN_BAD_ATTR;
      return NL_STUN_OK;
    case NL_STUN_ATTR_UNKNOWN_ATTRIBUTES:
      return len % 2 == 0 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_USERNAME:
      return len <= 513 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    case NL_STUN_ATTR_REALM:
    case NL_STUN_ATTR_NONCE:
    case NL_STUN_ATTR_SOFTWARE:
      return len <= 763 ? NL_STUN_OK : NL_STUN_BAD_ATTR;
    default:
      return NL_STUN_OK;
  }
}

NlStunResult nl_stun_msg_parse(const uint8_t *buf, size_t len, NlStunMsg *msg) {
  g_return_val_if_fail(msg != NULL, NL_STUN_TRUNCATED);
  memset(msg, 0, sizeof *msg);
  msg->integrity = msg->integrity_sha256 = msg->fingerprint = -1;
  msg->buf = buf;
  if (buf == NULL || len < NL_STUN_HEADER_LEN)
    return NL_STUN_TRUNCATED;
  if ((buf[0] & 0xC0) != 0)
    return NL_STUN_NOT_STUN;
  if (rd32(buf + 4) != NL_STUN_MAGIC_COOKIE)
    return NL_STUN_BAD_COOKIE;
  size_t body = rd16(buf + 2);
  if (body % 4 != 0)
    return NL_STUN_BAD_LENGTH;
  if (len > NL_STUN_MAX_MSG_LEN)
    return NL_STUN_TOO_BIG;
  if (NL_STUN_HEADER_LEN + body > len)
    return NL_STUN_TRUNCATED;
  if (NL_STUN_HEADER_LEN + body < len)
    return NL_STUN_BAD_LENGTH;

  msg->len = len;
  msg->type = rd16(buf);
  msg->klass = (NlStunClass)(msg->type & 0x0110);
  msg->method = (uint16_t)((msg->type & 0x000F) | ((msg->type & 0x00E0) >> 1) |
                           ((msg->type & 0x3E00) >> 2));
  memcpy(msg->tid, buf + 8, NL_STUN_TID_LEN);

  size_t off = NL_STUN_HEADER_LEN;
  gboolean ignore_rest = FALSE;
  while (off < len) {
    if (msg->fingerprint >= 0)
      return NL_STUN_FINGERPRINT_NOT_LAST;
    if (len - off < 4)
      return NL_STUN_ATTR_OVERRUN;
    uint16_t type = rd16(buf + off);
    uint16_t alen = rd16(buf + off + 2);
    if ((size_t)alen > len - off - 4)
      return NL_STUN_ATTR_OVERRUN;
    if (pad4(alen) > len - off - 4)
      return NL_STUN_BAD_PADDING;
    const uint8_t *v = buf + off + 4;
    size_t here = off;
    off += 4 + pad4(alen);

    /* RFC 8489 §14.5/§14.6: after MESSAGE-INTEGRITY only -SHA256 and
     * FINGERPRINT count; after -SHA256 only FINGERPRINT.  Others are
     * ignored, as the RFC requires, rather than rejected. */
    if (ignore_rest && type != NL_STUN_ATTR_FINGERPRINT &&
        !(type == NL_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 &&
          msg->integrity_sha256 < 0 && msg->integrity >= 0))
      continue;

    NlStunResult r = check_attr_value(type, v, alen);
    if (r != NL_STUN_OK)
      return r;
    if (msg->n_attrs >= NL_STUN_MAX_ATTRS)
      return NL_STUN_TOO_MANY_ATTRS;
    int idx = (int)msg->n_attrs;
    msg->attrs[msg->n_attrs].type = type;
    msg->attrs[msg->n_attrs].len = alen;
    msg->attrs[msg->n_attrs].off = (uint32_t)(here + 4);
    msg->n_attrs++;

    if (type == NL_STUN_ATTR_MESSAGE_INTEGRITY && msg->integrity < 0) {
      msg->integrity = idx;
      ignore_rest = TRUE;
    } else if (type == NL_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 &&
               msg->integrity_sha256 < 0) {
      msg->integrity_sha256 = idx;
      ignore_rest = TRUE;
    } else if (type == NL_STUN_ATTR_FINGERPRINT) {
      if (off < len)
        return NL_STUN_FINGERPRINT_NOT_LAST;
      /* The CRC covers the message up to this attribute, with the header
       * length as it stands (it already includes FINGERPRINT). */
      if (fingerprint_of(buf, here) != rd32(v))
        return NL_STUN_FINGERPRINT_MISMATCH;
      msg->fingerprint = idx;
    } else if (type < 0x8000 && !nl_stun_attr_is_known(type)) {
      if (msg->n_unknown < NL_STUN_MAX_UNKNOWN)
        msg->unknown[msg->n_unknown++] = type;
    }
  }
  return msg->n_unknown > 0 ? NL_STUN_UNKNOWN_REQUIRED : NL_STUN_OK;
}

gssize nl_stun_msg_frame_len(const uint8_t *buf, size_t avail,
                             gboolean pad_channel_data) {
  g_return_val_if_fail(buf != NULL || avail == 0, -1);
  if (avail < 4)
    return 0;
  uint16_t len = rd16(buf + 2);
  switch (buf[0] & 0xC0) {
    case 0x00:
      if (len % 4 != 0)
        return -1;
      return NL_STUN_HEADER_LEN + (gssize)len;
    case 0x40:
      return 4 + (gssize)(pad_channel_data ? pad4(len) : len);
    default:
      return -1;
  }
}

NlStunResult nl_stun_channel_data_parse(const uint8_t *buf, size_t len,
                                        uint16_t *channel, const uint8_t **data,
                                        size_t *data_len) {
  g_return_val_if_fail(channel && data && data_len, NL_STUN_TRUNCATED);
  *channel = 0;
  *data = NULL;
  *data_len = 0;
  if (buf == NULL || len < 4)
    return NL_STUN_TRUNCATED;
  if ((buf[0] & 0xC0) != 0x40)
    return NL_STUN_NOT_CHANNEL_DATA;
  size_t dlen = rd16(buf + 2);
  if (4 + dlen > len)
    return NL_STUN_TRUNCATED;
  *channel = rd16(buf);
  *data = buf + 4;
  *data_len = dlen;
  return NL_STUN_OK;
}

NlStunResult nl_stun_msg_check_integrity(const NlStunMsg *msg,
                                         const uint8_t *key, size_t key_len) {
  g_return_val_if_fail(msg != NULL && msg->buf != NULL, NL_STUN_NO_INTEGRITY);
  int idx;
  GChecksumType algo;
  if (msg->integrity_sha256 >= 0) {
    idx = msg->integrity_sha256;
    algo = G_CHECKSUM_SHA256;
  } else if (msg->integrity >= 0) {
    idx = msg->integrity;
    algo = G_CHECKSUM_SHA1;
  } else {
    return NL_STUN_NO_INTEGRITY;
  }
  const NlStunAttr *a = &msg->attrs[idx];
  size_t attr_start = a->off - 4;
  /* Hash with the header length pretending the message ends right after
   * this attribute (RFC 8489 §14.5). */
  uint8_t hdr[NL_STUN_HEADER_LEN];
  memcpy(hdr, msg->buf, NL_STUN_HEADER_LEN);
  wr16(hdr + 2, (uint16_t)(attr_start + 4 + a->len - NL_STUN_HEADER_LEN));
  GHmac *h = g_hmac_new(algo, key, key_len);
  g_hmac_update(h, hdr, NL_STUN_HEADER_LEN);
  g_hmac_update(h, msg->buf + NL_STUN_HEADER_LEN,
                attr_start - NL_STUN_HEADER_LEN);
  uint8_t digest[32];
  gsize dlen = sizeof digest;
  g_hmac_get_digest(h, digest, &dlen);
  g_hmac_unref(h);
  /* Constant-time compare, as for any MAC. */
  uint8_t diff = 0;
  for (size_t i = 0; i < a->len; i++)
    diff |= (uint8_t)(digest[i] ^ msg->buf[a->off + i]);
  return diff == 0 ? NL_STUN_OK : NL_STUN_INTEGRITY_MISMATCH;
}

const NlStunAttr *nl_stun_msg_find(const NlStunMsg *msg, uint16_t type) {
  g_return_val_if_fail(msg != NULL, NULL);
  for (unsigned i = 0; i < msg->n_attrs; i++)
    if (msg->attrs[i].type == type)
      return &msg->attrs[i];
  return NULL;
}

const uint8_t *nl_stun_msg_value(const NlStunMsg *msg, const NlStunAttr *a) {
  g_return_val_if_fail(msg != NULL && a != NULL, NULL);
  return msg->buf + a->off;
}

NlStunResult nl_stun_msg_get_addr_at(const NlStunMsg *msg, const NlStunAttr *a,
                                     gboolean xored,
                                     struct sockaddr_storage *out) {
  g_return_val_if_fail(msg != NULL && a != NULL && out != NULL,
                       NL_STUN_NOT_FOUND);
  memset(out, 0, sizeof *out);
  const uint8_t *v = nl_stun_msg_value(msg, a);
  NlStunResult r = check_attr_value(NL_STUN_ATTR_MAPPED_ADDRESS, v, a->len);
  if (r != NL_STUN_OK)
    return r;
  uint8_t b[20];
  memcpy(b, v, a->len);
  if (xored) {
    const uint8_t *key = msg->buf + 4; /* cookie then transaction ID */
    for (size_t i = 2; i < a->len; i++)
      b[i] ^= key[i < 4 ? i - 2 : i - 4];
  }
  if (b[1] == 0x01) {
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    memcpy(&in->sin_port, b + 2, 2);
    memcpy(&in->sin_addr, b + 4, 4);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_port, b + 2, 2);
    memcpy(&in6->sin6_addr, b + 4, 16);
  }
  return NL_STUN_OK;
}

NlStunResult nl_stun_msg_get_addr(const NlStunMsg *msg, uint16_t type,
                                  gboolean xored,
                                  struct sockaddr_storage *out) {
  g_return_val_if_fail(out != NULL, NL_STUN_NOT_FOUND);
  memset(out, 0, sizeof *out);
  const NlStunAttr *a = nl_stun_msg_find(msg, type);
  if (a == NULL)
    return NL_STUN_NOT_FOUND;
  return nl_stun_msg_get_addr_at(msg, a, xored, out);
}

NlStunResult nl_stun_msg_get_u32(const NlStunMsg *msg, uint16_t type,
                                 uint32_t *out) {
  g_return_val_if_fail(out != NULL, NL_STUN_NOT_FOUND);
  *out = 0;
  const NlStunAttr *a = nl_stun_msg_find(msg, type);
  if (a == NULL)
    return NL_STUN_NOT_FOUND;
  if (a->len != 4)
    return NL_STUN_BAD_ATTR;
  *out = rd32(nl_stun_msg_value(msg, a));
  return NL_STUN_OK;
}

NlStunResult nl_stun_msg_get_string(const NlStunMsg *msg, uint16_t type,
                                    const uint8_t **value, size_t *value_len) {
  g_return_val_if_fail(value != NULL && value_len != NULL, NL_STUN_NOT_FOUND);
  *value = NULL;
  *value_len = 0;
  const NlStunAttr *a = nl_stun_msg_find(msg, type);
  if (a == NULL)
    return NL_STUN_NOT_FOUND;
  *value = nl_stun_msg_value(msg, a);
  *value_len = a->len;
  return NL_STUN_OK;
}

NlStunResult nl_stun_msg_get_error(const NlStunMsg *msg, unsigned *code,
                                   const uint8_t **reason, size_t *reason_len) {
  g_return_val_if_fail(code != NULL, NL_STUN_NOT_FOUND);
  *code = 0;
  if (reason)
    *reason = NULL;
  if (reason_len)
    *reason_len = 0;
  const NlStunAttr *a = nl_stun_msg_find(msg, NL_STUN_ATTR_ERROR_CODE);
  if (a == NULL)
    return NL_STUN_NOT_FOUND;
  const uint8_t *v = nl_stun_msg_value(msg, a);
  if (check_attr_value(NL_STUN_ATTR_ERROR_CODE, v, a->len) != NL_STUN_OK)
    return NL_STUN_BAD_ATTR;
  *code = (unsigned)(v[2] & 0x07) * 100 + v[3];
  if (reason)
    *reason = v + 4;
  if (reason_len)
    *reason_len = a->len - 4u;
  return NL_STUN_OK;
}

NlStunResult nl_stun_msg_get_unknown(const NlStunMsg *msg, uint16_t *types,
                                     unsigned max, unsigned *n) {
  g_return_val_if_fail(n != NULL && (types != NULL || max == 0),
                       NL_STUN_NOT_FOUND);
  *n = 0;
  const NlStunAttr *a = nl_stun_msg_find(msg, NL_STUN_ATTR_UNKNOWN_ATTRIBUTES);
  if (a == NULL)
    return NL_STUN_NOT_FOUND;
  if (a->len % 2 != 0)
    return NL_STUN_BAD_ATTR;
  const uint8_t *v = nl_stun_msg_value(msg, a);
  for (unsigned i = 0; i < a->len / 2u && *n < max; i++)
    types[(*n)++] = rd16(v + 2 * i);
  return NL_STUN_OK;
}

NlStunResult nl_stun_msg_get_channel(const NlStunMsg *msg, uint16_t *channel) {
  g_return_val_if_fail(channel != NULL, NL_STUN_NOT_FOUND);
  uint32_t v;
  NlStunResult r = nl_stun_msg_get_u32(msg, NL_STUN_ATTR_CHANNEL_NUMBER, &v);
  *channel = (uint16_t)(v >> 16);
  return r;
}

/* ---- keys ---- */

void nl_stun_long_term_key(const char *username, const char *realm,
                           const char *password, uint8_t key[16]) {
  g_return_if_fail(username && realm && password && key);
  GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
  g_checksum_update(c, (const guchar *)username, (gssize)strlen(username));
  g_checksum_update(c, (const guchar *)":", 1);
  g_checksum_update(c, (const guchar *)realm, (gssize)strlen(realm));
  g_checksum_update(c, (const guchar *)":", 1);
  g_checksum_update(c, (const guchar *)password, (gssize)strlen(password));
  gsize len = 16;
  g_checksum_get_digest(c, key, &len);
  g_checksum_free(c);
}

/* ---- retransmission (RFC 8489 §6.2.1) ---- */

#define NL_STUN_TI_NS (39500 * G_GINT64_CONSTANT(1000000))

void nl_stun_timer_start(NlStunTimer *t, int64_t now_ns, unsigned rto_ms,
                         unsigned rc, unsigned rm, gboolean reliable) {
  g_return_if_fail(t != NULL);
  memset(t, 0, sizeof *t);
  t->rto0_ns = (int64_t)(rto_ms ? rto_ms : NL_STUN_RTO_DEFAULT_MS) * 1000000;
  t->rto_ns = t->rto0_ns;
  t->rc = rc ? rc : NL_STUN_RC_DEFAULT;
  t->rm = rm ? rm : NL_STUN_RM_DEFAULT;
  t->reliable = reliable;
  t->sent = 1;
  if (reliable) {
    /* Reliable transports never retransmit; Ti bounds the wait. */
    t->rc = 1;
    t->deadline_ns = now_ns + NL_STUN_TI_NS;
  } else if (t->sent >= t->rc) {
    t->deadline_ns = now_ns + (int64_t)t->rm * t->rto0_ns;
  } else {
    t->deadline_ns = now_ns + t->rto_ns;
  }
}

NlStunTimerResult nl_stun_timer_refresh(NlStunTimer *t, int64_t now_ns) {
  g_return_val_if_fail(t != NULL, NL_STUN_TIMER_TIMEOUT);
  if (now_ns < t->deadline_ns)
    return NL_STUN_TIMER_WAIT;
  if (t->sent >= t->rc)
    return NL_STUN_TIMER_TIMEOUT;
  /* Deadlines advance from the scheduled time, not from @now_ns, so a late
   * caller does not stretch the schedule: 0, RTO, 3 RTO, 7 RTO, ... */
  t->sent++;
  t->rto_ns *= 2;
  if (t->sent >= t->rc)
    t->deadline_ns += (int64_t)t->rm * t->rto0_ns;
  else
    t->deadline_ns += t->rto_ns;
  return NL_STUN_TIMER_RETRANSMIT;
}

int64_t nl_stun_timer_remaining(const NlStunTimer *t, int64_t now_ns) {
  g_return_val_if_fail(t != NULL, 0);
  return t->deadline_ns > now_ns ? t->deadline_ns - now_ns : 0;
}

/* ---- address helpers ---- */

char *nl_stun_addr_to_string(const struct sockaddr *sa, char *buf, size_t len) {
  g_return_val_if_fail(buf != NULL && len > 0, buf);
  char ip[INET6_ADDRSTRLEN];
  if (sa != NULL && sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
  } else if (sa != NULL && sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
  } else {
    snprintf(buf, len, "?");
  }
  return buf;
}

gboolean nl_stun_addr_parse(const char *str, uint16_t default_port,
                            struct sockaddr_storage *out) {
  g_return_val_if_fail(out != NULL, FALSE);
  memset(out, 0, sizeof *out);
  if (str == NULL)
    return FALSE;
  char host[INET6_ADDRSTRLEN + 2];
  const char *port_str = NULL;
  if (str[0] == '[') {
    const char *end = strchr(str, ']');
    if (end == NULL || (size_t)(end - str - 1) >= sizeof host)
      return FALSE;
    memcpy(host, str + 1, (size_t)(end - str - 1));
    host[end - str - 1] = '\0';
    if (end[1] == ':')
      port_str = end + 2;
    else if (end[1] != '\0')
      return FALSE;
  } else {
    const char *colon = strchr(str, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL)
      colon = NULL; /* a bare IPv6 address */
    size_t n = colon ? (size_t)(colon - str) : strlen(str);
    if (n >= sizeof host)
      return FALSE;
    memcpy(host, str, n);
    host[n] = '\0';
    if (colon)
      port_str = colon + 1;
  }
  unsigned long port = default_port;
  if (port_str != NULL) {
    char *end;
    port = strtoul(port_str, &end, 10);
    if (*port_str == '\0' || *end != '\0' || port > 65535)
      return FALSE;
  } else if (default_port == 0) {
    return FALSE;
  }
  struct sockaddr_in *in = (struct sockaddr_in *)out;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    return TRUE;
  }
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    return TRUE;
  }
  memset(out, 0, sizeof *out);
  return FALSE;
}

gboolean nl_stun_addr_equal_ip(const struct sockaddr *a,
                               const struct sockaddr *b) {
  if (a == NULL || b == NULL || a->sa_family != b->sa_family)
    return FALSE;
  if (a->sa_family == AF_INET)
    return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                  &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
  if (a->sa_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
  return FALSE;
}

gboolean nl_stun_addr_equal(const struct sockaddr *a,
                            const struct sockaddr *b) {
  if (!nl_stun_addr_equal_ip(a, b))
    return FALSE;
  if (a->sa_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_port ==
           ((const struct sockaddr_in *)b)->sin_port;
  return ((const struct sockaddr_in6 *)a)->sin6_port ==
         ((const struct sockaddr_in6 *)b)->sin6_port;
}

socklen_t nl_stun_addr_len(const struct sockaddr *sa) {
  if (sa != NULL && sa->sa_family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return sizeof(struct sockaddr_in);
}
