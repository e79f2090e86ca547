/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The local statistics store and the export spool on SQLite (see store.h and schema.h). */
#include "compliance/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compliance/batch.h"
#include "compliance/schema.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"

#define LOG_GROUP "stats"
/* Bound of one batch body: far above what 100k networks make (a few MiB). */
#define BATCH_MAX (64u << 20)
/* intervals.spooled */
#define SPOOL_WAITING 0
#define SPOOL_DONE 1
#define SPOOL_NO_EXPORT 2

/*
 * Every statement the store runs, prepared once on first use (SQLITE_PREPARE_PERSISTENT) and
 * kept until close. All data goes through bound parameters: no SQL is built from data.
 */
enum stmt_id {
	S_NEXT_SEQ,
	S_SET_META,
	S_INS_INTERVAL,
	S_INS_TOTAL,
	S_INS_BLOCK,
	S_INS_TOP,
	S_OUTBOX_STATS,
	S_WAITING,
	S_INS_OUTBOX,
	S_SET_SPOOLED,
	S_FIRST_WAITING,
	S_GET_TOTALS,
	S_GET_BLOCKS,
	S_GET_TOPS,
	S_PEEK,
	S_ACK,
	S_FAILED,
	S_NOTE_VERSION,
	S_LOG_QUERY,
	S_PRUNE_TOTALS,
	S_PRUNE_BLOCKS,
	S_PRUNE_TOPS,
	S_PRUNE_INTERVALS,
	S_PRUNE_LOG,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	/* the next sequence number: never one used before, even after intervals were pruned */
	[S_NEXT_SEQ] = "SELECT max(coalesce((SELECT CAST(value AS INTEGER) FROM meta"
		       " WHERE key = 'next_seq'), 1),"
		       " coalesce((SELECT max(id) FROM intervals), 0) + 1,"
		       " coalesce((SELECT max(seq) FROM outbox), 0) + 1)",
	[S_SET_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
	[S_INS_INTERVAL] = "INSERT INTO intervals(id, start, \"end\", day, queries, blocked,"
			   " national_version, national_applied, spooled)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_INS_TOTAL] = "INSERT INTO totals(interval_id, network_id, network_name, province, grp,"
			" queries, blocked) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_INS_BLOCK] = "INSERT INTO blocks(interval_id, network_id, grp, category, list,"
			" list_version, count) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_INS_TOP] = "INSERT INTO top_national(interval_id, network_id, domain, count)"
		      " VALUES(?1, ?2, ?3, ?4)",
	[S_OUTBOX_STATS] = "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox",
	[S_WAITING] = "SELECT count(*) FROM intervals WHERE spooled = 0",
	[S_INS_OUTBOX] = "INSERT INTO outbox(seq, idempotency_key, created, body, signature)"
			 " VALUES(?1, ?2, ?3, ?4, ?5)",
	[S_SET_SPOOLED] = "UPDATE intervals SET spooled = 1 WHERE id = ?1",
	[S_FIRST_WAITING] = "SELECT id, start, \"end\", day, national_version, national_applied"
			    " FROM intervals WHERE spooled = 0 ORDER BY id LIMIT 1",
	[S_GET_TOTALS] = "SELECT network_id, network_name, province, grp, queries, blocked"
			 " FROM totals WHERE interval_id = ?1 ORDER BY rowid",
	[S_GET_BLOCKS] = "SELECT network_id, grp, category, list, list_version, count"
			 " FROM blocks WHERE interval_id = ?1 ORDER BY rowid",
	[S_GET_TOPS] = "SELECT network_id, domain, count FROM top_national"
		       " WHERE interval_id = ?1 ORDER BY rowid",
	[S_PEEK] = "SELECT seq, idempotency_key, signature, body, created, attempts"
		   " FROM outbox ORDER BY seq LIMIT 1",
	[S_ACK] = "DELETE FROM outbox WHERE seq = ?1",
	[S_FAILED] = "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1",
	[S_NOTE_VERSION] = "INSERT OR IGNORE INTO list_versions(list, category, version, applied,"
			   " how, entries) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[S_LOG_QUERY] = "INSERT INTO query_log(time, client, network_id, grp, qname, qtype,"
			" category, list) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_PRUNE_TOTALS] = "DELETE FROM totals WHERE interval_id IN"
			   " (SELECT id FROM intervals WHERE \"end\" < ?1)",
	[S_PRUNE_BLOCKS] = "DELETE FROM blocks WHERE interval_id IN"
			   " (SELECT id FROM intervals WHERE \"end\" < ?1)",
	[S_PRUNE_TOPS] = "DELETE FROM top_national WHERE interval_id IN"
			 " (SELECT id FROM intervals WHERE \"end\" < ?1)",
	[S_PRUNE_INTERVALS] = "DELETE FROM intervals WHERE \"end\" < ?1",
	[S_PRUNE_LOG] = "DELETE FROM query_log WHERE time < ?1",
};

struct cmpl_store {
	sqlite3 *db;
	char *path;		      /**< owned, for messages */
	sqlite3_stmt *stmts[S_COUNT]; /**< prepared on first use */
};

/* An SQLite result code as one of ours. */
static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return CORE_ECONFIG;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return CORE_ELIMIT;
	default:
		return -EIO;
	}
}

/* Log a failure of @what once, with SQLite's message, and return it as our code. */
static int db_fail(struct cmpl_store *st, const char *what, int rc)
{
	core_log_err(LOG_GROUP, "statistics store '%s': %s: %s", st->path, what,
		     sqlite3_errmsg(st->db));
	return map_rc(rc);
}

/* Statement @id, reset and with no bindings; NULL when it cannot be prepared (logged). */
static sqlite3_stmt *stmt(struct cmpl_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmts[id];
	if (!s) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
					    NULL);
		if (rc != SQLITE_OK) {
			(void)db_fail(st, "preparing a statement", rc);
			return NULL;
		}
		st->stmts[id] = s;
		return s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

static void bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/* Run @s, which returns no row, then reset it. */
static int run(struct cmpl_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : db_fail(st, what, rc);
	sqlite3_reset(s);
	return r;
}

/* Run @s, which returns one row of integers, into @out[0..n). */
static int query_ints(struct cmpl_store *st, sqlite3_stmt *s, const char *what, int64_t *out, int n)
{
	int rc = sqlite3_step(s);
	int r = 0;
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			out[i] = sqlite3_column_int64(s, i);
	} else {
		r = db_fail(st, what, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	}
	sqlite3_reset(s);
	return r;
}

static int exec(struct cmpl_store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(st, sql, rc);
}

static int begin(struct cmpl_store *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

static int commit(struct cmpl_store *st)
{
	return exec(st, "COMMIT");
}

/* Undo the open transaction, if any, after a failure (already logged). */
static void rollback(struct cmpl_store *st)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (st->stmts[i])
			sqlite3_reset(st->stmts[i]);
	}
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- open, close ---- */

/*
 * Check that the file is an SQLite database and, unless it is empty, a store of our schema
 * version. Nothing is written: another program's database is left as it was.
 * @return 0 and in *@out_new whether the database is empty, or an error (message in @err).
 */
static int check_store(struct cmpl_store *st, bool *out_new, char *err, size_t errlen)
{
	char want[16];
	sqlite3_stmt *s = NULL;
	int r = 0;

	snprintf(want, sizeof(want), "%d", CMPL_SCHEMA_VERSION);
	/* the first statement that reads the file tells whether it is a database at all */
	int rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		if (r == CORE_ECONFIG)
			snprintf(err, errlen,
				 "statistics store '%s': not an SQLite database (%s); move it "
				 "away or set compliance.store to another file",
				 st->path, sqlite3_errmsg(st->db));
		else
			snprintf(err, errlen, "statistics store '%s': %s", st->path,
				 sqlite3_errmsg(st->db));
		goto out_finalize;
	}
	bool empty = sqlite3_column_int64(s, 0) == 0;
	sqlite3_finalize(s);
	s = NULL;
	if (!empty) {
		rc = sqlite3_prepare_v2(st->db,
					"SELECT value FROM meta WHERE key = 'schema_version'", -1,
					&s, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc == SQLITE_BUSY || rc == SQLITE_NOMEM || rc == SQLITE_IOERR) {
			r = map_rc(rc);
			snprintf(err, errlen, "statistics store '%s': %s", st->path,
				 sqlite3_errmsg(st->db));
			goto out_finalize;
		}
		if (rc != SQLITE_ROW) {
			r = CORE_ECONFIG;
			snprintf(err, errlen,
				 "statistics store '%s': an SQLite database, but not a lanhmanh "
				 "statistics store (no schema version); move it away or set "
				 "compliance.store to another file",
				 st->path);
			goto out_finalize;
		}
		const char *have = (const char *)sqlite3_column_text(s, 0);
		if (!have || strcmp(have, want) != 0) {
			r = CORE_ECONFIG;
			snprintf(err, errlen,
				 "statistics store '%s': schema version %s, this lanhmanh knows "
				 "version %s",
				 st->path, have ? have : "(none)", want);
			goto out_finalize;
		}
	}
	*out_new = empty;
out_finalize:
	sqlite3_finalize(s);
	return r;
}

/* Create what is missing of the schema (all of it in a new store), in one transaction. */
static int create_schema(struct cmpl_store *st, char *err, size_t errlen)
{
	char want[16];
	snprintf(want, sizeof(want), "%d", CMPL_SCHEMA_VERSION);
	int r = begin(st);
	if (r == 0)
		r = exec(st, CMPL_SCHEMA_SQL);
	if (r == 0) {
		sqlite3_stmt *m = stmt(st, S_SET_META);
		r = -EIO;
		if (m) {
			bind_str(m, 1, "schema_version");
			bind_str(m, 2, want);
			r = run(st, m, "writing the schema version");
		}
	}
	if (r == 0)
		r = commit(st);
	if (r != 0) {
		snprintf(err, errlen, "statistics store '%s': creating the schema: %s", st->path,
			 sqlite3_errmsg(st->db));
		rollback(st);
	}
	return r;
}

int cmpl_store_open(const char *path, struct cmpl_store **out, char *err, size_t errlen)
{
	bool is_new = false;
	int rc, r;
	struct cmpl_store *st = core_calloc(1, sizeof(*st));
	if (!st || !(st->path = core_strdup(path))) {
		snprintf(err, errlen, "statistics store '%s': out of memory", path);
		core_free(st);
		return -ENOMEM;
	}
	/* create the file ourselves for its mode: SQLite would use 0644 (WAL and shm files
	 * then copy the database file's mode) */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "statistics store '%s': %s", path, strerror(-r));
		goto out_free;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		snprintf(err, errlen, "statistics store '%s': %s", path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto out_free;
	}
	sqlite3_busy_timeout(st->db, 5000);
	r = check_store(st, &is_new, err, errlen);
	if (r != 0)
		goto out_free;
	sqlite3_stmt *s = NULL;
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		snprintf(err, errlen, "statistics store '%s': setting WAL mode: %s", path,
			 sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		goto out_free;
	}
	const char *mode = (const char *)sqlite3_column_text(s, 0);
	if (!mode || strcmp(mode, "wal") != 0)
		core_log_warn(LOG_GROUP, "statistics store '%s': journal mode is '%s', not 'wal'",
			      path, mode ? mode : "?");
	sqlite3_finalize(s);
	rc = sqlite3_exec(st->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		snprintf(err, errlen, "statistics store '%s': %s", path, sqlite3_errmsg(st->db));
		goto out_free;
	}
	r = create_schema(st, err, errlen);
	if (r != 0)
		goto out_free;
	if (is_new)
		core_log_info(LOG_GROUP, "statistics store '%s' created", path);
	*out = st;
	return 0;
out_free:
	cmpl_store_close(st);
	return r;
}

