/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for the TZif reader and its POSIX TZ footer (policy/tzfile.c): whatever bytes are
 * given must be refused with CORE_EPARSE or give a clock whose offset table is sorted and in
 * range, and whose conversions stay inside the week for any time, the extremes included.
 *
 * Input: the zone file image as is (the corpus holds real zone files and a few synthetic ones).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"
#include "policy/schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t probes[] = {
	INT64_MIN,
	INT64_MIN + 1,
	-((int64_t)1 << 60) - 1,
	-2208988800,
	-1,
	0,
	1,
	1793579400,
	2145916800,
	2147483647,
	2147483648,
	7258118400,
	4102444800,
	253402300799,
	(int64_t)1 << 60,
	INT64_MAX - 1,
	INT64_MAX,
};

/* The offset at @t by a plain count of the changes at or before it. */
static int32_t reference_offset(const struct pol_clock *c, int64_t t)
{
	size_t i = 0;

	while (i < c->n_at && c->at[i] <= t)
		i++;
	return c->utoff[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_clock c;
	uint8_t *image;
	int rc;

	/* An exact-size copy so that a read past the end is caught. */
	image = core_malloc(size ? size : 1);
	if (!image)
		return 0;
	memcpy(image, data, size);
	rc = pol_clock_init_buffer(&c, "fuzz", image, size);
	core_require(rc == 0 || rc == CORE_EPARSE || rc == -ENOMEM);
	if (rc == 0) {
		for (size_t i = 0; i < c.n_at; i++) {
			core_require(i == 0 || c.at[i] > c.at[i - 1]);
			core_require(c.utoff[i + 1] != c.utoff[i]);
		}
		for (size_t i = 0; i <= c.n_at; i++)
			core_require(c.utoff[i] > -90000 && c.utoff[i] < 93600);
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			core_require(pol_clock_minute_of_week(&c, probes[i]) <
				     POL_MINUTES_PER_WEEK);
			core_require(pol_clock_utc_offset(&c, probes[i]) ==
				     reference_offset(&c, probes[i]));
		}
		/* Around each change (the indexed and the binary search paths alike). */
		for (size_t i = 0; i < c.n_at && i < 64; i++) {
			core_require(pol_clock_utc_offset(&c, c.at[i]) == c.utoff[i + 1]);
			core_require(pol_clock_utc_offset(&c, c.at[i] - 1) == c.utoff[i]);
			core_require(pol_clock_utc_offset(&c, c.at[i] + 86400) ==
				     reference_offset(&c, c.at[i] + 86400));
		}
	}
	pol_clock_deinit(&c);
	core_free(image);
	return 0;
}
