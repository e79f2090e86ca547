/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The compiled policy: networks → groups → verdicts (see policy.h). */
#include "policy/policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "policy/builtin.h"

#define NATIONAL_BIT (1u << CFG_CAT_NATIONAL)
/* Category bit of override entries in their own small sets: any non-national bit will do. */
#define OVERRIDE_BIT (1u << 31)
/* Most allow + deny names of one group or network (the config allows 10000 of each). */
#define MAX_OVERRIDES 20000

/** One MMDB file of `networks:`. */
struct mmdb_src {
	struct pol_mmdb *db;
	/** Per record slot: the group its group field names; NULL: the fallback applies. */
	const struct pol_group **slot_group;
	const struct pol_group *fallback; /**< the entry's `group:`, or NULL (then: refused) */
	const struct pol_network *network; /**< the entry, as a network (name, line) */
};

struct pol_policy {
	struct pol_group *groups; /**< config groups, implicit presets, then "all" */
	size_t n_groups;
	const struct pol_group *all; /**< for networks without a group */
	struct pol_networks *nets;
	struct mmdb_src *mmdbs;
	size_t n_mmdbs;
	struct bl_set *safe_strict, *safe_moderate, *canaries, *local_zones;
	struct pol_clock clock;
	bool has_schedules;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- building ------------------------------------------------------------------------------- */

/* Compile allow/deny names into a set whose list 0 is called @label. NULL set when none. */
static int overrides_new(const struct cfg_domain *allow, size_t n_allow,
			 const struct cfg_domain *deny, size_t n_deny, const char *label,
			 struct bl_set **out_set)
{
	*out_set = NULL;
	if (n_allow + n_deny == 0)
		return 0;
	struct bl_builder *b = bl_builder_new(MAX_OVERRIDES);
	if (!b)
		return -ENOMEM;
	int ret = bl_builder_set_list_name(b, 0, label);
	for (size_t i = 0; ret == 0 && i < n_allow; i++)
		ret = bl_builder_add(b, allow[i].wire, allow[i].wire_len, OVERRIDE_BIT, 0,
				     BL_MATCH_SELF | BL_MATCH_BELOW | BL_ALLOW, BL_ACTION_POLICY,
				     allow[i].line, NULL, 0);
	for (size_t i = 0; ret == 0 && i < n_deny; i++)
		ret = bl_builder_add(b, deny[i].wire, deny[i].wire_len, OVERRIDE_BIT, 0,
				     BL_MATCH_SELF | BL_MATCH_BELOW, BL_ACTION_POLICY, deny[i].line,
				     NULL, 0);
	if (ret == 0)
		ret = bl_builder_finish(b, out_set);
	bl_builder_free(b);
	return ret;
}

static const struct pol_group *group_find(const struct pol_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_groups; i++) {
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	}
	return NULL;
}

static void group_init_preset(struct pol_policy *p, struct pol_group *g, enum cfg_preset preset)
{
	g->preset = preset;
	g->categories = cfg_preset_categories(preset) | NATIONAL_BIT;
	g->safe_search_level = cfg_preset_safe_search(preset);
	g->canaries = true;
	g->safe_search = g->safe_search_level == CFG_SAFE_SEARCH_STRICT	  ? p->safe_strict
			 : g->safe_search_level == CFG_SAFE_SEARCH_MODERATE ? p->safe_moderate
									    : NULL;
}

