/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Lists synced from the authority by zone transfer (`lists:` entries with `rpz_primary`).
 *
 * Glossary:
 *  - zone: one synced list: its primary, RPZ zone and TSIG key, the version it holds (serial),
 *    and what the lookups use: a base set compiled from the last full transfer (mapped from
 *    <state_dir>/sync/<name>.base.set) and an overlay holding what IXFRs changed since
 *    (blocklists/overlay.h, <state_dir>/sync/<name>.overlay.set).
 *  - refresh: ask the primary for the zone: IXFR from our serial (AXFR when we have nothing, or
 *    when the overlay has grown large and should be folded into a new base). Runs on libuv's
 *    thread pool; at most one per zone at a time. Scheduled by the SOA's refresh timer (retry
 *    after a failure) and at once on a NOTIFY from the primary.
 *  - version: one applied serial, recorded for compliance (serial, entries, when, how) in
 *    <state_dir>/sync/<name>.versions and shown by `lanhmanh lists`.
 *
 * Audit before enforce: with `audit: true`, and for any version that would block names under
 * .edu.vn or .gov.vn that are not blocked now, a received version waits: the resolver keeps
 * the version in force, evaluates the waiting one on every query in log-only mode (counted and
 * logged, not applied), `lanhmanh lists diff` shows what it changes and `lanhmanh lists
 * promote` applies it.
 *
 * Never worse than before: a failed transfer, a TSIG failure, an empty zone, or an update that
 * would remove more than `max_shrink` of the entries keeps the version in force, which survives
 * restarts, and raises an alert (`lanhmanh status`, `lanhmanh lists`).
 *
 * Control thread only, except rsv_sync_notify_from_worker().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "blocklists/set.h"
#include "config/config.h"
#include "core/buf.h"

struct rsv_sync;

/** Called on the control thread when the layers of the synced zones changed (publish lists). */
typedef void (*rsv_sync_changed_fn)(void *arg);

/**
 * Start the sync manager on @loop (the control loop). @changed is called after a zone's
 * version changed. @return 0 and the manager in @out, -ENOMEM.
 */
int rsv_sync_new(uv_loop_t *loop, rsv_sync_changed_fn changed, void *arg, struct rsv_sync **out);

/**
 * Take the synced lists of @cfg: zones whose list, primary, zone and key are unchanged keep
 * their state; new ones load what state_dir holds (and are served from it at once) and are
 * refreshed now; removed ones are dropped. Diagnostics go to the log.
 * @return 0 or -ENOMEM.
 */
int rsv_sync_apply_cfg(struct rsv_sync *s, const struct cfg_root *cfg);

/** Stop timers and wait for nothing: jobs in flight finish and are discarded. Then free. */
void rsv_sync_close(struct rsv_sync *s);

/** Number of zones. */
size_t rsv_sync_count(const struct rsv_sync *s);

/**
 * The layers of zone @i for a view: its base (NULL before the first transfer) and overlay
 * (NULL when empty), its list id (index in `lists:`) and its entries as lookups see them.
 * References are not taken.
 */
void rsv_sync_layers(const struct rsv_sync *s, size_t i, bool pending, struct bl_set **out_base,
		     struct bl_set **out_overlay, uint16_t *out_list_id, size_t *out_entries);

/** The version of a synced list in force, for the statistics and the metrics. */
struct rsv_sync_version {
	const char *name; /**< the list's name (valid until the next reload) */
	uint16_t list_id; /**< index in `lists:` */
	bool have; /**< false before the first version */
	bool is_url; /**< downloaded over HTTPS rather than transferred */
	uint32_t serial;
	size_t entries;
	int64_t applied; /**< wall clock seconds; 0 when not known */
	const char *how; /**< "AXFR", "IXFR", "HTTPS", …; "" when not known */
	bool alert; /**< the version in force may not be the authority's (see `status`) */
};

/** Fill @out with the version of zone @i in force. Control thread. */
void rsv_sync_version(const struct rsv_sync *s, size_t i, struct rsv_sync_version *out);

/** True when some zone has a version waiting (audit mode, or held for review). */
bool rsv_sync_has_pending(const struct rsv_sync *s);

/**
 * `lanhmanh lists promote NAME`: put the waiting version of synced list @name in force.
 * @return 0, CORE_ENOTFOUND (no such list, nothing waiting), -EBUSY; what happened in @out.
 */
int rsv_sync_promote(struct rsv_sync *s, const char *name, struct core_buf *out);

/**
 * `lanhmanh lists diff NAME`: the waiting version against the one in force: counts of names
 * added, removed and changed, the first of each, and every .edu.vn/.gov.vn name it would block.
 */
int rsv_sync_diff(const struct rsv_sync *s, const char *name, struct core_buf *out);

/** `lanhmanh lists refresh NAME`: ask the primary or the URL of list @name now. */
int rsv_sync_refresh_list(struct rsv_sync *s, const char *name, struct core_buf *out);

/** Refresh the zone named @zone (absolute, lower case) now (a NOTIFY arrived). */
void rsv_sync_refresh_zone(struct rsv_sync *s, const char *zone);

/** `lanhmanh lists`: a paragraph per zone: version, entries, last transfer, alert, history. */
void rsv_sync_report(const struct rsv_sync *s, struct core_buf *out);

/** `lanhmanh status`: one line per zone with an alert; @return how many have one. */
size_t rsv_sync_alerts(const struct rsv_sync *s, struct core_buf *out);
