/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `lanhmanh report` (see report.h): read the statistics store, render text, CSV or HTML. */
#include "compliance/report.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compliance/schema.h"
#include "config.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/error.h"

/* Distinct categories a report shows; the config allows CFG_MAX_CATEGORIES. */
#define MAX_CATEGORIES 256
/* Output is written in pieces of about this size (cmpl_report_write). */
#define CHUNK (64u << 10)
#define BUSY_TIMEOUT_MS 5000

struct net {
	char *id, *name, *province; /* owned; name and province of its latest interval */
};

/* What one group of one network did on one day. */
struct row {
	size_t day; /* index in days */
	size_t net; /* index in nets */
	char *grp;  /* owned */
	int64_t queries, blocked;
	size_t first, n; /* its blocked counts per category: counts[first .. first + n) */
};

struct count {
	size_t cat; /* index in cats, which are in display order; a row's counts ascend by it */
	int64_t n;
};

/* One national version seen in a day's intervals. */
struct in_force {
	size_t day;
	char *version;	     /* owned; NULL: intervals without a national version */
	int64_t first_start; /* start of its first interval that day, Unix seconds */
};

struct version {
	char *list, *version, *how; /* owned */
	int64_t applied, entries;
};

struct top {
	char *domain; /* owned */
	int64_t n;
};

struct cmpl_report {
	char *reporter_id;	       /* owned, NULL: none */
	char *from, *to, *network;     /* owned copies of the filter, NULL: none */
	const struct pol_clock *clock; /* borrowed, NULL: UTC */
	int64_t generated;
	char **days; /* sorted */
	size_t n_days, cap_days;
	struct net *nets; /* sorted by id */
	size_t n_nets, cap_nets;
	char **cats; /* display order (cat_rank) */
	size_t n_cats, cap_cats;
	struct row *rows; /* by day, network id, group */
	size_t n_rows, cap_rows;
	struct count *counts;
	size_t n_counts, cap_counts;
	struct in_force *in_force; /* by day, then first interval */
	size_t n_in_force, cap_in_force;
	struct version *versions; /* by time applied */
	size_t n_versions, cap_versions;
	struct top *top; /* most blocked first */
	size_t n_top, cap_top;
	int64_t *day_cat; /* n_days x n_cats: blocked per day and category */
};

/* The built-in categories in config order, then "deny" (a group's or network's own deny names,
 * docs/statistics.md), with the Vietnamese words the HTML page uses. */
static const struct {
	const char *name, *vi;
} builtin_cats[] = {
	{"national", "Danh sách quốc gia"},
	{"adult", "Người lớn"},
	{"gambling", "Cờ bạc"},
	{"violence", "Bạo lực"},
	{"drugs", "Ma túy"},
	{"games", "Trò chơi"},
	{"social", "Mạng xã hội"},
	{"proxy_vpn_doh", "Proxy, VPN, DoH"},
	{"malware", "Mã độc"},
	{"deny", "Chặn riêng"},
};
#define N_BUILTIN (sizeof(builtin_cats) / sizeof(builtin_cats[0]))

static const char *const builtin_colors[N_BUILTIN] = {
	"#c62828", "#6a1b9a", "#ef6c00", "#5d4037", "#2e7d32",
	"#1565c0", "#00838f", "#f9a825", "#37474f", "#ec407a",
};
static const char *const other_colors[] = {
	"#ad1457", "#00acc1", "#9ccc65", "#3949ab", "#a1887f", "#c0ca33", "#7e57c2", "#ff7043",
};

/* Built-in categories first in config order, then "deny", then the others by name, "" last. */
static int cat_rank(const char *name)
{
	for (size_t i = 0; i < N_BUILTIN; i++) {
		if (strcmp(name, builtin_cats[i].name) == 0)
			return (int)i;
	}
	return name[0] ? (int)N_BUILTIN : (int)N_BUILTIN + 1;
}

static int cmp_cat(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int rx = cat_rank(x), ry = cat_rank(y);
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x, y);
}

static int cmp_count(const void *a, const void *b)
{
	const struct count *x = a, *y = b;
	return x->cat < y->cat ? -1 : x->cat > y->cat;
}

static const char *cat_color(const struct cmpl_report *rep, size_t cat)
{
	size_t n_other = sizeof(other_colors) / sizeof(other_colors[0]), builtin = 0;
	int r = cat_rank(rep->cats[cat]);
	if (r < (int)N_BUILTIN)
		return builtin_colors[r];
	if (!rep->cats[cat][0])
		return "#9e9e9e";
	/* Site-defined categories follow the built-in ones: number them from 0. */
	while (builtin < cat && cat_rank(rep->cats[builtin]) < (int)N_BUILTIN)
		builtin++;
	return other_colors[(cat - builtin) % n_other];
}

static const char *cat_vi(const char *name)
{
	int r = cat_rank(name);
	return r < (int)N_BUILTIN ? builtin_cats[r].vi : NULL;
}

struct cmpl_report *cmpl_report_free(struct cmpl_report *rep)
{
	if (!rep)
		return NULL;
	core_free(rep->reporter_id);
	core_free(rep->from);
	core_free(rep->to);
	core_free(rep->network);
	for (size_t i = 0; i < rep->n_days; i++)
		core_free(rep->days[i]);
	core_free(rep->days);
	for (size_t i = 0; i < rep->n_nets; i++) {
		core_free(rep->nets[i].id);
		core_free(rep->nets[i].name);
		core_free(rep->nets[i].province);
	}
	core_free(rep->nets);
	for (size_t i = 0; i < rep->n_cats; i++)
		core_free(rep->cats[i]);
	core_free(rep->cats);
	for (size_t i = 0; i < rep->n_rows; i++)
		core_free(rep->rows[i].grp);
	core_free(rep->rows);
	core_free(rep->counts);
	for (size_t i = 0; i < rep->n_in_force; i++)
		core_free(rep->in_force[i].version);
	core_free(rep->in_force);
	for (size_t i = 0; i < rep->n_versions; i++) {
		core_free(rep->versions[i].list);
		core_free(rep->versions[i].version);
		core_free(rep->versions[i].how);
	}
	core_free(rep->versions);
	for (size_t i = 0; i < rep->n_top; i++)
		core_free(rep->top[i].domain);
	core_free(rep->top);
	core_free(rep->day_cat);
	return core_free(rep);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading the store */

struct loader {
	sqlite3 *db;
	struct cmpl_report *rep;
	const char *path;
	char *err;
	size_t err_size;
};

static int fail(struct loader *ld, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *ld, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->err_size, fmt, ap);
	va_end(ap);
	return code;
}

/* Why a read-only open of a WAL store fails when the daemon is not running, for a user who may
 * not create the '-shm' file next to it. */
static const char *access_hint(sqlite3 *db)
{
	int rc = db ? sqlite3_errcode(db) : SQLITE_OK;
	if (rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN)
		return " (the store is in WAL mode: reading it needs its '-shm' file, which the daemon keeps while it runs, or the right to create it; run this as root or as the daemon's user)";
	return "";
}

static int db_fail(struct loader *ld, const char *what)
{
	return fail(ld, -EIO, "cannot read '%s' (%s): %s%s", ld->path, what, sqlite3_errmsg(ld->db),
		    access_hint(ld->db));
}

/* Room for element @n of the array *@v of @size-byte elements and capacity *@cap. */
static int reserve(void *v, size_t *cap, size_t n, size_t size)
{
	void *arr, *p;
	if (n < *cap)
		return 0;
	if (n >= CMPL_REPORT_MAX_ROWS)
		return CORE_ELIMIT;
	size_t c = *cap ? *cap * 2 : 16;
	if (c > CMPL_REPORT_MAX_ROWS)
		c = CMPL_REPORT_MAX_ROWS;
	/* @v points at a pointer of some object type: copied, not accessed as a void *. */
	memcpy(&arr, v, sizeof(arr));
	if (!(p = core_realloc(arr, c * size)))
		return -ENOMEM;
	memcpy(v, &p, sizeof(p));
	*cap = c;
	return 0;
}

static int reserve_fail(struct loader *ld, int r)
{
	if (r == CORE_ELIMIT)
		return fail(
			ld, r,
			"more than %d rows to report; choose fewer days (--from, --to) or one network (--network)",
			CMPL_REPORT_MAX_ROWS);
	return fail(ld, r, "out of memory");
}

static char *col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return core_strdup(s ? (const char *)s : "");
}

/* Prepare @sql and bind the filter to whichever of :from, :to, :net it names. */
static int prepare(struct loader *ld, const char *sql, sqlite3_stmt **out_st)
{
	const struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ld->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(ld, "query");
	const struct {
		const char *name, *value;
	} params[] = {{":from", rep->from}, {":to", rep->to}, {":net", rep->network}};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		int idx = sqlite3_bind_parameter_index(st, params[i].name);
		if (idx == 0)
			continue;
		int rc = params[i].value ?
				 sqlite3_bind_text(st, idx, params[i].value, -1, SQLITE_STATIC) :
				 sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			return db_fail(ld, "query");
		}
	}
	*out_st = st;
	return 0;
}