void cmpl_store_close(struct cmpl_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		core_log_err(LOG_GROUP, "statistics store '%s': closing: %s", st->path,
			     sqlite3_errmsg(st->db));
	core_free(st->path);
	core_free(st);
}

int cmpl_store_set_meta(struct cmpl_store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = stmt(st, S_SET_META);
	if (!s)
		return -EIO;
	bind_str(s, 1, key);
	bind_str(s, 2, value);
	return run(st, s, "writing meta");
}

/* ---- intervals and batches ---- */

static int insert_rows(struct cmpl_store *st, const struct cmpl_interval *iv, int64_t id)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < iv->n_totals; i++) {
		const struct cmpl_total *t = &iv->totals[i];
		sqlite3_stmt *s = stmt(st, S_INS_TOTAL);
		if (!s)
			return -EIO;
		bind_i64(s, 1, id);
		bind_str(s, 2, t->network_id);
		bind_str(s, 3, t->network_name);
		bind_str(s, 4, t->province);
		bind_str(s, 5, t->group);
		bind_i64(s, 6, (int64_t)t->queries);
		bind_i64(s, 7, (int64_t)t->blocked);
		r = run(st, s, "writing totals");
	}
	for (size_t i = 0; r == 0 && i < iv->n_blocks; i++) {
		const struct cmpl_block *b = &iv->blocks[i];
		sqlite3_stmt *s = stmt(st, S_INS_BLOCK);
		if (!s)
			return -EIO;
		bind_i64(s, 1, id);
		bind_str(s, 2, b->network_id);
		bind_str(s, 3, b->group);
		bind_str(s, 4, b->category);
		bind_str(s, 5, b->list);
		bind_str(s, 6, b->list_version);
		bind_i64(s, 7, (int64_t)b->count);
		r = run(st, s, "writing blocks");
	}
	for (size_t i = 0; r == 0 && i < iv->n_tops; i++) {
		const struct cmpl_top *t = &iv->tops[i];
		sqlite3_stmt *s = stmt(st, S_INS_TOP);
		if (!s)
			return -EIO;
		bind_i64(s, 1, id);
		bind_str(s, 2, t->network_id);
		bind_str(s, 3, t->domain);
		bind_i64(s, 4, (int64_t)t->count);
		r = run(st, s, "writing national names");
	}
	return r;
}