static int groups_build(struct pol_policy *p, const struct cfg_root *cfg, char *err,
			size_t errlen)
{
	/* Config groups, then every preset no config group is named after, then "all". */
	p->groups = core_calloc(cfg->n_groups + CFG_PRESET_COUNT + 1, sizeof(*p->groups));
	if (!p->groups)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct cfg_group *cg = &cfg->groups[i];
		struct pol_group *g = &p->groups[p->n_groups];
		g->name = cg->name;
		g->index = (unsigned)p->n_groups++;
		group_init_preset(p, g, cg->preset);
		g->categories = cg->categories | NATIONAL_BIT;
		g->safe_search_level = cg->safe_search;
		g->safe_search = cg->safe_search == CFG_SAFE_SEARCH_STRICT     ? p->safe_strict
				 : cg->safe_search == CFG_SAFE_SEARCH_MODERATE ? p->safe_moderate
									       : NULL;
		g->canaries = cg->bypass_canaries;
		g->line = cg->line;
		if (cg->n_schedules) {
			struct pol_schedule_rule *rules =
				core_calloc(cg->n_schedules, sizeof(*rules));
			if (!rules)
				return -ENOMEM;
			for (size_t k = 0; k < cg->n_schedules; k++) {
				const struct cfg_schedule *s = &cg->schedules[k];
				rules[k] = (struct pol_schedule_rule){
					.categories = s->categories & ~NATIONAL_BIT,
					.days = s->days,
					.from_min = s->from_min,
					.to_min = s->to_min,
				};
				g->scheduled |= rules[k].categories;
			}
			int ret = pol_schedule_new(rules, cg->n_schedules, &g->schedule);
			core_free(rules);
			if (ret != 0) {
				set_err(err, errlen, "%s: group '%s' line %u: schedules: %s",
					cfg->path, cg->name, cg->line, core_strerror(ret));
				return ret;
			}
			p->has_schedules = true;
		}
		char label[96];
		snprintf(label, sizeof(label), "group %s", cg->name);
		int ret = overrides_new(cg->allow, cg->n_allow, cg->deny, cg->n_deny, label,
					&g->overrides);
		if (ret != 0)
			return ret;
	}
	for (int pr = CFG_PRESET_MAM_NON; pr < CFG_PRESET_COUNT; pr++) {
		const char *name = cfg_preset_name((enum cfg_preset)pr);
		if (group_find(p, name))
			continue;
		struct pol_group *g = &p->groups[p->n_groups];
		g->name = name;
		g->index = (unsigned)p->n_groups++;
		group_init_preset(p, g, (enum cfg_preset)pr);
	}
	struct pol_group *all = &p->groups[p->n_groups];
	all->name = "all";
	all->index = (unsigned)p->n_groups++;
	group_init_preset(p, all, CFG_PRESET_NONE);
	all->categories = POL_CATEGORIES_ALL;
	p->all = all;
	return 0;
}

static int networks_build(struct pol_policy *p, const struct cfg_root *cfg)
{
	int ret = pol_networks_new(cfg, &p->nets);
	if (ret != 0)
		return ret;
	size_t n = pol_networks_count(p->nets);
	for (size_t i = 0; i <= n; i++) {
		struct pol_network *net = pol_networks_entry(p->nets, i);
		net->grp = net->group ? group_find(p, net->group) : NULL;
		if (!net->grp)
			net->grp = p->all; /* the config checked the name; localhost has none */
		if (i == n)
			continue;
		const struct cfg_network *cn = &cfg->networks[i];
		char label[96];
		snprintf(label, sizeof(label), "network %s", cn->name);
		ret = overrides_new(cn->allow, cn->n_allow, cn->deny, cn->n_deny, label,
				    &net->overrides);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int mmdb_build(struct pol_policy *p, const struct cfg_root *cfg, char *err, size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_networks; i++)
		n += cfg->networks[i].mmdb != NULL;
	if (n == 0)
		return 0;
	p->mmdbs = core_calloc(n, sizeof(*p->mmdbs));
	if (!p->mmdbs)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_networks; i++) {
		const struct cfg_network *cn = &cfg->networks[i];
		if (!cn->mmdb)
			continue;
		struct mmdb_src *src = &p->mmdbs[p->n_mmdbs++];
		char why[512];
		int ret = pol_mmdb_open(cn->mmdb, cn->group_field, cn->id_field, cn->province_field,
					&src->db, why, sizeof(why));
		if (ret != 0) {
			set_err(err, errlen, "%s:%u: networks[%zu].mmdb: %s", cfg->path, cn->line, i,
				why);
			return ret;
		}
		src->network = pol_networks_entry(p->nets, i);
		src->fallback = cn->group ? group_find(p, cn->group) : NULL;
		size_t slots = pol_mmdb_slot_count(src->db);
		src->slot_group = core_calloc(slots ? slots : 1, sizeof(*src->slot_group));
		if (!src->slot_group)
			return -ENOMEM;
		size_t unknown = 0;
		char example[POL_MMDB_FIELD_MAX] = "";
		for (size_t s = 0; s < slots; s++) {
			struct pol_mmdb_result r;
			if (pol_mmdb_slot_fields(src->db, (uint32_t)s, &r) != 0)
				continue;
			src->slot_group[s] = group_find(p, r.group);
			if (!src->slot_group[s] && strcmp(r.group, "all") != 0) {
				if (unknown++ == 0)
					memcpy(example, r.group, sizeof(example));
			}
		}
		if (unknown)
			core_log_warn("policy",
				      "%s: %zu record%s name%s a group that is not defined (e.g. '%s'); %s",
				      cn->mmdb, unknown, unknown == 1 ? "" : "s",
				      unknown == 1 ? "s" : "", example,
				      src->fallback ? "their clients get the entry's group" :
						      "their clients are refused");
	}
	return 0;
}

