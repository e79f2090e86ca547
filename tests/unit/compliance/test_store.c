/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of compliance/store.c in a temporary directory: intervals and their rows, the
 * outbox and its bound, sequence numbers that never repeat, pruning, reopening, and files that
 * are not a store. Results are checked with plain SQL on a second connection, as reports and
 * reviewers read the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "compliance/batch.h"
#include "compliance/records.h"
#include "compliance/store.h"
#include "core/buf.h"
#include "core/error.h"

#define T0 1795662000 /* 2026-11-26T03:00:00Z */
#define DAY 86400

static char tmpdir[64];
static char dbpath[128];
static struct cmpl_key key;
static struct cmpl_export_params ex;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	unsigned char seed[32] = {7};
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lanhmanh-test-store-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/stats.sqlite", tmpdir);
	if (sodium_init() < 0)
		return -1;
	crypto_sign_seed_keypair(key.pk, key.sk, seed);
	ex = (struct cmpl_export_params){
		.reporter_id = "79-TH-0001",
		.key = &key,
		.k_threshold = 5,
		.top_domains = 10,
		.spool_limit_bytes = 1 << 20,
		.software = "lanhmanh test",
	};
	return 0;
}

static int teardown(void **state)
{
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The first column of the first row of @sql on a connection of its own. */
static int64_t sql_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static char *sql_text(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	const char *t = (const char *)sqlite3_column_text(s, 0);
	char *v = strdup(t ? t : "(null)");
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void expect_text(const char *sql, const char *want)
{
	char *v = sql_text(sql);
	assert_string_equal(v, want);
	free(v);
}

static struct cmpl_store *open_store(void)
{
	struct cmpl_store *st = NULL;
	char err[512] = "";
	int r = cmpl_store_open(dbpath, &st, err, sizeof(err));
	if (r != 0)
		fail_msg("open: %d %s", r, err);
	return st;
}

/* An interval at @start with records big and small (some fold in the batch). */
static void make_iv(struct cmpl_interval *iv, int64_t start, uint64_t scale)
{
	assert_int_equal(cmpl_interval_init(iv, start, start + 300, "2026-11-26"), 0);
	assert_int_equal(cmpl_interval_set_national(iv, "2026112601", start - 60), 0);
	assert_int_equal(cmpl_interval_add_total(iv, "79-TH-0001", "Trường TH Lê Lợi", "79",
						 "tieu_hoc", 100 * scale, 9),
			 0);
	assert_int_equal(cmpl_interval_add_total(iv, "79-TH-0002", "Trường THCS Nguyễn Du", "79",
						 "thcs", 2, 1),
			 0);
	assert_int_equal(
		cmpl_interval_add_block(iv, "79-TH-0001", "tieu_hoc", "adult", "adult", "v1", 8),
		0);
	assert_int_equal(cmpl_interval_add_block(iv, "79-TH-0002", "thcs", "national", "national",
						 "2026112601", 1),
			 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0001", "bad.example", 6), 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0002", "bad.example", 1), 0);
}

/* The outbox's oldest batch is @seq, signed by our key, and is the batch of @iv. */
static void expect_head(struct cmpl_store *st, int64_t seq, const struct cmpl_interval *iv)
{
	struct cmpl_outbox_item it;
	assert_int_equal(cmpl_store_outbox_peek(st, &it), 0);
	assert_int_equal(it.seq, seq);
	assert_int_equal(strlen(it.body), it.body_len);
	assert_int_equal(strncmp(it.idempotency_key, "79-TH-0001:", 11), 0);
	struct core_buf b;
	core_buf_init(&b, 1 << 20);
	assert_int_equal(cmpl_batch_build(iv, &ex, seq, it.idempotency_key, &b), 0);
	assert_string_equal(it.body, core_buf_str(&b));
	core_buf_deinit(&b);
	unsigned char raw[64];
	size_t len = 0;
	assert_int_equal(strncmp(it.signature, "ed25519=", 8), 0);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), it.signature + 8,
					   strlen(it.signature + 8), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(
		crypto_sign_verify_detached(raw, (unsigned char *)it.body, it.body_len, key.pk), 0);
	assert_true(it.created > 0);
	cmpl_outbox_item_fini(&it);
	assert_null(it.body);
}

