/* stun-codec.h: a pure STUN/TURN message codec (RFC 8489, 5780, 8656).
 *
 * The codec builds and parses wire bytes in caller buffers.  It does no I/O,
 * keeps no global state and depends on nothing of the simulator, so the lab's
 * STUN and TURN programs build unchanged against the real OS (STYLE rule 7).
 * GLib supplies HMAC-SHA1/SHA256 and MD5, zlib supplies CRC-32.
 *
 * Building: start a message with nl_stun_writer_init(), append attributes,
 * then nl_stun_writer_finish() returns the length (0 if the buffer was too
 * small).  Common messages have one-call nl_stun_<msg>_build() helpers.
 *
 * Parsing: nl_stun_msg_parse() checks the header and walks every attribute
 * (lengths, padding, FINGERPRINT) and returns an NlStunResult; the static
 * string nl_stun_result_to_string() names the reason for a rejection.
 * MESSAGE-INTEGRITY is checked separately once the caller knows the key.
 */
#ifndef NL_STUN_CODEC_H
#define NL_STUN_CODEC_H

#include <glib.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

G_BEGIN_DECLS

#define NL_STUN_HEADER_LEN 20
#define NL_STUN_MAGIC_COOKIE 0x2112A442u
#define NL_STUN_FINGERPRINT_XOR 0x5354554Eu
#define NL_STUN_TID_LEN 12
#define NL_STUN_MAX_ATTRS 40
#define NL_STUN_MAX_UNKNOWN 8
/* Largest message the parser accepts; larger input is rejected, not
 * truncated.  Matches the TCP framing limit of a 16-bit length field. */
#define NL_STUN_MAX_MSG_LEN (NL_STUN_HEADER_LEN + 65532)

/* Methods (RFC 8489 §18.2, RFC 8656 §17). */
#define NL_STUN_BINDING 0x001
#define NL_STUN_ALLOCATE 0x003
#define NL_STUN_REFRESH 0x004
#define NL_STUN_SEND 0x006
#define NL_STUN_DATA 0x007
#define NL_STUN_CREATE_PERMISSION 0x008
#define NL_STUN_CHANNEL_BIND 0x009

typedef enum {
  NL_STUN_REQUEST = 0x0000,
  NL_STUN_INDICATION = 0x0010,
  NL_STUN_SUCCESS = 0x0100,
  NL_STUN_ERROR = 0x0110,
} NlStunClass;

/* Attribute types: X(name, value, "wire name").  One list feeds the
 * constants, the name table and the set of types the parser understands. */
#define NL_STUN_ATTR_MAP(X)                                                    \
  X(MAPPED_ADDRESS, 0x0001, "MAPPED-ADDRESS")                                  \
  X(RESPONSE_ADDRESS, 0x0002, "RESPONSE-ADDRESS")                              \
  X(CHANGE_REQUEST, 0x0003, "CHANGE-REQUEST")                                  \
  X(SOURCE_ADDRESS, 0x0004, "SOURCE-ADDRESS")                                  \
  X(CHANGED_ADDRESS, 0x0005, "CHANGED-ADDRESS")                                \
  X(USERNAME, 0x0006, "USERNAME")                                              \
  X(MESSAGE_INTEGRITY, 0x0008, "MESSAGE-INTEGRITY")                            \
  X(ERROR_CODE, 0x0009, "ERROR-CODE")                                          \
  X(UNKNOWN_ATTRIBUTES, 0x000A, "UNKNOWN-ATTRIBUTES")                          \
  X(CHANNEL_NUMBER, 0x000C, "CHANNEL-NUMBER")                                  \
  X(LIFETIME, 0x000D, "LIFETIME")                                              \
  X(XOR_PEER_ADDRESS, 0x0012, "XOR-PEER-ADDRESS")                              \
  X(DATA, 0x0013, "DATA")                                                      \
  X(REALM, 0x0014, "REALM")                                                    \
  X(NONCE, 0x0015, "NONCE")                                                    \
  X(XOR_RELAYED_ADDRESS, 0x0016, "XOR-RELAYED-ADDRESS")                        \
  X(REQUESTED_ADDRESS_FAMILY, 0x0017, "REQUESTED-ADDRESS-FAMILY")              \
  X(EVEN_PORT, 0x0018, "EVEN-PORT")                                            \
  X(REQUESTED_TRANSPORT, 0x0019, "REQUESTED-TRANSPORT")                        \
  X(DONT_FRAGMENT, 0x001A, "DONT-FRAGMENT")                                    \
  X(MESSAGE_INTEGRITY_SHA256, 0x001C, "MESSAGE-INTEGRITY-SHA256")              \
  X(XOR_MAPPED_ADDRESS, 0x0020, "XOR-MAPPED-ADDRESS")                          \
  X(RESERVATION_TOKEN, 0x0022, "RESERVATION-TOKEN")                            \
  X(PRIORITY, 0x0024, "PRIORITY")                                              \
  X(USE_CANDIDATE, 0x0025, "USE-CANDIDATE")                                    \
  X(PADDING, 0x0026, "PADDING")                                                \
  X(RESPONSE_PORT, 0x0027, "RESPONSE-PORT")                                    \
  X(SOFTWARE, 0x8022, "SOFTWARE")                                              \
  X(ALTERNATE_SERVER, 0x8023, "ALTERNATE-SERVER")                              \
  X(FINGERPRINT, 0x8028, "FINGERPRINT")                                        \
  X(ICE_CONTROLLED, 0x8029, "ICE-CONTROLLED")                                  \
  X(ICE_CONTROLLING, 0x802A, "ICE-CONTROLLING")                                \
  X(RESPONSE_ORIGIN, 0x802B, "RESPONSE-ORIGIN")                                \
  X(OTHER_ADDRESS, 0x802C, "OTHER-ADDRESS")

