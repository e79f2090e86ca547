/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of blocklists/minisign.c: keys and signatures made by the minisign CLI in a
 * temporary directory (prehashed "ED" and legacy "Ed"), then every way a signature must fail:
 * altered or truncated file, another key, altered trusted comment, malformed signature files,
 * malformed keys. The whole program is skipped (77) when minisign is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/minisign.h"
#include "core/error.h"

#ifndef BL_MINISIGN
#define BL_MINISIGN "/usr/bin/minisign"
#endif

#define TC "timestamp:1700000000 file:national.rpz serial:42"
#define TC_LEGACY "legacy signature, serial:41"

static char dir[64];
static char path_list[128], path_big[128], path_huge[128];
static char sig_ed[BL_MINISIGN_SIG_MAX], sig_legacy[BL_MINISIGN_SIG_MAX],
	sig_big[BL_MINISIGN_SIG_MAX];
static size_t sig_ed_len, sig_legacy_len, sig_big_len;
static struct bl_minisign_key key1, key2;
static char pub1_file[512];

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run @argv (absolute path first) with stdin from /dev/null, at most 30 s. @return exit status. */
static int run(const char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	uint64_t deadline = mono_ms() + 30000;
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		poll(NULL, 0, 10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	size_t n = read_file(from, buf, sizeof(buf));
	write_file(to, buf, n);
}

static char *tmp_path(const char *name)
{
	static char p[4][128];
	static unsigned i;
	char *r = p[i++ % 4];
	snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
	return r;
}

static void gen_key(const char *name)
{
	char pub[128], sec[128];
	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name);
	snprintf(sec, sizeof(sec), "%s/%s.key", dir, name);
	const char *argv[] = {BL_MINISIGN, "-G", "-W", "-p", pub, "-s", sec, NULL};
	assert_int_equal(run(argv), 0);
}

static void sign(const char *key, const char *file, const char *sig, const char *tc, bool legacy)
{
	char sec[128];
	snprintf(sec, sizeof(sec), "%s/%s.key", dir, key);
	const char *argv[16];
	int i = 0;
	argv[i++] = BL_MINISIGN;
	argv[i++] = "-S";
	if (legacy)
		argv[i++] = "-l";
	argv[i++] = "-s";
	argv[i++] = sec;
	argv[i++] = "-m";
	argv[i++] = file;
	argv[i++] = "-x";
	argv[i++] = sig;
	argv[i++] = "-t";
	argv[i++] = tc;
	argv[i] = NULL;
	assert_int_equal(run(argv), 0);
}

/* Parse the key in <dir>/@name.pub (the whole file). */
static void load_key(const char *name, struct bl_minisign_key *out, char *text, size_t cap)
{
	char pub[128], buf[512];
	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name);
	read_file(pub, buf, sizeof(buf));
	if (text)
		snprintf(text, cap, "%s", buf);
	const char *why = NULL;
	assert_int_equal(bl_minisign_key_parse(buf, out, &why), 0);
}

static int verify(const struct bl_minisign_key *k, const char *sig, size_t len, const char *path,
		  char *tc, size_t tc_size, const char **why)
{
	*why = NULL;
	return bl_minisign_verify_file(k, sig, len, path, tc, tc_size, why);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/lanhmanh-minisign-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	gen_key("k1");
	gen_key("k2");
	load_key("k1", &key1, pub1_file, sizeof(pub1_file));
	load_key("k2", &key2, NULL, 0);

	snprintf(path_list, sizeof(path_list), "%s/national.rpz", dir);
	const char *list = "$ORIGIN rpz.national.vn.\nbad.example CNAME .\n*.bad.example CNAME .\n";
	write_file(path_list, list, strlen(list));
	sign("k1", path_list, tmp_path("ed.minisig"), TC, false);
	sign("k1", path_list, tmp_path("legacy.minisig"), TC_LEGACY, true);
	sig_ed_len = read_file(tmp_path("ed.minisig"), sig_ed, sizeof(sig_ed));
	sig_legacy_len = read_file(tmp_path("legacy.minisig"), sig_legacy, sizeof(sig_legacy));

	/* Several read chunks, and above the legacy bound: sparse, so cheap to make. */
	snprintf(path_big, sizeof(path_big), "%s/big.rpz", dir);
	int fd = open(path_big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "start", 5, 0), 5);
	assert_int_equal(pwrite(fd, "end\n", 4, (off_t)BL_MINISIGN_LEGACY_MAX + 4096), 4);
	close(fd);
	sign("k1", path_big, tmp_path("big.minisig"), "big", false);
	sig_big_len = read_file(tmp_path("big.minisig"), sig_big, sizeof(sig_big));

	snprintf(path_huge, sizeof(path_huge), "%s/huge-legacy.rpz", dir);
	fd = open(path_huge, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)BL_MINISIGN_LEGACY_MAX + 1), 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The base64 line @n (0-based) of @sig decoded into @out (@len bytes). */
