/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of compliance/batch.c: the exact JSON of a small batch, k-folding (nothing
 * singled out, nothing lost), string escaping, signatures, and the key file. When
 * /usr/bin/python3 is there, bodies are also checked with Python's strict UTF-8 and JSON
 * parsers.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "compliance/batch.h"
#include "compliance/records.h"
#include "core/alloc.h"
#include "core/error.h"

#define T0 1795662000 /* 2026-11-26T03:00:00Z */

static const struct cmpl_export_params params = {
	.reporter_id = "79-TH-0001",
	.k_threshold = 5,
	.top_domains = 1,
	.spool_limit_bytes = 1 << 20,
	.software = "lanhmanh 0.4.0",
};

static char *build(const struct cmpl_interval *iv, const struct cmpl_export_params *ex)
{
	struct core_buf b;
	core_buf_init(&b, 16u << 20);
	assert_int_equal(
		cmpl_batch_build(iv, ex, 42, "79-TH-0001:00112233445566778899aabbccddeeff", &b), 0);
	char *s = strdup(core_buf_str(&b));
	core_buf_deinit(&b);
	assert_non_null(s);
	return s;
}

/* @body parses as strict UTF-8 and JSON (skipped without python3). */
static void check_json(const char *body)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		return;
	FILE *p = popen("/usr/bin/python3 -c 'import json,sys; "
			"json.loads(sys.stdin.buffer.read().decode(\"utf-8\", \"strict\"))'",
			"w");
	assert_non_null(p);
	fwrite(body, 1, strlen(body), p);
	int status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("not valid JSON: %s", body);
}

static void small_interval(struct cmpl_interval *iv)
{
	assert_int_equal(cmpl_interval_init(iv, T0, T0 + 300, "2026-11-26"), 0);
	assert_int_equal(cmpl_interval_set_national(iv, "2026112601", T0 - 300), 0);
	assert_int_equal(cmpl_interval_add_total(iv, "79-TH-0001", "Trường TH Lê Lợi", "79",
						 "tieu_hoc", 120, 7),
			 0);
	assert_int_equal(cmpl_interval_add_total(iv, "79-TH-0002", "Trường THCS \"Nguyễn Du\"",
						 "79", "thcs", 3, 1),
			 0);
	assert_int_equal(cmpl_interval_add_total(iv, "79-TH-0003", "x", "", "khach", 2, 0), 0);
	assert_int_equal(cmpl_interval_add_total(iv, "79-TH-0001", "Trường TH Lê Lợi", "79",
						 "giao_vien", 5, 0),
			 0);
	assert_int_equal(
		cmpl_interval_add_block(iv, "79-TH-0001", "tieu_hoc", "adult", "adult", "v1", 5),
		0);
	assert_int_equal(cmpl_interval_add_block(iv, "79-TH-0001", "tieu_hoc", "national",
						 "national", "2026112601", 2),
			 0);
	assert_int_equal(cmpl_interval_add_block(iv, "79-TH-0002", "thcs", "national", "national",
						 "2026112601", 1),
			 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0001", "worse.example", 6), 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0001", "bad.example", 6), 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0001", "x.example", 1), 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0001", "y.example", 2), 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0002", "bad.example", 1), 0);
	assert_int_equal(cmpl_interval_add_top(iv, "79-TH-0003", "z.example", 4), 0);
}