/*
 * Build and sign the batch of @iv as number @seq and put it in the outbox when it has room
 * (inside the caller's transaction). An outbox that is empty takes any batch, so that one
 * batch larger than the limit cannot stop the spool for ever.
 * @return 1 spooled, 0 no room, or an error.
 */
static int spool_batch(struct cmpl_store *st, const struct cmpl_interval *iv,
		       const struct cmpl_export_params *ex, int64_t seq)
{
	char idem[128], sig[128];
	struct core_buf body;
	int64_t depth[2] = {0, 0};
	int r;

	if (!ex->key)
		return -EINVAL;
	sqlite3_stmt *s = stmt(st, S_OUTBOX_STATS);
	if (!s)
		return -EIO;
	r = query_ints(st, s, "reading the outbox size", depth, 2);
	if (r != 0)
		return r;
	cmpl_batch_new_key(ex->reporter_id, idem, sizeof(idem));
	core_buf_init(&body, BATCH_MAX);
	r = cmpl_batch_build(iv, ex, seq, idem, &body);
	if (r != 0) {
		core_log_err(LOG_GROUP, "statistics store '%s': batch %" PRId64 ": %s", st->path,
			     seq, core_strerror(r));
		goto out_body;
	}
	if (depth[0] > 0 && (uint64_t)depth[1] + body.len > ex->spool_limit_bytes) {
		r = 0;
		goto out_body;
	}
	cmpl_batch_sign(ex->key, body.data, body.len, sig, sizeof(sig));
	s = stmt(st, S_INS_OUTBOX);
	if (!s) {
		r = -EIO;
		goto out_body;
	}
	bind_i64(s, 1, seq);
	bind_str(s, 2, idem);
	bind_i64(s, 3, core_clock_wall_s());
	sqlite3_bind_blob64(s, 4, body.data, body.len, SQLITE_STATIC);
	bind_str(s, 5, sig);
	r = run(st, s, "writing the outbox");
	if (r == 0)
		r = 1;
out_body:
	core_buf_deinit(&body);
	return r;
}

