/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of policy/policy.c: a real config (cfg_load_buffer), a real compiled set, real
 * MMDB files (tests/lib/make_mmdb.pl); the clock is injected as a minute of the week, so
 * schedule boundaries are tested without waiting for them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/dname.h"
#include "core/error.h"
#include "policy/policy.h"

#define SB (BL_MATCH_SELF | BL_MATCH_BELOW)
#define BIT(c) (1u << (c))

/* Monday = day 0 of the week. */
#define AT(day, h, m) ((unsigned)((day) * 1440 + (h) * 60 + (m)))

static const char config_text[] =
	"server: { forwarders: ['127.0.0.1:5300'], listen: ['127.0.0.1:5301'] }\n"
	"lists:\n"
	"  - { name: national, category: national, file: /dev/null }\n"
	"  - { name: adult, category: adult, file: /dev/null }\n"
	"  - { name: games, category: games, file: /dev/null }\n"
	"  - { name: social, category: social, file: /dev/null }\n"
	"groups:\n"
	"  tieu_hoc:\n"
	"    allow: [hoc10.vn, casino-exempt.vn]\n"
	"    deny: [example-game.vn]\n"
	"  thpt:\n"
	"    schedules: [{ block: [games, social], days: [mon-fri], from: '07:00', to: '17:00' }]\n"
	"  open:\n"
	"    preset: giao_vien\n"
	"    bypass_canaries: false\n"
	"    safe_search: false\n"
	"networks:\n"
	"  - { name: 'TH Le Loi', id: 79-TH-0001, cidr: [10.1.0.0/16], group: tieu_hoc }\n"
	"  - { name: 'THPT A', id: 79-THPT-0001, cidr: [10.2.0.0/16], group: thpt }\n"
	"  - { name: 'Teachers', cidr: [10.3.0.0/16], group: giao_vien }\n"
	"  - { name: 'Lab', cidr: [10.1.5.0/24], group: tieu_hoc, allow: [example-game.vn] }\n"
	"  - { name: 'Open', cidr: [10.4.0.0/16], group: open }\n"
	"  - { name: 'Nogroup', cidr: [10.5.0.0/16] }\n"
	"  - { name: 'Preset only', cidr: [10.6.0.0/16], group: mam_non }\n";

struct fixture {
	struct cfg_root *cfg;
	struct pol_policy *p;
	struct bl_set *lists;
	struct bl_view *view; /**< @lists as the resolver gives it: one layer */
};

static size_t wire(const char *text, uint8_t out[CORE_DNAME_WIRE_MAX])
{
	const char *why = NULL;
	size_t n = core_dname_from_text(text, strlen(text), out, &why);
	assert_true(n > 0);
	return n;
}

static void add(struct bl_builder *b, const char *name, uint32_t cats, uint16_t list,
		uint8_t flags)
{
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t n = wire(name, w);
	assert_int_equal(bl_builder_add(b, w, n, cats, list, flags, BL_ACTION_POLICY, 7, NULL, 0),
			 0);
}

