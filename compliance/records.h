/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One interval's compliance records, as the control thread folds the workers' tallies into
 * them (names resolved: network ids, groups, categories, lists and their versions), before
 * they are stored (store.h) and exported (batch.h). Adding the same record twice sums it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** Queries and blocks of one network and group. */
struct cmpl_total {
	char *network_id; /**< "" for clients in no network */
	char *network_name;
	char *province; /**< "" when unknown */
	char *group;
	uint64_t queries, blocked;
};

/** Blocks of one network and group by one category, list and list version. */
struct cmpl_block {
	char *network_id, *group, *category, *list, *list_version;
	uint64_t count;
};

/** Blocks of one name of the national list for one network. */
struct cmpl_top {
	char *network_id, *domain; /**< domain: text, lower case, no final dot */
	uint64_t count;
};

struct cmpl_map; /* records.c: string key -> index */

struct cmpl_interval {
	int64_t start, end; /**< wall clock seconds, UTC */
	char day[11]; /**< local date of @start, YYYY-MM-DD */
	uint64_t queries, blocked; /**< sums of the totals */
	char *national_version; /**< the national list's version at @end, or NULL */
	int64_t national_applied; /**< when it was applied (wall clock seconds), 0: unknown */
	struct cmpl_total *totals;
	size_t n_totals, cap_totals;
	struct cmpl_block *blocks;
	size_t n_blocks, cap_blocks;
	struct cmpl_top *tops;
	size_t n_tops, cap_tops;
	struct cmpl_map *index; /**< finds records to merge */
};

/** An empty interval [@start, @end) of local day @day. @return 0 or -ENOMEM. */
int cmpl_interval_init(struct cmpl_interval *iv, int64_t start, int64_t end, const char *day)
	__attribute__((warn_unused_result));

/** Free what @iv holds (a zeroed @iv is fine). */
void cmpl_interval_fini(struct cmpl_interval *iv);

/** Set the national list's version (copied). @return 0 or -ENOMEM. */
int cmpl_interval_set_national(struct cmpl_interval *iv, const char *version, int64_t applied)
	__attribute__((warn_unused_result));

/** Add to the totals of (@network_id, @group). @return 0 or -ENOMEM. */
int cmpl_interval_add_total(struct cmpl_interval *iv, const char *network_id,
			    const char *network_name, const char *province, const char *group,
			    uint64_t queries, uint64_t blocked) __attribute__((warn_unused_result));

/** Add @count blocks (not to the totals: add those with cmpl_interval_add_total()). */
int cmpl_interval_add_block(struct cmpl_interval *iv, const char *network_id, const char *group,
			    const char *category, const char *list, const char *list_version,
			    uint64_t count) __attribute__((warn_unused_result));

/** Add @count blocks of national name @domain for @network_id. */
int cmpl_interval_add_top(struct cmpl_interval *iv, const char *network_id, const char *domain,
			  uint64_t count) __attribute__((warn_unused_result));

/** True when nothing was counted. */
static inline int cmpl_interval_empty(const struct cmpl_interval *iv)
{
	return iv->n_totals == 0 && iv->n_blocks == 0 && iv->n_tops == 0;
}
