/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control thread: starts the workers, publishes rulesets (at start and on reload), serves
 * the control socket, handles signals and keeps the numbers `lanhmanh status` shows.
 */
#include "resolver/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "compliance/dnstap.h"
#include "config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "policy/builtin.h"
#include "resolver/blockpage.h"
#include "resolver/cache.h"
#include "resolver/control.h"
#include "resolver/stats.h"
#include "resolver/synth.h"
#include "resolver/sync.h"
#include "resolver/forward.h"
#include "resolver/iter.h"
#include "resolver/validate.h"
#include "resolver/lists.h"
#include "resolver/metrics.h"
#include "resolver/wire.h"
#include "resolver/worker.h"
#include "version.h"

#define CACHE_SHARDS 64
#define QPS_WINDOW 10 /* seconds */

struct control {
	struct rsv_server *s;
	uv_loop_t loop;
	uv_pipe_t listener;
	bool listening;
	char *socket_path; /**< where the control socket was bound (a reload does not move it) */
	uv_signal_t sighup, sigterm, sigint;
	uv_timer_t tick;
	uint64_t qps_samples[QPS_WINDOW + 1]; /**< total queries, one per second, ring */
	unsigned qps_next, qps_filled;
	bool stopping;
};

struct control_conn {
	uv_pipe_t pipe;
	struct control *ctl;
	char line[RSV_CONTROL_MAX_LINE];
	size_t len;
	uv_write_t write;
	struct core_buf reply;
	bool replied;
};

/* ---- sd_notify -------------------------------------------------------------------------- */

void rsv_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	socklen_t slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, slen) < 0)
		core_log_debug("rsv", "sd_notify: %s", strerror(errno));
	close(fd);
}

/* ---- rulesets --------------------------------------------------------------------------- */

static struct rsv_ruleset *ruleset_free(struct rsv_ruleset *rs)
{
	if (!rs)
		return NULL;
	pol_policy_free(rs->policy);
	core_free(rs->notify);
	rsv_roots_free(rs->roots);
	ldns_rr_list_deep_free(rs->anchor);
	cfg_free(rs->cfg);
	return core_free(rs);
}

void rsv_ruleset_unref(struct rsv_ruleset *rs)
{
	if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
		ruleset_free(rs);
}

/* Build the ruleset of @cfg (taking ownership of it on success). What went wrong goes to the
 * log and to @out (may be NULL). */
static int ruleset_build(struct rsv_server *s, struct cfg_root *cfg, uint64_t generation,
			 struct core_buf *out, struct rsv_ruleset **out_rs)
{
	struct rsv_ruleset *rs = core_calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	char err[768] = "";
	int r = pol_policy_new(cfg, &rs->policy, err, sizeof(err));
	if (r != 0) {
		core_log_err("rsv", "%s", err[0] ? err : core_strerror(r));
		if (out)
			(void)core_buf_printf(out, "%s\n", err[0] ? err : core_strerror(r));
		goto out_free;
	}
	size_t n_sync = 0;
	for (size_t i = 0; i < cfg->n_lists; i++)
		n_sync += cfg->lists[i].primary != NULL;
	if (n_sync) {
		rs->notify = core_calloc(n_sync, sizeof(*rs->notify));
		if (!rs->notify) {
			r = -ENOMEM;
			goto out_free;
		}
		for (size_t i = 0; i < cfg->n_lists; i++) {
			const struct cfg_list *cl = &cfg->lists[i];
			if (!cl->primary)
				continue;
			struct rsv_notify_zone *nz = &rs->notify[rs->n_notify++];
			memcpy(&nz->params.primary, &cl->primary->ss, cl->primary->len);
			nz->params.primary_len = cl->primary->len;
			snprintf(nz->params.zone, sizeof(nz->params.zone), "%s", cl->zone);
			if (cl->tsig) {
				snprintf(nz->tsig.name, sizeof(nz->tsig.name), "%s", cl->tsig->name);
				snprintf(nz->tsig.algorithm, sizeof(nz->tsig.algorithm), "%s",
					 cl->tsig->algorithm ? cl->tsig->algorithm : "hmac-sha256");
				snprintf(nz->tsig.secret, sizeof(nz->tsig.secret), "%s",
					 cl->tsig->secret);
			}
		}
		/* params.tsig points into the array, which no longer moves. */
		for (size_t k = 0; k < rs->n_notify; k++) {
			if (rs->notify[k].tsig.name[0])
				rs->notify[k].params.tsig = &rs->notify[k].tsig;
		}
	}
	unsigned n_up = atomic_load(&s->n_upstreams);
	for (size_t i = 0; i < cfg->server.n_forwarders && i < RSV_MAX_UPSTREAMS; i++) {
		const struct cfg_addr *a = &cfg->server.forwarders[i];
		unsigned idx;
		for (idx = 0; idx < n_up; idx++) {
			if (cfg_addr_equal(&s->upstreams[idx].addr, a))
				break;
		}
		if (idx == n_up) {
			if (n_up == RSV_MAX_UPSTREAMS) {
				core_log_err("rsv", "more than %d distinct forwarders since start; restart to use '%s'",
					     RSV_MAX_UPSTREAMS, a->text);
				r = CORE_ELIMIT;
				goto out_free;
			}
			struct rsv_upstream *u = &s->upstreams[n_up];
			u->addr = *a;
			atomic_store(&u->backoff_ms, RSV_UPSTREAM_BACKOFF_MIN_MS);
			atomic_store(&s->n_upstreams, ++n_up);
		}
		rs->forwarders[rs->n_forwarders++] = (uint8_t)idx;
	}
	if (cfg->server.mode == CFG_MODE_RECURSIVE) {
		r = rsv_roots_load(cfg->server.root_hints, &rs->roots, err, sizeof(err));
		if (r == 0 && cfg->server.dnssec)
			r = rsv_val_anchor_load(cfg->server.trust_anchor, &rs->anchor, err,
						sizeof(err));
		if (r != 0) {
			core_log_err("rsv", "%s", err[0] ? err : core_strerror(r));
			if (out)
				(void)core_buf_printf(out, "%s\n", err[0] ? err : core_strerror(r));
			goto out_free;
		}
	}
	rs->cfg = cfg;
	atomic_init(&rs->refs, 1);
	rs->generation = generation;
	rs->loaded_at = core_clock_wall_s();
	*out_rs = rs;
	return 0;
out_free:
	pol_policy_free(rs->policy);
	core_free(rs->notify);
	rsv_roots_free(rs->roots);
	ldns_rr_list_deep_free(rs->anchor);
	core_free(rs);
	return r;
}

