/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RPZ IP trigger ranges (see ipset.h): one binary trie per family over the prefix bits, nodes in
 * one array; a lookup walks at most 32 or 128 nodes and keeps the last range met.
 */
#include "blocklists/ipset.h"

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>

#include "core/alloc.h"

#define NO_NODE 0u
#define NO_RANGE UINT32_MAX

struct node {
	uint32_t child[2];
	uint32_t range;
};

struct trie {
	struct node *nodes;
	uint32_t n, cap;
};

struct bl_ipset {
	struct bl_ip_range *ranges;
	size_t n;
	struct trie t4, t6;
};

static int bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static int trie_init(struct trie *t)
{
	t->cap = 16;
	t->nodes = core_malloc(t->cap * sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->n = 1;
	t->nodes[0] = (struct node){{NO_NODE, NO_NODE}, NO_RANGE};
	return 0;
}

static int trie_add(struct trie *t, const uint8_t *addr, unsigned prefix, uint32_t range)
{
	uint32_t cur = 0;
	for (unsigned i = 0; i < prefix; i++) {
		int b = bit_at(addr, i);
		if (t->nodes[cur].child[b] == NO_NODE) {
			if (t->n == t->cap) {
				struct node *nn = core_realloc(t->nodes, 2 * t->cap * sizeof(*nn));
				if (!nn)
					return -ENOMEM;
				t->nodes = nn;
				t->cap *= 2;
			}
			t->nodes[t->n] = (struct node){{NO_NODE, NO_NODE}, NO_RANGE};
			t->nodes[cur].child[b] = t->n++;
		}
		cur = t->nodes[cur].child[b];
	}
	if (t->nodes[cur].range == NO_RANGE)
		t->nodes[cur].range = range;
	return 0;
}

int bl_ipset_new(const struct bl_ip_range *ranges, size_t n, struct bl_ipset **out_set)
{
	struct bl_ipset *s = core_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int r = -ENOMEM;
	if (trie_init(&s->t4) != 0 || trie_init(&s->t6) != 0)
		goto out_free;
	if (n) {
		s->ranges = core_malloc(n * sizeof(*ranges));
		if (!s->ranges)
			goto out_free;
		memcpy(s->ranges, ranges, n * sizeof(*ranges));
	}
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct bl_ip_range *g = &ranges[i];
		bool v4 = g->family == AF_INET;
		if ((!v4 && g->family != AF_INET6) || g->prefix > (v4 ? 32 : 128)) {
			r = -EINVAL;
			goto out_free;
		}
		r = trie_add(v4 ? &s->t4 : &s->t6, g->addr, g->prefix, (uint32_t)i);
		if (r != 0)
			goto out_free;
	}
	*out_set = s;
	return 0;
out_free:
	bl_ipset_free(s);
	return r;
}

struct bl_ipset *bl_ipset_free(struct bl_ipset *set)
{
	if (!set)
		return NULL;
	core_free(set->t4.nodes);
	core_free(set->t6.nodes);
	core_free(set->ranges);
	return core_free(set);
}

const struct bl_ip_range *bl_ipset_lookup(const struct bl_ipset *set, int family,
					  const uint8_t *addr)
{
	const struct trie *t = family == AF_INET ? &set->t4 : &set->t6;
	unsigned bits = family == AF_INET ? 32 : 128;
	uint32_t cur = 0, best = t->nodes[0].range;
	for (unsigned i = 0; i < bits; i++) {
		cur = t->nodes[cur].child[bit_at(addr, i)];
		if (cur == NO_NODE)
			break;
		if (t->nodes[cur].range != NO_RANGE)
			best = t->nodes[cur].range;
	}
	return best == NO_RANGE ? NULL : &set->ranges[best];
}

size_t bl_ipset_count(const struct bl_ipset *set)
{
	return set->n;
}
