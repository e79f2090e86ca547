/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of policy/mmdb.c. The MMDB files are written at test time by tests/lib/make_mmdb.pl
 * (Debian's libmaxmind-db-writer-perl) into a temporary directory; without perl or the module
 * the whole program is skipped (exit 77).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "policy/mmdb.h"

#ifndef MAKE_MMDB_PL
#error "MAKE_MMDB_PL (path of tests/lib/make_mmdb.pl) must be defined by the build"
#endif
#ifndef MMDB_FIXTURES
#error "MMDB_FIXTURES (path of tests/unit/policy/fixtures) must be defined by the build"
#endif

static char tmpdir[] = "/tmp/lanhmanh-test-mmdb-XXXXXX";

/* Write @text as the description NAME.txt and build NAME.mmdb with @opts; @return its path. */
static const char *make_db(const char *name, const char *text, const char *opts)
{
	static char out[4][512];
	static unsigned turn;
	char in[512], cmd[2048];
	char *path = out[turn++ % 4];
	snprintf(in, sizeof(in), "%s/%s.txt", tmpdir, name);
	snprintf(path, sizeof(out[0]), "%s/%s.mmdb", tmpdir, name);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "perl '%s' %s '%s' '%s'", MAKE_MMDB_PL, opts ? opts : "", in,
		 path);
	assert_int_equal(system(cmd), 0);
	return path;
}

static const char *fixture_db(const char *opts, const char *name)
{
	char cmd[2048];
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s.mmdb", tmpdir, name);
	snprintf(cmd, sizeof(cmd), "perl '%s' %s '%s/subscribers.txt' '%s'", MAKE_MMDB_PL,
		 opts ? opts : "", MMDB_FIXTURES, path);
	assert_int_equal(system(cmd), 0);
	return path;
}

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address '%s'", text);
	return ss;
}

static int lookup(const struct pol_mmdb *m, const char *text, struct pol_mmdb_result *r)
{
	struct sockaddr_storage ss = addr(text);
	memset(r, 0x5a, sizeof(*r));
	return pol_mmdb_lookup(m, (struct sockaddr *)&ss, r);
}

/* Check @text is found with @group, @id, @province and @prefix_len. */
static void expect(const struct pol_mmdb *m, const char *text, const char *group, const char *id,
		   const char *province, unsigned prefix_len)
{
	struct pol_mmdb_result r;
	int ret = lookup(m, text, &r);
	if (ret != 0)
		fail_msg("%s: %d (%s)", text, ret, pol_mmdb_strerror(ret));
	assert_string_equal(r.group, group);
	assert_string_equal(r.network_id, id);
	assert_string_equal(r.province, province);
	if (r.prefix_len != prefix_len)
		fail_msg("%s: prefix_len %u, expected %u", text, r.prefix_len, prefix_len);
}

static void expect_err(const struct pol_mmdb *m, const char *text, int err)
{
	struct pol_mmdb_result r;
	int ret = lookup(m, text, &r);
	if (ret != err)
		fail_msg("%s: %d (%s), expected %d (%s)", text, ret, pol_mmdb_strerror(ret), err,
			 pol_mmdb_strerror(err));
}

static struct pol_mmdb *open_ok(const char *path, const char *province_field)
{
	struct pol_mmdb *m = NULL;
	char err[512];
	int ret = pol_mmdb_open(path, "group", "network_id", province_field, &m, err, sizeof(err));
	if (ret != 0)
		fail_msg("open '%s': %d: %s", path, ret, err);
	return m;
}

