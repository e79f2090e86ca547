/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `networks:` section: named address ranges, each optionally mapped to a group. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"

/* Longest name or id, in bytes (a Vietnamese name takes up to 3 bytes per letter). */
#define TEXT_MAX 512
/* Longest group name, and longest record field name of an mmdb entry. */
#define GROUP_MAX 63
#define FIELD_MAX 63

#define DEFAULT_GROUP_FIELD "group"
#define DEFAULT_ID_FIELD "network_id"

#define MMDB_ONLY \
	"is for subscriber databases ('mmdb:') only; remove it, or use 'mmdb:' instead of 'cidr:'"

enum {
	N_NAME,
	N_ID,
	N_CIDR,
	N_GROUP,
	N_ALLOW,
	N_DENY,
	N_MMDB,
	N_GROUP_FIELD,
	N_ID_FIELD,
	N_PROVINCE_FIELD,
	N_COUNT,
};

static const struct cfg_key network_keys[N_COUNT] = {
	[N_NAME] = {"name", NULL},	   [N_ID] = {"id", NULL},
	[N_CIDR] = {"cidr", NULL},	   [N_GROUP] = {"group", NULL},
	[N_ALLOW] = {"allow", NULL},	   [N_DENY] = {"deny", NULL},
	[N_MMDB] = {"mmdb", NULL},	   [N_GROUP_FIELD] = {"group_field", NULL},
	[N_ID_FIELD] = {"id_field", NULL}, [N_PROVINCE_FIELD] = {"province_field", NULL},
};

/* Where the parts of one network were written, for the checks across networks. */
struct network_src {
	yaml_node_t *name;
	yaml_node_t *id;   /* NULL: the id is the name */
	yaml_node_t *cidr; /* the `cidr:` value: a list, or a single string */
	yaml_node_t *mmdb; /* the `mmdb:` value */
};

/* A name or id: non-empty UTF-8 text without control characters. */
static char *get_text(struct cfg_ctx *ctx, yaml_node_t *node, const char *example)
{
	char expected[128];
	const char *s;
	char *copy;

	snprintf(expected, sizeof(expected), "a text such as %s", example);
	s = cfg_scalar(ctx, node, expected);
	if (!s)
		return NULL;
	if (s[0] == '\0' || cfg_node_is_null(node)) {
		cfg_error(ctx, node, "the value is empty; expected %s", expected);
		return NULL;
	}
	if (strlen(s) > TEXT_MAX) {
		cfg_error(ctx, node, "is too long (%zu bytes); at most %d bytes are allowed",
			  strlen(s), TEXT_MAX);
		return NULL;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			cfg_error(
				ctx, node,
				"contains a control character (such as a line break); expected %s",
				expected);
			return NULL;
		}
	}
	copy = core_strdup(s);
	if (!copy)
		ctx->oom = true;
	return copy;
}

static char *get_group(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_network *net)
{
	static const char *const expected =
		"a group name of lower-case letters, digits, '_' and '-' such as tieu_hoc";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);
	size_t len;
	char *copy;

	if (!s)
		return NULL;
	len = strlen(s);
	if (len == 0 || len > GROUP_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len) {
		cfg_error(ctx, node,
			  "'%s' is not a valid group name; expected %s (at most %d characters)",
			  cfg_quote(s, q, sizeof(q)), expected, GROUP_MAX);
		return NULL;
	}
	copy = core_strdup(s);
	if (!copy)
		ctx->oom = true;
	/* the group is looked up once `groups:` is loaded (cfg_networks_check_groups) */
	net->group_line = (unsigned)node->start_mark.line + 1;
	net->group_column = (unsigned)node->start_mark.column + 1;
	return copy;
}

/* A record field name of an mmdb entry, or @def when @node is absent. */
static void load_field(struct cfg_ctx *ctx, yaml_node_t *node, const char *key, const char *def,
		       char **out)
{
	size_t mark;
	const char *s;
	char q[CFG_QUOTE_MAX];

	if (!node || cfg_node_is_null(node)) {
		if (def && !(*out = core_strdup(def)))
			ctx->oom = true;
		return;
	}
	mark = cfg_path_push_key(ctx, key);
	s = cfg_scalar(ctx, node, "a field name of the database's records such as network_id");
	if (s && (s[0] == '\0' || strlen(s) > FIELD_MAX ||
		  strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
			  strlen(s))) {
		cfg_error(
			ctx, node,
			"'%s' is not a field name; expected letters, digits, '_', '-' and '.' such as network_id (at most %d characters)",
			cfg_quote(s, q, sizeof(q)), FIELD_MAX);
	} else if (s) {
		*out = core_strdup(s);
		if (!*out)
			ctx->oom = true;
	}
	cfg_path_pop(ctx, mark);
}