static void apply_log_level(const struct cfg_root *cfg)
{
	int level = cfg->server.log_level ? core_log_level_parse(cfg->server.log_level) : -1;
	core_log_set_level(level >= 0 ? (enum core_log_level)level : CORE_LOG_INFO);
}

static void format_diags(const struct cfg_diags *d, struct core_buf *out)
{
	char line[1024];
	for (size_t i = 0; i < d->n; i++) {
		cfg_diag_format(&d->v[i], line, sizeof(line));
		if (out)
			(void)core_buf_printf(out, "%s\n", line);
		if (d->v[i].warning)
			core_log_warn("cfg", "%s", line);
		else
			core_log_err("cfg", "%s", line);
	}
}

static int rebuild_lists(struct rsv_server *s, struct core_buf *out);
static void publish_lists(struct rsv_server *s, struct rsv_lists *lists);

/* A synced list changed version: publish the lists in force with its new layers. */
static void sync_changed(void *arg)
{
	struct rsv_server *s = arg;
	struct rsv_lists *copy;
	if (rsv_lists_clone(s->lists, &copy) != 0) {
		core_log_err("rsv", "out of memory: the new version of a synced list is not published yet");
		return;
	}
	publish_lists(s, copy);
	rsv_metrics_update(s);
	/* Parsing a transfer frees much more than it keeps (bench/README.md: +12-15 MiB of
	 * resident heap per IXFR otherwise). */
	malloc_trim(0);
}

/* NOTIFYs the workers accepted: refresh those zones. */
static void notify_async_cb(uv_async_t *a)
{
	struct rsv_server *s = a->data;
	char zones[RSV_NOTIFY_QUEUE][256];
	pthread_mutex_lock(&s->notify_lock);
	unsigned n = s->n_notify_queued;
	memcpy(zones, s->notify_queue, sizeof(zones[0]) * n);
	s->n_notify_queued = 0;
	pthread_mutex_unlock(&s->notify_lock);
	for (unsigned i = 0; i < n; i++)
		rsv_sync_refresh_zone(s->sync, zones[i]);
}

/* Load the config file again and publish it. Diagnostics go to the log and to @out. */
static int server_reload(struct rsv_server *s, struct core_buf *out)
{
	rsv_notify("RELOADING=1");
	struct cfg_root *cfg = NULL;
	struct cfg_diags diags = {0};
	int r = cfg_load(s->config_path, &cfg, &diags);
	format_diags(&diags, out);
	cfg_diags_clear(&diags);
	if (r != 0) {
		core_log_err("rsv", "reload of '%s' refused (%s); the running configuration stays",
			     s->config_path, core_strerror(r));
		atomic_fetch_add(&s->reload_failures, 1);
		rsv_notify("READY=1\nSTATUS=reload refused; previous configuration running");
		return r;
	}
	struct rsv_ruleset *old = s->ruleset;
	bool listen_changed = cfg->server.n_listen != s->n_listen;
	for (size_t i = 0; !listen_changed && i < s->n_listen; i++)
		listen_changed = !cfg_addr_equal(&cfg->server.listen[i], &s->listen[i]);
	if (listen_changed)
		core_log_warn("rsv", "server.listen changed: restart lanhmanhd to apply it, ignoring");
	if (cfg->server.workers != old->cfg->server.workers)
		core_log_warn("rsv", "server.workers changed: restart lanhmanhd to apply it, ignoring");
	const char *tap = cfg->compliance.dnstap_socket;
	if ((tap == NULL) != (s->dnstap_socket == NULL) ||
	    (tap && strcmp(tap, s->dnstap_socket) != 0))
		core_log_warn("rsv", "compliance.dnstap.socket changed: restart lanhmanhd to apply it, ignoring");
	struct rsv_ruleset *rs;
	r = ruleset_build(s, cfg, old->generation + 1, out, &rs);
	if (r != 0) {
		cfg_free(cfg);
		if (out)
			(void)core_buf_printf(out, "cannot build the new ruleset: %s\n",
					      core_strerror(r));
		atomic_fetch_add(&s->reload_failures, 1);
		rsv_notify("READY=1");
		return r;
	}
	apply_log_level(cfg);
	rsv_cache_set_limit(s->cache, cfg->server.cache_size_bytes);
	if (rsv_sync_apply_cfg(s->sync, cfg) != 0)
		core_log_err("rsv", "out of memory: synced lists not updated");
	pthread_mutex_lock(&s->outside_lock);
	rcu_xchg_pointer(&s->ruleset, rs);
	pthread_mutex_unlock(&s->outside_lock);
	synchronize_rcu();
	rsv_stats_ruleset_retired(s->stats, old); /* kept while statistics name its networks */
	rsv_stats_apply_cfg(s->stats, cfg);
	/* Loading a big file (100k networks) leaves tens of MiB of freed heap behind: give it
	 * back rather than keep it resident until the next reload. */
	malloc_trim(0);
	if (s->blockpage)
		rsv_blockpage_set_contact(s->blockpage, cfg->sinkhole.block_page_contact);
	/* Lists are read again at every reload: a reload is how an edited list file is applied. */
	(void)rebuild_lists(s, out);
	/* A new address is bound now; a failure keeps the old one and not the reload back. */
	(void)rsv_metrics_apply_cfg(s, cfg, out);
	rsv_metrics_update(s);
	core_log_notice("rsv", "configuration '%s' reloaded (generation %llu)", s->config_path,
			(unsigned long long)rs->generation);
	rsv_notify("READY=1\nSTATUS=configuration reloaded");
	return 0;
}

/* ---- blocklists ------------------------------------------------------------------------- */

/* Give @lists (not published yet) the view the lookups use: its own set, then the layers of
 * every synced list. */
