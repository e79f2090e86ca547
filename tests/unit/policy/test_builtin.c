/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of policy/builtin.c: the safe-search, canary, local-zone and bypass tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/dname.h"
#include "policy/builtin.h"

#define MAX_MATCHES 8

static size_t wire(const char *text, uint8_t out[CORE_DNAME_WIRE_MAX])
{
	const char *why = NULL;
	size_t len = core_dname_from_text(text, strlen(text), out, &why);

	if (len == 0)
		fail_msg("'%s' does not convert: %s", text, why ? why : "?");
	return len;
}

/* Matches of @name in @set, written to @out (MAX_MATCHES). */
static size_t lookup(const struct bl_set *set, const char *name, struct bl_match *out)
{
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t len = wire(name, w);

	return bl_set_lookup(set, w, len, out, MAX_MATCHES);
}

/* The CNAME target of @name's only match in @set, as text without the final dot. */
static void cname_of(const struct bl_set *set, const char *name, char *out, size_t cap)
{
	struct bl_match m[MAX_MATCHES];
	size_t n = lookup(set, name, m);
	size_t len = 0;
	const uint8_t *data;

	if (n != 1)
		fail_msg("'%s': %zu matches, want 1", name, n);
	assert_int_equal(m[0].labels_below, 0);
	assert_int_equal(m[0].action, BL_ACTION_LOCAL_DATA);
	assert_int_equal(m[0].flags, BL_MATCH_SELF);
	assert_int_equal(m[0].categories, 0);
	assert_int_equal(m[0].list_id, 0);
	data = bl_set_local_data(set, m[0].entry, &len);
	assert_non_null(data);
	assert_true(len > 4);
	assert_int_equal(data[0] << 8 | data[1], 5);		     /* CNAME */
	assert_int_equal((size_t)(data[2] << 8 | data[3]), len - 4); /* one record, all of it */
	size_t t = core_dname_to_text(data + 4, len - 4, out, cap);
	assert_true(t >= 2);
	assert_int_equal(out[t - 1], '.');
	out[t - 1] = '\0';
}

static void expect_cname(const struct bl_set *set, const char *name, const char *target)
{
	char got[CORE_DNAME_TEXT_MAX];

	cname_of(set, name, got, sizeof(got));
	if (strcmp(got, target) != 0)
		fail_msg("'%s' → '%s', want '%s'", name, got, target);
}

static void expect_no_match(const struct bl_set *set, const char *name)
{
	struct bl_match m[MAX_MATCHES];
	size_t n = lookup(set, name, m);

	if (n != 0)
		fail_msg("'%s' matched %zu entries, want none", name, n);
}

static void expect_action(const struct bl_set *set, const char *name, enum bl_action action)
{
	struct bl_match m[MAX_MATCHES];
	size_t n = lookup(set, name, m);

	if (n != 1)
		fail_msg("'%s': %zu matches, want 1", name, n);
	assert_int_equal(m[0].action, action);
	assert_int_equal(m[0].list_id, 0);
	assert_int_equal(m[0].categories, 0);
}

static struct bl_set *safe_search(enum pol_safe_level level)
{
	struct bl_set *set = NULL;

	assert_int_equal(pol_builtin_safe_search(level, &set), 0);
	assert_non_null(set);
	return set;
}

