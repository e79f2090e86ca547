/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `lists:` section: blocklist files, their format and category; and the category names. */
#include <string.h>
#include <unistd.h>

#include "config/internal.h"
#include "core/alloc.h"

#define NAME_MAX_LEN 63
#define MAX_LISTS 256

static const char *const builtin_categories[] = {
	"national", "adult", "gambling", "violence", "drugs",
	"games",    "social", "proxy_vpn_doh", "malware",
};
#define N_BUILTIN (sizeof(builtin_categories) / sizeof(builtin_categories[0]))


enum {
	L_NAME,
	L_CATEGORY,
	L_FILE,
	L_FORMAT,
	L_ORIGIN,
	L_RPZ_PRIMARY,
	L_ZONE,
	L_TSIG,
	L_MAX_SHRINK,
	L_AUDIT,
	L_URL,
	L_MINISIGN_KEY,
	L_REFRESH,
	L_CA_FILE,
	L_COUNT,
};

static const struct cfg_key list_keys[L_COUNT] = {
	[L_NAME] = {"name", NULL},
	[L_CATEGORY] = {"category", NULL},
	[L_FILE] = {"file", NULL},
	[L_FORMAT] = {"format", NULL},
	[L_ORIGIN] = {"origin", NULL},
	[L_RPZ_PRIMARY] = {"rpz_primary", NULL},
	[L_ZONE] = {"zone", NULL},
	[L_TSIG] = {"tsig", NULL},
	[L_MAX_SHRINK] = {"max_shrink", NULL},
	[L_AUDIT] = {"audit", NULL},
	[L_URL] = {"url", NULL},
	[L_MINISIGN_KEY] = {"minisign_key", NULL},
	[L_REFRESH] = {"refresh", NULL},
	[L_CA_FILE] = {"ca_file", NULL},
};

#define DEFAULT_MAX_SHRINK 50
#define DEFAULT_REFRESH_S 3600
static const struct cfg_duration_spec refresh_spec = {60 * 1000, 7ull * 86400 * 1000, true, false, 0};

enum {
	T_NAME,
	T_ALGORITHM,
	T_SECRET,
	T_COUNT,
};

static const struct cfg_key tsig_keys[T_COUNT] = {
	[T_NAME] = {"name", NULL},
	[T_ALGORITHM] = {"algorithm", NULL},
	[T_SECRET] = {"secret", NULL},
};

static const char *const tsig_algorithms[] = {"hmac-sha256", "hmac-sha384", "hmac-sha512"};

static const char *const format_names[] = {
	[CFG_LIST_DOMAINS] = "domains",
	[CFG_LIST_HOSTS] = "hosts",
	[CFG_LIST_ADBLOCK] = "adblock",
	[CFG_LIST_RPZ] = "rpz",
};

static bool is_ident(const char *s, const char *extra)
{
	size_t len = strlen(s);
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (const char *p = s; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      strchr(extra, *p)))
			return false;
	}
	return true;
}

/* The bit of category @name, assigning the next free bit to a new site-defined one; -1 when
 * all bits are taken (after an error at @node). */
static int category_bit(struct cfg_ctx *ctx, yaml_node_t *node, const char *name)
{
	struct cfg_root *root = ctx->root;
	for (int i = 0; i < CFG_MAX_CATEGORIES; i++) {
		if (root->categories[i] && strcmp(root->categories[i], name) == 0)
			return i;
	}
	for (int i = (int)N_BUILTIN; i < CFG_MAX_CATEGORIES; i++) {
		if (!root->categories[i]) {
			root->categories[i] = core_strdup(name);
			if (!root->categories[i])
				ctx->oom = true;
			return i;
		}
	}
	cfg_error(ctx, node, "too many categories; at most %d (%zu of them built in) are allowed",
		  CFG_MAX_CATEGORIES, N_BUILTIN);
	return -1;
}

static char *get_ident(struct cfg_ctx *ctx, yaml_node_t *node, const char *what,
		       const char *example, const char *extra)
{
	char expected[160], q[CFG_QUOTE_MAX];
	const char *s;
	char *copy;

	snprintf(expected, sizeof(expected),
		 "a %s of lower-case letters, digits%s such as %s (at most %d characters)", what,
		 extra[0] ? ", '_' and '-'" : " and '_'", example, NAME_MAX_LEN);
	s = cfg_scalar(ctx, node, expected);
	if (!s)
		return NULL;
	if (!is_ident(s, extra)) {
		cfg_error(ctx, node, "'%s' is not valid; expected %s", cfg_quote(s, q, sizeof(q)),
			  expected);
		return NULL;
	}
	copy = core_strdup(s);
	if (!copy)
		ctx->oom = true;
	return copy;
}

