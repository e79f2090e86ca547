/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The `groups:` section: the age policies networks refer to (a preset, categories added or
 * removed, allow/deny names, safe search, schedules), and the table of presets.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"
#include "core/alloc.h"

#define GROUP_NAME_MAX 63
#define MAX_GROUPS 256
#define MAX_SCHEDULES 64
#define MINUTES_PER_DAY 1440u

#define BIT(c) (1u << (c))
#define NATIONAL BIT(CFG_CAT_NATIONAL)

/*
 * The presets, named after the school levels. config/README.md shows this table to users: keep
 * the two in step. Preschool blocks every category, site-defined ones included: whatever a
 * school adds is meant for older pupils.
 */
static const struct {
	const char *name;
	uint32_t categories;
	enum cfg_safe_search safe_search;
} presets[CFG_PRESET_COUNT] = {
	[CFG_PRESET_NONE] = {"", NATIONAL, CFG_SAFE_SEARCH_OFF},
	[CFG_PRESET_MAM_NON] = {"mam_non", UINT32_MAX, CFG_SAFE_SEARCH_STRICT},
	[CFG_PRESET_TIEU_HOC] = {"tieu_hoc",
				 NATIONAL | BIT(CFG_CAT_ADULT) | BIT(CFG_CAT_GAMBLING) |
					 BIT(CFG_CAT_VIOLENCE) | BIT(CFG_CAT_DRUGS) |
					 BIT(CFG_CAT_GAMES) | BIT(CFG_CAT_SOCIAL) |
					 BIT(CFG_CAT_PROXY_VPN_DOH) | BIT(CFG_CAT_MALWARE),
				 CFG_SAFE_SEARCH_STRICT},
	[CFG_PRESET_THCS] = {"thcs",
			     NATIONAL | BIT(CFG_CAT_ADULT) | BIT(CFG_CAT_GAMBLING) |
				     BIT(CFG_CAT_VIOLENCE) | BIT(CFG_CAT_DRUGS) |
				     BIT(CFG_CAT_GAMES) | BIT(CFG_CAT_PROXY_VPN_DOH) |
				     BIT(CFG_CAT_MALWARE),
			     CFG_SAFE_SEARCH_STRICT},
	[CFG_PRESET_THPT] = {"thpt",
			     NATIONAL | BIT(CFG_CAT_ADULT) | BIT(CFG_CAT_GAMBLING) |
				     BIT(CFG_CAT_DRUGS) | BIT(CFG_CAT_PROXY_VPN_DOH) |
				     BIT(CFG_CAT_MALWARE),
			     CFG_SAFE_SEARCH_MODERATE},
	[CFG_PRESET_GIAO_VIEN] = {"giao_vien", NATIONAL | BIT(CFG_CAT_MALWARE),
				  CFG_SAFE_SEARCH_OFF},
	[CFG_PRESET_KHACH] = {"khach",
			      NATIONAL | BIT(CFG_CAT_ADULT) | BIT(CFG_CAT_GAMBLING) |
				      BIT(CFG_CAT_DRUGS) | BIT(CFG_CAT_PROXY_VPN_DOH) |
				      BIT(CFG_CAT_MALWARE),
			      CFG_SAFE_SEARCH_MODERATE},
};

#define PRESET_LIST "mam_non, tieu_hoc, thcs, thpt, giao_vien, khach"

const char *cfg_preset_name(enum cfg_preset p)
{
	return (unsigned)p < CFG_PRESET_COUNT ? presets[p].name : "";
}

uint32_t cfg_preset_categories(enum cfg_preset p)
{
	return (unsigned)p < CFG_PRESET_COUNT ? presets[p].categories : NATIONAL;
}

enum cfg_safe_search cfg_preset_safe_search(enum cfg_preset p)
{
	return (unsigned)p < CFG_PRESET_COUNT ? presets[p].safe_search : CFG_SAFE_SEARCH_OFF;
}

int cfg_preset_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = CFG_PRESET_NONE + 1; i < CFG_PRESET_COUNT; i++) {
		if (strcmp(name, presets[i].name) == 0)
			return i;
	}
	return -1;
}

const struct cfg_group *cfg_group_find(const struct cfg_root *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n_groups; i++) {
		if (cfg->groups[i].name && strcmp(cfg->groups[i].name, name) == 0)
			return &cfg->groups[i];
	}
	return NULL;
}

