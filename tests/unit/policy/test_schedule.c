/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of policy/schedule.c and policy/tzfile.c: window boundaries, midnight and week
 * wrap, overlapping rules against a brute-force oracle, the zone clock for Asia/Ho_Chi_Minh
 * and a DST zone (the missing and the repeated hour), footer rules, leap-second zones, corrupt
 * and truncated zone files, and allocation failures. Time is always injected, nothing sleeps.
 *
 * The tests of real zones read /usr/share/zoneinfo (Debian package tzdata) and are skipped
 * when it is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "policy/schedule.h"

#define GAMES (1u << 5)
#define SOCIAL (1u << 6)
#define ADULT (1u << 1)
#define WEEKDAYS_SAT (POL_DAY_ALL & ~POL_DAY_SUN)

/* Minute of week from day (0 = Monday), hour and minute. */
static unsigned mow(unsigned day, unsigned h, unsigned m)
{
	return day * POL_MINUTES_PER_DAY + h * 60 + m;
}

/* UTC seconds of a UTC civil time (timegm does not depend on TZ). */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};

	return (int64_t)timegm(&tm);
}

static bool have_zoneinfo(void)
{
	return access(POL_CLOCK_ZONEINFO_DIR "/Asia/Ho_Chi_Minh", R_OK) == 0;
}

static struct pol_schedule *build(const struct pol_schedule_rule *rules, size_t n)
{
	struct pol_schedule *s = NULL;

	assert_int_equal(pol_schedule_new(rules, n, &s), 0);
	assert_non_null(s);
	return s;
}

/* "block: [games, social], days: [mon..sat], from: 07:00, to: 17:00" */
static void test_class_hours(void **state)
{
	struct pol_schedule_rule r = {.categories = GAMES | SOCIAL,
				      .days = WEEKDAYS_SAT,
				      .from_min = 7 * 60,
				      .to_min = 17 * 60};
	struct pol_schedule *s = build(&r, 1);

	for (unsigned d = 0; d < 6; d++) {
		assert_int_equal(pol_schedule_categories(s, mow(d, 6, 59)), 0);
		assert_int_equal(pol_schedule_categories(s, mow(d, 7, 0)), GAMES | SOCIAL);
		assert_int_equal(pol_schedule_categories(s, mow(d, 16, 59)), GAMES | SOCIAL);
		assert_int_equal(pol_schedule_categories(s, mow(d, 17, 0)), 0);
		assert_int_equal(pol_schedule_minutes_until_change(s, mow(d, 6, 59)), 1);
		assert_int_equal(pol_schedule_minutes_until_change(s, mow(d, 7, 0)), 600);
		assert_int_equal(pol_schedule_minutes_until_change(s, mow(d, 16, 59)), 1);
	}
	/* Sunday is free; Saturday 17:00 to Monday 07:00 is one stretch. */
	assert_int_equal(pol_schedule_categories(s, mow(6, 10, 0)), 0);
	assert_int_equal(pol_schedule_minutes_until_change(s, mow(5, 17, 0)), 14 * 60 + 24 * 60);
	assert_int_equal(pol_schedule_minutes_until_change(s, mow(6, 23, 59)), 7 * 60 + 1);
	/* Minutes of week beyond the week are taken modulo the week. */
	assert_int_equal(pol_schedule_categories(s, POL_MINUTES_PER_WEEK + mow(0, 7, 0)),
			 GAMES | SOCIAL);
	assert_int_equal(pol_schedule_rule_count(s), 1);
	assert_int_equal(pol_schedule_rule(s, 0)->categories, r.categories);
	assert_int_equal(pol_schedule_rule(s, 0)->days, r.days);
	assert_int_equal(pol_schedule_rule(s, 0)->from_min, r.from_min);
	assert_int_equal(pol_schedule_rule(s, 0)->to_min, r.to_min);
	assert_null(pol_schedule_rule(s, 1));
	assert_true(pol_schedule_rule_is_active(&r, mow(2, 7, 30)));
	assert_false(pol_schedule_rule_is_active(&r, mow(6, 7, 30)));
	pol_schedule_free(s);
}