static void load_format(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	static const char *const expected = "one of: domains, hosts, adblock, rpz";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			l->format = (enum cfg_list_format)i;
			return;
		}
	}
	cfg_error(ctx, node, "'%s' is not a list format; expected %s", cfg_quote(s, q, sizeof(q)),
		  expected);
}

/* A zone name into a new string; with @absolute, a final dot is added when missing. */
static void load_zone_name(struct cfg_ctx *ctx, yaml_node_t *node, bool absolute, char **out)
{
	static const char *const expected = "a zone name such as rpz.national.vn.";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	size_t len = strlen(s);
	if (len == 0 || len > 253 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len ||
	    strstr(s, "..") || s[0] == '.') {
		cfg_error(ctx, node, "'%s' is not a zone name; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
		return;
	}
	char *copy = core_malloc(len + 2);
	if (!copy) {
		ctx->oom = true;
		return;
	}
	memcpy(copy, s, len + 1);
	for (char *p = copy; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	}
	if (absolute && copy[len - 1] != '.') {
		copy[len] = '.';
		copy[len + 1] = '\0';
	}
	*out = copy;
}

/* Base64 as RFC 4648 writes it: groups of four, '=' padding only at the end. */
static bool is_base64(const char *s)
{
	size_t len = strlen(s), pad = 0;
	if (len == 0 || len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '=') {
			if (i < len - 2)
				return false;
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				    (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			return false;
		}
	}
	return true;
}

static void load_tsig(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	struct cfg_kv kv[T_COUNT];
	char q[CFG_QUOTE_MAX];
	if (!cfg_map_get(ctx, node,
			 "a TSIG key: a mapping with 'name', 'algorithm' and 'secret', e.g. { name: k1, algorithm: hmac-sha256, secret: \"…\" }",
			 tsig_keys, T_COUNT, kv))
		return;
	struct cfg_tsig *t = core_calloc(1, sizeof(*t));
	if (!t) {
		ctx->oom = true;
		return;
	}
	l->tsig = t;
	if (!kv[T_NAME].value)
		cfg_error(ctx, node, "missing 'name': the key's name, as the primary knows it");
	if (!kv[T_SECRET].value)
		cfg_error(ctx, node,
			  "missing 'secret': the key in base64, as tsig-keygen or keymgr print it");
	size_t mark;
	if (kv[T_NAME].value) {
		mark = cfg_path_push_key(ctx, "name");
		load_zone_name(ctx, kv[T_NAME].value, true, &t->name);
		cfg_path_pop(ctx, mark);
	}
	const char *alg = "hmac-sha256";
	if (kv[T_ALGORITHM].value && !cfg_node_is_null(kv[T_ALGORITHM].value)) {
		mark = cfg_path_push_key(ctx, "algorithm");
		alg = cfg_scalar(ctx, kv[T_ALGORITHM].value, "hmac-sha256, hmac-sha384 or hmac-sha512");
		bool known = false;
		for (size_t i = 0; alg && i < sizeof(tsig_algorithms) / sizeof(tsig_algorithms[0]); i++)
			known |= strcmp(alg, tsig_algorithms[i]) == 0;
		if (alg && !known)
			cfg_error(ctx, kv[T_ALGORITHM].value,
				  "'%s' is not a TSIG algorithm lanhmanh accepts; expected hmac-sha256, hmac-sha384 or hmac-sha512",
				  cfg_quote(alg, q, sizeof(q)));
		cfg_path_pop(ctx, mark);
		if (!alg || !known)
			alg = NULL;
	}
	if (alg && !(t->algorithm = core_strdup(alg)))
		ctx->oom = true;
	if (kv[T_SECRET].value) {
		mark = cfg_path_push_key(ctx, "secret");
		const char *s = cfg_scalar(ctx, kv[T_SECRET].value, "a base64 secret");
		if (s && !is_base64(s))
			cfg_error(ctx, kv[T_SECRET].value,
				  "is not base64 (letters, digits, '+', '/', '=' padding, a multiple of 4 characters); copy the secret as tsig-keygen prints it");
		else if (s && !(t->secret = core_strdup(s)))
			ctx->oom = true;
		cfg_path_pop(ctx, mark);
	}
}

static void load_primary(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, "the primary's address, such as 192.0.2.1 or \"[2001:db8::1]:53\"");
	if (!s)
		return;
	struct cfg_addr a;
	const char *why = NULL;
	if (cfg_addr_parse_why(s, 53, &a, &why) < 0) {
		cfg_error(ctx, node, "'%s' %s", cfg_quote(s, q, sizeof(q)), why);
		return;
	}
	l->primary = core_malloc(sizeof(*l->primary));
	if (!l->primary) {
		ctx->oom = true;
		return;
	}
	*l->primary = a;
}