/* The days of the filter, on intervals aliased i. */
#define RANGE "(:from IS NULL OR i.day >= :from) AND (:to IS NULL OR i.day <= :to)"

static int check_schema(struct loader *ld)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ld->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
			       &st, NULL) != SQLITE_OK) {
		if (sqlite3_errcode(ld->db) == SQLITE_NOTADB)
			return fail(ld, CORE_EPARSE, "'%s' is not an SQLite database", ld->path);
		if (sqlite3_errcode(ld->db) == SQLITE_ERROR)
			return fail(ld, CORE_EPARSE, "'%s' is not a lanhmanh statistics store (%s)",
				    ld->path, sqlite3_errmsg(ld->db));
		return db_fail(ld, "schema version");
	}
	char want[16];
	snprintf(want, sizeof(want), "%d", CMPL_SCHEMA_VERSION);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_DONE) {
		ret = fail(ld, CORE_EPARSE,
			   "'%s' has no schema version; it is not a lanhmanh statistics store",
			   ld->path);
	} else if (rc != SQLITE_ROW) {
		ret = db_fail(ld, "schema version");
	} else {
		const unsigned char *v = sqlite3_column_text(st, 0);
		if (!v || strcmp((const char *)v, want) != 0)
			ret = fail(
				ld, CORE_EPARSE,
				"'%s' has schema version '%.20s'; this lanhmanh reads version %s",
				ld->path, v ? (const char *)v : "", want);
	}
	sqlite3_finalize(st);
	return ret;
}

static int load_reporter(struct loader *ld, const char *fallback)
{
	sqlite3_stmt *st;
	int ret = prepare(ld, "SELECT value FROM meta WHERE key = 'reporter_id'", &st);
	if (ret != 0)
		return ret;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (!(ld->rep->reporter_id = col_dup(st, 0)))
			ret = fail(ld, -ENOMEM, "out of memory");
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(ld, "meta");
	} else if (fallback && !(ld->rep->reporter_id = core_strdup(fallback))) {
		ret = fail(ld, -ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	return ret;
}

static int load_days(struct loader *ld)
{
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(
		ld, "SELECT DISTINCT i.day FROM intervals i WHERE " RANGE " ORDER BY i.day", &st);
	int rc;
	if (ret != 0)
		return ret;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = reserve(&rep->days, &rep->cap_days, rep->n_days, sizeof(char *))) != 0) {
			ret = reserve_fail(ld, ret);
		} else if (!(rep->days[rep->n_days] = col_dup(st, 0))) {
			ret = fail(ld, -ENOMEM, "out of memory");
		} else {
			rep->n_days++;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "intervals");
	sqlite3_finalize(st);
	return ret;
}

/* Networks of the range: id, and the name and province of their latest interval (SQLite takes
 * the bare columns of a MAX() aggregate from the row that holds the maximum). Networks that only
 * appear in blocks get empty names. */
static int load_nets(struct loader *ld)
{
	static const char sql[] =
		"SELECT network_id, network_name, province, MAX(iid) FROM ("
		" SELECT t.network_id, t.network_name, t.province, t.interval_id AS iid"
		"  FROM totals t JOIN intervals i ON i.id = t.interval_id"
		"  WHERE " RANGE " AND (:net IS NULL OR t.network_id = :net)"
		" UNION ALL"
		" SELECT b.network_id, '', '', -1 FROM blocks b"
		"  JOIN intervals i ON i.id = b.interval_id"
		"  WHERE " RANGE " AND (:net IS NULL OR b.network_id = :net)"
		") GROUP BY network_id ORDER BY network_id";
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld, sql, &st);
	int rc;
	if (ret != 0)
		return ret;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = reserve(&rep->nets, &rep->cap_nets, rep->n_nets, sizeof(struct net))) !=
		    0) {
			ret = reserve_fail(ld, ret);
			break;
		}
		struct net *n = &rep->nets[rep->n_nets];
		n->id = col_dup(st, 0);
		n->name = col_dup(st, 1);
		n->province = col_dup(st, 2);
		rep->n_nets++;
		if (!n->id || !n->name || !n->province)
			ret = fail(ld, -ENOMEM, "out of memory");
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "totals");
	sqlite3_finalize(st);
	return ret;
}

static int load_cats(struct loader *ld)
{
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld,
			  "SELECT DISTINCT b.category FROM blocks b JOIN intervals i"
			  " ON i.id = b.interval_id WHERE " RANGE
			  " AND (:net IS NULL OR b.network_id = :net)",
			  &st);
	int rc;
	if (ret != 0)
		return ret;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rep->n_cats == MAX_CATEGORIES) {
			ret = fail(ld, CORE_ELIMIT, "'%s' has more than %d categories", ld->path,
				   MAX_CATEGORIES);
		} else if ((ret = reserve(&rep->cats, &rep->cap_cats, rep->n_cats,
					  sizeof(char *))) != 0) {
			ret = reserve_fail(ld, ret);
		} else if (!(rep->cats[rep->n_cats] = col_dup(st, 0))) {
			ret = fail(ld, -ENOMEM, "out of memory");
		} else {
			rep->n_cats++;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "blocks");
	sqlite3_finalize(st);
	if (ret == 0 && rep->n_cats > 1)
		qsort(rep->cats, rep->n_cats, sizeof(char *), cmp_cat);
	return ret;
}

static bool find_str(char *const *v, size_t n, const char *key, size_t *out_idx)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid], key);
		if (c == 0) {
			*out_idx = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool find_net(const struct cmpl_report *rep, const char *id, size_t *out_idx)
{
	size_t lo = 0, hi = rep->n_nets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(rep->nets[mid].id, id);
		if (c == 0) {
			*out_idx = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int inconsistent(struct loader *ld)
{
	return fail(ld, CORE_EPARSE, "'%s' changed while it was read; run the report again",
		    ld->path);
}

/* Rows: totals per day, network and group; groups that only blocked (no totals row, which the
 * daemon does not write) still get a row, with zero queries. */
static int load_rows(struct loader *ld)
{
	static const char sql[] =
		"SELECT day, network_id, grp, SUM(q), SUM(b) FROM ("
		" SELECT i.day AS day, t.network_id AS network_id, t.grp AS grp, t.queries AS q,"
		"  t.blocked AS b FROM totals t JOIN intervals i ON i.id = t.interval_id"
		"  WHERE " RANGE " AND (:net IS NULL OR t.network_id = :net)"
		" UNION ALL"
		" SELECT i.day, b.network_id, b.grp, 0, 0 FROM blocks b"
		"  JOIN intervals i ON i.id = b.interval_id"
		"  WHERE " RANGE " AND (:net IS NULL OR b.network_id = :net)"
		") GROUP BY day, network_id, grp ORDER BY day, network_id, grp";
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld, sql, &st);
	int rc;
	if (ret != 0)
		return ret;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row r = {0};
		const unsigned char *day = sqlite3_column_text(st, 0);
		const unsigned char *net = sqlite3_column_text(st, 1);
		if (!find_str(rep->days, rep->n_days, day ? (const char *)day : "", &r.day) ||
		    !find_net(rep, net ? (const char *)net : "", &r.net)) {
			ret = inconsistent(ld);
			break;
		}
		r.queries = sqlite3_column_int64(st, 3);
		r.blocked = sqlite3_column_int64(st, 4);
		if ((ret = reserve(&rep->rows, &rep->cap_rows, rep->n_rows, sizeof(r))) != 0) {
			ret = reserve_fail(ld, ret);
		} else if (!(r.grp = col_dup(st, 2))) {
			ret = fail(ld, -ENOMEM, "out of memory");
		} else {
			rep->rows[rep->n_rows++] = r;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "totals");
	sqlite3_finalize(st);
	return ret;
}

/* Order of row @r against the key (@day, @net, @grp). */
static int row_cmp(const struct cmpl_report *rep, const struct row *r, const char *day,
		   const char *net, const char *grp)
{
	int c = strcmp(rep->days[r->day], day);
	if (c == 0)
		c = strcmp(rep->nets[r->net].id, net);
	if (c == 0)
		c = strcmp(r->grp, grp);
	return c;
}

/* Blocked counts per day, network, group and category, in the order of the rows. */
static int load_counts(struct loader *ld)
{
	static const char sql[] =
		"SELECT i.day, b.network_id, b.grp, b.category, SUM(b.count) FROM blocks b"
		" JOIN intervals i ON i.id = b.interval_id"
		" WHERE " RANGE " AND (:net IS NULL OR b.network_id = :net)"
		" GROUP BY i.day, b.network_id, b.grp, b.category"
		" ORDER BY i.day, b.network_id, b.grp";
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld, sql, &st);
	int rc;
	size_t cur = 0;
	if (ret != 0)
		return ret;
	if (rep->n_days && rep->n_cats &&
	    !(rep->day_cat = core_calloc(rep->n_days * rep->n_cats, sizeof(int64_t)))) {
		sqlite3_finalize(st);
		return fail(ld, -ENOMEM, "out of memory");
	}
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *day = (const char *)sqlite3_column_text(st, 0);
		const char *net = (const char *)sqlite3_column_text(st, 1);
		const char *grp = (const char *)sqlite3_column_text(st, 2);
		const char *cat = (const char *)sqlite3_column_text(st, 3);
		struct count c = {.n = sqlite3_column_int64(st, 4)};
		day = day ? day : "";
		net = net ? net : "";
		grp = grp ? grp : "";
		while (cur < rep->n_rows && row_cmp(rep, &rep->rows[cur], day, net, grp) < 0)
			cur++;
		size_t i;
		for (i = 0; i < rep->n_cats && strcmp(rep->cats[i], cat ? cat : "") != 0; i++)
			;
		if (cur == rep->n_rows || row_cmp(rep, &rep->rows[cur], day, net, grp) != 0 ||
		    i == rep->n_cats) {
			ret = inconsistent(ld);
			break;
		}
		c.cat = i;
		struct row *r = &rep->rows[cur];
		if ((ret = reserve(&rep->counts, &rep->cap_counts, rep->n_counts, sizeof(c))) !=
		    0) {
			ret = reserve_fail(ld, ret);
			break;
		}
		if (r->n == 0)
			r->first = rep->n_counts;
		r->n++;
		rep->counts[rep->n_counts++] = c;
		rep->day_cat[r->day * rep->n_cats + c.cat] += c.n;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "blocks");
	sqlite3_finalize(st);
	for (size_t k = 0; ret == 0 && k < rep->n_rows; k++) {
		if (rep->rows[k].n > 1)
			qsort(rep->counts + rep->rows[k].first, rep->rows[k].n,
			      sizeof(struct count), cmp_count);
	}
	return ret;
}

