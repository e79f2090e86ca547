/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Binary prefix trie (see ptrie.h). */
#include "core/ptrie.h"

#include <errno.h>

#include "core/alloc.h"

static int bit_at(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

int core_ptrie_init(struct core_ptrie *t)
{
	t->cap = 16;
	t->nodes = core_malloc(t->cap * sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->n = 1;
	t->nodes[0] = (struct core_ptrie_node){{0, 0}, CORE_PTRIE_NONE};
	return 0;
}

void core_ptrie_deinit(struct core_ptrie *t)
{
	t->nodes = core_free(t->nodes);
	t->n = t->cap = 0;
}

int core_ptrie_insert(struct core_ptrie *t, const uint8_t *addr, unsigned prefix, uint32_t value)
{
	uint32_t cur = 0;
	for (unsigned i = 0; i < prefix; i++) {
		int b = bit_at(addr, i);
		if (t->nodes[cur].child[b] == 0) {
			if (t->n == t->cap) {
				struct core_ptrie_node *nn =
					core_realloc(t->nodes, 2 * t->cap * sizeof(*nn));
				if (!nn)
					return -ENOMEM;
				t->nodes = nn;
				t->cap *= 2;
			}
			t->nodes[t->n] = (struct core_ptrie_node){{0, 0}, CORE_PTRIE_NONE};
			t->nodes[cur].child[b] = t->n++;
		}
		cur = t->nodes[cur].child[b];
	}
	if (t->nodes[cur].value == CORE_PTRIE_NONE)
		t->nodes[cur].value = value;
	return 0;
}

uint32_t core_ptrie_lookup_len(const struct core_ptrie *t, const uint8_t *addr, unsigned bits,
			       unsigned *out_len)
{
	uint32_t cur = 0, best = t->nodes[0].value;
	unsigned best_len = 0;
	for (unsigned i = 0; i < bits; i++) {
		cur = t->nodes[cur].child[bit_at(addr, i)];
		if (cur == 0)
			break;
		if (t->nodes[cur].value != CORE_PTRIE_NONE) {
			best = t->nodes[cur].value;
			best_len = i + 1;
		}
	}
	if (best != CORE_PTRIE_NONE)
		*out_len = best_len;
	return best;
}

uint32_t core_ptrie_lookup(const struct core_ptrie *t, const uint8_t *addr, unsigned bits)
{
	unsigned len;
	return core_ptrie_lookup_len(t, addr, bits, &len);
}
