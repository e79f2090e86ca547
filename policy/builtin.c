/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The built-in name tables (safe search, bypass canaries, local zones, bypass resolvers) and
 * their compilers. Sources and update procedure: policy/README-builtin.md.
 */
#include "policy/builtin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/assert.h"
#include "core/dname.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_AAAA 28

/*
 * Google Search: every country domain Google publishes as supported
 * (https://www.google.com/supported_domains), in that list's order, then two that earlier
 * versions of the list carried. Each is rewritten as itself and as "www." + itself, exactly
 * (mail.google.com, maps.google.com and the like are not touched).
 */
/* clang-format off */
static const char *const google_domains[] = {
	"google.com",     "google.ad",     "google.ae",     "google.com.af", "google.com.ag",
	"google.al",      "google.am",     "google.co.ao",  "google.com.ar", "google.as",
	"google.at",      "google.com.au", "google.az",     "google.ba",     "google.com.bd",
	"google.be",      "google.bf",     "google.bg",     "google.com.bh", "google.bi",
	"google.bj",      "google.com.bn", "google.com.bo", "google.com.br", "google.bs",
	"google.bt",      "google.co.bw",  "google.by",     "google.com.bz", "google.ca",
	"google.cd",      "google.cf",     "google.cg",     "google.ch",     "google.ci",
	"google.co.ck",   "google.cl",     "google.cm",     "google.cn",     "google.com.co",
	"google.co.cr",   "google.com.cu", "google.cv",     "google.com.cy", "google.cz",
	"google.de",      "google.dj",     "google.dk",     "google.dm",     "google.com.do",
	"google.dz",      "google.com.ec", "google.ee",     "google.com.eg", "google.es",
	"google.com.et",  "google.fi",     "google.com.fj", "google.fm",     "google.fr",
	"google.ga",      "google.ge",     "google.gg",     "google.com.gh", "google.com.gi",
	"google.gl",      "google.gm",     "google.gr",     "google.com.gt", "google.gy",
	"google.com.hk",  "google.hn",     "google.hr",     "google.ht",     "google.hu",
	"google.co.id",   "google.ie",     "google.co.il",  "google.im",     "google.co.in",
	"google.iq",      "google.is",     "google.it",     "google.je",     "google.com.jm",
	"google.jo",      "google.co.jp",  "google.co.ke",  "google.com.kh", "google.ki",
	"google.kg",      "google.co.kr",  "google.com.kw", "google.kz",     "google.la",
	"google.com.lb",  "google.li",     "google.lk",     "google.co.ls",  "google.lt",
	"google.lu",      "google.lv",     "google.com.ly", "google.co.ma",  "google.md",
	"google.me",      "google.mg",     "google.mk",     "google.ml",     "google.com.mm",
	"google.mn",      "google.com.mt", "google.mu",     "google.mv",     "google.mw",
	"google.com.mx",  "google.com.my", "google.co.mz",  "google.com.na", "google.com.ng",
	"google.com.ni",  "google.ne",     "google.nl",     "google.no",     "google.com.np",
	"google.nr",      "google.nu",     "google.co.nz",  "google.com.om", "google.com.pa",
	"google.com.pe",  "google.com.pg", "google.com.ph", "google.com.pk", "google.pl",
	"google.pn",      "google.com.pr", "google.ps",     "google.pt",     "google.com.py",
	"google.com.qa",  "google.ro",     "google.ru",     "google.rw",     "google.com.sa",
	"google.com.sb",  "google.sc",     "google.se",     "google.com.sg", "google.sh",
	"google.si",      "google.sk",     "google.com.sl", "google.sn",     "google.so",
	"google.sm",      "google.sr",     "google.st",     "google.com.sv", "google.td",
	"google.tg",      "google.co.th",  "google.com.tj", "google.tl",     "google.tm",
	"google.tn",      "google.to",     "google.com.tr", "google.tt",     "google.com.tw",
	"google.co.tz",   "google.com.ua", "google.co.ug",  "google.co.uk",  "google.com.uy",
	"google.co.uz",   "google.com.vc", "google.co.ve",  "google.co.vi",  "google.com.vn",
	"google.vu",      "google.ws",     "google.rs",     "google.co.za",  "google.co.zm",
	"google.co.zw",   "google.cat",
	/* carried by earlier versions of the published list */
	"google.ac",      "google.com.ai",
};
/* clang-format on */

