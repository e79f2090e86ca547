/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging to stderr, which systemd's journal picks up: when stderr is the journal
 * ($JOURNAL_STREAM matches it) each line carries a "<N>" syslog priority prefix so journald keeps
 * the level; otherwise lines carry a timestamp and the level name. Thread-safe; one write(2)
 * per message, so lines from different threads never interleave.
 */
#pragma once

#include <stdbool.h>

enum core_log_level {
	CORE_LOG_ERR = 3,
	CORE_LOG_WARNING = 4,
	CORE_LOG_NOTICE = 5,
	CORE_LOG_INFO = 6,
	CORE_LOG_DEBUG = 7,
};

/** Set the most verbose level that is printed (default CORE_LOG_INFO). */
void core_log_set_level(enum core_log_level level);
enum core_log_level core_log_get_level(void);
/** Parse "error", "warning", "notice", "info" or "debug"; returns -1 for anything else. */
int core_log_level_parse(const char *name);
/** True when messages at @level are printed (to skip building costly arguments). */
bool core_log_enabled(enum core_log_level level);

/** Print one message of @level from module @group ("rsv", "cfg", …). */
void core_log(enum core_log_level level, const char *group, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define core_log_err(grp, ...) core_log(CORE_LOG_ERR, grp, __VA_ARGS__)
#define core_log_warn(grp, ...) core_log(CORE_LOG_WARNING, grp, __VA_ARGS__)
#define core_log_notice(grp, ...) core_log(CORE_LOG_NOTICE, grp, __VA_ARGS__)
#define core_log_info(grp, ...) core_log(CORE_LOG_INFO, grp, __VA_ARGS__)
#define core_log_debug(grp, ...)                                                                  \
	do {                                                                                      \
		if (core_log_enabled(CORE_LOG_DEBUG))                                             \
			core_log(CORE_LOG_DEBUG, grp, __VA_ARGS__);                               \
	} while (0)
