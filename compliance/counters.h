/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-worker counters: every query and decision bumps one of these on its worker's own cache
 * line, with no lock and no atomic read-modify-write (relaxed load + store of a value only this
 * worker writes). The control thread reads and sums them for `status` and, later, for the
 * per-interval compliance records.
 */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

enum cmpl_counter {
	CMPL_QUERIES, /**< client queries parsed (UDP + TCP) */
	CMPL_QUERIES_TCP, /**< of which over TCP */
	CMPL_CACHE_HITS, /**< answered from a fresh cache entry */
	CMPL_CACHE_STALE, /**< answered from an expired entry (serve-stale) */
	CMPL_CACHE_MISSES, /**< sent upstream */
	CMPL_REFUSED, /**< client outside every network, or unsupported query */
	CMPL_FORMERR, /**< malformed queries answered FORMERR */
	CMPL_DROPPED, /**< packets dropped without an answer */
	CMPL_SERVFAIL, /**< answered SERVFAIL because upstreams failed */
	CMPL_TRUNCATED, /**< UDP answers sent with TC=1 */
	CMPL_UPSTREAM_QUERIES, /**< queries sent to forwarders (retries included) */
	CMPL_UPSTREAM_TIMEOUTS, /**< of which timed out */
	CMPL_BLOCKED, /**< answered as blocked (query name or CNAME target) */
	CMPL_BLOCKED_NATIONAL, /**< of which by the national list */
	CMPL_REWRITTEN, /**< answered with a safe-search CNAME and its target's records */
	CMPL_ANSWERED_LOCALLY, /**< bypass canaries and local zones (resolver.arpa) */
	CMPL_AUDIT_WOULD_BLOCK, /**< passed, but a synced list's waiting version would block */
	CMPL_COUNTER_COUNT
};

/** Index of blocks that no category explains (deny overrides) in blocked_by_category. */
#define CMPL_CATEGORY_NONE CFG_MAX_CATEGORIES

/** One worker's counters, alone on its cache lines. */
struct cmpl_counters {
	_Atomic uint64_t v[CMPL_COUNTER_COUNT];
	/** Blocked answers by the first category of the entry that blocked (the category bits
	 * of the lists in force, config/config.h), CMPL_CATEGORY_NONE for deny overrides. */
	_Atomic uint64_t blocked_by_category[CFG_MAX_CATEGORIES + 1];
} __attribute__((aligned(64)));

/** Bump counter @k of @c. Only the owning worker may call this. */
static inline void cmpl_count(struct cmpl_counters *c, enum cmpl_counter k)
{
	uint64_t v = atomic_load_explicit(&c->v[k], memory_order_relaxed);
	atomic_store_explicit(&c->v[k], v + 1, memory_order_relaxed);
}

/** Count a blocked answer under the first bit of @categories (0: CMPL_CATEGORY_NONE). */
static inline void cmpl_count_blocked_category(struct cmpl_counters *c, uint32_t categories)
{
	unsigned i = categories ? (unsigned)__builtin_ctz(categories) : CMPL_CATEGORY_NONE;
	uint64_t v = atomic_load_explicit(&c->blocked_by_category[i], memory_order_relaxed);
	atomic_store_explicit(&c->blocked_by_category[i], v + 1, memory_order_relaxed);
}

/** Sum @n workers' counters into @out (any thread). */
void cmpl_counters_sum(const struct cmpl_counters *per_worker, size_t n,
		       uint64_t out[CMPL_COUNTER_COUNT]);

/** Stable snake_case name of counter @k ("queries", "cache_hits", …). */
const char *cmpl_counter_name(enum cmpl_counter k);