static int load_top(struct loader *ld)
{
	static const char sql[] = "SELECT tn.domain, SUM(tn.count) AS n FROM top_national tn"
				  " JOIN intervals i ON i.id = tn.interval_id"
				  " WHERE " RANGE " AND (:net IS NULL OR tn.network_id = :net)"
				  " GROUP BY tn.domain ORDER BY n DESC, tn.domain LIMIT :limit";
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld, sql, &st);
	int rc;
	if (ret != 0)
		return ret;
	if (sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":limit"),
			     CMPL_REPORT_TOP_DOMAINS) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(ld, "top_national");
	}
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct top t = {.n = sqlite3_column_int64(st, 1)};
		if ((ret = reserve(&rep->top, &rep->cap_top, rep->n_top, sizeof(t))) != 0)
			ret = reserve_fail(ld, ret);
		else if (!(t.domain = col_dup(st, 0)))
			ret = fail(ld, -ENOMEM, "out of memory");
		else
			rep->top[rep->n_top++] = t;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "top_national");
	sqlite3_finalize(st);
	return ret;
}

/* "YYYY-MM-DD HH:MM:SS" of @t in @clock's zone (UTC without one) into @buf, and the offset
 * "+07:00" into @off when not NULL. Times far outside any plausible range print as numbers. */
static void local_time(const struct pol_clock *clock, int64_t t, char buf[32], char off[8])
{
	int32_t utoff = 0;
	struct tm tm;
	time_t lt;
	if (t < -(INT64_C(1) << 40) || t > (INT64_C(1) << 40)) {
		snprintf(buf, 32, "@%" PRId64, t);
		if (off)
			off[0] = '\0';
		return;
	}
	if (clock)
		utoff = pol_clock_utc_offset(clock, t);
	lt = (time_t)(t + utoff);
	if (!gmtime_r(&lt, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, 32, "@%" PRId64, t);
	if (off) {
		/* pol_clock keeps offsets within -25 h..+26 h */
		unsigned a = (unsigned)(utoff < 0 ? -utoff : utoff) % (100 * 3600);
		snprintf(off, 8, "%c%02u:%02u", utoff < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
	}
}

/* Versions of the national list: those applied on the days of the filter, and for each list
 * the last one applied before the first day (it was in force when the range began). */
static int load_versions(struct loader *ld)
{
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld,
			  "SELECT list, version, applied, how, entries FROM list_versions"
			  " WHERE category = 'national' ORDER BY applied, list, version",
			  &st);
	int rc;
	if (ret != 0)
		return ret;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct version v = {.applied = sqlite3_column_int64(st, 2),
				    .entries = sqlite3_column_int64(st, 4)};
		if ((ret = reserve(&rep->versions, &rep->cap_versions, rep->n_versions,
				   sizeof(v))) != 0) {
			ret = reserve_fail(ld, ret);
			break;
		}
		v.list = col_dup(st, 0);
		v.version = col_dup(st, 1);
		v.how = col_dup(st, 3);
		rep->versions[rep->n_versions++] = v;
		if (!v.list || !v.version || !v.how)
			ret = fail(ld, -ENOMEM, "out of memory");
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "list_versions");
	sqlite3_finalize(st);
	if (ret != 0 || (!rep->from && !rep->to))
		return ret;
	/* Walk back from the newest: keep the range, and the newest before it of each list. */
	const char **seen = NULL;
	size_t n_seen = 0, kept = 0;
	bool *keep = core_calloc(rep->n_versions + 1, sizeof(bool));
	if (!keep || !(seen = core_calloc(rep->n_versions + 1, sizeof(char *)))) {
		core_free(keep);
		return fail(ld, -ENOMEM, "out of memory");
	}
	for (size_t k = rep->n_versions; k-- > 0;) {
		const struct version *v = &rep->versions[k];
		char t[32];
		local_time(rep->clock, v->applied, t, NULL);
		t[10] = '\0';
		if (rep->to && strcmp(t, rep->to) > 0)
			continue;
		if (!rep->from || strcmp(t, rep->from) >= 0) {
			keep[k] = true;
			continue;
		}
		size_t s;
		for (s = 0; s < n_seen && strcmp(seen[s], v->list) != 0; s++)
			;
		if (s == n_seen) {
			seen[n_seen++] = v->list;
			keep[k] = true;
		}
	}
	for (size_t k = 0; k < rep->n_versions; k++) {
		if (keep[k]) {
			rep->versions[kept++] = rep->versions[k];
		} else {
			core_free(rep->versions[k].list);
			core_free(rep->versions[k].version);
			core_free(rep->versions[k].how);
		}
	}
	rep->n_versions = kept;
	core_free(keep);
	core_free(seen);
	return 0;
}

static int load_in_force(struct loader *ld)
{
	static const char sql[] =
		"SELECT i.day, i.national_version, MIN(i.start) AS s FROM intervals i"
		" WHERE " RANGE " GROUP BY i.day, i.national_version ORDER BY i.day, s";
	struct cmpl_report *rep = ld->rep;
	sqlite3_stmt *st;
	int ret = prepare(ld, sql, &st);
	int rc;
	if (ret != 0)
		return ret;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct in_force f = {.first_start = sqlite3_column_int64(st, 2)};
		const unsigned char *day = sqlite3_column_text(st, 0);
		if (!find_str(rep->days, rep->n_days, day ? (const char *)day : "", &f.day)) {
			ret = inconsistent(ld);
		} else if ((ret = reserve(&rep->in_force, &rep->cap_in_force, rep->n_in_force,
					  sizeof(f))) != 0) {
			ret = reserve_fail(ld, ret);
		} else if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
			   !(f.version = col_dup(st, 1))) {
			ret = fail(ld, -ENOMEM, "out of memory");
		} else {
			rep->in_force[rep->n_in_force++] = f;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ld, "intervals");
	sqlite3_finalize(st);
	return ret;
}

static int dup_opt(struct loader *ld, const char *s, char **out)
{
	if (s && !(*out = core_strdup(s)))
		return fail(ld, -ENOMEM, "out of memory");
	return 0;
}

int cmpl_report_load(const char *path, const struct cmpl_report_opts *opts,
		     struct cmpl_report **out_rep, char *err, size_t err_size)
{
	struct loader ld = {.path = path, .err = err, .err_size = err_size};
	struct stat sb;
	int ret;

