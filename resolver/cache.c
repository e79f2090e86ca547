/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sharded answer cache (see cache.h; design notes in README-cache.md). */
#include "resolver/cache.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"
#include "core/rand.h"

/* Shard counts above this buy nothing (contention is already negligible) and cost memory. */
#define CACHE_MAX_SHARDS 4096u
/* Bucket arrays start at one bucket per this many budget bytes (a typical entry is larger)... */
#define CACHE_BYTES_PER_BUCKET 256u
/* ...and may grow (load factor above 2) up to one bucket per this many bytes. */
#define CACHE_MIN_BYTES_PER_BUCKET 64u
#define CACHE_MIN_BUCKETS 16u
/* Bucket indexes use the low hash bits, shard indexes bits 32 and up: keep them disjoint. */
#define CACHE_MAX_BUCKET_BITS 30u

/* Odd 64-bit constants for the hash (digits of pi, e and sqrt(2)). */
#define HASH_K0 0x243f6a8885a308d3ull
#define HASH_K1 0xb7e151628aed2a6bull
#define HASH_K2 0x6a09e667f3bcc909ull

/** Links of the per-shard LRU list: circular, around a sentinel in the shard. */
struct lru_link {
	struct lru_link *prev; /**< towards the most recently used */
	struct lru_link *next; /**< towards the least recently used */
};

/**
 * One cached answer: header, then (in the same allocation) the qname, the message with its
 * original TTLs, padding to 2 bytes, and the n_ttls TTL offsets.
 * Every field is protected by the lock of the shard that holds the entry.
 */
struct cache_entry {
	struct cache_entry *next; /**< bucket chain; also the free list once unlinked */
	struct lru_link lru;	  /**< position in the shard's LRU list */
	uint64_t hash;
	uint64_t meta;	     /**< qtype, qclass, flags, qname_len packed by key_meta() */
	uint32_t inserted_s; /**< monotonic seconds at insert */
	uint32_t expire_s;   /**< inserted_s + ttl_s, saturated */
	uint32_t size;	   /**< bytes accounted: the whole allocation as computed by entry_size() */
	uint32_t lru_tick; /**< shard lru_tick when last put at the front */
	uint16_t msg_len;
	uint16_t n_ttls;
	uint8_t data[]; /**< qname, message, pad, uint16_t offsets[n_ttls] */
};

/**
 * A shard: one lock over its table, LRU list and counters. Shards are padded to a multiple of
 * 64 bytes and the array is 64-byte aligned, so two shards never share a cache line.
 */
struct cache_shard {
	pthread_mutex_t lock;
	struct cache_entry **buckets; /**< chained hash table, mask + 1 buckets */
	uint32_t mask;
	uint32_t max_buckets; /**< growth bound, derived from @budget */
	uint32_t lru_tick;    /**< counts puts at the LRU front (wraps) */
	struct lru_link lru;  /**< sentinel: next is the newest entry, prev the oldest */
	uint64_t budget;      /**< byte bound of this shard */
	uint64_t bytes;
	uint64_t entries;
	uint64_t hits;
	uint64_t stale_hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions;
} __attribute__((aligned(64)));

struct rsv_cache {
	struct cache_shard *shards; /**< n_shards, 64-byte aligned inside @shards_mem */
	void *shards_mem;	    /**< the allocation holding @shards */
	unsigned n_shards;	    /**< power of two */
	unsigned n_init; /**< shards whose mutex and table are initialised (for the unwinding) */
	unsigned shard_bits;
	uint64_t seed;		    /**< hash seed; immutable after rsv_cache_new() */
	_Atomic uint64_t max_bytes; /**< read without shard locks for the early size check */
};

/* ---- hashing ---------------------------------------------------------------------------- */

