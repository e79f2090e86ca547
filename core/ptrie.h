/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A binary prefix trie over address bits (IPv4 or IPv6, one trie per family): insert prefixes
 * with a value, look up the value of the longest prefix containing an address. Nodes live in one
 * growing array; a lookup walks at most 32 or 128 nodes. Immutable after the inserts, so shared
 * by threads without locks. Used for client networks and RPZ IP triggers.
 */
#pragma once

#include <stdint.h>

#define CORE_PTRIE_NONE UINT32_MAX

struct core_ptrie_node {
	uint32_t child[2]; /**< 0: none (node 0 is the root, never a child) */
	uint32_t value; /**< CORE_PTRIE_NONE when no prefix ends here */
};

struct core_ptrie {
	struct core_ptrie_node *nodes; /**< owned */
	uint32_t n, cap;
};

/** Start an empty trie. @return 0 or -ENOMEM. */
int core_ptrie_init(struct core_ptrie *t) __attribute__((warn_unused_result));

/** Free the nodes; the trie is unusable until initialised again. */
void core_ptrie_deinit(struct core_ptrie *t);

/**
 * Map the first @prefix bits of @addr (network byte order) to @value. A prefix inserted twice
 * keeps its first value. @return 0 or -ENOMEM.
 */
int core_ptrie_insert(struct core_ptrie *t, const uint8_t *addr, unsigned prefix, uint32_t value)
	__attribute__((warn_unused_result));

/** The value of the longest prefix containing the first @bits bits of @addr, or
 * CORE_PTRIE_NONE. */
uint32_t core_ptrie_lookup(const struct core_ptrie *t, const uint8_t *addr, unsigned bits);

/** As core_ptrie_lookup(), and the length of the prefix found in @out_len (unchanged when
 * none). */
uint32_t core_ptrie_lookup_len(const struct core_ptrie *t, const uint8_t *addr, unsigned bits,
			       unsigned *out_len);