enum {
	G_PRESET,
	G_BLOCK,
	G_UNBLOCK,
	G_ALLOW,
	G_DENY,
	G_SAFE_SEARCH,
	G_BYPASS_CANARIES,
	G_SCHEDULES,
	G_COUNT,
};

static const struct cfg_key group_keys[G_COUNT] = {
	[G_PRESET] = {"preset", NULL},
	[G_BLOCK] = {"block", NULL},
	[G_UNBLOCK] = {"unblock", NULL},
	[G_ALLOW] = {"allow", NULL},
	[G_DENY] = {"deny", NULL},
	[G_SAFE_SEARCH] = {"safe_search", NULL},
	[G_BYPASS_CANARIES] = {"bypass_canaries", NULL},
	[G_SCHEDULES] = {"schedules", NULL},
};

enum {
	SC_BLOCK,
	SC_DAYS,
	SC_FROM,
	SC_TO,
	SC_COUNT,
};

static const struct cfg_key schedule_keys[SC_COUNT] = {
	[SC_BLOCK] = {"block", NULL},
	[SC_DAYS] = {"days", NULL},
	[SC_FROM] = {"from", NULL},
	[SC_TO] = {"to", NULL},
};

/* Where a list of categories is used: the checks differ. */
enum cat_use {
	CAT_BLOCK,    /* a group's `block:`: `national` is accepted (it changes nothing) */
	CAT_UNBLOCK,  /* a group's `unblock:`: checked against its preset and `block:` */
	CAT_SCHEDULE, /* a schedule's `block:` */
};

struct cat_check {
	enum cat_use use;
	enum cfg_preset preset; /* CAT_UNBLOCK */
	uint32_t block;		/* CAT_UNBLOCK: the group's `block:` */
};

/* The bit of category @name in ctx->root, or -1 after an error at @node. */
static int category_bit(struct cfg_ctx *ctx, yaml_node_t *node, const char *name)
{
	const struct cfg_root *root = ctx->root;
	char q[CFG_QUOTE_MAX], hint[CFG_QUOTE_MAX + 32], known[512];
	const char *close;

	for (int i = 0; i < CFG_MAX_CATEGORIES; i++) {
		if (root->categories[i] && strcmp(root->categories[i], name) == 0)
			return i;
	}
	close = cfg_suggest(name, (const char *const *)root->categories, CFG_MAX_CATEGORIES);
	hint[0] = '\0';
	if (close)
		snprintf(hint, sizeof(hint), " (did you mean '%s'?)", close);
	cfg_error(ctx, node, "unknown category '%s'%s; expected one of: %s",
		  cfg_quote(name, q, sizeof(q)), hint,
		  cfg_join(known, sizeof(known), (const char *const *)root->categories,
			   CFG_MAX_CATEGORIES));
	return -1;
}

/* One category of a list into @mask, with the checks of @check. */
static void load_category(struct cfg_ctx *ctx, yaml_node_t *item, const struct cat_check *check,
			  uint32_t *mask, yaml_node_t **first)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, item, "a category name such as games");
	int bit;

	if (!s)
		return;
	bit = category_bit(ctx, item, s);
	if (bit < 0)
		return;
	cfg_quote(s, q, sizeof(q));
	if (*mask & BIT(bit)) {
		cfg_warn(ctx, item,
			 "'%s' is listed twice (first at line %u, column %u), ignoring the repeat",
			 q, (unsigned)first[bit]->start_mark.line + 1,
			 (unsigned)first[bit]->start_mark.column + 1);
		return;
	}
	if (bit == CFG_CAT_NATIONAL && check->use == CAT_UNBLOCK) {
		cfg_error(
			ctx, item,
			"the national list is mandatory for every client and cannot be unblocked");
		return;
	}
	if (bit == CFG_CAT_NATIONAL && check->use == CAT_SCHEDULE) {
		cfg_error(
			ctx, item,
			"'national' is blocked at all times for every client; remove it from the schedule");
		return;
	}
	if (check->use == CAT_UNBLOCK && (check->block & BIT(bit))) {
		cfg_error(
			ctx, item,
			"'%s' is also in block; a category can be in block or in unblock, not both",
			q);
		return;
	}
	if (check->use == CAT_UNBLOCK && !(cfg_preset_categories(check->preset) & BIT(bit))) {
		if (check->preset == CFG_PRESET_NONE)
			cfg_warn(
				ctx, item,
				"the group has no preset, so '%s' is not blocked; unblocking it changes nothing",
				q);
		else
			cfg_warn(ctx, item,
				 "preset %s does not block '%s'; unblocking it changes nothing",
				 cfg_preset_name(check->preset), q);
	}
	*mask |= BIT(bit);
	first[bit] = item;
}

