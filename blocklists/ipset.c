/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RPZ IP trigger ranges (see ipset.h): one prefix trie (core/ptrie.h) per family. */
#include "blocklists/ipset.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ptrie.h"

struct bl_ipset {
	_Atomic unsigned refs;
	struct bl_ip_range *ranges;
	size_t n;
	struct core_ptrie t4, t6; /**< values: indexes into ranges */
};

int bl_ipset_new(const struct bl_ip_range *ranges, size_t n, struct bl_ipset **out_set)
{
	struct bl_ipset *s = core_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	atomic_init(&s->refs, 1);
	int r = -ENOMEM;
	if (core_ptrie_init(&s->t4) != 0 || core_ptrie_init(&s->t6) != 0)
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
		r = core_ptrie_insert(v4 ? &s->t4 : &s->t6, g->addr, g->prefix, (uint32_t)i);
		if (r != 0)
			goto out_free;
	}
	*out_set = s;
	return 0;
out_free:
	bl_ipset_free(s);
	return r;
}

struct bl_ipset *bl_ipset_ref(struct bl_ipset *set)
{
	if (set)
		atomic_fetch_add(&set->refs, 1);
	return set;
}

struct bl_ipset *bl_ipset_free(struct bl_ipset *set)
{
	if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
		return NULL;
	core_ptrie_deinit(&set->t4);
	core_ptrie_deinit(&set->t6);
	core_free(set->ranges);
	return core_free(set);
}

const struct bl_ip_range *bl_ipset_lookup(const struct bl_ipset *set, int family,
					  const uint8_t *addr)
{
	uint32_t i = family == AF_INET ? core_ptrie_lookup(&set->t4, addr, 32)
				       : core_ptrie_lookup(&set->t6, addr, 128);
	return i == CORE_PTRIE_NONE ? NULL : &set->ranges[i];
}

size_t bl_ipset_count(const struct bl_ipset *set)
{
	return set->n;
}