static void test_safe_search_strict(void **state)
{
	struct bl_set *set = safe_search(POL_SAFE_STRICT);

	assert_string_equal(bl_set_list_name(set, 0), "safe-search");
	/* ~190 Google domains, each with and without www., plus the other engines */
	assert_true(bl_set_count(set) >= 2 * 185 + 5 + 2 + 3 + 2);
	expect_cname(set, "www.google.com.vn", "forcesafesearch.google.com");
	expect_cname(set, "google.com.vn", "forcesafesearch.google.com");
	expect_cname(set, "google.co.uk", "forcesafesearch.google.com");
	expect_cname(set, "www.google.co.uk", "forcesafesearch.google.com");
	expect_cname(set, "www.google.com", "forcesafesearch.google.com");
	expect_cname(set, "WWW.Google.DE", "forcesafesearch.google.com");
	expect_cname(set, "www.google.cat", "forcesafesearch.google.com");
	expect_cname(set, "www.youtube.com", "restrict.youtube.com");
	expect_cname(set, "m.youtube.com", "restrict.youtube.com");
	expect_cname(set, "youtubei.googleapis.com", "restrict.youtube.com");
	expect_cname(set, "youtube.googleapis.com", "restrict.youtube.com");
	expect_cname(set, "www.youtube-nocookie.com", "restrict.youtube.com");
	expect_cname(set, "www.bing.com", "strict.bing.com");
	expect_cname(set, "bing.com", "strict.bing.com");
	expect_cname(set, "duckduckgo.com", "safe.duckduckgo.com");
	expect_cname(set, "www.duckduckgo.com", "safe.duckduckgo.com");
	expect_cname(set, "start.duckduckgo.com", "safe.duckduckgo.com");
	expect_cname(set, "pixabay.com", "safesearch.pixabay.com");
	expect_cname(set, "www.pixabay.com", "safesearch.pixabay.com");

	/* exact names only: other Google services and deeper names are untouched */
	expect_no_match(set, "mail.google.com");
	expect_no_match(set, "maps.google.com");
	expect_no_match(set, "accounts.google.com.vn");
	expect_no_match(set, "a.www.google.com");
	expect_no_match(set, "googleapis.com");
	expect_no_match(set, "forcesafesearch.google.com");
	expect_no_match(set, "restrict.youtube.com");
	expect_no_match(set, "strict.bing.com");
	expect_no_match(set, "safe.duckduckgo.com");
	expect_no_match(set, "safesearch.pixabay.com");
	expect_no_match(set, "vn");
	bl_set_unref(set);
}

static void test_safe_search_moderate(void **state)
{
	struct bl_set *strict = safe_search(POL_SAFE_STRICT);
	struct bl_set *moderate = safe_search(POL_SAFE_MODERATE);

	assert_int_equal(bl_set_count(moderate), bl_set_count(strict));
	expect_cname(moderate, "www.youtube.com", "restrictmoderate.youtube.com");
	expect_cname(moderate, "m.youtube.com", "restrictmoderate.youtube.com");
	expect_cname(moderate, "www.youtube-nocookie.com", "restrictmoderate.youtube.com");
	/* the other engines have one level */
	expect_cname(moderate, "www.google.com.vn", "forcesafesearch.google.com");
	expect_cname(moderate, "www.bing.com", "strict.bing.com");
	expect_no_match(moderate, "mail.google.com");

	struct bl_set *bad = NULL;
	assert_int_equal(pol_builtin_safe_search((enum pol_safe_level)7, &bad), -EINVAL);
	assert_null(bad);
	bl_set_unref(strict);
	bl_set_unref(moderate);
}

/*
 * Every entry of the @level set converts back to text, is exact, and has one CNAME record
 * to one of the documented targets.
 */
static void check_every_rewrite(enum pol_safe_level level)
{
	static const char *const targets[] = {
		"forcesafesearch.google.com",	"restrict.youtube.com",
		"restrictmoderate.youtube.com", "strict.bing.com",
		"safe.duckduckgo.com",		"safesearch.pixabay.com",
	};
	struct bl_set *set = safe_search(level);
	size_t seen = 0;

	for (size_t e = 0; e < bl_set_entry_limit(set); e++) {
		struct bl_source src;
		char name[CORE_DNAME_TEXT_MAX], target[CORE_DNAME_TEXT_MAX];

		if (bl_set_entry_source(set, (uint32_t)e, &src) != 0)
			continue;
		seen++;
		size_t t = core_dname_to_text(src.name, src.name_len, name, sizeof(name));
		assert_true(t >= 2);
		name[t - 1] = '\0';
		cname_of(set, name, target, sizeof(target));
		bool known = false;
		for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
			known |= strcmp(target, targets[i]) == 0;
		if (!known)
			fail_msg("'%s' → unexpected target '%s'", name, target);
	}
	assert_int_equal(seen, bl_set_count(set));
	bl_set_unref(set);
}

