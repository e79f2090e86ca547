/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of policy/decide.c against a real compiled set: specificity, allows, national. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/decide.h"

#define SB (BL_MATCH_SELF | BL_MATCH_BELOW)
#define NAT (1u << 0)
#define ADULT (1u << 1)
#define GAMES (1u << 5)

/* Wire form of "a.b.vn". */
static size_t wire(const char *text, uint8_t out[256])
{
	size_t o = 0;
	const char *p = text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

static void add(struct bl_builder *b, const char *name, uint32_t cats, uint16_t list,
		uint8_t flags, enum bl_action action)
{
	uint8_t w[256];
	size_t n = wire(name, w);
	assert_int_equal(bl_builder_add(b, w, n, cats, list, flags, action, 1, NULL, 0), 0);
}

static struct pol_decision decide(const struct bl_set *set, const char *name, uint32_t enforced)
{
	uint8_t w[256];
	size_t n = wire(name, w);
	struct pol_decision d;
	assert_int_equal(pol_decide_name(set, w, n, enforced, &d), 0);
	return d;
}

static struct bl_set *make_set(void)
{
	struct bl_builder *b = bl_builder_new(1000);
	assert_non_null(b);
	add(b, "casino.vn", NAT, 0, SB, BL_ACTION_POLICY);                 /* national */
	add(b, "ok.casino.vn", ADULT, 2, SB | BL_ALLOW, BL_ACTION_PASSTHRU); /* school allow */
	add(b, "exempt.casino.vn", NAT, 0, SB | BL_ALLOW, BL_ACTION_PASSTHRU); /* authority's */
	add(b, "drop.vn", NAT, 0, SB, BL_ACTION_DROP);
	add(b, "example.vn", ADULT, 1, SB, BL_ACTION_POLICY);
	add(b, "good.example.vn", ADULT, 2, SB | BL_ALLOW, BL_ACTION_PASSTHRU);
	add(b, "bad.good.example.vn", ADULT, 1, SB, BL_ACTION_NXDOMAIN);
	add(b, "only.vn", GAMES, 3, BL_MATCH_SELF, BL_ACTION_POLICY);
	add(b, "both.vn", GAMES, 3, SB, BL_ACTION_POLICY);
	add(b, "both.vn", ADULT, 3, SB | BL_ALLOW, BL_ACTION_PASSTHRU);
	struct bl_set *set;
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

static void test_specificity(void **state)
{
	struct bl_set *set = make_set();
	struct pol_decision d = decide(set, "www.example.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_BLOCK);
	assert_int_equal(d.reason, CFG_REASON_POLICY);
	assert_int_equal(d.categories, ADULT);
	assert_int_equal(d.match.list_id, 1);
	assert_int_equal(d.match.labels_below, 1);
	d = decide(set, "x.good.example.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_true(d.match.flags & BL_ALLOW);
	d = decide(set, "bad.good.example.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_BLOCK);
	assert_int_equal(d.match.action, BL_ACTION_NXDOMAIN);
	d = decide(set, "notexample.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_false(d.matched);
	/* Self-only entries do not cover names below. */
	assert_int_equal(decide(set, "only.vn", POL_CATEGORIES_ALL).kind, POL_DECISION_BLOCK);
	assert_int_equal(decide(set, "a.only.vn", POL_CATEGORIES_ALL).kind, POL_DECISION_PASS);
	/* Same name allowed and blocked: the allow wins. */
	assert_int_equal(decide(set, "both.vn", POL_CATEGORIES_ALL).kind, POL_DECISION_PASS);
	bl_set_unref(set);
}

static void test_national_cannot_be_loosened(void **state)
{
	struct bl_set *set = make_set();
	/* A school's allow entry does not pass a national block … */
	struct pol_decision d = decide(set, "ok.casino.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_BLOCK);
	assert_int_equal(d.reason, CFG_REASON_NATIONAL);
	assert_int_equal(d.match.list_id, 0);
	/* … nor does leaving the national category out of the enforced set … */
	d = decide(set, "www.casino.vn", 0);
	assert_int_equal(d.kind, POL_DECISION_BLOCK);
	assert_int_equal(d.reason, CFG_REASON_NATIONAL);
	/* … but the authority's own exception does. */
	assert_int_equal(decide(set, "exempt.casino.vn", POL_CATEGORIES_ALL).kind,
			 POL_DECISION_PASS);
	assert_int_equal(decide(set, "a.drop.vn", POL_CATEGORIES_ALL).kind, POL_DECISION_DROP);
	bl_set_unref(set);
}

static void test_enforced_categories(void **state)
{
	struct bl_set *set = make_set();
	assert_int_equal(decide(set, "www.example.vn", GAMES).kind, POL_DECISION_PASS);
	assert_int_equal(decide(set, "only.vn", GAMES).kind, POL_DECISION_BLOCK);
	assert_int_equal(decide(set, "only.vn", ADULT).kind, POL_DECISION_PASS);
	/* No set at all: everything passes. */
	uint8_t w[256];
	size_t n = wire("casino.vn", w);
	struct pol_decision d;
	assert_int_equal(pol_decide_name(NULL, w, n, POL_CATEGORIES_ALL, &d), 0);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	bl_set_unref(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specificity),
		cmocka_unit_test(test_national_cannot_be_loosened),
		cmocka_unit_test(test_enforced_categories),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