static struct bl_set *make_lists(void)
{
	struct bl_builder *b = bl_builder_new(100);
	assert_non_null(b);
	assert_int_equal(bl_builder_set_list_name(b, 0, "national"), 0);
	assert_int_equal(bl_builder_set_list_name(b, 1, "adult"), 0);
	assert_int_equal(bl_builder_set_list_name(b, 2, "games"), 0);
	assert_int_equal(bl_builder_set_list_name(b, 3, "social"), 0);
	add(b, "casino.vn", BIT(CFG_CAT_NATIONAL), 0, SB);
	add(b, "casino-exempt.vn", BIT(CFG_CAT_NATIONAL), 0, SB);
	add(b, "hoc10.vn", BIT(CFG_CAT_NATIONAL), 0, BL_MATCH_SELF); /* only the name itself */
	add(b, "adult.vn", BIT(CFG_CAT_ADULT), 1, SB);
	add(b, "game.vn", BIT(CFG_CAT_GAMES), 2, SB);
	add(b, "facebook.com", BIT(CFG_CAT_SOCIAL), 3, SB);
	struct bl_set *set;
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

static int setup_text(void **state, const char *text)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cfg_diags diags = {0};
	int r = cfg_load_buffer("test.yaml", text, strlen(text), &f->cfg, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char line[512];
		cfg_diag_format(&diags.v[i], line, sizeof(line));
		print_message("%s\n", line);
	}
	cfg_diags_clear(&diags);
	assert_int_equal(r, 0);
	char err[512] = "";
	r = pol_policy_new(f->cfg, &f->p, err, sizeof(err));
	if (r != 0)
		print_message("%s\n", err);
	assert_int_equal(r, 0);
	f->lists = make_lists();
	struct bl_set *bases[1] = {f->lists}, *overlays[1] = {NULL};
	assert_int_equal(bl_view_new(bases, overlays, 1, &f->view), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_text(state, config_text);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pol_policy_free(f->p);
	cfg_free(f->cfg);
	bl_view_free(f->view);
	bl_set_unref(f->lists);
	free(f);
	return 0;
}

static struct pol_client client(const struct fixture *f, const char *addr)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	struct pol_client c;
	assert_int_equal(pol_client_lookup(f->p, (struct sockaddr *)&ss, &c), 0);
	return c;
}

static struct pol_verdict decide_at(const struct fixture *f, const char *addr, const char *name,
				    unsigned mow)
{
	struct pol_client c = client(f, addr);
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t n = wire(name, w);
	struct pol_verdict v;
	assert_int_equal(pol_decide(f->p, &c, f->view, w, n, mow, &v), 0);
	return v;
}

static struct pol_verdict decide(const struct fixture *f, const char *addr, const char *name)
{
	return decide_at(f, addr, name, AT(0, 10, 0));
}

/* The CNAME target of a REWRITE verdict, as text. */
static const char *rewrite_target(const struct pol_verdict *v, char *buf, size_t size)
{
	size_t len;
	const uint8_t *data = bl_set_local_data(v->set, v->d.match.entry, &len);
	assert_non_null(data);
	assert_true(len > 4);
	assert_int_equal((data[0] << 8) | data[1], 5); /* CNAME */
	core_dname_to_text(data + 4, (size_t)((data[2] << 8) | data[3]), buf, size);
	return buf;
}

static void test_groups_differ(void **state)
{
	struct fixture *f = *state;
	/* games: blocked for primary pupils, allowed for teachers. */
	struct pol_verdict v = decide(f, "10.1.2.3", "www.game.vn");
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	assert_int_equal(v.by, POL_BY_LIST);
	assert_int_equal(v.d.reason, CFG_REASON_POLICY);
	assert_int_equal(v.d.categories, BIT(CFG_CAT_GAMES));
	v = decide(f, "10.3.2.3", "www.game.vn");
	assert_int_equal(v.d.kind, POL_DECISION_PASS);
	assert_int_equal(v.by, POL_BY_NOTHING);
	/* adult: blocked for both pupils' groups, passes for staff. */
	assert_int_equal(decide(f, "10.2.0.9", "adult.vn").d.kind, POL_DECISION_BLOCK);
	assert_int_equal(decide(f, "10.3.0.9", "adult.vn").d.kind, POL_DECISION_PASS);
	/* A preset named by a network without a groups: entry is that preset. */
	struct pol_client c = client(f, "10.6.1.1");
	assert_string_equal(c.group->name, "mam_non");
	assert_int_equal(c.group->preset, CFG_PRESET_MAM_NON);
	assert_int_equal(decide(f, "10.6.1.1", "facebook.com").d.kind, POL_DECISION_BLOCK);
	/* A network without a group: every category. */
	c = client(f, "10.5.1.1");
	assert_string_equal(c.group->name, "all");
	assert_int_equal(decide(f, "10.5.1.1", "game.vn").d.kind, POL_DECISION_BLOCK);
	assert_int_equal(decide(f, "10.5.1.1", "adult.vn").d.kind, POL_DECISION_BLOCK);
	/* The longest prefix wins: the lab's /24 inside the school's /16. */
	c = client(f, "10.1.5.7");
	assert_string_equal(c.network->name, "Lab");
	assert_int_equal(c.prefix_len, 24);
	/* Localhost is built in; other clients are in no network. */
	c = client(f, "127.0.0.1");
	assert_string_equal(c.network->name, "localhost");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	assert_int_equal(pol_client_lookup(f->p, (struct sockaddr *)&sin, &c), CORE_ENOTFOUND);
}

