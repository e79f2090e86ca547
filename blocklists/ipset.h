/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Address ranges from RPZ IP triggers (`*.rpz-ip`): an answer that contains an address in one
 * of them is treated as the trigger says. Longest prefix wins. Built once, immutable, shared by
 * all threads without locks.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** One range with what it means. */
struct bl_ip_range {
	int family; /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< host bits are ignored */
	uint8_t prefix;
	uint8_t action; /**< enum bl_action */
	uint16_t list_id;
	uint32_t categories;
	uint32_t line;
};

struct bl_ipset;

/**
 * Build a set from @n ranges (copied). A range listed twice keeps its first entry.
 * @return 0 and the set in @out_set (free with bl_ipset_free()), -EINVAL, -ENOMEM.
 */
int bl_ipset_new(const struct bl_ip_range *ranges, size_t n, struct bl_ipset **out_set)
	__attribute__((warn_unused_result));

/** Free @set (NULL is fine); returns NULL. */
struct bl_ipset *bl_ipset_free(struct bl_ipset *set);

/** Take a reference on @set (NULL is fine): bl_ipset_free() drops one, the last frees. */
struct bl_ipset *bl_ipset_ref(struct bl_ipset *set);

/** The longest range containing @addr (4 or 16 bytes for @family), or NULL. */
const struct bl_ip_range *bl_ipset_lookup(const struct bl_ipset *set, int family,
					  const uint8_t *addr);

/** Number of ranges. */
size_t bl_ipset_count(const struct bl_ipset *set);
