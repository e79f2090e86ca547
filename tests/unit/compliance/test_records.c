/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of compliance/records.c: merging records of one interval, and its size limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "compliance/records.h"
#include "core/alloc.h"

static void test_merge_totals(void **state)
{
	struct cmpl_interval iv;
	assert_int_equal(cmpl_interval_init(&iv, 100, 400, "2026-11-26"), 0);
	assert_int_equal(iv.start, 100);
	assert_int_equal(iv.end, 400);
	assert_string_equal(iv.day, "2026-11-26");
	assert_true(cmpl_interval_empty(&iv));

	assert_int_equal(cmpl_interval_add_total(&iv, "79-TH-0001", "Trường TH Lê Lợi", "79",
						 "tieu_hoc", 10, 2),
			 0);
	assert_int_equal(
		cmpl_interval_add_total(&iv, "79-TH-0001", "other name", "", "tieu_hoc", 5, 1), 0);
	assert_int_equal(cmpl_interval_add_total(&iv, "79-TH-0001", "Trường TH Lê Lợi", "79",
						 "giao_vien", 7, 0),
			 0);
	assert_int_equal(cmpl_interval_add_total(&iv, "", "", "", "", 1, 1), 0);
	assert_false(cmpl_interval_empty(&iv));
	assert_int_equal(iv.n_totals, 3);
	assert_string_equal(iv.totals[0].network_id, "79-TH-0001");
	/* the first name and province stay */
	assert_string_equal(iv.totals[0].network_name, "Trường TH Lê Lợi");
	assert_string_equal(iv.totals[0].province, "79");
	assert_string_equal(iv.totals[0].group, "tieu_hoc");
	assert_int_equal(iv.totals[0].queries, 15);
	assert_int_equal(iv.totals[0].blocked, 3);
	assert_string_equal(iv.totals[1].group, "giao_vien");
	assert_int_equal(iv.totals[1].queries, 7);
	assert_string_equal(iv.totals[2].network_id, "");
	assert_int_equal(iv.queries, 23);
	assert_int_equal(iv.blocked, 4);
	cmpl_interval_fini(&iv);
	assert_null(iv.totals);
	assert_int_equal(iv.n_totals, 0);
}

static void test_merge_blocks_tops(void **state)
{
	struct cmpl_interval iv;
	assert_int_equal(cmpl_interval_init(&iv, 0, 300, "2026-11-26"), 0);
	assert_int_equal(cmpl_interval_add_block(&iv, "n1", "g", "adult", "adult", "v1", 2), 0);
	assert_int_equal(cmpl_interval_add_block(&iv, "n1", "g", "adult", "adult", "v1", 3), 0);
	assert_int_equal(cmpl_interval_add_block(&iv, "n1", "g", "adult", "adult", "v2", 1), 0);
	assert_int_equal(cmpl_interval_add_block(&iv, "n1", "g", "adult", "adult2", "v1", 1), 0);
	assert_int_equal(iv.n_blocks, 3);
	assert_int_equal(iv.blocks[0].count, 5);
	assert_string_equal(iv.blocks[1].list_version, "v2");
	/* blocks are not totals */
	assert_int_equal(iv.blocked, 0);
	assert_int_equal(iv.n_totals, 0);

	assert_int_equal(cmpl_interval_add_top(&iv, "n1", "bad.example", 1), 0);
	assert_int_equal(cmpl_interval_add_top(&iv, "n2", "bad.example", 1), 0);
	assert_int_equal(cmpl_interval_add_top(&iv, "n1", "bad.example", 4), 0);
	assert_int_equal(iv.n_tops, 2);
	assert_int_equal(iv.tops[0].count, 5);
	assert_int_equal(iv.tops[1].count, 1);

	/* the fields are kept apart: moving text across the separator makes another record */
	assert_int_equal(cmpl_interval_add_top(&iv, "n1b", "ad.example", 1), 0);
	assert_int_equal(cmpl_interval_add_top(&iv, "n", "1bad.example", 1), 0);
	assert_int_equal(iv.n_tops, 4);
	/* the same text as a total and a top is two records */
	assert_int_equal(cmpl_interval_add_total(&iv, "n1", "", "", "bad.example", 1, 0), 0);
	assert_int_equal(iv.n_totals, 1);
	assert_int_equal(iv.n_tops, 4);
	cmpl_interval_fini(&iv);
}