/* YouTube Restricted Mode: the five names Google documents for the DNS method. */
static const char *const youtube_names[] = {
	"www.youtube.com",	    "m.youtube.com",
	"youtubei.googleapis.com",  "youtube.googleapis.com",
	"www.youtube-nocookie.com",
};

/* Bing: Microsoft documents www.bing.com → strict.bing.com; the bare name redirects there. */
static const char *const bing_names[] = {"www.bing.com", "bing.com"};

/* DuckDuckGo's help pages name these three. */
static const char *const duckduckgo_names[] = {
	"duckduckgo.com",
	"www.duckduckgo.com",
	"start.duckduckgo.com",
};

/* Pixabay's SafeSearch help. */
static const char *const pixabay_names[] = {"pixabay.com", "www.pixabay.com"};

/* One engine's rewrite: names → target (a second target for POL_SAFE_MODERATE, if it has one). */
struct rewrite {
	const char *const *names;
	size_t n;
	bool www_too; /**< also rewrite "www." + each name */
	const char *target;
	const char *target_moderate; /**< NULL: @target at both levels */
};

static const struct rewrite rewrites[] = {
	{google_domains, ARRAY_LEN(google_domains), true, "forcesafesearch.google.com", NULL},
	{youtube_names, ARRAY_LEN(youtube_names), false, "restrict.youtube.com",
	 "restrictmoderate.youtube.com"},
	{bing_names, ARRAY_LEN(bing_names), false, "strict.bing.com", NULL},
	{duckduckgo_names, ARRAY_LEN(duckduckgo_names), false, "safe.duckduckgo.com", NULL},
	{pixabay_names, ARRAY_LEN(pixabay_names), false, "safesearch.pixabay.com", NULL},
};

/*
 * Canaries, answered NXDOMAIN. Firefox: "use-application-dns.net" answered NXDOMAIN (or
 * NOERROR without A/AAAA) turns off DoH it enabled by default. Apple: "mask.icloud.com" and
 * "mask-h2.icloud.com" answered NXDOMAIN (or with no records) turn off iCloud Private Relay on
 * the network, with a notice to the user.
 */
static const char *const canary_names[] = {
	"use-application-dns.net",
	"mask.icloud.com",
	"mask-h2.icloud.com",
};

/* Local zones (all with their subdomains); localhost gets loopback records. */
static const char *const nodata_zones[] = {"resolver.arpa"};
static const char *const nxdomain_zones[] = {"invalid", "onion"};
static const char *const loopback_zones[] = {"localhost"};

/* A 127.0.0.1 and AAAA ::1, as (type, rdlength, rdata) records */
/* clang-format off */
static const uint8_t loopback_data[] = {
	0, TYPE_A,    0, 4,  127, 0, 0, 1,
	0, TYPE_AAAA, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};
/* clang-format on */

/*
 * proxy_vpn_doh: public DoH/DoT resolvers (host names their operators publish), then the API
 * and rendezvous hosts of widely used bypass tools. Each name matches itself and below.
 */
