/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client network table (see networks.h): one binary trie per address family, nodes in a
 * single array, each node naming the network whose prefix ends there. A lookup walks at most 32
 * or 128 nodes and remembers the last network met, which is the longest matching prefix.
 */
#include "policy/networks.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/alloc.h"

#define NO_NODE 0u /* node 0 is the root, never a child */
#define NO_NET UINT32_MAX

struct trie_node {
	uint32_t child[2];
	uint32_t net; /**< index into nets->v, or NO_NET */
};

struct trie {
	struct trie_node *nodes; /**< nodes[0] is the root */
	uint32_t n, cap;
};

struct pol_networks {
	struct pol_network *v; /**< configured networks, then the built-in localhost last */
	size_t n; /**< configured networks */
	char *strings; /**< one block holding every name/id/group */
	struct trie t4, t6;
};

static int trie_init(struct trie *t)
{
	t->cap = 64;
	t->nodes = core_malloc(t->cap * sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->n = 1;
	t->nodes[0] = (struct trie_node){{NO_NODE, NO_NODE}, NO_NET};
	return 0;
}

static int bit_at(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

/* Insert @addr/@prefix → @net. A prefix listed twice keeps its first network. */
static int trie_insert(struct trie *t, const uint8_t *addr, unsigned prefix, uint32_t net)
{
	uint32_t cur = 0;
	for (unsigned i = 0; i < prefix; i++) {
		int b = bit_at(addr, i);
		if (t->nodes[cur].child[b] == NO_NODE) {
			if (t->n == t->cap) {
				struct trie_node *nn =
					core_realloc(t->nodes, 2 * t->cap * sizeof(*t->nodes));
				if (!nn)
					return -ENOMEM;
				t->nodes = nn;
				t->cap *= 2;
			}
			t->nodes[t->n] = (struct trie_node){{NO_NODE, NO_NODE}, NO_NET};
			t->nodes[cur].child[b] = t->n++;
		}
		cur = t->nodes[cur].child[b];
	}
	if (t->nodes[cur].net == NO_NET)
		t->nodes[cur].net = net;
	return 0;
}

static uint32_t trie_lookup(const struct trie *t, const uint8_t *addr, unsigned bits)
{
	uint32_t cur = 0, best = t->nodes[0].net;
	for (unsigned i = 0; i < bits; i++) {
		cur = t->nodes[cur].child[bit_at(addr, i)];
		if (cur == NO_NODE)
			break;
		if (t->nodes[cur].net != NO_NET)
			best = t->nodes[cur].net;
	}
	return best;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *str_put(char **cursor, const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s) + 1;
	char *dst = *cursor;
	memcpy(dst, s, len);
	*cursor += len;
	return dst;
}

int pol_networks_new(const struct cfg_root *cfg, struct pol_networks **out_nets)
{
	static const uint8_t lo4[4] = {127, 0, 0, 1};
	static const uint8_t lo6[16] = {[15] = 1};
	struct pol_networks *nets = core_calloc(1, sizeof(*nets));
	if (!nets)
		return -ENOMEM;
	size_t n = cfg->n_networks;
	size_t strings = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_network *cn = &cfg->networks[i];
		strings += str_size(cn->name) + str_size(cn->id ? cn->id : cn->name) +
			   str_size(cn->group);
	}
	nets->v = core_calloc(n + 1, sizeof(*nets->v));
	nets->strings = core_malloc(strings + 1);
	if (!nets->v || !nets->strings || trie_init(&nets->t4) != 0 || trie_init(&nets->t6) != 0)
		goto out_free;
	nets->n = n;
	char *cursor = nets->strings;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_network *cn = &cfg->networks[i];
		struct pol_network *pn = &nets->v[i];
		pn->name = str_put(&cursor, cn->name);
		pn->id = str_put(&cursor, cn->id ? cn->id : cn->name);
		pn->group = str_put(&cursor, cn->group);
		pn->index = (unsigned)i;
		pn->line = cn->line;
		for (size_t j = 0; j < cn->n_cidrs; j++) {
			const struct cfg_cidr *c = &cn->cidrs[j];
			struct trie *t = c->family == AF_INET ? &nets->t4 : &nets->t6;
			if (trie_insert(t, c->addr, c->prefix, (uint32_t)i) != 0)
				goto out_free;
		}
	}
	/* Localhost last: a configured network covering 127.0.0.1 or ::1 takes precedence. */
	nets->v[n] = (struct pol_network){"localhost", "localhost", NULL, UINT32_MAX, 0};
	if (trie_insert(&nets->t4, lo4, 32, (uint32_t)n) != 0 ||
	    trie_insert(&nets->t6, lo6, 128, (uint32_t)n) != 0)
		goto out_free;
	*out_nets = nets;
	return 0;
out_free:
	pol_networks_free(nets);
	return -ENOMEM;
}

struct pol_networks *pol_networks_free(struct pol_networks *nets)
{
	if (!nets)
		return NULL;
	core_free(nets->t4.nodes);
	core_free(nets->t6.nodes);
	core_free(nets->strings);
	core_free(nets->v);
	return core_free(nets);
}

const struct pol_network *pol_networks_lookup(const struct pol_networks *nets,
					      const struct sockaddr *sa)
{
	uint32_t net = NO_NET;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		net = trie_lookup(&nets->t4, (const uint8_t *)&sin->sin_addr, 32);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			net = trie_lookup(&nets->t4, a + 12, 32);
		else
			net = trie_lookup(&nets->t6, a, 128);
	}
	return net == NO_NET ? NULL : &nets->v[net];
}

size_t pol_networks_count(const struct pol_networks *nets)
{
	return nets->n;
}
