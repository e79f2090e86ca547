/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `compliance:` section: statistics, the local store, export to the authority, metrics. */
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"

#define DEFAULT_INTERVAL_S 300
#define DEFAULT_RETENTION_DAYS 90
#define DEFAULT_K 5
#define DEFAULT_TOP 10
#define DEFAULT_SPOOL_LIMIT (256ull << 20)
#define REPORTER_ID_MAX 64

enum {
	C_REPORTER_ID,
	C_INTERVAL,
	C_STORE,
	C_RETENTION_DAYS,
	C_K_THRESHOLD,
	C_TOP_DOMAINS,
	C_CLIENT_IDS,
	C_QUERY_LOG,
	C_AUTHORITY,
	C_DNSTAP,
	C_METRICS,
	C_COUNT,
};

static const struct cfg_key compliance_keys[C_COUNT] = {
	[C_REPORTER_ID] = {"reporter_id", NULL},
	[C_INTERVAL] = {"interval", NULL},
	[C_STORE] = {"store", NULL},
	[C_RETENTION_DAYS] = {"retention_days", NULL},
	[C_K_THRESHOLD] = {"k_threshold", NULL},
	[C_TOP_DOMAINS] = {"top_domains", NULL},
	[C_CLIENT_IDS] = {"client_ids", NULL},
	[C_QUERY_LOG] = {"query_log", NULL},
	[C_AUTHORITY] = {"authority", NULL},
	[C_DNSTAP] = {"dnstap", NULL},
	[C_METRICS] = {"metrics", NULL},
};

enum {
	A_URL,
	A_KEY_FILE,
	A_CA_FILE,
	A_SPOOL_LIMIT,
	A_COUNT
};

static const struct cfg_key authority_keys[A_COUNT] = {
	[A_URL] = {"url", NULL},
	[A_KEY_FILE] = {"key_file", NULL},
	[A_CA_FILE] = {"ca_file", NULL},
	[A_SPOOL_LIMIT] = {"spool_limit", NULL},
};

enum {
	D_SOCKET,
	D_QUERIES,
	D_RESPONSES,
	D_COUNT
};

static const struct cfg_key dnstap_keys[D_COUNT] = {
	[D_SOCKET] = {"socket", NULL},
	[D_QUERIES] = {"queries", NULL},
	[D_RESPONSES] = {"responses", NULL},
};

static const char *const client_ids_names[] = {
	[CFG_CLIENT_IDS_NONE] = "none",
	[CFG_CLIENT_IDS_PSEUDONYMOUS] = "pseudonymous",
	[CFG_CLIENT_IDS_FULL] = "full",
};

/* From 10 seconds (tests, small labs) to a day. */
static const struct cfg_duration_spec interval_spec = {10 * 1000, 86400 * 1000, true, false, 0};

/* A reporter id is sent to the authority and names files: letters, digits, '.', '_' and '-'. */
static void load_reporter_id(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_compliance *c)
{
	static const char *const expected = "an id such as \"79-TH-0001\"";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);
	size_t len;

	if (!s)
		return;
	len = strlen(s);
	if (len == 0 || len > REPORTER_ID_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		cfg_error(
			ctx, node,
			"'%s' is not a reporter id; expected 1-%d letters, digits, '.', '_' or '-', such as \"79-TH-0001\"",
			cfg_quote(s, q, sizeof(q)), REPORTER_ID_MAX);
		return;
	}
	if (!(c->reporter_id = core_strdup(s)))
		ctx->oom = true;
}

static void load_client_ids(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_compliance *c)
{
	static const char *const expected = "one of: none, pseudonymous, full";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(client_ids_names) / sizeof(client_ids_names[0]); i++) {
		if (strcmp(s, client_ids_names[i]) == 0) {
			c->client_ids = (enum cfg_client_ids)i;
			return;
		}
	}
	cfg_error(ctx, node, "'%s' is not a way to name clients; expected %s",
		  cfg_quote(s, q, sizeof(q)), expected);
}