static void test_exact_json(void **state)
{
	struct cmpl_interval iv;
	small_interval(&iv);
	char *body = build(&iv, &params);
	const char *want =
		"{\"schema\":\"lanhmanh-report/1\",\"reporter_id\":\"79-TH-0001\",\"seq\":42,"
		"\"idempotency_key\":\"79-TH-0001:00112233445566778899aabbccddeeff\","
		"\"software\":\"lanhmanh 0.4.0\","
		"\"interval\":{\"start\":\"2026-11-26T03:00:00Z\",\"end\":\"2026-11-26T03:05:00Z\","
		"\"seconds\":300,\"day\":\"2026-11-26\"},"
		"\"national_list\":{\"version\":\"2026112601\","
		"\"applied_at\":\"2026-11-26T02:55:00Z\"},"
		"\"k_threshold\":5,\"queries\":130,\"blocked\":8,"
		"\"totals\":["
		"{\"network_id\":\"79-TH-0001\",\"group\":\"giao_vien\",\"queries\":5,\"blocked\":0},"
		"{\"network_id\":\"79-TH-0001\",\"group\":\"tieu_hoc\",\"queries\":120,\"blocked\":7},"
		"{\"network_id\":\"other\",\"group\":\"other\",\"queries\":5,\"blocked\":1}],"
		"\"blocks\":["
		"{\"network_id\":\"79-TH-0001\",\"group\":\"tieu_hoc\",\"category\":\"adult\","
		"\"list\":\"adult\",\"list_version\":\"v1\",\"count\":5},"
		"{\"network_id\":\"other\",\"group\":\"other\",\"category\":\"national\","
		"\"list\":\"national\",\"list_version\":\"2026112601\",\"count\":3}],"
		"\"top_national\":["
		"{\"network_id\":\"79-TH-0001\",\"domain\":\"bad.example\",\"count\":6},"
		"{\"network_id\":\"79-TH-0001\",\"domain\":\"other\",\"count\":9},"
		"{\"network_id\":\"other\",\"domain\":\"other\",\"count\":5}]}";
	assert_string_equal(body, want);
	/* names and provinces stay home */
	assert_null(strstr(body, "Trường"));
	assert_null(strstr(body, "Nguyễn"));
	check_json(body);
	free(body);

	/* no national list, or one of unknown application time */
	assert_int_equal(cmpl_interval_set_national(&iv, NULL, 0), 0);
	body = build(&iv, &params);
	assert_non_null(strstr(body, ",\"national_list\":null,\"k_threshold\":5,"));
	free(body);
	assert_int_equal(cmpl_interval_set_national(&iv, "7", 0), 0);
	body = build(&iv, &params);
	assert_non_null(strstr(body, "\"national_list\":{\"version\":\"7\",\"applied_at\":null},"));
	free(body);
	cmpl_interval_fini(&iv);

	/* an empty interval still makes a batch: the reporter is alive */
	assert_int_equal(cmpl_interval_init(&iv, T0, T0 + 300, "2026-11-26"), 0);
	body = build(&iv, &params);
	assert_non_null(strstr(body, "\"national_list\":null,\"k_threshold\":5,\"queries\":0,"
				     "\"blocked\":0,\"totals\":[],\"blocks\":[],"
				     "\"top_national\":[]}"));
	check_json(body);
	free(body);
	cmpl_interval_fini(&iv);
}

/* Sum of the numbers after "@key": in [@from, @to). */
static uint64_t sum_key(const char *from, const char *to, const char *key)
{
	char pat[64];
	uint64_t sum = 0;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	for (const char *p = from; (p = strstr(p, pat)) && p < to; p += strlen(pat))
		sum += strtoull(p + strlen(pat), NULL, 10);
	return sum;
}

/* The text of string member @key of the object at @obj (up to its '}'), into @out. */
static void member(const char *obj, const char *key, char *out, size_t size)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(obj, pat), *end = strchr(obj, '}');
	assert_non_null(p);
	assert_true(p < end);
	p += strlen(pat);
	size_t n = strcspn(p, "\"");
	assert_true(n < size);
	memcpy(out, p, n);
	out[n] = '\0';
}

