/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the answer cache (resolver/cache.c), including a threaded smoke test. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "resolver/cache.h"

/* A wire name from a string literal: its terminating NUL is the root label. */
#define WNAME(s) (const uint8_t *)(s), (uint8_t)sizeof(s)

#define T0 1000u /* insert time of most tests */
#define TYPE_A 1
#define TYPE_AAAA 28
#define CLASS_IN 1

/** A DNS answer built for a test: header, question, one A record per TTL. */
struct test_msg {
	uint8_t wire[1024];
	size_t len;
	uint16_t offs[32];
	size_t n_ttls;
	uint32_t ttl_s;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void build_msg(struct test_msg *m, const uint8_t *qname, uint8_t qlen, uint16_t qtype,
		      const uint32_t *ttls, size_t n, uint8_t tag)
{
	uint8_t *p = m->wire;

	assert_true(n <= 32);
	memset(m, 0, sizeof(*m));
	put16(p + 2, 0x8180);
	put16(p + 4, 1);
	put16(p + 6, (uint16_t)n);
	p += 12;
	memcpy(p, qname, qlen);
	p += qlen;
	put16(p, qtype);
	put16(p + 2, CLASS_IN);
	p += 4;
	for (size_t i = 0; i < n; i++) {
		put16(p, 0xc00c);
		put16(p + 2, TYPE_A);
		put16(p + 4, CLASS_IN);
		m->offs[i] = (uint16_t)(p + 6 - m->wire);
		put32(p + 6, ttls[i]);
		put16(p + 10, 4);
		p[12] = 192;
		p[13] = 0;
		p[14] = tag;
		p[15] = (uint8_t)i;
		p += 16;
	}
	m->len = (size_t)(p - m->wire);
	m->n_ttls = n;
	m->ttl_s = ttls[0];
	for (size_t i = 1; i < n; i++) {
		if (ttls[i] < m->ttl_s)
			m->ttl_s = ttls[i];
	}
}

static struct rsv_cache_key make_key(const struct rsv_cache *c, const uint8_t *qname, uint8_t qlen,
				     uint16_t qtype, uint8_t flags)
{
	struct rsv_cache_key k = {
		.qname = qname,
		.qname_len = qlen,
		.qtype = qtype,
		.qclass = CLASS_IN,
		.flags = flags,
	};

	rsv_cache_key_hash(c, &k);
	return k;
}

static int insert_msg(struct rsv_cache *c, const struct rsv_cache_key *k, const struct test_msg *m,
		      uint32_t now)
{
	struct rsv_cache_msg msg = {
		.wire = m->wire,
		.len = m->len,
		.ttl_offsets = m->offs,
		.n_ttls = m->n_ttls,
		.ttl_s = m->ttl_s,
	};

	return rsv_cache_insert(c, k, &msg, now);
}

/* Insert a one-record answer for (@qname, A, flags 0) with TTL @ttl; returns its message. */
static void put_name(struct rsv_cache *c, const uint8_t *qname, uint8_t qlen, uint16_t qtype,
		     uint32_t ttl, struct test_msg *out_m)
{
	struct rsv_cache_key k = make_key(c, qname, qlen, qtype, 0);

	build_msg(out_m, qname, qlen, qtype, &ttl, 1, 1);
	assert_int_equal(insert_msg(c, &k, out_m, T0), 0);
}

static enum rsv_cache_result get(struct rsv_cache *c, const uint8_t *qname, uint8_t qlen,
				 uint16_t qtype, uint8_t flags, uint32_t now, uint8_t *out,
				 size_t *out_len)
{
	struct rsv_cache_key k = make_key(c, qname, qlen, qtype, flags);

	return rsv_cache_lookup(c, &k, now, 0, 0, out, 1024, out_len);
}

static struct rsv_cache_stats stats(struct rsv_cache *c)
{
	struct rsv_cache_stats s;

	rsv_cache_get_stats(c, &s);
	return s;
}

/* Size the cache accounts for one put_name() entry of a 1-byte-label name (all such are equal). */
static uint64_t one_entry_size(void)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 1);
	struct test_msg m;
	uint64_t size;

	assert_non_null(c);
	put_name(c,
		 WNAME("\x01"
		       "a"),
		 TYPE_A, 60, &m);
	size = stats(c).bytes;
	rsv_cache_free(c);
	return size;
}