/* 22:00–06:00 on Friday: the days name the day the window starts. */
static void test_midnight(void **state)
{
	struct pol_schedule_rule r = {
		.categories = SOCIAL, .days = POL_DAY_FRI, .from_min = 22 * 60, .to_min = 6 * 60};
	struct pol_schedule *s = build(&r, 1);

	assert_int_equal(pol_schedule_categories(s, mow(4, 21, 59)), 0);
	assert_int_equal(pol_schedule_categories(s, mow(4, 22, 0)), SOCIAL);
	assert_int_equal(pol_schedule_categories(s, mow(4, 23, 59)), SOCIAL);
	assert_int_equal(pol_schedule_categories(s, mow(5, 0, 0)), SOCIAL);
	assert_int_equal(pol_schedule_categories(s, mow(5, 5, 59)), SOCIAL);
	assert_int_equal(pol_schedule_categories(s, mow(5, 6, 0)), 0);
	/* Saturday evening is not Friday evening, and Friday morning is not after Thursday. */
	assert_int_equal(pol_schedule_categories(s, mow(5, 22, 0)), 0);
	assert_int_equal(pol_schedule_categories(s, mow(4, 5, 0)), 0);
	assert_int_equal(pol_schedule_minutes_until_change(s, mow(4, 22, 0)), 8 * 60);
	assert_true(pol_schedule_rule_is_active(&r, mow(5, 5, 59)));
	assert_false(pol_schedule_rule_is_active(&r, mow(5, 6, 0)));
	pol_schedule_free(s);
}

/* Sunday night into Monday morning wraps the week. */
static void test_week_wrap(void **state)
{
	struct pol_schedule_rule r = {
		.categories = GAMES, .days = POL_DAY_SUN, .from_min = 22 * 60, .to_min = 6 * 60};
	struct pol_schedule *s = build(&r, 1);

	assert_int_equal(pol_schedule_categories(s, mow(6, 21, 59)), 0);
	assert_int_equal(pol_schedule_categories(s, mow(6, 22, 0)), GAMES);
	assert_int_equal(pol_schedule_categories(s, POL_MINUTES_PER_WEEK - 1), GAMES);
	assert_int_equal(pol_schedule_categories(s, 0), GAMES);
	assert_int_equal(pol_schedule_categories(s, mow(0, 5, 59)), GAMES);
	assert_int_equal(pol_schedule_categories(s, mow(0, 6, 0)), 0);
	/* The window is one stretch of 8 hours even though the week ends in the middle. */
	assert_int_equal(pol_schedule_minutes_until_change(s, mow(6, 22, 0)), 8 * 60);
	assert_int_equal(pol_schedule_minutes_until_change(s, mow(0, 0, 0)), 6 * 60);
	assert_int_equal(pol_schedule_minutes_until_change(s, mow(0, 6, 0)), 7 * 1440 - 8 * 60);
	assert_true(pol_schedule_rule_is_active(&r, mow(0, 1, 0)));
	pol_schedule_free(s);
}

static void test_whole_day_overlap_empty(void **state)
{
	struct pol_schedule_rule rules[] = {
		{.categories = ADULT, .days = POL_DAY_ALL, .from_min = 0, .to_min = 1440},
		{.categories = GAMES, .days = POL_DAY_MON, .from_min = 7 * 60, .to_min = 12 * 60},
		{.categories = GAMES | SOCIAL,
		 .days = POL_DAY_MON,
		 .from_min = 11 * 60,
		 .to_min = 13 * 60},
		{.categories = 0, .days = POL_DAY_ALL, .from_min = 0, .to_min = 60},
		{.categories = SOCIAL, .days = 0, .from_min = 0, .to_min = 60},
	};
	struct pol_schedule *s = build(rules, 5);

	assert_int_equal(pol_schedule_categories(s, mow(0, 0, 0)), ADULT);
	assert_int_equal(pol_schedule_categories(s, mow(6, 23, 59)), ADULT);
	assert_int_equal(pol_schedule_categories(s, mow(0, 10, 59)), ADULT | GAMES);
	assert_int_equal(pol_schedule_categories(s, mow(0, 11, 0)), ADULT | GAMES | SOCIAL);
	assert_int_equal(pol_schedule_categories(s, mow(0, 12, 0)), ADULT | GAMES | SOCIAL);
	assert_int_equal(pol_schedule_categories(s, mow(0, 13, 0)), ADULT);
	pol_schedule_free(s);

	/* A whole day on every day never changes. */
	s = build(rules, 1);
	assert_int_equal(pol_schedule_minutes_until_change(s, 1234), POL_MINUTES_PER_WEEK);
	pol_schedule_free(s);

	/* No rule, or no schedule at all: nothing is blocked. */
	s = build(NULL, 0);
	for (unsigned m = 0; m < POL_MINUTES_PER_WEEK; m += 7)
		assert_int_equal(pol_schedule_categories(s, m), 0);
	assert_int_equal(pol_schedule_rule_count(s), 0);
	pol_schedule_free(s);
	assert_int_equal(pol_schedule_categories(NULL, 100), 0);
	assert_int_equal(pol_schedule_minutes_until_change(NULL, 100), POL_MINUTES_PER_WEEK);
	assert_null(pol_schedule_free(NULL));
}

