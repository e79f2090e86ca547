/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of `groups:` (presets, categories, allow/deny, safe search, schedules), of the
 * networks' group references, allow/deny and mmdb entries, and of server.timezone: the values
 * loaded, and the exact text and position of the diagnostics.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/config/helpers.h"

#define FORWARD "server:\n  forwarders: [192.0.2.53]\n"
#define ONE_NETWORK "networks:\n  - { name: LAN, cidr: 10.0.0.0/8 }\n"

#define B(c) (1u << (c))
#define NATIONAL B(CFG_CAT_NATIONAL)
#define ALL_DAYS 0x7f

static int group_setup(void **state)
{
	/* never depend on the machine's /etc/resolv.conf */
	cfg_set_resolv_conf_path("/nonexistent/resolv.conf");
	return 0;
}

static int group_teardown(void **state)
{
	cfg_set_resolv_conf_path(NULL);
	return 0;
}

/* @d holds @text and the wire form @wire (@wire_len bytes, written as a C string literal). */
static void assert_domain(const struct cfg_domain *d, const char *text, const char *wire,
			  size_t wire_len)
{
	assert_string_equal(d->text, text);
	assert_int_equal(d->wire_len, wire_len);
	assert_memory_equal(d->wire, wire, wire_len);
}

static void test_preset_table(void **state)
{
	const uint32_t common = NATIONAL | B(CFG_CAT_ADULT) | B(CFG_CAT_GAMBLING) |
				B(CFG_CAT_DRUGS) | B(CFG_CAT_PROXY_VPN_DOH) | B(CFG_CAT_MALWARE);

	assert_string_equal(cfg_preset_name(CFG_PRESET_NONE), "");
	assert_string_equal(cfg_preset_name(CFG_PRESET_MAM_NON), "mam_non");
	assert_string_equal(cfg_preset_name(CFG_PRESET_TIEU_HOC), "tieu_hoc");
	assert_string_equal(cfg_preset_name(CFG_PRESET_THCS), "thcs");
	assert_string_equal(cfg_preset_name(CFG_PRESET_THPT), "thpt");
	assert_string_equal(cfg_preset_name(CFG_PRESET_GIAO_VIEN), "giao_vien");
	assert_string_equal(cfg_preset_name(CFG_PRESET_KHACH), "khach");
	assert_string_equal(cfg_preset_name(CFG_PRESET_COUNT), "");

	for (int p = CFG_PRESET_NONE + 1; p < CFG_PRESET_COUNT; p++)
		assert_int_equal(cfg_preset_parse(cfg_preset_name((enum cfg_preset)p)), p);
	assert_int_equal(cfg_preset_parse(""), -1);
	assert_int_equal(cfg_preset_parse("none"), -1);
	assert_int_equal(cfg_preset_parse("THCS"), -1);
	assert_int_equal(cfg_preset_parse(NULL), -1);

	assert_int_equal(cfg_preset_categories(CFG_PRESET_NONE), NATIONAL);
	assert_int_equal(cfg_preset_categories(CFG_PRESET_MAM_NON), 0xffffffffu);
	assert_int_equal(cfg_preset_categories(CFG_PRESET_TIEU_HOC),
			 common | B(CFG_CAT_VIOLENCE) | B(CFG_CAT_GAMES) | B(CFG_CAT_SOCIAL));
	assert_int_equal(cfg_preset_categories(CFG_PRESET_THCS),
			 common | B(CFG_CAT_VIOLENCE) | B(CFG_CAT_GAMES));
	assert_int_equal(cfg_preset_categories(CFG_PRESET_THPT), common);
	assert_int_equal(cfg_preset_categories(CFG_PRESET_GIAO_VIEN),
			 NATIONAL | B(CFG_CAT_MALWARE));
	assert_int_equal(cfg_preset_categories(CFG_PRESET_KHACH), common);

	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_NONE), CFG_SAFE_SEARCH_OFF);
	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_MAM_NON), CFG_SAFE_SEARCH_STRICT);
	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_TIEU_HOC), CFG_SAFE_SEARCH_STRICT);
	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_THCS), CFG_SAFE_SEARCH_STRICT);
	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_THPT), CFG_SAFE_SEARCH_MODERATE);
	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_GIAO_VIEN), CFG_SAFE_SEARCH_OFF);
	assert_int_equal(cfg_preset_safe_search(CFG_PRESET_KHACH), CFG_SAFE_SEARCH_MODERATE);
}

