/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `allow:` and `deny:` lists of groups and networks: domain names, each to its wire form. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/dname.h"

#define EXAMPLE "hoc10.vn"

/* Where one loaded name came from: its index in the YAML list (SIZE_MAX: a single string). */
struct domain_list {
	struct cfg_domain *v;
	size_t *index;
	size_t n;
};

void cfg_domains_free(struct cfg_domain *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		core_free(v[i].text);
	core_free(v);
}

static size_t push_item_path(struct cfg_ctx *ctx, size_t index)
{
	return index == SIZE_MAX ? ctx->path_len : cfg_path_push_index(ctx, index);
}

/* An error or warning at entry @i of @l, loaded earlier (its node is not at hand any more). */
__attribute__((format(printf, 5, 6))) static void domain_diag(struct cfg_ctx *ctx, bool warning,
							      const struct domain_list *l, size_t i,
							      const char *fmt, ...)
{
	size_t mark = push_item_path(ctx, l->index[i]);
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	cfg_diag_add(ctx, warning, ctx->file, l->v[i].line, l->v[i].column, ctx->path, "%s",
		     message);
	cfg_path_pop(ctx, mark);
}

/* Is one label of @s exactly "*"? */
static bool has_star_label(const char *s)
{
	for (const char *p = s; *p;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 1 && *p == '*')
			return true;
		if (!dot)
			break;
		p = dot + 1;
	}
	return false;
}

/* One name into @out; false after an error at @node. */
static bool load_domain(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_domain *out)
{
	static const char *const expected = "a domain name such as " EXAMPLE;
	char q[CFG_QUOTE_MAX], why[64];
	struct core_dname_error err;
	const char *s = cfg_scalar(ctx, node, expected);
	size_t n;

	if (!s)
		return false;
	cfg_quote(s, q, sizeof(q));
	/* An entry covers the names below it; a '*' label would suggest it does not. */
	if (has_star_label(s)) {
		cfg_error(
			ctx, node,
			"'%s' has a '*' label; write the name without '*.': an entry covers the names below it too",
			q);
		return false;
	}
	if (strchr(s, '*')) {
		cfg_error(ctx, node, "'%s' is not a domain name ('*' is not allowed); expected %s",
			  q, expected);
		return false;
	}
	n = core_dname_parse(s, node->data.scalar.length, out->wire, &err);
	if (n == 0) {
		unsigned char c = (unsigned char)s[err.pos];

		if (err.bad_char && c > 0x20 && c < 0x7f && c != '\'')
			snprintf(why, sizeof(why), "character '%c' not allowed", c);
		else
			snprintf(why, sizeof(why), "%s", err.why);
		cfg_error(ctx, node, "'%s' is not a domain name (%s); expected %s", q, why,
			  expected);
		return false;
	}
	out->wire_len = (uint8_t)n;
	out->line = (unsigned)node->start_mark.line + 1;
	out->column = (unsigned)node->start_mark.column + 1;
	out->text = core_strdup(s);
	if (!out->text) {
		ctx->oom = true;
		return false;
	}
	return true;
}

static int wire_cmp(const struct cfg_domain *a, const struct cfg_domain *b)
{
	if (a->wire_len != b->wire_len)
		return a->wire_len < b->wire_len ? -1 : 1;
	return memcmp(a->wire, b->wire, a->wire_len);
}

