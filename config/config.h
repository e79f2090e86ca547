/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration: one YAML file turned into plain, validated, immutable structs.
 *
 * config/ knows nothing about the modules that consume it: each takes what it needs from a
 * struct cfg_root through its own *_apply_cfg(). A loaded cfg_root is never modified; a reload
 * loads a new one and the old one is freed once nothing uses it.
 *
 * Errors are collected as diagnostics, all of them, each naming file:line:column, the key path
 * and what is expected, e.g.
 *   lanhmanh.yaml:42:7: error: networks[2].cidr[0]: '10.1.0.0/33' is not a CIDR (prefix length 0-32)
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** An address with a port, as written in the config ("127.0.0.1:53", "[::1]:5353"). */
struct cfg_addr {
	struct sockaddr_storage ss; /**< AF_INET or AF_INET6, port set */
	socklen_t len; /**< sizeof the sockaddr_in or sockaddr_in6 */
	char text[64]; /**< canonical text form, "[::1]:53" for IPv6 */
};

/** An address prefix: 10.1.0.0/16 or 2001:db8::/32. Host bits are zero. */
struct cfg_cidr {
	int family; /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< network byte order; 4 bytes used for AF_INET */
	uint8_t prefix; /**< 0-32 or 0-128 */
};

/** A domain name of an allow/deny override, with where it was written. */
struct cfg_domain {
	char *text; /**< as written (UTF-8), for messages and `explain` */
	uint8_t wire[255]; /**< lower-case wire form, IDN in its xn-- form (core/dname.h) */
	uint8_t wire_len;
	unsigned line, column;
};

/** Safe search as a group asks for it (`safe_search: false | moderate | strict | true`). */
enum cfg_safe_search {
	CFG_SAFE_SEARCH_OFF,
	CFG_SAFE_SEARCH_MODERATE, /**< YouTube restrictmoderate; Google, Bing, DuckDuckGo strict */
	CFG_SAFE_SEARCH_STRICT, /**< YouTube restrict and the others; `true` means this */
};

/** The presets of groups, named after the school levels (config/README.md lists them). */
enum cfg_preset {
	CFG_PRESET_NONE, /**< `preset:` absent: only the group's own `block:` */
	CFG_PRESET_MAM_NON, /**< preschool */
	CFG_PRESET_TIEU_HOC, /**< primary */
	CFG_PRESET_THCS, /**< lower secondary */
	CFG_PRESET_THPT, /**< upper secondary */
	CFG_PRESET_GIAO_VIEN, /**< staff */
	CFG_PRESET_KHACH, /**< guests */
	CFG_PRESET_COUNT
};

/** One entry of a group's `schedules:`: block @categories on @days from @from_min to @to_min. */
struct cfg_schedule {
	uint32_t categories; /**< bit n: category n (never the national bit: it is always on) */
	uint8_t days; /**< bit 0 Monday … bit 6 Sunday: the day a window starts on */
	uint16_t from_min; /**< minutes after local midnight, 0..1439 */
	uint16_t to_min; /**< 0..1440 ("24:00"), != from_min; < from_min: ends the next day */
	unsigned line;
};

/** One entry of `groups:` (a mapping keyed by the group's name). */
struct cfg_group {
	char *name; /**< [a-z0-9_-]+, at most 63 bytes */
	enum cfg_preset preset;
	/** Categories blocked at all times: the preset's, plus `block:`, minus `unblock:`; the
	 * national bit is always set. */
	uint32_t categories;
	enum cfg_safe_search safe_search; /**< default: the preset's */
	bool bypass_canaries; /**< answer the DoH / Private Relay canaries (default true) */
	struct cfg_domain *allow; /**< never blocked for the group, except by the national list */
	size_t n_allow;
	struct cfg_domain *deny; /**< always blocked for the group (age policy) */
	size_t n_deny;
	struct cfg_schedule *schedules;
	size_t n_schedules;
	unsigned line;
};