	if (err_size)
		err[0] = '\0';
	if (stat(path, &sb) != 0) {
		int e = errno;
		if (e == ENOENT)
			return fail(
				&ld, -ENOENT,
				"statistics store '%s' does not exist (is 'compliance:' enabled in the config, and has the daemon closed an interval yet?)",
				path);
		return fail(&ld, -e, "cannot open statistics store '%s': %s", path, strerror(e));
	}
	if (!(ld.rep = core_calloc(1, sizeof(*ld.rep))))
		return fail(&ld, -ENOMEM, "out of memory");
	ld.rep->clock = opts->clock;
	ld.rep->generated = opts->generated;
	if ((ret = dup_opt(&ld, opts->from, &ld.rep->from)) != 0 ||
	    (ret = dup_opt(&ld, opts->to, &ld.rep->to)) != 0 ||
	    (ret = dup_opt(&ld, opts->network, &ld.rep->network)) != 0)
		goto out_free_rep;
	if (sqlite3_open_v2(path, &ld.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ret = fail(&ld, -EIO, "cannot open statistics store '%s': %s%s", path,
			   ld.db ? sqlite3_errmsg(ld.db) : "out of memory", access_hint(ld.db));
		goto out_close;
	}
	sqlite3_busy_timeout(ld.db, BUSY_TIMEOUT_MS);
	/* One read transaction: every query below sees the same snapshot of the store, however
	 * many intervals the daemon closes meanwhile. */
	if (sqlite3_exec(ld.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = db_fail(&ld, "begin");
		goto out_close;
	}
	if ((ret = check_schema(&ld)) != 0 || (ret = load_reporter(&ld, opts->reporter_id)) != 0 ||
	    (ret = load_days(&ld)) != 0 || (ret = load_nets(&ld)) != 0 ||
	    (ret = load_cats(&ld)) != 0 || (ret = load_rows(&ld)) != 0 ||
	    (ret = load_counts(&ld)) != 0 || (ret = load_top(&ld)) != 0 ||
	    (ret = load_versions(&ld)) != 0 || (ret = load_in_force(&ld)) != 0)
		goto out_close;
	(void)sqlite3_exec(ld.db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(ld.db);
	*out_rep = ld.rep;
	return 0;

out_close:
	sqlite3_close(ld.db);
out_free_rep:
	cmpl_report_free(ld.rep);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Output: a buffer, flushed to a file as it fills; the first error sticks */

struct sink {
	struct core_buf *buf;
	FILE *f; /* NULL: everything stays in buf */
	int err;
};

static void flush(struct sink *s)
{
	if (!s->f || s->buf->len == 0)
		return;
	if (s->err == 0 && fwrite(s->buf->data, 1, s->buf->len, s->f) != s->buf->len)
		s->err = -EIO;
	core_buf_deinit(s->buf);
}

static void putn(struct sink *s, const char *str, size_t len)
{
	if (s->err != 0)
		return;
	if (s->f && s->buf->len + len > CHUNK) {
		flush(s);
		if (len >= CHUNK) {
			if (s->err == 0 && fwrite(str, 1, len, s->f) != len)
				s->err = -EIO;
			return;
		}
	}
	int r = core_buf_add(s->buf, str, len);
	if (r != 0)
		s->err = r;
}

static void put(struct sink *s, const char *str)
{
	putn(s, str, strlen(str));
}

/* Numbers and fixed text only: what comes from the store goes through put_text/html/csv. */
static void putf(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct sink *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		if (s->err == 0)
			s->err = CORE_ETRUNC;
		return;
	}
	putn(s, line, (size_t)n);
}

/* Text for a terminal: control characters of the store's strings become '?'. */
static void put_text(struct sink *s, const char *str)
{
	const char *p = str;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) {
			putn(s, str, (size_t)(p - str));
			put(s, "?");
			str = p + 1;
		}
	}
	putn(s, str, (size_t)(p - str));
}

static void put_html(struct sink *s, const char *str)
{
	const char *p = str;
	for (; *p; p++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*p;
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "?";
		}
		if (rep) {
			putn(s, str, (size_t)(p - str));
			put(s, rep);
			str = p + 1;
		}
	}
	putn(s, str, (size_t)(p - str));
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
static void put_csv(struct sink *s, const char *str)
{
	if (!strpbrk(str, ",\"\r\n")) {
		put(s, str);
		return;
	}
	put(s, "\"");
	for (const char *q; (q = strchr(str, '"')); str = q + 1) {
		putn(s, str, (size_t)(q - str) + 1);
		put(s, "\"");
	}
	put(s, str);
	put(s, "\"");
}

/* "HH:MM" of @t in the report's zone. */
static void put_hhmm(struct sink *s, const struct pol_clock *clock, int64_t t)
{
	char when[32];
	local_time(clock, t, when, NULL);
	if (when[0] == '@')
		put(s, when);
	else
		putn(s, when + 11, 5);
}

static void put_pct(struct sink *s, int64_t part, int64_t whole)
{
	if (whole <= 0)
		put(s, "-");
	else
		putf(s, "%.1f%%", (double)part * 100.0 / (double)whole);
}

/* The day range for headings: the filter's bounds, else the first and last day stored. */
static void range_of(const struct cmpl_report *rep, const char **out_from, const char **out_to)
{
	*out_from = rep->from ? rep->from : rep->n_days ? rep->days[0] : NULL;
	*out_to = rep->to ? rep->to : rep->n_days ? rep->days[rep->n_days - 1] : NULL;
}

/* "F to T" (HTML "F → T"); an open end is left out ("from F", "up to T"). */
static void put_range(struct sink *s, const char *from, const char *to, bool html)
{
	void (*esc)(struct sink *, const char *) = html ? put_html : put_text;
	if (from && to) {
		esc(s, from);
		put(s, html ? " → " : " to ");
		esc(s, to);
	} else if (from) {
		put(s, html ? "từ / from " : "from ");
		esc(s, from);
	} else if (to) {
		put(s, html ? "đến / up to " : "up to ");
		esc(s, to);
	}
}

static const char *zone_of(const struct cmpl_report *rep)
{
	return rep->clock && rep->clock->zone[0] ? rep->clock->zone : "UTC";
}

/* ------------------------------------------------------------------------------------------ */
/* Text */

#define TTAB_MAX_COLS 6

/* A text table: columns padded to their widest cell (in characters, not bytes); "line" rows
 * are printed as they are and do not widen columns. */
struct ttab {
	size_t ncols;
	unsigned right; /* bit c: column c is right-aligned */
	char **cell; /* n rows x ncols, owned; a line row has its text in the first, NULLs after */
	size_t n, cap;
	int err;
};

/* Characters a terminal shows for UTF-8 @s: continuation bytes and combining marks
 * (U+0300..U+036F, as in decomposed Vietnamese) take no column. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		if ((p[0] == 0xcc && (p[1] & 0xc0) == 0x80) ||
		    (p[0] == 0xcd && p[1] >= 0x80 && p[1] <= 0xaf))
			continue;
		w++;
	}
	return w;
}

static void ttab_add(struct ttab *t, const char *const *cells, bool line)
{
	if (t->err != 0)
		return;
	int r = reserve(&t->cell, &t->cap, (t->n + 1) * t->ncols - 1, sizeof(char *));
	if (r != 0) {
		t->err = r;
		return;
	}
	char **row = t->cell + t->n * t->ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		row[c] = NULL;
		if (line && c > 0)
			continue;
		if (!(row[c] = core_strdup(cells[c])))
			t->err = -ENOMEM;
		for (char *p = row[c]; p && *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		}
	}
	t->n++;
}

static void ttab_row(struct ttab *t, const char *const *cells)
{
	ttab_add(t, cells, false);
}

static void ttab_line(struct ttab *t, const char *text)
{
	ttab_add(t, &text, true);
}

static void ttab_emit(struct sink *s, struct ttab *t, const char *indent)
{
	size_t width[TTAB_MAX_COLS] = {0};
	if (t->err != 0) {
		if (s->err == 0)
			s->err = t->err;
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		char **row = t->cell + i * t->ncols;
		if (!row[1])
			continue; /* a line */
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = text_width(row[c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		char **row = t->cell + i * t->ncols;
		put(s, indent);
		if (!row[1]) {
			put(s, row[0]);
			put(s, "\n");
			continue;
		}
		for (size_t c = 0; c < t->ncols; c++) {
			size_t pad = width[c] - text_width(row[c]);
			bool last = c + 1 == t->ncols;
			if (last && !row[c][0] && !(t->right & (1u << c)))
				break; /* no trailing blanks */
			if (c > 0)
				put(s, "  ");
			if (t->right & (1u << c))
				putf(s, "%*s", (int)pad, "");
			put(s, row[c]);
			if (!(t->right & (1u << c)) && !last)
				putf(s, "%*s", (int)pad, "");
		}
		put(s, "\n");
	}
}

static void ttab_deinit(struct ttab *t)
{
	for (size_t i = 0; i < t->n * t->ncols; i++)
		core_free(t->cell[i]);
	t->cell = core_free(t->cell);
	t->n = t->cap = 0;
}

static void fmt_i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
}

static void fmt_pct(char buf[24], int64_t part, int64_t whole)
{
	if (whole <= 0)
		snprintf(buf, 24, "-");
	else
		snprintf(buf, 24, "%.1f%%", (double)part * 100.0 / (double)whole);
}