static void test_national_and_zeroed(void **state)
{
	struct cmpl_interval iv = {0};
	/* a zeroed interval takes records too (its index is made on first use) */
	assert_int_equal(cmpl_interval_add_total(&iv, "n", NULL, NULL, "g", 1, 0), 0);
	assert_string_equal(iv.totals[0].network_name, "");
	assert_string_equal(iv.totals[0].province, "");
	assert_int_equal(cmpl_interval_set_national(&iv, "2026112601", 1795661700), 0);
	assert_string_equal(iv.national_version, "2026112601");
	assert_int_equal(iv.national_applied, 1795661700);
	assert_int_equal(cmpl_interval_set_national(&iv, NULL, 0), 0);
	assert_null(iv.national_version);
	cmpl_interval_fini(&iv);
	cmpl_interval_fini(&iv); /* twice is fine */

	/* a long day string is cut to YYYY-MM-DD's size */
	assert_int_equal(cmpl_interval_init(&iv, 0, 1, "2026-11-26T03:00"), 0);
	assert_string_equal(iv.day, "2026-11-26");
	cmpl_interval_fini(&iv);
	assert_int_equal(cmpl_interval_init(&iv, 0, 1, NULL), 0);
	assert_string_equal(iv.day, "");
	cmpl_interval_fini(&iv);
}

static void test_long_keys(void **state)
{
	/* keys longer than the stack buffer of a lookup */
	char a[600], b[600];
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[300] = 'b';
	struct cmpl_interval iv;
	assert_int_equal(cmpl_interval_init(&iv, 0, 1, "2026-11-26"), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cmpl_interval_add_top(&iv, a, b, 1), 0);
		assert_int_equal(cmpl_interval_add_top(&iv, b, a, 1), 0);
		assert_int_equal(cmpl_interval_add_block(&iv, a, b, a, b, a, 2), 0);
	}
	assert_int_equal(iv.n_tops, 2);
	assert_int_equal(iv.tops[0].count, 3);
	assert_int_equal(iv.n_blocks, 1);
	assert_int_equal(iv.blocks[0].count, 6);
	cmpl_interval_fini(&iv);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An ISP with 100k subscriber networks: every add is a hash lookup, not a scan. */
static void test_many_networks(void **state)
{
	enum {
		N = 100000
	};
	struct cmpl_interval iv;
	char id[32];
	double t0 = now_s();
	assert_int_equal(cmpl_interval_init(&iv, 0, 300, "2026-11-26"), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "VNPT-%07d", i);
			assert_int_equal(cmpl_interval_add_total(&iv, id, "", "", "khach", 3, 1),
					 0);
			assert_int_equal(cmpl_interval_add_total(&iv, id, "", "", "tieu_hoc", 1, 0),
					 0);
			assert_int_equal(cmpl_interval_add_block(&iv, id, "khach", "adult", "adult",
								 "v1", 1),
					 0);
			assert_int_equal(cmpl_interval_add_top(&iv, id, "bad.example", 1), 0);
		}
	}
	double took = now_s() - t0;
	assert_int_equal(iv.n_totals, 2 * N);
	assert_int_equal(iv.n_blocks, N);
	assert_int_equal(iv.n_tops, N);
	assert_int_equal(iv.queries, 2ull * N * 4);
	assert_int_equal(iv.blocked, 2ull * N);
	for (int i = 0; i < N; i += 997) {
		snprintf(id, sizeof(id), "VNPT-%07d", i);
		assert_string_equal(iv.totals[2 * i].network_id, id);
		assert_int_equal(iv.totals[2 * i].queries, 6);
		assert_int_equal(iv.totals[2 * i + 1].queries, 2);
		assert_int_equal(iv.blocks[i].count, 2);
		assert_int_equal(iv.tops[i].count, 2);
	}
	cmpl_interval_fini(&iv);
	/* 800k adds: well under a second on one core; generous for sanitizer and valgrind runs */
	if (took > 20.0)
		fail_msg("800k adds took %.2f s", took);
}

/* Out of memory at every step: an error, never a half-made record, nothing leaked. */
static void test_alloc_failures(void **state)
{
	uint64_t live = core_alloc_live_bytes();
	for (uint64_t n = 1; n < 40; n++) {
		struct cmpl_interval iv = {0};
		int r = 0;
		core_alloc_fail_at(n);
		r = cmpl_interval_init(&iv, 0, 300, "2026-11-26");
		for (int i = 0; r == 0 && i < 5; i++) {
			char id[16];
			snprintf(id, sizeof(id), "n%d", i);
			r = cmpl_interval_add_total(&iv, id, "name", "79", "g", 2, 1);
			if (r == 0)
				r = cmpl_interval_add_block(&iv, id, "g", "c", "l", "v", 1);
			if (r == 0)
				r = cmpl_interval_add_top(&iv, id, "bad.example", 1);
		}
		core_alloc_fail_at(0);
		if (r != 0)
			assert_int_equal(r, -ENOMEM);
		/* what is there is consistent */
		uint64_t q = 0;
		for (size_t i = 0; i < iv.n_totals; i++) {
			assert_non_null(iv.totals[i].network_id);
			assert_non_null(iv.totals[i].group);
			q += iv.totals[i].queries;
		}
		assert_int_equal(q, iv.queries);
		cmpl_interval_fini(&iv);
		assert_int_equal(core_alloc_live_bytes(), live);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_totals),
		cmocka_unit_test(test_merge_blocks_tops),
		cmocka_unit_test(test_national_and_zeroed),
		cmocka_unit_test(test_long_keys),
		cmocka_unit_test(test_many_networks),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