static const char school[] = FORWARD
	"lists:\n"
	"  - { name: hoc-online, category: hoc_online, file: /dev/null }\n"
	"groups:\n"
	"  tieu_hoc:\n"
	"    block: [hoc_online]\n"
	"    unblock: social\n"
	"    allow: [\"Hoc10.VN\", \"Hỏi-Đáp.vn.\"]\n"
	"    deny: example-game.vn\n"
	"    safe_search: moderate\n"
	"    bypass_canaries: false\n"
	"    schedules:\n"
	"      - { block: [games, social], days: [mon-fri, t7], from: \"07:00\", to: \"17:00\" }\n"
	"      - block: hoc_online\n"
	"        days: [Sat-Mon, cn]\n"
	"        from: \"22:00\"\n"
	"        to: \"6:30\"\n"
	"      - { block: [games], from: \"00:00\", to: \"24:00\" }\n"
	"  lop-5a:\n"
	"    preset: thcs\n"
	"    safe_search: true\n"
	"  giao_vien:\n"
	"  mam_non: {}\n"
	"  khach: { preset: none, block: [adult, national], safe_search: off }\n"
	"  phong-may: { safe_search: no, bypass_canaries: yes }\n"
	"networks:\n"
	"  - { name: A, cidr: 10.1.0.0/16, group: tieu_hoc }\n"
	"  - { name: B, cidr: 10.2.0.0/16, group: lop-5a, allow: [a.vn], deny: [b.vn, c.vn] }\n"
	"  - { name: C, cidr: 10.3.0.0/16, group: thpt }\n"
	"  - name: D\n"
	"    cidr: 10.4.0.0/16\n"
	"    group: khach\n";

static void test_groups_loaded(void **state)
{
	const uint32_t site = B(CFG_CAT_BUILTIN_COUNT); /* hoc_online: the first free bit */
	const struct cfg_group *g;
	const struct cfg_network *n;
	struct loaded l;

	load(&l, school);
	assert_string_equal(l.text, "");
	assert_int_equal(l.rc, 0);
	assert_string_equal(cfg_category_name(l.cfg, CFG_CAT_BUILTIN_COUNT), "hoc_online");
	assert_int_equal(l.cfg->n_groups, 6);

	g = cfg_group_find(l.cfg, "tieu_hoc");
	assert_ptr_equal(g, &l.cfg->groups[0]);
	assert_string_equal(g->name, "tieu_hoc");
	assert_int_equal(g->line, 6);
	assert_int_equal(g->preset, CFG_PRESET_TIEU_HOC);
	assert_int_equal(g->categories,
			 (cfg_preset_categories(CFG_PRESET_TIEU_HOC) | site) & ~B(CFG_CAT_SOCIAL));
	assert_int_equal(g->safe_search, CFG_SAFE_SEARCH_MODERATE);
	assert_false(g->bypass_canaries);
	assert_int_equal(g->n_allow, 2);
	assert_domain(&g->allow[0], "Hoc10.VN", "\5hoc10\2vn", 10);
	assert_int_equal(g->allow[0].line, 9);
	assert_int_equal(g->allow[0].column, 13);
	assert_domain(&g->allow[1], "Hỏi-Đáp.vn.", "\23xn--hi-p-7na10aw15p\2vn", 24);
	assert_int_equal(g->n_deny, 1);
	assert_domain(&g->deny[0], "example-game.vn", "\14example-game\2vn", 17);
	assert_int_equal(g->deny[0].line, 10);
	assert_int_equal(g->deny[0].column, 11);

	assert_int_equal(g->n_schedules, 3);
	assert_int_equal(g->schedules[0].categories, B(CFG_CAT_GAMES) | B(CFG_CAT_SOCIAL));
	assert_int_equal(g->schedules[0].days, 0x3f); /* Monday to Saturday */
	assert_int_equal(g->schedules[0].from_min, 7 * 60);
	assert_int_equal(g->schedules[0].to_min, 17 * 60);
	assert_int_equal(g->schedules[0].line, 14);
	assert_int_equal(g->schedules[1].categories, site);
	assert_int_equal(g->schedules[1].days, 0x61); /* Saturday, Sunday, Monday */
	assert_int_equal(g->schedules[1].from_min, 22 * 60);
	assert_int_equal(g->schedules[1].to_min, 6 * 60 + 30);
	assert_int_equal(g->schedules[1].line, 15);
	assert_int_equal(g->schedules[2].days, ALL_DAYS);
	assert_int_equal(g->schedules[2].from_min, 0);
	assert_int_equal(g->schedules[2].to_min, 1440);

	g = cfg_group_find(l.cfg, "lop-5a");
	assert_int_equal(g->preset, CFG_PRESET_THCS);
	assert_int_equal(g->categories, cfg_preset_categories(CFG_PRESET_THCS));
	assert_int_equal(g->safe_search, CFG_SAFE_SEARCH_STRICT);
	assert_true(g->bypass_canaries);
	assert_int_equal(g->n_allow + g->n_deny + g->n_schedules, 0);
	assert_null(g->allow);
	assert_null(g->schedules);

	/* named after a preset, with nothing else: the preset with its defaults */
	g = cfg_group_find(l.cfg, "giao_vien");
	assert_int_equal(g->preset, CFG_PRESET_GIAO_VIEN);
	assert_int_equal(g->categories, NATIONAL | B(CFG_CAT_MALWARE));
	assert_int_equal(g->safe_search, CFG_SAFE_SEARCH_OFF);
	assert_true(g->bypass_canaries);
	g = cfg_group_find(l.cfg, "mam_non");
	assert_int_equal(g->preset, CFG_PRESET_MAM_NON);
	assert_int_equal(g->categories, 0xffffffffu);
	assert_int_equal(g->safe_search, CFG_SAFE_SEARCH_STRICT);

	/* `preset: none` overrides the name; national is always there */
	g = cfg_group_find(l.cfg, "khach");
	assert_int_equal(g->preset, CFG_PRESET_NONE);
	assert_int_equal(g->categories, NATIONAL | B(CFG_CAT_ADULT));
	assert_int_equal(g->safe_search, CFG_SAFE_SEARCH_OFF);

	g = cfg_group_find(l.cfg, "phong-may");
	assert_int_equal(g->preset, CFG_PRESET_NONE);
	assert_int_equal(g->categories, NATIONAL);
	assert_int_equal(g->safe_search, CFG_SAFE_SEARCH_OFF);
	assert_true(g->bypass_canaries);
	assert_null(cfg_group_find(l.cfg, "thpt"));
	assert_null(cfg_group_find(l.cfg, NULL));

	n = &l.cfg->networks[0];
	assert_string_equal(n->group, "tieu_hoc");
	assert_int_equal(n->group_line, 28);
	assert_int_equal(n->group_column, 42);
	assert_int_equal(n->n_allow + n->n_deny, 0);
	assert_null(n->mmdb);
	n = &l.cfg->networks[1];
	assert_int_equal(n->n_allow, 1);
	assert_domain(&n->allow[0], "a.vn", "\1a\2vn", 6);
	assert_int_equal(n->n_deny, 2);
	assert_domain(&n->deny[1], "c.vn", "\1c\2vn", 6);
	/* a preset without a groups entry is fine: the policy layer makes it */
	assert_string_equal(l.cfg->networks[2].group, "thpt");
	n = &l.cfg->networks[3];
	assert_int_equal(n->group_line, 33);
	assert_int_equal(n->group_column, 12);
	unload(&l);
}