/* A list of categories (or a single one) as a mask; 0 after errors only. */
static uint32_t load_categories(struct cfg_ctx *ctx, yaml_node_t *node,
				const struct cat_check *check)
{
	yaml_node_t *first[CFG_MAX_CATEGORIES] = {0};
	uint32_t mask = 0;

	if (node->type == YAML_SCALAR_NODE) {
		load_category(ctx, node, check, &mask, first);
		return mask;
	}
	if (node->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, node,
			  "expected a list of categories such as [games, social], got %s",
			  cfg_node_kind(node));
		return 0;
	}
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_node(ctx, *it);
		size_t mark;

		if (!cfg_spend(ctx, item ? item : node))
			break;
		if (!item)
			continue;
		mark = cfg_path_push_index(ctx, (size_t)(it - node->data.sequence.items.start));
		load_category(ctx, item, check, &mask, first);
		cfg_path_pop(ctx, mark);
	}
	return mask;
}

static void load_preset(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_group *g)
{
	static const char *const expected = "one of: " PRESET_LIST ", none";
	static const char *const names[] = {"mam_non",	 "tieu_hoc", "thcs", "thpt",
					    "giao_vien", "khach",    "none"};
	char q[CFG_QUOTE_MAX], hint[CFG_QUOTE_MAX + 32];
	const char *s = cfg_scalar(ctx, node, "a preset name such as tieu_hoc");
	const char *close;
	int p;

	if (!s)
		return;
	if (strcmp(s, "none") == 0) {
		g->preset = CFG_PRESET_NONE;
		return;
	}
	p = cfg_preset_parse(s);
	if (p >= 0) {
		g->preset = (enum cfg_preset)p;
		return;
	}
	close = cfg_suggest(s, names, sizeof(names) / sizeof(names[0]));
	hint[0] = '\0';
	if (close)
		snprintf(hint, sizeof(hint), " (did you mean '%s'?)", close);
	cfg_error(ctx, node, "unknown preset '%s'%s; expected %s", cfg_quote(s, q, sizeof(q)), hint,
		  expected);
}

static void load_safe_search(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_group *g)
{
	static const char *const expected =
		"true (meaning strict), false (meaning off), strict, moderate or off";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);
	bool on;

	if (!s)
		return;
	if (strcmp(s, "strict") == 0)
		g->safe_search = CFG_SAFE_SEARCH_STRICT;
	else if (strcmp(s, "moderate") == 0)
		g->safe_search = CFG_SAFE_SEARCH_MODERATE;
	else if (cfg_bool_parse(s, &on) == 0)
		g->safe_search = on ? CFG_SAFE_SEARCH_STRICT : CFG_SAFE_SEARCH_OFF;
	else
		cfg_error(ctx, node, "'%s' is not a safe search level; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
}

/* Day names: bit 0 is Monday. Vietnamese counts from Sunday (chủ nhật); Monday is thứ hai. */
static const struct {
	const char *name;
	unsigned day;
} day_names[] = {
	{"mon", 0}, {"tue", 1}, {"wed", 2}, {"thu", 3}, {"fri", 4}, {"sat", 5}, {"sun", 6},
	{"t2", 0},  {"t3", 1},	{"t4", 2},  {"t5", 3},	{"t6", 4},  {"t7", 5},	{"cn", 6},
};

/* The day named by the @len bytes at @s (any case), or -1. */
static int parse_day(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(day_names) / sizeof(day_names[0]); i++) {
		if (strlen(day_names[i].name) == len && strncasecmp(s, day_names[i].name, len) == 0)
			return (int)day_names[i].day;
	}
	return -1;
}

/* One item of `days:`: a day, or a range "mon-fri" (which may wrap: "sat-mon"), into @days. */
static void load_day(struct cfg_ctx *ctx, yaml_node_t *item, uint8_t *days)
{
	static const char *const expected =
		"mon, tue, wed, thu, fri, sat, sun (or t2, t3, t4, t5, t6, t7, cn), or a range such as mon-fri";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, item, "a day such as mon");
	const char *dash;
	int from, to;

	if (!s)
		return;
	dash = strchr(s, '-');
	if (dash) {
		from = parse_day(s, (size_t)(dash - s));
		to = parse_day(dash + 1, strlen(dash + 1));
	} else {
		from = to = parse_day(s, strlen(s));
	}
	if (from < 0 || to < 0) {
		cfg_error(ctx, item, "'%s' is not a day; expected %s", cfg_quote(s, q, sizeof(q)),
			  expected);
		return;
	}
	for (int d = from;; d = (d + 1) % 7) {
		*days |= (uint8_t)(1u << d);
		if (d == to)
			break;
	}
}

