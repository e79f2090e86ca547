/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of layered lookups (blocklists/view.c): order across layers, hiding within a layer,
 * where matches live, list names, truncation, the one-layer fast path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/overlay.h"
#include "blocklists/parse.h"
#include "blocklists/set.h"
#include "blocklists/view.h"
#include "core/dname.h"
#include "core/error.h"

#define ORIGIN "rpz.national.vn."
#define Z ".rpz.national.vn. 300 IN "
#define MAXM 32
#define NAT (1u << 0)
#define ADULT (1u << 1)
#define SB (BL_MATCH_SELF | BL_MATCH_BELOW)
#define L_ADULT 1
#define L_SCHOOL 2
#define L_NATIONAL 3

static size_t wire(const char *text, uint8_t out[CORE_DNAME_WIRE_MAX])
{
	const char *why = NULL;
	size_t n = core_dname_from_text(text, strlen(text), out, &why);

	assert_true(n > 0);
	return n;
}

static void add(struct bl_builder *b, const char *name, uint32_t cats, uint16_t list, uint8_t flags,
		enum bl_action action)
{
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t n = wire(name, w);

	assert_int_equal(bl_builder_add(b, w, n, cats, list, flags, action, 7, NULL, 0), 0);
}

/* Layer 0: the ordinary list files. */
static struct bl_set *file_lists(void)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_set *set = NULL;

	assert_int_equal(bl_builder_set_list_name(b, L_ADULT, "adult"), 0);
	assert_int_equal(bl_builder_set_list_name(b, L_SCHOOL, "school"), 0);
	add(b, "example.vn", ADULT, L_ADULT, SB, BL_ACTION_POLICY);
	add(b, "adult.vn", ADULT, L_ADULT, SB, BL_ACTION_POLICY);
	add(b, "x.vn", ADULT, L_ADULT, SB, BL_ACTION_POLICY);
	add(b, "dup.vn", ADULT, L_ADULT, SB, BL_ACTION_POLICY);
	add(b, "ok.casino.vn", ADULT, L_SCHOOL, SB | BL_ALLOW, BL_ACTION_PASSTHRU);
	add(b, "both.vn", ADULT, L_SCHOOL, SB | BL_ALLOW, BL_ACTION_PASSTHRU);
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

static const char national_zone[] = "@ SOA ns admin 1 3600 600 86400 60\n"
				    "casino.vn CNAME .\n"
				    "*.casino.vn CNAME .\n"
				    "x.vn CNAME .\n"
				    "*.x.vn CNAME .\n"
				    "www.example.vn CNAME *.\n"
				    "both.vn CNAME .\n"
				    "dup.vn CNAME rpz-drop.\n"
				    "w.vn A 10.0.0.1\n";

static struct bl_set *national_base(void)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_parse_report rep;
	struct bl_set *set = NULL;

	assert_int_equal(bl_builder_set_list_name(b, L_NATIONAL, "national"), 0);
	assert_int_equal(bl_parse_buffer(BL_FORMAT_RPZ, national_zone, strlen(national_zone),
					 ORIGIN, b, L_NATIONAL, NAT, &rep),
			 0);
	assert_int_equal(rep.bad, 0);
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

/* The national overlay: x.vn deleted, w2.vn added with local data. */
static struct bl_set *national_overlay(const struct bl_set *base)
{
	struct bl_overlay *o = bl_overlay_new(base, L_NATIONAL, "national", NAT, ORIGIN);
	const char *rm[] = {"x.vn" Z "CNAME .", "*.x.vn" Z "CNAME ."};
	const char *add[] = {"w2.vn" Z "A 10.0.0.2", "new.example.vn" Z "CNAME ."};
	struct bl_set *set = NULL;

	assert_non_null(o);
	assert_int_equal(bl_overlay_apply(o, rm, 2, add, 2, NULL, 0), 0);
	assert_int_equal(bl_overlay_compile(o, &set), 0);
	bl_overlay_free(o);
	return set;
}

struct layers {
	struct bl_set *bases[2];
	struct bl_set *overlays[2];
	struct bl_view *v;
};

static struct layers make(void)
{
	struct layers l = {0};

	l.bases[0] = file_lists();
	l.bases[1] = national_base();
	l.overlays[1] = national_overlay(l.bases[1]);
	assert_int_equal(bl_view_new(l.bases, l.overlays, 2, &l.v), 0);
	/* the view holds its own references */
	for (int i = 0; i < 2; i++) {
		bl_set_unref(l.bases[i]);
		bl_set_unref(l.overlays[i]);
	}
	return l;
}

static size_t look(const struct bl_view *v, const char *name, struct bl_match *m, size_t max)
{
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t n = wire(name, w);

	return bl_view_lookup(v, w, n, m, max);
}