static void test_no_groups(void **state)
{
	struct loaded l;

	load(&l, FORWARD ONE_NETWORK "groups:\n");
	assert_string_equal(l.text, "");
	assert_int_equal(l.cfg->n_groups, 0);
	assert_null(l.cfg->groups);
	assert_null(cfg_group_find(l.cfg, "tieu_hoc"));
	assert_int_equal(l.cfg->networks[0].group_line, 0);
	unload(&l);
}

static void test_unknown_category(void **state)
{
	expect_diags(
		FORWARD ONE_NETWORK
		"lists:\n  - { name: x, category: hoc_online, file: /dev/null }\n"
		"groups:\n"
		"  thcs:\n"
		"    block: [gamez, hoc-online, Games]\n"
		"    unblock: socal\n"
		"    schedules: [{ block: [violense], from: \"07:00\", to: \"08:00\" }]\n",
		"test.yaml:9:13: error: groups.thcs.block[0]: unknown category 'gamez' (did you mean 'games'?); expected one of: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware, hoc_online\n"
		"test.yaml:9:20: error: groups.thcs.block[1]: unknown category 'hoc-online' (did you mean 'hoc_online'?); expected one of: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware, hoc_online\n"
		"test.yaml:9:32: error: groups.thcs.block[2]: unknown category 'Games' (did you mean 'games'?); expected one of: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware, hoc_online\n"
		"test.yaml:10:14: error: groups.thcs.unblock: unknown category 'socal' (did you mean 'social'?); expected one of: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware, hoc_online\n"
		"test.yaml:11:27: error: groups.thcs.schedules[0].block[0]: unknown category 'violense' (did you mean 'violence'?); expected one of: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware, hoc_online\n");
	expect_diags(
		FORWARD ONE_NETWORK "groups:\n  x: { block: [porn] }\n",
		"test.yaml:6:16: error: groups.x.block[0]: unknown category 'porn'; expected one of: national, adult, gambling, violence, drugs, games, social, proxy_vpn_doh, malware\n");
}