typedef enum {
#define NL_STUN_ATTR_ENUM(name, value, str) NL_STUN_ATTR_##name = value,
  NL_STUN_ATTR_MAP(NL_STUN_ATTR_ENUM)
#undef NL_STUN_ATTR_ENUM
} NlStunAttrType;

/* Parser and builder outcomes: X(name, "reason"). */
#define NL_STUN_RESULT_MAP(X)                                                  \
  X(OK, "ok")                                                                  \
  X(TRUNCATED, "message shorter than its header or length field")              \
  X(NOT_STUN, "first two bits are not zero")                                   \
  X(BAD_COOKIE, "magic cookie is not 0x2112A442")                              \
  X(BAD_LENGTH, "length field is not a multiple of 4 or disagrees with input") \
  X(TOO_BIG, "message longer than the parser accepts")                         \
  X(ATTR_OVERRUN, "attribute header or value runs past the message end")       \
  X(BAD_PADDING, "attribute padding runs past the message end")                \
  X(TOO_MANY_ATTRS, "more attributes than the parser keeps")                   \
  X(BAD_ATTR, "attribute value has the wrong size or content")                 \
  X(BAD_FAMILY, "address family is neither IPv4 nor IPv6")                     \
  X(FINGERPRINT_NOT_LAST, "FINGERPRINT is not the last attribute")             \
  X(FINGERPRINT_MISMATCH, "FINGERPRINT does not match the message")            \
  X(UNKNOWN_REQUIRED, "unknown comprehension-required attribute")              \
  X(NO_INTEGRITY, "no MESSAGE-INTEGRITY attribute")                            \
  X(INTEGRITY_MISMATCH, "MESSAGE-INTEGRITY does not match the key")            \
  X(NOT_FOUND, "attribute not present")                                        \
  X(NO_SPACE, "buffer too small")                                              \
  X(NOT_CHANNEL_DATA, "channel number outside 0x4000-0x7FFF")

typedef enum {
#define NL_STUN_RESULT_ENUM(name, str) NL_STUN_##name,
  NL_STUN_RESULT_MAP(NL_STUN_RESULT_ENUM)
#undef NL_STUN_RESULT_ENUM
} NlStunResult;

/* One attribute of a parsed message: its type, and where its value sits in
 * the parsed buffer. */
typedef struct {
  uint16_t type;
  uint16_t len;
  uint32_t off; /* offset of the value from the start of the message */
} NlStunAttr;

/* A parsed message.  It points into the caller's buffer, which must outlive
 * it; it owns no memory. */
typedef struct {
  const uint8_t *buf;
  size_t len; /* header + body, the bytes the message occupies */
  uint16_t type;
  uint16_t method;
  NlStunClass klass;
  uint8_t tid[NL_STUN_TID_LEN];
  unsigned n_attrs;
  NlStunAttr attrs[NL_STUN_MAX_ATTRS];
  int integrity;        /* index into attrs of MESSAGE-INTEGRITY, or -1 */
  int integrity_sha256; /* index of MESSAGE-INTEGRITY-SHA256, or -1 */
  int fingerprint;      /* index of FINGERPRINT, or -1 */
  unsigned n_unknown;   /* comprehension-required types not understood */
  uint16_t unknown[NL_STUN_MAX_UNKNOWN];
} NlStunMsg;

/* A message under construction in a caller buffer.  A failed append sets
 * @overflow and leaves the message as it was; finish() then returns 0. */
typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t len;
  uint8_t pad_byte; /* value of padding bytes; 0 unless a test wants 0x20 */
  gboolean overflow;
} NlStunWriter;

/* Client transaction retransmission (RFC 8489 §6.2.1). */
typedef enum {
  NL_STUN_TIMER_WAIT,       /* nothing to do until the deadline */
  NL_STUN_TIMER_RETRANSMIT, /* send the request again now */
  NL_STUN_TIMER_TIMEOUT,    /* the transaction failed */
} NlStunTimerResult;

typedef struct {
  int64_t rto_ns;      /* current retransmission timeout */
  int64_t deadline_ns; /* when refresh() next has something to say */
  unsigned sent;       /* transmissions so far, the first included */
  unsigned rc;         /* Rc: transmissions in all */
  unsigned rm;         /* Rm: final wait, in multiples of the initial RTO */
  int64_t rto0_ns;
  gboolean reliable; /* TCP: one transmission, then Ti = 39.5 s */
} NlStunTimer;

#define NL_STUN_RTO_DEFAULT_MS 500
#define NL_STUN_RC_DEFAULT 7
#define NL_STUN_RM_DEFAULT 16

/* ---- results and names ---- */

/**
 * nl_stun_result_to_string:
 * Returns: a static string naming @r (the rejection reason).
 */
const char *nl_stun_result_to_string(NlStunResult r);

/**
 * nl_stun_attr_name:
 * Returns: the wire name of attribute @type, or "UNKNOWN".
 */
const char *nl_stun_attr_name(uint16_t type);

/**
 * nl_stun_attr_is_known:
 * Returns: TRUE if the parser understands attribute @type.
 */
gboolean nl_stun_attr_is_known(uint16_t type);

/* ---- building ---- */

/**
 * nl_stun_writer_init:
 * @w: OUT: the writer.
 * @buf, @cap: the caller's buffer.
 * @method, @klass: the message type.
 * @tid: the 12-byte transaction ID.
 * Starts a message; overflow is set if @cap is below the header size.
 */
void nl_stun_writer_init(NlStunWriter *w, uint8_t *buf, size_t cap,
                         uint16_t method, NlStunClass klass,
                         const uint8_t tid[NL_STUN_TID_LEN]);

/** Appends attribute @type with @len bytes of @value, then padding. */
void nl_stun_writer_add(NlStunWriter *w, uint16_t type, const void *value,
                        size_t len);
/** Appends a 4-byte attribute holding @v in network order. */
void nl_stun_writer_add_u32(NlStunWriter *w, uint16_t type, uint32_t v);
/** Appends an 8-byte attribute holding @v in network order. */
void nl_stun_writer_add_u64(NlStunWriter *w, uint16_t type, uint64_t v);
/** Appends a plain address attribute (MAPPED-ADDRESS, OTHER-ADDRESS, ...). */
void nl_stun_writer_add_addr(NlStunWriter *w, uint16_t type,
                             const struct sockaddr *sa);
/** Appends an XOR-ed address attribute (XOR-MAPPED-ADDRESS, ...). */
void nl_stun_writer_add_xor_addr(NlStunWriter *w, uint16_t type,
                                 const struct sockaddr *sa);
/** Appends ERROR-CODE with @code (300..699) and a reason phrase. */
void nl_stun_writer_add_error(NlStunWriter *w, unsigned code,
                              const char *reason);
/** Appends UNKNOWN-ATTRIBUTES listing @n types. */
void nl_stun_writer_add_unknown(NlStunWriter *w, const uint16_t *types,
                                unsigned n);
/** Appends CHANNEL-NUMBER (@channel, then 2 bytes RFFU). */
void nl_stun_writer_add_channel(NlStunWriter *w, uint16_t channel);
/** Appends MESSAGE-INTEGRITY: HMAC-SHA1 keyed by @key over the message. */
void nl_stun_writer_add_integrity(NlStunWriter *w, const uint8_t *key,
                                  size_t key_len);
/** Appends MESSAGE-INTEGRITY-SHA256 (32 bytes, HMAC-SHA256). */
void nl_stun_writer_add_integrity_sha256(NlStunWriter *w, const uint8_t *key,
                                         size_t key_len);
/** Appends FINGERPRINT; must be the last attribute. */
void nl_stun_writer_add_fingerprint(NlStunWriter *w);

/**
 * nl_stun_writer_finish:
 * Returns: the message length, or 0 if any append did not fit.
 */
size_t nl_stun_writer_finish(const NlStunWriter *w) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_stun_binding_request_build:
 * Builds a Binding request with FINGERPRINT; @change_flags, if not 0, adds
 * CHANGE-REQUEST (0x4 change IP, 0x2 change port, RFC 5780 §7.2).
 * Returns: the length, or 0 if @len is too small.
 */