/* By name, then by place in the file: the entries compared are all of one array. */
static int ptr_cmp(const void *a, const void *b)
{
	const struct cfg_domain *x = *(const struct cfg_domain *const *)a;
	const struct cfg_domain *y = *(const struct cfg_domain *const *)b;
	int c = wire_cmp(x, y);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

/* The entries of @l sorted by name (ties in file order), in a new array; NULL when @l is empty
 * or memory ran out (ctx->oom). Sorting keeps the checks fast on lists of thousands. */
static const struct cfg_domain **sorted(struct cfg_ctx *ctx, const struct domain_list *l)
{
	const struct cfg_domain **v;

	if (l->n == 0)
		return NULL;
	v = core_calloc(l->n, sizeof(*v));
	if (!v) {
		ctx->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	qsort(v, l->n, sizeof(*v), ptr_cmp);
	return v;
}

/* Warn about the repeats of @l and drop them, keeping the first of each name in file order. */
static void drop_repeats(struct cfg_ctx *ctx, struct domain_list *l)
{
	const struct cfg_domain **v = sorted(ctx, l);
	bool *drop;
	size_t o = 0;

	if (!v)
		return;
	drop = core_calloc(l->n, sizeof(*drop));
	if (!drop) {
		ctx->oom = true;
		core_free(v);
		return;
	}
	for (size_t i = 1, first = 0; i < l->n; i++) {
		size_t k = (size_t)(v[i] - l->v);
		char q[CFG_QUOTE_MAX];

		if (wire_cmp(v[first], v[i]) != 0) {
			first = i;
			continue;
		}
		domain_diag(
			ctx, true, l, k,
			"'%s' is listed twice (first at line %u, column %u), ignoring the repeat",
			cfg_quote(v[i]->text, q, sizeof(q)), v[first]->line, v[first]->column);
		drop[k] = true;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (drop[i]) {
			core_free(l->v[i].text);
			continue;
		}
		l->v[o] = l->v[i];
		l->index[o++] = l->index[i];
	}
	l->n = o;
	core_free(drop);
	core_free(v);
}

/* The names of @node (a list, or a single string) into @l; @key is "allow" or "deny". */
static void load_list(struct cfg_ctx *ctx, yaml_node_t *node, const char *key,
		      struct domain_list *l)
{
	size_t base = cfg_path_push_key(ctx, key);
	size_t n;

	if (node->type == YAML_SCALAR_NODE) {
		n = 1;
	} else if (node->type == YAML_SEQUENCE_NODE) {
		n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	} else {
		cfg_error(ctx, node,
			  "expected a list of domain names such as [\"" EXAMPLE "\"], got %s",
			  cfg_node_kind(node));
		goto out;
	}
	if (n > CFG_DOMAINS_MAX) {
		cfg_error(
			ctx, node,
			"too many names (%zu); at most %d are allowed (use a list file under 'lists:' for more)",
			n, CFG_DOMAINS_MAX);
		goto out;
	}
	if (n == 0)
		goto out;
	l->v = core_calloc(n, sizeof(*l->v));
	l->index = core_calloc(n, sizeof(*l->index));
	if (!l->v || !l->index) {
		ctx->oom = true;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool seq = node->type == YAML_SEQUENCE_NODE;
		yaml_node_t *item = seq ? cfg_node(ctx, node->data.sequence.items.start[i]) : node;
		size_t mark;

		if (!cfg_spend(ctx, item ? item : node))
			break;
		if (!item)
			continue;
		mark = seq ? cfg_path_push_index(ctx, i) : ctx->path_len;
		if (load_domain(ctx, item, &l->v[l->n]))
			l->index[l->n++] = seq ? i : SIZE_MAX;
		cfg_path_pop(ctx, mark);
		if (ctx->oom)
			break;
	}
	if (!ctx->oom)
		drop_repeats(ctx, l);
out:
	cfg_path_pop(ctx, base);
}

/* A name in both lists would make the intent unclear: report it at the deny entry. */
static void check_both(struct cfg_ctx *ctx, const struct domain_list *allow,
		       const struct domain_list *deny)
{
	const struct cfg_domain **a = sorted(ctx, allow);
	const struct cfg_domain **d = sorted(ctx, deny);
	size_t i = 0, k = 0, mark;

	if (!a || !d)
		goto out;
	mark = cfg_path_push_key(ctx, "deny");
	while (i < allow->n && k < deny->n) {
		int c = wire_cmp(a[i], d[k]);
		char q[CFG_QUOTE_MAX];

		if (c < 0) {
			i++;
		} else if (c > 0) {
			k++;
		} else {
			domain_diag(
				ctx, false, deny, (size_t)(d[k] - deny->v),
				"'%s' is also in allow (line %u, column %u); a name can be in allow or in deny, not both",
				cfg_quote(d[k]->text, q, sizeof(q)), a[i]->line, a[i]->column);
			k++;
		}
	}
	cfg_path_pop(ctx, mark);
out:
	core_free(a);
	core_free(d);
}

void cfg_load_allow_deny(struct cfg_ctx *ctx, yaml_node_t *allow, yaml_node_t *deny,
			 struct cfg_domain **out_allow, size_t *out_n_allow,
			 struct cfg_domain **out_deny, size_t *out_n_deny)
{
	struct domain_list a = {0}, d = {0};

	if (allow && !cfg_node_is_null(allow))
		load_list(ctx, allow, "allow", &a);
	if (deny && !cfg_node_is_null(deny) && !ctx->oom)
		load_list(ctx, deny, "deny", &d);
	if (!ctx->oom && a.n && d.n)
		check_both(ctx, &a, &d);
	/* owned by the config from here on, so that cfg_free() frees them whatever happens */
	*out_allow = a.v;
	*out_n_allow = a.n;
	*out_deny = d.v;
	*out_n_deny = d.n;
	core_free(a.index);
	core_free(d.index);
}