static void test_unblock(void **state)
{
	struct loaded l;

	expect_diags(
		FORWARD ONE_NETWORK "groups:\n"
				    "  thpt:\n"
				    "    block: [games]\n"
				    "    unblock: [national, games, adult, adult]\n",
		"test.yaml:8:15: error: groups.thpt.unblock[0]: the national list is mandatory for every client and cannot be unblocked\n"
		"test.yaml:8:25: error: groups.thpt.unblock[1]: 'games' is also in block; a category can be in block or in unblock, not both\n"
		"test.yaml:8:39: warning: groups.thpt.unblock[3]: 'adult' is listed twice (first at line 8, column 32), ignoring the repeat\n");

	/* unblocking what the preset does not block is allowed, with a warning */
	load(&l, FORWARD ONE_NETWORK
	     "groups:\n  giao_vien: { unblock: [malware, games] }\n  x: { unblock: adult }\n");
	assert_string_equal(
		l.text,
		"test.yaml:6:35: warning: groups.giao_vien.unblock[1]: preset giao_vien does not block 'games'; unblocking it changes nothing\n"
		"test.yaml:7:17: warning: groups.x.unblock: the group has no preset, so 'adult' is not blocked; unblocking it changes nothing\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->groups[0].categories, NATIONAL);
	assert_int_equal(l.cfg->groups[1].categories, NATIONAL);
	unload(&l);

	/* mam_non blocks everything: unblocking keeps the rest, site categories included */
	load(&l, FORWARD ONE_NETWORK "groups:\n  mam_non: { unblock: [games, social] }\n");
	assert_string_equal(l.text, "");
	assert_int_equal(l.cfg->groups[0].categories,
			 0xffffffffu & ~(B(CFG_CAT_GAMES) | B(CFG_CAT_SOCIAL)));
	unload(&l);
}

static void test_group_keys(void **state)
{
	expect_diags(
		FORWARD ONE_NETWORK
		"groups:\n"
		"  Tiểu học: {}\n"
		"  thcs: { presett: thcs, safe_search: always, bypass_canaries: maybe }\n"
		"  thpt: [block]\n"
		"  thcs: {}\n"
		"  x: { preset: thc }\n"
		"  y: { preset: [thcs] }\n",
		"test.yaml:6:3: error: groups: 'Tiểu học' is not a valid group name; expected a group name of lower-case letters, digits, '_' and '-' such as tieu_hoc (at most 63 characters)\n"
		"test.yaml:7:11: error: groups.thcs: unknown key 'presett' (did you mean 'preset'?); expected one of: preset, block, unblock, allow, deny, safe_search, bypass_canaries, schedules\n"
		"test.yaml:7:39: error: groups.thcs.safe_search: 'always' is not a safe search level; expected true (meaning strict), false (meaning off), strict, moderate or off\n"
		"test.yaml:7:64: error: groups.thcs.bypass_canaries: 'maybe' is not a boolean; expected true or false (yes/no and on/off work too)\n"
		"test.yaml:8:9: error: groups.thpt: expected a group: a mapping with keys such as 'preset:' and 'block:', got a list\n"
		"test.yaml:9:3: error: groups: duplicate key 'thcs' (first set at line 7, column 3); keep only one\n"
		"test.yaml:10:16: error: groups.x.preset: unknown preset 'thc' (did you mean 'thcs'?); expected one of: mam_non, tieu_hoc, thcs, thpt, giao_vien, khach, none\n"
		"test.yaml:11:16: error: groups.y.preset: expected a preset name such as tieu_hoc, got a list\n");
	expect_diags(
		FORWARD ONE_NETWORK "groups: [tieu_hoc]\n",
		"test.yaml:5:9: error: groups: expected a mapping of groups by name (such as 'tieu_hoc:' on its own line), got a list\n");
}

static void test_safe_search_values(void **state)
{
	static const struct {
		const char *text;
		enum cfg_safe_search value;
	} cases[] = {
		{"true", CFG_SAFE_SEARCH_STRICT},   {"yes", CFG_SAFE_SEARCH_STRICT},
		{"strict", CFG_SAFE_SEARCH_STRICT}, {"moderate", CFG_SAFE_SEARCH_MODERATE},
		{"false", CFG_SAFE_SEARCH_OFF},	    {"off", CFG_SAFE_SEARCH_OFF},
		{"\"off\"", CFG_SAFE_SEARCH_OFF},
	};
	char yaml[256];
	struct loaded l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 FORWARD ONE_NETWORK "groups:\n  tieu_hoc: { safe_search: %s }\n",
			 cases[i].text);
		load(&l, yaml);
		assert_string_equal(l.text, "");
		assert_int_equal(l.cfg->groups[0].safe_search, cases[i].value);
		unload(&l);
	}
}

