/* NAT behaviour as data (DESIGN layer 3, STYLE rule 6).
 *
 * An NlNatBehaviour says everything a NAT device does that RFC 4787 (UDP),
 * RFC 5382 (TCP) and RFC 5508 (ICMP) leave to the implementer.  The classic
 * NAT types are presets in a static registry; a scenario copies one and
 * overrides fields by name:
 *
 *   NlNatBehaviour b = *nl_nat_behaviour_find("symmetric");
 *   if (!nl_nat_behaviour_set(&b, "udp-timeout", "30s", &error)) ...
 *
 * The struct is plain data: copy it by value.  Every enum comes from an
 * X-macro list, so its names and the enum cannot drift apart.
 */
#ifndef NL_NAT_BEHAVIOUR_H
#define NL_NAT_BEHAVIOUR_H

#include <glib.h>
#include <stdint.h>

#include "sim/core/event.h"

G_BEGIN_DECLS

/* Bumped whenever a field is added or changes meaning. */
#define NL_NAT_BEHAVIOUR_VERSION 2

/* X(ENUM, "name", "short name").  RFC 4787 §4.1: which outbound packets
 * share one external address:port.
 *   endpoint-independent: every packet from one inside address:port, to
 *     any remote, uses the same mapping (REQ-1).
 *   address-dependent: one mapping per (inside endpoint, remote address).
 *   address-and-port-dependent: one mapping per (inside endpoint, remote
 *     address:port) — the "symmetric" NAT. */
#define NL_NAT_MAPPING_MAP(X)                                                  \
  X(EIM, "endpoint-independent", "eim")                                        \
  X(ADM, "address-dependent", "adm")                                           \
  X(APDM, "address-and-port-dependent", "apdm")

/* RFC 4787 §5: which inbound packets reach the inside through a mapping.
 *   endpoint-independent: any remote may send (REQ-8 "full cone").
 *   address-dependent: only remote addresses the inside endpoint has sent
 *     to through this mapping.
 *   address-and-port-dependent: only remote address:ports sent to.
 * A mapping remembers the remotes it has sent to for as long as it lives
 * (there is no separate timer per remote).  ICMP echo has no port, so for
 * it the last two are the same. */
#define NL_NAT_FILTERING_MAP(X)                                                \
  X(EIF, "endpoint-independent", "eif")                                        \
  X(ADF, "address-dependent", "adf")                                           \
  X(APDF, "address-and-port-dependent", "apdf")

/* RFC 4787 §4.2: how the external port of a new mapping is chosen.  Each
 * is one file natmodels/nat-alloc-<name>.c behind a small vtable.
 *   preserve: the inside port if free, else the next free port above it.
 *   sequential: the next free port after the last one given out.
 *   random: a uniformly random free port, from the NAT's own random
 *     stream (derived from the scenario seed by the NAT's name). */
#define NL_NAT_ALLOC_MAP(X)                                                    \
  X(PRESERVE, "preserve", "preserve")                                          \
  X(SEQUENTIAL, "sequential", "seq")                                           \
  X(RANDOM, "random", "rand")

/* RFC 4787 §4.2.2 REQ-4: port parity.
 *   any: the external port may have either parity.
 *   preserve: an even inside port gets an even external port, odd odd. */
#define NL_NAT_PARITY_MAP(X)                                                   \
  X(ANY, "any", "any")                                                         \
  X(PRESERVE, "preserve", "keep")

/* What a new mapping does when no port of the external address is free.
 *   drop: the packet is dropped (NAT_POOL_EXHAUSTED); existing mappings
 *     are untouched.
 *   evict-oldest: the mapping of the same protocol and external address
 *     that would expire first is removed (an "expire" record says why) and
 *     its port reused. */
#define NL_NAT_EXHAUSTION_MAP(X)                                               \
  X(DROP, "drop", "drop")                                                      \
  X(EVICT_OLDEST, "evict-oldest", "evict")

