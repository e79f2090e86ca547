/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Lists synced from the authority by zone transfer (see sync.h). */
#include "resolver/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/minisign.h"
#include "blocklists/overlay.h"
#include "blocklists/parse.h"
#include "blocklists/xfr.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/dname.h"
#include "core/error.h"
#include "core/log.h"
#include "resolver/fetch.h"

#define HISTORY 16
#define MAX_ENTRIES (64u << 20)
#define XFR_TIMEOUT_MS 10000
/* SOA timers are honoured within these bounds (seconds). */
#define REFRESH_MIN 5
#define REFRESH_MAX 86400
#define RETRY_MIN 5
#define RETRY_MAX 3600
/* An overlay with more entries than this (or a tenth of the base) is folded by a full AXFR. */
#define FOLD_MIN 10000

/** One applied version, for compliance. */
struct version {
	uint32_t serial;
	size_t entries;
	int64_t applied; /**< wall clock seconds */
	char how[32]; /**< "AXFR", "IXFR", "IXFR-full" (the primary answered an IXFR in full),
		       * with "-promoted" when it waited for `lanhmanh lists promote` */
};

struct zone {
	struct rsv_sync *s;
	char *name; /**< the list's name */
	char *zone; /**< absolute, lower case */
	char *primary_text;
	uint16_t list_id;
	uint32_t categories;
	uint32_t max_shrink_pct;
	bool audit; /**< new versions wait for `lanhmanh lists promote` */
	/* A list downloaded over HTTPS (`url:`) rather than transferred; @zone and @primary_text
	 * then hold the URL. Always a full version: no overlay. */
	bool is_url;
	char *sig_url; /**< URL + ".minisig" */
	char *ca_file;
	struct bl_minisign_key key;
	uint32_t url_refresh_s;
	enum bl_format format;
	char *origin; /**< rpz origin of the file, or NULL */
	char etag[256], last_modified[128]; /**< of the version in hand, for conditional GETs */
	char signed_comment[160]; /**< the trusted comment of its signature */
	char dir[4096]; /**< <state_dir>/sync */
	struct bl_tsig tsig;
	bool has_tsig;
	struct bl_xfr_params params;
	/* What the lookups use (published through the changed callback): */
	struct bl_set *base; /**< reference; NULL before the first transfer */
	struct bl_set *ov_set; /**< compiled overlay, reference; NULL when empty */
	struct bl_overlay *ov; /**< mutable delta state; the job's while busy */
	size_t entries; /**< as the lookups see them (effective_entries()) */
	size_t ov_count; /**< entries the overlay touched, as of the version in force */
	/* A version received but not in force (audit, or held for review): its layers replace
	 * the zone's in the audit view (log-only), and `lanhmanh lists promote` applies it. */
	bool pending;
	struct bl_set *pending_base; /**< a new base (full transfer), or NULL: the same base */
	struct bl_set *pending_ov_set; /**< its overlay, or NULL */
	uint32_t pending_serial;
	size_t pending_entries, pending_ov_count;
	char pending_how[16];
	int64_t pending_since;
	char pending_why[320]; /**< "audit mode", or what made it suspicious */
	bool pending_suspicious; /**< held for review, not for audit mode: alert until promoted */
	/* Version: */
	bool have;
	uint32_t serial, refresh, retry, expire;
	uint32_t xfr_serial; /**< what the next IXFR starts from: the pending serial, if any */
	int64_t last_ok; /**< last time the primary confirmed or changed our version */
	int64_t last_try;
	char error[256]; /**< last failure, "" when the last refresh succeeded */
	char alert[320]; /**< why the version in force may not be the authority's, "" if none */
	struct version hist[HISTORY];
	size_t n_hist;
	/* Scheduling: */
	uv_timer_t timer;
	bool busy; /**< a job runs */
	bool again; /**< a NOTIFY came while busy: refresh once more after */
	bool fold; /**< the next refresh is a full AXFR */
	bool dropped; /**< removed from the config while busy: freed when the job ends */
	bool keep; /**< apply_cfg: still configured */
};

struct rsv_sync {
	uv_loop_t *loop;
	struct rsv_fetcher *fetcher; /**< HTTPS downloads, created with the first url: list */
	rsv_sync_changed_fn changed;
	void *arg;
	struct zone **z;
	size_t n;
};

/* A refresh on the thread pool. */
struct job {
	uv_work_t req;
	struct zone *z;
	bool axfr;
	uint32_t have_serial;
	size_t base_entries;
	/* Copied at start: a reload may change the zone's while the job runs. */
	uint16_t list_id;
	uint32_t categories;
	uint32_t max_shrink_pct;
	int r;
	struct bl_xfr_result res;
	char err[512];
	FILE *tmp;
	char tmp_path[4200];
	size_t removed, added; /**< lines of the deltas */
	struct bl_set *new_base;
	struct bl_set *new_ov_set;
	size_t new_entries;
	bool shrink_refused; /**< a complete, valid update held back: empty, or too small */
	bool bad_signature; /**< a downloaded list whose signature does not verify */
	bool unsigned_update; /**< a changed list whose signature could not be downloaded */
	char etag[256], last_modified[128], signed_comment[160];
	char sig_path[4200];
	size_t suspicious; /**< names under .edu.vn / .gov.vn the new version adds */
	char suspicious_sample[160];
	bool bad_delta; /**< the IXFR could not be applied: the next try is a full transfer */
};

/* ---- small helpers -------------------------------------------------------------------------- */

static int64_t now_s(void)
{
	return core_clock_wall_s();
}