static int attach_view(struct rsv_server *s, struct rsv_lists *lists)
{
	struct bl_set *bases[BL_VIEW_MAX_LAYERS] = {0}, *overlays[BL_VIEW_MAX_LAYERS] = {0};
	size_t n = 0;
	bases[n++] = lists->set;
	for (size_t i = 0; i < rsv_sync_count(s->sync) && n < BL_VIEW_MAX_LAYERS; i++) {
		uint16_t list_id;
		size_t entries;
		rsv_sync_layers(s->sync, i, false, &bases[n], &overlays[n], &list_id, &entries);
		if (list_id < lists->n_status) {
			struct rsv_list_status *st = &lists->status[list_id];
			st->source = bases[n] ? RSV_LIST_FROM_PRIMARY : RSV_LIST_MISSING;
			st->entries = entries;
			if (bases[n])
				st->problem = core_free(st->problem);
			else if (!st->problem)
				st->problem = core_strdup("no version received yet");
		}
		if (bases[n])
			n++;
	}
	struct bl_view *view, *audit = NULL;
	int r = bl_view_new(bases, overlays, n, &view);
	if (r != 0)
		return r;
	if (rsv_sync_has_pending(s->sync)) {
		/* The same with the waiting versions: evaluated in log-only mode (worker.c). */
		n = 1;
		for (size_t i = 0; i < rsv_sync_count(s->sync) && n < BL_VIEW_MAX_LAYERS; i++) {
			uint16_t list_id;
			size_t entries;
			rsv_sync_layers(s->sync, i, true, &bases[n], &overlays[n], &list_id,
					&entries);
			if (bases[n])
				n++;
		}
		if (bl_view_new(bases, overlays, n, &audit) != 0)
			audit = NULL; /* log-only mode is lost; enforcement is not */
	}
	bl_view_free(lists->view);
	lists->view = view;
	bl_view_free(lists->audit_view);
	lists->audit_view = audit;
	return 0;
}

/* Publish @lists in place of the lists in force, once no worker can see the old ones. */
static void publish_lists(struct rsv_server *s, struct rsv_lists *lists)
{
	if (attach_view(s, lists) != 0 && !lists->view) {
		core_log_err("rsv", "out of memory while publishing the blocklists; the lists in force stay");
		rsv_lists_free(lists);
		return;
	}
	lists->generation = ++s->lists_generation;
	rsv_stats_lists_published(s->stats, lists);
	pthread_mutex_lock(&s->outside_lock);
	struct rsv_lists *old = rcu_xchg_pointer(&s->lists, lists);
	pthread_mutex_unlock(&s->outside_lock);
	synchronize_rcu();
	rsv_lists_free(old);
}

/* Read and compile the lists of the configuration in force, and publish them. A failure keeps
 * the lists in force. */
static int rebuild_lists(struct rsv_server *s, struct core_buf *out)
{
	struct rsv_lists *lists;
	pthread_mutex_lock(&s->build_lock);
	int r = rsv_lists_build(s->ruleset->cfg, out, &lists);
	pthread_mutex_unlock(&s->build_lock);
	if (r != 0) {
		core_log_err("rsv", "cannot compile the blocklists (%s); the lists in force stay",
			     core_strerror(r));
		if (out)
			(void)core_buf_printf(out, "cannot compile the blocklists: %s\n",
					      core_strerror(r));
		return r;
	}
	publish_lists(s, lists);
	return 0;
}

/*
 * After a start from the snapshot the lists are compiled on libuv's thread pool, so the control
 * socket answers meanwhile (a compile takes about a second per million names). The job holds a
 * reference on the ruleset whose config it reads, and publishes only if that ruleset is still
 * in force (a reload compiles its own lists, after this job: build_lock).
 */
struct lists_job {
	uv_work_t req;
	struct rsv_server *s;
	struct rsv_ruleset *rs;
	struct rsv_lists *lists;
	int r;
};

static void lists_job_work(uv_work_t *req)
{
	struct lists_job *job = req->data;
	pthread_mutex_lock(&job->s->build_lock);
	job->r = rsv_lists_build(job->rs->cfg, NULL, &job->lists);
	pthread_mutex_unlock(&job->s->build_lock);
}

static void lists_job_done(uv_work_t *req, int status)
{
	struct lists_job *job = req->data;
	if (status == 0 && job->r == 0) {
		if (job->s->ruleset == job->rs)
			publish_lists(job->s, job->lists);
		else
			rsv_lists_free(job->lists); /* a reload published newer lists meanwhile */
	} else {
		core_log_err("rsv", "cannot compile the blocklists (%s); the snapshot stays in force",
			     core_strerror(status ? status : job->r));
	}
	rsv_ruleset_unref(job->rs);
	core_free(job);
}

static void start_lists_job(struct rsv_server *s, uv_loop_t *loop)
{
	struct lists_job *job = core_calloc(1, sizeof(*job));
	if (!job) {
		(void)rebuild_lists(s, NULL);
		return;
	}
	job->req.data = job;
	job->s = s;
	job->rs = s->ruleset;
	atomic_fetch_add(&job->rs->refs, 1);
	int r = uv_queue_work(loop, &job->req, lists_job_work, lists_job_done);
	if (r != 0) {
		rsv_ruleset_unref(job->rs);
		core_free(job);
		(void)rebuild_lists(s, NULL);
	}
}

/* ---- the block page -------------------------------------------------------------------- */

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Why @host is blocked for @client: what the resolver would decide now. HTTP thread. */
static void blockpage_lookup(void *arg, const struct sockaddr *client, const char *host,
			     struct rsv_blockpage_info *out)
{
	struct rsv_server *s = arg;
	uint8_t name[RSV_MAX_NAME];
	size_t name_len = rsv_wire_name_from_text(host, name);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->outside_lock);
	const struct rsv_ruleset *rs = s->ruleset;
	const struct rsv_lists *ls = s->lists;
	struct pol_client c;
	if (pol_client_lookup(rs->policy, client, &c) == 0) {
		copy_text(out->network, sizeof(out->network), c.network->name);
		copy_text(out->network_id, sizeof(out->network_id), c.network->id);
		unsigned mow = 0;
		if (pol_policy_has_schedules(rs->policy))
			mow = pol_policy_minute_of_week(rs->policy, core_clock_wall_s());
		struct pol_verdict v;
		if (name_len &&
		    pol_decide(rs->policy, &c, ls->view, name, name_len, mow, &v) == 0 &&
		    (v.d.kind == POL_DECISION_BLOCK || v.d.kind == POL_DECISION_DROP)) {
			out->blocked = true;
			out->reason = (int)v.d.reason;
			if (v.by == POL_BY_GROUP_DENY || v.by == POL_BY_NETWORK_DENY) {
				copy_text(out->category, sizeof(out->category), "deny list");
				copy_text(out->list, sizeof(out->list),
					  bl_set_list_name(v.set, v.d.match.list_id));
			} else {
				copy_text(out->category, sizeof(out->category),
					  rsv_lists_first_category(ls, v.d.categories));
				copy_text(out->list, sizeof(out->list),
					  bl_view_list_name(ls->view, v.d.match.list_id));
			}
		}
	}
	pthread_mutex_unlock(&s->outside_lock);
}

