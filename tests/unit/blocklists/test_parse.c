/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the list parsers (blocklists/parse.c, rpz.c, name.c): every format parsed into a
 * real builder, the set compiled, and what the parse produced checked with bl_set_lookup().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/parse.h"
#include "core/dname.h"
#include "blocklists/set.h"
#include "core/alloc.h"
#include "core/error.h"

#ifndef BL_FIXTURES_DIR
#error "BL_FIXTURES_DIR must name tests/unit/blocklists/fixtures"
#endif

#define SB (BL_MATCH_SELF | BL_MATCH_BELOW)
#define MAXM 8
#define LIST 7
#define CATS (1u << 3)

/* ---- helpers -------------------------------------------------------------------------------- */

/* Parse @text (NUL-terminated) in @format into a new set; the report stays in @r. */
static struct bl_set *parse_text(enum bl_format format, const char *text, const char *origin,
				 struct bl_parse_report *r)
{
	struct bl_builder *b = bl_builder_new(100000);
	struct bl_set *set = NULL;

	assert_non_null(b);
	assert_int_equal(bl_parse_buffer(format, text, strlen(text), origin, b, LIST, CATS, r), 0);
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

static struct bl_set *parse_fixture(enum bl_format format, const char *file, const char *origin,
				    struct bl_parse_report *r)
{
	struct bl_builder *b = bl_builder_new(100000);
	struct bl_set *set = NULL;
	char path[512];

	assert_non_null(b);
	snprintf(path, sizeof(path), "%s/%s", BL_FIXTURES_DIR, file);
	assert_int_equal(bl_parse_file(format, path, origin, b, LIST, CATS, r), 0);
	assert_int_equal(bl_builder_finish(b, &set), 0);
	bl_builder_free(b);
	return set;
}

/* Every match of presentation name @text (normalised by the parser's own function). */
static size_t look(const struct bl_set *set, const char *text, struct bl_match *m)
{
	uint8_t w[255];
	const char *why = NULL;
	size_t n = core_dname_from_text(text, strlen(text), w, &why);

	assert_true(n > 0);
	return bl_set_lookup(set, w, n, m, MAXM);
}

/* @text has exactly one match, with these flags, action and distance. */
static void expect_one(const struct bl_set *set, const char *text, uint8_t flags, uint8_t action,
		       uint8_t below)
{
	struct bl_match m[MAXM];
	size_t n = look(set, text, m);

	if (n != 1)
		print_error("%s: %zu matches\n", text, n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].flags, flags);
	assert_int_equal(m[0].action, action);
	assert_int_equal(m[0].labels_below, below);
	assert_int_equal(m[0].list_id, LIST);
	assert_int_equal(m[0].categories, CATS);
}

static void expect_none(const struct bl_set *set, const char *text)
{
	struct bl_match m[MAXM];
	size_t n = look(set, text, m);

	if (n != 0)
		print_error("%s: %zu matches, flags %#x\n", text, n, m[0].flags);
	assert_int_equal(n, 0);
}

/* Diagnostic @i is at @line and its message contains @part. */
static void expect_diag(const struct bl_parse_report *r, size_t i, uint32_t line, const char *part)
{
	assert_true(i < r->n_diags);
	if (r->diags[i].line != line || !strstr(r->diags[i].message, part))
		print_error("diag %zu: line %u: %s (wanted line %u, '%s')\n", i, r->diags[i].line,
			    r->diags[i].message, line, part);
	assert_int_equal(r->diags[i].line, line);
	assert_non_null(strstr(r->diags[i].message, part));
}

