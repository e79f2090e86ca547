/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client network table (see networks.h): one prefix trie (core/ptrie.h) per family. */
#include "policy/networks.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ptrie.h"

struct pol_networks {
	struct pol_network *v; /**< configured networks, then the built-in localhost last */
	size_t n; /**< configured networks */
	char *strings; /**< one block holding every name/id/group */
	struct core_ptrie t4, t6; /**< values: indexes into v */
};

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
	if (!nets->v || !nets->strings || core_ptrie_init(&nets->t4) != 0 ||
	    core_ptrie_init(&nets->t6) != 0)
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
			struct core_ptrie *t = c->family == AF_INET ? &nets->t4 : &nets->t6;
			if (core_ptrie_insert(t, c->addr, c->prefix, (uint32_t)i) != 0)
				goto out_free;
		}
	}
	/* Localhost last: a configured network covering 127.0.0.1 or ::1 takes precedence. */
	nets->v[n] = (struct pol_network){"localhost", "localhost", NULL, UINT32_MAX, 0};
	if (core_ptrie_insert(&nets->t4, lo4, 32, (uint32_t)n) != 0 ||
	    core_ptrie_insert(&nets->t6, lo6, 128, (uint32_t)n) != 0)
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
	core_ptrie_deinit(&nets->t4);
	core_ptrie_deinit(&nets->t6);
	core_free(nets->strings);
	core_free(nets->v);
	return core_free(nets);
}

const struct pol_network *pol_networks_lookup_len(const struct pol_networks *nets,
						  const struct sockaddr *sa, unsigned *out_len)
{
	uint32_t net = CORE_PTRIE_NONE;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		net = core_ptrie_lookup_len(&nets->t4, (const uint8_t *)&sin->sin_addr, 32,
					    out_len);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			net = core_ptrie_lookup_len(&nets->t4, a + 12, 32, out_len);
		else
			net = core_ptrie_lookup_len(&nets->t6, a, 128, out_len);
	}
	return net == CORE_PTRIE_NONE ? NULL : &nets->v[net];
}

const struct pol_network *pol_networks_lookup(const struct pol_networks *nets,
					      const struct sockaddr *sa)
{
	unsigned len;
	return pol_networks_lookup_len(nets, sa, &len);
}

struct pol_network *pol_networks_entry(struct pol_networks *nets, size_t i)
{
	return i <= nets->n ? &nets->v[i] : NULL;
}

size_t pol_networks_count(const struct pol_networks *nets)
{
	return nets->n;
}
