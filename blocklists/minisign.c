/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Minisign signature verification with libsodium (Ed25519, BLAKE2b-512 for prehashed files).
 * The format follows minisign 0.11's reader: a line ends at its first CR or LF, comments must
 * carry their exact prefixes, and base64 uses the standard alphabet with padding.
 */
#include "blocklists/minisign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define ALG_LEN 2
#define KEYID_LEN 8
#define PK_LEN 32
#define SIG_LEN 64
#define PK_BLOB_LEN (ALG_LEN + KEYID_LEN + PK_LEN)   /* 42 bytes, 56 base64 characters */
#define SIG_BLOB_LEN (ALG_LEN + KEYID_LEN + SIG_LEN) /* 74 bytes, 100 base64 characters */
#define READ_CHUNK (256u << 10)

/* One parsed signature file; the trusted comment points into the caller's text. */
struct sig {
	bool prehashed; /* "ED": the signature covers BLAKE2b-512 of the file */
	uint8_t key_id[KEYID_LEN];
	uint8_t sig[SIG_LEN];
	const char *tc; /* trusted comment, without prefix, not NUL-terminated */
	size_t tc_len;
	uint8_t global[SIG_LEN];
};

static void set_why(const char **why, const char *text)
{
	if (why)
		*why = text;
}

/* libsodium's own initialisation is thread-safe and idempotent; it fails only when the
 * platform lacks what it needs, which verification alone does not use, but we honour it. */
