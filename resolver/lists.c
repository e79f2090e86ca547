/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Building, saving and mapping the blocklists in force (see lists.h). */
#include "resolver/lists.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklists/parse.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/dname.h"
#include "core/error.h"
#include "core/log.h"
#include "policy/builtin.h"

#define MAX_ENTRIES (50u * 1000 * 1000)
#define SNAPSHOT_NAME "blocklists.set"

const char *rsv_list_source_name(enum rsv_list_source source)
{
	switch (source) {
	case RSV_LIST_FROM_FILE:
		return "file";
	case RSV_LIST_FROM_LAST_GOOD:
		return "last good copy";
	case RSV_LIST_FROM_SNAPSHOT:
		return "snapshot of the previous run";
	case RSV_LIST_FROM_PRIMARY:
		return "the authority (zone transfer or HTTPS)";
	default:
		return "missing";
	}
}

const char *rsv_lists_category(const struct rsv_lists *lists, unsigned bit)
{
	if (bit < CFG_MAX_CATEGORIES && lists->categories[bit])
		return lists->categories[bit];
	return "unknown";
}

const char *rsv_lists_first_category(const struct rsv_lists *lists, uint32_t categories)
{
	for (unsigned bit = 0; bit < CFG_MAX_CATEGORIES; bit++) {
		if (categories & (1u << bit))
			return rsv_lists_category(lists, bit);
	}
	return "unknown";
}

struct rsv_lists *rsv_lists_free(struct rsv_lists *lists)
{
	if (!lists)
		return NULL;
	bl_set_unref(lists->set);
	bl_ipset_free(lists->ips);
	bl_view_free(lists->view);
	bl_view_free(lists->audit_view);
	for (size_t i = 0; i < CFG_MAX_CATEGORIES; i++)
		core_free(lists->categories[i]);
	for (size_t i = 0; i < lists->n_status; i++) {
		core_free(lists->status[i].name);
		core_free(lists->status[i].category);
		core_free(lists->status[i].problem);
	}
	core_free(lists->status);
	return core_free(lists);
}

/* A new lists object with @cfg's categories and one status per list. */
static struct rsv_lists *lists_new(const struct cfg_root *cfg)
{
	struct rsv_lists *l = core_calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	for (size_t i = 0; i < CFG_MAX_CATEGORIES; i++) {
		if (cfg->categories[i] && !(l->categories[i] = core_strdup(cfg->categories[i])))
			goto out_free;
	}
	if (cfg->n_lists) {
		l->status = core_calloc(cfg->n_lists, sizeof(*l->status));
		if (!l->status)
			goto out_free;
		l->n_status = cfg->n_lists;
		for (size_t i = 0; i < cfg->n_lists; i++) {
			l->status[i].name = core_strdup(cfg->lists[i].name);
			l->status[i].category = core_strdup(cfg->lists[i].category);
			if (!l->status[i].name || !l->status[i].category)
				goto out_free;
		}
	}
	l->built_at = core_clock_wall_s();
	return l;
out_free:
	rsv_lists_free(l);
	return NULL;
}

static int path_in_state(const struct cfg_root *cfg, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", cfg->server.state_dir, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Copy @src to @dst atomically (temporary file, fsync, rename). */
static int copy_file(const char *src, const char *dst)
{
	char tmp[4096];
	char buf[1 << 16];
	int in = -1, out = -1, r = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= sizeof(tmp))
		return -ENAMETOOLONG;
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (in < 0 || out < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				r = -errno;
				goto out;
			}
			off += w;
		}
	}
	if (fsync(out) != 0 || rename(tmp, dst) != 0)
		r = -errno;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (r != 0)
		unlink(tmp);
	return r;
}

/* Parse one list file into @b; on success @rep holds what happened (the caller clears it), on
 * failure it is empty. */
static int parse_one(const struct cfg_list *cl, const char *path, struct bl_builder *b,
		     uint16_t list_id, struct bl_parse_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	int r = bl_parse_file((enum bl_format)cl->format, path, cl->origin, b, list_id,
			      1u << cl->category_bit, rep);
	if (r != 0)
		bl_parse_report_clear(rep); /* what a failed parse gathered is not used */
	return r;
}

static void note(struct core_buf *report, enum core_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct core_buf *report, enum core_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	core_log(level, "rsv", "%s", line);
	if (report)
		(void)core_buf_printf(report, "%s\n", line);
}

/* IP triggers gathered while the lists are read. */
struct ranges {
	struct bl_ip_range *v;
	size_t n, cap;
};

