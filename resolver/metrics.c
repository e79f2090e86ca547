/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's /metrics: the render callback and the listener's life (see metrics.h). */
#include "resolver/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "compliance/metrics.h"
#include "config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "policy/builtin.h"
#include "resolver/cache.h"
#include "resolver/forward.h"
#include "resolver/lists.h"
#include "resolver/server.h"
#include "resolver/stats.h"
#include "resolver/sync.h"
#include "version.h"

/** What the render needs of one synced list (a copy: sync.c is control-thread only). */
struct synced {
	char name[64]; /**< list names are at most 63 bytes (config/lists.c) */
	bool have;     /**< a version is in force */
	bool is_url;
	bool alert;
	uint32_t serial;
	int64_t applied; /**< wall clock seconds, 0 when not known */
};

struct rsv_metrics_state {
	struct rsv_server *s;
	pthread_mutex_t lock;  /**< guards everything below; taken after outside_lock */
	struct synced *synced; /**< owned, @n_synced used of @cap */
	size_t n_synced, cap;
	uint64_t udp_shown; /**< last UDP query count shown (kept from going down) */
};

/* ---- writing families, with the first error kept -------------------------------------------- */

struct out {
	struct core_buf *b;
	int err; /**< first failed write; nothing is written after it */
};

static void family(struct out *o, const char *name, enum cmpl_metric_type type, const char *help)
{
	if (!o->err)
		o->err = cmpl_metrics_family(o->b, name, type, help);
}

static void sample(struct out *o, const char *name, const struct cmpl_metric_label *labels,
		   size_t n_labels, uint64_t v)
{
	if (!o->err)
		o->err = cmpl_metrics_sample_u64(o->b, name, labels, n_labels, v);
}

static void sample_f(struct out *o, const char *name, const struct cmpl_metric_label *labels,
		     size_t n_labels, double v)
{
	if (!o->err)
		o->err = cmpl_metrics_sample(o->b, name, labels, n_labels, v);
}

/* A sample with one label. */
static void sample1(struct out *o, const char *name, const char *label, const char *value,
		    uint64_t v)
{
	struct cmpl_metric_label l = {label, value};
	sample(o, name, &l, 1, v);
}

static void sample1_f(struct out *o, const char *name, const char *label, const char *value,
		      double v)
{
	struct cmpl_metric_label l = {label, value};
	sample_f(o, name, &l, 1, v);
}

/* A family of one unlabelled sample. */
static void single(struct out *o, const char *name, enum cmpl_metric_type type, const char *help,
		   uint64_t v)
{
	family(o, name, type, help);
	sample(o, name, NULL, 0, v);
}

/* ---- the families --------------------------------------------------------------------------- */

static void render_process(struct out *o, const struct rsv_server *s)
{
	struct cmpl_metric_label build[] = {{"version", PACKAGE_VERSION},
					    {"revision", LM_VCS_VERSION}};

	family(o, "lanhmanh_build_info", CMPL_METRIC_GAUGE,
	       "Always 1; the labels say which lanhmanhd runs.");
	sample(o, "lanhmanh_build_info", build, 2, 1);
	single(o, "lanhmanh_start_time_seconds", CMPL_METRIC_GAUGE,
	       "When lanhmanhd started, in seconds since the Unix epoch.",
	       (uint64_t)(s->started_wall > 0 ? s->started_wall : 0));
	single(o, "lanhmanh_workers", CMPL_METRIC_GAUGE, "Worker threads answering queries.",
	       s->n_workers);
	single(o, "lanhmanh_tcp_connections", CMPL_METRIC_GAUGE, "Client TCP connections open.",
	       atomic_load(&s->tcp_conns));
	single(o, "lanhmanh_memory_allocated_bytes", CMPL_METRIC_GAUGE,
	       "Heap memory allocated by lanhmanhd's own allocator.", core_alloc_live_bytes());
}

