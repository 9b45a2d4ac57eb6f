/* Time zones of the virtual clock: the rules a program's localtime(),
 * mktime() and strftime() follow, from the value of TZ or a host's
 * `timezone` line -- never from the machine natlab runs on.
 *
 * A zone is a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), read as glibc
 * reads one, or the name of a zone in natlab's own table ("Europe/Berlin"),
 * which holds the rule in force today for about sixty common zones (the
 * same rule the zone's tzdata file ends with).  The table is part of
 * natlab, so a name means the same on every machine, with or without
 * tzdata installed.  Historic rule changes are not modelled: the virtual
 * clock starts in 2025.
 */
#ifndef NL_TZ_H
#define NL_TZ_H

#include <glib.h>
#include <stdint.h>
#include <time.h>

G_BEGIN_DECLS

#define NL_TZ_NAME_MAX 32 /* longest abbreviation kept, with its NUL */

/* When a change between standard and summer time happens: a day of the
 * year (Jn: 1-365 without Feb 29; n: 0-365 with it) or the d-th weekday
 * of a month (Mm.w.d), at @secs after local midnight of the clock in force
 * before the change. */
typedef enum {
  NL_TZ_JULIAN1, /* Jn */
  NL_TZ_JULIAN0, /* n */
  NL_TZ_MONTH,   /* Mm.w.d */
} NlTzDateKind;

typedef struct {
  NlTzDateKind kind;
  int day;   /* Jn, n: the day; Mm.w.d: the weekday d (0 = Sunday) */
  int month; /* Mm.w.d: 1-12 */
  int week;  /* Mm.w.d: 1-5, 5 = the last */
  int32_t secs;
} NlTzDate;

/* A parsed zone.  A value type: copy it freely. */
typedef struct {
  char std_name[NL_TZ_NAME_MAX]; /* "CET"; "" when TZ could not be read */
  char dst_name[NL_TZ_NAME_MAX]; /* "CEST"; std_name without summer time */
  int32_t std_off;               /* seconds east of UTC (CET: 3600) */
  int32_t dst_off;
  gboolean has_dst; /* a summer time with change rules */
  NlTzDate start, end;
} NlTz;

/**
 * nl_tz_parse: reads @spec as glibc's tzset() reads TZ: a leading ':' is
 * dropped, "" and "UTC"-like names are UTC, a name in natlab's table is that
 * zone, anything else is read as a POSIX rule.  A rule with a summer time
 * but no change dates gets glibc's built-in default, M3.2.0,M11.1.0.
 * OUT: @out, always filled: what a read that stopped early leaves (glibc
 * keeps a valid standard name with offset 0, or UTC with empty names).
 * Returns: TRUE when all of @spec was understood.
 */
gboolean nl_tz_parse(const char *spec, NlTz *out);

/* UTC, named "UTC". */
void nl_tz_utc(NlTz *out);

/**
 * nl_tz_local: the broken-down local time of @t (seconds since the epoch)
 * in @tz, with tm_isdst and tm_gmtoff set (tm_zone is left NULL: the
 * caller points it at stable storage for tz_name(isdst)).
 * OUT: @tm.
 */
void nl_tz_local(const NlTz *tz, int64_t t, struct tm *tm);

/**
 * nl_tz_mktime: mktime() in @tz: normalises @tm (out-of-range fields
 * carry), resolves tm_isdst < 0 (a time in the spring gap is read as
 * standard time and moves forward, as glibc does), and writes back the
 * normalised local time with tm_wday, tm_yday, tm_isdst and tm_gmtoff.
 * Returns: seconds since the epoch.
 */
int64_t nl_tz_mktime(const NlTz *tz, struct tm *tm);

/* gmtime_r() and timegm(): UTC, with no zone. */
void nl_tz_gmtime(int64_t t, struct tm *tm);
int64_t nl_tz_timegm(struct tm *tm);

/* TRUE when summer time is in force at @t in @tz. */
gboolean nl_tz_is_dst(const NlTz *tz, int64_t t);

G_END_DECLS

#endif
