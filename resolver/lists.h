/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The blocklists in force: the compiled set of every configured list, built on the control
 * thread and published with RCU next to the ruleset (server->lists).
 *
 * Never worse than before: each list file that is read successfully is copied to
 * <state_dir>/lists/<name>.last; a list whose file cannot be read, or suddenly has no entry
 * at all, is taken from that copy instead. The compiled set is written to
 * <state_dir>/blocklists.set, which a restart maps and serves at once, before any list file is
 * read again.
 *
 * After the configured lists the set holds the built-in list RSV_BUILTIN_BYPASS_LIST: the
 * well-known public DoH/DoT resolvers and bypass services (policy/builtin.h) in the
 * proxy_vpn_doh category, so that groups blocking that category block them with no list file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/ipset.h"
#include "blocklists/set.h"
#include "blocklists/view.h"
#include "config/config.h"
#include "core/buf.h"

/** Name of the built-in list of the proxy_vpn_doh category. */
#define RSV_BUILTIN_BYPASS_LIST "builtin-proxy_vpn_doh"

/** Where a list's entries came from in the set in force. */
enum rsv_list_source {
	RSV_LIST_FROM_FILE, /**< its configured file, read now */
	RSV_LIST_FROM_LAST_GOOD, /**< the last good copy in state_dir (the file failed) */
	RSV_LIST_FROM_SNAPSHOT, /**< the mapped snapshot of a previous run */
	RSV_LIST_MISSING, /**< no entries: no file and no copy (or no transfer yet) */
	RSV_LIST_FROM_PRIMARY, /**< transferred from the authority's primary (resolver/sync.h) */
};

struct rsv_list_status {
	char *name;
	char *category;
	enum rsv_list_source source;
	size_t entries; /**< names added (before merging duplicates) */
	size_t bad; /**< malformed lines */
	char *problem; /**< why the file was not used, or NULL */
};

/** Immutable once published. */
struct rsv_lists {
	struct bl_set *set; /**< the list files' set (reference held) */
	/** What lookups use: @set, then each synced list's base and overlay (owned). */
	struct bl_view *view;
	/** As @view with the synced lists' waiting versions (audit): evaluated, counted and
	 * logged, never enforced; NULL when no version waits. Owned. */
	struct bl_view *audit_view;
	struct bl_ipset *ips; /**< RPZ IP triggers (owned), NULL when none; not in the snapshot */
	char *categories[CFG_MAX_CATEGORIES]; /**< category names by bit (copies) */
	struct rsv_list_status *status; /**< one per list, in config order (list id = index) */
	size_t n_status;
	bool from_snapshot; /**< the whole set is the snapshot of a previous run */
	int64_t built_at; /**< wall clock seconds */
	uint64_t generation; /**< set when published: +1 per publication (statistics) */
	uint64_t build_ms; /**< how long reading and compiling took */
};

/**
 * Read every list of @cfg and compile them. Diagnostics (bad lines, fallbacks) are logged and
 * appended to @report (may be NULL).
 * @return 0 and the lists in @out_lists, -ENOMEM, CORE_ELIMIT.
 */
int rsv_lists_build(const struct cfg_root *cfg, struct core_buf *report,
		    struct rsv_lists **out_lists) __attribute__((warn_unused_result));

/**
 * Map the snapshot a previous run wrote in @cfg's state_dir.
 * @return 0 and the lists in @out_lists, CORE_ENOTFOUND when there is none, or an error when
 *         it is unusable (it is then ignored).
 */
int rsv_lists_open_snapshot(const struct cfg_root *cfg, struct rsv_lists **out_lists)
	__attribute__((warn_unused_result));

/**
 * A copy of @lists sharing its sets (references taken), without a view, to publish with new
 * synced layers. @return 0 or -ENOMEM.
 */
int rsv_lists_clone(const struct rsv_lists *lists, struct rsv_lists **out)
	__attribute__((warn_unused_result));

/** Free @lists (NULL is fine); returns NULL. */
struct rsv_lists *rsv_lists_free(struct rsv_lists *lists);

/** Text for @source ("file", "last good copy", …). */
const char *rsv_list_source_name(enum rsv_list_source source);

/** Category name of bit @bit, or "unknown". */
const char *rsv_lists_category(const struct rsv_lists *lists, unsigned bit);

/** Name of the first category in @categories ("national" first), or "unknown". */
const char *rsv_lists_first_category(const struct rsv_lists *lists, uint32_t categories);
