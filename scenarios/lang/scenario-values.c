/* Value parsers: times, percentages, rates, sizes, numbers, addresses.
 * Each converts one whole word or says no; the caller words the message.
 * Numbers are read digit by digit (no strtod for times, rates and sizes),
 * so "1.5s" is exactly 1500000000 ns on every machine.
 */
#include "scenarios/lang/scenario-priv.h"

#include <arpa/inet.h>
#include <string.h>

/* v = v * 10 + digit, or FALSE on overflow. */
static gboolean push_digit(guint64 *v, char c) {
  guint d = (guint)(c - '0');
  if (*v > G_MAXUINT64 / 10 || (*v == G_MAXUINT64 / 10 && d > G_MAXUINT64 % 10))
    return FALSE;
  *v = *v * 10 + d;
  return TRUE;
}

/* Reads DIGITS[.DIGITS] at *s.  The fraction is kept as @frac / @den with
 * at most 18 digits.  Returns FALSE if there is no digit or it overflows. */
static gboolean read_decimal(const char **s, guint64 *ip, guint64 *frac,
                             guint64 *den) {
  const char *c = *s;
  guint64 v = 0;
  if (!g_ascii_isdigit(*c))
    return FALSE;
  while (g_ascii_isdigit(*c)) {
    if (!push_digit(&v, *c))
      return FALSE;
    c++;
  }
  *ip = v;
  *frac = 0;
  *den = 1;
  if (*c == '.') {
    c++;
    if (!g_ascii_isdigit(*c))
      return FALSE;
    guint n = 0;
    while (g_ascii_isdigit(*c)) {
      if (n < 18) {
        *frac = *frac * 10 + (guint64)(*c - '0');
        *den *= 10;
        n++;
      }
      c++;
    }
  }
  *s = c;
  return TRUE;
}

/* ip.frac * mult, exactly (rounded down), without overflow. */
static gboolean scale(guint64 ip, guint64 frac, guint64 den, guint64 mult,
                      guint64 max, guint64 *out) {
  if (mult != 0 && ip > max / mult)
    return FALSE;
  guint64 v = ip * mult;
  /* frac/den < 1, so frac * mult / den < mult; split to avoid overflow. */
  guint64 f = (frac / den) * mult;
  guint64 r = frac % den;
  __uint128_t part = (__uint128_t)r * mult / den;
  f += (guint64)part;
  if (v > max - f)
    return FALSE;
  *out = v + f;
  return TRUE;
}

typedef struct {
  const char *name;
  guint64 mult;
} Unit;

static const Unit time_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"ms", 1000000},
    {"s", 1000000000},
    {"min", 60000000000ull},
    {"h", 3600000000000ull},
    {NULL, 0},
};

