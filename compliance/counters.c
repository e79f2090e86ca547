/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Summing and naming the per-worker counters (see counters.h). */
#include "compliance/counters.h"

static const char *const names[CMPL_COUNTER_COUNT] = {
	[CMPL_QUERIES] = "queries",
	[CMPL_QUERIES_TCP] = "queries_tcp",
	[CMPL_CACHE_HITS] = "cache_hits",
	[CMPL_CACHE_STALE] = "cache_stale",
	[CMPL_CACHE_MISSES] = "cache_misses",
	[CMPL_REFUSED] = "refused",
	[CMPL_FORMERR] = "formerr",
	[CMPL_DROPPED] = "dropped",
	[CMPL_SERVFAIL] = "servfail",
	[CMPL_TRUNCATED] = "truncated",
	[CMPL_UPSTREAM_QUERIES] = "upstream_queries",
	[CMPL_UPSTREAM_TIMEOUTS] = "upstream_timeouts",
	[CMPL_BLOCKED] = "blocked",
	[CMPL_BLOCKED_NATIONAL] = "blocked_national",
	[CMPL_REWRITTEN] = "rewritten",
	[CMPL_ANSWERED_LOCALLY] = "answered_locally",
	[CMPL_AUDIT_WOULD_BLOCK] = "audit_would_block",
};

void cmpl_counters_sum(const struct cmpl_counters *per_worker, size_t n,
		       uint64_t out[CMPL_COUNTER_COUNT])
{
	for (size_t k = 0; k < CMPL_COUNTER_COUNT; k++) {
		out[k] = 0;
		for (size_t i = 0; i < n; i++)
			out[k] += atomic_load_explicit(&per_worker[i].v[k], memory_order_relaxed);
	}
}

const char *cmpl_counter_name(enum cmpl_counter k)
{
	return (unsigned)k < CMPL_COUNTER_COUNT ? names[k] : "unknown";
}
