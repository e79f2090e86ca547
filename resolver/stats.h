/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Compliance statistics in the daemon: the workers' tallies (compliance/tally.h), folded per
 * `compliance.interval` on the control thread into records named with the policy and lists
 * that were in force, stored in the local SQLite store, spooled as signed batches and POSTed
 * to the authority (docs/statistics.md).
 *
 * Epochs: each worker has two tallies; server->tally_epoch says which one the workers count
 * in. A fold switches the epoch, waits for an RCU grace period (after which no worker writes
 * the other tally any more: a worker reads the epoch inside its read-side section) and reads
 * and clears the other tally. Keys name networks and groups by index in a ruleset, lists by
 * index in a lists generation; those objects are kept alive until the first fold after they
 * were replaced, so a key is always named by the objects that counted it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "compliance/tally.h"
#include "core/buf.h"
#include "policy/policy.h"

struct rsv_server;
struct rsv_ruleset;
struct rsv_lists;
struct cfg_root;
struct sockaddr;

struct rsv_stats;

/** Units of MMDB records: the top bit, 7 bits of file, 24 bits of record slot. */
#define RSV_UNIT_MMDB 0x80000000u
/** Unit of the built-in localhost network. */
#define RSV_UNIT_LOCALHOST 0x7fffffffu

/** The network unit of client @c in its policy: a CIDR network's index, or an MMDB record. */
static inline uint32_t rsv_stats_unit(const struct pol_client *c)
{
	if (c->mmdb >= 0)
		return c->mmdb_slot < (1u << 24) && c->mmdb < 128
			       ? RSV_UNIT_MMDB | (uint32_t)c->mmdb << 24 | c->mmdb_slot
			       : CMPL_UNIT_OVERFLOW;
	return c->network->index < RSV_UNIT_LOCALHOST ? c->network->index : RSV_UNIT_LOCALHOST;
}

/** The group of client @c as a tally counts it. */
static inline uint16_t rsv_stats_group(const struct pol_client *c)
{
	return c->group ? (uint16_t)c->group->index : UINT16_MAX;
}

/**
 * Start the statistics of @cfg's compliance section on the control loop of @s: open the
 * store, read the reporter's key, allocate the tallies (s->tally), start the interval timer
 * and the uploader. Nothing when the section is absent (*@out NULL).
 * @return 0, or an error after a log line naming the file (the daemon does not start).
 */
int rsv_stats_start(struct rsv_server *s, const struct cfg_root *cfg, struct rsv_stats **out)
	__attribute__((warn_unused_result));

/**
 * After the workers stopped: fold the last interval, store and spool it, cancel uploads (the
 * batches stay in the spool), close the store. NULL is fine.
 */
void rsv_stats_stop(struct rsv_stats *st);

/** Free what rsv_stats_stop() left (after the control loop ran its close callbacks). */
void rsv_stats_free(struct rsv_stats *st);

/** A reload replaced ruleset @old (grace period over): keep it until the next fold. Takes
 * over the caller's reference. */
void rsv_stats_ruleset_retired(struct rsv_stats *st, struct rsv_ruleset *old);

/** Lists @lists are about to be published: note their names and versions. */
void rsv_stats_lists_published(struct rsv_stats *st, const struct rsv_lists *lists);

/** A reload changed the compliance settings: apply what can change without a restart. */
void rsv_stats_apply_cfg(struct rsv_stats *st, const struct cfg_root *cfg);

/** `lanhmanh stats flush`: close the interval now, store and spool it, upload now. */
int rsv_stats_flush(struct rsv_stats *st, struct core_buf *out);

/** `lanhmanh status`: the store, the interval, the spool, the last upload. */
void rsv_stats_status(struct rsv_stats *st, struct core_buf *out);

/** Spool depth and the last upload, for /metrics (control thread values, read racily). */
struct rsv_stats_export {
	bool enabled; /**< an authority is configured */
	uint64_t batches, bytes, waiting, limit;
	int64_t last_success; /**< wall clock seconds, 0: none yet */
	uint64_t lost; /**< events no tally could count */
};
void rsv_stats_export_state(const struct rsv_stats *st, struct rsv_stats_export *out);
