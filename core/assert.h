/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Assertions for a daemon that must stay up.
 *
 * core_require(expr): an invariant whose failure means memory is corrupt; always aborts.
 * core_fails_assert(expr): a recoverable invariant; logs "file:line func: expr", aborts in debug
 * builds (NDEBUG unset) and evaluates to true in release builds so the caller can recover:
 *	if (core_fails_assert(req->pkt)) return -EINVAL;
 */
#pragma once

#include <stdbool.h>

void core_assert_report(const char *expr, const char *file, int line, const char *func,
			bool fatal);

#define core_require(expr)                                                                        \
	do {                                                                                      \
		if (__builtin_expect(!(expr), 0))                                                 \
			core_assert_report(#expr, __FILE__, __LINE__, __func__, true);            \
	} while (0)

#ifdef NDEBUG
#define CORE_ASSERT_FATAL false
#else
#define CORE_ASSERT_FATAL true
#endif

#define core_fails_assert(expr)                                                                   \
	(__builtin_expect(!(expr), 0) ?                                                           \
		 (core_assert_report(#expr, __FILE__, __LINE__, __func__, CORE_ASSERT_FATAL),     \
		  true) :                                                                         \
		 false)