size_t nl_stun_binding_request_build(const uint8_t tid[NL_STUN_TID_LEN],
                                     uint32_t change_flags, uint8_t *buf,
                                     size_t len);

/**
 * nl_stun_binding_response_build:
 * Builds a Binding success response with XOR-MAPPED-ADDRESS @mapped and
 * FINGERPRINT.
 * Returns: the length, or 0 if @len is too small.
 */
size_t nl_stun_binding_response_build(const uint8_t tid[NL_STUN_TID_LEN],
                                      const struct sockaddr *mapped,
                                      uint8_t *buf, size_t len);

/**
 * nl_stun_error_response_build:
 * Builds an error response for @method with ERROR-CODE and FINGERPRINT.
 * Returns: the length, or 0 if @len is too small.
 */
size_t nl_stun_error_response_build(uint16_t method,
                                    const uint8_t tid[NL_STUN_TID_LEN],
                                    unsigned code, const char *reason,
                                    uint8_t *buf, size_t len);

/**
 * nl_stun_channel_data_build:
 * Frames @data_len bytes as ChannelData for @channel (RFC 8656 §12.4).
 * With @pad (stream transports) the frame is padded to a multiple of 4.
 * Returns: the frame length, or 0 if it does not fit or @channel is not in
 * 0x4000..0x7FFF.
 */
size_t nl_stun_channel_data_build(uint16_t channel, const uint8_t *data,
                                  size_t data_len, gboolean pad, uint8_t *buf,
                                  size_t len);

/* ---- parsing ---- */

/**
 * nl_stun_msg_parse:
 * @buf, @len: input; @len must be exactly the message (datagram) length.
 * @msg: OUT: the parsed message, filled as far as parsing got.
 * Checks header, cookie, length, every attribute's bounds and padding,
 * attribute order around MESSAGE-INTEGRITY and FINGERPRINT, and the
 * FINGERPRINT value.  Unknown comprehension-required attributes give
 * NL_STUN_UNKNOWN_REQUIRED with @msg otherwise complete and their types in
 * msg->unknown, so a server can answer 420.
 * Returns: NL_STUN_OK or the reason for rejecting the input.
 */
NlStunResult nl_stun_msg_parse(const uint8_t *buf, size_t len,
                               NlStunMsg *msg) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_stun_msg_frame_len:
 * For stream transports: how many bytes the frame starting at @buf takes,
 * STUN message (20 + length) or ChannelData (4 + length, padded to 4 when
 * @pad_channel_data).
 * Returns: the frame length, 0 if fewer than 4 bytes are available, or -1
 * if the bytes start neither a STUN message nor ChannelData.
 */
gssize nl_stun_msg_frame_len(const uint8_t *buf, size_t avail,
                             gboolean pad_channel_data);

/**
 * nl_stun_channel_data_parse:
 * @channel, @data, @data_len: OUT: the channel and payload.
 * Accepts @len at least 4 + the length field (trailing padding allowed).
 * Returns: NL_STUN_OK, NL_STUN_TRUNCATED or NL_STUN_NOT_CHANNEL_DATA.
 */
NlStunResult nl_stun_channel_data_parse(const uint8_t *buf, size_t len,
                                        uint16_t *channel, const uint8_t **data,
                                        size_t *data_len);

/**
 * nl_stun_msg_check_integrity:
 * Verifies MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY.
 * Returns: NL_STUN_OK, NL_STUN_NO_INTEGRITY or NL_STUN_INTEGRITY_MISMATCH.
 */
NlStunResult
nl_stun_msg_check_integrity(const NlStunMsg *msg, const uint8_t *key,
                            size_t key_len) G_GNUC_WARN_UNUSED_RESULT;

/** Returns: the first attribute of @type, or NULL. */
const NlStunAttr *nl_stun_msg_find(const NlStunMsg *msg, uint16_t type);

/** Returns: a pointer to the value of @attr inside the parsed buffer. */
const uint8_t *nl_stun_msg_value(const NlStunMsg *msg, const NlStunAttr *attr);

/**
 * nl_stun_msg_get_addr:
 * @xored: TRUE for the XOR-* attributes.
 * @out: OUT: the address (sin_family AF_INET or AF_INET6); zeroed on error.
 * Returns: NL_STUN_OK, NL_STUN_NOT_FOUND, NL_STUN_BAD_ATTR or
 * NL_STUN_BAD_FAMILY.
 */
