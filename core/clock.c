/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Clock sources (see clock.h). */
#include "core/clock.h"

#include <stdatomic.h>
#include <time.h>

static atomic_uint_fast64_t fake_ms;

uint64_t core_clock_mono_ms(void)
{
	uint64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
	if (f)
		return f;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t core_clock_wall_s(void)
{
	return (int64_t)time(NULL);
}

int64_t core_clock_wall_coarse_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

void core_clock_set_fake(uint64_t ms)
{
	atomic_store(&fake_ms, ms);
}