static void test_roundtrip(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 4);
	uint32_t ttls[] = {300, 300};
	struct rsv_cache_key k;
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;
	uint64_t expect_size;

	(void)state;
	assert_non_null(c);
	k = make_key(c,
		     WNAME("\x03www\x07"
			   "example\x02vn"),
		     TYPE_A, 0);
	build_msg(&m, k.qname, k.qname_len, TYPE_A, ttls, 2, 7);
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);
	assert_int_equal(rsv_cache_lookup(c, &k, T0, 0, 0, out, sizeof(out), &len), RSV_CACHE_HIT);
	assert_int_equal(len, m.len);
	assert_memory_equal(out, m.wire, m.len);

	/* Hashing is deterministic per cache and covers every key field. */
	struct rsv_cache_key k2 = k;

	rsv_cache_key_hash(c, &k2);
	assert_int_equal(k2.hash, k.hash);
	k2.qtype = TYPE_AAAA;
	rsv_cache_key_hash(c, &k2);
	assert_int_not_equal(k2.hash, k.hash);

	/* One allocation per entry, accounted in full: header + qname + message + offsets. */
	expect_size = k.qname_len + m.len + 2 * m.n_ttls;
	assert_true(stats(c).bytes >= expect_size);
	assert_true(stats(c).bytes <= expect_size + 64 + 1);
	assert_int_equal(stats(c).entries, 1);
	rsv_cache_free(c);
}

static void test_ttl_countdown(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 1);
	uint32_t ttls[] = {300, 60, 3600, 5};
	struct test_msg m, expect;
	struct rsv_cache_key k;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);
	build_msg(&m, k.qname, k.qname_len, TYPE_A, ttls, 4, 1);
	m.ttl_s = 60;
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);

	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 10, 0, 0, out, sizeof(out), &len),
			 RSV_CACHE_HIT);
	assert_int_equal(len, m.len);
	assert_int_equal(get32(out + m.offs[0]), 290);
	assert_int_equal(get32(out + m.offs[1]), 50);
	assert_int_equal(get32(out + m.offs[2]), 3590);
	assert_int_equal(get32(out + m.offs[3]), 0); /* never below zero */
	/* Nothing else changed. */
	expect = m;
	put32(expect.wire + m.offs[0], 290);
	put32(expect.wire + m.offs[1], 50);
	put32(expect.wire + m.offs[2], 3590);
	put32(expect.wire + m.offs[3], 0);
	assert_memory_equal(out, expect.wire, m.len);

	/* The stored copy keeps the original TTLs: a later lookup counts from the insert. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 59, 0, 0, out, sizeof(out), &len),
			 RSV_CACHE_HIT);
	assert_int_equal(get32(out + m.offs[0]), 241);
	assert_int_equal(get32(out + m.offs[1]), 1);

	/* A lookup with a clock read older than the insert sees age 0. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 - 3, 0, 0, out, sizeof(out), &len),
			 RSV_CACHE_HIT);
	assert_memory_equal(out, m.wire, m.len);
	rsv_cache_free(c);
}

static void test_expiry(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 2);
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	put_name(c, WNAME("\x02vn"), TYPE_A, 60, &m);
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, 0, T0 + 59, out, &len), RSV_CACHE_HIT);
	assert_int_equal(get32(out + m.offs[0]), 1);
	len = 12345;
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, 0, T0 + 60, out, &len), RSV_CACHE_MISS);
	assert_int_equal(len, 12345); /* untouched on a miss */
	/* A lookup without a stale window keeps it for one with a window (RFC 8767 retry)... */
	assert_int_equal(stats(c).entries, 1);
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, 0, T0 + 1000, out, &len), RSV_CACHE_MISS);
	assert_int_equal(stats(c).entries, 1);
	/* ...which drops it when it is past that window. */
	{
		struct rsv_cache_key k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);

		assert_int_equal(
			rsv_cache_lookup(c, &k, T0 + 60 + 5, 5, 30, out, sizeof(out), &len),
			RSV_CACHE_MISS);
	}
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(stats(c).bytes, 0);
	assert_int_equal(stats(c).misses, 3);
	rsv_cache_free(c);
}