static void render_queries(struct out *o, struct rsv_metrics_state *st, const uint64_t *c)
{
	/* Two relaxed counters read one after the other: keep UDP = all - TCP from going down. */
	uint64_t tcp = c[CMPL_QUERIES_TCP];
	uint64_t udp = c[CMPL_QUERIES] > tcp ? c[CMPL_QUERIES] - tcp : 0;
	pthread_mutex_lock(&st->lock);
	if (udp < st->udp_shown)
		udp = st->udp_shown;
	st->udp_shown = udp;
	pthread_mutex_unlock(&st->lock);

	family(o, "lanhmanh_queries_total", CMPL_METRIC_COUNTER,
	       "Client queries received (parsed as DNS queries), by transport.");
	sample1(o, "lanhmanh_queries_total", "protocol", "udp", udp);
	sample1(o, "lanhmanh_queries_total", "protocol", "tcp", tcp);

	static const struct {
		const char *outcome;
		enum cmpl_counter k;
	} outcomes[] = {
		/* clang-format off */
		{"cache_hit", CMPL_CACHE_HITS},
		{"cache_stale", CMPL_CACHE_STALE},
		{"forwarded", CMPL_CACHE_MISSES},
		{"blocked", CMPL_BLOCKED},
		{"rewritten", CMPL_REWRITTEN},
		{"answered_locally", CMPL_ANSWERED_LOCALLY},
		{"refused", CMPL_REFUSED},
		{"formerr", CMPL_FORMERR},
		{"servfail", CMPL_SERVFAIL},
		{"truncated", CMPL_TRUNCATED},
		{"dropped", CMPL_DROPPED},
		/* clang-format on */
	};
	family(o, "lanhmanh_answers_total", CMPL_METRIC_COUNTER,
	       "What happened to queries, by outcome. Outcomes overlap: see compliance/README.md.");
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		sample1(o, "lanhmanh_answers_total", "outcome", outcomes[i].outcome,
			c[outcomes[i].k]);
	single(o, "lanhmanh_audit_would_block_total", CMPL_METRIC_COUNTER,
	       "Queries that passed but that a synced list's waiting version would block.",
	       c[CMPL_AUDIT_WOULD_BLOCK]);
}

/* Blocked answers by category: the names of the lists in force (outside_lock held). */
static void render_blocked(struct out *o, const struct rsv_server *s, const struct rsv_lists *ls)
{
	uint64_t by_cat[CFG_MAX_CATEGORIES + 1] = {0};
	char unnamed[32];

	for (unsigned w = 0; w < s->n_workers; w++) {
		for (unsigned k = 0; k <= CFG_MAX_CATEGORIES; k++)
			by_cat[k] += atomic_load_explicit(&s->counters[w].blocked_by_category[k],
							  memory_order_relaxed);
	}
	family(o, "lanhmanh_blocked_total", CMPL_METRIC_COUNTER,
	       "Blocked answers by the category of the entry that blocked; deny_override: a deny list entry.");
	for (unsigned k = 0; k < CFG_MAX_CATEGORIES; k++) {
		const char *name = ls->categories[k];
		if (!name) {
			/* A category a reload removed: keep its count visible. */
			if (!by_cat[k])
				continue;
			snprintf(unnamed, sizeof(unnamed), "category_%u", k);
			name = unnamed;
		}
		sample1(o, "lanhmanh_blocked_total", "category", name, by_cat[k]);
	}
	sample1(o, "lanhmanh_blocked_total", "category", "deny_override",
		by_cat[CMPL_CATEGORY_NONE]);
}

static void render_cache(struct out *o, struct rsv_cache *cache)
{
	struct rsv_cache_stats cs;

	rsv_cache_get_stats(cache, &cs);
	single(o, "lanhmanh_cache_entries", CMPL_METRIC_GAUGE, "Answers held in the cache.",
	       cs.entries);
	single(o, "lanhmanh_cache_bytes", CMPL_METRIC_GAUGE,
	       "Bytes the cache holds, entry headers included.", cs.bytes);
	single(o, "lanhmanh_cache_capacity_bytes", CMPL_METRIC_GAUGE,
	       "The cache's bound (server.cache_size).", cs.max_bytes);
	single(o, "lanhmanh_cache_hits_total", CMPL_METRIC_COUNTER,
	       "Cache lookups that found a fresh entry.", cs.hits);
	single(o, "lanhmanh_cache_stale_hits_total", CMPL_METRIC_COUNTER,
	       "Cache lookups that found an expired entry usable for serve-stale.", cs.stale_hits);
	single(o, "lanhmanh_cache_misses_total", CMPL_METRIC_COUNTER,
	       "Cache lookups that found nothing usable.", cs.misses);
	single(o, "lanhmanh_cache_inserts_total", CMPL_METRIC_COUNTER,
	       "Answers stored in the cache.", cs.inserts);
	single(o, "lanhmanh_cache_evictions_total", CMPL_METRIC_COUNTER,
	       "Entries removed to make room (least recently used first).", cs.evictions);
}