static void test_schedule_errors(void **state)
{
	expect_diags(
		FORWARD ONE_NETWORK
		"groups:\n"
		"  thcs:\n"
		"    schedules:\n"
		"      - { block: [games], from: \"25:00\", to: \"7h\" }\n"
		"      - { block: [games], from: \"24:00\", to: \"24:30\" }\n"
		"      - { block: [games], from: \"07:00\", to: \"7:00\" }\n"
		"      - { block: [national, social], from: 7:60, to: \"17:00\" }\n"
		"      - { days: [mon], to: \"17:00\" }\n"
		"      - { block: [], from: \"07:00\", to: \"017:00\" }\n"
		"      - { block: [games], from: 700, to: \"17:00\", day: mon }\n",
		"test.yaml:8:33: error: groups.thcs.schedules[0].from: '25:00' is not a time; expected a time HH:MM from 00:00 to 23:59, such as \"07:30\"\n"
		"test.yaml:8:46: error: groups.thcs.schedules[0].to: '7h' is not a time; expected a time HH:MM from 00:00 to 24:00, such as \"17:00\"\n"
		"test.yaml:9:33: error: groups.thcs.schedules[1].from: '24:00' is for 'to' only; expected a time HH:MM from 00:00 to 23:59, such as \"07:30\"\n"
		"test.yaml:9:46: error: groups.thcs.schedules[1].to: '24:30' is not a time; expected a time HH:MM from 00:00 to 24:00, such as \"17:00\"\n"
		"test.yaml:10:46: error: groups.thcs.schedules[2].to: the window would end when it starts (07:00); expected a 'to' other than 'from' (the whole day is from \"00:00\" to \"24:00\")\n"
		"test.yaml:11:19: error: groups.thcs.schedules[3].block[0]: 'national' is blocked at all times for every client; remove it from the schedule\n"
		"test.yaml:11:44: error: groups.thcs.schedules[3].from: '7:60' is not a time; expected a time HH:MM from 00:00 to 23:59, such as \"07:30\"\n"
		"test.yaml:12:9: error: groups.thcs.schedules[4]: missing 'block'; a schedule needs the categories it blocks, e.g. block: [games, social]\n"
		"test.yaml:12:9: error: groups.thcs.schedules[4]: missing 'from'; a schedule needs the time it starts, e.g. from: \"07:00\"\n"
		"test.yaml:13:18: error: groups.thcs.schedules[5].block: the list is empty; expected the categories to block, such as [games, social]\n"
		"test.yaml:13:41: error: groups.thcs.schedules[5].to: '017:00' is not a time; expected a time HH:MM from 00:00 to 24:00, such as \"17:00\"\n"
		"test.yaml:14:33: error: groups.thcs.schedules[6].from: '700' is not a time; expected a time HH:MM from 00:00 to 23:59, such as \"07:30\"\n"
		"test.yaml:14:51: error: groups.thcs.schedules[6]: unknown key 'day' (did you mean 'days'?); expected one of: block, days, from, to\n");
	expect_diags(
		FORWARD ONE_NETWORK "groups:\n  thcs:\n    schedules: { block: games }\n",
		"test.yaml:7:16: error: groups.thcs.schedules: expected a list of schedules (each one starting with '- block:'), got a mapping\n");
}

static void test_schedule_limit(void **state)
{
	char *yaml = malloc(16384);
	size_t o = 0;
	struct loaded l;

	assert_non_null(yaml);
	o += (size_t)sprintf(yaml + o, FORWARD ONE_NETWORK "groups:\n  thcs:\n    schedules:\n");
	for (int i = 0; i < 64; i++)
		o += (size_t)sprintf(
			yaml + o, "      - { block: games, from: \"%02d:00\", to: \"%02d:30\" }\n",
			i % 24, i % 24);
	load(&l, yaml);
	assert_string_equal(l.text, "");
	assert_int_equal(l.cfg->groups[0].n_schedules, 64);
	assert_int_equal(l.cfg->groups[0].schedules[63].from_min, 15 * 60);
	assert_int_equal(l.cfg->groups[0].schedules[63].to_min, 15 * 60 + 30);
	unload(&l);
	sprintf(yaml + o, "      - { block: games, from: \"10:00\", to: \"11:00\" }\n");
	expect_diags(
		yaml,
		"test.yaml:8:7: error: groups.thcs.schedules: too many schedules (65); at most 64 are allowed in a group\n");
	free(yaml);
}

