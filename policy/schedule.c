/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Schedules compiled into a sorted transition list over the minutes of the week (the clock, which
 * turns UTC into those minutes, is in policy/tzfile.c).
 *
 * A per-minute table would answer in one load but costs 40 KiB per group, more than a worker's
 * L1 cache; the transition list of a realistic group is a few dozen bytes, plus a 336-byte index
 * of the transition in force at each hour of the week, so a lookup is two or three loads
 * (measured in policy/README-schedule.md).
 */
#include "policy/schedule.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

#define HOURS_PER_WEEK (POL_MINUTES_PER_WEEK / 60)

struct pol_schedule {
	size_t n_rules;
	struct pol_schedule_rule *rules; /**< copies, in the same block */
	size_t n; /**< transitions, >= 1; start[0] == 0; cats[i] != cats[i + 1] */
	uint32_t
		*cats; /**< categories blocked from start[i] up to start[i + 1] (or the week end) */
	uint16_t *start;	       /**< minute of week of transition i, strictly ascending */
	uint16_t hour[HOURS_PER_WEEK]; /**< transition in force at the start of each hour */
};

static bool rule_is_valid(const struct pol_schedule_rule *r)
{
	return r->from_min < POL_MINUTES_PER_DAY && r->to_min <= POL_MINUTES_PER_DAY &&
	       r->to_min != r->from_min && !(r->days & ~POL_DAY_ALL);
}

/* OR @cats into week[first .. first + len), wrapping from Sunday night into Monday. */
static void fill(uint32_t *week, unsigned first, unsigned len, uint32_t cats)
{
	unsigned end = first + len;

	if (end > POL_MINUTES_PER_WEEK) {
		for (unsigned m = 0; m < end - POL_MINUTES_PER_WEEK; m++)
			week[m] |= cats;
		end = POL_MINUTES_PER_WEEK;
	}
	for (unsigned m = first; m < end; m++)
		week[m] |= cats;
}

int pol_schedule_new(const struct pol_schedule_rule *rules, size_t n,
		     struct pol_schedule **out_sched)
{
	struct pol_schedule *s;
	uint32_t *week;
	size_t n_trans = 1, size;
	int rc = 0;

	if (n > POL_SCHEDULE_MAX_RULES)
		return CORE_ELIMIT;
	for (size_t i = 0; i < n; i++) {
		if (!rule_is_valid(&rules[i]))
			return -EINVAL;
	}

	/* Paint the week minute by minute, then keep only where it changes. */
	week = core_calloc(POL_MINUTES_PER_WEEK, sizeof(*week));
	if (!week)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pol_schedule_rule *r = &rules[i];
		unsigned len = r->to_min > r->from_min ?
				       (unsigned)(r->to_min - r->from_min) :
				       POL_MINUTES_PER_DAY - r->from_min + r->to_min;

		if (!r->categories)
			continue;
		for (unsigned d = 0; d < 7; d++) {
			if (r->days & (1u << d))
				fill(week, d * POL_MINUTES_PER_DAY + r->from_min, len,
				     r->categories);
		}
	}
	for (unsigned m = 1; m < POL_MINUTES_PER_WEEK; m++)
		n_trans += week[m] != week[m - 1];

	size = sizeof(*s) + n * sizeof(*rules) + n_trans * (sizeof(uint32_t) + sizeof(uint16_t));
	s = core_malloc(size);
	if (!s) {
		rc = -ENOMEM;
		goto out_free_week;
	}
	s->n_rules = n;
	s->rules = (struct pol_schedule_rule *)(s + 1);
	if (n)
		memcpy(s->rules, rules, n * sizeof(*rules));
	s->n = n_trans;
	s->cats = (uint32_t *)(s->rules + n);
	s->start = (uint16_t *)(s->cats + n_trans);
	s->start[0] = 0;
	s->cats[0] = week[0];
	for (unsigned m = 1, i = 1; m < POL_MINUTES_PER_WEEK; m++) {
		if (week[m] == week[m - 1])
			continue;
		s->start[i] = (uint16_t)m;
		s->cats[i] = week[m];
		i++;
	}
	for (unsigned h = 0, i = 0; h < HOURS_PER_WEEK; h++) {
		while (i + 1 < n_trans && s->start[i + 1] <= h * 60)
			i++;
		s->hour[h] = (uint16_t)i;
	}
	*out_sched = s;
out_free_week:
	core_free(week);
	return rc;
}

struct pol_schedule *pol_schedule_free(struct pol_schedule *sched)
{
	return core_free(sched);
}

/*
 * Index of the transition in force at @m (< POL_MINUTES_PER_WEEK): the last start[i] <= m. The
 * hour index leaves only the changes inside that hour to step over: none or one in practice, at
 * most 59 (a binary search over the whole list was a chain of dependent loads, twice slower).
 */
static size_t find(const struct pol_schedule *s, unsigned m)
{
	size_t i = s->hour[m / 60];

	while (i + 1 < s->n && s->start[i + 1] <= m)
		i++;
	return i;
}

uint32_t pol_schedule_categories(const struct pol_schedule *sched, unsigned minute_of_week)
{
	if (!sched)
		return 0;
	return sched->cats[find(sched, minute_of_week % POL_MINUTES_PER_WEEK)];
}

unsigned pol_schedule_minutes_until_change(const struct pol_schedule *sched,
					   unsigned minute_of_week)
{
	unsigned m = minute_of_week % POL_MINUTES_PER_WEEK, next;
	size_t i;

	if (!sched || sched->n == 1)
		return POL_MINUTES_PER_WEEK;
	i = find(sched, m);
	if (i + 1 < sched->n)
		next = sched->start[i + 1];
	else if (sched->cats[i] != sched->cats[0])
		next = POL_MINUTES_PER_WEEK; /* Monday 00:00 */
	else
		next = POL_MINUTES_PER_WEEK + sched->start[1]; /* the window runs on into Monday */
	return next - m;
}

size_t pol_schedule_rule_count(const struct pol_schedule *sched)
{
	return sched ? sched->n_rules : 0;
}

const struct pol_schedule_rule *pol_schedule_rule(const struct pol_schedule *sched, size_t i)
{
	if (!sched || i >= sched->n_rules)
		return NULL;
	return &sched->rules[i];
}

bool pol_schedule_rule_is_active(const struct pol_schedule_rule *rule, unsigned minute_of_week)
{
	unsigned m = minute_of_week % POL_MINUTES_PER_WEEK;
	unsigned day = m / POL_MINUTES_PER_DAY, t = m % POL_MINUTES_PER_DAY;
	unsigned prev = (day + 6) % 7;

	if (!rule_is_valid(rule))
		return false;
	if (rule->from_min < rule->to_min)
		return (rule->days & (1u << day)) && t >= rule->from_min && t < rule->to_min;
	/* Across midnight: the evening of a listed day, or the morning after one. */
	return ((rule->days & (1u << day)) && t >= rule->from_min) ||
	       ((rule->days & (1u << prev)) && t < rule->to_min);
}