static void test_stale(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 2);
	uint32_t ttls[] = {60, 300};
	struct rsv_cache_key k;
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	k = make_key(c, WNAME("\x02vn"), TYPE_A, RSV_CACHE_F_DO);
	build_msg(&m, k.qname, k.qname_len, TYPE_A, ttls, 2, 1);
	assert_int_equal(m.ttl_s, 60);
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);

	/* Still fresh: the stale window changes nothing. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 59, 30, 30, out, sizeof(out), &len),
			 RSV_CACHE_HIT);
	assert_int_equal(get32(out + m.offs[1]), 241);
	/* Expired, inside the window [expiry, expiry + 30): every TTL is the stale TTL. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 60, 30, 30, out, sizeof(out), &len),
			 RSV_CACHE_STALE);
	assert_int_equal(get32(out + m.offs[0]), 30);
	assert_int_equal(get32(out + m.offs[1]), 30);
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 89, 30, 7, out, sizeof(out), &len),
			 RSV_CACHE_STALE);
	assert_int_equal(len, m.len);
	assert_int_equal(get32(out + m.offs[0]), 7);
	assert_int_equal(get32(out + m.offs[1]), 7);
	put32(out + m.offs[0], 60);
	put32(out + m.offs[1], 300);
	assert_memory_equal(out, m.wire, m.len);
	assert_int_equal(stats(c).stale_hits, 2);
	assert_int_equal(stats(c).entries, 1);
	/* Without a window an expired entry is a miss, but stays for a lookup with one. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 61, 0, 30, out, sizeof(out), &len),
			 RSV_CACHE_MISS);
	assert_int_equal(stats(c).entries, 1);
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 62, 30, 30, out, sizeof(out), &len),
			 RSV_CACHE_STALE);

	/* Beyond the window: miss, and dropped. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 90, 30, 30, out, sizeof(out), &len),
			 RSV_CACHE_MISS);
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 61, 30, 30, out, sizeof(out), &len),
			 RSV_CACHE_MISS);
	rsv_cache_free(c);
}

static void test_replace(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 4);
	uint32_t ttls_a[] = {60};
	uint32_t ttls_b[] = {120, 120, 120};
	struct test_msg a, b;
	struct rsv_cache_key k;
	uint8_t out[1024];
	size_t len = 0;
	uint64_t size_a;

	(void)state;
	assert_non_null(c);
	k = make_key(c,
		     WNAME("\x07"
			   "example\x02vn"),
		     TYPE_A, 0);
	build_msg(&a, k.qname, k.qname_len, TYPE_A, ttls_a, 1, 1);
	build_msg(&b, k.qname, k.qname_len, TYPE_A, ttls_b, 3, 2);
	assert_int_equal(insert_msg(c, &k, &a, T0), 0);
	size_a = stats(c).bytes;
	assert_int_equal(insert_msg(c, &k, &b, T0 + 5), 0);
	assert_int_equal(stats(c).entries, 1);
	assert_int_equal(stats(c).bytes, size_a + (b.len - a.len) + 2 * (b.n_ttls - a.n_ttls));
	assert_int_equal(stats(c).inserts, 2);
	assert_int_equal(stats(c).evictions, 0);
	/* The new entry's lifetime and age count from its own insert. */
	assert_int_equal(rsv_cache_lookup(c, &k, T0 + 100, 0, 0, out, sizeof(out), &len),
			 RSV_CACHE_HIT);
	assert_int_equal(len, b.len);
	assert_int_equal(get32(out + b.offs[2]), 25);
	assert_int_equal(out[b.offs[2] + 8], 2); /* tag of message b */
	rsv_cache_free(c);
}

static void test_flags_distinguish(void **state)
{
	static const uint8_t flags[] = {0, RSV_CACHE_F_DO, RSV_CACHE_F_CD};
	struct rsv_cache *c = rsv_cache_new(1 << 20, 8);
	struct rsv_cache_key k;
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;
	uint32_t ttl = 60;

	(void)state;
	assert_non_null(c);
	for (unsigned i = 0; i < 3; i++) {
		k = make_key(c, WNAME("\x02vn"), TYPE_A, flags[i]);
		build_msg(&m, k.qname, k.qname_len, TYPE_A, &ttl, 1, (uint8_t)(10 + i));
		assert_int_equal(insert_msg(c, &k, &m, T0), 0);
	}
	assert_int_equal(stats(c).entries, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, flags[i], T0, out, &len),
				 RSV_CACHE_HIT);
		assert_int_equal(out[m.offs[0] + 8], 10 + i);
	}
	assert_int_equal(
		get(c, WNAME("\x02vn"), TYPE_A, RSV_CACHE_F_DO | RSV_CACHE_F_CD, T0, out, &len),
		RSV_CACHE_MISS);
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_AAAA, 0, T0, out, &len), RSV_CACHE_MISS);
	/* Same bytes, different class. */
	k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);
	k.qclass = 3;
	rsv_cache_key_hash(c, &k);
	assert_int_equal(rsv_cache_lookup(c, &k, T0, 0, 0, out, sizeof(out), &len), RSV_CACHE_MISS);
	rsv_cache_free(c);
}

