/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Per-worker tallies of the compliance records (see tally.h). */
#include "compliance/tally.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"

/* Keys a table may hold beyond soft_max: the overflow unit's keys. */
#define LOAD_SOFT(n) ((n) / 2)
#define LOAD_HARD(n) ((n) - (n) / 8)

static size_t pow2_at_least(size_t n)
{
	size_t p = 64;
	while (p < n)
		p <<= 1;
	return p;
}

int cmpl_tally_init(struct cmpl_tally *t, size_t keys, size_t top_names)
{
	memset(t, 0, sizeof(*t));
	size_t n = pow2_at_least(keys * 2);
	size_t m = pow2_at_least(top_names * 2);
	t->slots = core_calloc(n, sizeof(*t->slots));
	t->top = core_calloc(m, sizeof(*t->top));
	if (!t->slots || !t->top) {
		cmpl_tally_fini(t);
		return -ENOMEM;
	}
	t->mask = n - 1;
	t->soft_max = LOAD_SOFT(n);
	t->top_mask = m - 1;
	t->top_max = LOAD_HARD(m);
	return 0;
}

void cmpl_tally_fini(struct cmpl_tally *t)
{
	core_free(t->slots);
	core_free(t->top);
	memset(t, 0, sizeof(*t));
}

/* a: unit | group | event | by | category; b: list | rs_gen | lists_gen. a is never 0 (the
 * event is). */
static void pack(const struct cmpl_tally_key *k, uint64_t *a, uint64_t *b)
{
	*a = (uint64_t)k->unit << 32 | (uint64_t)k->group << 16 | (uint64_t)(k->event & 0xf) << 12 |
	     (uint64_t)(k->by & 0xf) << 8 | k->category;
	*b = (uint64_t)k->list << 32 | (uint64_t)k->rs_gen << 16 | k->lists_gen;
}

static void unpack(uint64_t a, uint64_t b, struct cmpl_tally_key *k)
{
	k->unit = (uint32_t)(a >> 32);
	k->group = (uint16_t)(a >> 16);
	k->event = (uint8_t)((a >> 12) & 0xf);
	k->by = (uint8_t)((a >> 8) & 0xf);
	k->category = (uint8_t)a;
	k->list = (uint16_t)(b >> 32);
	k->rs_gen = (uint16_t)(b >> 16);
	k->lists_gen = (uint16_t)b;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

/* The slot of (@a, @b): found, or a free one when @may_add; NULL otherwise. */
static struct cmpl_tally_slot *find(struct cmpl_tally *t, uint64_t a, uint64_t b, bool may_add)
{
	for (size_t i = mix(a, b) & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
		struct cmpl_tally_slot *s = &t->slots[i];
		if (s->a == a && s->b == b)
			return s;
		if (s->a == 0) {
			if (!may_add)
				return NULL;
			s->a = a;
			s->b = b;
			t->used++;
			return s;
		}
	}
	return NULL;
}

void cmpl_tally_add(struct cmpl_tally *t, const struct cmpl_tally_key *k)
{
	uint64_t a, b;
	pack(k, &a, &b);
	struct cmpl_tally_slot *s = find(t, a, b, t->used < t->soft_max);
	if (!s) {
		/* Full for new keys: count it without its network and group. */
		struct cmpl_tally_key o = *k;
		o.unit = CMPL_UNIT_OVERFLOW;
		o.group = UINT16_MAX;
		pack(&o, &a, &b);
		s = find(t, a, b, t->used < LOAD_HARD(t->mask + 1));
	}
	if (s)
		s->count++;
	else
		t->lost++;
}

static uint64_t name_hash(uint32_t unit, uint16_t rs_gen, const uint8_t *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)unit << 16 | rs_gen);
	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 0x100000001b3ull;
	return h | 1; /* never 0, the mark of a free slot */
}

void cmpl_tally_add_top(struct cmpl_tally *t, uint32_t unit, uint16_t rs_gen, const uint8_t *name,
			size_t len)
{
	if (len > CMPL_TOP_NAME_MAX) {
		t->top_lost++;
		return;
	}
	uint64_t h = name_hash(unit, rs_gen, name, len);
	for (size_t i = h & t->top_mask, n = 0; n <= t->top_mask; i = (i + 1) & t->top_mask, n++) {
		struct cmpl_top_slot *s = &t->top[i];
		if (s->hash == h && s->unit == unit && s->rs_gen == rs_gen && s->len == len &&
		    memcmp(s->name, name, len) == 0) {
			s->count++;
			return;
		}
		if (s->hash == 0) {
			if (t->top_used >= t->top_max)
				break;
			s->hash = h;
			s->unit = unit;
			s->rs_gen = rs_gen;
			s->len = (uint8_t)len;
			memcpy(s->name, name, len);
			s->count = 1;
			t->top_used++;
			return;
		}
	}
	t->top_lost++;
}

void cmpl_tally_each(const struct cmpl_tally *t,
		     void (*fn)(void *arg, const struct cmpl_tally_key *k, uint64_t count),
		     void *arg)
{
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		const struct cmpl_tally_slot *s = &t->slots[i];
		if (s->a && s->count) {
			struct cmpl_tally_key k;
			unpack(s->a, s->b, &k);
			fn(arg, &k, s->count);
		}
	}
}

void cmpl_tally_each_top(const struct cmpl_tally *t,
			 void (*fn)(void *arg, uint32_t unit, uint16_t rs_gen, const uint8_t *name,
				    size_t len, uint64_t count),
			 void *arg)
{
	for (size_t i = 0; t->top && i <= t->top_mask; i++) {
		const struct cmpl_top_slot *s = &t->top[i];
		if (s->hash)
			fn(arg, s->unit, s->rs_gen, s->name, s->len, s->count);
	}
}

bool cmpl_tally_empty(const struct cmpl_tally *t)
{
	return t->used == 0 && t->top_used == 0 && t->lost == 0 && t->top_lost == 0;
}

void cmpl_tally_clear(struct cmpl_tally *t)
{
	if (t->used)
		memset(t->slots, 0, (t->mask + 1) * sizeof(*t->slots));
	if (t->top_used)
		memset(t->top, 0, (t->top_mask + 1) * sizeof(*t->top));
	t->used = t->top_used = 0;
	t->lost = t->top_lost = 0;
}