static void decode_line(const char *sig, unsigned n, uint8_t *out, size_t len)
{
	const char *p = sig;
	for (unsigned i = 0; i < n; i++)
		p = strchr(p, '\n') + 1;
	size_t l = strcspn(p, "\r\n");
	size_t got = 0;
	assert_int_equal(
		sodium_base642bin(out, len, p, l, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL),
		0);
	assert_int_equal(got, len);
}

/* @sig with line @n (0-based) replaced by @line; returns the length written to @out. */
static size_t replace_line(const char *sig, unsigned n, const char *line, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = sig;
	for (unsigned i = 0; *p; i++) {
		size_t l = strcspn(p, "\n");
		const char *text = i == n ? line : p;
		size_t tl = i == n ? strlen(line) : l;
		assert_true(o + tl + 1 < cap);
		memcpy(out + o, text, tl);
		o += tl;
		p += l;
		if (*p == '\n') {
			out[o++] = '\n';
			p++;
		}
	}
	out[o] = '\0';
	return o;
}

/* @sig with the signature line's algorithm, key id or signature bytes changed. */
static size_t patch_sig_blob(const char *sig, size_t at, uint8_t value, char *out, size_t cap)
{
	uint8_t blob[74];
	decode_line(sig, 1, blob, sizeof(blob));
	blob[at] = value;
	char b64[128];
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	return replace_line(sig, 1, b64, out, cap);
}

/* ------------------------------------------------------------------------------------------ */
/* Good signatures                                                                            */

static void test_good_prehashed(void **state)
{
	assert_memory_equal(sig_ed, "untrusted comment: ", 19);
	uint8_t blob[74];
	decode_line(sig_ed, 1, blob, sizeof(blob));
	assert_memory_equal(blob, "ED", 2); /* minisign 0.11 signs prehashed by default */

	char tc[256];
	const char *why;
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, path_list, tc, sizeof(tc), &why), 0);
	assert_string_equal(tc, TC);
	/* No comment wanted. */
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, path_list, NULL, 0, &why), 0);
	/* Cut to the buffer. */
	char small[10];
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, path_list, small, sizeof(small), &why),
			 0);
	assert_string_equal(small, "timestamp");
}

static void test_good_legacy(void **state)
{
	uint8_t blob[74];
	decode_line(sig_legacy, 1, blob, sizeof(blob));
	assert_memory_equal(blob, "Ed", 2);
	char tc[256];
	const char *why;
	assert_int_equal(verify(&key1, sig_legacy, sig_legacy_len, path_list, tc, sizeof(tc), &why),
			 0);
	assert_string_equal(tc, TC_LEGACY);
}

static void test_good_crlf(void **state)
{
	/* A signature file that went through a Windows editor still verifies. */
	char crlf[BL_MINISIGN_SIG_MAX];
	size_t o = 0;
	for (size_t i = 0; i < sig_ed_len; i++) {
		if (sig_ed[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = sig_ed[i];
	}
	char tc[256];
	const char *why;
	assert_int_equal(verify(&key1, crlf, o, path_list, tc, sizeof(tc), &why), 0);
	assert_string_equal(tc, TC);
	/* Without the final newline, and with trailing blank lines. */
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len - 1, path_list, NULL, 0, &why), 0);
	char more[BL_MINISIGN_SIG_MAX];
	int n = snprintf(more, sizeof(more), "%s\n\n", sig_ed);
	assert_int_equal(verify(&key1, more, (size_t)n, path_list, NULL, 0, &why), 0);
}

