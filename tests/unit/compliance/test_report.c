/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of compliance/report.c: a small store is built in a temporary directory with the
 * schema of compliance/schema.h, and the reports read from it are checked — the exact CSV, the
 * text tables, the HTML page (numbers, chart, escaping, nothing external), the day and network
 * filters, the national versions kept for a range, the errors for a missing or foreign file, a
 * read while a writer holds a transaction open, streaming to a file, and allocation failures.
 * Times use a fixed +07:00 clock, so no tzdata is needed.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "compliance/report.h"
#include "compliance/schema.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

static char tmpdir[] = "/tmp/lanhmanh-test-report.XXXXXX";
static char store[256];
static struct pol_clock clock7;
static uint64_t live_base; /* bytes held by clock7 */

/* 2024-05-01 00:00 +07:00 */
#define DAY1 INT64_C(1714496400)
#define HOUR 3600

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

static void execf(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void execf(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	exec_sql(db, sql);
	sqlite3_free(sql);
}

/* A new store at @path (WAL mode, as the daemon makes it) with schema version @version. */
static sqlite3 *store_new(const char *path, const char *version)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, "PRAGMA journal_mode=WAL");
	exec_sql(db, CMPL_SCHEMA_SQL);
	execf(db, "INSERT INTO meta VALUES ('schema_version', '%s')", version);
	return db;
}

static void store_remove(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[300];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		(void)unlink(p);
	}
}

/*
 * The fixture: two days; school th-a with groups hoc_sinh and giao_vien; a network whose name
 * holds markup, quotes and a comma; the national list moving from 2024050101 to 2024050102 at
 * 04:00 on the first day; a second interval of day 1 with a new version.
 */
static void fill(sqlite3 *db)
{
	exec_sql(db, "INSERT INTO meta VALUES ('reporter_id', '79-TH-0001')");
	execf(db,
	      "INSERT INTO intervals (id, start, end, day, queries, blocked, national_version,"
	      " national_applied) VALUES"
	      " (1, %lld, %lld, '2024-05-01', 100, 10, '2024050101', 1714490000),"
	      " (2, %lld, %lld, '2024-05-01', 50, 5, '2024050102', 1714510000),"
	      " (3, %lld, %lld, '2024-05-02', 70, 7, '2024050102', 1714510000)",
	      (long long)DAY1, (long long)DAY1 + 300, (long long)DAY1 + 4 * HOUR,
	      (long long)DAY1 + 4 * HOUR + 300, (long long)DAY1 + 24 * HOUR,
	      (long long)DAY1 + 24 * HOUR + 300);
	exec_sql(db, "INSERT INTO totals VALUES"
		     " (1, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 80, 8),"
		     " (1, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'giao_vien', 20, 2),"
		     " (1, 'x\"y', '<script>alert(\"x\")</script>, a', 'Hà Nội', 'hoc_sinh', 0, 0),"
		     " (2, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 50, 5),"
		     " (3, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 70, 7)");
	exec_sql(db, "INSERT INTO blocks VALUES"
		     " (1, 'th-a', 'hoc_sinh', 'national', 'national', 'serial 2024050101', 3),"
		     " (1, 'th-a', 'hoc_sinh', 'adult', 'adult', 'file', 5),"
		     " (1, 'th-a', 'giao_vien', 'games', 'games', 'file', 2),"
		     " (2, 'th-a', 'hoc_sinh', 'national', 'national', 'serial 2024050102', 5),"
		     " (3, 'th-a', 'hoc_sinh', 'social', 'social', 'file', 7)");
	exec_sql(db, "INSERT INTO top_national VALUES"
		     " (1, 'th-a', 'bad.example', 3), (2, 'th-a', 'bad.example', 2),"
		     " (2, 'th-a', 'worse.example', 3)");
	exec_sql(db, "INSERT INTO list_versions VALUES"
		     " ('national', 'national', '2024050101', 1714490000, 'sync', 120034),"
		     " ('national', 'national', '2024050102', 1714510000, 'sync', 120040),"
		     " ('adult', 'adult', 'abc', 1714490000, 'file', 5)");
}