/* The configuration in force (outside_lock held). */
static void render_config(struct out *o, const struct rsv_server *s, const struct rsv_ruleset *rs)
{
	single(o, "lanhmanh_config_generation", CMPL_METRIC_GAUGE,
	       "Configuration in force: 1 for the one loaded at start, +1 per successful reload.",
	       rs->generation);
	single(o, "lanhmanh_config_loaded_timestamp_seconds", CMPL_METRIC_GAUGE,
	       "When the configuration in force was loaded, in seconds since the Unix epoch.",
	       (uint64_t)(rs->loaded_at > 0 ? rs->loaded_at : 0));
	family(o, "lanhmanh_config_reloads_total", CMPL_METRIC_COUNTER,
	       "Reloads (SIGHUP, lanhmanh reload) since start, by result; a failed one leaves the previous configuration in force.");
	sample1(o, "lanhmanh_config_reloads_total", "result", "ok",
		rs->generation > 0 ? rs->generation - 1 : 0);
	sample1(o, "lanhmanh_config_reloads_total", "result", "failed",
		atomic_load(&s->reload_failures));
}

/* The forwarders of the configuration in force, each once (outside_lock held). */
static void render_upstreams(struct out *o, const struct rsv_server *s,
			     const struct rsv_ruleset *rs)
{
	static const struct {
		const char *name;
		enum cmpl_metric_type type;
		const char *help;
	} fams[] = {
		{"lanhmanh_upstream_queries_total", CMPL_METRIC_COUNTER,
		 "Queries sent to the forwarder (each try counts)."},
		{"lanhmanh_upstream_answers_total", CMPL_METRIC_COUNTER,
		 "Answers received from the forwarder."},
		{"lanhmanh_upstream_timeouts_total", CMPL_METRIC_COUNTER,
		 "Tries that got no answer in time."},
		{"lanhmanh_upstream_errors_total", CMPL_METRIC_COUNTER,
		 "Tries that failed otherwise (unreachable, bad answer)."},
		{"lanhmanh_upstream_srtt_seconds", CMPL_METRIC_GAUGE,
		 "Smoothed round-trip time of the forwarder; 0 until measured."},
		{"lanhmanh_upstream_up", CMPL_METRIC_GAUGE,
		 "1 when the forwarder is used, 0 while it is held down after failures."},
		{"lanhmanh_upstream_consecutive_failures", CMPL_METRIC_GAUGE,
		 "Tries failed in a row (3 hold the forwarder down)."},
	};
	uint64_t now = core_clock_mono_ms();

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(o, fams[f].name, fams[f].type, fams[f].help);
		for (unsigned i = 0; i < rs->n_forwarders; i++) {
			bool dup = false;
			for (unsigned j = 0; j < i && !dup; j++)
				dup = rs->forwarders[j] == rs->forwarders[i];
			if (dup)
				continue;
			const struct rsv_upstream *u = &s->upstreams[rs->forwarders[i]];
			const char *a = u->addr.text;
			switch (f) {
			case 0:
				sample1(o, fams[f].name, "upstream", a, atomic_load(&u->sent));
				break;
			case 1:
				sample1(o, fams[f].name, "upstream", a, atomic_load(&u->answered));
				break;
			case 2:
				sample1(o, fams[f].name, "upstream", a, atomic_load(&u->timeouts));
				break;
			case 3:
				sample1(o, fams[f].name, "upstream", a, atomic_load(&u->errors));
				break;
			case 4:
				sample1_f(o, fams[f].name, "upstream", a,
					  atomic_load(&u->srtt_us) / 1e6);
				break;
			case 5:
				/* As `lanhmanh status` says it: up, and not waiting for a probe. */
				sample1(o, fams[f].name, "upstream", a,
					rsv_upstream_is_up(u, now) &&
						atomic_load(&u->dead_until_ms) == 0);
				break;
			default:
				sample1(o, fams[f].name, "upstream", a, atomic_load(&u->fails));
				break;
			}
		}
	}
}

