/* ice-agent.h: a small ICE agent (RFC 8445) with consent freshness
 * (RFC 7675), for one data stream with one component (what WebRTC uses
 * with BUNDLE and rtcp-mux), over UDP.
 *
 * The agent does no I/O and reads no clock: the caller owns the sockets
 * and the time.  It hands the agent each datagram that arrives on one of
 * its sockets (nl_ice_agent_receive), calls nl_ice_agent_tick() when
 * nl_ice_agent_next_deadline() says so, and the agent answers through two
 * callbacks: @send puts a datagram on a socket, @event reports what
 * happened (a local candidate, the selected pair, data, a dead path).  So
 * the same agent runs in a real program with poll(), inside natlab in
 * virtual time, and in a unit test wired to an in-memory network.
 *
 * What it does, by the RFC's sections:
 *   gathering (§5.1): a host candidate per socket, a server-reflexive one
 *     from a STUN server, a relayed one (and its server-reflexive address)
 *     from a TURN server (RFC 8656: Allocate with long-term credentials,
 *     CreatePermission, ChannelBind, Refresh, Send/Data indications and
 *     ChannelData), redundant candidates removed (§5.1.3);
 *   priorities (§5.1.2): (2^24)type + (2^8)local + (256 - component);
 *   pairs (§6.1.2): pair priority 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D),
 *     server-reflexive local candidates replaced by their base, redundant
 *     pairs pruned, at most NL_ICE_MAX_PAIRS kept, foundations frozen and
 *     unfrozen (§6.1.2.6);
 *   checks (§7.2): one every Ta (50 ms), triggered checks first, STUN
 *     short-term credentials (USERNAME "RUFRAG:LUFRAG", MESSAGE-INTEGRITY
 *     with HMAC-SHA1 keyed by the peer's password, FINGERPRINT, PRIORITY,
 *     ICE-CONTROLLING/ICE-CONTROLLED with the tie-breaker), RTO =
 *     MAX(500 ms, Ta * (waiting + in progress)) (§14.3), symmetric
 *     addresses required, peer-reflexive candidates learnt both ways
 *     (§7.2.5.3.1, §7.3.1.3), role conflicts repaired (§7.3.1.1, 487);
 *   nomination (§8.1.1): regular nomination by the controlling agent with
 *     USE-CANDIDATE, after a short wait per candidate type when better
 *     pairs are still being checked (host 0, server-reflexive 0.5 s,
 *     peer-reflexive 1 s, relayed 2 s, as pion does);
 *   after selection: consent freshness (RFC 7675) -- a check on the
 *     selected pair every 4-6 s; consent expires 30 s after the last
 *     answer, which is when the path is declared dead, so a NAT reboot or
 *     a link that goes down is found within 30 s -- and keepalives (§11,
 *     a Binding indication when nothing was sent for 15 s).
 *
 * Not done: several components or streams, ICE restarts, trickle ICE,
 * aggressive nomination, IPv6 candidate policies, TCP candidates.
 *
 * Memory: the agent allocates with malloc() and keeps no globals, so a
 * program using it can run many times in one process (natlab).
 */
#ifndef NL_ICE_AGENT_H
#define NL_ICE_AGENT_H

#include <glib.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

G_BEGIN_DECLS

#define NL_ICE_MAX_LOCAL 16
#define NL_ICE_MAX_REMOTE 32
#define NL_ICE_MAX_PAIRS 100 /* RFC 8445 §6.1.2.5: a limit of 100 */
#define NL_ICE_MAX_SOCKETS 4
#define NL_ICE_FOUNDATION_LEN 32
#define NL_ICE_UFRAG_LEN 8  /* 48 random bits; at least 24 (§5.3) */
#define NL_ICE_PWD_LEN 24   /* 144 random bits; at least 128 (§5.3) */
#define NL_ICE_TA_MS 50     /* §14.2 */

/* X(ENUM, "name", type preference (§5.1.2.2 recommended values)) */
#define NL_ICE_CAND_TYPE_MAP(X)                                                \
  X(HOST, "host", 126)                                                         \
  X(PRFLX, "prflx", 110)                                                       \
  X(SRFLX, "srflx", 100)                                                       \
  X(RELAY, "relay", 0)