typedef enum {
#define NL_X(e, s, a) NL_NAT_MAPPING_##e,
  NL_NAT_MAPPING_MAP(NL_X)
#undef NL_X
  NL_NAT_MAPPING_N
} NlNatMappingMode;

typedef enum {
#define NL_X(e, s, a) NL_NAT_FILTERING_##e,
  NL_NAT_FILTERING_MAP(NL_X)
#undef NL_X
  NL_NAT_FILTERING_N
} NlNatFilteringMode;

typedef enum {
#define NL_X(e, s, a) NL_NAT_ALLOC_##e,
  NL_NAT_ALLOC_MAP(NL_X)
#undef NL_X
  NL_NAT_ALLOC_N
} NlNatAlloc;

typedef enum {
#define NL_X(e, s, a) NL_NAT_PARITY_##e,
  NL_NAT_PARITY_MAP(NL_X)
#undef NL_X
  NL_NAT_PARITY_N
} NlNatParity;

typedef enum {
#define NL_X(e, s, a) NL_NAT_EXHAUSTION_##e,
  NL_NAT_EXHAUSTION_MAP(NL_X)
#undef NL_X
  NL_NAT_EXHAUSTION_N
} NlNatExhaustion;

/**
 * NlNatBehaviour: what a NAT (or stateful firewall) does.  Field names in
 * nl_nat_behaviour_set() are given in [brackets].
 */
typedef struct {
  /* NL_NAT_BEHAVIOUR_VERSION when the struct was filled. */
  guint version;
  /* Preset name; not owned.  A scenario that overrides fields may point it
   * at its own (longer-lived) string. */
  const char *name;

  /* [mapping] RFC 4787 §4.1.  Ignored when @translate is FALSE: a firewall
   * keeps one entry per inside endpoint. */
  NlNatMappingMode mapping;
  /* [filtering] RFC 4787 §5; also what a firewall lets in. */
  NlNatFilteringMode filtering;
  /* [allocation] RFC 4787 §4.2; ICMP echo identifiers are allocated the same
   * way as ports, but from 1-65535 whatever the port range and parity. */
  NlNatAlloc allocation;
  /* [port-min] [port-max] or [port-range] "LO-HI": external ports (and ICMP
   * identifiers) are taken from LO..HI inclusive.  1024-65535 by default
   * (RFC 4787 REQ-3: well-known ports are not handed out). */
  uint16_t port_min, port_max;
  /* [parity] RFC 4787 REQ-4. */
  NlNatParity parity;
  /* [exhaustion] when the ports of an external address run out. */
  NlNatExhaustion exhaustion;
  /* [hairpinning] RFC 4787 §6 REQ-9: an inside host may reach another
   * inside host through its external address:port.  The packet's source is
   * translated to the sender's external mapping (REQ-9b). */
  gboolean hairpinning;
  /* [hairpin-filtering] whether the target mapping's @filtering applies to
   * hairpinned packets as it does to inbound ones.  RFC 4787 leaves it
   * open.  Off (every preset): a hairpinned packet reaches any live
   * mapping, so RFC 5780 §4.5's hairpin test (a request from a new local
   * port to the client's own mapped address) succeeds behind every preset
   * that hairpins.  On: behind an address-dependent or
   * address-and-port-dependent filter the target mapping must first have
   * sent to the sender's external endpoint, and that test fails. */
  gboolean hairpin_filtering;

  /* [udp-timeout] idle lifetime of a UDP mapping (RFC 4787 REQ-5: at least
   * 2 minutes; 120 s by default). */
  NlTime udp_timeout;
  /* [tcp-established-timeout] idle lifetime of a TCP mapping once SYNs have
   * been seen both ways (RFC 5382 REQ-5: at least 2 h 4 min = 7440 s). */
  NlTime tcp_established_timeout;
  /* [tcp-transitory-timeout] lifetime of a TCP mapping before it is
   * established, or after FIN both ways or an RST (RFC 5382: 4 min). */
  NlTime tcp_transitory_timeout;
  /* [icmp-timeout] lifetime of an ICMP echo mapping (RFC 5508 REQ-1:
   * 60 s). */
  NlTime icmp_timeout;
  /* [outbound-refresh] outbound packets restart the timer (RFC 4787 REQ-6:
   * MUST be on; it can be turned off to model broken devices). */
  gboolean outbound_refresh;
  /* [inbound-refresh] inbound packets that pass the filter restart the
   * timer (RFC 4787 §4.3: MAY). */
  gboolean inbound_refresh;

  /* [translate] FALSE makes a stateful firewall: addresses and ports are
   * left alone, but the same table, filtering and timeouts decide what
   * comes in.  Inbound drops are then reported as FIREWALL. */
  gboolean translate;
  /* [block-outbound-udp] every outbound UDP packet is dropped (BLOCKED):
   * a network that allows only TCP. */
  gboolean block_outbound_udp;
  /* [nat64] stateful NAT64 (RFC 6146) besides IPv4 NAT: IPv6 packets from
   * inside to the well-known prefix 64:ff9b::/96 (RFC 6052) leave as
   * IPv4 to the address the last 32 bits hold, from the device's external
   * address, and the answers come back as IPv6 (RFC 7915); the world's
   * IPv6-only hosts get DNS64 answers (RFC 6147).  Off by default; shown
   * by nl_nat_behaviour_describe() only when on. */
  gboolean nat64;
} NlNatBehaviour;