int cmpl_store_save_interval(struct cmpl_store *st, const struct cmpl_interval *iv,
			     const struct cmpl_export_params *ex, int64_t *out_id)
{
	int64_t id = 0, waiting = 0;
	int spooled = SPOOL_NO_EXPORT;
	char next[24];
	sqlite3_stmt *s;
	int r = begin(st);
	if (r != 0)
		return r;
	r = -EIO;
	if (!(s = stmt(st, S_NEXT_SEQ)))
		goto out_rollback;
	r = query_ints(st, s, "reading the next sequence number", &id, 1);
	if (r != 0)
		goto out_rollback;
	if (ex) {
		/* batches leave in the order of the intervals: behind a waiting one, wait */
		r = -EIO;
		if (!(s = stmt(st, S_WAITING)))
			goto out_rollback;
		r = query_ints(st, s, "reading the spool", &waiting, 1);
		if (r != 0)
			goto out_rollback;
		spooled = SPOOL_WAITING;
		if (waiting == 0) {
			r = spool_batch(st, iv, ex, id);
			if (r < 0)
				goto out_rollback;
			spooled = r ? SPOOL_DONE : SPOOL_WAITING;
		}
	}
	r = -EIO;
	if (!(s = stmt(st, S_INS_INTERVAL)))
		goto out_rollback;
	bind_i64(s, 1, id);
	bind_i64(s, 2, iv->start);
	bind_i64(s, 3, iv->end);
	bind_str(s, 4, iv->day);
	bind_i64(s, 5, (int64_t)iv->queries);
	bind_i64(s, 6, (int64_t)iv->blocked);
	if (iv->national_version)
		bind_str(s, 7, iv->national_version);
	if (iv->national_applied)
		bind_i64(s, 8, iv->national_applied);
	sqlite3_bind_int(s, 9, spooled);
	r = run(st, s, "writing an interval");
	if (r != 0)
		goto out_rollback;
	r = insert_rows(st, iv, id);
	if (r != 0)
		goto out_rollback;
	r = -EIO;
	if (!(s = stmt(st, S_SET_META)))
		goto out_rollback;
	snprintf(next, sizeof(next), "%" PRId64, id + 1);
	bind_str(s, 1, "next_seq");
	bind_str(s, 2, next);
	r = run(st, s, "writing the next sequence number");
	if (r != 0)
		goto out_rollback;
	r = commit(st);
	if (r != 0)
		goto out_rollback;
	if (spooled == SPOOL_WAITING)
		core_log_debug(LOG_GROUP, "interval %" PRId64 " waits for room in the outbox", id);
	if (out_id)
		*out_id = id;
	return 0;
out_rollback:
	rollback(st);
	return r;
}