typedef enum {
#define NL_X(e, s, p) NL_ICE_CAND_##e,
  NL_ICE_CAND_TYPE_MAP(NL_X)
#undef NL_X
  NL_ICE_CAND_N_TYPES
} NlIceCandType;

/* X(ENUM, "name"): the agent's state as the program sees it (the
 * RTCIceConnectionState names). */
#define NL_ICE_STATE_MAP(X)                                                    \
  X(NEW, "new")                                                                \
  X(GATHERING, "gathering")                                                    \
  X(CHECKING, "checking")                                                      \
  X(CONNECTED, "connected")                                                    \
  X(FAILED, "failed")

typedef enum {
#define NL_X(e, s) NL_ICE_STATE_##e,
  NL_ICE_STATE_MAP(NL_X)
#undef NL_X
} NlIceState;

typedef enum {
  NL_ICE_ROLE_CONTROLLED,
  NL_ICE_ROLE_CONTROLLING,
} NlIceRole;

/* Which candidate types the agent gathers and offers: a bit (1 << type)
 * each.  WebRTC's iceTransportPolicy "relay" is (1 << NL_ICE_CAND_RELAY). */
#define NL_ICE_TYPES_ALL                                                       \
  ((1u << NL_ICE_CAND_HOST) | (1u << NL_ICE_CAND_SRFLX) |                      \
   (1u << NL_ICE_CAND_RELAY))

/* One candidate (§5.1).  For a local candidate @base is the index of the
 * socket it sends from; @related is the related address of the SDP line
 * (the base of a server-reflexive or peer-reflexive candidate, the mapped
 * address of a relayed one), family 0 when there is none. */
typedef struct {
  NlIceCandType type;
  uint32_t priority;
  unsigned component;
  char foundation[NL_ICE_FOUNDATION_LEN + 1];
  struct sockaddr_storage addr;
  struct sockaddr_storage related;
  int socket; /* local candidates: index of the socket (nl_ice_agent_add_socket) */
} NlIceCandidate;

/* A candidate pair as reported to the program. */
typedef struct {
  NlIceCandidate local, remote;
  uint64_t priority;
  gboolean relayed; /* either candidate is a relayed one */
} NlIcePair;

/* X(ENUM, "name") */
#define NL_ICE_EVENT_MAP(X)                                                    \
  X(CANDIDATE, "candidate")         /* a local candidate to signal */          \
  X(GATHERING_DONE, "gathering-done")                                          \
  X(STATE, "state")                 /* the agent's state changed */            \
  X(ROLE, "role")                   /* a role conflict changed our role */     \
  X(SELECTED, "selected")           /* a pair was nominated and selected */    \
  X(DATA, "data")                   /* application data arrived */             \
  X(PATH_FAILED, "path-failed")     /* consent for the selected pair expired */ \
  X(LOG, "log")                     /* a line for a verbose program */

typedef enum {
#define NL_X(e, s) NL_ICE_EVENT_##e,
  NL_ICE_EVENT_MAP(NL_X)
#undef NL_X
} NlIceEventKind;

/* An event.  Pointers inside are valid only during the callback. */
typedef struct {
  NlIceEventKind kind;
  NlIceState state;                /* STATE: the new state */
  NlIceRole role;                  /* ROLE: the new role */
  const NlIceCandidate *candidate; /* CANDIDATE */
  const NlIcePair *pair;           /* SELECTED, PATH_FAILED */
  const uint8_t *data;             /* DATA */
  size_t len;                      /* DATA */
  const struct sockaddr *from;     /* DATA: the remote address */
  const char *text;                /* LOG, and FAILED's reason in STATE */
} NlIceEvent;

/* The agent's outputs.  @send puts @len bytes on socket @socket (an index
 * given by nl_ice_agent_add_socket) towards @to; a failure is the
 * network's business (the agent's timers recover or give up). */