/* The fixture in an IPv6 file (IPv4 ranges under ::/96) and in an IPv4 file. */
static void test_longest_prefix(void **state)
{
	struct pol_mmdb *m = open_ok(fixture_db(NULL, "fixture6"), "province");
	assert_int_equal(pol_mmdb_ip_version(m), 6);
	assert_true(pol_mmdb_build_epoch(m) > 0);
	/* The /16 carves a hole in the /8 and the /24 one in the /16: the ranges the file holds
	 * are the pieces around the holes, hence their lengths. */
	expect(m, "10.200.3.4", "khach", "ISP-GUEST", "", 9);
	expect(m, "10.0.0.1", "khach", "ISP-GUEST", "", 16);
	expect(m, "10.1.9.9", "thcs", "79-THCS-0001", "79", 21);
	expect(m, "10.1.255.255", "thcs", "79-THCS-0001", "79", 17);
	expect(m, "10.1.2.3", "tieu_hoc", "79-TH-0002", "79", 24);
	expect(m, "10.1.3.0", "thcs", "79-THCS-0001", "79", 24);
	expect(m, "100.127.255.254", "khach", "CGNAT", "48", 10);
	/* IPv6 ranges, the same rule */
	expect(m, "2001:db8:ffff::1", "khach", "ISP-V6", "01", 33);
	expect(m, "2001:db8:1:ab::1", "thpt", "01-THPT-0004", "01", 48);
	expect(m, "2001:db8:2::1", "khach", "ISP-V6", "01", 47);
	expect(m, "fd00:79:1::53", "giao_vien", "79-GV-0005", "79", 32);
	/* IPv4-mapped clients are IPv4 clients */
	expect(m, "::ffff:10.1.2.3", "tieu_hoc", "79-TH-0002", "79", 24);
	struct pol_mmdb_result r;
	assert_int_equal(lookup(m, "::ffff:10.1.9.9", &r), 0);
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(lookup(m, "2001:db8:1::1", &r), 0);
	assert_int_equal(r.family, AF_INET6);
	/* in no range */
	expect_err(m, "192.168.1.1", CORE_ENOTFOUND);
	expect_err(m, "11.0.0.1", CORE_ENOTFOUND);
	expect_err(m, "::ffff:192.168.1.1", CORE_ENOTFOUND);
	expect_err(m, "2001:db9::1", CORE_ENOTFOUND);
	expect_err(m, "::1", CORE_ENOTFOUND);
	/* ::10.1.2.3 is where the IPv4 range lives in the tree: an IPv6 client there is the
	 * IPv4 client as far as the file is concerned (libmaxminddb does not tell them apart). */
	expect(m, "::10.1.2.3", "tieu_hoc", "79-TH-0002", "79", 120);
	m = pol_mmdb_free(m);
	assert_null(m);

	/* IPv4 file: IPv6 clients are in no range, mapped ones are IPv4 */
	m = open_ok(make_db("v4",
			    "10.1.0.0/16 thcs 79-THCS-0001 79\n10.0.0.0/8 khach ISP-GUEST\n"
			    "10.1.2.0/24 tieu_hoc 79-TH-0002 79\n",
			    "--ip-version 4 --record-size 24"),
		    "province");
	assert_int_equal(pol_mmdb_ip_version(m), 4);
	expect(m, "10.200.3.4", "khach", "ISP-GUEST", "", 9);
	expect(m, "10.1.2.3", "tieu_hoc", "79-TH-0002", "79", 24);
	expect(m, "::ffff:10.1.9.9", "thcs", "79-THCS-0001", "79", 21);
	expect_err(m, "2001:db8:1::1", CORE_ENOTFOUND);
	expect_err(m, "192.168.1.1", CORE_ENOTFOUND);
	pol_mmdb_free(m);

	/* A client of another family is in no range. */
	m = open_ok(fixture_db("--record-size 32", "fixture32"), NULL);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_int_equal(pol_mmdb_lookup(m, (struct sockaddr *)&ss, &r), CORE_ENOTFOUND);
	expect(m, "10.1.2.3", "tieu_hoc", "79-TH-0002", "", 24); /* no province_field */
	pol_mmdb_free(m);
	pol_mmdb_free(NULL);
}

/* Records lacking a field: the group and id are mandatory, the province optional. */
static void test_missing_fields(void **state)
{
	struct pol_mmdb *m = open_ok(fixture_db(NULL, "fields"), "province");
	expect_err(m, "10.9.1.1", POL_MMDB_ENOFIELD);		/* no group */
	expect_err(m, "10.10.1.1", POL_MMDB_ENOFIELD);		/* no network_id */
	expect(m, "10.11.1.1", "thpt", "79-THPT-0003", "", 16); /* no province: fine */
	assert_string_equal(pol_mmdb_strerror(POL_MMDB_ENOFIELD),
			    "subscriber record lacks the group or id field");
	assert_string_equal(pol_mmdb_strerror(CORE_ENOTFOUND), "not found");
	pol_mmdb_free(m);

	/* Values of the wrong size or type, numeric ids */
	const char *path =
		make_db("types",
			"10.0.0.0/8 khach 1\n"
			"10.1.0.0/16 "
			"a123456789b123456789c123456789d123456789e123456789f123456789g123 2\n"
			"10.2.0.0/16 "
			"a123456789b123456789c123456789d123456789e123456789f123456789g12 3\n",
			"--numeric-id --extra note=x --double score=1.5");
	m = open_ok(path, "province");
	expect(m, "10.0.0.1", "khach", "1", "", 16);   /* numeric ids are written in decimal */
	expect_err(m, "10.1.0.1", POL_MMDB_EBADFIELD); /* 64 bytes */
	struct pol_mmdb_result r;
	assert_int_equal(lookup(m, "10.2.0.1", &r), 0); /* 63 bytes fit */
	assert_int_equal(strlen(r.group), 63);
	assert_string_equal(r.network_id, "3");
	pol_mmdb_free(m);
	/* a field of another type (here a double) is refused, the province too; the first record
	 * is checked at open */
	char err[512];
	assert_int_equal(pol_mmdb_open(path, "group", "network_id", "score", &m, err, sizeof(err)),
			 CORE_ECONFIG);
	assert_non_null(strstr(err, "types.mmdb': field 'score' of the record of 10.0.0.0/16 is "
				    "not a string or unsigned integer of at most 63 bytes"));
	assert_int_equal(pol_mmdb_open(path, "score", "network_id", NULL, &m, err, sizeof(err)),
			 CORE_ECONFIG);
	assert_non_null(strstr(err, "field 'score'"));
}

