/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Schedules: categories blocked only at given days and hours of the local week (games and
 * social networks during class time), and the clock that turns a UTC time into that local week.
 *
 * Glossary:
 *  - minute of week: minutes since Monday 00:00 local time, 0..10079 (POL_MINUTES_PER_WEEK).
 *    Day 0 is Monday, day 6 Sunday; minute of week = day * 1440 + hour * 60 + minute.
 *  - rule: the categories blocked in one daily window [from, to) on some days of the week.
 *  - schedule: the rules of one group compiled into a sorted list of transitions (minute where
 *    the set of blocked categories changes, categories from there on) with an index by hour
 *    of the week. Immutable once built; shared read-only by the workers inside the ruleset.
 *  - clock: the UTC → local conversion of one zone, read from a TZif file (RFC 8536) and the
 *    POSIX TZ rule in its footer, expanded at init into a table of UTC offset changes. The
 *    conversion is pure arithmetic (no syscall, no libc time zone state, no lock), so a worker
 *    converts the time it read once per loop iteration for every query it serves.
 *
 * Semantics of a rule (the config writes `from: "07:00", to: "17:00"`):
 *  - the window is half-open: 07:00–17:00 blocks from 07:00:00 through 16:59:59;
 *  - "24:00" is allowed as @to only: 00:00–24:00 is the whole day;
 *  - @to < @from crosses midnight: 22:00–06:00 on Friday blocks Friday 22:00 to Saturday 06:00
 *    (the days name the day the window starts); Sunday 22:00–06:00 ends Monday 06:00;
 *  - overlapping rules OR their categories; no rule blocks nothing;
 *  - local time is wall-clock time: in a zone with daylight saving time a window that starts
 *    in the skipped hour starts at the end of the gap, and the repeated hour is matched twice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POL_MINUTES_PER_DAY 1440u
#define POL_MINUTES_PER_WEEK 10080u
/** Most rules one schedule accepts (a group has a handful; the bound keeps the build small). */
#define POL_SCHEDULE_MAX_RULES 1024u
/** The zone used when the config names none. */
#define POL_CLOCK_DEFAULT_ZONE "Asia/Ho_Chi_Minh"
/** The clock's index (struct pol_clock.bucket): 512 buckets of 2^24 s from the epoch. */
#define POL_CLOCK_BUCKET_SHIFT 24
#define POL_CLOCK_BUCKETS 512u
/** Where pol_clock_init() looks zone names up (tzdata). */
#define POL_CLOCK_ZONEINFO_DIR "/usr/share/zoneinfo"

/** Days of a rule (struct pol_schedule_rule.days): bit 0 Monday … bit 6 Sunday. */
enum pol_day {
	POL_DAY_MON = 1u << 0,
	POL_DAY_TUE = 1u << 1,
	POL_DAY_WED = 1u << 2,
	POL_DAY_THU = 1u << 3,
	POL_DAY_FRI = 1u << 4,
	POL_DAY_SAT = 1u << 5,
	POL_DAY_SUN = 1u << 6,
	POL_DAY_ALL = 0x7fu,
};

/** One `schedules:` entry: block @categories on @days from @from_min to @to_min local time. */
struct pol_schedule_rule {
	uint32_t categories; /**< bit n: category n, as pol_decide_name()'s enforced mask */
	uint8_t days;	     /**< enum pol_day bits; the day a window starts on */
	uint16_t from_min;   /**< minutes after local midnight, 0..1439 */
	uint16_t to_min;     /**< 0..1440, != from_min; < from_min: ends on the next day */
};

struct pol_schedule;

/**
 * Compile @n rules (@rules may be NULL when @n is 0) into a schedule. The schedule copies the
 * rules (see pol_schedule_rule()); @rules may be freed after.
 *
 * @return 0 and the schedule in @out_sched (free with pol_schedule_free()); -EINVAL when a rule
 *         is out of range (@from_min > 1439, @to_min > 1440, @to_min == @from_min, a day bit
 *         above 6); CORE_ELIMIT for more than POL_SCHEDULE_MAX_RULES rules; -ENOMEM.
 *         A rule with no day or no category is valid and blocks nothing.
 */
int pol_schedule_new(const struct pol_schedule_rule *rules, size_t n,
		     struct pol_schedule **out_sched) __attribute__((warn_unused_result));

/** Free @sched (NULL is fine); returns NULL. */
struct pol_schedule *pol_schedule_free(struct pol_schedule *sched);

/**
 * The categories @sched blocks at local @minute_of_week (taken modulo POL_MINUTES_PER_WEEK).
 * @sched may be NULL (no schedule: 0). Pure, lock-free, a few ns (policy/README-schedule.md).
 */