typedef struct {
  void (*send)(void *user, int socket, const struct sockaddr *to,
               const uint8_t *buf, size_t len);
  void (*event)(void *user, const NlIceEvent *ev);
  void *user;
} NlIceCallbacks;

/* Configuration; zero means the default named in each comment. */
typedef struct {
  NlIceRole role;
  uint64_t seed;     /* randomness: ufrag, password, tie-breaker, ids */
  unsigned types;    /* candidate types to use; 0: NL_ICE_TYPES_ALL */
  struct sockaddr_storage stun; /* STUN server; family 0: none */
  struct sockaddr_storage turn; /* TURN server; family 0: none */
  const char *turn_user, *turn_password; /* long-term credentials */
  unsigned ta_ms;            /* pacing of checks: 50 */
  unsigned check_rto_ms;     /* minimum check RTO: 500 (§14.3) */
  unsigned check_rc;         /* transmissions of a check: 7 (RFC 8489) */
  unsigned gather_timeout_ms;/* give up on a STUN/TURN server: 5000 */
  unsigned consent_ms;       /* consent check period: 5000; disabled if
                              * consent_off */
  unsigned consent_expiry_ms;/* RFC 7675: 30000 */
  unsigned keepalive_ms;     /* §11 Tr: 15000 */
  gboolean consent_off;      /* no consent checks (keepalives only) */
  /* Wait before nominating a pair of a type while better pairs are still
   * being checked, per type of its worse candidate: host, prflx, srflx,
   * relay; all zero: 0, 1000, 500, 2000 ms. */
  unsigned accept_wait_ms[NL_ICE_CAND_N_TYPES];
} NlIceConfig;

typedef struct NlIceAgent NlIceAgent;

/* ---- names ---- */

const char *nl_ice_cand_type_name(NlIceCandType t);
/** Returns: the type named @name, or -1. */
int nl_ice_cand_type_from_name(const char *name);
const char *nl_ice_state_name(NlIceState s);
const char *nl_ice_event_name(NlIceEventKind k);

/* ---- pure helpers (§5.1.2, §6.1.2.3) ---- */

/** The candidate priority formula (§5.1.2.1). */
uint32_t nl_ice_priority(NlIceCandType type, uint16_t local_pref,
                         unsigned component);
/** The pair priority formula (§6.1.2.3): @g of the controlling agent's
 * candidate, @d of the controlled agent's. */
uint64_t nl_ice_pair_priority(uint32_t g, uint32_t d);

/**
 * nl_ice_candidate_to_sdp: writes @c as an SDP candidate attribute value
 * (RFC 8839 §5.1, without "a="):
 *   candidate:FOUNDATION 1 udp PRIORITY IP PORT typ TYPE [raddr IP rport P]
 * Returns: @buf.
 */
char *nl_ice_candidate_to_sdp(const NlIceCandidate *c, char *buf, size_t len);
/**
 * nl_ice_candidate_from_sdp: parses what nl_ice_candidate_to_sdp writes
 * (a leading "a=" is accepted; unknown extension pairs are ignored).
 * @out: OUT.  Returns: FALSE on malformed input (then @out is zeroed).
 */
gboolean nl_ice_candidate_from_sdp(const char *line, NlIceCandidate *out);

/* ---- the agent ---- */

/** (transfer full) A new agent, in state NEW.  @cfg is copied (strings
 * too). */
NlIceAgent *nl_ice_agent_new(const NlIceConfig *cfg, const NlIceCallbacks *cb);
/** Releases the agent's TURN allocations (a Refresh with LIFETIME 0,
 * RFC 8656 §8, sent once without waiting for the answer).  Nothing is
 * sent after it; free the agent next. */
void nl_ice_agent_close(NlIceAgent *a, int64_t now_ns);
void nl_ice_agent_free(NlIceAgent *a);

/**
 * nl_ice_agent_add_socket: a UDP socket bound to @local (a host address,
 * not INADDR_ANY), before nl_ice_agent_gather().
 * Returns: its index (what @send gets), or -1 when full.
 */