static const char *col_str(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	return v ? v : "";
}

/* Rebuild the records of interval @id from its rows into @iv (initialised by the caller). */
static int load_rows(struct cmpl_store *st, int64_t id, struct cmpl_interval *iv)
{
	int rc, r = 0;
	sqlite3_stmt *s = stmt(st, S_GET_TOTALS);
	if (!s)
		return -EIO;
	bind_i64(s, 1, id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cmpl_interval_add_total(iv, col_str(s, 0), col_str(s, 1), col_str(s, 2),
					    col_str(s, 3), (uint64_t)sqlite3_column_int64(s, 4),
					    (uint64_t)sqlite3_column_int64(s, 5));
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(st, "reading totals", rc);
	sqlite3_reset(s);
	if (r != 0 || !(s = stmt(st, S_GET_BLOCKS)))
		return r ? r : -EIO;
	bind_i64(s, 1, id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cmpl_interval_add_block(iv, col_str(s, 0), col_str(s, 1), col_str(s, 2),
					    col_str(s, 3), col_str(s, 4),
					    (uint64_t)sqlite3_column_int64(s, 5));
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(st, "reading blocks", rc);
	sqlite3_reset(s);
	if (r != 0 || !(s = stmt(st, S_GET_TOPS)))
		return r ? r : -EIO;
	bind_i64(s, 1, id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cmpl_interval_add_top(iv, col_str(s, 0), col_str(s, 1),
					  (uint64_t)sqlite3_column_int64(s, 2));
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(st, "reading national names", rc);
	sqlite3_reset(s);
	return r;
}

/*
 * Spool the oldest waiting interval, in one transaction.
 * @return 1 spooled, 0 nothing waiting or no room, or an error.
 */
static int spool_one(struct cmpl_store *st, const struct cmpl_export_params *ex)
{
	struct cmpl_interval iv = {0};
	int64_t id;
	int rc, r = begin(st);
	if (r != 0)
		return r;
	sqlite3_stmt *s = stmt(st, S_FIRST_WAITING);
	if (!s) {
		r = -EIO;
		goto out_rollback;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		r = 0;
		goto out_rollback;
	}
	if (rc != SQLITE_ROW) {
		r = db_fail(st, "reading waiting intervals", rc);
		goto out_rollback;
	}
	id = sqlite3_column_int64(s, 0);
	r = cmpl_interval_init(&iv, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
			       col_str(s, 3));
	if (r == 0 && sqlite3_column_type(s, 4) != SQLITE_NULL)
		r = cmpl_interval_set_national(&iv, col_str(s, 4), sqlite3_column_int64(s, 5));
	sqlite3_reset(s);
	if (r == 0)
		r = load_rows(st, id, &iv);
	if (r == 0)
		r = spool_batch(st, &iv, ex, id);
	if (r <= 0)
		goto out_rollback;
	if (!(s = stmt(st, S_SET_SPOOLED))) {
		r = -EIO;
		goto out_rollback;
	}
	bind_i64(s, 1, id);
	r = run(st, s, "marking an interval spooled");
	if (r == 0)
		r = commit(st);
	if (r != 0)
		goto out_rollback;
	cmpl_interval_fini(&iv);
	return 1;
out_rollback:
	rollback(st);
	cmpl_interval_fini(&iv);
	return r;
}

int cmpl_store_spool_pending(struct cmpl_store *st, const struct cmpl_export_params *ex)
{
	int n = 0, r;
	if (!ex)
		return -EINVAL;
	while ((r = spool_one(st, ex)) == 1)
		n++;
	return r < 0 ? r : n;
}

/* ---- the outbox ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int cmpl_store_outbox_peek(struct cmpl_store *st, struct cmpl_outbox_item *out)
{
	struct cmpl_outbox_item it = {0};
	sqlite3_stmt *s = stmt(st, S_PEEK);
	int r = 0;
	if (!s)
		return -EIO;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		r = CORE_ENOTFOUND;
		goto out_reset;
	}
	if (rc != SQLITE_ROW) {
		r = db_fail(st, "reading the outbox", rc);
		goto out_reset;
	}
	it.seq = sqlite3_column_int64(s, 0);
	copy_str(it.idempotency_key, sizeof(it.idempotency_key), col_str(s, 1));
	copy_str(it.signature, sizeof(it.signature), col_str(s, 2));
	const void *body = sqlite3_column_blob(s, 3);
	int len = sqlite3_column_bytes(s, 3);
	it.body = core_malloc((size_t)len + 1);
	if (!it.body) {
		r = -ENOMEM;
		goto out_reset;
	}
	if (len > 0)
		memcpy(it.body, body, (size_t)len);
	it.body[len] = '\0';
	it.body_len = (size_t)len;
	it.created = sqlite3_column_int64(s, 4);
	it.attempts = (uint32_t)sqlite3_column_int64(s, 5);
	*out = it;
out_reset:
	sqlite3_reset(s);
	return r;
}

void cmpl_outbox_item_fini(struct cmpl_outbox_item *it)
{
	if (!it)
		return;
	it->body = core_free(it->body);
	it->body_len = 0;
}

int cmpl_store_outbox_ack(struct cmpl_store *st, int64_t seq)
{
	sqlite3_stmt *s = stmt(st, S_ACK);
	if (!s)
		return -EIO;
	bind_i64(s, 1, seq);
	return run(st, s, "deleting a batch from the outbox");
}

int cmpl_store_outbox_failed(struct cmpl_store *st, int64_t seq, const char *error)
{
	sqlite3_stmt *s = stmt(st, S_FAILED);
	if (!s)
		return -EIO;
	bind_i64(s, 1, seq);
	bind_str(s, 2, error);
	return run(st, s, "counting a failed try");
}

int cmpl_store_outbox_depth(struct cmpl_store *st, struct cmpl_spool_depth *out)
{
	int64_t v[3] = {0, 0, 0};
	sqlite3_stmt *s = stmt(st, S_OUTBOX_STATS);
	if (!s)
		return -EIO;
	int r = query_ints(st, s, "reading the outbox size", v, 2);
	if (r != 0)
		return r;
	if (!(s = stmt(st, S_WAITING)))
		return -EIO;
	r = query_ints(st, s, "reading the spool", &v[2], 1);
	if (r != 0)
		return r;
	out->batches = (uint64_t)v[0];
	out->bytes = (uint64_t)v[1];
	out->waiting = (uint64_t)v[2];
	return 0;
}

/* ---- list versions, the query log, pruning ---- */

int cmpl_store_note_version(struct cmpl_store *st, const char *list, const char *category,
			    const char *version, int64_t applied, const char *how, uint64_t entries)
{
	sqlite3_stmt *s = stmt(st, S_NOTE_VERSION);
	if (!s)
		return -EIO;
	bind_str(s, 1, list);
	bind_str(s, 2, category);
	bind_str(s, 3, version);
	bind_i64(s, 4, applied);
	bind_str(s, 5, how);
	bind_i64(s, 6, (int64_t)entries);
	return run(st, s, "writing a list version");
}

int cmpl_store_log_queries(struct cmpl_store *st, const struct cmpl_logged_query *q, size_t n)
{
	if (n == 0)
		return 0;
	int r = begin(st);
	if (r != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = stmt(st, S_LOG_QUERY);
		if (!s) {
			r = -EIO;
			goto out_rollback;
		}
		bind_i64(s, 1, q[i].time);
		bind_str(s, 2, q[i].client);
		bind_str(s, 3, q[i].network_id);
		bind_str(s, 4, q[i].group);
		bind_str(s, 5, q[i].qname);
		sqlite3_bind_int(s, 6, q[i].qtype);
		bind_str(s, 7, q[i].category);
		bind_str(s, 8, q[i].list);
		r = run(st, s, "writing the query log");
		if (r != 0)
			goto out_rollback;
	}
	r = commit(st);
	if (r != 0)
		goto out_rollback;
	return 0;
out_rollback:
	rollback(st);
	return r;
}

int64_t cmpl_store_prune(struct cmpl_store *st, int64_t now, uint32_t retention_days)
{
	/* rows of intervals first: they are found through the intervals about to go */
	static const enum stmt_id order[] = {S_PRUNE_TOTALS, S_PRUNE_BLOCKS, S_PRUNE_TOPS,
					     S_PRUNE_INTERVALS, S_PRUNE_LOG};
	int64_t cutoff = now - (int64_t)retention_days * 86400;
	int64_t deleted = 0;
	int r = begin(st);
	if (r != 0)
		return r;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		sqlite3_stmt *s = stmt(st, order[i]);
		if (!s) {
			r = -EIO;
			goto out_rollback;
		}
		bind_i64(s, 1, cutoff);
		r = run(st, s, "pruning old rows");
		if (r != 0)
			goto out_rollback;
		deleted += sqlite3_changes64(st->db);
	}
	r = commit(st);
	if (r != 0)
		goto out_rollback;
	return deleted;
out_rollback:
	rollback(st);
	return r;
}