static void load_days(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_schedule *sc)
{
	size_t n;

	sc->days = 0;
	if (node->type == YAML_SCALAR_NODE) {
		load_day(ctx, node, &sc->days);
		return;
	}
	if (node->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, node,
			  "expected a list of days such as [mon, tue, wed, thu, fri], got %s",
			  cfg_node_kind(node));
		return;
	}
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n == 0) {
		cfg_error(
			ctx, node,
			"the list is empty; expected days such as [mon-fri] (leave 'days' out for every day)");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, node->data.sequence.items.start[i]);
		size_t mark;

		if (!cfg_spend(ctx, item ? item : node))
			break;
		if (!item)
			continue;
		mark = cfg_path_push_index(ctx, i);
		load_day(ctx, item, &sc->days);
		cfg_path_pop(ctx, mark);
	}
}

/* "H:MM" or "HH:MM" as minutes after midnight, 0..1440 (24:00); -1 when not such a time. */
static int parse_time(const char *s)
{
	unsigned h = 0, m;
	size_t i = 0;

	while (i < 2 && s[i] >= '0' && s[i] <= '9')
		h = h * 10 + (unsigned)(s[i++] - '0');
	if (i == 0 || s[i] != ':')
		return -1;
	s += i + 1;
	if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == '\0'))
		return -1;
	m = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return (int)(h * 60 + m);
}

/* `from:` (@is_to false: 00:00-23:59) or `to:` (00:00-24:00); false after an error. */
static bool load_time(struct cfg_ctx *ctx, yaml_node_t *node, bool is_to, uint16_t *out_min)
{
	const char *range = is_to ? "from 00:00 to 24:00" : "from 00:00 to 23:59";
	char q[CFG_QUOTE_MAX], expected[96];
	const char *s;
	int min;

	snprintf(expected, sizeof(expected), "a time HH:MM %s, such as \"%s\"", range,
		 is_to ? "17:00" : "07:30");
	s = cfg_scalar(ctx, node, expected);
	if (!s)
		return false;
	min = parse_time(s);
	cfg_quote(s, q, sizeof(q));
	if (min < 0) {
		cfg_error(ctx, node, "'%s' is not a time; expected %s", q, expected);
		return false;
	}
	if (!is_to && min == (int)MINUTES_PER_DAY) {
		cfg_error(ctx, node, "'%s' is for 'to' only; expected %s", q, expected);
		return false;
	}
	*out_min = (uint16_t)min;
	return true;
}

static void load_schedule(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_schedule *sc)
{
	static const struct cat_check check = {.use = CAT_SCHEDULE};
	struct cfg_kv kv[SC_COUNT];
	bool from_ok = false, to_ok = false;
	size_t mark;

	if (!cfg_map_get(ctx, node, "a schedule: a mapping with 'block', 'days', 'from' and 'to'",
			 schedule_keys, SC_COUNT, kv))
		return;
	sc->line = (unsigned)node->start_mark.line + 1;
	sc->days = 0x7f;
	if (!kv[SC_BLOCK].value || cfg_node_is_null(kv[SC_BLOCK].value))
		cfg_error(
			ctx, kv[SC_BLOCK].key ? kv[SC_BLOCK].key : node,
			"missing 'block'; a schedule needs the categories it blocks, e.g. block: [games, social]");
	if (!kv[SC_FROM].value || cfg_node_is_null(kv[SC_FROM].value))
		cfg_error(
			ctx, kv[SC_FROM].key ? kv[SC_FROM].key : node,
			"missing 'from'; a schedule needs the time it starts, e.g. from: \"07:00\"");
	if (!kv[SC_TO].value || cfg_node_is_null(kv[SC_TO].value))
		cfg_error(ctx, kv[SC_TO].key ? kv[SC_TO].key : node,
			  "missing 'to'; a schedule needs the time it ends, e.g. to: \"17:00\"");
	for (size_t i = 0; i < SC_COUNT; i++) {
		yaml_node_t *val = kv[i].value;

		if (!val || cfg_node_is_null(val))
			continue;
		mark = cfg_path_push_key(ctx, schedule_keys[i].name);
		switch (i) {
		case SC_BLOCK:
			sc->categories = load_categories(ctx, val, &check);
			if (val->type == YAML_SEQUENCE_NODE &&
			    val->data.sequence.items.top == val->data.sequence.items.start)
				cfg_error(
					ctx, val,
					"the list is empty; expected the categories to block, such as [games, social]");
			break;
		case SC_DAYS:
			load_days(ctx, val, sc);
			break;
		case SC_FROM:
			from_ok = load_time(ctx, val, false, &sc->from_min);
			break;
		case SC_TO:
			to_ok = load_time(ctx, val, true, &sc->to_min);
			break;
		default:
			break;
		}
		cfg_path_pop(ctx, mark);
	}
	if (from_ok && to_ok && sc->from_min == sc->to_min) {
		mark = cfg_path_push_key(ctx, "to");
		cfg_error(
			ctx, kv[SC_TO].value,
			"the window would end when it starts (%02u:%02u); expected a 'to' other than 'from' (the whole day is from \"00:00\" to \"24:00\")",
			sc->from_min / 60u, sc->from_min % 60u);
		cfg_path_pop(ctx, mark);
	}
}