static int sodium_ready(const char **why)
{
	if (sodium_init() < 0) {
		set_why(why, "libsodium failed to initialise");
		return -EIO;
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Decode the base64 @text (@len characters, standard alphabet, padded) into exactly @want
 * bytes. @return true when all of @text is base64 and decodes to @want bytes. */
static bool b64_exact(const char *text, size_t len, uint8_t *out, size_t want)
{
	while (len > 0 && is_blank(text[len - 1]))
		len--;
	/* Base64 of @want bytes has a known length; checking it first also keeps libsodium from
	 * writing past @out on longer input (it refuses, but tell "too long" apart cleanly). */
	if (len != 4 * ((want + 2) / 3))
		return false;
	size_t got = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, want, text, len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return got == want && end == text + len;
}

/* Next line of @text (up to @end): minisign ends a line at its first CR or LF. Sets
 * *@line/@len and returns where the following line starts, or NULL when none is left. */
static const char *next_line(const char *p, const char *end, const char **line, size_t *len)
{
	if (p >= end)
		return NULL;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *stop = nl ? nl : end;
	const char *cr = memchr(p, '\r', (size_t)(stop - p));
	*line = p;
	*len = (size_t)((cr ? cr : stop) - p);
	return nl ? nl + 1 : end;
}

static bool has_prefix(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(line, prefix, n) == 0;
}

static int parse_sig(const char *text, size_t len, struct sig *out, const char **why)
{
	if (len > BL_MINISIGN_SIG_MAX) {
		set_why(why, "signature file too large (a minisign signature is 4 short lines)");
		return CORE_EPARSE;
	}
	if (memchr(text, '\0', len)) {
		set_why(why, "signature file contains a NUL byte");
		return CORE_EPARSE;
	}
	const char *end = text + len, *p = text, *line = NULL;
	size_t n = 0;

	p = next_line(p, end, &line, &n);
	if (!p || !has_prefix(line, n, UNTRUSTED_PREFIX)) {
		set_why(why, "signature file does not start with 'untrusted comment: '");
		return CORE_EPARSE;
	}

	uint8_t blob[SIG_BLOB_LEN];
	p = next_line(p, end, &line, &n);
	if (!p || !b64_exact(line, n, blob, sizeof(blob))) {
		set_why(why,
			"second line of the signature file is not a base64 minisign signature");
		return CORE_EPARSE;
	}
	if (blob[0] == 'E' && blob[1] == 'D') {
		out->prehashed = true;
	} else if (blob[0] == 'E' && blob[1] == 'd') {
		out->prehashed = false;
	} else {
		set_why(why, "unsupported signature algorithm (minisign has 'Ed' and 'ED')");
		return CORE_EPARSE;
	}
	memcpy(out->key_id, blob + ALG_LEN, KEYID_LEN);
	memcpy(out->sig, blob + ALG_LEN + KEYID_LEN, SIG_LEN);

	p = next_line(p, end, &line, &n);
	if (!p || !has_prefix(line, n, TRUSTED_PREFIX)) {
		set_why(why,
			"third line of the signature file does not start with 'trusted comment: '");
		return CORE_EPARSE;
	}
	out->tc = line + strlen(TRUSTED_PREFIX);
	out->tc_len = n - strlen(TRUSTED_PREFIX);

	p = next_line(p, end, &line, &n);
	if (!p || !b64_exact(line, n, out->global, sizeof(out->global))) {
		set_why(why, "fourth line of the signature file is not a base64 global signature");
		return CORE_EPARSE;
	}

	/* Only blank lines may follow: anything else means this is not what minisign wrote. */
	for (; p < end; p++) {
		if (!is_blank(*p) && *p != '\r' && *p != '\n') {
			set_why(why, "unexpected text after the global signature");
			return CORE_EPARSE;
		}
	}
	return 0;
}

int bl_minisign_key_parse(const char *text, struct bl_minisign_key *out, const char **why)
{
	if (!text || !out) {
		set_why(why, "no key");
		return CORE_EPARSE;
	}
	const char *p = text;
	while (*p && (is_blank(*p) || *p == '\r' || *p == '\n'))
		p++;
	/* A whole .pub file: skip its comment line. */
	if (has_prefix(p, strlen(p), UNTRUSTED_PREFIX)) {
		p += strcspn(p, "\n");
		while (*p && (is_blank(*p) || *p == '\r' || *p == '\n'))
			p++;
	}
	size_t len = strcspn(p, " \t\r\n");
	const char *rest = p + len;
	while (*rest && (is_blank(*rest) || *rest == '\r' || *rest == '\n'))
		rest++;
	if (len == 0) {
		set_why(why, "empty public key");
		return CORE_EPARSE;
	}
	if (*rest) {
		set_why(why, "unexpected text after the public key");
		return CORE_EPARSE;
	}
	uint8_t blob[PK_BLOB_LEN];
	if (!b64_exact(p, len, blob, sizeof(blob))) {
		set_why(why, "not a minisign public key (expected 56 base64 characters, 'RW...')");
		return CORE_EPARSE;
	}
	if (blob[0] != 'E' || blob[1] != 'd') {
		set_why(why, "unsupported public key algorithm (minisign keys are 'Ed')");
		return CORE_EPARSE;
	}
	memcpy(out->id, blob + ALG_LEN, KEYID_LEN);
	memcpy(out->pk, blob + ALG_LEN + KEYID_LEN, PK_LEN);
	return 0;
}

/* read(2) that retries on EINTR. */
static ssize_t read_some(int fd, void *buf, size_t len)
{
	ssize_t n;
	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* BLAKE2b-512 of the file at @fd, read in chunks. */
static int hash_file(int fd, uint8_t hash[crypto_generichash_BYTES_MAX], const char **why)
{
	uint8_t *buf = core_malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	crypto_generichash_state st;
	int rc = 0;
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MAX);
	for (;;) {
		ssize_t n = read_some(fd, buf, READ_CHUNK);
		if (n < 0) {
			rc = -errno;
			set_why(why, "cannot read the signed file");
			goto out_free_buf;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (unsigned long long)n);
	}
	crypto_generichash_final(&st, hash, crypto_generichash_BYTES_MAX);
out_free_buf:
	sodium_memzero(&st, sizeof(st));
	core_free(buf);
	return rc;
}

/* The whole file at @fd, at most BL_MINISIGN_LEGACY_MAX bytes, in *@out (free with core_free). */
static int slurp_file(int fd, uint8_t **out, size_t *out_len, const char **why)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		set_why(why, "cannot read the signed file");
		return -errno;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > BL_MINISIGN_LEGACY_MAX) {
		set_why(why, "file too large for a legacy ('Ed', minisign -l) signature: sign it "
			     "prehashed (minisign >= 0.11 default)");
		return CORE_ELIMIT;
	}
	/* One byte more than the size, to notice a file that grows while we read it. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	uint8_t *buf = core_malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read_some(fd, buf + len, cap - len);
		if (n < 0) {
			int err = -errno;
			core_free(buf);
			set_why(why, "cannot read the signed file");
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			core_free(buf);
			set_why(why, "the signed file changed while it was read");
			return -EBUSY;
		}
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int bl_minisign_verify_file(const struct bl_minisign_key *key, const char *sig_text, size_t sig_len,
			    const char *path, char *trusted_comment, size_t tc_size,
			    const char **why)
{
	if (!key || !sig_text || !path) {
		set_why(why, "missing key, signature or file");
		return -EINVAL;
	}
	int rc = sodium_ready(why);
	if (rc < 0)
		return rc;

	struct sig s;
	rc = parse_sig(sig_text, sig_len, &s, why);
	if (rc < 0)
		return rc;
	if (memcmp(s.key_id, key->id, KEYID_LEN) != 0) {
		set_why(why, "signed with another key (the key ids differ)");
		return CORE_EPROTO;
	}

	/* The global signature first: it is cheap and needs no file. */
	uint8_t global_msg[SIG_LEN + BL_MINISIGN_SIG_MAX];
	memcpy(global_msg, s.sig, SIG_LEN);
	memcpy(global_msg + SIG_LEN, s.tc, s.tc_len);
	if (crypto_sign_verify_detached(s.global, global_msg, SIG_LEN + s.tc_len, key->pk) != 0) {
		set_why(why, "the global signature does not verify (trusted comment or signature "
			     "altered, or another key)");
		return CORE_EPROTO;
	}

	int fd;
	do {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		set_why(why, "cannot open the signed file");
		return -errno;
	}
	bool good;
	if (s.prehashed) {
		uint8_t hash[crypto_generichash_BYTES_MAX];
		rc = hash_file(fd, hash, why);
		if (rc < 0)
			goto out_close;
		good = crypto_sign_verify_detached(s.sig, hash, sizeof(hash), key->pk) == 0;
	} else {
		uint8_t *data = NULL;
		size_t len = 0;
		rc = slurp_file(fd, &data, &len, why);
		if (rc < 0)
			goto out_close;
		good = crypto_sign_verify_detached(s.sig, data, len, key->pk) == 0;
		core_free(data);
	}
	if (!good) {
		set_why(why, "the file signature does not verify (file altered or truncated)");
		rc = CORE_EPROTO;
		goto out_close;
	}
	if (trusted_comment && tc_size > 0) {
		size_t n = s.tc_len < tc_size - 1 ? s.tc_len : tc_size - 1;
		memcpy(trusted_comment, s.tc, n);
		trusted_comment[n] = '\0';
	}
out_close:
	close(fd);
	return rc;
}