static int blockpage_start(struct rsv_server *s, const struct cfg_root *cfg)
{
	const struct cfg_sinkhole *sh = &cfg->sinkhole;
	if (sh->n_block_page_listen == 0)
		return 0;
	struct rsv_blockpage_params p = {
		.listen = sh->block_page_listen,
		.n_listen = sh->n_block_page_listen,
		.contact = sh->block_page_contact,
		.state_dir = cfg->server.state_dir,
		.lookup = blockpage_lookup,
		.lookup_arg = s,
	};
	int r = rsv_blockpage_start(&p, &s->blockpage);
	if (r != 0)
		core_log_err("rsv", "cannot start the block page on '%s': %s",
			     sh->block_page_listen[0].text, core_strerror(r));
	return r;
}

/* ---- status ----------------------------------------------------------------------------- */

static void format_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double qps(const struct control *ctl)
{
	if (ctl->qps_filled < 2)
		return 0.0;
	unsigned n = ctl->qps_filled - 1;
	unsigned newest = (ctl->qps_next + QPS_WINDOW) % (QPS_WINDOW + 1);
	unsigned oldest = (newest + QPS_WINDOW + 1 - n) % (QPS_WINDOW + 1);
	return (double)(ctl->qps_samples[newest] - ctl->qps_samples[oldest]) / n;
}