/**
 * nl_nat_behaviour_find: the preset called @name ("full-cone",
 * "restricted-cone", "port-restricted-cone", "symmetric", "firewall",
 * "udp-blocked").
 * Returns: (transfer none) a static entry, or NULL if there is none.
 */
const NlNatBehaviour *nl_nat_behaviour_find(const char *name);

/**
 * nl_nat_behaviour_preset: the @i-th preset in registry order.
 * Returns: (transfer none) a static entry, or NULL when @i is past the end.
 */
const NlNatBehaviour *nl_nat_behaviour_preset(guint i);

/**
 * nl_nat_behaviour_set: sets the field called @field (see the [names]
 * above) from its text form @value.  Enums take their long or short name,
 * booleans on/off/true/false/yes/no, durations an integer with a unit
 * ("30s", "500ms", "2min", "1h", "100us", "7ns"), ports a number.
 * Returns: TRUE, or FALSE with @error saying which values are allowed; @b
 * is unchanged on failure.
 */
gboolean nl_nat_behaviour_set(NlNatBehaviour *b, const char *field,
                              const char *value,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_nat_behaviour_check: whether @b is consistent (timeouts > 0,
 * port_min <= port_max, right version).
 * Returns: TRUE, or FALSE with @error.
 */
gboolean nl_nat_behaviour_check(const NlNatBehaviour *b,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_nat_behaviour_describe: appends "field=value" pairs for every field of
 * @b, in declaration order, separated by spaces (no newline).  The values
 * are in the form nl_nat_behaviour_set() accepts.
 */
void nl_nat_behaviour_describe(const NlNatBehaviour *b, GString *out);

/* The names of each enum value ("endpoint-independent"). */
const char *nl_nat_mapping_name(NlNatMappingMode m);
const char *nl_nat_filtering_name(NlNatFilteringMode f);
const char *nl_nat_alloc_name(NlNatAlloc a);
const char *nl_nat_parity_name(NlNatParity p);
const char *nl_nat_exhaustion_name(NlNatExhaustion e);

/**
 * nl_nat_duration_parse: reads "30s", "500ms", "2min", "1h", "100us",
 * "7ns" into nanoseconds.
 * Returns: TRUE, or FALSE if @s is not a positive duration with a unit.
 */
gboolean nl_nat_duration_parse(const char *s, NlTime *out);

/* Error domain of nl_nat_behaviour_set() and _check(). */
#define NL_NAT_ERROR (nl_nat_error_quark())
GQuark nl_nat_error_quark(void);
typedef enum {
  NL_NAT_ERROR_UNKNOWN_FIELD,
  NL_NAT_ERROR_BAD_VALUE,
  NL_NAT_ERROR_INVALID,
} NlNatError;

G_END_DECLS

#endif