/* The item @i of a `cidr:` value: the value itself when it is a single string. */
static yaml_node_t *cidr_item(struct cfg_ctx *ctx, yaml_node_t *cidr, size_t i)
{
	if (cidr->type == YAML_SCALAR_NODE)
		return cidr;
	return cfg_node(ctx, cidr->data.sequence.items.start[i]);
}

static size_t cidr_push_path(struct cfg_ctx *ctx, yaml_node_t *cidr, size_t i)
{
	size_t mark = cfg_path_push_key(ctx, "cidr");

	if (cidr->type == YAML_SEQUENCE_NODE)
		cfg_path_push_index(ctx, i);
	return mark;
}

static void load_cidr(struct cfg_ctx *ctx, yaml_node_t *item, struct cfg_cidr *out)
{
	static const char *const expected =
		"a CIDR (an address and prefix length) such as 10.1.0.0/16 or 2001:db8::/32";
	char q[CFG_QUOTE_MAX], fixed[64];
	struct cfg_cidr c;
	const char *s = cfg_scalar(ctx, item, expected);

	if (!s)
		return;
	cfg_quote(s, q, sizeof(q));
	switch (cfg_cidr_check(s, &c)) {
	case CFG_CIDR_OK:
		*out = c;
		break;
	case CFG_CIDR_BAD_ADDRESS:
		cfg_error(ctx, item, "'%s' is not a CIDR; expected %s", q, expected);
		break;
	case CFG_CIDR_BAD_PREFIX:
		cfg_error(ctx, item, "'%s' is not a CIDR (prefix length %s)", q,
			  c.family == AF_INET ? "0-32" : "0-128");
		break;
	case CFG_CIDR_HOST_BITS:
		cfg_cidr_format(&c, fixed, sizeof(fixed));
		cfg_error(ctx, item, "'%s' has host bits set; did you mean '%s'?", q, fixed);
		break;
	}
}

/* The `cidr:` value of one network; entries that fail stay zeroed (family 0). */
static void load_cidrs(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_network *net)
{
	size_t n;

	if (node->type == YAML_SCALAR_NODE) {
		n = 1;
	} else if (node->type == YAML_SEQUENCE_NODE) {
		n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	} else {
		cfg_error(ctx, node, "expected a list of CIDRs such as [\"10.1.0.0/16\"], got %s",
			  cfg_node_kind(node));
		return;
	}
	if (n == 0) {
		cfg_error(ctx, node,
			  "the list is empty; expected at least one CIDR such as 10.1.0.0/16");
		return;
	}
	net->cidrs = core_calloc(n, sizeof(*net->cidrs));
	if (!net->cidrs) {
		ctx->oom = true;
		return;
	}
	net->n_cidrs = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cidr_item(ctx, node, i);
		size_t mark;

		if (!cfg_spend(ctx, item ? item : node))
			return;
		if (!item)
			continue;
		mark = node->type == YAML_SEQUENCE_NODE ? cfg_path_push_index(ctx, i) :
							  ctx->path_len;
		load_cidr(ctx, item, &net->cidrs[i]);
		cfg_path_pop(ctx, mark);
	}
}

/* An entry with `mmdb:`: a subscriber database (cidr, id, allow and deny are refused). */
static void load_mmdb_network(struct cfg_ctx *ctx, yaml_node_t *node, const struct cfg_kv *kv,
			      struct cfg_network *net, struct network_src *src)
{
	static const int refused[] = {N_CIDR, N_ID, N_ALLOW, N_DENY};
	static const char *const why[] = {
		[N_CIDR] =
			"'cidr' and 'mmdb' cannot be used together: an entry is either address ranges or a subscriber database; make them two entries",
		[N_ID] =
			"'id' is not used with 'mmdb': each subscriber's network id comes from the record field named by 'id_field'",
		[N_ALLOW] =
			"'allow' is not used with 'mmdb': subscribers get the allow and deny of their group; put the names under 'groups:'",
		[N_DENY] =
			"'deny' is not used with 'mmdb': subscribers get the allow and deny of their group; put the names under 'groups:'",
	};
	size_t mark;