static int group_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(store, sizeof(store), "%s/stats.sqlite", tmpdir);
	if (pol_clock_init_fixed(&clock7, "Asia/Ho_Chi_Minh", 7 * HOUR) != 0)
		return -1;
	live_base = core_alloc_live_bytes();
	sqlite3 *db = store_new(store, "1");
	fill(db);
	sqlite3_close(db);
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_teardown(void **state)
{
	pol_clock_deinit(&clock7);
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static struct cmpl_report_opts opts_default(void)
{
	return (struct cmpl_report_opts){.clock = &clock7};
}

/* The report of @path with @o in @format, as a NUL-terminated string (free with free()). */
static char *report(const char *path, const struct cmpl_report_opts *o,
		    enum cmpl_report_format format)
{
	struct cmpl_report *rep = NULL;
	struct core_buf out;
	char err[512];
	int r = cmpl_report_load(path, o, &rep, err, sizeof(err));
	if (r != 0)
		fail_msg("cmpl_report_load: %d %s", r, err);
	core_buf_init(&out, 1u << 24);
	assert_int_equal(cmpl_report_render(rep, format, &out), 0);
	char *s = strdup(core_buf_str(&out));
	assert_non_null(s);
	core_buf_deinit(&out);
	cmpl_report_free(rep);
	return s;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected to find\n  %s\nin\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("did not expect\n  %s\nin\n%s", needle, hay);
}

static void test_csv(void **state)
{
	struct cmpl_report_opts o = opts_default();
	char *csv = report(store, &o, CMPL_REPORT_CSV);
	assert_string_equal(
		csv,
		"day,network_id,network_name,province,group,category,queries,blocked\n"
		"2024-05-01,th-a,Trường TH A,Hồ Chí Minh,giao_vien,,20,2\n"
		"2024-05-01,th-a,Trường TH A,Hồ Chí Minh,giao_vien,games,,2\n"
		"2024-05-01,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,,130,13\n"
		"2024-05-01,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,national,,8\n"
		"2024-05-01,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,adult,,5\n"
		"2024-05-01,\"x\"\"y\",\"<script>alert(\"\"x\"\")</script>, a\",Hà Nội,hoc_sinh,,0,0\n"
		"2024-05-02,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,,70,7\n"
		"2024-05-02,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,social,,7\n");
	free(csv);
}

static void test_csv_filters(void **state)
{
	struct cmpl_report_opts o = opts_default();
	o.from = "2024-05-02";
	char *csv = report(store, &o, CMPL_REPORT_CSV);
	assert_string_equal(csv,
			    "day,network_id,network_name,province,group,category,queries,blocked\n"
			    "2024-05-02,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,,70,7\n"
			    "2024-05-02,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,social,,7\n");
	free(csv);

	o = opts_default();
	o.to = "2024-05-01";
	o.network = "x\"y";
	csv = report(store, &o, CMPL_REPORT_CSV);
	assert_string_equal(
		csv,
		"day,network_id,network_name,province,group,category,queries,blocked\n"
		"2024-05-01,\"x\"\"y\",\"<script>alert(\"\"x\"\")</script>, a\",Hà Nội,hoc_sinh,,0,0\n");
	free(csv);

	o = opts_default();
	o.from = "2024-06-01";
	o.to = "2024-06-30";
	csv = report(store, &o, CMPL_REPORT_CSV);
	assert_string_equal(
		csv, "day,network_id,network_name,province,group,category,queries,blocked\n");
	free(csv);
}

static void test_text(void **state)
{
	struct cmpl_report_opts o = opts_default();
	char *text = report(store, &o, CMPL_REPORT_TEXT);
	assert_contains(text, "lanhmanh report: reporter 79-TH-0001\n"
			      "days 2024-05-01 to 2024-05-02, all networks; times in "
			      "Asia/Ho_Chi_Minh\n");
	/* Columns are aligned in characters: "Trường" is 6 characters, 9 bytes. */
	assert_contains(text,
			"\n2024-05-01\n"
			"  network  queries  blocked  blocked%  name (province)\n"
			"  th-a         150       15     10.0%  Trường TH A (Hồ Chí Minh)\n"
			"    by category: national 8, adult 5, games 2\n"
			"  x\"y            0        0         -  <script>alert(\"x\")</script>, a "
			"(Hà Nội)\n"
			"  all          150       15     10.0%\n");
	assert_contains(text, "\n2024-05-02\n"
			      "  network  queries  blocked  blocked%  name (province)\n"
			      "  th-a          70        7     10.0%  Trường TH A (Hồ Chí Minh)\n"
			      "    by category: social 7\n");
	assert_contains(text, "  blocked  domain\n"
			      "        5  bad.example\n"
			      "        3  worse.example\n");
	assert_contains(text,
			"national list versions applied\n"
			"  list      version     applied                     how   entries\n"
			"  national  2024050101  2024-04-30 22:13:20 +07:00  sync   120034\n"
			"  national  2024050102  2024-05-01 03:46:40 +07:00  sync   120040\n");
	assert_lacks(text, "abc"); /* versions of other categories are not listed */
	assert_contains(text, "national list version in force\n"
			      "  2024-05-01  2024050101 from 00:00, 2024050102 from 04:00\n"
			      "  2024-05-02  2024050102\n");
	/* No line ends in blanks. */
	assert_lacks(text, " \n");
	free(text);
}

static void test_text_versions_of_range(void **state)
{
	struct cmpl_report_opts o = opts_default();
	/* From the second day: 2024050102 was applied the day before and was in force. */
	o.from = "2024-05-02";
	char *text = report(store, &o, CMPL_REPORT_TEXT);
	assert_contains(text,
			"  national  2024050102  2024-05-01 03:46:40 +07:00  sync   120040\n");
	assert_lacks(text, "2024050101");
	free(text);

	/* Up to the day before the first interval: only the first version. */
	o = opts_default();
	o.to = "2024-04-30";
	text = report(store, &o, CMPL_REPORT_TEXT);
	assert_contains(text,
			"  national  2024050101  2024-04-30 22:13:20 +07:00  sync   120034\n");
	assert_lacks(text, "2024050102");
	assert_contains(text, "days up to 2024-04-30, all networks;");
	assert_contains(text, "  no intervals recorded\n");
	free(text);
}

static void test_html(void **state)
{
	struct cmpl_report_opts o = opts_default();
	o.generated = DAY1 + 2 * 24 * HOUR + 8 * HOUR + 30 * 60;
	char *html = report(store, &o, CMPL_REPORT_HTML);

	assert_int_equal(strncmp(html, "<!DOCTYPE html>\n<html lang=\"vi\">", 31), 0);
	assert_contains(html, "<meta charset=\"utf-8\">");
	assert_contains(html, "<title>Báo cáo lọc DNS / DNS filtering report — 79-TH-0001 — "
			      "2024-05-01 → 2024-05-02</title>");
	assert_contains(html, "<dd>2024-05-03 08:30:00 +07:00</dd>");
	/* Totals and numbers of the network table. */
	assert_contains(html, "220 truy vấn / queries, 22 bị chặn / blocked (10.0%)");
	assert_contains(html, "<tr><td>2024-05-01</td><td>hoc_sinh</td><td class=\"n\">130</td>"
			      "<td class=\"n\">13</td><td class=\"n\">10.0%</td>"
			      "<td class=\"n\">8</td><td class=\"n\">5</td><td class=\"n\">0</td>"
			      "<td class=\"n\">0</td></tr>");
	assert_contains(html,
			"<td>Tổng / Total</td><td class=\"n\">220</td><td class=\"n\">22</td>");
	assert_contains(html, "Trường TH A (Hồ Chí Minh)");
	/* The chart: inline SVG, one bar per day and category, with a legend. */
	assert_contains(html, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
	assert_contains(html, "</svg>");
	assert_contains(html, "<title>2024-05-01 · national: 8</title>");
	assert_contains(html, "<title>2024-05-02 · social: 7</title>");
	assert_contains(html, ">Danh sách quốc gia (national)</text>");
	assert_contains(html, ">Ngày / Day</text>");
	/* Top domains and the compliance section. */
	assert_contains(html, "<td>bad.example</td><td class=\"n\">5</td>");
	assert_contains(html, "<td>2024050102</td><td>2024-05-01 03:46:40 +07:00</td><td>sync</td>"
			      "<td class=\"n\">120040</td>");
	assert_contains(html, "<tr><td>2024-05-02</td><td>2024050102</td></tr>");
	/* Everything from the store is escaped; nothing is loaded from elsewhere. */
	assert_contains(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, a");
	assert_contains(html, "x&quot;y");
	assert_lacks(html, "<script");
	assert_lacks(html, "<SCRIPT");
	assert_lacks(html, "src=");
	assert_lacks(html, "href=");
	assert_lacks(html, "@import");
	assert_lacks(html, "url(");
	/* The only absolute URL is the SVG namespace. */
	const char *p = strstr(html, "http");
	assert_non_null(p);
	assert_int_equal(strncmp(p, "http://www.w3.org/2000/svg\"", 27), 0);
	assert_null(strstr(p + 1, "http"));
	free(html);
}

static void test_html_one_network(void **state)
{
	struct cmpl_report_opts o = opts_default();
	o.network = "th-a";
	char *html = report(store, &o, CMPL_REPORT_HTML);
	assert_contains(html, "<dt>Mạng / Networks</dt><dd>th-a</dd>");
	assert_lacks(html, "script");
	assert_lacks(html, "Hà Nội");
	free(html);
}

static void test_errors(void **state)
{
	struct cmpl_report_opts o = opts_default();
	struct cmpl_report *rep = NULL;
	char err[512], path[300];

	snprintf(path, sizeof(path), "%s/missing.sqlite", tmpdir);
	assert_int_equal(cmpl_report_load(path, &o, &rep, err, sizeof(err)), -ENOENT);
	assert_null(rep);
	assert_contains(err, "statistics store '");
	assert_contains(err, "missing.sqlite' does not exist");
	assert_null(strchr(err, '\n'));

	/* Another schema version. */
	snprintf(path, sizeof(path), "%s/v2.sqlite", tmpdir);
	sqlite3_close(store_new(path, "2"));
	assert_int_equal(cmpl_report_load(path, &o, &rep, err, sizeof(err)), CORE_EPARSE);
	assert_contains(err, "v2.sqlite' has schema version '2'; this lanhmanh reads version 1");
	store_remove(path);

	/* An SQLite database, but not a store. */
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/other.sqlite", tmpdir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, "CREATE TABLE t (x)");
	sqlite3_close(db);
	assert_int_equal(cmpl_report_load(path, &o, &rep, err, sizeof(err)), CORE_EPARSE);
	assert_contains(err, "is not a lanhmanh statistics store");
	store_remove(path);

	/* Not a database at all. */
	snprintf(path, sizeof(path), "%s/junk.sqlite", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 64; i++)
		fputs("this is not an SQLite file\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(cmpl_report_load(path, &o, &rep, err, sizeof(err)), CORE_EPARSE);
	assert_contains(err, "junk.sqlite' is not an SQLite database");
	store_remove(path);

	assert_int_equal(core_alloc_live_bytes(), live_base);
}

static void test_empty_store(void **state)
{
	char path[300];
	struct cmpl_report_opts o = opts_default();
	snprintf(path, sizeof(path), "%s/empty.sqlite", tmpdir);
	sqlite3_close(store_new(path, "1"));

	char *text = report(path, &o, CMPL_REPORT_TEXT);
	assert_string_equal(text,
			    "lanhmanh report\n"
			    "no days recorded, all networks; times in Asia/Ho_Chi_Minh\n"
			    "\n"
			    "top blocked national-list names (sums of each interval's top list)\n"
			    "  none\n"
			    "\n"
			    "national list versions applied\n"
			    "  none recorded\n"
			    "\n"
			    "national list version in force\n"
			    "  no intervals recorded\n");
	free(text);
	char *csv = report(path, &o, CMPL_REPORT_CSV);
	assert_string_equal(
		csv, "day,network_id,network_name,province,group,category,queries,blocked\n");
	free(csv);
	char *html = report(path, &o, CMPL_REPORT_HTML);
	assert_contains(html, "Không có dữ liệu / No data.");
	assert_contains(html, "</html>\n");
	free(html);
	store_remove(path);
}

/* The daemon writes while reports are read: a reader sees the last commit, never waits. */
static void test_concurrent_writer(void **state)
{
	char path[300];
	struct cmpl_report_opts o = opts_default();
	snprintf(path, sizeof(path), "%s/busy.sqlite", tmpdir);
	sqlite3 *db = store_new(path, "1");
	fill(db);
	exec_sql(db, "BEGIN IMMEDIATE");
	exec_sql(db, "INSERT INTO intervals (id, start, end, day, queries, blocked) VALUES"
		     " (4, 0, 300, '2024-05-03', 1, 0)");
	exec_sql(db, "INSERT INTO totals VALUES (4, 'th-a', 'Trường TH A', 'Hồ Chí Minh',"
		     " 'hoc_sinh', 999, 0)");

	char *csv = report(path, &o, CMPL_REPORT_CSV);
	assert_lacks(csv, "2024-05-03");
	assert_contains(csv, "2024-05-02,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,,70,7\n");
	free(csv);

	exec_sql(db, "COMMIT");
	csv = report(path, &o, CMPL_REPORT_CSV);
	assert_contains(csv, "2024-05-03,th-a,Trường TH A,Hồ Chí Minh,hoc_sinh,,999,0\n");
	free(csv);
	sqlite3_close(db);
	store_remove(path);
}

/* cmpl_report_write streams in pieces: the file holds exactly what render makes in memory. */
static void test_write_large(void **state)
{
	char path[300], out[300];
	struct cmpl_report_opts o = opts_default();
	snprintf(path, sizeof(path), "%s/large.sqlite", tmpdir);
	snprintf(out, sizeof(out), "%s/large.out", tmpdir);
	sqlite3 *db = store_new(path, "1");
	exec_sql(db, "BEGIN");
	for (int d = 0; d < 20; d++) {
		execf(db,
		      "INSERT INTO intervals (id, start, end, day, queries, blocked,"
		      " national_version)"
		      " VALUES (%d, %lld, %lld, '2024-05-%02d', 0, 0, 'serial %d')",
		      d + 1, (long long)(DAY1 + d * 24 * HOUR),
		      (long long)(DAY1 + d * 24 * HOUR + 300), d + 1, d / 7);
		for (int n = 0; n < 100; n++) {
			execf(db,
			      "INSERT INTO totals VALUES (%d, 'net-%03d', 'Trường số %d', 'Huế',"
			      " 'g', %d, %d)",
			      d + 1, n, n, 1000 + n, n);
			execf(db,
			      "INSERT INTO blocks VALUES (%d, 'net-%03d', 'g', '%s', 'l', 'v', %d)",
			      d + 1, n, n % 3 ? "adult" : "school_own", n);
		}
	}
	exec_sql(db, "COMMIT");
	sqlite3_close(db);

	for (int format = CMPL_REPORT_TEXT; format <= CMPL_REPORT_HTML; format++) {
		struct cmpl_report *rep = NULL;
		char err[512];
		assert_int_equal(cmpl_report_load(path, &o, &rep, err, sizeof(err)), 0);
		char *mem = report(path, &o, (enum cmpl_report_format)format);
		size_t len = strlen(mem);
		assert_true(len > 2 * 65536 || format == CMPL_REPORT_TEXT);
		FILE *f = fopen(out, "w+");
		assert_non_null(f);
		assert_int_equal(cmpl_report_write(rep, (enum cmpl_report_format)format, f), 0);
		assert_int_equal(ftell(f), (long)len);
		rewind(f);
		char *back = malloc(len + 1);
		assert_non_null(back);
		assert_int_equal(fread(back, 1, len + 1, f), len);
		assert_memory_equal(back, mem, len);
		fclose(f);
		free(back);
		free(mem);
		cmpl_report_free(rep);
	}
	assert_int_equal(core_alloc_live_bytes(), live_base);
	unlink(out);
	store_remove(path);
}

/*
 * Did the failure armed with core_alloc_fail_at(@n) fire? If not, one of the next @n
 * allocations fails; once fired, the hook is off and they all succeed.
 */
static bool failure_fired(uint64_t n)
{
	bool fired = true;
	for (uint64_t i = 0; i < n; i++) {
		void *p = core_malloc(1);
		if (!p) {
			fired = false;
			break;
		}
		core_free(p);
	}
	core_alloc_fail_at(0);
	return fired;
}

/* Fail the 1st, 2nd, ... allocation of load + render until one run needs fewer: every failure
 * is -ENOMEM and nothing leaks. */
static void test_alloc_failures(void **state)
{
	struct cmpl_report_opts o = opts_default();
	for (uint64_t n = 1;; n++) {
		struct cmpl_report *rep = NULL;
		struct core_buf out;
		char err[512];
		int r;
		core_buf_init(&out, 1u << 24);
		core_alloc_fail_at(n);
		r = cmpl_report_load(store, &o, &rep, err, sizeof(err));
		for (int format = CMPL_REPORT_TEXT; r == 0 && format <= CMPL_REPORT_HTML; format++)
			r = cmpl_report_render(rep, (enum cmpl_report_format)format, &out);
		bool fired = failure_fired(n);
		cmpl_report_free(rep);
		core_buf_deinit(&out);
		assert_int_equal(core_alloc_live_bytes(), live_base);
		if (fired) {
			assert_int_equal(r, -ENOMEM);
			continue;
		}
		assert_int_equal(r, 0);
		assert_true(n > 20);
		break;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_filters),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_versions_of_range),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_html_one_network),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_empty_store),
		cmocka_unit_test(test_concurrent_writer),
		cmocka_unit_test(test_write_large),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
