/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the zone-transfer delta (blocklists/overlay.c) seen through a view
 * (blocklists/view.c): IXFR-style deltas over an RPZ base, persistence, all-or-nothing
 * failures, and a randomized differential test against sets compiled from scratch.
 */
#include <errno.h>
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

#include "blocklists/internal.h"
#include "blocklists/overlay.h"
#include "blocklists/parse.h"
#include "blocklists/set.h"
#include "blocklists/view.h"
#include "core/alloc.h"
#include "core/dname.h"
#include "core/error.h"

#define ORIGIN "rpz.national.vn."
#define Z ".rpz.national.vn. 300 IN "
#define LIST 3
#define CATS 1u
#define MAXM 32

static char tmpdir[] = "/tmp/lanhmanh-test-overlay.XXXXXX";

/* ---- helpers -------------------------------------------------------------------------------- */

static struct bl_set *compile_zone(const char *text)
{
	struct bl_builder *b = bl_builder_new(100000);
	struct bl_parse_report rep;
	struct bl_set *set = NULL;

	assert_non_null(b);
	assert_int_equal(bl_builder_set_list_name(b, LIST, "national"), 0);
	assert_int_equal(
		bl_parse_buffer(BL_FORMAT_RPZ, text, strlen(text), ORIGIN, b, LIST, CATS, &rep), 0);
	if (rep.bad)
		print_error("line %u: %s\n", rep.diags[0].line, rep.diags[0].message);
	assert_int_equal(rep.bad, 0);
	bl_parse_report_clear(&rep);
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

/* A view of @base under the current state of @o (one layer). */
static struct bl_view *view_of(struct bl_set *base, const struct bl_overlay *o)
{
	struct bl_set *ov = NULL;
	struct bl_view *v = NULL;

	assert_int_equal(bl_overlay_compile(o, &ov), 0);
	assert_int_equal(bl_view_new(&base, &ov, 1, &v), 0);
	bl_set_unref(ov);
	return v;
}

static size_t look(const struct bl_view *v, const char *text, struct bl_match *m)
{
	uint8_t w[CORE_DNAME_WIRE_MAX];
	const char *why = NULL;
	size_t n = core_dname_from_text(text, strlen(text), w, &why);

	assert_true(n > 0);
	return bl_view_lookup(v, w, n, m, MAXM);
}

/* @text has exactly the matches @n, each (flags, action, labels_below, from_overlay). */
static void expect(const struct bl_view *v, const char *text, size_t n, const uint8_t (*want)[4])
{
	struct bl_match m[MAXM];
	size_t got = look(v, text, m);

	if (got != n)
		print_error("%s: %zu matches, wanted %zu\n", text, got, n);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		if (m[i].flags != want[i][0] || m[i].action != want[i][1] ||
		    m[i].labels_below != want[i][2] || m[i].from_overlay != want[i][3])
			print_error("%s[%zu]: flags %#x action %u below %u overlay %u\n", text, i,
				    m[i].flags, m[i].action, m[i].labels_below, m[i].from_overlay);
		assert_int_equal(m[i].flags, want[i][0]);
		assert_int_equal(m[i].action, want[i][1]);
		assert_int_equal(m[i].labels_below, want[i][2]);
		assert_int_equal(m[i].from_overlay, want[i][3]);
		assert_int_equal(m[i].list_id, LIST);
		assert_int_equal(m[i].categories, CATS);
		assert_int_equal(m[i].layer, 0);
	}
}

#define EXPECT(v, text, ...)                                              \
	do {                                                              \
		static const uint8_t want_[][4] = {__VA_ARGS__};          \
		expect(v, text, sizeof(want_) / sizeof(want_[0]), want_); \
	} while (0)
#define EXPECT_NONE(v, text) expect(v, text, 0, NULL)

