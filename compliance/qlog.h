/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The local log of blocked queries (`compliance.query_log`), on its way from a worker to the
 * store: a single-producer single-consumer ring per worker. The worker writes an entry into
 * the next free slot and publishes it (release store of the head); the control thread drains
 * the ring about once a second (acquire load), names the client as `client_ids` says, and
 * writes the entries to the store in one transaction. A full ring drops the entry and counts
 * it: the query path never waits.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance/tally.h"

struct cmpl_qlog_entry {
	int64_t time; /**< wall clock seconds */
	uint8_t family; /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< the client's address (4 bytes used for AF_INET) */
	struct cmpl_tally_key key; /**< network, group, list, category, generations */
	uint16_t qtype;
	uint8_t qname_len;
	uint8_t qname[255]; /**< wire form */
};

struct cmpl_qlog_ring {
	_Atomic size_t head; /**< next slot the worker writes */
	_Atomic size_t tail; /**< next slot the control thread reads */
	size_t mask;
	struct cmpl_qlog_entry *e;
	_Atomic uint64_t dropped; /**< entries lost because the ring was full */
} __attribute__((aligned(64)));

/** A ring of @slots entries (a power of two). @return 0 or -ENOMEM. */
int cmpl_qlog_init(struct cmpl_qlog_ring *r, size_t slots) __attribute__((warn_unused_result));

/** Free what @r holds (a zeroed @r is fine). */
void cmpl_qlog_fini(struct cmpl_qlog_ring *r);

/** The slot to fill, or NULL when the ring is full (counted as dropped). Producer only. */
struct cmpl_qlog_entry *cmpl_qlog_reserve(struct cmpl_qlog_ring *r);

/** Publish the slot cmpl_qlog_reserve() returned. Producer only. */
void cmpl_qlog_commit(struct cmpl_qlog_ring *r);

/** Call @fn on each published entry, oldest first, and free their slots. Consumer only.
 * @return the number of entries. */
size_t cmpl_qlog_drain(struct cmpl_qlog_ring *r,
		       void (*fn)(void *arg, const struct cmpl_qlog_entry *e), void *arg);