/** One entry of `networks:`: either address ranges (`cidr:`) or a subscriber database (`mmdb:`). */
struct cfg_network {
	char *name; /**< display name (UTF-8); for an mmdb entry, defaults to the file name */
	char *id; /**< network id for reports ("79-TH-0001"); defaults to name; NULL for mmdb */
	char *group; /**< group name (a `groups:` key or a preset name), or NULL; for an mmdb
		      *   entry, the group of records whose own group is not a known one */
	unsigned group_line, group_column; /**< where @group was written (0 when absent) */
	struct cfg_cidr *cidrs; /**< at least one, unless @mmdb is set */
	size_t n_cidrs;
	struct cfg_domain *allow; /**< overrides for this network, on top of its group's */
	size_t n_allow;
	struct cfg_domain *deny;
	size_t n_deny;
	/* A subscriber database (ISPs): ranges → {group, network id, province}. */
	char *mmdb; /**< absolute path, or NULL for a CIDR network */
	char *group_field; /**< record field holding the group (default "group") */
	char *id_field; /**< record field holding the network id (default "network_id") */
	char *province_field; /**< optional record field holding the province, or NULL */
	unsigned line; /**< where it was defined, for `explain` */
};

enum cfg_mode {
	CFG_MODE_FORWARD,
	CFG_MODE_RECURSIVE,
};

/** `server:`. Units are in the member names; defaults in config/README.md. */
struct cfg_server {
	struct cfg_addr *listen; /**< UDP and TCP on each; default 127.0.0.1:53 and [::1]:53 */
	size_t n_listen;
	unsigned workers; /**< 0 means auto: one per core */
	enum cfg_mode mode;
	struct cfg_addr *forwarders; /**< port 53 unless given */
	size_t n_forwarders;
	bool forwarders_from_resolv_conf; /**< forwarders were taken from /etc/resolv.conf */
	char *root_hints; /**< NULL: built-in */
	bool dnssec;
	uint64_t cache_size_bytes; /**< default 256 MiB */
	char *state_dir; /**< default /var/lib/lanhmanh */
	char *control_socket; /**< default /run/lanhmanh/control.sock */
	char *log_level; /**< error|warning|notice|info|debug, default info */
	/** zone of schedules and reports, a name under /usr/share/zoneinfo; NULL when not
	 * given, which means "Asia/Ho_Chi_Minh" (pol_clock_init() takes NULL as that) */
	char *timezone;
	/* Extensions beyond DESIGN.md's schema, all optional: */
	uint32_t tcp_idle_timeout_ms; /**< tcp_idle_timeout, default 10 s */
	uint32_t tcp_max_connections; /**< tcp_max_connections, whole daemon, default 1000 */
	uint32_t upstream_timeout_ms; /**< upstream_timeout, per try, default 1500 ms */
	uint32_t serve_stale_s; /**< serve_stale: how long past expiry, default 1 day; 0 off */
	uint32_t cache_max_ttl_s; /**< cache_max_ttl, default 1 day */
	uint16_t edns_buffer_size; /**< edns_buffer_size, default 1232 */
	/** recursive mode: the port name servers are asked on (ns_port, default 53; labs and
	 * tests), and whether loopback addresses may be asked (ns_loopback, default false) */
	uint16_t ns_port;
	bool ns_loopback;
	/** recursive mode with dnssec: DS/DNSKEY records of the root (NULL: built in) */
	char *trust_anchor;
};

/** Why a name is blocked; each reason has its own Extended DNS Error (RFC 8914). */
enum cfg_reason {
	CFG_REASON_NATIONAL, /**< the authority's list: EDE 16 Censored */
	CFG_REASON_POLICY, /**< the school's age policy: EDE 15 Blocked */
	CFG_REASON_SUBSCRIBER, /**< a filter the subscriber chose: EDE 17 Filtered */
	CFG_REASON_COUNT
};

