/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Compliance statistics in the daemon: fold, store, spool, upload (see stats.h). */
#include "resolver/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <urcu-qsbr.h>
#include <uv.h>

#include "compliance/batch.h"
#include "compliance/qlog.h"
#include "compliance/records.h"
#include "compliance/store.h"
#include "config.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/dname.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rand.h"
#include "resolver/fetch.h"
#include "resolver/lists.h"
#include "resolver/server.h"
#include "resolver/sync.h"

#define TALLY_KEYS 32768 /* per worker and epoch; more keys go to the overflow unit */
#define TALLY_TOP 2048
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 300000u
#define PRUNE_EVERY_S 3600
#define POST_TIMEOUT_MS 60000u
#define MAX_HELD 64	/* objects kept for naming; a fold comes early when they pile up */
#define QLOG_SLOTS 4096 /* per worker: blocked queries between two drains */
#define QLOG_BATCH 512	/* log lines written per transaction */
#define DRAIN_EVERY_MS 1000

/* Names of one lists generation: what a tally key's list and category mean. */
struct names {
	uint64_t generation;
	uint64_t retired_fold; /* folds done when it was replaced; UINT64_MAX while in force */
	size_t n;
	char **list, **category, **version;
	char *categories[CFG_MAX_CATEGORIES];
	int national; /* index of the national list, -1 */
	int64_t national_applied;
};

struct held_rs {
	struct rsv_ruleset *rs;
	uint64_t retired_fold;
};

struct rsv_stats {
	struct rsv_server *s;
	uv_loop_t *loop;
	/* Settings (copies: a reload frees the config) */
	uint32_t interval_s, retention_days;
	char *store_path, *reporter_id, *url, *ca_file;
	struct cmpl_key key;
	struct cmpl_export_params ex;
	bool export;
	struct cmpl_store *store;
	/* The interval being counted */
	int64_t iv_start;
	struct cmpl_interval iv; /* records folded so far (a failed save keeps them here) */
	bool iv_open;
	uint64_t folds;
	struct held_rs held[MAX_HELD];
	size_t n_held;
	struct names *names[MAX_HELD];
	size_t n_names;
	uint64_t lost;
	/* The local log of blocked queries */
	enum cfg_client_ids client_ids;
	bool qlog;
	unsigned char salt[32]; /* pseudonyms: rotated when the local day changes, never stored */
	char salt_day[11];
	uint64_t qlog_dropped;
	uv_timer_t drain_timer;
	/* Timers and the uploader */
	uv_timer_t interval_timer, upload_timer;
	bool timers_open;
	struct rsv_fetcher *fetcher;
	bool posting, stopping;
	int64_t posting_seq;
	uint32_t backoff_ms;
	int64_t last_success, last_prune;
	char last_error[512];
	struct cmpl_spool_depth depth;
	/* What /metrics reads from its own thread */
	pthread_mutex_t export_lock;
	struct rsv_stats_export export_snap;
};

/* Copy what /metrics shows (control thread). */
static void publish_export_state(struct rsv_stats *st)
{
	pthread_mutex_lock(&st->export_lock);
	st->export_snap = (struct rsv_stats_export){
		.enabled = st->export,
		.batches = st->depth.batches,
		.bytes = st->depth.bytes,
		.waiting = st->depth.waiting,
		.limit = st->ex.spool_limit_bytes,
		.last_success = st->last_success,
		.lost = st->lost,
	};
	pthread_mutex_unlock(&st->export_lock);
}

static void upload_next(struct rsv_stats *st);

