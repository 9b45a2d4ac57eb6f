/* Time zones of the virtual clock (sim/core/tz.c) agree with glibc: the
 * same TZ value gives the same local time, offset, summer-time flag and
 * abbreviation, around every change and across years; natlab's table of
 * named zones agrees with this machine's tzdata where it is installed; and
 * mktime() normalises as glibc's does.  The test sets TZ in its own
 * process only to ask glibc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/core/tz.h"

/* 2024-01-01 .. 2027-12-31 UTC */
#define FROM ((int64_t)1704067200)
#define TO ((int64_t)1830297600)

static void glibc_zone(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

/* Compares one instant; returns FALSE (with a message) on a difference. */
static gboolean same_at(const char *spec, const NlTz *z, int64_t t) {
  struct tm a, b;
  time_t tt = (time_t)t;
  nl_tz_local(z, t, &a);
  localtime_r(&tt, &b);
  const char *name = a.tm_isdst ? z->dst_name : z->std_name;
  if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon ||
      a.tm_mday != b.tm_mday || a.tm_hour != b.tm_hour ||
      a.tm_min != b.tm_min || a.tm_sec != b.tm_sec ||
      a.tm_wday != b.tm_wday || a.tm_yday != b.tm_yday ||
      a.tm_isdst != b.tm_isdst || a.tm_gmtoff != b.tm_gmtoff ||
      strcmp(name, b.tm_zone) != 0) {
    print_error("%s at %lld: lab %04d-%02d-%02d %02d:%02d:%02d wday %d yday %d "
                "dst %d off %ld %s; glibc %04d-%02d-%02d %02d:%02d:%02d wday "
                "%d yday %d dst %d off %ld %s\n",
                spec, (long long)t, a.tm_year + 1900, a.tm_mon + 1, a.tm_mday,
                a.tm_hour, a.tm_min, a.tm_sec, a.tm_wday, a.tm_yday,
                a.tm_isdst, a.tm_gmtoff, name, b.tm_year + 1900, b.tm_mon + 1,
                b.tm_mday, b.tm_hour, b.tm_min, b.tm_sec, b.tm_wday, b.tm_yday,
                b.tm_isdst, b.tm_gmtoff, b.tm_zone);
    return FALSE;
  }
  return TRUE;
}

/* Every 5 h 17 min over four years, and each second around a change. */
static void compare_zone(const char *spec) {
  NlTz z;
  nl_tz_parse(spec, &z);
  glibc_zone(spec);
  guint bad = 0;
  for (int64_t t = FROM; t < TO && bad < 5; t += 5 * 3600 + 17 * 60)
    bad += !same_at(spec, &z, t);
  for (int64_t t = FROM; t < TO && bad < 5; t += 3600) {
    if (nl_tz_is_dst(&z, t) == nl_tz_is_dst(&z, t + 3600))
      continue;
    for (int64_t u = t - 2; u <= t + 3602 && bad < 5; u++)
      bad += !same_at(spec, &z, u);
  }
  assert_int_equal(bad, 0);
}

/* POSIX rules need no zone files: glibc reads them as natlab does.
 * (A summer time without dates is left out: glibc then reads the
 * machine's posixrules file, which natlab never does.) */
static void test_tz_posix_rules_match_glibc(void **state) {
  static const char *const specs[] = {
    "UTC0", "GMT0", "JST-9", "<+0545>-5:45", "IST-5:30", "ABC1:30:45",
    "CET-1CEST,M3.5.0,M10.5.0/3", "EET-2EEST,M3.5.0/3,M10.5.0/4",
    "EST5EDT,M3.2.0,M11.1.0", "GMT0BST,M3.5.0/1,M10.5.0",
    "AEST-10AEDT,M10.1.0,M4.1.0/3", "NZST-12NZDT,M9.5.0,M4.1.0/3",
    "IST-2IDT,M3.4.4/26,M10.5.0", "EET-2EEST,M4.5.5/0,M10.5.4/24",
    "<-04>4<-03>,M9.1.6/24,M4.1.6/24", "<-01>1<+00>,M3.5.0/0,M10.5.0/1",
    "IST-1GMT0,M10.5.0,M3.5.0/1", "ABC1DEF,J60,J300", "ABC1DEF,59,300",
    "ABC1DEF0:30,M3.5.0/-1,M10.5.0/26", "ABC-25", "ABC24", "<A-1>1",
    "ABC+1", "ABC", "AB", "1", "Foo/Bar", "ABC1xy",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(specs); i++)
    compare_zone(specs[i]);
}

