/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The schedule clock: a TZif reader (RFC 8536, versions 1 to 4) and the POSIX TZ rule of its
 * footer, turned at init into one table of UTC offset changes, so that converting UTC to the
 * local minute of the week is a binary search and a few divisions. No libc time zone state
 * (TZ/tzset/localtime are process-global and not safe with a zone reloaded at run time).
 *
 * The footer rule is expanded year by year up to TZ_LAST_YEAR; after that the last offset holds.
 * Leap-second ("right/") zones are accepted: their transition times, which count leap seconds,
 * are moved back onto the POSIX time scale the system clock uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/error.h"
#include "policy/schedule.h"

#define TZ_MIN_UTOFF (-89999) /* RFC 8536: -25 h < utoff < 26 h */
#define TZ_MAX_UTOFF 93599
#define TZ_MAX_FILE (1u << 20) /* real zone files are a few KiB */
#define TZ_MAX_FOOTER 256
#define TZ_FIRST_YEAR 1970 /* footer expansion when the file has no transition */
#define TZ_LAST_YEAR 2199
#define TZ_TIME_LIMIT ((int64_t)1 << 60) /* clamp: utc + offset can never overflow */
#define TZ_HEADER_LEN 44
#define TZ_TYPE_LEN 6

struct tzif_header {
	char version; /* 0 (version 1), '2', '3', '4' */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* A date of a POSIX TZ rule: Jn (1..365, no Feb 29), n (0..365), or Mm.w.d. */
struct tz_date {
	char kind; /* 'J', 'N', 'M' */
	int n, month, week, wday;
	int32_t secs; /* local time of day of the change, -167 h..167 h */
};

struct tz_rule {
	int32_t std_utoff, dst_utoff; /* seconds east of UTC */
	bool has_dst;
	struct tz_date start, end; /* start: in standard time; end: in daylight time */
};

/* The offsets being built: at[n] ascending, utoff[n + 1]. */
struct tz_table {
	int64_t *at;
	int32_t *utoff;
	size_t n, cap;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be_time(const uint8_t *p, size_t tsize)
{
	if (tsize == 4)
		return (int32_t)be32(p);
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((b - 1 - a) / b);
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to January 1st of @y (1 <= y). */
static int64_t year_days(int64_t y)
{
	int64_t leaps = (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;

	return 365 * (y - 1970) + leaps - 477; /* 477 leap days before 1970 */
}

/* The year UTC second @t falls in, clamped to [1, TZ_LAST_YEAR + 1]. */
static int64_t year_of(int64_t t)
{
	int64_t y;

	if (t < year_days(1) * 86400)
		return 1;
	if (t >= year_days(TZ_LAST_YEAR + 1) * 86400)
		return TZ_LAST_YEAR + 1;
	y = 1970 + floor_div(t, 31556952); /* mean Gregorian year: off by at most one */
	if (y < 1)
		y = 1;
	while (y > 1 && year_days(y) * 86400 > t)
		y--;
	while (year_days(y + 1) * 86400 <= t)
		y++;
	return y;
}

/* Days of a common year before each month, and in the whole year. */
static const uint16_t cum_days[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

/* Local seconds since the epoch at which @d happens in year @y (local midnight of Jan 1 = 0). */
static int64_t date_local(const struct tz_date *d, int64_t y)
{
	int64_t doy;

	if (d->kind == 'J') {
		doy = d->n - 1 + (is_leap(y) && d->n >= 60);
	} else if (d->kind == 'N') {
		doy = d->n;
	} else {
		int64_t first = cum_days[d->month - 1] + (is_leap(y) && d->month > 2);
		int64_t mdays =
			cum_days[d->month] - cum_days[d->month - 1] + (is_leap(y) && d->month == 2);
		int64_t wday_first = floor_mod(year_days(y) + first + 4, 7); /* 1970-01-01: Thu */
		int64_t day = (d->wday - wday_first + 7) % 7 + (int64_t)(d->week - 1) * 7;

		while (day >= mdays)
			day -= 7;
		doy = first + day;
	}
	return (year_days(y) + doy) * 86400 + d->secs;
}

/* POSIX TZ parsing: each helper returns the position after what it read, or NULL. */

static const char *parse_abbr(const char *p)
{
	const char *s;

	if (*p == '<') {
		for (s = ++p; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= '0' && *p <= '9') || *p == '+' || *p == '-';
		     p++)
			;
		return *p == '>' && p - s >= 3 ? p + 1 : NULL;
	}
	for (s = p; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'); p++)
		;
	return p - s >= 3 ? p : NULL;
}

static const char *parse_num(const char *p, int min, int max, int *out)
{
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || v < min || v > max)
		return NULL;
	*out = v;
	return p;
}

/* [+-]hh[:mm[:ss]] with hours up to @max_hours, in seconds. */
static const char *parse_hms(const char *p, int max_hours, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	p = parse_num(p, 0, max_hours, &h);
	if (p && *p == ':') {
		p = parse_num(p + 1, 0, 59, &m);
		if (p && *p == ':')
			p = parse_num(p + 1, 0, 59, &s);
	}
	if (!p)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *parse_date(const char *p, struct tz_date *d)
{
	d->secs = 7200; /* 02:00 by default */
	if (*p == 'J') {
		d->kind = 'J';
		p = parse_num(p + 1, 1, 365, &d->n);
	} else if (*p == 'M') {
		d->kind = 'M';
		p = parse_num(p + 1, 1, 12, &d->month);
		if (p && *p == '.')
			p = parse_num(p + 1, 1, 5, &d->week);
		else
			p = NULL;
		if (p && *p == '.')
			p = parse_num(p + 1, 0, 6, &d->wday);
		else
			p = NULL;
	} else {
		d->kind = 'N';
		p = parse_num(p, 0, 365, &d->n);
	}
	if (p && *p == '/')
		p = parse_hms(p + 1, 167, &d->secs); /* RFC 8536 version 3 extension */
	return p;
}

static bool utoff_ok(int64_t utoff)
{
	return utoff >= TZ_MIN_UTOFF && utoff <= TZ_MAX_UTOFF;
}

/* "std offset [dst [offset] [,start[/time],end[/time]]]"; a DST zone must have its rule. */
static int parse_rule(const char *p, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	p = parse_abbr(p);
	if (p)
		p = parse_hms(p, 24, &off);
	if (!p)
		return CORE_EPARSE;
	r->std_utoff = -off; /* POSIX counts west of UTC */
	if (!*p)
		return utoff_ok(r->std_utoff) ? 0 : CORE_EPARSE;
	p = parse_abbr(p);
	if (!p)
		return CORE_EPARSE;
	r->has_dst = true;
	r->dst_utoff = r->std_utoff + 3600;
	if (*p && *p != ',') {
		p = parse_hms(p, 24, &off);
		if (!p)
			return CORE_EPARSE;
		r->dst_utoff = -off;
	}
	/* Without a rule POSIX leaves the dates to the implementation: refuse rather than guess. */
	if (*p != ',' || !(p = parse_date(p + 1, &r->start)) || *p != ',' ||
	    !(p = parse_date(p + 1, &r->end)) || *p)
		return CORE_EPARSE;
	return utoff_ok(r->std_utoff) && utoff_ok(r->dst_utoff) ? 0 : CORE_EPARSE;
}

static int read_header(const uint8_t *p, size_t len, struct tzif_header *h)
{
	if (len < TZ_HEADER_LEN || memcmp(p, "TZif", 4) != 0)
		return CORE_EPARSE;
	h->version = (char)p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '9'))
		return CORE_EPARSE;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (!h->typecnt || !h->charcnt || (h->isutcnt && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt && h->isstdcnt != h->typecnt))
		return CORE_EPARSE;
	return 0;
}

static uint64_t block_len(const struct tzif_header *h, size_t tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * TZ_TYPE_LEN +
	       h->charcnt + (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/*
 * Check the data block @p (its length checked by the caller) and fill @t with its transitions,
 * moved to POSIX time when the zone counts leap seconds. t->utoff[0] is type 0's offset.
 */
static int read_block(const uint8_t *p, const struct tzif_header *h, size_t tsize,
		      struct tz_table *t)
{
	const uint8_t *times = p, *idx = times + (size_t)h->timecnt * tsize;
	const uint8_t *types = idx + h->timecnt, *chars = types + (size_t)h->typecnt * TZ_TYPE_LEN;
	const uint8_t *leaps = chars + h->charcnt,
		      *flags = leaps + (size_t)h->leapcnt * (tsize + 4);

	for (uint32_t i = 0; i < h->typecnt; i++) {
		const uint8_t *ty = types + (size_t)i * TZ_TYPE_LEN;

		if (!utoff_ok((int32_t)be32(ty)) || ty[4] > 1 || ty[5] >= h->charcnt)
			return CORE_EPARSE;
	}
	if (chars[h->charcnt - 1] != 0)
		return CORE_EPARSE;
	for (uint32_t i = 0; i < h->isstdcnt + h->isutcnt; i++) {
		if (flags[i] > 1)
			return CORE_EPARSE;
	}
	for (uint32_t i = 1; i < h->leapcnt; i++) {
		if (be_time(leaps + (size_t)i * (tsize + 4), tsize) <=
		    be_time(leaps + (size_t)(i - 1) * (tsize + 4), tsize))
			return CORE_EPARSE;
	}

	t->utoff[0] = (int32_t)be32(types);
	for (uint32_t i = 0, l = 0; i < h->timecnt; i++) {
		int64_t at = be_time(times + (size_t)i * tsize, tsize);
		int32_t corr = 0;

		if (idx[i] >= h->typecnt)
			return CORE_EPARSE;
		if (i && at <= be_time(times + (size_t)(i - 1) * tsize, tsize))
			return CORE_EPARSE;
		while (l < h->leapcnt && be_time(leaps + (size_t)l * (tsize + 4), tsize) <= at)
			l++;
		if (l)
			corr = (int32_t)be32(leaps + (size_t)(l - 1) * (tsize + 4) + tsize);
		at = at < -TZ_TIME_LIMIT ? -TZ_TIME_LIMIT : at > TZ_TIME_LIMIT ? TZ_TIME_LIMIT : at;
		at -= corr;
		/* Clamping or a leap correction must not reorder: such a file is not a real zone. */
		if (t->n && at <= t->at[t->n - 1])
			return CORE_EPARSE;
		t->at[t->n] = at;
		t->utoff[t->n + 1] = (int32_t)be32(types + (size_t)idx[i] * TZ_TYPE_LEN);
		t->n++;
	}
	return 0;
}

/* Add the changes @r makes after the file's last transition, year by year. */
static void expand_rule(const struct tz_rule *r, struct tz_table *t)
{
	int64_t first = t->n ? year_of(t->at[t->n - 1]) - 1 : TZ_FIRST_YEAR;
	int64_t *ev_at = t->at + t->n;
	int32_t *ev_off = t->utoff + t->n + 1;
	size_t n_ev = 0, kept = 0;

	if (first < 1)
		first = 1;
	for (int64_t y = first; y <= TZ_LAST_YEAR; y++) {
		ev_at[n_ev] = date_local(&r->start, y) - r->std_utoff;
		ev_off[n_ev++] = r->dst_utoff;
		ev_at[n_ev] = date_local(&r->end, y) - r->dst_utoff;
		ev_off[n_ev++] = r->std_utoff;
	}
	/* Stable insertion sort (nearly sorted already); at equal times the later event wins. */
	for (size_t i = 1; i < n_ev; i++) {
		int64_t a = ev_at[i];
		int32_t o = ev_off[i];
		size_t j = i;

		for (; j > 0 && ev_at[j - 1] > a; j--) {
			ev_at[j] = ev_at[j - 1];
			ev_off[j] = ev_off[j - 1];
		}
		ev_at[j] = a;
		ev_off[j] = o;
	}
	for (size_t i = 0; i < n_ev; i++) {
		if (i + 1 < n_ev && ev_at[i + 1] == ev_at[i])
			continue;
		if (t->n && ev_at[i] <= t->at[t->n - 1])
			continue;
		ev_at[kept] = ev_at[i];
		ev_off[kept++] = ev_off[i];
	}
	if (!t->n && !kept)
		return;
	/* Before the first rule change of a zone with no transition, standard time holds. */
	if (!t->n)
		t->utoff[0] = r->std_utoff;
	t->n += kept;
}

/* Drop changes that keep the offset (isdst or abbreviation changes): fewer search steps. */
static void squeeze(struct tz_table *t)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->utoff[i + 1] == t->utoff[kept])
			continue;
		t->at[kept] = t->at[i];
		t->utoff[++kept] = t->utoff[i + 1];
	}
	t->n = kept;
}

/* Index the changes by 2^24-second bucket (see struct pol_clock). */
static int build_buckets(struct pol_clock *c)
{
	size_t i = 0;

	if (!c->n_at || c->n_at > UINT32_MAX)
		return 0; /* nothing to search, or too much to index: binary search */
	c->bucket = core_malloc((POL_CLOCK_BUCKETS + 1) * sizeof(*c->bucket));
	if (!c->bucket)
		return -ENOMEM;
	for (uint32_t b = 0; b <= POL_CLOCK_BUCKETS; b++) {
		int64_t start = (int64_t)b << POL_CLOCK_BUCKET_SHIFT;

		while (i < c->n_at && c->at[i] < start)
			i++;
		c->bucket[b] = (uint32_t)i;
	}
	return 0;
}

static void set_zone(struct pol_clock *c, const char *zone)
{
	snprintf(c->zone, sizeof(c->zone), "%s", zone ? zone : "");
}

int pol_clock_init_buffer(struct pol_clock *c, const char *zone, const uint8_t *data, size_t len)
{
	struct tzif_header h;
	struct tz_rule rule = {0};
	struct tz_table t = {0};
	const uint8_t *p = data;
	size_t tsize = 4, left = len;
	bool has_rule = false;
	uint64_t blen;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = read_header(p, left, &h);
	if (rc)
		return rc;
	blen = block_len(&h, 4);
	if (blen > left - TZ_HEADER_LEN)
		return CORE_EPARSE;
	if (h.version) {
		/* Version 2+: skip the 32-bit block, read the 64-bit one and the footer. */
		char version = h.version;

		p += TZ_HEADER_LEN + blen;
		left -= TZ_HEADER_LEN + blen;
		rc = read_header(p, left, &h);
		if (rc)
			return rc;
		if (h.version != version)
			return CORE_EPARSE;
		tsize = 8;
		blen = block_len(&h, 8);
		if (blen > left - TZ_HEADER_LEN)
			return CORE_EPARSE;
	}

	if (h.version) {
		const char *foot = (const char *)p + TZ_HEADER_LEN + blen;
		size_t foot_len = left - TZ_HEADER_LEN - blen;
		const char *nl = foot_len > 1 ? memchr(foot + 1, '\n', foot_len - 1) : NULL;
		char tz[TZ_MAX_FOOTER];

		/* The footer is "\n<TZ string>\n"; a truncated file ends before the second newline. */
		if (!foot_len || foot[0] != '\n' || !nl || (size_t)(nl - foot - 1) >= sizeof(tz))
			return CORE_EPARSE;
		memcpy(tz, foot + 1, (size_t)(nl - foot - 1));
		tz[nl - foot - 1] = '\0';
		if (memchr(tz, '\0', (size_t)(nl - foot - 1)))
			return CORE_EPARSE;
		if (tz[0]) {
			rc = parse_rule(tz, &rule);
			if (rc)
				return rc;
			has_rule = true;
		}
	}

	/* Room for the file's transitions and two changes a year from year 1 at worst. */
	t.cap = (size_t)h.timecnt + (rule.has_dst ? 2u * TZ_LAST_YEAR : 0) + 1;
	t.at = core_malloc(t.cap * sizeof(*t.at));
	t.utoff = core_malloc((t.cap + 1) * sizeof(*t.utoff));
	if (!t.at || !t.utoff) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = read_block(p + TZ_HEADER_LEN, &h, tsize, &t);
	if (rc)
		goto out_free;
	if (has_rule && rule.has_dst) {
		expand_rule(&rule, &t);
	} else if (has_rule && rule.std_utoff != t.utoff[t.n]) {
		/* A fixed footer must agree with the last type; with no transition it sets it. */
		if (t.n) {
			rc = CORE_EPARSE;
			goto out_free;
		}
		t.utoff[0] = rule.std_utoff;
	}
	squeeze(&t);
	c->at = t.at;
	c->utoff = t.utoff;
	c->n_at = t.n;
	rc = build_buckets(c);
	if (rc) {
		pol_clock_deinit(c);
		return rc;
	}
	set_zone(c, zone);
	return 0;
out_free:
	core_free(t.at);
	core_free(t.utoff);
	return rc;
}

int pol_clock_init_fixed(struct pol_clock *c, const char *zone, int32_t utoff)
{
	memset(c, 0, sizeof(*c));
	if (!utoff_ok(utoff))
		return -EINVAL;
	c->utoff = core_malloc(sizeof(*c->utoff));
	if (!c->utoff)
		return -ENOMEM;
	c->utoff[0] = utoff;
	set_zone(c, zone);
	return 0;
}

int pol_clock_init_file(struct pol_clock *c, const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)TZ_MAX_FILE) {
		rc = CORE_EPARSE;
		goto out_close;
	}
	buf = core_malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out_free;
		}
		if (r == 0)
			break; /* shrank meanwhile: what was read is parsed (and likely refused) */
		len += (size_t)r;
	}
	rc = pol_clock_init_buffer(c, path, buf, len);