/* "name (province)", "name" or "" for network @n. @return 0, -ENOMEM or CORE_ELIMIT. */
static int net_label(const struct net *n, struct core_buf *b)
{
	int r = core_buf_add(b, n->name, strlen(n->name));
	if (r == 0 && n->province[0])
		r = core_buf_printf(b, "%s(%s)", n->name[0] ? " " : "", n->province);
	return r;
}

/* Add @r's counts to @sum (n_cats entries). */
static void add_counts(const struct cmpl_report *rep, const struct row *r, int64_t *sum)
{
	for (size_t k = 0; k < r->n; k++)
		sum[rep->counts[r->first + k].cat] += rep->counts[r->first + k].n;
}

/* The rows of one day and network, as one table row and its "by category" line. */
static void text_network(const struct cmpl_report *rep, struct ttab *t, size_t first, size_t end,
			 int64_t *sum)
{
	const struct net *n = &rep->nets[rep->rows[first].net];
	int64_t q = 0, b = 0;
	char qs[24], bs[24], ps[24];
	struct core_buf label, line;

	memset(sum, 0, rep->n_cats * sizeof(int64_t));
	for (size_t i = first; i < end; i++) {
		q += rep->rows[i].queries;
		b += rep->rows[i].blocked;
		add_counts(rep, &rep->rows[i], sum);
	}
	fmt_i64(qs, q);
	fmt_i64(bs, b);
	fmt_pct(ps, b, q);
	core_buf_init(&label, 1u << 16);
	int r = net_label(n, &label);
	if (r != 0)
		t->err = r;
	ttab_row(t, (const char *const[]){n->id[0] ? n->id : "(none)", qs, bs, ps,
					  core_buf_str(&label)});
	core_buf_deinit(&label);
	core_buf_init(&line, 1u << 16);
	if (r == 0)
		r = core_buf_printf(&line, "  by category:");
	bool any = false;
	for (size_t c = 0; r == 0 && c < rep->n_cats; c++) {
		if (!sum[c])
			continue;
		r = core_buf_printf(&line, "%s %s %" PRId64, any ? "," : "",
				    rep->cats[c][0] ? rep->cats[c] : "(none)", sum[c]);
		any = true;
	}
	if (r != 0)
		t->err = r;
	else if (any)
		ttab_line(t, core_buf_str(&line));
	core_buf_deinit(&line);
}

static void text_days(const struct cmpl_report *rep, struct sink *s, int64_t *sum)
{
	size_t i = 0;
	for (size_t d = 0; d < rep->n_days; d++) {
		struct ttab t = {.ncols = 5, .right = 0xe};
		int64_t q = 0, b = 0;
		size_t nets = 0;
		put(s, "\n");
		put_text(s, rep->days[d]);
		put(s, "\n");
		if (i == rep->n_rows || rep->rows[i].day != d) {
			put(s, "  no queries recorded\n");
			continue;
		}
		ttab_row(&t, (const char *const[]){"network", "queries", "blocked", "blocked%",
						   "name (province)"});
		while (i < rep->n_rows && rep->rows[i].day == d) {
			size_t end = i;
			while (end < rep->n_rows && rep->rows[end].day == d &&
			       rep->rows[end].net == rep->rows[i].net) {
				q += rep->rows[end].queries;
				b += rep->rows[end].blocked;
				end++;
			}
			text_network(rep, &t, i, end, sum);
			nets++;
			i = end;
		}
		if (nets > 1) {
			char qs[24], bs[24], ps[24];
			fmt_i64(qs, q);
			fmt_i64(bs, b);
			fmt_pct(ps, b, q);
			ttab_row(&t, (const char *const[]){"all", qs, bs, ps, ""});
		}
		ttab_emit(s, &t, "  ");
		ttab_deinit(&t);
	}
}

static void text_compliance(const struct cmpl_report *rep, struct sink *s)
{
	struct ttab t = {.ncols = 2, .right = 0x1};
	char n[24], when[32], off[8], applied[48];

	put(s, "\ntop blocked national-list names (sums of each interval's top list)\n");
	if (rep->n_top == 0)
		put(s, "  none\n");
	ttab_row(&t, (const char *const[]){"blocked", "domain"});
	for (size_t i = 0; i < rep->n_top; i++) {
		fmt_i64(n, rep->top[i].n);
		ttab_row(&t, (const char *const[]){n, rep->top[i].domain});
	}
	if (rep->n_top)
		ttab_emit(s, &t, "  ");
	ttab_deinit(&t);

	put(s, "\nnational list versions applied\n");
	if (rep->n_versions == 0)
		put(s, "  none recorded\n");
	t = (struct ttab){.ncols = 5, .right = 0x10};
	ttab_row(&t, (const char *const[]){"list", "version", "applied", "how", "entries"});
	for (size_t i = 0; i < rep->n_versions; i++) {
		const struct version *v = &rep->versions[i];
		local_time(rep->clock, v->applied, when, off);
		snprintf(applied, sizeof(applied), "%s%s%s", when, off[0] ? " " : "", off);
		fmt_i64(n, v->entries);
		ttab_row(&t, (const char *const[]){v->list, v->version, applied, v->how, n});
	}
	if (rep->n_versions)
		ttab_emit(s, &t, "  ");
	ttab_deinit(&t);

	put(s, "\nnational list version in force\n");
	if (rep->n_in_force == 0)
		put(s, "  no intervals recorded\n");
	for (size_t i = 0; i < rep->n_in_force;) {
		size_t d = rep->in_force[i].day, end = i;
		while (end < rep->n_in_force && rep->in_force[end].day == d)
			end++;
		put(s, "  ");
		put_text(s, rep->days[d]);
		put(s, "  ");
		for (size_t k = i; k < end; k++) {
			const struct in_force *f = &rep->in_force[k];
			if (k > i)
				put(s, ", ");
			if (f->version)
				put_text(s, f->version);
			else
				put(s, "(none)");
			if (end - i > 1) {
				put(s, " from ");
				put_hhmm(s, rep->clock, f->first_start);
			}
		}
		put(s, "\n");
		i = end;
	}
}

static void render_text(const struct cmpl_report *rep, struct sink *s, int64_t *sum)
{
	const char *from, *to;
	range_of(rep, &from, &to);
	put(s, "lanhmanh report");
	if (rep->reporter_id) {
		put(s, ": reporter ");
		put_text(s, rep->reporter_id);
	}
	put(s, "\n");
	if (from || to) {
		put(s, "days ");
		put_range(s, from, to, false);
	} else {
		put(s, "no days recorded");
	}
	put(s, rep->network ? ", network " : ", all networks");
	if (rep->network)
		put_text(s, rep->network);
	put(s, "; times in ");
	put_text(s, zone_of(rep));
	put(s, "\n");
	text_days(rep, s, sum);
	text_compliance(rep, s);
}

/* ------------------------------------------------------------------------------------------ */
/* CSV */

static void csv_row(const struct cmpl_report *rep, struct sink *s, const struct row *r,
		    const char *cat, int64_t queries, int64_t blocked)
{
	const struct net *n = &rep->nets[r->net];
	put_csv(s, rep->days[r->day]);
	put(s, ",");
	put_csv(s, n->id);
	put(s, ",");
	put_csv(s, n->name);
	put(s, ",");
	put_csv(s, n->province);
	put(s, ",");
	put_csv(s, r->grp);
	put(s, ",");
	if (cat) {
		put_csv(s, cat);
		putf(s, ",,%" PRId64 "\n", blocked);
	} else {
		putf(s, ",%" PRId64 ",%" PRId64 "\n", queries, blocked);
	}
}

