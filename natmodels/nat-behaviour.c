/* NAT behaviour presets and field-by-field overrides.  The registry is a
 * static const array, looked up by name the way sqlite3_vfs_find() does. */
#include "natmodels/nat-behaviour.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(natlab-nat-error-quark, nl_nat_error)

/* Name tables, built from the same X-macro lists as the enums. */
static const char *const mapping_names[] = {
#define NL_X(e, s, a) s,
  NL_NAT_MAPPING_MAP(NL_X)
#undef NL_X
};
static const char *const mapping_short[] = {
#define NL_X(e, s, a) a,
  NL_NAT_MAPPING_MAP(NL_X)
#undef NL_X
};
static const char *const filtering_names[] = {
#define NL_X(e, s, a) s,
  NL_NAT_FILTERING_MAP(NL_X)
#undef NL_X
};
static const char *const filtering_short[] = {
#define NL_X(e, s, a) a,
  NL_NAT_FILTERING_MAP(NL_X)
#undef NL_X
};
static const char *const alloc_names[] = {
#define NL_X(e, s, a) s,
  NL_NAT_ALLOC_MAP(NL_X)
#undef NL_X
};
static const char *const alloc_short[] = {
#define NL_X(e, s, a) a,
  NL_NAT_ALLOC_MAP(NL_X)
#undef NL_X
};
static const char *const parity_names[] = {
#define NL_X(e, s, a) s,
  NL_NAT_PARITY_MAP(NL_X)
#undef NL_X
};
static const char *const parity_short[] = {
#define NL_X(e, s, a) a,
  NL_NAT_PARITY_MAP(NL_X)
#undef NL_X
};
static const char *const exhaustion_names[] = {
#define NL_X(e, s, a) s,
  NL_NAT_EXHAUSTION_MAP(NL_X)
#undef NL_X
};
static const char *const exhaustion_short[] = {
#define NL_X(e, s, a) a,
  NL_NAT_EXHAUSTION_MAP(NL_X)
#undef NL_X
};

const char *nl_nat_mapping_name(NlNatMappingMode m) {
  return (guint)m < NL_NAT_MAPPING_N ? mapping_names[m] : "?";
}
const char *nl_nat_filtering_name(NlNatFilteringMode f) {
  return (guint)f < NL_NAT_FILTERING_N ? filtering_names[f] : "?";
}
const char *nl_nat_alloc_name(NlNatAlloc a) {
  return (guint)a < NL_NAT_ALLOC_N ? alloc_names[a] : "?";
}
const char *nl_nat_parity_name(NlNatParity p) {
  return (guint)p < NL_NAT_PARITY_N ? parity_names[p] : "?";
}
const char *nl_nat_exhaustion_name(NlNatExhaustion e) {
  return (guint)e < NL_NAT_EXHAUSTION_N ? exhaustion_names[e] : "?";
}

/* Every preset shares the defaults of RFC 4787 REQ-3/5, RFC 5382 REQ-5
 * and RFC 5508 REQ-1, and differs in the arguments. */
#define NL_NAT_PRESET(n, map, filt, alloc, hairpin, xlate, block_udp)          \
  {                                                                            \
    .version = NL_NAT_BEHAVIOUR_VERSION, .name = n,                            \
    .mapping = NL_NAT_MAPPING_##map, .filtering = NL_NAT_FILTERING_##filt,     \
    .allocation = NL_NAT_ALLOC_##alloc, .port_min = 1024, .port_max = 65535,  \
    .parity = NL_NAT_PARITY_ANY, .exhaustion = NL_NAT_EXHAUSTION_DROP,        \
    .hairpinning = hairpin, .hairpin_filtering = FALSE, .udp_timeout = 120 * NL_S,                         \
    .tcp_established_timeout = 7440 * NL_S,                                    \
    .tcp_transitory_timeout = 240 * NL_S, .icmp_timeout = 60 * NL_S,           \
    .outbound_refresh = TRUE, .inbound_refresh = TRUE, .translate = xlate,     \
    .block_outbound_udp = block_udp                                            \
  }