NlStunResult nl_stun_msg_get_addr(const NlStunMsg *msg, uint16_t type,
                                  gboolean xored, struct sockaddr_storage *out);

/**
 * nl_stun_msg_get_addr_at:
 * Like nl_stun_msg_get_addr() for one given attribute of @msg (for types
 * that may repeat, such as XOR-PEER-ADDRESS in CreatePermission).
 */
NlStunResult nl_stun_msg_get_addr_at(const NlStunMsg *msg,
                                     const NlStunAttr *attr, gboolean xored,
                                     struct sockaddr_storage *out);

/** @out: OUT.  Returns: NL_STUN_OK, NOT_FOUND or BAD_ATTR (size != 4). */
NlStunResult nl_stun_msg_get_u32(const NlStunMsg *msg, uint16_t type,
                                 uint32_t *out);

/**
 * nl_stun_msg_get_string:
 * @value, @value_len: OUT: the bytes of the attribute (not NUL-terminated).
 * Returns: NL_STUN_OK or NL_STUN_NOT_FOUND.
 */
NlStunResult nl_stun_msg_get_string(const NlStunMsg *msg, uint16_t type,
                                    const uint8_t **value, size_t *value_len);

/**
 * nl_stun_msg_get_error:
 * @code: OUT: 300..699.  @reason, @reason_len: OUT: the phrase (may be NULL).
 * Returns: NL_STUN_OK, NL_STUN_NOT_FOUND or NL_STUN_BAD_ATTR.
 */
NlStunResult nl_stun_msg_get_error(const NlStunMsg *msg, unsigned *code,
                                   const uint8_t **reason, size_t *reason_len);

/**
 * nl_stun_msg_get_unknown:
 * @types: OUT: up to @max types from UNKNOWN-ATTRIBUTES.  @n: OUT: count.
 * Returns: NL_STUN_OK, NL_STUN_NOT_FOUND or NL_STUN_BAD_ATTR.
 */
NlStunResult nl_stun_msg_get_unknown(const NlStunMsg *msg, uint16_t *types,
                                     unsigned max, unsigned *n);

/** @channel: OUT.  Returns: NL_STUN_OK, NOT_FOUND or BAD_ATTR. */
NlStunResult nl_stun_msg_get_channel(const NlStunMsg *msg, uint16_t *channel);

/* ---- keys ---- */

/**
 * nl_stun_long_term_key:
 * @key: OUT: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2).
 * The strings are used as given (the caller applies OpaqueString if needed).
 */
void nl_stun_long_term_key(const char *username, const char *realm,
                           const char *password, uint8_t key[16]);

/* ---- retransmission ---- */

/**
 * nl_stun_timer_start:
 * Call right after the first transmission at @now_ns.  @rto_ms 0 means
 * 500 ms, @rc 0 means 7, @rm 0 means 16.  With @reliable (TCP) there are no
 * retransmissions and the transaction times out after 39.5 s.
 */
void nl_stun_timer_start(NlStunTimer *t, int64_t now_ns, unsigned rto_ms,
                         unsigned rc, unsigned rm, gboolean reliable);

/**
 * nl_stun_timer_refresh:
 * Returns: RETRANSMIT when the caller must send again now (the timer then
 * moves to the next deadline), TIMEOUT when the transaction failed, WAIT
 * otherwise.
 */
NlStunTimerResult nl_stun_timer_refresh(NlStunTimer *t, int64_t now_ns);

/** Returns: nanoseconds until the next deadline (0 if it has passed). */
int64_t nl_stun_timer_remaining(const NlStunTimer *t, int64_t now_ns);

/* ---- address helpers (pure, no I/O) ---- */

/**
 * nl_stun_addr_to_string:
 * Writes "IP:PORT" (IPv6 as "[IP]:PORT") into @buf.
 * Returns: @buf.
 */
char *nl_stun_addr_to_string(const struct sockaddr *sa, char *buf, size_t len);

/**
 * nl_stun_addr_parse:
 * Parses "IP:PORT", "[IPv6]:PORT" or, with @default_port, a bare IP.
 * @out: OUT.  Returns: TRUE on success.
 */
gboolean nl_stun_addr_parse(const char *str, uint16_t default_port,
                            struct sockaddr_storage *out);

/** Returns: TRUE if @a and @b hold the same family, address and port. */
gboolean nl_stun_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/** Returns: TRUE if @a and @b hold the same family and address. */
gboolean nl_stun_addr_equal_ip(const struct sockaddr *a,
                               const struct sockaddr *b);

/** Returns: the socklen for @sa's family. */
socklen_t nl_stun_addr_len(const struct sockaddr *sa);

G_END_DECLS

#endif /* NL_STUN_CODEC_H */