/* Match @m is (layer, overlay, list, labels_below, flags). */
static void is(const struct bl_match *m, unsigned layer, unsigned overlay, unsigned list,
	       unsigned below, unsigned flags)
{
	if (m->layer != layer || m->from_overlay != overlay || m->list_id != list ||
	    m->labels_below != below || m->flags != flags)
		print_error("match: layer %u overlay %u list %u below %u flags %#x\n", m->layer,
			    m->from_overlay, m->list_id, m->labels_below, m->flags);
	assert_int_equal(m->layer, layer);
	assert_int_equal(m->from_overlay, overlay);
	assert_int_equal(m->list_id, list);
	assert_int_equal(m->labels_below, below);
	assert_int_equal(m->flags, flags);
}

static void test_layer_order(void **state)
{
	struct layers l = make();
	struct bl_match m[MAXM];

	/* most specific first, whatever the layer */
	assert_int_equal(look(l.v, "www.example.vn", m, MAXM), 2);
	is(&m[0], 1, 0, L_NATIONAL, 0, BL_MATCH_SELF);
	assert_int_equal(m[0].action, BL_ACTION_NODATA);
	is(&m[1], 0, 0, L_ADULT, 1, SB);
	assert_int_equal(look(l.v, "new.example.vn", m, MAXM), 2);
	is(&m[0], 1, 1, L_NATIONAL, 0, BL_MATCH_SELF);
	is(&m[1], 0, 0, L_ADULT, 1, SB);
	assert_int_equal(look(l.v, "a.new.example.vn", m, MAXM), 1);
	is(&m[0], 0, 0, L_ADULT, 2, SB);
	assert_int_equal(look(l.v, "ok.casino.vn", m, MAXM), 2);
	is(&m[0], 0, 0, L_SCHOOL, 0, SB | BL_ALLOW);
	is(&m[1], 1, 0, L_NATIONAL, 1, SB);
	/* one level: block entries (in layer order) before allow entries */
	assert_int_equal(look(l.v, "both.vn", m, MAXM), 2);
	is(&m[0], 1, 0, L_NATIONAL, 0, BL_MATCH_SELF);
	is(&m[1], 0, 0, L_SCHOOL, 0, SB | BL_ALLOW);
	assert_int_equal(look(l.v, "dup.vn", m, MAXM), 2);
	is(&m[0], 0, 0, L_ADULT, 0, SB);
	is(&m[1], 1, 0, L_NATIONAL, 0, BL_MATCH_SELF);
	assert_int_equal(m[1].action, BL_ACTION_DROP);
	assert_int_equal(look(l.v, "nothing.vn", m, MAXM), 0);
	/* a malformed name matches nothing */
	assert_int_equal(bl_view_lookup(l.v, (const uint8_t *)"\x03www", 4, m, MAXM), 0);
	bl_view_free(l.v);
}

static void test_shadow_hides_own_layer(void **state)
{
	struct layers l = make();
	struct bl_match m[MAXM];

	/* the national x.vn is deleted by the overlay; the adult list's stays */
	assert_int_equal(look(l.v, "x.vn", m, MAXM), 1);
	is(&m[0], 0, 0, L_ADULT, 0, SB);
	assert_int_equal(look(l.v, "a.x.vn", m, MAXM), 1);
	is(&m[0], 0, 0, L_ADULT, 1, SB);
	/* without the overlay, the national entry is there */
	{
		struct bl_set *bases[2] = {file_lists(), national_base()};
		struct bl_view *v2 = NULL;

		assert_int_equal(bl_view_new(bases, NULL, 2, &v2), 0);
		bl_set_unref(bases[0]);
		bl_set_unref(bases[1]);
		assert_int_equal(look(v2, "x.vn", m, MAXM), 2);
		is(&m[0], 0, 0, L_ADULT, 0, SB);
		is(&m[1], 1, 0, L_NATIONAL, 0, SB);
		bl_view_free(v2);
	}
	bl_view_free(l.v);
}