gboolean nl__scn_parse_time(const char *s, NlTime *out, gboolean *negative) {
  guint64 ip, frac, den, v;
  if (negative != NULL)
    *negative = s[0] == '-';
  if (s[0] == '-')
    return FALSE;
  if (!read_decimal(&s, &ip, &frac, &den))
    return FALSE;
  if (*s == '\0') {
    if (ip != 0 || frac != 0)
      return FALSE; /* a unit is required except for 0 */
    *out = 0;
    return TRUE;
  }
  for (const Unit *u = time_units; u->name != NULL; u++) {
    if (strcmp(s, u->name) == 0) {
      if (!scale(ip, frac, den, u->mult, G_MAXINT64 - 1, &v))
        return FALSE;
      *out = (NlTime)v;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean nl__scn_parse_percent(const char *s, double *out) {
  guint64 ip, frac, den;
  if (!read_decimal(&s, &ip, &frac, &den) || strcmp(s, "%") != 0)
    return FALSE;
  if (ip > 100 || (ip == 100 && frac != 0))
    return FALSE;
  *out = ((double)ip + (double)frac / (double)den) / 100.0;
  return TRUE;
}

gboolean nl__scn_parse_rate(const char *s, guint64 *out) {
  static const Unit units[] = {
      {"bit", 1},           {"kbit", 1000},       {"mbit", 1000000},
      {"gbit", 1000000000}, {"bps", 1},           {"kbps", 1000},
      {"mbps", 1000000},    {"gbps", 1000000000}, {NULL, 0},
  };
  guint64 ip, frac, den, v;
  if (!read_decimal(&s, &ip, &frac, &den))
    return FALSE;
  gsize n = strlen(s);
  char unit[16];
  if (n >= sizeof unit)
    return FALSE;
  memcpy(unit, s, n + 1);
  char *low = g_ascii_strdown(unit, -1);
  if (g_str_has_suffix(low, "bit/s"))
    low[strlen(low) - 2] = '\0';
  gboolean ok = FALSE;
  for (const Unit *u = units; u->name != NULL; u++) {
    if (strcmp(low, u->name) == 0) {
      ok = scale(ip, frac, den, u->mult, G_MAXUINT64, &v) && v > 0;
      break;
    }
  }
  g_free(low);
  if (ok)
    *out = v;
  return ok;
}

gboolean nl__scn_parse_size(const char *s, guint64 *out, gboolean *had_unit) {
  static const Unit units[] = {
      {"B", 1},           {"kB", 1000},        {"KB", 1000},
      {"KiB", 1024},      {"MB", 1000000},     {"MiB", 1048576},
      {"GB", 1000000000}, {"GiB", 1073741824}, {NULL, 0},
  };
  guint64 ip, frac, den, v;
  if (!read_decimal(&s, &ip, &frac, &den))
    return FALSE;
  if (had_unit != NULL)
    *had_unit = *s != '\0';
  if (*s == '\0') {
    if (frac != 0)
      return FALSE;
    *out = ip;
    return TRUE;
  }
  for (const Unit *u = units; u->name != NULL; u++) {
    if (strcmp(s, u->name) == 0) {
      if (!scale(ip, frac, den, u->mult, G_MAXINT64, &v))
        return FALSE;
      *out = v;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean nl__scn_parse_uint(const char *s, guint64 *out) {
  guint64 v = 0;
  if (!g_ascii_isdigit(*s))
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit(*s) || !push_digit(&v, *s))
      return FALSE;
  *out = v;
  return TRUE;
}

gboolean nl__scn_parse_int(const char *s, gint64 *out) {
  guint64 v;
  gboolean neg = s[0] == '-';
  if (!nl__scn_parse_uint(neg ? s + 1 : s, &v) || v > (guint64)G_MAXINT64)
    return FALSE;
  *out = neg ? -(gint64)v : (gint64)v;
  return TRUE;
}

gboolean nl__scn_parse_bool(const char *s, gboolean *out) {
  if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true")) {
    *out = TRUE;
    return TRUE;
  }
  if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false")) {
    *out = FALSE;
    return TRUE;
  }
  return FALSE;
}

/* Strict dotted quad: four decimal parts 0..255, no leading zeros. */
static gboolean parse_ip4(const char *s, guint8 *b) {
  for (int i = 0; i < 4; i++) {
    guint v = 0, n = 0;
    while (g_ascii_isdigit(*s)) {
      if (n == 1 && v == 0)
        return FALSE; /* leading zero: 010 is octal to inet_aton */
      v = v * 10 + (guint)(*s - '0');
      n++;
      s++;
      if (n > 3 || v > 255)
        return FALSE;
    }
    if (n == 0)
      return FALSE;
    b[i] = (guint8)v;
    if (i < 3 && *s++ != '.')
      return FALSE;
  }
  return *s == '\0';
}

gboolean nl__scn_parse_addr(const char *s, gboolean prefix, NlScnAddr *out) {
  NlScnAddr a = {0};
  const char *slash = strchr(s, '/');
  char buf[64];
  gsize n = slash != NULL ? (gsize)(slash - s) : strlen(s);
  guint64 len = 0;

  if ((slash != NULL) != prefix || n == 0 || n >= sizeof buf)
    return FALSE;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (strchr(buf, ':') != NULL) {
    if (inet_pton(AF_INET6, buf, a.bytes) != 1)
      return FALSE;
    a.family = 6;
    a.len = 128;
  } else {
    if (!parse_ip4(buf, a.bytes))
      return FALSE;
    a.family = 4;
    a.len = 32;
  }
  if (prefix) {
    if (!nl__scn_parse_uint(slash + 1, &len) || len > a.len)
      return FALSE;
    a.len = (guint8)len;
  }
  a.loc = out->loc;
  *out = a;
  return TRUE;
}

void nl__scn_addr_mask(NlScnAddr *a) {
  guint width = a->family == 4 ? 4 : 16;
  for (guint i = 0; i < width; i++) {
    guint bits = i * 8;
    if (bits >= a->len)
      a->bytes[i] = 0;
    else if (bits + 8 > a->len)
      a->bytes[i] &= (guint8)(0xff << (8 - (a->len - bits)));
  }
}

gboolean nl__scn_addr_equal(const NlScnAddr *a, const NlScnAddr *b) {
  return a->family == b->family && a->len == b->len &&
         memcmp(a->bytes, b->bytes, 16) == 0;
}

gboolean nl_scn_addr_in_prefix(const NlScnAddr *a, const NlScnAddr *p) {
  if (a->family != p->family || a->len < p->len)
    return FALSE;
  NlScnAddr m = *a;
  m.len = p->len;
  nl__scn_addr_mask(&m);
  return memcmp(m.bytes, p->bytes, 16) == 0;
}

/* Appends @v in decimal at @d; returns the end. */
static char *put_uint(char *d, guint v) {
  char num[12], *e = num + sizeof num;
  do
    *--e = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  gsize n = (gsize)(num + sizeof num - e);
  memcpy(d, e, n);
  return d + n;
}

char *nl_scn_addr_to_string(const NlScnAddr *a, char *buf) {
  if (a->family == 4 && a->len <= 32) {
    /* "%u.%u.%u.%u" and "/%u" by hand: a large scenario's check makes
     * thousands. */
    char *d = buf;
    for (int i = 0; i < 4; i++) {
      d = put_uint(d, a->bytes[i]);
      *d++ = i < 3 ? '.' : '\0';
    }
    if (a->len != 32) {
      d[-1] = '/';
      d = put_uint(d, a->len);
      *d = '\0';
    }
    return buf;
  }
  char tmp[INET6_ADDRSTRLEN];
  if (a->family == 4)
    g_snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", a->bytes[0], a->bytes[1],
               a->bytes[2], a->bytes[3]);
  else if (a->family != 6 || !inet_ntop(AF_INET6, a->bytes, tmp, sizeof tmp))
    g_strlcpy(tmp, "?", sizeof tmp);
  if (a->len != (a->family == 4 ? 32 : 128))
    g_snprintf(buf, NL_SCN_ADDR_STRLEN, "%s/%u", tmp, a->len);
  else
    g_strlcpy(buf, tmp, NL_SCN_ADDR_STRLEN);
  return buf;
}

gboolean nl__scn_valid_name(const char *s) {
  gsize n = strlen(s);
  if (n == 0 || n > 63 || !(g_ascii_isalpha(s[0]) || s[0] == '_'))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!(g_ascii_isalnum(s[i]) || s[i] == '_' || s[i] == '-'))
      return FALSE;
  return TRUE;
}

gboolean nl__scn_valid_hostname(const char *s) {
  gsize n = strlen(s), label = 0;
  if (n == 0 || n > 253)
    return FALSE;
  for (gsize i = 0; i <= n; i++) {
    char c = s[i];
    if (c == '.' || c == '\0') {
      if (label == 0 || label > 63 || s[i - 1] == '-')
        return FALSE;
      label = 0;
      continue;
    }
    if (!(g_ascii_isalnum(c) || c == '-') || (label == 0 && c == '-'))
      return FALSE;
    label++;
  }
  return TRUE;
}

char *nl__scn_time_to_string(NlTime t) {
  static const Unit units[] = {
      {"h", 3600000000000ull},
      {"min", 60000000000ull},
      {"s", 1000000000},
      {"ms", 1000000},
      {"us", 1000},
      {"ns", 1},
      {NULL, 0},
  };
  if (t == 0)
    return g_strdup("0s");
  for (const Unit *u = units; u->name != NULL; u++)
    if (t % (NlTime)u->mult == 0)
      return g_strdup_printf("%" G_GINT64_FORMAT "%s", t / (NlTime)u->mult,
                             u->name);
  return g_strdup_printf("%" G_GINT64_FORMAT "ns", t);
}