	(void)node;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (kv[refused[i]].key)
			cfg_error(ctx, kv[refused[i]].key, "%s", why[refused[i]]);
	}
	mark = cfg_path_push_key(ctx, "mmdb");
	src->mmdb = kv[N_MMDB].value;
	cfg_load_path(ctx, kv[N_MMDB].value, "/var/lib/lanhmanh/subscribers.mmdb", 0, &net->mmdb);
	cfg_path_pop(ctx, mark);
	if (kv[N_NAME].value && !cfg_node_is_null(kv[N_NAME].value)) {
		mark = cfg_path_push_key(ctx, "name");
		src->name = kv[N_NAME].value;
		net->name = get_text(ctx, kv[N_NAME].value, "\"Thuê bao FTTH\"");
		cfg_path_pop(ctx, mark);
	} else if (net->mmdb) {
		/* the file's base name, which is what people will recognise in `explain` */
		const char *slash = strrchr(net->mmdb, '/');
		net->name = core_strdup(slash[1] ? slash + 1 : net->mmdb);
		if (!net->name)
			ctx->oom = true;
	}
	load_field(ctx, kv[N_GROUP_FIELD].value, "group_field", DEFAULT_GROUP_FIELD,
		   &net->group_field);
	load_field(ctx, kv[N_ID_FIELD].value, "id_field", DEFAULT_ID_FIELD, &net->id_field);
	load_field(ctx, kv[N_PROVINCE_FIELD].value, "province_field", NULL, &net->province_field);
	if (kv[N_GROUP].value && !cfg_node_is_null(kv[N_GROUP].value)) {
		mark = cfg_path_push_key(ctx, "group");
		net->group = get_group(ctx, kv[N_GROUP].value, net);
		cfg_path_pop(ctx, mark);
	}
}

static void load_network(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_network *net,
			 struct network_src *src)
{
	static const int mmdb_only[] = {N_GROUP_FIELD, N_ID_FIELD, N_PROVINCE_FIELD};
	struct cfg_kv kv[N_COUNT];
	size_t mark;

	if (!cfg_map_get(ctx, node, "a network: a mapping with 'name' and 'cidr'", network_keys,
			 N_COUNT, kv))
		return;
	net->line = (unsigned)node->start_mark.line + 1;
	if (kv[N_MMDB].value && !cfg_node_is_null(kv[N_MMDB].value)) {
		load_mmdb_network(ctx, node, kv, net, src);
		return;
	}
	for (size_t i = 0; i < sizeof(mmdb_only) / sizeof(mmdb_only[0]); i++) {
		if (kv[mmdb_only[i]].key)
			cfg_error(ctx, kv[mmdb_only[i]].key, "'%s' " MMDB_ONLY,
				  network_keys[mmdb_only[i]].name);
	}

	if (!kv[N_NAME].value)
		cfg_error(
			ctx, node,
			"missing 'name'; every network needs a name, e.g. name: \"Trường TH Lê Lợi\"");
	if (!kv[N_CIDR].value || cfg_node_is_null(kv[N_CIDR].value))
		cfg_error(
			ctx, kv[N_CIDR].key ? kv[N_CIDR].key : node,
			"missing 'cidr'; every network needs its address ranges, e.g. cidr: [\"10.1.0.0/16\"] (or a subscriber database, e.g. mmdb: /var/lib/lanhmanh/subscribers.mmdb)");

	if (kv[N_NAME].value) {
		mark = cfg_path_push_key(ctx, "name");
		src->name = kv[N_NAME].value;
		net->name = get_text(ctx, kv[N_NAME].value, "\"Trường TH Lê Lợi\"");
		cfg_path_pop(ctx, mark);
	}
	if (kv[N_ID].value && !cfg_node_is_null(kv[N_ID].value)) {
		mark = cfg_path_push_key(ctx, "id");
		src->id = kv[N_ID].value;
		net->id = get_text(ctx, kv[N_ID].value, "\"79-TH-0001\"");
		cfg_path_pop(ctx, mark);
	} else if (net->name) {
		net->id = core_strdup(net->name);
		if (!net->id)
			ctx->oom = true;
	}
	if (kv[N_CIDR].value && !cfg_node_is_null(kv[N_CIDR].value)) {
		mark = cfg_path_push_key(ctx, "cidr");
		src->cidr = kv[N_CIDR].value;
		load_cidrs(ctx, kv[N_CIDR].value, net);
		cfg_path_pop(ctx, mark);
	}
	if (kv[N_GROUP].value && !cfg_node_is_null(kv[N_GROUP].value)) {
		mark = cfg_path_push_key(ctx, "group");
		net->group = get_group(ctx, kv[N_GROUP].value, net);
		cfg_path_pop(ctx, mark);
	}
	if (!ctx->oom)
		cfg_load_allow_deny(ctx, kv[N_ALLOW].value, kv[N_DENY].value, &net->allow,
				    &net->n_allow, &net->deny, &net->n_deny);
}