static void apply_ok(struct bl_overlay *o, const char *const *rm, size_t n_rm,
		     const char *const *add, size_t n_add)
{
	char err[256];
	int rc = bl_overlay_apply(o, rm, n_rm, add, n_add, err, sizeof(err));

	if (rc != 0)
		print_error("apply: %d: %s\n", rc, err);
	assert_int_equal(rc, 0);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Does record list @d (@len bytes) hold exactly the records of @want (@wlen bytes), any order? */
static bool same_records(const uint8_t *d, size_t len, const uint8_t *want, size_t wlen)
{
	size_t n1 = 0, n2 = 0;

	for (size_t p = 0; p < len; p += 4 + ((size_t)d[p + 2] << 8 | d[p + 3])) {
		size_t rl = 4 + ((size_t)d[p + 2] << 8 | d[p + 3]);
		bool found = false;

		for (size_t q = 0; q < wlen && !found;
		     q += 4 + ((size_t)want[q + 2] << 8 | want[q + 3]))
			found = 4 + ((size_t)want[q + 2] << 8 | want[q + 3]) == rl &&
				memcmp(want + q, d + p, rl) == 0;
		if (!found)
			return false;
		n1++;
	}
	for (size_t q = 0; q < wlen; q += 4 + ((size_t)want[q + 2] << 8 | want[q + 3]))
		n2++;
	/* no duplicates on either side in these tests, so equal counts mean equal sets */
	return n1 == n2;
}

/* The local data of the first match of @text. */
static const uint8_t *data_of(const struct bl_view *v, const char *text, size_t *len)
{
	struct bl_match m[MAXM];
	const struct bl_set *set;

	assert_true(look(v, text, m) >= 1);
	set = bl_view_match_set(v, &m[0]);
	assert_non_null(set);
	return bl_set_local_data(set, m[0].entry, len);
}

static const char base_zone[] = "$ORIGIN rpz.national.vn.\n"
				"@ 300 IN SOA ns admin 1 3600 600 86400 60\n"
				"@ 300 IN NS ns.example.\n"
				"x.vn CNAME .\n"
				"*.x.vn CNAME .\n"
				"y.vn CNAME .\n"
				"*.y.vn CNAME .\n"
				"w.vn A 10.0.0.1\n"
				"w.vn A 10.0.0.2\n"
				"p.vn CNAME .\n"
				"*.p.vn CNAME rpz-passthru.\n"
				"d.vn CNAME rpz-drop.\n";

struct fx {
	struct bl_set *base;
	struct bl_overlay *o;
};

static struct fx fx_new(void)
{
	struct fx f;

	f.base = compile_zone(base_zone);
	f.o = bl_overlay_new(f.base, LIST, "national", CATS, ORIGIN);
	assert_non_null(f.o);
	return f;
}

static void fx_free(struct fx *f)
{
	bl_overlay_free(f->o);
	bl_set_unref(f->base);
}

/* ---- deltas --------------------------------------------------------------------------------- */

enum {
	SELF = BL_MATCH_SELF,
	BELOW = BL_MATCH_BELOW,
	SB = SELF | BELOW,
	ALLOW = BL_ALLOW
};
enum {
	POL = BL_ACTION_POLICY,
	NX = BL_ACTION_NXDOMAIN,
	NODATA = BL_ACTION_NODATA,
	PASS = BL_ACTION_PASSTHRU,
	DROP = BL_ACTION_DROP,
	LOCAL = BL_ACTION_LOCAL_DATA
};

static void test_empty_overlay(void **state)
{
	struct fx f = fx_new();
	struct bl_view *v = view_of(f.base, f.o);

	assert_int_equal(bl_overlay_count(f.o), 0);
	EXPECT(v, "x.vn", {SB, NX, 0, 0});
	EXPECT(v, "a.x.vn", {SB, NX, 1, 0});
	EXPECT(v, "p.vn", {SELF, NX, 0, 0});
	EXPECT(v, "a.p.vn", {BELOW | ALLOW, PASS, 1, 0});
	EXPECT(v, "d.vn", {SELF, DROP, 0, 0});
	EXPECT_NONE(v, "a.d.vn");
	EXPECT_NONE(v, "z.vn");
	bl_view_free(v);
	fx_free(&f);
}

static void test_remove_wildcard(void **state)
{
	struct fx f = fx_new();
	const char *rm[] = {"*.x.vn" Z "CNAME ."};
	struct bl_view *v;

	apply_ok(f.o, rm, N(rm), NULL, 0);
	assert_int_equal(bl_overlay_count(f.o), 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "x.vn", {SELF, NX, 0, 1});
	EXPECT_NONE(v, "a.x.vn");
	EXPECT_NONE(v, "b.a.x.vn");
	EXPECT(v, "y.vn", {SB, NX, 0, 0}); /* untouched: from the base */
	bl_view_free(v);
	fx_free(&f);
}

static void test_change_action(void **state)
{
	struct fx f = fx_new();
	const char *rm[] = {"x.vn" Z "CNAME .", "*.x.vn" Z "CNAME ."};
	const char *add[] = {"x.vn" Z "CNAME *.", "*.x.vn" Z "CNAME *."};
	const char *rm1[] = {"y.vn" Z "CNAME ."};
	const char *add1[] = {"y.vn" Z "CNAME *."};
	struct bl_view *v;

	apply_ok(f.o, rm, N(rm), add, N(add));
	apply_ok(f.o, rm1, N(rm1), add1, N(add1));
	v = view_of(f.base, f.o);
	EXPECT(v, "x.vn", {SB, NODATA, 0, 1});
	EXPECT(v, "a.x.vn", {SB, NODATA, 1, 1});
	/* y's own trigger changed, its wildcard did not: one entry, the name's own action */
	EXPECT(v, "y.vn", {SB, NODATA, 0, 1});
	bl_view_free(v);
	fx_free(&f);
}

static void test_add_and_remove_names(void **state)
{
	struct fx f = fx_new();
	const char *add[] = {
		"rpz.national.vn. 300 IN SOA ns.rpz.national.vn. admin.rpz.national.vn. 2 3600 600 "
		"86400 60",
		"new.vn" Z "CNAME .",
		"*.new.vn" Z "CNAME rpz-drop.",
	};
	const char *rm[] = {
		"rpz.national.vn. 300 IN SOA ns.rpz.national.vn. admin.rpz.national.vn. 1 3600 600 "
		"86400 60",
		"x.vn" Z "CNAME .",
		"*.x.vn" Z "CNAME .",
		"d.vn" Z "CNAME rpz-drop.",
	};
	struct bl_match m[MAXM], x;
	struct bl_set *ov = NULL;
	struct bl_view *v;
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t n;

	apply_ok(f.o, rm, N(rm), add, N(add));
	assert_int_equal(bl_overlay_count(f.o), 3);
	v = view_of(f.base, f.o);
	EXPECT(v, "new.vn", {SB, NX, 0, 1});
	EXPECT(v, "a.new.vn", {SB, NX, 1, 1});
	/* removed entirely: the shadow hides the base entry */
	EXPECT_NONE(v, "x.vn");
	EXPECT_NONE(v, "a.x.vn");
	EXPECT_NONE(v, "d.vn");
	EXPECT(v, "y.vn", {SB, NX, 0, 0});
	bl_view_free(v);

	/* the compiled overlay: shadows, which plain lookups never return */
	assert_int_equal(bl_overlay_compile(f.o, &ov), 0);
	assert_int_equal(bl_set_count(ov), 3);
	n = core_dname_from_text("x.vn", 4, w, &(const char *){NULL});
	assert_int_equal(bl_set_find(ov, w, n, false, &x), 0);
	assert_int_equal(x.flags, BL_SHADOW);
	assert_int_equal(bl_set_lookup(ov, w, n, m, MAXM), 0);
	assert_int_equal(bl_set_lookup_raw(ov, w, n, m, MAXM), 1);
	assert_string_equal(bl_set_list_name(ov, LIST), "national");
	bl_set_unref(ov);

	/* added back: the overlay entry is real again */
	apply_ok(f.o, NULL, 0, rm + 1, 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "x.vn", {SELF, NX, 0, 1});
	EXPECT_NONE(v, "a.x.vn");
	bl_view_free(v);

	/* a name the base does not have, removed again, leaves the overlay */
	apply_ok(f.o, add + 1, 2, NULL, 0);
	assert_int_equal(bl_overlay_count(f.o), 2);
	v = view_of(f.base, f.o);
	EXPECT_NONE(v, "new.vn");
	bl_view_free(v);
	/* removing what is not there is no error */
	apply_ok(f.o, add + 1, 2, NULL, 0);
	assert_int_equal(bl_overlay_count(f.o), 2);
	fx_free(&f);
}

static const uint8_t rec_a1[] = {0, 1, 0, 4, 10, 0, 0, 1};
static const uint8_t rec_a2[] = {0, 1, 0, 4, 10, 0, 0, 2};
/* A 10.0.0.2, AAAA fd00::1 */
static const uint8_t rec_a2_aaaa1[] = {
	0, 1,  0, 4,  10,   0, 0, 2,					 /* A */
	0, 28, 0, 16, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* AAAA */
};
_Static_assert(sizeof(rec_a2_aaaa1) == 8 + 20, "two records");

static void test_local_data(void **state)
{
	struct fx f = fx_new();
	const char *rm[] = {"w.vn" Z "A 10.0.0.1"};
	const char *add[] = {"w.vn" Z "AAAA fd00::1"};
	const char *rm2[] = {"w.vn" Z "A 10.0.0.2", "w.vn" Z "AAAA fd00::1"};
	const char *add3[] = {"*.w.vn" Z "A 10.0.0.1"};
	struct bl_view *v;
	const uint8_t *d;
	size_t len;

	v = view_of(f.base, f.o);
	d = data_of(v, "w.vn", &len);
	assert_true(same_records(
		d, len, (const uint8_t[]){0, 1, 0, 4, 10, 0, 0, 1, 0, 1, 0, 4, 10, 0, 0, 2}, 16));
	bl_view_free(v);

	apply_ok(f.o, rm, N(rm), add, N(add));
	v = view_of(f.base, f.o);
	EXPECT(v, "w.vn", {SELF, LOCAL, 0, 1});
	d = data_of(v, "w.vn", &len);
	assert_true(same_records(d, len, rec_a2_aaaa1, sizeof(rec_a2_aaaa1)));
	bl_view_free(v);

	/* one record of two removed: the name stays, with the other */
	apply_ok(f.o, rm2 + 1, 1, NULL, 0);
	v = view_of(f.base, f.o);
	EXPECT(v, "w.vn", {SELF, LOCAL, 0, 1});
	d = data_of(v, "w.vn", &len);
	assert_true(same_records(d, len, rec_a2, sizeof(rec_a2)));
	bl_view_free(v);

	/* the last one removed: gone; then the wildcard gets its own record */
	apply_ok(f.o, rm2, 1, NULL, 0);
	v = view_of(f.base, f.o);
	EXPECT_NONE(v, "w.vn");
	bl_view_free(v);
	apply_ok(f.o, NULL, 0, add3, N(add3));
	v = view_of(f.base, f.o);
	EXPECT_NONE(v, "w.vn");
	EXPECT(v, "a.w.vn", {BELOW, LOCAL, 1, 1});
	d = data_of(v, "a.w.vn", &len);
	assert_true(same_records(d, len, rec_a1, sizeof(rec_a1)));
	bl_view_free(v);

	/* a CNAME replaces the records; records replace a CNAME */
	apply_ok(f.o, add3, 1, (const char *[]){"*.w.vn" Z "CNAME ."}, 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "a.w.vn", {BELOW, NX, 1, 1});
	d = data_of(v, "a.w.vn", &len);
	assert_null(d);
	bl_view_free(v);
	apply_ok(f.o, (const char *[]){"*.w.vn" Z "CNAME ."}, 1,
		 (const char *[]){"*.w.vn" Z "CNAME garden.example."}, 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "a.w.vn", {BELOW, LOCAL, 1, 1});
	d = data_of(v, "a.w.vn", &len);
	assert_non_null(d);
	assert_int_equal(d[1], 5); /* a CNAME record */
	bl_view_free(v);
	fx_free(&f);
}

static void test_passthru_variant(void **state)
{
	struct fx f = fx_new();
	const char *rm_allow[] = {"*.p.vn" Z "CNAME rpz-passthru."};
	const char *rm_block[] = {"p.vn" Z "CNAME ."};
	const char *add_allow[] = {"p.vn" Z "CNAME rpz-passthru."};
	struct bl_view *v;

	/* the allow entry goes, the block entry of the same name stays (from the base) */
	apply_ok(f.o, rm_allow, 1, NULL, 0);
	v = view_of(f.base, f.o);
	EXPECT(v, "p.vn", {SELF, NX, 0, 0});
	EXPECT_NONE(v, "a.p.vn");
	bl_view_free(v);

	/* the block entry goes, the allow entry comes back, both on the name itself */
	apply_ok(f.o, rm_block, 1, add_allow, 1);
	apply_ok(f.o, NULL, 0, rm_allow, 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "p.vn", {SB | ALLOW, PASS, 0, 1});
	EXPECT(v, "a.p.vn", {SB | ALLOW, PASS, 1, 1});
	bl_view_free(v);
	assert_int_equal(bl_overlay_count(f.o), 2);

	/* block on the name, allow below it, from the overlay */
	apply_ok(f.o, add_allow, 1, rm_block, 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "p.vn", {SELF, NX, 0, 1});
	EXPECT(v, "a.p.vn", {BELOW | ALLOW, PASS, 1, 1});
	bl_view_free(v);
	fx_free(&f);
}

static void test_accumulate(void **state)
{
	struct fx f = fx_new();
	const char *add1[] = {"n.vn" Z "A 10.0.0.1"};
	const char *add2[] = {"n.vn" Z "A 10.0.0.2", "*.n.vn" Z "CNAME ."};
	const char *rm3[] = {"n.vn" Z "A 10.0.0.1"};
	const char *add3[] = {"a.n.vn" Z "CNAME rpz-drop."};
	struct bl_view *v;
	const uint8_t *d;
	size_t len;

	apply_ok(f.o, NULL, 0, add1, 1);
	apply_ok(f.o, NULL, 0, add2, 2);
	apply_ok(f.o, rm3, 1, add3, 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "n.vn", {SB, LOCAL, 0, 1});
	d = data_of(v, "n.vn", &len);
	/* the name's own records; the wildcard's CNAME . has none */
	assert_true(same_records(d, len, rec_a2, sizeof(rec_a2)));
	EXPECT(v, "a.n.vn", {SELF, DROP, 0, 1}, {SB, LOCAL, 1, 1});
	EXPECT(v, "b.a.n.vn", {SB, LOCAL, 2, 1});
	bl_view_free(v);
	assert_int_equal(bl_overlay_count(f.o), 2);
	fx_free(&f);
}

static void test_parse_errors(void **state)
{
	struct fx f = fx_new();
	const char *good[] = {"x.vn" Z "CNAME rpz-passthru."};
	const char *bad_rr[] = {"q.vn" Z "CNAME .", "q2.vn" Z "A 300.1.1.1"};
	const char *outside[] = {"q.example.com. 300 IN CNAME ."};
	const char *blank[] = {" 300 IN CNAME ."};
	const char *two[] = {"q.vn" Z "CNAME .\nr.vn" Z "CNAME ."};
	const char *paren[] = {"q.vn" Z "A ( 10.0.0.1"};
	const char *dir[] = {"$ORIGIN example."};
	const char *nul[] = {NULL};
	char err[256];
	struct bl_view *v;

	apply_ok(f.o, NULL, 0, good, 1);
	assert_int_equal(bl_overlay_apply(f.o, good, 1, bad_rr, 2, err, sizeof(err)), CORE_EPARSE);
	assert_non_null(strstr(err, "added RR 2"));
	assert_non_null(strstr(err, "300.1.1.1"));
	assert_int_equal(bl_overlay_apply(f.o, outside, 1, NULL, 0, err, sizeof(err)), CORE_EPARSE);
	assert_non_null(strstr(err, "removed RR 1"));
	assert_non_null(strstr(err, "outside the zone"));
	assert_int_equal(bl_overlay_apply(f.o, NULL, 0, blank, 1, err, sizeof(err)), CORE_EPARSE);
	assert_non_null(strstr(err, "blank"));
	assert_int_equal(bl_overlay_apply(f.o, NULL, 0, two, 1, err, sizeof(err)), CORE_EPARSE);
	assert_int_equal(bl_overlay_apply(f.o, NULL, 0, paren, 1, err, sizeof(err)), CORE_EPARSE);
	assert_int_equal(bl_overlay_apply(f.o, NULL, 0, dir, 1, err, sizeof(err)), CORE_EPARSE);
	assert_int_equal(bl_overlay_apply(f.o, NULL, 0, nul, 1, NULL, 0), CORE_EPARSE);
	assert_int_equal(bl_overlay_apply(NULL, NULL, 0, nul, 1, NULL, 0), -EINVAL);
	assert_int_equal(bl_overlay_apply(f.o, NULL, 1, NULL, 0, NULL, 0), -EINVAL);
	/* nothing of the failed deltas was applied */
	assert_int_equal(bl_overlay_count(f.o), 1);
	v = view_of(f.base, f.o);
	EXPECT(v, "x.vn", {SB, NX, 0, 0}, {SELF | ALLOW, PASS, 0, 1});
	EXPECT_NONE(v, "q.vn");
	bl_view_free(v);
	/* a trailing newline is fine */
	apply_ok(f.o, NULL, 0, (const char *[]){"q.vn" Z "CNAME .\n"}, 1);
	assert_int_equal(bl_overlay_count(f.o), 2);
	/* bad arguments */
	assert_null(bl_overlay_new(f.base, LIST, "national", CATS, "bad..origin"));
	assert_null(bl_overlay_new(f.base, BL_MAX_LISTS, "national", CATS, ORIGIN));
	assert_null(bl_overlay_new(f.base, LIST, NULL, CATS, ORIGIN));
	fx_free(&f);
}

/* Every query of @names: the same matches (fields and local data) in both views. */
static void same_views(const struct bl_view *a, const struct bl_view *b, const char *const *names,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct bl_match ma[MAXM], mb[MAXM];
		size_t na = look(a, names[i], ma), nb = look(b, names[i], mb);

		assert_int_equal(na, nb);
		for (size_t k = 0; k < na; k++) {
			size_t la, lb;
			const uint8_t *da =
				bl_set_local_data(bl_view_match_set(a, &ma[k]), ma[k].entry, &la);
			const uint8_t *db =
				bl_set_local_data(bl_view_match_set(b, &mb[k]), mb[k].entry, &lb);

			assert_int_equal(ma[k].flags, mb[k].flags);
			assert_int_equal(ma[k].action, mb[k].action);
			assert_int_equal(ma[k].labels_below, mb[k].labels_below);
			assert_int_equal(ma[k].categories, mb[k].categories);
			assert_int_equal(ma[k].list_id, mb[k].list_id);
			assert_int_equal(ma[k].from_overlay, mb[k].from_overlay);
			assert_int_equal(la, lb);
			if (la)
				assert_memory_equal(da, db, la);
		}
	}
}