static void cmd_status(struct control *ctl, struct core_buf *out)
{
	struct rsv_server *s = ctl->s;
	const struct rsv_ruleset *rs = s->ruleset;
	uint64_t c[CMPL_COUNTER_COUNT];
	cmpl_counters_sum(s->counters, s->n_workers, c);
	struct rsv_cache_stats cs;
	rsv_cache_get_stats(s->cache, &cs);
	char loaded[32];
	format_time(rs->loaded_at, loaded, sizeof(loaded));
	uint64_t lookups = cs.hits + cs.misses;
	uint64_t now = core_clock_mono_ms();
	(void)core_buf_printf(out, "version: %s (%s)\n", PACKAGE_VERSION, LM_VCS_VERSION);
	(void)core_buf_printf(out, "uptime: %llus\n",
			      (unsigned long long)((now - s->started_ms) / 1000));
	(void)core_buf_printf(out, "config: %s (generation %llu, loaded %s)\n", s->config_path,
			      (unsigned long long)rs->generation, loaded);
	(void)core_buf_printf(out, "mode: forward\nworkers: %u\n", s->n_workers);
	for (unsigned i = 0; i < s->n_listen; i++)
		(void)core_buf_printf(out, "listen: %s (udp, tcp)\n", s->listen[i].text);
	(void)core_buf_printf(out, "networks: %zu\n",
			      pol_networks_count(pol_policy_networks(rs->policy)));
	for (size_t i = 0; i < pol_policy_mmdb_count(rs->policy); i++) {
		const struct pol_mmdb *db = pol_policy_mmdb(rs->policy, i);
		struct pol_mmdb_stats ms;
		pol_mmdb_stats(db, &ms);
		(void)core_buf_printf(out, "subscriber database %s: %u ranges, %u records\n",
				      pol_mmdb_path(db), ms.ranges, ms.records);
	}
	(void)core_buf_printf(out, "groups: %zu\n", pol_policy_group_count(rs->policy));
	(void)core_buf_printf(out, "queries: %llu (tcp %llu)\n",
			      (unsigned long long)c[CMPL_QUERIES],
			      (unsigned long long)c[CMPL_QUERIES_TCP]);
	(void)core_buf_printf(out, "qps: %.1f (last %u s)\n", qps(ctl),
			      ctl->qps_filled > 1 ? ctl->qps_filled - 1 : 0);
	(void)core_buf_printf(out,
			      "cache: %llu entries, %llu of %llu bytes, hit rate %.1f%% (hits %llu, stale %llu, misses %llu, evictions %llu)\n",
			      (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
			      (unsigned long long)cs.max_bytes,
			      lookups ? 100.0 * (double)cs.hits / (double)lookups : 0.0,
			      (unsigned long long)cs.hits, (unsigned long long)cs.stale_hits,
			      (unsigned long long)cs.misses, (unsigned long long)cs.evictions);
	(void)core_buf_printf(out,
			      "answers: refused %llu, formerr %llu, servfail %llu, truncated %llu, dropped %llu\n",
			      (unsigned long long)c[CMPL_REFUSED],
			      (unsigned long long)c[CMPL_FORMERR],
			      (unsigned long long)c[CMPL_SERVFAIL],
			      (unsigned long long)c[CMPL_TRUNCATED],
			      (unsigned long long)c[CMPL_DROPPED]);
	(void)core_buf_printf(out, "tcp_connections: %u\n", atomic_load(&s->tcp_conns));
	(void)core_buf_printf(out, "blocked: %llu (national list %llu)\n",
			      (unsigned long long)c[CMPL_BLOCKED],
			      (unsigned long long)c[CMPL_BLOCKED_NATIONAL]);
	const struct rsv_lists *ls = s->lists;
	char built[32];
	format_time(ls->built_at, built, sizeof(built));
	(void)core_buf_printf(out, "blocklists: %zu lists, %zu names, %s %s\n", ls->n_status,
			      ls->view ? bl_view_count(ls->view) : 0,
			      ls->from_snapshot ? "snapshot mapped" : "compiled", built);
	(void)rsv_sync_alerts(s->sync, out);
	rsv_stats_status(s->stats, out);
	for (unsigned i = 0; i < rs->n_forwarders; i++) {
		const struct rsv_upstream *u = &s->upstreams[rs->forwarders[i]];
		bool up = rsv_upstream_is_up(u, now) && atomic_load(&u->dead_until_ms) == 0;
		uint64_t dead = atomic_load(&u->dead_until_ms);
		(void)core_buf_printf(out,
				      "upstream %s: %s, srtt %.1f ms, sent %llu, answered %llu, timeouts %llu, errors %llu, consecutive failures %u",
				      u->addr.text, up ? "up" : "down",
				      atomic_load(&u->srtt_us) / 1000.0,
				      (unsigned long long)atomic_load(&u->sent),
				      (unsigned long long)atomic_load(&u->answered),
				      (unsigned long long)atomic_load(&u->timeouts),
				      (unsigned long long)atomic_load(&u->errors),
				      atomic_load(&u->fails));
		if (!up && dead > now)
			(void)core_buf_printf(out, ", next probe in %llu ms",
					      (unsigned long long)(dead - now));
		(void)core_buf_add(out, "\n", 1);
	}
	if (s->dnstap)
		(void)core_buf_printf(out, "dnstap: %s (queries %s, responses %s), %llu frames dropped\n",
				      s->dnstap_socket,
				      rs->cfg->compliance.dnstap_queries ? "on" : "off",
				      rs->cfg->compliance.dnstap_responses ? "on" : "off",
				      (unsigned long long)cmpl_dnstap_dropped(s->dnstap));
	(void)core_buf_printf(out, "memory: %llu bytes allocated\n",
			      (unsigned long long)core_alloc_live_bytes());
}

static void cmd_stats(struct control *ctl, struct core_buf *out)
{
	struct rsv_server *s = ctl->s;
	uint64_t c[CMPL_COUNTER_COUNT];
	cmpl_counters_sum(s->counters, s->n_workers, c);
	for (unsigned k = 0; k < CMPL_COUNTER_COUNT; k++)
		(void)core_buf_printf(out, "%s %llu\n", cmpl_counter_name(k),
				      (unsigned long long)c[k]);
	struct rsv_cache_stats cs;
	rsv_cache_get_stats(s->cache, &cs);
	(void)core_buf_printf(out, "cache_entries %llu\ncache_bytes %llu\ncache_evictions %llu\n",
			      (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
			      (unsigned long long)cs.evictions);
	if (s->dnstap)
		(void)core_buf_printf(out, "dnstap_dropped %llu\n",
				      (unsigned long long)cmpl_dnstap_dropped(s->dnstap));
}

static void cmd_lists(struct control *ctl, struct core_buf *out)
{
	const struct rsv_lists *ls = ctl->s->lists;
	char built[32];
	format_time(ls->built_at, built, sizeof(built));
	(void)core_buf_printf(out, "set: %zu names, %s %s (%llu ms)\n",
			      ls->set ? bl_set_count(ls->set) : 0,
			      ls->from_snapshot ? "snapshot mapped" : "compiled", built,
			      (unsigned long long)ls->build_ms);
	for (size_t i = 0; i < ls->n_status; i++) {
		const struct rsv_list_status *st = &ls->status[i];
		(void)core_buf_printf(out, "list %s: category %s, %zu entries, %zu bad lines, from %s%s%s%s\n",
				      st->name, st->category, st->entries, st->bad,
				      rsv_list_source_name(st->source), st->problem ? " (" : "",
				      st->problem ? st->problem : "", st->problem ? ")" : "");
	}
	size_t n_builtin;
	(void)pol_builtin_bypass_names(&n_builtin);
	(void)core_buf_printf(out, "list %s: category proxy_vpn_doh, %zu entries, built in (blocked for groups that block proxy_vpn_doh)\n",
			      RSV_BUILTIN_BYPASS_LIST, n_builtin);
	rsv_sync_report(ctl->s->sync, out);
}

/* "explain CLIENT DOMAIN": the network, and the list, entry and rule that decide. */
static void cmd_explain(struct control *ctl, char *arg, struct core_buf *out)
{
	struct rsv_server *s = ctl->s;
	char *domain = arg ? strchr(arg, ' ') : NULL;
	if (!arg || !domain) {
		(void)core_buf_printf(out, "%susage: explain CLIENT DOMAIN, e.g. explain 10.1.2.3 example.vn\n",
				      RSV_CONTROL_ERROR);
		return;
	}
	*domain++ = '\0';
	while (*domain == ' ')
		domain++;
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, arg, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, arg, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
	} else {
		(void)core_buf_printf(out, "%s'%s' is not an IP address\n", RSV_CONTROL_ERROR, arg);
		return;
	}
	uint8_t name[RSV_MAX_NAME];
	size_t name_len = rsv_wire_name_from_text(domain, name);
	if (name_len == 0) {
		(void)core_buf_printf(out, "%s'%s' is not a domain name\n", RSV_CONTROL_ERROR,
				      domain);
		return;
	}
	(void)core_buf_add(out, RSV_CONTROL_OK, strlen(RSV_CONTROL_OK));
	const struct rsv_ruleset *rs = s->ruleset;
	const struct rsv_lists *ls = s->lists;
	(void)core_buf_printf(out, "client: %s\n", arg);
	pol_explain(rs->policy, rs->cfg, ls->view, (struct sockaddr *)&ss, name, name_len,
		    core_clock_wall_s(), out);
}

/* Run control command @line; the reply (status line first) goes to @out. */
static void control_dispatch(struct control *ctl, char *line, struct core_buf *out)
{
	char *arg = strchr(line, ' ');
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	if (strcmp(line, "status") == 0) {
		(void)core_buf_add(out, RSV_CONTROL_OK, strlen(RSV_CONTROL_OK));
		cmd_status(ctl, out);
	} else if (strcmp(line, "stats") == 0 && (!arg || !*arg)) {
		(void)core_buf_add(out, RSV_CONTROL_OK, strlen(RSV_CONTROL_OK));
		cmd_stats(ctl, out);
	} else if (strcmp(line, "reload") == 0) {
		struct core_buf diag;
		core_buf_init(&diag, 64 * 1024);
		int r = server_reload(ctl->s, &diag);
		(void)core_buf_printf(out, "%s%s%s", r == 0 ? RSV_CONTROL_OK : RSV_CONTROL_ERROR,
				      core_buf_str(&diag),
				      r == 0 ? "reloaded\n"
					     : "reload refused; the running configuration stays\n");
		core_buf_deinit(&diag);
	} else if (strcmp(line, "lists") == 0 && (!arg || !*arg)) {
		(void)core_buf_add(out, RSV_CONTROL_OK, strlen(RSV_CONTROL_OK));
		cmd_lists(ctl, out);
	} else if (strcmp(line, "lists") == 0) {
		char *name = strchr(arg, ' ');
		if (name) {
			*name++ = '\0';
			while (*name == ' ')
				name++;
		}
		struct core_buf msg;
		core_buf_init(&msg, 4 << 20);
		int r;
		if (strcmp(arg, "diff") == 0 && name && *name)
			r = rsv_sync_diff(ctl->s->sync, name, &msg);
		else if (strcmp(arg, "promote") == 0 && name && *name)
			r = rsv_sync_promote(ctl->s->sync, name, &msg);
		else if (strcmp(arg, "refresh") == 0 && name && *name)
			r = rsv_sync_refresh_list(ctl->s->sync, name, &msg);
		else
			r = -EINVAL, (void)core_buf_printf(&msg, "usage: lists [diff NAME | promote NAME | refresh NAME]\n");
		(void)core_buf_printf(out, "%s%s", r == 0 ? RSV_CONTROL_OK : RSV_CONTROL_ERROR,
				      core_buf_str(&msg));
		core_buf_deinit(&msg);
	} else if (strcmp(line, "unblock-requests") == 0) {
		struct core_buf req;
		core_buf_init(&req, 1 << 20);
		int r = rsv_blockpage_read_requests(ctl->s->ruleset->cfg->server.state_dir, &req);
		if (r >= 0)
			(void)core_buf_printf(out, "%s%s%d unblock request%s\n", RSV_CONTROL_OK,
					      core_buf_str(&req), r, r == 1 ? "" : "s");
		else
			(void)core_buf_printf(out, "%scannot read the unblock requests: %s\n",
					      RSV_CONTROL_ERROR, core_strerror(r));
		core_buf_deinit(&req);
	} else if (strcmp(line, "explain") == 0) {
		cmd_explain(ctl, arg, out);
	} else if (strcmp(line, "stats") == 0 && arg && strcmp(arg, "flush") == 0) {
		struct core_buf msg;
		core_buf_init(&msg, 4096);
		int r = rsv_stats_flush(ctl->s->stats, &msg);
		(void)core_buf_printf(out, "%s%s", r == 0 ? RSV_CONTROL_OK : RSV_CONTROL_ERROR,
				      core_buf_str(&msg));
		core_buf_deinit(&msg);
	} else if (strcmp(line, "flush") == 0) {
		uint8_t name[RSV_MAX_NAME];
		size_t len = 0;
		if (arg && *arg && (len = rsv_wire_name_from_text(arg, name)) == 0) {
			(void)core_buf_printf(out, "%s'%s' is not a domain name\n",
					      RSV_CONTROL_ERROR, arg);
			return;
		}
		uint64_t n = rsv_cache_flush(ctl->s->cache, len ? name : NULL, len);
		core_log_info("rsv", "cache flush%s%s: %llu entries removed", len ? " of " : "",
			      len ? arg : "", (unsigned long long)n);
		(void)core_buf_printf(out, "%sflushed %llu entries\n", RSV_CONTROL_OK,
				      (unsigned long long)n);
	} else {
		(void)core_buf_printf(out, "%sunknown command '%s'; expected status, stats, reload, lists, explain CLIENT DOMAIN, unblock-requests or flush [NAME]\n",
				      RSV_CONTROL_ERROR, line);
	}
}

/* ---- control socket --------------------------------------------------------------------- */

static void cconn_close_cb(uv_handle_t *h)
{
	struct control_conn *cc = h->data;
	core_buf_deinit(&cc->reply);
	core_free(cc);
}

static void cconn_write_cb(uv_write_t *req, int status)
{
	struct control_conn *cc = req->data;
	uv_close((uv_handle_t *)&cc->pipe, cconn_close_cb);
}

static void cconn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct control_conn *cc = h->data;
	*buf = uv_buf_init(cc->line + cc->len, (unsigned)(sizeof(cc->line) - 1 - cc->len));
}