static int64_t now_s(void)
{
	return core_clock_wall_s();
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_utc(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- names of lists generations ---------------------------------------------------------- */

static void names_free(struct names *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		core_free(n->list[i]);
		core_free(n->category[i]);
		core_free(n->version[i]);
	}
	for (size_t i = 0; i < CFG_MAX_CATEGORIES; i++)
		core_free(n->categories[i]);
	core_free(n->list);
	core_free(n->category);
	core_free(n->version);
	core_free(n);
}

static char *dup_or_empty(const char *s)
{
	return core_strdup(s ? s : "");
}

static struct names *names_new(struct rsv_stats *st, const struct rsv_lists *l)
{
	struct names *n = core_calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->generation = l->generation;
	n->retired_fold = UINT64_MAX;
	n->national = -1;
	n->n = l->n_status;
	n->list = core_calloc(n->n + 1, sizeof(char *));
	n->category = core_calloc(n->n + 1, sizeof(char *));
	n->version = core_calloc(n->n + 1, sizeof(char *));
	if (!n->list || !n->category || !n->version)
		goto fail;
	char built[32];
	format_utc(l->built_at, built, sizeof(built));
	for (size_t i = 0; i < n->n; i++) {
		const struct rsv_list_status *ls = &l->status[i];
		char v[64];
		snprintf(v, sizeof(v), "file %s", built);
		n->list[i] = dup_or_empty(ls->name);
		n->category[i] = dup_or_empty(ls->category);
		n->version[i] = core_strdup(v);
		if (!n->list[i] || !n->category[i] || !n->version[i])
			goto fail;
		if (n->national < 0 && ls->category && strcmp(ls->category, "national") == 0) {
			n->national = (int)i;
			n->national_applied = l->built_at;
		}
	}
	for (size_t j = 0; j < rsv_sync_count(st->s->sync); j++) {
		struct rsv_sync_version sv;
		rsv_sync_version(st->s->sync, j, &sv);
		if (sv.list_id >= n->n)
			continue;
		char v[64];
		if (sv.have)
			snprintf(v, sizeof(v), "serial %" PRIu32, sv.serial);
		else
			snprintf(v, sizeof(v), "none");
		char *c = core_strdup(v);
		if (!c)
			goto fail;
		core_free(n->version[sv.list_id]);
		n->version[sv.list_id] = c;
		if ((int)sv.list_id == n->national)
			n->national_applied = sv.applied;
	}
	for (size_t i = 0; i < CFG_MAX_CATEGORIES; i++) {
		if (l->categories[i] && !(n->categories[i] = core_strdup(l->categories[i])))
			goto fail;
	}
	return n;
fail:
	names_free(n);
	return NULL;
}

static const struct names *names_find(const struct rsv_stats *st, uint16_t gen)
{
	for (size_t i = st->n_names; i-- > 0;) {
		if ((uint16_t)st->names[i]->generation == gen)
			return st->names[i];
	}
	return NULL;
}

static const struct rsv_ruleset *ruleset_find(const struct rsv_stats *st, uint16_t gen)
{
	const struct rsv_ruleset *cur = st->s->ruleset;
	if ((uint16_t)cur->generation == gen)
		return cur;
	for (size_t i = st->n_held; i-- > 0;) {
		if ((uint16_t)st->held[i].rs->generation == gen)
			return st->held[i].rs;
	}
	return NULL;
}

/* Drop what was replaced before the fold that just ended: no tally can name it any more. */
static void release_retired(struct rsv_stats *st)
{
	size_t k = 0;
	for (size_t i = 0; i < st->n_held; i++) {
		if (st->held[i].retired_fold < st->folds)
			rsv_ruleset_unref(st->held[i].rs);
		else
			st->held[k++] = st->held[i];
	}
	st->n_held = k;
	k = 0;
	for (size_t i = 0; i < st->n_names; i++) {
		if (st->names[i]->retired_fold < st->folds)
			names_free(st->names[i]);
		else
			st->names[k++] = st->names[i];
	}
	st->n_names = k;
}

/* ---- folding ----------------------------------------------------------------------------- */

struct unit_names {
	char id[128], name[256], province[128], group[128];
};

static void name_unit(const struct rsv_ruleset *rs, uint32_t unit, uint16_t group,
		      struct unit_names *u)
{
	snprintf(u->province, sizeof(u->province), "%s", "");
	if (unit == CMPL_UNIT_OVERFLOW || !rs) {
		snprintf(u->id, sizeof(u->id), "other");
		snprintf(u->name, sizeof(u->name), "other (too many networks in one interval)");
	} else if (unit == RSV_UNIT_LOCALHOST) {
		snprintf(u->id, sizeof(u->id), "localhost");
		snprintf(u->name, sizeof(u->name), "localhost");
	} else if (unit & RSV_UNIT_MMDB) {
		const struct pol_mmdb *m = pol_policy_mmdb(rs->policy, (unit >> 24) & 0x7f);
		struct pol_mmdb_result res;
		if (m && pol_mmdb_slot_fields(m, unit & 0xffffff, &res) == 0) {
			snprintf(u->id, sizeof(u->id), "%s", res.network_id);
			snprintf(u->name, sizeof(u->name), "%s", res.network_id);
			snprintf(u->province, sizeof(u->province), "%s", res.province);
		} else {
			snprintf(u->id, sizeof(u->id), "other");
			snprintf(u->name, sizeof(u->name), "other (unreadable subscriber record)");
		}
	} else if (unit < rs->cfg->n_networks) {
		const struct cfg_network *n = &rs->cfg->networks[unit];
		snprintf(u->id, sizeof(u->id), "%s", n->id ? n->id : n->name ? n->name : "");
		snprintf(u->name, sizeof(u->name), "%s", n->name ? n->name : u->id);
	} else {
		snprintf(u->id, sizeof(u->id), "other");
		snprintf(u->name, sizeof(u->name), "other");
	}
	const struct pol_group *g = rs && group < pol_policy_group_count(rs->policy) ?
					    pol_policy_group(rs->policy, group) :
					    NULL;
	snprintf(u->group, sizeof(u->group), "%s", g ? g->name : "other");
}

struct fold_ctx {
	struct rsv_stats *st;
	int err;
};

/* What blocked a CMPL_EV_BLOCK key, named with the lists generation that counted it. */
struct block_names {
	const char *category, *list, *version;
};

static void name_block(const struct rsv_stats *st, const struct cmpl_tally_key *k,
		       struct block_names *b)
{
	const struct names *n = names_find(st, k->lists_gen);
	b->category = "deny";
	b->version = "";
	if (k->category != CMPL_NO_CATEGORY)
		b->category =
			n && n->categories[k->category] ? n->categories[k->category] : "unknown";
	switch (k->by) {
	case CMPL_BY_GROUP_DENY:
		b->list = "deny (group)";
		break;
	case CMPL_BY_NETWORK_DENY:
		b->list = "deny (network)";
		break;
	default:
		if (n && k->list < n->n) {
			b->list = n->list[k->list];
			b->version = n->version[k->list];
		} else {
			b->list = "built-in";
		}
		break;
	}
}

/* Wire name @name as text without its final dot, into @out (@size bytes). */
static void name_to_text(const uint8_t *name, size_t len, char *out, size_t size)
{
	size_t n = core_dname_to_text(name, len, out, size);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static void fold_key(void *arg, const struct cmpl_tally_key *k, uint64_t count)
{
	struct fold_ctx *fc = arg;
	struct rsv_stats *st = fc->st;
	struct unit_names u;
	name_unit(ruleset_find(st, k->rs_gen), k->unit, k->group, &u);
	int r;
	if (k->event == CMPL_EV_QUERY) {
		r = cmpl_interval_add_total(&st->iv, u.id, u.name, u.province, u.group, count, 0);
	} else {
		struct block_names b;
		name_block(st, k, &b);
		r = cmpl_interval_add_total(&st->iv, u.id, u.name, u.province, u.group, 0, count);
		if (r == 0)
			r = cmpl_interval_add_block(&st->iv, u.id, u.group, b.category, b.list,
						    b.version, count);
	}
	if (r != 0)
		fc->err = r;
}

static void fold_top(void *arg, uint32_t unit, uint16_t rs_gen, const uint8_t *name, size_t len,
		     uint64_t count)
{
	struct fold_ctx *fc = arg;
	struct unit_names u;
	name_unit(ruleset_find(fc->st, rs_gen), unit, UINT16_MAX, &u);
	char text[CORE_DNAME_TEXT_MAX];
	name_to_text(name, len, text, sizeof(text));
	int r = cmpl_interval_add_top(&fc->st->iv, u.id, text, count);
	if (r != 0)
		fc->err = r;
}

static void local_day(const struct rsv_stats *st, int64_t t, char out[11]);

/* ---- the local log of blocked queries ------------------------------------------------------ */

struct drain_ctx {
	struct rsv_stats *st;
	struct cmpl_logged_query q[QLOG_BATCH];
	/* strings the entries point to */
	struct unit_names u[QLOG_BATCH];
	char client[QLOG_BATCH][INET6_ADDRSTRLEN + 8];
	char qname[QLOG_BATCH][CORE_DNAME_TEXT_MAX];
	size_t n;
};

static void drain_flush(struct drain_ctx *dc)
{
	if (dc->n && cmpl_store_log_queries(dc->st->store, dc->q, dc->n) != 0)
		core_log_err("stats", "cannot write %zu lines of the query log", dc->n);
	dc->n = 0;
}

/* The client as `client_ids` says: nothing, a keyed hash (the day's salt), or the address. */
static void name_client(struct rsv_stats *st, const struct cmpl_qlog_entry *e, char *out,
			size_t size)
{
	size_t len = e->family == AF_INET6 ? 16 : 4;
	switch (st->client_ids) {
	case CFG_CLIENT_IDS_NONE:
		out[0] = '\0';
		return;
	case CFG_CLIENT_IDS_FULL:
		inet_ntop(e->family, e->addr, out, (socklen_t)size);
		return;
	default: {
		char day[11];
		local_day(st, e->time, day);
		if (strcmp(day, st->salt_day) != 0) {
			/* a new day: a new salt, and yesterday's pseudonyms can no longer be linked */
			randombytes_buf(st->salt, sizeof(st->salt));
			memcpy(st->salt_day, day, sizeof(st->salt_day));
		}
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state h;
		crypto_auth_hmacsha256_init(&h, st->salt, sizeof(st->salt));
		crypto_auth_hmacsha256_update(&h, e->addr, len);
		crypto_auth_hmacsha256_final(&h, mac);
		snprintf(out, size, "c-%02x%02x%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5], mac[6], mac[7]);
		return;
	}
	}
}

static void drain_one(void *arg, const struct cmpl_qlog_entry *e)
{
	struct drain_ctx *dc = arg;
	struct rsv_stats *st = dc->st;
	size_t i = dc->n;
	const struct cmpl_tally_key *k = &e->key;
	name_unit(ruleset_find(st, k->rs_gen), k->unit, k->group, &dc->u[i]);
	name_client(st, e, dc->client[i], sizeof(dc->client[i]));
	name_to_text(e->qname, e->qname_len, dc->qname[i], sizeof(dc->qname[i]));
	struct block_names b;
	name_block(st, k, &b);
	dc->q[i] = (struct cmpl_logged_query){
		.time = e->time,
		.client = dc->client[i],
		.network_id = dc->u[i].id,
		.group = dc->u[i].group,
		.qname = dc->qname[i],
		.category = b.category,
		.list = b.list,
		.qtype = e->qtype,
	};
	if (++dc->n == QLOG_BATCH)
		drain_flush(dc);
}

/* Write what the workers logged since the last drain. */
static void drain_qlog(struct rsv_stats *st)
{
	struct rsv_server *s = st->s;
	if (!s->qlog)
		return;
	struct drain_ctx *dc = core_malloc(sizeof(*dc));
	if (!dc)
		return; /* the rings keep the entries for the next try */
	dc->st = st;
	dc->n = 0;
	uint64_t dropped = 0;
	for (unsigned w = 0; w < s->n_workers; w++) {
		(void)cmpl_qlog_drain(&s->qlog[w], drain_one, dc);
		dropped += atomic_load_explicit(&s->qlog[w].dropped, memory_order_relaxed);
	}
	drain_flush(dc);
	core_free(dc);
	if (dropped > st->qlog_dropped)
		core_log_warn("stats",
			      "query log: %" PRIu64
			      " blocked queries not logged (too many at once)",
			      dropped - st->qlog_dropped);
	st->qlog_dropped = dropped;
}

static void drain_cb(uv_timer_t *t)
{
	drain_qlog(t->data);
}

/* Switch the workers to the other tallies, wait until none writes the old ones, and fold
 * those into st->iv. */
static int fold(struct rsv_stats *st)
{
	struct rsv_server *s = st->s;
	drain_qlog(st); /* before the objects that name its entries may go */
	unsigned old = atomic_load(&s->tally_epoch) & 1;
	atomic_store(&s->tally_epoch, old ^ 1);
	synchronize_rcu();
	struct fold_ctx fc = {.st = st};
	for (unsigned w = 0; w < s->n_workers; w++) {
		struct cmpl_tally *t = &s->tally[old][w];
		cmpl_tally_each(t, fold_key, &fc);
		cmpl_tally_each_top(t, fold_top, &fc);
		st->lost += t->lost;
		cmpl_tally_clear(t);
	}
	st->folds++;
	release_retired(st);
	if (fc.err)
		core_log_err("stats", "out of memory while folding the counts: %s",
			     core_strerror(fc.err));
	return fc.err;
}

/* ---- intervals --------------------------------------------------------------------------- */

static void local_day(const struct rsv_stats *st, int64_t t, char out[11])
{
	const struct pol_clock *c = pol_policy_clock(st->s->ruleset->policy);
	time_t local = (time_t)(t + (c ? pol_clock_utc_offset(c, t) : 0));
	struct tm tm;
	gmtime_r(&local, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static int open_interval(struct rsv_stats *st, int64_t start)
{
	char day[11];
	local_day(st, start, day);
	int r = cmpl_interval_init(&st->iv, start, start, day);
	if (r == 0) {
		st->iv_open = true;
		st->iv_start = start;
	}
	return r;
}

static void refresh_depth(struct rsv_stats *st)
{
	if (cmpl_store_outbox_depth(st->store, &st->depth) != 0)
		memset(&st->depth, 0, sizeof(st->depth));
	publish_export_state(st);
}

/* Close the interval at @end: fold, store, spool; then open the next one. */
static int close_interval(struct rsv_stats *st, int64_t end)
{
	/* Out of memory when the last one closed: open it now, before folding into it. */
	if (!st->iv_open && open_interval(st, st->iv_start) != 0)
		return -ENOMEM;
	(void)fold(st);
	st->iv.end = end > st->iv.start ? end : st->iv.start;
	const struct names *n = st->n_names ? st->names[st->n_names - 1] : NULL;
	if (n && n->national >= 0 &&
	    cmpl_interval_set_national(&st->iv, n->version[n->national], n->national_applied) != 0)
		core_log_err("stats", "out of memory: the national list version is not recorded");
	int64_t id = 0;
	int r = cmpl_store_save_interval(st->store, &st->iv, st->export ? &st->ex : NULL, &id);
	if (r != 0) {
		/* The counts stay in memory and go with the next interval. */
		core_log_err("stats",
			     "cannot store the interval: %s; its counts are kept for the next one",
			     core_strerror(r));
		return r;
	}
	core_log_info("stats",
		      "interval %" PRId64 " stored: %" PRIu64 " queries, %" PRIu64
		      " blocked, %zu networks",
		      id, st->iv.queries, st->iv.blocked, st->iv.n_totals);
	cmpl_interval_fini(&st->iv);
	st->iv_open = false;
	r = open_interval(st, end);
	if (r != 0)
		core_log_err("stats", "out of memory: cannot open the next interval");
	if (st->export && cmpl_store_spool_pending(st->store, &st->ex) < 0)
		core_log_warn("stats", "cannot spool the intervals waiting for room");
	refresh_depth(st);
	if (now_s() - st->last_prune >= PRUNE_EVERY_S) {
		int64_t gone = cmpl_store_prune(st->store, now_s(), st->retention_days);
		st->last_prune = now_s();
		if (gone > 0)
			core_log_info("stats",
				      "retention: %" PRId64 " rows older than %u days deleted",
				      gone, st->retention_days);
	}
	upload_next(st);
	return 0;
}

/* Milliseconds until the next multiple of the interval (wall clock). */
static uint64_t ms_to_boundary(const struct rsv_stats *st)
{
	int64_t now_ms = wall_ms();
	int64_t iv = (int64_t)st->interval_s * 1000;
	int64_t next = (now_ms / iv + 1) * iv;
	return (uint64_t)(next - now_ms);
}

static void interval_cb(uv_timer_t *t)
{
	struct rsv_stats *st = t->data;
	int64_t now_ms = wall_ms();
	int64_t iv = (int64_t)st->interval_s * 1000;
	int64_t end = (now_ms + 500) / iv * iv / 1000; /* the boundary just passed */
	(void)close_interval(st, end);
	uv_timer_start(&st->interval_timer, interval_cb, ms_to_boundary(st), 0);
}

/* ---- upload ------------------------------------------------------------------------------ */

static void upload_timer_cb(uv_timer_t *t)
{
	upload_next(t->data);
}

static void backoff(struct rsv_stats *st)
{
	st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (st->backoff_ms > BACKOFF_MAX_MS)
		st->backoff_ms = BACKOFF_MAX_MS;
	uint64_t jitter = core_rand_u32() % (st->backoff_ms / 4 + 1);
	uv_timer_start(&st->upload_timer, upload_timer_cb, st->backoff_ms + jitter, 0);
}

static void upload_done(void *arg, const struct rsv_fetch_result *res)
{
	struct rsv_stats *st = arg;
	st->posting = false;
	int64_t seq = st->posting_seq;
	if (res->status == 0 || res->http_code == 409) {
		/* 409: the authority has it already (an acknowledgement we did not see) */
		if (cmpl_store_outbox_ack(st->store, seq) != 0)
			core_log_err("stats", "cannot delete batch %" PRId64 " from the spool",
				     seq);
		st->last_success = now_s();
		st->backoff_ms = 0;
		st->last_error[0] = '\0';
		refresh_depth(st);
		if (cmpl_store_spool_pending(st->store, &st->ex) > 0)
			refresh_depth(st);
		if (!st->stopping)
			upload_next(st);
		return;
	}
	snprintf(st->last_error, sizeof(st->last_error), "%s", res->error);
	(void)cmpl_store_outbox_failed(st->store, seq, res->error);
	if (res->status == -ECANCELED || st->stopping)
		return;
	core_log_warn("stats", "batch %" PRId64 " not delivered: %s (kept in the spool)", seq,
		      res->error);
	backoff(st);
}

static void upload_next(struct rsv_stats *st)
{
	if (!st->export || st->posting || st->stopping || !st->fetcher)
		return;
	if (uv_is_active((uv_handle_t *)&st->upload_timer) && st->backoff_ms)
		return; /* waiting after a failure */
	struct cmpl_outbox_item it;
	int r = cmpl_store_outbox_peek(st->store, &it);
	if (r != 0) {
		if (r != CORE_ENOTFOUND)
			core_log_err("stats", "cannot read the spool: %s", core_strerror(r));
		return;
	}
	char h_key[192], h_sig[160], h_rep[128], h_seq[48];
	snprintf(h_key, sizeof(h_key), "Idempotency-Key: %s", it.idempotency_key);
	snprintf(h_sig, sizeof(h_sig), "X-Lanhmanh-Signature: %s", it.signature);
	snprintf(h_rep, sizeof(h_rep), "X-Lanhmanh-Reporter: %s", st->reporter_id);
	snprintf(h_seq, sizeof(h_seq), "X-Lanhmanh-Seq: %" PRId64, it.seq);
	const char *headers[] = {"Content-Type: application/json", h_key, h_sig, h_rep, h_seq};
	struct rsv_fetch_request req = {
		.url = st->url,
		.ca_file = st->ca_file,
		.post_body = it.body,
		.post_len = it.body_len,
		.headers = headers,
		.n_headers = sizeof(headers) / sizeof(headers[0]),
		.max_bytes = 1 << 20,
		.total_timeout_ms = POST_TIMEOUT_MS,
	};
	st->posting_seq = it.seq;
	r = rsv_fetch_start(st->fetcher, &req, upload_done, st);
	cmpl_outbox_item_fini(&it);
	if (r != 0) {
		snprintf(st->last_error, sizeof(st->last_error), "cannot start the upload: %s",
			 core_strerror(r));
		backoff(st);
		return;
	}
	st->posting = true;
}

/* ---- start, stop, control ---------------------------------------------------------------- */

static int copy_settings(struct rsv_stats *st, const struct cfg_root *cfg)
{
	const struct cfg_compliance *c = &cfg->compliance;
	st->interval_s = c->interval_s;
	st->retention_days = c->retention_days;
	st->client_ids = c->client_ids;
	st->ex.k_threshold = c->k_threshold;
	st->ex.top_domains = c->top_domains;
	st->ex.spool_limit_bytes = c->spool_limit_bytes;
	st->ex.software = "lanhmanh " PACKAGE_VERSION;
	return 0;
}

int rsv_stats_start(struct rsv_server *s, const struct cfg_root *cfg, struct rsv_stats **out)
{
	*out = NULL;
	const struct cfg_compliance *c = &cfg->compliance;
	if (!c->enabled)
		return 0;
	struct rsv_stats *st = core_calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->s = s;
	st->loop = s->ctl_loop;
	pthread_mutex_init(&st->export_lock, NULL);
	int r = -ENOMEM;
	char path[4200];
	if (c->store)
		snprintf(path, sizeof(path), "%s", c->store);
	else
		snprintf(path, sizeof(path), "%s/stats.sqlite", cfg->server.state_dir);
	st->store_path = core_strdup(path);
	if (!st->store_path)
		goto fail;
	copy_settings(st, cfg);
	char err[512] = "";
	r = cmpl_store_open(st->store_path, &st->store, err, sizeof(err));
	if (r != 0) {
		core_log_err("stats", "%s", err[0] ? err : core_strerror(r));
		goto fail;
	}
	if (c->reporter_id) {
		st->reporter_id = core_strdup(c->reporter_id);
		if (!st->reporter_id)
			goto fail;
		(void)cmpl_store_set_meta(st->store, "reporter_id", c->reporter_id);
	}
	if (c->authority_url) {
		r = cmpl_key_load(c->authority_key_file, &st->key, err, sizeof(err));
		if (r != 0) {
			core_log_err("stats", "%s", err[0] ? err : core_strerror(r));
			goto fail;
		}
		st->url = core_strdup(c->authority_url);
		st->ca_file = c->authority_ca_file ? core_strdup(c->authority_ca_file) : NULL;
		if (!st->url || (c->authority_ca_file && !st->ca_file))
			goto fail;
		st->export = true;
		st->ex.reporter_id = st->reporter_id;
		st->ex.key = &st->key;
		r = rsv_fetcher_new(st->loop, &st->fetcher);
		if (r != 0)
			goto fail;
	}
	for (unsigned e = 0; e < 2; e++) {
		s->tally[e] = core_calloc(s->n_workers, sizeof(struct cmpl_tally));
		if (!s->tally[e]) {
			r = -ENOMEM;
			goto fail;
		}
		for (unsigned w = 0; w < s->n_workers; w++) {
			r = cmpl_tally_init(&s->tally[e][w], TALLY_KEYS, TALLY_TOP);
			if (r != 0)
				goto fail;
		}
	}
	st->client_ids = c->client_ids;
	st->qlog = c->query_log;
	if (st->qlog) {
		s->qlog = core_calloc(s->n_workers, sizeof(*s->qlog));
		if (!s->qlog) {
			r = -ENOMEM;
			goto fail;
		}
		for (unsigned w = 0; w < s->n_workers; w++) {
			r = cmpl_qlog_init(&s->qlog[w], QLOG_SLOTS);
			if (r != 0)
				goto fail;
		}
	}
	r = open_interval(st, core_clock_wall_s());
	if (r != 0)
		goto fail;
	st->last_prune = 0;
	uv_timer_init(st->loop, &st->interval_timer);
	uv_timer_init(st->loop, &st->upload_timer);
	uv_timer_init(st->loop, &st->drain_timer);
	st->interval_timer.data = st->upload_timer.data = st->drain_timer.data = st;
	uv_unref((uv_handle_t *)&st->interval_timer);
	uv_unref((uv_handle_t *)&st->upload_timer);
	uv_unref((uv_handle_t *)&st->drain_timer);
	st->timers_open = true;
	uv_timer_start(&st->interval_timer, interval_cb, ms_to_boundary(st), 0);
	if (st->qlog)
		uv_timer_start(&st->drain_timer, drain_cb, DRAIN_EVERY_MS, DRAIN_EVERY_MS);
	refresh_depth(st);
	/* Retention runs at start too, and batches left by a previous run go out now. */
	st->last_prune = now_s();
	(void)cmpl_store_prune(st->store, st->last_prune, st->retention_days);
	if (st->export)
		(void)cmpl_store_spool_pending(st->store, &st->ex);
	rsv_stats_lists_published(st, s->lists);
	upload_next(st);
	core_log_info("stats", "statistics in '%s' every %u s%s%s", st->store_path, st->interval_s,
		      st->export ? ", exported to " : "", st->export ? st->url : "");
	*out = st;
	return 0;
fail:
	rsv_stats_stop(st);
	rsv_stats_free(st);
	return r ? r : -ENOMEM;
}

void rsv_stats_ruleset_retired(struct rsv_stats *st, struct rsv_ruleset *old)
{
	if (!st) {
		rsv_ruleset_unref(old);
		return;
	}
	if (st->n_held == MAX_HELD) {
		(void)close_interval(st, now_s()); /* frees what no tally names any more */
		if (st->n_held == MAX_HELD) {
			rsv_ruleset_unref(old);
			return;
		}
	}
	st->held[st->n_held++] = (struct held_rs){.rs = old, .retired_fold = st->folds};
}

void rsv_stats_lists_published(struct rsv_stats *st, const struct rsv_lists *lists)
{
	if (!st)
		return;
	if (st->n_names == MAX_HELD)
		(void)close_interval(st, now_s());
	struct names *n = names_new(st, lists);
	if (!n || st->n_names == MAX_HELD) {
		core_log_err("stats",
			     "out of memory: blocks of the new lists will be named 'unknown'");
		names_free(n);
		return;
	}
	if (st->n_names)
		st->names[st->n_names - 1]->retired_fold = st->folds;
	st->names[st->n_names++] = n;
	for (size_t i = 0; i < n->n; i++) {
		int64_t applied = (int)i == n->national ? n->national_applied : lists->built_at;
		(void)cmpl_store_note_version(st->store, n->list[i], n->category[i], n->version[i],
					      applied ? applied : now_s(),
					      strncmp(n->version[i], "serial", 6) == 0 ? "sync" :
											 "file",
					      lists->status[i].entries);
	}
}

void rsv_stats_apply_cfg(struct rsv_stats *st, const struct cfg_root *cfg)
{
	if (!st)
		return;
	const struct cfg_compliance *c = &cfg->compliance;
	bool restart = !c->enabled || !c->authority_url != !st->url || c->query_log != st->qlog ||
		       (c->authority_url && strcmp(c->authority_url, st->url) != 0) ||
		       (c->store && strcmp(c->store, st->store_path) != 0);
	if (restart)
		core_log_warn(
			"stats",
			"compliance.store, authority or the section itself changed: restart lanhmanhd to apply it");
	uint32_t old_interval = st->interval_s;
	copy_settings(st, cfg);
	if (st->interval_s != old_interval && st->timers_open)
		uv_timer_start(&st->interval_timer, interval_cb, ms_to_boundary(st), 0);
}

int rsv_stats_flush(struct rsv_stats *st, struct core_buf *out)
{
	if (!st) {
		(void)core_buf_printf(out, "statistics are off (no compliance: section)\n");
		return CORE_ENOTFOUND;
	}
	int r = close_interval(st, now_s());
	if (r != 0) {
		(void)core_buf_printf(out, "the interval could not be stored: %s\n",
				      core_strerror(r));
		return r;
	}
	if (st->backoff_ms) {
		/* An operator asks: try now rather than at the end of the backoff. */
		uv_timer_stop(&st->upload_timer);
		st->backoff_ms = 0;
		upload_next(st);
	}
	(void)core_buf_printf(out, "interval stored; spool: %" PRIu64 " batch%s\n",
			      st->depth.batches, st->depth.batches == 1 ? "" : "es");
	return 0;
}

void rsv_stats_status(struct rsv_stats *st, struct core_buf *out)
{
	if (!st) {
		(void)core_buf_printf(out, "statistics: off (no compliance: section)\n");
		return;
	}
	char since[32];
	format_utc(st->iv_start, since, sizeof(since));
	(void)core_buf_printf(out, "statistics: %s, every %u s, this interval since %s\n",
			      st->store_path, st->interval_s, since);
	if (st->lost)
		(void)core_buf_printf(out,
				      "statistics: ALERT %" PRIu64
				      " events could not be counted (tables full)\n",
				      st->lost);
	if (!st->export) {
		(void)core_buf_printf(out, "export: off (no compliance.authority)\n");
		return;
	}
	(void)core_buf_printf(
		out, "export: %s, spool %" PRIu64 " batches (%" PRIu64 " of %" PRIu64 " bytes)%s\n",
		st->url, st->depth.batches, st->depth.bytes, st->ex.spool_limit_bytes,
		st->posting ? ", uploading" : "");
	if (st->depth.waiting)
		(void)core_buf_printf(
			out,
			"export: ALERT spool full: %" PRIu64
			" intervals wait for room (kept in the store; nothing is lost while the authority catches up)\n",
			st->depth.waiting);
	if (st->last_success) {
		char t[32];
		format_utc(st->last_success, t, sizeof(t));
		(void)core_buf_printf(out, "export: last delivered %s\n", t);
	}
	if (st->last_error[0])
		(void)core_buf_printf(out, "export: last error: %s (retry in %u s)\n",
				      st->last_error, st->backoff_ms / 1000);
}

void rsv_stats_export_state(const struct rsv_stats *st, struct rsv_stats_export *out)
{
	memset(out, 0, sizeof(*out));
	if (!st)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&st->export_lock);
	*out = st->export_snap;
	pthread_mutex_unlock((pthread_mutex_t *)&st->export_lock);
}

void rsv_stats_stop(struct rsv_stats *st)
{
	if (!st || st->stopping)
		return;
	if (st->store && st->iv_open && st->s->tally[1])
		(void)close_interval(st, now_s());
	st->stopping = true;
	rsv_fetcher_close(st->fetcher);
	st->fetcher = NULL;
	if (st->timers_open) {
		uv_close((uv_handle_t *)&st->interval_timer, NULL);
		uv_close((uv_handle_t *)&st->upload_timer, NULL);
		uv_close((uv_handle_t *)&st->drain_timer, NULL);
		st->timers_open = false;
	}
}

void rsv_stats_free(struct rsv_stats *st)
{
	if (!st)
		return;
	struct rsv_server *s = st->s;
	for (unsigned e = 0; e < 2; e++) {
		for (unsigned w = 0; s->tally[e] && w < s->n_workers; w++)
			cmpl_tally_fini(&s->tally[e][w]);
		s->tally[e] = core_free(s->tally[e]);
	}
	for (unsigned w = 0; s->qlog && w < s->n_workers; w++)
		cmpl_qlog_fini(&s->qlog[w]);
	s->qlog = core_free(s->qlog);
	for (size_t i = 0; i < st->n_held; i++)
		rsv_ruleset_unref(st->held[i].rs);
	for (size_t i = 0; i < st->n_names; i++)
		names_free(st->names[i]);
	if (st->iv_open)
		cmpl_interval_fini(&st->iv);
	cmpl_store_close(st->store);
	explicit_bzero(&st->key, sizeof(st->key));
	core_free(st->store_path);
	core_free(st->reporter_id);
	core_free(st->url);
	core_free(st->ca_file);
	pthread_mutex_destroy(&st->export_lock);
	core_free(st);
}
