/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Batches for the authority: one interval's records as JSON (docs/statistics.md), with counts
 * below k folded into "other" so that no record singles out a child, signed with the
 * reporter's Ed25519 key (libsodium).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "compliance/records.h"
#include "compliance/store.h"
#include "core/buf.h"

/** The reporter's signing key. */
struct cmpl_key {
	unsigned char sk[64]; /**< libsodium secret key (seed + public key) */
	unsigned char pk[32];
};

/**
 * Read the key file @path: one line, "lanhmanh-ed25519 " + base64 of the 32-byte seed. The
 * file must give "other" no access (mode & 007 == 0; the group may read it).
 * @param err  a one-line message naming the file on failure
 * @return 0; CORE_EPARSE (not a key file); -EPERM (open to others); -errno.
 */
int cmpl_key_load(const char *path, struct cmpl_key *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/**
 * Make a new key and write it to @path (created 0600, refused when it exists), and the public
 * key as base64 in @pub_b64 (at least 45 bytes). @return 0, -EEXIST, -errno.
 */
int cmpl_key_generate(const char *path, char *pub_b64, size_t pub_size)
	__attribute__((warn_unused_result));

/** Base64 of @key's public key into @out (at least 45 bytes). */
void cmpl_key_public_b64(const struct cmpl_key *key, char *out, size_t size);

/**
 * Write the JSON batch of @iv, sequence number @seq and idempotency key @idem into @out.
 * Totals and blocks whose count is below @ex->k_threshold lose their network and group
 * ("other") and are merged; the top national names keep at most @ex->top_domains per network,
 * each seen at least k times (the others are summed under domain "other").
 * @return 0 or -ENOMEM.
 */
int cmpl_batch_build(const struct cmpl_interval *iv, const struct cmpl_export_params *ex,
		     int64_t seq, const char *idem, struct core_buf *out)
	__attribute__((warn_unused_result));

/** "ed25519=" + base64 of the detached signature of @body into @out (at least 100 bytes). */
void cmpl_batch_sign(const struct cmpl_key *key, const void *body, size_t len, char *out,
		     size_t size);

/** A new idempotency key: "@reporter_id:" + 32 random hex digits, into @out (128 bytes). */
void cmpl_batch_new_key(const char *reporter_id, char *out, size_t size);