static void load_url(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, "an https:// URL");
	if (!s)
		return;
	if (strncmp(s, "https://", 8) != 0 || strlen(s) <= 8 || strlen(s) > 2000 ||
	    strpbrk(s, " \t\r\n")) {
		cfg_error(ctx, node,
			  "'%s' is not an https:// URL; lists are downloaded over HTTPS only (the signature proves who wrote the list, TLS keeps its contents private)",
			  cfg_quote(s, q, sizeof(q)));
		return;
	}
	if (!(l->url = core_strdup(s)))
		ctx->oom = true;
}

/* A minisign public key: "RW" + base64 of 42 bytes (56 characters in all). */
static void load_minisign_key(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, "a minisign public key (\"RW…\")");
	if (!s)
		return;
	if (strlen(s) != 56 || strncmp(s, "RW", 2) != 0 || !is_base64(s)) {
		cfg_error(ctx, node,
			  "'%s' is not a minisign public key; expected the 56 characters starting with RW of the publisher's .pub file (its second line)",
			  cfg_quote(s, q, sizeof(q)));
		return;
	}
	if (!(l->minisign_key = core_strdup(s)))
		ctx->oom = true;
}

static void load_max_shrink(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, "a share such as 50%");
	if (!s)
		return;
	uint64_t v;
	size_t len = strlen(s);
	char digits[8];
	if (len > 0 && s[len - 1] == '%')
		len--;
	if (len == 0 || len >= sizeof(digits)) {
		v = UINT64_MAX;
	} else {
		memcpy(digits, s, len);
		digits[len] = '\0';
		if (cfg_uint_parse(digits, &v) != 0)
			v = UINT64_MAX;
	}
	if (v > 100) {
		cfg_error(ctx, node,
			  "'%s' is not a share; expected a percentage from 0%% to 100%% such as 50%% (100%%: accept any update)",
			  cfg_quote(s, q, sizeof(q)));
		return;
	}
	l->max_shrink_pct = (uint32_t)v;
}