int pol_policy_new(const struct cfg_root *cfg, struct pol_policy **out_policy, char *err,
		   size_t errlen)
{
	struct pol_policy *p = core_calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int ret = pol_builtin_safe_search(POL_SAFE_STRICT, &p->safe_strict);
	if (ret == 0)
		ret = pol_builtin_safe_search(POL_SAFE_MODERATE, &p->safe_moderate);
	if (ret == 0)
		ret = pol_builtin_canaries(&p->canaries);
	if (ret == 0)
		ret = pol_builtin_local_zones(&p->local_zones);
	if (ret == 0)
		ret = groups_build(p, cfg, err, errlen);
	if (ret == 0)
		ret = networks_build(p, cfg);
	if (ret == 0)
		ret = mmdb_build(p, cfg, err, errlen);
	if (ret == 0) {
		ret = pol_clock_init(&p->clock, cfg->server.timezone);
		if (ret != 0 && !cfg->server.timezone) {
			/* No tzdata on this host: Vietnam has kept UTC+7 since 1975. */
			pol_clock_deinit(&p->clock);
			ret = pol_clock_init_fixed(&p->clock, POL_CLOCK_DEFAULT_ZONE, 7 * 3600);
		} else if (ret != 0) {
			set_err(err, errlen, "%s: server.timezone: cannot load zone '%s': %s",
				cfg->path, cfg->server.timezone, core_strerror(ret));
		}
	}
	if (ret != 0) {
		if (ret == -ENOMEM)
			set_err(err, errlen, "out of memory while building the policy");
		pol_policy_free(p);
		return ret;
	}
	*out_policy = p;
	return 0;
}

struct pol_policy *pol_policy_free(struct pol_policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_groups; i++) {
		pol_schedule_free(p->groups[i].schedule);
		bl_set_unref(p->groups[i].overrides);
	}
	core_free(p->groups);
	if (p->nets) {
		size_t n = pol_networks_count(p->nets);
		for (size_t i = 0; i <= n; i++)
			bl_set_unref(pol_networks_entry(p->nets, i)->overrides);
		pol_networks_free(p->nets);
	}
	for (size_t i = 0; i < p->n_mmdbs; i++) {
		pol_mmdb_free(p->mmdbs[i].db);
		core_free(p->mmdbs[i].slot_group);
	}
	core_free(p->mmdbs);
	bl_set_unref(p->safe_strict);
	bl_set_unref(p->safe_moderate);
	bl_set_unref(p->canaries);
	bl_set_unref(p->local_zones);
	pol_clock_deinit(&p->clock);
	return core_free(p);
}

/* ---- lookups -------------------------------------------------------------------------------- */

int pol_client_lookup(const struct pol_policy *p, const struct sockaddr *sa,
		      struct pol_client *out)
{
	unsigned len = 0;
	const struct pol_network *net = pol_networks_lookup_len(p->nets, sa, &len);
	int best = -1;
	uint32_t best_slot = 0;
	const struct pol_group *best_group = NULL;
	for (size_t i = 0; i < p->n_mmdbs; i++) {
		const struct mmdb_src *src = &p->mmdbs[i];
		uint32_t slot;
		uint8_t plen;
		if (pol_mmdb_lookup_slot(src->db, sa, &slot, &plen) != 0)
			continue;
		const struct pol_group *g = src->slot_group[slot] ? src->slot_group[slot]
								  : src->fallback;
		if (!g)
			continue;
		/* Longest prefix wins; on a tie the CIDR network, then the earlier file. */
		if ((net && plen <= len) || (best >= 0 && plen <= len))
			continue;
		best = (int)i;
		best_slot = slot;
		best_group = g;
		len = plen;
	}
	if (best >= 0) {
		*out = (struct pol_client){
			.network = p->mmdbs[best].network,
			.group = best_group,
			.prefix_len = len,
			.mmdb = best,
			.mmdb_slot = best_slot,
		};
		return 0;
	}
	if (!net)
		return CORE_ENOTFOUND;
	*out = (struct pol_client){
		.network = net,
		.group = net->grp,
		.prefix_len = len,
		.mmdb = -1,
	};
	return 0;
}