static void test_days(void **state)
{
	static const struct {
		const char *days;
		uint8_t bits;
	} cases[] = {
		{"mon", 0x01},
		{"sun", 0x40},
		{"[mon, wed, fri]", 0x15},
		{"mon-fri", 0x1f},
		{"[t2-t6]", 0x1f},
		{"[t7, cn]", 0x60},
		{"[T2, CN, Tue]", 0x43},
		{"fri-mon", 0x71},
		{"[mon-sun]", 0x7f},
		{"[wed-wed, mon]", 0x05},
		{"[mon-t3, thu]", 0x0b},
	};
	char yaml[256];
	struct loaded l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(
			yaml, sizeof(yaml),
			FORWARD ONE_NETWORK
			"groups:\n  x: { schedules: [{ block: games, days: %s, from: \"08:00\", to: \"09:00\" }] }\n",
			cases[i].days);
		load(&l, yaml);
		assert_string_equal(l.text, "");
		if (l.cfg->groups[0].schedules[0].days != cases[i].bits)
			fail_msg("days: %s gave 0x%02x, expected 0x%02x", cases[i].days,
				 l.cfg->groups[0].schedules[0].days, cases[i].bits);
		unload(&l);
	}
	expect_diags(
		FORWARD ONE_NETWORK
		"groups:\n"
		"  x:\n"
		"    schedules:\n"
		"      - { block: games, days: [monday, t8, mon-, -fri, \"mon - fri\"], from: \"08:00\", to: \"09:00\" }\n"
		"      - { block: games, days: [], from: \"08:00\", to: \"09:00\" }\n"
		"      - { block: games, days: {mon: 1}, from: \"08:00\", to: \"09:00\" }\n",
		"test.yaml:8:32: error: groups.x.schedules[0].days[0]: 'monday' is not a day; expected mon, tue, wed, thu, fri, sat, sun (or t2, t3, t4, t5, t6, t7, cn), or a range such as mon-fri\n"
		"test.yaml:8:40: error: groups.x.schedules[0].days[1]: 't8' is not a day; expected mon, tue, wed, thu, fri, sat, sun (or t2, t3, t4, t5, t6, t7, cn), or a range such as mon-fri\n"
		"test.yaml:8:44: error: groups.x.schedules[0].days[2]: 'mon-' is not a day; expected mon, tue, wed, thu, fri, sat, sun (or t2, t3, t4, t5, t6, t7, cn), or a range such as mon-fri\n"
		"test.yaml:8:50: error: groups.x.schedules[0].days[3]: '-fri' is not a day; expected mon, tue, wed, thu, fri, sat, sun (or t2, t3, t4, t5, t6, t7, cn), or a range such as mon-fri\n"
		"test.yaml:8:56: error: groups.x.schedules[0].days[4]: 'mon - fri' is not a day; expected mon, tue, wed, thu, fri, sat, sun (or t2, t3, t4, t5, t6, t7, cn), or a range such as mon-fri\n"
		"test.yaml:9:31: error: groups.x.schedules[1].days: the list is empty; expected days such as [mon-fri] (leave 'days' out for every day)\n"
		"test.yaml:10:31: error: groups.x.schedules[2].days: expected a list of days such as [mon, tue, wed, thu, fri], got a mapping\n");
}