/* The registry.  Order is the listing order of nl_nat_behaviour_preset(). */
static const NlNatBehaviour presets[] = {
  NL_NAT_PRESET("full-cone", EIM, EIF, PRESERVE, TRUE, TRUE, FALSE),
  NL_NAT_PRESET("restricted-cone", EIM, ADF, PRESERVE, TRUE, TRUE, FALSE),
  NL_NAT_PRESET("port-restricted-cone", EIM, APDF, PRESERVE, TRUE, TRUE,
                FALSE),
  /* Symmetric NATs are typically older or carrier devices that allocate
   * sequentially and do not hairpin. */
  NL_NAT_PRESET("symmetric", APDM, APDF, SEQUENTIAL, FALSE, TRUE, FALSE),
  /* A stateful firewall: no translation, only replies come in. */
  NL_NAT_PRESET("firewall", EIM, APDF, PRESERVE, FALSE, FALSE, FALSE),
  /* A network that lets only TCP out, through a port-restricted cone. */
  NL_NAT_PRESET("udp-blocked", EIM, APDF, PRESERVE, TRUE, TRUE, TRUE),
};

/* set_field() stores enums through an int. */
G_STATIC_ASSERT(sizeof(NlNatMappingMode) == sizeof(int));
G_STATIC_ASSERT(sizeof(NlNatFilteringMode) == sizeof(int));
G_STATIC_ASSERT(sizeof(NlNatAlloc) == sizeof(int));
G_STATIC_ASSERT(sizeof(NlNatParity) == sizeof(int));
G_STATIC_ASSERT(sizeof(NlNatExhaustion) == sizeof(int));