static void test_invalid(void **state)
{
	static const struct pol_schedule_rule bad[] = {
		{.categories = 1, .days = 1, .from_min = 420, .to_min = 420}, /* empty */
		{.categories = 1, .days = 1, .from_min = 1440, .to_min = 60}, /* from 24:00 */
		{.categories = 1, .days = 1, .from_min = 0, .to_min = 1441},
		{.categories = 1, .days = 0x80, .from_min = 0, .to_min = 60}, /* day 7 */
	};
	struct pol_schedule_rule ok = {.categories = 1, .days = 1, .from_min = 0, .to_min = 60};
	struct pol_schedule_rule *many;
	struct pol_schedule *s = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pol_schedule_new(&bad[i], 1, &s), -EINVAL);
		assert_null(s);
		assert_false(pol_schedule_rule_is_active(&bad[i], 30));
	}
	many = calloc(POL_SCHEDULE_MAX_RULES + 1, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i <= POL_SCHEDULE_MAX_RULES; i++)
		many[i] = ok;
	assert_int_equal(pol_schedule_new(many, POL_SCHEDULE_MAX_RULES + 1, &s), CORE_ELIMIT);
	assert_int_equal(pol_schedule_new(many, POL_SCHEDULE_MAX_RULES, &s), 0);
	s = pol_schedule_free(s);
	free(many);
}

static uint32_t lcg(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(*seed >> 33);
}

/* Random rule sets against the obvious per-rule evaluation, on every minute of the week. */
static void test_oracle(void **state)
{
	uint64_t seed = 42;

	for (int round = 0; round < 200; round++) {
		struct pol_schedule_rule rules[12];
		size_t n = lcg(&seed) % 13;
		struct pol_schedule *s;
		uint32_t week[POL_MINUTES_PER_WEEK];

		for (size_t i = 0; i < n; i++) {
			rules[i].categories = 1u << (lcg(&seed) % 8);
			rules[i].days = (uint8_t)(lcg(&seed) & POL_DAY_ALL);
			/* Whole hours half of the time, so that windows touch and overlap. */
			rules[i].from_min = (uint16_t)(lcg(&seed) % 2 ? lcg(&seed) % 24 * 60 :
									lcg(&seed) % 1440);
			do {
				rules[i].to_min = (uint16_t)(lcg(&seed) % 2 ? lcg(&seed) % 25 * 60 :
									      lcg(&seed) % 1441);
			} while (rules[i].to_min == rules[i].from_min);
		}
		s = build(rules, n);
		for (unsigned m = 0; m < POL_MINUTES_PER_WEEK; m++) {
			week[m] = 0;
			for (size_t i = 0; i < n; i++) {
				if (pol_schedule_rule_is_active(&rules[i], m))
					week[m] |= rules[i].categories;
			}
			assert_int_equal(pol_schedule_categories(s, m), week[m]);
		}
		for (unsigned m = 0; m < POL_MINUTES_PER_WEEK; m += 13) {
			unsigned k = 1;

			while (k < POL_MINUTES_PER_WEEK &&
			       week[(m + k) % POL_MINUTES_PER_WEEK] == week[m])
				k++;
			assert_int_equal(pol_schedule_minutes_until_change(s, m), k);
		}
		pol_schedule_free(s);
	}
}

static void test_schedule_enomem(void **state)
{
	struct pol_schedule_rule r = {.categories = 1, .days = 1, .from_min = 0, .to_min = 60};
	struct pol_schedule *s = NULL;
	uint64_t live = core_alloc_live_bytes();

	for (uint64_t i = 1; i <= 2; i++) {
		core_alloc_fail_at(i);
		assert_int_equal(pol_schedule_new(&r, 1, &s), -ENOMEM);
		assert_null(s);
	}
	core_alloc_fail_at(0);
	assert_int_equal(core_alloc_live_bytes(), live);
}