static void test_allow_deny_errors(void **state)
{
	struct loaded l;

	expect_diags(
		FORWARD ONE_NETWORK "groups:\n"
				    "  thcs:\n"
				    "    allow:\n"
				    "      - \"hoc 10.vn\"\n"
				    "      - \"*.hoc10.vn\"\n"
				    "      - https://hoc10.vn/\n"
				    "      - a..vn\n"
				    "      - \"ex*ample.vn\"\n"
				    "      - youtube.com\n"
				    "      - [x]\n"
				    "    deny: [YouTube.com., b.vn]\n",
		"test.yaml:8:9: error: groups.thcs.allow[0]: 'hoc 10.vn' is not a domain name (space inside); expected a domain name such as hoc10.vn\n"
		"test.yaml:9:9: error: groups.thcs.allow[1]: '*.hoc10.vn' has a '*' label; write the name without '*.': an entry covers the names below it too\n"
		"test.yaml:10:9: error: groups.thcs.allow[2]: 'https://hoc10.vn/' is not a domain name (character ':' not allowed); expected a domain name such as hoc10.vn\n"
		"test.yaml:11:9: error: groups.thcs.allow[3]: 'a..vn' is not a domain name (empty label); expected a domain name such as hoc10.vn\n"
		"test.yaml:12:9: error: groups.thcs.allow[4]: 'ex*ample.vn' is not a domain name ('*' is not allowed); expected a domain name such as hoc10.vn\n"
		"test.yaml:14:9: error: groups.thcs.allow[6]: expected a domain name such as hoc10.vn, got a list\n"
		"test.yaml:15:12: error: groups.thcs.deny[0]: 'YouTube.com.' is also in allow (line 13, column 9); a name can be in allow or in deny, not both\n");

	/* on a network too, and a single string */
	expect_diags(
		FORWARD "networks:\n  - { name: A, cidr: 10.0.0.0/8, allow: x.vn, deny: X.VN }\n",
		"test.yaml:4:53: error: networks[0].deny: 'X.VN' is also in allow (line 4, column 41); a name can be in allow or in deny, not both\n");

	/* a repeat is a warning, and dropped */
	load(&l,
	     FORWARD ONE_NETWORK "groups:\n  thcs:\n    deny: [a.vn, b.vn, A.vn., a.vn, b.vn]\n");
	assert_string_equal(
		l.text,
		"test.yaml:7:24: warning: groups.thcs.deny[2]: 'A.vn.' is listed twice (first at line 7, column 12), ignoring the repeat\n"
		"test.yaml:7:31: warning: groups.thcs.deny[3]: 'a.vn' is listed twice (first at line 7, column 12), ignoring the repeat\n"
		"test.yaml:7:37: warning: groups.thcs.deny[4]: 'b.vn' is listed twice (first at line 7, column 18), ignoring the repeat\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->groups[0].n_deny, 2);
	assert_string_equal(l.cfg->groups[0].deny[0].text, "a.vn");
	assert_string_equal(l.cfg->groups[0].deny[1].text, "b.vn");
	unload(&l);

	expect_diags(
		FORWARD ONE_NETWORK "groups:\n  thcs: { allow: {a: b} }\n",
		"test.yaml:6:18: error: groups.thcs.allow: expected a list of domain names such as [\"hoc10.vn\"], got a mapping\n");
}

static void test_allow_limit(void **state)
{
	size_t size = 10001 * 16 + 256, o = 0;
	char *yaml = malloc(size);
	struct loaded l;

	assert_non_null(yaml);
	o += (size_t)snprintf(yaml, size, FORWARD ONE_NETWORK "groups:\n  thcs:\n    allow: [");
	for (int i = 0; i < 10000; i++)
		o += (size_t)snprintf(yaml + o, size - o, "%sn%d.vn", i ? ", " : "", i);
	snprintf(yaml + o, size - o, "]\n");
	load(&l, yaml);
	assert_string_equal(l.text, "");
	assert_int_equal(l.cfg->groups[0].n_allow, 10000);
	assert_string_equal(l.cfg->groups[0].allow[9999].text, "n9999.vn");
	unload(&l);
	snprintf(yaml + o, size - o, ", one-more.vn]\n");
	expect_diags(
		yaml,
		"test.yaml:7:12: error: groups.thcs.allow: too many names (10001); at most 10000 are allowed (use a list file under 'lists:' for more)\n");
	free(yaml);
}

static void test_network_groups(void **state)
{
	expect_diags(
		FORWARD "groups:\n  lop-5a: { preset: tieu_hoc }\n  thcs: {}\n"
			"networks:\n"
			"  - { name: A, cidr: 10.1.0.0/16, group: lop-5b }\n"
			"  - { name: B, cidr: 10.2.0.0/16, group: tieuhoc }\n"
			"  - { name: C, cidr: 10.3.0.0/16, group: staff }\n",
		"test.yaml:7:42: error: networks[0].group: unknown group 'lop-5b' (did you mean 'lop-5a'?); expected a group of 'groups:' or a preset, one of: lop-5a, thcs, mam_non, tieu_hoc, thpt, giao_vien, khach\n"
		"test.yaml:8:42: error: networks[1].group: unknown group 'tieuhoc' (did you mean 'tieu_hoc'?); expected a group of 'groups:' or a preset, one of: lop-5a, thcs, mam_non, tieu_hoc, thpt, giao_vien, khach\n"
		"test.yaml:9:42: error: networks[2].group: unknown group 'staff'; expected a group of 'groups:' or a preset, one of: lop-5a, thcs, mam_non, tieu_hoc, thpt, giao_vien, khach\n");
}

static void test_mmdb(void **state)
{
	const struct cfg_network *n;
	struct loaded l;

	load(&l, FORWARD
	     "groups:\n  ftth: { preset: khach }\n"
	     "networks:\n"
	     "  - mmdb: /var/lib/lanhmanh/subscribers.mmdb\n"
	     "  - { mmdb: /srv/isp.mmdb, name: \"Thuê bao\", group_field: nhom, id_field: ma,"
	     " province_field: tinh, group: ftth }\n"
	     "  - { name: LAN, cidr: 10.0.0.0/8 }\n");
	assert_string_equal(l.text, "");
	assert_int_equal(l.rc, 0);
	n = &l.cfg->networks[0];
	assert_string_equal(n->mmdb, "/var/lib/lanhmanh/subscribers.mmdb");
	assert_string_equal(n->name, "subscribers.mmdb");
	assert_null(n->id);
	assert_null(n->group);
	assert_int_equal(n->group_line, 0);
	assert_string_equal(n->group_field, "group");
	assert_string_equal(n->id_field, "network_id");
	assert_null(n->province_field);
	assert_int_equal(n->n_cidrs, 0);
	assert_int_equal(n->line, 6);
	n = &l.cfg->networks[1];
	assert_string_equal(n->mmdb, "/srv/isp.mmdb");
	assert_string_equal(n->name, "Thuê bao");
	assert_null(n->id);
	assert_string_equal(n->group, "ftth");
	assert_string_equal(n->group_field, "nhom");
	assert_string_equal(n->id_field, "ma");
	assert_string_equal(n->province_field, "tinh");
	n = &l.cfg->networks[2];
	assert_null(n->mmdb);
	assert_null(n->group_field);
	assert_null(n->id_field);
	unload(&l);

	expect_diags(
		FORWARD
		"networks:\n"
		"  - { mmdb: /a.mmdb, cidr: 10.0.0.0/8, id: x, allow: [a.vn], deny: b.vn, group: nhom }\n"
		"  - { mmdb: isp.mmdb }\n"
		"  - { name: A, cidr: 10.1.0.0/16, group_field: g, province_field: p }\n"
		"  - { mmdb: /a.mmdb, id_field: \"\" }\n"
		"  - { name: B }\n",
		"test.yaml:4:22: error: networks[0]: 'cidr' and 'mmdb' cannot be used together: an entry is either address ranges or a subscriber database; make them two entries\n"
		"test.yaml:4:40: error: networks[0]: 'id' is not used with 'mmdb': each subscriber's network id comes from the record field named by 'id_field'\n"
		"test.yaml:4:47: error: networks[0]: 'allow' is not used with 'mmdb': subscribers get the allow and deny of their group; put the names under 'groups:'\n"
		"test.yaml:4:62: error: networks[0]: 'deny' is not used with 'mmdb': subscribers get the allow and deny of their group; put the names under 'groups:'\n"
		"test.yaml:4:81: error: networks[0].group: unknown group 'nhom'; expected a group of 'groups:' or a preset, one of: mam_non, tieu_hoc, thcs, thpt, giao_vien, khach\n"
		"test.yaml:5:13: error: networks[1].mmdb: 'isp.mmdb' is not an absolute path; expected a path starting with '/' such as /var/lib/lanhmanh/subscribers.mmdb\n"
		"test.yaml:6:35: error: networks[2]: 'group_field' is for subscriber databases ('mmdb:') only; remove it, or use 'mmdb:' instead of 'cidr:'\n"
		"test.yaml:6:51: error: networks[2]: 'province_field' is for subscriber databases ('mmdb:') only; remove it, or use 'mmdb:' instead of 'cidr:'\n"
		"test.yaml:7:13: error: networks[3].mmdb: '/a.mmdb' is already used by networks[0] (line 4); list each subscriber database once\n"
		"test.yaml:7:32: error: networks[3].id_field: '' is not a field name; expected letters, digits, '_', '-' and '.' such as network_id (at most 63 characters)\n"
		"test.yaml:8:5: error: networks[4]: missing 'cidr'; every network needs its address ranges, e.g. cidr: [\"10.1.0.0/16\"] (or a subscriber database, e.g. mmdb: /var/lib/lanhmanh/subscribers.mmdb)\n");
}

static void test_timezone(void **state)
{
	struct loaded l;

	load(&l, FORWARD ONE_NETWORK);
	assert_null(l.cfg->server.timezone);
	unload(&l);
	load(&l, FORWARD "  timezone: Asia/Ho_Chi_Minh\n" ONE_NETWORK);
	assert_string_equal(l.text, "");
	assert_string_equal(l.cfg->server.timezone, "Asia/Ho_Chi_Minh");
	unload(&l);
	/* a link (Asia/Saigon -> Ho_Chi_Minh) is fine */
	load(&l, FORWARD "  timezone: Asia/Saigon\n" ONE_NETWORK);
	assert_string_equal(l.text, "");
	assert_string_equal(l.cfg->server.timezone, "Asia/Saigon");
	unload(&l);

	expect_diags(
		FORWARD "  timezone: Asia/Ha_Noi\n" ONE_NETWORK,
		"test.yaml:3:13: error: server.timezone: unknown time zone 'Asia/Ha_Noi'; expected a name from /usr/share/zoneinfo such as Asia/Ho_Chi_Minh\n");
	expect_diags(
		FORWARD "  timezone: ../../../etc/passwd\n" ONE_NETWORK,
		"test.yaml:3:13: error: server.timezone: unknown time zone '../../../etc/passwd'; expected a name from /usr/share/zoneinfo such as Asia/Ho_Chi_Minh\n");
	expect_diags(
		FORWARD "  timezone: /usr/share/zoneinfo/Asia/Ho_Chi_Minh\n" ONE_NETWORK,
		"test.yaml:3:13: error: server.timezone: unknown time zone '/usr/share/zoneinfo/Asia/Ho_Chi_Minh'; expected a name from /usr/share/zoneinfo such as Asia/Ho_Chi_Minh\n");
	/* a directory, and a table that is no zone */
	expect_diags(
		FORWARD "  timezone: Asia\n" ONE_NETWORK,
		"test.yaml:3:13: error: server.timezone: unknown time zone 'Asia'; expected a name from /usr/share/zoneinfo such as Asia/Ho_Chi_Minh\n");
	expect_diags(
		FORWARD "  timezone: zone.tab\n" ONE_NETWORK,
		"test.yaml:3:13: error: server.timezone: unknown time zone 'zone.tab'; expected a name from /usr/share/zoneinfo such as Asia/Ho_Chi_Minh\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preset_table),
		cmocka_unit_test(test_groups_loaded),
		cmocka_unit_test(test_no_groups),
		cmocka_unit_test(test_unknown_category),
		cmocka_unit_test(test_unblock),
		cmocka_unit_test(test_group_keys),
		cmocka_unit_test(test_safe_search_values),
		cmocka_unit_test(test_schedule_errors),
		cmocka_unit_test(test_schedule_limit),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_allow_deny_errors),
		cmocka_unit_test(test_allow_limit),
		cmocka_unit_test(test_network_groups),
		cmocka_unit_test(test_mmdb),
		cmocka_unit_test(test_timezone),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
