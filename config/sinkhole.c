/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `sinkhole:` section: how blocked names are answered, and the block page. */
#include <arpa/inet.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"

/* Longest contact text, in bytes. */
#define CONTACT_MAX 512

enum {
	K_IPV4,
	K_IPV6,
	K_TTL,
	K_ANSWER,
	K_REASONS,
	K_BLOCK_PAGE,
	K_COUNT,
};

static const struct cfg_key sinkhole_keys[K_COUNT] = {
	[K_IPV4] = {"ipv4", NULL},	       [K_IPV6] = {"ipv6", NULL},
	[K_TTL] = {"ttl", NULL},	       [K_ANSWER] = {"answer", NULL},
	[K_REASONS] = {"reasons", NULL},       [K_BLOCK_PAGE] = {"block_page", NULL},
};

enum { A_IPV4, A_IPV6, A_COUNT };

static const struct cfg_key addr_keys[A_COUNT] = {
	[A_IPV4] = {"ipv4", NULL},
	[A_IPV6] = {"ipv6", NULL},
};

static const struct cfg_key reason_keys[CFG_REASON_COUNT] = {
	[CFG_REASON_NATIONAL] = {"national", NULL},
	[CFG_REASON_POLICY] = {"policy", NULL},
	[CFG_REASON_SUBSCRIBER] = {"subscriber", NULL},
};

enum { B_LISTEN, B_CONTACT, B_COUNT };

static const struct cfg_key block_page_keys[B_COUNT] = {
	[B_LISTEN] = {"listen", NULL},
	[B_CONTACT] = {"contact", NULL},
};

static const char *const answer_names[] = {
	[CFG_ANSWER_SINKHOLE] = "sinkhole",
	[CFG_ANSWER_NXDOMAIN] = "nxdomain",
	[CFG_ANSWER_NODATA] = "nodata",
	[CFG_ANSWER_REFUSED] = "refused",
};

/* One address of family @family ("ipv4:" or "ipv6:") into @out. */
static void load_addr(struct cfg_ctx *ctx, yaml_node_t *node, int family, struct cfg_cidr *out)
{
	const char *example = family == AF_INET ? "10.10.10.10" : "fd00:10::10";
	char expected[96], q[CFG_QUOTE_MAX];
	struct cfg_cidr c;
	const char *s;

	snprintf(expected, sizeof(expected), "an %s address such as %s",
		 family == AF_INET ? "IPv4" : "IPv6", example);
	s = cfg_scalar(ctx, node, expected);
	if (!s)
		return;
	if (strchr(s, '/') || cfg_cidr_parse(s, &c) != 0 || c.family != family) {
		cfg_error(ctx, node, "'%s' is not %s", cfg_quote(s, q, sizeof(q)), expected);
		return;
	}
	*out = c;
}

/* A mapping with `ipv4` and/or `ipv6` into @out (what is absent stays as it was). */
static void load_addr_pair(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_sinkhole_addrs *out)
{
	struct cfg_kv kv[A_COUNT];

	if (!cfg_map_get(ctx, node, "a mapping with 'ipv4' and/or 'ipv6'", addr_keys, A_COUNT, kv))
		return;
	if (kv[A_IPV4].value && !cfg_node_is_null(kv[A_IPV4].value)) {
		size_t mark = cfg_path_push_key(ctx, "ipv4");
		load_addr(ctx, kv[A_IPV4].value, AF_INET, &out->ipv4);
		cfg_path_pop(ctx, mark);
	}
	if (kv[A_IPV6].value && !cfg_node_is_null(kv[A_IPV6].value)) {
		size_t mark = cfg_path_push_key(ctx, "ipv6");
		load_addr(ctx, kv[A_IPV6].value, AF_INET6, &out->ipv6);
		cfg_path_pop(ctx, mark);
	}
}

static void load_answer(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_sinkhole *sh)
{
	static const char *const expected = "one of: sinkhole, nxdomain, nodata, refused";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(answer_names) / sizeof(answer_names[0]); i++) {
		if (strcmp(s, answer_names[i]) == 0) {
			sh->answer = (enum cfg_block_answer)i;
			return;
		}
	}
	cfg_error(ctx, node, "'%s' is not a way to answer blocked names; expected %s",
		  cfg_quote(s, q, sizeof(q)), expected);
}

static void load_contact(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_sinkhole *sh)
{
	static const char *const expected = "a text such as \"Phòng CNTT, 0123 456 789\"";
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	if (strlen(s) > CONTACT_MAX) {
		cfg_error(ctx, node, "is too long (%zu bytes); at most %d bytes are allowed",
			  strlen(s), CONTACT_MAX);
		return;
	}
	sh->block_page_contact = core_strdup(s);
	if (!sh->block_page_contact)
		ctx->oom = true;
}

static bool addr_is(const struct cfg_addr *a, const struct cfg_cidr *c)
{
	if (c->family != a->ss.ss_family)
		return false;
	if (c->family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->ss)->sin_addr, c->addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr, c->addr, 16) == 0;
}