/* Asia/Ho_Chi_Minh is UTC+7 with no DST since 1975. */
static void test_clock_vietnam(void **state)
{
	struct pol_clock c;
	struct pol_schedule_rule r = {.categories = GAMES | SOCIAL,
				      .days = WEEKDAYS_SAT,
				      .from_min = 7 * 60,
				      .to_min = 17 * 60};
	struct pol_schedule *s = build(&r, 1);

	if (!have_zoneinfo()) {
		pol_schedule_free(s);
		skip();
	}
	assert_int_equal(pol_clock_init(&c, NULL), 0); /* the default zone */
	assert_string_equal(c.zone, "Asia/Ho_Chi_Minh");
	/* 2026-11-25T00:30Z is Wednesday 07:30 local. */
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 11, 25, 0, 30, 0)), mow(2, 7, 30));
	assert_int_equal(pol_clock_utc_offset(&c, utc(2026, 11, 25, 0, 30, 0)), 7 * 3600);
	/* Class-hour boundaries of that Wednesday, injected as UTC seconds. */
	assert_int_equal(pol_schedule_categories(
				 s, pol_clock_minute_of_week(&c, utc(2026, 11, 24, 23, 59, 59))),
			 0);
	assert_int_equal(pol_schedule_categories(
				 s, pol_clock_minute_of_week(&c, utc(2026, 11, 25, 0, 0, 0))),
			 GAMES | SOCIAL);
	assert_int_equal(pol_schedule_categories(
				 s, pol_clock_minute_of_week(&c, utc(2026, 11, 25, 9, 59, 59))),
			 GAMES | SOCIAL);
	assert_int_equal(pol_schedule_categories(
				 s, pol_clock_minute_of_week(&c, utc(2026, 11, 25, 10, 0, 0))),
			 0);
	/* Sunday 2026-11-29T16:59:59Z is Sunday 23:59:59; a second later it is Monday 00:00. */
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 11, 29, 16, 59, 59)),
			 POL_MINUTES_PER_WEEK - 1);
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 11, 29, 17, 0, 0)), 0);
	/* Before 1975 (Saigon was at +08:00 from 1959) and before the epoch. */
	assert_int_equal(pol_clock_utc_offset(&c, utc(1970, 1, 1, 0, 0, 0)), 8 * 3600);
	assert_int_equal(pol_clock_minute_of_week(&c, -1), mow(3, 7, 59)); /* Thu 1970-01-01 */
	/* Far future and extremes stay in the week. */
	assert_int_equal(pol_clock_utc_offset(&c, utc(2300, 1, 1, 0, 0, 0)), 7 * 3600);
	assert_true(pol_clock_minute_of_week(&c, INT64_MAX) < POL_MINUTES_PER_WEEK);
	assert_true(pol_clock_minute_of_week(&c, INT64_MIN) < POL_MINUTES_PER_WEEK);
	pol_clock_deinit(&c);
	pol_clock_deinit(&c); /* twice is fine */
	pol_schedule_free(s);
}

/* Europe/Berlin: on 2026-03-29 02:00–02:59 does not exist; on 2026-10-25 it happens twice. */
static void test_clock_dst(void **state)
{
	struct pol_clock c;
	struct pol_schedule_rule r = {
		.categories = GAMES, .days = POL_DAY_SUN, .from_min = 2 * 60, .to_min = 3 * 60};
	struct pol_schedule *s = build(&r, 1);
	int64_t day;
	unsigned blocked;

	if (!have_zoneinfo()) {
		pol_schedule_free(s);
		skip();
	}
	assert_int_equal(pol_clock_init(&c, "Europe/Berlin"), 0);
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 3, 29, 0, 59, 59)), mow(6, 1, 59));
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 3, 29, 1, 0, 0)), mow(6, 3, 0));
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 10, 25, 0, 59, 59)), mow(6, 2, 59));
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 10, 25, 1, 0, 0)), mow(6, 2, 0));

	/* Walk each Sunday minute by minute in UTC: the 02:00–03:00 window lasts 0 and 120 min. */
	day = utc(2026, 3, 28, 22, 0, 0);
	blocked = 0;
	for (int64_t t = day; t < day + 86400; t += 60)
		blocked += pol_schedule_categories(s, pol_clock_minute_of_week(&c, t)) != 0;
	assert_int_equal(blocked, 0);
	day = utc(2026, 10, 24, 22, 0, 0);
	blocked = 0;
	for (int64_t t = day; t < day + 86400; t += 60)
		blocked += pol_schedule_categories(s, pol_clock_minute_of_week(&c, t)) != 0;
	assert_int_equal(blocked, 120);

	/* Beyond the file's transitions (2037) the footer rule CET-1CEST,M3.5.0,M10.5.0/3 holds. */
	assert_int_equal(pol_clock_utc_offset(&c, 2216250000 - 1), 3600); /* 2040-03-25 01:00Z */
	assert_int_equal(pol_clock_utc_offset(&c, 2216250000), 7200);
	assert_int_equal(pol_clock_utc_offset(&c, 2234998800 - 1), 7200); /* 2040-10-28 */
	assert_int_equal(pol_clock_utc_offset(&c, 2234998800), 3600);
	assert_int_equal(pol_clock_utc_offset(&c, 5687802000 - 1), 3600); /* 2150-03-29 */
	assert_int_equal(pol_clock_utc_offset(&c, 5687802000), 7200);
	assert_int_equal(pol_clock_utc_offset(&c, 5705946000 - 1), 7200); /* 2150-10-25 */
	assert_int_equal(pol_clock_utc_offset(&c, 5705946000), 3600);
	pol_clock_deinit(&c);
	pol_schedule_free(s);
}