/* Multiply to 128 bits and fold the halves: every input bit reaches most output bits. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
	uint64_t r = a * b;

	r ^= r >> 29;
	r *= b;
	return r ^ (r >> 32);
#endif
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t key_meta(const struct rsv_cache_key *key)
{
	return (uint64_t)key->qtype | (uint64_t)key->qclass << 16 | (uint64_t)key->flags << 32 |
	       (uint64_t)key->qname_len << 40;
}

void rsv_cache_key_hash(const struct rsv_cache *cache, struct rsv_cache_key *key)
{
	const uint8_t *p = key->qname;
	size_t n = key->qname_len;
	uint64_t h = cache->seed;
	uint64_t tail = 0;

	for (; n >= 8; n -= 8, p += 8)
		h = fold_mul(h ^ load64(p), HASH_K0);
	/*
	 * The last 1..7 bytes: overlapping loads instead of a byte loop. Bytes read twice are
	 * harmless because the length is mixed in below.
	 */
	if (n >= 4)
		tail = load32(p) | load32(p + n - 4) << 32;
	else if (n > 0)
		tail = (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
	h = fold_mul(h ^ tail, HASH_K1);
	h = fold_mul(h ^ key_meta(key), HASH_K2);
	key->hash = h ^ (h >> 31);
}

/* ---- entries ---------------------------------------------------------------------------- */

static inline size_t entry_offsets_pos(size_t qname_len, size_t msg_len)
{
	return (qname_len + msg_len + 1) & ~(size_t)1;
}

static inline size_t entry_size(size_t qname_len, size_t msg_len, size_t n_ttls)
{
	return offsetof(struct cache_entry, data) + entry_offsets_pos(qname_len, msg_len) +
	       n_ttls * sizeof(uint16_t);
}

static inline uint8_t entry_qname_len(const struct cache_entry *e)
{
	return (uint8_t)(e->meta >> 40);
}

static inline const uint8_t *entry_msg(const struct cache_entry *e)
{
	return e->data + entry_qname_len(e);
}

static inline uint16_t *entry_offsets(struct cache_entry *e)
{
	void *p = e->data + entry_offsets_pos(entry_qname_len(e), e->msg_len);

	return p;
}

static inline struct cache_entry *lru_entry(struct lru_link *l)
{
	void *p = (char *)l - offsetof(struct cache_entry, lru);

	return p;
}