static void test_match_set(void **state)
{
	struct layers l = make();
	struct bl_match m[MAXM];
	struct bl_source src;
	const struct bl_set *set;
	const uint8_t *d;
	size_t len;

	/* local data of a base entry and of an overlay entry */
	assert_int_equal(look(l.v, "w.vn", m, MAXM), 1);
	set = bl_view_match_set(l.v, &m[0]);
	d = bl_set_local_data(set, m[0].entry, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(d, ((const uint8_t[]){0, 1, 0, 4, 10, 0, 0, 1}), 8);
	assert_int_equal(look(l.v, "w2.vn", m, MAXM), 1);
	assert_int_equal(m[0].from_overlay, 1);
	set = bl_view_match_set(l.v, &m[0]);
	d = bl_set_local_data(set, m[0].entry, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(d, ((const uint8_t[]){0, 1, 0, 4, 10, 0, 0, 2}), 8);
	assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
	assert_int_equal(src.list_id, L_NATIONAL);
	assert_int_equal(src.line, 0);
	assert_int_equal(src.name_len, 7);
	assert_memory_equal(src.name, "\x02w2\x02vn", 7);
	assert_string_equal(bl_set_list_name(set, src.list_id), "national");
	/* a file list's entry */
	assert_int_equal(look(l.v, "adult.vn", m, MAXM), 1);
	set = bl_view_match_set(l.v, &m[0]);
	assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
	assert_int_equal(src.line, 7);
	assert_int_equal(src.list_id, L_ADULT);
	/* a match from elsewhere */
	m[0].layer = 5;
	assert_null(bl_view_match_set(l.v, &m[0]));
	assert_null(bl_view_match_set(NULL, &m[0]));

	assert_string_equal(bl_view_list_name(l.v, L_ADULT), "adult");
	assert_string_equal(bl_view_list_name(l.v, L_SCHOOL), "school");
	assert_string_equal(bl_view_list_name(l.v, L_NATIONAL), "national");
	assert_null(bl_view_list_name(l.v, 9));
	/* 6 file entries; national: 6 entries, overlay: x shadow, w2, new.example */
	assert_int_equal(bl_view_count(l.v), 6 + 6 + 3);
	assert_int_equal(bl_view_layers(l.v), 2);
	bl_view_free(l.v);
}

/* Many levels and layers: the first @max of the full order, and the full count. */
static void test_truncation(void **state)
{
	struct bl_set *bases[3] = {0}, *overlays[3] = {0};
	static const char *const names[] = {"vn", "a.vn", "b.a.vn", "c.b.a.vn", "d.c.b.a.vn"};
	struct bl_match all[MAXM], some[MAXM];
	struct bl_view *v = NULL;
	size_t n;

	for (int layer = 0; layer < 3; layer++) {
		struct bl_builder *b = bl_builder_new(100);

		for (size_t i = 0; i < 5; i++) {
			if ((i + (size_t)layer) % 2 == 0)
				add(b, names[i], 1u << layer, (uint16_t)layer, SB,
				    BL_ACTION_POLICY);
			if ((i + (size_t)layer) % 3 == 0)
				add(b, names[i], 1u << layer, (uint16_t)layer, SB | BL_ALLOW,
				    BL_ACTION_PASSTHRU);
		}
		assert_int_equal(bl_builder_finish(b, &bases[layer]), 0);
		bl_builder_free(b);
	}
	assert_int_equal(bl_view_new(bases, overlays, 3, &v), 0);
	n = look(v, "e.d.c.b.a.vn", all, MAXM);
	assert_true(n > 6);
	for (size_t i = 1; i < n; i++) {
		unsigned r0 = all[i - 1].labels_below * 2u + !!(all[i - 1].flags & BL_ALLOW);
		unsigned r1 = all[i].labels_below * 2u + !!(all[i].flags & BL_ALLOW);

		assert_true(r0 < r1 || (r0 == r1 && all[i - 1].layer < all[i].layer));
	}
	for (size_t max = 0; max <= n; max++) {
		memset(some, 0xee, sizeof(some));
		assert_int_equal(look(v, "e.d.c.b.a.vn", some, max), n);
		for (size_t i = 0; i < max; i++) {
			assert_int_equal(some[i].layer, all[i].layer);
			assert_int_equal(some[i].entry, all[i].entry);
			assert_int_equal(some[i].labels_below, all[i].labels_below);
			assert_int_equal(some[i].flags, all[i].flags);
		}
		assert_int_equal(some[max].layer, 0xee);
	}
	bl_view_free(v);
	for (int layer = 0; layer < 3; layer++)
		bl_set_unref(bases[layer]);
}

/* One layer without overlay: exactly bl_set_lookup(); empty and odd views. */
static void test_single_and_empty(void **state)
{
	struct bl_set *set = file_lists(), *empty = NULL, *none = NULL;
	struct bl_match a[MAXM], b[MAXM];
	struct bl_builder *bld = bl_builder_new(10);
	uint8_t w[CORE_DNAME_WIRE_MAX];
	struct bl_view *v = NULL;
	size_t n;

	assert_int_equal(bl_view_new(&set, NULL, 1, &v), 0);
	n = wire("a.ok.casino.vn", w);
	assert_int_equal(bl_view_lookup(v, w, n, a, MAXM), 1);
	assert_int_equal(bl_set_lookup(set, w, n, b, MAXM), 1);
	assert_int_equal(a[0].entry, b[0].entry);
	assert_int_equal(a[0].flags, b[0].flags);
	assert_int_equal(a[0].labels_below, b[0].labels_below);
	assert_int_equal(a[0].layer, 0);
	assert_int_equal(a[0].from_overlay, 0);
	assert_int_equal(bl_view_count(v), bl_set_count(set));
	bl_view_free(v);

	/* an empty overlay is no overlay */
	assert_int_equal(bl_builder_finish(bld, &empty), 0);
	bl_builder_free(bld);
	assert_int_equal(bl_view_new(&set, &empty, 1, &v), 0);
	assert_int_equal(bl_view_lookup(v, w, n, a, MAXM), 1);
	assert_int_equal(a[0].from_overlay, 0);
	bl_view_free(v);

	/* no layers; a layer with no sets */
	assert_int_equal(bl_view_new(NULL, NULL, 0, &v), 0);
	assert_int_equal(bl_view_lookup(v, w, n, a, MAXM), 0);
	assert_int_equal(bl_view_count(v), 0);
	assert_null(bl_view_list_name(v, 1));
	bl_view_free(v);
	assert_int_equal(bl_view_new(&none, &none, 1, &v), 0);
	assert_int_equal(bl_view_lookup(v, w, n, a, MAXM), 0);
	bl_view_free(v);
	assert_null(bl_view_free(NULL));

	assert_int_equal(bl_view_new(NULL, NULL, 1, &v), -EINVAL);
	{
		struct bl_set *many[BL_VIEW_MAX_LAYERS + 1] = {0};

		assert_int_equal(bl_view_new(many, NULL, BL_VIEW_MAX_LAYERS + 1, &v), -EINVAL);
		many[BL_VIEW_MAX_LAYERS - 1] = set;
		assert_int_equal(bl_view_new(many, NULL, BL_VIEW_MAX_LAYERS, &v), 0);
		n = wire("adult.vn", w);
		assert_int_equal(bl_view_lookup(v, w, n, a, MAXM), 1);
		assert_int_equal(a[0].layer, BL_VIEW_MAX_LAYERS - 1);
		bl_view_free(v);
	}
	bl_set_unref(empty);
	bl_set_unref(set);
}

/* Root entries: probed only in sets that have one; an overlay can hide the base's. */
static void test_root(void **state)
{
	struct bl_builder *b = bl_builder_new(10), *ob = bl_builder_new(10);
	struct bl_set *base = NULL, *ov = NULL, *ov2 = NULL;
	uint8_t w[CORE_DNAME_WIRE_MAX];
	struct bl_match m[MAXM];
	struct bl_view *v = NULL;
	size_t n;

	assert_int_equal(
		bl_builder_add(b, (const uint8_t *)"", 1, NAT, 3, SB, BL_ACTION_POLICY, 0, NULL, 0),
		0);
	add(b, "vn", NAT, 3, BL_MATCH_SELF, BL_ACTION_POLICY);
	assert_int_equal(bl_builder_finish(b, &base), 0);
	add(ob, "vn", NAT, 3, BL_MATCH_BELOW, BL_ACTION_NXDOMAIN);
	assert_int_equal(bl_builder_finish(ob, &ov), 0);
	assert_int_equal(bl_view_new(&base, &ov, 1, &v), 0);
	n = wire("a.vn", w);
	assert_int_equal(bl_view_lookup(v, w, n, m, MAXM), 2);
	is(&m[0], 0, 1, 3, 1, BL_MATCH_BELOW);
	is(&m[1], 0, 0, 3, 2, SB);
	assert_int_equal(bl_view_lookup(v, (const uint8_t *)"", 1, m, MAXM), 1);
	is(&m[0], 0, 0, 3, 0, SB);
	bl_view_free(v);

	/* a shadow of the root hides it */
	assert_int_equal(bl_builder_add(ob, (const uint8_t *)"", 1, NAT, 3, BL_SHADOW,
					BL_ACTION_POLICY, 0, NULL, 0),
			 0);
	assert_int_equal(bl_builder_finish(ob, &ov2), 0);
	assert_int_equal(bl_view_new(&base, &ov2, 1, &v), 0);
	n = wire("a.vn", w);
	assert_int_equal(bl_view_lookup(v, w, n, m, MAXM), 1);
	is(&m[0], 0, 1, 3, 1, BL_MATCH_BELOW);
	bl_view_free(v);
	bl_builder_free(b);
	bl_builder_free(ob);
	bl_set_unref(base);
	bl_set_unref(ov);
	bl_set_unref(ov2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layer_order),
		cmocka_unit_test(test_shadow_hides_own_layer),
		cmocka_unit_test(test_match_set),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_single_and_empty),
		cmocka_unit_test(test_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