const NlNatBehaviour *nl_nat_behaviour_find(const char *name) {
  g_return_val_if_fail(name != NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
    if (strcmp(presets[i].name, name) == 0)
      return &presets[i];
  return NULL;
}

const NlNatBehaviour *nl_nat_behaviour_preset(guint i) {
  return i < G_N_ELEMENTS(presets) ? &presets[i] : NULL;
}

/* Field table: drives nl_nat_behaviour_set() and _describe(). */
typedef enum {
  FIELD_ENUM,
  FIELD_BOOL,
  FIELD_DURATION,
  FIELD_PORT,
  FIELD_PORT_RANGE, /* writes port_min and port_max */
} FieldType;

typedef struct {
  const char *name;
  FieldType type;
  size_t offset;
  const char *const *names; /* FIELD_ENUM: long names */
  const char *const *short_names;
  guint n_names;
} Field;

#define ENUM_FIELD(n, member, tab)                                             \
  {n, FIELD_ENUM, offsetof(NlNatBehaviour, member), tab##_names,               \
   tab##_short, G_N_ELEMENTS(tab##_names)}
#define PLAIN_FIELD(n, type, member)                                           \
  {n, type, offsetof(NlNatBehaviour, member), NULL, NULL, 0}

static const Field fields[] = {
  ENUM_FIELD("mapping", mapping, mapping),
  ENUM_FIELD("filtering", filtering, filtering),
  ENUM_FIELD("allocation", allocation, alloc),
  PLAIN_FIELD("port-range", FIELD_PORT_RANGE, port_min),
  PLAIN_FIELD("port-min", FIELD_PORT, port_min),
  PLAIN_FIELD("port-max", FIELD_PORT, port_max),
  ENUM_FIELD("parity", parity, parity),
  ENUM_FIELD("exhaustion", exhaustion, exhaustion),
  PLAIN_FIELD("hairpinning", FIELD_BOOL, hairpinning),
  PLAIN_FIELD("hairpin-filtering", FIELD_BOOL, hairpin_filtering),
  PLAIN_FIELD("udp-timeout", FIELD_DURATION, udp_timeout),
  PLAIN_FIELD("tcp-established-timeout", FIELD_DURATION,
              tcp_established_timeout),
  PLAIN_FIELD("tcp-transitory-timeout", FIELD_DURATION,
              tcp_transitory_timeout),
  PLAIN_FIELD("icmp-timeout", FIELD_DURATION, icmp_timeout),
  PLAIN_FIELD("outbound-refresh", FIELD_BOOL, outbound_refresh),
  PLAIN_FIELD("inbound-refresh", FIELD_BOOL, inbound_refresh),
  PLAIN_FIELD("translate", FIELD_BOOL, translate),
  PLAIN_FIELD("block-outbound-udp", FIELD_BOOL, block_outbound_udp),
  PLAIN_FIELD("nat64", FIELD_BOOL, nat64),
};

gboolean nl_nat_duration_parse(const char *s, NlTime *out) {
  static const struct {
    const char *unit;
    NlTime scale;
  } units[] = {{"ns", NL_NS}, {"us", NL_US}, {"ms", NL_MS},
               {"s", NL_S},   {"min", 60 * NL_S}, {"h", 3600 * NL_S}};
  char *end;
  if (s == NULL || !g_ascii_isdigit(*s))
    return FALSE;
  errno = 0;
  guint64 v = g_ascii_strtoull(s, &end, 10);
  if (errno != 0 || v == 0)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(units); i++) {
    if (strcmp(end, units[i].unit) != 0)
      continue;
    if (v > (guint64)(INT64_MAX / units[i].scale))
      return FALSE;
    *out = (NlTime)v * units[i].scale;
    return TRUE;
  }
  return FALSE;
}

static gboolean parse_bool(const char *s, gboolean *out) {
  static const char *const yes[] = {"on", "true", "yes", "1"};
  static const char *const no[] = {"off", "false", "no", "0"};
  for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
    if (g_ascii_strcasecmp(s, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp(s, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean parse_port(const char *s, uint16_t *out) {
  char *end;
  if (!g_ascii_isdigit(*s))
    return FALSE;
  guint64 v = g_ascii_strtoull(s, &end, 10);
  if (*end != '\0' || v == 0 || v > 65535)
    return FALSE;
  *out = (uint16_t)v;
  return TRUE;
}

static gboolean set_field(NlNatBehaviour *b, const Field *f, const char *value,
                          GError **error) {
  guint8 *p = (guint8 *)b + f->offset;
  switch (f->type) {
    case FIELD_ENUM:
      for (guint i = 0; i < f->n_names; i++) {
        if (strcmp(value, f->names[i]) == 0 ||
            strcmp(value, f->short_names[i]) == 0) {
          int v = (int)i;
          memcpy(p, &v, sizeof v); /* every NAT enum is int-sized */
          return TRUE;
        }
      }
      {
        GString *allowed = g_string_new(NULL);
        for (guint i = 0; i < f->n_names; i++)
          g_string_append_printf(allowed, "%s%s (%s)", i ? ", " : "",
                                 f->names[i], f->short_names[i]);
        g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_BAD_VALUE,
                    "nat %s: unknown value \"%s\"; allowed: %s", f->name,
                    value, allowed->str);
        g_string_free(allowed, TRUE);
      }
      return FALSE;
    case FIELD_BOOL: {
      gboolean v;
      if (!parse_bool(value, &v)) {
        g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_BAD_VALUE,
                    "nat %s: \"%s\" is not a boolean; allowed: on, off, "
                    "true, false, yes, no",
                    f->name, value);
        return FALSE;
      }
      memcpy(p, &v, sizeof v);
      return TRUE;
    }
    case FIELD_DURATION: {
      NlTime v;
      if (!nl_nat_duration_parse(value, &v)) {
        g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_BAD_VALUE,
                    "nat %s: \"%s\" is not a duration; allowed: a positive "
                    "integer with a unit ns, us, ms, s, min or h (\"30s\")",
                    f->name, value);
        return FALSE;
      }
      memcpy(p, &v, sizeof v);
      return TRUE;
    }
    case FIELD_PORT: {
      uint16_t v;
      if (!parse_port(value, &v)) {
        g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_BAD_VALUE,
                    "nat %s: \"%s\" is not a port; allowed: 1..65535",
                    f->name, value);
        return FALSE;
      }
      memcpy(p, &v, sizeof v);
      return TRUE;
    }
    case FIELD_PORT_RANGE: {
      uint16_t lo, hi;
      gchar **parts = g_strsplit(value, "-", 3);
      gboolean ok = g_strv_length(parts) == 2 && parse_port(parts[0], &lo) &&
                    parse_port(parts[1], &hi) && lo <= hi;
      g_strfreev(parts);
      if (!ok) {
        g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_BAD_VALUE,
                    "nat %s: \"%s\" is not a port range; allowed: LO-HI with "
                    "1 <= LO <= HI <= 65535",
                    f->name, value);
        return FALSE;
      }
      b->port_min = lo;
      b->port_max = hi;
      return TRUE;
    }
  }
  g_assert_not_reached();
}