static inline void lru_unlink(struct lru_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static inline void lru_push_front(struct lru_link *head, struct lru_link *l)
{
	l->prev = head;
	l->next = head->next;
	head->next->prev = l;
	head->next = l;
}

/* Unaligned big-endian access: one load or store plus a byte swap, not four byte operations. */
static inline uint32_t rd_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline void wr_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

/* ---- shards ----------------------------------------------------------------------------- */

static inline struct cache_shard *shard_of(const struct rsv_cache *cache, uint64_t hash)
{
	return &cache->shards[(hash >> 32) & (cache->n_shards - 1)];
}

static uint32_t pow2_floor(uint64_t x, uint32_t lo, uint32_t hi)
{
	uint32_t n = lo;

	while (n < hi && (uint64_t)n * 2 <= x)
		n *= 2;
	return n;
}

static void shard_set_budget(struct cache_shard *sh, uint64_t budget)
{
	sh->budget = budget;
	sh->max_buckets = pow2_floor(budget / CACHE_MIN_BYTES_PER_BUCKET, CACHE_MIN_BUCKETS,
				     1u << CACHE_MAX_BUCKET_BITS);
}

static int shard_init(struct cache_shard *sh, uint64_t budget, const pthread_mutexattr_t *attr)
{
	uint32_t n;

	memset(sh, 0, sizeof(*sh));
	shard_set_budget(sh, budget);
	n = pow2_floor(budget / CACHE_BYTES_PER_BUCKET, CACHE_MIN_BUCKETS, sh->max_buckets);
	sh->buckets = core_calloc(n, sizeof(*sh->buckets));
	if (!sh->buckets)
		return -ENOMEM;
	sh->mask = n - 1;
	sh->lru.next = &sh->lru;
	sh->lru.prev = &sh->lru;
	if (pthread_mutex_init(&sh->lock, attr) != 0) {
		sh->buckets = core_free(sh->buckets);
		return -ENOMEM;
	}
	return 0;
}

/* Free every entry of a list linked through ->next. Called without any lock held. */
static void free_list(struct cache_entry *e)
{
	while (e) {
		struct cache_entry *next = e->next;

		core_free(e);
		e = next;
	}
}

/* Unlink @e, found at *@link of its bucket chain, from the table, the LRU list and the counts. */
static void shard_unlink_at(struct cache_shard *sh, struct cache_entry **link,
			    struct cache_entry *e)
{
	*link = e->next;
	lru_unlink(&e->lru);
	sh->bytes -= e->size;
	sh->entries--;
}

/* Unlink @e when only the entry is known: walk its bucket (chains are short). */
static void shard_unlink(struct cache_shard *sh, struct cache_entry *e)
{
	struct cache_entry **link = &sh->buckets[e->hash & sh->mask];

	while (*link != e) {
		core_require(*link);
		link = &(*link)->next;
	}
	shard_unlink_at(sh, link, e);
}

/*
 * Evict least recently used entries until @need more bytes fit the budget; the victims are
 * pushed on *@dead for freeing after the unlock.
 */
static void shard_evict(struct cache_shard *sh, uint64_t need, struct cache_entry **dead)
{
	while (sh->bytes + need > sh->budget && sh->lru.prev != &sh->lru) {
		struct cache_entry *e = lru_entry(sh->lru.prev);

		shard_unlink(sh, e);
		sh->evictions++;
		e->next = *dead;
		*dead = e;
	}
}

/*
 * Double the bucket array when chains average more than two entries, up to max_buckets. An
 * allocation failure only leaves the table as it was: lookups stay correct, only slower.
 */
static void shard_maybe_grow(struct cache_shard *sh)
{
	uint64_t n = (uint64_t)sh->mask + 1;
	struct cache_entry **nb;

	if (sh->entries <= 2 * n || n * 2 > sh->max_buckets)
		return;
	nb = core_calloc(n * 2, sizeof(*nb));
	if (!nb)
		return;
	for (uint64_t i = 0; i < n; i++) {
		struct cache_entry *e = sh->buckets[i];

		while (e) {
			struct cache_entry *next = e->next;
			struct cache_entry **b = &nb[e->hash & (n * 2 - 1)];

			e->next = *b;
			*b = e;
			e = next;
		}
	}
	core_free(sh->buckets);
	sh->buckets = nb;
	sh->mask = (uint32_t)(n * 2 - 1);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

struct rsv_cache *rsv_cache_new(uint64_t max_bytes, unsigned n_shards)
{
	struct rsv_cache *cache;
	pthread_mutexattr_t attr;
	unsigned n = 1, bits = 0;
	uintptr_t p;

	while (n < n_shards && n < CACHE_MAX_SHARDS) {
		n <<= 1;
		bits++;
	}
	cache = core_calloc(1, sizeof(*cache));
	if (!cache)
		return NULL;
	cache->n_shards = n;
	cache->shard_bits = bits;
	cache->seed = (uint64_t)core_rand_u32() << 32 | core_rand_u32();
	atomic_init(&cache->max_bytes, max_bytes);
	cache->shards_mem = core_malloc((size_t)n * sizeof(struct cache_shard) + 63);
	if (!cache->shards_mem)
		goto out_free_cache;
	p = ((uintptr_t)cache->shards_mem + 63) & ~(uintptr_t)63;
	cache->shards = (struct cache_shard *)p;
	if (pthread_mutexattr_init(&attr) != 0)
		goto out_free_cache;
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	/* Critical sections are a few hundred cycles: spin briefly before sleeping in the kernel. */
	(void)pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
	for (; cache->n_init < n; cache->n_init++) {
		if (shard_init(&cache->shards[cache->n_init], max_bytes >> bits, &attr) != 0)
			break;
	}
	pthread_mutexattr_destroy(&attr);
	if (cache->n_init < n)
		goto out_free_cache;
	return cache;

out_free_cache:
	rsv_cache_free(cache);
	return NULL;
}

void rsv_cache_free(struct rsv_cache *cache)
{
	if (!cache)
		return;
	for (unsigned i = 0; i < cache->n_init; i++) {
		struct cache_shard *sh = &cache->shards[i];
		struct lru_link *l = sh->lru.next;

		while (l != &sh->lru) {
			struct lru_link *next = l->next;

			core_free(lru_entry(l));
			l = next;
		}
		core_free(sh->buckets);
		pthread_mutex_destroy(&sh->lock);
	}
	core_free(cache->shards_mem);
	core_free(cache);
}

/*
 * Lowering the bound evicts at once, shard by shard, rather than at each shard's next insert as
 * cache.h allows: an operator who shrinks the cache expects the memory back even for idle shards.
 */
void rsv_cache_set_limit(struct rsv_cache *cache, uint64_t max_bytes)
{
	atomic_store_explicit(&cache->max_bytes, max_bytes, memory_order_relaxed);
	for (unsigned i = 0; i < cache->n_shards; i++) {
		struct cache_shard *sh = &cache->shards[i];
		struct cache_entry *dead = NULL;

		pthread_mutex_lock(&sh->lock);
		shard_set_budget(sh, max_bytes >> cache->shard_bits);
		shard_evict(sh, 0, &dead);
		pthread_mutex_unlock(&sh->lock);
		free_list(dead);
	}
}

/* ---- insert / lookup -------------------------------------------------------------------- */

static inline bool entry_matches(const struct cache_entry *e, const struct rsv_cache_key *key,
				 uint64_t meta)
{
	return e->hash == key->hash && e->meta == meta &&
	       memcmp(e->data, key->qname, key->qname_len) == 0;
}

static int validate_msg(const struct rsv_cache_key *key, const struct rsv_cache_msg *msg)
{
	if (!key->qname || key->qname_len == 0 || !msg->wire || msg->len == 0 ||
	    msg->len > UINT16_MAX || msg->ttl_s == 0)
		return -EINVAL;
	if (msg->n_ttls == 0)
		return 0;
	/* TTL fields do not overlap in a real message: this also bounds n_ttls to 16383. */
	if (!msg->ttl_offsets || msg->n_ttls > msg->len / 4)
		return -EINVAL;
	for (size_t i = 0; i < msg->n_ttls; i++) {
		if ((size_t)msg->ttl_offsets[i] + 4 > msg->len)
			return -EINVAL;
	}
	return 0;
}

int rsv_cache_insert(struct rsv_cache *cache, const struct rsv_cache_key *key,
		     const struct rsv_cache_msg *msg, uint32_t now_s)
{
	struct cache_shard *sh = shard_of(cache, key->hash);
	struct cache_entry *e, **link, *dead = NULL;
	uint64_t meta = key_meta(key);
	size_t size;
	int ret;

	ret = validate_msg(key, msg);
	if (ret < 0)
		return ret;
	size = entry_size(key->qname_len, msg->len, msg->n_ttls);
	/* Racy against rsv_cache_set_limit() on purpose; the check is repeated under the lock. */
	if (size > atomic_load_explicit(&cache->max_bytes, memory_order_relaxed) >>
	    cache->shard_bits)
		return CORE_ELIMIT;

	/* Build the entry before taking the lock: the critical section only links it. */
	e = core_malloc(size);
	if (!e)
		return -ENOMEM;
	e->hash = key->hash;
	e->meta = meta;
	e->inserted_s = now_s;
	e->expire_s = now_s + msg->ttl_s < now_s ? UINT32_MAX : now_s + msg->ttl_s;
	e->size = (uint32_t)size;
	e->msg_len = (uint16_t)msg->len;
	e->n_ttls = (uint16_t)msg->n_ttls;
	memcpy(e->data, key->qname, key->qname_len);
	memcpy(e->data + key->qname_len, msg->wire, msg->len);
	if (msg->n_ttls)
		memcpy(entry_offsets(e), msg->ttl_offsets, msg->n_ttls * sizeof(uint16_t));

	pthread_mutex_lock(&sh->lock);
	if (size > sh->budget) {
		pthread_mutex_unlock(&sh->lock);
		core_free(e);
		return CORE_ELIMIT;
	}
	link = &sh->buckets[key->hash & sh->mask];
	for (struct cache_entry *old; (old = *link); link = &old->next) {
		if (entry_matches(old, key, meta)) {
			shard_unlink_at(sh, link, old);
			old->next = dead;
			dead = old;
			break;
		}
	}
	shard_evict(sh, size, &dead);
	shard_maybe_grow(sh);
	link = &sh->buckets[key->hash & sh->mask];
	e->next = *link;
	*link = e;
	lru_push_front(&sh->lru, &e->lru);
	e->lru_tick = ++sh->lru_tick;
	sh->bytes += size;
	sh->entries++;
	sh->inserts++;
	pthread_mutex_unlock(&sh->lock);

	free_list(dead);
	return 0;
}

enum rsv_cache_result rsv_cache_lookup(struct rsv_cache *cache, const struct rsv_cache_key *key,
				       uint32_t now_s, uint32_t stale_s, uint32_t stale_ttl_s,
				       uint8_t *out, size_t out_size, size_t *out_len)
{
	struct cache_shard *sh = shard_of(cache, key->hash);
	uint64_t meta = key_meta(key);
	struct cache_entry *e, **link, *dead = NULL;
	enum rsv_cache_result res;
	const uint16_t *offs;
	const uint8_t *msg;
	unsigned len, n;

	pthread_mutex_lock(&sh->lock);
	link = &sh->buckets[key->hash & sh->mask];
	while ((e = *link) && !entry_matches(e, key, meta))
		link = &e->next;
	if (!e)
		goto out_miss;
	if (now_s < e->expire_s) {
		res = RSV_CACHE_HIT;
	} else if (now_s - e->expire_s < stale_s) {
		res = RSV_CACHE_STALE;
	} else {
		/*
		 * Expired, past the stale window of this lookup: drop it now rather than wait for
		 * LRU. A lookup without a window (stale_s 0) keeps it: callers look up first without
		 * one and retry with one when upstreams fail (RFC 8767), and that retry needs it.
		 */
		if (stale_s > 0) {
			shard_unlink_at(sh, link, e);
			dead = e;
		}
		goto out_miss;
	}
	if (e->msg_len > out_size)
		goto out_miss;

	/*
	 * At most lru_tick - e->lru_tick entries were put in front of @e since it was: when that is
	 * under an eighth of the shard, @e is still in the most recent eighth and is left there.
	 * Eviction order stays exact for the rest of the list, and a hit on a popular entry skips
	 * the move, whose unlink would touch two other entries (cache misses in a large shard).
	 */
	if ((uint32_t)(sh->lru_tick - e->lru_tick) >= sh->entries / 8 && sh->lru.next != &e->lru) {
		lru_unlink(&e->lru);
		lru_push_front(&sh->lru, &e->lru);
		e->lru_tick = ++sh->lru_tick;
	}
	/* Locals: stores through @out may alias the entry as far as the compiler knows. */
	msg = entry_msg(e);
	offs = entry_offsets(e);
	len = e->msg_len;
	n = e->n_ttls;
	memcpy(out, msg, len);
	if (res == RSV_CACHE_HIT) {
		/* A lookup may carry an older now_s than the insert (another worker's clock read). */
		uint32_t age = now_s > e->inserted_s ? now_s - e->inserted_s : 0;

		sh->hits++;
		for (unsigned i = 0; i < n; i++) {
			uint32_t ttl = rd_be32(msg + offs[i]);

			wr_be32(out + offs[i], ttl > age ? ttl - age : 0);
		}
	} else {
		sh->stale_hits++;
		for (unsigned i = 0; i < n; i++)
			wr_be32(out + offs[i], stale_ttl_s);
	}
	pthread_mutex_unlock(&sh->lock);
	*out_len = len;
	return res;

out_miss:
	sh->misses++;
	pthread_mutex_unlock(&sh->lock);
	core_free(dead);
	return RSV_CACHE_MISS;
}

/* ---- flush and stats -------------------------------------------------------------------- */

/* Is @name a complete wire name: labels of 1..63 bytes ending with the root label at @len? */
static bool wire_name_is_valid(const uint8_t *name, size_t len)
{
	size_t pos = 0;

	if (len == 0 || len > 255)
		return false;
	while (pos < len) {
		uint8_t lab = name[pos];

		if (lab == 0)
			return pos + 1 == len;
		if (lab > 63)
			return false;
		pos += (size_t)lab + 1;
	}
	return false;
}

/*
 * Is @qname equal to @name or below it? Tries @name against each label suffix of @qname. The
 * stored qname is not trusted to be well formed: every read stays below @qlen.
 */
static bool name_is_below(const uint8_t *qname, size_t qlen, const uint8_t *name, size_t len)
{
	size_t pos = 0;

	while (pos < qlen) {
		if (qlen - pos == len)
			return memcmp(qname + pos, name, len) == 0;
		if (qlen - pos < len || qname[pos] == 0)
			return false;
		pos += (size_t)qname[pos] + 1;
	}
	return false;
}

/* Detach every entry of @sh; returns them linked through ->next. Called with the lock held. */
static struct cache_entry *shard_clear(struct cache_shard *sh, uint64_t *removed)
{
	struct cache_entry *dead = NULL;

	for (struct lru_link *l = sh->lru.next; l != &sh->lru;) {
		struct cache_entry *e = lru_entry(l);

		l = l->next;
		e->next = dead;
		dead = e;
	}
	memset(sh->buckets, 0, ((size_t)sh->mask + 1) * sizeof(*sh->buckets));
	sh->lru.next = &sh->lru;
	sh->lru.prev = &sh->lru;
	*removed += sh->entries;
	sh->entries = 0;
	sh->bytes = 0;
	return dead;
}

uint64_t rsv_cache_flush(struct rsv_cache *cache, const uint8_t *name, size_t name_len)
{
	uint64_t removed = 0;

	/* A malformed name cannot match at a label boundary: nothing to remove. */
	if (name && !wire_name_is_valid(name, name_len))
		return 0;
	for (unsigned i = 0; i < cache->n_shards; i++) {
		struct cache_shard *sh = &cache->shards[i];
		struct cache_entry *dead = NULL;

		pthread_mutex_lock(&sh->lock);
		if (!name) {
			dead = shard_clear(sh, &removed);
		} else {
			for (struct lru_link *l = sh->lru.next; l != &sh->lru;) {
				struct cache_entry *e = lru_entry(l);

				l = l->next;
				if (!name_is_below(e->data, entry_qname_len(e), name, name_len))
					continue;
				shard_unlink(sh, e);
				e->next = dead;
				dead = e;
				removed++;
			}
		}
		pthread_mutex_unlock(&sh->lock);
		free_list(dead);
	}
	return removed;
}

void rsv_cache_get_stats(struct rsv_cache *cache, struct rsv_cache_stats *out)
{
	struct rsv_cache_stats s = {0};

	for (unsigned i = 0; i < cache->n_shards; i++) {
		struct cache_shard *sh = &cache->shards[i];

		pthread_mutex_lock(&sh->lock);
		s.entries += sh->entries;
		s.bytes += sh->bytes;
		s.max_bytes += sh->budget;
		s.hits += sh->hits;
		s.stale_hits += sh->stale_hits;
		s.misses += sh->misses;
		s.inserts += sh->inserts;
		s.evictions += sh->evictions;
		pthread_mutex_unlock(&sh->lock);
	}
	*out = s;
}