/* Our conversion against glibc's localtime_r (the test, unlike the module, may set TZ). */
static void test_clock_vs_libc(void **state)
{
	static const char *const zones[] = {
		"Asia/Ho_Chi_Minh",  "Asia/Bangkok",	 "Europe/Berlin",
		"Europe/Dublin",     "Europe/London",	 "America/New_York",
		"America/Sao_Paulo", "Australia/Sydney", "Australia/Lord_Howe",
		"Pacific/Chatham",   "Asia/Tehran",	 "Africa/Casablanca",
		"America/Santiago",  "Antarctica/Troll", "UTC",
	};
	uint64_t seed = 7;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	if (!have_zoneinfo())
		skip();
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct pol_clock c;
		char tz[128];

		assert_int_equal(pol_clock_init(&c, zones[z]), 0);
		snprintf(tz, sizeof(tz), ":%s", zones[z]);
		setenv("TZ", tz, 1);
		tzset();
		/* 1902 to 2199, random seconds. */
		for (int i = 0; i < 20000; i++) {
			int64_t t =
				-2145916800 + (int64_t)(((uint64_t)lcg(&seed) << 32 | lcg(&seed)) %
							(uint64_t)9400000000);
			time_t tt = (time_t)t;
			struct tm tm;
			unsigned want;

			assert_non_null(localtime_r(&tt, &tm));
			want = (unsigned)((tm.tm_wday + 6) % 7) * POL_MINUTES_PER_DAY +
			       (unsigned)tm.tm_hour * 60 + (unsigned)tm.tm_min;
			if (pol_clock_utc_offset(&c, t) != tm.tm_gmtoff)
				fail_msg("%s at %lld: offset %d, libc %ld", zones[z], (long long)t,
					 pol_clock_utc_offset(&c, t), tm.tm_gmtoff);
			assert_int_equal(pol_clock_minute_of_week(&c, t), want);
		}
		pol_clock_deinit(&c);
	}
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/*
 * A "right/" zone counts leap seconds; converted, its offsets are those of the plain zone. (zic
 * writes no footer rule for it, so it ends with the file's last transition, in 2037.)
 */
static void test_clock_leap_seconds(void **state)
{
	struct pol_clock plain, right;

	if (!have_zoneinfo() || access(POL_CLOCK_ZONEINFO_DIR "/right/Europe/Berlin", R_OK) != 0)
		skip();
	assert_int_equal(pol_clock_init(&plain, "Europe/Berlin"), 0);
	assert_int_equal(pol_clock_init(&right, "right/Europe/Berlin"), 0);
	assert_true(right.n_at > 100 && right.n_at <= plain.n_at);
	for (size_t i = 0; i < right.n_at; i++) {
		assert_int_equal(plain.at[i], right.at[i]);
		assert_int_equal(plain.utoff[i + 1], right.utoff[i + 1]);
	}
	pol_clock_deinit(&plain);
	pol_clock_deinit(&right);
}

static uint8_t *slurp(const char *path, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*out_len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* Every proper prefix of a zone file is refused, from memory and from a file. */
static void test_clock_truncated(void **state)
{
	static const char *const zones[] = {"Asia/Ho_Chi_Minh", "Europe/Berlin", "UTC"};
	char dir[] = "/tmp/lanhmanh-test-tz.XXXXXX", path[64];

	if (!have_zoneinfo())
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/zone", dir);
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		char src[128];
		size_t len;
		uint8_t *img;
		struct pol_clock c;

		snprintf(src, sizeof(src), "%s/%s", POL_CLOCK_ZONEINFO_DIR, zones[z]);
		img = slurp(src, &len);
		assert_int_equal(pol_clock_init_buffer(&c, zones[z], img, len), 0);
		pol_clock_deinit(&c);
		for (size_t n = 0; n < len; n++) {
			uint8_t *cut = malloc(n ? n : 1);

			memcpy(cut, img, n);
			assert_int_equal(pol_clock_init_buffer(&c, "cut", cut, n), CORE_EPARSE);
			pol_clock_deinit(&c);
			free(cut);
		}
		/* The truncated copy a config would point at. */
		{
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			assert_true(fd >= 0);
			assert_int_equal(write(fd, img, len - 1), (ssize_t)(len - 1));
			close(fd);
			assert_int_equal(pol_clock_init_file(&c, path), CORE_EPARSE);
			pol_clock_deinit(&c);
		}
		/* A bad magic. */
		img[0] = 'X';
		assert_int_equal(pol_clock_init_buffer(&c, "bad", img, len), CORE_EPARSE);
		free(img);
	}
	unlink(path);
	rmdir(dir);
}