static void test_persist_roundtrip(void **state)
{
	static const char *const names[] = {"x.vn", "a.x.vn", "y.vn", "a.y.vn", "w.vn", "a.w.vn",
					    "p.vn", "a.p.vn", "n.vn", "a.n.vn", "d.vn"};
	struct fx f = fx_new();
	const char *rm[] = {"*.x.vn" Z "CNAME .", "w.vn" Z "A 10.0.0.1", "d.vn" Z "CNAME rpz-drop.",
			    "*.p.vn" Z "CNAME rpz-passthru.", "*.y.vn" Z "CNAME ."};
	const char *add[] = {"n.vn" Z "AAAA fd00::1", "*.n.vn" Z "AAAA fd00::1",
			     "p.vn" Z "CNAME rpz-passthru.", "*.y.vn" Z "CNAME *."};
	const char *more[] = {"*.n.vn" Z "A 10.0.0.9"};
	struct bl_set *ov = NULL, *mapped = NULL;
	struct bl_overlay *o2 = NULL, *o3 = NULL;
	struct bl_view *v1, *v2;
	char path[256];

	apply_ok(f.o, rm, N(rm), add, N(add));
	assert_int_equal(bl_overlay_compile(f.o, &ov), 0);
	snprintf(path, sizeof(path), "%s/national.overlay", tmpdir);
	assert_int_equal(bl_set_write(ov, path), 0);
	bl_set_unref(ov);
	assert_int_equal(bl_set_open(path, &mapped), 0);
	assert_int_equal(bl_overlay_from_set(f.base, mapped, LIST, "national", CATS, ORIGIN, &o2),
			 0);
	assert_int_equal(bl_overlay_count(o2), bl_overlay_count(f.o));

	/* the mapped set itself, and the rebuilt overlay's compile, answer as the original */
	v1 = view_of(f.base, f.o);
	assert_int_equal(bl_view_new(&f.base, &mapped, 1, &v2), 0);
	same_views(v1, v2, names, N(names));
	bl_view_free(v2);
	v2 = view_of(f.base, o2);
	same_views(v1, v2, names, N(names));
	bl_view_free(v1);
	bl_view_free(v2);

	/* and they go on the same way */
	apply_ok(f.o, NULL, 0, more, 1);
	apply_ok(o2, NULL, 0, more, 1);
	v1 = view_of(f.base, f.o);
	v2 = view_of(f.base, o2);
	same_views(v1, v2, names, N(names));
	bl_view_free(v1);
	bl_view_free(v2);

	/* an overlay set of another list is refused */
	assert_int_equal(bl_overlay_from_set(f.base, mapped, LIST + 1, "other", CATS, ORIGIN, &o3),
			 -EINVAL);
	assert_null(o3);
	bl_overlay_free(o2);
	bl_set_unref(mapped);
	unlink(path);
	fx_free(&f);
}