/** How blocked names are answered (`sinkhole.answer`). */
enum cfg_block_answer {
	CFG_ANSWER_SINKHOLE, /**< A/AAAA: the sinkhole address; other types: NODATA */
	CFG_ANSWER_NXDOMAIN,
	CFG_ANSWER_NODATA,
	CFG_ANSWER_REFUSED,
};

/** Sinkhole addresses; a family left unset (family 0) gets NODATA for that type. */
struct cfg_sinkhole_addrs {
	struct cfg_cidr ipv4; /**< family AF_INET, prefix 32; family 0 when unset */
	struct cfg_cidr ipv6; /**< family AF_INET6, prefix 128; family 0 when unset */
};

/** `sinkhole:`. */
struct cfg_sinkhole {
	struct cfg_sinkhole_addrs addrs; /**< ipv4, ipv6: default 0.0.0.0 and :: */
	struct cfg_sinkhole_addrs per_reason[CFG_REASON_COUNT]; /**< `reasons:`; unset: addrs */
	uint32_t ttl_s; /**< ttl, default 60 */
	enum cfg_block_answer answer; /**< answer, default sinkhole */
	struct cfg_addr *block_page_listen; /**< block_page.listen; none: no block page */
	size_t n_block_page_listen;
	char *block_page_contact; /**< block_page.contact, UTF-8, or NULL */
};

/** Formats of list files (values match enum bl_format). */
enum cfg_list_format {
	CFG_LIST_DOMAINS,
	CFG_LIST_HOSTS,
	CFG_LIST_ADBLOCK,
	CFG_LIST_RPZ,
};

/** A TSIG key (RFC 8945) for zone transfers and NOTIFY. */
struct cfg_tsig {
	char *name; /**< key name, absolute ("k1.") */
	char *algorithm; /**< hmac-sha256 (default), hmac-sha384, hmac-sha512 */
	char *secret; /**< base64, as `tsig-keygen` / `keymgr` print it */
};

/** One entry of `lists:`. */
struct cfg_list {
	char *name; /**< unique, [a-z0-9_-]+ */
	char *category; /**< category name: a built-in one or a site-defined [a-z0-9_]+ */
	unsigned category_bit; /**< bit of the category (0 = national), see cfg_category_name() */
	char *file; /**< absolute path */
	enum cfg_list_format format;
	char *origin; /**< rpz: zone origin ("rpz.national.vn."), NULL to read it from the file */
	/* Synced from the authority by zone transfer (`rpz_primary:`); then @file is NULL, the
	 * format is rpz and @origin is @zone. */
	struct cfg_addr *primary; /**< rpz_primary, or NULL */
	char *zone; /**< with @primary: the zone, absolute ("rpz.national.vn.") */
	struct cfg_tsig *tsig; /**< tsig, or NULL */
	uint32_t max_shrink_pct; /**< max_shrink: an update removing more of the entries is kept
				  * back (default 50) */
	bool audit; /**< audit: a new version runs in log-only mode until `lanhmanh lists promote` */
	/* Downloaded over HTTPS (`url:`), verified with minisign before anything is applied: */
	char *url; /**< https://…, or NULL */
	char *minisign_key; /**< the publisher's public key ("RW…"), required with @url */
	char *ca_file; /**< CA bundle (PEM) that replaces the system's for @url, or NULL */
	uint32_t refresh_s; /**< refresh: how often @url is asked (conditionally), default 1 h */
	unsigned line;
};

#define CFG_MAX_CATEGORIES 32

/** Bits of the built-in categories; site-defined ones take the next free bits. */
enum cfg_category {
	CFG_CAT_NATIONAL = 0, /**< the authority's list: mandatory for every client */
	CFG_CAT_ADULT,
	CFG_CAT_GAMBLING,
	CFG_CAT_VIOLENCE,
	CFG_CAT_DRUGS,
	CFG_CAT_GAMES,
	CFG_CAT_SOCIAL,
	CFG_CAT_PROXY_VPN_DOH, /**< bypass tools: proxies, VPNs, public DoH/DoT resolvers */
	CFG_CAT_MALWARE,
	CFG_CAT_BUILTIN_COUNT
};

