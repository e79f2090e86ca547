/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Minisign signature verification (https://jedisct1.github.io/minisign/): how a list published
 * over HTTPS proves it comes from its publisher, whoever serves it. Ed25519 through libsodium.
 *
 * Glossary: *public key*: "RW..." = base64 of "Ed" + 8-byte key id + 32-byte Ed25519 key;
 * *signature file* (.minisig): four lines, "untrusted comment: ...", base64 of algorithm + key id
 * + 64-byte signature, "trusted comment: ...", base64 of the 64-byte *global signature* over
 * (signature || trusted comment). Algorithm "ED" (minisign >= 0.11 default, *prehashed*) signs
 * the BLAKE2b-512 of the file; "Ed" (*legacy*, `minisign -l`) signs the file itself.
 *
 * A file is accepted only when the key ids match, the file signature verifies and the global
 * signature verifies (so the trusted comment, which publishers use for a version or a date, is
 * authenticated too). The untrusted comment is ignored.
 *
 * Threads: reentrant; no state but libsodium's one-time initialisation (thread-safe). Nothing
 * here logs: failures return a code and a static one-line reason in @why.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** A parsed minisign public key. */
struct bl_minisign_key {
	uint8_t id[8];	/**< key id, as stored (minisign prints it as a little-endian hex number) */
	uint8_t pk[32]; /**< Ed25519 public key */
};

/** Legacy ("Ed") signatures need the whole file in memory: refused above this (CORE_ELIMIT). */
#define BL_MINISIGN_LEGACY_MAX (64u << 20)
/** A signature file larger than this is malformed (CORE_EPARSE). */
#define BL_MINISIGN_SIG_MAX 8192u

/**
 * Parse a public key: the bare "RW..." string, or a whole minisign .pub file (an "untrusted
 * comment:" line, then the key). Surrounding blanks and a final newline are ignored.
 *
 * @param text NUL-terminated.
 * @param out written only on success.
 * @param why on CORE_EPARSE, a static reason (may be NULL).
 * @return 0, or CORE_EPARSE (not base64, wrong length, algorithm not "Ed").
 */
int bl_minisign_key_parse(const char *text, struct bl_minisign_key *out, const char **why)
	__attribute__((warn_unused_result));

/**
 * Verify the signature @sig_text over the file at @path with @key.
 *
 * The file is read in chunks for prehashed ("ED") signatures, whatever its size; a legacy ("Ed")
 * signature needs the whole file in memory and is refused above BL_MINISIGN_LEGACY_MAX.
 * Blocking (reads the file): call it off the loop for large files, or accept the pause.
 *
 * @param sig_text the .minisig contents, @sig_len bytes (need not be NUL-terminated).
 * @param trusted_comment on success, the trusted comment without its "trusted comment: "
 *	prefix, NUL-terminated and cut to @tc_size bytes; may be NULL. Not written on failure.
 * @param why on failure other than -ENOMEM, a static one-line reason (may be NULL).
 * @return 0; CORE_EPARSE for a malformed signature file; CORE_EPROTO when the key ids differ
 *	or a signature does not verify (the file or the trusted comment was changed, or another
 *	key signed it); CORE_ELIMIT for a legacy signature over a file above the bound; -ENOMEM;
 *	-EINVAL for a NULL @key, @sig_text or @path; -errno from opening or reading @path
 *	(-EBUSY when a legacy-signed file grew while it was read; -EIO if libsodium cannot start).
 */
int bl_minisign_verify_file(const struct bl_minisign_key *key, const char *sig_text, size_t sig_len,
			    const char *path, char *trusted_comment, size_t tc_size,
			    const char **why) __attribute__((warn_unused_result));
