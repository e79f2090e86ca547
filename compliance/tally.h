/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tallies: what the compliance records are made of, counted by the workers on the query path.
 *
 * A tally is one worker's table for one epoch: an open-addressing hash table of fixed size,
 * allocated at start, keyed by (network unit, group, what happened, category, list, and the
 * generations of the policy and the lists that named them), plus a small table of the names
 * of the national list that were blocked, per network. Counting is a hash, a probe and an
 * increment: no lock, no atomic, no allocation, no I/O. Only the owning worker writes a tally
 * while its epoch is current; the control thread reads and clears it after switching the
 * workers to the other epoch and waiting for an RCU grace period (resolver/stats.c).
 *
 * A full table loses no count: a new key that does not fit is counted under its network's
 * "overflow" unit (CMPL_UNIT_OVERFLOW), for which room is kept; only when even that fails is
 * the event counted in @lost, which `status` reports.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Unit of the events that did not fit in a full table (the export names it "other"). */
#define CMPL_UNIT_OVERFLOW UINT32_MAX
/** Category of a block that no category explains (deny overrides). */
#define CMPL_NO_CATEGORY 0xffu

enum cmpl_event {
	CMPL_EV_QUERY = 1, /**< a query from a client in a network */
	CMPL_EV_BLOCK,	   /**< a blocked answer (query name or a name in its answer) */
};

/** Who blocked a CMPL_EV_BLOCK. */
enum cmpl_blocker {
	CMPL_BY_LIST,	      /**< an entry of list @list (config index) */
	CMPL_BY_GROUP_DENY,   /**< the group's deny names */
	CMPL_BY_NETWORK_DENY, /**< the network's deny names */
};

struct cmpl_tally_key {
	uint32_t unit;	     /**< the client's network (pol_client_unit()) */
	uint16_t group;	     /**< its group's index in the policy */
	uint8_t event;	     /**< enum cmpl_event */
	uint8_t by;	     /**< enum cmpl_blocker (CMPL_EV_BLOCK) */
	uint8_t category;    /**< category bit, CMPL_NO_CATEGORY */
	uint16_t list;	     /**< list index in `lists:` (CMPL_BY_LIST) */
	uint16_t rs_gen;     /**< low bits of the ruleset generation that named unit and group */
	uint16_t lists_gen;  /**< low bits of the lists generation that named list and version */
};

/** Longest name kept in the national top table (wire form). */
#define CMPL_TOP_NAME_MAX 255

struct cmpl_tally_slot {
	uint64_t a, b; /**< packed key; a == 0: free */
	uint64_t count;
};

struct cmpl_top_slot {
	uint64_t hash; /**< 0: free */
	uint64_t count;
	uint32_t unit;
	uint16_t rs_gen;
	uint8_t len;
	uint8_t name[CMPL_TOP_NAME_MAX];
};

/** One worker's tally for one epoch. */
struct cmpl_tally {
	struct cmpl_tally_slot *slots;
	size_t mask;	 /**< slots - 1 */
	size_t used;	 /**< slots taken */
	size_t soft_max; /**< new keys above this go to the overflow unit */
	struct cmpl_top_slot *top;
	size_t top_mask, top_used, top_max;
	uint64_t lost;	   /**< events not counted at all (table full even for overflow) */
	uint64_t top_lost; /**< national blocks not in the top table (it was full) */
};

/**
 * Allocate @t with room for about @keys keys and @top_names names (rounded up to powers of
 * two, with headroom). @return 0 or -ENOMEM.
 */
int cmpl_tally_init(struct cmpl_tally *t, size_t keys, size_t top_names)
	__attribute__((warn_unused_result));

/** Free what cmpl_tally_init() allocated (a zeroed @t is fine). */
void cmpl_tally_fini(struct cmpl_tally *t);

/** Count one event of @k. The owning worker only. */
void cmpl_tally_add(struct cmpl_tally *t, const struct cmpl_tally_key *k);

/** Count one block of national-list entry @name (wire, @len bytes) for @unit. */
void cmpl_tally_add_top(struct cmpl_tally *t, uint32_t unit, uint16_t rs_gen, const uint8_t *name,
			size_t len);

/** Call @fn for every key counted (count > 0). */
void cmpl_tally_each(const struct cmpl_tally *t,
		     void (*fn)(void *arg, const struct cmpl_tally_key *k, uint64_t count),
		     void *arg);

/** Call @fn for every national name counted. */
void cmpl_tally_each_top(const struct cmpl_tally *t,
			 void (*fn)(void *arg, uint32_t unit, uint16_t rs_gen, const uint8_t *name,
				    size_t len, uint64_t count),
			 void *arg);

/** True when nothing is counted. */
bool cmpl_tally_empty(const struct cmpl_tally *t);

/** Forget every count (after a fold). */
void cmpl_tally_clear(struct cmpl_tally *t);