/* Two entries reading one database would give its subscribers two owners. */
static void check_unique_mmdb(struct cfg_ctx *ctx, const struct network_src *src)
{
	const struct cfg_root *root = ctx->root;

	for (size_t i = 0; i < root->n_networks; i++) {
		const struct cfg_network *n = &root->networks[i];
		size_t mark;

		if (!n->mmdb)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!root->networks[j].mmdb || strcmp(root->networks[j].mmdb, n->mmdb) != 0)
				continue;
			mark = cfg_path_push_index(ctx, i);
			cfg_path_push_key(ctx, "mmdb");
			cfg_error(
				ctx, src[i].mmdb,
				"'%s' is already used by networks[%zu] (line %u); list each subscriber database once",
				n->mmdb, j, root->networks[j].line);
			cfg_path_pop(ctx, mark);
			break;
		}
	}
}

struct id_ref {
	const char *id;
	size_t net;
};

static int id_ref_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	return x->net < y->net ? -1 : x->net > y->net;
}

/* Reports are counted per network id: two networks must not share one. */
static void check_unique_ids(struct cfg_ctx *ctx, const struct network_src *src)
{
	const struct cfg_root *root = ctx->root;
	struct id_ref *refs = core_calloc(root->n_networks, sizeof(*refs));
	size_t n = 0;
	char q[CFG_QUOTE_MAX];

	if (!refs) {
		ctx->oom = true;
		return;
	}
	for (size_t i = 0; i < root->n_networks; i++) {
		if (root->networks[i].id)
			refs[n++] = (struct id_ref){root->networks[i].id, i};
	}
	qsort(refs, n, sizeof(*refs), id_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct id_ref *first = &refs[i - 1], *dup = &refs[i];
		const struct network_src *s = &src[dup->net];
		size_t mark;

		if (strcmp(first->id, dup->id) != 0)
			continue;
		/* report against the first of the run, so three equal ids give two errors */
		while (first > refs && strcmp(first[-1].id, dup->id) == 0)
			first--;
		mark = cfg_path_push_index(ctx, dup->net);
		cfg_quote(dup->id, q, sizeof(q));
		if (s->id) {
			size_t m2 = cfg_path_push_key(ctx, "id");
			cfg_error(
				ctx, s->id,
				"network id '%s' is already used by networks[%zu] (line %u); ids must be unique because reports count per id",
				q, first->net, root->networks[first->net].line);
			cfg_path_pop(ctx, m2);
		} else {
			size_t m2 = cfg_path_push_key(ctx, "name");
			cfg_error(
				ctx, s->name,
				"network name '%s' is already used by networks[%zu] (line %u); give each network its own name, or a distinct 'id'",
				q, first->net, root->networks[first->net].line);
			cfg_path_pop(ctx, m2);
		}
		cfg_path_pop(ctx, mark);
	}
	core_free(refs);
}

struct cidr_ref {
	struct cfg_cidr cidr;
	size_t net, index;
};