static void test_safe_search_every_entry(void **state)
{
	check_every_rewrite(POL_SAFE_STRICT);
	check_every_rewrite(POL_SAFE_MODERATE);
}

static void test_canaries(void **state)
{
	struct bl_set *set = NULL;

	assert_int_equal(pol_builtin_canaries(&set), 0);
	assert_string_equal(bl_set_list_name(set, 0), "bypass-canary");
	assert_int_equal(bl_set_count(set), 3);
	expect_action(set, "use-application-dns.net", BL_ACTION_NXDOMAIN);
	expect_action(set, "mask.icloud.com", BL_ACTION_NXDOMAIN);
	expect_action(set, "mask-h2.icloud.com", BL_ACTION_NXDOMAIN);
	expect_action(set, "Mask.iCloud.com", BL_ACTION_NXDOMAIN);
	/* exact: the rest of iCloud is untouched */
	expect_no_match(set, "icloud.com");
	expect_no_match(set, "www.icloud.com");
	expect_no_match(set, "a.mask.icloud.com");
	expect_no_match(set, "mask-api.icloud.com");
	expect_no_match(set, "x.use-application-dns.net");
	bl_set_unref(set);
}

static void test_local_zones(void **state)
{
	struct bl_set *set = NULL;
	struct bl_match m[MAX_MATCHES];

	assert_int_equal(pol_builtin_local_zones(&set), 0);
	assert_string_equal(bl_set_list_name(set, 0), "local-zone");
	expect_action(set, "resolver.arpa", BL_ACTION_NODATA);
	expect_action(set, "_dns.resolver.arpa", BL_ACTION_NODATA);
	expect_action(set, "invalid", BL_ACTION_NXDOMAIN);
	expect_action(set, "anything.invalid", BL_ACTION_NXDOMAIN);
	expect_action(set, "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
		      BL_ACTION_NXDOMAIN);
	expect_action(set, "localhost", BL_ACTION_LOCAL_DATA);
	expect_action(set, "www.localhost", BL_ACTION_LOCAL_DATA);
	assert_int_equal(lookup(set, "_dns.resolver.arpa", m), 1);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[0].flags, BL_MATCH_SELF | BL_MATCH_BELOW);

	/* localhost: A 127.0.0.1 then AAAA ::1 */
	/* clang-format off */
	static const uint8_t want[] = {
		0, 1,  0, 4,  127, 0, 0, 1,
		0, 28, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	/* clang-format on */
	size_t len = 0;
	assert_int_equal(lookup(set, "localhost", m), 1);
	const uint8_t *data = bl_set_local_data(set, m[0].entry, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(data, want, sizeof(want));

	expect_no_match(set, "arpa");
	expect_no_match(set, "home.arpa");
	expect_no_match(set, "resolver.arpa.example.vn");
	expect_no_match(set, "localhost.example.vn");
	expect_no_match(set, "local");
	expect_no_match(set, "example.com");
	bl_set_unref(set);
}

static int cmp_wire(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;

	return memcmp(x, y, CORE_DNAME_WIRE_MAX);
}

static void test_bypass_names(void **state)
{
	size_t n = 0;
	const char *const *names = pol_builtin_bypass_names(&n);
	uint8_t(*w)[CORE_DNAME_WIRE_MAX] = calloc(n, CORE_DNAME_WIRE_MAX);
	const uint8_t **sorted = calloc(n, sizeof(*sorted));
	bool has_google = false, has_cloudflare = false;

	assert_non_null(names);
	assert_true(n >= 80);
	assert_non_null(w);
	assert_non_null(sorted);
	for (size_t i = 0; i < n; i++) {
		char back[CORE_DNAME_TEXT_MAX];
		size_t len = wire(names[i], w[i]);

		/* stored as the text it converts back to: lower case, no final dot */
		size_t t = core_dname_to_text(w[i], len, back, sizeof(back));
		back[t - 1] = '\0';
		assert_string_equal(back, names[i]);
		sorted[i] = w[i];
		has_google |= strcmp(names[i], "dns.google") == 0;
		has_cloudflare |= strcmp(names[i], "cloudflare-dns.com") == 0;
	}
	assert_true(has_google);
	assert_true(has_cloudflare);
	qsort(sorted, n, sizeof(*sorted), cmp_wire);
	for (size_t i = 1; i < n; i++)
		if (cmp_wire(&sorted[i - 1], &sorted[i]) == 0)
			fail_msg("bypass name %zu is a duplicate", i);
	free(sorted);
	free(w);
}

/* Build the bypass names as a set (as the resolver's list compiler does: self and below). */
static struct bl_set *bypass_set(void)
{
	size_t n = 0;
	const char *const *names = pol_builtin_bypass_names(&n);
	struct bl_builder *b = bl_builder_new(n);
	struct bl_set *set = NULL;

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		uint8_t w[CORE_DNAME_WIRE_MAX];
		size_t len = wire(names[i], w);
		assert_int_equal(bl_builder_add(b, w, len, 1u << 7, 0,
						BL_MATCH_SELF | BL_MATCH_BELOW, BL_ACTION_POLICY, 0,
						NULL, 0),
				 0);
	}
	assert_int_equal(bl_builder_count(b), n);
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

/* No entry name of @set is matched by @by (a name, or below a name, of @by). */
static void expect_disjoint(const struct bl_set *set, const struct bl_set *by)
{
	for (size_t e = 0; e < bl_set_entry_limit(set); e++) {
		struct bl_source src;
		struct bl_match m[MAX_MATCHES];
		char name[CORE_DNAME_TEXT_MAX];

		if (bl_set_entry_source(set, (uint32_t)e, &src) != 0)
			continue;
		if (bl_set_lookup(by, src.name, src.name_len, m, MAX_MATCHES) != 0) {
			core_dname_to_text(src.name, src.name_len, name, sizeof(name));
			fail_msg("'%s' is in both tables", name);
		}
	}
}

static void test_bypass_not_safe_search(void **state)
{
	struct bl_set *bypass = bypass_set();
	struct bl_set *strict = safe_search(POL_SAFE_STRICT);
	struct bl_set *moderate = safe_search(POL_SAFE_MODERATE);
	struct bl_set *canaries = NULL, *local = NULL;

	assert_int_equal(pol_builtin_canaries(&canaries), 0);
	assert_int_equal(pol_builtin_local_zones(&local), 0);
	expect_no_match(bypass, "dns.google.example.vn");
	assert_int_equal(lookup(bypass, "dns64.dns.google", (struct bl_match[MAX_MATCHES]){0}), 1);

	/* no rewritten name is blocked by (or below) a bypass name, nor the other way round */
	expect_disjoint(strict, bypass);
	expect_disjoint(moderate, bypass);
	expect_disjoint(canaries, bypass);
	expect_disjoint(local, bypass);
	expect_disjoint(bypass, strict);
	expect_disjoint(bypass, moderate);
	expect_disjoint(bypass, canaries);
	expect_disjoint(bypass, local);
	expect_disjoint(canaries, strict);
	bl_set_unref(bypass);
	bl_set_unref(strict);
	bl_set_unref(moderate);
	bl_set_unref(canaries);
	bl_set_unref(local);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_safe_search_strict),
		cmocka_unit_test(test_safe_search_moderate),
		cmocka_unit_test(test_safe_search_every_entry),
		cmocka_unit_test(test_canaries),
		cmocka_unit_test(test_local_zones),
		cmocka_unit_test(test_bypass_names),
		cmocka_unit_test(test_bypass_not_safe_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