static void load_url(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_compliance *c)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, "an https:// URL");

	if (!s)
		return;
	if (strncmp(s, "https://", 8) != 0 || strlen(s) <= 8 || strlen(s) > 2000 ||
	    strpbrk(s, " \t\r\n")) {
		cfg_error(
			ctx, node,
			"'%s' is not an https:// URL; statistics go to the authority over HTTPS only",
			cfg_quote(s, q, sizeof(q)));
		return;
	}
	if (!(c->authority_url = core_strdup(s)))
		ctx->oom = true;
}

static void load_spool_limit(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_compliance *c)
{
	static const char *const expected = "a size such as '256MiB' (at least 4KiB)";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);
	uint64_t v;

	if (!s)
		return;
	if (cfg_size_parse(s, &v) != 0 || v < (4u << 10))
		cfg_error(ctx, node, "'%s' is not a usable spool limit; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
	else
		c->spool_limit_bytes = v;
}

static void load_authority(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node,
			   struct cfg_compliance *c)
{
	struct cfg_kv kv[A_COUNT];
	size_t mark;

	if (!cfg_map_get(ctx, node, "a mapping with 'url', 'key_file' and 'ca_file'",
			 authority_keys, A_COUNT, kv))
		return;
	if (!kv[A_URL].value || cfg_node_is_null(kv[A_URL].value)) {
		cfg_error(ctx, key,
			  "'url' is missing; where do the statistics go? (an https:// URL)");
		return;
	}
	mark = cfg_path_push_key(ctx, "url");
	load_url(ctx, kv[A_URL].value, c);
	cfg_path_pop(ctx, mark);
	if (!kv[A_KEY_FILE].value || cfg_node_is_null(kv[A_KEY_FILE].value)) {
		cfg_error(
			ctx, key,
			"'key_file' is missing; batches are signed with the reporter's key (make one with 'lanhmanh keygen FILE')");
	} else {
		mark = cfg_path_push_key(ctx, "key_file");
		cfg_load_path(ctx, kv[A_KEY_FILE].value, "/etc/lanhmanh/report.key", 0,
			      &c->authority_key_file);
		cfg_path_pop(ctx, mark);
	}
	if (kv[A_CA_FILE].value && !cfg_node_is_null(kv[A_CA_FILE].value)) {
		mark = cfg_path_push_key(ctx, "ca_file");
		cfg_load_path(ctx, kv[A_CA_FILE].value, "/etc/lanhmanh/authority-ca.pem", 0,
			      &c->authority_ca_file);
		cfg_path_pop(ctx, mark);
	}
	if (kv[A_SPOOL_LIMIT].value && !cfg_node_is_null(kv[A_SPOOL_LIMIT].value)) {
		mark = cfg_path_push_key(ctx, "spool_limit");
		load_spool_limit(ctx, kv[A_SPOOL_LIMIT].value, c);
		cfg_path_pop(ctx, mark);
	}
}

static void load_dnstap(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node,
			struct cfg_compliance *c)
{
	struct cfg_kv kv[D_COUNT];
	size_t mark;

	if (!cfg_map_get(ctx, node, "a mapping with 'socket'", dnstap_keys, D_COUNT, kv))
		return;
	if (!kv[D_SOCKET].value || cfg_node_is_null(kv[D_SOCKET].value)) {
		cfg_error(
			ctx, key,
			"'socket' is missing; expected the path of the collector's Unix socket, such as /run/lanhmanh/dnstap.sock");
		return;
	}
	mark = cfg_path_push_key(ctx, "socket");
	/* sun_path holds 108 bytes with its NUL */
	cfg_load_path(ctx, kv[D_SOCKET].value, "/run/lanhmanh/dnstap.sock", 107, &c->dnstap_socket);
	cfg_path_pop(ctx, mark);
	if (kv[D_QUERIES].value && !cfg_node_is_null(kv[D_QUERIES].value)) {
		mark = cfg_path_push_key(ctx, "queries");
		cfg_load_bool(ctx, kv[D_QUERIES].value, &c->dnstap_queries);
		cfg_path_pop(ctx, mark);
	}
	if (kv[D_RESPONSES].value && !cfg_node_is_null(kv[D_RESPONSES].value)) {
		mark = cfg_path_push_key(ctx, "responses");
		cfg_load_bool(ctx, kv[D_RESPONSES].value, &c->dnstap_responses);
		cfg_path_pop(ctx, mark);
	}
}