static void test_big_prehashed(void **state)
{
	/* Read in chunks; larger than a legacy signature may cover. */
	char tc[16];
	const char *why;
	assert_int_equal(verify(&key1, sig_big, sig_big_len, path_big, tc, sizeof(tc), &why), 0);
	assert_string_equal(tc, "big");
}

/* ------------------------------------------------------------------------------------------ */
/* Bad files and signatures                                                                   */

static void test_tampered_file(void **state)
{
	char *copy = tmp_path("tampered.rpz");
	copy_file(path_list, copy);
	int fd = open(copy, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "B", 1, 25), 1); /* "bad" -> "Bad": one byte */
	close(fd);
	const char *why;
	char tc[64] = "untouched";
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, copy, tc, sizeof(tc), &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "file signature does not verify"));
	assert_string_equal(tc, "untouched"); /* not written on failure */
	assert_int_equal(verify(&key1, sig_legacy, sig_legacy_len, copy, NULL, 0, &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "file signature does not verify"));
}

static void test_truncated_file(void **state)
{
	char *copy = tmp_path("truncated.rpz");
	copy_file(path_list, copy);
	assert_int_equal(truncate(copy, (off_t)strlen("$ORIGIN rpz.national.vn.\n")), 0);
	const char *why;
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, copy, NULL, 0, &why), CORE_EPROTO);
	assert_int_equal(verify(&key1, sig_legacy, sig_legacy_len, copy, NULL, 0, &why),
			 CORE_EPROTO);
	/* Empty. */
	assert_int_equal(truncate(copy, 0), 0);
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, copy, NULL, 0, &why), CORE_EPROTO);
	/* A signature of one file does not cover another. */
	assert_int_equal(verify(&key1, sig_big, sig_big_len, path_list, NULL, 0, &why),
			 CORE_EPROTO);
}

static void test_wrong_key(void **state)
{
	const char *why;
	assert_int_equal(verify(&key2, sig_ed, sig_ed_len, path_list, NULL, 0, &why), CORE_EPROTO);
	assert_non_null(strstr(why, "key ids differ"));
	assert_int_equal(verify(&key2, sig_legacy, sig_legacy_len, path_list, NULL, 0, &why),
			 CORE_EPROTO);
	/* Same key id, another key: the signatures themselves must fail. */
	struct bl_minisign_key forged = key2;
	memcpy(forged.id, key1.id, sizeof(forged.id));
	assert_int_equal(verify(&forged, sig_ed, sig_ed_len, path_list, NULL, 0, &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "global signature"));
	/* The signature line claims another key id. */
	char out[BL_MINISIGN_SIG_MAX];
	size_t n = patch_sig_blob(sig_ed, 2, key1.id[0] ^ 1, out, sizeof(out));
	assert_int_equal(verify(&key1, out, n, path_list, NULL, 0, &why), CORE_EPROTO);
	assert_non_null(strstr(why, "key ids differ"));
}

static void test_tampered_trusted_comment(void **state)
{
	char out[BL_MINISIGN_SIG_MAX];
	const char *why;
	size_t n = replace_line(sig_ed, 2,
				"trusted comment: timestamp:1700000000 file:national.rpz serial:43",
				out, sizeof(out));
	assert_int_equal(verify(&key1, out, n, path_list, NULL, 0, &why), CORE_EPROTO);
	assert_non_null(strstr(why, "global signature"));
	/* One trailing space more is a change too. */
	n = replace_line(sig_ed, 2, "trusted comment: " TC " ", out, sizeof(out));
	assert_int_equal(verify(&key1, out, n, path_list, NULL, 0, &why), CORE_EPROTO);
	/* The trusted comment of another signature by the same key. */
	n = replace_line(sig_ed, 2, "trusted comment: " TC_LEGACY, out, sizeof(out));
	assert_int_equal(verify(&key1, out, n, path_list, NULL, 0, &why), CORE_EPROTO);
	/* Changed signature bytes (the global signature covers them; so does the file check). */
	n = patch_sig_blob(sig_ed, 20, 0x55, out, sizeof(out));
	assert_int_equal(verify(&key1, out, n, path_list, NULL, 0, &why), CORE_EPROTO);
	/* The untrusted comment is not signed: changing it is fine. */
	n = replace_line(sig_ed, 0, "untrusted comment: anything", out, sizeof(out));
	assert_int_equal(verify(&key1, out, n, path_list, NULL, 0, &why), 0);
}