static uint64_t num(const char *obj, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(obj, pat);
	assert_non_null(p);
	assert_true(p < strchr(obj, '}'));
	return strtoull(p + strlen(pat), NULL, 10);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

/* Many random intervals: after folding, no record but "other" is below k, all sums hold. */
static void test_folding(void **state)
{
	for (int round = 0; round < 50; round++) {
		struct cmpl_export_params ex = params;
		ex.k_threshold = 1 + rnd(10);
		ex.top_domains = rnd(4);
		uint64_t k = ex.k_threshold;
		struct cmpl_interval iv;
		uint64_t q = 0, bl = 0, blocks = 0, tops = 0;
		char net[32], dom[32];
		assert_int_equal(cmpl_interval_init(&iv, T0, T0 + 300, "2026-11-26"), 0);
		int nets = 1 + (int)rnd(40);
		for (int i = 0; i < 200; i++) {
			snprintf(net, sizeof(net), "n%02u", rnd((uint32_t)nets));
			const char *grp = rnd(2) ? "a" : "b";
			uint64_t a = rnd(12), b = rnd(4), c = rnd(9);
			assert_int_equal(cmpl_interval_add_total(&iv, net, "", "", grp, a, b), 0);
			q += a;
			bl += b;
			assert_int_equal(cmpl_interval_add_block(&iv, net, grp,
								 rnd(2) ? "adult" : "games", "l",
								 rnd(2) ? "v1" : "v2", c),
					 0);
			blocks += c;
			snprintf(dom, sizeof(dom), "d%u.example", rnd(6));
			assert_int_equal(cmpl_interval_add_top(&iv, net, dom, c), 0);
			tops += c;
		}
		char *body = build(&iv, &ex);
		const char *t = strstr(body, "\"totals\":["), *b = strstr(body, "\"blocks\":["),
			   *n = strstr(body, "\"top_national\":["), *end = body + strlen(body);
		assert_non_null(t);
		assert_non_null(b);
		assert_non_null(n);
		/* the header's sums, the records' sums and the interval's agree */
		char head[128];
		snprintf(head, sizeof(head),
			 ",\"queries\":%" PRIu64 ",\"blocked\":%" PRIu64 ",\"totals\":[", q, bl);
		assert_non_null(strstr(body, head));
		assert_int_equal(sum_key(t, b, "queries"), q);
		assert_int_equal(sum_key(t, b, "blocked"), bl);
		assert_int_equal(sum_key(b, n, "count"), blocks);
		assert_int_equal(sum_key(n, end, "count"), tops);
		/* nothing below k but "other"; names per network bounded; records unique */
		char id[64], grp[64], prev[200] = "", cur[200], last_net[64] = "";
		uint32_t named = 0;
		for (const char *o = strchr(t, '{'); o && o < b; o = strchr(o + 1, '{')) {
			member(o, "network_id", id, sizeof(id));
			member(o, "group", grp, sizeof(grp));
			if (strcmp(id, "other") != 0)
				assert_true(num(o, "queries") >= k);
			else
				assert_string_equal(grp, "other");
			snprintf(cur, sizeof(cur), "%s\x1f%s", id, grp);
			assert_true(strcmp(prev, cur) < 0); /* sorted, merged */
			memcpy(prev, cur, sizeof(prev));
		}
		prev[0] = '\0';
		for (const char *o = strchr(b, '{'); o && o < n; o = strchr(o + 1, '{')) {
			char cat[32], ver[32];
			member(o, "network_id", id, sizeof(id));
			member(o, "group", grp, sizeof(grp));
			member(o, "category", cat, sizeof(cat));
			member(o, "list_version", ver, sizeof(ver));
			if (strcmp(id, "other") != 0)
				assert_true(num(o, "count") >= k);
			snprintf(cur, sizeof(cur), "%s\x1f%s\x1f%s\x1fl\x1f%s", id, grp, cat, ver);
			assert_true(strcmp(prev, cur) < 0);
			memcpy(prev, cur, sizeof(prev));
		}
		for (const char *o = strchr(n, '{'); o; o = strchr(o + 1, '{')) {
			member(o, "network_id", id, sizeof(id));
			member(o, "domain", dom, sizeof(dom));
			if (strcmp(id, last_net) != 0) {
				assert_true(strcmp(last_net, id) < 0);
				memcpy(last_net, id, sizeof(last_net));
				named = 0;
			}
			if (strcmp(id, "other") != 0)
				assert_true(num(o, "count") >= k);
			if (strcmp(dom, "other") != 0 && ++named > ex.top_domains)
				fail_msg("network %s: more than %u names", id, ex.top_domains);
		}
		if (round < 3)
			check_json(body);
		free(body);
		cmpl_interval_fini(&iv);
	}
}

/* A network whose id is "other" merges with the folded records instead of repeating them. */
static void test_folding_named_other(void **state)
{
	struct cmpl_interval iv;
	assert_int_equal(cmpl_interval_init(&iv, T0, T0 + 300, "2026-11-26"), 0);
	assert_int_equal(cmpl_interval_add_total(&iv, "other", "", "", "other", 10, 1), 0);
	assert_int_equal(cmpl_interval_add_total(&iv, "n1", "", "", "g", 1, 1), 0);
	assert_int_equal(cmpl_interval_add_top(&iv, "other", "other", 7), 0);
	assert_int_equal(cmpl_interval_add_top(&iv, "n1", "a.example", 2), 0);
	char *body = build(&iv, &params);
	assert_non_null(strstr(body, "\"totals\":[{\"network_id\":\"other\",\"group\":\"other\","
				     "\"queries\":11,\"blocked\":2}],"));
	assert_non_null(strstr(body, "\"top_national\":[{\"network_id\":\"other\","
				     "\"domain\":\"other\",\"count\":9}]}"));
	free(body);
	cmpl_interval_fini(&iv);
}

static void test_escaping(void **state)
{
	struct cmpl_interval iv;
	struct cmpl_export_params ex = params;
	ex.reporter_id = "a\"b\\c\x01\n\t/Lê Lợi 😀\xff\xc3";
	ex.k_threshold = 1;
	assert_int_equal(cmpl_interval_init(&iv, T0, T0 + 300, "2026-11-26"), 0);
	assert_int_equal(
		cmpl_interval_add_total(&iv, "Sở GD&ĐT \"Hà Nội\"", "", "", "g\x7f\x1f", 1, 0), 0);
	/* overlong '/', a surrogate, a cut sequence, a code point past U+10FFFF */
	assert_int_equal(cmpl_interval_add_top(
				 &iv, "x", "\xc0\xaf.\xed\xa0\x80.\xe1\x80.\xf4\x90\x80\x80", 1),
			 0);
	char *body = build(&iv, &ex);
	assert_non_null(strstr(body, "\"reporter_id\":\"a\\\"b\\\\c\\u0001\\u000a\\u0009/Lê Lợi 😀"
				     "\xef\xbf\xbd\xef\xbf\xbd\",\"seq\":42,"));
	assert_non_null(strstr(body, "{\"network_id\":\"Sở GD&ĐT \\\"Hà Nội\\\"\","
				     "\"group\":\"g\x7f\\u001f\","));
	assert_non_null(strstr(body,
			       "\"domain\":\"\xef\xbf\xbd\xef\xbf\xbd.\xef\xbf\xbd\xef\xbf\xbd"
			       "\xef\xbf\xbd.\xef\xbf\xbd\xef\xbf\xbd.\xef\xbf\xbd\xef\xbf\xbd"
			       "\xef\xbf\xbd\xef\xbf\xbd\","));
	check_json(body);
	free(body);
	cmpl_interval_fini(&iv);
}

/* A bounded output buffer: the build fails cleanly. */
static void test_limit(void **state)
{
	struct cmpl_interval iv;
	struct core_buf b;
	small_interval(&iv);
	core_buf_init(&b, 100);
	assert_int_equal(cmpl_batch_build(&iv, &params, 1, "k", &b), CORE_ELIMIT);
	core_buf_deinit(&b);
	cmpl_interval_fini(&iv);
}

static void test_sign(void **state)
{
	struct cmpl_key key;
	unsigned char seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (unsigned char)i;
	assert_int_equal(sodium_init() >= 0, 1);
	crypto_sign_seed_keypair(key.pk, key.sk, seed);
	struct cmpl_interval iv;
	small_interval(&iv);
	char *body = build(&iv, &params);
	char sig[128];
	cmpl_batch_sign(&key, body, strlen(body), sig, sizeof(sig));
	assert_int_equal(strncmp(sig, "ed25519=", 8), 0);
	assert_int_equal(strlen(sig), 8 + 88);
	unsigned char raw[64];
	size_t len = 0;
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), sig + 8, strlen(sig + 8), NULL, &len,
					   NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(len, 64);
	assert_int_equal(
		crypto_sign_verify_detached(raw, (unsigned char *)body, strlen(body), key.pk), 0);
	body[10] ^= 1;
	assert_int_not_equal(
		crypto_sign_verify_detached(raw, (unsigned char *)body, strlen(body), key.pk), 0);
	/* too small an output: empty, not cut */
	cmpl_batch_sign(&key, body, strlen(body), sig, 50);
	assert_string_equal(sig, "");
	free(body);
	cmpl_interval_fini(&iv);

	char pub[64];
	cmpl_key_public_b64(&key, pub, sizeof(pub));
	assert_int_equal(strlen(pub), 44);
}