static const char *source_label(enum rsv_list_source src, const struct synced *sy)
{
	switch (src) {
	case RSV_LIST_FROM_FILE:
		return "file";
	case RSV_LIST_FROM_LAST_GOOD:
		return "last_good";
	case RSV_LIST_FROM_SNAPSHOT:
		return "snapshot";
	case RSV_LIST_FROM_PRIMARY:
		return sy && sy->is_url ? "https" : "transfer";
	default:
		return "missing";
	}
}

static const struct synced *find_synced(const struct rsv_metrics_state *st, const char *name)
{
	for (size_t i = 0; i < st->n_synced; i++) {
		if (strcmp(st->synced[i].name, name) == 0)
			return &st->synced[i];
	}
	return NULL;
}

/* When the version in force of a list was applied: the synced list's version (@sy), otherwise
 * the compile of the lists in force. 0 when not known. */
static int64_t applied_at(const struct rsv_lists *ls, const struct synced *sy)
{
	if (sy)
		return sy->have ? sy->applied : 0;
	return ls->built_at;
}

/* Every list in force (outside_lock held; takes st->lock for the synced lists' copy). */
static void render_lists(struct out *o, struct rsv_metrics_state *st, const struct rsv_lists *ls)
{
	int64_t now = core_clock_wall_s();
	size_t n_builtin = 0;
	char serial[16];

	(void)pol_builtin_bypass_names(&n_builtin);
	single(o, "lanhmanh_blocklist_names", CMPL_METRIC_GAUGE,
	       "Names the lookups see in all lists together (synced lists included).",
	       ls->view ? bl_view_count(ls->view) : 0);

	family(o, "lanhmanh_list_entries", CMPL_METRIC_GAUGE,
	       "Entries of each list in force (before duplicates across lists are merged).");
	for (size_t i = 0; i < ls->n_status; i++)
		sample1(o, "lanhmanh_list_entries", "list", ls->status[i].name,
			ls->status[i].entries);
	sample1(o, "lanhmanh_list_entries", "list", RSV_BUILTIN_BYPASS_LIST, n_builtin);

	family(o, "lanhmanh_list_bad_lines", CMPL_METRIC_GAUGE,
	       "Lines of the list's file that were not understood and were skipped.");
	for (size_t i = 0; i < ls->n_status; i++)
		sample1(o, "lanhmanh_list_bad_lines", "list", ls->status[i].name,
			ls->status[i].bad);

	pthread_mutex_lock(&st->lock);
	family(o, "lanhmanh_list_info", CMPL_METRIC_GAUGE,
	       "Always 1: each list in force, its category, version (synced lists: the serial) and where it came from.");
	for (size_t i = 0; i < ls->n_status; i++) {
		const struct rsv_list_status *ls_i = &ls->status[i];
		const struct synced *sy = find_synced(st, ls_i->name);
		serial[0] = '\0';
		if (sy && sy->have)
			snprintf(serial, sizeof(serial), "%" PRIu32, sy->serial);
		struct cmpl_metric_label l[] = {{"list", ls_i->name},
						{"category", ls_i->category},
						{"version", serial},
						{"source", source_label(ls_i->source, sy)}};
		sample(o, "lanhmanh_list_info", l, 4, 1);
	}
	{
		struct cmpl_metric_label l[] = {{"list", RSV_BUILTIN_BYPASS_LIST},
						{"category", "proxy_vpn_doh"},
						{"version", PACKAGE_VERSION},
						{"source", "builtin"}};
		sample(o, "lanhmanh_list_info", l, 4, 1);
	}

	family(o, "lanhmanh_list_applied_timestamp_seconds", CMPL_METRIC_GAUGE,
	       "When the list's version in force was applied (list files: when the lists were last compiled), in seconds since the Unix epoch.");
	for (size_t i = 0; i < ls->n_status; i++) {
		int64_t t = applied_at(ls, find_synced(st, ls->status[i].name));
		if (t > 0)
			sample1(o, "lanhmanh_list_applied_timestamp_seconds", "list",
				ls->status[i].name, (uint64_t)t);
	}
	family(o, "lanhmanh_list_age_seconds", CMPL_METRIC_GAUGE,
	       "Seconds since the list's version in force was applied.");
	for (size_t i = 0; i < ls->n_status; i++) {
		int64_t t = applied_at(ls, find_synced(st, ls->status[i].name));
		if (t > 0)
			sample1(o, "lanhmanh_list_age_seconds", "list", ls->status[i].name,
				(uint64_t)(now > t ? now - t : 0));
	}

	family(o, "lanhmanh_list_serial", CMPL_METRIC_GAUGE,
	       "Serial of a synced list's version in force (HTTPS lists: versions applied).");
	for (size_t i = 0; i < ls->n_status; i++) {
		const struct synced *sy = find_synced(st, ls->status[i].name);
		if (sy && sy->have)
			sample1(o, "lanhmanh_list_serial", "list", ls->status[i].name, sy->serial);
	}
	family(o, "lanhmanh_list_sync_alert", CMPL_METRIC_GAUGE,
	       "1 when a synced list raises an alert (lanhmanh status): no version yet, an update held back, or the primary unreachable past the zone's expire time.");
	for (size_t i = 0; i < ls->n_status; i++) {
		const struct synced *sy = find_synced(st, ls->status[i].name);
		if (sy)
			sample1(o, "lanhmanh_list_sync_alert", "list", ls->status[i].name,
				sy->alert);
	}
	pthread_mutex_unlock(&st->lock);
}

