/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of policy/decide.c against a real compiled set: specificity, allows, national. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/overlay.h"
#include "blocklists/parse.h"
#include "blocklists/view.h"
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

/* The split: the same logic on a match array, whatever produced it. */
static void test_decide_matches(void **state)
{
	struct bl_match m[3] = {
		{.categories = ADULT, .list_id = 2, .flags = SB | BL_ALLOW,
		 .action = BL_ACTION_PASSTHRU, .labels_below = 0, .layer = 0},
		{.categories = NAT, .list_id = 3, .flags = SB, .action = BL_ACTION_DROP,
		 .labels_below = 1, .layer = 2, .from_overlay = 1, .entry = 9},
		{.categories = ADULT, .list_id = 1, .flags = SB, .labels_below = 2},
	};
	struct pol_decision d;

	/* the school's allow does not pass the national block one level up */
	assert_int_equal(pol_decide_matches(m, 3, POL_CATEGORIES_ALL, &d), 0);
	assert_int_equal(d.kind, POL_DECISION_DROP);
	assert_int_equal(d.reason, CFG_REASON_NATIONAL);
	assert_int_equal(d.match.layer, 2);
	assert_int_equal(d.match.from_overlay, 1);
	assert_int_equal(d.match.entry, 9);
	/* without it, the allow passes the adult block above */
	assert_int_equal(pol_decide_matches(m + 0, 1, POL_CATEGORIES_ALL, &d), 0);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_true(d.matched);
	m[1] = m[2];
	assert_int_equal(pol_decide_matches(m, 2, POL_CATEGORIES_ALL, &d), 0);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_int_equal(d.match.list_id, 2);
	assert_int_equal(pol_decide_matches(m + 1, 1, ADULT, &d), 0);
	assert_int_equal(d.kind, POL_DECISION_BLOCK);
	assert_int_equal(d.reason, CFG_REASON_POLICY);
	assert_int_equal(pol_decide_matches(NULL, 0, POL_CATEGORIES_ALL, &d), 0);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_false(d.matched);
}

static struct pol_decision decide_view(const struct bl_view *v, const char *name,
				       uint32_t enforced)
{
	uint8_t w[256];
	size_t n = wire(name, w);
	struct pol_decision d;
	assert_int_equal(pol_decide_view(v, w, n, enforced, &d), 0);
	return d;
}

/* Layers: file lists, then the national list as base + overlay. */
static void test_decide_view(void **state)
{
	static const char zone[] = "@ SOA ns admin 1 3600 600 86400 60\n"
				   "casino.vn CNAME .\n*.casino.vn CNAME .\n"
				   "lotto.vn CNAME .\n*.lotto.vn CNAME .\n";
	const char *rm[] = {"casino.vn.rpz.national.vn. 60 IN CNAME .",
			    "*.casino.vn.rpz.national.vn. 60 IN CNAME ."};
	const char *added[] = {"evil.vn.rpz.national.vn. 60 IN CNAME rpz-drop.",
			       "*.evil.vn.rpz.national.vn. 60 IN CNAME rpz-drop.",
			       "ok.lotto.vn.rpz.national.vn. 60 IN CNAME rpz-passthru."};
	struct bl_builder *b = bl_builder_new(100);
	struct bl_set *files = NULL, *base = NULL, *ov = NULL;
	struct bl_overlay *o;
	struct bl_view *v = NULL;
	struct pol_decision d;

	add(b, "example.vn", ADULT, 1, SB, BL_ACTION_POLICY);
	add(b, "ok.evil.vn", ADULT, 2, SB | BL_ALLOW, BL_ACTION_PASSTHRU);
	assert_int_equal(bl_builder_finish(b, &files), 0);
	bl_builder_free(b);
	b = bl_builder_new(100);
	assert_int_equal(bl_parse_buffer(BL_FORMAT_RPZ, zone, strlen(zone), "rpz.national.vn.", b,
					 3, NAT, NULL),
			 0);
	assert_int_equal(bl_builder_finish(b, &base), 0);
	bl_builder_free(b);
	o = bl_overlay_new(base, 3, "national", NAT, "rpz.national.vn.");
	assert_non_null(o);
	assert_int_equal(bl_overlay_apply(o, rm, 2, added, 3, NULL, 0), 0);
	assert_int_equal(bl_overlay_compile(o, &ov), 0);
	bl_overlay_free(o);
	{
		struct bl_set *bases[2] = {files, base}, *overlays[2] = {NULL, ov};

		assert_int_equal(bl_view_new(bases, overlays, 2, &v), 0);
	}

	/* deleted from the national list by the delta */
	d = decide_view(v, "www.casino.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_false(d.matched);
	/* added by the delta; a school's allow cannot loosen it */
	d = decide_view(v, "evil.vn", 0);
	assert_int_equal(d.kind, POL_DECISION_DROP);
	assert_int_equal(d.reason, CFG_REASON_NATIONAL);
	assert_int_equal(d.match.layer, 1);
	assert_int_equal(d.match.from_overlay, 1);
	d = decide_view(v, "ok.evil.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_DROP);
	assert_int_equal(d.reason, CFG_REASON_NATIONAL);
	assert_int_equal(d.match.labels_below, 1);
	/* the authority's own exception, added by the delta, passes its base's block */
	d = decide_view(v, "ok.lotto.vn", POL_CATEGORIES_ALL);
	assert_int_equal(d.kind, POL_DECISION_PASS);
	assert_true(d.match.flags & BL_ALLOW);
	assert_int_equal(d.match.from_overlay, 1);
	assert_int_equal(decide_view(v, "lotto.vn", 0).kind, POL_DECISION_BLOCK);
	/* the file lists, layer 0 */
	d = decide_view(v, "www.example.vn", ADULT);
	assert_int_equal(d.kind, POL_DECISION_BLOCK);
	assert_int_equal(d.reason, CFG_REASON_POLICY);
	assert_int_equal(d.match.layer, 0);
	assert_int_equal(decide_view(v, "www.example.vn", GAMES).kind, POL_DECISION_PASS);
	assert_int_equal(decide_view(NULL, "evil.vn", POL_CATEGORIES_ALL).kind, POL_DECISION_PASS);
	bl_view_free(v);
	bl_set_unref(files);
	bl_set_unref(base);
	bl_set_unref(ov);

	/* one layer: exactly pol_decide_name() */
	{
		static const char *const names[] = {"www.example.vn", "x.good.example.vn",
						    "bad.good.example.vn", "ok.casino.vn",
						    "exempt.casino.vn", "a.drop.vn", "only.vn",
						    "a.only.vn", "both.vn", "none.vn"};
		struct bl_set *set = make_set();

		assert_int_equal(bl_view_new(&set, NULL, 1, &v), 0);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct pol_decision a = decide(set, names[i], ADULT);
			struct pol_decision c = decide_view(v, names[i], ADULT);

			assert_int_equal(a.kind, c.kind);
			assert_int_equal(a.reason, c.reason);
			assert_int_equal(a.categories, c.categories);
			assert_int_equal(a.matched, c.matched);
			assert_int_equal(a.match.entry, c.match.entry);
		}
		bl_view_free(v);
		bl_set_unref(set);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specificity),
		cmocka_unit_test(test_national_cannot_be_loosened),
		cmocka_unit_test(test_enforced_categories),
		cmocka_unit_test(test_decide_matches),
		cmocka_unit_test(test_decide_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
