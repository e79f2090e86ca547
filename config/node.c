/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Walking libyaml document nodes: type checks, mappings against a key table, the budget. */
#include <string.h>

#include "config/internal.h"

yaml_node_t *cfg_node(struct cfg_ctx *ctx, int id)
{
	return yaml_document_get_node(ctx->doc, id);
}

bool cfg_spend(struct cfg_ctx *ctx, const yaml_node_t *node)
{
	if (ctx->budget > 0) {
		ctx->budget--;
		return true;
	}
	if (!ctx->over_budget) {
		ctx->over_budget = true;
		cfg_error(
			ctx, node,
			"the document expands to too many values (through aliases '*'); write the values out instead of nesting aliases");
	}
	return false;
}

bool cfg_node_is_null(const yaml_node_t *node)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	const char *v;

	if (!node || node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)node->data.scalar.value;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (strcmp(v, nulls[i]) == 0)
			return true;
	}
	return false;
}

const char *cfg_node_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SCALAR_NODE:
		return cfg_node_is_null(node) ? "nothing" : "a string";
	default:
		return "nothing";
	}
}

const char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *node, const char *expected)
{
	const char *v;

	if (node->type != YAML_SCALAR_NODE) {
		cfg_error(ctx, node, "expected %s, got %s", expected, cfg_node_kind(node));
		return NULL;
	}
	v = (const char *)node->data.scalar.value;
	if (strlen(v) != node->data.scalar.length) {
		cfg_error(ctx, node, "contains a NUL character (\\0); expected %s", expected);
		return NULL;
	}
	return v;
}

/* Optimal string alignment distance (edits and swaps of neighbours), for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	enum {
		MAX = 32
	};
	size_t la = strlen(a), lb = strlen(b);
	size_t d[MAX + 1][MAX + 1];

	if (la > MAX || lb > MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* @best at @best_d edits from what was written: close enough to be a likely typo? */
static const char *close_enough(const char *best, size_t best_d)
{
	/* at most 2 edits, and fewer than half the letters of the known name */
	if (best && best_d <= 2 && best_d * 2 < strlen(best))
		return best;
	return NULL;
}

/* The known key closest to @name, if it is close enough to be a likely typo. */
static const char *suggest(const char *name, const struct cfg_key *keys, size_t n_keys)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n_keys; i++) {
		size_t d = edit_distance(name, keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = keys[i].name;
		}
	}
	return close_enough(best, best_d);
}

const char *cfg_suggest(const char *name, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		size_t d = edit_distance(name, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	return close_enough(best, best_d);
}

const char *cfg_join(char *buf, size_t size, const char *const *names, size_t n)
{
	size_t o = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (!names[i])
			continue;
		len = strlen(names[i]);
		/* room for ", ", the name, and a later ", ..." and the NUL */
		if (o + 2 + len + 5 >= size) {
			if (o + 6 <= size)
				memcpy(buf + o, o ? ", ..." : "...", (o ? 5 : 3) + 1);
			break;
		}
		if (o) {
			memcpy(buf + o, ", ", 2);
			o += 2;
		}
		memcpy(buf + o, names[i], len + 1);
		o += len;
	}
	return buf;
}

static void unknown_key(struct cfg_ctx *ctx, yaml_node_t *key, const char *name,
			const struct cfg_key *keys, size_t n_keys)
{
	char quoted[CFG_QUOTE_MAX];
	char hint[CFG_QUOTE_MAX];
	char list[512];
	size_t o = 0;
	const char *close = suggest(name, keys, n_keys);

	list[0] = '\0';
	for (size_t i = 0; i < n_keys; i++) {
		if (keys[i].future)
			continue;
		size_t len = strlen(keys[i].name);
		if (o + len + 3 >= sizeof(list))
			break;
		if (o) {
			memcpy(list + o, ", ", 2);
			o += 2;
		}
		memcpy(list + o, keys[i].name, len + 1);
		o += len;
	}
	hint[0] = '\0';
	if (close)
		snprintf(hint, sizeof(hint), " (did you mean '%s'?)", close);
	cfg_error(ctx, key, "unknown key '%s'%s; expected one of: %s",
		  cfg_quote(name, quoted, sizeof(quoted)), hint, list);
}

bool cfg_map_get(struct cfg_ctx *ctx, yaml_node_t *map, const char *what,
		 const struct cfg_key *keys, size_t n_keys, struct cfg_kv *out)
{
	memset(out, 0, n_keys * sizeof(*out));
	if (map->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, map, "expected %s, got %s", what, cfg_node_kind(map));
		return false;
	}
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = cfg_node(ctx, pair->key);
		yaml_node_t *value = cfg_node(ctx, pair->value);
		const char *name;
		size_t i;

		if (!cfg_spend(ctx, value))
			break;
		if (!key || !value)
			continue;
		if (key->type != YAML_SCALAR_NODE) {
			cfg_error(ctx, key, "expected a key name, got %s", cfg_node_kind(key));
			continue;
		}
		name = (const char *)key->data.scalar.value;
		for (i = 0; i < n_keys; i++) {
			if (strcmp(name, keys[i].name) == 0)
				break;
		}
		if (i == n_keys) {
			unknown_key(ctx, key, name, keys, n_keys);
			continue;
		}
		if (out[i].key) {
			cfg_error(
				ctx, key,
				"duplicate key '%s' (first set at line %u, column %u); keep only one",
				name, (unsigned)out[i].key->start_mark.line + 1,
				(unsigned)out[i].key->start_mark.column + 1);
			continue;
		}
		out[i].key = key;
		out[i].value = value;
	}
	return true;
}

void cfg_map_report_future(struct cfg_ctx *ctx, const struct cfg_key *keys, size_t n_keys,
			   const struct cfg_kv *kv)
{
	for (size_t i = 0; i < n_keys; i++) {
		if (keys[i].future && kv[i].key)
			cfg_error(ctx, kv[i].key, "'%s' %s", keys[i].name, keys[i].future);
	}
}