static int keep_ip_triggers(struct ranges *rg, const struct bl_parse_report *rep,
			    uint16_t list_id, uint32_t categories)
{
	for (size_t k = 0; k < rep->n_ip_triggers; k++) {
		const struct bl_ip_trigger *t = &rep->ip_triggers[k];
		if (rg->n == rg->cap) {
			size_t cap = rg->cap ? 2 * rg->cap : 16;
			struct bl_ip_range *v = core_realloc(rg->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			rg->v = v;
			rg->cap = cap;
		}
		struct bl_ip_range *g = &rg->v[rg->n++];
		memset(g, 0, sizeof(*g));
		g->family = t->family;
		memcpy(g->addr, t->addr, sizeof(g->addr));
		g->prefix = t->prefix;
		g->action = t->action;
		g->list_id = list_id;
		g->categories = categories;
		g->line = t->line;
	}
	return 0;
}

/* Add list @i of @cfg to @b: its file, or its last good copy. */
static int add_list(const struct cfg_root *cfg, size_t i, struct bl_builder *b,
		    struct rsv_list_status *st, struct ranges *rg, struct core_buf *report)
{
	const struct cfg_list *cl = &cfg->lists[i];
	char last[4096], name[512];
	struct bl_parse_report rep;
	snprintf(name, sizeof(name), "lists/%s.last", cl->name);
	if (path_in_state(cfg, name, last, sizeof(last)) != 0)
		return -ENAMETOOLONG;
	bool have_last = access(last, R_OK) == 0;
	int r = -ENOENT;

	(void)bl_builder_set_list_name(b, (uint16_t)i, cl->name);
	if (cl->file) {
		r = parse_one(cl, cl->file, b, (uint16_t)i, &rep);
		if (r == 0 && rep.entries == 0 && have_last) {
			/* An empty list where there was one is suspicious: keep the last good. */
			note(report, CORE_LOG_WARNING,
			     "list '%s': '%s' has no entries; keeping its last good copy", cl->name,
			     cl->file);
			st->problem = core_strdup("the file has no entries");
			bl_parse_report_clear(&rep);
			r = -ENODATA;
		}
	}
	if (r == 0) {
		st->source = RSV_LIST_FROM_FILE;
		int c = copy_file(cl->file, last);
		if (c != 0)
			note(report, CORE_LOG_WARNING, "list '%s': cannot save a copy to '%s': %s",
			     cl->name, last, core_strerror(c));
	} else if (r == CORE_ELIMIT || r == -ENOMEM) {
		return r;
	} else {
		if (r != -ENODATA) {
			char why[256];
			snprintf(why, sizeof(why), "cannot read '%s': %s", cl->file ? cl->file : "",
				 core_strerror(r));
			st->problem = core_strdup(why);
		}
		if (!have_last) {
			note(report, CORE_LOG_ERR, "list '%s': %s, and there is no last good copy",
			     cl->name, st->problem ? st->problem : "no file");
			st->source = RSV_LIST_MISSING;
			return 0;
		}
		r = parse_one(cl, last, b, (uint16_t)i, &rep);
		if (r != 0) {
			if (r == CORE_ELIMIT || r == -ENOMEM)
				return r;
			note(report, CORE_LOG_ERR, "list '%s': its last good copy '%s' is unreadable: %s",
			     cl->name, last, core_strerror(r));
			st->source = RSV_LIST_MISSING;
			return 0;
		}
		note(report, CORE_LOG_WARNING, "list '%s': %s; using its last good copy",
		     cl->name, st->problem ? st->problem : "file unusable");
		st->source = RSV_LIST_FROM_LAST_GOOD;
	}
	st->entries = rep.entries + rep.n_ip_triggers;
	st->bad = rep.bad;
	if (keep_ip_triggers(rg, &rep, (uint16_t)i, 1u << cl->category_bit) != 0) {
		bl_parse_report_clear(&rep);
		return -ENOMEM;
	}
	for (size_t k = 0; k < rep.n_diags; k++)
		note(report, CORE_LOG_WARNING, "list '%s': %s:%u: %s, ignoring the line", cl->name,
		     st->source == RSV_LIST_FROM_FILE ? cl->file : last, rep.diags[k].line,
		     rep.diags[k].message);
	if (rep.bad > rep.n_diags)
		note(report, CORE_LOG_WARNING, "list '%s': %zu more bad lines", cl->name,
		     rep.bad - rep.n_diags);
	bl_parse_report_clear(&rep);
	return 0;
}

/* The built-in names of the proxy_vpn_doh category (policy/builtin.h), as list @list_id: they
 * block only for groups that block that category, like any list of it. */
static int add_builtin(struct bl_builder *b, uint16_t list_id)
{
	size_t n;
	const char *const *names = pol_builtin_bypass_names(&n);
	int r = bl_builder_set_list_name(b, list_id, RSV_BUILTIN_BYPASS_LIST);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint8_t wire[CORE_DNAME_WIRE_MAX];
		size_t len = core_dname_from_text(names[i], strlen(names[i]), wire, NULL);
		if (len == 0)
			continue; /* the table's own test checks every name */
		r = bl_builder_add(b, wire, len, 1u << CFG_CAT_PROXY_VPN_DOH, list_id,
				   BL_MATCH_SELF | BL_MATCH_BELOW, BL_ACTION_POLICY, 0, NULL, 0);
	}
	return r;
}