static void test_lru_eviction(void **state)
{
	uint64_t s = one_entry_size();
	struct rsv_cache *c = rsv_cache_new(3 * s, 1);
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	put_name(c,
		 WNAME("\x01"
		       "a"),
		 TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x01"
		       "b"),
		 TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x01"
		       "c"),
		 TYPE_A, 60, &m);
	assert_int_equal(stats(c).entries, 3);
	assert_int_equal(stats(c).bytes, 3 * s);
	/* a is used again; b is now the least recently used. */
	assert_int_equal(get(c,
			     WNAME("\x01"
				   "a"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	put_name(c,
		 WNAME("\x01"
		       "d"),
		 TYPE_A, 60, &m);
	assert_int_equal(stats(c).evictions, 1);
	assert_int_equal(stats(c).entries, 3);
	assert_int_equal(get(c,
			     WNAME("\x01"
				   "b"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_MISS);
	assert_int_equal(get(c,
			     WNAME("\x01"
				   "a"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	assert_int_equal(get(c,
			     WNAME("\x01"
				   "c"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	assert_int_equal(get(c,
			     WNAME("\x01"
				   "d"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	/* LRU order is now a, c, d (oldest first): e evicts a. */
	put_name(c,
		 WNAME("\x01"
		       "e"),
		 TYPE_A, 60, &m);
	assert_int_equal(get(c,
			     WNAME("\x01"
				   "a"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_MISS);
	assert_int_equal(stats(c).evictions, 2);
	assert_true(stats(c).bytes <= stats(c).max_bytes);
	rsv_cache_free(c);
}

/* The same, in a shard large enough for the "recent eighth" shortcut of lookups to apply. */
static void test_lru_eviction_large(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 1);
	uint8_t name[5] = {3, 'n', '0', '0', 0};
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;
	uint64_t s;

	(void)state;
	assert_non_null(c);
	for (unsigned i = 0; i < 100; i++) {
		name[2] = (uint8_t)('0' + i / 10);
		name[3] = (uint8_t)('0' + i % 10);
		put_name(c, name, 5, TYPE_A, 60, &m);
	}
	s = stats(c).bytes / 100;
	rsv_cache_set_limit(c, 100 * s);
	assert_int_equal(stats(c).entries, 100);
	/* Use the ten oldest, and the newest a few times (it stays near the front). */
	for (unsigned i = 0; i < 10; i++) {
		name[2] = '0';
		name[3] = (uint8_t)('0' + i);
		assert_int_equal(get(c, name, 5, TYPE_A, 0, T0, out, &len), RSV_CACHE_HIT);
		name[2] = '9';
		name[3] = '9';
		assert_int_equal(get(c, name, 5, TYPE_A, 0, T0, out, &len), RSV_CACHE_HIT);
	}
	/* Fifty new names evict the fifty least recently used: n10 to n59. */
	name[1] = 'm';
	for (unsigned i = 0; i < 50; i++) {
		name[2] = (uint8_t)('0' + i / 10);
		name[3] = (uint8_t)('0' + i % 10);
		put_name(c, name, 5, TYPE_A, 60, &m);
	}
	assert_int_equal(stats(c).evictions, 50);
	name[1] = 'n';
	for (unsigned i = 0; i < 100; i++) {
		name[2] = (uint8_t)('0' + i / 10);
		name[3] = (uint8_t)('0' + i % 10);
		assert_int_equal(get(c, name, 5, TYPE_A, 0, T0, out, &len),
				 i >= 10 && i < 60 ? RSV_CACHE_MISS : RSV_CACHE_HIT);
	}
	rsv_cache_free(c);
}

static void test_set_limit(void **state)
{
	uint64_t s = one_entry_size();
	struct rsv_cache *c = rsv_cache_new(10 * s, 1);
	uint8_t name[3] = {1, 'a', 0};
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	for (uint8_t i = 0; i < 10; i++) {
		name[1] = (uint8_t)('a' + i);
		put_name(c, name, 3, TYPE_A, 60, &m);
	}
	assert_int_equal(stats(c).entries, 10);
	/* Lowering the bound evicts at once, oldest first. */
	rsv_cache_set_limit(c, 3 * s);
	assert_int_equal(stats(c).entries, 3);
	assert_int_equal(stats(c).evictions, 7);
	assert_int_equal(stats(c).max_bytes, 3 * s);
	for (uint8_t i = 0; i < 10; i++) {
		name[1] = (uint8_t)('a' + i);
		assert_int_equal(get(c, name, 3, TYPE_A, 0, T0, out, &len),
				 i >= 7 ? RSV_CACHE_HIT : RSV_CACHE_MISS);
	}
	/* Below one entry, inserts are refused. */
	rsv_cache_set_limit(c, s - 1);
	assert_int_equal(stats(c).entries, 0);
	{
		struct rsv_cache_key k = make_key(c, name, 3, TYPE_A, 0);

		assert_int_equal(insert_msg(c, &k, &m, T0), CORE_ELIMIT);
	}
	rsv_cache_set_limit(c, 1 << 20);
	put_name(c, name, 3, TYPE_A, 60, &m);
	assert_int_equal(stats(c).entries, 1);
	rsv_cache_free(c);
}

/* Many entries in a cache whose bound grows: the bucket table is resized under load. */
static void test_grow(void **state)
{
	struct rsv_cache *c = rsv_cache_new(16 << 10, 2);
	uint8_t name[16];
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	rsv_cache_set_limit(c, 64 << 20);
	for (unsigned i = 0; i < 20000; i++) {
		name[0] = (uint8_t)snprintf((char *)name + 1, sizeof(name) - 1, "n%u", i);
		name[name[0] + 1] = 0;
		put_name(c, name, (uint8_t)(name[0] + 2), TYPE_A, 60, &m);
	}
	assert_int_equal(stats(c).entries, 20000);
	assert_int_equal(stats(c).evictions, 0);
	for (unsigned i = 0; i < 20000; i++) {
		name[0] = (uint8_t)snprintf((char *)name + 1, sizeof(name) - 1, "n%u", i);
		name[name[0] + 1] = 0;
		assert_int_equal(get(c, name, (uint8_t)(name[0] + 2), TYPE_A, 0, T0, out, &len),
				 RSV_CACHE_HIT);
		assert_memory_equal(out + 12, name, name[0] + 2);
	}
	assert_int_equal(rsv_cache_flush(c, NULL, 0), 20000);
	rsv_cache_free(c);
}

static void test_too_big(void **state)
{
	uint64_t s = one_entry_size();
	struct rsv_cache *c = rsv_cache_new(s - 1, 1);
	struct rsv_cache_key k;
	struct test_msg m;
	uint32_t ttl = 60;

	(void)state;
	assert_non_null(c);
	k = make_key(c,
		     WNAME("\x01"
			   "a"),
		     TYPE_A, 0);
	build_msg(&m, k.qname, k.qname_len, TYPE_A, &ttl, 1, 1);
	assert_int_equal(insert_msg(c, &k, &m, T0), CORE_ELIMIT);
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(stats(c).inserts, 0);
	rsv_cache_free(c);

	/* The bound is per shard: four shards of a 4s - 4 cache hold less than one entry each. */
	c = rsv_cache_new(4 * s - 4, 3);
	assert_non_null(c);
	k = make_key(c,
		     WNAME("\x01"
			   "a"),
		     TYPE_A, 0);
	assert_int_equal(insert_msg(c, &k, &m, T0), CORE_ELIMIT);
	rsv_cache_set_limit(c, 4 * s);
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);
	rsv_cache_free(c);
}

static void test_invalid(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 1);
	uint32_t ttls[] = {60, 60};
	struct rsv_cache_key k;
	struct test_msg m;

	(void)state;
	assert_non_null(c);
	k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);
	build_msg(&m, k.qname, k.qname_len, TYPE_A, ttls, 2, 1);

	m.offs[1] = (uint16_t)(m.len - 3);
	assert_int_equal(insert_msg(c, &k, &m, T0), -EINVAL);
	m.offs[1] = 0xffff;
	assert_int_equal(insert_msg(c, &k, &m, T0), -EINVAL);
	m.offs[1] = (uint16_t)(m.len - 4); /* the last 4 bytes are still inside */
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);
	assert_int_equal(rsv_cache_flush(c, NULL, 0), 1);

	m.offs[1] = m.offs[0];
	m.ttl_s = 0;
	assert_int_equal(insert_msg(c, &k, &m, T0), -EINVAL);
	m.ttl_s = 60;
	{
		struct rsv_cache_msg msg = {
			.wire = m.wire,
			.len = m.len,
			.ttl_offsets = NULL,
			.n_ttls = 1,
			.ttl_s = 60,
		};

		assert_int_equal(rsv_cache_insert(c, &k, &msg, T0), -EINVAL);
		msg.len = 70000;
		msg.ttl_offsets = m.offs;
		assert_int_equal(rsv_cache_insert(c, &k, &msg, T0), -EINVAL);
		msg.len = 0;
		msg.n_ttls = 0;
		assert_int_equal(rsv_cache_insert(c, &k, &msg, T0), -EINVAL);
	}
	assert_int_equal(stats(c).inserts, 1); /* only the valid one */
	assert_int_equal(stats(c).entries, 0);

	/* A message without TTLs and a TTL that would overflow the clock are fine. */
	m.n_ttls = 0;
	m.ttl_s = UINT32_MAX;
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);
	{
		uint8_t out[1024];
		size_t len;

		assert_int_equal(
			rsv_cache_lookup(c, &k, UINT32_MAX - 1, 0, 0, out, sizeof(out), &len),
			RSV_CACHE_HIT);
	}
	rsv_cache_free(c);
}

static void test_flush_all(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 8);
	uint8_t name[16];
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	for (unsigned i = 0; i < 100; i++) {
		name[0] = (uint8_t)snprintf((char *)name + 1, sizeof(name) - 1, "h%u", i);
		name[name[0] + 1] = 0;
		put_name(c, name, (uint8_t)(name[0] + 2), TYPE_A, 60, &m);
	}
	assert_int_equal(stats(c).entries, 100);
	assert_int_equal(rsv_cache_flush(c, NULL, 0), 100);
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(stats(c).bytes, 0);
	assert_int_equal(get(c, name, (uint8_t)(name[0] + 2), TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_MISS);
	assert_int_equal(rsv_cache_flush(c, NULL, 0), 0);
	/* Usable again after a flush. */
	put_name(c, name, (uint8_t)(name[0] + 2), TYPE_A, 60, &m);
	assert_int_equal(get(c, name, (uint8_t)(name[0] + 2), TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	rsv_cache_free(c);
}

static void test_flush_subtree(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 4);
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	put_name(c,
		 WNAME("\x03www\x07"
		       "example\x02vn"),
		 TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x01"
		       "a\x01"
		       "b\x07"
		       "example\x02vn"),
		 TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x07"
		       "example\x02vn"),
		 TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x07"
		       "example\x02vn"),
		 TYPE_AAAA, 60, &m);
	put_name(c,
		 WNAME("\x0a"
		       "notexample\x02vn"),
		 TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x07"
		       "example\x03"
		       "com"),
		 TYPE_A, 60, &m);
	put_name(c, WNAME("\x02vn"), TYPE_A, 60, &m);
	/* "example.vn" bytes in the middle of a label must not match. */
	put_name(c,
		 WNAME("\x09"
		       "x\x07"
		       "example\x02vn"),
		 TYPE_A, 60, &m);
	assert_int_equal(stats(c).entries, 8);

	/* Malformed names remove nothing. */
	assert_int_equal(rsv_cache_flush(c,
					 (const uint8_t *)"\x07"
							  "example\x02vn",
					 11),
			 0);
	assert_int_equal(rsv_cache_flush(c,
					 (const uint8_t *)"\x09"
							  "example\x02vn",
					 12),
			 0);
	assert_int_equal(rsv_cache_flush(c, (const uint8_t *)"", 0), 0);

	assert_int_equal(rsv_cache_flush(c, WNAME("\x07"
						  "example\x02vn")),
			 4);
	assert_int_equal(stats(c).entries, 4);
	assert_int_equal(get(c,
			     WNAME("\x03www\x07"
				   "example\x02vn"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_MISS);
	assert_int_equal(get(c,
			     WNAME("\x07"
				   "example\x02vn"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_MISS);
	assert_int_equal(get(c,
			     WNAME("\x0a"
				   "notexample\x02vn"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	assert_int_equal(get(c,
			     WNAME("\x07"
				   "example\x03"
				   "com"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, 0, T0, out, &len), RSV_CACHE_HIT);
	assert_int_equal(get(c,
			     WNAME("\x09"
				   "x\x07"
				   "example\x02vn"),
			     TYPE_A, 0, T0, out, &len),
			 RSV_CACHE_HIT);

	/* vn takes notexample.vn, vn and the odd label; the root takes the rest. */
	assert_int_equal(rsv_cache_flush(c, WNAME("\x02vn")), 3);
	assert_int_equal(rsv_cache_flush(c, WNAME("")), 1);
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(stats(c).bytes, 0);
	rsv_cache_free(c);
}

static void test_out_too_small(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 1);
	struct test_msg m;
	struct rsv_cache_key k;
	uint8_t out[1024];
	size_t len = 999;

	(void)state;
	assert_non_null(c);
	put_name(c, WNAME("\x02vn"), TYPE_A, 60, &m);
	k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);
	assert_int_equal(rsv_cache_lookup(c, &k, T0, 0, 0, out, m.len - 1, &len), RSV_CACHE_MISS);
	assert_int_equal(len, 999);
	assert_int_equal(stats(c).entries, 1); /* still there */
	assert_int_equal(rsv_cache_lookup(c, &k, T0, 0, 0, out, m.len, &len), RSV_CACHE_HIT);
	assert_int_equal(len, m.len);
	rsv_cache_free(c);
}

static void test_stats(void **state)
{
	struct rsv_cache *c = rsv_cache_new(1 << 20, 4);
	struct rsv_cache_stats s;
	struct test_msg m;
	uint8_t out[1024];
	size_t len = 0;

	(void)state;
	assert_non_null(c);
	s = stats(c);
	assert_int_equal(s.entries + s.bytes + s.hits + s.stale_hits + s.misses + s.inserts +
				 s.evictions,
			 0);
	assert_int_equal(s.max_bytes, 1 << 20);
	put_name(c, WNAME("\x02vn"), TYPE_A, 60, &m);
	put_name(c,
		 WNAME("\x03"
		       "com"),
		 TYPE_A, 60, &m);
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, 0, T0, out, &len), RSV_CACHE_HIT);
	assert_int_equal(get(c, WNAME("\x02vn"), TYPE_A, 0, T0 + 1, out, &len), RSV_CACHE_HIT);
	assert_int_equal(get(c, WNAME("\x03net"), TYPE_A, 0, T0, out, &len), RSV_CACHE_MISS);
	{
		struct rsv_cache_key k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);

		assert_int_equal(rsv_cache_lookup(c, &k, T0 + 61, 10, 30, out, sizeof(out), &len),
				 RSV_CACHE_STALE);
	}
	s = stats(c);
	assert_int_equal(s.entries, 2);
	assert_int_equal(s.inserts, 2);
	assert_int_equal(s.hits, 2);
	assert_int_equal(s.stale_hits, 1);
	assert_int_equal(s.misses, 1);
	assert_int_equal(s.evictions, 0);
	assert_true(s.bytes > 2 * m.len);
	rsv_cache_free(c);
}

/* Every allocation failure is a clean error, and nothing leaks. */
static void test_alloc_failures(void **state)
{
	uint64_t base = core_alloc_live_bytes();
	struct rsv_cache *c = NULL;
	struct rsv_cache_key k;
	struct test_msg m;
	uint32_t ttl = 60;

	(void)state;
	for (uint64_t n = 1; !c; n++) {
		assert_true(n < 100);
		core_alloc_fail_at(n);
		c = rsv_cache_new(1 << 20, 4);
		core_alloc_fail_at(0);
		if (!c)
			assert_int_equal(core_alloc_live_bytes(), base);
	}
	k = make_key(c, WNAME("\x02vn"), TYPE_A, 0);
	build_msg(&m, k.qname, k.qname_len, TYPE_A, &ttl, 1, 1);
	core_alloc_fail_at(1);
	assert_int_equal(insert_msg(c, &k, &m, T0), -ENOMEM);
	core_alloc_fail_at(0);
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(insert_msg(c, &k, &m, T0), 0);
	/* A failed replace keeps the old entry. */
	core_alloc_fail_at(1);
	assert_int_equal(insert_msg(c, &k, &m, T0), -ENOMEM);
	core_alloc_fail_at(0);
	assert_int_equal(stats(c).entries, 1);
	rsv_cache_free(c);
	assert_int_equal(core_alloc_live_bytes(), base);
}

/* ---- threads ---------------------------------------------------------------------------- */

#define MT_THREADS 4
#define MT_NAMES 48
#define MT_OPS 30000

struct mt_arg {
	struct rsv_cache *cache;
	unsigned seed;
	unsigned bad; /**< lookups that returned the wrong answer */
	unsigned hits;
};

static uint8_t mt_names[MT_NAMES][24];
static uint8_t mt_name_len[MT_NAMES];

static void mt_names_init(void)
{
	for (unsigned i = 0; i < MT_NAMES; i++) {
		uint8_t *p = mt_names[i];

		/* h<i>.<zone i % 3>.vn: three subtrees for flushes to cut. */
		p[0] = (uint8_t)snprintf((char *)p + 1, 8, "h%u", i);
		p += p[0] + 1;
		*p++ = 2;
		*p++ = 'z';
		*p++ = (uint8_t)('0' + i % 3);
		memcpy(p, "\x02vn", 4);
		p += 4;
		mt_name_len[i] = (uint8_t)(p - mt_names[i]);
	}
}

static void *mt_worker(void *p)
{
	struct mt_arg *a = p;
	struct rsv_cache *c = a->cache;
	uint8_t out[1024];
	uint32_t now = T0;

	for (unsigned op = 0; op < MT_OPS; op++) {
		unsigned r = (unsigned)rand_r(&a->seed);
		unsigned i = r % MT_NAMES;
		uint8_t flags = (uint8_t)((r >> 8) & 3);
		struct rsv_cache_key k = make_key(c, mt_names[i], mt_name_len[i], TYPE_A, flags);
		unsigned what = (r >> 12) % 1000;
		size_t len;

		if (op % 100 == 0)
			now++;
		if (what < 400) {
			uint32_t ttls[3] = {5 + (r >> 20) % 20, 300, 30};
			struct test_msg m;

			build_msg(&m, k.qname, k.qname_len, TYPE_A, ttls, 1 + (r >> 16) % 3,
				  (uint8_t)i);
			if (insert_msg(c, &k, &m, now) != 0)
				a->bad++;
		} else if (what < 990) {
			enum rsv_cache_result res =
				rsv_cache_lookup(c, &k, now, 10, 30, out, sizeof(out), &len);

			if (res == RSV_CACHE_MISS)
				continue;
			a->hits++;
			/* The answer must be the one for this name: question and tag bytes. */
			if (len < 12u + k.qname_len + 4 + 16 ||
			    memcmp(out + 12, k.qname, k.qname_len) != 0 ||
			    out[12 + k.qname_len + 4 + 14] != i)
				a->bad++;
		} else if (what < 997) {
			static const uint8_t zone[] = "\x02z0\x02vn";
			uint8_t z[sizeof(zone)];

			memcpy(z, zone, sizeof(zone));
			z[2] = (uint8_t)('0' + r % 3);
			(void)rsv_cache_flush(c, z, sizeof(z));
		} else if (what < 998) {
			(void)rsv_cache_flush(c, NULL, 0);
		} else if (what < 999) {
			rsv_cache_set_limit(c, (r & 1) ? 16 << 10 : 64 << 10);
		} else {
			struct rsv_cache_stats s;

			rsv_cache_get_stats(c, &s);
			if (s.bytes > s.max_bytes)
				a->bad++;
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct rsv_cache *c = rsv_cache_new(32 << 10, 4);
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	struct rsv_cache_stats s;
	unsigned hits = 0;

	(void)state;
	assert_non_null(c);
	mt_names_init();
	for (unsigned t = 0; t < MT_THREADS; t++) {
		args[t] = (struct mt_arg){.cache = c, .seed = 12345u + t};
		assert_int_equal(pthread_create(&th[t], NULL, mt_worker, &args[t]), 0);
	}
	for (unsigned t = 0; t < MT_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(args[t].bad, 0);
		hits += args[t].hits;
	}
	rsv_cache_get_stats(c, &s);
	assert_true(s.bytes <= s.max_bytes);
	assert_int_equal(s.hits + s.stale_hits, hits);
	assert_true(hits > 0);
	rsv_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_ttl_countdown),
		cmocka_unit_test(test_expiry),	       cmocka_unit_test(test_stale),
		cmocka_unit_test(test_replace),	       cmocka_unit_test(test_flags_distinguish),
		cmocka_unit_test(test_lru_eviction),   cmocka_unit_test(test_lru_eviction_large),
		cmocka_unit_test(test_set_limit),      cmocka_unit_test(test_grow),
		cmocka_unit_test(test_too_big),	       cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_flush_all),      cmocka_unit_test(test_flush_subtree),
		cmocka_unit_test(test_out_too_small),  cmocka_unit_test(test_stats),
		cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