static void test_clock_names(void **state)
{
	struct pol_clock c;

	assert_int_equal(pol_clock_init(&c, ""), -EINVAL);
	assert_int_equal(pol_clock_init(&c, "/etc/passwd"), -EINVAL);
	assert_int_equal(pol_clock_init(&c, "../../etc/passwd"), -EINVAL);
	assert_int_equal(pol_clock_init(&c, "Asia/../UTC"), -EINVAL);
	assert_int_equal(pol_clock_init(&c, "Asia//Saigon"), -EINVAL);
	assert_int_equal(pol_clock_init(&c, "Asia/Ho Chi Minh"), -EINVAL);
	pol_clock_deinit(&c);
	if (!have_zoneinfo())
		skip();
	assert_int_equal(pol_clock_init(&c, "Asia/Hanoi_Nowhere"), -ENOENT);
	assert_int_equal(pol_clock_init(&c, "Asia"), -EISDIR);
	assert_int_equal(pol_clock_init(&c, "Etc/GMT-7"), 0); /* POSIX sign: UTC+7 */
	assert_int_equal(pol_clock_utc_offset(&c, 0), 7 * 3600);
	pol_clock_deinit(&c);
	assert_int_equal(pol_clock_init(&c, "UTC"), 0);
	assert_int_equal(pol_clock_minute_of_week(&c, 0), mow(3, 0, 0));
	pol_clock_deinit(&c);
	assert_int_equal(pol_clock_init_file(&c, "/nonexistent/zone"), -ENOENT);
}

static void test_clock_fixed(void **state)
{
	struct pol_clock c;

	assert_int_equal(pol_clock_init_fixed(&c, "+07", 7 * 3600), 0);
	assert_int_equal(pol_clock_minute_of_week(&c, utc(2026, 11, 25, 0, 30, 0)), mow(2, 7, 30));
	pol_clock_deinit(&c);
	assert_int_equal(pol_clock_init_fixed(&c, "bad", 26 * 3600), -EINVAL);
	pol_clock_deinit(&c);
}

/* A TZif image built in memory: @n transitions at @at to types @idx, types @utoff. */
struct tzif {
	uint8_t buf[4096];
	size_t len;
};

static void put32(struct tzif *z, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		z->buf[z->len++] = (uint8_t)(v >> (8 * i));
}

static void put64(struct tzif *z, int64_t v)
{
	put32(z, (uint32_t)((uint64_t)v >> 32));
	put32(z, (uint32_t)v);
}

static void put_block(struct tzif *z, char version, size_t tsize, const int64_t *at,
		      const uint8_t *idx, size_t n, const int32_t *utoff, size_t ntypes)
{
	memcpy(z->buf + z->len, "TZif", 4);
	z->len += 4;
	z->buf[z->len++] = (uint8_t)version;
	memset(z->buf + z->len, 0, 15);
	z->len += 15;
	put32(z, 0); /* isutcnt */
	put32(z, 0); /* isstdcnt */
	put32(z, 0); /* leapcnt */
	put32(z, (uint32_t)n);
	put32(z, (uint32_t)ntypes);
	put32(z, 4); /* charcnt: "ABC\0" */
	for (size_t i = 0; i < n; i++) {
		if (tsize == 4)
			put32(z, (uint32_t)at[i]);
		else
			put64(z, at[i]);
	}
	for (size_t i = 0; i < n; i++)
		z->buf[z->len++] = idx[i];
	for (size_t i = 0; i < ntypes; i++) {
		put32(z, (uint32_t)utoff[i]);
		z->buf[z->len++] = 0;
		z->buf[z->len++] = 0;
	}
	memcpy(z->buf + z->len, "ABC", 4);
	z->len += 4;
}

