/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of compliance/tally.c and compliance/qlog.c: what the workers count with. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "compliance/qlog.h"
#include "compliance/tally.h"
#include "core/alloc.h"

struct seen {
	struct cmpl_tally_key k[4096];
	uint64_t count[4096];
	size_t n;
	uint64_t sum;
};

static void collect(void *arg, const struct cmpl_tally_key *k, uint64_t count)
{
	struct seen *s = arg;
	assert_true(s->n < 4096);
	s->k[s->n] = *k;
	s->count[s->n++] = count;
	s->sum += count;
}

static uint64_t count_of(const struct seen *s, const struct cmpl_tally_key *k)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct cmpl_tally_key *x = &s->k[i];
		if (x->unit == k->unit && x->group == k->group && x->event == k->event &&
		    x->by == k->by && x->category == k->category && x->list == k->list &&
		    x->rs_gen == k->rs_gen && x->lists_gen == k->lists_gen)
			return s->count[i];
	}
	return 0;
}

static struct cmpl_tally_key key(uint32_t unit, uint16_t group, uint8_t event, uint8_t category)
{
	struct cmpl_tally_key k;
	memset(&k, 0, sizeof(k));
	k.unit = unit;
	k.group = group;
	k.event = event;
	k.category = category;
	k.by = CMPL_BY_LIST;
	k.list = 3;
	k.rs_gen = 7;
	k.lists_gen = 65535;
	return k;
}

static void test_counts_and_keys(void **state)
{
	struct cmpl_tally t;
	assert_int_equal(cmpl_tally_init(&t, 100, 10), 0);
	assert_true(cmpl_tally_empty(&t));
	struct cmpl_tally_key q = key(0, 0, CMPL_EV_QUERY, CMPL_NO_CATEGORY);
	struct cmpl_tally_key b = key(0x80ffffffu, 65534, CMPL_EV_BLOCK, 31);
	for (int i = 0; i < 5; i++)
		cmpl_tally_add(&t, &q);
	cmpl_tally_add(&t, &b);
	cmpl_tally_add(&t, &b);
	struct seen s = {0};
	cmpl_tally_each(&t, collect, &s);
	assert_int_equal(s.n, 2);
	/* every field comes back as it went in */
	assert_int_equal(count_of(&s, &q), 5);
	assert_int_equal(count_of(&s, &b), 2);
	cmpl_tally_clear(&t);
	assert_true(cmpl_tally_empty(&t));
	memset(&s, 0, sizeof(s));
	cmpl_tally_each(&t, collect, &s);
	assert_int_equal(s.n, 0);
	cmpl_tally_fini(&t);
	assert_int_equal(core_alloc_live_bytes(), 0);
}

static void test_full_table_loses_nothing(void **state)
{
	struct cmpl_tally t;
	assert_int_equal(cmpl_tally_init(&t, 64, 4), 0);
	/* far more networks than keys: the ones that do not fit go to the overflow unit */
	uint64_t sent = 0;
	for (uint32_t unit = 0; unit < 3000; unit++) {
		struct cmpl_tally_key k = key(unit, (uint16_t)(unit % 3), CMPL_EV_QUERY,
					      CMPL_NO_CATEGORY);
		for (uint32_t i = 0; i <= unit % 4; i++, sent++)
			cmpl_tally_add(&t, &k);
	}
	struct seen s = {0};
	cmpl_tally_each(&t, collect, &s);
	assert_int_equal(t.lost, 0);
	assert_int_equal(s.sum, sent);
	size_t overflow = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.k[i].unit == CMPL_UNIT_OVERFLOW) {
			overflow++;
			assert_int_equal(s.k[i].group, UINT16_MAX);
		}
	}
	assert_int_equal(overflow, 1); /* one overflow key: same event, category and list */
	cmpl_tally_fini(&t);
}

struct tops {
	char name[8][64];
	uint64_t count[8];
	size_t n;
};

static void collect_top(void *arg, uint32_t unit, uint16_t rs_gen, const uint8_t *name,
			size_t len, uint64_t count)
{
	struct tops *t = arg;
	assert_true(t->n < 8 && len < 64);
	memcpy(t->name[t->n], name, len);
	t->name[t->n][len] = '\0';
	t->count[t->n++] = count;
	assert_int_equal(unit, 9);
	assert_int_equal(rs_gen, 2);
}

static void test_top_names(void **state)
{
	struct cmpl_tally t;
	assert_int_equal(cmpl_tally_init(&t, 64, 2), 0);
	static const uint8_t a[] = "\3bad\7example\0", b[] = "\4evil\7example\0";
	cmpl_tally_add_top(&t, 9, 2, a, sizeof(a) - 1);
	cmpl_tally_add_top(&t, 9, 2, a, sizeof(a) - 1);
	cmpl_tally_add_top(&t, 9, 2, b, sizeof(b) - 1);
	struct tops got = {0};
	cmpl_tally_each_top(&t, collect_top, &got);
	assert_int_equal(got.n, 2);
	uint64_t total = got.count[0] + got.count[1];
	assert_int_equal(total, 3);
	/* a full top table counts what it cannot keep (it holds at least 56 names) */
	for (int i = 0; i < 100; i++) {
		uint8_t name[16] = {6, 'n', 'a', 'm', 'e', (uint8_t)('0' + i / 10),
				    (uint8_t)('0' + i % 10), 0};
		cmpl_tally_add_top(&t, 9, 2, name, 8);
	}
	assert_true(t.top_lost > 0);
	cmpl_tally_clear(&t);
	assert_int_equal(t.top_lost, 0);
	cmpl_tally_fini(&t);
}

static uint64_t drained;

static void on_entry(void *arg, const struct cmpl_qlog_entry *e)
{
	uint16_t *expect = arg;
	assert_int_equal(e->qtype, *expect);
	(*expect)++;
	drained++;
}

static void test_qlog_ring(void **state)
{
	struct cmpl_qlog_ring r;
	assert_int_equal(cmpl_qlog_init(&r, 3), -EINVAL);
	assert_int_equal(cmpl_qlog_init(&r, 4), 0);
	uint16_t next = 1;
	for (uint16_t i = 1; i <= 6; i++) {
		struct cmpl_qlog_entry *e = cmpl_qlog_reserve(&r);
		if (i <= 4) {
			assert_non_null(e);
			e->qtype = i;
			cmpl_qlog_commit(&r);
		} else {
			assert_null(e); /* full: dropped, counted */
		}
	}
	assert_int_equal(r.dropped, 2);
	drained = 0;
	assert_int_equal(cmpl_qlog_drain(&r, on_entry, &next), 4);
	assert_int_equal(drained, 4);
	/* room again, order kept across the wrap */
	for (uint16_t i = 5; i <= 7; i++) {
		struct cmpl_qlog_entry *e = cmpl_qlog_reserve(&r);
		assert_non_null(e);
		e->qtype = i;
		cmpl_qlog_commit(&r);
	}
	assert_int_equal(cmpl_qlog_drain(&r, on_entry, &next), 3);
	assert_int_equal(next, 8);
	cmpl_qlog_fini(&r);
	assert_int_equal(core_alloc_live_bytes(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_keys),
		cmocka_unit_test(test_full_table_loses_nothing),
		cmocka_unit_test(test_top_names),
		cmocka_unit_test(test_qlog_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