static void cconn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct control_conn *cc = st->data;
	if (cc->replied)
		return;
	if (nread < 0) {
		uv_close((uv_handle_t *)&cc->pipe, cconn_close_cb);
		return;
	}
	cc->len += (size_t)nread;
	cc->line[cc->len] = '\0';
	char *nl = strchr(cc->line, '\n');
	if (!nl && cc->len < sizeof(cc->line) - 1)
		return;
	if (nl)
		*nl = '\0';
	cc->replied = true;
	uv_read_stop(st);
	core_buf_init(&cc->reply, 1 << 20);
	control_dispatch(cc->ctl, cc->line, &cc->reply);
	uv_buf_t b = uv_buf_init((char *)core_buf_str(&cc->reply), (unsigned)cc->reply.len);
	cc->write.data = cc;
	if (uv_write(&cc->write, st, &b, 1, cconn_write_cb) != 0)
		uv_close((uv_handle_t *)&cc->pipe, cconn_close_cb);
}

static void control_accept_cb(uv_stream_t *listener, int status)
{
	struct control *ctl = listener->data;
	if (status < 0)
		return;
	struct control_conn *cc = core_calloc(1, sizeof(*cc));
	if (!cc)
		return;
	cc->ctl = ctl;
	uv_pipe_init(&ctl->loop, &cc->pipe, 0);
	cc->pipe.data = cc;
	if (uv_accept(listener, (uv_stream_t *)&cc->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&cc->pipe, cconn_alloc_cb, cconn_read_cb) != 0)
		uv_close((uv_handle_t *)&cc->pipe, cconn_close_cb);
}

static int mkdir_parents(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t len = strlen(path);
	if (len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* True when a live daemon answers on the socket at @path. */
static bool socket_in_use(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool used = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return used;
}

static int control_listen(struct control *ctl, const char *path)
{
	char dir[4096];
	size_t len = strlen(path);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len + 1);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int r = mkdir_parents(dir, 0750);
		if (r != 0) {
			core_log_err("rsv", "cannot create '%s' for the control socket: %s", dir,
				     strerror(-r));
			return r;
		}
	}
	if (socket_in_use(path)) {
		core_log_err("rsv", "control socket '%s' is in use: is another lanhmanhd running?",
			     path);
		return -EADDRINUSE;
	}
	unlink(path);
	uv_pipe_init(&ctl->loop, &ctl->listener, 0);
	ctl->listener.data = ctl;
	ctl->listening = true;
	int r = uv_pipe_bind(&ctl->listener, path);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&ctl->listener, 16, control_accept_cb);
	if (r != 0) {
		core_log_err("rsv", "cannot listen on control socket '%s': %s", path,
			     uv_strerror(r));
		uv_close((uv_handle_t *)&ctl->listener, NULL);
		ctl->listening = false;
		return r;
	}
	chmod(path, 0660);
	ctl->socket_path = core_strdup(path);
	return 0;
}

