/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one place that writes log lines (see log.h). */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = CORE_LOG_INFO;
/* -1: not yet checked, 0: plain stderr, 1: stderr is the journal. */
static atomic_int log_to_journal = -1;

static const char *const level_names[] = {
	[CORE_LOG_ERR] = "error", [CORE_LOG_WARNING] = "warning", [CORE_LOG_NOTICE] = "notice",
	[CORE_LOG_INFO] = "info", [CORE_LOG_DEBUG] = "debug",
};

void core_log_set_level(enum core_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum core_log_level core_log_get_level(void)
{
	return (enum core_log_level)atomic_load(&log_level);
}

int core_log_level_parse(const char *name)
{
	for (int i = CORE_LOG_ERR; i <= CORE_LOG_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0)
			return i;
	}
	return -1;
}

bool core_log_enabled(enum core_log_level level)
{
	return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connects to stderr. */
static int stderr_is_journal(void)
{
	int v = atomic_load(&log_to_journal);
	if (v >= 0)
		return v;
	v = 0;
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		v = 1;
	atomic_store(&log_to_journal, v);
	return v;
}

void core_log(enum core_log_level level, const char *group, const char *fmt, ...)
{
	if (!core_log_enabled(level))
		return;
	char line[2048];
	int n;
	if (stderr_is_journal()) {
		n = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, group);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ld %s %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], group);
	}
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