static void render_csv(const struct cmpl_report *rep, struct sink *s)
{
	put(s, "day,network_id,network_name,province,group,category,queries,blocked\n");
	for (size_t i = 0; i < rep->n_rows; i++) {
		const struct row *r = &rep->rows[i];
		csv_row(rep, s, r, NULL, r->queries, r->blocked);
		for (size_t k = 0; k < r->n; k++) {
			const struct count *c = &rep->counts[r->first + k];
			csv_row(rep, s, r, rep->cats[c->cat], 0, c->n);
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* HTML */

static const char html_style[] =
	"body{font-family:\"Noto Sans\",\"Segoe UI\",Roboto,Arial,sans-serif;color:#212121;"
	"max-width:1100px;margin:1.5em auto;padding:0 1em;line-height:1.4}\n"
	"h1{font-size:1.6em;margin-bottom:.3em}\n"
	"h2{font-size:1.25em;border-bottom:2px solid #c62828;padding-bottom:.2em;margin-top:2em}\n"
	"h3{font-size:1.05em;margin:1.5em 0 .4em}\n"
	".en{color:#666;font-weight:normal}\n"
	"table{border-collapse:collapse;margin:.4em 0 1em}\n"
	"th,td{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}\n"
	"th{background:#f3f3f3;text-align:left;font-size:.92em}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"tr.total td{font-weight:bold;background:#fafafa}\n"
	"td.none{color:#b71c1c;font-weight:bold}\n"
	"dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}\n"
	"dl.meta dt{color:#555}dl.meta dd{margin:0}\n"
	".note{color:#555;font-size:.9em}\n"
	"svg{max-width:100%;height:auto}\n"
	"svg text{font-family:inherit;font-size:11px;fill:#333}\n"
	"@media print{body{max-width:none}h2{page-break-after:avoid}"
	"table{page-break-inside:auto}}\n";

/* A category's heading: Vietnamese words and the name for built-in ones, else the name. */
static void html_cat(struct sink *s, const char *name, bool line_break)
{
	const char *vi = cat_vi(name);
	if (!name[0]) {
		put(s, "Không danh mục <span class=\"en\">(none)</span>");
		return;
	}
	if (vi) {
		put(s, vi);
		put(s, line_break ? "<br><span class=\"en\">" : " <span class=\"en\">(");
		put_html(s, name);
		put(s, line_break ? "</span>" : ")</span>");
		return;
	}
	put_html(s, name);
}

static void td_num(struct sink *s, int64_t v)
{
	putf(s, "<td class=\"n\">%" PRId64 "</td>", v);
}

static void td_pct(struct sink *s, int64_t part, int64_t whole)
{
	put(s, "<td class=\"n\">");
	put_pct(s, part, whole);
	put(s, "</td>");
}

/* Round @max up to a "nice" axis top; *@out_step is the tick spacing (1, 2 or 5 x 10^k). */
static int64_t nice_axis(int64_t max, int64_t *out_step)
{
	int64_t raw = max <= 0 ? 1 : (max + 4) / 5, mag = 1, step;
	while (mag <= raw / 10)
		mag *= 10;
	step = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
	*out_step = step;
	int64_t top = (max + step - 1) / step * step;
	return top < step ? step : top;
}

/* Chart geometry, in SVG user units (px). */
#define CH_LEFT 84
#define CH_RIGHT 16
#define CH_TOP 24
#define CH_PLOT_H 240
#define CH_BOTTOM 96 /* rotated day labels and the axis title */
#define CH_MIN_W 560
#define CH_PLOT_MIN_W 460.0
#define CH_PLOT_MAX_W 760.0
#define CH_LEGEND_W 230
#define CH_LEGEND_ROW 20

static void html_chart(const struct cmpl_report *rep, struct sink *s)
{
	size_t n = rep->n_days;
	int64_t max = 0, step, top;
	if (n == 0) {
		put(s, "<p class=\"note\">Không có dữ liệu / No data.</p>\n");
		return;
	}
	for (size_t d = 0; d < n; d++) {
		int64_t sum = 0;
		for (size_t c = 0; c < rep->n_cats; c++)
			sum += rep->day_cat[d * rep->n_cats + c];
		if (sum > max)
			max = sum;
	}
	top = nice_axis(max, &step);
	/* 60 units a day, the plot between 460 and 760 wide (a page), but at least 6 a day. */
	double plot_w = 60.0 * (double)n;
	plot_w = plot_w < CH_PLOT_MIN_W ? CH_PLOT_MIN_W :
		 plot_w > CH_PLOT_MAX_W ? CH_PLOT_MAX_W :
					  plot_w;
	double slot = plot_w / (double)n;
	if (slot < 6) {
		slot = 6;
		plot_w = slot * (double)n;
	}
	double bar = slot * 0.7 > 44 ? 44 : slot * 0.7;
	double w = CH_LEFT + plot_w + CH_RIGHT;
	w = w < CH_MIN_W ? CH_MIN_W : w;
	size_t cols = (size_t)((w - CH_LEFT) / CH_LEGEND_W);
	cols = cols ? cols : 1;
	size_t legend_rows = (rep->n_cats + cols - 1) / cols;
	double base = CH_TOP + CH_PLOT_H; /* y of the x axis */
	double h = base + CH_BOTTOM + (double)legend_rows * CH_LEGEND_ROW + 8;
	/* Label every k-th day so that rotated labels stay about 20 units apart. */
	size_t every = 1;
	while (slot * (double)every < 20)
		every++;

	putf(s,
	     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\""
	     " viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-labelledby=\"chart-title\">\n",
	     w, h, w, h);
	put(s, "<title id=\"chart-title\">Truy vấn bị chặn theo ngày và danh mục / "
	       "Blocked queries per day and category</title>\n");
	for (int64_t v = 0; v <= top; v += step) {
		double y = base - (double)v * CH_PLOT_H / (double)top;
		putf(s,
		     "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
		     "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRId64 "</text>\n",
		     CH_LEFT, y, CH_LEFT + plot_w, y, CH_LEFT - 6, y + 4, v);
	}
	for (size_t d = 0; d < n; d++) {
		double x = CH_LEFT + slot * (double)d + (slot - bar) / 2, y = base;
		int64_t day_total = 0;
		for (size_t c = 0; c < rep->n_cats; c++) {
			int64_t v = rep->day_cat[d * rep->n_cats + c];
			if (v <= 0)
				continue;
			double bh = (double)v * CH_PLOT_H / (double)top;
			y -= bh;
			day_total += v;
			putf(s,
			     "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
			     " fill=\"%s\">",
			     x, y, bar, bh, cat_color(rep, c));
			put(s, "<title>");
			put_html(s, rep->days[d]);
			put(s, " · ");
			put_html(s, rep->cats[c][0] ? rep->cats[c] : "(none)");
			putf(s, ": %" PRId64 "</title></rect>\n", v);
		}
		if (slot >= 30 && day_total > 0)
			putf(s,
			     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\""
			     " font-size=\"10\">%" PRId64 "</text>\n",
			     x + bar / 2, y - 3, day_total);
		if (d % every == 0) {
			double lx = x + bar / 2, ly = base + 14;
			putf(s,
			     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\""
			     " transform=\"rotate(-45 %.1f %.1f)\">",
			     lx, ly, lx, ly);
			put_html(s, rep->days[d]);
			put(s, "</text>\n");
		}
	}
	/* Axes and their titles. */
	putf(s,
	     "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" stroke=\"#424242\"/>"
	     "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#424242\"/>\n",
	     CH_LEFT, CH_TOP, CH_LEFT, base, CH_LEFT, base, CH_LEFT + plot_w, base);
	putf(s,
	     "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">",
	     CH_TOP + CH_PLOT_H / 2.0, CH_TOP + CH_PLOT_H / 2.0);
	put(s, "Truy vấn bị chặn / Blocked queries</text>\n");
	putf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", CH_LEFT + plot_w / 2,
	     base + CH_BOTTOM - 8);
	put(s, "Ngày / Day</text>\n");
	/* Legend. */
	for (size_t c = 0; c < rep->n_cats; c++) {
		double lx = CH_LEFT + (double)(c % cols) * CH_LEGEND_W;
		double ly = base + CH_BOTTOM + (double)(c / cols) * CH_LEGEND_ROW + 4;
		const char *vi = cat_vi(rep->cats[c]);
		putf(s,
		     "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		     "<text x=\"%.1f\" y=\"%.1f\">",
		     lx, ly, cat_color(rep, c), lx + 18, ly + 10);
		if (vi) {
			put(s, vi);
			put(s, " (");
			put_html(s, rep->cats[c]);
			put(s, ")");
		} else {
			put_html(s, rep->cats[c][0] ? rep->cats[c] : "(none)");
		}
		put(s, "</text>\n");
	}
	put(s, "</svg>\n");
	if (rep->n_cats == 0)
		put(s,
		    "<p class=\"note\">Không có truy vấn nào bị chặn / Nothing was blocked.</p>\n");
}

/* One table row of a day and group, or a total (@grp NULL, @label set). */
static void html_net_row(const struct cmpl_report *rep, struct sink *s, const char *day,
			 const char *grp, const char *label, int64_t q, int64_t b,
			 const int64_t *cats)
{
	put(s, label ? "<tr class=\"total\"><td>" : "<tr><td>");
	if (day)
		put_html(s, day);
	put(s, "</td><td>");
	if (label)
		put(s, label);
	else
		put_html(s, grp[0] ? grp : "-");
	put(s, "</td>");
	td_num(s, q);
	td_num(s, b);
	td_pct(s, b, q);
	for (size_t c = 0; c < rep->n_cats; c++)
		td_num(s, cats[c]);
	put(s, "</tr>\n");
}

/* The table of one network: its rows @idx[0 .. n), by day then group. */
static void html_network(const struct cmpl_report *rep, struct sink *s, const size_t *idx, size_t n,
			 int64_t *day_sum, int64_t *all_sum, int64_t *row_sum)
{
	const struct net *net = &rep->nets[rep->rows[idx[0]].net];
	int64_t all_q = 0, all_b = 0;

	put(s, "<h3>Mạng <span class=\"en\">/ Network</span> ");
	put_html(s, net->id[0] ? net->id : "(none)");
	if (net->name[0]) {
		put(s, " — ");
		put_html(s, net->name);
	}
	if (net->province[0]) {
		put(s, " (");
		put_html(s, net->province);
		put(s, ")");
	}
	put(s, "</h3>\n<table>\n<tr><th>Ngày<br><span class=\"en\">Day</span></th>"
	       "<th>Nhóm<br><span class=\"en\">Group</span></th>"
	       "<th>Truy vấn<br><span class=\"en\">Queries</span></th>"
	       "<th>Bị chặn<br><span class=\"en\">Blocked</span></th>"
	       "<th>Tỉ lệ chặn<br><span class=\"en\">Blocked %</span></th>");
	for (size_t c = 0; c < rep->n_cats; c++) {
		put(s, "<th>");
		html_cat(s, rep->cats[c], true);
		put(s, "</th>");
	}
	put(s, "</tr>\n");
	memset(all_sum, 0, rep->n_cats * sizeof(int64_t));
	for (size_t i = 0; i < n;) {
		size_t d = rep->rows[idx[i]].day, end = i;
		int64_t q = 0, b = 0;
		memset(day_sum, 0, rep->n_cats * sizeof(int64_t));
		for (; end < n && rep->rows[idx[end]].day == d; end++) {
			const struct row *r = &rep->rows[idx[end]];
			memset(row_sum, 0, rep->n_cats * sizeof(int64_t));
			add_counts(rep, r, row_sum);
			add_counts(rep, r, day_sum);
			html_net_row(rep, s, rep->days[d], r->grp, NULL, r->queries, r->blocked,
				     row_sum);
			q += r->queries;
			b += r->blocked;
		}
		if (end - i > 1)
			html_net_row(rep, s, rep->days[d], NULL, "Cả ngày / Day total", q, b,
				     day_sum);
		for (size_t c = 0; c < rep->n_cats; c++)
			all_sum[c] += day_sum[c];
		all_q += q;
		all_b += b;
		i = end;
	}
	html_net_row(rep, s, NULL, NULL, "Tổng / Total", all_q, all_b, all_sum);
	put(s, "</table>\n");
}

static void html_networks(const struct cmpl_report *rep, struct sink *s, int64_t *scratch)
{
	size_t *idx = NULL, *start = NULL;
	if (rep->n_rows == 0) {
		put(s, "<p class=\"note\">Không có dữ liệu / No data.</p>\n");
		return;
	}
	/* The rows are by day then network: a counting sort by network keeps each network's rows
	 * by day then group. */
	idx = core_calloc(rep->n_rows, sizeof(size_t));
	start = core_calloc(rep->n_nets + 1, sizeof(size_t));
	if (!idx || !start) {
		s->err = s->err ? s->err : -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rep->n_rows; i++)
		start[rep->rows[i].net + 1]++;
	for (size_t k = 0; k < rep->n_nets; k++)
		start[k + 1] += start[k];
	for (size_t i = 0; i < rep->n_rows; i++)
		idx[start[rep->rows[i].net]++] = i;
	for (size_t i = 0, k = 0; k < rep->n_nets; k++) {
		size_t end = start[k]; /* after the fill, start[k] is the end of network k */
		if (end > i)
			html_network(rep, s, idx + i, end - i, scratch, scratch + rep->n_cats,
				     scratch + 2 * rep->n_cats);
		i = end;
	}
out:
	core_free(idx);
	core_free(start);
}

static void html_top(const struct cmpl_report *rep, struct sink *s)
{
	if (rep->n_top == 0) {
		put(s, "<p class=\"note\">Không có / None.</p>\n");
		return;
	}
	put(s, "<table>\n<tr><th>#</th><th>Tên miền <span class=\"en\">/ Domain</span></th>"
	       "<th>Số lần chặn <span class=\"en\">/ Blocked</span></th></tr>\n");
	for (size_t i = 0; i < rep->n_top; i++) {
		putf(s, "<tr><td class=\"n\">%zu</td><td>", i + 1);
		put_html(s, rep->top[i].domain);
		put(s, "</td>");
		td_num(s, rep->top[i].n);
		put(s, "</tr>\n");
	}
	put(s, "</table>\n<p class=\"note\">Tổng của danh sách đứng đầu mỗi khoảng thời gian "
	       "(giới hạn dưới). / Sums of each interval's top list (a lower bound).</p>\n");
}

static void html_compliance(const struct cmpl_report *rep, struct sink *s)
{
	char when[32], off[8];

	put(s, "<h3>Các phiên bản đã áp dụng <span class=\"en\">/ Versions applied</span></h3>\n");
	if (rep->n_versions == 0) {
		put(s, "<p class=\"note\">Chưa ghi nhận / None recorded.</p>\n");
	} else {
		put(s, "<table>\n<tr><th>Danh sách<br><span class=\"en\">List</span></th>"
		       "<th>Phiên bản<br><span class=\"en\">Version</span></th>"
		       "<th>Áp dụng lúc<br><span class=\"en\">Applied</span></th>"
		       "<th>Cách cập nhật<br><span class=\"en\">How</span></th>"
		       "<th>Số mục<br><span class=\"en\">Entries</span></th></tr>\n");
		for (size_t i = 0; i < rep->n_versions; i++) {
			const struct version *v = &rep->versions[i];
			local_time(rep->clock, v->applied, when, off);
			put(s, "<tr><td>");
			put_html(s, v->list);
			put(s, "</td><td>");
			put_html(s, v->version);
			put(s, "</td><td>");
			put(s, when);
			if (off[0]) {
				put(s, " ");
				put(s, off);
			}
			put(s, "</td><td>");
			put_html(s, v->how);
			put(s, "</td>");
			td_num(s, v->entries);
			put(s, "</tr>\n");
		}
		put(s, "</table>\n");
	}
	put(s,
	    "<p class=\"note\">Cơ sở dữ liệu thống kê không lưu thời điểm công bố của từng phiên "
	    "bản, nên độ trễ từ lúc công bố đến lúc áp dụng không được tính ở đây. / The store "
	    "does not record when each version was published, so the delay from publication to "
	    "application is not computed here.</p>\n");

	put(s, "<h3>Phiên bản có hiệu lực theo ngày <span class=\"en\">/ Version in force per "
	       "day</span></h3>\n");
	if (rep->n_in_force == 0) {
		put(s, "<p class=\"note\">Không có dữ liệu / No data.</p>\n");
		return;
	}
	put(s, "<table>\n<tr><th>Ngày<br><span class=\"en\">Day</span></th>"
	       "<th>Phiên bản danh sách quốc gia<br><span class=\"en\">National list "
	       "version</span></th></tr>\n");
	for (size_t i = 0; i < rep->n_in_force;) {
		size_t d = rep->in_force[i].day, end = i;
		bool none = false;
		while (end < rep->n_in_force && rep->in_force[end].day == d)
			none |= !rep->in_force[end++].version;
		put(s, "<tr><td>");
		put_html(s, rep->days[d]);
		put(s, none ? "</td><td class=\"none\">" : "</td><td>");
		for (size_t k = i; k < end; k++) {
			const struct in_force *f = &rep->in_force[k];
			if (k > i)
				put(s, "<br>");
			if (f->version)
				put_html(s, f->version);
			else
				put(s, "không có / none");
			if (end - i > 1) {
				put(s, " <span class=\"en\">từ / from ");
				put_hhmm(s, rep->clock, f->first_start);
				put(s, "</span>");
			}
		}
		put(s, "</td></tr>\n");
		i = end;
	}
	put(s, "</table>\n");
}

static void render_html(const struct cmpl_report *rep, struct sink *s, int64_t *scratch)
{
	const char *from, *to;
	int64_t q = 0, b = 0;
	char when[32], off[8];

	range_of(rep, &from, &to);
	for (size_t i = 0; i < rep->n_rows; i++) {
		q += rep->rows[i].queries;
		b += rep->rows[i].blocked;
	}
	put(s, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<title>Báo cáo lọc DNS / DNS filtering report");
	if (rep->reporter_id) {
		put(s, " — ");
		put_html(s, rep->reporter_id);
	}
	if (from || to) {
		put(s, " — ");
		put_range(s, from, to, true);
	}
	put(s, "</title>\n<style>\n");
	put(s, html_style);
	put(s, "</style>\n</head>\n<body>\n");
	put(s, "<h1>Báo cáo lọc DNS <span class=\"en\">/ DNS filtering report</span></h1>\n"
	       "<dl class=\"meta\">\n<dt>Đơn vị báo cáo / Reporter</dt><dd>");
	put_html(s, rep->reporter_id ? rep->reporter_id : "-");
	put(s, "</dd>\n<dt>Thời gian / Days</dt><dd>");
	if (from || to)
		put_range(s, from, to, true);
	else
		put(s, "không có dữ liệu / no data");
	put(s, "</dd>\n<dt>Mạng / Networks</dt><dd>");
	if (rep->network)
		put_html(s, rep->network);
	else
		put(s, "tất cả / all");
	put(s, "</dd>\n<dt>Giờ địa phương / Local time</dt><dd>");
	put_html(s, zone_of(rep));
	put(s, "</dd>\n");
	if (rep->generated) {
		local_time(rep->clock, rep->generated, when, off);
		put(s, "<dt>Lập lúc / Generated</dt><dd>");
		put(s, when);
		put(s, " ");
		put(s, off);
		put(s, "</dd>\n");
	}
	put(s, "<dt>Tổng cộng / Total</dt><dd>");
	putf(s, "%" PRId64 " truy vấn / queries, %" PRId64 " bị chặn / blocked (", q, b);
	put_pct(s, b, q);
	put(s, ")</dd>\n</dl>\n");

	put(s, "<h2>Truy vấn bị chặn theo ngày và danh mục <span class=\"en\">/ Blocked queries "
	       "per day and category</span></h2>\n");
	html_chart(rep, s);
	put(s, "<h2>Theo mạng <span class=\"en\">/ Per network</span></h2>\n");
	html_networks(rep, s, scratch);
	put(s, "<h2>Tên miền bị chặn nhiều nhất trong danh sách quốc gia <span class=\"en\">/ Top "
	       "blocked national-list domains</span></h2>\n");
	html_top(rep, s);
	put(s, "<h2>Tuân thủ danh sách quốc gia <span class=\"en\">/ National list "
	       "compliance</span></h2>\n");
	html_compliance(rep, s);
	put(s, "<p class=\"note\">lanhmanh " PACKAGE_VERSION "</p>\n</body>\n</html>\n");
}

static int render(const struct cmpl_report *rep, enum cmpl_report_format format, struct sink *s)
{
	/* Per-category sums: three rows of n_cats for the HTML tables, one for the text. */
	int64_t *scratch = core_calloc(3 * rep->n_cats + 1, sizeof(int64_t));
	if (!scratch)
		return -ENOMEM;
	switch (format) {
	case CMPL_REPORT_CSV:
		render_csv(rep, s);
		break;
	case CMPL_REPORT_HTML:
		render_html(rep, s, scratch);
		break;
	case CMPL_REPORT_TEXT:
	default:
		render_text(rep, s, scratch);
		break;
	}
	core_free(scratch);
	return s->err;
}

int cmpl_report_render(const struct cmpl_report *rep, enum cmpl_report_format format,
		       struct core_buf *out)
{
	struct sink s = {.buf = out};
	return render(rep, format, &s);
}

int cmpl_report_write(const struct cmpl_report *rep, enum cmpl_report_format format, FILE *f)
{
	struct core_buf buf;
	struct sink s = {.buf = &buf, .f = f};
	core_buf_init(&buf, 2 * CHUNK);
	int r = render(rep, format, &s);
	flush(&s);
	core_buf_deinit(&buf);
	if (r == 0 && s.err == 0 && fflush(f) != 0)
		s.err = -EIO;
	return r != 0 ? r : s.err;
}

/* ------------------------------------------------------------------------------------------ */
/* The command */

/* The command's messages on stderr: one line, "lanhmanh report: ..." */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fputs("lanhmanh report: ", stderr);
	fputs(line, stderr);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fputs("usage: lanhmanh [-c CONFIG] report [--store FILE] [--from YYYY-MM-DD]\n"
	      "                [--to YYYY-MM-DD] [--network ID] [--format text|csv|html]\n"
	      "                [-o FILE]\n"
	      "\n"
	      "Reports from the local statistics store, per day, network, group and category,\n"
	      "with the national list's versions. Does not need the daemon.\n"
	      "\n"
	      "  --store FILE      the store (default: compliance.store of the config, else\n"
	      "                    server.state_dir/stats.sqlite)\n"
	      "  --from DAY        first day, inclusive (local date YYYY-MM-DD)\n"
	      "  --to DAY          last day, inclusive\n"
	      "  --network ID      only this network (its 'id' in the config)\n"
	      "  --format FORMAT   text (default), csv, or html (one self-contained page)\n"
	      "  -o, --output FILE write there instead of standard output\n",
	      f);
}

/* A real calendar day written YYYY-MM-DD. */
static bool day_ok(const char *s)
{
	int y, m, d;
	char tail;
	struct tm tm;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	}
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1)
		return false;
	/* timegm normalizes 2024-02-30 to March 1st: a real date comes back unchanged. */
	tm = (struct tm){.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
	if (timegm(&tm) == (time_t)-1)
		return false;
	return tm.tm_mon == m - 1 && tm.tm_mday == d;
}

static struct cfg_root *load_config(const char *path)
{
	struct cfg_root *cfg = NULL;
	struct cfg_diags diags = {0};
	char line[1024];
	int r = cfg_load(path, &cfg, &diags);
	size_t n = diags.n;
	for (size_t i = 0; r != 0 && i < n; i++) {
		cfg_diag_format(&diags.v[i], line, sizeof(line));
		fputs(line, stderr);
		fputc('\n', stderr);
	}
	cfg_diags_clear(&diags);
	if (r != 0 && n == 0)
		say("cannot load '%s': %s", path, core_strerror(r));
	return r == 0 ? cfg : NULL;
}

int cmpl_report_main(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},  {"from", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'T'},	  {"network", required_argument, NULL, 'n'},
		{"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *store = NULL, *output = NULL;
	struct cmpl_report_opts ro = {0};
	enum cmpl_report_format format = CMPL_REPORT_TEXT;
	struct cfg_root *cfg = NULL;
	struct pol_clock clock = {0};
	struct cmpl_report *rep = NULL;
	char *store_buf = NULL, err[1024];
	int c, status = 1, r;
	FILE *f = stdout;

	optind = 0; /* glibc: start over, lanhmanh's own options were parsed with this getopt */
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'F':
			ro.from = optarg;
			break;
		case 'T':
			ro.to = optarg;
			break;
		case 'n':
			ro.network = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0) {
				format = CMPL_REPORT_TEXT;
			} else if (strcmp(optarg, "csv") == 0) {
				format = CMPL_REPORT_CSV;
			} else if (strcmp(optarg, "html") == 0) {
				format = CMPL_REPORT_HTML;
			} else {
				say("unknown format '%s' (text, csv or html)", optarg);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		say("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if ((ro.from && !day_ok(ro.from)) || (ro.to && !day_ok(ro.to))) {
		say("'%s' is not a day; write it YYYY-MM-DD",
		    ro.from && !day_ok(ro.from) ? ro.from : ro.to);
		return 2;
	}
	if (ro.from && ro.to && strcmp(ro.from, ro.to) > 0) {
		say("--from %s is after --to %s", ro.from, ro.to);
		return 2;
	}
	/* The config gives the store, the time zone and a reporter id; with --store it is read
	 * only when -c names one. */
	if (!store || config_path) {
		if (!(cfg = load_config(config_path ? config_path : LM_DEFAULT_CONFIG))) {
			if (!store && !config_path)
				say("the store's place is taken from the config; or give it with --store FILE");
			goto out;
		}
		if (!store && cfg->compliance.store) {
			store = cfg->compliance.store;
		} else if (!store) {
			size_t len = strlen(cfg->server.state_dir) + sizeof("/stats.sqlite");
			if (!(store_buf = core_malloc(len))) {
				say("out of memory");
				goto out;
			}
			snprintf(store_buf, len, "%s/stats.sqlite", cfg->server.state_dir);
			store = store_buf;
		}
		ro.reporter_id = cfg->compliance.reporter_id;
	}
	r = pol_clock_init(&clock, cfg ? cfg->server.timezone : NULL);
	if (r != 0 && !(cfg && cfg->server.timezone)) {
		/* No tzdata: Vietnam has kept +07:00 since 1975. */
		pol_clock_deinit(&clock);
		r = pol_clock_init_fixed(&clock, POL_CLOCK_DEFAULT_ZONE, 7 * 3600);
	}
	if (r != 0) {
		say("cannot load time zone '%s': %s", cfg ? cfg->server.timezone : "",
		    core_strerror(r));
		goto out;
	}
	ro.clock = &clock;
	ro.generated = (int64_t)time(NULL);
	if (cmpl_report_load(store, &ro, &rep, err, sizeof(err)) != 0) {
		say("%s", err);
		goto out;
	}
	if (output && !(f = fopen(output, "w"))) {
		say("cannot write '%s': %s", output, strerror(errno));
		goto out;
	}
	r = cmpl_report_write(rep, format, f);
	if (output && fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r != 0) {
		say("cannot write %s%s%s: %s", output ? "'" : "the report", output ? output : "",
		    output ? "'" : "", r == -EIO ? strerror(errno) : core_strerror(r));
		goto out;
	}
	status = 0;
out:
	cmpl_report_free(rep);
	pol_clock_deinit(&clock);
	core_free(store_buf);
	cfg_free(cfg);
	return status;
}