/* ---- allocation failures -------------------------------------------------------------------- */

/* Did the failure armed with core_alloc_fail_at(@n) fire? (as in test_set.c) */
static bool failure_fired(uint64_t n)
{
	bool fired = true;

	for (uint64_t i = 0; i < n; i++) {
		void *p = core_malloc(1);

		if (!p) {
			fired = false;
			break;
		}
		core_free(p);
	}
	core_alloc_fail_at(0);
	return fired;
}

static void test_alloc_failures(void **state)
{
	static const char *const names[] = {"x.vn", "a.x.vn", "w.vn", "n.vn", "a.n.vn", "p.vn"};
	struct fx f = fx_new();
	const char *rm[] = {"*.x.vn" Z "CNAME .", "w.vn" Z "A 10.0.0.1"};
	const char *add[] = {"n.vn" Z "A 10.0.0.1", "*.n.vn" Z "CNAME .", "w.vn" Z "A 10.0.0.3"};
	const char *first[] = {"p.vn" Z "CNAME rpz-passthru."};
	struct bl_view *before, *after;
	uint64_t n;

	apply_ok(f.o, NULL, 0, first, 1);
	before = view_of(f.base, f.o);
	for (n = 1; n < 10000; n++) {
		uint64_t live = core_alloc_live_bytes();
		int rc;

		core_alloc_fail_at(n);
		rc = bl_overlay_apply(f.o, rm, N(rm), add, N(add), NULL, 0);
		if (!failure_fired(n)) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(core_alloc_live_bytes(), live);
		/* unchanged */
		after = view_of(f.base, f.o);
		same_views(before, after, names, N(names));
		bl_view_free(after);
	}
	assert_true(n > 10);
	bl_view_free(before);

	/* compile and from_set fail cleanly too */
	for (n = 1; n < 10000; n++) {
		uint64_t live = core_alloc_live_bytes();
		struct bl_set *ov = NULL;
		struct bl_overlay *o2 = NULL;
		int rc;

		core_alloc_fail_at(n);
		rc = bl_overlay_compile(f.o, &ov);
		if (rc == 0)
			rc = bl_overlay_from_set(f.base, ov, LIST, "national", CATS, ORIGIN, &o2);
		if (!failure_fired(n)) {
			assert_int_equal(rc, 0);
			bl_overlay_free(o2);
			bl_set_unref(ov);
			break;
		}
		assert_int_equal(rc, -ENOMEM);
		bl_set_unref(ov);
		assert_int_equal(core_alloc_live_bytes(), live);
	}
	fx_free(&f);
}