static void zone_path(const struct zone *z, const char *suffix, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%s", z->dir, z->name, suffix);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Entries of the list as the lookups see it: the base's, less those the overlay deletes, plus
 * those it adds (an overlay entry replacing a base entry counts once).
 */
static size_t effective_entries(const struct bl_set *base, const struct bl_set *ov_set)
{
	size_t n = base ? bl_set_count(base) : 0;
	size_t limit = ov_set ? bl_set_entry_limit(ov_set) : 0;
	for (size_t e = 0; e < limit; e++) {
		struct bl_match m, b;
		struct bl_source src;
		if (bl_set_entry(ov_set, (uint32_t)e, &m) != 0 ||
		    bl_set_entry_source(ov_set, (uint32_t)e, &src) != 0)
			continue;
		bool in_base = base && bl_set_find(base, src.name, src.name_len,
						   (m.flags & BL_ALLOW) != 0, &b) == 0 &&
			       !(b.flags & BL_SHADOW);
		bool deleted = !(m.flags & (BL_MATCH_SELF | BL_MATCH_BELOW));
		if (deleted && in_base && n > 0)
			n--;
		else if (!deleted && !in_base)
			n++;
	}
	return n;
}

static size_t zone_entries(const struct zone *z)
{
	return z->entries;
}

/* ---- persistence ---------------------------------------------------------------------------- */

/* Write @text to @fd whole; 0 or -errno. */
static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

static void save_state(const struct zone *z)
{
	char path[4300], tmp[4310];
	zone_path(z, ".state", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	struct core_buf b;
	core_buf_init(&b, 4096);
	int r = core_buf_printf(&b, "zone %s\nserial %" PRIu32 "\nrefresh %" PRIu32 "\nretry %" PRIu32
				   "\nexpire %" PRIu32 "\nlast_ok %" PRId64 "\n",
				z->zone, z->serial, z->refresh, z->retry, z->expire, z->last_ok);
	if (r == 0 && z->etag[0])
		r = core_buf_printf(&b, "etag %s\n", z->etag);
	if (r == 0 && z->last_modified[0])
		r = core_buf_printf(&b, "last_modified %s\n", z->last_modified);
	if (r == 0 && z->signed_comment[0])
		r = core_buf_printf(&b, "signed %s\n", z->signed_comment);
	int fd = r == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) : -1;
	if (fd >= 0) {
		r = write_all(fd, core_buf_str(&b), strlen(core_buf_str(&b)));
		if (r == 0 && fsync(fd) != 0)
			r = -errno;
		if (close(fd) != 0 && r == 0)
			r = -errno;
		if (r == 0 && rename(tmp, path) != 0)
			r = -errno;
	} else if (r == 0) {
		r = -errno;
	}
	if (r != 0) {
		core_log_warn("sync", "list '%s': cannot save '%s': %s", z->name, path,
			      core_strerror(r));
		unlink(tmp);
	}
	core_buf_deinit(&b);
}

static void record_version(struct zone *z, const char *how)
{
	if (z->n_hist == HISTORY) {
		memmove(z->hist, z->hist + 1, sizeof(z->hist[0]) * (HISTORY - 1));
		z->n_hist--;
	}
	struct version *v = &z->hist[z->n_hist++];
	v->serial = z->serial;
	v->entries = zone_entries(z);
	v->applied = now_s();
	snprintf(v->how, sizeof(v->how), "%s", how);
	char path[4300];
	zone_path(z, ".versions", path, sizeof(path));
	/* One line per applied version, kept for audits: UTC time, serial, entries, how, from
	 * where. */
	struct tm tm;
	time_t t = (time_t)v->applied;
	char when[32];
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct core_buf b;
	core_buf_init(&b, 2048);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	/* A list over HTTPS also says when its publisher last changed it (Last-Modified) and
	 * what its signed comment says (usually the publisher's version or date). */
	int r = core_buf_printf(&b, "%s serial=%" PRIu32 " entries=%zu how=%s primary=%s zone=%s",
				when, v->serial, v->entries, v->how, z->primary_text, z->zone);
	if (r == 0 && z->is_url)
		r = core_buf_printf(&b, " published=\"%s\" signed=\"%s\"", z->last_modified,
				    z->signed_comment);
	if (r == 0)
		r = core_buf_add(&b, "\n", 1);
	if (fd < 0 || r != 0 || write_all(fd, core_buf_str(&b), strlen(core_buf_str(&b))) != 0)
		core_log_warn("sync", "list '%s': cannot record the version in '%s': %s", z->name,
			      path, strerror(errno));
	if (fd >= 0)
		close(fd);
	core_buf_deinit(&b);
	core_log_notice("sync", "list '%s': serial %" PRIu32 " of %s applied (%s, %zu entries)",
			z->name, z->serial, z->zone, how, v->entries);
}

/* The last HISTORY versions of the .versions file (written by record_version()). */
static void load_versions(struct zone *z)
{
	char path[4300], line[1024];
	zone_path(z, ".versions", path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct version v = {0};
		char when[32], how[32];
		struct tm tm = {0};
		if (sscanf(line, "%31s serial=%" SCNu32 " entries=%zu how=%31s", when, &v.serial,
			   &v.entries, how) != 4 ||
		    !strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm))
			continue;
		v.applied = (int64_t)timegm(&tm);
		snprintf(v.how, sizeof(v.how), "%s", how);
		if (z->n_hist == HISTORY) {
			memmove(z->hist, z->hist + 1, sizeof(z->hist[0]) * (HISTORY - 1));
			z->n_hist--;
		}
		z->hist[z->n_hist++] = v;
	}
	fclose(f);
}

static void load_state(struct zone *z)
{
	char path[4300];
	zone_path(z, ".state", path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512], zname[300] = "";
	uint32_t serial = 0, refresh = 0, retry = 0, expire = 0;
	int64_t last_ok = 0;
	bool has_serial = false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "zone %299s", zname) == 1)
			continue;
		if (strncmp(line, "signed ", 7) == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(z->signed_comment, sizeof(z->signed_comment), "%.159s", line + 7);
			continue;
		}
		if (strncmp(line, "etag ", 5) == 0 || strncmp(line, "last_modified ", 14) == 0) {
			bool etag = line[0] == 'e';
			char *v = line + (etag ? 5 : 14);
			v[strcspn(v, "\r\n")] = '\0';
			if (etag)
				snprintf(z->etag, sizeof(z->etag), "%.255s", v);
			else
				snprintf(z->last_modified, sizeof(z->last_modified), "%.127s", v);
			continue;
		}
		if (sscanf(line, "serial %" SCNu32, &serial) == 1)
			has_serial = true;
		(void)(sscanf(line, "refresh %" SCNu32, &refresh) == 1 ||
		       sscanf(line, "retry %" SCNu32, &retry) == 1 ||
		       sscanf(line, "expire %" SCNu32, &expire) == 1 ||
		       sscanf(line, "last_ok %" SCNd64, &last_ok) == 1);
	}
	fclose(f);
	if (!has_serial || strcmp(zname, z->zone) != 0)
		return;
	char base_path[4300], ov_path[4300];
	zone_path(z, ".base.set", base_path, sizeof(base_path));
	zone_path(z, ".overlay.set", ov_path, sizeof(ov_path));
	struct bl_set *base = NULL, *ov_set = NULL;
	int r = bl_set_open(base_path, &base);
	if (r != 0) {
		core_log_warn("sync", "list '%s': its saved version '%s' is unusable (%s); transferring the zone again",
			      z->name, base_path, core_strerror(r));
		return;
	}
	struct bl_overlay *ov = NULL;
	if (access(ov_path, F_OK) == 0) {
		r = bl_set_open(ov_path, &ov_set);
		if (r == 0)
			r = bl_overlay_from_set(base, ov_set, z->list_id, z->name, z->categories,
						z->zone, &ov);
		if (r != 0) {
			/* The base alone is an older version: serve it, but ask for all of it. */
			core_log_warn("sync", "list '%s': its saved changes '%s' are unusable (%s); serving the older base until a full transfer",
				      z->name, ov_path, core_strerror(r));
			ov_set = bl_set_unref(ov_set);
			z->fold = true;
		}
	}
	if (!ov && !z->is_url)
		ov = bl_overlay_new(base, z->list_id, z->name, z->categories, z->zone);
	if (!ov && !z->is_url) {
		bl_set_unref(base);
		bl_set_unref(ov_set);
		return;
	}
	z->base = base;
	z->ov_set = ov_set;
	z->ov = ov;
	z->have = true;
	z->serial = serial;
	z->xfr_serial = serial;
	z->refresh = refresh;
	z->retry = retry;
	z->expire = expire;
	z->last_ok = last_ok;
	z->entries = effective_entries(base, ov_set);
	z->ov_count = ov ? bl_overlay_count(ov) : 0;
	load_versions(z);
	core_log_notice("sync", "list '%s': serving saved serial %" PRIu32 " of %s (%zu entries) until the primary is asked",
			z->name, serial, z->zone, zone_entries(z));
}

/* ---- the job -------------------------------------------------------------------------------- */