static void test_national_beats_every_allow(void **state)
{
	struct fixture *f = *state;
	/* Staff, no group, allow lists: the national list blocks all the same. */
	const char *clients[] = {"10.1.2.3", "10.3.0.1", "10.4.0.1", "10.5.0.1", "10.1.5.7",
				 "127.0.0.1"};
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		struct pol_verdict v = decide(f, clients[i], "www.casino.vn");
		assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
		assert_int_equal(v.by, POL_BY_NATIONAL);
		assert_int_equal(v.d.reason, CFG_REASON_NATIONAL);
	}
	/* tieu_hoc allows casino-exempt.vn: the national list still wins. */
	struct pol_verdict v = decide(f, "10.1.2.3", "casino-exempt.vn");
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	assert_int_equal(v.by, POL_BY_NATIONAL);
	/* The group's allow of hoc10.vn passes its subdomains, which no list blocks... */
	v = decide(f, "10.1.2.3", "www.hoc10.vn");
	assert_int_equal(v.d.kind, POL_DECISION_PASS);
	assert_int_equal(v.by, POL_BY_GROUP_ALLOW);
	/* ...but not hoc10.vn itself, which the national list names. */
	v = decide(f, "10.1.2.3", "hoc10.vn");
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	assert_int_equal(v.by, POL_BY_NATIONAL);
}

static void test_overrides(void **state)
{
	struct fixture *f = *state;
	/* The group's deny blocks a name no list has, for that group only. */
	struct pol_verdict v = decide(f, "10.1.2.3", "play.example-game.vn");
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	assert_int_equal(v.by, POL_BY_GROUP_DENY);
	assert_int_equal(v.d.reason, CFG_REASON_POLICY);
	assert_string_equal(bl_set_list_name(v.set, v.d.match.list_id), "group tieu_hoc");
	assert_int_equal(decide(f, "10.2.2.3", "play.example-game.vn").d.kind, POL_DECISION_PASS);
	/* The lab network allows it on top of the same group. */
	v = decide(f, "10.1.5.7", "play.example-game.vn");
	assert_int_equal(v.d.kind, POL_DECISION_PASS);
	assert_int_equal(v.by, POL_BY_NETWORK_ALLOW);
}