static void load_metrics(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_compliance *c)
{
	static const char *const expected = "an address with a port, such as \"127.0.0.1:9153\"";
	char q[CFG_QUOTE_MAX];
	const char *why = NULL;
	struct cfg_addr a;
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	if (cfg_addr_parse_why(s, 9153, &a, &why) != 0) {
		cfg_error(ctx, node, "'%s' %s", cfg_quote(s, q, sizeof(q)),
			  why ? why : "is not an address with a port");
		return;
	}
	if (!(c->metrics = core_malloc(sizeof(*c->metrics)))) {
		ctx->oom = true;
		return;
	}
	*c->metrics = a;
}

void cfg_compliance_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node)
{
	struct cfg_compliance *c = &ctx->root->compliance;
	struct cfg_kv kv[C_COUNT];
	uint64_t v;
	size_t base, mark;

	c->interval_s = DEFAULT_INTERVAL_S;
	c->retention_days = DEFAULT_RETENTION_DAYS;
	c->k_threshold = DEFAULT_K;
	c->top_domains = DEFAULT_TOP;
	c->client_ids = CFG_CLIENT_IDS_PSEUDONYMOUS;
	c->spool_limit_bytes = DEFAULT_SPOOL_LIMIT;
	c->dnstap_queries = c->dnstap_responses = true;
	if (!node)
		return;
	c->enabled = true;
	if (cfg_node_is_null(node))
		return; /* `compliance:` alone: count and store with the defaults */
	base = cfg_path_push_key(ctx, "compliance");
	if (!cfg_map_get(ctx, node, "a mapping of settings such as 'interval' and 'store'",
			 compliance_keys, C_COUNT, kv))
		goto out;
	for (size_t i = 0; i < C_COUNT; i++) {
		yaml_node_t *val = kv[i].value;
		if (!val || cfg_node_is_null(val))
			continue;
		mark = cfg_path_push_key(ctx, compliance_keys[i].name);
		switch (i) {
		case C_REPORTER_ID:
			load_reporter_id(ctx, val, c);
			break;
		case C_INTERVAL:
			if (cfg_get_duration(ctx, val, &interval_spec, &v))
				c->interval_s = (uint32_t)(v / 1000);
			break;
		case C_STORE:
			cfg_load_path(ctx, val, "/var/lib/lanhmanh/stats.sqlite", 0, &c->store);
			break;
		case C_RETENTION_DAYS:
			if (cfg_get_uint(ctx, val, 1, 3650, &v))
				c->retention_days = (uint32_t)v;
			break;
		case C_K_THRESHOLD:
			if (cfg_get_uint(ctx, val, 1, 1000, &v))
				c->k_threshold = (uint32_t)v;
			break;
		case C_TOP_DOMAINS:
			if (cfg_get_uint(ctx, val, 0, 100, &v))
				c->top_domains = (uint32_t)v;
			break;
		case C_CLIENT_IDS:
			load_client_ids(ctx, val, c);
			break;
		case C_QUERY_LOG:
			cfg_load_bool(ctx, val, &c->query_log);
			break;
		case C_AUTHORITY:
			load_authority(ctx, kv[i].key, val, c);
			break;
		case C_DNSTAP:
			load_dnstap(ctx, kv[i].key, val, c);
			break;
		case C_METRICS:
			load_metrics(ctx, val, c);
			break;
		}
		cfg_path_pop(ctx, mark);
	}
	if (c->authority_url && !c->reporter_id && kv[C_AUTHORITY].key)
		cfg_error(
			ctx, kv[C_AUTHORITY].key,
			"batches for the authority carry a 'reporter_id'; add one (the id the authority gave this deployment, such as \"79-TH-0001\")");
out:
	cfg_path_pop(ctx, base);
	(void)key;
}