/* The render callback: libmicrohttpd's thread, one call at a time. */
static int render(void *arg, struct core_buf *buf)
{
	struct rsv_metrics_state *st = arg;
	struct rsv_server *s = st->s;
	struct out o = {.b = buf, .err = 0};
	uint64_t c[CMPL_COUNTER_COUNT];

	cmpl_counters_sum(s->counters, s->n_workers, c);
	render_process(&o, s);
	render_queries(&o, st, c);
	render_cache(&o, s->cache);
	pthread_mutex_lock(&s->outside_lock);
	render_config(&o, s, s->ruleset);
	render_upstreams(&o, s, s->ruleset);
	render_blocked(&o, s, s->lists);
	render_lists(&o, st, s->lists);
	pthread_mutex_unlock(&s->outside_lock);
	if (o.err == 0)
		rsv_metrics_render_export(s, buf);
	return o.err;
}

/* ---- the listener's life (control thread) --------------------------------------------------- */

void rsv_metrics_update(struct rsv_server *s)
{
	struct rsv_metrics_state *st = s->metrics_state;
	size_t n = rsv_sync_count(s->sync);

	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	if (n > st->cap) {
		struct synced *v = core_realloc(st->synced, n * sizeof(*v));
		if (!v) {
			/* The previous copy stays; the next tick tries again. */
			pthread_mutex_unlock(&st->lock);
			return;
		}
		st->synced = v;
		st->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct rsv_sync_version v;
		struct synced *sy = &st->synced[i];
		rsv_sync_version(s->sync, i, &v);
		snprintf(sy->name, sizeof(sy->name), "%s", v.name ? v.name : "");
		sy->have = v.have;
		sy->is_url = v.is_url;
		sy->alert = v.alert;
		sy->serial = v.serial;
		sy->applied = v.applied;
	}
	st->n_synced = n;
	pthread_mutex_unlock(&st->lock);
}

static void state_free(struct rsv_server *s)
{
	struct rsv_metrics_state *st = s->metrics_state;

	if (!st)
		return;
	pthread_mutex_destroy(&st->lock);
	core_free(st->synced);
	s->metrics_state = core_free(st);
}

static const char *bind_hint(int r)
{
	switch (r) {
	case -EADDRINUSE:
		return " (another program listens there)";
	case -EADDRNOTAVAIL:
		return " (the address is not configured on this host)";
	case -EACCES:
		return " (ports below 1024 need CAP_NET_BIND_SERVICE)";
	default:
		return "";
	}
}

void rsv_metrics_stop(struct rsv_server *s)
{
	cmpl_metrics_stop(s->metrics);
	s->metrics = NULL;
	state_free(s);
}