gboolean nl_nat_behaviour_set(NlNatBehaviour *b, const char *field,
                              const char *value, GError **error) {
  g_return_val_if_fail(b != NULL && field != NULL && value != NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
    if (strcmp(fields[i].name, field) != 0)
      continue;
    NlNatBehaviour copy = *b;
    if (!set_field(&copy, &fields[i], value, error))
      return FALSE;
    if (copy.port_min > copy.port_max) {
      g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_BAD_VALUE,
                  "nat %s: %s would make port-min (%u) larger than port-max "
                  "(%u); set port-range LO-HI to change both",
                  field, value, copy.port_min, copy.port_max);
      return FALSE;
    }
    *b = copy;
    return TRUE;
  }
  GString *allowed = g_string_new(NULL);
  for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
    g_string_append_printf(allowed, "%s%s", i ? ", " : "", fields[i].name);
  g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_UNKNOWN_FIELD,
              "nat: unknown field \"%s\"; fields: %s", field, allowed->str);
  g_string_free(allowed, TRUE);
  return FALSE;
}

gboolean nl_nat_behaviour_check(const NlNatBehaviour *b, GError **error) {
  g_return_val_if_fail(b != NULL, FALSE);
  if (b->version != NL_NAT_BEHAVIOUR_VERSION) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "nat %s: behaviour version %u, expected %u",
                b->name ? b->name : "?", b->version,
                NL_NAT_BEHAVIOUR_VERSION);
    return FALSE;
  }
  if ((guint)b->mapping >= NL_NAT_MAPPING_N ||
      (guint)b->filtering >= NL_NAT_FILTERING_N ||
      (guint)b->allocation >= NL_NAT_ALLOC_N ||
      (guint)b->parity >= NL_NAT_PARITY_N ||
      (guint)b->exhaustion >= NL_NAT_EXHAUSTION_N) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "nat %s: an enum field is out of range",
                b->name ? b->name : "?");
    return FALSE;
  }
  if (b->port_min == 0 || b->port_min > b->port_max) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "nat %s: bad port range %u-%u", b->name ? b->name : "?",
                b->port_min, b->port_max);
    return FALSE;
  }
  if (b->udp_timeout <= 0 || b->tcp_established_timeout <= 0 ||
      b->tcp_transitory_timeout <= 0 || b->icmp_timeout <= 0) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "nat %s: every timeout must be positive",
                b->name ? b->name : "?");
    return FALSE;
  }
  return TRUE;
}

static void describe_duration(NlTime t, GString *out) {
  static const struct {
    const char *unit;
    NlTime scale;
  } units[] = {{"h", 3600 * NL_S}, {"min", 60 * NL_S}, {"s", NL_S},
               {"ms", NL_MS},      {"us", NL_US},      {"ns", NL_NS}};
  for (guint i = 0; i < G_N_ELEMENTS(units); i++) {
    if (t % units[i].scale == 0) {
      g_string_append_printf(out, "%" G_GINT64_FORMAT "%s", t / units[i].scale,
                             units[i].unit);
      return;
    }
  }
}

void nl_nat_behaviour_describe(const NlNatBehaviour *b, GString *out) {
  g_return_if_fail(b != NULL && out != NULL);
  gboolean first = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
    const Field *f = &fields[i];
    const guint8 *p = (const guint8 *)b + f->offset;
    if (f->type == FIELD_PORT) /* shown as port-range */
      continue;
    if (f->offset == offsetof(NlNatBehaviour, nat64) && !b->nat64)
      continue; /* an IPv4 NAT's description stays as it was */
    g_string_append_printf(out, "%s%s=", first ? "" : " ", f->name);
    first = FALSE;
    switch (f->type) {
      case FIELD_ENUM: {
        int v;
        memcpy(&v, p, sizeof v);
        g_string_append(out, (guint)v < f->n_names ? f->names[v] : "?");
        break;
      }
      case FIELD_BOOL: {
        gboolean v;
        memcpy(&v, p, sizeof v);
        g_string_append(out, v ? "on" : "off");
        break;
      }
      case FIELD_DURATION: {
        NlTime v;
        memcpy(&v, p, sizeof v);
        describe_duration(v, out);
        break;
      }
      case FIELD_PORT_RANGE:
        g_string_append_printf(out, "%u-%u", b->port_min, b->port_max);
        break;
      case FIELD_PORT:
        break;
    }
  }
}