/* ---- signals and ticks ------------------------------------------------------------------ */

static void control_stop(struct control *ctl)
{
	if (ctl->stopping)
		return;
	ctl->stopping = true;
	rsv_notify("STOPPING=1");
	core_log_notice("rsv", "stopping");
	if (ctl->listening)
		uv_close((uv_handle_t *)&ctl->listener, NULL);
	uv_close((uv_handle_t *)&ctl->sighup, NULL);
	uv_close((uv_handle_t *)&ctl->sigterm, NULL);
	uv_close((uv_handle_t *)&ctl->sigint, NULL);
	uv_close((uv_handle_t *)&ctl->tick, NULL);
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct control *ctl = h->data;
	if (signum == SIGHUP) {
		core_log_info("rsv", "SIGHUP: reloading '%s'", ctl->s->config_path);
		(void)server_reload(ctl->s, NULL);
	} else {
		control_stop(ctl);
	}
}

static void tick_cb(uv_timer_t *t)
{
	struct control *ctl = t->data;
	uint64_t c[CMPL_COUNTER_COUNT];
	cmpl_counters_sum(ctl->s->counters, ctl->s->n_workers, c);
	ctl->qps_samples[ctl->qps_next] = c[CMPL_QUERIES];
	ctl->qps_next = (ctl->qps_next + 1) % (QPS_WINDOW + 1);
	if (ctl->qps_filled < QPS_WINDOW + 1)
		ctl->qps_filled++;
	rsv_metrics_update(ctl->s); /* the synced lists' state /metrics shows */
}

/* ---- start and stop --------------------------------------------------------------------- */

/* Bind @a for UDP and TCP without SO_REUSEPORT, then let go: EADDRINUSE means someone else
 * serves it. */
