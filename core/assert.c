/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reporting for core_require() and core_fails_assert(). */
#include "core/assert.h"

#include <stdlib.h>

#include "core/log.h"

void core_assert_report(const char *expr, const char *file, int line, const char *func,
			bool fatal)
{
	core_log_err("core", "assertion failed: %s:%d %s: %s", file, line, func, expr);
	if (fatal)
		abort();
}