static void test_malformed_signature(void **state)
{
	char out[BL_MINISIGN_SIG_MAX];
	const char *why;
	size_t n;
#define BAD(text, len, needle)                                                                     \
	do {                                                                                       \
		assert_int_equal(verify(&key1, text, len, path_list, NULL, 0, &why), CORE_EPARSE); \
		assert_non_null(why);                                                              \
		if (!strstr(why, needle))                                                          \
			fail_msg("why '%s' lacks '%s'", why, needle);                              \
	} while (0)

	BAD("", (size_t)0, "untrusted comment");
	BAD(sig_ed, (size_t)10, "untrusted comment");
	n = replace_line(sig_ed, 0, "comment: x", out, sizeof(out));
	BAD(out, n, "untrusted comment");
	/* Only the first two lines, the first three. */
	size_t two = (size_t)(strchr(strchr(sig_ed, '\n') + 1, '\n') + 1 - sig_ed);
	BAD(sig_ed, two, "third line");
	size_t three = (size_t)(strchr(sig_ed + two, '\n') + 1 - sig_ed);
	BAD(sig_ed, three, "fourth line");
	/* Base64 that is not, or too short, or too long. */
	n = replace_line(sig_ed, 1, "RWQ!not-base64", out, sizeof(out));
	BAD(out, n, "second line");
	n = replace_line(sig_ed, 1, "RURBQkNERUY=", out, sizeof(out));
	BAD(out, n, "second line");
	char longer[256];
	uint8_t blob[75] = {'E', 'D'};
	sodium_bin2base64(longer, sizeof(longer), blob, sizeof(blob),
			  sodium_base64_VARIANT_ORIGINAL);
	n = replace_line(sig_ed, 1, longer, out, sizeof(out));
	BAD(out, n, "second line");
	/* URL-safe alphabet is not minisign's. */
	uint8_t ones[64];
	memset(ones, 0xff, sizeof(ones));
	sodium_bin2base64(longer, sizeof(longer), ones, sizeof(ones),
			  sodium_base64_VARIANT_URLSAFE);
	n = replace_line(sig_ed, 3, longer, out, sizeof(out));
	BAD(out, n, "fourth line");
	/* Unknown algorithm. */
	n = patch_sig_blob(sig_ed, 1, 'x', out, sizeof(out));
	BAD(out, n, "algorithm");
	/* Trusted comment prefix missing or misspelt. */
	n = replace_line(sig_ed, 2, "Trusted comment: " TC, out, sizeof(out));
	BAD(out, n, "third line");
	/* Global signature garbled. */
	n = replace_line(sig_ed, 3, "AAAA", out, sizeof(out));
	BAD(out, n, "fourth line");
	/* Something after the four lines. */
	n = (size_t)snprintf(out, sizeof(out), "%sextra\n", sig_ed);
	BAD(out, n, "after the global signature");
	/* A NUL byte inside. */
	memcpy(out, sig_ed, sig_ed_len);
	out[25] = '\0';
	BAD(out, sig_ed_len, "NUL");
	/* Oversized. */
	static char huge[BL_MINISIGN_SIG_MAX + 2];
	memset(huge, 'A', sizeof(huge));
	BAD(huge, sizeof(huge), "too large");
#undef BAD
}