static int cidr_ref_cmp(const void *a, const void *b)
{
	const struct cidr_ref *x = a, *y = b;
	int c;

	if (x->cidr.family != y->cidr.family)
		return x->cidr.family < y->cidr.family ? -1 : 1;
	if (x->cidr.prefix != y->cidr.prefix)
		return x->cidr.prefix < y->cidr.prefix ? -1 : 1;
	c = memcmp(x->cidr.addr, y->cidr.addr, sizeof(x->cidr.addr));
	if (c)
		return c;
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The same CIDR in two places would make the owner of an address depend on file order.
 * Nested CIDRs are fine: the longest prefix wins.
 */
static void check_unique_cidrs(struct cfg_ctx *ctx, const struct network_src *src)
{
	const struct cfg_root *root = ctx->root;
	struct cidr_ref *refs;
	size_t total = 0, n = 0;
	char text[64];

	for (size_t i = 0; i < root->n_networks; i++)
		total += root->networks[i].n_cidrs;
	if (total < 2)
		return;
	refs = core_calloc(total, sizeof(*refs));
	if (!refs) {
		ctx->oom = true;
		return;
	}
	for (size_t i = 0; i < root->n_networks; i++) {
		for (size_t k = 0; k < root->networks[i].n_cidrs; k++) {
			if (root->networks[i].cidrs[k].family)
				refs[n++] = (struct cidr_ref){root->networks[i].cidrs[k], i, k};
		}
	}
	qsort(refs, n, sizeof(*refs), cidr_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct cidr_ref *first = &refs[i - 1], *dup = &refs[i];
		size_t mark, mark2;

		if (memcmp(&first->cidr, &dup->cidr, sizeof(first->cidr)) != 0)
			continue;
		while (first > refs && memcmp(&first[-1].cidr, &dup->cidr, sizeof(dup->cidr)) == 0)
			first--;
		cfg_cidr_format(&dup->cidr, text, sizeof(text));
		mark = cfg_path_push_index(ctx, dup->net);
		mark2 = cidr_push_path(ctx, src[dup->net].cidr, dup->index);
		if (first->net == dup->net)
			cfg_error(ctx, cidr_item(ctx, src[dup->net].cidr, dup->index),
				  "'%s' is listed twice in this network; remove one", text);
		else
			cfg_error(
				ctx, cidr_item(ctx, src[dup->net].cidr, dup->index),
				"'%s' is already used by networks[%zu] (line %u); an address range can belong to one network only",
				text, first->net, root->networks[first->net].line);
		cfg_path_pop(ctx, mark2);
		cfg_path_pop(ctx, mark);
	}
	core_free(refs);
}

void cfg_networks_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node)
{
	struct cfg_root *root = ctx->root;
	struct network_src *src = NULL;
	size_t base = cfg_path_push_key(ctx, "networks");
	size_t n;

	if (!node || cfg_node_is_null(node)) {
		cfg_warn(
			ctx, key,
			"no networks are defined, so only this machine (127.0.0.1 and ::1) is served; add networks with 'name' and 'cidr'");
		goto out;
	}
	if (node->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, node,
			  "expected a list of networks (each one starting with '- name:'), got %s",
			  cfg_node_kind(node));
		goto out;
	}
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n == 0) {
		cfg_warn(
			ctx, node,
			"no networks are defined, so only this machine (127.0.0.1 and ::1) is served; add networks with 'name' and 'cidr'");
		goto out;
	}
	root->networks = core_calloc(n, sizeof(*root->networks));
	src = core_calloc(n, sizeof(*src));
	if (!root->networks || !src) {
		ctx->oom = true;
		goto out;
	}
	root->n_networks = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, node->data.sequence.items.start[i]);
		size_t mark;

		if (!cfg_spend(ctx, item ? item : node))
			goto out;
		if (!item)
			continue;
		mark = cfg_path_push_index(ctx, i);
		load_network(ctx, item, &root->networks[i], &src[i]);
		cfg_path_pop(ctx, mark);
		if (ctx->oom)
			goto out;
	}
	check_unique_ids(ctx, src);
	check_unique_cidrs(ctx, src);
	check_unique_mmdb(ctx, src);
out:
	core_free(src);
	cfg_path_pop(ctx, base);
}

void cfg_networks_check_groups(struct cfg_ctx *ctx)
{
	const struct cfg_root *root = ctx->root;
	size_t base = cfg_path_push_key(ctx, "networks");
	const char **names = NULL;
	size_t n_names = 0;

	for (size_t i = 0; i < root->n_networks; i++) {
		const struct cfg_network *net = &root->networks[i];
		char q[CFG_QUOTE_MAX], hint[CFG_QUOTE_MAX + 32], known[512];
		const char *close;
		size_t mark;

		if (!net->group || cfg_group_find(root, net->group) ||
		    cfg_preset_parse(net->group) >= 0)
			continue;
		if (!names) {
			/* the groups of `groups:`, then the presets not redefined there */
			names = core_calloc(root->n_groups + CFG_PRESET_COUNT, sizeof(*names));
			if (!names) {
				ctx->oom = true;
				break;
			}
			for (size_t g = 0; g < root->n_groups; g++)
				names[n_names++] = root->groups[g].name;
			for (int p = CFG_PRESET_NONE + 1; p < CFG_PRESET_COUNT; p++) {
				const char *pn = cfg_preset_name((enum cfg_preset)p);
				if (!cfg_group_find(root, pn))
					names[n_names++] = pn;
			}
		}
		close = cfg_suggest(net->group, names, n_names);
		hint[0] = '\0';
		if (close)
			snprintf(hint, sizeof(hint), " (did you mean '%s'?)", close);
		mark = cfg_path_push_index(ctx, i);
		cfg_path_push_key(ctx, "group");
		cfg_diag_add(
			ctx, false, ctx->file, net->group_line, net->group_column, ctx->path,
			"unknown group '%s'%s; expected a group of 'groups:' or a preset, one of: %s",
			cfg_quote(net->group, q, sizeof(q)), hint,
			cfg_join(known, sizeof(known), names, n_names));
		cfg_path_pop(ctx, mark);
	}
	core_free(names);
	cfg_path_pop(ctx, base);
}
