/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The answer cache, shared by all workers.
 *
 * Entries are upstream answers in wire form, policy-free and keyed without the client: the
 * question (lower-cased wire name, type, class) plus the DO and CD bits of the query. Each entry
 * is one allocation holding the key, the message (ID zero, OPT record removed) and the offsets of
 * every TTL field in it, so a hit is a memcpy plus a few 32-bit stores: no ldns, no allocation.
 *
 * The cache is sharded by key hash; each shard has its own mutex, hash table and LRU list and
 * holds at most max_bytes / n_shards bytes (entry headers included). Entries stay past expiry for
 * the serve-stale window (RFC 8767), then are dropped lazily or evicted by LRU.
 *
 * Thread context: every function may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rsv_cache;

/** Cache key. @qname is lower-cased uncompressed wire form, at most 255 bytes. */
struct rsv_cache_key {
	const uint8_t *qname;
	uint8_t qname_len;
	uint16_t qtype;
	uint16_t qclass;
	uint8_t flags; /**< RSV_CACHE_F_* of the query */
	uint64_t hash; /**< filled by rsv_cache_key_hash() */
};

#define RSV_CACHE_F_DO 0x01u /**< query had the EDNS DO bit */
#define RSV_CACHE_F_CD 0x02u /**< query had the CD bit */
/** Not an answer for clients: the iterator's delegations and name-server addresses. */
#define RSV_CACHE_F_INFRA 0x80u

/** A message handed to rsv_cache_insert(). */
struct rsv_cache_msg {
	const uint8_t *wire; /**< DNS message, ID zero, no OPT record */
	size_t len; /**< at most 65535 */
	const uint16_t *ttl_offsets; /**< offset of each RR's TTL field in @wire */
	size_t n_ttls;
	uint32_t ttl_s; /**< lifetime of the entry in seconds (> 0) */
};

/** What rsv_cache_lookup() found. */
enum rsv_cache_result {
	RSV_CACHE_MISS = 0,
	RSV_CACHE_HIT = 1, /**< fresh answer copied out */
	RSV_CACHE_STALE = 2, /**< expired answer within the stale window copied out */
};

/** Counters, summed over shards. */
struct rsv_cache_stats {
	uint64_t entries;
	uint64_t bytes; /**< bytes held, entry headers included */
	uint64_t max_bytes;
	uint64_t hits;
	uint64_t stale_hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions; /**< removed by LRU to make room */
};

/**
 * Create a cache bounded by @max_bytes, with @n_shards shards (rounded up to a power of two,
 * 1 to 4096). @return the cache, or NULL when out of memory.
 */
struct rsv_cache *rsv_cache_new(uint64_t max_bytes, unsigned n_shards);

/** Free @cache and every entry (NULL is fine). No other thread may use it any more. */
void rsv_cache_free(struct rsv_cache *cache);

/** Change the byte bound; shards over it evict at once, one shard at a time. */
void rsv_cache_set_limit(struct rsv_cache *cache, uint64_t max_bytes);

/** Compute @key->hash from the other fields (seeded per cache, so not predictable outside). */
void rsv_cache_key_hash(const struct rsv_cache *cache, struct rsv_cache_key *key);

/**
 * Store @msg under @key at monotonic time @now_s, replacing any entry with the same key.
 *
 * @return 0, -EINVAL for an invalid message (TTL offset outside it, ttl_s 0), CORE_ELIMIT when
 *         the entry is larger than a shard may hold, -ENOMEM.
 */
int rsv_cache_insert(struct rsv_cache *cache, const struct rsv_cache_key *key,
		     const struct rsv_cache_msg *msg, uint32_t now_s);

/**
 * Look @key up at monotonic time @now_s and copy the answer into @out.
 *
 * A fresh entry is copied with each TTL lowered by its age. With @stale_s > 0, an entry expired
 * for at most @stale_s seconds is copied with every TTL set to @stale_ttl_s (RFC 8767 suggests
 * 30) and RSV_CACHE_STALE is returned; with @stale_s == 0 expired entries are misses but stay
 * stored (a later lookup with a window may serve them); a lookup with a window drops the
 * entries expired for longer than it.
 * The message ID in @out is zero and the question name has the stored (lower) case.
 *
 * @param out_len  receives the message length on a hit.
 * @return an enum rsv_cache_result; RSV_CACHE_MISS too when the answer is larger than @out_size.
 */
enum rsv_cache_result rsv_cache_lookup(struct rsv_cache *cache, const struct rsv_cache_key *key,
				       uint32_t now_s, uint32_t stale_s, uint32_t stale_ttl_s,
				       uint8_t *out, size_t out_size, size_t *out_len);

/**
 * Remove every entry (@name NULL), or the entries for wire name @name and all names below it
 * (lower-cased wire form). @return the number of entries removed.
 */
uint64_t rsv_cache_flush(struct rsv_cache *cache, const uint8_t *name, size_t name_len);

/** Fill @out with the current counters. */
void rsv_cache_get_stats(struct rsv_cache *cache, struct rsv_cache_stats *out);
