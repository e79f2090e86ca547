/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `lanhmanh report`: the school's own reports, read from the local statistics store
 * (compliance/schema.h) — plain text, CSV, or one self-contained HTML page with an inline SVG
 * chart — per day, network, group and category, with the top blocked national-list names and
 * the national list's versions (which were applied when, which was in force each day).
 *
 * The store is opened read-only while the daemon may be writing it (WAL mode); all of one report
 * is read in one transaction, so it is one consistent snapshot. Nothing here needs the daemon.
 *
 * Glossary: a *day* is intervals.day, the local date the daemon computed (server.timezone); a
 * *row* is what one network's group did on one day (totals summed over the day's intervals);
 * *national* is the category of the national list, the first of config/config.h.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "policy/schedule.h"

enum cmpl_report_format {
	CMPL_REPORT_TEXT, /**< for a terminal: tables per day, versions, versions in force */
	CMPL_REPORT_CSV,  /**< one row per day, network, group (and category); see README.md */
	CMPL_REPORT_HTML, /**< one self-contained page: inline CSS and SVG, no script */
};

/** At most this many (day, network, group) rows, and as many category counts, are read. */
#define CMPL_REPORT_MAX_ROWS 1000000
/** The top blocked national-list names listed. */
#define CMPL_REPORT_TOP_DOMAINS 20

/** What to read and how to show it. Everything is borrowed for the duration of the call. */
struct cmpl_report_opts {
	const char *from;    /**< first day "YYYY-MM-DD", inclusive; NULL: from the first */
	const char *to;	     /**< last day "YYYY-MM-DD", inclusive; NULL: up to the last */
	const char *network; /**< only this network_id; NULL: all networks */
	/** shown when the store's meta table has no 'reporter_id'; NULL: none */
	const char *reporter_id;
	/** local time of list versions and intervals; NULL: UTC. Borrowed: must outlive the
	 * report loaded with it. */
	const struct pol_clock *clock;
	int64_t generated; /**< Unix seconds printed as the report's time; 0: not printed */
};

/** The data of one report, read from the store. Opaque; free with cmpl_report_free(). */
struct cmpl_report;

/**
 * Read what a report shows from the store at @path (opened read-only, busy timeout 5 s).
 *
 * @param err  receives a one-line message (no trailing newline) on failure.
 * @return 0 and a new report in @out_rep; -ENOENT when @path does not exist; CORE_EPARSE when it
 *         is not a store of schema version CMPL_SCHEMA_VERSION (or not a database);
 *         CORE_ELIMIT when more than CMPL_REPORT_MAX_ROWS rows match; -EIO for another SQLite
 *         error; -ENOMEM. @out_rep is written only on success.
 */
int cmpl_report_load(const char *path, const struct cmpl_report_opts *opts,
		     struct cmpl_report **out_rep, char *err, size_t err_size)
	__attribute__((warn_unused_result));

/** Free @rep (NULL is fine); returns NULL. */
struct cmpl_report *cmpl_report_free(struct cmpl_report *rep);

/**
 * Append @rep in @format to @out (tests, small reports).
 * @return 0, -ENOMEM or CORE_ELIMIT (@out's bound); @out may then hold part of the report.
 */
int cmpl_report_render(const struct cmpl_report *rep, enum cmpl_report_format format,
		       struct core_buf *out) __attribute__((warn_unused_result));

/**
 * Write @rep in @format to @f, 64 KiB at a time (bounded memory whatever the report's size).
 * @return 0, -ENOMEM, or -EIO when writing failed.
 */
int cmpl_report_write(const struct cmpl_report *rep, enum cmpl_report_format format, FILE *f)
	__attribute__((warn_unused_result));

/**
 * The `report` command of `lanhmanh` (resolver/lanhmanh.c): parses @argv (argv[0] is
 * "report"), finds the store (--store, else compliance.store of the config, else
 * server.state_dir + "/stats.sqlite"), and prints or writes the report. Messages go to stderr.
 *
 * @param config_path  the config given with `lanhmanh -c`; NULL: none was given, the packaged
 *                     one is used when the store must be looked up in it.
 * @return the process exit status: 0 ok, 1 error (store missing or unreadable, config rejected,
 *         output not written), 2 usage.
 */
int cmpl_report_main(int argc, char **argv, const char *config_path);