static void load_list(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_list *l)
{
	struct cfg_kv kv[L_COUNT];
	size_t mark;

	if (!cfg_map_get(ctx, node, "a list: a mapping with 'name', 'category' and 'file'",
			 list_keys, L_COUNT, kv))
		return;
	l->line = (unsigned)node->start_mark.line + 1;
	cfg_map_report_future(ctx, list_keys, L_COUNT, kv);
	if (!kv[L_NAME].value)
		cfg_error(ctx, node, "missing 'name'; every list needs a name, e.g. name: adult");
	if (!kv[L_CATEGORY].value)
		cfg_error(ctx, node,
			  "missing 'category'; e.g. category: adult (built in: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware)");
	l->max_shrink_pct = DEFAULT_MAX_SHRINK;
	if (!kv[L_FILE].value && !kv[L_RPZ_PRIMARY].value && !kv[L_URL].value)
		cfg_error(ctx, node,
			  "missing 'file'; e.g. file: /etc/lanhmanh/lists/adult.txt (or 'rpz_primary' and 'zone' for a zone transfer)");
	if (kv[L_FILE].value && kv[L_RPZ_PRIMARY].value)
		cfg_error(ctx, kv[L_RPZ_PRIMARY].key,
			  "a list comes from a 'file' or from a primary ('rpz_primary'), not both");
	if (kv[L_URL].value && (kv[L_FILE].value || kv[L_RPZ_PRIMARY].value))
		cfg_error(ctx, kv[L_URL].key,
			  "a list comes from one place: a 'file', a primary ('rpz_primary') or a 'url'");
	if (kv[L_URL].value && !kv[L_MINISIGN_KEY].value)
		cfg_error(ctx, node,
			  "missing 'minisign_key': a list downloaded over HTTPS is applied only when its minisign signature (URL + \".minisig\") verifies with the publisher's key");
	if (!kv[L_URL].value) {
		const int only[] = {L_MINISIGN_KEY, L_REFRESH, L_CA_FILE};
		for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
			if (kv[only[i]].value)
				cfg_error(ctx, kv[only[i]].key,
					  "'%s' belongs to a list downloaded over HTTPS; add 'url' or remove it",
					  list_keys[only[i]].name);
		}
	}
	if (kv[L_RPZ_PRIMARY].value && !kv[L_ZONE].value)
		cfg_error(ctx, node,
			  "missing 'zone': the RPZ zone to transfer from the primary, e.g. zone: rpz.national.vn.");
	if (!kv[L_RPZ_PRIMARY].value) {
		const int only[] = {L_ZONE, L_TSIG};
		for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
			if (kv[only[i]].value)
				cfg_error(ctx, kv[only[i]].key,
					  "'%s' belongs to a zone transfer; add 'rpz_primary' (the primary's address) or remove it",
					  list_keys[only[i]].name);
		}
	}
	if (kv[L_NAME].value) {
		mark = cfg_path_push_key(ctx, "name");
		l->name = get_ident(ctx, kv[L_NAME].value, "list name", "adult", "-");
		cfg_path_pop(ctx, mark);
	}
	if (kv[L_CATEGORY].value) {
		mark = cfg_path_push_key(ctx, "category");
		l->category = get_ident(ctx, kv[L_CATEGORY].value, "category", "adult", "");
		if (l->category) {
			int bit = category_bit(ctx, kv[L_CATEGORY].value, l->category);
			l->category_bit = bit < 0 ? 0 : (unsigned)bit;
		}
		cfg_path_pop(ctx, mark);
	}
	if (kv[L_FILE].value) {
		mark = cfg_path_push_key(ctx, "file");
		cfg_load_path(ctx, kv[L_FILE].value, "/etc/lanhmanh/lists/adult.txt", 0, &l->file);
		if (l->file && access(l->file, R_OK) != 0)
			cfg_warn(ctx, kv[L_FILE].value,
				 "cannot read '%s' now; the last good copy of the list is used until it can be read",
				 l->file);
		cfg_path_pop(ctx, mark);
	}
	if (kv[L_FORMAT].value && !cfg_node_is_null(kv[L_FORMAT].value)) {
		mark = cfg_path_push_key(ctx, "format");
		load_format(ctx, kv[L_FORMAT].value, l);
		cfg_path_pop(ctx, mark);
	}
	if (kv[L_ORIGIN].value && !cfg_node_is_null(kv[L_ORIGIN].value)) {
		mark = cfg_path_push_key(ctx, "origin");
		if (l->format != CFG_LIST_RPZ)
			cfg_error(ctx, kv[L_ORIGIN].value,
				  "'origin' is for RPZ lists only; remove it or set format: rpz");
		else if (kv[L_RPZ_PRIMARY].value)
			cfg_error(ctx, kv[L_ORIGIN].value,
				  "'origin' of a transferred zone is its 'zone'; remove 'origin'");
		else
			load_zone_name(ctx, kv[L_ORIGIN].value, false, &l->origin);
		cfg_path_pop(ctx, mark);
	}
	if (kv[L_RPZ_PRIMARY].value) {
		if (kv[L_FORMAT].value && l->format != CFG_LIST_RPZ)
			cfg_error(ctx, kv[L_FORMAT].value,
				  "a transferred zone is RPZ; remove 'format' or set format: rpz");
		l->format = CFG_LIST_RPZ;
		mark = cfg_path_push_key(ctx, "rpz_primary");
		load_primary(ctx, kv[L_RPZ_PRIMARY].value, l);
		cfg_path_pop(ctx, mark);
		if (kv[L_ZONE].value) {
			mark = cfg_path_push_key(ctx, "zone");
			load_zone_name(ctx, kv[L_ZONE].value, true, &l->zone);
			cfg_path_pop(ctx, mark);
			if (l->zone && !(l->origin = core_strdup(l->zone)))
				ctx->oom = true;
		}
		if (kv[L_TSIG].value && !cfg_node_is_null(kv[L_TSIG].value)) {
			mark = cfg_path_push_key(ctx, "tsig");
			load_tsig(ctx, kv[L_TSIG].value, l);
			cfg_path_pop(ctx, mark);
		}
	}
	if (kv[L_URL].value) {
		mark = cfg_path_push_key(ctx, "url");
		load_url(ctx, kv[L_URL].value, l);
		cfg_path_pop(ctx, mark);
		l->refresh_s = DEFAULT_REFRESH_S;
		if (kv[L_MINISIGN_KEY].value) {
			mark = cfg_path_push_key(ctx, "minisign_key");
			load_minisign_key(ctx, kv[L_MINISIGN_KEY].value, l);
			cfg_path_pop(ctx, mark);
		}
		if (kv[L_REFRESH].value && !cfg_node_is_null(kv[L_REFRESH].value)) {
			uint64_t ms;
			mark = cfg_path_push_key(ctx, "refresh");
			if (cfg_get_duration(ctx, kv[L_REFRESH].value, &refresh_spec, &ms))
				l->refresh_s = (uint32_t)(ms / 1000);
			cfg_path_pop(ctx, mark);
		}
		if (kv[L_CA_FILE].value && !cfg_node_is_null(kv[L_CA_FILE].value)) {
			mark = cfg_path_push_key(ctx, "ca_file");
			cfg_load_path(ctx, kv[L_CA_FILE].value, "/etc/lanhmanh/authority-ca.pem", 0,
				      &l->ca_file);
			cfg_path_pop(ctx, mark);
		}
	}
	if (kv[L_AUDIT].value && !cfg_node_is_null(kv[L_AUDIT].value)) {
		mark = cfg_path_push_key(ctx, "audit");
		if (!kv[L_RPZ_PRIMARY].value && !kv[L_URL].value)
			cfg_error(ctx, kv[L_AUDIT].key,
				  "'audit' is for lists synced from a primary or a URL; a file list is applied when you reload");
		else
			cfg_load_bool(ctx, kv[L_AUDIT].value, &l->audit);
		cfg_path_pop(ctx, mark);
	}
	if (kv[L_MAX_SHRINK].value && !cfg_node_is_null(kv[L_MAX_SHRINK].value)) {
		mark = cfg_path_push_key(ctx, "max_shrink");
		load_max_shrink(ctx, kv[L_MAX_SHRINK].value, l);
		cfg_path_pop(ctx, mark);
	}
}

