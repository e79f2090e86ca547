/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The local statistics store (SQLite, schema.h) and the export spool (its `outbox` table).
 *
 * One writer, the control thread. Opened in WAL mode with synchronous=FULL: when a call that
 * writes returns 0, what it wrote is on disk (fsync'ed), so a batch in the outbox survives a
 * crash or a power cut. An interval's records and its batch are written in one transaction:
 * after a crash either both are there or neither.
 *
 * The outbox is bounded (bytes of bodies). When a new batch does not fit, the interval is
 * stored with spooled = 0 and cmpl_store_spool_pending() makes its batch later, from the
 * stored rows, once the authority has taken older ones: nothing is lost while the rows are
 * kept (retention_days), and the order of sequence numbers is the order of intervals. (A new
 * batch also waits while older intervals wait; an empty outbox takes a batch of any size.)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance/records.h"

struct cmpl_store;
struct cmpl_key;

/** What a batch for the authority needs beyond the records. */
struct cmpl_export_params {
	const char *reporter_id;
	const struct cmpl_key *key; /**< signs the batches */
	uint32_t k_threshold; /**< counts below this are folded into "other" */
	uint32_t top_domains; /**< national names per network in a batch */
	uint64_t spool_limit_bytes; /**< bound of the outbox (sum of body sizes) */
	const char *software; /**< "lanhmanh 0.4.0" */
};

/** A batch waiting in the outbox. Owned by the caller after cmpl_store_outbox_peek(). */
struct cmpl_outbox_item {
	int64_t seq;
	char idempotency_key[128];
	char signature[128]; /**< "ed25519=BASE64" of the body */
	char *body; /**< JSON, NUL-terminated (free with core_free) */
	size_t body_len;
	int64_t created;
	uint32_t attempts;
};

/**
 * Open or create the store at @path (directories must exist; the file is created 0640), set
 * WAL and synchronous=FULL, create the schema or check its version.
 * @param err  a one-line message naming the file on failure
 * @return 0; CORE_ECONFIG (another schema version, not a store); -EIO / -EACCES / -ENOMEM.
 */
int cmpl_store_open(const char *path, struct cmpl_store **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Close @st (NULL is fine). */
void cmpl_store_close(struct cmpl_store *st);

/** Record meta key 'reporter_id' (shown by reports). @return 0 or an error. */
int cmpl_store_set_meta(struct cmpl_store *st, const char *key, const char *value);

/**
 * Store closed interval @iv (id = the next sequence number) with its rows; with @ex, also
 * build, sign and spool its batch in the same transaction (when the outbox has room; else
 * spooled = 0). An empty interval is stored too (its batch says "nothing counted": the
 * authority sees the reporter alive).
 * @return 0 and the id in @out_id (may be NULL); an error (nothing written).
 */
int cmpl_store_save_interval(struct cmpl_store *st, const struct cmpl_interval *iv,
			     const struct cmpl_export_params *ex, int64_t *out_id)
	__attribute__((warn_unused_result));

/**
 * Spool the batches of stored intervals not spooled yet (oldest first) while the outbox has
 * room. @return how many were spooled (>= 0) or an error.
 */
int cmpl_store_spool_pending(struct cmpl_store *st, const struct cmpl_export_params *ex);

/** The oldest batch of the outbox. @return 0, CORE_ENOTFOUND (empty), or an error. */
int cmpl_store_outbox_peek(struct cmpl_store *st, struct cmpl_outbox_item *out);

/** Free what @it holds. */
void cmpl_outbox_item_fini(struct cmpl_outbox_item *it);

/** The authority took batch @seq: delete it. @return 0 or an error. */
int cmpl_store_outbox_ack(struct cmpl_store *st, int64_t seq);

/** A try of batch @seq failed with @error: count it. @return 0 or an error. */
int cmpl_store_outbox_failed(struct cmpl_store *st, int64_t seq, const char *error);

/** Batches and body bytes in the outbox, and intervals waiting for room (spooled = 0). */
struct cmpl_spool_depth {
	uint64_t batches, bytes, waiting;
};
int cmpl_store_outbox_depth(struct cmpl_store *st, struct cmpl_spool_depth *out);

/** Record that version @version of list @list was in force (first time seen: a new row). */
int cmpl_store_note_version(struct cmpl_store *st, const char *list, const char *category,
			    const char *version, int64_t applied, const char *how, uint64_t entries);

/** One blocked query of the local log (compliance.query_log). Strings borrowed. */
struct cmpl_logged_query {
	int64_t time;
	const char *client; /**< "", a pseudonym or the address, per client_ids */
	const char *network_id, *group, *qname, *category, *list;
	uint16_t qtype;
};

/** Append @n queries to the local log, in one transaction. @return 0 or an error. */
int cmpl_store_log_queries(struct cmpl_store *st, const struct cmpl_logged_query *q, size_t n);

/**
 * Delete what is older than @retention_days before @now: intervals ending before it, with their
 * rows, and log lines. The outbox is not touched (its batches are on their way).
 * @return the number of rows deleted (>= 0) or an error.
 */
int64_t cmpl_store_prune(struct cmpl_store *st, int64_t now, uint32_t retention_days);