/* Browsers go to the sinkhole address: a block page elsewhere would never be seen. */
static void check_block_page_reachable(struct cfg_ctx *ctx, yaml_node_t *node,
				       const struct cfg_sinkhole *sh)
{
	for (size_t i = 0; i < sh->n_block_page_listen; i++) {
		const struct cfg_addr *a = &sh->block_page_listen[i];
		bool used = addr_is(a, &sh->addrs.ipv4) || addr_is(a, &sh->addrs.ipv6);
		for (int r = 0; r < CFG_REASON_COUNT && !used; r++)
			used = addr_is(a, &sh->per_reason[r].ipv4) ||
			       addr_is(a, &sh->per_reason[r].ipv6);
		if (!used)
			cfg_warn(
				ctx, node,
				"the block page listens on '%s', which is not a sinkhole address: browsers sent to the sinkhole will not see it; set sinkhole.ipv4/ipv6 to that address",
				a->text);
		else if (ntohs(((const struct sockaddr_in *)&a->ss)->sin_port) != 80)
			cfg_warn(ctx, node,
				 "the block page listens on '%s'; browsers open port 80", a->text);
	}
}

static void load_block_page(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_sinkhole *sh)
{
	struct cfg_kv kv[B_COUNT];
	size_t mark;

	if (!cfg_map_get(ctx, node, "a mapping with 'listen' and 'contact'", block_page_keys,
			 B_COUNT, kv))
		return;
	if (!kv[B_LISTEN].value || cfg_node_is_null(kv[B_LISTEN].value)) {
		cfg_error(ctx, node,
			  "missing 'listen'; the block page needs an address such as [\"10.10.10.10:80\"]");
	} else {
		mark = cfg_path_push_key(ctx, "listen");
		cfg_load_addrs(ctx, kv[B_LISTEN].value, "[\"10.10.10.10:80\"]", true,
			       &sh->block_page_listen, &sh->n_block_page_listen);
		cfg_path_pop(ctx, mark);
	}
	if (kv[B_CONTACT].value && !cfg_node_is_null(kv[B_CONTACT].value)) {
		mark = cfg_path_push_key(ctx, "contact");
		load_contact(ctx, kv[B_CONTACT].value, sh);
		cfg_path_pop(ctx, mark);
	}
}

void cfg_sinkhole_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node)
{
	struct cfg_sinkhole *sh = &ctx->root->sinkhole;
	struct cfg_kv kv[K_COUNT];
	size_t base = cfg_path_push_key(ctx, "sinkhole"), mark;
	uint64_t v;

	/* Defaults: the unroutable addresses, so a blocked name fails at once in a browser. */
	cfg_cidr_parse("0.0.0.0", &sh->addrs.ipv4);
	cfg_cidr_parse("::", &sh->addrs.ipv6);
	sh->ttl_s = 60;
	sh->answer = CFG_ANSWER_SINKHOLE;
	if (!node || cfg_node_is_null(node))
		goto out_reasons;
	if (!cfg_map_get(ctx, node, "a mapping such as 'ipv4: 10.10.10.10'", sinkhole_keys,
			 K_COUNT, kv))
		goto out_reasons;
	if (kv[K_IPV4].value && !cfg_node_is_null(kv[K_IPV4].value)) {
		mark = cfg_path_push_key(ctx, "ipv4");
		load_addr(ctx, kv[K_IPV4].value, AF_INET, &sh->addrs.ipv4);
		cfg_path_pop(ctx, mark);
	}
	if (kv[K_IPV6].value && !cfg_node_is_null(kv[K_IPV6].value)) {
		mark = cfg_path_push_key(ctx, "ipv6");
		load_addr(ctx, kv[K_IPV6].value, AF_INET6, &sh->addrs.ipv6);
		cfg_path_pop(ctx, mark);
	}
	if (kv[K_TTL].value && !cfg_node_is_null(kv[K_TTL].value)) {
		mark = cfg_path_push_key(ctx, "ttl");
		if (cfg_get_uint(ctx, kv[K_TTL].value, 0, 86400, &v))
			sh->ttl_s = (uint32_t)v;
		cfg_path_pop(ctx, mark);
	}
	if (kv[K_ANSWER].value && !cfg_node_is_null(kv[K_ANSWER].value)) {
		mark = cfg_path_push_key(ctx, "answer");
		load_answer(ctx, kv[K_ANSWER].value, sh);
		cfg_path_pop(ctx, mark);
	}
	/* Per-reason addresses start from the common ones, then take what is given. */
	for (int r = 0; r < CFG_REASON_COUNT; r++)
		sh->per_reason[r] = sh->addrs;
	if (kv[K_REASONS].value && !cfg_node_is_null(kv[K_REASONS].value)) {
		struct cfg_kv rkv[CFG_REASON_COUNT];
		mark = cfg_path_push_key(ctx, "reasons");
		if (cfg_map_get(ctx, kv[K_REASONS].value,
				"a mapping of reasons (national, policy, subscriber) to addresses",
				reason_keys, CFG_REASON_COUNT, rkv)) {
			for (int r = 0; r < CFG_REASON_COUNT; r++) {
				if (!rkv[r].value || cfg_node_is_null(rkv[r].value))
					continue;
				size_t m2 = cfg_path_push_key(ctx, reason_keys[r].name);
				load_addr_pair(ctx, rkv[r].value, &sh->per_reason[r]);
				cfg_path_pop(ctx, m2);
			}
		}
		cfg_path_pop(ctx, mark);
	}
	if (kv[K_BLOCK_PAGE].value && !cfg_node_is_null(kv[K_BLOCK_PAGE].value)) {
		mark = cfg_path_push_key(ctx, "block_page");
		load_block_page(ctx, kv[K_BLOCK_PAGE].value, sh);
		check_block_page_reachable(ctx, kv[K_BLOCK_PAGE].value, sh);
		cfg_path_pop(ctx, mark);
	}
	cfg_path_pop(ctx, base);
	return;
out_reasons:
	for (int r = 0; r < CFG_REASON_COUNT; r++)
		sh->per_reason[r] = sh->addrs;
	cfg_path_pop(ctx, base);
}
