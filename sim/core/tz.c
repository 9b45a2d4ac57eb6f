/* Time zones of the virtual clock (see tz.h).  The TZ grammar is POSIX's
 * with glibc's readings of its corners (names of at least three
 * characters, offsets clamped to 24:59:59, change times from -167 to 167
 * hours, the US dates when a summer time has none); the arithmetic is
 * days-from-civil, so nothing here asks the C library about zones. */
#include "sim/core/tz.h"

#include <stdlib.h>
#include <string.h>

/* The rule each zone's tzdata file ends with (its POSIX footer), for the
 * zones people name most, and the short legacy names tzdata also has.
 * Etc/GMT+N and Etc/GMT-N are made from their name. */
static const struct {
  const char *name;
  const char *rule;
} zones[] = {
  {"UTC", "UTC0"},
  {"Etc/UTC", "UTC0"},
  {"Universal", "UTC0"},
  {"Etc/Universal", "UTC0"},
  {"Zulu", "UTC0"},
  {"Etc/Zulu", "UTC0"},
  {"UCT", "UTC0"},
  {"Etc/UCT", "UTC0"},
  {"GMT", "GMT0"},
  {"Etc/GMT", "GMT0"},
  {"GMT0", "GMT0"},
  {"Greenwich", "GMT0"},
  {"CET", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"EET", "EET-2EEST,M3.5.0/3,M10.5.0/4"},
  {"WET", "WET0WEST,M3.5.0/1,M10.5.0"},
  {"MET", "MET-1MEST,M3.5.0,M10.5.0/3"},
  {"EST", "EST5"},
  {"MST", "MST7"},
  {"HST", "HST10"},
  {"EST5EDT", "EST5EDT,M3.2.0,M11.1.0"},
  {"CST6CDT", "CST6CDT,M3.2.0,M11.1.0"},
  {"MST7MDT", "MST7MDT,M3.2.0,M11.1.0"},
  {"PST8PDT", "PST8PDT,M3.2.0,M11.1.0"},
  {"Europe/London", "GMT0BST,M3.5.0/1,M10.5.0"},
  {"Europe/Dublin", "IST-1GMT0,M10.5.0,M3.5.0/1"},
  {"Europe/Lisbon", "WET0WEST,M3.5.0/1,M10.5.0"},
  {"Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Madrid", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Rome", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Amsterdam", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Brussels", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Vienna", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Zurich", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Stockholm", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Oslo", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Copenhagen", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Warsaw", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Prague", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Budapest", "CET-1CEST,M3.5.0,M10.5.0/3"},
  {"Europe/Athens", "EET-2EEST,M3.5.0/3,M10.5.0/4"},
  {"Europe/Helsinki", "EET-2EEST,M3.5.0/3,M10.5.0/4"},
  {"Europe/Kyiv", "EET-2EEST,M3.5.0/3,M10.5.0/4"},
  {"Europe/Kiev", "EET-2EEST,M3.5.0/3,M10.5.0/4"},
  {"Europe/Bucharest", "EET-2EEST,M3.5.0/3,M10.5.0/4"},
  {"Europe/Istanbul", "<+03>-3"},
  {"Europe/Moscow", "MSK-3"},
  {"Africa/Cairo", "EET-2EEST,M4.5.5/0,M10.5.4/24"},
  {"Africa/Johannesburg", "SAST-2"},
  {"Africa/Lagos", "WAT-1"},
  {"Africa/Nairobi", "EAT-3"},
  {"Africa/Casablanca", "<+01>-1"},
  {"Asia/Dubai", "<+04>-4"},
  {"Asia/Tehran", "<+0330>-3:30"},
  {"Asia/Karachi", "PKT-5"},
  {"Asia/Kolkata", "IST-5:30"},
  {"Asia/Calcutta", "IST-5:30"},
  {"Asia/Kathmandu", "<+0545>-5:45"},
  {"Asia/Dhaka", "<+06>-6"},
  {"Asia/Bangkok", "<+07>-7"},
  {"Asia/Ho_Chi_Minh", "<+07>-7"},
  {"Asia/Jakarta", "WIB-7"},
  {"Asia/Singapore", "<+08>-8"},
  {"Asia/Shanghai", "CST-8"},
  {"Asia/Hong_Kong", "HKT-8"},
  {"Asia/Taipei", "CST-8"},
  {"Asia/Manila", "PST-8"},
  {"Asia/Seoul", "KST-9"},
  {"Asia/Tokyo", "JST-9"},
  {"Japan", "JST-9"},
  {"Asia/Jerusalem", "IST-2IDT,M3.4.4/26,M10.5.0"},
  {"Australia/Perth", "AWST-8"},
  {"Australia/Adelaide", "ACST-9:30ACDT,M10.1.0,M4.1.0/3"},
  {"Australia/Darwin", "ACST-9:30"},
  {"Australia/Brisbane", "AEST-10"},
  {"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
  {"Australia/Melbourne", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
  {"Australia/Hobart", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
  {"Pacific/Auckland", "NZST-12NZDT,M9.5.0,M4.1.0/3"},
  {"Pacific/Honolulu", "HST10"},
  {"America/Anchorage", "AKST9AKDT,M3.2.0,M11.1.0"},
  {"America/Los_Angeles", "PST8PDT,M3.2.0,M11.1.0"},
  {"America/Vancouver", "PST8PDT,M3.2.0,M11.1.0"},
  {"America/Denver", "MST7MDT,M3.2.0,M11.1.0"},
  {"America/Phoenix", "MST7"},
  {"America/Chicago", "CST6CDT,M3.2.0,M11.1.0"},
  {"America/Mexico_City", "CST6"},
  {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
  {"America/Toronto", "EST5EDT,M3.2.0,M11.1.0"},
  {"America/Halifax", "AST4ADT,M3.2.0,M11.1.0"},
  {"America/St_Johns", "NST3:30NDT,M3.2.0,M11.1.0"},
  {"America/Bogota", "<-05>5"},
  {"America/Lima", "<-05>5"},
  {"America/Santiago", "<-04>4<-03>,M9.1.6/24,M4.1.6/24"},
  {"America/Caracas", "<-04>4"},
  {"America/Sao_Paulo", "<-03>3"},
  {"America/Argentina/Buenos_Aires", "<-03>3"},
  {"Atlantic/Reykjavik", "GMT0"},
  {"Atlantic/Azores", "<-01>1<+00>,M3.5.0/0,M10.5.0/1"},
  {"US/Eastern", "EST5EDT,M3.2.0,M11.1.0"},
  {"US/Central", "CST6CDT,M3.2.0,M11.1.0"},
  {"US/Mountain", "MST7MDT,M3.2.0,M11.1.0"},
  {"US/Pacific", "PST8PDT,M3.2.0,M11.1.0"},
};

/* ---- calendar arithmetic ---- */

#define DAY 86400

static gboolean is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to @y-@m-@d (proleptic Gregorian; @m 1-12). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Broken-down time of @t seconds since the epoch, as UTC + @off. */
static void breakdown(int64_t t, int32_t off, struct tm *tm) {
  int64_t s = t + off;
  int64_t days = floor_div(s, DAY);
  int64_t rem = s - days * DAY;
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  memset(tm, 0, sizeof *tm);
  tm->tm_year = (int)(y - 1900);
  tm->tm_mon = m - 1;
  tm->tm_mday = d;
  tm->tm_hour = (int)(rem / 3600);
  tm->tm_min = (int)(rem / 60 % 60);
  tm->tm_sec = (int)(rem % 60);
  tm->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
  tm->tm_yday = (int)(days - days_from_civil(y, 1, 1));
  tm->tm_gmtoff = off;
}

/* Seconds since the epoch of @tm's fields read as UTC, normalising them
 * the way mktime() does (each field may be out of range). */
static int64_t fields_to_secs(const struct tm *tm) {
  int64_t mon = tm->tm_mon;
  int64_t y = (int64_t)tm->tm_year + 1900 + floor_div(mon, 12);
  mon -= floor_div(mon, 12) * 12;
  int64_t days = days_from_civil(y, (int)mon + 1, 1) + tm->tm_mday - 1;
  return days * DAY + (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 +
         tm->tm_sec;
}

/* ---- parsing ---- */

/* A zone name: three or more letters, or <...> of letters, digits, '+'
 * and '-'.  Longer names than NL_TZ_NAME_MAX - 1 are refused. */
static gboolean parse_name(const char **p, char *out) {
  const char *s = *p;
  size_t n = 0;
  if (*s == '<') {
    s++;
    while (g_ascii_isalnum(s[n]) || s[n] == '+' || s[n] == '-')
      n++;
    if (s[n] != '>' || n < 3 || n >= NL_TZ_NAME_MAX)
      return FALSE;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + n + 1;
    return TRUE;
  }
  while (g_ascii_isalpha(s[n]))
    n++;
  if (n < 3 || n >= NL_TZ_NAME_MAX)
    return FALSE;
  memcpy(out, s, n);
  out[n] = '\0';
  *p = s + n;
  return TRUE;
}

/* Up to three ':'-separated decimal numbers; stops where they stop. */
static int parse_hms(const char **p, unsigned v[3]) {
  int got = 0;
  const char *s = *p;
  for (int i = 0; i < 3; i++) {
    if (i > 0) {
      if (*s != ':' || !g_ascii_isdigit(s[1]))
        break;
      s++;
    }
    if (!g_ascii_isdigit(*s))
      break;
    unsigned x = 0;
    while (g_ascii_isdigit(*s)) {
      x = x < 100000 ? x * 10 + (unsigned)(*s - '0') : x;
      s++;
    }
    v[i] = x;
    got++;
  }
  *p = s;
  return got;
}

/* [+-]hh[:mm[:ss]], west of UTC positive; returns seconds east. */
static gboolean parse_offset(const char **p, int32_t *east) {
  const char *s = *p;
  if (*s != '+' && *s != '-' && !g_ascii_isdigit(*s))
    return FALSE;
  int sign = *s == '-' ? 1 : -1;
  if (*s == '+' || *s == '-')
    s++;
  unsigned v[3] = {0, 0, 0};
  if (parse_hms(&s, v) == 0)
    return FALSE;
  *east = sign * (int32_t)(MIN(v[0], 24u) * 3600 + MIN(v[1], 59u) * 60 +
                           MIN(v[2], 59u));
  *p = s;
  return TRUE;
}

static gboolean parse_date(const char **p, NlTzDate *d, gboolean is_start) {
  const char *s = *p;
  if (*s == ',')
    s++;
  memset(d, 0, sizeof *d);
  if (*s == 'J' || g_ascii_isdigit(*s)) {
    d->kind = *s == 'J' ? NL_TZ_JULIAN1 : NL_TZ_JULIAN0;
    if (*s == 'J')
      s++;
    if (!g_ascii_isdigit(*s))
      return FALSE;
    unsigned v = 0;
    while (g_ascii_isdigit(*s)) {
      v = v < 1000 ? v * 10 + (unsigned)(*s - '0') : v;
      s++;
    }
    if (v > 365 || (d->kind == NL_TZ_JULIAN1 && v == 0))
      return FALSE;
    d->day = (int)v;
  } else if (*s == 'M') {
    s++;
    unsigned v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
      if (i > 0 && *s++ != '.')
        return FALSE;
      if (!g_ascii_isdigit(*s))
        return FALSE;
      while (g_ascii_isdigit(*s)) {
        v[i] = v[i] < 100 ? v[i] * 10 + (unsigned)(*s - '0') : v[i];
        s++;
      }
    }
    if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6)
      return FALSE;
    d->kind = NL_TZ_MONTH;
    d->month = (int)v[0];
    d->week = (int)v[1];
    d->day = (int)v[2];
  } else if (*s == '\0') {
    /* glibc's built-in US rule, M3.2.0,M11.1.0. */
    d->kind = NL_TZ_MONTH;
    d->month = is_start ? 3 : 11;
    d->week = is_start ? 2 : 1;
    d->day = 0;
  } else {
    return FALSE;
  }
  d->secs = 2 * 3600;
  if (*s == '/') {
    s++;
    if (*s == '\0')
      return FALSE;
    int sign = 1;
    if (*s == '-' || *s == '+') {
      sign = *s == '-' ? -1 : 1;
      s++;
    }
    unsigned v[3] = {2, 0, 0};
    parse_hms(&s, v);
    d->secs = sign * (int32_t)(MIN(v[0], 167u) * 3600 + MIN(v[1], 59u) * 60 +
                               MIN(v[2], 59u));
  } else if (*s != '\0' && *s != ',') {
    return FALSE;
  }
  *p = s;
  return TRUE;
}

void nl_tz_utc(NlTz *out) {
  memset(out, 0, sizeof *out);
  g_strlcpy(out->std_name, "UTC", sizeof out->std_name);
  g_strlcpy(out->dst_name, "UTC", sizeof out->dst_name);
}

/* A POSIX rule, read as glibc reads one: whatever parses stays. */
static gboolean parse_posix(const char *s, NlTz *out) {
  memset(out, 0, sizeof *out);
  if (!parse_name(&s, out->std_name))
    return FALSE;
  if (!parse_offset(&s, &out->std_off))
    return FALSE;
  if (*s == '\0') {
    g_strlcpy(out->dst_name, out->std_name, sizeof out->dst_name);
    out->dst_off = out->std_off;
    return TRUE;
  }
  if (!parse_name(&s, out->dst_name)) {
    /* glibc leaves an unnamed summer time at offset 0 whose dates are
     * both January 1st at 0:00: summer time nearly all year. */
    out->dst_name[0] = '\0';
    out->dst_off = 0;
    out->has_dst = TRUE;
    out->start.kind = out->end.kind = NL_TZ_JULIAN0;
    return FALSE;
  }
  if (!parse_offset(&s, &out->dst_off))
    out->dst_off = out->std_off + 3600;
  if (*s == ',' && s[1] == '\0')
    s++;
  out->has_dst = TRUE;
  if (!parse_date(&s, &out->start, TRUE) ||
      !parse_date(&s, &out->end, FALSE)) {
    /* Names and offsets stay, as glibc keeps them; with no usable dates
     * natlab keeps standard time all year. */
    out->has_dst = FALSE;
    return FALSE;
  }
  return *s == '\0';
}

gboolean nl_tz_parse(const char *spec, NlTz *out) {
  if (spec == NULL || *spec == '\0' || (spec[0] == ':' && spec[1] == '\0')) {
    nl_tz_utc(out);
    return TRUE;
  }
  if (*spec == ':')
    spec++;
  /* A path into the zone database names the zone at its end. */
  const char *name = spec;
  if (g_str_has_prefix(name, "/usr/share/zoneinfo/"))
    name += strlen("/usr/share/zoneinfo/");
  for (size_t i = 0; i < G_N_ELEMENTS(zones); i++)
    if (strcmp(zones[i].name, name) == 0)
      return parse_posix(zones[i].rule, out);
  /* Etc/GMT+5 is five hours west: <-05>5. */
  if (g_str_has_prefix(name, "Etc/GMT") &&
      (name[7] == '+' || name[7] == '-') && g_ascii_isdigit(name[8])) {
    char *end;
    long h = strtol(name + 8, &end, 10);
    if (*end == '\0' && h >= 0 && h <= (name[7] == '+' ? 12 : 14)) {
      char rule[32];
      g_snprintf(rule, sizeof rule, "<%c%02ld>%s%ld",
                 name[7] == '+' ? '-' : '+', h, name[7] == '+' ? "" : "-", h);
      return parse_posix(rule, out);
    }
  }
  /* Anything else is a POSIX rule; what glibc keeps of one that stops
   * early (a standard name with offset 0, or empty names) is kept. */
  return parse_posix(spec, out);
}

/* ---- conversion ---- */

/* Seconds since the epoch at which @d happens in year @y, for a clock
 * @off seconds east of UTC. */
static int64_t change_time(const NlTzDate *d, int64_t y, int32_t off) {
  int64_t day;
  switch (d->kind) {
    case NL_TZ_JULIAN1:
      day = days_from_civil(y, 1, 1) + d->day - 1 +
            (d->day >= 60 && is_leap(y));
      break;
    case NL_TZ_JULIAN0:
      day = days_from_civil(y, 1, 1) + d->day;
      break;
    default: {
      int64_t first = days_from_civil(y, d->month, 1);
      int wday = (int)((first % 7 + 11) % 7);
      int mday = (d->day - wday + 7) % 7; /* zero-based */
      static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
      int len = mdays[d->month - 1] + (d->month == 2 && is_leap(y));
      for (int w = 1; w < d->week && mday + 7 < len; w++)
        mday += 7;
      day = first + mday;
      break;
    }
  }
  return day * DAY + d->secs - off;
}

gboolean nl_tz_is_dst(const NlTz *tz, int64_t t) {
  if (!tz->has_dst)
    return FALSE;
  /* The year is the one of @t in UTC, as glibc takes it. */
  int64_t y;
  int m, d;
  civil_from_days(floor_div(t, DAY), &y, &m, &d);
  int64_t start = change_time(&tz->start, y, tz->std_off);
  int64_t end = change_time(&tz->end, y, tz->dst_off);
  if (start > end) /* southern hemisphere: summer spans the new year */
    return t < end || t >= start;
  return t >= start && t < end;
}

void nl_tz_local(const NlTz *tz, int64_t t, struct tm *tm) {
  gboolean dst = nl_tz_is_dst(tz, t);
  breakdown(t, dst ? tz->dst_off : tz->std_off, tm);
  tm->tm_isdst = dst;
}

void nl_tz_gmtime(int64_t t, struct tm *tm) {
  breakdown(t, 0, tm);
}

int64_t nl_tz_timegm(struct tm *tm) {
  int64_t t = fields_to_secs(tm);
  nl_tz_gmtime(t, tm);
  return t;
}

int64_t nl_tz_mktime(const NlTz *tz, struct tm *tm) {
  int64_t local = fields_to_secs(tm);
  int64_t t;
  if (tm->tm_isdst > 0 && !tz->has_dst) {
    /* Summer time asked of a zone without one: glibc moves an hour. */
    t = local - tz->std_off - 3600;
  } else if (tm->tm_isdst > 0) {
    t = local - tz->dst_off;
  } else if (tm->tm_isdst == 0 || !tz->has_dst) {
    t = local - tz->std_off;
  } else {
    /* Unknown: standard time if that reading is standard time, else
     * summer time if that one is; in the spring gap, standard time (the
     * result lies an hour later on the summer clock). */
    int64_t as_std = local - tz->std_off, as_dst = local - tz->dst_off;
    if (!nl_tz_is_dst(tz, as_std))
      t = as_std;
    else if (nl_tz_is_dst(tz, as_dst))
      t = as_dst;
    else
      t = as_std;
  }
  nl_tz_local(tz, t, tm);
  return t;
}