int nl_ice_agent_add_socket(NlIceAgent *a, const struct sockaddr *local);

/** The local credentials (NUL-terminated, owned by the agent). */
const char *nl_ice_agent_ufrag(const NlIceAgent *a);
const char *nl_ice_agent_pwd(const NlIceAgent *a);
NlIceRole nl_ice_agent_role(const NlIceAgent *a);
NlIceState nl_ice_agent_state(const NlIceAgent *a);

/** Sets the role (the offerer of a session is controlling, §6.1.1);
 * ignored once checks have started (then only role conflicts change it). */
void nl_ice_agent_set_role(NlIceAgent *a, NlIceRole role);

/** Starts gathering: host candidates at once, then STUN and TURN. */
void nl_ice_agent_gather(NlIceAgent *a, int64_t now_ns);

/** The peer's credentials, from signaling. */
void nl_ice_agent_set_remote_credentials(NlIceAgent *a, const char *ufrag,
                                         const char *pwd);
/**
 * nl_ice_agent_add_remote_candidate: a candidate from signaling.  Checks
 * start once the peer's credentials are known and local gathering is done.
 * Returns: FALSE when it is refused (not UDP, component not 1, duplicate,
 * no room).
 */
gboolean nl_ice_agent_add_remote_candidate(NlIceAgent *a,
                                           const NlIceCandidate *c,
                                           int64_t now_ns);
/** The peer sent all its candidates (end-of-candidates): the agent may now
 * declare failure when every pair has failed. */
void nl_ice_agent_remote_done(NlIceAgent *a, int64_t now_ns);

/**
 * nl_ice_agent_receive: a datagram that arrived on socket @socket from
 * @from.  STUN, TURN and application data are told apart here.
 * Returns: TRUE when the datagram was the agent's (STUN, TURN or data on a
 * known path), FALSE when it was none of those (the caller may drop it).
 */
gboolean nl_ice_agent_receive(NlIceAgent *a, int socket,
                              const struct sockaddr *from, const uint8_t *buf,
                              size_t len, int64_t now_ns);

/** Absolute time (ns) when nl_ice_agent_tick() must next run; INT64_MAX
 * when nothing is scheduled. */
int64_t nl_ice_agent_next_deadline(const NlIceAgent *a);
/** Runs timers due at @now_ns (checks, retransmissions, consent...). */
void nl_ice_agent_tick(NlIceAgent *a, int64_t now_ns);

/**
 * nl_ice_agent_send: sends application data on the selected pair.
 * Returns: 0, -ENOTCONN before a pair is selected or after consent
 * expired (RFC 7675 §5.1: stop sending), -EMSGSIZE when too large.
 */
int nl_ice_agent_send(NlIceAgent *a, const uint8_t *data, size_t len,
                      int64_t now_ns);

/** (nullable) The selected pair, or NULL. */
const NlIcePair *nl_ice_agent_selected(const NlIceAgent *a);

/* Counters for reports and tests. */
typedef struct {
  unsigned checks_sent;      /* check transmissions, retransmissions too */
  unsigned checks_received;  /* valid check requests answered */
  unsigned pairs;            /* pairs in the check list */
  unsigned pairs_succeeded;  /* pairs whose check succeeded */
  unsigned pairs_failed;
  unsigned consent_sent;     /* consent checks sent */
  unsigned keepalives_sent;
  unsigned role_conflicts;
  unsigned turn_requests;
  int64_t checks_started_ns; /* -1 before */
  int64_t selected_ns;       /* -1 before */
  int64_t last_consent_ns;   /* last consent (or check) answer, -1 none */
} NlIceStats;

void nl_ice_agent_stats(const NlIceAgent *a, NlIceStats *out);

/**
 * nl_ice_agent_valid_pairs: the valid list (§7.2.5.3.2): up to @max pairs
 * whose checks succeeded, highest priority first.
 * Returns: how many were written.
 */
unsigned nl_ice_agent_valid_pairs(const NlIceAgent *a, NlIcePair *out,
                                  unsigned max);

G_END_DECLS

#endif /* NL_ICE_AGENT_H */
