/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for the answer cache: the input is a program of inserts (fuzzed messages, TTL
 * offsets and names, well formed or not), lookups, subtree flushes with fuzzed names, clock steps
 * and limit changes, run against a small cache and checked against a model of what was stored.
 *
 * Input format, one operation after another (missing bytes read as zero):
 *   op % 8: 0-1 insert, 2-3 lookup, 4 flush name, 5 advance clock, 6 set limit, 7 flush all
 *   name:   selector byte; below 0xc0 a name of a fixed pool, else a length byte and raw bytes
 *   insert: name, type, flags, ttl_s, u16 message length, message, n_ttls, u16 offsets
 *   lookup: name, type, flags, stale_s, stale_ttl_s, u16 output buffer size
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"
#include "resolver/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL_MAX 256
#define MAX_TTLS 24

struct reader {
	const uint8_t *p;
	size_t n;
};

/** What the last successful insert stored for one key. Pointers are into the fuzz input. */
struct model_entry {
	const uint8_t *qname;
	uint8_t qname_len;
	uint16_t qtype;
	uint8_t flags;
	const uint8_t *wire;
	size_t len;
	uint16_t offs[MAX_TTLS];
	size_t n_ttls;
	uint32_t inserted_s;
	uint64_t expire_s;
};

struct model {
	struct model_entry e[MODEL_MAX];
	size_t n;
};

static const struct {
	const char *wire;
	uint8_t len;
} pool[] = {
	{"", 1},
	{"\x02vn", 4},
	{"\x07"
	 "example\x02vn",
	 12},
	{"\x03www\x07"
	 "example\x02vn",
	 16},
	{"\x01"
	 "a\x01"
	 "b\x07"
	 "example\x02vn",
	 16},
	{"\x0a"
	 "notexample\x02vn",
	 15},
	{"\x07"
	 "example\x03"
	 "com",
	 13},
	{"\x03"
	 "com",
	 5},
};

#define POOL_N (sizeof(pool) / sizeof(pool[0]))