/* ---- randomized differential test ----------------------------------------------------------- */

/*
 * A zone of RPZ owners over a small tree of names, changed by random IXFR-style deltas; after
 * each, the base + overlay view must answer exactly as a set compiled from scratch from the
 * zone's whole content (the truth), for every name of the tree and names below them.
 */

#define U_MAX 48
#define N_ADDR 6

enum kind {
	K_NONE,
	K_NX,
	K_NODATA,
	K_PASS,
	K_DROP,
	K_ADDRS,
	K_GARDEN,
	K_COUNT
};

struct rrset {
	uint8_t kind;
	uint8_t addrs; /**< K_ADDRS: bit i = address i, never 0 */
};

struct dzone {
	char names[U_MAX][32];
	size_t n;
	struct rrset own[U_MAX][2]; /**< [name][0: "x", 1: "*.x"] */
	unsigned serial;
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 11) % n);
}

static const char *const addr_rr[N_ADDR] = {"A 10.0.0.1", "A 10.0.0.2",	  "A 10.0.0.3",
					    "A 10.0.0.4", "AAAA fd00::1", "AAAA fd00::2"};

static bool is_allow(uint8_t kind)
{
	return kind == K_PASS;
}

/* The records of owner (@i, @wild) with @r, one line each, into @lines (from @n). */
static size_t rr_lines(const struct dzone *z, size_t i, int wild, const struct rrset *r,
		       char (*lines)[96], size_t n)
{
	const char *pfx = wild ? "*." : "";

	switch (r->kind) {
	case K_NONE:
		return n;
	case K_ADDRS:
		for (int a = 0; a < N_ADDR; a++)
			if (r->addrs & (1u << a))
				snprintf(lines[n++], 96, "%s%s" Z "%s", pfx, z->names[i],
					 addr_rr[a]);
		return n;
	default:
		snprintf(lines[n++], 96, "%s%s" Z "CNAME %s", pfx, z->names[i],
			 r->kind == K_NX     ? "." :
			 r->kind == K_NODATA ? "*." :
			 r->kind == K_PASS   ? "rpz-passthru." :
			 r->kind == K_DROP   ? "rpz-drop." :
					       "garden.example.");
		return n;
	}
}