int rsv_metrics_apply_cfg(struct rsv_server *s, const struct cfg_root *cfg, struct core_buf *report)
{
	const struct cfg_addr *want = cfg->compliance.metrics;
	struct cfg_addr old;
	bool had_old = s->metrics != NULL;
	int r;

	if (had_old && want && cfg_addr_equal(cmpl_metrics_addr(s->metrics), want))
		return 0;
	if (had_old) {
		old = *cmpl_metrics_addr(s->metrics);
		/* Stopped first: the new address may be the same port on another address. */
		cmpl_metrics_stop(s->metrics);
		s->metrics = NULL;
		if (!want) {
			state_free(s);
			core_log_notice("rsv",
					"metrics on '%s' stopped (compliance.metrics removed)",
					old.text);
			return 0;
		}
	}
	if (!want)
		return 0;
	if (!s->metrics_state) {
		struct rsv_metrics_state *st = core_calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
		st->s = s;
		pthread_mutex_init(&st->lock, NULL);
		s->metrics_state = st;
	}
	rsv_metrics_update(s);
	r = cmpl_metrics_start(want, render, s->metrics_state, &s->metrics);
	if (r == 0) {
		core_log_info("rsv", "serving Prometheus metrics on 'http://%s%s'", want->text,
			      CMPL_METRICS_PATH);
		return 0;
	}
	core_log_err("rsv", "cannot serve the metrics on '%s' (compliance.metrics): %s%s",
		     want->text, core_strerror(r), bind_hint(r));
	if (report)
		(void)core_buf_printf(report, "cannot serve the metrics on '%s': %s%s\n",
				      want->text, core_strerror(r), bind_hint(r));
	if (had_old && cmpl_metrics_start(&old, render, s->metrics_state, &s->metrics) == 0) {
		core_log_warn("rsv",
			      "metrics still served on '%s'; fix compliance.metrics and reload",
			      old.text);
		if (report)
			(void)core_buf_printf(report, "metrics still served on '%s'\n", old.text);
	}
	if (!s->metrics)
		state_free(s);
	return r;
}

/* ---- the statistics export (resolver/stats.h) ---------------------------------------------- */

void rsv_metrics_render_export(const struct rsv_server *s, struct core_buf *out)
{
	struct rsv_stats_export e;
	rsv_stats_export_state(s->stats, &e);
	if (!e.enabled)
		return;
	static const struct {
		const char *name, *help;
		enum cmpl_metric_type type;
		size_t offset;
	} rows[] = {
		{"lanhmanh_spool_batches", "Batches waiting in the spool for the authority.",
		 CMPL_METRIC_GAUGE, offsetof(struct rsv_stats_export, batches)},
		{"lanhmanh_spool_bytes", "Bytes of the batches waiting in the spool.",
		 CMPL_METRIC_GAUGE, offsetof(struct rsv_stats_export, bytes)},
		{"lanhmanh_spool_limit_bytes", "compliance.authority.spool_limit.", CMPL_METRIC_GAUGE,
		 offsetof(struct rsv_stats_export, limit)},
		{"lanhmanh_spool_waiting_intervals",
		 "Intervals kept in the store because the spool is full.", CMPL_METRIC_GAUGE,
		 offsetof(struct rsv_stats_export, waiting)},
		{"lanhmanh_stats_uncounted_total",
		 "Events the statistics tables had no room for (should stay 0).", CMPL_METRIC_COUNTER,
		 offsetof(struct rsv_stats_export, lost)},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&e + rows[i].offset, sizeof(v));
		if (cmpl_metrics_family(out, rows[i].name, rows[i].type, rows[i].help) != 0 ||
		    cmpl_metrics_sample_u64(out, rows[i].name, NULL, 0, v) != 0)
			return;
	}
	if (cmpl_metrics_family(out, "lanhmanh_export_last_success_timestamp_seconds",
				CMPL_METRIC_GAUGE,
				"When the authority last accepted a batch (0: not yet).") == 0 &&
	    cmpl_metrics_sample_u64(out, "lanhmanh_export_last_success_timestamp_seconds", NULL, 0,
				    (uint64_t)e.last_success) != 0)
		return; /* the scrape's buffer is full: the caller's check sees it */
}