/* Wire form of plain ASCII @text (no checks): for expected values. */
static size_t wire(const char *text, uint8_t out[255])
{
	size_t o = 0;
	const char *p = text;

	while (*p && strcmp(p, ".") != 0) {
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

static void expect_name(const char *text, const char *want)
{
	uint8_t got[255], exp[255];
	const char *why = NULL;
	size_t n = core_dname_from_text(text, strlen(text), got, &why);
	size_t m = wire(want, exp);

	if (n == 0)
		print_error("'%s': refused (%s)\n", text, why);
	assert_int_equal(n, m);
	assert_memory_equal(got, exp, m);
}

static void expect_bad_name(const char *text, size_t len, const char *why_part)
{
	uint8_t out[255];
	const char *why = NULL;

	assert_int_equal(core_dname_from_text(text, len, out, &why), 0);
	assert_non_null(why);
	if (!strstr(why, why_part))
		print_error("'%s': '%s', wanted '%s'\n", text, why, why_part);
	assert_non_null(strstr(why, why_part));
}

/* ---- names ---------------------------------------------------------------------------------- */

static void test_format_names(void **state)
{
	assert_int_equal(bl_format_parse("domains"), BL_FORMAT_DOMAINS);
	assert_int_equal(bl_format_parse("hosts"), BL_FORMAT_HOSTS);
	assert_int_equal(bl_format_parse("adblock"), BL_FORMAT_ADBLOCK);
	assert_int_equal(bl_format_parse("rpz"), BL_FORMAT_RPZ);
	assert_int_equal(bl_format_parse("RPZ"), -1);
	assert_int_equal(bl_format_parse("plain"), -1);
	assert_int_equal(bl_format_parse(NULL), -1);
}

static void test_names(void **state)
{
	char label63[64], name253[254];

	expect_name("example.vn", "example.vn");
	expect_name("Example.VN.", "example.vn");
	expect_name("_dmarc.mail.vn", "_dmarc.mail.vn");
	expect_name("a-b--c.vn", "a-b--c.vn");
	/* IDN: UTF-8 to xn--, case-folded, NFC; xn-- forms kept (lower-cased) */
	expect_name("giáo-dục.vn", "xn--gio-dc-qta9852d.vn");
	expect_name("GIÁO-DỤC.VN", "xn--gio-dc-qta9852d.vn");
	expect_name("gia\xcc\x81o-du\xcc\xa3\x63.vn", "xn--gio-dc-qta9852d.vn"); /* decomposed */
	expect_name("ĐÀ-NẴNG.vn", "xn---nng-zna70au54p.vn");
	expect_name("trường.edu.vn", "xn--trng-rib8295b.edu.vn");
	expect_name("XN--GIO-FLA.vn", "xn--gio-fla.vn");
	expect_name("www.giáo。vn", "www.xn--gio-fla.vn"); /* ideographic full stop */
	expect_name("giáo.vn.", "xn--gio-fla.vn");

	memset(label63, 'a', 63);
	label63[63] = '\0';
	snprintf(name253, sizeof(name253), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	assert_int_equal(strlen(name253), 253);
	{
		uint8_t out[255];
		const char *why;

		assert_int_equal(core_dname_from_text(name253, 253, out, &why), 255);
	}
	expect_bad_name("", 0, "empty name");
	expect_bad_name(".", 1, "root");
	expect_bad_name("a..vn", 5, "empty label");
	expect_bad_name(".a.vn", 5, "empty label");
	expect_bad_name("exa mple.vn", 11, "space inside");
	expect_bad_name("a*b.vn", 6, "'*'");
	expect_bad_name("*.vn", 4, "'*'");
	expect_bad_name("a/b.vn", 6, "not allowed");
	expect_bad_name("a\0b.vn", 6, "not allowed");
	expect_bad_name("\xff\xfe.vn", 5, "UTF-8");
	expect_bad_name("😀.vn", strlen("😀.vn"), "IDN");
	{
		char long_label[80], long_name[300];

		memset(long_label, 'b', 64);
		long_label[64] = '\0';
		expect_bad_name(long_label, 64, "63");
		snprintf(long_name, sizeof(long_name), "%s.%s.%s.%.62s", label63, label63, label63,
			 label63);
		expect_bad_name(long_name, 254, "253");
		/* an IDN label whose xn-- form is too long */
		snprintf(long_name, sizeof(long_name), "%.60sạ.vn", label63);
		expect_bad_name(long_name, strlen(long_name), "63");
	}
}

/* ---- domains -------------------------------------------------------------------------------- */

static void test_domains_fixture(void **state)
{
	struct bl_parse_report r;
	struct bl_set *set = parse_fixture(BL_FORMAT_DOMAINS, "domains.txt", NULL, &r);

	/* BOM, CRLF, comments, blank lines, a last line without newline */
	assert_int_equal(r.lines, 16);
	assert_int_equal(r.entries, 8);
	assert_int_equal(r.allows, 0);
	assert_int_equal(r.skipped, 0);
	assert_int_equal(r.bad, 5);
	assert_int_equal(r.n_diags, 5);
	assert_int_equal(r.n_ip_triggers, 0);
	expect_diag(&r, 0, 6, "'exa mple.vn' is not a domain name (space inside)");
	expect_diag(&r, 1, 10, "'foo..vn' is not a domain name (empty label)");
	expect_diag(&r, 2, 11, "hosts line");
	expect_diag(&r, 3, 12, "'1.2.3.4' is an IP address");
	expect_diag(&r, 4, 14, "'/' not allowed");

	/* a name blocks itself and below; trailing dot and upper case normalised */
	expect_one(set, "example.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "www.EXAMPLE.vn", SB, BL_ACTION_POLICY, 1);
	expect_none(set, "vn");
	expect_none(set, "notexample.vn");
	/* "*." means only the names below */
	expect_none(set, "wild.vn");
	expect_one(set, "a.wild.vn", BL_MATCH_BELOW, BL_ACTION_POLICY, 1);
	/* IDN in UTF-8 and in xn-- form */
	expect_one(set, "xn--gio-dc-qta9852d.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "www.giáo-dục.vn", SB, BL_ACTION_POLICY, 1);
	expect_one(set, "xn--gio-fla.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "đà-nẵng.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "tabbed.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "_dmarc.mail.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "no-newline-at-end.vn", SB, BL_ACTION_POLICY, 0);
	/* the bad lines added nothing */
	expect_none(set, "ads.vn");
	expect_none(set, "char.vn");

	/* where an entry came from */
	{
		struct bl_match m[MAXM];
		struct bl_source src;

		assert_int_equal(look(set, "example.vn", m), 1);
		assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
		assert_int_equal(src.line, 4);
		assert_int_equal(src.list_id, LIST);
	}
	bl_parse_report_clear(&r);
	bl_set_unref(set);
}

static void test_domains_edges(void **state)
{
	struct bl_parse_report r;
	struct bl_set *set;

	/* LF only, inline comments, '!' comments, a lone "*", an AdBlock rule, a numeric TLD */
	set = parse_text(BL_FORMAT_DOMAINS,
			 "a.vn # why\n!c\n*\n||b.vn^\nfoo.123\n\n\n   \nc.vn\t\n*.*.d.vn\n", NULL,
			 &r);
	assert_int_equal(r.lines, 10);
	assert_int_equal(r.entries, 2);
	assert_int_equal(r.bad, 4);
	expect_diag(&r, 0, 3, "'*' is not a domain name");
	expect_diag(&r, 1, 4, "AdBlock rule");
	expect_diag(&r, 2, 5, "all-digit top-level label");
	expect_diag(&r, 3, 10, "'*.*.d.vn' is not a domain name ('*' inside");
	expect_one(set, "a.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "c.vn", SB, BL_ACTION_POLICY, 0);
	bl_parse_report_clear(&r);
	bl_set_unref(set);

	/* empty input, only comments, only a BOM */
	set = parse_text(BL_FORMAT_DOMAINS, "", NULL, &r);
	assert_int_equal(r.lines, 0);
	assert_int_equal(bl_set_count(set), 0);
	bl_set_unref(set);
	set = parse_text(BL_FORMAT_DOMAINS, "\xef\xbb\xbf", NULL, &r);
	assert_int_equal(r.lines, 0);
	assert_int_equal(r.bad, 0);
	bl_set_unref(set);
	/* a BOM in front of a name */
	set = parse_text(BL_FORMAT_DOMAINS,
			 "\xef\xbb\xbf"
			 "bom.vn\r\n",
			 NULL, &r);
	assert_int_equal(r.entries, 1);
	expect_one(set, "bom.vn", SB, BL_ACTION_POLICY, 0);
	bl_set_unref(set);
}

static void test_utf16(void **state)
{
	static const char text[] = "\xff\xfe"
				   "a\0.\0v\0n\0\n\0";
	struct bl_builder *b = bl_builder_new(10);
	struct bl_parse_report r;

	assert_int_equal(
		bl_parse_buffer(BL_FORMAT_DOMAINS, text, sizeof(text) - 1, NULL, b, 0, 1, &r), 0);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.entries, 0);
	expect_diag(&r, 0, 1, "UTF-16");
	bl_builder_free(b);
}

/* Bad lines never stop a parse; only the first BL_PARSE_MAX_DIAGS are described. */
static void test_many_bad_lines(void **state)
{
	char text[4096] = "";
	struct bl_parse_report r;
	struct bl_set *set;

	for (int i = 0; i < 30; i++)
		strcat(text, "bad name.vn\n");
	strcat(text, "good.vn\n");
	set = parse_text(BL_FORMAT_DOMAINS, text, NULL, &r);
	assert_int_equal(r.bad, 30);
	assert_int_equal(r.n_diags, BL_PARSE_MAX_DIAGS);
	expect_diag(&r, BL_PARSE_MAX_DIAGS - 1, BL_PARSE_MAX_DIAGS, "space inside");
	assert_int_equal(r.entries, 1);
	expect_one(set, "good.vn", SB, BL_ACTION_POLICY, 0);
	bl_set_unref(set);
}

/* What a message quotes: control bytes as '?', long lines cut on a character boundary. */
static void test_quoting(void **state)
{
	char text[512];
	struct bl_parse_report r;
	struct bl_set *set;
	const char *q;

	strcpy(text, "a\x01"
		     "b.vn\n");
	for (int i = 0; i < 40; i++)
		strcat(text, "ạ"); /* 3 bytes each: 120 bytes */
	strcat(text, " x\n");
	set = parse_text(BL_FORMAT_DOMAINS, text, NULL, &r);
	assert_int_equal(r.bad, 2);
	expect_diag(&r, 0, 1, "'a?b.vn' is not a domain name (byte 0x01 not allowed");
	q = r.diags[1].message;
	assert_non_null(strstr(q, "...'"));
	assert_true(strlen(q) < sizeof(r.diags[1].message) - 1);
	/* the cut kept whole characters: 21 of them (63 bytes) fit in the quote */
	assert_memory_equal(q + 1 + 60, "ạ...", strlen("ạ..."));
	bl_set_unref(set);
}

/* ---- hosts ---------------------------------------------------------------------------------- */

static void test_hosts_fixture(void **state)
{
	struct bl_parse_report r;
	struct bl_set *set = parse_fixture(BL_FORMAT_HOSTS, "hosts.txt", NULL, &r);

	assert_int_equal(r.lines, 19);
	assert_int_equal(r.entries, 10);
	assert_int_equal(r.skipped, 7); /* the self entries: localhost... and 0.0.0.0 0.0.0.0 */
	assert_int_equal(r.bad, 4);
	expect_diag(&r, 0, 14, "'bad_name!.vn' is not a domain name ('!' not allowed");
	expect_diag(&r, 1, 15, "use format domains");
	expect_diag(&r, 2, 16, "'not-an-address' is not an address");
	expect_diag(&r, 3, 17, "no name after the address");

	/* hosts entries are exact: the name, not the names below it */
	expect_one(set, "ads.example.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_none(set, "www.ads.example.vn");
	expect_one(set, "tracker.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "cdn.tracker.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "pixel.tracker.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "upper.case.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "mixed.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "v6-any.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	/* the good names of a line with a bad one are kept */
	expect_one(set, "good.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "also-good.vn", BL_MATCH_SELF, BL_ACTION_POLICY, 0);
	expect_one(set, "x.wild.vn", BL_MATCH_BELOW, BL_ACTION_POLICY, 1);
	/* self entries are never blocked */
	expect_none(set, "localhost");
	expect_none(set, "localhost.localdomain");
	expect_none(set, "ip6-localhost");
	expect_none(set, "broadcasthost");
	expect_none(set, "dev.localhost");
	expect_none(set, "ads-only.vn");
	expect_none(set, "ads.vn");
	bl_set_unref(set);
}

/* ---- adblock -------------------------------------------------------------------------------- */

static void test_adblock_fixture(void **state)
{
	struct bl_parse_report r;
	struct bl_set *set = parse_fixture(BL_FORMAT_ADBLOCK, "adblock.txt", NULL, &r);
	struct bl_match m[MAXM];

	assert_int_equal(r.lines, 35);
	assert_int_equal(r.entries, 11);
	assert_int_equal(r.allows, 2);
	assert_int_equal(r.skipped, 18);
	assert_int_equal(r.bad, 2);
	expect_diag(&r, 0, 30, "'||exa mple.vn^' is not a domain name (space inside)");
	expect_diag(&r, 1, 32, "'||^' has no domain name");

	expect_one(set, "ads.example.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "x.ads.example.vn", SB, BL_ACTION_POLICY, 1);
	expect_one(set, "tracker.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "www.end-anchor.vn", SB, BL_ACTION_POLICY, 1);
	/* an exception below a blocked name: both are found, the allow entry first */
	assert_int_equal(look(set, "www.ok.tracker.vn", m), 2);
	assert_int_equal(m[0].flags, SB | BL_ALLOW);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[1].flags, SB);
	assert_int_equal(m[1].labels_below, 2);
	/* $important and $all keep a rule; the options of browsers drop it */
	expect_one(set, "important.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "allowed-important.vn", SB | BL_ALLOW, BL_ACTION_POLICY, 0);
	expect_one(set, "all-types.vn", SB, BL_ACTION_POLICY, 0);
	expect_none(set, "third.vn");
	expect_none(set, "script.vn");
	expect_none(set, "popup.vn");
	expect_none(set, "dnstype.vn");
	expect_none(set, "rewrite.vn");
	expect_none(set, "badfilter.vn");
	/* URL patterns, regexes, cosmetic rules, paths, ports, inner wildcards, IPs: skipped */
	expect_none(set, "banner.vn");
	expect_none(set, "example.vn");
	expect_none(set, "path.vn");
	expect_none(set, "port.vn");
	expect_none(set, "plain.vn");
	expect_none(set, "hosts-line.vn");
	/* "||*.name^": below only; "||name" without separator; upper case; IDN */
	expect_none(set, "sub.example.vn");
	expect_one(set, "a.sub.example.vn", BL_MATCH_BELOW, BL_ACTION_POLICY, 1);
	expect_one(set, "no-separator.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "upper.vn", SB, BL_ACTION_POLICY, 0);
	expect_one(set, "xn--gio-dc-qta9852d.vn", SB, BL_ACTION_POLICY, 0);
	bl_set_unref(set);
}

/* ---- rpz ------------------------------------------------------------------------------------ */

static void expect_ip(const struct bl_ip_trigger *t, int family, const char *addr, uint8_t prefix,
		      uint8_t action, uint32_t line)
{
	uint8_t want[16] = {0};

	assert_int_equal(inet_pton(family, addr, want), 1);
	assert_int_equal(t->family, family);
	assert_memory_equal(t->addr, want, family == AF_INET ? 4 : 16);
	assert_int_equal(t->prefix, prefix);
	assert_int_equal(t->action, action);
	assert_int_equal(t->line, line);
}

static void test_rpz_fixture(void **state)
{
	static const uint8_t local[] = {
		0, 1,  0, 4,  10,   10, 10, 10, /* A 10.10.10.10 */
		0, 28, 0, 16, 0xfd, 0,	0,  0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, /* AAAA */
	};
	struct bl_parse_report r;
	struct bl_set *set = parse_fixture(BL_FORMAT_RPZ, "rpz.zone", NULL, &r);
	struct bl_match m[MAXM];
	const uint8_t *data;
	uint8_t target[255];
	size_t len;

	assert_int_equal(r.lines, 57);
	assert_int_equal(r.entries, 17);
	assert_int_equal(r.allows, 2);
	assert_int_equal(r.skipped, 5); /* rpz-tcp-only, TXT local data, nsdname, nsip, client-ip */
	assert_int_equal(r.bad, 8);
	expect_diag(&r, 0, 49, "'outside.example.com.' is outside the zone 'rpz.national.vn.'");
	expect_diag(&r, 1, 50, "write 'rpz-passthru.'");
	expect_diag(&r, 2, 51, "'10.10.10.300' is not an IPv4 address");
	expect_diag(&r, 3, 52, "bits set beyond the prefix");
	expect_diag(&r, 4, 53, "'CH' is not class IN");
	expect_diag(&r, 5, 54, "'CNAM' is not a record type");
	expect_diag(&r, 6, 55, "'$INCLUDE' is not supported");
	expect_diag(&r, 7, 56, "'exa_mple!.vn' is not a domain name ('!' not allowed");

	/* the apex (SOA, NS, TXT) is not a trigger */
	expect_none(set, "rpz.national.vn");
	expect_none(set, "national.vn");
	/* actions */
	expect_one(set, "nxdomain.vn", SB, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "nodata.vn", BL_MATCH_SELF, BL_ACTION_NODATA, 0);
	expect_none(set, "www.nodata.vn");
	expect_one(set, "drop.vn", BL_MATCH_SELF, BL_ACTION_DROP, 0);
	assert_int_equal(look(set, "pass.nxdomain.vn", m), 2);
	assert_int_equal(m[0].flags, BL_MATCH_SELF | BL_ALLOW);
	assert_int_equal(m[0].action, BL_ACTION_PASSTHRU);
	assert_int_equal(m[1].action, BL_ACTION_NXDOMAIN);
	expect_one(set, "legacy-pass.vn", BL_MATCH_SELF | BL_ALLOW, BL_ACTION_PASSTHRU, 0);
	/* wildcards: "*.name" alone covers only the names below */
	expect_one(set, "wild-only.vn", SB, BL_ACTION_NXDOMAIN, 0);
	expect_none(set, "below-only.vn");
	expect_one(set, "x.below-only.vn", BL_MATCH_BELOW, BL_ACTION_NXDOMAIN, 1);
	/* absolute owner inside the zone, IDN trigger, a second $ORIGIN, "@" under it */
	expect_one(set, "absolute.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "giáo-dục.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "inner.vn.sub", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "sub", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "after-bad.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	/* unsupported: no entry */
	expect_none(set, "tcp-only.vn");
	expect_none(set, "txt-only.vn");
	expect_none(set, "ns.bad.vn");
	expect_none(set, "ns.bad.vn.rpz-nsdname");
	expect_none(set, "oops.vn");

	/* local data: A and AAAA of one trigger, across two lines, retrievable */
	assert_int_equal(look(set, "local.vn", m), 1);
	assert_int_equal(m[0].action, BL_ACTION_LOCAL_DATA);
	data = bl_set_local_data(set, m[0].entry, &len);
	assert_non_null(data);
	assert_int_equal(len, sizeof(local));
	assert_memory_equal(data, local, sizeof(local));
	/* a CNAME to a name: local data of type CNAME */
	assert_int_equal(look(set, "redirect.vn", m), 1);
	assert_int_equal(m[0].action, BL_ACTION_LOCAL_DATA);
	data = bl_set_local_data(set, m[0].entry, &len);
	assert_non_null(data);
	assert_int_equal(len, 4 + wire("blockpage.national.vn", target));
	assert_memory_equal(data, "\0\5\0\x17", 4);
	assert_memory_equal(data + 4, target, len - 4);

	/* IP triggers, in file order, the two A records of the /48 giving one trigger */
	assert_int_equal(r.n_ip_triggers, 4);
	expect_ip(&r.ip_triggers[0], AF_INET, "192.0.2.1", 32, BL_ACTION_NXDOMAIN, 31);
	expect_ip(&r.ip_triggers[1], AF_INET, "192.0.2.0", 24, BL_ACTION_DROP, 32);
	expect_ip(&r.ip_triggers[2], AF_INET6, "2001:db8::1", 128, BL_ACTION_NXDOMAIN, 33);
	expect_ip(&r.ip_triggers[3], AF_INET6, "2001:db8::", 48, BL_ACTION_POLICY, 34);
	bl_parse_report_clear(&r);
	assert_null(r.ip_triggers);
	assert_int_equal(r.n_ip_triggers, 0);
	bl_set_unref(set);
}

/* The zone: the caller's origin, else the SOA owner, else $ORIGIN; names outside are bad. */
static void test_rpz_origin(void **state)
{
	static const char soa_only[] = "rpz.example. 300 IN SOA ns. h. 1 2 3 4 5\n"
				       "a.vn.rpz.example. CNAME .\n"
				       "rpz.example. NS ns.\n";
	static const char relative[] = "a.vn CNAME .\n@ CNAME .\n";
	struct bl_parse_report r;
	struct bl_set *set;

	/* no $ORIGIN: the SOA owner is the zone, and the relative base */
	set = parse_text(BL_FORMAT_RPZ, soa_only, NULL, &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.entries, 1);
	expect_one(set, "a.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	bl_set_unref(set);

	/* the caller's origin wins over the SOA: the SOA is then outside the zone */
	set = parse_text(BL_FORMAT_RPZ, soa_only, "example.", &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.skipped, 2); /* SOA and NS below the apex */
	expect_one(set, "a.vn.rpz", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	bl_set_unref(set);
	set = parse_text(BL_FORMAT_RPZ, soa_only, "other.example", &r);
	assert_int_equal(r.bad, 3);
	expect_diag(&r, 0, 1, "outside the zone 'other.example.'");
	bl_set_unref(set);

	/* relative names with no origin at all */
	set = parse_text(BL_FORMAT_RPZ, relative, NULL, &r);
	assert_int_equal(r.bad, 2);
	expect_diag(&r, 0, 1, "'a.vn' is relative, but no $ORIGIN");
	expect_diag(&r, 1, 2, "'@' is relative");
	bl_set_unref(set);
	/* ... and with the caller's origin */
	set = parse_text(BL_FORMAT_RPZ, relative, "rpz.national.vn.", &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.entries, 1);
	expect_one(set, "a.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	bl_set_unref(set);

	/* $ORIGIN without an SOA makes the zone */
	set = parse_text(BL_FORMAT_RPZ, "$ORIGIN z.\nb.vn CNAME .\nc.vn.z. CNAME *.\n", NULL, &r);
	assert_int_equal(r.bad, 0);
	expect_one(set, "b.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "c.vn", BL_MATCH_SELF, BL_ACTION_NODATA, 0);
	bl_set_unref(set);

	/* an absolute owner before anything names the zone */
	set = parse_text(BL_FORMAT_RPZ, "d.vn.z. CNAME .\n", NULL, &r);
	assert_int_equal(r.bad, 1);
	expect_diag(&r, 0, 1, "before the zone is known");
	bl_set_unref(set);
}

/* Zone-file syntax: parentheses, quotes, comments, blank owners, TTL/class order, errors. */
static void test_rpz_syntax(void **state)
{
	static const char zone[] = "$ORIGIN z.\n"
				   "@ SOA ns. h. ( 1 ; serial\n"
				   "   2 3\n"
				   "   4 5 )\n"
				   "a.vn TXT \"with ; and ( inside\" \"two\"\n"
				   "     CNAME .\n"
				   "b.vn 1h30m IN CNAME .\n"
				   "c.vn IN 3600 CNAME .\n"
				   "d.vn ( CNAME\n"
				   "       . )\n"
				   "e.vn CNAME . ; comment\n"
				   "f.vn TYPE65280 \\# 0\n"
				   "g.vn CNAME\n"
				   "h.vn\n"
				   "i.vn A 1.2.3.4 5.6.7.8\n"
				   "j.vn CNAME ) .\n"
				   "k.vn TXT \"unterminated\n"
				   "l.vn CNAME .\n"
				   "m.vn MX 10 mail.vn.\n"
				   "$TTL\n"
				   "$GENERATE 1-10 x$ CNAME .\n"
				   "\"q\" CNAME .\n"
				   "n.vn CNAME *.example.\n"
				   "o.vn CNAME . extra\n"
				   "*.pass.z. CNAME rpz-passthru.\n"
				   "\\040.vn CNAME .\n";
	struct bl_parse_report r;
	struct bl_set *set = parse_text(BL_FORMAT_RPZ, zone, NULL, &r);

	assert_int_equal(r.lines, 26);
	expect_one(set, "a.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "b.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "c.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "d.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "e.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_one(set, "l.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	expect_none(set, "f.vn");
	expect_none(set, "g.vn");
	expect_none(set, "j.vn");
	expect_none(set, "m.vn");
	expect_none(set, "n.vn");
	/* "*.pass" passthru: an allow entry for the names below */
	expect_none(set, "pass");
	expect_one(set, "zz.pass", BL_MATCH_BELOW | BL_ALLOW, BL_ACTION_PASSTHRU, 1);
	assert_int_equal(r.skipped, 4); /* TXT of a.vn, TYPE65280, MX, CNAME *.example. */
	expect_diag(&r, 0, 13, "'g.vn' has a CNAME without a target");
	expect_diag(&r, 1, 14, "'h.vn' has no record type");
	expect_diag(&r, 2, 15, "'i.vn' has an A record without one address");
	expect_diag(&r, 3, 16, "')' without '('");
	expect_diag(&r, 4, 17, "closing '\"'");
	expect_diag(&r, 5, 20, "'$TTL' needs one TTL");
	expect_diag(&r, 6, 21, "'$GENERATE' is not a supported directive");
	expect_diag(&r, 7, 22, "quoted string is not a name");
	expect_diag(&r, 8, 24, "'o.vn' has a CNAME with more than one target");
	expect_diag(&r, 9, 26, "is not a domain name");
	assert_int_equal(r.bad, 10);
	bl_set_unref(set);

	/* a '(' never closed loses a bounded part of the file, not all of it */
	{
		char big[8192] = "$ORIGIN z.\n@ SOA ns. h. ( 1 2 3 4 5\n";

		for (int i = 0; i < 100; i++) {
			char line[64];

			snprintf(line, sizeof(line), "n%d.vn CNAME .\n", i);
			strcat(big, line);
		}
		set = parse_text(BL_FORMAT_RPZ, big, NULL, &r);
		assert_int_equal(r.bad, 1);
		expect_diag(&r, 0, 2, "'(' without ')'");
		assert_true(r.entries > 70);
		expect_one(set, "n99.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
		bl_set_unref(set);
	}
	/* ... and at the end of the file */
	set = parse_text(BL_FORMAT_RPZ, "$ORIGIN z.\na.vn CNAME .\nb.vn ( CNAME .", NULL, &r);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.lines, 3);
	expect_diag(&r, 0, 3, "'(' without ')'");
	bl_set_unref(set);
	/* nested parentheses are refused, the next line is read again */
	set = parse_text(BL_FORMAT_RPZ,
			 "$ORIGIN z.\n@ SOA ns. h. ( 1 ( 2 ) 3 4 5 )\na.vn CNAME .\n", NULL, &r);
	assert_int_equal(r.bad, 1);
	expect_diag(&r, 0, 2, "'@' has '(' inside '('");
	expect_one(set, "a.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	bl_set_unref(set);
	/* CRLF and a BOM in a zone file */
	set = parse_text(BL_FORMAT_RPZ, "\xef\xbb\xbf$ORIGIN z.\r\na.vn CNAME .\r\n", NULL, &r);
	assert_int_equal(r.bad, 0);
	expect_one(set, "a.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	bl_set_unref(set);
}

static void test_rpz_ip_triggers(void **state)
{
	static const char zone[] = "$ORIGIN z.\n"
				   "8.0.0.0.10.rpz-ip CNAME rpz-passthru.\n"
				   "64.zz.db8.2001.rpz-ip CNAME *.\n"
				   "128.1.0.0.0.0.0.0.fd00.rpz-ip CNAME .\n"
				   "128.1.zz.rpz-ip CNAME .\n"
				   "96.zz.1.0.0.0.0.2001.rpz-ip CNAME .\n"
				   "33.1.2.0.192.rpz-ip CNAME .\n"
				   "32.1.2.0.256.rpz-ip CNAME .\n"
				   "0.0.0.0.0.rpz-ip CNAME .\n"
				   "64.zz.db8.zz.2001.rpz-ip CNAME .\n"
				   "64.1.2.3.rpz-ip CNAME .\n"
				   "64.12345.db8.2001.zz.rpz-ip CNAME .\n"
				   "*.24.0.2.0.192.rpz-ip CNAME .\n"
				   "rpz-ip CNAME .\n"
				   "32.rpz-ip CNAME .\n"
				   "32.1.2.0.192.rpz-ip TXT \"x\"\n";
	struct bl_parse_report r;
	struct bl_set *set = parse_text(BL_FORMAT_RPZ, zone, NULL, &r);

	assert_int_equal(r.n_ip_triggers, 5);
	expect_ip(&r.ip_triggers[0], AF_INET, "10.0.0.0", 8, BL_ACTION_PASSTHRU, 2);
	expect_ip(&r.ip_triggers[1], AF_INET6, "2001:db8::", 64, BL_ACTION_NODATA, 3);
	expect_ip(&r.ip_triggers[2], AF_INET6, "fd00::1", 128, BL_ACTION_NXDOMAIN, 4);
	expect_ip(&r.ip_triggers[3], AF_INET6, "::1", 128, BL_ACTION_NXDOMAIN, 5);
	expect_ip(&r.ip_triggers[4], AF_INET6, "2001::1:0:0", 96, BL_ACTION_NXDOMAIN, 6);
	assert_int_equal(r.bad, 9);
	expect_diag(&r, 0, 7, "prefix length 1-32");
	expect_diag(&r, 1, 8, "over 255");
	expect_diag(&r, 2, 9, "prefix length 1-32");
	expect_diag(&r, 3, 10, "more than one 'zz'");
	expect_diag(&r, 4, 11, "8 groups or 'zz'");
	expect_diag(&r, 5, 12, "1-4 hex digits");
	expect_diag(&r, 6, 13, "a wildcard");
	expect_diag(&r, 7, 14, "'rpz-ip' is not an IP trigger");
	expect_diag(&r, 8, 15, "'32.rpz-ip' is not an IP trigger");
	assert_int_equal(r.skipped, 1); /* the TXT */
	/* no IP trigger leaks into the set as a name */
	assert_int_equal(bl_set_count(set), 0);
	bl_parse_report_clear(&r);
	bl_set_unref(set);
}

/* Many IP triggers: the report grows, and is released by bl_parse_report_clear(). */
static void test_rpz_many_ip(void **state)
{
	static char zone[64 * 1024];
	struct bl_parse_report r;
	struct bl_set *set;
	size_t o;

	o = (size_t)snprintf(zone, sizeof(zone), "$ORIGIN z.\n");
	for (int i = 0; i < 1000; i++)
		o += (size_t)snprintf(zone + o, sizeof(zone) - o, "32.%d.%d.0.10.rpz-ip CNAME .\n",
				      i % 256, i / 256);
	set = parse_text(BL_FORMAT_RPZ, zone, NULL, &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.n_ip_triggers, 1000);
	expect_ip(&r.ip_triggers[999], AF_INET, "10.0.3.231", 32, BL_ACTION_NXDOMAIN, 1001);
	bl_parse_report_clear(&r);
	bl_set_unref(set);
}

/* ---- entry points and failures -------------------------------------------------------------- */

static void test_arguments(void **state)
{
	struct bl_builder *b = bl_builder_new(10);
	struct bl_parse_report r;

	assert_int_equal(
		bl_parse_buffer(BL_FORMAT_DOMAINS, "a.vn\n", 5, NULL, b, BL_MAX_LISTS, 1, &r),
		-EINVAL);
	assert_int_equal(bl_parse_buffer(BL_FORMAT_RPZ, "", 0, "bad origin.", b, 0, 1, &r),
			 -EINVAL);
	assert_int_equal(bl_parse_buffer((enum bl_format)42, "", 0, NULL, b, 0, 1, &r), -EINVAL);
	assert_int_equal(bl_parse_buffer(BL_FORMAT_DOMAINS, "a.vn\n", 5, NULL, NULL, 0, 1, &r),
			 -EINVAL);
	assert_int_equal(
		bl_parse_file(BL_FORMAT_DOMAINS, BL_FIXTURES_DIR "/missing.txt", NULL, b, 0, 1, &r),
		-ENOENT);
	assert_int_equal(bl_parse_file(BL_FORMAT_DOMAINS, BL_FIXTURES_DIR, NULL, b, 0, 1, &r),
			 -EISDIR);
	assert_int_equal(bl_parse_file(BL_FORMAT_DOMAINS, "/dev/null", NULL, b, 0, 1, &r), -EINVAL);
	/* no report: fine */
	assert_int_equal(bl_parse_buffer(BL_FORMAT_RPZ, "32.1.2.0.192.rpz-ip CNAME .\n",
					 strlen("32.1.2.0.192.rpz-ip CNAME .\n"), "z.", b, 0, 1,
					 NULL),
			 0);
	assert_int_equal(bl_builder_count(b), 0);
	bl_builder_free(b);
}

/* A full builder stops the parse with CORE_ELIMIT; the report counts what got in. */
static void test_builder_full(void **state)
{
	static const char text[] = "a.vn\nb.vn\nc.vn\nd.vn\n";
	static const char zone[] = "$ORIGIN z.\na.vn A 1.2.3.4\nb.vn A 1.2.3.5\n";
	struct bl_builder *b = bl_builder_new(2);
	struct bl_parse_report r;

	assert_int_equal(
		bl_parse_buffer(BL_FORMAT_DOMAINS, text, sizeof(text) - 1, NULL, b, 0, 1, &r),
		CORE_ELIMIT);
	assert_int_equal(r.entries, 2);
	bl_builder_free(b);

	b = bl_builder_new(1);
	assert_int_equal(bl_parse_buffer(BL_FORMAT_RPZ, zone, sizeof(zone) - 1, NULL, b, 0, 1, &r),
			 CORE_ELIMIT);
	assert_int_equal(r.entries, 1);
	bl_builder_free(b);
}

/* Too much local data for one name: the extra records are bad lines, the parse goes on. */
static void test_local_data_limit(void **state)
{
	static char zone[1 << 20];
	struct bl_parse_report r;
	struct bl_set *set;
	size_t o = (size_t)snprintf(zone, sizeof(zone), "$ORIGIN z.\n");

	for (int i = 0; i < 3000; i++) /* 20 bytes each: 60000 bytes fit, 65535 is the bound */
		o += (size_t)snprintf(zone + o, sizeof(zone) - o, "big.vn AAAA fd00::%x\n", i);
	for (int i = 0; i < 500; i++)
		o += (size_t)snprintf(zone + o, sizeof(zone) - o, "big.vn AAAA fd01::%x\n", i);
	o += (size_t)snprintf(zone + o, sizeof(zone) - o, "after.vn CNAME .\n");
	set = parse_text(BL_FORMAT_RPZ, zone, NULL, &r);
	assert_true(r.bad > 0);
	assert_int_equal(r.bad, 3500 - 65535 / 20);
	expect_diag(&r, 0, 2 + 65535 / 20, "too much local data");
	expect_one(set, "after.vn", BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 0);
	bl_set_unref(set);
}

/* Every allocation failing in turn: a clean -ENOMEM or success, never a leak (ASan, valgrind). */
static void test_alloc_failures(void **state)
{
	static char zone[16 * 1024];
	size_t o = (size_t)snprintf(zone, sizeof(zone), "$ORIGIN z.\n");
	int ok = 0;

	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(zone + o, sizeof(zone) - o,
				      "32.%d.2.0.192.rpz-ip CNAME .\nn%d.vn A 10.0.0.%d\n", i, i,
				      i);
	for (uint64_t n = 1; n < 200 && ok < 3; n++) {
		struct bl_builder *b = bl_builder_new(1000);
		struct bl_parse_report r;
		int rc;

		assert_non_null(b);
		core_alloc_fail_at(n);
		rc = bl_parse_buffer(BL_FORMAT_RPZ, zone, o, NULL, b, 0, 1, &r);
		core_alloc_fail_at(0);
		if (rc == 0)
			ok++;
		else
			assert_int_equal(rc, -ENOMEM);
		bl_parse_report_clear(&r);
		bl_builder_free(b);
	}
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_domains_fixture),
		cmocka_unit_test(test_domains_edges),
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_many_bad_lines),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_hosts_fixture),
		cmocka_unit_test(test_adblock_fixture),
		cmocka_unit_test(test_rpz_fixture),
		cmocka_unit_test(test_rpz_origin),
		cmocka_unit_test(test_rpz_syntax),
		cmocka_unit_test(test_rpz_ip_triggers),
		cmocka_unit_test(test_rpz_many_ip),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_builder_full),
		cmocka_unit_test(test_local_data_limit),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