static void test_schedule_boundaries(void **state)
{
	struct fixture *f = *state;
	const char *thpt = "10.2.0.1";
	struct {
		unsigned mow;
		enum pol_decision_kind kind;
	} cases[] = {
		{AT(0, 6, 59), POL_DECISION_PASS},   {AT(0, 7, 0), POL_DECISION_BLOCK},
		{AT(0, 12, 0), POL_DECISION_BLOCK},  {AT(0, 16, 59), POL_DECISION_BLOCK},
		{AT(0, 17, 0), POL_DECISION_PASS},   {AT(4, 7, 0), POL_DECISION_BLOCK},
		{AT(4, 16, 59), POL_DECISION_BLOCK}, {AT(5, 10, 0), POL_DECISION_PASS},
		{AT(6, 10, 0), POL_DECISION_PASS},   {AT(6, 23, 59), POL_DECISION_PASS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pol_verdict v = decide_at(f, thpt, "m.facebook.com", cases[i].mow);
		assert_int_equal(v.d.kind, cases[i].kind);
		if (cases[i].kind == POL_DECISION_BLOCK) {
			assert_int_equal(v.by, POL_BY_SCHEDULE);
			assert_int_equal(v.d.categories, BIT(CFG_CAT_SOCIAL));
		}
		v = decide_at(f, thpt, "game.vn", cases[i].mow);
		assert_int_equal(v.d.kind, cases[i].kind);
	}
	/* A name the schedule will block later: its answer must not be cached into the window. */
	struct pol_verdict w = decide_at(f, thpt, "m.facebook.com", AT(0, 6, 0));
	assert_int_equal(w.d.kind, POL_DECISION_PASS);
	assert_int_equal(w.ttl_cap_s, 3600);
	w = decide_at(f, thpt, "m.facebook.com", AT(5, 10, 0)); /* Saturday → Monday 07:00 */
	assert_int_equal(w.ttl_cap_s, (2 * 1440 - 10 * 60 + 7 * 60) * 60);
	w = decide_at(f, thpt, "m.facebook.com", AT(0, 17, 0)); /* → Tuesday 07:00 */
	assert_int_equal(w.ttl_cap_s, 14 * 3600);
	/* Names no schedule of the group blocks: no cap. */
	assert_int_equal(decide_at(f, thpt, "www.example.vn", AT(0, 6, 0)).ttl_cap_s, 0);
	assert_int_equal(decide_at(f, "10.3.0.1", "m.facebook.com", AT(0, 6, 0)).ttl_cap_s, 0);
	/* Adult content is blocked at every hour: it is the preset's, not the schedule's. */
	struct pol_verdict v = decide_at(f, thpt, "adult.vn", AT(6, 23, 0));
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	assert_int_equal(v.by, POL_BY_LIST);
	assert_true(pol_policy_has_schedules(f->p));
}

static void test_safe_search(void **state)
{
	struct fixture *f = *state;
	char buf[CORE_DNAME_TEXT_MAX];
	struct pol_verdict v = decide(f, "10.1.2.3", "www.google.com.vn");
	assert_int_equal(v.d.kind, POL_DECISION_REWRITE);
	assert_int_equal(v.by, POL_BY_SAFE_SEARCH);
	assert_string_equal(rewrite_target(&v, buf, sizeof(buf)), "forcesafesearch.google.com.");
	v = decide(f, "10.1.2.3", "www.youtube.com");
	assert_string_equal(rewrite_target(&v, buf, sizeof(buf)), "restrict.youtube.com.");
	/* thpt: YouTube moderate. */
	v = decide(f, "10.2.2.3", "www.youtube.com");
	assert_int_equal(v.d.kind, POL_DECISION_REWRITE);
	assert_string_equal(rewrite_target(&v, buf, sizeof(buf)),
			    "restrictmoderate.youtube.com.");
	v = decide(f, "10.2.2.3", "www.bing.com");
	assert_string_equal(rewrite_target(&v, buf, sizeof(buf)), "strict.bing.com.");
	/* Staff: off. Names that are not search front ends: never. */
	assert_int_equal(decide(f, "10.3.2.3", "www.google.com.vn").d.kind, POL_DECISION_PASS);
	assert_int_equal(decide(f, "10.1.2.3", "mail.google.com").d.kind, POL_DECISION_PASS);
}

static void test_canaries_and_local_zones(void **state)
{
	struct fixture *f = *state;
	struct pol_verdict v = decide(f, "10.1.2.3", "use-application-dns.net");
	assert_int_equal(v.d.kind, POL_DECISION_LOCAL);
	assert_int_equal(v.by, POL_BY_CANARY);
	assert_int_equal(v.d.match.action, BL_ACTION_NXDOMAIN);
	v = decide(f, "10.3.2.3", "mask-h2.icloud.com");
	assert_int_equal(v.d.kind, POL_DECISION_LOCAL);
	/* A group may let them through. */
	assert_int_equal(decide(f, "10.4.2.3", "mask.icloud.com").d.kind, POL_DECISION_PASS);
	/* resolver.arpa is never forwarded, whoever asks. */
	v = decide(f, "10.4.2.3", "_dns.resolver.arpa");
	assert_int_equal(v.d.kind, POL_DECISION_LOCAL);
	assert_int_equal(v.by, POL_BY_LOCAL_ZONE);
	assert_int_equal(v.d.match.action, BL_ACTION_NODATA);
}

static void test_targets(void **state)
{
	struct fixture *f = *state;
	struct pol_client c = client(f, "10.1.2.3");
	uint8_t w[CORE_DNAME_WIRE_MAX];
	/* The query name passed by the group's allow: its CNAME chain is checked against the
	 * national list only. */
	struct pol_verdict q = decide(f, "10.1.2.3", "www.hoc10.vn"), v;
	size_t n = wire("cdn.game.vn", w);
	assert_int_equal(pol_decide_target(f->p, &c, f->view, &q, w, n, 0, &v), 0);
	assert_int_equal(v.d.kind, POL_DECISION_PASS);
	n = wire("x.casino.vn", w);
	assert_int_equal(pol_decide_target(f->p, &c, f->view, &q, w, n, 0, &v), 0);
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	/* An ordinary name: the group's categories apply to the chain; safe search does not. */
	q = decide(f, "10.1.2.3", "www.example.vn");
	n = wire("cdn.game.vn", w);
	assert_int_equal(pol_decide_target(f->p, &c, f->view, &q, w, n, 0, &v), 0);
	assert_int_equal(v.d.kind, POL_DECISION_BLOCK);
	n = wire("www.google.com", w);
	assert_int_equal(pol_decide_target(f->p, &c, f->view, &q, w, n, 0, &v), 0);
	assert_int_equal(v.d.kind, POL_DECISION_PASS);
}

static void test_explain(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "10.2.0.1", &sin.sin_addr);
	uint8_t w[CORE_DNAME_WIRE_MAX];
	size_t n = wire("m.facebook.com", w);
	struct core_buf out;
	core_buf_init(&out, 1 << 20);
	/* 2026-11-23 is a Monday; 02:00 UTC is 09:00 in Ho Chi Minh City. */
	int64_t monday_9am = 1795392000 + 2 * 3600;
	pol_explain(f->p, f->cfg, f->view, (struct sockaddr *)&sin, w, n, monday_9am, &out);
	const char *text = core_buf_str(&out);
	print_message("%s", text);
	assert_non_null(strstr(text, "network: THPT A (id 79-THPT-0001, test.yaml line "));
	assert_non_null(strstr(text, "group: thpt (preset thpt, test.yaml line "));
	assert_non_null(strstr(text, "local time: mon 09:00 (Asia/Ho_Chi_Minh)\n"));
	assert_non_null(strstr(text, "schedule 1: IN FORCE: block games, social, mon,tue,wed,thu,fri 07:00-17:00\n"));
	assert_non_null(strstr(text, "entry: facebook.com in list 'social' (category social)"));
	assert_non_null(strstr(text, "decision: BLOCK by schedule, reason age policy (EDE 15 Blocked)"));
	core_buf_deinit(&out);
	/* Saturday: the same name passes, and explain says why. */
	core_buf_init(&out, 1 << 20);
	pol_explain(f->p, f->cfg, f->view, (struct sockaddr *)&sin, w, n, monday_9am + 5 * 86400,
		    &out);
	text = core_buf_str(&out);
	assert_non_null(strstr(text, "schedule 1: not now:"));
	assert_non_null(strstr(text, "decision: PASS (the list's category is not blocked for this group now)"));
	core_buf_deinit(&out);
}