/* A version 2 file; @footer NULL leaves the footer out. */
static void make_v2(struct tzif *z, const int64_t *at, const uint8_t *idx, size_t n,
		    const int32_t *utoff, size_t ntypes, const char *footer)
{
	z->len = 0;
	put_block(z, '2', 4, at, idx, n, utoff, ntypes);
	put_block(z, '2', 8, at, idx, n, utoff, ntypes);
	if (footer) {
		z->buf[z->len++] = '\n';
		memcpy(z->buf + z->len, footer, strlen(footer));
		z->len += strlen(footer);
		z->buf[z->len++] = '\n';
	}
}

static int load(struct pol_clock *c, const struct tzif *z)
{
	return pol_clock_init_buffer(c, "test", z->buf, z->len);
}

/* Footer rules on their own (no transitions): all-year DST, negative DST, v3 hours, errors. */
static void test_clock_footer(void **state)
{
	static const char *const bad[] = {
		"CET-1CEST", /* DST without dates */
		"CET",
		"C-1",
		"CET-1CEST,M3.5.0",
		"CET-1CEST,M13.5.0,M10.5.0",
		"CET-1CEST,M3.6.0,M10.5.0",
		"CET-1CEST,J0,J365",
		"CET-1CEST,M3.5.0,M10.5.0/168",
		"<+07-7",
		"XYZ-27",
		"CET-1CEST,M3.5.0,M10.5.0x",
	};
	int32_t zero = 0;
	struct pol_clock c;
	struct tzif z;

	/* Fixed footer with no transition sets the offset; an empty one keeps type 0. */
	make_v2(&z, NULL, NULL, 0, &zero, 1, "<+07>-7");
	assert_int_equal(load(&c, &z), 0);
	assert_int_equal(pol_clock_utc_offset(&c, 1795566600), 7 * 3600);
	pol_clock_deinit(&c);
	make_v2(&z, NULL, NULL, 0, &zero, 1, "");
	assert_int_equal(load(&c, &z), 0);
	assert_int_equal(pol_clock_utc_offset(&c, 1795566600), 0);
	pol_clock_deinit(&c);

	/* DST all year long (tzcode's own example): always -4 h, no change at the year end. */
	make_v2(&z, NULL, NULL, 0, &zero, 1, "EST5EDT,0/0,J365/25");
	assert_int_equal(load(&c, &z), 0);
	assert_true(c.n_at <= 2); /* from 1970 to the end of the expansion */
	for (int y = 1971; y < 2199; y += 7) {
		assert_int_equal(pol_clock_utc_offset(&c, utc(y, 12, 31, 23, 59, 59)), -4 * 3600);
		assert_int_equal(pol_clock_utc_offset(&c, utc(y + 1, 1, 1, 5, 0, 0)), -4 * 3600);
		assert_int_equal(pol_clock_utc_offset(&c, utc(y, 6, 1, 0, 0, 0)), -4 * 3600);
	}
	pol_clock_deinit(&c);

	/* Negative DST (Europe/Dublin): winter is "daylight" time at +0, summer standard +1. */
	make_v2(&z, NULL, NULL, 0, &zero, 1, "IST-1GMT0,M10.5.0,M3.5.0/1");
	assert_int_equal(load(&c, &z), 0);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 1, 15, 12, 0, 0)), 0);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 7, 15, 12, 0, 0)), 3600);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 3, 31, 0, 59, 59)), 0);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 3, 31, 1, 0, 0)), 3600);
	pol_clock_deinit(&c);

	/* Rule times in version 3 hours (-2 and 25), then Jn and n dates. */
	make_v2(&z, NULL, NULL, 0, &zero, 1, "<-03>3<-02>,M3.5.0/-2,M10.5.0/25");
	assert_int_equal(load(&c, &z), 0);
	/* Sat 2030-03-30 22:00 local -03 = 2030-03-31 01:00Z: DST (-02) starts. */
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 3, 31, 0, 59, 59)), -3 * 3600);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 3, 31, 1, 0, 0)), -2 * 3600);
	/* Sun 2030-10-27 + 25 h local -02 = 2030-10-28 03:00Z: back to -03. */
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 10, 28, 2, 59, 59)), -2 * 3600);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2030, 10, 28, 3, 0, 0)), -3 * 3600);
	pol_clock_deinit(&c);
	make_v2(&z, NULL, NULL, 0, &zero, 1, "AAA-2BBB-3:30,J60/0,300");
	assert_int_equal(load(&c, &z), 0);
	/* J60 is March 1st even in a leap year; day 300 (0-based) of 2032 is Oct 27. */
	assert_int_equal(pol_clock_utc_offset(&c, utc(2032, 2, 29, 21, 59, 59)), 2 * 3600);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2032, 2, 29, 22, 0, 0)), 12600);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2032, 10, 26, 22, 29, 59)), 12600);
	assert_int_equal(pol_clock_utc_offset(&c, utc(2032, 10, 26, 22, 30, 0)), 2 * 3600);
	pol_clock_deinit(&c);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_v2(&z, NULL, NULL, 0, &zero, 1, bad[i]);
		if (load(&c, &z) != CORE_EPARSE)
			fail_msg("footer '%s' accepted", bad[i]);
	}
	/* No footer at all in a version 2 file. */
	make_v2(&z, NULL, NULL, 0, &zero, 1, NULL);
	assert_int_equal(load(&c, &z), CORE_EPARSE);
}