static void load_schedules(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_group *g)
{
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE) {
		cfg_error(
			ctx, node,
			"expected a list of schedules (each one starting with '- block:'), got %s",
			cfg_node_kind(node));
		return;
	}
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n == 0)
		return;
	if (n > MAX_SCHEDULES) {
		cfg_error(ctx, node, "too many schedules (%zu); at most %d are allowed in a group",
			  n, MAX_SCHEDULES);
		return;
	}
	g->schedules = core_calloc(n, sizeof(*g->schedules));
	if (!g->schedules) {
		ctx->oom = true;
		return;
	}
	g->n_schedules = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, node->data.sequence.items.start[i]);
		size_t mark;

		if (!cfg_spend(ctx, item ? item : node))
			break;
		if (!item)
			continue;
		mark = cfg_path_push_index(ctx, i);
		load_schedule(ctx, item, &g->schedules[i]);
		cfg_path_pop(ctx, mark);
	}
}

/* The body of group @g (@node: its mapping, or NULL/null for all defaults). */
static void load_group(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_group *g)
{
	struct cfg_kv kv[G_COUNT] = {0};
	struct cat_check check = {.use = CAT_BLOCK};
	uint32_t block = 0, unblock = 0;
	size_t mark;
	int p;

	/* a group named after a preset is that preset unless it says otherwise */
	p = cfg_preset_parse(g->name);
	g->preset = p >= 0 ? (enum cfg_preset)p : CFG_PRESET_NONE;
	g->categories = cfg_preset_categories(g->preset);
	g->safe_search = cfg_preset_safe_search(g->preset);
	g->bypass_canaries = true;
	if (node && !cfg_node_is_null(node) &&
	    !cfg_map_get(ctx, node, "a group: a mapping with keys such as 'preset:' and 'block:'",
			 group_keys, G_COUNT, kv))
		return;
	if (kv[G_PRESET].value && !cfg_node_is_null(kv[G_PRESET].value)) {
		mark = cfg_path_push_key(ctx, "preset");
		load_preset(ctx, kv[G_PRESET].value, g);
		cfg_path_pop(ctx, mark);
		g->safe_search = cfg_preset_safe_search(g->preset);
	}
	if (kv[G_BLOCK].value && !cfg_node_is_null(kv[G_BLOCK].value)) {
		mark = cfg_path_push_key(ctx, "block");
		block = load_categories(ctx, kv[G_BLOCK].value, &check);
		cfg_path_pop(ctx, mark);
	}
	if (kv[G_UNBLOCK].value && !cfg_node_is_null(kv[G_UNBLOCK].value)) {
		check = (struct cat_check){.use = CAT_UNBLOCK, .preset = g->preset, .block = block};
		mark = cfg_path_push_key(ctx, "unblock");
		unblock = load_categories(ctx, kv[G_UNBLOCK].value, &check);
		cfg_path_pop(ctx, mark);
	}
	g->categories = ((cfg_preset_categories(g->preset) | block) & ~unblock) | NATIONAL;
	cfg_load_allow_deny(ctx, kv[G_ALLOW].value, kv[G_DENY].value, &g->allow, &g->n_allow,
			    &g->deny, &g->n_deny);
	if (kv[G_SAFE_SEARCH].value && !cfg_node_is_null(kv[G_SAFE_SEARCH].value)) {
		mark = cfg_path_push_key(ctx, "safe_search");
		load_safe_search(ctx, kv[G_SAFE_SEARCH].value, g);
		cfg_path_pop(ctx, mark);
	}
	if (kv[G_BYPASS_CANARIES].value && !cfg_node_is_null(kv[G_BYPASS_CANARIES].value)) {
		mark = cfg_path_push_key(ctx, "bypass_canaries");
		cfg_load_bool(ctx, kv[G_BYPASS_CANARIES].value, &g->bypass_canaries);
		cfg_path_pop(ctx, mark);
	}
	if (kv[G_SCHEDULES].value && !cfg_node_is_null(kv[G_SCHEDULES].value) && !ctx->oom) {
		mark = cfg_path_push_key(ctx, "schedules");
		load_schedules(ctx, kv[G_SCHEDULES].value, g);
		cfg_path_pop(ctx, mark);
	}
}