/* ---- MMDB networks ------------------------------------------------------------------------ */

static bool have_writer(void)
{
	return system("perl -MMaxMind::DB::Writer::Tree -e 1 >/dev/null 2>&1") == 0;
}

static char mmdb_dir[64];

static int setup_mmdb(void **state)
{
	if (!have_writer())
		return 0;
	snprintf(mmdb_dir, sizeof(mmdb_dir), "/tmp/lanhmanh-policy-XXXXXX");
	assert_non_null(mkdtemp(mmdb_dir));
	char in[128], out[128], cmd[512];
	snprintf(in, sizeof(in), "%s/subs.txt", mmdb_dir);
	snprintf(out, sizeof(out), "%s/subs.mmdb", mmdb_dir);
	FILE *fp = fopen(in, "w");
	assert_non_null(fp);
	fputs("100.64.0.0/10 khach ISP-GUEST 79\n"
	      "100.64.1.0/24 thcs 79-THCS-0001 79\n"
	      "100.64.2.0/24 no_such_group X-1 79\n"
	      "10.1.0.0/20 giao_vien ISP-TEACHERS 79\n"
	      "2001:db8::/32 tieu_hoc ISP-V6 01\n",
	      fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "perl '%s' '%s' '%s'", MAKE_MMDB_PL, in, out);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/second.mmdb'", out, mmdb_dir);
	assert_int_equal(system(cmd), 0);
	char text[sizeof(config_text) + 512];
	snprintf(text, sizeof(text),
		 "%s  - { mmdb: %s, province_field: province }\n"
		 "  - { mmdb: %s/second.mmdb, name: second, group: thpt }\n",
		 config_text, out, mmdb_dir);
	return setup_text(state, text);
}