int rsv_lists_clone(const struct rsv_lists *lists, struct rsv_lists **out)
{
	struct rsv_lists *l = core_calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < CFG_MAX_CATEGORIES; i++) {
		if (lists->categories[i] && !(l->categories[i] = core_strdup(lists->categories[i])))
			goto out_free;
	}
	if (lists->n_status) {
		l->status = core_calloc(lists->n_status, sizeof(*l->status));
		if (!l->status)
			goto out_free;
		l->n_status = lists->n_status;
		for (size_t i = 0; i < lists->n_status; i++) {
			const struct rsv_list_status *st = &lists->status[i];
			l->status[i] = *st;
			l->status[i].name = core_strdup(st->name);
			l->status[i].category = core_strdup(st->category);
			l->status[i].problem = st->problem ? core_strdup(st->problem) : NULL;
			if (!l->status[i].name || !l->status[i].category ||
			    (st->problem && !l->status[i].problem))
				goto out_free;
		}
	}
	l->set = lists->set ? bl_set_ref(lists->set) : NULL;
	l->ips = bl_ipset_ref(lists->ips);
	l->from_snapshot = lists->from_snapshot;
	l->built_at = lists->built_at;
	l->build_ms = lists->build_ms;
	*out = l;
	return 0;
out_free:
	rsv_lists_free(l);
	return -ENOMEM;
}

int rsv_lists_build(const struct cfg_root *cfg, struct core_buf *report,
		    struct rsv_lists **out_lists)
{
	uint64_t t0 = core_clock_mono_ms();
	struct rsv_lists *l = lists_new(cfg);
	struct bl_builder *b = NULL;
	struct ranges rg = {0};
	char dir[4096], snap[4096];
	int r = -ENOMEM;
	if (!l)
		goto out;
	if (cfg->n_lists && path_in_state(cfg, "lists", dir, sizeof(dir)) == 0)
		(void)mkdir(dir, 0750);
	b = bl_builder_new(MAX_ENTRIES);
	if (!b)
		goto out;
	for (size_t i = 0; i < cfg->n_lists; i++) {
		if (cfg->lists[i].primary || cfg->lists[i].url) {
			/* Transferred and downloaded lists are compiled apart (resolver/sync.c). */
			(void)bl_builder_set_list_name(b, (uint16_t)i, cfg->lists[i].name);
			l->status[i].source = RSV_LIST_MISSING;
			continue;
		}
		r = add_list(cfg, i, b, &l->status[i], &rg, report);
		if (r != 0)
			goto out;
	}
	r = add_builtin(b, (uint16_t)cfg->n_lists);
	if (r == 0)
		r = bl_builder_finish(b, &l->set);
	if (r == 0 && rg.n)
		r = bl_ipset_new(rg.v, rg.n, &l->ips);
	if (r != 0)
		goto out;
	if (cfg->n_lists && path_in_state(cfg, SNAPSHOT_NAME, snap, sizeof(snap)) == 0) {
		int w = bl_set_write(l->set, snap);
		struct bl_set *mapped;
		if (w != 0) {
			note(report, CORE_LOG_WARNING, "cannot write the snapshot '%s': %s", snap,
			     core_strerror(w));
		} else if (bl_set_open(snap, &mapped) == 0) {
			/* Serve from the file just written: the names and sources (the cold part,
			 * about two thirds of the set) then stay on disk until read, instead of in
			 * the heap. */
			bl_set_unref(l->set);
			l->set = mapped;
		}
	}
	l->build_ms = core_clock_mono_ms() - t0;
	core_log_info("rsv", "blocklists compiled: %zu lists, %zu names, in %llu ms",
		      cfg->n_lists, bl_set_count(l->set), (unsigned long long)l->build_ms);
	bl_builder_free(b);
	core_free(rg.v);
	*out_lists = l;
	return 0;
out:
	bl_builder_free(b);
	core_free(rg.v);
	rsv_lists_free(l);
	return r;
}

int rsv_lists_open_snapshot(const struct cfg_root *cfg, struct rsv_lists **out_lists)
{
	char snap[4096];
	struct bl_set *set;
	int r = path_in_state(cfg, SNAPSHOT_NAME, snap, sizeof(snap));
	if (r != 0)
		return r;
	if (access(snap, F_OK) != 0)
		return CORE_ENOTFOUND;
	r = bl_set_open(snap, &set);
	if (r != 0)
		return r;
	struct rsv_lists *l = lists_new(cfg);
	if (!l) {
		bl_set_unref(set);
		return -ENOMEM;
	}
	l->set = set;
	l->from_snapshot = true;
	for (size_t i = 0; i < l->n_status; i++)
		l->status[i].source = RSV_LIST_FROM_SNAPSHOT;
	*out_lists = l;
	return 0;
}