/* Transitions: order, type indices, offsets in range, a footer that contradicts them. */
static void test_clock_transitions(void **state)
{
	int64_t at[] = {0, 1000, 2000};
	uint8_t idx[] = {1, 0, 1};
	int32_t utoff[] = {3600, 7200};
	struct pol_clock c;
	struct tzif z;

	make_v2(&z, at, idx, 3, utoff, 2, "");
	assert_int_equal(load(&c, &z), 0);
	assert_int_equal(pol_clock_utc_offset(&c, -1), 3600); /* type 0 before the first */
	assert_int_equal(pol_clock_utc_offset(&c, 0), 7200);
	assert_int_equal(pol_clock_utc_offset(&c, 999), 7200);
	assert_int_equal(pol_clock_utc_offset(&c, 1000), 3600);
	assert_int_equal(pol_clock_utc_offset(&c, 5000), 7200);
	pol_clock_deinit(&c);

	/* Version 1 (32-bit only, no footer). */
	z.len = 0;
	put_block(&z, 0, 4, at, idx, 3, utoff, 2);
	assert_int_equal(load(&c, &z), 0);
	assert_int_equal(pol_clock_utc_offset(&c, 1500), 3600);
	pol_clock_deinit(&c);

	make_v2(&z, at, idx, 3, utoff, 2, "<+01>-1"); /* last type is +2 */
	assert_int_equal(load(&c, &z), CORE_EPARSE);
	at[1] = 0; /* not ascending */
	make_v2(&z, at, idx, 3, utoff, 2, "");
	assert_int_equal(load(&c, &z), CORE_EPARSE);
	at[1] = 1000;
	idx[2] = 2; /* no such type */
	make_v2(&z, at, idx, 3, utoff, 2, "");
	assert_int_equal(load(&c, &z), CORE_EPARSE);
	idx[2] = 1;
	utoff[1] = 26 * 3600;
	make_v2(&z, at, idx, 3, utoff, 2, "");
	assert_int_equal(load(&c, &z), CORE_EPARSE);
}

static void test_clock_enomem(void **state)
{
	int32_t zero = 0;
	struct pol_clock c;
	struct tzif z;
	uint64_t live = core_alloc_live_bytes();

	make_v2(&z, NULL, NULL, 0, &zero, 1, "CET-1CEST,M3.5.0,M10.5.0/3");
	for (uint64_t i = 1; i <= 3; i++) { /* changes, offsets, index */
		core_alloc_fail_at(i);
		assert_int_equal(load(&c, &z), -ENOMEM);
		pol_clock_deinit(&c);
	}
	core_alloc_fail_at(1);
	assert_int_equal(pol_clock_init_fixed(&c, "x", 0), -ENOMEM);
	core_alloc_fail_at(0);
	assert_int_equal(core_alloc_live_bytes(), live);
	if (have_zoneinfo()) {
		core_alloc_fail_at(1); /* the file buffer */
		assert_int_equal(pol_clock_init(&c, "Europe/Berlin"), -ENOMEM);
		core_alloc_fail_at(0);
		assert_int_equal(core_alloc_live_bytes(), live);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_hours),
		cmocka_unit_test(test_midnight),
		cmocka_unit_test(test_week_wrap),
		cmocka_unit_test(test_whole_day_overlap_empty),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_oracle),
		cmocka_unit_test(test_schedule_enomem),
		cmocka_unit_test(test_clock_vietnam),
		cmocka_unit_test(test_clock_dst),
		cmocka_unit_test(test_clock_vs_libc),
		cmocka_unit_test(test_clock_leap_seconds),
		cmocka_unit_test(test_clock_truncated),
		cmocka_unit_test(test_clock_names),
		cmocka_unit_test(test_clock_fixed),
		cmocka_unit_test(test_clock_footer),
		cmocka_unit_test(test_clock_transitions),
		cmocka_unit_test(test_clock_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