static int teardown_mmdb(void **state)
{
	if (!*state)
		return 0;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", mmdb_dir);
	assert_int_equal(system(cmd), 0);
	return teardown(state);
}

static void test_mmdb_networks(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	struct pol_client c = client(f, "100.64.1.9");
	assert_int_equal(c.mmdb, 0);
	assert_string_equal(c.group->name, "thcs");
	assert_int_equal(c.prefix_len, 24);
	struct pol_mmdb_result r;
	assert_int_equal(pol_mmdb_slot_fields(pol_policy_mmdb(f->p, 0), c.mmdb_slot, &r), 0);
	assert_string_equal(r.network_id, "79-THCS-0001");
	assert_string_equal(r.province, "79");
	assert_int_equal(decide(f, "100.64.1.9", "game.vn").d.kind, POL_DECISION_BLOCK);
	c = client(f, "100.70.0.1");
	assert_string_equal(c.group->name, "khach");
	assert_int_equal(decide(f, "100.70.0.1", "game.vn").d.kind, POL_DECISION_PASS);
	/* A record naming an unknown group: the first file has no fallback, the second does. */
	c = client(f, "100.64.2.1");
	assert_int_equal(c.mmdb, 1);
	assert_string_equal(c.group->name, "thpt");
	/* Longest prefix across CIDR and MMDB: the config's 10.1.0.0/16 loses to the file's
	 * /20, and the config's /24 lab wins over it. */
	c = client(f, "10.1.2.3");
	assert_int_equal(c.mmdb, 0);
	assert_string_equal(c.group->name, "giao_vien");
	c = client(f, "10.1.5.3");
	assert_int_equal(c.mmdb, -1);
	assert_string_equal(c.network->name, "Lab");
	c = client(f, "10.1.200.3");
	assert_int_equal(c.mmdb, -1);
	assert_string_equal(c.network->name, "TH Le Loi");
	c = client(f, "2001:db8::5");
	assert_string_equal(c.group->name, "tieu_hoc");
	/* IPv4-mapped IPv6 clients are looked up as IPv4. */
	c = client(f, "::ffff:100.64.1.9");
	assert_string_equal(c.group->name, "thcs");
}

static void test_bad_mmdb_is_refused(void **state)
{
	(void)state;
	const char *text = "networks:\n  - { mmdb: /nonexistent/subs.mmdb }\n";
	struct cfg_root *cfg;
	struct cfg_diags diags = {0};
	assert_int_equal(cfg_load_buffer("bad.yaml", text, strlen(text), &cfg, &diags), 0);
	cfg_diags_clear(&diags);
	struct pol_policy *p = NULL;
	char err[512] = "";
	assert_int_equal(pol_policy_new(cfg, &p, err, sizeof(err)), -ENOENT);
	assert_null(p);
	assert_non_null(strstr(err, "bad.yaml:2: networks[0].mmdb: "));
	assert_non_null(strstr(err, "/nonexistent/subs.mmdb"));
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_groups_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_national_beats_every_allow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safe_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canaries_and_local_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmdb_networks, setup_mmdb, teardown_mmdb),
		cmocka_unit_test(test_bad_mmdb_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