static int check_listen_free(const struct cfg_addr *a)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (size_t i = 0; i < 2; i++) {
		int fd = socket(a->ss.ss_family, types[i] | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		int one = 1;
		if (a->ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (types[i] == SOCK_STREAM)
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		int r = bind(fd, (const struct sockaddr *)&a->ss, a->len) == 0 ? 0 : -errno;
		close(fd);
		if (r == -EADDRINUSE) {
			core_log_err("rsv", "'%s' (%s) is already in use: is another resolver running there?",
				     a->text, types[i] == SOCK_DGRAM ? "udp" : "tcp");
			return r;
		}
	}
	return 0;
}

/*
 * compliance.dnstap: start the writer before the workers, which use one queue each. The frames
 * carry the host name as identity and "lanhmanh VERSION" as version.
 */
static int dnstap_start(struct rsv_server *s, const struct cfg_root *cfg)
{
	const struct cfg_compliance *c = &cfg->compliance;
	char host[256];
	int r;

	if (!c->dnstap_socket)
		return 0;
	if (!cmpl_dnstap_is_available()) {
		core_log_err("rsv", "compliance.dnstap is set, but this lanhmanhd was built without dnstap (meson -Ddnstap=enabled, with libfstrm and libprotobuf-c); remove compliance.dnstap or install a build with dnstap");
		return CORE_ECONFIG;
	}
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	s->dnstap_socket = core_strdup(c->dnstap_socket);
	if (!s->dnstap_socket)
		return -ENOMEM;
	r = cmpl_dnstap_open(c->dnstap_socket, s->n_workers, host[0] ? host : NULL,
			     "lanhmanh " PACKAGE_VERSION, &s->dnstap);
	if (r != 0) {
		core_log_err("rsv", "cannot start dnstap to '%s': %s", c->dnstap_socket,
			     core_strerror(r));
		return r;
	}
	core_log_info("rsv", "dnstap to '%s': client queries %s, responses %s", c->dnstap_socket,
		      c->dnstap_queries ? "on" : "off", c->dnstap_responses ? "on" : "off");
	return 0;
}

static unsigned worker_count(const struct cfg_root *cfg)
{
	if (cfg->server.workers > 0)
		return cfg->server.workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int rsv_server_run(const char *config_path, struct cfg_root *cfg)
{
	int r;
	struct rsv_server *s = core_calloc(1, sizeof(*s));
	struct control *ctl = core_calloc(1, sizeof(*ctl));
	if (!s || !ctl) {
		cfg_free(cfg);
		r = -ENOMEM;
		goto out_free;
	}
	pthread_mutex_init(&s->outside_lock, NULL);
	pthread_mutex_init(&s->build_lock, NULL);
	pthread_mutex_init(&s->notify_lock, NULL);
	s->started_ms = core_clock_mono_ms();
	s->started_wall = core_clock_wall_s();
	s->config_path = core_strdup(config_path);
	s->n_listen = (unsigned)(cfg->server.n_listen < RSV_MAX_LISTEN ? cfg->server.n_listen
									: RSV_MAX_LISTEN);
	memcpy(s->listen, cfg->server.listen, s->n_listen * sizeof(s->listen[0]));
	s->n_workers = worker_count(cfg);
	s->cache = rsv_cache_new(cfg->server.cache_size_bytes, CACHE_SHARDS);
	s->counters = core_calloc(s->n_workers, sizeof(*s->counters));
	s->workers = core_calloc(s->n_workers, sizeof(*s->workers));
	if (!s->config_path || !s->cache || !s->counters || !s->workers) {
		cfg_free(cfg);
		r = -ENOMEM;
		goto out_free;
	}
	apply_log_level(cfg);
	if (cfg->server.state_dir && mkdir_parents(cfg->server.state_dir, 0750) != 0)
		core_log_warn("rsv", "cannot create state_dir '%s': %s, ignoring",
			      cfg->server.state_dir, strerror(errno));
	if (cfg->server.forwarders_from_resolv_conf)
		core_log_info("rsv", "no server.forwarders: using the %zu nameserver(s) of /etc/resolv.conf",
			      cfg->server.n_forwarders);
	struct rsv_ruleset *rs;
	r = ruleset_build(s, cfg, 1, NULL, &rs);
	if (r != 0) {
		cfg_free(cfg);
		goto out_free;
	}
	rcu_assign_pointer(s->ruleset, rs);
	malloc_trim(0); /* see server_reload() */
	/* Blocklists: serve the snapshot of the previous run at once when there is one, and read
	 * the lists again once the workers serve; without a snapshot, read them now. */
	struct rsv_lists *lists = NULL;
	bool need_rebuild = false;
	if (rs->cfg->n_lists == 0) {
		r = rsv_lists_build(rs->cfg, NULL, &lists); /* the built-in names only */
	} else if ((r = rsv_lists_open_snapshot(rs->cfg, &lists)) == 0) {
		core_log_notice("rsv", "serving the blocklist snapshot (%zu names) while the lists are read",
				bl_set_count(lists->set));
		need_rebuild = true;
	} else {
		if (r != CORE_ENOTFOUND)
			core_log_warn("rsv", "the blocklist snapshot is unusable (%s), ignoring it",
				      core_strerror(r));
		r = rsv_lists_build(rs->cfg, NULL, &lists);
	}
	if (r != 0)
		goto out_free;
	rcu_assign_pointer(s->lists, lists);

	/* Workers bind with SO_REUSEPORT, which would let this daemon share a port another one
	 * (or another lanhmanhd) already serves: check that each address is free first. */
	for (unsigned i = 0; i < s->n_listen; i++) {
		r = check_listen_free(&s->listen[i]);
		if (r != 0)
			goto out_free;
	}
	r = dnstap_start(s, rs->cfg);
	if (r != 0)
		goto out_free;
	r = uv_loop_init(&ctl->loop);
	if (r != 0)
		goto out_free;
	/* Synced lists: what state_dir holds is served from the first query on; transfers start
	 * once the loop runs. Workers may signal NOTIFYs from their start. */
	uv_async_init(&ctl->loop, &s->notify_async, notify_async_cb);
	s->notify_async.data = s;
	/* Neither it nor the sync timers keep the loop running once a stop closed the rest; they
	 * are closed after the workers (which signal it) have ended. */
	uv_unref((uv_handle_t *)&s->notify_async);
	r = rsv_sync_new(&ctl->loop, sync_changed, s, &s->sync);
	if (r == 0)
		r = rsv_sync_apply_cfg(s->sync, rs->cfg);
	if (r == 0)
		r = attach_view(s, lists);
	if (r != 0)
		goto out_close_loop;
	r = blockpage_start(s, rs->cfg);
	if (r != 0)
		goto out_close_loop;
	ctl->s = s;
	s->ctl_loop = &ctl->loop;
	r = rsv_stats_start(s, rs->cfg, &s->stats);
	if (r != 0)
		goto out_stop_blockpage;
	/* Like the block page: an address that cannot be served stops the start. After the
	 * statistics: /metrics reads their spool state. */
	r = rsv_metrics_apply_cfg(s, rs->cfg, NULL);
	if (r != 0)
		goto out_stop_blockpage;
	r = control_listen(ctl, rs->cfg->server.control_socket);
	if (r != 0)
		goto out_stop_blockpage;

	unsigned started = 0;
	for (; started < s->n_workers; started++) {
		r = rsv_worker_start(s, &s->workers[started], started);
		if (r != 0) {
			started++; /* its thread ran and must be joined */
			break;
		}
	}
	if (r == 0) {
		uv_signal_init(&ctl->loop, &ctl->sighup);
		uv_signal_init(&ctl->loop, &ctl->sigterm);
		uv_signal_init(&ctl->loop, &ctl->sigint);
		ctl->sighup.data = ctl->sigterm.data = ctl->sigint.data = ctl;
		uv_signal_start(&ctl->sighup, signal_cb, SIGHUP);
		uv_signal_start(&ctl->sigterm, signal_cb, SIGTERM);
		uv_signal_start(&ctl->sigint, signal_cb, SIGINT);
		uv_timer_init(&ctl->loop, &ctl->tick);
		ctl->tick.data = ctl;
		uv_timer_start(&ctl->tick, tick_cb, 0, 1000);
		core_log_notice("rsv", "lanhmanhd %s ready: %u workers, %u listen addresses, %u forwarders",
				PACKAGE_VERSION, s->n_workers, s->n_listen, rs->n_forwarders);
		rsv_notify("READY=1\nSTATUS=serving");
		if (need_rebuild)
			start_lists_job(s, &ctl->loop);
		uv_run(&ctl->loop, UV_RUN_DEFAULT);
	} else if (ctl->listening) {
		uv_close((uv_handle_t *)&ctl->listener, NULL);
	}
	for (unsigned i = 0; i < started; i++)
		rsv_worker_stop(&s->workers[i]);
	for (unsigned i = 0; i < started; i++)
		rsv_worker_join(&s->workers[i]);
	/* The last interval: counted until the workers stopped. */
	rsv_stats_stop(s->stats);
	/* No producer is left: write what the queues hold and end the stream. */
	cmpl_dnstap_close(s->dnstap);
	s->dnstap = NULL;
out_stop_blockpage:
	rsv_stats_stop(s->stats); /* nothing when it ran above */
	rsv_blockpage_stop(s->blockpage);
	s->blockpage = NULL;
	rsv_metrics_stop(s);
	if (ctl->socket_path)
		unlink(ctl->socket_path);
out_close_loop:
	rsv_sync_close(s->sync);
	s->sync = NULL;
	uv_close((uv_handle_t *)&s->notify_async, NULL);
	uv_run(&ctl->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&ctl->loop) != 0)
		core_log_warn("rsv", "control loop closed with handles open");
	rsv_stats_free(s->stats);
	s->stats = NULL;
out_free:
	if (s) {
		rsv_metrics_stop(s); /* nothing when stopped above; before what it reads goes */
		rsv_ruleset_unref(s->ruleset);
		rsv_lists_free(s->lists);
		rsv_cache_free(s->cache);
		cmpl_dnstap_close(s->dnstap);
		core_free(s->dnstap_socket);
		core_free(s->counters);
		core_free(s->workers);
		core_free(s->config_path);
	}
	if (ctl)
		core_free(ctl->socket_path);
	if (s) {
		pthread_mutex_destroy(&s->outside_lock);
		pthread_mutex_destroy(&s->build_lock);
		pthread_mutex_destroy(&s->notify_lock);
	}
	core_free(ctl);
	core_free(s);
	return r;
}