out_free:
	core_free(buf);
out_close:
	close(fd);
	return rc;
}

int pol_clock_init(struct pol_clock *c, const char *tz_name)
{
	char path[sizeof(POL_CLOCK_ZONEINFO_DIR) + 256 + 1];
	int rc;

	memset(c, 0, sizeof(*c));
	if (!tz_name)
		tz_name = POL_CLOCK_DEFAULT_ZONE;
	if (!cfg_zone_name_ok(tz_name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", POL_CLOCK_ZONEINFO_DIR, tz_name);
	rc = pol_clock_init_file(c, path);
	if (rc == 0)
		set_zone(c, tz_name);
	return rc;
}

void pol_clock_deinit(struct pol_clock *c)
{
	c->at = core_free(c->at);
	c->utoff = core_free(c->utoff);
	c->bucket = core_free(c->bucket);
	c->n_at = 0;
}

int32_t pol_clock_utc_offset(const struct pol_clock *c, int64_t utc_seconds)
{
	const int64_t *base = c->at;
	size_t len = c->n_at;
	uint64_t b = (uint64_t)utc_seconds >> POL_CLOCK_BUCKET_SHIFT;

	if (c->bucket && b < POL_CLOCK_BUCKETS) {
		/* Usually no change or one in the bucket: a compare or two. */
		base = c->at + c->bucket[b];
		len = c->bucket[b + 1] - c->bucket[b];
		while (len) {
			size_t half = len / 2;

			if (base[half] <= utc_seconds) {
				base += half + 1;
				len -= half + 1;
			} else {
				len = half;
			}
		}
		return c->utoff[base - c->at];
	}
	if (!len)
		return c->utoff[0];
	/* Branch-free search for the last change at or before @utc_seconds (or at[0]). */
	while (len > 1) {
		size_t half = len / 2;

		base = base[half] <= utc_seconds ? base + half : base;
		len -= half;
	}
	return c->utoff[(size_t)(base - c->at) + (*base <= utc_seconds)];
}

unsigned pol_clock_minute_of_week(const struct pol_clock *c, int64_t utc_seconds)
{
	int64_t t = utc_seconds, minutes;

	if (t > TZ_TIME_LIMIT)
		t = TZ_TIME_LIMIT;
	else if (t < -TZ_TIME_LIMIT)
		t = -TZ_TIME_LIMIT;
	minutes = floor_div(t + pol_clock_utc_offset(c, t), 60);
	/* 1970-01-01 00:00 was a Thursday: day 3 of a week that starts on Monday. */
	return (unsigned)floor_mod(minutes + 3 * (int64_t)POL_MINUTES_PER_DAY,
				   POL_MINUTES_PER_WEEK);
}