/* What a TZ value that cannot be read leaves, as glibc leaves it. */
static void test_tz_partial_rules_keep_what_glibc_keeps(void **state) {
  NlTz z;
  assert_false(nl_tz_parse("Foo/Bar", &z));
  assert_string_equal(z.std_name, "Foo");
  assert_string_equal(z.dst_name, "");
  assert_int_equal(z.std_off, 0);
  assert_false(nl_tz_parse("AB", &z));
  assert_string_equal(z.std_name, "");
  assert_true(nl_tz_parse("", &z));
  assert_string_equal(z.std_name, "UTC");
  assert_true(nl_tz_parse(":Europe/Berlin", &z));
  assert_int_equal(z.std_off, 3600);
  assert_true(nl_tz_parse("/usr/share/zoneinfo/Asia/Tokyo", &z));
  assert_int_equal(z.std_off, 9 * 3600);
  assert_true(nl_tz_parse("Etc/GMT+5", &z));
  assert_string_equal(z.std_name, "-05");
  assert_int_equal(z.std_off, -5 * 3600);
  /* A summer time without dates: glibc's built-in US dates, always. */
  assert_true(nl_tz_parse("ABC1DEF", &z));
  assert_true(z.has_dst);
  assert_int_equal(z.start.month, 3);
  assert_int_equal(z.start.week, 2);
  assert_int_equal(z.end.month, 11);
}

/* The lab's clock starts 2025-01-01T00:00:00Z: Kathmandu reads 05:45,
 * whether or not this machine has tzdata. */
static void test_tz_named_zone_without_tzdata(void **state) {
  NlTz z;
  struct tm tm;
  assert_true(nl_tz_parse("Asia/Kathmandu", &z));
  nl_tz_local(&z, 1735689600, &tm);
  assert_int_equal(tm.tm_hour, 5);
  assert_int_equal(tm.tm_min, 45);
  assert_int_equal(tm.tm_gmtoff, 5 * 3600 + 45 * 60);
  assert_string_equal(z.std_name, "+0545");
  assert_true(nl_tz_parse("America/New_York", &z));
  nl_tz_local(&z, 1751328000, &tm); /* 2025-07-01T00:00Z */
  assert_int_equal(tm.tm_isdst, 1);
  assert_int_equal(tm.tm_hour, 20);
  assert_int_equal(tm.tm_mday, 30);
}

/* natlab's table against this machine's tzdata (skipped without it). */
static void test_tz_named_zones_match_tzdata(void **state) {
  static const char *const names[] = {
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Helsinki",
    "Europe/Moscow", "Africa/Cairo", "Asia/Kolkata", "Asia/Kathmandu",
    "Asia/Tokyo", "Asia/Jerusalem", "Australia/Sydney", "Australia/Adelaide",
    "Pacific/Auckland", "America/New_York", "America/Los_Angeles",
    "America/St_Johns", "America/Sao_Paulo", "America/Santiago",
    "Atlantic/Azores", "Etc/GMT+5", "Etc/GMT-14", "CET", "EST5EDT",
  };
  guint checked = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *path = g_strdup_printf("/usr/share/zoneinfo/%s", names[i]);
    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
      compare_zone(names[i]);
      checked++;
    }
    g_free(path);
  }
  if (checked == 0)
    skip();
}

static time_t glibc_mktime(const char *spec, struct tm *tm) {
  glibc_zone(spec);
  return mktime(tm);
}