bool pol_policy_has_schedules(const struct pol_policy *p)
{
	return p->has_schedules;
}

const struct pol_clock *pol_policy_clock(const struct pol_policy *p)
{
	return &p->clock;
}

unsigned pol_policy_minute_of_week(const struct pol_policy *p, int64_t utc_seconds)
{
	return pol_clock_minute_of_week(&p->clock, utc_seconds);
}

/* ---- decisions ------------------------------------------------------------------------------ */

/* A built-in table's entry for @name: LOCAL or REWRITE by @stage. */
static bool builtin_match(const struct bl_set *set, const uint8_t *name, size_t len,
			  enum pol_decision_kind kind, enum pol_stage stage,
			  struct pol_verdict *out)
{
	struct bl_match m[4];
	if (!set || bl_set_lookup(set, name, len, m, 4) == 0)
		return false;
	out->d.kind = kind;
	out->d.matched = true;
	out->d.match = m[0];
	out->d.reason = CFG_REASON_POLICY;
	out->set = set;
	out->by = stage;
	return true;
}

/* An allow/deny set's decision for @name; false when it has no entry for it. */
static bool override_match(const struct bl_set *set, const uint8_t *name, size_t len,
			   enum pol_stage allow, enum pol_stage deny, struct pol_verdict *out)
{
	struct pol_decision d;
	if (!set || pol_decide_name(set, name, len, POL_CATEGORIES_ALL, &d) != 0 || !d.matched)
		return false;
	out->d = d;
	out->d.categories = 0;
	out->set = set;
	out->by = d.kind == POL_DECISION_PASS ? allow : deny;
	return true;
}

/*
 * For a name that passes now: when a schedule of @g would block it at another time, the
 * seconds until the schedule next changes, so that no client keeps the answer cached into the
 * window (a pupil's phone resolving a game at 06:59 must not play it until 07:59). Only names
 * some list has (@d->matched) pay for the second lookup.
 */
static uint32_t schedule_ttl_cap(const struct pol_group *g, const struct bl_view *lists,
				 const uint8_t *name, size_t len, unsigned minute_of_week,
				 const struct pol_decision *d, uint32_t enforced)
{
	uint32_t later = g->scheduled & ~enforced;
	if (!g->schedule || !d->matched || !later)
		return 0;
	struct pol_decision then;
	(void)pol_decide_view(lists, name, len, enforced | later, &then);
	if (then.kind == POL_DECISION_PASS || then.reason == CFG_REASON_NATIONAL)
		return 0;
	return pol_schedule_minutes_until_change(g->schedule, minute_of_week) * 60u;
}