static void test_open(void **state)
{
	mode_t old = umask(022);
	struct cmpl_store *st = open_store();
	umask(old);
	struct stat sb;
	assert_int_equal(stat(dbpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	expect_text("SELECT value FROM meta WHERE key = 'schema_version'", "1");
	expect_text("PRAGMA journal_mode", "wal");
	assert_int_equal(cmpl_store_set_meta(st, "reporter_id", "79-TH-0001"), 0);
	assert_int_equal(cmpl_store_set_meta(st, "reporter_id", "79-TH-0002"), 0);
	expect_text("SELECT value FROM meta WHERE key = 'reporter_id'", "79-TH-0002");
	struct cmpl_spool_depth d = {1, 1, 1};
	assert_int_equal(cmpl_store_outbox_depth(st, &d), 0);
	assert_int_equal(d.batches + d.bytes + d.waiting, 0);
	struct cmpl_outbox_item it;
	assert_int_equal(cmpl_store_outbox_peek(st, &it), CORE_ENOTFOUND);
	cmpl_store_close(st);
	cmpl_store_close(NULL);
	/* and again: the schema is checked, not made twice */
	st = open_store();
	cmpl_store_close(st);
	expect_text("SELECT count(*) FROM meta WHERE key = 'schema_version'", "1");
}

static void test_save_local(void **state)
{
	struct cmpl_store *st = open_store();
	struct cmpl_interval iv;
	int64_t id = 0;
	make_iv(&iv, T0, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, NULL, &id), 0);
	assert_int_equal(id, 1);
	expect_text("SELECT spooled || ' ' || day || ' ' || queries || ' ' || blocked || ' ' || "
		    "national_version || ' ' || national_applied || ' ' || start || ' ' || \"end\" "
		    "FROM intervals WHERE id = 1",
		    "2 2026-11-26 102 10 2026112601 1795661940 1795662000 1795662300");
	/* every record, small ones too: the store is the school's own */
	assert_int_equal(sql_int("SELECT count(*) FROM totals WHERE interval_id = 1"), 2);
	expect_text("SELECT network_name || '/' || province || '/' || grp || '/' || queries "
		    "FROM totals WHERE network_id = '79-TH-0002'",
		    "Trường THCS Nguyễn Du/79/thcs/2");
	assert_int_equal(sql_int("SELECT count(*) FROM blocks WHERE interval_id = 1"), 2);
	expect_text("SELECT list_version || ' ' || count FROM blocks WHERE network_id = "
		    "'79-TH-0002'",
		    "2026112601 1");
	assert_int_equal(sql_int("SELECT sum(count) FROM top_national WHERE interval_id = 1"), 7);
	assert_int_equal(sql_int("SELECT count(*) FROM outbox"), 0);
	cmpl_interval_fini(&iv);

	/* an empty interval is stored too; no national list: NULLs */
	assert_int_equal(cmpl_interval_init(&iv, T0 + 300, T0 + 600, "2026-11-26"), 0);
	assert_int_equal(cmpl_store_save_interval(st, &iv, NULL, &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(sql_int("SELECT national_version IS NULL AND national_applied IS NULL "
				 "FROM intervals WHERE id = 2"),
			 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, NULL, NULL), 0);
	assert_int_equal(sql_int("SELECT max(id) FROM intervals"), 3);
	cmpl_interval_fini(&iv);
	cmpl_store_close(st);
}

static void test_save_export(void **state)
{
	struct cmpl_store *st = open_store();
	struct cmpl_interval iv;
	int64_t id = 0;
	make_iv(&iv, T0, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(sql_int("SELECT spooled FROM intervals WHERE id = 1"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM outbox WHERE seq = 1 AND attempts = 0"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM totals"), 2);
	expect_head(st, 1, &iv);
	/* the batch carries no names, and the small network is folded */
	assert_int_equal(sql_int("SELECT instr(body, 'Trường') + instr(body, '79-TH-0002') "
				 "FROM outbox"),
			 0);
	/* an empty interval: its batch says "nothing counted" */
	cmpl_interval_fini(&iv);
	assert_int_equal(cmpl_interval_init(&iv, T0 + 300, T0 + 600, "2026-11-26"), 0);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(sql_int("SELECT instr(body, '\"queries\":0,\"blocked\":0,\"totals\":[]') "
				 "> 0 FROM outbox WHERE seq = 2"),
			 1);
	cmpl_interval_fini(&iv);
	cmpl_store_close(st);
}

static void test_outbox(void **state)
{
	struct cmpl_store *st = open_store();
	struct cmpl_interval iv[3];
	struct cmpl_spool_depth d;
	for (int i = 0; i < 3; i++) {
		int64_t id;
		make_iv(&iv[i], T0 + 300 * i, (uint64_t)i + 1);
		assert_int_equal(cmpl_store_save_interval(st, &iv[i], &ex, &id), 0);
		assert_int_equal(id, i + 1);
	}
	assert_int_equal(cmpl_store_outbox_depth(st, &d), 0);
	assert_int_equal(d.batches, 3);
	assert_int_equal(d.bytes, sql_int("SELECT sum(length(body)) FROM outbox"));
	assert_true(d.bytes > 3 * 500);
	assert_int_equal(d.waiting, 0);

	expect_head(st, 1, &iv[0]);
	assert_int_equal(cmpl_store_outbox_failed(st, 1, "HTTP 503"), 0);
	assert_int_equal(cmpl_store_outbox_failed(st, 1, "timeout"), 0);
	struct cmpl_outbox_item it;
	assert_int_equal(cmpl_store_outbox_peek(st, &it), 0);
	assert_int_equal(it.seq, 1);
	assert_int_equal(it.attempts, 2);
	cmpl_outbox_item_fini(&it);
	expect_text("SELECT last_error FROM outbox WHERE seq = 1", "timeout");

	assert_int_equal(cmpl_store_outbox_ack(st, 1), 0);
	expect_head(st, 2, &iv[1]);
	assert_int_equal(cmpl_store_outbox_ack(st, 3), 0); /* out of order is fine */
	expect_head(st, 2, &iv[1]);
	assert_int_equal(cmpl_store_outbox_ack(st, 2), 0);
	assert_int_equal(cmpl_store_outbox_ack(st, 2), 0); /* twice too */
	assert_int_equal(cmpl_store_outbox_peek(st, &it), CORE_ENOTFOUND);
	assert_int_equal(cmpl_store_outbox_depth(st, &d), 0);
	assert_int_equal(d.batches + d.bytes + d.waiting, 0);
	/* the rows stay for reports */
	assert_int_equal(sql_int("SELECT count(*) FROM intervals WHERE spooled = 1"), 3);
	for (int i = 0; i < 3; i++)
		cmpl_interval_fini(&iv[i]);
	cmpl_store_close(st);
}

static void test_spool_limit(void **state)
{
	struct cmpl_store *st = open_store();
	struct cmpl_interval iv[4];
	struct cmpl_spool_depth d;
	int64_t id, last = 0;
	for (int i = 0; i < 4; i++)
		make_iv(&iv[i], T0 + 300 * i, (uint64_t)i + 1);
	/* room for one batch at a time */
	struct core_buf b;
	core_buf_init(&b, 1 << 20);
	assert_int_equal(
		cmpl_batch_build(&iv[0], &ex, 1, "79-TH-0001:0123456789abcdef0123456789abcdef", &b),
		0);
	ex.spool_limit_bytes = b.len + 10;
	core_buf_deinit(&b);

	for (int i = 0; i < 3; i++) {
		assert_int_equal(cmpl_store_save_interval(st, &iv[i], &ex, &id), 0);
		assert_int_equal(id, i + 1);
	}
	expect_text("SELECT group_concat(spooled, ',') FROM (SELECT spooled FROM intervals "
		    "ORDER BY id)",
		    "1,0,0");
	assert_int_equal(cmpl_store_outbox_depth(st, &d), 0);
	assert_int_equal(d.batches, 1);
	assert_int_equal(d.waiting, 2);
	assert_int_equal(cmpl_store_spool_pending(st, &ex), 0);
	expect_head(st, 1, &iv[0]);
	assert_int_equal(cmpl_store_outbox_ack(st, 1), 0);
	last = 1;

	/* a new interval does not jump the queue, even though it would fit now */
	assert_int_equal(cmpl_store_save_interval(st, &iv[3], &ex, &id), 0);
	assert_int_equal(id, 4);
	assert_int_equal(sql_int("SELECT spooled FROM intervals WHERE id = 4"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM outbox"), 0);

	/* then each ack makes room for the next, in order, rebuilt from the stored rows */
	for (int i = 1; i < 4; i++) {
		assert_int_equal(cmpl_store_spool_pending(st, &ex), 1);
		struct cmpl_outbox_item it;
		assert_int_equal(cmpl_store_outbox_peek(st, &it), 0);
		assert_true(it.seq > last);
		last = it.seq;
		cmpl_outbox_item_fini(&it);
		expect_head(st, i + 1, &iv[i]);
		assert_int_equal(cmpl_store_outbox_depth(st, &d), 0);
		assert_int_equal(d.waiting, (uint64_t)(3 - i));
		assert_int_equal(cmpl_store_outbox_ack(st, last), 0);
	}
	assert_int_equal(cmpl_store_spool_pending(st, &ex), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM intervals WHERE spooled = 1"), 4);

	/* an empty outbox takes one batch of any size, so a big one cannot block the spool */
	ex.spool_limit_bytes = 10;
	for (int i = 0; i < 2; i++)
		assert_int_equal(cmpl_store_save_interval(st, &iv[i], &ex, &id), 0);
	expect_text("SELECT group_concat(spooled, ',') FROM (SELECT spooled FROM intervals "
		    "WHERE id > 4 ORDER BY id)",
		    "1,0");
	ex.spool_limit_bytes = 1 << 20;
	assert_int_equal(cmpl_store_spool_pending(st, &ex), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM outbox"), 2);
	expect_text("SELECT group_concat(seq, ',') FROM (SELECT seq FROM outbox ORDER BY seq)",
		    "5,6");
	for (int i = 0; i < 4; i++)
		cmpl_interval_fini(&iv[i]);
	cmpl_store_close(st);
}

static void test_prune_and_seq(void **state)
{
	struct cmpl_store *st = open_store();
	struct cmpl_interval iv;
	int64_t id;
	/* two old intervals (one exported), one recent */
	make_iv(&iv, T0 - 100 * DAY, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	cmpl_interval_fini(&iv);
	make_iv(&iv, T0 - 95 * DAY, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, NULL, &id), 0);
	cmpl_interval_fini(&iv);
	make_iv(&iv, T0 - DAY, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(id, 3);
	cmpl_interval_fini(&iv);
	const struct cmpl_logged_query q[] = {
		{T0 - 91 * DAY, "c1", "79-TH-0001", "tieu_hoc", "bad.example", "national",
		 "national", 1},
		{T0 - 89 * DAY, "", "79-TH-0001", "tieu_hoc", "game.example", "games", "games", 28},
		{T0, "c2", "", "khach", "x.example", "adult", "adult", 65},
	};
	assert_int_equal(cmpl_store_log_queries(st, q, 3), 0);
	assert_int_equal(cmpl_store_log_queries(st, q, 0), 0);
	expect_text(
		"SELECT client || ' ' || network_id || ' ' || grp || ' ' || qname || ' ' || "
		"qtype || ' ' || category || ' ' || list FROM query_log WHERE time = 1795662000",
		"c2  khach x.example 65 adult adult");
	assert_int_equal(
		cmpl_store_note_version(st, "national", "national", "1", T0 - DAY, "ixfr", 100), 0);

	/* 90 days: the two old intervals (1 + 2 totals + 2 blocks + 2 names each), 1 log line */
	assert_int_equal(cmpl_store_prune(st, T0, 90), 2 * 7 + 1);
	assert_int_equal(sql_int("SELECT group_concat(id) FROM intervals"), 3);
	assert_int_equal(sql_int("SELECT count(*) FROM totals WHERE interval_id < 3"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM blocks WHERE interval_id < 3"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM top_national WHERE interval_id < 3"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM query_log"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM list_versions"), 1);
	/* the outbox is untouched: batch 1 is still on its way */
	expect_text("SELECT group_concat(seq, ',') FROM (SELECT seq FROM outbox ORDER BY seq)",
		    "1,3");
	assert_int_equal(cmpl_store_prune(st, T0, 90), 0);

	/* everything goes; the sequence numbers still never come back */
	assert_int_equal(cmpl_store_outbox_ack(st, 1), 0);
	assert_int_equal(cmpl_store_outbox_ack(st, 3), 0);
	assert_int_equal(cmpl_store_prune(st, T0 + 10 * DAY, 1), 7 + 2);
	assert_int_equal(sql_int("SELECT count(*) FROM intervals"), 0);
	make_iv(&iv, T0, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(id, 4);
	assert_int_equal(cmpl_store_prune(st, T0 + 10 * DAY, 1), 7);
	assert_int_equal(sql_int("SELECT count(*) FROM intervals"), 0);
	/* a batch in the outbox counts even without the counter (a store from an older build) */
	assert_int_equal(cmpl_store_set_meta(st, "next_seq", "1"), 0);
	assert_int_equal(cmpl_store_save_interval(st, &iv, NULL, &id), 0);
	assert_int_equal(id, 5);
	cmpl_store_close(st);
	st = open_store();
	assert_int_equal(cmpl_store_save_interval(st, &iv, NULL, &id), 0);
	assert_int_equal(id, 6);
	/* and so do the intervals */
	assert_int_equal(cmpl_store_set_meta(st, "next_seq", "1"), 0);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(id, 7);
	expect_text("SELECT value FROM meta WHERE key = 'next_seq'", "8");
	cmpl_interval_fini(&iv);
	cmpl_store_close(st);
}

static void test_reopen(void **state)
{
	struct cmpl_store *st = open_store();
	struct cmpl_interval iv;
	int64_t id;
	make_iv(&iv, T0, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(cmpl_store_outbox_failed(st, id, "refused"), 0);
	assert_int_equal(cmpl_store_note_version(st, "national", "national", "2026112601", T0 - 60,
						 "ixfr", 1234),
			 0);
	/* the first time a version is seen counts */
	assert_int_equal(
		cmpl_store_note_version(st, "national", "national", "2026112601", T0, "axfr", 1),
		0);
	assert_int_equal(
		cmpl_store_note_version(st, "national", "national", "2026112602", T0, "ixfr", 1240),
		0);
	const struct cmpl_logged_query q = {
		T0, "", "79-TH-0001", "tieu_hoc", "bad.example", "national", "national", 1};
	assert_int_equal(cmpl_store_log_queries(st, &q, 1), 0);
	cmpl_store_close(st);

	st = open_store();
	expect_head(st, id, &iv);
	struct cmpl_outbox_item it;
	assert_int_equal(cmpl_store_outbox_peek(st, &it), 0);
	assert_int_equal(it.attempts, 1);
	cmpl_outbox_item_fini(&it);
	assert_int_equal(sql_int("SELECT count(*) FROM totals"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM query_log"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM list_versions"), 2);
	expect_text("SELECT how || ' ' || applied || ' ' || entries FROM list_versions "
		    "WHERE version = '2026112601'",
		    "ixfr 1795661940 1234");
	cmpl_interval_fini(&iv);
	make_iv(&iv, T0 + 300, 1);
	assert_int_equal(cmpl_store_save_interval(st, &iv, &ex, &id), 0);
	assert_int_equal(id, 2);
	cmpl_interval_fini(&iv);
	cmpl_store_close(st);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputs(text, f);
	fclose(f);
}

static void test_not_a_store(void **state)
{
	struct cmpl_store *st = NULL;
	char err[512] = "";

	write_file(dbpath, "this is not a database, only text\n");
	assert_int_equal(cmpl_store_open(dbpath, &st, err, sizeof(err)), CORE_ECONFIG);
	assert_null(st);
	assert_non_null(strstr(err, dbpath));
	assert_non_null(strstr(err, "not an SQLite database"));
	unlink(dbpath);

	/* another program's database */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE songs(title TEXT)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	assert_int_equal(cmpl_store_open(dbpath, &st, err, sizeof(err)), CORE_ECONFIG);
	assert_non_null(strstr(err, "not a lanhmanh statistics store"));
	/* left alone */
	assert_int_equal(sql_int("SELECT count(*) FROM sqlite_master"), 1);
	expect_text("PRAGMA journal_mode", "delete");
	unlink(dbpath);

	/* a store of another schema version */
	st = open_store();
	assert_int_equal(cmpl_store_set_meta(st, "schema_version", "2"), 0);
	cmpl_store_close(st);
	st = NULL;
	err[0] = '\0';
	assert_int_equal(cmpl_store_open(dbpath, &st, err, sizeof(err)), CORE_ECONFIG);
	assert_non_null(strstr(err, "schema version 2"));
	assert_non_null(strstr(err, dbpath));

	/* no such directory */
	char path[256];
	snprintf(path, sizeof(path), "%s/missing/stats.sqlite", tmpdir);
	assert_int_equal(cmpl_store_open(path, &st, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_and_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