/* mktime() carries out-of-range fields and resolves tm_isdst as glibc. */
static void test_tz_mktime_normalises_as_glibc(void **state) {
  static const char *const specs[] = {"UTC0", "CET-1CEST,M3.5.0,M10.5.0/3",
                                      "EST5EDT,M3.2.0,M11.1.0",
                                      "AEST-10AEDT,M10.1.0,M4.1.0/3"};
  static const int fields[][7] = {
    /* year-1900, mon, mday, hour, min, sec, isdst */
    {125, 0, 1, 0, 0, 0, -1},    {125, 6, 15, 12, 30, 0, -1},
    {125, 0, 32, 25, 61, 61, -1}, {125, 13, 1, 0, 0, 0, 0},
    {125, -1, 1, 0, 0, 0, -1},   {125, 1, 29, 0, 0, 0, -1},
    {124, 1, 29, 0, 0, 0, -1},   {125, 6, 1, 12, 0, 0, 0},
    {125, 0, 1, 12, 0, 0, 1},    {125, 2, 30, 2, 30, 0, -1},
    {125, 2, 9, 2, 30, 0, -1},   {125, 5, 0, 0, 0, -3600, -1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(specs); i++) {
    NlTz z;
    nl_tz_parse(specs[i], &z);
    for (size_t j = 0; j < G_N_ELEMENTS(fields); j++) {
      struct tm a = {.tm_year = fields[j][0], .tm_mon = fields[j][1],
                     .tm_mday = fields[j][2], .tm_hour = fields[j][3],
                     .tm_min = fields[j][4], .tm_sec = fields[j][5],
                     .tm_isdst = fields[j][6]};
      struct tm b = a;
      int64_t ta = nl_tz_mktime(&z, &a);
      time_t tb = glibc_mktime(specs[i], &b);
      if (ta != tb || a.tm_hour != b.tm_hour || a.tm_mday != b.tm_mday ||
          a.tm_mon != b.tm_mon || a.tm_isdst != b.tm_isdst ||
          a.tm_wday != b.tm_wday || a.tm_yday != b.tm_yday)
        print_error("%s row %zu: lab %lld %02d %02d:%02d dst %d, glibc %lld "
                    "%02d %02d:%02d dst %d\n",
                    specs[i], j, (long long)ta, a.tm_mday, a.tm_hour, a.tm_min,
                    a.tm_isdst, (long long)tb, b.tm_mday, b.tm_hour, b.tm_min,
                    b.tm_isdst);
      assert_int_equal(ta, tb);
      assert_int_equal(a.tm_isdst, b.tm_isdst);
      assert_int_equal(a.tm_hour, b.tm_hour);
      assert_int_equal(a.tm_wday, b.tm_wday);
      assert_int_equal(a.tm_yday, b.tm_yday);
    }
  }
}

static void test_tz_gmtime_and_timegm_round_trip(void **state) {
  for (int64_t t = -86400 * 365 * 3; t < TO; t += 86400 * 13 + 4567) {
    struct tm a, b;
    time_t tt = (time_t)t;
    nl_tz_gmtime(t, &a);
    gmtime_r(&tt, &b);
    assert_int_equal(a.tm_year, b.tm_year);
    assert_int_equal(a.tm_yday, b.tm_yday);
    assert_int_equal(a.tm_wday, b.tm_wday);
    assert_int_equal(a.tm_hour, b.tm_hour);
    assert_int_equal(nl_tz_timegm(&a), t);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tz_posix_rules_match_glibc),
    cmocka_unit_test(test_tz_partial_rules_keep_what_glibc_keeps),
    cmocka_unit_test(test_tz_named_zone_without_tzdata),
    cmocka_unit_test(test_tz_named_zones_match_tzdata),
    cmocka_unit_test(test_tz_mktime_normalises_as_glibc),
    cmocka_unit_test(test_tz_gmtime_and_timegm_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