/** A whole configuration file. Immutable once loaded. */
/** How the local blocked-query log names clients (`compliance.client_ids`). */
enum cfg_client_ids {
	CFG_CLIENT_IDS_NONE,	     /**< not at all */
	CFG_CLIENT_IDS_PSEUDONYMOUS, /**< a keyed hash with a salt that changes every day (default) */
	CFG_CLIENT_IDS_FULL,	     /**< the address (local log only; never exported) */
};

/** `compliance:` — statistics, the local store, export to the authority, metrics, dnstap. */
struct cfg_compliance {
	bool enabled; /**< the section is present: count, store, report */
	char *reporter_id; /**< who reports ("79-TH-0001"); required with an authority */
	uint32_t interval_s; /**< interval, default 300 s */
	char *store; /**< store, default state_dir/stats.sqlite */
	uint32_t retention_days; /**< retention_days, default 90 */
	uint32_t k_threshold; /**< k_threshold, default 5; 1: nothing folded */
	uint32_t top_domains; /**< top_domains per network and interval, default 10 */
	enum cfg_client_ids client_ids; /**< client_ids, default pseudonymous */
	bool query_log; /**< query_log: the local log of blocked queries, default off */
	char *authority_url; /**< authority.url (https://), NULL: nothing is exported */
	char *authority_key_file; /**< authority.key_file: the reporter's Ed25519 key */
	char *authority_ca_file; /**< authority.ca_file, NULL: the system's CAs */
	uint64_t spool_limit_bytes; /**< authority.spool_limit, default 256 MiB */
	char *dnstap_socket; /**< dnstap.socket, NULL: no dnstap */
	bool dnstap_queries, dnstap_responses; /**< dnstap.queries / .responses, default true */
	struct cfg_addr *metrics; /**< metrics: the /metrics listener, NULL: none */
};

struct cfg_root {
	char *path; /**< file it came from */
	struct cfg_server server;
	struct cfg_network *networks;
	size_t n_networks;
	struct cfg_sinkhole sinkhole;
	struct cfg_list *lists;
	size_t n_lists;
	struct cfg_group *groups; /**< in file order */
	size_t n_groups;
	/** Category names by bit: the built-in ones first (national = 0, adult, gambling,
	 * violence, drugs, games, social, proxy_vpn_doh, malware), then site-defined ones in order
	 * of first use; NULL for unused bits. Owned. */
	char *categories[CFG_MAX_CATEGORIES];
	struct cfg_compliance compliance;
};

/** One problem found while loading. */
struct cfg_diag {
	char *file;
	unsigned line; /**< 1-based; 0 when the problem has no position */
	unsigned column; /**< 1-based */
	char *path; /**< key path, "networks[2].cidr[0]"; may be "" */
	char *message; /**< what is wrong, and what is expected */
	bool warning; /**< true: reported but does not reject the file */
};

/** All problems of one load, in file order. */
struct cfg_diags {
	struct cfg_diag *v;
	size_t n;
	size_t n_errors;
};

/**
 * Load and validate the YAML file at @path.
 *
 * When server.forwarders is absent, the nameservers of /etc/resolv.conf (see
 * cfg_set_resolv_conf_path()) become the forwarders; that file is read during the load.
 * Safe to call from any thread, as long as cfg_set_resolv_conf_path() is not called meanwhile.
 *
 * @param diags  receives every problem found (the caller frees with cfg_diags_clear()). They are
 *               appended, sorted in file order among themselves; a successful load may still
 *               add warnings, which the caller should show. NULL: diagnostics are discarded.
 * @return 0 and a new config in @out_cfg (free with cfg_free()), CORE_ECONFIG when any error
 *         diagnostic was produced, -ENOMEM (the diagnostics may then be incomplete).
 *         @out_cfg is written only on success.
 */
int cfg_load(const char *path, struct cfg_root **out_cfg, struct cfg_diags *diags)
	__attribute__((warn_unused_result));