/* Errors at open: the message names the file and what is wrong. */
static void test_open_errors(void **state)
{
	struct pol_mmdb *m = NULL;
	char err[512], path[600];

	snprintf(path, sizeof(path), "%s/missing.mmdb", tmpdir);
	assert_int_equal(pol_mmdb_open(path, "group", "network_id", NULL, &m, err, sizeof(err)),
			 -ENOENT);
	assert_null(m);
	assert_non_null(strstr(err, "missing.mmdb': cannot open: No such file or directory"));

	snprintf(path, sizeof(path), "%s/not-mmdb.mmdb", MMDB_FIXTURES);
	assert_int_equal(pol_mmdb_open(path, "group", "network_id", NULL, &m, err, sizeof(err)),
			 CORE_EPARSE);
	assert_non_null(strstr(err, "not-mmdb.mmdb': not a valid MMDB file (libmaxminddb: "));

	/* empty and truncated files */
	snprintf(path, sizeof(path), "%s/empty.mmdb", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(pol_mmdb_open(path, "group", "network_id", NULL, &m, err, sizeof(err)),
			 CORE_EPARSE);
	assert_non_null(strstr(err, "empty.mmdb': not a valid MMDB file"));
	const char *good = fixture_db(NULL, "truncated");
	assert_int_equal(truncate(good, 200), 0);
	assert_int_equal(pol_mmdb_open(good, "group", "network_id", NULL, &m, err, sizeof(err)),
			 CORE_EPARSE);
	assert_non_null(strstr(err, "truncated.mmdb': not a valid MMDB file"));

	/* bad arguments */
	assert_int_equal(pol_mmdb_open(path, "", "network_id", NULL, &m, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(pol_mmdb_open("", "group", "network_id", NULL, &m, NULL, 0), -EINVAL);

	/* A misspelt field name is seen in the first record, at open. */
	good = fixture_db(NULL, "spelling");
	assert_int_equal(pol_mmdb_open(good, "grup", "network_id", NULL, &m, err, sizeof(err)),
			 CORE_ECONFIG);
	assert_non_null(strstr(err, "spelling.mmdb': the record of 10.0.0.0/16 has no field "
				    "'grup' (it has: "));
	assert_non_null(strstr(err, "group")); /* the writer's key order is its own */
	assert_non_null(strstr(err, "network_id"));
	assert_non_null(strstr(err, "); check the networks' group_field/id_field"));
	assert_int_equal(pol_mmdb_open(good, "group", "id", "province", &m, err, sizeof(err)),
			 CORE_ECONFIG);
	assert_non_null(strstr(err, "has no field 'id'"));
	/* a record the writer gave extra keys: they are listed */
	const char *p = make_db("first-no-group", "10.0.0.0/8 - A 79\n10.1.0.0/16 thcs B\n",
				"--extra note=x");
	assert_int_equal(pol_mmdb_open(p, "group", "network_id", "province", &m, err, sizeof(err)),
			 CORE_ECONFIG);
	assert_non_null(strstr(err, "the record of 10.0.0.0/16 has no field 'group' (it has: "));
	assert_non_null(strstr(err, "network_id"));
	assert_non_null(strstr(err, "note"));
	/* err may be NULL */
	assert_int_equal(pol_mmdb_open("/nonexistent/x.mmdb", "g", "i", NULL, &m, NULL, 0),
			 -ENOENT);
}

/* --- 100k ranges -------------------------------------------------------------------------------
 * Range i < BIG_V4 is the /24 at 10.0.0.0 + i * 512 (every other /24, so the gaps are in no
 * range); range i >= BIG_V4 is the /48 2001:db8:X::/48 with X = 2 * (i - BIG_V4). Ranges share
 * 1000 records, as subscriber ranges share their BRAS or point of presence. */
#define BIG_V4 90000u
#define BIG_N 100000u
static const char *const groups[] = {"mam_non", "tieu_hoc", "thcs", "thpt", "giao_vien", "khach"};
static struct pol_mmdb *big;

static void big_expect(unsigned i, char *id, const char **group, char *province)
{
	unsigned rec = i % 1000;
	sprintf(id, "N%04u", rec);
	*group = groups[rec % 6];
	sprintf(province, "%02u", rec % 63 + 1);
}

static void big_addr(unsigned i, unsigned host, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (i < BIG_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0x0a000000u + i * 512u + host);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		uint8_t *a = sin6->sin6_addr.s6_addr;
		unsigned x = 2 * (i - BIG_V4);
		sin6->sin6_family = AF_INET6;
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[4] = (uint8_t)(x >> 8);
		a[5] = (uint8_t)x, a[14] = (uint8_t)(host >> 8), a[15] = (uint8_t)host;
		a[8] = (uint8_t)(host * 7); /* somewhere inside the /48 */
	}
}

static int big_setup(void **state)
{
	static bool written;
	char in[512], out[512], cmd[2048], err[512];
	snprintf(in, sizeof(in), "%s/big.txt", tmpdir);
	snprintf(out, sizeof(out), "%s/big.mmdb", tmpdir);
	if (written)
		goto open;
	FILE *f = fopen(in, "w");
	if (!f)
		return -1;
	for (unsigned i = 0; i < BIG_N; i++) {
		char id[16], province[8], text[INET6_ADDRSTRLEN];
		const char *group;
		struct sockaddr_storage ss;
		big_expect(i, id, &group, province);
		big_addr(i, 0, &ss);
		if (i < BIG_V4)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text,
				  sizeof(text));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text,
				  sizeof(text));
		fprintf(f, "%s/%u %s %s %s\n", text, i < BIG_V4 ? 24 : 48, group, id, province);
	}
	if (fclose(f) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "perl '%s' '%s' '%s'", MAKE_MMDB_PL, in, out);
	if (system(cmd) != 0)
		return -1;
	written = true;
open:
	if (pol_mmdb_open(out, "group", "network_id", "province", &big, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int big_teardown(void **state)
{
	big = pol_mmdb_free(big);
	return 0;
}

/* Check @n ranges from @first (step @step): inside, found with its fields; in the gap, not. */
static int big_check(unsigned first, unsigned n, unsigned step)
{
	int bad = 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (first + k * step) % BIG_N;
		char id[16], province[8];
		const char *group;
		struct sockaddr_storage ss;
		struct pol_mmdb_result r;
		big_expect(i, id, &group, province);
		big_addr(i, 1 + k % 250, &ss);
		if (pol_mmdb_lookup(big, (struct sockaddr *)&ss, &r) != 0 ||
		    strcmp(r.group, group) != 0 || strcmp(r.network_id, id) != 0 ||
		    strcmp(r.province, province) != 0 || r.prefix_len != (i < BIG_V4 ? 24 : 48))
			bad++;
		if (i < BIG_V4) {
			big_addr(i, 256 + k % 256, &ss); /* the /24 after it: a gap */
			if (pol_mmdb_lookup(big, (struct sockaddr *)&ss, &r) != CORE_ENOTFOUND)
				bad++;
		}
	}
	return bad;
}

static void test_big(void **state)
{
	assert_int_equal(big_check(0, BIG_N, 1), 0); /* every range */
	struct pol_mmdb_result r;
	expect_err(big, "10.0.1.1", CORE_ENOTFOUND);
	expect(big, "10.0.2.1", "tieu_hoc", "N0001", "02", 24);
	expect(big, "::ffff:10.0.2.1", "tieu_hoc", "N0001", "02", 24);
	assert_int_equal(lookup(big, "2001:db8:1::1", &r), CORE_ENOTFOUND);
	expect(big, "2001:db8:2::1", "tieu_hoc", "N0001", "02", 48);
	expect_err(big, "9.255.255.255", CORE_ENOTFOUND);
}

struct worker {
	pthread_t tid;
	unsigned first;
	int bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int round = 0; round < 4; round++)
		w->bad += big_check(w->first + (unsigned)round, 5000, 7919);
	return NULL;
}

/* Lookups from 4 threads at once on one handle (run it under TSan/helgrind too). */
static void test_threads(void **state)
{
	struct worker w[4];
	for (unsigned t = 0; t < 4; t++) {
		w[t] = (struct worker){.first = t * 25000, .bad = 0};
		assert_int_equal(pthread_create(&w[t].tid, NULL, worker_main, &w[t]), 0);
	}
	for (unsigned t = 0; t < 4; t++) {
		assert_int_equal(pthread_join(w[t].tid, NULL), 0);
		assert_int_equal(w[t].bad, 0);
	}
}

static int writer_available(void)
{
	return system("perl -MMaxMind::DB::Writer::Tree -e 1 >/dev/null 2>&1") == 0;
}

int main(void)
{
	if (!writer_available()) {
		fprintf(stderr, "skipped: perl with MaxMind::DB::Writer::Tree "
				"(libmaxmind-db-writer-perl) is needed to write test MMDB files\n");
		return 77;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_prefix),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test_setup_teardown(test_big, big_setup, big_teardown),
		cmocka_unit_test_setup_teardown(test_threads, big_setup, big_teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		failed++;
	return failed;
}