static struct rrset random_rrset(void)
{
	struct rrset r = {.kind = (uint8_t)(1 + rnd(K_COUNT - 1))};

	if (r.kind == K_ADDRS)
		r.addrs = (uint8_t)(1 + rnd((1u << N_ADDR) - 1));
	return r;
}

static void zone_init(struct dzone *z)
{
	static const char *const l[] = {"a", "b", "c", "d"};

	memset(z, 0, sizeof(*z));
	snprintf(z->names[z->n++], 32, "vn");
	for (int i = 0; i < 4; i++)
		snprintf(z->names[z->n++], 32, "%s.vn", l[i]);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			snprintf(z->names[z->n++], 32, "%s.%s.vn", l[j], l[i]);
	while (z->n < U_MAX) {
		char name[32];
		bool dup = false;

		snprintf(name, sizeof(name), "%s.%s.%s.vn", l[rnd(4)], l[rnd(4)], l[rnd(4)]);
		for (size_t k = 0; k < z->n && !dup; k++)
			dup = strcmp(z->names[k], name) == 0;
		if (!dup)
			memcpy(z->names[z->n++], name, sizeof(name));
	}
	/*
	 * The base: where "x" and "*.x" are the same variant they have the same records (the set
	 * form of a base keeps one action and one record list per entry, see overlay.h).
	 */
	for (size_t i = 0; i < z->n; i++) {
		struct rrset *s = &z->own[i][0], *w = &z->own[i][1];

		if (rnd(2))
			*s = random_rrset();
		if (s->kind != K_NONE && rnd(10) < 4) {
			*w = *s;
		} else if (rnd(10) < 3) {
			*w = random_rrset();
			if (s->kind != K_NONE && is_allow(w->kind) == is_allow(s->kind))
				*w = *s;
		}
	}
	z->serial = 1;
}

static char *zone_text(const struct dzone *z)
{
	static char lines[U_MAX * 2 * N_ADDR][96];
	size_t n = 0, cap = 256, len;
	char *text;

	for (size_t i = 0; i < z->n; i++)
		for (int wild = 0; wild < 2; wild++) /* canonical order: "x", then "*.x" */
			n = rr_lines(z, i, wild, &z->own[i][wild], lines, n);
	for (size_t i = 0; i < n; i++)
		cap += strlen(lines[i]) + 1;
	text = malloc(cap);
	assert_non_null(text);
	len = (size_t)snprintf(text, cap, "@ 300 IN SOA ns admin %u 3600 600 86400 60\n",
			       z->serial);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\n", lines[i]);
	return text;
}

/* Lines of @a that are not in @b. */
static size_t minus(char (*a)[96], size_t na, char (*b)[96], size_t nb, const char **out, size_t n)
{
	for (size_t i = 0; i < na; i++) {
		bool in = false;

		for (size_t k = 0; k < nb && !in; k++)
			in = strcmp(a[i], b[k]) == 0;
		if (!in)
			out[n++] = a[i];
	}
	return n;
}