static void test_file_errors(void **state)
{
	const char *why;
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, tmp_path("missing.rpz"), NULL, 0, &why),
			 -ENOENT);
	assert_non_null(why);
	assert_int_equal(verify(&key1, sig_ed, sig_ed_len, dir, NULL, 0, &why), -EISDIR);
	/* Legacy signatures need the file in memory: refused above the bound, before reading. The
	 * global signature is checked first, so use a real one. */
	assert_int_equal(verify(&key1, sig_legacy, sig_legacy_len, path_huge, NULL, 0, &why),
			 CORE_ELIMIT);
	assert_non_null(strstr(why, "legacy"));
	assert_int_equal(
		bl_minisign_verify_file(NULL, sig_ed, sig_ed_len, path_list, NULL, 0, NULL),
		-EINVAL);
	/* A malformed signature is reported before the file is looked at. */
	assert_int_equal(verify(&key1, "x", 1, tmp_path("missing.rpz"), NULL, 0, &why),
			 CORE_EPARSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Keys                                                                                       */

static void test_key_parse(void **state)
{
	struct bl_minisign_key k;
	const char *why;
	/* The bare key, the second line of the .pub file. */
	const char *line2 = strchr(pub1_file, '\n') + 1;
	char bare[128];
	snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(line2, "\r\n"), line2);
	assert_memory_equal(bare, "RW", 2);
	memset(&k, 0, sizeof(k));
	assert_int_equal(bl_minisign_key_parse(bare, &k, &why), 0);
	assert_memory_equal(&k, &key1, sizeof(k));
	/* Blanks around it, CRLF. */
	char padded[160];
	snprintf(padded, sizeof(padded), "  %s \r\n\n", bare);
	assert_int_equal(bl_minisign_key_parse(padded, &k, &why), 0);
	assert_memory_equal(&k, &key1, sizeof(k));
	/* The key id is what minisign prints on the comment line, little-endian. */
	char id_line[64];
	uint64_t id = 0;
	for (int i = 7; i >= 0; i--)
		id = id << 8 | key1.id[i];
	snprintf(id_line, sizeof(id_line), "public key %" PRIX64 "\n", id); /* not zero-padded */
	if (!strstr(pub1_file, id_line))
		fail_msg("'%s' not in '%s'", id_line, pub1_file);

	struct bl_minisign_key untouched;
	memset(&untouched, 0xa5, sizeof(untouched));
#define BADKEY(text, needle)                                                          \
	do {                                                                          \
		k = untouched;                                                        \
		why = NULL;                                                           \
		assert_int_equal(bl_minisign_key_parse(text, &k, &why), CORE_EPARSE); \
		assert_non_null(why);                                                 \
		if (!strstr(why, needle))                                             \
			fail_msg("why '%s' lacks '%s'", why, needle);                 \
		assert_memory_equal(&k, &untouched, sizeof(k));                       \
	} while (0)

	BADKEY("", "empty");
	BADKEY(" \n", "empty");
	BADKEY("untrusted comment: minisign public key\n", "empty");
	BADKEY("RWQ", "56 base64");
	char shorter[128];
	snprintf(shorter, sizeof(shorter), "%.*s", (int)strlen(bare) - 4, bare);
	BADKEY(shorter, "56 base64");
	char junk[160];
	snprintf(junk, sizeof(junk), "%s trailing", bare);
	BADKEY(junk, "after the public key");
	snprintf(junk, sizeof(junk), "%s\nRWQ", bare);
	BADKEY(junk, "after the public key");
	memcpy(junk, bare, strlen(bare) + 1);
	junk[10] = '*';
	BADKEY(junk, "56 base64");
	/* Right length, wrong algorithm ("Ec"). */
	uint8_t blob[42] = {'E', 'c'};
	char b64[80];
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	BADKEY(b64, "algorithm");
	/* A signature line is not a key. */
	const char *sigline = strchr(sig_ed, '\n') + 1;
	snprintf(junk, sizeof(junk), "%.*s", (int)strcspn(sigline, "\n"), sigline);
	BADKEY(junk, "56 base64");
	assert_int_equal(bl_minisign_key_parse(NULL, &k, NULL), CORE_EPARSE);
#undef BADKEY
}

int main(void)
{
	if (access(BL_MINISIGN, X_OK) != 0) {
		printf("# skipped: minisign not found at %s (Debian package 'minisign')\n",
		       BL_MINISIGN);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_prehashed),
		cmocka_unit_test(test_good_legacy),
		cmocka_unit_test(test_good_crlf),
		cmocka_unit_test(test_big_prehashed),
		cmocka_unit_test(test_tampered_file),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_tampered_trusted_comment),
		cmocka_unit_test(test_malformed_signature),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_key_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