static const char *const bypass_names[] = {
	/* Google Public DNS */
	"dns.google",
	"dns.google.com",
	"8888.google",
	/* Cloudflare 1.1.1.1, 1.1.1.1 for Families, Zero Trust Gateway */
	"cloudflare-dns.com",
	"one.one.one.one",
	"1dot1dot1dot1.cloudflare-dns.com",
	"mozilla.cloudflare-dns.com",
	"chrome.cloudflare-dns.com",
	"family.cloudflare-dns.com",
	"security.cloudflare-dns.com",
	"cloudflare-gateway.com",
	/* Quad9 */
	"dns.quad9.net",
	"dns9.quad9.net",
	"dns10.quad9.net",
	"dns11.quad9.net",
	/* OpenDNS / Cisco Umbrella */
	"doh.opendns.com",
	"doh.familyshield.opendns.com",
	"doh.umbrella.com",
	"dns.umbrella.com",
	/* AdGuard DNS (current and former names; d.: private servers) */
	"dns.adguard.com",
	"dns-family.adguard.com",
	"dns-unfiltered.adguard.com",
	"dns.adguard-dns.com",
	"family.adguard-dns.com",
	"unfiltered.adguard-dns.com",
	"d.adguard-dns.com",
	/* NextDNS (profiles are <id>.dns.nextdns.io) */
	"dns.nextdns.io",
	/* CleanBrowsing */
	"doh.cleanbrowsing.org",
	"family-filter-dns.cleanbrowsing.org",
	"adult-filter-dns.cleanbrowsing.org",
	"security-filter-dns.cleanbrowsing.org",
	/* DNS.SB */
	"dns.sb",
	"doh.dns.sb",
	/* TWNIC Quad101 */
	"dns.twnic.tw",
	/* LibreDNS */
	"doh.libredns.gr",
	"dot.libredns.gr",
	/* Alibaba AliDNS, Tencent DNSPod, Qihoo 360 */
	"dns.alidns.com",
	"doh.pub",
	"dot.pub",
	"doh.360.cn",
	"dot.360.cn",
	/* Control D */
	"dns.controld.com",
	"freedns.controld.com",
	/* Mullvad */
	"doh.mullvad.net",
	"dns.mullvad.net",
	"base.dns.mullvad.net",
	"adblock.dns.mullvad.net",
	"family.dns.mullvad.net",
	/* Hurricane Electric, SWITCH, Digitale Gesellschaft, CZ.NIC ODVR */
	"ordns.he.net",
	"dns.switch.ch",
	"dns.digitale-gesellschaft.ch",
	"odvr.nic.cz",
	/* CIRA Canadian Shield */
	"private.canadianshield.cira.ca",
	"protected.canadianshield.cira.ca",
	"family.canadianshield.cira.ca",
	/* dns0.eu */
	"dns0.eu",
	"zero.dns0.eu",
	"kids.dns0.eu",
	"open.dns0.eu",
	/* Comcast (a Firefox TRR) */
	"doh.xfinity.com",
	/* Applied Privacy, UncensoredDNS, Freifunk München */
	"doh.applied-privacy.net",
	"dot1.applied-privacy.net",
	"unicast.uncensoreddns.org",
	"anycast.uncensoreddns.org",
	"doh.ffmuc.net",
	"dot.ffmuc.net",
	/* IIJ Public DNS */
	"public.dns.iij.jp",
	/* RethinkDNS */
	"sky.rethinkdns.com",
	"basic.rethinkdns.com",
	"max.rethinkdns.com",
	/* Yandex.DNS over TLS */
	"common.dot.dns.yandex.net",
	"safe.dot.dns.yandex.net",
	"family.dot.dns.yandex.net",
	/* DNS4all (SIDN), Njalla, Andrews & Arnold, dnsforge.de, Wikimedia DNS */
	"doh.dns4all.eu",
	"dns.njal.la",
	"dns.aa.net.uk",
	"dnsforge.de",
	"wikimedia-dns.org",
	/* Tor: bridge distribution and the Snowflake broker */
	"bridges.torproject.org",
	"snowflake-broker.torproject.net",
	/* Cloudflare WARP (the "1.1.1.1" app): registration API and tunnel endpoint */
	"api.cloudflareclient.com",
	"engage.cloudflareclient.com",
	/* Proton VPN API (old and current) */
	"api.protonvpn.ch",
	"vpn-api.proton.me",
	/* Opera's built-in VPN proxies */
	"sec-tunnel.com",
};

/* Wire form of presentation name @text, or 0: a table entry that does not convert is a bug. */
static size_t to_wire(const char *text, uint8_t out[CORE_DNAME_WIRE_MAX])
{
	const char *why;
	size_t len = core_dname_from_text(text, strlen(text), out, &why);

	(void)why;
	return len;
}

/* Add @text with @flags and @action (and local data) to @b as list 0. */
static int add_name(struct bl_builder *b, const char *text, uint8_t flags, enum bl_action action,
		    const uint8_t *data, size_t data_len)
{
	uint8_t wire[CORE_DNAME_WIRE_MAX];
	size_t len = to_wire(text, wire);

	if (core_fails_assert(len > 0))
		return -EINVAL;
	return bl_builder_add(b, wire, len, 0, 0, flags, action, 0, data, data_len);
}