static int rr_line(void *arg, const char *line)
{
	struct job *j = arg;
	if (!j->tmp) {
		j->tmp = fopen(j->tmp_path, "w");
		if (!j->tmp) {
			snprintf(j->err, sizeof(j->err), "cannot write '%.300s': %s", j->tmp_path,
				 strerror(errno));
			return -1;
		}
	}
	if (fputs(line, j->tmp) == EOF || fputc('\n', j->tmp) == EOF) {
		snprintf(j->err, sizeof(j->err), "cannot write '%.300s': %s", j->tmp_path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int delta(void *arg, uint32_t from, uint32_t to, const char *const *removed,
		 size_t n_removed, const char *const *added, size_t n_added)
{
	struct job *j = arg;
	struct zone *z = j->z;
	j->removed += n_removed;
	j->added += n_added;
	/* Applied to the job's overlay as they come; whether the result may replace the version
	 * in force is judged on the whole transfer (job_work): a primary may send 1->2 removing
	 * much and 2->3 adding it back. */
	char why[256] = "";
	int r = bl_overlay_apply(z->ov, removed, n_removed, added, n_added, why, sizeof(why));
	if (r != 0) {
		snprintf(j->err, sizeof(j->err), "IXFR %" PRIu32 "->%" PRIu32 " cannot be applied: %s",
			 from, to, why[0] ? why : core_strerror(r));
		j->bad_delta = true;
		return -1;
	}
	return 0;
}

/*
 * Never worse than before: may a new version of @n entries replace the one in force? Not when
 * it is empty, nor when it would remove more than max_shrink of the entries. On refusal the
 * reason is in j->err and j->shrink_refused is set.
 */
static bool never_worse(struct job *j, size_t n)
{
	size_t old = j->base_entries;
	if (n == 0) {
		snprintf(j->err, sizeof(j->err),
			 "serial %" PRIu32 " has no entry; kept serial %" PRIu32, j->res.serial,
			 j->have_serial);
	} else if (j->max_shrink_pct < 100 && n < old &&
		   (old - n) * 100 > (uint64_t)old * j->max_shrink_pct) {
		snprintf(j->err, sizeof(j->err),
			 "serial %" PRIu32 " would shrink the list from %zu to %zu entries, more than max_shrink %" PRIu32 "%%; kept serial %" PRIu32,
			 j->res.serial, old, n, j->max_shrink_pct, j->have_serial);
	} else {
		return true;
	}
	j->shrink_refused = true;
	return false;
}

/* Compile the zone file a full transfer wrote into a new base, mapped from state_dir. */
static int compile_full(struct job *j)
{
	struct zone *z = j->z;
	struct bl_builder *b = bl_builder_new(MAX_ENTRIES);
	if (!b)
		return -ENOMEM;
	struct bl_parse_report rep;
	int r = bl_builder_set_list_name(b, j->list_id, z->name);
	if (r == 0)
		r = bl_parse_file(z->format, j->tmp_path, z->is_url ? z->origin : z->zone, b,
				  j->list_id, j->categories, &rep);
	if (r != 0) {
		snprintf(j->err, sizeof(j->err), "cannot read the %s: %s",
			 z->is_url ? "downloaded list" : "transferred zone", core_strerror(r));
		bl_builder_free(b);
		return r;
	}
	if (rep.bad)
		core_log_warn("sync", "list '%s': %zu records of serial %" PRIu32 " were not understood, ignoring them",
			      z->name, rep.bad, j->res.serial);
	bl_parse_report_clear(&rep);
	struct bl_set *set = NULL;
	r = bl_builder_finish(b, &set);
	bl_builder_free(b);
	if (r != 0)
		return r;
	size_t n = bl_set_count(set);
	if (!never_worse(j, n)) {
		bl_set_unref(set);
		return CORE_EPROTO;
	}
	char path[4300];
	zone_path(z, ".new.base.set", path, sizeof(path));
	r = bl_set_write(set, path);
	if (r == 0) {
		struct bl_set *mapped;
		if (bl_set_open(path, &mapped) == 0) {
			bl_set_unref(set);
			set = mapped;
		}
		char zone_file[4300];
		zone_path(z, ".zone", zone_file, sizeof(zone_file));
		(void)rename(j->tmp_path, zone_file); /* kept for audits */
	} else {
		core_log_warn("sync", "list '%s': cannot save '%s': %s; a restart will transfer again",
			      z->name, path, core_strerror(r));
	}
	(void)unlink(j->tmp_path);
	j->new_base = set;
	j->new_entries = n;
	return 0;
}

/* Is wire name @name under edu.vn or gov.vn (or one of them)? */
static bool is_edu_gov(const uint8_t *name, size_t len)
{
	static const uint8_t edu[] = "\x03" "edu\x02vn", gov[] = "\x03" "gov\x02vn";
	size_t n = sizeof(edu); /* the string's NUL is the root label */
	if (len < n)
		return false;
	const uint8_t *tail = name + len - n;
	/* The suffix must start at a label boundary: walk the labels. */
	for (size_t p = 0; p < len && name[p] != 0; p += 1u + name[p]) {
		if (name + p == tail)
			return memcmp(tail, edu, n) == 0 || memcmp(tail, gov, n) == 0;
	}
	return false;
}

/* Is there an entry (not a shadow) for @name/@allow in layers @base + @ov? */
static bool effective_find(const struct bl_set *base, const struct bl_set *ov, const uint8_t *name,
			   size_t len, bool allow, struct bl_match *out)
{
	if (ov && bl_set_find(ov, name, len, allow, out) == 0)
		return !(out->flags & BL_SHADOW);
	return base && bl_set_find(base, name, len, allow, out) == 0 && !(out->flags & BL_SHADOW);
}

/*
 * Names under .edu.vn / .gov.vn that the new version blocks and the version in force does not:
 * schools' and the state's own sites. Such an update is held for a person to look at (DESIGN:
 * suspicious updates never replace the last good one silently).
 */
static void check_suspicious(struct job *j, const struct bl_set *new_layer)
{
	struct zone *z = j->z;
	size_t limit = bl_set_entry_limit(new_layer), o = 0;
	for (size_t e = 0; e < limit; e++) {
		struct bl_match m, old;
		struct bl_source src;
		if (bl_set_entry(new_layer, (uint32_t)e, &m) != 0 || (m.flags & (BL_ALLOW | BL_SHADOW)) ||
		    !(m.flags & (BL_MATCH_SELF | BL_MATCH_BELOW)) ||
		    bl_set_entry_source(new_layer, (uint32_t)e, &src) != 0 ||
		    !is_edu_gov(src.name, src.name_len) ||
		    effective_find(z->base, z->ov_set, src.name, src.name_len, false, &old))
			continue;
		if (j->suspicious++ < 3 && o < sizeof(j->suspicious_sample) - 1) {
			char text[CORE_DNAME_TEXT_MAX];
			core_dname_to_text(src.name, src.name_len, text, sizeof(text));
			int k = snprintf(j->suspicious_sample + o, sizeof(j->suspicious_sample) - o,
					 "%s%s", o ? ", " : "", text);
			if (k > 0)
				o += (size_t)k;
			if (o >= sizeof(j->suspicious_sample))
				o = sizeof(j->suspicious_sample) - 1;
		}
	}
}

static void job_work(uv_work_t *req)
{
	struct job *j = req->data;
	struct zone *z = j->z;
	j->r = bl_xfr_fetch(&z->params, !j->axfr, j->have_serial, rr_line, delta, j, &j->res);
	if (j->tmp) {
		if (fclose(j->tmp) != 0 && j->r == 0) {
			snprintf(j->err, sizeof(j->err), "cannot write '%.300s'", j->tmp_path);
			j->r = -EIO;
		}
		j->tmp = NULL;
	}
	if (j->r != 0) {
		if (!j->err[0])
			snprintf(j->err, sizeof(j->err), "%s", j->res.error[0] ? j->res.error :
							       core_strerror(j->r));
		(void)unlink(j->tmp_path);
		return;
	}
	if (j->res.kind == BL_XFR_FULL) {
		j->r = compile_full(j);
		if (j->r == 0)
			check_suspicious(j, j->new_base);
	} else if (j->res.kind == BL_XFR_DELTA) {
		j->r = bl_overlay_compile(z->ov, &j->new_ov_set);
		if (j->r == 0) {
			/* Never worse than before: an update that leaves the list empty, or takes
			 * away more than max_shrink of it, is held back. */
			const struct bl_set *base = z->pending_base ? z->pending_base : z->base;
			size_t n = effective_entries(base, j->new_ov_set);
			j->new_entries = n;
			if (!never_worse(j, n)) {
				j->r = CORE_EPROTO;
				j->new_ov_set = bl_set_unref(j->new_ov_set);
				return;
			}
			char path[4300];
			zone_path(z, ".new.overlay.set", path, sizeof(path));
			int w = bl_set_write(j->new_ov_set, path);
			if (w != 0)
				core_log_warn("sync", "list '%s': cannot save '%s': %s", z->name, path,
					      core_strerror(w));
			check_suspicious(j, j->new_ov_set);
			/* Deltas over a waiting full version bring that version along. */
			if (z->pending_base)
				check_suspicious(j, z->pending_base);
		} else {
			snprintf(j->err, sizeof(j->err), "cannot compile the changes: %s",
				 core_strerror(j->r));
		}
	}
}

static void schedule(struct zone *z, uint64_t delay_s);
static void zone_free(struct zone *z);

/* The overlay went wrong (a failed IXFR may have applied part of it): take it back to the
 * compiled state in force. */
static void reset_overlay(struct zone *z)
{
	/* The newest version received: the pending one, if any. */
	const struct bl_set *base = z->pending_base ? z->pending_base : z->base;
	const struct bl_set *ov_set = z->pending ? z->pending_ov_set : z->ov_set;
	if (!base)
		return;
	struct bl_overlay *ov = NULL;
	if (ov_set && bl_overlay_from_set(base, ov_set, z->list_id, z->name, z->categories,
					  z->zone, &ov) != 0)
		ov = NULL;
	if (!ov)
		ov = bl_overlay_new(base, z->list_id, z->name, z->categories, z->zone);
	if (ov) {
		bl_overlay_free(z->ov);
		z->ov = ov;
	}
}

/* Rename the file @from_suffix of @z to @to_suffix (both in state_dir/sync), or remove @to. */
static void move_file(const struct zone *z, const char *from_suffix, const char *to_suffix)
{
	char from[4300], to[4300];
	zone_path(z, to_suffix, to, sizeof(to));
	if (!from_suffix) {
		(void)unlink(to);
		return;
	}
	zone_path(z, from_suffix, from, sizeof(from));
	if (rename(from, to) != 0 && errno != ENOENT)
		core_log_warn("sync", "list '%s': cannot rename '%s': %s", z->name, from,
			      strerror(errno));
}

static void pending_clear(struct zone *z)
{
	z->pending = false;
	z->pending_suspicious = false;
	z->pending_base = bl_set_unref(z->pending_base);
	z->pending_ov_set = bl_set_unref(z->pending_ov_set);
	z->pending_why[0] = '\0';
	move_file(z, NULL, ".pending.base.set");
	move_file(z, NULL, ".pending.overlay.set");
}

/* Put the pending version (or, with @j, the job's new one) in force. */
static void apply_version(struct zone *z, struct bl_set *base, struct bl_set *ov_set,
			  uint32_t serial, size_t entries, const char *how)
{
	if (base) {
		bl_set_unref(z->base);
		z->base = base;
		z->fold = false;
	}
	bl_set_unref(z->ov_set);
	z->ov_set = ov_set;
	z->have = true;
	z->serial = serial;
	z->xfr_serial = serial;
	z->entries = entries;
	z->ov_count = ov_set ? bl_set_count(ov_set) : 0;
	record_version(z, how);
	size_t threshold = entries / 10;
	if (z->ov_count > (threshold > FOLD_MIN ? threshold : FOLD_MIN))
		z->fold = true;
}

/*
 * A complete new version arrived: put it in force, or keep it pending when the list is in
 * audit mode or the version is suspicious. The job left its files as "<name>.new.*".
 */
static void receive_version(struct zone *z, struct job *j, const char *how)
{
	bool full = j->res.kind == BL_XFR_FULL;
	/* Its layers: a full transfer brings a base; a delta, an overlay over the latest base
	 * (the pending one when a full version is pending). */
	struct bl_set *new_base = full ? j->new_base
				       : (z->pending_base ? bl_set_ref(z->pending_base) : NULL);
	struct bl_set *new_ov = full ? NULL : j->new_ov_set;
	if (full) {
		/* The mutable overlay describes changes over the newest base from now on. */
		bl_overlay_free(z->ov);
		z->ov = bl_overlay_new(j->new_base, z->list_id, z->name, z->categories, z->zone);
	}
	/* The first version is applied whatever it holds: no national list at all is worse than
	 * any (the alert still says what looked wrong). */
	if ((j->suspicious || z->audit) && z->have) {
		bl_set_unref(z->pending_base);
		z->pending_base = new_base;
		bl_set_unref(z->pending_ov_set);
		z->pending_ov_set = new_ov;
		if (full) {
			move_file(z, ".new.base.set", ".pending.base.set");
			move_file(z, NULL, ".pending.overlay.set");
		} else {
			move_file(z, ".new.overlay.set", ".pending.overlay.set");
		}
		z->pending = true;
		z->pending_serial = j->res.serial;
		z->xfr_serial = j->res.serial;
		z->pending_entries = j->new_entries;
		z->pending_ov_count = new_ov ? bl_set_count(new_ov) : 0;
		snprintf(z->pending_how, sizeof(z->pending_how), "%s", how);
		z->pending_since = now_s();
		z->pending_suspicious = j->suspicious > 0;
		if (j->suspicious) {
			snprintf(z->pending_why, sizeof(z->pending_why),
				 "it would block %zu name%s under .edu.vn/.gov.vn not blocked now (%s)",
				 j->suspicious, j->suspicious == 1 ? "" : "s", j->suspicious_sample);
			snprintf(z->alert, sizeof(z->alert),
				 "serial %" PRIu32 " held for review: %.200s; see 'lanhmanh lists diff %s', then 'lanhmanh lists promote %s'",
				 j->res.serial, z->pending_why, z->name, z->name);
			core_log_warn("sync", "list '%s': %s", z->name, z->alert);
		} else {
			snprintf(z->pending_why, sizeof(z->pending_why), "audit mode");
			core_log_notice("sync", "list '%s': serial %" PRIu32 " received (%s, %zu entries) and running in audit mode: 'lanhmanh lists diff %s' shows what changes, 'lanhmanh lists promote %s' applies it",
					z->name, j->res.serial, how, j->new_entries, z->name,
					z->name);
		}
		return;
	}
	/* In force now. */
	if (j->suspicious) {
		snprintf(z->alert, sizeof(z->alert),
			 "serial %" PRIu32 " (the first version) blocks %zu name%s under .edu.vn/.gov.vn (%s); applied, as no list would be worse",
			 j->res.serial, j->suspicious, j->suspicious == 1 ? "" : "s",
			 j->suspicious_sample);
		core_log_warn("sync", "list '%s': %s", z->name, z->alert);
	}
	if (full) {
		move_file(z, ".new.base.set", ".base.set");
		move_file(z, NULL, ".overlay.set");
	} else {
		if (new_base)
			move_file(z, ".pending.base.set", ".base.set");
		move_file(z, ".new.overlay.set", ".overlay.set");
	}
	pending_clear(z);
	apply_version(z, new_base, new_ov, j->res.serial, j->new_entries, how);
}

static void job_done(uv_work_t *req, int status)
{
	struct job *j = req->data;
	struct zone *z = j->z;
	struct rsv_sync *s = z->s;
	z->busy = false;
	if (z->dropped) {
		bl_set_unref(j->new_base);
		bl_set_unref(j->new_ov_set);
		core_free(j);
		zone_free(z);
		return;
	}
	int64_t now = now_s();
	bool changed = false;
	if (status != 0 || j->r != 0) {
		if (!j->err[0])
			snprintf(j->err, sizeof(j->err), "%s", core_strerror(status ? status : j->r));
		snprintf(z->error, sizeof(z->error), "%.250s", j->err);
		const char *from = z->is_url ? "" : " from ";
		const char *primary = z->is_url ? "" : z->primary_text;
		if (z->have)
			core_log_err("sync", "list '%s': refresh of %s%s%s failed: %s; version %" PRIu32 " stays in force",
				     z->name, z->zone, from, primary, j->err, z->serial);
		else
			core_log_err("sync", "list '%s': %s of %s%s%s failed: %s; no version yet",
				     z->name, z->is_url ? "download" : "transfer", z->zone, from,
				     primary, j->err);
		/* Part of an IXFR may have reached the overlay: back to the version in force. */
		if (!j->axfr)
			reset_overlay(z);
		/* A transfer that arrived but cannot be used asks for all of it next time; an
		 * unreachable primary does not (every school would fetch the whole list after
		 * each outage of the authority). */
		if (!j->axfr && (j->bad_delta || j->r == CORE_EPARSE || j->r == CORE_ELIMIT ||
				 (j->r == CORE_EPROTO && !j->shrink_refused)))
			z->fold = true;
		if (j->shrink_refused || j->bad_signature || j->unsigned_update) {
			snprintf(z->alert, sizeof(z->alert), "update held back: %.250s", j->err);
		} else if (!z->have) {
			snprintf(z->alert, sizeof(z->alert), "no version yet: %.250s", j->err);
		} else if (z->expire && z->last_ok && now - z->last_ok > (int64_t)z->expire) {
			snprintf(z->alert, sizeof(z->alert),
				 "the primary has not been reached for more than the zone's expire time (%" PRIu32 " s); serving serial %" PRIu32,
				 z->expire, z->serial);
		}
		bl_set_unref(j->new_base);
		bl_set_unref(j->new_ov_set);
		uint32_t retry = z->retry ? z->retry : 60;
		schedule(z, j->shrink_refused ? clamp(z->refresh ? z->refresh : 3600, REFRESH_MIN,
							 REFRESH_MAX)
					      : clamp(retry, RETRY_MIN, RETRY_MAX));
	} else {
		z->error[0] = '\0';
		if (!(z->pending && z->pending_suspicious))
			z->alert[0] = '\0'; /* a version held for review keeps its alert */
		z->last_ok = now;
		z->refresh = j->res.refresh;
		z->retry = j->res.retry;
		z->expire = j->res.expire;
		if (j->res.kind == BL_XFR_FULL || j->res.kind == BL_XFR_DELTA) {
			const char *how = j->res.kind == BL_XFR_DELTA ? "IXFR"
					  : j->axfr		       ? "AXFR"
									: "IXFR-full";
			if (z->is_url) {
				how = "HTTPS";
				snprintf(z->etag, sizeof(z->etag), "%s", j->etag);
				snprintf(z->last_modified, sizeof(z->last_modified), "%s",
					 j->last_modified);
				snprintf(z->signed_comment, sizeof(z->signed_comment), "%s",
					 j->signed_comment);
				core_log_info("sync", "list '%s': new version signed \"%s\"", z->name,
					      j->signed_comment);
			}
			receive_version(z, j, how);
			changed = true;
		}
		save_state(z);
		schedule(z, clamp(z->refresh ? z->refresh : 3600, REFRESH_MIN, REFRESH_MAX));
	}
	core_free(j);
	if (changed && s->changed)
		s->changed(s->arg);
	if (z->again) {
		z->again = false;
		schedule(z, 0);
	}
}

/* ---- lists over HTTPS ----------------------------------------------------------------------- */

/* Verify the downloaded list against its signature, then compile it (thread pool). */
static void url_job_work(uv_work_t *req)
{
	struct job *j = req->data;
	struct zone *z = j->z;
	char sig[BL_MINISIGN_SIG_MAX];
	FILE *f = fopen(j->sig_path, "r");
	size_t n = f ? fread(sig, 1, sizeof(sig), f) : 0;
	if (f)
		fclose(f);
	(void)unlink(j->sig_path);
	const char *why = NULL;
	j->r = n ? bl_minisign_verify_file(&z->key, sig, n, j->tmp_path, j->signed_comment,
					   sizeof(j->signed_comment), &why)
		 : CORE_EPARSE;
	if (j->r != 0) {
		snprintf(j->err, sizeof(j->err),
			 "the new version's signature (%.300s) does not verify: %s; the version in force stays",
			 z->sig_url, why ? why : core_strerror(j->r));
		j->bad_signature = true;
		(void)unlink(j->tmp_path);
		return;
	}
	j->res.kind = BL_XFR_FULL;
	j->r = compile_full(j);
	if (j->r == 0)
		check_suspicious(j, j->new_base);
}

/* A transfer step failed before the thread pool: end the job as failed. */
static void url_fail(struct job *j, int status, const char *what, const char *error)
{
	j->r = status ? status : CORE_EUPSTREAM;
	j->unsigned_update = j->sig_path[0] && strstr(what, "signature") != NULL;
	snprintf(j->err, sizeof(j->err), "%s: %.400s", what, error);
	(void)unlink(j->tmp_path);
	(void)unlink(j->sig_path);
	job_done(&j->req, 0);
}

/*
 * End the job when download @res of @what ("the list", "the signature") was cancelled (the
 * zone dropped, the fetcher closing) or failed. @return true when the job was ended.
 */
static bool url_step_ended(struct job *j, const struct rsv_fetch_result *res, const char *what)
{
	if (j->z->dropped || res->status == -ECANCELED) {
		j->r = -ECANCELED;
		job_done(&j->req, 0);
		return true;
	}
	if (res->status == 0)
		return false;
	char step[64];
	snprintf(step, sizeof(step), "cannot download %s", what);
	url_fail(j, res->status, step, res->error);
	return true;
}

static void url_sig_done(void *arg, const struct rsv_fetch_result *res)
{
	struct job *j = arg;
	if (url_step_ended(j, res, "the signature"))
		return;
	if (uv_queue_work(j->z->s->loop, &j->req, url_job_work, job_done) != 0)
		url_fail(j, -ENOMEM, "cannot verify the list", "no worker thread");
}

static void url_list_done(void *arg, const struct rsv_fetch_result *res)
{
	struct job *j = arg;
	struct zone *z = j->z;
	if (url_step_ended(j, res, "the list"))
		return;
	if (res->not_modified) {
		j->res.kind = BL_XFR_UP_TO_DATE;
		job_done(&j->req, 0);
		return;
	}
	snprintf(j->etag, sizeof(j->etag), "%s", res->etag);
	snprintf(j->last_modified, sizeof(j->last_modified), "%s", res->last_modified);
	struct rsv_fetch_request sreq = {
		.url = z->sig_url,
		.ca_file = z->ca_file,
		.out_path = j->sig_path,
		.max_bytes = BL_MINISIGN_SIG_MAX,
	};
	if (rsv_fetch_start(z->s->fetcher, &sreq, url_sig_done, j) != 0)
		url_fail(j, -ENOMEM, "cannot download the signature", "out of memory");
}

/* Download the list (conditionally), then its signature, then verify and compile. */
static int start_url_refresh(struct job *j)
{
	struct zone *z = j->z;
	j->axfr = true; /* a full version, never an overlay */
	j->res.serial = z->serial + 1;
	j->res.refresh = z->url_refresh_s;
	j->res.retry = z->url_refresh_s < 300 ? z->url_refresh_s : 300;
	zone_path(z, ".download", j->tmp_path, sizeof(j->tmp_path));
	zone_path(z, ".download.minisig", j->sig_path, sizeof(j->sig_path));
	struct rsv_fetch_request req = {
		.url = z->primary_text,
		.ca_file = z->ca_file,
		/* Conditional only when the version in hand came from this URL and verified. */
		.etag = z->have && z->etag[0] ? z->etag : NULL,
		.last_modified = z->have && z->last_modified[0] ? z->last_modified : NULL,
		.out_path = j->tmp_path,
	};
	if (!z->s->fetcher && rsv_fetcher_new(z->s->loop, &z->s->fetcher) != 0)
		return -ENOMEM;
	return rsv_fetch_start(z->s->fetcher, &req, url_list_done, j);
}

static void start_refresh(struct zone *z)
{
	if (z->busy)
		return;
	struct job *j = core_calloc(1, sizeof(*j));
	if (!j) {
		schedule(z, RETRY_MIN);
		return;
	}
	j->req.data = j;
	j->z = z;
	j->axfr = !z->have || z->fold || !z->ov;
	j->have_serial = z->xfr_serial;
	j->base_entries = zone_entries(z);
	j->list_id = z->list_id;
	j->categories = z->categories;
	j->max_shrink_pct = z->max_shrink_pct;
	zone_path(z, ".zone.tmp", j->tmp_path, sizeof(j->tmp_path));
	z->busy = true;
	z->last_try = now_s();
	int r = z->is_url ? start_url_refresh(j)
			  : uv_queue_work(z->s->loop, &j->req, job_work, job_done);
	if (r != 0) {
		z->busy = false;
		core_free(j);
		schedule(z, RETRY_MIN);
	}
}

static void timer_cb(uv_timer_t *t)
{
	start_refresh(t->data);
}

static void schedule(struct zone *z, uint64_t delay_s)
{
	uv_timer_start(&z->timer, timer_cb, delay_s * 1000, 0);
}

/* ---- zones and the config ------------------------------------------------------------------- */

static void timer_closed(uv_handle_t *h)
{
	struct zone *z = h->data;
	bl_set_unref(z->base);
	bl_set_unref(z->ov_set);
	bl_overlay_free(z->ov);
	core_free(z->name);
	core_free(z->zone);
	core_free(z->primary_text);
	core_free(z->sig_url);
	core_free(z->ca_file);
	core_free(z->origin);
	core_free(z);
}

static void zone_free(struct zone *z)
{
	uv_timer_stop(&z->timer);
	uv_close((uv_handle_t *)&z->timer, timer_closed);
}

static bool same_source(const struct zone *z, const struct cfg_list *cl)
{
	if (z->is_url || cl->url)
		return z->is_url && cl->url && strcmp(z->name, cl->name) == 0 &&
		       strcmp(z->primary_text, cl->url) == 0 &&
		       (int)z->format == (int)cl->format &&
		       !strcmp(z->ca_file ? z->ca_file : "", cl->ca_file ? cl->ca_file : "") &&
		       !strcmp(z->origin ? z->origin : "", cl->origin ? cl->origin : "");
	bool tsig_same = (!cl->tsig && !z->has_tsig) ||
			 (cl->tsig && z->has_tsig && strcmp(cl->tsig->name, z->tsig.name) == 0 &&
			  strcmp(cl->tsig->secret, z->tsig.secret) == 0 &&
			  strcmp(cl->tsig->algorithm ? cl->tsig->algorithm : "hmac-sha256",
				 z->tsig.algorithm) == 0);
	return strcmp(z->name, cl->name) == 0 && strcmp(z->zone, cl->zone) == 0 &&
	       strcmp(z->primary_text, cl->primary->text) == 0 && tsig_same;
}

static struct zone *zone_new(struct rsv_sync *s, const struct cfg_root *cfg, size_t i)
{
	const struct cfg_list *cl = &cfg->lists[i];
	struct zone *z = core_calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->s = s;
	z->name = core_strdup(cl->name);
	z->is_url = cl->url != NULL;
	z->zone = core_strdup(z->is_url ? cl->url : cl->zone);
	z->primary_text = core_strdup(z->is_url ? cl->url : cl->primary->text);
	z->format = z->is_url ? (enum bl_format)cl->format : BL_FORMAT_RPZ;
	if (z->is_url) {
		size_t n = strlen(cl->url) + sizeof(".minisig");
		z->sig_url = core_malloc(n);
		if (z->sig_url)
			snprintf(z->sig_url, n, "%s.minisig", cl->url);
		z->ca_file = cl->ca_file ? core_strdup(cl->ca_file) : NULL;
		z->origin = cl->origin ? core_strdup(cl->origin) : NULL;
		const char *why = NULL;
		if (bl_minisign_key_parse(cl->minisign_key, &z->key, &why) != 0)
			core_log_err("sync", "list '%s': minisign_key: %s; no version can verify",
				     cl->name, why ? why : "invalid");
	}
	if (!z->name || !z->zone || !z->primary_text || (z->is_url && !z->sig_url) ||
	    (cl->ca_file && !z->ca_file) || (z->is_url && cl->origin && !z->origin)) {
		core_free(z->name);
		core_free(z->zone);
		core_free(z->primary_text);
		core_free(z->sig_url);
		core_free(z->ca_file);
		core_free(z->origin);
		core_free(z);
		return NULL;
	}
	snprintf(z->dir, sizeof(z->dir), "%s/sync", cfg->server.state_dir);
	if (mkdir(z->dir, 0750) != 0 && errno != EEXIST)
		core_log_warn("sync", "cannot create '%s': %s", z->dir, strerror(errno));
	if (cl->tsig) {
		z->has_tsig = true;
		snprintf(z->tsig.name, sizeof(z->tsig.name), "%s", cl->tsig->name);
		snprintf(z->tsig.algorithm, sizeof(z->tsig.algorithm), "%s",
			 cl->tsig->algorithm ? cl->tsig->algorithm : "hmac-sha256");
		snprintf(z->tsig.secret, sizeof(z->tsig.secret), "%s", cl->tsig->secret);
	}
	if (cl->primary) {
		memcpy(&z->params.primary, &cl->primary->ss, cl->primary->len);
		z->params.primary_len = cl->primary->len;
		snprintf(z->params.zone, sizeof(z->params.zone), "%s", cl->zone);
	}
	z->params.tsig = z->has_tsig ? &z->tsig : NULL;
	z->params.timeout_ms = XFR_TIMEOUT_MS;
	uv_timer_init(s->loop, &z->timer);
	uv_unref((uv_handle_t *)&z->timer); /* a stop does not wait for the next refresh */
	z->timer.data = z;
	return z;
}

/* Settings that may change without a new transfer. */
static void zone_update(struct zone *z, const struct cfg_root *cfg, size_t i)
{
	const struct cfg_list *cl = &cfg->lists[i];
	uint32_t categories = 1u << cl->category_bit;
	if (z->list_id != (uint16_t)i || z->categories != categories) {
		/* The entries carry the list id and category bits: they must be compiled again. */
		if (z->have)
			z->fold = true;
	}
	z->list_id = (uint16_t)i;
	z->categories = categories;
	z->max_shrink_pct = cl->max_shrink_pct;
	z->audit = cl->audit;
	z->url_refresh_s = cl->refresh_s ? cl->refresh_s : 3600;
}

int rsv_sync_new(uv_loop_t *loop, rsv_sync_changed_fn changed, void *arg, struct rsv_sync **out)
{
	struct rsv_sync *s = core_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->changed = changed;
	s->arg = arg;
	*out = s;
	return 0;
}

int rsv_sync_apply_cfg(struct rsv_sync *s, const struct cfg_root *cfg)
{
	size_t n_new = 0;
	for (size_t i = 0; i < cfg->n_lists; i++)
		n_new += cfg->lists[i].primary || cfg->lists[i].url;
	struct zone **v = core_calloc(n_new ? n_new : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < s->n; k++)
		s->z[k]->keep = false;
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_lists; i++) {
		const struct cfg_list *cl = &cfg->lists[i];
		if (!cl->primary && !cl->url)
			continue;
		struct zone *z = NULL;
		for (size_t k = 0; k < s->n && !z; k++) {
			if (!s->z[k]->keep && same_source(s->z[k], cl))
				z = s->z[k];
		}
		bool fresh = !z;
		if (!z) {
			z = zone_new(s, cfg, i);
			if (!z)
				continue; /* out of memory: this list is left out, the rest goes on */
		}
		z->keep = true;
		zone_update(z, cfg, i);
		if (fresh) {
			load_state(z);
			schedule(z, 0);
		}
		v[n++] = z;
	}
	for (size_t k = 0; k < s->n; k++) {
		struct zone *z = s->z[k];
		if (z->keep)
			continue;
		if (z->busy)
			z->dropped = true; /* freed when its job ends */
		else
			zone_free(z);
	}
	core_free(s->z);
	s->z = v;
	s->n = n;
	return 0;
}

void rsv_sync_close(struct rsv_sync *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->n; k++) {
		if (s->z[k]->busy)
			s->z[k]->dropped = true;
		else
			zone_free(s->z[k]);
	}
	/* Downloads in flight end now (their jobs see the zone dropped and free it); jobs on
	 * the thread pool end when they end. */
	rsv_fetcher_close(s->fetcher);
	core_free(s->z);
	core_free(s);
}

size_t rsv_sync_count(const struct rsv_sync *s)
{
	return s ? s->n : 0;
}

void rsv_sync_version(const struct rsv_sync *s, size_t i, struct rsv_sync_version *out)
{
	const struct zone *z = s->z[i];
	const struct version *v = z->n_hist ? &z->hist[z->n_hist - 1] : NULL;
	*out = (struct rsv_sync_version){
		.name = z->name,
		.list_id = z->list_id,
		.have = z->have,
		.is_url = z->is_url,
		.serial = z->serial,
		.entries = z->entries,
		.applied = v && v->serial == z->serial ? v->applied : 0,
		.how = v && v->serial == z->serial ? v->how : "",
		.alert = z->alert[0] != '\0',
	};
}

void rsv_sync_layers(const struct rsv_sync *s, size_t i, bool pending, struct bl_set **out_base,
		     struct bl_set **out_overlay, uint16_t *out_list_id, size_t *out_entries)
{
	const struct zone *z = s->z[i];
	*out_base = z->base;
	*out_overlay = z->ov_set;
	*out_list_id = z->list_id;
	*out_entries = z->entries;
	if (pending && z->pending) {
		if (z->pending_base)
			*out_base = z->pending_base;
		*out_overlay = z->pending_ov_set;
	}
}

bool rsv_sync_has_pending(const struct rsv_sync *s)
{
	for (size_t k = 0; s && k < s->n; k++) {
		if (s->z[k]->pending)
			return true;
	}
	return false;
}

static struct zone *zone_by_name(const struct rsv_sync *s, const char *name)
{
	for (size_t k = 0; s && k < s->n; k++) {
		if (strcmp(s->z[k]->name, name) == 0)
			return s->z[k];
	}
	return NULL;
}

int rsv_sync_promote(struct rsv_sync *s, const char *name, struct core_buf *out)
{
	struct zone *z = zone_by_name(s, name);
	if (!z) {
		(void)core_buf_printf(out, "no list '%s' is synced from a primary\n", name);
		return CORE_ENOTFOUND;
	}
	if (!z->pending) {
		(void)core_buf_printf(out, "list '%s' has no version waiting: serial %" PRIu32 " is in force\n",
				      name, z->serial);
		return CORE_ENOTFOUND;
	}
	if (z->busy) {
		(void)core_buf_printf(out, "list '%s' is being refreshed; try again in a moment\n", name);
		return -EBUSY;
	}
	if (z->pending_base)
		move_file(z, ".pending.base.set", ".base.set");
	move_file(z, z->pending_ov_set ? ".pending.overlay.set" : NULL, ".overlay.set");
	struct bl_set *base = z->pending_base, *ov_set = z->pending_ov_set;
	z->pending_base = z->pending_ov_set = NULL;
	char how[32];
	snprintf(how, sizeof(how), "%s-promoted", z->pending_how);
	uint32_t serial = z->pending_serial;
	size_t entries = z->pending_entries;
	pending_clear(z);
	z->alert[0] = '\0';
	apply_version(z, base, ov_set, serial, entries, how);
	save_state(z);
	(void)core_buf_printf(out, "list '%s': serial %" PRIu32 " is in force (%zu entries)\n", name,
			      serial, entries);
	if (s->changed)
		s->changed(s->arg);
	return 0;
}

/* Every entry of @set (a layer) into @fn. */
typedef void (*entry_fn)(void *arg, const uint8_t *name, size_t len, bool allow);

static void each_entry(const struct bl_set *set, entry_fn fn, void *arg)
{
	size_t limit = set ? bl_set_entry_limit(set) : 0;
	for (size_t e = 0; e < limit; e++) {
		struct bl_match m;
		struct bl_source src;
		if (bl_set_entry(set, (uint32_t)e, &m) == 0 &&
		    bl_set_entry_source(set, (uint32_t)e, &src) == 0)
			fn(arg, src.name, src.name_len, (m.flags & BL_ALLOW) != 0);
	}
}

#define DIFF_SHOWN 50

struct diff {
	const struct bl_set *a_base, *a_ov; /* in force */
	const struct bl_set *b_base, *b_ov; /* pending */
	bool b_side; /* walking the pending side: count added; else removed */
	const struct bl_set *seen[4]; /* sets walked before, on this side: a name once */
	size_t n_seen;
	size_t added, removed, changed, edu_gov;
	struct core_buf *out;
	struct core_buf lines;
};

static void diff_one(void *arg, const uint8_t *name, size_t len, bool allow)
{
	struct diff *d = arg;
	struct bl_match a, b;
	for (size_t i = 0; i < d->n_seen; i++) {
		if (bl_set_find(d->seen[i], name, len, allow, &a) == 0)
			return;
	}
	bool in_a = effective_find(d->a_base, d->a_ov, name, len, allow, &a);
	bool in_b = effective_find(d->b_base, d->b_ov, name, len, allow, &b);
	char text[CORE_DNAME_TEXT_MAX];
	if (d->b_side) {
		if (!in_b)
			return;
		if (in_a && a.flags == b.flags && a.action == b.action)
			return;
		core_dname_to_text(name, len, text, sizeof(text));
		bool eg = !allow && is_edu_gov(name, len);
		if (in_a)
			d->changed++;
		else
			d->added++;
		if (eg)
			d->edu_gov++;
		if (eg || d->added + d->changed <= DIFF_SHOWN)
			(void)core_buf_printf(&d->lines, "%s %s%s%s\n", in_a ? "~" : "+", text,
					      allow ? " (passthru)" : "",
					      eg ? "   <-- .edu.vn/.gov.vn" : "");
	} else {
		if (!in_a || in_b)
			return;
		d->removed++;
		if (d->removed <= DIFF_SHOWN) {
			core_dname_to_text(name, len, text, sizeof(text));
			(void)core_buf_printf(&d->lines, "- %s%s\n", text, allow ? " (passthru)" : "");
		}
	}
}

int rsv_sync_diff(const struct rsv_sync *s, const char *name, struct core_buf *out)
{
	const struct zone *z = zone_by_name(s, name);
	if (!z) {
		(void)core_buf_printf(out, "no list '%s' is synced from a primary\n", name);
		return CORE_ENOTFOUND;
	}
	if (!z->pending) {
		(void)core_buf_printf(out, "list '%s': no version waiting; serial %" PRIu32 " is in force\n",
				      name, z->serial);
		return 0;
	}
	struct diff d = {
		.a_base = z->base,
		.a_ov = z->ov_set,
		.b_base = z->pending_base ? z->pending_base : z->base,
		.b_ov = z->pending_ov_set,
		.out = out,
	};
	core_buf_init(&d.lines, 1 << 20);
	/* Candidates: for a delta, the names either overlay touched; for a new base, every name
	 * of both versions (a few seconds for millions: this is an operator's command). */
	const struct bl_set *b_sets[3] = {z->pending_base, d.b_ov, d.a_ov};
	const struct bl_set *a_sets[3] = {z->pending_base ? d.a_base : NULL, d.a_ov, d.b_ov};
	for (int side = 0; side < 2; side++) {
		const struct bl_set *const *sets = side == 0 ? b_sets : a_sets;
		d.b_side = side == 0;
		d.n_seen = 0;
		for (size_t i = 0; i < 3; i++) {
			if (!sets[i])
				continue;
			each_entry(sets[i], diff_one, &d);
			d.seen[d.n_seen++] = sets[i];
		}
	}
	(void)core_buf_printf(out, "list %s: serial %" PRIu32 " in force, serial %" PRIu32 " waiting (%s, received by %s)\n",
			      name, z->serial, z->pending_serial, z->pending_why, z->pending_how);
	(void)core_buf_printf(out, "added %zu, removed %zu, changed %zu; blocks %zu more name%s under .edu.vn/.gov.vn\n",
			      d.added, d.removed, d.changed, d.edu_gov, d.edu_gov == 1 ? "" : "s");
	(void)core_buf_add(out, core_buf_str(&d.lines), strlen(core_buf_str(&d.lines)));
	if (d.added + d.changed > DIFF_SHOWN || d.removed > DIFF_SHOWN)
		(void)core_buf_printf(out, "(the first %d of each kind are shown; every .edu.vn/.gov.vn name is)\n",
				      DIFF_SHOWN);
	(void)core_buf_printf(out, "apply it with: lanhmanh lists promote %s\n", name);
	core_buf_deinit(&d.lines);
	return 0;
}

int rsv_sync_refresh_list(struct rsv_sync *s, const char *name, struct core_buf *out)
{
	struct zone *z = zone_by_name(s, name);
	if (!z) {
		(void)core_buf_printf(out, "no list '%s' is synced from a primary or a URL\n", name);
		return CORE_ENOTFOUND;
	}
	if (z->busy)
		z->again = true;
	else
		schedule(z, 0);
	(void)core_buf_printf(out, "list '%s': refreshing from %s now; 'lanhmanh lists' shows the result\n",
			      name, z->primary_text);
	return 0;
}

void rsv_sync_refresh_zone(struct rsv_sync *s, const char *zone)
{
	for (size_t k = 0; s && k < s->n; k++) {
		struct zone *z = s->z[k];
		if (strcmp(z->zone, zone) != 0)
			continue;
		core_log_info("sync", "list '%s': NOTIFY for %s: refreshing now", z->name, z->zone);
		if (z->busy)
			z->again = true;
		else
			schedule(z, 0);
	}
}

static void format_time(int64_t t, char *buf, size_t size)
{
	if (t <= 0) {
		snprintf(buf, size, "never");
		return;
	}
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void rsv_sync_report(const struct rsv_sync *s, struct core_buf *out)
{
	for (size_t k = 0; s && k < s->n; k++) {
		const struct zone *z = s->z[k];
		char ok[40], tried[40];
		format_time(z->last_ok, ok, sizeof(ok));
		format_time(z->last_try, tried, sizeof(tried));
		if (z->is_url && z->have)
			(void)core_buf_printf(out, "list %s: %s (minisign), version %" PRIu32 " signed \"%s\", %zu entries, last confirmed %s\n",
					      z->name, z->primary_text, z->serial,
					      z->signed_comment, zone_entries(z), ok);
		else if (z->is_url)
			(void)core_buf_printf(out, "list %s: %s (minisign), no version yet (last try %s)\n",
					      z->name, z->primary_text, tried);
		else if (z->have)
			(void)core_buf_printf(out, "list %s: zone %s from %s%s, serial %" PRIu32 ", %zu entries (%zu changed by IXFR since the last full transfer), last confirmed %s\n",
					      z->name, z->zone, z->primary_text,
					      z->has_tsig ? " (TSIG)" : "", z->serial,
					      zone_entries(z), z->ov_count, ok);
		else
			(void)core_buf_printf(out, "list %s: zone %s from %s%s, no version yet (last try %s)\n",
					      z->name, z->zone, z->primary_text,
					      z->has_tsig ? " (TSIG)" : "", tried);
		if (z->pending) {
			char since[40];
			format_time(z->pending_since, since, sizeof(since));
			(void)core_buf_printf(out, "  WAITING: serial %" PRIu32 " (%zu entries, by %s) since %s, not in force: %s; 'lanhmanh lists diff %s' shows it, 'lanhmanh lists promote %s' applies it\n",
					      z->pending_serial, z->pending_entries, z->pending_how,
					      since, z->pending_why, z->name, z->name);
		}
		if (z->error[0])
			(void)core_buf_printf(out, "  last refresh failed: %s\n", z->error);
		if (z->alert[0])
			(void)core_buf_printf(out, "  ALERT: %s\n", z->alert);
		for (size_t h = z->n_hist; h-- > 0;) {
			char when[40];
			format_time(z->hist[h].applied, when, sizeof(when));
			(void)core_buf_printf(out, "  version serial %" PRIu32 ": %zu entries, applied %s by %s\n",
					      z->hist[h].serial, z->hist[h].entries, when,
					      z->hist[h].how);
		}
	}
}

size_t rsv_sync_alerts(const struct rsv_sync *s, struct core_buf *out)
{
	size_t n = 0;
	for (size_t k = 0; s && k < s->n; k++) {
		const struct zone *z = s->z[k];
		if (!z->alert[0])
			continue;
		(void)core_buf_printf(out, "ALERT list %s: %s\n", z->name, z->alert);
		n++;
	}
	return n;
}