/* The name of a group (a key of `groups:`); false after an error at @key. */
static bool group_name_ok(struct cfg_ctx *ctx, yaml_node_t *key, const char **out_name)
{
	static const char *const expected =
		"a group name of lower-case letters, digits, '_' and '-' such as tieu_hoc";
	char q[CFG_QUOTE_MAX];
	const char *s;
	size_t len;

	if (key->type != YAML_SCALAR_NODE) {
		cfg_error(ctx, key, "expected %s, got %s", expected, cfg_node_kind(key));
		return false;
	}
	s = cfg_scalar(ctx, key, expected);
	if (!s)
		return false;
	len = strlen(s);
	if (len == 0 || len > GROUP_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len) {
		cfg_error(ctx, key,
			  "'%s' is not a valid group name; expected %s (at most %d characters)",
			  cfg_quote(s, q, sizeof(q)), expected, GROUP_NAME_MAX);
		return false;
	}
	*out_name = s;
	return true;
}

void cfg_groups_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node)
{
	struct cfg_root *root = ctx->root;
	size_t base = cfg_path_push_key(ctx, "groups");
	yaml_node_t **keys = NULL;
	size_t n;

	(void)key;
	if (!node || cfg_node_is_null(node))
		goto out;
	if (node->type != YAML_MAPPING_NODE) {
		cfg_error(
			ctx, node,
			"expected a mapping of groups by name (such as 'tieu_hoc:' on its own line), got %s",
			cfg_node_kind(node));
		goto out;
	}
	n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	if (n == 0)
		goto out;
	if (n > MAX_GROUPS) {
		cfg_error(ctx, node, "too many groups (%zu); at most %d are allowed", n,
			  MAX_GROUPS);
		goto out;
	}
	root->groups = core_calloc(n, sizeof(*root->groups));
	keys = core_calloc(n, sizeof(*keys));
	if (!root->groups || !keys) {
		ctx->oom = true;
		goto out;
	}
	for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top && !ctx->oom; pair++) {
		yaml_node_t *k = cfg_node(ctx, pair->key);
		yaml_node_t *v = cfg_node(ctx, pair->value);
		struct cfg_group *g;
		const char *name;
		size_t mark, i;

		if (!cfg_spend(ctx, v ? v : node))
			break;
		if (!k || !group_name_ok(ctx, k, &name))
			continue;
		for (i = 0; i < root->n_groups; i++) {
			if (strcmp(root->groups[i].name, name) == 0)
				break;
		}
		if (i < root->n_groups) {
			cfg_error(
				ctx, k,
				"duplicate key '%s' (first set at line %u, column %u); keep only one",
				name, (unsigned)keys[i]->start_mark.line + 1,
				(unsigned)keys[i]->start_mark.column + 1);
			continue;
		}
		g = &root->groups[root->n_groups];
		g->name = core_strdup(name);
		if (!g->name) {
			ctx->oom = true;
			break;
		}
		g->line = (unsigned)k->start_mark.line + 1;
		keys[root->n_groups++] = k;
		mark = cfg_path_push_key(ctx, name);
		load_group(ctx, v, g);
		cfg_path_pop(ctx, mark);
	}
out:
	core_free(keys);
	cfg_path_pop(ctx, base);
}