uint32_t pol_schedule_categories(const struct pol_schedule *sched, unsigned minute_of_week);

/**
 * Minutes from @minute_of_week until the categories of @sched next change, 1..10080
 * (POL_MINUTES_PER_WEEK when they never change, including a NULL @sched). Lets an answer's TTL
 * be capped so that a client does not keep a name cached across the start of a window.
 */
unsigned pol_schedule_minutes_until_change(const struct pol_schedule *sched,
					   unsigned minute_of_week);

/** Number of rules of @sched (0 for NULL). */
size_t pol_schedule_rule_count(const struct pol_schedule *sched);

/** Rule @i of @sched as given to pol_schedule_new() (for `explain`); NULL when out of range. */
const struct pol_schedule_rule *pol_schedule_rule(const struct pol_schedule *sched, size_t i);

/**
 * Whether @rule (valid as pol_schedule_new() requires) is in its window at local
 * @minute_of_week (taken modulo POL_MINUTES_PER_WEEK), whatever its categories. For `explain`:
 * the rules in force are those for which this is true.
 */
bool pol_schedule_rule_is_active(const struct pol_schedule_rule *rule, unsigned minute_of_week);

/**
 * A zone's UTC → local conversion. Embedded in its owner (pol_clock_init*() / pol_clock_deinit());
 * immutable after init, so any number of threads may read it at once.
 */
struct pol_clock {
	int64_t *at;	/**< owned: UTC seconds where the offset changes, strictly ascending */
	int32_t *utoff; /**< owned, n_at + 1 entries: utoff[i] holds from at[i-1] up to at[i] */
	size_t n_at;
	/**
	 * Owned, POL_CLOCK_BUCKETS + 1 entries, or NULL: bucket[b] is the number of changes before
	 * UTC second b << POL_CLOCK_BUCKET_SHIFT, so that a time from 1970 to 2242 is looked up
	 * among the few changes of its ~194 days instead of the whole table.
	 */
	uint32_t *bucket;
	char zone[64]; /**< the zone name (or path) it was loaded from, truncated; for messages */
};

/**
 * Load zone @tz_name (e.g. "Asia/Ho_Chi_Minh", "Europe/Berlin", "UTC"; NULL means
 * POL_CLOCK_DEFAULT_ZONE) from POL_CLOCK_ZONEINFO_DIR into @c. On failure @c is left in a state
 * pol_clock_deinit() accepts.
 *
 * @return 0; -EINVAL for a name that is not a relative zone path (empty, absolute, a "." or ".."
 *         component, characters outside [A-Za-z0-9._+-/]); -ENOENT for a zone that does not
 *         exist; another -errno when the file cannot be read (-EISDIR for "Asia");
 *         CORE_EPARSE when the file is not a valid TZif file; -ENOMEM.
 */
int pol_clock_init(struct pol_clock *c, const char *tz_name) __attribute__((warn_unused_result));

/** As pol_clock_init(), from the TZif file at @path (any directory). */
int pol_clock_init_file(struct pol_clock *c, const char *path) __attribute__((warn_unused_result));

/**
 * As pol_clock_init(), from the TZif image @data of @len bytes (borrowed for the call only).
 * @zone is only a label for messages (NULL: ""). @return 0, CORE_EPARSE, -ENOMEM.
 */
int pol_clock_init_buffer(struct pol_clock *c, const char *zone, const uint8_t *data, size_t len)
	__attribute__((warn_unused_result));

/**
 * A zone at the fixed @utoff seconds east of UTC (Vietnam has been at +25200 since 1975), for a
 * host without tzdata. @return 0, -EINVAL when @utoff is outside -25 h..+26 h, -ENOMEM.
 */
int pol_clock_init_fixed(struct pol_clock *c, const char *zone, int32_t utoff)
	__attribute__((warn_unused_result));

/** Release what @c owns; @c may then be initialized again. Safe on a zeroed or failed @c. */
void pol_clock_deinit(struct pol_clock *c);

/** Seconds east of UTC in force at @utc_seconds (UTC seconds since the epoch). Pure. */
int32_t pol_clock_utc_offset(const struct pol_clock *c, int64_t utc_seconds);

/**
 * Local minute of the week (0 = Monday 00:00 .. 10079 = Sunday 23:59) at @utc_seconds, for
 * pol_schedule_categories(). Pure arithmetic: a search among the offset changes of the time's
 * bucket (binary search outside 1970–2242) and a few divisions, no syscall; safe from any
 * thread.
 */
unsigned pol_clock_minute_of_week(const struct pol_clock *c, int64_t utc_seconds);
