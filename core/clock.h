/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Clocks. Monotonic time drives TTLs and timeouts; wall time is only for display. Tests can pin
 * both with core_clock_set_fake() (Unbound's testbound idea), so no test sleeps to move time.
 */
#pragma once

#include <stdint.h>

/** Monotonic milliseconds (CLOCK_MONOTONIC_COARSE resolution is enough: a few ms). */
uint64_t core_clock_mono_ms(void);
/** Monotonic seconds, for TTL arithmetic. */
static inline uint32_t core_clock_mono_s(void)
{
	return (uint32_t)(core_clock_mono_ms() / 1000);
}
/** Wall-clock seconds since the epoch. */
int64_t core_clock_wall_s(void);
/** Wall-clock seconds from CLOCK_REALTIME_COARSE: read from the vDSO, no system call; for
 * per-query use (schedules). */
int64_t core_clock_wall_coarse_s(void);
/** Test hook: pin the monotonic clock at @ms (0 returns to the real clock). */
void core_clock_set_fake(uint64_t ms);