static void shuffle(const char **v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd((uint32_t)i);
		const char *t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/*
 * The records of @d (@len bytes) without repeats, into @out; its length. A set compiled from a
 * zone repeats a record "x" and "*.x" share (the builder appends); the overlay does not.
 */
static size_t dedup(const uint8_t *d, size_t len, uint8_t out[4096])
{
	size_t lo = 0;

	for (size_t p = 0; p < len; p += 4 + ((size_t)d[p + 2] << 8 | d[p + 3])) {
		size_t rl = 4 + ((size_t)d[p + 2] << 8 | d[p + 3]);
		bool seen = false;

		for (size_t r = 0; r < lo && !seen; r += 4 + ((size_t)out[r + 2] << 8 | out[r + 3]))
			seen = 4 + ((size_t)out[r + 2] << 8 | out[r + 3]) == rl &&
			       memcmp(out + r, d + p, rl) == 0;
		if (!seen) {
			assert_true(lo + rl <= 4096);
			memcpy(out + lo, d + p, rl);
			lo += rl;
		}
	}
	return lo;
}

/* The query @which (0: the name itself, 1 and 2: names below it) of name @i of @z. */
static size_t query(const struct dzone *z, size_t i, int which, char q[64],
		    uint8_t w[CORE_DNAME_WIRE_MAX])
{
	const char *why;

	snprintf(q, 64, "%s%s", which == 0 ? "" : which == 1 ? "q." : "r.q.", z->names[i]);
	return core_dname_from_text(q, strlen(q), w, &why);
}

/*
 * Compare view @v with view @truth for every name of the tree, itself and below: the same
 * matches in the same order from the same layers, local data compared as sets of records.
 */
static void check_truth(const struct dzone *z, const struct bl_view *v, const struct bl_view *truth)
{
	for (size_t i = 0; i < z->n; i++) {
		for (int which = 0; which < 3; which++) {
			char q[64];
			uint8_t w[CORE_DNAME_WIRE_MAX];
			struct bl_match mv[MAXM], mt[MAXM];
			size_t len = query(z, i, which, q, w), nv, nt;

			nv = bl_view_lookup(v, w, len, mv, MAXM);
			nt = bl_view_lookup(truth, w, len, mt, MAXM);
			if (nv != nt)
				print_error("%s: view %zu matches, truth %zu\n", q, nv, nt);
			assert_int_equal(nv, nt);
			for (size_t k = 0; k < nv; k++) {
				size_t lv, lt;
				const uint8_t *dv = bl_set_local_data(bl_view_match_set(v, &mv[k]),
								      mv[k].entry, &lv);
				const uint8_t *dt = bl_set_local_data(
					bl_view_match_set(truth, &mt[k]), mt[k].entry, &lt);
				uint8_t ddv[4096], ddt[4096];
				size_t lddv = dedup(dv, lv, ddv), lddt = dedup(dt, lt, ddt);

				if (mv[k].flags != mt[k].flags || mv[k].action != mt[k].action ||
				    mv[k].labels_below != mt[k].labels_below ||
				    mv[k].layer != mt[k].layer)
					print_error(
						"%s[%zu]: view %#x/%u/%u/%u, truth %#x/%u/%u/%u\n",
						q, k, mv[k].flags, mv[k].action, mv[k].labels_below,
						mv[k].layer, mt[k].flags, mt[k].action,
						mt[k].labels_below, mt[k].layer);
				assert_int_equal(mv[k].flags, mt[k].flags);
				assert_int_equal(mv[k].action, mt[k].action);
				assert_int_equal(mv[k].labels_below, mt[k].labels_below);
				assert_int_equal(mv[k].layer, mt[k].layer);
				assert_int_equal(mv[k].categories, mt[k].categories);
				assert_int_equal(mv[k].list_id, mt[k].list_id);
				if (!same_records(ddv, lddv, ddt, lddt))
					print_error("%s[%zu]: local data differs\n", q, k);
				assert_true(same_records(ddv, lddv, ddt, lddt));
			}
		}
	}
}

/* Layer 0 of the two-layer views: random file-list entries over the same names. */
static struct bl_set *random_files(const struct dzone *z)
{
	struct bl_builder *b = bl_builder_new(1000);
	struct bl_set *set = NULL;

	for (size_t i = 0; i < z->n; i++) {
		uint8_t w[CORE_DNAME_WIRE_MAX];
		const char *why;
		size_t len = core_dname_from_text(z->names[i], strlen(z->names[i]), w, &why);
		uint32_t r = rnd(8);

		if (r < 3)
			assert_int_equal(
				bl_builder_add(b, w, len, 2, 1, (uint8_t)(1 + r), 0, 1, NULL, 0),
				0);
		if (r == 3 || r == 4)
			assert_int_equal(bl_builder_add(b, w, len, 2, 2,
							(uint8_t)(BL_ALLOW | (r == 3 ? 3 : 2)),
							BL_ACTION_PASSTHRU, 1, NULL, 0),
					 0);
	}
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

/* A copy of @set under another hash seed (views then hash names twice per layer). */
static struct bl_set *reseeded(const struct bl_set *set)
{
	struct bl_builder *b = bl_builder_new(bl_set_count(set) + 1);
	struct bl_set *copy = NULL;

	for (uint32_t e = 0; e < bl_set_entry_limit(set); e++) {
		struct bl_source src;
		struct bl_match m;
		const uint8_t *d;
		size_t dl;

		if (bl_set_entry(set, e, &m) < 0)
			continue;
		assert_int_equal(bl_set_entry_source(set, e, &src), 0);
		d = bl_set_local_data(set, e, &dl);
		assert_int_equal(bl_builder_add(b, src.name, src.name_len, m.categories, m.list_id,
						m.flags, (enum bl_action)m.action, src.line, d, dl),
				 0);
	}
	assert_int_equal(bl_builder_finish(b, &copy), 0);
	bl_builder_free(b);
	return copy;
}

/* Write the compiled @o, map it, rebuild an overlay from it: @v must not see a difference. */
static void check_persisted(const struct dzone *z, struct bl_set *base, const struct bl_overlay *o,
			    const struct bl_view *v)
{
	struct bl_set *ov = NULL, *mapped = NULL;
	struct bl_overlay *o2 = NULL;
	struct bl_view *v2;
	char path[256];

	snprintf(path, sizeof(path), "%s/differential.overlay", tmpdir);
	assert_int_equal(bl_overlay_compile(o, &ov), 0);
	assert_int_equal(bl_set_write(ov, path), 0);
	bl_set_unref(ov);
	assert_int_equal(bl_set_open(path, &mapped), 0);
	assert_int_equal(bl_overlay_from_set(base, mapped, LIST, "national", CATS, ORIGIN, &o2), 0);
	assert_int_equal(bl_overlay_count(o2), bl_overlay_count(o));
	v2 = view_of(base, o2);
	check_truth(z, v2, v);
	bl_view_free(v2);
	bl_overlay_free(o2);
	bl_set_unref(mapped);
	unlink(path);
}

static void test_differential(void **state)
{
	static char old_lines[U_MAX * 2 * N_ADDR + 1][96], new_lines[U_MAX * 2 * N_ADDR + 1][96];
	const char *rm[U_MAX * 2 * N_ADDR + 2], *add[U_MAX * 2 * N_ADDR + 2];
	size_t applies = 0, checks = 0, shadows = 0;

	for (uint64_t seed = 1; seed <= 24; seed++) {
		struct dzone z;
		struct bl_set *base, *truth, *files;
		struct bl_overlay *o;
		struct bl_view *v, *tv = NULL;
		char *text;

		rng_state = seed * 0x9e3779b97f4a7c15ull;
		zone_init(&z);
		text = zone_text(&z);
		base = compile_zone(text);
		free(text);
		files = random_files(&z);
		o = bl_overlay_new(base, LIST, "national", CATS, ORIGIN);
		assert_non_null(o);
		for (int step = 0; step < 40; step++) {
			size_t n_old = 0, n_new = 0, n_rm = 0, n_add = 0;
			size_t touched = 1 + rnd(6), picked[6];

			for (size_t t = 0; t < touched; t++) {
				size_t i = rnd((uint32_t)z.n);
				int wild = (int)rnd(2);
				struct rrset *r = &z.own[i][wild], nr = *r;
				uint32_t what = rnd(10);
				bool again = false;

				/* one owner at most once per delta, as a server's difference */
				picked[t] = i * 2 + (size_t)wild;
				for (size_t k = 0; k < t && !again; k++)
					again = picked[k] == picked[t];
				if (again)
					continue;

				if (what < 3)
					nr.kind = K_NONE;
				else if (what < 6 && r->kind == K_ADDRS)
					nr.addrs ^= (uint8_t)(1u << rnd(N_ADDR));
				else
					nr = random_rrset();
				if (nr.kind == K_ADDRS && nr.addrs == 0)
					nr.kind = K_NONE;
				if (nr.kind != K_ADDRS)
					nr.addrs = 0;
				n_old = rr_lines(&z, i, wild, r, old_lines, n_old);
				n_new = rr_lines(&z, i, wild, &nr, new_lines, n_new);
				*r = nr;
			}
			n_rm = minus(old_lines, n_old, new_lines, n_new, rm, 0);
			n_add = minus(new_lines, n_new, old_lines, n_old, add, 0);
			snprintf(
				old_lines[n_old], 96,
				"rpz.national.vn. 300 IN SOA ns.example. admin.example. %u 1 1 1 1",
				z.serial);
			z.serial++;
			snprintf(
				new_lines[n_new], 96,
				"rpz.national.vn. 300 IN SOA ns.example. admin.example. %u 1 1 1 1",
				z.serial);
			rm[n_rm++] = old_lines[n_old];
			add[n_add++] = new_lines[n_new];
			shuffle(rm, n_rm);
			shuffle(add, n_add);
			if (rnd(8) == 0) {
				/* a broken copy of the delta changes nothing */
				const char *bad[U_MAX * 2 * N_ADDR + 3];

				memcpy(bad, add, n_add * sizeof(*add));
				bad[n_add] = "bad.vn" Z "A not-an-address";
				assert_int_equal(
					bl_overlay_apply(o, rm, n_rm, bad, n_add + 1, NULL, 0),
					CORE_EPARSE);
			}
			apply_ok(o, rm, n_rm, add, n_add);
			applies++;

			text = zone_text(&z);
			truth = compile_zone(text);
			free(text);
			v = view_of(base, o);
			assert_int_equal(bl_view_new(&truth, NULL, 1, &tv), 0);
			check_truth(&z, v, tv);
			bl_view_free(tv);
			/* the same under a layer of file lists */
			{
				struct bl_set *ov = NULL, *bases[2] = {files, base};
				struct bl_set *overlays[2] = {NULL, NULL}, *tb[2] = {files, truth};
				struct bl_view *v2 = NULL;

				assert_int_equal(bl_overlay_compile(o, &ov), 0);
				overlays[1] = ov;
				assert_int_equal(bl_view_new(bases, overlays, 2, &v2), 0);
				assert_int_equal(bl_view_new(tb, NULL, 2, &tv), 0);
				check_truth(&z, v2, tv);
				bl_view_free(tv);
				bl_view_free(v2);
				bl_set_unref(ov);
			}
			if (step % 10 == 9)
				check_persisted(&z, base, o, v);
			if (step % 4 == 3) {
				/* an overlay under a seed of its own answers the same */
				struct bl_set *ov = NULL, *other;
				struct bl_view *v2 = NULL;

				assert_int_equal(bl_overlay_compile(o, &ov), 0);
				other = reseeded(ov);
				assert_true(bl_set_seed(ov) == bl_set_seed(base));
				assert_true(bl_set_seed(other) != bl_set_seed(base));
				assert_int_equal(bl_view_new(&base, &other, 1, &v2), 0);
				check_truth(&z, v2, v);
				bl_view_free(v2);
				bl_set_unref(other);
				bl_set_unref(ov);
			}
			checks++;
			bl_view_free(v);
			bl_set_unref(truth);
		}
		{
			struct bl_set *ov = NULL;
			struct bl_match m;

			assert_int_equal(bl_overlay_compile(o, &ov), 0);
			for (uint32_t e = 0; e < bl_set_entry_limit(ov); e++)
				if (bl_set_entry(ov, e, &m) == 0 && (m.flags & BL_SHADOW))
					shadows++;
			bl_set_unref(ov);
		}
		bl_overlay_free(o);
		bl_set_unref(files);
		bl_set_unref(base);
	}
	/* the run did exercise deletions of base entries */
	assert_true(shadows > 0);
	print_message(
		"differential: %zu deltas applied and checked (%zu), %zu shadows at the end\n",
		applies, checks, shadows);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_overlay),
		cmocka_unit_test(test_remove_wildcard),
		cmocka_unit_test(test_change_action),
		cmocka_unit_test(test_add_and_remove_names),
		cmocka_unit_test(test_local_data),
		cmocka_unit_test(test_passthru_variant),
		cmocka_unit_test(test_accumulate),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_persist_roundtrip),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