static int add_names(struct bl_builder *b, const char *const *names, size_t n, uint8_t flags,
		     enum bl_action action, const uint8_t *data, size_t data_len)
{
	for (size_t i = 0; i < n; i++) {
		int rc = add_name(b, names[i], flags, action, data, data_len);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Compile @b into @out_set. @added is how many adds were made: fewer entries means a name is
 * in the tables twice (or twice in different tables), which is a bug.
 */
static int finish(struct bl_builder *b, size_t added, struct bl_set **out_set)
{
	if (core_fails_assert(bl_builder_count(b) == added))
		return -EINVAL;
	return bl_builder_finish(b, out_set);
}

/* The CNAME record (type, rdlength, wire name) to @target in @out; @return its length or 0. */
static size_t cname_record(const char *target, uint8_t out[4 + CORE_DNAME_WIRE_MAX])
{
	size_t len = to_wire(target, out + 4);

	if (len == 0)
		return 0;
	out[0] = 0;
	out[1] = TYPE_CNAME;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return 4 + len;
}

static int add_rewrite(struct bl_builder *b, const struct rewrite *rw, enum pol_safe_level level,
		       size_t *added)
{
	const char *target = level == POL_SAFE_MODERATE && rw->target_moderate ?
				     rw->target_moderate :
				     rw->target;
	uint8_t rec[4 + CORE_DNAME_WIRE_MAX];
	size_t rec_len = cname_record(target, rec);
	int rc;

	if (core_fails_assert(rec_len > 0))
		return -EINVAL;
	rc = add_names(b, rw->names, rw->n, BL_MATCH_SELF, BL_ACTION_LOCAL_DATA, rec, rec_len);
	if (rc < 0)
		return rc;
	*added += rw->n;
	if (!rw->www_too)
		return 0;
	for (size_t i = 0; i < rw->n; i++) {
		char www[CORE_DNAME_TEXT_MAX];
		size_t len = strlen(rw->names[i]);

		if (core_fails_assert(len + 5 <= sizeof(www)))
			return -EINVAL;
		memcpy(www, "www.", 4);
		memcpy(www + 4, rw->names[i], len + 1);
		rc = add_name(b, www, BL_MATCH_SELF, BL_ACTION_LOCAL_DATA, rec, rec_len);
		if (rc < 0)
			return rc;
	}
	*added += rw->n;
	return 0;
}

int pol_builtin_safe_search(enum pol_safe_level level, struct bl_set **out_set)
{
	struct bl_builder *b;
	size_t max = 0, added = 0;
	int rc;

	if (level != POL_SAFE_MODERATE && level != POL_SAFE_STRICT)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_LEN(rewrites); i++)
		max += rewrites[i].n * (rewrites[i].www_too ? 2 : 1);
	b = bl_builder_new(max);
	if (!b)
		return -ENOMEM;
	rc = bl_builder_set_list_name(b, 0, "safe-search");
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(rewrites); i++)
		rc = add_rewrite(b, &rewrites[i], level, &added);
	if (rc == 0)
		rc = finish(b, added, out_set);
	bl_builder_free(b);
	return rc;
}

int pol_builtin_canaries(struct bl_set **out_set)
{
	struct bl_builder *b = bl_builder_new(ARRAY_LEN(canary_names));
	int rc;

	if (!b)
		return -ENOMEM;
	rc = bl_builder_set_list_name(b, 0, "bypass-canary");
	if (rc == 0)
		rc = add_names(b, canary_names, ARRAY_LEN(canary_names), BL_MATCH_SELF,
			       BL_ACTION_NXDOMAIN, NULL, 0);
	if (rc == 0)
		rc = finish(b, ARRAY_LEN(canary_names), out_set);
	bl_builder_free(b);
	return rc;
}

int pol_builtin_local_zones(struct bl_set **out_set)
{
	const uint8_t sb = BL_MATCH_SELF | BL_MATCH_BELOW;
	size_t n = ARRAY_LEN(nodata_zones) + ARRAY_LEN(nxdomain_zones) + ARRAY_LEN(loopback_zones);
	struct bl_builder *b = bl_builder_new(n);
	int rc;

	if (!b)
		return -ENOMEM;
	rc = bl_builder_set_list_name(b, 0, "local-zone");
	if (rc == 0)
		rc = add_names(b, nodata_zones, ARRAY_LEN(nodata_zones), sb, BL_ACTION_NODATA, NULL,
			       0);
	if (rc == 0)
		rc = add_names(b, nxdomain_zones, ARRAY_LEN(nxdomain_zones), sb, BL_ACTION_NXDOMAIN,
			       NULL, 0);
	if (rc == 0)
		rc = add_names(b, loopback_zones, ARRAY_LEN(loopback_zones), sb,
			       BL_ACTION_LOCAL_DATA, loopback_data, sizeof(loopback_data));
	if (rc == 0)
		rc = finish(b, n, out_set);
	bl_builder_free(b);
	return rc;
}

const char *const *pol_builtin_bypass_names(size_t *out_n)
{
	*out_n = ARRAY_LEN(bypass_names);
	return bypass_names;
}