/** As cfg_load(), from memory; @name is used as the file name in diagnostics. */
int cfg_load_buffer(const char *name, const char *text, size_t len, struct cfg_root **out_cfg,
		    struct cfg_diags *diags) __attribute__((warn_unused_result));

/** Name of category bit @bit in @cfg, or NULL when unused. */
const char *cfg_category_name(const struct cfg_root *cfg, unsigned bit);

/** Name of preset @p ("mam_non" …), "" for CFG_PRESET_NONE. */
const char *cfg_preset_name(enum cfg_preset p);

/** Categories preset @p blocks (bit n: category n; national included); for CFG_PRESET_MAM_NON
 * every bit, so that site-defined categories are blocked too. */
uint32_t cfg_preset_categories(enum cfg_preset p);

/** Safe search of preset @p. */
enum cfg_safe_search cfg_preset_safe_search(enum cfg_preset p);

/** Parse a preset name; -1 when unknown. */
int cfg_preset_parse(const char *name);

/** The group named @name in @cfg, or NULL. */
const struct cfg_group *cfg_group_find(const struct cfg_root *cfg, const char *name);

/** Free @cfg (NULL is fine); returns NULL. */
struct cfg_root *cfg_free(struct cfg_root *cfg);

/** Free the diagnostics in @diags and leave it empty. */
void cfg_diags_clear(struct cfg_diags *diags);

/**
 * Format @d as "file:line:column: error: path: message" into @buf (always NUL-terminated).
 * @return the length written (truncated to @size - 1).
 */
size_t cfg_diag_format(const struct cfg_diag *d, char *buf, size_t size);

/** Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" with @default_port; 0 or CORE_EPARSE. */
int cfg_addr_parse(const char *text, uint16_t default_port, struct cfg_addr *out_addr);

/** True when @a and @b are the same address and port. */
bool cfg_addr_equal(const struct cfg_addr *a, const struct cfg_addr *b);

/** Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (/32, /128); 0 or CORE_EPARSE. */
int cfg_cidr_parse(const char *text, struct cfg_cidr *out_cidr);

/**
 * Write @cidr as text ("10.1.0.0/16", "2001:db8::/32") into @buf (always NUL-terminated).
 * @return the length written (truncated to @size - 1); 50 bytes always suffice.
 */
size_t cfg_cidr_format(const struct cfg_cidr *cidr, char *buf, size_t size);

/**
 * Parse a size: a whole number of bytes with an optional unit B, KB, MB, GB (powers of 1000) or
 * KiB, MiB, GiB (powers of 1024), case-insensitive, optionally after spaces: "256MiB".
 * @return 0 with the size in @out_bytes, CORE_EPARSE, or -ERANGE when it does not fit 64 bits.
 */
int cfg_size_parse(const char *text, uint64_t *out_bytes);

/**
 * Parse a duration: "0", or one or more whole numbers each followed by a unit ms, s, m, h or d
 * (lower case, spaces allowed between parts): "500ms", "10s", "1h 30m".
 * @return 0 with the duration in @out_ms, CORE_EPARSE, or -ERANGE when it does not fit 64 bits.
 */
int cfg_duration_parse(const char *text, uint64_t *out_ms);

/**
 * True when @name can be a zone name of tzdata ("Asia/Ho_Chi_Minh"): a relative path of
 * components of [A-Za-z0-9._+-], none empty or starting with '.' (so no "." or ".."), at most
 * 255 bytes. The config checks server.timezone with it, the policy's clock before opening the
 * file.
 */
bool cfg_zone_name_ok(const char *name);

/** Parse true/false/yes/no/on/off (any case); 0 with the value in @out_value, or CORE_EPARSE. */
int cfg_bool_parse(const char *text, bool *out_value);

/**
 * Read forwarders from @path instead of /etc/resolv.conf when server.forwarders is absent
 * (tests use it). @path is borrowed and must stay valid while configs are loaded; NULL restores
 * the default. Not thread-safe: call it before loading.
 */
void cfg_set_resolv_conf_path(const char *path);