void cfg_lists_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node)
{
	struct cfg_root *root = ctx->root;
	size_t base = cfg_path_push_key(ctx, "lists");
	size_t n;

	for (size_t i = 0; i < N_BUILTIN; i++) {
		root->categories[i] = core_strdup(builtin_categories[i]);
		if (!root->categories[i])
			ctx->oom = true;
	}
	if (!node || cfg_node_is_null(node))
		goto out;
	if (node->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, node,
			  "expected a list of blocklists (each one starting with '- name:'), got %s",
			  cfg_node_kind(node));
		goto out;
	}
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n == 0)
		goto out;
	if (n > MAX_LISTS) {
		cfg_error(ctx, node, "too many lists (%zu); at most %d are allowed", n, MAX_LISTS);
		goto out;
	}
	root->lists = core_calloc(n, sizeof(*root->lists));
	if (!root->lists) {
		ctx->oom = true;
		goto out;
	}
	root->n_lists = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, node->data.sequence.items.start[i]);
		size_t mark = cfg_path_push_index(ctx, i);
		if (item && cfg_spend(ctx, item))
			load_list(ctx, item, &root->lists[i]);
		for (size_t j = 0; j < i && root->lists[i].name; j++) {
			if (root->lists[j].name && strcmp(root->lists[j].name, root->lists[i].name) == 0) {
				cfg_error(ctx, item,
					  "list name '%s' is already used by lists[%zu] (line %u); names must be unique",
					  root->lists[i].name, j, root->lists[j].line);
				break;
			}
		}
		cfg_path_pop(ctx, mark);
	}
out:
	cfg_path_pop(ctx, base);
}

const char *cfg_category_name(const struct cfg_root *cfg, unsigned bit)
{
	return bit < CFG_MAX_CATEGORIES ? cfg->categories[bit] : NULL;
}
