/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `explain CLIENT DOMAIN` (see policy.h): the same lookups and the same decision as a query,
 * written out for the person who has to answer "why is this site blocked for my class?".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/dname.h"
#include "policy/policy.h"

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* @name as people write it: without the root's trailing dot. */
static void display_name(const uint8_t *name, size_t len, char *out, size_t size)
{
	size_t n = core_dname_to_text(name, len, out, size);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static void put_categories(struct core_buf *out, const struct cfg_root *cfg, uint32_t mask)
{
	bool first = true;
	if (mask == POL_CATEGORIES_ALL) {
		(void)core_buf_printf(out, "every category");
		return;
	}
	for (unsigned bit = 0; bit < CFG_MAX_CATEGORIES; bit++) {
		if (!(mask & (1u << bit)))
			continue;
		const char *name = cfg_category_name(cfg, bit);
		if (name)
			(void)core_buf_printf(out, "%s%s", first ? "" : ", ", name);
		else
			(void)core_buf_printf(out, "%scategory %u", first ? "" : ", ", bit);
		first = false;
	}
	if (first)
		(void)core_buf_printf(out, "none");
}

static void put_days(struct core_buf *out, uint8_t days)
{
	if ((days & 0x7f) == 0x7f) {
		(void)core_buf_printf(out, "every day");
		return;
	}
	bool first = true;
	for (unsigned d = 0; d < 7; d++) {
		if (days & (1u << d)) {
			(void)core_buf_printf(out, "%s%s", first ? "" : ",", day_names[d]);
			first = false;
		}
	}
}

static void put_minutes(struct core_buf *out, unsigned m)
{
	(void)core_buf_printf(out, "%02u:%02u", m / 60, m % 60);
}

static void explain_network(const struct pol_policy *p, const struct cfg_root *cfg,
			    const struct pol_client *c, struct core_buf *out)
{
	const struct pol_network *net = c->network;
	if (c->mmdb >= 0) {
		const struct pol_mmdb *db = pol_policy_mmdb(p, (size_t)c->mmdb);
		struct pol_mmdb_result r;
		if (pol_mmdb_slot_fields(db, c->mmdb_slot, &r) != 0)
			memset(&r, 0, sizeof(r));
		(void)core_buf_printf(out, "network: id %s%s%s (subscriber database %s, %s line %u, range /%u)\n",
				      r.network_id, r.province[0] ? ", province " : "", r.province,
				      pol_mmdb_path(db), cfg->path, net->line, c->prefix_len);
		if (strcmp(r.group, c->group->name) != 0)
			(void)core_buf_printf(out, "note: the record's group '%s' is not defined: the entry's group applies\n",
					      r.group);
		return;
	}
	if (net->line)
		(void)core_buf_printf(out, "network: %s (id %s, %s line %u, matched /%u)\n",
				      net->name, net->id, cfg->path, net->line, c->prefix_len);
	else
		(void)core_buf_printf(out, "network: %s (built in: this machine)\n", net->name);
}

static void explain_group(const struct pol_policy *p, const struct cfg_root *cfg,
			  const struct pol_group *g, unsigned mow, int64_t utc,
			  struct core_buf *out)
{
	if (g->line)
		(void)core_buf_printf(out, "group: %s (preset %s, %s line %u)\n", g->name,
				      g->preset ? cfg_preset_name(g->preset) : "none", cfg->path,
				      g->line);
	else if (g->preset)
		(void)core_buf_printf(out, "group: %s (the preset's defaults)\n", g->name);
	else
		(void)core_buf_printf(out, "group: none (every category of every list applies)\n");
	(void)core_buf_printf(out, "blocked always: ");
	put_categories(out, cfg, g->categories);
	(void)core_buf_add(out, "\n", 1);
	const struct pol_clock *clock = pol_policy_clock(p);
	int64_t local = utc + pol_clock_utc_offset(clock, utc);
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	unsigned sec = (unsigned)(local - days * 86400);
	(void)core_buf_printf(out, "local time: %s %02u:%02u (%s)\n", day_names[mow / 1440],
			      sec / 3600, sec / 60 % 60, clock->zone);
	size_t n = pol_schedule_rule_count(g->schedule);
	if (n == 0) {
		(void)core_buf_printf(out, "schedules: none\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			const struct pol_schedule_rule *r = pol_schedule_rule(g->schedule, i);
			bool on = pol_schedule_rule_is_active(r, mow);
			(void)core_buf_printf(out, "schedule %zu: %s: block ", i + 1,
					      on ? "IN FORCE" : "not now");
			put_categories(out, cfg, r->categories);
			(void)core_buf_printf(out, ", ");
			put_days(out, r->days);
			(void)core_buf_printf(out, " ");
			put_minutes(out, r->from_min);
			(void)core_buf_printf(out, "-");
			put_minutes(out, r->to_min);
			(void)core_buf_add(out, "\n", 1);
		}
		unsigned left = pol_schedule_minutes_until_change(g->schedule, mow);
		if (left < POL_MINUTES_PER_WEEK)
			(void)core_buf_printf(out, "next schedule change: in %u min\n", left);
	}
	(void)core_buf_printf(out, "safe search: %s\n",
			      g->safe_search_level == CFG_SAFE_SEARCH_STRICT	 ? "strict"
			      : g->safe_search_level == CFG_SAFE_SEARCH_MODERATE ? "moderate"
										 : "off");
}

/* The entry that decided, where it was written. */
static void explain_entry(const struct cfg_root *cfg, const struct pol_verdict *v,
			  const char *name_text, struct core_buf *out)
{
	struct bl_source src;
	char entry[CORE_DNAME_TEXT_MAX] = "?";
	uint32_t line = 0;
	const struct bl_match *m = &v->d.match;
	if (bl_set_entry_source(v->set, m->entry, &src) == 0) {
		display_name(src.name, src.name_len, entry, sizeof(entry));
		line = src.line;
	}
	const char *list = bl_set_list_name(v->set, m->list_id);
	switch (v->by) {
	case POL_BY_NETWORK_ALLOW:
	case POL_BY_NETWORK_DENY:
	case POL_BY_GROUP_ALLOW:
	case POL_BY_GROUP_DENY:
		(void)core_buf_printf(out, "entry: %s in the %s list of %s, %s line %u\n", entry,
				      (m->flags & BL_ALLOW) ? "allow" : "deny",
				      list ? list : "?", cfg->path, line);
		break;
	case POL_BY_LOCAL_ZONE:
	case POL_BY_CANARY:
	case POL_BY_SAFE_SEARCH:
		(void)core_buf_printf(out, "entry: %s (built-in table '%s')\n", entry,
				      list ? list : "?");
		break;
	default: {
		const char *file = NULL;
		const struct cfg_list *synced = NULL;
		for (size_t i = 0; i < cfg->n_lists; i++) {
			if (list && strcmp(cfg->lists[i].name, list) == 0) {
				file = cfg->lists[i].file;
				if (cfg->lists[i].primary)
					synced = &cfg->lists[i];
			}
		}
		(void)core_buf_printf(out, "entry: %s%s%s in list '%s' (category ",
				      (m->flags & BL_MATCH_BELOW) && !(m->flags & BL_MATCH_SELF) ? "*." : "",
				      entry, (m->flags & BL_ALLOW) ? " (allow)" : "",
				      list ? list : "?");
		put_categories(out, cfg, m->categories);
		if (file)
			(void)core_buf_printf(out, "), %s:%u\n", file, line);
		else if (synced)
			(void)core_buf_printf(out, "), zone %s from %s\n", synced->zone,
					      synced->primary->text);
		else
			(void)core_buf_printf(out, "), built in\n");
	}
	}
	if (m->labels_below)
		(void)core_buf_printf(out, "match: %s is %u label%s below the entry\n", name_text,
				      m->labels_below, m->labels_below == 1 ? "" : "s");
}

static const char *block_answer(const struct cfg_root *cfg, const struct pol_decision *d)
{
	switch (d->match.action) {
	case BL_ACTION_NXDOMAIN:
		return "NXDOMAIN";
	case BL_ACTION_NODATA:
		return "NODATA";
	case BL_ACTION_LOCAL_DATA:
		return "RPZ local data";
	default:
		break;
	}
	switch (cfg->sinkhole.answer) {
	case CFG_ANSWER_NXDOMAIN:
		return "NXDOMAIN";
	case CFG_ANSWER_NODATA:
		return "NODATA";
	case CFG_ANSWER_REFUSED:
		return "REFUSED";
	default:
		return "sinkhole address";
	}
}

void pol_explain(const struct pol_policy *p, const struct cfg_root *cfg,
		 const struct bl_view *lists, const struct sockaddr *client, const uint8_t *name,
		 size_t name_len, int64_t utc_seconds, struct core_buf *out)
{
	struct pol_client c;
	if (pol_client_lookup(p, client, &c) != 0) {
		(void)core_buf_printf(out, "network: none: the client is in no configured network\n"
					   "decision: REFUSED (EDE 18 Prohibited) for every name\n");
		return;
	}
	unsigned mow = pol_policy_minute_of_week(p, utc_seconds);
	explain_network(p, cfg, &c, out);
	explain_group(p, cfg, c.group, mow, utc_seconds, out);
	char text[CORE_DNAME_TEXT_MAX];
	display_name(name, name_len, text, sizeof(text));
	(void)core_buf_printf(out, "name: %s\n", text);
	struct pol_verdict v;
	(void)pol_decide(p, &c, lists, name, name_len, mow, &v);
	if (v.d.matched && v.set)
		explain_entry(cfg, &v, text, out);
	const struct pol_decision *d = &v.d;
	switch (d->kind) {
	case POL_DECISION_PASS:
		(void)core_buf_printf(out, "decision: PASS (%s)\n",
				      v.by == POL_BY_NOTHING && d->matched
					      ? "the list's category is not blocked for this group now"
				      : v.by == POL_BY_NOTHING ? "no list has this name"
							       : pol_stage_name(v.by));
		break;
	case POL_DECISION_DROP:
		(void)core_buf_printf(out, "decision: DROP (no answer) by %s, reason %s\n",
				      pol_stage_name(v.by),
				      d->reason == CFG_REASON_NATIONAL ? "national list" : "policy");
		break;
	case POL_DECISION_REWRITE:
		(void)core_buf_printf(out, "decision: REWRITE by safe search (CNAME to the engine's safe host, then its addresses)\n");
		break;
	case POL_DECISION_LOCAL:
		(void)core_buf_printf(out, "decision: answered here (%s) by %s: %s\n",
				      d->match.action == BL_ACTION_NXDOMAIN     ? "NXDOMAIN"
				      : d->match.action == BL_ACTION_LOCAL_DATA ? "local data"
										: "NODATA",
				      pol_stage_name(v.by),
				      v.by == POL_BY_CANARY
					      ? "browsers and phones keep using this resolver"
					      : "never forwarded");
		break;
	default:
		(void)core_buf_printf(out, "decision: BLOCK by %s, reason %s (EDE %s), answer %s\n",
				      pol_stage_name(v.by),
				      d->reason == CFG_REASON_NATIONAL ? "national list" : "age policy",
				      d->reason == CFG_REASON_NATIONAL ? "16 Censored" : "15 Blocked",
				      block_answer(cfg, d));
		break;
	}
	if (d->kind == POL_DECISION_BLOCK && v.by == POL_BY_NATIONAL)
		(void)core_buf_printf(out, "note: the national list is mandatory; no allow entry of a group or network can pass it\n");
}