static void test_idempotency_key(void **state)
{
	char a[128], b[128];
	cmpl_batch_new_key("79-TH-0001", a, sizeof(a));
	cmpl_batch_new_key("79-TH-0001", b, sizeof(b));
	assert_int_equal(strlen(a), 11 + 32);
	assert_int_equal(strncmp(a, "79-TH-0001:", 11), 0);
	assert_int_equal(strspn(a + 11, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);
	/* a long reporter id is cut, the random part kept */
	char longid[300];
	memset(longid, 'r', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	cmpl_batch_new_key(longid, a, sizeof(a));
	assert_int_equal(strlen(a), 127);
	assert_int_equal(a[127 - 33], ':');
	assert_int_equal(strspn(a + 127 - 32, "0123456789abcdef"), 32);
}

static char tmpdir[] = "/tmp/lanhmanh-test-batch-XXXXXX";

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup_dir(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_key_files(void **state)
{
	char path[256], pub[64], pub2[64], err[512];
	struct cmpl_key key = {0};
	struct stat sb;
	snprintf(path, sizeof(path), "%s/report.key", tmpdir);

	mode_t old = umask(0);
	assert_int_equal(cmpl_key_generate(path, pub, sizeof(pub)), 0);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(strlen(pub), 44);
	FILE *f = fopen(path, "r");
	char line[200];
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strncmp(line, "lanhmanh-ed25519 ", 17), 0);
	assert_int_equal(strlen(line), 17 + 44 + 1);
	assert_int_equal(line[17 + 44], '\n');

	assert_int_equal(cmpl_key_load(path, &key, err, sizeof(err)), 0);
	cmpl_key_public_b64(&key, pub2, sizeof(pub2));
	assert_string_equal(pub, pub2);
	/* the loaded key signs what the public key verifies */
	char sig[128];
	unsigned char raw[64];
	size_t len;
	cmpl_batch_sign(&key, "x", 1, sig, sizeof(sig));
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), sig + 8, strlen(sig + 8), NULL, &len,
					   NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(crypto_sign_verify_detached(raw, (const unsigned char *)"x", 1, key.pk),
			 0);

	/* never overwritten */
	assert_int_equal(cmpl_key_generate(path, pub2, sizeof(pub2)), -EEXIST);
	assert_int_equal(cmpl_key_generate(path, pub2, 10), -EINVAL);

	/* group may read it (root:lanhmanh 0640), others may not */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(cmpl_key_load(path, &key, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0644), 0);
	err[0] = '\0';
	assert_int_equal(cmpl_key_load(path, &key, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(cmpl_key_load(path, &key, err, sizeof(err)), -EPERM);

	/* bad files */
	static const char *const bad[] = {
		"",
		"hello\n",
		"lanhmanh-ed25519 \n",
		"lanhmanh-ed25519 AAECAwQFBgcICQoLDA0ODw==\n",			   /* 16 bytes */
		"lanhmanh-ed25519 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", /* 33 */
		"lanhmanh-ed25519 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",  /* no pad */
		"lanhmanh-ed25519 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= x\n",
		"lanhmanh-ed25519 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nmore\n",
		"minisign-ed25519 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		err[0] = '\0';
		if (cmpl_key_load(path, &key, err, sizeof(err)) != CORE_EPARSE)
			fail_msg("bad key file %zu accepted", i);
		assert_non_null(strstr(err, path));
	}
	/* a good one written by hand: seed 0..31, with CRLF */
	write_file(path, "lanhmanh-ed25519 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n", 0400);
	assert_int_equal(cmpl_key_load(path, &key, err, sizeof(err)), 0);
	struct cmpl_key want;
	unsigned char seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (unsigned char)i;
	crypto_sign_seed_keypair(want.pk, want.sk, seed);
	assert_memory_equal(key.pk, want.pk, 32);
	assert_memory_equal(key.sk, want.sk, 64);

	/* missing file, a directory */
	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	assert_int_equal(cmpl_key_load(path, &key, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(cmpl_key_load(tmpdir, &key, err, sizeof(err)), CORE_EPARSE);
	snprintf(path, sizeof(path), "%s/no/such/dir.key", tmpdir);
	assert_int_equal(cmpl_key_generate(path, pub, sizeof(pub)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_json),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_folding_named_other),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test_setup_teardown(test_key_files, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