static uint8_t take8(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t take16(struct reader *r)
{
	uint16_t hi = take8(r);

	return (uint16_t)(hi << 8 | take8(r));
}

/* Up to @want bytes of the input, in place; *@got says how many there were. */
static const uint8_t *take_bytes(struct reader *r, size_t want, size_t *got)
{
	const uint8_t *p = r->p;

	*got = want < r->n ? want : r->n;
	r->p += *got;
	r->n -= *got;
	return p;
}

static void take_name(struct reader *r, const uint8_t **name, size_t *len)
{
	uint8_t sel = take8(r);

	if (sel < 0xc0) {
		*name = (const uint8_t *)pool[sel % POOL_N].wire;
		*len = pool[sel % POOL_N].len;
		return;
	}
	*name = take_bytes(r, take8(r), len);
}

/* The model's own wire-name rules, written independently of cache.c. */
static bool model_name_ok(const uint8_t *name, size_t len)
{
	size_t pos = 0;

	if (len < 1 || len > 255)
		return false;
	for (;;) {
		if (pos >= len || name[pos] > 63)
			return false;
		if (name[pos] == 0)
			return pos == len - 1;
		pos += 1u + name[pos];
	}
}

static bool model_below(const struct model_entry *e, const uint8_t *name, size_t len)
{
	size_t starts[256], n = 0;

	for (size_t pos = 0; pos < e->qname_len && n < 256; pos += 1u + e->qname[pos]) {
		starts[n++] = pos;
		if (e->qname[pos] == 0)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		if (e->qname_len - starts[i] == len && memcmp(e->qname + starts[i], name, len) == 0)
			return true;
	}
	return false;
}

static struct model_entry *model_find(struct model *m, const struct rsv_cache_key *k)
{
	for (size_t i = 0; i < m->n; i++) {
		struct model_entry *e = &m->e[i];

		if (e->qname_len == k->qname_len && e->qtype == k->qtype && e->flags == k->flags &&
		    memcmp(e->qname, k->qname, k->qname_len) == 0)
			return e;
	}
	return NULL;
}

static void model_remove(struct model *m, struct model_entry *e)
{
	*e = m->e[--m->n];
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

static void do_insert(struct rsv_cache *c, struct model *m, struct reader *r, uint32_t now)
{
	struct rsv_cache_key k = {0};
	struct rsv_cache_msg msg = {0};
	uint16_t offs[MAX_TTLS];
	struct model_entry *e;
	size_t qlen, got;
	bool valid;
	int ret;

	take_name(r, &k.qname, &qlen);
	k.qname_len = (uint8_t)qlen;
	k.qtype = take8(r) & 3;
	k.qclass = 1;
	k.flags = take8(r) & 3;
	msg.ttl_s = take8(r);
	msg.wire = take_bytes(r, take16(r) % 700, &got);
	msg.len = got;
	msg.n_ttls = take8(r) % MAX_TTLS;
	for (size_t i = 0; i < msg.n_ttls; i++)
		offs[i] = (uint16_t)(take16(r) % (msg.len + 8));
	msg.ttl_offsets = offs;
	rsv_cache_key_hash(c, &k);

	valid = k.qname_len > 0 && msg.len > 0 && msg.ttl_s > 0 && msg.n_ttls <= msg.len / 4;
	for (size_t i = 0; valid && i < msg.n_ttls; i++)
		valid = offs[i] + 4u <= msg.len;
	ret = rsv_cache_insert(c, &k, &msg, now);
	core_require(valid ? ret == 0 || ret == CORE_ELIMIT : ret == -EINVAL);
	if (ret != 0)
		return;

	e = model_find(m, &k);
	if (!e) {
		if (m->n == MODEL_MAX) {
			/* The model is full: forget the entry from the cache too. */
			core_require(rsv_cache_flush(c, NULL, 0) <= m->n);
			m->n = 0;
			return;
		}
		e = &m->e[m->n++];
	}
	e->qname = k.qname;
	e->qname_len = k.qname_len;
	e->qtype = k.qtype;
	e->flags = k.flags;
	e->wire = msg.wire;
	e->len = msg.len;
	memcpy(e->offs, offs, msg.n_ttls * sizeof(offs[0]));
	e->n_ttls = msg.n_ttls;
	e->inserted_s = now;
	e->expire_s = (uint64_t)now + msg.ttl_s;
	if (e->expire_s > UINT32_MAX)
		e->expire_s = UINT32_MAX;
}

static void do_lookup(struct rsv_cache *c, struct model *m, struct reader *r, uint32_t now)
{
	struct rsv_cache_key k = {0};
	uint8_t expect[700];
	uint32_t stale_s, stale_ttl_s;
	size_t qlen, out_size, len = SIZE_MAX;
	enum rsv_cache_result res;
	struct model_entry *e;
	uint8_t *out;

	take_name(r, &k.qname, &qlen);
	k.qname_len = (uint8_t)qlen;
	k.qtype = take8(r) & 3;
	k.qclass = 1;
	k.flags = take8(r) & 3;
	stale_s = take8(r) % 16;
	stale_ttl_s = take8(r);
	out_size = take16(r) % 800;
	rsv_cache_key_hash(c, &k);
	/* Exactly @out_size bytes, so that ASan sees any write past it. */
	out = core_malloc(out_size ? out_size : 1);
	core_require(out);

	res = rsv_cache_lookup(c, &k, now, stale_s, stale_ttl_s, out, out_size, &len);
	e = model_find(m, &k);
	if (res == RSV_CACHE_MISS) {
		core_require(len == SIZE_MAX);
		goto out_free;
	}
	core_require(e);
	core_require(len == e->len && len <= out_size);
	if (res == RSV_CACHE_HIT) {
		uint32_t age = now - e->inserted_s;

		core_require(now < e->expire_s);
		memcpy(expect, e->wire, e->len);
		for (size_t i = 0; i < e->n_ttls; i++) {
			uint32_t ttl = get32(e->wire + e->offs[i]);

			put32(expect + e->offs[i], ttl > age ? ttl - age : 0);
		}
	} else {
		core_require(res == RSV_CACHE_STALE);
		core_require(now >= e->expire_s && now - e->expire_s < stale_s);
		memcpy(expect, e->wire, e->len);
		for (size_t i = 0; i < e->n_ttls; i++)
			put32(expect + e->offs[i], stale_ttl_s);
	}
	core_require(memcmp(out, expect, len) == 0);

out_free:
	core_free(out);
}

static void do_flush(struct rsv_cache *c, struct model *m, struct reader *r)
{
	const uint8_t *name;
	size_t len;
	uint64_t removed, expect = 0;

	take_name(r, &name, &len);
	removed = rsv_cache_flush(c, name, len);
	if (!model_name_ok(name, len)) {
		core_require(removed == 0);
		return;
	}
	/* The cache holds a subset of the model (LRU may have dropped some): never more. */
	for (size_t i = 0; i < m->n;) {
		if (model_below(&m->e[i], name, len)) {
			expect++;
			model_remove(m, &m->e[i]);
		} else {
			i++;
		}
	}
	core_require(removed <= expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct reader r = {data, size};
	uint64_t base = core_alloc_live_bytes();
	struct rsv_cache_stats st;
	struct rsv_cache *c;
	uint32_t now = 1000;

	c = rsv_cache_new(4096, 2);
	core_require(c);
	m.n = 0;
	while (r.n > 0) {
		switch (take8(&r) % 8) {
		case 0:
		case 1:
			do_insert(c, &m, &r, now);
			break;
		case 2:
		case 3:
			do_lookup(c, &m, &r, now);
			break;
		case 4:
			do_flush(c, &m, &r);
			break;
		case 5:
			now += take8(&r);
			break;
		case 6:
			rsv_cache_set_limit(c, 64 + (uint64_t)take16(&r) * 4);
			break;
		default:
			rsv_cache_get_stats(c, &st);
			core_require(rsv_cache_flush(c, NULL, 0) == st.entries);
			m.n = 0;
			break;
		}
		rsv_cache_get_stats(c, &st);
		core_require(st.bytes <= st.max_bytes);
		core_require(st.entries <= m.n);
		core_require((st.entries == 0) == (st.bytes == 0));
	}
	rsv_cache_free(c);
	core_require(core_alloc_live_bytes() == base);
	return 0;
}