/* Stages 3-6 of pol_decide(); @national_only: a previous allow covers the other categories. */
static void decide_lists(const struct pol_policy *p, const struct pol_client *c,
			 const struct bl_view *lists, const uint8_t *name, size_t len,
			 unsigned minute_of_week, bool national_only, bool safe_search,
			 struct pol_verdict *out)
{
	const struct pol_group *g = c->group;
	uint32_t enforced = g->categories;
	if (g->schedule)
		enforced |= pol_schedule_categories(g->schedule, minute_of_week);
	out->enforced = enforced;
	struct pol_decision d;
	(void)pol_decide_view(lists, name, len, national_only ? NATIONAL_BIT : enforced, &d);
	/* The set holding the deciding entry (local data, sources, list names). */
	const struct bl_set *set = d.matched && lists ? bl_view_match_set(lists, &d.match) : NULL;
	if (d.kind != POL_DECISION_PASS && d.reason == CFG_REASON_NATIONAL) {
		out->d = d;
		out->set = set;
		out->by = POL_BY_NATIONAL;
		return;
	}
	if (!national_only &&
	    (override_match(c->network->overrides, name, len, POL_BY_NETWORK_ALLOW,
			    POL_BY_NETWORK_DENY, out) ||
	     override_match(g->overrides, name, len, POL_BY_GROUP_ALLOW, POL_BY_GROUP_DENY, out)))
		return;
	if (d.kind != POL_DECISION_PASS) {
		out->d = d;
		out->set = set;
		out->by = (d.match.categories & g->categories & ~NATIONAL_BIT) ? POL_BY_LIST
									      : POL_BY_SCHEDULE;
		return;
	}
	if (safe_search && builtin_match(g->safe_search, name, len, POL_DECISION_REWRITE,
					 POL_BY_SAFE_SEARCH, out))
		return;
	out->d = d;
	out->set = set;
	out->ttl_cap_s = schedule_ttl_cap(g, lists, name, len, minute_of_week, &d, enforced);
	if (!d.matched || !(d.match.flags & BL_ALLOW))
		out->by = POL_BY_NOTHING;
	else
		out->by = (d.match.categories & NATIONAL_BIT) ? POL_BY_NATIONAL : POL_BY_LIST_ALLOW;
}

int pol_decide(const struct pol_policy *p, const struct pol_client *c, const struct bl_view *lists,
	       const uint8_t *name, size_t name_len, unsigned minute_of_week,
	       struct pol_verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (builtin_match(p->local_zones, name, name_len, POL_DECISION_LOCAL, POL_BY_LOCAL_ZONE,
			  out))
		return 0;
	if (c->group->canaries && builtin_match(p->canaries, name, name_len, POL_DECISION_LOCAL,
						POL_BY_CANARY, out))
		return 0;
	decide_lists(p, c, lists, name, name_len, minute_of_week, false, true, out);
	return 0;
}

int pol_decide_target(const struct pol_policy *p, const struct pol_client *c,
		      const struct bl_view *lists, const struct pol_verdict *query,
		      const uint8_t *name, size_t name_len, unsigned minute_of_week,
		      struct pol_verdict *out)
{
	memset(out, 0, sizeof(*out));
	bool allowed = query->by == POL_BY_NETWORK_ALLOW || query->by == POL_BY_GROUP_ALLOW;
	decide_lists(p, c, lists, name, name_len, minute_of_week, allowed, false, out);
	return 0;
}

/* ---- accessors ------------------------------------------------------------------------------ */

size_t pol_policy_group_count(const struct pol_policy *p)
{
	return p->n_groups;
}

const struct pol_group *pol_policy_group(const struct pol_policy *p, size_t i)
{
	return i < p->n_groups ? &p->groups[i] : NULL;
}

const struct pol_networks *pol_policy_networks(const struct pol_policy *p)
{
	return p->nets;
}

size_t pol_policy_mmdb_count(const struct pol_policy *p)
{
	return p->n_mmdbs;
}

const struct pol_mmdb *pol_policy_mmdb(const struct pol_policy *p, size_t i)
{
	return i < p->n_mmdbs ? p->mmdbs[i].db : NULL;
}

const char *pol_stage_name(enum pol_stage by)
{
	static const char *const names[POL_STAGE_COUNT] = {
		[POL_BY_NOTHING] = "no rule",
		[POL_BY_LOCAL_ZONE] = "local zone",
		[POL_BY_CANARY] = "bypass canary",
		[POL_BY_NATIONAL] = "national list",
		[POL_BY_NETWORK_ALLOW] = "network allow",
		[POL_BY_NETWORK_DENY] = "network deny",
		[POL_BY_GROUP_ALLOW] = "group allow",
		[POL_BY_GROUP_DENY] = "group deny",
		[POL_BY_LIST] = "list",
		[POL_BY_SCHEDULE] = "schedule",
		[POL_BY_LIST_ALLOW] = "list allow entry",
		[POL_BY_SAFE_SEARCH] = "safe search",
	};
	return (unsigned)by < POL_STAGE_COUNT ? names[by] : "?";
}
